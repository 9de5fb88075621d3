package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var t0 = time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)

// clock is a fake Now that advances one second per call.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// testKey is the master key of test stores.
var testKey = bytes.Repeat([]byte{0x42}, KeySize)

// openTest opens a store with testKey unless opts names a key (or asks for
// none with a zero-length MasterKey).
func openTest(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	if opts.MasterKey == nil && opts.KeyFile == "" {
		opts.MasterKey = testKey
	} else if opts.MasterKey != nil && len(opts.MasterKey) == 0 {
		opts.MasterKey = nil
	}
	if opts.Now == nil {
		opts.Now = (&clock{t: t0}).Now
	}
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func collect(t *testing.T, db *DB, tenant tierzero.TenantID, since time.Time) []tierzero.AuditEvent {
	t.Helper()
	var got []tierzero.AuditEvent
	err := db.Audit(context.Background(), tenant, since, func(ev tierzero.AuditEvent) error {
		got = append(got, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("Audit(%s): %v", tenant, err)
	}
	return got
}

func seqs(evs []tierzero.AuditEvent) []uint64 {
	var s []uint64
	for _, ev := range evs {
		s = append(s, ev.Seq)
	}
	return s
}

// files lists every file under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestOpenCreatesTenantsDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	openTest(t, dir, Options{})
	fi, err := os.Stat(filepath.Join(dir, "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), fs.FileMode(0o700); got != want {
		t.Errorf("tenants dir mode = %v, want %v", got, want)
	}
}

func TestAppend(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	given := t0.Add(-time.Hour)
	tests := []struct {
		name     string
		ev       tierzero.AuditEvent
		wantSeq  uint64
		wantTime time.Time
	}{
		{"first gets seq 1 and now", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "hi"}, 1, t0.Add(time.Second)},
		{"caller seq is overwritten", tierzero.AuditEvent{Seq: 99, Kind: tierzero.AuditProposed}, 2, t0.Add(2 * time.Second)},
		{"given time is kept", tierzero.AuditEvent{Kind: tierzero.AuditDecided, Time: given}, 3, given},
		{"same tenant label accepted", tierzero.AuditEvent{Kind: tierzero.AuditReply, Tenant: "contoso"}, 4, t0.Add(3 * time.Second)},
	}
	for _, tt := range tests {
		if err := db.Append(ctx, "contoso", tt.ev); err != nil {
			t.Fatalf("%s: Append: %v", tt.name, err)
		}
	}
	got := collect(t, db, "contoso", time.Time{})
	if len(got) != len(tests) {
		t.Fatalf("got %d events, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		ev := got[i]
		if ev.Seq != tt.wantSeq || !ev.Time.Equal(tt.wantTime) || ev.Tenant != "contoso" || ev.Kind != tt.ev.Kind {
			t.Errorf("%s: got seq %d time %v tenant %q kind %q, want seq %d time %v tenant contoso kind %q",
				tt.name, ev.Seq, ev.Time, ev.Tenant, ev.Kind, tt.wantSeq, tt.wantTime, tt.ev.Kind)
		}
	}
}

func TestAppendOtherTenantLabelRejected(t *testing.T) {
	db := openTest(t, t.TempDir(), Options{})
	err := db.Append(context.Background(), "contoso", tierzero.AuditEvent{Tenant: "fabrikam", Kind: tierzero.AuditMessage})
	if got, want := tierzero.ErrorCode(err), tierzero.EInvalid; got != want {
		t.Fatalf("Append error = %v (code %q), want code %q", err, got, want)
	}
}

func TestAuditSince(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	for i := range 5 {
		ev := tierzero.AuditEvent{Kind: tierzero.AuditMessage, Time: t0.Add(time.Duration(i) * time.Minute)}
		if err := db.Append(ctx, "contoso", ev); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		since time.Time
		want  []uint64
	}{
		{"zero since is all", time.Time{}, []uint64{1, 2, 3, 4, 5}},
		{"before all", t0.Add(-time.Hour), []uint64{1, 2, 3, 4, 5}},
		{"exactly at an event is inclusive", t0.Add(2 * time.Minute), []uint64{3, 4, 5}},
		{"between events", t0.Add(2*time.Minute + time.Second), []uint64{4, 5}},
		{"after all", t0.Add(time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seqs(collect(t, db, "contoso", tt.since)); !slices.Equal(got, tt.want) {
				t.Errorf("seqs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAuditStopsOnCallbackError(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	for range 3 {
		if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	var seen []uint64
	err := db.Audit(ctx, "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		seen = append(seen, ev.Seq)
		if ev.Seq == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Audit error = %v, want %v", err, stop)
	}
	if want := []uint64{1, 2}; !slices.Equal(seen, want) {
		t.Errorf("seen = %v, want %v", seen, want)
	}
}

// TestAuditManyBatches reads across several read transactions and lets the
// callback append: the events it appends are not visited, and it does not
// deadlock.
func TestAuditManyBatches(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	n := 2*auditBatch + 7
	for range n {
		if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
			t.Fatal(err)
		}
	}
	var got int
	var want uint64 = 1
	err := db.Audit(ctx, "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		if ev.Seq != want {
			return fmt.Errorf("seq %d, want %d", ev.Seq, want)
		}
		want++
		got++
		return db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditReply})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("visited %d events, want %d", got, n)
	}
	if total := len(collect(t, db, "contoso", time.Time{})); total != 2*n {
		t.Errorf("total events = %d, want %d", total, 2*n)
	}
}

func TestAuditSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(dir, Options{Now: (&clock{t: t0}).Now, MasterKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []tierzero.AuditKind{tierzero.AuditMessage, tierzero.AuditDecided} {
		if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: k, Args: []byte(`{"upn":"a@contoso.com"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}

	db = openTest(t, dir, Options{})
	got := collect(t, db, "contoso", time.Time{})
	if want := []uint64{1, 2}; !slices.Equal(seqs(got), want) {
		t.Fatalf("seqs after reopen = %v, want %v", seqs(got), want)
	}
	if got[1].Kind != tierzero.AuditDecided || string(got[1].Args) != `{"upn":"a@contoso.com"}` {
		t.Errorf("event 2 = %+v", got[1])
	}
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditReply}); err != nil {
		t.Fatal(err)
	}
	if got, want := seqs(collect(t, db, "contoso", time.Time{})), []uint64{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("seqs = %v, want %v", got, want)
	}
}

func TestTenantsIsolated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	appends := map[tierzero.TenantID][]string{
		"contoso":  {"c1", "c2", "c3"},
		"fabrikam": {"f1", "f2"},
	}
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
		for _, text := range appends[tenant] {
			if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for tenant, texts := range appends {
		var got []string
		for i, ev := range collect(t, db, tenant, time.Time{}) {
			if ev.Tenant != tenant || ev.Seq != uint64(i+1) {
				t.Errorf("%s: event %d has tenant %q seq %d", tenant, i, ev.Tenant, ev.Seq)
			}
			got = append(got, ev.Text)
		}
		if !slices.Equal(got, texts) {
			t.Errorf("%s: texts = %v, want %v", tenant, got, texts)
		}
	}
	if got, want := files(t, dir), []string{"heads/contoso.head", "heads/fabrikam.head", "tenants/contoso.db", "tenants/fabrikam.db"}; !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	for _, f := range []string{"tenants/contoso.db", "tenants/fabrikam.db", "heads/contoso.head", "heads/fabrikam.head"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), fs.FileMode(0o600); got != want {
			t.Errorf("%s mode = %v, want %v", f, got, want)
		}
	}
	ids, err := db.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	if want := []tierzero.TenantID{"contoso", "fabrikam"}; !slices.Equal(ids, want) {
		t.Errorf("Tenants = %v, want %v", ids, want)
	}
}

func TestInvalidTenantRejected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	conv := func(tenant tierzero.TenantID) tierzero.Conversation {
		return tierzero.Conversation{ID: "c1", Tenant: tenant}
	}
	for _, tenant := range []tierzero.TenantID{"", "../x", "..", "a/b", `a\b`, "Contoso", "-x", "x.db", "a b", "x\x00", tierzero.TenantID(strings.Repeat("a", 64))} {
		t.Run(fmt.Sprintf("%q", tenant), func(t *testing.T) {
			calls := map[string]error{
				"Append":           db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}),
				"SaveConversation": db.SaveConversation(ctx, tenant, conv(tenant)),
				"Audit":            db.Audit(ctx, tenant, time.Time{}, func(tierzero.AuditEvent) error { return nil }),
			}
			_, err := db.Conversation(ctx, tenant, "c1")
			calls["Conversation"] = err
			for name, err := range calls {
				if got, want := tierzero.ErrorCode(err), tierzero.EInvalid; got != want {
					t.Errorf("%s error = %v (code %q), want code %q", name, err, got, want)
				}
			}
		})
	}
	if got := files(t, filepath.Dir(dir)); len(got) != 0 {
		t.Errorf("files created: %v", got)
	}
}

func TestUnknownTenantReadCreatesNoFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})

	called := false
	err := db.Audit(ctx, "contoso", time.Time{}, func(tierzero.AuditEvent) error { called = true; return nil })
	if got, want := tierzero.ErrorCode(err), tierzero.ENotFound; got != want {
		t.Errorf("Audit error = %v (code %q), want code %q", err, got, want)
	}
	if got, want := tierzero.ErrorMessage(err), "no data for tenant contoso"; got != want {
		t.Errorf("Audit message = %q, want %q", got, want)
	}
	if called {
		t.Error("callback called for an unknown tenant")
	}

	c, err := db.Conversation(ctx, "contoso", "c1")
	if err != nil {
		t.Fatalf("Conversation: %v", err)
	}
	if c.ID != "c1" || c.Tenant != "contoso" || len(c.Turns) != 0 {
		t.Errorf("Conversation = %+v, want empty c1 of contoso", c)
	}

	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files created by reads: %v", got)
	}
	ids, err := db.Tenants()
	if err != nil || len(ids) != 0 {
		t.Errorf("Tenants = %v, %v; want none", ids, err)
	}
}

func TestConversation(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})

	// A tenant with a file but without this conversation.
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Conversation(ctx, "contoso", "thread-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "thread-1" || got.Tenant != "contoso" || len(got.Turns) != 0 || !got.Updated.IsZero() {
		t.Errorf("empty default = %+v", got)
	}

	want := tierzero.Conversation{
		ID:     "thread-1",
		Tenant: "contoso",
		Turns: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "I forgot my password", Time: t0},
			{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "call-1", Action: "user.reset_password", Args: []byte(`{"upn":"a@contoso.com"}`)}}, Time: t0.Add(time.Second)},
			{Role: tierzero.TurnTool, ToolCallID: "call-1", Content: "done", Time: t0.Add(2 * time.Second)},
		},
	}
	if err := db.SaveConversation(ctx, "contoso", want); err != nil {
		t.Fatal(err)
	}
	got, err = db.Conversation(ctx, "contoso", "thread-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Updated.IsZero() {
		t.Error("Updated not set")
	}
	if got.ID != want.ID || got.Tenant != want.Tenant || len(got.Turns) != len(want.Turns) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want.Turns {
		g, w := got.Turns[i], want.Turns[i]
		if g.Role != w.Role || g.Content != w.Content || g.ToolCallID != w.ToolCallID || !g.Time.Equal(w.Time) || len(g.ToolCalls) != len(w.ToolCalls) {
			t.Errorf("turn %d = %+v, want %+v", i, g, w)
		}
	}
	if tc := got.Turns[1].ToolCalls[0]; tc.Action != "user.reset_password" || string(tc.Args) != `{"upn":"a@contoso.com"}` {
		t.Errorf("tool call = %+v", tc)
	}

	// Another tenant does not see it.
	other, err := db.Conversation(ctx, "fabrikam", "thread-1")
	if err != nil {
		t.Fatal(err)
	}
	if other.Tenant != "fabrikam" || len(other.Turns) != 0 {
		t.Errorf("fabrikam sees %+v", other)
	}
}

func TestSaveConversationRejected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	tests := []struct {
		name   string
		tenant tierzero.TenantID
		c      tierzero.Conversation
	}{
		{"other tenant", "contoso", tierzero.Conversation{ID: "c1", Tenant: "fabrikam"}},
		{"empty tenant on conversation", "contoso", tierzero.Conversation{ID: "c1"}},
		{"empty id", "contoso", tierzero.Conversation{Tenant: "contoso"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SaveConversation(ctx, tt.tenant, tt.c)
			if got, want := tierzero.ErrorCode(err), tierzero.EInvalid; got != want {
				t.Errorf("error = %v (code %q), want code %q", err, got, want)
			}
		})
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files created: %v", got)
	}
}

func TestConcurrentAppend(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{Now: time.Now})
	const workers, each = 32, 20
	var (
		wg   sync.WaitGroup
		errs = make(chan error, workers*each)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev := tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: fmt.Sprintf("%d/%d", w, i)}
				if err := db.Append(ctx, "contoso", ev); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := collect(t, db, "contoso", time.Time{})
	if len(got) != workers*each {
		t.Fatalf("got %d events, want %d", len(got), workers*each)
	}
	texts := map[string]bool{}
	for i, ev := range got {
		if want := uint64(i + 1); ev.Seq != want {
			t.Fatalf("event %d has seq %d, want %d", i, ev.Seq, want)
		}
		texts[ev.Text] = true
	}
	if len(texts) != workers*each {
		t.Errorf("%d distinct events, want %d", len(texts), workers*each)
	}
}

// TestLockedTenantFile stands in for a second tierzero process: bbolt's flock
// conflicts between two opens of one file even within a process.
func TestLockedTenantFile(t *testing.T) {
	ctx := context.Background()
	const timeout = 100 * time.Millisecond

	t.Run("store waits briefly and says who may hold the lock", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "tenants", "contoso.db")
		db := openTest(t, dir, Options{Timeout: timeout})
		holder, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		if elapsed := time.Since(start); elapsed > 10*timeout {
			t.Errorf("Append waited %v with Timeout %v", elapsed, timeout)
		}
		if err == nil {
			t.Fatal("Append succeeded while another handle holds the file lock")
		}
		t.Logf("error: %v", err)
		for _, want := range []string{path, "another tierzero process may hold it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if !errors.Is(err, berrors.ErrTimeout) {
			t.Errorf("error %v is not bolt's ErrTimeout", err)
		}
		if got, want := tierzero.ErrorCode(err), tierzero.EUnavailable; got != want {
			t.Errorf("code = %q, want %q", got, want)
		}
		if strings.Contains(tierzero.ErrorMessage(err), dir) {
			t.Errorf("user-safe message %q reveals the path", tierzero.ErrorMessage(err))
		}

		// Other tenants are unaffected, and the tenant works once released.
		if err := db.Append(ctx, "fabrikam", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
			t.Errorf("other tenant: %v", err)
		}
		if err := holder.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
			t.Errorf("Append after release: %v", err)
		}
	})

	t.Run("second store on the same dir", func(t *testing.T) {
		dir := t.TempDir()
		first := openTest(t, dir, Options{Timeout: timeout})
		if err := first.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
			t.Fatal(err)
		}
		second := openTest(t, dir, Options{Timeout: timeout})
		err := second.Audit(ctx, "contoso", time.Time{}, func(tierzero.AuditEvent) error { return nil })
		if !errors.Is(err, berrors.ErrTimeout) || !strings.Contains(err.Error(), "another tierzero process") {
			t.Errorf("second store Audit error = %v, want a lock timeout naming another process", err)
		}
		// bbolt used directly sees the store's lock too.
		_, err = bolt.Open(filepath.Join(dir, "tenants", "contoso.db"), 0o600, &bolt.Options{Timeout: timeout})
		if !errors.Is(err, berrors.ErrTimeout) {
			t.Errorf("direct bolt.Open error = %v, want ErrTimeout", err)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		if got := seqs(collect(t, second, "contoso", time.Time{})); !slices.Equal(got, []uint64{1}) {
			t.Errorf("second store after first closed: seqs = %v, want [1]", got)
		}
	})
}

func TestTenantsIgnoresStrayFiles(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for _, name := range []string{"notes.txt", "Bad.db", "contoso.db"} {
		if err := os.WriteFile(filepath.Join(dir, "tenants", name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tenants", "dir.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	ids, err := db.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	if want := []tierzero.TenantID{"contoso"}; !slices.Equal(ids, want) {
		t.Errorf("Tenants = %v, want %v", ids, want)
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, b.TempDir(), Options{Now: time.Now})
	ev := tierzero.AuditEvent{
		Kind:      tierzero.AuditDecided,
		Requester: "alice@contoso.com",
		Tool:      "user.reset_password",
		Args:      []byte(`{"upn":"alice@contoso.com"}`),
		Effect:    tierzero.EffectAllow,
		Rule:      "self-service-password",
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.Append(ctx, "contoso", ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, b.TempDir(), Options{Now: time.Now})
	ev := tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "my laptop will not sign in"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.Append(ctx, "contoso", ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
