package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// Previewer is a runner that can say what it would decide for a call
// without running it (policy.Guard's PreviewTool): the result RunTool would
// return before anything runs, an EDenied error for a call it refuses. The
// agent previews each call of a plan before it shows the plan, so that no
// plan policy would refuse is offered for a "yes". A runner that is not a
// Previewer (a test's) has its plans shown undecided, and decided when they
// run.
type Previewer interface {
	PreviewTool(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall) (tierzero.ToolResult, error)
}

// offer decides the calls of a plan before they are shown (decide first,
// then ask): a call policy refuses is left out, reported to the requester
// as refused (with the deciding rule, for the request's outcome) and to
// the model as a result it reads; a call that needs approval stays, and the
// plan says whose. The objects the plan names are read first where this
// conversation has not seen them (see learnNames).
//
// done is false when policy refuses every call: nothing is left to ask
// about, and the model, told why, answers next. Otherwise text is the reply
// that shows the plan and plan its calls (nil when the request ran out of
// time and escalated).
func (r *request) offer(lead string, calls []tierzero.ToolCall) (text string, plan []tierzero.ToolCall, done bool, err error) {
	pv, _ := r.a.cfg.Runner.(Previewer)
	notes := map[string]string{}
	var refused []tierzero.ToolCall
	var results []tierzero.ToolResult
	for _, c := range calls {
		if pv == nil {
			plan = append(plan, c)
			continue
		}
		res, err := pv.PreviewTool(r.ctx, r.tenantOf(c), r.req, r.convID, c)
		if err != nil {
			if r.ctx.Err() != nil {
				text, plan, err := r.timeUp()
				return text, plan, true, err
			}
			return "", nil, true, fmt.Errorf("preview %s: %w", c.Action, err)
		}
		d := res.Decision
		switch {
		case res.Error == nil && (d == nil || d.Effect == tierzero.EffectAllow):
			plan = append(plan, c)
		case res.Error == nil && d.Effect == tierzero.EffectRequireApproval:
			notes[c.ID] = ", which then needs the approval of " + approverText(*d) + " before it runs"
			plan = append(plan, c)
		default:
			out, err := r.refusePlanned(c, res)
			if err != nil {
				return "", nil, true, err
			}
			refused, results = append(refused, c), append(results, out)
		}
	}
	if len(refused) > 0 {
		// The model reads why, as for a call it ran: its words stay with
		// the calls when nothing else is left to show.
		turn := tierzero.Turn{Role: tierzero.TurnAssistant, ToolCalls: refused, Time: r.now()}
		if len(plan) == 0 {
			turn.Content = strings.TrimSpace(lead)
		}
		r.conv.Turns = append(r.conv.Turns, turn)
		for i, c := range refused {
			r.addResult(c, results[i])
		}
	}
	if len(plan) == 0 {
		return "", nil, false, nil
	}
	if err := r.learnNames(plan); err != nil {
		return "", nil, true, err
	}
	return r.planText(lead, plan, notes), plan, true, nil
}

