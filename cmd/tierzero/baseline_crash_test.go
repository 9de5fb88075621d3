package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
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
	const killAt = 3 // the third write: a step in the middle of the plan
	var (
		mu     sync.Mutex
		child  *os.Process
		writes int
	)
	kill := func() {
		mu.Lock()
		defer mu.Unlock()
		if child != nil {
			child.Signal(syscall.SIGKILL)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.record(r)
		if r.Method == http.MethodGet || strings.HasSuffix(r.URL.Path, "/$batch") || point != "after_graph" {
			e.sim.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		writes++
		n, armed := writes, child != nil
		mu.Unlock()
		if armed && n == killAt {
			rec := httptest.NewRecorder()
			e.sim.ServeHTTP(rec, r) // applied...
			kill()                  // ...and the process dies before it hears back
			w.WriteHeader(rec.Code)
			return
		}
		e.sim.ServeHTTP(w, r)
	}))
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
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TIERZERO_CRASH_CHILD=1", "TIERZERO_CRASH_ARGS="+string(raw), "TIERZERO_LOG=debug")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	child = cmd.Process
	mu.Unlock()
	killed := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		l := sc.Text()
		if point == "between_steps" && strings.Contains(l, `msg="plan step settled"`) && strings.Contains(l, " step=2 ") {
			killed = true
			kill()
		}
	}
	io.Copy(io.Discard, stderr)
	err := cmd.Wait()
	if point == "after_graph" {
		mu.Lock()
		killed = writes >= killAt
		mu.Unlock()
	}
	if !killed || err == nil {
		t.Fatalf("the approver's process was not killed at %s (exit: %v)", point, err)
	}
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
