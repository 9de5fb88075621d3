package servicenow

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
	"github.com/tierzero/tierzero/ticket/tickettest"
)

// The fake speaks the ServiceNow REST API as documented:
//
//   - Table API (GET/POST /api/now/table/{tableName}, GET/PATCH
//     /api/now/table/{tableName}/{sys_id}; sysparm_query, sysparm_fields,
//     sysparm_limit; results in {"result": ...}; 201 on insert; errors as
//     {"error": {"message", "detail"}, "status": "failure"}):
//     https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html
//   - Encoded queries (field=value joined by ^, ORDERBY): the Table API GET
//     reference, https://docs.servicenow.com/bundle/geneva-servicenow-platform/page/integrate/inbound_rest/reference/r_TableAPI-GET.html
//   - Journal fields (comments, work_notes) are stored as rows of
//     sys_journal_field (element_id, element, value, sys_created_on,
//     sys_created_by): https://servicenow-prod.fluidtopics.net/r/yokohama/platform-administration/ai-platform-administration/c_JournalFields.html
//   - OAuth: POST /oauth_token.do, application/x-www-form-urlencoded,
//     grant_type client_credentials or password, client_id, client_secret
//     (username, password); JSON access_token, expires_in:
//     https://www.servicenow.com/docs/r/yokohama/platform-security/authentication/r_OAuthAPIRequestParameters.html
//     and https://www.servicenow.com/docs/r/zurich/platform-security/authentication/client-credentials.html
//   - 429 with Retry-After when an inbound REST rate limit rule is hit:
//     https://www.servicenow.com/docs/r/api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.html
type fake struct {
	t *testing.T

	mu       sync.Mutex
	tables   map[string][]map[string]string
	now      time.Time
	seq      int
	bodies   []string // raw request bodies and token forms
	requests []string // "METHOD path"
	tokens   map[string]string
	throttle int // the next n API calls get 429
	fail500  bool
	tokenReq int
}

const (
	snUser     = "tierzero.integration"
	snPassword = "pa55-Word!xyz"
	snClientID = "be3aeb583ace210011c15b24a43e25d8"
	snSecret   = "client-s3cr3t-value"
	adeleID    = "62826bf03710200044e0bfc8bcbe5df1"
)

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{t: t, now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), tokens: map[string]string{},
		tables: map[string][]map[string]string{
			"sys_user": {
				{"sys_id": adeleID, "email": "adele@contoso.com", "active": "true", "user_name": "adele.vance"},
				{"sys_id": "0a826bf03710200044e0bfc8bcbe5d7a", "email": "other@contoso.com", "active": "true"},
			},
		}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fake) fail(w http.ResponseWriter, status int, message, detail string) {
	f.writeJSON(w, status, map[string]any{"error": map[string]string{"message": message, "detail": detail}, "status": "failure"})
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(body))
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)

	if r.URL.Path == "/oauth_token.do" {
		f.tokenReq++
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			f.fail(w, http.StatusBadRequest, "bad token request", "")
			return
		}
		form, _ := url.ParseQuery(string(body))
		ok := form.Get("client_id") == snClientID && form.Get("client_secret") == snSecret
		switch form.Get("grant_type") {
		case "client_credentials":
		case "password":
			ok = ok && form.Get("username") == snUser && form.Get("password") == snPassword
		default:
			ok = false
		}
		if !ok {
			f.writeJSON(w, http.StatusUnauthorized, map[string]string{"error_description": "access_denied", "error": "server_error"})
			return
		}
		tok := fmt.Sprintf("tok-%d", f.tokenReq)
		f.tokens[tok] = snUser
		f.writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "refresh_token": "r-" + tok, "scope": "useraccount", "token_type": "Bearer", "expires_in": 1799})
		return
	}

	user := ""
	if u, p, ok := r.BasicAuth(); ok && u == snUser && p == snPassword {
		user = u
	} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && f.tokens[tok] != "" {
		user = f.tokens[tok]
	}
	if user == "" {
		f.fail(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "2")
		w.Header().Set("X-RateLimit-Limit", "100")
		f.fail(w, http.StatusTooManyRequests, "Rate limit exceeded", "Too many requests for user "+user)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/now/table/")
	if !ok {
		f.fail(w, http.StatusBadRequest, "Requested URI does not represent any resource", "")
		return
	}
	table, id, _ := strings.Cut(rest, "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && id == "":
		rows := f.query(table, q.Get("sysparm_query"))
		if n := q.Get("sysparm_limit"); n != "" {
			var lim int
			fmt.Sscan(n, &lim)
			if len(rows) > lim {
				rows = rows[:lim]
			}
		}
		out := []map[string]string{}
		for _, row := range rows {
			out = append(out, project(row, q.Get("sysparm_fields")))
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"result": out})
	case r.Method == http.MethodPost && id == "":
		if f.fail500 {
			f.seq++
			f.insert(table, nil, body, user)
			f.fail(w, http.StatusInternalServerError, "Transaction cancelled: maximum execution time exceeded", "")
			return
		}
		rec, err := f.insert(table, nil, body, user)
		if err != nil {
			f.fail(w, http.StatusBadRequest, "Exception while reading request", err.Error())
			return
		}
		w.Header().Set("Location", "http://"+r.Host+"/api/now/table/"+table+"/"+rec["sys_id"])
		f.writeJSON(w, http.StatusCreated, map[string]any{"result": project(rec, q.Get("sysparm_fields"))})
	case (r.Method == http.MethodGet || r.Method == http.MethodPatch) && id != "":
		rec := f.get(table, id)
		if rec == nil {
			f.fail(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
			return
		}
		if r.Method == http.MethodPatch {
			if _, err := f.insert(table, rec, body, user); err != nil {
				f.fail(w, http.StatusBadRequest, "Exception while reading request", err.Error())
				return
			}
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"result": project(rec, q.Get("sysparm_fields"))})
	default:
		f.fail(w, http.StatusMethodNotAllowed, "Method not Supported", "")
	}
}

