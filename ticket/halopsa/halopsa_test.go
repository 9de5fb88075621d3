package halopsa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// The fake speaks the HaloPSA API as its reference describes it (Halo's own
// API documentation is served by each instance at {instance}/apidoc; the
// endpoints and parameters used here are summarized at
// https://kb.dtctoday.com/books/halopsa-api-reference/page/ticket-endpoints
// and https://kb.dtctoday.com/books/halopsa-api-reference/page/action-endpoints):
//
//   - Authorisation: POST {auth}/token (?tenant= on hosted Halo),
//     application/x-www-form-urlencoded grant_type=client_credentials,
//     client_id, client_secret, scope=all → {access_token, token_type,
//     expires_in}; a bad client is OAuth's 400 invalid_client (RFC 6749,
//     5.2); API calls carry Authorization: Bearer, 401 otherwise. The same
//     flow as the HaloAPI PowerShell module's Connect-HaloAPI:
//     https://www.powershellgallery.com/packages/HaloAPI/1.14.0/Content/Public%5CConnect-HaloAPI.ps1
//   - POST /api/Tickets takes an array of tickets (summary, details,
//     client_id, site_id, user_id, tickettype_id, team, category_1,
//     priority_id, customfields [{id, value}]) and answers 201 with the
//     ticket created; GET /api/Tickets?search=&client_id=&open_only= →
//     {record_count, tickets}; GET /api/Tickets/{id} → the ticket.
//   - POST /api/Actions takes an array of actions (ticket_id, outcome, note,
//     hiddenfromuser, sendemail, new_status); GET /api/Actions?ticket_id=
//     &excludesys=&excludeprivate=&agentonly= → {record_count, actions}.
//   - GET /api/Users?search=&client_id= → {record_count, users}; GET
//     /api/Status → [{id, name}].
//   - Throttling: no page of Halo's on it was found; the fake answers 429
//     with Retry-After (RFC 9110, 10.2.3), which the shared helper honours.
type fake struct {
	t *testing.T

	mu       sync.Mutex
	tickets  []map[string]any
	actions  []map[string]any
	seq      int
	bodies   []string
	calls    []string
	tokens   map[string]bool
	tokenReq int
	forms    []url.Values
	throttle int
	fail500  bool
	now      time.Time
}

