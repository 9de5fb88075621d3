package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// TestPlans: a plan's progress survives a reopen, is listed as open until
// its report is given, and stays in its tenant; the intents of a step are
// found by conversation, action and exact canonical arguments.
func TestPlans(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	call := tierzero.ToolCall{ID: "a1-1", Action: "user.revoke_sessions", Args: json.RawMessage(`{"user":"x@contoso.com"}`)}
	p := tierzero.Plan{ID: "a1", Tenant: "contoso", Action: tierzero.ActionOffboard, User: "x@contoso.com", Conversation: "C1",
		Steps: []tierzero.PlanStep{{Call: call, Label: "sign x out", State: tierzero.StepRunning}}, Created: t0}
	if err := db.PutPlan(ctx, "contoso", p); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPlan(ctx, "fabrikam", p); err == nil {
		t.Fatal("a plan of contoso was recorded in fabrikam")
	}
	for _, in := range []tierzero.Intent{
		{ID: "n1", Action: call.Action, Args: call.Args, Conversation: "C1", Started: t0},
		{ID: "n2", Action: call.Action, Args: json.RawMessage(`{"user":"y@contoso.com"}`), Conversation: "C1", Started: t0},
		{ID: "n3", Action: call.Action, Args: call.Args, Conversation: "C2", Started: t0},
	} {
		if err := db.BeginIntent(ctx, "contoso", in); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = openTest(t, dir, Options{})
	got, ok, err := db.Plan(ctx, "contoso", "a1")
	if err != nil || !ok || got.Steps[0].State != tierzero.StepRunning || got.Steps[0].Label != "sign x out" {
		t.Fatalf("after reopen: %v %v %+v", ok, err, got)
	}
	open, err := db.OpenPlans(ctx, "contoso")
	if err != nil || len(open) != 1 {
		t.Fatalf("open plans: %v %d", err, len(open))
	}
	ins, err := db.IntentsOf(ctx, "contoso", "C1", call.Action, call.Args)
	if err != nil || len(ins) != 1 || ins[0].ID != "n1" {
		t.Fatalf("intents of the step: %v %+v", err, ins)
	}
	got.Finished = t0.Add(time.Minute)
	if err := db.PutPlan(ctx, "contoso", got); err != nil {
		t.Fatal(err)
	}
	if open, _ := db.OpenPlans(ctx, "contoso"); len(open) != 0 {
		t.Fatalf("a reported plan is still open: %+v", open)
	}
	if _, ok, _ := db.Plan(ctx, "fabrikam", "a1"); ok {
		t.Fatal("fabrikam sees contoso's plan")
	}
}
