package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const adelePath = "/v1.0/users/adele.vance@contoso.com"

func addFault(t *testing.T, srv *httptest.Server, body string) response {
	t.Helper()
	return do(t, srv, request{method: http.MethodPost, path: "/_sim/faults", body: body})
}

func TestFaultThrottle(t *testing.T) {
	srv, s := newTest(t)
	if r := addFault(t, srv, `{"tenant":"contoso","method":"patch","path":"/v1.0/users/*","kind":"throttle","retryAfter":2}`); r.status != http.StatusCreated {
		t.Fatalf("add fault: %d %s", r.status, r.raw)
	}
	patch := request{method: http.MethodPatch, path: adelePath, tenant: "contoso", body: `{"department":"Sales"}`}
	r := do(t, srv, patch)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" {
		t.Fatalf("throttled PATCH = %d, Retry-After %q, want 429 and 2", r.status, r.header.Get("Retry-After"))
	}
	if code, msg := graphErr(t, r); code != "TooManyRequests" || msg != "Too many requests" {
		t.Fatalf("error = %s %q", code, msg)
	}
	if u := stateUser(t, s, "adele.vance@contoso.com"); u.Department != "Marketing" {
		t.Fatalf("a throttled PATCH was applied: department %q", u.Department)
	}
	// count defaulted to 1: the next one goes through
	if r := do(t, srv, patch); r.status != http.StatusNoContent {
		t.Fatalf("second PATCH = %d %s", r.status, r.raw)
	}
	if u := stateUser(t, s, "adele.vance@contoso.com"); u.Department != "Sales" {
		t.Fatalf("department %q after the second PATCH", u.Department)
	}
	j := s.Journal("contoso")
	if len(j) != 2 || j[0].Status != 429 || j[0].Fault != FaultThrottle || j[0].Answered != 0 || j[1].Status != 204 || j[1].Fault != "" {
		t.Fatalf("journal = %+v", j)
	}
	if f := s.Faults("contoso"); len(f) != 0 {
		t.Fatalf("a spent fault is still listed: %+v", f)
	}
}

func TestFaultErrorsAreNotApplied(t *testing.T) {
	tests := []struct {
		kind       FaultKind
		status     int
		code       string
		retryAfter string
	}{
		{FaultUnavailable, 503, "serviceNotAvailable", ""},
		{FaultGatewayTimeout, 504, "GatewayTimeout", ""},
		{FaultThrottle, 429, "TooManyRequests", "1"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, s := newTest(t)
			if err := s.AddFault("contoso", Fault{Path: "/v1.0/users/*/revokeSignInSessions", Kind: tt.kind, Count: 1}); err != nil {
				t.Fatal(err)
			}
			r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/users/alex.wilber@contoso.com/revokeSignInSessions", tenant: "contoso"})
			if r.status != tt.status || r.header.Get("Retry-After") != tt.retryAfter {
				t.Fatalf("status %d, Retry-After %q; want %d, %q", r.status, r.header.Get("Retry-After"), tt.status, tt.retryAfter)
			}
			if code, _ := graphErr(t, r); code != tt.code {
				t.Fatalf("code %q, want %q", code, tt.code)
			}
			if u := stateUser(t, s, "alex.wilber@contoso.com"); !u.SignInSessionsValidFromDateTime.Before(testNow) {
				t.Fatal("a refused request revoked the sessions")
			}
			j := s.Journal("contoso")
			if len(j) != 1 || j[0].Status != tt.status || j[0].Fault != tt.kind {
				t.Fatalf("journal = %+v", j)
			}
		})
	}
}

func TestFaultAppliedThen503(t *testing.T) {
	srv, s := newTest(t)
	if err := s.AddFault("contoso", Fault{Method: "PATCH", Path: adelePath, Kind: FaultAppliedThen503, RetryAfter: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	r := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/adele.vance%40contoso.com", tenant: "contoso",
		body: `{"passwordProfile":{"password":"Xy7!secret-pass","forceChangePasswordNextSignIn":true}}`})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if code, _ := graphErr(t, r); code != "serviceNotAvailable" {
		t.Fatalf("code %q", code)
	}
	u := stateUser(t, s, "adele.vance@contoso.com")
	if !u.ForceChangePasswordNextSignIn || !u.LastPasswordChangeDateTime.Equal(testNow) {
		t.Fatalf("the write was not applied: %+v", u)
	}
	j := s.Journal("contoso")
	if len(j) != 1 || j[0].Status != 204 || j[0].Answered != 503 || j[0].Fault != FaultAppliedThen503 {
		t.Fatalf("journal = %+v", j)
	}
	if strings.Contains(string(j[0].Body), "secret-pass") {
		t.Fatalf("journal body %s holds the password", j[0].Body)
	}
	raw, _ := json.Marshal(j[0])
	if !strings.Contains(string(raw), `"answered":503`) {
		t.Fatalf("journal JSON %s", raw)
	}
}

