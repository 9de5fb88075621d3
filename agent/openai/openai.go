// Package openai implements agent.Model over the chat completions API of
// OpenAI and of any OpenAI-compatible endpoint (Azure-style proxies, Ollama,
// vLLM) with github.com/sashabaranov/go-openai. It owns the mapping between
// tierzero's turns and tools and the wire messages, the HTTP retry policy
// (429, 5xx and transport errors, with backoff and Retry-After) and the
// translation of API failures into tierzero errors that never carry the API
// key. go-openai types do not leave this package.
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Defaults applied by New to a zero Config field, and by ConfigFromEnv.
const (
	DefaultBaseURL     = "https://api.openai.com/v1"
	DefaultModel       = "gpt-4o-mini"
	DefaultTimeout     = 60 * time.Second
	DefaultMaxRetries  = 3
	DefaultTemperature = 0.01
)

// placeholderKey is sent when no API key is configured: local servers such
// as Ollama ignore it, and some proxies insist on an Authorization header.
const placeholderKey = "tierzero"

// Environment variables read by ConfigFromEnv.
const (
	EnvBaseURL = "TIERZERO_LLM_BASE_URL"
	EnvAPIKey  = "TIERZERO_LLM_API_KEY"
	EnvModel   = "TIERZERO_LLM_MODEL"
	// EnvAPIType "azure" selects Azure OpenAI, with EnvDeployment (default:
	// the model name) and EnvAPIVersion (default DefaultAzureAPIVersion).
	EnvAPIType    = "TIERZERO_LLM_API_TYPE"
	EnvDeployment = "TIERZERO_LLM_DEPLOYMENT"
	EnvAPIVersion = "TIERZERO_LLM_API_VERSION"
	// EnvAllowHTTP "1" (or "true") allows a plain http base URL on a host
	// other than this machine (Config.AllowInsecureHTTP).
	EnvAllowHTTP = "TIERZERO_LLM_ALLOW_HTTP"
)

// Config configures a Model.
type Config struct {
	// BaseURL is the API root, including the version path:
	// "https://api.openai.com/v1", "http://localhost:11434/v1". It must be
	// https unless its host is this machine (localhost, 127.0.0.0/8, ::1) or
	// AllowInsecureHTTP is set: the API key and the tenant data of every
	// request would otherwise cross the network in clear.
	BaseURL string
	// AllowInsecureHTTP allows a plain http BaseURL on another host (a
	// model server on a trusted private network). Every request, after
	// redirects too, is held to the same rule.
	AllowInsecureHTTP bool
	// APIKey is sent as a bearer token. It may be empty for local servers.
	APIKey string
	// Model names the chat model, e.g. "gpt-4o-mini" or "llama3.1".
	Model string
	// Timeout bounds each HTTP attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is how many times a 429, 5xx or transport error is retried;
	// 0 means DefaultMaxRetries, a negative value disables retries.
	MaxRetries int
	// Temperature is the sampling temperature; 0 or less means
	// DefaultTemperature (go-openai omits a zero temperature, which would
	// leave the server's default of 1). It is omitted for reasoning models
	// (o1, o3, o4, gpt-5 and the like) that accept no other value.
	Temperature float32
	// HTTPClient, if set, is the client whose transport, cookie jar and
	// redirect policy requests go through; the retries wrap its transport.
	HTTPClient *http.Client
	// Logger receives retries and usage; nil discards.
	Logger *slog.Logger
	// Sleep waits between retries; nil means a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Azure selects Azure OpenAI: BaseURL is the resource endpoint
	// (https://NAME.openai.azure.com), requests go to the Deployment
	// (default: Model) with APIVersion (default DefaultAzureAPIVersion),
	// and the key is sent as the api-key header.
	Azure      bool
	Deployment string
	APIVersion string
}

// DefaultAzureAPIVersion is the Azure OpenAI API version used when none is
// configured: a generally available version with tool calling.
const DefaultAzureAPIVersion = "2024-10-21"

