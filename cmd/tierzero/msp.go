package main

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
)

// staffOf reads the roles of a configuration file: the MSP's technicians
// and each client tenant's admins.
func staffOf(c *config) bot.Staff {
	s := bot.Staff{Admins: map[tierzero.TenantID][]string{}}
	if c.MSP != nil {
		s.Home = c.MSP.Tenant
		for _, t := range c.MSP.Technicians {
			s.Technicians = append(s.Technicians, bot.Technician{UPN: t.UPN, Name: t.Name})
		}
	}
	for id, t := range c.Tenants {
		s.Clients = append(s.Clients, id)
		s.Admins[id] = append(s.Admins[id], t.Admins...)
	}
	slices.Sort(s.Clients)
	return s
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
func demoStaff(s *sim.Server) bot.Staff {
	st := bot.Staff{
		Home:        demoHome,
		Technicians: []bot.Technician{{UPN: demoTechnician, Name: "Tess Nguyen"}},
		Admins:      map[tierzero.TenantID][]string{},
	}
	for _, name := range s.Tenants() {
		id := tierzero.TenantID(name)
		st.Clients = append(st.Clients, id)
		state, _ := s.State(name)
		for _, u := range state.Users {
			if len(u.DirectoryRoles) > 0 && u.AccountEnabled {
				st.Admins[id] = append(st.Admins[id], u.UserPrincipalName)
			}
		}
	}
	slices.Sort(st.Clients)
	return st
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
	file = a.configPath(file)
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
	if _, ok := staffOf(c).Technician(upn); ok {
		return c.MSP.Tenant, nil
	}
	return "", nil
}

// technicianIntro tells a technician where they may act.
func (a *app) technicianIntro(rt *runtime, req tierzero.Requester) {
	ts := rt.reach.Across(req)
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