const (
	haloClientID = "c9534241-dde9-4d04-9d45-32b1fbff22ed"
	haloSecret   = "14c0c9af-2db1-48ab-secret-739e4ef2"
	apiAgent     = 42 // the API application's agent
	techAgent    = 7
)

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{t: t, tokens: map[string]bool{}, now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(body))
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/auth/token" {
		f.tokenReq++
		form, _ := url.ParseQuery(string(body))
		f.forms = append(f.forms, form)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") ||
			form.Get("grant_type") != "client_credentials" || form.Get("client_id") != haloClientID ||
			form.Get("client_secret") != haloSecret || form.Get("scope") != "all" {
			f.writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client"})
			return
		}
		tok := fmt.Sprintf("halo-token-%d", f.tokenReq)
		f.tokens[tok] = true
		f.writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "scope": "all"})
		return
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || !f.tokens[tok] {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "4")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	q := r.URL.Query()
	switch path := r.URL.Path; {
	case r.Method == http.MethodGet && path == "/api/Status":
		f.writeJSON(w, http.StatusOK, []map[string]any{{"id": 1, "name": "New"}, {"id": 2, "name": "In Progress"},
			{"id": 4, "name": "Waiting on User"}, {"id": 8, "name": "Resolved"}, {"id": 9, "name": "Closed"}})
	case r.Method == http.MethodGet && path == "/api/Users":
		users := []map[string]any{}
		for _, u := range []map[string]any{
			{"id": 311, "name": "Adele Vance", "emailaddress": "adele@contoso.com", "client_id": 12, "site_id": 31},
			{"id": 900, "name": "Adele Vance", "emailaddress": "adele@contoso.com", "client_id": 99, "site_id": 5},
		} {
			if strings.Contains(u["emailaddress"].(string), q.Get("search")) && strconv.Itoa(u["client_id"].(int)) == q.Get("client_id") {
				users = append(users, u)
			}
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"record_count": len(users), "users": users})
	case r.Method == http.MethodPost && path == "/api/Tickets":
		var in []map[string]any
		if err := json.Unmarshal(body, &in); err != nil || len(in) != 1 {
			f.writeJSON(w, http.StatusBadRequest, map[string]string{"ClassName": "System.Exception", "Message": "the body must be an array"})
			return
		}
		f.seq++
		tk := in[0]
		tk["id"] = float64(2000 + f.seq)
		tk["status_id"] = float64(1)
		f.tickets = append(f.tickets, tk)
		if f.fail500 {
			f.writeJSON(w, http.StatusInternalServerError, map[string]string{"ClassName": "System.Exception", "Message": "An error occurred"})
			return
		}
		f.writeJSON(w, http.StatusCreated, tk)
	case r.Method == http.MethodGet && path == "/api/Tickets":
		out := []map[string]any{}
		for _, tk := range f.tickets {
			raw, _ := json.Marshal(tk)
			if strings.Contains(string(raw), q.Get("search")) && fmt.Sprint(tk["client_id"]) == q.Get("client_id") {
				out = append(out, tk)
			}
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"record_count": len(out), "tickets": out})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/Tickets/"):
		if tk := f.ticket(strings.TrimPrefix(path, "/api/Tickets/")); tk != nil {
			f.writeJSON(w, http.StatusOK, tk)
			return
		}
		f.writeJSON(w, http.StatusNotFound, map[string]string{"ClassName": "System.Exception", "Message": "Ticket not found"})
	case r.Method == http.MethodPost && path == "/api/Actions":
		var in []map[string]any
		if err := json.Unmarshal(body, &in); err != nil || len(in) != 1 || f.ticket(fmt.Sprint(in[0]["ticket_id"])) == nil {
			f.writeJSON(w, http.StatusBadRequest, map[string]string{"ClassName": "System.Exception", "Message": "invalid action"})
			return
		}
		a := f.action(in[0], apiAgent, "tierzero API")
		if st, ok := in[0]["new_status"]; ok {
			f.ticket(fmt.Sprint(in[0]["ticket_id"]))["status_id"] = st
		}
		f.writeJSON(w, http.StatusCreated, a)
	case r.Method == http.MethodGet && path == "/api/Actions":
		out := []map[string]any{}
		for _, a := range f.actions {
			if fmt.Sprint(a["ticket_id"]) != q.Get("ticket_id") ||
				(q.Get("excludeprivate") == "true" && a["hiddenfromuser"] == true) ||
				(q.Get("agentonly") == "true" && a["who_agentid"] == float64(0)) {
				continue
			}
			out = append(out, a)
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"record_count": len(out), "actions": out})
	default:
		f.writeJSON(w, http.StatusNotFound, map[string]string{"Message": "No HTTP resource was found"})
	}
}

func (f *fake) action(a map[string]any, agent int, who string) map[string]any {
	f.seq++
	a["id"] = float64(f.seq)
	a["who_agentid"] = float64(agent)
	a["who"] = who
	a["datetime"] = f.now.Format("2006-01-02T15:04:05.000")
	if _, ok := a["hiddenfromuser"]; !ok {
		a["hiddenfromuser"] = false
	}
	f.actions = append(f.actions, a)
	return a
}

func (f *fake) ticket(id string) map[string]any {
	for _, tk := range f.tickets {
		if fmt.Sprint(tk["id"]) == id {
			return tk
		}
	}
	return nil
}

