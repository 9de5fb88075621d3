// Package policy decides whether a proposed tool call may run. Policies are
// data (rules in files scoped global, tenant or department); the evaluation
// is Go code: deny by default, any applying deny wins, otherwise the most
// specific layer decides. Guard is the only ToolRunner the agent receives,
// and only Guard mints the permits without which the Graph executor runs
// nothing.
package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// Layers, from least to most specific.
const (
	LayerGlobal     = "global"
	LayerTenant     = "tenant"
	LayerDepartment = "department"
)

// Scope says which requests a file's rules apply to: every tenant (Global),
// one tenant, or the targets of one department within one tenant.
type Scope struct {
	Global     bool
	Tenant     tierzero.TenantID
	Department string
}

func (s Scope) layer() string {
	switch {
	case s.Global:
		return LayerGlobal
	case s.Department != "":
		return LayerDepartment
	default:
		return LayerTenant
	}
}

// Rule is one policy rule.
type Rule struct {
	ID        string
	Action    string // an action name or a glob such as "user.*"
	Effect    tierzero.Effect
	When      Conditions
	Approvers []string
	Reason    string
}

// Target conditions.
const (
	TargetSelf = "self"
	TargetAny  = "any"
)

// Conditions must all hold for a rule to apply. A zero field is no condition.
type Conditions struct {
	Target             string          // "self" or "any"
	RequesterRole      []tierzero.Role // one of these
	TargetHasAdminRole *bool
}

// File is a named set of rules with one scope.
type File struct {
	Name  string
	Scope Scope
	Rules []Rule
}

// Set is a validated collection of policy files.
type Set struct {
	files []File
}

// NewSet validates files and returns a Set: rule ids unique across files,
// known effects and conditions, a scope that names a layer.
func NewSet(files ...File) (*Set, error) {
	ids := map[string]string{}
	for _, f := range files {
		if !f.Scope.Global && f.Scope.Tenant == "" {
			return nil, fmt.Errorf("policy %s: scope must be global or name a tenant", f.Name)
		}
		if f.Scope.Global && (f.Scope.Tenant != "" || f.Scope.Department != "") {
			return nil, fmt.Errorf("policy %s: a global scope names no tenant or department", f.Name)
		}
		for _, r := range f.Rules {
			if r.ID == "" {
				return nil, fmt.Errorf("policy %s: a rule has no id", f.Name)
			}
			if other, dup := ids[r.ID]; dup {
				return nil, fmt.Errorf("policy %s: rule id %q already used in %s", f.Name, r.ID, other)
			}
			ids[r.ID] = f.Name
			if _, err := path.Match(r.Action, ""); err != nil || r.Action == "" {
				return nil, fmt.Errorf("policy %s: rule %s: bad action pattern %q", f.Name, r.ID, r.Action)
			}
			switch r.Effect {
			case tierzero.EffectAllow, tierzero.EffectDeny, tierzero.EffectRequireApproval:
			default:
				return nil, fmt.Errorf("policy %s: rule %s: unknown effect %q", f.Name, r.ID, r.Effect)
			}
			switch r.When.Target {
			case "", TargetSelf, TargetAny:
			default:
				return nil, fmt.Errorf("policy %s: rule %s: unknown target %q", f.Name, r.ID, r.When.Target)
			}
		}
	}
	return &Set{files: files}, nil
}

// Request is everything a decision may depend on. The Requester comes from
// the chat platform's verified identity; Target from Graph, read by the
// engine itself. Target is nil when the action has no user target.
type Request struct {
	Tenant    tierzero.TenantID
	Action    string
	Channel   tierzero.Channel
	Requester tierzero.Requester
	Target    *tierzero.UserFacts
}

type match struct {
	file  *File
	rule  *Rule
	layer string
}

// strictness orders effects: allow < require_approval < deny.
func strictness(e tierzero.Effect) int {
	switch e {
	case tierzero.EffectAllow:
		return 0
	case tierzero.EffectRequireApproval:
		return 1
	default:
		return 2
	}
}

// specificity orders layers: global < tenant < department.
func specificity(layer string) int {
	switch layer {
	case LayerGlobal:
		return 0
	case LayerTenant:
		return 1
	default:
		return 2
	}
}

