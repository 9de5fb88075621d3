// Package offline is tierzero's rules model: a deterministic stand-in for a
// language model, used when no LLM endpoint is configured. It understands the
// common first-line requests (a forgotten password, a locked account, a new
// phone, joining a group, a license, a device that is not compliant, a hacked
// account, an out-of-office reply) and answers each, turn by turn, with the
// tool calls a model would make: it investigates first, then proposes the
// fix, then explains in plain words what it found and what happened. What it
// does not understand it escalates. Its proposals go through policy like any
// model's.
package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Model is the rules model. The zero value is ready to use.
type Model struct {
	// Now is the clock for the dates of out-of-office replies; nil means
	// time.Now.
	Now func() time.Time
}

var _ agent.Model = Model{}

// Complete answers the conversation so far. The model is stateless: it
// reads the request being served from the turns (the last user message, or
// the one before it when the last only confirmed a plan) and the calls made
// since, and decides the next step.
func (m Model) Complete(_ context.Context, req agent.Request) (agent.Response, error) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	s, ok := newState(req, now())
	if !ok {
		return agent.Response{Text: "How can I help?"}, nil
	}
	return s.respond(), nil
}

// result is one tool call made for the request being served, with its
// result when it has one.
type result struct {
	name     string
	args     map[string]any
	answered bool
	ok       bool
	output   json.RawMessage
	err      *tierzero.Error
	effect   string // the policy's, when it decided
	reason   string
	garbled  bool // the result could not be read
}

// state is what the model knows about the request being served.
type state struct {
	req     agent.Request
	now     time.Time
	text    string    // the user's words for this request
	prev    string    // the assistant's answer just before them
	earlier string    // the user's message before that
	results []*result // calls since the user's words, in order
	offered map[string]bool
}

func newState(req agent.Request, now time.Time) (*state, bool) {
	turns := req.Turns
	u := lastUser(turns, len(turns))
	if u < 0 {
		return nil, false
	}
	// A message that asks for nothing and answers no question of ours,
	// followed by calls (a confirmed plan), continues the request before it.
	if classify(turns[u].Content) == intentNone && !isQuestion(answered(turns, u)) && hasCalls(turns[u+1:]) {
		if p := lastUser(turns, u); p >= 0 {
			u = p
		}
	}
	s := &state{req: req, now: now, text: strings.TrimSpace(turns[u].Content), prev: answered(turns, u), offered: map[string]bool{}}
	if p := lastUser(turns, u); p >= 0 {
		s.earlier = turns[p].Content
	}
	for _, t := range req.Tools {
		s.offered[t.Name] = true
	}
	byID := map[string]*result{}
	for _, t := range turns[u+1:] {
		switch t.Role {
		case tierzero.TurnAssistant:
			for _, c := range t.ToolCalls {
				r := &result{name: c.Action}
				json.Unmarshal(c.Args, &r.args)
				s.results = append(s.results, r)
				byID[c.ID] = r
			}
		case tierzero.TurnTool:
			if r := byID[t.ToolCallID]; r != nil {
				r.read(t.Content)
			}
		}
	}
	return s, true
}

func lastUser(turns []tierzero.Turn, before int) int {
	for i := before - 1; i >= 0; i-- {
		if turns[i].Role == tierzero.TurnUser {
			return i
		}
	}
	return -1
}

// answered returns the assistant's text just before the user turn u.
func answered(turns []tierzero.Turn, u int) string {
	for i := u - 1; i >= 0; i-- {
		switch {
		case turns[i].Role == tierzero.TurnUser:
			return ""
		case turns[i].Role == tierzero.TurnAssistant && turns[i].Content != "":
			return turns[i].Content
		}
	}
	return ""
}

func hasCalls(turns []tierzero.Turn) bool {
	for _, t := range turns {
		if len(t.ToolCalls) > 0 {
			return true
		}
	}
	return false
}

