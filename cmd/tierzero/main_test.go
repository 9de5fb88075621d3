package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// The end-to-end tests run the real Main: `tierzero graphsim` on a loopback
// port, then `tierzero chat` against it, then `tierzero audit export`, and
// read the simulator's journal over HTTP. They run once with the offline rules
// model and once with go-openai talking to a fake OpenAI server.

const (
	employee = "adele.vance@contoso.com"
	other    = "alex.wilber@contoso.com"
	admin    = "megan.bowen@contoso.com"
	// groupAdmin holds no role directly: only through the role-assignable
	// group IT Admins.
	groupAdmin = "allan.deyoung@contoso.com"
)

// startGraphsim runs `tierzero graphsim` and returns its base URL.
func startGraphsim(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"graphsim", "--addr", addr}, strings.NewReader(""), &syncWriter{w: &out}, io.Discard, noEnv)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("graphsim exited %d", code)
		}
	})
	base := "http://" + addr
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/_sim/journal?tenant=contoso")
		if err == nil {
			resp.Body.Close()
			return base
		}
		if i == 100 {
			t.Fatalf("graphsim did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func noEnv(string) string { return "" }

type journalEntry struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func journal(t *testing.T, base, tenant string) []journalEntry {
	t.Helper()
	resp, err := http.Get(base + "/_sim/journal?tenant=" + tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j []journalEntry
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		t.Fatalf("journal: %v", err)
	}
	return j
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env func(string) string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut, env)
	return result{code, out.String(), errOut.String()}
}

type auditRecord struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Kind    string            `json:"kind"`
	Tool    string            `json:"tool"`
	Effect  string            `json:"effect"`
	Rule    string            `json:"rule"`
	Outcome string            `json:"outcome"`
	Text    string            `json:"text"`
	Facts   map[string]string `json:"facts"`
}

func auditExport(t *testing.T, data string) ([]auditRecord, string) {
	t.Helper()
	r := run(t, noEnv, "", "audit", "export", "--tenant", "contoso", "--data", data)
	if r.code != 0 {
		t.Fatalf("audit export exited %d: %s", r.code, r.stderr)
	}
	var recs []auditRecord
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var rec auditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if rec.Seq == 0 || rec.Time.IsZero() || rec.Kind == "" {
			t.Fatalf("audit line lacks seq, time or kind: %s", sc.Text())
		}
		recs = append(recs, rec)
	}
	return recs, r.stdout
}

func kinds(recs []auditRecord) string {
	var k []string
	for _, r := range recs {
		k = append(k, r.Kind)
	}
	return strings.Join(k, ",")
}

var privateLine = regexp.MustCompile(`(?m)^\[private to ([^\]]+)\] [^:]+: (\S+)$`)

