package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero/policy"
)

// TestWebPages runs the real runtime: an employee of contoso and the MSP's
// technician chat in the demo (the terminal console), then `tierzero serve`
// on the same data serves the web console; signed in with the one-time
// link it prints, the technician sees the conversations with their
// transcripts, the audit with each chain verified, an export equal to
// `tierzero audit export`, the tenants, and the policy check.
func TestWebPages(t *testing.T) {
	data := t.TempDir()
	hostile := "<script>alert(1)</script> ping <@U024BE7LH>"
	r := run(t, noEnv, "I forgot my password\n"+hostile+"\n/quit\n", "demo", "--tenant", "contoso", "--as", employee, "--data", data)
	if r.code != 0 {
		t.Fatalf("demo exited %d: %s", r.code, r.stderr)
	}
	r = run(t, noEnv, "Reset the password of "+other+"\nyes\n/quit\n", "demo", "--as", demoTechnician, "--data", data)
	if r.code != 0 {
		t.Fatalf("technician demo exited %d: %s", r.code, r.stderr)
	}

	base, link := serveWithLink(t, data)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res := openSignInLink(t, client, base+link)
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "tierzero_console" && c.Value != "" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("the one-time link set no session: %d", res.StatusCode)
	}
	// The cookie is Secure, which a client sends only over https: it is
	// sent by hand over the loopback's http.
	do := func(method, path string, form url.Values) (int, http.Header, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
		}
		req.AddCookie(session)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	get := func(path string) string {
		t.Helper()
		code, _, body := do("GET", path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
		return body
	}

	// Conversations: the employee's in contoso, the technician's in the
	// MSP's tenant.
	list := get("/console/conversations")
	for _, w := range []string{employee, demoTechnician, "escalated"} {
		if !strings.Contains(list, w) {
			t.Errorf("the conversations page lacks %q", w)
		}
	}
	links := regexp.MustCompile(`href="(/console/conversations/contoso/[^"]+)"`).FindAllStringSubmatch(list, -1)
	if len(links) == 0 {
		t.Fatalf("no contoso conversation is linked:\n%s", list)
	}
	var transcript string
	for _, l := range links {
		if b := get(html.UnescapeString(l[1])); strings.Contains(b, "I forgot my password") {
			transcript = b
		}
	}
	for _, w := range []string{"I forgot my password", "Checked", "self-reset-password", "target_is_requester", "Tried",
		"Replied", "Escalated", "&lt;script&gt;alert(1)&lt;/script&gt; ping &lt;@U024BE7LH&gt;"} {
		if !strings.Contains(transcript, w) {
			t.Errorf("the employee's transcript lacks %q", w)
		}
	}
	if strings.Contains(transcript, "<script>alert") || strings.Contains(transcript, "<@U024BE7LH>") {
		t.Errorf("the transcript shows the hostile text unescaped")
	}
	// The technician's conversation shows their calls into contoso.
	own := regexp.MustCompile(`href="(/console/conversations/msp[^/]*/[^"]+)"`).FindStringSubmatch(list)
	if own == nil {
		t.Fatalf("the technician's conversation is not linked:\n%s", list)
	}
	if b := get(html.UnescapeString(own[1])); !strings.Contains(b, "Reset the password of "+other) || !strings.Contains(b, "in tenant contoso") {
		t.Errorf("the technician's transcript:\n%s", b)
	}

	// Audit: the chains verified; the export is `tierzero audit export`'s.
	cli := run(t, noEnv, "", "audit", "export", "--tenant", "contoso", "--data", data)
	if cli.code != 0 {
		t.Fatalf("audit export exited %d: %s", cli.code, cli.stderr)
	}
	n := strings.Count(cli.stdout, "\n")
	audit := get("/console/audit")
	if want := "contoso: <span class=\"badge ok\">verified</span> " + strconv.Itoa(n) + " records"; !strings.Contains(audit, want) {
		t.Errorf("the audit page lacks %q", want)
	}
	code, hdr, export := do("GET", "/console/audit/export?tenant=contoso", nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/x-ndjson" || !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") {
		t.Errorf("export: %d %v", code, hdr)
	}
	if export != cli.stdout {
		t.Errorf("the console's export differs from tierzero audit export:\n%s\nwant\n%s", export, cli.stdout)
	}
	if b := get("/console/audit?tenant=contoso&kind=decided&effect=allow&action=user.reset_password"); !strings.Contains(b, "self-reset-password") ||
		strings.Contains(b, "user.signins</code>") {
		t.Errorf("the audit filters:\n%s", b)
	}

	// Tenants: the cards, and the policy check of the example request.
	tenants := get("/console/tenants")
	for _, w := range []string{`id="tenant-contoso"`, `id="tenant-fabrikam"`, "global: builtin:baseline", "console"} {
		if !strings.Contains(tenants, w) {
			t.Errorf("the tenants page lacks %q", w)
		}
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(tenants)
	example := regexp.MustCompile(`(?s)id="tenant-contoso".*?<textarea name="request"[^>]*>(.*?)</textarea>`).FindStringSubmatch(tenants)
	if csrf == nil || example == nil {
		t.Fatalf("no form on the tenants page:\n%s", tenants)
	}
	form := url.Values{"csrf": {html.UnescapeString(csrf[1])}, "tenant": {"contoso"}, "request": {html.UnescapeString(example[1])}}
	code, _, decided := do("POST", "/console/tenants/check", form)
	if code != http.StatusOK || !strings.Contains(decided, `<span class="badge ok">allow</span>`) || !strings.Contains(decided, "self-reset-password") {
		t.Errorf("policy check of the example: %d\n%s", code, decided)
	}
	form.Set("request", strings.Replace(form.Get("request"), `"contoso"`, `"initech"`, 1))
	if code, _, b := do("POST", "/console/tenants/check", form); code != http.StatusForbidden || strings.Contains(b, "self-reset-password") {
		t.Errorf("policy check of a tenant not seen: %d\n%s", code, b)
	}
}

// serveWithLink runs `tierzero serve` on the simulator in this process and
// returns its base URL and the one-time sign-in link it prints.
func serveWithLink(t *testing.T, data string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncWriter{w: &bytes.Buffer{}}, &syncWriter{w: &bytes.Buffer{}}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data}, strings.NewReader(""), out, logs, noEnv)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("serve's log:\n%s", logs.w)
			logs.mu.Unlock()
		}
	})
	re := regexp.MustCompile(`open (http://[^/\s]+)(/console/once\?token=\S+)`)
	for range 600 {
		out.mu.Lock()
		m := re.FindStringSubmatch(out.w.(*bytes.Buffer).String())
		out.mu.Unlock()
		if m != nil {
			return m[1], m[2]
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before printing a sign-in link", code)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("serve printed no sign-in link in 30 s")
	return "", ""
}

// TestPolicyView: the console's view of the policy names the layers in
// effect for a tenant, outermost first (global, the tenant's, its
// departments'), with files that hold no rule or only admit technicians;
// and a check always says the tenant it decided for.
func TestPolicyView(t *testing.T) {
	parse := func(name, src string) policy.File {
		t.Helper()
		f, err := policy.Parse(name, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return f
	}
	base := policy.BaselineFiles()
	files := append(base,
		parse("sales.yaml", "scope: {tenant: contoso, department: Sales}\nrules:\n  - {id: sales-groups, action: \"user.groups\", effect: allow}\n"),
		parse("contoso.yaml", "scope: {tenant: contoso}\ntechnicians: [tess@msp.example]\n"),
		parse("fabrikam.yaml", "scope: {tenant: fabrikam}\nrules:\n  - {id: fab-groups, action: \"user.groups\", effect: deny}\n"),
		parse("msp.yaml", "scope: {global: true}\ntechnicians: [tess@msp.example]\n"),
	)
	s, err := policy.NewSet(files...)
	if err != nil {
		t.Fatal(err)
	}
	p := policyView{s}
	want := []string{
		"global: msp.yaml (no rules, admits 1 technician pattern(s))",
		"tenant: contoso.yaml (no rules, admits 1 technician pattern(s))",
		"department Sales: sales.yaml (1 rule)",
	}
	got := p.Layers("contoso")
	if len(got) != len(base)+len(want) || strings.Join(got[len(base):], "\n") != strings.Join(want, "\n") {
		t.Errorf("contoso's layers:\n%s\nwant the baseline's, then\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, f := range base {
		if i < len(got) && !strings.HasPrefix(got[i], "global: "+f.Name+" (") {
			t.Errorf("layer %d is %q, want the baseline's %s", i, got[i], f.Name)
		}
	}
	if got := p.Layers("fabrikam"); len(got) != len(base)+2 || got[len(got)-1] != "tenant: fabrikam.yaml (1 rule)" {
		t.Errorf("fabrikam's layers: %q", got)
	}

	self := `{"tenant": "contoso", "action": "user.reset_password", "requester": {"upn": "a@contoso.com", "role": "employee"},
		"target": {"upn": "a@contoso.com", "admin_roles": [], "groups": []}, "args": {"user": "a@contoso.com"}}`
	for _, tc := range []struct{ name, request, tenant, effect, rule string }{
		{"allowed by the baseline", self, "contoso", "allow", "self-reset-password"},
		{"denied by a rule", `{"tenant": "fabrikam", "action": "user.groups"}`, "fabrikam", "deny", ""},
		{"no rule: denied", "tenant: contoso\naction: user.wipe_everything\n", "contoso", "deny", ""},
	} {
		d, err := p.Check([]byte(tc.request))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(d.Effect) != tc.effect || d.Facts["tenant"] != tc.tenant || tc.rule != "" && d.Rule != tc.rule {
			t.Errorf("%s: effect %s, rule %s, facts %v", tc.name, d.Effect, d.Rule, d.Facts)
		}
	}
	if _, err := p.Check([]byte(`{"action": "user.groups"}`)); err == nil {
		t.Errorf("a request without a tenant is decided")
	}
}
