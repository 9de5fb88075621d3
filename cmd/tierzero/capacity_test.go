package main

// The capacity measurement of docs/capacity.md: the real desk pipeline (the
// webhook path: Submit, the durable inbox, the workers, the agent, policy,
// Graph over the in-process simulator, the encrypted store with fsync) with
// a model that sleeps 1-5 s per call, over many tenants. It is a benchmark,
// so `go test ./...` never runs it:
//
//	go test ./cmd/tierzero -run '^$' -bench Capacity -benchtime 1x -timeout 30m
//
// Each sub-benchmark is one worker pool size under one arrival rate.
// Knobs (environment):
//
//	TIERZERO_CAPACITY_RUNS     WORKERS@RATE, ... (default 8@12,64@12,256@12,256@100,1024@100,4096@100):
//	                           the desk's worker pool, and messages arriving a second
//	TIERZERO_CAPACITY_TENANTS  tenants (default 1000)
//	TIERZERO_CAPACITY_SECONDS  how long messages arrive (default 30)
//	TIERZERO_CAPACITY_MAXOPEN  store.Options.MaxOpen (default store.DefaultMaxOpen)
//	TIERZERO_CAPACITY_MODEL    the model's latency per call, MIN-MAX (default 1s-5s)
//	TIERZERO_CAPACITY_TAIL     how long to wait for the backlog after the last arrival (default 40s)
//	TIERZERO_CAPACITY_SEED     the latency draw's seed (default 1)
//
// Every message is a new conversation ("I forgot my password" from a
// tenant's employee: the model reads the sign-ins, resets the password, and
// answers). It prints one markdown row per run, the table of
// docs/capacity.md. req/s is the steady state: replies from when the first
// requests can have finished (3 of the slowest model calls) to the end of
// the arrivals, or, when a backlog was left (more queued than a second's
// arrivals), to the last reply.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	rtm "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/bot"
)

// sleepyModel is a model that takes min to max (uniform, seeded) per call,
// then answers as the model it wraps.
type sleepyModel struct {
	next     agent.Model
	min, max time.Duration
	mu       sync.Mutex
	rnd      *rand.Rand
	calls    atomic.Int64
	in       atomic.Int64 // calls sleeping now
	peakIn   atomic.Int64
}

func (m *sleepyModel) Complete(ctx context.Context, req agent.Request) (agent.Response, error) {
	m.mu.Lock()
	d := m.min + time.Duration(m.rnd.Int64N(int64(m.max-m.min)+1))
	m.mu.Unlock()
	m.calls.Add(1)
	n := m.in.Add(1)
	for p := m.peakIn.Load(); n > p && !m.peakIn.CompareAndSwap(p, n); p = m.peakIn.Load() {
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	m.in.Add(-1)
	if err := ctx.Err(); err != nil {
		return agent.Response{}, err
	}
	return m.next.Complete(ctx, req)
}

// capObserver counts what the desk reports.
type capObserver struct {
	accepted, handled, refused atomic.Int64
	queued, peakQueued         atomic.Int64
}

func (o *capObserver) Inbound(_ tierzero.Channel, outcome string) {
	if outcome == "accepted" {
		o.accepted.Add(1)
	} else {
		o.refused.Add(1)
	}
}
func (o *capObserver) QueueDepth(n int) {
	o.queued.Store(int64(n))
	for p := o.peakQueued.Load(); int64(n) > p && !o.peakQueued.CompareAndSwap(p, int64(n)); p = o.peakQueued.Load() {
	}
}
func (o *capObserver) Handled(tierzero.Channel, string, time.Duration) { o.handled.Add(1) }
func (o *capObserver) Delivery(tierzero.Channel, string)               {}

// inflight is requests a worker has taken and not finished.
func (o *capObserver) inflight() int64 {
	return max(0, o.accepted.Load()-o.handled.Load()-o.queued.Load())
}

// capResponder records when each conversation got its reply.
type capResponder struct {
	mu       sync.Mutex
	sent     map[tierzero.ConversationID]time.Time
	lat      []time.Duration
	at       []time.Time // when each reply went out
	last     time.Time
	privates atomic.Int64
}

func (r *capResponder) Reply(_ context.Context, a bot.Address, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.sent[a.Conversation]; ok {
		delete(r.sent, a.Conversation)
		r.last = time.Now()
		r.lat = append(r.lat, r.last.Sub(t))
		r.at = append(r.at, r.last)
	}
	return nil
}
func (r *capResponder) Private(context.Context, bot.Address, tierzero.PrivateNote) error {
	r.privates.Add(1)
	return nil
}
func (r *capResponder) ShowApproval(context.Context, bot.ApprovalRequest) ([]string, error) {
	return nil, nil
}
func (r *capResponder) ApprovalSettled(context.Context, tierzero.Approval, string) error { return nil }

func (r *capResponder) replied() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat)
}

// capEnv reads a knob.
func capEnv(name, def string) string {
	if v := os.Getenv("TIERZERO_CAPACITY_" + name); v != "" {
		return v
	}
	return def
}

