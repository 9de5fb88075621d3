package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// planStore is what running lifecycle plans needs of the store (store.DB).
type planStore interface {
	PutPlan(ctx context.Context, tenant tierzero.TenantID, p tierzero.Plan) error
	Plan(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Plan, bool, error)
	OpenPlans(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Plan, error)
	IntentsOf(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, action string, args json.RawMessage) ([]tierzero.Intent, error)
	Approval(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Approval, error)
	ListApprovals(ctx context.Context, tenant tierzero.TenantID, state tierzero.ApprovalState) ([]tierzero.Approval, error)
}

// planGuard runs one step of an approved plan (policy.Guard.RunPlanStep).
type planGuard interface {
	RunPlanStep(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall, plan tierzero.Approval, approvedBy []tierzero.Requester) (tierzero.ToolResult, error)
}

// planner returns the store and guard that run plans, or false when this
// desk's cannot (a test's fakes).
func (d *Desk) planner() (planStore, planGuard, bool) {
	s, ok1 := d.cfg.Store.(planStore)
	g, ok2 := d.cfg.Guard.(planGuard)
	return s, g, ok1 && ok2
}

// startPlan runs the plan that approval a let run (a plan call, approved
// and executed: see tierzero.ActionOffboard), approver being who approved
// it last, as the channel verified them. It returns the report.
func (d *Desk) startPlan(ctx context.Context, a tierzero.Approval, approver tierzero.Requester) (string, error) {
	s, _, ok := d.planner()
	if !ok {
		return "", tierzero.Errorf(tierzero.EUnavailable, "plans cannot run here")
	}
	p, found, err := s.Plan(ctx, a.Tenant, a.ID)
	if err != nil {
		return "", err
	}
	if !found {
		if p, err = d.newPlan(ctx, a, &approver); err != nil {
			return "", err
		}
	}
	return d.runPlan(ctx, p)
}

// newPlan records the plan of an executed plan approval, every step
// pending, and audits that it starts. The people who approved it are
// identified again here (their role from configuration, their account from
// the directory); last, when set, is the one the channel just verified.
func (d *Desk) newPlan(ctx context.Context, a tierzero.Approval, last *tierzero.Requester) (tierzero.Plan, error) {
	s, _, _ := d.planner()
	var by []tierzero.Requester
	for _, dc := range a.Decisions {
		if !dc.Approve {
			continue
		}
		if last != nil && strings.EqualFold(last.UPN, dc.Approver) {
			by = append(by, *last)
			continue
		}
		tenant := a.Tenant
		if d.cfg.Staff.Home != "" {
			if _, ok := d.cfg.Staff.Technician(dc.Approver); ok {
				tenant = d.cfg.Staff.Home
			}
		}
		r, err := d.Identify(ctx, tenant, a.Requester.Channel, tierzero.PlatformUser{UPN: dc.Approver})
		if err != nil {
			d.log.Warn("plan approver", "tenant", a.Tenant, "approval", a.ID, "approver", dc.Approver, "err", err)
			continue
		}
		by = append(by, r)
	}
	p, err := tierzero.NewPlan(a, by, d.cfg.Now())
	if err != nil {
		return p, fmt.Errorf("plan %s: %w", a.ID, err)
	}
	if err := s.PutPlan(ctx, a.Tenant, p); err != nil {
		return p, err
	}
	ev := tierzero.AuditEvent{Kind: tierzero.AuditPlanStarted, Conversation: a.Conversation, Requester: a.Requester.UPN,
		Channel: a.Requester.Channel, Tool: a.Action, CallID: a.CallID, Facts: map[string]string{"approval": a.ID, "steps": fmt.Sprint(len(p.Steps))}}
	if err := d.cfg.Store.Append(ctx, a.Tenant, ev); err != nil {
		return p, fmt.Errorf("audit plan start: %w", err)
	}
	return p, nil
}

