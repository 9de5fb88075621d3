package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/web/oidctest"
)

// The fakes of the console's dependencies the sign-in tests need: none of
// them is reached by sign-in, they only let New build a Server.

type authDesk struct{}

func (authDesk) Decide(context.Context, bot.Vote) (bot.Verdict, error) {
	return bot.Verdict{}, errors.New("not in these tests")
}
func (authDesk) Handle(context.Context, tierzero.Inbound) (tierzero.Reply, error) {
	return tierzero.Reply{}, errors.New("not in these tests")
}
func (authDesk) Problems() map[tierzero.TenantID]string { return nil }

type authStore struct{}

func (authStore) ListApprovals(context.Context, tierzero.TenantID, tierzero.ApprovalState) ([]tierzero.Approval, error) {
	return nil, nil
}
func (authStore) Approval(context.Context, tierzero.TenantID, string) (tierzero.Approval, error) {
	return tierzero.Approval{}, errors.New("no approval")
}
func (authStore) Audit(context.Context, tierzero.TenantID, time.Time, func(tierzero.AuditEvent) error) error {
	return nil
}
func (authStore) Tickets(context.Context, tierzero.TenantID) ([]tierzero.TicketRecord, error) {
	return nil, nil
}
func (authStore) Verify(context.Context, tierzero.TenantID) (int, error) { return 0, nil }

type authPolicy struct{}

func (authPolicy) Check([]byte) (tierzero.Decision, error) { return tierzero.Decision{}, nil }
func (authPolicy) Layers(tierzero.TenantID) []string       { return nil }

// authReach admits technicians to both client tenants.
type authReach struct{}

func (authReach) Across(tierzero.Requester) []tierzero.TenantID {
	return []tierzero.TenantID{"fabrikam", "contoso"}
}

// authClock is the console's clock: the real time moved on by Advance (the
// provider's tokens carry real times).
type authClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *authClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *authClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// syncBuffer is a log the server writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const (
	tech     = "alice@msp.example"
	admin    = "bob@contoso.example"
	clientID = "tierzero-console"
	secret   = "console-s3cret"
)

// console is a Server behind an httptest TLS server (Go's cookie jar sends
// Secure cookies over https only), with a fake provider when OIDC is on.
// Besides the console's routes it serves /console/test/whoami (GET) and
// /console/test/act (POST), signed in, to test sessions without the pages.
type console struct {
	s     *Server
	ts    *httptest.Server
	prov  *oidctest.Provider
	clock *authClock
	log   *syncBuffer
}

type consoleOpt func(*Config)

func newConsole(t *testing.T, withOIDC bool, opts ...consoleOpt) *console {
	t.Helper()
	c := &console{clock: &authClock{}, log: &syncBuffer{}}
	var h http.Handler = http.NotFoundHandler()
	c.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(c.ts.Close)
	cfg := Config{
		Desk: authDesk{}, Store: authStore{}, Policy: authPolicy{}, Reach: authReach{},
		Staff: bot.Staff{
			Home:        "msp",
			Technicians: []bot.Technician{{UPN: tech, Name: "Alice Tech"}},
			Admins:      map[tierzero.TenantID][]string{"contoso": {admin}},
			Clients:     []tierzero.TenantID{"contoso", "fabrikam"},
		},
		SessionTTL: time.Hour,
		Now:        c.clock.Now,
		Logger:     slog.New(slog.NewTextHandler(c.log, nil)),
	}
	if withOIDC {
		c.prov = oidctest.New()
		t.Cleanup(c.prov.Close)
		redirect := c.ts.URL + Prefix + "/callback"
		c.prov.AddClient(clientID, secret, redirect)
		c.prov.SetUser(tech, "Alice Tech")
		cfg.OIDC = &OIDC{Issuer: c.prov.Issuer, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect}
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.s = s
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", s.Handler())
	mux.Handle(Prefix+"/test/", s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.signedIn(func(w http.ResponseWriter, r *http.Request, v *Viewer) {
			fmt.Fprintf(w, "%s %s %s %v", r.Method, v.UPN, v.Role, v.Tenants)
		})(w, r)
	})))
	h = mux
	return c
}

// browser is a client of the console with its own cookies, following
// redirects (to the provider and back) as a browser does.
func (c *console) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := c.ts.Client()
	return &http.Client{Transport: cl.Transport, Jar: jar}
}

// noFollow is b that does not follow redirects.
func noFollow(b *http.Client) *http.Client {
	return &http.Client{Transport: b.Transport, Jar: b.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches u and returns the response with its body read.
func get(t *testing.T, b *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

var refresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]*)">`)

// moveOn follows the continue page's meta refresh, as the browser does.
func (c *console) moveOn(t *testing.T, b *http.Client, res *http.Response, body string) (*http.Response, string) {
	t.Helper()
	m := refresh.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in answered %d without moving on: %s", res.StatusCode, body)
	}
	return get(t, b, c.ts.URL+htmlUnescape(m[1]))
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&#34;", `"`).Replace(s)
}

