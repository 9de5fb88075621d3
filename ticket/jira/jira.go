// Package jira opens tierzero's escalations as Jira Service Management
// customer requests (/rest/servicedeskapi/request) raised on behalf of the
// requester, adds public and internal comments, reads the request's status
// and public comments, and finds a request by tierzero's correlation id,
// stored in the request as a label (or a custom field) and found with JQL
// (/rest/api/3/search/jql). Authentication is an Atlassian account's email
// address and API token (basic).
//
// Jira's JQL search is eventually consistent: a request appears in it
// seconds after it is created (Atlassian, "Search and reconcile"), so the
// Client says so (FindDelay) and the ticket worker looks a ticket up only
// once that long has passed since the attempt that may have made it.
package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Name is the system's configuration name.
const Name = "jira"

// maxSummary is Jira's limit on a summary.
const maxSummary = 255

// Config is a tenant's `ticket:` block for Jira Service Management.
//
//	ticket:
//	  system: jira
//	  url: https://acme.atlassian.net
//	  email: tierzero@acme-msp.com     # or email_env
//	  api_token_env: CONTOSO_JIRA_TOKEN
//	  service_desk_id: "4"
//	  request_type_id: "25"            # the category
//	  request_type_rules: [{action: device., value: "27"}]
//	  priority: Medium
//	  priority_rules: [{cause: time_limit, value: High}]
//	  fields: {customfield_10002: [12]} # the client's organization, components ...
//	  requester_lookup: true
type Config struct {
	URL         string `yaml:"url" json:"url"`
	Email       string `yaml:"email" json:"email,omitempty"`
	EmailEnv    string `yaml:"email_env" json:"email_env,omitempty"`
	APITokenEnv string `yaml:"api_token_env" json:"api_token_env"`

	// ServiceDeskID is the service project's id (not its key).
	ServiceDeskID string `yaml:"service_desk_id" json:"service_desk_id"`
	// RequestTypeID is the customer request type, tierzero's category;
	// the rules may pick another.
	RequestTypeID    string `yaml:"request_type_id" json:"request_type_id"`
	RequestTypeRules []Rule `yaml:"request_type_rules" json:"request_type_rules,omitempty"`
	// Priority is a priority name ("High"); empty leaves the field out
	// (the request type must show the Priority field for it to be set).
	Priority      string `yaml:"priority" json:"priority,omitempty"`
	PriorityRules []Rule `yaml:"priority_rules" json:"priority_rules,omitempty"`
	// Fields are more request field values, set as given: the client's
	// organization (the Organizations custom field), components, a team.
	Fields map[string]any `yaml:"fields" json:"fields,omitempty"`
	// CorrelationField holds tierzero's correlation id: "labels" (the
	// default) or a text custom field ("customfield_10050"). Either must be
	// on the request type's form, which may hide it from customers.
	CorrelationField string `yaml:"correlation_field" json:"correlation_field,omitempty"`
	// RequesterLookup raises the request on behalf of the Atlassian
	// account or portal customer whose email is the requester's UPN.
	RequesterLookup bool `yaml:"requester_lookup" json:"requester_lookup,omitempty"`
	// Statuses map status names onto tierzero's (keys open, pending,
	// resolved, closed); unlisted names follow the status category.
	Statuses map[string][]string `yaml:"statuses" json:"statuses,omitempty"`
	// CloseTransition is the name of the transition Close takes; empty:
	// the first whose name says resolve, close or done.
	CloseTransition string `yaml:"close_transition" json:"close_transition,omitempty"`
}

// Rule picks a value for the escalations it matches: see ticket.Rule.
type Rule = ticket.Rule

// Client is a Jira Service Management site configured for one tenant.
type Client struct {
	cfg  Config
	http *ticket.HTTP

	mu   sync.Mutex
	self string // our accountId, read once from /rest/api/3/myself
}

var _ ticket.System = (*Client)(nil)

// New returns a client for cfg, reading the email address (unless set)
// and the API token from the environment.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	h, err := ticket.NewHTTP(Name, cfg.URL, opts)
	if err != nil {
		return nil, err
	}
	if !digits(cfg.ServiceDeskID) {
		return fail(tierzero.Errorf(tierzero.EInvalid, "service_desk_id %q: want the service desk's numeric id", cfg.ServiceDeskID))
	}
	for _, id := range append([]string{cfg.RequestTypeID}, ticket.Values(cfg.RequestTypeRules)...) {
		if !digits(id) {
			return fail(tierzero.Errorf(tierzero.EInvalid, "request type id %q: want a numeric id", id))
		}
	}
	switch f := cfg.CorrelationField; {
	case f == "":
		cfg.CorrelationField = "labels"
	case f == "labels":
	case strings.HasPrefix(f, "customfield_") && digits(strings.TrimPrefix(f, "customfield_")):
	default:
		return fail(tierzero.Errorf(tierzero.EInvalid, "correlation_field %q: want labels or customfield_<id>", f))
	}
	email := cfg.Email
	if email == "" {
		if email, err = ticket.Env(opts.Getenv, "email_env", cfg.EmailEnv); err != nil {
			return fail(err)
		}
	}
	token, err := ticket.Env(opts.Getenv, "api_token_env", cfg.APITokenEnv)
	if err != nil {
		return fail(err)
	}
	h.Secrets = []string{token}
	h.Auth = func(_ context.Context, r *http.Request) error {
		r.SetBasicAuth(email, token)
		return nil
	}
	return &Client{cfg: cfg, http: h}, nil
}

