package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tierzero/tierzero"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultWorkers    = 8
	DefaultDedupeTTL  = 24 * time.Hour
	DefaultSweepEvery = time.Minute
	DefaultRemind     = 2 * time.Hour
	DefaultOutboxTTL  = 24 * time.Hour
	// MaxInboundBytes bounds the text of one inbound message the desk
	// keeps; the agent answers anything over its own, smaller limit.
	MaxInboundBytes = 64 << 10
)

// Config wires a Desk.
type Config struct {
	Store     Store
	Agent     Handler
	Guard     Guard
	Directory Directory
	Staff     Staff
	// Reach, optional, says where technicians act (approval requests are
	// shown to admitted technicians; a technician's session sweeps there).
	Reach Reach
	// Responders deliver on each channel; a message for a channel without
	// one waits in the outbox for a process that has it.
	Responders map[tierzero.Channel]Responder
	Observer   Observer // optional
	// Check, optional, probes one client tenant's Graph credentials at
	// Open; a failure is reported by Problems (and /readyz) and does not
	// stop the other tenants.
	Check func(ctx context.Context, tenant tierzero.TenantID) error

	Workers    int           // requests handled at once, default 8
	DedupeTTL  time.Duration // how long a delivery id is remembered, default 24h
	SweepEvery time.Duration // approval sweeps and delivery retries, default 1m
	Remind     time.Duration // remind approvers this long before expiry, default 2h
	OutboxTTL  time.Duration // give up delivering after, default 24h
	// Ticker, optional, makes the sweep timer (tests pass a channel they
	// drive); time.NewTicker by default.
	Ticker func(d time.Duration) (<-chan time.Time, func())
	Now    func() time.Time
	Logger *slog.Logger
}

// Desk is the conversation engine. Open starts its background work; Close
// stops it.
type Desk struct {
	cfg Config
	log *slog.Logger
	obs Observer

	sched *sched
	locks locks

	mu         sync.Mutex
	responders map[tierzero.Channel]Responder
	opened     bool
	closing    bool
	problems   map[tierzero.TenantID]string
	ready      atomic.Bool
	readyc     chan struct{} // closed when ready

	work       context.Context // cancelled when Close runs out of time
	cancelWork context.CancelFunc
	stop       chan struct{}
	kick       chan struct{}
	workers    sync.WaitGroup
	background sync.WaitGroup
}

// New returns a Desk; nothing runs until Open.
func New(cfg Config) (*Desk, error) {
	if cfg.Store == nil || cfg.Agent == nil || cfg.Guard == nil || cfg.Directory == nil {
		return nil, errors.New("bot: store, agent, guard and directory are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = DefaultDedupeTTL
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = DefaultSweepEvery
	}
	if cfg.Remind <= 0 {
		cfg.Remind = DefaultRemind
	}
	if cfg.OutboxTTL <= 0 {
		cfg.OutboxTTL = DefaultOutboxTTL
	}
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
	d := &Desk{cfg: cfg, log: cfg.Logger, obs: cfg.Observer, sched: newSched(), problems: map[tierzero.TenantID]string{},
		stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	if d.obs == nil {
		d.obs = nopObserver{}
	}
	d.responders = map[tierzero.Channel]Responder{}
	for ch, r := range cfg.Responders {
		d.responders[ch] = r
	}
	d.readyc = make(chan struct{})
	d.work, d.cancelWork = context.WithCancel(context.Background())
	return d, nil
}

// Register adds the responder of a channel (a console started after the
// desk was wired, an adapter of serve).
func (d *Desk) Register(ch tierzero.Channel, r Responder) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.responders[ch] = r
}

func (d *Desk) responder(ch tierzero.Channel) (Responder, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.responders[ch]
	return r, ok
}

// WaitReady waits until Ready, or ctx is done.
func (d *Desk) WaitReady(ctx context.Context) error {
	select {
	case <-d.readyc:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open starts the background work: reconciliation of every tenant's
// unfinished actions, then the inbox left by an earlier process (requests
// it had begun are settled, not run again; the others run), the workers, and
// the timer of approval sweeps and delivery retries. Submit accepts
// messages at once; they run once reconciliation is done (see Ready).
func (d *Desk) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opened || d.closing {
		return errors.New("bot: desk opened twice")
	}
	d.opened = true
	d.background.Add(1)
	go func() {
		defer d.background.Done()
		d.start()
		for range d.cfg.Workers {
			d.workers.Add(1)
			go d.worker()
		}
		d.ready.Store(true)
		close(d.readyc)
		d.loop()
	}()
	return nil
}

// Ready reports whether reconciliation at start is done and requests run.
func (d *Desk) Ready() bool { return d.ready.Load() }

// Problems returns what is wrong with some tenants (their Graph
// credentials), by tenant; the others work.
func (d *Desk) Problems() map[tierzero.TenantID]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[tierzero.TenantID]string, len(d.problems))
	for k, v := range d.problems {
		out[k] = v
	}
	return out
}

