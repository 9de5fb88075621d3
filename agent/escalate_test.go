package agent

import (
	"context"
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
