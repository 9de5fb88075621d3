package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// TicketSystem is what the ticket worker asks of a tenant's ticketing
// system (a ticket.System: ticket/webhook, ticket/servicenow, ...).
type TicketSystem interface {
	Name() string
	Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error)
	Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error)
}

// TicketPoller is a ticketing system whose status changes and public
// comments are read by polling (a ticket.System's Updates). A system that
// also says PushOnly() true (the webhook: its updates come by callback) is
// never polled.
type TicketPoller interface {
	Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error)
}

// polled reports whether sys's tickets are polled for updates.
func polled(sys TicketSystem) (TicketPoller, bool) {
	if p, ok := sys.(interface{ PushOnly() bool }); ok && p.PushOnly() {
		return nil, false
	}
	p, ok := sys.(TicketPoller)
	return p, ok
}

// TicketStore is the durable ticket outbox in the tenants' files (store.DB).
type TicketStore interface {
	AddTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord) (bool, error)
	PutTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord) error
	Ticket(ctx context.Context, tenant tierzero.TenantID, correlation string) (tierzero.TicketRecord, bool, error)
	Tickets(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.TicketRecord, error)
	// UpdateTicket is PutTicket once per callback delivery id, the check
	// and the write in one transaction.
	UpdateTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord, delivery string, ttl time.Duration) (bool, error)
}

// Notifier tells a requester something in the conversation they wrote in
// (Desk.Tell).
type Notifier interface {
	Tell(ctx context.Context, req tierzero.Requester, conv tierzero.ConversationID, text string)
}

