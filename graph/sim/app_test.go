package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// /_sim/app shows and replaces the directory roles of tierzero's app in a
// tenant.
func TestAppEndpoint(t *testing.T) {
	srv, _ := newTest(t)
	r := do(t, srv, request{path: "/_sim/app?tenant=contoso"})
	if r.status != 200 || !slices.Equal(toStrings(r.json["roles"]), seededAppRoles) || r.json["tenant"] != "contoso" {
		t.Fatalf("GET = %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{method: "PUT", path: "/_sim/app?tenant=contoso", body: `{"roles":["helpdesk administrator","Helpdesk Administrator"]}`})
	if r.status != 200 || !slices.Equal(toStrings(r.json["roles"]), []string{"Helpdesk Administrator"}) {
		t.Fatalf("PUT = %d %s", r.status, r.raw)
	}
	for _, tt := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown role", "PUT", "/_sim/app?tenant=contoso", `{"roles":["Supreme Leader"]}`, 400},
		{"no roles", "PUT", "/_sim/app?tenant=contoso", `{}`, 400},
		{"unknown field", "PUT", "/_sim/app?tenant=contoso", `{"roles":[],"x":1}`, 400},
		{"unknown tenant", "GET", "/_sim/app?tenant=nowhere", ``, 404},
		{"unknown tenant put", "PUT", "/_sim/app?tenant=nowhere", `{"roles":[]}`, 404},
		{"method", "POST", "/_sim/app?tenant=contoso", `{"roles":[]}`, 405},
	} {
		if r := do(t, srv, request{method: tt.method, path: tt.path, body: tt.body}); r.status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.raw, tt.want)
		}
	}
	if r := do(t, srv, request{path: "/_sim/app?tenant=contoso"}); !slices.Equal(toStrings(r.json["roles"]), []string{"Helpdesk Administrator"}) {
		t.Fatalf("a refused PUT changed the roles: %s", r.raw)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// Graph refuses a write the caller's directory roles do not allow with 403
// Authorization_RequestDenied "Insufficient privileges to complete the
// operation." (https://learn.microsoft.com/en-us/answers/questions/360090/microsoft-graph
// shows the body for a password reset without the role), before anything
// changes: an admin's password or accountEnabled needs Privileged
// Authentication Administrator (https://learn.microsoft.com/en-us/graph/api/user-update),
// Helpdesk Administrator cannot enable or disable accounts, and members of
// a role-assignable group need Privileged Role Administrator
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
func TestAuthorizeByAppRoles(t *testing.T) {
	srv, s := newTest(t)
	st, _ := s.State("contoso")
	admins := ""
	for _, g := range st.Groups {
		if g.DisplayName == "IT Admins" {
			admins = g.ID
		}
	}
	pw := `{"passwordProfile":{"password":"Xy7!abcdefgh","forceChangePasswordNextSignIn":true}}`
	ref := func(upn string) string {
		return `{"@odata.id":"` + srv.URL + `/v1.0/directoryObjects/` + s.tenants["contoso"].lookup(upn).ID + `"}`
	}
	tests := []struct {
		name         string
		roles        []string
		method, path string
		body         string
		want         int
	}{
		{"helpdesk resets a user", []string{"Helpdesk Administrator"}, "PATCH", "/v1.0/users/adele.vance@contoso.com", pw, 204},
		{"helpdesk resets an admin", []string{"Helpdesk Administrator"}, "PATCH", "/v1.0/users/megan.bowen@contoso.com", pw, 403},
		{"helpdesk resets a role-assignable group member", []string{"Helpdesk Administrator"}, "PATCH", "/v1.0/users/allan.deyoung@contoso.com", pw, 403},
		{"helpdesk disables a user", []string{"Helpdesk Administrator"}, "PATCH", "/v1.0/users/adele.vance@contoso.com", `{"accountEnabled":false}`, 403},
		{"helpdesk changes a title", []string{"Helpdesk Administrator"}, "PATCH", "/v1.0/users/adele.vance@contoso.com", `{"jobTitle":"Lead"}`, 204},
		{"user admin disables a user", []string{"User Administrator"}, "PATCH", "/v1.0/users/adele.vance@contoso.com", `{"accountEnabled":false}`, 204},
		{"user admin disables an admin", []string{"User Administrator"}, "PATCH", "/v1.0/users/isaiah.langer@contoso.com", `{"accountEnabled":false}`, 403},
		{"user admin resets and disables a user at once", []string{"User Administrator"}, "PATCH", "/v1.0/users/adele.vance@contoso.com", `{"accountEnabled":false,"passwordProfile":{"password":"Xy7!abcdefgh"}}`, 204},
		{"helpdesk resets and disables a user at once", []string{"Helpdesk Administrator"}, "PATCH", "/v1.0/users/adele.vance@contoso.com", `{"accountEnabled":false,"passwordProfile":{"password":"Xy7!abcdefgh"}}`, 403},
		{"PAA disables an admin", []string{"Privileged Authentication Administrator"}, "PATCH", "/v1.0/users/isaiah.langer@contoso.com", `{"accountEnabled":false}`, 204},
		{"global admin resets an admin", []string{"Global Administrator"}, "PATCH", "/v1.0/users/megan.bowen@contoso.com", pw, 204},
		{"no role: TAP for a user", nil, "POST", "/v1.0/users/alex.wilber@contoso.com/authentication/temporaryAccessPassMethods", `{"lifetimeInMinutes":60}`, 201},
		{"user admin: TAP for an admin", []string{"User Administrator"}, "POST", "/v1.0/users/megan.bowen@contoso.com/authentication/temporaryAccessPassMethods", `{"lifetimeInMinutes":60}`, 403},
		{"user admin: revoke an admin", []string{"User Administrator"}, "POST", "/v1.0/users/megan.bowen@contoso.com/revokeSignInSessions", ``, 403},
		{"no role: revoke a user", nil, "POST", "/v1.0/users/alex.wilber@contoso.com/revokeSignInSessions", ``, 200},
		{"user admin: role-assignable group", []string{"User Administrator"}, "POST", "/v1.0/groups/" + admins + "/members/$ref", ref("alex.wilber@contoso.com"), 403},
		{"PRA: role-assignable group", []string{"Privileged Role Administrator"}, "POST", "/v1.0/groups/" + admins + "/members/$ref", ref("alex.wilber@contoso.com"), 204},
		{"unknown user is a 404 first", nil, "PATCH", "/v1.0/users/nobody@contoso.com", pw, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SetAppRoles("contoso", tt.roles); err != nil {
				t.Fatal(err)
			}
			before, _ := s.State("contoso")
			r := do(t, srv, request{method: tt.method, path: tt.path, body: tt.body, tenant: "contoso"})
			if r.status != tt.want {
				t.Fatalf("%d %s, want %d", r.status, r.raw, tt.want)
			}
			if tt.want != 403 {
				return
			}
			if code, msg := graphErr(t, r); code != "Authorization_RequestDenied" || msg != "Insufficient privileges to complete the operation." {
				t.Errorf("error = %s %q", code, msg)
			}
			after, _ := s.State("contoso")
			b, _ := json.Marshal(before.Users)
			a, _ := json.Marshal(after.Users)
			if string(a) != string(b) {
				t.Error("a refused write changed users")
			}
		})
	}
}

