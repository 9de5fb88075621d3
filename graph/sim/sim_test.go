package sim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func newTest(t *testing.T) (*httptest.Server, *Server) {
	t.Helper()
	sim := New(Options{Now: func() time.Time { return testNow }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return srv, sim
}

// request describes one HTTP call to the simulator.
type request struct {
	method, path, tenant string // tenant "" sends no Authorization header
	body                 string
	gzip                 bool
	header               map[string]string
}

// response is what the simulator answered.
type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func do(t *testing.T, srv *httptest.Server, rq request) response {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodGet
	}
	target := rq.path
	if !strings.HasPrefix(target, "http") {
		target = srv.URL + rq.path
	}
	var body io.Reader
	if rq.body != "" {
		b := []byte(rq.body)
		if rq.gzip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(rq.method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if rq.tenant != "" {
		req.Header.Set("Authorization", "Bearer "+Token(rq.tenant))
	}
	if rq.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.json); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", rq.method, rq.path, raw, err)
		}
	}
	return r
}

// graphErr returns the error code and message of a Graph error body.
func graphErr(t *testing.T, r response) (code, message string) {
	t.Helper()
	e, ok := r.json["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.raw)
	}
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	if code == "" || message == "" {
		t.Errorf("error without code or message: %s", r.raw)
	}
	return code, message
}

func TestAuth(t *testing.T) {
	srv, sim := newTest(t)
	tests := []struct {
		name, auth, wantMsg string
	}{
		{"missing", "", "Access token is empty."},
		{"empty bearer", "Bearer ", "Access token is empty."},
		{"unknown tenant", "Bearer " + Token("northwind"), "Access token validation failure. Invalid audience."},
		{"malformed", "Bearer eyJhbGciOi.something", "Access token validation failure. Invalid audience."},
		{"wrong scheme", "Basic " + Token("contoso"), "Access token validation failure. Invalid audience."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			for _, method := range []string{http.MethodGet, http.MethodPatch} {
				r := do(t, srv, request{method: method, path: "/v1.0/users/adele.vance@contoso.com", body: `{"department":"x"}`, header: h})
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s: status = %d, want 401", method, r.status)
				}
				code, msg := graphErr(t, r)
				if code != "InvalidAuthenticationToken" || msg != tt.wantMsg {
					t.Errorf("%s: error = %q %q, want InvalidAuthenticationToken %q", method, code, msg, tt.wantMsg)
				}
			}
		})
	}
	for _, tn := range sim.Tenants() {
		if j := sim.Journal(tn); len(j) != 0 {
			t.Errorf("journal of %s = %v, want empty: rejected requests are not journaled", tn, j)
		}
	}
}

func TestGetUser(t *testing.T) {
	srv, sim := newTest(t)
	st, _ := sim.State("contoso")
	var adeleID string
	for _, u := range st.Users {
		if u.UserPrincipalName == "adele.vance@contoso.com" {
			adeleID = u.ID
		}
	}
	tests := []struct{ name, ref string }{
		{"escaped UPN", "adele.vance%40contoso.com"},
		{"plain UPN", "adele.vance@contoso.com"},
		{"upper case UPN", "Adele.Vance%40CONTOSO.com"},
		{"object id", adeleID},
		{"upper case id", strings.ToUpper(adeleID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/users/" + tt.ref, tenant: "contoso", header: map[string]string{"client-request-id": "c-123"}})
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", r.status, r.raw)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if r.header.Get("request-id") == "" || r.header.Get("client-request-id") != "c-123" {
				t.Errorf("request-id = %q, client-request-id = %q", r.header.Get("request-id"), r.header.Get("client-request-id"))
			}
			want := map[string]any{
				"@odata.context":    "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
				"id":                adeleID,
				"userPrincipalName": "adele.vance@contoso.com",
				"displayName":       "Adele Vance",
				"givenName":         "Adele",
				"surname":           "Vance",
				"jobTitle":          "Marketing Specialist",
				"mail":              "adele.vance@contoso.com",
			}
			for k, v := range want {
				if r.json[k] != v {
					t.Errorf("%s = %v, want %v", k, r.json[k], v)
				}
			}
			for _, k := range []string{"businessPhones", "mobilePhone", "officeLocation", "preferredLanguage"} {
				if _, ok := r.json[k]; !ok {
					t.Errorf("default property %s missing", k)
				}
			}
			if _, ok := r.json["department"]; ok {
				t.Errorf("department returned without $select")
			}
		})
	}
}