// insert creates a record (rec nil) or updates rec from a JSON body. The
// journal fields become sys_journal_field rows, as on an instance.
func (f *fake) insert(table string, rec map[string]string, body []byte, user string) (map[string]string, error) {
	var fields map[string]string
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	if rec == nil {
		f.seq++
		rec = map[string]string{"sys_id": fmt.Sprintf("9d385017c611228701d22104%08x", f.seq),
			"number": fmt.Sprintf("INC%07d", 10000+f.seq), "state": "1", "sys_created_on": f.stamp(), "sys_created_by": user}
		f.tables[table] = append(f.tables[table], rec)
	}
	for k, v := range fields {
		if k == "comments" || k == "work_notes" {
			f.journal(rec["sys_id"], k, user, v)
			continue
		}
		rec[k] = v
	}
	return rec, nil
}

func (f *fake) journal(id, element, by, text string) {
	f.seq++
	f.tables["sys_journal_field"] = append(f.tables["sys_journal_field"], map[string]string{
		"sys_id": fmt.Sprintf("j%031d", f.seq), "element_id": id, "element": element, "name": "incident",
		"value": text, "sys_created_on": f.stamp(), "sys_created_by": by})
}

func (f *fake) stamp() string { return f.now.Format("2006-01-02 15:04:05") }

func (f *fake) get(table, id string) map[string]string {
	for _, rec := range f.tables[table] {
		if rec["sys_id"] == id {
			return rec
		}
	}
	return nil
}

// query evaluates an encoded query of field=value and field>=value terms
// joined by ^ (AND), and ORDERBYfield.
func (f *fake) query(table, q string) []map[string]string {
	var out []map[string]string
	var order string
rows:
	for _, rec := range f.tables[table] {
		for term := range strings.SplitSeq(q, "^") {
			switch {
			case term == "":
			case strings.HasPrefix(term, "ORDERBY"):
				order = strings.TrimPrefix(term, "ORDERBY")
			case strings.Contains(term, ">="):
				k, v, _ := strings.Cut(term, ">=")
				if rec[k] < v {
					continue rows
				}
			case strings.Contains(term, "="):
				k, v, _ := strings.Cut(term, "=")
				if rec[k] != v {
					continue rows
				}
			default:
				f.t.Errorf("fake: unsupported query term %q", term)
				continue rows
			}
		}
		out = append(out, rec)
	}
	if order != "" {
		slices.SortStableFunc(out, func(a, b map[string]string) int { return strings.Compare(a[order], b[order]) })
	}
	return out
}

func project(rec map[string]string, fields string) map[string]string {
	if fields == "" {
		return rec
	}
	out := map[string]string{}
	for k := range strings.SplitSeq(fields, ",") {
		out[k] = rec[k]
	}
	return out
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
			{Role: tierzero.TurnUser, Content: "I lost my laptop on the train, please lock it", Time: at},
			{Role: tierzero.TurnAssistant, Content: "I could not lock it; I am handing this to the IT team.", Time: at.Add(time.Minute)},
		},
	}
}

type opt func(*Config)

