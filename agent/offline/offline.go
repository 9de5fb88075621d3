// Package offline is tierzero's rules model: a deterministic stand-in for a
// language model, used when no LLM endpoint is configured. It understands the
// common first-line requests (a forgotten password, a locked account, a new
// phone, joining a group, a license, a device that is not compliant, a hacked
// account, an out-of-office reply) and answers each, turn by turn, with the
// tool calls a model would make: it investigates first, then proposes the
// fix, then explains in plain words what it found and what happened. What it
// does not understand it escalates; what it will not or cannot do it
// declines, and what it needs to know it asks (the agent's decline and
// ask_user tools, when offered). Its proposals go through policy like any
// model's. For an MSP technician who acts in client tenants (the offered
// tools take a "tenant" argument), it names the tenant of every call and
// acts on the users the technician names, several at once for a
// compromise, never on the technician's own account.
package offline

import (
	"context"
	"encoding/json"
	"strconv"
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
	// Zone returns the time zone of a tenant, in which the dates people
	// write ("until Friday", "next Monday 9am") are read. Nil, or a nil
	// zone, means the zone of the country of the requester's usage
	// location when it has one zone (read from their profile), else UTC.
	Zone func(tierzero.TenantID) *time.Location
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
	if m.Zone != nil {
		s.zone, s.zoneSet = m.Zone(req.Tenant), true
		if s.zone == nil {
			s.zone, s.zoneSet = time.UTC, false
		}
	}
	return s.finish(s.respond()), nil
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
	// tenants maps each offered tool that takes a "tenant" argument (an MSP
	// technician acting in client tenants) to the tenants it may act in.
	// Empty: the conversation's tenant, as for everyone else.
	tenants map[string][]string
	extra   string // the user's answers to our questions about whom and which tenant
	at      int    // the index of the user's turn of this request
	lang    lang   // the language the requester writes in
	zone    *time.Location
	zoneSet bool   // zone is the tenant's, configured
	msg     string // the automatic reply message the request spells out
	// mentioned is the last user the request being read names.
	mentioned func() string
	pasted    string // text pasted into the request that gives orders
}