// Name returns "jira".
func (c *Client) Name() string { return Name }

// Create raises one customer request: the summary and description from the
// escalation, the correlation id in its field, the request type and
// priority from the mapping, on behalf of the requester when found.
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	if !correlationOK(t.Correlation) {
		return tierzero.TicketRef{}, tierzero.Errorf(tierzero.EInvalid, "correlation id %q is not one of tierzero's", t.Correlation)
	}
	e := t.Escalation
	values := map[string]any{}
	for k, v := range c.cfg.Fields {
		values[k] = v
	}
	summary := ticket.Subject(t)
	if len(summary) > maxSummary {
		summary = strings.ToValidUTF8(summary[:maxSummary], "")
	}
	values["summary"] = summary
	values["description"] = ticket.Body(t)
	if c.cfg.CorrelationField == "labels" {
		values["labels"] = []string{t.Correlation}
	} else {
		values[c.cfg.CorrelationField] = t.Correlation
	}
	if p := ticket.Pick(c.cfg.PriorityRules, c.cfg.Priority, e); p != "" {
		values["priority"] = map[string]string{"name": p}
	}
	body := map[string]any{
		"serviceDeskId":      c.cfg.ServiceDeskID,
		"requestTypeId":      ticket.Pick(c.cfg.RequestTypeRules, c.cfg.RequestTypeID, e),
		"requestFieldValues": values,
	}
	if c.cfg.RequesterLookup && e.Requester.UPN != "" {
		id, err := c.account(ctx, e.Requester.UPN)
		if err != nil {
			return tierzero.TicketRef{}, err
		}
		if id != "" {
			body["raiseOnBehalfOf"] = id
		}
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "create", Method: http.MethodPost, Path: "/rest/servicedeskapi/request", Body: body})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	var out struct {
		IssueID  string `json:"issueId"`
		IssueKey string `json:"issueKey"`
		Links    struct {
			Web   string `json:"web"`
			Agent string `json:"agent"`
		} `json:"_links"`
	}
	if err := resp.JSON(&out); err != nil || !issueKey(out.IssueKey) {
		return tierzero.TicketRef{}, c.malformed("create", err)
	}
	ref := c.ref(out.IssueKey)
	if out.Links.Agent != "" {
		ref.URL = out.Links.Agent
	}
	return ref, nil
}

// account returns the accountId of the user or customer whose email is
// email ("" when there is none or more than one could be meant).
func (c *Client) account(ctx context.Context, email string) (string, error) {
	resp, err := c.http.Do(ctx, ticket.Request{Op: "find the requester", Method: http.MethodGet,
		Path: "/rest/api/3/user/search?" + url.Values{"query": {email}}.Encode(), Idempotent: true})
	if err != nil {
		return "", err
	}
	var users []struct {
		AccountID    string `json:"accountId"`
		EmailAddress string `json:"emailAddress"`
		Active       bool   `json:"active"`
	}
	if err := resp.JSON(&users); err != nil {
		return "", c.malformed("find the requester", err)
	}
	var only string
	n := 0
	for _, u := range users {
		if !u.Active {
			continue
		}
		if strings.EqualFold(u.EmailAddress, email) {
			return u.AccountID, nil
		}
		if u.EmailAddress == "" { // hidden by the user's profile visibility
			only = u.AccountID
			n++
		}
	}
	if n == 1 {
		return only, nil
	}
	return "", nil
}

// Find searches with JQL for the request holding correlation.
// FindDelay is how long after a create Find is sure to see the request:
// JQL search lags behind creates by seconds; a minute leaves a margin.
func (c *Client) FindDelay() time.Duration { return time.Minute }

// The ticket worker (package bot) asks a system for this optional method.
var _ interface{ FindDelay() time.Duration } = (*Client)(nil)

