package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// maxResultSummary bounds the result text of one step in an escalation.
const maxResultSummary = 300

// escalate hands the request to the Escalator (when there is one), records
// it in the audit, and returns lead followed by what happens next for the
// user.
func (r *request) escalate(cause tierzero.EscalationCause, reason, lead string) (string, []tierzero.ToolCall, error) {
	e := r.escalation(cause, reason)
	r.escalated = &tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: cause, Reason: reason}
	ev := tierzero.AuditEvent{
		Kind: tierzero.AuditEscalated, Text: e.Summary, Reason: reason,
		Facts: map[string]string{
			"cause":     string(cause),
			"checked":   fmt.Sprint(len(e.Checked)),
			"tried":     fmt.Sprint(len(e.Tried)),
			"decisions": fmt.Sprint(len(e.Decisions)),
		},
	}
	handed := false
	switch esc := r.a.cfg.Escalator; {
	case esc == nil:
		ev.Outcome = "no escalator configured"
	default:
		if err := esc.Escalate(r.fin, e); err != nil {
			r.a.log.Error("escalation failed", "tenant", r.tenant, "cause", cause, "err", err)
			ev.Outcome, ev.Error = "hand-over failed", tierzero.ErrorMessage(err)
		} else {
			ev.Outcome, handed = "handed over", true
		}
	}
	if err := r.audit(r.fin, ev); err != nil {
		return "", nil, fmt.Errorf("audit escalation: %w", err)
	}
	next := r.handOver(handed)
	if lead = strings.TrimSpace(lead); lead != "" {
		return lead + "\n" + next, nil, nil
	}
	return next, nil, nil
}

// handOver says what happens next to the requester of an escalation, by
// role: an employee or a tenant admin is told who takes over (the
// persona's contact), or to contact them when it could not be passed on;
// an MSP technician, who is the IT support others are sent to, is told
// where the escalation went, never to contact their IT support.
func (r *request) handOver(handed bool) string {
	if r.req.Role == tierzero.RoleMSPTechnician {
		if handed {
			return "I've escalated this with everything I checked and tried attached."
		}
		return "I could not hand this over as an escalation; everything I checked and tried is in this conversation's audit record."
	}
	contact := r.persona.EscalationContact
	if handed {
		return "I've passed this to " + contact + " with everything I checked and tried, so you won't need to explain it again. They will contact you."
	}
	return "Please contact " + contact + " about this; I could not pass it on myself."
}

// escalation builds the record of this request for a human.
func (r *request) escalation(cause tierzero.EscalationCause, reason string) tierzero.Escalation {
	e := tierzero.Escalation{
		Tenant: r.tenant, Conversation: r.convID, Requester: r.req, Time: r.now(),
		Cause: cause, Reason: reason,
	}
	origin := r.origin()
	r.earlierSteps(&e, origin)
	for _, s := range r.steps {
		st := tierzero.EscalationStep{CallID: s.call.ID, Action: s.call.Action, Tenant: s.call.Tenant, Args: auditArgs(s.call.Args), OK: s.res.Error == nil, Result: resultSummary(s.res)}
		if s.write {
			e.Tried = append(e.Tried, st)
		} else {
			e.Checked = append(e.Checked, st)
		}
		if d := s.res.Decision; d != nil {
			e.Decisions = append(e.Decisions, tierzero.EscalationDecision{
				CallID: s.call.ID, Action: s.call.Action, Tenant: s.call.Tenant, Effect: d.Effect, Layer: d.Layer, Rule: d.Rule, Reason: d.Reason,
			})
		}
	}
	if origin < len(r.conv.Turns) {
		e.Transcript = append([]tierzero.Turn(nil), r.conv.Turns[origin:]...)
	}
	asked := ""
	if origin < len(r.conv.Turns) && r.conv.Turns[origin].Role == tierzero.TurnUser {
		asked = r.conv.Turns[origin].Content
		if origin < r.start {
			asked += " (then confirmed the plans shown)"
		}
	} else if r.start < len(r.conv.Turns) {
		asked = r.conv.Turns[r.start].Content
		if r.from < r.start {
			asked += " (answering the plan: " + clip(r.conv.Turns[r.from].Content, 200) + ")"
		}
	}
	who := r.req.UPN
	if r.req.DisplayName != "" {
		who = fmt.Sprintf("%s (%s)", r.req.DisplayName, r.req.UPN)
	}
	done := 0
	for _, s := range e.Tried {
		if s.OK {
			done++
		}
	}
	e.Summary = fmt.Sprintf("%s, %s, asked: %q. Escalated because %s. Checked %d thing(s); tried %d change(s), %d done.",
		who, r.req.Role, clip(asked, 500), reason, len(e.Checked), len(e.Tried), done)
	return e
}

