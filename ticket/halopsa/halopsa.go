// Package halopsa opens tierzero's escalations as HaloPSA tickets through
// its REST API (/api/Tickets, /api/Actions, /api/Users, /api/Status),
// authenticated with the OAuth 2.0 client credentials of an API
// application ({auth}/token, scope all). Notes are actions, hidden from the
// end user when internal; technicians' visible actions come back as public
// comments. tierzero's correlation id is written in the ticket's details
// and, when configured, in a custom field; Find searches for it.
package halopsa

import (
	"context"
	"fmt"
	"html"
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
const Name = "halopsa"

// Config is a tenant's `ticket:` block for HaloPSA.
//
//	ticket:
//	  system: halopsa
//	  url: https://acme.halopsa.com        # the API is at url/api
//	  auth_url: https://acme.halopsa.com/auth  # default url/auth
//	  tenant: acme                          # hosted Halo only
//	  client_id_env: CONTOSO_HALO_CLIENT_ID
//	  client_secret_env: CONTOSO_HALO_CLIENT_SECRET
//	  client_id: 12                         # the client (customer) in Halo
//	  site_id: 31
//	  tickettype_id: 1
//	  team: Service Desk
//	  category: Microsoft 365
//	  category_rules: [{action: device., value: Hardware}]
//	  priority_id: 3
//	  priority_rules: [{cause: time_limit, value: "2"}]
//	  correlation_field_id: 145             # a text custom field
//	  requester_lookup: true
type Config struct {
	URL             string `yaml:"url" json:"url"`
	AuthURL         string `yaml:"auth_url" json:"auth_url,omitempty"`
	Tenant          string `yaml:"tenant" json:"tenant,omitempty"`
	ClientIDEnv     string `yaml:"client_id_env" json:"client_id_env"`
	ClientSecretEnv string `yaml:"client_secret_env" json:"client_secret_env"`

	// The mapping: the client (customer) and site tickets are raised for,
	// the ticket type, the team (queue) and the agent, category 1, the
	// priority.
	ClientID      int    `yaml:"client_id" json:"client_id"`
	SiteID        int    `yaml:"site_id" json:"site_id,omitempty"`
	TicketTypeID  int    `yaml:"tickettype_id" json:"tickettype_id,omitempty"`
	Team          string `yaml:"team" json:"team,omitempty"`
	TeamRules     []Rule `yaml:"team_rules" json:"team_rules,omitempty"`
	AgentID       int    `yaml:"agent_id" json:"agent_id,omitempty"`
	Category      string `yaml:"category" json:"category,omitempty"`
	CategoryRules []Rule `yaml:"category_rules" json:"category_rules,omitempty"`
	PriorityID    int    `yaml:"priority_id" json:"priority_id,omitempty"`
	PriorityRules []Rule `yaml:"priority_rules" json:"priority_rules,omitempty"` // values are priority ids
	// CorrelationFieldID is a text custom field holding tierzero's
	// correlation id (recommended); without it the id is only in the
	// details, which Find searches as well.
	CorrelationFieldID int `yaml:"correlation_field_id" json:"correlation_field_id,omitempty"`
	// RequesterLookup sets the ticket's end user to the client's user
	// whose email address is the requester's UPN.
	RequesterLookup bool `yaml:"requester_lookup" json:"requester_lookup,omitempty"`
	// NoteOutcome is the outcome (action type) of tierzero's notes;
	// "Note" when empty.
	NoteOutcome string `yaml:"note_outcome" json:"note_outcome,omitempty"`
	// Statuses map status names onto tierzero's (keys open, pending,
	// resolved, closed); unlisted names are guessed.
	Statuses map[string][]string `yaml:"statuses" json:"statuses,omitempty"`
	// ClosedStatusID is the status Close sets; 9 (Closed) when zero.
	ClosedStatusID int `yaml:"closed_status_id" json:"closed_status_id,omitempty"`
}

// Rule picks a value for the escalations it matches: see ticket.Rule.
type Rule = ticket.Rule

// Client is a HaloPSA instance configured for one tenant.
type Client struct {
	cfg   Config
	http  *ticket.HTTP
	token *ticket.Token

	mu       sync.Mutex
	statuses map[int]string // id → name, read once from /api/Status
}

var _ ticket.System = (*Client)(nil)

// New returns a client for cfg, reading the API application's client id
// and secret from the environment.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	base, err := ticket.ParseURL(cfg.URL)
	if err != nil {
		return fail(err)
	}
	h, err := ticket.NewHTTP(Name, strings.TrimSuffix(base.String(), "/")+"/api/", opts)
	if err != nil {
		return nil, err
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = strings.TrimSuffix(base.String(), "/") + "/auth"
	}
	if cfg.ClientID <= 0 {
		return fail(tierzero.Errorf(tierzero.EInvalid, "client_id is not set (the Halo client tickets are raised for)"))
	}
	for _, v := range ticket.Values(cfg.PriorityRules) {
		if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			return fail(tierzero.Errorf(tierzero.EInvalid, "priority rule value %q: want a priority id", v))
		}
	}
	if cfg.NoteOutcome == "" {
		cfg.NoteOutcome = "Note"
	}
	if cfg.ClosedStatusID == 0 {
		cfg.ClosedStatusID = 9
	}
	id, err := ticket.Env(opts.Getenv, "client_id_env", cfg.ClientIDEnv)
	if err != nil {
		return fail(err)
	}
	secret, err := ticket.Env(opts.Getenv, "client_secret_env", cfg.ClientSecretEnv)
	if err != nil {
		return fail(err)
	}
	h.Secrets = []string{secret}
	tokenHTTP, err := ticket.NewHTTP(Name, cfg.AuthURL, opts)
	if err != nil {
		return nil, err
	}
	tokenHTTP.Secrets = h.Secrets
	path := "token"
	if cfg.Tenant != "" {
		path += "?" + url.Values{"tenant": {cfg.Tenant}}.Encode()
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"all"}}
	c := &Client{cfg: cfg, http: h, token: &ticket.Token{HTTP: tokenHTTP, Path: path, Form: form}}
	h.Auth = c.token.Auth
	return c, nil
}