// TicketsConfig wires Tickets.
type TicketsConfig struct {
	Store TicketStore
	// Systems are the tenants' ticketing systems; an escalation of a
	// tenant without one goes to Fallback (LogSink).
	Systems  map[tierzero.TenantID]TicketSystem
	Fallback Escalations
	// LogResolved are the tenants whose requests tierzero resolved are
	// logged as closed tickets (time spent; the category by the
	// connector's rules, cause "resolved"): see Logging.
	LogResolved map[tierzero.TenantID]bool
	// Every is how often the outbox is looked at besides hand-overs
	// (default 30s); MaxBackoff bounds the wait between two attempts
	// (default 10m).
	Every      time.Duration
	MaxBackoff time.Duration
	// PollEvery is how soon an opened ticket of a system without a
	// webhook is polled (default 1m); each poll that brings nothing new,
	// and each failed one, doubles the wait, up to PollMax (default 30m);
	// a change brings it back to PollEvery. A vendor's Retry-After is
	// honoured. The next poll is kept in the ticket's record (Next), so a
	// restart neither loses the backoff nor polls everything at once.
	PollEvery time.Duration
	PollMax   time.Duration
	// Forget, optional, ends the conversation of a ticket a technician
	// closed: it drops what the agent remembers of conv for req, so the
	// requester's next message there starts afresh. It runs while no
	// request of the conversation does (Desk.Hold), before the close is
	// recorded; it may run again after a crash.
	Forget func(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, req tierzero.Requester) error
	// Ticker, optional, makes the worker's timer (tests pass a channel
	// they drive); time.NewTicker by default.
	Ticker func(d time.Duration) (<-chan time.Time, func())
	// DedupeTTL is how long a callback's delivery id is remembered
	// (default 7 days).
	DedupeTTL time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// Tickets is the escalation sink that opens tickets exactly once: Escalate
// puts the escalation in its tenant's durable ticket outbox (once per
// correlation id) and returns; the worker (Open) creates the ticket,
// retrying with backoff (the vendor's Retry-After when it names one) until
// it succeeds. Each attempt is recorded before it is made, so after a
// failure that may have been applied (a timeout, a 5xx) or a crash at any
// point, the ticket is looked up by its correlation id before it is
// created again: never two tickets, never none. The requester is told the
// ticket's number in their thread once it exists; the vendor's status
// changes and public comments reach the same thread, by its webhook
// (Update) or, for a system without one, by polling with backoff (Flush);
// a ticket a technician closes finishes the conversation's ticket and ends
// the conversation (Forget). Resolved requests may be logged as closed
// tickets (Logging).
type Tickets struct {
	cfg TicketsConfig
	log *slog.Logger

	mu     sync.Mutex
	notify Notifier
	opened bool
	stop   chan struct{}
	kick   chan struct{}
	done   sync.WaitGroup
}

// NewTickets returns the sink; nothing runs until Open.
func NewTickets(cfg TicketsConfig) (*Tickets, error) {
	if cfg.Store == nil {
		return nil, errors.New("bot: tickets need a store")
	}
	if cfg.Every <= 0 {
		cfg.Every = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = 7 * 24 * time.Hour
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Minute
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = 30 * time.Minute
	}
	cfg.PollMax = max(cfg.PollMax, cfg.PollEvery)
	if cfg.Ticker == nil {
		cfg.Ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Fallback == nil {
		cfg.Fallback = LogSink{Logger: cfg.Logger}
	}
	return &Tickets{cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), kick: make(chan struct{}, 1)}, nil
}

var _ Escalations = (*Tickets)(nil)

// Attach sets who tells requesters (the desk, made after the agent that
// holds this sink). Without it, nobody is told.
func (t *Tickets) Attach(n Notifier) {
	t.mu.Lock()
	t.notify = n
	t.mu.Unlock()
}

func (t *Tickets) notifier() Notifier {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.notify
}

// Escalate hands e over: durably queued for its tenant's ticketing system
// (it returns once the record is synced), or to Fallback for a tenant
// without one.
func (t *Tickets) Escalate(ctx context.Context, e tierzero.Escalation) error {
	if _, ok := t.cfg.Systems[e.Tenant]; !ok {
		return t.cfg.Fallback.Escalate(ctx, e)
	}
	now := t.cfg.Now()
	r := tierzero.TicketRecord{Ticket: tierzero.Ticket{Correlation: tierzero.TicketCorrelation(e), Escalation: e},
		State: tierzero.TicketQueued, Created: now, Next: now}
	if _, err := t.cfg.Store.AddTicket(ctx, e.Tenant, r); err != nil {
		return fmt.Errorf("queue ticket: %w", err)
	}
	t.Kick()
	return nil
}

// CauseResolved is the escalation cause of a resolved request logged as a
// closed ticket (ticket.CauseResolved).
const CauseResolved tierzero.EscalationCause = "resolved"

// Logging wraps the agent h: a request of a tenant in LogResolved whose
// outcome is resolved is queued, durably and once, as a ticket opened and
// closed at once, with the time it took (its Reason), the message and the
// answer; what failed, waited or was escalated is not logged so. A nil
// Tickets, or one without such a tenant, returns h.
func (t *Tickets) Logging(h Handler) Handler {
	if t == nil || len(t.cfg.LogResolved) == 0 {
		return h
	}
	return logging{t, h}
}

type logging struct {
	t *Tickets
	h Handler
}

func (l logging) Handle(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error) {
	began := l.t.cfg.Now()
	reply, err := l.h.Handle(ctx, msg)
	if err != nil || reply.Outcome.Kind != tierzero.OutcomeResolved || !l.t.cfg.LogResolved[msg.Tenant] {
		return reply, err
	}
	if _, ok := l.t.cfg.Systems[msg.Tenant]; !ok {
		return reply, err
	}
	spent := max(l.t.cfg.Now().Sub(began).Round(time.Second), time.Second)
	at := msg.Time
	if at.IsZero() {
		at = began
	}
	e := tierzero.Escalation{Tenant: msg.Tenant, Conversation: msg.Conversation, Requester: msg.Requester, Time: at,
		Summary: "tierzero resolved this request itself in " + spent.String() + ".",
		Cause:   CauseResolved, Reason: "time spent " + spent.String(),
		Transcript: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: msg.Text, Time: at},
			{Role: tierzero.TurnAssistant, Content: reply.Text, Time: l.t.cfg.Now()}, // never the private notes
		}}
	now := l.t.cfg.Now()
	r := tierzero.TicketRecord{Ticket: tierzero.Ticket{Correlation: tierzero.TicketCorrelation(e), Escalation: e},
		State: tierzero.TicketQueued, Created: now, Next: now}
	if _, qerr := l.t.cfg.Store.AddTicket(context.WithoutCancel(ctx), msg.Tenant, r); qerr != nil {
		l.t.log.Error("queue the resolved request's ticket", "tenant", msg.Tenant, "err", qerr)
		return reply, err
	}
	l.t.Kick()
	return reply, err
}

