package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// ChainError reports the first bad record of a tenant's audit chain.
type ChainError struct {
	Tenant tierzero.TenantID
	Seq    uint64 // the first bad (or missing) record
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain of tenant %s: record %d: %s", e.Tenant, e.Seq, e.Reason)
}

// Verification is what verifying a tenant's audit chain found.
type Verification struct {
	Records int // records that verify
	// Unsigned of them were written before audit records were signed; the
	// signed start that UpgradeAudit wrote names the hash of the last of
	// them, so they cannot change since then.
	Unsigned int
	Head     uint64 // the seq the head file records
	HeadHash [32]byte
}

// AuditKey returns tenant's audit verification key (an Ed25519 public key;
// EncodeAuditKey gives its text form). It verifies the tenant's audit chain
// and head, and nothing else: whoever holds it can check the chain
// (VerifyAudit) but can neither write a record or head that verifies nor
// read any value. It needs the master key.
func (db *DB) AuditKey(ctx context.Context, tenant tierzero.TenantID) ([]byte, error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if f == nil {
		return nil, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	pub, ok, err := db.auditPublic(f)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if !ok {
		return nil, tierzero.Errorf(tierzero.EConflict, "tenant %s has no audit key: its chain predates signed audit records; run tierzero audit upgrade", tenant)
	}
	return pub, nil
}

// auditPublic returns the verification key of f's audit key; ok is false
// when the file holds none. A key that does not unwrap for the tenant (the
// file was altered or is another tenant's) is a *ChainError.
func (db *DB) auditPublic(f *tenantFile) (pub ed25519.PublicKey, ok bool, err error) {
	var w []byte
	err = f.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(keysBucket); b != nil {
			w = bytes.Clone(b.Get(auditKeyName))
		}
		return nil
	})
	if err != nil || w == nil {
		return nil, false, err
	}
	seed, err := db.unwrap(f.id, auditKeyName, w)
	if errors.Is(err, errForeignKey) || (err == nil && len(seed) != ed25519.SeedSize) {
		return nil, false, &ChainError{Tenant: f.id, Seq: 1, Reason: fmt.Sprintf("the audit key in the file is not tenant %s's: the file was altered, or replaced by another tenant's file", f.id)}
	}
	if err != nil {
		return nil, false, err
	}
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), true, nil
}

// Verify checks tenant's audit chain with the audit key held under the
// store's master key and returns how many records verify; see VerifyAudit.
func (db *DB) Verify(ctx context.Context, tenant tierzero.TenantID) (n int, err error) {
	v, err := db.verify(ctx, tenant, nil)
	return v.Records, err
}

// VerifyAudit checks tenant's file (bbolt's consistency check of every
// page: a damaged file is a *DamagedError) and its audit chain: every
// record's link and hash, the signatures (of the last record, of the
// chain's signed start and of the head; of more records only to find the
// first bad one) and the head file. With key nil it uses the audit key held
// under the store's master key; else key is the tenant's verification key
// (AuditKey), and no master key is needed: an auditor can verify alone.
//
// A modified, deleted, reordered, forged or cut-off record, a head file
// that was removed, rolled back, forged or copied from another tenant, and a
// tenant file replaced by another tenant's make it return a *ChainError
// naming the tenant and the first bad (or uncovered) record; Records is then
// the number of records before it. A chain that is not signed (written by
// an older tierzero, see UpgradeAudit) is a *ChainError too.
func (db *DB) VerifyAudit(ctx context.Context, tenant tierzero.TenantID, key []byte) (Verification, error) {
	if key != nil && len(key) != ed25519.PublicKeySize {
		return Verification{}, tierzero.Errorf(tierzero.EInvalid, "an audit verification key is %d bytes, not %d", ed25519.PublicKeySize, len(key))
	}
	if err := db.CheckFile(ctx, tenant); err != nil {
		return Verification{}, err
	}
	return db.verify(ctx, tenant, key)
}

