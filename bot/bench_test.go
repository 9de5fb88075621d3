package bot_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// BenchmarkSubmitSlowGraph measures what a webhook waits for: Submit (dedupe
// and the durable inbox, one synced transaction) with 200 submissions at
// once, while every Graph call takes 5 s, so the desk's workers are all
// stuck. The ack must not wait for the work. It reports the p50 and p99 of
// one Submit.
func BenchmarkSubmitSlowGraph(b *testing.B) {
	s := sim.New(sim.Options{})
	if err := s.AddFault("contoso", sim.Fault{Kind: sim.FaultLatency, LatencyMs: 5000}); err != nil {
		b.Fatal(err)
	}
	h := newHarness(b, options{sim: s})
	h.open(b)
	ctx := context.Background()
	const concurrent = 200
	var lat []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for round := range b.N {
		var wg sync.WaitGroup
		for i := range concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := inbound(fmt.Sprintf("ev-%d-%d", round, i), adele, tierzero.ConversationID(fmt.Sprint("bench-", i)), "I forgot my password")
				t0 := time.Now()
				if _, err := h.desk.Submit(ctx, in); err != nil {
					b.Error(err)
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	h.desk.Close(cctx) // the stuck work is cancelled; its items stay in the inbox
}
