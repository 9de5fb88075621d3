package baseline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tierzero/tierzero"
)

// CAState is a Conditional Access policy's state, as Graph names it.
type CAState string

// Conditional Access policy states.
const (
	CAEnabled    CAState = "enabled"
	CADisabled   CAState = "disabled"
	CAReportOnly CAState = "enabledForReportingButNotEnforced"
)

// State is a tenant's current configuration, read through Graph, in the
// baseline's own types plus object ids.
type State struct {
	SecurityDefaults  bool
	NamedLocations    []NamedLocationState
	ConditionalAccess []CAPolicyState
	AuthMethods       AuthMethods
	SSPR              SSPR
	Compliance        []CompliancePolicyState
	// Groups are the tenant's groups, to resolve the names the baseline
	// uses (exclusions, assignments).
	Groups []Group
}

// NamedLocationState is a named location of the tenant.
type NamedLocationState struct {
	ID string
	NamedLocation
}

// CAPolicyState is a Conditional Access policy of the tenant.
type CAPolicyState struct {
	ID    string
	State CAState
	CAPolicy
	// Other are the settings of the tenant's policy a baseline does not
	// describe (Graph's names: "platforms", "users.excludeRoles",
	// "grantControls.termsOfUse", ...). Each is a difference from the
	// baseline that tierzero never removes: a person's to decide (Kept).
	Other []string
}

// CompliancePolicyState is a compliance policy of the tenant, with its
// assignments in AssignTo.
type CompliancePolicyState struct {
	ID string
	CompliancePolicy
}

// Group is a group of the tenant. Security is Graph's securityEnabled;
// Unified is true for a Microsoft 365 group (groupTypes has "Unified"),
// which any user may create and join unless the tenant restricts it.
type Group struct {
	ID       string
	Name     string
	Security bool
	Unified  bool
}

// Kind is what a step does.
type Kind string

// Step kinds.
const (
	Create Kind = "create"
	Update Kind = "update"
	// Enable switches a report-only Conditional Access policy on.
	Enable Kind = "enable"
	Leave  Kind = "leave"
	// Conflict is a difference the planner cannot resolve by itself (a
	// name used twice in the tenant, a group that does not exist, a
	// policy of another platform by the same name): a person decides.
	Conflict Kind = "conflict"
)

// Resource is the kind of object a step acts on.
type Resource string

// Resources.
const (
	ResConditionalAccess Resource = "conditional_access"
	ResNamedLocation     Resource = "named_location"
	ResSecurityDefaults  Resource = "security_defaults"
	ResAuthMethod        Resource = "auth_method"
	ResSSPR              Resource = "sspr"
	ResCompliance        Resource = "compliance"
	ResAssignment        Resource = "assignment"
)

// Step is one step of a plan.
type Step struct {
	Kind     Kind
	Resource Resource
	Name     string
	// ID is the tenant object's id when it exists.
	ID string
	// Why says in plain words what differs, or that nothing does.
	Why     string
	Changes []Change
	// NeedsImpactReview marks a step that changes who can sign in, or
	// how, at once: switching a report-only policy on, turning security
	// defaults off or on, changing a policy that is switched on, turning
	// an authentication method off. PlanBaseline proposes it only in the
	// enable phase, its own approval, after its impact is shown; never
	// with the creates and changes, which enforce nothing.
	NeedsImpactReview bool
	// Kept are the settings of the tenant's object the baseline does not
	// describe, which the step keeps as the tenant has them: tierzero
	// never removes them. They are drift, a person's to decide; with
	// nothing else to change, the step is a Conflict.
	Kept []string
	// WaitsFor names the Conditional Access policies that must first
	// exist in the tenant as the baseline has them (report-only) before
	// this step may run: turning security defaults off waits for the
	// policies that replace them. A step that waits does not run in
	// this plan; the next plan, after the creates, no longer waits.
	WaitsFor []string
	// BlockedBy names the tenant's switched-on Conditional Access
	// policies that require a compliant device, when this compliance step
	// makes devices noncompliant at once (a setting tightened, a policy
	// assigned to more): those policies then block them, so the step
	// NeedsImpactReview.
	BlockedBy []string
}

// Change is one field a step sets.
type Change struct {
	Field string
	From  string
	To    string
}

