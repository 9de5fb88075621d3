package sysaid

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

// fakeSysAid speaks SysAid's REST API v1 as documented in the SysAid REST
// API Guide and REST API Details
// (https://documentation.sysaid.com/docs/rest-api-guide,
// https://documentation.sysaid.com/docs/rest-api-details):
//   - POST /api/v1/login {"user_name", "password", "account_id"} sets the
//     JSESSIONID cookie that every later request must carry, 401 otherwise;
//     two logins per five minutes, 1,000 other requests, then 429;
//   - service records are {"id", "info": [{"key", "value", "valueCaption"}]}:
//     POST /api/v1/sr?type=incident&template=... adds one from an info list,
//     GET /api/v1/sr?type=...&fields=...&<field>=<value> lists those whose
//     field has the value, GET /api/v1/sr/{id}?fields=... reads one,
//     PUT /api/v1/sr/{id} {"id", "info"} updates fields (notes: a list of
//     {"userName", "createDate", "text"} added to the SR's notes),
//     PUT /api/v1/sr/{id}/close {"solution"} closes it;
//   - GET /api/v1/users/search?query=...&type=user searches users;
//   - notes are Internal unless shared with the request user
//     (https://documentation.sysaid.com/docs/en/read-and-write-notes).
type fakeSysAid struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	session  string
	logins   int
	srs      map[int]map[string]any
	notes    map[int][]map[string]any
	nextID   int
	requests []string
	bodies   [][]byte
	// throttle answers the next n API requests with 429 and Retry-After.
	throttle   int
	retryAfter string
}

const (
	adminUser = "tierzero-api"
	adminPass = "Pa55-sysaid-secret"
	cf        = "sr_cust_tierzero_id"
)

func newFake(t *testing.T) *fakeSysAid {
	f := &fakeSysAid{t: t, srs: map[int]map[string]any{}, notes: map[int][]map[string]any{}, nextID: 340}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func saError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"status": strconv.Itoa(status), "message": msg})
}

var reSR = regexp.MustCompile(`^/api/v1/sr/(\d+)(/close)?$`)

func (f *fakeSysAid) record(id int, fields []string) map[string]any {
	s := f.srs[id]
	info := []map[string]any{}
	for _, k := range fields {
		v, ok := s[k]
		if !ok {
			continue
		}
		entry := map[string]any{"key": k, "value": v}
		if k == "status" {
			entry["valueCaption"] = map[int]string{1: "New", 2: "Open", 3: "Closed", 5: "Pending"}[v.(int)]
		}
		info = append(info, entry)
	}
	return map[string]any{"id": strconv.Itoa(id), "canUpdate": true, "info": info}
}