// Name returns "halopsa".
func (c *Client) Name() string { return Name }

// haloTicket is the part of a ticket (a "Fault") tierzero reads.
type haloTicket struct {
	ID           int    `json:"id"`
	Summary      string `json:"summary"`
	Details      string `json:"details"`
	StatusID     int    `json:"status_id"`
	CustomFields []struct {
		ID    int    `json:"id"`
		Value string `json:"value"`
	} `json:"customfields"`
}

// Create posts one ticket (an array of one, as /api/Tickets takes): the
// summary and the details (HTML) from the escalation, the correlation id
// in the custom field, the client, site, end user, type, team, category
// and priority from the mapping.
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	if !correlationOK(t.Correlation) {
		return tierzero.TicketRef{}, tierzero.Errorf(tierzero.EInvalid, "correlation id %q is not one of tierzero's", t.Correlation)
	}
	e := t.Escalation
	tk := map[string]any{
		"summary":   ticket.Subject(t),
		"details":   htmlText(ticket.Body(t)),
		"client_id": c.cfg.ClientID,
	}
	set := func(k string, v any) {
		switch v := v.(type) {
		case int:
			if v > 0 {
				tk[k] = v
			}
		case string:
			if v != "" {
				tk[k] = v
			}
		}
	}
	set("site_id", c.cfg.SiteID)
	set("tickettype_id", c.cfg.TicketTypeID)
	set("agent_id", c.cfg.AgentID)
	set("team", ticket.Pick(c.cfg.TeamRules, c.cfg.Team, e))
	set("category_1", ticket.Pick(c.cfg.CategoryRules, c.cfg.Category, e))
	p, _ := strconv.Atoi(ticket.Pick(c.cfg.PriorityRules, strconv.Itoa(c.cfg.PriorityID), e))
	set("priority_id", p)
	if c.cfg.CorrelationFieldID > 0 {
		tk["customfields"] = []map[string]any{{"id": c.cfg.CorrelationFieldID, "value": t.Correlation}}
	}
	if c.cfg.RequesterLookup && e.Requester.UPN != "" {
		u, err := c.user(ctx, e.Requester.UPN)
		if err != nil {
			return tierzero.TicketRef{}, err
		}
		if u.ID > 0 {
			tk["user_id"] = u.ID
			if c.cfg.SiteID == 0 && u.SiteID > 0 {
				tk["site_id"] = u.SiteID
			}
		}
	}
	resp, err := c.do(ctx, ticket.Request{Op: "create", Method: http.MethodPost, Path: "Tickets", Body: []map[string]any{tk}})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	var out haloTicket
	if err := resp.JSON(&out); err != nil || out.ID <= 0 {
		// Some versions answer with the array posted.
		var arr []haloTicket
		if err2 := resp.JSON(&arr); err2 != nil || len(arr) != 1 || arr[0].ID <= 0 {
			return tierzero.TicketRef{}, c.malformed("create", err)
		}
		out = arr[0]
	}
	return c.ref(out.ID), nil
}

type haloUser struct {
	ID           int    `json:"id"`
	SiteID       int    `json:"site_id"`
	ClientID     int    `json:"client_id"`
	EmailAddress string `json:"emailaddress"`
}

