// Package connectwise opens and follows tickets in ConnectWise PSA (Manage)
// through its REST API (/v4_6_release/apis/3.0): service tickets, their
// notes (Discussion, Internal, Resolution) and the ticket's status.
//
// Authentication is an API member's key pair: Basic
// base64("company+publicKey:privateKey") and the integration's clientId
// header on every request. Our correlation id is stored in the ticket's
// externalXRef and found again with conditions=externalXRef="...".
package connectwise

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Name is the system's configuration name.
const Name = "connectwise"

// maxSummary is ConnectWise's limit on a ticket's summary.
const maxSummary = 100

// Config is a tenant's `ticket:` block with `system: connectwise`:
//
//	ticket:
//	  system: connectwise
//	  url: https://api-na.myconnectwise.net/v4_6_release/apis/3.0/
//	  login_company: msp                    # the company id typed at login
//	  public_key_env: CONTOSO_CW_PUBLIC_KEY # the API member's key pair
//	  private_key_env: CONTOSO_CW_PRIVATE_KEY
//	  client_id_env: TIERZERO_CW_CLIENT_ID  # the integration's clientId
//	  company: 250                          # the client's company record id
//	  board: 1                              # service board id
//	  priority: 8                           # priority id
//	  priority_rules: [{cause: time_limit, value: "6"}]
//	  category: 31                          # service type id
//	  category_rules: [{action: device., value: "32"}]
//	  requester_lookup: true
//	  statuses: {pending: [Waiting Customer], resolved: [Completed]}
//	  closed_status: ">Closed"
type Config struct {
	// URL is the API root, .../v4_6_release/apis/3.0/.
	URL string `yaml:"url" json:"url"`
	// LoginCompany is the MSP's ConnectWise company id, the one typed at
	// login; it prefixes the public key.
	LoginCompany  string `yaml:"login_company" json:"login_company"`
	PublicKeyEnv  string `yaml:"public_key_env" json:"public_key_env"`
	PrivateKeyEnv string `yaml:"private_key_env" json:"private_key_env"`
	// ClientIDEnv names the variable holding the integration's clientId
	// (developer.connectwise.com/ClientID), which ConnectWise asks to be
	// kept like a password; ClientID may give it in the file instead.
	ClientIDEnv string `yaml:"client_id_env" json:"client_id_env,omitempty"`
	ClientID    string `yaml:"client_id" json:"client_id,omitempty"`

	// The mapping: ConnectWise record ids.
	CompanyID     int    `yaml:"company" json:"company"`                         // the client's company
	BoardID       int    `yaml:"board" json:"board"`                             // the service board
	PriorityID    int    `yaml:"priority" json:"priority,omitempty"`             // 0: the board's default
	PriorityRules []Rule `yaml:"priority_rules" json:"priority_rules,omitempty"` // values are priority ids
	TypeID        int    `yaml:"category" json:"category,omitempty"`             // service type; 0: none
	CategoryRules []Rule `yaml:"category_rules" json:"category_rules,omitempty"` // values are service type ids
	// RequesterLookup sets the ticket's contact to the client company's
	// contact whose email is the requester's UPN; contactEmailAddress is
	// set either way.
	RequesterLookup bool `yaml:"requester_lookup" json:"requester_lookup,omitempty"`
	// Statuses map board status names onto tierzero's (keys pending,
	// resolved, closed); unlisted names are guessed ("Waiting..." is
	// pending, "Resolved", "Completed" resolved), and closedFlag is closed.
	Statuses map[string][]string `yaml:"statuses" json:"statuses,omitempty"`
	// ClosedStatus is the board status Close sets (">Closed" when empty).
	ClosedStatus string `yaml:"closed_status" json:"closed_status,omitempty"`
}

// Rule picks a value for the escalations it matches: see ticket.Rule.
type Rule = ticket.Rule

// Client is a ConnectWise PSA connector for one tenant.
type Client struct {
	cfg  Config
	http *ticket.HTTP
}

var _ ticket.System = (*Client)(nil)

