package baseline

// This file: display names, as the baseline writes them and as a tenant's
// objects carry them. A name in a baseline file is plain (no space at
// either end, no invisible or non-ASCII space or blank, no control
// character, no Cyrillic or Greek letter that looks like a Latin one among
// Latin letters, at most MaxNameLen characters); a tenant's object matches it when the two
// are the same after folding (tierzero.FoldName), and only a byte-equal name is
// the same object: a lookalike (equal after folding, not byte-equal) is a
// conflict for a person, never a second, identical-looking object.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// MaxNameLen is the longest name (in characters) a baseline file may give:
// Entra ID's display names are at most 256 characters.
const MaxNameLen = 256

// checkName says what is wrong with a name written in a baseline file, or
// "" when it is plain.
func checkName(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(s) > MaxNameLen:
		return fmt.Sprintf("is longer than %d characters", MaxNameLen)
	case strings.TrimSpace(s) != s || strings.TrimFunc(s, invisible) != s:
		return "starts or ends with a space"
	}
	latin := strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Latin, r) }) >= 0
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("has the control character %U", r)
		case r != ' ' && (unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) || tierzero.BlankRune(r)):
			return fmt.Sprintf("has the non-ASCII space %U (write a plain space)", r)
		case tierzero.InvisibleRune(r):
			return fmt.Sprintf("has the invisible character %U", r)
		}
		if l, ok := tierzero.Homoglyph(r); ok && latin {
			return fmt.Sprintf("mixes Latin letters with %U, a %s letter that looks like the Latin %q (write the Latin letter)", r, script(r), l)
		}
	}
	return ""
}

// script names the script of a homoglyph.
func script(r rune) string {
	if unicode.Is(unicode.Greek, r) {
		return "Greek"
	}
	return "Cyrillic"
}

// invisible reports whether r prints as nothing or as a space.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp, unicode.Cc) || tierzero.InvisibleRune(r) || tierzero.BlankRune(r)
}

// sameName reports whether two display names name the same object to a
// person: equal after folding (Entra ID compares names case-insensitively;
// spaces a person cannot tell apart are folded too). Whether the tenant's
// name is also byte-equal to the baseline's is lookalike's question.
func sameName(a, b string) bool { return a == b || tierzero.FoldName(a) == tierzero.FoldName(b) }

// lookalike reports whether a tenant's name have only looks like the
// baseline's want: the same to a person, not byte-equal.
func lookalike(have, want string) bool { return have != want && sameName(have, want) }

// lookalikeWhy says why a lookalike is a conflict, the tenant's name
// quoted so that what differs shows (quoteShown).
func lookalikeWhy(what, have, want string) string {
	return fmt.Sprintf("the tenant's %s is named %s, which looks like the baseline's %q but is not the same name (case, spaces, invisible characters or lookalike letters differ): rename it to exactly %q, or rename the baseline's; tierzero never creates a second, identical-looking object", what, quoteShown(have), want, want)
}

// quoteShown quotes a name as %q does, and also escapes (\uXXXX) each
// character that only looks like another, so that it shows: a space or
// blank other than the ASCII space, a character that displays nothing, a
// fullwidth form, a Cyrillic or Greek letter that looks like a Latin one.
// Other letters (accented, of other scripts) stay as they are.
func quoteShown(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r > 0x7f && (unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) || tierzero.InvisibleRune(r) ||
			tierzero.BlankRune(r) || r >= 0xFF01 && r <= 0xFF5E || isHomoglyph(r)):
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			q := strconv.Quote(string(r))
			b.WriteString(q[1 : len(q)-1])
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isHomoglyph(r rune) bool {
	_, ok := tierzero.Homoglyph(r)
	return ok
}
