package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
	"github.com/tierzero/tierzero/web"
)

// TestDriftServe: serve's drift watch as serve wires it, on the Graph
// simulator: a change made behind tierzero's back (a Conditional Access
// policy switched off in the admin center) is found at the next check and
// reaches the console's tenants page, the technician's chat (in the
// conversation they last had with tierzero) and the tenant's ticketing
// system, once; the next check with the same drift sends nothing; undoing
// the change is reported as such.
func TestDriftServe(t *testing.T) {
	if testing.Short() {
		t.Skip("serves on loopback")
	}
	ctx := context.Background()
	s := sim.New(sim.Options{})
	gsrv := httptest.NewServer(s)
	defer gsrv.Close()
	hook := &webhooktest.Receiver{Secret: []byte(ticketSecret), Created: make(chan webhooktest.Ticket, 4)}
	hsrv := httptest.NewServer(hook)
	defer hsrv.Close()
	conf := filepath.Join(t.TempDir(), "tierzero.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`graph_url: %s/v1.0
msp:
  tenant: msp
  technicians: [{upn: tess@msp.example, name: Tess Nguyen}]
tenants:
  contoso:
    auth: {method: simulator}
    admins: [megan.bowen@contoso.com]
    ticket: {system: webhook, url: "%s/psa", secret_env: CONTOSO_TICKET_SECRET}
  fabrikam:
    auth: {method: simulator}
    admins: [tara.ellis@fabrikam.com]
baseline:
  drift_interval: 6h
`, gsrv.URL, hsrv.URL)), 0o600)
	c, err := loadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logw := &syncWriter{w: &logs}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logw,
		getenv: func(k string) string { return map[string]string{"CONTOSO_TICKET_SECRET": ticketSecret}[k] }}
	a.log = slog.New(slog.NewJSONHandler(logw, nil))
	rt, err := a.openRuntime(ctx, runtimeOptions{data: t.TempDir(), config: c, policyDirs: []string{"../../examples/policy"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })

	// As serve wires it.
	w, err := a.driftWatchOf(rt, c)
	if err != nil || w == nil {
		t.Fatalf("drift watch: %v %v", w, err)
	}
	rt.drift = w
	rt.tickets.Attach(driftTeller{Notifier: rt.desk, notice: w.cfg.Notice})
	con, err := a.webConsole(rt, c)
	if err != nil {
		t.Fatal(err)
	}
	slack := &chatRecorder{}
	if err := rt.start(ctx, map[tierzero.Channel]bot.Responder{tierzero.ChannelWeb: con.Responder(), tierzero.ChannelSlack: slack}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	con.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// Tess last wrote to tierzero from Slack, in a DM (the Slack adapter's
	// conversation of a DM: TEAM/CHANNEL).
	const techConv = "T0MSP/D0TESS"
	if err := rt.db.Append(ctx, "msp", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Conversation: techConv,
		Requester: "tess@msp.example", Channel: tierzero.ChannelSlack, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	page := func() string {
		t.Helper()
		link, ok := con.OneTimeLink("tess@msp.example")
		if !ok {
			t.Fatal("no sign-in link")
		}
		code, body := signIn(t, srv.URL, link).get("/console/tenants")
		if code != http.StatusOK {
			t.Fatalf("tenants page: %d", code)
		}
		return html.UnescapeString(body)
	}
	tickets := func() int {
		n := 0
		for _, q := range hook.Requests() {
			if q.Event == webhook.EventCreate {
				n++
			}
		}
		return n
	}
	driftTold := func() []string {
		slack.mu.Lock()
		defer slack.mu.Unlock()
		var out []string
		for _, r := range slack.replies {
			if strings.Contains(r, "Baseline") {
				out = append(out, r)
			}
		}
		slack.replies = nil
		return out
	}

	// The first check: the seeded tenants differ from the baseline
	// already (contoso is the "before" of a client taken on).
	w.Load(ctx)
	if p := page(); strings.Contains(p, "Baseline</th>") {
		t.Fatalf("a baseline is shown before any check:\n%s", tenantCard(p, "contoso"))
	}
	w.Check(ctx)
	rt.tickets.Flush(ctx)
	first, ok := w.Baseline("contoso")
	if !ok || len(first.Drift) == 0 {
		t.Fatalf("contoso's seeded drift was not found: %+v", first)
	}
	if n := tickets(); n != 1 {
		t.Fatalf("%d tickets after the first check, want contoso's", n)
	}
	if told := driftTold(); len(told) != 3 || !strings.HasPrefix(told[0], techConv+": Baseline drift in ") {
		// contoso, fabrikam, then contoso's ticket number
		t.Fatalf("tess was told %q", told)
	}

	// Behind tierzero's back, in the admin center: "Require MFA for
	// admins" is switched off.
	id := caPolicyID(t, gsrv.URL, "contoso", "Require MFA for admins")
	patchCA(t, gsrv.URL, "contoso", id, `{"state":"disabled"}`)
	w.Check(ctx)
	rt.tickets.Flush(ctx)
	st, _ := w.Baseline("contoso")
	if slices.Equal(driftOf(st), driftOf(first)) {
		t.Fatalf("the change was not found: %+v", st.Drift)
	}
	var mfa *string
	for _, d := range st.Drift {
		if d.Name == "Require MFA for admins" {
			mfa = &d.Why
		}
	}
	if mfa == nil {
		t.Fatalf("the switched-off policy is not in the drift: %+v", st.Drift)
	}
	told := driftTold()
	if len(told) != 2 || !strings.Contains(told[0], "Baseline drift in contoso") || !strings.Contains(told[0], `"Require MFA for admins"`) ||
		!strings.Contains(told[1], "Baseline drift of contoso: It is now ticket T-0002") {
		t.Fatalf("tess was told %q", told)
	}
	if n := tickets(); n != 2 {
		t.Fatalf("%d tickets, want a second one for the change", n)
	}
	tk := hook.Tickets()[1].Event.Ticket
	if tk == nil || !strings.Contains(tk.Body, "Require MFA for admins") {
		t.Fatalf("the ticket: %+v", tk)
	}
	p := tenantCard(page(), "contoso")
	if !strings.Contains(p, fmt.Sprintf(`<span class="badge warn">%d differences</span>`, len(st.Drift))) || !strings.Contains(p, "<q>Require MFA for admins</q>: "+*mfa) {
		t.Fatalf("the console's card:\n%s", p)
	}
	var evs []tierzero.AuditEvent
	rt.db.Audit(ctx, "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		if ev.Kind == tierzero.AuditBaselineDrift {
			evs = append(evs, ev)
		}
		return nil
	})
	if len(evs) != 2 {
		t.Fatalf("%d baseline_drift events in contoso's trail, want 2", len(evs))
	}

	// The next check, nothing changed: nothing is sent.
	w.Check(ctx)
	rt.tickets.Flush(ctx)
	if told, n := driftTold(), tickets(); len(told) != 0 || n != 2 {
		t.Fatalf("the same drift again: told %q, %d tickets", told, n)
	}

	// Undone in the admin center: the drift is what it was, and it is
	// said so.
	patchCA(t, gsrv.URL, "contoso", id, `{"state":"enabled"}`)
	w.Check(ctx)
	if st, _ := w.Baseline("contoso"); !slices.Equal(driftOf(st), driftOf(first)) {
		t.Fatalf("undone: %+v", st.Drift)
	}
	if told := driftTold(); len(told) != 1 || strings.Contains(told[0], "disabled") {
		t.Fatalf("undone: tess was told %q", told)
	}
}

// tenantCard is the part of the console's tenants page about tenant t.
func tenantCard(body, t string) string {
	i := strings.Index(body, `id="tenant-`+t+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// driftOf is a console state's drift, comparable.
func driftOf(st web.BaselineState) []string {
	var out []string
	for _, d := range st.Drift {
		out = append(out, d.Kind+"|"+d.Resource+"|"+d.Name+"|"+d.Why)
	}
	slices.Sort(out)
	return out
}

// caPolicyID is the id of tenant's Conditional Access policy name, read
// from the simulator as an admin center would.
func caPolicyID(t *testing.T, base, tenant, name string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1.0/identity/conditionalAccess/policies", nil)
	req.Header.Set("Authorization", "Bearer "+sim.Token(tenant))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Value []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Value {
		if p.DisplayName == name {
			return p.ID
		}
	}
	t.Fatalf("%s has no policy %q: %+v", tenant, name, list.Value)
	return ""
}

// patchCA changes a Conditional Access policy directly on the simulator.
func patchCA(t *testing.T, base, tenant, id, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, base+"/v1.0/identity/conditionalAccess/policies/"+id, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+sim.Token(tenant))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("PATCH %s: %d", id, resp.StatusCode)
	}
}