// refusePlanned records a call of a plan that policy refuses, and returns
// the result the model reads: the policy's decision, and that nothing ran.
func (r *request) refusePlanned(c tierzero.ToolCall, res tierzero.ToolResult) (tierzero.ToolResult, error) {
	d := res.Decision
	if d == nil {
		d = &tierzero.Decision{Effect: tierzero.EffectDeny}
	}
	why := "denied by policy"
	if res.Error != nil {
		why = res.Error.Message
	} else if d.Reason != "" {
		why += ": " + d.Reason
	}
	rule := tierzero.DecisionRule(*d)
	if err := r.propose(c, "not offered: policy refuses it ("+rule+")"); err != nil {
		return tierzero.ToolResult{}, err
	}
	out := tierzero.ToolResult{Decision: d, Error: tierzero.Errorf(tierzero.EDenied, "not offered to the requester, nothing was run: %s", why)}
	r.note(out)
	info := r.a.byAction[c.Action]
	r.steps = append(r.steps, step{call: c, write: info != nil && info.spec.Write, res: out})
	dsc := r.describeIn(c)
	dsc.private = "" // it does not run: nothing goes to anyone
	what, in, lead := dsc.inline(), "", "Not offered"
	if c.Tenant != "" {
		in = "In " + string(c.Tenant) + ", "
		lead = in + "not offered"
	}
	reason := r.plainly(c, strings.TrimPrefix(why, "denied by policy: "))
	if r.req.Role == tierzero.RoleEmployee {
		r.lines = append(r.lines, in+"I can't "+what+": "+reason+".")
	} else {
		r.lines = append(r.lines, fmt.Sprintf("%s, because policy refuses it: %s (rule %s: %s).", lead, what, rule, reason))
	}
	return out, nil
}

// approverText says who approves what a decision sends for approval.
func approverText(d tierzero.Decision) string {
	if t := (tierzero.Approval{Approvers: d.Approvers}).ApproverText(); t != "" {
		return tierzero.PrintableLine(t)
	}
	return "an approver"
}

// planText tells a requester who confirms writes what will run: each step
// naming what it acts on as people know it, the texts it writes in full,
// and notes[call id] after it. Nothing in it comes unescaped: the model's
// lead stays on its line, before the plan, so it cannot draw steps of its
// own.
func (r *request) planText(lead string, calls []tierzero.ToolCall, notes map[string]string) string {
	var b strings.Builder
	if lead = tierzero.PrintableLine(strings.TrimSpace(lead)); lead != "" {
		b.WriteString(lead)
		b.WriteString("\n")
	}
	b.WriteString("Here is what I'm about to do:\n")
	for _, c := range calls {
		prefix := "- "
		if c.Tenant != "" { // never the conversation's own (acrossTenants)
			prefix += "in " + string(c.Tenant) + ": "
		}
		b.WriteString(r.describeIn(c).block(prefix, notes[c.ID]))
		b.WriteString("\n")
	}
	b.WriteString(`Reply "yes" to go ahead; anything else cancels it.`)
	return b.String()
}

// what says on one line what c does, naming what it acts on as this
// request knows it, with dates in its tenant's time zone.
func (r *request) what(c tierzero.ToolCall) string {
	return r.describeIn(c).inline()
}

// recall adds to what this request knows of names (see collectNames) what
// the tool results this conversation remembers say, once per request: a
// plan confirmed in a later message names what the reads before it found.
func (r *request) recall() {
	if r.recalled {
		return
	}
	r.recalled = true
	for _, t := range r.conv.Turns {
		if t.Role != tierzero.TurnTool {
			continue
		}
		if _, data, ok := UnwrapToolResult(t.Content); ok {
			collectNames(data, r.names)
		}
	}
}

// describeIn is what c does, as this request can name it.
func (r *request) describeIn(c tierzero.ToolCall) description {
	r.recall()
	return describeIn(c, view{names: r.names, zone: r.zoneOf(c), self: r.req})
}

// zoneOf is the time zone dates of c are shown in: its tenant's
// (Config.TimeZone), nil for UTC.
func (r *request) zoneOf(c tierzero.ToolCall) *time.Location {
	if f := r.a.cfg.TimeZone; f != nil {
		return f(r.tenantOf(c))
	}
	return nil
}

