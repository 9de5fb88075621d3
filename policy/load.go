package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
)

// maxFileSize bounds one policy or test file.
const maxFileSize = 1 << 20

// Load reads the policy files of dir (every *.yaml and *.yml file directly
// in it, in lexical order; subdirectories such as tests/ are not read) and
// returns them as a Set. Every problem is reported as "file:line: message",
// all of them in one *LoadError.
func Load(dir string) (*Set, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return NewSet(files...)
}

// ReadDir parses the policy files of dir without building a Set, so the
// files of several directories can be layered into one with NewSet. On
// error it also returns every file as far as it could be read (those with
// problems marked Incomplete), so that they can be checked further.
func ReadDir(dir string) ([]File, error) {
	return readFiles(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
}

// readFiles parses every *.yaml and *.yml file of dir in fsys; label names
// a file in messages.
func readFiles(fsys fs.FS, dir string, label func(string) string) ([]File, error) {
	names, err := yamlFiles(fsys, dir, label)
	if err != nil {
		return nil, err
	}
	var files []File
	var errs []string
	for _, name := range names {
		data, err := readLimited(fsys, path.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", label(name), err))
			continue
		}
		f, err := Parse(label(name), data)
		if err != nil {
			errs = append(errs, errorLines(err)...)
			if f.Name == "" {
				continue // nothing could be read
			}
		}
		files = append(files, f)
	}
	if len(errs) > 0 {
		return files, &LoadError{Errs: errs}
	}
	return files, nil
}

func yamlFiles(fsys fs.FS, dir string, label func(string) string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read policy directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || (path.Ext(n) != ".yaml" && path.Ext(n) != ".yml") {
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no policy files (*.yaml, *.yml)", strings.TrimSuffix(label("."), "/."))
	}
	slices.Sort(names)
	return names, nil
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return data, nil
}

func errorLines(err error) []string {
	var le *LoadError
	if errors.As(err, &le) {
		return le.Errs
	}
	return []string{err.Error()}
}

// Parse reads one policy file: a scope, rules and, optionally, the MSP
// technicians it admits across tenants (a file may have technicians and no
// rules). Unknown keys, wrong types and unknown values are errors, reported
// as "name:line: message", every one of them, in the order of their lines.
// The rules are validated further (ids unique, conditions compile) as NewSet
// does. With an error, the file returned is what could be read, marked
// Incomplete (for Check), unless nothing could.
func Parse(name string, data []byte) (File, error) {
	p := &parser{name: name}
	f := File{Name: name}
	root := p.document(data)
	if root == nil {
		return File{}, p.err()
	}
	check := File{Name: name} // what the parser found nothing wrong with, for NewSet
	m := p.mapping(root, "policy file", "scope", "technicians", "rules")
	if m != nil {
		if n := m["scope"]; n != nil {
			before := len(p.errs)
			f.Scope, f.ScopeLine = p.scope(n), n.Line
			if len(p.errs) == before {
				check.Scope = f.Scope
			}
		} else {
			p.errorf(root, "missing scope: want scope: {global: true}, {tenant: T} or {tenant: T, department: D}")
		}
		if check.Scope == (Scope{}) {
			check.Scope = Scope{Global: true} // to check the rules all the same
		}
		if n := m["technicians"]; n != nil {
			f.Technicians = p.technicians(n)
			if m["scope"] != nil && f.Scope.Department != "" {
				p.errorf(n, "%s", errDepartmentTechnicians)
			}
		}
		if n := m["rules"]; n != nil {
			var clean []bool
			f.Rules, clean = p.rules(n)
			for i, ok := range clean {
				if ok {
					check.Rules = append(check.Rules, f.Rules[i])
				} else {
					p.ruleProblems(&f.Rules[i])
				}
			}
		} else if m["technicians"] == nil {
			p.errorf(root, "missing rules")
		}
	}
	// What NewSet would find wrong is best reported with the file's lines,
	// along with what the parser found.
	if _, err := NewSet(check); err != nil {
		p.errs = append(p.errs, errorLines(err)...)
	}
	p.duplicateIDs(f.Rules)
	if len(p.errs) > 0 {
		p.errs = slices.Compact(p.errs) // a repeat follows its first: same line, same text
		sortByLine(name, p.errs)
		p.errs = slices.Compact(p.errs)
		f.Incomplete = true
		return f, p.err()
	}
	return f, nil
}

// ruleProblems adds what compiling r finds wrong that the parser did not
// already report (the parser checks values one by one; the compiler also
// checks them together: approvers without require_approval, a count the
// manager alone cannot meet, an empty hours window).
func (p *parser) ruleProblems(r *Rule) {
	said := map[string]bool{}
	for _, e := range p.errs {
		if _, msg, ok := strings.Cut(strings.TrimPrefix(e, p.name+":"), ": "); ok {
			said[msg] = true
		}
	}
	_, errs := compileRule(r)
	for _, err := range errs {
		if said[err.Error()] {
			continue
		}
		if r.ID != "" && validID(r.ID) {
			p.errorf(&yaml.Node{Line: r.Line}, "rule %s: %v", r.ID, err)
		} else {
			p.errorf(&yaml.Node{Line: r.Line}, "%v", err)
		}
	}
}

// duplicateIDs reports rule ids used twice in the file, as NewSet does.
func (p *parser) duplicateIDs(rules []Rule) {
	first := map[string]int{}
	for _, r := range rules {
		if r.ID == "" {
			continue
		}
		if line, dup := first[r.ID]; dup {
			p.errorf(&yaml.Node{Line: r.Line}, "rule id %q already used in %s:%d", r.ID, p.name, line)
			continue
		}
		first[r.ID] = r.Line
	}
}

// sortByLine orders "name:line: message" lines by line, stably; lines
// without one come first.
func sortByLine(name string, lines []string) {
	line := func(s string) int {
		rest, ok := strings.CutPrefix(s, name+":")
		if !ok {
			return 0
		}
		n, _, _ := strings.Cut(rest, ":")
		v, _ := strconv.Atoi(n)
		return v
	}
	slices.SortStableFunc(lines, func(a, b string) int { return line(a) - line(b) })
}

// parser decodes YAML nodes strictly, collecting errors with line numbers.
type parser struct {
	name string
	errs []string
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		p.errs = append(p.errs, fmt.Sprintf("%s:%d: %s", p.name, line, msg))
	} else {
		p.errs = append(p.errs, fmt.Sprintf("%s: %s", p.name, msg))
	}
	if len(p.errs) == 50 {
		p.errs = append(p.errs, p.name+": too many errors")
	}
}

