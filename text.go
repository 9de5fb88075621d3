package tierzero

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns text that came from outside tierzero (a model's answer,
// a display name, a plan that quotes them, a Graph error) made safe to show
// to a person, on a terminal or in a chat message, so that what is shown is
// what the text says and nothing can act on the display itself:
//
//   - terminal escape sequences (ANSI CSI such as ESC [ 2 K, OSC such as
//     window titles and ESC ] 8 hyperlinks, DCS, SOS, PM, APC, and the
//     two-byte escapes such as ESC 7), in their 7-bit and C1 forms, are
//     removed whole; an escape that is not complete becomes U+FFFD and what
//     follows it stays visible;
//   - other C0 control characters (except newline and tab), DEL, C1 control
//     characters, the bidirectional embeddings, overrides and isolates
//     (U+202A-U+202E, U+2066-U+2069) and the invisible tag characters
//     (U+E0000-U+E007F) become U+FFFD; the bidirectional marks (U+200E,
//     U+200F, U+061C) are dropped;
//   - every line break (CR LF, CR, NEL, U+2028, U+2029) becomes "\n";
//   - bytes that are not UTF-8 become U+FFFD.
//
// A newline is kept: text is often several lines. Whoever shows it decides
// what a line of it may look like (the console puts its own prefix before
// each one, so that no line of untrusted text passes for one of its
// markers); text that must stay on one line takes PrintableLine. The Slack
// and Teams adapters call Printable before their own markup escaping.
// Printable(Printable(s)) == Printable(s).
func Printable(s string) string { return printable(s, false) }

// PrintableLine is Printable for text that must stay on one line (a name,
// an address, a label): every line break and tab becomes a space.
func PrintableLine(s string) string { return printable(s, true) }

func printable(s string, line bool) string {
	if plain(s, line) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	noEnd := false // no string terminator follows: later strings are unterminated too
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case introducer(r):
			if end := escapeEnd(s, i, &noEnd); end > i {
				i = end
				continue
			}
			b.WriteRune(utf8.RuneError)
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			// CR LF: the LF that follows is the line break
		case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
			if line {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\n')
			}
		case r == '\t':
			if line {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\t')
			}
		case r == 0x200E || r == 0x200F || r == 0x061C:
			// a bidirectional mark: invisible, dropped
		case hidden(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// plain reports whether s is printable ASCII (with newlines and tabs, unless
// line) and so needs no change.
func plain(s string, line bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f || !line && (c == '\n' || c == '\t') {
			continue
		}
		return false
	}
	return true
}

// hidden reports whether r is a control or formatting character that must
// not reach a display.
func hidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r >= 0xE0000 && r <= 0xE007F: // tags
		return true
	}
	return false
}

// introducer reports whether r begins an escape sequence: ESC, or the C1
// CSI, DCS, SOS, OSC, PM and APC.
func introducer(r rune) bool {
	switch r {
	case 0x1b, 0x9b, 0x90, 0x98, 0x9d, 0x9e, 0x9f:
		return true
	}
	return false
}

// escapeEnd returns the index just after the escape sequence that begins
// at s[i], or i when it is not a complete one. noEnd records that no string
// terminator follows (so that a text of many unterminated strings is read
// once, not once per string).
func escapeEnd(s string, i int, noEnd *bool) int {
	var j int
	var str bool // a control string (OSC, DCS, ...), not a CSI
	if s[i] == 0x1b {
		if i+1 >= len(s) {
			return i
		}
		switch c := s[i+1]; {
		case c == '[':
			j = i + 2
		case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
			j, str = i+2, true
		case c >= 0x20 && c <= 0x2f: // nF: intermediates, then a final byte
			k := i + 1
			for k < len(s) && s[k] >= 0x20 && s[k] <= 0x2f {
				k++
			}
			if k < len(s) && s[k] >= 0x30 && s[k] <= 0x7e {
				return k + 1
			}
			return i
		case c >= 0x30 && c <= 0x7e: // Fp, Fe, Fs: one byte
			return i + 2
		default:
			return i
		}
	} else {
		// a C1 introducer, two bytes in UTF-8: U+009B is CSI, the others
		// open a control string
		j, str = i+2, s[i+1] != 0x9b
	}
	if !str {
		// CSI: parameter and intermediate bytes, then a final byte
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x3f {
			j++
		}
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
			return j + 1
		}
		return i
	}
	if *noEnd {
		return i
	}
	// A control string ends at BEL or ST (ESC \ or U+009C); CAN and SUB
	// cancel it, and another ESC begins a new sequence.
	for ; j < len(s); j++ {
		switch s[j] {
		case 0x07, 0x18, 0x1a:
			return j + 1
		case 0x1b:
			if j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
			return j
		case 0xc2:
			if j+1 < len(s) && s[j+1] == 0x9c {
				return j + 2
			}
		}
	}
	*noEnd = true
	return i
}

