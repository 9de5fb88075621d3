package offline

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// pattern is a compiled regexp with the literal strings one of which every
// match of it holds (need): a text that holds none of them cannot match,
// and is not scanned. Most patterns the model reads are alternations of
// words, and most texts hold none of them.
type pattern struct {
	*regexp.Regexp
	need []string // nil: no such strings are known; always scan
}

// mustPattern compiles expr as regexp.MustCompile does, with its need.
func mustPattern(expr string) pattern {
	p := pattern{Regexp: regexp.MustCompile(expr)}
	if re, err := syntax.Parse(expr, syntax.Perl); err == nil {
		if need, ok := required(re.Simplify()); ok {
			p.need = need
		}
	}
	return p
}

// mayMatch reports whether s holds one of the literals every match holds.
func (p pattern) mayMatch(s string) bool {
	if p.need == nil {
		return true
	}
	for _, n := range p.need {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

// MatchString is regexp's, without the scan when s cannot match.
func (p pattern) MatchString(s string) bool {
	return p.mayMatch(s) && p.Regexp.MatchString(s)
}

// ReplaceAllString is regexp's, without the scan and the copy when s
// cannot match.
func (p pattern) ReplaceAllString(src, repl string) string {
	if !p.mayMatch(src) {
		return src
	}
	return p.Regexp.ReplaceAllString(src, repl)
}

// required returns strings one of which the text of every match of re
// holds; ok is false when it knows none. Case-folded literals are not
// used.
func required(re *syntax.Regexp) (need []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		if len(re.Rune) == 2 && re.Rune[0] == re.Rune[1] {
			return []string{string(re.Rune[0])}, true
		}
		return nil, false
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		// Every part is in the match: the most selective part that has
		// literals will do.
		for _, sub := range re.Sub {
			if n, ok := required(sub); ok && (need == nil || better(n, need)) {
				need = n
			}
		}
		return need, need != nil
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			n, ok := required(sub)
			if !ok {
				return nil, false
			}
			need = append(need, n...)
		}
		return need, true
	}
	return nil, false
}

// better reports whether the literals a select fewer texts than b: their
// shortest is longer.
func better(a, b []string) bool {
	short := func(ls []string) int {
		n := len(ls[0])
		for _, l := range ls[1:] {
			n = min(n, len(l))
		}
		return n
	}
	if sa, sb := short(a), short(b); sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

// FindString is regexp's, without the scan when s cannot match.
func (p pattern) FindString(s string) string {
	if !p.mayMatch(s) {
		return ""
	}
	return p.Regexp.FindString(s)
}

// FindStringIndex is regexp's, without the scan when s cannot match.
func (p pattern) FindStringIndex(s string) []int {
	if !p.mayMatch(s) {
		return nil
	}
	return p.Regexp.FindStringIndex(s)
}

// FindStringSubmatch is regexp's, without the scan when s cannot match.
func (p pattern) FindStringSubmatch(s string) []string {
	if !p.mayMatch(s) {
		return nil
	}
	return p.Regexp.FindStringSubmatch(s)
}

// FindAllString is regexp's, without the scan when s cannot match.
func (p pattern) FindAllString(s string, n int) []string {
	if !p.mayMatch(s) {
		return nil
	}
	return p.Regexp.FindAllString(s, n)
}

// FindAllStringIndex is regexp's, without the scan when s cannot match.
func (p pattern) FindAllStringIndex(s string, n int) [][]int {
	if !p.mayMatch(s) {
		return nil
	}
	return p.Regexp.FindAllStringIndex(s, n)
}

// FindAllStringSubmatch is regexp's, without the scan when s cannot match.
func (p pattern) FindAllStringSubmatch(s string, n int) [][]string {
	if !p.mayMatch(s) {
		return nil
	}
	return p.Regexp.FindAllStringSubmatch(s, n)
}

// ReplaceAllStringFunc is regexp's, without the scan when src cannot
// match.
func (p pattern) ReplaceAllStringFunc(src string, repl func(string) string) string {
	if !p.mayMatch(src) {
		return src
	}
	return p.Regexp.ReplaceAllStringFunc(src, repl)
}