func capInt(b *testing.B, name string, def int) int {
	n, err := strconv.Atoi(capEnv(name, strconv.Itoa(def)))
	if err != nil || n < 0 {
		b.Fatalf("TIERZERO_CAPACITY_%s: want a number", name)
	}
	return n
}

func capDuration(b *testing.B, name, def string) time.Duration {
	d, err := time.ParseDuration(capEnv(name, def))
	if err != nil {
		b.Fatalf("TIERZERO_CAPACITY_%s: %v", name, err)
	}
	return d
}

// openFDs counts this process's open file descriptors: all, and the
// tenant files among them (the rest are mostly sockets: the in-process
// Graph simulator's loopback connections, both ends).
func openFDs() (all, tenantFiles int) {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, -1
	}
	for _, e := range es {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasSuffix(l, ".db") {
			tenantFiles++
		}
	}
	return len(es), tenantFiles
}

// cpuTime is the CPU time this process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the machine's 1-minute load average: other work on the
// machine takes CPU from the run.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// capSample is the process at one moment, after a GC.
type capSample struct {
	heap                             uint64 // live heap bytes
	inflight, inModel, queued, goros int64
	fds, dbs                         int
}

func takeSample(o *capObserver, m *sleepyModel) capSample {
	rtm.GC()
	var ms rtm.MemStats
	rtm.ReadMemStats(&ms)
	fds, dbs := openFDs()
	return capSample{heap: ms.HeapAlloc, inflight: o.inflight(), inModel: m.in.Load(), queued: o.queued.Load(),
		goros: int64(rtm.NumGoroutine()), fds: fds, dbs: dbs}
}

func BenchmarkCapacity(b *testing.B) {
	tenants := capInt(b, "TENANTS", 1000)
	secs := capInt(b, "SECONDS", 30)
	maxOpen := capInt(b, "MAXOPEN", 0)
	tail := capDuration(b, "TAIL", "40s")
	seed := capInt(b, "SEED", 1)
	lo, hi, ok := strings.Cut(capEnv("MODEL", "1s-5s"), "-")
	if !ok {
		b.Fatal("TIERZERO_CAPACITY_MODEL: want MIN-MAX, as 1s-5s")
	}
	fast, err1 := time.ParseDuration(lo)
	slow, err2 := time.ParseDuration(hi)
	if err1 != nil || err2 != nil || slow < fast {
		b.Fatal("TIERZERO_CAPACITY_MODEL: want MIN-MAX, as 1s-5s")
	}
	type run struct{ workers, rate int }
	var runs []run
	for _, f := range strings.Split(capEnv("RUNS", "8@12,64@12,256@12,256@100,1024@100,4096@100"), ",") {
		w, r, _ := strings.Cut(strings.TrimSpace(f), "@")
		nw, err1 := strconv.Atoi(w)
		nr, err2 := strconv.Atoi(r)
		if err1 != nil || err2 != nil || nw <= 0 || nr <= 0 {
			b.Fatal("TIERZERO_CAPACITY_RUNS: want WORKERS@RATE, ..., as 8@12,256@100")
		}
		runs = append(runs, run{nw, nr})
	}
	for _, r := range runs {
		b.Run(fmt.Sprintf("workers=%d/rate=%d", r.workers, r.rate), func(b *testing.B) {
			capacityRun(b, capacityParams{tenants: tenants, rate: r.rate, secs: secs, workers: r.workers, maxOpen: maxOpen,
				min: fast, max: slow, tail: tail, seed: uint64(seed)})
		})
	}
}

// capHeader heads the rows each run prints (a parent benchmark's log is not
// shown, so every run prints it).
const capHeader = "| workers | tenants | arrivals/s (achieved) | model | replied | req/s | p50 s | p99 s | CPU ms/req | peak in-flight | peak in model | peak queued | heap/in-flight KiB | peak heap MiB | peak goroutines | peak fds (idle) | peak tenant files | Submit p99 ms | load avg |"

type capacityParams struct {
	tenants, rate, secs, workers, maxOpen int
	min, max, tail                        time.Duration
	seed                                  uint64
}

