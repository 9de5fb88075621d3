package autotask

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
	"github.com/tierzero/tierzero/ticket/tickettest"
)

// fakeAT speaks Datto Autotask PSA's REST API as documented by Datto
// (Autotask developer help, https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/REST/):
//   - zone discovery: GET /atservicesrest/v1.0/zoneInformation?user=USER,
//     no authentication, answers {"zoneName", "url", "webUrl", "ci"}
//     (General_Topics/REST_Zones.htm);
//   - every other call carries the headers ApiIntegrationcode, UserName and
//     Secret, 401 otherwise (General_Topics/REST_Security_Auth.htm);
//   - POST /V1.0/Tickets answers {"itemId": N}; GET /V1.0/Tickets/{id}
//     {"item": {...}}; PATCH /V1.0/Tickets with the id in the body
//     (Entities/TicketsEntity.htm, API_Calls/REST_Creating_Resources.htm,
//     API_Calls/REST_Updating_Data_PATCH.htm);
//   - POST /V1.0/{Entity}/query with {"filter": [{"op", "field", "value"}]}
//     answers {"items": [...], "pageDetails": {...}}
//     (API_Calls/REST_Basic_Query_Calls.htm);
//   - POST /V1.0/Tickets/{id}/Notes, TicketNotes with noteType and
//     publish (1 All Autotask Users, 2 Internal Only)
//     (Entities/TicketNotesEntity.htm);
//   - errors: {"errors": ["..."]}; 429 when a threshold is exceeded
//     (General_Topics/REST_Thresholds_Limits.htm).
type fakeAT struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	resource  int // the API user's resource id
	tickets   map[int]map[string]any
	notes     []map[string]any
	nextID    int
	nextNote  int
	requests  []string
	bodies    [][]byte
	zoneAsked int
	// throttle answers the next n API requests with 429 and Retry-After.
	throttle   int
	retryAfter string
}

const (
	user   = "tz-api@msp.example"
	secret = "S3cret-at-xyz"
	code   = "TRACKINGID27CHARACTERSXXXX"
)

func newFake(t *testing.T) *fakeAT {
	f := &fakeAT{t: t, resource: 29684001, tickets: map[int]map[string]any{}, nextID: 7000, nextNote: 900}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func atError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
}

var (
	reTicket = regexp.MustCompile(`(?i)^/zone5/atservicesrest/v1\.0/Tickets/(\d+)$`)
	reNotes  = regexp.MustCompile(`(?i)^/zone5/atservicesrest/v1\.0/Tickets/(\d+)/Notes$`)
)

type fakeQuery struct {
	Filter []struct {
		Op    string
		Field string
		Value any
	}
}