func escalation() tierzero.Escalation {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	return tierzero.Escalation{
		Tenant: "contoso", Conversation: "conv-1", Time: at,
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelSlack},
		Summary:   "Adele Vance's laptop will not lock remotely.", Cause: tierzero.CauseModelRequest, Reason: "the device is not managed by Intune",
		Checked:   []tierzero.EscalationStep{{CallID: "c1", Action: "device.list", Args: json.RawMessage(`{"user":"adele@contoso.com"}`), OK: true, Result: "LAPTOP-7 not managed"}},
		Tried:     []tierzero.EscalationStep{{CallID: "c2", Action: "device.lock", Args: json.RawMessage(`{"device":"LAPTOP-7"}`), OK: false, Result: "device not found in Intune"}},
		Decisions: []tierzero.EscalationDecision{{CallID: "c2", Action: "device.lock", Effect: tierzero.EffectAllow, Layer: "baseline", Rule: "30-devices-l2/self-lock", Reason: "own device"}},
		Transcript: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "I lost my laptop on the train, please lock it <b>now</b>", Time: at},
			{Role: tierzero.TurnAssistant, Content: "I could not lock it; I am handing this to the IT team.", Time: at.Add(time.Minute)},
		},
	}
}

func newTicket() tierzero.Ticket {
	return tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()}
}

func newClient(t *testing.T, srv *httptest.Server, secret string, opts ...func(*Config)) (*Client, *[]time.Duration) {
	t.Helper()
	cfg := Config{URL: srv.URL, ClientIDEnv: "HALO_ID", ClientSecretEnv: "HALO_SECRET", ClientID: 12, TicketTypeID: 1,
		Team: "Service Desk", TeamRules: []Rule{{Action: "device.lock", Value: "Endpoint"}},
		Category: "Microsoft 365", CategoryRules: []Rule{{Action: "device.", Value: "Hardware"}},
		PriorityID: 4, PriorityRules: []Rule{{Contains: "lost my laptop", Value: "2"}},
		CorrelationFieldID: 145, RequesterLookup: true, AgentID: apiAgent}
	for _, o := range opts {
		o(&cfg)
	}
	env := map[string]string{"HALO_ID": haloClientID, "HALO_SECRET": secret}
	var slept []time.Duration
	c, err := New(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c, &slept
}

func TestCreate(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, haloSecret)
	tk := newTicket()
	ref, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ref, (tierzero.TicketRef{System: "halopsa", ID: "2001", Number: "2001", URL: srv.URL + "/ticket?id=2001"}); got != want {
		t.Errorf("ref = %+v, want %+v", got, want)
	}
	if len(f.tickets) != 1 {
		t.Fatalf("%d tickets, want 1", len(f.tickets))
	}
	got := f.tickets[0]
	for k, want := range map[string]any{"client_id": 12.0, "site_id": 31.0, "user_id": 311.0, "tickettype_id": 1.0,
		"team": "Endpoint", "category_1": "Hardware", "priority_id": 2.0,
		"summary": "Adele Vance: I lost my laptop on the train, please lock it <b>now</b>"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if cf, _ := json.Marshal(got["customfields"]); string(cf) != `[{"id":145,"value":"`+tk.Correlation+`"}]` {
		t.Errorf("customfields %s", cf)
	}
	details, _ := got["details"].(string)
	for _, want := range []string{"Adele Vance &lt;adele@contoso.com&gt;", "tenant contoso", "I lost my laptop on the train, please lock it &lt;b&gt;now&lt;/b&gt;",
		"the device is not managed by Intune", "device.list", "LAPTOP-7 not managed", "device.lock", "device not found in Intune",
		"baseline/30-devices-l2/self-lock", "I am handing this to the IT team", "conversation conv-1", tk.Correlation, "<br>"} {
		if !strings.Contains(details, want) {
			t.Errorf("details lack %q:\n%s", want, details)
		}
	}
	if strings.Contains(details, "<b>") {
		t.Errorf("details hold the requester's HTML unescaped")
	}
	for _, b := range f.bodies[1:] { // the first is the token form
		if strings.Contains(b, haloSecret) {
			t.Errorf("an API request body holds the client secret: %s", b)
		}
	}
	if got, want := f.calls, []string{"POST /auth/token", "GET /api/Users", "POST /api/Tickets"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestToken(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, haloSecret, func(c *Config) { c.Tenant = "contoso-msp" })
	ctx := context.Background()
	ref, err := c.Create(ctx, newTicket())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Find(ctx, newTicket().Correlation); err != nil {
		t.Fatal(err)
	}
	if f.tokenReq != 1 {
		t.Errorf("%d token requests, want 1 (cached)", f.tokenReq)
	}
	clear(f.tokens) // revoked
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "x"}); tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Errorf("Note with a revoked token: %v", err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "y"}); err != nil || f.tokenReq != 2 {
		t.Errorf("Note after a new token: %v (%d token requests)", err, f.tokenReq)
	}
}

