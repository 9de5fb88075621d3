package graph

// This file: the tools of a tenant baseline (issue 22, docs/baseline.md):
// baseline.plan reads the tenant and returns its plan, baseline.apply
// records an approved plan (as lifecycle.offboard does), and each step
// writes one object of the tenant's configuration.
//
// Every write is idempotent: a create looks the object up by display name
// first and does not create a second (two of the name: refused, a person
// decides which is the baseline's); an update or an assignment that is
// already in place sends nothing. Every write also has its applied
// read-back, so that a step cut short by a crash is settled from Graph and
// never run twice. Graph bodies arrive as a JSON string ("body") and are
// parsed into the SDK's models, so that a body that is not Graph's schema
// (a property Graph's type does not have, a value of the wrong type) is
// refused here, before anything is sent. They are then sent as given,
// through the SDK's request builders and the tenant's request adapter: the
// models drop properties set to null, and a null is how a PATCH clears one
// (a policy's locations, a compliance policy's minimum OS version). A
// Conditional Access policy is never created enforced, nor switched on by
// an update: only baseline.enable_ca_policy switches a report-only policy
// on.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kiotajson "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/devicemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// Action names of the baseline steps (tierzero.IsBaselineAction).
const (
	ActionBaselineCreateNamedLocation = "baseline.create_named_location"
	ActionBaselineCreateCAPolicy      = "baseline.create_ca_policy"
	ActionBaselineUpdateCAPolicy      = "baseline.update_ca_policy"
	ActionBaselineEnableCAPolicy      = "baseline.enable_ca_policy"
	ActionBaselineSetSecurityDefaults = "baseline.set_security_defaults"
	ActionBaselineSetAuthMethod       = "baseline.set_auth_method"
	ActionBaselineCreateCompliance    = "baseline.create_compliance_policy"
	ActionBaselineUpdateCompliance    = "baseline.update_compliance_policy"
	ActionBaselineAssignCompliance    = "baseline.assign_compliance_policy"
)

const (
	baselineDefaultImpactDays = 7  // baseline.plan's impact_days when absent
	baselineMaxImpactDays     = 30 // and at most
	baselineAffectedMax       = 10 // user principal names an impact names
	// The sign-in log is read in pages of Graph's largest $top, at most
	// baselineSignInMaxPages of them.
	baselineSignInPageSize int32 = 1000
	baselineSignInMaxPages       = 50
	// Conditional Access policy states.
	caReportOnly = "enabledForReportingButNotEnforced"
	caEnabled    = "enabled"
)

// baselineAuthMethods are the method configurations a baseline sets.
var baselineAuthMethods = []string{"TemporaryAccessPass", "MicrosoftAuthenticator", "Fido2", "Sms"}

// baselineApplySchema is baseline.apply's schema: a plan with its phase and
// steps, naming no user.
const baselineApplySchema = `{"type":"object","properties":{` +
	`"phase":{"type":"string","enum":["create","enable"],"description":"Which phase of the baseline the steps are."},` +
	`"steps":{"type":"array","items":{"type":"object","properties":{` +
	`"action":{"type":"string"},"args":{"type":"string","description":"The step's arguments, canonical JSON."},` +
	`"label":{"type":"string"},"stop":{"type":"boolean"}},"required":["action","args","label"],"additionalProperties":false}}},` +
	`"required":["phase","steps"],"additionalProperties":false}`

// objectSchema builds an object schema whose properties are all required but
// those listed optional.
func objectSchema(props [][2]string, optional ...string) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	req := []string{}
	for i, p := range props {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", p[0], p[1])
		if !slices.Contains(optional, p[0]) {
			req = append(req, p[0])
		}
	}
	r, _ := json.Marshal(req)
	fmt.Fprintf(&b, `},"required":%s,"additionalProperties":false}`, r)
	return json.RawMessage(b.String())
}

const (
	propName   = `{"type":"string","description":"The object's display name, as the baseline names it."}`
	propID     = `{"type":"string","description":"The object's id in the tenant."}`
	propBody   = `{"type":"string","description":"The Graph v1.0 JSON body, as a string."}`
	propAssign = `{"type":"string","description":"The assignments, as a string: Graph's {\"assignments\":[...]} body of deviceCompliancePolicy: assign."}`
	propStamp  = `{"type":"string","description":"The policy's modifiedDateTime as Graph gave it when the plan was made (its createdDateTime if it has none; empty if neither): the step is refused if the policy changed since."}`
)

