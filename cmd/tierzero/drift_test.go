package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
)

// driftPlans are the plans a test's tenants have now: what changes behind
// tierzero's back.
type driftPlans struct {
	mu    sync.Mutex
	items map[tierzero.TenantID][]tierzero.BaselineItem
	fail  map[tierzero.TenantID]error
	calls int
}

func (p *driftPlans) set(t tierzero.TenantID, items ...tierzero.BaselineItem) {
	p.mu.Lock()
	p.items[t] = items
	p.mu.Unlock()
}

func (p *driftPlans) plan(_ context.Context, t tierzero.TenantID) (tierzero.BaselinePlan, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if err := p.fail[t]; err != nil {
		return tierzero.BaselinePlan{}, err
	}
	// Items in line are in every plan: only the others are drift.
	items := []tierzero.BaselineItem{{Kind: "leave", Resource: "conditional access policy", Name: "Block legacy authentication", Why: "as the baseline says"}}
	return tierzero.BaselinePlan{Tenant: t, Items: append(items, p.items[t]...)}, nil
}

// notices are what the technicians were told, by tenant.
type notices struct {
	mu   sync.Mutex
	told map[tierzero.TenantID][]string
}

func (n *notices) notice(_ context.Context, t tierzero.TenantID, text string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.told[t] = append(n.told[t], text)
	return 1
}

func (n *notices) take(t tierzero.TenantID) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.told[t]
	delete(n.told, t)
	return out
}

// driftSystem is a ticketing system that counts the tickets it creates.
type driftSystem struct {
	mu      sync.Mutex
	created []tierzero.Ticket
}

func (s *driftSystem) Name() string { return "fake" }

func (s *driftSystem) Create(_ context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created = append(s.created, t)
	n := len(s.created)
	return tierzero.TicketRef{System: "fake", ID: fmt.Sprint(n), Number: fmt.Sprintf("T-%04d", n)}, nil
}

func (s *driftSystem) Find(context.Context, string) (tierzero.TicketRef, bool, error) {
	return tierzero.TicketRef{}, false, nil
}

func (s *driftSystem) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.created)
}

// driftEvents are tenant t's baseline_drift events.
func driftEvents(t *testing.T, db *store.DB, tenant tierzero.TenantID) []tierzero.AuditEvent {
	t.Helper()
	var out []tierzero.AuditEvent
	err := db.Audit(context.Background(), tenant, time.Time{}, func(ev tierzero.AuditEvent) error {
		if ev.Kind == tierzero.AuditBaselineDrift {
			out = append(out, ev)
		}
		return nil
	})
	if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatal(err)
	}
	return out
}