func TestFind(t *testing.T) {
	for _, field := range []int{145, 0} {
		t.Run(fmt.Sprint("field ", field), func(t *testing.T) {
			_, srv := newFake(t)
			c, _ := newClient(t, srv, haloSecret, func(c *Config) { c.CorrelationFieldID = field })
			ctx := context.Background()
			tk := newTicket()
			if _, ok, err := c.Find(ctx, tk.Correlation); err != nil || ok {
				t.Fatalf("Find before create = %v, %v", ok, err)
			}
			created, err := c.Create(ctx, tk)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok, err := c.Find(ctx, tk.Correlation); err != nil || !ok || got != created {
				t.Errorf("Find = %+v, %v, %v; want %+v", got, ok, err, created)
			}
			if _, ok, err := c.Find(ctx, "tz-000000000000000000000000"); err != nil || ok {
				t.Errorf("Find(other) = %v, %v", ok, err)
			}
		})
	}
}

func TestCreateAmbiguous(t *testing.T) {
	f, srv := newFake(t)
	f.fail500 = true
	c, _ := newClient(t, srv, haloSecret, func(c *Config) { c.RequesterLookup = false })
	tk := newTicket()
	_, err := c.Create(context.Background(), tk)
	var te *ticket.Error
	if !errors.As(err, &te) || !te.MaybeApplied() {
		t.Fatalf("err = %v, want an ambiguous *ticket.Error", err)
	}
	if n := slices.Index(f.calls, "POST /api/Tickets"); n < 0 || slices.Contains(f.calls[n+1:], "POST /api/Tickets") {
		t.Errorf("calls %q, want one POST", f.calls)
	}
	if _, ok, err := c.Find(context.Background(), tk.Correlation); err != nil || !ok {
		t.Errorf("Find after the ambiguous create = %v, %v", ok, err)
	}
}

func TestNotesAndUpdates(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, haloSecret)
	ctx := context.Background()
	ref, err := c.Create(ctx, newTicket())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "Adele was told 2001.", Public: false}); err != nil {
		t.Fatal(err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "We are on it.", Public: true}); err != nil {
		t.Fatal(err)
	}
	if len(f.actions) != 2 || f.actions[0]["hiddenfromuser"] != true || f.actions[1]["hiddenfromuser"] != false ||
		f.actions[1]["sendemail"] != true || f.actions[0]["note"] != "Adele was told 2001." {
		t.Fatalf("actions %v: want a hidden one then a visible one", f.actions)
	}
	f.now = f.now.Add(time.Hour)
	f.action(map[string]any{"ticket_id": 2001.0, "note": "<p>Is the laptop <b>LAPTOP-7</b>?</p>"}, techAgent, "Beth Tech")
	f.action(map[string]any{"ticket_id": 2001.0, "note": "check the asset register", "hiddenfromuser": true}, techAgent, "Beth Tech")
	f.action(map[string]any{"ticket_id": 2001.0, "note": "reply from Adele"}, 0, "Adele Vance") // the end user's own email
	f.ticket("2001")["status_id"] = 4.0

	up, err := c.Updates(ctx, ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != tierzero.TicketPending || up.Vendor != "Waiting on User" {
		t.Errorf("status %q (%q), want pending", up.Status, up.Vendor)
	}
	if got := texts(up.Comments); !slices.Equal(got, []string{"Is the laptop LAPTOP-7?"}) {
		t.Errorf("comments %q: want the technician's visible action only", got)
	}
	if up.Comments[0].Author != "Beth Tech" || !up.Comments[0].Time.Equal(f.now) {
		t.Errorf("comment %+v", up.Comments[0])
	}
	again, err := c.Updates(ctx, ref, up.Cursor)
	if err != nil || len(again.Comments) != 0 {
		t.Errorf("Updates(cursor) = %q, %v", texts(again.Comments), err)
	}
	if err := c.Close(ctx, ref, "connection test"); err != nil {
		t.Fatal(err)
	}
	up, err = c.Updates(ctx, ref, again.Cursor)
	if err != nil || up.Status != tierzero.TicketClosed || len(up.Comments) != 0 {
		t.Errorf("after Close: %q %q %v; want closed and no comment of ours", up.Status, texts(up.Comments), err)
	}
	if n := strings.Count(strings.Join(f.calls, "\n"), "GET /api/Status"); n != 1 {
		t.Errorf("%d status list reads, want 1 (cached)", n)
	}
}

