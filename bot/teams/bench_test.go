package teams_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkAuthenticate is the validator's cost per request once the keys
// are cached: a JWT parse and an RS256 signature check.
func BenchmarkAuthenticate(b *testing.B) {
	h := newHarness(b, options{})
	hdr := "Bearer " + sign(b, h.k1, claimsFor(h.conn.serviceURL()))
	v := h.adapter.Validator()
	ctx := context.Background()
	if _, err := v.Authenticate(ctx, hdr); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Authenticate(ctx, hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageAck is the time from a message's POST to its 200: the
// token checked, the references kept, the message in the tenant's durable
// inbox (a synced write). The desk answers in the background meanwhile.
func BenchmarkMessageAck(b *testing.B) {
	h := newHarness(b, options{})
	hdr := "Bearer " + sign(b, h.k1, claimsFor(h.conn.serviceURL()))
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		act := h.personal(fmt.Sprintf("bench-%d", i), adele, "hello")
		start := time.Now()
		if code, body := h.post(b, act, hdr); code != http.StatusOK {
			b.Fatalf("status %d: %s", code, body)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
