package tierzero

import (
	"encoding/json"
	"slices"
	"strings"
)

// Tenant baselines (issue 22, docs/baseline.md): the Entra ID and Intune
// configuration an MSP wants in every client tenant, as code. A tenant's
// baseline plan is one plan call of ActionBaselineApply whose steps are the
// baseline actions (IsBaselineAction) that bring the tenant to it, run as a
// lifecycle plan is: confirmed once, approved once, each step then its own
// call through the Guard, its progress durable so that a crash resumes
// without running a step twice.
//
// A plan has two phases, each its own plan and its own approval:
// BaselineCreate creates and updates objects (a Conditional Access policy
// is always created report-only), BaselineEnable switches report-only
// policies on (and security defaults off, when they give way to them),
// proposed only once the policies exist and labelled with their sign-in
// impact read from the sign-in logs.
const (
	ActionBaselineApply = "baseline.apply"
	// ActionBaselinePlan reads the tenant and returns its BaselinePlan.
	ActionBaselinePlan = "baseline.plan"
)

// AuditBaselineDrift records a tenant's baseline drift as serve's drift
// watch last reported it: its items (Output), or none when the tenant is
// back in line. CauseBaselineDrift is the escalation cause of the ticket
// drift opens.
const (
	AuditBaselineDrift AuditKind       = "baseline_drift"
	CauseBaselineDrift EscalationCause = "baseline_drift"
)

// IsBaselineAction reports whether action is a step of a baseline plan: a
// write of the tenant's configuration ("baseline." and not the plan's own
// actions).
func IsBaselineAction(action string) bool {
	return strings.HasPrefix(action, "baseline.") && action != ActionBaselineApply && action != ActionBaselinePlan
}

// BaselinePhase is which phase of a baseline a plan runs.
type BaselinePhase string

// Baseline phases.
const (
	BaselineCreate BaselinePhase = "create"
	BaselineEnable BaselinePhase = "enable"
)

// BaselineDoc is a tenant's configuration as Graph v1.0 returned it, each
// object in Graph's own JSON: what graph reads (ActionBaselinePlan, drift)
// and the baseline planner compares with the baseline. A part the tenant
// cannot have (no Entra ID P1: no Conditional Access; no Intune) is absent
// and its capability false, never an empty list that would read as "none".
type BaselineDoc struct {
	Tenant TenantID `json:"tenant"`
	// ConditionalAccess is true when the tenant has Entra ID P1 (Graph
	// serves identity/conditionalAccess); Intune when it has Intune.
	ConditionalAccess bool `json:"conditionalAccess"`
	Intune            bool `json:"intune"`
	// SecurityDefaults is policies/identitySecurityDefaultsEnforcementPolicy.
	SecurityDefaults json.RawMessage `json:"securityDefaults"`
	// CAPolicies are identity/conditionalAccess/policies, NamedLocations
	// identity/conditionalAccess/namedLocations.
	CAPolicies     []json.RawMessage `json:"conditionalAccessPolicies,omitempty"`
	NamedLocations []json.RawMessage `json:"namedLocations,omitempty"`
	// AuthMethodsPolicy is policies/authenticationMethodsPolicy with its
	// authenticationMethodConfigurations.
	AuthMethodsPolicy json.RawMessage `json:"authenticationMethodsPolicy"`
	// CompliancePolicies are deviceManagement/deviceCompliancePolicies,
	// each with its assignments ($expand=assignments).
	CompliancePolicies []json.RawMessage `json:"deviceCompliancePolicies,omitempty"`
	// Groups are the tenant's groups (id, displayName), to resolve the
	// names a baseline uses.
	Groups []BaselineGroup `json:"groups"`
	// Users are the user principal names a baseline names (exclusions),
	// resolved to object ids; one the tenant does not have is absent.
	Users map[string]string `json:"users,omitempty"`
}

// BaselineGroup is a group of a BaselineDoc. SecurityEnabled and
// GroupTypes are Graph's: a group that is not security-enabled, or whose
// groupTypes hold "Unified" (a Microsoft 365 group, which any user may
// create and join unless the tenant forbids it), cannot be a baseline's
// exclusion group.
type BaselineGroup struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName"`
	SecurityEnabled bool     `json:"securityEnabled"`
	GroupTypes      []string `json:"groupTypes,omitempty"`
}

