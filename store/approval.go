package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// Approvals live in "approvals": HMAC(index key, id) to the sealed JSON of
// the tierzero.Approval and the seq of the audit record that bound its
// latest write. Every write of an approval appends, in the same bbolt
// transaction, an "approval_state" audit record whose subject is a tag of
// the approval's id, and stores that record's seq with the approval. Before
// an approval is read or changed, the chain from that record to the head is
// checked: its links and hashes, and that no later record names the
// approval. An older copy of the sealed record put back in place (which
// needs no key) names an older audit record than the approval's latest, so
// it is refused, and a rolled-back approval never runs again; the chain
// cannot be cut or rewritten undetected (audit.go).
var approvalsBucket = []byte("approvals")

// AuditApprovalState is the kind of the audit record that binds an
// approval's state (its Outcome) to the audit chain.
const AuditApprovalState tierzero.AuditKind = "approval_state"

// storedApproval is an approval as stored.
type storedApproval struct {
	tierzero.Approval
	// AuditSeq is the audit record of the approval's latest write; 0 for an
	// approval written before approvals were bound to the chain.
	AuditSeq uint64 `json:"auditSeq,omitempty"`
}

// approvalSubject is the subject of the audit records that bind approval
// id: a tag under the tenant's index key, so the id does not appear.
func approvalSubject(kr *keyring, id string) []byte {
	return kr.mac("approval_subject", id)[:subjectSize]
}

// bindApproval stores a, bound to the audit record seq that the event it
// returns becomes.
func (db *DB) bindApproval(b *bolt.Bucket, kr *keyring, key []byte, a tierzero.Approval, seq uint64) (*auditEntry, error) {
	if err := putApproval(b, kr, key, storedApproval{Approval: a, AuditSeq: seq}); err != nil {
		return nil, err
	}
	ev := &tierzero.AuditEvent{
		Kind: AuditApprovalState, Time: db.now(), Conversation: a.Conversation, Requester: a.Requester.UPN,
		Channel: a.Requester.Channel, Tool: a.Action, CallID: a.CallID, Outcome: string(a.State),
		Facts: map[string]string{"approval": a.ID, "approvals": fmt.Sprint(a.Approvals()), "decisions": fmt.Sprint(len(a.Decisions))},
	}
	return &auditEntry{ev: ev, subject: approvalSubject(kr, a.ID)}, nil
}

// checkBound refuses an approval whose stored copy is not its latest: the
// audit record it names must be its own, and no later record up to the
// head hd may name it. The records in between are checked (links, hashes,
// no gap) so that one cannot be removed or altered to hide a later write.
func checkBound(tx *bolt.Tx, kr *keyring, rec storedApproval, hd head) error {
	tenant, id := kr.tenant, rec.ID
	if rec.AuditSeq == 0 {
		return tierzero.Errorf(tierzero.EConflict, "approval %s of tenant %s was stored before approvals were bound to the audit chain: it can no longer be decided or run; ask again", id, tenant)
	}
	rolledBack := func(format string, args ...any) error {
		return tierzero.Errorf(tierzero.EConflict, "approval %s of tenant %s is refused: %s; its stored record may have been rolled back to an older copy (run tierzero audit verify --tenant %s)", id, tenant, fmt.Sprintf(format, args...), tenant)
	}
	b := tx.Bucket(auditBucket)
	if b == nil {
		return rolledBack("its audit record %d is missing", rec.AuditSeq)
	}
	from := keyedFrom(tx)
	if rec.AuditSeq < from {
		return rolledBack("its audit record %d is not signed", rec.AuditSeq)
	}
	subject := approvalSubject(kr, id)
	c := b.Cursor()
	k, v := c.Seek(seqKey(rec.AuditSeq))
	if !bytes.Equal(k, seqKey(rec.AuditSeq)) || len(v) < recordHeader || !bytes.Equal(v[2*sha256.Size+ed25519.SignatureSize:recordHeader], subject) {
		return rolledBack("its audit record %d is missing or names something else", rec.AuditSeq)
	}
	seq, prev := rec.AuditSeq, bytes.Clone(v[sha256.Size:2*sha256.Size])
	for k, v = c.Next(); k != nil; k, v = c.Next() {
		if !bytes.Equal(k, seqKey(seq+1)) || len(v) < recordHeader || !bytes.Equal(v[:sha256.Size], prev) {
			return rolledBack("the audit chain after record %d is broken", seq)
		}
		seq++
		sum := chainHash(tenant, prev, seq, v[2*sha256.Size+ed25519.SignatureSize:recordHeader], v[recordHeader:])
		if !bytes.Equal(sum[:], v[sha256.Size:2*sha256.Size]) {
			return rolledBack("audit record %d was altered", seq)
		}
		if bytes.Equal(v[2*sha256.Size+ed25519.SignatureSize:recordHeader], subject) {
			return rolledBack("it was written again at audit record %d, after the record its stored copy names (%d)", seq, rec.AuditSeq)
		}
		prev = sum[:]
	}
	if seq < hd.seq || (seq == hd.seq && !bytes.Equal(prev, hd.hash[:])) {
		return rolledBack("the audit chain ends at %d, before its recorded head %d", seq, hd.seq)
	}
	return nil
}

