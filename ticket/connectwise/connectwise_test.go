package connectwise

import (
	"context"
	"encoding/base64"
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

// fakePSA speaks ConnectWise PSA's REST API (v4_6_release/apis/3.0) as
// documented by ConnectWise:
//   - authentication: Basic base64("company+publicKey:privateKey") and the
//     clientId header on every request, 401 otherwise
//     (https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide,
//     https://developer.connectwise.com/ClientID);
//   - POST /service/tickets answers 201 with the Ticket, GET
//     /service/tickets?conditions=externalXRef="..." an array, GET
//     /service/tickets/{id} the Ticket with _info.enteredBy, PATCH
//     /service/tickets/{id} a JSON Patch array
//     (https://developer.connectwise.com/Products/ConnectWise_PSA/REST#/Tickets);
//   - POST and GET /service/tickets/{id}/notes: ServiceNote with
//     detailDescriptionFlag (Discussion), internalAnalysisFlag (Internal),
//     resolutionFlag (Resolution), customerUpdatedFlag
//     (https://developer.connectwise.com/Products/ConnectWise_PSA/REST#/TicketNotes);
//   - GET /company/contacts with childConditions on communicationItems
//     (https://developer.connectwise.com/Products/ConnectWise_PSA/REST#/Contacts);
//   - conditions: field="string", field>number
//     (https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide#Conditions);
//   - errors: {"code": "...", "message": "..."}.
type fakePSA struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	member   string // the API member's identifier
	tickets  map[int]map[string]any
	notes    map[int][]map[string]any
	nextID   int
	requests []string
	bodies   [][]byte
	// throttle answers the next n requests with 429 and Retry-After.
	throttle   int
	retryAfter string
}

const (
	company  = "msp"
	pubKey   = "PUBabc123"
	privKey  = "PRIVsecret987"
	clientID = "0c9d8e7f-client-id"
)