// Hybrid users: onPremisesSyncEnabled and its companions are served on
// $select (null for cloud-only users, as Graph does), and a change of a
// property the on-premises directory masters answers 400 Request_BadRequest
// "Unable to update the specified properties for on-premises mastered
// Directory Sync objects or objects currently undergoing migration."
// (https://github.com/microsoftgraph/microsoft-graph-docs/issues/7301 for the
// password; #18038 and #12584 for the body and other properties; the
// manager: https://github.com/OfirGavish/MSCloudNinjaUserManagementTool/issues/1).
func TestHybridUsers(t *testing.T) {
	srv, s := newTest(t)
	sel := "?$select=id,onPremisesSyncEnabled,onPremisesImmutableId,onPremisesLastSyncDateTime"
	r := do(t, srv, request{path: "/v1.0/users/wanda.howard@contoso.com" + sel, tenant: "contoso"})
	if r.status != 200 || r.json["onPremisesSyncEnabled"] != true || r.json["onPremisesImmutableId"] == nil || r.json["onPremisesLastSyncDateTime"] == nil {
		t.Fatalf("synced user = %s", r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/users/adele.vance@contoso.com" + sel, tenant: "contoso"})
	if v, ok := r.json["onPremisesSyncEnabled"]; !ok || v != nil || r.json["onPremisesImmutableId"] != nil {
		t.Fatalf("cloud user = %s", r.raw)
	}
	if r := do(t, srv, request{path: "/v1.0/users/wanda.howard@contoso.com", tenant: "contoso"}); strings.Contains(string(r.raw), "onPremises") {
		t.Fatalf("onPremises properties in the default set: %s", r.raw)
	}
	for _, tenant := range []string{"contoso", "fabrikam"} {
		n := 0
		st, _ := s.State(tenant)
		for _, u := range st.Users {
			if u.OnPremisesSyncEnabled {
				n++
			}
		}
		if n < 2 {
			t.Errorf("%s has %d synced users, want a few", tenant, n)
		}
	}
	managerRef := `{"@odata.id":"` + srv.URL + `/v1.0/users/` + s.tenants["contoso"].lookup("lee.gu@contoso.com").ID + `"}`
	for _, tt := range []struct{ name, method, path, body string }{
		{"password", "PATCH", "/v1.0/users/wanda.howard@contoso.com", `{"passwordProfile":{"password":"Xy7!abcdefgh"}}`},
		{"enable", "PATCH", "/v1.0/users/carlos.slattery@contoso.com", `{"accountEnabled":true}`},
		{"disable", "PATCH", "/v1.0/users/carlos.slattery@contoso.com", `{"accountEnabled":false}`},
		{"department", "PATCH", "/v1.0/users/carlos.slattery@contoso.com", `{"department":"Sales"}`},
		{"manager", "PUT", "/v1.0/users/carlos.slattery@contoso.com/manager/$ref", managerRef},
		{"remove manager", "DELETE", "/v1.0/users/carlos.slattery@contoso.com/manager/$ref", ``},
	} {
		r := do(t, srv, request{method: tt.method, path: tt.path, body: tt.body, tenant: "contoso"})
		if code, msg := graphErr(t, r); r.status != http.StatusBadRequest || code != "Request_BadRequest" || !strings.Contains(msg, "on-premises mastered Directory Sync objects") {
			t.Errorf("%s: %d %s", tt.name, r.status, r.raw)
		}
	}
	// usageLocation is the cloud's own: it changes.
	if r := do(t, srv, request{method: "PATCH", path: "/v1.0/users/wanda.howard@contoso.com", body: `{"usageLocation":"GB"}`, tenant: "contoso"}); r.status != 204 {
		t.Fatalf("usageLocation of a synced user: %d %s", r.status, r.raw)
	}
}

// PUT /users/{id}/manager/$ref sets the manager (204), DELETE removes it;
// the @odata.id must name a user of the tenant.
func TestManagerRef(t *testing.T) {
	srv, s := newTest(t)
	lidia := s.tenants["contoso"].lookup("lidia.holloway@contoso.com").ID
	put := func(body string) response {
		return do(t, srv, request{method: "PUT", path: "/v1.0/users/grady.archie@contoso.com/manager/$ref", body: body, tenant: "contoso"})
	}
	if r := put(`{"@odata.id":"` + srv.URL + `/v1.0/users/` + lidia + `"}`); r.status != 204 {
		t.Fatalf("PUT = %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: "/v1.0/users/grady.archie@contoso.com/manager", tenant: "contoso"}); r.json["id"] != lidia {
		t.Fatalf("manager = %s", r.raw)
	}
	if r := put(`{"@odata.id":"https://evil.example/v1.0/users/` + lidia + `"}`); r.status != 400 {
		t.Errorf("foreign host: %d", r.status)
	}
	if r := put(`{"@odata.id":"` + srv.URL + `/v1.0/users/00000000-0000-0000-0000-000000000000"}`); r.status != 404 {
		t.Errorf("unknown manager: %d", r.status)
	}
	if r := do(t, srv, request{method: "DELETE", path: "/v1.0/users/grady.archie@contoso.com/manager/$ref", tenant: "contoso"}); r.status != 204 {
		t.Fatalf("DELETE = %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: "/v1.0/users/grady.archie@contoso.com/manager", tenant: "contoso"}); r.status != 404 {
		t.Fatalf("manager after DELETE = %d", r.status)
	}
}

// With a delegated token Graph checks the signed-in user's directory
// roles, not the app's: Nestor (Helpdesk Administrator) resets a user's
// password but not an admin's, and Alex (no role) resets nobody's.
func TestAuthorizeDelegated(t *testing.T) {
	srv, s := newTest(t)
	if err := s.SetAppRoles("contoso", []string{"Global Administrator"}); err != nil {
		t.Fatal(err)
	}
	pw := `{"passwordProfile":{"password":"Xy7!abcdefgh"}}`
	for _, tt := range []struct {
		who, target string
		want        int
	}{
		{"nestor.wilke@contoso.com", "adele.vance@contoso.com", 204},
		{"nestor.wilke@contoso.com", "megan.bowen@contoso.com", 403},
		{"alex.wilber@contoso.com", "adele.vance@contoso.com", 403},
		{"megan.bowen@contoso.com", "isaiah.langer@contoso.com", 204},
	} {
		r := do(t, srv, request{method: "PATCH", path: "/v1.0/users/" + tt.target, body: pw,
			header: map[string]string{"Authorization": "Bearer " + DelegatedToken("contoso", tt.who)}})
		if r.status != tt.want {
			t.Errorf("%s resets %s: %d %s, want %d", tt.who, tt.target, r.status, r.raw, tt.want)
		}
	}
}

// A delegated caller needs a role for every write on others, even where an
// application permission alone would do (TAP, sessions): "In delegated
// scenarios with work or school accounts, the signed-in user must be
// assigned a supported Microsoft Entra role"
// (https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods,
// https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions,
// https://learn.microsoft.com/en-us/graph/permissions-overview). The app's
// roles do not count; one's own mailbox settings need no role.
func TestAuthorizeDelegatedNeedsARole(t *testing.T) {
	srv, s := newTest(t)
	if err := s.SetAppRoles("contoso", []string{"Global Administrator"}); err != nil {
		t.Fatal(err)
	}
	as := func(who string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + DelegatedToken("contoso", who)}
	}
	for _, tt := range []struct {
		name, who, method, path, body string
		want                          int
	}{
		{"no role: TAP", "alex.wilber@contoso.com", "POST", "/v1.0/users/adele.vance@contoso.com/authentication/temporaryAccessPassMethods", `{"lifetimeInMinutes":60}`, 403},
		{"no role: sessions", "alex.wilber@contoso.com", "POST", "/v1.0/users/adele.vance@contoso.com/revokeSignInSessions", ``, 403},
		{"helpdesk: sessions", "nestor.wilke@contoso.com", "POST", "/v1.0/users/adele.vance@contoso.com/revokeSignInSessions", ``, 200},
		{"no role: own mailbox", "alex.wilber@contoso.com", "PATCH", "/v1.0/users/alex.wilber@contoso.com/mailboxSettings", `{"automaticRepliesSetting":{"status":"disabled"}}`, 200},
		{"no role: reads", "alex.wilber@contoso.com", "GET", "/v1.0/users/adele.vance@contoso.com", ``, 200},
	} {
		r := do(t, srv, request{method: tt.method, path: tt.path, body: tt.body, header: as(tt.who)})
		if r.status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.raw, tt.want)
		}
	}
}
