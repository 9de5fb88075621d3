package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

var (
	pipelineConc = flag.Int("pipeline.conc", 16, "requests in flight in BenchmarkPipeline")
	pipelineDisk = flag.String("pipeline.disk", "", "directory on disk for BenchmarkPipeline/disk (default: a new directory under this package's)")
)

// BenchmarkPipeline measures the whole pipeline as `tierzero chat` wires it:
// the agent with the offline rules model (no model latency), policy.Guard
// with the baseline, the Graph client over the in-process simulator, and the
// encrypted store with fsync, over 100 tenants, with -pipeline.conc
// requests in flight. Each request is "I forgot my password" from a
// different tenant's employee: the model reads the sign-ins, then resets
// the password. disk keeps the store on disk (-pipeline.disk), tmpfs on
// /dev/shm, side by side in one run. It reports requests per second, the
// p50 and p99 latency of a request, and the store's commits and syncs per
// request (fsync and fdatasync calls: two per bbolt commit, one per head).
func BenchmarkPipeline(b *testing.B) {
	disk := *pipelineDisk
	if disk == "" {
		d, err := os.MkdirTemp(".", "bench-disk-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		disk = d
	}
	dirs := []struct{ name, dir string }{{"disk", disk}}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dirs = append(dirs, struct{ name, dir string }{"tmpfs", "/dev/shm"})
	}
	for _, d := range dirs {
		b.Run(d.name, func(b *testing.B) {
			dir, err := os.MkdirTemp(d.dir, "tierzero-bench-")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(dir) })
			b.Logf("store in %s (%s)", dir, fsType(dir))
			benchPipeline(b, dir)
		})
	}
}

func benchPipeline(b *testing.B, dir string) {
	ctx := context.Background()
	rt, tenants := benchRuntimeIn(b, dir)
	var err error
	reqs := make([]tierzero.Requester, len(tenants))
	for i, t := range tenants {
		if reqs[i], err = rt.requester(ctx, tierzero.TenantID(t), "adele.vance@"+t+".example.com"); err != nil {
			b.Fatal(err)
		}
		// The tenant's file exists (as on a server that ran before).
		if err := rt.db.Append(ctx, tierzero.TenantID(t), tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "warm"}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	lat := make([]time.Duration, b.N)
	before, cpu0 := rt.db.Stats(), cpuTime()
	b.SetParallelism(max(1, *pipelineConc/goruntime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) - 1
			req := reqs[i%int64(len(reqs))]
			msg := tierzero.Message{ID: fmt.Sprint(i), Tenant: req.Tenant, Requester: req,
				Conversation: tierzero.ConversationID(fmt.Sprintf("bench-%d", i)), Text: "I forgot my password", Time: time.Now()}
			t0 := time.Now()
			reply, err := rt.agent.Handle(ctx, msg)
			lat[i] = time.Since(t0)
			if err != nil || len(reply.Private) != 1 {
				b.Errorf("request %d: %v, %d private notes", i, err, len(reply.Private))
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	after, cpu := rt.db.Stats(), cpuTime()-cpu0
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU time per request (user and system, all threads): what bounds
	// throughput on a busy machine; req/s on an idle N-core one is at most
	// N / cpu-ms * 1000.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/req")
	b.ReportMetric(float64(after.Commits-before.Commits)/float64(b.N), "commits/req")
	b.ReportMetric(float64(after.Syncs()-before.Syncs())/float64(b.N), "syncs/req")
}

// fsType names the file system dir is on, from statfs's magic number.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err.Error()
	}
	switch st.Type {
	case 0x01021994:
		return "tmpfs"
	case 0xef53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("fs magic %#x", st.Type)
}

// benchRuntime is tierzero wired as chat wires it, over the in-process
// simulator with 100 extra tenants; closed when the benchmark ends.
func benchRuntime(b *testing.B) (*runtime, []string) { return benchRuntimeIn(b, b.TempDir()) }

// benchRuntimeIn is benchRuntime with its store in dir.
func benchRuntimeIn(b *testing.B, dir string) (*runtime, []string) {
	rt, tenants := openBenchRuntime(b, dir)
	b.Cleanup(func() { rt.Close() })
	return rt, tenants
}

// openBenchRuntime opens the runtime of benchRuntimeIn; the caller closes it.
func openBenchRuntime(b *testing.B, dir string) (*runtime, []string) {
	tenants := make([]string, 100)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%03d", i)
	}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv}
	a.log = discardLogger()
	rt, err := a.openRuntime(context.Background(), runtimeOptions{data: dir, simExtra: tenants})
	if err != nil {
		b.Fatal(err)
	}
	return rt, tenants
}

