package bot_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
	"github.com/tierzero/tierzero/ticket"
	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
)

type told struct {
	req  tierzero.Requester
	conv tierzero.ConversationID
	text string
}

type notifier struct {
	mu  sync.Mutex
	got []told
}

func (n *notifier) Tell(ctx context.Context, req tierzero.Requester, conv tierzero.ConversationID, text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, told{req, conv, text})
}

func (n *notifier) texts() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, t := range n.got {
		out = append(out, t.text)
	}
	return out
}

type ticketRig struct {
	db      *store.DB
	fake    *webhooktest.Receiver
	tickets *bot.Tickets
	told    *notifier
	now     time.Time
	mu      sync.Mutex
}

func (r *ticketRig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *ticketRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

func newTicketRig(t *testing.T, timeout time.Duration, wrap ...func(bot.TicketSystem) bot.TicketSystem) *ticketRig {
	t.Helper()
	rig := &ticketRig{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), told: &notifier{}}
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: bytes.Repeat([]byte{7}, 32), Now: rig.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rig.db = db
	rig.fake = &webhooktest.Receiver{Secret: []byte("s3cret")}
	srv := httptest.NewServer(rig.fake)
	t.Cleanup(srv.Close)
	t.Cleanup(rig.fake.Release)
	c, err := webhook.New(webhook.Config{URL: srv.URL, SecretEnv: "T_SECRET"}, ticket.Options{Tenant: "contoso", Timeout: timeout,
		Getenv: func(string) string { return "s3cret" }, Now: rig.clock,
		Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	var sys bot.TicketSystem = c
	for _, w := range wrap {
		sys = w(sys)
	}
	rig.tickets, err = bot.NewTickets(bot.TicketsConfig{Store: db, Systems: map[tierzero.TenantID]bot.TicketSystem{"contoso": sys},
		MaxBackoff: 2 * time.Hour, Now: rig.clock})
	if err != nil {
		t.Fatal(err)
	}
	rig.tickets.Attach(rig.told)
	return rig
}

func ticketEscalation(at time.Time) tierzero.Escalation {
	return tierzero.Escalation{Tenant: "contoso", Conversation: "C1:1700000000.000100", Time: at,
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Channel: tierzero.ChannelSlack},
		Summary:   "Adele asked for access to Finance.", Cause: tierzero.CauseModelRequest, Reason: "the owner decides",
		Transcript: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "add me to Finance", Time: at}}}
}

func (r *ticketRig) record(t *testing.T, e tierzero.Escalation) tierzero.TicketRecord {
	t.Helper()
	rec, ok, err := r.db.Ticket(context.Background(), "contoso", tierzero.TicketCorrelation(e))
	if err != nil || !ok {
		t.Fatalf("ticket record: %v, %v", ok, err)
	}
	return rec
}