func (f *fakeSysAid) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, body)
	w.Header().Set("Content-Type", "application/json")
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", f.retryAfter)
		saError(w, http.StatusTooManyRequests, "Too many requests")
		return
	}
	p := r.URL.Path
	if p == "/api/v1/login" && r.Method == http.MethodPost {
		var in map[string]string
		json.Unmarshal(body, &in)
		if in["user_name"] != adminUser || in["password"] != adminPass {
			saError(w, http.StatusUnauthorized, "Login failed for "+in["user_name"]+"/"+in["password"])
			return
		}
		f.logins++
		f.session = "sess-" + strconv.Itoa(f.logins)
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: f.session, Path: "/", HttpOnly: true})
		json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"id": "2", "name": adminUser}})
		return
	}
	if ck, err := r.Cookie("JSESSIONID"); err != nil || f.session == "" || ck.Value != f.session {
		saError(w, http.StatusUnauthorized, "Session expired or missing")
		return
	}
	q := r.URL.Query()
	switch {
	case p == "/api/v1/sr" && r.Method == http.MethodPost:
		var in struct {
			Info []struct {
				Key   string
				Value any
			}
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.Info) == 0 || q.Get("type") == "" {
			saError(w, 400, "info and type are required")
			return
		}
		f.nextID++
		s := map[string]any{"status": 1, "sr_type": q.Get("type"), "template": q.Get("template")}
		for _, kv := range in.Info {
			s[kv.Key] = kv.Value
		}
		f.srs[f.nextID] = s
		json.NewEncoder(w).Encode(map[string]any{"id": strconv.Itoa(f.nextID)})
	case p == "/api/v1/sr" && r.Method == http.MethodGet:
		out := []map[string]any{}
		fields := strings.Split(q.Get("fields"), ",")
		for id := 341; id <= f.nextID; id++ {
			ok := q.Get("type") == f.srs[id]["sr_type"]
			for k, vs := range q {
				if k != "type" && k != "fields" && k != "offset" && k != "limit" && f.srs[id][k] != vs[0] {
					ok = false
				}
			}
			if ok {
				out = append(out, f.record(id, fields))
			}
		}
		json.NewEncoder(w).Encode(out)
	case reSR.MatchString(p):
		m := reSR.FindStringSubmatch(p)
		id, _ := strconv.Atoi(m[1])
		s, ok := f.srs[id]
		if !ok {
			saError(w, 404, "Service record not found")
			return
		}
		switch {
		case m[2] == "/close" && r.Method == http.MethodPut:
			var in map[string]string
			json.Unmarshal(body, &in)
			if s["status"] == 3 {
				saError(w, 400, "This service record is already closed")
				return
			}
			s["status"], s["solution"] = 3, in["solution"]
		case r.Method == http.MethodPut:
			var in struct {
				ID   string
				Info []struct {
					Key   string
					Value json.RawMessage
				}
			}
			if err := json.Unmarshal(body, &in); err != nil || in.ID != m[1] {
				saError(w, 400, "id mismatch")
				return
			}
			for _, kv := range in.Info {
				if kv.Key == "notes" {
					var ns []map[string]any
					if err := json.Unmarshal(kv.Value, &ns); err != nil {
						saError(w, 400, "notes must be a list")
						return
					}
					f.notes[id] = append(f.notes[id], ns...)
					continue
				}
				var v any
				json.Unmarshal(kv.Value, &v)
				s[kv.Key] = v
			}
		case r.Method == http.MethodGet:
			json.NewEncoder(w).Encode(f.record(id, strings.Split(q.Get("fields"), ",")))
		}
	case p == "/api/v1/users/search" && r.Method == http.MethodGet:
		out := []map[string]any{}
		if q.Get("type") == "user" && strings.EqualFold(q.Get("query"), "adele@contoso.com") {
			out = append(out, map[string]any{"id": "1207", "name": "adele", "info": []map[string]any{{"key": "email_address", "value": "Adele@contoso.com"}}})
		}
		json.NewEncoder(w).Encode(out)
	default:
		saError(w, 404, "no route "+p)
	}
}

func (f *fakeSysAid) log() ([]string, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...), append([][]byte(nil), f.bodies...)
}

var env = map[string]string{"SA_USER": adminUser, "SA_PASS": adminPass}

func testConfig(f *fakeSysAid) Config {
	return Config{URL: f.srv.URL, UserEnv: "SA_USER", PasswordEnv: "SA_PASS", CorrelationField: cf, Template: "3",
		Company: "12", AssignedGroup: "5", Category: "Software", Priority: "3", RequesterLookup: true,
		PriorityRules: []Rule{{Cause: "model_request", Action: "group.", Value: "2"}},
		CategoryRules: []Rule{{Contains: "finance", Value: "Access"}}}
}

func newClient(t *testing.T, f *fakeSysAid, cfg Config) (*Client, *[]time.Duration) {
	t.Helper()
	var slept []time.Duration
	c, err := New(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] },
		Now:   func() time.Time { return time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC) },
		Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c, &slept
}

func TestCreateCarriesTheContext(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tk := tickettest.Ticket()
	tr, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if tr.System != "sysaid" || tr.ID != "341" || tr.Number != "#341" || tr.URL != f.srv.URL+"/SREdit.jsp?QuickAcess&id=341" {
		t.Errorf("ref = %+v", tr)
	}
	reqs, bodies := f.log()
	if got, want := strings.Join(reqs, ", "), "POST /api/v1/login, GET /api/v1/users/search, POST /api/v1/sr"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	f.mu.Lock()
	s := f.srs[341]
	f.mu.Unlock()
	if s[cf] != tk.Correlation || s["request_user"] != "1207" || s["company"] != "12" || s["assigned_group"] != "5" ||
		s["sr_type"] != "incident" || s["template"] != "3" {
		t.Errorf("service record %v", s)
	}
	if s["priority"] != "2" || s["problem_type"] != "Access" {
		t.Errorf("priority %v problem_type %v, want the rules' 2 and Access", s["priority"], s["problem_type"])
	}
	if s["title"] != "Adele Vance: please add me to the Finance group" {
		t.Errorf("title %q", s["title"])
	}
	desc, _ := s["description"].(string)
	for _, want := range []string{"Adele Vance <adele@contoso.com>", "tenant contoso", "please add me to the Finance group",
		"user.get", "enabled", "group.add_member", "failed: denied", "baseline/groups.owner", "group owner must decide",
		"I asked the group's owner.", "conversation conv-1", tk.Correlation} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q", want)
		}
	}
	for i, b := range bodies {
		if i > 0 && strings.Contains(string(b), adminPass) {
			t.Errorf("request %s holds the password", reqs[i])
		}
	}
}

