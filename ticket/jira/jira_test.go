package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// The fake speaks the Jira Cloud REST APIs as documented:
//
//   - Jira Service Management, customer requests:
//     https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/
//     POST /rest/servicedeskapi/request {serviceDeskId, requestTypeId,
//     requestFieldValues, raiseOnBehalfOf (an accountId)} → 201 with issueId,
//     issueKey, currentStatus, _links {web, agent, self};
//     POST /rest/servicedeskapi/request/{issueIdOrKey}/comment {body, public}
//     → 201; GET .../comment?public=&internal=&start=&limit= → a page
//     {size, start, limit, isLastPage, values}; GET .../status → the status
//     history, most recent (current) status first, {status, statusCategory,
//     statusDate}; GET/POST .../transition {id, additionalComment} → 204.
//     Errors are {"errorMessage", "i18nErrorMessage"}.
//   - Jira platform: POST /rest/api/3/search/jql {jql, fields, maxResults} →
//     {issues: [{id, key, fields}], isLast}:
//     https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
//     (eventually consistent: https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile);
//     GET /rest/api/3/user/search?query= → [{accountId, accountType,
//     emailAddress (when visible), displayName, active}] and GET
//     /rest/api/3/myself → {accountId}:
//     https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-user-search/,
//     https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/
//   - Basic auth with an email address and an API token, 401 otherwise:
//     https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/
//   - 429 with Retry-After (seconds) and X-RateLimit-* headers:
//     https://developer.atlassian.com/cloud/jira/platform/rate-limiting/
type fake struct {
	t *testing.T

	mu       sync.Mutex
	requests []*request
	users    []map[string]any
	now      time.Time
	seq      int
	bodies   []string
	calls    []string
	throttle int
	fail500  bool
}

type request struct {
	id, key       string
	serviceDesk   string
	requestType   string
	fields        map[string]any
	onBehalfOf    string
	statuses      []status // current first
	comments      []comment
	createdByCall int
}

type status struct{ name, category string }

type comment struct {
	id     int
	body   string
	public bool
	author string
	at     time.Time
}

const (
	jiraEmail = "tierzero@fabrikam-msp.com"
	jiraToken = "ATATT3xFfGF0-secret-token"
	selfID    = "5b10a2844c20165700ede21g"
	adeleID   = "qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b"
	techID    = "5b10ac8d82e05b22cc7d4ef5"
)

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{t: t, now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), users: []map[string]any{
		{"accountId": adeleID, "accountType": "customer", "emailAddress": "adele@contoso.com", "displayName": "Adele Vance", "active": true},
		{"accountId": "557058:adele-old", "accountType": "atlassian", "displayName": "Adele (old)", "active": false},
	}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

func (f *fake) sdError(w http.ResponseWriter, status int, msg string) {
	f.writeJSON(w, status, map[string]any{"errorMessage": msg, "i18nErrorMessage": map[string]any{"i18nKey": "sd.error", "parameters": []string{}}})
}

func (f *fake) date(at time.Time) map[string]any {
	return map[string]any{"iso8601": at.Format("2006-01-02T15:04:05-0700"), "jira": at.Format("2006-01-02T15:04:05.000-0700"),
		"friendly": "Today", "epochMillis": at.UnixMilli()}
}

var commentPath = regexp.MustCompile(`^/rest/servicedeskapi/request/([A-Z]+-\d+)/(comment|status|transition)$`)

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(body))
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if u, p, ok := r.BasicAuth(); !ok || u != jiraEmail || p != jiraToken {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "Client must be authenticated to access this resource.")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "3")
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reason", "jira-burst-based")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/rest/api/3/myself":
		f.writeJSON(w, http.StatusOK, map[string]any{"accountId": selfID, "accountType": "atlassian", "emailAddress": jiraEmail, "active": true})
	case r.Method == http.MethodGet && r.URL.Path == "/rest/api/3/user/search":
		q := strings.ToLower(r.URL.Query().Get("query"))
		out := []map[string]any{}
		for _, u := range f.users {
			if e, _ := u["emailAddress"].(string); strings.HasPrefix(e, q) {
				out = append(out, u)
			}
		}
		f.writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodPost && r.URL.Path == "/rest/servicedeskapi/request":
		f.create(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/search/jql":
		f.search(w, body)
	default:
		m := commentPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			f.sdError(w, http.StatusNotFound, "No resource found")
			return
		}
		req := f.get(m[1])
		if req == nil {
			f.sdError(w, http.StatusNotFound, "The request "+m[1]+" does not exist or you do not have permission to see it.")
			return
		}
		f.onRequest(w, r, req, m[2], body)
	}
}

