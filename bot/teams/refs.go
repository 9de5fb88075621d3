package teams

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/tierzero/tierzero"
)

// The adapter's references, kept in each tenant's file under its own keys:
//
//	teams:personal:<object id>  the user's personal chat with the bot
//	teams:user:<object id>      where the user last wrote from (their 29: id and service URL)
//	teams:service               the tenant's last service URL
//	teams:approval:<id>         an approval card: what it shows and every copy posted

func personalKey(oid string) string { return "teams:personal:" + strings.ToLower(oid) }
func userKey(oid string) string     { return "teams:user:" + strings.ToLower(oid) }
func approvalKey(id string) string  { return "teams:approval:" + id }

const serviceKey = "teams:service"

func (a *Adapter) loadRef(ctx context.Context, t tierzero.TenantID, key string) (schema.ConversationReference, bool) {
	var ref schema.ConversationReference
	raw, ok, err := a.cfg.Refs.Ref(ctx, t, key)
	if err != nil {
		a.log.Warn("load teams reference", "tenant", t, "err", err)
		return ref, false
	}
	if !ok || json.Unmarshal(raw, &ref) != nil {
		return ref, false
	}
	return ref, true
}

func (a *Adapter) putRef(ctx context.Context, t tierzero.TenantID, key string, ref schema.ConversationReference) {
	raw, err := json.Marshal(ref)
	if err == nil {
		err = a.cfg.Refs.PutRef(ctx, t, key, raw)
	}
	if err != nil {
		a.log.Warn("keep teams reference", "tenant", t, "err", err)
	}
}

// same reports whether two references reach the same place the same way.
func same(x, y schema.ConversationReference) bool {
	return x.ServiceURL == y.ServiceURL && x.Conversation.ID == y.Conversation.ID && x.User.ID == y.User.ID && x.Bot.ID == y.Bot.ID
}

// remember keeps what a verified activity says about how to reach its
// sender and tenant later: the tenant's service URL, the sender's personal
// chat or where they last wrote from. A reference is written only when it
// changed (each write is a synced transaction).
func (a *Adapter) remember(ctx context.Context, t Tenant, act *activity) {
	ref := act.reference(t.EntraID)
	ref.ActivityID = "" // a new message, not a reply
	if old, ok := a.loadRef(ctx, t.ID, serviceKey); !ok || old.ServiceURL != ref.ServiceURL {
		a.putRef(ctx, t.ID, serviceKey, schema.ConversationReference{ServiceURL: ref.ServiceURL, ChannelID: ref.ChannelID})
	}
	oid := act.From.AadObjectID
	if oid == "" || act.From.ID == "" || act.From.ID == act.Recipient.ID {
		return
	}
	key := userKey(oid)
	if act.personal() {
		ref.Conversation.ConversationType = "personal"
		key = personalKey(oid)
	}
	if old, ok := a.loadRef(ctx, t.ID, key); !ok || !same(old, ref) {
		a.putRef(ctx, t.ID, key, ref)
	}
}

// serviceURL is the tenant's last known service URL.
func (a *Adapter) serviceURL(ctx context.Context, t tierzero.TenantID) string {
	ref, _ := a.loadRef(ctx, t, serviceKey)
	return ref.ServiceURL
}

// personal returns the personal chat of the user oid of tenant t: the one
// kept, the hint when it is that chat, else a new one (POST
// /v3/conversations), kept for next time. Nothing else is ever returned:
// what is sent there is for that user alone.
func (a *Adapter) personal(ctx context.Context, t Tenant, oid string, hint json.RawMessage) (schema.ConversationReference, error) {
	if oid == "" {
		return schema.ConversationReference{}, errors.New("teams: the user has no Entra object id: no personal chat can be found")
	}
	if ref, ok := a.loadRef(ctx, t.ID, personalKey(oid)); ok && ref.Conversation.ID != "" {
		return ref, nil
	}
	var h schema.ConversationReference
	if len(hint) > 0 {
		json.Unmarshal(hint, &h)
	}
	mine := h.User.AadObjectID != "" && strings.EqualFold(h.User.AadObjectID, oid)
	if mine && h.Conversation.ConversationType == "personal" && h.Conversation.ID != "" {
		h.ActivityID = ""
		a.putRef(ctx, t.ID, personalKey(oid), h)
		return h, nil
	}
	var userID, serviceURL string
	if mine {
		userID, serviceURL = h.User.ID, h.ServiceURL
	}
	if u, ok := a.loadRef(ctx, t.ID, userKey(oid)); ok {
		userID = cmp.Or(userID, u.User.ID)
		serviceURL = cmp.Or(serviceURL, u.ServiceURL)
	}
	serviceURL = cmp.Or(serviceURL, a.serviceURL(ctx, t.ID))
	if serviceURL == "" {
		return schema.ConversationReference{}, fmt.Errorf("teams: no service URL known for tenant %s yet (nobody has written to the bot there)", t.ID)
	}
	// Teams takes the Entra object id of a user who has the app when the
	// 29: id is not known.
	member := cmp.Or(userID, oid)
	resp, err := a.conn.CreateConversation(ctx, serviceURL, conversationParams{
		Bot: schema.ChannelAccount{ID: a.botID()}, Members: []schema.ChannelAccount{{ID: member}},
		TenantID: t.EntraID, ChannelData: map[string]any{"tenant": map[string]string{"id": t.EntraID}},
	})
	if err != nil {
		return schema.ConversationReference{}, fmt.Errorf("create a personal chat: %w", err)
	}
	ref := schema.ConversationReference{
		User:         schema.ChannelAccount{ID: member, AadObjectID: oid},
		Bot:          schema.ChannelAccount{ID: a.botID()},
		Conversation: schema.ConversationAccount{ID: resp.ID, ConversationType: "personal", TenantID: t.EntraID},
		ChannelID:    "msteams", ServiceURL: serviceURL,
	}
	a.putRef(ctx, t.ID, personalKey(oid), ref)
	return ref, nil
}
