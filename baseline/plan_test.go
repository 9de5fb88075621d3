package baseline

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// summary names each step as "kind resource name", with " (review)" when
// it needs an impact review.
func summary(steps []Step) []string {
	var out []string
	for _, s := range steps {
		line := fmt.Sprintf("%s %s %s", s.Kind, s.Resource, s.Name)
		if s.NeedsImpactReview {
			line += " (review)"
		}
		out = append(out, line)
	}
	return out
}

// apply simulates running the steps for which run is true on have, as
// baseline apply will through Graph, and returns the new state.
func apply(t *testing.T, want Baseline, have State, steps []Step, run func(Step) bool) State {
	t.Helper()
	want = stripAt(want)
	have = cloneState(have)
	n := len(have.NamedLocations) + len(have.ConditionalAccess) + len(have.Compliance)
	newID := func() string { n++; return fmt.Sprintf("id-%d", n) }
	for _, s := range steps {
		if !run(s) || s.Kind == Leave || s.Kind == Conflict || len(s.WaitsFor) > 0 {
			continue
		}
		switch s.Resource {
		case ResNamedLocation:
			w := want.NamedLocations[slices.IndexFunc(want.NamedLocations, func(l NamedLocation) bool { return sameName(l.Name, s.Name) })]
			if s.Kind == Create {
				have.NamedLocations = append(have.NamedLocations, NamedLocationState{ID: newID(), NamedLocation: w})
				continue
			}
			i := slices.IndexFunc(have.NamedLocations, func(l NamedLocationState) bool { return l.ID == s.ID })
			have.NamedLocations[i].NamedLocation = w
		case ResConditionalAccess:
			w := cloneCA(want.ConditionalAccess[slices.IndexFunc(want.ConditionalAccess, func(p CAPolicy) bool { return sameName(p.Name, s.Name) })])
			if s.Kind == Create {
				have.ConditionalAccess = append(have.ConditionalAccess, CAPolicyState{ID: newID(), State: CAState(to(t, s, "state")), CAPolicy: w})
				continue
			}
			i := slices.IndexFunc(have.ConditionalAccess, func(p CAPolicyState) bool { return p.ID == s.ID })
			switch s.Kind {
			case Enable:
				have.ConditionalAccess[i].State = CAState(to(t, s, "state"))
			case Update:
				have.ConditionalAccess[i].CAPolicy = w
				if st := to(t, s, "state"); st != "" {
					have.ConditionalAccess[i].State = CAState(st)
				}
			}
		case ResSecurityDefaults:
			have.SecurityDefaults = to(t, s, "enabled") == "true"
		case ResAuthMethod:
			switch s.Name {
			case "temporary_access_pass":
				have.AuthMethods.TAP = want.AuthMethods.TAP
			case "authenticator":
				have.AuthMethods.Authenticator = want.AuthMethods.Authenticator
			case "fido2":
				have.AuthMethods.FIDO2 = want.AuthMethods.FIDO2
			case "sms":
				have.AuthMethods.SMS = want.AuthMethods.SMS
			}
		case ResSSPR:
			have.SSPR = want.SSPR
		case ResCompliance, ResAssignment:
			w := want.Compliance[slices.IndexFunc(want.Compliance, func(p CompliancePolicy) bool { return sameName(p.Name, s.Name) })]
			if s.Kind == Create && s.Resource == ResCompliance {
				w.AssignTo = nil // assigned by its own step
				have.Compliance = append(have.Compliance, CompliancePolicyState{ID: newID(), CompliancePolicy: w})
				continue
			}
			i := slices.IndexFunc(have.Compliance, func(p CompliancePolicyState) bool { return sameName(p.Name, s.Name) })
			if i < 0 {
				t.Fatalf("step %v: no policy %q in the tenant", s.Kind, s.Name)
			}
			if s.Resource == ResAssignment {
				have.Compliance[i].AssignTo = clone(w.AssignTo)
			} else {
				w.AssignTo = have.Compliance[i].AssignTo
				have.Compliance[i].CompliancePolicy = w
			}
		default:
			t.Fatalf("unknown resource %q", s.Resource)
		}
	}
	return have
}

func to(t *testing.T, s Step, field string) string {
	t.Helper()
	for _, c := range s.Changes {
		if c.Field == field {
			return c.To
		}
	}
	return ""
}

