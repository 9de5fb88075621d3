package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// The approvals and operations pages are tested against small fakes of the
// desk and the store: what the console lists, and what it sends the desk.

const (
	apTech  = "tess@msp.example"
	apAdmin = "megan.bowen@contoso.com"
)

// apStore is a store of pending approvals by tenant; it records which
// tenants were read.
type apStore struct {
	mu    sync.Mutex
	m     map[tierzero.TenantID][]tierzero.Approval
	reads []tierzero.TenantID
}

func (s *apStore) ListApprovals(_ context.Context, t tierzero.TenantID, st tierzero.ApprovalState) ([]tierzero.Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = append(s.reads, t)
	var out []tierzero.Approval
	for _, a := range s.m[t] {
		if a.State == st {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *apStore) Approval(_ context.Context, t tierzero.TenantID, id string) (tierzero.Approval, error) {
	for _, a := range s.m[t] {
		if a.ID == id {
			return a, nil
		}
	}
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "no approval %s", id)
}

func (s *apStore) Audit(context.Context, tierzero.TenantID, time.Time, func(tierzero.AuditEvent) error) error {
	return nil
}

func (s *apStore) Tickets(context.Context, tierzero.TenantID) ([]tierzero.TicketRecord, error) {
	return nil, nil
}

func (s *apStore) Verify(context.Context, tierzero.TenantID) (int, error) { return 0, nil }

// apDesk records the votes and messages it gets; its Handle answers
// through the web channel's responder, as the desk delivers.
type apDesk struct {
	mu      sync.Mutex
	votes   []bot.Vote
	inbound []tierzero.Inbound
	verdict bot.Verdict
	answer  func(in tierzero.Inbound) (text string, secret tierzero.Secret)
	web     bot.Responder
}

func (d *apDesk) Decide(_ context.Context, v bot.Vote) (bot.Verdict, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.votes = append(d.votes, v)
	return d.verdict, nil
}

func (d *apDesk) Handle(ctx context.Context, in tierzero.Inbound) (tierzero.Reply, error) {
	d.mu.Lock()
	d.inbound = append(d.inbound, in)
	answer := d.answer
	d.mu.Unlock()
	text, secret := "ok", tierzero.Secret{}
	if answer != nil {
		text, secret = answer(in)
	}
	to := bot.Address{Tenant: in.Tenant, Channel: in.Channel, Conversation: in.Conversation,
		To: tierzero.Requester{Tenant: in.Tenant, UPN: in.User.UPN, Role: tierzero.RoleMSPTechnician}}
	reply := tierzero.Reply{Text: text}
	if !secret.IsZero() {
		reply.Private = []tierzero.PrivateNote{{To: to.To, Secret: secret}}
		d.web.Private(ctx, to, reply.Private[0])
	}
	d.web.Reply(ctx, to, text)
	return reply, nil
}

func (d *apDesk) Problems() map[tierzero.TenantID]string { return nil }

func (d *apDesk) calls() ([]bot.Vote, []tierzero.Inbound) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bot.Vote(nil), d.votes...), append([]tierzero.Inbound(nil), d.inbound...)
}

type apPolicy struct{}

func (apPolicy) Check([]byte) (tierzero.Decision, error) { return tierzero.Decision{}, nil }
func (apPolicy) Layers(tierzero.TenantID) []string       { return nil }

// apReach admits the technician to both client tenants.
type apReach struct{}

func (apReach) Across(tierzero.Requester) []tierzero.TenantID {
	return []tierzero.TenantID{"fabrikam", "contoso"}
}

