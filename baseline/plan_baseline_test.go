package baseline

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// simDoc returns a tenant's configuration as the simulator serves it
// (recorded from graph/sim into testdata/sim).
func simDoc(t *testing.T, tenant string) tierzero.BaselineDoc {
	t.Helper()
	raw, err := os.ReadFile("testdata/sim/" + tenant + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var doc tierzero.BaselineDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// breakGlassName is the name of the group of break-glass accounts the default
// baseline's policies leave out.
const breakGlassName = "Break Glass Accounts"

// withBreakGlass returns doc with a group of break-glass accounts (the
// recorded tenants' own, or one added).
func withBreakGlass(doc tierzero.BaselineDoc) tierzero.BaselineDoc {
	if breakGlassID(doc) == "" {
		doc.Groups = append(slices.Clone(doc.Groups), tierzero.BaselineGroup{ID: "bbbbbbbb-0000-4000-8000-000000000001", DisplayName: breakGlassName, SecurityEnabled: true})
	}
	return doc
}

// withoutBreakGlass returns doc without its group of break-glass accounts.
func withoutBreakGlass(doc tierzero.BaselineDoc) tierzero.BaselineDoc {
	doc.Groups = slices.DeleteFunc(slices.Clone(doc.Groups), func(g tierzero.BaselineGroup) bool { return g.DisplayName == breakGlassName })
	return doc
}

func breakGlassID(doc tierzero.BaselineDoc) string {
	for _, g := range doc.Groups {
		if g.DisplayName == breakGlassName {
			return g.ID
		}
	}
	return ""
}

func defaultSet(t *testing.T, files ...string) *Set {
	t.Helper()
	var fs []*File
	for i, f := range files {
		file, err := Parse(fmt.Sprintf("t%d.yaml", i), []byte(f))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, file)
	}
	s, err := NewSet(fs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// itemSummary names each item as "kind resource name".
func itemSummary(p tierzero.BaselinePlan) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, fmt.Sprintf("%s %s %s", it.Kind, it.Resource, it.Name))
	}
	return out
}

// stepSummary names each step as "action name-or-id".
func stepSummary(t *testing.T, p tierzero.BaselinePlan) []string {
	t.Helper()
	var out []string
	for _, s := range p.Plan.Steps {
		a := stepArgs(t, s)
		who := a["name"]
		if who == nil {
			who = a["id"]
		}
		if who == nil {
			who = a["enabled"]
		}
		out = append(out, fmt.Sprintf("%s %v", strings.TrimPrefix(s.Action, "baseline."), who))
	}
	return out
}

// stepArgs decodes a step's arguments, checking they are canonical.
func stepArgs(t *testing.T, s tierzero.PlanStepArg) map[string]any {
	t.Helper()
	canon, err := tierzero.CanonicalArgs(json.RawMessage(s.Args))
	if err != nil || string(canon) != s.Args {
		t.Fatalf("%s: args not canonical (%v): %s", s.Action, err, s.Args)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(s.Args), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// jsonArg decodes a Graph body carried as a JSON string, checking it is
// canonical too.
func jsonArg(t *testing.T, a map[string]any, key string) map[string]any {
	t.Helper()
	s, ok := a[key].(string)
	if !ok {
		t.Fatalf("%s is not a JSON string: %v", key, a[key])
	}
	canon, err := tierzero.CanonicalArgs(json.RawMessage(s))
	if err != nil || string(canon) != s {
		t.Fatalf("%s not canonical (%v): %s", key, err, s)
	}
	var m map[string]any
	json.Unmarshal([]byte(s), &m)
	return m
}

// checkPlanArgs checks that a plan with steps is what ActionBaselineApply
// takes.
func checkPlanArgs(t *testing.T, p tierzero.BaselinePlan) {
	t.Helper()
	if len(p.Plan.Steps) == 0 {
		if !reflect.DeepEqual(p.Plan, tierzero.PlanArgs{}) {
			t.Errorf("a plan without steps is not the zero PlanArgs: %+v", p.Plan)
		}
		return
	}
	raw, _ := json.Marshal(p.Plan)
	if _, err := tierzero.DecodePlanArgs(raw); err != nil {
		t.Errorf("plan args refused: %v", err)
	}
}

func TestParseStateSim(t *testing.T) {
	doc := simDoc(t, "contoso")
	st, err := ParseState(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"security defaults", st.SecurityDefaults, false},
		{"policies", len(st.ConditionalAccess), 2},
		{"admins", st.ConditionalAccess[0], CAPolicyState{ID: "1aa47286-00db-42eb-95ea-cac7b55f61f7", State: CAEnabled, CAPolicy: CAPolicy{
			Name: "Require MFA for admins", Users: Users{Roles: []string{"Global Administrator", "Privileged Role Administrator", "Security Administrator", "User Administrator", "Privileged Authentication Administrator"}},
			Apps: []string{"all"}, ClientAppTypes: []string{"all"}, Grant: GrantMFA}}},
		{"legacy", st.ConditionalAccess[1], CAPolicyState{ID: "04db45c1-7e6f-4da4-bd0a-cbbbf256956a", State: CAReportOnly, CAPolicy: CAPolicy{
			Name: "Block legacy authentication", Users: Users{All: true}, Apps: []string{"all"}, ClientAppTypes: []string{"exchangeActiveSync", "other"}, Grant: GrantBlock}}},
		{"auth methods", st.AuthMethods, AuthMethods{TAP: TAP{Enabled: true, LifetimeMinutes: 60, UsableOnce: false}, Authenticator: true}},
		{"compliance", st.Compliance, []CompliancePolicyState{
			{ID: "eaa31282-5bbd-4fa5-9d2f-565eb2b58937", CompliancePolicy: CompliancePolicy{Name: "Windows 10/11 compliance baseline", Platform: Windows, BitLocker: true, Firewall: true, MinOSVersion: "10.0.22631", AssignTo: []string{"all_users"}}},
			{ID: "5f2a2cbc-76f1-4e23-8383-3bf4d4e74c39", CompliancePolicy: CompliancePolicy{Name: "iOS compliance baseline", Platform: IOS, Passcode: true, BlockJailbroken: true, MinOSVersion: "17.0", AssignTo: []string{"all_users"}}},
			{ID: st.Compliance[2].ID, CompliancePolicy: CompliancePolicy{Name: "macOS compliance baseline", Platform: "macOS", MinOSVersion: "14.0", AssignTo: []string{"all_users"}}},
		}},
		{"groups", len(st.Groups), len(doc.Groups)},
		{"no named locations", st.NamedLocations, []NamedLocationState(nil)},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, tt.got, tt.want)
		}
	}
}

