package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
)

// ParseRequest reads a request document, JSON or YAML, that states every
// fact explicitly (for `tierzero policy check` and policy tests):
//
//	{"tenant": "contoso", "action": "user.reset_password", "channel": "teams",
//	 "time": "2026-11-27T09:00:00Z",
//	 "requester": {"tenant": ..., "upn": ..., "department": ..., "groups": [...], "role": "employee"},
//	 "target": {"upn": ..., "department": ..., "groups": [...], "admin_roles": [...],
//	            "risk": "low", "manager": ...},
//	 "group": {"id": ..., "name": ..., "role_assignable": false, "admin_roles": []},
//	 "license": {"sku": ...}, "device": {"id": ..., "owner": ...},
//	 "group_ids": {"Helpdesk": "<object id>"},
//	 "args": {...}, "history": {"count_today": 0}}
//
// A fact left out is missing (a rule that needs it denies), for every fact:
// "department": "" says "no department", "manager": "" "no manager",
// "admin_roles": [] "no admin role", "groups": [] "member of no group",
// "owner": "" "no primary user". Groups are object ids (GUIDs), or
// {"id": ..., "name": ...}; group_ids stands in for the tenant's directory:
// the object id each group display name the policies use resolves to (a
// name left out does not resolve). The requester's tenant defaults to the
// request's; another one (an MSP technician's home tenant) makes the
// request cross-tenant (see Set.Admits). args are accepted for the record:
// policy reads the facts above, never the arguments themselves.
func ParseRequest(name string, data []byte) (Request, error) {
	p := &parser{name: name}
	root := p.document(data)
	if root == nil {
		return Request{}, p.err()
	}
	r := p.request(root)
	if len(p.errs) > 0 {
		return Request{}, p.err()
	}
	return r, nil
}

func (p *parser) request(n *yaml.Node) Request {
	var r Request
	m := p.mapping(n, "request", "tenant", "action", "channel", "time", "requester", "target",
		"group", "license", "device", "group_ids", "args", "history")
	if m == nil {
		return r
	}
	for _, k := range []string{"tenant", "action"} {
		if m[k] == nil {
			p.errorf(n, "request has no %s", k)
		}
	}
	if v := m["tenant"]; v != nil {
		if s, ok := p.nonEmpty(v, "tenant"); ok {
			r.Tenant = tierzero.TenantID(s)
			if err := tierzero.ValidTenantID(r.Tenant); err != nil {
				p.errorf(v, "%s", tierzero.ErrorMessage(err))
			}
		}
	}
	if v := m["action"]; v != nil {
		r.Action, _ = p.nonEmpty(v, "action")
	}
	if v := m["channel"]; v != nil {
		if s, ok := p.nonEmpty(v, "channel"); ok {
			r.Channel = tierzero.Channel(s)
			if err := validChannel(r.Channel); err != nil {
				p.errorf(v, "%v", err)
			}
		}
	}
	if v := m["time"]; v != nil {
		if s, ok := p.nonEmpty(v, "time"); ok {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				p.errorf(v, "time %q: want RFC 3339, e.g. 2026-11-27T09:00:00Z", s)
			}
			r.Time = t
		}
	}
	r.Requester = tierzero.Requester{Tenant: r.Tenant, Channel: r.Channel}
	if v := m["requester"]; v != nil {
		if u := p.user(v, "requester", "tenant", "upn", "department", "groups", "role"); u != nil {
			r.RequesterFacts = &u.UserFacts
			r.Requester.UPN, r.Requester.Role = u.UPN, u.role
			if u.tenant != "" {
				r.Requester.Tenant = u.tenant
			}
		}
	}
	if v := m["target"]; v != nil {
		if u := p.user(v, "target", "upn", "department", "groups", "admin_roles", "risk", "manager"); u != nil {
			r.Target = &u.UserFacts
		}
	}
	if v := m["group"]; v != nil {
		if g := p.mapping(v, "group", "id", "name", "role_assignable", "admin_roles"); g != nil {
			r.Group = &GroupFacts{}
			if x := g["id"]; x != nil {
				r.Group.ID = p.objectID(x, "group.id")
			}
			r.Group.Name, _ = p.optional(g, "name")
			if x := g["role_assignable"]; x != nil {
				if b, ok := p.boolean(x, "group.role_assignable"); ok {
					r.Group.RoleAssignable = &b
				}
			}
			if x := g["admin_roles"]; x != nil {
				r.Group.AdminRoles = p.names(x, "group.admin_roles")
			}
		}
	}
	if v := m["group_ids"]; v != nil {
		if ids := p.freeMapping(v, "group_ids"); ids != nil {
			r.GroupIDs = map[string]string{}
			for _, kv := range ids {
				name, id := kv[0], kv[1]
				if ref, err := compileGroupRef("group_ids", name.Value); err != nil || ref.id != "" {
					p.errorf(name, "group_ids: %q: want a group's display name", name.Value)
					continue
				}
				if got := p.objectID(id, "group_ids."+name.Value); got != "" {
					r.GroupIDs[PinKey(name.Value)] = got
				}
			}
		}
	}
	if v := m["license"]; v != nil {
		if l := p.mapping(v, "license", "sku_id", "sku"); l != nil {
			r.License = &LicenseFacts{}
			r.License.SKUID, _ = p.optional(l, "sku_id")
			r.License.SKU, _ = p.optional(l, "sku")
		}
	}
	if v := m["device"]; v != nil {
		if d := p.mapping(v, "device", "id", "name", "owner"); d != nil {
			r.Device = &DeviceFacts{}
			r.Device.ID, _ = p.optional(d, "id")
			r.Device.Name, _ = p.optional(d, "name")
			if x := d["owner"]; x != nil {
				if s, ok := p.str(x, "owner"); ok {
					r.Device.Owner = &s
				}
			}
		}
	}
	if v := m["args"]; v != nil && p.plain(v, "args") && v.Kind != yaml.MappingNode {
		p.errorf(v, "args: want an object")
	}
	if v := m["history"]; v != nil {
		if h := p.mapping(v, "history", "count_today"); h != nil {
			if c := h["count_today"]; c != nil {
				if n, ok := p.integer(c, "count_today", 0, 1_000_000_000); ok {
					r.History = &HistoryFacts{CountToday: n}
				}
			} else {
				p.errorf(v, "history has no count_today")
			}
		}
	}
	return r
}

