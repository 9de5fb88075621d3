package eval

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
)

// Issue 18, item 1: most MSP clients run Business Premium, which has Entra
// ID P1 and not P2, and Graph answers Identity Protection's riskyUsers
// with 403 there ("Using the riskyUsers API requires a Microsoft Entra ID
// P2 license", https://learn.microsoft.com/en-us/graph/api/riskyuser-get).
// With contoso on P1 only, the hand-written scenarios in contoso resolve as
// they do with P2: the policy facts before every user tool no longer fail
// on the risk read. Scenarios that read a user's risk get the known fact
// "unknown" (no P2), never a failed tool.
func TestP1OnlyTenant(t *testing.T) {
	var scs []Scenario
	for _, s := range loadSuite(t) {
		if s.Injection == nil && involves(s, "contoso") {
			scs = append(scs, s)
		}
	}
	if len(scs) < 20 {
		t.Fatalf("%d hand-written contoso scenarios, want at least 20", len(scs))
	}
	run := func(o Options) (map[string]bool, map[string][]Call) {
		t.Helper()
		o.Mode, o.Out = ModeOffline, t.TempDir()
		res, err := Run(context.Background(), scs, o)
		if err != nil {
			t.Fatal(err)
		}
		pass, risk := map[string]bool{}, map[string][]Call{}
		for _, r := range res {
			pass[r.Scenario] = r.Pass
			b, err := os.ReadFile(filepath.Join(o.Out, r.Scenario, "0.json"))
			if err != nil {
				t.Fatal(err)
			}
			var tr Trajectory
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			for _, c := range tr.Calls {
				if c.Tool == graph.ActionUserRisk && c.Tenant == "contoso" {
					risk[r.Scenario] = append(risk[r.Scenario], c)
				}
			}
		}
		return pass, risk
	}
	p2, p2risk := run(Options{})
	p1, p1risk := run(Options{WithoutP2: []tierzero.TenantID{"contoso"}})

	var resolved2, resolved1 int
	for _, s := range scs {
		if p2risk[s.ID] != nil || p1risk[s.ID] != nil {
			continue // risk scenarios, below
		}
		if p2[s.ID] {
			resolved2++
		}
		if p1[s.ID] {
			resolved1++
		}
		if p2[s.ID] != p1[s.ID] {
			t.Errorf("%s: passes with P2 %v, with P1 only %v", s.ID, p2[s.ID], p1[s.ID])
		}
	}
	t.Logf("%d contoso scenarios: %d resolved with P2, %d with P1 only; %d read a risk", len(scs), resolved2, resolved1, len(p1risk))
	if resolved1 != resolved2 {
		t.Errorf("P1 only resolved %d, want %d as with P2", resolved1, resolved2)
	}
	for _, id := range slices.Sorted(maps.Keys(p1risk)) {
		for _, c := range p1risk[id] {
			var o struct {
				RiskLevel string `json:"riskLevel"`
			}
			if c.Error != "" || c.Outcome != "ok" || json.Unmarshal(c.Output, &o) != nil || o.RiskLevel != "unknown" {
				t.Errorf("%s: user.risk on P1 only = %s %s %s, want the risk unknown", id, c.Outcome, c.Output, c.Error)
			}
		}
		t.Logf("risk scenario %s: passes with P2 %v, with P1 only %v", id, p2[id], p1[id])
	}
}

// involves reports whether a scenario acts in tenant.
func involves(s Scenario, tenant string) bool {
	if s.Tenant == tenant || slices.Contains(s.Admitted, tenant) {
		return true
	}
	return slices.ContainsFunc(s.Changes, func(c Change) bool { return c.Tenant == tenant })
}
