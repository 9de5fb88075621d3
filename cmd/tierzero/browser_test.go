package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tierzero/tierzero/bot/slack/fake"
)

// browserShots writes the screenshots of docs/console/ when set:
//
//	go test ./cmd/tierzero -run Browser -browser.shots
var browserShots = flag.Bool("browser.shots", false, "write the console's screenshots to docs/console/")

// startBrowser starts one headless Chromium for the test and returns a
// context for its first tab. A missing Chromium fails the test: the
// browser tests are part of the suite, not optional (.ci/run installs
// Debian's chromium).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := chromium()
	if err != nil {
		t.Fatalf("the browser tests need Chromium (Debian: apt-get install chromium; .ci/run installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		// Nothing but loopback: no background requests to Google.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
		// A loaded 2-core machine (the whole suite at once) can take
		// longer than chromedp's 20 s to print the DevTools address.
		chromedp.WSURLReadTimeout(60 * time.Second),
	}
	// Chromium has been seen to exit at start, once, with the whole suite
	// running beside it: a start is tried three times, each in a fresh
	// profile, and every failure is reported.
	var errs []error
	for range 3 {
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, chromedp.UserDataDir(t.TempDir()))...)
		ctx, cancel := chromedp.NewContext(actx)
		err := chromedp.Do(ctx, chromedp.Navigate("about:blank"))
		if err == nil {
			t.Cleanup(func() { cancel(); cancelAlloc() })
			return ctx
		}
		cancel()
		cancelAlloc()
		errs = append(errs, err)
		t.Logf("start chromium %s: %v", path, err)
	}
	t.Fatalf("start chromium %s, 3 times: %v", path, errors.Join(errs...))
	return nil
}

