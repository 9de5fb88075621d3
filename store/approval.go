package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// Approvals live in "approvals": HMAC(index key, id) to the sealed JSON of
// the tierzero.Approval. Every state change reads and writes the record in
// one bbolt Update transaction, so each transition happens at most once
// however many callers race for it.
var approvalsBucket = []byte("approvals")

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
	err = f.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(approvalsBucket)
		if err != nil {
			return err
		}
		if b.Get(key) != nil {
			return tierzero.Errorf(tierzero.EConflict, "approval %s exists", a.ID)
		}
		return putApproval(b, kr, key, a)
	})
	if err != nil {
		return a, fmt.Errorf("create approval: %w", err)
	}
	return a, nil
}

func putApproval(b *bolt.Bucket, kr *keyring, key []byte, a tierzero.Approval) error {
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

func getApproval(b *bolt.Bucket, kr *keyring, key []byte, tenant tierzero.TenantID, id string) (tierzero.Approval, error) {
	var a tierzero.Approval
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

// Approval returns the approval id of tenant; ENotFound when there is none.
func (db *DB) Approval(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Approval, error) {
	var out tierzero.Approval
	err := db.viewApprovals(ctx, tenant, id, func(b *bolt.Bucket, kr *keyring, key []byte) error {
		var err error
		out, err = getApproval(b, kr, key, tenant, id)
		return err
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
	err = f.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(approvalsBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			plain, err := kr.unseal(approvalsBucket, k, v)
			if err != nil {
				return err
			}
			var a tierzero.Approval
			if err := json.Unmarshal(plain, &a); err != nil {
				return err
			}
			if a.State == tierzero.ApprovalPending && !now.Before(a.Expires) {
				a.State = tierzero.ApprovalExpired
			}
			if state == "" || a.State == state {
				out = append(out, a)
			}
			return nil
		})
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

func (db *DB) viewApprovals(ctx context.Context, tenant tierzero.TenantID, id string, fn func(b *bolt.Bucket, kr *keyring, key []byte) error) error {
	if err := validApprovalID(id); err != nil {
		return err
	}
	notFound := tierzero.Errorf(tierzero.ENotFound, "no approval %s in tenant %s", id, tenant)
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("load approval: %w", err)
	}
	if f == nil {
		return notFound
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return fmt.Errorf("load approval: %w", err)
	}
	if kr == nil {
		return notFound
	}
	key := kr.mac(string(approvalsBucket), id)
	return f.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(approvalsBucket), kr, key) })
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
	return f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(approvalsBucket)
		a, err := getApproval(b, kr, key, tenant, id)
		if err != nil {
			return err
		}
		write, err := fn(&a)
		if err != nil || !write {
			return err
		}
		return putApproval(b, kr, key, a)
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
