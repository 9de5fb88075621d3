package graph_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// cacheFixture is newFixture with a clock the test moves and a facts TTL.
func cacheFixture(t *testing.T, ttl time.Duration) (*fixture, *clock) {
	t.Helper()
	clock := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := graph.New(graph.Config{
		BaseURL:  srv.URL + "/v1.0",
		Token:    func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits:  tierzero.NewPermitVerifier(pub, nil),
		Now:      clock.Now,
		FactsTTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{client: c, sim: s, key: priv}, clock
}

// roundTrips counts the HTTP requests a tenant received: a batch is one.
func roundTrips(s *sim.Server, tenant string) int {
	n, seen := 0, map[int]bool{}
	for _, e := range s.Requests(tenant) {
		if e.Batch == 0 || !seen[e.Batch] {
			n++
		}
		seen[e.Batch] = e.Batch != 0
	}
	return n
}

func department(t *testing.T, f tierzero.UserFacts, err error) string {
	t.Helper()
	if err != nil || f.Department == nil {
		t.Fatalf("facts %+v: %v", f, err)
	}
	return *f.Department
}

func TestFactsCache(t *testing.T) {
	const adele = "adele.vance@contoso.com"
	ctx := context.Background()
	f, clock := cacheFixture(t, 30*time.Second)
	setDept := func(d string) {
		t.Helper()
		if err := f.sim.Change("contoso", sim.Change{User: adele, Set: map[string]string{"department": d}}); err != nil {
			t.Fatal(err)
		}
	}

	// The first read asks Graph: the user, then the rest in one batch.
	fu, err := f.client.UserFacts(ctx, "contoso", adele)
	if department(t, fu, err) != "Marketing" {
		t.Fatalf("department %q", *fu.Department)
	}
	if n := roundTrips(f.sim, "contoso"); n > 3 { // subscribedSkus, the user, the batch
		t.Errorf("first read: %d round trips", n)
	}

	t.Run("a read decision is served from the cache", func(t *testing.T) {
		before := len(f.sim.Requests("contoso"))
		setDept("Sales") // outside the client: the staleness the TTL allows
		for _, ref := range []string{adele, fu.ObjectID} {
			got, err := f.client.UserFacts(ctx, "contoso", ref)
			if department(t, got, err) != "Marketing" {
				t.Errorf("%s: department %q, want the cached Marketing", ref, *got.Department)
			}
		}
		if n := len(f.sim.Requests("contoso")) - before; n != 0 {
			t.Errorf("cached reads sent %d requests", n)
		}
		// A copy: changing it changes nothing cached.
		got, _ := f.client.UserFacts(ctx, "contoso", adele)
		*got.Department, got.Groups[0].Name = "X", "X"
		if again, _ := f.client.UserFacts(ctx, "contoso", adele); *again.Department != "Marketing" || again.Groups[0].Name == "X" {
			t.Errorf("the cache handed out its own facts: %+v", again)
		}
	})

	t.Run("a write's target is read fresh, and refreshes the cache", func(t *testing.T) {
		before := roundTrips(f.sim, "contoso")
		got, err := f.client.UserFacts(tierzero.FreshFacts(ctx), "contoso", adele)
		if department(t, got, err) != "Sales" {
			t.Errorf("fresh department %q, want Sales", *got.Department)
		}
		// one batch: the object id is known from the first read
		if n := roundTrips(f.sim, "contoso") - before; n != 1 {
			t.Errorf("fresh read: %d round trips, want 1 (one batch)", n)
		}
		got, err = f.client.UserFacts(ctx, "contoso", adele)
		if department(t, got, err) != "Sales" {
			t.Errorf("after the fresh read: %q, want Sales", *got.Department)
		}
	})

	t.Run("a write through the client drops the tenant's facts", func(t *testing.T) {
		setDept("Legal")
		if _, err := f.exec(t, "contoso", graph.ActionUserRevokeSessions, "megan.bowen@contoso.com"); err != nil {
			t.Fatal(err)
		}
		before := len(f.sim.Requests("contoso"))
		got, err := f.client.UserFacts(ctx, "contoso", adele)
		if department(t, got, err) != "Legal" {
			t.Errorf("after a write: %q, want Legal", *got.Department)
		}
		if len(f.sim.Requests("contoso")) == before {
			t.Error("read after a write served from the cache")
		}
		// Another tenant's write drops nothing here.
		if _, err := f.exec(t, "fabrikam", graph.ActionUserRevokeSessions, "liam.oconnor@fabrikam.com"); err != nil {
			t.Fatal(err)
		}
		before = len(f.sim.Requests("contoso"))
		if _, err := f.client.UserFacts(ctx, "contoso", adele); err != nil || len(f.sim.Requests("contoso")) != before {
			t.Errorf("fabrikam's write dropped contoso's facts (%v)", err)
		}
	})

	t.Run("facts expire after the TTL", func(t *testing.T) {
		setDept("Finance")
		clock.Add(29 * time.Second)
		got, err := f.client.UserFacts(ctx, "contoso", adele)
		if department(t, got, err) != "Legal" {
			t.Errorf("within the TTL: %q, want the cached Legal", *got.Department)
		}
		clock.Add(2 * time.Second)
		got, err = f.client.UserFacts(ctx, "contoso", adele)
		if department(t, got, err) != "Finance" {
			t.Errorf("after the TTL: %q, want Finance", *got.Department)
		}
	})
}

// Other facts policy gathers are cached too: a group's.
func TestFactsCacheGroup(t *testing.T) {
	ctx := context.Background()
	f, _ := cacheFixture(t, 0) // the default TTL
	st, _ := f.sim.State("contoso")
	id := st.Groups[0].ID
	if _, err := f.client.GroupFacts(ctx, "contoso", id); err != nil {
		t.Fatal(err)
	}
	before := len(f.sim.Requests("contoso"))
	if _, err := f.client.GroupFacts(ctx, "contoso", id); err != nil || len(f.sim.Requests("contoso")) != before {
		t.Errorf("group facts read again (%v)", err)
	}
	if _, err := f.client.GroupFacts(tierzero.FreshFacts(ctx), "contoso", id); err != nil || len(f.sim.Requests("contoso")) == before {
		t.Errorf("fresh group facts not read (%v)", err)
	}
}

// A negative TTL caches nothing.
func TestFactsCacheOff(t *testing.T) {
	ctx := context.Background()
	f, _ := cacheFixture(t, -1)
	for range 2 {
		before := len(f.sim.Requests("contoso"))
		if _, err := f.client.UserFacts(ctx, "contoso", "adele.vance@contoso.com"); err != nil || len(f.sim.Requests("contoso")) == before {
			t.Fatalf("facts not read (%v)", err)
		}
	}
}

// factReads counts the requests for a user's policy facts (the reads of
// UserFacts beyond the user) a tenant received.
func factReads(s *sim.Server, tenant string) int {
	n := 0
	for _, e := range s.Requests(tenant) {
		if strings.Contains(e.Path, "/memberOf/") || strings.Contains(e.Path, "/roleManagement/") || strings.Contains(e.Path, "/riskyUsers/") {
			n++
		}
	}
	return n
}

// Through the Guard: a second read decision about the same user is made on
// cached facts, with no request for them; a write's decision reads its
// target fresh even so.
func TestGuardFactsCache(t *testing.T) {
	f := newFixture(t)
	g := guardOn(t, f)
	admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
	target := map[string]string{"user": "alex.wilber@contoso.com"}
	if ok, res := ran(t, g, admin, graph.ActionUserGet, target); !ok {
		t.Fatalf("user.get: %+v", res)
	}
	before := factReads(f.sim, "contoso")
	if ok, res := ran(t, g, admin, graph.ActionUserGet, target); !ok {
		t.Fatalf("user.get again: %+v", res)
	}
	if n := factReads(f.sim, "contoso") - before; n != 0 {
		t.Errorf("a second read decision sent %d requests for facts", n)
	}
	before = factReads(f.sim, "contoso")
	if ok, res := ran(t, g, admin, graph.ActionUserResetPassword, target); !ok {
		t.Fatalf("user.reset_password: %+v %+v", res.Decision, res.Error)
	}
	if factReads(f.sim, "contoso") == before {
		t.Error("a write was decided on cached facts")
	}
}
