package baseline

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// withDup returns doc with a second group named like name (in lower case).
func withDup(doc tierzero.BaselineDoc, name string) tierzero.BaselineDoc {
	doc.Groups = append(slices.Clone(doc.Groups), tierzero.BaselineGroup{ID: "dup-" + name, DisplayName: strings.ToLower(name)})
	return doc
}

func itemNamed(p tierzero.BaselinePlan, res Resource, name string) (tierzero.BaselineItem, bool) {
	for _, it := range p.Items {
		if it.Resource == string(res) && it.Name == name {
			return it, true
		}
	}
	return tierzero.BaselineItem{}, false
}

func hasStepFor(t *testing.T, p tierzero.BaselinePlan, name string) bool {
	t.Helper()
	for _, s := range p.Plan.Steps {
		if stepArgs(t, s)["name"] == name {
			return true
		}
	}
	return false
}

// TestUnresolvedNames: a name the tenant does not have, or has twice, makes
// its step a conflict a person resolves, never a guess.
func TestUnresolvedNames(t *testing.T) {
	const override = `scope: {tenant: fabrikam}
conditional_access:
  - name: Leave out the break-glass user
    users: {all: true, exclude_users: [breakglass@fabrikam.com]}
    grant: mfa
  - name: Finance by group
    users: {groups: [Finance Approvers], exclude_groups: [Break Glass Accounts]}
    grant: compliantDevice
compliance:
  - name: Sales phones
    platform: ios
    passcode: true
    assign_to: [Sales Team]
  - name: Nobody's phones
    platform: android
    assign_to: [No Such Group]
`
	tests := []struct {
		name, item string
		res        Resource
		doc        tierzero.BaselineDoc
		why        string
	}{
		{"user not in the tenant", "Leave out the break-glass user", ResConditionalAccess, withBreakGlass(simDoc(t, "fabrikam")),
			`user "breakglass@fabrikam.com" does not exist in the tenant`},
		{"two groups of one name", "Finance by group", ResConditionalAccess, withDup(withBreakGlass(simDoc(t, "fabrikam")), breakGlassName),
			`2 groups are named "Break Glass Accounts": rename all but one`},
		{"exclusion group missing", "Finance by group", ResConditionalAccess, withoutBreakGlass(simDoc(t, "fabrikam")),
			`group "Break Glass Accounts" does not exist in the tenant`},
		{"assignment group twice", "Sales phones", ResCompliance, withDup(withBreakGlass(simDoc(t, "fabrikam")), "Sales Team"),
			`2 groups are named "Sales Team"`},
		{"assignment group missing", "Nobody's phones", ResCompliance, withBreakGlass(simDoc(t, "fabrikam")),
			`group "No Such Group" to assign the policy to does not exist in the tenant`},
	}
	s := defaultSet(t, override)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.PlanBaseline(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			it, ok := itemNamed(p, tt.res, tt.item)
			if !ok || it.Kind != string(Conflict) || !strings.Contains(it.Why, tt.why) {
				t.Errorf("item %+v, want a conflict saying %q", it, tt.why)
			}
			if hasStepFor(t, p, tt.item) {
				t.Errorf("a step for %q", tt.item)
			}
			if !slices.ContainsFunc(p.LeftToDo, func(l string) bool { return strings.Contains(l, tt.item) && strings.Contains(l, tt.why) }) {
				t.Errorf("left to do %q says nothing of %q", p.LeftToDo, tt.item)
			}
		})
	}
	// Resolved, the same names render the tenant's ids.
	doc := withBreakGlass(simDoc(t, "fabrikam"))
	doc.Users = map[string]string{"BreakGlass@fabrikam.com": "u-bg"}
	p, err := s.PlanBaseline(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Plan.Steps {
		a := stepArgs(t, st)
		switch a["name"] {
		case "Leave out the break-glass user":
			u := jsonArg(t, a, "body")["conditions"].(map[string]any)["users"].(map[string]any)
			if !reflect.DeepEqual(u["excludeUsers"], []any{"u-bg"}) {
				t.Errorf("excluded users %v", u["excludeUsers"])
			}
		case "Sales phones":
			as := jsonArg(t, a, "assignments")["assignments"].([]any)
			if tg := as[0].(map[string]any)["target"].(map[string]any); tg["groupId"] != "32b22aef-4a3c-44b0-8df8-5355314ce4de" || tg["@odata.type"] != odataGroupTarget {
				t.Errorf("assignment %v", tg)
			}
		}
	}
	if !hasStepFor(t, p, "Leave out the break-glass user") || !hasStepFor(t, p, "Sales phones") {
		t.Errorf("steps %v", stepSummary(t, p))
	}
}

