// Package autotask opens and follows tickets in Datto Autotask PSA through
// its REST API (atservicesrest/v1.0): Tickets, their TicketNotes and the
// ticket's status picklist.
//
// Authentication is an API-only user's headers on every request:
// ApiIntegrationcode (the tracking identifier), UserName and Secret. The
// API lives in the user's zone, found first with zoneInformation?user=...
// (unless url is configured). Our correlation id is stored in the ticket's
// externalID and found again with a Tickets/query filter.
package autotask

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
const Name = "autotask"

// Defaults.
const (
	// ZoneURL is where the zone of an API user is asked.
	ZoneURL = "https://webservices.autotask.net/atservicesrest/"
	// Autotask's limits on a ticket's title and description.
	maxTitle       = 255
	maxDescription = 8000
	// Ticket status picklist values Autotask ships (Admin > Ticket
	// Statuses): 1 New, 5 Complete (the one closed status), 7 Waiting
	// Customer.
	statusNew      = 1
	statusComplete = 5
	// TicketNotes publish: 1 All Autotask Users (shown in the client
	// portal), 2 Internal Only.
	publishAll      = 1
	publishInternal = 2
)

// Config is a tenant's `ticket:` block with `system: autotask`:
//
//	ticket:
//	  system: autotask
//	  user_env: CONTOSO_AT_USER                 # the API user's UserName
//	  secret_env: CONTOSO_AT_SECRET
//	  integration_code_env: TIERZERO_AT_CODE    # ApiIntegrationcode (tracking id)
//	  company: 29683                            # the client's companyID
//	  queue: 29682835                           # queueID
//	  priority: 2                               # priority picklist value
//	  priority_rules: [{cause: time_limit, value: "1"}]
//	  category: 4                               # issueType
//	  category_rules: [{action: device., value: "7"}]
//	  requester_lookup: true
//	  statuses: {pending: ["7", "12"]}
type Config struct {
	// URL is the zone's REST root (https://webservices5.autotask.net/atservicesrest/);
	// empty: asked of ZoneURL (or zone_url) at the first call.
	URL     string `yaml:"url" json:"url,omitempty"`
	ZoneURL string `yaml:"zone_url" json:"zone_url,omitempty"`
	// The API-only user's credentials: UserName, Secret and the API
	// tracking identifier sent as ApiIntegrationcode.
	UserEnv            string `yaml:"user_env" json:"user_env"`
	SecretEnv          string `yaml:"secret_env" json:"secret_env"`
	IntegrationCodeEnv string `yaml:"integration_code_env" json:"integration_code_env"`

	// The mapping: Autotask ids and picklist values.
	CompanyID     int    `yaml:"company" json:"company"`                         // companyID
	QueueID       int    `yaml:"queue" json:"queue,omitempty"`                   // queueID; 0: none
	Priority      int    `yaml:"priority" json:"priority,omitempty"`             // picklist value; 0: 2 (Medium)
	PriorityRules []Rule `yaml:"priority_rules" json:"priority_rules,omitempty"` // values are priority values
	IssueType     int    `yaml:"category" json:"category,omitempty"`             // issueType; 0: none
	CategoryRules []Rule `yaml:"category_rules" json:"category_rules,omitempty"` // values are issueType values
	// RequesterLookup sets contactID to the company's contact whose
	// emailAddress is the requester's UPN.
	RequesterLookup bool `yaml:"requester_lookup" json:"requester_lookup,omitempty"`
	// Statuses map status picklist values (as strings) onto tierzero's
	// (keys pending, resolved, closed); unlisted: 5 (Complete) is
	// closed, 7 (Waiting Customer) pending, the others open.
	Statuses map[string][]string `yaml:"statuses" json:"statuses,omitempty"`
	// NoteType is the TicketNotes noteType picklist value (1 when 0).
	NoteType int `yaml:"note_type" json:"note_type,omitempty"`
}

// Rule picks a value for the escalations it matches: see ticket.Rule.
type Rule = ticket.Rule

// Client is an Autotask connector for one tenant.
type Client struct {
	cfg    Config
	opts   ticket.Options
	header http.Header
	secret []string
	zone   *ticket.HTTP // asks for the zone

	mu     sync.Mutex
	api    *ticket.HTTP // the zone's API, once known
	webURL string
}

var _ ticket.System = (*Client)(nil)

