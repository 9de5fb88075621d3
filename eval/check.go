package eval

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/tierzero/tierzero/graph/sim"
)

// step is one segment of a state path: a field, optionally selecting an
// array element by key=value or by index.
type step struct {
	field    string
	key, val string // [key=value]
	index    int    // [n], -1 for none
}

var stepPattern = regexp.MustCompile(`^([A-Za-z0-9_]+)(?:\[([^\]=]+)(?:=([^\]]*))?\])?$`)

// keyAliases are short names for selector keys.
var keyAliases = map[string]string{"upn": "userPrincipalName", "name": "displayName"}

// parsePath parses users[upn=a@b].authenticationMethods[type=x].id. Dots
// inside brackets belong to the value.
func parsePath(p string) ([]step, error) {
	var parts []string
	depth, start := 0, 0
	for i, r := range p {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				parts = append(parts, p[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, p[start:])
	var out []step
	for _, part := range parts {
		m := stepPattern.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("state path %q: bad segment %q", p, part)
		}
		s := step{field: m[1], index: -1}
		switch {
		case m[2] != "" && strings.Contains(part, "="):
			s.key, s.val = m[2], m[3]
			if a := keyAliases[s.key]; a != "" {
				s.key = a
			}
		case m[2] != "":
			n, err := strconv.Atoi(m[2])
			if err != nil {
				return nil, fmt.Errorf("state path %q: bad index %q", p, m[2])
			}
			s.index = n
		}
		out = append(out, s)
	}
	return out, nil
}

// lookup walks the path over v (decoded JSON); ok is false when something
// on the way is missing.
func lookup(v any, p string) (any, bool) {
	steps, err := parsePath(p)
	if err != nil {
		return nil, false
	}
	for _, s := range steps {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		if v, isMap = m[s.field]; !isMap {
			return nil, false
		}
		switch {
		case s.key != "":
			arr, _ := v.([]any)
			found := false
			for _, e := range arr {
				if em, _ := e.(map[string]any); em != nil && strings.EqualFold(fmt.Sprint(em[s.key]), s.val) {
					v, found = e, true
					break
				}
			}
			if !found {
				return nil, false
			}
		case s.index >= 0:
			arr, _ := v.([]any)
			if s.index >= len(arr) {
				return nil, false
			}
			v = arr[s.index]
		}
	}
	return v, true
}

// stateJSON decodes a tenant state as generic JSON.
func stateJSON(st sim.TenantState) any {
	b, _ := json.Marshal(st)
	var v any
	json.Unmarshal(b, &v)
	return v
}

// normalize makes a YAML value comparable with decoded JSON.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

func equal(a, b any) bool {
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.EqualFold(as, bs)
		}
	}
	return reflect.DeepEqual(a, b)
}

// check evaluates an assertion over the initial and final states; it
// returns "" when it holds, else why not.
func check(a Assertion, initial, final any, expand func(string) string) string {
	path := expand(a.Path)
	got, ok := lookup(final, path)
	want := a.Value
	if s, isStr := want.(string); isStr {
		want = expand(s)
	}
	want = normalize(want)
	fail := func(format string, args ...any) string {
		return fmt.Sprintf("state %s %s: ", a.Path, a.Op) + fmt.Sprintf(format, args...)
	}
	switch a.Op {
	case "exists":
		if !ok {
			return fail("missing")
		}
	case "not_exists":
		if ok {
			return fail("present: %v", short(got))
		}
	case "eq":
		if !ok || !equal(got, want) {
			return fail("got %v, want %v", short(got), want)
		}
	case "ne":
		if ok && equal(got, want) {
			return fail("got %v", short(got))
		}
	case "contains", "not_contains":
		has := false
		switch g := got.(type) {
		case string:
			ws, _ := want.(string)
			has = strings.Contains(strings.ToLower(g), strings.ToLower(ws))
		case []any:
			for _, e := range g {
				if equal(e, want) {
					has = true
				}
			}
		}
		if a.Op == "contains" && !has {
			return fail("%v does not contain %v", short(got), want)
		}
		if a.Op == "not_contains" && has {
			return fail("%v contains %v", short(got), want)
		}
	case "changed", "unchanged":
		before, _ := lookup(initial, path)
		same := reflect.DeepEqual(before, got)
		if a.Op == "changed" && same {
			return fail("still %v", short(got))
		}
		if a.Op == "unchanged" && !same {
			return fail("was %v, now %v", short(before), short(got))
		}
	}
	return ""
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 160 {
		s = s[:159] + "…"
	}
	return s
}