// Clip cuts s to at most n bytes, on a rune boundary, and marks a cut with
// "…" (so the result may be up to 3 bytes longer than n).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// EditDistance is the optimal string alignment distance of a and b, over
// runes: insertions, deletions, substitutions and swaps of two neighbouring
// letters. It stops early and returns limit+1 when the distance exceeds
// limit; a negative limit means no limit.
func EditDistance(a, b string, limit int) int {
	// Words are short: their runes and the three rows of the table live on
	// the stack; only longer strings allocate.
	var bufA, bufB [32]rune
	ra, rb := bufA[:0], bufB[:0]
	for _, r := range a {
		ra = append(ra, r)
	}
	for _, r := range b {
		rb = append(rb, r)
	}
	if limit < 0 {
		limit = len(ra) + len(rb)
	}
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	var buf [3 * 33]int
	var rows []int
	if n := 3 * (len(rb) + 1); n <= len(buf) {
		rows = buf[:n]
	} else {
		rows = make([]int, n)
	}
	w := len(rb) + 1
	prev2, prev, cur := rows[:w], rows[w:2*w], rows[2*w:]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			low = min(low, cur[j])
		}
		if low > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], limit+1)
}

// Fold lowercases s, strips the accents of Latin letters and straightens
// quotes, apostrophes and dashes, for matching what people write (not for
// showing it: names and messages are always taken as written).
func Fold(s string) string {
	// ASCII folds to its lower case (backquote aside): no copy when it is
	// lower case already.
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c == '`' {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		if f, ok := foldRunes[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var foldRunes = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ā': "a", 'ą': "a",
	'ç': "c", 'ć': "c", 'č': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ę': "e", 'ě': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'ł': "l", 'ñ': "n", 'ń': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'œ': "oe",
	'ř': "r", 'ś': "s", 'š': "s", 'ß': "ss", 'ť': "t", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u",
	'ý': "y", 'ÿ': "y", 'ź': "z", 'ż': "z", 'ž': "z",
	'’': "'", '‘': "'", '´': "'", '`': "'",
	'“': `"`, '”': `"`, '„': `"`, '«': `"`, '»': `"`,
	'¿': " ", '¡': " ", '–': "-", '—': "-", '\u00a0': " ",
	// Other Latin letters with diacritics (Central and Eastern European, Turkish).
	'ă': "a", 'ĉ': "c", 'ċ': "c", 'ĕ': "e", 'ė': "e", 'ĩ': "i", 'ĭ': "i", 'į': "i", 'ı': "i", 'ņ': "n", 'ŉ': "n", 'ŏ': "o", 'ő': "o", 'ũ': "u", 'ŭ': "u", 'ű': "u", 'ų': "u", 'ŷ': "y", 'ŝ': "s", 'ş': "s", 'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ŀ': "l", 'ŕ': "r", 'ŗ': "r", 'ĝ': "g", 'ğ': "g", 'ġ': "g", 'ģ': "g", 'ď': "d", 'đ': "d", 'ţ': "t", 'ŧ': "t",
}

// FoldName folds a display name for matching objects by name (the
// tenant baselines' planner and tools), so that two names a person cannot
// tell apart fold alike:
//
//   - every run of spaces (any Unicode space, tab or line break) and of
//     characters that display as a blank (BlankRune: the Hangul fillers,
//     the Braille blank) becomes one space, none at either end;
//   - characters that display nothing (InvisibleRune: format characters
//     such as the zero-width space and joiners, the combining grapheme
//     joiner, variation selectors) are dropped;
//   - fullwidth forms become their ASCII letters;
//   - Cyrillic and Greek letters that look like Latin ones (Homoglyph:
//     Cyrillic а е о р с, Greek ο α ρ, ...) become those Latin letters;
//   - the case is folded.
//
// A homoglyph is mapped as it looks in a name that also has Latin letters
// (Greek ν as v, Ν as N: a lookalike of a Latin name), and by its capital
// in one that has none (ν and Ν both as N), so that a Greek or Cyrillic
// name still matches itself in any case.
func FoldName(s string) string {
	latin := false
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFF01 - 0x21
		}
		if unicode.Is(unicode.Latin, r) {
			latin = true
			break
		}
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp, unicode.Cc) || BlankRune(r):
			space = true
			continue
		case InvisibleRune(r):
			continue
		case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
			r -= 0xFF01 - 0x21
		}
		if l, ok := homoglyph(r, latin); ok {
			r = l
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(strings.ToLower(strings.ToUpper(string(r))))
	}
	return b.String()
}

