package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/store"
)

// The baseline's plan: a technician reads it, proposes it, a tenant admin
// approves it, and its steps then run within that approval; a baseline
// names no user, so none of these calls has a target.
func TestBaselinePlanThroughGuard(t *testing.T) {
	ctx := context.Background()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	exec := &lockedExec{fakeExec: fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), clock)}}
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: make([]byte, store.KeySize), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	spec := func(action string, write bool, props string) tierzero.ToolSpec {
		return tierzero.ToolSpec{Action: action, Write: write,
			Schema: json.RawMessage(`{"type":"object","properties":{` + props + `},"additionalProperties":false}`)}
	}
	g, err := NewGuard(GuardConfig{
		Policies: Baseline(), Signer: signer, Executor: exec, Audit: db, Directory: approvalDir,
		Tools: []tierzero.ToolSpec{
			spec(tierzero.ActionBaselinePlan, false, `"impact_days":{"type":"integer"}`),
			spec(tierzero.ActionBaselineApply, true, `"phase":{"type":"string"},"steps":{"type":"array"}`),
			spec("baseline.create_ca_policy", true, `"name":{"type":"string"},"body":{"type":"string"}`),
			spec("baseline.enable_ca_policy", true, `"id":{"type":"string"},"name":{"type":"string"}`),
		},
		TargetOf:  newTestGuardTargetOf,
		Intents:   db,
		Approvals: db,
		Now:       clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	tech := tierzero.Requester{Tenant: "contoso", UPN: "alex@contoso.com", ObjectID: "id-alex", Role: tierzero.RoleMSPTechnician}
	employee := tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", ObjectID: "id-adele", Role: tierzero.RoleEmployee}
	admin := tierzero.Requester{Tenant: "contoso", UPN: "ta1@contoso.com", ObjectID: "id-ta1", Role: tierzero.RoleTenantAdmin}

	read := tierzero.ToolCall{ID: "r", Action: tierzero.ActionBaselinePlan, Args: json.RawMessage(`{}`)}
	if res, err := g.RunTool(ctx, "contoso", tech, "conv", read); err != nil || res.Error != nil || res.Decision.Rule != "tech-baseline-plan" {
		t.Fatalf("technician's read: %+v, %v", res, err)
	}
	if res, err := g.RunTool(ctx, "contoso", employee, "conv", read); err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied {
		t.Fatalf("employee's read: %+v, %v; want denied", res, err)
	}

	step := tierzero.PlanStepArg{Action: "baseline.create_ca_policy",
		Args:  `{"body":"{\"displayName\":\"Require MFA for all users\",\"state\":\"enabledForReportingButNotEnforced\"}","name":"Require MFA for all users"}`,
		Label: `create the Conditional Access policy "Require MFA for all users" (report-only)`}
	// A baseline plan's arguments are its phase and steps (no user).
	plan, _ := json.Marshal(map[string]any{"phase": tierzero.BaselineCreate, "steps": []tierzero.PlanStepArg{step}})
	apply := tierzero.ToolCall{ID: "a", Action: tierzero.ActionBaselineApply, Args: plan}
	if res, err := g.RunTool(ctx, "contoso", employee, "conv", apply); err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied {
		t.Fatalf("employee's plan: %+v, %v; want denied", res, err)
	}
	res, err := g.RunTool(ctx, "contoso", tech, "conv", apply)
	if err != nil || res.Error == nil || res.Error.Code != tierzero.EPending || res.Decision.Rule != "tech-baseline-apply" {
		t.Fatalf("technician's plan: %+v, %v; want pending under tech-baseline-apply", res, err)
	}
	var out struct{ Approval string }
	if err := json.Unmarshal(res.Output, &out); err != nil || out.Approval == "" {
		t.Fatalf("output = %s", res.Output)
	}
	// The requester cannot approve their own plan; a tenant admin can.
	if _, _, err := g.Decide(ctx, "contoso", tech, out.Approval, true); err == nil {
		t.Fatal("the technician approved their own plan")
	}
	a, _, err := g.Decide(ctx, "contoso", admin, out.Approval, true)
	if err != nil || a.State != tierzero.ApprovalExecuted {
		t.Fatalf("approval: %+v, %v", a, err)
	}

	// Its step runs, covered by the plan's approval; a step it does not
	// list does not, nor does the step for an approver who is no tenant
	// admin.
	call, err := step.Call("s1")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := g.RunPlanStep(ctx, "contoso", tech, "conv", call, a, []tierzero.Requester{tech}); err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied {
		t.Fatalf("step approved by no tenant admin: %+v, %v; want denied", res, err)
	}
	if res, err := g.RunPlanStep(ctx, "contoso", tech, "conv", call, a, []tierzero.Requester{admin}); err != nil || res.Error != nil {
		t.Fatalf("step: %+v, %v; want it run", res, err)
	}
	other := tierzero.ToolCall{ID: "s2", Action: "baseline.enable_ca_policy", Args: json.RawMessage(`{"id":"p1","name":"Require MFA for all users"}`)}
	if res, err := g.RunPlanStep(ctx, "contoso", tech, "conv", other, a, []tierzero.Requester{admin}); err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied {
		t.Fatalf("a step the plan does not list: %+v, %v; want denied", res, err)
	}
	// Alone, outside a plan, a baseline step is refused whoever asks: no
	// approval is requested, nothing runs, and the refusal is audited.
	for _, who := range []tierzero.Requester{tech, admin} {
		for _, c := range []tierzero.ToolCall{call, other} {
			res, err := g.RunTool(ctx, "contoso", who, "conv", c)
			if err != nil || res.Error == nil || res.Error.Code != tierzero.EDenied || !strings.Contains(res.Error.Message, "only as a step of an approved baseline plan") {
				t.Errorf("%s alone by %s: %+v, %v; want denied", c.Action, who.UPN, res.Error, err)
			}
		}
	}
	if pending, err := db.ListApprovals(ctx, "contoso", tierzero.ApprovalPending); err != nil || len(pending) != 0 {
		t.Errorf("pending approvals after the refused steps: %d, %v", len(pending), err)
	}
	var ran []string
	for _, c := range exec.runs() {
		ran = append(ran, c.Action)
	}
	if want := []string{tierzero.ActionBaselinePlan, tierzero.ActionBaselineApply, "baseline.create_ca_policy"}; !equalStrings(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
