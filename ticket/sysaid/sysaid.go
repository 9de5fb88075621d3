// Package sysaid opens and follows service records (SRs) in SysAid through
// its REST API v1 (/api/v1): service records as lists of key/value fields
// (info), their notes, status and solution.
//
// Authentication is a SysAid administrator's login (POST /api/v1/login),
// whose JSESSIONID cookie goes with every later request; SysAid allows two
// logins in five minutes, so the session is kept and renewed only when
// SysAid answers 401. Our correlation id is stored in an SR custom field
// (correlation_field) and found again by filtering the SR list on it.
//
// SysAid notes are internal unless a technician shares them with the
// request user, and the v1 API has no sharing flag: a public note is
// written as a note addressed to the requester for a technician to share,
// and Updates reports the status and, once the SR is closed, its solution
// (which SysAid shows the end user), never a note.
package sysaid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Name is the system's configuration name.
const Name = "sysaid"

// PublicPrefix starts a note tierzero writes for the requester, for the
// technician to share with them.
const PublicPrefix = "For the requester (share with the request user): "

// Config is a tenant's `ticket:` block with `system: sysaid`:
//
//	ticket:
//	  system: sysaid
//	  url: https://msp.sysaidit.com              # the account URL
//	  account_id: msp                            # optional
//	  user_env: CONTOSO_SYSAID_USER              # an administrator allowed the API
//	  password_env: CONTOSO_SYSAID_PASSWORD
//	  correlation_field: sr_cust_tierzero_id     # an SR custom text field
//	  type: incident                             # incident or request
//	  template: "3"                              # optional SR template
//	  company: "12"                              # the client's company id
//	  assigned_group: "5"                        # admin group id
//	  category: Software                         # problem_type
//	  category_rules: [{action: device., value: Hardware}]
//	  priority: "3"                              # 1 highest .. 5 lowest
//	  priority_rules: [{cause: time_limit, value: "2"}]
//	  requester_lookup: true
//	  statuses: {pending: ["5", "6"]}
type Config struct {
	URL         string `yaml:"url" json:"url"`
	AccountID   string `yaml:"account_id" json:"account_id,omitempty"`
	UserEnv     string `yaml:"user_env" json:"user_env"`
	PasswordEnv string `yaml:"password_env" json:"password_env"`
	// CorrelationField is the key of the SR custom field that holds our
	// correlation id (Settings > Customize > Entities > Service Record).
	CorrelationField string `yaml:"correlation_field" json:"correlation_field"`
	// Type is the SR type: incident (default) or request.
	Type     string `yaml:"type" json:"type,omitempty"`
	Template string `yaml:"template" json:"template,omitempty"`

	// The mapping: SysAid field values.
	Company       string `yaml:"company" json:"company,omitempty"`
	AssignedGroup string `yaml:"assigned_group" json:"assigned_group,omitempty"`
	Category      string `yaml:"category" json:"category,omitempty"` // problem_type
	CategoryRules []Rule `yaml:"category_rules" json:"category_rules,omitempty"`
	Priority      string `yaml:"priority" json:"priority,omitempty"`
	PriorityRules []Rule `yaml:"priority_rules" json:"priority_rules,omitempty"`
	// RequesterLookup sets request_user to the SysAid end user found by
	// the requester's UPN (users/search).
	RequesterLookup bool `yaml:"requester_lookup" json:"requester_lookup,omitempty"`
	// Statuses map SR status ids onto tierzero's (keys pending, resolved,
	// closed); unlisted: 3 Closed, 4 Verified closed, 7 Deleted are
	// closed, 5 Pending and 6 Postponed pending, the others open.
	Statuses map[string][]string `yaml:"statuses" json:"statuses,omitempty"`
}

// Rule picks a value for the escalations it matches: see ticket.Rule.
type Rule = ticket.Rule

// Client is a SysAid connector for one tenant.
type Client struct {
	cfg   Config
	http  *ticket.HTTP // the API, with the session cookie
	login *ticket.HTTP // POST /api/v1/login
	user  string
	pass  string

	mu      sync.Mutex
	session string // JSESSIONID
}

var _ ticket.System = (*Client)(nil)

// New returns a Client for cfg, reading the credentials from the
// environment. It makes no request: it logs in at the first call.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	if cfg.CorrelationField == "" {
		return fail(tierzero.Errorf(tierzero.EInvalid, "correlation_field is not set (an SR custom field to hold tierzero's correlation id)"))
	}
	if cfg.Type == "" {
		cfg.Type = "incident"
	}
	user, err := ticket.Env(opts.Getenv, "user_env", cfg.UserEnv)
	if err != nil {
		return fail(err)
	}
	pass, err := ticket.Env(opts.Getenv, "password_env", cfg.PasswordEnv)
	if err != nil {
		return fail(err)
	}
	base := strings.TrimSuffix(cfg.URL, "/") + "/api/v1/"
	c := &Client{cfg: cfg, user: user, pass: pass}
	if c.http, err = ticket.NewHTTP(Name, base, opts); err != nil {
		return nil, err
	}
	if c.login, err = ticket.NewHTTP(Name, base, opts); err != nil {
		return nil, err
	}
	c.login.Secrets = []string{pass}
	c.http.Secrets = []string{pass}
	c.http.Auth = func(ctx context.Context, r *http.Request) error {
		s, err := c.sessionID(ctx)
		if err != nil {
			return err
		}
		r.AddCookie(&http.Cookie{Name: "JSESSIONID", Value: s})
		return nil
	}
	return c, nil
}

