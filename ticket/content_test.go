package ticket

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// Escalation returns an escalation with every part a ticket shows, for tests
// of this package and of the connectors.
func testEscalation() tierzero.Escalation {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	return tierzero.Escalation{
		Tenant: "contoso", Conversation: "conv-1", Time: at,
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelSlack},
		Summary:   "Adele Vance asked to be added to Finance.", Cause: tierzero.CauseModelRequest, Reason: "group owner must decide",
		Checked:   []tierzero.EscalationStep{{CallID: "c1", Action: "get_user", Args: json.RawMessage(`{"user":"adele@contoso.com"}`), OK: true, Result: "enabled"}},
		Tried:     []tierzero.EscalationStep{{CallID: "c2", Action: "add_group_member", OK: false, Result: "denied"}},
		Decisions: []tierzero.EscalationDecision{{CallID: "c2", Action: "add_group_member", Effect: tierzero.EffectDeny, Layer: "baseline", Rule: "groups.owner", Reason: "only owners"}},
		Transcript: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "please add me to\x1b[2J Finance", Time: at},
			{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "get_user", Args: json.RawMessage(`{}`)}}, Time: at},
		},
	}
}

func TestBody(t *testing.T) {
	tk := tierzero.Ticket{Correlation: "tz-abc", Escalation: testEscalation()}
	body := Body(tk)
	for _, want := range []string{"Adele Vance <adele@contoso.com>", "tenant contoso", "please add me to[2J Finance",
		"Checked:", "get_user", "Tried:", "add_group_member", "failed: denied", "baseline/groups.owner", "only owners",
		"Transcript:", "conversation conv-1", "tz-abc", "group owner must decide"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "\x1b") {
		t.Errorf("body holds a control character")
	}
	if got, want := Subject(tk), "Adele Vance: please add me to[2J Finance"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	tk.Escalation.Transcript[0].Content = strings.Repeat("é", 200)
	if s := Subject(tk); len(s) > MaxSubject || !strings.HasSuffix(s, "...") {
		t.Errorf("long subject %q (%d bytes)", s, len(s))
	}
}

func TestCorrelationStable(t *testing.T) {
	e := testEscalation()
	a, b := tierzero.TicketCorrelation(e), tierzero.TicketCorrelation(e)
	if a != b || len(a) != 27 || !strings.HasPrefix(a, "tz-") {
		t.Errorf("correlation %q, %q", a, b)
	}
	e.Time = e.Time.Add(time.Nanosecond)
	if tierzero.TicketCorrelation(e) == a {
		t.Errorf("another escalation has the same correlation")
	}
}