func newState(req agent.Request, now time.Time) (*state, bool) {
	turns := req.Turns
	u := lastUser(turns, len(turns))
	if u < 0 {
		return nil, false
	}
	s := &state{req: req, now: now, tenants: toolTenants(req.Tools)}
	// A message that asks for nothing and answers no question of ours,
	// and that confirmed a plan, continues the request before it. Across
	// tenants every call is confirmed, so a request may be followed by
	// several confirmations.
	for s.classify(turns[u].Content) == intentNone && !isQuestion(answered(turns, u)) && agent.ConfirmedPlan(turns, u) {
		p := lastUser(turns, u)
		if p < 0 {
			break
		}
		u = p
		if !s.msp() {
			break
		}
	}
	// Across tenants, an answer to our question about whom or which tenant
	// completes the request before it.
	for s.msp() && asksWhoOrWhere(answered(turns, u)) && noIntent(s.classify(turns[u].Content)) {
		p := lastUser(turns, u)
		if p < 0 {
			break
		}
		s.extra = strings.TrimSpace(turns[u].Content + "\n" + s.extra)
		u = p
	}
	s.text, s.prev, s.at = strings.TrimSpace(turns[u].Content), answered(turns, u), u
	if p := lastUser(turns, u); p >= 0 {
		s.earlier = turns[p].Content
	}
	s.zone = time.UTC
	var said []string
	for i := u; i >= 0; i-- {
		if turns[i].Role == tierzero.TurnUser {
			said = append(said, turns[i].Content)
		}
	}
	s.lang = langOf(said...)
	s.msg = autoReplyMessage(s.text)
	byID := map[string]*result{}
	for _, t := range turns[u+1:] {
		switch t.Role {
		case tierzero.TurnAssistant:
			for _, c := range t.ToolCalls {
				r := &result{name: c.Action}
				json.Unmarshal(c.Args, &r.args)
				if _, ok := r.args["tenant"]; !ok && c.Tenant != "" && s.tenants[c.Action] != nil {
					if r.args == nil {
						r.args = map[string]any{}
					}
					r.args["tenant"] = string(c.Tenant)
				}
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

// canon returns canon(text), computed once while the text is remembered.
func (s *state) canon(text string) string { return canon(text) }

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

// read parses a tool turn's content as the agent wrote it; what it reads
// is remembered for the next rounds of the request (outcomes).
func (r *result) read(content string) {
	o := outcomes.Get(content)
	r.answered = true
	r.ok, r.output, r.err, r.effect, r.reason, r.garbled = o.ok, o.output, o.err, o.effect, o.reason, o.garbled
}

// outcomes remembers the tool results of the requests being served: a
// request's later rounds read them again. Results are larger than
// requests, and are read again only within their request.
var outcomes = &memo[result]{F: readResult, Size: 64, MaxKey: 16 << 10}

// readResult parses a tool turn's content. The result is shared: its
// output and error are never modified.
func readResult(content string) (r result) {
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
		return r
	}
	r.ok, r.output, r.err, r.effect, r.reason = v.OK, v.Output, v.Error, v.Policy.Effect, v.Policy.Reason
	if !r.ok && r.err == nil {
		r.err = &tierzero.Error{Code: tierzero.EInternal, Message: "the tool reported a failure"}
	}
	return r
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

// getFor returns the latest call of name for user in tenant ("" for any
// tenant), or nil.
func (s *state) getFor(name, user, tenant string) *result {
	for i := len(s.results) - 1; i >= 0; i-- {
		r := s.results[i]
		u, _ := r.args["user"].(string)
		t, _ := r.args["tenant"].(string)
		if r.name == name && strings.EqualFold(u, user) && (tenant == "" || strings.EqualFold(t, tenant)) {
			return r
		}
	}
	return nil
}

// can reports whether the tool is offered.
func (s *state) can(name string) bool {
	for _, t := range s.req.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// call answers with one tool call; text is said alongside. A tool that
// acts in a client tenant gets the tenant of its target; when that cannot
// be told, the model asks instead of calling.
func (s *state) call(name string, args map[string]any, text string) agent.Response {
	c, ask := s.toolCall(0, name, args)
	if ask != "" {
		return s.noTenant(ask)
	}
	return agent.Response{Text: text, ToolCalls: []tierzero.ToolCall{c}}
}

// toolCall builds the i-th call of a response, with its tenant when the
// tool takes one; ask is the question to ask instead when the tenant cannot
// be told.
func (s *state) toolCall(i int, name string, args map[string]any) (c tierzero.ToolCall, ask string) {
	if _, ok := s.tenants[name]; ok {
		if _, set := args["tenant"]; !set {
			user, _ := args["user"].(string)
			t, ok := s.tenantFor(name, user)
			if !ok {
				return c, s.askTenant(user)
			}
			args["tenant"] = t
		}
	}
	b, _ := json.Marshal(args)
	id := "offline_" + strconv.Itoa(len(s.req.Turns)) + "_" + name
	if i > 0 {
		id += "_" + strconv.Itoa(i)
	}
	return tierzero.ToolCall{ID: id, Action: name, Args: b}, ""
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

// decline refuses the request through the agent's decline tool, with what
// it says (parts, as say joins them) as the reason; without the tool, it
// says it.
func (s *state) decline(parts ...string) agent.Response {
	return s.pseudo(agent.DeclineTool, "reason", say(parts...))
}

// ask asks the requester a question through the agent's ask_user tool;
// without the tool, it says it.
func (s *state) ask(parts ...string) agent.Response {
	return s.pseudo(agent.AskTool, "question", say(parts...))
}

// pseudo says what text holds through the pseudo-tool name, as its
// argument arg, when the tool is offered.
func (s *state) pseudo(name, arg string, text agent.Response) agent.Response {
	if !s.can(name) || text.Text == "" {
		return text
	}
	c, _ := s.toolCall(0, name, map[string]any{arg: text.Text})
	return agent.Response{ToolCalls: []tierzero.ToolCall{c}}
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

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
