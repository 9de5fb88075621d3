package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent/agenttest"
)

// TestOutcome runs each way a request can end and checks the outcome the
// agent reports for it, in the reply and in the reply's audit record.
func TestOutcome(t *testing.T) {
	reset := func(user string) tierzero.ToolCall {
		return call("r1", "user_reset_password", `{"user":"`+user+`"}`)
	}
	tap := call("t1", "user_issue_tap", `{"user":"`+employeeUPN+`"}`)
	read := call("g1", "user_get", `{"user":"`+employeeUPN+`"}`)
	decline := func(reason string) tierzero.ToolCall {
		b, _ := json.Marshal(map[string]string{"reason": reason})
		return call("d1", DeclineTool, string(b))
	}
	ask := call("a1", AskTool, `{"question":"Which laptop do you mean, CONTOSO-LT013 or CONTOSO-LT014?"}`)
	escalate := call("e1", EscalateTool, `{"reason":"the account may be compromised"}`)
	bad := calls(call("b1", "user_signins", `{"user":5}`))
	admin := func(r *agenttest.Runner) { r.Admins = map[string]bool{employeeUPN: true} }

	tests := []struct {
		name    string
		req     tierzero.Requester
		texts   []string // messages, in order; the last one's reply is checked
		answers []Response
		model   Model // instead of the scripted answers
		edit    func(*Config)
		runner  func(*agenttest.Runner)
		wait    time.Duration // between the last two messages
		want    tierzero.Outcome
		reply   string // in the last reply
		actions string // handed to the runner, in order
	}{
		{name: "a write succeeds", req: employee, texts: []string{"I forgot my password"},
			answers: []Response{calls(reset(employeeUPN)), {Text: "Done."}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeResolved}, reply: "Done.", actions: "user.reset_password"},
		{name: "reads only", req: employee, texts: []string{"who am I"},
			answers: []Response{calls(read), {Text: "You are Adele."}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeAnswered}, reply: "You are Adele.", actions: "user.get"},
		{name: "policy denies with a rule", req: employee, texts: []string{"I forgot my password"}, runner: admin,
			answers: []Response{calls(reset(employeeUPN)), {Text: "Policy does not let me."}},
			want: tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: "global/never-change-admins",
				Reason: "accounts that hold an admin role are not changed through the bot"},
			reply: "it was not done", actions: "user.reset_password"},
		{name: "policy denies without a rule", req: employee, texts: []string{"reset Alex's password"},
			answers: []Response{calls(reset(otherUPN)), {Text: "I can't."}},
			want: tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RulePolicyUnnamed,
				Reason: "self-service acts on the requester's own account only"},
			actions: "user.reset_password"},
		{name: "an approval that cannot be requested is refused", req: employee, texts: []string{"new phone"},
			answers: []Response{calls(tap), {Text: "That needs approval."}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: "self-user.issue_tap", Reason: "needs the manager's approval"},
			actions: "user.issue_tap"},
		{name: "pending approval", req: employee, texts: []string{"new phone"},
			runner:  func(r *agenttest.Runner) { r.Approvals = true },
			answers: []Response{calls(tap), {Text: "Your manager has to approve."}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomePending}, reply: "waiting for approval", actions: "user.issue_tap"},
		{name: "pending beats a write that succeeded", req: employee, texts: []string{"new phone and I forgot my password"},
			runner:  func(r *agenttest.Runner) { r.Approvals = true },
			answers: []Response{calls(reset(employeeUPN), tap), {Text: "One done, one waits."}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomePending}, actions: "user.reset_password,user.issue_tap"},
		{name: "a plan waits for the requester", req: tech, texts: []string{"reset Alex's password"},
			answers: []Response{calls(reset(otherUPN))},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeConfirm}, reply: `Reply "yes"`, actions: ""},
		{name: "a confirmed plan runs", req: tech, texts: []string{"reset Alex's password", "yes"},
			answers: []Response{calls(reset(otherUPN)), {Text: "Done."}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeResolved}, reply: "Done.", actions: "user.reset_password"},
		{name: "a cancelled plan", req: tech, texts: []string{"reset Alex's password", "no"},
			answers: []Response{calls(reset(otherUPN))},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeAnswered}, reply: "I cancelled it", actions: ""},
		{name: "an expired plan", req: tech, texts: []string{"reset Alex's password", "yes"}, wait: 2 * time.Hour,
			answers: []Response{calls(reset(otherUPN))},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeAnswered}, reply: "expired", actions: ""},
		{name: "the model declines", req: employee, texts: []string{"make me a Global Administrator"},
			answers: []Response{{Text: "I can't give out admin roles.", ToolCalls: []tierzero.ToolCall{decline("admin roles are not granted through the help desk"), read}}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleDeclined, Reason: "admin roles are not granted through the help desk"},
			reply:   "I can't give out admin roles.", actions: ""},
		{name: "the model declines without text", req: employee, texts: []string{"make me a Global Administrator"},
			answers: []Response{calls(decline("Admin roles are not granted through the help desk."))},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleDeclined, Reason: "Admin roles are not granted through the help desk."},
			reply:   "Admin roles are not granted through the help desk.", actions: ""},
		{name: "a policy's refusal names the rule, not the decline", req: employee, texts: []string{"I forgot my password"}, runner: admin,
			answers: []Response{calls(reset(employeeUPN)), calls(decline("admins are handled by the MSP"))},
			want: tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: "global/never-change-admins",
				Reason: "accounts that hold an admin role are not changed through the bot"},
			reply: "admins are handled by the MSP", actions: "user.reset_password"},
		{name: "the model asks", req: employee, texts: []string{"my laptop is not compliant"},
			answers: []Response{calls(ask)},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeAsked}, reply: "Which laptop do you mean", actions: ""},
		{name: "a write succeeded before the question", req: employee, texts: []string{"reset my password and fix my laptop"},
			answers: []Response{calls(reset(employeeUPN)), calls(ask)},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeResolved}, reply: "Which laptop do you mean", actions: "user.reset_password"},
		{name: "an empty answer asks again", req: employee, texts: []string{"hmm"},
			answers: []Response{{Text: "  "}},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeAsked}, reply: "Could you describe the problem differently?"},
		{name: "the model escalates", req: employee, texts: []string{"I was hacked"},
			answers: []Response{calls(escalate)},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseModelRequest, Reason: "the account may be compromised"},
			reply:   "They will contact you", actions: ""},
		{name: "an escalation beats a refusal", req: employee, texts: []string{"I forgot my password"}, runner: admin,
			answers: []Response{calls(reset(employeeUPN)), calls(escalate)},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseModelRequest, Reason: "the account may be compromised"},
			actions: "user.reset_password"},
		{name: "the model fails", req: employee, texts: []string{"help"},
			model: &scripted{err: tierzero.Errorf(tierzero.EUnavailable, "status 503")},
			want:  tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseModelUnavailable, Reason: "the language model failed: status 503"},
			reply: "my language model is unavailable"},
		{name: "time runs out", req: employee, texts: []string{"help"},
			model: blocking{}, edit: func(c *Config) { c.Timeout = 20 * time.Millisecond },
			want:  tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseTimeLimit, Reason: "the request took longer than 20ms"},
			reply: "ran out of time"},
		{name: "too many steps", req: employee, texts: []string{"check everything"},
			edit:    func(c *Config) { c.MaxSteps = 2 },
			want:    tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseStepLimit, Reason: "no answer after 2 model steps"},
			actions: "user.get,user.get"},
		{name: "invalid calls", req: employee, texts: []string{"check my sign-ins"},
			answers: []Response{bad, bad},
			want:    tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseInvalidCalls, Reason: "the model proposed invalid or unknown tool calls 2 times in a row"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.model
			if m == nil {
				m = &scripted{answers: tt.answers}
			}
			f := newFixture(t, m, tt.edit)
			if tt.runner != nil {
				tt.runner(f.runner)
			}
			var reply tierzero.Reply
			for i, text := range tt.texts {
				if i == len(tt.texts)-1 {
					f.clock.t = f.clock.t.Add(tt.wait)
				}
				reply = f.send(t, tt.req, "o1", text)
			}
			if reply.Outcome != tt.want {
				t.Errorf("outcome = %+v, want %+v", reply.Outcome, tt.want)
			}
			if !strings.Contains(reply.Text, tt.reply) {
				t.Errorf("reply = %q, want it to contain %q", reply.Text, tt.reply)
			}
			if got := strings.Join(f.runner.Actions(), ","); got != tt.actions {
				t.Errorf("runner got %q, want %q", got, tt.actions)
			}
			evs := f.store.Events()
			last := evs[len(evs)-1]
			if last.Kind != tierzero.AuditReply {
				t.Fatalf("last audit record is %s, want reply", last.Kind)
			}
			want := map[string]string{"outcome": string(tt.want.Kind)}
			if tt.want.Rule != "" {
				want["rule"] = tt.want.Rule
			}
			if tt.want.Cause != "" {
				want["cause"] = string(tt.want.Cause)
			}
			for _, k := range []string{"outcome", "rule", "cause"} {
				if got, ok := last.Facts[k]; got != want[k] || ok != (want[k] != "") {
					t.Errorf("reply record fact %s = %q (present %v), want %q", k, got, ok, want[k])
				}
			}
			if last.Facts["model_calls"] == "" || last.Facts["wall_ms"] == "" {
				t.Errorf("reply record lost its cost facts: %v", last.Facts)
			}
			for _, ev := range evs {
				if isPseudo(ev.Tool) {
					t.Errorf("the pseudo-tool %s was audited as a proposal: %+v", ev.Tool, ev)
				}
			}
			assertPaired(t, f.store.Saved("contoso", "o1").Turns)
		})
	}
}

