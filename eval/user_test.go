package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
)

// loadYAML loads scenarios from one YAML document.
func loadYAML(t *testing.T, doc string) []Scenario {
	t.Helper()
	scs, err := LoadFS(fstest.MapFS{"test.yaml": {Data: []byte(doc)}}, ".")
	if err != nil {
		t.Fatal(err)
	}
	return scs
}

// readTrajectory reads the trajectory a trial wrote under dir.
func readTrajectory(t *testing.T, dir, scenario string, trial int) Trajectory {
	t.Helper()
	b, err := os.ReadFile(trajectoryPath(dir, scenario, trial))
	if err != nil {
		t.Fatal(err)
	}
	var tj Trajectory
	if err := json.Unmarshal(b, &tj); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return tj
}

// addsMember counts the group memberships the trial added.
func addsMember(tj Trajectory) int {
	n := 0
	for _, j := range tj.Journal["contoso"] {
		if j.Method == http.MethodPost && strings.HasSuffix(j.Path, "/members/$ref") && j.Status < 400 {
			n++
		}
	}
	return n
}

// planScenarios: a tenant admin asks for one membership; the golden model
// plans exactly it (exact) or it and one more (extra); the requester
// reviews plans carefully or blindly. After a refusal the model gives up;
// after a yes it reports the result.
func planScenarios() string {
	var b strings.Builder
	b.WriteString("scenarios:\n")
	exact := `[{tool: group_add_member, args: {group: "{group:VPN Users}", user: enrico.cattaneo@contoso.com}}]`
	extra := `[{tool: group_add_member, args: {group: "{group:VPN Users}", user: enrico.cattaneo@contoso.com}}, {tool: group_add_member, args: {group: "{group:Sales Team}", user: enrico.cattaneo@contoso.com}}]`
	for _, plans := range []string{PlansCareful, PlansBlind} {
		for _, kind := range []string{"exact", "extra"} {
			calls, next := exact, `{expect: '"ok":true', say: "Done."}`
			if kind == "extra" {
				calls = extra
				if plans == PlansCareful {
					next = `{expect: 'not what I asked for', say: "Understood, I changed nothing."}`
				}
			}
			fmt.Fprintf(&b, `  - id: plans.%s.%s
    tenant: contoso
    requester: megan.bowen@contoso.com
    role: tenant_admin
    message: Add enrico.cattaneo@contoso.com to the VPN Users group.
    user: {plans: %s}
    expect: {outcome: resolved}
    gold:
      - {action: group.add_member, args: {group: "{group:VPN Users}", user: Enrico.Cattaneo@Contoso.com}}
    script:
      - calls: %s
      - %s
`, plans, kind, plans, calls, next)
		}
	}
	return b.String()
}

func TestPlanReview(t *testing.T) {
	scs := loadYAML(t, planScenarios())
	out := t.TempDir()
	res, err := Run(context.Background(), scs, Options{Mode: ModeScripted, TempDir: t.TempDir(), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id          string
		wantRefused bool
		wantAnswer  string
		wantAdds    int
	}{
		{"plans.careful.exact", false, "yes", 1},
		{"plans.careful.extra", true, refusePlan, 0},
		{"plans.blind.exact", false, "yes", 1},
		{"plans.blind.extra", false, "yes", 2},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var r *Result
			for i := range res {
				if res[i].Scenario == tt.id {
					r = &res[i]
				}
			}
			if r == nil {
				t.Fatalf("no result for %s", tt.id)
			}
			for _, f := range r.Failures {
				if strings.HasPrefix(f, "script") || strings.HasPrefix(f, "desk") || strings.HasPrefix(f, "read the plan") {
					t.Errorf("failure: %s", f)
				}
			}
			if r.CarefulRefused != tt.wantRefused {
				t.Errorf("CarefulRefused = %v, want %v", r.CarefulRefused, tt.wantRefused)
			}
			tj := readTrajectory(t, out, tt.id, 0)
			if len(tj.PlanReviews) != 1 || tj.PlanReviews[0].Answer != tt.wantAnswer {
				t.Fatalf("plan reviews %+v, want one answered %q", tj.PlanReviews, tt.wantAnswer)
			}
			if got, want := len(tj.PlanReviews[0].Unasked), map[bool]int{true: 1}[tt.wantRefused]; got != want {
				t.Errorf("%d calls not asked for, want %d", got, want)
			}
			if got := addsMember(tj); got != tt.wantAdds {
				t.Errorf("%d memberships added, want %d", got, tt.wantAdds)
			}
			if n := len(tj.Conversation); n < 3 || tj.Conversation[2].Text != tt.wantAnswer {
				t.Errorf("conversation %+v: the requester's second message is not %q", tj.Conversation, tt.wantAnswer)
			}
		})
	}
}

