// Package tierzero holds the domain types that every other package of tierzero
// speaks in: tenants, requesters, messages, tool calls and their results, policy
// decisions, permits, audit events and errors. It imports the standard library
// only; everything concrete (Graph, bbolt, Slack, Teams, OpenAI) lives in a
// subpackage and is wired together in cmd/tierzero.
package tierzero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// TenantID names one client company (one Microsoft 365 tenant) of the MSP.
// It is a short slug such as "contoso", validated by ValidTenantID before it is
// used as a file name or a key.
type TenantID string

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidTenantID reports whether id is a well-formed tenant slug: lowercase
// letters, digits and dashes, 1 to 63 characters, starting with a letter or digit.
func ValidTenantID(id TenantID) error {
	if !tenantIDPattern.MatchString(string(id)) {
		return Errorf(EInvalid, "invalid tenant id %q: want lowercase letters, digits and dashes", string(id))
	}
	return nil
}

// ConversationID identifies one conversation (a chat thread) within a tenant.
type ConversationID string

// Channel is the chat platform a message arrived on.
type Channel string

// Channels.
const (
	ChannelConsole Channel = "console"
	ChannelSlack   Channel = "slack"
	ChannelTeams   Channel = "teams"
	// ChannelWeb is the web console (package web): a signed-in MSP
	// technician's operations, and decisions on approvals.
	ChannelWeb Channel = "web"
)

// Role is what a requester is to tierzero, from configuration, never from text.
type Role string

// Roles.
const (
	RoleEmployee      Role = "employee"
	RoleTenantAdmin   Role = "tenant_admin"
	RoleMSPTechnician Role = "msp_technician"
)

// Requester is the verified identity behind a message. Adapters fill it from
// the platform (a validated Teams token, a verified Slack user mapped to an
// Entra user, the console's --as flag); it is never derived from message text.
type Requester struct {
	Tenant      TenantID `json:"tenant"`
	UPN         string   `json:"upn"`
	ObjectID    string   `json:"objectId"`
	DisplayName string   `json:"displayName,omitempty"`
	Role        Role     `json:"role"`
	Channel     Channel  `json:"channel"`
}

// Message is one normalized message from an employee or admin.
type Message struct {
	ID           string         `json:"id"`
	Tenant       TenantID       `json:"tenant"`
	Conversation ConversationID `json:"conversation"`
	Requester    Requester      `json:"requester"`
	Text         string         `json:"text"`
	Time         time.Time      `json:"time"`
}

// Reply is what the agent answers to a message: Text goes to the thread,
// Private notes go to the requester alone (a temporary password, say) and
// never to the thread, the model, the logs or the audit. Outcome is what
// became of the request, for programs; zero when the request failed (the
// agent returned an error).
type Reply struct {
	Text    string        `json:"text"`
	Private []PrivateNote `json:"-"`
	Outcome Outcome       `json:"outcome"`
}

// PrivateNote is a message meant for the requester's eyes only.
type PrivateNote struct {
	To     Requester
	Secret Secret
}

// Secret is a value that must never be logged, audited or shown to the model:
// a temporary password, a Temporary Access Pass code. Its String and JSON forms
// are redacted; Reveal returns the value for private delivery.
type Secret struct {
	Kind  string // "temporary_password", "temporary_access_pass"
	Label string // what the requester is told the value is
	value string
}

// NewSecret wraps a secret value.
func NewSecret(kind, label, value string) Secret {
	return Secret{Kind: kind, Label: label, value: value}
}

// Reveal returns the secret value, for private delivery to the requester only.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether s holds no value.
func (s Secret) IsZero() bool { return s.value == "" }

// String redacts the value.
func (s Secret) String() string { return "[secret " + s.Kind + " redacted]" }

// GoString redacts the value, so %#v does not leak it.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON redacts the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"kind": s.Kind, "value": "[redacted]"})
}

// ToolSpec describes one tool the agent may propose: its dotted action name,
// what it does, whether it writes, its risk tier and the JSON schema of its
// arguments.
type ToolSpec struct {
	Action      string          `json:"action"`
	Description string          `json:"description"`
	Write       bool            `json:"write"`
	Risk        Risk            `json:"risk"`
	Schema      json.RawMessage `json:"schema"`
}

// Risk is a tool's risk tier.
type Risk string

