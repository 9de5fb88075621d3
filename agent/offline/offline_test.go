package offline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

var req = agent.Request{
	Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele.vance@contoso.com"},
	Tools:     []agent.Tool{{Name: "user_get"}, {Name: "user_reset_password"}},
}

func TestRequests(t *testing.T) {
	tests := []struct {
		text       string
		wantTarget string // "" means a text answer
		wantText   string
	}{
		{"I forgot my password", "adele.vance@contoso.com", ""},
		{"i cant remember my password!!", "adele.vance@contoso.com", ""},
		{"My password expired", "adele.vance@contoso.com", ""},
		{"please reset my pwd", "adele.vance@contoso.com", ""},
		{"Please reset the password of alex.wilber@contoso.com", "alex.wilber@contoso.com", ""},
		{"Reset the password for Alex Wilber", "", "email address"},
		{"can you reset the password of my colleague", "", "email address"},
		{"I forgot my password for outlook on my phone", "adele.vance@contoso.com", ""},
		{"hello", "", "forgot my password"},
		{"my laptop is not compliant", "", "offline mode"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := req
			r.Turns = []tierzero.Turn{{Role: tierzero.TurnUser, Content: tt.text}}
			got, err := Model{}.Complete(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantTarget == "" {
				if len(got.ToolCalls) != 0 || !strings.Contains(got.Text, tt.wantText) {
					t.Fatalf("got %+v, want text containing %q", got, tt.wantText)
				}
				return
			}
			if len(got.ToolCalls) != 1 || got.ToolCalls[0].Action != "user_reset_password" {
				t.Fatalf("got %+v, want one user_reset_password call", got)
			}
			var args map[string]string
			if err := json.Unmarshal(got.ToolCalls[0].Args, &args); err != nil || args["user"] != tt.wantTarget {
				t.Fatalf("args = %s, want user %s", got.ToolCalls[0].Args, tt.wantTarget)
			}
		})
	}
}

func TestNoToolOffered(t *testing.T) {
	r := agent.Request{Requester: req.Requester, Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "I forgot my password"}}}
	got, _ := Model{}.Complete(context.Background(), r)
	if len(got.ToolCalls) != 0 {
		t.Fatalf("proposed %v although the tool was not offered", got.ToolCalls)
	}
}

func TestSummaries(t *testing.T) {
	tests := []struct{ name, result, want string }{
		{"done", `{"ok":true,"output":{"user":"adele.vance@contoso.com"}}`, "delivered to you privately"},
		{"denied", `{"ok":false,"error":{"code":"denied","message":"denied by policy: no policy allows user.reset_password here"}}`, "I can't do that: no policy allows"},
		{"failed", `{"ok":false,"error":{"code":"invalid","message":"Graph said no"}}`, "didn't work: Graph said no"},
		{"garbage", `not json`, "could not read"},
		{"ambiguous", `{"ok":false,"error":{"code":"unavailable","message":"Graph timed out"}}`, "could not confirm whether that worked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req
			r.Turns = []tierzero.Turn{
				{Role: tierzero.TurnUser, Content: "I forgot my password"},
				{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "1", Action: "user_reset_password"}}},
				{Role: tierzero.TurnTool, ToolCallID: "1", Content: tt.result},
			}
			got, _ := Model{}.Complete(context.Background(), r)
			if len(got.ToolCalls) != 0 || !strings.Contains(got.Text, tt.want) {
				t.Fatalf("got %+v, want text containing %q", got, tt.want)
			}
		})
	}
}
