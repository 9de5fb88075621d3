package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// PlanCovered is the outcome of the "decided" record of a plan step that
// policy sent for approval and that the plan's own approval covers.
const PlanCovered = "covered by the plan's approval"

// RunPlanStep runs one step of an approved lifecycle plan (see
// tierzero.ActionOffboard) for the plan's requester. The step is decided
// like any call (RunTool): the facts of now, the rules of now, the
// "decided" record before anything runs, a permit, an intent. What differs
// is a require_approval decision: it does not ask again when the plan's
// approval covers it, which is when plan is a plan call that was approved
// and executed, is bound to its canonical arguments, was made by req in
// tenant, lists exactly this call as a step, and enough of the people who
// approved it (approvedBy, as the chat platform verified them when they
// decided) are approvers the step's rule names (checked as Decide checks an
// approver: the directory, the manager, the group, the role). A step not
// covered is refused with the reason: it is left for a person, and no
// approval card is raised per step. A deny is a deny.
func (g *Guard) RunPlanStep(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall, plan tierzero.Approval, approvedBy []tierzero.Requester) (tierzero.ToolResult, error) {
	d, args, other := g.decide(ctx, tenant, req, call)
	outcome := ""
	if d.Effect != tierzero.EffectDeny {
		if why := inPlan(tenant, req, call.Action, args, plan); why != "" {
			d = tierzero.Decision{Effect: tierzero.EffectDeny, Rule: d.Rule, Layer: d.Layer, Reason: why}
		}
	}
	if d.Effect == tierzero.EffectRequireApproval {
		if n := g.coveredBy(ctx, tenant, req, call.Action, args, d, plan, approvedBy); n >= max(d.Count, DefaultCount) {
			outcome = PlanCovered + " " + plan.ID
		} else {
			d = tierzero.Decision{Effect: tierzero.EffectDeny, Rule: d.Rule, Layer: d.Layer, Approvers: d.Approvers, Count: d.Count,
				Reason: fmt.Sprintf("it needs the approval of %s, which the plan's approval does not give", tierzero.Approval{Approvers: d.Approvers}.ApproverText())}
		}
	}
	if err := g.auditDecision(ctx, tenant, req, conv, call, args, d, outcome); err != nil {
		return tierzero.ToolResult{CallID: call.ID, Action: call.Action, Decision: &d}, err
	}
	if res, refused := g.verdict(call, req, d, other); refused {
		return res, nil
	}
	call.Args = args
	return g.execute(ctx, tenant, req, conv, call, d)
}

// inPlan says why call is not a step that plan lets req run in tenant; ""
// when it is.
func inPlan(tenant tierzero.TenantID, req tierzero.Requester, action string, args []byte, plan tierzero.Approval) string {
	switch {
	case !tierzero.IsPlanAction(plan.Action):
		return "the approval is not a plan's"
	case plan.Tenant != tenant:
		return "the plan is of another tenant"
	case plan.State != tierzero.ApprovalExecuted:
		return "the plan was not approved"
	case !bound(plan):
		return "the plan does not match what was approved"
	case !sameUser(req.UPN, req.ObjectID, plan.Requester):
		return "the plan is someone else's"
	}
	pa, err := tierzero.DecodePlanArgs(plan.Args)
	if err != nil {
		return "the plan's steps cannot be read"
	}
	for _, s := range pa.Steps {
		c, err := s.Call("")
		if err == nil && c.Action == action && string(c.Args) == string(args) {
			return ""
		}
	}
	return "this call is not a step of the approved plan"
}

// coveredBy counts the people who approved plan and are approvers of the
// step that decision d sends for approval.
func (g *Guard) coveredBy(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, action string, args []byte, d tierzero.Decision, plan tierzero.Approval, approvedBy []tierzero.Requester) int {
	step := tierzero.Approval{Tenant: tenant, Action: action, Args: args, Requester: req, Approvers: d.Approvers, Count: d.Count}
	seen := map[string]bool{}
	n := 0
	for _, ap := range approvedBy {
		k := strings.ToLower(ap.UPN)
		if seen[k] || !approvedPlan(plan, ap.UPN) {
			continue
		}
		seen[k] = true
		if e := g.eligible(ctx, tenant, ap, step); e == nil {
			n++
		} else {
			g.log.Info("plan approver not an approver of the step", "tenant", tenant, "tool", action, "approver", ap.UPN, "reason", e.Message)
		}
	}
	return n
}

// approvedPlan reports whether upn is recorded as approving plan.
func approvedPlan(plan tierzero.Approval, upn string) bool {
	for _, d := range plan.Decisions {
		if d.Approve && strings.EqualFold(d.Approver, upn) {
			return true
		}
	}
	return false
}
