package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/store"
)

var planCrashRuns = flag.Int("crash.planruns", 1, "runs per kill point of TestCrashOffboarding")

const (
	offboarder  = "allan.deyoung@contoso.com" // a tenant admin who asks
	offApprover = "alex.wilber@contoso.com"   // a tenant admin who approves
	leaver      = "christie.cline@contoso.com"
)

// TestCrashOffboarding kills a real tierzero process with SIGKILL in the
// middle of an offboarding plan, which it runs once a tenant admin approves
// it (tierzero approvals decide): between two steps, and inside a step
// after Graph applied it but before its answer arrived. A new process then
// reconciles and resumes the plan. Whatever the point: every step is done,
// each was applied in Graph exactly once (the simulator's journal), no
// intent is left open, and the audit chain verifies.
func TestCrashOffboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes; -short skips it")
	}
	for _, point := range []string{"between_steps", "after_graph"} {
		for run := 0; run < *planCrashRuns; run++ {
			t.Run(fmt.Sprintf("%s/%d", point, run), func(t *testing.T) { crashOffboarding(t, point) })
		}
	}
}

func crashOffboarding(t *testing.T, point string) {
	s := sim.New(sim.Options{})
	// The fourth step's write: the manager's OneDrive access.
	g := &crashGraph{h: s, point: point, killAt: 4}
	srv := httptest.NewServer(g)
	defer srv.Close()
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "tierzero.yaml")
	conf := "graph_url: " + srv.URL + "/v1.0\ntenants:\n  contoso:\n    auth: {method: simulator}\n    admins: [" + offboarder + ", " + offApprover + "]\n  fabrikam:\n    auth: {method: simulator}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	// The technician asks and confirms: the plan waits for approval.
	r := run(t, noEnv, "offboard christie cline, her last day was friday\nyes\n", "chat", "--config", cfg, "--tenant", "contoso", "--as", offboarder, "--data", data)
	if r.code != 0 {
		t.Fatalf("chat: exit %d: %s", r.code, r.stderr)
	}
	id := planApproval(t, data)
	if n := len(successfulWrites(s)); n != 0 {
		t.Fatalf("%d writes before the approval", n)
	}

	// The approver's process runs the plan and is killed at the point.
	args := []string{"approvals", "decide", id, "approve", "--config", cfg, "--tenant", "contoso", "--as", offApprover, "--data", data}
	g.approveKilled(t, args, 3)
	half := len(successfulWrites(s))
	if half == 0 || half >= 8 {
		t.Fatalf("killed at %s after %d writes: want a plan cut in the middle", point, half)
	}

	// The next process reconciles and finishes the plan before it serves.
	r = run(t, noEnv, "", "chat", "--config", cfg, "--tenant", "contoso", "--as", offboarder, "--data", data)
	if r.code != 0 {
		t.Fatalf("restart: exit %d: %s", r.code, r.stderr)
	}

	key, err := store.ReadKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(data, store.Options{MasterKey: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, found, err := db.Plan(ctx, "contoso", id)
	open, err2 := db.OpenIntents(ctx, "contoso")
	openPlans, err3 := db.OpenPlans(ctx, "contoso")
	db.Close()
	if err != nil || err2 != nil || err3 != nil || !found {
		t.Fatalf("plan %s: found %v (%v %v %v)", id, found, err, err2, err3)
	}
	if len(open) != 0 || len(openPlans) != 0 {
		t.Fatalf("after restart: %d intents and %d plans without an outcome", len(open), len(openPlans))
	}
	if len(p.Steps) != 8 {
		t.Fatalf("the plan has %d steps, want 8", len(p.Steps))
	}
	for _, st := range p.Steps {
		if st.State != tierzero.StepDone {
			t.Errorf("step %q: %s (%s)", st.Label, st.State, st.Detail)
		}
	}
	// Each step is one write of its own (PATCH the account, POST sign-out,
	// PATCH the mailbox settings, POST the invitation, POST assignLicense,
	// DELETE two memberships, POST retire): each exactly once.
	seen := map[string]int{}
	for _, w := range successfulWrites(s) {
		seen[w.Method+" "+w.Path]++
	}
	if len(seen) != 8 {
		t.Errorf("%d distinct writes, want one per step (8): %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s was sent %d times", k, n)
		}
	}
	if v := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data); v.code != 0 {
		t.Fatalf("audit verify: %s %s", v.stdout, v.stderr)
	}
	recs, _ := auditExport(t, data)
	reports, reconciled := 0, ""
	for _, rec := range recs {
		switch rec.Kind {
		case string(tierzero.AuditPlanReport):
			reports++
		case string(tierzero.AuditReconciled):
			reconciled += rec.Tool + ":" + rec.Outcome + " "
		}
	}
	t.Logf("killed at %s after %d of 8 writes; reconciled at restart: %q", point, half, reconciled)
	if point == "after_graph" && reconciled != "onedrive.grant_access:done " {
		t.Fatalf("the step in flight was reconciled as %q, want onedrive.grant_access:done", reconciled)
	}
	if reports != 1 {
		t.Fatalf("%d plan reports in the audit, want 1", reports)
	}
}