var baselineTools = []tool{
	{spec: tierzero.ToolSpec{
		Action: tierzero.ActionBaselinePlan,
		Description: "Read the tenant's Entra ID and Intune configuration and return its baseline plan: every object of the baseline and what it takes, " +
			"the steps of the phase that can run now (for baseline.apply, unchanged), for an enable phase each policy's sign-in impact, and what is left for a person.",
		Risk:   tierzero.RiskRead,
		Schema: objectSchema([][2]string{{"impact_days", `{"type":"integer","minimum":1,"maximum":30,"description":"Days of sign-in logs the impact of switching policies on is read from; default 7."}`}}, "impact_days"),
	}, run: baselinePlan},
	{spec: tierzero.ToolSpec{
		Action:      tierzero.ActionBaselineApply,
		Description: "Bring the tenant to its baseline: the plan baseline.plan returned, unchanged. Approved once as a whole; each step then runs on its own, decided by policy.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(baselineApplySchema),
	}, run: baselineApplyRecord, applied: baselineApplyApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineCreateNamedLocation,
		Description: "Create a named location (trusted IP ranges) for Conditional Access, unless one of that name exists.",
		Write:       true, Risk: tierzero.RiskMedium,
		Schema: objectSchema([][2]string{{"name", propName}, {"body", propBody}}),
	}, run: createNamedLocation, applied: createdApplied(namedLocationsInfo)},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineCreateCAPolicy,
		Description: "Create a Conditional Access policy in report-only state (it enforces nothing until baseline.enable_ca_policy), unless one of that name exists.",
		Write:       true, Risk: tierzero.RiskHigh,
		Schema: objectSchema([][2]string{{"name", propName}, {"body", propBody}}),
	}, run: createCAPolicy, applied: createdApplied(caPoliciesInfo)},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineUpdateCAPolicy,
		Description: "Change a Conditional Access policy's conditions and grant controls (never its state).",
		Write:       true, Risk: tierzero.RiskHigh,
		Schema: objectSchema([][2]string{{"id", propID}, {"name", propName}, {"body", propBody}}),
	}, run: updateCAPolicy, applied: updateCAApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineEnableCAPolicy,
		Description: "Switch a report-only Conditional Access policy on, after its sign-in impact was reviewed, unless it changed since the plan.",
		Write:       true, Risk: tierzero.RiskHigh,
		Schema: objectSchema([][2]string{{"id", propID}, {"name", propName}, {"modified", propStamp}}),
	}, run: enableCAPolicy, applied: enableCAApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineSetSecurityDefaults,
		Description: "Turn the tenant's security defaults on or off.",
		Write:       true, Risk: tierzero.RiskHigh,
		Schema: objectSchema([][2]string{{"enabled", `{"type":"boolean"}`}}),
	}, run: setSecurityDefaults, applied: securityDefaultsApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineSetAuthMethod,
		Description: "Change one method of the authentication methods policy (TemporaryAccessPass, MicrosoftAuthenticator, Fido2, Sms).",
		Write:       true, Risk: tierzero.RiskHigh,
		Schema: objectSchema([][2]string{{"id", `{"type":"string","enum":["TemporaryAccessPass","MicrosoftAuthenticator","Fido2","Sms"]}`}, {"body", propBody}}),
	}, run: setAuthMethod, applied: authMethodApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineCreateCompliance,
		Description: "Create an Intune device compliance policy, unless one of that name exists, and assign it.",
		Write:       true, Risk: tierzero.RiskMedium,
		Schema: objectSchema([][2]string{{"name", propName}, {"body", propBody}, {"assignments", propAssign}}),
	}, run: createCompliance, applied: createComplianceApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineUpdateCompliance,
		Description: "Change the settings of an Intune device compliance policy.",
		Write:       true, Risk: tierzero.RiskMedium,
		Schema: objectSchema([][2]string{{"id", propID}, {"name", propName}, {"body", propBody}}),
	}, run: updateCompliance, applied: updateComplianceApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionBaselineAssignCompliance,
		Description: "Set who an Intune device compliance policy applies to (replaces its assignments).",
		Write:       true, Risk: tierzero.RiskMedium,
		Schema: objectSchema([][2]string{{"id", propID}, {"name", propName}, {"assignments", propAssign}}),
	}, run: assignCompliance, applied: assignComplianceApplied},
}

// baselineArgs are the arguments of the baseline steps; each tool reads
// the ones its schema names (decodeArgs refuses any other key).
type baselineArgs struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Body        string  `json:"body"`
	Assignments string  `json:"assignments"`
	Enabled     *bool   `json:"enabled"`
	Modified    *string `json:"modified"`
}

// decodeBaselineArgs decodes a step's arguments and checks the ones named
// in need are present and plain.
func decodeBaselineArgs(raw json.RawMessage, need ...string) (baselineArgs, error) {
	a, err := decodeArgs[baselineArgs](raw)
	if err != nil {
		return a, err
	}
	a.ID, a.Name = strings.TrimSpace(a.ID), strings.TrimSpace(a.Name)
	for _, k := range need {
		switch k {
		case "id":
			if err := checkRef("id", a.ID); err != nil {
				return a, err
			}
		case "name":
			if a.Name == "" || len(a.Name) > 256 {
				return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: name must be the object's display name")
			}
		case "body", "assignments":
			if v := map[string]string{"body": a.Body, "assignments": a.Assignments}[k]; strings.TrimSpace(v) == "" {
				return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s is required", k)
			}
		case "enabled":
			if a.Enabled == nil {
				return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: enabled is required")
			}
		case "modified":
			// Present, empty only for a policy Graph gave no time for.
			if a.Modified == nil || len(*a.Modified) > 64 || strings.TrimSpace(*a.Modified) != *a.Modified {
				return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: modified is required: the policy's modifiedDateTime (else createdDateTime) as the plan read it")
			}
		}
	}
	return a, nil
}

// jsonObject decodes a body string as a JSON object.
func jsonObject(what, s string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s must be a JSON object", what)
	}
	return m, nil
}

// parseModel parses a Graph JSON body into the SDK model factory makes,
// refusing a property the model's type does not have (the SDK would keep it
// as additional data and send it on).
func parseModel[T absser.Parsable](what, body string, factory absser.ParsableFactory) (T, error) {
	var zero T
	if _, err := jsonObject(what, body); err != nil {
		return zero, err
	}
	node, err := kiotajson.NewJsonParseNode([]byte(body))
	if err != nil {
		return zero, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s is not Graph JSON", what)
	}
	v, err := node.GetObjectValue(factory)
	if err != nil {
		return zero, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s does not match Graph's schema: %v", what, err)
	}
	m, ok := v.(T)
	if !ok {
		return zero, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s is not of the expected Graph type", what)
	}
	if h, ok := v.(absser.AdditionalDataHolder); ok {
		var extra []string
		typ, _ := jsonOdataType(body)
		for k := range h.GetAdditionalData() {
			if !slices.Contains(sdkMissing[typ], k) {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return zero, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s has properties Graph's type does not: %s", what, strings.Join(extra, ", "))
		}
	}
	return m, nil
}

// sdkMissing are, by @odata.type, properties Graph v1.0 documents and
// serves that the SDK's v1.0 metadata does not model: the SDK keeps them as
// additional data, and they are accepted.
// https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-windows10compliancepolicy
var sdkMissing = map[string][]string{
	"#microsoft.graph.windows10CompliancePolicy": {"activeFirewallRequired", "antiSpywareRequired", "antivirusRequired",
		"configurationManagerComplianceRequired", "defenderEnabled", "defenderVersion", "deviceThreatProtectionEnabled",
		"deviceThreatProtectionRequiredSecurityLevel", "rtpEnabled", "signatureOutOfDate", "tpmRequired", "validOperatingSystemBuildRanges"},
}

// jsonOdataType returns a JSON object's @odata.type.
func jsonOdataType(body string) (string, bool) {
	var o struct {
		Type *string `json:"@odata.type"`
	}
	if json.Unmarshal([]byte(body), &o) != nil || o.Type == nil {
		return "", false
	}
	return *o.Type, true
}

// sendRaw sends a write an SDK request builder made, with body (a JSON
// object) as its content, and returns Graph's answer ("" for none).
func (c *Client) sendRaw(ctx context.Context, tenant tierzero.TenantID, info *abs.RequestInformation, err error, body map[string]any) (json.RawMessage, error) {
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: the body cannot be encoded")
	}
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	info.SetStreamContentAndContentType(raw, "application/json")
	v, err := a.SendPrimitive(ctx, info, "[]byte", odataErrors)
	if err != nil {
		return nil, err
	}
	b, _ := v.([]byte)
	return b, nil
}

