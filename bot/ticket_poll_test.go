package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
)

// fakeSystem is a ticketing system without a webhook: its technicians'
// comments and status are read by Updates, from a cursor (the number of
// comments seen).
type fakeSystem struct {
	mu       sync.Mutex
	pushOnly bool
	tickets  map[string]tierzero.TicketRef // by correlation
	status   tierzero.TicketStatus
	comments []tierzero.TicketComment
	fail     error
	polls    []string // the cursors asked from
}

func (f *fakeSystem) Name() string { return "fake" }

func (f *fakeSystem) Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tickets == nil {
		f.tickets = map[string]tierzero.TicketRef{}
	}
	ref := tierzero.TicketRef{ID: fmt.Sprint(len(f.tickets) + 1), Number: fmt.Sprintf("F-%d", len(f.tickets)+1)}
	f.tickets[t.Correlation] = ref
	f.status = tierzero.TicketOpen
	return ref, nil
}

func (f *fakeSystem) Find(ctx context.Context, c string) (tierzero.TicketRef, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ref, ok := f.tickets[c]
	return ref, ok, nil
}

func (f *fakeSystem) Updates(ctx context.Context, ref tierzero.TicketRef, cursor string) (tierzero.TicketUpdate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls = append(f.polls, cursor)
	if f.fail != nil {
		return tierzero.TicketUpdate{}, f.fail
	}
	seen, _ := strconv.Atoi(cursor)
	return tierzero.TicketUpdate{Status: f.status, Comments: slices.Clone(f.comments[seen:]), Cursor: strconv.Itoa(len(f.comments))}, nil
}

func (f *fakeSystem) PushOnly() bool { return f.pushOnly }

func (f *fakeSystem) comment(text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.comments = append(f.comments, tierzero.TicketComment{ID: strconv.Itoa(len(f.comments) + 1), Author: "Tom", Text: text})
}

func (f *fakeSystem) set(s tierzero.TicketStatus, fail error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.fail = s, fail
}

func (f *fakeSystem) pollCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.polls)
}

type forgot struct {
	tenant tierzero.TenantID
	conv   tierzero.ConversationID
	upn    string
}

type pollRig struct {
	db     *store.DB
	sys    *fakeSystem
	told   *notifier
	now    time.Time
	mu     sync.Mutex
	forgot []forgot
}

func (r *pollRig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *pollRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

func (r *pollRig) forgets() []forgot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.forgot)
}

func newPollRig(t *testing.T) *pollRig {
	t.Helper()
	rig := &pollRig{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), told: &notifier{}, sys: &fakeSystem{}}
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: bytes.Repeat([]byte{7}, 32), Now: rig.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rig.db = db
	return rig
}

// tickets makes a worker over the rig's store and system, as a process
// start does.
func (r *pollRig) tickets(t *testing.T, ticker <-chan time.Time) *bot.Tickets {
	t.Helper()
	cfg := bot.TicketsConfig{Store: r.db, Systems: map[tierzero.TenantID]bot.TicketSystem{"contoso": r.sys},
		PollEvery: time.Minute, PollMax: 10 * time.Minute, Now: r.clock,
		Forget: func(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, req tierzero.Requester) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.forgot = append(r.forgot, forgot{tenant, conv, req.UPN})
			return nil
		}}
	if ticker != nil {
		cfg.Ticker = func(time.Duration) (<-chan time.Time, func()) { return ticker, func() {} }
	}
	tk, err := bot.NewTickets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tk.Attach(r.told)
	return tk
}

func (r *pollRig) record(t *testing.T, e tierzero.Escalation) tierzero.TicketRecord {
	t.Helper()
	rec, ok, err := r.db.Ticket(context.Background(), "contoso", tierzero.TicketCorrelation(e))
	if err != nil || !ok {
		t.Fatalf("ticket record: %v, %v", ok, err)
	}
	return rec
}

