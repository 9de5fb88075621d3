package graph_test

import (
	"context"
	"testing"

	"github.com/tierzero/tierzero"
)

// BenchmarkUserFacts reads a user's facts fresh (as a write's decision
// does) from the simulator: the user and one batch.
func BenchmarkUserFacts(b *testing.B) {
	f := newFixture(&testing.T{})
	ctx := tierzero.FreshFacts(context.Background())
	if _, err := f.client.UserFacts(ctx, "contoso", "adele.vance@contoso.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.client.UserFacts(ctx, "contoso", "adele.vance@contoso.com"); err != nil {
			b.Fatal(err)
		}
	}
}
