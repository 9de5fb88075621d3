package tierzero

// OutcomeKind says, for programs, what became of one request.
type OutcomeKind string

// Outcome kinds. When one request leads to several (a write ran, then a
// plan waits), the first in this list that applies is the request's:
// escalated, pending, confirm, resolved, refused, asked, answered.
const (
	OutcomeResolved  OutcomeKind = "resolved"  // a write this request made succeeded
	OutcomeAnswered  OutcomeKind = "answered"  // answered without writing (information)
	OutcomeRefused   OutcomeKind = "refused"   // policy denied what was asked (Rule = the deciding layer/rule), or the model declined (Rule RuleDeclined)
	OutcomePending   OutcomeKind = "pending"   // a write waits for an approver
	OutcomeConfirm   OutcomeKind = "confirm"   // a plan waits for the requester's yes
	OutcomeAsked     OutcomeKind = "asked"     // the agent asked the requester a question
	OutcomeEscalated OutcomeKind = "escalated" // handed to a human (Cause says why)
)

// Rules of refusals that no policy decision made.
const (
	// RuleDeclined: the model declined the request (its decline tool).
	RuleDeclined = "agent:declined"
	// RuleMessageTooLong: the message is longer than the agent reads.
	RuleMessageTooLong = "agent:message_too_long"
	// RuleInvalidText: the message is not valid UTF-8 text.
	RuleInvalidText = "agent:invalid_text"
	// RuleIdentity: the desk does not serve the requester (an unknown
	// user or tenant, a technician not admitted).
	RuleIdentity = "desk:identity"
	// RulePolicyUnnamed: a policy denied, and its decision names no rule
	// (no rule allows the call, or the rule is withheld from the
	// requester).
	RulePolicyUnnamed = "policy:deny"
)

// Outcome is the agent's own structured result for one request, taken
// from what the request did (its calls, their policy decisions and
// results, the model's pseudo-tools), never from the wording of the reply.
type Outcome struct {
	Kind OutcomeKind `json:"kind"`
	// Rule, for a refusal, is what decided it: "layer/rule" of the policy
	// decision (DecisionRule), or one of the Rule constants.
	Rule string `json:"rule,omitempty"`
	// Cause, for an escalation, is why the agent escalated.
	Cause EscalationCause `json:"cause,omitempty"`
	// Reason says why, for people: the policy's reason, the model's reason
	// for declining or escalating.
	Reason string `json:"reason,omitempty"`
}

// DecisionRule names the rule behind a policy decision as "layer/rule",
// with the layer and rule the decision holds: just the rule when it names
// no layer, RulePolicyUnnamed when it names no rule.
func DecisionRule(d Decision) string {
	switch {
	case d.Rule == "":
		return RulePolicyUnnamed
	case d.Layer == "":
		return d.Rule
	}
	return d.Layer + "/" + d.Rule
}
