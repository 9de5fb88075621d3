package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// MaxMessageBytes bounds one incoming message.
const MaxMessageBytes = 4000

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxSteps          = 6
	DefaultMaxCalls          = 8
	DefaultMaxCallsPerAnswer = 5
	DefaultTimeout           = 2 * time.Minute
	DefaultConfirmTTL        = time.Hour
)

// MaxAnswerBytes bounds the text of one model answer that is kept, shown
// and recorded; the rest is cut.
const MaxAnswerBytes = 16 << 10

// finishTimeout bounds the recording of a request's outcome (escalation,
// conversation, the reply's audit) once the request's own time is up.
const finishTimeout = 10 * time.Second

// maxInvalidRounds is how many model answers in a row may hold an invalid
// or unknown tool call before the request escalates.
const maxInvalidRounds = 2

// Store keeps conversations (store.DB).
type Store interface {
	Conversation(ctx context.Context, tenant tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error)
	SaveConversation(ctx context.Context, tenant tierzero.TenantID, c tierzero.Conversation) error
}

// Escalator hands a request the agent cannot resolve to people: the
// tenant's admins in chat, a ticketing system.
type Escalator interface {
	Escalate(ctx context.Context, e tierzero.Escalation) error
}

// Config wires an Agent.
type Config struct {
	Model  Model
	Runner tierzero.ToolRunner // policy.Guard, and nothing else
	Tools  []tierzero.ToolSpec
	Store  Store
	Audit  tierzero.Auditor

	// Personas returns the persona of a tenant; nil, or zero fields, take
	// the defaults (see Persona).
	Personas func(tierzero.TenantID) Persona
	// Offered reports whether spec is offered to req: a tool the requester
	// can never use is left out of the model's tools. nil offers all. A call
	// to a tool not offered still goes to the runner, which denies it on the
	// record.
	Offered func(req tierzero.Requester, spec tierzero.ToolSpec) bool
	// Escalator receives what the agent cannot resolve; nil means none, and
	// the user is told to contact IT support.
	Escalator Escalator
	// Tenants, optional, returns the client tenants req may act in besides
	// their own: an MSP technician's, as policy admits them. For such a
	// requester every tool takes a required "tenant" argument (TenantParam),
	// and every call, reads included, is shown as a plan and runs only
	// after they confirm. nil, or none, keeps a requester in their tenant.
	Tenants func(req tierzero.Requester) []tierzero.TenantID

	MaxSteps int // model calls per request, default 6
	// MaxCalls bounds the tool calls handed to the runner for one request,
	// default 8. Calls beyond it are not run; one audit record says how
	// many, and the request escalates.
	MaxCalls int
	// MaxCallsPerAnswer bounds the tool calls taken from one model answer,
	// default 5. The rest are dropped unread: they are neither run, kept in
	// the conversation nor recorded one by one; one audit record says how
	// many there were.
	MaxCallsPerAnswer int
	Timeout           time.Duration // wall time per request, default 2m
	// MemoryTokens bounds the estimated size (about 4 characters a token)
	// of the system prompt and conversation turns sent to the model, and of
	// the turns kept in the store: the oldest turns are dropped first, an
	// assistant's tool calls always with their results, the current
	// request never. Default 6000.
	MemoryTokens int
	// ConfirmTTL is how long a plan waits for its requester's "yes",
	// default 1h.
	ConfirmTTL time.Duration
	// TimeZone, optional, returns the time zone of a tenant: the dates a
	// plan or a reply shows (an automatic reply's start and end) are in
	// it. nil, or a nil result, shows them in UTC and says so.
	TimeZone func(tierzero.TenantID) *time.Location

	Now    func() time.Time
	Logger *slog.Logger
}

// Agent answers messages: it asks the model, runs proposed tool calls
// through the runner, and replies.
//
// The audit records of a request are: "message"; for each proposed call
// "proposed" (Outcome says why it did not go to the runner: rejected,
// awaiting confirmation, not run), followed by the runner's own records;
// one "proposed" record without a tool for the calls of a model answer, or
// of the request, beyond a limit (Facts refused_calls and tools; their
// arguments are not recorded);
// "error" when the model failed; "escalated" when the request was handed
// over; and "reply", whose Facts hold the request's cost as decimal strings:
// model_calls, prompt_tokens, completion_tokens, tool_calls (calls handed to
// the runner) and wall_ms; and its outcome (Reply.Outcome): outcome (the
// kind), with rule and cause when they are set.
type Agent struct {
	cfg      Config
	list     []*toolInfo
	byName   map[string]*toolInfo // model name -> tool
	byAction map[string]*toolInfo
	log      *slog.Logger

	// acrossTools caches the tools rewritten with a tenant argument, by
	// the list of tenants (see toolsAcross).
	acrossMu    sync.Mutex
	acrossTools map[string]map[string]Tool
}

