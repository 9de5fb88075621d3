package store

import (
	"context"
	"fmt"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The credentials bucket holds a tenant's secrets for reaching its services
// (a delegated Graph refresh token), sealed like every value, under
// HMAC(index key, name).
var credentialsBucket = []byte("credentials")

// Credential returns tenant's stored credential name, and whether there is
// one. Reading never creates a tenant file.
func (db *DB) Credential(ctx context.Context, tenant tierzero.TenantID, name string) (string, bool, error) {
	if name == "" || len(name) > maxIDLen {
		return "", false, tierzero.Errorf(tierzero.EInvalid, "invalid credential name")
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return "", false, err
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return "", false, err
	}
	key := kr.mac(string(credentialsBucket), name)
	var plain []byte
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(credentialsBucket)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		var err error
		plain, err = kr.unseal(credentialsBucket, key, v)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("load credential: %w", err)
	}
	return string(plain), plain != nil, nil
}

// PutCredential stores tenant's credential name, replacing any previous one.
func (db *DB) PutCredential(ctx context.Context, tenant tierzero.TenantID, name, value string) error {
	if name == "" || len(name) > maxIDLen || value == "" {
		return tierzero.Errorf(tierzero.EInvalid, "invalid credential")
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	key := kr.mac(string(credentialsBucket), name)
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		b, err := tx.CreateBucketIfNotExists(credentialsBucket)
		if err != nil {
			return err
		}
		val, err := kr.seal(credentialsBucket, key, []byte(value))
		if err != nil {
			return err
		}
		return b.Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	return nil
}
