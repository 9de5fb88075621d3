package bot

import (
	"encoding/json"
	"testing"

	"github.com/tierzero/tierzero"
)

// Only an onboarding's Temporary Access Pass for its new hire goes to the
// manager; any other secret a step of the plan makes is the requester's.
func TestSecretToManager(t *testing.T) {
	const hire, manager = "jane.doe@contoso.com", "lynne.robbins@contoso.com"
	tap := tierzero.NewSecret("temporary_access_pass", "Temporary Access Pass", "code")
	laps := tierzero.NewSecret("local_admin_password", "local administrator password", "pw")
	step := func(action, user string) *tierzero.PlanStep {
		args, _ := json.Marshal(map[string]string{"user": user})
		return &tierzero.PlanStep{Call: tierzero.ToolCall{Action: action, Args: args}}
	}
	onboard := tierzero.Plan{Action: tierzero.ActionOnboard, User: hire, Manager: manager}
	offboard := tierzero.Plan{Action: tierzero.ActionOffboard, User: hire}
	tests := []struct {
		name string
		p    tierzero.Plan
		st   *tierzero.PlanStep
		s    tierzero.Secret
		want bool
	}{
		{"new hire's pass", onboard, step("user.issue_tap", hire), tap, true},
		{"pass for someone else", onboard, step("user.issue_tap", "alex.wilber@contoso.com"), tap, false},
		{"another secret", onboard, step("device.laps_password", hire), laps, false},
		{"onboarding without a manager", tierzero.Plan{Action: tierzero.ActionOnboard, User: hire}, step("user.issue_tap", hire), tap, false},
		{"offboarding", offboard, step("user.issue_tap", hire), tap, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secretToManager(tt.p, tt.st, tt.s); got != tt.want {
				t.Fatalf("secretToManager = %v, want %v", got, tt.want)
			}
		})
	}
}
