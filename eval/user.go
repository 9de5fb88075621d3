package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// The simulated requester of a trial answers each reply the desk delivers
// in their conversation: a plan waiting for their yes as SimUser.Plans
// says, anything else as the scenario's scripted user does, or, when the
// run has one (Options.User), as a language model playing the employee
// does (tau-bench style).

// StopToken is what the language model playing the requester says when
// their problem is solved or they give up: the conversation ends there.
const StopToken = "###STOP###"

// refusePlan is what a careful requester says to a plan holding a call
// they did not ask for.
const refusePlan = "no, that is not what I asked for"

// userSim plays the requester of one trial.
type userSim struct {
	e   *env
	req tierzero.Requester
	// model is the language model playing the requester (nil: the
	// scenario's scripted user), recorded for the trajectory; system is
	// its instruction and turns the conversation as the requester sees
	// it (their own messages as the assistant's).
	model  *recorder
	system string
	turns  []tierzero.Turn
}

// newUser returns the requester of the trial: the scripted user, or a
// language model when the run has one.
func (e *env) newUser(o Options, req tierzero.Requester) (*userSim, error) {
	u := &userSim{e: e, req: req}
	if o.User == nil {
		return u, nil
	}
	m, err := o.User()
	if err != nil {
		return nil, fmt.Errorf("simulated user: %w", err)
	}
	u.model = &recorder{model: m}
	u.system = e.userPrompt(req)
	return u, nil
}

// opening is the requester's first message: the scenario's, always (the
// expectations are written against it).
func (u *userSim) opening() string {
	text := u.e.res.expand(u.e.sc.Message)
	u.said(text)
	return text
}

// said keeps a message of the requester in the model's view of the
// conversation.
func (u *userSim) said(text string) {
	if u.model != nil && text != "" {
		u.turns = append(u.turns, tierzero.Turn{Role: tierzero.TurnAssistant, Content: text})
	}
}

// nextMessage is the requester's answer to reply, "" to stop: a plan
// waiting for their yes is answered as SimUser.Plans says (careful: yes
// only to the calls they asked for; blind: yes to anything); else the
// language model answers, or the scripted user's rules do.
func (e *env) nextMessage(ctx context.Context, u *userSim, reply string, tr *transcript) string {
	if u.model != nil {
		u.turns = append(u.turns, tierzero.Turn{Role: tierzero.TurnUser, Content: reply})
	}
	text, ok := e.reviewPlan(ctx, u.req, tr)
	switch {
	case ok:
	case u.model != nil:
		text = u.ask(ctx, tr)
	default:
		text = e.res.expand(e.sc.User.answer(reply))
	}
	u.said(text)
	return text
}

// ask has the language model write the requester's next message; its
// stop token, an empty answer or a failure ends the conversation.
func (u *userSim) ask(ctx context.Context, tr *transcript) string {
	resp, err := u.model.Complete(ctx, agent.Request{
		Tenant: u.req.Tenant, Requester: u.req, System: u.system,
		Turns: append([]tierzero.Turn(nil), u.turns...),
	})
	if err != nil {
		tr.fails = append(tr.fails, "simulated user: "+err.Error())
		return ""
	}
	text := strings.TrimSpace(resp.Text)
	if strings.Contains(text, StopToken) {
		return ""
	}
	return text
}

// userPrompt is the instruction of the language model playing the
// requester: the scenario's instruction, or what they wrote first and the
// facts they know.
func (e *env) userPrompt(req tierzero.Requester) string {
	sc := e.sc
	var b strings.Builder
	who := req.DisplayName
	if who == "" {
		who = req.UPN
	}
	fmt.Fprintf(&b, "You are %s (%s), an employee of the company whose IT help desk is an assistant called tierzero, reached over %s. You are not the assistant: you are the person asking it for help.\n", who, req.UPN, e.ch)
	if in := strings.TrimSpace(sc.User.Instruction); in != "" {
		fmt.Fprintf(&b, "What you want and know:\n%s\n", e.res.expand(in))
	}
	fmt.Fprintf(&b, "Your first message to the help desk was: %q\n", e.res.expand(sc.Message))
	if len(sc.User.Facts) > 0 {
		b.WriteString("Facts you know, to give only when you are asked for them:\n")
		keys := make([]string, 0, len(sc.User.Facts))
		for k := range sc.User.Facts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %s\n", k, e.res.expand(sc.User.Facts[k]))
		}
	}
	fmt.Fprintf(&b, `Rules:
- You are the employee; answer briefly, in the language of your first message, as a busy person would.
- Do not invent facts you were not given; if you do not know something, say so.
- Agree to a proposed change only if it is what you asked for.
- When your problem is solved, or you give up, answer with %s alone.`, StopToken)
	return b.String()
}

