package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// A unit's records and conversation are committed with the intent that
// follows them, in one transaction; what comes after waits for the unit's
// commit; reads of the tenant see what the unit queued.
func TestUnitCommitsWithBarrier(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	const tenant = tierzero.TenantID("contoso")
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "before"}); err != nil {
		t.Fatal(err)
	}
	uctx, commit := tierzero.BeginUnit(ctx)
	s0 := db.Stats()
	for i := range 3 {
		if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditDecided, Text: fmt.Sprint("read ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.Stats(); got != s0 {
		t.Fatalf("queued records were committed: %+v, was %+v", got, s0)
	}
	// Another reader (no unit) does not see queued records...
	if n := len(collect(t, db, tenant, time.Time{})); n != 1 {
		t.Fatalf("%d records visible outside the unit before its commit, want 1", n)
	}
	// ...the intent commits them with itself, in one transaction.
	if err := db.BeginIntent(uctx, tenant, tierzero.Intent{ID: "i1", Action: "user.reset_password"}); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats(); got.Commits != s0.Commits+1 || got.HeadWrites > s0.HeadWrites+1 {
		// Within a unit the head is written in the background.
		t.Fatalf("intent and 3 records: %d commits and %d head writes, want 1 and at most 1", got.Commits-s0.Commits, got.HeadWrites-s0.HeadWrites)
	}
	if n := len(collect(t, db, tenant, time.Time{})); n != 4 {
		t.Fatalf("%d records after the intent, want 4", n)
	}
	// The outcome, the executed record and the conversation are queued;
	// a read of the conversation in the unit sees it.
	if err := db.FinishIntent(uctx, tenant, "i1", tierzero.IntentDone, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Tool: "user.reset_password", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	conv := tierzero.Conversation{ID: "c1", Tenant: tenant, Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}}
	if err := db.SaveConversation(uctx, tenant, conv); err != nil {
		t.Fatal(err)
	}
	if open, err := db.OpenIntents(ctx, tenant); err != nil || len(open) != 1 {
		t.Fatalf("outside the unit, before its commit: %d open intents (%v), want 1", len(open), err)
	}
	got, err := db.Conversation(uctx, tenant, "c1")
	if err != nil || len(got.Turns) != 1 {
		t.Fatalf("the unit reads its own conversation: %d turns (%v), want 1", len(got.Turns), err)
	}
	if err := commit(ctx); err != nil {
		t.Fatal(err)
	}
	if open, err := db.OpenIntents(ctx, tenant); err != nil || len(open) != 0 {
		t.Fatalf("after the commit: %d open intents (%v), want 0", len(open), err)
	}
	if got := db.Stats(); got.Commits != s0.Commits+2 {
		t.Fatalf("the unit took %d commits, want 2", got.Commits-s0.Commits)
	}
	if n, err := db.Verify(ctx, tenant); err != nil || n != 5 {
		t.Fatalf("verify: %d records, %v; want 5", n, err)
	}
	// Verify waited for the head of the last commit: one per commit.
	if got := db.Stats(); got.HeadWrites != s0.HeadWrites+2 {
		t.Fatalf("%d head writes for the unit's 2 commits", got.HeadWrites-s0.HeadWrites)
	}
	if v, err := db.VerifyAudit(ctx, tenant, nil); err != nil || v.Head != 5 {
		t.Fatalf("the head names record %d (%v), want 5", v.Head, err)
	}
}

// A unit that is never committed (the process died) loses only what it
// queued; the chain verifies and goes on.
func TestUnitNotCommittedLosesOnlyQueued(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const tenant = tierzero.TenantID("contoso")
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "kept"}); err != nil {
		t.Fatal(err)
	}
	uctx, _ := tierzero.BeginUnit(ctx)
	if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditDecided, Text: "lost"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openTest(t, dir, Options{})
	if n, err := db.Verify(ctx, tenant); err != nil || n != 1 {
		t.Fatalf("verify: %d records, %v; want 1", n, err)
	}
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "next"}); err != nil {
		t.Fatal(err)
	}
}