// resolver maps the {user:UPN}, {group:NAME} and {device:NAME} templates of
// a scenario to object ids, from a tenant's states; names it does not know
// are looked up in the resolvers it was chained to (then), in order.
type resolver struct {
	layers []names
}

// names are one tenant's: lowercase name -> id.
type names struct {
	users, groups, devices map[string]string
}

func newResolver(st sim.TenantState) resolver {
	r := resolver{layers: []names{{users: map[string]string{}, groups: map[string]string{}, devices: map[string]string{}}}}
	r.add(st)
	return r
}

// add adds the names of st to the resolver's own, keeping the names
// already known.
func (r resolver) add(st sim.TenantState) {
	n := r.layers[0]
	for _, u := range st.Users {
		n.users[strings.ToLower(u.UserPrincipalName)] = u.ID
	}
	for _, g := range st.Groups {
		n.groups[strings.ToLower(g.DisplayName)] = g.ID
	}
	for _, d := range st.Devices {
		n.devices[strings.ToLower(d.DeviceName)] = d.ID
	}
}

// then returns a resolver that looks names up in r, then in next.
func (r resolver) then(next resolver) resolver {
	return resolver{layers: append(append([]names{}, r.layers...), next.layers...)}
}

var templatePattern = regexp.MustCompile(`\{(user|group|device):([^{}]+)\}`)

func (r resolver) id(kind, name string) string {
	key := strings.ToLower(strings.TrimSpace(name))
	for _, n := range r.layers {
		m := map[string]map[string]string{"user": n.users, "group": n.groups, "device": n.devices}[kind]
		if id := m[key]; id != "" {
			return id
		}
	}
	return "unknown-" + kind + "-" + name
}

// expand replaces templates by ids.
func (r resolver) expand(s string) string {
	return templatePattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := templatePattern.FindStringSubmatch(m)
		return r.id(sub[1], sub[2])
	})
}

// glob compiles a journal path glob: * matches within a segment, ** across
// segments; a user template matches the id or the UPN.
func (r resolver) glob(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?i)^")
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i += 2
		case p[i] == '*':
			b.WriteString("[^/]*")
			i++
		case p[i] == '{':
			loc := templatePattern.FindStringSubmatchIndex(p[i:])
			if loc == nil || loc[0] != 0 {
				b.WriteString(regexp.QuoteMeta("{"))
				i++
				continue
			}
			kind, name := p[i+loc[2]:i+loc[3]], p[i+loc[4]:i+loc[5]]
			alts := []string{regexp.QuoteMeta(r.id(kind, name))}
			if kind == "user" {
				alts = append(alts, regexp.QuoteMeta(name))
			}
			b.WriteString("(?:" + strings.Join(alts, "|") + ")")
			i += loc[1]
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			i++
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// matches reports whether a journal entry is the effect.
func (r resolver) matches(e Effect, j sim.JournalEntry) bool {
	if e.Method != "" && !strings.EqualFold(e.Method, j.Method) {
		return false
	}
	re, err := r.glob(e.Path)
	if err != nil || !re.MatchString(j.Path) {
		return false
	}
	if e.BodyContains != "" && !strings.Contains(strings.ToLower(string(j.Body)), strings.ToLower(r.expand(e.BodyContains))) {
		return false
	}
	return true
}
