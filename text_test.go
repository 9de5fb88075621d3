package tierzero

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want, line string
	}{
		{"plain", "Reset the password of adele@contoso.com?", "Reset the password of adele@contoso.com?", ""},
		{"lines and tabs kept", "one\n\ttwo", "one\n\ttwo", "one  two"},
		{"accents and emoji kept", "Zoë Ødegård 👍 مرحبا", "Zoë Ødegård 👍 مرحبا", ""},
		{"CSI colour", "\x1b[31mred\x1b[0m", "red", ""},
		{"CSI erases the line above", "Bob\x1b[1A\x1b[2K", "Bob", ""},
		{"carriage return overwrites", "Bob\r[private to adele] password: x", "Bob\n[private to adele] password: x", "Bob [private to adele] password: x"},
		{"CR LF", "a\r\nb", "a\nb", "a b"},
		{"OSC title with BEL", "\x1b]0;owned\x07name", "name", ""},
		{"OSC 8 hyperlink with ST", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click", ""},
		{"unterminated OSC stays visible", "\x1b]0;title", "\uFFFD]0;title", ""},
		{"DCS", "\x1bPq#0;2;0;0;0\x1b\\x", "x", ""},
		{"two-byte escapes", "\x1b7a\x1b8\x1bc", "a", ""},
		{"charset escape", "\x1b(Bx", "x", ""},
		{"lone ESC", "a\x1b", "a\uFFFD", ""},
		{"incomplete CSI", "a\x1b[31", "a\uFFFD[31", ""},
		{"C1 CSI", "a\u009b31mb", "ab", ""},
		{"C1 OSC with C1 ST", "a\u009d0;t\u009cb", "ab", ""},
		{"other C1", "a\u0085b\u0080c", "a\nb\uFFFDc", "a b\uFFFDc"},
		{"C0 and DEL", "a\x00b\x07c\x08d\x7fe", "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe", ""},
		{"bidi override", "invoice\u202Efdp.exe", "invoice\uFFFDfdp.exe", ""},
		{"bidi isolate", "a\u2066b\u2069", "a\uFFFDb\uFFFD", ""},
		{"bidi marks dropped", "a\u200eb\u200fc\u061cd", "abcd", ""},
		{"line and paragraph separators", "a\u2028b\u2029c", "a\nb\nc", "a b c"},
		{"tags", "a\U000E0041\U000E007Fb", "a\uFFFD\uFFFDb", ""},
		{"invalid UTF-8", "a\xffb\xc0", "a\uFFFDb\uFFFD", ""},
		{"raw C1 byte", "a\x9b31mb", "a\uFFFD31mb", ""},
		{"escape inside OSC begins anew", "\x1b]0;t\x1b[31mx", "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable(tt.in); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
			want := tt.line
			if want == "" {
				want = tt.want
			}
			if got := PrintableLine(tt.in); got != want {
				t.Errorf("PrintableLine(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestPrintableUnterminatedStringsAreLinear(t *testing.T) {
	s := strings.Repeat("\u009dx", 200000) // OSC, never terminated
	if got := Printable(s); got != strings.Repeat("\uFFFDx", 200000) {
		t.Fatalf("got %d runes", utf8.RuneCountInString(got))
	}
}

func TestPrintableKeepsPlainText(t *testing.T) {
	s := "adele.vance@contoso.com"
	if allocs := testing.AllocsPerRun(100, func() { _ = Printable(s) }); allocs != 0 {
		t.Fatalf("%v allocations for plain text", allocs)
	}
}

// checkShowable fails unless s is what Printable promises: valid UTF-8
// without escapes, control or formatting characters (newline and tab
// aside, and those too when line).
func checkShowable(t *testing.T, in, s string, line bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q -> %q: not UTF-8", in, s)
	}
	for _, r := range s {
		bad := hidden(r) || r == 0x200E || r == 0x200F || r == 0x061C || r == 0x2028 || r == 0x2029
		if r == '\n' || r == '\t' {
			bad = line
		}
		if bad {
			t.Fatalf("%q -> %q: holds %U", in, s, r)
		}
	}
}

// FuzzPrintable checks that Printable and PrintableLine leave no control,
// escape or bidirectional formatting character, keep plain text as it is,
// and are idempotent. CI runs it with -fuzztime.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{
		"", "plain", "a\nb", "\x1b[31mred\x1b[0m", "\x1b]8;;https://x\x1b\\l\x1b]8;;\x1b\\",
		"\x1b]0;t\x07", "\u009b2J", "\u009d0;x\u009c", "a\u202eb", "\r\n", "\xff\xfe", "\x1bP\x1b",
		"\U000E0041", "a\u2028b", "\x1b(", "\x1b[", "\x1b]", "\u0085",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, l := Printable(s), PrintableLine(s)
		checkShowable(t, s, p, false)
		checkShowable(t, s, l, true)
		if again := Printable(p); again != p {
			t.Fatalf("Printable not idempotent: %q -> %q -> %q", s, p, again)
		}
		if again := PrintableLine(l); again != l {
			t.Fatalf("PrintableLine not idempotent: %q -> %q -> %q", s, l, again)
		}
		if plain(s, false) && p != s {
			t.Fatalf("plain %q changed to %q", s, p)
		}
		if strings.Count(l, "\n") != 0 {
			t.Fatalf("PrintableLine(%q) = %q has a line break", s, l)
		}
	})
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc…"},
		{"ééé", 3, "é…"}, // never half a rune
		{"x", 0, "…"},
	} {
		if got := Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"password", "password", 2, 0},
		{"pasword", "password", 2, 1},  // a deletion
		{"passwrod", "password", 2, 1}, // two neighbours swapped
		{"paswrod", "password", 2, 2},  // both
		{"outlok", "outlook", -1, 1},   // no limit
		{"kennwort", "password", 2, 3}, // over the limit: limit+1
		{"a", "abcdef", 2, 3},          // lengths alone exceed it
		{"müller", "muller", 1, 1},     // runes, not bytes
		{"", "abc", -1, 3},
	} {
		if got := EditDistance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("EditDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}

func BenchmarkEditDistance(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		EditDistance("passwrd", "password", 1)
		EditDistance("anmeldecodes", "authenticator", 2)
		EditDistance("kompromittiert", "compromised", -1)
	}
}

// TestFoldASCII checks Fold's ASCII path against the rune by rune one.
func TestFoldASCII(t *testing.T) {
	plain := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if f, ok := foldRunes[r]; ok {
				b.WriteString(f)
				continue
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	for _, s := range []string{"", "i forgot my password", "I Forgot My PASSWORD!", "don`t", "ZX-4412 @ Contoso.com",
		"Zurücksetzen", "Passwort vergessen – bitte", "“quoted”", "\x00\x7f~", "ÀÉÎ straße"} {
		if got, want := Fold(s), plain(s); got != want {
			t.Errorf("Fold(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestFoldName(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Require MFA for admins", "require mfa for admins"},
		{"Head office", "Head\u00a0office"},
		{"Head office", " Head   office\t"},
		{"Head office", "Ｈead office"},
		{"Head office", "Head office\u200b"},
		// Marks that display nothing are dropped.
		{"Require MFA for users", "Require MFA\u034f for users"},
		{"Require MFA for users", "Require MFA for\ufe0f users"},
		{"Require MFA for users", "Require\U000E0100 MFA for users"},
		{"Require MFA for users", "Require MFA\u180b for users"},
		// Blank letters are spaces.
		{"Require MFA for users", "Require\u3164MFA for users"},
		{"Require MFA for users", "Require\u115fMFA\u1160for users"},
		{"Require MFA for users", "Require MFA for\uffa0users"},
		{"Require MFA for users", "Require MFA\u2800for users\u2800"},
		// Cyrillic and Greek letters that look like Latin ones.
		{"Require MFA for all users", "Require MFA for all us\u0435rs"},                          // Cyrillic е
		{"Require MFA for all users", "R\u0435quir\u0435 MF\u0410 f\u043er \u0430ll us\u0435rs"}, // е, А, о, а
		{"Block legacy authentication", "\u0412lock legacy authentication"},                      // Cyrillic В
		{"Block legacy authentication", "Block legacy \u0430uthentic\u0430tion"},                 // Cyrillic а
		{"Sales Team", "\u0405ales \u0422eam"},                                                   // Cyrillic Ѕ, Т
		{"Head office", "\u041dead office"},                                                      // Cyrillic Н
		{"Head office", "\u0397ead \u03bfffice"},                                                 // Greek Η, ο
		{"VPN Users", "\u03bdPN Users"},                                                          // Greek ν as v
		{"VPN Users", "VP\u039d Users"},                                                          // Greek Ν as N
		{"Kiosk", "\u039a\u03b9\u03bfsk"},                                                        // Greek Κ, ι, ο
		{"Exploit", "Exp\u04cfoit"},                                                              // Cyrillic ӏ
		{"ATM", "\u0410\u0422\u041c"},                                                            // all Cyrillic
		{"TOP", "\u03a4\u039f\u03a1"},                                                            // all Greek
		// A Greek or Cyrillic name matches itself in any case.
		{"\u039d\u0395\u0391 \u039f\u039c\u0391\u0394\u0391", "\u03bd\u03b5\u03b1 \u03bf\u03bc\u03b1\u03b4\u03b1"}, // ΝΕΑ ΟΜΑΔΑ, νεα ομαδα
		{"\u0423\u0427\u0415\u0422", "\u0443\u0447\u0435\u0442"},                                                   // УЧЕТ, учет
	} {
		if FoldName(tc.a) != FoldName(tc.b) {
			t.Errorf("%q and %q fold apart: %q, %q", tc.a, tc.b, FoldName(tc.a), FoldName(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"Head office", "Headoffice"},
		{"MFA for admins", "MFA for users"},
		{"Require MFA for users", "Require MFA for user\u00e9"},
		{"\u0423\u0447\u0435\u0442", "\u0423\u0447\u0451\u0442"}, // Учет, Учёт
	} {
		if FoldName(tc.a) == FoldName(tc.b) {
			t.Errorf("%q and %q fold alike: %q", tc.a, tc.b, FoldName(tc.a))
		}
	}
	for _, r := range []rune{0x034F, 0xFE00, 0xFE0F, 0xE0100, 0xE01EF, 0x180B, 0x180D, 0x200B, 0x2060} {
		if !InvisibleRune(r) || BlankRune(r) {
			t.Errorf("%U: not invisible", r)
		}
	}
	for _, r := range []rune{0x3164, 0x115F, 0x1160, 0xFFA0, 0x2800} {
		if !BlankRune(r) || InvisibleRune(r) {
			t.Errorf("%U: not blank", r)
		}
	}
	for _, r := range []rune{'a', 'A', 'e', ' ', 0x0301, 0x0436} {
		if InvisibleRune(r) || BlankRune(r) {
			t.Errorf("%U: invisible or blank", r)
		}
		if _, ok := Homoglyph(r); ok {
			t.Errorf("%U: a homoglyph", r)
		}
	}
}
