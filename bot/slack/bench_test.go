package slack_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero/graph/sim"
)

// BenchmarkAckUnderSlowGraph measures how long Slack waits for its ack:
// each iteration posts 200 signed events at once (DMs "I forgot my
// password" from four people) to /slack/events while every Graph call of
// the tenant takes 5 s. The ack is the signature check, the identity of
// the author (users.info, then its cache) and the desk's durable, deduped
// Submit; the work runs after it. It reports the p50, p99 and worst ack
// latency.
func BenchmarkAckUnderSlowGraph(b *testing.B) {
	h := newHarness(b, options{})
	if err := h.sim.AddFault("contoso", sim.Fault{Kind: sim.FaultLatency, LatencyMs: 5000}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.sim.ClearFaults("contoso") })
	people := []string{"UADELE", "UMIRIAM", "UALEX", "UMEGAN"}
	const concurrent = 200
	var lat []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for i := range b.N {
		var wg sync.WaitGroup
		for j := range concurrent {
			body := dm(fmt.Sprintf("Ev0BENCH%d-%d", i, j), team, people[j%len(people)], "I forgot my password", nextTS())
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				code, got := h.postEvent(b, body)
				d := time.Since(t0)
				if code != http.StatusOK {
					b.Errorf("event %d: %d %s", j, code, got)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(0, "ns/op")
}
