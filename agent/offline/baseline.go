package offline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Tenant baselines (docs/baseline.md): a technician's "bring fabrikam to
// the baseline" becomes one read of what the baseline takes in that tenant
// (baseline.plan) and then the plan call (baseline.apply) with the plan
// that read returned, unchanged: the differences are said in words, the
// agent shows every step for the technician's yes, and policy sends the
// plan to a tenant admin once. "switch on the report-only policies" is the
// same read, whose plan is then the enable phase, shown with its sign-in
// impact. "is contoso on its baseline?" is the read alone: the drift is
// said, and nothing is proposed.
//
// What the read returns is tenant data (policy names, settings): it is
// printed on one line each, quoted and clipped, and never read for what to
// do; only the requester's words choose the flow.
const (
	toolBaselinePlan  = "baseline_plan"
	toolBaselineApply = "baseline_apply"
)

var (
	// baselineCue: the request is about a tenant's baseline.
	baselineCue = mustPattern(`(?i)\bbaselines?\b|\breport[- ]?only\b|\bdrift(ed|ing|s)?\b`)
	// baselineEnable asks to switch the report-only policies on.
	baselineEnable = mustPattern(`(?i)\b(switch(ed|ing)?|turn(ed|ing)?)\s+on\b|\b(enable|enforce|activate)[sd]?\b|\bgo live\b`)
	// baselineCheck asks whether a tenant is on its baseline, without
	// asking for a change.
	baselineCheck = mustPattern(`(?i)\bdrift|\?\s*$|^\s*(is|are|does|do|has|have|what|which|how|show|list|check|compare|tell)\b|\bin line\b|\bstatus\b|\bdifferences?\b|\bdiff\b`)
	// baselineApply asks for the change.
	baselineApply = mustPattern(`(?i)\b(bring|get|put|move)\b.*\b(to|on|onto|in line with)\b|\b(apply|deploy|roll out|push|enforce)\b|\bon-?board\b`)
)

// baseline serves a technician's request about a tenant's baseline; ok is
// false when the request is not one.
func (s *state) baseline() (agent.Response, bool) {
	// A plan call made for this request is answered with its outcome, also
	// when the request's own words no longer fit the conversation's memory
	// (a baseline's read is large): the technician's "yes" is all there is.
	if r := s.get(toolBaselineApply); r != nil && s.tech() {
		return say(s.outcome(r, "The baseline plan is recorded; each step runs now and a report follows.")), true
	}
	// A read made for this request whose words are no longer in memory
	// is answered as a question: what the technician wanted done is not
	// known, so nothing is proposed.
	forgotten := s.tech() && !baselineCue.MatchString(s.text) && s.get(toolBaselinePlan) != nil
	if !forgotten && (!s.tech() || !baselineCue.MatchString(s.text)) {
		return agent.Response{}, false
	}
	if !s.can(toolBaselinePlan) {
		return s.decline("I can't work on tenant baselines here."), true
	}
	enable := !forgotten && baselineEnable.MatchString(s.text)
	check := forgotten || !enable && !baselineApply.MatchString(s.text) && baselineCheck.MatchString(s.text)
	r := s.get(toolBaselinePlan)
	if r == nil {
		return s.call(toolBaselinePlan, map[string]any{}, ""), true
	}
	tenant, _ := r.args["tenant"].(string)
	if tenant == "" {
		tenant = string(s.req.Tenant)
	}
	in := tierzero.PrintableLine(tenant)
	if !r.ok {
		if r.garbled || r.effect != "" && r.effect != string(tierzero.EffectAllow) || r.err != nil && r.err.Code == tierzero.EDenied {
			return say(s.outcome(r, "")), true
		}
		why := "the read failed"
		if r.err != nil {
			why = s.plainError(r.err)
		}
		return say(fmt.Sprintf("I could not read the baseline of %s: %s. Nothing was changed.", in, why)), true
	}
	var p tierzero.BaselinePlan
	if json.Unmarshal(r.output, &p) != nil {
		return say("I got an answer I could not read, so I stopped. Nothing was changed."), true
	}
	drift := p.Drift()
	left := leftToDo(p.LeftToDo)
	if check {
		if len(drift) == 0 {
			return say(fmt.Sprintf("%s is on its baseline: nothing differs.%s", in, left)), true
		}
		next := ""
		if len(p.Plan.Steps) > 0 {
			next = fmt.Sprintf(" To bring it in line, say: bring %s to the baseline.", in)
		}
		return say(fmt.Sprintf("%s is not on its baseline: %s.%s%s", in, differences(drift), left, next)), true
	}
	if len(p.Plan.Steps) == 0 {
		if len(drift) == 0 {
			return say(fmt.Sprintf("%s is in line with its baseline: there is nothing to change.%s", in, left)), true
		}
		return say(fmt.Sprintf("%s differs from its baseline (%s), but nothing of it is mine to change.%s", in, differences(drift), left)), true
	}
	if enable && p.Plan.Phase != tierzero.BaselineEnable {
		return say(fmt.Sprintf("The baseline policies of %s are not all there yet: %s. They are created first, report-only, and switched on by a later plan once their sign-in impact is known. To create them, say: bring %s to the baseline.%s",
			in, differences(drift), in, left)), true
	}
	lead := fmt.Sprintf("%s differs from its baseline: %s.", in, differences(drift))
	switch p.Plan.Phase {
	case tierzero.BaselineCreate:
		lead += " This plan creates and updates what is missing; new Conditional Access policies are created report-only and enforce nothing until a separate plan switches them on."
	case tierzero.BaselineEnable:
		lead += " The policies exist, report-only; this plan switches them on." + impacts(p.Impact)
	}
	lead += " A tenant admin approves the plan once; each step is still decided by policy."
	args, ok := planArgs(r.output)
	if !ok {
		return say("I got an answer I could not read, so I stopped. Nothing was changed."), true
	}
	if !s.can(toolBaselineApply) {
		return say(lead, "I can't propose it here, though.", left), true
	}
	args["tenant"] = r.args["tenant"]
	if args["tenant"] == nil {
		delete(args, "tenant")
	}
	return s.call(toolBaselineApply, args, lead+left), true
}