// CreateApproval records a new pending approval and returns it with its ID
// (128 random bits), State and Created set. Its tenant must be tenant and its
// ArgsHash must be the hash of its canonical Args.
func (db *DB) CreateApproval(ctx context.Context, tenant tierzero.TenantID, a tierzero.Approval) (tierzero.Approval, error) {
	if a.Tenant != tenant {
		return a, tierzero.Errorf(tierzero.EInvalid, "approval is for tenant %q, not %q", a.Tenant, tenant)
	}
	if a.Action == "" || a.Count < 1 || len(a.Approvers) == 0 || a.Expires.IsZero() {
		return a, tierzero.Errorf(tierzero.EInvalid, "approval needs an action, approvers, a count and an expiry")
	}
	canon, err := tierzero.CanonicalArgs(a.Args)
	if err != nil {
		return a, err
	}
	if h, _ := tierzero.ArgsHash(canon); h != a.ArgsHash {
		return a, tierzero.Errorf(tierzero.EInvalid, "approval arguments do not match their hash")
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return a, fmt.Errorf("approval id: %w", err)
	}
	a.ID, a.Args, a.State, a.Decisions = hex.EncodeToString(id[:]), canon, tierzero.ApprovalPending, nil
	a.Created = db.now()
	a.Updated = a.Created
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return a, fmt.Errorf("create approval: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return a, fmt.Errorf("create approval: %w", err)
	}
	key := kr.mac(string(approvalsBucket), a.ID)
	err = db.appendWith(ctx, f, kr, func(tx *bolt.Tx, seq uint64) (*auditEntry, error) {
		b, err := tx.CreateBucketIfNotExists(approvalsBucket)
		if err != nil {
			return nil, err
		}
		if b.Get(key) != nil {
			return nil, tierzero.Errorf(tierzero.EConflict, "approval %s exists", a.ID)
		}
		return db.bindApproval(b, kr, key, a, seq)
	})
	if err != nil {
		return a, fmt.Errorf("create approval: %w", err)
	}
	return a, nil
}

func putApproval(b *bolt.Bucket, kr *keyring, key []byte, a storedApproval) error {
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	sealed, err := kr.seal(approvalsBucket, key, plain)
	if err != nil {
		return err
	}
	return b.Put(key, sealed)
}

func getApproval(b *bolt.Bucket, kr *keyring, key []byte, tenant tierzero.TenantID, id string) (storedApproval, error) {
	var a storedApproval
	var v []byte
	if b != nil {
		v = b.Get(key)
	}
	if v == nil {
		return a, tierzero.Errorf(tierzero.ENotFound, "no approval %s in tenant %s", id, tenant)
	}
	plain, err := kr.unseal(approvalsBucket, key, v)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(plain, &a); err != nil {
		return a, err
	}
	if a.ID != id || a.Tenant != tenant {
		return a, fmt.Errorf("stored approval names id %q of tenant %q", a.ID, a.Tenant)
	}
	return a, nil
}

// Approval returns the approval id of tenant; ENotFound when there is none,
// EConflict when its stored record is not its latest (rolled back).
func (db *DB) Approval(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Approval, error) {
	var out tierzero.Approval
	err := db.updateApproval(ctx, tenant, id, func(a *tierzero.Approval) (bool, error) {
		out = *a
		return false, nil
	})
	return out, err
}

// DecideApproval records approverUPN's decision on a pending approval, in one
// transaction: a deny makes it denied, the Count-th distinct approval makes
// it approved. It is EConflict when the approval is not pending, when
// approverUPN already decided it, and when it is past its expiry (it is then
// recorded as expired). It returns the approval as it now is. Who may decide
// is the caller's to check (policy.Guard).
func (db *DB) DecideApproval(ctx context.Context, tenant tierzero.TenantID, id, approverUPN string, approve bool, now time.Time) (tierzero.Approval, error) {
	if approverUPN == "" {
		return tierzero.Approval{}, tierzero.Errorf(tierzero.EInvalid, "a decision needs an approver")
	}
	var out tierzero.Approval
	var refused error
	err := db.updateApproval(ctx, tenant, id, func(a *tierzero.Approval) (bool, error) {
		out = *a
		switch {
		case a.State != tierzero.ApprovalPending:
			return false, tierzero.Errorf(tierzero.EConflict, "approval %s is already %s", id, a.State)
		case !now.Before(a.Expires):
			// The expiry is a transition too: commit it, then refuse.
			a.State, a.Updated = tierzero.ApprovalExpired, now
			refused = tierzero.Errorf(tierzero.EConflict, "approval %s expired at %s", id, a.Expires.UTC().Format(time.RFC3339))
		case a.DecidedBy(approverUPN):
			return false, tierzero.Errorf(tierzero.EConflict, "%s already decided approval %s", approverUPN, id)
		default:
			a.Decisions = append(a.Decisions, tierzero.ApprovalDecision{Approver: approverUPN, Approve: approve, Time: now})
			a.Updated = now
			switch {
			case !approve:
				a.State = tierzero.ApprovalDenied
			case a.Approvals() >= a.Count:
				a.State = tierzero.ApprovalApproved
			}
		}
		out = *a
		return true, nil
	})
	if err == nil {
		err = refused
	}
	return out, err
}