type toolInfo struct {
	spec   tierzero.ToolSpec
	tool   Tool
	schema *schema
}

// New returns an Agent.
func New(cfg Config) (*Agent, error) {
	if cfg.Model == nil || cfg.Runner == nil || cfg.Store == nil || cfg.Audit == nil {
		return nil, errors.New("agent: model, runner, store and audit are required")
	}
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = DefaultMaxSteps
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = DefaultMaxCalls
	}
	if cfg.MaxCallsPerAnswer <= 0 {
		cfg.MaxCallsPerAnswer = DefaultMaxCallsPerAnswer
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MemoryTokens <= 0 {
		cfg.MemoryTokens = DefaultMemoryTokens
	}
	if cfg.ConfirmTTL <= 0 {
		cfg.ConfirmTTL = DefaultConfirmTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, byName: make(map[string]*toolInfo), byAction: make(map[string]*toolInfo), log: cfg.Logger}
	for _, s := range cfg.Tools {
		n := ToolName(s.Action)
		if isPseudo(n) {
			return nil, fmt.Errorf("agent: tool %q takes the name of the built-in %q", s.Action, n)
		}
		if other, dup := a.byName[n]; dup {
			return nil, fmt.Errorf("agent: tools %q and %q share the model name %q", other.spec.Action, s.Action, n)
		}
		sc, err := compileSchema(s.Schema)
		if err != nil {
			return nil, fmt.Errorf("agent: tool %s: %w", s.Action, err)
		}
		info := &toolInfo{spec: s, tool: Tool{Name: n, Description: s.Description, Parameters: s.Schema}, schema: sc}
		a.list = append(a.list, info)
		a.byName[n] = info
		a.byAction[s.Action] = info
	}
	return a, nil
}

// request is the state of one Handle call.
type request struct {
	a       *Agent
	ctx     context.Context // bounded by Config.Timeout
	fin     context.Context // for recording the outcome after ctx is done
	tenant  tierzero.TenantID
	req     tierzero.Requester
	convID  tierzero.ConversationID
	conv    *tierzero.Conversation
	start   int // index in conv.Turns of this request's user turn
	from    int // where this request's transcript starts: start, or the plan it settles
	persona Persona
	system  string
	tools   []Tool
	offered map[string]bool // actions offered to the model
	confirm bool            // writes wait for the requester's yes
	// across are the client tenants the requester acts in from their own
	// (an MSP technician's console); every call into them waits for the
	// requester's yes.
	across []tierzero.TenantID

	reply tierzero.Reply

	steps         []step
	lines         []string          // what was done or refused, for the user
	names         map[string]string // object id -> display name seen in results (collectNames)
	recalled      bool              // names holds what the conversation's results say (recall)
	wrote         bool
	invalidRounds int

	// What the request's outcome is made of (see outcome).
	escalated *tierzero.Outcome // the request was handed to a person
	pending   bool              // a call went for approval
	refused   *tierzero.Outcome // the first refusal: a policy's, or the model's decline
	asked     bool              // the reply asks the requester a question

	// The gate's reading of the conversation (see judge), kept between
	// the checks of a request: the requester's words change only when
	// addUser adds them.
	intent *Intent
	ev     *evidence
	// What the requester's words choose of the tools (see modelRequest),
	// and how many user turns were sent when they were read.
	chosen      *toolChoice
	chosenUsers int

	modelCalls, promptTokens, completionTokens, toolCalls int
}

// step is one call handed to the runner.
type step struct {
	call  tierzero.ToolCall
	write bool
	res   tierzero.ToolResult
}

