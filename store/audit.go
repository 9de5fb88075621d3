package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The audit bucket maps seq (8 bytes, big endian) to
//
//	prev (32) | hash (32) | sealed event
//
// where prev is the hash of record seq-1 (zeros for seq 1) and
// hash = SHA-256(prev | seq | sealed event). The chain covers the stored
// ciphertext, so it verifies without any key, also after a shred.
var auditBucket = []byte("audit")

const recordHeader = 2 * sha256.Size

// auditBatch is how many events Audit reads per transaction. Callbacks run
// outside transactions, so fn may itself call the store (even Append).
const auditBatch = 256

// chainHash is the hash of audit record seq.
func chainHash(prev []byte, seq uint64, sealed []byte) [32]byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(seqKey(seq))
	h.Write(sealed)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// Append adds ev to tenant's audit trail. It sets ev.Seq to the next number of
// the tenant's sequence (1, 2, 3, ...), ev.Tenant to tenant and ev.Time to Now
// when zero, and returns once the record is committed and synced to disk and
// the chain's head is recorded; on any error the caller must not act. An
// event already labelled with another tenant is rejected. Records are never
// updated or deleted. Append refuses to extend a chain whose tail is broken
// or shorter than its recorded head.
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
	ev.Tenant = tenant
	if ev.Time.IsZero() {
		ev.Time = db.now()
	}

	f.appendMu.Lock()
	defer f.appendMu.Unlock()
	if f.head == nil {
		if f.head, err = openHead(db.headPath(tenant)); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	var h head
	err = f.db.Update(func(tx *bolt.Tx) error {
		var err error
		h, err = appendTx(tx, kr, f.head.cur, &ev)
		return err
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if err := f.head.write(h); err != nil {
		return fmt.Errorf("append audit: record %d committed but its head was not recorded: %w", h.seq, err)
	}
	return nil
}

// appendTx adds ev to the audit chain in tx and returns the new head. hd is
// the head recorded outside the file.
func appendTx(tx *bolt.Tx, kr *keyring, hd head, ev *tierzero.AuditEvent) (head, error) {
	tenant := kr.tenant
	b, err := tx.CreateBucketIfNotExists(auditBucket)
	if err != nil {
		return head{}, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return head{}, err
	}
	if seq <= hd.seq {
		return head{}, fmt.Errorf("audit chain of tenant %s is behind its recorded head (next seq %d, head %d): records were removed; run tierzero audit verify", tenant, seq, hd.seq)
	}
	if seq > hd.seq+2 { // one record may lack its head after a crash
		return head{}, fmt.Errorf("audit head of tenant %s is missing or stale (head %d, next seq %d); run tierzero audit verify", tenant, hd.seq, seq)
	}
	prev := make([]byte, sha256.Size)
	k, v := b.Cursor().Last()
	switch {
	case seq == 1 && k != nil, seq > 1 && !bytes.Equal(k, seqKey(seq-1)):
		return head{}, fmt.Errorf("audit chain of tenant %s is broken at its tail (next seq %d, last record %x); run tierzero audit verify", tenant, seq, k)
	case seq > 1:
		if len(v) < recordHeader {
			return head{}, fmt.Errorf("audit record %d of tenant %s is malformed; run tierzero audit verify", seq-1, tenant)
		}
		copy(prev, v[sha256.Size:recordHeader])
	}
	ev.Seq = seq
	plain, err := json.Marshal(ev)
	if err != nil {
		return head{}, err
	}
	key := seqKey(seq)
	sealed, err := kr.seal(auditBucket, key, plain)
	if err != nil {
		return head{}, err
	}
	h := head{seq: seq, hash: chainHash(prev, seq, sealed)}
	val := make([]byte, 0, recordHeader+len(sealed))
	val = append(append(append(val, prev...), h.hash[:]...), sealed...)
	return h, b.Put(key, val)
}

// Audit calls fn for each event of tenant's audit trail whose Time is at or
// after since (all events when since is zero), in sequence order. It stops at
// and returns the first error from fn. A tenant with no file yet is reported
// as a tierzero ENotFound error; no file is created.
func (db *DB) Audit(ctx context.Context, tenant tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error {
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
		var batch []tierzero.AuditEvent
		err := f.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(auditBucket)
			if b == nil {
				return nil
			}
			if first {
				last, first = b.Sequence(), false
			}
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
				if len(v) < recordHeader {
					return fmt.Errorf("audit seq %d: malformed record", seq)
				}
				plain, err := kr.unseal(auditBucket, k, v[recordHeader:])
				if err != nil {
					return fmt.Errorf("audit seq %d: %w", seq, err)
				}
				var ev tierzero.AuditEvent
				if err := json.Unmarshal(plain, &ev); err != nil {
					return fmt.Errorf("audit seq %d: %w", seq, err)
				}
				if since.IsZero() || !ev.Time.Before(since) {
					batch = append(batch, ev)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read audit: %w", err)
		}
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if next > last {
			return nil
		}
	}
}

// ChainError reports the first bad record of a tenant's audit chain.
type ChainError struct {
	Tenant tierzero.TenantID
	Seq    uint64 // the first bad (or missing) record
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain of tenant %s: record %d: %s", e.Tenant, e.Seq, e.Reason)
}

// Verify checks tenant's audit chain and returns how many records it holds.
// It needs no key (the chain is over the stored ciphertext), so it works after
// Shred and on a store opened without a master key. A modified, deleted,
// reordered or cut-off record, or a head file that was removed or rolled
// back, makes it return a *ChainError naming the first bad (or uncovered)
// record; n is then the number of records before it.
func (db *DB) Verify(ctx context.Context, tenant tierzero.TenantID) (n int, err error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	if f == nil {
		return 0, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	// The head is read before the chain: a head is written after its record
	// commits, so the chain seen next is at least as long.
	hd, haveHead, err := readHead(db.headPath(tenant))
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	bad := func(seq uint64, format string, args ...any) error {
		n = int(seq) - 1
		return &ChainError{Tenant: tenant, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	var last uint64
	err = f.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		var sequence uint64
		prev := make([]byte, sha256.Size)
		if b != nil {
			sequence = b.Sequence()
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if n%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				want := last + 1
				if len(k) != 8 {
					return bad(want, "malformed key %x", k)
				}
				seq := binary.BigEndian.Uint64(k)
				if seq != want {
					return bad(want, "missing (the next record is %d)", seq)
				}
				if len(v) < recordHeader {
					return bad(seq, "malformed (%d bytes)", len(v))
				}
				if !bytes.Equal(v[:sha256.Size], prev) {
					return bad(seq, "does not link to record %d (deleted, reordered or altered)", seq-1)
				}
				sum := chainHash(prev, seq, v[recordHeader:])
				if !bytes.Equal(sum[:], v[sha256.Size:recordHeader]) {
					return bad(seq, "contents altered (hash mismatch)")
				}
				if seq == hd.seq && !bytes.Equal(sum[:], hd.hash[:]) {
					return bad(seq, "differs from the recorded head (the chain was rewritten)")
				}
				prev = v[sha256.Size:recordHeader]
				last = seq
				n++
			}
		}
		switch {
		case hd.seq > last:
			return bad(last+1, "missing: chain ends at seq %d but head says %d", last, hd.seq)
		case sequence > last:
			return bad(last+1, "missing: chain ends at seq %d but the file's sequence says %d", last, sequence)
		case last > 0 && !haveHead:
			return bad(1, "not covered: no head recorded outside the tenant's file (%s is missing)", db.headPath(tenant))
		case last > hd.seq+1:
			// One record may lack its head after a crash between its commit
			// and the head write; more means the head file was rolled back.
			return bad(hd.seq+2, "not covered by the recorded head (head says %d, chain ends at %d): the head file was rolled back or replaced", hd.seq, last)
		}
		return nil
	})
	var ce *ChainError
	if err != nil && !errors.As(err, &ce) {
		err = fmt.Errorf("verify audit: %w", err)
	}
	return n, err
}

// seqKey is the 8-byte big-endian key of an audit sequence number, so that
// byte order is sequence order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
