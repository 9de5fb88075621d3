package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/web"
)

// serve's baseline drift watch (docs/baseline.md): every
// baseline.drift_interval, each client tenant is read and planned against
// its baseline (the read-only baseline plan). Drift that differs from what
// was last reported for the tenant is new: it is recorded in the tenant's
// audit trail (an event of kind baseline_drift with the items, read back at
// start, so a restart does not report it again), shown on the console's
// tenants page, told to the MSP's technicians in chat and, when
// baseline.ticket and the tenant has a ticketing system, made a ticket.
// A tenant back in line is recorded so too, and clears it. Items that await
// the enable phase (awaiting: report-only policies to switch on, and
// security defaults to turn off with them, while security defaults are
// still on) are the normal wait between the two phases, not drift:
// recorded and shown on the console as awaiting the enable phase, never
// told in chat or made a ticket. Once security defaults are off, a
// report-only policy the baseline enforces is drift like any other.

// driftConversation is the conversation id of a drift ticket's escalation:
// the ticket worker's messages about it (its number, the vendor's updates)
// go to the technicians (driftTeller), not to a conversation.
const driftConversation tierzero.ConversationID = "baseline-drift"

// firstDriftCheck bounds the wait before the first check after a start:
// the state last reported is read back from the audit at once, and a
// process restarted in a loop does not read every tenant each time.
const firstDriftCheck = 2 * time.Minute

// driftConfig wires a driftWatch.
type driftConfig struct {
	Tenants []tierzero.TenantID
	// Every is baseline.drift_interval (> 0).
	Every time.Duration
	// Plan reads a tenant and plans it against its baseline (read-only).
	Plan func(ctx context.Context, t tierzero.TenantID) (tierzero.BaselinePlan, error)
	// Audit is the tenants' audit trails: new drift is appended, and the
	// last report read back at start.
	Audit driftAudit
	// Notice, when set (baseline.notify), tells the MSP's technicians who
	// act in tenant t; it returns how many it reached.
	Notice func(ctx context.Context, t tierzero.TenantID, text string) int
	// Ticket, when set, opens a ticket through the tenant's ticketing
	// system (bot.Tickets.Escalate); Tickets are the tenants that have one
	// (and baseline.ticket).
	Ticket  func(ctx context.Context, e tierzero.Escalation) error
	Tickets map[tierzero.TenantID]bool
	Now     func() time.Time
	// After makes the watch's timer (tests drive it); time.After by
	// default.
	After  func(d time.Duration) <-chan time.Time
	Logger *slog.Logger
}

