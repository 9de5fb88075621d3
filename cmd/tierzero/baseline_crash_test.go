package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// TestCrashBaselineApply kills a real tierzero process with SIGKILL while it
// runs fabrikam's approved create phase (tierzero approvals decide): between
// two steps, and inside a step after Graph applied it but before its answer
// arrived. The next baseline apply resumes the plan first (reconciling the
// step in flight through its read-back), then proposes only what is left.
// Whatever the point: every step is done, every object of the plan exists
// exactly once (counted by name in the simulator), each Conditional
// Access policy report-only, one plan report in the audit, no intent or
// plan left open, and the audit chain verifies.
func TestCrashBaselineApply(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes; -short skips it")
	}
	for _, point := range []string{"between_steps", "after_graph"} {
		for run := 0; run < *planCrashRuns; run++ {
			t.Run(fmt.Sprintf("%s/%d", point, run), func(t *testing.T) { crashBaseline(t, point) })
		}
	}
}

func crashBaseline(t *testing.T, point string) {
	e := &baselineEnv{t: t, sim: sim.New(sim.Options{}), data: t.TempDir()}
	// The third write: a step in the middle of the plan.
	g := &crashGraph{h: e.sim, point: point, killAt: 3, record: e.record}
	srv := httptest.NewServer(g)
	defer srv.Close()
	e.url = srv.URL + "/v1.0"

	want := e.plan("fabrikam")
	id, phase, _ := e.apply("fabrikam", baselineTech)
	if phase != "create" {
		t.Fatalf("apply proposed %q", phase)
	}
	_, pa := e.approvalPlan("fabrikam", id)

	// The approver's process runs the plan and is killed at the point.
	args := []string{"approvals", "decide", id, "approve", "--tenant", "fabrikam", "--as", fabrikamAdmin, "--graph-url", e.url, "--data", e.data}
	g.approveKilled(t, args, 2)
	cut := len(e.writesSince(0))

	// The next apply resumes the plan, then proposes only the enable phase.
	_, phase, r := e.apply("fabrikam", baselineTech)
	if !strings.Contains(r.stdout, "plan "+id+" was left unfinished by a stopped process: resuming it") {
		t.Errorf("apply did not resume plan %s:\n%s%s", id, r.stdout, r.stderr)
	}
	if phase != "enable" {
		t.Errorf("after the resumed create phase apply proposed %q, want enable:\n%s", phase, r.stdout)
	}

	db := e.openStore()
	ctx := context.Background()
	p, found, err := db.Plan(ctx, "fabrikam", id)
	open, err2 := db.OpenIntents(ctx, "fabrikam")
	openPlans, err3 := db.OpenPlans(ctx, "fabrikam")
	db.Close()
	if err != nil || err2 != nil || err3 != nil || !found {
		t.Fatalf("plan %s: found %v (%v %v %v)", id, found, err, err2, err3)
	}
	if len(open) != 0 || len(openPlans) != 0 {
		t.Fatalf("after the resume: %d intents and %d plans without an outcome", len(open), len(openPlans))
	}
	if len(p.Steps) != len(pa.Steps) {
		t.Fatalf("the plan has %d steps, want %d", len(p.Steps), len(pa.Steps))
	}
	for _, st := range p.Steps {
		if st.State != tierzero.StepDone {
			t.Errorf("step %q: %s (%s)", st.Label, st.State, st.Detail)
		}
	}
	st := e.state("fabrikam")
	ca := byName(st.ConditionalAccess)
	for _, name := range itemNames(want.Items, "conditional_access", "create") {
		if n := len(ca[name]); n != 1 {
			t.Errorf("%d Conditional Access policies named %q", n, name)
		} else if s := ca[name][0]["state"]; s != "enabledForReportingButNotEnforced" {
			t.Errorf("%q is %v", name, s)
		}
	}
	comp := byName(st.CompliancePolicies)
	for _, name := range itemNames(want.Items, "compliance", "create", "update", "leave") {
		if n := len(comp[name]); n != 1 {
			t.Errorf("%d compliance policies named %q", n, name)
		}
	}
	if len(ca) != len(itemNames(want.Items, "conditional_access", "create")) {
		t.Errorf("Conditional Access policies %v", baselineKeys(ca))
	}
	if v := run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--data", e.data); v.code != 0 {
		t.Fatalf("audit verify: %s %s", v.stdout, v.stderr)
	}
	reports, reconciled := 0, ""
	for _, rec := range e.audit("fabrikam") {
		switch rec.Kind {
		case string(tierzero.AuditPlanReport):
			if rec.Facts["approval"] == id {
				reports++
			}
		case string(tierzero.AuditReconciled):
			reconciled += rec.Tool + ":" + rec.Outcome + " "
		}
	}
	if reports != 1 {
		t.Errorf("%d plan reports of %s in the audit, want 1", reports, id)
	}
	t.Logf("killed at %s after %d writes of %d steps; reconciled at the resume: %q", point, cut, len(pa.Steps), reconciled)
	if point == "after_graph" && reconciled == "" {
		t.Error("the step in flight was not reconciled")
	}
}

func baselineKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
