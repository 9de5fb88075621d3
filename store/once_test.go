package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// settable is a fake clock that moves only when told.
type settable struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settable) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settable) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestDedupeConcurrent(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	const workers = 64
	for round := range 5 {
		id := fmt.Sprintf("Ev%03d", round)
		var firsts atomic.Int32
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				first, err := db.Dedupe(ctx, "contoso", id, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		wg.Wait()
		if n := firsts.Load(); n != 1 {
			t.Errorf("%s: %d calls got first=true, want exactly 1", id, n)
		}
	}
	// The same id in another tenant is another delivery.
	if first, err := db.Dedupe(ctx, "fabrikam", "Ev000", time.Hour); err != nil || !first {
		t.Errorf("fabrikam Ev000 = %v, %v; want first", first, err)
	}
}

func TestDedupeExpiry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := &settable{t: t0}
	db := openTest(t, dir, Options{Now: clk.Now})
	tests := []struct {
		id        string
		ttl       time.Duration
		advance   time.Duration
		wantFirst bool
	}{
		{"a", time.Minute, 0, true},
		{"a", time.Minute, 30 * time.Second, false},
		{"a", time.Minute, 31 * time.Second, true}, // expired: a new delivery
		{"a", time.Minute, 0, false},
		{"b", time.Hour, 0, true},
	}
	for i, tt := range tests {
		clk.Add(tt.advance)
		first, err := db.Dedupe(ctx, "contoso", tt.id, tt.ttl)
		if err != nil || first != tt.wantFirst {
			t.Errorf("step %d (%s): first = %v, %v; want %v", i, tt.id, first, err, tt.wantFirst)
		}
	}
	for _, bad := range []struct {
		id  string
		ttl time.Duration
	}{{"", time.Hour}, {"x", 0}, {"x", -time.Second}} {
		if _, err := db.Dedupe(ctx, "contoso", bad.id, bad.ttl); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("Dedupe(%q, %v) = %v, want invalid", bad.id, bad.ttl, err)
		}
	}

	// Expired ids are purged, a bounded batch per call.
	for i := range 3 * purgeBatch {
		if _, err := db.Dedupe(ctx, "contoso", fmt.Sprintf("old-%d", i), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Hour)
	count := func() (ids, index int) {
		f, _ := db.acquire(ctx, "contoso", false)
		defer db.release(f)
		f.db.View(func(tx *bolt.Tx) error {
			ids, index = tx.Bucket(deliveriesBucket).Stats().KeyN, tx.Bucket(expiryBucket).Stats().KeyN
			return nil
		})
		return ids, index
	}
	before, _ := count()
	for i := range 4 {
		if _, err := db.Dedupe(ctx, "contoso", fmt.Sprintf("new-%d", i), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	ids, index := count()
	if ids != index {
		t.Errorf("%d ids but %d index entries", ids, index)
	}
	if want := 4; ids != want {
		t.Errorf("after purging: %d ids (from %d), want %d", ids, before, want)
	}
}

func TestIntents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	if got, err := db.OpenIntents(ctx, "contoso"); err != nil || len(got) != 0 {
		t.Fatalf("OpenIntents of an unknown tenant = %v, %v", got, err)
	}
	mk := func(id string) tierzero.Intent {
		return tierzero.Intent{ID: id, Action: "user.reset_password", Args: []byte(`{"user":"adele.vance@contoso.com"}`),
			Requester: "adele.vance@contoso.com", Conversation: "c1"}
	}
	for _, id := range []string{"i1", "i2", "i3", "i4"} {
		if err := db.BeginIntent(ctx, "contoso", mk(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.BeginIntent(ctx, "contoso", mk("i1")); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Errorf("second BeginIntent(i1) = %v, want conflict", err)
	}
	steps := []struct {
		id      string
		outcome tierzero.IntentOutcome
		code    string
	}{
		{"i1", tierzero.IntentDone, ""},
		{"i2", tierzero.IntentFailed, ""},
		{"i1", tierzero.IntentFailed, tierzero.EConflict},
		{"nope", tierzero.IntentDone, tierzero.ENotFound},
		{"i3", "maybe", tierzero.EInvalid},
	}
	for _, s := range steps {
		err := db.FinishIntent(ctx, "contoso", s.id, s.outcome, "detail of "+s.id)
		if got := tierzero.ErrorCode(err); got != s.code {
			t.Errorf("FinishIntent(%s, %s) = %v (code %q), want code %q", s.id, s.outcome, err, got, s.code)
		}
	}
	if err := db.BeginIntent(ctx, "contoso", mk("i1")); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Errorf("BeginIntent of a finished id = %v, want conflict", err)
	}
	for _, bad := range []tierzero.Intent{{Action: "x"}, {ID: "x"}, {ID: "x", Action: "y", Outcome: tierzero.IntentDone}} {
		if err := db.BeginIntent(ctx, "contoso", bad); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("BeginIntent(%+v) = %v, want invalid", bad, err)
		}
	}

	// Reconciliation after a restart sees i3 and i4, with their arguments.
	db.Close()
	db = openTest(t, dir, Options{})
	open, err := db.OpenIntents(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range open {
		ids = append(ids, in.ID)
		if in.Outcome != "" || in.Started.IsZero() || string(in.Args) != `{"user":"adele.vance@contoso.com"}` || in.Requester != "adele.vance@contoso.com" {
			t.Errorf("open intent = %+v", in)
		}
	}
	if want := []string{"i3", "i4"}; !slices.Equal(ids, want) {
		t.Errorf("open intents = %v, want %v", ids, want)
	}
	for _, id := range ids {
		if err := db.FinishIntent(ctx, "contoso", id, tierzero.IntentNeedsReview, "crashed before the outcome"); err != nil {
			t.Fatal(err)
		}
	}
	if open, err := db.OpenIntents(ctx, "contoso"); err != nil || len(open) != 0 {
		t.Errorf("after reconciliation: %v, %v", open, err)
	}
}

// TestMaxOpen runs many goroutines over many tenants with few open handles
// allowed (run it with -race): files are closed and reopened under load,
// never while in use, and every write survives.
func TestMaxOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const maxOpen, tenants, workers, ops = 4, 40, 16, 60
	db := openTest(t, dir, Options{MaxOpen: maxOpen, Now: time.Now})
	var (
		appended [tenants]atomic.Int64
		peak     atomic.Int64
		wg       sync.WaitGroup
	)
	id := func(i int) tierzero.TenantID { return tierzero.TenantID(fmt.Sprintf("t%02d", i)) }
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range ops {
				ti := r.IntN(tenants)
				tenant := id(ti)
				var err error
				switch i % 4 {
				case 0, 1:
					if err = db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err == nil {
						appended[ti].Add(1)
					}
				case 2:
					_, err = db.Dedupe(ctx, tenant, fmt.Sprintf("w%d-%d", w, i), time.Hour)
				case 3:
					c, e := db.Conversation(ctx, tenant, "c1")
					if e == nil {
						c.Turns = append(c.Turns, tierzero.Turn{Role: tierzero.TurnUser, Content: "hi"})
						e = db.SaveConversation(ctx, tenant, c)
					}
					err = e
				}
				if err != nil {
					t.Error(err)
					return
				}
				if n := int64(db.openFiles()); n > peak.Load() {
					peak.Store(n)
				}
			}
		})
	}
	wg.Wait()
	if n := db.openFiles(); n > maxOpen {
		t.Errorf("%d files open when idle, want at most %d", n, maxOpen)
	}
	if p := peak.Load(); p > maxOpen+workers {
		t.Errorf("peak %d open files, want at most %d", p, maxOpen+workers)
	}
	t.Logf("peak open files: %d (MaxOpen %d, %d workers)", peak.Load(), maxOpen, workers)
	for i := range tenants {
		want := appended[i].Load()
		if want == 0 {
			continue
		}
		if n, err := db.Verify(ctx, id(i)); err != nil || int64(n) != want {
			t.Errorf("%s: Verify = %d, %v; want %d", id(i), n, err, want)
		}
	}
	if n := db.openFiles(); n > maxOpen {
		t.Errorf("%d files open after verifying, want at most %d", n, maxOpen)
	}
}

// TestShredWhileBusy: Shred waits for calls in progress and calls made
// meanwhile wait for Shred; nothing races or deadlocks.
func TestShredWhileBusy(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{MaxOpen: 2, Now: time.Now})
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
				if err != nil && !errors.Is(err, ErrShredded) {
					t.Error(err)
					return
				}
				db.Append(ctx, "fabrikam", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := db.Shred(ctx, "contoso"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
	if _, err := db.Verify(ctx, "contoso"); err != nil {
		t.Errorf("Verify after a busy shred: %v", err)
	}
	if _, err := db.Verify(ctx, "fabrikam"); err != nil {
		t.Errorf("fabrikam: %v", err)
	}
}
