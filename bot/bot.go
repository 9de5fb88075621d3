// Package bot is the desk: the one conversation engine behind every chat
// channel. A channel adapter (bot/slack, bot/teams, bot/console) verifies and
// normalizes what its platform sends and hands it to the Desk; the desk
// dedupes deliveries, keeps them in a durable inbox, runs one request at a
// time per conversation on a bounded, tenant-fair worker pool, turns the
// platform user into a Requester (identity from configuration and the
// directory, never from text), asks the agent, and delivers what it owes
// people through the Responder of each channel: replies in the thread,
// secrets privately to the requester, approval requests to their approvers,
// and outcomes later (a durable outbox). It also owns the time-driven work:
// reconciliation at start, approval reminders and expiries, delivery retries.
package bot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tierzero/tierzero"
)

// Handler answers a normalized, verified message (agent.Agent).
type Handler interface {
	Handle(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error)
}

// Address is where a message goes: a conversation of a channel (with the
// channel's opaque reference, when it needs one to reach it later) and, for
// a private note, the person.
type Address struct {
	Tenant       tierzero.TenantID
	Channel      tierzero.Channel
	Conversation tierzero.ConversationID
	Ref          json.RawMessage
	// To is the person a private note is for.
	To tierzero.Requester
}

// ApprovalRequest is an approval request as its approvers are shown it.
type ApprovalRequest struct {
	Approval tierzero.Approval
	// Summary says what will run (a reminder says so first).
	Summary string
	// Approvers are the user principal names known to be eligible (the
	// target's manager, the tenant's admins, admitted technicians); an
	// approver named only by a group is reached through the channel's
	// approvals place, when it has one. Who may decide is checked again
	// when they do.
	Approvers []string
	Reminder  bool
}

// Responder delivers on one channel.
type Responder interface {
	// Reply posts text to a conversation, where others may see it.
	Reply(ctx context.Context, to Address, text string) error
	// Private delivers a note to to.To alone (a DM, the personal chat),
	// never to a channel others read.
	Private(ctx context.Context, to Address, note tierzero.PrivateNote) error
	// ShowApproval puts an approval request before its approvers, with a
	// way to approve or deny it, and returns who it was shown to.
	ShowApproval(ctx context.Context, r ApprovalRequest) (shownTo []string, err error)
	// ApprovalSettled updates every shown copy of an approval request with
	// its outcome.
	ApprovalSettled(ctx context.Context, a tierzero.Approval, outcome string) error
}

// Escalations receives what the agent cannot resolve (agent.Escalator): a
// ticketing system, or LogSink.
type Escalations interface {
	Escalate(ctx context.Context, e tierzero.Escalation) error
}

// Store is what the desk keeps in the tenants' files (store.DB).
type Store interface {
	tierzero.Auditor
	Accept(ctx context.Context, tenant tierzero.TenantID, in tierzero.Inbound, ttl time.Duration) (tierzero.InboxItem, bool, error)
	Inbox(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.InboxItem, error)
	StartInbox(ctx context.Context, tenant tierzero.TenantID, seq uint64, now time.Time) error
	FinishInbox(ctx context.Context, tenant tierzero.TenantID, seq uint64) error
	PutOutbound(ctx context.Context, tenant tierzero.TenantID, o tierzero.Outbound) error
	Outbox(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Outbound, error)
	DeleteOutbound(ctx context.Context, tenant tierzero.TenantID, id string) error
	PutRef(ctx context.Context, tenant tierzero.TenantID, key string, ref json.RawMessage) error
	Ref(ctx context.Context, tenant tierzero.TenantID, key string) (json.RawMessage, bool, error)
	Tenants() ([]tierzero.TenantID, error)
}

// Guard is what the desk asks of policy (policy.Guard): approval decisions,
// approval sweeps and the reconciliation of unfinished actions.
type Guard interface {
	DecideFrom(ctx context.Context, approver tierzero.Requester, id string, approve bool) (tierzero.Approval, tierzero.ToolResult, error)
	Sweep(ctx context.Context, tenant tierzero.TenantID, remind time.Duration) error
	Reconcile(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Intent, error)
}

// Directory reads who a user of a tenant is (graph.Client.User: object
// id, user principal name, display name, whether the account is enabled).
type Directory interface {
	User(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.UserFacts, error)
}

// Reach says in which client tenants an MSP technician acts (policy.Reach).
type Reach interface {
	Across(req tierzero.Requester) []tierzero.TenantID
}

// Observer is told what the desk does, for metrics (metrics.Registry).
type Observer interface {
	Inbound(channel tierzero.Channel, outcome string)
	QueueDepth(n int)
	Handled(channel tierzero.Channel, outcome string, d time.Duration)
	Delivery(channel tierzero.Channel, outcome string)
}

type nopObserver struct{}

func (nopObserver) Inbound(tierzero.Channel, string)                {}
func (nopObserver) QueueDepth(int)                                  {}
func (nopObserver) Handled(tierzero.Channel, string, time.Duration) {}
func (nopObserver) Delivery(tierzero.Channel, string)               {}