func (p *parser) err() error {
	if len(p.errs) > 51 {
		p.errs = p.errs[:51]
	}
	return &LoadError{Errs: slices.Clone(p.errs)}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data as exactly one YAML document and returns its root.
func (p *parser) document(data []byte) (root *yaml.Node) {
	if len(data) > maxFileSize {
		p.errorf(nil, "larger than %d bytes", maxFileSize)
		return nil
	}
	defer func() {
		// The YAML parser is not ours; a panic in it on hostile input must
		// not take the process down with it.
		if v := recover(); v != nil {
			p.errorf(nil, "invalid YAML")
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.errorf(nil, "empty file")
			return nil
		}
		p.yamlError(err)
		return nil
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		if err != nil {
			p.yamlError(err)
		} else {
			p.errorf(&more, "more than one YAML document")
		}
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(&doc, "empty file")
		return nil
	}
	return doc.Content[0]
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errorf(&yaml.Node{Line: line}, "%s", m[2])
		return
	}
	p.errorf(nil, "%s", strings.TrimPrefix(msg, "yaml: "))
}

// mapping checks that n is a mapping whose keys are all known and unique
// and returns its values by key; nil (after reporting) when it is not.
func (p *parser) mapping(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if !p.plain(n, what) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping (key: value)", what)
		return nil
	}
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.errorf(k, "%s: keys must be plain names", what)
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "unknown key %q in %s (want %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		if _, dup := m[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s", k.Value, what)
			continue
		}
		m[k.Value] = v
	}
	return m
}

// plain rejects aliases (policy files say everything explicitly).
func (p *parser) plain(n *yaml.Node, what string) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "%s: aliases are not supported", what)
		return false
	}
	return true
}