// Handle answers one message. Only a failure that leaves the request in an
// unknown state (the conversation or the audit could not be read or written)
// is an error; everything else, including a model outage or a denial, is a
// reply the user can read. With an error, the reply may still carry private
// notes from actions that already ran (a temporary password): the caller
// must deliver them, or they are lost; its Outcome is zero.
//
// The reply's Outcome is set on every other path (see outcome). A message
// the agent does not read, which leaves no audit record, is: empty, asked
// (the reply asks what they need); too long, refused with
// RuleMessageTooLong; not valid UTF-8, refused with RuleInvalidText.
func (a *Agent) Handle(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error) {
	if err := tierzero.ValidTenantID(msg.Tenant); err != nil {
		return tierzero.Reply{}, err
	}
	if msg.Requester.Tenant != msg.Tenant || msg.Requester.UPN == "" {
		return tierzero.Reply{}, tierzero.Errorf(tierzero.EUnauthorized, "the requester is not verified for tenant %s", msg.Tenant)
	}
	text := strings.TrimSpace(msg.Text)
	switch {
	case text == "":
		return tierzero.Reply{Text: "Tell me what you need help with, for example: I forgot my password.",
			Outcome: tierzero.Outcome{Kind: tierzero.OutcomeAsked}}, nil
	case len(text) > MaxMessageBytes:
		return tierzero.Reply{Text: fmt.Sprintf("That message is too long for me (%d bytes; the limit is %d). Please describe the problem in a few sentences.", len(text), MaxMessageBytes),
			Outcome: tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleMessageTooLong, Reason: fmt.Sprintf("the message is %d bytes; the limit is %d", len(text), MaxMessageBytes)}}, nil
	case !utf8.ValidString(text):
		return tierzero.Reply{Text: "I could not read that message (it is not valid text).",
			Outcome: tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleInvalidText, Reason: "the message is not valid UTF-8 text"}}, nil
	}
	began := a.cfg.Now()
	// The request's records, conversation and intents' outcomes are
	// committed together: with the intent of each write (before it runs)
	// and at the end (before the reply is delivered). A caller that
	// carries its own unit (the desk) commits it with what it sends.
	ctx, commit := tierzero.BeginUnit(ctx)
	committed := false
	defer func() {
		if !committed {
			if err := commit(context.WithoutCancel(ctx)); err != nil {
				a.cfg.Logger.Error("commit the request's records", "tenant", msg.Tenant, "err", err)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	fin, cancelFin := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Timeout+finishTimeout)
	defer cancelFin()

	r := &request{a: a, ctx: ctx, fin: fin, tenant: msg.Tenant, req: msg.Requester, convID: msg.Conversation, names: map[string]string{}}
	if err := r.audit(ctx, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: text}); err != nil {
		return tierzero.Reply{}, fmt.Errorf("audit message: %w", err)
	}
	conv, err := a.cfg.Store.Conversation(ctx, msg.Tenant, MemoryID(msg.Conversation, msg.Requester))
	if err != nil {
		return tierzero.Reply{}, fmt.Errorf("load conversation: %w", err)
	}
	r.conv = &conv
	r.prepare()

	answer, plan, err := r.run(text)
	if err != nil {
		return tierzero.Reply{Private: r.reply.Private}, err
	}
	r.reply.Text = r.compose(answer)
	r.reply.Outcome = r.outcome(len(plan) > 0)
	final := tierzero.Turn{Role: tierzero.TurnAssistant, Content: r.reply.Text, Time: a.cfg.Now()}
	if len(plan) > 0 {
		final.Role, final.ToolCalls, final.ToolCallID = tierzero.TurnPlan, plan, r.req.UPN
	}
	conv.Turns = append(conv.Turns, final)
	conv.Turns = trimTurns(conv.Turns, r.start, a.cfg.MemoryTokens)
	if err := a.cfg.Store.SaveConversation(fin, msg.Tenant, conv); err != nil {
		return tierzero.Reply{Private: r.reply.Private}, fmt.Errorf("save conversation: %w", err)
	}
	ev := tierzero.AuditEvent{Kind: tierzero.AuditReply, Text: r.reply.Text, Facts: map[string]string{
		"model_calls":       strconv.Itoa(r.modelCalls),
		"prompt_tokens":     strconv.Itoa(r.promptTokens),
		"completion_tokens": strconv.Itoa(r.completionTokens),
		"tool_calls":        strconv.Itoa(r.toolCalls),
		"wall_ms":           strconv.FormatInt(a.cfg.Now().Sub(began).Milliseconds(), 10),
		"outcome":           string(r.reply.Outcome.Kind),
	}}
	if o := r.reply.Outcome; o.Rule != "" {
		ev.Facts["rule"] = o.Rule
	}
	if o := r.reply.Outcome; o.Cause != "" {
		ev.Facts["cause"] = string(o.Cause)
	}
	if n := len(r.reply.Private); n > 0 {
		ev.Outcome = fmt.Sprintf("%d private note(s) handed over for private delivery to the requester", n)
	}
	if err := r.audit(fin, ev); err != nil {
		return tierzero.Reply{Private: r.reply.Private}, fmt.Errorf("audit reply: %w", err)
	}
	committed = true
	if err := commit(fin); err != nil {
		return tierzero.Reply{Private: r.reply.Private}, fmt.Errorf("commit the request's records: %w", err)
	}
	return r.reply, nil
}

// otherTenants lists, sorted and comma-separated, the tenants other than
// tenant that calls in turns acted in.
func otherTenants(tenant tierzero.TenantID, turns []tierzero.Turn) string {
	var ts []string
	for _, t := range turns {
		for _, c := range t.ToolCalls {
			if c.Tenant != "" && c.Tenant != tenant && !slices.Contains(ts, string(c.Tenant)) {
				ts = append(ts, string(c.Tenant))
			}
		}
	}
	slices.Sort(ts)
	return strings.Join(ts, ",")
}

// MemoryID is the key of what the agent remembers of a conversation for
// one requester: in a shared channel thread, each person has their own
// memory, so tool results fetched for one person (their sign-ins, their
// devices) never enter another person's model context, and a plan waits
// for the "yes" of the person it was shown to.
func MemoryID(conv tierzero.ConversationID, req tierzero.Requester) tierzero.ConversationID {
	who := req.ObjectID
	if who == "" {
		who = strings.ToLower(req.UPN)
	}
	return conv + "|" + tierzero.ConversationID(who)
}