func TestEndToEnd(t *testing.T) {
	for _, mode := range []string{"offline", "openai"} {
		t.Run(mode, func(t *testing.T) {
			vars := map[string]string{"TIERZERO_LOG": "debug"} // so the logs checked for secrets say everything
			var llm *fakeLLM
			if mode == "openai" {
				llm = newFakeLLM(t)
				vars["TIERZERO_LLM_BASE_URL"] = llm.srv.URL + "/v1"
				vars["TIERZERO_LLM_API_KEY"] = "sk-test-key"
				vars["TIERZERO_LLM_MODEL"] = "gpt-test"
			}
			env := func(k string) string { return vars[k] }
			base := startGraphsim(t)
			graphURL := base + "/v1.0"
			data := t.TempDir()

			// 1. An employee forgot their password: exactly one PATCH, the
			// password only on the private line.
			r := run(t, env, "I forgot my password\n", "chat", "--tenant", "contoso", "--as", employee, "--graph-url", graphURL, "--data", data)
			if r.code != 0 {
				t.Fatalf("chat exited %d: %s", r.code, r.stderr)
			}
			m := privateLine.FindStringSubmatch(r.stdout)
			if m == nil || m[1] != employee {
				t.Fatalf("no private line for %s in:\n%s", employee, r.stdout)
			}
			password := m[2]
			if strings.Count(r.stdout, password) != 1 {
				t.Fatalf("the temporary password appears outside its private line:\n%s", r.stdout)
			}
			if !strings.Contains(strings.ToLower(r.stdout), "privately") {
				t.Errorf("the reply does not say the password was delivered privately:\n%s", r.stdout)
			}
			j := journal(t, base, "contoso")
			if len(j) != 1 {
				t.Fatalf("contoso journal has %d mutations, want 1: %+v", len(j), j)
			}
			if j[0].Method != http.MethodPatch || !strings.Contains(j[0].Path, "adele.vance") || j[0].Status != http.StatusNoContent {
				t.Fatalf("mutation = %+v, want a 204 PATCH of %s", j[0], employee)
			}
			var body struct {
				PasswordProfile struct {
					Force    bool   `json:"forceChangePasswordNextSignIn"`
					Password string `json:"password"`
				} `json:"passwordProfile"`
			}
			if err := json.Unmarshal(j[0].Body, &body); err != nil || !body.PasswordProfile.Force {
				t.Fatalf("PATCH body = %s, want forceChangePasswordNextSignIn true", j[0].Body)
			}
			if body.PasswordProfile.Password != "***" {
				t.Fatalf("the journal shows the password as %q, want it masked", body.PasswordProfile.Password)
			}
			if fj := journal(t, base, "fabrikam"); len(fj) != 0 {
				t.Fatalf("fabrikam journal = %+v, want empty", fj)
			}
			recs, raw := auditExport(t, data)
			// The offline model reads the sign-ins before it resets.
			want := "message,proposed,decided,executed,reply"
			if mode == "offline" {
				want = "message,proposed,decided,executed,proposed,decided,executed,reply"
			}
			if got := kinds(recs); got != want {
				t.Fatalf("audit kinds = %s, want %s", got, want)
			}
			i := decisionOf(recs, "user.reset_password")
			if d := recs[i]; d.Effect != "allow" || d.Rule != "self-reset-password" || d.Tool != "user.reset_password" {
				t.Fatalf("decision = %+v, want allow by self-reset-password", d)
			}
			if recs[i+1].Outcome != "ok" {
				t.Fatalf("execution = %+v, want ok", recs[i+1])
			}
			if strings.Contains(raw, password) || strings.Contains(r.stderr, password) {
				t.Fatal("the temporary password reached the audit or the logs")
			}
			assertNotOnDisk(t, data, password)

			// 2. Someone else's password, and 3. an admin's own: refused,
			// nothing changed, a deny on the record. Megan holds a directory
			// role, so the demo makes her a tenant admin: her writes are
			// shown as a plan first, and her "yes" meets the guardrail.
			refusals := []struct{ as, text, rule, target, kinds, offlineKinds string }{
				// The offline model declines someone else's account without
				// trying it: no decision is asked for.
				{employee, "Please reset the password of " + other + "\n", "", other, "message,proposed,decided,reply", "message,reply"},
				// The admin's own reset is decided before it is offered: policy
				// refuses it, so no plan waits for the "yes".
				{admin, "I forgot my password\nyes\n", "never-reset-admins", admin,
					"message,proposed,decided,proposed,reply,message,proposed,decided,proposed,reply", "message,proposed,decided,executed,proposed,decided,proposed,reply,message,reply"},
				{groupAdmin, "I forgot my password\n", "never-reset-admins", groupAdmin, "message,proposed,decided,reply", "message,proposed,decided,executed,proposed,decided,reply"},
			}
			for _, tc := range refusals {
				before := len(recs)
				r := run(t, env, tc.text, "chat", "--tenant", "contoso", "--as", tc.as, "--graph-url", graphURL, "--data", data)
				if r.code != 0 {
					t.Fatalf("chat exited %d: %s", r.code, r.stderr)
				}
				if privateLine.MatchString(r.stdout) {
					t.Fatalf("a refusal delivered a secret:\n%s", r.stdout)
				}
				if !strings.Contains(r.stdout, "can't") && !strings.Contains(r.stdout, "only reset passwords for your own account") {
					t.Errorf("no clear refusal in:\n%s", r.stdout)
				}
				if n := len(journal(t, base, "contoso")); n != 1 {
					t.Fatalf("contoso journal has %d mutations after a refusal, want still 1", n)
				}
				recs, _ = auditExport(t, data)
				added := recs[before:]
				want := tc.kinds
				if mode == "offline" {
					want = tc.offlineKinds
				}
				if got := kinds(added); got != want {
					t.Fatalf("audit kinds = %s, want %s", got, want)
				}
				if !strings.Contains(want, "decided") {
					continue // declined before any call: nothing for policy to decide
				}
				if d := added[decisionOf(added, "user.reset_password")]; d.Effect != "deny" || d.Rule != tc.rule || d.Facts["target"] != tc.target ||
					d.Facts["target_is_requester"] != fmt.Sprint(tc.as == tc.target) {
					t.Fatalf("decision = %+v, want deny by %q on facts about %s", d, tc.rule, tc.target)
				}
			}
			if llm != nil {
				llm.assertNeverSaw(t, password)
			}
		})
	}
}

