// Package servicenow opens tierzero's escalations as ServiceNow incidents
// through the Table API (/api/now/table/incident): the correlation id in
// correlation_id, public notes as comments (Additional comments, seen by
// the caller) and internal ones as work_notes, the caller found by email in
// sys_user, technicians' comments read back from sys_journal_field.
// Authentication is basic (a user and password) or OAuth 2.0 against the
// instance's oauth_token.do (client credentials, or the password grant when
// a user is configured too).
package servicenow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Name is the system's configuration name.
const Name = "servicenow"

// Config is a tenant's `ticket:` block for ServiceNow.
//
//	ticket:
//	  system: servicenow
//	  url: https://acme.service-now.com
//	  user_env: CONTOSO_SN_USER            # basic auth, or the OAuth password grant
//	  password_env: CONTOSO_SN_PASSWORD
//	  client_id_env: CONTOSO_SN_CLIENT_ID  # OAuth (client credentials without a user)
//	  client_secret_env: CONTOSO_SN_CLIENT_SECRET
//	  company: 31bea3d53790200044e0bfc8bcbe5dec          # core_company sys_id
//	  assignment_group: 8a5055c9c61122780043563ef53438e3 # sys_user_group sys_id
//	  category: inquiry
//	  category_rules: [{action: device., value: hardware}]
//	  priority: "4"
//	  priority_rules: [{cause: time_limit, value: "3"}]
//	  requester_lookup: true
type Config struct {
	URL             string `yaml:"url" json:"url"`
	UserEnv         string `yaml:"user_env" json:"user_env,omitempty"`
	PasswordEnv     string `yaml:"password_env" json:"password_env,omitempty"`
	ClientIDEnv     string `yaml:"client_id_env" json:"client_id_env,omitempty"`
	ClientSecretEnv string `yaml:"client_secret_env" json:"client_secret_env,omitempty"`
	// Table is the task table tickets are opened in; "incident" when empty.
	Table string `yaml:"table" json:"table,omitempty"`
	// Company and AssignmentGroup are sys_ids (core_company,
	// sys_user_group); Caller is the sys_user sys_id used when the
	// requester is not looked up or not found.
	Company              string `yaml:"company" json:"company,omitempty"`
	AssignmentGroup      string `yaml:"assignment_group" json:"assignment_group,omitempty"`
	AssignmentGroupRules []Rule `yaml:"assignment_group_rules" json:"assignment_group_rules,omitempty"`
	Caller               string `yaml:"caller" json:"caller,omitempty"`
	Category             string `yaml:"category" json:"category,omitempty"`
	CategoryRules        []Rule `yaml:"category_rules" json:"category_rules,omitempty"`
	Subcategory          string `yaml:"subcategory" json:"subcategory,omitempty"`
	// Priority is "1" (critical) to "5" (planning). ServiceNow computes an
	// incident's priority from its impact and urgency, so tierzero sets
	// those: 1 is impact 1 and urgency 1, 2 is 1 and 2, 3 is 2 and 2, 4 is
	// 2 and 3, 5 is 3 and 3 (the default priority lookup). Empty: the
	// instance's defaults.
	Priority      string `yaml:"priority" json:"priority,omitempty"`
	PriorityRules []Rule `yaml:"priority_rules" json:"priority_rules,omitempty"`
	// RequesterLookup sets the caller to the active sys_user whose email is
	// the requester's UPN.
	RequesterLookup bool `yaml:"requester_lookup" json:"requester_lookup,omitempty"`
	// CloseCode is the resolution code set when closing ("Solution
	// provided" when empty; older instances use "Solved (Permanently)").
	CloseCode string `yaml:"close_code" json:"close_code,omitempty"`
	// IntegrationUser is the user name tierzero's own comments are made as,
	// left out of Updates; the basic-auth user when empty.
	IntegrationUser string `yaml:"integration_user" json:"integration_user,omitempty"`
}

// Rule picks a value for the escalations it matches: see ticket.Rule.
type Rule = ticket.Rule

// impactUrgency are the impact and urgency that give each priority in
// ServiceNow's default priority lookup.
var impactUrgency = map[string][2]string{
	"1": {"1", "1"}, "2": {"1", "2"}, "3": {"2", "2"}, "4": {"2", "3"}, "5": {"3", "3"},
}

// Client is a ServiceNow instance configured for one tenant.
type Client struct {
	cfg   Config
	http  *ticket.HTTP
	token *ticket.Token // nil with basic auth
	user  string        // the integration user, whose comments are ours
}

