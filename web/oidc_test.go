package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// signInOIDC starts at a page, is sent to sign-in, on to the provider and
// back, and follows the continue page: the response of the page, and the
// callback's.
func (c *console) signInOIDC(t *testing.T, b *http.Client, path string) (callback *http.Response, page *http.Response, body string) {
	t.Helper()
	callback, body = get(t, b, c.ts.URL+path)
	if callback.Request.URL.Path != Prefix+"/callback" {
		t.Fatalf("sign-in ended at %s (%d): %s", callback.Request.URL, callback.StatusCode, body)
	}
	page, body = c.moveOn(t, b, callback, body)
	return callback, page, body
}

func TestOIDCSignIn(t *testing.T) {
	c := newConsole(t, true)
	b := c.browser(t)
	// What the browser is sent to, hop by hop.
	var hops []*url.URL
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL)
		return nil
	}
	callback, page, body := c.signInOIDC(t, b, Prefix+"/test/whoami?x=1")
	if page.StatusCode != http.StatusOK || body != "GET "+tech+" msp_technician [contoso fabrikam]" {
		t.Fatalf("after sign-in: %d %q", page.StatusCode, body)
	}
	if page.Request.URL.RequestURI() != Prefix+"/test/whoami?x=1" {
		t.Errorf("after sign-in at %s, want the page asked for first", page.Request.URL.RequestURI())
	}
	if n := c.prov.Tokens(); n != 1 {
		t.Errorf("provider issued %d ID tokens, want 1", n)
	}
	// Login went straight to the provider with PKCE S256, a state and a
	// nonce.
	if len(hops) != 3 {
		t.Fatalf("redirects %v, want login, authorize, callback", hops)
	}
	auth := hops[1].Query()
	if !strings.HasPrefix(hops[1].String(), c.prov.Issuer+"/authorize?") || auth.Get("code_challenge_method") != "S256" ||
		len(auth.Get("code_challenge")) != 43 || len(auth.Get("state")) < 32 || len(auth.Get("nonce")) < 32 || auth.Get("client_id") != clientID {
		t.Errorf("authorization request %s", hops[1])
	}
	// The session cookie is set by the callback, Strict.
	var session *http.Cookie
	for _, k := range callback.Cookies() {
		if k.Name == sessionCookie {
			session = k
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != Prefix+"/" {
		t.Errorf("session cookie %+v, want Secure, HttpOnly, SameSite=Strict, Path %s/", session, Prefix)
	}
	if !strings.Contains(c.log.String(), "console sign-in") {
		t.Error("the sign-in is not logged")
	}
}

func TestOIDCLoginCookie(t *testing.T) {
	c := newConsole(t, true)
	res, _ := get(t, noFollow(c.browser(t)), c.ts.URL+Prefix+"/login")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), c.prov.Issuer+"/authorize?") {
		t.Fatalf("login: %d to %q, want a redirect to the provider", res.StatusCode, res.Header.Get("Location"))
	}
	var login *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == loginCookie {
			login = k
		}
	}
	if login == nil || !login.Secure || !login.HttpOnly || login.SameSite != http.SameSiteLaxMode || login.Path != Prefix+"/" || login.MaxAge <= 0 || login.MaxAge > 600 {
		t.Errorf("login cookie %+v, want Secure, HttpOnly, Lax, Path %s/, at most 10 minutes", login, Prefix)
	}
}

// startLogin runs a sign-in up to the provider's redirect back and returns
// the callback URL without following it.
func (c *console) startLogin(t *testing.T, b *http.Client) string {
	t.Helper()
	nf := noFollow(b)
	u := c.ts.URL + Prefix + "/login?next=%2Fconsole%2Ftest%2Fwhoami"
	for range 2 {
		res, _ := get(t, nf, u)
		if res.StatusCode != http.StatusFound {
			t.Fatalf("%s: %d, want 302", u, res.StatusCode)
		}
		u = res.Header.Get("Location")
	}
	if !strings.HasPrefix(u, c.ts.URL+Prefix+"/callback?") {
		t.Fatalf("the provider sent back to %s", u)
	}
	return u
}

// refused checks a sign-in was refused with status and message, and no
// session began.
func (c *console) refused(t *testing.T, b *http.Client, res *http.Response, body string, status int, msg string) {
	t.Helper()
	if res.StatusCode != status || !strings.Contains(body, msg) {
		t.Errorf("got %d, want %d with %q: %s", res.StatusCode, status, msg, body)
	}
	for _, k := range res.Cookies() {
		if k.Name == sessionCookie && k.MaxAge >= 0 {
			t.Errorf("a session cookie was set: %+v", k)
		}
	}
	if id := c.sessionOf(t, b); id != "" {
		t.Errorf("the browser holds a session cookie")
	}
	if len(c.s.sessions.m) != 0 {
		t.Errorf("%d sessions on the server", len(c.s.sessions.m))
	}
}

const notVerified = "could not be verified"

func TestOIDCRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(c *console)
		status int
		msg    string
	}{
		{"another audience", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) { m["aud"] = "another-app" })
		}, http.StatusBadRequest, notVerified},
		{"another issuer", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) { m["iss"] = "https://login.evil.example/" })
		}, http.StatusBadRequest, notVerified},
		{"signed by another key", func(c *console) { c.prov.SignWithUnpublishedKey(true) }, http.StatusBadRequest, notVerified},
		{"nonce mismatch", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) { m["nonce"] = randomToken() })
		}, http.StatusBadRequest, notVerified},
		{"no nonce", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) { delete(m, "nonce") })
		}, http.StatusBadRequest, notVerified},
		{"expired", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) { m["exp"] = time.Now().Add(-time.Minute).Unix() })
		}, http.StatusBadRequest, notVerified},
		{"no user name", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) { delete(m, "preferred_username"); delete(m, "email") })
		}, http.StatusBadRequest, notVerified},
		{"unverified email", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) {
				delete(m, "preferred_username")
				m["email"] = tech
				m["email_verified"] = false
			})
		}, http.StatusBadRequest, notVerified},
		{"unverified email, as a string", func(c *console) {
			c.prov.SetClaims(func(m map[string]any) {
				delete(m, "preferred_username")
				m["email"] = tech
				m["email_verified"] = "false"
			})
		}, http.StatusBadRequest, notVerified},
		{"neither technician nor admin", func(c *console) { c.prov.SetUser("mallory@contoso.example", "Mallory") },
			http.StatusForbidden, "is not allowed in this console"},
		{"denied at the provider", func(c *console) { c.prov.Deny("access_denied") }, http.StatusForbidden, "cancelled or refused"},
		{"provider error", func(c *console) { c.prov.Deny("server_error") }, http.StatusForbidden, "did not sign you in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsole(t, true)
			tc.setup(c)
			b := c.browser(t)
			res, body := get(t, b, c.ts.URL+Prefix+"/test/whoami")
			if res.Request.URL.Path != Prefix+"/callback" {
				t.Fatalf("ended at %s", res.Request.URL)
			}
			c.refused(t, b, res, body, tc.status, tc.msg)
			if tc.status == http.StatusForbidden && tc.name == "neither technician nor admin" && !strings.Contains(c.log.String(), "mallory@contoso.example") {
				t.Errorf("the refusal is not logged: %s", c.log.String())
			}
		})
	}
}

func TestOIDCState(t *testing.T) {
	t.Run("forged", func(t *testing.T) {
		c := newConsole(t, true)
		b := c.browser(t)
		cb := c.startLogin(t, b)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", randomToken())
		u.RawQuery = q.Encode()
		res, body := get(t, b, u.String())
		c.refused(t, b, res, body, http.StatusBadRequest, "not started here")
	})
	t.Run("missing", func(t *testing.T) {
		c := newConsole(t, true)
		b := c.browser(t)
		cb := c.startLogin(t, b)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Del("state")
		u.RawQuery = q.Encode()
		res, body := get(t, b, u.String())
		c.refused(t, b, res, body, http.StatusBadRequest, "not started here")
	})
	t.Run("replayed", func(t *testing.T) {
		c := newConsole(t, true)
		b := c.browser(t)
		cb := c.startLogin(t, b)
		res, body := get(t, b, cb)
		if _, body = c.moveOn(t, b, res, body); !strings.Contains(body, tech) {
			t.Fatalf("first use: %s", body)
		}
		// A second browser that started a sign-in of its own replays the
		// first one's callback.
		b2 := c.browser(t)
		c.startLogin(t, b2)
		res, body = get(t, b2, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not started here") {
			t.Errorf("replayed callback: %d %s", res.StatusCode, body)
		}
		if c.sessionOf(t, b2) != "" {
			t.Error("the replay signed the second browser in")
		}
	})
	t.Run("another browser", func(t *testing.T) {
		// Login CSRF: an attacker starts a sign-in, and has the victim's
		// browser complete it.
		c := newConsole(t, true)
		cb := c.startLogin(t, c.browser(t))
		victim := c.browser(t)
		res, body := get(t, victim, cb)
		c.refused(t, victim, res, body, http.StatusBadRequest, "not started here")
	})
	t.Run("expired", func(t *testing.T) {
		c := newConsole(t, true)
		b := c.browser(t)
		cb := c.startLogin(t, b)
		c.clock.Advance(loginTTL + time.Second)
		res, body := get(t, b, cb)
		c.refused(t, b, res, body, http.StatusBadRequest, "took too long")
	})
	t.Run("two tabs", func(t *testing.T) {
		c := newConsole(t, true)
		b := c.browser(t)
		first, second := c.startLogin(t, b), c.startLogin(t, b)
		for _, cb := range []string{second, first} {
			res, body := get(t, b, cb)
			if _, body = c.moveOn(t, b, res, body); !strings.Contains(body, tech) {
				t.Errorf("%s: %s", cb, body)
			}
		}
	})
}

