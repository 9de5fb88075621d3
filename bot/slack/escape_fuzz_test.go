package slack

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzEscape: whatever the model or a tenant wrote, what Escape gives
// Slack holds no markup Slack acts on (no <!channel>, <!here>, <@U…>
// mentions or <url|text> links: no raw < or >), no bare & outside an
// entity, no broadcast that notifies, and no control character.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"<!channel> hi", "<@U123> <https://evil|bank>", "@here @everyone @Channel", "a & b &amp; c",
		"\x1b[2Jfake\x1b]8;;http://x\x07", "line\nnext\r\n\u202eevil", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Escape(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: not valid UTF-8", in, out)
		}
		if strings.ContainsAny(out, "<>") {
			t.Fatalf("Escape(%q) = %q: raw < or >", in, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] == '&' && !strings.HasPrefix(out[i:], "&amp;") && !strings.HasPrefix(out[i:], "&lt;") && !strings.HasPrefix(out[i:], "&gt;") {
				t.Fatalf("Escape(%q) = %q: a bare & at %d", in, out, i)
			}
		}
		if m := broadcast.FindString(out); m != "" {
			t.Fatalf("Escape(%q) = %q: %s would notify", in, out, m)
		}
		for _, r := range out {
			if r != '\n' && r != '\t' && (unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("Escape(%q) = %q: control or bidi character %U", in, out, r)
			}
		}
	})
}

// FuzzFitSection: an approval's call, whatever its arguments, fits one
// Block Kit section and stays valid UTF-8.
func FuzzFitSection(f *testing.F) {
	f.Add(strings.Repeat("&<>", 3000))
	f.Add(strings.Repeat("é", 4000))
	f.Fuzz(func(t *testing.T, in string) {
		out := fitSection(in)
		if len(out) > maxSection+80 || !utf8.ValidString(out) {
			t.Fatalf("fitSection(%d bytes) = %d bytes, valid %v", len(in), len(out), utf8.ValidString(out))
		}
	})
}