type userDoc struct {
	tierzero.UserFacts
	role   tierzero.Role
	tenant tierzero.TenantID // the requester's own tenant, when given
}

func (p *parser) optional(m map[string]*yaml.Node, key string) (string, bool) {
	if v := m[key]; v != nil {
		return p.str(v, key)
	}
	return "", false
}

func (p *parser) user(n *yaml.Node, what string, keys ...string) *userDoc {
	m := p.mapping(n, what, keys...)
	if m == nil {
		return nil
	}
	u := &userDoc{}
	u.UPN, _ = p.optional(m, "upn")
	if v := m["department"]; v != nil {
		if s, ok := p.str(v, what+".department"); ok {
			u.Department = &s
		}
	}
	if v := m["manager"]; v != nil {
		if s, ok := p.str(v, what+".manager"); ok {
			u.Manager = &s
		}
	}
	if v := m["groups"]; v != nil {
		u.Groups = p.groups(v, what+".groups")
	}
	if v := m["admin_roles"]; v != nil {
		u.AdminRoles = p.names(v, what+".admin_roles")
	}
	if v := m["risk"]; v != nil {
		if s, ok := p.nonEmpty(v, "risk"); ok {
			u.RiskLevel = s
			if riskRank(s) < 0 {
				p.errorf(v, "unknown risk %q: want none, low, medium or high", s)
			}
		}
	}
	if v := m["tenant"]; v != nil {
		if s, ok := p.nonEmpty(v, what+".tenant"); ok {
			u.tenant = tierzero.TenantID(s)
			if err := tierzero.ValidTenantID(u.tenant); err != nil {
				p.errorf(v, "%s.tenant: %s", what, tierzero.ErrorMessage(err))
			}
		}
	}
	if v := m["role"]; v != nil {
		if s, ok := p.nonEmpty(v, "role"); ok {
			u.role = tierzero.Role(s)
			if err := validRole(u.role); err != nil {
				p.errorf(v, "%s", strings.Replace(err.Error(), "requester_role", "role", 1))
			}
		}
	}
	return u
}