// learnNames makes sure a plan can name what its calls act on: from what
// this conversation has already read (the tool results it remembers), and
// for an object it has not seen, by a light read through the runner, which
// the model does not see: a group by id or by name (group.get), a device's
// name and owner (device.compliance), a user given by object id (user.get),
// a license by SKU id (license.available). Only tools offered to the
// requester are used, within the request's limit of calls, and nothing is
// read in another tenant (every call there waits for the requester's yes):
// what is not read is said to be unknown in the plan, never left a bare id.
func (r *request) learnNames(calls []tierzero.ToolCall) error {
	r.recall()
	seen := map[string]bool{}
	for _, c := range calls {
		if c.Tenant != "" {
			continue
		}
		for _, rd := range r.nameReads(c) {
			k := rd.Action + " " + string(rd.Args)
			if seen[k] || r.toolCalls >= r.a.cfg.MaxCalls || !r.offered[rd.Action] {
				continue
			}
			seen[k] = true
			if err := r.readName(rd); err != nil {
				return err
			}
		}
	}
	return nil
}

// nameReads are the reads that would name what c acts on and that this
// request has not made.
func (r *request) nameReads(c tierzero.ToolCall) []tierzero.ToolCall {
	var a map[string]any
	if json.Unmarshal(c.Args, &a) != nil {
		return nil
	}
	read := func(action, key, value string) tierzero.ToolCall {
		args := json.RawMessage(`{}`)
		if key != "" {
			args, _ = json.Marshal(map[string]string{key: value})
		}
		return tierzero.ToolCall{Action: action, Args: args}
	}
	var out []tierzero.ToolCall
	if g, _ := a["group"].(string); g != "" {
		if isObjectID(g) && r.names[strings.ToLower(g)] == "" || !isObjectID(g) && idNamed(g, r.names) == "" {
			out = append(out, read("group.get", "group", g))
		}
	}
	if d, _ := a["device"].(string); isObjectID(d) {
		_, owner := r.names[ownerKey+strings.ToLower(d)]
		if r.names[strings.ToLower(d)] == "" || !owner {
			out = append(out, read("device.compliance", "device", d))
		}
	}
	if u, _ := a["user"].(string); isObjectID(u) && r.names[strings.ToLower(u)] == "" {
		out = append(out, read("user.get", "user", u))
	}
	if s, _ := a["sku"].(string); isObjectID(s) && r.names[strings.ToLower(s)] == "" {
		out = append(out, read("license.available", "", ""))
	}
	return out
}

// readName runs a read of nameReads: recorded as the agent's own proposal,
// decided by the runner like any call, counted against the request's
// limit. What it returns names objects in plans only: it is not added to
// the conversation.
func (r *request) readName(c tierzero.ToolCall) error {
	r.toolCalls++
	c.ID = fmt.Sprintf("name_%d_%d", len(r.conv.Turns), r.toolCalls)
	if err := r.propose(c, "read by the agent to name what a plan acts on"); err != nil {
		return err
	}
	res, err := r.a.cfg.Runner.RunTool(r.ctx, r.tenant, r.req, r.convID, c)
	if err != nil {
		return fmt.Errorf("run %s: %w", c.Action, err)
	}
	if res.Error == nil {
		collectNames(res.Output, r.names)
	}
	return nil
}

// plainly is why a call did not run, for its requester: IT staff get the
// message as it is; an employee gets it without the tool's internal name,
// and in plain words when it is Microsoft Graph's (its status codes and
// messages are for IT staff).
func (r *request) plainly(c tierzero.ToolCall, msg string) string {
	msg = tierzero.PrintableLine(strings.TrimSuffix(strings.TrimSpace(msg), "."))
	if r.req.Role != tierzero.RoleEmployee {
		return msg
	}
	if c.Action != "" {
		msg = strings.ReplaceAll(msg, c.Action, "this")
	}
	return msg
}

// failure is why a call that went to the runner did not work, for its
// requester (see plainly).
func (r *request) failure(c tierzero.ToolCall, e *tierzero.Error) string {
	if r.req.Role != tierzero.RoleEmployee {
		return r.plainly(c, e.Message)
	}
	switch e.Code {
	case tierzero.EDenied, tierzero.EPending:
		return r.plainly(c, strings.TrimPrefix(e.Message, "denied by policy: "))
	}
	return e.Plainly()
}
