package graph_test

// baseline.apply runs only the plan the planner gives now (issue 22), and
// the Conditional Access tools refuse a policy that could lock everyone
// out, whatever the plan says: the real planner (baseline.Load, the
// built-in default) and the real SDK against graph/sim.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/baseline"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// realBaselines is the built-in default baseline.
func realBaselines(t *testing.T) *baseline.Set {
	t.Helper()
	set, err := baseline.Load()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// planOf calls baseline.plan and returns baseline.apply's arguments.
func planOf(t *testing.T, f *fixture, tenant tierzero.TenantID) tierzero.PlanArgs {
	t.Helper()
	res, err := f.call(t, tenant, tierzero.ActionBaselinePlan, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var whole struct {
		Plan tierzero.PlanArgs `json:"plan"`
	}
	if err := json.Unmarshal(res.Output, &whole); err != nil || len(whole.Plan.Steps) == 0 {
		t.Fatalf("plan %s: %v", res.Output, err)
	}
	return whole.Plan
}

// tamper returns a copy of p changed by change.
func tamper(p tierzero.PlanArgs, change func(*tierzero.PlanArgs)) tierzero.PlanArgs {
	q := p
	q.Steps = append([]tierzero.PlanStepArg(nil), p.Steps...)
	change(&q)
	return q
}

// stepOf returns the index of the first step of action.
func stepOf(t *testing.T, p tierzero.PlanArgs, action string) int {
	t.Helper()
	for i, s := range p.Steps {
		if s.Action == action {
			return i
		}
	}
	t.Fatalf("no %s step in %+v", action, p.Steps)
	return -1
}

// setArg returns a step's args with one key set.
func setArg(t *testing.T, args, key string, v any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	return string(mustCanon(t, m))
}

// A plan changed after baseline.plan (arguments, a step added or left out,
// a label, the phase, stop) is refused with what differs, sending nothing;
// the plan unchanged is accepted, in both phases, and an enable step's
// label may carry only the sign-in impact baseline.plan wrote.
func TestBaselineApplyOnlyThePlannersPlan(t *testing.T) {
	f := newFixture(t)
	f.client = newBaselineClient(t, f, f.sim, realBaselines(t))
	plan := planOf(t, f, "fabrikam")
	if plan.Phase != tierzero.BaselineCreate {
		t.Fatalf("fabrikam's first phase is %q", plan.Phase)
	}
	ca := stepOf(t, plan, graph.ActionBaselineCreateCAPolicy)
	blockAll := `{"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + groupIDOf(t, f.sim, "fabrikam", "Break Glass Accounts") + `"]},` +
		`"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["block"]},` +
		`"state":"enabledForReportingButNotEnforced"}`
	cases := []struct {
		name, want string
		plan       tierzero.PlanArgs
	}{
		{"args changed", "has arguments other than the planner's", tamper(plan, func(p *tierzero.PlanArgs) {
			p.Steps[ca].Args = setArg(t, p.Steps[ca].Args, "body", blockAll) // labelled "require MFA" still
		})},
		{"step added", "it has", tamper(plan, func(p *tierzero.PlanArgs) {
			p.Steps = append(p.Steps, tierzero.PlanStepArg{Action: graph.ActionBaselineSetSecurityDefaults, Args: `{"enabled":false}`, Label: "check security defaults"})
		})},
		{"step left out", "it has", tamper(plan, func(p *tierzero.PlanArgs) { p.Steps = p.Steps[1:] })},
		{"label changed", "label is not the planner's", tamper(plan, func(p *tierzero.PlanArgs) {
			p.Steps[ca].Label = `create the Conditional Access policy "Require MFA for all users" (report-only)`
		})},
		{"phase changed", "phase due now is create", tamper(plan, func(p *tierzero.PlanArgs) { p.Phase = tierzero.BaselineEnable })},
		{"stop changed", "whether its failure stops", tamper(plan, func(p *tierzero.PlanArgs) { p.Steps[ca].Stop = !p.Steps[ca].Stop })},
	}
	for _, c := range cases {
		_, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, c.plan)
		wantCode(t, err, tierzero.EConflict)
		if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, c.want) || !strings.Contains(msg, "plan again") {
			t.Errorf("%s: %s", c.name, msg)
		}
		if applied(t, f.client, "fabrikam", tierzero.ActionBaselineApply, c.plan) {
			t.Errorf("%s: the read-back takes it as applied", c.name)
		}
	}
	if w := writes(f.sim, "fabrikam"); len(w) != 0 {
		t.Fatalf("a refused plan wrote %v", w)
	}

	// Unchanged: accepted; its steps run; the enable phase follows.
	if _, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, plan); err != nil {
		t.Fatal(err)
	}
	if !applied(t, f.client, "fabrikam", tierzero.ActionBaselineApply, plan) {
		t.Error("the plan of now is not taken as applied")
	}
	for i, s := range plan.Steps {
		c, _ := s.Call("s" + string(rune('a'+i)))
		if _, err := f.client.Execute(context.Background(), f.permit("fabrikam", c), "fabrikam", c); err != nil {
			t.Fatalf("step %s: %v", s.Label, err)
		}
	}
	// Once it ran, the same plan is no longer the plan of now.
	_, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, plan)
	wantCode(t, err, tierzero.EConflict)

	enable := planOf(t, f, "fabrikam")
	if enable.Phase != tierzero.BaselineEnable {
		t.Fatalf("then the %q phase", enable.Phase)
	}
	en := stepOf(t, enable, graph.ActionBaselineEnableCAPolicy)
	if !strings.Contains(enable.Steps[en].Label, "; sign-in impact") {
		t.Fatalf("enable label %q", enable.Steps[en].Label)
	}
	if _, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, enable); err != nil {
		t.Fatalf("the enable plan unchanged: %v", err)
	}
	plain := enable.Steps[en].Label[:strings.Index(enable.Steps[en].Label, "; sign-in impact")]
	for name, label := range map[string]string{
		"impact dropped":  plain,
		"text appended":   enable.Steps[en].Label + "; it changes nothing",
		"impact replaced": plain + "; sign-in impact: nobody is affected",
		"other policy":    strings.Replace(enable.Steps[en].Label, "switch", "leave", 1),
	} {
		p := tamper(enable, func(p *tierzero.PlanArgs) { p.Steps[en].Label = label })
		_, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, p)
		wantCode(t, err, tierzero.EConflict)
		if !strings.Contains(tierzero.ErrorMessage(err), "followed by its sign-in impact") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Another impact period, as baseline.plan writes it: accepted.
	res, err := f.call(t, "fabrikam", tierzero.ActionBaselinePlan, map[string]any{"impact_days": 1})
	if err != nil {
		t.Fatal(err)
	}
	var one struct {
		Plan tierzero.PlanArgs `json:"plan"`
	}
	json.Unmarshal(res.Output, &one)
	if _, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, one.Plan); err != nil {
		t.Fatalf("the one-day plan: %v", err)
	}
	if w := writes(f.sim, "fabrikam"); len(w) == 0 || strings.Contains(strings.Join(w, " "), "PATCH /v1.0/policies/identitySecurityDefaults") {
		t.Errorf("writes %v", w)
	}
}

