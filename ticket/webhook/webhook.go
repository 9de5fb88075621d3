// Package webhook is the generic ticketing connector, for every system
// tierzero has no connector for: tierzero POSTs JSON events to the MSP's
// URL, signed, and the MSP's side posts status changes and public comments
// back to tierzero, signed the same way. The protocol is docs/ticket.md's;
// in short:
//
// Outbound, to Config.URL, one event per request:
//
//	POST <url>
//	Content-Type: application/json
//	X-Tierzero-Event: ticket.create | ticket.find | ticket.note | ticket.close
//	X-Tierzero-Delivery: <id, the same on every retry of the same event>
//	X-Tierzero-Signature: sha256=<hex HMAC-SHA256 of the body, key: the secret>
//
// The body is an Event. A receiver answers 2xx; to ticket.create (and to
// ticket.find when it has the ticket) with a Ref as JSON, to ticket.find
// without one with 404. It dedupes on X-Tierzero-Delivery: a delivery seen
// before is answered as the first time (for ticket.create, with the same
// ticket), so a retry never opens a second ticket; tierzero also sends
// ticket.find before creating again after a failure that may have been
// applied.
//
// Inbound, to tierzero serve's POST /ticket/webhook/<tenant>: a Callback,
// signed the same way, with its own X-Tierzero-Delivery; its "sent" time
// must be within Window of tierzero's clock, and a delivery id is taken
// once (see Receiver).
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Name is the system's configuration name.
const Name = "webhook"

// Headers.
const (
	HeaderSignature = "X-Tierzero-Signature"
	HeaderDelivery  = "X-Tierzero-Delivery"
	HeaderEvent     = "X-Tierzero-Event"
)

// Events sent.
const (
	EventCreate = "ticket.create"
	EventFind   = "ticket.find"
	EventNote   = "ticket.note"
	EventClose  = "ticket.close"
)

// Config is a tenant's `ticket:` block for the webhook:
// {system: webhook, url: "https://...", secret_env: CONTOSO_TICKET_SECRET}.
type Config struct {
	URL       string `yaml:"url" json:"url"`
	SecretEnv string `yaml:"secret_env" json:"secret_env"`
}

// Client posts a tenant's ticket events to its webhook.
type Client struct {
	http   *ticket.HTTP
	secret []byte
	tenant tierzero.TenantID
	now    func() time.Time
}

var _ ticket.System = (*Client)(nil)

// New returns the webhook connector of opts.Tenant; the secret is read from
// the environment variable cfg.SecretEnv.
func New(cfg Config, opts ticket.Options) (*Client, error) {
	secret, err := ticket.Env(opts.Getenv, "secret_env", cfg.SecretEnv)
	if err != nil {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", Name, opts.Tenant, err)
	}
	h, err := ticket.NewHTTP(Name, cfg.URL, opts)
	if err != nil {
		return nil, err
	}
	h.Secrets = []string{secret}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Client{http: h, secret: []byte(secret), tenant: opts.Tenant, now: now}, nil
}

// Name returns "webhook".
func (c *Client) Name() string { return Name }

// Event is the body of an outbound request.
type Event struct {
	Event       string               `json:"event"`
	Delivery    string               `json:"delivery"`
	Sent        time.Time            `json:"sent"`
	Tenant      tierzero.TenantID    `json:"tenant"`
	Correlation string               `json:"correlation,omitempty"`
	Ticket      *Ticket              `json:"ticket,omitempty"` // ticket.create
	Ref         *tierzero.TicketRef  `json:"ref,omitempty"`    // note, close
	Note        *tierzero.TicketNote `json:"note,omitempty"`   // note; close's resolution
}

// Ticket is the content of ticket.create: the rendered subject and body, and
// the escalation's parts for a receiver that maps them itself.
type Ticket struct {
	Subject      string                        `json:"subject"`
	Body         string                        `json:"body"`
	Requester    tierzero.Requester            `json:"requester"`
	Conversation tierzero.ConversationID       `json:"conversation"`
	Message      string                        `json:"message,omitempty"`
	Summary      string                        `json:"summary,omitempty"`
	Cause        tierzero.EscalationCause      `json:"cause,omitempty"`
	Reason       string                        `json:"reason,omitempty"`
	Checked      []tierzero.EscalationStep     `json:"checked,omitempty"`
	Tried        []tierzero.EscalationStep     `json:"tried,omitempty"`
	Decisions    []tierzero.EscalationDecision `json:"decisions,omitempty"`
	Transcript   []tierzero.Turn               `json:"transcript,omitempty"`
	Escalated    time.Time                     `json:"escalated"`
	Test         bool                          `json:"test,omitempty"`
}