// logged reports whether r is a resolved request logged as a closed ticket.
func logged(r tierzero.TicketRecord) bool { return r.Ticket.Escalation.Cause == CauseResolved }

// closeLogged closes the ticket of a logged resolved request, with the
// time spent; a failure is tried again with backoff. Its requester is
// never told.
func (t *Tickets) closeLogged(ctx context.Context, sys TicketSystem, r tierzero.TicketRecord) {
	tenant := r.Ticket.Escalation.Tenant
	c, ok := sys.(interface {
		Close(ctx context.Context, ref tierzero.TicketRef, resolution string) error
	})
	if ok {
		err := c.Close(ctx, r.Ref, "Resolved by tierzero: "+r.Ticket.Escalation.Reason+".")
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := min(time.Second<<min(r.Attempts, 12), t.cfg.MaxBackoff)
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(err, &ra) && ra.RetryAfter() > 0 {
				wait = min(ra.RetryAfter(), t.cfg.MaxBackoff)
			}
			r.Attempts++
			r.Next, r.Error, r.Updated = t.cfg.Now().Add(wait), err.Error(), t.cfg.Now()
			t.log.Warn("resolved request's ticket not closed yet; will try again", "tenant", tenant, "ticket", r.Ref.Label(), "wait", wait, "err", err)
			if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), tenant, r); err != nil {
				t.log.Error("record ticket close", "tenant", tenant, "err", err)
			}
			return
		}
	}
	r.State, r.Status, r.Told, r.Error, r.Updated = tierzero.TicketFinished, tierzero.TicketClosed, true, "", t.cfg.Now()
	if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), tenant, r); err != nil {
		t.log.Error("record closed ticket", "tenant", tenant, "err", err)
		return
	}
	t.log.Info("resolved request logged as a closed ticket", "tenant", tenant, "ticket", r.Ref.Label())
}

// Kick makes the worker look at the outbox now.
func (t *Tickets) Kick() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Open starts the worker; Close stops it.
func (t *Tickets) Open(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.opened {
		return errors.New("bot: tickets opened twice")
	}
	t.opened = true
	t.done.Add(1)
	go func() {
		defer t.done.Done()
		work, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		go func() {
			<-t.stop
			cancel()
		}()
		tick, stopTick := t.cfg.Ticker(t.cfg.Every)
		defer stopTick()
		for {
			t.Flush(work)
			select {
			case <-t.stop:
				return
			case <-tick:
			case <-t.kick:
			}
		}
	}()
	return nil
}

// Close stops the worker and waits for it (an attempt in flight is
// cancelled; it is recorded and looked up at the next start).
func (t *Tickets) Close() error {
	t.mu.Lock()
	if !t.opened {
		t.mu.Unlock()
		return nil
	}
	t.opened = false
	close(t.stop)
	t.mu.Unlock()
	t.done.Wait()
	return nil
}

// Flush makes one pass over every tenant's ticket outbox: what is due is
// created (or found), what was opened and not yet told is told, and an
// opened ticket of a polled system whose poll is due (Next) is polled.
func (t *Tickets) Flush(ctx context.Context) {
	for tenant, sys := range t.cfg.Systems {
		recs, err := t.cfg.Store.Tickets(ctx, tenant)
		if err != nil {
			t.log.Warn("read ticket outbox", "tenant", tenant, "err", err)
			continue
		}
		for _, r := range recs {
			if ctx.Err() != nil {
				return
			}
			switch {
			case r.State == tierzero.TicketQueued && !t.cfg.Now().Before(r.Next):
				t.open(ctx, sys, r)
			case r.State == tierzero.TicketOpened && logged(r):
				if !t.cfg.Now().Before(r.Next) {
					t.closeLogged(ctx, sys, r)
				}
			case r.State == tierzero.TicketOpened && !r.Told:
				t.told(ctx, r)
			case r.State == tierzero.TicketOpened && !t.cfg.Now().Before(r.Next):
				if p, ok := polled(sys); ok {
					t.poll(ctx, sys.Name(), p, r)
				}
			}
		}
	}
}