// TestMissingCapability: what the tenant has no licence for is a conflict
// and a line for a person, never a create Graph would refuse; security
// defaults stay the tenant's MFA.
func TestMissingCapability(t *testing.T) {
	noP1 := withBreakGlass(simDoc(t, "fabrikam"))
	noP1.ConditionalAccess, noP1.CAPolicies, noP1.NamedLocations = false, nil, nil
	noP1Off := noP1
	noP1Off.SecurityDefaults = json.RawMessage(`{"isEnabled":false}`)
	noIntune := withBreakGlass(simDoc(t, "contoso"))
	noIntune.Intune, noIntune.CompliancePolicies = false, nil
	tests := []struct {
		name     string
		doc      tierzero.BaselineDoc
		conflict []string // resources made conflicts
		sd       string   // the security defaults item's kind
		toDo     string
		steps    []string
	}{
		{"no Entra ID P1", noP1, []string{"conditional_access"}, "leave",
			`Conditional Access: the tenant has no Entra ID P1 licence, so "Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Require compliant devices for admins" cannot be created`,
			[]string{"set_auth_method TemporaryAccessPass", "set_auth_method Fido2", "create_compliance_policy Android compliance baseline",
				"assign_compliance_policy Windows 10/11 compliance baseline", "assign_compliance_policy iOS compliance baseline"}},
		{"no Entra ID P1, security defaults off", noP1Off, []string{"conditional_access", "security_defaults"}, "conflict",
			"security defaults: they are off and the tenant has no Entra ID P1 for Conditional Access, so nothing requires MFA",
			[]string{"set_auth_method TemporaryAccessPass", "set_auth_method Fido2", "create_compliance_policy Android compliance baseline",
				"assign_compliance_policy Windows 10/11 compliance baseline", "assign_compliance_policy iOS compliance baseline"}},
		{"no Intune", noIntune, []string{"compliance", "assignment"}, "leave",
			`compliance policies: the tenant has no Intune licence, so "Windows 10/11 compliance baseline", "iOS compliance baseline", "Android compliance baseline" cannot be created`,
			// The change of the switched-on admins policy applies at
			// once: it waits for the enable phase.
			[]string{"create_ca_policy Require MFA for all users", "update_ca_policy Block legacy authentication",
				"create_ca_policy Require compliant devices for admins", "set_auth_method TemporaryAccessPass", "set_auth_method Fido2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := defaultSet(t).PlanBaseline(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				if slices.Contains(tt.conflict, it.Resource) && it.Kind != string(Conflict) {
					t.Errorf("%s %s: %s, want conflict", it.Resource, it.Name, it.Kind)
				}
				if it.Resource == string(ResSecurityDefaults) && it.Kind != tt.sd {
					t.Errorf("security defaults: %s (%s), want %s", it.Kind, it.Why, tt.sd)
				}
			}
			if !slices.ContainsFunc(p.LeftToDo, func(l string) bool { return strings.HasPrefix(l, tt.toDo) }) {
				t.Errorf("left to do:\n%s\nwant a line starting %q", strings.Join(p.LeftToDo, "\n"), tt.toDo)
			}
			if got := stepSummary(t, p); !slices.Equal(got, tt.steps) {
				t.Errorf("steps:\ngot  %q\nwant %q", got, tt.steps)
			}
		})
	}
}