var apNow = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// apServer is a console on the fakes: tess is a technician of the MSP
// "msp" acting in contoso and fabrikam; megan is contoso's tenant admin.
func apServer(t *testing.T, approvals map[tierzero.TenantID][]tierzero.Approval) (*Server, *apDesk, *apStore) {
	t.Helper()
	st := &apStore{m: approvals}
	d := &apDesk{verdict: bot.Verdict{Text: "You approved it, and it ran."}}
	s, err := New(Config{
		Desk: d, Store: st, Policy: apPolicy{}, Reach: apReach{},
		Staff: bot.Staff{
			Home:        "msp",
			Technicians: []bot.Technician{{UPN: apTech, Name: "Tess Nguyen"}},
			Admins:      map[tierzero.TenantID][]string{"contoso": {apAdmin}, "fabrikam": {"fab.admin@fabrikam.com"}},
			Clients:     []tierzero.TenantID{"contoso", "fabrikam"},
		},
		Now: func() time.Time { return apNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	d.web = s.Responder()
	return s, d, st
}

// apClient is a signed-in viewer's session on a console.
type apClient struct {
	t      *testing.T
	h      http.Handler
	cookie *http.Cookie
	csrf   string
}

func apSignIn(t *testing.T, s *Server, upn string) *apClient {
	t.Helper()
	v, ok := s.viewerOf(upn, "")
	if !ok {
		t.Fatalf("%s is not a viewer", upn)
	}
	id := s.sessions.start(v)
	return &apClient{t: t, h: s.Handler(), cookie: &http.Cookie{Name: sessionCookie, Value: id}, csrf: v.csrf}
}

func (c *apClient) get(path string) (int, string) {
	c.t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.AddCookie(c.cookie)
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

// post sends a form with the session's CSRF token; it returns the status
// and the Location of a redirect, else the body.
func (c *apClient) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", c.csrf)
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(c.cookie)
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	if loc := w.Header().Get("Location"); loc != "" {
		return w.Code, loc
	}
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func apApproval(id string, tenant tierzero.TenantID, requester string, approvers ...string) tierzero.Approval {
	return tierzero.Approval{
		ID: id, Tenant: tenant, Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`),
		Requester: tierzero.Requester{Tenant: tenant, UPN: requester, Role: tierzero.RoleEmployee, Channel: tierzero.ChannelSlack},
		Summary:   "reset the password of adele.vance@contoso.com (" + id + ")", Rule: "rule-" + id, Layer: "global", Reason: "because",
		Approvers: approvers, Count: 1, State: tierzero.ApprovalPending, Expires: apNow.Add(time.Hour), Created: apNow.Add(-time.Minute),
	}
}

func apFixture() map[tierzero.TenantID][]tierzero.Approval {
	manager := apApproval("c-manager", "contoso", "adele.vance@contoso.com", "manager")
	manager.Suggested = []string{apAdmin}
	otherManager := apApproval("c-other-manager", "contoso", "adele.vance@contoso.com", "manager")
	otherManager.Suggested = []string{"lynne.robbins@contoso.com"}
	decided := apApproval("c-decided", "contoso", "adele.vance@contoso.com", "role:tenant_admin", "role:msp_technician")
	decided.Count = 2
	decided.Decisions = []tierzero.ApprovalDecision{{Approver: apAdmin, Approve: true, Time: apNow}}
	expired := apApproval("c-expired", "contoso", "adele.vance@contoso.com", "role:tenant_admin")
	expired.Expires = apNow.Add(-time.Second)
	hostile := apApproval("c-admin", "contoso", "adele.vance@contoso.com", "role:tenant_admin")
	hostile.Summary = `reset <script>alert("x")</script> now`
	hostile.Args = json.RawMessage(`{"user":"<img src=x onerror=alert(1)>"}`)
	return map[tierzero.TenantID][]tierzero.Approval{
		"contoso": {
			hostile,
			apApproval("c-tech", "contoso", "adele.vance@contoso.com", "role:msp_technician"),
			manager, otherManager, decided, expired,
			apApproval("c-own", "contoso", apAdmin, "role:tenant_admin"),
			apApproval("c-group", "contoso", "adele.vance@contoso.com", "group:Helpdesk"),
		},
		"fabrikam": {
			apApproval("f-admin", "fabrikam", "noah.bennett@fabrikam.com", "role:tenant_admin"),
			apApproval("f-tech", "fabrikam", "noah.bennett@fabrikam.com", "role:msp_technician"),
		},
	}
}

func TestApprovalsListsWhatTheViewerMayDecide(t *testing.T) {
	all := []string{"c-admin", "c-tech", "c-manager", "c-other-manager", "c-decided", "c-expired", "c-own", "c-group", "f-admin", "f-tech"}
	for _, tc := range []struct {
		name, upn string
		want      []string
	}{
		{"contoso's tenant admin", apAdmin, []string{"c-admin", "c-manager", "c-group"}},
		{"technician", apTech, []string{"c-tech", "c-decided", "c-group", "f-tech"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, st := apServer(t, apFixture())
			code, body := apSignIn(t, s, tc.upn).get("/console/approvals")
			if code != http.StatusOK {
				t.Fatalf("GET approvals: %d %s", code, body)
			}
			for _, id := range all {
				got := strings.Contains(body, `name="id" value="`+id+`"`)
				want := strings.Contains(strings.Join(tc.want, " "), id)
				if got != want {
					t.Errorf("approval %s listed: %v, want %v", id, got, want)
				}
			}
			if tc.upn == apAdmin {
				for _, r := range st.reads {
					if r != "contoso" {
						t.Errorf("the approvals of %s were read for contoso's admin", r)
					}
				}
				if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
					t.Error("tenant data reached the page unescaped")
				}
				if !strings.Contains(body, "&lt;script&gt;") {
					t.Error("the summary is not shown (escaped)")
				}
				if !strings.Contains(body, "rule-c-admin") || !strings.Contains(body, "adele.vance@contoso.com") {
					t.Error("the policy rule or the requester is missing")
				}
			}
			if strings.Contains(strings.Join(tc.want, " "), "c-group") && !strings.Contains(body, "the Guard checks when you decide") {
				t.Error("a group's approval is listed without saying the Guard checks membership")
			}
		})
	}
}

func TestDecideRefusesATenantTheViewerDoesNotSee(t *testing.T) {
	s, d, _ := apServer(t, apFixture())
	c := apSignIn(t, s, apAdmin)
	codeA, bodyA := c.post("/console/approvals/decide", url.Values{"tenant": {"fabrikam"}, "id": {"f-admin"}, "decision": {"approve"}})
	codeB, bodyB := c.post("/console/approvals/decide", url.Values{"tenant": {"fabrikam"}, "id": {"no-such-id"}, "decision": {"approve"}})
	if codeA != http.StatusForbidden || codeB != http.StatusForbidden {
		t.Fatalf("forged decisions: %d, %d, want 403", codeA, codeB)
	}
	if bodyA != bodyB {
		t.Errorf("the refusal tells an existing id from a missing one:\n%q\n%q", bodyA, bodyB)
	}
	if votes, _ := d.calls(); len(votes) != 0 {
		t.Fatalf("the desk got %d votes", len(votes))
	}
	// Without the CSRF token, nothing is decided either.
	code, _ := c.post("/console/approvals/decide", url.Values{"csrf": {"forged"}, "tenant": {"contoso"}, "id": {"c-admin"}, "decision": {"approve"}})
	if votes, _ := d.calls(); code != http.StatusForbidden || len(votes) != 0 {
		t.Fatalf("without the CSRF token: %d and %d votes", code, len(votes))
	}
}

func TestDecideVotesThroughTheDesk(t *testing.T) {
	for _, tc := range []struct {
		name, upn, tenant, id, decision string
		verdict                         bot.Verdict
		want                            bot.Vote
		wantLoc                         string
	}{
		{"tenant admin approves in their tenant", apAdmin, "contoso", "c-admin", "approve",
			bot.Verdict{Text: "You approved c-admin, and it ran."},
			bot.Vote{Channel: tierzero.ChannelWeb, Tenant: "contoso", User: tierzero.PlatformUser{UPN: apAdmin}, Approval: "c-admin", Approve: true},
			"/console/approvals?flash=You+approved+c-admin%2C+and+it+ran."},
		{"technician denies from the MSP's tenant", apTech, "fabrikam", "f-tech", "deny",
			bot.Verdict{Text: "You denied f-tech. Nothing was changed."},
			bot.Vote{Channel: tierzero.ChannelWeb, Tenant: "msp", User: tierzero.PlatformUser{UPN: apTech, DisplayName: "Tess Nguyen"}, Approval: "f-tech"},
			"/console/approvals?flash=You+denied+f-tech.+Nothing+was+changed."},
		{"a refused vote is an error", apAdmin, "contoso", "c-tech", "approve",
			bot.Verdict{Refused: true, Text: "Your decision was not recorded: you may not approve this."},
			bot.Vote{Channel: tierzero.ChannelWeb, Tenant: "contoso", User: tierzero.PlatformUser{UPN: apAdmin}, Approval: "c-tech", Approve: true},
			"/console/approvals?error=Your+decision+was+not+recorded%3A+you+may+not+approve+this."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, d, _ := apServer(t, apFixture())
			d.verdict = tc.verdict
			c := apSignIn(t, s, tc.upn)
			code, loc := c.post("/console/approvals/decide", url.Values{"tenant": {tc.tenant}, "id": {tc.id}, "decision": {tc.decision}})
			if code != http.StatusSeeOther || !strings.HasPrefix(loc, tc.wantLoc+"&") {
				t.Fatalf("decide: %d %q, want 303 %q and its signature", code, loc, tc.wantLoc)
			}
			votes, _ := d.calls()
			if len(votes) != 1 || votes[0] != tc.want {
				t.Fatalf("votes %+v, want %+v", votes, tc.want)
			}
			code, body := c.get(loc)
			if code != http.StatusOK || !strings.Contains(body, tc.verdict.Text) {
				t.Fatalf("the page after the decision: %d, without %q", code, tc.verdict.Text)
			}
			if cls := map[bool]string{true: `class="error"`, false: `class="flash"`}[tc.verdict.Refused]; !strings.Contains(body, cls) {
				t.Errorf("the verdict is not shown as %s", cls)
			}
			// The same words in a link without this session's signature
			// (made by anyone, or for another session) are not shown.
			for _, forged := range []string{tc.wantLoc, tc.wantLoc + "&flash_mac=AAAAAAAAAAAAAAAAAAAAAAAA&error_mac=AAAAAAAAAAAAAAAAAAAAAAAA", otherSession(s, tc.upn, tc.verdict)} {
				if _, body := c.get(forged); strings.Contains(body, tc.verdict.Text) {
					t.Errorf("%s shows %q", forged, tc.verdict.Text)
				}
			}
		})
	}
}

func TestDecideNeedsADecision(t *testing.T) {
	s, d, _ := apServer(t, apFixture())
	c := apSignIn(t, s, apAdmin)
	for _, form := range []url.Values{
		{"tenant": {"contoso"}, "id": {"c-admin"}, "decision": {"maybe"}},
		{"tenant": {"contoso"}, "id": {""}, "decision": {"approve"}},
		{"tenant": {"contoso"}, "id": {"a\nb"}, "decision": {"approve"}},
	} {
		if code, _ := c.post("/console/approvals/decide", form); code != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", form, code)
		}
	}
	if votes, _ := d.calls(); len(votes) != 0 {
		t.Fatalf("the desk got %d votes", len(votes))
	}
}

// otherSession is the approvals page with a verdict signed for another
// session of upn.
func otherSession(s *Server, upn string, v bot.Verdict) string {
	other, _ := s.viewerOf(upn, "")
	s.sessions.start(other)
	return signedURL(other, Prefix+"/approvals", map[bool]string{true: "error", false: "flash"}[v.Refused], v.Text)
}