// CheckFile runs bbolt's consistency check over tenant's whole file: every
// page reachable or free, none twice, keys in order. A file that fails it
// is a *DamagedError naming the tenant and the file.
func (db *DB) CheckFile(ctx context.Context, tenant tierzero.TenantID) error {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("check file: %w", err)
	}
	if f == nil {
		return tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	var errs []error
	err = f.view(func(tx *bolt.Tx) error {
		// Every bucket and value read here first, where a wild page
		// pointer is a recovered fault (view), before bbolt's check, which
		// reads the same pages in a goroutine of its own.
		if err := walk(tx); err != nil {
			return err
		}
		for err := range tx.Check() { // drained to the end: Check's goroutine exits
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return &DamagedError{Tenant: tenant, Path: db.path(tenant), Err: fmt.Errorf("consistency check: %w", errors.Join(errs...))}
	}
	return nil
}

// walk reads every key and value of every bucket in tx.
func walk(tx *bolt.Tx) error {
	var visit func(b *bolt.Bucket) error
	visit = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					return visit(sub)
				}
			}
			return nil
		})
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return visit(b) })
}

func (db *DB) verify(ctx context.Context, tenant tierzero.TenantID, key ed25519.PublicKey) (Verification, error) {
	if err := db.settle(ctx, tenant, false); err != nil {
		return Verification{}, err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return Verification{}, fmt.Errorf("verify audit: %w", err)
	}
	if f == nil {
		return Verification{}, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	f.appendMu.Lock()
	f.settleHead(db.log) // the head of the last commit, if it is being written
	f.appendMu.Unlock()
	pub, hasKey, err := db.auditPublic(f)
	if key != nil {
		// The auditor's key decides; the file's own key (which needs the
		// master key to read) is not trusted.
		pub, err = key, nil
		hasKey = hasKey || f.hasAuditKeyEntry()
	}
	if err != nil {
		var ce *ChainError
		if errors.As(err, &ce) {
			return Verification{}, err
		}
		if errors.Is(err, ErrNoMasterKey) {
			return Verification{}, fmt.Errorf("verify audit: the audit key is held under the master key: give the master key, or the tenant's verification key (tierzero audit verify-key): %w", err)
		}
		return Verification{}, fmt.Errorf("verify audit: %w", err)
	}
	// The head is read before the chain: a head is written after its record
	// commits, so the chain seen next is at least as long.
	hs, err := readHeadState(db.headPath(tenant), tenant, pub)
	if err != nil {
		return Verification{}, fmt.Errorf("verify audit: %w", err)
	}
	var v Verification
	err = f.view(func(tx *bolt.Tx) error {
		var err error
		v, err = verifyChain(ctx, tx, tenant, pub, hasKey, hs, db.headPath(tenant))
		return err
	})
	var ce *ChainError
	if err != nil && !errors.As(err, &ce) {
		err = fmt.Errorf("verify audit: %w", err)
	}
	return v, err
}

// hasAuditKeyEntry reports whether f's keys bucket holds an audit key.
func (f *tenantFile) hasAuditKeyEntry() bool {
	ok := false
	f.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(keysBucket); b != nil {
			ok = b.Get(auditKeyName) != nil
		}
		return nil
	})
	return ok
}

// chainScan is one pass over a chain: links, hashes and the positions the
// head slots name.
type chainScan struct {
	last     uint64
	lastHash [32]byte
	sequence uint64
	n        int
}