// Plan compares the baseline want with the tenant's state have and returns
// the steps that bring the tenant to the baseline, in the order they are to
// run. It is pure: it reads nothing and changes nothing.
//
// Objects are matched by name as a person reads it (sameName: case,
// runs of spaces and invisible characters folded); a tenant's object whose
// name only looks like the baseline's (not byte-equal) is a conflict, never
// matched and never created beside. The order is:
//
//  1. named locations (Conditional Access policies refer to them);
//  2. Conditional Access policies created or updated, new ones in
//     report-only state: a policy is never created enabled;
//  3. security defaults turned off, when the baseline has Conditional
//     Access policies and the tenant has security defaults on;
//  4. report-only policies that match the baseline switched on (Enable);
//  5. authentication methods, self-service password reset;
//  6. compliance policies, then their assignments; while a switched-on
//     policy of the tenant requires a compliant device, one that makes
//     devices noncompliant at once (tightened, created assigned, assigned
//     to more) NeedsImpactReview, naming that policy (BlockedBy).
//
// Steps 3 and 4 are one change: Entra ID does not let Conditional Access
// policies be enforced while security defaults are on, and turning the
// defaults off before the policies are enforced would leave the tenant
// without MFA. So the security defaults step comes after the policies exist
// in report-only state (their sign-in impact can then be read) and right
// before they are switched on, and it needs the same impact review and
// approval as the enables that follow it; apply runs them together or not
// at all. While the policies are still to be created or updated, the step
// is planned (to show it) but waits for them (WaitsFor) and does not run.
func Plan(want Baseline, have State) []Step {
	var steps []Step
	for _, l := range want.NamedLocations {
		steps = append(steps, planLocation(l, have))
	}
	var enables []Step
	var notReady []string // policies not yet in the tenant as the baseline has them
	for _, p := range want.ConditionalAccess {
		s := planCA(p, have)
		if s.Kind == Enable {
			enables = append(enables, s)
			continue
		}
		if s.Kind != Leave {
			notReady = append(notReady, p.Name)
		}
		steps = append(steps, s)
	}
	sd := planSecurityDefaults(want, have)
	if sd.Kind == Update && sd.Changes[0].To == "false" && len(notReady) > 0 {
		sd.WaitsFor = notReady
		sd.Why += "; waits for " + quoteList(notReady)
		// The policies ready to be switched on go with it: Entra ID
		// enforces none while security defaults are on.
		for i := range enables {
			enables[i].WaitsFor = slices.Clone(notReady)
			enables[i].Why += "; with security defaults turned off, which waits for " + quoteList(notReady)
		}
	}
	steps = append(steps, sd)
	steps = append(steps, enables...)
	steps = append(steps, planAuthMethods(want.AuthMethods, have.AuthMethods)...)
	steps = append(steps, planSSPR(want.SSPR, have.SSPR))
	var assignments []Step
	blockers := compliantDeviceBlockers(have)
	for _, p := range want.Compliance {
		s, a := planCompliance(p, have, blockers)
		steps = append(steps, s)
		if a != nil {
			assignments = append(assignments, *a)
		}
	}
	return append(steps, assignments...)
}

func find[T any](have []T, name string, nameOf func(T) string) []T {
	var out []T
	for _, h := range have {
		if sameName(nameOf(h), name) {
			out = append(out, h)
		}
	}
	return out
}

// lookalikeStep is the conflict of a tenant's object whose name only looks
// like the baseline's (see lookalike).
func lookalikeStep(res Resource, what, have, want string) Step {
	return Step{Kind: Conflict, Resource: res, Name: want, Why: lookalikeWhy(what, have, want)}
}

func duplicate(res Resource, name string, n int) Step {
	return Step{Kind: Conflict, Resource: res, Name: name,
		Why: fmt.Sprintf("%d objects in the tenant are named %q: say which one the baseline manages (rename or delete the others)", n, name)}
}