var _ ticket.System = (*Client)(nil)

// New returns a client for cfg, reading its credentials from the
// environment.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	h, err := ticket.NewHTTP(Name, cfg.URL, opts)
	if err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		cfg.Table = "incident"
	}
	if !fieldName(cfg.Table) {
		return fail(tierzero.Errorf(tierzero.EInvalid, "table %q is not a table name", cfg.Table))
	}
	for _, p := range append([]string{cfg.Priority}, ticket.Values(cfg.PriorityRules)...) {
		if _, ok := impactUrgency[p]; p != "" && !ok {
			return fail(tierzero.Errorf(tierzero.EInvalid, "priority %q: want 1 to 5", p))
		}
	}
	if cfg.CloseCode == "" {
		cfg.CloseCode = "Solution provided"
	}
	c := &Client{cfg: cfg, http: h}
	var user, password string
	if cfg.UserEnv != "" || cfg.PasswordEnv != "" {
		if user, err = ticket.Env(opts.Getenv, "user_env", cfg.UserEnv); err != nil {
			return fail(err)
		}
		if password, err = ticket.Env(opts.Getenv, "password_env", cfg.PasswordEnv); err != nil {
			return fail(err)
		}
		h.Secrets = append(h.Secrets, password)
	}
	c.user = cfg.IntegrationUser
	if c.user == "" {
		c.user = user
	}
	switch {
	case cfg.ClientIDEnv != "" || cfg.ClientSecretEnv != "":
		id, err := ticket.Env(opts.Getenv, "client_id_env", cfg.ClientIDEnv)
		if err != nil {
			return fail(err)
		}
		secret, err := ticket.Env(opts.Getenv, "client_secret_env", cfg.ClientSecretEnv)
		if err != nil {
			return fail(err)
		}
		h.Secrets = append(h.Secrets, secret)
		form := url.Values{"client_id": {id}, "client_secret": {secret}, "grant_type": {"client_credentials"}}
		if user != "" {
			form.Set("grant_type", "password")
			form.Set("username", user)
			form.Set("password", password)
		}
		tokenHTTP, err := ticket.NewHTTP(Name, cfg.URL, opts)
		if err != nil {
			return nil, err
		}
		tokenHTTP.Secrets = h.Secrets
		c.token = &ticket.Token{HTTP: tokenHTTP, Path: "/oauth_token.do", Form: form}
		h.Auth = c.token.Auth
	case user != "":
		h.Auth = func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(user, password)
			return nil
		}
	default:
		return fail(tierzero.Errorf(tierzero.EInvalid, "no credentials: set user_env and password_env, or client_id_env and client_secret_env"))
	}
	return c, nil
}

// Name returns "servicenow".
func (c *Client) Name() string { return Name }

// record is the part of a task record tierzero reads.
type record struct {
	SysID  string `json:"sys_id"`
	Number string `json:"number"`
	State  string `json:"state"`
}

// Create opens an incident with one POST: short_description and
// description from the escalation, correlation_id, the caller, company,
// assignment group, category and impact/urgency from the mapping. The
// caller is looked up first (a read).
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	if !correlationOK(t.Correlation) {
		return tierzero.TicketRef{}, tierzero.Errorf(tierzero.EInvalid, "correlation id %q is not one of tierzero's", t.Correlation)
	}
	e := t.Escalation
	fields := map[string]string{
		"short_description":   ticket.Subject(t),
		"description":         ticket.Body(t),
		"correlation_id":      t.Correlation,
		"correlation_display": "tierzero",
		"company":             c.cfg.Company,
		"assignment_group":    ticket.Pick(c.cfg.AssignmentGroupRules, c.cfg.AssignmentGroup, e),
		"category":            ticket.Pick(c.cfg.CategoryRules, c.cfg.Category, e),
		"subcategory":         c.cfg.Subcategory,
		"caller_id":           c.cfg.Caller,
	}
	if iu, ok := impactUrgency[ticket.Pick(c.cfg.PriorityRules, c.cfg.Priority, e)]; ok {
		fields["impact"], fields["urgency"] = iu[0], iu[1]
	}
	if c.cfg.RequesterLookup && e.Requester.UPN != "" {
		id, err := c.caller(ctx, e.Requester.UPN)
		if err != nil {
			return tierzero.TicketRef{}, err
		}
		if id != "" {
			fields["caller_id"] = id
		}
	}
	for k, v := range fields {
		if v == "" {
			delete(fields, k)
		}
	}
	resp, err := c.do(ctx, ticket.Request{Op: "create", Method: http.MethodPost,
		Path: c.tablePath("", url.Values{"sysparm_fields": {"sys_id,number,state"}}), Body: fields})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	var out struct{ Result record }
	if err := resp.JSON(&out); err != nil || out.Result.SysID == "" {
		return tierzero.TicketRef{}, c.malformed("create", err)
	}
	return c.ref(out.Result), nil
}