// TestParseStateNames: ids become the names a baseline uses, and what a
// baseline does not describe is listed, not dropped.
func TestParseStateNames(t *testing.T) {
	doc := withoutBreakGlass(simDoc(t, "fabrikam"))
	doc.Users = map[string]string{"bg@fabrikam.com": "u-bg"}
	doc.NamedLocations = []json.RawMessage{json.RawMessage(`{"@odata.type":"#microsoft.graph.ipNamedLocation","id":"loc-1","displayName":"HQ","isTrusted":true,
		"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"}]}`)}
	doc.CAPolicies = []json.RawMessage{json.RawMessage(`{"id":"p1","displayName":"Finance","state":"disabled",
		"conditions":{"users":{"includeUsers":[],"includeGroups":["2a577bce-275d-4dd2-924c-9ba5e0428f5c"],"excludeUsers":["u-bg","u-unknown"],
		"excludeGroups":["g-unknown"],"includeRoles":[],"excludeRoles":["62e90394-69f5-4237-9190-012177145e10"]},
		"applications":{"includeApplications":["Office365"],"excludeApplications":[]},"clientAppTypes":["browser"],
		"locations":{"includeLocations":["All"],"excludeLocations":["loc-1","AllTrusted"]},"platforms":{"includePlatforms":["android"]},"signInRiskLevels":[]},
		"grantControls":{"operator":"AND","builtInControls":["mfa","compliantDevice"],"termsOfUse":["tou-1"],
		"authenticationStrength@odata.context":"https://graph.microsoft.com/v1.0/$metadata#x","authenticationStrength":null},"sessionControls":null}`)}
	st, err := ParseState(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []CAPolicyState{{ID: "p1", State: CADisabled, CAPolicy: CAPolicy{Name: "Finance",
		Users: Users{Groups: []string{"Finance Approvers"}, ExcludeGroups: []string{"g-unknown"}, ExcludeUsers: []string{"bg@fabrikam.com", "u-unknown"}},
		Apps:  []string{"office365"}, ClientAppTypes: []string{"browser"},
		Locations: Locations{Include: []string{"all"}, Exclude: []string{"HQ", "all_trusted"}}, Grant: "mfa AND compliantDevice"},
		Other: []string{"platforms", "users.excludeRoles", "grantControls.termsOfUse"}}}
	if !reflect.DeepEqual(st.ConditionalAccess, want) {
		t.Errorf("got  %+v\nwant %+v", st.ConditionalAccess, want)
	}
	if want := []NamedLocationState{{ID: "loc-1", NamedLocation: NamedLocation{Name: "HQ", CIDRs: []string{"203.0.113.0/24"}, Trusted: true}}}; !reflect.DeepEqual(st.NamedLocations, want) {
		t.Errorf("named locations: got %+v", st.NamedLocations)
	}
}

func TestParseStateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*tierzero.BaselineDoc)
		want   string
	}{
		{"security defaults missing", func(d *tierzero.BaselineDoc) { d.SecurityDefaults = nil }, "security defaults: not a JSON object"},
		{"security defaults without isEnabled", func(d *tierzero.BaselineDoc) { d.SecurityDefaults = json.RawMessage(`{"id":"x"}`) }, "security defaults: no isEnabled"},
		{"policy not JSON", func(d *tierzero.BaselineDoc) { d.CAPolicies[1] = json.RawMessage(`{"id":`) }, "conditional access policy 2: unexpected end of JSON input"},
		{"policy without a name", func(d *tierzero.BaselineDoc) { d.CAPolicies[0] = json.RawMessage(`{"id":"x","state":"enabled"}`) }, `conditional access policy 1: x has no displayName`},
		{"policy state", func(d *tierzero.BaselineDoc) {
			d.CAPolicies[0] = json.RawMessage(`{"id":"x","displayName":"P","state":"on","conditions":{"users":{},"applications":{}}}`)
		}, `conditional access policy 1: "P": unknown state "on"`},
		{"policy without conditions", func(d *tierzero.BaselineDoc) {
			d.CAPolicies[0] = json.RawMessage(`{"id":"x","displayName":"P","state":"enabled"}`)
		}, `conditional access policy 1: "P": no conditions.users or conditions.applications`},
		{"wrong type", func(d *tierzero.BaselineDoc) {
			d.CAPolicies[0] = json.RawMessage(`{"id":"x","displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":"All"},"applications":{}}}`)
		}, "conditional access policy 1: json: cannot unmarshal string"},
		{"named location", func(d *tierzero.BaselineDoc) { d.NamedLocations = []json.RawMessage{json.RawMessage(`[]`)} }, "named location 1: not a JSON object"},
		{"methods policy missing", func(d *tierzero.BaselineDoc) { d.AuthMethodsPolicy = nil }, "authentication methods policy: not a JSON object"},
		{"no TAP", func(d *tierzero.BaselineDoc) {
			d.AuthMethodsPolicy = json.RawMessage(`{"authenticationMethodConfigurations":[{"id":"Fido2","state":"enabled"},{"id":"Sms","state":"enabled"},{"id":"MicrosoftAuthenticator","state":"enabled"}]}`)
		}, "authentication methods policy: no TemporaryAccessPass configuration"},
		{"method state", func(d *tierzero.BaselineDoc) {
			d.AuthMethodsPolicy = json.RawMessage(`{"authenticationMethodConfigurations":[{"id":"Sms","state":"maybe"}]}`)
		}, `authentication methods policy: Sms: unknown state "maybe"`},
		{"compliance without assignments", func(d *tierzero.BaselineDoc) {
			d.CompliancePolicies[0] = json.RawMessage(`{"@odata.type":"#microsoft.graph.windows10CompliancePolicy","id":"c","displayName":"W"}`)
		}, `compliance policy 1: "W": no assignments (read with $expand=assignments)`},
		{"compliance type", func(d *tierzero.BaselineDoc) {
			d.CompliancePolicies[2] = json.RawMessage(`{"@odata.type":"#microsoft.graph.user","id":"c","displayName":"W","assignments":[]}`)
		}, `compliance policy 3: "W": @odata.type "#microsoft.graph.user" is not a device compliance policy`},
		{"group", func(d *tierzero.BaselineDoc) { d.Groups = append(d.Groups, tierzero.BaselineGroup{ID: "g"}) }, `group "g" "": a group needs an id and a displayName`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := withoutBreakGlass(simDoc(t, "contoso"))
			tt.change(&doc)
			_, err := ParseState(doc)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if _, err := defaultSet(t).PlanBaseline(doc); err == nil || !strings.Contains(err.Error(), "contoso") {
				t.Errorf("PlanBaseline: %v, want an error naming the tenant", err)
			}
		})
	}
}

