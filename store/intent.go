package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// Intents live in "intents" (HMAC(index key, id) to the sealed JSON of the
// tierzero.Intent) and, while they have no outcome, in "intents_open" (the
// same key, no value), so that reconciliation reads only the open ones.
var (
	intentsBucket     = []byte("intents")
	openIntentsBucket = []byte("intents_open")
)

// BeginIntent records a write action before it runs. It fails with
// EConflict when an intent with the same ID exists (done, failed or open):
// the action must then not run again. The intent is synced before
// BeginIntent returns; Started is set to Now when zero.
func (db *DB) BeginIntent(ctx context.Context, tenant tierzero.TenantID, in tierzero.Intent) error {
	if in.ID == "" || len(in.ID) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid intent id: want 1 to %d bytes", maxIDLen)
	}
	if in.Action == "" {
		return tierzero.Errorf(tierzero.EInvalid, "intent %s has no action", in.ID)
	}
	if in.Outcome != "" {
		return tierzero.Errorf(tierzero.EInvalid, "intent %s begins with outcome %q", in.ID, in.Outcome)
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("begin intent: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("begin intent: %w", err)
	}
	if in.Started.IsZero() {
		in.Started = db.now()
	}
	plain, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("begin intent %s: %w", in.ID, err)
	}
	key := kr.mac(string(intentsBucket), in.ID)
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		if b := tx.Bucket(intentsBucket); b != nil && b.Get(key) != nil {
			return tierzero.Errorf(tierzero.EConflict, "intent %s already recorded", in.ID)
		}
		return putRecord(tx, kr, intentsBucket, openIntentsBucket, key, plain, true)
	})
	if err != nil {
		return fmt.Errorf("begin intent %s: %w", in.ID, err)
	}
	return nil
}

// FinishIntent records the outcome of an intent: done, failed or
// needs_review. An unknown id is ENotFound; an intent that already has an
// outcome is EConflict.
func (db *DB) FinishIntent(ctx context.Context, tenant tierzero.TenantID, id string, outcome tierzero.IntentOutcome, detail string) error {
	switch outcome {
	case tierzero.IntentDone, tierzero.IntentFailed, tierzero.IntentNeedsReview:
	default:
		return tierzero.Errorf(tierzero.EInvalid, "intent outcome %q: want done, failed or needs_review", outcome)
	}
	if id == "" || len(id) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid intent id: want 1 to %d bytes", maxIDLen)
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("finish intent: %w", err)
	}
	if f == nil {
		return tierzero.Errorf(tierzero.ENotFound, "no intent %s in tenant %s", id, tenant)
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return fmt.Errorf("finish intent: %w", err)
	}
	if kr == nil {
		return tierzero.Errorf(tierzero.ENotFound, "no intent %s in tenant %s", id, tenant)
	}
	key := kr.mac(string(intentsBucket), id)
	err = db.write(ctx, f, kr, writeDeferred, false, func(tx *bolt.Tx, _ *chain) error {
		b := tx.Bucket(intentsBucket)
		var v []byte
		if b != nil {
			v = b.Get(key)
		}
		if v == nil {
			return tierzero.Errorf(tierzero.ENotFound, "no intent %s in tenant %s", id, tenant)
		}
		plain, err := kr.unseal(intentsBucket, key, v)
		if err != nil {
			return err
		}
		var in tierzero.Intent
		if err := json.Unmarshal(plain, &in); err != nil {
			return err
		}
		if in.ID != id {
			return fmt.Errorf("stored intent names id %q", in.ID)
		}
		if in.Outcome != "" {
			return tierzero.Errorf(tierzero.EConflict, "intent %s already finished as %s", id, in.Outcome)
		}
		in.Outcome, in.Detail, in.Finished = outcome, detail, db.now()
		if plain, err = json.Marshal(in); err != nil {
			return err
		}
		sealed, err := kr.seal(intentsBucket, key, plain)
		if err != nil {
			return err
		}
		if err := b.Put(key, sealed); err != nil {
			return err
		}
		if open := tx.Bucket(openIntentsBucket); open != nil {
			return open.Delete(key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish intent %s: %w", id, err)
	}
	return nil
}

// OpenIntents returns the intents of tenant that have no outcome yet, oldest
// first: the actions that may or may not have reached Graph before a crash,
// to reconcile at start.
func (db *DB) OpenIntents(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Intent, error) {
	if err := db.settle(ctx, tenant, true); err != nil {
		return nil, err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return nil, fmt.Errorf("open intents: %w", err)
	}
	if f == nil {
		return nil, nil
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return nil, fmt.Errorf("open intents: %w", err)
	}
	if kr == nil {
		return nil, nil
	}
	out, err := openRecords[tierzero.Intent](f, kr, openIntentsBucket, intentsBucket, "open intent")
	if err != nil {
		return nil, fmt.Errorf("open intents: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}

// putRecord seals plain into bucket under key and lists the key in the
// index bucket open while the record is open, or takes it out.
func putRecord(tx *bolt.Tx, kr *keyring, bucket, open, key, plain []byte, isOpen bool) error {
	b, err := tx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return err
	}
	idx, err := tx.CreateBucketIfNotExists(open)
	if err != nil {
		return err
	}
	sealed, err := kr.seal(bucket, key, plain)
	if err != nil {
		return err
	}
	if err := b.Put(key, sealed); err != nil {
		return err
	}
	if isOpen {
		return idx.Put(key, nil)
	}
	return idx.Delete(key)
}

// eachRecord reads the records of bucket, in key order, and hands each to
// fn.
func eachRecord[T any](f *tenantFile, kr *keyring, bucket []byte, fn func(T)) error {
	return f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			plain, err := kr.unseal(bucket, k, v)
			if err != nil {
				return err
			}
			var r T
			if err := json.Unmarshal(plain, &r); err != nil {
				return err
			}
			fn(r)
			return nil
		})
	})
}

// openRecords reads the records of bucket whose keys the index bucket open
// lists, in the index's order; what names a record in the error of a key
// without one.
func openRecords[T any](f *tenantFile, kr *keyring, open, bucket []byte, what string) ([]T, error) {
	var out []T
	err := f.view(func(tx *bolt.Tx) error {
		idx, b := tx.Bucket(open), tx.Bucket(bucket)
		if idx == nil || b == nil {
			return nil
		}
		return idx.ForEach(func(k, _ []byte) error {
			v := b.Get(k)
			if v == nil {
				return fmt.Errorf("%s %x has no record", what, k)
			}
			plain, err := kr.unseal(bucket, k, v)
			if err != nil {
				return err
			}
			var r T
			if err := json.Unmarshal(plain, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