// resultSummary says in a line what a call returned: its secret-free output,
// shortened, or its error.
func resultSummary(res tierzero.ToolResult) string {
	if res.Error != nil {
		return clip(res.Error.Code+": "+res.Error.Message, maxResultSummary)
	}
	if !json.Valid(res.Output) {
		return "ok"
	}
	s := "ok: "
	if !res.Secret.IsZero() {
		s = "ok (a secret was delivered privately to the requester): "
	}
	return clip(s+string(res.Output), maxResultSummary)
}

// origin is where the request this message continues began: a message that
// confirmed a plan continues the request that led to the plan, which may
// itself have confirmed an earlier plan (a technician confirms each step).
// A message that answered a plan without confirming it (a new request)
// begins with the plan it settled, and continues nothing before it.
func (r *request) origin() int {
	turns := r.conv.Turns
	o := r.from
	if o >= r.start || !ConfirmedPlan(turns, r.start) {
		return o
	}
	for o >= 0 && o < len(turns) && turns[o].Settled {
		u := o - 1
		for u >= 0 && turns[u].Role != tierzero.TurnUser {
			u--
		}
		if u < 0 {
			break
		}
		o = u
		if ConfirmedPlan(turns, u) {
			o = u - 1
		}
	}
	return o
}

// earlierSteps adds to e the calls made for this request before this
// message (the steps confirmed in earlier plans), read back from the
// conversation's turns as the model saw them.
func (r *request) earlierSteps(e *tierzero.Escalation, origin int) {
	if origin >= r.from {
		return
	}
	calls := map[string]tierzero.ToolCall{}
	for _, t := range r.conv.Turns[origin:r.from] {
		switch t.Role {
		case tierzero.TurnAssistant:
			for _, c := range t.ToolCalls {
				calls[c.ID] = c
			}
		case tierzero.TurnTool:
			c, ok := calls[t.ToolCallID]
			if !ok || isPseudo(c.Action) {
				continue
			}
			_, data, ok := UnwrapToolResult(t.Content)
			var v struct {
				OK     bool            `json:"ok"`
				Output json.RawMessage `json:"output"`
				Error  *tierzero.Error `json:"error"`
				Policy *struct {
					Effect tierzero.Effect `json:"effect"`
					Rule   string          `json:"rule"`
					Reason string          `json:"reason"`
				} `json:"policy"`
			}
			if !ok || json.Unmarshal(data, &v) != nil {
				continue
			}
			st := tierzero.EscalationStep{CallID: c.ID, Action: c.Action, Tenant: c.Tenant, Args: auditArgs(c.Args), OK: v.OK}
			switch {
			case v.Error != nil:
				st.Result = clip(v.Error.Code+": "+v.Error.Message, maxResultSummary)
			case len(v.Output) > 0:
				st.Result = clip("ok: "+string(v.Output), maxResultSummary)
			default:
				st.Result = "ok"
			}
			if info := r.a.byAction[c.Action]; info != nil && info.spec.Write {
				e.Tried = append(e.Tried, st)
			} else {
				e.Checked = append(e.Checked, st)
			}
			if p := v.Policy; p != nil && p.Effect != "" {
				e.Decisions = append(e.Decisions, tierzero.EscalationDecision{
					CallID: c.ID, Action: c.Action, Tenant: c.Tenant, Effect: p.Effect, Rule: p.Rule, Reason: p.Reason,
				})
			}
		}
	}
}