func TestSelect(t *testing.T) {
	srv, _ := newTest(t)
	tests := []struct {
		name, sel  string
		wantStatus int
		wantKeys   []string
		wantMsg    string
	}{
		{"two properties", "displayName,department", 200,
			[]string{"@odata.context", "department", "displayName", "id"}, ""},
		{"case and spaces", "DisplayName, accountEnabled,assignedLicenses,lastPasswordChangeDateTime", 200,
			[]string{"@odata.context", "accountEnabled", "assignedLicenses", "displayName", "id", "lastPasswordChangeDateTime"}, ""},
		{"unknown property", "displayName,shoeSize", 400, nil,
			"Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/users/megan.bowen%40contoso.com?%24select=" + url.QueryEscape(tt.sel), tenant: "contoso"})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.raw)
			}
			if tt.wantMsg != "" {
				if code, msg := graphErr(t, r); code != "BadRequest" || msg != tt.wantMsg {
					t.Errorf("error = %q %q, want BadRequest %q", code, msg, tt.wantMsg)
				}
				return
			}
			var keys []string
			for k := range r.json {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("keys = %v, want %v", keys, tt.wantKeys)
			}
			if ctx, _ := r.json["@odata.context"].(string); !strings.HasSuffix(ctx, ")/$entity") {
				t.Errorf("@odata.context = %q, want the selected columns", ctx)
			}
		})
	}
	r := do(t, srv, request{path: "/v1.0/users/megan.bowen%40contoso.com?$select=assignedLicenses", tenant: "contoso"})
	lic, _ := r.json["assignedLicenses"].([]any)
	if len(lic) == 0 {
		t.Fatalf("assignedLicenses = %v", r.json["assignedLicenses"])
	}
	if l := lic[0].(map[string]any); l["skuId"] != skuIDs["SPE_E3"] || l["disabledPlans"] == nil {
		t.Errorf("assignedLicenses[0] = %v", l)
	}
}

func TestNotFound(t *testing.T) {
	srv, _ := newTest(t)
	r := do(t, srv, request{path: "/v1.0/users/nobody%40contoso.com", tenant: "contoso", header: map[string]string{"client-request-id": "abc"}})
	if r.status != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", r.status)
	}
	code, msg := graphErr(t, r)
	if code != "Request_ResourceNotFound" || !strings.Contains(msg, "'nobody@contoso.com' does not exist") {
		t.Errorf("error = %q %q", code, msg)
	}
	inner, _ := r.json["error"].(map[string]any)["innerError"].(map[string]any)
	if inner["request-id"] == "" || inner["client-request-id"] != "abc" || inner["date"] == "" {
		t.Errorf("innerError = %v", inner)
	}
}

func TestListPaging(t *testing.T) {
	srv, sim := newTest(t)
	st, _ := sim.State("contoso")
	next := "/v1.0/users?%24top=5&%24select=displayName,userPrincipalName"
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		r := do(t, srv, request{path: next, tenant: "contoso"})
		if r.status != http.StatusOK {
			t.Fatalf("page %d: status = %d: %s", pages, r.status, r.raw)
		}
		pages++
		values, _ := r.json["value"].([]any)
		if len(values) == 0 || len(values) > 5 {
			t.Fatalf("page %d has %d users", pages, len(values))
		}
		for _, v := range values {
			u := v.(map[string]any)
			id := u["id"].(string)
			if seen[id] {
				t.Errorf("user %s seen twice", id)
			}
			seen[id] = true
			if _, ok := u["mail"]; ok {
				t.Errorf("$select not kept across pages: %v", u)
			}
		}
		next, _ = r.json["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, srv.URL+"/v1.0/users?") {
			t.Fatalf("nextLink %q is not on %s", next, srv.URL)
		}
	}
	if len(seen) != len(st.Users) {
		t.Errorf("saw %d users, want %d", len(seen), len(st.Users))
	}
	if want := (len(st.Users) + 4) / 5; pages != want {
		t.Errorf("pages = %d, want %d", pages, want)
	}

	r := do(t, srv, request{path: "/v1.0/users", tenant: "contoso"})
	if got := len(r.json["value"].([]any)); got != len(st.Users) || r.json["@odata.nextLink"] != nil {
		t.Errorf("default page: %d users, nextLink %v; want all %d and no link", got, r.json["@odata.nextLink"], len(st.Users))
	}
	for _, top := range []string{"0", "1000", "x"} {
		if r := do(t, srv, request{path: "/v1.0/users?$top=" + top, tenant: "contoso"}); r.status != http.StatusBadRequest {
			t.Errorf("$top=%s: status = %d, want 400", top, r.status)
		}
	}
}

