package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// Lifecycle plans live in "plans" (HMAC(index key, id) to the sealed JSON of
// the tierzero.Plan) and, until their report is given, in "plans_open" (the
// same key, no value), so that a process at start resumes only those.
var (
	plansBucket     = []byte("plans")
	openPlansBucket = []byte("plans_open")
)

// PutPlan records a plan's progress, replacing what was recorded under its
// id, and syncs it before it returns: a step marked running is on disk
// before its call goes to the Guard. A plan with Finished set leaves the
// open plans.
func (db *DB) PutPlan(ctx context.Context, tenant tierzero.TenantID, p tierzero.Plan) error {
	if p.ID == "" || len(p.ID) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid plan id: want 1 to %d bytes", maxIDLen)
	}
	if p.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "plan %s is of tenant %q, not %q", p.ID, p.Tenant, tenant)
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("put plan: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("put plan: %w", err)
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put plan %s: %w", p.ID, err)
	}
	key := kr.mac(string(plansBucket), p.ID)
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		return putRecord(tx, kr, plansBucket, openPlansBucket, key, plain, p.Finished.IsZero())
	})
	if err != nil {
		return fmt.Errorf("put plan %s: %w", p.ID, err)
	}
	return nil
}

// Plan returns the plan recorded under id, and whether there is one.
func (db *DB) Plan(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Plan, bool, error) {
	var p tierzero.Plan
	if id == "" || len(id) > maxIDLen {
		return p, false, tierzero.Errorf(tierzero.EInvalid, "invalid plan id")
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return p, false, err
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return p, false, err
	}
	key := kr.mac(string(plansBucket), id)
	found := false
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(plansBucket)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		plain, err := kr.unseal(plansBucket, key, v)
		if err != nil {
			return err
		}
		found = true
		return json.Unmarshal(plain, &p)
	})
	if err != nil {
		return p, false, fmt.Errorf("load plan %s: %w", id, err)
	}
	return p, found, nil
}

// OpenPlans returns the plans of tenant whose report was not given yet,
// oldest first: the plans to resume at start.
func (db *DB) OpenPlans(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Plan, error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return nil, err
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return nil, err
	}
	out, err := openRecords[tierzero.Plan](f, kr, openPlansBucket, plansBucket, "open plan")
	if err != nil {
		return nil, fmt.Errorf("open plans: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// IntentsOf returns the intents of tenant recorded in conversation conv for
// action with exactly the canonical arguments args, oldest first: how a
// plan finds, after a crash, the intent of the step that was running (the
// Guard names intents by its permit's nonce, which the plan never learns).
func (db *DB) IntentsOf(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, action string, args json.RawMessage) ([]tierzero.Intent, error) {
	if err := db.settle(ctx, tenant, true); err != nil {
		return nil, err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return nil, err
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return nil, err
	}
	var out []tierzero.Intent
	err = eachRecord(f, kr, intentsBucket, func(in tierzero.Intent) {
		if in.Conversation == conv && in.Action == action && string(in.Args) == string(args) {
			out = append(out, in)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("intents of %s: %w", action, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}
