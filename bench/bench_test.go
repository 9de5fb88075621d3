package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/policy"
)

var (
	shapes = []string{"tenants", "flat"}
	sizes  = []int{10, 100, 1000}
)

// engines holds one benchmark set compiled for the three engines, and its
// requests prepared for each (outside the timed loop, so each engine is
// measured on its decision alone).
type engines struct {
	set      *policy.Set
	reqs     []policy.Request
	expect   []policy.Expect
	opa      rego.PreparedEvalQuery // data.tierzero.match, picked in Go
	opaFull  rego.PreparedEvalQuery // data.tierzero.decision, all in Rego
	opaIn    []ast.Value
	cedar    *cedar.PolicySet
	meta     map[cedar.PolicyID]CedarMeta
	cedarReq []cedar.Request
}

func load(tb testing.TB, shape string, n int) *engines {
	tb.Helper()
	dir := filepath.Join("..", "policy", "testdata", "bench", fmt.Sprintf("%s-%d", shape, n))
	set, err := policy.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tests, err := policy.ReadTests(filepath.Join(dir, "tests"))
	if err != nil {
		tb.Fatal(err)
	}
	e := &engines{set: set}
	files := set.Files()
	module := Rego(files)
	e.opa, err = rego.New(rego.Query("data.tierzero.match"), rego.Module("bench.rego", module)).PrepareForEval(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	e.opaFull, err = rego.New(rego.Query("data.tierzero.decision"), rego.Module("bench.rego", module)).PrepareForEval(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if e.cedar, e.meta, err = Cedar(files); err != nil {
		tb.Fatal(err)
	}
	for _, t := range tests {
		e.reqs = append(e.reqs, t.Request)
		e.expect = append(e.expect, t.Expect)
		in, err := ast.InterfaceToValue(OPAInput(t.Request))
		if err != nil {
			tb.Fatal(err)
		}
		e.opaIn = append(e.opaIn, in)
		e.cedarReq = append(e.cedarReq, CedarRequest(t.Request))
	}
	return e
}

func number(v any) int {
	n, _ := v.(interface{ Int64() (int64, error) }).Int64()
	return int(n)
}

func opaResult(pq rego.PreparedEvalQuery, in ast.Value) (any, error) {
	rs, err := pq.Eval(context.Background(), rego.EvalParsedInput(in))
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("result set %v", rs)
	}
	return rs[0].Expressions[0].Value, nil
}

// opaDecide asks OPA which rules apply and picks the decision in Go, as
// for Cedar: OPA's best case.
func (e *engines) opaDecide(i int) (tierzero.Effect, string, int, error) {
	v, err := opaResult(e.opa, e.opaIn[i])
	if err != nil {
		return "", "", 0, err
	}
	var buf [16]Hit
	hits := buf[:0]
	for _, x := range v.([]any) {
		m := x.(map[string]any)
		hits = append(hits, Hit{ID: m["id"].(string), Layer: number(m["layer"]), Strict: number(m["strict"]), Effect: tierzero.Effect(m["effect"].(string))})
	}
	eff, rule, layer := Pick(hits)
	return eff, rule, layer, nil
}

// opaFullDecide has Rego compute the whole decision.
func (e *engines) opaFullDecide(i int) (tierzero.Effect, string, int, error) {
	v, err := opaResult(e.opaFull, e.opaIn[i])
	if err != nil {
		return "", "", 0, err
	}
	d := v.(map[string]any)
	return tierzero.Effect(d["effect"].(string)), d["rule"].(string), number(d["layer"]), nil
}

var layerNames = map[string]int{"": -1, policy.LayerGlobal: 0, policy.LayerTenant: 1, policy.LayerDepartment: 2}

// TestAgreement: on every benchmark request, OPA and Cedar decide what
// tierzero decides (effect, rule and layer), which is also the expectation
// stored with the request.
func TestAgreement(t *testing.T) {
	for _, shape := range shapes {
		for _, n := range sizes {
			e := load(t, shape, n)
			for i, r := range e.reqs {
				d := e.set.Evaluate(r)
				want := fmt.Sprintf("%s %q %d", d.Effect, d.Rule, layerNames[d.Layer])
				if x := e.expect[i]; x.Effect != d.Effect || *x.Rule != d.Rule {
					t.Fatalf("%s-%d request %d: tierzero %s, stored expectation %s %q", shape, n, i, want, x.Effect, *x.Rule)
				}
				eff, rule, layer, err := e.opaDecide(i)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprintf("%s %q %d", eff, rule, layer); got != want {
					t.Errorf("%s-%d request %d: OPA %s, tierzero %s", shape, n, i, got, want)
				}
				eff, rule, layer, err = e.opaFullDecide(i)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprintf("%s %q %d", eff, rule, layer); got != want {
					t.Errorf("%s-%d request %d: OPA (decision in Rego) %s, tierzero %s", shape, n, i, got, want)
				}
				if got := e.set.Decide(r); got.Effect != d.Effect || got.Rule != d.Rule || got.Layer != d.Layer || got.Reason != d.Reason {
					t.Errorf("%s-%d request %d: Decide %+v, Evaluate %+v", shape, n, i, got, d)
				}
				eff, rule, layer = CedarDecide(e.cedar, e.meta, e.cedarReq[i])
				if got := fmt.Sprintf("%s %q %d", eff, rule, layer); got != want {
					t.Errorf("%s-%d request %d: Cedar %s, tierzero %s", shape, n, i, got, want)
				}
			}
		}
	}
}

// BenchmarkEvaluate decides the set's 64 requests in turn with each engine:
// tierzero's Evaluate (the decision; the facts map Guard audits is built
// by AuditFacts when recorded), tierzero-audited (Evaluate and AuditFacts,
// as Guard does),
// tierzero's Decide (the decision alone, as OPA and Cedar return it), OPA
// and Cedar.
func BenchmarkEvaluate(b *testing.B) {
	for _, shape := range shapes {
		for _, n := range sizes {
			e := load(b, shape, n)
			name := fmt.Sprintf("%s/rules=%d", shape, n)
			b.Run(name+"/engine=tierzero", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					e.set.Evaluate(e.reqs[i%len(e.reqs)])
					i++
				}
			})
			b.Run(name+"/engine=tierzero-audited", func(b *testing.B) {
				// Evaluate and then the facts map built, as the Guard
				// does for every decision it records.
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r := e.reqs[i%len(e.reqs)]
					d := e.set.Evaluate(r)
					e.set.AuditFacts(&r, d)
					i++
				}
			})
			b.Run(name+"/engine=tierzero-decide", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					e.set.Decide(e.reqs[i%len(e.reqs)])
					i++
				}
			})
			b.Run(name+"/engine=opa", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, _, _, err := e.opaDecide(i % len(e.reqs)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run(name+"/engine=opa-rego-decision", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, _, _, err := e.opaFullDecide(i % len(e.reqs)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run(name+"/engine=cedar", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					CedarDecide(e.cedar, e.meta, e.cedarReq[i%len(e.cedarReq)])
					i++
				}
			})
		}
	}
}