// verifyChain checks the chain in tx against the head state hs with pub.
func verifyChain(ctx context.Context, tx *bolt.Tx, tenant tierzero.TenantID, pub ed25519.PublicKey, hasKey bool, hs headState, headPath string) (v Verification, err error) {
	bad := func(seq uint64, format string, args ...any) error {
		v.Records = int(seq) - 1
		return &ChainError{Tenant: tenant, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	m, keyed := readMarker(tx)
	if !keyed && !hasKey && auditEmpty(tx) {
		// No audit key, no record: nothing to verify. A head file may be
		// left by a first write interrupted before its commit.
		return v, nil
	}
	if !keyed {
		n, _, _, err := verifyUnsigned(ctx, tx, tenant, hs, headPath)
		if err != nil {
			var ce *ChainError
			if errors.As(err, &ce) {
				v.Records, v.Unsigned = int(ce.Seq)-1, int(ce.Seq)-1
			}
			return v, err
		}
		v.Records, v.Unsigned = n, n
		switch {
		case hasKey:
			return v, bad(1, "the chain's signed start was removed (or an upgrade was interrupted): its %d records verify only by their keyless hash chain, which anyone can recompute; run tierzero audit upgrade if you trust them", n)
		case n > 0:
			return v, bad(1, "not signed: its %d records were written before tierzero signed audit records and verify only by their keyless hash chain, which anyone can recompute; run tierzero audit upgrade once to anchor them", n)
		}
		return v, nil // no records and no audit key: nothing to verify
	}
	if pub == nil {
		return v, bad(max(m.from, 1), "the chain is signed but the tenant's audit key was removed from the file")
	}
	if !m.verify(tenant, pub) {
		return v, bad(max(m.from, 1), "the chain's signed start does not verify with tenant %s's audit key: the file was altered, or it is another tenant's file", tenant)
	}
	wantHash := map[uint64][32]byte{}
	for pos := range 2 {
		if hs.ok[pos] && hs.slots[pos].seq > 0 {
			wantHash[hs.slots[pos].seq] = hs.slots[pos].hash
		}
	}
	var s chainScan
	b := tx.Bucket(auditBucket)
	prev := make([]byte, sha256.Size)
	var lastSig []byte
	if b != nil {
		s.sequence = b.Sequence()
		c := b.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			if s.n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return v, err
				}
			}
			want := s.last + 1
			if len(k) != 8 {
				return v, bad(want, "malformed key %x", k)
			}
			seq := binary.BigEndian.Uint64(k)
			if seq != want {
				return v, bad(want, "missing (the next record is %d)", seq)
			}
			var sum [32]byte
			if seq < m.from {
				if len(val) < recordHeaderV1 {
					return v, bad(seq, "malformed (%d bytes)", len(val))
				}
				if !bytes.Equal(val[:sha256.Size], prev) {
					return v, bad(seq, "does not link to record %d (deleted, reordered or altered)", seq-1)
				}
				sum = chainHashV1(prev, seq, val[recordHeaderV1:])
			} else {
				if len(val) < recordHeader {
					return v, bad(seq, "malformed (%d bytes)", len(val))
				}
				if !bytes.Equal(val[:sha256.Size], prev) {
					return v, bad(seq, "does not link to record %d (deleted, reordered or altered)", seq-1)
				}
				if seq == m.from && !bytes.Equal(prev, m.anchor[:]) {
					return v, bad(seq, "does not link to the record where signing began (the records before it were altered)")
				}
				sum = chainHash(tenant, prev, seq, val[2*sha256.Size+ed25519.SignatureSize:recordHeader], val[recordHeader:])
				lastSig = val[2*sha256.Size : 2*sha256.Size+ed25519.SignatureSize]
			}
			if !bytes.Equal(sum[:], val[sha256.Size:2*sha256.Size]) {
				return v, bad(seq, "contents altered (hash mismatch)")
			}
			if w, ok := wantHash[seq]; ok && w != sum {
				return v, bad(seq, "differs from the recorded head (the chain was rewritten)")
			}
			prev = val[sha256.Size : 2*sha256.Size]
			s.lastHash = sum
			s.last = seq
			s.n++
		}
	}
	v.Records = s.n
	v.Unsigned = int(min(s.last, m.from-1))
	last := s.last
	if s.sequence > last {
		return v, bad(last+1, "missing: chain ends at seq %d but the file's sequence says %d", last, s.sequence)
	}
	if m.from > last+1 {
		return v, bad(last+1, "missing: chain ends at seq %d but signing began at %d", last, m.from)
	}
	if last >= m.from && bytes.Equal(lastSig, zeroSig[:]) {
		// Every transaction ends on a signed record: a chain that ends
		// on an unsigned one lost the end of its last transaction.
		return v, bad(last+1, "missing: the chain ends at record %d, within the transaction that wrote it (its last, signed, record and any after it were cut)", last)
	}
	if last >= m.from && !ed25519.Verify(pub, recordMsg(tenant, last, s.lastHash[:]), lastSig) {
		// The chain was rewritten from some record on: find the first
		// record whose signature fails (each one's hash commits to all
		// before it, so the good ones come first). A record left unsigned
		// in a transaction is as good as the signed one that ends it, so
		// the record named is the first of its transaction.
		lo, hi := m.from, last
		for lo < hi {
			mid := lo + (hi-lo)/2
			if coveredSigned(b, tenant, pub, mid) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return v, bad(lo, "its signature does not verify with tenant %s's audit key: a forged or rewritten record, or another tenant's", tenant)
	}
	best, ok := hs.best()
	switch {
	case !hs.exists:
		return v, bad(1, "not covered: no head recorded outside the tenant's file (%s is missing)", headPath)
	case hs.legacy:
		return v, bad(last+1, "the head file %s is in the old unsigned format, which anyone can write: records after %d may have been removed", headPath, last)
	case !ok:
		return v, bad(last+1, "the head file %s does not verify with tenant %s's audit key (forged, or another tenant's): records after %d may have been removed", headPath, tenant, last)
	case last < best.seq:
		return v, bad(last+1, "missing: chain ends at seq %d but head says %d", last, best.seq)
	case !headless(best.seq, last, lastTxFrom(tx, last)):
		// The records of the last transaction may lack their head after
		// a crash between its commit and the head write; more means the
		// head file was rolled back.
		return v, bad(best.seq+2, "not covered by the recorded head (head says %d, chain ends at %d): the head file was rolled back or replaced", best.seq, last)
	case hs.valid() < 2 && last == best.seq:
		return v, bad(last+1, "a slot of the head file %s is damaged or forged while the chain ends at the head: records after %d may have been removed", headPath, last)
	}
	v.Head, v.HeadHash = best.seq, best.hash
	return v, nil
}

