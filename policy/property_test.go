package policy

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// Property tests over random rule sets and requests (the generator of
// reference_test.go).

func propertyRuns() int {
	if testing.Short() {
		return 2_000
	}
	return 10_000
}

func mustSet(t *testing.T, files []File) *Set {
	t.Helper()
	s, err := NewSet(files...)
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return s
}

// cloneFiles deep-copies the rule slices so a test can change them.
func cloneFiles(files []File) []File {
	out := slices.Clone(files)
	for i := range out {
		out[i].Rules = slices.Clone(out[i].Rules)
	}
	return out
}

// scopeOf returns a scope of the given layer that contains r, if any.
func scopeOf(rng *rand.Rand, r Request) Scope {
	switch rng.IntN(3) {
	case 1:
		return Scope{Tenant: r.Tenant}
	case 2:
		if r.Target != nil && r.Target.Department != nil && *r.Target.Department != "" {
			return Scope{Tenant: r.Tenant, Department: *r.Target.Department}
		}
	}
	return Scope{Global: true}
}

// Any applying deny decides, whatever else applies, at whatever layer.
func TestPropertyDenyOverridesAllow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < propertyRuns(); i++ {
		files, r := genFiles(rng, 12), genRequest(rng)
		// An unconditional allow in every layer, and one unconditional deny.
		for _, sc := range []Scope{{Global: true}, {Tenant: r.Tenant}} {
			files = append(files, File{Name: "allow.yaml", Scope: sc, Rules: []Rule{{ID: "allow-" + string(rune('a'+len(files))), Action: "*", Effect: tierzero.EffectAllow}}})
		}
		files = append(files, File{Name: "deny.yaml", Scope: scopeOf(rng, r), Rules: []Rule{{ID: "zz-deny", Action: r.Action, Effect: tierzero.EffectDeny}}})
		d := evaluated(mustSet(t, files), r)
		if d.Effect != tierzero.EffectDeny || d.Facts["missing"] != "" {
			t.Fatalf("run %d: %s by %s (%s), want a deny by a deny rule", i, d.Effect, d.Rule, d.Reason)
		}
		// The deny named is a deny rule of the set.
		if !strings.HasPrefix(d.Rule, "r") && d.Rule != "zz-deny" {
			t.Fatalf("run %d: deny names rule %q", i, d.Rule)
		}
	}
}

