package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The audit bucket maps seq (8 bytes, big endian) to a record:
//
//	prev (32) | hash (32) | signature (64) | subject (16) | sealed event
//
// where prev is the hash of record seq-1 (zeros for seq 1),
//
//	hash = SHA-256("tierzero audit chain v2", tenant, prev, seq, subject, sealed event)
//
// (fields length-prefixed) and the signature is Ed25519 under the tenant's
// audit key over the tenant, seq and hash. The subject is zero, or a tag
// naming the approval whose state the record binds (approval.go). The
// chain covers the stored ciphertext, so it verifies with the tenant's audit
// verification key alone (AuditKey), also after a shred; the head file
// (head.go) is signed too, so a cut tail, a forged or replaced head, and a
// file copied from another tenant are all detected.
//
// Records written before audit records were signed (seq < the "from" of the
// audit_keyed bucket) have the form prev (32) | hash (32) | sealed event with
// hash = SHA-256(prev | seq | sealed event); UpgradeAudit anchors them: the
// signed start names the hash of the last of them.
var (
	auditBucket      = []byte("audit")
	auditKeyedBucket = []byte("audit_keyed")
	keyedFromKey     = []byte("from")
)

const (
	subjectSize    = 16
	recordHeaderV1 = 2 * sha256.Size
	recordHeader   = 2*sha256.Size + ed25519.SignatureSize + subjectSize
	markerSize     = 8 + sha256.Size + ed25519.SignatureSize
)

// auditBatch is how many events Audit reads per transaction. Callbacks run
// outside transactions, so fn may itself call the store (even Append).
const auditBatch = 256

// chainHashV1 is the keyless hash of a record written before signing.
func chainHashV1(prev []byte, seq uint64, sealed []byte) [32]byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(seqKey(seq))
	h.Write(sealed)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// chainHash is the hash of a signed audit record.
func chainHash(tenant tierzero.TenantID, prev []byte, seq uint64, subject, sealed []byte) [32]byte {
	return sha256.Sum256(appendFields([]byte("tierzero audit chain v2"), []byte(tenant), prev, seqKey(seq), subject, sealed))
}

func recordMsg(tenant tierzero.TenantID, seq uint64, hash []byte) []byte {
	return appendFields([]byte("tierzero audit record v2"), []byte(tenant), seqKey(seq), hash)
}

func markerMsg(tenant tierzero.TenantID, from uint64, anchor []byte) []byte {
	return appendFields([]byte("tierzero audit keyed v2"), []byte(tenant), seqKey(from), anchor)
}

// marker is where a tenant's signed chain begins: record from is the first
// signed one and anchor the hash of record from-1 (zeros when from is 1).
type marker struct {
	from   uint64
	anchor [32]byte
	sig    []byte
}

// verify reports whether the signed start carries tenant's signature
// under pub.
func (m marker) verify(tenant tierzero.TenantID, pub ed25519.PublicKey) bool {
	return len(m.sig) == ed25519.SignatureSize && ed25519.Verify(pub, markerMsg(tenant, m.from, m.anchor[:]), m.sig)
}

// signRecord signs record h (stored as val in tx) with kr's audit key.
func signRecord(tx *bolt.Tx, kr *keyring, h head, val []byte) error {
	copy(val[2*sha256.Size:2*sha256.Size+ed25519.SignatureSize], ed25519.Sign(kr.sign, recordMsg(kr.tenant, h.seq, h.hash[:])))
	return tx.Bucket(auditBucket).Put(seqKey(h.seq), val)
}

// unsigned reports whether val, a stored signed-form record, was left
// unsigned: not the last of the records its transaction appended, which
// that last one's signature covers through the chain of hashes.
func unsigned(val []byte) bool {
	return len(val) >= recordHeader && bytes.Equal(val[2*sha256.Size:2*sha256.Size+ed25519.SignatureSize], zeroSig[:])
}

var zeroSig [ed25519.SignatureSize]byte