func (f *fake) create(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		ServiceDeskID      string         `json:"serviceDeskId"`
		RequestTypeID      string         `json:"requestTypeId"`
		RequestFieldValues map[string]any `json:"requestFieldValues"`
		RaiseOnBehalfOf    string         `json:"raiseOnBehalfOf"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.ServiceDeskID == "" || in.RequestTypeID == "" {
		f.sdError(w, http.StatusBadRequest, "serviceDeskId and requestTypeId are required")
		return
	}
	if _, ok := in.RequestFieldValues["summary"].(string); !ok {
		f.sdError(w, http.StatusBadRequest, "Summary is required.")
		return
	}
	f.seq++
	req := &request{id: strconv.Itoa(10000 + f.seq), key: fmt.Sprintf("ITSD-%d", f.seq), serviceDesk: in.ServiceDeskID,
		requestType: in.RequestTypeID, fields: in.RequestFieldValues, onBehalfOf: in.RaiseOnBehalfOf,
		statuses: []status{{"Waiting for support", "INDETERMINATE"}}}
	f.requests = append(f.requests, req)
	if f.fail500 {
		f.sdError(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	base := "http://" + r.Host
	f.writeJSON(w, http.StatusCreated, map[string]any{
		"issueId": req.id, "issueKey": req.key, "requestTypeId": req.requestType, "serviceDeskId": req.serviceDesk,
		"createdDate":   f.date(f.now),
		"currentStatus": map[string]any{"status": "Waiting for support", "statusCategory": "INDETERMINATE", "statusDate": f.date(f.now)},
		"_links": map[string]string{"web": base + "/servicedesk/customer/portal/4/" + req.key,
			"agent": base + "/browse/" + req.key, "self": base + "/rest/servicedeskapi/request/" + req.id},
	})
}

var jqlLabel = regexp.MustCompile(`^labels = "([^"]+)" ORDER BY created ASC$`)
var jqlCF = regexp.MustCompile(`^cf\[(\d+)\] ~ "([^"]+)" ORDER BY created ASC$`)

func (f *fake) search(w http.ResponseWriter, body []byte) {
	var in struct {
		JQL        string   `json:"jql"`
		Fields     []string `json:"fields"`
		MaxResults int      `json:"maxResults"`
	}
	json.Unmarshal(body, &in)
	match := func(*request) bool { return false }
	if m := jqlLabel.FindStringSubmatch(in.JQL); m != nil {
		match = func(r *request) bool {
			ls, _ := r.fields["labels"].([]any)
			return slices.Contains(ls, any(m[1]))
		}
	} else if m := jqlCF.FindStringSubmatch(in.JQL); m != nil {
		match = func(r *request) bool {
			v, _ := r.fields["customfield_"+m[1]].(string)
			return strings.Contains(v, m[2]) // a text search matches words
		}
	} else {
		f.writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{"Error in the JQL Query"}, "errors": map[string]any{}})
		return
	}
	issues := []map[string]any{}
	for _, r := range f.requests {
		if !match(r) {
			continue
		}
		fields := map[string]any{"status": map[string]any{"name": r.statuses[0].name}}
		for _, k := range in.Fields {
			if v, ok := r.fields[k]; ok {
				fields[k] = v
			}
		}
		issues = append(issues, map[string]any{"id": r.id, "key": r.key, "fields": fields})
	}
	f.writeJSON(w, http.StatusOK, map[string]any{"issues": issues, "isLast": true})
}

