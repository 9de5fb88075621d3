package store

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// RotateKey starts a new data key for tenant and returns its id: new values
// are sealed with it, values sealed with older keys stay readable (each names
// its key). The index key (record keys of conversations, deliveries, intents)
// is not rotated, so that stored records stay addressable.
func (db *DB) RotateKey(ctx context.Context, tenant tierzero.TenantID) (id uint32, err error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return 0, fmt.Errorf("rotate key: %w", err)
	}
	if f == nil {
		return 0, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
	}
	defer db.release(f)
	if _, err := db.keyring(f, true); err != nil {
		return 0, fmt.Errorf("rotate key: %w", err)
	}
	m, err := db.currentMaster()
	if err != nil {
		return 0, fmt.Errorf("rotate key: %w", err)
	}
	f.mu.Lock() // no other rotation meanwhile
	defer f.mu.Unlock()
	kr := f.keys
	dk := NewMasterKey()
	aead, err := newAEAD(dk)
	if err != nil {
		return 0, err
	}
	err = f.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(keysBucket)
		if b == nil {
			return errors.New("no keys bucket")
		}
		if b.Get(shreddedKey) != nil {
			return shreddedError(tenant)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		id = uint32(seq)
		if err := b.Put(dataKeyName(id), m.wrap(tenant, dataKeyName(id), dk)); err != nil {
			return err
		}
		return b.Put(currentKey, binary.BigEndian.AppendUint32(nil, id))
	})
	if err != nil {
		return 0, fmt.Errorf("rotate key: %w", err)
	}
	// A fresh keyring, so that a keyring held by a call in progress is never
	// written to.
	next := &keyring{tenant: tenant, current: id, aeads: map[uint32]cipher.AEAD{id: aead}, index: kr.index, sign: kr.sign}
	for k, a := range kr.aeads {
		next.aeads[k] = a
	}
	f.keys = next
	db.log.Info("rotated data key", "tenant", tenant, "key", id)
	return id, nil
}

// RotateMaster re-wraps the data keys (and index and audit keys) of every
// tenant with newKey, which
// from then on wraps new keys too. Each tenant is re-wrapped in one
// transaction; if RotateMaster fails part way, the tenants done so far are
// wrapped by newKey and the others by the old key: call it again (with the
// old key as the store's master key) to finish. Tenants already wrapped by
// newKey are skipped. Shredded tenants have no keys to re-wrap.
func (db *DB) RotateMaster(ctx context.Context, newKey []byte) (tenants int, err error) {
	nm, err := newMaster(newKey)
	if err != nil {
		return 0, fmt.Errorf("rotate master key: %w", err)
	}
	db.keyMu.Lock()
	if db.current == nil {
		db.keyMu.Unlock()
		return 0, fmt.Errorf("rotate master key: %w", ErrNoMasterKey)
	}
	db.masters[nm.fp] = nm
	db.current = nm // new tenants are wrapped by the new key from now on
	db.keyMu.Unlock()

	ids, err := db.Tenants()
	if err != nil {
		return 0, fmt.Errorf("rotate master key: %w", err)
	}
	for _, t := range ids {
		if err := db.rewrap(ctx, t, nm); err != nil {
			return tenants, fmt.Errorf("rotate master key: tenant %s: %w", t, err)
		}
		tenants++
	}
	db.keyMu.Lock()
	for fp := range db.masters {
		if fp != nm.fp {
			delete(db.masters, fp) // old keys open nothing any more
		}
	}
	db.keyMu.Unlock()
	db.log.Info("rotated master key", "tenants", tenants, "fingerprint", fmt.Sprintf("%x", nm.fp))
	return tenants, nil
}

