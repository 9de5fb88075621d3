package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// scripted is a Model that answers from a list and records what it was sent.
type scripted struct {
	answers []Response
	err     error
	seen    []Request
}

func (s *scripted) Complete(_ context.Context, req Request) (Response, error) {
	s.seen = append(s.seen, req)
	if s.err != nil {
		return Response{}, s.err
	}
	if len(s.answers) == 0 {
		return Response{ToolCalls: []tierzero.ToolCall{{Action: "user_get", Args: json.RawMessage(`{"user":"a@contoso.com"}`)}}}, nil
	}
	r := s.answers[0]
	s.answers = s.answers[1:]
	return r, nil
}

type runner struct {
	calls []tierzero.ToolCall
}

func (r *runner) RunTool(_ context.Context, _ tierzero.TenantID, _ tierzero.Requester, _ tierzero.ConversationID, c tierzero.ToolCall) (tierzero.ToolResult, error) {
	r.calls = append(r.calls, c)
	res := tierzero.ToolResult{CallID: c.ID, Action: c.Action}
	switch c.Action {
	case "user.reset_password":
		res.Output = json.RawMessage(`{"user":"a@contoso.com","passwordReset":true}`)
		res.Secret = tierzero.NewSecret("temporary_password", "temporary password", "Tmp-Secret-123!")
		res.Decision = &tierzero.Decision{Effect: tierzero.EffectAllow, Rule: "self-reset-password"}
	default:
		res.Decision = &tierzero.Decision{Effect: tierzero.EffectDeny, Reason: "unknown tool"}
		res.Error = tierzero.Errorf(tierzero.EDenied, "denied by policy: unknown tool")
	}
	return res, nil
}

type memStore struct {
	convs    map[tierzero.ConversationID]tierzero.Conversation
	events   []tierzero.AuditEvent
	failSave bool
}

func (m *memStore) Conversation(_ context.Context, t tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	if c, ok := m.convs[id]; ok {
		return c, nil
	}
	return tierzero.Conversation{ID: id, Tenant: t}, nil
}

func (m *memStore) SaveConversation(_ context.Context, _ tierzero.TenantID, c tierzero.Conversation) error {
	if m.failSave {
		return errors.New("disk full")
	}
	if _, err := json.Marshal(c); err != nil { // as the real store does
		return err
	}
	m.convs[c.ID] = c
	return nil
}

func (m *memStore) Append(_ context.Context, _ tierzero.TenantID, ev tierzero.AuditEvent) error {
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) kinds() string {
	var k []string
	for _, e := range m.events {
		k = append(k, string(e.Kind))
	}
	return strings.Join(k, ",")
}

var tools = []tierzero.ToolSpec{
	{Action: "user.get", Schema: json.RawMessage(`{"type":"object"}`)},
	{Action: "user.reset_password", Write: true, Schema: json.RawMessage(`{"type":"object"}`)},
}

func newAgent(t *testing.T, m Model) (*Agent, *runner, *memStore) {
	t.Helper()
	r, st := &runner{}, &memStore{convs: map[tierzero.ConversationID]tierzero.Conversation{}}
	a, err := New(Config{Model: m, Runner: r, Tools: tools, Store: st, Audit: st, MaxSteps: 3})
	if err != nil {
		t.Fatal(err)
	}
	return a, r, st
}

var msg = tierzero.Message{
	Tenant: "contoso", Conversation: "c1", Text: "I forgot my password",
	Requester: tierzero.Requester{Tenant: "contoso", UPN: "a@contoso.com", ObjectID: "id-a", Role: tierzero.RoleEmployee},
}

func TestHandleResetKeepsSecretFromModel(t *testing.T) {
	m := &scripted{answers: []Response{
		{ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "user_reset_password", Args: json.RawMessage(`{"user":"a@contoso.com"}`)}}},
		{Text: "Done, check your private message."},
	}}
	a, r, st := newAgent(t, m)
	reply, err := a.Handle(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || r.calls[0].Action != "user.reset_password" {
		t.Fatalf("runner got %+v, want one user.reset_password (mapped back from the model name)", r.calls)
	}
	if want := "I did: reset the password of a@contoso.com (a temporary password goes to you privately).\n\nDone, check your private message."; reply.Text != want {
		t.Errorf("reply = %q, want %q", reply.Text, want)
	}
	if len(reply.Private) != 1 || reply.Private[0].Secret.Reveal() != "Tmp-Secret-123!" || reply.Private[0].To.UPN != "a@contoso.com" {
		t.Fatalf("private notes = %+v, want the secret for the requester", reply.Private)
	}
	if len(m.seen) != 2 {
		t.Fatalf("model called %d times, want 2", len(m.seen))
	}
	seen, _ := json.Marshal(m.seen)
	if strings.Contains(string(seen), "Tmp-Secret-123!") {
		t.Fatal("the secret reached the model")
	}
	if !strings.Contains(string(seen), "delivered privately") || !strings.Contains(string(seen), "user_reset_password") {
		t.Fatalf("model did not see the private-delivery note or the model tool name: %s", seen)
	}
	if got, want := st.kinds(), "message,proposed,reply"; got != want {
		t.Errorf("audit kinds = %s, want %s (decided/executed are the guard's)", got, want)
	}
	events, _ := json.Marshal(st.events)
	convs, _ := json.Marshal(st.convs)
	if strings.Contains(string(events)+string(convs), "Tmp-Secret-123!") {
		t.Fatal("the secret reached the audit or the conversation store")
	}
	if n := len(st.convs[MemoryID("c1", msg.Requester)].Turns); n != 4 {
		t.Errorf("saved conversation has %d turns, want 4 (user, call, result, answer)", n)
	}
}