func TestFilter(t *testing.T) {
	srv, _ := newTest(t)
	tests := []struct {
		name, filter string
		wantStatus   int
		wantCode     string
		wantUPNs     []string
	}{
		{"department", "department eq 'Sales'", 200, "", []string{
			"lynne.robbins@contoso.com", "alex.wilber@contoso.com", "christie.cline@contoso.com", "raul.razo@contoso.com"}},
		{"upn any case", "userPrincipalName eq 'ADELE.VANCE@contoso.com'", 200, "", []string{"adele.vance@contoso.com"}},
		{"disabled", "accountEnabled eq false", 200, "", []string{"gerhart.moller@contoso.com"}},
		{"no match", "department eq 'Legal'", 200, "", nil},
		{"startswith", "startswith(displayName,'A')", 400, "Request_UnsupportedQuery", nil},
		{"other property", "jobTitle eq 'CEO'", 400, "Request_UnsupportedQuery", nil},
		{"and", "department eq 'IT' and accountEnabled eq true", 400, "Request_UnsupportedQuery", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/users?$filter=" + url.QueryEscape(tt.filter), tenant: "contoso"})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.raw)
			}
			if tt.wantCode != "" {
				if code, _ := graphErr(t, r); code != tt.wantCode {
					t.Errorf("code = %q, want %q", code, tt.wantCode)
				}
				return
			}
			var got []string
			for _, v := range r.json["value"].([]any) {
				got = append(got, v.(map[string]any)["userPrincipalName"].(string))
			}
			if !slices.Equal(got, tt.wantUPNs) {
				t.Errorf("users = %v, want %v", got, tt.wantUPNs)
			}
		})
	}
}

