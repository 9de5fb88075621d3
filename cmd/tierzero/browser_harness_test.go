package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tierzero/tierzero/bot/slack/fake"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/web/oidctest"
)

// The web console's world for the browser tests: `tierzero serve` run
// through Main with a configuration file, on the Graph simulator (tenants
// contoso and fabrikam), with both tenants' Slack workspaces on a fake Slack
// Web API, the MSP's technician, each tenant's admins, and sign-in through a
// fake OpenID Connect provider, all on loopback.

const (
	consoleSigning   = "console-signing-secret"
	consoleOIDCID    = "tierzero-console"
	consoleOIDCKey   = "console-oidc-client-secret"
	contosoTeam      = "T0CONTOSO1"
	fabrikamTeam     = "T0FABRIK01"
	contosoBotToken  = "xoxb-contoso-console"
	fabrikamBotToken = "xoxb-fabrikam-console"

	technician = "tess@msp.example" // admitted to every tenant by policy
	// The employee asking for a Temporary Access Pass, and her manager,
	// who approves it: a tenant admin of contoso.
	tapEmployee = employee // adele.vance@contoso.com
	tapManager  = "miriam.graham@contoso.com"
	// fabrikam's: Zoe Clarke asks, Omar Haddad (her manager) would
	// approve, Tara Ellis is fabrikam's admin.
	fabrikamEmployee = "zoe.clarke@fabrikam.com"
	fabrikamManager  = "omar.haddad@fabrikam.com"
	fabrikamAdmin    = "tara.ellis@fabrikam.com"
)

// slackUsers are the people of both workspaces, by Slack user id.
var slackUsers = []fake.User{
	{ID: "UADELE", TeamID: contosoTeam, Email: tapEmployee, Name: "Adele Vance"},
	{ID: "UMIRIAM", TeamID: contosoTeam, Email: tapManager, Name: "Miriam Graham"},
	{ID: "UMEGAN", TeamID: contosoTeam, Email: admin, Name: "Megan Bowen"},
	{ID: "UZOE", TeamID: fabrikamTeam, Email: fabrikamEmployee, Name: "Zoe Clarke"},
	{ID: "UOMAR", TeamID: fabrikamTeam, Email: fabrikamManager, Name: "Omar Haddad"},
	{ID: "UTARA", TeamID: fabrikamTeam, Email: fabrikamAdmin, Name: "Tara Ellis"},
}

// consoleWorld is a running serve with its fakes.
type consoleWorld struct {
	base   string // http://127.0.0.1:PORT
	data   string
	config string
	socket string
	sim    *sim.Server
	graph  string // the simulator's base URL
	slack  *fake.Server
	idp    *oidctest.Provider
	logs   *syncWriter
	stderr *bytes.Buffer
	events atomic.Int64
	vars   map[string]string  // serve's environment
	stop   func(t *testing.T) // stops serve (once; the cleanup does it otherwise)
}