// TestPlanBaselineSim: the seeded tenants, as the simulator serves them,
// give the items and the phase their drift calls for.
func TestPlanBaselineSim(t *testing.T) {
	conflictCA := []string{
		"conflict conditional_access Require MFA for admins",
		"conflict conditional_access Require MFA for all users",
		"conflict conditional_access Block legacy authentication",
		"conflict conditional_access Require compliant devices for admins",
	}
	tests := []struct {
		name   string
		doc    tierzero.BaselineDoc
		items  []string
		phase  tierzero.BaselinePhase
		steps  []string
		toDo   int
		toDoAt string // a line of LeftToDo has this
	}{{
		// Without its group of break-glass accounts (a client before
		// onboarding), no policy can leave them out: every policy is a
		// person's to resolve.
		name: "contoso without break-glass group", doc: withoutBreakGlass(simDoc(t, "contoso")),
		items: append(slices.Clone(conflictCA),
			"leave security_defaults security defaults",
			"update auth_method temporary_access_pass", "leave auth_method authenticator", "update auth_method fido2", "leave auth_method sms",
			"leave sspr self-service password reset",
			"update compliance Windows 10/11 compliance baseline", "leave compliance iOS compliance baseline", "create compliance Android compliance baseline",
			"leave assignment Windows 10/11 compliance baseline", "leave assignment iOS compliance baseline", "create assignment Android compliance baseline"),
		phase: tierzero.BaselineCreate,
		steps: []string{"set_auth_method TemporaryAccessPass", "set_auth_method Fido2", "update_compliance_policy Windows 10/11 compliance baseline",
			"create_compliance_policy Android compliance baseline"},
		toDo: 5, toDoAt: `Conditional Access policy "Require MFA for admins": group "Break Glass Accounts" does not exist in the tenant`,
	}, {
		name: "contoso as seeded", doc: withBreakGlass(simDoc(t, "contoso")),
		items: []string{
			"update conditional_access Require MFA for admins", "create conditional_access Require MFA for all users",
			"update conditional_access Block legacy authentication", "create conditional_access Require compliant devices for admins",
			"leave security_defaults security defaults",
			"update auth_method temporary_access_pass", "leave auth_method authenticator", "update auth_method fido2", "leave auth_method sms",
			"leave sspr self-service password reset",
			"update compliance Windows 10/11 compliance baseline", "leave compliance iOS compliance baseline", "create compliance Android compliance baseline",
			"leave assignment Windows 10/11 compliance baseline", "leave assignment iOS compliance baseline", "create assignment Android compliance baseline"},
		phase: tierzero.BaselineCreate,
		// The seeded Windows policy does not require antivirus: an
		// ordinary change, like any other setting.
		// The switched-on admins policy's change applies at once: not
		// in the create phase.
		steps: []string{"create_ca_policy Require MFA for all users", "update_ca_policy Block legacy authentication",
			"create_ca_policy Require compliant devices for admins", "set_auth_method TemporaryAccessPass", "set_auth_method Fido2",
			"update_compliance_policy Windows 10/11 compliance baseline", "create_compliance_policy Android compliance baseline"},
		toDo: 1, toDoAt: "self-service password reset",
	}, {
		name: "fabrikam without break-glass group", doc: withoutBreakGlass(simDoc(t, "fabrikam")),
		items: append(slices.Clone(conflictCA),
			"update security_defaults security defaults",
			"update auth_method temporary_access_pass", "leave auth_method authenticator", "update auth_method fido2", "leave auth_method sms",
			"leave sspr self-service password reset",
			"leave compliance Windows 10/11 compliance baseline", "leave compliance iOS compliance baseline", "create compliance Android compliance baseline",
			"update assignment Windows 10/11 compliance baseline", "update assignment iOS compliance baseline", "create assignment Android compliance baseline"),
		phase: tierzero.BaselineCreate,
		steps: []string{"set_auth_method TemporaryAccessPass", "set_auth_method Fido2", "create_compliance_policy Android compliance baseline",
			"assign_compliance_policy Windows 10/11 compliance baseline", "assign_compliance_policy iOS compliance baseline"},
		toDo: 5, toDoAt: "does not exist in the tenant",
	}, {
		name: "fabrikam as seeded", doc: withBreakGlass(simDoc(t, "fabrikam")),
		items: []string{
			"create conditional_access Require MFA for admins", "create conditional_access Require MFA for all users",
			"create conditional_access Block legacy authentication", "create conditional_access Require compliant devices for admins",
			"update security_defaults security defaults",
			"update auth_method temporary_access_pass", "leave auth_method authenticator", "update auth_method fido2", "leave auth_method sms",
			"leave sspr self-service password reset",
			"leave compliance Windows 10/11 compliance baseline", "leave compliance iOS compliance baseline", "create compliance Android compliance baseline",
			"update assignment Windows 10/11 compliance baseline", "update assignment iOS compliance baseline", "create assignment Android compliance baseline"},
		phase: tierzero.BaselineCreate,
		steps: []string{"create_ca_policy Require MFA for admins", "create_ca_policy Require MFA for all users", "create_ca_policy Block legacy authentication",
			"create_ca_policy Require compliant devices for admins", "set_auth_method TemporaryAccessPass", "set_auth_method Fido2",
			"create_compliance_policy Android compliance baseline",
			"assign_compliance_policy Windows 10/11 compliance baseline", "assign_compliance_policy iOS compliance baseline"},
		toDo: 1, toDoAt: "Graph v1.0 can neither read nor set it",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := defaultSet(t).PlanBaseline(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			checkPlanArgs(t, p)
			if got := itemSummary(p); !reflect.DeepEqual(got, tt.items) {
				t.Errorf("items:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.items, "\n"))
			}
			if p.Plan.Phase != tt.phase || p.Plan.User != "" {
				t.Errorf("phase %q user %q, want %q and none", p.Plan.Phase, p.Plan.User, tt.phase)
			}
			if got := stepSummary(t, p); !reflect.DeepEqual(got, tt.steps) {
				t.Errorf("steps:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.steps, "\n"))
			}
			if len(p.LeftToDo) != tt.toDo || !slices.ContainsFunc(p.LeftToDo, func(s string) bool { return strings.Contains(s, tt.toDoAt) }) {
				t.Errorf("left to do: %q, want %d lines, one with %q", p.LeftToDo, tt.toDo, tt.toDoAt)
			}
			if p.Tenant != tt.doc.Tenant {
				t.Errorf("tenant %q", p.Tenant)
			}
		})
	}
}

// TestRenderedArgs: the exact arguments of each kind of step, as the
// baseline tools take them.
func TestRenderedArgs(t *testing.T) {
	doc := withBreakGlass(simDoc(t, "contoso"))
	cs := objects(t, doc.CompliancePolicies)
	cs[1]["osMinimumVersion"] = "16.0" // iOS compliance baseline
	doc.CompliancePolicies = raws(t, cs)
	p, err := defaultSet(t).PlanBaseline(doc)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]tierzero.PlanStepArg{}
	for _, s := range p.Plan.Steps {
		a := stepArgs(t, s)
		k := s.Action + " " + fmt.Sprint(a["name"])
		if a["name"] == nil {
			k = s.Action + " " + fmt.Sprint(a["id"])
		}
		byName[k] = s
	}
	bg := breakGlassID(doc)
	tests := []struct {
		step, label, args string
	}{{
		"baseline.create_ca_policy Require MFA for all users",
		`create the Conditional Access policy "Require MFA for all users" (report-only: it enforces nothing until switched on)`,
		`{"body":"{\"conditions\":{\"applications\":{\"excludeApplications\":[],\"includeApplications\":[\"All\"]},\"clientAppTypes\":[\"all\"],\"users\":{\"excludeGroups\":[\"` + bg + `\"],\"excludeRoles\":[],\"excludeUsers\":[],\"includeGroups\":[],\"includeRoles\":[],\"includeUsers\":[\"All\"]}},\"displayName\":\"Require MFA for all users\",\"grantControls\":{\"builtInControls\":[\"mfa\"],\"operator\":\"OR\"},\"state\":\"enabledForReportingButNotEnforced\"}","name":"Require MFA for all users"}`,
	}, {
		"baseline.update_ca_policy Block legacy authentication",
		`change the Conditional Access policy "Block legacy authentication" (the groups it leaves out)`,
		// The tenant's conditions and grant controls, with what the
		// baseline describes set: nothing else changed, nothing null.
		`{"body":"{\"conditions\":{\"applications\":{\"excludeApplications\":[],\"includeApplications\":[\"All\"]},\"clientAppTypes\":[\"exchangeActiveSync\",\"other\"],\"users\":{\"excludeGroups\":[\"` + bg + `\"],\"excludeRoles\":[],\"excludeUsers\":[],\"includeGroups\":[],\"includeRoles\":[],\"includeUsers\":[\"All\"]}},\"grantControls\":{\"builtInControls\":[\"block\"],\"customAuthenticationFactors\":[],\"operator\":\"OR\",\"termsOfUse\":[]}}","id":"04db45c1-7e6f-4da4-bd0a-cbbbf256956a","name":"Block legacy authentication"}`,
	}, {
		"baseline.set_auth_method TemporaryAccessPass",
		"allow the Temporary Access Pass (60 minutes by default, usable once)",
		`{"body":"{\"@odata.type\":\"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration\",\"defaultLifetimeInMinutes\":60,\"isUsableOnce\":true,\"state\":\"enabled\"}","id":"TemporaryAccessPass"}`,
	}, {
		"baseline.set_auth_method Fido2",
		"allow sign-in with FIDO2 security keys and passkeys",
		`{"body":"{\"@odata.type\":\"#microsoft.graph.fido2AuthenticationMethodConfiguration\",\"state\":\"enabled\"}","id":"Fido2"}`,
	}, {
		"baseline.update_compliance_policy iOS compliance baseline",
		`change the iOS compliance policy "iOS compliance baseline" (minimum OS version: 16.0 → 17.0)`,
		`{"body":"{\"@odata.type\":\"#microsoft.graph.iosCompliancePolicy\",\"osMinimumVersion\":\"17.0\",\"passcodeRequired\":true,\"securityBlockJailbrokenDevices\":true}","id":"5f2a2cbc-76f1-4e23-8383-3bf4d4e74c39","name":"iOS compliance baseline"}`,
	}, {
		// The seeded policy does not require antivirus: the body sets
		// every setting of the baseline's, the firewall and antivirus
		// as well.
		"baseline.update_compliance_policy Windows 10/11 compliance baseline",
		`change the Windows compliance policy "Windows 10/11 compliance baseline" (antivirus required: no → yes)`,
		`{"body":"{\"@odata.type\":\"#microsoft.graph.windows10CompliancePolicy\",\"activeFirewallRequired\":true,\"antivirusRequired\":true,\"bitLockerEnabled\":true,\"osMinimumVersion\":\"10.0.22631\",\"passwordRequired\":false}","id":"eaa31282-5bbd-4fa5-9d2f-565eb2b58937","name":"Windows 10/11 compliance baseline"}`,
	}, {
		"baseline.create_compliance_policy Android compliance baseline",
		`create the Android compliance policy "Android compliance baseline" (a passcode, not jailbroken or rooted, Android 13 or later), assigned to all licensed users`,
		`{"assignments":"{\"assignments\":[{\"target\":{\"@odata.type\":\"#microsoft.graph.allLicensedUsersAssignmentTarget\"}}]}","body":"{\"@odata.type\":\"#microsoft.graph.androidCompliancePolicy\",\"displayName\":\"Android compliance baseline\",\"osMinimumVersion\":\"13\",\"passwordRequired\":true,\"scheduledActionsForRule\":[{\"ruleName\":\"PasswordRequired\",\"scheduledActionConfigurations\":[{\"actionType\":\"block\",\"gracePeriodHours\":0}]}],\"securityBlockJailbrokenDevices\":true}","name":"Android compliance baseline"}`,
	}}
	for _, tt := range tests {
		s, ok := byName[tt.step]
		if !ok {
			t.Errorf("no step %s", tt.step)
			continue
		}
		if s.Label != tt.label {
			t.Errorf("%s: label\ngot  %s\nwant %s", tt.step, s.Label, tt.label)
		}
		if s.Args != tt.args {
			t.Errorf("%s: args\ngot  %s\nwant %s", tt.step, s.Args, tt.args)
		}
	}
	// The admins policy is enforced: its change is not in the create
	// phase; in the enable phase its label says it applies at once and to
	// whom, and its roles are the template ids of the baseline's sixteen.
	if _, ok := byName["baseline.update_ca_policy Require MFA for admins"]; ok {
		t.Error("the change of a switched-on policy is in the create phase")
	}
	g := &fakeGraph{t: t, doc: &doc}
	for _, s := range p.Plan.Steps {
		g.run(s)
	}
	p, err = defaultSet(t).PlanBaseline(doc)
	if err != nil || p.Plan.Phase != tierzero.BaselineEnable {
		t.Fatalf("then %q: %v", p.Plan.Phase, err)
	}
	s := p.Plan.Steps[slices.IndexFunc(p.Plan.Steps, func(s tierzero.PlanStepArg) bool { return s.Action == ActUpdateCAPolicy })]
	if want := `change the switched-on Conditional Access policy "Require MFA for admins" (the roles it applies to, the groups it leaves out): applies at once to holders of 16 admin roles except members of "Break Glass Accounts" (id 8d2a4a9c-4ab7-4ff9-bb2b-74c8d9fec0d7)`; s.Label != want {
		t.Errorf("admins label:\ngot  %s\nwant %s", s.Label, want)
	}
	b := jsonArg(t, stepArgs(t, s), "body")
	roles := b["conditions"].(map[string]any)["users"].(map[string]any)["includeRoles"].([]any)
	if len(roles) != 16 || !slices.Contains(roles, any("b1be1c3e-b65d-4f19-8427-f6fa0d97feb9")) {
		t.Errorf("admins roles: %v", roles)
	}
}

// TestNeverEnforcedOnCreate: every Conditional Access policy created is
// report-only, and no update sets a state.
func TestNeverEnforcedOnCreate(t *testing.T) {
	for _, doc := range []tierzero.BaselineDoc{withBreakGlass(simDoc(t, "contoso")), withBreakGlass(simDoc(t, "fabrikam"))} {
		p, err := defaultSet(t).PlanBaseline(doc)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range p.Plan.Steps {
			switch s.Action {
			case ActCreateCAPolicy:
				n++
				if b := jsonArg(t, stepArgs(t, s), "body"); b["state"] != string(CAReportOnly) {
					t.Errorf("%s: created %v", s.Label, b["state"])
				}
			case ActUpdateCAPolicy:
				if b := jsonArg(t, stepArgs(t, s), "body"); b["state"] != nil || b["displayName"] != nil {
					t.Errorf("%s: an update sets %v", s.Label, b)
				}
			case ActEnableCAPolicy, ActSetSecurityDefaults:
				t.Errorf("%s: in the create phase", s.Label)
			}
		}
		if n == 0 {
			t.Errorf("%s: no policy created", doc.Tenant)
		}
	}
}

// TestAtOnceOnlyInEnablePhase: what applies at once to who can sign in (a
// switched-on policy changed, an authentication method turned off,
// security defaults turned on) is never in the create phase; it is in the
// enable phase, its own approval, after the switch-ons, each label saying
// it applies at once and to whom.
func TestAtOnceOnlyInEnablePhase(t *testing.T) {
	tapOff := "scope: {tenant: contoso}\nauth_methods:\n  temporary_access_pass: {enabled: false}\n"
	sdOn := "scope: {tenant: contoso}\nsecurity_defaults: true\nconditional_access:\n" +
		"  - {name: Require MFA for admins, remove: true}\n  - {name: Require MFA for all users, remove: true}\n" +
		"  - {name: Block legacy authentication, remove: true}\n  - {name: Require compliant devices for admins, remove: true}\n"
	tests := []struct {
		name   string
		set    *Set
		doc    tierzero.BaselineDoc
		atOnce []string // the enable phase's steps after the switch-ons: action and label
	}{{
		name: "switched-on policy, SMS and the pass turned off", set: defaultSet(t, tapOff), doc: contosoSynced(t),
		atOnce: []string{
			`update_ca_policy change the switched-on Conditional Access policy "Require MFA for admins" (the roles it applies to, the groups it leaves out): applies at once to holders of 16 admin roles except members of "Break Glass Accounts" (id 8d2a4a9c-4ab7-4ff9-bb2b-74c8d9fec0d7); keeps users.excludeRoles as the tenant has it`,
			"set_auth_method turn off the Temporary Access Pass (applies at once: passes already issued stop working; new users and users who lost their methods cannot get one)",
			"set_auth_method turn off sign-in codes sent by SMS (applies at once: users who registered only SMS lose it and must register another method)",
		},
	}, {
		name: "security defaults turned on", set: defaultSet(t, sdOn), doc: withBreakGlass(simDoc(t, "contoso")),
		atOnce: []string{
			"set_security_defaults turn security defaults on (applies at once to all users: each must register for MFA, legacy authentication is blocked)",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			g := &fakeGraph{t: t, doc: &doc}
			p, err := tt.set.PlanBaseline(doc)
			if err != nil {
				t.Fatal(err)
			}
			if p.Plan.Phase != tierzero.BaselineCreate {
				t.Fatalf("first phase %q", p.Plan.Phase)
			}
			for _, s := range p.Plan.Steps {
				if strings.Contains(s.Label, "applies at once") || strings.HasPrefix(s.Label, "turn") || s.Action == ActSetSecurityDefaults {
					t.Errorf("in the create phase: %s", s.Label)
				}
				g.run(s)
			}
			p, err = tt.set.PlanBaseline(doc)
			if err != nil || p.Plan.Phase != tierzero.BaselineEnable {
				t.Fatalf("then %q: %v", p.Plan.Phase, err)
			}
			checkPlanArgs(t, p)
			var atOnce []string
			for i, s := range p.Plan.Steps {
				if s.Action == ActEnableCAPolicy {
					if len(atOnce) > 0 {
						t.Errorf("step %d switches a policy on after a change that applies at once", i+1)
					}
					continue
				}
				atOnce = append(atOnce, strings.TrimPrefix(s.Action, "baseline.")+" "+s.Label)
			}
			if !slices.Equal(atOnce, tt.atOnce) {
				t.Errorf("applies at once:\ngot\n%s\nwant\n%s", strings.Join(atOnce, "\n"), strings.Join(tt.atOnce, "\n"))
			}
			for _, s := range p.Plan.Steps {
				g.run(s)
			}
			if p, _ := tt.set.PlanBaseline(doc); len(p.Plan.Steps) != 0 {
				t.Errorf("after the enable phase: %s %v", p.Plan.Phase, stepSummary(t, p))
			}
		})
	}
}

// TestLookalikeNames: a tenant's object whose name only looks like the
// baseline's (case, a non-breaking or doubled space, an invisible
// character) is a conflict for a person; no second, identical-looking
// object is created, and no lookalike group is left out of a policy.
func TestLookalikeNames(t *testing.T) {
	rename := func(rs []json.RawMessage, from, to string) []json.RawMessage {
		objs := objects(t, rs)
		n := 0
		for _, o := range objs {
			if o["displayName"] == from {
				o["displayName"], n = to, n+1
			}
		}
		if n != 1 {
			t.Fatalf("%d objects named %q", n, from)
		}
		return raws(t, objs)
	}
	contoso := withBreakGlass(simDoc(t, "contoso"))
	caLike := contoso
	caLike.CAPolicies = rename(contoso.CAPolicies, "Block legacy authentication", "Block legacy\u00a0authentication")
	cyrillic := contoso
	cyrillic.CAPolicies = rename(contoso.CAPolicies, "Require MFA for admins", "R\u0435quire MFA for admins")
	compLike := contoso
	compLike.CompliancePolicies = rename(contoso.CompliancePolicies, "iOS compliance baseline", "IOS  compliance baseline")
	groupLike := withoutBreakGlass(simDoc(t, "fabrikam"))
	groupLike.Groups = append(slices.Clone(groupLike.Groups), tierzero.BaselineGroup{ID: "bbbbbbbb-0000-4000-8000-00000000000f", DisplayName: "Break Glass\u200b Accounts", SecurityEnabled: true})
	fillerLike := withoutBreakGlass(simDoc(t, "fabrikam"))
	fillerLike.Groups = append(slices.Clone(fillerLike.Groups), tierzero.BaselineGroup{ID: "bbbbbbbb-0000-4000-8000-00000000000e", DisplayName: "Break\u3164Glass Accounts", SecurityEnabled: true})
	tests := []struct {
		name     string
		doc      tierzero.BaselineDoc
		res      Resource
		conflict []string // items made conflicts
		toDo     string
	}{
		{"policy", caLike, ResConditionalAccess, []string{"Block legacy authentication"},
			`Conditional Access policy "Block legacy authentication": the tenant's Conditional Access policy is named "Block legacy\u00a0authentication", which looks like the baseline's`},
		{"policy with a Cyrillic letter", cyrillic, ResConditionalAccess, []string{"Require MFA for admins"},
			`Conditional Access policy "Require MFA for admins": the tenant's Conditional Access policy is named "R\u0435quire MFA for admins", which looks like the baseline's`},
		{"compliance policy", compLike, ResCompliance, []string{"iOS compliance baseline"},
			`compliance policy "iOS compliance baseline": the tenant's compliance policy is named "IOS  compliance baseline"`},
		{"group", groupLike, ResConditionalAccess, []string{"Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Require compliant devices for admins"},
			`Conditional Access policy "Require MFA for admins": the tenant's group is named "Break Glass\u200b Accounts", which looks like the baseline's "Break Glass Accounts"`},
		{"group with a Hangul filler", fillerLike, ResConditionalAccess, []string{"Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Require compliant devices for admins"},
			`Conditional Access policy "Require MFA for admins": the tenant's group is named "Break\u3164Glass Accounts", which looks like the baseline's "Break Glass Accounts"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := defaultSet(t).PlanBaseline(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.conflict {
				if it, ok := itemNamed(p, tt.res, n); !ok || it.Kind != string(Conflict) {
					t.Errorf("%s: %+v, want a conflict", n, it)
				}
				if hasStepFor(t, p, n) {
					t.Errorf("%s: a step, want none", n)
				}
			}
			if !slices.ContainsFunc(p.LeftToDo, func(l string) bool { return strings.HasPrefix(l, tt.toDo) }) {
				t.Errorf("left to do:\n%s\nwant a line starting %q", strings.Join(p.LeftToDo, "\n"), tt.toDo)
			}
		})
	}
}

// TestComplianceAtOnce: while a switched-on Conditional Access policy
// requires a compliant device, a compliance change that makes devices
// noncompliant at once (a setting tightened, a new assigned policy, an
// assignment to more) is in the enable phase, labelled so and naming the
// policy that then blocks them; a change that requires less stays in the
// create phase. Without such a policy, each is an ordinary create-phase
// step.
func TestComplianceAtOnce(t *testing.T) {
	const blocks = `; applies at once: devices that fall short become noncompliant, and "Compliant devices for everyone" then blocks them`
	withBlocker := func(doc tierzero.BaselineDoc) tierzero.BaselineDoc {
		ps := objects(t, doc.CAPolicies)
		var admins map[string]any
		for _, p := range ps {
			if p["displayName"] == "Require MFA for admins" {
				admins = p
			}
		}
		raw, _ := json.Marshal(admins)
		var p map[string]any
		json.Unmarshal(raw, &p)
		p["id"], p["displayName"], p["state"] = "cccccccc-0000-4000-8000-000000000001", "Compliant devices for everyone", string(CAEnabled)
		p["grantControls"].(map[string]any)["builtInControls"] = []any{"compliantDevice"}
		doc.CAPolicies = raws(t, append(ps, p))
		return doc
	}
	iosAllDevices := func(doc tierzero.BaselineDoc) tierzero.BaselineDoc {
		ps := objects(t, doc.CompliancePolicies)
		for _, p := range ps {
			if p["displayName"] == "iOS compliance baseline" {
				p["assignments"] = []any{map[string]any{"target": map[string]any{"@odata.type": odataAllDevTarget}}}
			}
		}
		doc.CompliancePolicies = raws(t, ps)
		return doc
	}
	// The tenant's Windows policy requires BitLocker and no antivirus, the
	// baseline neither: requiring less is no block.
	noBitLocker := "scope: {tenant: contoso}\ncompliance:\n  - name: Windows 10/11 compliance baseline\n    platform: windows\n" +
		"    firewall: true\n    min_os_version: 10.0.22631\n    assign_to: [all_users]\n"
	tests := []struct {
		name           string
		set            *Set
		doc            tierzero.BaselineDoc
		create, atOnce []string // compliance steps: action and label
	}{{
		name: "a compliant-device policy switched on", set: defaultSet(t), doc: iosAllDevices(withBlocker(withBreakGlass(simDoc(t, "contoso")))),
		atOnce: []string{
			`update_compliance_policy change the Windows compliance policy "Windows 10/11 compliance baseline" (antivirus required: no → yes)` + blocks,
			`create_compliance_policy create the Android compliance policy "Android compliance baseline" (a passcode, not jailbroken or rooted, Android 13 or later), assigned to all licensed users` + blocks,
			`assign_compliance_policy assign the compliance policy "iOS compliance baseline" to all licensed users (instead of all_devices)` + blocks,
		},
	}, {
		name: "none switched on", set: defaultSet(t), doc: iosAllDevices(withBreakGlass(simDoc(t, "contoso"))),
		create: []string{
			`update_compliance_policy change the Windows compliance policy "Windows 10/11 compliance baseline" (antivirus required: no → yes)`,
			`create_compliance_policy create the Android compliance policy "Android compliance baseline" (a passcode, not jailbroken or rooted, Android 13 or later), assigned to all licensed users`,
			`assign_compliance_policy assign the compliance policy "iOS compliance baseline" to all licensed users (instead of all_devices)`,
		},
	}, {
		name: "requiring less", set: defaultSet(t, noBitLocker), doc: withBlocker(withBreakGlass(simDoc(t, "contoso"))),
		create: []string{
			`update_compliance_policy change the Windows compliance policy "Windows 10/11 compliance baseline" (BitLocker required: yes → no)`,
		},
		atOnce: []string{
			`create_compliance_policy create the Android compliance policy "Android compliance baseline" (a passcode, not jailbroken or rooted, Android 13 or later), assigned to all licensed users` + blocks,
		},
	}}
	compliance := func(p tierzero.BaselinePlan) []string {
		var out []string
		for _, s := range p.Plan.Steps {
			if strings.Contains(s.Action, "compliance") {
				out = append(out, strings.TrimPrefix(s.Action, "baseline.")+" "+s.Label)
			}
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			g := &fakeGraph{t: t, doc: &doc}
			p, err := tt.set.PlanBaseline(doc)
			if err != nil || p.Plan.Phase != tierzero.BaselineCreate {
				t.Fatalf("first phase %q: %v", p.Plan.Phase, err)
			}
			if got := compliance(p); !slices.Equal(got, tt.create) {
				t.Errorf("create phase:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.create, "\n"))
			}
			for _, s := range p.Plan.Steps {
				g.run(s)
			}
			p, err = tt.set.PlanBaseline(doc)
			if err != nil || p.Plan.Phase != tierzero.BaselineEnable {
				t.Fatalf("then %q: %v", p.Plan.Phase, err)
			}
			if got := compliance(p); !slices.Equal(got, tt.atOnce) {
				t.Errorf("enable phase:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.atOnce, "\n"))
			}
			for _, s := range p.Plan.Steps {
				g.run(s)
			}
			if p, _ := tt.set.PlanBaseline(doc); len(p.Plan.Steps) != 0 {
				t.Errorf("after the enable phase: %s %v", p.Plan.Phase, stepSummary(t, p))
			}
		})
	}
}