func newClient(t *testing.T, srv *httptest.Server, env map[string]string, opts ...opt) (*Client, *[]time.Duration) {
	t.Helper()
	cfg := Config{URL: srv.URL, UserEnv: "SN_USER", PasswordEnv: "SN_PASSWORD",
		Company: "31bea3d53790200044e0bfc8bcbe5dec", AssignmentGroup: "8a5055c9c61122780043563ef53438e3",
		Category: "inquiry", Priority: "5", RequesterLookup: true,
		CategoryRules:        []Rule{{Contains: "printer", Value: "printing"}, {Action: "device.", Value: "hardware"}},
		AssignmentGroupRules: []Rule{{Action: "device.lock", Value: "287ebd7da9fe198100f92cc8d1d2154e"}},
		PriorityRules:        []Rule{{Cause: "time_limit", Value: "3"}, {Contains: "LOST my laptop", Value: "2"}}}
	for _, o := range opts {
		o(&cfg)
	}
	if env == nil {
		env = map[string]string{"SN_USER": snUser, "SN_PASSWORD": snPassword}
	}
	return tickettest.New(t, New, cfg, env)
}

func TestCreate(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	tk := tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()}
	ref, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	incs := f.tables["incident"]
	if len(incs) != 1 {
		t.Fatalf("%d incidents, want 1", len(incs))
	}
	inc := incs[0]
	if got, want := ref, (tierzero.TicketRef{System: "servicenow", ID: inc["sys_id"], Number: "INC0010001",
		URL: srv.URL + "/nav_to.do?uri=incident.do%3Fsys_id%3D" + inc["sys_id"]}); got != want {
		t.Errorf("ref = %+v, want %+v", got, want)
	}
	for k, want := range map[string]string{
		"correlation_id":    tk.Correlation,
		"caller_id":         adeleID, // found by email
		"company":           "31bea3d53790200044e0bfc8bcbe5dec",
		"assignment_group":  "287ebd7da9fe198100f92cc8d1d2154e", // the device.lock rule
		"category":          "hardware",                         // the device. rule
		"impact":            "1",                                // priority 2, from the words
		"urgency":           "2",
		"short_description": "Adele Vance: I lost my laptop on the train, please lock it",
	} {
		if inc[k] != want {
			t.Errorf("%s = %q, want %q", k, inc[k], want)
		}
	}
	for _, want := range []string{"Adele Vance <adele@contoso.com>", "tenant contoso", "I lost my laptop on the train",
		"the device is not managed by Intune", "device.list", "LAPTOP-7 not managed", "device.lock", "device not found in Intune",
		"baseline/30-devices-l2/self-lock", "I am handing this to the IT team", "conversation conv-1", tk.Correlation} {
		if !strings.Contains(inc["description"], want) {
			t.Errorf("description lacks %q:\n%s", want, inc["description"])
		}
	}
	for _, b := range f.bodies {
		if strings.Contains(b, snPassword) {
			t.Errorf("a request body holds the password: %s", b)
		}
	}
	if got, want := f.requests, []string{"GET /api/now/table/sys_user", "POST /api/now/table/incident"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestCreateCallerNotFound(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil, func(c *Config) {
		c.Caller = "5137153cc611227c000bbd1bd8cd2005"
		c.CategoryRules, c.PriorityRules = nil, nil
	})
	e := escalation()
	e.Requester.UPN = "nobody@contoso.com"
	if _, err := c.Create(context.Background(), tierzero.Ticket{Correlation: tierzero.TicketCorrelation(e), Escalation: e}); err != nil {
		t.Fatal(err)
	}
	inc := f.tables["incident"][0]
	if inc["caller_id"] != "5137153cc611227c000bbd1bd8cd2005" || inc["category"] != "inquiry" || inc["impact"] != "3" || inc["urgency"] != "3" {
		t.Errorf("incident %v: want the configured caller and no rule applied", inc)
	}
}

func TestFind(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	corr := tierzero.TicketCorrelation(escalation())
	if _, ok, err := c.Find(ctx, corr); err != nil || ok {
		t.Fatalf("Find before create = %v, %v; want not found", ok, err)
	}
	created, err := c.Create(ctx, tierzero.Ticket{Correlation: corr, Escalation: escalation()})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Find(ctx, corr)
	if err != nil || !ok || got != created {
		t.Errorf("Find = %+v, %v, %v; want %+v", got, ok, err, created)
	}
	if _, ok, err := c.Find(ctx, "tz-000000000000000000000000"); err != nil || ok {
		t.Errorf("Find(other) = %v, %v; want not found", ok, err)
	}
	if _, _, err := c.Find(ctx, "x^active=true"); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("Find(injection) err = %v, want invalid", err)
	}
	_ = f
}

