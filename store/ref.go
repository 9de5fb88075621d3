package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The refs bucket holds the channels' opaque conversation references (how to
// reach a conversation or a person later, for a proactive message):
// HMAC(index key, key) to the sealed reference.
var refsBucket = []byte("refs")

func validRefKey(key string) error {
	if key == "" || len(key) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid reference key: want 1 to %d bytes", maxIDLen)
	}
	return nil
}

// PutRef keeps a channel's conversation reference under key (such as
// "conv:<id>" or "user:slack:<upn>") in tenant's file, replacing any older
// one. ref must be JSON. Within a unit of work it is committed with the
// unit (a reference lost to a crash is set again by the next message).
func (db *DB) PutRef(ctx context.Context, tenant tierzero.TenantID, key string, ref json.RawMessage) error {
	if err := validRefKey(key); err != nil {
		return err
	}
	if len(ref) == 0 || !json.Valid(ref) {
		return tierzero.Errorf(tierzero.EInvalid, "conversation reference %s is not JSON", key)
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("put reference: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("put reference: %w", err)
	}
	k := kr.mac(string(refsBucket), key)
	// A channel hands the same reference with every message of a
	// conversation: an unchanged one is not written (nor synced) again.
	same := false
	err = f.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(refsBucket); b != nil {
			if v := b.Get(k); v != nil {
				plain, err := kr.unseal(refsBucket, k, v)
				same = err == nil && bytes.Equal(plain, ref)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put reference %s: %w", key, err)
	}
	if same {
		return nil
	}
	err = db.write(ctx, f, kr, writeDeferred, false, func(tx *bolt.Tx, _ *chain) error {
		b, err := tx.CreateBucketIfNotExists(refsBucket)
		if err != nil {
			return err
		}
		sealed, err := kr.seal(refsBucket, k, ref)
		if err != nil {
			return err
		}
		return b.Put(k, sealed)
	})
	if err != nil {
		return fmt.Errorf("put reference %s: %w", key, err)
	}
	return nil
}

// Ref returns the conversation reference kept under key in tenant's file,
// and whether there is one. Reading never creates a tenant file.
func (db *DB) Ref(ctx context.Context, tenant tierzero.TenantID, key string) (ref json.RawMessage, ok bool, err error) {
	if err := db.settle(ctx, tenant, true); err != nil {
		return nil, false, err
	}
	if err := validRefKey(key); err != nil {
		return nil, false, err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return nil, false, fmt.Errorf("load reference: %w", err)
	}
	if f == nil {
		return nil, false, nil
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return nil, false, fmt.Errorf("load reference: %w", err)
	}
	if kr == nil {
		return nil, false, nil
	}
	k := kr.mac(string(refsBucket), key)
	var plain []byte
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(refsBucket)
		if b == nil {
			return nil
		}
		v := b.Get(k)
		if v == nil {
			return nil
		}
		var err error
		plain, err = kr.unseal(refsBucket, k, v) // copies out of the tx
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("load reference %s: %w", key, err)
	}
	if plain == nil {
		return nil, false, nil
	}
	return json.RawMessage(plain), true, nil
}
