package offline

import (
	"regexp"
	"slices"
	"testing"
)

func TestRequired(t *testing.T) {
	tests := []struct {
		expr string
		want []string // nil: none known
	}{
		{`\bpassword\b`, []string{"password"}},
		{`\b(hack(ed|er)?|compromised?)\b`, []string{"hack", "compromise"}},
		{`\bpass ?words?\b|\bpwd\b`, []string{"pass", "pwd"}},
		{`\b(the )?office\b`, []string{"office"}},
		{`(?i)\bpassword\b`, nil},
		{`\b\w+\b`, nil},
		{`a|b*`, nil},
		{`\bnimm\b([^?!\n]{0,80}?)\bauf\b`, []string{"nimm"}},
		{`x{2,3}`, []string{"x"}},
		{`\bsign(ed|ing)?\b.{0,80}\bout\b`, []string{"sign"}},
	}
	for _, tt := range tests {
		p := mustPattern(tt.expr)
		got := slices.Clone(p.need)
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("need of %q = %q, want %q", tt.expr, got, want)
		}
	}
}

// TestPatternsAgree checks that every pattern of canon answers as its
// regexp does, on the texts of the tests and some of their pieces.
func TestPatternsAgree(t *testing.T) {
	texts := []string{"", "I forgot my password", "my pass word expired", "ich habe mein passwort vergessen",
		"mot de passe oublie", "no puedo iniciar sesion", "out of the office until friday", "Nimm mich in die Gruppe auf",
		"they won't let me log in", "sign out everywhere", "my phone is not compliant with company portal", "2fa codes",
		"can't remember my pwd", "distribution list", "turn of my ooo", "logged into teams", "ordinateur portable non conforme"}
	for _, rs := range [][]rewrite{foreignPhrases, englishPhrases} {
		for _, r := range rs {
			re := regexp.MustCompile(r.re.String())
			for _, text := range texts {
				if got, want := r.re.ReplaceAllString(text, r.with), re.ReplaceAllString(text, r.with); got != want {
					t.Errorf("%q on %q: %q, want %q", r.re, text, got, want)
				}
				if got, want := r.re.MatchString(text), re.MatchString(text); got != want {
					t.Errorf("%q matches %q: %v, want %v", r.re, text, got, want)
				}
			}
		}
	}
}