// Without baselines, baseline.apply cannot check a plan: it is refused.
func TestBaselineApplyWithoutBaselines(t *testing.T) {
	f := newFixture(t)
	_, err := f.call(t, "contoso", tierzero.ActionBaselineApply, map[string]any{"phase": "create",
		"steps": []map[string]any{{"action": graph.ActionBaselineSetSecurityDefaults, "args": `{"enabled":true}`, "label": "turn security defaults on"}}})
	wantCode(t, err, tierzero.EUnavailable)
}

// A Conditional Access policy that blocks all users and excludes no user or
// group is refused by create and update, whatever the plan and its label;
// one that excludes the break-glass group, or only blocks some, is not.
func TestBaselineCALockout(t *testing.T) {
	f := newFixture(t)
	bg := groupIDOf(t, f.sim, "contoso", "Break Glass Accounts")
	body := func(users, grant string) string {
		return `{"displayName":"Lock","state":"enabledForReportingButNotEnforced","conditions":{"users":` + users + `,` +
			`"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["` + grant + `"]}}`
	}
	for _, users := range []string{`{"includeUsers":["All"]}`, `{"includeUsers":["all"],"excludeUsers":[],"excludeGroups":[]}`,
		`{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"]}`} {
		_, err := f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, map[string]any{"name": "Lock", "body": body(users, "block")})
		wantCode(t, err, tierzero.EDenied)
		if !strings.Contains(tierzero.ErrorMessage(err), "lock everyone out") {
			t.Errorf("%s: %v", users, err)
		}
	}
	if w := writes(f.sim, "contoso"); len(w) != 0 {
		t.Fatalf("a lockout was sent: %v", w)
	}
	for name, b := range map[string]string{
		"Lock":  body(`{"includeUsers":["All"],"excludeGroups":["`+bg+`"]}`, "block"),
		"Lock2": strings.Replace(body(`{"includeUsers":["All"]}`, "mfa"), `"Lock"`, `"Lock2"`, 1),
	} {
		if _, err := f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, map[string]any{"name": name, "body": b}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Update: the policy as the PATCH would leave it. "Block legacy
	// authentication" is seeded for all users with no exclusion: setting
	// it to block... it already does; any update that leaves it so is
	// refused, one that excludes the break-glass group is not.
	legacy := caID(t, f.sim, "contoso", "Block legacy authentication")
	lock2 := caID(t, f.sim, "contoso", "Lock2")
	for _, c := range []struct{ id, name, body string }{
		{legacy, "Block legacy authentication", `{"conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]}}`},
		{lock2, "Lock2", `{"grantControls":{"operator":"OR","builtInControls":["block"]}}`},
	} {
		_, err := f.call(t, "contoso", graph.ActionBaselineUpdateCAPolicy, map[string]any{"id": c.id, "name": c.name, "body": c.body})
		wantCode(t, err, tierzero.EDenied)
	}
	if w := writes(f.sim, "contoso"); len(w) != 2 {
		t.Fatalf("writes %v, want the two creates", w)
	}
	fix := `{"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + bg + `"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["exchangeActiveSync","other"]}}`
	if _, err := f.call(t, "contoso", graph.ActionBaselineUpdateCAPolicy, map[string]any{"id": legacy, "name": "Block legacy authentication", "body": fix}); err != nil {
		t.Fatalf("excluding the break-glass group: %v", err)
	}
}

