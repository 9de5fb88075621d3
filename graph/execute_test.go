package graph

// Execute's retries and read-backs, through the real msgraph-sdk-go against
// graph/sim with injected faults. An internal test, so that a tool's
// read-back can be counted or removed.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

const adele = "adele.vance@contoso.com"

type execEnv struct {
	c        *Client
	sim      *sim.Server
	key      ed25519.PrivateKey
	readBack atomic.Int32 // calls of the reset tool's applied
}

func newExecEnv(t *testing.T, timeout time.Duration) *execEnv {
	t.Helper()
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := New(Config{
		BaseURL: srv.URL + "/v1.0",
		Token:   func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits: tierzero.NewPermitVerifier(pub, nil),
		Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &execEnv{c: c, sim: s, key: priv}
	reset := c.byAction[ActionUserResetPassword]
	if reset.applied == nil {
		t.Fatalf("%s has no read-back", ActionUserResetPassword)
	}
	applied := reset.applied
	reset.applied = func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage, since time.Time) (bool, error) {
		e.readBack.Add(1)
		return applied(c, ctx, tenant, args, since)
	}
	c.byAction[ActionUserResetPassword] = reset
	return e
}

func (e *execEnv) fault(t *testing.T, f sim.Fault) {
	t.Helper()
	if err := e.sim.AddFault("contoso", f); err != nil {
		t.Fatal(err)
	}
}

// exec runs action on user in contoso with a hand-signed permit.
func (e *execEnv) exec(t *testing.T, action, user string) (tierzero.ToolResult, error) {
	t.Helper()
	args, _ := json.Marshal(map[string]string{"user": user})
	call := tierzero.ToolCall{ID: "c1", Action: action, Args: args}
	h, err := tierzero.ArgsHash(call.Args)
	if err != nil {
		t.Fatal(err)
	}
	p := tierzero.Permit{Tenant: "contoso", Action: action, ArgsHash: h, Nonce: time.Now().String(), Expires: time.Now().Add(time.Minute)}
	p.Sig = ed25519.Sign(e.key, p.SigningBytes())
	return e.c.Execute(context.Background(), p, "contoso", call)
}

// patches returns the journal's PATCH entries on Adele.
func (e *execEnv) patches() []sim.JournalEntry {
	var out []sim.JournalEntry
	for _, j := range e.sim.Journal("contoso") {
		if j.Method == "PATCH" && j.Path == "/v1.0/users/"+adele {
			out = append(out, j)
		}
	}
	return out
}

func checkReset(t *testing.T, res tierzero.ToolResult, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	pw := res.Secret.Reveal()
	if len(pw) < 12 || res.Secret.Kind != "temporary_password" {
		t.Fatalf("secret = %v, want a temporary password", res.Secret)
	}
	if strings.Contains(string(res.Output), pw) {
		t.Fatal("the password is in the output")
	}
}

// (a) A write throttled with Retry-After: 2 is resent by the SDK after at
// least 2 s, and not read back (a 429 was not applied).
func TestExecuteThrottledWriteWaitsRetryAfter(t *testing.T) {
	e := newExecEnv(t, 0)
	e.fault(t, sim.Fault{Method: "PATCH", Path: "/v1.0/users/*", Kind: sim.FaultThrottle, RetryAfter: 2, Count: 1})
	start := time.Now()
	res, err := e.exec(t, ActionUserResetPassword, adele)
	took := time.Since(start)
	checkReset(t, res, err)
	if took < 2*time.Second {
		t.Fatalf("the retry came after %v, want at least the 2s of Retry-After", took)
	}
	j := e.patches()
	if len(j) != 2 || j[0].Status != 429 || j[0].Fault != sim.FaultThrottle || j[1].Status != 204 || j[1].Fault != "" {
		t.Fatalf("journal = %+v, want a 429 then a 204", j)
	}
	if n := e.readBack.Load(); n != 0 {
		t.Fatalf("%d read-backs after a 429", n)
	}
	t.Logf("throttled reset completed in %v", took)
}

// A Retry-After beyond the cap is not waited for: the write fails at once,
// unapplied and without a read-back.
func TestExecuteThrottleBeyondCapFails(t *testing.T) {
	e := newExecEnv(t, 0)
	e.fault(t, sim.Fault{Method: "PATCH", Kind: sim.FaultThrottle, RetryAfter: 120, Count: 0})
	start := time.Now()
	res, err := e.exec(t, ActionUserResetPassword, adele)
	if tierzero.ErrorCode(err) != tierzero.EUnavailable || !res.Secret.IsZero() {
		t.Fatalf("err = %v, secret %v; want unavailable and no secret", err, res.Secret)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("waited %v", took)
	}
	if j := e.patches(); len(j) != 1 || j[0].Status != 429 {
		t.Fatalf("journal = %+v, want one 429", j)
	}
	if n := e.readBack.Load(); n != 0 {
		t.Fatalf("%d read-backs after a 429", n)
	}
}

// (b) A reset applied but answered 503 is read back and not sent again.
func TestExecuteAppliedThen503IsReadBack(t *testing.T) {
	e := newExecEnv(t, 0)
	e.fault(t, sim.Fault{Method: "PATCH", Path: "/v1.0/users/*", Kind: sim.FaultAppliedThen503, Count: 1})
	start := time.Now()
	res, err := e.exec(t, ActionUserResetPassword, adele)
	checkReset(t, res, err)
	j := e.patches()
	if len(j) != 1 || j[0].Status != 204 || j[0].Answered != 503 {
		t.Fatalf("journal = %+v, want exactly one PATCH, applied and answered 503", j)
	}
	if n := e.readBack.Load(); n != 1 {
		t.Fatalf("%d read-backs, want 1", n)
	}
	st, _ := e.sim.State("contoso")
	for _, u := range st.Users {
		if u.UserPrincipalName == adele && (u.LastPasswordChangeDateTime.Before(start.Add(-time.Second)) || !u.ForceChangePasswordNextSignIn) {
			t.Fatalf("state = %+v, want the reset applied", u)
		}
	}
}

// (c) A reset answered 503 and not applied is read back and sent once more.
func TestExecuteUnappliedWriteIsRetriedOnce(t *testing.T) {
	for _, kind := range []sim.FaultKind{sim.FaultUnavailable, sim.FaultGatewayTimeout} {
		t.Run(string(kind), func(t *testing.T) {
			e := newExecEnv(t, 0)
			e.fault(t, sim.Fault{Method: "PATCH", Path: "/v1.0/users/*", Kind: kind, Count: 1})
			res, err := e.exec(t, ActionUserResetPassword, adele)
			checkReset(t, res, err)
			j := e.patches()
			if len(j) != 2 || j[0].Fault != kind || j[0].Status < 503 || j[1].Status != 204 {
				t.Fatalf("journal = %+v, want the %s then a 204", j, kind)
			}
			if n := e.readBack.Load(); n != 1 {
				t.Fatalf("%d read-backs, want 1", n)
			}
		})
	}
}

// A write that fails ambiguously twice, unapplied, is not sent a third time.
func TestExecuteRetriesAWriteOnlyOnce(t *testing.T) {
	e := newExecEnv(t, 0)
	e.fault(t, sim.Fault{Method: "PATCH", Kind: sim.FaultUnavailable, Count: 0})
	res, err := e.exec(t, ActionUserResetPassword, adele)
	if tierzero.ErrorCode(err) != tierzero.EUnavailable || !res.Secret.IsZero() || res.Output != nil {
		t.Fatalf("res = %+v, err = %v; want unavailable, nothing returned", res, err)
	}
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "may or may not have been applied") {
		t.Fatalf("message %q", msg)
	}
	if j := e.patches(); len(j) != 2 {
		t.Fatalf("journal = %+v, want two PATCHes", j)
	}
	if n := e.readBack.Load(); n != 2 {
		t.Fatalf("%d read-backs, want 2", n)
	}
}

