package main

// A baseline plan changed after baseline.plan, as a fooled model could
// propose it, runs nothing even once approved; the plan unchanged runs.
// A baseline step called on its own is refused. The
// real runtime (Guard, desk, store) and the real SDK against graph/sim.

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// proposeAs runs one tool call through the Guard as the technician and
// returns its result.
func proposeAs(t *testing.T, e *baselineEnv, conv tierzero.ConversationID, action string, args any) tierzero.ToolResult {
	t.Helper()
	ctx := context.Background()
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv, log: discardLogger()}
	home, err := a.technicianHome("", baselineTech)
	if err != nil {
		t.Fatal(err)
	}
	rt, req, err := a.openAs(ctx, runtimeOptions{data: e.data, graphURL: e.url}, "", home, baselineTech)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	raw, _ := json.Marshal(args)
	res, err := rt.guard.RunTool(ctx, "fabrikam", req, conv, tierzero.ToolCall{ID: baselineCallID(), Action: action, Args: raw})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// pendingID is the approval a pending result waits on.
func pendingID(t *testing.T, res tierzero.ToolResult) string {
	t.Helper()
	var out struct{ Approval string }
	if res.Error == nil || res.Error.Code != tierzero.EPending || json.Unmarshal(res.Output, &out) != nil || out.Approval == "" {
		t.Fatalf("not pending: %+v %s", res.Error, res.Output)
	}
	return out.Approval
}

