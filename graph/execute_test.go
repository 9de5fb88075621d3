package graph

// Execute's retries and read-backs, through the real msgraph-sdk-go against
// graph/sim with injected faults. An internal test, so that a tool's
// read-back can be counted or removed.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

const adele = "adele.vance@contoso.com"

// Paths of the writes on Adele: a password reset, a sign-out.
const (
	resetPath  = "/v1.0/users/" + adele
	revokePath = "/v1.0/users/" + adele + "/revokeSignInSessions"
)

type execEnv struct {
	c        *Client
	sim      *sim.Server
	key      ed25519.PrivateKey
	readBack atomic.Int32 // calls of any tool's applied
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
	if c.byAction[ActionUserRevokeSessions].applied == nil {
		t.Fatalf("%s has no read-back", ActionUserRevokeSessions)
	}
	for action, tl := range c.byAction {
		if applied := tl.applied; applied != nil {
			tl.applied = func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage, since time.Time) (bool, error) {
				e.readBack.Add(1)
				return applied(c, ctx, tenant, args, since)
			}
			c.byAction[action] = tl
		}
	}
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

// writes returns the journal's entries for path.
func (e *execEnv) writes(path string) []sim.JournalEntry {
	var out []sim.JournalEntry
	for _, j := range e.sim.Journal("contoso") {
		if j.Path == path {
			out = append(out, j)
		}
	}
	return out
}