func (db *DB) rewrap(ctx context.Context, tenant tierzero.TenantID, nm *master) error {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return err
	}
	defer db.release(f)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(keysBucket)
		if b == nil {
			return nil
		}
		type kv struct{ k, v []byte }
		var puts []kv
		c := b.Cursor()
		for k, w := c.First(); k != nil; k, w = c.Next() {
			if !(k[0] == 'd' && len(k) == 1+keyIDSize) && string(k) != string(indexKeyName) && string(k) != string(auditKeyName) {
				continue
			}
			fp, err := wrappedBy(w)
			if err != nil {
				return fmt.Errorf("%s: %w", keyName(k), err)
			}
			if fp == nm.fp {
				continue
			}
			key, err := db.unwrap(tenant, k, w)
			if err != nil {
				return err
			}
			puts = append(puts, kv{append([]byte(nil), k...), nm.wrap(tenant, k, key)})
		}
		for _, p := range puts {
			if err := b.Put(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Shred destroys every data key and the index key of tenant and returns how
// many data keys it destroyed: every value of the tenant (conversations,
// audit events, intents), and what other tenants' files hold sealed under
// its keys (an MSP technician's memory of it), becomes unreadable for good;
// other tenants' own data is untouched. The audit key is kept, so the
// audit chain still verifies (it is over ciphertext). The tenant's file is
// then compacted into a new file, so the wrapped keys do not linger in its
// free pages, and the old file is overwritten with zeros. Storage that keeps
// old blocks (SSDs, copy-on-write file systems, backups) may still hold
// wrapped keys: rotating the master key afterwards makes them useless.
// Later writes for the tenant are refused (EConflict); reads fail.
func (db *DB) Shred(ctx context.Context, tenant tierzero.TenantID) (keys int, err error) {
	err = db.exclusive(ctx, tenant, func(path string) error {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", tenant)
			}
			return err
		}
		bdb, err := openBolt(tenant, path, db.timeout)
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("open %s: file lock not acquired within %s; another tierzero process may hold it: %w", path, db.timeout, err)
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer func() {
			if bdb != nil {
				bdb.Close()
			}
		}()
		err = bdb.Update(func(tx *bolt.Tx) error {
			var seq uint64
			var audit []byte // the audit key outlives the data keys
			if b := tx.Bucket(keysBucket); b != nil {
				seq = b.Sequence()
				audit = bytes.Clone(b.Get(auditKeyName))
				c := b.Cursor()
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
					if k[0] == 'd' && len(k) == 1+keyIDSize {
						keys++
					}
				}
				if err := tx.DeleteBucket(keysBucket); err != nil {
					return err
				}
			}
			b, err := tx.CreateBucket(keysBucket)
			if err != nil {
				return err
			}
			if err := b.SetSequence(seq); err != nil { // key ids are never reused
				return err
			}
			if audit != nil {
				if err := b.Put(auditKeyName, audit); err != nil {
					return err
				}
			}
			return b.Put(shreddedKey, []byte(db.now().UTC().Format(time.RFC3339)))
		})
		if err != nil {
			return fmt.Errorf("destroy keys: %w", err)
		}
		// Compact into a new file, swap it in while the old one is still
		// locked, then zero the old one. A crash at any point leaves a valid
		// tenant file whose keys are gone.
		tmp := path + ".shred"
		os.Remove(tmp)
		dst, err := openBolt(tenant, tmp, db.timeout)
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		if err := bolt.Compact(dst, bdb, 0); err != nil {
			dst.Close()
			os.Remove(tmp)
			return fmt.Errorf("compact: %w", err)
		}
		if err := dst.Close(); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("compact: %w", err)
		}
		old, err := openNoFollow(path, os.O_WRONLY)
		if err != nil {
			os.Remove(tmp)
			return err
		}
		defer old.Close()
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("compact: %w", err)
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			return err
		}
		err = bdb.Close()
		bdb = nil
		if err != nil {
			return err
		}
		if err := zeroFile(old); err != nil {
			return fmt.Errorf("overwrite the old file: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("shred tenant %s: %w", tenant, err)
	}
	db.log.Info("shredded tenant keys", "tenant", tenant, "data_keys", keys)
	return keys, nil
}