// A write whose answer never comes (a timeout) is read back and, not
// applied, sent again.
func TestExecuteTimedOutWriteIsReadBack(t *testing.T) {
	e := newExecEnv(t, 300*time.Millisecond)
	e.fault(t, sim.Fault{Method: "PATCH", Kind: sim.FaultLatency, LatencyMs: 3000, Count: 1})
	res, err := e.exec(t, ActionUserResetPassword, adele)
	checkReset(t, res, err)
	if j := e.patches(); len(j) != 1 || j[0].Status != 204 {
		t.Fatalf("journal = %+v, want only the second PATCH (the first was abandoned unapplied)", j)
	}
	if n := e.readBack.Load(); n != 1 {
		t.Fatalf("%d read-backs, want 1", n)
	}
}

// (d) A read answered 503 is retried by the SDK and succeeds.
func TestExecuteReadRetriedAfter503(t *testing.T) {
	e := newExecEnv(t, 0)
	e.fault(t, sim.Fault{Method: "GET", Path: "/v1.0/users/*", Kind: sim.FaultUnavailable, Count: 1})
	res, err := e.exec(t, ActionUserGet, adele)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Output), adele) {
		t.Fatalf("output = %s", res.Output)
	}
	if f := e.sim.Faults("contoso"); len(f) != 0 {
		t.Fatalf("faults = %+v, want the 503 spent", f)
	}
}