// createdID reads the id of the object a create answered with.
func createdID(raw json.RawMessage) string {
	var o struct {
		ID string `json:"id"`
	}
	json.Unmarshal(raw, &o)
	return o.ID
}

// bodyName checks that a body's displayName, if any, is the step's name.
func bodyName(body map[string]any, name string) error {
	if n, ok := body["displayName"]; ok && n != name {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: the body's displayName is not the step's name %q", name)
	}
	return nil
}

// createBody is a create's body, named by the step: its displayName, if
// any, must be the name; absent, it is set.
func createBody(s, name string) (map[string]any, error) {
	body, err := jsonObject("body", s)
	if err != nil {
		return nil, err
	}
	if err := bodyName(body, name); err != nil {
		return nil, err
	}
	body["displayName"] = name
	return body, nil
}

// --- reads shared by the tools ---

// listInfo builds a list's GET for a tenant.
type listInfo func(c *Client, ctx context.Context, tenant tierzero.TenantID) ([]json.RawMessage, error)

func caPoliciesInfo(c *Client, ctx context.Context, tenant tierzero.TenantID) ([]json.RawMessage, error) {
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, err
	}
	return c.rawList(ctx, tenant, get(ib.ConditionalAccess().Policies().ToGetRequestInformation(ctx, nil)))
}

func namedLocationsInfo(c *Client, ctx context.Context, tenant tierzero.TenantID) ([]json.RawMessage, error) {
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, err
	}
	return c.rawList(ctx, tenant, get(ib.ConditionalAccess().NamedLocations().ToGetRequestInformation(ctx, nil)))
}

func complianceInfo(c *Client, ctx context.Context, tenant tierzero.TenantID) ([]json.RawMessage, error) {
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, err
	}
	return c.rawList(ctx, tenant, get(dm.DeviceCompliancePolicies().ToGetRequestInformation(ctx, nil)))
}

// named is an object of a list found by display name.
type named struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// findNamed returns the ids of the objects whose display name is exactly
// name; an object whose name only looks like it (tierzero.FoldName: case,
// spaces, invisible characters, as the planner folds them) is a conflict
// for a person, never matched and never created beside.
func findNamed(c *Client, ctx context.Context, tenant tierzero.TenantID, list listInfo, name string) ([]string, error) {
	items, err := list(c, ctx, tenant)
	if err != nil {
		return nil, pageError("look up "+name, err)
	}
	var ids []string
	for _, raw := range items {
		var o named
		if json.Unmarshal(raw, &o) != nil || o.ID == "" || tierzero.FoldName(o.DisplayName) != tierzero.FoldName(name) {
			continue
		}
		if o.DisplayName != name {
			// A lookalike (case, spaces or invisible characters differ):
			// neither the same object nor room for a second one that a
			// person could not tell from it.
			return nil, tierzero.Errorf(tierzero.EConflict, "the tenant has %q, which looks like %q but is not the same name: a person must rename one of them (nothing was changed)",
				tierzero.PrintableLine(o.DisplayName), tierzero.PrintableLine(name))
		}
		ids = append(ids, o.ID)
	}
	return ids, nil
}

// oneNamed returns the id of the one object of that name, "" when there is
// none; two or more are refused: a person decides which is the baseline's.
// what names the objects in the plural.
func oneNamed(c *Client, ctx context.Context, tenant tierzero.TenantID, list listInfo, what, name string) (string, error) {
	ids, err := findNamed(c, ctx, tenant, list, name)
	switch {
	case err != nil:
		return "", err
	case len(ids) > 1:
		return "", tierzero.Errorf(tierzero.EConflict, "the tenant has %d %s named %q: a person must decide which one is the baseline's (nothing was changed)", len(ids), what, name)
	case len(ids) == 1:
		return ids[0], nil
	}
	return "", nil
}

// createdApplied: a create took effect when the one object of its name
// exists.
func createdApplied(list listInfo) func(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	return func(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
		a, err := decodeBaselineArgs(raw, "name")
		if err != nil {
			return false, err
		}
		ids, err := findNamed(c, ctx, tenant, list, a.Name)
		return len(ids) == 1, err
	}
}

// covers reports whether have holds everything want says: each key of an
// object (recursively), each element of a list in any order, each scalar
// equal. A null in want matches a null or an absent value.
func covers(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !covers(v, h[k]) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		used := make([]bool, len(h))
		for _, x := range w {
			i := slices.IndexFunc(h, func(y any) bool { return covers(x, y) })
			for i >= 0 && used[i] {
				j := slices.IndexFunc(h[i+1:], func(y any) bool { return covers(x, y) })
				if j < 0 {
					i = -1
					break
				}
				i += 1 + j
			}
			if i < 0 {
				return false
			}
			used[i] = true
		}
		return true
	case nil:
		return have == nil
	}
	return want == have
}

