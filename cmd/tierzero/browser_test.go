package main

import (
	"context"
	"flag"
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
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// TestBrowser drives the web console in headless Chromium against a real
// serve (one browser and one server for every subtest, in order: later
// subtests build on what earlier ones did).
func TestBrowser(t *testing.T) {
	w := startConsoleWorld(t)
	ctx := startBrowser(t)
	b := &browser{t: t, ctx: ctx, w: w}
	b.acceptDialogs()

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
	})

	t.Run("the manager approves the TAP from the approvals page", func(t *testing.T) {
		b.t = t
		posted := len(w.slack.Messages())
		b.signIn(tapManager, "Miriam Graham", "/console/approvals")
		body := b.text("main")
		if !strings.Contains(body, adeleID) || strings.Contains(body, zoeID) {
			t.Fatalf("Miriam's approvals page: want Adele's request %s only:\n%s", adeleID, body)
		}
		b.shot("approvals", "main")
		// Exactly what will run is on the page.
		if args := b.text("#ap-" + adeleID + " ~ pre.approval-args"); !strings.Contains(args, tapEmployee) {
			t.Errorf("the request shows arguments %q, want Adele's UPN", args)
		}
		if n := w.taps("contoso"); n != 0 {
			t.Fatalf("%d TAPs before the approval", n)
		}
		b.click(`section[aria-labelledby="ap-` + adeleID + `"] button[value="approve"]`)
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
		// Reloading the page (and its redirect after the POST) does not
		// decide again; the approval left the list.
		b.navigate("/console/approvals")
		if body := b.text("main"); strings.Contains(body, adeleID) {
			t.Errorf("the approved request is still listed:\n%s", body)
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
			case strings.Contains(m.Text, tapManager+" approved your request"):
				approved++
			}
		}
		if passes != 1 || approved != 1 {
			t.Errorf("Adele got %d passes and %d approval notes in Slack, want 1 and 1: %+v", passes, approved, w.slack.Messages()[posted:])
		}
	})
}