// runPlan runs the steps of p that are not settled, in order, each through
// the Guard, recording each step's state before and after it runs; then it
// reports. A step found running (the process died during it) is settled
// from its intent, which reconciliation at start read back through Graph:
// done if it applied; run (once) if the read-back shows it never applied or
// it never got as far as an intent; left for a person if nobody can tell.
// A step with Stop that does not succeed stops the plan: the steps after it
// are skipped.
func (d *Desk) runPlan(ctx context.Context, p tierzero.Plan) (string, error) {
	s, g, _ := d.planner()
	a, err := s.Approval(ctx, p.Tenant, p.ID)
	if err != nil {
		return "", fmt.Errorf("plan %s: %w", p.ID, err)
	}
	stopped := ""
	for i := range p.Steps {
		st := &p.Steps[i]
		if stopped != "" && (st.State == tierzero.StepPending) {
			st.State, st.Detail, st.Finished = tierzero.StepSkipped, "not run: "+stopped, d.cfg.Now()
			if err := s.PutPlan(ctx, p.Tenant, p); err != nil {
				return "", err
			}
			continue
		}
		if st.State == tierzero.StepRunning {
			if err := d.settleStep(ctx, s, &p, st); err != nil {
				return "", err
			}
		}
		if st.State == tierzero.StepPending {
			st.State, st.Started = tierzero.StepRunning, d.cfg.Now()
			if err := s.PutPlan(ctx, p.Tenant, p); err != nil {
				return "", err // not marked running: not run
			}
			d.log.Debug("plan step running", "tenant", p.Tenant, "plan", p.ID, "step", i+1, "tool", st.Call.Action)
			res, err := g.RunPlanStep(ctx, p.Tenant, p.Requester, p.Conversation, st.Call, a, p.ApprovedBy)
			if err != nil {
				return "", fmt.Errorf("plan %s step %d: %w", p.ID, i+1, err) // stays running: settled at the next start
			}
			st.Finished = d.cfg.Now()
			switch {
			case res.Error == nil:
				st.State, st.Detail = tierzero.StepDone, ""
			case res.Error.Code == tierzero.EDenied:
				st.State, st.Detail = tierzero.StepSkipped, strings.TrimPrefix(res.Error.Message, "denied by policy: ")
			default:
				st.State, st.Detail = tierzero.StepFailed, res.Error.Message
			}
			if !res.Secret.IsZero() {
				if err := d.planSecret(ctx, p, st, res.Secret); err != nil {
					st.Detail = "done, but " + err.Error()
				}
			}
			if err := s.PutPlan(ctx, p.Tenant, p); err != nil {
				return "", err
			}
			d.log.Debug("plan step settled", "tenant", p.Tenant, "plan", p.ID, "step", i+1, "state", st.State)
		}
		if st.Stop && st.State != tierzero.StepDone && stopped == "" {
			stopped = "\"" + st.Label + "\" did not succeed, so the rest was not started"
		}
	}
	report := p.Report()
	ev := tierzero.AuditEvent{Kind: tierzero.AuditPlanReport, Conversation: p.Conversation, Requester: p.Requester.UPN,
		Channel: p.Requester.Channel, Tool: p.Action, Text: report, Outcome: planOutcome(p), Facts: map[string]string{"approval": p.ID}}
	if err := d.cfg.Store.Append(ctx, p.Tenant, ev); err != nil {
		return "", fmt.Errorf("audit plan report: %w", err) // stays open: reported at the next start
	}
	p.Finished = d.cfg.Now()
	if err := s.PutPlan(ctx, p.Tenant, p); err != nil {
		return "", err
	}
	d.tell(ctx, a, report)
	return report, nil
}

// settleStep settles a step found running after a crash, from the intents
// of its call in the plan's conversation recorded since it started.
func (d *Desk) settleStep(ctx context.Context, s planStore, p *tierzero.Plan, st *tierzero.PlanStep) error {
	ins, err := s.IntentsOf(ctx, p.Tenant, p.Conversation, st.Call.Action, st.Call.Args)
	if err != nil {
		return fmt.Errorf("plan %s: %w", p.ID, err)
	}
	var last *tierzero.Intent
	for i := range ins {
		if !ins[i].Started.Before(st.Started) {
			last = &ins[i]
		}
	}
	switch {
	case last == nil:
		// It never reached the executor (no intent, no permit spent):
		// nothing ran, so it runs now.
		st.State = tierzero.StepPending
	case last.Outcome == tierzero.IntentDone:
		st.State, st.Detail = tierzero.StepDone, ""
	case last.Outcome == tierzero.IntentFailed && strings.Contains(last.Detail, "did not apply"):
		// The read-back at start shows it never took effect: sending it
		// now is its first application.
		st.State = tierzero.StepPending
	case last.Outcome == tierzero.IntentFailed:
		st.State, st.Detail = tierzero.StepFailed, last.Detail
	default:
		st.State, st.Detail = tierzero.StepFailed, "the process stopped during this step and whether it applied cannot be told; check it by hand"
	}
	if st.State != tierzero.StepPending {
		st.Finished = d.cfg.Now()
	}
	d.log.Info("plan step settled after restart", "tenant", p.Tenant, "plan", p.ID, "tool", st.Call.Action, "state", st.State)
	return s.PutPlan(ctx, p.Tenant, *p)
}

func planOutcome(p tierzero.Plan) string {
	for _, s := range p.Steps {
		if s.State != tierzero.StepDone {
			return "partial"
		}
	}
	return "done"
}

