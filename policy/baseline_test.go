package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runYAMLTests runs the policy unit tests of testDir against s, the way
// `tierzero policy test` does.
func runYAMLTests(t *testing.T, s *Set, testDir string) {
	t.Helper()
	tests, err := ReadTests(testDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Fatalf("no tests in %s", testDir)
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.File)+"/"+tt.Name, func(t *testing.T) {
			if _, err := tt.Run(s); err != nil {
				t.Errorf("%s:%d: %v", tt.File, tt.Line, err)
			}
		})
	}
}

// The baseline's own YAML tests run in CI through the same code as
// `tierzero policy test policy/baseline`.
func TestBaselineYAMLTests(t *testing.T) {
	s, err := Load("baseline")
	if err != nil {
		t.Fatal(err)
	}
	runYAMLTests(t, s, filepath.Join("baseline", "tests"))
	// The embedded baseline is the same set of rules.
	if got, want := Baseline().Len(), s.Len(); got != want {
		t.Fatalf("embedded baseline has %d rules, the directory %d", got, want)
	}
	runYAMLTests(t, Baseline(), filepath.Join("baseline", "tests"))
}

// The examples layer on the baseline: their tests and the baseline's pass
// together (`tierzero policy test policy/baseline policies/examples`).
func TestExamplesYAMLTests(t *testing.T) {
	dir := filepath.Join("..", "policies", "examples")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no examples:", err)
	}
	examples, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(append(BaselineFiles(), examples...)...)
	if err != nil {
		t.Fatal(err)
	}
	runYAMLTests(t, s, filepath.Join(dir, "tests"))
	runYAMLTests(t, s, filepath.Join("baseline", "tests"))
}

// docs/policy.md documents every rule of the baseline.
func TestBaselineDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "policy.md"))
	if err != nil {
		t.Skip("no docs:", err)
	}
	for _, f := range BaselineFiles() {
		for _, r := range f.Rules {
			if !strings.Contains(string(doc), "| `"+r.ID+"` | `"+r.Action+"` | "+string(r.Effect)+" |") {
				t.Errorf("docs/policy.md has no row for rule %s (%s, %s)", r.ID, r.Action, r.Effect)
			}
		}
	}
}