// str returns a scalar as a string; numbers are accepted as written.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if !p.plain(n, what) {
		return "", false
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		}
	}
	p.errorf(n, "%s: want a string", what)
	return "", false
}

// nonEmpty is str that also refuses an empty or blank value.
func (p *parser) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		p.errorf(n, "%s: must not be empty", what)
		return "", false
	}
	return s, ok
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if p.plain(n, what) && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		switch strings.ToLower(n.Value) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	p.errorf(n, "%s: want true or false", what)
	return false, false
}

func (p *parser) integer(n *yaml.Node, what string, min, max int) (int, bool) {
	if p.plain(n, what) && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err == nil && v >= int64(min) && v <= int64(max) {
			return int(v), true
		}
	}
	p.errorf(n, "%s: want a whole number from %d to %d", what, min, max)
	return 0, false
}

// list accepts one string or a sequence of strings.
func (p *parser) list(n *yaml.Node, what string) ([]string, bool) {
	if !p.plain(n, what) {
		return nil, false
	}
	if n.Kind == yaml.ScalarNode {
		s, ok := p.nonEmpty(n, what)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a name or a list of names", what)
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for _, c := range n.Content {
		s, good := p.nonEmpty(c, what)
		ok = ok && good
		out = append(out, s)
	}
	if len(out) == 0 {
		p.errorf(n, "%s: empty list", what)
		return nil, false
	}
	return out, ok
}

func (p *parser) scope(n *yaml.Node) Scope {
	var s Scope
	m := p.mapping(n, "scope", "global", "tenant", "department")
	if m == nil {
		return s
	}
	if v := m["global"]; v != nil {
		if b, ok := p.boolean(v, "global"); ok {
			s.Global = b
			if !b {
				p.errorf(v, "global: false is not a scope; name a tenant instead")
			}
		}
	}
	if v := m["tenant"]; v != nil {
		if t, ok := p.nonEmpty(v, "tenant"); ok {
			if err := tierzero.ValidTenantID(tierzero.TenantID(t)); err != nil {
				p.errorf(v, "%s", tierzero.ErrorMessage(err))
			}
			s.Tenant = tierzero.TenantID(t)
		}
	}
	if v := m["department"]; v != nil {
		if d, ok := p.nonEmpty(v, "department"); ok {
			s.Department = d
			if m["tenant"] == nil {
				p.errorf(v, "a department scope also names its tenant")
			}
		}
	}
	switch {
	case s.Global && (m["tenant"] != nil || m["department"] != nil):
		p.errorf(n, "a global scope names no tenant or department")
	case m["global"] == nil && m["tenant"] == nil:
		p.errorf(n, "scope must be {global: true}, {tenant: T} or {tenant: T, department: D}")
	}
	return s
}

// technicians reads a list of user principal names or globs, each with
// exactly one '@'.
func (p *parser) technicians(n *yaml.Node) []string {
	if !p.plain(n, "technicians") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "technicians: want a list of user principal names, such as [tess@msp.example, \"*@support.msp.example\"]")
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "technicians: empty list")
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		s, ok := p.str(c, "technicians")
		if !ok {
			continue
		}
		if err := validTechnician(s); err != nil {
			p.errorf(c, "%v", err)
			continue
		}
		out = append(out, s)
	}
	return out
}

// rules reads the rules, and for each whether the parser found it clean.
func (p *parser) rules(n *yaml.Node) ([]Rule, []bool) {
	if !p.plain(n, "rules") {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "rules: want a list of rules")
		return nil, nil
	}
	out := make([]Rule, 0, len(n.Content))
	clean := make([]bool, 0, len(n.Content))
	for _, c := range n.Content {
		before := len(p.errs)
		out = append(out, p.rule(c))
		clean = append(clean, len(p.errs) == before)
	}
	return out, clean
}