func (f *fake) onRequest(w http.ResponseWriter, r *http.Request, req *request, what string, body []byte) {
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit == 0 {
		limit = 50
	}
	page := func(values []map[string]any) map[string]any {
		end := min(start+limit, len(values))
		if start > len(values) {
			start = len(values)
		}
		return map[string]any{"size": end - start, "start": start, "limit": limit, "isLastPage": end == len(values), "values": values[start:end]}
	}
	switch {
	case what == "comment" && r.Method == http.MethodPost:
		var in struct {
			Body   string `json:"body"`
			Public *bool  `json:"public"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Body == "" || in.Public == nil {
			f.sdError(w, http.StatusBadRequest, "body and public are required")
			return
		}
		c := f.comment(req, selfID, in.Body, *in.Public)
		f.writeJSON(w, http.StatusCreated, f.commentJSON(c))
	case what == "comment" && r.Method == http.MethodGet:
		var out []map[string]any
		for _, c := range req.comments {
			if (c.public && q.Get("public") != "false") || (!c.public && q.Get("internal") != "false") {
				out = append(out, f.commentJSON(c))
			}
		}
		f.writeJSON(w, http.StatusOK, page(out))
	case what == "status" && r.Method == http.MethodGet:
		var out []map[string]any
		for _, s := range req.statuses {
			out = append(out, map[string]any{"status": s.name, "statusCategory": s.category, "statusDate": f.date(f.now)})
		}
		f.writeJSON(w, http.StatusOK, page(out))
	case what == "transition" && r.Method == http.MethodGet:
		f.writeJSON(w, http.StatusOK, page([]map[string]any{{"id": "21", "name": "Respond to customer"}, {"id": "761", "name": "Resolve this issue"}}))
	case what == "transition" && r.Method == http.MethodPost:
		var in struct {
			ID                string `json:"id"`
			AdditionalComment struct {
				Body string `json:"body"`
			} `json:"additionalComment"`
		}
		json.Unmarshal(body, &in)
		if in.ID != "761" && in.ID != "21" {
			f.sdError(w, http.StatusBadRequest, "The transition is not valid")
			return
		}
		if in.ID == "761" {
			req.statuses = append([]status{{"Resolved", "DONE"}}, req.statuses...)
		}
		if in.AdditionalComment.Body != "" {
			f.comment(req, selfID, in.AdditionalComment.Body, true)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		f.sdError(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

func (f *fake) comment(req *request, author, body string, public bool) comment {
	f.seq++
	c := comment{id: 10600 + f.seq, body: body, public: public, author: author, at: f.now}
	req.comments = append(req.comments, c)
	return c
}

func (f *fake) commentJSON(c comment) map[string]any {
	name := map[string]string{selfID: "tierzero", techID: "Beth Tech"}[c.author]
	return map[string]any{"id": strconv.Itoa(c.id), "body": c.body, "public": c.public,
		"author": map[string]any{"accountId": c.author, "displayName": name, "active": true}, "created": f.date(c.at)}
}

func (f *fake) get(key string) *request {
	for _, r := range f.requests {
		if r.key == key || r.id == key {
			return r
		}
	}
	return nil
}

func escalation() tierzero.Escalation {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	return tierzero.Escalation{
		Tenant: "contoso", Conversation: "conv-1", Time: at,
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelTeams},
		Summary:   "Adele Vance's laptop will not lock remotely.", Cause: tierzero.CauseModelRequest, Reason: "the device is not managed by Intune",
		Checked:   []tierzero.EscalationStep{{CallID: "c1", Action: "device.list", Args: json.RawMessage(`{"user":"adele@contoso.com"}`), OK: true, Result: "LAPTOP-7 not managed"}},
		Tried:     []tierzero.EscalationStep{{CallID: "c2", Action: "device.lock", Args: json.RawMessage(`{"device":"LAPTOP-7"}`), OK: false, Result: "device not found in Intune"}},
		Decisions: []tierzero.EscalationDecision{{CallID: "c2", Action: "device.lock", Effect: tierzero.EffectAllow, Layer: "baseline", Rule: "30-devices-l2/self-lock", Reason: "own device"}},
		Transcript: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "I lost my laptop on the train, please lock it", Time: at},
			{Role: tierzero.TurnAssistant, Content: "I could not lock it; I am handing this to the IT team.", Time: at.Add(time.Minute)},
		},
	}
}

func newClient(t *testing.T, srv *httptest.Server, token string, opts ...func(*Config)) (*Client, *[]time.Duration) {
	t.Helper()
	cfg := Config{URL: srv.URL, Email: jiraEmail, APITokenEnv: "JIRA_TOKEN", ServiceDeskID: "4", RequestTypeID: "25",
		RequestTypeRules: []Rule{{Action: "device.", Value: "27"}},
		Priority:         "Medium", PriorityRules: []Rule{{Contains: "lost my laptop", Value: "High"}},
		Fields: map[string]any{"customfield_10002": []int{12}}, RequesterLookup: true}
	for _, o := range opts {
		o(&cfg)
	}
	var slept []time.Duration
	c, err := New(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return map[string]string{"JIRA_TOKEN": token}[k] },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c, &slept
}

func newTicket() tierzero.Ticket {
	return tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()}
}

func TestCreate(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, jiraToken)
	tk := newTicket()
	ref, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ref, (tierzero.TicketRef{System: "jira", ID: "ITSD-1", Number: "ITSD-1", URL: srv.URL + "/browse/ITSD-1"}); got != want {
		t.Errorf("ref = %+v, want %+v", got, want)
	}
	if len(f.requests) != 1 {
		t.Fatalf("%d requests, want 1", len(f.requests))
	}
	req := f.requests[0]
	if req.serviceDesk != "4" || req.requestType != "27" || req.onBehalfOf != adeleID {
		t.Errorf("service desk %q, request type %q (want 27, the device. rule), on behalf of %q", req.serviceDesk, req.requestType, req.onBehalfOf)
	}
	if got := req.fields["summary"]; got != "Adele Vance: I lost my laptop on the train, please lock it" {
		t.Errorf("summary %q", got)
	}
	if got, _ := json.Marshal(req.fields["priority"]); string(got) != `{"name":"High"}` {
		t.Errorf("priority %s, want High from the words", got)
	}
	if got, _ := json.Marshal(req.fields["labels"]); string(got) != `["`+tk.Correlation+`"]` {
		t.Errorf("labels %s, want the correlation id", got)
	}
	if got, _ := json.Marshal(req.fields["customfield_10002"]); string(got) != `[12]` {
		t.Errorf("organizations %s, want [12] from fields", got)
	}
	desc, _ := req.fields["description"].(string)
	for _, want := range []string{"Adele Vance <adele@contoso.com>", "tenant contoso", "I lost my laptop on the train",
		"the device is not managed by Intune", "device.list", "LAPTOP-7 not managed", "device.lock", "device not found in Intune",
		"baseline/30-devices-l2/self-lock", "I am handing this to the IT team", "conversation conv-1", tk.Correlation} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q:\n%s", want, desc)
		}
	}
	for _, b := range f.bodies {
		if strings.Contains(b, jiraToken) {
			t.Errorf("a request body holds the API token: %s", b)
		}
	}
	if got, want := f.calls, []string{"GET /rest/api/3/user/search", "POST /rest/servicedeskapi/request"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestCreateRequesterUnknown(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, jiraToken, func(c *Config) { c.RequestTypeRules, c.PriorityRules, c.Priority = nil, nil, "" })
	tk := newTicket()
	tk.Escalation.Requester.UPN = "nobody@contoso.com"
	if _, err := c.Create(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	req := f.requests[0]
	if req.onBehalfOf != "" || req.requestType != "25" || req.fields["priority"] != nil {
		t.Errorf("on behalf of %q, type %q, priority %v: want none, 25, none", req.onBehalfOf, req.requestType, req.fields["priority"])
	}
}

func TestFind(t *testing.T) {
	for _, field := range []string{"labels", "customfield_10050"} {
		t.Run(field, func(t *testing.T) {
			f, srv := newFake(t)
			c, _ := newClient(t, srv, jiraToken, func(c *Config) { c.CorrelationField = field })
			ctx := context.Background()
			tk := newTicket()
			if _, ok, err := c.Find(ctx, tk.Correlation); err != nil || ok {
				t.Fatalf("Find before create = %v, %v", ok, err)
			}
			created, err := c.Create(ctx, tk)
			if err != nil {
				t.Fatal(err)
			}
			if field != "labels" && f.requests[0].fields[field] != tk.Correlation {
				t.Errorf("%s = %v", field, f.requests[0].fields[field])
			}
			got, ok, err := c.Find(ctx, tk.Correlation)
			if err != nil || !ok || got.ID != created.ID {
				t.Errorf("Find = %+v, %v, %v; want %s", got, ok, err, created.ID)
			}
			if _, ok, err := c.Find(ctx, "tz-000000000000000000000000"); err != nil || ok {
				t.Errorf("Find(other) = %v, %v", ok, err)
			}
			if _, _, err := c.Find(ctx, `tz-1" OR project = X`); tierzero.ErrorCode(err) != tierzero.EInvalid {
				t.Errorf("Find(injection) = %v, want invalid", err)
			}
		})
	}
}