func TestBaselineApplyTampered(t *testing.T) {
	e := newBaselineEnv(t)
	ctx := context.Background()
	conv := tierzero.ConversationID("cli-tamper")
	res := proposeAs(t, e, conv, tierzero.ActionBaselinePlan, map[string]any{})
	var planned struct {
		Plan tierzero.PlanArgs `json:"plan"`
	}
	if res.Error != nil || json.Unmarshal(res.Output, &planned) != nil || planned.Plan.Phase != tierzero.BaselineCreate {
		t.Fatalf("baseline.plan: %+v %s", res.Error, res.Output)
	}
	plan := planned.Plan
	ca := -1
	for i, s := range plan.Steps {
		if s.Action == "baseline.create_ca_policy" && strings.Contains(s.Label, "Require MFA for all users") {
			ca = i
		}
	}
	if ca < 0 {
		t.Fatalf("no MFA-for-all step in %+v", plan.Steps)
	}
	copyPlan := func(change func(p *tierzero.PlanArgs)) tierzero.PlanArgs {
		p := plan
		p.Steps = append([]tierzero.PlanStepArg(nil), plan.Steps...)
		change(&p)
		return p
	}
	// The MFA-for-all policy's body, made to block: labelled "require MFA"
	// still, and excluding the break-glass group (the tool alone would
	// create it).
	var caArgs map[string]string
	json.Unmarshal([]byte(plan.Steps[ca].Args), &caArgs)
	mfaBody := caArgs["body"]
	blocked := strings.Replace(caArgs["body"], `"mfa"`, `"block"`, 1)
	if blocked == caArgs["body"] {
		t.Fatalf("no mfa grant in %s", caArgs["body"])
	}
	caArgs["body"] = blocked
	blockArgs, _ := json.Marshal(caArgs)
	tampered := map[string]tierzero.PlanArgs{
		"args changed": copyPlan(func(p *tierzero.PlanArgs) { p.Steps[ca].Args = string(blockArgs) }),
		"step added": copyPlan(func(p *tierzero.PlanArgs) {
			p.Steps = append(p.Steps, tierzero.PlanStepArg{Action: "baseline.set_security_defaults", Args: `{"enabled":false}`, Label: "check the security defaults"})
		}),
		"label changed": copyPlan(func(p *tierzero.PlanArgs) {
			p.Steps[ca].Label = `create the Conditional Access policy "Require MFA for admins" (report-only: it enforces nothing until switched on)`
		}),
	}
	// Each is refused when proposed, before any approver is asked: the
	// Guard checks it against the plan baseline.plan gives now.
	for name, p := range tampered {
		res := proposeAs(t, e, conv, tierzero.ActionBaselineApply, p)
		if res.Error == nil || res.Error.Code != tierzero.EDenied || !strings.Contains(res.Error.Message, "not the plan baseline.plan gives now: plan again") {
			t.Errorf("%s proposed: %+v; want denied before any approval", name, res.Error)
		}
	}
	denied := 0
	for _, rec := range e.audit("fabrikam") {
		switch {
		case rec.Tool != tierzero.ActionBaselineApply:
		case rec.Kind == string(tierzero.AuditApprovalRequested):
			t.Errorf("an approval was requested for a plan not the planner's: %+v", rec)
		case rec.Kind == string(tierzero.AuditDecided) && rec.Effect == string(tierzero.EffectDeny):
			denied++
		}
	}
	if denied != len(tampered) {
		t.Errorf("%d refused proposals audited, want %d", denied, len(tampered))
	}
	// The planner's plan, proposed; then the tenant changes behind
	// tierzero's back (the MFA-for-all policy made by hand) before it is
	// approved: approved, it is no longer the planner's, and runs nothing.
	id0 := pendingID(t, proposeAs(t, e, conv, tierzero.ActionBaselineApply, plan))
	var byHand map[string]any
	json.Unmarshal([]byte(mfaBody), &byHand)
	code, made := e.graph("POST", "fabrikam", "/identity/conditionalAccess/policies", byHand)
	if code != 201 {
		t.Fatalf("policy made by hand: %d %v", code, made)
	}
	m := e.mark()
	r := e.run("approvals", "decide", id0, "approve", "--tenant", "fabrikam", "--as", fabrikamAdmin)
	if r.code != 1 || !strings.Contains(r.stdout, "its plan call was refused, so none of its steps ran") || !strings.Contains(r.stdout+r.stderr, "plan again") {
		t.Errorf("the approver is not told the plan was refused:\n%s%s", r.stdout, r.stderr)
	}
	if w := e.writesSince(m); len(w) != 0 {
		t.Fatalf("a plan no longer the planner's, approved: wrote %q", w)
	}
	refused := []string{id0}
	// A process that starts (as serve does) resumes approved plans: the
	// refused ones are not among them.
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv, log: discardLogger()}
	rt, err := a.openRuntime(ctx, runtimeOptions{data: e.data, graphURL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rt.Close()
	if w := e.writesSince(m); len(w) != 0 {
		t.Fatalf("the refused plans ran at the next start: %q", w)
	}

	// The policy made by hand gone, the plan is the planner's again.
	if code, _ := e.graph("DELETE", "fabrikam", "/identity/conditionalAccess/policies/"+made["id"].(string), nil); code != 204 {
		t.Fatalf("delete the policy made by hand: %d", code)
	}

	// A baseline step on its own is refused: it runs only as a step of
	// an approved plan, and no approval is requested for it.
	step := plan.Steps[ca]
	var stepArgs map[string]string
	json.Unmarshal([]byte(step.Args), &stepArgs)
	if res := proposeAs(t, e, conv, step.Action, stepArgs); res.Error == nil || res.Error.Code != tierzero.EDenied {
		t.Fatalf("a baseline step alone: %+v, want denied", res.Error)
	}

	// The plan unchanged runs, and the refused ones never start, in this
	// process or the next (whose desk resumes approved plans).
	id := pendingID(t, proposeAs(t, e, conv, tierzero.ActionBaselineApply, plan))
	e.decide(id, "approve", "fabrikam", fabrikamAdmin)
	if _, phase, _ := e.apply("fabrikam", baselineTech); phase != "enable" {
		t.Fatalf("after the approved plan, apply proposed %q", phase)
	}
	// A day of sign-ins passes under the report-only policies; baseline
	// plan shows the enable phase's sign-in impact, per policy and in each
	// step, as apply proposes it.
	if _, err := e.sim.PassDay("fabrikam"); err != nil {
		t.Fatal(err)
	}
	ep := e.plan("fabrikam")
	if ep.Plan.Phase != tierzero.BaselineEnable || !slices.ContainsFunc(ep.Impact, func(im tierzero.BaselineImpact) bool { return im.SignIns > 0 }) {
		t.Fatalf("plan --json of the enable phase: %q, impact %+v", ep.Plan.Phase, ep.Impact)
	}
	r = e.run("baseline", "plan", "fabrikam")
	if r.code != 0 || !strings.Contains(r.stdout, "Sign-in impact of switching the policies on") {
		t.Errorf("plan shows no impact: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, im := range ep.Impact {
		if !strings.Contains(r.stdout, "  "+im.Name+", since "+im.Since+": ") {
			t.Errorf("plan does not show the impact of %q:\n%s", im.Name, r.stdout)
		}
	}
	for _, s := range ep.Plan.Steps {
		if s.Action == "baseline.enable_ca_policy" && !strings.Contains(r.stdout, s.Label) {
			t.Errorf("plan does not show the step %q", s.Label)
		}
	}
	t.Logf("baseline plan of the enable phase:\n%s", r.stdout)

	st := e.state("fabrikam")
	for _, p := range st.ConditionalAccess {
		grant, _ := p["grantControls"].(map[string]any)
		if s, _ := json.Marshal(grant); strings.Contains(string(s), "block") && p["displayName"] == "Require MFA for all users" {
			t.Errorf("the tampered body was created: %v", p)
		}
	}
	if !st.SecurityDefaults {
		t.Error("the added step turned security defaults off")
	}
	failed := 0
	for _, rec := range e.audit("fabrikam") {
		if rec.Kind == string(tierzero.AuditApprovalExecuted) && rec.Outcome == "failed" && slices.Contains(refused, rec.Facts["approval"]) {
			failed++
		}
	}
	if failed != len(refused) {
		t.Errorf("%d refused executions audited, want %d", failed, len(refused))
	}
	db := e.openStore()
	defer db.Close()
	for _, rid := range refused {
		if p, found, err := db.Plan(ctx, "fabrikam", rid); err != nil || found {
			t.Errorf("refused plan %s recorded: %+v %v", rid, p, err)
		}
	}
	if p, found, err := db.Plan(ctx, "fabrikam", id); err != nil || !found || !p.Settled() {
		t.Errorf("the plan unchanged: found %v, %+v, %v", found, p, err)
	}
}