func TestHandleBadInputAndFailures(t *testing.T) {
	tests := []struct {
		name     string
		model    *scripted
		msg      func(tierzero.Message) tierzero.Message
		wantErr  bool
		wantText string
		wantRun  []string
	}{
		{"model outage", &scripted{err: errors.New("connection refused")}, nil, false, "unavailable", nil},
		{"unknown tool goes to the runner, which denies it", &scripted{answers: []Response{
			{ToolCalls: []tierzero.ToolCall{{Action: "make_me_admin", Args: json.RawMessage(`{}`)}}}, {Text: "I can't."}}}, nil, false, "I can't.", []string{"make_me_admin"}},
		{"step limit", &scripted{}, nil, false, "couldn't finish", []string{"user.get", "user.get", "user.get"}},
		{"oversized message", &scripted{}, func(m tierzero.Message) tierzero.Message { m.Text = strings.Repeat("x", MaxMessageBytes+1); return m }, false, "too long", nil},
		{"invalid utf-8", &scripted{}, func(m tierzero.Message) tierzero.Message { m.Text = "\xff\xfe"; return m }, false, "not valid text", nil},
		{"requester of another tenant", &scripted{}, func(m tierzero.Message) tierzero.Message { m.Requester.Tenant = "fabrikam"; return m }, true, "", nil},
		{"bad tenant id", &scripted{}, func(m tierzero.Message) tierzero.Message { m.Tenant = "../etc"; return m }, true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, _ := newAgent(t, tt.model)
			in := msg
			if tt.msg != nil {
				in = tt.msg(in)
			}
			reply, err := a.Handle(context.Background(), in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !strings.Contains(reply.Text, tt.wantText) {
				t.Errorf("reply = %q, want it to contain %q", reply.Text, tt.wantText)
			}
			var ran []string
			for _, c := range r.calls {
				ran = append(ran, c.Action)
			}
			if strings.Join(ran, ",") != strings.Join(tt.wantRun, ",") {
				t.Errorf("runner got %v, want %v", ran, tt.wantRun)
			}
		})
	}
}

// flaky fails after its scripted answers run out.
type flaky struct{ scripted }

func (f *flaky) Complete(ctx context.Context, req Request) (Response, error) {
	if len(f.answers) == 0 {
		return Response{}, errors.New("503 from the model")
	}
	return f.scripted.Complete(ctx, req)
}

func TestHandleAfterAWrite(t *testing.T) {
	reset := Response{ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "user_reset_password", Args: json.RawMessage(`{"user":"a@contoso.com"}`)}}}

	t.Run("model fails after the reset", func(t *testing.T) {
		a, _, _ := newAgent(t, &flaky{scripted{answers: []Response{reset}}})
		reply, err := a.Handle(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(reply.Text, "Nothing was changed") || !strings.Contains(reply.Text, "already made") {
			t.Errorf("reply = %q, want it to say changes were made", reply.Text)
		}
		if len(reply.Private) != 1 {
			t.Fatal("the temporary password was lost")
		}
	})
	t.Run("store fails after the reset", func(t *testing.T) {
		a, _, st := newAgent(t, &scripted{answers: []Response{reset, {Text: "done"}}})
		st.failSave = true
		reply, err := a.Handle(context.Background(), msg)
		if err == nil {
			t.Fatal("Handle hid a failed save")
		}
		if len(reply.Private) != 1 || reply.Private[0].Secret.Reveal() != "Tmp-Secret-123!" {
			t.Fatal("the temporary password was lost with the error")
		}
	})
}

func TestHandleMalformedArguments(t *testing.T) {
	m := &scripted{answers: []Response{
		{ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "user_reset_password", Args: json.RawMessage(`{"user": "a@contoso.com"`)}}},
		{Text: "Sorry, let me try again later."},
	}}
	a, r, st := newAgent(t, m)
	if _, err := a.Handle(context.Background(), msg); err != nil {
		t.Fatalf("garbage arguments broke the request: %v", err)
	}
	if len(r.calls) != 0 {
		t.Fatalf("runner got %+v, want nothing: invalid JSON never reaches it", r.calls)
	}
	turns := st.convs[MemoryID("c1", msg.Requester)].Turns
	if len(turns) != 4 {
		t.Fatalf("saved %d turns, want 4", len(turns))
	}
	if got := string(turns[1].ToolCalls[0].Args); got != `"{\"user\": \"a@contoso.com\""` {
		t.Errorf("stored args = %s, want the raw text as a JSON string", got)
	}
	if !strings.Contains(turns[2].Content, "invalid arguments for user_reset_password") || !strings.Contains(turns[2].Content, "not valid JSON") {
		t.Errorf("the model was told %s, want a corrective message", turns[2].Content)
	}
	if got, want := st.kinds(), "message,proposed,reply"; got != want {
		t.Errorf("audit kinds = %s, want %s", got, want)
	}
	if ev := st.events[1]; !strings.HasPrefix(ev.Outcome, "rejected: ") {
		t.Errorf("proposal outcome = %q, want rejected", ev.Outcome)
	}
}
