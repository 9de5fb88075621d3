package graph_test

// A baseline plan is checked when it is proposed (Client.CheckPlan, which
// the Guard calls before an approver is asked): the real planner (the
// built-in default baseline) and the real SDK against graph/sim.

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// checkPlan asks c whether p is the planner's plan for tenant now.
func checkPlan(c *graph.Client, tenant tierzero.TenantID, p tierzero.PlanArgs) error {
	raw, _ := json.Marshal(p)
	return c.CheckPlan(context.Background(), tenant, tierzero.ToolCall{ID: "a1", Action: tierzero.ActionBaselineApply, Args: raw})
}

// wantRefused checks err is the refusal of a plan that is not the
// planner's, saying want.
func wantRefused(t *testing.T, what string, err error, want string) {
	t.Helper()
	if tierzero.ErrorCode(err) != tierzero.EConflict || !strings.Contains(tierzero.ErrorMessage(err), want) {
		t.Errorf("%s: %v (code %q), want a conflict saying %q", what, err, tierzero.ErrorCode(err), want)
	}
}

// failSignIns answers the sign-in logs with a 400 while on is set.
type failSignIns struct {
	h  http.Handler
	on atomic.Bool
}

func (f *failSignIns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.on.Load() && strings.Contains(r.URL.Path, "auditLogs/signIns") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"code":"BadRequest","message":"Invalid filter clause"}}`))
		return
	}
	f.h.ServeHTTP(w, r)
}

// The planner's plan passes, in both phases and for any impact period
// baseline.plan reads; a step relabelled, its arguments changed, or an
// enable step's sign-in impact falsified (in the shape graph writes, so
// only the impact read again tells) is refused, and so is a plan whose
// impact the sign-ins have moved since: the proposer plans again. A
// tenant that cannot be read is no yes either. Nothing is written.
func TestCheckPlanWhenProposed(t *testing.T) {
	f := newFixture(t)
	fail := &failSignIns{h: f.sim}
	f.client = newBaselineClient(t, f, fail, realBaselines(t))
	const tenant = "contoso"

	create := planOf(t, f, tenant)
	if create.Phase != tierzero.BaselineCreate {
		t.Fatalf("contoso's first phase is %q", create.Phase)
	}
	if err := checkPlan(f.client, tenant, create); err != nil {
		t.Fatalf("the planner's create plan: %v", err)
	}
	ca := stepOf(t, create, graph.ActionBaselineCreateCAPolicy)
	wantRefused(t, "relabelled", checkPlan(f.client, tenant, tamper(create, func(p *tierzero.PlanArgs) {
		p.Steps[ca].Label = `create the Conditional Access policy "Require MFA for admins" (report-only)`
	})), "label is not the planner's")
	wantRefused(t, "args changed", checkPlan(f.client, tenant, tamper(create, func(p *tierzero.PlanArgs) {
		p.Steps[ca].Args = setArg(t, p.Steps[ca].Args, "name", "Something else")
	})), "has arguments other than the planner's")
	wantRefused(t, "step left out", checkPlan(f.client, tenant, tamper(create, func(p *tierzero.PlanArgs) { p.Steps = p.Steps[1:] })), "it has")
	if err := checkPlan(f.client, tenant, tamper(create, func(p *tierzero.PlanArgs) { p.Phase = "" })); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("no phase: %v", err)
	}
	if w := writes(f.sim, tenant); len(w) != 0 {
		t.Fatalf("checking wrote %v", w)
	}

	// Run the create phase: the enable phase is due.
	for i, s := range create.Steps {
		c, _ := s.Call("s" + string(rune('a'+i)))
		if _, err := f.client.Execute(context.Background(), f.permit(tenant, c), tenant, c); err != nil {
			t.Fatalf("step %s: %v", s.Label, err)
		}
	}
	// Two days of sign-ins pass under the policies it left report-only.
	for range 2 {
		if _, err := f.sim.PassDay(tenant); err != nil {
			t.Fatal(err)
		}
	}
	ran := len(writes(f.sim, tenant))
	wantRefused(t, "the create plan once run", checkPlan(f.client, tenant, create), "")
	enable := planOf(t, f, tenant)
	if enable.Phase != tierzero.BaselineEnable {
		t.Fatalf("then the %q phase", enable.Phase)
	}
	if err := checkPlan(f.client, tenant, enable); err != nil {
		t.Fatalf("the planner's enable plan: %v", err)
	}
	// "Block legacy authentication" would have blocked Allan's Exchange
	// ActiveSync sign-ins.
	en := -1
	for i, s := range enable.Steps {
		if s.Action == graph.ActionBaselineEnableCAPolicy && strings.Contains(s.Args, `"Block legacy authentication"`) {
			en = i
		}
	}
	if en < 0 {
		t.Fatalf("no enable step for Block legacy authentication in %v", enable.Steps)
	}
	label := enable.Steps[en].Label
	plain, _, ok := strings.Cut(label, "; sign-in impact")
	counts := regexp.MustCompile(`\d+ would have been asked for MFA and [1-9]\d* would have been blocked or refused`)
	if !ok || !counts.MatchString(label) || !strings.Contains(label, "(affected: allan.deyoung@contoso.com)") {
		t.Fatalf("label %q", label)
	}
	// Falsified in the words graph writes: only the impact read again
	// tells them from the planner's.
	for name, l := range map[string]string{
		"nobody blocked":  counts.ReplaceAllString(label, "0 would have been asked for MFA and 0 would have been blocked or refused"),
		"nobody affected": strings.Replace(label, " (affected: allan.deyoung@contoso.com)", "", 1),
		"impact unknown":  plain + "; sign-in impact unknown: the tenant's sign-in logs cannot be read (they need Entra ID P1)",
	} {
		wantRefused(t, name, checkPlan(f.client, tenant, tamper(enable, func(p *tierzero.PlanArgs) { p.Steps[en].Label = l })),
			"sign-in impact is not the one the sign-in logs give now")
	}
	wantRefused(t, "relabelled enable", checkPlan(f.client, tenant, tamper(enable, func(p *tierzero.PlanArgs) {
		p.Steps[en].Label = strings.Replace(label, plain, `switch on "Require MFA for admins"`, 1)
	})), "")

	// Another period, as baseline.plan reads it: passes.
	res, err := f.call(t, tenant, tierzero.ActionBaselinePlan, map[string]any{"impact_days": 1})
	if err != nil {
		t.Fatal(err)
	}
	var one struct {
		Plan tierzero.PlanArgs `json:"plan"`
	}
	if err := json.Unmarshal(res.Output, &one); err != nil {
		t.Fatal(err)
	}
	if one.Plan.Steps[en].Label == label {
		t.Fatalf("the one-day impact is the 7-day one: %q", label)
	}
	if err := checkPlan(f.client, tenant, one.Plan); err != nil {
		t.Fatalf("the one-day plan: %v", err)
	}

	// A new sign-in moves the impact: the plan of a moment ago, whose
	// impact graph itself wrote, still passes (a busy tenant's sign-ins
	// must not refuse every plan); the plan of now passes; an impact in
	// graph's words that graph never wrote is still refused; and another
	// client (a restart) accepts only the impact of now.
	if err := f.sim.Change(tenant, sim.Change{User: "adele.vance@contoso.com", SignIn: &sim.SignInChange{}}); err != nil {
		t.Fatal(err)
	}
	if err := checkPlan(f.client, tenant, enable); err != nil {
		t.Errorf("the plan of a moment ago, its impact moved since: %v", err)
	}
	restarted := newBaselineClient(t, f, f.sim, realBaselines(t))
	wantRefused(t, "impact moved, after a restart", checkPlan(restarted, tenant, enable), "sign-in impact is not the one the sign-in logs give now")
	wantRefused(t, "nobody blocked, after the impact moved", checkPlan(f.client, tenant, tamper(enable, func(p *tierzero.PlanArgs) {
		p.Steps[en].Label = counts.ReplaceAllString(label, "0 would have been asked for MFA and 0 would have been blocked or refused")
	})), "sign-in impact is not the one the sign-in logs give now")
	enable = planOf(t, f, tenant)
	if err := checkPlan(f.client, tenant, enable); err != nil {
		t.Fatalf("planned again: %v", err)
	}

	// The sign-in logs unreadable: not a conflict, and not a yes.
	fail.on.Store(true)
	if err := checkPlan(f.client, tenant, enable); err == nil || tierzero.ErrorCode(err) == tierzero.EConflict {
		t.Errorf("sign-ins unreadable: %v", err)
	}
	fail.on.Store(false)
	// Without baselines, nothing can be checked.
	bare := newBaselineClient(t, f, f.sim, nil)
	if err := checkPlan(bare, tenant, enable); tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Errorf("without baselines: %v", err)
	}
	// Only a baseline plan is checked.
	if err := f.client.CheckPlan(context.Background(), tenant, tierzero.ToolCall{Action: "user.get", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)}); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("another action: %v", err)
	}
	if w := writes(f.sim, tenant); len(w) != ran {
		t.Errorf("checking wrote %v", w[ran:])
	}
}