// startConsoleWorld runs serve and waits until it is ready. The test's
// cleanup stops it (an exit code other than 0 fails the test).
func startConsoleWorld(t *testing.T) *consoleWorld {
	t.Helper()
	w := &consoleWorld{sim: sim.New(sim.Options{}), stderr: &bytes.Buffer{}}
	w.logs = &syncWriter{w: w.stderr}
	gsrv := httptest.NewServer(w.sim)
	t.Cleanup(gsrv.Close)
	w.graph = gsrv.URL
	w.slack = fake.New()
	t.Cleanup(w.slack.Close)
	w.slack.AddBot(contosoBotToken, contosoTeam)
	w.slack.AddBot(fabrikamBotToken, fabrikamTeam)
	for _, u := range slackUsers {
		w.slack.AddUser(u)
	}
	addr := freeAddr(t)
	w.base = "http://" + addr
	w.idp = oidctest.New()
	t.Cleanup(w.idp.Close)
	w.idp.AddClient(consoleOIDCID, consoleOIDCKey, w.base+"/console/callback")

	w.data = t.TempDir()
	w.socket = filepath.Join(w.data, "admin.sock")
	w.config = filepath.Join(t.TempDir(), "tierzero.yaml")
	conf := fmt.Sprintf(`graph_url: %s/v1.0
serve: {addr: "%s", admin_socket: %s}
msp:
  tenant: msp
  technicians:
    - {upn: %s, name: Tess Nguyen}
slack:
  signing_secret_env: SLACK_SIGNING_SECRET
  api_url: %s
console:
  oidc:
    issuer: %s
    client_id: %s
    client_secret_env: CONSOLE_OIDC_SECRET
    redirect_url: %s/console/callback
report:
  minutes_per_category: {access: 20, mfa: 25}
  seat_price: 110
  technician_cost: 6500
  technician_hours: 120
  currency: EUR
tenants:
  contoso:
    auth: {method: simulator}
    admins: [%s, %s]
    slack: {team_id: %s, bot_token_env: CONTOSO_SLACK_BOT_TOKEN}
  fabrikam:
    auth: {method: simulator}
    admins: [%s]
    slack: {team_id: %s, bot_token_env: FABRIKAM_SLACK_BOT_TOKEN}
`, w.graph, addr, w.socket, technician, w.slack.URL, w.idp.Issuer, consoleOIDCID, w.base,
		admin, tapManager, contosoTeam, fabrikamAdmin, fabrikamTeam)
	if err := os.WriteFile(w.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	policies := writePolicyDir(t, map[string]string{
		"technicians.yaml": "scope: {global: true}\ntechnicians: [" + technician + "]\n",
	})
	w.vars = map[string]string{
		"SLACK_SIGNING_SECRET": consoleSigning, "CONTOSO_SLACK_BOT_TOKEN": contosoBotToken,
		"FABRIKAM_SLACK_BOT_TOKEN": fabrikamBotToken, "CONSOLE_OIDC_SECRET": consoleOIDCKey, "TIERZERO_LOG": "info",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--config", w.config, "--data", w.data, "--policy", policies},
			strings.NewReader(""), io.Discard, w.logs, func(k string) string { return w.vars[k] })
	}()
	stopped := false
	w.stop = func(t *testing.T) {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, w.log())
		}
	}
	t.Cleanup(func() { w.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(w.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			stopped = true
			t.Fatalf("serve exited %d: %s", code, w.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready: %s", w.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w
}

// log is what serve wrote to stderr so far.
func (w *consoleWorld) log() string {
	w.logs.mu.Lock()
	defer w.logs.mu.Unlock()
	return w.stderr.String()
}

// slackDM posts a signed direct message from a Slack user to the bot, as
// Slack's Events API does, and returns the message's ts.
func (w *consoleWorld) slackDM(t *testing.T, user, text string) string {
	t.Helper()
	var team string
	for _, u := range slackUsers {
		if u.ID == user {
			team = u.TeamID
		}
	}
	n := w.events.Add(1)
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), n)
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": team, "event_id": fmt.Sprintf("Ev0CONSOLE%d", n), "api_app_id": "A0TIERZERO",
		"authorizations": []map[string]any{{"team_id": team, "user_id": "UBOT", "is_bot": true}},
		"event": map[string]any{"type": "message", "channel_type": "im", "channel": fake.IM(user), "user": user,
			"text": text, "ts": ts},
	})
	req, _ := http.NewRequest(http.MethodPost, w.base+"/slack/events", bytes.NewReader(body))
	req.Header = slackSign(consoleSigning, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slack event: %d", resp.StatusCode)
	}
	return ts
}

// approvals are the lines `tierzero approvals list` prints for a tenant
// (id, state, what runs, ...), asked of the running server over its admin
// socket.
func (w *consoleWorld) approvals(t *testing.T, tenant string) []string {
	t.Helper()
	env := func(k string) string {
		if k == "TIERZERO_ADMIN_SOCKET" {
			return w.socket
		}
		return ""
	}
	r := run(t, env, "", "approvals", "list", "--tenant", tenant, "--data", w.data)
	if r.code != 0 {
		t.Fatalf("approvals list --tenant %s exited %d: %s", tenant, r.code, r.stderr)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// taps counts the Temporary Access Passes the simulator created in a
// tenant (successful POSTs of a temporaryAccessPassMethod).
func (w *consoleWorld) taps(tenant string) int {
	n := 0
	for _, j := range w.sim.Journal(tenant) {
		if j.Method == http.MethodPost && strings.Contains(j.Path, "temporaryAccessPassMethods") && j.Status < 300 {
			n++
		}
	}
	return n
}

// chromium finds Chromium: on the PATH (Debian's package installs
// /usr/bin/chromium), else the usual path.
func chromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	const p = "/usr/bin/chromium"
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// browser is the test's Chromium tab on the console.
type browser struct {
	t   *testing.T
	ctx context.Context
	w   *consoleWorld

	mu            sync.Mutex
	console       []chromedp.ConsoleMessage // what pages wrote to the console
	dialogs       []string                  // the confirm() messages shown
	refuseDialogs bool                      // answer them no
}

// watchConsole keeps what the pages write to the console (script errors,
// and the browser's own reports such as Content Security Policy
// violations).
func (b *browser) watchConsole() {
	msgs := chromedp.Console(b.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
}

// problems are the console's errors, exceptions and CSP reports since the
// last call, which forgets them. A refused request (a status 4xx the test
// asked for) is not one.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Source == "network" {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, fmt.Sprintf("%s %s: %s", m.Type, m.URL, m.Text))
		}
	}
	b.console = nil
	return out
}