// TestCreateAmbiguous: a 5xx after the instance inserted the record is
// returned as maybe applied, with no second POST; Find then sees it.
func TestCreateAmbiguous(t *testing.T) {
	f, srv := newFake(t)
	f.fail500 = true
	c, _ := newClient(t, srv, nil, func(c *Config) { c.RequesterLookup = false })
	corr := tierzero.TicketCorrelation(escalation())
	_, err := c.Create(context.Background(), tierzero.Ticket{Correlation: corr, Escalation: escalation()})
	var te *ticket.Error
	if !errors.As(err, &te) || !te.MaybeApplied() {
		t.Fatalf("err = %v, want an ambiguous *ticket.Error", err)
	}
	if got := f.requests; !slices.Equal(got, []string{"POST /api/now/table/incident"}) {
		t.Errorf("requests %q, want one POST", got)
	}
	if _, ok, err := c.Find(context.Background(), corr); err != nil || !ok {
		t.Errorf("Find after ambiguous create = %v, %v", ok, err)
	}
}

func TestNotesAndUpdates(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	ref, err := c.Create(ctx, tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "Adele was told the ticket number.", Public: false}); err != nil {
		t.Fatal(err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "We are on it.", Public: true}); err != nil {
		t.Fatal(err)
	}
	var elements []string
	for _, j := range f.tables["sys_journal_field"] {
		elements = append(elements, j["element"]+": "+j["value"])
	}
	if want := []string{"work_notes: Adele was told the ticket number.", "comments: We are on it."}; !slices.Equal(elements, want) {
		t.Errorf("journal %q, want %q", elements, want)
	}

	// A technician comments twice in the same second and adds a work note.
	f.now = f.now.Add(time.Minute)
	f.journal(ref.ID, "comments", "beth.tech", "Is the laptop LAPTOP-7?")
	f.journal(ref.ID, "work_notes", "beth.tech", "internal: check the asset register")
	f.journal(ref.ID, "comments", "beth.tech", "Please reply here.")
	f.get("incident", ref.ID)["state"] = "2"

	up, err := c.Updates(ctx, ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != tierzero.TicketOpen || up.Vendor != "In Progress" {
		t.Errorf("status %q (%q), want open (In Progress)", up.Status, up.Vendor)
	}
	if got, want := texts(up.Comments), []string{"Is the laptop LAPTOP-7?", "Please reply here."}; !slices.Equal(got, want) {
		t.Errorf("comments %q, want %q (public, not ours)", got, want)
	}
	if up.Comments[0].Author != "beth.tech" || !up.Comments[0].Time.Equal(f.now) {
		t.Errorf("comment %+v", up.Comments[0])
	}

	again, err := c.Updates(ctx, ref, up.Cursor)
	if err != nil || len(again.Comments) != 0 {
		t.Errorf("Updates(cursor) = %q, %v; want none new", texts(again.Comments), err)
	}
	f.journal(ref.ID, "comments", "beth.tech", "Same second, later.")
	f.now = f.now.Add(time.Second)
	f.journal(ref.ID, "comments", "beth.tech", "Resolved: wiped remotely.")
	f.get("incident", ref.ID)["state"] = "6"
	up, err = c.Updates(ctx, ref, again.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := texts(up.Comments), []string{"Same second, later.", "Resolved: wiped remotely."}; !slices.Equal(got, want) || up.Status != tierzero.TicketResolved {
		t.Errorf("comments %q status %q, want %q resolved", got, up.Status, want)
	}
}

func texts(cs []tierzero.TicketComment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Text)
	}
	return out
}

func TestState(t *testing.T) {
	tests := []struct {
		state  string
		want   tierzero.TicketStatus
		vendor string
	}{
		{"1", tierzero.TicketOpen, "New"},
		{"2", tierzero.TicketOpen, "In Progress"},
		{"3", tierzero.TicketPending, "On Hold"},
		{"6", tierzero.TicketResolved, "Resolved"},
		{"7", tierzero.TicketClosed, "Closed"},
		{"8", tierzero.TicketClosed, "Canceled"},
		{"42", tierzero.TicketOpen, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			if got, vendor := State(tt.state); got != tt.want || vendor != tt.vendor {
				t.Errorf("State(%q) = %q, %q; want %q, %q", tt.state, got, vendor, tt.want, tt.vendor)
			}
		})
	}
}

func TestClose(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	ref, err := c.Create(ctx, tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation(), Test: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx, ref, "connection test"); err != nil {
		t.Fatal(err)
	}
	inc := f.get("incident", ref.ID)
	if inc["state"] != "6" || inc["close_code"] != "Solution provided" || inc["close_notes"] != "connection test" {
		t.Errorf("incident after Close: %v", inc)
	}
	up, err := c.Updates(ctx, ref, "")
	if err != nil || up.Status != tierzero.TicketResolved {
		t.Errorf("Updates after Close = %q, %v", up.Status, err)
	}
}

