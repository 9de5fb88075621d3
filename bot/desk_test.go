package bot_test

// These tests run the desk on the real pipeline: the agent (offline rules
// model, or go-openai against a fake OpenAI server on loopback), policy.Guard
// with the baseline, the Graph client over the simulator on loopback, and
// the encrypted store in a temporary directory. A recording Responder plays
// the channel.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/bot/bottest"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/store"
)

const (
	adele  = "adele.vance@contoso.com"
	miriam = "miriam.graham@contoso.com" // Adele's manager
	alex   = "alex.wilber@contoso.com"
	chTest = tierzero.Channel("test")
)

// clock is a test clock.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// sent is one thing the recorder was asked to deliver.
type sent struct {
	Kind   string // reply, private, approval, settled
	To     string // the person it is for
	Conv   tierzero.ConversationID
	Text   string
	Secret string
	Shown  []string
	Remind bool
}

// recorder is the channel: it records what the desk delivers.
type recorder struct {
	mu   sync.Mutex
	got  []sent
	fail atomic.Int32 // fail this many deliveries
}

func (r *recorder) add(s sent) error {
	if r.fail.Load() > 0 {
		r.fail.Add(-1)
		return fmt.Errorf("platform down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
	return nil
}

func (r *recorder) Reply(_ context.Context, to bot.Address, text string) error {
	return r.add(sent{Kind: "reply", To: to.To.UPN, Conv: to.Conversation, Text: text})
}

func (r *recorder) Private(_ context.Context, to bot.Address, n tierzero.PrivateNote) error {
	return r.add(sent{Kind: "private", To: n.To.UPN, Conv: to.Conversation, Secret: n.Secret.Reveal(), Text: n.Secret.Label})
}

func (r *recorder) ShowApproval(_ context.Context, a bot.ApprovalRequest) ([]string, error) {
	return a.Approvers, r.add(sent{Kind: "approval", Text: a.Approval.ID, Shown: a.Approvers, Remind: a.Reminder})
}

func (r *recorder) ApprovalSettled(_ context.Context, a tierzero.Approval, outcome string) error {
	return r.add(sent{Kind: "settled", Text: a.ID + ": " + outcome})
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.got...)
}

func (r *recorder) of(kind string) []sent {
	var out []sent
	for _, s := range r.all() {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls until cond holds, or fails the test.
var waitFor = bottest.WaitFor

type harness struct {
	pipe  *bottest.Pipeline
	sim   *sim.Server
	db    *store.DB
	desk  *bot.Desk
	rec   *recorder
	clock *clock
	tick  chan time.Time
}

type options struct {
	dir     string
	model   agent.Model
	sim     *sim.Server
	workers int
	// slowMemory delays every load of the agent's memory, widening the
	// window in which two answers could read the same plan.
	slowMemory time.Duration
}

// slowStore delays conversation loads.
type slowStore struct {
	*store.DB
	d time.Duration
}

func (s slowStore) Conversation(ctx context.Context, t tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	time.Sleep(s.d)
	return s.DB.Conversation(ctx, t, id)
}

var testKey = store.NewMasterKey()

// newHarness builds the pipeline with the test clock and ticker, and the
// recorder as the test channel; the desk is not open (see open).
func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	h := &harness{rec: &recorder{}, clock: newClock(), tick: make(chan time.Time)}
	po := bottest.Options{
		Sim: o.sim, Dir: o.dir, Key: testKey, Model: o.model, Workers: o.workers, Now: h.clock.Now,
		Responders: map[tierzero.Channel]bot.Responder{chTest: h.rec},
		Ticker:     func(time.Duration) (<-chan time.Time, func()) { return h.tick, func() {} },
	}
	if o.slowMemory > 0 {
		po.Memory = func(db *store.DB) agent.Store { return slowStore{db, o.slowMemory} }
	}
	h.pipe = bottest.New(t, po)
	h.sim, h.db, h.desk = h.pipe.Sim, h.pipe.DB, h.pipe.Desk
	return h
}

func (h *harness) open(t testing.TB) { h.pipe.Open(t) }

func inbound(delivery, upn string, conv tierzero.ConversationID, text string) tierzero.Inbound {
	return tierzero.Inbound{Delivery: delivery, Channel: chTest, Tenant: "contoso", Conversation: conv,
		User: tierzero.PlatformUser{UPN: upn}, Text: text}
}

// writes are the simulator's successful writes of a tenant.
func (h *harness) writes(tenant string) []sim.JournalEntry { return bottest.Writes(h.sim, tenant) }

func TestSubmitSameDeliveryConcurrently(t *testing.T) {
	h := newHarness(t, options{})
	h.open(t)
	in := inbound("Ev0001", adele, "D1", "I forgot my password")
	var wg sync.WaitGroup
	var dups atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := h.desk.Submit(context.Background(), in)
			if err != nil {
				t.Error(err)
			}
			if r.Duplicate {
				dups.Add(1)
			}
		}()
	}
	wg.Wait()
	if dups.Load() != 3 {
		t.Fatalf("%d of 4 deliveries were duplicates, want 3", dups.Load())
	}
	waitFor(t, "the reply", func() bool { return len(h.rec.of("reply")) >= 1 })
	time.Sleep(200 * time.Millisecond) // a second run would have replied by now
	if n := len(h.rec.of("reply")); n != 1 {
		t.Fatalf("%d replies, want 1: %+v", n, h.rec.all())
	}
	if w := h.writes("contoso"); len(w) != 1 || w[0].Method != http.MethodPatch {
		t.Fatalf("graph writes = %+v, want one PATCH", w)
	}
	priv := h.rec.of("private")
	if len(priv) != 1 || priv[0].To != adele || priv[0].Secret == "" {
		t.Fatalf("private notes = %+v, want the password for adele", priv)
	}
	if r := h.rec.of("reply")[0]; strings.Contains(r.Text, priv[0].Secret) || r.To != adele || r.Conv != "D1" {
		t.Fatalf("reply %+v: want adele's thread, without the secret", r)
	}
}