func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	if !correlationOK(correlation) {
		return tierzero.TicketRef{}, false, tierzero.Errorf(tierzero.EInvalid, "correlation id %q is not one of tierzero's", correlation)
	}
	jql := fmt.Sprintf("labels = %q ORDER BY created ASC", correlation)
	if f := c.cfg.CorrelationField; f != "labels" {
		jql = fmt.Sprintf("cf[%s] ~ %q ORDER BY created ASC", strings.TrimPrefix(f, "customfield_"), correlation)
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "find", Method: http.MethodPost, Path: "/rest/api/3/search/jql",
		Body: map[string]any{"jql": jql, "fields": []string{"status", c.cfg.CorrelationField}, "maxResults": 10}, Idempotent: true})
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	var out struct {
		Issues []struct {
			Key    string         `json:"key"`
			Fields map[string]any `json:"fields"`
		} `json:"issues"`
	}
	if err := resp.JSON(&out); err != nil {
		return tierzero.TicketRef{}, false, c.malformed("find", err)
	}
	for _, is := range out.Issues {
		// A text search (~) matches words: check the value itself.
		if !holds(is.Fields[c.cfg.CorrelationField], correlation) || !issueKey(is.Key) {
			continue
		}
		return c.ref(is.Key), true, nil
	}
	return tierzero.TicketRef{}, false, nil
}

func holds(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return v == s
	case []any:
		for _, x := range v {
			if x == s {
				return true
			}
		}
	}
	return false
}

// Note adds a public comment (the customer sees it on the portal and by
// email) or an internal one.
func (c *Client) Note(ctx context.Context, ref tierzero.TicketRef, n tierzero.TicketNote) error {
	if !issueKey(ref.ID) {
		return tierzero.Errorf(tierzero.EInvalid, "%q is not a Jira issue key", ref.ID)
	}
	_, err := c.http.Do(ctx, ticket.Request{Op: "note", Method: http.MethodPost,
		Path: "/rest/servicedeskapi/request/" + ref.ID + "/comment", Body: map[string]any{"body": n.Text, "public": n.Public}})
	return err
}

type jiraDate struct {
	ISO8601     string `json:"iso8601"`
	EpochMillis int64  `json:"epochMillis"`
}

// Updates reads the current status (the first of the request's status
// history) and the public comments whose id is above the cursor (Jira's
// comment ids increase), leaving out tierzero's own. The cursor is the
// last comment id seen.
func (c *Client) Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	if !issueKey(ref.ID) {
		return tierzero.TicketUpdate{}, tierzero.Errorf(tierzero.EInvalid, "%q is not a Jira issue key", ref.ID)
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "read status", Method: http.MethodGet,
		Path: "/rest/servicedeskapi/request/" + ref.ID + "/status?start=0&limit=1", Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var st struct {
		Values []struct {
			Status         string `json:"status"`
			StatusCategory string `json:"statusCategory"`
		} `json:"values"`
	}
	if err := resp.JSON(&st); err != nil || len(st.Values) == 0 {
		return tierzero.TicketUpdate{}, c.malformed("read status", err)
	}
	up := tierzero.TicketUpdate{Vendor: st.Values[0].Status, Cursor: cursor,
		Status: Status(c.cfg.Statuses, st.Values[0].Status, st.Values[0].StatusCategory)}

	self, err := c.myself(ctx)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	after, _ := strconv.ParseInt(cursor, 10, 64)
	last := after
	for start := 0; ; {
		q := url.Values{"public": {"true"}, "internal": {"false"}, "start": {strconv.Itoa(start)}, "limit": {"50"}}
		resp, err := c.http.Do(ctx, ticket.Request{Op: "read comments", Method: http.MethodGet,
			Path: "/rest/servicedeskapi/request/" + ref.ID + "/comment?" + q.Encode(), Idempotent: true})
		if err != nil {
			return tierzero.TicketUpdate{}, err
		}
		var page struct {
			Size       int  `json:"size"`
			IsLastPage bool `json:"isLastPage"`
			Values     []struct {
				ID     string `json:"id"`
				Body   string `json:"body"`
				Public bool   `json:"public"`
				Author struct {
					AccountID   string `json:"accountId"`
					DisplayName string `json:"displayName"`
				} `json:"author"`
				Created jiraDate `json:"created"`
			} `json:"values"`
		}
		if err := resp.JSON(&page); err != nil {
			return tierzero.TicketUpdate{}, c.malformed("read comments", err)
		}
		for _, cm := range page.Values {
			id, err := strconv.ParseInt(cm.ID, 10, 64)
			if err != nil || id <= after || !cm.Public {
				continue
			}
			last = max(last, id)
			if self != "" && cm.Author.AccountID == self {
				continue
			}
			at := time.UnixMilli(cm.Created.EpochMillis).UTC()
			if cm.Created.EpochMillis == 0 {
				at, _ = time.Parse("2006-01-02T15:04:05.000-0700", cm.Created.ISO8601)
			}
			up.Comments = append(up.Comments, tierzero.TicketComment{ID: cm.ID, Author: cm.Author.DisplayName, Text: cm.Body, Time: at})
		}
		if page.IsLastPage || len(page.Values) == 0 {
			break
		}
		start += len(page.Values)
	}
	if last > 0 {
		up.Cursor = strconv.FormatInt(last, 10)
	}
	return up, nil
}

