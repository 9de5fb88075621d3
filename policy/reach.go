package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tierzero/tierzero"
)

// Reach says who acts where across tenants: an MSP's technicians work from
// the MSP's own tenant (home) in the client tenants that policy admits them
// to (Set.Admits). Everyone else acts in their own tenant only.
//
// Policies and tenants are fixed for a Reach, so the answer for a
// technician is computed once: it is asked for every tool offered on every
// request. A Reach is safe for concurrent use.
//
// A nil *Reach is no MSP: nobody acts across tenants.
type Reach struct {
	set     *Set
	home    tierzero.TenantID
	clients []tierzero.TenantID

	mu       sync.Mutex
	acrossOf map[string][]tierzero.TenantID // by lower-case UPN
}

// NewReach returns the Reach of the MSP whose own tenant is home ("" for
// no MSP) over the client tenants clients, in that order, admitted by set.
// A nil set admits nobody.
func NewReach(set *Set, home tierzero.TenantID, clients []tierzero.TenantID) *Reach {
	return &Reach{set: set, home: home, clients: slices.Clone(clients), acrossOf: map[string][]tierzero.TenantID{}}
}

// Home is the MSP's own tenant id; "" when there is no MSP.
func (r *Reach) Home() tierzero.TenantID {
	if r == nil {
		return ""
	}
	return r.home
}

// Clients returns a copy of the client tenants.
func (r *Reach) Clients() []tierzero.TenantID {
	if r == nil {
		return nil
	}
	return slices.Clone(r.clients)
}

// Across returns the client tenants req may act in from the MSP's tenant:
// those policy admits them to. None for anyone but an MSP technician whose
// tenant is the MSP's own. The slice is shared between callers and clipped:
// a caller that appends to it gets its own copy; none may change it.
func (r *Reach) Across(req tierzero.Requester) []tierzero.TenantID {
	if r == nil || r.set == nil || req.Role != tierzero.RoleMSPTechnician || req.Tenant == "" || req.Tenant != r.home {
		return nil
	}
	key := strings.ToLower(req.UPN)
	r.mu.Lock()
	defer r.mu.Unlock()
	if out, ok := r.acrossOf[key]; ok {
		return out
	}
	var out []tierzero.TenantID
	for _, t := range r.clients {
		if _, ok := r.set.Admits(t, req); ok {
			out = append(out, t)
		}
	}
	out = slices.Clip(out) // callers that append get their own copy
	r.acrossOf[key] = out
	return out
}

// Of returns every tenant req touches: their own, then those they act in
// (Across).
func (r *Reach) Of(req tierzero.Requester) []tierzero.TenantID {
	return append([]tierzero.TenantID{req.Tenant}, r.Across(req)...)
}

// Offered reports whether action may be offered to req at all (for the
// agent's tool list): false for someone in the MSP's own tenant who acts in
// no client tenant, since the MSP's tenant is no client and there is
// nothing to act on there; otherwise whether some rule could allow it
// (Set.MayAllow). It only narrows what is offered; the Guard decides.
//
// A nil *Reach, or one without a set, has no policies to ask and returns
// true: what is offered is then left to the Guard to decide.
func (r *Reach) Offered(req tierzero.Requester, action string) bool {
	if r == nil || r.set == nil {
		return true
	}
	if r.home != "" && req.Tenant == r.home && len(r.Across(req)) == 0 {
		return false
	}
	return r.set.MayAllow(req, action)
}

// DecideFrom records approver's decision on approval id where it is kept:
// in the approver's own tenant, except that someone deciding from the MSP's
// own tenant (GuardConfig.Reach's home) decides an approval kept in one of
// the client tenants they act in (Reach.Across), which is found for them.
// The decision itself is Decide's in that tenant, which checks the rest
// (that policy admits the technician there and names them as an approver).
//
// An approval in none of those tenants is refused as ENotFound before any
// client tenant's guard sees it, and the refusal is audited in the MSP's
// tenant.
func (g *Guard) DecideFrom(ctx context.Context, approver tierzero.Requester, id string, approve bool) (tierzero.Approval, tierzero.ToolResult, error) {
	tenant := approver.Tenant
	if home := g.cfg.Reach.Home(); home != "" && tenant == home && g.cfg.Approvals != nil {
		found, err := g.find(ctx, approver, id)
		if err != nil {
			// The MSP's own audit keeps it, as a guard keeps its refusals.
			verb := "deny"
			if approve {
				verb = "approve"
			}
			ev := tierzero.AuditEvent{
				Kind: tierzero.AuditApprovalDecided, Requester: approver.UPN, Channel: approver.Channel,
				Outcome: "refused", Error: tierzero.ErrorMessage(err),
				Facts: map[string]string{"approval": id, "decision": verb, "approver": approver.UPN},
			}
			if aerr := g.cfg.Audit.Append(ctx, home, ev); aerr != nil {
				return tierzero.Approval{}, tierzero.ToolResult{}, fmt.Errorf("audit refused decision: %w", aerr)
			}
			g.log.Info("decision refused", "tenant", home, "approval", id, "approver", approver.UPN, "reason", tierzero.ErrorMessage(err))
			return tierzero.Approval{}, tierzero.ToolResult{}, err
		}
		tenant = found
	}
	return g.Decide(ctx, tenant, approver, id, approve)
}

// find returns the client tenant, among those approver acts in, that keeps
// approval id.
func (g *Guard) find(ctx context.Context, approver tierzero.Requester, id string) (tierzero.TenantID, error) {
	for _, t := range g.cfg.Reach.Across(approver) {
		_, err := g.cfg.Approvals.Approval(ctx, t, id)
		switch {
		case err == nil:
			return t, nil
		case tierzero.ErrorCode(err) != tierzero.ENotFound:
			return "", err
		}
	}
	return "", tierzero.Errorf(tierzero.ENotFound, "no approval request %s in the tenants you act in", id)
}
