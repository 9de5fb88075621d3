package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

const goodFile = `# a comment
scope: {tenant: contoso, department: Sales}
rules:
  - id: sales-tap
    action: user.issue_tap
    effect: require_approval
    approvers: [manager, "group:Sales Leads"]
    count: 2
    expires: 90m
    when:
      target: direct_report
      requester_role: [employee, tenant_admin]
      requester_in_group: Sales Leads
      target_in_group: [Sales Team]
      target_department: Sales
      target_has_admin_role: false
      channel: teams
      hours: {days: [mon, Tuesday, FRI], from: "08:00", to: "18:30", timezone: Europe/Berlin}
      max_per_day: 5
      user_risk_max: medium
  - id: sales-groups
    action: group.*_member
    effect: allow
    when:
      group: {allow: [Sales Team, 0B5C4A1E-0000-4000-8000-000000000001], deny: [Sales Admins]}
      group_has_admin_role: false
  - id: sales-e3
    action: license.assign
    effect: deny
    reason: ask IT
    when:
      license: {allow: SPE_E5}
  - id: sales-wipe
    action: device.wipe
    effect: allow
    when: {device_owner: self}
`

func TestParse(t *testing.T) {
	f, err := Parse("sales.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := Rule{
		ID: "sales-tap", Action: "user.issue_tap", Effect: tierzero.EffectRequireApproval,
		Approvers: []string{"manager", "group:Sales Leads"}, Count: 2, Expires: 90 * time.Minute, Line: 4,
		When: Conditions{
			Target: TargetDirectReport, RequesterRole: []tierzero.Role{"employee", "tenant_admin"},
			RequesterInGroup: []string{"Sales Leads"}, TargetInGroup: []string{"Sales Team"}, TargetDepartment: []string{"Sales"},
			TargetHasAdminRole: &no, Channel: []tierzero.Channel{"teams"},
			Hours:     &Hours{Days: []time.Weekday{time.Monday, time.Tuesday, time.Friday}, From: "08:00", To: "18:30", Timezone: "Europe/Berlin"},
			MaxPerDay: 5, UserRiskMax: "medium",
		},
	}
	if f.Scope != (Scope{Tenant: "contoso", Department: "Sales"}) || len(f.Rules) != 4 {
		t.Fatalf("file = %+v", f)
	}
	got := f.Rules[0]
	if got.ID != want.ID || got.Action != want.Action || got.Effect != want.Effect || !slices.Equal(got.Approvers, want.Approvers) ||
		got.Count != want.Count || got.Expires != want.Expires || got.Line != want.Line {
		t.Errorf("rule = %+v\nwant %+v", got, want)
	}
	w, g := want.When, got.When
	if g.Target != w.Target || !slices.Equal(g.RequesterRole, w.RequesterRole) || !slices.Equal(g.RequesterInGroup, w.RequesterInGroup) ||
		!slices.Equal(g.TargetInGroup, w.TargetInGroup) || !slices.Equal(g.TargetDepartment, w.TargetDepartment) ||
		g.TargetHasAdminRole == nil || *g.TargetHasAdminRole || !slices.Equal(g.Channel, w.Channel) ||
		g.Hours == nil || !slices.Equal(g.Hours.Days, w.Hours.Days) || g.Hours.From != w.Hours.From || g.Hours.To != w.Hours.To ||
		g.Hours.Timezone != w.Hours.Timezone || g.MaxPerDay != w.MaxPerDay || g.UserRiskMax != w.UserRiskMax {
		t.Errorf("conditions = %+v\nwant %+v", g, w)
	}
	if g := f.Rules[1].When.Group; g == nil || !slices.Equal(g.Allow, []string{"Sales Team", "0B5C4A1E-0000-4000-8000-000000000001"}) ||
		!slices.Equal(g.Deny, []string{"Sales Admins"}) {
		t.Errorf("group = %+v", g)
	}
	if b := f.Rules[1].When.GroupHasAdminRole; b == nil || *b {
		t.Errorf("group_has_admin_role = %v", b)
	}
	if l := f.Rules[2].When.License; l == nil || !slices.Equal(l.Allow, []string{"SPE_E5"}) || f.Rules[2].Reason != "ask IT" {
		t.Errorf("license rule = %+v", f.Rules[2])
	}
	if f.Rules[3].When.DeviceOwner != "self" {
		t.Errorf("device rule = %+v", f.Rules[3])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "f.yaml: empty file"},
		{"comments only", "# nothing\n", "f.yaml: empty file"},
		{"not yaml", "scope: [\n", "f.yaml:"},
		{"two documents", "scope: {global: true}\nrules: []\n---\nscope: {global: true}\nrules: []\n", "more than one YAML document"},
		{"not a mapping", "- a\n", "f.yaml:1: policy file: want a mapping"},
		{"unknown top-level key", "scope: {global: true}\nrules: []\nextra: 1\n", "f.yaml:3: unknown key \"extra\" in policy file"},
		{"duplicate key", "scope: {global: true}\nscope: {global: true}\nrules: []\n", "f.yaml:2: duplicate key \"scope\""},
		{"no scope", "rules: []\n", "f.yaml:1: missing scope"},
		{"no rules", "scope: {global: true}\n", "f.yaml:1: missing rules"},
		{"global false", "scope: {global: false}\nrules: []\n", "f.yaml:1: global: false is not a scope"},
		{"global and tenant", "scope:\n  global: true\n  tenant: contoso\nrules: []\n", "f.yaml:2: a global scope names no tenant"},
		{"department without tenant", "scope:\n  department: Sales\nrules: []\n", "f.yaml:2: a department scope also names its tenant"},
		{"unknown scope key", "scope: {planet: earth}\nrules: []\n", "f.yaml:1: unknown key \"planet\" in scope"},
		{"bad tenant", "scope: {tenant: ../x}\nrules: []\n", "f.yaml:1: invalid tenant id"},
		{"rules not a list", "scope: {global: true}\nrules: {}\n", "f.yaml:2: rules: want a list"},
		{"rule not a mapping", "scope: {global: true}\nrules:\n  - allow everything\n", "f.yaml:3: rule: want a mapping"},
		{"unknown rule key", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    priority: 1\n", "f.yaml:6: unknown key \"priority\" in rule"},
		{"rule without id", "scope: {global: true}\nrules:\n  - action: user.get\n    effect: allow\n", "f.yaml:3: rule has no id"},
		{"unknown condition", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when:\n      target: self\n      moon: full\n", "f.yaml:8: unknown key \"moon\" in when"},
		{"unknown effect", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: permit\n", "f.yaml:5: unknown effect \"permit\""},
		{"bad action", "scope: {global: true}\nrules:\n  - id: a\n    action: user/get\n    effect: allow\n", "f.yaml:4: bad action pattern"},
		{"null id", "scope: {global: true}\nrules:\n  - id:\n    action: user.get\n    effect: allow\n", "f.yaml:3: id: want a string"},
		{"bool as string", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when: {target: true}\n", "f.yaml:6: target: want a string"},
		{"string as bool", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when: {target_has_admin_role: \"yes\"}\n", "f.yaml:6: target_has_admin_role: want true or false"},
		{"bad count", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: require_approval\n    approvers: [manager]\n    count: 0\n", "f.yaml:7: count: want a whole number from 1 to 100"},
		{"bad expires", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: require_approval\n    approvers: [manager]\n    expires: 1 day\n", "f.yaml:7: expires \"1 day\""},
		{"unknown approver", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: require_approval\n    approvers: [ceo]\n", "f.yaml:6: unknown approver \"ceo\""},
		{"approvers on allow", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    approvers: [manager]\n", "f.yaml:3: rule a: approvers, count and expires belong to require_approval rules only"},
		{"duplicate ids", "scope: {global: true}\nrules:\n  - {id: a, action: user.get, effect: allow}\n  - {id: a, action: user.get, effect: deny}\n", "f.yaml:4: rule id \"a\" already used in f.yaml:3"},
		{"unknown day", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when:\n      hours: {days: [funday]}\n", "f.yaml:7: days: unknown day \"funday\""},
		{"bad clock", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when:\n      hours:\n        from: \"8\"\n        to: \"17:00\"\n", "f.yaml:8: hours: bad time \"8\""},
		{"unknown zone", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when:\n      hours: {timezone: Europe/Atlantis}\n", "f.yaml:7: hours: unknown timezone"},
		{"empty filter", "scope: {global: true}\nrules:\n  - id: a\n    action: group.get\n    effect: allow\n    when:\n      group: {}\n", "f.yaml:7: group: give allow or deny"},
		{"empty list", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when:\n      channel: []\n", "f.yaml:7: channel: empty list"},
		{"unknown channel", "scope: {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when:\n      channel: [email]\n", "f.yaml:7: unknown channel \"email\""},
		{"alias", "scope: &s {global: true}\nrules:\n  - id: a\n    action: user.get\n    effect: allow\n    when: {target: *s}\n", "f.yaml:6: target: aliases are not supported"},
		{"merge key", "scope: {global: true}\nrules:\n  - <<: {id: a}\n    action: user.get\n    effect: allow\n", "f.yaml:3: rule: keys must be plain names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want an error with %q", err, tt.want)
			}
			var le *LoadError
			if !errors.As(err, &le) || len(le.Errs) == 0 {
				t.Fatalf("error %T is not a *LoadError", err)
			}
			for _, e := range le.Errs {
				if !strings.HasPrefix(e, "f.yaml") {
					t.Errorf("error %q does not name the file", e)
				}
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	doc := "scope: {global: true}\nrules:\n  - {id: a, action: user.get, effect: maybe}\n  - {id: b, action: user.get, effect: allow, when: {moon: full}}\n"
	_, err := Parse("f.yaml", []byte(doc))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Errs) != 2 || !strings.HasPrefix(le.Errs[0], "f.yaml:3:") || !strings.HasPrefix(le.Errs[1], "f.yaml:4:") {
		t.Fatalf("errors = %v, want one for line 3 and one for line 4", err)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"b.yml":            "scope: {tenant: contoso}\nrules:\n  - {id: t, action: user.get, effect: deny}\n",
		"a.yaml":           "scope: {global: true}\nrules:\n  - {id: g, action: user.get, effect: allow}\n",
		"notes.txt":        "not a policy",
		".hidden.yaml":     "not: read",
		"tests/test.yaml":  "tests: []",
		"sub/other.yaml":   "scope: {global: true}\nrules:\n  - {id: g, action: user.get, effect: allow}\n",
		"c.yaml.orig.yaml": "scope: {global: true}\nrules: []\n",
	})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Files() {
		names = append(names, filepath.Base(f.Name))
	}
	if want := []string{"a.yaml", "b.yml", "c.yaml.orig.yaml"}; !slices.Equal(names, want) || s.Len() != 2 {
		t.Fatalf("files %v with %d rules, want %v with 2", names, s.Len(), want)
	}
	d := evaluated(s, Request{Tenant: "contoso", Action: "user.get", Requester: adele})
	if d.Rule != "t" || d.File != filepath.Join(dir, "b.yml") {
		t.Fatalf("decision %+v, want rule t of %s", d, filepath.Join(dir, "b.yml"))
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no files", map[string]string{"README.md": "x"}, []string{"no policy files"}},
		{"ids unique across files", map[string]string{
			"a.yaml": "scope: {global: true}\nrules:\n  - {id: x, action: user.get, effect: allow}\n",
			"b.yaml": "scope: {tenant: contoso}\nrules:\n  - {id: y, action: user.get, effect: allow}\n  - {id: x, action: user.get, effect: deny}\n",
		}, []string{"b.yaml:4: rule id \"x\" already used in", "a.yaml:3"}},
		{"every file's errors", map[string]string{
			"a.yaml": "scope: {global: true}\nrules: 1\n",
			"b.yaml": "scope: {tenant: x}\nrulez: []\n",
		}, []string{"a.yaml:2: rules: want a list", "b.yaml:2: unknown key \"rulez\""}},
		{"too large", map[string]string{"a.yaml": strings.Repeat("#", maxFileSize+1)}, []string{"a.yaml: larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFiles(t, tt.files))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load = %v, want %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nowhere")); err == nil {
		t.Error("Load of a missing directory succeeded")
	}
}

func TestParseRequest(t *testing.T) {
	doc := `{"tenant":"contoso","action":"user.reset_password","channel":"teams","time":"2026-11-27T09:00:00Z",
 "requester":{"upn":"adele@contoso.com","department":"Marketing","groups":["` + gid("All Staff") + `",{"id":"` + strings.ToUpper(gid("Helpdesk")) + `","name":"Helpdesk"}],"role":"employee"},
 "target":{"upn":"alex@contoso.com","department":"Sales","groups":[],"admin_roles":["Helpdesk Administrator"],"risk":"low","manager":"adele@contoso.com"},
 "group":{"id":"` + gid("Sales") + `","name":"Sales","role_assignable":false,"admin_roles":[]},"license":{"sku":"SPE_E3"},"device":{"id":"d1","owner":"alex@contoso.com"},
 "group_ids":{"Helpdesk":"` + gid("Helpdesk") + `"},
 "args":{"user":"alex@contoso.com"},"history":{"count_today":2}}`
	r, err := ParseRequest("r.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if r.Tenant != "contoso" || r.Action != "user.reset_password" || r.Channel != "teams" || !r.Time.Equal(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("request = %+v", r)
	}
	if r.Requester.UPN != "adele@contoso.com" || r.Requester.Role != "employee" || r.Requester.Tenant != "contoso" ||
		*r.RequesterFacts.Department != "Marketing" ||
		!slices.Equal(r.RequesterFacts.Groups, []tierzero.GroupRef{{ID: gid("All Staff")}, {ID: gid("Helpdesk"), Name: "Helpdesk"}}) {
		t.Errorf("requester = %+v %+v", r.Requester, r.RequesterFacts)
	}
	tg := r.Target
	if tg.UPN != "alex@contoso.com" || *tg.Department != "Sales" || tg.Groups == nil || len(tg.Groups) != 0 ||
		!slices.Equal(tg.AdminRoles, []string{"Helpdesk Administrator"}) || tg.RiskLevel != "low" || *tg.Manager != "adele@contoso.com" {
		t.Errorf("target = %+v", tg)
	}
	if r.Group.ID != gid("Sales") || r.Group.Name != "Sales" || r.Group.RoleAssignable == nil || *r.Group.RoleAssignable || r.Group.AdminRoles == nil ||
		r.License.SKU != "SPE_E3" || *r.Device.Owner != "alex@contoso.com" || r.History.CountToday != 2 {
		t.Errorf("subject facts = %+v %+v %+v %+v", r.Group, r.License, r.Device, r.History)
	}
	if len(r.GroupIDs) != 1 || r.GroupIDs["helpdesk"] != gid("Helpdesk") {
		t.Errorf("group_ids = %v", r.GroupIDs)
	}

	// Left out is missing.
	r, err = ParseRequest("r.json", []byte(`{"tenant":"contoso","action":"user.get","requester":{"upn":"a@contoso.com"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Target != nil || r.RequesterFacts.Groups != nil || r.RequesterFacts.Department != nil || r.History != nil || r.Group != nil ||
		!r.Time.IsZero() || r.Requester.Role != "" || r.GroupIDs != nil {
		t.Errorf("request = %+v, want facts left out missing", r)
	}
	r, err = ParseRequest("r.json", []byte(`{"tenant":"contoso","action":"user.get","target":{"upn":"a@contoso.com"},"device":{"id":"d"},"group":{"name":"G"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Target.Department != nil || r.Target.Manager != nil || r.Target.AdminRoles != nil || r.Target.Groups != nil ||
		r.Device.Owner != nil || r.Group.ID != "" || r.Group.RoleAssignable != nil || r.Group.AdminRoles != nil {
		t.Errorf("request = %+v %+v %+v, want facts left out missing", r.Target, r.Device, r.Group)
	}
	r, err = ParseRequest("r.json", []byte(`{"tenant":"contoso","action":"user.get","target":{"department":"","manager":"","admin_roles":[]},"device":{"id":"d","owner":""}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Target.Department == nil || *r.Target.Department != "" || r.Target.Manager == nil || r.Target.AdminRoles == nil || r.Device.Owner == nil {
		t.Errorf("request = %+v %+v, want empty facts present", r.Target, r.Device)
	}

	for _, tt := range []struct{ doc, want string }{
		{`{"tenant":"contoso"}`, "r.json:1: request has no action"},
		{`{"tenant":"contoso","action":"user.get","who":"me"}`, `r.json:1: unknown key "who" in request`},
		{`{"tenant":"contoso","action":"user.get","target":{"upn":"a","admin":true}}`, `unknown key "admin" in target`},
		{`{"tenant":"contoso","action":"user.get","time":"yesterday"}`, "want RFC 3339"},
		{`{"tenant":"contoso","action":"user.get","target":{"risk":"extreme"}}`, "unknown risk"},
		{`{"tenant":"contoso","action":"user.get","requester":{"role":"boss"}}`, "unknown role"},
		{`{"tenant":"contoso","action":"user.get","history":{"count_today":-1}}`, "count_today"},
		{`{"tenant":"contoso","action":"user.get","args":[1]}`, "args: want an object"},
		{"{\"tenant\":\"contoso\",\n\"action\":\"user.get\",\n\"channel\":\"fax\"}", "r.json:3: unknown channel"},
		{`{"tenant":"contoso","action":"user.get","requester":{"groups":["Helpdesk"]}}`, "facts name groups by object id"},
		{`{"tenant":"contoso","action":"user.get","group":{"id":"g-1"}}`, "is not an object id"},
		{`{"tenant":"contoso","action":"user.get","group_ids":{"Helpdesk":"h"}}`, "is not an object id"},
		{`{"tenant":"contoso","action":"user.get","group_ids":{"Help*":"` + gid("x") + `"}}`, "want a group's display name"},
	} {
		if _, err := ParseRequest("r.json", []byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRequest(%s) = %v, want %q", tt.doc, err, tt.want)
		}
	}
}

func TestParseTests(t *testing.T) {
	doc := `tests:
  - name: own reset
    request: {tenant: contoso, action: user.reset_password, requester: {upn: a@contoso.com, role: employee}, target: {upn: a@contoso.com}}
    expect: {effect: allow, rule: self, layer: global}
  - name: someone else
    request: {tenant: contoso, action: user.reset_password, requester: {upn: a@contoso.com, role: employee}, target: {upn: b@contoso.com}}
    expect: {effect: deny, rule: ""}
  - name: wrong on purpose
    request: {tenant: contoso, action: user.reset_password, requester: {upn: a@contoso.com, role: employee}, target: {upn: b@contoso.com}}
    expect: {effect: allow, approvers: [manager], count: 2}
`
	tests, err := ParseTests("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 3 || tests[1].Line != 5 || tests[1].Name != "someone else" || *tests[1].Expect.Rule != "" {
		t.Fatalf("tests = %+v", tests)
	}
	s, err := NewSet(File{Name: "p", Scope: Scope{Global: true}, Rules: []Rule{{ID: "self", Action: "user.*", Effect: tierzero.EffectAllow, When: Conditions{Target: TargetSelf}}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "", "effect deny, want allow; approvers [], want [manager]; count 0, want 2"} {
		_, err := tests[i].Run(s)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("test %d: Run = %v, want %q", i, err, want)
		}
	}
	for _, tt := range []struct{ doc, want string }{
		{"tests: []\n", "t.yaml:1: tests: want a list of tests"},
		{"test: []\n", `unknown key "test"`},
		{"tests:\n  - name: a\n    request: {tenant: contoso, action: x}\n", "t.yaml:2: test has no expect"},
		{"tests:\n  - name: a\n    request: {tenant: contoso, action: x}\n    expect: {effect: maybe}\n", "t.yaml:4: unknown effect"},
		{"tests:\n  - name: a\n    request: {tenant: contoso, action: x}\n    expect: {effect: deny, layer: planet}\n", "unknown layer"},
		{"tests:\n  - name: a\n    request: {tenant: contoso, action: x}\n    expect: {effect: deny}\n  - name: a\n    request: {tenant: contoso, action: x}\n    expect: {effect: deny}\n", `t.yaml:5: test name "a" already used at line 2`},
	} {
		if _, err := ParseTests("t.yaml", []byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTests(%q) = %v, want %q", tt.doc, err, tt.want)
		}
	}
}