// prepare computes what the request offers the model.
func (r *request) prepare() {
	cfg := r.a.cfg
	if cfg.Personas != nil {
		r.persona = cfg.Personas(r.tenant)
	}
	r.persona = r.persona.withDefaults(r.tenant)
	r.system = SystemPrompt(r.persona, r.tenant, r.req)
	r.confirm = r.req.Role != tierzero.RoleEmployee
	r.across = r.a.acrossTenants(r.req)
	if len(r.across) > 0 {
		r.system += acrossPrompt(r.across)
	}
	r.offered = make(map[string]bool, len(r.a.list))
	r.tools = make([]Tool, 0, len(r.a.list)+1)
	for _, t := range r.a.list {
		if cfg.Offered != nil && !cfg.Offered(r.req, t.spec) {
			continue
		}
		if tierzero.IsBaselineAction(t.spec.Action) {
			// A baseline's steps run only within an approved baseline
			// plan (the Guard refuses them alone): the model proposes
			// the plan the read returned, never a step.
			continue
		}
		tool := t.tool
		if len(r.across) > 0 {
			var ok bool
			if tool, ok = r.a.toolsAcross(r.across)[t.spec.Action]; !ok {
				continue // its schema could not take a tenant: not offered
			}
		}
		r.offered[t.spec.Action] = true
		r.tools = append(r.tools, tool)
	}
	r.tools = append(r.tools, pseudoTools...)
}

func (r *request) audit(ctx context.Context, ev tierzero.AuditEvent) error {
	ev.Conversation, ev.Requester, ev.Channel = r.convID, r.req.UPN, r.req.Channel
	// What is recorded once the memory is loaded (a reply, an escalation's
	// summary) may quote what calls into other tenants returned: the
	// "tenants" fact names them, and the store seals the record's content
	// under their keys too, so that shredding one of them destroys it (as
	// it does the memory).
	if r.conv != nil && ev.Facts["tenant"] == "" {
		if ts := otherTenants(r.tenant, r.conv.Turns); ts != "" {
			facts := make(map[string]string, len(ev.Facts)+1)
			for k, v := range ev.Facts {
				facts[k] = v
			}
			facts["tenants"] = ts
			ev.Facts = facts
		}
	}
	return r.a.cfg.Audit.Append(ctx, r.tenant, ev)
}

func (r *request) now() time.Time { return r.a.cfg.Now() }

// run handles the message text: it settles a plan waiting for confirmation,
// then runs the model loop. It returns the answer and, when writes wait for
// the requester's confirmation, the calls of the plan.
func (r *request) run(text string) (string, []tierzero.ToolCall, error) {
	turns := r.conv.Turns
	if n := len(turns); n > 0 && turns[n-1].Role == tierzero.TurnPlan {
		plan := turns[n-1]
		// Any next message settles the plan; it stays in the history as
		// what the requester was told.
		turns[n-1] = tierzero.Turn{Role: tierzero.TurnAssistant, Content: plan.Content, Time: plan.Time, Settled: true}
		mine := strings.EqualFold(plan.ToolCallID, r.req.UPN)
		fresh := r.now().Sub(plan.Time) <= r.a.cfg.ConfirmTTL
		r.addUser(text)
		r.from = n - 1 // an escalation's transcript shows the plan too
		switch {
		case mine && affirmative(text) && fresh:
			// Settle the plan on disk before any of its writes runs: after
			// an error or a crash from here on, another "yes" finds no plan.
			if err := r.a.cfg.Store.SaveConversation(r.fin, r.tenant, *r.conv); err != nil {
				return "", nil, fmt.Errorf("settle plan: %w", err)
			}
			return r.confirmed(plan.ToolCalls)
		case mine && affirmative(text):
			return "That plan has expired, so I did not run it. Nothing was changed; tell me again what you need.", nil, nil
		case mine && negative(text):
			return "OK, I cancelled it. Nothing was changed.", nil, nil
		}
		if mine {
			r.lines = append(r.lines, "(I did not run my earlier plan.)")
		} else {
			r.lines = append(r.lines, "(My earlier plan was not run: only "+plan.ToolCallID+" could confirm it.)")
		}
		return r.loop()
	}
	r.addUser(text)
	return r.loop()
}

func (r *request) addUser(text string) {
	r.conv.Turns = append(r.conv.Turns, tierzero.Turn{Role: tierzero.TurnUser, Content: text, Time: r.now()})
	r.intent = nil // read again, with these words, when a write is judged
	r.chosen = nil
	r.start = len(r.conv.Turns) - 1
	r.from = r.start
}