func TestPatchUser(t *testing.T) {
	const strong = "Tz!9kQ2mVx#p"
	srv, sim := newTest(t)
	tests := []struct {
		name, user, body string
		gzip             bool
		wantStatus       int
		wantCode         string
	}{
		{"password gzip", "adele.vance%40contoso.com",
			`{"@odata.type":"#microsoft.graph.user","passwordProfile":{"forceChangePasswordNextSignIn":true,"password":"` + strong + `"}}`,
			true, 204, ""},
		{"password plain", "alex.wilber@contoso.com",
			`{"passwordProfile":{"password":"` + strong + `","forceChangePasswordNextSignIn":false}}`, false, 204, ""},
		{"attributes", "joni.sherman@contoso.com", `{"department":"Legal","jobTitle":"Paralegal","accountEnabled":false}`, true, 204, ""},
		{"weak password", "adele.vance@contoso.com", `{"passwordProfile":{"password":"password1"}}`, true, 400, "Request_BadRequest"},
		{"short password", "adele.vance@contoso.com", `{"passwordProfile":{"password":"Ab1!"}}`, false, 400, "Request_BadRequest"},
		{"unknown property", "adele.vance@contoso.com", `{"shoeSize":44}`, false, 400, "Request_BadRequest"},
		{"wrong type", "adele.vance@contoso.com", `{"accountEnabled":"yes"}`, false, 400, "BadRequest"},
		{"malformed", "adele.vance@contoso.com", `{"passwordProfile":{"password":"` + strong, false, 400, "BadRequest"},
		{"missing user", "nobody@contoso.com", `{"department":"x"}`, false, 404, "Request_ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/" + tt.user, tenant: "contoso", body: tt.body, gzip: tt.gzip})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.raw)
			}
			if tt.wantCode != "" {
				if code, _ := graphErr(t, r); code != tt.wantCode {
					t.Errorf("code = %q, want %q", code, tt.wantCode)
				}
			} else if len(r.raw) != 0 || r.header.Get("request-id") == "" {
				t.Errorf("204 with body %q or without request-id", r.raw)
			}
		})
	}

	r := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/adele.vance@contoso.com", tenant: "contoso", body: `{"passwordProfile":{"password":"password1"}}`})
	if _, msg := graphErr(t, r); msg != "The specified password does not comply with password complexity requirements. Please provide a different password." {
		t.Errorf("weak password message = %q", msg)
	}

	st, _ := sim.State("contoso")
	users := map[string]User{}
	for _, u := range st.Users {
		users[u.UserPrincipalName] = u
	}
	if u := users["adele.vance@contoso.com"]; !u.LastPasswordChangeDateTime.Equal(testNow) || !u.ForceChangePasswordNextSignIn {
		t.Errorf("adele after reset: lastPasswordChange %v force %v", u.LastPasswordChangeDateTime, u.ForceChangePasswordNextSignIn)
	}
	if u := users["alex.wilber@contoso.com"]; !u.LastPasswordChangeDateTime.Equal(testNow) || u.ForceChangePasswordNextSignIn {
		t.Errorf("alex after reset: lastPasswordChange %v force %v", u.LastPasswordChangeDateTime, u.ForceChangePasswordNextSignIn)
	}
	if u := users["joni.sherman@contoso.com"]; u.Department != "Legal" || u.JobTitle != "Paralegal" || u.AccountEnabled {
		t.Errorf("joni after patch: %+v", u)
	}
	if u := users["megan.bowen@contoso.com"]; u.LastPasswordChangeDateTime.Equal(testNow) {
		t.Errorf("megan's password changed too")
	}

	journal := sim.Journal("contoso")
	if len(journal) != len(tests)+1 {
		t.Fatalf("journal has %d entries, want %d", len(journal), len(tests)+1)
	}
	for i, tt := range tests {
		e := journal[i]
		if e.Seq != i+1 || e.Method != http.MethodPatch || e.Status != tt.wantStatus || !e.Time.Equal(testNow) {
			t.Errorf("journal[%d] = %+v, want seq %d PATCH status %d", i, e, i+1, tt.wantStatus)
		}
		if !strings.HasPrefix(e.Path, "/v1.0/users/") || strings.Contains(e.Path, "%40") {
			t.Errorf("journal[%d].Path = %q, want unescaped", i, e.Path)
		}
	}
	if !strings.Contains(string(journal[0].Body), `"password":"***"`) {
		t.Errorf("journal[0].Body = %s, want the password masked", journal[0].Body)
	}
	for _, p := range []string{"/_sim/journal?tenant=contoso", "/_sim/state?tenant=contoso"} {
		r := do(t, srv, request{path: p})
		for _, secret := range []string{strong, "password1", "Ab1!"} {
			if bytes.Contains(r.raw, []byte(secret)) {
				t.Errorf("%s leaks %q", p, secret)
			}
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"passwordProfile":{"password":"x","forceChangePasswordNextSignIn":true}}`,
			`{"passwordProfile":{"forceChangePasswordNextSignIn":true,"password":"***"}}`},
		{`{"PASSWORD":"x","list":[{"newPassword":"y"}]}`, `{"PASSWORD":"***","list":[{"newPassword":"***"}]}`},
		{`{"passwordProfile":{"password":"x"`, `"<34 bytes, not JSON>"`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := string(maskBody([]byte(tt.in))); got != tt.want {
			t.Errorf("maskBody(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestRevokeSignInSessions(t *testing.T) {
	srv, sim := newTest(t)
	r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/users/alex.wilber%40contoso.com/revokeSignInSessions", tenant: "contoso"})
	if r.status != http.StatusOK || r.json["value"] != true ||
		r.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean" {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	st, _ := sim.State("contoso")
	for _, u := range st.Users {
		revoked := u.SignInSessionsValidFromDateTime.Equal(testNow)
		if revoked != (u.UserPrincipalName == "alex.wilber@contoso.com") {
			t.Errorf("%s: signInSessionsValidFrom = %v", u.UserPrincipalName, u.SignInSessionsValidFromDateTime)
		}
	}
	if j := sim.Journal("contoso"); len(j) != 1 || j[0].Method != http.MethodPost || j[0].Status != 200 || j[0].Body != nil {
		t.Errorf("journal = %+v", j)
	}
	r = do(t, srv, request{path: "/v1.0/users/alex.wilber%40contoso.com/revokeSignInSessions", tenant: "contoso"})
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET revokeSignInSessions: status = %d, want 405", r.status)
	}
}

func TestDirectoryRoles(t *testing.T) {
	srv, _ := newTest(t)
	tests := []struct {
		user, path string
		want       []string // "role:Name" or "group:Name"
	}{
		{"megan.bowen", "memberOf/microsoft.graph.directoryRole", []string{"role:Global Administrator"}},
		{"megan.bowen", "memberOf/graph.directoryRole", []string{"role:Global Administrator"}},
		{"nestor.wilke", "memberOf/graph.directoryRole", []string{"role:Helpdesk Administrator"}},
		{"isaiah.langer", "memberOf/microsoft.graph.directoryRole", []string{"role:User Administrator"}},
		{"alex.wilber", "memberOf/microsoft.graph.directoryRole", nil},
		{"megan.bowen", "memberOf", []string{"group:All Staff", "group:IT Admins", "group:VPN Users", "role:Global Administrator"}},
		{"adele.vance", "memberOf", []string{"group:All Staff", "group:Marketing Team"}},
	}
	templates := map[string]string{
		"Global Administrator":   "62e90394-69f5-4237-9190-012177145e10",
		"User Administrator":     "fe930be7-5e62-47db-91af-98c3a49a38b1",
		"Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.path, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/users/" + tt.user + "%40contoso.com/" + tt.path, tenant: "contoso"})
			if r.status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.status, r.raw)
			}
			var got []string
			for _, v := range r.json["value"].([]any) {
				o := v.(map[string]any)
				name, _ := o["displayName"].(string)
				switch o["@odata.type"] {
				case "#microsoft.graph.directoryRole":
					got = append(got, "role:"+name)
					if o["roleTemplateId"] != templates[name] || o["id"] == "" || o["description"] == "" {
						t.Errorf("role %v", o)
					}
				case "#microsoft.graph.group":
					got = append(got, "group:"+name)
				default:
					t.Errorf("unexpected object %v", o)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("memberOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestManager(t *testing.T) {
	srv, _ := newTest(t)
	tests := []struct{ tenant, user, want string }{
		{"contoso", "adele.vance@contoso.com", "miriam.graham@contoso.com"},
		{"contoso", "alex.wilber@contoso.com", "lynne.robbins@contoso.com"},
		{"contoso", "miriam.graham@contoso.com", "patti.fernandez@contoso.com"},
		{"contoso", "patti.fernandez@contoso.com", ""},
		{"fabrikam", "sam.ortiz@fabrikam.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/users/" + url.PathEscape(tt.user) + "/manager", tenant: tt.tenant})
			if tt.want == "" {
				if r.status != http.StatusNotFound {
					t.Fatalf("status = %d, want 404", r.status)
				}
				if code, _ := graphErr(t, r); code != "Request_ResourceNotFound" {
					t.Errorf("code = %q", code)
				}
				return
			}
			if r.status != http.StatusOK || r.json["@odata.type"] != "#microsoft.graph.user" || r.json["userPrincipalName"] != tt.want {
				t.Errorf("manager = %d %s, want %s", r.status, r.raw, tt.want)
			}
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	srv, sim := newTest(t)
	if r := do(t, srv, request{path: "/v1.0/users/ben.walters%40fabrikam.com", tenant: "contoso"}); r.status != http.StatusNotFound {
		t.Errorf("contoso reads fabrikam user: status = %d, want 404", r.status)
	}
	if r := do(t, srv, request{path: "/v1.0/users/ben.walters%40fabrikam.com", tenant: "fabrikam"}); r.status != http.StatusOK {
		t.Errorf("fabrikam reads its user: status = %d, want 200", r.status)
	}
	r := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/ben.walters%40fabrikam.com", tenant: "contoso", body: `{"department":"Hacked"}`})
	if r.status != http.StatusNotFound {
		t.Errorf("contoso patches fabrikam user: status = %d, want 404", r.status)
	}
	do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/adele.vance%40contoso.com", tenant: "contoso", body: `{"department":"Sales"}`})
	if j := sim.Journal("fabrikam"); len(j) != 0 {
		t.Errorf("fabrikam journal = %+v, want empty", j)
	}
	if j := sim.Journal("contoso"); len(j) != 2 {
		t.Errorf("contoso journal has %d entries, want 2", len(j))
	}
	st, _ := sim.State("fabrikam")
	for _, u := range st.Users {
		if u.Department == "Hacked" || strings.HasSuffix(u.UserPrincipalName, "@contoso.com") {
			t.Errorf("fabrikam state has %+v", u)
		}
	}
	r = do(t, srv, request{path: "/v1.0/users", tenant: "fabrikam"})
	for _, v := range r.json["value"].([]any) {
		if upn := v.(map[string]any)["userPrincipalName"].(string); !strings.HasSuffix(upn, "@fabrikam.com") {
			t.Errorf("fabrikam lists %s", upn)
		}
	}
}

func TestRoutes(t *testing.T) {
	srv, sim := newTest(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string
		wantMsg      string
	}{
		{"GET", "/v1.0/applications", 400, "BadRequest", "Resource not found for the segment 'applications'."},
		{"GET", "/v1.0/users/adele.vance@contoso.com/photo", 400, "BadRequest", "Resource not found for the segment 'photo'."},
		{"GET", "/v1.0/users/adele.vance@contoso.com/memberOf/microsoft.graph.device", 400, "BadRequest", "Resource not found for the segment 'microsoft.graph.device'."},
		{"DELETE", "/v1.0/users/adele.vance@contoso.com", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"POST", "/v1.0/users/adele.vance@contoso.com/manager", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"GET", "/beta/users", 400, "BadRequest", "Invalid version: beta"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, srv, request{method: tt.method, path: tt.path, tenant: "contoso"})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.raw)
			}
			if code, msg := graphErr(t, r); code != tt.wantCode || msg != tt.wantMsg {
				t.Errorf("error = %q %q, want %q %q", code, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
	j := sim.Journal("contoso")
	if len(j) != 2 || j[0].Method != "DELETE" || j[0].Status != 405 || j[1].Method != "POST" {
		t.Errorf("journal = %+v, want the DELETE and the POST", j)
	}
}

func TestSimEndpoints(t *testing.T) {
	srv, _ := newTest(t)
	r := do(t, srv, request{path: "/_sim/state?tenant=contoso"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("state: %d %s", r.status, r.raw)
	}
	var st TenantState
	if err := json.Unmarshal(r.raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.Tenant != "contoso" || st.Domain != "contoso.com" || len(st.Users) < 22 || len(st.Groups) == 0 || len(st.SKUs) == 0 || len(st.Devices) == 0 {
		t.Errorf("state: tenant %q domain %q, %d users %d groups %d skus %d devices",
			st.Tenant, st.Domain, len(st.Users), len(st.Groups), len(st.SKUs), len(st.Devices))
	}
	if bytes.Contains(bytes.ToLower(r.raw), []byte(`"password"`)) || bytes.Contains(bytes.ToLower(r.raw), []byte(`passwordhash`)) {
		t.Errorf("state mentions a password")
	}

	r = do(t, srv, request{path: "/_sim/journal?tenant=fabrikam"})
	if r.status != http.StatusOK || strings.TrimSpace(string(r.raw)) != "[]" {
		t.Errorf("empty journal: %d %s", r.status, r.raw)
	}
	do(t, srv, request{method: http.MethodPost, path: "/v1.0/users/ben.walters%40fabrikam.com/revokeSignInSessions", tenant: "fabrikam"})
	r = do(t, srv, request{path: "/_sim/journal?tenant=fabrikam"})
	var j []JournalEntry
	if err := json.Unmarshal(r.raw, &j); err != nil || len(j) != 1 || j[0].Path != "/v1.0/users/ben.walters@fabrikam.com/revokeSignInSessions" {
		t.Errorf("journal: %s (%v)", r.raw, err)
	}
	for _, key := range []string{`"seq"`, `"time"`, `"method"`, `"path"`, `"status"`} {
		if !bytes.Contains(r.raw, []byte(key)) {
			t.Errorf("journal JSON lacks %s: %s", key, r.raw)
		}
	}

	for _, p := range []string{"/_sim/state?tenant=northwind", "/_sim/journal?tenant=northwind", "/_sim/state"} {
		r := do(t, srv, request{path: p})
		if r.status != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", p, r.status)
			continue
		}
		e, _ := r.json["error"].(map[string]any)
		if e["code"] != "not_found" || !strings.HasPrefix(e["message"].(string), "unknown tenant ") {
			t.Errorf("%s: %s", p, r.raw)
		}
	}
}

func TestSeed(t *testing.T) {
	a, b := New(Options{}), New(Options{Now: func() time.Time { return testNow }})
	if got := a.Tenants(); !slices.Equal(got, []string{"contoso", "fabrikam"}) {
		t.Fatalf("Tenants() = %v", got)
	}
	type want struct {
		name, dept, manager string
		roles               []string
	}
	required := map[string]map[string]want{
		"contoso": {
			"adele.vance@contoso.com":     {"Adele Vance", "Marketing", "miriam.graham@contoso.com", nil},
			"alex.wilber@contoso.com":     {"Alex Wilber", "Sales", "lynne.robbins@contoso.com", nil},
			"miriam.graham@contoso.com":   {"Miriam Graham", "Marketing", "patti.fernandez@contoso.com", nil},
			"lynne.robbins@contoso.com":   {"Lynne Robbins", "Sales", "patti.fernandez@contoso.com", nil},
			"patti.fernandez@contoso.com": {"Patti Fernandez", "Executive", "", nil},
			"megan.bowen@contoso.com":     {"Megan Bowen", "IT", "patti.fernandez@contoso.com", []string{"Global Administrator"}},
			"nestor.wilke@contoso.com":    {"Nestor Wilke", "IT", "megan.bowen@contoso.com", []string{"Helpdesk Administrator"}},
			"isaiah.langer@contoso.com":   {"Isaiah Langer", "Engineering", "henrietta.mueller@contoso.com", []string{"User Administrator"}},
		},
		"fabrikam": {
			"ben.walters@fabrikam.com": {"Ben Walters", "Sales", "nina.patel@fabrikam.com", nil},
			"tara.ellis@fabrikam.com":  {"Tara Ellis", "IT", "sam.ortiz@fabrikam.com", []string{"Global Administrator"}},
			"sam.ortiz@fabrikam.com":   {"Sam Ortiz", "Executive", "", nil},
		},
	}
	minUsers := map[string]int{"contoso": 22, "fabrikam": 20}
	for _, tn := range a.Tenants() {
		sa, _ := a.State(tn)
		sb, _ := b.State(tn)
		if len(sa.Users) < minUsers[tn] {
			t.Errorf("%s has %d users, want >= %d", tn, len(sa.Users), minUsers[tn])
		}
		byUPN := map[string]User{}
		ids := map[string]bool{}
		for i, u := range sa.Users {
			if u.ID != sb.Users[i].ID {
				t.Errorf("%s: id differs between runs", u.UserPrincipalName)
			}
			if ids[u.ID] {
				t.Errorf("duplicate id %s", u.ID)
			}
			ids[u.ID] = true
			byUPN[u.UserPrincipalName] = u
		}
		for upn, w := range required[tn] {
			u, ok := byUPN[upn]
			if !ok {
				t.Errorf("%s: %s missing", tn, upn)
				continue
			}
			if u.DisplayName != w.name || u.Department != w.dept || u.Manager != w.manager || !slices.Equal(u.DirectoryRoles, w.roles) && len(w.roles)+len(u.DirectoryRoles) > 0 {
				t.Errorf("%s = %+v, want %+v", upn, u, w)
			}
		}
		// Managers form one tree rooted at the CEO.
		for _, u := range sa.Users {
			seen := map[string]bool{}
			m := u
			for m.Manager != "" && !seen[m.UserPrincipalName] {
				seen[m.UserPrincipalName] = true
				m = byUPN[m.Manager]
			}
			if m.JobTitle != "CEO" {
				t.Errorf("%s: management chain ends at %q, not the CEO", u.UserPrincipalName, m.UserPrincipalName)
			}
		}
		for _, k := range sa.SKUs {
			if k.ConsumedUnits > k.PrepaidUnits || k.SkuID != skuIDs[k.SkuPartNumber] {
				t.Errorf("%s sku %+v", tn, k)
			}
		}
		for _, d := range sa.Devices {
			if _, ok := byUPN[d.UserPrincipalName]; !ok || d.ID == "" || d.DeviceName == "" {
				t.Errorf("%s device %+v", tn, d)
			}
		}
	}
}

func TestExtraTenants(t *testing.T) {
	s := New(Options{Extra: []string{"tenant-001", "tenant-002"}})
	if got := s.Tenants(); len(got) != 4 {
		t.Fatalf("tenants = %v, want the two demo tenants and two extra", got)
	}
	st, ok := s.State("tenant-002")
	if !ok || len(st.Users) < 20 || st.Domain != "tenant-002.example.com" {
		t.Fatalf("extra tenant state: ok %v, %d users, domain %q", ok, len(st.Users), st.Domain)
	}
	found := false
	for _, u := range st.Users {
		found = found || u.UserPrincipalName == "adele.vance@tenant-002.example.com"
	}
	if !found {
		t.Fatal("the extra tenant does not hold contoso's people under its own domain")
	}
}
