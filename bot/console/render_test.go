package console

import (
	"strings"
	"testing"
)

// FuzzRender checks the console's line rendering: whatever the text, every
// line printed begins with the prefix given and holds no control or escape
// character. CI runs it with -fuzztime.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "a\nb", "x\r[private to a] b", "\x1b[2K\x1b[1A", "\u2028", "\x1b]0;t\x07", "a\u0085b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := render("tierzero: ", continuation, text)
		if !strings.HasSuffix(got, "\n") {
			t.Fatalf("render(%q) = %q: no final newline", text, got)
		}
		for i, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if i == 0 && !strings.HasPrefix(l, "tierzero: ") || i > 0 && !strings.HasPrefix(l, continuation) {
				t.Fatalf("render(%q): line %d %q lacks its prefix", text, i, l)
			}
			for _, r := range l {
				if r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x2028 || r == 0x2029) {
					t.Fatalf("render(%q): line %q holds %U", text, l, r)
				}
			}
		}
	})
}
