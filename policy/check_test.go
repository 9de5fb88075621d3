package policy

import (
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// Issue 15, item 4: every problem of a file is reported, in the order of
// its lines, whatever found it (the parser or the rule compiler).
func TestParseReportsEveryProblem(t *testing.T) {
	const doc = `scope: {tenant: contoso}
rules:
  - id: a
    action: user.get
    effect: allow
    approvers: [manager]
  - id: b
    action: user.get
    effect: perhaps
  - id: c
    action: group.add_member
    effect: require_approval
    approvers: [manager]
    count: 2
    when: {group: {allow: ["Sales*"]}, target: everyone}
  - id: a
    action: user.get
    effect: deny
`
	f, err := Parse("f.yaml", []byte(doc))
	if err == nil || !f.Incomplete || len(f.Rules) != 4 {
		t.Fatalf("Parse = %+v, %v; want the file as read, incomplete, and an error", f, err)
	}
	want := []string{
		"f.yaml:3: rule a: approvers, count and expires belong to require_approval rules only",
		`f.yaml:9: unknown effect "perhaps"`,
		"f.yaml:10: rule c: count 2 cannot be met by the manager alone",
		`f.yaml:15: unknown target "everyone"`,
		`f.yaml:15: group.allow: "Sales*": a group is named by its object id`,
		`f.yaml:16: rule id "a" already used in f.yaml:3`,
	}
	lines := errorLines(err)
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want %q", i, lines[i], w)
		}
	}
	if _, err := NewSet(f); err == nil {
		t.Error("NewSet accepted an incomplete file")
	}
	// A rule with several problems reports each.
	_, err = NewSet(File{Name: "g", Scope: Scope{Global: true}, Rules: []Rule{{ID: "x", Action: "user.get", Effect: tierzero.EffectAllow,
		Approvers: []string{"manager"}, When: Conditions{Target: "everyone", Channel: []tierzero.Channel{"fax"}}}}})
	if err == nil || len(errorLines(err)) != 3 {
		t.Fatalf("NewSet = %v, want three problems", err)
	}
}

// Issue 15, item 4: Check reports actions that are no tool's, scope tenants
// the configuration does not have (a warning without one), and groups named
// by display name (a warning).
func TestCheck(t *testing.T) {
	files := []File{
		{Name: "a.yaml", Scope: Scope{Tenant: "contosso"}, ScopeLine: 1, Rules: []Rule{
			{ID: "typo", Action: "user.reset_pasword", Effect: tierzero.EffectDeny, Line: 3},
			{ID: "glob", Action: "group.*_membr", Effect: tierzero.EffectDeny, Line: 6},
			{ID: "fine", Action: "user.*", Effect: tierzero.EffectDeny, Line: 9},
			{ID: "named", Action: "user.get", Effect: tierzero.EffectAllow, Line: 12, When: Conditions{
				RequesterInGroup: []string{"Helpdesk", gid("Helpdesk")}}},
		}},
		{Name: "b.yaml", Scope: Scope{Global: true}, Rules: []Rule{{ID: "g", Action: "*", Effect: tierzero.EffectDeny}}},
	}
	env := Env{Actions: []string{"user.get", "user.reset_password", "group.add_member"}}
	errs, warns := Check(files, env)
	wantErrs := []string{
		`a.yaml:3: rule typo: action "user.reset_pasword" is not a tool (did you mean user.reset_password?)`,
		`a.yaml:6: rule glob: action "group.*_membr" matches no tool`,
	}
	if strings.Join(errs, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(wantErrs, "\n"))
	}
	if len(warns) != 2 || !strings.HasPrefix(warns[0], `a.yaml:1: warning: tenant "contosso" is not checked`) ||
		!strings.HasPrefix(warns[1], `a.yaml:12: warning: rule named: names the group "Helpdesk" by its display name`) {
		t.Errorf("warnings: %q", warns)
	}
	env.Config, env.Tenants = "tierzero.yaml", []tierzero.TenantID{"contoso", "msp"}
	errs, _ = Check(files, env)
	if len(errs) != 3 || errs[0] != `a.yaml:1: tenant "contosso" is not a tenant of tierzero.yaml (did you mean contoso?)` {
		t.Errorf("errors with a configuration: %q", errs)
	}
}