func TestTicketsOpenTellUpdate(t *testing.T) {
	rig := newTicketRig(t, time.Second)
	ctx := context.Background()
	e := ticketEscalation(rig.clock())
	// Handed over twice (a retried hand-over): one ticket.
	for range 2 {
		if err := rig.tickets.Escalate(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	rig.tickets.Flush(ctx)
	rig.tickets.Flush(ctx)
	if got := rig.fake.Tickets(); len(got) != 1 || got[0].Event.Ticket.Message != "add me to Finance" {
		t.Fatalf("tickets %+v", got)
	}
	rec := rig.record(t, e)
	if rec.State != tierzero.TicketOpened || rec.Ref.Number != "T-0001" || !rec.Told || rec.Attempts != 1 {
		t.Errorf("record %+v", rec)
	}
	texts := rig.told.texts()
	if len(texts) != 1 || !strings.Contains(texts[0], "ticket T-0001") {
		t.Fatalf("told %q", texts)
	}
	if g := rig.told.got[0]; g.conv != e.Conversation || g.req.UPN != "adele@contoso.com" {
		t.Errorf("told %+v", g)
	}

	corr := rec.Correlation()
	comment := tierzero.TicketUpdate{Comments: []tierzero.TicketComment{{ID: "1", Author: "Tom \x1b[31mTech", Text: "Added you to Finance.\x07"}}}
	for range 2 { // redelivered: passed on once
		if err := rig.tickets.Update(ctx, "contoso", "d-1", corr, comment); err != nil {
			t.Fatal(err)
		}
	}
	if err := rig.tickets.Update(ctx, "contoso", "d-2", corr, tierzero.TicketUpdate{Status: tierzero.TicketClosed}); err != nil {
		t.Fatal(err)
	}
	// After the close, nothing more is passed on.
	if err := rig.tickets.Update(ctx, "contoso", "d-3", corr, tierzero.TicketUpdate{Comments: []tierzero.TicketComment{{Text: "late"}}}); err != nil {
		t.Fatal(err)
	}
	if err := rig.tickets.Update(ctx, "contoso", "d-4", "tz-unknown", comment); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("unknown ticket: %v", err)
	}
	texts = rig.told.texts()
	if len(texts) != 3 || !strings.Contains(texts[1], "Added you to Finance.") || !strings.Contains(texts[1], "from Tom") ||
		strings.ContainsAny(texts[1], "\x1b\x07") || !strings.Contains(texts[2], "T-0001 was closed") {
		t.Errorf("told %q", texts)
	}
	if rec := rig.record(t, e); rec.State != tierzero.TicketFinished || rec.Status != tierzero.TicketClosed {
		t.Errorf("record %+v", rec)
	}
}

// TestTicketsTimeoutApplied: the vendor opens the ticket and its answer
// never comes; the next attempt finds it by correlation id: one ticket.
func TestTicketsTimeoutApplied(t *testing.T) {
	rig := newTicketRig(t, 200*time.Millisecond)
	ctx := context.Background()
	e := ticketEscalation(rig.clock())
	rig.fake.HangCreates(1)
	if err := rig.tickets.Escalate(ctx, e); err != nil {
		t.Fatal(err)
	}
	rig.tickets.Flush(ctx)
	rec := rig.record(t, e)
	if rec.State != tierzero.TicketQueued || rec.Attempts != 1 || !strings.Contains(rec.Error, "no response") || len(rig.told.texts()) != 0 {
		t.Fatalf("after the timeout: %+v", rec)
	}
	rig.tickets.Flush(ctx) // not due yet
	rig.advance(time.Hour)
	rig.tickets.Flush(ctx)
	if n := len(rig.fake.Tickets()); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
	creates := 0
	for _, r := range rig.fake.Requests() {
		if r.Event == webhook.EventCreate {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d creates sent, want 1 (then a find)", creates)
	}
	if rec := rig.record(t, e); rec.State != tierzero.TicketOpened || rec.Ref.Number != "T-0001" || !rec.Told {
		t.Errorf("record %+v", rec)
	}
}

// lagging is a system whose search sees a new ticket only some time after
// its create (Jira's JQL).
type lagging struct {
	bot.TicketSystem
	delay time.Duration
}

func (l lagging) FindDelay() time.Duration { return l.delay }

// After an ambiguous create on a system whose search lags, the worker asks
// Find only once the ticket can be found, however short its backoff: an
// earlier Find could miss it and a second create make two tickets.
func TestTicketsFindWaitsForLaggingSearch(t *testing.T) {
	rig := newTicketRig(t, 200*time.Millisecond, func(s bot.TicketSystem) bot.TicketSystem { return lagging{s, time.Minute} })
	ctx := context.Background()
	e := ticketEscalation(rig.clock())
	rig.fake.HangCreates(1)
	if err := rig.tickets.Escalate(ctx, e); err != nil {
		t.Fatal(err)
	}
	rig.tickets.Flush(ctx)
	rig.advance(5 * time.Second) // past the backoff, before the search sees it
	rig.tickets.Flush(ctx)
	finds := func() int {
		n := 0
		for _, r := range rig.fake.Requests() {
			if r.Event == webhook.EventFind {
				n++
			}
		}
		return n
	}
	if n := finds(); n != 0 {
		t.Fatalf("%d finds before the search can see the ticket, want 0", n)
	}
	if rec := rig.record(t, e); rec.State != tierzero.TicketQueued || rec.Next.Before(rig.clock().Add(50*time.Second)) {
		t.Fatalf("record %+v: want queued until a minute after the attempt", rec)
	}
	rig.advance(time.Minute)
	rig.tickets.Flush(ctx)
	if n := finds(); n != 1 || len(rig.fake.Tickets()) != 1 {
		t.Fatalf("%d finds, %d tickets: want one find and one ticket", n, len(rig.fake.Tickets()))
	}
}

func TestTicketsRateLimitAndAuth(t *testing.T) {
	rig := newTicketRig(t, time.Second)
	ctx := context.Background()
	e := ticketEscalation(rig.clock())
	rig.fake.RateLimit(1, 3600)
	rig.tickets.Escalate(ctx, e)
	rig.tickets.Flush(ctx)
	rec := rig.record(t, e)
	if rec.State != tierzero.TicketQueued || !rec.Next.Equal(rig.clock().Add(time.Hour)) || !strings.Contains(rec.Error, "rate limited") {
		t.Fatalf("after 429 Retry-After 3600: %+v", rec)
	}
	rig.advance(time.Hour)
	rig.fake.Unauthorized(true)
	rig.tickets.Flush(ctx)
	rec = rig.record(t, e)
	for _, want := range []string{"ticket system webhook", "tenant contoso", "authentication failed"} {
		if !strings.Contains(rec.Error, want) {
			t.Errorf("error %q lacks %q", rec.Error, want)
		}
	}
	if rec.State != tierzero.TicketQueued || strings.Contains(rec.Error, "s3cret") {
		t.Errorf("record %+v", rec)
	}
	rig.fake.Unauthorized(false)
	rig.advance(3 * time.Hour)
	rig.tickets.Flush(ctx)
	if rec := rig.record(t, e); rec.State != tierzero.TicketOpened || len(rig.fake.Tickets()) != 1 {
		t.Errorf("after the credentials were fixed: %+v", rec)
	}
}

func TestTicketsFallback(t *testing.T) {
	rig := newTicketRig(t, time.Second)
	e := ticketEscalation(rig.clock())
	e.Tenant = "fabrikam"
	if err := rig.tickets.Escalate(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if got, _ := rig.db.Tickets(context.Background(), "fabrikam"); len(got) != 0 {
		t.Errorf("a tenant without a ticket system queued %+v", got)
	}
}

// failingTickets is the store whose next ticket write fails (a full disk).
type failingTickets struct {
	*store.DB
	fail bool
}

func (f *failingTickets) PutTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord) error {
	if f.fail {
		f.fail = false
		return errors.New("disk full")
	}
	return f.DB.PutTicket(ctx, tenant, r)
}

func (f *failingTickets) UpdateTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord, delivery string, ttl time.Duration) (bool, error) {
	if f.fail {
		f.fail = false
		return false, errors.New("disk full")
	}
	return f.DB.UpdateTicket(ctx, tenant, r, delivery, ttl)
}

// A callback whose update cannot be recorded is answered with an error and
// posted again with the same delivery id: the retry is passed on, once.
func TestTicketsUpdateNotRecordedIsRetried(t *testing.T) {
	rig := newTicketRig(t, time.Second)
	ctx := context.Background()
	e := ticketEscalation(rig.clock())
	if err := rig.tickets.Escalate(ctx, e); err != nil {
		t.Fatal(err)
	}
	rig.tickets.Flush(ctx)
	corr := rig.record(t, e).Correlation()

	st := &failingTickets{DB: rig.db, fail: true}
	tickets, err := bot.NewTickets(bot.TicketsConfig{Store: st, Now: rig.clock})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifier{}
	tickets.Attach(n)
	comment := tierzero.TicketUpdate{Comments: []tierzero.TicketComment{{ID: "1", Text: "Added you to Finance."}}}
	if err := tickets.Update(ctx, "contoso", "d-1", corr, comment); err == nil {
		t.Fatal("an update not recorded is not an error")
	}
	for range 2 {
		if err := tickets.Update(ctx, "contoso", "d-1", corr, comment); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.texts(); len(got) != 1 || !strings.Contains(got[0], "Added you to Finance.") {
		t.Errorf("told %q", got)
	}
}