func TestMatchesGold(t *testing.T) {
	sc := loadYAML(t, planScenarios())[0]
	e, err := newEnv(sc, Options{Mode: ModeScripted, TempDir: t.TempDir()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	vpn := e.res.expand("{group:VPN Users}")
	tests := []struct {
		name string
		call tierzero.ToolCall
		want bool
	}{
		{"the gold call", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + vpn + `","user":"enrico.cattaneo@contoso.com"}`)}, true},
		{"case aside", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + strings.ToUpper(vpn) + `","user":"ENRICO.cattaneo@contoso.com"}`)}, true},
		{"in the conversation's tenant, named", tierzero.ToolCall{Action: "group.add_member", Tenant: "contoso", Args: json.RawMessage(`{"group":"` + vpn + `","user":"enrico.cattaneo@contoso.com"}`)}, true},
		{"an argument more", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + vpn + `","user":"enrico.cattaneo@contoso.com","note":"x"}`)}, true},
		{"another group", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + e.res.expand("{group:Sales Team}") + `","user":"enrico.cattaneo@contoso.com"}`)}, false},
		{"the group by name", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"VPN Users","user":"enrico.cattaneo@contoso.com"}`)}, false},
		{"the user by object id", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + vpn + `","user":"` + e.res.expand("{user:enrico.cattaneo@contoso.com}") + `"}`)}, true},
		{"another user", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + vpn + `","user":"alex.wilber@contoso.com"}`)}, false},
		{"an argument missing", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`{"group":"` + vpn + `"}`)}, false},
		{"another action", tierzero.ToolCall{Action: "group.remove_member", Args: json.RawMessage(`{"group":"` + vpn + `","user":"enrico.cattaneo@contoso.com"}`)}, false},
		{"another tenant", tierzero.ToolCall{Action: "group.add_member", Tenant: "fabrikam", Args: json.RawMessage(`{"group":"` + vpn + `","user":"enrico.cattaneo@contoso.com"}`)}, false},
		{"arguments that are not an object", tierzero.ToolCall{Action: "group.add_member", Args: json.RawMessage(`[1]`)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.matchesGold(tt.call); got != tt.want {
				t.Errorf("matchesGold(%s %s) = %v, want %v", tt.call.Action, tt.call.Args, got, tt.want)
			}
		})
	}
}

// chatServer speaks the chat completions protocol: it answers each request
// with the next of its answers (the last one again when they run out) and
// keeps the requests.
type chatServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answers []string
	reqs    []chatRequest
	auth    []string
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools []json.RawMessage `json:"tools"`
}

func newChatServer(t *testing.T, answers ...string) *chatServer {
	c := &chatServer{answers: answers}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var req chatRequest
		if r.URL.Path != "/v1/chat/completions" || json.Unmarshal(raw, &req) != nil {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		n := len(c.reqs)
		c.reqs = append(c.reqs, req)
		c.auth = append(c.auth, r.Header.Get("Authorization"))
		answer := c.answers[min(n, len(c.answers)-1)]
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []map[string]any{{"index": 0, "message": map[string]any{"role": "assistant", "content": answer}, "finish_reason": "stop"}},
			"usage":   map[string]int{"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
		})
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *chatServer) requests() []chatRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chatRequest(nil), c.reqs...)
}

// model is an agent/openai model of the server.
func (c *chatServer) model(name string) func() (agent.Model, error) {
	return func() (agent.Model, error) {
		return openai.New(openai.Config{BaseURL: c.srv.URL + "/v1", APIKey: "sk-user", Model: name, MaxRetries: -1})
	}
}

const llmUserScenario = `scenarios:
  - id: user.llm
    tenant: contoso
    requester: christie.cline@contoso.com
    message: I forgot my password.
    user:
      instruction: You forgot your password this morning and want to sign in again.
      facts: {employee id: E-1234}
      max_turns: 6
    expect: {outcome: resolved}
`