// ClaimApproval moves an approved approval to executed and returns it: the
// one caller that claims it runs its call. Any other state, including
// executed (a second claim), is EConflict.
func (db *DB) ClaimApproval(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (tierzero.Approval, error) {
	var out tierzero.Approval
	err := db.updateApproval(ctx, tenant, id, func(a *tierzero.Approval) (bool, error) {
		out = *a
		if a.State != tierzero.ApprovalApproved {
			return false, tierzero.Errorf(tierzero.EConflict, "approval %s is %s, not approved", id, a.State)
		}
		a.State, a.Updated = tierzero.ApprovalExecuted, now
		out = *a
		return true, nil
	})
	return out, err
}

// ListApprovals returns tenant's approvals in state (all when ""), oldest
// first. A pending approval past its expiry is listed as expired.
func (db *DB) ListApprovals(ctx context.Context, tenant tierzero.TenantID, state tierzero.ApprovalState) ([]tierzero.Approval, error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return nil, err
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return nil, err
	}
	now := db.now()
	var out []tierzero.Approval
	err = eachRecord(f, kr, approvalsBucket, func(rec storedApproval) {
		a := rec.Approval
		if a.State == tierzero.ApprovalPending && !now.Before(a.Expires) {
			a.State = tierzero.ApprovalExpired
		}
		if state == "" || a.State == state {
			out = append(out, a)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

func validApprovalID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid approval id")
	}
	return nil
}

// updateApproval loads approval id, lets fn change it and, when fn says
// so, stores it: all in one transaction. An error from fn rolls back.
func (db *DB) updateApproval(ctx context.Context, tenant tierzero.TenantID, id string, fn func(a *tierzero.Approval) (bool, error)) error {
	if err := validApprovalID(id); err != nil {
		return err
	}
	notFound := tierzero.Errorf(tierzero.ENotFound, "no approval %s in tenant %s", id, tenant)
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("update approval: %w", err)
	}
	if f == nil {
		return notFound
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return fmt.Errorf("update approval: %w", err)
	}
	if kr == nil {
		return notFound
	}
	key := kr.mac(string(approvalsBucket), id)
	return db.appendWith(ctx, f, kr, func(tx *bolt.Tx, seq uint64) (*auditEntry, error) {
		b := tx.Bucket(approvalsBucket)
		rec, err := getApproval(b, kr, key, tenant, id)
		if err != nil {
			return nil, err
		}
		if err := checkBound(tx, kr, rec, f.head.cur); err != nil {
			db.log.Error("approval refused: not its latest record", "tenant", tenant, "approval", id, "err", err)
			return nil, err
		}
		a := rec.Approval
		write, err := fn(&a)
		if err != nil || !write {
			return nil, err
		}
		return db.bindApproval(b, kr, key, a, seq)
	})
}

// ExpireApproval records a pending approval past its expiry as expired and
// returns it; changed is false when it was not pending or not yet due.
func (db *DB) ExpireApproval(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (a tierzero.Approval, changed bool, err error) {
	err = db.updateApproval(ctx, tenant, id, func(x *tierzero.Approval) (bool, error) {
		a = *x
		if x.State != tierzero.ApprovalPending || now.Before(x.Expires) {
			return false, nil
		}
		x.State, x.Updated = tierzero.ApprovalExpired, now
		a, changed = *x, true
		return true, nil
	})
	return a, changed, err
}

// MarkReminded records that the approvers of a pending approval were
// reminded; first is false when they already were.
func (db *DB) MarkReminded(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (first bool, err error) {
	err = db.updateApproval(ctx, tenant, id, func(x *tierzero.Approval) (bool, error) {
		if x.State != tierzero.ApprovalPending || !x.Reminded.IsZero() {
			return false, nil
		}
		x.Reminded, first = now, true
		return true, nil
	})
	return first, err
}