// A message the agent does not read still has an outcome, and leaves no
// record.
func TestOutcomeOfUnreadMessages(t *testing.T) {
	tests := []struct {
		name, text string
		want       tierzero.Outcome
	}{
		{"empty", "  \n ", tierzero.Outcome{Kind: tierzero.OutcomeAsked}},
		{"too long", strings.Repeat("a", MaxMessageBytes+1), tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleMessageTooLong, Reason: "the message is 4001 bytes; the limit is 4000"}},
		{"not text", "reset \xff my password", tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleInvalidText, Reason: "the message is not valid UTF-8 text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &scripted{}
			f := newFixture(t, m, nil)
			reply := f.send(t, employee, "o1", tt.text)
			if reply.Outcome != tt.want {
				t.Errorf("outcome = %+v, want %+v", reply.Outcome, tt.want)
			}
			if len(m.seen) != 0 || len(f.store.Events()) != 0 {
				t.Errorf("model asked %d times, %d audit records; want none", len(m.seen), len(f.store.Events()))
			}
		})
	}
}

// A failed request has no outcome: the error says what happened.
func TestOutcomeOfAFailedRequest(t *testing.T) {
	f := newFixture(t, &scripted{answers: []Response{calls(call("r1", "user_reset_password", `{"user":"`+employeeUPN+`"}`))}}, nil)
	f.runner.Err = errors.New("audit unavailable")
	reply, err := f.agent.Handle(context.Background(), tierzero.Message{Tenant: "contoso", Conversation: "o1", Requester: employee, Text: "I forgot my password"})
	if err == nil || reply.Outcome != (tierzero.Outcome{}) {
		t.Fatalf("reply %+v, err %v; want an error and no outcome", reply, err)
	}
}

