package baseline

// This file: a tenant's configuration as Graph v1.0 returns it
// (tierzero.BaselineDoc) read into a State. The shapes are Graph's, as
// graph/sim serves them: conditionalAccessPolicy, ipNamedLocation,
// identitySecurityDefaultsEnforcementPolicy, authenticationMethodsPolicy
// with its authenticationMethodConfigurations, and the device compliance
// policies with their assignments.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// Graph's names for what a baseline describes.
const (
	graphAllUsers       = "All"
	graphAllApps        = "All"
	graphOffice365      = "Office365"
	graphAllLocations   = "All"
	graphAllTrusted     = "AllTrusted"
	odataNS             = "#microsoft.graph."
	odataIPLocation     = odataNS + "ipNamedLocation"
	odataWindows        = odataNS + "windows10CompliancePolicy"
	odataIOS            = odataNS + "iosCompliancePolicy"
	odataAndroid        = odataNS + "androidCompliancePolicy"
	odataAllUsersTarget = odataNS + "allLicensedUsersAssignmentTarget"
	odataAllDevTarget   = odataNS + "allDevicesAssignmentTarget"
	odataGroupTarget    = odataNS + "groupAssignmentTarget"
	odataExclGroup      = odataNS + "exclusionGroupAssignmentTarget"
)

// complianceTypes maps a baseline platform to Graph's policy type.
var complianceTypes = map[Platform]string{Windows: odataWindows, IOS: odataIOS, Android: odataAndroid}

// authMethods are the authentication method configurations a baseline
// manages: Graph's id, its @odata.type, and the baseline's name.
var authMethods = []struct{ id, odataType, name string }{
	{"TemporaryAccessPass", odataNS + "temporaryAccessPassAuthenticationMethodConfiguration", "temporary_access_pass"},
	{"MicrosoftAuthenticator", odataNS + "microsoftAuthenticatorAuthenticationMethodConfiguration", "authenticator"},
	{"Fido2", odataNS + "fido2AuthenticationMethodConfiguration", "fido2"},
	{"Sms", odataNS + "smsAuthenticationMethodConfiguration", "sms"},
}

// tenantInfo is what rendering steps needs of the tenant beyond State.
type tenantInfo struct {
	ca, intune bool
	users      map[string]string // lower-case UPN -> object id
	// tapMin and tapMax are the Temporary Access Pass's lifetime bounds,
	// which its default lifetime must lie between.
	tapMin, tapMax int
	// complianceType is each compliance policy's @odata.type, by id.
	complianceType map[string]string
	// caRaw is each Conditional Access policy's conditions and grant
	// controls as the tenant has them, by id: an update keeps what the
	// baseline does not describe.
	caRaw map[string]caParts
	// caModified is each Conditional Access policy's modifiedDateTime as
	// Graph gave it (else its createdDateTime), by id.
	caModified map[string]string
}

// caParts are the parts of a policy an update sends, as Graph's JSON.
type caParts struct{ conditions, grantControls map[string]any }

// ParseState reads a tenant's configuration, as Graph v1.0 returned it,
// into a State: ids become the names a baseline uses (role template ids
// the roles' display names, group ids the groups' names, user ids the
// user principal names of doc.Users, named location ids their names).
// An id that does not resolve stays an id, which matches no name and so
// shows as a difference. A part the tenant cannot have (no Conditional
// Access, no Intune) is read as empty; PlanBaseline says so rather than
// plan its creation. JSON that is not Graph's shape is an error naming the
// object.
func ParseState(doc tierzero.BaselineDoc) (State, error) {
	st, _, err := parseDoc(doc)
	return st, err
}