func planLocation(want NamedLocation, have State) Step {
	found := find(have.NamedLocations, want.Name, func(l NamedLocationState) string { return l.Name })
	switch len(found) {
	case 0:
		return Step{Kind: Create, Resource: ResNamedLocation, Name: want.Name, Why: "missing",
			Changes: []Change{{"cidrs", "", list(want.CIDRs)}, {"trusted", "", strconv.FormatBool(want.Trusted)}}}
	case 1:
	default:
		return duplicate(ResNamedLocation, want.Name, len(found))
	}
	h := found[0]
	if lookalike(h.Name, want.Name) {
		return lookalikeStep(ResNamedLocation, "named location", h.Name, want.Name)
	}
	var cs []Change
	cs = diffSet(cs, "cidrs", h.CIDRs, want.CIDRs)
	cs = diffBool(cs, "trusted", h.Trusted, want.Trusted)
	return changed(Step{Resource: ResNamedLocation, Name: want.Name, ID: h.ID}, cs)
}

// changed makes s an update with cs, or a leave without.
func changed(s Step, cs []Change) Step {
	if len(cs) == 0 {
		s.Kind, s.Why = Leave, "matches the baseline"
		return s
	}
	s.Kind, s.Changes, s.Why = Update, cs, why(cs)
	return s
}

func why(cs []Change) string {
	var parts []string
	for _, c := range cs {
		from, to := c.From, c.To
		if from == "" {
			from = "none"
		}
		if to == "" {
			to = "none"
		}
		parts = append(parts, fmt.Sprintf("%s is %s, baseline wants %s", c.Field, from, to))
	}
	return strings.Join(parts, "; ")
}

func planCA(want CAPolicy, have State) Step {
	s := Step{Resource: ResConditionalAccess, Name: want.Name}
	if missing := missingGroups(have.Groups, append(slices.Clone(want.Users.Groups), want.Users.ExcludeGroups...)); len(missing) > 0 {
		s.Kind = Conflict
		s.Why = fmt.Sprintf("group %s does not exist in the tenant: create it (with the break-glass accounts in an exclusion group) before the policy", quoteList(missing))
		return s
	}
	if why := lookalikeGroups(have.Groups, append(slices.Clone(want.Users.Groups), want.Users.ExcludeGroups...)); why != "" {
		s.Kind, s.Why = Conflict, why
		return s
	}
	if why := unsafeExclusions(have.Groups, want.Users.ExcludeGroups); why != "" {
		s.Kind, s.Why = Conflict, why
		return s
	}
	found := find(have.ConditionalAccess, want.Name, func(p CAPolicyState) string { return p.Name })
	switch len(found) {
	case 0:
		s.Kind, s.Why = Create, "missing; created in report-only state, switched on by a separate approved step"
		s.Changes = append(caChanges(CAPolicy{}, want), Change{"state", "", string(CAReportOnly)})
		return s
	case 1:
	default:
		return duplicate(ResConditionalAccess, want.Name, len(found))
	}
	h := found[0]
	if lookalike(h.Name, want.Name) {
		return lookalikeStep(ResConditionalAccess, "Conditional Access policy", h.Name, want.Name)
	}
	s.ID = h.ID
	cs := caChanges(h.CAPolicy, want)
	kept := slices.Clone(h.Other)
	if len(want.Locations.Include)+len(want.Locations.Exclude) == 0 && len(h.Locations.Include)+len(h.Locations.Exclude) > 0 {
		// The baseline has no location condition: the tenant's is a
		// setting it does not describe, kept, never cleared.
		cs = slices.DeleteFunc(cs, func(c Change) bool { return strings.HasPrefix(c.Field, "locations.") })
		kept = append(kept, "locations")
	}
	if len(cs) == 0 && len(kept) > 0 {
		s.Kind, s.Kept = Conflict, kept
		s.Why = keptWhy("policy", kept)
		return s
	}
	if len(cs) > 0 {
		s.Kind, s.Changes, s.Why, s.Kept = Update, cs, why(cs), kept
		if len(kept) > 0 {
			s.Why += "; " + keptWhy("policy", kept)
		}
		switch h.State {
		case CAEnabled:
			// The change is enforced as soon as it is made.
			s.NeedsImpactReview = true
			s.Why += "; the policy is enabled, so the change applies at once"
		case CADisabled:
			s.Changes = append(s.Changes, Change{"state", string(CADisabled), string(CAReportOnly)})
			s.Why += "; the policy is disabled: set to report-only first"
		}
		return s
	}
	switch h.State {
	case CAEnabled:
		s.Kind, s.Why = Leave, "matches the baseline and is enabled"
	case CAReportOnly:
		s.Kind, s.NeedsImpactReview = Enable, true
		s.Why = "matches the baseline in report-only state; switch on after reviewing its sign-in impact"
		s.Changes = []Change{{"state", string(CAReportOnly), string(CAEnabled)}}
	default:
		s.Kind = Update
		s.Why = fmt.Sprintf("state is %s, baseline wants it on: set to report-only first", stateOr(h.State))
		s.Changes = []Change{{"state", string(h.State), string(CAReportOnly)}}
	}
	return s
}