// confirmed runs the calls of a confirmed plan, exactly as they were shown,
// then lets the model explain the outcome.
func (r *request) confirmed(calls []tierzero.ToolCall) (string, []tierzero.ToolCall, error) {
	r.conv.Turns = append(r.conv.Turns, tierzero.Turn{Role: tierzero.TurnAssistant, ToolCalls: calls, Time: r.now()})
	var over []tierzero.ToolCall
	for _, c := range calls {
		if c.Tenant != "" && !slices.Contains(r.across, c.Tenant) {
			// Kept from when the requester acted there; not any more.
			res := notRun(tierzero.EDenied, "not run: you no longer act in tenant %s", c.Tenant)
			if err := r.propose(c, "not run: tenant not reachable"); err != nil {
				return "", nil, err
			}
			r.addResult(c, res)
			continue
		}
		if r.toolCalls >= r.a.cfg.MaxCalls {
			over = append(over, c)
			r.addResult(c, overLimit)
			continue
		}
		res, err := r.runCall(c, "confirmed by the requester")
		if err != nil {
			return "", nil, err
		}
		r.addResult(c, res)
	}
	if len(over) > 0 {
		if err := r.refuse(over, r.overRequest(len(over))); err != nil {
			return "", nil, err
		}
		return r.escalate(tierzero.CauseCallLimit, "the confirmed plan holds more calls than one request may make",
			"I couldn't finish this within the number of actions I may take for one request.")
	}
	return r.loop()
}

// loop runs model steps until the model answers in text, writes wait for
// confirmation, or the request escalates. It returns the answer.
func (r *request) loop() (string, []tierzero.ToolCall, error) {
	cfg := r.a.cfg
	for step := 0; ; step++ {
		if step >= cfg.MaxSteps {
			return r.escalate(tierzero.CauseStepLimit, fmt.Sprintf("no answer after %d model steps", cfg.MaxSteps),
				"I couldn't finish this on my own.")
		}
		if r.ctx.Err() != nil {
			return r.timeUp()
		}
		resp, err := cfg.Model.Complete(r.ctx, r.modelRequest())
		r.modelCalls++
		r.promptTokens += resp.Usage.PromptTokens
		r.completionTokens += resp.Usage.CompletionTokens
		if err != nil {
			if r.ctx.Err() != nil {
				return r.timeUp()
			}
			r.a.log.Warn("model failed", "tenant", r.tenant, "err", err)
			if aerr := r.audit(r.fin, tierzero.AuditEvent{Kind: tierzero.AuditError, Error: "model: " + tierzero.ErrorMessage(err)}); aerr != nil {
				return "", nil, fmt.Errorf("audit model error: %w", aerr)
			}
			return r.escalate(tierzero.CauseModelUnavailable, "the language model failed: "+tierzero.ErrorMessage(err),
				"I'm sorry, I can't think this through right now (my language model is unavailable)."+r.unchanged())
		}
		if len(resp.Text) > MaxAnswerBytes {
			resp.Text = clipBytes(resp.Text, MaxAnswerBytes) + "…"
		}
		if len(resp.ToolCalls) == 0 {
			text := strings.TrimSpace(resp.Text)
			if text == "" {
				r.asked = true
				text = "I'm not sure how to help with that. Could you describe the problem differently?"
			}
			return text, nil, nil
		}
		o, err := r.round(resp)
		if err != nil {
			return "", nil, err
		}
		if o.garbage {
			r.invalidRounds++
		} else {
			r.invalidRounds = 0
		}
		switch {
		case o.escalate != "":
			return r.escalate(tierzero.CauseModelRequest, o.escalate, strings.TrimSpace(resp.Text))
		case o.declined:
			return r.decline(o.reason, resp.Text), nil, nil
		case o.asking:
			return r.ask(o.question, resp.Text), nil, nil
		case o.over:
			return r.escalate(tierzero.CauseCallLimit, fmt.Sprintf("more than %d tool calls", cfg.MaxCalls),
				"I couldn't finish this within the number of actions I may take for one request.")
		case r.invalidRounds >= maxInvalidRounds:
			return r.escalate(tierzero.CauseInvalidCalls, fmt.Sprintf("the model proposed invalid or unknown tool calls %d times in a row", r.invalidRounds),
				"I got stuck and couldn't finish this."+r.unchanged())
		case len(o.pending) > 0:
			// Decide first, then ask: when policy refuses every call of the
			// plan, the model hears why and answers next.
			if text, plan, done, err := r.offer(resp.Text, o.pending); done || err != nil {
				return r.gateNote(text, plan), plan, err
			}
		}
	}
}

func (r *request) timeUp() (string, []tierzero.ToolCall, error) {
	return r.escalate(tierzero.CauseTimeLimit, fmt.Sprintf("the request took longer than %s", r.a.cfg.Timeout),
		"I ran out of time on this one."+r.unchanged())
}

func (r *request) unchanged() string {
	if r.wrote {
		return " Some changes were already made; they are on record."
	}
	return " Nothing was changed."
}

