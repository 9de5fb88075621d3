package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
	"github.com/tierzero/tierzero/graph/sim"
)

// A live evaluation is only worth what can be checked afterwards: with
// Options.Out, every trial writes its whole trajectory (what the model was
// sent and answered, what the requester said and was told, every decision
// and its result, the approvals, every tenant's Graph journal, the result),
// and WriteRunInfo writes what the run was (model, endpoint, prompt
// version, date, commit). Secrets delivered in the trial are redacted from
// the files.

// recorder wraps a model of a trial: it keeps every request it was sent
// (for the leak checks) and every exchange (for the trajectory). When the
// model reports no prompt tokens (the scripted, offline and adversarial
// models report none), the recorder puts an estimate in the answer's usage
// (estimatePromptTokens), so that the agent's count, and the result's,
// holds the cost the request would have had with an LLM; the trajectory
// marks it estimated.
type recorder struct {
	model agent.Model
	mu    sync.Mutex
	calls []Exchange
}

// Exchange is one call to a model: the request as sent, the response or
// the error, when it began and how long it took.
type Exchange struct {
	Time       time.Time       `json:"time"`
	DurationMs int64           `json:"durationMs"`
	Request    json.RawMessage `json:"request"`
	Response   *ModelAnswer    `json:"response,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// ModelAnswer is a model's response as the trajectory keeps it.
type ModelAnswer struct {
	Text             string              `json:"text,omitempty"`
	ToolCalls        []tierzero.ToolCall `json:"toolCalls,omitempty"`
	PromptTokens     int                 `json:"promptTokens"`
	CompletionTokens int                 `json:"completionTokens"`
	// PromptTokensEstimated: the model reported no usage, and
	// PromptTokens is the recorder's estimate.
	PromptTokensEstimated bool `json:"promptTokensEstimated,omitempty"`
}

func (r *recorder) Complete(ctx context.Context, req agent.Request) (agent.Response, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return agent.Response{}, fmt.Errorf("record model request: %w", err)
	}
	x := Exchange{Time: time.Now(), Request: json.RawMessage(bytes.TrimSpace(b.Bytes()))}
	resp, err := r.model.Complete(ctx, req)
	x.DurationMs = time.Since(x.Time).Milliseconds()
	if err != nil {
		x.Error = err.Error()
	} else {
		estimated := false
		if resp.Usage.PromptTokens == 0 {
			if n, err := estimatePromptTokens(ctx, req); err == nil {
				resp.Usage.PromptTokens, estimated = n, true
			}
		}
		x.Response = &ModelAnswer{Text: resp.Text, ToolCalls: resp.ToolCalls,
			PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens,
			PromptTokensEstimated: estimated}
	}
	r.mu.Lock()
	r.calls = append(r.calls, x)
	r.mu.Unlock()
	return resp, err
}

// estimatePromptTokens estimates the prompt tokens of req as an
// OpenAI-compatible endpoint would count them: the request is built by the
// real adapter (agent/openai, so the same messages are sent and the same
// are left out, with the tools in their wire form) and sent to a transport
// that answers it itself, counting about 4 characters a token of each
// message's text and tool calls, plus 4 for the message's framing, and of
// the tool definitions as compact JSON. JSON escaping is not counted: a
// tokenizer reads the text, not the wire. It errs on the large side for
// prose, as the agent's own memory budget does.
func estimatePromptTokens(ctx context.Context, req agent.Request) (int, error) {
	m, err := openai.New(openai.Config{
		BaseURL: "http://127.0.0.1/v1", Model: openai.DefaultModel, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: tokenCounter{}},
	})
	if err != nil {
		return 0, err
	}
	resp, err := m.Complete(ctx, req)
	if err != nil {
		return 0, err
	}
	return resp.Usage.PromptTokens, nil
}

// tokenCounter is a chat completions endpoint in a RoundTripper: it answers
// every request with an empty message whose usage is the estimate of the
// request's prompt tokens.
type tokenCounter struct{}

// Sizes of the estimate.
const (
	charsPerToken   = 4
	messageOverhead = 4 // role and framing of one message or tool call
)

func (tokenCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	var body struct {
		Messages []struct {
			Role      string `json:"role"`
			Content   string `json:"content"`
			ToolCalls []struct {
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
		Tools json.RawMessage `json:"tools"`
	}
	raw, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		return nil, fmt.Errorf("count tokens: %w", err)
	}
	tokens := func(s string) int { return (utf8.RuneCountInString(s) + charsPerToken - 1) / charsPerToken }
	n := 0
	for _, m := range body.Messages {
		n += messageOverhead + tokens(m.Content)
		for _, c := range m.ToolCalls {
			n += messageOverhead + tokens(c.Function.Name) + tokens(c.Function.Arguments)
		}
	}
	if len(body.Tools) > 0 {
		var tools bytes.Buffer
		if err := json.Compact(&tools, body.Tools); err != nil {
			return nil, fmt.Errorf("count tokens: %w", err)
		}
		n += tokens(tools.String())
	}
	answer := fmt.Sprintf(`{"id":"estimate","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":0,"total_tokens":%d}}`, n, n)
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(answer)),
		ContentLength: int64(len(answer)), Request: r}, nil
}

// requests returns every request the model was sent, as JSON.
func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.calls))
	for i, x := range r.calls {
		out[i] = string(x.Request)
	}
	return out
}

// exchanges returns the calls made so far; nil for no recorder.
func (r *recorder) exchanges() []Exchange {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Trajectory is everything one trial did, as written under Options.Out.
type Trajectory struct {
	Scenario  string              `json:"scenario"`
	Trial     int                 `json:"trial"`
	Mode      Mode                `json:"mode"`
	Tenant    tierzero.TenantID   `json:"tenant"`
	Home      tierzero.TenantID   `json:"home,omitempty"` // the conversation's tenant, when not Tenant
	Channel   tierzero.Channel    `json:"channel,omitempty"`
	Requester *tierzero.Requester `json:"requester,omitempty"` // as the desk identified them
	// Conversation is what the requester said and the replies to each,
	// in order; Replies, everything the desk delivered in their
	// conversation (the outcomes of approvals too); Private, what was
	// delivered privately (never the secret itself).
	Conversation []Line            `json:"conversation,omitempty"`
	Replies      []string          `json:"replies,omitempty"`
	Private      []PrivateDelivery `json:"private,omitempty"`
	PlanReviews  []PlanReview      `json:"planReviews,omitempty"`
	// Model are the agent's model calls; UserModel, the calls of the
	// language model playing the requester.
	Model     []Exchange `json:"model"`
	UserModel []Exchange `json:"userModel,omitempty"`
	// Calls are the tool calls as the guard decided and ran them, from the
	// audit trails; Audit, every record of the conversation's tenant and
	// of every client tenant, by tenant.
	Calls        []Call                                      `json:"calls"`
	Audit        map[tierzero.TenantID][]tierzero.AuditEvent `json:"audit"`
	Approvals    []tierzero.Approval                         `json:"approvals,omitempty"`
	ApproverView string                                      `json:"approverView,omitempty"`
	// Journal is every request that reached Graph, by tenant.
	Journal map[tierzero.TenantID][]sim.JournalEntry `json:"journal"`
	Log     string                                   `json:"log,omitempty"` // the pipeline's debug log
	Result  Result                                   `json:"result"`
}

// Line is one message of the conversation: From "requester" or "tierzero".
type Line struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// PrivateDelivery is a secret delivered privately: to whom and what it
// was, never its value.
type PrivateDelivery struct {
	To    string `json:"to"`
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
}

// Call is a tool call as the guard decided it (the "decided" record of the
// tenant it was for) and, when it ran, its result (the "executed" record).
type Call struct {
	Tenant  tierzero.TenantID `json:"tenant"`
	CallID  string            `json:"callId,omitempty"`
	Tool    string            `json:"tool"`
	Args    json.RawMessage   `json:"args,omitempty"`
	Effect  tierzero.Effect   `json:"effect"`
	Rule    string            `json:"rule,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Outcome string            `json:"outcome,omitempty"` // ok or failed, when it ran
	Output  json.RawMessage   `json:"output,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// writeTrajectory writes the trial's trajectory to
// Out/<scenario>/<trial>.json, while its store is still open. e, u and req
// are what the trial got to (e nil when it could not be set up).
func writeTrajectory(ctx context.Context, o Options, e *env, u *userSim, req tierzero.Requester, tr *transcript, r Result) error {
	t := Trajectory{Scenario: r.Scenario, Trial: r.Trial, Mode: o.Mode, Conversation: tr.talk, Replies: tr.replies,
		PlanReviews: tr.reviews, Result: r}
	var secrets []string
	secrets = append(secrets, tr.secrets...)
	if e != nil {
		t.Tenant, t.Channel = e.tenant, e.ch
		if e.home != e.tenant {
			t.Home = e.home
		}
		if req.UPN != "" {
			t.Requester = &req
		}
		if e.model != nil {
			t.Model = e.model.exchanges()
		}
		if u != nil {
			t.UserModel = u.model.exchanges()
		}
		if e.channel != nil {
			for _, d := range e.channel.since(0) {
				if d.note != nil {
					secrets = append(secrets, d.note.Secret.Reveal())
					t.Private = append(t.Private, PrivateDelivery{To: d.note.To.UPN, Kind: d.note.Secret.Kind, Label: d.note.Secret.Label})
				}
			}
		}
		if err := e.evidence(ctx, &t); err != nil {
			return err
		}
		t.ApproverView = e.view.String()
		t.Log = e.logs.String()
	}
	if t.Model == nil {
		t.Model = []Exchange{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return writeFile(trajectoryPath(o.Out, r.Scenario, r.Trial), redact(b.Bytes(), secrets))
}

// trajectoryPath is where a trial's trajectory is written.
func trajectoryPath(dir, scenario string, trial int) string {
	return filepath.Join(dir, scenario, fmt.Sprintf("%d.json", trial))
}

// evidence adds to t the audit of the conversation's tenant and of every
// client, the calls as decided and run, the approvals and the journals.
func (e *env) evidence(ctx context.Context, t *Trajectory) error {
	t.Audit = map[tierzero.TenantID][]tierzero.AuditEvent{}
	t.Journal = map[tierzero.TenantID][]sim.JournalEntry{}
	t.Calls = []Call{}
	for _, tenant := range e.audited() {
		var evs []tierzero.AuditEvent
		err := e.db.Audit(ctx, tenant, time.Time{}, func(ev tierzero.AuditEvent) error {
			evs = append(evs, ev)
			return nil
		})
		if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound { // no data: nothing audited
			return fmt.Errorf("read the audit of %s: %w", tenant, err)
		}
		if len(evs) > 0 {
			t.Audit[tenant] = evs
		}
		t.Calls = append(t.Calls, calls(tenant, evs)...)
		as, err := e.db.ListApprovals(ctx, tenant, "")
		if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
			return fmt.Errorf("list the approvals of %s: %w", tenant, err)
		}
		t.Approvals = append(t.Approvals, as...)
	}
	for _, c := range e.clients {
		if j := e.journal(c); len(j) > 0 {
			t.Journal[c] = j
		}
	}
	return nil
}

// calls pairs each "decided" record of a tenant's audit with the
// "executed" record of the same call that follows it.
func calls(tenant tierzero.TenantID, evs []tierzero.AuditEvent) []Call {
	var out []Call
	open := map[string]int{} // call id -> index in out, until executed
	for _, ev := range evs {
		switch ev.Kind {
		case tierzero.AuditDecided:
			out = append(out, Call{Tenant: tenant, CallID: ev.CallID, Tool: ev.Tool, Args: ev.Args,
				Effect: ev.Effect, Rule: ev.Rule, Reason: ev.Reason})
			if ev.CallID != "" {
				open[ev.CallID] = len(out) - 1
			}
		case tierzero.AuditExecuted:
			i, ok := open[ev.CallID]
			if !ok || ev.CallID == "" {
				continue
			}
			delete(open, ev.CallID)
			out[i].Outcome, out[i].Output, out[i].Error = ev.Outcome, ev.Output, ev.Error
		}
	}
	return out
}

// redact replaces every secret (as written, and as JSON escapes it) in b.
func redact(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		if len(s) < 4 {
			continue // too short to find safely; secrets are longer
		}
		forms := []string{s}
		if q, err := json.Marshal(s); err == nil {
			if esc := string(q[1 : len(q)-1]); esc != s {
				forms = append(forms, esc)
			}
		}
		for _, f := range forms {
			b = bytes.ReplaceAll(b, []byte(f), []byte("[secret redacted]"))
		}
	}
	return b
}

// writeFile writes b to path, making its directory, through a temporary
// file so that a reader never sees half of it.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// RunInfo is what a run was, written as Out/run.json: enough to compare
// two runs and to know whether the code or the prompt changed between them.
type RunInfo struct {
	Mode Mode `json:"mode"`
	// Model names the agent's model ("offline" for the rules model), and
	// Endpoint the kind of its endpoint: openai, azure, openai-compatible
	// (Ollama, vLLM, a proxy), or the mode's own (offline, scripted,
	// adversarial, none for the oracle).
	Model    string `json:"model"`
	Endpoint string `json:"endpoint"`
	// User is who plays the requester: "scripted", or the language model
	// that does.
	User string `json:"user"`
	// Price is the agent model's price, when known.
	Price         *Price    `json:"price,omitempty"`
	PromptVersion string    `json:"promptVersion"`
	Date          time.Time `json:"date"`
	// Commit is the source revision: the binary's, else the checkout's,
	// else "unknown".
	Commit    string `json:"commit"`
	Trials    int    `json:"trials"`
	Scenarios int    `json:"scenarios"`
}

// NewRunInfo describes a run of scenarios with o at now; model, endpoint
// and user name the models the caller configured ("" for the mode's own).
func NewRunInfo(scenarios []Scenario, o Options, now time.Time, model, endpoint, user string) RunInfo {
	ri := RunInfo{Mode: o.Mode, Model: model, Endpoint: endpoint, User: user, Price: o.Price,
		PromptVersion: agent.PromptVersion, Date: now.UTC(), Commit: Commit(), Trials: max(o.Trials, 1), Scenarios: len(scenarios)}
	if ri.Model == "" || ri.Endpoint == "" {
		m, ep := string(o.Mode), string(o.Mode)
		switch o.Mode {
		case ModeOffline, ModeAdversarial:
			m = "offline" // the adversary hands the task to the rules model
		case ModeScripted:
			m = "scripted"
		case ModeOracle:
			m, ep = "none", "none"
		}
		if ri.Model == "" {
			ri.Model = m
		}
		if ri.Endpoint == "" {
			ri.Endpoint = ep
		}
	}
	if ri.User == "" {
		ri.User = "scripted"
	}
	return ri
}

// WriteRunInfo writes ri as dir/run.json, making dir.
func WriteRunInfo(dir string, ri RunInfo) error {
	b, err := json.MarshalIndent(ri, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "run.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("write run info: %w", err)
	}
	return nil
}

// Commit is the source revision of this program: the one its build
// recorded (with "-dirty" for uncommitted changes), else that of the git
// checkout it runs in, else "unknown".
func Commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	if rev, err := gitHead(); err == nil {
		return rev
	}
	return "unknown"
}

// gitHead is the commit of the git checkout of the working directory.
func gitHead() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", err
	}
	rev := strings.TrimSpace(string(out))
	if rev == "" {
		return "", errors.New("git rev-parse: no revision")
	}
	return rev, nil
}
