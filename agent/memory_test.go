package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

func user(s string) tierzero.Turn { return tierzero.Turn{Role: tierzero.TurnUser, Content: s} }
func said(s string) tierzero.Turn { return tierzero.Turn{Role: tierzero.TurnAssistant, Content: s} }
func asked(ids ...string) tierzero.Turn {
	t := tierzero.Turn{Role: tierzero.TurnAssistant}
	for _, id := range ids {
		t.ToolCalls = append(t.ToolCalls, tierzero.ToolCall{ID: id, Action: "user_get", Args: json.RawMessage(`{"user":"a@contoso.com"}`)})
	}
	return t
}
func result(id, s string) tierzero.Turn {
	return tierzero.Turn{Role: tierzero.TurnTool, ToolCallID: id, Content: s}
}

func labels(turns []tierzero.Turn) string {
	var out []string
	for _, t := range turns {
		switch {
		case t.Role == tierzero.TurnTool:
			out = append(out, "r:"+t.ToolCallID)
		case len(t.ToolCalls) > 0:
			var ids []string
			for _, c := range t.ToolCalls {
				ids = append(ids, c.ID)
			}
			out = append(out, "c:"+strings.Join(ids, "+"))
		default:
			out = append(out, string(t.Role)[:1]+":"+t.Content[:min(len(t.Content), 2)])
		}
	}
	return strings.Join(out, " ")
}

func TestTrimTurns(t *testing.T) {
	big := strings.Repeat("x", 400) // 100 tokens
	history := []tierzero.Turn{
		user("u1" + big), asked("a", "b"), result("a", big), result("b", big), said("s1" + big),
		user("u2" + big), asked("c"), result("c", big), said("s2"),
		user("u3"), asked("d"), result("d", big),
	}
	cur := 9 // "u3"
	total := 0
	for _, tu := range history {
		total += turnTokens(tu)
	}
	tests := []struct {
		budget int
		want   string
	}{
		{total, "u:u1 c:a+b r:a r:b a:s1 u:u2 c:c r:c a:s2 u:u3 c:d r:d"},
		{total - 1, "c:a+b r:a r:b a:s1 u:u2 c:c r:c a:s2 u:u3 c:d r:d"},
		{total - 110, "a:s1 u:u2 c:c r:c a:s2 u:u3 c:d r:d"}, // the call goes with both results
		{300, "c:c r:c a:s2 u:u3 c:d r:d"},
		{120, "u:u3 c:d r:d"},
		{1, "u:u3 c:d r:d"}, // the current request is kept whole
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.budget), func(t *testing.T) {
			got := trimTurns(history, cur, tt.budget)
			if labels(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", labels(got), tt.want)
			}
			assertPaired(t, got)
		})
	}
	t.Run("a leading orphan result is dropped", func(t *testing.T) {
		got := trimTurns([]tierzero.Turn{result("z", "lost"), user("u1"), said("s1"), user("u2")}, 3, 10000)
		if labels(got) != "u:u1 a:s1 u:u2" {
			t.Fatalf("got %s", labels(got))
		}
	})
}

// TestMemoryBudget runs a long conversation through the agent: every model
// request stays within the budget (the current request aside), keeps calls
// with their results, and the store keeps a bounded history.
func TestMemoryBudget(t *testing.T) {
	const budget = 1500
	m := &echo{}
	f := newFixture(t, m, func(c *Config) { c.MemoryTokens = budget })
	for i := range 30 {
		f.send(t, employee, "long", fmt.Sprintf("message %d: %s", i, strings.Repeat("words ", 40)))
	}
	for i, req := range m.seen {
		assertPaired(t, req.Turns)
		n := estimateTokens(req.System)
		for _, tu := range req.Turns {
			n += turnTokens(tu)
		}
		if n > budget {
			t.Fatalf("request %d: about %d tokens, budget %d", i, n, budget)
		}
		if req.Turns[0].Role == tierzero.TurnTool {
			t.Fatalf("request %d starts with a tool result", i)
		}
	}
	last := m.seen[len(m.seen)-1]
	if !strings.HasPrefix(last.Turns[len(last.Turns)-1].Content, `<tool_result name="user_get">`) {
		t.Fatal("the last request lost its current turns")
	}
	if !strings.Contains(last.Turns[len(last.Turns)-3].Content, "message 29") {
		t.Fatalf("the current request's message is missing: %+v", last.Turns)
	}
	saved := f.store.Saved("contoso", "long").Turns
	if len(saved) >= 30*4 {
		t.Fatalf("the store keeps %d turns: not trimmed", len(saved))
	}
	assertPaired(t, saved)
}

// echo reads the user's profile once per message, then answers.
type echo struct{ seen []Request }

func (e *echo) Complete(_ context.Context, req Request) (Response, error) {
	e.seen = append(e.seen, req)
	if last := req.Turns[len(req.Turns)-1]; last.Role == tierzero.TurnUser {
		return Response{ToolCalls: []tierzero.ToolCall{{ID: fmt.Sprintf("c%d", len(e.seen)), Action: "user_get", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)}}}, nil
	}
	return Response{Text: "Here is what I found: " + strings.Repeat("details ", 30)}, nil
}