func stateOr(s CAState) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}

func caChanges(have, want CAPolicy) []Change {
	var cs []Change
	cs = diffBool(cs, "users.all", have.Users.All, want.Users.All)
	cs = diffSet(cs, "users.roles", have.Users.Roles, want.Users.Roles)
	cs = diffSet(cs, "users.groups", have.Users.Groups, want.Users.Groups)
	cs = diffSet(cs, "users.exclude_groups", have.Users.ExcludeGroups, want.Users.ExcludeGroups)
	cs = diffSet(cs, "users.exclude_users", have.Users.ExcludeUsers, want.Users.ExcludeUsers)
	cs = diffSet(cs, "apps", have.Apps, want.Apps)
	cs = diffSet(cs, "client_app_types", orAll(have.ClientAppTypes), orAll(want.ClientAppTypes))
	cs = diffSet(cs, "locations.include", have.Locations.Include, want.Locations.Include)
	cs = diffSet(cs, "locations.exclude", have.Locations.Exclude, want.Locations.Exclude)
	if have.Grant != want.Grant {
		cs = append(cs, Change{"grant", string(have.Grant), string(want.Grant)})
	}
	return cs
}

func orAll(s []string) []string {
	if len(s) == 0 {
		return []string{ClientAll}
	}
	return s
}

func planSecurityDefaults(want Baseline, have State) Step {
	s := Step{Resource: ResSecurityDefaults, Name: "security defaults"}
	on := len(want.ConditionalAccess) == 0
	if want.SecurityDefaults != nil {
		on = *want.SecurityDefaults
	} else if on {
		s.Kind, s.Why = Leave, "the baseline has no conditional access policies and does not manage security defaults"
		return s
	}
	switch {
	case on == have.SecurityDefaults:
		s.Kind, s.Why = Leave, "matches the baseline"
	case on:
		// Enforced at once: every user must register for MFA, legacy
		// authentication is blocked.
		s.Kind, s.NeedsImpactReview = Update, true
		s.Why = "security defaults are off, baseline wants them on; they apply at once to every user"
		s.Changes = []Change{{"enabled", "false", "true"}}
	default:
		s.Kind, s.NeedsImpactReview = Update, true
		s.Why = "security defaults are on, the baseline enforces MFA through conditional access instead; turn them off only together with switching the conditional access policies on, after their report-only sign-in impact is reviewed, never before they exist"
		s.Changes = []Change{{"enabled", "true", "false"}}
	}
	return s
}

func planAuthMethods(want, have AuthMethods) []Step {
	tap := Step{Resource: ResAuthMethod, Name: "temporary_access_pass"}
	var cs []Change
	cs = diffBool(cs, "enabled", have.TAP.Enabled, want.TAP.Enabled)
	if want.TAP.Enabled {
		if have.TAP.LifetimeMinutes != want.TAP.LifetimeMinutes {
			cs = append(cs, Change{"lifetime_minutes", strconv.Itoa(have.TAP.LifetimeMinutes), strconv.Itoa(want.TAP.LifetimeMinutes)})
		}
		cs = diffBool(cs, "usable_once", have.TAP.UsableOnce, want.TAP.UsableOnce)
	}
	steps := []Step{changed(tap, cs)}
	for _, m := range []struct {
		name       string
		have, want bool
	}{
		{"authenticator", have.Authenticator, want.Authenticator},
		{"fido2", have.FIDO2, want.FIDO2},
		{"sms", have.SMS, want.SMS},
	} {
		s := changed(Step{Resource: ResAuthMethod, Name: m.name}, diffBool(nil, "enabled", m.have, m.want))
		if m.have && !m.want {
			// Users whose only method this is cannot complete MFA.
			s.NeedsImpactReview = true
			s.Why += "; users registered with this method only must register another first"
		}
		steps = append(steps, s)
	}
	if steps[0].Kind == Update && have.TAP.Enabled && !want.TAP.Enabled {
		steps[0].NeedsImpactReview = true
	}
	return steps
}