func cloneState(s State) State {
	c := s
	c.NamedLocations = slices.Clone(s.NamedLocations)
	c.ConditionalAccess = slices.Clone(s.ConditionalAccess)
	c.Compliance = slices.Clone(s.Compliance)
	c.Groups = slices.Clone(s.Groups)
	return c
}

func all(Step) bool          { return true }
func unreviewed(s Step) bool { return !s.NeedsImpactReview }

// kinds returns the kinds of steps, sorted and without repeats.
func kinds(steps []Step) []Kind {
	var k []Kind
	for _, s := range steps {
		k = append(k, s.Kind)
	}
	slices.Sort(k)
	return slices.Compact(k)
}

var breakGlass = []Group{{ID: "g-bg", Name: "Break Glass Accounts", Security: true}}

func TestPlanEmptyTenant(t *testing.T) {
	steps := Plan(Default(), State{Groups: breakGlass})
	got := summary(steps)
	want := []string{
		"create conditional_access Require MFA for admins",
		"create conditional_access Require MFA for all users",
		"create conditional_access Block legacy authentication",
		"create conditional_access Require compliant devices for admins",
		"leave security_defaults security defaults",
		"update auth_method temporary_access_pass",
		"update auth_method authenticator",
		"update auth_method fido2",
		"leave auth_method sms",
		"update sspr self-service password reset",
		"create compliance Windows 10/11 compliance baseline",
		"create compliance iOS compliance baseline",
		"create compliance Android compliance baseline",
		"create assignment Windows 10/11 compliance baseline",
		"create assignment iOS compliance baseline",
		"create assignment Android compliance baseline",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range steps {
		if s.Resource == ResConditionalAccess {
			if got, want := to(t, s, "state"), string(CAReportOnly); got != want {
				t.Errorf("%s: state %q, want %q", s.Name, got, want)
			}
		}
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"tap", steps[5].Changes, []Change{{"enabled", "false", "true"}, {"lifetime_minutes", "0", "60"}, {"usable_once", "false", "true"}}},
		{"sspr", steps[9].Why, "enabled is false, baseline wants true; methods_required is 0, baseline wants 2"},
		{"windows", steps[10].Changes, []Change{{"platform", "", "windows"}, {"bitlocker", "false", "true"}, {"firewall", "false", "true"}, {"antivirus", "false", "true"}, {"min_os_version", "", "10.0.22631"}}},
		{"assignment", steps[13].Changes, []Change{{"assign_to", "", "all_users"}}},
		{"create why", steps[0].Why, "missing; created in report-only state, switched on by a separate approved step"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestPlanConditionalAccess(t *testing.T) {
	want := CAPolicy{Name: "Require MFA for all users", Users: Users{All: true, ExcludeGroups: []string{"Break Glass Accounts"}}, Apps: []string{"all"}, ClientAppTypes: []string{"all"}, Grant: GrantMFA}
	base := Baseline{ConditionalAccess: []CAPolicy{want}}
	drifted := cloneCA(want)
	drifted.Grant = GrantBlock
	drifted.Users.ExcludeGroups = nil
	policy := func(id string, st CAState, p CAPolicy) CAPolicyState {
		return CAPolicyState{ID: id, State: st, CAPolicy: p}
	}
	renamed := cloneCA(want)
	renamed.Name = "REQUIRE mfa FOR all USERS"
	renamed.ClientAppTypes = nil // Graph's default: all
	named := func(p CAPolicy, name string) CAPolicy { p = cloneCA(p); p.Name = name; return p }
	located := func(p CAPolicy) CAPolicy { p = cloneCA(p); p.Locations.Exclude = []string{"HQ"}; return p }
	tests := []struct {
		name string
		have []CAPolicyState
		want Step
	}{
		{"missing", nil, Step{Kind: Create, Resource: ResConditionalAccess, Name: want.Name, Why: "missing; created in report-only state, switched on by a separate approved step",
			Changes: []Change{{"users.all", "false", "true"}, {"users.exclude_groups", "", "Break Glass Accounts"}, {"apps", "", "all"}, {"grant", "", "mfa"}, {"state", "", string(CAReportOnly)}}}},
		{"report-only matching", []CAPolicyState{policy("p1", CAReportOnly, want)}, Step{Kind: Enable, Resource: ResConditionalAccess, Name: want.Name, ID: "p1",
			Why: "matches the baseline in report-only state; switch on after reviewing its sign-in impact", Changes: []Change{{"state", string(CAReportOnly), "enabled"}}, NeedsImpactReview: true}},
		{"enabled matching", []CAPolicyState{policy("p1", CAEnabled, want)}, Step{Kind: Leave, Resource: ResConditionalAccess, Name: want.Name, ID: "p1", Why: "matches the baseline and is enabled"}},
		// A name that only looks like the baseline's (case, spaces,
		// invisible characters) is not the baseline's object, and no
		// second, identical-looking one is created: a person decides.
		{"lookalike by case", []CAPolicyState{policy("p1", CAEnabled, renamed)}, Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name,
			Why: lookalikeWhy("Conditional Access policy", renamed.Name, want.Name)}},
		{"lookalike by spaces", []CAPolicyState{policy("p1", CAEnabled, named(want, "Require MFA\u00a0for  all users"))}, Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name,
			Why: lookalikeWhy("Conditional Access policy", "Require MFA\u00a0for  all users", want.Name)}},
		{"lookalike by an invisible character", []CAPolicyState{policy("p1", CAReportOnly, named(want, "Require MFA for all\u200b users "))}, Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name,
			Why: lookalikeWhy("Conditional Access policy", "Require MFA for all\u200b users ", want.Name)}},
		// What the baseline does not describe is never removed: alone,
		// a conflict; with a change, kept.
		{"only settings the baseline does not describe", []CAPolicyState{{ID: "p1", State: CAReportOnly, CAPolicy: want, Other: []string{"users.excludeRoles"}}},
			Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name, ID: "p1", Kept: []string{"users.excludeRoles"},
				Why: "the tenant's policy also excludes directory roles (often the Directory Synchronization Accounts, which directory sync needs) (users.excludeRoles): tierzero does not remove what the baseline does not describe; keep it (it stays as it is) or remove it in the admin center"}},
		{"a change and settings the baseline does not describe", []CAPolicyState{{ID: "p1", State: CAReportOnly, CAPolicy: drifted, Other: []string{"users.excludeRoles", "platforms"}}},
			Step{Kind: Update, Resource: ResConditionalAccess, Name: want.Name, ID: "p1", Kept: []string{"users.excludeRoles", "platforms"},
				Changes: []Change{{"users.exclude_groups", "", "Break Glass Accounts"}, {"grant", "block", "mfa"}},
				Why:     "users.exclude_groups is none, baseline wants Break Glass Accounts; grant is block, baseline wants mfa; the tenant's policy also excludes directory roles (often the Directory Synchronization Accounts, which directory sync needs) (users.excludeRoles), has a device platform condition (platforms): tierzero does not remove what the baseline does not describe; keep it (it stays as it is) or remove it in the admin center"}},
		{"a location condition the baseline has none of", []CAPolicyState{policy("p1", CAEnabled, located(want))},
			Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name, ID: "p1", Kept: []string{"locations"},
				Why: "the tenant's policy also has a location condition (the baseline has none) (locations): tierzero does not remove what the baseline does not describe; keep it (it stays as it is) or remove it in the admin center"}},
		{"drifted enabled", []CAPolicyState{policy("p1", CAEnabled, drifted)}, Step{Kind: Update, Resource: ResConditionalAccess, Name: want.Name, ID: "p1",
			Why:               "users.exclude_groups is none, baseline wants Break Glass Accounts; grant is block, baseline wants mfa; the policy is enabled, so the change applies at once",
			Changes:           []Change{{"users.exclude_groups", "", "Break Glass Accounts"}, {"grant", "block", "mfa"}},
			NeedsImpactReview: true}},
		{"drifted report-only", []CAPolicyState{policy("p1", CAReportOnly, drifted)}, Step{Kind: Update, Resource: ResConditionalAccess, Name: want.Name, ID: "p1",
			Why:     "users.exclude_groups is none, baseline wants Break Glass Accounts; grant is block, baseline wants mfa",
			Changes: []Change{{"users.exclude_groups", "", "Break Glass Accounts"}, {"grant", "block", "mfa"}}}},
		{"disabled matching", []CAPolicyState{policy("p1", CADisabled, want)}, Step{Kind: Update, Resource: ResConditionalAccess, Name: want.Name, ID: "p1",
			Why: "state is disabled, baseline wants it on: set to report-only first", Changes: []Change{{"state", "disabled", string(CAReportOnly)}}}},
		{"two of the name", []CAPolicyState{policy("p1", CAEnabled, want), policy("p2", CADisabled, renamed)}, Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name,
			Why: `2 objects in the tenant are named "Require MFA for all users": say which one the baseline manages (rename or delete the others)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := Plan(base, State{ConditionalAccess: tt.have, Groups: breakGlass})
			got := steps[slices.IndexFunc(steps, func(s Step) bool { return s.Resource == ResConditionalAccess })]
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}

	t.Run("exclusion group missing", func(t *testing.T) {
		got := Plan(base, State{})[0]
		want := Step{Kind: Conflict, Resource: ResConditionalAccess, Name: want.Name,
			Why: `group "Break Glass Accounts" does not exist in the tenant: create it (with the break-glass accounts in an exclusion group) before the policy`}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %#v\nwant %#v", got, want)
		}
	})
}

func TestPlanSecurityDefaultsOrder(t *testing.T) {
	want := Default()
	have := State{SecurityDefaults: true, Groups: breakGlass}
	first := Plan(want, have)
	sd := slices.IndexFunc(first, func(s Step) bool { return s.Resource == ResSecurityDefaults })
	if sd < 0 {
		t.Fatal("no security defaults step")
	}
	if got, want := first[sd], (Step{Kind: Update, Resource: ResSecurityDefaults, Name: "security defaults", NeedsImpactReview: true,
		Why: "security defaults are on, the baseline enforces MFA through conditional access instead; turn them off only together with switching the conditional access policies on, after their report-only sign-in impact is reviewed, never before they exist; " +
			`waits for "Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Require compliant devices for admins"`,
		Changes:  []Change{{"enabled", "true", "false"}},
		WaitsFor: caNames(want)}); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	for i, s := range first {
		if s.Resource == ResConditionalAccess && i > sd {
			t.Errorf("step %d %q comes after turning security defaults off", i, s.Name)
		}
		if s.Kind == Enable {
			t.Errorf("step %d: enable before the policy exists", i)
		}
	}

	// Even with every step approved, security defaults stay on while the
	// policies that replace them are only being created.
	if got := apply(t, want, have, first, all); !got.SecurityDefaults {
		t.Error("security defaults turned off before the conditional access policies existed")
	}

	// The creates run; the steps needing review wait.
	have = apply(t, want, have, first, unreviewed)
	secondPlan := Plan(want, have)
	if s := secondPlan[slices.IndexFunc(secondPlan, func(s Step) bool { return s.Resource == ResSecurityDefaults })]; s.WaitsFor != nil {
		t.Errorf("once the policies exist, security defaults still wait for %v", s.WaitsFor)
	}
	second := summary(secondPlan)
	var gotHead []string
	for _, s := range second {
		if strings.Contains(s, "conditional_access") || strings.Contains(s, "security_defaults") {
			gotHead = append(gotHead, s)
		}
	}
	wantHead := []string{
		"update security_defaults security defaults (review)",
		"enable conditional_access Require MFA for admins (review)",
		"enable conditional_access Require MFA for all users (review)",
		"enable conditional_access Block legacy authentication (review)",
		"enable conditional_access Require compliant devices for admins (review)",
	}
	if !reflect.DeepEqual(gotHead, wantHead) {
		t.Errorf("second plan got\n%s\nwant\n%s", strings.Join(gotHead, "\n"), strings.Join(wantHead, "\n"))
	}

	// Reviewed and approved: security defaults off and the policies on.
	have = apply(t, want, have, Plan(want, have), all)
	if have.SecurityDefaults {
		t.Error("security defaults still on")
	}
	if got := kinds(Plan(want, have)); !reflect.DeepEqual(got, []Kind{Leave}) {
		t.Errorf("third plan has %v, want only leave", got)
	}
}

// TestPlanEnableWaitsWithSecurityDefaults: with security defaults on, a
// policy ready to be switched on waits, as turning the defaults off does,
// for the policies still to be created.
func TestPlanEnableWaitsWithSecurityDefaults(t *testing.T) {
	want := Default()
	ready := cloneCA(stripAt(want).ConditionalAccess[0])
	have := State{SecurityDefaults: true, Groups: breakGlass, ConditionalAccess: []CAPolicyState{{ID: "p1", State: CAReportOnly, CAPolicy: ready}}}
	var got []string
	for _, s := range Plan(want, have) {
		if s.Resource == ResConditionalAccess || s.Resource == ResSecurityDefaults {
			got = append(got, fmt.Sprintf("%s %s %v", s.Kind, s.Name, s.WaitsFor))
		}
	}
	waits := "[Require MFA for all users Block legacy authentication Require compliant devices for admins]"
	want2 := []string{
		"create Require MFA for all users []",
		"create Block legacy authentication []",
		"create Require compliant devices for admins []",
		"update security defaults " + waits,
		"enable Require MFA for admins " + waits,
	}
	if !reflect.DeepEqual(got, want2) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want2, "\n"))
	}
}

func TestPlanIdempotent(t *testing.T) {
	want := Default()
	have := State{Groups: breakGlass}
	first := Plan(want, have)
	have = apply(t, want, have, first, func(s Step) bool { return s.Kind == Create || s.Kind == Update })

	second := Plan(want, have)
	if got := kinds(second); !reflect.DeepEqual(got, []Kind{Enable, Leave}) {
		t.Errorf("after the creates: kinds %v, want enable and leave\n%s", got, strings.Join(summary(second), "\n"))
	}
	for _, s := range second {
		if s.Kind == Enable && !s.NeedsImpactReview {
			t.Errorf("%s: enable without impact review", s.Name)
		}
	}
	// Planning the same state again plans the same steps.
	if again := Plan(want, have); !reflect.DeepEqual(again, second) {
		t.Error("two plans of one state differ")
	}

	have = apply(t, want, have, second, all)
	third := Plan(want, have)
	if got := kinds(third); !reflect.DeepEqual(got, []Kind{Leave}) {
		t.Errorf("after the enables: kinds %v, want only leave\n%s", got, strings.Join(summary(third), "\n"))
	}
}

func TestPlanComplianceWithoutAssignment(t *testing.T) {
	want := Baseline{Compliance: []CompliancePolicy{{Name: "iOS", Platform: IOS, Passcode: true}}}
	got := summary(Plan(want, State{}))
	wantSteps := []string{"leave security_defaults security defaults", "leave auth_method temporary_access_pass", "leave auth_method authenticator", "leave auth_method fido2", "leave auth_method sms", "leave sspr self-service password reset", "create compliance iOS"}
	if !reflect.DeepEqual(got, wantSteps) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantSteps, "\n"))
	}
}

func TestPlanDrift(t *testing.T) {
	want := Default()
	want.NamedLocations = []NamedLocation{{Name: "MSP office", CIDRs: []string{"203.0.113.0/24", "198.51.100.0/24"}, Trusted: true}}
	have := State{Groups: breakGlass}
	have = apply(t, want, have, Plan(want, have), all)
	have = apply(t, want, have, Plan(want, have), all)

	// Changes behind tierzero's back.
	have.NamedLocations[0].CIDRs = []string{"198.51.100.0/24", "203.0.113.0/24"} // same set: no drift
	have.NamedLocations[0].Trusted = false
	have.AuthMethods.SMS = true
	have.AuthMethods.TAP.LifetimeMinutes = 480
	win := slices.IndexFunc(have.Compliance, func(p CompliancePolicyState) bool { return p.Platform == Windows })
	have.Compliance[win].MinOSVersion = "10.0.17763"
	have.Compliance[win].Antivirus = false
	ios := slices.IndexFunc(have.Compliance, func(p CompliancePolicyState) bool { return p.Platform == IOS })
	have.Compliance[ios].AssignTo = []string{"all_devices"}
	android := slices.IndexFunc(have.Compliance, func(p CompliancePolicyState) bool { return p.Platform == Android })
	have.Compliance[android].Platform = IOS
	before := cloneState(have)
	blockers := []string{"Require compliant devices for admins"}
	const blocks = `applies at once: devices that fall short become noncompliant, and "Require compliant devices for admins" then blocks them`

	var got []Step
	for _, s := range Plan(want, have) {
		if s.Kind != Leave {
			got = append(got, s)
		}
	}
	wantSteps := []Step{
		{Kind: Update, Resource: ResNamedLocation, Name: "MSP office", ID: have.NamedLocations[0].ID, Why: "trusted is false, baseline wants true", Changes: []Change{{"trusted", "false", "true"}}},
		{Kind: Update, Resource: ResAuthMethod, Name: "temporary_access_pass", Why: "lifetime_minutes is 480, baseline wants 60", Changes: []Change{{"lifetime_minutes", "480", "60"}}},
		{Kind: Update, Resource: ResAuthMethod, Name: "sms", Why: "enabled is true, baseline wants false; users registered with this method only must register another first", Changes: []Change{{"enabled", "true", "false"}}, NeedsImpactReview: true},
		// The baseline's compliant-device policy is switched on: what
		// makes devices noncompliant applies at once, and it blocks them.
		{Kind: Update, Resource: ResCompliance, Name: "Windows 10/11 compliance baseline", ID: have.Compliance[win].ID, Why: "antivirus is false, baseline wants true; min_os_version is 10.0.17763, baseline wants 10.0.22631; " + blocks,
			Changes: []Change{{"antivirus", "false", "true"}, {"min_os_version", "10.0.17763", "10.0.22631"}}, NeedsImpactReview: true, BlockedBy: blockers},
		{Kind: Conflict, Resource: ResCompliance, Name: "Android compliance baseline", ID: have.Compliance[android].ID,
			Why: `the tenant's policy "Android compliance baseline" is for ios, the baseline's for android: a policy's platform cannot change; rename or delete the tenant's`},
		{Kind: Update, Resource: ResAssignment, Name: "iOS compliance baseline", ID: have.Compliance[ios].ID, Why: "assign_to is all_devices, baseline wants all_users; " + blocks,
			Changes: []Change{{"assign_to", "all_devices", "all_users"}}, NeedsImpactReview: true, BlockedBy: blockers},
	}
	if !reflect.DeepEqual(got, wantSteps) {
		t.Errorf("got\n%s\nwant\n%s", dump(got), dump(wantSteps))
	}
	if !reflect.DeepEqual(have, before) {
		t.Error("Plan changed the state it was given")
	}
}

func dump(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%#v\n", s)
	}
	return b.String()
}

// TestPlanComplianceKeepsMinimumVersion: a minimum OS version the baseline
// does not set is the tenant's, never cleared: alone, a conflict; with a
// change, kept (the update's body has no minimum version at all).
func TestPlanComplianceKeepsMinimumVersion(t *testing.T) {
	want := CompliancePolicy{Name: "Phones", Platform: IOS, Passcode: true}
	have := CompliancePolicyState{ID: "c1", CompliancePolicy: CompliancePolicy{Name: "Phones", Platform: IOS, Passcode: true, MinOSVersion: "16.0"}}
	steps := Plan(Baseline{Compliance: []CompliancePolicy{want}}, State{Compliance: []CompliancePolicyState{have}})
	s := steps[slices.IndexFunc(steps, func(s Step) bool { return s.Resource == ResCompliance })]
	if s.Kind != Conflict || !slices.Equal(s.Kept, []string{"osMinimumVersion"}) || !strings.Contains(s.Why, "tierzero does not remove what the baseline does not describe") {
		t.Errorf("only the minimum version: %+v", s)
	}
	have.Passcode = false
	steps = Plan(Baseline{Compliance: []CompliancePolicy{want}}, State{Compliance: []CompliancePolicyState{have}})
	s = steps[slices.IndexFunc(steps, func(s Step) bool { return s.Resource == ResCompliance })]
	if s.Kind != Update || !slices.Equal(s.Kept, []string{"osMinimumVersion"}) || len(s.Changes) != 1 || s.Changes[0].Field != "passcode" {
		t.Errorf("with a change: %+v", s)
	}
	if b := complianceBody(want, false); len(b) != 3 || b["osMinimumVersion"] != nil {
		t.Errorf("update body %v", b)
	}
}

// TestTightens: which compliance changes require more of a device.
func TestTightens(t *testing.T) {
	for _, tt := range []struct {
		c    Change
		want bool
	}{
		{Change{"bitlocker", "false", "true"}, true},
		{Change{"bitlocker", "true", "false"}, false},
		{Change{"block_jailbroken", "false", "true"}, true},
		{Change{"min_os_version", "", "17.0"}, true},
		{Change{"min_os_version", "10.0.17763", "10.0.22631"}, true},
		{Change{"min_os_version", "10.0.22631", "10.0.17763"}, false},
		{Change{"min_os_version", "17", "17.0"}, false},
		{Change{"min_os_version", "16.7", "17"}, true},
		{Change{"min_os_version", "17.0", "17.0a"}, true}, // not a version: counted as higher
		{Change{"min_os_version", "17.0", ""}, false},
		{Change{"platform", "ios", "android"}, false},
	} {
		if got := tightens([]Change{tt.c}); got != tt.want {
			t.Errorf("%v: tightens %v, want %v", tt.c, got, tt.want)
		}
	}
}
