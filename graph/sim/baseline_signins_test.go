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

// Sign-ins carry what each Conditional Access policy did or, report-only,
// would have done; the break-glass group excludes its account; a filter on
// createdDateTime reads the recent ones.
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
	// disabled copy.
	bg := guid("contoso", "group", "Break Glass Accounts")
	for _, state := range []string{"enabledForReportingButNotEnforced", "disabled"} {
		name := "MFA all " + state
		body := `{"displayName":"` + name + `","state":"` + state + `","conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + bg + `"]},` +
			`"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`
		if r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/identity/conditionalAccess/policies", tenant: "contoso", body: body}); r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
	}
	r = list()
	adele := appliedOf(t, r, "adele.vance@contoso.com")
	if adele[0]["MFA all enabledForReportingButNotEnforced"] != "reportOnlyInterrupted" || adele[0]["MFA all disabled"] != "notEnabled" {
		t.Errorf("single-factor sign-in: %v", adele[0])
	}
	lynne := appliedOf(t, r, "lynne.robbins@contoso.com")
	if lynne[0]["MFA all enabledForReportingButNotEnforced"] != "reportOnlySuccess" {
		t.Errorf("multi-factor sign-in: %v", lynne[0])
	}
	bgs := appliedOf(t, r, "emergency.access@contoso.com")
	if len(bgs) != 1 || bgs[0]["MFA all enabledForReportingButNotEnforced"] != "reportOnlyNotApplied" || bgs[0]["Require MFA for admins"] != "success" {
		t.Errorf("break-glass sign-in: %v", bgs)
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
