package teams

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func unsafeRune(r rune) bool {
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 ||
		r >= 0x200B && r <= 0x200D || r == 0xFEFF || r == 0x2060)
}

// FuzzEscapeMarkdown: what escapeMarkdown gives Teams holds no raw HTML
// (no < or >), every markdown character escaped, and no control,
// bidirectional or zero-width character.
func FuzzEscapeMarkdown(f *testing.F) {
	for _, s := range []string{"**bold** [link](http://evil) <at>Admin</at>", "`code` ~x~ #h |t| {a}", "\x1b[31mred\u202e", "a\\*b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := escapeMarkdown(in)
		if !utf8.ValidString(out) || strings.ContainsAny(out, "<>") {
			t.Fatalf("escapeMarkdown(%q) = %q", in, out)
		}
		escaped := false
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("escapeMarkdown(%q) = %q: unsafe %U", in, out, r)
			}
			if !escaped && strings.ContainsRune("`*_~[]#|{}", r) {
				t.Fatalf("escapeMarkdown(%q) = %q: %q not escaped", in, out, r)
			}
			escaped = !escaped && r == '\\'
		}
	})
}

// FuzzCardText: text for a card is valid UTF-8, bounded, and holds no
// control, bidirectional or zero-width character.
func FuzzCardText(f *testing.F) {
	f.Add(strings.Repeat("é", 3000))
	f.Add("\x1b]0;title\x07\u2066x\u200b")
	f.Fuzz(func(t *testing.T, in string) {
		out := cardText(in)
		if !utf8.ValidString(out) || len(out) > maxCardText+len("…") {
			t.Fatalf("cardText(%q) = %q (%d bytes)", in, out, len(out))
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("cardText(%q) = %q: unsafe %U", in, out, r)
			}
		}
	})
}
