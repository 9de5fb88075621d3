package ticket_test

import (
	"encoding/json"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

func TestPick(t *testing.T) {
	e := tierzero.Escalation{Cause: tierzero.CauseModelRequest,
		Transcript: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "My PRINTER is jammed"}},
		Tried:      []tierzero.EscalationStep{{Action: "device.lock", Args: json.RawMessage(`{}`)}}}
	tests := []struct {
		name  string
		rules []ticket.Rule
		want  string
	}{
		{"none", nil, "def"},
		{"contains, any case", []ticket.Rule{{Contains: "printer", Value: "print"}}, "print"},
		{"action prefix", []ticket.Rule{{Action: "user.", Value: "u"}, {Action: "device.", Value: "d"}}, "d"},
		{"action exact", []ticket.Rule{{Action: "device.loc", Value: "x"}, {Action: "device.lock", Value: "d"}}, "d"},
		{"every condition", []ticket.Rule{{Cause: "step_limit", Contains: "printer", Value: "x"}, {Cause: "model_request", Contains: "printer", Value: "both"}}, "both"},
		{"first wins", []ticket.Rule{{Contains: "jammed", Value: "1"}, {Contains: "printer", Value: "2"}}, "1"},
		{"no match", []ticket.Rule{{Contains: "vpn", Value: "x"}}, "def"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ticket.Pick(tt.rules, "def", e); got != tt.want {
				t.Errorf("Pick = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	m := map[string][]string{"closed": {" Done "}, "pending": {"Waiting", "5"}}
	guess := func(string) tierzero.TicketStatus { return tierzero.TicketOpen }
	for vendor, want := range map[string]tierzero.TicketStatus{"done": tierzero.TicketClosed, "5": tierzero.TicketPending, "New": tierzero.TicketOpen} {
		if got := ticket.StatusOf(m, vendor, guess); got != want {
			t.Errorf("StatusOf(%q) = %q, want %q", vendor, got, want)
		}
	}
}
