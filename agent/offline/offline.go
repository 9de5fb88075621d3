// Package offline is tierzero's rules model: a deterministic stand-in for a
// language model, used when no LLM endpoint is configured. It understands
// password-reset requests and answers with the same tool calls a model
// would; its proposals go through policy like any model's.
package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Model is the rules model. The zero value is ready to use.
type Model struct{}

var _ agent.Model = Model{}

var (
	upnPattern      = regexp.MustCompile(`(?i)\b[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}\b`)
	passwordPattern = regexp.MustCompile(`(?i)\b(pass ?words?|pwd|passcode)\b`)
	resetPattern    = regexp.MustCompile(`(?i)\b(forg[oe]t+(en)?|reset|change|lost|expired?|locked|unlock|can'?t remember|don'?t remember|new)\b`)
	otherPattern    = regexp.MustCompile(`\b(?i:of|for)\s+(?:(?i:my\s+|our\s+)?(?i:colleague|manager|boss|co-?worker|intern)|[A-Z][a-z]+\s+[A-Z][a-z]+)`)
	greetPattern    = regexp.MustCompile(`(?i)^\s*(hi|hello|hey|help|\?)\b`)
)

const resetTool = "user_reset_password"

// Complete answers the conversation so far.
func (Model) Complete(_ context.Context, req agent.Request) (agent.Response, error) {
	if len(req.Turns) == 0 {
		return agent.Response{Text: "How can I help?"}, nil
	}
	last := req.Turns[len(req.Turns)-1]
	if last.Role == tierzero.TurnTool {
		return agent.Response{Text: summarize(req.Turns)}, nil
	}
	return respond(req, last.Content), nil
}

func respond(req agent.Request, text string) agent.Response {
	if !passwordPattern.MatchString(text) || !resetPattern.MatchString(text) {
		if greetPattern.MatchString(text) {
			return agent.Response{Text: "Hi! I can reset your password if you forgot it: just say \"I forgot my password\"."}
		}
		return agent.Response{Text: "I'm running in offline mode and can only help with password resets here. " +
			"Say \"I forgot my password\", or contact your IT support for anything else."}
	}
	if !offered(req.Tools, resetTool) {
		return agent.Response{Text: "I can't reset passwords here. Please contact your IT support."}
	}
	target := req.Requester.UPN
	if m := upnPattern.FindString(text); m != "" {
		target = m
	} else if otherPattern.MatchString(text) {
		return agent.Response{Text: "Whose account do you mean? Please give me their email address."}
	}
	args, _ := json.Marshal(map[string]string{"user": target})
	return agent.Response{ToolCalls: []tierzero.ToolCall{{
		ID: fmt.Sprintf("offline_%d", len(req.Turns)), Action: resetTool, Args: args,
	}}}
}

// summarize explains the results of the tool calls made since the last user
// message.
func summarize(turns []tierzero.Turn) string {
	var parts []string
	for i := len(turns) - 1; i >= 0 && turns[i].Role == tierzero.TurnTool; i-- {
		var r struct {
			OK     bool `json:"ok"`
			Output struct {
				User string `json:"user"`
			} `json:"output"`
			Error *tierzero.Error `json:"error"`
		}
		if err := json.Unmarshal([]byte(turns[i].Content), &r); err != nil {
			parts = append(parts, "I got an answer I could not read, so I stopped. Nothing else was changed.")
			continue
		}
		switch {
		case r.OK:
			parts = append(parts, fmt.Sprintf("Done: I reset the password of %s. The temporary password was delivered to you privately; you will be asked to choose a new one when you sign in.", r.Output.User))
		case r.Error != nil && r.Error.Code == tierzero.EDenied:
			parts = append(parts, "I can't do that: "+strings.TrimPrefix(r.Error.Message, "denied by policy: ")+". Nothing was changed. If you need this, please contact your IT support.")
		case r.Error != nil && r.Error.Code == tierzero.EUnavailable:
			parts = append(parts, "I could not confirm whether that worked: "+r.Error.Message+". Please check before trying again, or contact your IT support.")
		case r.Error != nil:
			parts = append(parts, "That didn't work: "+r.Error.Message+". Nothing was changed; please contact your IT support.")
		default:
			parts = append(parts, "That didn't work. Nothing was changed; please contact your IT support.")
		}
	}
	slices.Reverse(parts) // collected newest first
	return strings.Join(parts, "\n")
}

func offered(tools []agent.Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}