// BenchmarkColdStart measures a tenant's first request after start: the
// runtime is opened on a data directory that 100 tenants wrote before, and
// a password reset is asked for one of them (its file is opened, its keys
// unwrapped, its audit head checked, its licences read from Graph), then
// asked again. It reports the time to open the runtime, the first and the
// second request, and what the first costs more (cold-extra-ms; Graph's
// extra reads of a first request included).
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	rt, tenants := openBenchRuntime(b, dir)
	for _, t := range tenants {
		req, err := rt.requester(ctx, tierzero.TenantID(t), "adele.vance@"+t+".example.com")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rt.agent.Handle(ctx, tierzero.Message{ID: "warm-" + t, Tenant: req.Tenant, Requester: req, Conversation: "warm", Text: "I forgot my password", Time: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	rt.Close()
	var open, cold, warm time.Duration
	b.ResetTimer()
	for i := range b.N {
		t := tenants[i%len(tenants)]
		t0 := time.Now()
		rt, _ := openBenchRuntime(b, dir)
		open += time.Since(t0)
		req, err := rt.requester(ctx, tierzero.TenantID(t), "adele.vance@"+t+".example.com")
		if err != nil {
			b.Fatal(err)
		}
		for j, d := range []*time.Duration{&cold, &warm} {
			msg := tierzero.Message{ID: fmt.Sprint("cold-", i, "-", j), Tenant: req.Tenant, Requester: req,
				Conversation: tierzero.ConversationID(fmt.Sprint("cold-", i, "-", j)), Text: "I forgot my password", Time: time.Now()}
			t1 := time.Now()
			reply, err := rt.agent.Handle(ctx, msg)
			*d += time.Since(t1)
			if err != nil || len(reply.Private) != 1 {
				b.Fatalf("request %d/%d: %v, %d private notes", i, j, err, len(reply.Private))
			}
		}
		rt.Close()
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(open), "open-ms")
	b.ReportMetric(ms(cold), "first-ms")
	b.ReportMetric(ms(warm), "second-ms")
	b.ReportMetric(ms(cold-warm), "cold-extra-ms")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// countingResponder counts what the desk delivers.
type countingResponder struct {
	replies, privates atomic.Int64
	done              chan struct{}
	want              int64
}

func (c *countingResponder) Reply(context.Context, bot.Address, string) error {
	if c.replies.Add(1) == c.want {
		close(c.done)
	}
	return nil
}
func (c *countingResponder) Private(context.Context, bot.Address, tierzero.PrivateNote) error {
	c.privates.Add(1)
	return nil
}
func (c *countingResponder) ShowApproval(context.Context, bot.ApprovalRequest) ([]string, error) {
	return nil, nil
}
func (c *countingResponder) ApprovalSettled(context.Context, tierzero.Approval, string) error {
	return nil
}

// BenchmarkPipelineDesk is BenchmarkPipeline through the desk as a webhook
// channel uses it: each request is submitted (dedupe and durable inbox),
// then handled by the desk's workers; it reports requests per second from
// the first submission to the last reply.
func BenchmarkPipelineDesk(b *testing.B) {
	ctx := context.Background()
	rt, tenants := benchRuntime(b)
	rec := &countingResponder{done: make(chan struct{}), want: int64(b.N)}
	if err := rt.start(ctx, map[tierzero.Channel]bot.Responder{tierzero.ChannelSlack: rec}); err != nil {
		b.Fatal(err)
	}
	before := rt.db.Stats()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t := tenants[i%len(tenants)]
		_, err := rt.desk.Submit(ctx, tierzero.Inbound{Delivery: fmt.Sprint("ev-", i), Channel: tierzero.ChannelSlack, Tenant: tierzero.TenantID(t),
			Conversation: tierzero.ConversationID(fmt.Sprintf("bench-%d", i)), User: tierzero.PlatformUser{UPN: "adele.vance@" + t + ".example.com"},
			Text: "I forgot my password"})
		if err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-rec.done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("%d of %d replies", rec.replies.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if rec.privates.Load() != int64(b.N) {
		b.Fatalf("%d passwords for %d requests", rec.privates.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	after := rt.db.Stats()
	b.ReportMetric(float64(after.Commits-before.Commits)/float64(b.N), "commits/req")
	b.ReportMetric(float64(after.Syncs()-before.Syncs())/float64(b.N), "syncs/req")
}