// caller returns the sys_id of the active user whose email is email, or ""
// when there is none.
func (c *Client) caller(ctx context.Context, email string) (string, error) {
	if strings.ContainsAny(email, "^\r\n") {
		return "", nil // not expressible in an encoded query; the default caller stands
	}
	q := url.Values{"sysparm_query": {"active=true^email=" + email}, "sysparm_fields": {"sys_id"}, "sysparm_limit": {"1"}}
	resp, err := c.do(ctx, ticket.Request{Op: "find the caller", Method: http.MethodGet,
		Path: "/api/now/table/sys_user?" + q.Encode(), Idempotent: true})
	if err != nil {
		return "", err
	}
	var out struct{ Result []record }
	if err := resp.JSON(&out); err != nil {
		return "", c.malformed("find the caller", err)
	}
	if len(out.Result) == 0 {
		return "", nil
	}
	return out.Result[0].SysID, nil
}

// Find queries the table for correlation_id (the record, not a search
// index: it sees an incident as soon as it is inserted).
func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	if !correlationOK(correlation) {
		return tierzero.TicketRef{}, false, tierzero.Errorf(tierzero.EInvalid, "correlation id %q is not one of tierzero's", correlation)
	}
	q := url.Values{"sysparm_query": {"correlation_id=" + correlation + "^ORDERBYsys_created_on"},
		"sysparm_fields": {"sys_id,number,state"}, "sysparm_limit": {"1"}}
	resp, err := c.do(ctx, ticket.Request{Op: "find", Method: http.MethodGet, Path: c.tablePath("", q), Idempotent: true})
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	var out struct{ Result []record }
	if err := resp.JSON(&out); err != nil {
		return tierzero.TicketRef{}, false, c.malformed("find", err)
	}
	if len(out.Result) == 0 {
		return tierzero.TicketRef{}, false, nil
	}
	return c.ref(out.Result[0]), true, nil
}

// Note adds a comment (public: Additional comments) or a work note.
func (c *Client) Note(ctx context.Context, ref tierzero.TicketRef, n tierzero.TicketNote) error {
	field := "work_notes"
	if n.Public {
		field = "comments"
	}
	return c.patch(ctx, "note", ref, map[string]string{field: n.Text})
}

// Close resolves the incident (state 6) with the configured close code and
// the resolution as close notes.
func (c *Client) Close(ctx context.Context, ref tierzero.TicketRef, resolution string) error {
	return c.patch(ctx, "close", ref, map[string]string{"state": "6", "close_code": c.cfg.CloseCode, "close_notes": resolution})
}

func (c *Client) patch(ctx context.Context, op string, ref tierzero.TicketRef, body map[string]string) error {
	if !sysID(ref.ID) {
		return tierzero.Errorf(tierzero.EInvalid, "%q is not a ServiceNow sys_id", ref.ID)
	}
	_, err := c.do(ctx, ticket.Request{Op: op, Method: http.MethodPatch,
		Path: c.tablePath(ref.ID, url.Values{"sysparm_fields": {"sys_id"}}), Body: body})
	return err
}

// journal is a sys_journal_field entry.
type journal struct {
	SysID     string `json:"sys_id"`
	Value     string `json:"value"`
	CreatedOn string `json:"sys_created_on"`
	CreatedBy string `json:"sys_created_by"`
}