// TestBrowser drives the web console in headless Chromium against a real
// serve (one browser and one server for every subtest, in order: later
// subtests build on what earlier ones did).
func TestBrowser(t *testing.T) {
	w := startConsoleWorld(t)
	ctx := startBrowser(t)
	b := &browser{t: t, ctx: ctx, w: w}
	b.acceptDialogs()
	b.watchConsole()

	// Adele (contoso) got a new phone and lost her authenticator; so did
	// Zoe (fabrikam). Each request waits for the requester's manager.
	w.slackDM(t, "UADELE", "I got a new phone and lost my authenticator")
	w.slackDM(t, "UZOE", "I got a new phone and lost my authenticator")
	var adeleID, zoeID string
	waitUntil(t, "both approvals pending", func() bool {
		c, f := w.approvals(t, "contoso"), w.approvals(t, "fabrikam")
		if len(c) != 1 || len(f) != 1 {
			return false
		}
		adeleID, zoeID = strings.Fields(c[0])[0], strings.Fields(f[0])[0]
		return true
	})
	for tenant, id := range map[string]string{"contoso": adeleID, "fabrikam": zoeID} {
		if l := w.approvals(t, tenant); !strings.Contains(l[0], "pending") || !strings.Contains(l[0], "Temporary Access Pass") {
			t.Fatalf("%s: %q, want %s's TAP pending", tenant, l, id)
		}
	}
	// Zoe also needs her laptop's BitLocker recovery key: a tenant admin
	// of fabrikam or a technician may approve that, not contoso's admins.
	w.slackDM(t, "UZOE", "My laptop is stuck on the BitLocker recovery screen, I need the recovery key")
	var keyID, tapCode string
	waitUntil(t, "the BitLocker key's approval", func() bool {
		for _, l := range w.approvals(t, "fabrikam") {
			if strings.Contains(l, "pending") && strings.Contains(strings.ToLower(l), "bitlocker") {
				keyID = strings.Fields(l)[0]
				return true
			}
		}
		return false
	})

	t.Run("sign in through the OpenID Connect provider", func(t *testing.T) {
		b.t = t
		tokens := w.idp.Tokens()
		b.signIn(technician, "Tess Nguyen", "/console/approvals")
		if got := w.idp.Tokens(); got != tokens+1 {
			t.Errorf("the provider issued %d ID tokens, want 1", got-tokens)
		}
		if who := b.text("header .who"); !strings.Contains(who, "Tess Nguyen") || !strings.Contains(who, "technician") {
			t.Errorf("header says %q, want Tess Nguyen, technician", who)
		}
		// The session cookie: Secure (Chromium keeps it on http
		// loopback), HttpOnly, SameSite=Strict, for the console only.
		c := b.cookie("tierzero_console")
		if c == nil || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/console/" {
			t.Fatalf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict, path /console/", c)
		}
		if js := b.eval(`document.cookie`); strings.Contains(js, "tierzero_console") {
			t.Errorf("script sees the session cookie: %q", js)
		}
		// The browser enforces the console's CSP: an inline style is
		// refused (and reported, which the last subtest relies on).
		if ps := b.problems(); len(ps) > 0 {
			t.Errorf("the console wrote problems: %q", ps)
		}
		b.eval(`document.body.setAttribute('style', 'outline: 3px solid red'), ""`)
		var reports []string
		waitUntil(t, "the browser to refuse an inline style", func() bool {
			reports = append(reports, b.problems()...)
			return len(reports) > 0
		})
		if !strings.Contains(reports[0], "Content Security Policy") {
			t.Errorf("the inline style: %q, want a Content Security Policy violation", reports)
		}
	})

	t.Run("the manager approves the TAP from the approvals page", func(t *testing.T) {
		b.t = t
		posted := len(w.slack.Messages())
		b.signIn(tapManager, "Miriam Graham", "/console/approvals")
		body := b.text("main")
		if !strings.Contains(body, adeleID) || strings.Contains(body, zoeID) {
			t.Fatalf("Miriam's approvals page: want Adele's request %s only:\n%s", adeleID, body)
		}
		b.shot("approvals", "")
		b.phoneShot("approvals-phone")
		// Exactly what will run is on the page.
		if args := b.text("#ap-" + adeleID + " ~ pre.approval-args"); !strings.Contains(args, tapEmployee) {
			t.Errorf("the request shows arguments %q, want Adele's UPN", args)
		}
		if n := w.taps("contoso"); n != 0 {
			t.Fatalf("%d TAPs before the approval", n)
		}
		approve := `section[aria-labelledby="ap-` + adeleID + `"] button[value="approve"]`
		// The page asks first; answered no, nothing is sent.
		b.asked()
		b.mu.Lock()
		b.refuseDialogs = true
		b.mu.Unlock()
		b.do("approve, then say no", chromedp.Click(chromedp.CSS(approve), chromedp.NodeVisible))
		waitUntil(t, "the question", func() bool {
			if q := b.asked(); len(q) > 0 {
				if len(q) != 1 || !strings.Contains(q[0], "Approve this request in contoso?") {
					t.Errorf("asked %q, want one question naming contoso", q)
				}
				return true
			}
			return false
		})
		b.mu.Lock()
		b.refuseDialogs = false
		b.mu.Unlock()
		time.Sleep(300 * time.Millisecond) // what a submitted form would take to arrive
		if st := w.approvalState(t, "contoso", adeleID); st != "pending" || w.taps("contoso") != 0 {
			t.Fatalf("after answering no: the approval is %s, %d TAPs", st, w.taps("contoso"))
		}
		b.click(approve)
		if q := b.asked(); len(q) != 1 {
			t.Errorf("approving asked %q, want one question", q)
		}
		if loc := b.location(); !strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], "/console/approvals") {
			t.Fatalf("after approving: at %s, want the approvals page", loc)
		}
		waitUntil(t, "the TAP", func() bool { return w.taps("contoso") >= 1 })
		waitUntil(t, "Adele hears back", func() bool {
			for _, m := range w.slack.Messages()[posted:] {
				if m.Channel == fake.IM("UADELE") && strings.Contains(m.Text, "Temporary Access Pass") {
					return true
				}
			}
			return false
		})
		// The decision redirected to the approvals page, which says so
		// (a reload does not post again); the approval has left the list.
		b.do("reload", chromedp.Reload())
		if flash := b.text("main"); !strings.Contains(flash, "You approved "+adeleID) {
			t.Errorf("after approving, the page says:\n%s", flash)
		}
		if listed := b.eval(`String(!!document.getElementById("ap-` + adeleID + `"))`); listed != "false" {
			t.Error("the approved request is still listed")
		}
		time.Sleep(300 * time.Millisecond)
		if n := w.taps("contoso"); n != 1 {
			t.Fatalf("%d TAPs issued, want exactly 1: %+v", n, w.sim.Journal("contoso"))
		}
		if l := w.approvals(t, "contoso"); !strings.Contains(l[0], "executed") {
			t.Errorf("contoso approvals %q, want executed", l)
		}
		// Adele heard back in Slack: the pass privately, once, and that
		// her manager approved it.
		var passes, approved int
		for _, m := range w.slack.Messages()[posted:] {
			switch {
			case m.Channel != fake.IM("UADELE"):
			case strings.Contains(m.Text, "Your Temporary Access Pass") && strings.Contains(m.Text, "`"):
				passes++
				tapCode = strings.Split(m.Text, "`")[1]
			case strings.Contains(m.Text, tapManager+" approved your request"):
				approved++
			}
		}
		if passes != 1 || approved != 1 {
			t.Errorf("Adele got %d passes and %d approval notes in Slack, want 1 and 1: %+v", passes, approved, w.slack.Messages()[posted:])
		}
	})

	t.Run("a contoso admin cannot see or decide fabrikam's", func(t *testing.T) {
		b.t = t
		b.signIn(admin, "Megan Bowen", "/console/approvals")
		if body := b.text("main"); strings.Contains(body, keyID) || strings.Contains(body, zoeID) || strings.Contains(body, fabrikamEmployee) {
			t.Fatalf("Megan's approvals page shows fabrikam's requests:\n%s", body)
		}
		// Asking for fabrikam's pages by name is refused; the pages
		// without a tenant filter show only contoso's.
		for _, tt := range []struct {
			path   string
			status int64
		}{
			{"/console/audit?tenant=fabrikam", http.StatusForbidden},
			{"/console/audit/export?tenant=fabrikam", http.StatusForbidden},
			{"/console/conversations?tenant=fabrikam", http.StatusForbidden},
			{"/console/report?tenant=fabrikam", http.StatusForbidden},
			{"/console/approvals?tenant=fabrikam", http.StatusOK},
			{"/console/tenants?tenant=fabrikam", http.StatusOK},
		} {
			status := b.navigate(tt.path)
			body := b.text("body")
			if status != tt.status || strings.Contains(body, "fabrikam.com") || strings.Contains(body, "Zoe") ||
				status == http.StatusOK && strings.Contains(body, "fabrikam") {
				t.Errorf("%s: %d, want %d without fabrikam's data:\n%.300s", tt.path, status, tt.status, body)
			}
		}
		// A request forged from the page, with Megan's own valid CSRF
		// token, naming fabrikam's approval: refused, whether it names
		// fabrikam or her own tenant, and nothing is decided.
		b.navigate("/console/approvals")
		for _, tenant := range []string{"fabrikam", "contoso"} {
			status := b.post("/console/approvals/decide", map[string]string{
				"csrf": b.eval(`document.querySelector('input[name=csrf]').value`), "tenant": tenant, "id": keyID, "decision": "approve",
			})
			switch tenant {
			case "fabrikam": // not her tenant: refused before the desk
				if status != http.StatusForbidden {
					t.Errorf("forged decision naming fabrikam: %d, want 403:\n%.300s", status, b.text("body"))
				}
			case "contoso": // her tenant: the desk finds no such approval there
				if msg := b.text("main"); status != http.StatusOK || !strings.Contains(msg, "no approval "+keyID+" in this tenant") {
					t.Errorf("forged decision naming contoso: %d, want the approvals page saying so:\n%.500s", status, msg)
				}
			}
			b.navigate("/console/approvals")
		}
		if st := w.approvalState(t, "fabrikam", keyID); st != "pending" {
			t.Fatalf("fabrikam's approval is %s after the forgeries, want pending", st)
		}
	})

	t.Run("fabrikam's admin sees fabrikam's", func(t *testing.T) {
		b.t = t
		b.signIn(fabrikamAdmin, "Tara Ellis", "/console/approvals")
		if body := b.text("main"); !strings.Contains(body, keyID) || strings.Contains(body, adeleID) {
			t.Fatalf("Tara's approvals page: want fabrikam's BitLocker request %s and nothing of contoso:\n%s", keyID, body)
		}
		if status := b.navigate("/console/audit?tenant=contoso"); status != http.StatusForbidden {
			t.Errorf("Tara asks for contoso's audit: %d, want 403", status)
		}
	})

	t.Run("a form without a valid CSRF token is refused", func(t *testing.T) {
		b.t = t
		b.signIn(technician, "Tess Nguyen", "/console/approvals")
		form := `section[aria-labelledby="ap-` + keyID + `"] form.decide`
		if body := b.text(form + " ~ *, main"); !strings.Contains(body, keyID) {
			t.Fatalf("Tess's approvals page lacks fabrikam's BitLocker request %s:\n%s", keyID, body)
		}
		for _, token := range []string{"forged-token", ""} {
			b.eval(`document.querySelector(` + strconv.Quote(form+` input[name=csrf]`) + `).value = ` + strconv.Quote(token) + `, ""`)
			status := b.click(form + ` button[value="approve"]`)
			if status != http.StatusForbidden {
				t.Errorf("approve with csrf %q: %d, want 403", token, status)
			}
			b.navigate("/console/approvals")
		}
		if st := w.approvalState(t, "fabrikam", keyID); st != "pending" {
			t.Fatalf("the approval is %s after the tampered forms, want pending", st)
		}
		// The same form untouched is accepted: the refusal was the token.
		b.click(form + ` button[value="deny"]`)
		waitUntil(t, "the denial", func() bool { return w.approvalState(t, "fabrikam", keyID) == "denied" })
	})

	t.Run("the report page renders its charts", func(t *testing.T) {
		b.t = t
		b.signIn(technician, "Tess Nguyen", "/console/report")
		charts := b.charts()
		if len(charts) < 3 {
			t.Fatalf("%d charts on the report page, want outcomes, tiers and tenants at least: %+v", len(charts), charts)
		}
		wantLabels(t, charts, "L1", "L2", "contoso", "fabrikam")
		wantFigures(t, b.figures())
		for _, c := range charts {
			// Readable without colour: every bar has its label and its
			// figure in text, and the fills are patterns.
			if c.Title == "" || c.Width < 100 || c.Bars == 0 || len(c.Labels) < c.Bars || c.Patterns == 0 {
				t.Errorf("chart %+v: want a title, a drawn width, labelled bars and patterned fills", c)
			}
		}
		b.shot("report", "")
	})

	t.Run("every page, as a technician", func(t *testing.T) {
		b.t = t
		if status := b.navigate("/console/conversations"); status != http.StatusOK {
			t.Fatalf("conversations: %d: %s", status, b.text("body"))
		}
		if body := b.text("main"); !strings.Contains(body, tapEmployee) || !strings.Contains(body, fabrikamEmployee) {
			t.Errorf("conversations lack Adele's and Zoe's:\n%s", body)
		}
		b.shot("conversations", "")
		// Adele's transcript tells what was checked, tried and decided;
		// the pass itself went to her privately, and appears nowhere here.
		if len(tapCode) < 8 {
			t.Fatalf("no Temporary Access Pass seen in Slack (%q)", tapCode)
		}
		noSecret := func(where string) {
			t.Helper()
			if body := b.text("body"); strings.Contains(body, tapCode) {
				t.Errorf("%s shows the Temporary Access Pass", where)
			}
		}
		b.click(`table.conversations tbody tr a[href*="` + contosoTeam + `"]`)
		body := b.text("main")
		for _, want := range []string{"I got a new phone and lost my authenticator", "user.issue_tap", "self-issue-tap", tapManager} {
			if !strings.Contains(body, want) {
				t.Errorf("Adele's transcript lacks %q:\n%.3000s", want, body)
			}
		}
		noSecret("Adele's transcript")
		b.shot("conversation", "viewport")
		b.navigate("/console/audit?tenant=contoso")
		if body := b.text("main"); !strings.Contains(body, "user.issue_tap") {
			t.Errorf("contoso's audit lacks the TAP:\n%.2000s", body)
		}
		noSecret("contoso's audit")
		// The export is a download: fetch it as the page would.
		export := b.eval(`fetch('/console/audit/export?tenant=contoso').then(r => r.text())`)
		if !strings.Contains(export, `"user.issue_tap"`) {
			t.Errorf("contoso's audit export lacks the TAP:\n%.2000s", export)
		}
		if strings.Contains(export, tapCode) {
			t.Error("contoso's audit export holds the Temporary Access Pass")
		}
		b.shot("audit", "")
		b.navigate("/console/tenants")
		b.do("open the policy check", chromedp.Click(chromedp.CSS(`#tenant-contoso details.policy-check summary`)))
		b.click(`#tenant-contoso form[action^="/console/tenants/check"] button[type=submit]`)
		if d := b.text("#tenant-contoso .check-decision"); !strings.Contains(d, "Decision:") {
			t.Errorf("the policy check shows no decision: %q", d)
		}
		b.shot("tenants", "")
		b.navigate("/console/operations")
		b.do("compose a sign-out in two tenants",
			chromedp.Click(chromedp.CSS(`input[name=kind][value=signout]`)),
			chromedp.Click(chromedp.CSS(`input[name=tenant][value=contoso]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=users_contoso]`), other),
			chromedp.Click(chromedp.CSS(`input[name=tenant][value=fabrikam]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=users_fabrikam]`), "ben.walters@fabrikam.com"),
		)
		b.click(`form.compose button[type=submit]`)
		if body := b.text("main"); !strings.Contains(body, other) || !strings.Contains(body, "ben.walters@fabrikam.com") {
			t.Errorf("the plan does not name both users:\n%.2000s", body)
		}
		b.shot("operations", "")
		// On a phone no page scrolls sideways (wide tables scroll in
		// their own box).
		b.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		for _, p := range []string{"/console/approvals", "/console/conversations", "/console/audit?tenant=contoso", "/console/tenants", "/console/operations", "/console/report"} {
			b.navigate(p)
			if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
				t.Errorf("%s at 390 pixels is %s wide: it scrolls sideways", p, w)
			}
		}
		b.do("laptop width", chromedp.EmulateReset(), chromedp.EmulateViewport(1280, 900))
		b.navigate("/console/approvals")
		b.click(`form.who button[type=submit]`)
		if body := b.text("main"); !strings.Contains(body, "signed out") {
			t.Errorf("after signing out: %q", body)
		}
		b.shot("signin", "")
		// No page of the tour broke a rule of the CSP or threw.
		if ps := b.problems(); len(ps) > 0 {
			t.Errorf("the pages wrote problems to the console:\n%s", strings.Join(ps, "\n"))
		}
		if status := b.navigate("/console/approvals"); !strings.HasPrefix(b.location(), w.idp.Issuer) && status != http.StatusOK {
			t.Errorf("signed out, /console/approvals: %d at %s", status, b.location())
		}
	})

	t.Run("a one-time link signs in once", func(t *testing.T) {
		b.t = t
		env := func(k string) string {
			if k == "TIERZERO_ADMIN_SOCKET" {
				return w.socket
			}
			return ""
		}
		r := run(t, env, "", "console", "link", tapManager, "--data", w.data)
		link := strings.TrimSpace(r.stdout)
		if r.code != 0 || !strings.HasPrefix(link, w.base+"/console/once?token=") {
			t.Fatalf("console link exited %d: %q %s", r.code, link, r.stderr)
		}
		b.clearCookies()
		tokens := w.idp.Tokens()
		// Opening the link shows whom it signs in as and spends nothing
		// (a chat client's preview opens it too); its button signs in.
		for range 2 {
			if status := b.navigate(strings.TrimPrefix(link, w.base)); status != http.StatusOK || !strings.Contains(b.text("main"), "Sign in as "+tapManager) {
				t.Fatalf("the link's page: %d %q", status, b.text("main"))
			}
		}
		if c := b.cookie("tierzero_console"); c != nil {
			t.Errorf("opening the link set a session cookie %+v", c)
		}
		b.click(`main form[action="/console/once"] button`)
		// The location changes before the new document is parsed: wait
		// for its header too (CI once read the header of no document).
		const signedInAs = `(document.querySelector('header .who span') || {}).title || ''`
		waitUntil(t, "the link to reach the console", func() bool {
			return strings.HasPrefix(b.location(), w.base+"/console/approvals") && b.evalNow(signedInAs) != ""
		})
		if who := b.eval(signedInAs); who != tapManager {
			t.Errorf("signed in by the link as %q, want %s", who, tapManager)
		}
		if w.idp.Tokens() != tokens {
			t.Error("the one-time link went through the OpenID Connect provider")
		}
		b.clearCookies()
		if status := b.navigate(strings.TrimPrefix(link, w.base)); status != http.StatusForbidden {
			t.Errorf("the link opened again: %d, want 403", status)
		}
		if c := b.cookie("tierzero_console"); c != nil {
			t.Errorf("the spent link set a session cookie %+v", c)
		}
	})

	t.Run("the HTML report opens in the browser", func(t *testing.T) {
		b.t = t
		w.stop(t) // the report reads the tenants' files, which serve holds
		file := filepath.Join(t.TempDir(), "report.html")
		env := func(k string) string { return w.vars[k] }
		if r := run(t, env, "", "report", "--config", w.config, "--data", w.data, "--html", file); r.code != 0 {
			t.Fatalf("report --html exited %d: %s", r.code, r.stderr)
		}
		b.do("open the report", chromedp.Navigate("file://"+file))
		if body := b.text("body"); !strings.Contains(body, "Resolved end to end") {
			t.Errorf("the HTML report lacks its figures:\n%.1000s", body)
		}
		wantFigures(t, b.figures())
		charts := b.charts()
		if len(charts) < 3 {
			t.Fatalf("%d charts in the HTML report, want outcomes, tiers and tenants at least", len(charts))
		}
		wantLabels(t, charts, "L1", "L2", "contoso", "fabrikam")
		for _, c := range charts {
			if c.Title == "" || c.Width < 100 || c.Bars == 0 || c.Patterns == 0 {
				t.Errorf("chart %+v: want a title, a drawn width, bars and patterned fills", c)
			}
		}
		b.shot("report-file", "viewport")
	})
}

// wantFigures checks the report's headline figures against what the test
// did: three requests (Adele's TAP, approved and issued; Zoe's TAP,
// pending; Zoe's BitLocker key, denied), one resolved end to end.
func wantFigures(t *testing.T, figures map[string]string) {
	t.Helper()
	for label, want := range map[string]string{"Requests": "3", "Resolved end to end": "33.3%", "Pending approval": "1", "Escalated": "0"} {
		if got := figures[label]; got != want {
			t.Errorf("figure %q = %q, want %q (all: %q)", label, got, want, figures)
		}
	}
}

// wantLabels checks that the charts' text names each label.
func wantLabels(t *testing.T, charts []chart, labels ...string) {
	t.Helper()
	var all []string
	for _, c := range charts {
		all = append(all, c.Labels...)
	}
	text := strings.Join(all, "\n")
	for _, l := range labels {
		if !strings.Contains(text, l) {
			t.Errorf("no chart names %q; their text: %q", l, all)
		}
	}
}