// TestNoToolForIt: a change no baseline tool makes is a conflict: a
// disabled policy (tierzero switches state only from report-only to on), a
// named location that differs (no tool changes one).
func TestNoToolForIt(t *testing.T) {
	const override = `scope: {tenant: contoso}
named_locations:
  - name: Contoso HQ
    cidrs: [203.0.113.0/24]
    trusted: true
`
	doc := withBreakGlass(simDoc(t, "contoso"))
	ps := objects(t, doc.CAPolicies)
	ps[1]["state"] = string(CADisabled) // Block legacy authentication
	doc.CAPolicies = raws(t, ps)
	doc.NamedLocations = []json.RawMessage{json.RawMessage(`{"@odata.type":"#microsoft.graph.ipNamedLocation","id":"loc-hq","displayName":"Contoso HQ","isTrusted":false,"ipRanges":[{"cidrAddress":"203.0.113.0/24"}]}`)}
	p, err := defaultSet(t, override).PlanBaseline(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		res       Resource
		name, why string
	}{
		{ResConditionalAccess, "Block legacy authentication", "the policy is disabled: tierzero changes a policy's state only to switch a report-only policy on; set it to report-only in the Entra admin center"},
		{ResNamedLocation, "Contoso HQ", "tierzero does not change an existing named location (trusted is false, baseline wants true)"},
	} {
		it, _ := itemNamed(p, tt.res, tt.name)
		if it.Kind != string(Conflict) || !strings.HasPrefix(it.Why, tt.why) {
			t.Errorf("%s: %s %q, want a conflict %q", tt.name, it.Kind, it.Why, tt.why)
		}
		if hasStepFor(t, p, tt.name) {
			t.Errorf("a step for %s", tt.name)
		}
	}
}

// TestEnablePhase: the enable phase comes only when nothing is left to
// create or change: security defaults off first (stopping the plan if it
// fails), then each report-only policy; a policy waiting on a conflict
// keeps security defaults on and is said to a person.
func TestEnablePhase(t *testing.T) {
	// fabrikam with the default's four policies in report-only, as the
	// create phase leaves them, and nothing else to do.
	doc := withBreakGlass(simDoc(t, "fabrikam"))
	g := &fakeGraph{t: t, doc: &doc}
	p, _ := defaultSet(t).PlanBaseline(doc)
	for _, s := range p.Plan.Steps {
		g.run(s)
	}
	p, err := defaultSet(t).PlanBaseline(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"set_security_defaults false", "enable_ca_policy Require MFA for admins", "enable_ca_policy Require MFA for all users",
		"enable_ca_policy Block legacy authentication", "enable_ca_policy Require compliant devices for admins"}
	if got := stepSummary(t, p); p.Plan.Phase != tierzero.BaselineEnable || !slices.Equal(got, want) {
		t.Fatalf("%s %q, want enable %q", p.Plan.Phase, got, want)
	}
	if !p.Plan.Steps[0].Stop || p.Plan.Steps[0].Args != `{"enabled":false}` {
		t.Errorf("security defaults step: %+v", p.Plan.Steps[0])
	}
	// Each enable step names the policy by id and says when it last
	// changed, as Graph gave it (created, as none has changed since).
	created := map[any]any{}
	for _, o := range objects(t, doc.CAPolicies) {
		created[o["id"]] = o["createdDateTime"]
	}
	for _, s := range p.Plan.Steps[1:] {
		if a := stepArgs(t, s); a["id"] == "" || len(a) != 3 || a["modified"] == "" || a["modified"] != created[a["id"]] || s.Stop {
			t.Errorf("enable step: %+v", s)
		}
	}
	if got, want := p.Plan.Steps[1].Label, `switch on the Conditional Access policy "Require MFA for admins" (report-only until now)`; got != want {
		t.Errorf("label %q, want %q", got, want)
	}

	// A policy the tenant cannot take yet (its exclusion group gone):
	// security defaults wait for it, so no policy is switched on.
	doc = withoutBreakGlass(doc)
	p, _ = defaultSet(t).PlanBaseline(doc)
	if len(p.Plan.Steps) != 0 {
		t.Errorf("steps %q while security defaults wait", stepSummary(t, p))
	}
	if !slices.ContainsFunc(p.LeftToDo, func(l string) bool {
		return strings.HasPrefix(l, "security defaults stay on, and no policy is switched on, until")
	}) {
		t.Errorf("left to do %q", p.LeftToDo)
	}

	// While a create remains, a policy ready to be switched on waits for
	// the next phase.
	doc = withBreakGlass(simDoc(t, "contoso"))
	p, _ = defaultSet(t).PlanBaseline(doc)
	if it, _ := itemNamed(p, ResConditionalAccess, "Block legacy authentication"); it.Kind != "update" {
		t.Fatalf("legacy: %+v", it)
	}
}

