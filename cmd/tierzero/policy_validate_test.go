package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 15, item 4: policy validate reports actions no tool has (a
// guardrail that never matches), scope tenants the configuration does not
// have, and every problem of a file.
func TestPolicyValidateActionsAndTenants(t *testing.T) {
	dir := writePolicyDir(t, map[string]string{
		"contoso.yaml": `scope: {tenant: contosso}
rules:
  - id: no-resets
    action: user.reset_pasword
    effect: deny
  - id: no-group-changes
    action: "group.*_membr"
    effect: deny
  - id: reads
    action: user.get
    effect: allow
    approvers: [manager]
  - id: odd
    action: user.get
    effect: perhaps
`,
	})
	file := filepath.Join(dir, "contoso.yaml")
	cfg := writePolicyDir(t, map[string]string{"tierzero.yaml": "tenants:\n  contoso:\n    auth: {method: simulator}\n"})
	cfgFile := filepath.Join(cfg, "tierzero.yaml")
	wantAll := []string{
		file + `:3: rule no-resets: action "user.reset_pasword" is not a tool (did you mean user.reset_password?)`,
		file + `:6: rule no-group-changes: action "group.*_membr" matches no tool`,
		file + ":9: rule reads: approvers, count and expires belong to require_approval rules only",
		file + `:15: unknown effect "perhaps"`,
	}

	r := run(t, noEnv, "", "policy", "validate", "--config", cfgFile, dir)
	if r.code != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range append(wantAll, file+`:1: tenant "contosso" is not a tenant of `+cfgFile+" (did you mean contoso?)") {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "5 problems") {
		t.Errorf("stderr does not count 5 problems:\n%s", r.stderr)
	}
	// In the order of the file's lines.
	if i, j := strings.Index(r.stderr, file+":1:"), strings.Index(r.stderr, file+":15:"); i < 0 || j < i {
		t.Errorf("problems out of order:\n%s", r.stderr)
	}

	// Without a configuration the tenant cannot be checked: a warning.
	r = run(t, noEnv, "", "policy", "validate", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "4 problems") ||
		!strings.Contains(r.stderr, file+`:1: warning: tenant "contosso" is not checked`) {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range wantAll {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	// A clean directory of a configured tenant is ok; its tenant is checked.
	ok := writePolicyDir(t, map[string]string{"contoso.yaml": "scope: {tenant: contoso}\nrules:\n  - {id: r, action: \"user.*\", effect: deny}\n"})
	if r := run(t, noEnv, "", "policy", "validate", "--config", cfgFile, ok); r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// Issue 15, item 3: policy check with a target whose admin roles are left
// out denies for the missing fact; it used to allow under
// target_has_admin_role: false.
func TestPolicyCheckMissingFact(t *testing.T) {
	req := `{"tenant":"contoso","action":"user.reset_password",
	 "requester":{"upn":"adele@contoso.com","role":"employee"},
	 "target":{"upn":"adele@contoso.com"}}`
	r := run(t, noEnv, req, "policy", "check", "--baseline", "--request", "-")
	var d struct {
		Effect string
		Facts  map[string]string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil || d.Effect != "deny" || d.Facts["missing"] != "target.admin_roles" {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}