func (f *fakeAT) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, body)
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	if strings.EqualFold(p, "/atservicesrest/v1.0/zoneInformation") {
		f.zoneAsked++
		if r.URL.Query().Get("user") != user {
			atError(w, 404, "user not found")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"zoneName": "America West 5", "url": f.srv.URL + "/zone5/ATServicesRest/", "webUrl": "https://ww5.autotask.net/", "ci": 5})
		return
	}
	if r.Header.Get("ApiIntegrationcode") != code || r.Header.Get("UserName") != user || r.Header.Get("Secret") != secret {
		atError(w, http.StatusUnauthorized, "User is not authenticated: "+r.Header.Get("Secret"))
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", f.retryAfter)
		atError(w, http.StatusTooManyRequests, "Request threshold exceeded")
		return
	}
	lower := strings.ToLower(p)
	switch {
	case lower == "/zone5/atservicesrest/v1.0/tickets" && r.Method == http.MethodPost:
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			atError(w, 500, err.Error())
			return
		}
		for _, req := range []string{"companyID", "title", "status", "priority"} {
			if in[req] == nil {
				atError(w, 500, req+" is required")
				return
			}
		}
		if d, _ := in["description"].(string); len(d) > 8000 {
			atError(w, 500, "description is longer than 8000")
			return
		}
		f.nextID++
		in["id"] = f.nextID
		in["ticketNumber"] = "T20260501." + strconv.Itoa(f.nextID-6000)
		in["creatorResourceID"] = f.resource
		f.tickets[f.nextID] = in
		json.NewEncoder(w).Encode(map[string]int{"itemId": f.nextID})
	case lower == "/zone5/atservicesrest/v1.0/tickets" && r.Method == http.MethodPatch:
		var in map[string]any
		json.Unmarshal(body, &in)
		tk, ok := f.tickets[toInt(in["id"])]
		if !ok {
			atError(w, 404, "ticket not found")
			return
		}
		for k, v := range in {
			tk[k] = v
		}
		json.NewEncoder(w).Encode(map[string]int{"itemId": toInt(in["id"])})
	case lower == "/zone5/atservicesrest/v1.0/tickets/query" && r.Method == http.MethodPost:
		var q fakeQuery
		json.Unmarshal(body, &q)
		items := []map[string]any{}
		for id := 7001; id <= f.nextID; id++ {
			if match(f.tickets[id], q) {
				items = append(items, f.tickets[id])
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"items": items, "pageDetails": map[string]any{"count": len(items)}})
	case lower == "/zone5/atservicesrest/v1.0/contacts/query" && r.Method == http.MethodPost:
		var q fakeQuery
		json.Unmarshal(body, &q)
		contact := map[string]any{"id": 30682001, "emailAddress": "adele@contoso.com", "companyID": 29683}
		items := []map[string]any{}
		if match(contact, q) {
			items = append(items, contact)
		}
		json.NewEncoder(w).Encode(map[string]any{"items": items})
	case lower == "/zone5/atservicesrest/v1.0/ticketnotes/query" && r.Method == http.MethodPost:
		var q fakeQuery
		json.Unmarshal(body, &q)
		items := []map[string]any{}
		for _, n := range f.notes {
			if match(n, q) {
				items = append(items, n)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"items": items})
	case reNotes.MatchString(p) && r.Method == http.MethodPost:
		id, _ := strconv.Atoi(reNotes.FindStringSubmatch(p)[1])
		if _, ok := f.tickets[id]; !ok {
			atError(w, 404, "ticket not found")
			return
		}
		var n map[string]any
		json.Unmarshal(body, &n)
		if toInt(n["ticketID"]) != id || n["description"] == "" || toInt(n["noteType"]) == 0 || (toInt(n["publish"]) != 1 && toInt(n["publish"]) != 2) {
			atError(w, 500, "ticketID, description, noteType and publish are required")
			return
		}
		f.nextNote++
		n["id"] = f.nextNote
		n["creatorResourceID"] = f.resource
		f.notes = append(f.notes, n)
		json.NewEncoder(w).Encode(map[string]int{"itemId": f.nextNote})
	case reTicket.MatchString(p) && r.Method == http.MethodGet:
		id, _ := strconv.Atoi(reTicket.FindStringSubmatch(p)[1])
		tk, ok := f.tickets[id]
		if !ok {
			atError(w, 404, "ticket not found")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"item": tk})
	default:
		atError(w, 404, "no route "+p)
	}
}