// decline and ask_user are offered always, after the real tools, with
// strict schemas; the system prompt says when to use them; they go to no
// runner.
func TestPseudoToolsOffered(t *testing.T) {
	m := &scripted{answers: []Response{{Text: "Hi."}}}
	f := newFixture(t, m, func(c *Config) {
		c.Offered = func(tierzero.Requester, tierzero.ToolSpec) bool { return false }
	})
	f.send(t, employee, "o1", "hello")
	req := m.seen[0]
	var names []string
	for _, tool := range req.Tools {
		names = append(names, tool.Name)
		var s struct {
			Properties           map[string]json.RawMessage `json:"properties"`
			Required             []string                   `json:"required"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(tool.Parameters, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Properties) != 1 || len(s.Required) != 1 || s.Properties[s.Required[0]] == nil || s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("tool %s: schema %s is not one required property, nothing else", tool.Name, tool.Parameters)
		}
	}
	if got, want := strings.Join(names, ","), "decline,ask_user,escalate"; got != want {
		t.Fatalf("tools offered with no real tool = %s, want %s", got, want)
	}
	for _, want := range []string{"call ask_user with the question", "call decline with the reason"} {
		if !strings.Contains(req.System, want) {
			t.Errorf("system prompt does not say %q:\n%s", want, req.System)
		}
	}
	for _, name := range []string{DeclineTool, AskTool} {
		action := strings.Replace(name, "_", ".", 1)
		_, err := New(Config{Model: m, Runner: f.runner, Store: f.store, Audit: f.store,
			Tools: []tierzero.ToolSpec{{Action: action, Schema: json.RawMessage(`{"type":"object"}`)}}})
		if err == nil {
			t.Errorf("a tool %q, whose model name is the built-in %q, was accepted", action, name)
		}
	}
}