// (e) A write without a read-back that gets a 503 is not retried, and says
// that its outcome is unknown.
func TestExecuteWriteWithoutReadBackIsNotRetried(t *testing.T) {
	e := newExecEnv(t, 0)
	reset := e.c.byAction[ActionUserResetPassword]
	reset.applied = nil
	e.c.byAction[ActionUserResetPassword] = reset
	e.fault(t, sim.Fault{Method: "PATCH", Kind: sim.FaultAppliedThen503, Count: 1})
	res, err := e.exec(t, ActionUserResetPassword, adele)
	if tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "may or may not have been applied; check before retrying") {
		t.Fatalf("message %q", msg)
	}
	if !res.Secret.IsZero() || res.Output != nil {
		t.Fatalf("result %+v carries something after an unknown outcome", res)
	}
	if j := e.patches(); len(j) != 1 {
		t.Fatalf("journal = %+v, want one PATCH", j)
	}
}

func TestShouldRetry(t *testing.T) {
	tests := []struct {
		method, retryAfter string
		status, n          int
		waited             time.Duration
		want               bool
	}{
		{"GET", "", 503, 0, 0, true},
		{"GET", "", 504, 0, 0, true},
		{"GET", "2", 429, 0, 0, true},
		{"PATCH", "2", 429, 0, 0, true},
		{"POST", "", 429, 1, 0, true},
		{"PATCH", "", 503, 0, 0, false},
		{"POST", "1", 503, 0, 0, false},
		{"DELETE", "", 504, 0, 0, false},
		{"GET", "31", 429, 0, 0, false},                // beyond the cap
		{"GET", "10", 429, 2, 25 * time.Second, false}, // the total would pass the cap
		{"GET", "", 503, 2, 0, true},                   // 4s backoff
		{"GET", "", 503, 2, 26 * time.Second, false},   // 4s more would pass it
		{"GET", "Fri, 01 Jan 2100 00:00:00 GMT", 429, 0, 0, false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, "http://127.0.0.1/v1.0/users", nil)
		resp := httptest.NewRecorder()
		if tt.retryAfter != "" {
			resp.Header().Set("Retry-After", tt.retryAfter)
		}
		resp.WriteHeader(tt.status)
		if got := shouldRetry(tt.waited, tt.n, req, resp.Result()); got != tt.want {
			t.Errorf("%s %d Retry-After %q after %d retries, %v: got %v, want %v", tt.method, tt.status, tt.retryAfter, tt.n, tt.waited, got, tt.want)
		}
	}
	// a deadline too close for the wait: answer now
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req := httptest.NewRequest("GET", "http://127.0.0.1/v1.0/users", nil).WithContext(ctx)
	resp := httptest.NewRecorder()
	resp.Header().Set("Retry-After", "2")
	resp.WriteHeader(429)
	if shouldRetry(0, 0, req, resp.Result()) {
		t.Error("retried past the request's deadline")
	}
}
