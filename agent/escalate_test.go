package agent

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// What happens after an escalation is said by role: an employee or a
// tenant admin is told who takes over (or whom to contact); an MSP
// technician, who is the IT support others are sent to, is never sent to
// contact anyone; nobody is shown the escalation's cause.
func TestEscalationWordingByRole(t *testing.T) {
	admin := tierzero.Requester{Tenant: "contoso", UPN: "megan.bowen@contoso.com", ObjectID: "id-megan", Role: tierzero.RoleTenantAdmin, Channel: tierzero.ChannelTeams}
	for _, tt := range []struct {
		req     tierzero.Requester
		contact bool
	}{{employee, true}, {admin, true}, {tech, false}, {mspTech, false}} {
		for _, handed := range []bool{true, false} {
			m := &scripted{answers: []Response{calls(call("e", EscalateTool, `{"reason":"needs a person"}`))}}
			f := newFixture(t, m, nil)
			if !handed {
				f.esc.Err = context.DeadlineExceeded
			}
			reply := f.send(t, tt.req, "x1", "help")
			told := strings.Contains(reply.Text, "the Contoso service desk")
			if told != tt.contact {
				t.Errorf("%s (handed over %v) told %q", tt.req.Role, handed, reply.Text)
			}
			if strings.Contains(reply.Text, string(tierzero.CauseModelRequest)) {
				t.Errorf("%s shown the escalation's cause: %q", tt.req.Role, reply.Text)
			}
			if !tt.contact && strings.Contains(strings.ToLower(reply.Text), "contact") {
				t.Errorf("a technician is sent to contact someone: %q", reply.Text)
			}
		}
	}
}

// TestEscalationBeginsWhereItsRequestDid: an escalation carries what was
// checked and tried for its own request: the plans its "yes" confirmed and
// the request that led to them, never a request before a plan its first
// message answered without confirming (a new request settles the plan
// unrun), nor anything before a request that came after a settled plan.
func TestEscalationBeginsWhereItsRequestDid(t *testing.T) {
	signins := calls(call("r1", "user_signins", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`))
	revoke := calls(call("w1", "user_revoke_sessions", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`))
	escalate := calls(call("e1", EscalateTool, `{"reason":"not something I can do"}`))
	offboard := calls(call("p1", "lifecycle_offboard_plan", `{"user":"ben@contoso.com","tenant":"contoso"}`))
	tests := []struct {
		name    string
		answers []Response
		texts   []string
		asked   string // in the summary
		checked []string
		tried   []string
		starts  string // the transcript's first turn begins so
	}{
		{
			name:    "the plans it confirmed",
			answers: []Response{signins, revoke, escalate},
			texts:   []string{"alex@fabrikam.com may be hacked", "yes", "yes"},
			asked:   `asked: "alex@fabrikam.com may be hacked (then confirmed the plans shown)"`,
			checked: []string{"user.signins"}, tried: []string{"user.revoke_sessions"},
			starts: "alex@fabrikam.com may be hacked",
		},
		{
			name:    "a new request while a plan waits",
			answers: []Response{signins, revoke, escalate},
			texts:   []string{"alex@fabrikam.com may be hacked", "yes", "the printer on floor 3 is jammed"},
			asked:   `asked: "the printer on floor 3 is jammed (answering the plan: `,
			starts:  "Here is what I'm about to do",
		},
		{
			name:    "a plan confirmed after a new request that settled an earlier plan",
			answers: []Response{signins, revoke, offboard, escalate},
			texts:   []string{"alex@fabrikam.com may be hacked", "yes", "offboard ben@contoso.com", "yes"},
			asked:   `asked: "offboard ben@contoso.com (then confirmed the plans shown)"`,
			checked: []string{"lifecycle.offboard_plan"},
			starts:  "offboard ben@contoso.com",
		},
		{
			name:    "a new request after a settled plan",
			answers: []Response{signins, {Text: "All good."}, escalate},
			texts:   []string{"alex@fabrikam.com may be hacked", "yes", "the printer on floor 3 is jammed"},
			asked:   `asked: "the printer on floor 3 is jammed"`,
			starts:  "the printer on floor 3 is jammed",
		},
	}
	actions := func(steps []tierzero.EscalationStep) []string {
		var out []string
		for _, s := range steps {
			out = append(out, s.Action)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &scripted{answers: tt.answers}, across)
			for _, text := range tt.texts {
				f.send(t, mspTech, "m1", text)
			}
			got := f.esc.Got()
			if len(got) != 1 {
				t.Fatalf("%d escalations, want 1", len(got))
			}
			e := got[0]
			if !strings.Contains(e.Summary, tt.asked) {
				t.Errorf("summary = %q, want it to contain %q", e.Summary, tt.asked)
			}
			if got := actions(e.Checked); !slices.Equal(got, tt.checked) {
				t.Errorf("checked = %v, want %v", got, tt.checked)
			}
			if got := actions(e.Tried); !slices.Equal(got, tt.tried) {
				t.Errorf("tried = %v, want %v", got, tt.tried)
			}
			if len(e.Transcript) == 0 || !strings.HasPrefix(e.Transcript[0].Content, tt.starts) {
				t.Errorf("transcript = %+v, want it to begin with %q", e.Transcript, tt.starts)
			}
		})
	}
}