// objectID reads an object id (a GUID), in lower case; "" after reporting
// anything else.
func (p *parser) objectID(n *yaml.Node, what string) string {
	s, ok := p.nonEmpty(n, what)
	if !ok {
		return ""
	}
	if !IsObjectID(s) {
		p.errorf(n, "%s: %q is not an object id (a GUID)", what, s)
		return ""
	}
	return strings.ToLower(s)
}

// groups reads a sequence of groups, possibly empty (never nil): object ids,
// or {id: ..., name: ...}.
func (p *parser) groups(n *yaml.Node, what string) []tierzero.GroupRef {
	if !p.plain(n, what) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list of object ids", what)
		return nil
	}
	out := make([]tierzero.GroupRef, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind == yaml.MappingNode {
			if m := p.mapping(c, what, "id", "name"); m != nil {
				if m["id"] == nil {
					p.errorf(c, "%s: a group has no id", what)
					continue
				}
				g := tierzero.GroupRef{ID: p.objectID(m["id"], what+".id")}
				g.Name, _ = p.optional(m, "name")
				if g.ID != "" {
					out = append(out, g)
				}
			}
			continue
		}
		s, ok := p.nonEmpty(c, what)
		if !ok {
			continue
		}
		if !IsObjectID(s) {
			p.errorf(c, "%s: %q: facts name groups by object id (a GUID), or {id: ..., name: ...}", what, s)
			continue
		}
		out = append(out, tierzero.GroupRef{ID: strings.ToLower(s)})
	}
	return out
}

// freeMapping reads a mapping of string keys to values, keys unique, in
// order.
func (p *parser) freeMapping(n *yaml.Node, what string) [][2]*yaml.Node {
	if !p.plain(n, what) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping (name: id)", what)
		return nil
	}
	out := [][2]*yaml.Node{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be names", what)
			continue
		}
		if seen[PinKey(k.Value)] {
			p.errorf(k, "duplicate key %q in %s", k.Value, what)
			continue
		}
		seen[PinKey(k.Value)] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// names reads a sequence of names, possibly empty (never nil).
func (p *parser) names(n *yaml.Node, what string) []string {
	if !p.plain(n, what) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list", what)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if s, ok := p.nonEmpty(c, what); ok {
			out = append(out, s)
		}
	}
	return out
}

// Test is one policy unit test: a request and the decision expected of it.
type Test struct {
	Name    string
	File    string
	Line    int
	Request Request
	Expect  Expect
}

// Expect is what a test expects of a decision. Effect is required; the
// other fields are checked only when given (Rule and Layer may be given as
// "" to expect none, as for a "no policy" deny).
type Expect struct {
	Effect    tierzero.Effect
	Rule      *string
	Layer     *string
	Approvers []string
	Count     int
	Missing   string // the missing fact a deny names
}

