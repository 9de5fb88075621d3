package baseline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// PlanBaseline plans the baseline of doc's tenant against the tenant's
// configuration in doc (Graph's JSON, read by graph.Client.BaselineDoc):
// every object of the baseline and what it takes (Items), what a person
// must do (LeftToDo), and the steps of the phase that can run now (Plan),
// as the baseline tools' calls, for tierzero.ActionBaselineApply unchanged.
//
// The phases: while anything that enforces nothing is to be created or
// changed, the plan is the create phase, those steps alone (a Conditional
// Access policy is created report-only). What applies at once to who can
// sign in, or how (a step that NeedsImpactReview), is never in it. Once
// nothing else is left to create or change, it is the enable phase, its
// own approval: security defaults turned off first when they give way to
// the policies, then each report-only policy switched on, then every other
// change that applies at once (a switched-on policy changed, security
// defaults turned on, an authentication method turned off, and, while a
// switched-on policy requires a compliant device, a compliance policy
// tightened, created assigned or assigned to more: devices that fall short
// are blocked at once), each labelled so and saying to whom. Otherwise the plan has no steps. A step that
// waits for another (WaitsFor) is in neither.
//
// Settings of the tenant's objects the baseline does not describe (Kept)
// are never removed: each is drift and a line of LeftToDo.
//
// Self-service password reset cannot be read or written through Graph
// v1.0: it is left to a person. What the tenant has no licence for
// (Conditional Access without Entra ID P1, compliance policies without
// Intune) is a conflict, never a create Graph would refuse.
func (s *Set) PlanBaseline(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error) {
	have, info, err := parseDoc(doc)
	if err != nil {
		return tierzero.BaselinePlan{}, fmt.Errorf("read the configuration of %s: %w", doc.Tenant, err)
	}
	want := s.For(doc.Tenant)
	steps := Plan(want, have)
	r := &renderer{want: want, have: have, info: info, steps: steps}
	out := tierzero.BaselinePlan{Tenant: doc.Tenant, Items: []tierzero.BaselineItem{}, LeftToDo: []string{}}
	var create, enable, atOnce []tierzero.PlanStepArg
	var sdOff *tierzero.PlanStepArg
	var sdWaits []string
	var noCA, noIntune []string
	var deferred []int // items of enable steps while a create phase runs
	for _, st := range steps {
		item := tierzero.BaselineItem{Kind: string(st.Kind), Resource: string(st.Resource), Name: st.Name, ID: st.ID, Why: st.Why}
		for _, c := range st.Changes {
			item.Changes = append(item.Changes, fmt.Sprintf("%s: %s → %s", c.Field, orNone(c.From), orNone(c.To)))
		}
		conflict := func(why string) {
			item.Kind, item.Why = string(Conflict), why
		}
		switch {
		case !info.ca && (st.Resource == ResConditionalAccess || st.Resource == ResNamedLocation):
			conflict("the tenant has no Entra ID P1 licence: it cannot have Conditional Access")
			item.Changes = nil
			noCA = append(noCA, st.Name)
			out.Items = append(out.Items, item)
			continue
		case !info.ca && st.Resource == ResSecurityDefaults && len(want.ConditionalAccess) > 0:
			item.Changes = nil
			if have.SecurityDefaults {
				item.Kind, item.Why = string(Leave), "security defaults stay on: the tenant cannot have Conditional Access (no Entra ID P1), so they are its MFA"
			} else {
				conflict("security defaults are off and the tenant cannot have Conditional Access (no Entra ID P1): nothing requires MFA")
				out.LeftToDo = append(out.LeftToDo, "security defaults: they are off and the tenant has no Entra ID P1 for Conditional Access, so nothing requires MFA: turn security defaults on in the Entra admin center, or license Entra ID P1")
			}
			out.Items = append(out.Items, item)
			continue
		case !info.intune && (st.Resource == ResCompliance || st.Resource == ResAssignment):
			conflict("the tenant has no Intune licence: it cannot have compliance policies")
			item.Changes = nil
			if st.Resource == ResCompliance {
				noIntune = append(noIntune, st.Name)
			}
			out.Items = append(out.Items, item)
			continue
		case st.Resource == ResSSPR:
			item.Kind, item.Changes = string(Leave), nil
			item.Why = "not read: Graph v1.0 can neither read nor set self-service password reset; checked by hand"
			out.Items = append(out.Items, item)
			out.LeftToDo = append(out.LeftToDo, ssprToDo(want.SSPR))
			continue
		case st.Kind == Leave:
			out.Items = append(out.Items, item)
			continue
		case st.Kind == Conflict:
			out.Items = append(out.Items, item)
			out.LeftToDo = append(out.LeftToDo, toDo(st.Resource, st.Name, st.Why))
			continue
		}
		if len(st.Kept) > 0 {
			out.LeftToDo = append(out.LeftToDo, toDo(st.Resource, st.Name, keptWhy("policy", st.Kept)))
		}
		rs := r.render(st)
		switch {
		case rs.conflict != "":
			conflict(rs.conflict)
			out.LeftToDo = append(out.LeftToDo, toDo(st.Resource, st.Name, rs.conflict))
		case rs.none:
			item.Why += "; assigned by the step that creates the policy"
		case rs.waits != "":
			item.Why += "; waits for " + rs.waits + ", created in this phase: planned again after it"
		case len(st.WaitsFor) > 0:
			if st.Resource == ResSecurityDefaults {
				sdWaits = st.WaitsFor
			}
		case st.Resource == ResSecurityDefaults && st.Changes[0].To == "false":
			sdOff = rs.step
		case st.Kind == Enable:
			enable = append(enable, *rs.step)
			deferred = append(deferred, len(out.Items))
		case st.NeedsImpactReview:
			// It applies at once: with the switch-ons, never with the
			// creates.
			atOnce = append(atOnce, *rs.step)
			deferred = append(deferred, len(out.Items))
		default:
			create = append(create, *rs.step)
		}
		out.Items = append(out.Items, item)
	}
	if len(noCA) > 0 {
		out.LeftToDo = append(out.LeftToDo, fmt.Sprintf("Conditional Access: the tenant has no Entra ID P1 licence, so %s cannot be created: license Entra ID P1 (Microsoft 365 Business Premium and E3 include it) or leave them out of the tenant's baseline", quoteList(noCA)))
	}
	if len(noIntune) > 0 {
		out.LeftToDo = append(out.LeftToDo, fmt.Sprintf("compliance policies: the tenant has no Intune licence, so %s cannot be created: license Intune or leave them out of the tenant's baseline", quoteList(noIntune)))
	}
	switch {
	case len(create) > 0:
		// One plan holds at most MaxPlanSteps; the rest are the next
		// plan's, as what waits is.
		out.Plan = tierzero.PlanArgs{Phase: tierzero.BaselineCreate, Steps: create[:min(len(create), tierzero.MaxPlanSteps)]}
		for _, i := range deferred {
			out.Items[i].Why += "; proposed once the creates and changes have run"
		}
	case sdOff != nil || len(enable) > 0 || len(atOnce) > 0:
		var st []tierzero.PlanStepArg
		if sdOff != nil {
			st = append(st, *sdOff)
		}
		// Security defaults go off only with the policies switched on
		// in the same plan: the first MaxPlanSteps of them. What else
		// applies at once follows.
		st = append(st, enable...)
		st = append(st, atOnce...)
		out.Plan = tierzero.PlanArgs{Phase: tierzero.BaselineEnable, Steps: st[:min(len(st), tierzero.MaxPlanSteps)]}
	case len(sdWaits) > 0:
		out.LeftToDo = append(out.LeftToDo, fmt.Sprintf("security defaults stay on, and no policy is switched on, until %s can be created or changed: resolve the conflicts above first", quoteList(sdWaits)))
	}
	return out, nil
}

