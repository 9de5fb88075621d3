package agent

import (
	"encoding/json"
	"strings"

	"github.com/tierzero/tierzero"
)

// outcome is what became of the request (Reply.Outcome), from what it did:
// planned tells whether the reply shows a plan. When the request did
// several things, the first that applies wins: escalated (handed to a
// person), pending (a call this request made went for approval), confirm (a
// plan waits for the requester's yes), resolved (a write this request made
// succeeded, a confirmed plan's included), refused (the first refusal: a
// policy that did not let a call run, else the model's decline), asked (the
// reply asks the requester a question), answered. A plan cancelled, or
// confirmed too late, is answered.
func (r *request) outcome(planned bool) tierzero.Outcome {
	switch {
	case r.escalated != nil:
		return *r.escalated
	case r.pending:
		return tierzero.Outcome{Kind: tierzero.OutcomePending}
	case planned:
		return tierzero.Outcome{Kind: tierzero.OutcomeConfirm}
	case r.wrote:
		return tierzero.Outcome{Kind: tierzero.OutcomeResolved}
	case r.refused != nil:
		return *r.refused
	case r.asked:
		return tierzero.Outcome{Kind: tierzero.OutcomeAsked}
	}
	return tierzero.Outcome{Kind: tierzero.OutcomeAnswered}
}

// note records what the runner's result of a call means for the outcome:
// a call that went for approval, or the first that policy did not let run
// (a deny, or an approval that cannot be requested here).
func (r *request) note(res tierzero.ToolResult) {
	if res.Error != nil && res.Error.Code == tierzero.EPending {
		r.pending = true
		return
	}
	d := res.Decision
	if d == nil || d.Allowed() || r.refused != nil {
		return
	}
	if d.Effect == tierzero.EffectDeny || res.Error != nil && res.Error.Code == tierzero.EDenied {
		r.refused = &tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.DecisionRule(*d), Reason: d.Reason}
	}
}

// decline answers a request the model declined: with the model's text, or
// its reason when it said nothing.
func (r *request) decline(reason, text string) string {
	if r.refused == nil {
		why := reason
		if why == "" {
			why = "(no reason given)"
		}
		r.refused = &tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleDeclined, Reason: clip(why, 1000)}
	}
	switch text, reason = strings.TrimSpace(text), clipBytes(reason, MaxAnswerBytes); {
	case text != "":
		return text
	case reason != "":
		return reason
	}
	return "I can't help with that request."
}

// ask answers with the model's question: after the model's text, unless
// the text already holds it.
func (r *request) ask(question, text string) string {
	r.asked = true
	text, question = strings.TrimSpace(text), clipBytes(question, MaxAnswerBytes)
	switch {
	case question == "" && text == "":
		return "Could you tell me more about what you need?"
	case question == "" || strings.Contains(text, question):
		return text
	case text == "":
		return question
	}
	return text + "\n" + question
}

// pseudoArg returns the trimmed string argument name of a call to a
// pseudo-tool, "" when there is none, and keeps its arguments canonical
// (or empty, when they are not a JSON object) for the record.
func pseudoArg(c *tierzero.ToolCall, name string) string {
	canon, err := tierzero.CanonicalArgs(c.Args)
	if err != nil {
		c.Args = json.RawMessage(`{}`)
		return ""
	}
	c.Args = canon
	var args map[string]any
	if json.Unmarshal(canon, &args) != nil {
		return ""
	}
	v, ok := args[name]
	if !ok { // as encoding/json matches a field: exact, else any case
		for k, x := range args {
			if strings.EqualFold(k, name) {
				v = x
				break
			}
		}
	}
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// What the calls beside a pseudo-tool's are told, by pseudo-tool, and the
// outcome of their proposal records.
var (
	endingNotRun = map[string]string{
		EscalateTool: "not run: the request is being handed to a person",
		DeclineTool:  "not run: the request was declined",
		AskTool:      "not run: the requester is asked a question first",
	}
	endingOutcome = map[string]string{
		EscalateTool: "escalating",
		DeclineTool:  "declining",
		AskTool:      "asking",
	}
)
