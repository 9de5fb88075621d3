package agent

import (
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// nearPlain is near as first written: no early exits.
func nearPlain(tok, word string) bool {
	n := len([]rune(word))
	if n < 5 || len([]rune(tok)) < 4 {
		return false
	}
	if len(tok) >= len(word)+3 && strings.HasSuffix(tok, word) {
		return true
	}
	a, b := strings.ReplaceAll(tok, "ph", "f"), strings.ReplaceAll(word, "ph", "f")
	if len([]rune(b)) < 5 {
		return a == b
	}
	limit := 1
	if n >= 8 {
		limit = 2
	}
	return tierzero.EditDistance(a, b, limit) <= limit
}

// TestNearEarlyExits checks near against nearPlain on every word of the
// lexicon and the words one or two edits from them.
func TestNearEarlyExits(t *testing.T) {
	var words []string
	for _, e := range lexicon {
		for _, alts := range e.cue.words {
			for _, w := range alts {
				words = append(words, w.w)
			}
		}
	}
	edits := func(w string) []string {
		r := []rune(w)
		var out []string
		for i := range r {
			out = append(out, string(r[:i])+string(r[i+1:]))     // deletion
			out = append(out, string(r[:i])+"x"+string(r[i:]))   // insertion
			out = append(out, string(r[:i])+"ü"+string(r[i+1:])) // substitution
			if i+1 < len(r) {
				s := append([]rune(nil), r...)
				s[i], s[i+1] = s[i+1], s[i]
				out = append(out, string(s)) // swap
			}
		}
		return out
	}
	var toks []string
	for i, w := range words {
		if i%4 != 0 {
			continue // a sample keeps the test short
		}
		toks = append(toks, w, "an"+w+"s", strings.ReplaceAll(w, "f", "ph"))
		for j, e := range edits(w) {
			toks = append(toks, e)
			if j == 3 {
				toks = append(toks, edits(e)...) // two edits away
			}
		}
	}
	n := 0
	for _, w := range words {
		for _, tok := range toks {
			if got, want := near(tok, w), nearPlain(tok, w); got != want {
				t.Fatalf("near(%q, %q) = %v, want %v", tok, w, got, want)
			}
			n++
		}
	}
	t.Logf("%d pairs", n)
}