func planSSPR(want, have SSPR) Step {
	var cs []Change
	cs = diffBool(cs, "enabled", have.Enabled, want.Enabled)
	if want.Enabled && have.MethodsRequired != want.MethodsRequired {
		cs = append(cs, Change{"methods_required", strconv.Itoa(have.MethodsRequired), strconv.Itoa(want.MethodsRequired)})
	}
	return changed(Step{Resource: ResSSPR, Name: "self-service password reset"}, cs)
}

// compliantDeviceBlockers returns the names of the tenant's switched-on
// Conditional Access policies that require a compliant device: with one,
// a device that becomes noncompliant is blocked at once.
func compliantDeviceBlockers(have State) []string {
	var out []string
	for _, p := range have.ConditionalAccess {
		if p.State == CAEnabled && slices.Contains(strings.Fields(string(p.Grant)), string(GrantCompliantDevice)) {
			out = append(out, p.Name)
		}
	}
	return out
}

// blocksAtOnce marks a compliance step that makes devices noncompliant at
// once while blockers (compliantDeviceBlockers) are switched on: it
// applies at once, so it needs an impact review (the enable phase).
func blocksAtOnce(s *Step, blockers []string) {
	s.NeedsImpactReview, s.BlockedBy = true, slices.Clone(blockers)
	s.Why += "; " + blocksWords(blockers)
}

// blocksWords says what a compliance step that tightens does at once.
func blocksWords(blockers []string) string {
	if len(blockers) == 1 {
		return fmt.Sprintf("applies at once: devices that fall short become noncompliant, and %q then blocks them", blockers[0])
	}
	return fmt.Sprintf("applies at once: devices that fall short become noncompliant, and %s then block them", quoteList(blockers))
}

// tightens reports whether compliance changes require more of a device: a
// requirement turned on or a higher minimum OS version (one not read as a
// version counts as higher).
func tightens(cs []Change) bool {
	for _, c := range cs {
		switch c.Field {
		case "bitlocker", "firewall", "antivirus", "passcode", "block_jailbroken":
			if c.To == "true" {
				return true
			}
		case "min_os_version":
			if c.To != "" && (c.From == "" || !versionAtMost(c.To, c.From)) {
				return true
			}
		}
	}
	return false
}

// versionAtMost reports whether the dotted version a is at most b; false
// when either is not a dotted version of numbers.
func versionAtMost(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := 0, 0
		var err error
		if i < len(as) {
			if x, err = strconv.Atoi(as[i]); err != nil || x < 0 {
				return false
			}
		}
		if i < len(bs) {
			if y, err = strconv.Atoi(bs[i]); err != nil || y < 0 {
				return false
			}
		}
		if x != y {
			return x < y
		}
	}
	return true
}

// broadens reports whether assigning to want reaches devices have does
// not: a target have lacks, or an exclusion of have's dropped.
func broadens(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return sameName(h, w) }) {
			return true
		}
	}
	return slices.ContainsFunc(have, func(h string) bool { return strings.HasPrefix(h, "excluded: ") })
}

// planCompliance plans a compliance policy and, separately, its
// assignments (Graph assigns a policy in a call of its own). With a
// switched-on policy requiring a compliant device (blockers), a change that
// makes devices noncompliant at once (a new assigned policy, a setting
// tightened, an assignment broadened) is marked so (blocksAtOnce).
func planCompliance(want CompliancePolicy, have State, blockers []string) (Step, *Step) {
	s, a := planComplianceSteps(want, have)
	if len(blockers) == 0 {
		return s, a
	}
	switch {
	case s.Kind == Create && len(want.AssignTo) > 0:
		blocksAtOnce(&s, blockers)
	case s.Kind == Update && tightens(s.Changes):
		blocksAtOnce(&s, blockers)
	}
	if a != nil && a.Kind == Update && broadens(complianceAssigned(have, a.ID), want.AssignTo) {
		blocksAtOnce(a, blockers)
	}
	return s, a
}

// complianceAssigned returns the assignments of the tenant's compliance
// policy id.
func complianceAssigned(have State, id string) []string {
	if i := slices.IndexFunc(have.Compliance, func(p CompliancePolicyState) bool { return p.ID == id }); i >= 0 {
		return have.Compliance[i].AssignTo
	}
	return nil
}

