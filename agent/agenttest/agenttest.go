// Package agenttest provides fakes for testing the agent and its models: a
// runner that plays policy and Graph with realistic decisions, an in-memory
// conversation store and audit trail, an escalator that records what it is
// handed, and the tool catalog as graph lists it (catalog.json, from
// `tierzero tools --json`). It imports the root package only.
package agenttest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tierzero/tierzero"
)

//go:embed catalog.json
var catalogJSON []byte

// Catalog returns the specs of graph's tools, as recorded in catalog.json.
func Catalog() []tierzero.ToolSpec {
	var specs []tierzero.ToolSpec
	if err := json.Unmarshal(catalogJSON, &specs); err != nil {
		panic("agenttest: catalog.json: " + err.Error())
	}
	return specs
}

// Secret is the temporary password (or pass code) the Runner returns for
// every reset or pass it allows.
const Secret = "Tmp-S3cret-9f8e7d!"

// Runner plays policy.Guard in front of Graph: it records every call it is
// handed and decides it the way the baseline policy would (self-service for
// employees, anything on non-admin accounts for technicians and admins, no
// change to admin groups, devices only by their owner, approvals for
// passes, MFA resets and wipes; no self-service enable; a tenant's baseline
// read by technicians and admins, its writes for a tenant admin's
// approval, nothing of it for employees). Allowed calls answer with Outputs[action]
// or a small default output; resets and passes also carry Secret. A call that
// needs approval is refused as by a guard without approvals, or, with
// Approvals set, goes for approval as policy.Guard sends it.
type Runner struct {
	// Outputs are the outputs of allowed calls, by action.
	Outputs map[string]json.RawMessage
	// Devices maps a device id to its owner's UPN.
	Devices map[string]string
	// AdminGroups are group ids whose membership policy never changes.
	AdminGroups map[string]bool
	// Admins are UPNs that hold an admin role.
	Admins map[string]bool
	// Err, if set, is returned as a Go error (the audit failed).
	Err error
	// Approvals makes a call that needs approval go for approval (an
	// EPending result naming the approval) rather than be refused.
	Approvals bool

	mu      sync.Mutex
	calls   []tierzero.ToolCall
	tenants []tierzero.TenantID
	known   map[string]tierzero.ToolSpec
}

// Tenants returns the tenant each call was handed to the runner for, in
// order.
func (r *Runner) Tenants() []tierzero.TenantID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tierzero.TenantID(nil), r.tenants...)
}

// Calls returns the calls handed to the runner, in order.
func (r *Runner) Calls() []tierzero.ToolCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tierzero.ToolCall(nil), r.calls...)
}

// Actions returns the actions of the calls handed to the runner.
func (r *Runner) Actions() []string {
	var out []string
	for _, c := range r.Calls() {
		out = append(out, c.Action)
	}
	return out
}

// RunTool implements tierzero.ToolRunner.
func (r *Runner) RunTool(_ context.Context, tenant tierzero.TenantID, req tierzero.Requester, _ tierzero.ConversationID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.tenants = append(r.tenants, tenant)
	if r.known == nil {
		r.known = map[string]tierzero.ToolSpec{}
		for _, s := range Catalog() {
			r.known[s.Action] = s
		}
	}
	spec, known := r.known[call.Action]
	r.mu.Unlock()
	if r.Err != nil {
		return tierzero.ToolResult{}, r.Err
	}
	res := tierzero.ToolResult{CallID: call.ID, Action: call.Action}
	deny := func(rule, reason string) (tierzero.ToolResult, error) {
		res.Decision = &tierzero.Decision{Effect: tierzero.EffectDeny, Layer: "global", Rule: rule, Reason: reason}
		res.Error = tierzero.Errorf(tierzero.EDenied, "denied by policy: %s", reason)
		return res, nil
	}
	if !known {
		return deny("", "no policy allows "+call.Action)
	}
	var args map[string]any
	canon, err := tierzero.CanonicalArgs(call.Args)
	if err != nil {
		res.Error = tierzero.Errorf(tierzero.EInvalid, "%s", tierzero.ErrorMessage(err))
		return res, nil
	}
	json.Unmarshal(canon, &args)
	str := func(k string) string { s, _ := args[k].(string); return s }
	user := str("user")
	self := user == "" || strings.EqualFold(user, req.UPN) || user == req.ObjectID
	tech := req.Role == tierzero.RoleMSPTechnician || req.Role == tierzero.RoleTenantAdmin
	switch {
	case user != "" && r.Admins[strings.ToLower(user)] && spec.Write:
		return deny("never-change-admins", "accounts that hold an admin role are not changed through the bot")
	case call.Action == "group.add_member" || call.Action == "group.remove_member":
		if r.AdminGroups[str("group")] {
			return deny("never-change-admin-groups", "membership of administrative groups is not changed through the bot")
		}
	case strings.HasPrefix(call.Action, "device.") && str("device") != "":
		owner, ok := r.Devices[str("device")]
		if !ok {
			res.Decision = &tierzero.Decision{Effect: tierzero.EffectDeny, Reason: "the device was not found"}
			res.Error = tierzero.Errorf(tierzero.EDenied, "denied by policy: a fact is missing: the device's owner")
			return res, nil
		}
		self = strings.EqualFold(owner, req.UPN)
	}
	if !tech && call.Action == "user.enable" {
		return deny("", "no policy allows user.enable")
	}
	if strings.HasPrefix(call.Action, "baseline.") {
		// A tenant's baseline is IT's: its read for technicians and
		// admins, its plan and steps for a tenant admin's approval.
		if !tech {
			return deny("", "no policy allows "+call.Action)
		}
		if spec.Write {
			res.Decision = &tierzero.Decision{Effect: tierzero.EffectRequireApproval, Rule: "tech-" + call.Action, Reason: "a tenant admin approves", Approvers: []string{"role:tenant_admin"}}
			if r.Approvals {
				res.Output = json.RawMessage(`{"status":"pending_approval","approval":"appr-1","approvers":["role:tenant_admin"],"approver_text":"a tenant admin"}`)
				res.Error = tierzero.Errorf(tierzero.EPending, "sent for approval to a tenant admin; nothing changes until it is approved")
				return res, nil
			}
			res.Error = tierzero.Errorf(tierzero.EDenied, "%s needs approval (a tenant admin approves); nothing was changed", call.Action)
			return res, nil
		}
	}
	if !self && !tech {
		if spec.Write {
			return deny("", "self-service acts on the requester's own account only")
		}
		return deny("employees-never-read-others", "employees read their own data only")
	}
	switch call.Action {
	case "user.issue_tap", "user.reset_mfa", "device.wipe", "device.retire":
		res.Decision = &tierzero.Decision{Effect: tierzero.EffectRequireApproval, Rule: "self-" + call.Action, Reason: "needs the manager's approval", Approvers: []string{"manager"}}
		if r.Approvals {
			res.Output = json.RawMessage(`{"status":"pending_approval","approval":"appr-1","approvers":["manager"],"approver_text":"the manager"}`)
			res.Error = tierzero.Errorf(tierzero.EPending, "sent for approval to the manager; nothing changes until it is approved")
			return res, nil
		}
		res.Error = tierzero.Errorf(tierzero.EDenied, "%s needs approval (needs the manager's approval); nothing was changed", call.Action)
		return res, nil
	}
	res.Decision = &tierzero.Decision{Effect: tierzero.EffectAllow, Layer: "global", Rule: "allow-" + call.Action, Reason: "allowed"}
	if out, ok := r.Outputs[call.Action]; ok {
		res.Output = out
	} else {
		res.Output, _ = json.Marshal(map[string]any{"action": call.Action, "user": user, "done": true})
	}
	if call.Action == "user.reset_password" {
		res.Secret = tierzero.NewSecret("temporary_password", "temporary password", Secret)
	}
	return res, nil
}

