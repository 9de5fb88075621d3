package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

var conversationsBucket = []byte("conversations")

// Conversation returns tenant's stored conversation id, or a new empty one
// (ID and Tenant set, no turns) when none is stored. Reading never creates a
// tenant file.
func (db *DB) Conversation(ctx context.Context, tenant tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	if err := validConversationID(id); err != nil {
		return tierzero.Conversation{}, err
	}
	empty := tierzero.Conversation{ID: id, Tenant: tenant}
	bdb, err := db.tenant(ctx, tenant, false)
	if err != nil {
		return tierzero.Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	if bdb == nil {
		return empty, nil
	}
	key := []byte(id)
	var plain []byte
	err = bdb.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(conversationsBucket)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		var err error
		plain, err = db.unseal(tenant, conversationsBucket, key, v) // copies out of the tx
		return err
	})
	if err != nil {
		return tierzero.Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	if plain == nil {
		return empty, nil
	}
	var c tierzero.Conversation
	if err := json.Unmarshal(plain, &c); err != nil {
		return tierzero.Conversation{}, fmt.Errorf("load conversation %s: %w", id, err)
	}
	if c.Tenant != tenant || c.ID != id {
		return tierzero.Conversation{}, fmt.Errorf("load conversation %s: stored record names tenant %q, conversation %q", id, c.Tenant, c.ID)
	}
	return c, nil
}

// SaveConversation stores c in tenant's file, replacing any previous version,
// with Updated set to Now. c.Tenant must equal tenant.
func (db *DB) SaveConversation(ctx context.Context, tenant tierzero.TenantID, c tierzero.Conversation) error {
	if c.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "conversation of tenant %q saved to tenant %q", c.Tenant, tenant)
	}
	if err := validConversationID(c.ID); err != nil {
		return err
	}
	bdb, err := db.tenant(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("save conversation: %w", err)
	}
	c.Updated = db.now()
	plain, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.ID, err)
	}
	key := []byte(c.ID)
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(conversationsBucket)
		if err != nil {
			return err
		}
		val, err := db.seal(tenant, conversationsBucket, key, plain)
		if err != nil {
			return err
		}
		return b.Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.ID, err)
	}
	return nil
}

func validConversationID(id tierzero.ConversationID) error {
	if id == "" || len(id) > bolt.MaxKeySize {
		return tierzero.Errorf(tierzero.EInvalid, "invalid conversation id: want 1 to %d bytes", bolt.MaxKeySize)
	}
	return nil
}