// acceptDialogs answers the confirm() the console asks (its data-confirm
// forms): yes, unless the test set refuseDialogs. It keeps their messages.
func (b *browser) acceptDialogs() {
	events := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			accept := !b.refuseDialogs
			b.mu.Unlock()
			go chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
}

// asked returns the dialogs' messages since the last call.
func (b *browser) asked() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dialogs
	b.dialogs = nil
	return d
}

// step bounds one browser action.
const step = 20 * time.Second

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// navigate opens a console path and returns the response's status.
func (b *browser) navigate(path string) int64 {
	b.t.Helper()
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(b.ctx, step)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.w.base+path))
		cancel()
		// A page that moves on by itself (the sign-in pages do) can start
		// its own navigation just as this one starts and abort it: go again.
		if err != nil && strings.Contains(err.Error(), "net::ERR_ABORTED") && try < 3 {
			b.t.Logf("navigate %s: %v; again", path, err)
			continue
		}
		if err != nil {
			b.t.Fatalf("navigate %s: %v", path, err)
		}
		return resp.Status
	}
}

// click clicks the element and waits for the page it loads; it returns the
// response's status.
func (b *browser) click(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

// text is the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(b.ctx, step)
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
		cancel()
		// A node read as the document is replaced is gone: read again.
		if err != nil && try < 3 && strings.Contains(err.Error(), "No node with given id") {
			continue
		}
		if err != nil {
			b.t.Fatalf("text of %s at %s: %v", sel, b.location(), err)
		}
		return s
	}
}

// eval evaluates a script expression in the page, as a string (a
// promise's, once it settles).
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// evalNow is expr's value now, or "" while the page is between
// documents (a navigation destroys the context an evaluation ran in).
func (b *browser) evalNow(expr string) string {
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return ""
	}
	return s
}

// location is the page's URL.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	l, _ := chromedp.Run(ctx, chromedp.Location())
	return l
}

// cookie is the browser's cookie of the console by that name, nil without.
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.w.base + "/console/"}})
	if err != nil {
		b.t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn signs in afresh (no cookie left of an earlier viewer) as the user
// the OpenID Connect provider will vouch for, by opening path: the console
// sends the browser to the provider and back, to path.
func (b *browser) signIn(upn, name, path string) {
	b.t.Helper()
	b.clearCookies()
	b.w.idp.SetUser(upn, name)
	b.open(b.w.base + path)
	if strings.Contains(b.location(), "/console/login") {
		// A sign-in page with a button rather than a redirect.
		b.click("a.button")
	}
	// Sign-in lands on a page that moves on by itself.
	waitUntil(b.t, "sign-in to reach "+path, func() bool {
		return strings.TrimPrefix(b.location(), b.w.base) == path
	})
	b.do("wait for the page", chromedp.WaitReady(chromedp.CSS("header .who")))
}

// shot writes a screenshot of the page to docs/console/NAME.png when the
// test runs with -browser.shots: the full page, or with "viewport" what a
// laptop's window shows (for a long page).
func (b *browser) shot(name, what string) {
	b.t.Helper()
	if !*browserShots {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	capture := chromedp.FullScreenshot(100)
	if what == "viewport" {
		capture = chromedp.CaptureScreenshot()
	}
	raw, err := chromedp.Run(ctx, capture)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, paletted(img)); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "console", name+".png"), out.Bytes(), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// paletted keeps a screenshot small: its 256 most frequent colours (a
// page of the console has a few hundred, most of them the edges of
// letters), each other colour drawn as the nearest of them.
func paletted(img image.Image) *image.Paletted {
	r := img.Bounds()
	count := map[color.RGBA]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			count[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := slices.Collect(maps.Keys(count))
	slices.SortFunc(colors, func(a, b color.RGBA) int {
		if c := cmp.Compare(count[b], count[a]); c != 0 {
			return c
		}
		return cmp.Compare(uint32(a.R)<<24|uint32(a.G)<<16|uint32(a.B)<<8|uint32(a.A), uint32(b.R)<<24|uint32(b.G)<<16|uint32(b.B)<<8|uint32(b.A))
	})
	pal := make(color.Palette, min(len(colors), 256))
	for i := range pal {
		pal[i] = colors[i]
	}
	p := image.NewPaletted(r, pal)
	index := map[color.RGBA]uint8{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(pal.Index(c))
				index[c] = i
			}
			p.SetColorIndex(x, y, i)
		}
	}
	return p
}

