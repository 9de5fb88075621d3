package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/store"
)

// baselineTech is the demo MSP's technician; fabrikamAdmin
// (browser_harness_test.go), Tara Ellis, a fabrikam tenant admin, approves.
const baselineTech = "tess@msp.example"

// baselineEnv runs the real Main against the Graph simulator on a loopback
// port, recording every request that reaches Graph (the requests of a JSON
// batch one by one).
type baselineEnv struct {
	t    *testing.T
	sim  *sim.Server
	url  string // Graph base URL, .../v1.0
	data string

	mu   sync.Mutex
	reqs []string // "METHOD /path"
}

func newBaselineEnv(t *testing.T) *baselineEnv {
	t.Helper()
	e := &baselineEnv{t: t, sim: sim.New(sim.Options{}), data: t.TempDir()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.record(r)
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/v1.0"
	return e
}

// record notes r, and each request of a batch.
func (e *baselineEnv) record(r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !strings.HasSuffix(r.URL.Path, "/$batch") {
		e.reqs = append(e.reqs, r.Method+" "+r.URL.Path)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var b struct {
		Requests []struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		e.reqs = append(e.reqs, "UNREADABLE-BATCH "+r.URL.Path)
		return
	}
	for _, s := range b.Requests {
		e.reqs = append(e.reqs, strings.ToUpper(s.Method)+" "+s.URL)
	}
}

// mark returns how many requests reached Graph so far.
func (e *baselineEnv) mark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.reqs)
}

