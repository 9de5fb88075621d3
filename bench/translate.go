package bench

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/policy"
)

// The benchmark sets use a subset of tierzero's conditions (target, requester
// role and groups, target groups, department and admin roles, channel, user
// risk), exact action names and globs with *, every fact present and every
// name in one spelling; the translations below cover exactly that subset.

var riskLevels = []string{"none", "low", "medium", "high"}

func layerOf(s policy.Scope) int {
	switch {
	case s.Global:
		return 0
	case s.Department == "":
		return 1
	}
	return 2
}

func strictOf(e tierzero.Effect) int {
	if e == tierzero.EffectRequireApproval {
		return 1
	}
	return 0
}

func quoteSet(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

func roles(rs []tierzero.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func channels(cs []tierzero.Channel) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// riskSet is the risk levels a user_risk_max condition admits: at most max
// for a grant, above it for a deny (tierzero's limits).
func riskSet(max string, deny bool) []string {
	var out []string
	within := true
	for _, l := range riskLevels {
		if within != deny {
			out = append(out, l)
		}
		if l == max {
			within = false
		}
	}
	return out
}

func checkSubset(r policy.Rule) {
	c := r.When
	if c.Group != nil || c.License != nil || c.DeviceOwner != "" || c.Hours != nil || c.MaxPerDay != 0 ||
		strings.Contains(r.Action, "?") || (r.Effect == tierzero.EffectRequireApproval && (r.Count > 1 || r.Expires != 0)) {
		panic("bench: rule " + r.ID + " uses more than the benchmark subset")
	}
}

// Rego translates files into one Rego module: data.tierzero.match is the set
// of rules that apply (each {id, effect, layer, strict}), and
// data.tierzero.decision the decision by tierzero's rules, computed in Rego:
// any deny decides (least specific layer, then lowest id); otherwise the
// most specific layer, the strictest effect, the lowest id.
func Rego(files []policy.File) string {
	var b strings.Builder
	b.WriteString(`package tierzero

import rego.v1

denies := [[m.layer, m.id] | some m in match; m.effect == "deny"]

grants := [m | some m in match; m.effect != "deny"]

top := max([m.layer | some m in grants])

default decision := {"effect": "deny", "rule": "", "layer": -1}

decision := {"effect": "deny", "rule": d[1], "layer": d[0]} if {
	count(denies) > 0
	d := sort(denies)[0]
}

decision := {"effect": effect, "rule": best[1], "layer": top} if {
	count(denies) == 0
	count(grants) > 0
	best := sort([[0 - m.strict, m.id] | some m in grants; m.layer == top])[0]
	effect := ["allow", "require_approval"][0 - best[0]]
}
`)
	for _, f := range files {
		for _, r := range f.Rules {
			checkSubset(r)
			fmt.Fprintf(&b, "\nmatch contains {\"id\": %q, \"effect\": %q, \"layer\": %d, \"strict\": %d} if {\n",
				r.ID, r.Effect, layerOf(f.Scope), strictOf(r.Effect))
			line := func(format string, args ...any) { fmt.Fprintf(&b, "\t"+format+"\n", args...) }
			if strings.Contains(r.Action, "*") {
				line("glob.match(%q, [], input.action)", r.Action)
			} else {
				line("input.action == %q", r.Action)
			}
			if !f.Scope.Global {
				line("input.tenant == %q", f.Scope.Tenant)
			}
			if f.Scope.Department != "" {
				line("input.target.department == %q", f.Scope.Department)
			}
			c := r.When
			switch c.Target {
			case policy.TargetSelf:
				line("input.target.upn == input.requester.upn")
			case policy.TargetOther:
				line("input.target.upn != input.requester.upn")
			case policy.TargetDirectReport:
				line("input.target.manager != \"\"")
				line("input.target.manager == input.requester.upn")
			case policy.TargetSameDepartment:
				line("input.requester.department != \"\"")
				line("input.requester.department == input.target.department")
			}
			if len(c.RequesterRole) > 0 {
				line("input.requester.role in {%s}", quoteSet(roles(c.RequesterRole)))
			}
			if len(c.RequesterInGroup) > 0 {
				line("some rg in input.requester.groups")
				line("rg in {%s}", quoteSet(c.RequesterInGroup))
			}
			if len(c.TargetInGroup) > 0 {
				line("some tg in input.target.groups")
				line("tg in {%s}", quoteSet(c.TargetInGroup))
			}
			if len(c.TargetDepartment) > 0 {
				line("input.target.department in {%s}", quoteSet(c.TargetDepartment))
			}
			if c.TargetHasAdminRole != nil {
				if *c.TargetHasAdminRole {
					line("count(input.target.admin_roles) > 0")
				} else {
					line("count(input.target.admin_roles) == 0")
				}
			}
			if len(c.Channel) > 0 {
				line("input.channel in {%s}", quoteSet(channels(c.Channel)))
			}
			if c.UserRiskMax != "" {
				line("input.target.risk in {%s}", quoteSet(riskSet(c.UserRiskMax, r.Effect == tierzero.EffectDeny)))
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

// CedarMeta is what the Go side of the Cedar decision needs of each policy.
type CedarMeta struct {
	Layer, Strict int
	Effect        tierzero.Effect
}

// Cedar translates files into Cedar policies (allow and require_approval
// rules are permits, deny rules forbids), one per rule, with its id.
func Cedar(files []policy.File) (*cedar.PolicySet, map[cedar.PolicyID]CedarMeta, error) {
	ps := cedar.NewPolicySet()
	meta := map[cedar.PolicyID]CedarMeta{}
	for _, f := range files {
		for _, r := range f.Rules {
			checkSubset(r)
			var conds []string
			add := func(format string, args ...any) { conds = append(conds, fmt.Sprintf(format, args...)) }
			action := "action"
			if strings.Contains(r.Action, "*") {
				add("context.action like %q", r.Action)
			} else {
				action = fmt.Sprintf("action == Action::%q", r.Action)
			}
			if !f.Scope.Global {
				add("context.tenant == %q", f.Scope.Tenant)
			}
			if f.Scope.Department != "" {
				add("context.target.department == %q", f.Scope.Department)
			}
			c := r.When
			switch c.Target {
			case policy.TargetSelf:
				add("context.target.upn == context.requester.upn")
			case policy.TargetOther:
				add("context.target.upn != context.requester.upn")
			case policy.TargetDirectReport:
				add(`context.target.manager != "" && context.target.manager == context.requester.upn`)
			case policy.TargetSameDepartment:
				add(`context.requester.department != "" && context.requester.department == context.target.department`)
			}
			if len(c.RequesterRole) > 0 {
				add("[%s].contains(context.requester.role)", quoteSet(roles(c.RequesterRole)))
			}
			if len(c.RequesterInGroup) > 0 {
				add("context.requester.groups.containsAny([%s])", quoteSet(c.RequesterInGroup))
			}
			if len(c.TargetInGroup) > 0 {
				add("context.target.groups.containsAny([%s])", quoteSet(c.TargetInGroup))
			}
			if len(c.TargetDepartment) > 0 {
				add("[%s].contains(context.target.department)", quoteSet(c.TargetDepartment))
			}
			if c.TargetHasAdminRole != nil {
				if *c.TargetHasAdminRole {
					add("!context.target.admin_roles.isEmpty()")
				} else {
					add("context.target.admin_roles.isEmpty()")
				}
			}
			if len(c.Channel) > 0 {
				add("[%s].contains(context.channel)", quoteSet(channels(c.Channel)))
			}
			if c.UserRiskMax != "" {
				add("[%s].contains(context.target.risk)", quoteSet(riskSet(c.UserRiskMax, r.Effect == tierzero.EffectDeny)))
			}
			effect := "permit"
			if r.Effect == tierzero.EffectDeny {
				effect = "forbid"
			}
			when := ""
			if len(conds) > 0 {
				when = " when { " + strings.Join(conds, " && ") + " }"
			}
			src := fmt.Sprintf("%s (principal, %s, resource)%s;", effect, action, when)
			var p cedar.Policy
			if err := p.UnmarshalCedar([]byte(src)); err != nil {
				return nil, nil, fmt.Errorf("cedar policy %s: %w\n%s", r.ID, err, src)
			}
			ps.Add(cedar.PolicyID(r.ID), &p)
			meta[cedar.PolicyID(r.ID)] = CedarMeta{Layer: layerOf(f.Scope), Strict: strictOf(r.Effect), Effect: r.Effect}
		}
	}
	return ps, meta, nil
}

// CedarRequest is a tierzero request as a Cedar request: the facts in the
// context.
func CedarRequest(r policy.Request) cedar.Request {
	strs := func(xs []string) cedar.Set {
		vs := make([]cedar.Value, len(xs))
		for i, x := range xs {
			vs[i] = cedar.String(x)
		}
		return cedar.NewSet(vs...)
	}
	t := r.Target
	return cedar.Request{
		Principal: cedar.NewEntityUID("User", cedar.String(r.Requester.UPN)),
		Action:    cedar.NewEntityUID("Action", cedar.String(r.Action)),
		Resource:  cedar.NewEntityUID("User", cedar.String(t.UPN)),
		Context: cedar.NewRecord(cedar.RecordMap{
			"tenant":  cedar.String(r.Tenant),
			"action":  cedar.String(r.Action),
			"channel": cedar.String(r.Channel),
			"requester": cedar.NewRecord(cedar.RecordMap{
				"upn":        cedar.String(r.Requester.UPN),
				"role":       cedar.String(r.Requester.Role),
				"department": cedar.String(deref(r.RequesterFacts.Department)),
				"groups":     strs(groupNames(r.RequesterFacts.Groups)),
			}),
			"target": cedar.NewRecord(cedar.RecordMap{
				"upn":         cedar.String(t.UPN),
				"department":  cedar.String(deref(t.Department)),
				"groups":      strs(groupNames(t.Groups)),
				"admin_roles": strs(t.AdminRoles),
				"manager":     cedar.String(deref(t.Manager)),
				"risk":        cedar.String(t.RiskLevel),
			}),
		}),
	}
}

// Hit is a rule that applies, as OPA or Cedar reports it.
type Hit struct {
	ID            string
	Layer, Strict int
	Effect        tierzero.Effect
}

// Pick applies tierzero's layering to the rules that apply: any deny
// decides (least specific layer, then lowest id); otherwise the most
// specific layer, the strictest effect, the lowest id; nothing: deny.
func Pick(hits []Hit) (tierzero.Effect, string, int) {
	var deny, grant *Hit
	for i := range hits {
		h := &hits[i]
		if h.Effect == tierzero.EffectDeny {
			if deny == nil || h.Layer < deny.Layer || (h.Layer == deny.Layer && h.ID < deny.ID) {
				deny = h
			}
			continue
		}
		if grant == nil || h.Layer > grant.Layer || (h.Layer == grant.Layer &&
			(h.Strict > grant.Strict || (h.Strict == grant.Strict && h.ID < grant.ID))) {
			grant = h
		}
	}
	switch {
	case deny != nil:
		return tierzero.EffectDeny, deny.ID, deny.Layer
	case grant != nil:
		return grant.Effect, grant.ID, grant.Layer
	}
	return tierzero.EffectDeny, "", -1
}

// CedarDecide authorizes with Cedar, then applies tierzero's layering (Pick)
// to the policies Cedar reports as determining.
func CedarDecide(ps *cedar.PolicySet, meta map[cedar.PolicyID]CedarMeta, req cedar.Request) (tierzero.Effect, string, int) {
	_, diag := cedar.Authorize(ps, nil, req)
	if len(diag.Errors) > 0 { // a policy that cannot be evaluated denies
		return tierzero.EffectDeny, string(diag.Errors[0].PolicyID), -1
	}
	var buf [16]Hit
	hits := buf[:0]
	for _, reason := range diag.Reasons {
		m := meta[reason.PolicyID]
		hits = append(hits, Hit{ID: string(reason.PolicyID), Layer: m.Layer, Strict: m.Strict, Effect: m.Effect})
	}
	return Pick(hits)
}

// OPAInput is a tierzero request as OPA input.
func OPAInput(r policy.Request) map[string]any {
	strs := func(xs []string) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = x
		}
		sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
		return out
	}
	t := r.Target
	return map[string]any{
		"tenant":  string(r.Tenant),
		"action":  r.Action,
		"channel": string(r.Channel),
		"requester": map[string]any{
			"upn": r.Requester.UPN, "role": string(r.Requester.Role),
			"department": deref(r.RequesterFacts.Department), "groups": strs(groupNames(r.RequesterFacts.Groups)),
		},
		"target": map[string]any{
			"upn": t.UPN, "department": deref(t.Department), "groups": strs(groupNames(t.Groups)),
			"admin_roles": strs(t.AdminRoles), "manager": deref(t.Manager), "risk": t.RiskLevel,
		},
	}
}

// deref is a fact that the benchmark's requests always state.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// groupNames are the display names of groups. Policies name groups by id or
// by a name that resolves to exactly one group; in the benchmark's world
// every name resolves to its one group, so OPA and Cedar may compare names.
func groupNames(gs []tierzero.GroupRef) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}