func TestUsersNamed(t *testing.T) {
	s := defaultSet(t, `scope: {tenant: contoso}
conditional_access:
  - name: A
    users: {all: true, exclude_users: [zoe@contoso.com, Break@contoso.com]}
    grant: mfa
  - name: B
    users: {all: true, exclude_users: [break@CONTOSO.com]}
    grant: mfa
`)
	if got, want := s.UsersNamed("contoso"), []string{"Break@contoso.com", "zoe@contoso.com"}; !slices.Equal(got, want) {
		t.Errorf("contoso: %q, want %q", got, want)
	}
	if got := s.UsersNamed("fabrikam"); got != nil {
		t.Errorf("fabrikam: %q, want none", got)
	}
}

// TestRoleTemplates: every role a baseline may name has its template id,
// and the table reads both ways.
func TestRoleTemplates(t *testing.T) {
	if len(roleTemplates) != len(AdminRoles) {
		t.Errorf("%d template ids for %d roles", len(roleTemplates), len(AdminRoles))
	}
	ids := map[string]bool{}
	for _, r := range AdminRoles {
		id, ok := roleID(strings.ToLower(r))
		if !ok || !appID.MatchString(id) || ids[id] {
			t.Errorf("%s: %q", r, id)
		}
		ids[id] = true
		if roleName(strings.ToUpper(id)) != r {
			t.Errorf("%s: back %q", id, roleName(id))
		}
	}
	if roleName("not-a-role") != "not-a-role" {
		t.Error("an unknown id does not stay itself")
	}
}

// TestStepCap: a phase of more steps than one plan holds proposes the
// first tierzero.MaxPlanSteps; the next plan has the rest.
func TestStepCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("scope: {tenant: fabrikam}\nnamed_locations:\n")
	for i := range 70 {
		fmt.Fprintf(&b, "  - {name: Office %d, cidrs: [10.%d.0.0/16]}\n", i, i)
	}
	p, err := defaultSet(t, b.String()).PlanBaseline(withBreakGlass(simDoc(t, "fabrikam")))
	if err != nil {
		t.Fatal(err)
	}
	checkPlanArgs(t, p)
	if len(p.Plan.Steps) != tierzero.MaxPlanSteps || stepArgs(t, p.Plan.Steps[0])["name"] != "Office 0" {
		t.Errorf("%d steps, want the first %d", len(p.Plan.Steps), tierzero.MaxPlanSteps)
	}
}