// The enable phase is planned and approved, and then, before its steps
// run, someone PATCHes "Require MFA for all users" (session controls
// added): its step refuses to switch it on (the policy changed since the
// plan, whose impact and approval were of the policy as it was), sending
// nothing; its read-back says so too; the other steps run. Planned again,
// the changed policy is no longer switched on. The real planner, the real
// SDK, graph/sim.
func TestBaselineEnableChangedAfterPlan(t *testing.T) {
	f := newFixture(t)
	f.client = newBaselineClient(t, f, f.sim, realBaselines(t))
	create := planOf(t, f, "fabrikam")
	for i, s := range create.Steps {
		c, _ := s.Call("c" + string(rune('a'+i)))
		if _, err := f.client.Execute(context.Background(), f.permit("fabrikam", c), "fabrikam", c); err != nil {
			t.Fatalf("step %s: %v", s.Label, err)
		}
	}
	enable := planOf(t, f, "fabrikam")
	if enable.Phase != tierzero.BaselineEnable {
		t.Fatalf("then the %q phase", enable.Phase)
	}
	mfa := caID(t, f.sim, "fabrikam", "Require MFA for all users")
	target := -1
	for i, s := range enable.Steps {
		if s.Action == graph.ActionBaselineEnableCAPolicy && strings.Contains(s.Args, mfa) {
			target = i
		}
	}
	if target < 0 || !strings.Contains(enable.Steps[target].Args, `"modified":"`+caStampOf(t, f.sim, "fabrikam", "Require MFA for all users")+`"`) {
		t.Fatalf("no enable step with its modifiedDateTime for %s: %+v", mfa, enable.Steps)
	}
	if _, err := f.call(t, "fabrikam", tierzero.ActionBaselineApply, enable); err != nil {
		t.Fatalf("approve: %v", err)
	}

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPatch, "/v1.0/identity/conditionalAccess/policies/"+mfa,
		strings.NewReader(`{"sessionControls":{"persistentBrowser":{"isEnabled":true,"mode":"always"}}}`))
	req.Header.Set("Authorization", "Bearer "+sim.Token("fabrikam"))
	req.Header.Set("Content-Type", "application/json")
	if f.sim.ServeHTTP(rec, req); rec.Code != http.StatusNoContent {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	before := len(writes(f.sim, "fabrikam"))

	for i, s := range enable.Steps {
		c, _ := s.Call("e" + string(rune('a'+i)))
		_, err := f.client.Execute(context.Background(), f.permit("fabrikam", c), "fabrikam", c)
		if i != target {
			if err != nil {
				t.Fatalf("step %s: %v", s.Label, err)
			}
			continue
		}
		wantCode(t, err, tierzero.EConflict)
		if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "changed since the plan") || !strings.Contains(msg, "plan again") {
			t.Errorf("the changed policy's step: %s", msg)
		}
		if _, _, err := f.client.Applied(context.Background(), "fabrikam", c, time.Now().Add(-time.Minute)); tierzero.ErrorCode(err) != tierzero.EConflict {
			t.Errorf("its read-back: %v", err)
		}
	}
	for _, w := range writes(f.sim, "fabrikam")[before:] {
		if strings.HasSuffix(w, "/policies/"+mfa) {
			t.Errorf("the changed policy was written: %s", w)
		}
	}
	st, _ := f.sim.Baseline("fabrikam")
	for _, p := range st.ConditionalAccess {
		if p["id"] == mfa && (p["state"] != "enabledForReportingButNotEnforced" || p["sessionControls"] == nil) {
			t.Errorf("the changed policy %v", p)
		}
	}
	res, err := f.call(t, "fabrikam", tierzero.ActionBaselinePlan, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var again struct {
		Plan tierzero.PlanArgs `json:"plan"`
	}
	json.Unmarshal(res.Output, &again)
	for _, s := range again.Plan.Steps {
		if s.Action == graph.ActionBaselineEnableCAPolicy && strings.Contains(s.Args, mfa) {
			t.Errorf("planned again, the changed policy is switched on: %+v", s)
		}
	}
}