// entityJSON reads one object as generic JSON.
func entityJSON(raw json.RawMessage) map[string]any {
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

// --- baseline.plan and baseline.apply ---

type baselinePlanArgs struct {
	ImpactDays *int `json:"impact_days"`
}

// baselinePlan reads the tenant (BaselineDoc), has the configured baselines
// plan it, and for an enable phase reads each policy's sign-in impact.
func baselinePlan(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[baselinePlanArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	days := baselineDefaultImpactDays
	if a.ImpactDays != nil {
		days = *a.ImpactDays
	}
	if days < 1 || days > baselineMaxImpactDays {
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: impact_days must be 1 to %d", baselineMaxImpactDays)
	}
	plan, err := c.baselinePlanNow(ctx, tenant)
	if err != nil {
		return nil, noSecret, err
	}
	if err := c.BaselineImpact(ctx, tenant, &plan, days); err != nil {
		return nil, noSecret, err
	}
	out := baselinePlanOutput{BaselinePlan: plan, Plan: baselineApplyArgs{Phase: plan.Plan.Phase, Steps: plan.Plan.Steps}}
	if out.Plan.Steps == nil {
		out.Plan.Steps = []tierzero.PlanStepArg{}
	}
	if len(out.Plan.Steps) > 0 {
		out.Note = "Pass plan to " + tierzero.ActionBaselineApply + " unchanged; it is shown in full and approved once."
	}
	return out, noSecret, nil
}

// baselinePlanNow reads the tenant (BaselineDoc) and has the configured
// baselines plan it: the plan of now, without its sign-in impact.
func (c *Client) baselinePlanNow(ctx context.Context, tenant tierzero.TenantID) (tierzero.BaselinePlan, error) {
	b := c.cfg.Baselines
	if b == nil {
		return tierzero.BaselinePlan{}, tierzero.Errorf(tierzero.EUnavailable, "no baselines configured")
	}
	doc, err := c.BaselineDoc(ctx, tenant, b.UsersNamed(tenant))
	if err != nil {
		return tierzero.BaselinePlan{}, err
	}
	plan, err := b.PlanBaseline(doc)
	if err != nil {
		return tierzero.BaselinePlan{}, fmt.Errorf("plan the baseline: %w", err)
	}
	if plan.LeftToDo == nil {
		plan.LeftToDo = []string{}
	}
	return plan, nil
}

// baselinePlanOutput is what baseline.plan returns: the tenant's
// tierzero.BaselinePlan, whose plan is exactly baseline.apply's arguments
// (a phase and its steps: no user key, which its schema does not have).
type baselinePlanOutput struct {
	tierzero.BaselinePlan
	Plan baselineApplyArgs `json:"plan"`
	Note string            `json:"note,omitempty"`
}

// baselineApplyArgs are baseline.apply's arguments.
type baselineApplyArgs struct {
	Phase tierzero.BaselinePhase `json:"phase,omitempty"`
	Steps []tierzero.PlanStepArg `json:"steps"`
}

// baselineApplyRecord records an approved baseline plan: it changes nothing
// in Graph; each step then runs through the Guard on its own. A plan call
// is the model's copy of baseline.plan's answer, and a fooled model could
// change a step, or the label the approver read (a policy that blocks
// everyone, labelled "require MFA"). So this, which runs once the plan is
// approved and before any of its steps (the desk starts the steps only
// when it succeeds), reads the tenant and plans it again, and refuses the
// plan unless it is the plan of now, step for step (planDiffers).
func baselineApplyRecord(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	p, err := tierzero.DecodePlanArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	if p.Phase == "" {
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "a baseline plan names its phase")
	}
	why, err := c.baselinePlanDiffers(ctx, tenant, p)
	if err != nil {
		return nil, noSecret, err
	}
	if why != "" {
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict,
			"this baseline plan is not the one the tenant's baseline gives now (%s): plan again with %s and propose its plan unchanged (nothing was run)", why, tierzero.ActionBaselinePlan)
	}
	return map[string]any{"phase": p.Phase, "steps": len(p.Steps), "status": "accepted: each step runs on its own, decided by policy"}, noSecret, nil
}

// baselineApplyApplied: a baseline plan call sends nothing to Graph; it
// ran when it would be accepted now. A process that stopped while it ran
// (its intent open) starts the plan only if the plan is still the
// planner's: otherwise it did not apply, and no step runs.
func baselineApplyApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	p, err := tierzero.DecodePlanArgs(raw)
	if err != nil {
		return false, err
	}
	why, err := c.baselinePlanDiffers(ctx, tenant, p)
	return err == nil && why == "", err
}

// baselinePlanDiffers plans the tenant now and says how plan differs from
// the phase due now ("" when it does not).
func (c *Client) baselinePlanDiffers(ctx context.Context, tenant tierzero.TenantID, plan tierzero.PlanArgs) (string, error) {
	now, err := c.baselinePlanNow(ctx, tenant)
	if err != nil {
		return "", err
	}
	return planDiffers(plan, now.Plan), nil
}

// planDiffers says how the steps of a proposed baseline plan differ from
// the planner's plan of now ("" when they do not). Each step must be the
// planner's step at its place: the same action, canonical arguments, stop
// and label. An enable step of an enable phase carries, after the
// planner's label, its sign-in impact as baseline.plan writes it
// (impactLabel), and nothing else. A plan with a step left out is refused
// too: the steps of a phase go together (security defaults switched off
// without the policies that replace them leave the tenant less protected).
func planDiffers(got, now tierzero.PlanArgs) string {
	switch {
	case len(now.Steps) == 0:
		return "the tenant has nothing to apply now"
	case got.Phase != now.Phase:
		return fmt.Sprintf("it is of the %s phase, and the phase due now is %s", got.Phase, now.Phase)
	}
	var why []string
	if len(got.Steps) != len(now.Steps) {
		why = append(why, fmt.Sprintf("it has %s, and the plan of now %d", plural(len(got.Steps), "step"), len(now.Steps)))
	}
	for i := range min(len(got.Steps), len(now.Steps)) {
		g, n := got.Steps[i], now.Steps[i]
		gc, gerr := g.Call("")
		nc, nerr := n.Call("")
		switch {
		case g.Action != n.Action:
			why = append(why, fmt.Sprintf("step %d is %s, where the planner has %s", i+1, g.Action, n.Action))
		case gerr != nil || nerr != nil || string(gc.Args) != string(nc.Args):
			why = append(why, fmt.Sprintf("step %d (%s) has arguments other than the planner's", i+1, g.Action))
		case g.Stop != n.Stop:
			why = append(why, fmt.Sprintf("step %d (%s) differs in whether its failure stops the rest", i+1, g.Action))
		case now.Phase == tierzero.BaselineEnable && n.Action == ActionBaselineEnableCAPolicy:
			if !impactLabel(g.Label, n.Label) {
				why = append(why, fmt.Sprintf("step %d's label is not the planner's %q followed by its sign-in impact", i+1, n.Label))
			}
		case g.Label != n.Label:
			why = append(why, fmt.Sprintf("step %d's label is not the planner's %q", i+1, n.Label))
		}
	}
	if len(why) > 3 {
		why = append(why[:3], fmt.Sprintf("%d more differences", len(why)-3))
	}
	return strings.Join(why, "; ")
}

