package sim

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// appliedOf returns, for each sign-in of upn (newest first) the result of
// each policy by display name, with the sign-in's client app and
// authenticationRequirement.
func appliedOf(t *testing.T, r response, upn string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, v := range r.json["value"].([]any) {
		s := v.(map[string]any)
		if s["userPrincipalName"] != upn {
			continue
		}
		m := map[string]string{"clientAppUsed": s["clientAppUsed"].(string), "authenticationRequirement": s["authenticationRequirement"].(string)}
		for _, a := range s["appliedConditionalAccessPolicies"].([]any) {
			p := a.(map[string]any)
			m[p["displayName"].(string)] = p["result"].(string)
		}
		out = append(out, m)
	}
	return out
}

// Sign-ins carry what each Conditional Access policy of their time did or,
// report-only, would have done: a policy created now is on no sign-in until
// a day passes (POST /_sim/signins), a policy switched on keeps its
// report-only results on the sign-ins before; the break-glass group
// excludes its account; a filter on createdDateTime reads the recent ones.
func TestSignInsAppliedPolicies(t *testing.T) {
	srv, s := newTest(t)
	list := func() response {
		r := do(t, srv, request{path: "/v1.0/auditLogs/signIns?$top=1000", tenant: "contoso"})
		if r.status != http.StatusOK {
			t.Fatalf("sign-ins: %d %s", r.status, r.raw)
		}
		return r
	}
	r := list()
	// The mail app on Exchange ActiveSync: the report-only block of legacy
	// authentication would have stopped it; MFA for admins does not apply.
	eas := appliedOf(t, r, "allan.deyoung@contoso.com")
	i := slices.IndexFunc(eas, func(m map[string]string) bool { return m["clientAppUsed"] == "Exchange ActiveSync" })
	if i < 0 || eas[i]["Block legacy authentication"] != "reportOnlyFailure" || eas[i]["Require MFA for admins"] != "notApplied" ||
		eas[i]["authenticationRequirement"] != "singleFactorAuthentication" {
		t.Fatalf("EAS sign-in: %v", eas)
	}
	// An admin's browser sign-in with MFA: the enabled policy succeeded,
	// the legacy block does not apply to a browser.
	megan := appliedOf(t, r, "megan.bowen@contoso.com")
	if len(megan) == 0 || megan[0]["Require MFA for admins"] != "success" || megan[0]["Block legacy authentication"] != "reportOnlyNotApplied" ||
		megan[0]["authenticationRequirement"] != "multiFactorAuthentication" {
		t.Fatalf("admin sign-in: %v", megan)
	}
	// A wrong password: no policy was evaluated.
	christie := appliedOf(t, r, "christie.cline@contoso.com")
	if christie[0]["Require MFA for admins"] != "notApplied" || christie[0]["Block legacy authentication"] != "reportOnlyNotApplied" {
		t.Fatalf("failed sign-in: %v", christie)
	}

	// The break-glass group and its account, in both tenants.
	for _, tn := range []string{"contoso", "fabrikam"} {
		st, _ := s.State(tn)
		g := st.Groups[slices.IndexFunc(st.Groups, func(g Group) bool { return g.DisplayName == "Break Glass Accounts" })]
		u := st.Users[slices.IndexFunc(st.Users, func(u User) bool { return u.UserPrincipalName == "emergency.access@"+st.Domain })]
		if !slices.Equal(g.Members, []string{u.UserPrincipalName}) || !slices.Equal(u.DirectoryRoles, []string{"Global Administrator"}) || len(u.AssignedLicenses) != 0 {
			t.Errorf("%s: group %+v, account %+v", tn, g, u)
		}
	}

	// A report-only MFA for all, excluding the break-glass group, and a
	// disabled copy, created now.
	bg := guid("contoso", "group", "Break Glass Accounts")
	ids := map[string]string{}
	for _, state := range []string{"enabledForReportingButNotEnforced", "disabled"} {
		name := "MFA all " + state
		body := `{"displayName":"` + name + `","state":"` + state + `","conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + bg + `"]},` +
			`"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`
		r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/identity/conditionalAccess/policies", tenant: "contoso", body: body})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		ids[state] = r.json["id"].(string)
	}
	// The sign-ins before they existed do not list them: Entra records
	// what the policies of the sign-in's time did.
	r = list()
	for _, m := range appliedOf(t, r, "adele.vance@contoso.com") {
		if _, ok := m["MFA all enabledForReportingButNotEnforced"]; ok || m["Block legacy authentication"] == "" {
			t.Errorf("a sign-in before the policy existed: %v", m)
		}
	}
	before := len(r.json["value"].([]any))

	// A day passes in the sign-ins: the seeded day happens again, under the
	// policies, which were created a day ago now.
	pass := func() int {
		t.Helper()
		r := do(t, srv, request{method: http.MethodPost, path: "/_sim/signins?tenant=contoso"})
		if r.status != http.StatusOK || r.json["tenant"] != "contoso" {
			t.Fatalf("pass a day: %d %s", r.status, r.raw)
		}
		return int(r.json["added"].(float64))
	}
	added := pass()
	r = list()
	if added == 0 || len(r.json["value"].([]any)) != before+added {
		t.Fatalf("a day added %d sign-ins: %d then %d", added, before, len(r.json["value"].([]any)))
	}
	adele := appliedOf(t, r, "adele.vance@contoso.com")
	if adele[0]["MFA all enabledForReportingButNotEnforced"] != "reportOnlyInterrupted" || adele[0]["MFA all disabled"] != "notEnabled" {
		t.Errorf("single-factor sign-in: %v", adele[0])
	}
	if _, ok := adele[len(adele)-1]["MFA all enabledForReportingButNotEnforced"]; ok {
		t.Errorf("adele's seeded sign-ins, before the policy: %v", adele)
	}
	lynne := appliedOf(t, r, "lynne.robbins@contoso.com")
	if lynne[0]["MFA all enabledForReportingButNotEnforced"] != "reportOnlySuccess" {
		t.Errorf("multi-factor sign-in: %v", lynne[0])
	}
	st, _ := s.Baseline("contoso")
	for _, p := range st.ConditionalAccess {
		if p["id"] == ids["disabled"] && p["createdDateTime"] != testNow.Add(-24*time.Hour).Format(time.RFC3339) {
			t.Errorf("created %v, want a day ago", p["createdDateTime"])
		}
	}
	// The break-glass account signs in: the group excludes it.
	if err := s.Change("contoso", Change{User: "emergency.access@contoso.com", SignIn: &SignInChange{Ago: time.Minute, App: "Azure Portal"}}); err != nil {
		t.Fatal(err)
	}
	bgs := appliedOf(t, list(), "emergency.access@contoso.com")
	if len(bgs) != 2 || bgs[0]["MFA all enabledForReportingButNotEnforced"] != "reportOnlyNotApplied" || bgs[0]["Require MFA for admins"] != "success" {
		t.Errorf("break-glass sign-in: %v", bgs)
	}

	// Switched on now: the day's sign-ins keep the report-only results
	// they got; the next day's are enforced.
	if r := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/identity/conditionalAccess/policies/" + ids["enabledForReportingButNotEnforced"],
		tenant: "contoso", body: `{"state":"enabled"}`}); r.status != http.StatusNoContent {
		t.Fatalf("switch on: %d %s", r.status, r.raw)
	}
	pass()
	adele = appliedOf(t, list(), "adele.vance@contoso.com")
	if adele[0]["MFA all enabledForReportingButNotEnforced"] != "failure" {
		t.Errorf("a sign-in after it was switched on: %v", adele[0])
	}
	if i := slices.IndexFunc(adele, func(m map[string]string) bool {
		return m["MFA all enabledForReportingButNotEnforced"] == "reportOnlyInterrupted"
	}); i < 0 {
		t.Errorf("the sign-ins of the report-only day lost their results: %v", adele)
	}
	// Deleted: later sign-ins do not list it, earlier ones still do.
	if r := do(t, srv, request{method: http.MethodDelete, path: "/v1.0/identity/conditionalAccess/policies/" + ids["disabled"], tenant: "contoso"}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	pass()
	adele = appliedOf(t, list(), "adele.vance@contoso.com")
	if _, ok := adele[0]["MFA all disabled"]; ok || adele[len(adele)-1]["MFA all disabled"] != "" {
		t.Errorf("after the deletion: %v", adele[0])
	}
	if !slices.ContainsFunc(adele, func(m map[string]string) bool { return m["MFA all disabled"] == "notEnabled" }) {
		t.Errorf("sign-ins before the deletion lost it: %v", adele)
	}
	if r := do(t, srv, request{path: "/_sim/signins?tenant=contoso"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /_sim/signins: %d", r.status)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: "/_sim/signins?tenant=nowhere"}); r.status != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", r.status)
	}

	// createdDateTime ge: only the sign-ins since then.
	since := testNow.Add(-6 * time.Hour).UTC()
	r = do(t, srv, request{path: "/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape("createdDateTime ge "+since.Format(time.RFC3339)), tenant: "contoso"})
	if r.status != http.StatusOK {
		t.Fatalf("filter: %d %s", r.status, r.raw)
	}
	vals := r.json["value"].([]any)
	if len(vals) == 0 || len(vals) >= len(list().json["value"].([]any)) {
		t.Fatalf("%d recent sign-ins", len(vals))
	}
	for _, v := range vals {
		at, err := time.Parse(time.RFC3339, v.(map[string]any)["createdDateTime"].(string))
		if err != nil || at.Before(since) {
			t.Errorf("sign-in at %v before %v", at, since)
		}
	}
	if r := do(t, srv, request{path: "/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape("createdDateTime ge yesterday"), tenant: "contoso"}); r.status != http.StatusBadRequest {
		t.Errorf("bad date: %d", r.status)
	}
}
