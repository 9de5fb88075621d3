package graph_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
)

// Issue 18, item 1: a tenant without Entra ID P2 (Business Premium has P1
// only) or without P1. Graph gates Identity Protection on P2: "Using the
// riskyUsers API requires a Microsoft Entra ID P2 license"
// (https://learn.microsoft.com/en-us/graph/api/riskyuser-get), answered
// 403 "Your tenant is not licensed for this feature." (publicly reported
// for /identityProtection/riskyUsers, e.g. briandelmsft/SentinelAutomationModules#436);
// the sign-in logs on P1: 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant
// "Neither tenant is B2C or tenant doesn't have premium license"
// (https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/4135,
// https://learn.microsoft.com/en-us/graph/api/signin-list).

// counter counts the requests whose path contains a part.
type counter struct {
	h    http.Handler
	mu   sync.Mutex
	seen map[string]int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	for _, p := range []string{"riskyUsers", "subscribedSkus", "auditLogs/signIns"} {
		if strings.Contains(r.URL.Path, p) {
			c.seen[p]++
		}
	}
	c.mu.Unlock()
	c.h.ServeHTTP(w, r)
}

func (c *counter) count(part string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[part]
}

// p1Fixture is a fixture whose contoso has Entra ID P1 and not P2, with
// its requests counted.
func p1Fixture(t *testing.T) (*fixture, *counter) {
	t.Helper()
	f := newFixture(t)
	if !f.sim.DropSubscription("contoso", "AAD_PREMIUM_P2") {
		t.Fatal("contoso holds no AAD_PREMIUM_P2")
	}
	cnt := &counter{h: f.sim, seen: map[string]int{}}
	f.client = newClientOver(t, f, cnt)
	return f, cnt
}

func TestCapabilities(t *testing.T) {
	f, _ := p1Fixture(t)
	ctx := context.Background()
	got, err := f.client.Capabilities(ctx, "contoso")
	if want := (graph.Capabilities{EntraP1: true, Intune: true}); err != nil || got != want {
		t.Errorf("contoso (P1 only) = %+v, %v; want %+v", got, err, want)
	}
	got, err = f.client.Capabilities(ctx, "fabrikam")
	if want := (graph.Capabilities{EntraP1: true, EntraP2: true, Intune: true}); err != nil || got != want {
		t.Errorf("fabrikam = %+v, %v; want %+v", got, err, want)
	}
	for _, part := range []string{"SPE_E3", "EMS", "AAD_PREMIUM_P2"} {
		f.sim.DropSubscription("fabrikam", part)
	}
	// Cached: the subscriptions are read once an hour, or after a refusal.
	if got, _ := f.client.Capabilities(ctx, "fabrikam"); !got.EntraP2 {
		t.Errorf("fabrikam re-read at once: %+v", got)
	}
}

func TestUserFactsWithoutP2(t *testing.T) {
	f, cnt := p1Fixture(t)
	ctx := context.Background()
	for _, upn := range []string{"lidia.holloway@contoso.com", "adele.vance@contoso.com"} {
		got, err := f.client.UserFacts(ctx, "contoso", upn)
		if err != nil {
			t.Fatalf("%s: %v", upn, err)
		}
		if got.RiskLevel != "unknown" || got.AdminRoles == nil || got.Groups == nil || got.Manager == nil {
			t.Errorf("%s: facts = %+v, want every fact read and the risk unknown", upn, got)
		}
	}
	if n := cnt.count("riskyUsers"); n != 0 {
		t.Errorf("%d riskyUsers requests on a tenant known to lack P2, want none", n)
	}
	if n := cnt.count("subscribedSkus"); n != 1 {
		t.Errorf("subscribedSkus read %d times, want once (cached)", n)
	}
	// With P2 the risk is read as before.
	got, err := f.client.UserFacts(ctx, "fabrikam", "liam.oconnor@fabrikam.com")
	if err != nil || got.RiskLevel != "high" {
		t.Errorf("fabrikam risk = %q (%v), want high", got.RiskLevel, err)
	}
}

