package tierzero

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Ticket is what the MSP's ticketing system (ITSM/PSA) is asked to open for
// an escalation: the escalation itself, which holds no secret, and our
// correlation id, which is stable across every retry and restart so that a
// ticket is never opened twice (see package ticket).
type Ticket struct {
	// Correlation is our id for the ticket (see TicketCorrelation); the
	// connector stores it in the vendor's correlation field (ServiceNow's
	// correlation_id, a Jira property, ...) so Find can look it up.
	Correlation string     `json:"correlation"`
	Escalation  Escalation `json:"escalation"`
	// Test marks a ticket opened by `tierzero ticket test`, to be closed at
	// once.
	Test bool `json:"test,omitempty"`
}

// TicketCorrelation returns the correlation id of an escalation: a function
// of its tenant, conversation and time, so that the same escalation handed
// over twice names the same ticket. It is short, ASCII and safe in any
// vendor's field and URL: "tz-" and 24 hex digits.
func TicketCorrelation(e Escalation) string {
	h := sha256.New()
	h.Write([]byte(e.Tenant))
	h.Write([]byte{0})
	h.Write([]byte(e.Conversation))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(e.Time.UnixNano(), 10)))
	return "tz-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// TicketRef names a ticket in the vendor's system: ID is what its API
// addresses (a sys_id, an issue key, a number), Number what people read
// and are told (INC0010001, SD-42), URL where a technician opens it.
type TicketRef struct {
	System string `json:"system"`
	ID     string `json:"id"`
	Number string `json:"number,omitempty"`
	URL    string `json:"url,omitempty"`
}

// Label is what the requester is told: the number, else the id.
func (r TicketRef) Label() string {
	if r.Number != "" {
		return r.Number
	}
	return r.ID
}

// TicketNote is a note added to a ticket: Public notes are visible to the
// requester (ServiceNow comments, a Jira public comment), the others to
// technicians only (work notes, internal comments).
type TicketNote struct {
	Text   string `json:"text"`
	Public bool   `json:"public"`
}

// TicketStatus is a ticket's state, normalized across vendors.
type TicketStatus string

// Ticket statuses.
const (
	TicketOpen     TicketStatus = "open"     // new, assigned, in progress
	TicketPending  TicketStatus = "pending"  // waiting on the requester or a third party
	TicketResolved TicketStatus = "resolved" // a technician resolved it
	TicketClosed   TicketStatus = "closed"   // closed or cancelled
)

// Done reports whether the ticket needs no more work (resolved or closed).
func (s TicketStatus) Done() bool { return s == TicketResolved || s == TicketClosed }

// TicketComment is a public comment on a ticket, by a technician.
type TicketComment struct {
	ID     string    `json:"id"`
	Author string    `json:"author,omitempty"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time,omitzero"`
}

// TicketUpdate is what changed on a ticket since a cursor: its status now
// (Vendor is the vendor's own word for it), the public comments added, and
// the cursor to ask from next time. Internal notes are never included.
type TicketUpdate struct {
	Status   TicketStatus    `json:"status,omitempty"`
	Vendor   string          `json:"vendorStatus,omitempty"`
	Comments []TicketComment `json:"comments,omitempty"`
	Cursor   string          `json:"cursor,omitempty"`
}

// TicketState is where the ticket of an escalation is, in the tenant's
// durable ticket outbox.
type TicketState string

// Ticket states.
const (
	// TicketQueued: not opened yet, or not known to be. Attempts > 0 means
	// a create may have reached the vendor: look it up before creating.
	TicketQueued TicketState = "queued"
	// TicketOpened: the vendor has it (Ref); the requester is told its
	// number (Told) and its updates come back.
	TicketOpened TicketState = "opened"
	// TicketFinished: closed or resolved by a technician; kept so a late
	// callback still finds its conversation.
	TicketFinished TicketState = "finished"
)

// TicketRecord is one escalation's ticket as the tenant's store keeps it
// (package store), from the hand-over to the technician's close.
type TicketRecord struct {
	Ticket   Ticket       `json:"ticket"`
	State    TicketState  `json:"state"`
	Attempts int          `json:"attempts,omitempty"`
	Next     time.Time    `json:"next,omitzero"`
	Error    string       `json:"error,omitempty"` // the last failure, secret-free
	Ref      TicketRef    `json:"ref,omitzero"`
	Told     bool         `json:"told,omitempty"`
	Status   TicketStatus `json:"status,omitempty"`
	Cursor   string       `json:"cursor,omitempty"`
	Created  time.Time    `json:"created"`
	Updated  time.Time    `json:"updated,omitzero"`
}

// Correlation is the record's key.
func (r TicketRecord) Correlation() string { return r.Ticket.Correlation }