// verifyUnsigned checks a chain that has no signed start (every record in
// the unsigned form) against its head (unsigned, or signed by an upgrade
// that was interrupted) and returns its length, its last record and the
// one before.
func verifyUnsigned(ctx context.Context, tx *bolt.Tx, tenant tierzero.TenantID, hs headState, headPath string) (n int, last, prev head, err error) {
	bad := func(seq uint64, format string, args ...any) error {
		return &ChainError{Tenant: tenant, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	var hd head
	switch {
	case hs.legacy:
		hd = hs.v1
	case hs.exists:
		var ok bool
		if hd, ok = hs.best(); !ok {
			return 0, head{}, head{}, bad(1, "the head file %s does not verify", headPath)
		}
	}
	b := tx.Bucket(auditBucket)
	p := make([]byte, sha256.Size)
	var sequence uint64
	if b != nil {
		sequence = b.Sequence()
		c := b.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return 0, head{}, head{}, err
				}
			}
			want := last.seq + 1
			if len(k) != 8 {
				return n, last, prev, bad(want, "malformed key %x", k)
			}
			seq := binary.BigEndian.Uint64(k)
			if seq != want {
				return n, last, prev, bad(want, "missing (the next record is %d)", seq)
			}
			if len(val) < recordHeaderV1 {
				return n, last, prev, bad(seq, "malformed (%d bytes)", len(val))
			}
			if !bytes.Equal(val[:sha256.Size], p) {
				return n, last, prev, bad(seq, "does not link to record %d (deleted, reordered or altered)", seq-1)
			}
			sum := chainHashV1(p, seq, val[recordHeaderV1:])
			if !bytes.Equal(sum[:], val[sha256.Size:recordHeaderV1]) {
				return n, last, prev, bad(seq, "contents altered (hash mismatch)")
			}
			if seq == hd.seq && sum != hd.hash {
				return n, last, prev, bad(seq, "differs from the recorded head (the chain was rewritten)")
			}
			p = val[sha256.Size:recordHeaderV1]
			prev, last = last, head{seq: seq, hash: sum}
			n++
		}
	}
	switch {
	case hd.seq > last.seq:
		return n, last, prev, bad(last.seq+1, "missing: chain ends at seq %d but head says %d", last.seq, hd.seq)
	case sequence > last.seq:
		return n, last, prev, bad(last.seq+1, "missing: chain ends at seq %d but the file's sequence says %d", last.seq, sequence)
	case last.seq > 0 && !hs.exists:
		return n, last, prev, bad(1, "not covered: no head recorded outside the tenant's file (%s is missing)", headPath)
	case last.seq > hd.seq+1:
		return n, last, prev, bad(hd.seq+2, "not covered by the recorded head (head says %d, chain ends at %d): the head file was rolled back or replaced", hd.seq, last.seq)
	}
	return n, last, prev, nil
}

// Upgrade is what UpgradeAudit did for a tenant.
type Upgrade struct {
	Anchored uint64 // the unsigned records now anchored (1 to Anchored)
	Already  bool   // the chain was signed already; nothing changed
}