func TestTwoYesOnOneThreadRunThePlanOnce(t *testing.T) {
	h := newHarness(t, options{slowMemory: 100 * time.Millisecond})
	h.open(t)
	ctx := context.Background()
	// Alex is a tenant admin: his writes are shown as a plan first.
	if _, err := h.desk.Handle(ctx, inbound("", alex, "T1", "I forgot my password")); err != nil {
		t.Fatal(err)
	}
	if last := h.rec.of("reply"); len(last) != 1 || !strings.Contains(strings.ToLower(last[0].Text), "yes") {
		t.Fatalf("want a plan to confirm, got %+v", h.rec.all())
	}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One through the webhook path, one synchronous.
			var err error
			if i == 0 {
				_, err = h.desk.Submit(ctx, inbound("yes-0", alex, "T1", "yes"))
			} else {
				_, err = h.desk.Handle(ctx, inbound("", alex, "T1", "yes"))
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "both answers", func() bool { return len(h.rec.of("reply")) >= 3 })
	if w := h.writes("contoso"); len(w) != 1 {
		t.Fatalf("graph writes = %+v, want the plan's one reset", w)
	}
	if p := h.rec.of("private"); len(p) != 1 {
		t.Fatalf("private notes = %+v, want one password", p)
	}
}

func TestApprovalOutcomeAndSecretReachTheRequester(t *testing.T) {
	h := newHarness(t, options{})
	h.open(t)
	ctx := context.Background()
	if _, err := h.desk.Handle(ctx, inbound("", adele, "A1", "I got a new phone and lost my authenticator")); err != nil {
		t.Fatal(err)
	}
	shown := h.rec.of("approval")
	if len(shown) != 1 || len(shown[0].Shown) == 0 || shown[0].Shown[0] != miriam {
		t.Fatalf("approval shown = %+v, want it shown to the manager", h.rec.all())
	}
	id := shown[0].Text
	// Adele cannot approve her own; Alex is no approver of it.
	for _, who := range []string{adele, alex} {
		v, err := h.desk.Decide(ctx, bot.Vote{Channel: chTest, Tenant: "contoso", User: tierzero.PlatformUser{UPN: who}, Approval: id, Approve: true})
		if err != nil || !v.Refused {
			t.Fatalf("%s approving: %+v, %v; want refused", who, v, err)
		}
	}
	if w := h.writes("contoso"); len(w) != 0 {
		t.Fatalf("a refused decision wrote: %+v", w)
	}
	before := len(h.rec.all())
	v, err := h.desk.Decide(ctx, bot.Vote{Channel: chTest, Tenant: "contoso", User: tierzero.PlatformUser{UPN: miriam}, Approval: id, Approve: true})
	if err != nil || v.Refused || v.Approval.State != tierzero.ApprovalExecuted {
		t.Fatalf("manager approving: %+v, %v", v, err)
	}
	after := h.rec.all()[before:]
	var secret string
	for _, s := range after {
		if s.Kind == "private" {
			if s.To != adele {
				t.Fatalf("the pass went to %s", s.To)
			}
			secret = s.Secret
		}
	}
	if secret == "" {
		t.Fatalf("no pass delivered privately: %+v", after)
	}
	if strings.Contains(v.Text, secret) {
		t.Fatal("the approver was shown the pass")
	}
	told := false
	for _, s := range after {
		if s.Kind == "reply" {
			if s.To != adele || s.Conv != "A1" || strings.Contains(s.Text, secret) {
				t.Fatalf("outcome %+v: want adele's conversation, without the secret", s)
			}
			told = strings.Contains(s.Text, "delivered to you privately")
		}
		if s.Kind != "private" && (strings.Contains(s.Text, secret) || s.To == miriam) {
			t.Fatalf("%+v reached the approver or holds the secret", s)
		}
	}
	if !told {
		t.Fatalf("adele was not told: %+v", after)
	}
	if n := len(h.writes("contoso")); n != 1 {
		t.Fatalf("%d writes, want one pass", n)
	}
}

