package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

var auditBucket = []byte("audit")

// auditBatch is how many events Audit reads per transaction. Callbacks run
// outside transactions, so fn may itself call the store (even Append).
const auditBatch = 256

// Append adds ev to tenant's audit trail. It sets ev.Seq to the next number of
// the tenant's sequence (1, 2, 3, ...), ev.Tenant to tenant and ev.Time to Now
// when zero, and returns once the record is committed and synced to disk. An
// event already labelled with another tenant is rejected. Records are never
// updated or deleted.
func (db *DB) Append(ctx context.Context, tenant tierzero.TenantID, ev tierzero.AuditEvent) error {
	if ev.Tenant != "" && ev.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "audit event of tenant %q appended to tenant %q", ev.Tenant, tenant)
	}
	bdb, err := db.tenant(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	ev.Tenant = tenant
	if ev.Time.IsZero() {
		ev.Time = db.now()
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(auditBucket)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		ev.Seq = seq
		plain, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		key := seqKey(seq)
		if b.Get(key) != nil {
			return fmt.Errorf("audit seq %d already present", seq) // never overwrite
		}
		val, err := db.seal(tenant, auditBucket, key, plain)
		if err != nil {
			return err
		}
		return b.Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// Audit calls fn for each event of tenant's audit trail whose Time is at or
// after since (all events when since is zero), in sequence order. It stops at
// and returns the first error from fn. A tenant with no file yet is reported
// as a tierzero ENotFound error; no file is created.
func (db *DB) Audit(ctx context.Context, tenant tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error {
	bdb, err := db.tenant(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("read audit: %w", err)
	}
	if bdb == nil {
		return tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
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
		err := bdb.View(func(tx *bolt.Tx) error {
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
				plain, err := db.unseal(tenant, auditBucket, k, v)
				if err != nil {
					return err
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

// seqKey is the 8-byte big-endian key of an audit sequence number, so that
// byte order is sequence order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
