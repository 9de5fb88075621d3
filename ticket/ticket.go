// Package ticket hands what tierzero cannot resolve to the MSP's ticketing
// system (ITSM/PSA) and brings the technicians' answers back. It owns the
// one interface every system sits behind (System), the content of a ticket
// built from a tierzero.Escalation (Subject, Body), and the HTTP plumbing
// the connectors share (HTTP: authentication, retries on 429 and 503 with
// Retry-After, errors that name the tenant and the system).
//
// # How a connector plugs in
//
// Each system is one subpackage, ticket/<system> (ticket/webhook,
// ticket/servicenow, ticket/jira, ...), importing only this package, the
// root package and the standard library (or its vendor's SDK). It exports:
//
//   - a Config struct with the system's settings as they appear under a
//     tenant's `ticket:` block (URL, the name of each credential's
//     environment variable, the mapping: company, queue, priority ...);
//   - New(cfg Config, opts ticket.Options) (*Client, error), which reads the
//     credentials from the environment (opts.Getenv), never from the file,
//     and returns a *Client that satisfies System:
//     var _ ticket.System = (*Client)(nil).
//
// The connector builds its requests on an *HTTP (NewHTTP), whose Auth hook
// sets the vendor's credentials on each request (basic, bearer from a token
// endpoint, API key headers) and whose Secrets list is redacted from every
// error. It maps its vendor's states onto tierzero.TicketStatus and stores
// tierzero.Ticket.Correlation where Find can query it (ServiceNow's
// correlation_id, a Jira entity property, a PSA's external reference).
//
// # Exactly once
//
// The caller (package bot's ticket worker) keeps every ticket in a durable
// outbox in the tenant's store and records each attempt before making it.
// A connector's Create must therefore be a single request that either
// opens the ticket or fails; it never retries a create in-line after the
// request may have reached the vendor (a timeout, a 5xx): it returns the
// error, and the worker calls Find with the correlation id before creating
// again. A 429 is safe to retry (nothing was applied); HTTP does it.
// Find must see a ticket as soon as Create's response was sent (query the
// record, not an eventually consistent search index, where the vendor
// offers both).
//
// Tickets never hold a secret: escalations are secret-free by
// construction, and Body adds nothing but what they hold.
package ticket

import (
	"context"
	"time"

	"github.com/tierzero/tierzero"
)

// System is one ticketing system, configured for one tenant.
type System interface {
	// Name is the system's configuration name: "webhook", "servicenow".
	Name() string
	// Create opens a ticket and returns where it is. It makes at most one
	// request that can open a ticket; see the package comment.
	Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error)
	// Find returns the ticket opened for a correlation id, if any.
	Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error)
	// Note adds a note, visible to the requester or internal.
	Note(ctx context.Context, ref tierzero.TicketRef, n tierzero.TicketNote) error
	// Updates returns the ticket's status and the public comments added
	// after cursor ("" for all). A system that pushes its updates (the
	// webhook) returns an error with code tierzero.EInvalid: ErrPushOnly.
	Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error)
	// Close resolves the ticket with a resolution note (`tierzero ticket
	// test` closes its test ticket; resolved requests may be logged so).
	Close(ctx context.Context, ref tierzero.TicketRef, resolution string) error
}

// ErrPushOnly is returned by Updates of a system whose updates come only by
// its own webhook calls.
var ErrPushOnly = tierzero.Errorf(tierzero.EInvalid, "this ticketing system pushes its updates; it is not polled")

// Options are what every connector's New takes besides its own Config.
type Options struct {
	Tenant tierzero.TenantID
	// Getenv reads credentials; os.Getenv when nil.
	Getenv func(string) string
	// Timeout bounds one HTTP request; DefaultTimeout when zero.
	Timeout time.Duration
	// Transport, optional, carries the requests (tests; a proxy).
	Transport HTTPDoer
	// Sleep waits for a Retry-After; a timer honouring ctx when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}
