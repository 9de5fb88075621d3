package agent

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tierzero/tierzero"
)

// Model is the seam to a language model. Implementations: the go-openai
// client in agent/openai (any OpenAI-compatible endpoint) and the rules model
// in agent/offline. A Model sees tools by their model names (ToolName: dots
// replaced by underscores) in both the Tools it is offered and the tool calls
// of the Turns; the agent maps names back to actions.
type Model interface {
	Complete(ctx context.Context, req Request) (Response, error)
}

// Request is one call to the model.
type Request struct {
	Tenant    tierzero.TenantID
	Requester tierzero.Requester // the verified requester, also described in System
	System    string
	Turns     []tierzero.Turn // tool calls carry model names in Action
	Tools     []Tool
}

// Tool is a tool as offered to the model.
type Tool struct {
	Name        string // model name, e.g. "user_reset_password"
	Description string
	Parameters  json.RawMessage // JSON schema of the arguments
}

// Response is the model's answer: text for the user, tool calls to run, or
// both. Tool calls carry model names in Action.
type Response struct {
	Text      string
	ToolCalls []tierzero.ToolCall
	Usage     Usage
}

// Usage counts tokens, as reported by the model's API.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// ToolName is the name the model sees for a dotted action name:
// "user.reset_password" becomes "user_reset_password".
func ToolName(action string) string { return strings.ReplaceAll(action, ".", "_") }
