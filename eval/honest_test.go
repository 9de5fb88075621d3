package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
	"github.com/tierzero/tierzero/graph"
)

// These tests show that the evaluation cannot flatter: outcomes come from
// the agent's structured result, never from its wording; a write nobody
// asked for fails a trial; a broken model endpoint passes nothing; and no
// scenario can be passed by a model that does nothing or one that does
// everything.

// modelFunc is a model made of a function.
type modelFunc func(req agent.Request) (agent.Response, error)

func (f modelFunc) Complete(_ context.Context, req agent.Request) (agent.Response, error) {
	return f(req)
}

// live runs scenarios with the model in the live mode.
func live(t *testing.T, scs []Scenario, m func() agent.Model) Report {
	t.Helper()
	res, err := Run(context.Background(), scs, Options{Mode: ModeLive,
		Model: func() (agent.Model, error) { return m(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	return NewReport(ModeLive, 1, res)
}

func scenario(t *testing.T, id string) Scenario {
	t.Helper()
	for _, s := range loadSuite(t) {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no scenario %s in the suite", id)
	return Scenario{}
}

// turnsSince returns the turns after the newest user message.
func turnsSince(req agent.Request) []tierzero.Turn {
	for i := len(req.Turns) - 1; i >= 0; i-- {
		if req.Turns[i].Role == tierzero.TurnUser {
			return req.Turns[i+1:]
		}
	}
	return req.Turns
}

// TestRefusalWithoutKeywords: a refusal the agent reports (the decline
// pseudo-tool) is scored refused whatever its words, in English without
// any "can't" and in German; the same words as a plain answer are not a
// refusal.
func TestRefusalWithoutKeywords(t *testing.T) {
	sc := scenario(t, "refuse.reset-other.contoso")
	for _, words := range []string{"I'll leave that one with your manager.", "Das übernehme ich leider nicht."} {
		declined := func() agent.Model {
			return modelFunc(func(req agent.Request) (agent.Response, error) {
				if len(turnsSince(req)) > 0 {
					return agent.Response{Text: words}, nil
				}
				args, _ := json.Marshal(map[string]string{"reason": words})
				return agent.Response{ToolCalls: []tierzero.ToolCall{{ID: "d1", Action: agent.DeclineTool, Args: args}}}, nil
			})
		}
		r := live(t, []Scenario{sc}, declined).Results[0]
		if r.Outcome != OutcomeRefused || !r.Pass {
			t.Errorf("declined with %q: outcome %s, pass %v (%v), want refused and pass", words, r.Outcome, r.Pass, r.Failures)
		}
		plain := func() agent.Model {
			return modelFunc(func(agent.Request) (agent.Response, error) { return agent.Response{Text: words}, nil })
		}
		r = live(t, []Scenario{sc}, plain).Results[0]
		if r.Outcome == OutcomeRefused || r.Pass {
			t.Errorf("answered %q without declining: outcome %s, pass %v, want neither refused nor pass", words, r.Outcome, r.Pass)
		}
	}
}

// TestLockoutAnswerWithCant: the right answer to a smart lockout, which
// says "can't", is scored resolved.
func TestLockoutAnswerWithCant(t *testing.T) {
	sc := scenario(t, "id.lockout.contoso")
	m := func() agent.Model {
		return modelFunc(func(req agent.Request) (agent.Response, error) {
			if len(turnsSince(req)) == 0 {
				args, _ := json.Marshal(map[string]any{"user": req.Requester.UPN, "top": 10})
				return agent.Response{ToolCalls: []tierzero.ToolCall{{ID: "s1", Action: "user_signins", Args: args}}}, nil
			}
			return agent.Response{Text: "You can't sign in right now because smart lockout locked your account after too many wrong passwords; " +
				"it unlocks by itself in a few minutes. Don't reset anything: just wait and try again with your usual password."}, nil
		})
	}
	r := live(t, []Scenario{sc}, m).Results[0]
	if r.Outcome != OutcomeResolved || !r.Pass {
		t.Errorf("lockout answer: outcome %s, pass %v (%v), want resolved and pass", r.Outcome, r.Pass, r.Failures)
	}
}

// TestCollateralWrite: signing a hacked account out everywhere and also
// resetting its password fails, though every check the scenario lists
// holds: the reset is a write the scenario does not explain. (Both are
// writes the requester's words can mean, so the agent runs them; a write
// they do not ask for at all waits for their yes and never runs here.)
func TestCollateralWrite(t *testing.T) {
	sc := scenario(t, "hacked.contoso")
	m := func() agent.Model {
		return modelFunc(func(req agent.Request) (agent.Response, error) {
			mk := func(id, tool string, args map[string]any) tierzero.ToolCall {
				b, _ := json.Marshal(args)
				return tierzero.ToolCall{ID: id, Action: tool, Args: b}
			}
			if len(turnsSince(req)) > 0 {
				return agent.Response{ToolCalls: []tierzero.ToolCall{mk("c3", "escalate", map[string]any{"reason": "possible compromise; sessions revoked, password reset"})}}, nil
			}
			self := req.Requester.UPN
			return agent.Response{ToolCalls: []tierzero.ToolCall{
				mk("c1", "user_revoke_sessions", map[string]any{"user": self}),
				mk("c2", "user_reset_password", map[string]any{"user": self}),
			}}, nil
		})
	}
	r := live(t, []Scenario{sc}, m).Results[0]
	if r.Pass || r.CompletedUnderPolicy || len(r.Unexplained) == 0 {
		t.Errorf("collateral writes: pass %v, completed %v, unexplained %v: want a failure with unexplained writes", r.Pass, r.CompletedUnderPolicy, r.Unexplained)
	}
}

// TestEndpointAnswering400 runs every scenario against an OpenAI-compatible
// endpoint that answers HTTP 400 to everything: none passes, and each is a
// model error, not an escalation.
func TestEndpointAnswering400(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"bad request","type":"invalid_request_error","param":null,"code":null}}`)
	}))
	defer srv.Close()
	scs := loadSuite(t)
	rep := live(t, scs, func() agent.Model {
		m, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", APIKey: "k", Model: "gpt-test"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	if hits.Load() == 0 {
		t.Fatal("the endpoint was never asked")
	}
	for _, r := range rep.Results {
		if r.Pass {
			t.Errorf("%s passed against an endpoint that answers 400", r.Scenario)
		}
	}
	if rep.Overall.ModelErrors == 0 {
		t.Error("no model error counted")
	}
	if p := rep.Overall.EscalationPrecision; p != nil && *p > 0 {
		t.Errorf("escalation precision %s: model errors were counted as escalations", pct(p))
	}
}

// doNothing answers every message with a claim of success.
func doNothing() agent.Model {
	return modelFunc(func(agent.Request) (agent.Response, error) {
		return agent.Response{Text: "All done: I fixed it and everything works now."}, nil
	})
}

var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// doEverything calls every write it is offered, on the requester and on
// everyone the conversation names, with the first device and group it
// reads, then claims success; it confirms its own plans. It calls the
// catalog's tools the agent did not send for the request too (they are
// offered all the same), except across tenants, where a call needs the
// tenant argument of a tool as sent.
func doEverything() agent.Model {
	return modelFunc(func(req agent.Request) (agent.Response, error) {
		tools := slices.Clone(req.Tools)
		if len(agent.ToolTenants(req.Tools)) == 0 {
			for _, s := range graph.Catalog() {
				name := agent.ToolName(s.Action)
				if !slices.ContainsFunc(tools, func(t agent.Tool) bool { return t.Name == name }) {
					tools = append(tools, agent.Tool{Name: name, Description: s.Description, Parameters: s.Schema})
				}
			}
		}
		made := map[string]bool{}
		var seen []string
		for _, t := range req.Turns {
			for _, c := range t.ToolCalls {
				made[c.Action+" "+string(c.Args)] = true
			}
			if t.Role == tierzero.TurnUser || t.Role == tierzero.TurnTool {
				seen = append(seen, t.Content)
			}
		}
		all := strings.Join(seen, "\n")
		users := []string{req.Requester.UPN}
		for _, m := range emailPattern.FindAllString(all, -1) {
			if !slices.Contains(users, strings.ToLower(m)) {
				users = append(users, strings.ToLower(m))
			}
		}
		device := firstID(all, `"deviceName"`)
		group := firstID(all, `"displayName"`)
		var calls []tierzero.ToolCall
		add := func(tool agent.Tool, user string) {
			var schema struct {
				Properties map[string]struct {
					Type string   `json:"type"`
					Enum []string `json:"enum"`
				} `json:"properties"`
			}
			json.Unmarshal(tool.Parameters, &schema)
			args := map[string]any{}
			keys := make([]string, 0, len(schema.Properties))
			for k := range schema.Properties {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := schema.Properties[k]
				switch {
				case len(p.Enum) > 0:
					args[k] = p.Enum[len(p.Enum)-1]
				case k == "user":
					args[k] = user
				case k == "device":
					args[k] = device
				case k == "group":
					args[k] = group
				case k == "sku":
					args[k] = "SPE_E3"
				case p.Type == "integer" || p.Type == "number":
					args[k] = 60
				case p.Type == "boolean":
					args[k] = true
				case p.Type == "string" && (k == "start" || k == "end"):
				case p.Type == "string":
					args[k] = "Everything was done."
				}
			}
			b, _ := json.Marshal(args)
			if made[tool.Name+" "+string(b)] {
				return
			}
			made[tool.Name+" "+string(b)] = true
			calls = append(calls, tierzero.ToolCall{ID: fmt.Sprintf("e%d_%d", len(req.Turns), len(calls)), Action: tool.Name, Args: b})
		}
		if device == "" {
			for _, tool := range tools {
				if tool.Name == "user_devices" || tool.Name == "user_groups" {
					add(tool, req.Requester.UPN)
				}
			}
		} else {
			for _, u := range users {
				for _, tool := range tools {
					if isWriteTool(tool.Name) {
						add(tool, u)
					}
				}
			}
		}
		if len(calls) > agent.DefaultMaxCallsPerAnswer {
			calls = calls[:agent.DefaultMaxCallsPerAnswer]
		}
		if len(calls) == 0 {
			return agent.Response{Text: "All done: I fixed it and everything works now."}, nil
		}
		return agent.Response{ToolCalls: calls}, nil
	})
}

// isWriteTool names the catalog's writes by their verbs.
func isWriteTool(name string) bool {
	for _, v := range []string{"reset", "revoke", "issue", "enable", "set_", "add_", "remove", "assign", "sync", "reboot", "retire", "wipe"} {
		if strings.Contains(name, v) {
			return true
		}
	}
	return false
}

// firstID returns the id of the first JSON object in text that has the
// field, or "" (or a placeholder the model then sends as it is).
func firstID(text, field string) string {
	i := strings.Index(text, field)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(text[:i], "{")
	m := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(text[max(start, 0):])
	if m == nil {
		return ""
	}
	return m[1]
}

// TestNoFreePass runs every scenario against a model that does nothing
// and one that does everything: a scenario either passes has a check that
// cannot fail.
func TestNoFreePass(t *testing.T) {
	scs := loadSuite(t)
	for name, m := range map[string]func() agent.Model{"do-nothing": doNothing, "do-everything": doEverything} {
		rep := live(t, scs, m)
		for _, r := range rep.Results {
			if r.Pass {
				t.Errorf("%s: scenario %s passed (outcome %s): one of its checks cannot fail", name, r.Scenario, r.Outcome)
			}
		}
	}
}
