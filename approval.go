package tierzero

import (
	"encoding/json"
	"strings"
	"time"
)

// Audit kinds of the approval lifecycle. A call that policy says needs
// approval is "decided" (require_approval) and then "approval_requested";
// each approver's decision, and each refused attempt to decide, is
// "approval_decided"; the call that runs once approved is "executed"
// followed by "approval_executed".
const (
	AuditApprovalRequested AuditKind = "approval_requested"
	AuditApprovalDecided   AuditKind = "approval_decided"
	AuditApprovalExecuted  AuditKind = "approval_executed"
	AuditApprovalShown     AuditKind = "approval_shown"    // the request was shown to its approvers
	AuditApprovalReminded  AuditKind = "approval_reminded" // the approvers were reminded before expiry
	AuditApprovalExpired   AuditKind = "approval_expired"  // nobody decided in time
)

// EPending is the error code of a tool result whose call was not run but
// sent for approval: it is not done, and not refused either.
const EPending = "pending_approval"

// ApprovalState is where an approval is in its lifecycle. The only moves
// are pending → approved | denied | expired, and approved → executed; each
// happens at most once.
type ApprovalState string

// Approval states.
const (
	ApprovalPending  ApprovalState = "pending"
	ApprovalApproved ApprovalState = "approved"
	ApprovalDenied   ApprovalState = "denied"
	ApprovalExpired  ApprovalState = "expired"
	ApprovalExecuted ApprovalState = "executed"
)

// Approval is a call that policy sent for approval, bound to exactly what was
// proposed: the tenant, the action, the canonical arguments (and their hash)
// and the verified requester. What runs once it is approved is that call and
// nothing else, for that requester.
type Approval struct {
	ID           string          `json:"id"` // random, unguessable
	Tenant       TenantID        `json:"tenant"`
	Action       string          `json:"action"`
	Args         json.RawMessage `json:"args"`     // canonical
	ArgsHash     string          `json:"argsHash"` // ArgsHash(Args), checked before the call runs
	CallID       string          `json:"callId,omitempty"`
	Requester    Requester       `json:"requester"`
	Conversation ConversationID  `json:"conversation,omitempty"`
	// Summary says in plain words what will run.
	Summary string `json:"summary,omitempty"`
	// Rule, Layer and Reason are the policy decision that asked for approval.
	Rule   string `json:"rule,omitempty"`
	Layer  string `json:"layer,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Approvers is the policy's approver spec (manager, group:NAME,
	// role:tenant_admin, role:msp_technician); Count distinct approvals are
	// needed.
	Approvers []string `json:"approvers"`
	Count     int      `json:"count"`
	// Suggested are the people known, when the request was made, to be able
	// to approve (the target's manager): a hint for notifications only; who
	// may decide is checked again when they do.
	Suggested []string           `json:"suggested,omitempty"`
	Expires   time.Time          `json:"expires"`
	State     ApprovalState      `json:"state"`
	Decisions []ApprovalDecision `json:"decisions,omitempty"`
	Created   time.Time          `json:"created"`
	Updated   time.Time          `json:"updated,omitzero"`
	Reminded  time.Time          `json:"reminded,omitzero"` // when the approvers were reminded before expiry
}

// ApprovalDecision is one approver's decision.
type ApprovalDecision struct {
	Approver string    `json:"approver"` // UPN, from the verified channel
	Approve  bool      `json:"approve"`
	Time     time.Time `json:"time"`
}

// Approvals returns how many distinct approvers approved.
func (a Approval) Approvals() int {
	seen := map[string]bool{}
	for _, d := range a.Decisions {
		if d.Approve {
			seen[strings.ToLower(d.Approver)] = true
		}
	}
	return len(seen)
}

// DecidedBy reports whether upn has already decided a.
func (a Approval) DecidedBy(upn string) bool {
	for _, d := range a.Decisions {
		if strings.EqualFold(d.Approver, upn) {
			return true
		}
	}
	return false
}

// Call returns the stored call: the only call an approval can run.
func (a Approval) Call() ToolCall {
	return ToolCall{ID: a.CallID, Action: a.Action, Args: a.Args}
}

// ApproverText says who may approve, in plain words, from the approver spec
// and the suggested approvers.
func (a Approval) ApproverText() string {
	var parts []string
	for _, s := range a.Approvers {
		switch {
		case s == "manager" && len(a.Suggested) > 0:
			parts = append(parts, "the manager ("+strings.Join(a.Suggested, ", ")+")")
		case s == "manager":
			parts = append(parts, "the manager")
		case s == "role:tenant_admin":
			parts = append(parts, "a tenant admin")
		case s == "role:msp_technician":
			parts = append(parts, "an MSP technician")
		case strings.HasPrefix(s, "group:"):
			parts = append(parts, "a member of the group "+strings.TrimPrefix(s, "group:"))
		default:
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " or ")
}