// ReadTests parses every *.yaml and *.yml file of dir as policy tests.
func ReadTests(dir string) ([]Test, error) {
	names, err := yamlFiles(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
	if err != nil {
		return nil, err
	}
	var tests []Test
	var errs []string
	for _, name := range names {
		label := filepath.Join(dir, name)
		data, err := readLimited(os.DirFS(dir), name)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", label, err))
			continue
		}
		ts, err := ParseTests(label, data)
		if err != nil {
			errs = append(errs, errorLines(err)...)
			continue
		}
		tests = append(tests, ts...)
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	return tests, nil
}

// ParseTests reads a test file:
//
//	tests:
//	  - name: an employee resets their own password
//	    request: {tenant: contoso, action: user.reset_password, ...}
//	    expect: {effect: allow, rule: self-reset-password}
func ParseTests(name string, data []byte) ([]Test, error) {
	p := &parser{name: name}
	root := p.document(data)
	if root == nil {
		return nil, p.err()
	}
	var tests []Test
	m := p.mapping(root, "test file", "tests")
	if m != nil {
		list := m["tests"]
		switch {
		case list == nil:
			p.errorf(root, "missing tests")
		case !p.plain(list, "tests"):
		case list.Kind != yaml.SequenceNode || len(list.Content) == 0:
			p.errorf(list, "tests: want a list of tests")
		default:
			names := map[string]int{}
			for _, n := range list.Content {
				t := p.test(n)
				if prev, dup := names[t.Name]; dup && t.Name != "" {
					p.errorf(n, "test name %q already used at line %d", t.Name, prev)
				}
				names[t.Name] = n.Line
				tests = append(tests, t)
			}
		}
	}
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	return tests, nil
}

func (p *parser) test(n *yaml.Node) Test {
	t := Test{File: p.name, Line: n.Line}
	m := p.mapping(n, "test", "name", "request", "expect")
	if m == nil {
		return t
	}
	for _, k := range []string{"name", "request", "expect"} {
		if m[k] == nil {
			p.errorf(n, "test has no %s", k)
		}
	}
	if v := m["name"]; v != nil {
		t.Name, _ = p.nonEmpty(v, "name")
	}
	if v := m["request"]; v != nil {
		t.Request = p.request(v)
	}
	if v := m["expect"]; v != nil {
		if e := p.mapping(v, "expect", "effect", "rule", "layer", "approvers", "count", "missing"); e != nil {
			if x := e["effect"]; x != nil {
				if s, ok := p.nonEmpty(x, "effect"); ok {
					t.Expect.Effect = tierzero.Effect(s)
					if err := validEffect(t.Expect.Effect); err != nil {
						p.errorf(x, "%v", err)
					}
				}
			} else {
				p.errorf(v, "expect has no effect")
			}
			if x := e["rule"]; x != nil {
				if s, ok := p.str(x, "rule"); ok {
					t.Expect.Rule = &s
				}
			}
			if x := e["layer"]; x != nil {
				if s, ok := p.str(x, "layer"); ok {
					t.Expect.Layer = &s
					if s != "" && !slices.Contains(layerNames[:], s) {
						p.errorf(x, "unknown layer %q: want global, tenant or department", s)
					}
				}
			}
			if x := e["approvers"]; x != nil {
				t.Expect.Approvers, _ = p.list(x, "approvers")
			}
			if x := e["count"]; x != nil {
				t.Expect.Count, _ = p.integer(x, "count", 1, 100)
			}
			if x := e["missing"]; x != nil {
				t.Expect.Missing, _ = p.nonEmpty(x, "missing")
			}
		}
	}
	return t
}

// Run evaluates the test's request against s and returns the decision and,
// when it is not what the test expects, an error saying how.
func (t Test) Run(s *Set) (tierzero.Decision, error) {
	d := s.Evaluate(t.Request)
	d.Facts = s.AuditFacts(&t.Request, d)
	e := t.Expect
	var bad []string
	if d.Effect != e.Effect {
		bad = append(bad, fmt.Sprintf("effect %s, want %s", d.Effect, e.Effect))
	}
	if e.Rule != nil && d.Rule != *e.Rule {
		bad = append(bad, fmt.Sprintf("rule %q, want %q", d.Rule, *e.Rule))
	}
	if e.Layer != nil && d.Layer != *e.Layer {
		bad = append(bad, fmt.Sprintf("layer %q, want %q", d.Layer, *e.Layer))
	}
	if e.Approvers != nil && !slices.Equal(d.Approvers, e.Approvers) {
		bad = append(bad, fmt.Sprintf("approvers %v, want %v", d.Approvers, e.Approvers))
	}
	if e.Count != 0 && d.Count != e.Count {
		bad = append(bad, fmt.Sprintf("count %d, want %d", d.Count, e.Count))
	}
	if e.Missing != "" && d.Facts["missing"] != e.Missing {
		bad = append(bad, fmt.Sprintf("missing fact %q, want %q", d.Facts["missing"], e.Missing))
	}
	if len(bad) > 0 {
		return d, fmt.Errorf("%s (rule %q: %s)", strings.Join(bad, "; "), d.Rule, d.Reason)
	}
	return d, nil
}