// user returns the client's user whose email address is email (zero when
// none).
func (c *Client) user(ctx context.Context, email string) (haloUser, error) {
	q := url.Values{"search": {email}, "client_id": {strconv.Itoa(c.cfg.ClientID)}, "count": {"10"}}
	resp, err := c.do(ctx, ticket.Request{Op: "find the requester", Method: http.MethodGet, Path: "Users?" + q.Encode(), Idempotent: true})
	if err != nil {
		return haloUser{}, err
	}
	var out struct {
		Users []haloUser `json:"users"`
	}
	if err := resp.JSON(&out); err != nil {
		return haloUser{}, c.malformed("find the requester", err)
	}
	for _, u := range out.Users {
		if strings.EqualFold(u.EmailAddress, email) && u.ClientID == c.cfg.ClientID {
			return u, nil
		}
	}
	return haloUser{}, nil
}

// Find searches the client's tickets, open and closed, for the correlation
// id and keeps a ticket only when its custom field or details hold it.
func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	if !correlationOK(correlation) {
		return tierzero.TicketRef{}, false, tierzero.Errorf(tierzero.EInvalid, "correlation id %q is not one of tierzero's", correlation)
	}
	q := url.Values{"search": {correlation}, "client_id": {strconv.Itoa(c.cfg.ClientID)}, "open_only": {"false"},
		"includecustomfields": {"true"}, "includedetails": {"true"}, "count": {"10"}}
	resp, err := c.do(ctx, ticket.Request{Op: "find", Method: http.MethodGet, Path: "Tickets?" + q.Encode(), Idempotent: true})
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	var out struct {
		Tickets []haloTicket `json:"tickets"`
	}
	if err := resp.JSON(&out); err != nil {
		return tierzero.TicketRef{}, false, c.malformed("find", err)
	}
	for _, t := range out.Tickets {
		held := strings.Contains(t.Details, correlation)
		for _, f := range t.CustomFields {
			if f.ID == c.cfg.CorrelationFieldID && f.Value == correlation {
				held = true
			}
		}
		if held && t.ID > 0 {
			return c.ref(t.ID), true, nil
		}
	}
	return tierzero.TicketRef{}, false, nil
}

// Note adds an action: hidden from the end user unless the note is public.
func (c *Client) Note(ctx context.Context, ref tierzero.TicketRef, n tierzero.TicketNote) error {
	id, err := ticketID(ref)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, ticket.Request{Op: "note", Method: http.MethodPost, Path: "Actions", Body: []map[string]any{{
		"ticket_id": id, "outcome": c.cfg.NoteOutcome, "note": htmlText(n.Text),
		"hiddenfromuser": !n.Public, "sendemail": n.Public,
	}}})
	return err
}

// Close adds a visible action with the resolution that moves the ticket to
// the closed status.
func (c *Client) Close(ctx context.Context, ref tierzero.TicketRef, resolution string) error {
	id, err := ticketID(ref)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, ticket.Request{Op: "close", Method: http.MethodPost, Path: "Actions", Body: []map[string]any{{
		"ticket_id": id, "outcome": "Close", "note": htmlText(resolution), "hiddenfromuser": false, "new_status": c.cfg.ClosedStatusID,
	}}})
	return err
}