// Concurrent writers of one tenant share commits (group commit), and the
// chain they write verifies.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	const tenant = tierzero.TenantID("contoso")
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
		t.Fatal(err)
	}
	s0 := db.Stats()
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: fmt.Sprint(w, "/", i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s := db.Stats()
	if s.Writes-s0.Writes != writers*each {
		t.Fatalf("%d writes counted, want %d", s.Writes-s0.Writes, writers*each)
	}
	t.Logf("%d appends in %d commits", writers*each, s.Commits-s0.Commits)
	if s.Commits-s0.Commits >= writers*each {
		t.Errorf("%d appends by %d writers took %d commits: none was shared", writers*each, writers, s.Commits-s0.Commits)
	}
	if n, err := db.Verify(ctx, tenant); err != nil || n != 1+writers*each {
		t.Fatalf("verify: %d records, %v; want %d", n, err, 1+writers*each)
	}
}

// A crash between a transaction's commit and its head write leaves all of
// its records without a head: verification accepts that, and the next
// append writes the head. A head behind by more than the last transaction
// was rolled back.
func TestHeadlessLastTransaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const tenant = tierzero.TenantID("contoso")
	for range 2 {
		if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
			t.Fatal(err)
		}
	}
	headPath := db.headPath(tenant)
	saved, err := os.ReadFile(headPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := func() {
		uctx, commit := tierzero.BeginUnit(ctx)
		for range 3 {
			if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditDecided}); err != nil {
				t.Fatal(err)
			}
		}
		if err := commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	unit()
	db.Close()
	// The head as it was before the transaction: its write was lost.
	if err := os.WriteFile(headPath, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, Options{})
	if n, err := db.Verify(ctx, tenant); err != nil || n != 5 {
		t.Fatalf("verify with the last transaction headless: %d records, %v; want 5, nil", n, err)
	}
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
		t.Fatalf("append after the lost head write: %v", err)
	}
	if n, err := db.Verify(ctx, tenant); err != nil || n != 6 {
		t.Fatalf("verify after the head was written again: %d records, %v; want 6, nil", n, err)
	}
	// Two transactions past the saved head: rolled back, not a crash.
	unit()
	db.Close()
	if err := os.WriteFile(headPath, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, Options{})
	if _, err := db.Verify(ctx, tenant); err == nil {
		t.Fatal("a head rolled back past two transactions verified")
	}
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err == nil {
		t.Fatal("appended to a chain whose head was rolled back past two transactions")
	}
}