// checkReset fails unless the reset delivered a temporary password, kept
// out of the output, that is Adele's password now.
func (e *execEnv) checkReset(t *testing.T, res tierzero.ToolResult, err error) {
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
	if !e.sim.PasswordIs("contoso", adele, pw) {
		t.Fatal("the password delivered is not the one set")
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
	e.checkReset(t, res, err)
	if took < 2*time.Second {
		t.Fatalf("the retry came after %v, want at least the 2s of Retry-After", took)
	}
	j := e.writes(resetPath)
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
	if j := e.writes(resetPath); len(j) != 1 || j[0].Status != 429 {
		t.Fatalf("journal = %+v, want one 429", j)
	}
	if n := e.readBack.Load(); n != 0 {
		t.Fatalf("%d read-backs after a 429", n)
	}
}

// (b) A write applied but answered 503 is read back and not sent again.
func TestExecuteAppliedThen503IsReadBack(t *testing.T) {
	e := newExecEnv(t, 0)
	e.fault(t, sim.Fault{Method: "POST", Path: "/v1.0/users/*/revokeSignInSessions", Kind: sim.FaultAppliedThen503, Count: 1})
	start := time.Now()
	if _, err := e.exec(t, ActionUserRevokeSessions, adele); err != nil {
		t.Fatal(err)
	}
	j := e.writes(revokePath)
	if len(j) != 1 || j[0].Status != 200 && j[0].Status != 204 || j[0].Answered != 503 {
		t.Fatalf("journal = %+v, want exactly one POST, applied and answered 503", j)
	}
	if n := e.readBack.Load(); n != 1 {
		t.Fatalf("%d read-backs, want 1", n)
	}
	st, _ := e.sim.State("contoso")
	for _, u := range st.Users {
		if u.UserPrincipalName == adele && u.SignInSessionsValidFromDateTime.Before(start.Add(-time.Second)) {
			t.Fatalf("state = %+v, want the sign-out applied", u)
		}
	}
}

// (c) A write answered 503 or 504 and not applied is read back and sent
// once more.
func TestExecuteUnappliedWriteIsRetriedOnce(t *testing.T) {
	for _, kind := range []sim.FaultKind{sim.FaultUnavailable, sim.FaultGatewayTimeout} {
		t.Run(string(kind), func(t *testing.T) {
			e := newExecEnv(t, 0)
			e.fault(t, sim.Fault{Method: "POST", Path: "/v1.0/users/*/revokeSignInSessions", Kind: kind, Count: 1})
			if _, err := e.exec(t, ActionUserRevokeSessions, adele); err != nil {
				t.Fatal(err)
			}
			j := e.writes(revokePath)
			if len(j) != 2 || j[0].Fault != kind || j[0].Status < 503 || j[1].Status >= 300 {
				t.Fatalf("journal = %+v, want the %s then a success", j, kind)
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
	e.fault(t, sim.Fault{Method: "POST", Kind: sim.FaultUnavailable, Count: 0})
	res, err := e.exec(t, ActionUserRevokeSessions, adele)
	if tierzero.ErrorCode(err) != tierzero.EUnavailable || res.Output != nil {
		t.Fatalf("res = %+v, err = %v; want unavailable, nothing returned", res, err)
	}
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "may or may not have been applied") {
		t.Fatalf("message %q", msg)
	}
	if j := e.writes(revokePath); len(j) != 2 {
		t.Fatalf("journal = %+v, want two POSTs", j)
	}
	if n := e.readBack.Load(); n != 2 {
		t.Fatalf("%d read-backs, want 2", n)
	}
}

// A write whose answer never comes (a timeout) is read back and, not
// applied, sent again.
func TestExecuteTimedOutWriteIsReadBack(t *testing.T) {
	e := newExecEnv(t, 300*time.Millisecond)
	e.fault(t, sim.Fault{Method: "POST", Kind: sim.FaultLatency, LatencyMs: 3000, Count: 1})
	if _, err := e.exec(t, ActionUserRevokeSessions, adele); err != nil {
		t.Fatal(err)
	}
	if j := e.writes(revokePath); len(j) != 1 || j[0].Status >= 300 {
		t.Fatalf("journal = %+v, want only the second POST (the first was abandoned unapplied)", j)
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
	revoke := e.c.byAction[ActionUserRevokeSessions]
	revoke.applied = nil
	e.c.byAction[ActionUserRevokeSessions] = revoke
	e.fault(t, sim.Fault{Method: "POST", Kind: sim.FaultAppliedThen503, Count: 1})
	res, err := e.exec(t, ActionUserRevokeSessions, adele)
	if tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "may or may not have been applied; check before retrying") {
		t.Fatalf("message %q", msg)
	}
	if !res.Secret.IsZero() || res.Output != nil {
		t.Fatalf("result %+v carries something after an unknown outcome", res)
	}
	if j := e.writes(revokePath); len(j) != 1 {
		t.Fatalf("journal = %+v, want one POST", j)
	}
}

// (f) A password reset answered ambiguously, applied or not, is never read
// back: it is sent once more with a new password, and the password
// delivered is the one of the write Graph confirmed.
func TestExecutePasswordResentAfterAmbiguousAnswer(t *testing.T) {
	for _, f := range []sim.Fault{
		{Kind: sim.FaultAppliedThen503},
		{Kind: sim.FaultUnavailable},
		{Kind: sim.FaultGatewayTimeout},
		{Kind: sim.FaultLatency, LatencyMs: 3000},
	} {
		t.Run(string(f.Kind), func(t *testing.T) {
			e := newExecEnv(t, 300*time.Millisecond)
			f.Method, f.Path, f.Count = "PATCH", "/v1.0/users/*", 1
			e.fault(t, f)
			res, err := e.exec(t, ActionUserResetPassword, adele)
			e.checkReset(t, res, err)
			if j := e.writes(resetPath); len(j) == 0 || j[len(j)-1].Status != 204 || j[len(j)-1].Fault != "" {
				t.Fatalf("journal = %+v, want a confirmed PATCH last", j)
			}
			if n := e.readBack.Load(); n != 0 {
				t.Fatalf("%d read-backs of a reset", n)
			}
		})
	}
}

// (g) Two resets within a second, the second answered 503: the time of the
// last change, which Graph keeps to the second, is the first reset's; the
// second reset's password must not be delivered as if it had been set.
func TestExecutePasswordTwoResetsWithinASecond(t *testing.T) {
	for _, kind := range []sim.FaultKind{sim.FaultUnavailable, sim.FaultAppliedThen503} {
		t.Run(string(kind), func(t *testing.T) {
			e := newExecEnv(t, 0)
			res, err := e.exec(t, ActionUserResetPassword, adele)
			e.checkReset(t, res, err)
			e.fault(t, sim.Fault{Method: "PATCH", Path: "/v1.0/users/*", Kind: kind, Count: 1})
			res, err = e.exec(t, ActionUserResetPassword, adele)
			e.checkReset(t, res, err)
		})
	}
}

// (h) A reset that fails ambiguously twice delivers nothing and says the
// outcome is unknown.
func TestExecutePasswordNeverDeliveredUnconfirmed(t *testing.T) {
	for _, kind := range []sim.FaultKind{sim.FaultUnavailable, sim.FaultAppliedThen503} {
		t.Run(string(kind), func(t *testing.T) {
			e := newExecEnv(t, 0)
			e.fault(t, sim.Fault{Method: "PATCH", Kind: kind, Count: 0})
			res, err := e.exec(t, ActionUserResetPassword, adele)
			if tierzero.ErrorCode(err) != tierzero.EUnavailable || !res.Secret.IsZero() || res.Output != nil {
				t.Fatalf("res = %+v, err = %v; want unavailable, nothing delivered", res, err)
			}
			if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "may or may not have been applied") {
				t.Fatalf("message %q", msg)
			}
			if j := e.writes(resetPath); len(j) != 2 {
				t.Fatalf("journal = %+v, want two PATCHes", j)
			}
		})
	}
}

// A password change within a second or so of a reset's start cannot be
// told from an earlier reset: reconciliation leaves it to a person.
func TestChangedAfter(t *testing.T) {
	since := time.Date(2026, 11, 2, 9, 0, 0, 500_000_000, time.UTC) // a write began at since+clockSkew
	at := func(d time.Duration) *time.Time { t := since.Add(d).Truncate(time.Second); return &t }
	tests := []struct {
		name      string
		changed   *time.Time
		applied   bool
		undecided bool
	}{
		{"never changed", nil, false, false},
		{"long before", at(-time.Hour), false, false},
		{"the second before since", at(-time.Second), false, false},
		{"the second of since", at(0), false, true},
		{"when the write began", at(clockSkew), false, true},
		{"within the skew after", at(2 * clockSkew), false, true},
		{"later", at(2*clockSkew + time.Second), true, false},
	}
	for _, tt := range tests {
		applied, err := changedAfter(tt.changed, since)
		if applied != tt.applied || (err != nil) != tt.undecided || err != nil && !errors.Is(err, errUndecided) {
			t.Errorf("%s: applied %v, err %v; want applied %v, undecided %v", tt.name, applied, err, tt.applied, tt.undecided)
		}
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
