package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

const resetScenario = `scenarios:
  - id: traj.reset
    tenant: contoso
    requester: christie.cline@contoso.com
    message: I forgot my password.
    expect:
      outcome: resolved
      state:
        - {path: "users[upn=christie.cline@contoso.com].forceChangePasswordNextSignIn", op: eq, value: true}
    gold:
      - {action: user.reset_password, args: {user: christie.cline@contoso.com}}
    script:
      - calls: [{tool: user_reset_password, args: {user: christie.cline@contoso.com}}]
      - expect: '"ok":true'
        say: Done. The temporary password was delivered to you privately.
`

func TestTrajectories(t *testing.T) {
	scs := loadYAML(t, resetScenario)
	out, tmp := t.TempDir(), t.TempDir()
	o := Options{Mode: ModeScripted, Trials: 2, TempDir: tmp, Out: out}
	date := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := WriteRunInfo(out, NewRunInfo(scs, o, date, "", "", "")); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), scs, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}

	b, err := os.ReadFile(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ri map[string]any
	if err := json.Unmarshal(b, &ri); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"mode": "scripted", "model": "scripted", "endpoint": "scripted", "user": "scripted",
		"promptVersion": agent.PromptVersion, "date": "2025-03-04T05:06:07Z", "trials": 2.0, "scenarios": 1.0}
	for k, v := range want {
		if ri[k] != v {
			t.Errorf("run.json %s = %v, want %v", k, ri[k], v)
		}
	}
	if c, _ := ri["commit"].(string); c == "" || !strings.HasPrefix(agent.PromptVersion, "sp-") {
		t.Errorf("run.json commit %q, prompt version %q: want both", c, agent.PromptVersion)
	}

	// The trials' stores are gone; their trajectories are not.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("%d trial directories left in the temporary directory", len(left))
	}
	for trial := range 2 {
		raw, err := os.ReadFile(trajectoryPath(out, "traj.reset", trial))
		if err != nil {
			t.Fatal(err)
		}
		tj := readTrajectory(t, out, "traj.reset", trial)
		if tj.Scenario != "traj.reset" || tj.Trial != trial || tj.Mode != ModeScripted || tj.Result.Scenario != "traj.reset" || tj.Result.Trial != trial {
			t.Errorf("trial %d: trajectory of %s trial %d in mode %s", trial, tj.Scenario, tj.Trial, tj.Mode)
		}
		if tj.Requester == nil || tj.Requester.UPN != "christie.cline@contoso.com" {
			t.Errorf("requester %+v", tj.Requester)
		}
		// The model's requests and answers.
		if len(tj.Model) != 2 {
			t.Fatalf("%d model calls, want 2", len(tj.Model))
		}
		var req agent.Request
		if err := json.Unmarshal(tj.Model[0].Request, &req); err != nil || !strings.Contains(req.System, "christie.cline@contoso.com") || len(req.Tools) == 0 {
			t.Errorf("first model request %s (%v): want the system prompt and the tools", clip(string(tj.Model[0].Request), 200), err)
		}
		if a := tj.Model[0].Response; a == nil || len(a.ToolCalls) != 1 || a.ToolCalls[0].Action != "user_reset_password" {
			t.Errorf("first model answer %+v, want the reset", a)
		}
		if a := tj.Model[1].Response; a == nil || !strings.Contains(a.Text, "delivered to you privately") {
			t.Errorf("second model answer %+v", a)
		}
		// The decisions and results.
		var reset *Call
		for i, c := range tj.Calls {
			if c.Tool == "user.reset_password" {
				reset = &tj.Calls[i]
			}
		}
		if reset == nil || reset.Tenant != "contoso" || reset.Effect != "allow" || reset.Rule == "" || reset.Outcome != "ok" || len(reset.Output) == 0 {
			t.Errorf("calls %+v: want the reset allowed by a rule and run", tj.Calls)
		}
		if len(tj.Audit["contoso"]) == 0 || len(tj.Journal["contoso"]) == 0 {
			t.Errorf("audit %d records, journal %d entries: want both", len(tj.Audit["contoso"]), len(tj.Journal["contoso"]))
		}
		// The conversation and what was delivered privately, without the
		// secret.
		if len(tj.Conversation) != 2 || tj.Conversation[0].Text != "I forgot my password." || !strings.Contains(tj.Conversation[1].Text, "privately") {
			t.Errorf("conversation %+v", tj.Conversation)
		}
		if len(tj.Private) != 1 || tj.Private[0].To != "christie.cline@contoso.com" || tj.Private[0].Kind == "" {
			t.Errorf("private deliveries %+v, want the temporary password's, to the requester", tj.Private)
		}
		if tj.Log == "" || !strings.Contains(string(raw), "\n  \"scenario\"") {
			t.Errorf("the trajectory has no log, or is not indented JSON")
		}
	}
}

func TestRedact(t *testing.T) {
	secret := `Pa"ss<12>\x`
	b, _ := json.Marshal(map[string]string{"a": "before " + secret + " after"})
	raw := []byte("raw " + secret + "\n" + string(b))
	got := string(redact(raw, []string{secret, "ab"}))
	if strings.Contains(got, "ss<12>") || strings.Count(got, "[secret redacted]") != 2 {
		t.Errorf("redact = %s", got)
	}
	if !strings.Contains(string(redact([]byte("ab cd"), []string{"ab"})), "ab") {
		t.Error("a two-character string was redacted: too short to be a secret")
	}

	// A trial's secrets are redacted wherever they are in its trajectory.
	out := t.TempDir()
	tr := transcript{replies: []string{"your password is Xyz-12345"}, secrets: []string{"Xyz-12345"}}
	if err := writeTrajectory(context.Background(), Options{Mode: ModeOffline, Out: out}, nil, nil, tierzero.Requester{}, &tr, Result{Scenario: "s", Trial: 3}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "s", "3.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Xyz-12345") || !strings.Contains(string(b), "your password is [secret redacted]") {
		t.Errorf("trajectory %s", b)
	}
}