// resumePlans finishes, at start, the plans of tenant that a process
// stopped before their report, and starts those whose approval ran but
// whose plan was never recorded. Reconciliation has run first, so a step
// in flight has its intent settled.
func (d *Desk) resumePlans(ctx context.Context, tenant tierzero.TenantID) {
	s, _, ok := d.planner()
	if !ok {
		return
	}
	open, err := s.OpenPlans(ctx, tenant)
	if err != nil {
		d.log.Error("open plans", "tenant", tenant, "err", err)
		return
	}
	seen := map[string]bool{}
	for _, p := range open {
		seen[p.ID] = true
		if _, err := d.runPlan(ctx, p); err != nil {
			d.log.Error("resume plan", "tenant", tenant, "plan", p.ID, "err", err)
		}
	}
	executed, err := s.ListApprovals(ctx, tenant, tierzero.ApprovalExecuted)
	if err != nil {
		d.log.Error("plan approvals", "tenant", tenant, "err", err)
		return
	}
	for _, a := range executed {
		if !tierzero.IsPlanAction(a.Action) || seen[a.ID] {
			continue
		}
		if _, found, err := s.Plan(ctx, tenant, a.ID); err != nil || found {
			continue
		}
		if !d.planCallRan(ctx, s, a) {
			continue
		}
		p, err := d.newPlan(ctx, a, nil)
		if err == nil {
			_, err = d.runPlan(ctx, p)
		}
		if err != nil {
			d.log.Error("start plan", "tenant", tenant, "plan", a.ID, "err", err)
		}
	}
}

// planCallRan reports whether the plan call of executed approval a ran
// and succeeded, as its last intent says: a call its tool refused (a
// baseline plan that is no longer the planner's, graph.baselineApplyRecord)
// or that did not apply starts no plan. Without an intent (no intents are
// kept), an executed approval is taken as run, as Decide does.
func (d *Desk) planCallRan(ctx context.Context, s planStore, a tierzero.Approval) bool {
	ins, err := s.IntentsOf(ctx, a.Tenant, a.Conversation, a.Action, a.Args)
	if err != nil {
		d.log.Error("plan call intents", "tenant", a.Tenant, "plan", a.ID, "err", err)
		return false
	}
	if len(ins) == 0 {
		return true
	}
	if last := ins[len(ins)-1]; last.Outcome != tierzero.IntentDone {
		d.log.Info("plan not started: its plan call did not run", "tenant", a.Tenant, "plan", a.ID, "outcome", last.Outcome, "detail", last.Detail)
		return false
	}
	return true
}

// approvedPlan runs the plan an approver just approved, and tells the
// approver what became of it (the requester gets the report in their
// conversation).
func (d *Desk) approvedPlan(ctx context.Context, a tierzero.Approval, approver tierzero.Requester) (Verdict, error) {
	d.tell(ctx, a, fmt.Sprintf("%s approved your plan: %s. Its steps run now; the report follows.", approver.UPN, a.Summary))
	report, err := d.startPlan(ctx, a, approver)
	if err != nil {
		d.log.Error("run plan", "tenant", a.Tenant, "plan", a.ID, "err", err)
		return Verdict{Approval: a, Text: fmt.Sprintf("You approved %s. Its steps did not all run yet; they resume at the next start.", a.ID)}, nil
	}
	return Verdict{Approval: a, Text: fmt.Sprintf("You approved %s, and it ran.\n%s", a.ID, report)}, nil
}

// planSecret delivers the secret a step made: an onboarding's Temporary
// Access Pass to the new hire's manager, privately (not to the requester,
// not to the thread); any other to the plan's requester alone. The manager
// is identified as the channel identifies anyone, from the directory.
func (d *Desk) planSecret(ctx context.Context, p tierzero.Plan, st *tierzero.PlanStep, s tierzero.Secret) error {
	to := p.Requester
	if secretToManager(p, st, s) {
		m, err := d.Identify(ctx, p.Tenant, p.Requester.Channel, tierzero.PlatformUser{UPN: p.Manager})
		if err != nil {
			d.log.Error("plan secret: manager", "tenant", p.Tenant, "plan", p.ID, "err", err)
			return fmt.Errorf("the manager could not be reached, so the %s was not delivered; issue a new one", s.Label)
		}
		to = m
	}
	d.send(ctx, tierzero.Outbound{Tenant: to.Tenant, Channel: to.Channel, To: to, Secret: s})
	if to.UPN != p.Requester.UPN {
		st.Detail = "the " + s.Label + " went privately to " + to.UPN
	}
	return nil
}

// secretToManager reports whether the secret step st made goes to the
// plan's manager: only an onboarding's Temporary Access Pass for its new
// hire does. Any other secret a step makes (a password, a key, a pass for
// someone else) is the requester's.
func secretToManager(p tierzero.Plan, st *tierzero.PlanStep, s tierzero.Secret) bool {
	if p.Action != tierzero.ActionOnboard || p.Manager == "" || s.Kind != "temporary_access_pass" {
		return false
	}
	var a struct {
		User string `json:"user"`
	}
	return json.Unmarshal(st.Call.Args, &a) == nil && strings.EqualFold(strings.TrimSpace(a.User), p.User)
}