// read parses a tool turn's content as the agent wrote it.
func (r *result) read(content string) {
	r.answered = true
	_, data, ok := agent.UnwrapToolResult(content)
	var v struct {
		OK     bool            `json:"ok"`
		Output json.RawMessage `json:"output"`
		Error  *tierzero.Error `json:"error"`
		Policy struct {
			Effect string `json:"effect"`
			Reason string `json:"reason"`
		} `json:"policy"`
	}
	if !ok || json.Unmarshal(data, &v) != nil {
		r.garbled = true
		return
	}
	r.ok, r.output, r.err, r.effect, r.reason = v.OK, v.Output, v.Error, v.Policy.Effect, v.Policy.Reason
	if !r.ok && r.err == nil {
		r.err = &tierzero.Error{Code: tierzero.EInternal, Message: "the tool reported a failure"}
	}
}

// tried reports whether name was called for this request.
func (s *state) tried(name string) bool { return s.get(name) != nil }

// get returns the latest call of name for this request, or nil.
func (s *state) get(name string) *result {
	for i := len(s.results) - 1; i >= 0; i-- {
		if s.results[i].name == name {
			return s.results[i]
		}
	}
	return nil
}

// can reports whether the tool is offered.
func (s *state) can(name string) bool { return s.offered[name] }

// call answers with one tool call; text is said alongside.
func (s *state) call(name string, args map[string]any, text string) agent.Response {
	b, _ := json.Marshal(args)
	return agent.Response{Text: text, ToolCalls: []tierzero.ToolCall{{
		ID: fmt.Sprintf("offline_%d_%s", len(s.req.Turns), name), Action: name, Args: b,
	}}}
}

// say answers in text.
func say(parts ...string) agent.Response {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return agent.Response{Text: strings.Join(out, " ")}
}

// escalate hands the request to a person through the agent's escalate
// tool, saying text to the user; without the tool, it tells the user to
// contact IT.
func (s *state) escalate(reason, text string) agent.Response {
	if !s.can(agent.EscalateTool) {
		return say(text, "Please contact your IT support about this.")
	}
	r := s.call(agent.EscalateTool, map[string]any{"reason": clip(reason, 1000)}, text)
	return r
}

func (s *state) self() string { return s.req.Requester.UPN }

func (s *state) isSelf(user string) bool {
	return strings.EqualFold(user, s.req.Requester.UPN) || (user != "" && user == s.req.Requester.ObjectID)
}

// tech reports whether the requester may act on others' accounts.
func (s *state) tech() bool { return s.req.Requester.Role != tierzero.RoleEmployee }

// outcome says how a write went, success being the sentence for success.
func outcome(r *result, success string) string {
	msg := ""
	if r.err != nil {
		msg = strings.TrimSuffix(strings.TrimSpace(r.err.Message), ".")
	}
	switch {
	case r.garbled:
		return "I got an answer I could not read, so I stopped. Nothing else was changed."
	case r.ok:
		return success
	case r.effect == string(tierzero.EffectRequireApproval):
		why := r.reason
		if why == "" {
			why = "policy requires it"
		}
		if strings.Contains(msg, "approvals are not enabled") { // the guard has no approvals store
			return fmt.Sprintf("This needs approval (%s), and I can't request approvals here yet, so nothing was changed. Please contact your IT support.", strings.TrimSuffix(why, "."))
		}
		to := ""
		if r.err != nil && r.err.Code == tierzero.EPending {
			var out struct {
				ApproverText string `json:"approver_text"`
			}
			if json.Unmarshal(r.output, &out) == nil && out.ApproverText != "" {
				to = " to " + out.ApproverText
			}
		}
		return fmt.Sprintf("This needs approval (%s): I've sent it for approval%s, and nothing changes until it is approved. You'll hear back here.", strings.TrimSuffix(why, "."), to)
	case r.err != nil && r.err.Code == tierzero.EDenied:
		return "I can't do that: " + strings.TrimPrefix(msg, "denied by policy: ") + ". Nothing was changed. If you need this, please contact your IT support."
	case r.err != nil && r.err.Code == tierzero.EUnavailable:
		return "I could not confirm whether that worked: " + msg + ". Please check before trying again, or contact your IT support."
	case r.err != nil:
		return "That didn't work: " + msg + ". Nothing was changed; please contact your IT support."
	}
	return "That didn't work. Nothing was changed; please contact your IT support."
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