// Nothing applies: deny. A set without allow or require_approval rules
// never lets anything through.
func TestPropertyDefaultDeny(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	empty := mustSet(t, nil)
	for i := 0; i < propertyRuns(); i++ {
		r := genRequest(rng)
		if d := evaluated(empty, r); d.Effect != tierzero.EffectDeny || d.Rule != "" || !strings.Contains(d.Reason, "no policy") {
			t.Fatalf("empty set: %+v", d)
		}
		files := genFiles(rng, 12)
		for fi := range files {
			files[fi].Rules = slices.DeleteFunc(files[fi].Rules, func(r Rule) bool { return r.Effect != tierzero.EffectDeny })
		}
		if d := evaluated(mustSet(t, files), r); d.Effect != tierzero.EffectDeny {
			t.Fatalf("run %d: a set of denies decided %s", i, d.Effect)
		}
		// And whatever a random set grants, a rule that applies grants it.
		files = genFiles(rng, 12)
		d := evaluated(mustSet(t, files), r)
		if d.Effect == tierzero.EffectDeny {
			continue
		}
		found := false
		for _, f := range files {
			for _, rule := range f.Rules {
				if rule.ID == d.Rule && rule.Effect == d.Effect && refRule(f, rule, r) == "true" {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("run %d: %s by %q, which does not apply", i, d.Effect, d.Rule)
		}
	}
}

// Neither the order of files nor the order of rules nor a duplicated rule
// changes the decision.
func TestPropertyOrderAndDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < propertyRuns(); i++ {
		files, r := genFiles(rng, 12), genRequest(rng)
		want := evaluated(mustSet(t, files), r)

		shuffled := cloneFiles(files)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		for fi := range shuffled {
			rs := shuffled[fi].Rules
			rng.Shuffle(len(rs), func(a, b int) { rs[a], rs[b] = rs[b], rs[a] })
		}
		if got := evaluated(mustSet(t, shuffled), r); !sameDecision(got, want) {
			t.Fatalf("run %d: reordered: %+v, want %+v", i, got, want)
		}

		// Duplicate every rule (same content, an id that sorts after it),
		// and every file.
		dup := cloneFiles(files)
		for fi := range dup {
			for _, rule := range files[fi].Rules {
				rule.ID += ".dup"
				dup[fi].Rules = append(dup[fi].Rules, rule)
			}
		}
		for _, f := range files {
			f.Rules = slices.Clone(f.Rules)
			for j := range f.Rules {
				f.Rules[j].ID += ".copy"
			}
			dup = append(dup, f)
		}
		got := evaluated(mustSet(t, dup), r)
		got.Rule = strings.TrimSuffix(strings.TrimSuffix(got.Rule, ".dup"), ".copy")
		if !sameDecision(got, want) {
			t.Fatalf("run %d: duplicated: %+v, want %+v", i, got, want)
		}
	}
}

func sameDecision(a, b tierzero.Decision) bool {
	return a.Effect == b.Effect && a.Layer == b.Layer && a.File == b.File && a.Rule == b.Rule &&
		a.Reason == b.Reason && slices.Equal(a.Approvers, b.Approvers) && a.Count == b.Count &&
		a.Expires == b.Expires && a.Facts["missing"] == b.Facts["missing"]
}

// Adding an allow rule never makes a decision stricter (an allow stays an
// allow, an approval never becomes a deny), unless the new rule cannot be
// evaluated for a missing fact, which denies by design.
func TestPropertyAddingAllowNeverRevokes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	checked := 0
	for i := 0; i < propertyRuns(); i++ {
		files, r := genFiles(rng, 12), genRequest(rng)
		before := evaluated(mustSet(t, files), r)
		add := genRule(rng, "new")
		add.Effect, add.Approvers, add.Count, add.Expires = tierzero.EffectAllow, nil, 0, 0
		f := File{Name: "new.yaml", Scope: genScope(rng), Rules: []Rule{add}}
		if chance(rng, 0.5) {
			f.Scope = scopeOf(rng, r)
		}
		if strings.HasPrefix(refRule(f, add, r), "missing:") {
			continue
		}
		checked++
		after := evaluated(mustSet(t, append(cloneFiles(files), f)), r)
		if strictness(after.Effect) > strictness(before.Effect) {
			t.Fatalf("run %d: adding an allow turned %s (%s) into %s (%s)", i, before.Effect, before.Rule, after.Effect, after.Rule)
		}
	}
	if checked < propertyRuns()/2 {
		t.Fatalf("only %d runs checked", checked)
	}
}

// Adding a deny rule never grants: the decision is unchanged or a deny.
func TestPropertyAddingDenyNeverGrants(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < propertyRuns(); i++ {
		files, r := genFiles(rng, 12), genRequest(rng)
		before := evaluated(mustSet(t, files), r)
		add := genRule(rng, "new")
		add.Effect, add.Approvers, add.Count, add.Expires = tierzero.EffectDeny, nil, 0, 0
		f := File{Name: "new.yaml", Scope: genScope(rng), Rules: []Rule{add}}
		if chance(rng, 0.5) {
			f.Scope = scopeOf(rng, r)
		}
		after := evaluated(mustSet(t, append(cloneFiles(files), f)), r)
		if after.Effect != tierzero.EffectDeny && !sameDecision(after, before) {
			t.Fatalf("run %d: adding a deny changed %+v into %+v", i, before, after)
		}
		if before.Effect == tierzero.EffectDeny && after.Effect != tierzero.EffectDeny {
			t.Fatalf("run %d: adding a deny granted %s", i, after.Effect)
		}
	}
}

// evaluated is s.Evaluate(r) with its audit facts built, as the Guard
// records it.
func evaluated(s *Set, r Request) tierzero.Decision {
	d := s.Evaluate(r)
	d.Facts = s.AuditFacts(&r, d)
	return d
}