func parseDoc(doc tierzero.BaselineDoc) (State, tenantInfo, error) {
	info := tenantInfo{ca: doc.ConditionalAccess, intune: doc.Intune, users: map[string]string{}, complianceType: map[string]string{},
		caRaw: map[string]caParts{}, caModified: map[string]string{}}
	var st State
	groupName := map[string]string{}
	for _, g := range doc.Groups {
		if g.ID == "" || g.DisplayName == "" {
			return st, info, fmt.Errorf("group %q %q: a group needs an id and a displayName", g.ID, g.DisplayName)
		}
		st.Groups = append(st.Groups, Group{ID: g.ID, Name: g.DisplayName, Security: g.SecurityEnabled,
			Unified: slices.ContainsFunc(g.GroupTypes, func(t string) bool { return strings.EqualFold(t, "Unified") })})
		groupName[strings.ToLower(g.ID)] = g.DisplayName
	}
	userName := map[string]string{}
	for upn, id := range doc.Users {
		info.users[strings.ToLower(upn)] = id
		userName[strings.ToLower(id)] = upn
	}

	var sd struct {
		IsEnabled *bool `json:"isEnabled"`
	}
	if err := decode(doc.SecurityDefaults, &sd); err != nil || sd.IsEnabled == nil {
		return st, info, fmt.Errorf("security defaults: %s", reason(err, "no isEnabled"))
	}
	st.SecurityDefaults = *sd.IsEnabled

	if doc.ConditionalAccess {
		for i, raw := range doc.NamedLocations {
			l, err := parseLocation(raw)
			if err != nil {
				return st, info, fmt.Errorf("named location %d: %w", i+1, err)
			}
			st.NamedLocations = append(st.NamedLocations, l)
		}
		locName := map[string]string{}
		for _, l := range st.NamedLocations {
			locName[strings.ToLower(l.ID)] = l.Name
		}
		for i, raw := range doc.CAPolicies {
			p, err := parseCA(raw, groupName, userName, locName)
			if err != nil {
				return st, info, fmt.Errorf("conditional access policy %d: %w", i+1, err)
			}
			st.ConditionalAccess = append(st.ConditionalAccess, p)
			var parts struct {
				Conditions    map[string]any `json:"conditions"`
				GrantControls map[string]any `json:"grantControls"`
				Modified      *string        `json:"modifiedDateTime"`
				Created       *string        `json:"createdDateTime"`
			}
			json.Unmarshal(raw, &parts) // parseCA read it
			info.caRaw[p.ID] = caParts{conditions: parts.Conditions, grantControls: parts.GrantControls}
			// When the policy last changed, as Graph gave it (its creation
			// when Graph gives no change): the enable step carries it, so
			// that a policy changed after the plan is not switched on.
			switch {
			case parts.Modified != nil && *parts.Modified != "":
				info.caModified[p.ID] = *parts.Modified
			case parts.Created != nil:
				info.caModified[p.ID] = *parts.Created
			}
		}
	}

	if err := parseAuthMethods(doc.AuthMethodsPolicy, &st, &info); err != nil {
		return st, info, fmt.Errorf("authentication methods policy: %w", err)
	}

	if doc.Intune {
		for i, raw := range doc.CompliancePolicies {
			p, typ, err := parseCompliance(raw, groupName)
			if err != nil {
				return st, info, fmt.Errorf("compliance policy %d: %w", i+1, err)
			}
			info.complianceType[p.ID] = typ
			st.Compliance = append(st.Compliance, p)
		}
	}
	return st, info, nil
}

// decode reads one Graph object strictly enough: valid JSON, an object,
// the fields of v of the right types (unknown fields are Graph's many
// others and are ignored).
func decode(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("not a JSON object")
	}
	return json.Unmarshal(raw, v)
}

func reason(err error, otherwise string) string {
	if err != nil {
		return err.Error()
	}
	return otherwise
}

// named checks an object's id and displayName.
func named(id, name string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("%q has no id", name)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%s has no displayName", id)
	}
	return nil
}

func parseLocation(raw json.RawMessage) (NamedLocationState, error) {
	var l struct {
		Type        string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		IsTrusted   bool   `json:"isTrusted"`
		IPRanges    []struct {
			CIDR string `json:"cidrAddress"`
		} `json:"ipRanges"`
	}
	if err := decode(raw, &l); err != nil {
		return NamedLocationState{}, err
	}
	if err := named(l.ID, l.DisplayName); err != nil {
		return NamedLocationState{}, err
	}
	// A country location keeps its name and no ranges: one the baseline
	// names as an IP range differs from it.
	out := NamedLocationState{ID: l.ID, NamedLocation: NamedLocation{Name: l.DisplayName, Trusted: l.IsTrusted}}
	for _, r := range l.IPRanges {
		out.CIDRs = append(out.CIDRs, r.CIDR)
	}
	return out, nil
}

