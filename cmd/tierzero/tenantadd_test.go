package main

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tierzero/tierzero"
)

// TestTenantAddExample: a tenant added to examples/tierzero.yaml lands
// after the last tenant, before the comments that close the section; every
// other line of the file is kept, in order; the file validates, with the
// new tenant as written; the consent link is Entra ID's admin consent
// endpoint for the client's tenant id and the app's client id.
func TestTenantAddExample(t *testing.T) {
	orig, err := os.ReadFile("../../examples/tierzero.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "tierzero.yaml", string(orig))
	r := run(t, noEnv, "", "tenant", "add", "initech", "--config", path,
		"--tenant-id", "6F1C2E7A-1B2C-4D3E-8F9A-0B1C2D3E4F5A", "--domain", "Initech.com",
		"--auth", "client_secret", "--client-id", "11111111-2222-3333-4444-555555555555", "--client-secret-env", "TIERZERO_APP_SECRET",
		"--admin", "it.lead@initech.com", "--redirect-uri", "https://tierzero.example.com/consented")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, _ := os.ReadFile(path)
	entry := []string{
		"\n",
		"  initech: # initech.com, added by tierzero tenant add\n",
		"    entra_tenant: 6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a\n",
		"    auth:\n",
		"      method: client_secret\n",
		"      client_id: 11111111-2222-3333-4444-555555555555\n",
		"      client_secret_env: TIERZERO_APP_SECRET\n",
		"    admins: [it.lead@initech.com]\n",
	}
	want := "    admins: [tara.ellis@fabrikam.com]\n" + strings.Join(entry, "") + "\n  # A real tenant signs in"
	if !strings.Contains(string(got), want) {
		t.Fatalf("the tenant is not after fabrikam, before the section's comments:\n%s", got)
	}
	const after = "    admins: [tara.ellis@fabrikam.com]\n"
	if i := strings.Index(string(orig), after) + len(after); string(got) != string(orig[:i])+strings.Join(entry, "")+string(orig[i:]) {
		t.Fatalf("the rest of the file changed:\n%s", got)
	}
	c, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Tenants["initech"]
	if tc.EntraTenant != "6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a" || tc.Auth.Method != authClientSecret || tc.Auth.ClientID != "11111111-2222-3333-4444-555555555555" ||
		tc.Auth.ClientSecretEnv != "TIERZERO_APP_SECRET" || !slices.Equal(tc.Admins, []string{"it.lead@initech.com"}) || len(c.Tenants) != 3 {
		t.Fatalf("initech is %+v", tc)
	}
	link := "https://login.microsoftonline.com/6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a/adminconsent?client_id=11111111-2222-3333-4444-555555555555&redirect_uri=" +
		url.QueryEscape("https://tierzero.example.com/consented")
	for _, w := range []string{
		"Added tenant initech to " + path,
		"   " + link + "\n",
		"tierzero config validate " + path,
		"tierzero baseline plan initech --config " + path,
		"tierzero baseline apply initech --config " + path + " --as tess@msp.example",
		"approvals decide ID approve --tenant initech --as it.lead@initech.com",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("the output lacks %q:\n%s", w, r.stdout)
		}
	}
	if v := run(t, noEnv, "", "config", "validate", path); v.code != 0 {
		t.Fatalf("config validate: %d %s", v.code, v.stdout)
	}

	// The same tenant again, or another with the same Entra tenant id, is
	// refused, and the file stays as it is.
	again := run(t, noEnv, "", "tenant", "add", "initech", "--config", path, "--tenant-id", "6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "--auth", "simulator")
	same := run(t, noEnv, "", "tenant", "add", "initrode", "--config", path, "--tenant-id", "6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "--auth", "simulator")
	if again.code != 2 || !strings.Contains(again.stderr, "tenant initech is already in the configuration") ||
		same.code != 2 || !strings.Contains(same.stderr, "is already tenant initech's") {
		t.Fatalf("again: %d %s; same Entra tenant: %d %s", again.code, again.stderr, same.code, same.stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != string(got) {
		t.Fatalf("a refused add changed the file")
	}
}

// TestTenantAddRefuses: what tenant add refuses, each leaving the file as
// it was.
func TestTenantAddRefuses(t *testing.T) {
	const conf = "msp:\n  tenant: msp\n  technicians: [{upn: tess@msp.example}]\ntenants:\n  contoso:\n    entra_tenant: 11111111-1111-1111-1111-111111111111\n    auth: {method: simulator}\n"
	const guid = "22222222-2222-2222-2222-222222222222"
	tests := []struct {
		name string
		conf string
		args []string
		want string
	}{
		{"an existing id", conf, []string{"contoso", "--tenant-id", guid, "--auth", "simulator"}, "tenant contoso is already in the configuration"},
		{"the MSP's own id", conf, []string{"msp", "--tenant-id", guid, "--auth", "simulator"}, "the MSP's own tenant id"},
		{"a bad id", conf, []string{"Initech", "--tenant-id", guid, "--auth", "simulator"}, "tenant id"},
		{"not a GUID", conf, []string{"initech", "--tenant-id", "initech.onmicrosoft.com", "--auth", "simulator"}, `--tenant-id "initech.onmicrosoft.com" is not a GUID`},
		{"another tenant's GUID", conf, []string{"initech", "--tenant-id", "11111111-1111-1111-1111-111111111111", "--auth", "simulator"}, "is already tenant contoso's"},
		{"no tenant id", conf, []string{"initech", "--auth", "simulator"}, `"tenant-id" not set`},
		{"a bad domain", conf, []string{"initech", "--tenant-id", guid, "--domain", "initech", "--auth", "simulator"}, `--domain "initech" is not a domain name`},
		{"an admin of another domain", conf, []string{"initech", "--tenant-id", guid, "--domain", "initech.com", "--admin", "bob@contoso.com", "--auth", "simulator"}, "--admin bob@contoso.com is not in the domain initech.com"},
		{"no method", conf, []string{"initech", "--tenant-id", guid}, "--auth is required without a partner section"},
		{"gdap without a partner", conf, []string{"initech", "--tenant-id", guid, "--auth", "gdap"}, "--auth gdap needs a partner section"},
		{"an unknown method", conf, []string{"initech", "--tenant-id", guid, "--auth", "password"}, `--auth "password": want gdap`},
		{"a secret without its app", conf, []string{"initech", "--tenant-id", guid, "--auth", "client_secret", "--client-secret-env", "S"}, "--auth client_secret needs --client-id"},
		{"a secret for a variable", conf, []string{"initech", "--tenant-id", guid, "--auth", "client_secret", "--client-id", "app", "--client-secret-env", "abc~123.secret"}, "never the secret"},
		{"a file with problems", conf + "    pasword: x\n", []string{"initech", "--tenant-id", guid, "--auth", "simulator"}, `unknown key "pasword"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "tierzero.yaml", tt.conf)
			r := run(t, noEnv, "", append([]string{"tenant", "add", "--config", path}, tt.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want an error with %q", r.code, r.stderr, tt.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.conf {
				t.Fatalf("the file changed:\n%s", b)
			}
		})
	}
}

// TestTenantAddApps: the app of the new tenant: GDAP by default with a
// partner section (the partner's app and authority in the consent link),
// the client id the file's other tenants of the method share, the
// console's redirect URL when it signs in with the same app; the file's own
// indentation; a tenants section followed by another keeps that section's
// comments where they are.
func TestTenantAddApps(t *testing.T) {
	t.Run("gdap", func(t *testing.T) {
		conf := "msp:\n    tenant: msp\npartner:\n    entra_tenant: msp.onmicrosoft.com\n    client_id: 99999999-8888-7777-6666-555555555555\n    authority_host: https://login.microsoftonline.us\n" +
			"tenants:\n    contoso:\n        entra_tenant: 11111111-1111-1111-1111-111111111111\n        auth: {method: gdap}\n\n# The web console.\nconsole:\n    session_ttl: 8h\n"
		path := writeFile(t, "tierzero.yaml", conf)
		r := run(t, noEnv, "", "tenant", "add", "hooli", "--config", path, "--tenant-id", "33333333-3333-3333-3333-333333333333")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		got, _ := os.ReadFile(path)
		want := "        auth: {method: gdap}\n\n    hooli:\n        entra_tenant: 33333333-3333-3333-3333-333333333333\n        auth: {method: gdap}\n\n# The web console.\nconsole:\n"
		if !strings.Contains(string(got), want) {
			t.Fatalf("file:\n%s", got)
		}
		for _, w := range []string{
			"https://login.microsoftonline.us/33333333-3333-3333-3333-333333333333/adminconsent?client_id=99999999-8888-7777-6666-555555555555\n",
			"GDAP relationship", "add admins: [UPN, ...] under tenants.hooli",
		} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("the output lacks %q:\n%s", w, r.stdout)
			}
		}
	})
	t.Run("the shared app", func(t *testing.T) {
		conf := "tenants:\n  contoso:\n    entra_tenant: 11111111-1111-1111-1111-111111111111\n    auth:\n      method: certificate\n      client_id: 44444444-4444-4444-4444-444444444444\n      certificate_file: /etc/tierzero/app.pem\n" +
			"console:\n  oidc:\n    issuer: https://login.microsoftonline.com/55555555-5555-5555-5555-555555555555/v2.0\n    client_id: 44444444-4444-4444-4444-444444444444\n    redirect_url: https://tz.example.com/console/callback\n"
		path := writeFile(t, "tierzero.yaml", conf)
		r := run(t, noEnv, "", "tenant", "add", "globex", "--config", path, "--tenant-id", "66666666-6666-6666-6666-666666666666", "--auth", "certificate")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		c, err := loadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		if a := c.Tenants["globex"].Auth; a.ClientID != "44444444-4444-4444-4444-444444444444" || a.CertificateFile != "/etc/tierzero/app.pem" {
			t.Fatalf("globex's app: %+v", a)
		}
		link := "https://login.microsoftonline.com/66666666-6666-6666-6666-666666666666/adminconsent?client_id=44444444-4444-4444-4444-444444444444&redirect_uri=" +
			url.QueryEscape("https://tz.example.com/console/callback") + "\n"
		if !strings.Contains(r.stdout, link) {
			t.Errorf("the output lacks %q:\n%s", link, r.stdout)
		}
	})
	t.Run("delegated", func(t *testing.T) {
		path := writeFile(t, "tierzero.yaml", "tenants:\n  contoso:\n    auth: {method: simulator}\n")
		r := run(t, noEnv, "", "tenant", "add", "umbrella", "--config", path, "--tenant-id", "77777777-7777-7777-7777-777777777777", "--auth", "delegated", "--client-id", "app-id")
		if r.code != 0 || !strings.Contains(r.stdout, "tierzero tenant login umbrella --config "+path) {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// While serve runs (its admin socket is there), tenant add still edits the
// file where it is typed: the server is not asked to write the
// configuration.
func TestTenantAddBesideServe(t *testing.T) {
	orig, err := os.ReadFile("../../examples/tierzero.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "tierzero.yaml", string(orig))
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		http.Error(w, "not here", http.StatusForbidden)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	env := func(k string) string {
		if k == "TIERZERO_ADMIN_SOCKET" {
			return sock
		}
		return ""
	}
	r := run(t, env, "", "tenant", "add", "initech", "--config", path, "--tenant-id", "6f1c2e7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
		"--auth", "client_secret", "--client-id", "11111111-2222-3333-4444-555555555555", "--client-secret-env", "TIERZERO_APP_SECRET")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("tenant add asked the server %d times", n)
	}
	if c, err := loadConfig(path); err != nil || c.Tenants["initech"].EntraTenant == "" {
		t.Errorf("initech not added: %v", err)
	}
	// The check is real: another operator command goes to the server.
	if r := run(t, env, "", "approvals", "list", "--tenant", "contoso"); asked.Load() == 0 {
		t.Errorf("approvals list did not reach the server socket: exit %d %s", r.code, r.stderr)
	}
}

// TestTenantAddBlockScalar: the last tenant's ticket settings end with a
// block scalar (|) whose last line starts with '#': content, not a comment.
// The new tenant goes after it, and the file decodes to what it did plus
// the new tenant: contoso's ticket field keeps its last line. A placement
// that would change the rest of the file (a |+ block's kept blank lines
// taken by the new entry) is refused and the file left as it was.
func TestTenantAddBlockScalar(t *testing.T) {
	const head = "msp:\n  tenant: msp\n  technicians: [{upn: tess@msp.example}]\ntenants:\n  contoso:\n" +
		"    entra_tenant: 11111111-1111-1111-1111-111111111111\n    auth: {method: simulator}\n" +
		"    ticket:\n      system: jira\n      url: https://contoso.atlassian.net\n      email: it@contoso.com\n" +
		"      api_token_env: JIRA_TOKEN\n      service_desk_id: \"1\"\n      request_type_id: \"2\"\n      fields:\n"
	const block = "        customfield_10010: |\n          Escalated by tierzero.\n            # indented, still the field's\n          # Contoso IT: call 555-0100\n"
	const tail = "    # contoso's last comment\n\n# the next section\nbaseline:\n  drift_interval: 24h\n"
	const guid = "22222222-2222-2222-2222-222222222222"
	path := writeFile(t, "tierzero.yaml", head+block+tail)
	before, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	const want = "Escalated by tierzero.\n  # indented, still the field's\n# Contoso IT: call 555-0100\n"
	if got := nodeFields(t, before, "contoso"); got != want {
		t.Fatalf("the test's file reads %q", got)
	}
	r := run(t, noEnv, "", "tenant", "add", "initech", "--config", path, "--tenant-id", guid, "--auth", "simulator")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, _ := os.ReadFile(path)
	entry := "\n  initech:\n    entra_tenant: " + guid + "\n    auth: {method: simulator}\n"
	if string(got) != head+block+entry+tail {
		t.Fatalf("the tenant is not right after contoso's ticket field:\n%s", got)
	}
	after, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if f := nodeFields(t, after, "contoso"); f != want || len(after.Tenants) != 2 || after.Tenants["initech"].EntraTenant != guid {
		t.Fatalf("contoso's field is now %q; tenants %v", f, after.Tenants)
	}

	// |+ keeps the blank lines after its content: the new entry would take
	// them, changing contoso's field: refused, the file as it was.
	keep := strings.Replace(block, "|\n", "|+\n", 1) + "\n\n"
	path = writeFile(t, "keep.yaml", head+keep+"baseline:\n  drift_interval: 24h\n")
	r = run(t, noEnv, "", "tenant", "add", "initech", "--config", path, "--tenant-id", guid, "--auth", "simulator")
	if r.code == 0 || !strings.Contains(r.stderr, "would change the rest of the file") {
		t.Fatalf("a |+ block: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != head+keep+"baseline:\n  drift_interval: 24h\n" {
		t.Fatalf("a refused add changed the file:\n%s", b)
	}
}

// nodeFields is tenant's jira ticket field customfield_10010 as c decodes
// it.
func nodeFields(t *testing.T, c *config, tenant tierzero.TenantID) string {
	t.Helper()
	tk := c.Tenants[tenant].Ticket
	if tk == nil {
		t.Fatalf("%s has no ticket block", tenant)
	}
	var v struct {
		Fields map[string]string `yaml:"fields"`
	}
	if err := tk.node.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Fields["customfield_10010"]
}