func planComplianceSteps(want CompliancePolicy, have State) (Step, *Step) {
	s := Step{Resource: ResCompliance, Name: want.Name}
	if missing := missingGroups(have.Groups, want.AssignTo); len(missing) > 0 {
		s.Kind = Conflict
		s.Why = fmt.Sprintf("group %s to assign the policy to does not exist in the tenant", quoteList(missing))
		return s, nil
	}
	if why := lookalikeGroups(have.Groups, want.AssignTo); why != "" {
		s.Kind, s.Why = Conflict, why
		return s, nil
	}
	found := find(have.Compliance, want.Name, func(p CompliancePolicyState) string { return p.Name })
	assign := Step{Resource: ResAssignment, Name: want.Name}
	switch len(found) {
	case 0:
		s.Kind, s.Why = Create, "missing"
		s.Changes = complianceChanges(CompliancePolicy{}, want)
		if len(want.AssignTo) == 0 {
			return s, nil
		}
		assign.Kind, assign.Why = Create, "assign the new policy"
		assign.Changes = []Change{{"assign_to", "", list(want.AssignTo)}}
		return s, &assign
	case 1:
	default:
		return duplicate(ResCompliance, want.Name, len(found)), nil
	}
	h := found[0]
	if lookalike(h.Name, want.Name) {
		return lookalikeStep(ResCompliance, "compliance policy", h.Name, want.Name), nil
	}
	s.ID, assign.ID = h.ID, h.ID
	if h.Platform != want.Platform {
		s.Kind = Conflict
		s.Why = fmt.Sprintf("the tenant's policy %q is for %s, the baseline's for %s: a policy's platform cannot change; rename or delete the tenant's", h.Name, h.Platform, want.Platform)
		return s, nil
	}
	cs := complianceChanges(h.CompliancePolicy, want)
	var kept []string
	if want.MinOSVersion == "" && h.MinOSVersion != "" {
		// The baseline sets no minimum version: the tenant's is kept,
		// never cleared.
		cs = slices.DeleteFunc(cs, func(c Change) bool { return c.Field == "min_os_version" })
		kept = append(kept, "osMinimumVersion")
	}
	switch {
	case len(cs) == 0 && len(kept) > 0:
		s.Kind, s.Kept, s.Why = Conflict, kept, keptWhy("policy", kept)
	default:
		s = changed(s, cs)
		if len(kept) > 0 {
			s.Kept = kept
			s.Why += "; " + keptWhy("policy", kept)
		}
	}
	assign = changed(assign, diffSet(nil, "assign_to", h.AssignTo, want.AssignTo))
	return s, &assign
}

func complianceChanges(have, want CompliancePolicy) []Change {
	var cs []Change
	if have.Platform != want.Platform {
		cs = append(cs, Change{"platform", string(have.Platform), string(want.Platform)})
	}
	cs = diffBool(cs, "bitlocker", have.BitLocker, want.BitLocker)
	cs = diffBool(cs, "firewall", have.Firewall, want.Firewall)
	cs = diffBool(cs, "antivirus", have.Antivirus, want.Antivirus)
	cs = diffBool(cs, "passcode", have.Passcode, want.Passcode)
	cs = diffBool(cs, "block_jailbroken", have.BlockJailbroken, want.BlockJailbroken)
	if have.MinOSVersion != want.MinOSVersion {
		cs = append(cs, Change{"min_os_version", have.MinOSVersion, want.MinOSVersion})
	}
	return cs
}

// missingGroups returns the group names not among the tenant's groups
// (all_users and all_devices are not groups).
func missingGroups(groups []Group, names []string) []string {
	var out []string
	for _, n := range names {
		if n == AssignAllUsers || n == AssignAllDevices {
			continue
		}
		if !slices.ContainsFunc(groups, func(g Group) bool { return sameName(g.Name, n) }) {
			out = append(out, n)
		}
	}
	return out
}