// caJSON is the part of a conditionalAccessPolicy a baseline describes.
type caJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	State       string `json:"state"`
	Conditions  *struct {
		Users *struct {
			IncludeUsers  []string `json:"includeUsers"`
			ExcludeUsers  []string `json:"excludeUsers"`
			IncludeGroups []string `json:"includeGroups"`
			ExcludeGroups []string `json:"excludeGroups"`
			IncludeRoles  []string `json:"includeRoles"`
		} `json:"users"`
		Applications *struct {
			IncludeApplications []string `json:"includeApplications"`
		} `json:"applications"`
		ClientAppTypes []string `json:"clientAppTypes"`
		Locations      *struct {
			IncludeLocations []string `json:"includeLocations"`
			ExcludeLocations []string `json:"excludeLocations"`
		} `json:"locations"`
	} `json:"conditions"`
	GrantControls *struct {
		Operator        string   `json:"operator"`
		BuiltInControls []string `json:"builtInControls"`
	} `json:"grantControls"`
}

// caKnown are the keys of a policy and of its parts a baseline describes
// ("" is the policy itself: what identifies or dates it, and its parts);
// any other key with a value is a setting the baseline does not have
// (Other): a top-level one such as sessionControls (sign-in frequency,
// persistent browser sessions, app-enforced restrictions, ...) as much as
// one inside the conditions. A policy with one is never switched on and
// the setting never removed: a person decides.
var caKnown = map[string][]string{
	"": {"@odata.type", "@odata.context", "@odata.etag", "id", "displayName", "description", "state", "templateId",
		"createdDateTime", "modifiedDateTime", "conditions", "grantControls", "sessionControls"},
	"sessionControls":         {"@odata.type"},
	"conditions":              {"@odata.type", "users", "applications", "clientAppTypes", "locations"},
	"conditions.users":        {"@odata.type", "includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles"},
	"conditions.applications": {"@odata.type", "includeApplications"},
	"conditions.locations":    {"@odata.type", "includeLocations", "excludeLocations"},
	"grantControls":           {"@odata.type", "operator", "builtInControls"},
}

func parseCA(raw json.RawMessage, groupName, userName, locName map[string]string) (CAPolicyState, error) {
	var p caJSON
	if err := decode(raw, &p); err != nil {
		return CAPolicyState{}, err
	}
	if err := named(p.ID, p.DisplayName); err != nil {
		return CAPolicyState{}, err
	}
	fail := func(format string, args ...any) (CAPolicyState, error) {
		return CAPolicyState{}, fmt.Errorf("%q: %s", p.DisplayName, fmt.Sprintf(format, args...))
	}
	state := CAState(p.State)
	if state != CAEnabled && state != CADisabled && state != CAReportOnly {
		return fail("unknown state %q", p.State)
	}
	c := p.Conditions
	if c == nil || c.Users == nil || c.Applications == nil {
		return fail("no conditions.users or conditions.applications")
	}
	out := CAPolicyState{ID: p.ID, State: state, CAPolicy: CAPolicy{Name: p.DisplayName}}
	u := &out.Users
	for _, id := range c.Users.IncludeUsers {
		if id == graphAllUsers {
			u.All = true
			continue
		}
		out.Other = appendOnce(out.Other, "users.includeUsers")
	}
	u.Roles = mapIDs(c.Users.IncludeRoles, roleName)
	u.Groups = mapIDs(c.Users.IncludeGroups, lookup(groupName))
	u.ExcludeGroups = mapIDs(c.Users.ExcludeGroups, lookup(groupName))
	u.ExcludeUsers = mapIDs(c.Users.ExcludeUsers, lookup(userName))
	out.Apps = mapIDs(c.Applications.IncludeApplications, func(a string) string {
		switch a {
		case graphAllApps:
			return AppsAll
		case graphOffice365:
			return AppsOffice365
		}
		return a
	})
	out.ClientAppTypes = slices.Clone(c.ClientAppTypes)
	if l := c.Locations; l != nil {
		loc := func(id string) string {
			switch id {
			case graphAllLocations:
				return LocationAll
			case graphAllTrusted:
				return LocationAllTrusted
			}
			return lookup(locName)(id)
		}
		out.Locations = Locations{Include: mapIDs(l.IncludeLocations, loc), Exclude: mapIDs(l.ExcludeLocations, loc)}
	}
	if g := p.GrantControls; g != nil {
		switch len(g.BuiltInControls) {
		case 0:
		case 1:
			out.Grant = Grant(g.BuiltInControls[0])
		default:
			// Two controls are not one grant: the difference shows.
			out.Grant = Grant(strings.Join(g.BuiltInControls, " "+g.Operator+" "))
		}
	}
	other, err := unknownSettings(raw)
	if err != nil {
		return fail("%v", err)
	}
	for _, o := range other {
		out.Other = appendOnce(out.Other, o)
	}
	return out, nil
}