// InvisibleRune reports whether r displays nothing: a format character
// (zero-width space, joiners, bidirectional marks, tags, soft hyphen) or
// a mark that shows nothing (the combining grapheme joiner U+034F, the
// variation selectors U+FE00-U+FE0F and U+E0100-U+E01EF, the Mongolian
// free variation selectors U+180B-U+180F, the Khmer inherent vowels
// U+17B4 and U+17B5).
func InvisibleRune(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r),
		r == 0x034F, r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF,
		r >= 0x180B && r <= 0x180F, r == 0x17B4, r == 0x17B5:
		return true
	}
	return false
}

// BlankRune reports whether r displays as a blank although Unicode does
// not class it as a space: the Hangul fillers (U+115F, U+1160, U+3164,
// U+FFA0) and the Braille blank (U+2800).
func BlankRune(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800:
		return true
	}
	return false
}

// Homoglyph returns the Latin letter (lower case) that the Cyrillic or
// Greek letter r looks like (Cyrillic а, е, о, р, с, у, х, і, ј, ѕ, ԁ,
// ӏ, һ, к, м, н, т, в; Greek ο, α, ν, ι, κ, τ, ρ, ε, ...), in either
// case, each as it looks: Greek ν is v, its capital Ν is n.
func Homoglyph(r rune) (rune, bool) {
	l, ok := homoglyphs[r]
	return l, ok
}

// homoglyph maps r for FoldName: as it looks in a name with Latin letters
// (latin), else by its capital's look (or its own, when its capital looks
// like no Latin letter), the same for both cases.
func homoglyph(r rune, latin bool) (rune, bool) {
	if latin {
		return Homoglyph(r)
	}
	if l, ok := homoglyphs[unicode.ToUpper(r)]; ok {
		return l, true
	}
	return Homoglyph(unicode.ToLower(r))
}

// homoglyphs are the Cyrillic and Greek letters that look like a Latin
// letter, each mapped to that letter as it looks.
var homoglyphs = map[rune]rune{
	// Cyrillic
	'А': 'a', 'а': 'a', 'В': 'b', 'в': 'b', 'Е': 'e', 'е': 'e', 'К': 'k', 'к': 'k',
	'М': 'm', 'м': 'm', 'Н': 'h', 'н': 'h', 'О': 'o', 'о': 'o', 'Р': 'p', 'р': 'p',
	'С': 'c', 'с': 'c', 'Т': 't', 'т': 't', 'У': 'y', 'у': 'y', 'Х': 'x', 'х': 'x',
	'І': 'i', 'і': 'i', 'Ј': 'j', 'ј': 'j', 'Ѕ': 's', 'ѕ': 's', 'Ԁ': 'd', 'ԁ': 'd',
	'Ӏ': 'l', 'ӏ': 'l', 'Һ': 'h', 'һ': 'h', 'Ү': 'y', 'ү': 'y', 'Ԛ': 'q', 'ԛ': 'q',
	'Ԝ': 'w', 'ԝ': 'w', 'Ѵ': 'v', 'ѵ': 'v', 'Ԍ': 'g', 'ԍ': 'g',
	// Greek
	'Α': 'a', 'α': 'a', 'Β': 'b', 'Ε': 'e', 'ε': 'e', 'Ζ': 'z', 'Η': 'h', 'η': 'n',
	'Ι': 'i', 'ι': 'i', 'Κ': 'k', 'κ': 'k', 'Μ': 'm', 'μ': 'u', 'Ν': 'n', 'ν': 'v',
	'Ο': 'o', 'ο': 'o', 'Ρ': 'p', 'ρ': 'p', 'Τ': 't', 'τ': 't', 'Υ': 'y', 'υ': 'u',
	'Χ': 'x', 'χ': 'x', 'γ': 'y', 'ω': 'w', 'Ϲ': 'c', 'ϲ': 'c', 'Ϳ': 'j', 'ϳ': 'j',
}