func newFake(t *testing.T) *fakePSA {
	f := &fakePSA{t: t, member: "tierzero-api", tickets: map[int]map[string]any{}, notes: map[int][]map[string]any{}, nextID: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePSA) url() string { return f.srv.URL + "/v4_6_release/apis/3.0/" }

func cwError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

var (
	reTicket = regexp.MustCompile(`^/v4_6_release/apis/3\.0/service/tickets/(\d+)$`)
	reNotes  = regexp.MustCompile(`^/v4_6_release/apis/3\.0/service/tickets/(\d+)/notes$`)
	reXRef   = regexp.MustCompile(`^externalXRef="((?:[^"\\]|\\.)*)"$`)
	reIDGT   = regexp.MustCompile(`^id>(\d+)$`)
)

func (f *fakePSA) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, body)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(company+"+"+pubKey+":"+privKey))
	if r.Header.Get("Authorization") != want {
		cwError(w, http.StatusUnauthorized, "Unauthorized", "Authentication failed for "+r.Header.Get("Authorization"))
		return
	}
	if r.Header.Get("clientId") != clientID {
		cwError(w, http.StatusBadRequest, "InvalidClientId", "clientId is required")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", f.retryAfter)
		cwError(w, http.StatusTooManyRequests, "TooManyRequests", "rate limit exceeded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	switch {
	case p == "/v4_6_release/apis/3.0/service/tickets" && r.Method == http.MethodPost:
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			cwError(w, 400, "InvalidObject", err.Error())
			return
		}
		if s, _ := in["summary"].(string); s == "" || len(s) > 100 {
			cwError(w, 400, "InvalidObject", "summary is required, 100 characters at most")
			return
		}
		f.nextID++
		in["id"] = f.nextID
		in["status"] = map[string]any{"id": 1, "name": "New"}
		in["closedFlag"] = false
		in["_info"] = map[string]any{"enteredBy": f.member, "dateEntered": "2026-05-01T09:31:00Z"}
		f.tickets[f.nextID] = in
		// ConnectWise keeps the initial description as the first
		// Discussion note, entered by the API member.
		f.notes[f.nextID] = append(f.notes[f.nextID], map[string]any{"id": f.nextID*10 + 1, "ticketId": f.nextID, "text": in["initialDescription"],
			"detailDescriptionFlag": true, "createdBy": f.member, "member": map[string]any{"identifier": f.member}, "dateCreated": "2026-05-01T09:31:00Z"})
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(in)
	case p == "/v4_6_release/apis/3.0/service/tickets" && r.Method == http.MethodGet:
		m := reXRef.FindStringSubmatch(r.URL.Query().Get("conditions"))
		if m == nil {
			cwError(w, 400, "InvalidConditions", "unsupported conditions")
			return
		}
		xref := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[1])
		out := []map[string]any{}
		for id := 1001; id <= f.nextID; id++ {
			if tk, ok := f.tickets[id]; ok && tk["externalXRef"] == xref {
				out = append(out, map[string]any{"id": id, "externalXRef": xref})
			}
		}
		json.NewEncoder(w).Encode(out)
	case reTicket.MatchString(p):
		id, _ := strconv.Atoi(reTicket.FindStringSubmatch(p)[1])
		tk, ok := f.tickets[id]
		if !ok {
			cwError(w, 404, "NotFound", "Ticket not found")
			return
		}
		if r.Method == http.MethodPatch {
			var ops []struct {
				Op, Path string
				Value    map[string]any
			}
			if err := json.Unmarshal(body, &ops); err != nil || len(ops) == 0 {
				cwError(w, 400, "InvalidObject", "a JSON Patch array is expected")
				return
			}
			for _, op := range ops {
				if op.Op == "replace" && op.Path == "status" {
					tk["status"] = op.Value
					if name, _ := op.Value["name"].(string); strings.Contains(name, "Closed") {
						tk["closedFlag"] = true
					}
				}
			}
		}
		json.NewEncoder(w).Encode(tk)
	case reNotes.MatchString(p):
		id, _ := strconv.Atoi(reNotes.FindStringSubmatch(p)[1])
		if _, ok := f.tickets[id]; !ok {
			cwError(w, 404, "NotFound", "Ticket not found")
			return
		}
		if r.Method == http.MethodPost {
			var n map[string]any
			if err := json.Unmarshal(body, &n); err != nil || n["text"] == "" {
				cwError(w, 400, "InvalidObject", "text is required")
				return
			}
			if n["detailDescriptionFlag"] != true && n["internalAnalysisFlag"] != true && n["resolutionFlag"] != true {
				cwError(w, 400, "InvalidObject", "a note must be Discussion, Internal or Resolution")
				return
			}
			n["id"] = id*10 + len(f.notes[id]) + 1
			n["createdBy"] = f.member
			f.notes[id] = append(f.notes[id], n)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(n)
			return
		}
		after := 0
		if m := reIDGT.FindStringSubmatch(r.URL.Query().Get("conditions")); m != nil {
			after, _ = strconv.Atoi(m[1])
		}
		out := []map[string]any{}
		for _, n := range f.notes[id] {
			if nid := toInt(n["id"]); nid > after {
				out = append(out, n)
			}
		}
		json.NewEncoder(w).Encode(out)
	case p == "/v4_6_release/apis/3.0/company/contacts":
		if !strings.Contains(r.URL.Query().Get("childConditions"), `communicationItems/value="adele@contoso.com"`) ||
			r.URL.Query().Get("conditions") != "company/id=250" {
			json.NewEncoder(w).Encode([]any{})
			return
		}
		json.NewEncoder(w).Encode([]map[string]any{{"id": 77, "firstName": "Adele", "lastName": "Vance"}})
	default:
		cwError(w, 404, "NotFound", "no route "+p)
	}
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

// techNote adds a note as a technician would in ConnectWise.
func (f *fakePSA) techNote(id int, n map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n["id"] = id*10 + len(f.notes[id]) + 1
	f.notes[id] = append(f.notes[id], n)
}

func (f *fakePSA) setStatus(id int, name string, closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tickets[id]["status"] = map[string]any{"id": 9, "name": name}
	f.tickets[id]["closedFlag"] = closed
}

func (f *fakePSA) log() ([]string, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...), append([][]byte(nil), f.bodies...)
}

var env = map[string]string{"CW_PUBLIC": pubKey, "CW_PRIVATE": privKey, "CW_CLIENT": clientID}