// planArgs returns the plan of a baseline read, unchanged but for the keys
// a baseline plan does not have: a baseline names no user, so an empty
// "user" or "manager" the read's JSON carries is left out.
func planArgs(out json.RawMessage) (map[string]any, bool) {
	var v struct {
		Plan map[string]any `json:"plan"`
	}
	if json.Unmarshal(out, &v) != nil || len(v.Plan) == 0 {
		return nil, false
	}
	for _, k := range []string{"user", "manager"} {
		if s, ok := v.Plan[k].(string); ok && s == "" {
			delete(v.Plan, k)
		}
	}
	return v.Plan, true
}

// maxDiffs is how many differences a reply names; the plan lists every
// step.
const maxDiffs = 12

// differences says the items of a baseline that differ, one clause each:
// what it takes, the object (its name quoted, on one line) and why.
func differences(items []tierzero.BaselineItem) string {
	var out []string
	for i, it := range items {
		if i == maxDiffs {
			out = append(out, fmt.Sprintf("and %d more", len(items)-maxDiffs))
			break
		}
		what := resourceWords(it.Resource, it.Name)
		why := clip(tierzero.PrintableLine(it.Why), 200)
		var verb string
		switch it.Kind {
		case "create":
			verb = "to create: " + what
		case "update":
			verb = "to change: " + what
		case "enable":
			verb = "to switch on: " + what
		case "conflict":
			verb = "needs a person: " + what
		default:
			verb = tierzero.PrintableLine(it.Kind) + ": " + what
		}
		if why != "" {
			verb += " (" + why + ")"
		}
		out = append(out, verb)
	}
	return fmt.Sprintf("%d difference%s: %s", len(items), plural(len(items)), strings.Join(out, "; "))
}

// resourceWords names a baseline object the way people know it.
func resourceWords(resource, name string) string {
	n := fmt.Sprintf("%q", clip(tierzero.PrintableLine(name), 80))
	switch resource {
	case "conditional_access":
		return "the Conditional Access policy " + n
	case "named_location":
		return "the named location " + n
	case "security_defaults":
		return "security defaults"
	case "auth_method":
		return "the authentication method " + n
	case "sspr":
		return "self-service password reset"
	case "compliance":
		return "the compliance policy " + n
	case "assignment":
		return "the assignments of the compliance policy " + n
	}
	return tierzero.PrintableLine(resource) + " " + n
}

// impacts says each report-only policy's sign-in impact.
func impacts(is []tierzero.BaselineImpact) string {
	if len(is) == 0 {
		return " No sign-in impact could be read from the sign-in logs."
	}
	var out []string
	for _, i := range is {
		line := fmt.Sprintf("%q applied to %d sign-in%s by %d user%s since %s; it would have interrupted %d and blocked %d",
			clip(tierzero.PrintableLine(i.Name), 80), i.SignIns, plural(i.SignIns), i.Users, plural(i.Users), tierzero.PrintableLine(i.Since), i.Interrupted, i.Failure)
		if len(i.Affected) > 0 {
			var who []string
			for _, u := range i.Affected {
				who = append(who, tierzero.PrintableLine(u))
			}
			line += " (" + strings.Join(who, ", ") + ")"
		}
		out = append(out, line)
	}
	return " Sign-in impact, from the sign-in logs: " + strings.Join(out, "; ") + "."
}

// leftToDo says what is left for a person, "" for nothing.
func leftToDo(left []string) string {
	if len(left) == 0 {
		return ""
	}
	var out []string
	for _, l := range left {
		out = append(out, clip(tierzero.PrintableLine(l), 300))
	}
	return " Left for a person: " + strings.Join(out, "; ") + "."
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
