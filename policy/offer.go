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
func (s *Set) MayAllow(req tierzero.Requester, action string) bool {
	for _, r := range s.rules {
		if r.Effect == tierzero.EffectDeny {
			continue
		}
		if sc := r.file.Scope; !sc.Global && sc.Tenant != req.Tenant {
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