// UpgradeAudit signs the audit chain of a tenant written before audit
// records were signed: it checks the unsigned chain against its head as
// older versions did (a chain that fails is not upgraded), gives the tenant
// an audit key, replaces the head file with a signed one and writes the
// chain's signed start, naming the hash of its last record, so the records
// before it cannot change from then on. It is done once per tenant (run it
// again after an interruption); a tenant asking for it again later had its
// signed start removed: verify it before upgrading again. It needs the
// master key.
func (db *DB) UpgradeAudit(ctx context.Context, tenant tierzero.TenantID) (Upgrade, error) {
	m, err := db.currentMaster()
	if err != nil {
		return Upgrade{}, fmt.Errorf("upgrade audit: %w", err)
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return Upgrade{}, fmt.Errorf("upgrade audit: %w", err)
	}
	if f == nil {
		return Upgrade{}, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	f.appendMu.Lock()
	defer f.appendMu.Unlock()

	// The audit key first, in its own transaction: an interrupted upgrade
	// resumes with it.
	already := false
	err = f.update(func(tx *bolt.Tx) error {
		if _, ok := readMarker(tx); ok {
			already = true
			return nil
		}
		b, err := tx.CreateBucketIfNotExists(keysBucket)
		if err != nil {
			return err
		}
		if b.Get(auditKeyName) == nil {
			return b.Put(auditKeyName, m.wrap(tenant, auditKeyName, NewMasterKey()))
		}
		return nil
	})
	if err != nil || already {
		return Upgrade{Already: already}, err
	}
	pub, _, err := db.auditPublic(f)
	if err != nil {
		return Upgrade{}, fmt.Errorf("upgrade audit: %w", err)
	}
	var seed []byte
	f.view(func(tx *bolt.Tx) error {
		seed, err = db.unwrap(tenant, auditKeyName, tx.Bucket(keysBucket).Get(auditKeyName))
		return nil
	})
	if err != nil {
		return Upgrade{}, fmt.Errorf("upgrade audit: %w", err)
	}
	sign := ed25519.NewKeyFromSeed(seed)
	path := db.headPath(tenant)
	hs, err := readHeadState(path, tenant, pub)
	if err != nil {
		return Upgrade{}, fmt.Errorf("upgrade audit: %w", err)
	}
	var last head
	err = f.update(func(tx *bolt.Tx) error {
		if _, ok := readMarker(tx); ok {
			already = true
			return nil
		}
		_, l, prev, err := verifyUnsigned(ctx, tx, tenant, hs, path)
		if err != nil {
			return fmt.Errorf("not upgraded: %w", err)
		}
		last = l
		return startKeyedChain(tx, tenant, sign, path, l, prev)
	})
	if err != nil || already {
		return Upgrade{Already: already}, err
	}
	// Reload the keys (now with the audit key) and the head on next use.
	f.mu.Lock()
	f.keys = nil
	f.mu.Unlock()
	f.settleHead(db.log) // f.appendMu is held (above)
	if f.head != nil {
		f.head.close()
		f.head = nil
	}
	db.log.Info("audit chain signed from now on", "tenant", tenant, "anchored_records", last.seq)
	return Upgrade{Anchored: last.seq}, nil
}

// RecordHash returns the hash of tenant's audit record seq as stored, for
// comparing with a head an auditor kept from an earlier verification: a
// chain that was rewritten since (even by someone with the master key, or
// rolled back with its head file) no longer holds that hash there. Check
// the chain with VerifyAudit first.
func (db *DB) RecordHash(ctx context.Context, tenant tierzero.TenantID, seq uint64) ([32]byte, error) {
	if err := db.settle(ctx, tenant, false); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return sum, fmt.Errorf("audit record hash: %w", err)
	}
	if f == nil {
		return sum, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	found := false
	err = f.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(auditBucket); b != nil {
			if v := b.Get(seqKey(seq)); len(v) >= recordHeaderV1 {
				copy(sum[:], v[sha256.Size:2*sha256.Size])
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return sum, fmt.Errorf("audit record hash: %w", err)
	}
	if !found {
		return sum, &ChainError{Tenant: tenant, Seq: seq, Reason: "missing"}
	}
	return sum, nil
}

// coveredSigned reports whether the signature that covers record seq (its
// own, or for a record left unsigned within a transaction, that of the
// next signed record) verifies.
func coveredSigned(b *bolt.Bucket, tenant tierzero.TenantID, pub ed25519.PublicKey, seq uint64) bool {
	if b == nil {
		return false
	}
	c := b.Cursor()
	for k, v := c.Seek(seqKey(seq)); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return false
		}
		if !unsigned(v) {
			return recordSigned(tenant, pub, binary.BigEndian.Uint64(k), v)
		}
	}
	return false
}