// toDo says in words what a person must do about a step.
func toDo(res Resource, name, why string) string {
	what := map[Resource]string{ResConditionalAccess: "Conditional Access policy", ResNamedLocation: "named location",
		ResAuthMethod: "authentication method", ResCompliance: "compliance policy", ResAssignment: "assignment of the compliance policy"}[res]
	if what == "" {
		return name + ": " + why
	}
	return fmt.Sprintf("%s %q: %s", what, name, why)
}

func ssprToDo(want SSPR) string {
	if !want.Enabled {
		return "self-service password reset: check that it is off; Graph v1.0 can neither read nor set it: set it in the Entra admin center (Password reset)"
	}
	return fmt.Sprintf("self-service password reset: check that it is on for all users with %d methods required to reset; Graph v1.0 can neither read nor set it: set it in the Entra admin center (Password reset)", want.MethodsRequired)
}

// UsersNamed returns the user principal names tenant's baseline names (the
// users its Conditional Access policies leave out), sorted, each once: what
// graph resolves to ids into BaselineDoc.Users.
func (s *Set) UsersNamed(tenant tierzero.TenantID) []string {
	var out []string
	for _, p := range s.For(tenant).ConditionalAccess {
		for _, u := range p.Users.ExcludeUsers {
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, u) }) {
				out = append(out, u)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}