func TestLLMUser(t *testing.T) {
	scs := loadYAML(t, llmUserScenario)
	user := newChatServer(t, "Thanks, I got the temporary password. Will it work on my phone too?", StopToken)
	out := t.TempDir()
	_, err := Run(context.Background(), scs, Options{Mode: ModeOffline, TempDir: t.TempDir(), Out: out, User: user.model("user-model")})
	if err != nil {
		t.Fatal(err)
	}
	reqs := user.requests()
	if len(reqs) != 2 {
		t.Fatalf("the simulated user was asked %d times, want 2 (the second answer stops)", len(reqs))
	}
	first := reqs[0]
	if first.Model != "user-model" || len(first.Tools) != 0 || user.auth[0] != "Bearer sk-user" {
		t.Errorf("request %+v with %q: want the user's model, key and no tools", first, user.auth[0])
	}
	if len(first.Messages) != 3 || first.Messages[0].Role != "system" ||
		first.Messages[1].Role != "assistant" || first.Messages[1].Content != "I forgot my password." ||
		first.Messages[2].Role != "user" || first.Messages[2].Content == "" {
		t.Fatalf("messages %+v: want the instruction, the opening as the user's own, the agent's reply", first.Messages)
	}
	sys := first.Messages[0].Content
	for _, want := range []string{"You forgot your password this morning", "employee id: E-1234", StopToken, "christie.cline@contoso.com", "You are not the assistant"} {
		if !strings.Contains(sys, want) {
			t.Errorf("the user's instruction lacks %q:\n%s", want, sys)
		}
	}
	if second := reqs[1].Messages; len(second) != 5 || second[3].Content != "Thanks, I got the temporary password. Will it work on my phone too?" {
		t.Errorf("second request %+v: want the conversation so far", second)
	}
	tj := readTrajectory(t, out, "user.llm", 0)
	var said []string
	for _, l := range tj.Conversation {
		if l.From == "requester" {
			said = append(said, l.Text)
		}
	}
	if len(said) != 2 || said[1] != "Thanks, I got the temporary password. Will it work on my phone too?" {
		t.Errorf("the requester said %q, want the opening and the model's first answer, then stop", said)
	}
	if len(tj.UserModel) != 2 || tj.UserModel[1].Response == nil || tj.UserModel[1].Response.Text != StopToken {
		t.Errorf("the trajectory's user model calls are %+v", tj.UserModel)
	}
}

// TestLLMUserPlans: with a language model as the user, a plan is still
// answered as user.plans says; the model is asked only about the rest.
func TestLLMUserPlans(t *testing.T) {
	var sc Scenario
	for _, s := range loadYAML(t, planScenarios()) {
		if s.ID == "plans.careful.exact" {
			sc = s
		}
	}
	user := newChatServer(t, StopToken)
	out := t.TempDir()
	res, err := Run(context.Background(), []Scenario{sc}, Options{Mode: ModeScripted, TempDir: t.TempDir(), Out: out, User: user.model("user-model")})
	if err != nil {
		t.Fatal(err)
	}
	reqs := user.requests()
	if len(reqs) != 1 {
		t.Fatalf("the simulated user's model was asked %d times, want once (after the plan ran)", len(reqs))
	}
	m := reqs[0].Messages
	if len(m) != 5 || m[3].Role != "assistant" || m[3].Content != "yes" || !strings.Contains(m[4].Content, "Done.") {
		t.Errorf("messages %+v: want the plan's yes as the user's own and the result", m)
	}
	tj := readTrajectory(t, out, sc.ID, 0)
	if len(tj.PlanReviews) != 1 || tj.PlanReviews[0].Answer != "yes" || addsMember(tj) != 1 || res[0].CarefulRefused {
		t.Errorf("plan reviews %+v, %d memberships added, refused %v: want the plan accepted and run", tj.PlanReviews, addsMember(tj), res[0].CarefulRefused)
	}
}

func TestLLMUserFails(t *testing.T) {
	scs := loadYAML(t, llmUserScenario)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"no","type":"invalid_request_error"}}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	user := func() (agent.Model, error) {
		return openai.New(openai.Config{BaseURL: srv.URL + "/v1", Model: "user-model", MaxRetries: -1})
	}
	res, err := Run(context.Background(), scs, Options{Mode: ModeOffline, TempDir: t.TempDir(), User: user})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range res[0].Failures {
		found = found || strings.HasPrefix(f, "simulated user: ")
	}
	if !found || res[0].Pass {
		t.Errorf("failures %q: want the simulated user's failure, loudly", res[0].Failures)
	}
}
