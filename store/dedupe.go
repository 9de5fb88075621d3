package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// Platform delivery ids (a Slack event_id, a Teams activity id) live in two
// buckets: "deliveries" maps HMAC(index key, id) to the sealed expiry time,
// and "delivery_expiry" indexes them by expiry (8-byte unix nanoseconds, big
// endian, then the HMAC) so that expired ones are purged in order.
var (
	deliveriesBucket = []byte("deliveries")
	expiryBucket     = []byte("delivery_expiry")
)

// purgeBatch bounds how many expired delivery ids one Dedupe call purges.
const purgeBatch = 256

// Dedupe records a platform delivery id for ttl and reports whether this is
// its first delivery. The check and the insert are one transaction, synced
// before Dedupe returns: of concurrent or repeated calls with the same id
// within ttl, exactly one gets first == true. Call it before any side
// effect; on error, do not process the delivery. Expired ids are purged a
// bounded number at a time.
func (db *DB) Dedupe(ctx context.Context, tenant tierzero.TenantID, deliveryID string, ttl time.Duration) (first bool, err error) {
	if deliveryID == "" || len(deliveryID) > maxIDLen {
		return false, tierzero.Errorf(tierzero.EInvalid, "invalid delivery id: want 1 to %d bytes", maxIDLen)
	}
	if ttl <= 0 {
		return false, tierzero.Errorf(tierzero.EInvalid, "dedupe ttl must be positive")
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return false, fmt.Errorf("dedupe: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return false, fmt.Errorf("dedupe: %w", err)
	}
	key := kr.mac(string(deliveriesBucket), deliveryID)
	now := db.now()
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		var err error
		first, err = dedupeTx(tx, kr, key, now, ttl)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("dedupe: %w", err)
	}
	return first, nil
}

// dedupeTx records the delivery whose record key is key as seen until
// now+ttl, in tx, and reports whether it was not seen (or had expired)
// before. Dedupe and Accept share it, so that both have one meaning.
func dedupeTx(tx *bolt.Tx, kr *keyring, key []byte, now time.Time, ttl time.Duration) (first bool, err error) {
	b, err := tx.CreateBucketIfNotExists(deliveriesBucket)
	if err != nil {
		return false, err
	}
	ix, err := tx.CreateBucketIfNotExists(expiryBucket)
	if err != nil {
		return false, err
	}
	if err := purgeExpired(b, ix, now); err != nil {
		return false, err
	}
	if v := b.Get(key); v != nil {
		plain, err := kr.unseal(deliveriesBucket, key, v)
		if err != nil {
			return false, err
		}
		if len(plain) == 8 && int64(binary.BigEndian.Uint64(plain)) > now.UnixNano() {
			return false, nil // seen, not expired
		}
		if len(plain) == 8 {
			if err := ix.Delete(append(bytes.Clone(plain), key...)); err != nil {
				return false, err
			}
		}
	}
	exp := binary.BigEndian.AppendUint64(nil, uint64(now.Add(ttl).UnixNano()))
	sealed, err := kr.seal(deliveriesBucket, key, exp)
	if err != nil {
		return false, err
	}
	if err := b.Put(key, sealed); err != nil {
		return false, err
	}
	if err := ix.Put(append(exp, key...), nil); err != nil {
		return false, err
	}
	return true, nil
}

// purgeExpired deletes up to purgeBatch delivery ids whose expiry is past.
func purgeExpired(b, ix *bolt.Bucket, now time.Time) error {
	var dead [][]byte
	c := ix.Cursor()
	for k, _ := c.First(); k != nil && len(dead) < purgeBatch; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) > now.UnixNano() {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := ix.Delete(k); err != nil {
			return err
		}
		if err := b.Delete(k[8:]); err != nil {
			return err
		}
	}
	return nil
}