// Evaluate decides a request. It never fails: a condition that cannot be
// evaluated denies, and so does a request no rule applies to.
func (s *Set) Evaluate(r Request) tierzero.Decision {
	facts := r.facts()
	var applying []match
	for i := range s.files {
		f := &s.files[i]
		if !f.Scope.contains(r) {
			continue
		}
		for j := range f.Rules {
			rule := &f.Rules[j]
			if ok, _ := path.Match(rule.Action, r.Action); !ok {
				continue
			}
			holds, err := rule.When.hold(r)
			if err != nil {
				return tierzero.Decision{Effect: tierzero.EffectDeny, Layer: f.Scope.layer(), File: f.Name, Rule: rule.ID,
					Reason: "cannot evaluate policy: " + err.Error(), Facts: facts}
			}
			if holds {
				applying = append(applying, match{f, rule, f.Scope.layer()})
			}
		}
	}
	if len(applying) == 0 {
		return tierzero.Decision{Effect: tierzero.EffectDeny, Reason: "no policy allows " + r.Action + " here", Facts: facts}
	}
	// Any deny at any layer decides; otherwise the most specific layer with
	// an applying rule decides, and within it the strictest effect.
	best := applying[0]
	for _, m := range applying[1:] {
		if m.rule.Effect == tierzero.EffectDeny {
			if best.rule.Effect != tierzero.EffectDeny {
				best = m
			}
			continue
		}
		if best.rule.Effect == tierzero.EffectDeny {
			continue
		}
		if specificity(m.layer) > specificity(best.layer) ||
			(m.layer == best.layer && strictness(m.rule.Effect) > strictness(best.rule.Effect)) {
			best = m
		}
	}
	d := tierzero.Decision{Effect: best.rule.Effect, Layer: best.layer, File: best.file.Name, Rule: best.rule.ID,
		Reason: best.rule.Reason, Facts: facts}
	if d.Effect == tierzero.EffectRequireApproval {
		d.Approvers = slices.Clone(best.rule.Approvers)
	}
	if d.Reason == "" {
		d.Reason = fmt.Sprintf("rule %s %ss %s", best.rule.ID, verb(d.Effect), r.Action)
	}
	return d
}

func verb(e tierzero.Effect) string {
	if e == tierzero.EffectRequireApproval {
		return "require approval for"
	}
	return string(e)
}

func (s Scope) contains(r Request) bool {
	if s.Global {
		return true
	}
	if s.Tenant != r.Tenant {
		return false
	}
	if s.Department == "" {
		return true
	}
	return r.Target != nil && strings.EqualFold(r.Target.Department, s.Department)
}

// hold reports whether every condition holds; an error when one cannot be
// evaluated for lack of a fact.
func (c Conditions) hold(r Request) (bool, error) {
	if len(c.RequesterRole) > 0 && !slices.Contains(c.RequesterRole, r.Requester.Role) {
		return false, nil
	}
	if c.Target == TargetSelf {
		if r.Target == nil || r.Target.ObjectID == "" || r.Requester.ObjectID == "" {
			return false, fmt.Errorf("condition target: self needs the target's and the requester's object ids")
		}
		if r.Target.ObjectID != r.Requester.ObjectID {
			return false, nil
		}
	}
	if c.TargetHasAdminRole != nil {
		if r.Target == nil {
			return false, fmt.Errorf("condition target_has_admin_role needs a target user")
		}
		if (len(r.Target.AdminRoles) > 0) != *c.TargetHasAdminRole {
			return false, nil
		}
	}
	return true, nil
}

// facts lists what the decision was based on, for the audit.
func (r Request) facts() map[string]string {
	f := map[string]string{
		"tenant":         string(r.Tenant),
		"action":         r.Action,
		"channel":        string(r.Channel),
		"requester":      r.Requester.UPN,
		"requester_role": string(r.Requester.Role),
	}
	if t := r.Target; t != nil {
		f["target"] = t.UPN
		f["target_department"] = t.Department
		f["target_admin_roles"] = strings.Join(t.AdminRoles, ",")
		f["target_is_requester"] = fmt.Sprint(t.ObjectID != "" && t.ObjectID == r.Requester.ObjectID)
	}
	return f
}

// Baseline is the built-in MSP baseline: employees may read their own profile
// and reset their own password when their account holds no admin role;
// nothing ever resets an admin-role holder's password through the bot.
// Everything else is denied by default.
func Baseline() *Set {
	yes, no := true, false
	s, err := NewSet(File{
		Name:  "builtin:baseline",
		Scope: Scope{Global: true},
		Rules: []Rule{
			{ID: "self-read-profile", Action: "user.get", Effect: tierzero.EffectAllow,
				When: Conditions{Target: TargetSelf}},
			{ID: "self-reset-password", Action: "user.reset_password", Effect: tierzero.EffectAllow,
				When: Conditions{Target: TargetSelf, TargetHasAdminRole: &no}},
			{ID: "never-reset-admins", Action: "user.reset_password", Effect: tierzero.EffectDeny,
				When:   Conditions{TargetHasAdminRole: &yes},
				Reason: "accounts that hold an admin role are not reset through the bot; your MSP handles them"},
		},
	})
	if err != nil {
		panic("policy: invalid baseline: " + err.Error())
	}
	return s
}