// TestDriftWatch: drift found after a change behind tierzero's back is
// recorded in the tenant's trail, shown (Baseline, the console's source),
// told to the technicians and made a ticket, once; a second check with the
// same drift sends nothing, nor does a restart (the last report is read
// back from the audit, and the ticket is not opened again); other drift is
// new; back in line clears it; a failed check says why and reports
// nothing.
func TestDriftWatch(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	key := store.NewMasterKey()
	db, err := store.Open(data, store.Options{MasterKey: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	plans := &driftPlans{items: map[tierzero.TenantID][]tierzero.BaselineItem{}, fail: map[tierzero.TenantID]error{}}
	told := &notices{told: map[tierzero.TenantID][]string{}}
	sys := &driftSystem{}
	tickets, err := bot.NewTickets(bot.TicketsConfig{Store: db, Systems: map[tierzero.TenantID]bot.TicketSystem{"fabrikam": sys}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tickets.Attach(driftTeller{Notifier: nil, notice: told.notice})
	watch := func() *driftWatch {
		w, err := newDriftWatch(driftConfig{
			Tenants: []tierzero.TenantID{"contoso", "fabrikam"}, Every: time.Hour, Plan: plans.plan, Audit: db,
			Notice: told.notice, Ticket: tickets.Escalate, Tickets: map[tierzero.TenantID]bool{"fabrikam": true}, Now: clock,
		})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := watch()
	w.Load(ctx)

	// Both in line: nothing is recorded or told; both show in line.
	w.Check(ctx)
	tickets.Flush(ctx)
	for _, tn := range []tierzero.TenantID{"contoso", "fabrikam"} {
		if evs, n := driftEvents(t, db, tn), told.take(tn); len(evs) != 0 || len(n) != 0 {
			t.Fatalf("%s in line: events %+v, notices %q", tn, evs, n)
		}
		if st, ok := w.Baseline(tn); !ok || !st.Known || len(st.Drift) != 0 || !st.Checked.Equal(now) {
			t.Fatalf("%s in line: state %+v %v", tn, st, ok)
		}
	}

	// Someone switches fabrikam's MFA policy back to report-only and
	// unassigns its compliance policy in the admin center (security
	// defaults are off: the plan has no item to turn them off).
	now = now.Add(time.Hour)
	mfa := tierzero.BaselineItem{Kind: "enable", Resource: "conditional access policy", Name: "Require MFA for admins", ID: "ca-1",
		Why: "it is report-only; the baseline enforces it", Changes: []string{"state: enabledForReportingButNotEnforced → enabled"}}
	comp := tierzero.BaselineItem{Kind: "update", Resource: "compliance", Name: "Windows 11 compliance", ID: "cp-1",
		Why: "assigned to no one", Changes: []string{"assignments: none → All devices"}}
	plans.set("fabrikam", mfa, comp)
	w.Check(ctx)
	evs := driftEvents(t, db, "fabrikam")
	// With security defaults off the report-only policy is drift, not
	// the wait for the enable phase: nothing enforces MFA.
	if len(evs) != 1 || evs[0].Outcome != "drift" || !strings.Contains(string(evs[0].Output), `"Require MFA for admins"`) ||
		evs[0].Text != "2 differences from its baseline" {
		t.Fatalf("fabrikam's drift on the record: %+v", evs)
	}
	n := told.take("fabrikam")
	if len(n) != 1 || !strings.Contains(n[0], "Baseline drift in fabrikam: 2 differences") || !strings.Contains(n[0], `enable conditional access policy "Require MFA for admins"`) ||
		!strings.Contains(n[0], "security defaults are off, so nothing enforces it") {
		t.Fatalf("the technicians were told %q", n)
	}
	st, ok := w.Baseline("fabrikam")
	if !ok || len(st.Drift) != 2 || !st.Since.Equal(now) || st.Drift[0].Name != "Require MFA for admins" || st.Drift[1].Name != "Windows 11 compliance" || len(st.Awaiting) != 0 {
		t.Fatalf("fabrikam's state %+v", st)
	}
	tickets.Flush(ctx)
	if sys.count() != 1 {
		t.Fatalf("%d tickets, want 1", sys.count())
	}
	tk := sys.created[0]
	if e := tk.Escalation; e.Tenant != "fabrikam" || e.Cause != tierzero.CauseBaselineDrift || !strings.Contains(e.Summary, `update compliance policy "Windows 11 compliance"`) ||
		!strings.Contains(e.Summary, `enable conditional access policy "Require MFA for admins"`) {
		t.Fatalf("the ticket: %+v", e)
	}
	if n := told.take("fabrikam"); len(n) != 1 || !strings.Contains(n[0], "Baseline drift of fabrikam: It is now ticket T-0001") {
		t.Fatalf("the ticket's number told %q", n)
	}

	// The same drift at the next check: nothing more.
	now = now.Add(time.Hour)
	w.Check(ctx)
	tickets.Flush(ctx)
	if evs := driftEvents(t, db, "fabrikam"); len(evs) != 1 || sys.count() != 1 || len(told.take("fabrikam")) != 0 {
		t.Fatalf("the same drift again: %d events, %d tickets", len(evs), sys.count())
	}
	if st, _ := w.Baseline("fabrikam"); !st.Checked.Equal(now) || len(st.Drift) != 2 || len(st.Awaiting) != 0 {
		t.Fatalf("checked again: %+v", st)
	}

	// A restart: the report is read back; the same drift is not reported
	// again and its ticket not opened twice.
	w = watch()
	w.Load(ctx)
	if st, ok := w.Baseline("fabrikam"); !ok || len(st.Drift) != 2 || len(st.Awaiting) != 0 || !st.Checked.IsZero() || st.Since.IsZero() {
		t.Fatalf("after a restart, before a check: %+v %v", st, ok)
	}
	if _, ok := w.Baseline("contoso"); ok {
		t.Fatalf("contoso was never reported: nothing to read back")
	}
	now = now.Add(time.Hour)
	w.Check(ctx)
	tickets.Flush(ctx)
	if evs := driftEvents(t, db, "fabrikam"); len(evs) != 1 || sys.count() != 1 || len(told.take("fabrikam")) != 0 {
		t.Fatalf("after a restart: %d events, %d tickets", len(evs), sys.count())
	}

	// The policy is fixed but another drifts (the items differ): new.
	now = now.Add(time.Hour)
	legacy := tierzero.BaselineItem{Kind: "update", Resource: "conditional access policy", Name: "Block legacy authentication", ID: "ca-2",
		Why: "it no longer covers Exchange ActiveSync", Changes: []string{"clientAppTypes: exchangeActiveSync, other → other"}}
	plans.set("fabrikam", comp, legacy)
	w.Check(ctx)
	tickets.Flush(ctx)
	if evs := driftEvents(t, db, "fabrikam"); len(evs) != 2 || sys.count() != 2 {
		t.Fatalf("other drift: %d events, %d tickets", len(evs), sys.count())
	}
	if n := told.take("fabrikam"); len(n) != 2 || !strings.Contains(n[0], "Block legacy authentication") {
		t.Fatalf("other drift told %q", n)
	}

	// Back in line: recorded, told, cleared; no ticket.
	now = now.Add(time.Hour)
	plans.set("fabrikam")
	w.Check(ctx)
	tickets.Flush(ctx)
	evs = driftEvents(t, db, "fabrikam")
	if len(evs) != 3 || evs[2].Outcome != "in_line" || sys.count() != 2 {
		t.Fatalf("back in line: events %+v, %d tickets", evs, sys.count())
	}
	if n := told.take("fabrikam"); len(n) != 1 || n[0] != "Baseline: fabrikam is back in line with its baseline." {
		t.Fatalf("back in line told %q", n)
	}
	if st, _ := w.Baseline("fabrikam"); !st.Known || len(st.Drift) != 0 {
		t.Fatalf("back in line: %+v", st)
	}
	w.Check(ctx)
	if evs := driftEvents(t, db, "fabrikam"); len(evs) != 3 || len(told.take("fabrikam")) != 0 {
		t.Fatalf("in line again: %d events", len(evs))
	}
	// The same drift as before it came back in line is new again.
	plans.set("fabrikam", comp, legacy)
	w.Check(ctx)
	if evs := driftEvents(t, db, "fabrikam"); len(evs) != 4 || len(told.take("fabrikam")) != 1 {
		t.Fatalf("drift after in line: %d events", len(evs))
	}

	// A check that fails says why and reports nothing.
	plans.mu.Lock()
	plans.fail["contoso"] = tierzero.Errorf(tierzero.EUnavailable, "Graph: 503 Service Unavailable")
	plans.mu.Unlock()
	w.Check(ctx)
	if st, ok := w.Baseline("contoso"); !ok || st.Problem != "Graph: 503 Service Unavailable" || len(driftEvents(t, db, "contoso")) != 0 || len(told.take("contoso")) != 0 {
		t.Fatalf("a failed check: %+v %v", st, ok)
	}
}

// TestDriftWatchOpenClose: Open reads the last reports back, then checks
// every tenant when its timer fires, again each interval; Close stops it
// and waits for it.
func TestDriftWatchOpenClose(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: store.NewMasterKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plans := &driftPlans{items: map[tierzero.TenantID][]tierzero.BaselineItem{}, fail: map[tierzero.TenantID]error{}}
	fire := make(chan time.Time)
	var mu sync.Mutex
	var waits []time.Duration
	checked := make(chan struct{}, 4)
	w, err := newDriftWatch(driftConfig{
		Tenants: []tierzero.TenantID{"contoso"}, Every: 6 * time.Hour, Audit: db,
		Plan: func(ctx context.Context, tn tierzero.TenantID) (tierzero.BaselinePlan, error) {
			defer func() { checked <- struct{}{} }()
			return plans.plan(ctx, tn)
		},
		After: func(d time.Duration) <-chan time.Time {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return fire
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Open(context.Background()); err == nil {
		t.Fatal("opened twice")
	}
	for range 2 {
		fire <- time.Now()
		select {
		case <-checked:
		case <-time.After(10 * time.Second):
			t.Fatal("no check when the timer fired")
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) < 2 || waits[0] != firstDriftCheck || waits[1] != 6*time.Hour {
		t.Fatalf("waits %v: want %v first, then the interval", waits, firstDriftCheck)
	}
	if plans.calls != 2 {
		t.Fatalf("%d checks, want 2", plans.calls)
	}
	if _, err := newDriftWatch(driftConfig{Audit: db, Plan: plans.plan}); err == nil {
		t.Fatal("a watch without an interval")
	}
}

// TestDriftTeller: the ticket worker's notifier in serve passes on what is
// not about drift to the desk, and holds conversations through it.
func TestDriftTeller(t *testing.T) {
	desk := &holdingNotifier{}
	told := &notices{told: map[tierzero.TenantID][]string{}}
	var n bot.Notifier = driftTeller{Notifier: desk, notice: told.notice}
	n.Tell(context.Background(), tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com"}, "conv-1", "Your request is now ticket T-1")
	n.Tell(context.Background(), tierzero.Requester{Tenant: "contoso"}, driftConversation, "Your request is now ticket T-2")
	if len(desk.told) != 1 || desk.told[0] != "conv-1" {
		t.Fatalf("the desk was told %q", desk.told)
	}
	if got := told.take("contoso"); len(got) != 1 || got[0] != "Baseline drift of contoso: It is now ticket T-2" {
		t.Fatalf("the technicians were told %q", got)
	}
	h, ok := n.(interface {
		Hold(tierzero.TenantID, tierzero.ConversationID) func()
	})
	if !ok {
		t.Fatal("the teller does not hold conversations")
	}
	h.Hold("contoso", "conv-1")()
	if desk.held != 1 {
		t.Fatalf("held %d times through the desk, want 1", desk.held)
	}
}

type holdingNotifier struct {
	told []tierzero.ConversationID
	held int
}

func (h *holdingNotifier) Tell(_ context.Context, _ tierzero.Requester, conv tierzero.ConversationID, _ string) {
	h.told = append(h.told, conv)
}

func (h *holdingNotifier) Hold(tierzero.TenantID, tierzero.ConversationID) func() {
	h.held++
	return func() {}
}

// TestDriftWatchOf: the baseline section decides serve's watch: none with
// drift_interval 0; notices unless notify is false; tickets, unless ticket
// is false, for the tenants with a ticketing system only.
func TestDriftWatchOf(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: store.NewMasterKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tickets, err := bot.NewTickets(bot.TicketsConfig{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	rt := &runtime{db: db, tickets: tickets, staff: bot.Staff{Clients: []tierzero.TenantID{"contoso", "fabrikam"}}}
	a := &app{getenv: noEnv}
	const tenants = "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"https://psa.example/hook\", secret_env: S}\n  fabrikam:\n    auth: {method: simulator}\n"
	tests := []struct {
		name           string
		baseline       string
		off            bool
		every          time.Duration
		notice, ticket bool
	}{
		{"defaults", "", false, 24 * time.Hour, true, true},
		{"off", "baseline: {drift_interval: 0s}\n", true, 0, false, false},
		{"quiet", "baseline: {drift_interval: 1h, notify: false, ticket: false}\n", false, time.Hour, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ps := parseConfig([]byte(tenants + tt.baseline))
			if len(ps) > 0 {
				t.Fatalf("config: %v", ps)
			}
			w, err := a.driftWatchOf(rt, c)
			if err != nil {
				t.Fatal(err)
			}
			if tt.off {
				if w != nil {
					t.Fatal("a watch with drift_interval 0")
				}
				return
			}
			if w.cfg.Every != tt.every || (w.cfg.Notice != nil) != tt.notice || (w.cfg.Ticket != nil) != tt.ticket {
				t.Fatalf("every %v, notice %v, ticket %v", w.cfg.Every, w.cfg.Notice != nil, w.cfg.Ticket != nil)
			}
			if tt.ticket && (!w.cfg.Tickets["contoso"] || w.cfg.Tickets["fabrikam"]) {
				t.Fatalf("tickets for %v: want contoso's only", w.cfg.Tickets)
			}
		})
	}
}

// TestDriftAwaitingEnable: the wait between the two phases of an
// onboarding (report-only policies, security defaults still on) is not
// drift: recorded, shown on the console as awaiting the enable phase, never
// told or ticketed; a change in it alone tells no one; drift among it still
// is told and ticketed, once, with only the drift in the ticket; when that
// is fixed the technicians hear the tenant is back in line but for the
// enable phase; a restart opens no ticket for it.
func TestDriftAwaitingEnable(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: store.NewMasterKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	plans := &driftPlans{items: map[tierzero.TenantID][]tierzero.BaselineItem{}, fail: map[tierzero.TenantID]error{}}
	told := &notices{told: map[tierzero.TenantID][]string{}}
	sys := &driftSystem{}
	tickets, err := bot.NewTickets(bot.TicketsConfig{Store: db, Systems: map[tierzero.TenantID]bot.TicketSystem{"fabrikam": sys}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tickets.Attach(driftTeller{notice: told.notice})
	watch := func() *driftWatch {
		w, err := newDriftWatch(driftConfig{Tenants: []tierzero.TenantID{"fabrikam"}, Every: time.Hour, Plan: plans.plan, Audit: db,
			Notice: told.notice, Ticket: tickets.Escalate, Tickets: map[tierzero.TenantID]bool{"fabrikam": true}, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	enable := func(name string) tierzero.BaselineItem {
		return tierzero.BaselineItem{Kind: "enable", Resource: "conditional_access", Name: name, ID: "ca-" + name,
			Why: "matches the baseline in report-only state; switch on after reviewing its sign-in impact", Changes: []string{"state: enabledForReportingButNotEnforced → enabled"}}
	}
	sdOff := tierzero.BaselineItem{Kind: "update", Resource: "security_defaults", Name: "security defaults",
		Why: "security defaults are on, the baseline enforces MFA through conditional access instead", Changes: []string{"enabled: true → false"}}
	w := watch()
	w.Load(ctx)

	// After the create phase: security defaults on, two policies report-only.
	plans.set("fabrikam", sdOff, enable("Require MFA for admins"), enable("Require MFA for all users"))
	w.Check(ctx)
	tickets.Flush(ctx)
	evs := driftEvents(t, db, "fabrikam")
	if len(evs) != 1 || evs[0].Outcome != "awaiting_enable" || sys.count() != 0 || len(told.take("fabrikam")) != 0 {
		t.Fatalf("awaiting the enable phase: events %+v, %d tickets", evs, sys.count())
	}
	if st, ok := w.Baseline("fabrikam"); !ok || !st.Known || len(st.Drift) != 0 || len(st.Awaiting) != 3 {
		t.Fatalf("the console's state: %+v", st)
	}
	// What awaits changes alone (one policy switched on by hand): recorded
	// for the console, told to no one.
	now = now.Add(time.Hour)
	plans.set("fabrikam", sdOff, enable("Require MFA for all users"))
	w.Check(ctx)
	tickets.Flush(ctx)
	if evs := driftEvents(t, db, "fabrikam"); len(evs) != 2 || sys.count() != 0 || len(told.take("fabrikam")) != 0 {
		t.Fatalf("what awaits changed: %d events, %d tickets", len(evs), sys.count())
	}

	// Drift among it: told and ticketed, with the drift alone.
	now = now.Add(time.Hour)
	comp := tierzero.BaselineItem{Kind: "update", Resource: "compliance", Name: "Windows 11 compliance", Why: "assigned to no one", Changes: []string{"assignments: none → All devices"}}
	plans.set("fabrikam", sdOff, enable("Require MFA for all users"), comp)
	w.Check(ctx)
	tickets.Flush(ctx)
	n := told.take("fabrikam")
	if sys.count() != 1 || len(n) != 2 || !strings.Contains(n[0], "Baseline drift in fabrikam: 1 difference") || strings.Contains(n[0], "security defaults") {
		t.Fatalf("drift among what awaits: %d tickets, told %q", sys.count(), n)
	}
	if e := sys.created[0].Escalation; !strings.Contains(e.Summary, "1 difference") || strings.Contains(e.Summary, "Require MFA") || strings.Contains(e.Summary, "security defaults") {
		t.Fatalf("the ticket: %s", e.Summary)
	}
	// What awaits changes again while the drift stays: nothing told, no
	// second ticket, now or after a restart.
	now = now.Add(time.Hour)
	plans.set("fabrikam", sdOff, comp)
	w.Check(ctx)
	w = watch()
	w.Load(ctx)
	now = now.Add(time.Hour)
	w.Check(ctx)
	tickets.Flush(ctx)
	if sys.count() != 1 || len(told.take("fabrikam")) != 0 {
		t.Fatalf("what awaits changed under drift, and a restart: %d tickets", sys.count())
	}
	if st, _ := w.Baseline("fabrikam"); len(st.Drift) != 1 || len(st.Awaiting) != 1 {
		t.Fatalf("after the restart: %+v", st)
	}

	// The drift fixed: back in line but for the enable phase, no ticket.
	now = now.Add(time.Hour)
	plans.set("fabrikam", sdOff)
	w.Check(ctx)
	tickets.Flush(ctx)
	if n := told.take("fabrikam"); sys.count() != 1 || len(n) != 1 || !strings.Contains(n[0], "back in line with its baseline, but for the enable phase (1 item awaits it") {
		t.Fatalf("back in line but for the enable phase: %d tickets, told %q", sys.count(), n)
	}
}

// TestDriftReportOnlyAfterEnable (review finding 1 of issue 22): after
// both phases, a policy the baseline enforces switched back to report-only
// behind tierzero's back (or an enable phase that failed part way) leaves
// the tenant with neither security defaults nor that policy: drift, told
// once and ticketed once, listed on the console as drift; during the
// onboarding (security defaults still on) the same item awaits the enable
// phase.
func TestDriftReportOnlyAfterEnable(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: store.NewMasterKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	plans := &driftPlans{items: map[tierzero.TenantID][]tierzero.BaselineItem{}, fail: map[tierzero.TenantID]error{}}
	told := &notices{told: map[tierzero.TenantID][]string{}}
	sys := &driftSystem{}
	tickets, err := bot.NewTickets(bot.TicketsConfig{Store: db, Systems: map[tierzero.TenantID]bot.TicketSystem{"fabrikam": sys}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tickets.Attach(driftTeller{notice: told.notice})
	w, err := newDriftWatch(driftConfig{Tenants: []tierzero.TenantID{"fabrikam"}, Every: time.Hour, Plan: plans.plan, Audit: db,
		Notice: told.notice, Ticket: tickets.Escalate, Tickets: map[tierzero.TenantID]bool{"fabrikam": true}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	w.Load(ctx)
	enable := func(name string) tierzero.BaselineItem {
		return tierzero.BaselineItem{Kind: "enable", Resource: "conditional_access", Name: name, ID: "ca-" + name,
			Why: "matches the baseline in report-only state; switch on after reviewing its sign-in impact", Changes: []string{"state: enabledForReportingButNotEnforced → enabled"}}
	}
	sdOff := tierzero.BaselineItem{Kind: "update", Resource: "security_defaults", Name: "security defaults",
		Why: "security defaults are on, the baseline enforces MFA through conditional access instead", Changes: []string{"enabled: true → false"}}
	step := func(what string, items ...tierzero.BaselineItem) (notices []string, ticketsOpened int) {
		t.Helper()
		now = now.Add(time.Hour)
		before := sys.count()
		plans.set("fabrikam", items...)
		w.Check(ctx)
		tickets.Flush(ctx)
		return told.take("fabrikam"), sys.count() - before
	}

	// The onboarding, between the two phases: security defaults on, the
	// policies report-only: awaiting, nothing told or ticketed.
	if n, k := step("onboarding", sdOff, enable("Require MFA for admins"), enable("Require MFA for all users")); len(n) != 0 || k != 0 {
		t.Fatalf("during the onboarding: told %q, %d tickets", n, k)
	}
	if st, _ := w.Baseline("fabrikam"); len(st.Drift) != 0 || len(st.Awaiting) != 3 {
		t.Fatalf("the console during the onboarding: %+v", st)
	}
	// The enable phase ran: in line, nothing told.
	if n, k := step("both phases"); len(n) != 0 || k != 0 {
		t.Fatalf("after both phases: told %q, %d tickets", n, k)
	}
	// The attack: "Require MFA for all users" PATCHed back to report-only
	// (security defaults stay off): drift, one notice, one ticket.
	n, k := step("attack", enable("Require MFA for all users"))
	if len(n) != 2 || !strings.Contains(n[0], "Baseline drift in fabrikam: 1 difference") || !strings.Contains(n[0], `"Require MFA for all users"`) ||
		!strings.Contains(n[0], "security defaults are off, so nothing enforces it") || !strings.Contains(n[1], "It is now ticket T-0001") || k != 1 {
		t.Fatalf("the policy switched back to report-only: told %q, %d tickets", n, k)
	}
	if e := sys.created[0].Escalation; !strings.Contains(e.Summary, `enable Conditional Access "Require MFA for all users"`) || !strings.Contains(e.Summary, "nothing enforces it") {
		t.Fatalf("the ticket: %s", e.Summary)
	}
	evs := driftEvents(t, db, "fabrikam")
	if last := evs[len(evs)-1]; last.Outcome != "drift" || last.Text != "1 difference from its baseline" {
		t.Fatalf("on the record: %+v", last)
	}
	if st, _ := w.Baseline("fabrikam"); len(st.Drift) != 1 || len(st.Awaiting) != 0 || st.Drift[0].Name != "Require MFA for all users" || !strings.Contains(st.Drift[0].Why, "nothing enforces it") {
		t.Fatalf("the console: %+v", st)
	}
	// The same at the next check, or after a restart: nothing more.
	if n, k := step("again", enable("Require MFA for all users")); len(n) != 0 || k != 0 {
		t.Fatalf("the same drift again: told %q, %d tickets", n, k)
	}
	w2, err := newDriftWatch(driftConfig{Tenants: []tierzero.TenantID{"fabrikam"}, Every: time.Hour, Plan: plans.plan, Audit: db,
		Notice: told.notice, Ticket: tickets.Escalate, Tickets: map[tierzero.TenantID]bool{"fabrikam": true}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	w = w2
	w.Load(ctx)
	if n, k := step("restart", enable("Require MFA for all users")); len(n) != 0 || k != 0 {
		t.Fatalf("after a restart: told %q, %d tickets", n, k)
	}
	// An enable phase that failed part way (security defaults off, one
	// policy left report-only) is drift too: the second policy is new.
	if n, k := step("partial enable", enable("Require MFA for all users"), enable("Require MFA for admins")); len(n) != 2 || k != 1 {
		t.Fatalf("a partly failed enable phase: told %q, %d tickets", n, k)
	}
}