// open creates r's ticket, once: the attempt is recorded first; an earlier
// attempt (which may have been applied) is looked up first.
func (t *Tickets) open(ctx context.Context, sys TicketSystem, r tierzero.TicketRecord) {
	tenant := r.Ticket.Escalation.Tenant
	log := t.log.With("tenant", tenant, "system", sys.Name(), "correlation", r.Correlation())
	var ref tierzero.TicketRef
	found := false
	if r.Attempts > 0 {
		// A system whose search lags behind its creates (Jira's JQL) is
		// asked only once a ticket the last attempt made can be found.
		if ready := r.Updated.Add(findDelay(sys)); t.cfg.Now().Before(ready) {
			r.Next = ready
			if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), tenant, r); err != nil {
				log.Error("record ticket wait", "err", err)
			}
			return
		}
		var err error
		ref, found, err = sys.Find(ctx, r.Correlation())
		if err != nil {
			t.retry(ctx, log, r, err)
			return
		}
	}
	if !found {
		r.Attempts++
		r.Updated = t.cfg.Now()
		if err := t.cfg.Store.PutTicket(ctx, tenant, r); err != nil {
			log.Error("record ticket attempt", "err", err)
			return // not attempted: the record would not say so
		}
		var err error
		ref, err = sys.Create(ctx, r.Ticket)
		if err != nil {
			t.retry(ctx, log, r, err)
			return
		}
	}
	r.State, r.Ref, r.Error, r.Updated, r.Status = tierzero.TicketOpened, ref, "", t.cfg.Now(), tierzero.TicketOpen
	if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), tenant, r); err != nil {
		// The next pass finds it by its correlation id.
		log.Error("record opened ticket", "ticket", ref.Label(), "err", err)
		return
	}
	log.Info("ticket opened", "ticket", ref.Label(), "attempts", r.Attempts, "found", found)
	if logged(r) {
		t.closeLogged(ctx, sys, r)
		return
	}
	t.told(ctx, r)
}

// findDelay is how long after a create the system's Find is sure to see
// the ticket: FindDelay() of a system that has one (an eventually
// consistent search), else 0.
func findDelay(sys TicketSystem) time.Duration {
	if f, ok := sys.(interface{ FindDelay() time.Duration }); ok {
		return f.FindDelay()
	}
	return 0
}

// retry records a failed attempt and when to try again: the vendor's
// Retry-After, else an exponential backoff.
func (t *Tickets) retry(ctx context.Context, log *slog.Logger, r tierzero.TicketRecord, cause error) {
	wait := time.Second << min(r.Attempts, 12)
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(cause, &ra) && ra.RetryAfter() > 0 {
		wait = ra.RetryAfter()
	}
	wait = min(wait, t.cfg.MaxBackoff)
	r.Next, r.Error, r.Updated = t.cfg.Now().Add(wait), cause.Error(), t.cfg.Now()
	level := slog.LevelWarn
	if tierzero.ErrorCode(cause) == tierzero.EUnauthorized {
		level = slog.LevelError // the MSP must fix the credentials
	}
	log.Log(ctx, level, "ticket not opened yet; will try again", "attempts", r.Attempts, "wait", wait, "err", cause)
	if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), r.Ticket.Escalation.Tenant, r); err != nil {
		log.Error("record ticket retry", "err", err)
	}
}

