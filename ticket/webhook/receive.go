package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// Callback events, posted back by the MSP's side.
const (
	EventStatus  = "ticket.status"  // the status changed
	EventComment = "ticket.comment" // a public comment was added
)

// DefaultWindow is how far a callback's "sent" time may be from tierzero's
// clock.
const DefaultWindow = 5 * time.Minute

// MaxCallbackBytes bounds a callback's body.
const MaxCallbackBytes = 64 << 10

// Callback is the body of an inbound request: a status change or a public
// comment on the ticket opened for Correlation. Internal notes are not
// sent back (a receiver that sends one anyway is ignored: Public must be
// true for a comment to reach the requester).
type Callback struct {
	Event string `json:"event"`
	// Delivery repeats X-Tierzero-Delivery inside the signed body, so that
	// a captured callback cannot be posted again under a new delivery id.
	Delivery    string                  `json:"delivery"`
	Sent        time.Time               `json:"sent"`
	Correlation string                  `json:"correlation"`
	Ticket      *Ref                    `json:"ticket,omitempty"`
	Status      tierzero.TicketStatus   `json:"status,omitempty"`
	Vendor      string                  `json:"vendorStatus,omitempty"`
	Comment     *tierzero.TicketComment `json:"comment,omitempty"`
	Public      *bool                   `json:"public,omitempty"`
}

// Update returns the callback as a tierzero.TicketUpdate.
func (c Callback) Update() tierzero.TicketUpdate {
	u := tierzero.TicketUpdate{Status: c.Status, Vendor: c.Vendor}
	if c.Comment != nil && c.Comment.Text != "" && (c.Public == nil || *c.Public) {
		u.Comments = []tierzero.TicketComment{*c.Comment}
	}
	return u
}

// Receiver is the http.Handler of POST /ticket/webhook/<tenant>: it
// verifies the signature with the tenant's secret (constant time), refuses
// a callback sent outside Window (a replay of an old one), and hands it to
// Deliver, which takes each delivery id once.
type Receiver struct {
	// Secret returns the webhook secret of a tenant whose ticket system is
	// the webhook; false for any other tenant.
	Secret func(tenant tierzero.TenantID) ([]byte, bool)
	// Deliver brings the update to the requester's conversation, once per
	// delivery id (a delivery seen before is not an error: it is answered
	// 200 as the first time). An error is answered 503 (404 for an unknown
	// correlation id), and the MSP's side posts again.
	Deliver func(ctx context.Context, tenant tierzero.TenantID, delivery, correlation string, u tierzero.TicketUpdate) error
	Window  time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Prefix is the path the Receiver serves under; the tenant follows.
const Prefix = "/ticket/webhook/"

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := rc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if rc.Now != nil {
		now = rc.Now
	}
	window := rc.Window
	if window <= 0 {
		window = DefaultWindow
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tenant := tierzero.TenantID(strings.TrimPrefix(r.URL.Path, Prefix))
	secret, ok := []byte(nil), false
	if tierzero.ValidTenantID(tenant) == nil {
		secret, ok = rc.Secret(tenant)
	}
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCallbackBytes))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !Verify(secret, body, r.Header.Get(HeaderSignature)) {
		log.Warn("ticket callback: bad signature", "tenant", tenant)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	delivery := r.Header.Get(HeaderDelivery)
	if delivery == "" || len(delivery) > 200 {
		http.Error(w, "missing "+HeaderDelivery, http.StatusBadRequest)
		return
	}
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil || cb.Correlation == "" {
		http.Error(w, "not a ticket callback", http.StatusBadRequest)
		return
	}
	if cb.Delivery != delivery {
		log.Warn("ticket callback: the delivery id is not the signed one", "tenant", tenant)
		http.Error(w, "the "+HeaderDelivery+" header must equal the signed body's delivery", http.StatusUnauthorized)
		return
	}
	if cb.Sent.IsZero() || cb.Sent.Sub(now()).Abs() > window {
		log.Warn("ticket callback: outside the replay window", "tenant", tenant, "sent", cb.Sent)
		http.Error(w, "sent time outside the replay window", http.StatusUnauthorized)
		return
	}
	switch cb.Event {
	case EventStatus, EventComment:
	default:
		http.Error(w, "unknown event", http.StatusBadRequest)
		return
	}
	switch cb.Status {
	case "", tierzero.TicketOpen, tierzero.TicketPending, tierzero.TicketResolved, tierzero.TicketClosed:
	default:
		http.Error(w, "unknown status", http.StatusBadRequest)
		return
	}
	if err := rc.Deliver(r.Context(), tenant, delivery, cb.Correlation, cb.Update()); err != nil {
		code := http.StatusServiceUnavailable
		if tierzero.ErrorCode(err) == tierzero.ENotFound {
			code = http.StatusNotFound
		}
		log.Warn("ticket callback: deliver", "tenant", tenant, "err", err)
		http.Error(w, tierzero.ErrorMessage(err), code)
		return
	}
	w.WriteHeader(http.StatusOK)
}