func texts(cs []tierzero.TicketComment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Text)
	}
	return out
}

func TestStatus(t *testing.T) {
	names := map[string][]string{"resolved": {"Fixed - awaiting confirmation"}}
	tests := []struct {
		id   int
		name string
		want tierzero.TicketStatus
	}{
		{1, "New", tierzero.TicketOpen},
		{2, "In Progress", tierzero.TicketOpen},
		{4, "Waiting on User", tierzero.TicketPending},
		{5, "On Hold", tierzero.TicketPending},
		{8, "Resolved", tierzero.TicketResolved},
		{21, "Fixed - awaiting confirmation", tierzero.TicketResolved},
		{9, "Closed", tierzero.TicketClosed},
		{9, "Geschlossen", tierzero.TicketClosed},
		{22, "Cancelled", tierzero.TicketClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Status(names, tt.id, tt.name); got != tt.want {
				t.Errorf("Status(%d, %q) = %q, want %q", tt.id, tt.name, got, tt.want)
			}
		})
	}
}

func TestAuthFailure(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, "wrong-secret-9f8e7d")
	_, err := c.Create(context.Background(), newTicket())
	if err == nil {
		t.Fatal("Create succeeded with a wrong secret")
	}
	msg := err.Error()
	for _, want := range []string{"halopsa", "contoso", "authenticate", "authentication failed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "wrong-secret-9f8e7d") {
		t.Errorf("error %q holds the secret", msg)
	}
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Errorf("code %q, want unauthorized", tierzero.ErrorCode(err))
	}
	if len(f.tickets) != 0 {
		t.Errorf("a ticket was created")
	}
}

func TestRateLimit(t *testing.T) {
	f, srv := newFake(t)
	c, slept := newClient(t, srv, haloSecret)
	f.throttle = 2
	if _, err := c.Create(context.Background(), newTicket()); err != nil {
		t.Fatal(err)
	}
	if got, want := *slept, []time.Duration{4 * time.Second, 4 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v (Retry-After)", got, want)
	}
	if len(f.tickets) != 1 {
		t.Errorf("%d tickets, want 1", len(f.tickets))
	}
}

func TestNewErrors(t *testing.T) {
	ok := Config{URL: "https://acme.halopsa.com", ClientIDEnv: "I", ClientSecretEnv: "S", ClientID: 12}
	env := map[string]string{"I": "id", "S": "secret"}
	tests := []struct {
		name string
		mod  func(*Config)
		env  map[string]string
		want string
	}{
		{"no secret", func(*Config) {}, map[string]string{"I": "id"}, "S is empty"},
		{"no client", func(c *Config) { c.ClientID = 0 }, env, "client_id is not set"},
		{"priority", func(c *Config) { c.PriorityRules = []Rule{{Value: "High"}} }, env, "want a priority id"},
		{"http", func(c *Config) { c.URL = "http://acme.halopsa.com" }, env, "must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			_, err := New(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return tt.env[k] }})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "contoso") {
				t.Errorf("New = %v, want an error naming the tenant and %q", err, tt.want)
			}
		})
	}
}
