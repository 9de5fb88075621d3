package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// card is the part of the tenants page about tenant t ("" when absent).
func card(body, t string) string {
	i := strings.Index(body, `<section class="card tenant" id="tenant-`+t+`">`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	return html.UnescapeString(rest)
}

func TestTenantsCards(t *testing.T) {
	c := newTrailConsole(t)
	adm := c.get(c.signIn(trailContosoAdmin), "/console/tenants").Body.String()
	if card(adm, "fabrikam") != "" || strings.Contains(adm, "fabrikam") {
		t.Errorf("a contoso admin sees fabrikam's card")
	}
	con := card(adm, "contoso")
	for _, w := range []string{
		`<span class="badge ok">working</span>`,
		"Entra ID P1</th><td>yes", "Entra ID P2</th><td>no",
		"Channels</th><td>teams",
		"Last activity</th><td>2026-11-27 09:21 UTC", // the technician's call, the trail's last record
		"<li>global: baseline.yaml (12 rules)</li><li>tenant: contoso.yaml (2 rules)</li>",
		`"tenant": "contoso"`, `"upn": "adele@contoso.com"`, // the example request, with the tenant's domain
	} {
		if !strings.Contains(con, w) {
			t.Errorf("contoso's card lacks %q:\n%s", w, con)
		}
	}
	all := c.get(c.signIn(trailTech), "/console/tenants").Body.String()
	if nw := card(all, "northwind"); !strings.Contains(nw, "Last activity</th><td>–") {
		t.Errorf("northwind, without data, has no activity:\n%s", nw)
	}
	fab := card(all, "fabrikam")
	for _, w := range []string{
		`<span class="badge bad">failing</span> AADSTS7000215: invalid client secret`,
		"Entra ID P1</th><td>unknown", "Channels</th><td>slack", "Last activity</th><td>2026-11-27 09:13 UTC",
	} {
		if !strings.Contains(fab, w) {
			t.Errorf("fabrikam's card lacks %q:\n%s", w, fab)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	c := newTrailConsole(t)
	admin := c.signIn(trailContosoAdmin)
	token := c.csrf(admin)
	check := func(tenant, request string) *http.Response {
		rec := c.post(admin, "/console/tenants/check", url.Values{"csrf": {token}, "tenant": {tenant}, "request": {request}})
		return rec.Result()
	}
	body := func(r *http.Response) string {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return html.UnescapeString(b.String())
	}

	t.Run("decides", func(t *testing.T) {
		r := check("contoso", `{"tenant": "contoso", "action": "user.reset_password"}`)
		got := card(body(r), "contoso")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		for _, w := range []string{`Decision: <span class="badge ok">allow</span>`, "Layer</th><td>global", "File</th><td>baseline.yaml",
			"Rule</th><td><code>self-reset-password</code>", "rule self-reset-password allows user.reset_password",
			"Facts used", "action</th><td>user.reset_password"} {
			if !strings.Contains(got, w) {
				t.Errorf("the decision lacks %q:\n%s", w, got)
			}
		}
	})
	t.Run("denies", func(t *testing.T) {
		got := card(body(check("contoso", "tenant: contoso\naction: device.wipe")), "contoso")
		if !strings.Contains(got, `<span class="badge bad">deny</span>`) || !strings.Contains(got, "no rule allows device.wipe") {
			t.Errorf("the decision:\n%s", got)
		}
	})
	t.Run("invalid request keeps what was typed", func(t *testing.T) {
		typed := `{"action": "user.reset_password", "note": "<b>mine</b>"}`
		r := check("contoso", typed)
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", r.StatusCode)
		}
		got := card(body(r), "contoso")
		if !strings.Contains(got, "request has no tenant or action") {
			t.Errorf("the parse error is not shown:\n%s", got)
		}
		if !strings.Contains(got, ">"+typed+"</textarea>") {
			t.Errorf("the textarea lost what was typed:\n%s", got)
		}
	})
	for _, tc := range []struct{ name, tenant, request string }{
		{"another tenant's card", "fabrikam", `{"tenant": "contoso", "action": "user.reset_password"}`},
		{"another tenant in the JSON request", "contoso", `{"tenant": "fabrikam", "action": "user.reset_password"}`},
		{"another tenant in the YAML request", "contoso", "tenant: fabrikam\naction: user.reset_password"},
		{"a tenant that does not exist", "contoso", `{"tenant": "nosuch", "action": "user.reset_password"}`},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			r := check(tc.tenant, tc.request)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.StatusCode)
			}
			if b := body(r); strings.Contains(b, "Decision:") || strings.Contains(b, "self-reset-password") {
				t.Errorf("a refused check shows a decision:\n%s", b)
			}
		})
	}
	t.Run("refuses a form without the CSRF token", func(t *testing.T) {
		rec := c.post(admin, "/console/tenants/check", url.Values{"tenant": {"contoso"}, "request": {`{"tenant": "contoso", "action": "user.reset_password"}`}})
		if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "Decision:") {
			t.Errorf("status %d:\n%s", rec.Code, rec.Body)
		}
	})
	t.Run("refuses a request too long", func(t *testing.T) {
		r := check("contoso", `{"tenant": "contoso", "action": "user.reset_password", "pad": "`+strings.Repeat("x", 40<<10)+`"}`)
		if r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", r.StatusCode)
		}
	})
}