func TestRemindersAndExpiryFromTheTimer(t *testing.T) {
	h := newHarness(t, options{})
	h.open(t)
	ctx := context.Background()
	if _, err := h.desk.Handle(ctx, inbound("", adele, "R1", "I got a new phone and lost my authenticator")); err != nil {
		t.Fatal(err)
	}
	list, err := h.db.ListApprovals(ctx, "contoso", tierzero.ApprovalPending)
	if err != nil || len(list) != 1 {
		t.Fatalf("approvals %+v, %v", list, err)
	}
	a := list[0]
	h.tick <- h.clock.Now() // nothing due yet
	h.tick <- h.clock.Now()
	if n := len(h.rec.of("approval")); n != 1 {
		t.Fatalf("%d approval notices before any is due, want 1", n)
	}
	h.clock.t.Store(a.Expires.Add(-time.Hour).UnixNano())
	h.tick <- h.clock.Now()
	waitFor(t, "the reminder", func() bool { return len(h.rec.of("approval")) == 2 })
	if r := h.rec.of("approval")[1]; !r.Remind || r.Shown[0] != miriam {
		t.Fatalf("reminder %+v", r)
	}
	h.clock.t.Store(a.Expires.Add(time.Minute).UnixNano())
	h.tick <- h.clock.Now()
	waitFor(t, "the expiry", func() bool { return len(h.rec.of("settled")) == 1 })
	waitFor(t, "the requester told", func() bool {
		for _, s := range h.rec.of("reply") {
			if s.To == adele && s.Conv == "R1" && strings.Contains(s.Text, "expired") {
				return true
			}
		}
		return false
	})
	got, _ := h.db.Approval(ctx, "contoso", a.ID)
	if got.State != tierzero.ApprovalExpired {
		t.Fatalf("state %s, want expired", got.State)
	}
	h.tick <- h.clock.Now()
	if n := len(h.rec.of("settled")); n != 1 {
		t.Fatalf("expired %d times", n)
	}
}

func TestCloseDrainsWithinItsDeadline(t *testing.T) {
	s := sim.New(sim.Options{})
	h := newHarness(t, options{sim: s})
	h.open(t)
	ctx := context.Background()
	if err := s.AddFault("contoso", sim.Fault{Method: http.MethodPatch, Kind: sim.FaultLatency, LatencyMs: 1500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.desk.Submit(ctx, inbound("slow-1", adele, "C1", "I forgot my password")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request to start", func() bool {
		items, _ := h.db.Inbox(ctx, "contoso")
		return len(items) == 1 && !items[0].Started.IsZero()
	})
	time.Sleep(300 * time.Millisecond) // into the slow write
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.desk.Close(cctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("close took %s", d)
	}
	if n := len(h.rec.of("reply")); n != 1 {
		t.Fatalf("the running request was not finished: %+v", h.rec.all())
	}
	if _, err := h.desk.Submit(ctx, inbound("late", adele, "C1", "hello")); tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Fatalf("submit after close: %v, want unavailable", err)
	}
}

