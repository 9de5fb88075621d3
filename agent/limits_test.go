package agent

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// proposals returns the "proposed" audit records, and those among them
// that refuse calls over a limit.
func proposals(events []tierzero.AuditEvent) (all, refused []tierzero.AuditEvent) {
	for _, ev := range events {
		if ev.Kind != tierzero.AuditProposed {
			continue
		}
		all = append(all, ev)
		if ev.Facts["refused_calls"] != "" {
			refused = append(refused, ev)
		}
	}
	return all, refused
}

// One model answer with 30,000 tool calls: the first MaxCallsPerAnswer are
// taken, the rest dropped unread with one audit record.
func TestCallsPerAnswerCapped(t *testing.T) {
	many := make([]tierzero.ToolCall, 30000)
	for i := range many {
		many[i] = call(fmt.Sprintf("c%d", i), "user_get", `{"user":"adele.vance@contoso.com"}`)
	}
	many[29999] = call("last", "something_else", `{}`)
	m := &scripted{answers: []Response{{ToolCalls: many}, {Text: "Your account looks fine."}}}
	f := newFixture(t, m, nil)
	reply := f.send(t, employee, "e1", "check my account")
	if !strings.Contains(reply.Text, "looks fine") {
		t.Fatalf("reply = %q", reply.Text)
	}
	if n := len(f.runner.Calls()); n != DefaultMaxCallsPerAnswer {
		t.Fatalf("runner got %d calls, want %d", n, DefaultMaxCallsPerAnswer)
	}
	all, refused := proposals(f.store.Events())
	if len(refused) != 1 || len(all) != DefaultMaxCallsPerAnswer+1 {
		t.Fatalf("%d proposal records, %d refusing calls; want %d and 1", len(all), len(refused), DefaultMaxCallsPerAnswer+1)
	}
	ev := refused[0]
	if ev.Facts["refused_calls"] != "29995" || ev.Facts["tools"] != "user_get (29994), something_else (1)" || ev.Args != nil || !strings.Contains(ev.Outcome, "beyond the 5 one model answer may make") {
		t.Fatalf("refusal record = %+v", ev)
	}
	if n := len(f.store.Events()); n > 10 {
		t.Fatalf("%d audit records for one request", n)
	}
	turns := f.store.Saved("contoso", "e1").Turns
	assertPaired(t, turns)
	kept := 0
	for _, tu := range turns {
		kept += len(tu.ToolCalls)
	}
	if kept != DefaultMaxCallsPerAnswer {
		t.Fatalf("the conversation keeps %d calls, want %d", kept, DefaultMaxCallsPerAnswer)
	}
	if m.seen[1].Turns[1].ToolCalls == nil || len(m.seen[1].Turns[1].ToolCalls) != DefaultMaxCallsPerAnswer {
		t.Fatalf("the model was shown %+v", m.seen[1].Turns[1])
	}
}

// Calls beyond the limit of a request are refused with one audit record,
// and the request escalates.
func TestCallsPerRequestRefusedWithOneRecord(t *testing.T) {
	m := &scripted{answers: []Response{calls(
		call("c1", "user_get", `{"user":"adele.vance@contoso.com"}`),
		call("c2", "user_groups", `{"user":"adele.vance@contoso.com"}`),
		call("c3", "user_devices", `{"user":"adele.vance@contoso.com"}`),
		call("c4", "user_signins", `{"user":"adele.vance@contoso.com"}`),
		call("c5", "user_auth_methods", `{"user":"adele.vance@contoso.com"}`),
	)}}
	f := newFixture(t, m, func(c *Config) { c.MaxCalls = 2 })
	f.send(t, employee, "e1", "check everything")
	if n := len(f.runner.Calls()); n != 2 {
		t.Fatalf("runner got %d calls, want 2", n)
	}
	all, refused := proposals(f.store.Events())
	if len(all) != 3 || len(refused) != 1 || refused[0].Facts["refused_calls"] != "3" ||
		refused[0].Facts["tools"] != "user.devices (1), user.signins (1), user.auth_methods (1)" {
		t.Fatalf("proposal records = %+v", all)
	}
	if got := f.esc.Got(); len(got) != 1 || got[0].Cause != tierzero.CauseCallLimit {
		t.Fatalf("escalations = %+v", got)
	}
	assertPaired(t, f.store.Saved("contoso", "e1").Turns)
}