func TestAuthFailure(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		cfg    opt
		secret string
	}{
		{"basic", map[string]string{"SN_USER": snUser, "SN_PASSWORD": "wrong-pa55word"}, nil, "wrong-pa55word"},
		{"oauth", map[string]string{"SN_ID": snClientID, "SN_SECRET": "wrong-client-secret"},
			func(c *Config) {
				c.UserEnv, c.PasswordEnv, c.ClientIDEnv, c.ClientSecretEnv = "", "", "SN_ID", "SN_SECRET"
			}, "wrong-client-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFake(t)
			var opts []opt
			if tt.cfg != nil {
				opts = append(opts, tt.cfg)
			}
			c, _ := newClient(t, srv, tt.env, opts...)
			_, err := c.Create(context.Background(), tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()})
			if err == nil {
				t.Fatal("Create succeeded with wrong credentials")
			}
			msg := err.Error()
			for _, want := range []string{"servicenow", "contoso", "authentication failed"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if strings.Contains(msg, tt.secret) {
				t.Errorf("error %q holds the credential", msg)
			}
			if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
				t.Errorf("code %q, want unauthorized", tierzero.ErrorCode(err))
			}
		})
	}
}

func TestOAuth(t *testing.T) {
	for _, grant := range []string{"client_credentials", "password"} {
		t.Run(grant, func(t *testing.T) {
			f, srv := newFake(t)
			env := map[string]string{"SN_ID": snClientID, "SN_SECRET": snSecret}
			o := func(c *Config) {
				c.UserEnv, c.PasswordEnv, c.ClientIDEnv, c.ClientSecretEnv = "", "", "SN_ID", "SN_SECRET"
			}
			if grant == "password" {
				env["SN_USER"], env["SN_PASSWORD"] = snUser, snPassword
				o = func(c *Config) { c.ClientIDEnv, c.ClientSecretEnv = "SN_ID", "SN_SECRET" }
			}
			c, _ := newClient(t, srv, env, o)
			ctx := context.Background()
			ref, err := c.Create(ctx, tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Find(ctx, tierzero.TicketCorrelation(escalation())); err != nil {
				t.Fatal(err)
			}
			if f.tokenReq != 1 {
				t.Errorf("%d token requests, want 1 (cached)", f.tokenReq)
			}
			form, _ := url.ParseQuery(f.bodies[0])
			if form.Get("grant_type") != grant {
				t.Errorf("token form %v", form)
			}
			// The instance revokes the token: the next call fails, the one
			// after fetches a new token.
			clear(f.tokens)
			if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "x"}); tierzero.ErrorCode(err) != tierzero.EUnauthorized {
				t.Errorf("Note with a revoked token: %v", err)
			}
			if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "y"}); err != nil {
				t.Errorf("Note after a new token: %v", err)
			}
			if f.tokenReq != 2 {
				t.Errorf("%d token requests, want 2", f.tokenReq)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	f, srv := newFake(t)
	c, slept := newClient(t, srv, nil)
	f.throttle = 2 // the caller lookup and then the POST are throttled once each
	if _, err := c.Create(context.Background(), tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()}); err != nil {
		t.Fatal(err)
	}
	if got, want := *slept, []time.Duration{2 * time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v (Retry-After)", got, want)
	}
	if n := len(f.tables["incident"]); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		env  map[string]string
		want string
	}{
		{"no credentials", Config{URL: "https://acme.service-now.com"}, nil, "no credentials"},
		{"empty env", Config{URL: "https://acme.service-now.com", UserEnv: "U", PasswordEnv: "P"}, map[string]string{"U": "x"}, "P is empty"},
		{"http", Config{URL: "http://acme.service-now.com", UserEnv: "U", PasswordEnv: "P"}, map[string]string{"U": "x", "P": "y"}, "must be https"},
		{"table", Config{URL: "https://acme.service-now.com", Table: "incident/../x", UserEnv: "U", PasswordEnv: "P"}, map[string]string{"U": "x", "P": "y"}, "not a table name"},
		{"priority", Config{URL: "https://acme.service-now.com", PriorityRules: []Rule{{Value: "high"}}, UserEnv: "U", PasswordEnv: "P"}, map[string]string{"U": "x", "P": "y"}, "want 1 to 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return tt.env[k] }})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "contoso") {
				t.Errorf("New = %v, want an error naming the tenant and %q", err, tt.want)
			}
		})
	}
}
