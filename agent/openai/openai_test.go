package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
)

const testKey = "sk-test-5ecret-K3y-do-not-leak"

// The wire format of POST /v1/chat/completions, as the fake server decodes
// it: deliberately not go-openai's types.
type wireRequest struct {
	Model       string          `json:"model"`
	Messages    []wireMessage   `json:"messages"`
	Temperature *float64        `json:"temperature"`
	Tools       []wireTool      `json:"tools"`
	ToolChoice  json.RawMessage `json:"tool_choice"`
	Stream      bool            `json:"stream"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
}

type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// reply is one canned HTTP response of the fake API.
type reply struct {
	status int
	header map[string]string
	body   string
	hang   bool // block until the client gives up
}

// fakeAPI speaks the OpenAI chat completions protocol. It answers with
// replies in order, repeating the last one.
type fakeAPI struct {
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	reqs    []wireRequest
	auth    []string
}

func newFakeAPI(t *testing.T, replies ...reply) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{t: t, replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"message":"Unknown request URL","type":"invalid_request_error","param":null,"code":"unknown_url"}}`))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var req wireRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("decode request: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	rep := f.replies[min(len(f.reqs)-1, len(f.replies)-1)]
	f.mu.Unlock()

	if rep.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	w.Write([]byte(rep.body))
}

func (f *fakeAPI) requests() []wireRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wireRequest(nil), f.reqs...)
}

// sleeper records the waits asked of it without waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) slept() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func newModel(t *testing.T, srv *httptest.Server, edit func(*openai.Config)) (*openai.Model, *sleeper) {
	t.Helper()
	s := &sleeper{}
	cfg := openai.Config{
		BaseURL:    srv.URL + "/v1",
		APIKey:     testKey,
		Model:      "gpt-4o-mini",
		HTTPClient: srv.Client(),
		Sleep:      s.Sleep,
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := openai.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, s
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func apiError(message, typ, code string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": typ, "param": nil, "code": code,
	}})
	return string(b)
}

var resetTool = agent.Tool{
	Name:        "user_reset_password",
	Description: "Reset a user's password and send a temporary one privately.",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"user":{"type":"string"},"notify":{"type":"boolean"}},"required":["user"]}`),
}

var lookupTool = agent.Tool{
	Name:        "user_get",
	Description: "Look up a user.",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"user":{"type":"string"}},"required":["user"]}`),
}

func TestCompleteToolCall(t *testing.T) {
	api, srv := newFakeAPI(t, reply{status: 200, body: testdata(t, "chat_tool_call.json")})
	m, _ := newModel(t, srv, nil)

	got, err := m.Complete(context.Background(), agent.Request{
		Tenant: "contoso",
		System: "You are tierzero, the IT engineer of Contoso.",
		Turns: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "Please reset Alice's password."},
		},
		Tools: []agent.Tool{resetTool, lookupTool},
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	// What went over the wire.
	reqs := api.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	req := reqs[0]
	if got, want := api.auth[0], "Bearer "+testKey; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if req.Model != "gpt-4o-mini" {
		t.Errorf("model = %q, want gpt-4o-mini", req.Model)
	}
	if req.Temperature == nil || *req.Temperature <= 0 {
		t.Errorf("temperature = %v, want > 0", req.Temperature)
	}
	if req.Stream {
		t.Errorf("stream = true, want false")
	}
	if len(req.Messages) != 2 {
		t.Fatalf("messages = %d, want 2", len(req.Messages))
	}
	if m := req.Messages[0]; m.Role != "system" || m.Content == nil || *m.Content != "You are tierzero, the IT engineer of Contoso." {
		t.Errorf("messages[0] = %+v, want the system prompt", m)
	}
	if m := req.Messages[1]; m.Role != "user" || m.Content == nil || *m.Content != "Please reset Alice's password." {
		t.Errorf("messages[1] = %+v, want the user turn", m)
	}
	if string(req.ToolChoice) != `"auto"` {
		t.Errorf("tool_choice = %s, want \"auto\"", req.ToolChoice)
	}
	if len(req.Tools) != 2 {
		t.Fatalf("tools = %d, want 2", len(req.Tools))
	}
	for i, want := range []agent.Tool{resetTool, lookupTool} {
		got := req.Tools[i]
		if got.Type != "function" || got.Function.Name != want.Name || got.Function.Description != want.Description {
			t.Errorf("tools[%d] = %+v, want function %s", i, got, want.Name)
		}
		if !jsonEqual(t, got.Function.Parameters, want.Parameters) {
			t.Errorf("tools[%d].parameters = %s, want %s", i, got.Function.Parameters, want.Parameters)
		}
	}

	// What came back.
	if got.Text != "" {
		t.Errorf("Text = %q, want empty", got.Text)
	}
	if len(got.ToolCalls) != 1 {
		t.Fatalf("ToolCalls = %d, want 1", len(got.ToolCalls))
	}
	call := got.ToolCalls[0]
	if call.ID != "call_q2Jm8YbN0dA1" || call.Action != "user_reset_password" {
		t.Errorf("call = %+v, want id call_q2Jm8YbN0dA1, action user_reset_password", call)
	}
	if !jsonEqual(t, call.Args, json.RawMessage(`{"user":"alice@contoso.com","notify":true}`)) {
		t.Errorf("args = %s", call.Args)
	}
	if got, want := got.Usage, (agent.Usage{PromptTokens: 412, CompletionTokens: 23}); got != want {
		t.Errorf("Usage = %+v, want %+v", got, want)
	}
}

