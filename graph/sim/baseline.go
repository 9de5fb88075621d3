package sim

// This file: the tenant-level resources a security baseline is made of
// (issue 22): Conditional Access policies and named locations, security
// defaults, the authentication methods policy, and Intune device compliance
// policies with their assignments.
//
// Gates, as Graph applies them:
//
//   - the app's permissions: an application token must carry one of the
//     permissions each API's page lists (Policy.Read.All to read the
//     policies; Policy.ReadWrite.ConditionalAccess,
//     Policy.ReadWrite.SecurityDefaults, Policy.ReadWrite.AuthenticationMethod
//     to write them; DeviceManagementConfiguration.Read.All or ReadWrite.All
//     for Intune). The simulator's tokens carry no scopes, so each tenant
//     holds the permissions consented to tierzero's app (all of these when
//     seeded; SetAppPermissions replaces them). Entra answers a missing one
//     403 AccessDenied, Intune 403 Forbidden naming the scopes;
//   - licences: Conditional Access needs Entra ID P1 (needP1, the sign-in
//     logs' gate), compliance policies need Intune (INTUNE_A);
//   - security defaults and Conditional Access exclude each other: Graph
//     refuses to create or switch on a policy in state enabled while
//     security defaults are on (400 "Security Defaults is enabled in the
//     tenant. You must disable Security defaults before enabling a
//     Conditional Access policy.", as publicly reported,
//     j0eyv/ConditionalAccessBaseline#17); report-only and disabled policies
//     are accepted. The reverse (switching security defaults on while a
//     policy is enabled) is refused by the admin center ("If you're using
//     Conditional Access and have Conditional Access policies enabled ...
//     security defaults won't be available to you"); Graph's answer is not
//     documented, and the simulator refuses it the same way, 400 BadRequest.
//
// Compliance policies are stored here, seeded from the built-in ones that
// judge the tenant's devices (compliancePolicies, devices.go); the devices'
// compliance is still judged by those built-in settings, not by the stored
// policies, so a created, changed or deleted policy changes no device's
// complianceState.
//
// Writes are journalled by serveGraph like every other write. The state
// lives beside the tenant (baselineStates), guarded by Server.mu.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

