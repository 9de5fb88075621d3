package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// mspSetup writes a configuration with the MSP's technicians and the two
// simulated tenants, and a policy directory that admits tess to both, tom
// to fabrikam only (by a glob) and the contractor nowhere.
func mspSetup(t *testing.T, base string) (config, policies string) {
	t.Helper()
	dir := t.TempDir()
	config = filepath.Join(dir, "tierzero.yaml")
	cfg := `graph_url: ` + base + `/v1.0
msp:
  tenant: msp
  technicians:
    - {upn: tess@msp.example, name: Tess Nguyen}
    - {upn: tom@msp.example, name: Tom Fischer}
    - {upn: nobody@contractor.example, name: No Body}
tenants:
  contoso:
    auth: {method: simulator}
  fabrikam:
    auth: {method: simulator}
    admins: [ravi.shah@fabrikam.com]
`
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	policies = writePolicyDir(t, map[string]string{
		"contoso.yaml":  "scope: {tenant: contoso}\ntechnicians: [tess@msp.example]\n",
		"fabrikam.yaml": "scope: {tenant: fabrikam}\ntechnicians: [\"*@msp.example\"]\n",
	})
	return config, policies
}

func auditOf(t *testing.T, data, tenant string) []auditRecord {
	t.Helper()
	r := run(t, noEnv, "", "audit", "export", "--tenant", tenant, "--data", data)
	if r.code != 0 && strings.Contains(r.stderr, "no data for tenant "+tenant) {
		return nil
	}
	if r.code != 0 {
		t.Fatalf("audit export --tenant %s exited %d: %s", tenant, r.code, r.stderr)
	}
	var recs []auditRecord
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec auditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func writes(t *testing.T, base, tenant string) []string {
	t.Helper()
	var out []string
	for _, e := range journal(t, base, tenant) {
		out = append(out, e.Method+" "+e.Path)
	}
	return out
}

// TestTechnicianAcrossTenants runs the MSP console in chat: a technician of
// the MSP acts in two client tenants from one conversation; every call is
// shown as a plan naming its tenant and runs only after yes; each tenant's
// audit records what was done there, by whom, admitted by which policy.
func TestTechnicianAcrossTenants(t *testing.T) {
	base := startGraphsim(t)
	config, policies := mspSetup(t, base)
	data := t.TempDir()
	chatIn := func(t *testing.T, data, as, stdin string, extra ...string) result {
		t.Helper()
		args := append([]string{"chat", "--config", config, "--policy", policies, "--data", data, "--as", as}, extra...)
		r := run(t, noEnv, stdin, args...)
		if r.code != 0 {
			t.Fatalf("chat as %s exited %d: %s", as, r.code, r.stderr)
		}
		return r
	}
	chat := func(as, stdin string, extra ...string) result {
		t.Helper()
		return chatIn(t, data, as, stdin, extra...)
	}
	hacked := "I think noah.bennett@fabrikam.com and alex.wilber@contoso.com were hacked\n"

	t.Run("nothing runs before yes", func(t *testing.T) {
		r := chat("tess@msp.example", hacked)
		for _, want := range []string{
			"you act in contoso, fabrikam",
			"- in fabrikam: read the recent sign-ins of noah.bennett@fabrikam.com",
			"- in contoso: read the recent sign-ins of alex.wilber@contoso.com",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("no %q in:\n%s", want, r.stdout)
			}
		}
		for _, tenant := range []string{"contoso", "fabrikam"} {
			for _, rec := range auditOf(t, data, tenant) {
				t.Errorf("%s audit has a %s record before anything was confirmed", tenant, rec.Kind)
			}
		}
	})

	t.Run("a plan across two tenants runs after yes", func(t *testing.T) {
		data := t.TempDir()
		r := chatIn(t, data, "tess@msp.example", hacked+"yes\nyes\nyes\n")
		for _, want := range []string{
			"- in fabrikam: sign noah.bennett@fabrikam.com out of every session",
			"In fabrikam, I did: sign noah.bennett@fabrikam.com out of every session.",
			"In contoso, I did: sign alex.wilber@contoso.com out of every session.",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("no %q in:\n%s", want, r.stdout)
			}
		}
		if got := writes(t, base, "fabrikam"); len(got) != 1 || !strings.Contains(got[0], "noah.bennett@fabrikam.com/revokeSignInSessions") {
			t.Fatalf("fabrikam writes = %v, want one revocation for noah", got)
		}
		if got := writes(t, base, "contoso"); len(got) != 1 || !strings.Contains(got[0], "alex.wilber@contoso.com/revokeSignInSessions") {
			t.Fatalf("contoso writes = %v, want one revocation for alex", got)
		}
		// Each client's audit holds what was decided and done there, by the
		// technician, from the MSP's tenant, admitted by its policy file.
		for tenant, file := range map[string]string{"contoso": "contoso.yaml", "fabrikam": "fabrikam.yaml"} {
			decided, executed := 0, 0
			for _, rec := range auditOf(t, data, tenant) {
				switch rec.Kind {
				case "decided":
					decided++
					if rec.Effect != "allow" || rec.Facts["requester"] != "tess@msp.example" || rec.Facts["requester_tenant"] != "msp" || !strings.HasSuffix(rec.Facts["admitted_by"], file) {
						t.Errorf("%s decided record = %+v", tenant, rec)
					}
				case "executed":
					executed++
				}
			}
			if decided != 3 || executed != 3 { // sign-ins, risk, revoke
				t.Errorf("%s audit: %d decided, %d executed; want 3 and 3", tenant, decided, executed)
			}
		}
		// The MSP's own audit holds the conversation: each proposal names
		// its tenant; no decision is taken there.
		msp := auditOf(t, data, "msp")
		proposed := 0
		for _, rec := range msp {
			switch rec.Kind {
			case "proposed":
				proposed++
				if rec.Facts["tenant"] != "contoso" && rec.Facts["tenant"] != "fabrikam" {
					t.Errorf("proposal without its tenant: %+v", rec)
				}
			case "decided", "executed":
				t.Errorf("the MSP's audit has a %s record", rec.Kind)
			}
		}
		if proposed != 12 { // 6 calls awaiting confirmation, 6 confirmed
			t.Errorf("%d proposals in the MSP's audit, want 12", proposed)
		}
		for _, tenant := range []string{"msp", "contoso", "fabrikam"} {
			if r := run(t, noEnv, "", "audit", "verify", "--tenant", tenant, "--data", data); r.code != 0 {
				t.Fatalf("audit verify --tenant %s exited %d: %s%s", tenant, r.code, r.stdout, r.stderr)
			}
		}
	})

	t.Run("guardrails still hold in the client tenant", func(t *testing.T) {
		before := len(writes(t, base, "fabrikam"))
		r := chat("tess@msp.example", "Reset the password of tara.ellis@fabrikam.com\nyes\nyes\n")
		if !strings.Contains(r.stdout, "In fabrikam, not offered, because policy refuses it: reset the password of tara.ellis@fabrikam.com") || !strings.Contains(r.stdout, "admin role") {
			t.Fatalf("the reset of a Global Administrator was not refused with its reason:\n%s", r.stdout)
		}
		if got := writes(t, base, "fabrikam"); len(got) != before {
			t.Fatalf("fabrikam writes = %v", got)
		}
	})

	t.Run("an approval waits in the client tenant for its admin", func(t *testing.T) {
		r := chat("tess@msp.example", "Please give grace.kim@fabrikam.com a Microsoft 365 E3 license\nyes\nyes\n")
		m := regexp.MustCompile(`\[approval request ([0-9a-f]{32}) in fabrikam\] Tess Nguyen asks to: assign the license SPE_E3 to grace\.kim@fabrikam\.com\. Policy: tech-license-assign needs a tenant admin`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no approval request:\n%s", r.stdout)
		}
		decide := func(as string, extra ...string) result {
			args := append([]string{"approvals", "decide", m[1], "approve", "--config", config, "--policy", policies, "--data", data, "--as", as}, extra...)
			return run(t, noEnv, "", args...)
		}
		assigned := func() int {
			n := 0
			for _, w := range writes(t, base, "fabrikam") {
				if strings.HasSuffix(w, "/assignLicense") {
					n++
				}
			}
			return n
		}
		// Not by the technician who asked, nor by a client employee.
		if r := decide("tess@msp.example"); r.code == 0 || assigned() != 0 {
			t.Fatalf("the requester approved her own request: exit %d %s%s", r.code, r.stdout, r.stderr)
		}
		if r := decide("grace.kim@fabrikam.com", "--tenant", "fabrikam"); r.code == 0 || assigned() != 0 {
			t.Fatalf("an employee approved: exit %d %s%s", r.code, r.stdout, r.stderr)
		}
		r = decide("ravi.shah@fabrikam.com", "--tenant", "fabrikam")
		if r.code != 0 || !strings.Contains(r.stdout, "approved and done") || assigned() != 1 {
			t.Fatalf("the tenant admin's approval: exit %d %s%s; %d assignments", r.code, r.stdout, r.stderr, assigned())
		}
	})

	t.Run("only the tenants policy admits", func(t *testing.T) {
		r := chat("tom@msp.example", "Reset the password of alex.wilber@contoso.com\nyes\nyes\n")
		if !strings.Contains(r.stdout, "you act in fabrikam.") {
			t.Fatalf("tom's tenants:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, "in contoso:") {
			t.Fatalf("tom was offered a plan in contoso:\n%s", r.stdout)
		}
		r = chat("nobody@contractor.example", "Reset the password of noah.bennett@fabrikam.com\nyes\nyes\n")
		if !strings.Contains(r.stdout, "no policy admits you to a client tenant") {
			t.Fatalf("nobody's tenants:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, "Here is what I'm about to do") {
			t.Fatalf("nobody was offered a plan:\n%s", r.stdout)
		}
		if got := writes(t, base, "contoso"); len(got) != 1 {
			t.Fatalf("contoso writes = %v, want only the earlier revocation", got)
		}
	})

	t.Run("a client's employee stays in their tenant", func(t *testing.T) {
		before := len(writes(t, base, "fabrikam"))
		r := chat("adele.vance@contoso.com", "Reset the password of noah.bennett@fabrikam.com\n", "--tenant", "contoso")
		if strings.Contains(r.stdout, "[private to") || len(writes(t, base, "fabrikam")) != before {
			t.Fatalf("an employee of contoso changed fabrikam:\n%s", r.stdout)
		}
	})

	t.Run("a decision on no approval of hers is refused on the record", func(t *testing.T) {
		data := t.TempDir()
		r := run(t, noEnv, "/approve 0123456789abcdef0123456789abcdef\n", "chat", "--config", config, "--policy", policies, "--data", data, "--as", "tess@msp.example")
		if r.code != 0 || !strings.Contains(r.stdout, "Your decision was not recorded: no approval request 0123456789abcdef0123456789abcdef in the tenants you act in") {
			t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		recs := auditOf(t, data, "msp")
		if len(recs) != 1 || recs[0].Kind != "approval_decided" || recs[0].Outcome != "refused" {
			t.Fatalf("the MSP's audit = %+v, want one refused decision", recs)
		}
	})

	t.Run("a broken configuration is reported", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("msp:\n  tenant: msp\n  technicians: [{upn: tess@msp.example}, {upn: TESS@msp.example}]\ntenants:\n  contoso: {auth: {method: simulator}}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, noEnv, "", "chat", "--config", bad, "--data", t.TempDir(), "--as", "tess@msp.example")
		if r.code == 0 || !strings.Contains(r.stderr, "listed twice") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("an unknown technician is refused", func(t *testing.T) {
		r := run(t, noEnv, "hello\n", "chat", "--config", config, "--data", data, "--tenant", "msp", "--as", "eve@msp.example")
		if r.code == 0 || !strings.Contains(r.stderr, "eve@msp.example is not a technician of the MSP") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestTechnicianWithAModelOverTheWire drives the MSP console with go-openai
// against a fake OpenAI server playing a careless model: it proposes, in one
// answer, a reset in an admitted tenant, one in a tenant the technician is
// not admitted to and one that names no tenant. Only the first is shown and,
// after yes, runs; the temporary password goes to the technician privately
// and never to the model.
func TestTechnicianWithAModelOverTheWire(t *testing.T) {
	base := startGraphsim(t)
	config, policies := mspSetup(t, base)
	data := t.TempDir()
	var mu sync.Mutex
	var bodies []string
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(raw))
		mu.Unlock()
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role string `json:"role"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(raw, &req); err != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		msg := map[string]any{"role": "assistant", "content": "Done: the temporary password was delivered to you privately."}
		finish := "stop"
		if req.Messages[len(req.Messages)-1].Role == "user" && len(req.Messages) == 2 {
			call := func(id, args string) map[string]any {
				return map[string]any{"id": id, "type": "function", "function": map[string]string{"name": "user_reset_password", "arguments": args}}
			}
			msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []map[string]any{
				call("c1", `{"user":"noah.bennett@fabrikam.com","tenant":"fabrikam"}`),
				call("c2", `{"user":"ceo@northwind.example","tenant":"northwind"}`),
				call("c3", `{"user":"alex.wilber@contoso.com"}`),
			}}
			finish = "tool_calls"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   map[string]int{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
		})
	}))
	t.Cleanup(llm.Close)
	env := envOf(map[string]string{"TIERZERO_LLM_BASE_URL": llm.URL + "/v1", "TIERZERO_LLM_API_KEY": "sk-test", "TIERZERO_LLM_MODEL": "gpt-test"})

	r := run(t, env, "Reset Noah's password in fabrikam\nyes\n", "chat", "--config", config, "--policy", policies, "--data", data, "--as", "tess@msp.example")
	if r.code != 0 {
		t.Fatalf("chat exited %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "- in fabrikam: reset the password of noah.bennett@fabrikam.com") || strings.Contains(r.stdout, "northwind:") || strings.Contains(r.stdout, "in contoso:") {
		t.Fatalf("plan:\n%s", r.stdout)
	}
	m := privateLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "tess@msp.example" {
		t.Fatalf("no private line to the technician:\n%s", r.stdout)
	}
	if got := writes(t, base, "fabrikam"); len(got) != 1 || !strings.Contains(got[0], "PATCH") || !strings.Contains(got[0], "noah.bennett@fabrikam.com") {
		t.Fatalf("fabrikam writes = %v, want one PATCH of noah", got)
	}
	if got := writes(t, base, "contoso"); len(got) != 0 {
		t.Fatalf("contoso writes = %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) < 2 {
		t.Fatalf("the model got %d requests", len(bodies))
	}
	for _, b := range bodies {
		if strings.Contains(b, m[2]) {
			t.Fatal("the temporary password was sent to the model")
		}
	}
	// The model was told why its other two calls were not run.
	second := bodies[1]
	for _, want := range []string{`tenant must be one of contoso, fabrikam`, `missing required property`} {
		if !strings.Contains(second, want) && !strings.Contains(strings.ReplaceAll(second, `\"`, `"`), want) {
			t.Errorf("the model was not told %q", want)
		}
	}
}