// unknownSettings returns the settings of a policy a baseline does not
// describe and that have a value (not null, empty or false), at any depth
// the baseline describes: the policy's own keys, its conditions, grant
// and session controls. A session control switched off (isEnabled false)
// sets nothing.
func unknownSettings(raw json.RawMessage) ([]string, error) {
	var out []string
	var walk func(path string, raw json.RawMessage)
	walk = func(path string, raw json.RawMessage) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return // null (or not an object: parseCA refused it): nothing set
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if _, deeper := caKnown[sub]; deeper {
				walk(sub, m[k])
				continue
			}
			// An OData annotation (authenticationStrength@odata.context)
			// describes, it sets nothing.
			if slices.Contains(caKnown[path], k) || strings.Contains(k, "@") || empty(m[k]) {
				continue
			}
			if path == "sessionControls" && switchedOff(m[k]) {
				continue
			}
			out = append(out, strings.TrimPrefix(sub, "conditions."))
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	walk("", raw)
	return out, nil
}

// switchedOff reports whether a session control is an object whose
// isEnabled is false: Graph keeps one switched off with its values.
func switchedOff(raw json.RawMessage) bool {
	var c struct {
		IsEnabled *bool `json:"isEnabled"`
	}
	return json.Unmarshal(raw, &c) == nil && c.IsEnabled != nil && !*c.IsEnabled
}

// empty reports whether a JSON value sets nothing: null, false, "", [], {}
// or an object of such values.
func empty(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	var isEmpty func(v any) bool
	isEmpty = func(v any) bool {
		switch v := v.(type) {
		case nil:
			return true
		case bool:
			return !v
		case string:
			return v == ""
		case []any:
			return len(v) == 0
		case map[string]any:
			for k, x := range v {
				if k != "@odata.type" && !isEmpty(x) {
					return false
				}
			}
			return true
		}
		return false
	}
	return isEmpty(v)
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func mapIDs(ids []string, f func(string) string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = f(id)
	}
	return out
}

// lookup returns a function giving the name of an id from names (by lower
// case id), or the id itself.
func lookup(names map[string]string) func(string) string {
	return func(id string) string {
		if n, ok := names[strings.ToLower(id)]; ok {
			return n
		}
		return id
	}
}

func parseAuthMethods(raw json.RawMessage, st *State, info *tenantInfo) error {
	var p struct {
		Configs []json.RawMessage `json:"authenticationMethodConfigurations"`
	}
	if err := decode(raw, &p); err != nil {
		return err
	}
	found := map[string]bool{}
	for i, c := range p.Configs {
		var m struct {
			ID              string `json:"id"`
			State           string `json:"state"`
			DefaultLifetime *int   `json:"defaultLifetimeInMinutes"`
			MinLifetime     *int   `json:"minimumLifetimeInMinutes"`
			MaxLifetime     *int   `json:"maximumLifetimeInMinutes"`
			IsUsableOnce    *bool  `json:"isUsableOnce"`
		}
		if err := decode(c, &m); err != nil {
			return fmt.Errorf("configuration %d: %w", i+1, err)
		}
		k := slices.IndexFunc(authMethods, func(a struct{ id, odataType, name string }) bool { return strings.EqualFold(a.id, m.ID) })
		if k < 0 {
			continue // email, voice, certificates...: not in a baseline
		}
		if m.State != "enabled" && m.State != "disabled" {
			return fmt.Errorf("%s: unknown state %q", m.ID, m.State)
		}
		on := m.State == "enabled"
		found[authMethods[k].id] = true
		switch authMethods[k].id {
		case "TemporaryAccessPass":
			if m.DefaultLifetime == nil || m.MinLifetime == nil || m.MaxLifetime == nil || m.IsUsableOnce == nil {
				return fmt.Errorf("%s: no lifetimes or isUsableOnce", m.ID)
			}
			st.AuthMethods.TAP = TAP{Enabled: on, LifetimeMinutes: *m.DefaultLifetime, UsableOnce: *m.IsUsableOnce}
			info.tapMin, info.tapMax = *m.MinLifetime, *m.MaxLifetime
		case "MicrosoftAuthenticator":
			st.AuthMethods.Authenticator = on
		case "Fido2":
			st.AuthMethods.FIDO2 = on
		case "Sms":
			st.AuthMethods.SMS = on
		}
	}
	for _, a := range authMethods {
		if !found[a.id] {
			return fmt.Errorf("no %s configuration", a.id)
		}
	}
	return nil
}

