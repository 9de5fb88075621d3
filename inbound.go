package tierzero

import (
	"encoding/json"
	"time"
)

// PlatformUser is the identity a chat platform verified for a message: a
// Teams token's user (ObjectID is from.aadObjectId), a Slack user mapped to
// an Entra user through its verified e-mail, the console's --as. It is never
// read from message text.
type PlatformUser struct {
	ID          string `json:"id,omitempty"`       // the platform's own id (Slack U..., Teams 29:...)
	UPN         string `json:"upn,omitempty"`      // the Entra user principal name, when the platform vouches for it
	ObjectID    string `json:"objectId,omitempty"` // the Entra object id, when the platform gives it
	DisplayName string `json:"displayName,omitempty"`
}

// Inbound is one verified message from a chat platform, as a channel
// adapter hands it to the desk (package bot). Tenant is the tenant the
// platform's verified workspace or directory maps to in the configuration;
// Delivery is the platform's delivery id (Slack event_id, Teams activity id)
// that a redelivery repeats; Ref is the channel's opaque reference for
// reaching the conversation later (a proactive message).
type Inbound struct {
	Delivery     string          `json:"delivery,omitempty"`
	Channel      Channel         `json:"channel"`
	Tenant       TenantID        `json:"tenant"`
	Conversation ConversationID  `json:"conversation"`
	User         PlatformUser    `json:"user"`
	Text         string          `json:"text"`
	Time         time.Time       `json:"time"`
	Ref          json.RawMessage `json:"ref,omitempty"`
}

// InboxItem is an Inbound kept in its tenant's durable inbox between the
// platform's ack and the work: Seq orders a tenant's items by arrival;
// Started is set when the work began (an item found started after a restart
// was interrupted and is not run again).
type InboxItem struct {
	Seq     uint64    `json:"seq"`
	Inbound Inbound   `json:"inbound"`
	Started time.Time `json:"started,omitzero"`
}

// Outbound is a message the desk owes someone: an answer to a thread, an
// approval outcome told to its requester later, a secret for the requester
// alone. It is kept in its tenant's durable outbox (sealed, like every
// value of the store) until its channel has delivered it.
type Outbound struct {
	ID           string          `json:"id"`
	Tenant       TenantID        `json:"tenant"`
	Channel      Channel         `json:"channel"`
	Conversation ConversationID  `json:"conversation,omitempty"`
	Ref          json.RawMessage `json:"ref,omitempty"`
	// To is the person a private note is for; Secret is the note.
	To     Requester `json:"to"`
	Text   string    `json:"text,omitempty"`
	Secret Secret    `json:"-"`
	// Attempts counts failed deliveries; Next is when to try again.
	Attempts int       `json:"attempts,omitempty"`
	Next     time.Time `json:"next,omitzero"`
	Created  time.Time `json:"created"`
}

// Private reports whether o is a note for one person rather than a post to
// a conversation.
func (o Outbound) Private() bool { return !o.Secret.IsZero() }