// TestWindowsFirewallAntivirus: a Windows policy's firewall and antivirus
// (activeFirewallRequired, antivirusRequired: in Graph v1.0's
// windows10CompliancePolicy) are settings like BitLocker: rendered in
// create and update bodies, a differing value (or one the tenant's JSON
// leaves out, Graph's default false) is an ordinary change, nothing about
// them is left to a person, and once the step has run as Graph stores it,
// planning again leaves the policy as it is.
func TestWindowsFirewallAntivirus(t *testing.T) {
	const win = "Windows 10/11 compliance baseline"
	edit := func(f func(ps []map[string]any) []map[string]any) tierzero.BaselineDoc {
		doc := withBreakGlass(simDoc(t, "contoso"))
		doc.CompliancePolicies = raws(t, f(objects(t, doc.CompliancePolicies)))
		return doc
	}
	set := func(fw, av bool) func(ps []map[string]any) []map[string]any {
		return func(ps []map[string]any) []map[string]any {
			if ps[0]["displayName"] != win {
				t.Fatalf("first policy %v", ps[0]["displayName"])
			}
			ps[0]["activeFirewallRequired"], ps[0]["antivirusRequired"] = fw, av
			return ps
		}
	}
	// A tenant whose baseline wants the firewall required, antivirus not.
	const noAntivirus = `scope: {tenant: contoso}
compliance:
  - name: Windows 10/11 compliance baseline
    platform: windows
    bitlocker: true
    firewall: true
    antivirus: false
    min_os_version: 10.0.22631
    assign_to: [all_users]
`
	tests := []struct {
		name    string
		set     *Set
		doc     tierzero.BaselineDoc
		item    string
		changes []string
		label   string // the Windows policy's step; "" for none
		fw, av  bool   // the step's body
	}{
		{"as seeded: antivirus not required", defaultSet(t), withBreakGlass(simDoc(t, "contoso")), "update",
			[]string{"antivirus: false → true"},
			`change the Windows compliance policy "` + win + `" (antivirus required: no → yes)`, true, true},
		{"neither in the tenant's JSON", defaultSet(t), edit(func(ps []map[string]any) []map[string]any {
			delete(ps[0], "activeFirewallRequired")
			delete(ps[0], "antivirusRequired")
			return ps
		}), "update", []string{"firewall: false → true", "antivirus: false → true"},
			`change the Windows compliance policy "` + win + `" (firewall required: no → yes; antivirus required: no → yes)`, true, true},
		{"firewall off, antivirus on", defaultSet(t), edit(set(false, true)), "update", []string{"firewall: false → true"},
			`change the Windows compliance policy "` + win + `" (firewall required: no → yes)`, true, true},
		{"a change besides", defaultSet(t), edit(func(ps []map[string]any) []map[string]any {
			ps[0]["bitLockerEnabled"] = false
			return ps
		}), "update", []string{"bitlocker: false → true", "antivirus: false → true"},
			`change the Windows compliance policy "` + win + `" (BitLocker required: no → yes; antivirus required: no → yes)`, true, true},
		{"in line", defaultSet(t), edit(set(true, true)), "leave", nil, "", false, false},
		{"baseline wants antivirus off", defaultSet(t, noAntivirus), edit(set(true, true)), "update", []string{"antivirus: true → false"},
			`change the Windows compliance policy "` + win + `" (antivirus required: yes → no)`, true, false},
		{"created", defaultSet(t), edit(func(ps []map[string]any) []map[string]any { return ps[1:] }), "create",
			[]string{"platform: none → windows", "bitlocker: false → true", "firewall: false → true", "antivirus: false → true", "min_os_version: none → 10.0.22631"},
			`create the Windows compliance policy "` + win + `" (BitLocker, firewall, antivirus, Windows 10.0.22631 or later), assigned to all licensed users`, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.set.PlanBaseline(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			it, _ := itemNamed(p, ResCompliance, win)
			if it.Kind != tt.item || !slices.Equal(it.Changes, tt.changes) {
				t.Errorf("item %+v, want %s %q", it, tt.item, tt.changes)
			}
			for _, l := range p.LeftToDo {
				if strings.Contains(l, "firewall") || strings.Contains(l, "antivirus") || strings.Contains(l, "Intune admin center") {
					t.Errorf("left to a person: %q", l)
				}
			}
			var step *tierzero.PlanStepArg
			for _, s := range p.Plan.Steps {
				if stepArgs(t, s)["name"] == win {
					step = &s
				}
			}
			switch {
			case tt.label == "" && step != nil:
				t.Fatalf("a step %q", step.Label)
			case tt.label == "":
				return
			case step == nil:
				t.Fatalf("no step for %s; steps %q", win, stepSummary(t, p))
			}
			if step.Label != tt.label {
				t.Errorf("label\ngot  %q\nwant %q", step.Label, tt.label)
			}
			b := jsonArg(t, stepArgs(t, *step), "body")
			if b["activeFirewallRequired"] != tt.fw || b["antivirusRequired"] != tt.av {
				t.Errorf("body %v, want activeFirewallRequired %v, antivirusRequired %v", b, tt.fw, tt.av)
			}

			// As Graph stores it, then planned again: the policy is left.
			doc := tt.doc
			(&fakeGraph{t: t, doc: &doc}).run(*step)
			p, err = tt.set.PlanBaseline(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range []Resource{ResCompliance, ResAssignment} {
				if it, _ := itemNamed(p, res, win); it.Kind != string(Leave) {
					t.Errorf("after the step: %+v", it)
				}
			}
			if hasStepFor(t, p, win) {
				t.Errorf("after the step, a step again: %q", stepSummary(t, p))
			}
		})
	}
}

// TestSettingsBeyondTheBaseline: a report-only policy that has a setting
// the baseline does not describe anywhere in it (session controls, a
// top-level property), as when it is changed between the plan and its
// approval, is a conflict: never switched on, the setting never removed.
// The plan made before the change names the policy as it was then
// (modified), so graph refuses to switch the changed one on.
func TestSettingsBeyondTheBaseline(t *testing.T) {
	base := withBreakGlass(simDoc(t, "fabrikam"))
	g := &fakeGraph{t: t, doc: &base}
	p, _ := defaultSet(t).PlanBaseline(base)
	for _, s := range p.Plan.Steps {
		g.run(s)
	}
	before, _ := defaultSet(t).PlanBaseline(base)
	if before.Plan.Phase != tierzero.BaselineEnable {
		t.Fatalf("phase %q", before.Plan.Phase)
	}
	const name = "Require MFA for all users"
	tests := []struct {
		name, key string
		value     any
		kept      string // "" when it sets nothing
	}{
		{"sign-in frequency", "sessionControls", map[string]any{"signInFrequency": map[string]any{"isEnabled": true, "value": 12, "type": "hours"}},
			"sets a sign-in frequency (sessionControls.signInFrequency)"},
		{"app-enforced restrictions", "sessionControls", map[string]any{"applicationEnforcedRestrictions": map[string]any{"isEnabled": true}},
			"uses app-enforced restrictions (sessionControls.applicationEnforcedRestrictions)"},
		{"resilience defaults off", "sessionControls", map[string]any{"disableResilienceDefaults": true},
			"disables the resilience defaults (sessionControls.disableResilienceDefaults)"},
		{"a session control of another name", "sessionControls", map[string]any{"secureSignInSession": map[string]any{"isEnabled": true}},
			"sets sessionControls.secureSignInSession"},
		{"a top-level property", "partialEnablementStrategy", "restricted", "sets partialEnablementStrategy"},
		{"a session control switched off", "sessionControls", map[string]any{"signInFrequency": map[string]any{"isEnabled": false,
			"authenticationType": "primaryAndSecondaryAuthentication", "frequencyInterval": "timeBased"}, "disableResilienceDefaults": false}, ""},
		{"no session controls", "sessionControls", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := base
			ps := objects(t, doc.CAPolicies)
			var pol map[string]any
			for _, p := range ps {
				if p["displayName"] == name {
					pol = p
				}
			}
			pol[tt.key] = tt.value
			pol["modifiedDateTime"] = "2026-12-02T08:00:00Z"
			doc.CAPolicies = raws(t, ps)
			p, err := defaultSet(t).PlanBaseline(doc)
			if err != nil {
				t.Fatal(err)
			}
			it, _ := itemNamed(p, ResConditionalAccess, name)
			if tt.kept == "" {
				if it.Kind != string(Enable) {
					t.Fatalf("%+v, want enable", it)
				}
				for _, s := range p.Plan.Steps {
					if a := stepArgs(t, s); a["name"] == name && a["modified"] != "2026-12-02T08:00:00Z" {
						t.Errorf("modified %v", a["modified"])
					}
				}
				return
			}
			if it.Kind != string(Conflict) || !strings.Contains(it.Why, tt.kept) {
				t.Errorf("%+v, want a conflict: %s", it, tt.kept)
			}
			if hasStepFor(t, p, name) {
				t.Errorf("a step for %s: %v", name, stepSummary(t, p))
			}
			if !slices.ContainsFunc(p.LeftToDo, func(l string) bool {
				return strings.HasPrefix(l, fmt.Sprintf("Conditional Access policy %q: ", name)) && strings.Contains(l, tt.kept)
			}) {
				t.Errorf("left to do: %q", p.LeftToDo)
			}
			// The plan made before the change would switch on the
			// policy as it was: its modified no longer matches.
			for _, s := range before.Plan.Steps {
				if a := stepArgs(t, s); a["name"] == name && a["modified"] == modifiedOf(pol) {
					t.Errorf("the earlier plan's step matches the changed policy: %v", a)
				}
			}
		})
	}
}

