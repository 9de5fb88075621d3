package graph_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// UserFacts reads through one JSON batch, each response handled as the
// single call's: the licensing 403 on riskyUsers still makes the risk
// "unknown", and a request throttled inside the batch is sent again alone
// (honouring its Retry-After) rather than failing the facts.
func TestUserFactsBatch(t *testing.T) {
	ctx := tierzero.FreshFacts(context.Background())
	f := newFixture(t)
	const lidia = "lidia.holloway@contoso.com"
	got, err := f.client.UserFacts(ctx, "contoso", lidia)
	if err != nil || got.RiskLevel != "high" || got.Groups == nil || got.AdminRoles == nil || got.Manager == nil {
		t.Fatalf("facts %+v (%v)", got, err)
	}
	batches := map[int]int{}
	for _, e := range f.sim.Requests("contoso") {
		if e.Method != http.MethodGet {
			t.Errorf("facts sent %s %s", e.Method, e.Path)
		}
		if e.Batch != 0 {
			batches[e.Batch]++
		}
	}
	if len(batches) != 1 || batches[1] < 7 {
		t.Errorf("batches %v, want one of the user's reads by id", batches)
	}

	// P2 lapses after the capabilities were read: riskyUsers answers
	// Graph's licensing 403 inside the batch.
	f.sim.DropSubscription("contoso", "AAD_PREMIUM_P2")
	if got, err := f.client.UserFacts(ctx, "contoso", lidia); err != nil || got.RiskLevel != "unknown" || got.AdminRoles == nil {
		t.Errorf("after P2 lapsed: %+v (%v), want the risk unknown", got, err)
	}

	// A throttled request of the batch is sent again alone.
	if err := f.sim.AddFault("contoso", sim.Fault{Path: "/v1.0/users/*/manager", Kind: sim.FaultThrottle, RetryAfter: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	before := len(f.sim.Requests("contoso"))
	got, err = f.client.UserFacts(ctx, "contoso", lidia)
	if err != nil || got.Manager == nil {
		t.Fatalf("facts under a throttled manager read: %+v (%v)", got, err)
	}
	var alone, inBatch int
	for _, e := range f.sim.Requests("contoso")[before:] {
		if len(e.Path) > 8 && e.Path[len(e.Path)-8:] == "/manager" {
			if e.Batch == 0 {
				alone++
			} else {
				inBatch++
			}
		}
	}
	if inBatch != 1 || alone != 1 {
		t.Errorf("manager read %d times in the batch and %d alone, want 1 and 1", inBatch, alone)
	}
	if n := len(f.sim.Journal("contoso")); n != 0 {
		t.Errorf("facts journaled %d writes", n)
	}
}