// CountToday reads the counts kept with the trail, and agrees with the
// trail; a day that began before the counts did is counted from the trail.
func TestCountTodayCounts(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	db := openTest(t, t.TempDir(), Options{Now: clk.Now})
	const tenant = tierzero.TenantID("contoso")
	// Before the counts began (as written by an older tierzero): only in
	// the trail. The counts then begin with the first executed record.
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
		t.Fatal(err)
	}
	exec := func(who, tool, outcome string) {
		t.Helper()
		if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Requester: who, Tool: tool, Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	exec("adele@contoso.com", "user.reset_password", "ok")
	exec("adele@contoso.com", "user.reset_password", "failed")
	exec("adele@contoso.com", "user.issue_tap", "ok")
	exec("megan@contoso.com", "user.reset_password", "ok")
	clk.Advance(time.Hour)
	exec("adele@contoso.com", "user.reset_password", "ok")
	count := func(who, tool string) int {
		t.Helper()
		n, err := db.CountToday(ctx, tenant, who, tool, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("adele@contoso.com", "user.reset_password"); n != 2 {
		t.Fatalf("first day (from the trail): %d, want 2", n)
	}
	clk.Advance(24 * time.Hour)
	exec("adele@contoso.com", "user.reset_password", "ok")
	if n := count("adele@contoso.com", "user.reset_password"); n != 1 {
		t.Fatalf("next day (from the counts): %d, want 1", n)
	}
	if n := count("megan@contoso.com", "user.reset_password"); n != 0 {
		t.Fatalf("megan next day: %d, want 0", n)
	}
	// In a unit, a queued executed record is counted.
	uctx, commit := tierzero.BeginUnit(ctx)
	if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Requester: "adele@contoso.com", Tool: "user.reset_password", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountToday(uctx, tenant, "adele@contoso.com", "user.reset_password", clk.Now()); err != nil || n != 2 {
		t.Fatalf("with a queued record: %d (%v), want 2", n, err)
	}
	if err := commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Days before yesterday are pruned; the trail still has them.
	clk.Advance(72 * time.Hour)
	exec("adele@contoso.com", "user.reset_password", "ok")
	var keys int
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		t.Fatal(err)
	}
	f.view(func(tx *bolt.Tx) error {
		keys = tx.Bucket(executedCountsBucket).Stats().KeyN
		return nil
	})
	db.release(f)
	if keys != 2 { // "from" and today's one count
		t.Fatalf("%d keys in the counts after three days, want 2", keys)
	}
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A transaction signs only its last record; the records before it are
// covered by that signature through the chain of hashes. Rewriting one of
// them (hashes recomputed to the end) is found, and named as the first
// record of its transaction.
func TestOneSignaturePerTransaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const tenant = tierzero.TenantID("contoso")
	if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err != nil {
		t.Fatal(err)
	}
	uctx, commit := tierzero.BeginUnit(ctx)
	for range 4 { // records 2 to 5, one transaction
		if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditDecided}); err != nil {
			t.Fatal(err)
		}
	}
	if err := commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Verify(ctx, tenant); err != nil || n != 5 {
		t.Fatalf("verify: %d, %v; want 5, nil", n, err)
	}
	db.Close()
	for seq := uint64(1); seq <= 5; seq++ {
		v := rawGet(t, dir, tenant, auditBucket, seqKey(seq))
		if want := seq == 2 || seq == 3 || seq == 4; unsigned(v) != want {
			t.Errorf("record %d unsigned = %v, want %v", seq, unsigned(v), want)
		}
	}
	// Record 3 rewritten, the hashes of 3 to 5 recomputed: 5's
	// signature no longer verifies, and 2 (its transaction's first) is
	// named.
	rawUpdate(t, dir, tenant, func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		prev := bytes.Clone(b.Get(seqKey(2))[sha256.Size : 2*sha256.Size])
		for seq := uint64(3); seq <= 5; seq++ {
			v := bytes.Clone(b.Get(seqKey(seq)))
			if seq == 3 {
				v[len(v)-1] ^= 1
			}
			copy(v, prev)
			sum := chainHash(tenant, prev, seq, v[recordHeader-subjectSize:recordHeader], v[recordHeader:])
			copy(v[sha256.Size:], sum[:])
			if err := b.Put(seqKey(seq), v); err != nil {
				return err
			}
			prev = sum[:]
		}
		return nil
	})
	// The head would name record 5 as rewritten: without it, the
	// signatures must tell.
	if err := os.Remove(filepath.Join(dir, headsDir, string(tenant)+".head")); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, Options{})
	_, err := db.Verify(ctx, tenant)
	wantChainError(t, err, tenant, 2)
	if !strings.Contains(err.Error(), "signature does not verify") {
		t.Errorf("error %q does not say the signature fails", err)
	}
}

// A chain cut inside a transaction (it ends on an unsigned record) is
// reported as cut after its last record.
func TestCutWithinTransaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const tenant = tierzero.TenantID("contoso")
	uctx, commit := tierzero.BeginUnit(ctx)
	for range 4 {
		if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditDecided}); err != nil {
			t.Fatal(err)
		}
	}
	if err := commit(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawUpdate(t, dir, tenant, func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		if err := b.Delete(seqKey(4)); err != nil {
			return err
		}
		return b.SetSequence(3)
	})
	db = openTest(t, dir, Options{})
	_, err := db.Verify(ctx, tenant)
	wantChainError(t, err, tenant, 4)
	if !strings.Contains(err.Error(), "within the transaction") {
		t.Errorf("error %q does not say the chain was cut within a transaction", err)
	}
}

// When a unit's commit fails on one write (an intent recorded twice), the
// others are committed one by one, each with its head: the chain verifies
// and its head names its last record.
func TestUnitFallbackCommitsEachWrite(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	const tenant = tierzero.TenantID("contoso")
	if err := db.BeginIntent(ctx, tenant, tierzero.Intent{ID: "dup", Action: "user.reset_password"}); err != nil {
		t.Fatal(err)
	}
	uctx, commit := tierzero.BeginUnit(ctx)
	for range 3 {
		if err := db.Append(uctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditDecided}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.BeginIntent(uctx, tenant, tierzero.Intent{ID: "dup", Action: "user.reset_password"}); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("intent recorded twice: %v, want EConflict", err)
	}
	if err := commit(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := db.VerifyAudit(ctx, tenant, nil)
	if err != nil || v.Records != 3 || v.Head != 3 {
		t.Fatalf("verify: %d records, head %d, %v; want 3, 3", v.Records, v.Head, err)
	}
}