// match applies a query's eq and gt filters.
func match(item map[string]any, q fakeQuery) bool {
	for _, c := range q.Filter {
		v := item[c.Field]
		switch c.Op {
		case "eq":
			if s, ok := c.Value.(string); ok {
				if v != s {
					return false
				}
			} else if toInt(v) != toInt(c.Value) {
				return false
			}
		case "gt":
			if toInt(v) <= toInt(c.Value) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

// techNote adds a note as a technician (resource 29684100) would.
func (f *fakeAT) techNote(n map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextNote++
	n["id"] = f.nextNote
	f.notes = append(f.notes, n)
}

func (f *fakeAT) log() ([]string, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...), append([][]byte(nil), f.bodies...)
}

var env = map[string]string{"AT_USER": user, "AT_SECRET": secret, "AT_CODE": code}

func testConfig(f *fakeAT) Config {
	return Config{ZoneURL: f.srv.URL + "/atservicesrest/", UserEnv: "AT_USER", SecretEnv: "AT_SECRET", IntegrationCodeEnv: "AT_CODE",
		CompanyID: 29683, QueueID: 29682835, Priority: 2, RequesterLookup: true,
		PriorityRules: []Rule{{Cause: "model_request", Action: "group.", Value: "1"}},
		CategoryRules: []Rule{{Contains: "finance", Value: "4"}},
		Statuses:      map[string][]string{"pending": {"12"}}}
}

func newClient(t *testing.T, f *fakeAT, cfg Config) (*Client, *[]time.Duration) {
	t.Helper()
	return tickettest.New(t, New, cfg, env)
}

func TestCreateCarriesTheContext(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tk := tickettest.Ticket()
	tr, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if tr.System != "autotask" || tr.ID != "7001" || tr.Number != "T20260501.1001" ||
		tr.URL != "https://ww5.autotask.net/Mvc/ServiceDesk/TicketDetail.mvc?ticketId=7001" {
		t.Errorf("ref = %+v", tr)
	}
	reqs, bodies := f.log()
	want := "GET /atservicesrest/v1.0/zoneInformation, POST /zone5/ATServicesRest/v1.0/Contacts/query, POST /zone5/ATServicesRest/v1.0/Tickets, GET /zone5/ATServicesRest/v1.0/Tickets/7001"
	if got := strings.Join(reqs, ", "); got != want {
		t.Errorf("requests\n%s, want\n%s", got, want)
	}
	var got struct {
		CompanyID, QueueID, Status, Priority, IssueType, ContactID int
		Title, Description, ExternalID                             string
	}
	if err := json.Unmarshal(bodies[2], &got); err != nil {
		t.Fatal(err)
	}
	if got.CompanyID != 29683 || got.QueueID != 29682835 || got.Status != 1 || got.ContactID != 30682001 || got.ExternalID != tk.Correlation {
		t.Errorf("ticket %+v", got)
	}
	if got.Priority != 1 || got.IssueType != 4 {
		t.Errorf("priority %d issueType %d, want the rules' 1 and 4", got.Priority, got.IssueType)
	}
	if got.Title != "Adele Vance: please add me to the Finance group" {
		t.Errorf("title %q", got.Title)
	}
	for _, want := range []string{"Adele Vance <adele@contoso.com>", "tenant contoso", "please add me to the Finance group",
		"user.get", "enabled", "group.add_member", "failed: denied", "baseline/groups.owner", "group owner must decide",
		"I asked the group's owner.", "conversation conv-1", tk.Correlation} {
		if !strings.Contains(got.Description, want) {
			t.Errorf("description lacks %q", want)
		}
	}
	for _, b := range bodies {
		if strings.Contains(string(b), secret) || strings.Contains(string(b), code) {
			t.Errorf("a request body holds a credential")
		}
	}
	// The zone is asked once.
	if _, _, err := c.Find(context.Background(), tk.Correlation); err != nil {
		t.Fatal(err)
	}
	if f.zoneAsked != 1 {
		t.Errorf("zone asked %d times", f.zoneAsked)
	}
}

func TestFind(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tickettest.Find(t, c)
}

func TestNotePublicAndInternal(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tr, err := c.Create(context.Background(), tickettest.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []tierzero.TicketNote{{Text: "We are on it.", Public: true}, {Text: "Owner is on leave.", Public: false}} {
		if err := c.Note(context.Background(), tr, n); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	notes := f.notes
	f.mu.Unlock()
	if len(notes) != 2 {
		t.Fatalf("%d notes, want 2", len(notes))
	}
	if n := notes[0]; n["description"] != "We are on it." || toInt(n["publish"]) != 1 || toInt(n["ticketID"]) != 7001 || toInt(n["noteType"]) != 1 {
		t.Errorf("public note %v, want publish 1 (All Autotask Users)", n)
	}
	if n := notes[1]; n["description"] != "Owner is on leave." || toInt(n["publish"]) != 2 {
		t.Errorf("internal note %v, want publish 2 (Internal Only)", n)
	}
}

func TestUpdates(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tr, err := c.Create(context.Background(), tickettest.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Note(context.Background(), tr, tierzero.TicketNote{Text: "tierzero: the requester added a detail", Public: true}); err != nil {
		t.Fatal(err)
	}
	f.techNote(map[string]any{"ticketID": 7001, "description": "Checking with the owner.", "publish": 2, "noteType": 1, "creatorResourceID": 29684100})
	f.techNote(map[string]any{"ticketID": 7001, "description": "Hi Adele, the owner approved; you are in.", "publish": 1, "noteType": 1,
		"creatorResourceID": 29684100, "createDateTime": "2026-05-01T10:00:00Z"})
	f.techNote(map[string]any{"ticketID": 7001, "description": "thanks!", "publish": 1, "noteType": 1, "createdByContactID": 30682001})
	f.techNote(map[string]any{"ticketID": 9999, "description": "another ticket's", "publish": 1, "creatorResourceID": 29684100})
	f.mu.Lock()
	f.tickets[7001]["status"] = 12
	f.mu.Unlock()

	u, err := c.Updates(context.Background(), tr, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketPending || u.Vendor != "12" {
		t.Errorf("status %q (%q), want pending", u.Status, u.Vendor)
	}
	if len(u.Comments) != 1 || u.Comments[0].Text != "Hi Adele, the owner approved; you are in." ||
		!u.Comments[0].Time.Equal(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("comments %+v, want the technician's published note alone", u.Comments)
	}
	if u.Cursor != "904" {
		t.Errorf("cursor %q, want the last note's id", u.Cursor)
	}
	f.techNote(map[string]any{"ticketID": 7001, "description": "Done.", "publish": 1, "noteType": 1, "creatorResourceID": 29684100})
	if err := c.Close(context.Background(), tr, "resolved by the owner"); err != nil {
		t.Fatal(err)
	}
	u, err = c.Updates(context.Background(), tr, u.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketClosed || len(u.Comments) != 1 || u.Comments[0].Text != "Done." || u.Cursor != "906" {
		t.Errorf("after the cursor and Close: %+v", u)
	}
	f.mu.Lock()
	res := f.tickets[7001]["resolution"]
	f.mu.Unlock()
	if res != "resolved by the owner" {
		t.Errorf("resolution %v", res)
	}
}

func TestAuthFailure(t *testing.T) {
	f := newFake(t)
	env := map[string]string{"AT_USER": user, "AT_SECRET": "wrong-secret-value", "AT_CODE": code}
	c, err := New(testConfig(f), ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), tickettest.Ticket())
	tickettest.AuthFailed(t, err, []string{"autotask", "tenant contoso", "authentication failed"}, "wrong-secret-value", code)
}

func TestRateLimit(t *testing.T) {
	f := newFake(t)
	c, slept := newClient(t, f, testConfig(f))
	f.throttle, f.retryAfter = 1, "7"
	if _, ok, err := c.Find(context.Background(), "tz-none"); err != nil || ok {
		t.Fatalf("Find = %v, %v", ok, err)
	}
	if len(*slept) != 1 || (*slept)[0] != 7*time.Second {
		t.Errorf("slept %v, want [7s]", *slept)
	}
	// Thresholds on the create itself: refused, so sent again, once.
	f.mu.Lock()
	f.throttle, f.retryAfter = 2, "2" // the contact query, then the create
	f.mu.Unlock()
	if _, err := c.Create(context.Background(), tickettest.Ticket()); err != nil {
		t.Fatal(err)
	}
	if len(f.tickets) != 1 || len(*slept) != 3 {
		t.Errorf("%d tickets, slept %v", len(f.tickets), *slept)
	}
	f.throttle, f.retryAfter = 5, "3600"
	_, _, err := c.Find(context.Background(), "tz-none")
	var te *ticket.Error
	if !errors.As(err, &te) || te.RetryAfter() != time.Hour || tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Errorf("got %v, want a 429 with a 1h wait", err)
	}
}

func TestConfiguredURLSkipsTheZone(t *testing.T) {
	f := newFake(t)
	cfg := testConfig(f)
	cfg.URL = f.srv.URL + "/zone5/ATServicesRest"
	c, _ := newClient(t, f, cfg)
	if _, _, err := c.Find(context.Background(), "tz-none"); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := f.log(); len(reqs) != 1 || reqs[0] != "POST /zone5/ATServicesRest/v1.0/Tickets/query" {
		t.Errorf("requests %v", reqs)
	}
}

func TestNewChecksConfig(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no secret", func(c *Config) { c.SecretEnv = "UNSET" }, "secret_env: environment variable UNSET"},
		{"no integration code", func(c *Config) { c.IntegrationCodeEnv = "" }, "integration_code_env is not set"},
		{"no company", func(c *Config) { c.CompanyID = 0 }, "company"},
		{"bad rule", func(c *Config) { c.CategoryRules = []Rule{{Value: "Hardware"}} }, "not an Autotask picklist value"},
		{"http zone", func(c *Config) { c.ZoneURL = "http://webservices.example.com/atservicesrest/" }, "must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(f)
			tt.edit(&cfg)
			_, err := New(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] }})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "contoso") {
				t.Errorf("New = %v, want an error about %q naming the tenant", err, tt.want)
			}
		})
	}
}
