package main

import (
	"strings"
	"testing"
)

func TestConfigValidateCommand(t *testing.T) {
	good := writeFile(t, "good.yaml", "msp:\n  tenant: msp\n  technicians: [{upn: tess@msp.example}]\nserve: {addr: \"127.0.0.1:8080\"}\ntenants:\n  fabrikam:\n    auth: {method: simulator}\n  contoso:\n    auth: {method: simulator}\n")
	bad := writeFile(t, "bad.yaml", "tenants:\n  contoso:\n    auth: {method: simulator}\n    pasword: x\n  fabrikam:\n    auth: {method: password}\n")
	tests := []struct {
		name       string
		args       []string
		env        func(string) string
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{"valid", []string{"config", "validate", good}, noEnv, 0, []string{good + ": ok: 2 tenants (contoso, fabrikam); MSP msp with 1 technician; serve on 127.0.0.1:8080\n"}, ""},
		{"every problem", []string{"config", "validate", bad}, noEnv, 1, []string{
			bad + `:4: tenants.contoso: unknown key "pasword"` + "\n",
			bad + `:6: tenant fabrikam: auth.method "password": want client_secret, certificate, delegated, gdap or simulator` + "\n",
		}, bad + ": 2 problems"},
		{"from the environment", []string{"config", "validate"}, func(k string) string { return map[string]string{"TIERZERO_CONFIG": good}[k] }, 0, []string{"ok: 2 tenants"}, ""},
		{"no file", []string{"config", "validate"}, noEnv, 2, nil, "needs a FILE"},
		{"missing file", []string{"config", "validate", bad + ".missing"}, noEnv, 1, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, "", tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q\nstdout:\n%s", r.code, r.stderr, tt.wantCode, tt.wantStderr, r.stdout)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestExampleConfig: examples/tierzero.yaml is valid as written and says
// what its comments promise.
func TestExampleConfig(t *testing.T) {
	const path = "../../examples/tierzero.yaml"
	r := run(t, noEnv, "", "config", "validate", path)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.GraphURL != "http://127.0.0.1:8081/v1.0" || len(c.Tenants) != 2 ||
		c.Tenants["contoso"].Auth.Method != authSimulator || c.Tenants["fabrikam"].Auth.Method != authSimulator ||
		c.MSP == nil || c.MSP.Tenant != "msp" || len(c.MSP.Technicians) != 1 || c.MSP.Technicians[0].UPN != "tess@msp.example" ||
		c.Serve == nil || c.Serve.Addr != "127.0.0.1:8080" || c.LLM != nil {
		t.Fatalf("the example configuration is %+v", c)
	}
}
