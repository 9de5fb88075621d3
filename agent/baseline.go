package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// describeBaseline says what a tenant baseline's plan call
// (tierzero.ActionBaselineApply) does: its tenant, its phase in words, and
// every step, numbered, with the label the plan's read wrote (bound with
// the steps by the plan's argument hash), so that the requester who
// confirms it and the tenant admin who approves it see the whole plan. A
// label is tenant data put in words by code (a policy's display name is
// anyone's to choose): it is printed on its own line's worth, never
// followed.
func describeBaseline(c tierzero.ToolCall) description {
	var p tierzero.PlanArgs
	_ = json.Unmarshal(c.Args, &p)
	in := "this tenant"
	if c.Tenant != "" {
		in = tierzero.PrintableLine(string(c.Tenant))
	}
	var what string
	switch p.Phase {
	case tierzero.BaselineCreate:
		what = "bring " + in + " to its baseline, phase 1 of 2 (create and update; new Conditional Access policies are created report-only and enforce nothing until a separate, approved plan switches them on)"
	case tierzero.BaselineEnable:
		what = "bring " + in + " to its baseline, phase 2 of 2 (switch on the report-only Conditional Access policies, each shown with its sign-in impact, and make the changes that apply at once)"
	default:
		what = fmt.Sprintf("bring %s to its baseline (phase %q)", in, tierzero.PrintableLine(string(p.Phase)))
	}
	steps := planSteps(p)
	n := fmt.Sprintf("%d steps", len(p.Steps))
	if len(p.Steps) == 1 {
		n = "1 step"
	}
	return description{what: fmt.Sprintf("%s in %s, each decided by policy: %s", what, n, strings.Join(steps, "; "))}
}

// describeBaselineStep says what one step of a baseline plan does, from its
// arguments alone, when it is described on its own (an audit record, a
// notification): the object it acts on by the name the plan gave it.
func describeBaselineStep(action string, arg func(string) string, enabled any) (description, bool) {
	name := func() string { return quoteName(arg("name")) }
	d := func(what string) (description, bool) { return description{what: what}, true }
	switch action {
	case tierzero.ActionBaselinePlan:
		return d("read this tenant's configuration and work out what bringing it to its baseline takes (nothing is changed)")
	case "baseline.create_named_location":
		return d("create the named location " + name() + " for Conditional Access")
	case "baseline.create_ca_policy":
		return d("create the Conditional Access policy " + name() + " report-only: it enforces nothing until switched on")
	case "baseline.update_ca_policy":
		return d("change the conditions and controls of the Conditional Access policy " + name() + " (its state stays as it is)")
	case "baseline.enable_ca_policy":
		return d("switch on the Conditional Access policy " + name() + ": it is enforced on every sign-in it applies to")
	case "baseline.set_security_defaults":
		if on, _ := enabled.(bool); on {
			return d("turn security defaults on for the whole tenant")
		}
		return d("turn security defaults off for the whole tenant (Conditional Access policies take over)")
	case "baseline.set_auth_method":
		return d("change the authentication method " + quoteName(arg("id")) + " in the tenant's authentication methods policy")
	case "baseline.create_compliance_policy":
		return d("create the Intune compliance policy " + name() + " and assign it")
	case "baseline.update_compliance_policy":
		return d("change the settings of the Intune compliance policy " + name())
	case "baseline.assign_compliance_policy":
		return d("replace the assignments of the Intune compliance policy " + name())
	}
	return description{}, false
}