func content(t tierzero.Ticket) *Ticket {
	e := t.Escalation
	return &Ticket{Subject: ticket.Subject(t), Body: ticket.Body(t), Requester: e.Requester, Conversation: e.Conversation,
		Message: ticket.Message(e), Summary: e.Summary, Cause: e.Cause, Reason: e.Reason, Checked: e.Checked, Tried: e.Tried,
		Decisions: e.Decisions, Transcript: e.Transcript, Escalated: e.Time, Test: t.Test}
}

// Ref is what a receiver answers to ticket.create and ticket.find.
type Ref struct {
	ID     string `json:"id"`
	Number string `json:"number,omitempty"`
	URL    string `json:"url,omitempty"`
}

func (c *Client) post(ctx context.Context, op string, ev Event) (*ticket.Response, error) {
	ev.Sent = c.now().UTC()
	ev.Tenant = c.tenant
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	h := http.Header{}
	h.Set(HeaderSignature, Sign(c.secret, body))
	h.Set(HeaderDelivery, ev.Delivery)
	h.Set(HeaderEvent, ev.Event)
	// The receiver dedupes on the delivery id: every event is safe to
	// send again after a 503.
	return c.http.Do(ctx, ticket.Request{Op: op, Method: http.MethodPost, Body: body, Header: h, Idempotent: true})
}

// Create posts ticket.create; its delivery id is the correlation id, so a
// retry is the same delivery.
func (c *Client) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	if t.Correlation == "" {
		return tierzero.TicketRef{}, tierzero.Errorf(tierzero.EInvalid, "ticket without a correlation id")
	}
	resp, err := c.post(ctx, "create", Event{Event: EventCreate, Delivery: t.Correlation, Correlation: t.Correlation, Ticket: content(t)})
	if err != nil {
		return tierzero.TicketRef{}, err
	}
	return c.ref(resp, t.Correlation, "create")
}

func (c *Client) ref(resp *ticket.Response, correlation, op string) (tierzero.TicketRef, error) {
	var r Ref
	if len(strings.TrimSpace(string(resp.Body))) > 0 {
		if err := resp.JSON(&r); err != nil {
			return tierzero.TicketRef{}, fmt.Errorf("ticket system %s for tenant %s: %s: the answer is not a ticket reference: %w", Name, c.tenant, op, err)
		}
	}
	if r.ID == "" {
		r.ID = correlation // a receiver that keeps no id of its own
	}
	return tierzero.TicketRef{System: Name, ID: r.ID, Number: r.Number, URL: r.URL}, nil
}

// Find posts ticket.find; 404 means there is no such ticket.
func (c *Client) Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error) {
	resp, err := c.post(ctx, "find", Event{Event: EventFind, Delivery: "find-" + correlation + "-" + c.now().UTC().Format("20060102T150405.000000000"), Correlation: correlation})
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.ENotFound {
			return tierzero.TicketRef{}, false, nil
		}
		return tierzero.TicketRef{}, false, err
	}
	ref, err := c.ref(resp, correlation, "find")
	return ref, err == nil, err
}

// Note posts ticket.note; its delivery id is derived from the ticket and the
// note, so the same note sent again is the same delivery.
func (c *Client) Note(ctx context.Context, ref tierzero.TicketRef, n tierzero.TicketNote) error {
	id := deliveryOf("note", ref.ID, fmt.Sprint(n.Public), n.Text)
	_, err := c.post(ctx, "note", Event{Event: EventNote, Delivery: id, Ref: &ref, Note: &n})
	return err
}

// Updates: the webhook's updates are pushed (Receiver).
func (c *Client) Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	return tierzero.TicketUpdate{}, ticket.ErrPushOnly
}

// PushOnly reports that the webhook's updates come by its callbacks: the
// ticket worker never polls it.
func (c *Client) PushOnly() bool { return true }

// Close posts ticket.close with the resolution.
func (c *Client) Close(ctx context.Context, ref tierzero.TicketRef, resolution string) error {
	_, err := c.post(ctx, "close", Event{Event: EventClose, Delivery: deliveryOf("close", ref.ID), Ref: &ref,
		Note: &tierzero.TicketNote{Text: resolution, Public: true}})
	return err
}

func deliveryOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return parts[0] + "-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// Sign returns the X-Tierzero-Signature of body: "sha256=" and the hex
// HMAC-SHA256 of the body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, in constant time.
func Verify(secret, body []byte, header string) bool {
	hexsig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok || len(secret) == 0 {
		return false
	}
	got, err := hex.DecodeString(hexsig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