// driftAudit is the audit trail as the watch uses it (store.DB).
type driftAudit interface {
	Append(ctx context.Context, t tierzero.TenantID, ev tierzero.AuditEvent) error
	Audit(ctx context.Context, t tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error
}

// driftState is what the watch knows of one tenant.
type driftState struct {
	Checked  time.Time // the last check, zero before the first
	Reported time.Time // when the drift (actionable) in Items was first reported: its ticket's time
	// Items are the items last recorded that are not "leave": drift, and
	// what awaits the enable phase; none: in line.
	Items   []tierzero.BaselineItem
	Known   bool   // a check ran, or a report was read back
	Problem string // why the last check failed, "" when it did not
}

// driftWatch runs the drift checks; Open starts it, Close stops it and
// waits.
type driftWatch struct {
	cfg driftConfig
	log *slog.Logger

	mu     sync.Mutex
	state  map[tierzero.TenantID]driftState
	opened bool
	stop   chan struct{}
	done   sync.WaitGroup
}

// newDriftWatch returns the watch; nothing runs until Open.
func newDriftWatch(cfg driftConfig) (*driftWatch, error) {
	if cfg.Plan == nil || cfg.Audit == nil || cfg.Every <= 0 {
		return nil, errors.New("drift watch: needs a planner, the audit and an interval")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &driftWatch{cfg: cfg, log: cfg.Logger, state: map[tierzero.TenantID]driftState{}, stop: make(chan struct{})}, nil
}

// Open reads back what was last reported for each tenant, then checks
// every tenant one interval later (at most firstDriftCheck after the
// start), and every interval after that, until Close.
func (w *driftWatch) Open(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.opened {
		return errors.New("drift watch opened twice")
	}
	w.opened = true
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		work, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		go func() {
			<-w.stop
			cancel()
		}()
		w.Load(work)
		wait := min(w.cfg.Every, firstDriftCheck)
		for {
			select {
			case <-w.stop:
				return
			case <-w.cfg.After(wait):
			}
			w.Check(work)
			wait = w.cfg.Every
		}
	}()
	return nil
}

// Close stops the watch and waits for a check in flight (cancelled).
func (w *driftWatch) Close() error {
	w.mu.Lock()
	if !w.opened {
		w.mu.Unlock()
		return nil
	}
	w.opened = false
	close(w.stop)
	w.mu.Unlock()
	w.done.Wait()
	return nil
}

// driftReport is the Output of a baseline_drift audit event.
type driftReport struct {
	Items []tierzero.BaselineItem `json:"items"`
	// Since is when the drift among Items (actionable) was first
	// reported, the time its ticket was opened with; zero: at the event's
	// time.
	Since time.Time `json:"since,omitzero"`
}

// actionable returns the items of drift that are told and ticketed:
// create, update, conflict, and a report-only policy with security
// defaults off; not those that await the enable phase (awaiting).
func actionable(items []tierzero.BaselineItem) []tierzero.BaselineItem {
	drift, _ := tierzero.SplitDrift(items)
	return drift
}

// Load reads back, for each tenant, the drift last reported (its last
// baseline_drift event); the ticket of a report whose ticket may not have
// been queued (a crash right after the event) is queued again, which
// opens nothing twice (a ticket is queued once per correlation id).
func (w *driftWatch) Load(ctx context.Context) {
	for _, t := range w.cfg.Tenants {
		var last *tierzero.AuditEvent
		err := w.cfg.Audit.Audit(ctx, t, time.Time{}, func(ev tierzero.AuditEvent) error {
			if ev.Kind == tierzero.AuditBaselineDrift {
				last = &ev
			}
			return nil
		})
		if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
			w.log.Warn("baseline drift: read the last report", "tenant", t, "err", err)
			continue
		}
		if last == nil {
			continue
		}
		var rep driftReport
		if err := json.Unmarshal(last.Output, &rep); err != nil {
			w.log.Warn("baseline drift: the last report does not read", "tenant", t, "err", err)
			continue
		}
		since := rep.Since
		if since.IsZero() {
			since = last.Time
		}
		w.mu.Lock()
		w.state[t] = driftState{Reported: since, Items: rep.Items, Known: true}
		w.mu.Unlock()
		if act := actionable(rep.Items); len(act) > 0 {
			w.ticket(ctx, t, since, act)
		}
	}
}

// Check checks every tenant once.
func (w *driftWatch) Check(ctx context.Context) {
	for _, t := range w.cfg.Tenants {
		if ctx.Err() != nil {
			return
		}
		w.check(ctx, t)
	}
}