// ConfigFromEnv reads the LLM endpoint from the TIERZERO_LLM_BASE_URL,
// TIERZERO_LLM_API_KEY and TIERZERO_LLM_MODEL variables through getenv
// (os.Getenv in production). ok is false when neither a base URL nor a key is
// set: the caller then uses the offline model. With only a key the base URL
// is OpenAI's; without a model name it is DefaultModel.
func ConfigFromEnv(getenv func(string) string) (cfg Config, ok bool) {
	cfg = Config{
		BaseURL: strings.TrimSpace(getenv(EnvBaseURL)),
		APIKey:  strings.TrimSpace(getenv(EnvAPIKey)),
		Model:   strings.TrimSpace(getenv(EnvModel)),
	}
	if cfg.BaseURL == "" && cfg.APIKey == "" {
		return Config{}, false
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	switch strings.ToLower(strings.TrimSpace(getenv(EnvAllowHTTP))) {
	case "1", "true", "yes":
		cfg.AllowInsecureHTTP = true
	}
	switch strings.ToLower(strings.TrimSpace(getenv(EnvAPIType))) {
	case "azure":
		cfg.Azure = true
		cfg.Deployment = strings.TrimSpace(getenv(EnvDeployment))
		cfg.APIVersion = strings.TrimSpace(getenv(EnvAPIVersion))
	}
	return cfg, true
}

// Model is an agent.Model backed by an OpenAI-compatible chat completions
// endpoint. It is safe for concurrent use.
type Model struct {
	client      *goopenai.Client
	model       string
	temperature float32 // 0: omitted from requests
	apiKey      string  // for redaction only
	logger      *slog.Logger
}

var _ agent.Model = (*Model)(nil)

// New validates cfg, applies defaults and returns a Model. It does no I/O.
func New(cfg Config) (*Model, error) {
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, tierzero.Errorf(tierzero.EInvalid, "llm: model name is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, tierzero.Errorf(tierzero.EInvalid, "llm: base URL must be an http or https URL")
	}
	if err := checkScheme(u, cfg.AllowInsecureHTTP); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.Temperature <= 0 {
		cfg.Temperature = DefaultTemperature
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}

	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &retryTransport{
		base:       base,
		timeout:    cfg.Timeout,
		maxRetries: cfg.MaxRetries,
		sleep:      cfg.Sleep,
		now:        time.Now,
		logger:     cfg.Logger,
		allowHTTP:  cfg.AllowInsecureHTTP,
	}

	key := cfg.APIKey
	if key == "" {
		key = placeholderKey
	}
	oc := goopenai.DefaultConfig(key)
	if cfg.Azure {
		oc = goopenai.DefaultAzureConfig(key, "")
		if cfg.APIVersion != "" {
			oc.APIVersion = cfg.APIVersion
		} else {
			oc.APIVersion = DefaultAzureAPIVersion
		}
		deployment := cfg.Deployment
		if deployment == "" {
			deployment = cfg.Model
		}
		oc.AzureModelMapperFunc = func(string) string { return deployment }
	}
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	oc.HTTPClient = &hc

	return &Model{
		client:      goopenai.NewClientWithConfig(oc),
		model:       cfg.Model,
		temperature: temperatureFor(cfg.Model, cfg.Temperature),
		apiKey:      cfg.APIKey,
		logger:      cfg.Logger,
	}, nil
}

// ErrInsecureHTTP is the error of a plain http URL on a host other than
// this machine, when Config.AllowInsecureHTTP is not set.
var ErrInsecureHTTP = tierzero.Errorf(tierzero.EInvalid, "llm: a plain http model endpoint is allowed only on this machine")

// checkScheme refuses a plain http URL to a host other than this machine,
// unless allowed.
func checkScheme(u *url.URL, allowHTTP bool) error {
	if u.Scheme == "https" || allowHTTP || Loopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w: %s://%s would carry the API key and tenant data in clear; use https, or set llm.allow_insecure_http: true (%s=1) for a trusted network", ErrInsecureHTTP, u.Scheme, u.Host, EnvAllowHTTP)
}

// Loopback reports whether host (a name or an address, without port) is
// this machine: localhost, an address in 127.0.0.0/8, or ::1.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// temperatureFor returns t, or 0 (omitted) when go-openai's own validation
// says the model accepts no sampling temperature.
func temperatureFor(model string, t float32) float32 {
	err := goopenai.NewReasoningValidator().Validate(goopenai.ChatCompletionRequest{Model: model, Temperature: t})
	if errors.Is(err, goopenai.ErrReasoningModelLimitationsOther) || errors.Is(err, goopenai.ErrReasoningSamplingUnsupported) {
		return 0
	}
	return t
}

// Complete sends the conversation and tools to the chat completions endpoint
// and returns the first choice: its text, its tool calls (model names in
// Action, arguments as sent by the model) and the token usage.
func (m *Model) Complete(ctx context.Context, req agent.Request) (agent.Response, error) {
	creq, err := m.request(req)
	if err != nil {
		return agent.Response{}, fmt.Errorf("chat completion: %w", err)
	}
	resp, err := m.client.CreateChatCompletion(ctx, creq)
	if err != nil {
		return agent.Response{}, m.failure(ctx, err)
	}
	if len(resp.Choices) == 0 {
		return agent.Response{}, fmt.Errorf("chat completion: %w",
			tierzero.Errorf(tierzero.EUnavailable, "the language model returned no answer"))
	}
	msg := resp.Choices[0].Message
	out := agent.Response{
		Text: msg.Content,
		Usage: agent.Usage{
			PromptTokens:     resp.Usage.PromptTokens,
			CompletionTokens: resp.Usage.CompletionTokens,
		},
	}
	if out.Text == "" {
		out.Text = msg.Refusal
	}
	for i, tc := range msg.ToolCalls {
		if tc.Type != "" && tc.Type != goopenai.ToolTypeFunction {
			continue
		}
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		args := strings.TrimSpace(tc.Function.Arguments)
		if args == "" {
			args = "{}"
		}
		// Arguments are kept as sent, valid JSON or not: the agent validates.
		out.ToolCalls = append(out.ToolCalls, tierzero.ToolCall{
			ID:     id,
			Action: tc.Function.Name,
			Args:   json.RawMessage(args),
		})
	}
	m.logger.LogAttrs(ctx, slog.LevelDebug, "llm completion",
		slog.String("tenant", string(req.Tenant)),
		slog.String("model", m.model),
		slog.String("finish_reason", string(resp.Choices[0].FinishReason)),
		slog.Int("tool_calls", len(out.ToolCalls)),
		slog.Int("prompt_tokens", out.Usage.PromptTokens),
		slog.Int("completion_tokens", out.Usage.CompletionTokens))
	return out, nil
}

// request builds the wire request for req.
func (m *Model) request(req agent.Request) (goopenai.ChatCompletionRequest, error) {
	creq := goopenai.ChatCompletionRequest{
		Model:       m.model,
		Temperature: m.temperature,
	}
	if req.System != "" {
		creq.Messages = append(creq.Messages, goopenai.ChatCompletionMessage{
			Role:    goopenai.ChatMessageRoleSystem,
			Content: req.System,
		})
	}
	for i, t := range req.Turns {
		switch t.Role {
		case tierzero.TurnUser:
			creq.Messages = append(creq.Messages, goopenai.ChatCompletionMessage{
				Role:    goopenai.ChatMessageRoleUser,
				Content: t.Content,
			})
		case tierzero.TurnAssistant:
			if t.Content == "" && len(t.ToolCalls) == 0 {
				continue // the API rejects an assistant message with neither
			}
			msg := goopenai.ChatCompletionMessage{
				Role:    goopenai.ChatMessageRoleAssistant,
				Content: t.Content,
			}
			for _, c := range t.ToolCalls {
				args := strings.TrimSpace(string(c.Args))
				if args == "" {
					args = "{}"
				}
				msg.ToolCalls = append(msg.ToolCalls, goopenai.ToolCall{
					ID:   c.ID,
					Type: goopenai.ToolTypeFunction,
					Function: goopenai.FunctionCall{
						Name:      c.Action,
						Arguments: args,
					},
				})
			}
			creq.Messages = append(creq.Messages, msg)
		case tierzero.TurnTool:
			content := t.Content
			if content == "" {
				content = "{}" // an empty content would be omitted, which the API rejects
			}
			creq.Messages = append(creq.Messages, goopenai.ChatCompletionMessage{
				Role:       goopenai.ChatMessageRoleTool,
				Content:    content,
				ToolCallID: t.ToolCallID,
			})
		default:
			return creq, tierzero.Errorf(tierzero.EInternal, "turn %d has unknown role %q", i, t.Role)
		}
	}
	for _, t := range req.Tools {
		params := json.RawMessage(`{"type":"object","properties":{}}`)
		if len(t.Parameters) > 0 {
			if !json.Valid(t.Parameters) {
				return creq, tierzero.Errorf(tierzero.EInternal, "tool %s has an invalid parameters schema", t.Name)
			}
			params = t.Parameters
		}
		creq.Tools = append(creq.Tools, goopenai.Tool{
			Type: goopenai.ToolTypeFunction,
			Function: &goopenai.FunctionDefinition{
				Name:        t.Name,
				Description: t.Description,
				Parameters:  params,
			},
		})
	}
	if len(creq.Tools) > 0 {
		creq.ToolChoice = "auto"
	}
	return creq, nil
}

// httpStatus is the HTTP status of a go-openai error; 0 when it has none
// (the request did not get an answer).
func httpStatus(err error) int {
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		return reqErr.HTTPStatusCode
	}
	return 0
}