func testConfig(f *fakePSA) Config {
	return Config{URL: f.url(), LoginCompany: company, PublicKeyEnv: "CW_PUBLIC", PrivateKeyEnv: "CW_PRIVATE", ClientIDEnv: "CW_CLIENT",
		CompanyID: 250, BoardID: 1, PriorityID: 8, TypeID: 0, RequesterLookup: true,
		PriorityRules: []Rule{{Action: "user.", Cause: "model_request", Value: "6"}},
		CategoryRules: []Rule{{Contains: "finance", Value: "31"}},
		Statuses:      map[string][]string{"pending": {"Waiting Customer"}}}
}

func newClient(t *testing.T, f *fakePSA, cfg Config) (*Client, *[]time.Duration) {
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
	if tr.System != "connectwise" || tr.ID != "1001" || tr.Number != "#1001" {
		t.Errorf("ref = %+v", tr)
	}
	reqs, bodies := f.log()
	if got, want := strings.Join(reqs, ", "), "GET /v4_6_release/apis/3.0/company/contacts, POST /v4_6_release/apis/3.0/service/tickets"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	var got struct {
		Summary, InitialDescription, ExternalXRef, ContactEmailAddress, RecordType string
		Board, Company, Priority, Type, Contact                                    ref
	}
	if err := json.Unmarshal(bodies[1], &got); err != nil {
		t.Fatal(err)
	}
	if got.ExternalXRef != tk.Correlation || got.Board.ID != 1 || got.Company.ID != 250 || got.Contact.ID != 77 ||
		got.ContactEmailAddress != "adele@contoso.com" || got.RecordType != "ServiceTicket" {
		t.Errorf("ticket %+v", got)
	}
	if got.Priority.ID != 6 || got.Type.ID != 31 {
		t.Errorf("priority %d type %d, want the rules' 6 and 31", got.Priority.ID, got.Type.ID)
	}
	if got.Summary != "Adele Vance: please add me to the Finance group" {
		t.Errorf("summary %q", got.Summary)
	}
	for _, want := range []string{"Adele Vance <adele@contoso.com>", "tenant contoso", "please add me to the Finance group",
		"user.get", "enabled", "group.add_member", "failed: denied", "baseline/groups.owner", "group owner must decide",
		"I asked the group's owner.", "conversation conv-1", tk.Correlation} {
		if !strings.Contains(got.InitialDescription, want) {
			t.Errorf("initialDescription lacks %q", want)
		}
	}
	for _, b := range bodies {
		for _, secret := range []string{pubKey, privKey, clientID} {
			if strings.Contains(string(b), secret) {
				t.Errorf("a request body holds a credential")
			}
		}
	}
}

