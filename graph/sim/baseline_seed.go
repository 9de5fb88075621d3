package sim

// This file: the seeded tenants' baseline resources, with the drift a
// baseline finds on real clients (issue 22).
//
//   - contoso (and the extra tenants, copies of it): security defaults off;
//     "Require MFA for admins" enabled; "Block legacy authentication" only
//     in report-only; no MFA for all users; no named location; the
//     Temporary Access Pass usable more than once (the TAP policy seeded by
//     seedMethodPolicy, methods.go, which issuing a pass obeys);
//   - fabrikam: security defaults on; no Conditional Access policy; the
//     Temporary Access Pass one-time, 30 minutes by default;
//   - both: compliance policies as seedCompliance says.

import (
	"time"
)

// adminRoleTemplates are the role template ids Microsoft's "Require MFA for
// administrators" template includes (a subset).
var adminRoleTemplates = []string{
	"62e90394-69f5-4237-9190-012177145e10", // Global Administrator
	"e8611ab8-c189-46e8-94e1-60213ab1f814", // Privileged Role Administrator
	"194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
	"fe930be7-5e62-47db-91af-98c3a49a38b1", // User Administrator
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13", // Privileged Authentication Administrator
}

// seedBaseline gives t its baseline resources (called from build).
func seedBaseline(t *tenant, now time.Time) {
	b := t.baseline()
	b.perms = seededAppPermissions
	createdAt := now.Add(-90 * 24 * time.Hour).UTC()
	created := createdAt.Format(time.RFC3339)
	b.authModified = created
	b.authMethods = defaultAuthMethods()
	seedCompliance(t, b)
	if t.name == "fabrikam" {
		b.securityDefaults = true
		return
	}
	b.caPolicies = []map[string]any{
		caPolicy(guid("ca", t.name, "admins"), "Require MFA for admins", "enabled", created,
			map[string]any{"includeRoles": adminRoleTemplates},
			[]string{"all"}, nil, "mfa"),
		caPolicy(guid("ca", t.name, "legacy"), "Block legacy authentication", "enabledForReportingButNotEnforced", created,
			map[string]any{"includeUsers": []string{"All"}},
			[]string{"exchangeActiveSync", "other"}, nil, "block"),
	}
	b.caPolicies = roundTrip(b.caPolicies)
	for _, p := range b.caPolicies {
		b.recordCA(p["id"].(string), createdAt, p)
	}
	b.authMethods = roundTrip(b.authMethods)
}

// roundTrip turns Go values into their JSON form (numbers float64, slices
// []any), as a decoded request body holds them.
func roundTrip(in []map[string]any) []map[string]any {
	out := make([]map[string]any, len(in))
	for i, o := range in {
		out[i] = deepCopy(o)
	}
	return out
}

// caPolicy builds a seeded conditionalAccessPolicy.
func caPolicy(id, name, state, created string, users map[string]any, clientApps []string, locations map[string]any, controls ...string) map[string]any {
	u := map[string]any{"includeUsers": []string{}, "excludeUsers": []string{}, "includeGroups": []string{},
		"excludeGroups": []string{}, "includeRoles": []string{}, "excludeRoles": []string{}}
	for k, v := range users {
		u[k] = v
	}
	return map[string]any{
		"@odata.type":      "#microsoft.graph.conditionalAccessPolicy",
		"id":               id,
		"displayName":      name,
		"state":            state,
		"createdDateTime":  created,
		"modifiedDateTime": nil,
		"conditions": map[string]any{
			"users":          u,
			"applications":   map[string]any{"includeApplications": []string{"All"}, "excludeApplications": []string{}},
			"clientAppTypes": clientApps,
			"locations":      locations,
			"platforms":      nil,
		},
		"grantControls":   map[string]any{"operator": "OR", "builtInControls": controls, "customAuthenticationFactors": []string{}, "termsOfUse": []string{}},
		"sessionControls": nil,
	}
}

// defaultAuthMethods is a new tenant's authentication methods policy.
func defaultAuthMethods() []map[string]any {
	all := func(extra map[string]any) []any {
		t := map[string]any{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}
		for k, v := range extra {
			t[k] = v
		}
		return []any{t}
	}
	return []map[string]any{
		{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "id": "Fido2", "state": "disabled",
			"isSelfServiceRegistrationAllowed": true, "isAttestationEnforced": true, "excludeTargets": []any{},
			"keyRestrictions": map[string]any{"isEnforced": false, "enforcementType": "block", "aaGuids": []any{}}, "includeTargets": all(nil)},
		{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration", "id": "MicrosoftAuthenticator", "state": "enabled",
			"isSoftwareOathEnabled": false, "excludeTargets": []any{}, "includeTargets": all(map[string]any{"authenticationMode": "any"})},
		{"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "id": "Sms", "state": "disabled",
			"excludeTargets": []any{}, "includeTargets": all(map[string]any{"isUsableForSignIn": true})},
		{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "id": "TemporaryAccessPass", "state": "disabled",
			"defaultLifetimeInMinutes": 60, "defaultLength": 8, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480,
			"isUsableOnce": false, "excludeTargets": []any{}, "includeTargets": all(nil)},
		{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "id": "Email", "state": "enabled",
			"allowExternalIdToUseEmailOtp": "default", "excludeTargets": []any{}, "includeTargets": all(nil)},
	}
}

// seedCompliance stores the compliance policies every tenant has
// (compliancePolicies, devices.go, which judge its devices) with the
// properties Intune shows for them. Their drift from a baseline: no Android
// policy anywhere; contoso's Windows policy does not require antivirus or
// Defender, and its policies are assigned to all licensed users; fabrikam's
// are assigned to no one.
func seedCompliance(t *tenant, b *baselineState) {
	for i := range compliancePolicies {
		p := &compliancePolicies[i]
		m := compliancePolicyJSON(t, p)
		switch p.key {
		case "windows":
			m["passwordRequired"] = false
			m["activeFirewallRequired"] = true
			m["signatureOutOfDate"] = true
			m["defenderEnabled"] = t.name == "fabrikam"
			m["antivirusRequired"] = t.name == "fabrikam"
		case "ios":
			m["passcodeMinimumLength"] = 6
		}
		b.compliance = append(b.compliance, deepCopy(m))
		if t.name == "fabrikam" {
			continue
		}
		id := m["id"].(string)
		b.assignments[id] = []map[string]any{deepCopy(map[string]any{
			"@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
			"id":          id + "_allLicensedUsersAssignmentTarget",
			"target":      map[string]any{"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"},
		})}
	}
}
