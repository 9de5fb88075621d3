package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The outbox bucket holds the messages the desk owes: HMAC(index key, id) to
// the sealed JSON of an outboundRecord. A private note's secret is inside
// the sealed plaintext and nowhere else.
var outboxBucket = []byte("outbox")

// outboundRecord is how a tierzero.Outbound is stored. It spells out every
// field rather than embedding the Outbound, whose Secret is left out of JSON
// (and whose JSON might one day be customized): the secret's value must be
// kept, and kept only here, inside the seal.
type outboundRecord struct {
	ID           string                  `json:"id"`
	Tenant       tierzero.TenantID       `json:"tenant"`
	Channel      tierzero.Channel        `json:"channel"`
	Conversation tierzero.ConversationID `json:"conversation,omitempty"`
	Ref          json.RawMessage         `json:"ref,omitempty"`
	To           tierzero.Requester      `json:"to"`
	Text         string                  `json:"text,omitempty"`
	Secret       *secretRecord           `json:"secret,omitempty"`
	Attempts     int                     `json:"attempts,omitempty"`
	Next         time.Time               `json:"next,omitzero"`
	Created      time.Time               `json:"created"`
}

type secretRecord struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
	Value string `json:"value"`
}

func newOutboundRecord(o tierzero.Outbound) outboundRecord {
	r := outboundRecord{
		ID: o.ID, Tenant: o.Tenant, Channel: o.Channel, Conversation: o.Conversation, Ref: o.Ref,
		To: o.To, Text: o.Text, Attempts: o.Attempts, Next: o.Next, Created: o.Created,
	}
	if !o.Secret.IsZero() {
		r.Secret = &secretRecord{Kind: o.Secret.Kind, Label: o.Secret.Label, Value: o.Secret.Reveal()}
	}
	return r
}

func (r outboundRecord) outbound() tierzero.Outbound {
	o := tierzero.Outbound{
		ID: r.ID, Tenant: r.Tenant, Channel: r.Channel, Conversation: r.Conversation, Ref: r.Ref,
		To: r.To, Text: r.Text, Attempts: r.Attempts, Next: r.Next, Created: r.Created,
	}
	if r.Secret != nil {
		o.Secret = tierzero.NewSecret(r.Secret.Kind, r.Secret.Label, r.Secret.Value)
	}
	return o
}

func validOutboundID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid outbound id: want 1 to %d bytes", maxIDLen)
	}
	return nil
}

// PutOutbound stores o in tenant's outbox, replacing the one with the same
// ID, and syncs it. o.ID must be set and o.Tenant must be tenant; a zero
// o.Created is set to Now. The secret of a private note is sealed with the
// rest.
func (db *DB) PutOutbound(ctx context.Context, tenant tierzero.TenantID, o tierzero.Outbound) error {
	if o.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "outbound message of tenant %q stored for tenant %q", o.Tenant, tenant)
	}
	if err := validOutboundID(o.ID); err != nil {
		return err
	}
	if len(o.Conversation) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid conversation id: want at most %d bytes", maxIDLen)
	}
	if len(o.Ref) > 0 && !json.Valid(o.Ref) {
		return tierzero.Errorf(tierzero.EInvalid, "conversation reference is not JSON")
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("put outbound: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("put outbound: %w", err)
	}
	if o.Created.IsZero() {
		o.Created = db.now()
	}
	plain, err := json.Marshal(newOutboundRecord(o))
	if err != nil {
		return fmt.Errorf("put outbound %s: %w", o.ID, err)
	}
	key := kr.mac(string(outboxBucket), o.ID)
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		b, err := tx.CreateBucketIfNotExists(outboxBucket)
		if err != nil {
			return err
		}
		sealed, err := kr.seal(outboxBucket, key, plain)
		if err != nil {
			return err
		}
		return b.Put(key, sealed)
	})
	if err != nil {
		return fmt.Errorf("put outbound %s: %w", o.ID, err)
	}
	return nil
}

// Outbox returns tenant's outbox, oldest Created first (ties by ID), secrets
// restored. Reading never creates a tenant file.
func (db *DB) Outbox(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Outbound, error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if f == nil {
		return nil, nil
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if kr == nil {
		return nil, nil
	}
	var out []tierzero.Outbound
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(outboxBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			plain, err := kr.unseal(outboxBucket, k, v)
			if err != nil {
				return err
			}
			var r outboundRecord
			if err := json.Unmarshal(plain, &r); err != nil {
				return fmt.Errorf("outbound record %x: %w", k, err)
			}
			if r.Tenant != tenant {
				return fmt.Errorf("outbound record %x names tenant %q", k, r.Tenant)
			}
			out = append(out, r.outbound())
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteOutbound removes the outbound message id from tenant's outbox, once
// its channel has delivered it. Removing a missing one is not an error.
func (db *DB) DeleteOutbound(ctx context.Context, tenant tierzero.TenantID, id string) error {
	if err := validOutboundID(id); err != nil {
		return err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return fmt.Errorf("delete outbound: %w", err)
	}
	if f == nil {
		return nil
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return fmt.Errorf("delete outbound: %w", err)
	}
	if kr == nil {
		return nil
	}
	key := kr.mac(string(outboxBucket), id)
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		b := tx.Bucket(outboxBucket)
		if b == nil {
			return nil
		}
		return b.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("delete outbound %s: %w", id, err)
	}
	return nil
}