func TestFind(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tickettest.Find(t, c)
	// A correlation with a quote is sent as an escaped string literal.
	if _, ok, err := c.Find(context.Background(), `tz-"x\`); err != nil || ok {
		t.Errorf("Find(quoted) = %v, %v", ok, err)
	}
}

func TestNotePublicAndInternal(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	ref, err := c.Create(context.Background(), tickettest.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []tierzero.TicketNote{{Text: "We are on it.", Public: true}, {Text: "Owner is on leave.", Public: false}} {
		if err := c.Note(context.Background(), ref, n); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	notes := f.notes[1001]
	f.mu.Unlock()
	if len(notes) != 3 {
		t.Fatalf("%d notes, want 3", len(notes))
	}
	pub, internal := notes[1], notes[2]
	if pub["text"] != "We are on it." || pub["detailDescriptionFlag"] != true || pub["internalAnalysisFlag"] != false {
		t.Errorf("public note %v", pub)
	}
	if internal["text"] != "Owner is on leave." || internal["internalAnalysisFlag"] != true || internal["detailDescriptionFlag"] != false {
		t.Errorf("internal note %v", internal)
	}
}

func TestUpdates(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	ref, err := c.Create(context.Background(), tickettest.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Note(context.Background(), ref, tierzero.TicketNote{Text: "tierzero: the requester added a detail", Public: true}); err != nil {
		t.Fatal(err)
	}
	f.techNote(1001, map[string]any{"text": "Checking with the owner.", "internalAnalysisFlag": true, "createdBy": "jsmith"})
	f.techNote(1001, map[string]any{"text": "Hi Adele, the owner approved; you are in.", "detailDescriptionFlag": true, "createdBy": "jsmith",
		"member": map[string]any{"identifier": "jsmith", "name": "John Smith"}, "dateCreated": "2026-05-01T10:00:00Z"})
	f.techNote(1001, map[string]any{"text": "thanks!", "detailDescriptionFlag": true, "customerUpdatedFlag": true, "contact": map[string]any{"id": 77}})
	f.setStatus(1001, "Waiting Customer", false)

	u, err := c.Updates(context.Background(), ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketPending || u.Vendor != "Waiting Customer" {
		t.Errorf("status %q (%q), want pending", u.Status, u.Vendor)
	}
	if len(u.Comments) != 1 || u.Comments[0].Text != "Hi Adele, the owner approved; you are in." || u.Comments[0].Author != "John Smith" ||
		!u.Comments[0].Time.Equal(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("comments %+v, want the technician's Discussion note alone", u.Comments)
	}
	if u.Cursor != "10015" {
		t.Errorf("cursor %q, want the last note's id", u.Cursor)
	}

	f.techNote(1001, map[string]any{"text": "Done, closing.", "resolutionFlag": true, "createdBy": "jsmith"})
	f.setStatus(1001, ">Closed", true)
	u, err = c.Updates(context.Background(), ref, u.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketClosed || len(u.Comments) != 1 || u.Comments[0].Text != "Done, closing." || u.Cursor != "10016" {
		t.Errorf("after the cursor: %+v", u)
	}
	if reqs, _ := f.log(); !strings.HasSuffix(reqs[len(reqs)-1], "/service/tickets/1001/notes") {
		t.Errorf("last request %s", reqs[len(reqs)-1])
	}
}

func TestClose(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	ref, err := c.Create(context.Background(), tickettest.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background(), ref, "connection test"); err != nil {
		t.Fatal(err)
	}
	u, err := c.Updates(context.Background(), ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketClosed {
		t.Errorf("status %q after Close", u.Status)
	}
	f.mu.Lock()
	last := f.notes[1001][len(f.notes[1001])-1]
	f.mu.Unlock()
	if last["resolutionFlag"] != true || last["text"] != "connection test" {
		t.Errorf("resolution note %v", last)
	}
}

func TestAuthFailure(t *testing.T) {
	f := newFake(t)
	env := map[string]string{"CW_PUBLIC": pubKey, "CW_PRIVATE": "wrong-private-key", "CW_CLIENT": clientID}
	c, err := New(testConfig(f), ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), tickettest.Ticket())
	basic := base64.StdEncoding.EncodeToString([]byte(company + "+" + pubKey + ":wrong-private-key"))
	tickettest.AuthFailed(t, err, []string{"connectwise", "tenant contoso", "authentication failed"}, "wrong-private-key", pubKey, basic, clientID)
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
	// A create refused with 429 was not applied: it is sent again, once.
	f.throttle, f.retryAfter = 1, "3"
	if _, err := c.Create(context.Background(), tickettest.Ticket()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	n := len(f.tickets)
	f.mu.Unlock()
	if n != 1 || len(*slept) != 2 || (*slept)[1] != 3*time.Second {
		t.Errorf("%d tickets, slept %v", n, *slept)
	}
	// A long Retry-After is returned for the worker to honour.
	f.throttle, f.retryAfter = 5, "3600"
	_, _, err := c.Find(context.Background(), "tz-none")
	var te *ticket.Error
	if !errors.As(err, &te) || te.RetryAfter() != time.Hour || tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Errorf("got %v, want a 429 with a 1h wait", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no private key", func(c *Config) { c.PrivateKeyEnv = "UNSET" }, "private_key_env: environment variable UNSET"},
		{"no board", func(c *Config) { c.BoardID = 0 }, "board"},
		{"no client id", func(c *Config) { c.ClientIDEnv = "" }, "client_id"},
		{"bad rule", func(c *Config) { c.PriorityRules = []Rule{{Value: "High"}} }, "not a ConnectWise id"},
		{"http url", func(c *Config) { c.URL = "http://psa.example.com/v4_6_release/apis/3.0/" }, "must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(f)
			tt.edit(&cfg)
			_, err := New(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] }})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "contoso") {
				t.Errorf("New = %v, want an error about %q naming the tenant", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), privKey) {
				t.Errorf("error holds the key")
			}
		})
	}
}