// parseCompliance reads a device compliance policy, with its assignments.
// A Windows policy's activeFirewallRequired and antivirusRequired are in
// Graph v1.0's windows10CompliancePolicy (the SDK's v1.0 metadata lacks
// them; Graph serves them); one absent reads as false, as Graph's default.
func parseCompliance(raw json.RawMessage, groupName map[string]string) (CompliancePolicyState, string, error) {
	var p struct {
		Type        string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		OSMin       string `json:"osMinimumVersion"`
		// Windows
		BitLocker        bool `json:"bitLockerEnabled"`
		Firewall         bool `json:"activeFirewallRequired"`
		Antivirus        bool `json:"antivirusRequired"`
		PasswordRequired bool `json:"passwordRequired"` // Windows, Android
		// iOS, Android
		PasscodeRequired bool `json:"passcodeRequired"` // iOS
		BlockJailbroken  bool `json:"securityBlockJailbrokenDevices"`
		Assignments      *[]struct {
			Target struct {
				Type    string `json:"@odata.type"`
				GroupID string `json:"groupId"`
			} `json:"target"`
		} `json:"assignments"`
	}
	if err := decode(raw, &p); err != nil {
		return CompliancePolicyState{}, "", err
	}
	if err := named(p.ID, p.DisplayName); err != nil {
		return CompliancePolicyState{}, "", err
	}
	if !strings.HasPrefix(p.Type, odataNS) || !strings.HasSuffix(p.Type, "CompliancePolicy") {
		return CompliancePolicyState{}, "", fmt.Errorf("%q: @odata.type %q is not a device compliance policy", p.DisplayName, p.Type)
	}
	if p.Assignments == nil {
		return CompliancePolicyState{}, "", fmt.Errorf("%q: no assignments (read with $expand=assignments)", p.DisplayName)
	}
	c := CompliancePolicy{Name: p.DisplayName, MinOSVersion: p.OSMin}
	switch p.Type {
	case odataWindows:
		c.Platform, c.BitLocker, c.Passcode = Windows, p.BitLocker, p.PasswordRequired
		c.Firewall, c.Antivirus = p.Firewall, p.Antivirus
	case odataIOS:
		c.Platform, c.Passcode, c.BlockJailbroken = IOS, p.PasscodeRequired, p.BlockJailbroken
	case odataAndroid:
		c.Platform, c.Passcode, c.BlockJailbroken = Android, p.PasswordRequired, p.BlockJailbroken
	default:
		// macOS, Android Enterprise, Windows 8.1...: not a baseline
		// platform; kept by name, so that one named like a baseline
		// policy is a conflict.
		c.Platform = Platform(strings.TrimSuffix(strings.TrimPrefix(p.Type, odataNS), "CompliancePolicy"))
	}
	for _, a := range *p.Assignments {
		switch a.Target.Type {
		case odataAllUsersTarget:
			c.AssignTo = append(c.AssignTo, AssignAllUsers)
		case odataAllDevTarget:
			c.AssignTo = append(c.AssignTo, AssignAllDevices)
		case odataGroupTarget:
			c.AssignTo = append(c.AssignTo, lookup(groupName)(a.Target.GroupID))
		case odataExclGroup:
			c.AssignTo = append(c.AssignTo, "excluded: "+lookup(groupName)(a.Target.GroupID))
		default:
			c.AssignTo = append(c.AssignTo, strings.TrimPrefix(a.Target.Type, odataNS))
		}
	}
	return CompliancePolicyState{ID: p.ID, CompliancePolicy: c}, p.Type, nil
}
