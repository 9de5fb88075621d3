package graph_test

import (
	"context"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// wantSeats counts the enabled, licensed users of a simulated tenant from
// its state.
func wantSeats(t *testing.T, s *sim.Server, tenant string) (seats, users int) {
	t.Helper()
	st, ok := s.State(tenant)
	if !ok {
		t.Fatalf("no tenant %s", tenant)
	}
	for _, u := range st.Users {
		if u.AccountEnabled && len(u.AssignedLicenses) > 0 {
			seats++
		}
	}
	return seats, len(st.Users)
}

func TestSeats(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tenant := range []string{"contoso", "fabrikam"} {
		want, all := wantSeats(t, f.sim, tenant)
		if want == 0 || want == all {
			t.Fatalf("%s: %d seats of %d users: the seed should have licensed and unlicensed or disabled users", tenant, want, all)
		}
		got, err := f.client.Seats(ctx, tierzero.TenantID(tenant))
		if err != nil {
			t.Fatalf("%s: %v", tenant, err)
		}
		if got != want {
			t.Errorf("%s: Seats = %d, want %d", tenant, got, want)
		}
	}
}

func TestSeatsUnknownTenant(t *testing.T) {
	f := newFixture(t)
	if n, err := f.client.Seats(context.Background(), "nosuchtenant"); err == nil {
		t.Fatalf("Seats of an unknown tenant = %d, want an error", n)
	}
}