func TestCompleteEncodesConversation(t *testing.T) {
	api, srv := newFakeAPI(t, reply{status: 200, body: testdata(t, "chat_text.json")})
	m, _ := newModel(t, srv, nil)

	got, err := m.Complete(context.Background(), agent.Request{
		System: "sys",
		Turns: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "Reset Alice's password."},
			{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{
				{ID: "call_1", Action: "user_reset_password", Args: json.RawMessage(`{"user":"alice@contoso.com"}`)},
				{ID: "call_2", Action: "user_get"}, // no args: sent as {}
			}},
			{Role: tierzero.TurnTool, ToolCallID: "call_1", Content: `{"status":"reset"}`},
			{Role: tierzero.TurnTool, ToolCallID: "call_2", Content: `{"upn":"alice@contoso.com"}`},
		},
		Tools: []agent.Tool{resetTool, lookupTool},
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if want := "Alice's password was reset; she will receive the temporary password privately."; got.Text != want {
		t.Errorf("Text = %q, want %q", got.Text, want)
	}
	if len(got.ToolCalls) != 0 {
		t.Errorf("ToolCalls = %+v, want none", got.ToolCalls)
	}
	if got, want := got.Usage, (agent.Usage{PromptTokens: 501, CompletionTokens: 17}); got != want {
		t.Errorf("Usage = %+v, want %+v", got, want)
	}

	msgs := api.requests()[0].Messages
	if len(msgs) != 5 {
		t.Fatalf("messages = %d, want 5", len(msgs))
	}
	a := msgs[2]
	if a.Role != "assistant" || len(a.ToolCalls) != 2 {
		t.Fatalf("messages[2] = %+v, want an assistant message with 2 tool calls", a)
	}
	if a.Content != nil && *a.Content != "" {
		t.Errorf("assistant content = %q, want empty", *a.Content)
	}
	for i, want := range []struct{ id, name, args string }{
		{"call_1", "user_reset_password", `{"user":"alice@contoso.com"}`},
		{"call_2", "user_get", `{}`},
	} {
		c := a.ToolCalls[i]
		if c.ID != want.id || c.Type != "function" || c.Function.Name != want.name || c.Function.Arguments != want.args {
			t.Errorf("tool_calls[%d] = %+v, want %+v", i, c, want)
		}
	}
	for i, want := range []struct{ id, content string }{
		{"call_1", `{"status":"reset"}`},
		{"call_2", `{"upn":"alice@contoso.com"}`},
	} {
		tm := msgs[3+i]
		if tm.Role != "tool" || tm.ToolCallID != want.id || tm.Content == nil || *tm.Content != want.content {
			t.Errorf("messages[%d] = %+v, want role tool, tool_call_id %s, content %s", 3+i, tm, want.id, want.content)
		}
	}
}