// Store keeps conversations and audit events in memory. It is safe for
// concurrent use.
type Store struct {
	// FailSave makes SaveConversation fail.
	FailSave bool

	mu     sync.Mutex
	convs  map[string]tierzero.Conversation
	saves  map[string]int // convKey -> order of its last save
	nsaves int
	events []tierzero.AuditEvent
}

func convKey(t tierzero.TenantID, id tierzero.ConversationID) string {
	return string(t) + "/" + string(id)
}

// Conversation implements agent.Store.
func (s *Store) Conversation(_ context.Context, t tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.convs[convKey(t, id)]; ok {
		c.Turns = append([]tierzero.Turn(nil), c.Turns...)
		return c, nil
	}
	return tierzero.Conversation{ID: id, Tenant: t}, nil
}

// SaveConversation implements agent.Store; like the real store it encodes
// the conversation as JSON.
func (s *Store) SaveConversation(_ context.Context, t tierzero.TenantID, c tierzero.Conversation) error {
	if s.FailSave {
		return errors.New("disk full")
	}
	if c.Tenant != t {
		return fmt.Errorf("conversation of %s saved to %s", c.Tenant, t)
	}
	if _, err := json.Marshal(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.convs == nil {
		s.convs = map[string]tierzero.Conversation{}
	}
	c.Turns = append([]tierzero.Turn(nil), c.Turns...)
	s.convs[convKey(t, c.ID)] = c
	if s.saves == nil {
		s.saves = map[string]int{}
	}
	s.nsaves++
	s.saves[convKey(t, c.ID)] = s.nsaves
	return nil
}

// Saved returns the stored memory of the conversation thread id (see
// agent.MemoryID): of the requester whose memory was saved last.
func (s *Store) Saved(t tierzero.TenantID, id tierzero.ConversationID) tierzero.Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found tierzero.Conversation
	best := -1
	for k, c := range s.convs {
		if strings.HasPrefix(k, convKey(t, id)+"|") && s.saves[k] > best {
			found, best = c, s.saves[k]
		}
	}
	return found
}

// Append implements tierzero.Auditor.
func (s *Store) Append(_ context.Context, t tierzero.TenantID, ev tierzero.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev.Tenant = t
	ev.Seq = uint64(len(s.events) + 1)
	s.events = append(s.events, ev)
	return nil
}

// Events returns the audit events, in order.
func (s *Store) Events() []tierzero.AuditEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tierzero.AuditEvent(nil), s.events...)
}

// Kinds returns the audit kinds, comma-separated.
func (s *Store) Kinds() string {
	var k []string
	for _, e := range s.Events() {
		k = append(k, string(e.Kind))
	}
	return strings.Join(k, ",")
}

// Escalator records the escalations it is handed.
type Escalator struct {
	Err error // returned by Escalate

	mu  sync.Mutex
	got []tierzero.Escalation
}

// Escalate implements agent.Escalator.
func (e *Escalator) Escalate(_ context.Context, x tierzero.Escalation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, x)
	return e.Err
}

// Got returns the escalations handed over so far.
func (e *Escalator) Got() []tierzero.Escalation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]tierzero.Escalation(nil), e.got...)
}
