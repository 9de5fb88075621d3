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

// The inbox bucket holds the messages a tenant's desk has acknowledged but
// not yet finished: the key is the item's sequence number (8 bytes, big
// endian, from the bucket's NextSequence, so bbolt's key order is arrival
// order and survives restarts), the value the sealed JSON of the
// tierzero.InboxItem.
var inboxBucket = []byte("inbox")

// Accept records in.Delivery as seen for ttl, with the meaning and the
// buckets of Dedupe, and, only when this is its first delivery, queues in in
// tenant's inbox with the next sequence number. Both happen in one
// transaction, synced before Accept returns: of concurrent or repeated calls
// with the same delivery id within ttl, exactly one gets first == true and
// exactly one item is queued. An empty in.Delivery skips the dedupe (always
// first; ttl is then not used). in.Tenant must be tenant. It returns the
// queued item (Seq set, Started zero); when first is false, nothing was
// queued and item is zero.
func (db *DB) Accept(ctx context.Context, tenant tierzero.TenantID, in tierzero.Inbound, ttl time.Duration) (item tierzero.InboxItem, first bool, err error) {
	if in.Tenant != tenant {
		return item, false, tierzero.Errorf(tierzero.EInvalid, "message of tenant %q accepted for tenant %q", in.Tenant, tenant)
	}
	if len(in.Delivery) > maxIDLen {
		return item, false, tierzero.Errorf(tierzero.EInvalid, "invalid delivery id: want at most %d bytes", maxIDLen)
	}
	if in.Delivery != "" && ttl <= 0 {
		return item, false, tierzero.Errorf(tierzero.EInvalid, "dedupe ttl must be positive")
	}
	if err := validConversationID(in.Conversation); err != nil {
		return item, false, err
	}
	if len(in.Ref) > 0 && !json.Valid(in.Ref) {
		return item, false, tierzero.Errorf(tierzero.EInvalid, "conversation reference is not JSON")
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return item, false, fmt.Errorf("accept: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return item, false, fmt.Errorf("accept: %w", err)
	}
	var dkey []byte
	if in.Delivery != "" {
		dkey = kr.mac(string(deliveriesBucket), in.Delivery)
	}
	now := db.now()
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		first = true
		if dkey != nil {
			var err error
			if first, err = dedupeTx(tx, kr, dkey, now, ttl); err != nil || !first {
				return err
			}
		}
		b, err := tx.CreateBucketIfNotExists(inboxBucket)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		it := tierzero.InboxItem{Seq: seq, Inbound: in}
		if err := putInboxItem(b, kr, it); err != nil {
			return err
		}
		item = it
		return nil
	})
	if err != nil {
		return tierzero.InboxItem{}, false, fmt.Errorf("accept: %w", err)
	}
	return item, first, nil
}

// Inbox returns tenant's queued items, oldest (lowest Seq) first, started
// ones included. A tenant without a file has none; reading never creates a
// tenant file.
func (db *DB) Inbox(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.InboxItem, error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if f == nil {
		return nil, nil
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if kr == nil {
		return nil, nil // a file without keys holds no values
	}
	var out []tierzero.InboxItem
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(inboxBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			it, err := openInboxItem(kr, tenant, k, v)
			if err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

// StartInbox marks item seq of tenant started at now (Now when now is zero),
// durably, before its work begins: an item found started after a restart
// was interrupted. It is EConflict when the item was already started, and
// ENotFound when there is no such item.
func (db *DB) StartInbox(ctx context.Context, tenant tierzero.TenantID, seq uint64, now time.Time) error {
	notFound := tierzero.Errorf(tierzero.ENotFound, "no inbox item %d in tenant %s", seq, tenant)
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("start inbox item: %w", err)
	}
	if f == nil {
		return notFound
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return fmt.Errorf("start inbox item: %w", err)
	}
	if kr == nil {
		return notFound
	}
	if now.IsZero() {
		now = db.now()
	}
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		b := tx.Bucket(inboxBucket)
		if b == nil {
			return notFound
		}
		k := seqKey(seq)
		v := b.Get(k)
		if v == nil {
			return notFound
		}
		it, err := openInboxItem(kr, tenant, k, v)
		if err != nil {
			return err
		}
		if !it.Started.IsZero() {
			return tierzero.Errorf(tierzero.EConflict, "inbox item %d of tenant %s was already started at %s", seq, tenant, it.Started.UTC().Format(time.RFC3339))
		}
		it.Started = now
		return putInboxItem(b, kr, it)
	})
	if err != nil {
		return fmt.Errorf("start inbox item %d: %w", seq, err)
	}
	return nil
}

// FinishInbox removes item seq from tenant's inbox: its work is done, or
// settled. Removing a missing item is not an error.
func (db *DB) FinishInbox(ctx context.Context, tenant tierzero.TenantID, seq uint64) error {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("finish inbox item: %w", err)
	}
	if f == nil {
		return nil
	}
	defer db.release(f)
	err = db.write(ctx, f, nil, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		b := tx.Bucket(inboxBucket)
		if b == nil {
			return nil
		}
		return b.Delete(seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("finish inbox item %d: %w", seq, err)
	}
	return nil
}

func putInboxItem(b *bolt.Bucket, kr *keyring, it tierzero.InboxItem) error {
	plain, err := json.Marshal(it)
	if err != nil {
		return err
	}
	k := seqKey(it.Seq)
	sealed, err := kr.seal(inboxBucket, k, plain)
	if err != nil {
		return err
	}
	return b.Put(k, sealed)
}

// openInboxItem unseals and decodes the item stored under k, checking that
// it names its own sequence number and tenant.
func openInboxItem(kr *keyring, tenant tierzero.TenantID, k, v []byte) (tierzero.InboxItem, error) {
	var it tierzero.InboxItem
	if len(k) != 8 {
		return it, fmt.Errorf("inbox key %x is not a sequence number", k)
	}
	plain, err := kr.unseal(inboxBucket, k, v)
	if err != nil {
		return it, err
	}
	if err := json.Unmarshal(plain, &it); err != nil {
		return it, fmt.Errorf("inbox item %d: %w", binary.BigEndian.Uint64(k), err)
	}
	if seq := binary.BigEndian.Uint64(k); it.Seq != seq || it.Inbound.Tenant != tenant {
		return it, fmt.Errorf("inbox item %d: stored record names item %d of tenant %q", seq, it.Seq, it.Inbound.Tenant)
	}
	return it, nil
}
