package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	baselineDir = filepath.Join("..", "..", "policy", "baseline")
	examplesDir = filepath.Join("..", "..", "policies", "examples")
)

func TestPolicyHelp(t *testing.T) {
	for _, args := range [][]string{
		{"policy", "--help"}, {"policy", "validate", "--help"}, {"policy", "check", "--help"}, {"policy", "test", "--help"},
	} {
		r := run(t, noEnv, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d, output %q", args, r.code, r.stdout)
		}
	}
}

func writePolicyDir(t *testing.T, files map[string]string) string {
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

func TestPolicyValidate(t *testing.T) {
	r := run(t, noEnv, "", "policy", "validate", baselineDir, examplesDir)
	baseline, _ := filepath.Glob(filepath.Join(baselineDir, "*.yaml"))
	examples, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if r.code != 0 || !regexp.MustCompile(fmt.Sprintf(`^ok: %d files, \d+ rules\n$`, len(baseline)+len(examples))).MatchString(r.stdout) || len(baseline) < 3 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	bad := writePolicyDir(t, map[string]string{
		"a.yaml": "scope: {global: true}\nrules:\n  - id: x\n    action: user.get\n    effect: allow\n    when: {target: self, colour: blue}\n",
		"b.yaml": "scope: {tenant: contoso}\nrules:\n  - {id: y, action: user.get, effect: perhaps}\n",
	})
	r = run(t, noEnv, "", "policy", "validate", bad)
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(bad, "a.yaml")+`:6: unknown key "colour" in when`) ||
		!strings.Contains(r.stderr, filepath.Join(bad, "b.yaml")+`:3: unknown effect "perhaps"`) || !strings.Contains(r.stderr, "2 problems") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// Layered directories share one id space.
	r = run(t, noEnv, "", "policy", "validate", "--baseline", baselineDir)
	if r.code != 1 || !strings.Contains(r.stderr, "already used in builtin:baseline/") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"policy", "validate"}, {"policy", "validate", filepath.Join(bad, "nowhere")}} {
		if r := run(t, noEnv, "", args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	req := `{"tenant":"contoso","action":"user.reset_password","channel":"teams","time":"2026-11-27T09:00:00Z",
	 "requester":{"upn":"fiona@contoso.com","department":"Finance","groups":[{"id":"6f1c2b4e-8d3a-4e5f-9a7b-0c1d2e3f4a50","name":"All Staff"}],"role":"employee"},
	 "target":{"upn":"fiona@contoso.com","department":"Finance","groups":[],"admin_roles":[],"risk":"none","manager":"cfo@contoso.com"},
	 "args":{"user":"fiona@contoso.com"},"history":{"count_today":0}}`
	dir := writePolicyDir(t, map[string]string{"req.json": req, "bad.json": `{"tenant":"contoso","action":"user.get","who":1}`})
	type decision struct {
		Effect, Layer, File, Rule, Reason, Expires string
		Approvers                                  []string
		Count                                      int
		Facts                                      map[string]string
	}
	check := func(args ...string) decision {
		t.Helper()
		r := run(t, noEnv, req, append([]string{"policy", "check"}, args...)...)
		if r.code != 0 {
			t.Fatalf("check %v: exit %d: %s", args, r.code, r.stderr)
		}
		var d decision
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("check %v: %v in %s", args, err, r.stdout)
		}
		for _, key := range []string{`"effect"`, `"layer"`, `"rule"`, `"reason"`, `"approvers"`, `"file"`, `"facts"`} {
			if !strings.Contains(r.stdout, key) {
				t.Errorf("output lacks %s: %s", key, r.stdout)
			}
		}
		return d
	}
	d := check("--policy", baselineDir, "--request", filepath.Join(dir, "req.json"))
	if d.Effect != "allow" || d.Layer != "global" || d.Rule != "self-reset-password" || d.File != filepath.Join(baselineDir, "10-self-service.yaml") ||
		d.Facts["target_is_requester"] != "true" || d.Facts["tenant"] != "contoso" {
		t.Fatalf("decision = %+v", d)
	}
	d = check("--policy", baselineDir, "--policy", examplesDir, "--request", "-")
	if d.Effect != "require_approval" || d.Layer != "department" || d.Rule != "finance-resets-need-manager" ||
		strings.Join(d.Approvers, ",") != "manager" || d.Count != 1 || d.Expires != "4h0m0s" {
		t.Fatalf("decision = %+v", d)
	}
	d = check("--baseline", "--policy", examplesDir, "--request", filepath.Join(dir, "req.json"))
	if d.Rule != "finance-resets-need-manager" {
		t.Fatalf("decision = %+v", d)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no policy", []string{"--request", "x"}, 2, "needs --policy"},
		{"no request", []string{"--policy", baselineDir}, 2, "needs --request"},
		{"no such request", []string{"--policy", baselineDir, "--request", filepath.Join(dir, "none.json")}, 1, "read request"},
		{"invalid request", []string{"--policy", baselineDir, "--request", filepath.Join(dir, "bad.json")}, 1, `bad.json:1: unknown key "who" in request`},
		{"stray argument", []string{"--policy", baselineDir, "--request", "x", "y"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, noEnv, "", append([]string{"policy", "check"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

var summary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

func TestPolicyTest(t *testing.T) {
	// The shipped baseline passes its own tests, and with the examples on top.
	for _, dirs := range [][]string{{baselineDir}, {baselineDir, examplesDir}} {
		r := run(t, noEnv, "", append([]string{"policy", "test"}, dirs...)...)
		m := summary.FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil || m[2] != "0" || m[1] == "0" || strings.Contains(r.stdout, "FAIL") {
			t.Fatalf("%v: exit %d\n%s%s", dirs, r.code, r.stdout, r.stderr)
		}
		if n := len(regexp.MustCompile(`(?m)^PASS `).FindAllString(r.stdout, -1)); strconv.Itoa(n) != m[1] {
			t.Errorf("%d PASS lines, summary says %s", n, m[1])
		}
	}

	dir := writePolicyDir(t, map[string]string{
		"p.yaml": "scope: {global: true}\nrules:\n  - {id: self, action: user.get, effect: allow, when: {target: self}}\n",
		"tests/t.yaml": `tests:
  - name: own profile
    request: {tenant: contoso, action: user.get, requester: {upn: a@contoso.com}, target: {upn: a@contoso.com}}
    expect: {effect: allow, rule: self}
  - name: wrong expectation
    request: {tenant: contoso, action: user.get, requester: {upn: a@contoso.com}, target: {upn: b@contoso.com}}
    expect: {effect: allow}
`,
	})
	r := run(t, noEnv, "", "policy", "test", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "PASS "+filepath.Join(dir, "tests", "t.yaml")+":2 own profile\n") ||
		!strings.Contains(r.stdout, "FAIL "+filepath.Join(dir, "tests", "t.yaml")+":5 wrong expectation: effect deny, want allow") ||
		!strings.Contains(r.stdout, "\n1 passed, 1 failed\n") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, noEnv, "", "policy", "test", "--run", "own", dir)
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\n1 passed, 0 failed\n") {
		t.Fatalf("--run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	noTests := writePolicyDir(t, map[string]string{"p.yaml": "scope: {global: true}\nrules: []\n"})
	if r := run(t, noEnv, "", "policy", "test", noTests); r.code != 1 || !strings.Contains(r.stderr, "no tests found") {
		t.Fatalf("no tests: exit %d, %s", r.code, r.stderr)
	}
	badTests := writePolicyDir(t, map[string]string{"p.yaml": "scope: {global: true}\nrules: []\n", "tests/t.yaml": "tests:\n  - name: x\n"})
	if r := run(t, noEnv, "", "policy", "test", badTests); r.code != 1 || !strings.Contains(r.stderr, "t.yaml:2: test has no request") {
		t.Fatalf("bad tests: exit %d, %s", r.code, r.stderr)
	}
	if r := run(t, noEnv, "", "policy", "test"); r.code != 2 {
		t.Fatalf("no directory: exit %d", r.code)
	}
}

// TestPolicyCheckHelpExample: the request in `policy check --help` is
// valid as printed, and decides as a reader expects.
func TestPolicyCheckHelpExample(t *testing.T) {
	help := run(t, noEnv, "", "policy", "check", "--help")
	start, end := strings.Index(help.stdout, `{"tenant"`), strings.Index(help.stdout, `"count_today": 0}}`)
	if start < 0 || end < start {
		t.Fatalf("no example request in the help:\n%s", help.stdout)
	}
	req := writeFile(t, "request.json", help.stdout[start:end+len(`"count_today": 0}}`)])
	r := run(t, noEnv, "", "policy", "check", "--baseline", "--request", req)
	if r.code != 0 || !strings.Contains(r.stdout, `"effect": "allow"`) || !strings.Contains(r.stdout, `"rule": "self-reset-password"`) {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
