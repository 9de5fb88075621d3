package baseline

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/tierzero/tierzero"
)

// FuzzParse: no input makes Parse, the layering, the planner or the
// rendering of its steps against the seeded tenants panic, every problem
// Parse reports names the file, and every plan is one apply takes.
func FuzzParse(f *testing.F) {
	f.Add(defaultYAML)
	for _, name := range []string{"../baselines/examples/contoso.yaml", "../baselines/examples/global.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(globalYAML))
	f.Add([]byte(contosoYAML))
	f.Add([]byte("scope: {global: true}\nnamed_locations:\n  - &a {name: x, cidrs: [::/0]}\n  - *a\n"))
	f.Add([]byte(hqOverride))
	var docs []tierzero.BaselineDoc
	for _, name := range []string{"contoso", "fabrikam"} {
		raw, err := os.ReadFile("testdata/sim/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		var doc tierzero.BaselineDoc
		if err := json.Unmarshal(raw, &doc); err != nil {
			f.Fatal(err)
		}
		docs = append(docs, withBreakGlass(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err != nil {
			for _, e := range err.(*LoadError).Errs {
				if len(e) < 7 || e[:7] != "f.yaml:" {
					t.Fatalf("problem without the file: %q", e)
				}
			}
			return
		}
		s, err := NewSet(file)
		if err != nil {
			return
		}
		b := s.For(file.Tenant)
		Plan(b, State{})
		for _, doc := range docs {
			if file.Tenant != "" {
				doc.Tenant = file.Tenant
			}
			p, err := s.PlanBaseline(doc)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if len(p.Plan.Steps) > 0 {
				raw, _ := json.Marshal(p.Plan)
				if _, err := tierzero.DecodePlanArgs(raw); err != nil {
					t.Fatalf("plan args refused: %v", err)
				}
			}
		}
	})
}