// decisionOf returns the index of the decision on tool in recs.
func decisionOf(recs []auditRecord, tool string) int {
	for i, r := range recs {
		if r.Kind == "decided" && r.Tool == tool {
			return i
		}
	}
	return -1
}

// assertNotOnDisk checks that no file under dir holds s.
func assertNotOnDisk(t *testing.T, dir, s string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			t.Fatalf("%s holds the temporary password in clear", p)
		}
		return nil
	})
}

// fakeLLM speaks the OpenAI chat completions protocol. It plays a model that
// follows instructions: it reads the requester's UPN from the system prompt,
// proposes a password reset for whoever the message names, and summarizes
// the tool result. It records every request body it receives.
type fakeLLM struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

var (
	upnInPrompt = regexp.MustCompile(`user principal name ([^\s,)]+)`)
	upnInText   = regexp.MustCompile(`[a-z.]+@[a-z]+\.com`)
)

func newFakeLLM(t *testing.T) *fakeLLM {
	f := &fakeLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(raw))
		f.mu.Unlock()
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test-key" {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			Tools []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(raw, &req); err != nil || len(req.Messages) < 2 {
			http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		last := req.Messages[len(req.Messages)-1]
		msg := map[string]any{"role": "assistant"}
		finish := "stop"
		switch last.Role {
		case "user":
			target := upnInText.FindString(last.Content)
			if target == "" {
				if m := upnInPrompt.FindStringSubmatch(req.Messages[0].Content); m != nil {
					target = m[1]
				}
			}
			args, _ := json.Marshal(map[string]string{"user": target})
			msg["content"] = nil
			msg["tool_calls"] = []map[string]any{{
				"id": fmt.Sprintf("call_%d", len(req.Messages)), "type": "function",
				"function": map[string]string{"name": "user_reset_password", "arguments": string(args)},
			}}
			finish = "tool_calls"
		case "tool":
			if strings.Contains(last.Content, `"ok":true`) {
				msg["content"] = "Your password was reset. The temporary password was delivered to you privately."
			} else {
				msg["content"] = "Sorry, I can't do that: policy does not allow it. Nothing was changed."
			}
		default:
			msg["content"] = "How can I help?"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   map[string]int{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) assertNeverSaw(t *testing.T, secret string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) < 6 {
		t.Fatalf("the model got %d requests, want at least 6 (two per conversation)", len(f.bodies))
	}
	for _, b := range f.bodies {
		if strings.Contains(b, secret) {
			t.Fatal("the temporary password was sent to the model")
		}
	}
}