// --- named locations ---

func createNamedLocation(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "name", "body")
	if err != nil {
		return nil, noSecret, err
	}
	m, err := parseModel[models.NamedLocationable]("body", a.Body, models.CreateNamedLocationFromDiscriminatorValue)
	if err != nil {
		return nil, noSecret, err
	}
	body, err := createBody(a.Body, a.Name)
	if err != nil {
		return nil, noSecret, err
	}
	id, err := oneNamed(c, ctx, tenant, namedLocationsInfo, "named locations", a.Name)
	if err != nil || id != "" {
		return created(a.Name, id, false), noSecret, err
	}
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	info, err := ib.ConditionalAccess().NamedLocations().ToPostRequestInformation(ctx, m, nil)
	got, err := c.sendRaw(ctx, tenant, info, err, body)
	if err != nil {
		return nil, noSecret, graphError("create named location", err)
	}
	return created(a.Name, createdID(got), true), noSecret, nil
}

func created(name, id string, made bool) map[string]any {
	out := map[string]any{"name": name, "id": id, "created": made}
	if !made {
		out["note"] = "it exists already: nothing was sent"
	}
	return out
}

// --- Conditional Access policies ---

func createCAPolicy(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "name", "body")
	if err != nil {
		return nil, noSecret, err
	}
	m, err := parseModel[models.ConditionalAccessPolicyable]("body", a.Body, models.CreateConditionalAccessPolicyFromDiscriminatorValue)
	if err != nil {
		return nil, noSecret, err
	}
	if s := m.GetState(); s == nil || s.String() != caReportOnly {
		return nil, noSecret, tierzero.Errorf(tierzero.EDenied,
			"a Conditional Access policy is created report-only (state %s) and switched on by a separate approved step: this body would create it in another state (nothing was sent)", caReportOnly)
	}
	body, err := createBody(a.Body, a.Name)
	if err != nil {
		return nil, noSecret, err
	}
	if err := caLockout(a.Name, body); err != nil {
		return nil, noSecret, err
	}
	id, err := oneNamed(c, ctx, tenant, caPoliciesInfo, "Conditional Access policies", a.Name)
	if err != nil || id != "" {
		return created(a.Name, id, false), noSecret, err
	}
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	info, err := ib.ConditionalAccess().Policies().ToPostRequestInformation(ctx, m, nil)
	got, err := c.sendRaw(ctx, tenant, info, err, body)
	if err != nil {
		return nil, noSecret, graphError("create Conditional Access policy", err)
	}
	out := created(a.Name, createdID(got), true)
	out["state"] = caReportOnly
	return out, noSecret, nil
}

// caLockout refuses a Conditional Access policy that could lock everyone
// out, the break-glass accounts too, whatever plan or label it came with:
// one that blocks access (grant control block) for all users
// (includeUsers All) and excludes no user and no group. p is the policy
// as Graph's JSON.
// https://learn.microsoft.com/entra/identity/role-based-access-control/security-emergency-access
func caLockout(name string, p map[string]any) error {
	grant, _ := p["grantControls"].(map[string]any)
	cond, _ := p["conditions"].(map[string]any)
	users, _ := cond["users"].(map[string]any)
	has := func(list any, want string) bool {
		l, _ := list.([]any)
		return slices.ContainsFunc(l, func(v any) bool { s, _ := v.(string); return strings.EqualFold(s, want) })
	}
	excluded := func(list any) bool {
		l, _ := list.([]any)
		return slices.ContainsFunc(l, func(v any) bool {
			s, _ := v.(string)
			// GuestsOrExternalUsers excludes guests, never an account of
			// the tenant's own.
			return strings.TrimSpace(s) != "" && !strings.EqualFold(s, "GuestsOrExternalUsers")
		})
	}
	if !has(grant["builtInControls"], "block") || !has(users["includeUsers"], "All") ||
		excluded(users["excludeUsers"]) || excluded(users["excludeGroups"]) {
		return nil
	}
	return tierzero.Errorf(tierzero.EDenied, "the Conditional Access policy %q would block all users and exclude no user or group, "+
		"so it could lock everyone out, the break-glass accounts too: exclude them (the baseline's break-glass group) first (nothing was sent)", name)
}

// caPolicy reads one policy and checks it is the one the step names.
func caPolicy(c *Client, ctx context.Context, tenant tierzero.TenantID, id, name string) (map[string]any, error) {
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, err
	}
	raw, err := c.rawEntity(ctx, tenant, get(ib.ConditionalAccess().Policies().ByConditionalAccessPolicyId(id).ToGetRequestInformation(ctx, nil)))
	if err != nil {
		if isStatus(err, 404) {
			return nil, tierzero.Errorf(tierzero.ENotFound, "the Conditional Access policy %q (%s) no longer exists", name, id)
		}
		return nil, graphError("read Conditional Access policy", err)
	}
	p := entityJSON(raw)
	if n, _ := p["displayName"].(string); n != name {
		return nil, tierzero.Errorf(tierzero.EConflict, "the Conditional Access policy %s is now named %q, not %q: plan again (nothing was changed)", id, n, name)
	}
	return p, nil
}

// caUpdateBody parses an update's body: conditions and grant controls, and
// never the state.
func caUpdateBody(a baselineArgs) (models.ConditionalAccessPolicyable, map[string]any, error) {
	m, err := parseModel[models.ConditionalAccessPolicyable]("body", a.Body, models.CreateConditionalAccessPolicyFromDiscriminatorValue)
	if err != nil {
		return nil, nil, err
	}
	body, _ := jsonObject("body", a.Body)
	if _, ok := body["state"]; ok || m.GetState() != nil {
		return nil, nil, tierzero.Errorf(tierzero.EDenied, "an update never sets a Conditional Access policy's state: baseline.enable_ca_policy switches a report-only policy on (nothing was sent)")
	}
	if err := bodyName(body, a.Name); err != nil {
		return nil, nil, err
	}
	if _, ok := body["id"]; ok {
		return nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: the body must not set id")
	}
	return m, body, nil
}