// sessionOf returns the session cookie b holds for the console.
func (c *console) sessionOf(t *testing.T, b *http.Client) string {
	t.Helper()
	u, _ := url.Parse(c.ts.URL + Prefix + "/")
	for _, k := range b.Jar.Cookies(u) {
		if k.Name == sessionCookie {
			return k.Value
		}
	}
	return ""
}

// openOnce opens a one-time link in b as a person does: the link's page,
// then its button (a POST of the token from the page). It returns the
// page's answer when it shows no button, else the button's.
func (c *console) openOnce(t *testing.T, b *http.Client, link string) (*http.Response, string) {
	t.Helper()
	res, body := get(t, b, c.ts.URL+link)
	tok := strings.TrimPrefix(link, Prefix+"/once?token=")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<form method="post" action="/console/once">`) || !strings.Contains(body, `value="`+tok+`"`) {
		return res, body
	}
	return post(t, b, c.ts.URL+Prefix+"/once", url.Values{"token": {tok}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
}

// signInOnce signs b in with a one-time link for upn.
func (c *console) signInOnce(t *testing.T, b *http.Client, upn string) {
	t.Helper()
	link, ok := c.s.OneTimeLink(upn)
	if !ok {
		t.Fatalf("no one-time link for %s", upn)
	}
	res, body := c.openOnce(t, b, link)
	if res.StatusCode != http.StatusOK || !refresh.MatchString(body) {
		t.Fatalf("one-time link: %d %s", res.StatusCode, body)
	}
}

// csrfOf is the CSRF token of b's session.
func (c *console) csrfOf(t *testing.T, b *http.Client) string {
	t.Helper()
	v, ok := c.s.sessions.get(c.sessionOf(t, b))
	if !ok {
		t.Fatal("not signed in")
	}
	return v.csrf
}

// post sends a form to the console with extra headers.
func post(t *testing.T, b *http.Client, u string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := noFollow(b).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

func TestSessionCookie(t *testing.T) {
	c := newConsole(t, false)
	b := c.browser(t)
	link, _ := c.s.OneTimeLink(tech)
	res, _ := c.openOnce(t, b, link)
	var got *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == sessionCookie {
			got = k
		}
	}
	if got == nil {
		t.Fatal("no session cookie set")
	}
	if !got.Secure || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode || got.Path != Prefix+"/" {
		t.Errorf("session cookie: Secure %v HttpOnly %v SameSite %v Path %q; want Secure, HttpOnly, Strict, %s/",
			got.Secure, got.HttpOnly, got.SameSite, got.Path, Prefix)
	}
	if got.MaxAge != int(time.Hour/time.Second) {
		t.Errorf("session cookie MaxAge %d, want the session's TTL %d", got.MaxAge, int(time.Hour/time.Second))
	}
}

func TestSessionExpires(t *testing.T) {
	c := newConsole(t, false)
	b := c.browser(t)
	c.signInOnce(t, b, tech)
	res, body := get(t, noFollow(b), c.ts.URL+Prefix+"/test/whoami")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, tech) {
		t.Fatalf("signed in: %d %s", res.StatusCode, body)
	}
	c.clock.Advance(time.Hour + time.Second)
	res, _ = get(t, noFollow(b), c.ts.URL+Prefix+"/test/whoami")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != Prefix+"/login?next=%2Fconsole%2Ftest%2Fwhoami" {
		t.Errorf("expired session: %d to %q, want 302 to sign-in with next", res.StatusCode, loc)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	c := newConsole(t, false)
	b := c.browser(t)
	c.signInOnce(t, b, tech)
	id := c.sessionOf(t, b)
	res, body := post(t, b, c.ts.URL+Prefix+"/logout", url.Values{"csrf": {c.csrfOf(t, b)}}, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("logout: %d %s", res.StatusCode, body)
	}
	if _, ok := c.s.sessions.get(id); ok {
		t.Error("the session lives on on the server after logout")
	}
	// The old cookie, replayed by hand, no longer signs anyone in.
	req, _ := http.NewRequest(http.MethodGet, c.ts.URL+Prefix+"/test/whoami", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	r2, err := noFollow(&http.Client{Transport: b.Transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusFound || !strings.HasPrefix(r2.Header.Get("Location"), Prefix+"/login") {
		t.Errorf("old session after logout: %d %q, want a redirect to sign-in", r2.StatusCode, r2.Header.Get("Location"))
	}
}

func TestCSRF(t *testing.T) {
	c := newConsole(t, false)
	b := c.browser(t)
	c.signInOnce(t, b, tech)
	token := c.csrfOf(t, b)
	act := c.ts.URL + Prefix + "/test/act"
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
		want   int
	}{
		{"no token", url.Values{}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"csrf": {"x" + token[1:]}}, nil, http.StatusForbidden},
		{"another session's token", url.Values{"csrf": {randomToken()}}, nil, http.StatusForbidden},
		{"right token", url.Values{"csrf": {token}}, nil, http.StatusOK},
		{"right token, same origin", url.Values{"csrf": {token}}, map[string]string{"Origin": c.ts.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"right token, cross-site Origin", url.Values{"csrf": {token}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"right token, null Origin", url.Values{"csrf": {token}}, map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"right token, Sec-Fetch-Site cross-site", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"right token, Sec-Fetch-Site same-site", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := post(t, b, act, tc.form, tc.header)
			if res.StatusCode != tc.want {
				t.Errorf("status %d, want %d (%s)", res.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusOK && body != "POST "+tech+" msp_technician [contoso fabrikam]" {
				t.Errorf("body %q", body)
			}
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		res, _ := post(t, c.browser(t), act, url.Values{"csrf": {token}}, nil)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous POST: %d, want 401", res.StatusCode)
		}
	})
}

func TestCSPOnEveryResponse(t *testing.T) {
	c := newConsole(t, true)
	b := noFollow(c.browser(t))
	for _, path := range []string{
		Prefix + "/login",                 // redirect to the provider
		Prefix + "/callback?state=forged", // refused
		Prefix + "/once?token=nope",       // refused
		Prefix + "/approvals",             // anonymous: redirect
		Prefix + "/static/style.css",
		Prefix + "/no-such-page",
	} {
		res, _ := get(t, b, c.ts.URL+path)
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s (%d): CSP %q", path, res.StatusCode, csp)
		}
	}
}

func TestLocalNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/console/approvals", "/console/approvals"},
		{"/console/audit?tenant=contoso&effect=deny", "/console/audit?tenant=contoso&effect=deny"},
		{"", "/console/"},
		{"//evil.example", "/console/"},
		{"//evil.example/console/", "/console/"},
		{"https://evil.example/console/", "/console/"},
		{"https:/console/x", "/console/"},
		{"/console/../x", "/console/"},
		{"/console/./approvals", "/console/"},
		{"/console/%2e%2e/x", "/console/"},
		{"/console/%2E%2e%2fx", "/console/"},
		{"/console/x/..", "/console/"},
		{"/console/\\evil.example", "/console/"},
		{"/console/%5c%5cevil.example", "/console/"},
		{"/console/\t/x", "/console/"},
		{"/console/\r\nSet-Cookie:x", "/console/"},
		{"/consolex", "/console/"},
		{"/other", "/console/"},
		{"javascript:alert(1)", "/console/"},
	} {
		if got := localNext(tc.next); got != tc.want {
			t.Errorf("localNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

func TestSignInReplacesSession(t *testing.T) {
	c := newConsole(t, false)
	b := c.browser(t)
	c.signInOnce(t, b, tech)
	first := c.sessionOf(t, b)
	c.signInOnce(t, b, admin)
	if _, ok := c.s.sessions.get(first); ok {
		t.Error("signing in again left the browser's previous session alive")
	}
	res, body := get(t, b, c.ts.URL+Prefix+"/test/whoami")
	if res.StatusCode != http.StatusOK || body != "GET "+admin+" tenant_admin [contoso]" {
		t.Errorf("after the second sign-in: %d %q", res.StatusCode, body)
	}
}

// The console's files are served, their directory is not listed.
func TestStaticFilesOnly(t *testing.T) {
	c := newConsole(t, true)
	b := noFollow(c.browser(t))
	for path, want := range map[string]int{
		Prefix + "/static/style.css":     http.StatusOK,
		Prefix + "/static/console.js":    http.StatusOK,
		Prefix + "/static/":              http.StatusNotFound,
		Prefix + "/static/../web.go":     http.StatusNotFound,
		Prefix + "/static/missing.css":   http.StatusNotFound,
		Prefix + "/static/%2e%2e/web.go": http.StatusNotFound,
	} {
		res, body := get(t, b, c.ts.URL+path)
		if res.StatusCode != want && !(want == http.StatusNotFound && res.StatusCode/100 == 3 && strings.HasPrefix(res.Header.Get("Location"), Prefix+"/")) {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
		if want != http.StatusOK && strings.Contains(body, "style.css") {
			t.Errorf("%s lists the directory:\n%s", path, body)
		}
	}
}