// New returns a Client for cfg, reading the credentials from the
// environment. It makes no request: the zone is asked at the first call.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	if cfg.CompanyID <= 0 {
		return fail(tierzero.Errorf(tierzero.EInvalid, "company must be set (the client's Autotask companyID)"))
	}
	for _, rules := range [][]Rule{cfg.PriorityRules, cfg.CategoryRules} {
		for _, r := range rules {
			if _, err := strconv.Atoi(r.Value); err != nil {
				return fail(tierzero.Errorf(tierzero.EInvalid, "rule value %q is not an Autotask picklist value", r.Value))
			}
		}
	}
	user, err := ticket.Env(opts.Getenv, "user_env", cfg.UserEnv)
	if err != nil {
		return fail(err)
	}
	secret, err := ticket.Env(opts.Getenv, "secret_env", cfg.SecretEnv)
	if err != nil {
		return fail(err)
	}
	code, err := ticket.Env(opts.Getenv, "integration_code_env", cfg.IntegrationCodeEnv)
	if err != nil {
		return fail(err)
	}
	if cfg.Priority == 0 {
		cfg.Priority = 2
	}
	if cfg.NoteType == 0 {
		cfg.NoteType = 1
	}
	if cfg.ZoneURL == "" {
		cfg.ZoneURL = ZoneURL
	}
	c := &Client{cfg: cfg, opts: opts, secret: []string{secret, code}, header: http.Header{}}
	c.header.Set("ApiIntegrationcode", code)
	c.header.Set("UserName", user)
	c.header.Set("Secret", secret)
	if cfg.URL != "" {
		if c.api, err = c.newAPI(cfg.URL); err != nil {
			return nil, err
		}
	} else {
		if c.zone, err = ticket.NewHTTP(Name, cfg.ZoneURL, opts); err != nil {
			return nil, err
		}
		c.zone.Secrets = c.secret
	}
	return c, nil
}

// newAPI returns the HTTP of the zone's REST root.
func (c *Client) newAPI(root string) (*ticket.HTTP, error) {
	root = strings.TrimSuffix(root, "/")
	if !strings.HasSuffix(strings.ToLower(root), "/v1.0") {
		root += "/v1.0"
	}
	h, err := ticket.NewHTTP(Name, root+"/", c.opts)
	if err != nil {
		return nil, err
	}
	h.Secrets = c.secret
	h.Auth = func(ctx context.Context, r *http.Request) error {
		for k, vs := range c.header {
			r.Header[k] = vs
		}
		return nil
	}
	return h, nil
}

// client returns the zone's API, asking for the zone the first time.
func (c *Client) client(ctx context.Context) (*ticket.HTTP, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.api != nil {
		return c.api, nil
	}
	q := url.Values{"user": {c.header.Get("UserName")}}
	resp, err := c.zone.Do(ctx, ticket.Request{Op: "find the zone", Method: http.MethodGet, Path: "v1.0/zoneInformation?" + q.Encode(), Idempotent: true})
	if err != nil {
		return nil, err
	}
	var z struct {
		ZoneName string `json:"zoneName"`
		URL      string `json:"url"`
		WebURL   string `json:"webUrl"`
	}
	if err := resp.JSON(&z); err != nil || z.URL == "" {
		return nil, fmt.Errorf("ticket system %s for tenant %s: find the zone: %w", Name, c.opts.Tenant, tierzero.Errorf(tierzero.EUnavailable, "zoneInformation named no url"))
	}
	api, err := c.newAPI(z.URL)
	if err != nil {
		return nil, err
	}
	c.api, c.webURL = api, z.WebURL
	return api, nil
}

// Name returns "autotask".
func (c *Client) Name() string { return Name }

// atTicket is the part of Autotask's Tickets entity we read.
type atTicket struct {
	ID                int    `json:"id"`
	TicketNumber      string `json:"ticketNumber"`
	ExternalID        string `json:"externalID"`
	Status            int    `json:"status"`
	CreatorResourceID *int   `json:"creatorResourceID"`
}

// atNote is Autotask's TicketNotes entity.
type atNote struct {
	ID                 int    `json:"id,omitempty"`
	TicketID           int    `json:"ticketID"`
	Title              string `json:"title"`
	Description        string `json:"description"`
	NoteType           int    `json:"noteType"`
	Publish            int    `json:"publish"`
	CreatorResourceID  *int   `json:"creatorResourceID,omitempty"`
	CreatedByContactID *int   `json:"createdByContactID,omitempty"`
	CreateDateTime     string `json:"createDateTime,omitempty"`
}

// filter is one condition of a query ({"op": "eq", "field": ..., "value": ...}).
type filter struct {
	Op    string `json:"op"`
	Field string `json:"field"`
	Value any    `json:"value"`
}

type query struct {
	Filter        []filter `json:"filter"`
	IncludeFields []string `json:"IncludeFields,omitempty"`
	MaxRecords    int      `json:"MaxRecords,omitempty"`
}