// BaselinePlan is a tenant's baseline plan: every object of the baseline and
// what it takes (Items), and the steps of the phase that can run now, for
// ActionBaselineApply unchanged (Plan; no steps when there is nothing to
// run). Drift is any item that is not "leave".
type BaselinePlan struct {
	Tenant TenantID       `json:"tenant"`
	Items  []BaselineItem `json:"items"`
	Plan   PlanArgs       `json:"plan"`
	// Impact is, for an enable phase, each report-only policy's sign-in
	// impact, read from the sign-in logs (graph fills it in).
	Impact []BaselineImpact `json:"impact,omitempty"`
	// LeftToDo is what tierzero cannot do and a person must: conflicts,
	// settings Graph v1.0 cannot write, steps that wait for another.
	LeftToDo []string `json:"left_for_a_person"`
}

// BaselineItem is one object of a baseline and what it takes.
type BaselineItem struct {
	// Kind is create, update, enable, leave or conflict.
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	Name     string `json:"name"`
	ID       string `json:"id,omitempty"`
	// Why says in plain words what differs, or that nothing does.
	Why string `json:"why"`
	// Changes are "field: from → to", one per field.
	Changes []string `json:"changes,omitempty"`
}

// Drift returns the items that differ from the baseline: every item whose
// kind is not "leave".
func (p BaselinePlan) Drift() []BaselineItem {
	var out []BaselineItem
	for _, it := range p.Items {
		if it.Kind != "leave" {
			out = append(out, it)
		}
	}
	return out
}

// BaselineImpact is what a report-only Conditional Access policy would have
// done, from the sign-in logs (appliedConditionalAccessPolicies) since a
// time: sign-ins and distinct users it applied to, and how many of those it
// would have interrupted (asked for MFA or a compliant device) or blocked.
type BaselineImpact struct {
	PolicyID    string `json:"policyId"`
	Name        string `json:"name"`
	Since       string `json:"since"` // RFC 3339
	SignIns     int    `json:"signIns"`
	Users       int    `json:"users"`
	Success     int    `json:"reportOnlySuccess"`
	Interrupted int    `json:"reportOnlyInterrupted"`
	Failure     int    `json:"reportOnlyFailure"`
	// Blocked are the user principal names it would have blocked or
	// interrupted, at most ten, so an approver sees who is affected.
	Affected []string `json:"affected,omitempty"`
}

// securityDefaultsGoOff reports whether item it is the security defaults
// item of a plan whose tenant still has them on where the baseline turns
// them off with the policies switched on: resource security_defaults, kind
// update, the change "enabled: true → false".
func securityDefaultsGoOff(it BaselineItem) bool {
	if it.Resource != "security_defaults" || it.Kind != "update" {
		return false
	}
	for _, c := range it.Changes {
		field, change, ok := strings.Cut(c, ":")
		from, to, ok2 := strings.Cut(change, "→")
		if ok && ok2 && strings.TrimSpace(field) == "enabled" && strings.TrimSpace(from) == "true" && strings.TrimSpace(to) == "false" {
			return true
		}
	}
	return false
}

// EnableIsDrift is added to the why of a report-only policy the baseline
// enforces when security defaults are off.
const EnableIsDrift = "; security defaults are off, so nothing enforces it: switched back to report-only behind tierzero's back, or an enable phase that did not finish"

// SplitDrift splits the items of a plan's drift (every item not leave) into
// drift, told and ticketed (create, update, conflict), and those that
// await the enable phase: a report-only policy the baseline enforces (kind
// "enable"), and security defaults to turn off with the policies switched
// on, while the tenant's security defaults are still on (items has the
// security defaults item whose change is on → off). Between the two phases
// of every onboarding a tenant has them: not drift to tell anyone about or
// ticket. Once security defaults are off, a report-only policy is drift:
// the tenant enforces neither security defaults nor that policy (it was
// switched back to report-only behind tierzero's back, or an enable phase
// failed part way); its why says so.
func SplitDrift(items []BaselineItem) (drift, waits []BaselineItem) {
	sdOn := slices.ContainsFunc(items, securityDefaultsGoOff)
	for _, it := range items {
		switch {
		case it.Kind == "leave":
		case sdOn && (it.Kind == string(BaselineEnable) || securityDefaultsGoOff(it)):
			waits = append(waits, it)
		case it.Kind == string(BaselineEnable):
			it.Why += EnableIsDrift
			drift = append(drift, it)
		default:
			drift = append(drift, it)
		}
	}
	return drift, waits
}