// lookalikeGroups says which group names do not resolve to one group of
// exactly that name: several groups look like it, or only a lookalike (not
// byte-equal) does; "" when each resolves.
func lookalikeGroups(groups []Group, names []string) string {
	var why []string
	for _, n := range names {
		if n == AssignAllUsers || n == AssignAllDevices {
			continue
		}
		found := find(groups, n, func(g Group) string { return g.Name })
		switch {
		case len(found) > 1:
			why = append(why, fmt.Sprintf("%d groups are named %q: rename all but one", len(found), n))
		case len(found) == 1 && lookalike(found[0].Name, n):
			why = append(why, lookalikeWhy("group", found[0].Name, n))
		}
	}
	return strings.Join(why, "; ")
}

// unsafeExclusions says which exclusion groups may not exempt anyone from
// a policy: a Microsoft 365 group (any user may create one, of any name,
// and join it) or a group that is not a security group; "" when each is a
// security group that is not a Microsoft 365 group. The names resolve
// (missingGroups and lookalikeGroups come first).
func unsafeExclusions(groups []Group, names []string) string {
	var why []string
	for _, n := range names {
		i := slices.IndexFunc(groups, func(g Group) bool { return g.Name == n })
		if i < 0 {
			continue
		}
		switch g := groups[i]; {
		case g.Unified:
			why = append(why, fmt.Sprintf("the exclusion group %q (id %s) is a Microsoft 365 group: any user may create a Microsoft 365 group, name it so and join it, so membership of one must not exempt anyone from the policy; leave the break-glass accounts out through a security group that is not a Microsoft 365 group, and rename or delete this one", n, g.ID))
		case !g.Security:
			why = append(why, fmt.Sprintf("the exclusion group %q (id %s) is not a security group (securityEnabled is false): leave the break-glass accounts out through a security group that is not a Microsoft 365 group", n, g.ID))
		}
	}
	return strings.Join(why, "; ")
}

// keptWords say in words what a setting the baseline does not describe
// does.
var keptWords = map[string]string{
	"users.excludeRoles": "excludes directory roles (often the Directory Synchronization Accounts, which directory sync needs)",
	"users.includeUsers": "includes single users", "users.includeGuestsOrExternalUsers": "includes guests or external users",
	"users.excludeGuestsOrExternalUsers": "excludes guests or external users", "applications.excludeApplications": "excludes cloud apps",
	"applications.includeUserActions": "applies to user actions", "applications.includeAuthenticationContextClassReferences": "applies to authentication contexts",
	"applications.applicationFilter": "filters cloud apps", "platforms": "has a device platform condition", "devices": "has a device filter",
	"signInRiskLevels": "has a sign-in risk condition", "userRiskLevels": "has a user risk condition",
	"servicePrincipalRiskLevels": "has a service principal risk condition", "clientApplications": "applies to workload identities",
	"locations": "has a location condition (the baseline has none)", "grantControls.termsOfUse": "requires terms of use",
	"grantControls.authenticationStrength": "requires an authentication strength", "grantControls.customAuthenticationFactors": "requires custom controls",
	"osMinimumVersion":                "requires a minimum OS version (the baseline sets none)",
	"sessionControls.signInFrequency": "sets a sign-in frequency", "sessionControls.persistentBrowser": "sets persistent browser sessions",
	"sessionControls.cloudAppSecurity": "routes sessions through Defender for Cloud Apps", "sessionControls.applicationEnforcedRestrictions": "uses app-enforced restrictions",
	"sessionControls.disableResilienceDefaults": "disables the resilience defaults",
}

// keptWhy says why settings the baseline does not describe stay.
func keptWhy(what string, kept []string) string {
	var w []string
	for _, k := range kept {
		if s, ok := keptWords[k]; ok {
			w = append(w, s+" ("+k+")")
		} else {
			w = append(w, "sets "+k)
		}
	}
	return fmt.Sprintf("the tenant's %s also %s: tierzero does not remove what the baseline does not describe; keep it (it stays as it is) or remove it in the admin center", what, strings.Join(w, ", "))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func diffBool(cs []Change, field string, have, want bool) []Change {
	if have == want {
		return cs
	}
	return append(cs, Change{field, strconv.FormatBool(have), strconv.FormatBool(want)})
}

// diffSet compares two lists of names as sets, case-insensitively.
func diffSet(cs []Change, field string, have, want []string) []Change {
	if sameSet(have, want) {
		return cs
	}
	return append(cs, Change{field, list(have), list(want)})
}

func sameSet(a, b []string) bool {
	norm := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = tierzero.FoldName(v)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

func list(s []string) string { return strings.Join(s, ", ") }