// Create opens a ticket for the company with our correlation id in
// externalID: one POST; then reads the ticket's number.
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	api, err := c.client(ctx)
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	e := t.Escalation
	prio, _ := strconv.Atoi(ticket.Pick(c.cfg.PriorityRules, strconv.Itoa(c.cfg.Priority), e))
	body := map[string]any{
		"companyID":   c.cfg.CompanyID,
		"title":       cut(ticket.Subject(t), maxTitle),
		"description": cut(ticket.Body(t), maxDescription),
		"status":      statusNew,
		"priority":    prio,
		"externalID":  t.Correlation,
	}
	if c.cfg.QueueID != 0 {
		body["queueID"] = c.cfg.QueueID
	}
	if it, _ := strconv.Atoi(ticket.Pick(c.cfg.CategoryRules, strconv.Itoa(c.cfg.IssueType), e)); it != 0 {
		body["issueType"] = it
	}
	if c.cfg.RequesterLookup && e.Requester.UPN != "" {
		id, err := c.contact(ctx, api, e.Requester.UPN)
		if err != nil {
			return tierzero.TicketRef{}, err
		}
		if id != 0 {
			body["contactID"] = id
		}
	}
	resp, err := api.Do(ctx, ticket.Request{Op: "create", Method: http.MethodPost, Path: "Tickets", Body: body})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	var out struct {
		ItemID int `json:"itemId"`
	}
	if err := resp.JSON(&out); err != nil || out.ItemID == 0 {
		return tierzero.TicketRef{}, fmt.Errorf("ticket system %s for tenant %s: create: %w", Name, c.opts.Tenant, tierzero.Errorf(tierzero.EUnavailable, "the ticket's itemId is missing from the response"))
	}
	ref := c.ref(atTicket{ID: out.ItemID})
	// The number people read; the ticket exists whether or not this read
	// works, so a failure leaves the number out rather than failing Create.
	if tk, err := c.get(ctx, api, out.ItemID); err == nil {
		ref = c.ref(tk)
	}
	return ref, nil
}

func (c *Client) get(ctx context.Context, api *ticket.HTTP, id int) (atTicket, error) {
	resp, err := api.Do(ctx, ticket.Request{Op: "read the ticket", Method: http.MethodGet, Path: fmt.Sprintf("Tickets/%d", id), Idempotent: true})
	if err != nil {
		return atTicket{}, err
	}
	var out struct {
		Item *atTicket `json:"item"`
	}
	if err := resp.JSON(&out); err != nil || out.Item == nil {
		return atTicket{}, fmt.Errorf("ticket system %s for tenant %s: read the ticket: %w", Name, c.opts.Tenant, tierzero.Errorf(tierzero.ENotFound, "ticket %d was not returned", id))
	}
	return *out.Item, nil
}

// contact returns the id of the company's contact with the email address,
// 0 when there is none.
func (c *Client) contact(ctx context.Context, api *ticket.HTTP, email string) (int, error) {
	q := query{Filter: []filter{{"eq", "emailAddress", email}, {"eq", "companyID", c.cfg.CompanyID}}, IncludeFields: []string{"id"}, MaxRecords: 1}
	resp, err := api.Do(ctx, ticket.Request{Op: "find the requester's contact", Method: http.MethodPost, Path: "Contacts/query", Body: q, Idempotent: true})
	if err != nil {
		return 0, err
	}
	var out struct {
		Items []struct {
			ID int `json:"id"`
		} `json:"items"`
	}
	if err := resp.JSON(&out); err != nil {
		return 0, fmt.Errorf("ticket system %s: find contact: %w", Name, err)
	}
	if len(out.Items) == 0 {
		return 0, nil
	}
	return out.Items[0].ID, nil
}

// Find looks the ticket up by externalID.
func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	api, err := c.client(ctx)
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	q := query{Filter: []filter{{"eq", "externalID", correlation}}, IncludeFields: []string{"id", "ticketNumber", "externalID"}}
	resp, err := api.Do(ctx, ticket.Request{Op: "find", Method: http.MethodPost, Path: "Tickets/query", Body: q, Idempotent: true})
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	var out struct {
		Items []atTicket `json:"items"`
	}
	if err := resp.JSON(&out); err != nil {
		return tierzero.TicketRef{}, false, fmt.Errorf("ticket system %s: find: %w", Name, err)
	}
	for _, tk := range out.Items {
		if tk.ExternalID == correlation && tk.ID != 0 {
			return c.ref(tk), true, nil
		}
	}
	return tierzero.TicketRef{}, false, nil
}

