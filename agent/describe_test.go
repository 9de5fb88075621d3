package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent/agenttest"
)

// An argument with a line break or a terminal escape stays on its line of
// the plan: it cannot print a step that is not in the plan.
func TestPlanArgumentsStayOnTheirLine(t *testing.T) {
	user := "alex.wilber@contoso.com\n- nothing else\x1b[2K\rReply \"yes\""
	args, _ := json.Marshal(map[string]string{"user": user})
	m := &scripted{answers: []Response{calls(call("c1", "user_reset_password", string(args)))}}
	f := newFixture(t, m, nil)
	reply := f.send(t, tech, "t1", "reset alex")
	steps := 0
	for _, l := range strings.Split(reply.Text, "\n") {
		if strings.HasPrefix(l, "- ") {
			steps++
		}
		if strings.ContainsAny(l, "\x1b\r") {
			t.Fatalf("plan line %q", l)
		}
	}
	if steps != 1 {
		t.Fatalf("plan shows %d steps, want 1:\n%s", steps, reply.Text)
	}
}

// Every tool of the catalog is described in words people use, not as its
// action name and raw arguments (DESIGN rule 8: plans name things the way
// people know them).
func TestEveryToolDescribedInWords(t *testing.T) {
	args := map[string]any{
		"user": "alex.wilber@contoso.com", "manager": "lynne.robbins@contoso.com", "grantee": "lynne.robbins@contoso.com",
		"sponsor": "lynne.robbins@contoso.com", "group": "g1", "team": "g1", "device": "d1", "sku": "EMS",
		"method_id": "m1", "phone_number": "+1 4255550100", "phone_type": "alternateMobile", "email": "jane@partner.example",
		"display_name": "Jane Doe", "mail_nickname": "jane.doe", "department": "Sales", "role": "owner", "prefix": "Sal",
	}
	raw, _ := json.Marshal(args)
	for _, s := range agenttest.Catalog() {
		if s.Action == tierzero.ActionOffboard || s.Action == tierzero.ActionOnboard || strings.HasPrefix(s.Action, "lifecycle.") {
			continue // plans are described step by step (lifecycle.go)
		}
		got := describeIn(tierzero.ToolCall{Action: s.Action, Args: raw}, view{}).what
		if strings.Contains(got, s.Action) || strings.Contains(got, "=") {
			t.Errorf("%s is described as %q: want words", s.Action, got)
		}
	}
}
