package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// The web console's approvals and operations pages end to end, on the
// real runtime (store, policy, Guard, agent with the offline rules model,
// desk) and the in-process Graph simulator: a technician signs in with a
// one-time link and runs an operation across contoso and fabrikam; a
// tenant admin approves an employee's Temporary Access Pass from the
// approvals page; a forged decision for another tenant's approval is
// refused and changes nothing.

const (
	webTech    = "tess@msp.example"
	webAdmin   = "isaiah.langer@contoso.com" // a tenant admin of contoso; Grady's manager
	webGrady   = "grady.archie@contoso.com"
	webBen     = "ben.walters@fabrikam.com"
	webConsole = "console-webops"
)

// chatRecorder is the terminal console's channel as the desk sees it: what
// the employees who asked there are told.
type chatRecorder struct {
	mu      sync.Mutex
	replies []string
	secrets []tierzero.PrivateNote
}

func (c *chatRecorder) Reply(_ context.Context, to bot.Address, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replies = append(c.replies, string(to.Conversation)+": "+text)
	return nil
}

func (c *chatRecorder) Private(_ context.Context, _ bot.Address, n tierzero.PrivateNote) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secrets = append(c.secrets, n)
	return nil
}

func (c *chatRecorder) ShowApproval(context.Context, bot.ApprovalRequest) ([]string, error) {
	return []string{"the test"}, nil
}

func (c *chatRecorder) ApprovalSettled(context.Context, tierzero.Approval, string) error { return nil }

func (c *chatRecorder) said() (string, []tierzero.PrivateNote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.replies, "\n"), append([]tierzero.PrivateNote(nil), c.secrets...)
}

// webClient is a browser's session on the console: it keeps the session
// cookie by hand (it is Secure, which a cookie jar keeps off plain http)
// and the CSRF token of the last page.
type webClient struct {
	t      *testing.T
	base   string
	hc     *http.Client
	cookie string
	csrf   string
	plan   string // the plan the last page offered to run
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	planField = regexp.MustCompile(`name="plan" value="([^"]+)"`)
)

// signIn follows a one-time sign-in link.
func signIn(t *testing.T, base, link string) *webClient {
	t.Helper()
	c := &webClient{t: t, base: base, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp := openSignInLink(t, c.hc, base+link)
	for _, ck := range resp.Cookies() {
		if ck.Name == "tierzero_console" && ck.Value != "" {
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict", ck)
			}
			c.cookie = ck.Value
		}
	}
	if resp.StatusCode >= 400 || c.cookie == "" {
		t.Fatalf("sign-in link: %d, no session cookie", resp.StatusCode)
	}
	return c
}

// openSignInLink opens a one-time sign-in link as a person does: the
// link's page (which spends nothing), then its button, a POST of the token
// from the page. It returns the answer to the button, or to the page when
// it shows none (a spent or expired link).
func openSignInLink(t *testing.T, hc *http.Client, link string) *http.Response {
	t.Helper()
	resp, err := hc.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("token")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `action="/console/once"`) || !strings.Contains(string(page), `value="`+tok+`"`) {
		return resp
	}
	req, _ := http.NewRequest(http.MethodPost, u.Scheme+"://"+u.Host+"/console/once", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (c *webClient) do(req *http.Request) (int, string, string) {
	c.t.Helper()
	req.AddCookie(&http.Cookie{Name: "tierzero_console", Value: c.cookie})
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// get returns a page's status and text, and keeps its CSRF token.
func (c *webClient) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	code, _, body := c.do(req)
	if m := csrfField.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	}
	c.plan = ""
	if m := planField.FindStringSubmatch(body); m != nil {
		c.plan = m[1]
	}
	return code, body
}

// post sends a form with the CSRF token, from this origin, and returns the
// status and where it redirects.
func (c *webClient) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	form.Set("csrf", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	code, loc, _ := c.do(req)
	return code, loc
}

// writesTo counts the simulator's successful writes in tenant whose path
// holds sub.
func writesTo(rt *runtime, tenant, method, sub string) int {
	n := 0
	for _, j := range rt.sim.Journal(tenant) {
		if j.Method == method && j.Status < 300 && strings.Contains(j.Path, sub) {
			n++
		}
	}
	return n
}