// writesSince returns the requests since mark that were not reads.
func (e *baselineEnv) writesSince(mark int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.reqs[mark:] {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

func (e *baselineEnv) run(args ...string) result {
	e.t.Helper()
	return run(e.t, noEnv, "", append(args, "--graph-url", e.url, "--data", e.data)...)
}

// plan is `baseline plan TENANT --json`.
func (e *baselineEnv) plan(tenant string) tierzero.BaselinePlan {
	e.t.Helper()
	r := e.run("baseline", "plan", tenant, "--json")
	if r.code != 0 {
		e.t.Fatalf("baseline plan %s: exit %d: %s", tenant, r.code, r.stderr)
	}
	var p tierzero.BaselinePlan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		e.t.Fatalf("baseline plan --json: %v\n%s", err, r.stdout)
	}
	return p
}

var proposedRE = regexp.MustCompile(`(?m)^approval (\S+): the (\w+) phase of the baseline of (\S+), (\d+) steps?, waits for approval$`)

// apply is `baseline apply TENANT --as UPN`: the approval id and phase it
// proposed ("" when none).
func (e *baselineEnv) apply(tenant, as string) (id, phase string, r result) {
	e.t.Helper()
	r = e.run("baseline", "apply", tenant, "--as", as)
	if r.code != 0 {
		e.t.Fatalf("baseline apply %s: exit %d\n%s%s", tenant, r.code, r.stdout, r.stderr)
	}
	if m := proposedRE.FindStringSubmatch(r.stdout); m != nil {
		if m[3] != tenant {
			e.t.Fatalf("apply of %s proposed the baseline of %s", tenant, m[3])
		}
		return m[1], m[2], r
	}
	return "", "", r
}

func (e *baselineEnv) decide(id, verb, tenant, as string) result {
	e.t.Helper()
	r := e.run("approvals", "decide", id, verb, "--tenant", tenant, "--as", as)
	if r.code != 0 {
		e.t.Fatalf("approvals decide %s %s: exit %d\n%s%s", id, verb, r.code, r.stdout, r.stderr)
	}
	return r
}

// graph sends one request to the simulator as tierzero's app in tenant,
// behind tierzero's back.
func (e *baselineEnv) graph(method, tenant, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+sim.Token(tenant))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// byName groups a tenant's objects by displayName.
func byName(objs []map[string]any) map[string][]map[string]any {
	m := map[string][]map[string]any{}
	for _, o := range objs {
		n, _ := o["displayName"].(string)
		m[n] = append(m[n], o)
	}
	return m
}

func (e *baselineEnv) state(tenant string) sim.BaselineState {
	e.t.Helper()
	st, ok := e.sim.Baseline(tenant)
	if !ok {
		e.t.Fatalf("no tenant %s in the simulator", tenant)
	}
	return st
}

// approvalArgs reads an approval's plan from the store.
func (e *baselineEnv) approvalPlan(tenant tierzero.TenantID, id string) (tierzero.Approval, tierzero.PlanArgs) {
	e.t.Helper()
	db := e.openStore()
	defer db.Close()
	a, err := db.Approval(context.Background(), tenant, id)
	if err != nil {
		e.t.Fatalf("approval %s: %v", id, err)
	}
	pa, err := tierzero.DecodePlanArgs(a.Args)
	if err != nil {
		e.t.Fatalf("approval %s: %v", id, err)
	}
	return a, pa
}

func (e *baselineEnv) openStore() *store.DB {
	e.t.Helper()
	key, err := store.ReadKeyFile(filepath.Join(e.data, "master.key"))
	if err != nil {
		e.t.Fatal(err)
	}
	db, err := store.Open(e.data, store.Options{MasterKey: key, Timeout: 5 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return db
}

// audit returns tenant's audit records.
func (e *baselineEnv) audit(tenant string) []auditRecord {
	e.t.Helper()
	r := run(e.t, noEnv, "", "audit", "export", "--tenant", tenant, "--data", e.data)
	if r.code != 0 {
		e.t.Fatalf("audit export: exit %d: %s", r.code, r.stderr)
	}
	var recs []auditRecord
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var rec auditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			e.t.Fatalf("audit line: %v", err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func itemNames(items []tierzero.BaselineItem, resource string, kinds ...string) []string {
	var out []string
	for _, it := range items {
		if it.Resource == resource && (len(kinds) == 0 || slices.Contains(kinds, it.Kind)) {
			out = append(out, it.Name)
		}
	}
	slices.Sort(out)
	return out
}

// named returns the one name of a resource's items that starts with
// prefix (the default baseline's names are its own to choose).
func named(t *testing.T, items []tierzero.BaselineItem, resource, prefix string) string {
	t.Helper()
	var out []string
	for _, n := range itemNames(items, resource) {
		if strings.HasPrefix(n, prefix) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s items named %s...: %q", resource, prefix, out)
	}
	return out[0]
}

func TestBaselineDirs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "etc", "tierzero.yaml")
	c := &config{Baseline: &baselineConfig{Dir: "baselines"}}
	got, err := baselineDirs(cfg, c, []string{"/x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "etc", "baselines"), "/x", "y"}
	if !slices.Equal(got, want) {
		t.Errorf("dirs %q, want %q", got, want)
	}
	if _, err := baselineDirs("", c, nil); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Errorf("a relative baseline.dir without its file: %v", err)
	}
	c.Baseline.Dir = "/abs/baselines"
	if got, _ := baselineDirs("", c, nil); !slices.Equal(got, []string{"/abs/baselines"}) {
		t.Errorf("absolute: %q", got)
	}
	if got, _ := baselineDirs("", nil, nil); len(got) != 0 {
		t.Errorf("no config: %q", got)
	}
}

// TestBaselinePlanReadOnly: plan reads fabrikam and prints every item, the
// phase that runs now and what is left for a person; only reads reach
// Graph, and the tenant is as it was.
func TestBaselinePlanReadOnly(t *testing.T) {
	e := newBaselineEnv(t)
	before, _ := json.Marshal(e.state("fabrikam"))
	m := e.mark()
	start := time.Now()
	r := e.run("baseline", "plan", "fabrikam")
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("baseline plan: exit %d: %s", r.code, r.stderr)
	}
	if w := e.writesSince(m); len(w) != 0 {
		t.Fatalf("plan sent writes to Graph: %q", w)
	}
	if e.mark() == m {
		t.Fatal("plan read nothing from Graph")
	}
	for _, j := range e.sim.Journal("fabrikam") {
		if j.Method != http.MethodGet {
			t.Errorf("journal of fabrikam: %s %s during plan", j.Method, j.Path)
		}
	}
	after, _ := json.Marshal(e.state("fabrikam"))
	if !bytes.Equal(before, after) {
		t.Error("the tenant's baseline resources changed during plan")
	}
	for _, want := range []string{"Baseline of fabrikam (the built-in default)", "create", "Require MFA for all users", "Runs now: the create phase", "report-only"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, r.stdout)
		}
	}
	p := e.plan("fabrikam")
	if p.Tenant != "fabrikam" || p.Plan.Phase != tierzero.BaselineCreate || len(p.Plan.Steps) == 0 {
		t.Fatalf("plan --json: tenant %q phase %q, %d steps", p.Tenant, p.Plan.Phase, len(p.Plan.Steps))
	}
	for _, s := range p.Plan.Steps {
		if !strings.Contains(r.stdout, s.Label) {
			t.Errorf("step %q not printed", s.Label)
		}
	}
	t.Logf("baseline plan fabrikam (a whole process: runtime, simulator, plan): %v, %d items, %d steps, %d Graph reads", took.Round(time.Millisecond), len(p.Items), len(p.Plan.Steps), e.mark()-m)
}

// TestBaselineApply is the whole flow on fabrikam: a technician applies,
// a tenant admin approves, exactly the planned objects are created once
// (Conditional Access policies report-only, compliance policies created
// and assigned, security defaults untouched); the next apply proposes only
// the enable phase, with the sign-in impact in its labels; until that is
// approved nothing is enforced (a denial changes nothing); once approved
// the policies are on and security defaults off. Then a change behind
// tierzero's back is found by drift (exit 3).
func TestBaselineApply(t *testing.T) {
	e := newBaselineEnv(t)
	want := e.plan("fabrikam")
	wantCA := itemNames(want.Items, "conditional_access", "create")
	if len(wantCA) == 0 {
		t.Fatal("the plan of fabrikam creates no Conditional Access policy")
	}
	secBefore := e.state("fabrikam").SecurityDefaults
	if !secBefore {
		t.Fatal("fabrikam's security defaults are seeded on")
	}

	// The technician applies: the create phase waits for approval.
	m := e.mark()
	start := time.Now()
	id, phase, r := e.apply("fabrikam", baselineTech)
	proposeTook := time.Since(start)
	if id == "" || phase != "create" {
		t.Fatalf("apply proposed %q %q:\n%s%s", id, phase, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "who may approve: ") || !strings.Contains(r.stdout, fabrikamAdmin) {
		t.Errorf("apply does not say who may approve:\n%s", r.stdout)
	}
	if w := e.writesSince(m); len(w) != 0 {
		t.Fatalf("proposing wrote to Graph: %q", w)
	}
	a, pa := e.approvalPlan("fabrikam", id)
	if a.Action != tierzero.ActionBaselineApply || a.State != tierzero.ApprovalPending || pa.Phase != tierzero.BaselineCreate {
		t.Fatalf("approval %s: %s %s phase %q", id, a.Action, a.State, pa.Phase)
	}
	for _, s := range pa.Steps {
		switch s.Action {
		case "baseline.enable_ca_policy", "baseline.set_security_defaults":
			t.Errorf("the create phase has the step %s (%s)", s.Action, s.Label)
		case "baseline.create_ca_policy":
			var args struct{ Body string }
			var body struct{ State string }
			if json.Unmarshal([]byte(s.Args), &args) != nil || json.Unmarshal([]byte(args.Body), &body) != nil || body.State != "enabledForReportingButNotEnforced" {
				t.Errorf("%s: created in state %q, want report-only", s.Label, body.State)
			}
		}
	}
	if !slices.Equal(pa.Steps, want.Plan.Steps) {
		t.Errorf("the proposed steps are not the plan's:\n%v\n%v", pa.Steps, want.Plan.Steps)
	}

	// A fabrikam tenant admin approves: the steps run.
	m = e.mark()
	start = time.Now()
	e.decide(id, "approve", "fabrikam", fabrikamAdmin)
	runTook := time.Since(start)
	st := e.state("fabrikam")
	ca := byName(st.ConditionalAccess)
	var gotCA []string
	for name, ps := range ca {
		gotCA = append(gotCA, name)
		if len(ps) != 1 {
			t.Errorf("%d Conditional Access policies named %q", len(ps), name)
		}
		if s := ps[0]["state"]; s != "enabledForReportingButNotEnforced" {
			t.Errorf("%q is %v after the create phase, want report-only", name, s)
		}
	}
	slices.Sort(gotCA)
	if !slices.Equal(gotCA, wantCA) {
		t.Errorf("Conditional Access policies %q, planned %q", gotCA, wantCA)
	}
	if !st.SecurityDefaults {
		t.Error("the create phase turned security defaults off")
	}
	comp := byName(st.CompliancePolicies)
	for _, name := range itemNames(want.Items, "compliance", "create", "update", "leave") {
		ps := comp[name]
		if len(ps) != 1 {
			t.Errorf("%d compliance policies named %q", len(ps), name)
			continue
		}
		code, out := e.graph(http.MethodGet, "fabrikam", "/deviceManagement/deviceCompliancePolicies/"+ps[0]["id"].(string)+"/assignments", nil)
		if vals, _ := out["value"].([]any); code != 200 || len(vals) == 0 {
			t.Errorf("compliance policy %q has no assignment (%d %v)", name, code, out)
		}
	}
	posts := map[string]int{}
	for _, w := range e.writesSince(m) {
		posts[w]++
	}
	if n := posts["POST /v1.0/identity/conditionalAccess/policies"]; n != len(wantCA) {
		t.Errorf("%d Conditional Access creates sent, want %d (%v)", n, len(wantCA), posts)
	}
	reports := 0
	for _, rec := range e.audit("fabrikam") {
		if rec.Kind == string(tierzero.AuditPlanReport) && rec.Facts["approval"] == id {
			reports++
			if !strings.Contains(rec.Text, "Baseline of fabrikam") || rec.Outcome != "done" {
				t.Errorf("plan report %q outcome %q", rec.Text, rec.Outcome)
			}
		}
	}
	if reports != 1 {
		t.Errorf("%d plan reports of %s in the audit, want 1", reports, id)
	}

	// Right after the create phase no sign-in came under the new policies
	// (Entra records report-only results only for the sign-ins after a
	// policy existed): too early to tell, the plan says, not "no impact".
	for _, s := range e.plan("fabrikam").Plan.Steps {
		if s.Action == "baseline.enable_ca_policy" && !strings.Contains(s.Label, "report-only for less than an hour: too early to tell, no sign-in came under it yet; let a day or more") {
			t.Errorf("enable step right after the create phase: %q", s.Label)
		}
	}
	// A day of sign-ins passes (on a real tenant: wait some days).
	if resp, err := http.Post(strings.TrimSuffix(e.url, "/v1.0")+"/_sim/signins?tenant=fabrikam", "", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a day of sign-ins: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// The second apply creates nothing: only the enable phase is left, with
	// the impact of each policy over its day report-only in its label.
	m = e.mark()
	id2, phase, r := e.apply("fabrikam", baselineTech)
	if phase != "enable" {
		t.Fatalf("second apply proposed %q, want the enable phase:\n%s", phase, r.stdout)
	}
	if w := e.writesSince(m); len(w) != 0 {
		t.Fatalf("the second apply wrote to Graph: %q", w)
	}
	_, pa2 := e.approvalPlan("fabrikam", id2)
	enables := 0
	for _, s := range pa2.Steps {
		switch s.Action {
		case "baseline.enable_ca_policy":
			enables++
			if !strings.Contains(s.Label, "; sign-in impact in the last 7 days, report-only for 24 hours: ") {
				t.Errorf("enable step without its sign-in impact of the day: %q", s.Label)
			}
			if strings.Contains(s.Label, `"Require MFA for all users"`) && !strings.Contains(s.Label, "hours: it applied to") {
				t.Errorf("MFA for all applied to no sign-in of the day: %q", s.Label)
			}
		case "baseline.set_security_defaults":
		default:
			t.Errorf("the enable phase has the step %s (%s)", s.Action, s.Label)
		}
	}
	if enables != len(wantCA) {
		t.Errorf("%d enable steps, want %d", enables, len(wantCA))
	}
	// Denied: nothing is enforced.
	e.decide(id2, "deny", "fabrikam", fabrikamAdmin)
	st = e.state("fabrikam")
	for _, p := range st.ConditionalAccess {
		if p["state"] != "enabledForReportingButNotEnforced" {
			t.Errorf("%v is %v without an approved enable", p["displayName"], p["state"])
		}
	}
	if !st.SecurityDefaults {
		t.Error("security defaults turned off without an approved enable")
	}
	// Proposed again and approved: enforced, security defaults off.
	id3, phase, _ := e.apply("fabrikam", baselineTech)
	if phase != "enable" {
		t.Fatalf("third apply proposed %q", phase)
	}
	e.decide(id3, "approve", "fabrikam", fabrikamAdmin)
	st = e.state("fabrikam")
	for _, p := range st.ConditionalAccess {
		if p["state"] != "enabled" {
			t.Errorf("%v is %v after the approved enable", p["displayName"], p["state"])
		}
	}
	if st.SecurityDefaults {
		t.Error("security defaults still on after the enable phase")
	}
	if _, phase, r := e.apply("fabrikam", baselineTech); phase != "" {
		t.Errorf("apply after both phases proposed %q:\n%s", phase, r.stdout)
	}
	t.Logf("fabrikam: apply (propose) %v, approve and run the create phase %v (%d steps)", proposeTook.Round(time.Millisecond), runTook.Round(time.Millisecond), len(pa.Steps))

	// Drift: a policy switched off and a compliance setting changed behind
	// tierzero's back are named; exit 3.
	drifted := func() (map[string]bool, result) {
		r := e.run("baseline", "drift", "fabrikam", "--json")
		var out struct {
			Tenants []baselineDrift `json:"tenants"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Tenants) != 1 {
			t.Fatalf("drift --json: %v\n%s%s", err, r.stdout, r.stderr)
		}
		names := map[string]bool{}
		for _, it := range out.Tenants[0].Drift {
			names[it.Name] = true
		}
		return names, r
	}
	base, r := drifted()
	mfa := ca["Require MFA for all users"]
	winName := named(t, want.Items, "compliance", "Windows")
	win := comp[winName]
	if len(mfa) != 1 || len(win) != 1 || len(base) != 0 || r.code != 0 {
		t.Fatalf("after both phases: drift %v (exit %d)", base, r.code)
	}
	if code, out := e.graph(http.MethodPatch, "fabrikam", "/identity/conditionalAccess/policies/"+mfa[0]["id"].(string), map[string]any{"state": "disabled"}); code >= 300 {
		t.Fatalf("disable the policy: %d %v", code, out)
	}
	if code, out := e.graph(http.MethodPatch, "fabrikam", "/deviceManagement/deviceCompliancePolicies/"+win[0]["id"].(string),
		map[string]any{"@odata.type": win[0]["@odata.type"], "bitLockerEnabled": false}); code >= 300 {
		t.Fatalf("change the compliance policy: %d %v", code, out)
	}
	names, r := drifted()
	if r.code != 3 {
		t.Errorf("drift exit %d, want 3", r.code)
	}
	for _, n := range []string{"Require MFA for all users", winName} {
		if !names[n] {
			t.Errorf("drift does not name %q: %v", n, names)
		}
	}
	r = e.run("baseline", "drift")
	if r.code != 3 || !strings.Contains(r.stdout, "fabrikam: ") || !strings.Contains(r.stdout, "Require MFA for all users") || !strings.Contains(r.stdout, "contoso: ") {
		t.Errorf("drift of every tenant: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestBaselineCommandErrors: what the commands refuse, and how.
func TestBaselineCommandErrors(t *testing.T) {
	e := newBaselineEnv(t)
	extra := t.TempDir() // a baselines directory that loads
	if err := os.WriteFile(filepath.Join(extra, "extra.yaml"), []byte("scope: {global: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"plan without a tenant", []string{"baseline", "plan"}, 2, "accepts 1 arg"},
		{"plan of an unknown tenant", []string{"baseline", "plan", "northwind"}, 1, "not a client tenant here"},
		{"apply without --as", []string{"baseline", "apply", "fabrikam"}, 2, "needs --as"},
		{"apply by an employee", []string{"baseline", "apply", "fabrikam", "--as", "noah.bennett@fabrikam.com"}, 1, "denied"},
		{"a baselines directory that is not there", []string{"baseline", "plan", "fabrikam", "--baselines", "/nonexistent/baselines"}, 1, "baselines"},
		// graph's baseline.apply plans again at execution with the
		// configuration's baselines: a plan of other files would be
		// approved and then refused, so apply takes none.
		{"apply with --baselines", []string{"baseline", "apply", "fabrikam", "--as", fabrikamAdmin, "--baselines", extra}, 2,
			"apply uses the configuration's baseline.dir so that the plan approved is the plan run; try files with `baseline plan --baselines DIR`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)\n%s", r.code, tc.code, r.stderr, tc.want, r.stdout)
			}
		})
	}
	if w := e.writesSince(0); len(w) != 0 {
		t.Errorf("refused commands wrote to Graph: %q", w)
	}
}

// TestBaselineDirFromConfig: baseline.dir, relative to the configuration
// file, layers a tenant override over the default (here: a compliance
// policy removed), and --baselines one more.
func TestBaselineDirFromConfig(t *testing.T) {
	e := newBaselineEnv(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "baselines"), 0o700); err != nil {
		t.Fatal(err)
	}
	android := named(t, e.plan("fabrikam").Items, "compliance", "Android")
	override := "scope: {tenant: fabrikam}\ncompliance:\n  - name: " + android + "\n    remove: true\n"
	if err := os.WriteFile(filepath.Join(dir, "baselines", "fabrikam.yaml"), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "tierzero.yaml")
	conf := "graph_url: " + e.url + "\nbaseline:\n  dir: baselines\ntenants:\n  fabrikam:\n    auth: {method: simulator}\n    admins: [" + fabrikamAdmin + "]\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, noEnv, "", "baseline", "plan", "fabrikam", "--json", "--config", cfg, "--data", e.data)
	if r.code != 0 {
		t.Fatalf("plan with baseline.dir: exit %d: %s", r.code, r.stderr)
	}
	var p tierzero.BaselinePlan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatal(err)
	}
	if got := itemNames(p.Items, "compliance"); slices.Contains(got, android) {
		t.Errorf("the override did not remove %q: %q", android, got)
	}
	r = run(t, noEnv, "", "baseline", "plan", "fabrikam", "--config", cfg, "--data", e.data)
	if !strings.Contains(r.stdout, filepath.Join(dir, "baselines")) {
		t.Errorf("the plan does not say which baselines it used:\n%s", r.stdout)
	}
	// Without the override the default's Android policy is planned.
	if got := itemNames(e.plan("fabrikam").Items, "compliance"); !slices.Contains(got, android) {
		t.Errorf("without baseline.dir: %q", got)
	}
}

// TestBaselineViaServer: while serve runs on the data directory, the
// baseline commands run inside it over the admin socket: plan, apply by a
// tenant admin, the other admin's approval (the steps run in serve), drift.
func TestBaselineViaServer(t *testing.T) {
	e := newBaselineEnv(t)
	m := serveMain(t, strings.TrimSuffix(e.url, "/v1.0"), "tenants:\n  fabrikam:\n    auth: {method: simulator}\n    admins: ["+fabrikamAdmin+", ravi.shah@fabrikam.com]\n"+
		"baseline:\n  drift_interval: 0s\n", map[string]string{"TIERZERO_LOG": "info"})
	r := run(t, noEnv, "", "baseline", "plan", "fabrikam", "--data", m.data)
	if r.code != 0 || !strings.Contains(r.stdout, "Runs now: the create phase") {
		t.Fatalf("plan through serve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(m.log(), `operator command`) || !strings.Contains(m.log(), "baseline plan fabrikam") {
		t.Fatalf("plan did not run in serve:\n%s", m.log())
	}
	r = run(t, noEnv, "", "baseline", "apply", "fabrikam", "--as", fabrikamAdmin, "--data", m.data)
	mt := proposedRE.FindStringSubmatch(r.stdout)
	if r.code != 0 || mt == nil || mt[2] != "create" || !strings.Contains(r.stdout, "ravi.shah@fabrikam.com") || strings.Contains(r.stdout, "(tara.ellis") {
		t.Fatalf("apply through serve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, noEnv, "", "baseline", "apply", "fabrikam", "--as", fabrikamAdmin, "--data", m.data); r.code != 0 || !strings.Contains(r.stdout, "approval "+mt[1]+" already waits") {
		t.Errorf("a second apply while the first waits: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, noEnv, "", "baseline", "apply", "fabrikam", "--as", fabrikamAdmin, "--baselines", t.TempDir(), "--data", m.data); r.code != 2 {
		t.Errorf("--baselines through serve: exit %d, want 2: %s", r.code, r.stderr)
	} else if !strings.Contains(r.stderr, "apply uses the configuration's baseline.dir") {
		t.Errorf("--baselines through serve: %s", r.stderr)
	}
	r = run(t, noEnv, "", "approvals", "decide", mt[1], "approve", "--tenant", "fabrikam", "--as", "ravi.shah@fabrikam.com", "--data", m.data)
	if r.code != 0 {
		t.Fatalf("approve through serve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	st := e.state("fabrikam")
	if len(st.ConditionalAccess) == 0 || !st.SecurityDefaults {
		t.Fatalf("after the create phase run by serve: %d policies, security defaults %v", len(st.ConditionalAccess), st.SecurityDefaults)
	}
	for _, p := range st.ConditionalAccess {
		if p["state"] != "enabledForReportingButNotEnforced" {
			t.Errorf("%v is %v", p["displayName"], p["state"])
		}
	}
	// Between the phases: the report-only policies await the enable
	// phase, listed but not drift (exit 0).
	r = run(t, noEnv, "", "baseline", "drift", "--data", m.data)
	if r.code != 0 || !strings.Contains(r.stdout, "fabrikam: in line with its baseline but for the enable phase: ") || !strings.Contains(r.stdout, "  enable ") {
		t.Errorf("drift through serve (the enable phase is left): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestBaselineDirRelativeToConfig: loadConfig makes a relative baseline.dir
// relative to the configuration file's directory, for every command that
// reads the file (serve's drift watch among them), not the working
// directory.
func TestBaselineDirRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tierzero.yaml")
	if err := os.WriteFile(cfg, []byte("baseline:\n  dir: baselines\ntenants:\n  fabrikam:\n    auth: {method: simulator}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.baselineDir(), filepath.Join(dir, "baselines"); got != want {
		t.Errorf("baseline.dir %q, want %q", got, want)
	}
}