// Close stops intake at once, lets the requests that are running finish
// until ctx is done (then cancels them: each still records its outcome),
// and stops the background work. Requests still queued stay in the durable
// inbox and run at the next Open. The stores are the caller's to close
// after.
func (d *Desk) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return nil
	}
	d.closing = true
	opened := d.opened
	d.mu.Unlock()
	d.sched.close()
	close(d.stop)
	if !opened {
		d.cancelWork()
		return nil
	}
	done := make(chan struct{})
	go func() {
		d.background.Wait()
		d.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		d.cancelWork()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			err = errors.New("bot: requests still running after their deadline")
		}
		if err == nil {
			err = fmt.Errorf("bot: close: running requests cancelled: %w", ctx.Err())
		}
	}
	d.cancelWork()
	return err
}

func (d *Desk) isClosing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}

// tenants is every tenant the desk serves or has a file of.
func (d *Desk) tenants() []tierzero.TenantID {
	st := d.cfg.Staff
	out := slices.Clone(st.Clients)
	if st.Home != "" {
		out = append(out, st.Home)
	}
	if have, err := d.cfg.Store.Tenants(); err == nil {
		out = append(out, have...)
	} else {
		d.log.Warn("list tenant files", "err", err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// start reconciles every tenant and takes up the inbox an earlier process
// left, for the channels this process serves.
func (d *Desk) start() {
	ctx := d.work
	for _, t := range d.cfg.Staff.Clients {
		if d.cfg.Check == nil {
			break
		}
		if err := d.cfg.Check(ctx, t); err != nil {
			d.log.Error("tenant credentials", "tenant", t, "err", err)
			d.mu.Lock()
			d.problems[t] = err.Error() // for the operator: names what to fix, never a secret
			d.mu.Unlock()
		}
	}
	for _, t := range d.tenants() {
		review, err := d.cfg.Guard.Reconcile(ctx, t)
		if err != nil {
			d.log.Error("reconcile", "tenant", t, "err", err)
		}
		for _, in := range review {
			d.log.Warn("needs review", "tenant", t, "tool", in.Action, "requester", in.Requester,
				"started", in.Started, "detail", in.Detail)
		}
		d.resumePlans(ctx, t) // lifecycle.go: after reconciliation, so a step in flight is settled
		items, err := d.cfg.Store.Inbox(ctx, t)
		if err != nil {
			d.log.Error("read inbox", "tenant", t, "err", err)
			continue
		}
		for _, it := range items {
			if _, ok := d.responder(it.Inbound.Channel); !ok {
				continue // another process's channel (serve's Slack, say): left for it
			}
			if !it.Started.IsZero() {
				d.interrupted(ctx, it)
				continue
			}
			d.obs.QueueDepth(d.sched.push(it))
		}
	}
}

// interrupted settles a request an earlier process began and did not
// finish: it is not run again (what it had started is reconciled), and
// its requester is told.
func (d *Desk) interrupted(ctx context.Context, it tierzero.InboxItem) {
	in := it.Inbound
	ev := tierzero.AuditEvent{Kind: tierzero.AuditError, Conversation: in.Conversation, Channel: in.Channel,
		Requester: in.User.UPN, Error: "interrupted: the process stopped while this message was being handled; it was not run again"}
	if err := d.cfg.Store.Append(ctx, in.Tenant, ev); err != nil {
		d.log.Error("audit interrupted request", "tenant", in.Tenant, "err", err)
		return // stays in the inbox: settled at the next start
	}
	text := "I was interrupted while working on your message (\"" + tierzero.Clip(strings.Join(strings.Fields(in.Text), " "), 80) + "\"). Anything I had started was checked and recorded, and nothing will be repeated on its own: tell me again if it still needs doing."
	d.send(ctx, tierzero.Outbound{Tenant: in.Tenant, Channel: in.Channel, Conversation: in.Conversation, Ref: in.Ref,
		To: tierzero.Requester{Tenant: in.Tenant, UPN: in.User.UPN, ObjectID: in.User.ObjectID, Channel: in.Channel}, Text: text})
	if err := d.cfg.Store.FinishInbox(ctx, in.Tenant, it.Seq); err != nil {
		d.log.Error("finish inbox item", "tenant", in.Tenant, "err", err)
	}
}

// loop runs the approval sweeps and delivery retries until Close.
func (d *Desk) loop() {
	tick, stop := d.cfg.Ticker(d.cfg.SweepEvery)
	defer stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tick:
			d.Sweep(d.work)
			d.retry(d.work)
		case <-d.kick:
			d.retry(d.work)
		}
	}
}

// Sweep settles every tenant's approvals over time: reminders before they
// expire, expiries after.
func (d *Desk) Sweep(ctx context.Context) {
	for _, t := range d.tenants() {
		if err := d.cfg.Guard.Sweep(ctx, t, d.cfg.Remind); err != nil {
			d.log.Warn("sweep approvals", "tenant", t, "err", err)
		}
	}
}

// Receipt says what Submit did with a message.
type Receipt struct {
	Seq       uint64 // its place in the tenant's inbox
	Duplicate bool   // the delivery id was seen before: nothing was queued
}

// Submit takes a verified message from a webhook: it dedupes the delivery
// id and keeps the message in the tenant's durable inbox (one synced
// transaction), queues it, and returns, so the adapter can ack at once. The
// work runs later, exactly once, also across a restart.
func (d *Desk) Submit(ctx context.Context, in tierzero.Inbound) (Receipt, error) {
	if d.isClosing() {
		d.obs.Inbound(in.Channel, "unavailable")
		return Receipt{}, tierzero.Errorf(tierzero.EUnavailable, "tierzero is shutting down; try again shortly")
	}
	if err := d.valid(&in); err != nil {
		d.obs.Inbound(in.Channel, "refused")
		return Receipt{}, err
	}
	it, first, err := d.cfg.Store.Accept(ctx, in.Tenant, in, d.cfg.DedupeTTL)
	if err != nil {
		d.obs.Inbound(in.Channel, "error")
		return Receipt{}, fmt.Errorf("accept message: %w", err)
	}
	if !first {
		d.obs.Inbound(in.Channel, "duplicate")
		return Receipt{Duplicate: true}, nil
	}
	d.obs.Inbound(in.Channel, "accepted")
	d.obs.QueueDepth(d.sched.push(it))
	return Receipt{Seq: it.Seq}, nil
}

// valid checks what every inbound message must have.
func (d *Desk) valid(in *tierzero.Inbound) error {
	if err := tierzero.ValidTenantID(in.Tenant); err != nil {
		return err
	}
	if !d.cfg.Staff.Known(in.Tenant) {
		return tierzero.Errorf(tierzero.ENotFound, "unknown tenant %s", in.Tenant)
	}
	switch {
	case in.Channel == "":
		return tierzero.Errorf(tierzero.EInvalid, "the message names no channel")
	case in.Conversation == "" || len(in.Conversation) > 1024:
		return tierzero.Errorf(tierzero.EInvalid, "the message names no conversation, or too long a one")
	case len(in.Delivery) > 1024:
		return tierzero.Errorf(tierzero.EInvalid, "the delivery id is too long")
	case len(in.Text) > MaxInboundBytes:
		return tierzero.Errorf(tierzero.EInvalid, "the message is too large (%d bytes; the limit is %d)", len(in.Text), MaxInboundBytes)
	case len(in.Ref) > 16<<10:
		return tierzero.Errorf(tierzero.EInvalid, "the conversation reference is too large")
	}
	if in.Time.IsZero() {
		in.Time = d.cfg.Now()
	}
	return nil
}

func (d *Desk) worker() {
	defer d.workers.Done()
	for {
		l, it, ok := d.sched.next()
		if !ok {
			return
		}
		d.run(it)
		d.obs.QueueDepth(d.sched.done(l))
	}
}

// run does the work of one inbox item, once: it is marked started before
// anything happens, and removed when it is done.
func (d *Desk) run(it tierzero.InboxItem) {
	in := it.Inbound
	// One unit of work: what the request writes is committed with its
	// intents and before its reply is delivered (answer), not record by
	// record.
	ctx, commit := tierzero.BeginUnit(d.work)
	defer func() {
		if err := commit(context.WithoutCancel(ctx)); err != nil {
			d.log.Error("commit the request's records", "tenant", in.Tenant, "seq", it.Seq, "err", err)
		}
	}()
	unlock := d.locks.lock(laneKey{in.Tenant, in.Conversation})
	defer unlock()
	if err := d.cfg.Store.StartInbox(ctx, in.Tenant, it.Seq, d.cfg.Now()); err != nil {
		if c := tierzero.ErrorCode(err); c != tierzero.EConflict && c != tierzero.ENotFound {
			d.log.Error("start inbox item", "tenant", in.Tenant, "seq", it.Seq, "err", err)
		}
		return // done or begun by another: never twice
	}
	d.answer(ctx, in, requestID(in, it.Seq))
	if err := d.cfg.Store.FinishInbox(context.WithoutCancel(ctx), in.Tenant, it.Seq); err != nil {
		d.log.Error("finish inbox item", "tenant", in.Tenant, "seq", it.Seq, "err", err)
	}
}

func requestID(in tierzero.Inbound, seq uint64) string {
	if in.Delivery != "" {
		return in.Delivery
	}
	return string(in.Tenant) + "-" + strconv.FormatUint(seq, 10)
}

// Handle answers a message synchronously (the console, eval), one at a
// time per conversation like the workers, and delivers the reply through
// the channel's responder. It returns the reply as delivered, with its
// Outcome: the agent's, or, for a requester the desk does not serve,
// refused with tierzero.RuleIdentity.
func (d *Desk) Handle(ctx context.Context, in tierzero.Inbound) (tierzero.Reply, error) {
	if d.isClosing() {
		return tierzero.Reply{}, tierzero.Errorf(tierzero.EUnavailable, "tierzero is shutting down")
	}
	if err := d.valid(&in); err != nil {
		return tierzero.Reply{}, err
	}
	d.obs.Inbound(in.Channel, "accepted")
	unlock := d.locks.lock(laneKey{in.Tenant, in.Conversation})
	defer unlock()
	ctx, commit := tierzero.BeginUnit(ctx)
	defer func() {
		if err := commit(context.WithoutCancel(ctx)); err != nil {
			d.log.Error("commit the request's records", "tenant", in.Tenant, "err", err)
		}
	}()
	id := in.Delivery
	if id == "" {
		id = newID()
	}
	return d.answer(ctx, in, id), nil
}

// answer identifies the requester, asks the agent and delivers the reply.
func (d *Desk) answer(ctx context.Context, in tierzero.Inbound, id string) tierzero.Reply {
	began := d.cfg.Now()
	log := d.log.With("request", id, "tenant", in.Tenant, "channel", in.Channel)
	to := Address{Tenant: in.Tenant, Channel: in.Channel, Conversation: in.Conversation, Ref: in.Ref}
	d.remember(ctx, refKey(in.Channel, in.Conversation), in.Tenant, in)
	req, err := d.Identify(ctx, in.Tenant, in.Channel, in.User)
	if err != nil {
		log.Info("identity refused", "err", err)
		text := "Sorry, I can't help you here: " + strings.TrimSuffix(tierzero.ErrorMessage(err), ".") + "."
		outcome := tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleIdentity, Reason: tierzero.ErrorMessage(err)}
		if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
			// Not a refusal: the request failed, and has no outcome.
			text, outcome = "Sorry, I could not check who you are right now. Please try again in a few minutes.", tierzero.Outcome{}
		}
		if aerr := d.cfg.Store.Append(ctx, in.Tenant, tierzero.AuditEvent{Kind: tierzero.AuditError, Conversation: in.Conversation,
			Channel: in.Channel, Requester: in.User.UPN, Error: "identity: " + tierzero.ErrorMessage(err)}); aerr != nil {
			log.Error("audit identity refusal", "err", aerr)
		}
		to.To = tierzero.Requester{Tenant: in.Tenant, UPN: in.User.UPN, Channel: in.Channel}
		reply := tierzero.Reply{Text: text, Outcome: outcome}
		if err := tierzero.CommitUnit(context.WithoutCancel(ctx)); err != nil {
			log.Error("commit the request's records", "err", err)
		}
		d.deliver(ctx, to, reply)
		d.obs.Handled(in.Channel, "refused", d.cfg.Now().Sub(began))
		return reply
	}
	to.To = req
	d.remember(ctx, userKey(in.Channel, req.UPN), in.Tenant, in)
	msg := tierzero.Message{ID: id, Tenant: in.Tenant, Conversation: in.Conversation, Requester: req, Text: in.Text, Time: in.Time}
	reply, err := d.cfg.Agent.Handle(ctx, msg)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		log.Error("handle message", "err", err)
		// What already ran may have produced a secret: it is delivered.
		reply.Text = "Sorry, I could not finish that safely: " + strings.TrimSuffix(tierzero.ErrorMessage(err), ".") + "."
		if len(reply.Private) == 0 {
			reply.Text += " Nothing was changed."
		}
	}
	// What the request wrote is durable before its reply is delivered.
	// A reply is delivered even so: what ran may have made a secret.
	if err := tierzero.CommitUnit(context.WithoutCancel(ctx)); err != nil {
		log.Error("commit the request's records", "err", err)
	}
	d.deliver(ctx, to, reply)
	d.obs.Handled(in.Channel, outcome, d.cfg.Now().Sub(began))
	return reply
}