func updateCAPolicy(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "body")
	if err != nil {
		return nil, noSecret, err
	}
	m, body, err := caUpdateBody(a)
	if err != nil {
		return nil, noSecret, err
	}
	cur, err := caPolicy(c, ctx, tenant, a.ID, a.Name)
	if err != nil {
		return nil, noSecret, err
	}
	// The policy as it would be: a PATCH replaces each property it sets.
	after := maps.Clone(cur)
	maps.Copy(after, body)
	if err := caLockout(a.Name, after); err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"id": a.ID, "name": a.Name, "state": cur["state"]}
	if covers(body, cur) {
		out["updated"], out["note"] = false, "it is already so: nothing was sent"
		return out, noSecret, nil
	}
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	info, err := ib.ConditionalAccess().Policies().ByConditionalAccessPolicyId(a.ID).ToPatchRequestInformation(ctx, m, nil)
	if _, err := c.sendRaw(ctx, tenant, info, err, body); err != nil {
		return nil, noSecret, graphError("update Conditional Access policy", err)
	}
	out["updated"] = true
	return out, noSecret, nil
}

func updateCAApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "body")
	if err != nil {
		return false, err
	}
	_, body, err := caUpdateBody(a)
	if err != nil {
		return false, err
	}
	cur, err := caPolicy(c, ctx, tenant, a.ID, a.Name)
	if err != nil {
		return false, err
	}
	return covers(body, cur), nil
}

// enableCAPolicy switches a report-only policy on; one already on is done
// (nothing sent); one in another state (disabled) is refused. The policy
// switched on must be the one the plan read, whose sign-in impact the
// approver saw: its modifiedDateTime (else createdDateTime), which Graph
// moves on every change, must be the plan's ("modified"), or nothing is
// sent and the step is refused as a conflict (a policy changed between the
// proposal and the run, its conditions or session controls say, is planned
// again). And a policy that could lock everyone out is never switched on,
// as it is never created or updated so (caLockout).
func enableCAPolicy(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "modified")
	if err != nil {
		return nil, noSecret, err
	}
	cur, err := caPolicy(c, ctx, tenant, a.ID, a.Name)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"id": a.ID, "name": a.Name, "state": caEnabled}
	switch cur["state"] {
	case caEnabled:
		// Nothing is switched on here. Switching on moves the policy's
		// modifiedDateTime, so one on already (by an earlier attempt of
		// this step, or by someone) no longer carries the plan's.
		out["note"] = "it is on already: nothing was sent"
		return out, noSecret, nil
	case caReportOnly:
	default:
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "the Conditional Access policy %q is %v, not report-only: only a report-only policy, whose impact was reviewed, is switched on (nothing was changed)", a.Name, cur["state"])
	}
	if err := caUnchanged(a, cur); err != nil {
		return nil, noSecret, err
	}
	if err := caLockout(a.Name, cur); err != nil {
		return nil, noSecret, err
	}
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	m := models.NewConditionalAccessPolicy()
	on := models.ENABLED_CONDITIONALACCESSPOLICYSTATE
	m.SetState(&on)
	if _, err := ib.ConditionalAccess().Policies().ByConditionalAccessPolicyId(a.ID).Patch(ctx, m, nil); err != nil {
		return nil, noSecret, graphError("switch on Conditional Access policy", err)
	}
	return out, noSecret, nil
}

// enableCAApplied reads an enable step back: on is applied (switching on
// moves the policy's modifiedDateTime, so it cannot be held to the plan's);
// report-only as the plan read it is not; report-only but changed since the
// plan is a conflict, as enableCAPolicy would refuse it.
func enableCAApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "modified")
	if err != nil {
		return false, err
	}
	cur, err := caPolicy(c, ctx, tenant, a.ID, a.Name)
	if err != nil {
		return false, err
	}
	if cur["state"] == caEnabled {
		return true, nil
	}
	return false, caUnchanged(a, cur)
}

// caStamp is a policy's modifiedDateTime as Graph gives it, else its
// createdDateTime, else "": what an enable step's "modified" holds.
func caStamp(p map[string]any) string {
	for _, k := range []string{"modifiedDateTime", "createdDateTime"} {
		if v, ok := p[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// caUnchanged refuses a policy whose stamp (caStamp) is not the plan's:
// byte-equal, or the same instant written otherwise.
func caUnchanged(a baselineArgs, cur map[string]any) error {
	now, then := caStamp(cur), ""
	if a.Modified != nil {
		then = *a.Modified
	}
	if now == then {
		return nil
	}
	t1, err1 := time.Parse(time.RFC3339Nano, now)
	t2, err2 := time.Parse(time.RFC3339Nano, then)
	if err1 == nil && err2 == nil && t1.Equal(t2) {
		return nil
	}
	orNone := func(s string) string {
		if s == "" {
			return "no time"
		}
		return s
	}
	return tierzero.Errorf(tierzero.EConflict, "the Conditional Access policy %q changed since the plan (modified %s, the plan read %s): "+
		"its sign-in impact and what was approved are of the policy as it was: plan again (nothing was changed)", a.Name, orNone(now), orNone(then))
}

// --- security defaults ---

func securityDefaults(c *Client, ctx context.Context, tenant tierzero.TenantID) (bool, error) {
	pb, err := c.policiesBuilder(tenant)
	if err != nil {
		return false, err
	}
	raw, err := c.rawEntity(ctx, tenant, get(pb.IdentitySecurityDefaultsEnforcementPolicy().ToGetRequestInformation(ctx, nil)))
	if err != nil {
		return false, graphError("read security defaults", err)
	}
	on, ok := entityJSON(raw)["isEnabled"].(bool)
	if !ok {
		return false, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph did not say whether security defaults are on")
	}
	return on, nil
}

func setSecurityDefaults(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "enabled")
	if err != nil {
		return nil, noSecret, err
	}
	on, err := securityDefaults(c, ctx, tenant)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"enabled": *a.Enabled}
	if on == *a.Enabled {
		out["note"] = "they are so already: nothing was sent"
		return out, noSecret, nil
	}
	pb, err := c.policiesBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	m := models.NewIdentitySecurityDefaultsEnforcementPolicy()
	m.SetIsEnabled(a.Enabled)
	if _, err := pb.IdentitySecurityDefaultsEnforcementPolicy().Patch(ctx, m, nil); err != nil {
		return nil, noSecret, graphError("set security defaults", err)
	}
	return out, noSecret, nil
}

func securityDefaultsApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "enabled")
	if err != nil {
		return false, err
	}
	on, err := securityDefaults(c, ctx, tenant)
	return err == nil && on == *a.Enabled, err
}