// Note adds a ticket note published to All Autotask Users (shown in the
// client portal) or Internal Only.
func (c *Client) Note(ctx context.Context, r tierzero.TicketRef, n tierzero.TicketNote) error {
	api, id, err := c.target(ctx, r)
	if err != nil {
		return err
	}
	note := atNote{TicketID: id, Title: "tierzero", Description: cut(n.Text, maxDescription), NoteType: c.cfg.NoteType, Publish: publishInternal}
	if n.Public {
		note.Publish = publishAll
		note.Title = "tierzero: for the requester"
	}
	_, err = api.Do(ctx, ticket.Request{Op: "add a note", Method: http.MethodPost, Path: fmt.Sprintf("Tickets/%d/Notes", id), Body: note})
	return err
}

// Updates reads the ticket's status and the notes after cursor (a note id)
// published to All Autotask Users, leaving out internal ones, the
// contact's own and ours (by the resource that created the ticket).
func (c *Client) Updates(ctx context.Context, r tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	api, id, err := c.target(ctx, r)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	after := 0
	if cursor != "" {
		if after, err = strconv.Atoi(cursor); err != nil {
			return tierzero.TicketUpdate{}, tierzero.Errorf(tierzero.EInvalid, "autotask cursor %q is not a note id", cursor)
		}
	}
	tk, err := c.get(ctx, api, id)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	u := tierzero.TicketUpdate{Vendor: strconv.Itoa(tk.Status), Cursor: strconv.Itoa(after)}
	u.Status = ticket.StatusOf(c.cfg.Statuses, u.Vendor, guess)
	q := query{Filter: []filter{{"eq", "ticketID", id}, {"gt", "id", after}}}
	resp, err := api.Do(ctx, ticket.Request{Op: "read the notes", Method: http.MethodPost, Path: "TicketNotes/query", Body: q, Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var out struct {
		Items []atNote `json:"items"`
	}
	if err := resp.JSON(&out); err != nil {
		return tierzero.TicketUpdate{}, fmt.Errorf("ticket system %s: read the notes: %w", Name, err)
	}
	for _, n := range out.Items {
		if n.ID <= after {
			continue
		}
		if n.ID > atoi(u.Cursor) {
			u.Cursor = strconv.Itoa(n.ID)
		}
		if n.Publish != publishAll || (n.CreatedByContactID != nil && *n.CreatedByContactID != 0) {
			continue
		}
		if n.CreatorResourceID != nil && tk.CreatorResourceID != nil && *n.CreatorResourceID == *tk.CreatorResourceID {
			continue
		}
		cm := tierzero.TicketComment{ID: strconv.Itoa(n.ID), Text: n.Description}
		if n.CreatorResourceID != nil {
			cm.Author = "resource " + strconv.Itoa(*n.CreatorResourceID)
		}
		if at, err := time.Parse(time.RFC3339, n.CreateDateTime); err == nil {
			cm.Time = at
		}
		u.Comments = append(u.Comments, cm)
	}
	return u, nil
}

// Close sets the ticket Complete with the resolution: one PATCH.
func (c *Client) Close(ctx context.Context, r tierzero.TicketRef, resolution string) error {
	api, id, err := c.target(ctx, r)
	if err != nil {
		return err
	}
	body := map[string]any{"id": id, "status": statusComplete, "resolution": cut(resolution, maxDescription)}
	_, err = api.Do(ctx, ticket.Request{Op: "close", Method: http.MethodPatch, Path: "Tickets", Body: body, Idempotent: true})
	return err
}

func (c *Client) target(ctx context.Context, r tierzero.TicketRef) (*ticket.HTTP, int, error) {
	id, err := strconv.Atoi(r.ID)
	if err != nil || id <= 0 {
		return nil, 0, tierzero.Errorf(tierzero.EInvalid, "autotask ticket id %q is not a number", r.ID)
	}
	api, err := c.client(ctx)
	return api, id, err
}

func (c *Client) ref(tk atTicket) tierzero.TicketRef {
	r := tierzero.TicketRef{System: Name, ID: strconv.Itoa(tk.ID), Number: tk.TicketNumber}
	c.mu.Lock()
	web := c.webURL
	c.mu.Unlock()
	if web != "" {
		r.URL = strings.TrimSuffix(web, "/") + "/Mvc/ServiceDesk/TicketDetail.mvc?ticketId=" + r.ID
	}
	return r
}

// guess maps a status picklist value the configuration does not list.
func guess(v string) tierzero.TicketStatus {
	switch v {
	case strconv.Itoa(statusComplete):
		return tierzero.TicketClosed
	case "7": // Waiting Customer
		return tierzero.TicketPending
	}
	return tierzero.TicketOpen
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// cut fits s into n bytes of valid UTF-8.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