// remember keeps the channel's reference of where a message came from, so
// that outcomes can reach it later.
func (d *Desk) remember(ctx context.Context, key string, tenant tierzero.TenantID, in tierzero.Inbound) {
	if len(in.Ref) == 0 {
		return
	}
	if err := d.cfg.Store.PutRef(ctx, tenant, key, in.Ref); err != nil {
		d.log.Warn("keep conversation reference", "tenant", tenant, "err", err)
	}
}

func refKey(ch tierzero.Channel, conv tierzero.ConversationID) string {
	return "conv:" + string(ch) + ":" + string(conv)
}

func userKey(ch tierzero.Channel, upn string) string {
	return "user:" + string(ch) + ":" + strings.ToLower(upn)
}

// deliver sends a reply: the private notes first, so the public text that
// says "delivered privately" is true when it appears.
func (d *Desk) deliver(ctx context.Context, to Address, reply tierzero.Reply) {
	for _, n := range reply.Private {
		d.send(ctx, tierzero.Outbound{Tenant: to.Tenant, Channel: to.Channel, Conversation: to.Conversation, Ref: to.Ref, To: n.To, Secret: n.Secret})
	}
	if reply.Text != "" {
		d.send(ctx, tierzero.Outbound{Tenant: to.Tenant, Channel: to.Channel, Conversation: to.Conversation, Ref: to.Ref, To: to.To, Text: reply.Text})
	}
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