func TestCreateAmbiguous(t *testing.T) {
	f, srv := newFake(t)
	f.fail500 = true
	c, _ := newClient(t, srv, jiraToken, func(c *Config) { c.RequesterLookup = false })
	tk := newTicket()
	_, err := c.Create(context.Background(), tk)
	var te *ticket.Error
	if !errors.As(err, &te) || !te.MaybeApplied() {
		t.Fatalf("err = %v, want an ambiguous *ticket.Error", err)
	}
	if got := f.calls; !slices.Equal(got, []string{"POST /rest/servicedeskapi/request"}) {
		t.Errorf("calls %q, want one POST", got)
	}
	if _, ok, err := c.Find(context.Background(), tk.Correlation); err != nil || !ok {
		t.Errorf("Find after the ambiguous create = %v, %v", ok, err)
	}
}

func TestNotesAndUpdates(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, jiraToken)
	ctx := context.Background()
	ref, err := c.Create(ctx, newTicket())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "Adele was told ITSD-1.", Public: false}); err != nil {
		t.Fatal(err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "We are on it.", Public: true}); err != nil {
		t.Fatal(err)
	}
	req := f.requests[0]
	if len(req.comments) != 2 || req.comments[0].public || !req.comments[1].public {
		t.Fatalf("comments %+v: want an internal one then a public one", req.comments)
	}

	f.now = f.now.Add(time.Hour)
	f.comment(req, techID, "Is the laptop LAPTOP-7?", true)
	f.comment(req, techID, "internal: check the asset register", false)
	for i := range 60 { // more than a page
		f.comment(req, techID, fmt.Sprintf("update %d", i), true)
	}
	req.statuses = append([]status{{"Waiting for customer", "INDETERMINATE"}}, req.statuses...)

	up, err := c.Updates(ctx, ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != tierzero.TicketPending || up.Vendor != "Waiting for customer" {
		t.Errorf("status %q (%q), want pending", up.Status, up.Vendor)
	}
	got := texts(up.Comments)
	if len(got) != 61 || got[0] != "Is the laptop LAPTOP-7?" || got[60] != "update 59" || slices.Contains(got, "We are on it.") {
		t.Errorf("comments %d: %q ... want 61 public ones, not ours", len(got), got[:min(3, len(got))])
	}
	if up.Comments[0].Author != "Beth Tech" || !up.Comments[0].Time.Equal(f.now) {
		t.Errorf("comment %+v", up.Comments[0])
	}
	again, err := c.Updates(ctx, ref, up.Cursor)
	if err != nil || len(again.Comments) != 0 || again.Cursor != up.Cursor {
		t.Errorf("Updates(cursor) = %q, %q, %v; want none new", texts(again.Comments), again.Cursor, err)
	}
	f.comment(req, techID, "Wiped remotely.", true)
	up, err = c.Updates(ctx, ref, again.Cursor)
	if err != nil || !slices.Equal(texts(up.Comments), []string{"Wiped remotely."}) {
		t.Errorf("Updates = %q, %v", texts(up.Comments), err)
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
	names := map[string][]string{"pending": {"Awaiting parts"}, "closed": {"Duplicate"}}
	tests := []struct {
		status, category string
		want             tierzero.TicketStatus
	}{
		{"Waiting for support", "INDETERMINATE", tierzero.TicketOpen},
		{"In Progress", "INDETERMINATE", tierzero.TicketOpen},
		{"Open", "NEW", tierzero.TicketOpen},
		{"Waiting for customer", "INDETERMINATE", tierzero.TicketPending},
		{"Pending", "INDETERMINATE", tierzero.TicketPending},
		{"Awaiting parts", "INDETERMINATE", tierzero.TicketPending},
		{"Resolved", "DONE", tierzero.TicketResolved},
		{"Done", "DONE", tierzero.TicketResolved},
		{"Closed", "DONE", tierzero.TicketClosed},
		{"Canceled", "DONE", tierzero.TicketClosed},
		{"Declined", "DONE", tierzero.TicketClosed},
		{"Duplicate", "DONE", tierzero.TicketClosed},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			if got := Status(names, tt.status, tt.category); got != tt.want {
				t.Errorf("Status(%q, %q) = %q, want %q", tt.status, tt.category, got, tt.want)
			}
		})
	}
}