// sessionID returns the session, logging in when there is none.
func (c *Client) sessionID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != "" {
		return c.session, nil
	}
	body := map[string]string{"user_name": c.user, "password": c.pass}
	if c.cfg.AccountID != "" {
		body["account_id"] = c.cfg.AccountID
	}
	resp, err := c.login.Do(ctx, ticket.Request{Op: "log in", Method: http.MethodPost, Path: "login", Body: body})
	if err != nil {
		return "", err
	}
	for _, ck := range (&http.Response{Header: resp.Header}).Cookies() {
		if ck.Name == "JSESSIONID" && ck.Value != "" {
			c.session = ck.Value
			c.http.SetSecrets(c.pass, ck.Value)
			return ck.Value, nil
		}
	}
	return "", fmt.Errorf("ticket system %s for tenant %s: log in: %w", Name, c.http.Tenant, tierzero.Errorf(tierzero.EUnauthorized, "SysAid set no JSESSIONID cookie"))
}

// do sends r; a 401 on a kept session (expired) logs in again and sends r
// once more: SysAid did not apply a request it refused.
func (c *Client) do(ctx context.Context, r ticket.Request) (*ticket.Response, error) {
	c.mu.Lock()
	had := c.session
	c.mu.Unlock()
	resp, err := c.http.Do(ctx, r)
	var te *ticket.Error
	if err != nil && had != "" && errors.As(err, &te) && te.Status == http.StatusUnauthorized {
		c.mu.Lock()
		if c.session == had {
			c.session = ""
		}
		c.mu.Unlock()
		return c.http.Do(ctx, r)
	}
	return resp, err
}

// Name returns "sysaid".
func (c *Client) Name() string { return Name }

// field is one of an SR's info entries.
type field struct {
	Key          string `json:"key"`
	Value        any    `json:"value"`
	ValueCaption any    `json:"valueCaption,omitempty"`
}

// sr is a service record as the API returns it.
type sr struct {
	ID   json.Number `json:"id"`
	Info []field     `json:"info"`
}

func (s sr) get(key string) (field, bool) {
	for _, f := range s.Info {
		if f.Key == key {
			return f, true
		}
	}
	return field{}, false
}

// str is a field's value as text (SysAid sends ids as numbers or strings).
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Create adds the SR with our correlation id in the custom field: one POST.
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	e := t.Escalation
	info := []field{
		{Key: "title", Value: ticket.Subject(t)},
		{Key: "description", Value: ticket.Body(t)},
		{Key: c.cfg.CorrelationField, Value: t.Correlation},
	}
	add := func(key, v string) {
		if v != "" {
			info = append(info, field{Key: key, Value: v})
		}
	}
	add("company", c.cfg.Company)
	add("assigned_group", c.cfg.AssignedGroup)
	add("problem_type", ticket.Pick(c.cfg.CategoryRules, c.cfg.Category, e))
	add("priority", ticket.Pick(c.cfg.PriorityRules, c.cfg.Priority, e))
	if c.cfg.RequesterLookup && e.Requester.UPN != "" {
		id, err := c.requester(ctx, e.Requester.UPN)
		if err != nil {
			return tierzero.TicketRef{}, err
		}
		add("request_user", id)
	}
	q := url.Values{"type": {c.cfg.Type}}
	if c.cfg.Template != "" {
		q.Set("template", c.cfg.Template)
	}
	resp, err := c.do(ctx, ticket.Request{Op: "create", Method: http.MethodPost, Path: "sr?" + q.Encode(), Body: map[string]any{"info": info}})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	var out sr
	if err := resp.JSON(&out); err != nil || out.ID == "" {
		return tierzero.TicketRef{}, fmt.Errorf("ticket system %s for tenant %s: create: %w", Name, c.http.Tenant, tierzero.Errorf(tierzero.EUnavailable, "the SR's id is missing from the response"))
	}
	return c.ref(out.ID.String()), nil
}