func pendingIn(t *testing.T, rt *runtime, tenant tierzero.TenantID) []tierzero.Approval {
	t.Helper()
	as, err := rt.db.ListApprovals(context.Background(), tenant, tierzero.ApprovalPending)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestWebConsoleOperationsAndApprovals(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	logw := &syncWriter{w: &logs}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logw, getenv: noEnv}
	a.log = slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt, err := a.openRuntime(ctx, runtimeOptions{data: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	con, err := a.webConsole(rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	chat := &chatRecorder{}
	if err := rt.start(ctx, map[tierzero.Channel]bot.Responder{tierzero.ChannelWeb: con.Responder(), tierzero.ChannelConsole: chat}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	con.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	link := func(upn string) string {
		p, ok := con.OneTimeLink(upn)
		if !ok {
			t.Fatalf("no sign-in link for %s", upn)
		}
		return p
	}

	// The technician signs in and composes an operation across both
	// tenants: the plan names each step's tenant; nothing is written until
	// they run it.
	tess := signIn(t, srv.URL, link(webTech))
	if code, body := tess.get("/console/operations"); code != http.StatusOK || !strings.Contains(body, `value="fabrikam"`) {
		t.Fatalf("operations page: %d\n%s", code, body)
	}
	code, loc := tess.post("/console/operations", url.Values{"do": {"compose"}, "kind": {"hacked"}, "tenant": {"contoso", "fabrikam"},
		"users_contoso": {"adele.vance@contoso.com"}, "users_fabrikam": {"noah.bennett@fabrikam.com"}})
	if code != http.StatusSeeOther || loc != "/console/operations" {
		t.Fatalf("compose: %d %q", code, loc)
	}
	_, body := tess.get("/console/operations")
	if !strings.Contains(body, "in contoso: read the recent sign-ins of adele.vance@contoso.com") ||
		!strings.Contains(body, "in fabrikam: read the recent sign-ins of noah.bennett@fabrikam.com") || !strings.Contains(body, `name="do" value="yes"`) {
		t.Fatalf("the plan is not shown with its steps:\n%s", body)
	}
	const revoke = "/revokeSignInSessions"
	sawSignOutPlan := false
	for i := 0; strings.Contains(body, `name="do" value="yes"`); i++ {
		if i == 5 {
			t.Fatalf("still a plan after %d runs:\n%s", i, body)
		}
		if !sawSignOutPlan && strings.Contains(body, "in fabrikam: sign noah.bennett@fabrikam.com out of every session") {
			sawSignOutPlan = true // the page keeps the conversation: checked when first shown
			if n := writesTo(rt, "contoso", http.MethodPost, revoke) + writesTo(rt, "fabrikam", http.MethodPost, revoke); n != 0 {
				t.Fatalf("%d sign-outs before the plan was run", n)
			}
		}
		if code, _ := tess.post("/console/operations", url.Values{"do": {"yes"}, "plan": {tess.plan}}); code != http.StatusSeeOther {
			t.Fatalf("run: %d", code)
		}
		_, body = tess.get("/console/operations")
	}
	if !sawSignOutPlan {
		t.Fatalf("the sign-out was never shown as a plan:\n%s", body)
	}
	if !strings.Contains(body, "In contoso, I did: sign adele.vance@contoso.com out of every session") ||
		!strings.Contains(body, "In fabrikam, I did: sign noah.bennett@fabrikam.com out of every session") {
		t.Fatalf("the results are not shown:\n%s", body)
	}
	if c, f := writesTo(rt, "contoso", http.MethodPost, "adele.vance@contoso.com"+revoke), writesTo(rt, "fabrikam", http.MethodPost, "noah.bennett@fabrikam.com"+revoke); c != 1 || f != 1 {
		t.Fatalf("sign-outs: %d in contoso, %d in fabrikam; want one each", c, f)
	}

	// A password reset: its temporary password is the technician's, shown
	// on the page once.
	tess.post("/console/operations", url.Values{"do": {"new"}})
	code, _ = tess.post("/console/operations", url.Values{"do": {"compose"}, "kind": {"reset"}, "tenant": {"fabrikam"}, "users_fabrikam": {"ben.walters@fabrikam.com"}})
	if code != http.StatusSeeOther {
		t.Fatalf("compose the reset: %d", code)
	}
	_, body = tess.get("/console/operations")
	for i := 0; strings.Contains(body, `name="do" value="yes"`); i++ {
		if i == 3 {
			t.Fatalf("still a plan after %d runs:\n%s", i, body)
		}
		tess.post("/console/operations", url.Values{"do": {"yes"}, "plan": {tess.plan}})
		_, body = tess.get("/console/operations")
	}
	pw := regexp.MustCompile(`<code class="secret-value">([^<]+)</code>`).FindStringSubmatch(body)
	if pw == nil || !strings.Contains(body, "Done: I reset the password of ben.walters@fabrikam.com") {
		t.Fatalf("the reset's result and password are not shown:\n%s", body)
	}
	if n := writesTo(rt, "fabrikam", http.MethodPatch, "ben.walters@fabrikam.com"); n != 1 {
		t.Fatalf("%d PATCHes of ben, want 1", n)
	}
	if _, again := tess.get("/console/operations"); strings.Contains(again, pw[1]) || strings.Contains(again, "secret-value") {
		t.Fatal("the password is shown a second time")
	}
	password := html.UnescapeString(pw[1])

	// Employees of both tenants ask for a Temporary Access Pass in chat:
	// each waits for their manager.
	for _, in := range []tierzero.Inbound{
		{Tenant: "contoso", User: tierzero.PlatformUser{UPN: webGrady}},
		{Tenant: "fabrikam", User: tierzero.PlatformUser{UPN: webBen}},
	} {
		in.Channel, in.Conversation, in.Text, in.Time = tierzero.ChannelConsole, webConsole, "I got a new phone and lost my authenticator", time.Now()
		if _, err := rt.desk.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	cp, fp := pendingIn(t, rt, "contoso"), pendingIn(t, rt, "fabrikam")
	if len(cp) != 1 || cp[0].Action != "user.issue_tap" || len(fp) != 1 || fp[0].Action != "user.issue_tap" {
		t.Fatalf("pending: contoso %+v, fabrikam %+v; want one TAP each", cp, fp)
	}
	grady, ben := cp[0], fp[0]

	// Contoso's tenant admin (Grady's manager) sees Grady's request, with
	// what will run, and not fabrikam's.
	admin := signIn(t, srv.URL, link(webAdmin))
	code, body = admin.get("/console/approvals")
	if code != http.StatusOK || !strings.Contains(body, grady.ID) || strings.Contains(body, ben.ID) {
		t.Fatalf("approvals page: %d; want %s listed and not %s:\n%s", code, grady.ID, ben.ID, body)
	}
	text := html.UnescapeString(body)
	for _, want := range []string{"user.issue_tap", `"user": "` + webGrady + `"`, "self-issue-tap", webGrady} {
		if !strings.Contains(text, want) {
			t.Errorf("the approval does not show %q", want)
		}
	}
	if !strings.Contains(body, `name="decision" value="approve"`) {
		t.Fatal("no Approve button")
	}
	// Nobody else is shown the technician's page.
	if code, _ := admin.get("/console/operations"); code != http.StatusForbidden {
		t.Errorf("operations for a tenant admin: %d, want 403", code)
	}

	// A forged decision for fabrikam's approval: refused for the tenant,
	// and through contoso the Guard does not find it. It stays pending.
	if code, _ := admin.post("/console/approvals/decide", url.Values{"tenant": {"fabrikam"}, "id": {ben.ID}, "decision": {"approve"}}); code != http.StatusForbidden {
		t.Fatalf("forged decision for fabrikam: %d, want 403", code)
	}
	code, loc = admin.post("/console/approvals/decide", url.Values{"tenant": {"contoso"}, "id": {ben.ID}, "decision": {"approve"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Fatalf("fabrikam's id through contoso: %d %q, want the decision refused", code, loc)
	}
	if fp := pendingIn(t, rt, "fabrikam"); len(fp) != 1 || fp[0].ID != ben.ID || len(fp[0].Decisions) != 0 {
		t.Fatalf("fabrikam's approval after the forgeries: %+v", fp)
	}
	if n := writesTo(rt, "fabrikam", http.MethodPost, "temporaryAccessPassMethods"); n != 0 {
		t.Fatalf("%d passes issued in fabrikam", n)
	}

	// The admin approves Grady's: it runs once, and Grady hears back in
	// chat with the pass, privately.
	code, loc = admin.post("/console/approvals/decide", url.Values{"tenant": {"contoso"}, "id": {grady.ID}, "decision": {"approve"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
		t.Fatalf("approve: %d %q", code, loc)
	}
	_, body = admin.get(strings.TrimPrefix(loc, srv.URL))
	if !strings.Contains(body, "You approved "+grady.ID+", and it ran.") || strings.Contains(body, `name="id" value="`+grady.ID+`"`) {
		t.Fatalf("after approving:\n%s", body)
	}
	if n := writesTo(rt, "contoso", http.MethodPost, webGrady+"/authentication/temporaryAccessPassMethods"); n != 1 {
		t.Fatalf("%d passes issued for grady, want 1", n)
	}
	said, secrets := chat.said()
	if !strings.Contains(said, webAdmin+" approved your request to issue a Temporary Access Pass") || len(secrets) != 1 || secrets[0].To.UPN != webGrady {
		t.Fatalf("grady was told %q with %d private notes", said, len(secrets))
	}
	pass := secrets[0].Secret.Reveal()
	// Deciding again changes nothing.
	code, loc = admin.post("/console/approvals/decide", url.Values{"tenant": {"contoso"}, "id": {grady.ID}, "decision": {"approve"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Fatalf("a second approval: %d %q, want it refused", code, loc)
	}
	if n := writesTo(rt, "contoso", http.MethodPost, "temporaryAccessPassMethods"); n != 1 {
		t.Fatalf("%d passes issued after a second approval, want 1", n)
	}
	if pass == "" || strings.Contains(logs.String(), pass) || strings.Contains(logs.String(), password) {
		t.Fatal("the pass is empty, or a secret is in the logs")
	}

	// The technician offboards a leaver of contoso: the plan waits for a
	// tenant admin, who approves it from the page; it runs, and the
	// technician hears back on their operations page.
	tess.post("/console/operations", url.Values{"do": {"new"}})
	tess.post("/console/operations", url.Values{"do": {"compose"}, "kind": {"offboard"}, "tenant": {"contoso"}, "users_contoso": {"christie.cline@contoso.com"}})
	_, body = tess.get("/console/operations")
	for i := 0; strings.Contains(body, `name="do" value="yes"`); i++ {
		if i == 3 {
			t.Fatalf("still a plan after %d runs:\n%s", i, body)
		}
		tess.post("/console/operations", url.Values{"do": {"yes"}, "plan": {tess.plan}})
		_, body = tess.get("/console/operations")
	}
	var plan tierzero.Approval
	for _, a := range pendingIn(t, rt, "contoso") {
		if a.Action == tierzero.ActionOffboard {
			plan = a
		}
	}
	if plan.ID == "" || !strings.Contains(body, "waiting for approval") {
		t.Fatalf("no offboarding waiting for approval:\n%s", body)
	}
	const blockChristie = "christie.cline@contoso.com"
	if n := writesTo(rt, "contoso", http.MethodPatch, blockChristie); n != 0 {
		t.Fatalf("%d writes to christie before the approval", n)
	}
	if _, body := admin.get("/console/approvals"); !strings.Contains(body, plan.ID) || !strings.Contains(body, "via web") {
		t.Fatalf("the admin does not see the technician's plan %s", plan.ID)
	}
	code, loc = admin.post("/console/approvals/decide", url.Values{"tenant": {"contoso"}, "id": {plan.ID}, "decision": {"approve"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
		t.Fatalf("approve the plan: %d %q", code, loc)
	}
	if n := writesTo(rt, "contoso", http.MethodPatch, blockChristie); n < 1 {
		t.Fatal("the approved offboarding did not run")
	}
	if _, body := tess.get("/console/operations"); !strings.Contains(body, webAdmin+" approved your plan") {
		t.Fatalf("the technician was not told on their page:\n%s", body)
	}

	// A technician decides from the MSP's tenant: Ben's request for his
	// BitLocker key waits for a tenant admin or a technician.
	if _, err := rt.desk.Handle(ctx, tierzero.Inbound{Tenant: "fabrikam", Channel: tierzero.ChannelConsole, Conversation: webConsole + "-2",
		User: tierzero.PlatformUser{UPN: webBen}, Text: "My laptop asks for the BitLocker recovery key", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var key tierzero.Approval
	for _, a := range pendingIn(t, rt, "fabrikam") {
		if a.Action == "device.bitlocker_key" {
			key = a
		}
	}
	if key.ID == "" {
		t.Fatalf("no pending BitLocker approval in fabrikam: %+v", pendingIn(t, rt, "fabrikam"))
	}
	code, body = tess.get("/console/approvals")
	if code != http.StatusOK || !strings.Contains(body, key.ID) || strings.Contains(body, ben.ID) {
		t.Fatalf("the technician's approvals: %d; want %s listed and not the manager's %s", code, key.ID, ben.ID)
	}
	code, loc = tess.post("/console/approvals/decide", url.Values{"tenant": {"fabrikam"}, "id": {key.ID}, "decision": {"approve"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
		t.Fatalf("the technician approves: %d %q", code, loc)
	}
	got, err := rt.db.Approval(ctx, "fabrikam", key.ID)
	if err != nil || got.State != tierzero.ApprovalExecuted || len(got.Decisions) != 1 || got.Decisions[0].Approver != webTech {
		t.Fatalf("the BitLocker approval after the technician's decision: %+v, %v", got, err)
	}
	if !strings.Contains(logs.String(), `"msg":"console refused"`) {
		t.Error("the forged decision was not logged")
	}
}