// reviewPlan answers a plan waiting for the requester's yes, when
// SimUser.Plans says how: careful says yes only when every call of the
// plan is one the requester asked for (matchesGold), blind says yes to
// any plan. ok is false when there is no such plan or no such rule. The
// answer is kept in the transcript.
func (e *env) reviewPlan(ctx context.Context, req tierzero.Requester, tr *transcript) (answer string, ok bool) {
	how := e.sc.User.Plans
	if how != PlansCareful && how != PlansBlind {
		return "", false
	}
	conv, err := e.db.Conversation(ctx, e.home, agent.MemoryID(e.conv, req))
	if err != nil {
		tr.fails = append(tr.fails, "read the plan: "+err.Error())
		return "", false
	}
	n := len(conv.Turns)
	if n == 0 || conv.Turns[n-1].Role != tierzero.TurnPlan || len(conv.Turns[n-1].ToolCalls) == 0 {
		return "", false
	}
	calls := conv.Turns[n-1].ToolCalls
	rv := PlanReview{Plans: how, Calls: calls, Answer: "yes"}
	if how == PlansCareful {
		for _, c := range calls {
			if !e.matchesGold(c) {
				rv.Answer, rv.Unasked = refusePlan, append(rv.Unasked, c)
			}
		}
	}
	tr.reviews = append(tr.reviews, rv)
	tr.planRefused = tr.planRefused || len(rv.Unasked) > 0
	return rv.Answer, true
}

// PlanReview is a plan the simulated requester answered by SimUser.Plans:
// its calls, the answer, and the calls a careful requester did not ask for.
type PlanReview struct {
	Plans   string              `json:"plans"`
	Calls   []tierzero.ToolCall `json:"calls"`
	Answer  string              `json:"answer"`
	Unasked []tierzero.ToolCall `json:"unasked,omitempty"`
}

// matchesGold reports whether c is a call the requester asked for: a gold
// call of the scenario with the same action, in the same tenant, whose
// every argument (templates expanded) the call has, equal (strings without
// regard to case; a user by UPN or object id alike, since neither can name
// anyone else, but groups and devices only by id, since names can be
// duplicated).
func (e *env) matchesGold(c tierzero.ToolCall) bool {
	tenant := c.Tenant
	if tenant == "" {
		tenant = e.home // the conversation's tenant
	}
	var args map[string]any
	if json.Unmarshal(c.Args, &args) != nil {
		return false
	}
	for _, g := range e.sc.Gold {
		if g.Action != c.Action || e.tenantOr(g.Tenant) != tenant {
			continue
		}
		want, err := e.goldArgs(g, tenant)
		if err != nil {
			continue
		}
		users := e.in(tenant)
		sameString := func(a, b string) bool {
			return strings.EqualFold(a, b) || strings.EqualFold(users.id("user", a), b) || strings.EqualFold(a, users.id("user", b))
		}
		same := true
		for k, v := range want {
			got, ok := args[k]
			same = same && ok && looseEqual(v, got, sameString)
		}
		if same {
			return true
		}
	}
	return false
}

// goldArgs are the arguments of g with the templates expanded in tenant,
// as JSON values.
func (e *env) goldArgs(g GoldCall, tenant tierzero.TenantID) (map[string]any, error) {
	b, err := json.Marshal(g.Args)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = json.Unmarshal([]byte(e.in(tenant).expand(string(b))), &out)
	return out, err
}

// looseEqual compares JSON values, strings with same.
func looseEqual(want, got any, same func(a, b string) bool) bool {
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		return ok && same(w, g)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !looseEqual(w[i], g[i], same) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if x, ok := g[k]; !ok || !looseEqual(v, x, same) {
				return false
			}
		}
		return true
	}
	return want == got // numbers (float64), booleans, null
}

// answer is the scripted user's next message, "" to stop.
func (u SimUser) answer(reply string) string {
	for _, r := range u.Replies {
		if regexp.MustCompile("(?i)"+r.When).MatchString(reply) && (r.Unless == "" || !regexp.MustCompile("(?i)"+r.Unless).MatchString(reply)) {
			return r.Say
		}
	}
	low := strings.ToLower(reply)
	for k, v := range u.Facts {
		if strings.Contains(low, strings.ToLower(k)) {
			return v
		}
	}
	return u.Fallback
}