// TestTicketsPoll: a system without a webhook is polled, with backoff
// while the ticket is quiet and when the vendor fails; a comment and the
// close reach the requester once, across a restart; the close ends the
// conversation and the polling.
func TestTicketsPoll(t *testing.T) {
	rig := newPollRig(t)
	ctx := context.Background()
	tk := rig.tickets(t, nil)
	e := ticketEscalation(rig.clock())
	if err := tk.Escalate(ctx, e); err != nil {
		t.Fatal(err)
	}
	tk.Flush(ctx) // opened and told
	if texts := rig.told.texts(); len(texts) != 1 || !strings.Contains(texts[0], "ticket F-1") {
		t.Fatalf("told %q", texts)
	}

	// Quiet: polled at once, then after 1, 2, 4, 8, 10, 10 minutes.
	step := func(d time.Duration) int {
		rig.advance(d)
		tk.Flush(ctx)
		return rig.sys.pollCount()
	}
	if n := step(0); n != 1 {
		t.Fatalf("%d polls, want 1", n)
	}
	for _, w := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute} {
		before := rig.sys.pollCount()
		if n := step(w - time.Second); n != before {
			t.Fatalf("polled %s early", w)
		}
		if n := step(time.Second); n != before+1 {
			t.Fatalf("not polled after %s", w)
		}
	}

	// The vendor fails: the error is kept and the wait stays backed off.
	rig.sys.set(tierzero.TicketOpen, tierzero.Errorf(tierzero.EUnavailable, "ticket system fake for tenant contoso: 503"))
	before := rig.sys.pollCount()
	step(10 * time.Minute)
	if rec := rig.record(t, e); !strings.Contains(rec.Error, "503") || !rec.Next.Equal(rig.clock().Add(10*time.Minute)) {
		t.Fatalf("after a failed poll: %+v", rec)
	}
	rig.sys.set(tierzero.TicketOpen, nil)
	rig.sys.comment("Added you to Finance.")
	if n := step(10 * time.Minute); n != before+2 {
		t.Fatalf("%d polls, want %d", n, before+2)
	}
	rec := rig.record(t, e)
	if rec.Error != "" || rec.Cursor != "1" || !rec.Next.Equal(rig.clock().Add(time.Minute)) {
		t.Errorf("after the comment: %+v", rec)
	}
	if texts := rig.told.texts(); len(texts) != 2 || !strings.Contains(texts[1], "Update on ticket F-1 from Tom: Added you to Finance.") {
		t.Fatalf("told %q", texts)
	}

	// A restart: the cursor is the record's; the comment is not told again.
	tk = rig.tickets(t, nil)
	step(time.Minute)
	if got := rig.sys.polls[len(rig.sys.polls)-1]; got != "1" {
		t.Errorf("polled from %q after the restart, want 1", got)
	}
	if texts := rig.told.texts(); len(texts) != 2 {
		t.Fatalf("told %q", texts)
	}

	// The technician closes it: told once, the conversation ended, no
	// more polls.
	rig.sys.comment("Done, log in again.")
	rig.sys.set(tierzero.TicketResolved, nil)
	before = step(2 * time.Minute)
	texts := rig.told.texts()
	if len(texts) != 3 || !strings.Contains(texts[2], "from Tom: Done, log in again.") || !strings.Contains(texts[2], "F-1 was resolved") {
		t.Fatalf("told %q", texts)
	}
	if rec := rig.record(t, e); rec.State != tierzero.TicketFinished || rec.Status != tierzero.TicketResolved {
		t.Errorf("record %+v", rec)
	}
	want := []forgot{{"contoso", e.Conversation, "adele@contoso.com"}}
	if got := rig.forgets(); !slices.Equal(got, want) {
		t.Errorf("forgot %+v, want %+v", got, want)
	}
	tk = rig.tickets(t, nil)
	if n := step(time.Hour); n != before {
		t.Errorf("a finished ticket polled: %d polls, want %d", n, before)
	}
	if len(rig.told.texts()) != 3 || len(rig.forgets()) != 1 {
		t.Errorf("told %q, forgot %+v", rig.told.texts(), rig.forgets())
	}
}

// TestTicketsPollRetryAfter: a vendor's Retry-After is honoured.
func TestTicketsPollRetryAfter(t *testing.T) {
	rig := newPollRig(t)
	ctx := context.Background()
	tk := rig.tickets(t, nil)
	e := ticketEscalation(rig.clock())
	tk.Escalate(ctx, e)
	tk.Flush(ctx)
	rig.sys.set(tierzero.TicketOpen, retryAfter{time.Hour})
	tk.Flush(ctx)
	if rec := rig.record(t, e); !rec.Next.Equal(rig.clock().Add(time.Hour)) || rec.Error == "" {
		t.Errorf("after a 429 with Retry-After 3600: %+v", rec)
	}
}

type retryAfter struct{ d time.Duration }

func (r retryAfter) Error() string             { return "rate limited" }
func (r retryAfter) RetryAfter() time.Duration { return r.d }

// TestTicketsPushOnlyNotPolled: a system whose updates come by its
// webhook is never polled.
func TestTicketsPushOnlyNotPolled(t *testing.T) {
	rig := newPollRig(t)
	rig.sys.pushOnly = true
	ctx := context.Background()
	tk := rig.tickets(t, nil)
	tk.Escalate(ctx, ticketEscalation(rig.clock()))
	for range 3 {
		tk.Flush(ctx)
		rig.advance(time.Hour)
	}
	if n := rig.sys.pollCount(); n != 0 {
		t.Errorf("%d polls of a push-only system", n)
	}
}

// TestTicketsWorkerPolls: the worker Open starts polls on its ticker; a
// close reaches the requester; Close stops it.
func TestTicketsWorkerPolls(t *testing.T) {
	rig := newPollRig(t)
	tick := make(chan time.Time)
	tk := rig.tickets(t, tick)
	if err := tk.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := ticketEscalation(rig.clock())
	if err := tk.Escalate(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	// Each tick is taken only by the worker's select, after a pass.
	deadline := time.After(10 * time.Second)
	until := func(n int) {
		for len(rig.told.texts()) < n {
			select {
			case tick <- rig.clock():
				rig.advance(10 * time.Minute) // any poll is due again
			case <-deadline:
				t.Fatalf("told %q", rig.told.texts())
			}
		}
	}
	until(1)
	rig.sys.set(tierzero.TicketClosed, nil)
	until(2)
	if err := tk.Close(); err != nil {
		t.Fatal(err)
	}
	if texts := rig.told.texts(); len(texts) != 2 || !strings.Contains(texts[1], "F-1 was closed") {
		t.Errorf("told %q", texts)
	}
	if rec := rig.record(t, e); rec.State != tierzero.TicketFinished || len(rig.forgets()) != 1 {
		t.Errorf("record %+v, forgot %+v", rec, rig.forgets())
	}
}