func TestCloseCancelsWhatOutlivesTheDeadline(t *testing.T) {
	s := sim.New(sim.Options{})
	h := newHarness(t, options{sim: s})
	h.open(t)
	ctx := context.Background()
	if err := s.AddFault("contoso", sim.Fault{Kind: sim.FaultLatency, LatencyMs: 30000}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.desk.Submit(ctx, inbound("stuck-1", adele, "C2", "I forgot my password")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := h.desk.Close(cctx)
	if err == nil {
		t.Fatal("close reported nothing cut short")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("close took %s with a 300ms deadline", d)
	}
}

// TestRestartAfterAck is the crash test: a child process acks a message
// (Submit returns) and is killed before any work; the next desk on the
// same data directory does the work exactly once.
func TestRestartAfterAck(t *testing.T) {
	if os.Getenv("TIERZERO_DESK_CHILD") != "" {
		childSubmitThenDie()
		return
	}
	dir := t.TempDir()
	key := store.EncodeMasterKey(testKey)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestartAfterAck$")
	cmd.Env = append(os.Environ(), "TIERZERO_DESK_CHILD="+dir, "TIERZERO_DESK_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "acked") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := sim.New(sim.Options{})
	h := newHarness(t, options{dir: dir, sim: s})
	items, err := h.db.Inbox(context.Background(), "contoso")
	if err != nil || len(items) != 1 {
		t.Fatalf("inbox after the kill: %+v, %v", items, err)
	}
	h.open(t)
	waitFor(t, "the reply", func() bool { return len(h.rec.of("reply")) == 1 })
	if w := h.writes("contoso"); len(w) != 1 {
		t.Fatalf("writes %+v, want one", w)
	}
	waitFor(t, "the inbox to empty", func() bool {
		items, _ := h.db.Inbox(context.Background(), "contoso")
		return len(items) == 0
	})
	// A redelivery of the same event after the restart changes nothing.
	if r, err := h.desk.Submit(context.Background(), inbound("Ev-crash", adele, "K1", "I forgot my password")); err != nil || !r.Duplicate {
		t.Fatalf("redelivery: %+v, %v", r, err)
	}
}

// childSubmitThenDie acks one message on a desk whose workers never run
// (it is not opened) and kills its own process.
func childSubmitThenDie() {
	dir := os.Getenv("TIERZERO_DESK_CHILD")
	key, _ := store.ParseMasterKey(os.Getenv("TIERZERO_DESK_KEY"))
	db, err := store.Open(dir, store.Options{MasterKey: key})
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	d, err := bot.New(bot.Config{Store: db, Agent: nopAgent{}, Guard: nopGuard{}, Directory: nopDir{},
		Staff: bot.Staff{Clients: []tierzero.TenantID{"contoso"}}})
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	if _, err := d.Submit(context.Background(), inbound("Ev-crash", adele, "K1", "I forgot my password")); err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	fmt.Println("acked")
	p, _ := os.FindProcess(os.Getpid())
	p.Kill() // SIGKILL: no deferred function, no Close
	select {}
}

type nopAgent struct{}

func (nopAgent) Handle(context.Context, tierzero.Message) (tierzero.Reply, error) {
	panic("the child must not run the work")
}

type nopGuard struct{}

func (nopGuard) DecideFrom(context.Context, tierzero.Requester, string, bool) (tierzero.Approval, tierzero.ToolResult, error) {
	panic("unused")
}
func (nopGuard) Sweep(context.Context, tierzero.TenantID, time.Duration) error { return nil }
func (nopGuard) Reconcile(context.Context, tierzero.TenantID) ([]tierzero.Intent, error) {
	return nil, nil
}

type nopDir struct{}

func (nopDir) User(context.Context, tierzero.TenantID, string) (tierzero.UserFacts, error) {
	return tierzero.UserFacts{}, tierzero.Errorf(tierzero.ENotFound, "none")
}

// fakeOpenAI is an OpenAI chat completions endpoint that reads the sign-ins
// of whoever asks, then answers; it records every request body.
type fakeOpenAI struct {
	mu     sync.Mutex
	bodies []string
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(b, &req)
	last := req.Messages[len(req.Messages)-1]
	msg := map[string]any{"role": "assistant", "content": "Your recent sign-ins look normal."}
	finish := "stop"
	if last.Role == "user" {
		upn := strings.Fields(last.Content)[len(strings.Fields(last.Content))-1]
		msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []map[string]any{{
			"id": "call_" + upn[:4], "type": "function",
			"function": map[string]string{"name": "user_signins", "arguments": `{"user":"` + upn + `"}`},
		}}}
		finish = "tool_calls"
	}
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
		"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]int{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
	})
}

func (f *fakeOpenAI) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

