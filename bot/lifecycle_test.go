package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/bot/bottest"
	"github.com/tierzero/tierzero/graph/sim"
)

const (
	allan    = "allan.deyoung@contoso.com" // a tenant admin who asks
	christie = "christie.cline@contoso.com"
)

// lifecycleHarness is newHarness with two tenant admins in contoso: one
// asks, the other approves.
func lifecycleHarness(t *testing.T, dir string, h0 *harness, admins ...string) *harness {
	t.Helper()
	h := &harness{rec: &recorder{}, clock: newClock(), tick: make(chan time.Time)}
	po := bottest.Options{
		Dir: dir, Key: testKey, Now: h.clock.Now,
		Responders: map[tierzero.Channel]bot.Responder{chTest: h.rec},
		Ticker:     func(time.Duration) (<-chan time.Time, func()) { return h.tick, func() {} },
		Staff: &bot.Staff{Clients: []tierzero.TenantID{"contoso", "fabrikam"},
			Admins: map[tierzero.TenantID][]string{"contoso": append([]string{alex, allan}, admins...)}},
	}
	if h0 != nil {
		po.Sim = h0.sim
	}
	h.pipe = bottest.New(t, po)
	h.sim, h.db, h.desk = h.pipe.Sim, h.pipe.DB, h.pipe.Desk
	return h
}