// post submits a form built in the page (as a forged page would), and
// returns the response's status.
func (b *browser) post(path string, fields map[string]string) int64 {
	b.t.Helper()
	raw, _ := json.Marshal(fields)
	js := `(() => { const f = document.createElement('form'); f.method = 'post'; f.action = ` + strconv.Quote(path) + `;
for (const [k, v] of Object.entries(` + string(raw) + `)) { const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
document.body.appendChild(f); f.submit(); })()`
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](js))
	if err != nil {
		b.t.Fatalf("post %s: %v", path, err)
	}
	return resp.Status
}

// approvalState is the state of one approval of the tenant, as
// `tierzero approvals list` prints it.
func (w *consoleWorld) approvalState(t *testing.T, tenant, id string) string {
	t.Helper()
	for _, l := range w.approvals(t, tenant) {
		if f := strings.Fields(l); len(f) > 1 && f[0] == id {
			return f[1]
		}
	}
	return ""
}

// chart is what the browser drew of one SVG chart.
type chart struct {
	Title    string   `json:"title"`
	Width    float64  `json:"width"`
	Bars     int      `json:"bars"`
	Labels   []string `json:"labels"`
	Patterns int      `json:"patterns"`
}

// charts are the page's SVG charts as laid out.
func (b *browser) charts() []chart {
	b.t.Helper()
	raw := b.eval(`JSON.stringify([...document.querySelectorAll('svg')].map(s => ({
  title: (s.querySelector('title') || {}).textContent || '',
  width: s.getBoundingClientRect().width,
  bars: s.querySelectorAll('g.bar').length,
  labels: [...s.querySelectorAll('text')].map(t => t.textContent.trim()).filter(t => t),
  patterns: s.querySelectorAll('pattern').length,
})))`)
	var cs []chart
	if err := json.Unmarshal([]byte(raw), &cs); err != nil {
		b.t.Fatalf("charts %s: %v", raw, err)
	}
	return cs
}

// phoneShot writes a screenshot at a phone's width (390 CSS pixels) when
// the test runs with -browser.shots, and checks that the page fits it.
func (b *browser) phoneShot(name string) {
	b.t.Helper()
	b.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	defer b.do("laptop width", chromedp.EmulateReset(), chromedp.EmulateViewport(1280, 900))
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		b.t.Errorf("at 390 pixels the page is %s wide: it scrolls sideways", w)
	}
	b.shot(name, "")
}

// figures are the report's headline figures, value by label.
func (b *browser) figures() map[string]string {
	b.t.Helper()
	raw := b.eval(`JSON.stringify(Object.fromEntries([...document.querySelectorAll('.figure')].map(f =>
  [f.querySelector('.muted').textContent.trim(), f.querySelector('.n').textContent.trim()])))`)
	m := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		b.t.Fatalf("figures %s: %v", raw, err)
	}
	return m
}

// clearCookies signs the browser out of everything: no cookie is left.
func (b *browser) clearCookies() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		b.t.Fatalf("clear cookies: %v", err)
	}
}

// open starts a navigation that moves on by itself (sign-in ends on a page
// that refreshes to the console at once, which aborts its own load): the
// caller waits for where it ends.
func (b *browser) open(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil && !strings.Contains(err.Error(), "net::ERR_ABORTED") {
		b.t.Fatalf("open %s: %v", url, err)
	}
}
