package bot

import (
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// An employee is not shown Graph's codes when an approved request fails;
// IT staff are, and a policy's refusal is shown to everyone as it is.
func TestApprovedFailureByRole(t *testing.T) {
	graph := &tierzero.Error{Code: tierzero.EInvalid, Message: "Graph refused issue TAP (400 Request_BadRequest): Invalid value for 'lifetimeInMinutes'."}
	denied := &tierzero.Error{Code: tierzero.EDenied, Message: "approval ap-1 was granted, but policy denies the call now (the target holds an admin role); nothing runs"}
	tests := []struct {
		role tierzero.Role
		err  *tierzero.Error
		want string
	}{
		{tierzero.RoleEmployee, graph, "Microsoft 365 refused it"},
		{tierzero.RoleTenantAdmin, graph, "Graph refused issue TAP (400 Request_BadRequest): Invalid value for 'lifetimeInMinutes'"},
		{tierzero.RoleMSPTechnician, graph, "Graph refused issue TAP (400 Request_BadRequest): Invalid value for 'lifetimeInMinutes'"},
		{tierzero.RoleEmployee, denied, strings.TrimSuffix(denied.Message, ".")},
		{tierzero.RoleEmployee, &tierzero.Error{Code: tierzero.EUnavailable, Message: "Graph refused issue TAP (503 serviceNotAvailable): x"}, "Microsoft 365 could not be reached or did not confirm it, so it may not have happened"},
	}
	for _, tt := range tests {
		if got := failure(tt.role, tt.err); got != tt.want {
			t.Errorf("failure(%s, %s) = %q, want %q", tt.role, tt.err.Code, got, tt.want)
		}
	}
}