// TestTechnicianNotice: a drift notice goes to each technician policy
// admits to the tenant, in the last private conversation they had with
// tierzero on a channel that can be reached later (a Slack DM, a Teams
// personal chat, the web console; not the terminal's), never in a shared
// channel or group chat where people not admitted to the tenant read it,
// and to no one else.
func TestTechnicianNotice(t *testing.T) {
	ctx := context.Background()
	gsrv := httptest.NewServer(sim.New(sim.Options{}))
	defer gsrv.Close()
	conf := filepath.Join(t.TempDir(), "tierzero.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`graph_url: %s/v1.0
msp:
  tenant: msp
  technicians: [{upn: tess@msp.example}, {upn: rhys@msp.example}, {upn: ana@msp.example}]
tenants:
  contoso:
    auth: {method: simulator}
`, gsrv.URL)), 0o600)
	c, err := loadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv, log: slog.New(slog.DiscardHandler)}
	// examples/policy admits tess alone; a second file admits ana.
	pol := t.TempDir()
	os.WriteFile(filepath.Join(pol, "ana.yaml"), []byte("scope: {tenant: contoso}\ntechnicians: [ana@msp.example]\n"), 0o600)
	rt, err := a.openRuntime(ctx, runtimeOptions{data: t.TempDir(), config: c, policyDirs: []string{"../../examples/policy", pol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	slack, teams := &chatRecorder{}, &chatRecorder{}
	if err := rt.start(ctx, map[tierzero.Channel]bot.Responder{tierzero.ChannelSlack: slack, tierzero.ChannelTeams: teams}); err != nil {
		t.Fatal(err)
	}
	msg := func(upn string, ch tierzero.Channel, conv string) {
		t.Helper()
		if err := rt.db.Append(ctx, "msp", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Requester: upn, Channel: ch, Conversation: tierzero.ConversationID(conv), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	// tess's last private conversation is her Teams personal chat; she
	// wrote in a Teams channel after it, which others read.
	msg("tess@msp.example", tierzero.ChannelSlack, "T0MSP/D0TESS")
	msg("tess@msp.example", tierzero.ChannelTeams, "a:1personal-tess")
	msg("tess@msp.example", tierzero.ChannelTeams, "19:abc@thread.tacv2;messageid=1700000000800")
	msg("tess@msp.example", tierzero.ChannelConsole, "console-later") // the terminal: not reachable later
	msg("rhys@msp.example", tierzero.ChannelSlack, "T0MSP/D0RHYS")    // not admitted to contoso
	// ana is admitted, but wrote to tierzero only in a Slack channel's
	// thread and a Teams group chat: people not admitted to contoso read
	// them, so she is not told there.
	msg("ana@msp.example", tierzero.ChannelSlack, "T0MSP/C0SHARED/1700000000.000100")
	msg("ana@msp.example", tierzero.ChannelTeams, "19:group@thread.v2")
	for upn, admitted := range map[string]bool{"tess@msp.example": true, "ana@msp.example": true, "rhys@msp.example": false} {
		req, _ := rt.staff.Technician(upn)
		if got := slices.Contains(rt.reach.Across(req), "contoso"); got != admitted {
			t.Fatalf("%s admitted to contoso: %v, want %v", upn, got, admitted)
		}
	}

	n := technicianNotice(rt, a.log)(ctx, "contoso", "Baseline drift in contoso: 1 difference from its baseline.")
	if n != 1 {
		t.Fatalf("reached %d technicians, want tess alone", n)
	}
	if len(teams.replies) != 1 || teams.replies[0] != "a:1personal-tess: Baseline drift in contoso: 1 difference from its baseline." || len(slack.replies) != 0 {
		t.Fatalf("teams %q, slack %q: want tess's Teams personal chat only", teams.replies, slack.replies)
	}

	// A Slack DM, a Teams personal chat and the web console are private;
	// a channel's thread, a Teams channel or group chat are not.
	for _, c := range []struct {
		ch      tierzero.Channel
		conv    string
		private bool
	}{
		{tierzero.ChannelSlack, "T0MSP/D0TESS", true},
		{tierzero.ChannelSlack, "T0MSP/C0SHARED/1700000000.000100", false},
		{tierzero.ChannelSlack, "T0MSP/G0PRIVATE", false},
		{tierzero.ChannelSlack, "T0MSP/D0TESS/1700000000.000100", false},
		{tierzero.ChannelTeams, "a:1personal-tess", true},
		{tierzero.ChannelTeams, "19:abc@thread.tacv2;messageid=1", false},
		{tierzero.ChannelTeams, "19:group@thread.v2", false},
		{tierzero.ChannelWeb, "web-tess-1", true},
		{tierzero.ChannelConsole, "console-later", false},
	} {
		if got := privateConversation(c.ch, tierzero.ConversationID(c.conv)); got != c.private {
			t.Errorf("%s %s private: %v, want %v", c.ch, c.conv, got, c.private)
		}
	}
}