// A tenant that lets P2 lapse after its capabilities were read: Graph's
// 403 makes the risk unknown (not an error) and the capabilities are read
// again.
func TestUserFactsP2Lapsed(t *testing.T) {
	f := newFixture(t)
	cnt := &counter{h: f.sim, seen: map[string]int{}}
	f.client = newClientOver(t, f, cnt)
	ctx := context.Background()
	if got, err := f.client.UserFacts(ctx, "contoso", "lidia.holloway@contoso.com"); err != nil || got.RiskLevel != "high" {
		t.Fatalf("risk = %q (%v), want high", got.RiskLevel, err)
	}
	f.sim.DropSubscription("contoso", "AAD_PREMIUM_P2")
	// Read fresh, as a write's decision reads (a read's may see the facts
	// cached a moment ago: factcache.go).
	got, err := f.client.UserFacts(tierzero.FreshFacts(ctx), "contoso", "lidia.holloway@contoso.com")
	if err != nil || got.RiskLevel != "unknown" {
		t.Fatalf("after P2 lapsed: risk = %q (%v), want unknown", got.RiskLevel, err)
	}
	caps, err := f.client.Capabilities(ctx, "contoso")
	if err != nil || caps.EntraP2 || !caps.EntraP1 {
		t.Errorf("capabilities after the refusal = %+v (%v), want re-read: P1 without P2", caps, err)
	}
	if n := cnt.count("subscribedSkus"); n != 2 {
		t.Errorf("subscribedSkus read %d times, want twice (again after the 403)", n)
	}
}

// An app that may not read subscribedSkus: the call is tried, and Graph's
// licensing 403 still makes the risk unknown.
func TestUserFactsSubscriptionsUnreadable(t *testing.T) {
	f := newFixture(t)
	f.sim.DropSubscription("contoso", "AAD_PREMIUM_P2")
	f.client = newClientOver(t, f, refuse("/subscribedSkus", http.StatusForbidden)(f.sim))
	got, err := f.client.UserFacts(context.Background(), "contoso", "lidia.holloway@contoso.com")
	if err != nil || got.RiskLevel != "unknown" {
		t.Fatalf("risk = %q (%v), want unknown", got.RiskLevel, err)
	}
}