func (p *parser) rule(n *yaml.Node) Rule {
	r := Rule{Line: n.Line}
	m := p.mapping(n, "rule", "id", "action", "effect", "when", "approvers", "count", "expires", "reason")
	if m == nil {
		return r
	}
	for _, k := range []string{"id", "action", "effect"} {
		if m[k] == nil {
			p.errorf(n, "rule has no %s", k)
		}
	}
	if v := m["id"]; v != nil {
		if id, ok := p.nonEmpty(v, "id"); ok {
			r.ID = id
			if !validID(id) {
				p.errorf(v, "bad id %q: want letters, digits and - _ . : (at most 128)", id)
			}
		}
	}
	if v := m["action"]; v != nil {
		if a, ok := p.nonEmpty(v, "action"); ok {
			r.Action = a
			if !validAction(a) {
				p.errorf(v, "bad action pattern %q: want an action name such as user.reset_password or a glob such as user.*", a)
			}
		}
	}
	if v := m["effect"]; v != nil {
		if e, ok := p.nonEmpty(v, "effect"); ok {
			r.Effect = tierzero.Effect(e)
			if err := validEffect(r.Effect); err != nil {
				p.errorf(v, "%v", err)
			}
		}
	}
	if v := m["when"]; v != nil {
		r.When = p.conditions(v)
	}
	if v := m["approvers"]; v != nil {
		if as, ok := p.list(v, "approvers"); ok {
			r.Approvers = as
			for _, a := range as {
				if err := validApprover(a); err != nil {
					p.errorf(v, "%v", err)
				}
			}
		}
	}
	if v := m["count"]; v != nil {
		r.Count, _ = p.integer(v, "count", 1, 100)
	}
	if v := m["expires"]; v != nil {
		if s, ok := p.nonEmpty(v, "expires"); ok {
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				p.errorf(v, "expires %q: want a duration such as 24h or 90m", s)
			case d <= 0 || d > maxExpires:
				p.errorf(v, "expires %s: want more than 0 and at most %v", s, maxExpires)
			default:
				r.Expires = d
			}
		}
	}
	if v := m["reason"]; v != nil {
		r.Reason, _ = p.nonEmpty(v, "reason")
	}
	return r
}

// Condition keys, in evaluation order.
var conditionKeys = []string{
	"target", "requester_role", "requester_in_group", "target_in_group", "target_department",
	"target_has_admin_role", "group", "group_has_admin_role", "license", "device_owner", "channel", "hours",
	"max_per_day", "user_risk_max", "user_risk_unknown",
}

func (p *parser) conditions(n *yaml.Node) Conditions {
	var c Conditions
	m := p.mapping(n, "when", conditionKeys...)
	if m == nil {
		return c
	}
	if v := m["target"]; v != nil {
		if t, ok := p.nonEmpty(v, "target"); ok {
			c.Target = t
			switch t {
			case TargetSelf, TargetOther, TargetDirectReport, TargetSameDepartment, TargetAny:
			default:
				p.errorf(v, "unknown target %q: want self, other, direct_report, same_department or any", t)
			}
		}
	}
	if v := m["requester_role"]; v != nil {
		roles, _ := p.list(v, "requester_role")
		for _, r := range roles {
			if err := validRole(tierzero.Role(r)); err != nil {
				p.errorf(v, "%v", err)
			}
			c.RequesterRole = append(c.RequesterRole, tierzero.Role(r))
		}
	}
	if v := m["requester_in_group"]; v != nil {
		c.RequesterInGroup = p.groupRefs(v, "requester_in_group")
	}
	if v := m["target_in_group"]; v != nil {
		c.TargetInGroup = p.groupRefs(v, "target_in_group")
	}
	if v := m["target_department"]; v != nil {
		c.TargetDepartment, _ = p.list(v, "target_department")
	}
	if v := m["target_has_admin_role"]; v != nil {
		if b, ok := p.boolean(v, "target_has_admin_role"); ok {
			c.TargetHasAdminRole = &b
		}
	}
	if v := m["group"]; v != nil {
		c.Group = p.filter(v, "group")
		for _, list := range []struct {
			names []string
			key   string
		}{{c.Group.Allow, "allow"}, {c.Group.Deny, "deny"}} {
			for _, g := range list.names {
				if _, err := compileGroupRef("group."+list.key, g); err != nil {
					p.errorf(v, "%v", err)
				}
			}
		}
	}
	if v := m["group_has_admin_role"]; v != nil {
		if b, ok := p.boolean(v, "group_has_admin_role"); ok {
			c.GroupHasAdminRole = &b
		}
	}
	if v := m["license"]; v != nil {
		c.License = p.filter(v, "license")
	}
	if v := m["device_owner"]; v != nil {
		if s, ok := p.nonEmpty(v, "device_owner"); ok {
			c.DeviceOwner = s
			if s != "self" {
				p.errorf(v, "unknown device_owner %q: want self", s)
			}
		}
	}
	if v := m["channel"]; v != nil {
		chans, _ := p.list(v, "channel")
		for _, ch := range chans {
			if err := validChannel(tierzero.Channel(ch)); err != nil {
				p.errorf(v, "%v", err)
			}
			c.Channel = append(c.Channel, tierzero.Channel(ch))
		}
	}
	if v := m["hours"]; v != nil {
		c.Hours = p.hours(v)
	}
	if v := m["max_per_day"]; v != nil {
		c.MaxPerDay, _ = p.integer(v, "max_per_day", 1, 1_000_000)
	}
	if v := m["user_risk_max"]; v != nil {
		if s, ok := p.nonEmpty(v, "user_risk_max"); ok {
			c.UserRiskMax = s
			if riskRank(s) < 0 {
				p.errorf(v, "unknown user_risk_max %q: want none, low, medium or high", s)
			}
		}
	}
	if v := m["user_risk_unknown"]; v != nil {
		if s, ok := p.nonEmpty(v, "user_risk_unknown"); ok {
			c.UserRiskUnknown = s
			if s != riskUnknownAllow && s != riskUnknownDeny {
				p.errorf(v, "unknown user_risk_unknown %q: want allow or deny", s)
			} else if m["user_risk_max"] == nil {
				p.errorf(v, "user_risk_unknown needs user_risk_max in the same rule")
			}
		}
	}
	return c
}