// check plans tenant t and reports drift that differs from the last
// report.
func (w *driftWatch) check(ctx context.Context, t tierzero.TenantID) {
	plan, err := w.cfg.Plan(ctx, t)
	now := w.cfg.Now()
	w.mu.Lock()
	st := w.state[t]
	w.mu.Unlock()
	st.Checked = now
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		st.Problem = cmp.Or(tierzero.PrintableLine(tierzero.ErrorMessage(err)), "the check failed")
		w.log.Warn("baseline drift: check", "tenant", t, "err", err)
		w.set(t, st)
		return
	}
	st.Problem = ""
	drift := plan.Drift()
	if st.Known && sameDrift(st.Items, drift) {
		w.set(t, st)
		return
	}
	if !st.Known && len(drift) == 0 {
		// Never reported and in line: nothing to clear.
		st.Known = true
		w.set(t, st)
		return
	}
	// New drift, back in line, or what awaits the enable phase changed:
	// on the record first, so that a restart neither reports it again nor
	// forgets it. Only drift (actionable) that changed is told and
	// ticketed.
	act, before := actionable(drift), actionable(st.Items)
	changed := !sameDrift(before, act)
	since := st.Reported
	if changed || since.IsZero() {
		since = now
	}
	waiting := len(drift) - len(act)
	out, _ := json.Marshal(driftReport{Items: drift, Since: since})
	ev := tierzero.AuditEvent{Tenant: t, Time: now, Kind: tierzero.AuditBaselineDrift, Tool: tierzero.ActionBaselinePlan, Output: out}
	switch {
	case len(act) > 0:
		ev.Outcome, ev.Text = "drift", fmt.Sprintf("%s from its baseline", countNoun(len(act), "difference"))
	case waiting > 0:
		ev.Outcome, ev.Text = "awaiting_enable", "in line with its baseline but for the enable phase"
	default:
		ev.Outcome, ev.Text = "in_line", "back in line with its baseline"
	}
	if waiting > 0 {
		ev.Text += fmt.Sprintf(" (%d %s the enable phase)", waiting, baselinePlural(waiting, "item awaits", "items await"))
	}
	if err := w.cfg.Audit.Append(ctx, t, ev); err != nil {
		// Not recorded: reported at the next check instead.
		w.log.Error("baseline drift: record", "tenant", t, "err", err)
		st.Problem = "the drift found could not be recorded; it is reported at the next check"
		w.set(t, st)
		return
	}
	st.Known, st.Items, st.Reported = true, drift, since
	w.set(t, st)
	w.log.Info("baseline drift", "tenant", t, "items", len(act), "awaiting_enable", waiting)
	// Told: new drift, or back in line after drift was reported (changed
	// with none left); not a change in what awaits the enable phase alone.
	if !changed {
		return
	}
	if w.cfg.Notice != nil {
		n := w.cfg.Notice(ctx, t, driftNotice(t, act, waiting))
		if n == 0 {
			w.log.Warn("baseline drift: no technician told in chat (none has a private conversation with tierzero: a Slack DM, a Teams personal chat or the web console); it is on the console", "tenant", t)
		}
	}
	if len(act) > 0 {
		w.ticket(ctx, t, now, act)
	}
}

func (w *driftWatch) set(t tierzero.TenantID, st driftState) {
	w.mu.Lock()
	w.state[t] = st
	w.mu.Unlock()
}

// ticket queues the ticket of tenant t's drift reported at when, when the
// tenant has a ticketing system.
func (w *driftWatch) ticket(ctx context.Context, t tierzero.TenantID, when time.Time, drift []tierzero.BaselineItem) {
	if w.cfg.Ticket == nil || !w.cfg.Tickets[t] {
		return
	}
	if err := w.cfg.Ticket(ctx, driftEscalation(t, when, drift)); err != nil {
		w.log.Error("baseline drift: ticket", "tenant", t, "err", err)
	}
}

// driftEscalation is the ticket of tenant t's drift reported at when: the
// same report is the same ticket (its correlation id is of the tenant,
// driftConversation and when).
func driftEscalation(t tierzero.TenantID, when time.Time, drift []tierzero.BaselineItem) tierzero.Escalation {
	var b strings.Builder
	fmt.Fprintf(&b, "Tenant %s has drifted from its baseline: %s, found by tierzero's drift check at %s.",
		t, countNoun(len(drift), "difference"), when.UTC().Format(time.RFC3339))
	for _, it := range drift {
		b.WriteString("\n- " + driftLine(it))
	}
	fmt.Fprintf(&b, "\nSee them with: tierzero baseline plan %s. Bring the tenant back with: tierzero baseline apply %s --as TECHNICIAN (approved by a tenant admin).", t, t)
	return tierzero.Escalation{
		Tenant: t, Conversation: driftConversation, Time: when,
		Requester: tierzero.Requester{Tenant: t, UPN: "tierzero", DisplayName: "tierzero baseline drift check", Role: tierzero.RoleMSPTechnician},
		Summary:   b.String(),
		Cause:     tierzero.CauseBaselineDrift,
		Reason:    fmt.Sprintf("the tenant's configuration differs from its baseline (%s)", countNoun(len(drift), "difference")),
	}
}

