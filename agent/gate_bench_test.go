package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent/agenttest"
)

// gateModel reads, then proposes three writes on the requester's own
// account in one answer, then answers. Its call ids are unique in the
// conversation, as an LLM's are.
type gateModel struct{ n *int }

func (m gateModel) Complete(_ context.Context, req Request) (Response, error) {
	*m.n++
	id := func(s string) string { return fmt.Sprintf("%s_%d", s, *m.n) }
	last := req.Turns[len(req.Turns)-1]
	if last.Role == tierzero.TurnUser {
		return Response{ToolCalls: []tierzero.ToolCall{
			{ID: id("r1"), Action: "user_signins", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)},
			{ID: id("r2"), Action: "user_devices", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)},
		}}, nil
	}
	if strings.HasPrefix(last.ToolCallID, "r2_") {
		return Response{Text: "Doing that now.", ToolCalls: []tierzero.ToolCall{
			{ID: id("w1"), Action: "user_reset_password", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)},
			{ID: id("w2"), Action: "user_revoke_sessions", Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)},
			{ID: id("w3"), Action: "user_set_auto_reply", Args: json.RawMessage(`{"user":"adele.vance@contoso.com","status":"alwaysEnabled","internalMessage":"I am away this week and back on Monday."}`)},
		}}, nil
	}
	return Response{Text: "Done: your password is reset, you are signed out, and your automatic replies are on."}, nil
}

// signinLog is a sign-in log of n rows, each saying something of its own.
func signinLog(n int) json.RawMessage {
	var rows []string
	for i := range n {
		rows = append(rows, fmt.Sprintf(`{"createdDateTime":"2025-01-%02dT08:%02d:00Z","appDisplayName":"Office 365 Exchange Online","ipAddress":"203.0.113.%d","status":{"errorCode":%d,"failureReason":"Invalid username or password or Invalid on-premise username or password."},"location":{"city":"Seattle","countryOrRegion":"US"}}`, 1+i%28, i%60, i, 50126+i))
	}
	return json.RawMessage(`{"user":"adele.vance@contoso.com","signIns":[` + strings.Join(rows, ",") + `]}`)
}

// BenchmarkGate measures a request whose model proposes three writes in
// one answer after two reads, in a conversation that already holds six
// such requests (the intent gate reads the conversation to judge them).
func BenchmarkGate(b *testing.B) {
	st := &benchStore{convs: map[string]tierzero.Conversation{}}
	run := &agenttest.Runner{Outputs: map[string]json.RawMessage{"user.signins": signinLog(30)}}
	a, err := New(Config{Model: gateModel{n: new(int)}, Runner: run, Tools: agenttest.Catalog(), Store: st, Audit: st})
	if err != nil {
		b.Fatal(err)
	}
	m := tierzero.Message{Tenant: "contoso", Conversation: "c1",
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele.vance@contoso.com", Role: tierzero.RoleEmployee},
		Text:      "I forgot my password, please sign me out everywhere and set my out of office: I am away this week and back on Monday."}
	for range 6 {
		if _, err := a.Handle(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
	saved := st.convs["contoso/c1"]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st.convs["contoso/c1"] = saved
		if _, err := a.Handle(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}