// --- authentication methods policy ---

func authMethodBody(a baselineArgs) (models.AuthenticationMethodConfigurationable, map[string]any, error) {
	if !slices.Contains(baselineAuthMethods, a.ID) {
		return nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: id must be one of %s", strings.Join(baselineAuthMethods, ", "))
	}
	m, err := parseModel[models.AuthenticationMethodConfigurationable]("body", a.Body, models.CreateAuthenticationMethodConfigurationFromDiscriminatorValue)
	if err != nil {
		return nil, nil, err
	}
	body, _ := jsonObject("body", a.Body)
	if _, ok := body["@odata.type"].(string); !ok {
		return nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: the body carries the configuration's @odata.type, as Graph requires")
	}
	if id, ok := body["id"]; ok && id != a.ID {
		return nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: the body's id is not %s", a.ID)
	}
	delete(body, "id")
	return m, body, nil
}

func authMethod(c *Client, ctx context.Context, tenant tierzero.TenantID, id string) (map[string]any, error) {
	pb, err := c.policiesBuilder(tenant)
	if err != nil {
		return nil, err
	}
	raw, err := c.rawEntity(ctx, tenant, get(pb.AuthenticationMethodsPolicy().AuthenticationMethodConfigurations().ByAuthenticationMethodConfigurationId(id).ToGetRequestInformation(ctx, nil)))
	if err != nil {
		return nil, graphError("read authentication method "+id, err)
	}
	return entityJSON(raw), nil
}

func setAuthMethod(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "id", "body")
	if err != nil {
		return nil, noSecret, err
	}
	m, body, err := authMethodBody(a)
	if err != nil {
		return nil, noSecret, err
	}
	cur, err := authMethod(c, ctx, tenant, a.ID)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"id": a.ID, "updated": false}
	if covers(body, cur) {
		out["note"] = "it is already so: nothing was sent"
		return out, noSecret, nil
	}
	pb, err := c.policiesBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	// id is the path's, read-only in the body (authMethodBody removed it)
	info, err := pb.AuthenticationMethodsPolicy().AuthenticationMethodConfigurations().ByAuthenticationMethodConfigurationId(a.ID).ToPatchRequestInformation(ctx, m, nil)
	if _, err := c.sendRaw(ctx, tenant, info, err, body); err != nil {
		return nil, noSecret, graphError("set authentication method "+a.ID, err)
	}
	out["updated"] = true
	return out, noSecret, nil
}

func authMethodApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "id", "body")
	if err != nil {
		return false, err
	}
	_, body, err := authMethodBody(a)
	if err != nil {
		return false, err
	}
	cur, err := authMethod(c, ctx, tenant, a.ID)
	return err == nil && covers(body, cur), err
}

// --- Intune compliance policies ---

// complianceBody parses a compliance policy's body; a create needs its
// @odata.type (the platform) and scheduledActionsForRule, as Graph does.
// The first body is the one to send, the second the one to compare with
// the policy read back.
func complianceBody(a baselineArgs, create bool) (models.DeviceCompliancePolicyable, map[string]any, map[string]any, error) {
	m, err := parseModel[models.DeviceCompliancePolicyable]("body", a.Body, models.CreateDeviceCompliancePolicyFromDiscriminatorValue)
	if err != nil {
		return nil, nil, nil, err
	}
	body, _ := jsonObject("body", a.Body)
	if create {
		body["displayName"] = a.Name
	}
	if _, ok := body["@odata.type"].(string); create && !ok {
		return nil, nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: a compliance policy's body carries its @odata.type (the platform's policy type)")
	}
	if create && len(m.GetScheduledActionsForRule()) == 0 {
		return nil, nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: a new compliance policy's body carries scheduledActionsForRule, as Graph requires")
	}
	if err := bodyName(body, a.Name); err != nil {
		return nil, nil, nil, err
	}
	if _, ok := body["id"]; ok {
		return nil, nil, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: the body must not set id")
	}
	// Graph does not return the scheduled actions with the policy: the
	// read-back compares the settings.
	compare, _ := jsonObject("body", a.Body)
	delete(compare, "scheduledActionsForRule")
	return m, body, compare, nil
}

// complianceAssignments parses an assignments body ({"assignments":[...]})
// and returns it with the set of its targets.
func complianceAssignments(s string) (assignBody, []string, error) {
	m, err := parseModel[devicemanagement.DeviceCompliancePoliciesItemAssignPostRequestBodyable]("assignments", s, devicemanagement.CreateDeviceCompliancePoliciesItemAssignPostRequestBodyFromDiscriminatorValue)
	if err != nil {
		return assignBody{}, nil, err
	}
	if m.GetAssignments() == nil {
		return assignBody{}, nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: assignments is {\"assignments\":[...]}")
	}
	var raw struct {
		Assignments []json.RawMessage `json:"assignments"`
	}
	json.Unmarshal([]byte(s), &raw)
	targets, err := assignmentTargets(raw.Assignments)
	body, _ := jsonObject("assignments", s)
	return assignBody{m, body}, targets, err
}

// assignBody is an assignment's body: the model (for the request builder)
// and the JSON sent.
type assignBody struct {
	model devicemanagement.DeviceCompliancePoliciesItemAssignPostRequestBodyable
	body  map[string]any
}

// assignmentTargets returns the sorted keys (type and group) of a list of
// assignments' targets.
func assignmentTargets(list []json.RawMessage) ([]string, error) {
	out := []string{}
	for _, raw := range list {
		var a struct {
			Target struct {
				Type    string `json:"@odata.type"`
				GroupID string `json:"groupId"`
			} `json:"target"`
		}
		if json.Unmarshal(raw, &a) != nil || a.Target.Type == "" {
			return nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: every assignment names its target's @odata.type")
		}
		out = append(out, strings.ToLower(a.Target.Type+" "+a.Target.GroupID))
	}
	slices.Sort(out)
	return out, nil
}