func TestClose(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, jiraToken)
	ctx := context.Background()
	tk := newTicket()
	tk.Test = true
	ref, err := c.Create(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx, ref, "connection test"); err != nil {
		t.Fatal(err)
	}
	req := f.requests[0]
	if req.statuses[0].name != "Resolved" || len(req.comments) != 1 || req.comments[0].body != "connection test" {
		t.Errorf("after Close: status %q, comments %+v", req.statuses[0].name, req.comments)
	}
	up, err := c.Updates(ctx, ref, "")
	if err != nil || up.Status != tierzero.TicketResolved || len(up.Comments) != 0 {
		t.Errorf("Updates after Close = %q, %q, %v", up.Status, texts(up.Comments), err)
	}
	c.cfg.CloseTransition = "Cancel request"
	if err := c.Close(ctx, ref, "x"); err == nil || !strings.Contains(err.Error(), "Cancel request") {
		t.Errorf("Close without the transition = %v", err)
	}
}

func TestAuthFailure(t *testing.T) {
	_, srv := newFake(t)
	c, _ := newClient(t, srv, "wrong-api-token-123")
	_, err := c.Create(context.Background(), newTicket())
	if err == nil {
		t.Fatal("Create succeeded with a wrong token")
	}
	msg := err.Error()
	for _, want := range []string{"jira", "contoso", "authentication failed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "wrong-api-token-123") {
		t.Errorf("error %q holds the token", msg)
	}
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Errorf("code %q, want unauthorized", tierzero.ErrorCode(err))
	}
}

