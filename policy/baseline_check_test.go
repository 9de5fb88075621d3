package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// fakePlans is a PlanChecker that answers err and records what it was
// asked.
type fakePlans struct {
	err   error
	calls []tierzero.ToolCall
}

func (f *fakePlans) CheckPlan(_ context.Context, _ tierzero.TenantID, call tierzero.ToolCall) error {
	f.calls = append(f.calls, call)
	return f.err
}

// countingApprovals records the approvals requested; it keeps none.
type countingApprovals struct{ created []tierzero.Approval }

func (c *countingApprovals) CreateApproval(_ context.Context, _ tierzero.TenantID, a tierzero.Approval) (tierzero.Approval, error) {
	a.ID, a.State = "ap1", tierzero.ApprovalPending
	c.created = append(c.created, a)
	return a, nil
}

func (c *countingApprovals) Approval(context.Context, tierzero.TenantID, string) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "no approval")
}

func (c *countingApprovals) DecideApproval(context.Context, tierzero.TenantID, string, string, bool, time.Time) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "no approval")
}

func (c *countingApprovals) ClaimApproval(context.Context, tierzero.TenantID, string, time.Time) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "no approval")
}

// planCheckRig is a Guard with GuardConfig.Plans, the built-in baseline
// (a technician's baseline plan needs a tenant admin's approval) or the
// policies given.
type planCheckRig struct {
	g         *Guard
	plans     *fakePlans
	exec      *fakeExec
	audit     *fakeAudit
	approvals *countingApprovals
}

func newPlanCheckRig(t *testing.T, policies string) *planCheckRig {
	t.Helper()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	set := Baseline()
	if policies != "" {
		f, err := Parse("test.yaml", []byte(policies))
		if err != nil {
			t.Fatal(err)
		}
		if set, err = NewSet(f); err != nil {
			t.Fatal(err)
		}
	}
	r := &planCheckRig{plans: &fakePlans{}, exec: &fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), nil)},
		audit: &fakeAudit{}, approvals: &countingApprovals{}}
	spec := func(action string, write bool, props string) tierzero.ToolSpec {
		return tierzero.ToolSpec{Action: action, Write: write,
			Schema: json.RawMessage(`{"type":"object","properties":{` + props + `},"additionalProperties":false}`)}
	}
	r.g, err = NewGuard(GuardConfig{
		Policies: set, Signer: signer, Executor: r.exec, Audit: r.audit, Directory: approvalDir,
		Tools: []tierzero.ToolSpec{
			spec(tierzero.ActionBaselinePlan, false, `"impact_days":{"type":"integer"}`),
			spec(tierzero.ActionBaselineApply, true, `"phase":{"type":"string"},"steps":{"type":"array"}`),
			spec("baseline.enable_ca_policy", true, `"id":{"type":"string"},"name":{"type":"string"}`),
			toolSpec("user.get", false),
		},
		TargetOf:  newTestGuardTargetOf,
		Approvals: r.approvals,
		Plans:     r.plans,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decided returns the audit's decided records of action.
func (r *planCheckRig) decided(action string) []tierzero.AuditEvent {
	var out []tierzero.AuditEvent
	for _, ev := range r.audit.events {
		if ev.Kind == tierzero.AuditDecided && ev.Tool == action {
			out = append(out, ev)
		}
	}
	return out
}

// baselineApplyCall is a proposed enable plan whose label claims nobody
// would be blocked; the args are not canonical (key order, spacing).
func baselineApplyCall() tierzero.ToolCall {
	return tierzero.ToolCall{ID: "a1", Action: tierzero.ActionBaselineApply, Args: json.RawMessage(`{"steps":[{"action":"baseline.enable_ca_policy",` +
		`"args":"{\"id\":\"p1\",\"name\":\"Require MFA for all users\"}","label":"switch on \"Require MFA for all users\"; sign-in impact in the last 7 days: ` +
		`it applied to 9 sign-ins by 3 users, of which 9 would have passed, 0 would have been asked for MFA and 0 would have been blocked or refused"}],  "phase":"enable"}`)}
}

var (
	planTech  = tierzero.Requester{Tenant: "contoso", UPN: "alex@contoso.com", ObjectID: "id-alex", Role: tierzero.RoleMSPTechnician}
	planAdmin = tierzero.Requester{Tenant: "contoso", UPN: "ta1@contoso.com", ObjectID: "id-ta1", Role: tierzero.RoleTenantAdmin}
	planEmp   = tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", ObjectID: "id-adele", Role: tierzero.RoleEmployee}
)

// A baseline plan that is not the planner's, or that could not be checked,
// is denied when proposed: audited with the reason, and no approver is
// asked, nothing runs. The planner's plan goes on to its approval, checked
// in its canonical form.
func TestGuardChecksBaselinePlanWhenProposed(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"not the planner's", tierzero.Errorf(tierzero.EConflict, `step 1's sign-in impact is not the one the sign-in logs give now`),
			"this is not the plan baseline.plan gives now: plan again"},
		{"not a plan", tierzero.Errorf(tierzero.EInvalid, "a baseline plan names its phase"),
			"this is not the plan baseline.plan gives now: plan again"},
		{"graph unreadable", tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph is unavailable"),
			"could not check that this is the plan baseline.plan gives now (Microsoft Graph is unavailable)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newPlanCheckRig(t, "")
			r.plans.err = c.err
			res, err := r.g.RunTool(ctx, "contoso", planTech, "conv", baselineApplyCall())
			if err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied || !strings.Contains(res.Error.Message, c.want) ||
				!strings.Contains(res.Error.Message, tierzero.ErrorMessage(c.err)) {
				t.Fatalf("result %+v, %v; want denied saying %q and why", res.Error, err, c.want)
			}
			if len(r.plans.calls) != 1 {
				t.Fatalf("checked %d times", len(r.plans.calls))
			}
			ev := r.decided(tierzero.ActionBaselineApply)
			if len(ev) != 1 || ev[0].Effect != tierzero.EffectDeny || !strings.Contains(ev[0].Reason, c.want) || ev[0].Rule != "tech-baseline-apply" {
				t.Fatalf("audit %+v", ev)
			}
			for _, e := range r.audit.events {
				if e.Kind == tierzero.AuditApprovalRequested {
					t.Errorf("an approval was requested: %+v", e)
				}
			}
			if len(r.approvals.created) != 0 || len(r.exec.ran) != 0 {
				t.Fatalf("approvals %d, ran %v", len(r.approvals.created), r.exec.ran)
			}
		})
	}

	// The planner's plan: checked, in the canonical form that is audited
	// and approved, then sent for approval.
	r := newPlanCheckRig(t, "")
	call := baselineApplyCall()
	res, err := r.g.RunTool(ctx, "contoso", planTech, "conv", call)
	if err != nil || res.Error == nil || res.Error.Code != tierzero.EPending {
		t.Fatalf("the planner's plan: %+v, %v; want pending", res.Error, err)
	}
	canon, _ := tierzero.CanonicalArgs(call.Args)
	if len(r.plans.calls) != 1 || string(r.plans.calls[0].Args) != string(canon) || r.plans.calls[0].Action != tierzero.ActionBaselineApply {
		t.Fatalf("checked %+v", r.plans.calls)
	}
	if len(r.approvals.created) != 1 || string(r.approvals.created[0].Args) != string(canon) {
		t.Fatalf("approvals %+v", r.approvals.created)
	}
}

