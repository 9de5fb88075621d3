package main

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
)

// staff says who is more than an employee: the MSP's technicians, who work
// from the MSP's own tenant id, and each client tenant's admins. Roles come
// from configuration (the demo's, without a file), never from text.
type staff struct {
	home        tierzero.TenantID           // the MSP's own id; "" when there is no MSP
	technicians map[string]technicianConfig // by lower-case UPN
	admins      map[tierzero.TenantID]map[string]bool
	clients     []tierzero.TenantID // the client tenants, sorted
}

// staffOf reads the roles of a configuration file.
func staffOf(c *config) staff {
	s := staff{technicians: map[string]technicianConfig{}, admins: map[tierzero.TenantID]map[string]bool{}}
	if c.MSP != nil {
		s.home = c.MSP.Tenant
		for _, t := range c.MSP.Technicians {
			s.technicians[strings.ToLower(t.UPN)] = t
		}
	}
	for id, t := range c.Tenants {
		s.clients = append(s.clients, id)
		for _, u := range t.Admins {
			s.addAdmin(id, u)
		}
	}
	slices.Sort(s.clients)
	return s
}

func (s *staff) addAdmin(t tierzero.TenantID, upn string) {
	if s.admins[t] == nil {
		s.admins[t] = map[string]bool{}
	}
	s.admins[t][strings.ToLower(upn)] = true
}

// The demo MSP: one technician, admitted to every demo tenant by the demo
// policy; each tenant's admins are the holders of a directory role.
const (
	demoHome       tierzero.TenantID = "msp"
	demoTechnician                   = "tess@msp.example"
)

//go:embed demo-technicians.yaml
var demoPolicy []byte

// demoStaff is the demo's staff, from the simulator's tenants.
func demoStaff(s *sim.Server) staff {
	st := staff{
		home:        demoHome,
		technicians: map[string]technicianConfig{demoTechnician: {UPN: demoTechnician, Name: "Tess Nguyen"}},
		admins:      map[tierzero.TenantID]map[string]bool{},
	}
	for _, name := range s.Tenants() {
		id := tierzero.TenantID(name)
		st.clients = append(st.clients, id)
		state, _ := s.State(name)
		for _, u := range state.Users {
			if len(u.DirectoryRoles) > 0 && u.AccountEnabled {
				st.addAdmin(id, u.UserPrincipalName)
			}
		}
	}
	slices.Sort(st.clients)
	return st
}

// technician returns the requester of an MSP technician, from configuration.
func (s staff) technician(upn string) (tierzero.Requester, bool) {
	t, ok := s.technicians[strings.ToLower(upn)]
	if !ok || s.home == "" {
		return tierzero.Requester{}, false
	}
	return tierzero.Requester{Tenant: s.home, UPN: t.UPN, DisplayName: t.Name, Role: tierzero.RoleMSPTechnician, Channel: tierzero.ChannelConsole}, true
}

// role is the role of a user of a client tenant.
func (s staff) role(t tierzero.TenantID, upn string) tierzero.Role {
	if s.admins[t][strings.ToLower(upn)] {
		return tierzero.RoleTenantAdmin
	}
	return tierzero.RoleEmployee
}

// across returns the client tenants req may act in from the MSP's tenant:
// those policy admits them to. None for anyone but a technician at home.
// Staff and policies are fixed for the runtime, so the answer is kept per
// technician: it is asked for every tool offered on every request.
func (rt *runtime) across(req tierzero.Requester) []tierzero.TenantID {
	if req.Role != tierzero.RoleMSPTechnician || req.Tenant == "" || req.Tenant != rt.staff.home {
		return nil
	}
	key := strings.ToLower(req.UPN)
	rt.acrossMu.Lock()
	defer rt.acrossMu.Unlock()
	if out, ok := rt.acrossOf[key]; ok {
		return out
	}
	var out []tierzero.TenantID
	for _, t := range rt.staff.clients {
		if _, ok := rt.policies.Admits(t, req); ok {
			out = append(out, t)
		}
	}
	if rt.acrossOf == nil {
		rt.acrossOf = map[string][]tierzero.TenantID{}
	}
	out = slices.Clip(out) // callers that append get their own copy
	rt.acrossOf[key] = out
	return out
}

