package policy

import (
	"slices"

	"github.com/tierzero/tierzero"
)

// MayAllow reports whether some rule could ever let req run action: a rule
// that allows it or asks for approval, in a scope that contains req's
// tenant, whose conditions on the requester (role, channel) do not exclude
// req. It is an over-approximation used to decide which tools the model is
// offered: a tool it returns false for can never be allowed; one it returns
// true for is still decided call by call.
//
// For an MSP technician the tenants they act in count too: a rule of a
// tenant scope counts when the tenant is req's own or one that policy
// admits req to (Admits). Global rules always count: they apply in req's
// own tenant as much as in any other.
func (s *Set) MayAllow(req tierzero.Requester, action string) bool {
	for _, r := range s.rules {
		if r.Effect == tierzero.EffectDeny {
			continue
		}
		if sc := r.file.Scope; !sc.Global && sc.Tenant != req.Tenant && !s.admitted(sc.Tenant, req) {
			continue
		}
		if !r.action.match(action) {
			continue
		}
		if len(r.When.RequesterRole) > 0 && !slices.Contains(r.When.RequesterRole, req.Role) {
			continue
		}
		if len(r.When.Channel) > 0 && !slices.Contains(r.When.Channel, req.Channel) {
			continue
		}
		return true
	}
	return false
}

// admitted is Admits without the file.
func (s *Set) admitted(tenant tierzero.TenantID, req tierzero.Requester) bool {
	if req.Role != tierzero.RoleMSPTechnician || len(s.techs) == 0 {
		return false
	}
	_, ok := s.Admits(tenant, req)
	return ok
}