// modelRequest is the next request to the model: the system prompt with
// the time now in the tenant's time zone, the turns that fit the memory
// budget, and the offered tools that can apply to what the requester wrote
// in them (selectTools).
func (r *request) modelRequest() Request {
	var zone *time.Location
	if f := r.a.cfg.TimeZone; f != nil {
		zone = f(r.tenant)
	}
	system := r.system + clockLine(r.now(), zone)
	budget := r.a.cfg.MemoryTokens - estimateTokens(system)
	turns := forModel(trimTurns(r.conv.Turns, r.start, budget))
	// The turns sent end the conversation, whose user turns only addUser
	// adds: as many user turns are the same ones.
	users := 0
	for _, t := range turns {
		if t.Role == tierzero.TurnUser {
			users++
		}
	}
	if r.chosen == nil || r.chosenUsers != users {
		ch := chooseByWords(turns)
		r.chosen, r.chosenUsers = &ch, users
	}
	return Request{Tenant: r.tenant, Requester: r.req, System: system, Turns: turns, Tools: r.chosen.apply(r.tools, turns)}
}

// roundOutcome is what one model answer with tool calls led to.
type roundOutcome struct {
	pending  []tierzero.ToolCall // writes waiting for confirmation
	escalate string              // the model asked for a human, with this reason
	declined bool                // the model declined the request...
	reason   string              // ...with this reason ("" for none)
	asking   bool                // the model asks the requester...
	question string              // ...this question ("" for none)
	over     bool                // the call limit was hit
	garbage  bool                // a call was unknown, not offered or invalid
}

// round handles one model answer with tool calls: it validates each call,
// runs what may run, holds the writes that need confirmation and records a
// result for every call the model will see.
func (r *request) round(resp Response) (roundOutcome, error) {
	var o roundOutcome
	turn := tierzero.Turn{Role: tierzero.TurnAssistant, Content: strings.TrimSpace(resp.Text), Time: r.now()}
	type slot struct {
		call    tierzero.ToolCall
		name    string               // model name, for the result wrapper
		result  *tierzero.ToolResult // set: not handed to the runner
		outcome string               // for the proposal's audit record
	}
	proposed := resp.ToolCalls
	if limit := r.a.cfg.MaxCallsPerAnswer; len(proposed) > limit {
		// Dropped unread: one record for them all.
		if err := r.refuse(proposed[limit:], fmt.Sprintf("not run: %d tool call(s) beyond the %d one model answer may make", len(proposed)-limit, limit)); err != nil {
			return o, err
		}
		proposed = proposed[:limit]
	}
	// A pseudo-tool ends the request: the calls beside it do not run.
	ending := ""
	for _, c := range proposed {
		if isPseudo(c.Action) && (ending == "" || c.Action == EscalateTool) {
			ending = c.Action
		}
	}
	// Reads stay free; the writes of an answer that reaches beyond the
	// requester's intent wait for their yes together (see answerGated).
	held := !r.confirm && r.answerGated(proposed)
	var slots []slot
	for i, c := range proposed {
		if !validCallID(c.ID) {
			c.ID = fmt.Sprintf("call_%d_%d", len(r.conv.Turns), i)
		}
		// A model names a tenant only through the tenant argument, which
		// is checked below; never through the field.
		c.Tenant = ""
		c.Action = clipBytes(c.Action, maxToolName)
		s := slot{name: c.Action}
		info := r.a.byName[c.Action]
		// Arguments too large or too deep are dropped before anything
		// records them: the proposal's audit record, the conversation, the
		// runner.
		if err := checkArgsSize(c.Args); err != nil {
			o.garbage = true
			c.Args = json.RawMessage(`{}`)
			if info != nil {
				c.Action = info.spec.Action
			}
			res := notRun(tierzero.EInvalid, "invalid arguments for %s: %s. Nothing was run", s.name, err)
			s.result, s.outcome = &res, "rejected: "+res.Error.Message
			s.call = c
			turn.ToolCalls = append(turn.ToolCalls, c)
			slots = append(slots, s)
			continue
		}
		switch {
		case c.Action == EscalateTool:
			reason := pseudoArg(&c, "reason")
			if reason == "" {
				reason = "(no reason given)"
			}
			if o.escalate == "" {
				o.escalate = clip(reason, 1000)
			}
			s.result = &tierzero.ToolResult{Output: json.RawMessage(`{"escalated":true}`)}
		case c.Action == DeclineTool:
			reason := pseudoArg(&c, "reason")
			if !o.declined {
				o.declined, o.reason = true, reason
			}
			s.result = &tierzero.ToolResult{Output: json.RawMessage(`{"declined":true}`)}
		case c.Action == AskTool:
			question := pseudoArg(&c, "question")
			if !o.asking {
				o.asking, o.question = true, question
			}
			s.result = &tierzero.ToolResult{Output: json.RawMessage(`{"asked":true}`)}
		case info == nil:
			// An unknown tool goes to the runner, which denies it on the
			// record.
			o.garbage = true
			c.Args = storable(c.Args)
		default:
			c.Action = info.spec.Action
			canon, err := tierzero.CanonicalArgs(c.Args)
			if err == nil && len(r.across) > 0 {
				c.Tenant, canon, err = splitTenant(canon, r.across)
			}
			if err == nil {
				err = info.schema.validateArgs(canon)
			}
			if err != nil {
				o.garbage = true
				c.Args = storable(c.Args)
				res := notRun(tierzero.EInvalid, "invalid arguments for %s: %s. Nothing was run; call it again with arguments that match its schema", s.name, why(err))
				s.result, s.outcome = &res, "rejected: "+res.Error.Message
				break
			}
			c.Args = canon
			if !r.offered[info.spec.Action] {
				o.garbage = true
				if len(r.across) > 0 {
					// Nothing goes into another tenant unconfirmed, not even
					// to be denied there.
					res := notRun(tierzero.EDenied, "%s is not offered to you; nothing was run", s.name)
					s.result, s.outcome = &res, "rejected: not offered"
				}
				break // not offered: the runner denies it on the record
			}
			// Writes of technicians and admins, writes of an answer that
			// holds one the requester did not ask for or whose target or
			// text comes from tool output (the gate: see judge), and every
			// call into another tenant, wait for the requester's yes.
			if (info.spec.Write && (r.confirm || held) || c.Tenant != "") && ending == "" {
				if err := r.propose(c, "awaiting confirmation"); err != nil {
					return o, err
				}
				o.pending = append(o.pending, c)
				continue
			}
		}
		if ending != "" && s.result == nil {
			res := notRun(tierzero.EConflict, "%s", endingNotRun[ending])
			s.result, s.outcome = &res, "not run: "+endingOutcome[ending]
		}
		s.call = c
		turn.ToolCalls = append(turn.ToolCalls, c)
		slots = append(slots, s)
	}
	if len(o.pending) > 0 {
		turn.Content = "" // the plan turn carries it
	}
	if len(turn.ToolCalls) == 0 {
		return o, nil
	}
	r.conv.Turns = append(r.conv.Turns, turn)
	var over []tierzero.ToolCall
	for _, s := range slots {
		var res tierzero.ToolResult
		switch {
		case s.result != nil && isPseudo(s.call.Action):
			res = *s.result // handled by the agent: no proposal
		case s.result != nil:
			res = *s.result
			if err := r.propose(s.call, s.outcome); err != nil {
				return o, err
			}
		case r.toolCalls >= r.a.cfg.MaxCalls:
			over = append(over, s.call)
			res = overLimit
		default:
			var err error
			if res, err = r.runCall(s.call, ""); err != nil {
				return o, err
			}
		}
		r.addResultNamed(s.name, s.call, res)
	}
	if len(over) > 0 {
		o.over = true
		if err := r.refuse(over, r.overRequest(len(over))); err != nil {
			return o, err
		}
	}
	return o, nil
}