// Risk tiers.
const (
	RiskRead   Risk = "read"
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// ToolCall is one call proposed by the model: an action and its JSON arguments.
type ToolCall struct {
	ID     string          `json:"id"`
	Action string          `json:"action"`
	Args   json.RawMessage `json:"args"`
	// Tenant is the tenant the call acts in, when it is not the
	// conversation's: an MSP technician's call into a client tenant. Empty
	// means the conversation's tenant.
	Tenant TenantID `json:"tenant,omitempty"`
}

// ToolResult is the outcome of a tool call. Output is safe to show the model;
// Secret, if set, goes to the requester privately and nowhere else.
type ToolResult struct {
	CallID   string          `json:"callId"`
	Action   string          `json:"action"`
	Output   json.RawMessage `json:"output,omitempty"`
	Decision *Decision       `json:"decision,omitempty"`
	Error    *Error          `json:"error,omitempty"`
	Secret   Secret          `json:"-"`
}

// ToolRunner runs a proposed tool call for a verified requester. The agent
// receives exactly one: policy.Guard.
type ToolRunner interface {
	RunTool(ctx context.Context, tenant TenantID, req Requester, conv ConversationID, call ToolCall) (ToolResult, error)
}

// Effect is what a policy decision says.
type Effect string

// Effects, from least to most strict.
const (
	EffectAllow           Effect = "allow"
	EffectRequireApproval Effect = "require_approval"
	EffectDeny            Effect = "deny"
)

// Decision is the value a policy evaluation returns. A deny is a decision,
// not an error; only a failure to evaluate is an error (and it denies).
type Decision struct {
	Effect    Effect            `json:"effect"`
	Layer     string            `json:"layer,omitempty"`
	File      string            `json:"file,omitempty"`
	Rule      string            `json:"rule,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Approvers []string          `json:"approvers,omitempty"`
	Count     int               `json:"count,omitempty"`   // distinct approvers needed, for require_approval
	Expires   time.Duration     `json:"expires,omitempty"` // how long an approval request stays open
	Facts     map[string]string `json:"facts,omitempty"`
	// Basis is what the policy engine builds Facts from, only when the
	// decision is recorded (policy.Set.AuditFacts); opaque elsewhere.
	Basis any `json:"-"`
}

// Allowed reports whether the decision lets the call run now.
func (d Decision) Allowed() bool { return d.Effect == EffectAllow }

// Turn is one entry of a conversation as the model sees it.
type Turn struct {
	Role       TurnRole   `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"toolCalls,omitempty"`
	ToolCallID string     `json:"toolCallId,omitempty"`
	Time       time.Time  `json:"time"`
	// Settled marks an assistant turn that showed a plan the requester has
	// since answered (see TurnPlan): the request continues past it.
	Settled bool `json:"settled,omitempty"`
}

// TurnRole is who spoke in a Turn.
type TurnRole string

// Turn roles.
const (
	TurnUser      TurnRole = "user"
	TurnAssistant TurnRole = "assistant"
	TurnTool      TurnRole = "tool"
)

// Conversation is the persisted state of one chat thread.
type Conversation struct {
	ID      ConversationID `json:"id"`
	Tenant  TenantID       `json:"tenant"`
	Turns   []Turn         `json:"turns"`
	Updated time.Time      `json:"updated"`
}

// AuditKind names what an audit event records.
type AuditKind string

// Audit kinds, in the order one request produces them.
const (
	AuditMessage  AuditKind = "message"  // a message arrived
	AuditProposed AuditKind = "proposed" // the model proposed a tool call
	AuditDecided  AuditKind = "decided"  // policy decided, written before anything runs
	AuditExecuted AuditKind = "executed" // the tool ran (or failed)
	AuditReply    AuditKind = "reply"    // the bot answered
	AuditError    AuditKind = "error"    // the request failed
)

// AuditEvent is one record of a tenant's append-only audit trail. It never
// holds a secret: arguments and outputs are secret-free by construction.
type AuditEvent struct {
	Seq          uint64            `json:"seq"`
	Time         time.Time         `json:"time"`
	Tenant       TenantID          `json:"tenant"`
	Kind         AuditKind         `json:"kind"`
	Conversation ConversationID    `json:"conversation,omitempty"`
	Requester    string            `json:"requester,omitempty"`
	Channel      Channel           `json:"channel,omitempty"`
	Text         string            `json:"text,omitempty"`
	Tool         string            `json:"tool,omitempty"`
	CallID       string            `json:"callId,omitempty"`
	Args         json.RawMessage   `json:"args,omitempty"`
	Effect       Effect            `json:"effect,omitempty"`
	Layer        string            `json:"layer,omitempty"`
	Rule         string            `json:"rule,omitempty"`
	Reason       string            `json:"reason,omitempty"`
	Facts        map[string]string `json:"facts,omitempty"`
	Outcome      string            `json:"outcome,omitempty"`
	Output       json.RawMessage   `json:"output,omitempty"`
	Error        string            `json:"error,omitempty"`
}

// Auditor appends events to a tenant's audit trail. Append returns only after
// the event is durable; callers that must audit before acting stop on error.
type Auditor interface {
	Append(ctx context.Context, tenant TenantID, ev AuditEvent) error
}

// Intent is a write action recorded before it is sent to Graph, so that a
// retry or a crash never runs it twice: an intent without an Outcome is
// reconciled at start (state read back through Graph, else needs_review),
// never re-executed blindly. Args are the canonical JSON arguments.
type Intent struct {
	ID           string          `json:"id"`
	Action       string          `json:"action"`
	Args         json.RawMessage `json:"args,omitempty"`
	Requester    string          `json:"requester,omitempty"`
	Conversation ConversationID  `json:"conversation,omitempty"`
	Started      time.Time       `json:"started"`
	Outcome      IntentOutcome   `json:"outcome,omitempty"` // "" while open
	Detail       string          `json:"detail,omitempty"`
	Finished     time.Time       `json:"finished,omitzero"`
}

// IntentOutcome is how an intent ended.
type IntentOutcome string

// Intent outcomes.
const (
	IntentDone        IntentOutcome = "done"
	IntentFailed      IntentOutcome = "failed"
	IntentNeedsReview IntentOutcome = "needs_review"
)

// Error codes.
const (
	EInvalid      = "invalid"      // bad input
	ENotFound     = "not_found"    // no such object
	EDenied       = "denied"       // refused by policy
	EUnauthorized = "unauthorized" // identity could not be verified
	EConflict     = "conflict"     // state does not allow it
	EUnavailable  = "unavailable"  // a backend is down or throttling
	EInternal     = "internal"     // a bug or an unexpected failure
)

// Error is a domain error: Code is for programs, Message is safe to show users.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Plainly says, for an employee, why a call to Microsoft 365 did not work:
// Graph's status codes and messages are for IT staff.
func (e *Error) Plainly() string {
	switch e.Code {
	case ENotFound:
		return "Microsoft 365 could not find what it acts on"
	case EUnavailable:
		return "Microsoft 365 could not be reached or did not confirm it, so it may not have happened"
	case EConflict:
		return "Microsoft 365 refused it because of the current state of the account or device"
	}
	return "Microsoft 365 refused it"
}

// Errorf returns a domain error with a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or
// EInternal when there is none.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns a message safe to show a user for err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "an internal error occurred"
}

// UserFacts is what the policy engine knows about a user, read from Graph by
// the engine itself (never taken from what the model wrote). A fact that was
// not read is missing (nil), never an empty default: a policy condition on
// it denies.
type UserFacts struct {
	ObjectID    string `json:"objectId"`
	UPN         string `json:"upn"`
	DisplayName string `json:"displayName,omitempty"`
	// Department is the user's department, "" when they have none; nil
	// when it was not read.
	Department *string `json:"department,omitempty"`
	// Manager is the manager's UPN, "" when the user has none; nil when it
	// was not read.
	Manager        *string `json:"manager,omitempty"`
	AccountEnabled bool    `json:"accountEnabled"`
	// AdminRoles are the directory (admin) roles the user holds, actively
	// or as eligible in Privileged Identity Management, directly or as a
	// member of a role-assignable group, in words ("Global Administrator",
	// "eligible for User Administrator", "member of role-assignable group
	// IT Admins"). nil means they were not read; empty means none.
	AdminRoles []string `json:"adminRoles,omitempty"`
	// Groups are the groups the user is a direct member of: object ids,
	// which policy compares, with display names for people. nil means they
	// were not read (a policy condition on them then denies); an empty,
	// non-nil slice means the user is in no group.
	Groups []GroupRef `json:"groups,omitempty"`
	// RiskLevel is Identity Protection's risk level for the user: "none",
	// "low", "medium" or "high"; "unknown" when the tenant has no Entra ID P2
	// (or Graph refused the read); "" when not read.
	RiskLevel string `json:"riskLevel,omitempty"`
}

// GroupRef names a group: by its object id, which policy compares (display
// names are not unique, and anyone may create a group), and its display
// name, for people.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Subject is what a tool call names besides a user: a group, a license (SKU
// id or part number), a device. Empty fields name nothing.
type Subject struct {
	Group, License, Device string
}

// GroupFacts are the facts about a group a call names, read from Graph.
type GroupFacts struct {
	ID   string `json:"id,omitempty"` // object id; "" when not read
	Name string `json:"name"`         // display name, for people
	// RoleAssignable is Graph's isAssignableToRole: directory roles can be
	// assigned to the group, and its members then hold them. nil when not
	// read.
	RoleAssignable *bool `json:"roleAssignable,omitempty"`
	// AdminRoles are the directory roles assigned to the group, active or
	// eligible in Privileged Identity Management; nil when not read, empty
	// for none.
	AdminRoles []string `json:"adminRoles,omitempty"`
}

// LicenseFacts are the facts about a license a call names, read from Graph.
type LicenseFacts struct {
	SKUID string `json:"skuId,omitempty"`
	SKU   string `json:"sku"` // SKU part number, e.g. SPE_E3
}

// DeviceFacts are the facts about a device a call names, read from Graph.
type DeviceFacts struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Owner is the primary user's UPN, "" when the device has none; nil
	// when it was not read.
	Owner *string `json:"owner,omitempty"`
}
