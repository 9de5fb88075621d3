package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func values(t *testing.T, r response) []map[string]any {
	t.Helper()
	raw, ok := r.json["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

func methodTypes(vs []map[string]any) []string {
	var out []string
	for _, v := range vs {
		out = append(out, strings.TrimPrefix(v["@odata.type"].(string), "#microsoft.graph."))
	}
	return out
}

func TestAuthenticationMethods(t *testing.T) {
	srv, sim := newTest(t)
	base := "/v1.0/users/raul.razo%40contoso.com/authentication"
	r := do(t, srv, request{path: base + "/methods", tenant: "contoso"})
	if r.status != http.StatusOK {
		t.Fatalf("methods: %d %s", r.status, r.raw)
	}
	vs := values(t, r)
	if got, want := methodTypes(vs), []string{typePassword, typeAuthenticator, typePhone}; !slices.Equal(got, want) {
		t.Fatalf("methods = %v, want %v", got, want)
	}
	if vs[0]["id"] != passwordMethodID || vs[2]["id"] != mobilePhoneID || vs[2]["phoneType"] != "mobile" || vs[1]["displayName"] != "iPhone 12" {
		t.Errorf("methods = %s", r.raw)
	}
	if !strings.HasSuffix(r.json["@odata.context"].(string), "/authentication/methods") {
		t.Errorf("context = %v", r.json["@odata.context"])
	}
	authID := vs[1]["id"].(string)

	r = do(t, srv, request{path: base + "/phoneMethods", tenant: "contoso"})
	if got := methodTypes(values(t, r)); !slices.Equal(got, []string{typePhone}) {
		t.Errorf("phoneMethods = %v", got)
	}
	r = do(t, srv, request{path: base + "/methods/" + authID, tenant: "contoso"})
	if r.status != http.StatusOK || r.json["deviceTag"] != "SoftwareTokenActivated" {
		t.Errorf("get method: %d %s", r.status, r.raw)
	}

	tests := []struct {
		name, method, path string
		wantStatus         int
		wantCode           string
	}{
		{"generic collection has no DELETE", "DELETE", base + "/methods/" + authID, 405, "Request_BadRequest"},
		{"password is never deleted", "DELETE", base + "/passwordMethods/" + passwordMethodID, 405, "Request_BadRequest"},
		{"wrong typed collection", "DELETE", base + "/fido2Methods/" + authID, 404, "itemNotFound"},
		// The default method (Authenticator push) cannot go while others
		// remain: 400 "Cannot delete default method with other methods
		// configured" (https://github.com/microsoftgraph/microsoft-graph-docs/issues/14470).
		{"the default while the phone remains", "DELETE", base + "/microsoftAuthenticatorMethods/" + authID, 400, "badRequest"},
		{"delete phone", "DELETE", base + "/phoneMethods/" + mobilePhoneID, 204, ""},
		{"delete authenticator, the last", "DELETE", base + "/microsoftAuthenticatorMethods/" + authID, 204, ""},
		{"deleted twice", "DELETE", base + "/microsoftAuthenticatorMethods/" + authID, 404, "itemNotFound"},
		{"unknown user", "GET", "/v1.0/users/nobody%40contoso.com/authentication/methods", 404, "Request_ResourceNotFound"},
	}
	before, _ := sim.State("contoso")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{method: tt.method, path: tt.path, tenant: "contoso"})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.raw)
			}
			if tt.wantCode != "" {
				if code, _ := graphErr(t, r); code != tt.wantCode {
					t.Errorf("code = %q, want %q", code, tt.wantCode)
				}
			} else if len(r.raw) != 0 {
				t.Errorf("204 with a body: %s", r.raw)
			}
		})
	}
	r = do(t, srv, request{path: base + "/methods", tenant: "contoso"})
	if got := methodTypes(values(t, r)); !slices.Equal(got, []string{typePassword}) {
		t.Errorf("after the deletes, methods = %v, want the password only", got)
	}
	// The earlier snapshot is unchanged (copy on write).
	for _, u := range before.Users {
		if u.UserPrincipalName == "raul.razo@contoso.com" && len(u.AuthenticationMethods) != 3 {
			t.Errorf("an earlier State snapshot changed: %+v", u.AuthenticationMethods)
		}
	}
	j := sim.Journal("contoso")
	if len(j) != 7 || j[3].Status != 400 || j[4].Status != 204 || j[5].Status != 204 {
		t.Errorf("journal = %+v", j)
	}
}