func TestOIDCUsernameClaim(t *testing.T) {
	c := newConsole(t, true, func(cfg *Config) { cfg.OIDC.UsernameClaim = "upn" })
	c.prov.SetUser("someone@elsewhere.example", "Bob")
	c.prov.SetClaims(func(m map[string]any) { m["upn"] = admin })
	b := c.browser(t)
	_, page, body := c.signInOIDC(t, b, Prefix+"/test/whoami")
	if page.StatusCode != http.StatusOK || body != "GET "+admin+" tenant_admin [contoso]" {
		t.Errorf("signed in as %d %q, want the upn claim's user", page.StatusCode, body)
	}
}

func TestOIDCNextStaysLocal(t *testing.T) {
	for _, next := range []string{"//evil.example", "https://evil.example/", "/console/../x", "/console/%2e%2e/x"} {
		t.Run(next, func(t *testing.T) {
			c := newConsole(t, true)
			b := c.browser(t)
			res, body := get(t, b, c.ts.URL+Prefix+"/login?next="+url.QueryEscape(next))
			m := refresh.FindStringSubmatch(body)
			if res.StatusCode != http.StatusOK || m == nil || m[1] != Prefix+"/" {
				t.Errorf("moves on to %v (%d), want %s/", m, res.StatusCode, Prefix)
			}
		})
	}
}

// flaky fails every request while down is set, as a provider that cannot
// be reached.
type flaky struct {
	down atomic.Bool
	next http.RoundTripper
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.next.RoundTrip(r)
}

func TestOIDCProviderDown(t *testing.T) {
	f := &flaky{next: http.DefaultTransport}
	f.down.Store(true)
	// New does not reach the provider: it builds while it is down.
	c := newConsole(t, true, func(cfg *Config) { cfg.OIDC.HTTPClient = &http.Client{Transport: f} })
	b := c.browser(t)
	res, body := get(t, b, c.ts.URL+Prefix+"/test/whoami")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be reached") {
		t.Errorf("provider down: %d %s", res.StatusCode, body)
	}
	if !strings.Contains(body, `href="/console/login?start=1&amp;next=%2fconsole%2ftest%2fwhoami"`) {
		t.Errorf("the sign-in page offers no retry towards the page: %s", body)
	}
	// The next sign-in discovers it.
	f.down.Store(false)
	if _, _, body := c.signInOIDC(t, b, Prefix+"/test/whoami"); !strings.Contains(body, tech) {
		t.Errorf("after the provider is back: %s", body)
	}
}

func TestNewOIDCConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  OIDC
		ok   bool
	}{
		{"complete", OIDC{Issuer: "https://login.example/", ClientID: "c", RedirectURL: "https://console.example/console/callback"}, true},
		{"no issuer", OIDC{ClientID: "c", RedirectURL: "https://console.example/console/callback"}, false},
		{"no client", OIDC{Issuer: "https://login.example/", RedirectURL: "https://console.example/console/callback"}, false},
		{"another redirect", OIDC{Issuer: "https://login.example/", ClientID: "c", RedirectURL: "https://console.example/cb"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newOIDC(tc.cfg); (err == nil) != tc.ok {
				t.Errorf("newOIDC: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestOIDCVerifiedEmail(t *testing.T) {
	for _, verified := range []any{true, "true", nil} {
		c := newConsole(t, true)
		c.prov.SetClaims(func(m map[string]any) {
			delete(m, "preferred_username")
			m["email"] = tech
			if verified != nil {
				m["email_verified"] = verified
			} else {
				delete(m, "email_verified")
			}
		})
		_, page, body := c.signInOIDC(t, c.browser(t), Prefix+"/test/whoami")
		if page.StatusCode != http.StatusOK || !strings.HasPrefix(body, "GET "+tech+" ") {
			t.Errorf("email_verified %v: %d %q, want signed in by the email", verified, page.StatusCode, body)
		}
	}
}

// An anonymous flood of sign-ins started (a GET of /console/login costs
// nothing) does not push out a sign-in in progress: its state proves
// itself with the browser's binding, and nothing the flood fills decides it.
func TestOIDCLoginFlood(t *testing.T) {
	c := newConsole(t, true)
	b := c.browser(t)
	cb := c.startLogin(t, b)
	h := c.s.Handler()
	for range 4 * maxLogins {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix+"/login", nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("login: %d", rec.Code)
		}
	}
	res, body := get(t, b, cb)
	if res.StatusCode != http.StatusOK || c.sessionOf(t, b) == "" {
		t.Fatalf("after a flood of sign-ins, the one in progress: %d %s", res.StatusCode, body)
	}
	// What is kept stays bounded.
	c.s.oidc.mu.Lock()
	n, m := len(c.s.oidc.nexts), len(c.s.oidc.spent)
	c.s.oidc.mu.Unlock()
	if n > maxLogins || m > maxLogins {
		t.Errorf("kept %d pages to go on to and %d spent states, want at most %d each", n, m, maxLogins)
	}
}