// Only a baseline plan that policy would let go on is checked: not a plan
// policy denies (Graph is not read for someone refused anyway), not a
// read, not a step, not another action.
func TestGuardChecksOnlyBaselinePlans(t *testing.T) {
	ctx := context.Background()
	r := newPlanCheckRig(t, "")
	r.plans.err = tierzero.Errorf(tierzero.EConflict, "would refuse")
	calls := []struct {
		who  tierzero.Requester
		call tierzero.ToolCall
	}{
		{planEmp, baselineApplyCall()}, // denied by policy
		{planTech, tierzero.ToolCall{ID: "r", Action: tierzero.ActionBaselinePlan, Args: json.RawMessage(`{}`)}},
		{planAdmin, tierzero.ToolCall{ID: "s", Action: "baseline.enable_ca_policy", Args: json.RawMessage(`{"id":"p1","name":"Require MFA for all users"}`)}},
		{planTech, tierzero.ToolCall{ID: "u", Action: "user.get", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)}},
	}
	for _, c := range calls {
		if _, err := r.g.RunTool(ctx, "contoso", c.who, "conv", c.call); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.plans.calls) != 0 {
		t.Fatalf("checked %+v", r.plans.calls)
	}
	if ran := r.exec.ran; len(ran) != 2 || ran[0].Action != tierzero.ActionBaselinePlan || ran[1].Action != "user.get" {
		t.Fatalf("ran %+v", ran)
	}
}

// A baseline plan a policy allows without approval is checked too, before
// it runs: refused, it runs nothing; the planner's runs.
func TestGuardChecksAllowedBaselinePlan(t *testing.T) {
	ctx := context.Background()
	r := newPlanCheckRig(t, `scope: {global: true}
rules:
  - id: admin-applies-baseline
    action: baseline.apply
    effect: allow
    when: {requester_role: [tenant_admin]}
`)
	r.plans.err = tierzero.Errorf(tierzero.EConflict, "step 1's label is not the planner's")
	res, err := r.g.RunTool(ctx, "contoso", planAdmin, "conv", baselineApplyCall())
	if err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied || len(r.exec.ran) != 0 {
		t.Fatalf("allowed, not the planner's: %+v, %v, ran %v", res.Error, err, r.exec.ran)
	}
	if ev := r.decided(tierzero.ActionBaselineApply); len(ev) != 1 || ev[0].Effect != tierzero.EffectDeny || ev[0].Rule != "admin-applies-baseline" {
		t.Fatalf("audit %+v", ev)
	}
	r.plans.err = nil
	res, err = r.g.RunTool(ctx, "contoso", planAdmin, "conv", baselineApplyCall())
	if err != nil || res.Error != nil || len(r.exec.ran) != 1 || len(r.plans.calls) != 2 {
		t.Fatalf("allowed, the planner's: %+v, %v, ran %v", res.Error, err, r.exec.ran)
	}
}