// overLimit is the result of a call beyond the limit of one request.
var overLimit = notRun(tierzero.EDenied, "not run: too many tool calls for one request")

func (r *request) overRequest(n int) string {
	return fmt.Sprintf("not run: %d tool call(s) beyond the %d one request may make", n, r.a.cfg.MaxCalls)
}

// refuse records, in one audit record, calls that are not run because of a
// limit: how many, and the tools they named (the first few, shortened).
// Their arguments are not recorded.
func (r *request) refuse(calls []tierzero.ToolCall, outcome string) error {
	const maxNames = 5
	count := map[string]int{}
	var names []string
	for _, c := range calls {
		n := clipBytes(c.Action, maxToolName)
		if _, seen := count[n]; !seen && len(names) < maxNames {
			names = append(names, n)
		}
		count[n]++
	}
	list := make([]string, len(names))
	for i, n := range names {
		list[i] = fmt.Sprintf("%s (%d)", n, count[n])
	}
	tools := strings.Join(list, ", ")
	if more := len(count) - len(names); more > 0 {
		tools += fmt.Sprintf(" and %d other name(s)", more)
	}
	ev := tierzero.AuditEvent{Kind: tierzero.AuditProposed, Outcome: outcome, Facts: map[string]string{
		"refused_calls": strconv.Itoa(len(calls)),
		"tools":         tools,
	}}
	if err := r.audit(r.ctx, ev); err != nil {
		return fmt.Errorf("audit refused calls: %w", err)
	}
	return nil
}