// failure turns an error from go-openai into a wrapped tierzero.Error with a
// user-safe message. The underlying detail is kept as text, with the API key
// redacted, for the logs.
func (m *Model) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("chat completion: %w", ctx.Err())
	}
	status := httpStatus(err)
	var urlErr *url.Error
	var domain *tierzero.Error
	switch {
	case errors.Is(err, ErrInsecureHTTP):
		domain = tierzero.Errorf(tierzero.EInvalid, "the language model endpoint sent tierzero to plain http; nothing was sent there")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		domain = tierzero.Errorf(tierzero.EUnauthorized, "the language model rejected tierzero's credentials (status %d)", status)
	case status == http.StatusTooManyRequests:
		domain = tierzero.Errorf(tierzero.EUnavailable, "the language model is rate limiting requests; try again later")
	case status >= 500:
		domain = tierzero.Errorf(tierzero.EUnavailable, "the language model is unavailable (status %d); try again later", status)
	case status == http.StatusNotFound:
		domain = tierzero.Errorf(tierzero.EInvalid, "the language model endpoint or model %q was not found (status 404)", m.model)
	case status >= 400:
		domain = tierzero.Errorf(tierzero.EInvalid, "the language model rejected the request (status %d)", status)
	case status == 0 && errors.As(err, &urlErr):
		domain = tierzero.Errorf(tierzero.EUnavailable, "the language model could not be reached; try again later")
	case errors.Is(err, goopenai.ErrChatCompletionInvalidModel),
		errors.Is(err, goopenai.ErrReasoningToolsRequireResponses),
		errors.Is(err, goopenai.ErrReasoningEffortUnsupported),
		errors.Is(err, goopenai.ErrReasoningModelLimitationsOther),
		errors.Is(err, goopenai.ErrReasoningSamplingUnsupported):
		domain = tierzero.Errorf(tierzero.EInvalid, "the model %q cannot be used for chat completions with tools", m.model)
	default:
		domain = tierzero.Errorf(tierzero.EInternal, "the language model returned an unexpected response")
	}
	return fmt.Errorf("chat completion: %w: %s", domain, m.redact(err.Error()))
}

// redact removes the API key from s.
func (m *Model) redact(s string) string {
	if m.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, m.apiKey, "[redacted]")
}
