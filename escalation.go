package tierzero

import (
	"encoding/json"
	"time"
)

// AuditEscalated records that a request was handed to a human (see
// Escalation). It follows the request's other events and precedes its reply.
const AuditEscalated AuditKind = "escalated"

// Escalation is what the agent hands over when it cannot resolve a request:
// the step, call or time limit was hit, the model was unavailable or kept
// proposing invalid calls, or the model itself asked for a human. It holds
// everything a technician needs to take over without asking the user again,
// and no secret: arguments, results and turns are secret-free by
// construction (secrets travel only in Reply.Private).
type Escalation struct {
	Tenant       TenantID       `json:"tenant"`
	Conversation ConversationID `json:"conversation"`
	Requester    Requester      `json:"requester"`
	Time         time.Time      `json:"time"`
	// Summary says in one paragraph who asked for what, and what happened.
	Summary string `json:"summary"`
	// Cause is why the agent escalated, for programs; Reason, for people.
	Cause  EscalationCause `json:"cause"`
	Reason string          `json:"reason"`
	// Checked are the read calls made for this request, with a short
	// result; Tried are the write calls and their outcomes.
	Checked []EscalationStep `json:"checked,omitempty"`
	Tried   []EscalationStep `json:"tried,omitempty"`
	// Decisions are the policy decisions made for this request, in order.
	Decisions []EscalationDecision `json:"decisions,omitempty"`
	// Transcript is the turns of this request, from the requester's
	// message (or the plan it answers) to the escalation.
	Transcript []Turn `json:"transcript,omitempty"`
}

// EscalationCause says, for programs, why a request was escalated.
type EscalationCause string

// Escalation causes.
const (
	CauseStepLimit        EscalationCause = "step_limit"        // too many model calls
	CauseCallLimit        EscalationCause = "call_limit"        // too many tool calls
	CauseTimeLimit        EscalationCause = "time_limit"        // the request ran out of time
	CauseModelUnavailable EscalationCause = "model_unavailable" // the model failed
	CauseInvalidCalls     EscalationCause = "invalid_calls"     // the model kept proposing invalid calls
	CauseModelRequest     EscalationCause = "model_request"     // the model asked for a human
)

// EscalationStep is one tool call made for an escalated request.
type EscalationStep struct {
	CallID string          `json:"callId"`
	Action string          `json:"action"`
	Tenant TenantID        `json:"tenant,omitempty"` // when not the conversation's
	Args   json.RawMessage `json:"args,omitempty"`   // canonical
	OK     bool            `json:"ok"`
	Result string          `json:"result"` // short: what came back, or why it failed
}

// EscalationDecision is one policy decision made for an escalated request.
type EscalationDecision struct {
	CallID string   `json:"callId"`
	Action string   `json:"action"`
	Tenant TenantID `json:"tenant,omitempty"` // when not the conversation's
	Effect Effect   `json:"effect"`
	Layer  string   `json:"layer,omitempty"`
	Rule   string   `json:"rule,omitempty"`
	Reason string   `json:"reason,omitempty"`
}