func TestFaultMatching(t *testing.T) {
	srv, s := newTest(t)
	// until cleared, any method, everything under /v1.0/groups; and a
	// fabrikam rule that must not touch contoso
	if err := s.AddFault("contoso", Fault{Path: "/v1.0/groups/**", Kind: FaultUnavailable}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFault("fabrikam", Fault{Kind: FaultUnavailable}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if r := do(t, srv, request{path: "/v1.0/groups", tenant: "contoso"}); r.status != 503 {
			t.Fatalf("GET /groups #%d = %d", i, r.status)
		}
	}
	if r := do(t, srv, request{path: adelePath, tenant: "contoso"}); r.status != 200 {
		t.Fatalf("GET user = %d, want no fault", r.status)
	}
	if r := do(t, srv, request{path: adelePath, tenant: "fabrikam"}); r.status != 503 {
		t.Fatalf("fabrikam GET = %d, want its fault", r.status)
	}
	f := s.Faults("contoso")
	if len(f) != 1 || f[0].Hits != 3 || f[0].Count != 0 || f[0].Status != 503 {
		t.Fatalf("faults = %+v", f)
	}
	// method filter and * within one segment
	s.ClearFaults("contoso")
	if err := s.AddFault("contoso", Fault{Method: "POST", Path: "/v1.0/users/*", Kind: FaultUnavailable, Count: 5}); err != nil {
		t.Fatal(err)
	}
	if r := do(t, srv, request{path: adelePath, tenant: "contoso"}); r.status != 200 {
		t.Fatalf("GET = %d, a POST rule met it", r.status)
	}
	if r := do(t, srv, request{method: "POST", path: adelePath + "/revokeSignInSessions", tenant: "contoso"}); r.status != 200 && r.status != 204 {
		t.Fatalf("POST below the pattern = %d, * crossed a segment", r.status)
	}
	if f := s.Faults("contoso"); len(f) != 1 || f[0].Count != 5 {
		t.Fatalf("faults = %+v", f)
	}
}

func TestFaultLatency(t *testing.T) {
	srv, s := newTest(t)
	if err := s.AddFault("contoso", Fault{Path: adelePath, Kind: FaultLatency, LatencyMs: 300, Count: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := do(t, srv, request{path: adelePath, tenant: "contoso"})
	if took := time.Since(start); r.status != 200 || took < 300*time.Millisecond {
		t.Fatalf("GET = %d after %v, want 200 after 300ms", r.status, took)
	}
	// the lock is not held while a request stalls
	if err := s.AddFault("contoso", Fault{Path: adelePath, Kind: FaultLatency, LatencyMs: 1000, Count: 1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+adelePath, nil)
		req.Header.Set("Authorization", "Bearer "+Token("contoso"))
		resp, err := srv.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	start = time.Now()
	if r := do(t, srv, request{path: "/v1.0/users/alex.wilber@contoso.com", tenant: "contoso"}); r.status != 200 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("another request waited for the stalled one: %d after %v", r.status, time.Since(start))
	}
	if st := <-done; st != 200 {
		t.Fatalf("stalled GET = %d", st)
	}
}

func TestFaultLatencyRespectsClientGoingAway(t *testing.T) {
	s := New(Options{Now: func() time.Time { return testNow }})
	returned := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		if r.URL.Path != "/_sim/journal" {
			returned <- time.Now()
		}
	}))
	t.Cleanup(srv.Close)
	if err := s.AddFault("contoso", Fault{Method: "PATCH", Kind: FaultLatency, LatencyMs: 10000, Count: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPatch, srv.URL+adelePath, strings.NewReader(`{"department":"Sales"}`))
	req.Header.Set("Authorization", "Bearer "+Token("contoso"))
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("PATCH answered %d, want a client timeout", resp.StatusCode)
	}
	select {
	case at := <-returned:
		if at.Sub(start) > 3*time.Second {
			t.Fatalf("handler returned after %v", at.Sub(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler kept sleeping after the client went away")
	}
	if j := s.Journal("contoso"); len(j) != 0 {
		t.Fatalf("journal = %+v, want nothing applied", j)
	}
	if u := stateUser(t, s, "adele.vance@contoso.com"); u.Department != "Marketing" {
		t.Fatalf("department %q", u.Department)
	}
}

func TestFaultEndpoint(t *testing.T) {
	srv, s := newTest(t)
	r := addFault(t, srv, `{"tenant":"contoso","path":"/v1.0/users","kind":"unavailable","count":0,"retryAfter":3}`)
	if r.status != http.StatusCreated || r.json["id"] != float64(1) || r.json["count"] != float64(0) || r.json["status"] != float64(503) {
		t.Fatalf("POST = %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: "/_sim/faults?tenant=contoso"})
	var list []Fault
	if err := json.Unmarshal(r.raw, &list); err != nil || r.status != 200 || len(list) != 1 || list[0].Kind != FaultUnavailable || list[0].RetryAfter != 3 {
		t.Fatalf("GET = %d %s", r.status, r.raw)
	}
	if r := do(t, srv, request{path: "/v1.0/users", tenant: "contoso"}); r.status != 503 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("GET /users = %d", r.status)
	}
	if r := do(t, srv, request{method: http.MethodDelete, path: "/_sim/faults?tenant=contoso"}); r.status != http.StatusNoContent {
		t.Fatalf("DELETE = %d", r.status)
	}
	if len(s.Faults("contoso")) != 0 {
		t.Fatal("faults not cleared")
	}
	if r := do(t, srv, request{path: "/v1.0/users", tenant: "contoso"}); r.status != 200 {
		t.Fatalf("GET /users after clearing = %d", r.status)
	}

	bad := []struct{ name, body string }{
		{"unknown kind", `{"tenant":"contoso","kind":"explode"}`},
		{"status against kind", `{"tenant":"contoso","kind":"throttle","status":503}`},
		{"negative count", `{"tenant":"contoso","kind":"unavailable","count":-1}`},
		{"latency without delay", `{"tenant":"contoso","kind":"latency"}`},
		{"latency on an error", `{"tenant":"contoso","kind":"unavailable","latencyMs":10}`},
		{"bad pattern", `{"tenant":"contoso","kind":"unavailable","path":"/v1.0/[users"}`},
		{"unknown field", `{"tenant":"contoso","kind":"unavailable","paths":"/v1.0"}`},
		{"not JSON", `kind=unavailable`},
	}
	for _, tt := range bad {
		if r := addFault(t, srv, tt.body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tt.name, r.status, r.raw)
		}
	}
	if r := addFault(t, srv, `{"tenant":"initech","kind":"unavailable"}`); r.status != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", r.status)
	}
	if r := do(t, srv, request{path: "/_sim/faults?tenant=initech"}); r.status != http.StatusNotFound {
		t.Errorf("GET unknown tenant: %d", r.status)
	}
	if r := do(t, srv, request{method: http.MethodPut, path: "/_sim/faults"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", r.status)
	}
	if len(s.Faults("contoso")) != 0 {
		t.Fatal("a refused rule was stored")
	}
	if err := s.AddFault("initech", Fault{Kind: FaultUnavailable}); err == nil {
		t.Fatal("AddFault on an unknown tenant succeeded")
	}
}

// stateUser returns a user of the tenant's state by UPN.
func stateUser(t *testing.T, s *Server, upn string) User {
	t.Helper()
	st, _ := s.State(strings.SplitN(strings.TrimSuffix(strings.SplitN(upn, "@", 2)[1], ".com"), ".", 2)[0])
	for _, u := range st.Users {
		if u.UserPrincipalName == upn {
			return u
		}
	}
	t.Fatalf("no user %s", upn)
	return User{}
}

// TestFaultAnyError drives error faults through /_sim/faults: any status
// with Graph's OData error body, the codes Graph answers by default
// ("Microsoft Graph error responses and resource types",
// https://learn.microsoft.com/graph/errors: 403 when the caller lacks a
// permission or a role, 404 for an object that does not exist, 409 for a
// conflict with the object's state, 429 with Retry-After), or the code and
// message a test names; matched by method and path, N times or always, and
// never applied.
func TestFaultAnyError(t *testing.T) {
	tests := []struct {
		name, body       string
		status           int
		code, msg, retry string
		times            int // how many requests it meets; 0: always (checked on 4)
	}{
		{"403 default", `{"status":403}`, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "", 1},
		{"403 named", `{"status":403,"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither tenant is B2C or tenant doesn't have premium license"}`,
			403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license", "", 1},
		{"400 twice", `{"kind":"error","status":400,"count":2}`, 400, "Request_BadRequest", "Invalid request.", "", 2},
		{"404 always", `{"status":404,"count":0}`, 404, "Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present.", "", 0},
		{"409", `{"status":409}`, 409, "Directory_ConcurrencyViolation", "Another operation is in progress on this object. Please retry after some time.", "", 1},
		{"429 retry-after", `{"status":429,"retryAfter":7}`, 429, "TooManyRequests", "Too many requests", "7", 1},
		{"429 default retry-after", `{"status":429}`, 429, "TooManyRequests", "Too many requests", "1", 1},
		{"500", `{"status":500}`, 500, "InternalServerError", "An internal server error occurred.", "", 1},
		{"502", `{"status":502,"code":"UnknownError","message":""}`, 502, "UnknownError", "The gateway received an invalid response from the upstream service.", "", 1},
		{"418 unusual", `{"status":418}`, 418, "UnknownError", "I'm a teapot", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, s := newTest(t)
			body := `{"tenant":"contoso","method":"patch","path":"/v1.0/users/*",` + strings.TrimPrefix(tt.body, "{")
			if r := addFault(t, srv, body); r.status != http.StatusCreated {
				t.Fatalf("add fault: %d %s", r.status, r.raw)
			}
			// another method and another path do not meet it
			if r := do(t, srv, request{path: adelePath, tenant: "contoso"}); r.status != 200 {
				t.Fatalf("GET = %d, a PATCH rule met it", r.status)
			}
			if r := do(t, srv, request{method: http.MethodPost, path: adelePath + "/revokeSignInSessions", tenant: "contoso"}); r.status != 200 {
				t.Fatalf("POST below the pattern = %d", r.status)
			}
			patch := request{method: http.MethodPatch, path: adelePath, tenant: "contoso", body: `{"department":"Sales"}`}
			n := tt.times
			if n == 0 {
				n = 4
			}
			for i := range n {
				r := do(t, srv, patch)
				if r.status != tt.status || r.header.Get("Retry-After") != tt.retry {
					t.Fatalf("PATCH #%d = %d, Retry-After %q; want %d, %q", i+1, r.status, r.header.Get("Retry-After"), tt.status, tt.retry)
				}
				if code, msg := graphErr(t, r); code != tt.code || msg != tt.msg {
					t.Fatalf("PATCH #%d error = %s %q, want %s %q", i+1, code, msg, tt.code, tt.msg)
				}
				var env struct {
					Error struct {
						InnerError map[string]string `json:"innerError"`
					} `json:"error"`
				}
				if json.Unmarshal(r.raw, &env) != nil || env.Error.InnerError["request-id"] == "" {
					t.Fatalf("PATCH #%d body has no innerError request-id: %s", i+1, r.raw)
				}
			}
			if u := stateUser(t, s, "adele.vance@contoso.com"); u.Department != "Marketing" {
				t.Fatalf("a refused PATCH was applied: department %q", u.Department)
			}
			j := s.Journal("contoso")
			if len(j) != 1+n || j[1].Status != tt.status || j[1].Fault != FaultError || j[1].Answered != 0 {
				t.Fatalf("journal = %+v", j)
			}
			if tt.times == 0 {
				if f := s.Faults("contoso"); len(f) != 1 || f[0].Hits != n || f[0].Count != 0 {
					t.Fatalf("an always rule: %+v", f)
				}
				return
			}
			if r := do(t, srv, patch); r.status != http.StatusNoContent {
				t.Fatalf("PATCH after the rule was spent = %d %s", r.status, r.raw)
			}
		})
	}
}

func TestFaultErrorRefused(t *testing.T) {
	srv, s := newTest(t)
	for _, body := range []string{
		`{"tenant":"contoso","status":200}`,
		`{"tenant":"contoso","kind":"error"}`,
		`{"tenant":"contoso","kind":"error","status":302}`,
		`{"tenant":"contoso","kind":"error","status":600}`,
		`{"tenant":"contoso","kind":"latency","latencyMs":5,"code":"X"}`,
		`{"tenant":"contoso","kind":"unavailable","status":403}`,
	} {
		if r := addFault(t, srv, body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", body, r.status, r.raw)
		}
	}
	if len(s.Faults("contoso")) != 0 {
		t.Fatal("a refused rule was stored")
	}
	// Code and message apply to the fixed kinds too.
	if err := s.AddFault("contoso", Fault{Kind: FaultUnavailable, Code: "ServiceUnavailable", Message: "Try later."}); err != nil {
		t.Fatal(err)
	}
	r := do(t, srv, request{path: adelePath, tenant: "contoso"})
	if code, msg := graphErr(t, r); r.status != 503 || code != "ServiceUnavailable" || msg != "Try later." {
		t.Fatalf("503 = %d %s %q", r.status, code, msg)
	}
}
