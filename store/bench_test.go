package store

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

var rssTenants = flag.Int("store.rss", 0, "TestResidentMemory: how many tenants receive a message (0 skips it; the issue asks for 1000)")

// appendMany appends n events to tenant's chain in one transaction (fast
// set-up for benchmarks; Append commits and syncs each).
func appendMany(tb testing.TB, db *DB, tenant tierzero.TenantID, n int) {
	tb.Helper()
	ctx := context.Background()
	mustAppend(tb, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		tb.Fatal(err)
	}
	f.appendMu.Lock()
	defer f.appendMu.Unlock()
	h := f.head.cur
	err = f.db.Update(func(tx *bolt.Tx) error {
		for range n - 1 {
			ev := tierzero.AuditEvent{Kind: tierzero.AuditDecided, Time: t0, Tenant: tenant, Requester: "alice@contoso.com",
				Tool: "user.reset_password", Args: []byte(`{"user":"alice@contoso.com"}`), Effect: tierzero.EffectAllow, Rule: "self-service-password"}
			if h, err = appendTx(tx, kr, h, &auditEntry{ev: &ev}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.head.write(h); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkVerify reports records verified per second with the
// verification key alone (no master key), the whole file checked too.
func BenchmarkVerify(b *testing.B) {
	const records = 20000
	ctx := context.Background()
	dir := b.TempDir()
	db := openTest(b, dir, Options{Now: time.Now})
	appendMany(b, db, "contoso", records)
	key, err := db.AuditKey(ctx, "contoso")
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	db = openTest(b, dir, Options{MasterKey: []byte{}})
	b.ResetTimer()
	for b.Loop() {
		v, err := db.VerifyAudit(ctx, "contoso", key)
		if err != nil || v.Records != records {
			b.Fatalf("Verify = %d, %v", v.Records, err)
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAuditExport reports audit records read and decrypted per second.
func BenchmarkAuditExport(b *testing.B) {
	const records = 20000
	ctx := context.Background()
	db := openTest(b, b.TempDir(), Options{Now: time.Now})
	appendMany(b, db, "contoso", records)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := db.Audit(ctx, "contoso", time.Time{}, func(tierzero.AuditEvent) error { n++; return nil }); err != nil || n != records {
			b.Fatalf("Audit = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkOpenFirstWrite is a new tenant's first message: create and open
// its file, make and wrap its keys, append its first audit record (synced)
// and record the head; the default MaxOpen closes idle files meanwhile.
func BenchmarkOpenFirstWrite(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, b.TempDir(), Options{Now: time.Now})
	i := 0
	for b.Loop() {
		tenant := tierzero.TenantID(fmt.Sprintf("tenant-%d", i))
		i++
		if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "hello"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tenants/s")
}

// BenchmarkReopenFirstRead is an existing tenant's first use after its file
// was closed: open, unwrap its keys, read a conversation.
func BenchmarkReopenFirstRead(b *testing.B) {
	ctx := context.Background()
	const tenants = 200
	db := openTest(b, b.TempDir(), Options{Now: time.Now, MaxOpen: 1})
	for i := range tenants {
		saveConv(b, db, tierzero.TenantID(fmt.Sprintf("tenant-%d", i)), "c1", "hello")
	}
	i := 0
	for b.Loop() {
		if _, err := db.Conversation(ctx, tierzero.TenantID(fmt.Sprintf("tenant-%d", i%tenants)), "c1"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestResidentMemory gives -store.rss tenants a message each (a conversation
// and two audit records) and reports the resident memory, with the default
// MaxOpen and with every file open.
func TestResidentMemory(t *testing.T) {
	if *rssTenants == 0 {
		t.Skip("pass -store.rss=1000 to measure")
	}
	for _, maxOpen := range []int{DefaultMaxOpen, *rssTenants} {
		t.Run(fmt.Sprintf("MaxOpen=%d", maxOpen), func(t *testing.T) {
			runtime.GC()
			before := rss(t)
			db := openTest(t, t.TempDir(), Options{Now: time.Now, MaxOpen: maxOpen})
			start := time.Now()
			for i := range *rssTenants {
				tenant := tierzero.TenantID(fmt.Sprintf("tenant-%04d", i))
				mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Requester: "adele.vance@contoso.com", Text: "I forgot my password"})
				saveConv(t, db, tenant, "c1", "I forgot my password")
				mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditReply, Text: "done"})
			}
			elapsed := time.Since(start)
			runtime.GC()
			after := rss(t)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fds, _ := os.ReadDir("/proc/self/fd")
			t.Logf("%d tenants in %v (%.0f tenants/s): open files %d, fds %d, VmRSS %d -> %d KiB (+%d KiB, %.1f KiB/tenant), Go heap in use %d KiB",
				*rssTenants, elapsed.Round(time.Millisecond), float64(*rssTenants)/elapsed.Seconds(), db.openFiles(), len(fds),
				before, after, after-before, float64(after-before)/float64(*rssTenants), ms.HeapInuse>>10)
			if n := db.openFiles(); n > maxOpen {
				t.Errorf("%d files open, MaxOpen %d", n, maxOpen)
			}
			db.Close()
		})
	}
}

// rss returns VmRSS from /proc/self/status, in KiB.
func rss(t *testing.T) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	t.Skip("no VmRSS")
	return 0
}
