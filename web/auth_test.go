package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestOneTimeLink(t *testing.T) {
	c := newConsole(t, false)
	t.Run("works once", func(t *testing.T) {
		link, ok := c.s.OneTimeLink(admin)
		if !ok {
			t.Fatal("no link for a tenant admin")
		}
		b := c.browser(t)
		// Opening the link (a chat client's preview does too) shows whom
		// it signs in as, and spends nothing.
		for range 2 {
			res, body := get(t, b, c.ts.URL+link)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in as "+admin) || c.sessionOf(t, b) != "" {
				t.Fatalf("the link's page: %d %s", res.StatusCode, body)
			}
		}
		res, body := c.openOnce(t, b, link)
		if m := refresh.FindStringSubmatch(body); res.StatusCode != http.StatusOK || m == nil || m[1] != Prefix+"/" {
			t.Fatalf("link: %d %s", res.StatusCode, body)
		}
		if strings.Contains(body, "<script") {
			t.Errorf("the continue page has a script: %s", body)
		}
		res, body = get(t, b, c.ts.URL+Prefix+"/test/whoami")
		if res.StatusCode != http.StatusOK || body != "GET "+admin+" tenant_admin [contoso]" {
			t.Errorf("signed in as %d %q", res.StatusCode, body)
		}
		other := c.browser(t)
		res, body = get(t, other, c.ts.URL+link)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "used already or has expired") || c.sessionOf(t, other) != "" {
			t.Errorf("second use: %d %s", res.StatusCode, body)
		}
		res, body = post(t, other, c.ts.URL+Prefix+"/once", url.Values{"token": {strings.TrimPrefix(link, Prefix+"/once?token=")}}, nil)
		if res.StatusCode != http.StatusForbidden || c.sessionOf(t, other) != "" {
			t.Errorf("second use, posted: %d %s", res.StatusCode, body)
		}
	})
	t.Run("not from another site", func(t *testing.T) {
		// Mallory's own link, posted to Alice's browser from Mallory's
		// site, would sign Alice in as Mallory.
		link, _ := c.s.OneTimeLink(admin)
		tok := strings.TrimPrefix(link, Prefix+"/once?token=")
		for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
			b := c.browser(t)
			res, body := post(t, b, c.ts.URL+Prefix+"/once", url.Values{"token": {tok}}, h)
			if res.StatusCode != http.StatusForbidden || c.sessionOf(t, b) != "" {
				t.Errorf("posted with %v: %d %s", h, res.StatusCode, body)
			}
		}
		// Refused, the link is not spent.
		if res, _ := c.openOnce(t, c.browser(t), link); res.StatusCode != http.StatusOK {
			t.Errorf("the link after the refused posts: %d", res.StatusCode)
		}
	})
	t.Run("expires", func(t *testing.T) {
		link, _ := c.s.OneTimeLink(tech)
		c.clock.Advance(oneTimeTTL + time.Second)
		b := c.browser(t)
		res, body := get(t, b, c.ts.URL+link)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "used already or has expired") || c.sessionOf(t, b) != "" {
			t.Errorf("expired link: %d %s", res.StatusCode, body)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		if link, ok := c.s.OneTimeLink("mallory@contoso.example"); ok || link != "" {
			t.Errorf("a link for someone neither technician nor admin: %q", link)
		}
	})
	t.Run("no token", func(t *testing.T) {
		b := c.browser(t)
		for _, q := range []string{"", "?token=", "?token=" + randomToken()} {
			res, _ := get(t, b, c.ts.URL+Prefix+"/once"+q)
			if res.StatusCode != http.StatusForbidden || c.sessionOf(t, b) != "" {
				t.Errorf("once%s: %d", q, res.StatusCode)
			}
		}
	})
}

func TestSignInPage(t *testing.T) {
	t.Run("without OIDC", func(t *testing.T) {
		c := newConsole(t, false)
		res, body := get(t, c.browser(t), c.ts.URL+Prefix+"/test/whoami")
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != Prefix+"/login" || !strings.Contains(body, "one-time sign-in link") {
			t.Errorf("anonymous page: %d at %s: %s", res.StatusCode, res.Request.URL, body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("refused sign-in offers to start again", func(t *testing.T) {
		c := newConsole(t, true)
		res, body := get(t, c.browser(t), c.ts.URL+Prefix+"/callback?state=x&code=y")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `href="/console/login?start=1"`) {
			t.Errorf("refused: %d %s", res.StatusCode, body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("no flash from the link", func(t *testing.T) {
		c := newConsole(t, false)
		res, body := get(t, c.browser(t), c.ts.URL+Prefix+"/login?flash=Your+account+is+locked,+call+555-0100")
		if res.StatusCode != http.StatusOK || strings.Contains(body, "555-0100") {
			t.Errorf("sign-in page shows the link's flash: %d %s", res.StatusCode, body)
		}
	})
	t.Run("signed in already", func(t *testing.T) {
		c := newConsole(t, true)
		b := c.browser(t)
		c.signInOIDC(t, b, Prefix+"/test/whoami")
		res, _ := get(t, noFollow(b), c.ts.URL+Prefix+"/login?next=%2Fconsole%2Ftest%2Fwhoami")
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != Prefix+"/test/whoami" || c.prov.Tokens() != 1 {
			t.Errorf("login when signed in: %d to %q after %d tokens, want straight to next", res.StatusCode, res.Header.Get("Location"), c.prov.Tokens())
		}
	})
}

// A viewer always has a name to show: the provider's, the configuration's,
// else their user name (a one-time link knows no display name).
func TestViewerName(t *testing.T) {
	c := newConsole(t, false)
	for _, tc := range []struct{ upn, name, want string }{
		{admin, "", admin},
		{admin, "Megan Bowen", "Megan Bowen"},
	} {
		if v, ok := c.s.viewerOf(tc.upn, tc.name); !ok || v.Name != tc.want {
			t.Errorf("viewerOf(%q, %q): %v %q, want %q", tc.upn, tc.name, ok, v.Name, tc.want)
		}
	}
	if v, ok := c.s.viewerOf(tech, ""); !ok || v.Name == "" {
		t.Errorf("a technician has no name: %+v", v)
	}
}