func TestFindAndSession(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tk := tickettest.Ticket()
	if _, ok, err := c.Find(context.Background(), tk.Correlation); err != nil || ok {
		t.Fatalf("Find before create = %v, %v", ok, err)
	}
	other := tickettest.Ticket()
	other.Correlation = "tz-000000000000000000000000"
	if _, err := c.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	want, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	// SysAid's session expires: one new login, and the call goes through.
	f.mu.Lock()
	f.session = "expired"
	f.mu.Unlock()
	got, ok, err := c.Find(context.Background(), tk.Correlation)
	if err != nil || !ok || got != want {
		t.Errorf("Find = %+v, %v, %v, want %+v", got, ok, err, want)
	}
	if f.logins != 2 {
		t.Errorf("%d logins, want 2 (the first, and one after the session expired)", f.logins)
	}
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
	notes := f.notes[341]
	f.mu.Unlock()
	if len(notes) != 2 {
		t.Fatalf("%d notes, want 2", len(notes))
	}
	at := float64(time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC).UnixMilli())
	if n := notes[0]; n["text"] != PublicPrefix+"We are on it." || n["userName"] != adminUser || n["createDate"] != at {
		t.Errorf("public note %v", n)
	}
	if n := notes[1]; n["text"] != "Owner is on leave." {
		t.Errorf("internal note %v", n)
	}
}

func TestUpdates(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, testConfig(f))
	tr, err := c.Create(context.Background(), tickettest.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	// A technician's note is internal: it never reaches the requester.
	f.mu.Lock()
	f.notes[341] = append(f.notes[341], map[string]any{"userName": "jsmith", "text": "owner on leave", "createDate": 1})
	f.srs[341]["status"] = 5
	f.mu.Unlock()
	u, err := c.Updates(context.Background(), tr, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketPending || u.Vendor != "Pending" || len(u.Comments) != 0 {
		t.Errorf("update %+v, want pending with no comment", u)
	}
	if err := c.Close(context.Background(), tr, "Added to Finance by the owner."); err != nil {
		t.Fatal(err)
	}
	u, err = c.Updates(context.Background(), tr, u.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != tierzero.TicketClosed || len(u.Comments) != 1 || u.Comments[0].Text != "Added to Finance by the owner." || u.Cursor == "" {
		t.Fatalf("after Close: %+v", u)
	}
	again, err := c.Updates(context.Background(), tr, u.Cursor)
	if err != nil || len(again.Comments) != 0 || again.Cursor != u.Cursor {
		t.Errorf("the solution is told twice: %+v, %v", again, err)
	}
}

func TestAuthFailure(t *testing.T) {
	f := newFake(t)
	env := map[string]string{"SA_USER": adminUser, "SA_PASS": "wrong-password-xyz"}
	c, err := New(testConfig(f), ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), tickettest.Ticket())
	tickettest.AuthFailed(t, err, []string{"sysaid", "tenant contoso", "log in", "authentication failed"}, "wrong-password-xyz")
	if reqs, _ := f.log(); len(reqs) != 1 {
		t.Errorf("requests %v, want the login alone", reqs)
	}
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
	// SysAid's five-minute window: longer than HTTP waits in-line, so the
	// worker is told when to come back.
	f.mu.Lock()
	f.throttle, f.retryAfter = 5, "300"
	f.mu.Unlock()
	_, err := c.Create(context.Background(), tickettest.Ticket())
	var te *ticket.Error
	if !errors.As(err, &te) || te.RetryAfter() != 5*time.Minute || te.MaybeApplied() || tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Errorf("got %v, want a 429 with a 5m wait, not applied", err)
	}
	if len(f.srs) != 0 {
		t.Errorf("%d service records", len(f.srs))
	}
}

func TestNewChecksConfig(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no password", func(c *Config) { c.PasswordEnv = "UNSET" }, "password_env: environment variable UNSET"},
		{"no correlation field", func(c *Config) { c.CorrelationField = "" }, "correlation_field"},
		{"http url", func(c *Config) { c.URL = "http://msp.sysaidit.com" }, "must be https"},
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
