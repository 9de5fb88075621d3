package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// Env is what policy files are checked against besides themselves (Check).
type Env struct {
	// Actions are the action names of the tools that exist
	// (graph.Catalog). A rule whose action is none of them, or whose glob
	// matches none of them, never applies: an error, since a guardrail
	// with a typo guards nothing. nil skips the check.
	Actions []string
	// Config names the configuration the tenants come from; "" when there
	// is none, and then a tenant scope cannot be checked (a warning).
	Config string
	// Tenants are the tenants of the configuration, the MSP's own
	// included. A file scoped to another is an error.
	Tenants []tierzero.TenantID
}

// Check reports what is wrong with files in env, each problem as
// "file:line: message", in the order of the files and their lines: errors
// (the files must not be used) and warnings ("file:line: warning: ...").
// It complements NewSet, which checks the files against each other.
func Check(files []File, env Env) (errs, warnings []string) {
	at := func(f *File, line int) string {
		if line > 0 {
			return fmt.Sprintf("%s:%d", f.Name, line)
		}
		return f.Name
	}
	warned := map[string]bool{}
	for i := range files {
		f := &files[i]
		if t := f.Scope.Tenant; t != "" && tierzero.ValidTenantID(t) == nil {
			switch {
			case env.Config == "":
				warnings = append(warnings, fmt.Sprintf("%s: warning: tenant %q is not checked: no configuration given (--config)", at(f, f.ScopeLine), t))
			case !slices.Contains(env.Tenants, t):
				errs = append(errs, fmt.Sprintf("%s: tenant %q is not a tenant of %s%s", at(f, f.ScopeLine), t, env.Config, suggest(string(t), tenantNames(env.Tenants))))
			}
		}
		for j := range f.Rules {
			r := &f.Rules[j]
			name := "rule " + r.ID + ": "
			if env.Actions != nil && validAction(r.Action) {
				g := compileGlob(r.Action, false)
				switch {
				case g.literal && !slices.Contains(env.Actions, r.Action):
					errs = append(errs, fmt.Sprintf("%s: %saction %q is not a tool%s", at(f, r.Line), name, r.Action, suggest(r.Action, env.Actions)))
				case !g.literal && !slices.ContainsFunc(env.Actions, g.match):
					errs = append(errs, fmt.Sprintf("%s: %saction %q matches no tool", at(f, r.Line), name, r.Action))
				}
			}
			for _, n := range ruleGroupNames(r) {
				k := f.Name + "\x00" + r.ID + "\x00" + PinKey(n)
				if warned[k] {
					continue
				}
				warned[k] = true
				warnings = append(warnings, fmt.Sprintf("%s: warning: %snames the group %q by its display name: it is resolved in each tenant at first use and pinned to that group's id, and denies while no group or several groups have that name; name the group by its object id", at(f, r.Line), name, n))
			}
		}
	}
	return errs, warnings
}

// ruleGroupNames returns the group display names (not ids) r names in its
// conditions and approvers.
func ruleGroupNames(r *Rule) []string {
	var refs []string
	refs = append(refs, r.When.RequesterInGroup...)
	refs = append(refs, r.When.TargetInGroup...)
	if g := r.When.Group; g != nil {
		refs = append(append(refs, g.Allow...), g.Deny...)
	}
	for _, a := range r.Approvers {
		if ref, ok := strings.CutPrefix(a, "group:"); ok {
			refs = append(refs, ref)
		}
	}
	var out []string
	for _, s := range refs {
		if g, err := compileGroupRef("", s); err == nil && g.id == "" {
			out = append(out, s)
		}
	}
	return out
}

func tenantNames(ts []tierzero.TenantID) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// suggest returns " (did you mean X?)" for the known name nearest s, when it
// is at most two edits away; "" otherwise.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := tierzero.EditDistance(s, k, bestD-1); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}
