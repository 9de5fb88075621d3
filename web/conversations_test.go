package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
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
	"github.com/tierzero/tierzero/web"
)

// The conversations, audit and tenants pages are tested on small fakes of
// what the console reads: a store of audit trails and tickets, a desk that
// reports credential problems, a policy that decides from a request's
// tenant and action, and Graph capabilities.

// trailStore is a web.Store of audit trails held in memory.
type trailStore struct {
	mu      sync.Mutex
	audit   map[tierzero.TenantID][]tierzero.AuditEvent
	tickets map[tierzero.TenantID][]tierzero.TicketRecord
	broken  map[tierzero.TenantID]error // Verify fails with it
}

func (s *trailStore) add(evs ...tierzero.AuditEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		ev.Seq = uint64(len(s.audit[ev.Tenant]) + 1)
		s.audit[ev.Tenant] = append(s.audit[ev.Tenant], ev)
	}
}

func (s *trailStore) ListApprovals(context.Context, tierzero.TenantID, tierzero.ApprovalState) ([]tierzero.Approval, error) {
	return nil, nil
}

func (s *trailStore) Approval(context.Context, tierzero.TenantID, string) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "no approval")
}

func (s *trailStore) Audit(ctx context.Context, t tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error {
	s.mu.Lock()
	evs, ok := s.audit[t]
	evs = append([]tierzero.AuditEvent(nil), evs...)
	s.mu.Unlock()
	if !ok {
		return tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", t)
	}
	for _, ev := range evs {
		if ev.Time.Before(since) {
			continue
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

func (s *trailStore) Tickets(_ context.Context, t tierzero.TenantID) ([]tierzero.TicketRecord, error) {
	return s.tickets[t], nil
}

func (s *trailStore) Verify(_ context.Context, t tierzero.TenantID) (int, error) {
	if err := s.broken[t]; err != nil {
		return 0, err
	}
	if _, ok := s.audit[t]; !ok {
		return 0, tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", t)
	}
	return len(s.audit[t]), nil
}

// trailDesk reports credential problems; the pages tested here never act.
type trailDesk struct{ problems map[tierzero.TenantID]string }

func (d trailDesk) Decide(context.Context, bot.Vote) (bot.Verdict, error) {
	return bot.Verdict{}, errors.New("trailDesk does not decide")
}

func (d trailDesk) Handle(context.Context, tierzero.Inbound) (tierzero.Reply, error) {
	return tierzero.Reply{}, errors.New("trailDesk does not handle")
}

func (d trailDesk) Problems() map[tierzero.TenantID]string { return d.problems }

// trailPolicy decides a JSON request, or a YAML one of "key: value" lines,
// from its tenant and action: user.reset_password is allowed, the rest
// denied; a request without a tenant or action is invalid.
type trailPolicy struct{}

func (trailPolicy) Check(request []byte) (tierzero.Decision, error) {
	var req struct{ Tenant, Action string }
	if err := json.Unmarshal(request, &req); err != nil {
		for _, l := range strings.Split(string(request), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				return tierzero.Decision{}, fmt.Errorf("request: line %q is not key: value", l)
			}
			switch strings.TrimSpace(k) {
			case "tenant":
				req.Tenant = strings.TrimSpace(v)
			case "action":
				req.Action = strings.TrimSpace(v)
			}
		}
	}
	if req.Tenant == "" || req.Action == "" {
		return tierzero.Decision{}, errors.New("request: request has no tenant or action")
	}
	facts := map[string]string{"tenant": req.Tenant, "action": req.Action}
	if req.Action == "user.reset_password" {
		return tierzero.Decision{Effect: tierzero.EffectAllow, Layer: "global", File: "baseline.yaml", Rule: "self-reset-password",
			Reason: "rule self-reset-password allows user.reset_password", Facts: facts}, nil
	}
	return tierzero.Decision{Effect: tierzero.EffectDeny, Reason: "no rule allows " + req.Action, Facts: facts}, nil
}

func (trailPolicy) Layers(t tierzero.TenantID) []string {
	return []string{"global: baseline.yaml (12 rules)", "tenant: " + string(t) + ".yaml (2 rules)"}
}

// trailGraph knows contoso's capabilities and fails for the others.
type trailGraph struct{}

func (trailGraph) Capabilities(_ context.Context, t tierzero.TenantID) (bool, bool, error) {
	if t == "contoso" {
		return true, false, nil
	}
	return false, false, errors.New("graph: unavailable")
}

func (trailGraph) Seats(context.Context, tierzero.TenantID) (int, error) {
	return 0, errors.New("no seats")
}

type trailReach []tierzero.TenantID

func (r trailReach) Across(tierzero.Requester) []tierzero.TenantID { return r }

// Who signs in to the test console.
const (
	trailTech          = "tess@msp.example"
	trailContosoAdmin  = "megan@contoso.com"
	trailFabrikamAdmin = "alex@fabrikam.com"
)

// trailT0 is when the trails begin.
var trailT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// trailConsole is a console on the fakes, with a trail in contoso,
// fabrikam and the MSP's home tenant msp.
type trailConsole struct {
	t     *testing.T
	srv   *web.Server
	h     http.Handler
	store *trailStore
}

func newTrailConsole(t *testing.T) *trailConsole {
	t.Helper()
	st := &trailStore{audit: map[tierzero.TenantID][]tierzero.AuditEvent{}, tickets: map[tierzero.TenantID][]tierzero.TicketRecord{},
		broken: map[tierzero.TenantID]error{}}
	srv, err := web.New(web.Config{
		Desk:  trailDesk{problems: map[tierzero.TenantID]string{"fabrikam": "AADSTS7000215: invalid client secret"}},
		Store: st, Policy: trailPolicy{}, Graph: trailGraph{},
		Staff: bot.Staff{Home: "msp", Technicians: []bot.Technician{{UPN: trailTech, Name: "Tess"}},
			Admins:  map[tierzero.TenantID][]string{"contoso": {trailContosoAdmin}, "fabrikam": {trailFabrikamAdmin}},
			Clients: []tierzero.TenantID{"contoso", "fabrikam", "northwind"}},
		// northwind has no data yet.
		Reach:    trailReach{"contoso", "fabrikam", "northwind"},
		Channels: map[tierzero.TenantID][]tierzero.Channel{"contoso": {tierzero.ChannelTeams}, "fabrikam": {tierzero.ChannelSlack}},
		Now:      func() time.Time { return trailT0.Add(48 * time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &trailConsole{t: t, srv: srv, h: srv.Handler(), store: st}
	c.seed()
	return c
}

// seed writes one conversation a tenant: in contoso a password reset, in
// fabrikam an escalation with a ticket, in msp a technician's.
func (c *trailConsole) seed() {
	at := func(m int) time.Time { return trailT0.Add(time.Duration(m) * time.Minute) }
	ev := func(t tierzero.TenantID, conv, who string, m int, kind tierzero.AuditKind) tierzero.AuditEvent {
		return tierzero.AuditEvent{Time: at(m), Tenant: t, Kind: kind, Conversation: tierzero.ConversationID(conv),
			Requester: who, Channel: tierzero.ChannelTeams}
	}
	conv := "19:abc/def@thread.tacv2"
	msg := ev("contoso", conv, "adele@contoso.com", 0, tierzero.AuditMessage)
	msg.Text = "contoso-marker: I forgot my password"
	prop := ev("contoso", conv, "adele@contoso.com", 1, tierzero.AuditProposed)
	prop.Tool, prop.Args = "user.reset_password", json.RawMessage(`{"user":"adele@contoso.com"}`)
	dec := ev("contoso", conv, "adele@contoso.com", 2, tierzero.AuditDecided)
	dec.Tool, dec.Effect, dec.Layer, dec.Rule, dec.Reason = "user.reset_password", tierzero.EffectAllow, "global", "self-reset-password", "rule self-reset-password allows user.reset_password"
	dec.Facts = map[string]string{"target_is_requester": "true", "tenant": "contoso"}
	exe := ev("contoso", conv, "adele@contoso.com", 3, tierzero.AuditExecuted)
	exe.Tool, exe.Outcome, exe.Output = "user.reset_password", "ok", json.RawMessage(`{"temporaryPassword":"delivered privately to the requester"}`)
	rep := ev("contoso", conv, "adele@contoso.com", 4, tierzero.AuditReply)
	rep.Text, rep.Facts = "Done: I reset your password.", map[string]string{"outcome": "resolved"}
	c.store.add(msg, prop, dec, exe, rep)

	fconv := "slack:T1:C1:1700000000.000100"
	fm := ev("fabrikam", fconv, "bob@fabrikam.com", 10, tierzero.AuditMessage)
	fm.Channel, fm.Text = tierzero.ChannelSlack, "fabrikam-marker: my printer is on fire"
	fd := ev("fabrikam", fconv, "bob@fabrikam.com", 11, tierzero.AuditDecided)
	fd.Channel, fd.Tool, fd.Effect, fd.Rule = tierzero.ChannelSlack, "device.wipe", tierzero.EffectDeny, "no-wipe"
	fe := ev("fabrikam", fconv, "bob@fabrikam.com", 12, tierzero.AuditEscalated)
	fe.Channel, fe.Text, fe.Outcome = tierzero.ChannelSlack, "Bob asked about a printer.", "handed over"
	fr := ev("fabrikam", fconv, "bob@fabrikam.com", 13, tierzero.AuditReply)
	fr.Channel, fr.Facts = tierzero.ChannelSlack, map[string]string{"outcome": "escalated"}
	c.store.add(fm, fd, fe, fr)
	c.store.tickets["fabrikam"] = []tierzero.TicketRecord{{
		Ticket: tierzero.Ticket{Correlation: "tz-1", Escalation: tierzero.Escalation{Tenant: "fabrikam", Conversation: tierzero.ConversationID(fconv)}},
		State:  tierzero.TicketOpened, Ref: tierzero.TicketRef{System: "servicenow", ID: "abc", Number: "INC0010042"},
		Status: tierzero.TicketOpen, Created: at(12),
	}, {
		// A second escalation whose ticket is still in the outbox.
		Ticket: tierzero.Ticket{Correlation: "tz-2", Escalation: tierzero.Escalation{Tenant: "fabrikam", Conversation: tierzero.ConversationID(fconv)}},
		State:  tierzero.TicketQueued, Attempts: 1, Created: at(13),
	}}

	mm := ev("msp", "console-tech-1", trailTech, 20, tierzero.AuditMessage)
	mm.Text = "msp-marker: sign out adele everywhere"
	c.store.add(mm)
	// The technician's call into contoso is in contoso's trail, under the
	// technician's conversation.
	md := ev("contoso", "console-tech-1", trailTech, 21, tierzero.AuditDecided)
	md.Tool, md.Effect, md.Rule = "user.revoke_sessions", tierzero.EffectAllow, "msp-revoke"
	c.store.add(md)
}

// signIn returns the session cookie of upn, signed in with a one-time link.
func (c *trailConsole) signIn(upn string) *http.Cookie {
	c.t.Helper()
	link, ok := c.srv.OneTimeLink(upn)
	if !ok {
		c.t.Fatalf("no one-time link for %s", upn)
	}
	// The link's page, then its button.
	tok := strings.TrimPrefix(link, "/console/once?token=")
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, httptest.NewRequest("GET", link, nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `value="`+tok+`"`) {
		c.t.Fatalf("the link's page: %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest("POST", "/console/once", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Value != "" {
			return ck
		}
	}
	c.t.Fatalf("sign-in as %s set no cookie: %d %s", upn, rec.Code, rec.Body)
	return nil
}

// get answers a GET of path with the session ck.
func (c *trailConsole) get(ck *http.Cookie, path string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec
}

// post answers a POST of form to path with the session ck.
func (c *trailConsole) post(ck *http.Cookie, path string, form url.Values) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the session ck, read from a page.
func (c *trailConsole) csrf(ck *http.Cookie) string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(c.get(ck, "/console/tenants").Body.String())
	if m == nil {
		c.t.Fatal("no CSRF token on the tenants page")
	}
	return html.UnescapeString(m[1])
}

func TestConversationsShowOnlyVisibleTenants(t *testing.T) {
	c := newTrailConsole(t)
	for _, tc := range []struct {
		name      string
		upn, path string
		want      []string
		not       []string
	}{
		{"contoso admin", trailContosoAdmin, "/console/conversations",
			[]string{"adele@contoso.com", "resolved", "contoso"}, []string{"bob@fabrikam.com", "fabrikam", "INC0010042", `value="msp"`}},
		{"technician, all", trailTech, "/console/conversations",
			[]string{"adele@contoso.com", "bob@fabrikam.com", "INC0010042", "escalated", trailTech}, nil},
		{"technician, escalated only", trailTech, "/console/conversations?escalated=1",
			[]string{"bob@fabrikam.com", "INC0010042"}, []string{"adele@contoso.com", ">" + trailTech + "<"}},
		{"technician, fabrikam", trailTech, "/console/conversations?tenant=fabrikam",
			[]string{"bob@fabrikam.com", "yes · ticket INC0010042 (open) · ticket without a number yet (not opened yet)"}, []string{"adele@contoso.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := c.get(c.signIn(tc.upn), tc.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			body := html.UnescapeString(rec.Body.String())
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			main := body[strings.Index(body, "<main>"):]
			for _, n := range tc.not {
				if strings.Contains(main, n) {
					t.Errorf("page shows %q", n)
				}
			}
		})
	}
}

func TestConversationsRefuseOtherTenants(t *testing.T) {
	c := newTrailConsole(t)
	admin := c.signIn(trailContosoAdmin)
	var bodies []string
	for _, path := range []string{
		"/console/conversations?tenant=fabrikam",
		"/console/conversations?tenant=nosuchtenant",
		"/console/conversations?tenant=msp",
		"/console/conversations/fabrikam/" + url.PathEscape("slack:T1:C1:1700000000.000100"),
		"/console/conversations/nosuchtenant/x",
		"/console/conversations/msp/console-tech-1",
	} {
		rec := c.get(admin, path)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "fabrikam-marker") || strings.Contains(rec.Body.String(), "msp-marker") {
			t.Errorf("%s shows another tenant's conversation", path)
		}
		bodies = append(bodies, rec.Body.String())
	}
	if bodies[0] != bodies[1] || bodies[3] != bodies[4] {
		t.Errorf("a tenant that exists is refused differently from one that does not: %q", bodies)
	}
}

func TestConversationTranscript(t *testing.T) {
	c := newTrailConsole(t)
	tech := c.signIn(trailTech)
	list := c.get(tech, "/console/conversations?tenant=contoso").Body.String()
	link := "/console/conversations/contoso/" + url.PathEscape("19:abc/def@thread.tacv2")
	if !strings.Contains(list, `href="`+link+`"`) {
		t.Fatalf("the list does not link %s:\n%s", link, list)
	}
	rec := c.get(tech, link)
	if rec.Code != http.StatusOK {
		t.Fatalf("transcript: status %d: %s", rec.Code, rec.Body)
	}
	body := html.UnescapeString(rec.Body.String())
	// In order: said, proposed, checked (with its facts), tried, replied.
	last := -1
	for _, w := range []string{"Said", "contoso-marker: I forgot my password", "Proposed", "Checked", "allow", "self-reset-password",
		"target_is_requester", "Tried", "Outcome: ok", "delivered privately to the requester", "Replied", "Done: I reset your password."} {
		i := strings.Index(body[max(last, 0):], w)
		if i < 0 {
			t.Fatalf("transcript lacks %q after position %d", w, last)
		}
		last = max(last, 0) + i
	}

	// The escalated conversation shows its ticket; a conversation of the
	// technician shows their calls into contoso with it.
	fab := html.UnescapeString(c.get(tech, "/console/conversations/fabrikam/"+url.PathEscape("slack:T1:C1:1700000000.000100")).Body.String())
	for _, w := range []string{"Escalated", "handed over", "Ticket INC0010042 (open)", "deny", "no-wipe"} {
		if !strings.Contains(fab, w) {
			t.Errorf("escalated transcript lacks %q", w)
		}
	}
	own := html.UnescapeString(c.get(tech, "/console/conversations/msp/console-tech-1").Body.String())
	for _, w := range []string{"msp-marker", "user.revoke_sessions", "in tenant contoso"} {
		if !strings.Contains(own, w) {
			t.Errorf("technician's transcript lacks %q", w)
		}
	}
	// A contoso admin sees the technician's call in their tenant, not the
	// technician's own words.
	adm := c.get(c.signIn(trailContosoAdmin), "/console/conversations/contoso/console-tech-1").Body.String()
	if !strings.Contains(adm, "user.revoke_sessions") || strings.Contains(adm, "msp-marker") {
		t.Errorf("contoso admin's view of the technician's conversation:\n%s", adm)
	}
	if rec := c.get(tech, "/console/conversations/contoso/no-such-conversation"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown conversation: status %d, want 404", rec.Code)
	}
}

func TestConversationEscapesHostileText(t *testing.T) {
	c := newTrailConsole(t)
	hostile := "<script>alert(1)</script> ping <@U024BE7LH> <!channel> \x1b[2Kgone \u202eevil"
	c.store.add(tierzero.AuditEvent{Time: trailT0.Add(time.Hour), Tenant: "contoso", Kind: tierzero.AuditMessage,
		Conversation: "hostile", Requester: "eve@contoso.com\x1b]0;title\x07", Channel: tierzero.ChannelSlack, Text: hostile},
		tierzero.AuditEvent{Time: trailT0.Add(time.Hour + time.Second), Tenant: "contoso", Kind: tierzero.AuditDecided,
			Conversation: "hostile", Tool: "user.reset_password", Effect: tierzero.EffectDeny,
			Reason: "<img src=x onerror=alert(2)>", Facts: map[string]string{"target": "<b>bold</b>"}})
	admin := c.signIn(trailContosoAdmin)
	for _, path := range []string{"/console/conversations/contoso/hostile", "/console/conversations", "/console/audit"} {
		body := c.get(admin, path).Body.String()
		for _, bad := range []string{"<script>alert", "<@U024BE7LH>", "<!channel>", "<img", "<b>bold", "\x1b", "\u202e"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s shows %q unescaped", path, bad)
			}
		}
		if path != "/console/conversations" && !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the hostile text escaped", path)
		}
	}
}

// A request that waited for an approval shows how the approval ended, not
// "pending" for ever.
func TestConversationsOutcomeAfterApproval(t *testing.T) {
	for _, tc := range []struct {
		name string
		then []tierzero.AuditEvent
		want string
	}{
		{"still waiting", []tierzero.AuditEvent{{Kind: tierzero.AuditApprovalDecided, Outcome: "pending"}}, ">pending<"},
		{"approved and done", []tierzero.AuditEvent{{Kind: tierzero.AuditApprovalDecided, Outcome: "approved"}, {Kind: tierzero.AuditApprovalExecuted, Outcome: "ok"}}, ">resolved<"},
		{"approved, failed", []tierzero.AuditEvent{{Kind: tierzero.AuditApprovalExecuted, Outcome: "failed"}}, ">failed<"},
		{"denied", []tierzero.AuditEvent{{Kind: tierzero.AuditApprovalDecided, Outcome: "denied"}}, ">denied<"},
		{"expired", []tierzero.AuditEvent{{Kind: tierzero.AuditApprovalExpired, Outcome: "expired"}}, ">expired<"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTrailConsole(t)
			conv := tierzero.ConversationID("slack:T1:D1:1700000000.000200")
			evs := []tierzero.AuditEvent{
				{Kind: tierzero.AuditMessage, Text: "I lost my authenticator"},
				{Kind: tierzero.AuditReply, Facts: map[string]string{"outcome": "pending"}},
			}
			evs = append(evs, tc.then...)
			for i := range evs {
				evs[i].Time, evs[i].Tenant, evs[i].Conversation = trailT0.Add(time.Duration(i)*time.Minute), "contoso", conv
				evs[i].Requester, evs[i].Channel = "grady@contoso.com", tierzero.ChannelSlack
				c.store.add(evs[i])
			}
			rec := c.get(c.signIn(trailContosoAdmin), "/console/conversations")
			body := rec.Body.String()
			row := body[strings.Index(body, "grady@contoso.com"):]
			row = row[:strings.Index(row, "</tr>")]
			if rec.Code != http.StatusOK || !strings.Contains(row, tc.want) {
				t.Fatalf("status %d; the row says\n%s\nwant %s", rec.Code, row, tc.want)
			}
		})
	}
}
