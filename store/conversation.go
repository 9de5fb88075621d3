package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The conversations bucket maps HMAC(index key, conversation id) to the
// sealed JSON of the conversation: ids derived from messages do not leak.
//
// A conversation of one tenant may hold data of others: an MSP technician's
// memory holds what Graph returned about a client's users. Once any turn of
// a conversation holds a call into another tenant (ToolCall.Tenant), its
// turns are kept sealed under the data key of each such tenant in turn (the
// tenants listed in About, innermost first), inside the tenant's own seal.
// Shredding any of those tenants makes the turns unreadable for good: the
// conversation then reads as empty. A tenant stays in About as long as the
// conversation is kept, since later turns may quote what it returned.
var conversationsBucket = []byte("conversations")

// memoryLayer names the seal of a conversation's turns under another
// tenant's data key (no bucket of that name exists).
var memoryLayer = []byte("memory_of_other_tenant")

// storedConversation is a conversation as stored.
type storedConversation struct {
	tierzero.Conversation
	// About are the other tenants whose data the turns may hold; when set,
	// Turns is empty and Sealed holds them.
	About  []tierzero.TenantID `json:"about,omitempty"`
	Sealed []byte              `json:"sealedTurns,omitempty"`
}

// Conversation returns tenant's stored conversation id, or a new empty one
// (ID and Tenant set, no turns) when none is stored. Reading never creates a
// tenant file. A conversation whose turns are sealed under a tenant since
// shredded reads as empty.
func (db *DB) Conversation(ctx context.Context, tenant tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	if err := db.settle(ctx, tenant, true); err != nil {
		return tierzero.Conversation{}, err
	}
	if err := validConversationID(id); err != nil {
		return tierzero.Conversation{}, err
	}
	empty := tierzero.Conversation{ID: id, Tenant: tenant}
	var sc storedConversation
	key, ok, err := db.loadConversation(ctx, tenant, id, &sc)
	if err != nil {
		return tierzero.Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	if !ok {
		return empty, nil
	}
	c := sc.Conversation
	if len(sc.About) > 0 {
		plain, err := db.openLayers(ctx, tenant, memoryLayer, key, sc.About, sc.Sealed)
		if errors.Is(err, errLayerGone) {
			db.log.Info("conversation memory dropped: it was sealed under a tenant since shredded", "tenant", tenant, "about", sc.About, "err", err)
			return empty, nil
		}
		if err != nil {
			return tierzero.Conversation{}, fmt.Errorf("load conversation %s: %w", id, err)
		}
		if err := json.Unmarshal(plain, &c.Turns); err != nil {
			return tierzero.Conversation{}, fmt.Errorf("load conversation %s: %w", id, err)
		}
	}
	return c, nil
}

// conversationRecord is what a stored conversation is decoded into: all of
// it (storedConversation), or what SaveConversation needs of the version it
// replaces (conversationHeader).
type conversationRecord interface {
	names() (tierzero.TenantID, tierzero.ConversationID)
}

func (sc *storedConversation) names() (tierzero.TenantID, tierzero.ConversationID) {
	return sc.Tenant, sc.ID
}

// conversationHeader is a stored conversation without its turns.
type conversationHeader struct {
	ID     tierzero.ConversationID `json:"id"`
	Tenant tierzero.TenantID       `json:"tenant"`
	About  []tierzero.TenantID     `json:"about,omitempty"`
}

func (h *conversationHeader) names() (tierzero.TenantID, tierzero.ConversationID) {
	return h.Tenant, h.ID
}

// loadConversation reads and opens (with the tenant's own key) a stored
// conversation into rec; ok is false when there is none. key is its record
// key.
func (db *DB) loadConversation(ctx context.Context, tenant tierzero.TenantID, id tierzero.ConversationID, rec conversationRecord) (key []byte, ok bool, err error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return nil, false, err
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return nil, false, err // a file without keys holds no values
	}
	key = kr.mac(string(conversationsBucket), string(id))
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
	if err != nil || plain == nil {
		return key, false, err
	}
	if err := json.Unmarshal(plain, rec); err != nil {
		return key, false, fmt.Errorf("conversation %s: %w", id, err)
	}
	if t, c := rec.names(); t != tenant || c != id {
		return key, false, fmt.Errorf("conversation %s: stored record names tenant %q, conversation %q", id, t, c)
	}
	return key, true, nil
}

// errLayerGone is wrapped by errors about a layer sealed under a tenant
// whose keys are gone (shredded, or its file removed).
var errLayerGone = errors.New("the keys of a tenant it was sealed under are gone")

// layerKey binds a layer to the tenant and record it is kept in.
func layerKey(tenant tierzero.TenantID, key []byte) []byte {
	return appendFields([]byte(tenant), key)
}

// otherKeyring returns the keyring of another tenant for a layer; with
// create, a tenant without keys gets them. A shredded tenant (or, when
// reading, one without a file or keys) is errLayerGone.
func (db *DB) otherKeyring(ctx context.Context, other tierzero.TenantID, create bool, fn func(*keyring) error) error {
	f, err := db.acquire(ctx, other, create)
	if err != nil {
		return err
	}
	if f == nil {
		return fmt.Errorf("tenant %s has no file: %w", other, errLayerGone)
	}
	defer db.release(f)
	kr, err := db.keyring(f, create)
	if errors.Is(err, ErrShredded) {
		return fmt.Errorf("tenant %s was shredded: %w", other, errLayerGone)
	}
	if err != nil {
		return err
	}
	if kr == nil {
		return fmt.Errorf("tenant %s has no keys: %w", other, errLayerGone)
	}
	return fn(kr)
}