// requester returns the id of the SysAid user found by email, "" when none
// is.
func (c *Client) requester(ctx context.Context, email string) (string, error) {
	q := url.Values{"query": {email}, "type": {"user"}, "fields": {"email_address"}}
	resp, err := c.do(ctx, ticket.Request{Op: "find the requester", Method: http.MethodGet, Path: "users/search?" + q.Encode(), Idempotent: true})
	if err != nil {
		return "", err
	}
	var users []sr
	if err := resp.JSON(&users); err != nil {
		return "", fmt.Errorf("ticket system %s: find the requester: %w", Name, err)
	}
	for _, u := range users {
		if f, ok := u.get("email_address"); ok && strings.EqualFold(str(f.Value), email) {
			return u.ID.String(), nil
		}
	}
	return "", nil
}

// Find lists the SRs whose correlation field holds the id.
func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	q := url.Values{"type": {c.cfg.Type}, "fields": {c.cfg.CorrelationField}}
	q.Set(c.cfg.CorrelationField, correlation)
	resp, err := c.do(ctx, ticket.Request{Op: "find", Method: http.MethodGet, Path: "sr?" + q.Encode(), Idempotent: true})
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	var srs []sr
	if err := resp.JSON(&srs); err != nil {
		return tierzero.TicketRef{}, false, fmt.Errorf("ticket system %s: find: %w", Name, err)
	}
	for _, s := range srs {
		if f, ok := s.get(c.cfg.CorrelationField); ok && str(f.Value) == correlation && s.ID != "" {
			return c.ref(s.ID.String()), true, nil
		}
	}
	return tierzero.TicketRef{}, false, nil
}

// Note adds a note to the SR (an update of its notes field). A public note
// is addressed to the requester for a technician to share: the v1 API
// cannot share a note itself.
func (c *Client) Note(ctx context.Context, r tierzero.TicketRef, n tierzero.TicketNote) error {
	id, err := c.id(r)
	if err != nil {
		return err
	}
	text := n.Text
	if n.Public {
		text = PublicPrefix + text
	}
	note := map[string]any{"userName": c.user, "createDate": c.http.Now().UnixMilli(), "text": text}
	body := map[string]any{"id": id, "info": []field{{Key: "notes", Value: []any{note}}}}
	_, err = c.do(ctx, ticket.Request{Op: "add a note", Method: http.MethodPut, Path: "sr/" + id, Body: body})
	return err
}

// Updates reads the SR's status and, once it is closed with a solution,
// the solution as the one public comment (the cursor is the solution's
// hash, so it is told once).
func (c *Client) Updates(ctx context.Context, r tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	id, err := c.id(r)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	q := url.Values{"fields": {"status,solution,update_time"}}
	resp, err := c.do(ctx, ticket.Request{Op: "read the service record", Method: http.MethodGet, Path: "sr/" + id + "?" + q.Encode(), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var s sr
	if err := resp.JSON(&s); err != nil {
		return tierzero.TicketUpdate{}, fmt.Errorf("ticket system %s: read the service record: %w", Name, err)
	}
	st, _ := s.get("status")
	u := tierzero.TicketUpdate{Vendor: str(st.ValueCaption), Cursor: cursor}
	if u.Vendor == "" {
		u.Vendor = str(st.Value)
	}
	u.Status = ticket.StatusOf(c.cfg.Statuses, str(st.Value), guess)
	if sol, ok := s.get("solution"); ok && u.Status.Done() && strings.TrimSpace(str(sol.Value)) != "" {
		text := str(sol.Value)
		h := sha256.Sum256([]byte(text))
		mark := "solution:" + hex.EncodeToString(h[:8])
		if cursor != mark {
			u.Comments = append(u.Comments, tierzero.TicketComment{ID: mark, Text: text})
			u.Cursor = mark
		}
	}
	return u, nil
}

// Close closes the SR with the solution.
func (c *Client) Close(ctx context.Context, r tierzero.TicketRef, resolution string) error {
	id, err := c.id(r)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, ticket.Request{Op: "close", Method: http.MethodPut, Path: "sr/" + id + "/close", Body: map[string]string{"solution": resolution}, Idempotent: true})
	return err
}

func (c *Client) ref(id string) tierzero.TicketRef {
	u, _ := c.http.URL("/SREdit.jsp?QuickAcess&id=" + url.QueryEscape(id))
	r := tierzero.TicketRef{System: Name, ID: id, Number: "#" + id}
	if u != nil {
		r.URL = u.String()
	}
	return r
}

func (c *Client) id(r tierzero.TicketRef) (string, error) {
	if n, err := strconv.Atoi(r.ID); err != nil || n <= 0 {
		return "", tierzero.Errorf(tierzero.EInvalid, "sysaid service record id %q is not a number", r.ID)
	}
	return r.ID, nil
}

// guess maps an SR status id the configuration does not list.
func guess(v string) tierzero.TicketStatus {
	switch v {
	case "3", "4", "7":
		return tierzero.TicketClosed
	case "5", "6":
		return tierzero.TicketPending
	}
	return tierzero.TicketOpen
}