// recordSigned reports whether val, the stored form of signed record seq,
// carries tenant's signature under pub.
func recordSigned(tenant tierzero.TenantID, pub ed25519.PublicKey, seq uint64, val []byte) bool {
	if len(val) < recordHeader {
		return false
	}
	return ed25519.Verify(pub, recordMsg(tenant, seq, val[sha256.Size:2*sha256.Size]), val[2*sha256.Size:2*sha256.Size+ed25519.SignatureSize])
}

func readMarker(tx *bolt.Tx) (marker, bool) {
	b := tx.Bucket(auditKeyedBucket)
	if b == nil {
		return marker{}, false
	}
	v := b.Get(keyedFromKey)
	if len(v) != markerSize {
		return marker{}, v != nil // a malformed marker is still a marker
	}
	m := marker{from: binary.BigEndian.Uint64(v), sig: bytes.Clone(v[8+sha256.Size:])}
	copy(m.anchor[:], v[8:])
	return m, true
}

// lastTxKey, in the audit_keyed bucket, holds the seq of the first record
// of the transaction that appended last (8 bytes): after a crash between
// a commit and its head write, the records from there on may lack their
// head, and no others.
var lastTxKey = []byte("last_tx")

// lastTxFrom returns the first seq of the last transaction that appended
// to tx's chain; without a record of it (a chain written one record per
// transaction), last, so that only the last record may lack its head.
func lastTxFrom(tx *bolt.Tx, last uint64) uint64 {
	if b := tx.Bucket(auditKeyedBucket); b != nil {
		if v := b.Get(lastTxKey); len(v) == 8 {
			if from := binary.BigEndian.Uint64(v); from <= last {
				return from
			}
		}
	}
	return last
}

// headless reports whether the records after the head (head, last] may
// lack their head after a crash: they were all appended by the last
// transaction (from is its first seq).
func headless(head, last, from uint64) bool {
	return last <= head+1 || head+1 >= from
}

// auditEmpty reports whether tx holds no audit record and no signed start.
func auditEmpty(tx *bolt.Tx) bool {
	if tx.Bucket(auditKeyedBucket) != nil {
		return false
	}
	b := tx.Bucket(auditBucket)
	if b == nil {
		return true
	}
	k, _ := b.Cursor().First()
	return k == nil && b.Sequence() == 0
}

// startKeyedChain begins the signed chain of a tenant whose chain ends at
// last (seq 0: empty): it writes a head file holding last and prev (the
// record before it) and, in tx, the signed start. The head file is written
// first, so that a signed start never lacks its head.
func startKeyedChain(tx *bolt.Tx, tenant tierzero.TenantID, sign ed25519.PrivateKey, headPath string, last, prev head) error {
	var slots [2]head
	slots[last.seq%2] = last
	if last.seq > 0 {
		slots[prev.seq%2] = prev
	}
	if err := createHead(headPath, tenant, sign, slots); err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(auditKeyedBucket)
	if err != nil {
		return err
	}
	from := last.seq + 1
	v := append(seqKey(from), last.hash[:]...)
	v = append(v, ed25519.Sign(sign, markerMsg(tenant, from, last.hash[:]))...)
	return b.Put(keyedFromKey, v)
}

// EncodeAuditKey returns the text form of an audit verification key, as
// AuditKey returns it and tierzero audit verify --key takes it.
func EncodeAuditKey(pub []byte) string {
	return "tzak1:" + base64.RawURLEncoding.EncodeToString(pub)
}

// ParseAuditKey parses the text form of an audit verification key.
func ParseAuditKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "tzak1:")
	if !ok {
		return nil, errors.New(`audit verification key: want "tzak1:" and 43 base64 characters, as tierzero audit verify-key prints it`)
	}
	k, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, errors.New("audit verification key: not the base64 of 32 bytes")
	}
	return k, nil
}