// driftNotice is the chat notice of tenant t's drift (none: back in
// line); waiting items await the enable phase (not drift).
func driftNotice(t tierzero.TenantID, drift []tierzero.BaselineItem, waiting int) string {
	if len(drift) == 0 {
		if waiting > 0 {
			return fmt.Sprintf("Baseline: %s is back in line with its baseline, but for the enable phase (%d %s it: tierzero baseline apply %s proposes it).",
				t, waiting, baselinePlural(waiting, "item awaits", "items await"), t)
		}
		return fmt.Sprintf("Baseline: %s is back in line with its baseline.", t)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Baseline drift in %s: %s from its baseline.", t, countNoun(len(drift), "difference"))
	const most = 10
	for i, it := range drift {
		if i == most {
			fmt.Fprintf(&b, "\n- and %d more", len(drift)-most)
			break
		}
		b.WriteString("\n- " + driftLine(it))
	}
	fmt.Fprintf(&b, "\nAsk me to \"bring %s to the baseline\", or run tierzero baseline apply %s.", t, t)
	return b.String()
}

// driftLine is one item of drift in words, on one line: tenant data (a
// policy's name) is made printable.
func driftLine(it tierzero.BaselineItem) string {
	s := fmt.Sprintf("%s %s %q", it.Kind, resourceWords(it.Resource), it.Name)
	if why := tierzero.PrintableLine(it.Why); why != "" {
		s += ": " + why
	}
	return tierzero.Clip(tierzero.PrintableLine(s), 300)
}

// resourceWords names a baseline item's resource for people (as baseline
// plan prints it).
func resourceWords(r string) string { return cmp.Or(baselineResources[r], r) }

// sameDrift reports whether two reports name the same differences, in any
// order.
func sameDrift(a, b []tierzero.BaselineItem) bool {
	return slices.Equal(driftKeys(a), driftKeys(b))
}

func driftKeys(items []tierzero.BaselineItem) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		what := strings.Join(it.Changes, "\x1f")
		if len(it.Changes) == 0 {
			what = it.Why
		}
		keys[i] = strings.Join([]string{it.Kind, it.Resource, strings.ToLower(it.Name), what}, "\x1e")
	}
	slices.Sort(keys)
	return keys
}

// Baseline is tenant t's baseline state for the console (web.Baselines).
func (w *driftWatch) Baseline(t tierzero.TenantID) (web.BaselineState, bool) {
	w.mu.Lock()
	st, ok := w.state[t]
	w.mu.Unlock()
	if !ok || !st.Known && st.Problem == "" {
		return web.BaselineState{}, false
	}
	out := web.BaselineState{Checked: st.Checked, Since: st.Reported, Problem: st.Problem, Known: st.Known}
	drift, waits := tierzero.SplitDrift(st.Items)
	for _, it := range drift {
		out.Drift = append(out.Drift, web.BaselineDrift{Kind: it.Kind, Resource: resourceWords(it.Resource), Name: it.Name, Why: it.Why})
	}
	for _, it := range waits {
		out.Awaiting = append(out.Awaiting, web.BaselineDrift{Kind: it.Kind, Resource: resourceWords(it.Resource), Name: it.Name, Why: it.Why})
	}
	return out, true
}

var _ web.Baselines = (*driftWatch)(nil)

// driftTeller is the ticket worker's notifier in serve: what it says about
// a drift ticket (its number, the vendor's updates) goes to the MSP's
// technicians (notice); everything else to the desk.
type driftTeller struct {
	bot.Notifier
	notice func(ctx context.Context, t tierzero.TenantID, text string) int
}

func (d driftTeller) Tell(ctx context.Context, req tierzero.Requester, conv tierzero.ConversationID, text string) {
	if conv != driftConversation {
		d.Notifier.Tell(ctx, req, conv, text)
		return
	}
	if d.notice != nil {
		d.notice(ctx, req.Tenant, fmt.Sprintf("Baseline drift of %s: %s", req.Tenant, strings.Replace(text, "Your request is", "It is", 1)))
	}
}

// Hold is the desk's (the ticket worker ends a closed ticket's
// conversation while no request of it runs).
func (d driftTeller) Hold(t tierzero.TenantID, conv tierzero.ConversationID) func() {
	if h, ok := d.Notifier.(interface {
		Hold(tierzero.TenantID, tierzero.ConversationID) func()
	}); ok {
		return h.Hold(t, conv)
	}
	return func() {}
}