var baselineRoutes = []route{
	{http.MethodGet, "identity/conditionalAccess/policies", (*Server).listCAPolicies},
	{http.MethodPost, "identity/conditionalAccess/policies", (*Server).createCAPolicy},
	{http.MethodGet, "identity/conditionalAccess/policies/{policy}", (*Server).getCAPolicy},
	{http.MethodPatch, "identity/conditionalAccess/policies/{policy}", (*Server).patchCAPolicy},
	{http.MethodDelete, "identity/conditionalAccess/policies/{policy}", (*Server).deleteCAPolicy},
	{http.MethodGet, "identity/conditionalAccess/namedLocations", (*Server).listNamedLocations},
	{http.MethodPost, "identity/conditionalAccess/namedLocations", (*Server).createNamedLocation},
	{http.MethodGet, "identity/conditionalAccess/namedLocations/{location}", (*Server).getNamedLocation},
	{http.MethodDelete, "identity/conditionalAccess/namedLocations/{location}", (*Server).deleteNamedLocation},
	{http.MethodGet, "policies/identitySecurityDefaultsEnforcementPolicy", (*Server).getSecurityDefaults},
	{http.MethodPatch, "policies/identitySecurityDefaultsEnforcementPolicy", (*Server).patchSecurityDefaults},
	{http.MethodGet, "policies/authenticationMethodsPolicy", (*Server).getAuthMethodsPolicy},
	{http.MethodGet, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{config}", (*Server).getAuthMethodConfig},
	{http.MethodPatch, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{config}", (*Server).patchAuthMethodConfig},
	{http.MethodGet, "deviceManagement/deviceCompliancePolicies", (*Server).listCompliancePolicies},
	{http.MethodPost, "deviceManagement/deviceCompliancePolicies", (*Server).createCompliancePolicy},
	{http.MethodGet, "deviceManagement/deviceCompliancePolicies/{compliance}", (*Server).getCompliancePolicy},
	{http.MethodPatch, "deviceManagement/deviceCompliancePolicies/{compliance}", (*Server).patchCompliancePolicy},
	{http.MethodDelete, "deviceManagement/deviceCompliancePolicies/{compliance}", (*Server).deleteCompliancePolicy},
	{http.MethodGet, "deviceManagement/deviceCompliancePolicies/{compliance}/assignments", (*Server).listComplianceAssignments},
	{http.MethodPost, "deviceManagement/deviceCompliancePolicies/{compliance}/assign", (*Server).assignCompliancePolicy},
}

// The application permissions the baseline APIs check.
const (
	permPolicyRead       = "Policy.Read.All"
	permCAWrite          = "Policy.ReadWrite.ConditionalAccess"
	permSecDefaultsWrite = "Policy.ReadWrite.SecurityDefaults"
	permAuthMethodsRead  = "Policy.Read.AuthenticationMethod"
	permAuthMethodsWrite = "Policy.ReadWrite.AuthenticationMethod"
	permIntuneRead       = "DeviceManagementConfiguration.Read.All"
	permIntuneWrite      = "DeviceManagementConfiguration.ReadWrite.All"
)

// seededAppPermissions are the permissions the seeded tenants consented to
// tierzero's app for the baseline.
var seededAppPermissions = []string{permPolicyRead, permCAWrite, permSecDefaultsWrite, permAuthMethodsWrite, permIntuneRead, permIntuneWrite}

// baselineState is one tenant's baseline resources. Objects are kept as
// Graph's JSON (maps), in creation order.
type baselineState struct {
	perms            []string
	securityDefaults bool
	caPolicies       []map[string]any
	namedLocations   []map[string]any
	authMethods      []map[string]any // authenticationMethodConfigurations
	authModified     string
	compliance       []map[string]any
	assignments      map[string][]map[string]any // compliance policy id -> assignments
	// caHistory is every version each Conditional Access policy had, in
	// the order written (nil: deleted), which sign-ins are evaluated
	// against (baseline_signins.go); day is the seeded last day of
	// sign-ins PassDay replays, each at its age then; days counts the
	// days passed.
	caHistory []caVersion
	day       []signIn
	dayAges   []time.Duration
	days      int
}

var baselineStates sync.Map // *tenant -> *baselineState

// baseline returns t's baseline state (empty until seeded).
func (t *tenant) baseline() *baselineState {
	v, _ := baselineStates.LoadOrStore(t, &baselineState{assignments: map[string][]map[string]any{}})
	return v.(*baselineState)
}

// SetAppPermissions replaces the application permissions consented to
// tierzero's app in tenant, as the baseline APIs check them.
func (s *Server) SetAppPermissions(tenant string, perms []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	t.baseline().perms = slices.Clone(perms)
	return nil
}

// BaselineState is a tenant's baseline resources as the state shows them.
type BaselineState struct {
	SecurityDefaults   bool             `json:"securityDefaults"`
	ConditionalAccess  []map[string]any `json:"conditionalAccessPolicies"`
	NamedLocations     []map[string]any `json:"namedLocations"`
	AuthMethods        []map[string]any `json:"authenticationMethodConfigurations"`
	CompliancePolicies []map[string]any `json:"deviceCompliancePolicies"`
}

// Baseline returns a copy of tenant's baseline resources, and false for an
// unknown tenant.
func (s *Server) Baseline(tenant string) (BaselineState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return BaselineState{}, false
	}
	return t.baseline().snapshot(), true
}

// snapshot copies b for the state. Called with Server.mu held.
func (b *baselineState) snapshot() BaselineState {
	return BaselineState{SecurityDefaults: b.securityDefaults, ConditionalAccess: copies(b.caPolicies),
		NamedLocations: copies(b.namedLocations), AuthMethods: copies(b.authMethods), CompliancePolicies: copies(b.compliance)}
}

// copies deep-copies a list of JSON objects.
func copies(in []map[string]any) []map[string]any {
	out := make([]map[string]any, len(in))
	for i, o := range in {
		out[i] = deepCopy(o)
	}
	return out
}

// deepCopy copies a JSON object through encoding/json.
func deepCopy(o map[string]any) map[string]any {
	raw, _ := json.Marshal(o)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// needPerm checks that an application caller holds one of perms; delegated
// callers are checked by their roles (authorize, app.go). intune selects
// Intune's error.
func needPerm(c *call, intune bool, perms ...string) reply {
	if callerOf(c.r).delegated() {
		return reply{}
	}
	held := c.t.baseline().perms
	if slices.ContainsFunc(perms, func(p string) bool { return slices.Contains(held, p) }) {
		return reply{}
	}
	if intune {
		return fail(http.StatusForbidden, "Forbidden", "Application is not authorized to perform this operation. Application must have one of the following scopes: "+strings.Join(perms, ", "))
	}
	return fail(http.StatusForbidden, "AccessDenied", "You cannot perform the requested operation, required scopes are missing in the token.")
}

// caGate checks a Conditional Access request: permission, then Entra ID P1.
// Reading policies needs Policy.Read.All ("Higher privileged permissions:
// Not available", conditionalaccesspolicy-get): the write permission alone
// does not read them. Named locations also read with the write permission.
func caGate(c *call, write bool) reply {
	perms := []string{permPolicyRead}
	switch {
	case write:
		perms = []string{permCAWrite}
	case len(c.segs) > 2 && c.segs[2] == "namedLocations":
		perms = append(perms, permCAWrite)
	}
	if rep := needPerm(c, false, perms...); rep.code != "" {
		return rep
	}
	return needP1(c.t)
}

// intuneGate checks a compliance policy request: permission, then Intune.
func intuneGate(c *call, write bool) reply {
	perms := []string{permIntuneRead, permIntuneWrite}
	if write {
		perms = []string{permIntuneWrite}
	}
	if rep := needPerm(c, true, perms...); rep.code != "" {
		return rep
	}
	if !c.t.hasServicePlan("INTUNE_A") {
		return intuneError(http.StatusForbidden, "Forbidden", c, "Tenant is not licensed for Intune.")
	}
	return reply{}
}

func (s *Server) stamp() string { return s.now().UTC().Format(time.RFC3339) }

// decodeObject reads the request body as a JSON object; nil when it is not.
func decodeObject(c *call) map[string]any {
	var o map[string]any
	if json.Unmarshal(c.body, &o) != nil {
		return nil
	}
	return o
}

// collection is a list reply with its context.
func collection(ctx string, items []map[string]any) reply {
	if items == nil {
		items = []map[string]any{}
	}
	return ok(map[string]any{"@odata.context": metadata + "#" + ctx, "value": items})
}

// entity is one object's reply with its context.
func entity(ctx string, o map[string]any) reply {
	out := deepCopy(o)
	out["@odata.context"] = metadata + "#" + ctx + "/$entity"
	return ok(out)
}

func findByID(items []map[string]any, id string) int {
	return slices.IndexFunc(items, func(o map[string]any) bool { return strings.EqualFold(fmt.Sprint(o["id"]), id) })
}

// gdapPolicyNeeds is what a delegated or GDAP call to the tenant policies
// needs, from each API's "supported Microsoft Entra roles": reading them a
// security or policy reader role; writing Conditional Access or security
// defaults Conditional Access or Security Administrator; writing the
// authentication methods policy Authentication Policy Administrator. The
// methods policy reads with any role, as before this file served it: the
// TAP flow of a technician holding Authentication Administrator reads it
// (Graph's page names Global Reader and Authentication Policy Administrator;
// left lenient until the TAP flow is checked against it).
func gdapPolicyNeeds(read bool, segs []string) [][]string {
	methods := len(segs) > 1 && segs[1] == "authenticationMethodsPolicy"
	switch {
	case read && methods:
		return [][]string{gdapReadAny}
	case read:
		return [][]string{{"Security Reader", "Security Administrator", "Global Reader", "Conditional Access Administrator", "Authentication Policy Administrator"}}
	case methods:
		return [][]string{{"Authentication Policy Administrator"}}
	}
	return [][]string{{"Conditional Access Administrator", "Security Administrator"}}
}

// --- Conditional Access policies ---
// https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy

var caStates = []string{"enabled", "disabled", "enabledForReportingButNotEnforced"}

// errCASchema is Graph's answer to a policy body that does not validate.
var errCASchema = badRequest("1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of ConditionalAccessPolicy type. For examples, please see API documentation at https://docs.microsoft.com/en-us/graph/api/conditionalaccessroot-post-policies?view=graph-rest-1.0.")

var errSecurityDefaultsOn = badRequest("Security Defaults is enabled in the tenant. You must disable Security defaults before enabling a Conditional Access policy.")

// caFind passes c through caGate (write: a write) and finds, in items, the
// object whose id is the path parameter param: its index, or the reply
// that refuses the call (the gate's, or 404).
func caFind(c *call, write bool, items []map[string]any, param string) (int, reply) {
	if rep := caGate(c, write); rep.code != "" {
		return -1, rep
	}
	i := findByID(items, c.params[param])
	if i < 0 {
		return -1, caNotFound(c.params[param])
	}
	return i, reply{}
}

func caNotFound(id string) reply {
	return fail(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", id))
}

// validCA checks a whole policy (after a create or a merge).
func validCA(p map[string]any) bool {
	name, _ := p["displayName"].(string)
	state, _ := p["state"].(string)
	conds, _ := p["conditions"].(map[string]any)
	if strings.TrimSpace(name) == "" || !slices.Contains(caStates, state) || conds == nil {
		return false
	}
	if g, ok := p["grantControls"]; ok && g != nil {
		gc, ok := g.(map[string]any)
		if !ok {
			return false
		}
		if op, ok := gc["operator"]; ok && op != "AND" && op != "OR" {
			return false
		}
	}
	return true
}

func (s *Server) listCAPolicies(c *call) reply {
	if rep := caGate(c, false); rep.code != "" {
		return rep
	}
	return collection("identity/conditionalAccess/policies", copies(c.t.baseline().caPolicies))
}

func (s *Server) getCAPolicy(c *call) reply {
	b := c.t.baseline()
	i, rep := caFind(c, false, b.caPolicies, "policy")
	if rep.code != "" {
		return rep
	}
	return entity("identity/conditionalAccess/policies", b.caPolicies[i])
}

func (s *Server) createCAPolicy(c *call) reply {
	if rep := caGate(c, true); rep.code != "" {
		return rep
	}
	p := decodeObject(c)
	if p == nil {
		return errPayload
	}
	delete(p, "@odata.context")
	if !validCA(p) {
		return errCASchema
	}
	b := c.t.baseline()
	if p["state"] == "enabled" && b.securityDefaults {
		return errSecurityDefaultsOn
	}
	at := s.now().UTC().Truncate(time.Second)
	p["id"] = newUUID()
	p["createdDateTime"] = at.Format(time.RFC3339)
	p["modifiedDateTime"] = nil
	p["@odata.type"] = "#microsoft.graph.conditionalAccessPolicy"
	b.caPolicies = append(b.caPolicies, p)
	b.recordCA(p["id"].(string), at, p)
	rep := entity("identity/conditionalAccess/policies", p)
	rep.status = http.StatusCreated
	return rep
}

func (s *Server) patchCAPolicy(c *call) reply {
	b := c.t.baseline()
	i, rep := caFind(c, true, b.caPolicies, "policy")
	if rep.code != "" {
		return rep
	}
	in := decodeObject(c)
	if in == nil {
		return errPayload
	}
	merged := deepCopy(b.caPolicies[i])
	for k, v := range in {
		switch k {
		case "id", "createdDateTime", "modifiedDateTime", "@odata.type", "@odata.context":
			continue
		}
		merged[k] = v
	}
	if !validCA(merged) {
		return errCASchema
	}
	if merged["state"] == "enabled" && b.caPolicies[i]["state"] != "enabled" && b.securityDefaults {
		return errSecurityDefaultsOn
	}
	at := s.now().UTC().Truncate(time.Second)
	merged["modifiedDateTime"] = caModified(b.caPolicies[i], s.now())
	b.caPolicies[i] = merged
	b.recordCA(merged["id"].(string), at, merged)
	return reply{status: http.StatusNoContent}
}

// caStampLayout is how Graph writes a Conditional Access policy's
// modifiedDateTime: to the 100 nanoseconds.
const caStampLayout = "2006-01-02T15:04:05.0000000Z"

// caModified is the modifiedDateTime a PATCH of p at now gives it: now, to
// Graph's 100 nanoseconds, and always later than p's modifiedDateTime and
// createdDateTime, so that every change moves it, two in the same instant
// too (a baseline's enable step holds the policy to the one its plan read).
func caModified(p map[string]any, now time.Time) string {
	at := now.UTC().Truncate(100 * time.Nanosecond)
	for _, k := range []string{"modifiedDateTime", "createdDateTime"} {
		v, _ := p[k].(string)
		if prev, err := time.Parse(time.RFC3339Nano, v); err == nil && !at.After(prev) {
			at = prev.UTC().Truncate(100 * time.Nanosecond).Add(100 * time.Nanosecond)
		}
	}
	return at.Format(caStampLayout)
}

func (s *Server) deleteCAPolicy(c *call) reply {
	b := c.t.baseline()
	i, rep := caFind(c, true, b.caPolicies, "policy")
	if rep.code != "" {
		return rep
	}
	b.recordCA(fmt.Sprint(b.caPolicies[i]["id"]), s.now().UTC().Truncate(time.Second), nil)
	b.caPolicies = slices.Delete(b.caPolicies, i, i+1)
	return reply{status: http.StatusNoContent}
}

// --- named locations ---
// https://learn.microsoft.com/graph/api/conditionalaccessroot-post-namedlocations

func (s *Server) listNamedLocations(c *call) reply {
	if rep := caGate(c, false); rep.code != "" {
		return rep
	}
	return collection("identity/conditionalAccess/namedLocations", copies(c.t.baseline().namedLocations))
}

func (s *Server) getNamedLocation(c *call) reply {
	b := c.t.baseline()
	i, rep := caFind(c, false, b.namedLocations, "location")
	if rep.code != "" {
		return rep
	}
	return entity("identity/conditionalAccess/namedLocations", b.namedLocations[i])
}

// createNamedLocation creates an ipNamedLocation (countryNamedLocation is
// not modelled): a displayName and at least one valid CIDR range, IPv4 as
// iPv4CidrRange, IPv6 as iPv6CidrRange.
func (s *Server) createNamedLocation(c *call) reply {
	if rep := caGate(c, true); rep.code != "" {
		return rep
	}
	l := decodeObject(c)
	if l == nil {
		return errPayload
	}
	if l["@odata.type"] != "#microsoft.graph.ipNamedLocation" {
		return badRequest("The @odata.type of a named location must be #microsoft.graph.ipNamedLocation or #microsoft.graph.countryNamedLocation; only ipNamedLocation is supported here.")
	}
	if name, _ := l["displayName"].(string); strings.TrimSpace(name) == "" {
		return badRequest("The displayName of a named location is required.")
	}
	ranges, _ := l["ipRanges"].([]any)
	if len(ranges) == 0 {
		return badRequest("An ipNamedLocation needs at least one entry in ipRanges.")
	}
	for _, r := range ranges {
		m, _ := r.(map[string]any)
		cidr, _ := m["cidrAddress"].(string)
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil {
			return badRequest(fmt.Sprintf("Invalid cidrAddress '%s'.", cidr))
		}
		typ := "#microsoft.graph.iPv4CidrRange"
		if pfx.Addr().Is6() {
			typ = "#microsoft.graph.iPv6CidrRange"
		}
		m["@odata.type"] = typ
	}
	if _, ok := l["isTrusted"].(bool); !ok {
		l["isTrusted"] = false
	}
	now := s.stamp()
	l["id"] = newUUID()
	l["createdDateTime"] = now
	l["modifiedDateTime"] = now
	b := c.t.baseline()
	b.namedLocations = append(b.namedLocations, l)
	rep := entity("identity/conditionalAccess/namedLocations", l)
	rep.status = http.StatusCreated
	return rep
}

// deleteNamedLocation deletes a named location; one a policy names in its
// conditions is refused (the admin center refuses it; Graph's text is not
// documented).
func (s *Server) deleteNamedLocation(c *call) reply {
	b := c.t.baseline()
	i, rep := caFind(c, true, b.namedLocations, "location")
	if rep.code != "" {
		return rep
	}
	for _, p := range b.caPolicies {
		raw, _ := json.Marshal(p["conditions"])
		if strings.Contains(strings.ToLower(string(raw)), strings.ToLower(fmt.Sprint(b.namedLocations[i]["id"]))) {
			return badRequest("The named location is in use by one or more Conditional Access policies and cannot be deleted.")
		}
	}
	b.namedLocations = slices.Delete(b.namedLocations, i, i+1)
	return reply{status: http.StatusNoContent}
}

// --- security defaults ---
// https://learn.microsoft.com/graph/api/identitysecuritydefaultsenforcementpolicy-get

func (s *Server) getSecurityDefaults(c *call) reply {
	if rep := needPerm(c, false, permPolicyRead, permSecDefaultsWrite); rep.code != "" {
		return rep
	}
	return ok(map[string]any{
		"@odata.context": metadata + "#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
		"id":             "00000000-0000-0000-0000-000000000005",
		"displayName":    "Security Defaults",
		"description":    "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.",
		"isEnabled":      c.t.baseline().securityDefaults,
	})
}

func (s *Server) patchSecurityDefaults(c *call) reply {
	if rep := needPerm(c, false, permSecDefaultsWrite); rep.code != "" {
		return rep
	}
	in := decodeObject(c)
	if in == nil {
		return errPayload
	}
	for k := range in {
		if k != "isEnabled" && k != "@odata.type" {
			return badRequest(fmt.Sprintf("Property '%s' is read-only and cannot be set.", k))
		}
	}
	on, isBool := in["isEnabled"].(bool)
	if !isBool {
		return badRequest("Invalid value for property 'isEnabled'.")
	}
	b := c.t.baseline()
	if on && !b.securityDefaults && slices.ContainsFunc(b.caPolicies, func(p map[string]any) bool { return p["state"] == "enabled" }) {
		return badRequest("Security defaults cannot be enabled while Conditional Access policies are enabled in the tenant.")
	}
	b.securityDefaults = on
	return reply{status: http.StatusNoContent}
}

// --- authentication methods policy ---
// https://learn.microsoft.com/graph/api/authenticationmethodspolicy-get

func (s *Server) getAuthMethodsPolicy(c *call) reply {
	if rep := needPerm(c, false, permPolicyRead, permAuthMethodsRead, permAuthMethodsWrite); rep.code != "" {
		return rep
	}
	b := c.t.baseline()
	configs := make([]map[string]any, len(b.authMethods))
	for i := range b.authMethods {
		configs[i] = authMethodConfig(c.t, i)
	}
	return ok(map[string]any{
		"@odata.context":       metadata + "#policies/authenticationMethodsPolicy/$entity",
		"id":                   "authenticationMethodsPolicy",
		"displayName":          "Authentication Methods Policy",
		"description":          "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
		"lastModifiedDateTime": b.authModified,
		"policyVersion":        "1.5",
		"policyMigrationState": "migrationComplete",
		"registrationEnforcement": map[string]any{"authenticationMethodsRegistrationCampaign": map[string]any{
			"snoozeDurationInDays": 1, "state": "default", "excludeTargets": []any{},
			"includeTargets": []any{map[string]any{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}},
		}},
		"authenticationMethodConfigurations": configs,
	})
}

func (s *Server) getAuthMethodConfig(c *call) reply {
	if rep := needPerm(c, false, permPolicyRead, permAuthMethodsRead, permAuthMethodsWrite); rep.code != "" {
		return rep
	}
	b := c.t.baseline()
	i := findByID(b.authMethods, c.params["config"])
	if i < 0 {
		return methodConfigNotFound(c.params["config"])
	}
	return entity("policies/authenticationMethodsPolicy/authenticationMethodConfigurations", authMethodConfig(c.t, i))
}

// authMethodConfig returns the i-th method configuration of t's policy. The
// Temporary Access Pass's is the tenant's TAP policy (methods.go), which
// issuing a pass obeys.
func authMethodConfig(t *tenant, i int) map[string]any {
	m := deepCopy(t.baseline().authMethods[i])
	if m["id"] == "TemporaryAccessPass" {
		p := t.identity.tap
		m["state"] = p.State
		m["defaultLifetimeInMinutes"] = p.DefaultLifetimeInMinutes
		m["defaultLength"] = p.DefaultLength
		m["minimumLifetimeInMinutes"] = p.MinimumLifetimeInMinutes
		m["maximumLifetimeInMinutes"] = p.MaximumLifetimeInMinutes
		m["isUsableOnce"] = p.IsUsableOnce
		m = deepCopy(m)
	}
	return m
}

// methodConfigNotFound is Graph's answer for an unknown method
// configuration id.
func methodConfigNotFound(id string) reply {
	return fail(http.StatusNotFound, "itemNotFound", fmt.Sprintf("The authentication method configuration '%s' was not found.", id))
}

// patchAuthMethodConfig updates one method's configuration. The body must
// carry the configuration's own @odata.type; id is read-only; state is
// enabled or disabled; a Temporary Access Pass's lifetimes must nest
// (10 <= minimum <= default <= maximum <= 43200 minutes).
func (s *Server) patchAuthMethodConfig(c *call) reply {
	if rep := needPerm(c, false, permAuthMethodsWrite); rep.code != "" {
		return rep
	}
	b := c.t.baseline()
	i := findByID(b.authMethods, c.params["config"])
	if i < 0 {
		return methodConfigNotFound(c.params["config"])
	}
	in := decodeObject(c)
	if in == nil {
		return errPayload
	}
	cur := authMethodConfig(c.t, i)
	if in["@odata.type"] != cur["@odata.type"] {
		return badRequest(fmt.Sprintf("The request body must carry \"@odata.type\": \"%s\".", cur["@odata.type"]))
	}
	merged := deepCopy(cur)
	for k, v := range in {
		if k == "id" || k == "@odata.context" {
			continue
		}
		merged[k] = v
	}
	if st := merged["state"]; st != "enabled" && st != "disabled" {
		return badRequest(fmt.Sprintf("Invalid value '%v' for property 'state'.", st))
	}
	if merged["id"] == "TemporaryAccessPass" {
		num := func(k string) float64 { f, _ := merged[k].(float64); return f }
		lo, def, hi := num("minimumLifetimeInMinutes"), num("defaultLifetimeInMinutes"), num("maximumLifetimeInMinutes")
		if !(10 <= lo && lo <= def && def <= hi && hi <= 43200) {
			return badRequest("Invalid Temporary Access Pass lifetime: it must hold 10 <= minimumLifetimeInMinutes <= defaultLifetimeInMinutes <= maximumLifetimeInMinutes <= 43200.")
		}
		once, ok := merged["isUsableOnce"].(bool)
		if !ok {
			return badRequest("Invalid value for property 'isUsableOnce'.")
		}
		if n := num("defaultLength"); n < 8 || n > 48 {
			return badRequest("Invalid Temporary Access Pass defaultLength: it must be between 8 and 48.")
		}
		c.t.identity.tap = TAPPolicy{State: merged["state"].(string), MinimumLifetimeInMinutes: int(lo), MaximumLifetimeInMinutes: int(hi),
			DefaultLifetimeInMinutes: int(def), IsUsableOnce: once, DefaultLength: int(num("defaultLength"))}
	}
	b.authMethods[i] = merged
	b.authModified = s.stamp()
	return reply{status: http.StatusNoContent}
}

// --- Intune device compliance policies ---
// https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicy

// complianceTypes are the compliance policy kinds the simulator models.
var complianceTypes = []string{
	"#microsoft.graph.windows10CompliancePolicy",
	"#microsoft.graph.iosCompliancePolicy",
	"#microsoft.graph.androidCompliancePolicy",
}

// assignmentTargets are the assignment targets compliance policies accept.
var assignmentTargets = []string{
	"#microsoft.graph.groupAssignmentTarget",
	"#microsoft.graph.exclusionGroupAssignmentTarget",
	"#microsoft.graph.allLicensedUsersAssignmentTarget",
	"#microsoft.graph.allDevicesAssignmentTarget",
}

func (s *Server) findCompliance(c *call) (int, reply) {
	b := c.t.baseline()
	i := findByID(b.compliance, c.params["compliance"])
	if i < 0 {
		return -1, intuneError(http.StatusNotFound, "ResourceNotFound", c, "")
	}
	return i, reply{}
}

func (s *Server) listCompliancePolicies(c *call) reply {
	if rep := intuneGate(c, false); rep.code != "" {
		return rep
	}
	if c.query.Has("$filter") || c.query.Has("$select") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	items := []any{}
	for _, p := range c.t.baseline().compliance {
		items = append(items, deepCopy(p))
	}
	return collectionOf(c, items, "deviceManagement/deviceCompliancePolicies", 100)
}

func (s *Server) getCompliancePolicy(c *call) reply {
	if rep := intuneGate(c, false); rep.code != "" {
		return rep
	}
	if c.query.Has("$select") || c.query.Has("$expand") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	i, rep := s.findCompliance(c)
	if rep.code != "" {
		return rep
	}
	return entity("deviceManagement/deviceCompliancePolicies", c.t.baseline().compliance[i])
}

func (s *Server) createCompliancePolicy(c *call) reply {
	if rep := intuneGate(c, true); rep.code != "" {
		return rep
	}
	p := decodeObject(c)
	if p == nil {
		return errPayload
	}
	typ, _ := p["@odata.type"].(string)
	if !slices.Contains(complianceTypes, typ) {
		return intuneError(http.StatusBadRequest, "BadRequest", c, fmt.Sprintf("Unsupported or missing @odata.type '%s' for a device compliance policy.", typ))
	}
	if name, _ := p["displayName"].(string); strings.TrimSpace(name) == "" {
		return intuneError(http.StatusBadRequest, "BadRequest", c, "The displayName of a device compliance policy is required.")
	}
	delete(p, "scheduledActionsForRule") // accepted on create, not returned
	now := s.stamp()
	p["id"] = newUUID()
	p["createdDateTime"] = now
	p["lastModifiedDateTime"] = now
	p["version"] = 1
	if _, ok := p["description"]; !ok {
		p["description"] = nil
	}
	b := c.t.baseline()
	b.compliance = append(b.compliance, p)
	rep := entity("deviceManagement/deviceCompliancePolicies", p)
	rep.status = http.StatusCreated
	return rep
}

// patchCompliancePolicy updates a policy and answers 200 with it, as
// Intune's update documents; the @odata.type, when sent, must be the
// policy's own.
func (s *Server) patchCompliancePolicy(c *call) reply {
	if rep := intuneGate(c, true); rep.code != "" {
		return rep
	}
	i, rep := s.findCompliance(c)
	if rep.code != "" {
		return rep
	}
	in := decodeObject(c)
	if in == nil {
		return errPayload
	}
	b := c.t.baseline()
	cur := b.compliance[i]
	if typ, ok := in["@odata.type"]; ok && typ != cur["@odata.type"] {
		return intuneError(http.StatusBadRequest, "BadRequest", c, "The @odata.type of a device compliance policy cannot be changed.")
	}
	merged := deepCopy(cur)
	for k, v := range in {
		switch k {
		case "id", "createdDateTime", "lastModifiedDateTime", "version", "@odata.context":
			continue
		}
		merged[k] = v
	}
	v, _ := merged["version"].(float64)
	merged["version"] = int(v) + 1
	merged["lastModifiedDateTime"] = s.stamp()
	b.compliance[i] = merged
	return entity("deviceManagement/deviceCompliancePolicies", merged)
}

func (s *Server) deleteCompliancePolicy(c *call) reply {
	if rep := intuneGate(c, true); rep.code != "" {
		return rep
	}
	i, rep := s.findCompliance(c)
	if rep.code != "" {
		return rep
	}
	b := c.t.baseline()
	delete(b.assignments, fmt.Sprint(b.compliance[i]["id"]))
	b.compliance = slices.Delete(b.compliance, i, i+1)
	return reply{status: http.StatusNoContent}
}

func (s *Server) listComplianceAssignments(c *call) reply {
	if rep := intuneGate(c, false); rep.code != "" {
		return rep
	}
	i, rep := s.findCompliance(c)
	if rep.code != "" {
		return rep
	}
	b := c.t.baseline()
	id := fmt.Sprint(b.compliance[i]["id"])
	out := []map[string]any{}
	for _, a := range b.assignments[id] {
		out = append(out, deepCopy(a))
	}
	return collection(fmt.Sprintf("deviceManagement/deviceCompliancePolicies('%s')/assignments", id), out)
}

// assignCompliancePolicy replaces a policy's assignments with the body's
// and answers 200 with them (deviceCompliancePolicy: assign). A group
// target must name a group of the tenant.
func (s *Server) assignCompliancePolicy(c *call) reply {
	if rep := intuneGate(c, true); rep.code != "" {
		return rep
	}
	i, rep := s.findCompliance(c)
	if rep.code != "" {
		return rep
	}
	var in struct {
		Assignments []map[string]any `json:"assignments"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil || in.Assignments == nil {
		return errPayload
	}
	b := c.t.baseline()
	id := fmt.Sprint(b.compliance[i]["id"])
	out := []map[string]any{}
	for _, a := range in.Assignments {
		target, _ := a["target"].(map[string]any)
		typ, _ := target["@odata.type"].(string)
		if !slices.Contains(assignmentTargets, typ) {
			return intuneError(http.StatusBadRequest, "BadRequest", c, fmt.Sprintf("Unsupported or missing assignment target @odata.type '%s'.", typ))
		}
		key := strings.TrimPrefix(typ, "#microsoft.graph.")
		if typ == "#microsoft.graph.groupAssignmentTarget" || typ == "#microsoft.graph.exclusionGroupAssignmentTarget" {
			gid, _ := target["groupId"].(string)
			if g, _ := c.t.findGroup(gid); g == nil {
				return intuneError(http.StatusBadRequest, "BadRequest", c, fmt.Sprintf("Group '%s' was not found.", gid))
			}
			key = gid
			if strings.HasPrefix(typ, "#microsoft.graph.exclusion") {
				key += "_exclude"
			}
		}
		out = append(out, map[string]any{
			"@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
			"id":          id + "_" + key,
			"target":      target,
		})
	}
	b.assignments[id] = out
	return collection("Collection(microsoft.graph.deviceCompliancePolicyAssignment)", out)
}