// Updates reads the ticket's status (named from /api/Status) and the
// actions agents made visible to the end user whose id is above the cursor
// (action ids increase), leaving out those of tierzero's own API agent.
func (c *Client) Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	id, err := ticketID(ref)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	resp, err := c.do(ctx, ticket.Request{Op: "read status", Method: http.MethodGet, Path: "Tickets/" + strconv.Itoa(id), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var tk haloTicket
	if err := resp.JSON(&tk); err != nil || tk.ID != id {
		return tierzero.TicketUpdate{}, c.malformed("read status", err)
	}
	name, err := c.statusName(ctx, tk.StatusID)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	up := tierzero.TicketUpdate{Vendor: name, Cursor: cursor, Status: Status(c.cfg.Statuses, tk.StatusID, name)}

	q := url.Values{"ticket_id": {strconv.Itoa(id)}, "excludesys": {"true"}, "excludeprivate": {"true"},
		"agentonly": {"true"}, "count": {"200"}}
	resp, err = c.do(ctx, ticket.Request{Op: "read comments", Method: http.MethodGet, Path: "Actions?" + q.Encode(), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var acts struct {
		Actions []struct {
			ID             int    `json:"id"`
			TicketID       int    `json:"ticket_id"`
			Who            string `json:"who"`
			WhoAgentID     int    `json:"who_agentid"`
			Note           string `json:"note"`
			DateTime       string `json:"datetime"`
			HiddenFromUser bool   `json:"hiddenfromuser"`
		} `json:"actions"`
	}
	if err := resp.JSON(&acts); err != nil {
		return tierzero.TicketUpdate{}, c.malformed("read comments", err)
	}
	after, _ := strconv.Atoi(cursor)
	last := after
	for _, a := range acts.Actions {
		if a.ID <= after || a.HiddenFromUser || a.TicketID != id {
			continue
		}
		last = max(last, a.ID)
		if c.cfg.AgentID > 0 && a.WhoAgentID == c.cfg.AgentID {
			continue
		}
		text := plainText(a.Note)
		if text == "" {
			continue
		}
		at, _ := time.Parse("2006-01-02T15:04:05.999999999", strings.TrimSuffix(a.DateTime, "Z"))
		up.Comments = append(up.Comments, tierzero.TicketComment{ID: strconv.Itoa(a.ID), Author: a.Who, Text: text, Time: at})
	}
	if last > 0 {
		up.Cursor = strconv.Itoa(last)
	}
	return up, nil
}

// statusName names a status id from /api/Status, read once.
func (c *Client) statusName(ctx context.Context, id int) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.statuses == nil {
		resp, err := c.do(ctx, ticket.Request{Op: "read statuses", Method: http.MethodGet, Path: "Status", Idempotent: true})
		if err != nil {
			return "", err
		}
		var list []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		}
		if err := resp.JSON(&list); err != nil {
			return "", c.malformed("read statuses", err)
		}
		c.statuses = map[int]string{}
		for _, s := range list {
			c.statuses[s.ID] = s.Name
		}
	}
	if n, ok := c.statuses[id]; ok {
		return n, nil
	}
	return strconv.Itoa(id), nil
}

// Status maps a HaloPSA status onto tierzero's: by the configured names
// first, then Closed (id 9, Halo's fixed closed status) and names saying
// closed or cancelled are closed, resolved or completed resolved, waiting,
// pending or on hold pending, the rest open.
func Status(names map[string][]string, id int, name string) tierzero.TicketStatus {
	return ticket.StatusOf(names, name, func(name string) tierzero.TicketStatus { return guess(id, name) })
}

// guess maps a status onto tierzero's by its id and words.
func guess(id int, name string) tierzero.TicketStatus {
	n := strings.ToLower(name)
	switch {
	case id == 9 || strings.Contains(n, "closed") || strings.Contains(n, "cancel"):
		return tierzero.TicketClosed
	case strings.Contains(n, "resolved") || strings.Contains(n, "completed"):
		return tierzero.TicketResolved
	case strings.Contains(n, "waiting") || strings.Contains(n, "pending") || strings.Contains(n, "hold"):
		return tierzero.TicketPending
	}
	return tierzero.TicketOpen
}

// do sends r; a 401 makes the next call fetch a new token.
func (c *Client) do(ctx context.Context, r ticket.Request) (*ticket.Response, error) {
	resp, err := c.http.Do(ctx, r)
	c.token.Refused(err)
	return resp, err
}

func (c *Client) ref(id int) tierzero.TicketRef {
	u := *c.http.Base
	u.Path, u.RawQuery = "/ticket", url.Values{"id": {strconv.Itoa(id)}}.Encode()
	return tierzero.TicketRef{System: Name, ID: strconv.Itoa(id), Number: strconv.Itoa(id), URL: u.String()}
}

func (c *Client) malformed(op string, err error) error {
	if err == nil {
		err = fmt.Errorf("no id in the response")
	}
	return &ticket.Error{System: Name, Tenant: c.http.Tenant, Op: op, Status: http.StatusOK, Err: fmt.Errorf("unexpected response: %w", err)}
}

func ticketID(ref tierzero.TicketRef) (int, error) {
	id, err := strconv.Atoi(ref.ID)
	if err != nil || id <= 0 {
		return 0, tierzero.Errorf(tierzero.EInvalid, "%q is not a HaloPSA ticket id", ref.ID)
	}
	return id, nil
}

// htmlText is plain text as HTML, for Halo's details and notes: escaped,
// its line breaks kept.
func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>\n")
}

// plainText is an action's HTML note as plain text: line breaks for <br>
// and paragraphs, other tags dropped, entities decoded.
func plainText(s string) string {
	r := strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n", "</div>", "\n")
	s = r.Replace(s)
	var b strings.Builder
	in := false
	for _, ch := range s {
		switch {
		case ch == '<':
			in = true
		case ch == '>' && in:
			in = false
		case !in:
			b.WriteRune(ch)
		}
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}

// correlationOK accepts tierzero's correlation ids: tz- and hex digits.
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