func TestCompleteArgumentsKeptAsSent(t *testing.T) {
	body := `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"","tool_calls":[
		{"id":"c1","type":"function","function":{"name":"user_get","arguments":"{\"user\": \"bob"}},
		{"id":"c2","type":"function","function":{"name":"user_get","arguments":""}}]}}],
		"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`
	_, srv := newFakeAPI(t, reply{status: 200, body: body})
	m, _ := newModel(t, srv, nil)
	got, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if len(got.ToolCalls) != 2 {
		t.Fatalf("ToolCalls = %d, want 2", len(got.ToolCalls))
	}
	if got, want := string(got.ToolCalls[0].Args), `{"user": "bob`; got != want {
		t.Errorf("invalid args = %q, want kept as %q", got, want)
	}
	if got, want := string(got.ToolCalls[1].Args), `{}`; got != want {
		t.Errorf("empty args = %q, want %q", got, want)
	}
}

func TestCompleteNoChoices(t *testing.T) {
	_, srv := newFakeAPI(t, reply{status: 200, body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[],"usage":{}}`})
	m, _ := newModel(t, srv, nil)
	_, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if err == nil {
		t.Fatal("Complete: no error, want one")
	}
	if got := tierzero.ErrorCode(err); got != tierzero.EUnavailable {
		t.Errorf("code = %q, want %q", got, tierzero.EUnavailable)
	}
}

func TestRetryAfter429(t *testing.T) {
	api, srv := newFakeAPI(t,
		reply{status: 429, header: map[string]string{"Retry-After": "1"},
			body: apiError("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded")},
		reply{status: 200, body: testdata(t, "chat_text.json")},
	)
	m, s := newModel(t, srv, nil)
	if _, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := len(api.requests()); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	waits := s.slept()
	if len(waits) != 1 || waits[0] < time.Second {
		t.Errorf("waits = %v, want one of at least 1s", waits)
	}
	// The retried request is the same request.
	if reqs := api.requests(); len(reqs) == 2 && len(reqs[1].Messages) != 1 {
		t.Errorf("retried request has %d messages, want 1", len(reqs[1].Messages))
	}
}

func TestRetry5xx(t *testing.T) {
	api, srv := newFakeAPI(t,
		reply{status: 500, body: apiError("The server had an error while processing your request.", "server_error", "")},
		reply{status: 502, body: `<html>Bad Gateway</html>`},
		reply{status: 200, body: testdata(t, "chat_tool_call.json")},
	)
	m, s := newModel(t, srv, nil)
	got, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if len(got.ToolCalls) != 1 {
		t.Errorf("ToolCalls = %d, want 1", len(got.ToolCalls))
	}
	if got := len(api.requests()); got != 3 {
		t.Errorf("requests = %d, want 3", got)
	}
	waits := s.slept()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want 2", waits)
	}
	for i, w := range waits {
		if w <= 0 {
			t.Errorf("wait %d = %v, want > 0", i, w)
		}
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
	}{
		{"bad request", 400, tierzero.EInvalid},
		{"unauthorized", 401, tierzero.EUnauthorized},
		{"forbidden", 403, tierzero.EUnauthorized},
		{"not found", 404, tierzero.EInvalid},
		{"unprocessable", 422, tierzero.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, srv := newFakeAPI(t,
				reply{status: tt.status, body: apiError("Invalid schema for function 'user_get'", "invalid_request_error", "invalid_value")},
				reply{status: 200, body: testdata(t, "chat_text.json")},
			)
			m, s := newModel(t, srv, nil)
			_, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
			if err == nil {
				t.Fatal("Complete: no error, want one")
			}
			if got := len(api.requests()); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
			if got := len(s.slept()); got != 0 {
				t.Errorf("waits = %d, want 0", got)
			}
			if got := tierzero.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if !strings.HasPrefix(err.Error(), "chat completion: ") {
				t.Errorf("error = %q, want the chat completion label", err)
			}
		})
	}
}

func TestGiveUpAfterMaxRetries(t *testing.T) {
	tests := []struct {
		name       string
		maxRetries int
		attempts   int
	}{
		{"default", 0, openai.DefaultMaxRetries + 1},
		{"one", 1, 2},
		{"disabled", -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, srv := newFakeAPI(t, reply{status: 503, body: apiError("The engine is currently overloaded, please try again later.", "server_error", "")})
			m, s := newModel(t, srv, func(c *openai.Config) { c.MaxRetries = tt.maxRetries })
			_, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
			if err == nil {
				t.Fatal("Complete: no error, want one")
			}
			if got := len(api.requests()); got != tt.attempts {
				t.Errorf("requests = %d, want %d", got, tt.attempts)
			}
			if got := len(s.slept()); got != tt.attempts-1 {
				t.Errorf("waits = %d, want %d", got, tt.attempts-1)
			}
			if got := tierzero.ErrorCode(err); got != tierzero.EUnavailable {
				t.Errorf("code = %q, want %q (%v)", got, tierzero.EUnavailable, err)
			}
		})
	}
}

func TestRetryAfterTooLongNotRetried(t *testing.T) {
	api, srv := newFakeAPI(t, reply{status: 429, header: map[string]string{"Retry-After": "3600"},
		body: apiError("You exceeded your current quota", "insufficient_quota", "insufficient_quota")})
	m, _ := newModel(t, srv, nil)
	_, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if got := tierzero.ErrorCode(err); got != tierzero.EUnavailable {
		t.Errorf("code = %q, want %q (%v)", got, tierzero.EUnavailable, err)
	}
	if got := len(api.requests()); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	api, srv := newFakeAPI(t,
		reply{hang: true},
		reply{status: 200, body: testdata(t, "chat_text.json")},
	)
	m, s := newModel(t, srv, func(c *openai.Config) { c.Timeout = 100 * time.Millisecond })
	if _, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := len(api.requests()); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	if got := len(s.slept()); got != 1 {
		t.Errorf("waits = %d, want 1", got)
	}
}

func TestUnreachable(t *testing.T) {
	_, srv := newFakeAPI(t, reply{status: 200})
	m, s := newModel(t, srv, func(c *openai.Config) { c.MaxRetries = 2 })
	srv.Close()
	_, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if got := tierzero.ErrorCode(err); got != tierzero.EUnavailable {
		t.Errorf("code = %q, want %q (%v)", got, tierzero.EUnavailable, err)
	}
	if got := len(s.slept()); got != 2 {
		t.Errorf("waits = %d, want 2", got)
	}
}

func TestContextCanceled(t *testing.T) {
	api, srv := newFakeAPI(t, reply{status: 503, body: apiError("overloaded", "server_error", "")})
	ctx, cancel := context.WithCancel(context.Background())
	m, _ := newModel(t, srv, func(c *openai.Config) {
		c.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	})
	_, err := m.Complete(ctx, agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if got := len(api.requests()); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestAPIKeyNotInErrors(t *testing.T) {
	echo := "Incorrect API key provided: " + testKey + ". You can find your API key at https://platform.openai.com/account/api-keys."
	tests := []struct {
		name  string
		reply reply
		code  string
	}{
		{"401 echoing the key", reply{status: 401, body: apiError(echo, "invalid_request_error", "invalid_api_key")}, tierzero.EUnauthorized},
		{"400 echoing the key", reply{status: 400, body: apiError(echo, "invalid_request_error", "")}, tierzero.EInvalid},
		{"503 echoing the key", reply{status: 503, body: apiError(echo, "server_error", "")}, tierzero.EUnavailable},
		{"non-JSON 500 echoing the key", reply{status: 500, body: "upstream said: Bearer " + testKey}, tierzero.EUnavailable},
		{"garbage 200 echoing the key", reply{status: 200, body: "not json " + testKey}, tierzero.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFakeAPI(t, tt.reply)
			m, _ := newModel(t, srv, nil)
			_, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
			if err == nil {
				t.Fatal("Complete: no error, want one")
			}
			if got := tierzero.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
			for _, s := range []string{err.Error(), tierzero.ErrorMessage(err)} {
				if strings.Contains(s, testKey) {
					t.Errorf("error text contains the API key: %q", s)
				}
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), testKey) {
					t.Errorf("wrapped error contains the API key: %q", e)
				}
			}
		})
	}
}

func TestReasoningModelOmitsTemperature(t *testing.T) {
	api, srv := newFakeAPI(t, reply{status: 200, body: testdata(t, "chat_text.json")})
	m, _ := newModel(t, srv, func(c *openai.Config) { c.Model = "o3-mini" })
	if _, err := m.Complete(context.Background(), agent.Request{
		Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}},
		Tools: []agent.Tool{lookupTool},
	}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if tmp := api.requests()[0].Temperature; tmp != nil {
		t.Errorf("temperature = %v, want omitted", *tmp)
	}
}

func TestLocalServerWithoutKey(t *testing.T) {
	api, srv := newFakeAPI(t, reply{status: 200, body: testdata(t, "chat_text.json")})
	m, _ := newModel(t, srv, func(c *openai.Config) { c.APIKey = ""; c.Model = "llama3.1" })
	if _, err := m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := api.auth[0]; !strings.HasPrefix(got, "Bearer ") || got == "Bearer " {
		t.Errorf("Authorization = %q, want a placeholder bearer token", got)
	}
	if got := api.requests()[0].Model; got != "llama3.1" {
		t.Errorf("model = %q, want llama3.1", got)
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want openai.Config
		ok   bool
	}{
		{"nothing set", nil, openai.Config{}, false},
		{"only model", map[string]string{"TIERZERO_LLM_MODEL": "gpt-4o"}, openai.Config{}, false},
		{"blank values", map[string]string{"TIERZERO_LLM_BASE_URL": "  ", "TIERZERO_LLM_API_KEY": " "}, openai.Config{}, false},
		{
			"key only: OpenAI and the default model",
			map[string]string{"TIERZERO_LLM_API_KEY": "sk-1"},
			openai.Config{BaseURL: "https://api.openai.com/v1", APIKey: "sk-1", Model: "gpt-4o-mini"},
			true,
		},
		{
			"Ollama without key",
			map[string]string{"TIERZERO_LLM_BASE_URL": "http://localhost:11434/v1", "TIERZERO_LLM_MODEL": "llama3.1"},
			openai.Config{BaseURL: "http://localhost:11434/v1", Model: "llama3.1"},
			true,
		},
		{
			"everything",
			map[string]string{"TIERZERO_LLM_BASE_URL": "https://llm.example.com/v1", "TIERZERO_LLM_API_KEY": "k", "TIERZERO_LLM_MODEL": "gpt-4o"},
			openai.Config{BaseURL: "https://llm.example.com/v1", APIKey: "k", Model: "gpt-4o"},
			true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := openai.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if got.BaseURL != tt.want.BaseURL || got.APIKey != tt.want.APIKey || got.Model != tt.want.Model {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if ok {
				if _, err := openai.New(got); err != nil {
					t.Errorf("New(ConfigFromEnv): %v", err)
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  openai.Config
	}{
		{"no model", openai.Config{BaseURL: "https://api.openai.com/v1"}},
		{"no base URL", openai.Config{Model: "gpt-4o-mini"}},
		{"not a URL", openai.Config{BaseURL: "::nope", Model: "gpt-4o-mini"}},
		{"wrong scheme", openai.Config{BaseURL: "ftp://example.com/v1", Model: "gpt-4o-mini"}},
		{"no host", openai.Config{BaseURL: "http:///v1", Model: "gpt-4o-mini"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openai.New(tt.cfg)
			if got := tierzero.ErrorCode(err); got != tierzero.EInvalid {
				t.Errorf("code = %q, want %q (%v)", got, tierzero.EInvalid, err)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Errorf("unmarshal %s: %v", a, err)
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Errorf("unmarshal %s: %v", b, err)
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
