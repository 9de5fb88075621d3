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
		// Reads (GETs, and the POSTs of JSON batches of reads) pass.
		if r.Method == http.MethodGet || strings.HasSuffix(r.URL.Path, "/$batch") || point != "after_graph" {
			s.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		writes++
		n, armed := writes, child != nil
		mu.Unlock()
		if armed && n == 4 { // the fourth step's write: the manager's OneDrive access
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r) // applied...
			kill()              // ...and the process dies before it hears back
			w.WriteHeader(rec.Code)
			return
		}
		s.ServeHTTP(w, r)
	}))
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
		if point == "between_steps" && strings.Contains(l, `msg="plan step settled"`) && strings.Contains(l, " step=3 ") {
			killed = true
			kill()
		}
	}
	io.Copy(io.Discard, stderr)
	err := cmd.Wait()
	if point == "after_graph" {
		mu.Lock()
		killed = writes >= 4
		mu.Unlock()
	}
	if !killed || err == nil {
		t.Fatalf("the approver's process was not killed at %s (exit: %v)", point, err)
	}
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