// reach is every tenant a console session of req touches: their own and
// those they act in.
func (rt *runtime) reach(req tierzero.Requester) []tierzero.TenantID {
	return append([]tierzero.TenantID{req.Tenant}, rt.across(req)...)
}

// decider lets a technician decide, from the MSP's tenant, an approval kept
// in a client tenant they are admitted to: it finds the approval's tenant,
// and the guard checks the rest. Anyone else decides in their own tenant.
type decider struct{ rt *runtime }

func (d decider) Decide(ctx context.Context, tenant tierzero.TenantID, approver tierzero.Requester, id string, approve bool) (tierzero.Approval, tierzero.ToolResult, error) {
	if tenant == d.rt.staff.home && tenant != "" && approver.Tenant == tenant {
		found, err := d.find(ctx, approver, id)
		if err != nil {
			// Refused before any tenant's guard saw it: the MSP's own
			// audit keeps it, as a guard keeps its refusals.
			verb := "deny"
			if approve {
				verb = "approve"
			}
			ev := tierzero.AuditEvent{
				Kind: tierzero.AuditApprovalDecided, Requester: approver.UPN, Channel: approver.Channel,
				Outcome: "refused", Error: tierzero.ErrorMessage(err),
				Facts: map[string]string{"approval": id, "decision": verb, "approver": approver.UPN},
			}
			if aerr := d.rt.db.Append(ctx, tenant, ev); aerr != nil {
				return tierzero.Approval{}, tierzero.ToolResult{}, fmt.Errorf("audit refused decision: %w", aerr)
			}
			return tierzero.Approval{}, tierzero.ToolResult{}, err
		}
		tenant = found
	}
	return d.rt.guard.Decide(ctx, tenant, approver, id, approve)
}

// find returns the client tenant, among those the technician acts in, that
// keeps approval id.
func (d decider) find(ctx context.Context, approver tierzero.Requester, id string) (tierzero.TenantID, error) {
	for _, t := range d.rt.across(approver) {
		_, err := d.rt.db.Approval(ctx, t, id)
		switch {
		case err == nil:
			return t, nil
		case tierzero.ErrorCode(err) != tierzero.ENotFound:
			return "", err
		}
	}
	return "", tierzero.Errorf(tierzero.ENotFound, "no approval request %s in the tenants you act in", id)
}

// demoPolicies parses the demo's technician admission.
func demoPolicies() (policy.File, error) {
	f, err := policy.Parse("demo-technicians.yaml", demoPolicy)
	if err != nil {
		return policy.File{}, fmt.Errorf("demo policy: %w", err)
	}
	return f, nil
}

// technicianHome is the MSP's tenant id when upn is one of its technicians
// (in the configuration file, else the demo's), for commands where --tenant
// may be left out; "" otherwise.
func (a *app) technicianHome(file, upn string) (tierzero.TenantID, error) {
	if file == "" {
		file = a.getenv("TIERZERO_CONFIG")
	}
	if file == "" {
		if a.getenv("TIERZERO_GRAPH_TOKEN") == "" && strings.EqualFold(upn, demoTechnician) {
			return demoHome, nil
		}
		return "", nil
	}
	c, err := loadConfig(file)
	if err != nil {
		return "", err
	}
	if _, ok := staffOf(c).technician(upn); ok {
		return c.MSP.Tenant, nil
	}
	return "", nil
}

// technicianIntro tells a technician where they may act.
func (a *app) technicianIntro(rt *runtime, req tierzero.Requester) {
	ts := rt.across(req)
	if len(ts) == 0 {
		fmt.Fprintf(a.stdout, "tierzero: %s, no policy admits you to a client tenant yet, so you can act nowhere: list your user principal name under technicians in a policy file (docs/policy.md).\n", req.UPN)
		return
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	fmt.Fprintf(a.stdout, "tierzero: %s, MSP technician: you act in %s. Every action is shown to you first, with its tenant, and runs only after you answer yes.\n",
		req.UPN, strings.Join(names, ", "))
}