// openLayers removes the layers of sealed (named layer, for record key
// of tenant), outermost (last of about) first.
func (db *DB) openLayers(ctx context.Context, tenant tierzero.TenantID, layer, key []byte, about []tierzero.TenantID, sealed []byte) ([]byte, error) {
	lk := layerKey(tenant, key)
	for i := len(about) - 1; i >= 0; i-- {
		err := db.otherKeyring(ctx, about[i], false, func(kr *keyring) error {
			var err error
			sealed, err = kr.unseal(layer, lk, sealed)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return sealed, nil
}

// sealLayers seals plain under each tenant of about, the first innermost,
// as layer for record key of tenant.
func (db *DB) sealLayers(ctx context.Context, tenant tierzero.TenantID, layer, key []byte, about []tierzero.TenantID, plain []byte) ([]byte, error) {
	lk := layerKey(tenant, key)
	for _, other := range about {
		err := db.otherKeyring(ctx, other, true, func(kr *keyring) error {
			var err error
			plain, err = kr.seal(layer, lk, plain)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return plain, nil
}

// callTenants returns the tenants other than tenant that calls in turns
// act in, sorted.
func callTenants(tenant tierzero.TenantID, turns []tierzero.Turn) []tierzero.TenantID {
	var out []tierzero.TenantID
	for _, t := range turns {
		for _, c := range t.ToolCalls {
			// An id that is not a tenant's names no data.
			if c.Tenant != "" && c.Tenant != tenant && tierzero.ValidTenantID(c.Tenant) == nil && !slices.Contains(out, c.Tenant) {
				out = append(out, c.Tenant)
			}
		}
	}
	slices.Sort(out)
	return out
}

// dropCallsInto removes from turns the calls into other and the results
// that answer them: what a shredded tenant returned is never stored again.
func dropCallsInto(other tierzero.TenantID, turns []tierzero.Turn) []tierzero.Turn {
	gone := map[string]bool{}
	out := make([]tierzero.Turn, 0, len(turns))
	for _, t := range turns {
		if t.Role == tierzero.TurnTool && gone[t.ToolCallID] {
			continue
		}
		if len(t.ToolCalls) > 0 {
			var keep []tierzero.ToolCall
			for _, c := range t.ToolCalls {
				if c.Tenant == other {
					gone[c.ID] = true
				} else {
					keep = append(keep, c)
				}
			}
			if len(keep) == 0 && t.Content == "" {
				continue
			}
			if len(keep) == 0 && t.Role == tierzero.TurnPlan {
				t.Role = tierzero.TurnAssistant
				t.Settled = true
			}
			t.ToolCalls = keep
		}
		out = append(out, t)
	}
	return out
}

// SaveConversation stores c in tenant's file, replacing any previous version,
// with Updated set to Now. c.Tenant must equal tenant. Turns holding calls
// into other tenants are sealed under those tenants' keys too (see
// conversationsBucket); calls into a shredded tenant and their results are
// not stored.
func (db *DB) SaveConversation(ctx context.Context, tenant tierzero.TenantID, c tierzero.Conversation) error {
	if c.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "conversation of tenant %q saved to tenant %q", c.Tenant, tenant)
	}
	if err := validConversationID(c.ID); err != nil {
		return err
	}
	// Of the version replaced, only the tenants its turns are sealed under
	// are needed: its turns are not decoded.
	var prev conversationHeader
	_, _, err := db.loadConversation(ctx, tenant, c.ID, &prev)
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.ID, err)
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
	key := kr.mac(string(conversationsBucket), string(c.ID))
	c.Updated = db.now()
	sc := storedConversation{Conversation: c}
	about := callTenants(tenant, c.Turns)
	for _, t := range prev.About {
		if !slices.Contains(about, t) {
			about = append(about, t)
		}
	}
	slices.Sort(about)
	if len(about) > 0 {
		turns := c.Turns
		var kept []tierzero.TenantID
		for _, other := range about {
			err := db.otherKeyring(ctx, other, true, func(*keyring) error { return nil })
			switch {
			case errors.Is(err, errLayerGone):
				turns = dropCallsInto(other, turns)
				db.log.Info("conversation memory: calls into a shredded tenant not stored", "tenant", tenant, "shredded", other)
			case err != nil:
				return fmt.Errorf("save conversation %s: tenant %s: %w", c.ID, other, err)
			default:
				kept = append(kept, other)
			}
		}
		if len(kept) > 0 {
			plain, err := json.Marshal(turns)
			if err != nil {
				return fmt.Errorf("save conversation %s: %w", c.ID, err)
			}
			if sc.Sealed, err = db.sealLayers(ctx, tenant, memoryLayer, key, kept, plain); err != nil {
				return fmt.Errorf("save conversation %s: %w", c.ID, err)
			}
			sc.About, sc.Turns = kept, nil
		} else {
			sc.Turns = turns
		}
	}
	plain, err := json.Marshal(sc)
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.ID, err)
	}
	err = db.write(ctx, f, kr, writeDeferred, false, func(tx *bolt.Tx, _ *chain) error {
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