// told tells the requester the ticket's number, and records it.
func (t *Tickets) told(ctx context.Context, r tierzero.TicketRecord) {
	n := t.notifier()
	if n == nil {
		return
	}
	e := r.Ticket.Escalation
	text := "Your request is now ticket " + r.Ref.Label() + " with IT support."
	if r.Ref.URL != "" {
		text += " " + r.Ref.URL
	}
	text += " I'll pass on their updates here."
	n.Tell(ctx, e.Requester, e.Conversation, text)
	r.Told, r.Updated = true, t.cfg.Now()
	if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), e.Tenant, r); err != nil {
		t.log.Error("record ticket told", "tenant", e.Tenant, "err", err)
	}
}

// poll reads what changed on r's ticket since its cursor and passes it on
// (apply); a failure waits, as an idle poll does, longer each time.
func (t *Tickets) poll(ctx context.Context, system string, p TicketPoller, r tierzero.TicketRecord) {
	tenant := r.Ticket.Escalation.Tenant
	u, err := p.Updates(ctx, r.Ref, r.Cursor)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: polled again at the next start
		}
		wait := t.pollWait(r, false)
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			wait = max(wait, ra.RetryAfter())
		}
		level := slog.LevelWarn
		if tierzero.ErrorCode(err) == tierzero.EUnauthorized {
			level = slog.LevelError // the MSP must fix the credentials
		}
		t.log.Log(ctx, level, "ticket not polled; will try again", "tenant", tenant, "system", system,
			"ticket", r.Ref.Label(), "wait", wait, "err", err)
		now := t.cfg.Now()
		r.Next, r.Error, r.Updated = now.Add(wait), err.Error(), now
		if err := t.cfg.Store.PutTicket(context.WithoutCancel(ctx), tenant, r); err != nil {
			t.log.Error("record ticket poll", "tenant", tenant, "err", err)
		}
		return
	}
	if err := t.apply(ctx, r, u, true, ""); err != nil {
		t.log.Error("ticket poll", "tenant", tenant, "system", system, "ticket", r.Ref.Label(), "err", err)
	}
}

// pollWait is how long after a poll of r the next one is: PollEvery after
// a change, else twice the last wait (the record's Next less its Updated,
// both set by the last poll), within PollEvery and PollMax.
func (t *Tickets) pollWait(r tierzero.TicketRecord, changed bool) time.Duration {
	if changed {
		return t.cfg.PollEvery
	}
	return min(t.cfg.PollMax, max(t.cfg.PollEvery, 2*r.Next.Sub(r.Updated)))
}

// Update brings a ticket's update (a vendor's webhook, a poll) to its
// requester's conversation, once per delivery id: public comments as
// they were written, a status change in plain words. A ticket resolved or
// closed by a technician is finished: the requester is told, and nothing
// more is passed on. An unknown correlation id is an ENotFound error.
func (t *Tickets) Update(ctx context.Context, tenant tierzero.TenantID, delivery, correlation string, u tierzero.TicketUpdate) error {
	r, ok, err := t.cfg.Store.Ticket(ctx, tenant, correlation)
	if err != nil {
		return fmt.Errorf("ticket update: %w", err)
	}
	if !ok {
		return tierzero.Errorf(tierzero.ENotFound, "no ticket %s in tenant %s", correlation, tenant)
	}
	if r.State == tierzero.TicketFinished {
		return nil
	}
	return t.apply(ctx, r, u, false, delivery)
}

