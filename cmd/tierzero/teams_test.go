package main

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierzero/tierzero/graph/sim"
)

const (
	teamsApp    = "00000000-0000-4000-8000-00000000b07a"
	teamsTenant = "11111111-1111-4111-8111-111111111111"
)

func TestTeamsConfig(t *testing.T) {
	const tenant = "tenants:\n  contoso:\n    auth: {method: simulator}\n"
	const app = "teams:\n  app_id: " + teamsApp + "\n  app_password_env: TEAMS_APP_PASSWORD\n  app_tenant: " + teamsTenant + "\n"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"the issue's example", app +
			"  openid_metadata_url: https://login.botframework.com/v1/.well-known/openidconfiguration\n" +
			"  token_url: https://login.microsoftonline.com/" + teamsTenant + "/oauth2/v2.0/token\n" +
			"  service_urls: [\"https://smba.trafficmanager.net/\"]\n" +
			tenant + "    teams: {tenant_id: " + teamsTenant + ", approvals_conversation: \"19:abc@thread.tacv2\"}\n", nil},
		{"the least", app + tenant + "    teams: {tenant_id: " + teamsTenant + "}\n", nil},
		{"missing keys", "teams: {app_id: " + teamsApp + "}\n" + tenant + "    teams: {tenant_id: " + teamsTenant + "}\n",
			[]string{"1: teams needs app_password_env", "1: teams needs app_tenant"}},
		{"a secret for a variable and bad ids", "teams:\n  app_id: tierzero-bot\n  app_password_env: Qx8~s3cr3t.value\n  app_tenant: contoso.onmicrosoft.com\n" +
			tenant + "    teams: {tenant_id: contoso, approvals_conversation: \"#it-approvals\"}\n",
			[]string{`2: teams.app_id "tierzero-bot" is not a GUID`, "3: teams.app_password_env is not the name of an environment variable",
				`4: teams.app_tenant "contoso.onmicrosoft.com" is not a tenant id`, `8: tenant contoso: teams.tenant_id "contoso" is not an Entra tenant id`,
				`8: tenant contoso: teams.approvals_conversation "#it-approvals" is not a channel id`}},
		{"urls", app + "  token_url: http://login.example/token\n  service_urls: [\"https://smba.trafficmanager.net\", \"ftp://x/\"]\n" +
			tenant + "    teams: {tenant_id: " + teamsTenant + "}\n",
			[]string{`5: teams.token_url "http://login.example/token": want an https URL`, `6: teams.service_urls[0] "https://smba.trafficmanager.net": a prefix ends with /`,
				`6: teams.service_urls[1] "ftp://x/": want an https URL`}},
		{"tenant teams without the bot", tenant + "    teams: {tenant_id: " + teamsTenant + "}\n",
			[]string{"4: tenant contoso: a tenant's teams needs the top-level teams section"}},
		{"the bot without a tenant", app + tenant, []string{"1: teams: no tenant has teams.tenant_id"}},
		{"one Entra tenant, two tenants", app + tenant + "    teams: {tenant_id: " + teamsTenant + "}\n" +
			"  fabrikam:\n    auth: {method: simulator}\n    teams: {tenant_id: " + strings.ToUpper(teamsTenant) + "}\n",
			[]string{"11: tenant fabrikam: teams.tenant_id " + strings.ToUpper(teamsTenant) + " is also tenant contoso's"}},
		{"unknown key", "teams: {app_id: " + teamsApp + ", app_password_env: P, app_tenant: " + teamsTenant + ", service_url: x}\n" + tenant + "    teams: {tenantid: x}\n",
			[]string{`1: teams: unknown key "service_url" (did you mean "service_urls"?)`, `5: tenants.contoso.teams: unknown key "tenantid" (did you mean "tenant_id"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, tt.body, tt.want, "s3cr3t")
		})
	}
}

func TestTeamsPackageCommand(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "tierzero.yaml")
	os.WriteFile(conf, []byte("teams: {app_id: "+teamsApp+", app_password_env: P, app_tenant: "+teamsTenant+"}\n"+
		"tenants:\n  contoso:\n    auth: {method: simulator}\n    teams: {tenant_id: "+teamsTenant+"}\n"), 0o600)
	out := filepath.Join(dir, "tierzero-teams.zip")
	r := run(t, noEnv, "", "teams", "package", "--config", conf, "-o", out, "--developer", "Contoso IT Partners", "--version", "1.2.3")
	if r.code != 0 || !strings.Contains(r.stdout, "Upload it") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	var man struct {
		ID        string `json:"id"`
		Version   string `json:"version"`
		Developer struct{ Name string }
		Bots      []struct {
			BotID  string   `json:"botId"`
			Scopes []string `json:"scopes"`
		}
	}
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == "manifest.json" {
			rc, _ := f.Open()
			json.NewDecoder(rc).Decode(&man)
			rc.Close()
		}
	}
	if strings.Join(names, ",") != "manifest.json,color.png,outline.png" {
		t.Fatalf("package holds %v", names)
	}
	if man.ID != teamsApp || man.Version != "1.2.3" || man.Developer.Name != "Contoso IT Partners" || len(man.Bots) != 1 ||
		man.Bots[0].BotID != teamsApp || strings.Join(man.Bots[0].Scopes, " ") != "personal team" {
		t.Fatalf("manifest %+v", man)
	}
	noTeams := filepath.Join(dir, "plain.yaml")
	os.WriteFile(noTeams, []byte("tenants:\n  contoso:\n    auth: {method: simulator}\n"), 0o600)
	if r := run(t, noEnv, "", "teams", "package", "--config", noTeams, "-o", filepath.Join(dir, "x.zip")); r.code != 1 || !strings.Contains(r.stderr, "no teams section") {
		t.Fatalf("without a teams section: exit %d: %s", r.code, r.stderr)
	}
}

// fakeBotFramework is the Bot Framework on loopback: the OpenID metadata
// and keys of a key we hold, the bot's token endpoint and the connector.
type fakeBotFramework struct {
	key   *rsa.PrivateKey
	srv   *httptest.Server
	mu    sync.Mutex
	calls []teamsCall
}

type teamsCall struct {
	Method, Path, Auth string
	Body               map[string]any
	Raw                string
}

func newFakeBotFramework(t *testing.T) *fakeBotFramework {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBotFramework{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openid", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": "https://api.botframework.com", "jwks_uri": f.srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{"kty": "RSA", "use": "sig", "kid": "k1",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
			"endorsements": []string{"msteams"}}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("client_secret") != "teams-app-password" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "bot-token"})
	})
	mux.HandleFunc("/connector/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := teamsCall{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/connector"), Auth: r.Header.Get("Authorization"), Raw: string(b)}
		json.Unmarshal(b, &c.Body)
		f.mu.Lock()
		f.calls = append(f.calls, c)
		n := len(f.calls)
		f.mu.Unlock()
		if c.Auth != "Bearer bot-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"id": fmt.Sprintf("activity-%d", n)})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBotFramework) serviceURL() string { return f.srv.URL + "/connector/" }

func (f *fakeBotFramework) token(t *testing.T, serviceURL string) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://api.botframework.com", "aud": teamsApp,
		"serviceurl": serviceURL, "exp": time.Now().Add(time.Hour).Unix(), "nbf": time.Now().Add(-time.Minute).Unix()})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(f.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeBotFramework) all() []teamsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]teamsCall(nil), f.calls...)
}

// TestTeamsThroughServe runs the real binary's Main: `tierzero serve` with a
// configuration that enables Teams, the Graph simulator and a fake Bot
// Framework on loopback. "I forgot my password" in adele's personal chat,
// with a token signed by the fake's key, ends with the reset in the
// simulator, one reply to the activity, the password only in her personal
// chat, and the audit; a token signed by another key changes nothing.
func TestTeamsThroughServe(t *testing.T) {
	s := sim.New(sim.Options{})
	gsrv := httptest.NewServer(s)
	defer gsrv.Close()
	st, _ := s.State("contoso")
	var oid string
	for _, u := range st.Users {
		if u.UserPrincipalName == employee {
			oid = u.ID
		}
	}
	bf := newFakeBotFramework(t)
	vars := map[string]string{"TEAMS_APP_PASSWORD": "teams-app-password", "TIERZERO_LOG": "debug"}
	srv := serveMain(t, gsrv.URL, fmt.Sprintf(`teams:
  app_id: %s
  app_password_env: TEAMS_APP_PASSWORD
  app_tenant: %s
  openid_metadata_url: %s/openid
  token_url: %s/token
  service_urls: ["%s"]
tenants:
  contoso:
    auth: {method: simulator}
    teams: {tenant_id: %s}
`, teamsApp, teamsTenant, bf.srv.URL, bf.srv.URL, bf.serviceURL(), teamsTenant), vars)
	base, data := srv.base, srv.data
	conv := "a:1personal-" + oid
	body, _ := json.Marshal(map[string]any{
		"type": "message", "id": "1700000000001", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"serviceUrl": bf.serviceURL(), "channelId": "msteams",
		"from":         map[string]any{"id": "29:adele", "name": "Adele Vance", "aadObjectId": oid},
		"conversation": map[string]any{"conversationType": "personal", "tenantId": teamsTenant, "id": conv},
		"recipient":    map[string]any{"id": "28:" + teamsApp, "name": "tierzero"},
		"text":         "I forgot my password",
		"channelData":  map[string]any{"tenant": map[string]any{"id": teamsTenant}},
	})
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	other := &fakeBotFramework{}
	other.key, _ = rsa.GenerateKey(rand.Reader, 2048)
	if code := post(other.token(t, bf.serviceURL())); code != http.StatusUnauthorized {
		t.Fatalf("a token signed by another key: %d, want 401", code)
	}
	time.Sleep(100 * time.Millisecond)
	if calls := bf.all(); len(calls) != 0 {
		t.Fatalf("the connector was called for a refused request: %+v", calls)
	}
	if code := post(bf.token(t, bf.serviceURL())); code != http.StatusOK {
		t.Fatalf("the message: %d, want 200", code)
	}
	var password string
	var replies []teamsCall
	waitUntil(t, "the reply and the password", func() bool {
		replies = nil
		for _, c := range bf.all() {
			if c.Body["type"] != "message" {
				continue
			}
			if c.Path == "/v3/conversations/"+conv+"/activities/1700000000001" {
				replies = append(replies, c)
			}
			if c.Path == "/v3/conversations/"+conv+"/activities" && strings.Contains(c.Raw, "Monospace") {
				atts := c.Body["attachments"].([]any)
				for _, in := range atts[0].(map[string]any)["content"].(map[string]any)["body"].([]any) {
					if m, ok := in.(map[string]any); ok && m["type"] == "RichTextBlock" {
						run := m["inlines"].([]any)[0].(map[string]any)
						if run["fontType"] == "Monospace" {
							password, _ = run["text"].(string)
						}
					}
				}
			}
		}
		return len(replies) == 1 && password != ""
	})
	time.Sleep(200 * time.Millisecond)
	n := 0
	for _, c := range bf.all() {
		if strings.Contains(c.Raw, password) && c.Path != "/v3/conversations/"+conv+"/activities" {
			t.Fatalf("the password went to %s %s", c.Method, c.Path)
		}
		if c.Auth != "Bearer bot-token" {
			t.Fatalf("a call with %q", c.Auth)
		}
		if c.Path == "/v3/conversations/"+conv+"/activities/1700000000001" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d replies to the activity, want 1", n)
	}
	if text, _ := replies[0].Body["text"].(string); !strings.Contains(text, "privately") {
		t.Fatalf("reply %q", text)
	}
	wantOneReset(t, s)
	srv.stop(t)
	if log := srv.log(); strings.Contains(log, password) || strings.Contains(log, "teams-app-password") {
		t.Fatal("a secret is in the logs")
	}
	wantResetAudited(t, data, password)
}
