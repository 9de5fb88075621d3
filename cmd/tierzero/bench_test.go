package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// BenchmarkPipeline measures the whole pipeline as `tierzero chat` wires it:
// the agent with the offline rules model (no model latency), policy.Guard
// with the baseline, the Graph client over the in-process simulator, and the
// encrypted store with fsync, over 100 tenants. Each request is "I forgot my
// password" from a different tenant's employee: the model reads the
// sign-ins, then resets the password. It reports requests per second and
// the p50 and p99 latency of a request.
func BenchmarkPipeline(b *testing.B) {
	tenants := make([]string, 100)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%03d", i)
	}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv}
	a.log = discardLogger()
	ctx := context.Background()
	rt, err := a.openRuntime(ctx, runtimeOptions{data: b.TempDir(), simExtra: tenants})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	reqs := make([]tierzero.Requester, len(tenants))
	for i, t := range tenants {
		if reqs[i], err = rt.requester(ctx, tierzero.TenantID(t), "adele.vance@"+t+".example.com"); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	lat := make([]time.Duration, b.N)
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
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