// myself returns tierzero's own accountId, whose comments are not
// technicians' answers.
func (c *Client) myself(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.self != "" {
		return c.self, nil
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "read the integration account", Method: http.MethodGet, Path: "/rest/api/3/myself", Idempotent: true})
	if err != nil {
		return "", err
	}
	var me struct {
		AccountID string `json:"accountId"`
	}
	if err := resp.JSON(&me); err != nil {
		return "", c.malformed("read the integration account", err)
	}
	c.self = me.AccountID
	return c.self, nil
}

// Close takes the request's resolve transition with the resolution as a
// public comment.
func (c *Client) Close(ctx context.Context, ref tierzero.TicketRef, resolution string) error {
	if !issueKey(ref.ID) {
		return tierzero.Errorf(tierzero.EInvalid, "%q is not a Jira issue key", ref.ID)
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "close", Method: http.MethodGet,
		Path: "/rest/servicedeskapi/request/" + ref.ID + "/transition", Idempotent: true})
	if err != nil {
		return err
	}
	var ts struct {
		Values []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"values"`
	}
	if err := resp.JSON(&ts); err != nil {
		return c.malformed("close", err)
	}
	id := ""
	for _, t := range ts.Values {
		name := strings.ToLower(t.Name)
		if c.cfg.CloseTransition != "" {
			if strings.EqualFold(t.Name, c.cfg.CloseTransition) {
				id = t.ID
				break
			}
			continue
		}
		if strings.Contains(name, "resolve") || strings.Contains(name, "close") || strings.Contains(name, "done") {
			id = t.ID
			break
		}
	}
	if id == "" {
		return &ticket.Error{System: Name, Tenant: c.http.Tenant, Op: "close", Status: http.StatusConflict,
			Err: fmt.Errorf("request %s has no transition named %q", ref.ID, c.cfg.CloseTransition)}
	}
	_, err = c.http.Do(ctx, ticket.Request{Op: "close", Method: http.MethodPost, Path: "/rest/servicedeskapi/request/" + ref.ID + "/transition",
		Body: map[string]any{"id": id, "additionalComment": map[string]string{"body": resolution}}})
	return err
}

// Status maps a request's status onto tierzero's: by the configured names
// first, then by category (DONE is resolved, or closed when the name says
// closed, cancelled or declined; "Waiting for customer" and "Pending" are
// pending; the rest is open).
func Status(names map[string][]string, status, category string) tierzero.TicketStatus {
	return ticket.StatusOf(names, status, func(status string) tierzero.TicketStatus { return guess(status, category) })
}

// guess maps a status name onto tierzero's by its category and words.
func guess(status, category string) tierzero.TicketStatus {
	name := strings.ToLower(status)
	if strings.EqualFold(category, "DONE") {
		for _, w := range []string{"closed", "cancel", "declin", "won't", "reject"} {
			if strings.Contains(name, w) {
				return tierzero.TicketClosed
			}
		}
		return tierzero.TicketResolved
	}
	if strings.Contains(name, "waiting for customer") || strings.Contains(name, "pending") {
		return tierzero.TicketPending
	}
	return tierzero.TicketOpen
}

func (c *Client) ref(key string) tierzero.TicketRef {
	u := *c.http.Base
	u.Path, u.RawQuery = "/browse/"+key, ""
	return tierzero.TicketRef{System: Name, ID: key, Number: key, URL: u.String()}
}

func (c *Client) malformed(op string, err error) error {
	if err == nil {
		err = fmt.Errorf("a field is missing")
	}
	return &ticket.Error{System: Name, Tenant: c.http.Tenant, Op: op, Status: http.StatusOK, Err: fmt.Errorf("unexpected response: %w", err)}
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// issueKey accepts PROJECT-123 (or an issue id), safe in a path.
func issueKey(s string) bool {
	if digits(s) {
		return true
	}
	p, n, ok := strings.Cut(s, "-")
	if !ok || p == "" || !digits(n) {
		return false
	}
	for _, r := range p {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// correlationOK accepts tierzero's correlation ids: tz- and hex digits,
// which need no escaping in JQL or a label.
func correlationOK(s string) bool {
	h, ok := strings.CutPrefix(s, "tz-")
	if !ok || h == "" || len(h) > 64 {
		return false
	}
	for _, r := range h {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
