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
	for _, f := range s.files {
		if !f.Scope.Global && f.Scope.Tenant != req.Tenant {
			continue
		}
		for _, r := range f.Rules {
			if r.Effect == tierzero.EffectDeny {
				continue
			}
			if !compileGlob(r.Action, false).match(action) {
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
	}
	return false
}