func capacityRun(b *testing.B, p capacityParams) {
	ctx := context.Background()
	names := make([]string, p.tenants)
	for i := range names {
		names[i] = fmt.Sprintf("cap-%05d", i)
	}
	model := &sleepyModel{min: p.min, max: p.max, rnd: rand.New(rand.NewPCG(p.seed, 20))}
	obs := &capObserver{}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv, log: discardLogger()}
	rt, err := a.openRuntime(ctx, runtimeOptions{data: b.TempDir(), simExtra: names, observer: obs,
		workers: p.workers, maxOpen: p.maxOpen,
		wrapModel: func(m agent.Model) agent.Model { model.next = m; return model }})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	// Every tenant has its file and keys already, as in a running MSP.
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(names)); i = next.Add(1) - 1 {
				if _, err := rt.db.Dedupe(ctx, tierzero.TenantID(names[i]), "warm", time.Hour); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	rec := &capResponder{sent: map[tierzero.ConversationID]time.Time{}}
	if err := rt.start(ctx, map[tierzero.Channel]bot.Responder{tierzero.ChannelSlack: rec}); err != nil {
		b.Fatal(err)
	}
	base := takeSample(obs, model)

	// Sample every 2 s until the end.
	var peak capSample
	var perConv float64 // live heap per in-flight request, at the sample with the most
	var mu sync.Mutex
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			s := takeSample(obs, model)
			mu.Lock()
			if s.inflight > peak.inflight && s.heap > base.heap {
				perConv = float64(s.heap-base.heap) / float64(s.inflight)
			}
			peak.heap, peak.goros, peak.fds, peak.dbs = max(peak.heap, s.heap), max(peak.goros, s.goros), max(peak.fds, s.fds), max(peak.dbs, s.dbs)
			peak.inflight, peak.queued = max(peak.inflight, s.inflight), max(peak.queued, s.queued)
			mu.Unlock()
		}
	}()

	// Arrivals: each message a webhook's handler calling Submit.
	total := p.rate * p.secs
	submitLat := make([]time.Duration, total)
	var submits sync.WaitGroup
	b.ResetTimer()
	load0, cpu0 := loadAvg(), cpuTime()
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(p.rate))); d > 0 {
			time.Sleep(d)
		}
		t := names[i%len(names)]
		conv := tierzero.ConversationID(fmt.Sprintf("cap-%d", i))
		rec.mu.Lock()
		rec.sent[conv] = time.Now()
		rec.mu.Unlock()
		submits.Go(func() {
			t0 := time.Now()
			_, err := rt.desk.Submit(ctx, tierzero.Inbound{Delivery: fmt.Sprint("cap-", i), Channel: tierzero.ChannelSlack,
				Tenant: tierzero.TenantID(t), Conversation: conv, User: tierzero.PlatformUser{UPN: "adele.vance@" + t + ".example.com"},
				Text: "I forgot my password"})
			submitLat[i] = time.Since(t0)
			if err != nil {
				b.Errorf("submit %d: %v", i, err)
			}
		})
	}
	submits.Wait()
	arrived := time.Now()
	// More waiting than a second's arrivals: the pool is the limit, not the
	// arrivals (a message just pushed counts as queued for a moment).
	backlog := obs.queued.Load() > int64(p.rate)
	for rec.replied() < total && time.Since(arrived) < p.tail {
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	close(stop)
	<-sampled

	rec.mu.Lock()
	lat := slices.Clone(rec.lat)
	end := rec.last
	at := slices.Clone(rec.at)
	rec.mu.Unlock()
	slices.Sort(lat)
	slices.Sort(submitLat)
	replied := len(lat)
	var reqs, p50, p99 float64
	if replied > 0 {
		// Throughput in the steady state: from when the first requests
		// can have finished (3 of the slowest model calls) to the end of
		// the arrivals, or, with a backlog, to the last reply.
		from, to := start.Add(3*p.max), arrived
		if backlog {
			to = end
		}
		n := 0
		for _, t := range at {
			if !t.Before(from) && !t.After(to) {
				n++
			}
		}
		if to.After(from) {
			reqs = float64(n) / to.Sub(from).Seconds()
		}
		p50, p99 = lat[replied/2].Seconds(), lat[replied*99/100].Seconds()
	}
	// CPU per request: the process's CPU time over the requests it
	// finished (those still running at the end took some too: an upper
	// bound when the run ends with a backlog).
	cpuPer := 0.0
	if replied > 0 {
		cpuPer = float64(cpu.Milliseconds()) / float64(replied)
	}
	b.ReportMetric(reqs, "req/s")
	b.ReportMetric(float64(replied), "replied")
	b.ReportMetric(p50, "p50-s")
	b.ReportMetric(p99, "p99-s")
	b.ReportMetric(float64(peak.inflight), "peak-inflight")
	b.ReportMetric(perConv/1024, "KiB/inflight")
	b.ReportMetric(float64(peak.fds), "peak-fds")
	b.ReportMetric(cpuPer, "cpu-ms/req")
	// arrivals/s: as asked (as achieved: a loaded machine sends late).
	b.Log(capHeader)
	b.Logf("| %d | %d | %d (%.1f) | %s-%s | %d of %d | %.1f | %.1f | %.1f | %.0f | %d | %d | %d | %.0f | %.0f | %d | %d (%d) | %d | %.0f | %s-%s |",
		p.workers, p.tenants, p.rate, float64(total)/arrived.Sub(start).Seconds(), p.min, p.max, replied, total, reqs, p50, p99, cpuPer,
		peak.inflight, model.peakIn.Load(), max(peak.queued, obs.peakQueued.Load()), perConv/1024, float64(peak.heap)/(1<<20),
		peak.goros, peak.fds, base.fds, peak.dbs, float64(submitLat[total*99/100].Microseconds())/1000, load0, loadAvg())
	if h := obs.handled.Load(); h > 0 {
		b.Logf("model calls per handled request: %.2f (calls of requests still running included)", float64(model.calls.Load())/float64(h))
	}
	if n := obs.refused.Load(); n > 0 {
		b.Logf("%d messages refused or failed at intake", n)
	}
	if replied == total && rec.privates.Load() != int64(total) {
		b.Errorf("%d passwords for %d requests", rec.privates.Load(), total)
	}
}