// New returns a Client for cfg, reading the keys from the environment.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	if cfg.LoginCompany == "" {
		return fail(tierzero.Errorf(tierzero.EInvalid, "login_company is not set"))
	}
	if cfg.CompanyID <= 0 || cfg.BoardID <= 0 {
		return fail(tierzero.Errorf(tierzero.EInvalid, "company and board must be set (ConnectWise record ids)"))
	}
	for _, rules := range [][]Rule{cfg.PriorityRules, cfg.CategoryRules} {
		for _, r := range rules {
			if _, err := strconv.Atoi(r.Value); err != nil {
				return fail(tierzero.Errorf(tierzero.EInvalid, "rule value %q is not a ConnectWise id", r.Value))
			}
		}
	}
	pub, err := ticket.Env(opts.Getenv, "public_key_env", cfg.PublicKeyEnv)
	if err != nil {
		return fail(err)
	}
	priv, err := ticket.Env(opts.Getenv, "private_key_env", cfg.PrivateKeyEnv)
	if err != nil {
		return fail(err)
	}
	clientID := cfg.ClientID
	if cfg.ClientIDEnv != "" {
		if clientID, err = ticket.Env(opts.Getenv, "client_id_env", cfg.ClientIDEnv); err != nil {
			return fail(err)
		}
	}
	if clientID == "" {
		return fail(tierzero.Errorf(tierzero.EInvalid, "client_id is not set (ConnectWise requires the clientId header)"))
	}
	if cfg.ClosedStatus == "" {
		cfg.ClosedStatus = ">Closed"
	}
	h, err := ticket.NewHTTP(Name, cfg.URL, opts)
	if err != nil {
		return nil, err
	}
	basic := base64.StdEncoding.EncodeToString([]byte(cfg.LoginCompany + "+" + pub + ":" + priv))
	// ConnectWise asks that the clientId be kept like a password too.
	h.Secrets = []string{priv, pub, basic, clientID}
	h.Header.Set("clientId", clientID)
	h.Auth = func(ctx context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Basic "+basic)
		return nil
	}
	return &Client{cfg: cfg, http: h}, nil
}

// Name returns "connectwise".
func (c *Client) Name() string { return Name }