// TestCost: a live run prices each trial's tokens, as the endpoint reports
// them, with the run's price; without a price there is no cost; a failed
// model call is in the trajectory with its error.
func TestCost(t *testing.T) {
	scs := loadYAML(t, `scenarios:
  - id: cost.hello
    tenant: contoso
    requester: christie.cline@contoso.com
    message: Hello?
    expect: {outcome: resolved}
`)
	llm := newChatServer(t, "Hello, how can I help?")
	out := t.TempDir()
	price := &Price{InputPerMillion: 2, OutputPerMillion: 8}
	res, err := Run(context.Background(), scs, Options{Mode: ModeLive, Model: llm.model("agent-model"), TempDir: t.TempDir(), Out: out, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	calls := len(llm.requests())
	if calls == 0 || r.PromptTokens != 1000*calls || r.CompletionTokens != 200*calls {
		t.Fatalf("%d model calls, %d prompt and %d completion tokens: want 1000 and 200 a call", calls, r.PromptTokens, r.CompletionTokens)
	}
	if want := float64(calls) * (1000*2 + 200*8) / 1e6; r.CostUSD == nil || math.Abs(*r.CostUSD-want) > 1e-12 {
		t.Errorf("cost %v, want %v", r.CostUSD, want)
	}
	tj := readTrajectory(t, out, "cost.hello", 0)
	if len(tj.Model) != calls || tj.Model[0].Response == nil || tj.Model[0].Response.PromptTokens != 1000 || tj.Result.CostUSD == nil {
		t.Errorf("trajectory model calls %+v, result cost %v", tj.Model, tj.Result.CostUSD)
	}

	res, err = Run(context.Background(), scs, Options{Mode: ModeLive, Model: llm.model("agent-model"), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].CostUSD != nil {
		t.Errorf("cost %v without a price, want none", *res[0].CostUSD)
	}

	// An endpoint that refuses every request: the error is recorded.
	bad := newChatServer(t, "unused")
	bad.srv.Close()
	res, err = Run(context.Background(), scs, Options{Mode: ModeLive, Model: bad.model("agent-model"), TempDir: t.TempDir(), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	tj = readTrajectory(t, out, "cost.hello", 0)
	if len(tj.Model) == 0 || tj.Model[0].Error == "" || tj.Model[0].Response != nil {
		t.Errorf("model calls %+v: want the failure recorded", tj.Model)
	}
}

// usageModel answers with fixed text and usage.
type usageModel struct{ usage agent.Usage }

func (m usageModel) Complete(context.Context, agent.Request) (agent.Response, error) {
	return agent.Response{Text: "ok", Usage: m.usage}, nil
}

// TestPromptTokenEstimate: a model that reports no usage gets an estimate
// of the request as the OpenAI adapter sends it (about 4 characters a
// token of each message, 4 a message, the tools as compact wire JSON),
// marked estimated; a reported count is kept.
func TestPromptTokenEstimate(t *testing.T) {
	tool := agent.Tool{Name: "user_get", Description: "Read a user.", Parameters: json.RawMessage(`{ "type": "object" }`)}
	req := agent.Request{
		System: "abcdefgh", // 8 characters: 2 tokens, and 4 for the message
		Turns: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "Passwort zurücksetzen, bitte (ääöö)"}, // 35 characters (40 bytes): 9
			{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "user_get", Args: json.RawMessage(`{"user":"a@b.c"}`)}}},
			{Role: tierzero.TurnTool, ToolCallID: "c1", Content: "{}"},
		},
		Tools: []agent.Tool{tool},
	}
	wire := `[{"type":"function","function":{"name":"user_get","description":"Read a user.","parameters":{"type":"object"}}}]`
	want := (4 + 2) + (4 + 9) + (4 + 0 + 4 + 2 + 4) + (4 + 1) + (len(wire)+3)/4
	rec := &recorder{model: usageModel{}}
	resp, err := rec.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.PromptTokens != want {
		t.Errorf("estimate %d prompt tokens, want %d", resp.Usage.PromptTokens, want)
	}
	if x := rec.exchanges(); len(x) != 1 || x[0].Response == nil || x[0].Response.PromptTokens != want || !x[0].Response.PromptTokensEstimated {
		t.Errorf("exchange %+v: want the estimate, marked", x)
	}

	// Every tool offered costs its wire size.
	more := req
	more.Tools = append([]agent.Tool{tool}, tool)
	if n, err := estimatePromptTokens(context.Background(), more); err != nil || n <= want {
		t.Errorf("with a second tool: %d, %v; want more than %d", n, err, want)
	}

	// A count the model reports is kept.
	rec = &recorder{model: usageModel{usage: agent.Usage{PromptTokens: 1234, CompletionTokens: 5}}}
	if resp, err := rec.Complete(context.Background(), req); err != nil || resp.Usage.PromptTokens != 1234 || rec.exchanges()[0].Response.PromptTokensEstimated {
		t.Errorf("reported usage: %+v, %v; want it kept, not marked estimated", resp.Usage, err)
	}
}