// TestOffboardingOnePlan: a tenant admin asks in words, sees the whole
// plan, says yes once; another tenant admin approves it once; every step
// then runs through the Guard, each decided and audited on its own, and
// the requester gets one report.
func TestOffboardingOnePlan(t *testing.T) {
	h := lifecycleHarness(t, t.TempDir(), nil)
	h.open(t)
	ctx := context.Background()
	if _, err := h.desk.Submit(ctx, inbound("off-1", allan, "OFF", "offboard christie cline, her last day was friday")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plan", func() bool { return len(h.rec.of("reply")) >= 1 })
	plan := h.rec.of("reply")[0].Text
	t.Log(plan)
	for _, want := range []string{"block sign-in for Christie Cline", "sign Christie Cline out", "automatic reply", "Lynne Robbins (the manager) edit access to the OneDrive", `Reply "yes"`} {
		if !strings.Contains(plan, want) {
			t.Fatalf("the plan does not say %q:\n%s", want, plan)
		}
	}
	if _, err := h.desk.Submit(ctx, inbound("off-2", allan, "OFF", "yes")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the approval request", func() bool { return len(h.rec.of("approval")) >= 1 })
	if n := len(h.writes("contoso")); n != 0 {
		t.Fatalf("%d writes before the approval", n)
	}
	id := h.rec.of("approval")[0].Text
	v, err := h.desk.Decide(ctx, bot.Vote{Channel: chTest, Tenant: "contoso", Approval: id, Approve: true, User: tierzero.PlatformUser{UPN: alex}})
	if err != nil || v.Refused {
		t.Fatalf("approve: %v %+v", err, v)
	}
	if n := len(h.rec.of("approval")); n != 1 {
		t.Fatalf("%d approval cards, want 1 for the whole plan", n)
	}
	p, ok, err := h.db.Plan(ctx, "contoso", id)
	if err != nil || !ok {
		t.Fatalf("plan %s: %v %v", id, ok, err)
	}
	for _, s := range p.Steps {
		if s.State != tierzero.StepDone {
			t.Errorf("step %q: %s (%s)", s.Label, s.State, s.Detail)
		}
	}
	checkOnce(t, h, p, 8)
	t.Log(v.Text)
	if !strings.Contains(v.Text, "steps done") {
		t.Fatalf("the approver is not told the report: %s", v.Text)
	}
	if g := h.sim.DriveGrantees("contoso", christie); len(g["lynne.robbins@contoso.com"]) == 0 {
		t.Fatalf("the manager has no access to the leaver's OneDrive: %v", g)
	}
}

// checkOnce checks that each step of p that is done was decided (a
// "decided" record per step call), that Graph got wantWrites writes, and
// that the audit chain verifies.
func checkOnce(t *testing.T, h *harness, p tierzero.Plan, wantWrites int) {
	t.Helper()
	ctx := context.Background()
	decided := map[string]int{}
	err := h.db.Audit(ctx, "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		if ev.Kind == tierzero.AuditDecided {
			decided[ev.Tool+" "+string(ev.Args)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if n := decided[s.Call.Action+" "+string(s.Call.Args)]; s.State == tierzero.StepDone && n < 1 {
			t.Errorf("step %q ran without a decision on record", s.Label)
		}
	}
	var posts int
	for _, j := range h.writes("contoso") {
		if j.Method != http.MethodGet {
			posts++
		}
	}
	if posts != wantWrites {
		t.Errorf("%d writes for %d steps, want %d", posts, len(p.Steps), wantWrites)
	}
	if _, err := h.db.Verify(ctx, "contoso"); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// TestOnboardingOnePlan: a tenant admin asks in words for a new hire in
// Sales; the plan creates the account (a random password nobody sees),
// assigns the named license, adds the Sales template's groups, and issues
// a Temporary Access Pass whose code goes privately to the manager, who
// approved the plan: not to the requester, not to the thread.
func TestOnboardingOnePlan(t *testing.T) {
	const lynne = "lynne.robbins@contoso.com"
	s := sim.New(sim.Options{})
	if err := s.Change("contoso", sim.Change{Group: "Sales Team", Set: map[string]string{"description": "Sales team.\nonboarding template: Sales"}}); err != nil {
		t.Fatal(err)
	}
	h := lifecycleHarness(t, t.TempDir(), &harness{sim: s}, lynne)
	h.open(t)
	ctx := context.Background()
	if _, err := h.desk.Submit(ctx, inbound("on-1", allan, "ON", "we have a new starter in Sales, Jane Doe, reporting to Lynne Robbins, with an SPE_E3 license")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plan", func() bool { return len(h.rec.of("reply")) >= 1 })
	plan := h.rec.of("reply")[0].Text
	t.Log(plan)
	for _, want := range []string{"create the account jane.doe@contoso.com for Jane Doe", "SPE_E3", "Sales Team", "goes privately to Lynne Robbins"} {
		if !strings.Contains(plan, want) {
			t.Fatalf("the plan does not say %q:\n%s", want, plan)
		}
	}
	if _, err := h.desk.Submit(ctx, inbound("on-2", allan, "ON", "yes")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the approval request", func() bool { return len(h.rec.of("approval")) >= 1 })
	id := h.rec.of("approval")[0].Text
	v, err := h.desk.Decide(ctx, bot.Vote{Channel: chTest, Tenant: "contoso", Approval: id, Approve: true, User: tierzero.PlatformUser{UPN: lynne}})
	if err != nil || v.Refused {
		t.Fatalf("approve: %v %+v", err, v)
	}
	t.Log(v.Text)
	p, ok, err := h.db.Plan(ctx, "contoso", id)
	if err != nil || !ok {
		t.Fatalf("plan %s: %v %v", id, ok, err)
	}
	for _, st := range p.Steps {
		if st.State != tierzero.StepDone {
			t.Errorf("step %q: %s (%s)", st.Label, st.State, st.Detail)
		}
	}
	checkOnce(t, h, p, 5) // the account is two writes: POST /users, then its manager
	var tap []sent
	for _, x := range h.rec.of("private") {
		tap = append(tap, x)
	}
	if len(tap) != 1 || tap[0].To != lynne || tap[0].Secret == "" {
		t.Fatalf("private deliveries %+v, want the pass to %s alone", tap, lynne)
	}
	for _, x := range h.rec.all() {
		if x.Kind != "private" && strings.Contains(x.Text, tap[0].Secret) {
			t.Fatalf("the pass was shown outside the manager's private note: %+v", x)
		}
	}
	for _, j := range h.sim.Journal("contoso") {
		if j.Method == http.MethodPost && j.Path == "/v1.0/users" && strings.Contains(string(j.Body), tap[0].Secret) {
			t.Fatal("the journal holds the pass")
		}
	}
}

// offboardToApproval runs the conversation of an offboarding of Christie up
// to its approval request and returns the approval's id.
func offboardToApproval(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	if _, err := h.desk.Submit(ctx, inbound("off-1", allan, "OFF", "offboard christie.cline@contoso.com")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plan", func() bool { return len(h.rec.of("reply")) >= 1 })
	if _, err := h.desk.Submit(ctx, inbound("off-2", allan, "OFF", "yes")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the approval request", func() bool { return len(h.rec.of("approval")) >= 1 })
	return h.rec.of("approval")[0].Text
}

// TestOffboardingStopsWhenBlockFails: Graph refuses to block the account
// (403 Authorization_RequestDenied: the app lacks the role), so nothing
// else runs: every other step is skipped and reported, and Graph gets no
// other write.
func TestOffboardingStopsWhenBlockFails(t *testing.T) {
	h := lifecycleHarness(t, t.TempDir(), nil)
	h.open(t)
	id := offboardToApproval(t, h)
	if err := h.sim.AddFault("contoso", sim.Fault{Method: http.MethodPatch, Path: "/v1.0/users/*", Status: 403,
		Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}); err != nil {
		t.Fatal(err)
	}
	v, err := h.desk.Decide(context.Background(), bot.Vote{Channel: chTest, Tenant: "contoso", Approval: id, Approve: true, User: tierzero.PlatformUser{UPN: alex}})
	if err != nil || v.Refused {
		t.Fatalf("approve: %v %+v", err, v)
	}
	p, _, err := h.db.Plan(context.Background(), "contoso", id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps[0].State != tierzero.StepFailed {
		t.Fatalf("block sign-in: %s", p.Steps[0].State)
	}
	for _, st := range p.Steps[1:] {
		if st.State != tierzero.StepSkipped || !strings.Contains(st.Detail, "did not succeed") {
			t.Errorf("step %q: %s (%s)", st.Label, st.State, st.Detail)
		}
	}
	if n := len(h.writes("contoso")); n != 0 {
		t.Fatalf("%d writes after block sign-in failed", n)
	}
	if !strings.Contains(v.Text, "0 of 8 steps done") || !strings.Contains(v.Text, "Left for a person") {
		t.Fatalf("report: %s", v.Text)
	}
}

// TestPlanStepNotCovered: Alex, a tenant admin, approves an onboarding
// whose pass the new hire's manager (Lynne) must approve (tech-issue-tap):
// the plan's approval does not cover that step, so it is skipped with the
// reason and left for a person, the rest run, and no pass is issued or
// delivered.
func TestPlanStepNotCovered(t *testing.T) {
	s := sim.New(sim.Options{})
	h := lifecycleHarness(t, t.TempDir(), &harness{sim: s})
	h.open(t)
	ctx := context.Background()
	if _, err := h.desk.Submit(ctx, inbound("on-1", allan, "ON", "we have a new starter in Sales, Jane Doe, reporting to Lynne Robbins")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plan", func() bool { return len(h.rec.of("reply")) >= 1 })
	if _, err := h.desk.Submit(ctx, inbound("on-2", allan, "ON", "yes")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the approval request", func() bool { return len(h.rec.of("approval")) >= 1 })
	id := h.rec.of("approval")[0].Text
	v, err := h.desk.Decide(ctx, bot.Vote{Channel: chTest, Tenant: "contoso", Approval: id, Approve: true, User: tierzero.PlatformUser{UPN: alex}})
	if err != nil || v.Refused {
		t.Fatalf("approve: %v %+v", err, v)
	}
	p, _, _ := h.db.Plan(ctx, "contoso", id)
	last := p.Steps[len(p.Steps)-1]
	if p.Steps[0].State != tierzero.StepDone || last.Call.Action != "user.issue_tap" || last.State != tierzero.StepSkipped || !strings.Contains(last.Detail, "the manager") {
		t.Fatalf("steps: %+v", p.Steps)
	}
	if n := len(h.rec.of("private")); n != 0 {
		t.Fatalf("%d private notes, want none", n)
	}
	for _, j := range h.writes("contoso") {
		if strings.Contains(j.Path, "temporaryAccessPass") {
			t.Fatal("a pass was issued without the manager's approval")
		}
	}
}
