package sim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

const (
	caPath       = "/v1.0/identity/conditionalAccess/policies"
	namedPath    = "/v1.0/identity/conditionalAccess/namedLocations"
	secDefPath   = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
	authPolPath  = "/v1.0/policies/authenticationMethodsPolicy"
	compliPath   = "/v1.0/deviceManagement/deviceCompliancePolicies"
	mfaAllPolicy = `{"displayName":"Require MFA for all users","state":"enabledForReportingButNotEnforced",
		"conditions":{"users":{"includeUsers":["All"],"excludeUsers":[]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},
		"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`
)

func byName(vs []map[string]any, name string) map[string]any {
	for _, v := range vs {
		if v["displayName"] == name {
			return v
		}
	}
	return nil
}

// The seeded tenants carry the drift a baseline is to find.
func TestBaselineSeedDrift(t *testing.T) {
	srv, s := newTest(t)
	get := func(tenant, path string) response {
		t.Helper()
		r := do(t, srv, request{path: path, tenant: tenant})
		if r.status != http.StatusOK {
			t.Fatalf("GET %s (%s): %d %s", path, tenant, r.status, r.raw)
		}
		return r
	}
	// contoso: security defaults off, MFA for admins on, legacy auth
	// blocked only in report-only, no MFA for all, TAP reusable.
	if r := get("contoso", secDefPath); r.json["isEnabled"] != false || r.json["id"] != "00000000-0000-0000-0000-000000000005" ||
		!strings.HasSuffix(r.json["@odata.context"].(string), "#policies/identitySecurityDefaultsEnforcementPolicy/$entity") {
		t.Errorf("contoso security defaults: %s", r.raw)
	}
	ca := values(t, get("contoso", caPath))
	if len(ca) != 2 {
		t.Fatalf("contoso CA policies = %d, want 2", len(ca))
	}
	admins, legacy := byName(ca, "Require MFA for admins"), byName(ca, "Block legacy authentication")
	if admins == nil || admins["state"] != "enabled" || legacy == nil || legacy["state"] != "enabledForReportingButNotEnforced" {
		t.Fatalf("contoso CA policies: %v", ca)
	}
	users := admins["conditions"].(map[string]any)["users"].(map[string]any)
	if !slices.Contains(users["includeRoles"].([]any), any("62e90394-69f5-4237-9190-012177145e10")) {
		t.Errorf("admins policy roles: %v", users)
	}
	if g := admins["grantControls"].(map[string]any); g["operator"] != "OR" || g["builtInControls"].([]any)[0] != "mfa" {
		t.Errorf("admins grant controls: %v", g)
	}
	if apps := legacy["conditions"].(map[string]any)["clientAppTypes"].([]any); !slices.Equal(apps, []any{"exchangeActiveSync", "other"}) {
		t.Errorf("legacy client apps: %v", apps)
	}
	if byName(ca, "Require MFA for all users") != nil {
		t.Error("contoso should not have MFA for all users")
	}
	tapOf := func(tenant string) map[string]any {
		r := get(tenant, authPolPath)
		if r.json["id"] != "authenticationMethodsPolicy" {
			t.Errorf("policy id: %v", r.json["id"])
		}
		var ids []string
		var tap map[string]any
		for _, m := range r.json["authenticationMethodConfigurations"].([]any) {
			m := m.(map[string]any)
			ids = append(ids, m["id"].(string))
			if m["id"] == "TemporaryAccessPass" {
				tap = m
			}
		}
		if !slices.Equal(ids, []string{"Fido2", "MicrosoftAuthenticator", "Sms", "TemporaryAccessPass", "Email"}) {
			t.Errorf("%s method configurations = %v", tenant, ids)
		}
		return tap
	}
	if tap := tapOf("contoso"); tap["state"] != "enabled" || tap["isUsableOnce"] != false || tap["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration" {
		t.Errorf("contoso TAP: %v", tap)
	}
	// contoso's Windows policy: no antivirus requirement; no Android policy.
	cps := values(t, get("contoso", compliPath))
	if got := methodTypes(cps); !slices.Equal(got, []string{"windows10CompliancePolicy", "iosCompliancePolicy", "macOSCompliancePolicy"}) {
		t.Errorf("contoso compliance policies = %v", got)
	}
	if w := cps[0]; w["bitLockerEnabled"] != true || w["antivirusRequired"] != false || w["defenderEnabled"] != false || w["activeFirewallRequired"] != true {
		t.Errorf("contoso windows policy: %v", w)
	}
	as := values(t, get("contoso", compliPath+"/"+cps[0]["id"].(string)+"/assignments"))
	if len(as) != 1 || as[0]["target"].(map[string]any)["@odata.type"] != "#microsoft.graph.allLicensedUsersAssignmentTarget" {
		t.Errorf("contoso windows assignments: %v", as)
	}

	// fabrikam: security defaults on, no CA policy, TAP one-time for 30
	// minutes, policies assigned to no one.
	if r := get("fabrikam", secDefPath); r.json["isEnabled"] != true {
		t.Errorf("fabrikam security defaults: %s", r.raw)
	}
	if ca := values(t, get("fabrikam", caPath)); len(ca) != 0 {
		t.Errorf("fabrikam CA policies: %v", ca)
	}
	if tap := tapOf("fabrikam"); tap["state"] != "enabled" || tap["defaultLifetimeInMinutes"] != 30.0 || tap["isUsableOnce"] != true {
		t.Errorf("fabrikam TAP: %v", tap)
	}
	fcps := values(t, get("fabrikam", compliPath))
	if as := values(t, get("fabrikam", compliPath+"/"+fcps[0]["id"].(string)+"/assignments")); len(as) != 0 {
		t.Errorf("fabrikam assignments: %v", as)
	}

	// The state shows the same.
	st, _ := s.State("contoso")
	if st.Baseline.SecurityDefaults || len(st.Baseline.ConditionalAccess) != 2 || len(st.Baseline.AuthMethods) != 5 || len(st.Baseline.CompliancePolicies) != 3 {
		t.Errorf("state baseline: %+v", st.Baseline)
	}
	// Reads leave no journal entry.
	if j := s.Journal("contoso"); len(j) != 0 {
		t.Errorf("journal after reads: %v", j)
	}
}

func TestConditionalAccessRoundTrip(t *testing.T) {
	srv, s := newTest(t)
	r := do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "contoso", body: mfaAllPolicy, gzip: true})
	if r.status != http.StatusCreated || r.json["state"] != "enabledForReportingButNotEnforced" || r.json["createdDateTime"] != "2026-11-02T09:30:00Z" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.json["id"].(string)
	if !groupIDPattern.MatchString(id) || !strings.HasSuffix(r.json["@odata.context"].(string), "#identity/conditionalAccess/policies/$entity") {
		t.Errorf("created: %s", r.raw)
	}
	r = do(t, srv, request{method: http.MethodPatch, path: caPath + "/" + id, tenant: "contoso", body: `{"state":"enabled"}`})
	if r.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	// Every PATCH moves modifiedDateTime, written to Graph's 100 ns; two in
	// the same instant of the (fixed) clock too.
	r = do(t, srv, request{path: caPath + "/" + id, tenant: "contoso"})
	if r.status != http.StatusOK || r.json["state"] != "enabled" || r.json["displayName"] != "Require MFA for all users" || r.json["modifiedDateTime"] != "2026-11-02T09:30:00.0000001Z" {
		t.Errorf("get after patch: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{method: http.MethodPatch, path: caPath + "/" + id, tenant: "contoso", body: `{"sessionControls":{"signInFrequency":{"isEnabled":true,"type":"hours","value":4}}}`}); r.status != http.StatusNoContent {
		t.Fatalf("second patch: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: caPath + "/" + id, tenant: "contoso"})
	if r.json["modifiedDateTime"] != "2026-11-02T09:30:00.0000002Z" || r.json["createdDateTime"] != "2026-11-02T09:30:00Z" {
		t.Errorf("get after a second patch in the same instant: %s", r.raw)
	}
	// A day passing moves both a day back, to the same 100 ns.
	if _, err := s.PassDay("contoso"); err != nil {
		t.Fatal(err)
	}
	r = do(t, srv, request{path: caPath + "/" + id, tenant: "contoso"})
	if r.json["modifiedDateTime"] != "2026-11-01T09:30:00.0000002Z" || r.json["createdDateTime"] != "2026-11-01T09:30:00Z" {
		t.Errorf("get after a day passed: %s", r.raw)
	}
	if r := do(t, srv, request{method: http.MethodDelete, path: caPath + "/" + id, tenant: "contoso"}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: caPath + "/" + id, tenant: "contoso"})
	if code, _ := errorOf(t, r); r.status != http.StatusNotFound || code != "ResourceNotFound" {
		t.Errorf("get after delete: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{method: http.MethodDelete, path: caPath + "/" + id, tenant: "contoso"}); r.status != http.StatusNotFound {
		t.Errorf("second delete: %d %s", r.status, r.raw)
	}
	// Every write is journalled, with its status.
	var got []string
	for _, e := range s.Journal("contoso") {
		got = append(got, e.Method+" "+strings.TrimPrefix(e.Path, "/v1.0/identity/conditionalAccess/")+" "+http.StatusText(e.Status))
	}
	want := []string{"POST policies Created", "PATCH policies/" + id + " No Content", "PATCH policies/" + id + " No Content", "DELETE policies/" + id + " No Content", "DELETE policies/" + id + " Not Found"}
	if !slices.Equal(got, want) {
		t.Errorf("journal = %q, want %q", got, want)
	}
}

func TestConditionalAccessValidation(t *testing.T) {
	srv, _ := newTest(t)
	for _, tc := range []struct{ name, body string }{
		{"no displayName", `{"state":"enabled","conditions":{"users":{"includeUsers":["All"]}}}`},
		{"no state", `{"displayName":"x","conditions":{"users":{"includeUsers":["All"]}}}`},
		{"unknown state", `{"displayName":"x","state":"on","conditions":{"users":{"includeUsers":["All"]}}}`},
		{"no conditions", `{"displayName":"x","state":"disabled"}`},
		{"bad operator", `{"displayName":"x","state":"disabled","conditions":{},"grantControls":{"operator":"XOR","builtInControls":["mfa"]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "contoso", body: tc.body})
			if code, msg := errorOf(t, r); r.status != http.StatusBadRequest || code != "BadRequest" || !strings.HasPrefix(msg, "1007: Incoming ConditionalAccessPolicy object") {
				t.Errorf("%d %s", r.status, r.raw)
			}
		})
	}
	r := do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "contoso", body: `not json`})
	if r.status != http.StatusBadRequest {
		t.Errorf("bad json: %d %s", r.status, r.raw)
	}
	// A patch that would leave the policy invalid is refused too.
	ca := values(t, do(t, srv, request{path: caPath, tenant: "contoso"}))
	r = do(t, srv, request{method: http.MethodPatch, path: caPath + "/" + ca[0]["id"].(string), tenant: "contoso", body: `{"state":"sometimes"}`})
	if r.status != http.StatusBadRequest {
		t.Errorf("patch bad state: %d %s", r.status, r.raw)
	}
}

// Security defaults and enabled Conditional Access policies exclude each
// other.
func TestSecurityDefaultsConflict(t *testing.T) {
	srv, s := newTest(t)
	enabled := strings.Replace(mfaAllPolicy, "enabledForReportingButNotEnforced", "enabled", 1)
	// fabrikam has security defaults on: an enabled policy is refused,
	// a report-only one accepted but cannot be switched on.
	r := do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "fabrikam", body: enabled})
	if code, msg := errorOf(t, r); r.status != http.StatusBadRequest || code != "BadRequest" || !strings.Contains(msg, "Security Defaults is enabled in the tenant") {
		t.Fatalf("enabled with security defaults: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "fabrikam", body: mfaAllPolicy})
	if r.status != http.StatusCreated {
		t.Fatalf("report-only with security defaults: %d %s", r.status, r.raw)
	}
	id := r.json["id"].(string)
	r = do(t, srv, request{method: http.MethodPatch, path: caPath + "/" + id, tenant: "fabrikam", body: `{"state":"enabled"}`})
	if _, msg := errorOf(t, r); r.status != http.StatusBadRequest || !strings.Contains(msg, "disable Security defaults") {
		t.Fatalf("switch on with security defaults: %d %s", r.status, r.raw)
	}
	// Security defaults off, then the policy goes on.
	r = do(t, srv, request{method: http.MethodPatch, path: secDefPath, tenant: "fabrikam", body: `{"isEnabled":false}`})
	if r.status != http.StatusNoContent {
		t.Fatalf("security defaults off: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{method: http.MethodPatch, path: caPath + "/" + id, tenant: "fabrikam", body: `{"state":"enabled"}`}); r.status != http.StatusNoContent {
		t.Fatalf("switch on: %d %s", r.status, r.raw)
	}
	// ... and security defaults cannot come back while it is.
	r = do(t, srv, request{method: http.MethodPatch, path: secDefPath, tenant: "fabrikam", body: `{"isEnabled":true}`})
	if r.status != http.StatusBadRequest {
		t.Errorf("security defaults on over an enabled policy: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: http.MethodPatch, path: secDefPath, tenant: "fabrikam", body: `{"isEnabled":"yes"}`})
	if r.status != http.StatusBadRequest {
		t.Errorf("isEnabled not a boolean: %d %s", r.status, r.raw)
	}
	if st, _ := s.State("fabrikam"); st.Baseline.SecurityDefaults {
		t.Error("state: security defaults still on")
	}
}

func TestBaselineGates(t *testing.T) {
	srv, s := newTest(t)
	// A missing permission: Entra's AccessDenied, Intune's Forbidden.
	if err := s.SetAppPermissions("contoso", []string{permPolicyRead, permIntuneRead}); err != nil {
		t.Fatal(err)
	}
	if r := do(t, srv, request{path: caPath, tenant: "contoso"}); r.status != http.StatusOK {
		t.Errorf("read with Policy.Read.All: %d %s", r.status, r.raw)
	}
	// The write permission alone does not read policies.
	s.SetAppPermissions("contoso", []string{permCAWrite})
	if r := do(t, srv, request{path: caPath, tenant: "contoso"}); r.status != http.StatusForbidden {
		t.Errorf("read with only Policy.ReadWrite.ConditionalAccess: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: namedPath, tenant: "contoso"}); r.status != http.StatusOK {
		t.Errorf("named locations with Policy.ReadWrite.ConditionalAccess: %d %s", r.status, r.raw)
	}
	s.SetAppPermissions("contoso", []string{permPolicyRead, permIntuneRead})
	r := do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "contoso", body: mfaAllPolicy})
	if code, _ := errorOf(t, r); r.status != http.StatusForbidden || code != "AccessDenied" {
		t.Errorf("write without Policy.ReadWrite.ConditionalAccess: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: http.MethodPatch, path: secDefPath, tenant: "contoso", body: `{"isEnabled":true}`})
	if r.status != http.StatusForbidden {
		t.Errorf("security defaults without permission: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: http.MethodPatch, path: authPolPath + "/authenticationMethodConfigurations/TemporaryAccessPass", tenant: "contoso",
		body: `{"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration","state":"enabled"}`})
	if r.status != http.StatusForbidden {
		t.Errorf("auth methods without permission: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: http.MethodPost, path: compliPath, tenant: "contoso", body: `{"@odata.type":"#microsoft.graph.androidCompliancePolicy","displayName":"a"}`})
	if code, msg := errorOf(t, r); r.status != http.StatusForbidden || code != "Forbidden" || !strings.Contains(msg, "DeviceManagementConfiguration.ReadWrite.All") {
		t.Errorf("intune write without permission: %d %s", r.status, r.raw)
	}
	s.SetAppPermissions("contoso", nil)
	for _, p := range []string{caPath, namedPath, secDefPath, authPolPath} {
		if r := do(t, srv, request{path: p, tenant: "contoso"}); r.status != http.StatusForbidden {
			t.Errorf("GET %s without permissions: %d", p, r.status)
		}
	}
	if r := do(t, srv, request{path: compliPath, tenant: "contoso"}); r.status != http.StatusForbidden {
		t.Errorf("GET compliance without permissions: %d", r.status)
	}
	// No Entra ID P1 (nor Intune): Graph's licence errors.
	srv, s = newTest(t)
	for _, part := range []string{"SPE_E3", "EMS", "AAD_PREMIUM_P2"} {
		s.DropSubscription("contoso", part)
	}
	r = do(t, srv, request{path: caPath, tenant: "contoso"})
	if code, _ := errorOf(t, r); r.status != http.StatusForbidden || code != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" {
		t.Errorf("CA without P1: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: namedPath, tenant: "contoso"}); r.status != http.StatusForbidden {
		t.Errorf("named locations without P1: %d %s", r.status, r.raw)
	}
	intuneErr(t, do(t, srv, request{path: compliPath, tenant: "contoso"}), http.StatusForbidden, "Forbidden")
	// Security defaults and the methods policy need no premium licence.
	for _, p := range []string{secDefPath, authPolPath} {
		if r := do(t, srv, request{path: p, tenant: "contoso"}); r.status != http.StatusOK {
			t.Errorf("GET %s without P1: %d %s", p, r.status, r.raw)
		}
	}
}

func TestNamedLocations(t *testing.T) {
	srv, _ := newTest(t)
	body := `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Contoso HQ","isTrusted":true,
		"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},{"cidrAddress":"2001:db8::/48"}]}`
	r := do(t, srv, request{method: http.MethodPost, path: namedPath, tenant: "contoso", body: body})
	if r.status != http.StatusCreated || r.json["isTrusted"] != true {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.json["id"].(string)
	if rs := r.json["ipRanges"].([]any); rs[1].(map[string]any)["@odata.type"] != "#microsoft.graph.iPv6CidrRange" {
		t.Errorf("ranges: %v", rs)
	}
	if vs := values(t, do(t, srv, request{path: namedPath, tenant: "contoso"})); len(vs) != 1 || vs[0]["displayName"] != "Contoso HQ" {
		t.Errorf("list: %v", vs)
	}
	for name, bad := range map[string]string{
		"bad cidr":  `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"x","ipRanges":[{"cidrAddress":"300.1.1.1/8"}]}`,
		"no ranges": `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"x","ipRanges":[]}`,
		"no type":   `{"displayName":"x","ipRanges":[{"cidrAddress":"10.0.0.0/8"}]}`,
		"no name":   `{"@odata.type":"#microsoft.graph.ipNamedLocation","ipRanges":[{"cidrAddress":"10.0.0.0/8"}]}`,
	} {
		if r := do(t, srv, request{method: http.MethodPost, path: namedPath, tenant: "contoso", body: bad}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	// A location a policy names cannot go.
	pol := `{"displayName":"Block outside HQ","state":"disabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
		"locations":{"includeLocations":["All"],"excludeLocations":["` + id + `"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`
	r = do(t, srv, request{method: http.MethodPost, path: caPath, tenant: "contoso", body: pol})
	if r.status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{method: http.MethodDelete, path: namedPath + "/" + id, tenant: "contoso"}); r.status != http.StatusBadRequest {
		t.Errorf("delete in use: %d %s", r.status, r.raw)
	}
	do(t, srv, request{method: http.MethodDelete, path: caPath + "/" + r.json["id"].(string), tenant: "contoso"})
	if r := do(t, srv, request{method: http.MethodDelete, path: namedPath + "/" + id, tenant: "contoso"}); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
}

func TestAuthenticationMethodsPolicy(t *testing.T) {
	srv, _ := newTest(t)
	tap := authPolPath + "/authenticationMethodConfigurations/TemporaryAccessPass"
	typ := `"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"`
	r := do(t, srv, request{method: http.MethodPatch, path: tap, tenant: "contoso", gzip: true,
		body: `{` + typ + `,"state":"enabled","defaultLifetimeInMinutes":120,"isUsableOnce":true}`})
	if r.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: tap, tenant: "contoso"})
	if r.json["state"] != "enabled" || r.json["defaultLifetimeInMinutes"] != 120.0 || r.json["isUsableOnce"] != true || r.json["maximumLifetimeInMinutes"] != 480.0 {
		t.Errorf("after patch: %s", r.raw)
	}
	if r := do(t, srv, request{path: authPolPath, tenant: "contoso"}); r.json["lastModifiedDateTime"] != "2026-11-02T09:30:00Z" {
		t.Errorf("lastModifiedDateTime = %v", r.json["lastModifiedDateTime"])
	}
	// The policy is the one issuing a pass obeys.
	do(t, srv, request{method: http.MethodPatch, path: tap, tenant: "contoso", body: `{` + typ + `,"state":"disabled"}`})
	r = do(t, srv, request{method: http.MethodPost, path: "/v1.0/users/adele.vance%40contoso.com/authentication/temporaryAccessPassMethods", tenant: "contoso", body: `{}`})
	if _, msg := errorOf(t, r); r.status != http.StatusBadRequest || !strings.Contains(msg, "not enabled") {
		t.Errorf("TAP issued while disabled: %d %s", r.status, r.raw)
	}
	for name, body := range map[string]string{
		"no type":           `{"state":"enabled"}`,
		"other type":        `{"@odata.type":"#microsoft.graph.smsAuthenticationMethodConfiguration","state":"enabled"}`,
		"bad state":         `{` + typ + `,"state":"on"}`,
		"lifetime too long": `{` + typ + `,"defaultLifetimeInMinutes":600}`,
	} {
		if r := do(t, srv, request{method: http.MethodPatch, path: tap, tenant: "contoso", body: body}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if r := do(t, srv, request{method: http.MethodPatch, path: authPolPath + "/authenticationMethodConfigurations/Voice", tenant: "contoso", body: `{}`}); r.status != http.StatusNotFound {
		t.Errorf("unknown method: %d %s", r.status, r.raw)
	}
}

func TestCompliancePolicies(t *testing.T) {
	srv, s := newTest(t)
	body := `{"@odata.type":"#microsoft.graph.androidCompliancePolicy","displayName":"Android baseline","passwordRequired":true,
		"securityBlockJailbrokenDevices":true,"osMinimumVersion":"13.0",
		"scheduledActionsForRule":[{"ruleName":"PasswordRequired","scheduledActionConfigurations":[{"actionType":"block","gracePeriodHours":0}]}]}`
	r := do(t, srv, request{method: http.MethodPost, path: compliPath, tenant: "fabrikam", body: body, gzip: true})
	if r.status != http.StatusCreated || r.json["@odata.type"] != "#microsoft.graph.androidCompliancePolicy" || r.json["passwordRequired"] != true || r.json["version"] != 1.0 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.json["id"].(string)
	if _, ok := r.json["scheduledActionsForRule"]; ok {
		t.Errorf("scheduledActionsForRule returned: %s", r.raw)
	}
	r = do(t, srv, request{method: http.MethodPatch, path: compliPath + "/" + id, tenant: "fabrikam",
		body: `{"@odata.type":"#microsoft.graph.androidCompliancePolicy","osMinimumVersion":"14.0"}`})
	if r.status != http.StatusOK || r.json["osMinimumVersion"] != "14.0" || r.json["version"] != 2.0 || r.json["passwordRequired"] != true {
		t.Errorf("patch: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: http.MethodPatch, path: compliPath + "/" + id, tenant: "fabrikam", body: `{"@odata.type":"#microsoft.graph.iosCompliancePolicy"}`})
	intuneErr(t, r, http.StatusBadRequest, "BadRequest")

	// Assign to a group and to all licensed users; the assignments replace.
	st, _ := s.State("fabrikam")
	gid := st.Groups[0].ID
	assign := `{"assignments":[{"@odata.type":"#microsoft.graph.deviceCompliancePolicyAssignment","target":{"@odata.type":"#microsoft.graph.groupAssignmentTarget","groupId":"` + gid + `"}},
		{"target":{"@odata.type":"#microsoft.graph.allLicensedUsersAssignmentTarget"}}]}`
	r = do(t, srv, request{method: http.MethodPost, path: compliPath + "/" + id + "/assign", tenant: "fabrikam", body: assign})
	if r.status != http.StatusOK || len(values(t, r)) != 2 {
		t.Fatalf("assign: %d %s", r.status, r.raw)
	}
	as := values(t, do(t, srv, request{path: compliPath + "/" + id + "/assignments", tenant: "fabrikam"}))
	if len(as) != 2 || as[0]["id"] != id+"_"+gid || as[0]["target"].(map[string]any)["groupId"] != gid {
		t.Errorf("assignments: %v", as)
	}
	r = do(t, srv, request{method: http.MethodPost, path: compliPath + "/" + id + "/assign", tenant: "fabrikam",
		body: `{"assignments":[{"target":{"@odata.type":"#microsoft.graph.groupAssignmentTarget","groupId":"00000000-0000-0000-0000-000000000001"}}]}`})
	intuneErr(t, r, http.StatusBadRequest, "BadRequest")
	r = do(t, srv, request{method: http.MethodPost, path: compliPath + "/" + id + "/assign", tenant: "fabrikam", body: `{"assignments":[{"target":{}}]}`})
	intuneErr(t, r, http.StatusBadRequest, "BadRequest")
	if as := values(t, do(t, srv, request{path: compliPath + "/" + id + "/assignments", tenant: "fabrikam"})); len(as) != 2 {
		t.Errorf("a refused assign changed the assignments: %v", as)
	}

	// Validation.
	for name, bad := range map[string]string{
		"no type":      `{"displayName":"x"}`,
		"unknown type": `{"@odata.type":"#microsoft.graph.windowsPhone81CompliancePolicy","displayName":"x"}`,
		"no name":      `{"@odata.type":"#microsoft.graph.iosCompliancePolicy"}`,
	} {
		if r := do(t, srv, request{method: http.MethodPost, path: compliPath, tenant: "fabrikam", body: bad}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}

	if r := do(t, srv, request{method: http.MethodDelete, path: compliPath + "/" + id, tenant: "fabrikam"}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	intuneErr(t, do(t, srv, request{path: compliPath + "/" + id, tenant: "fabrikam"}), http.StatusNotFound, "ResourceNotFound")
	intuneErr(t, do(t, srv, request{path: compliPath + "/" + id + "/assignments", tenant: "fabrikam"}), http.StatusNotFound, "ResourceNotFound")

	// Writes are journalled; reads are not.
	var writes []string
	for _, e := range s.Journal("fabrikam") {
		writes = append(writes, e.Method)
	}
	if want := []string{"POST", "PATCH", "PATCH", "POST", "POST", "POST", "POST", "POST", "POST", "DELETE"}; !slices.Equal(writes, want) {
		t.Errorf("journal methods = %v, want %v", writes, want)
	}
}

// A technician through GDAP needs the roles each API names: Intune
// Administrator for compliance policies, Conditional Access or Security
// Administrator for Conditional Access, Authentication Policy
// Administrator for the methods policy.
func TestBaselineGDAPRoles(t *testing.T) {
	srv, s := newTest(t)
	tess := bearer(GDAPToken("msp", "tess@msp.example", "contoso"))
	if err := s.ChangeRelationship("msp", "contoso", RelationshipChange{Roles: []string{"User Administrator"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{caPath, secDefPath} {
		if r := do(t, srv, request{path: p, header: tess}); r.status != http.StatusForbidden {
			t.Errorf("GET %s as User Administrator: %d %s", p, r.status, r.raw)
		}
	}
	if r := do(t, srv, request{path: authPolPath + "/authenticationMethodConfigurations/TemporaryAccessPass", header: tess}); r.status != http.StatusOK {
		t.Errorf("TAP policy as User Administrator: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: caPath, body: mfaAllPolicy, header: tess}); r.status != http.StatusForbidden {
		t.Errorf("create as User Administrator: %d %s", r.status, r.raw)
	}
	if err := s.ChangeRelationship("msp", "contoso", RelationshipChange{Roles: []string{"Conditional Access Administrator", "Intune Administrator"}}); err != nil {
		t.Fatal(err)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: caPath, body: mfaAllPolicy, header: tess}); r.status != http.StatusCreated {
		t.Errorf("create as Conditional Access Administrator: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: compliPath, header: tess}); r.status != http.StatusOK {
		t.Errorf("compliance as Intune Administrator: %d %s", r.status, r.raw)
	}
	r := do(t, srv, request{method: http.MethodPatch, path: authPolPath + "/authenticationMethodConfigurations/TemporaryAccessPass", header: tess,
		body: `{"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration","state":"disabled"}`})
	if code, _ := errorOf(t, r); r.status != http.StatusForbidden || code != "Authorization_RequestDenied" {
		t.Errorf("methods policy as Conditional Access Administrator: %d %s", r.status, r.raw)
	}
}

// A baseline read in one JSON batch (as a plan would read it) is served as
// alone and leaves the journal empty; a batched write is journalled.
func TestBaselineBatch(t *testing.T) {
	srv, s := newTest(t)
	body := `{"requests":[
		{"id":"1","method":"GET","url":"/identity/conditionalAccess/policies"},
		{"id":"2","method":"GET","url":"/policies/identitySecurityDefaultsEnforcementPolicy"},
		{"id":"3","method":"GET","url":"/policies/authenticationMethodsPolicy"},
		{"id":"4","method":"GET","url":"/deviceManagement/deviceCompliancePolicies"},
		{"id":"5","method":"GET","url":"/identity/conditionalAccess/namedLocations"}
	]}`
	got := batchResponses(t, do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body}))
	for id := range 5 {
		if r := got[string(rune('1'+id))]; status(r) != http.StatusOK {
			t.Errorf("response %d: %v", id+1, r)
		}
	}
	if j := s.Journal("contoso"); len(j) != 0 {
		t.Errorf("journal after a read-only batch: %+v", j)
	}
	body = `{"requests":[{"id":"1","method":"POST","url":"/identity/conditionalAccess/policies","body":` + mfaAllPolicy + `,"headers":{"Content-Type":"application/json"}}]}`
	got = batchResponses(t, do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body}))
	if status(got["1"]) != http.StatusCreated {
		t.Fatalf("batched create: %v", got["1"])
	}
	if j := s.Journal("contoso"); len(j) != 1 || j[0].Method != http.MethodPost || j[0].Status != http.StatusCreated {
		t.Errorf("journal after a batched create: %+v", j)
	}
}