// planApproval returns the id of the one pending offboarding approval.
func planApproval(t *testing.T, data string) string {
	t.Helper()
	key, err := store.ReadKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(data, store.Options{MasterKey: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := db.ListApprovals(context.Background(), "contoso", tierzero.ApprovalPending)
	if err != nil || len(as) != 1 || as[0].Action != tierzero.ActionOffboard {
		t.Fatalf("pending approvals: %v %+v", err, as)
	}
	return as[0].ID
}

func successfulWrites(s *sim.Server) []sim.JournalEntry {
	var out []sim.JournalEntry
	for _, j := range s.Journal("contoso") {
		if j.Method != http.MethodGet && j.Status < 300 {
			out = append(out, j)
		}
	}
	return out
}

// crashGraph stands in front of the simulator h for a crash test of a plan
// run by `tierzero approvals decide` in a child process: at point
// "after_graph" it lets the killAt-th write apply and kills the child
// before it hears back; reads (GETs, and JSON batches of reads) pass.
type crashGraph struct {
	h      http.Handler
	point  string
	killAt int
	// record, when set, sees every request first.
	record func(*http.Request)

	mu     sync.Mutex
	child  *os.Process
	writes int
}

func (g *crashGraph) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.child != nil {
		g.child.Signal(syscall.SIGKILL)
	}
}

func (g *crashGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.record != nil {
		g.record(r)
	}
	if r.Method == http.MethodGet || strings.HasSuffix(r.URL.Path, "/$batch") || g.point != "after_graph" {
		g.h.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	g.writes++
	n, armed := g.writes, g.child != nil
	g.mu.Unlock()
	if armed && n == g.killAt {
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, r) // applied...
		g.kill()              // ...and the process dies before it hears back
		w.WriteHeader(rec.Code)
		return
	}
	g.h.ServeHTTP(w, r)
}

// approveKilled runs args (an approvals decide) in a child process and
// kills it at the point: "between_steps" once the plan's step-th step has
// settled, "after_graph" at the killAt-th write. t fails unless it was
// killed there.
func (g *crashGraph) approveKilled(t *testing.T, args []string, step int) {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TIERZERO_CRASH_CHILD=1", "TIERZERO_CRASH_ARGS="+string(raw), "TIERZERO_LOG=debug")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.child = cmd.Process
	g.mu.Unlock()
	killed := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		l := sc.Text()
		if g.point == "between_steps" && strings.Contains(l, `msg="plan step settled"`) && strings.Contains(l, fmt.Sprintf(" step=%d ", step)) {
			killed = true
			g.kill()
		}
	}
	io.Copy(io.Discard, stderr)
	err := cmd.Wait()
	if g.point == "after_graph" {
		g.mu.Lock()
		killed = g.writes >= g.killAt
		g.mu.Unlock()
	}
	if !killed || err == nil {
		t.Fatalf("the approver's process was not killed at %s (exit: %v)", g.point, err)
	}
}