// Arguments nested 5,000 deep, or larger than MaxArgsBytes, are refused
// before anything records them: not in the audit, not in the conversation,
// not at the runner.
func TestOversizedArgumentsNeverRecorded(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000)
	deepArray := `{"user":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}`
	big := `{"user":"` + strings.Repeat("x", MaxArgsBytes) + `"}`
	for name, args := range map[string]string{"deep": deep, "deep array": deepArray, "big": big} {
		for _, tool := range []string{"user_get", "user_reset_password", "no_such_tool", EscalateTool} {
			t.Run(name+" "+tool, func(t *testing.T) {
				m := &scripted{answers: []Response{calls(call("c1", tool, args)), {Text: "Sorry."}}}
				f := newFixture(t, m, nil)
				f.send(t, employee, "e1", "check my account")
				if n := len(f.runner.Calls()); n != 0 {
					t.Fatalf("the runner got %d calls", n)
				}
				for _, ev := range f.store.Events() {
					if b, _ := json.Marshal(ev); len(b) > 4096 {
						t.Fatalf("audit record %s is %d bytes", ev.Kind, len(b))
					}
				}
				b, _ := json.Marshal(f.store.Saved("contoso", "e1"))
				if len(b) > 8192 || strings.Contains(string(b), `[[[[`) {
					t.Fatalf("the conversation keeps %d bytes", len(b))
				}
				if !strings.Contains(string(b), "Nothing was run") {
					t.Fatalf("the model was not told: %s", b)
				}
			})
		}
	}
}

func TestCheckArgsSize(t *testing.T) {
	tests := []struct {
		args string
		ok   bool
	}{
		{`{"user":"a"}`, true},
		{strings.Repeat(`[`, MaxArgsDepth) + strings.Repeat(`]`, MaxArgsDepth), true},
		{strings.Repeat(`[`, MaxArgsDepth+1) + strings.Repeat(`]`, MaxArgsDepth+1), false},
		{`{"user":"` + strings.Repeat(`[{`, 100) + `"}`, true},           // brackets in a string
		{`{"user":"\"` + strings.Repeat(`[`, 100) + `"}`, true},          // after an escaped quote
		{`{"user":"\\"` + strings.Repeat(`,[`, 100) + `}`, false},        // after an escaped backslash
		{`{"m":"` + strings.Repeat("é", MaxArgsBytes/2-10) + `"}`, true}, // at the limit
		{`{"m":"` + strings.Repeat("x", MaxArgsBytes) + `"}`, false},
	}
	for i, tt := range tests {
		if err := checkArgsSize([]byte(tt.args)); (err == nil) != tt.ok {
			t.Errorf("%d: checkArgsSize = %v, want ok %v", i, err, tt.ok)
		}
	}
}

// A model's answer text is bounded, and so is what it records.
func TestAnswerTextBounded(t *testing.T) {
	m := &scripted{answers: []Response{{Text: strings.Repeat("blah ", 1<<20)}}}
	f := newFixture(t, m, nil)
	reply := f.send(t, employee, "e1", "hello")
	if n := len(reply.Text); n > MaxAnswerBytes+8 {
		t.Fatalf("reply is %d bytes", n)
	}
	for _, ev := range f.store.Events() {
		if len(ev.Text) > MaxAnswerBytes+8 {
			t.Fatalf("audit %s holds %d bytes", ev.Kind, len(ev.Text))
		}
	}
}

// Call ids and tool names from a model are bounded before they are kept.
func TestCallIDAndNameBounded(t *testing.T) {
	long := strings.Repeat("x", 100000)
	m := &scripted{answers: []Response{calls(
		call(long, "user_get", `{"user":"adele.vance@contoso.com"}`),
		call("c\n2", long, `{}`),
	), {Text: "ok"}}}
	f := newFixture(t, m, nil)
	f.send(t, employee, "e1", "hello")
	for _, ev := range f.store.Events() {
		if len(ev.CallID) > 64 || len(ev.Tool) > 64 || strings.Contains(ev.CallID, "\n") {
			t.Fatalf("audit record keeps id %.80q tool %.80q", ev.CallID, ev.Tool)
		}
	}
	for _, c := range f.runner.Calls() {
		if len(c.ID) > 64 || len(c.Action) > 64 {
			t.Fatalf("runner got id %.80q action %.80q", c.ID, c.Action)
		}
	}
	assertPaired(t, f.store.Saved("contoso", "e1").Turns)
}