// groupRefs reads a list of groups: object ids, or display names (no
// patterns).
func (p *parser) groupRefs(n *yaml.Node, what string) []string {
	list, ok := p.list(n, what)
	if !ok {
		return list
	}
	for _, g := range list {
		if _, err := compileGroupRef(what, g); err != nil {
			p.errorf(n, "%v", err)
		}
	}
	return list
}

func (p *parser) filter(n *yaml.Node, what string) *NameFilter {
	f := &NameFilter{}
	m := p.mapping(n, what, "allow", "deny")
	if m == nil {
		return f
	}
	if v := m["allow"]; v != nil {
		f.Allow, _ = p.list(v, what+".allow")
	}
	if v := m["deny"]; v != nil {
		f.Deny, _ = p.list(v, what+".deny")
	}
	if m["allow"] == nil && m["deny"] == nil {
		p.errorf(n, "%s: give allow or deny", what)
	}
	return f
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (p *parser) hours(n *yaml.Node) *Hours {
	h := &Hours{}
	m := p.mapping(n, "hours", "days", "from", "to", "timezone")
	if m == nil {
		return h
	}
	if v := m["days"]; v != nil {
		days, _ := p.list(v, "days")
		for _, d := range days {
			l := strings.ToLower(d)
			wd, ok := weekdays[l]
			if !ok && len(l) > 3 {
				wd, ok = weekdays[l[:3]]
				ok = ok && strings.ToLower(wd.String()) == l
			}
			if !ok {
				p.errorf(v, "days: unknown day %q: want mon, tue, wed, thu, fri, sat or sun", d)
				continue
			}
			h.Days = append(h.Days, wd)
		}
	}
	if v := m["from"]; v != nil {
		if s, ok := p.nonEmpty(v, "from"); ok {
			h.From = s
			if _, err := clock(s, false); err != nil {
				p.errorf(v, "%v", err)
			}
		}
	}
	if v := m["to"]; v != nil {
		if s, ok := p.nonEmpty(v, "to"); ok {
			h.To = s
			if _, err := clock(s, true); err != nil {
				p.errorf(v, "%v", err)
			}
		}
	}
	if v := m["timezone"]; v != nil {
		if s, ok := p.nonEmpty(v, "timezone"); ok {
			h.Timezone = s
			if _, err := compileHours(Hours{Timezone: s}); err != nil {
				p.errorf(v, "%v", err)
			}
		}
	}
	if (h.From == "") != (h.To == "") {
		p.errorf(n, "hours: give both from and to")
	}
	return h
}
