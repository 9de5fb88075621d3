package baseline

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

func names[T any](items []T, name func(T) string) []string {
	var out []string
	for _, i := range items {
		out = append(out, name(i))
	}
	return out
}

func caNames(b Baseline) []string {
	return names(b.ConditionalAccess, func(p CAPolicy) string { return p.Name })
}

func TestDefault(t *testing.T) {
	b := Default()
	tests := []struct {
		name      string
		got, want any
	}{
		{"conditional access", caNames(b), []string{"Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Require compliant devices for admins"}},
		{"security defaults unset (off because of the policies)", b.SecurityDefaults, (*bool)(nil)},
		{"no named location", len(b.NamedLocations), 0},
		{"all users excludes break glass", b.ConditionalAccess[1].Users, Users{All: true, ExcludeGroups: []string{"Break Glass Accounts"}}},
		{"legacy auth", []any{b.ConditionalAccess[2].ClientAppTypes, b.ConditionalAccess[2].Grant}, []any{[]string{"exchangeActiveSync", "other"}, GrantBlock}},
		{"admins compliant", b.ConditionalAccess[3].Grant, GrantCompliantDevice},
		{"admins mfa roles", slices.Contains(b.ConditionalAccess[0].Users.Roles, "Global Administrator"), true},
		{"tap", b.AuthMethods.TAP, TAP{Enabled: true, LifetimeMinutes: 60, UsableOnce: true}},
		{"sspr", b.SSPR, SSPR{Enabled: true, MethodsRequired: 2}},
		{"compliance", stripAt(b).Compliance, []CompliancePolicy{
			{Name: "Windows 10/11 compliance baseline", Platform: Windows, BitLocker: true, Firewall: true, Antivirus: true, MinOSVersion: "10.0.22631", AssignTo: []string{"all_users"}},
			{Name: "iOS compliance baseline", Platform: IOS, Passcode: true, BlockJailbroken: true, MinOSVersion: "17.0", AssignTo: []string{"all_users"}},
			{Name: "Android compliance baseline", Platform: Android, Passcode: true, BlockJailbroken: true, MinOSVersion: "13", AssignTo: []string{"all_users"}},
		}},
		{"validates", validate(b), []string(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// stripAt clears the source positions, to compare baselines.
func stripAt(b Baseline) Baseline {
	b = b.Clone()
	b.sdAt = ""
	for i := range b.NamedLocations {
		b.NamedLocations[i].at = ""
	}
	for i := range b.ConditionalAccess {
		b.ConditionalAccess[i].at = ""
	}
	for i := range b.Compliance {
		b.Compliance[i].at = ""
	}
	for i := range b.Departments {
		b.Departments[i].at = ""
	}
	return b
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const globalYAML = `scope: {global: true}
named_locations:
  - name: MSP office
    cidrs: [203.0.113.0/24]
    trusted: true
conditional_access:
  - name: require mfa for ALL users
    users: {all: true, exclude_groups: [Break Glass Accounts, Service Accounts]}
    grant: mfa
  - name: Require compliant devices for admins
    remove: true
auth_methods:
  sms: true
departments:
  - name: Sales
    groups: [Sales, All Staff]
    licenses: [SPE_E3]
`

const contosoYAML = `scope: {tenant: contoso}
conditional_access:
  - name: Block outside the office
    users: {groups: [Finance], exclude_groups: [Break Glass Accounts]}
    locations: {exclude: [MSP office]}
    grant: block
auth_methods:
  temporary_access_pass: {lifetime_minutes: 120}
sspr: {enabled: false}
compliance:
  - name: Android compliance baseline
    remove: true
`

func TestLayering(t *testing.T) {
	dir := writeDir(t, map[string]string{"00-global.yaml": globalYAML, "contoso.yaml": contosoYAML})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	contoso, fabrikam, other := s.For("contoso"), s.For("fabrikam"), s.For("northwind")
	tests := []struct {
		name      string
		got, want any
	}{
		{"global replaces in place and removes", caNames(fabrikam), []string{"Require MFA for admins", "require mfa for ALL users", "Block legacy authentication"}},
		{"replaced item is the global one", fabrikam.ConditionalAccess[1].Users.ExcludeGroups, []string{"Break Glass Accounts", "Service Accounts"}},
		{"global scalar overrides", fabrikam.AuthMethods.SMS, true},
		{"global scalar leaves the others", fabrikam.AuthMethods.TAP, TAP{Enabled: true, LifetimeMinutes: 60, UsableOnce: true}},
		{"global adds", names(fabrikam.NamedLocations, func(l NamedLocation) string { return l.Name }), []string{"MSP office"}},
		{"departments", stripAt(fabrikam).Departments, []DepartmentTemplate{{Name: "Sales", Groups: []string{"Sales", "All Staff"}, Licenses: []string{"SPE_E3"}}}},
		{"tenant adds", caNames(contoso), []string{"Require MFA for admins", "require mfa for ALL users", "Block legacy authentication", "Block outside the office"}},
		{"tenant scalar overrides one field", contoso.AuthMethods.TAP, TAP{Enabled: true, LifetimeMinutes: 120, UsableOnce: true}},
		{"tenant sspr", contoso.SSPR, SSPR{Enabled: false, MethodsRequired: 2}},
		{"tenant removes", len(contoso.Compliance), 2},
		{"contoso's override never applies to fabrikam", len(fabrikam.ConditionalAccess), 3},
		{"fabrikam keeps its compliance", len(fabrikam.Compliance), 3},
		{"fabrikam sspr", fabrikam.SSPR, SSPR{Enabled: true, MethodsRequired: 2}},
		{"a tenant without overrides gets the global", reflect.DeepEqual(other, fabrikam), true},
		{"tenants", s.Tenants(), []tierzero.TenantID{"contoso"}},
		{"default is untouched", len(Default().ConditionalAccess), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}

	// For hands out copies: changing one changes nothing in the set.
	contoso.ConditionalAccess[0].Users.Roles[0] = "changed"
	if got := s.For("contoso").ConditionalAccess[0].Users.Roles[0]; got != "Global Administrator" {
		t.Errorf("after changing a copy, got %q", got)
	}
}

func TestLayeringDirsInOrder(t *testing.T) {
	a := writeDir(t, map[string]string{"x.yaml": "scope: {global: true}\nsspr: {methods_required: 1}\n"})
	b := writeDir(t, map[string]string{"x.yaml": "scope: {tenant: contoso}\nsspr: {methods_required: 2}\n", "y.yaml": "scope: {global: true}\nauth_methods: {fido2: false}\n"})
	s, err := Load(a, b)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.For("fabrikam").SSPR.MethodsRequired, s.For("contoso").SSPR.MethodsRequired, s.For("contoso").AuthMethods.FIDO2}
	want := []any{1, 2, false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"unknown top key", "scope: {global: true}\nconditional_acces: []\n",
			[]string{`f.yaml:2: unknown key "conditional_acces" in baseline file (want scope, security_defaults, named_locations, conditional_access, auth_methods, sspr, compliance, departments)`}},
		{"missing scope", "sspr: {enabled: true}\n",
			[]string{"f.yaml:1: missing scope: want scope: {global: true} or {tenant: T}"}},
		{"bad tenant", "scope: {tenant: Contoso}\n",
			[]string{`f.yaml:1: invalid tenant id "Contoso": want lowercase letters, digits and dashes`}},
		{"bad cidr and host bits", "scope: {global: true}\nnamed_locations:\n  - name: a\n    cidrs: [10.0.0.0/33]\n  - name: b\n    cidrs: [10.0.0.1/24]\n",
			[]string{`f.yaml:4: cidrs: "10.0.0.0/33" is not an IP range such as 203.0.113.0/24`, `f.yaml:6: cidrs: "10.0.0.1/24" has host bits set; did you mean 10.0.0.0/24?`}},
		{"trusted internet", "scope: {global: true}\nnamed_locations:\n  - name: a\n    cidrs: [0.0.0.0/0]\n    trusted: true\n",
			[]string{"f.yaml:4: cidrs: trusting 0.0.0.0/0 would trust a large share of the internet"}},
		{"unknown platform, bad version", "scope: {global: true}\ncompliance:\n  - name: mac\n    platform: macos\n    min_os_version: fourteen\n",
			[]string{`f.yaml:4: platform: unknown "macos" (want windows, ios or android)`, `f.yaml:5: min_os_version: "fourteen" is not a version such as 10.0.19045 or 17.0`}},
		{"setting of another platform", "scope: {global: true}\ncompliance:\n  - name: ios\n    platform: ios\n    bitlocker: true\n",
			[]string{"f.yaml:5: bitlocker is not a setting of ios compliance policies"}},
		{"names unique", "scope: {global: true}\ncompliance:\n  - name: A\n    platform: ios\n  - name: a\n    platform: android\n",
			[]string{`f.yaml:5: compliance: name "a" already used at line 3`}},
		{"lockout", "scope: {global: true}\nconditional_access:\n  - name: Block all\n    users: {all: true}\n    grant: block\n",
			[]string{`f.yaml:3: conditional access policy "Block all" blocks all users with no exclusion: it could lock everyone out, the break-glass accounts too; exclude them (users.exclude_groups or users.exclude_users)`}},
		{"unknown key in a policy, grant, role, client app type", "scope: {global: true}\nconditional_access:\n  - name: x\n    users: {roles: [Global Admin]}\n    grant: approve\n    client_app_types: [legacy]\n    state: enabled\n",
			[]string{
				`f.yaml:4: users.roles: unknown directory role "Global Admin"`,
				`f.yaml:5: grant: unknown "approve" (want mfa, compliantDevice or block)`,
				`f.yaml:6: client_app_types: unknown "legacy" (want all, browser, mobileAppsAndDesktopClients, exchangeActiveSync, other)`,
				`f.yaml:7: unknown key "state" in conditional_access item (want name, users, apps, client_app_types, locations, grant)`,
			}},
		{"users", "scope: {global: true}\nconditional_access:\n  - name: x\n    users: {exclude_users: [bob]}\n    grant: mfa\n",
			[]string{`f.yaml:4: users.exclude_users: "bob" is not a user principal name`, "f.yaml:4: users: give all: true, roles or groups"}},
		{"apps", "scope: {global: true}\nconditional_access:\n  - name: x\n    users: {groups: [g]}\n    apps: [all, Outlook]\n    grant: mfa\n  - name: y\n    users: {groups: [g]}\n    apps: [00000002-0000-0ff1-ce00-000000000000]\n    grant: mfa\n",
			[]string{"f.yaml:5: apps: all and office365 stand alone", `f.yaml:5: apps: "Outlook" is not all, office365 or an application id`}},
		{"missing users and grant", "scope: {global: true}\nconditional_access:\n  - name: x\n",
			[]string{`f.yaml:3: conditional access policy "x" has no users`, `f.yaml:3: conditional access policy "x" has no grant`}},
		{"scalars", "scope: {global: true}\nauth_methods:\n  temporary_access_pass: {lifetime_minutes: 5, usable_once: yes}\n  sms: 1\nsspr: {methods_required: 3}\n",
			[]string{
				"f.yaml:3: temporary_access_pass.lifetime_minutes: want a whole number from 10 to 43200",
				"f.yaml:3: temporary_access_pass.usable_once: want true or false",
				"f.yaml:4: sms: want true or false",
				"f.yaml:5: sspr.methods_required: want a whole number from 1 to 2",
			}},
		{"remove with more", "scope: {global: true}\nnamed_locations:\n  - name: x\n    remove: true\n    cidrs: [10.0.0.0/8]\n",
			[]string{`f.yaml:5: unknown key "cidrs" in named_locations item (want name, remove)`}},
		// A name is matched against the tenant's as a person reads it:
		// one a person cannot read as written is refused.
		{"names a person cannot read as written", "scope: {global: true}\ncompliance:\n" +
			"  - name: \" Windows\"\n    platform: windows\n" +
			"  - name: \"Windows\\u00a0laptops\"\n    platform: windows\n" +
			"  - name: \"Windows\\tdesktops\"\n    platform: windows\n" +
			"  - name: \"Windows\\u200bphones\"\n    platform: windows\n" +
			"  - name: " + strings.Repeat("x", 257) + "\n    platform: windows\n" +
			"  - name: " + strings.Repeat("é", 256) + "\n    platform: windows\n" +
			"    assign_to: [\"Sales \"]\n",
			[]string{
				`f.yaml:3: name: " Windows" starts or ends with a space`,
				`f.yaml:5: name: "Windows\u00a0laptops" has the non-ASCII space U+00A0 (write a plain space)`,
				`f.yaml:7: name: "Windows\tdesktops" has the control character U+0009`,
				`f.yaml:9: name: "Windows\u200bphones" has the invisible character U+200B`,
				`f.yaml:11: name: "` + strings.Repeat("x", 257) + `" is longer than 256 characters`,
				`f.yaml:15: assign_to: "Sales " starts or ends with a space`,
			}},
		// Characters that display nothing or a blank, and Cyrillic or
		// Greek letters that look like Latin ones among Latin letters,
		// are refused; a name wholly in another script is not.
		{"names that only look Latin", "scope: {global: true}\ncompliance:\n" +
			"  - name: \"Windows\\u034flaptops\"\n    platform: windows\n" +
			"  - name: \"Windows\\ufe0f\"\n    platform: windows\n" +
			"  - name: \"Windows\\u3164laptops\"\n    platform: windows\n" +
			"  - name: \"Windows\\u2800laptops\"\n    platform: windows\n" +
			"  - name: \"Windows l\\u0430ptops\"\n    platform: windows\n" +
			"  - name: \"Wind\\u03bfws phones\"\n    platform: windows\n" +
			"  - name: \"\\u041d\\u043e\\u0443\\u0442\\u0431\\u0443\\u043a\\u0438\"\n    platform: windows\n",
			[]string{
				`f.yaml:3: name: "Windows\u034flaptops" has the invisible character U+034F`,
				`f.yaml:5: name: "Windows\ufe0f" starts or ends with a space`,
				`f.yaml:7: name: "Windows\u3164laptops" has the non-ASCII space U+3164 (write a plain space)`,
				`f.yaml:9: name: "Windows\u2800laptops" has the non-ASCII space U+2800 (write a plain space)`,
				`f.yaml:11: name: "Windows l\u0430ptops" mixes Latin letters with U+0430, a Cyrillic letter that looks like the Latin 'a' (write the Latin letter)`,
				`f.yaml:13: name: "Wind\u03bfws phones" mixes Latin letters with U+03BF, a Greek letter that looks like the Latin 'o' (write the Latin letter)`,
			}},
		{"names unique as a person reads them", "scope: {global: true}\ncompliance:\n  - name: Windows  laptops\n    platform: windows\n  - name: WINDOWS LAPTOPS\n    platform: windows\n",
			[]string{`f.yaml:5: compliance: name "WINDOWS LAPTOPS" already used at line 3`}},
		{"no name", "scope: {global: true}\ndepartments:\n  - groups: [a]\n",
			[]string{"f.yaml:3: departments: item has no name"}},
		{"syntax", "scope: {global: true\n",
			[]string{"f.yaml:1: did not find expected ',' or '}'"}},
		{"two documents", "scope: {global: true}\n---\nscope: {global: true}\n",
			[]string{"f.yaml:2: more than one YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.data))
			var got []string
			if err != nil {
				got = err.(*LoadError).Errs
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"remove of nothing inherited", map[string]string{"a.yaml": "scope: {global: true}\nnamed_locations:\n  - name: Nowhere\n    remove: true\n"},
			[]string{`a.yaml:3: remove: no inherited named location "Nowhere"`}},
		{"location reference", map[string]string{"a.yaml": "scope: {tenant: contoso}\nconditional_access:\n  - name: x\n    users: {groups: [g]}\n    locations: {include: [HQ]}\n    grant: mfa\n"},
			[]string{`a.yaml:3: conditional access policy "x": no named location "HQ" in the baseline (tenant contoso)`}},
		{"location removed under a policy", map[string]string{
			"a.yaml": "scope: {global: true}\nnamed_locations:\n  - name: HQ\n    cidrs: [192.0.2.0/24]\nconditional_access:\n  - name: x\n    users: {groups: [g]}\n    locations: {include: [HQ]}\n    grant: mfa\n",
			"b.yaml": "scope: {tenant: fabrikam}\nnamed_locations:\n  - name: hq\n    remove: true\n"},
			[]string{`a.yaml:6: conditional access policy "x": no named location "HQ" in the baseline (tenant fabrikam)`}},
		{"security defaults on with policies", map[string]string{"a.yaml": "scope: {global: true}\nsecurity_defaults: true\n"},
			[]string{"a.yaml:2: security_defaults: true with conditional access policies: Entra ID enforces one or the other; remove security_defaults or the policies"}},
		{"security defaults off without policies", map[string]string{"a.yaml": "scope: {global: true}\nsecurity_defaults: false\nconditional_access:\n" +
			"  - {name: Require MFA for admins, remove: true}\n  - {name: Require MFA for all users, remove: true}\n  - {name: Block legacy authentication, remove: true}\n  - {name: Require compliant devices for admins, remove: true}\n"},
			[]string{"a.yaml:2: security_defaults: false with no conditional access policies would leave the tenant without MFA"}},
		{"a global problem is said once, not again for each tenant", map[string]string{
			"a.yaml": "scope: {global: true}\nconditional_access:\n  - name: x\n    users: {groups: [g]}\n    locations: {include: [HQ]}\n    grant: mfa\n",
			"b.yaml": "scope: {tenant: contoso}\nsspr: {enabled: false}\n"},
			[]string{`a.yaml:3: conditional access policy "x": no named location "HQ" in the baseline`}},
		{"every file's problems", map[string]string{"a.yaml": "scope: {global: true}\nbogus: 1\n", "b.yaml": "scope: {global: true}\nsspr: {enabled: maybe}\n"},
			[]string{`a.yaml:2: unknown key "bogus" in baseline file (want scope, security_defaults, named_locations, conditional_access, auth_methods, sspr, compliance, departments)`, "b.yaml:2: sspr.enabled: want true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			_, err := Load(dir)
			var got []string
			if err != nil {
				got = err.(*LoadError).Errs
				for i := range got {
					got[i] = strings.TrimPrefix(got[i], dir+string(filepath.Separator))
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestExample loads the example of the package documentation
// (../baselines/examples/contoso.yaml is a copy of it).
func TestExample(t *testing.T) {
	s, err := Load("../baselines/examples")
	if err != nil {
		t.Fatal(err)
	}
	got := caNames(s.For("contoso"))
	want := []string{"Require MFA for admins", "Require MFA for all users", "Block legacy authentication", "Block outside HQ for finance"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
