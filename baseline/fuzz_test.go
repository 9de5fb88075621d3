package baseline

import (
	"os"
	"testing"
)

// FuzzParse: no input makes Parse, the layering or the planner panic, and
// every problem Parse reports names the file.
func FuzzParse(f *testing.F) {
	f.Add(defaultYAML)
	for _, name := range []string{"testdata/example/contoso.yaml", "testdata/example/global.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(globalYAML))
	f.Add([]byte(contosoYAML))
	f.Add([]byte("scope: {global: true}\nnamed_locations:\n  - &a {name: x, cidrs: [::/0]}\n  - *a\n"))
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
	})
}