// ref is a ConnectWise reference object ({"id": 1, "name": "..."}).
type ref struct {
	ID         int    `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Identifier string `json:"identifier,omitempty"`
}

// serviceTicket is the part of ConnectWise's Ticket model we read.
type serviceTicket struct {
	ID           int    `json:"id"`
	Summary      string `json:"summary"`
	ExternalXRef string `json:"externalXRef"`
	Status       *ref   `json:"status"`
	ClosedFlag   bool   `json:"closedFlag"`
	Info         struct {
		EnteredBy string `json:"enteredBy"`
	} `json:"_info"`
}

// note is ConnectWise's ServiceNote.
type note struct {
	ID                    int    `json:"id,omitempty"`
	Text                  string `json:"text"`
	DetailDescriptionFlag bool   `json:"detailDescriptionFlag"`
	InternalAnalysisFlag  bool   `json:"internalAnalysisFlag"`
	ResolutionFlag        bool   `json:"resolutionFlag"`
	CustomerUpdatedFlag   bool   `json:"customerUpdatedFlag"`
	Member                *ref   `json:"member,omitempty"`
	Contact               *ref   `json:"contact,omitempty"`
	CreatedBy             string `json:"createdBy,omitempty"`
	DateCreated           string `json:"dateCreated,omitempty"`
}

// Create opens a service ticket on the board, for the client's company,
// with our correlation id in externalXRef: one POST.
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	e := t.Escalation
	body := map[string]any{
		"summary":            summary(ticket.Subject(t)),
		"recordType":         "ServiceTicket",
		"board":              ref{ID: c.cfg.BoardID},
		"company":            ref{ID: c.cfg.CompanyID},
		"initialDescription": ticket.Body(t),
		"externalXRef":       t.Correlation,
	}
	if e.Requester.UPN != "" {
		body["contactEmailAddress"] = e.Requester.UPN
	}
	if p := ticket.Pick(c.cfg.PriorityRules, strconv.Itoa(c.cfg.PriorityID), e); p != "0" {
		id, _ := strconv.Atoi(p)
		body["priority"] = ref{ID: id}
	}
	if ty := ticket.Pick(c.cfg.CategoryRules, strconv.Itoa(c.cfg.TypeID), e); ty != "0" {
		id, _ := strconv.Atoi(ty)
		body["type"] = ref{ID: id}
	}
	if c.cfg.RequesterLookup && e.Requester.UPN != "" {
		id, err := c.contact(ctx, e.Requester.UPN)
		if err != nil {
			return tierzero.TicketRef{}, err
		}
		if id != 0 {
			body["contact"] = ref{ID: id}
		}
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "create", Method: http.MethodPost, Path: "service/tickets", Body: body})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	var st serviceTicket
	if err := resp.JSON(&st); err != nil || st.ID == 0 {
		// The ticket exists but we cannot name it: Find will.
		return tierzero.TicketRef{}, fmt.Errorf("ticket system %s for tenant %s: create: unreadable response: %w", Name, c.http.Tenant, tierzero.Errorf(tierzero.EUnavailable, "the ticket's id is missing from the response"))
	}
	return c.ref(st.ID), nil
}

// contact returns the id of the client company's contact with the email
// address, 0 when there is none.
func (c *Client) contact(ctx context.Context, email string) (int, error) {
	q := url.Values{}
	q.Set("conditions", fmt.Sprintf("company/id=%d", c.cfg.CompanyID))
	q.Set("childConditions", fmt.Sprintf(`communicationItems/value=%s AND communicationItems/communicationType="Email"`, quote(email)))
	q.Set("fields", "id")
	resp, err := c.http.Do(ctx, ticket.Request{Op: "find the requester's contact", Method: http.MethodGet, Path: "company/contacts?" + q.Encode(), Idempotent: true})
	if err != nil {
		return 0, err
	}
	var cs []ref
	if err := resp.JSON(&cs); err != nil {
		return 0, fmt.Errorf("ticket system %s: find contact: %w", Name, err)
	}
	if len(cs) == 0 {
		return 0, nil
	}
	return cs[0].ID, nil
}

// Find looks the ticket up by externalXRef.
func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	q := url.Values{}
	q.Set("conditions", "externalXRef="+quote(correlation))
	q.Set("fields", "id,externalXRef")
	q.Set("orderBy", "id asc")
	resp, err := c.http.Do(ctx, ticket.Request{Op: "find", Method: http.MethodGet, Path: "service/tickets?" + q.Encode(), Idempotent: true})
	if err != nil {
		return tierzero.TicketRef{}, false, err
	}
	var ts []serviceTicket
	if err := resp.JSON(&ts); err != nil {
		return tierzero.TicketRef{}, false, fmt.Errorf("ticket system %s: find: %w", Name, err)
	}
	for _, st := range ts {
		if st.ExternalXRef == correlation && st.ID != 0 {
			return c.ref(st.ID), true, nil
		}
	}
	return tierzero.TicketRef{}, false, nil
}

// Note adds a Discussion note (detailDescriptionFlag, seen by the contact)
// or an Internal note (internalAnalysisFlag).
func (c *Client) Note(ctx context.Context, r tierzero.TicketRef, n tierzero.TicketNote) error {
	id, err := c.id(r)
	if err != nil {
		return err
	}
	body := note{Text: n.Text, DetailDescriptionFlag: n.Public, InternalAnalysisFlag: !n.Public}
	_, err = c.http.Do(ctx, ticket.Request{Op: "add a note", Method: http.MethodPost, Path: fmt.Sprintf("service/tickets/%d/notes", id), Body: body})
	return err
}

// Updates reads the ticket's status and its Discussion and Resolution notes
// after cursor (a note id), leaving out internal notes, the contact's own
// and ours (those created by the member that entered the ticket).
func (c *Client) Updates(ctx context.Context, r tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	id, err := c.id(r)
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	after := 0
	if cursor != "" {
		if after, err = strconv.Atoi(cursor); err != nil {
			return tierzero.TicketUpdate{}, tierzero.Errorf(tierzero.EInvalid, "connectwise cursor %q is not a note id", cursor)
		}
	}
	resp, err := c.http.Do(ctx, ticket.Request{Op: "read the ticket", Method: http.MethodGet, Path: fmt.Sprintf("service/tickets/%d", id), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var st serviceTicket
	if err := resp.JSON(&st); err != nil {
		return tierzero.TicketUpdate{}, fmt.Errorf("ticket system %s: read the ticket: %w", Name, err)
	}
	u := tierzero.TicketUpdate{Cursor: strconv.Itoa(after)}
	if st.Status != nil {
		u.Vendor = st.Status.Name
	}
	u.Status = ticket.StatusOf(c.cfg.Statuses, u.Vendor, guess)
	if st.ClosedFlag {
		u.Status = tierzero.TicketClosed
	}
	q := url.Values{}
	q.Set("conditions", fmt.Sprintf("id>%d", after))
	q.Set("orderBy", "id asc")
	q.Set("pageSize", "1000")
	resp, err = c.http.Do(ctx, ticket.Request{Op: "read the notes", Method: http.MethodGet, Path: fmt.Sprintf("service/tickets/%d/notes?%s", id, q.Encode()), Idempotent: true})
	if err != nil {
		return tierzero.TicketUpdate{}, err
	}
	var notes []note
	if err := resp.JSON(&notes); err != nil {
		return tierzero.TicketUpdate{}, fmt.Errorf("ticket system %s: read the notes: %w", Name, err)
	}
	for _, n := range notes {
		if n.ID <= after {
			continue
		}
		u.Cursor = strconv.Itoa(n.ID)
		after = n.ID
		if n.InternalAnalysisFlag || !(n.DetailDescriptionFlag || n.ResolutionFlag) || n.CustomerUpdatedFlag || n.Contact != nil {
			continue
		}
		if st.Info.EnteredBy != "" && strings.EqualFold(n.CreatedBy, st.Info.EnteredBy) {
			continue
		}
		cm := tierzero.TicketComment{ID: strconv.Itoa(n.ID), Author: n.CreatedBy, Text: n.Text}
		if n.Member != nil && n.Member.Name != "" {
			cm.Author = n.Member.Name
		}
		if at, err := time.Parse(time.RFC3339, n.DateCreated); err == nil {
			cm.Time = at
		}
		u.Comments = append(u.Comments, cm)
	}
	return u, nil
}

// Close adds a Resolution note and sets the board's closed status.
func (c *Client) Close(ctx context.Context, r tierzero.TicketRef, resolution string) error {
	id, err := c.id(r)
	if err != nil {
		return err
	}
	if _, err := c.http.Do(ctx, ticket.Request{Op: "add the resolution", Method: http.MethodPost, Path: fmt.Sprintf("service/tickets/%d/notes", id),
		Body: note{Text: resolution, DetailDescriptionFlag: true, ResolutionFlag: true}}); err != nil {
		return err
	}
	patch := []map[string]any{{"op": "replace", "path": "status", "value": ref{Name: c.cfg.ClosedStatus}}}
	_, err = c.http.Do(ctx, ticket.Request{Op: "close", Method: http.MethodPatch, Path: fmt.Sprintf("service/tickets/%d", id), Body: patch, Idempotent: true})
	return err
}

func (c *Client) ref(id int) tierzero.TicketRef {
	s := strconv.Itoa(id)
	return tierzero.TicketRef{System: Name, ID: s, Number: "#" + s}
}

func (c *Client) id(r tierzero.TicketRef) (int, error) {
	id, err := strconv.Atoi(r.ID)
	if err != nil || id <= 0 {
		return 0, tierzero.Errorf(tierzero.EInvalid, "connectwise ticket id %q is not a number", r.ID)
	}
	return id, nil
}

// guess maps a board status name when the configuration does not list it.
func guess(name string) tierzero.TicketStatus {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "closed") || strings.Contains(n, "cancel"):
		return tierzero.TicketClosed
	case strings.Contains(n, "resolved") || strings.Contains(n, "complete"):
		return tierzero.TicketResolved
	case strings.Contains(n, "waiting") || strings.Contains(n, "pending") || strings.Contains(n, "hold"):
		return tierzero.TicketPending
	}
	return tierzero.TicketOpen
}

// summary fits the subject into ConnectWise's 100 characters.
func summary(s string) string {
	if len(s) <= maxSummary {
		return s
	}
	return strings.ToValidUTF8(s[:maxSummary-3], "") + "..."
}

// quote makes a string literal of the conditions language: double quotes,
// with \ and " escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