// Append adds ev to tenant's audit trail. It sets ev.Seq to the next number of
// the tenant's sequence (1, 2, 3, ...), ev.Tenant to tenant and ev.Time to Now
// when zero, and returns once the record is committed and synced to disk and
// the chain's head is recorded; on any error the caller must not act. An
// event already labelled with another tenant is rejected. Records are never
// updated or deleted. Append refuses to extend a chain whose tail is broken,
// shorter than its recorded head, or not signed (UpgradeAudit).
func (db *DB) Append(ctx context.Context, tenant tierzero.TenantID, ev tierzero.AuditEvent) error {
	if ev.Tenant != "" && ev.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "audit event of tenant %q appended to tenant %q", ev.Tenant, tenant)
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if ev.Time.IsZero() {
		ev.Time = db.now()
	}
	e := &auditEntry{ev: &ev}
	if about := eventTenants(tenant, ev); len(about) > 0 {
		if err := db.sealContent(ctx, tenant, e, about); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	// Within a unit the record is queued: it is committed with the next
	// write that must be durable before anyone acts, or with the unit.
	err = db.write(ctx, f, kr, writeDeferred, true, func(tx *bolt.Tx, c *chain) error { return c.append(tx, e) })
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// auditEntry is what appendTx writes: an event, the subject of its record,
// and the content sealed under other tenants' keys (see eventContent).
type auditEntry struct {
	ev      *tierzero.AuditEvent
	subject []byte
	about   []tierzero.TenantID
	sealed  []byte
}

// storedEvent is an audit event as sealed in its record: with About set,
// its content fields are empty and Sealed holds them, sealed under the data
// key of each tenant of About in turn (innermost first).
type storedEvent struct {
	tierzero.AuditEvent
	About  []tierzero.TenantID `json:"about,omitempty"`
	Sealed []byte              `json:"sealedContent,omitempty"`
}

// eventContent is what an event about another tenant says of it: sealed
// under that tenant's key, so that shredding it destroys this too. Who,
// when, what kind, which tool and the tenants' names stay readable.
type eventContent struct {
	Text    string          `json:"text,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Outcome string          `json:"outcome,omitempty"`
	Output  json.RawMessage `json:"output,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// auditLayer names the seal of an event's content under another tenant's
// data key (no bucket of that name exists).
var auditLayer = []byte("audit_of_other_tenant")

// eventTenants returns the tenants other than tenant that ev is about, by
// its facts: "tenant" names the tenant of a call into another tenant (an
// MSP technician's), "tenants" the tenants whose data a reply may quote,
// separated by commas.
func eventTenants(tenant tierzero.TenantID, ev tierzero.AuditEvent) []tierzero.TenantID {
	var out []tierzero.TenantID
	names := strings.Split(ev.Facts["tenants"], ",")
	if t := ev.Facts["tenant"]; t != "" {
		names = append(names, t)
	}
	for _, n := range names {
		t := tierzero.TenantID(strings.TrimSpace(n))
		if t != "" && t != tenant && tierzero.ValidTenantID(t) == nil && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// sealContent moves e's content under the keys of the tenants in about.
// If one of them was shredded, the content is not kept at all.
func (db *DB) sealContent(ctx context.Context, tenant tierzero.TenantID, e *auditEntry, about []tierzero.TenantID) error {
	ev := e.ev
	plain, err := json.Marshal(eventContent{Text: ev.Text, Args: ev.Args, Reason: ev.Reason, Outcome: ev.Outcome, Output: ev.Output, Error: ev.Error})
	if err != nil {
		return err
	}
	ev.Text, ev.Args, ev.Reason, ev.Outcome, ev.Output, ev.Error = "", nil, "", "", nil, ""
	sealed, err := db.sealLayers(ctx, tenant, auditLayer, []byte(auditBucket), about, plain)
	if errors.Is(err, errLayerGone) {
		ev.Text = fmt.Sprintf("[not kept: about tenant(s) %s, since shredded]", joinTenants(about))
		return nil
	}
	if err != nil {
		return err
	}
	e.about, e.sealed = about, sealed
	return nil
}

// openContent puts back the content of an event read from the trail; when
// a tenant it was sealed under was shredded, its text says so.
func (db *DB) openContent(ctx context.Context, tenant tierzero.TenantID, se storedEvent) (tierzero.AuditEvent, error) {
	ev := se.AuditEvent
	if len(se.About) == 0 {
		return ev, nil
	}
	plain, err := db.openLayers(ctx, tenant, auditLayer, []byte(auditBucket), se.About, se.Sealed)
	if errors.Is(err, errLayerGone) {
		ev.Text = fmt.Sprintf("[sealed under the key of tenant(s) %s, since shredded]", joinTenants(se.About))
		return ev, nil
	}
	if err != nil {
		return ev, fmt.Errorf("audit seq %d: %w", ev.Seq, err)
	}
	var c eventContent
	if err := json.Unmarshal(plain, &c); err != nil {
		return ev, fmt.Errorf("audit seq %d: %w", ev.Seq, err)
	}
	ev.Text, ev.Args, ev.Reason, ev.Outcome, ev.Output, ev.Error = c.Text, c.Args, c.Reason, c.Outcome, c.Output, c.Error
	return ev, nil
}

func joinTenants(ts []tierzero.TenantID) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// appendWith runs fn in one write transaction of f and appends the event
// fn returns (none when nil) to the audit chain in that same transaction,
// as record seq, with subject; it returns once the record and its head are
// durable. fn may rely on f.head.cur: the head was checked against the
// chain before fn runs.
func (db *DB) appendWith(ctx context.Context, f *tenantFile, kr *keyring, fn func(tx *bolt.Tx, seq uint64) (*auditEntry, error)) error {
	return db.write(ctx, f, kr, writeNow, true, func(tx *bolt.Tx, c *chain) error {
		e, err := fn(tx, c.head.seq+1)
		if err != nil || e == nil {
			return err
		}
		return c.append(tx, e)
	})
}

// openHeadLocked opens f's head file on the first append and checks it
// against the chain: the head must verify and match the chain's end. The
// one gap a crash leaves (a record committed, its head not written, or
// written torn) is closed by writing that head, once the record's own
// signature verifies. f.appendMu is held.
func (db *DB) openHeadLocked(f *tenantFile, kr *keyring) error {
	if f.head != nil {
		return nil
	}
	tenant := f.id
	if kr.sign == nil {
		return tierzero.Errorf(tierzero.EConflict, "the audit chain of tenant %s is not signed (it was written by an older tierzero, or its audit key was removed): run tierzero audit upgrade once, after tierzero audit verify", tenant)
	}
	pub := kr.sign.Public().(ed25519.PublicKey)
	var (
		m       marker
		keyed   bool
		last    uint64
		lastRec []byte
		txFrom  uint64
	)
	err := f.view(func(tx *bolt.Tx) error {
		m, keyed = readMarker(tx)
		if b := tx.Bucket(auditBucket); b != nil {
			k, v := b.Cursor().Last()
			if k != nil {
				if len(k) != 8 {
					return fmt.Errorf("audit chain of tenant %s ends in a malformed key %x; run tierzero audit verify", tenant, k)
				}
				last, lastRec = binary.BigEndian.Uint64(k), bytes.Clone(v)
			}
		}
		txFrom = lastTxFrom(tx, last)
		return nil
	})
	if err != nil {
		return err
	}
	if !keyed {
		return tierzero.Errorf(tierzero.EConflict, "the audit chain of tenant %s has no signed start (it was removed, or an upgrade was interrupted): run tierzero audit verify, then tierzero audit upgrade", tenant)
	}
	if !m.verify(tenant, pub) {
		return fmt.Errorf("the signed start of the audit chain of tenant %s does not verify; run tierzero audit verify", tenant)
	}
	path := db.headPath(tenant)
	hs, err := readHeadState(path, tenant, pub)
	if err != nil {
		return err
	}
	best, ok := hs.best()
	switch {
	case !hs.exists:
		return fmt.Errorf("audit head of tenant %s is missing (%s); run tierzero audit verify", tenant, path)
	case hs.legacy || !ok:
		return fmt.Errorf("audit head of tenant %s (%s) does not verify with its audit key; run tierzero audit verify", tenant, path)
	case last < best.seq:
		return fmt.Errorf("audit chain of tenant %s is behind its recorded head (chain ends at %d, head %d): records were removed; run tierzero audit verify", tenant, last, best.seq)
	case !headless(best.seq, last, txFrom):
		return fmt.Errorf("audit head of tenant %s is stale (head %d, chain ends at %d); run tierzero audit verify", tenant, best.seq, last)
	case last == best.seq && hs.valid() < 2:
		return fmt.Errorf("a slot of the audit head of tenant %s is damaged or forged while the chain ends at the head (%d): records may have been removed; run tierzero audit verify", tenant, last)
	}
	if last > 0 && last >= m.from {
		if len(lastRec) < recordHeader {
			return fmt.Errorf("audit record %d of tenant %s is malformed; run tierzero audit verify", last, tenant)
		}
		if best.seq == last && !bytes.Equal(lastRec[sha256.Size:2*sha256.Size], best.hash[:]) {
			return fmt.Errorf("audit record %d of tenant %s differs from its recorded head; run tierzero audit verify", last, tenant)
		}
		if !recordSigned(tenant, pub, last, lastRec) {
			return fmt.Errorf("audit record %d of tenant %s is not signed with its audit key; run tierzero audit verify", last, tenant)
		}
	}
	hf, err := openHead(path, tenant, kr.sign, best)
	if err != nil {
		return err
	}
	if last > best.seq {
		// The head write of the last transaction was lost or torn (its
		// records are signed, the last one checked above): write it now.
		var h head
		h.seq = last
		copy(h.hash[:], lastRec[sha256.Size:2*sha256.Size])
		if err := hf.put(h); err != nil {
			hf.close()
			return err
		}
		db.log.Warn("recorded the missing audit head of the last record", "tenant", tenant, "seq", last)
	}
	f.head = hf
	return nil
}

// appendTx adds ev to the audit chain in tx and returns the new head. hd is
// the head recorded outside the file, which matches the chain's end.
func appendTx(tx *bolt.Tx, kr *keyring, hd head, e *auditEntry) (head, error) {
	h, _, err := appendRecord(tx, kr, hd, e, true)
	return h, err
}

// appendRecord is appendTx; unless sign, the record's signature is left
// zero (signRecord signs it before the transaction commits), and its
// stored value is returned for that.
func appendRecord(tx *bolt.Tx, kr *keyring, hd head, e *auditEntry, sign bool) (head, []byte, error) {
	tenant, ev, subject := kr.tenant, e.ev, e.subject
	if kr.sign == nil {
		return head{}, nil, fmt.Errorf("audit chain of tenant %s is not signed", tenant)
	}
	b, err := tx.CreateBucketIfNotExists(auditBucket)
	if err != nil {
		return head{}, nil, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return head{}, nil, err
	}
	if seq <= hd.seq {
		return head{}, nil, fmt.Errorf("audit chain of tenant %s is behind its recorded head (next seq %d, head %d): records were removed; run tierzero audit verify", tenant, seq, hd.seq)
	}
	if seq != hd.seq+1 {
		return head{}, nil, fmt.Errorf("audit head of tenant %s is missing or stale (head %d, next seq %d); run tierzero audit verify", tenant, hd.seq, seq)
	}
	prev := make([]byte, sha256.Size)
	k, v := b.Cursor().Last()
	switch {
	case seq == 1 && k != nil, seq > 1 && !bytes.Equal(k, seqKey(seq-1)):
		return head{}, nil, fmt.Errorf("audit chain of tenant %s is broken at its tail (next seq %d, last record %x); run tierzero audit verify", tenant, seq, k)
	case seq > 1:
		if len(v) < recordHeaderV1 {
			return head{}, nil, fmt.Errorf("audit record %d of tenant %s is malformed; run tierzero audit verify", seq-1, tenant)
		}
		copy(prev, v[sha256.Size:2*sha256.Size])
		if !bytes.Equal(prev, hd.hash[:]) {
			return head{}, nil, fmt.Errorf("audit record %d of tenant %s differs from its recorded head; run tierzero audit verify", seq-1, tenant)
		}
	}
	ev.Seq = seq
	plain, err := json.Marshal(storedEvent{AuditEvent: *ev, About: e.about, Sealed: e.sealed})
	if err != nil {
		return head{}, nil, err
	}
	key := seqKey(seq)
	sealed, err := kr.seal(auditBucket, key, plain)
	if err != nil {
		return head{}, nil, err
	}
	sub := make([]byte, subjectSize)
	copy(sub, subject)
	h := head{seq: seq, hash: chainHash(tenant, prev, seq, sub, sealed)}
	val := make([]byte, 0, recordHeader+len(sealed))
	val = append(val, prev...)
	val = append(val, h.hash[:]...)
	if sign {
		val = append(val, ed25519.Sign(kr.sign, recordMsg(tenant, seq, h.hash[:]))...)
	} else {
		val = append(val, zeroSig[:]...)
	}
	val = append(val, sub...)
	val = append(val, sealed...)
	return h, val, b.Put(key, val)
}

// sealedPart returns the sealed event of a stored record: records from
// on are signed, those before are not.
func sealedPart(seq, from uint64, v []byte) ([]byte, bool) {
	n := recordHeader
	if seq < from {
		n = recordHeaderV1
	}
	if len(v) < n {
		return nil, false
	}
	return v[n:], true
}

// keyedFrom returns the first signed seq of tx's chain (past any seq when
// the chain is not signed).
func keyedFrom(tx *bolt.Tx) uint64 {
	if m, ok := readMarker(tx); ok {
		return m.from
	}
	return ^uint64(0)
}

// Audit calls fn for each event of tenant's audit trail whose Time is at or
// after since (all events when since is zero), in sequence order. It stops at
// and returns the first error from fn. A tenant with no file yet is reported
// as a tierzero ENotFound error; no file is created.
func (db *DB) Audit(ctx context.Context, tenant tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error {
	if err := db.settle(ctx, tenant, false); err != nil {
		return err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("read audit: %w", err)
	}
	if f == nil {
		return tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return fmt.Errorf("read audit: %w", err)
	}
	// Events carry caller-set times, so they are filtered rather than sought.
	// The trail is read in batches, each in its own short transaction, up to
	// the last seq present when Audit began: events appended meanwhile (by fn,
	// say) are not visited, so the iteration always ends.
	next, last := uint64(1), uint64(0)
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch []storedEvent
		err := f.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(auditBucket)
			if b == nil {
				return nil
			}
			if first {
				last, first = b.Sequence(), false
			}
			from := keyedFrom(tx)
			c := b.Cursor()
			k, v := c.Seek(seqKey(next))
			for scanned := 0; scanned < auditBatch; k, v = c.Next() {
				if k == nil {
					next = last + 1 // no more records
					break
				}
				seq := binary.BigEndian.Uint64(k)
				if seq > last {
					next = last + 1
					break
				}
				scanned++
				next = seq + 1
				sealed, ok := sealedPart(seq, from, v)
				if !ok {
					return fmt.Errorf("audit seq %d: malformed record", seq)
				}
				plain, err := kr.unseal(auditBucket, k, sealed)
				if err != nil {
					return fmt.Errorf("audit seq %d: %w", seq, err)
				}
				var se storedEvent
				if err := json.Unmarshal(plain, &se); err != nil {
					return fmt.Errorf("audit seq %d: %w", seq, err)
				}
				if since.IsZero() || !se.Time.Before(since) {
					batch = append(batch, se)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read audit: %w", err)
		}
		for _, se := range batch {
			// Content sealed under other tenants is opened outside the
			// transaction: it reads their files.
			ev, err := db.openContent(ctx, tenant, se)
			if err != nil {
				return fmt.Errorf("read audit: %w", err)
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
		if next > last {
			return nil
		}
	}
}

// seqKey is the 8-byte big-endian key of an audit sequence number, so that
// byte order is sequence order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