func TestRiskAndSignInsWithoutPremium(t *testing.T) {
	f, cnt := p1Fixture(t)
	res, err := f.exec(t, "contoso", graph.ActionUserRisk, "lidia.holloway@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	risk := out[map[string]any](t, res)
	if risk["riskLevel"] != "unknown" || risk["riskAvailable"] != false || !strings.Contains(risk["reason"].(string), "no Entra ID P2") {
		t.Errorf("user.risk without P2 = %s", res.Output)
	}
	// P1 still has the sign-in logs.
	res, err = f.exec(t, "contoso", graph.ActionUserSignIns, "christie.cline@contoso.com")
	if err != nil || !strings.Contains(string(res.Output), "50126") {
		t.Fatalf("user.signins with P1 = %s, %v", res.Output, err)
	}
	// Without P1: a fact in plain words, and no call Graph would refuse.
	for _, part := range []string{"SPE_E3", "EMS"} {
		f.sim.DropSubscription("contoso", part)
	}
	f.client = newClientOver(t, f, cnt)
	before := cnt.count("auditLogs/signIns")
	res, err = f.exec(t, "contoso", graph.ActionUserSignIns, "christie.cline@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	si := out[map[string]any](t, res)
	if si["signInsAvailable"] != false || si["reason"] != "sign-in logs need Entra ID P1, which this tenant does not have" {
		t.Errorf("user.signins without P1 = %s", res.Output)
	}
	if cnt.count("auditLogs/signIns") != before {
		t.Errorf("sign-ins requested from a tenant known to lack P1")
	}
}

// Graph's own refusal (subscriptions unreadable, so the call is made):
// user.signins still answers the fact.
func TestSignInsRefusedForLicence(t *testing.T) {
	f := newFixture(t)
	for _, part := range []string{"SPE_E3", "EMS", "AAD_PREMIUM_P2"} {
		f.sim.DropSubscription("contoso", part)
	}
	f.client = newClientOver(t, f, refuse("/subscribedSkus", http.StatusForbidden)(f.sim))
	res, err := f.exec(t, "contoso", graph.ActionUserSignIns, "christie.cline@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if si := out[map[string]any](t, res); si["signInsAvailable"] != false {
		t.Errorf("user.signins refused for licence = %s", res.Output)
	}
	// A refusal for a missing permission stays an error.
	f.client = newClientOver(t, f, refuse("/auditLogs/signIns", http.StatusForbidden)(f.sim))
	_, err = f.exec(t, "fabrikam", graph.ActionUserSignIns, "chloe.martin@fabrikam.com")
	wantCode(t, err, tierzero.EUnauthorized)
}

// The guard over a P1-only tenant: user tools are decided as with P2 (the
// missing risk no longer denies them all), and a rule limiting risk
// decides by user_risk_unknown.
func TestGuardWithoutP2(t *testing.T) {
	f, _ := p1Fixture(t)
	g := guardOver(t, f.sim)
	adele := requester(t, f, "adele.vance@contoso.com", tierzero.RoleEmployee)
	if ok, res := ran(t, g, adele, graph.ActionUserAuthMethods, map[string]string{"user": "adele.vance@contoso.com"}); !ok {
		t.Fatalf("self-service read on a P1-only tenant did not run: %+v", res.Error)
	}
	limit := func(unknown string) *policy.Guard {
		return guardOver(t, f.sim, `scope: {tenant: contoso}
rules:
  - {id: risky-deny, action: user.auth_methods, effect: deny, reason: risky, when: {user_risk_max: low`+unknown+`}}
`)
	}
	if ok, _ := ran(t, limit(""), adele, graph.ActionUserAuthMethods, map[string]string{"user": "adele.vance@contoso.com"}); ok {
		t.Error("a deny rule with user_risk_max did not deny an unknown risk")
	}
	if ok, res := ran(t, limit(", user_risk_unknown: allow"), adele, graph.ActionUserAuthMethods, map[string]string{"user": "adele.vance@contoso.com"}); !ok {
		t.Errorf("user_risk_unknown: allow still denied: %+v", res.Error)
	}
}

// newClientOver is a client verifying f's permits, talking to h (the
// simulator or a wrapper of it).
func newClientOver(t *testing.T, f *fixture, h http.Handler) *graph.Client {
	t.Helper()
	srv := httptest.NewServer(unbatch(h))
	t.Cleanup(srv.Close)
	c, err := graph.New(graph.Config{
		BaseURL: srv.URL + "/v1.0",
		Token:   func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits: tierzero.NewPermitVerifier(f.key.Public().(ed25519.PublicKey), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A 403 that is not the licence (the app lacks IdentityRiskyUser.Read.All)
// leaves the risk missing, not "unknown": user_risk_unknown: allow must not
// turn a missing permission into an allow. The other facts stand.
func TestUserFactsRiskPermissionRefused(t *testing.T) {
	f := newFixture(t)
	f.client = newClientOver(t, f, refuse("/riskyUsers/"+simUserOf(t, f, "contoso", "lidia.holloway@contoso.com").ID, http.StatusForbidden)(f.sim))
	got, err := f.client.UserFacts(context.Background(), "contoso", "lidia.holloway@contoso.com")
	if err != nil || got.RiskLevel != "" || got.AdminRoles == nil || got.Groups == nil {
		t.Fatalf("facts = %+v (%v), want every fact but the risk read", got, err)
	}
}