// technicianNotice tells the MSP's technicians who act in a tenant (policy
// admits them to it) a notice, in the last private conversation each had
// with tierzero on a chat channel this process serves (a Slack DM, a Teams
// personal chat, the web console), through the desk's durable outbox:
// tierzero has no other way to reach a person it has never spoken with. A
// conversation in a Slack channel or a Teams channel or group chat is never
// used: people not admitted to the tenant read it. It returns how many it
// reached; a technician with no private conversation is not told, and why
// is logged (the console's tenants page shows the drift to everyone
// admitted).
func technicianNotice(rt *runtime, log *slog.Logger) func(ctx context.Context, t tierzero.TenantID, text string) int {
	return func(ctx context.Context, t tierzero.TenantID, text string) int {
		home := rt.staff.Home
		if home == "" || len(rt.staff.Technicians) == 0 {
			return 0
		}
		type last struct {
			conv tierzero.ConversationID
			ch   tierzero.Channel
		}
		lasts := map[string]last{}
		shared := map[string]bool{} // wrote to tierzero, but only where others read
		err := rt.db.Audit(ctx, home, time.Time{}, func(ev tierzero.AuditEvent) error {
			if ev.Kind != tierzero.AuditMessage || ev.Requester == "" || ev.Conversation == "" {
				return nil
			}
			switch who := strings.ToLower(ev.Requester); {
			case privateConversation(ev.Channel, ev.Conversation):
				lasts[who] = last{ev.Conversation, ev.Channel}
			case ev.Channel == tierzero.ChannelSlack || ev.Channel == tierzero.ChannelTeams:
				shared[who] = true
			}
			return nil
		})
		if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
			log.Warn("baseline drift: find the technicians' conversations", "err", err)
			return 0
		}
		n := 0
		for _, tech := range rt.staff.Technicians {
			req, ok := rt.staff.Technician(tech.UPN)
			if !ok || rt.reach == nil || !slices.Contains(rt.reach.Across(req), t) {
				continue
			}
			l, ok := lasts[strings.ToLower(tech.UPN)]
			if !ok {
				if shared[strings.ToLower(tech.UPN)] {
					log.Info("baseline drift: a technician not told in chat: their conversations with tierzero are in shared channels, read by people not admitted to the tenant; it is on the console",
						"tenant", t, "technician", tech.UPN)
				}
				continue
			}
			req.Channel = l.ch
			rt.desk.Tell(ctx, req, l.conv, text)
			n++
		}
		return n
	}
}

// privateConversation reports whether conversation conv of channel ch is
// read by its one person and tierzero alone: a Slack DM (the desk's
// conversation of a DM is TEAM/CHANNEL, a DM's channel id starting with D;
// a channel's thread is TEAM/CHANNEL/TS), a Teams personal chat (its id
// starts with "a:"; a channel's or group chat's with "19:"), or a
// conversation on the web console (its signed-in user's). Anything else,
// or not told apart, is not.
func privateConversation(ch tierzero.Channel, conv tierzero.ConversationID) bool {
	switch ch {
	case tierzero.ChannelSlack:
		team, channel, ok := strings.Cut(string(conv), "/")
		return ok && team != "" && strings.HasPrefix(channel, "D") && !strings.Contains(channel, "/")
	case tierzero.ChannelTeams:
		return strings.HasPrefix(string(conv), "a:") && !strings.Contains(string(conv), "@thread")
	case tierzero.ChannelWeb:
		return true
	}
	return false
}

// driftWatchOf is serve's drift watch over rt's client tenants, from the
// baseline section of c; nil when baseline.drift_interval is 0 (off).
func (a *app) driftWatchOf(rt *runtime, c *config) (*driftWatch, error) {
	every := c.driftInterval()
	if every <= 0 || len(rt.staff.Clients) == 0 {
		return nil, nil
	}
	cfg := driftConfig{Tenants: rt.staff.Clients, Every: every, Plan: rt.baselinePlan, Audit: rt.db, Logger: a.log}
	if c.driftNotify() {
		cfg.Notice = technicianNotice(rt, a.log)
	}
	if c.driftTicket() && rt.tickets != nil && c != nil {
		cfg.Ticket, cfg.Tickets = rt.tickets.Escalate, map[tierzero.TenantID]bool{}
		for id, t := range c.Tenants {
			if t.Ticket != nil {
				cfg.Tickets[id] = true
			}
		}
	}
	return newDriftWatch(cfg)
}