// complianceTargets reads a policy's assignments' targets.
func complianceTargets(c *Client, ctx context.Context, tenant tierzero.TenantID, id string) ([]string, error) {
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, err
	}
	list, err := c.rawList(ctx, tenant, get(dm.DeviceCompliancePolicies().ByDeviceCompliancePolicyId(id).Assignments().ToGetRequestInformation(ctx, nil)))
	if err != nil {
		return nil, pageError("read compliance policy assignments", err)
	}
	return assignmentTargets(list)
}

// assignTo replaces a policy's assignments, unless they are those already;
// it reports whether it sent them.
func assignTo(c *Client, ctx context.Context, tenant tierzero.TenantID, id string, body assignBody, targets []string) (bool, error) {
	have, err := complianceTargets(c, ctx, tenant, id)
	if err != nil {
		return false, err
	}
	if slices.Equal(have, targets) {
		return false, nil
	}
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return false, err
	}
	info, err := dm.DeviceCompliancePolicies().ByDeviceCompliancePolicyId(id).Assign().ToPostRequestInformation(ctx, body.model, nil)
	if _, err := c.sendRaw(ctx, tenant, info, err, body.body); err != nil {
		return false, graphError("assign compliance policy", err)
	}
	return true, nil
}

// createCompliance creates the policy unless one of its name exists, then
// assigns it: run again after a crash between the two, it finds the policy
// and assigns it.
func createCompliance(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "name", "body", "assignments")
	if err != nil {
		return nil, noSecret, err
	}
	m, body, _, err := complianceBody(a, true)
	if err != nil {
		return nil, noSecret, err
	}
	assign, targets, err := complianceAssignments(a.Assignments)
	if err != nil {
		return nil, noSecret, err
	}
	id, err := oneNamed(c, ctx, tenant, complianceInfo, "compliance policies", a.Name)
	if err != nil {
		return nil, noSecret, err
	}
	out := created(a.Name, id, false)
	if id == "" {
		dm, err := c.deviceManagement(tenant)
		if err != nil {
			return nil, noSecret, err
		}
		info, err := dm.DeviceCompliancePolicies().ToPostRequestInformation(ctx, m, nil)
		got, err := c.sendRaw(ctx, tenant, info, err, body)
		if err != nil {
			return nil, noSecret, graphError("create compliance policy", err)
		}
		if id = createdID(got); checkRef("policy id", id) != nil {
			return nil, noSecret, unknownOutcome(ActionBaselineCreateCompliance, fmt.Errorf("no policy id in the answer"))
		}
		out = created(a.Name, id, true)
	}
	sent, err := assignTo(c, ctx, tenant, id, assign, targets)
	if err != nil {
		return nil, noSecret, err
	}
	out["assigned"], out["assignments"] = sent, len(targets)
	return out, noSecret, nil
}

func createComplianceApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "name", "assignments")
	if err != nil {
		return false, err
	}
	_, targets, err := complianceAssignments(a.Assignments)
	if err != nil {
		return false, err
	}
	ids, err := findNamed(c, ctx, tenant, complianceInfo, a.Name)
	if err != nil || len(ids) != 1 {
		return false, err
	}
	have, err := complianceTargets(c, ctx, tenant, ids[0])
	return err == nil && slices.Equal(have, targets), err
}

// compliancePolicy reads one policy and checks it is the one the step
// names.
func compliancePolicy(c *Client, ctx context.Context, tenant tierzero.TenantID, id, name string) (map[string]any, error) {
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, err
	}
	raw, err := c.rawEntity(ctx, tenant, get(dm.DeviceCompliancePolicies().ByDeviceCompliancePolicyId(id).ToGetRequestInformation(ctx, nil)))
	if err != nil {
		if isStatus(err, 404) {
			return nil, tierzero.Errorf(tierzero.ENotFound, "the compliance policy %q (%s) no longer exists", name, id)
		}
		return nil, graphError("read compliance policy", err)
	}
	p := entityJSON(raw)
	if n, _ := p["displayName"].(string); n != name {
		return nil, tierzero.Errorf(tierzero.EConflict, "the compliance policy %s is now named %q, not %q: plan again (nothing was changed)", id, n, name)
	}
	return p, nil
}

func updateCompliance(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "body")
	if err != nil {
		return nil, noSecret, err
	}
	m, body, compare, err := complianceBody(a, false)
	if err != nil {
		return nil, noSecret, err
	}
	cur, err := compliancePolicy(c, ctx, tenant, a.ID, a.Name)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"id": a.ID, "name": a.Name, "updated": false}
	if covers(compare, cur) {
		out["note"] = "it is already so: nothing was sent"
		return out, noSecret, nil
	}
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	info, err := dm.DeviceCompliancePolicies().ByDeviceCompliancePolicyId(a.ID).ToPatchRequestInformation(ctx, m, nil)
	if _, err := c.sendRaw(ctx, tenant, info, err, body); err != nil {
		return nil, noSecret, graphError("update compliance policy", err)
	}
	out["updated"] = true
	return out, noSecret, nil
}

func updateComplianceApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "body")
	if err != nil {
		return false, err
	}
	_, _, compare, err := complianceBody(a, false)
	if err != nil {
		return false, err
	}
	cur, err := compliancePolicy(c, ctx, tenant, a.ID, a.Name)
	return err == nil && covers(compare, cur), err
}

func assignCompliance(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "assignments")
	if err != nil {
		return nil, noSecret, err
	}
	assign, targets, err := complianceAssignments(a.Assignments)
	if err != nil {
		return nil, noSecret, err
	}
	if _, err := compliancePolicy(c, ctx, tenant, a.ID, a.Name); err != nil {
		return nil, noSecret, err
	}
	sent, err := assignTo(c, ctx, tenant, a.ID, assign, targets)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"id": a.ID, "name": a.Name, "assigned": sent, "assignments": len(targets)}
	if !sent {
		out["note"] = "it is assigned so already: nothing was sent"
	}
	return out, noSecret, nil
}

func assignComplianceApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeBaselineArgs(raw, "id", "name", "assignments")
	if err != nil {
		return false, err
	}
	_, targets, err := complianceAssignments(a.Assignments)
	if err != nil {
		return false, err
	}
	have, err := complianceTargets(c, ctx, tenant, a.ID)
	return err == nil && slices.Equal(have, targets), err
}
