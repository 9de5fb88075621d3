package policy

import (
	"testing"

	"github.com/tierzero/tierzero"
)

func TestMayAllow(t *testing.T) {
	employee := tierzero.Requester{Tenant: "contoso", UPN: "a@contoso.com", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelConsole}
	tech := employee
	tech.Role = tierzero.RoleMSPTechnician
	tests := []struct {
		req    tierzero.Requester
		action string
		want   bool
	}{
		{employee, "user.reset_password", true},
		{employee, "user.issue_tap", true}, // with approval
		{employee, "user.enable", false},   // technicians only
		{tech, "user.enable", true},
		{employee, "directory.make_admin", false},
	}
	for _, tt := range tests {
		if got := Baseline().MayAllow(tt.req, tt.action); got != tt.want {
			t.Errorf("MayAllow(%s, %s) = %v, want %v", tt.req.Role, tt.action, got, tt.want)
		}
	}
}