// runCall audits a proposal and hands it to the runner. A Go error means
// the request is in an unknown state.
func (r *request) runCall(c tierzero.ToolCall, outcome string) (tierzero.ToolResult, error) {
	r.toolCalls++
	if err := r.propose(c, outcome); err != nil {
		return tierzero.ToolResult{}, err
	}
	res, err := r.a.cfg.Runner.RunTool(r.ctx, r.tenantOf(c), r.req, r.convID, c)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", c.Action, err)
	}
	if !res.Secret.IsZero() {
		r.reply.Private = append(r.reply.Private, tierzero.PrivateNote{To: r.req, Secret: res.Secret})
	}
	r.note(res)
	info := r.a.byAction[c.Action]
	write := info != nil && info.spec.Write
	r.steps = append(r.steps, step{call: c, write: write, res: res})
	if res.Error == nil {
		collectNames(res.Output, r.names)
	}
	if write {
		what, in, pending := r.what(c), "", "Not done yet"
		if c.Tenant != "" {
			in = "In " + string(c.Tenant) + ", "
			pending = in + "not done yet"
		}
		switch {
		case res.Error == nil:
			r.wrote = true
			r.lines = append(r.lines, in+"I did: "+what+".")
		case res.Error.Code == tierzero.EPending:
			r.lines = append(r.lines, pending+", waiting for approval: "+what+".")
		default:
			r.lines = append(r.lines, in+"I was about to "+what+", but it was not done: "+r.failure(c, res.Error)+".")
		}
	}
	return res, nil
}

func (r *request) addResult(c tierzero.ToolCall, res tierzero.ToolResult) {
	r.addResultNamed(ToolName(c.Action), c, res)
}

func (r *request) addResultNamed(name string, c tierzero.ToolCall, res tierzero.ToolResult) {
	res.CallID, res.Action = c.ID, c.Action
	r.conv.Turns = append(r.conv.Turns, tierzero.Turn{Role: tierzero.TurnTool, ToolCallID: c.ID, Content: toolContent(name, res), Time: r.now()})
}

// compose puts what was done or refused before the answer. Each of those
// lines stays one line, and nothing in the reply is a control character
// (tierzero.Printable).
func (r *request) compose(answer string) string {
	if len(r.lines) == 0 {
		return tierzero.Printable(answer)
	}
	lines := make([]string, len(r.lines))
	for i, l := range r.lines {
		lines[i] = tierzero.PrintableLine(l)
	}
	return strings.Join(lines, "\n") + "\n\n" + tierzero.Printable(answer)
}

// why is the user-safe text of a validation error.
func why(err error) string {
	var e *tierzero.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// storable keeps what the model wrote as valid JSON: text that is not JSON
// becomes a JSON string (the runner then refuses it, not being an object).
func storable(args json.RawMessage) json.RawMessage {
	if json.Valid(args) {
		return args
	}
	q, _ := json.Marshal(string(args))
	return q
}

// propose audits a proposed call and what became of it (outcome: empty
// when it goes to the runner). Its arguments are recorded canonical, its
// tenant when it is not the conversation's.
func (r *request) propose(c tierzero.ToolCall, outcome string) error {
	ev := tierzero.AuditEvent{Kind: tierzero.AuditProposed, Tool: c.Action, CallID: c.ID, Args: auditArgs(c.Args), Outcome: outcome, Facts: r.proposalFacts(c)}
	if err := r.audit(r.ctx, ev); err != nil {
		return fmt.Errorf("audit proposal: %w", err)
	}
	return nil
}

// callFacts names the tenant of a call into another tenant, for the
// proposal's audit record.
func callFacts(c tierzero.ToolCall) map[string]string {
	if c.Tenant == "" {
		return nil
	}
	return map[string]string{"tenant": string(c.Tenant)}
}

// auditArgs returns the canonical arguments, or nil when there are none.
func auditArgs(args json.RawMessage) json.RawMessage {
	if canon, err := tierzero.CanonicalArgs(args); err == nil {
		return canon
	}
	return nil
}

// forModel renames actions in tool calls to model names, and shows a plan
// turn as the text it was.
func forModel(turns []tierzero.Turn) []tierzero.Turn {
	out := make([]tierzero.Turn, len(turns))
	for i, t := range turns {
		switch {
		case t.Role == tierzero.TurnPlan:
			t = tierzero.Turn{Role: tierzero.TurnAssistant, Content: t.Content, Time: t.Time}
		case len(t.ToolCalls) > 0:
			calls := make([]tierzero.ToolCall, len(t.ToolCalls))
			for j, c := range t.ToolCalls {
				c.Action = ToolName(c.Action)
				if c.Tenant != "" {
					c.Args, c.Tenant = joinTenant(c), ""
				}
				calls[j] = c
			}
			t.ToolCalls = calls
		}
		out[i] = t
	}
	return out
}

// maxToolName bounds a tool name taken from a model answer (the API's own
// limit is 64 characters).
const maxToolName = 64

// validCallID reports whether a model's call id may be kept: short, and of
// the characters the APIs use ("call_abc123").
func validCallID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// clipBytes shortens s to at most n bytes, on a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