func TestRateLimit(t *testing.T) {
	f, srv := newFake(t)
	c, slept := newClient(t, srv, jiraToken)
	f.throttle = 2
	if _, err := c.Create(context.Background(), newTicket()); err != nil {
		t.Fatal(err)
	}
	if got, want := *slept, []time.Duration{3 * time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v (Retry-After)", got, want)
	}
	if len(f.requests) != 1 {
		t.Errorf("%d requests, want 1", len(f.requests))
	}
}

func TestNewErrors(t *testing.T) {
	ok := Config{URL: "https://acme.atlassian.net", Email: jiraEmail, APITokenEnv: "T", ServiceDeskID: "4", RequestTypeID: "25"}
	tests := []struct {
		name string
		mod  func(*Config)
		env  map[string]string
		want string
	}{
		{"no token", func(*Config) {}, nil, "T is empty"},
		{"no email", func(c *Config) { c.Email, c.EmailEnv = "", "E" }, map[string]string{"T": "x"}, "E is empty"},
		{"desk", func(c *Config) { c.ServiceDeskID = "ITSD" }, map[string]string{"T": "x"}, "service_desk_id"},
		{"type", func(c *Config) { c.RequestTypeRules = []Rule{{Value: "hardware"}} }, map[string]string{"T": "x"}, "request type id"},
		{"field", func(c *Config) { c.CorrelationField = "summary" }, map[string]string{"T": "x"}, "correlation_field"},
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