func TestTemporaryAccessPass(t *testing.T) {
	srv, sim := newTest(t)
	path := "/v1.0/users/raul.razo%40contoso.com/authentication/temporaryAccessPassMethods"
	post := func(body string) response {
		return do(t, srv, request{method: "POST", path: path, tenant: "contoso", body: body, gzip: true})
	}
	r := post(`{"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethod","isUsableOnce":true,"lifetimeInMinutes":60}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	code1, _ := r.json["temporaryAccessPass"].(string)
	if len(code1) != 8 || r.json["isUsable"] != true || r.json["isUsableOnce"] != true || r.json["lifetimeInMinutes"] != 60.0 ||
		r.json["methodUsabilityReason"] != "EnabledByPolicy" || r.json["startDateTime"] != "2026-11-02T09:30:00Z" {
		t.Fatalf("create = %s", r.raw)
	}
	if !strings.HasSuffix(r.json["@odata.context"].(string), "/authentication/temporaryAccessPassMethods/$entity") {
		t.Errorf("context = %v", r.json["@odata.context"])
	}
	first := r.json["id"].(string)

	r = post(`{"lifetimeInMinutes":480}`)
	code2, _ := r.json["temporaryAccessPass"].(string)
	if r.status != http.StatusCreated || code2 == "" || code2 == code1 || r.json["isUsableOnce"] != false {
		t.Fatalf("second create: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: path, tenant: "contoso"})
	taps := values(t, r)
	if len(taps) != 1 || taps[0]["id"] == first || taps[0]["lifetimeInMinutes"] != 480.0 {
		t.Fatalf("a new TAP must replace the old: %s", r.raw)
	}
	if v, present := taps[0]["temporaryAccessPass"]; !present || v != nil {
		t.Errorf("GET shows temporaryAccessPass = %v, want null", v)
	}
	r = do(t, srv, request{path: path + "/" + first, tenant: "contoso"})
	if r.status != http.StatusNotFound {
		t.Errorf("the replaced TAP: %d", r.status)
	}

	for _, tt := range []struct{ name, body, wantCode, wantMsg string }{
		{"too short", `{"lifetimeInMinutes":5}`, "badRequest", "Invalid LifetimeInMinutes specified. The valid range between 10 and 43200."},
		{"too long", `{"lifetimeInMinutes":43201}`, "badRequest", "Invalid LifetimeInMinutes specified. The valid range between 10 and 43200."},
		{"code chosen by the caller", `{"temporaryAccessPass":"Chosen123!"}`, "Request_BadRequest", "Invalid property 'temporaryAccessPass'."},
		{"not a number", `{"lifetimeInMinutes":"sixty"}`, "BadRequest", ""},
		{"not JSON", `nope`, "BadRequest", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d: %s", r.status, r.raw)
			}
			if code, msg := graphErr(t, r); code != tt.wantCode || tt.wantMsg != "" && msg != tt.wantMsg {
				t.Errorf("error = %q %q", code, msg)
			}
		})
	}

	st, _ := sim.State("contoso")
	stJSON, _ := json.Marshal(st)
	jJSON, _ := json.Marshal(sim.Journal("contoso"))
	for _, code := range []string{code1, code2} {
		if bytes.Contains(stJSON, []byte(code)) || bytes.Contains(jJSON, []byte(code)) {
			t.Errorf("a TAP code is in the state or the journal")
		}
	}
	if j := sim.Journal("contoso"); len(j) != 7 || j[0].Status != 201 || j[1].Status != 201 {
		t.Errorf("journal = %+v", j)
	}
}

func TestTAPUsability(t *testing.T) {
	now := testNow
	m := AuthMethod{Type: typeTAP, StartDateTime: now, LifetimeInMinutes: 60}
	for _, tt := range []struct {
		at     time.Time
		usable bool
		reason string
	}{
		{now.Add(-time.Minute), false, "NotYetValid"},
		{now, true, "EnabledByPolicy"},
		{now.Add(59 * time.Minute), true, "EnabledByPolicy"},
		{now.Add(time.Hour), false, "Expired"},
	} {
		if u, r := tapUsability(m, tt.at); u != tt.usable || r != tt.reason {
			t.Errorf("at %v: %v %q, want %v %q", tt.at, u, r, tt.usable, tt.reason)
		}
	}
}

func TestSignInCases(t *testing.T) {
	srv, sim := newTest(t)
	for tenant, cs := range identityCases {
		st, _ := sim.State(tenant)
		domain := st.Domain
		ids := map[string]string{}
		for _, u := range st.Users {
			ids[u.UserPrincipalName] = u.ID
		}
		codes := func(local string, byUPN bool) []int {
			t.Helper()
			upn := local + "@" + domain
			filter := "userId eq '" + ids[upn] + "'"
			if byUPN {
				filter = "userPrincipalName eq '" + upn + "'"
			}
			r := do(t, srv, request{path: "/v1.0/auditLogs/signIns?$filter=" + urlQuery(filter) + "&$top=50", tenant: tenant})
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", filter, r.status, r.raw)
			}
			var out []int
			prev := "9999"
			for _, v := range values(t, r) {
				at := v["createdDateTime"].(string)
				if at > prev {
					t.Errorf("%s: not newest first", upn)
				}
				prev = at
				if !strings.EqualFold(v["userPrincipalName"].(string), upn) || v["@odata.type"] != "#microsoft.graph.signIn" {
					t.Errorf("%s: entry %v", upn, v)
				}
				status := v["status"].(map[string]any)
				out = append(out, int(status["errorCode"].(float64)))
			}
			return out
		}
		newest := func(local string) int {
			c := codes(local, false)
			if len(c) == 0 {
				t.Fatalf("%s/%s: no sign-ins", tenant, local)
			}
			return c[0]
		}
		count := func(cs []int, code int) int {
			n := 0
			for _, c := range cs {
				if c == code {
					n++
				}
			}
			return n
		}
		if c := codes(cs.forgot, false); c[0] != 50126 || count(c, 50126) < 3 {
			t.Errorf("%s forgot password: %v", tenant, c)
		}
		if c := codes(cs.lostPhone, false); c[0] != 50074 || count(c, 50126) < 2 {
			t.Errorf("%s lost phone: %v", tenant, c)
		}
		if c := codes(cs.lockout, false); c[0] != 50053 || count(c, 50126) < 5 {
			t.Errorf("%s lockout: %v", tenant, c)
		}
		if newest(cs.expired) != 50055 || newest(cs.blocked) != 53003 || newest(cs.contractor) != 50055 || newest(cs.disabled) != 50057 {
			t.Errorf("%s: expired %d blocked %d contractor %d disabled %d", tenant,
				newest(cs.expired), newest(cs.blocked), newest(cs.contractor), newest(cs.disabled))
		}
		if c := codes(cs.typo, true); len(c) < 1 || c[0] != 50034 {
			t.Errorf("%s typo: %v", tenant, c)
		}
		r := do(t, srv, request{path: "/v1.0/auditLogs/signIns?$filter=" + urlQuery("userPrincipalName eq '"+cs.typo+"@"+domain+"'"), tenant: tenant})
		if v := values(t, r)[0]; v["userId"] != "" || v["userDisplayName"] != nil {
			t.Errorf("%s typo sign-in names a user: %v", tenant, v)
		}
		for _, u := range st.Users {
			switch local, _, _ := strings.Cut(u.UserPrincipalName, "@"); local {
			case cs.contractor:
				if !u.ForceChangePasswordNextSignIn || testNow.Sub(u.LastPasswordChangeDateTime) > 48*time.Hour {
					t.Errorf("%s contractor: %+v", tenant, u)
				}
			case cs.expired:
				if testNow.Sub(u.LastPasswordChangeDateTime) < 90*24*time.Hour {
					t.Errorf("%s expired: password changed %v", tenant, u.LastPasswordChangeDateTime)
				}
			case cs.hacked:
				if u.Risk == nil || u.Risk.Level != "high" || u.Risk.State != "atRisk" {
					t.Errorf("%s hacked: %+v", tenant, u.Risk)
				}
			case cs.remediated:
				if u.Risk == nil || u.Risk.State != "remediated" {
					t.Errorf("%s remediated: %+v", tenant, u.Risk)
				}
			case cs.blocked, cs.forgot, cs.lockout:
			case cs.contractor:
			default:
				if u.AccountEnabled && count(codes(local, false), 0) == 0 {
					t.Errorf("%s: %s has no successful sign-in", tenant, local)
				}
			}
		}
	}
}

// urlQuery escapes a query value.
func urlQuery(v string) string {
	r := strings.NewReplacer(" ", "%20", "'", "%27", "@", "%40")
	return r.Replace(v)
}

func TestSignInQueries(t *testing.T) {
	srv, _ := newTest(t)
	r := do(t, srv, request{path: "/v1.0/auditLogs/signIns?$top=5", tenant: "fabrikam"})
	if r.status != http.StatusOK || len(values(t, r)) != 5 {
		t.Fatalf("top 5: %d %s", r.status, r.raw)
	}
	next, _ := r.json["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, srv.URL+"/v1.0/auditLogs/signIns?") {
		t.Fatalf("nextLink = %q", next)
	}
	r2 := do(t, srv, request{path: next, tenant: "fabrikam"})
	if r2.status != http.StatusOK || len(values(t, r2)) != 5 || values(t, r2)[0]["id"] == values(t, r)[0]["id"] {
		t.Errorf("second page: %d %s", r2.status, r2.raw)
	}
	id := values(t, r)[0]["id"].(string)
	if r := do(t, srv, request{path: "/v1.0/auditLogs/signIns/" + id, tenant: "fabrikam"}); r.status != http.StatusOK || r.json["id"] != id {
		t.Errorf("get sign-in: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: "/v1.0/auditLogs/signIns/" + id, tenant: "contoso"}); r.status != http.StatusNotFound {
		t.Errorf("another tenant's sign-in: %d", r.status)
	}
	for _, q := range []string{
		"$filter=" + urlQuery("appDisplayName eq 'Teams'"),
		"$filter=" + urlQuery("userId eq 'x' or userId eq 'y'"),
		"$top=0",
		"$top=1001",
		"$search=x",
		"$orderby=" + urlQuery("createdDateTime asc"),
	} {
		if r := do(t, srv, request{path: "/v1.0/auditLogs/signIns?" + q, tenant: "fabrikam"}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, r.status)
		}
	}
	// A quote in a UPN is doubled, as OData wants.
	r = do(t, srv, request{path: "/v1.0/auditLogs/signIns?$filter=" + urlQuery("userPrincipalName eq 'o''brien@fabrikam.com'"), tenant: "fabrikam"})
	if r.status != http.StatusOK || len(values(t, r)) != 0 {
		t.Errorf("quoted UPN: %d %s", r.status, r.raw)
	}
}

func TestRiskyUsers(t *testing.T) {
	srv, sim := newTest(t)
	st, _ := sim.State("contoso")
	ids := map[string]string{}
	for _, u := range st.Users {
		ids[u.UserPrincipalName] = u.ID
	}
	hacked := ids["lidia.holloway@contoso.com"]
	r := do(t, srv, request{path: "/v1.0/identityProtection/riskyUsers/" + hacked, tenant: "contoso"})
	if r.status != http.StatusOK || r.json["riskLevel"] != "high" || r.json["riskState"] != "atRisk" || r.json["riskDetail"] != "none" ||
		r.json["userPrincipalName"] != "lidia.holloway@contoso.com" || r.json["riskLastUpdatedDateTime"] == nil {
		t.Fatalf("hacked: %d %s", r.status, r.raw)
	}
	for name, ref := range map[string]string{
		"never flagged": ids["adele.vance@contoso.com"],
		"by UPN":        "lidia.holloway%40contoso.com",
		"unknown":       "00000000-0000-0000-0000-000000000000",
		"other tenant":  guid("fabrikam", "user", "liam.oconnor@fabrikam.com"),
	} {
		if r := do(t, srv, request{path: "/v1.0/identityProtection/riskyUsers/" + ref, tenant: "contoso"}); r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	// An admin password reset remediates the risk.
	r = do(t, srv, request{method: "PATCH", path: "/v1.0/users/" + hacked, tenant: "contoso",
		body: `{"passwordProfile":{"password":"Temp-Pass-12345","forceChangePasswordNextSignIn":true}}`})
	if r.status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/identityProtection/riskyUsers/" + hacked, tenant: "contoso"})
	if r.json["riskLevel"] != "none" || r.json["riskState"] != "remediated" || r.json["riskDetail"] != "adminGeneratedTemporaryPassword" {
		t.Errorf("after reset: %s", r.raw)
	}
}

func TestMailboxSettings(t *testing.T) {
	srv, sim := newTest(t)
	path := "/v1.0/users/debra.berger%40contoso.com/mailboxSettings"
	r := do(t, srv, request{path: path, tenant: "contoso"})
	ar, _ := r.json["automaticRepliesSetting"].(map[string]any)
	if r.status != http.StatusOK || ar["status"] != "alwaysEnabled" || ar["externalAudience"] != "contactsOnly" || r.json["timeZone"] != "Pacific Standard Time" {
		t.Fatalf("get: %d %s", r.status, r.raw)
	}
	body := `{"@odata.type":"#microsoft.graph.mailboxSettings","automaticRepliesSetting":{"@odata.type":"#microsoft.graph.automaticRepliesSetting",
		"status":"scheduled","externalAudience":"all","internalReplyMessage":"Back on the 10th.",
		"scheduledStartDateTime":{"@odata.type":"#microsoft.graph.dateTimeTimeZone","dateTime":"2026-11-03T08:00:00","timeZone":"UTC"},
		"scheduledEndDateTime":{"dateTime":"2026-11-10T08:00:00.0000000","timeZone":"UTC"}}}`
	r = do(t, srv, request{method: "PATCH", path: path, tenant: "contoso", body: body, gzip: true})
	ar, _ = r.json["automaticRepliesSetting"].(map[string]any)
	if r.status != http.StatusOK || ar["status"] != "scheduled" || ar["internalReplyMessage"] != "Back on the 10th." ||
		!strings.HasPrefix(ar["externalReplyMessage"].(string), "Thank you") || // merged: untouched
		ar["scheduledStartDateTime"].(map[string]any)["dateTime"] != "2026-11-03T08:00:00.0000000" {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	st, _ := sim.State("contoso")
	for _, u := range st.Users {
		if u.UserPrincipalName == "debra.berger@contoso.com" && (u.AutomaticReplies.Status != "scheduled" || u.AutomaticReplies.ScheduledEnd.DateTime != "2026-11-10T08:00:00.0000000") {
			t.Errorf("state: %+v", u.AutomaticReplies)
		}
	}

	for _, tt := range []struct {
		name, user, body string
		wantStatus       int
		wantCode         string
	}{
		{"end before start", "debra.berger", `{"automaticRepliesSetting":{"scheduledEndDateTime":{"dateTime":"2026-11-01T08:00:00","timeZone":"UTC"}}}`, 400, "ErrorInvalidScheduledOofDuration"},
		{"unknown status", "debra.berger", `{"automaticRepliesSetting":{"status":"sometimes"}}`, 400, "RequestBodyRead"},
		{"unknown property", "debra.berger", `{"automaticRepliesSetting":{"replyToAll":true}}`, 400, "RequestBodyRead"},
		{"unknown setting", "debra.berger", `{"forwardTo":"x@example.com"}`, 400, "RequestBodyRead"},
		{"bad time zone", "debra.berger", `{"automaticRepliesSetting":{"scheduledEndDateTime":{"dateTime":"2026-11-20T08:00:00","timeZone":"Mars/Olympus"}}}`, 400, "RequestBodyRead"},
		{"no mailbox", "gerhart.moller", `{"automaticRepliesSetting":{"status":"disabled"}}`, 404, "MailboxNotEnabledForRESTAPI"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{method: "PATCH", path: "/v1.0/users/" + tt.user + "%40contoso.com/mailboxSettings", tenant: "contoso", body: tt.body})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d: %s", r.status, r.raw)
			}
			if code, _ := graphErr(t, r); code != tt.wantCode {
				t.Errorf("code = %q, want %q", code, tt.wantCode)
			}
		})
	}
	r = do(t, srv, request{path: path, tenant: "contoso"})
	if ar := r.json["automaticRepliesSetting"].(map[string]any); ar["status"] != "scheduled" {
		t.Errorf("a refused PATCH changed the settings: %s", r.raw)
	}
	if r := do(t, srv, request{path: "/v1.0/users/gerhart.moller%40contoso.com/mailboxSettings", tenant: "contoso"}); r.status != http.StatusNotFound {
		t.Errorf("unlicensed mailbox: %d", r.status)
	}
}

func TestLicenseDetails(t *testing.T) {
	srv, _ := newTest(t)
	r := do(t, srv, request{path: "/v1.0/users/adele.vance%40contoso.com/licenseDetails", tenant: "contoso"})
	var parts []string
	for _, v := range values(t, r) {
		if v["skuId"] != skuIDs[v["skuPartNumber"].(string)] {
			t.Errorf("licenseDetails entry %v", v)
		}
		parts = append(parts, v["skuPartNumber"].(string))
	}
	if r.status != http.StatusOK || !slices.Equal(parts, []string{"ENTERPRISEPACK", "EMS", "POWER_BI_PRO"}) {
		t.Errorf("licenseDetails: %d %s", r.status, r.raw)
	}
}

// errorOf returns the OData error code and message of a response.
func errorOf(t *testing.T, r response) (code, message string) {
	t.Helper()
	e, ok := r.json["error"].(map[string]any)
	if !ok {
		t.Fatalf("no OData error in %d %s", r.status, r.raw)
	}
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

// Graph gates Identity Protection on Entra ID P2 ("Using the riskyUsers API
// requires a Microsoft Entra ID P2 license",
// https://learn.microsoft.com/en-us/graph/api/riskyuser-get; answered 403
// "Your tenant is not licensed for this feature.", as publicly reported,
// e.g. briandelmsft/SentinelAutomationModules#436), and the sign-in logs on
// P1 (403 Authentication_RequestFromNonPremiumTenantOrB2CTenant,
// https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/4135).
func TestPremiumGates(t *testing.T) {
	srv, s := newTest(t)
	risky := "/v1.0/identityProtection/riskyUsers/" + s.tenants["contoso"].lookup("lidia.holloway@contoso.com").ID
	signIns := "/v1.0/auditLogs/signIns?$filter=userPrincipalName%20eq%20'lidia.holloway@contoso.com'"
	if r := do(t, srv, request{path: risky, tenant: "contoso"}); r.status != http.StatusOK {
		t.Fatalf("riskyUsers with P2: %d %s", r.status, r.raw)
	}
	if s.DropSubscription("contoso", "NO_SUCH_SKU") || s.DropSubscription("nowhere", "AAD_PREMIUM_P2") {
		t.Error("DropSubscription dropped what does not exist")
	}
	if !s.DropSubscription("contoso", "aad_premium_p2") {
		t.Fatal("DropSubscription(AAD_PREMIUM_P2) = false")
	}
	st, _ := s.State("contoso")
	for _, k := range st.SKUs {
		if k.SkuPartNumber == "AAD_PREMIUM_P2" {
			t.Error("the dropped SKU is still listed")
		}
	}
	r := do(t, srv, request{path: risky, tenant: "contoso"})
	if code, msg := errorOf(t, r); r.status != http.StatusForbidden || code != "Forbidden" || msg != "Your tenant is not licensed for this feature." {
		t.Errorf("riskyUsers without P2: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: signIns, tenant: "contoso"}); r.status != http.StatusOK {
		t.Errorf("signIns with P1: %d %s", r.status, r.raw)
	}
	for _, part := range []string{"SPE_E3", "EMS"} {
		s.DropSubscription("contoso", part)
	}
	r = do(t, srv, request{path: signIns, tenant: "contoso"})
	if code, _ := errorOf(t, r); r.status != http.StatusForbidden || code != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" {
		t.Errorf("signIns without P1: %d %s", r.status, r.raw)
	}
	// fabrikam keeps its subscriptions.
	if r := do(t, srv, request{path: "/v1.0/auditLogs/signIns", tenant: "fabrikam"}); r.status != http.StatusOK {
		t.Errorf("fabrikam signIns: %d", r.status)
	}
}
