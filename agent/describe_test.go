package agent

import (
	"encoding/json"
	"strings"
	"testing"
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