// Updates reads the incident's state and its comments (the public journal,
// element "comments") created at or after the cursor's time, leaving out
// those already seen there and those made by the integration user. The
// cursor is "<sys_created_on>|<sys_ids at that time>".
func (c *Client) Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	if !sysID(ref.ID) {
		return tierzero.TicketUpdate{}, tierzero.Errorf(tierzero.EInvalid, "%q is not a ServiceNow sys_id", ref.ID)
	}
	resp, err := c.do(ctx, ticket.Request{Op: "read status", Method: http.MethodGet,
		Path: c.tablePath(ref.ID, url.Values{"sysparm_fields": {"sys_id,number,state"}}), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var rec struct{ Result record }
	if err := resp.JSON(&rec); err != nil {
		return tierzero.TicketUpdate{}, c.malformed("read status", err)
	}
	status, vendor := State(rec.Result.State)
	up := tierzero.TicketUpdate{Status: status, Vendor: vendor, Cursor: cursor}

	since, seen := parseCursor(cursor)
	q := "element_id=" + ref.ID + "^element=comments"
	if since != "" {
		q += "^sys_created_on>=" + since
	}
	q += "^ORDERBYsys_created_on"
	v := url.Values{"sysparm_query": {q}, "sysparm_fields": {"sys_id,value,sys_created_on,sys_created_by"}, "sysparm_limit": {"200"}}
	resp, err = c.do(ctx, ticket.Request{Op: "read comments", Method: http.MethodGet,
		Path: "/api/now/table/sys_journal_field?" + v.Encode(), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var js struct{ Result []journal }
	if err := resp.JSON(&js); err != nil {
		return tierzero.TicketUpdate{}, c.malformed("read comments", err)
	}
	last, lastIDs := since, seen
	for _, j := range js.Result {
		if j.CreatedOn == since && contains(seen, j.SysID) {
			continue
		}
		if j.CreatedOn != last {
			last, lastIDs = j.CreatedOn, nil
		}
		lastIDs = append(lastIDs, j.SysID)
		if c.user != "" && j.CreatedBy == c.user {
			continue
		}
		at, _ := time.ParseInLocation("2006-01-02 15:04:05", j.CreatedOn, time.UTC)
		up.Comments = append(up.Comments, tierzero.TicketComment{ID: j.SysID, Author: j.CreatedBy, Text: j.Value, Time: at})
	}
	if last != "" {
		up.Cursor = last + "|" + strings.Join(lastIDs, ",")
	}
	return up, nil
}

// State maps an incident state onto tierzero's: New (1) and In Progress
// (2) are open, On Hold (3) pending, Resolved (6) resolved, Closed (7) and
// Canceled (8) closed; the second result is ServiceNow's label.
func State(s string) (tierzero.TicketStatus, string) {
	switch s {
	case "1":
		return tierzero.TicketOpen, "New"
	case "2":
		return tierzero.TicketOpen, "In Progress"
	case "3":
		return tierzero.TicketPending, "On Hold"
	case "6":
		return tierzero.TicketResolved, "Resolved"
	case "7":
		return tierzero.TicketClosed, "Closed"
	case "8":
		return tierzero.TicketClosed, "Canceled"
	}
	return tierzero.TicketOpen, s
}

func parseCursor(s string) (since string, seen []string) {
	since, ids, _ := strings.Cut(s, "|")
	if ids != "" {
		seen = strings.Split(ids, ",")
	}
	if strings.ContainsAny(since, "^\r\n") {
		return "", nil
	}
	return since, seen
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// do sends r; a 401 makes the next call fetch a new OAuth token.
func (c *Client) do(ctx context.Context, r ticket.Request) (*ticket.Response, error) {
	resp, err := c.http.Do(ctx, r)
	c.token.Refused(err)
	return resp, err
}

func (c *Client) tablePath(sysID string, q url.Values) string {
	p := "/api/now/table/" + c.cfg.Table
	if sysID != "" {
		p += "/" + sysID
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

func (c *Client) ref(r record) tierzero.TicketRef {
	u := *c.http.Base
	u.Path, u.RawQuery = "/nav_to.do", url.Values{"uri": {c.cfg.Table + ".do?sys_id=" + r.SysID}}.Encode()
	return tierzero.TicketRef{System: Name, ID: r.SysID, Number: r.Number, URL: u.String()}
}

func (c *Client) malformed(op string, err error) error {
	if err == nil {
		err = fmt.Errorf("no sys_id in the response")
	}
	return &ticket.Error{System: Name, Tenant: c.http.Tenant, Op: op, Status: http.StatusOK, Err: fmt.Errorf("unexpected response: %w", err)}
}

// correlationOK accepts tierzero's correlation ids (tz- and hex digits),
// which need no escaping in an encoded query.
func correlationOK(s string) bool { return strings.HasPrefix(s, "tz-") && fieldName(s[3:]) }

// sysID accepts a ServiceNow sys_id: 32 hex digits (tests may use shorter
// alphanumerics; anything safe in a path).
func sysID(s string) bool { return s != "" && fieldName(s) }

func fieldName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