// apply passes u on to r's requester and records it (a poll also records
// when to poll next); a ticket now done is finished and its conversation
// ended (Forget). The record is stored before the requester is told:
// after a crash between the two, the update is not told twice. A callback's
// update (delivery) is recorded with its delivery id, in one transaction:
// one delivered before is not told again, and one whose record could not
// be written is not taken as delivered, so the retry the error asks for is
// applied.
func (t *Tickets) apply(ctx context.Context, r tierzero.TicketRecord, u tierzero.TicketUpdate, polling bool, delivery string) error {
	tenant := r.Ticket.Escalation.Tenant
	label := r.Ref.Label()
	if label == "" {
		label = "your ticket"
	}
	var lines []string
	for _, c := range u.Comments {
		// A technician's text is shown as text: the channel's responder
		// escapes mentions and links; control characters go here.
		text := strings.TrimSpace(tierzero.Printable(tierzero.Clip(c.Text, 4000)))
		if text == "" {
			continue
		}
		who := "IT support"
		if c.Author != "" {
			who = tierzero.PrintableLine(tierzero.Clip(c.Author, 100))
		}
		lines = append(lines, fmt.Sprintf("Update on ticket %s from %s: %s", label, who, text))
	}
	changed := len(lines) > 0 || (u.Cursor != "" && u.Cursor != r.Cursor)
	if u.Status != "" && u.Status != r.Status {
		changed = true
		switch u.Status {
		case tierzero.TicketResolved, tierzero.TicketClosed:
			lines = append(lines, fmt.Sprintf("Ticket %s was %s by IT support. If the problem comes back, just write here again.", label, u.Status))
		case tierzero.TicketPending:
			lines = append(lines, fmt.Sprintf("Ticket %s is waiting on you or a third party; IT support may ask you for something.", label))
		case tierzero.TicketOpen:
			if r.Status.Done() {
				lines = append(lines, fmt.Sprintf("Ticket %s was reopened.", label))
			}
		}
		r.Status = u.Status
	}
	if u.Cursor != "" {
		r.Cursor = u.Cursor
	}
	if r.Status.Done() {
		r.State = tierzero.TicketFinished
		t.end(ctx, r)
	}
	now := t.cfg.Now()
	if polling {
		r.Next, r.Error = now.Add(t.pollWait(r, changed)), ""
	}
	r.Updated = now
	if delivery != "" {
		first, err := t.cfg.Store.UpdateTicket(ctx, tenant, r, "ticket:"+delivery, t.cfg.DedupeTTL)
		if err != nil {
			return fmt.Errorf("ticket update: %w", err)
		}
		if !first {
			return nil
		}
	} else if err := t.cfg.Store.PutTicket(ctx, tenant, r); err != nil {
		return fmt.Errorf("ticket update: %w", err)
	}
	if n := t.notifier(); n != nil && len(lines) > 0 {
		e := r.Ticket.Escalation
		n.Tell(ctx, e.Requester, e.Conversation, strings.Join(lines, "\n"))
	}
	return nil
}

// end ends the conversation of r's escalation (Forget), while no request
// of it runs.
func (t *Tickets) end(ctx context.Context, r tierzero.TicketRecord) {
	if t.cfg.Forget == nil {
		return
	}
	e := r.Ticket.Escalation
	home := cmp.Or(e.Requester.Tenant, e.Tenant)
	if h, ok := t.notifier().(interface {
		Hold(tierzero.TenantID, tierzero.ConversationID) func()
	}); ok {
		defer h.Hold(home, e.Conversation)()
	}
	if err := t.cfg.Forget(context.WithoutCancel(ctx), home, e.Conversation, e.Requester); err != nil {
		t.log.Error("end the conversation of a closed ticket", "tenant", home, "ticket", r.Ref.Label(), "err", err)
	}
}

// Hold waits until no request of conversation conv of tenant runs and
// keeps it so until the returned func is called (the ticket worker ends a
// closed ticket's conversation so).
func (d *Desk) Hold(tenant tierzero.TenantID, conv tierzero.ConversationID) func() {
	return d.locks.lock(laneKey{tenant, conv})
}

// Tell sends text to req in the conversation conv they wrote in (its
// channel's reference kept by the desk), through the durable outbox.
func (d *Desk) Tell(ctx context.Context, req tierzero.Requester, conv tierzero.ConversationID, text string) {
	home := req.Tenant
	o := tierzero.Outbound{Tenant: home, Channel: req.Channel, Conversation: conv, To: req, Text: text}
	if ref, ok, err := d.cfg.Store.Ref(ctx, home, refKey(o.Channel, o.Conversation)); err == nil && ok {
		o.Ref = ref
	}
	d.send(context.WithoutCancel(ctx), o)
}