// TestExclusionGroupKind: a policy's exclusion group must be a security
// group that is not a Microsoft 365 group (any user may create one of any
// name and join it): otherwise every policy that leaves it out is a
// conflict saying why, with the group's id, and none is created, changed
// or switched on. A policy already as the baseline has it shows as drift.
func TestExclusionGroupKind(t *testing.T) {
	policies := []string{"Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Require compliant devices for admins"}
	tests := []struct {
		name     string
		security bool
		types    []string
		why      string // "" when the group may exempt
	}{
		{"Microsoft 365 group", false, []string{"Unified"}, "is a Microsoft 365 group: any user may create a Microsoft 365 group"},
		{"security-enabled Microsoft 365 group", true, []string{"Unified"}, "is a Microsoft 365 group: any user may create a Microsoft 365 group"},
		{"not a security group", false, nil, "is not a security group (securityEnabled is false)"},
		{"dynamic security group", true, []string{"DynamicMembership"}, ""},
		{"security group", true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := withBreakGlass(simDoc(t, "fabrikam"))
			doc.Groups = slices.Clone(doc.Groups)
			id := breakGlassID(doc)
			for i, g := range doc.Groups {
				if g.ID == id {
					doc.Groups[i].SecurityEnabled, doc.Groups[i].GroupTypes = tt.security, tt.types
				}
			}
			p, err := defaultSet(t).PlanBaseline(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range policies {
				it, _ := itemNamed(p, ResConditionalAccess, n)
				if tt.why == "" {
					if it.Kind == string(Conflict) {
						t.Errorf("%s: %+v", n, it)
					}
					continue
				}
				want := fmt.Sprintf("the exclusion group %q (id %s) %s", breakGlassName, id, tt.why)
				if it.Kind != string(Conflict) || !strings.HasPrefix(it.Why, want) {
					t.Errorf("%s: %+v, want a conflict: %s", n, it, want)
				}
				if hasStepFor(t, p, n) {
					t.Errorf("%s: a step", n)
				}
			}
		})
	}

	// A policy as the baseline has it, switched on, is drift once its
	// exclusion group is a Microsoft 365 group.
	doc := withBreakGlass(simDoc(t, "fabrikam"))
	g := &fakeGraph{t: t, doc: &doc}
	for range 3 {
		p, _ := defaultSet(t).PlanBaseline(doc)
		for _, s := range p.Plan.Steps {
			g.run(s)
		}
	}
	if p, _ := defaultSet(t).PlanBaseline(doc); len(p.Drift()) != 0 {
		t.Fatalf("drift after apply: %v", p.Drift())
	}
	doc.Groups = slices.Clone(doc.Groups)
	for i, gr := range doc.Groups {
		if gr.DisplayName == breakGlassName {
			doc.Groups[i].GroupTypes = []string{"Unified"}
		}
	}
	p, _ := defaultSet(t).PlanBaseline(doc)
	if it, _ := itemNamed(p, ResConditionalAccess, "Require MFA for all users"); it.Kind != string(Conflict) || len(p.Plan.Steps) != 0 {
		t.Errorf("%+v, steps %v", it, stepSummary(t, p))
	}
}
