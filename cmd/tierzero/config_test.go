package main

import (
	"fmt"
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

// wantProblems checks the problems parseConfig finds in body, each "line:
// message": one for each of want, in order, each starting with its want;
// and that none shows any of secrets.
func wantProblems(t *testing.T, body string, want []string, secrets ...string) {
	t.Helper()
	_, ps := parseConfig([]byte(body))
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d: %s", p.line, p.msg))
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, g := range got {
		for _, s := range secrets {
			if strings.Contains(g, s) {
				t.Errorf("a problem shows what may be a secret: %s", g)
				break
			}
		}
	}
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
		{"unknown method", "tenants:\n  contoso:\n    auth: {method: password}\n", "want client_secret, certificate, delegated, gdap or simulator"},
		{"delegated", "tenants:\n  contoso:\n    entra_tenant: contoso.onmicrosoft.com\n    auth: {method: delegated, client_id: abc}\n", ""},
		{"delegated without client", "tenants:\n  contoso:\n    entra_tenant: contoso.onmicrosoft.com\n    auth: {method: delegated}\n", "delegated needs"},
		{"secret without its variable", "tenants:\n  contoso:\n    entra_tenant: x.onmicrosoft.com\n    auth: {method: client_secret, client_id: abc}\n", "client_secret_env"},
		{"certificate without file", "tenants:\n  contoso:\n    entra_tenant: x.onmicrosoft.com\n    auth: {method: certificate, client_id: abc}\n", "certificate_file"},
		{"llm", "llm: {base_url: http://localhost:11434/v1, model: llama3.1}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"azure llm", "llm: {base_url: https://x.openai.azure.com, model: gpt-4o, azure: true, deployment: helpdesk, api_key_env: AZ_KEY}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"llm without model", "llm: {base_url: http://localhost:11434/v1}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", "llm.model is required"},
		{"relative graph url", "graph_url: /v1.0\ntenants:\n  contoso:\n    auth: {method: simulator}\n", "not an absolute URL"},
		{"llm plain http elsewhere", "llm: {base_url: http://llm.example.com/v1, model: m}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", "line 1: llm.base_url http://llm.example.com is plain http to another machine"},
		{"llm plain http allowed", "llm: {base_url: http://10.0.0.5:8000/v1, model: m, allow_insecure_http: true}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"llm plain http on loopback", "llm: {base_url: http://127.0.0.1:8000/v1, model: m}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"llm tool call limits", "llm: {base_url: https://api.openai.com/v1, model: m, max_tool_calls: 4, max_tool_calls_per_answer: 2}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", ""},
		{"llm negative limit", "llm: {base_url: https://api.openai.com/v1, model: m, max_tool_calls_per_answer: -1}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", "llm.max_tool_calls_per_answer must be 1 or more"},
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

// TestValidateConfig: every problem of a file is found, each at its line.
func TestValidateConfig(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // "LINE: part of the message", in order
	}{
		{"valid", "tenants:\n  contoso:\n    auth: {method: simulator}\n", nil},
		{"empty file", "", []string{"1: no tenants"}},
		{"syntax error", "tenants:\n  contoso:\n\tauth: {}\n", []string{"3: found character that cannot start any token"}},
		{"unknown keys, all of them",
			"graph_ulr: https://graph.microsoft.com/v1.0\ntenants:\n  contoso:\n    auth: {method: simulator, clientid: x}\n    pasword: x\n",
			[]string{`1: the file: unknown key "graph_ulr" (did you mean "graph_url"?)`, `4: tenants.contoso.auth: unknown key "clientid" (did you mean "client_id"?)`, `5: tenants.contoso: unknown key "pasword"`}},
		{"a duplicate key and a duplicate tenant",
			"tenants:\n  contoso:\n    auth: {method: simulator}\n    auth: {method: delegated}\n  contoso:\n    auth: {method: simulator}\n",
			[]string{`4: tenants.contoso: "auth" is already defined at line 3`, `5: tenants: "contoso" is already defined at line 2`}},
		{"wrong shapes",
			"tenants:\n  contoso:\n    auth: simulator\n    admins: megan@contoso.com\n  fabrikam:\n    auth: {method: [simulator]}\nllm: {base_url: http://localhost:11434/v1, model: m, azure: maybe}\n",
			[]string{"3: tenants.contoso.auth: want a mapping, not a single value", "4: tenants.contoso.admins: want a list, not a single value", "6: tenants.fabrikam.auth.method: want a single value, not a list", `7: llm.azure: want true or false, not "maybe"`}},
		{"tenants, auth methods and their fields",
			"tenants:\n  Contoso:\n    auth: {method: simulator}\n  fabrikam:\n    auth: {method: password}\n  initech:\n    admins: [it@initech.com]\n  globex:\n    auth:\n      method: client_secret\n      client_secret_env: \"\"\n  umbrella:\n    entra_tenant: umbrella.onmicrosoft.com\n    auth:\n      method: certificate\n      client_id: abc\n      authority_host: login\n  hooli:\n    entra_tenant: hooli.com\n    auth: {method: client_secret, client_id: abc, client_secret_env: \"s3cr3t value\"}\n",
			[]string{
				`2: tenants: invalid tenant id "Contoso"`,
				`5: tenant fabrikam: auth.method "password": want client_secret, certificate, delegated, gdap or simulator`,
				"6: tenant initech: auth.method is missing",
				"8: tenant globex: client_secret needs entra_tenant",
				"9: tenant globex: client_secret needs client_id",
				"11: tenant globex: client_secret needs client_secret_env",
				"14: tenant umbrella: certificate needs certificate_file",
				`17: tenant umbrella: auth.authority_host "login" is not an absolute URL`,
				"20: tenant hooli: auth.client_secret_env is not the name of an environment variable",
			}},
		{"admins", "tenants:\n  contoso:\n    auth: {method: simulator}\n    admins:\n      - megan@contoso.com\n      - megan\n      - MEGAN@contoso.com\n",
			[]string{`6: tenant contoso: admins: "megan" is not a user principal name`, "7: tenant contoso: admins: MEGAN@contoso.com is listed twice"}},
		{"msp",
			"msp:\n  tenant: contoso\n  technicians:\n    - {upn: tess@msp.example}\n    - {upn: tess}\n    - upn: TESS@msp.example\ntenants:\n  contoso:\n    auth: {method: simulator}\n",
			[]string{"2: msp.tenant contoso is also a client tenant", `5: msp.technicians[1]: upn "tess" is not a user principal name`, "6: msp.technicians: TESS@msp.example is listed twice (first at line 4)"}},
		{"gdap", "msp: {tenant: msp}\npartner:\n  entra_tenant: msp.onmicrosoft.com\n  client_id: 0b6f4c3e-2d1a-4f5e-8c7b-9a0d1e2f3a4b\ntenants:\n  contoso:\n    entra_tenant: 7c1e6d2a-3b4f-4a5e-9d8c-1b2a3c4d5e6f\n    auth: {method: gdap}\n", nil},
		{"gdap without what it needs",
			"partner:\n  client_id: abc\n  authority_host: login\ntenants:\n  contoso:\n    auth: {method: gdap, client_id: abc}\n  fabrikam:\n    entra_tenant: fabrikam.com\n    auth: {method: gdap}\n",
			[]string{"1: partner.entra_tenant is required", "1: partner needs msp.tenant", `3: partner.authority_host "login" is not an absolute URL`, "5: tenant contoso: gdap needs entra_tenant", "6: tenant contoso: gdap takes the app and authority of the partner section"}},
		{"gdap without a partner", "tenants:\n  contoso:\n    entra_tenant: contoso.com\n    auth: {method: gdap}\n", []string{"4: tenant contoso: gdap needs a partner section"}},
		{"msp tenant id", "msp: {tenant: ../msp}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", []string{`1: msp.tenant: invalid tenant id "../msp"`}},
		{"llm and graph urls",
			"graph_url: /v1.0\nllm:\n  base_url: localhost\n  api_key_env: sk-proj-abc\ntenants:\n  contoso:\n    auth: {method: simulator}\n",
			[]string{`1: graph_url "/v1.0" is not an absolute URL`, "2: llm.model is required", `3: llm.base_url "localhost" is not an absolute URL`, "4: llm.api_key_env is not the name of an environment variable"}},
		{"serve", "serve:\n  addr: 127.0.0.1:8080\n  admin_socket: /run/tierzero/admin.sock\ntenants:\n  contoso:\n    auth: {method: simulator}\n", nil},
		{"serve without a port", "serve:\n  addr: 127.0.0.1\ntenants:\n  contoso:\n    auth: {method: simulator}\n", []string{`2: serve.addr "127.0.0.1": want host:port`}},
		{"serve with a bad port", "serve: {addr: \"localhost:http\", admin_socket: /" + strings.Repeat("s", 120) + "}\ntenants:\n  contoso:\n    auth: {method: simulator}\n",
			[]string{`1: serve.addr "localhost:http": port "http" is not a number`, "1: serve.admin_socket is 121 bytes long"}},
		{"serve unknown key", "serve: {address: \":8080\"}\ntenants:\n  contoso:\n    auth: {method: simulator}\n", []string{`1: serve: unknown key "address" (did you mean "addr"?)`}},
		{"anchors and merges",
			"x-auth: &sim {method: simulator}\ntenants:\n  contoso:\n    auth: *sim\n  fabrikam:\n    auth:\n      <<: *sim\n      clientid: x\n",
			[]string{`1: the file: unknown key "x-auth"`, `8: tenants.fabrikam.auth: unknown key "clientid"`}},
		{"two documents", "tenants:\n  contoso:\n    auth: {method: simulator}\n---\ntenants: {}\n", []string{"4: a second YAML document"}},
		{"not a mapping", "- contoso\n", []string{"1: the file: want a mapping, not a list"}},
		{"console and report",
			"console:\n  session_ttl: 8h\n  oidc:\n    issuer: https://login.microsoftonline.com/7c1e6d2a-3b4f-4a5e-9d8c-1b2a3c4d5e6f/v2.0\n    client_id: abc\n    client_secret_env: TIERZERO_CONSOLE_SECRET\n    redirect_url: https://tierzero.example.com/console/callback\nreport:\n  minutes_per_category: {password: 12, mfa: 20}\n  seat_price: 110\n  technician_cost: 6500\n  technician_hours: 120\n  currency: EUR\n  tickets_per_seat_month: 1.2\ntenants:\n  contoso:\n    auth: {method: simulator}\n", nil},
		{"console and report mistakes",
			"console:\n  session_ttl: 720h\n  oidc:\n    issuer: http://login.example.com\n    client_secret_env: \"a secret\"\n    redirect_url: https://tierzero.example.com/callback\n    scopes: [openid]\nreport:\n  minutes_per_category: {password: -1, passwords: 5}\n  seat_price: -5\n  tickets_per_seat_month: -1\n  technician_hours: 1000\ntenants:\n  contoso:\n    auth: {method: simulator}\n",
			[]string{"2: console.session_ttl 720h0m0s must be from 1m", "3: console.oidc.client_id is required", `4: console.oidc.issuer "http://login.example.com" must be an https URL`, "5: console.oidc.client_secret_env must name an environment variable", `6: console.oidc.redirect_url "https://tierzero.example.com/callback" must be this console's absolute callback URL`, `7: console.oidc: unknown key "scopes"`, "9: report.minutes_per_category.password: -1 minutes", `9: report.minutes_per_category: unknown category "passwords"`, "10: report.seat_price must not be negative", "11: report.tickets_per_seat_month must not be negative", "12: report.technician_hours 1000 is more hours than a month has"}},
		// The ticket block decodes itself: its mistake costs its line, and
		// the rest of the file (the tenant) is still read.
		{"a ticket block that is not a mapping", "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: webhook\n",
			[]string{"4: ticket must be a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, tt.body, tt.want, "s3cr3t", "sk-proj")
		})
	}
}

// TestLoadConfigNamesTheFirstProblems: loadConfig's error names the first
// problems, with their lines, and points to config validate for the rest.
func TestLoadConfigNamesTheFirstProblems(t *testing.T) {
	p := writeFile(t, "tierzero.yaml", "tenants:\n  a:\n    auth: {method: x}\n  b:\n    auth: {method: x}\n  c:\n    auth: {method: x}\n  d:\n    auth: {method: x}\n  e:\n    auth: {method: x}\n")
	_, err := loadConfig(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"config " + p + ": line 3: tenant a:", "; line 5: tenant b:", "; line 7: tenant c:", "(and 2 more: tierzero config validate " + p + " lists them)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
