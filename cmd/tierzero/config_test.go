package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"simulator", "tenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"client secret", "graph_url: https://graph.microsoft.com/v1.0\ntenants:\n  contoso:\n    entra_tenant: contoso.onmicrosoft.com\n    auth:\n      method: client_secret\n      client_id: 00000000-0000-0000-0000-000000000001\n      client_secret_env: CONTOSO_SECRET\n", ""},
		{"unknown key", "tenants:\n  contoso:\n    auth: {method: simulator}\n    pasword: x\n", "line 4"},
		{"no tenants", "graph_url: https://graph.microsoft.com/v1.0\n", "no tenants"},
		{"bad tenant id", "tenants:\n  Contoso/..:\n    auth: {method: simulator}\n", "invalid tenant id"},
		{"unknown method", "tenants:\n  contoso:\n    auth: {method: password}\n", "want client_secret, certificate, delegated or simulator"},
		{"delegated", "tenants:\n  contoso:\n    entra_tenant: contoso.onmicrosoft.com\n    auth: {method: delegated, client_id: abc}\n", ""},
		{"delegated without client", "tenants:\n  contoso:\n    entra_tenant: contoso.onmicrosoft.com\n    auth: {method: delegated}\n", "delegated needs"},
		{"secret without its variable", "tenants:\n  contoso:\n    entra_tenant: x.onmicrosoft.com\n    auth: {method: client_secret, client_id: abc}\n", "client_secret_env"},
		{"certificate without file", "tenants:\n  contoso:\n    entra_tenant: x.onmicrosoft.com\n    auth: {method: certificate, client_id: abc}\n", "certificate_file"},
		{"llm", "llm: {base_url: http://localhost:11434/v1, model: llama3.1}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"azure llm", "llm: {base_url: https://x.openai.azure.com, model: gpt-4o, azure: true, deployment: helpdesk, api_key_env: AZ_KEY}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"llm without model", "llm: {base_url: http://localhost:11434/v1}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", "llm.model is required"},
		{"relative graph url", "graph_url: /v1.0\ntenants:\n  contoso:\n    auth: {method: simulator}\n", "not an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeFile(t, "tierzero.yaml", tt.body))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestChatWithConfig(t *testing.T) {
	base := startGraphsim(t)
	cfg := writeFile(t, "tierzero.yaml", "graph_url: "+base+"/v1.0\ntenants:\n  contoso:\n    auth: {method: simulator}\n  fabrikam:\n    entra_tenant: fabrikam.onmicrosoft.com\n    auth: {method: client_secret, client_id: abc, client_secret_env: FABRIKAM_SECRET}\n")
	env := func(k string) string {
		return map[string]string{"TIERZERO_CONFIG": cfg, "FABRIKAM_SECRET": "s3cr3t-value"}[k]
	}
	r := run(t, env, "I forgot my password\n", "chat", "--tenant", "contoso", "--as", "adele.vance@contoso.com", "--data", t.TempDir())
	if r.code != 0 || !privateLine.MatchString(r.stdout) {
		t.Fatalf("chat through the configured simulator: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, env, "hi\n", "chat", "--tenant", "initech", "--as", "a@initech.com", "--data", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, "tenant initech is not in") {
		t.Fatalf("a tenant missing from the config: exit %d, %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "s3cr3t-value") {
		t.Fatal("a client secret was printed")
	}
}

func TestDelegatedTenantMustSignIn(t *testing.T) {
	base := startGraphsim(t)
	cfg := writeFile(t, "tierzero.yaml", "graph_url: "+base+"/v1.0\ntenants:\n  contoso:\n    entra_tenant: contoso.onmicrosoft.com\n    auth: {method: delegated, client_id: abc}\n")
	r := run(t, noEnv, "hi\n", "chat", "--config", cfg, "--tenant", "contoso", "--as", "adele.vance@contoso.com", "--data", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, "tierzero tenant login contoso") {
		t.Fatalf("exit %d, stderr %q: want a pointer to tenant login", r.code, r.stderr)
	}
	r = run(t, noEnv, "", "tenant", "login", "contoso", "--data", t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, "needs --config") {
		t.Fatalf("login without config: exit %d, %q", r.code, r.stderr)
	}
}

func TestChatWithConfiguredLLM(t *testing.T) {
	base := startGraphsim(t)
	llm := newFakeLLM(t)
	cfg := writeFile(t, "tierzero.yaml", "graph_url: "+base+"/v1.0\nllm: {base_url: "+llm.srv.URL+"/v1, model: gpt-test, api_key_env: MY_LLM_KEY}\ntenants:\n  contoso:\n    auth: {method: simulator}\n")
	env := func(k string) string { return map[string]string{"MY_LLM_KEY": "sk-test-key"}[k] }
	r := run(t, env, "I forgot my password\n", "chat", "--config", cfg, "--tenant", "contoso", "--as", employee, "--data", t.TempDir())
	if r.code != 0 || !privateLine.MatchString(r.stdout) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	llm.mu.Lock()
	defer llm.mu.Unlock()
	if len(llm.bodies) == 0 {
		t.Fatal("the configured model was never called")
	}
}

// TestNoIdentitySwitchOnConfiguredTenants: with real credentials, identity
// comes from the platform; a typed /as is refused.
func TestNoIdentitySwitchOnConfiguredTenants(t *testing.T) {
	base := startGraphsim(t)
	cfg := writeFile(t, "tierzero.yaml", "graph_url: "+base+"/v1.0\ntenants:\n  contoso:\n    auth: {method: simulator}\n")
	r := run(t, noEnv, "/as miriam.graham@contoso.com\n/whoami\n", "chat", "--config", cfg, "--tenant", "contoso", "--as", employee, "--data", t.TempDir())
	if r.code != 0 || !strings.Contains(r.stdout, "not available") || !strings.Contains(r.stdout, "You are Adele Vance") {
		t.Fatalf("exit %d, stdout %q: want /as refused and the identity unchanged", r.code, r.stdout)
	}
}
