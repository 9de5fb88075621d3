package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The conversations bucket maps HMAC(index key, conversation id) to the
// sealed JSON of the conversation: ids derived from messages do not leak.
var conversationsBucket = []byte("conversations")

// Conversation returns tenant's stored conversation id, or a new empty one
// (ID and Tenant set, no turns) when none is stored. Reading never creates a
// tenant file.
func (db *DB) Conversation(ctx context.Context, tenant tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	if err := validConversationID(id); err != nil {
		return tierzero.Conversation{}, err
	}
	empty := tierzero.Conversation{ID: id, Tenant: tenant}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		return tierzero.Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	if f == nil {
		return empty, nil
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		return tierzero.Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	if kr == nil {
		return empty, nil // a file without keys holds no values
	}
	key := kr.mac(string(conversationsBucket), string(id))
	var plain []byte
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(conversationsBucket)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		var err error
		plain, err = kr.unseal(conversationsBucket, key, v) // copies out of the tx
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
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return fmt.Errorf("save conversation: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return fmt.Errorf("save conversation: %w", err)
	}
	c.Updated = db.now()
	plain, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.ID, err)
	}
	key := kr.mac(string(conversationsBucket), string(c.ID))
	err = f.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(conversationsBucket)
		if err != nil {
			return err
		}
		val, err := kr.seal(conversationsBucket, key, plain)
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

// maxIDLen bounds conversation, delivery and intent ids.
const maxIDLen = 1024

func validConversationID(id tierzero.ConversationID) error {
	if id == "" || len(id) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid conversation id: want 1 to %d bytes", maxIDLen)
	}
	return nil
}