func TestTwoPeopleInOneThreadKeepTheirOwnMemory(t *testing.T) {
	api := &fakeOpenAI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	m, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", APIKey: "test", Model: "gpt-test"})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{model: m})
	h.open(t)
	ctx := context.Background()
	if _, err := h.desk.Handle(ctx, inbound("", adele, "C-shared", "show my recent sign-ins "+adele)); err != nil {
		t.Fatal(err)
	}
	first := len(api.all())
	if first < 2 || !strings.Contains(strings.Join(api.all(), ""), "tool_result") {
		t.Fatalf("adele's request did not read her sign-ins: %d requests", first)
	}
	if _, err := h.desk.Handle(ctx, inbound("", miriam, "C-shared", "show my recent sign-ins "+miriam)); err != nil {
		t.Fatal(err)
	}
	second := api.all()[first:]
	if len(second) < 2 {
		t.Fatalf("miriam's request made %d model calls", len(second))
	}
	for _, b := range second {
		if strings.Contains(b, adele) {
			t.Fatalf("miriam's model request holds adele's data:\n%s", b)
		}
	}
	// Adele's own follow-up still has her history.
	if _, err := h.desk.Handle(ctx, inbound("", adele, "C-shared", "thanks "+adele)); err != nil {
		t.Fatal(err)
	}
	third := api.all()[first+len(second):]
	if !strings.Contains(third[0], "tool_result") || strings.Contains(third[0], miriam) {
		t.Fatal("adele's memory lost her own results or gained miriam's")
	}
}

// TestInboxOfAnotherChannelIsLeftForIt: a process takes up the queued
// messages of the channels it serves only; a console session does not run
// (and answer nowhere) what serve's Slack accepted.
func TestInboxOfAnotherChannelIsLeftForIt(t *testing.T) {
	dir := t.TempDir()
	// An earlier process (never opened: it accepted, then stopped) left
	// one message of its own channel and one of ours.
	first := newHarness(t, options{dir: dir})
	in := inbound("Ev-other", adele, "O1", "I forgot my password")
	in.Channel = "elsewhere"
	if _, err := first.desk.Submit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	mine := inbound("Ev-mine", adele, "O2", "I forgot my password")
	if _, err := first.desk.Submit(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	first.pipe.Close()
	h := newHarness(t, options{dir: dir})
	h.open(t)
	waitFor(t, "this channel's message", func() bool { return len(h.rec.of("reply")) == 1 })
	// The reply is delivered before the item leaves the inbox.
	waitFor(t, "this channel's message to leave the inbox", func() bool {
		items, _ := h.db.Inbox(context.Background(), "contoso")
		return len(items) < 2
	})
	items, err := h.db.Inbox(context.Background(), "contoso")
	if err != nil || len(items) != 1 || items[0].Inbound.Channel != "elsewhere" || !items[0].Started.IsZero() {
		t.Fatalf("inbox = %+v, %v: want the other channel's message left, unstarted", items, err)
	}
	if w := h.writes("contoso"); len(w) != 1 {
		t.Fatalf("writes = %+v, want only this channel's reset", w)
	}
}

// TestIdentityIsOneLightRead: who is asking is read with one request for
// the user, never the facts policy needs: a tenant that refuses the risk
// or role reads (no Entra ID P2, no role-management permission) still
// knows its people.
func TestIdentityIsOneLightRead(t *testing.T) {
	s := sim.New(sim.Options{})
	h := newHarness(t, options{sim: s})
	for _, p := range []string{"/v1.0/identityProtection/**", "/v1.0/roleManagement/**", "/v1.0/users/*/memberOf/**", "/v1.0/users/*/manager"} {
		if err := s.AddFault("contoso", sim.Fault{Path: p, Kind: sim.FaultUnavailable}); err != nil {
			t.Fatal(err)
		}
	}
	req, err := h.desk.Identify(context.Background(), "contoso", chTest, tierzero.PlatformUser{UPN: adele})
	if err != nil || req.UPN != adele || req.ObjectID == "" || req.Role != tierzero.RoleEmployee || req.DisplayName == "" {
		t.Fatalf("Identify = %+v, %v", req, err)
	}
}

// TestReplyCarriesTheOutcome: Handle returns the agent's outcome with the
// reply; a requester the desk does not serve is refused by the desk.
func TestReplyCarriesTheOutcome(t *testing.T) {
	h := newHarness(t, options{})
	h.open(t)
	ctx := context.Background()
	reply, err := h.desk.Handle(ctx, inbound("", adele, "R1", "I forgot my password"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (tierzero.Outcome{Kind: tierzero.OutcomeResolved}); reply.Outcome != want {
		t.Errorf("outcome = %+v, want %+v (reply %q)", reply.Outcome, want, reply.Text)
	}
	reply, err = h.desk.Handle(ctx, inbound("", "nobody@contoso.com", "R2", "I forgot my password"))
	if err != nil {
		t.Fatal(err)
	}
	if reply.Outcome.Kind != tierzero.OutcomeRefused || reply.Outcome.Rule != tierzero.RuleIdentity || reply.Outcome.Reason == "" {
		t.Errorf("outcome = %+v, want refused by %s (reply %q)", reply.Outcome, tierzero.RuleIdentity, reply.Text)
	}
}
