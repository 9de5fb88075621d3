package bot

import (
	"context"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// Staff says who is more than an employee, from configuration (never from
// text): the MSP's technicians, who work from the MSP's own tenant id, and
// each client tenant's admins.
type Staff struct {
	// Home is the MSP's own tenant id; "" when there is no MSP.
	Home        tierzero.TenantID
	Technicians []Technician
	// Admins are each client tenant's tenant_admin user principal names.
	Admins map[tierzero.TenantID][]string
	// ClientTechnicians are MSP technicians who work with an account of a
	// client's own directory (a B2B guest or a dedicated admin account):
	// their role there is msp_technician.
	ClientTechnicians map[tierzero.TenantID][]string
	// Clients are the client tenants.
	Clients []tierzero.TenantID
}

// Technician is one of the MSP's technicians, as their chat platform
// verifies them.
type Technician struct {
	UPN  string
	Name string
}

// Technician returns the requester of an MSP technician, from
// configuration.
func (s Staff) Technician(upn string) (tierzero.Requester, bool) {
	if s.Home == "" || upn == "" {
		return tierzero.Requester{}, false
	}
	for _, t := range s.Technicians {
		if strings.EqualFold(t.UPN, upn) {
			return tierzero.Requester{Tenant: s.Home, UPN: t.UPN, DisplayName: t.Name, Role: tierzero.RoleMSPTechnician}, true
		}
	}
	return tierzero.Requester{}, false
}

// Role is the role of a user of a client tenant.
func (s Staff) Role(t tierzero.TenantID, upn string) tierzero.Role {
	is := func(a string) bool { return strings.EqualFold(a, upn) }
	switch {
	case slices.ContainsFunc(s.ClientTechnicians[t], is):
		return tierzero.RoleMSPTechnician
	case slices.ContainsFunc(s.Admins[t], is):
		return tierzero.RoleTenantAdmin
	}
	return tierzero.RoleEmployee
}

// Known reports whether t is a tenant of the configuration: a client or
// the MSP's own.
func (s Staff) Known(t tierzero.TenantID) bool {
	return t != "" && (t == s.Home || slices.Contains(s.Clients, t))
}

// Identify turns the user a channel verified into the Requester the agent
// and policy see: an MSP technician in the MSP's tenant from configuration;
// anyone else looked up in the tenant's directory, by object id when the
// platform gives one (Teams), else by the user principal name it vouches
// for, with the role configuration gives them. A user the directory does
// not know, or whose object id and name disagree, is EUnauthorized.
func (d *Desk) Identify(ctx context.Context, tenant tierzero.TenantID, ch tierzero.Channel, u tierzero.PlatformUser) (tierzero.Requester, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.Requester{}, err
	}
	st := d.cfg.Staff
	if !st.Known(tenant) {
		return tierzero.Requester{}, tierzero.Errorf(tierzero.EUnauthorized, "tenant %s is not configured here", tenant)
	}
	if st.Home != "" && tenant == st.Home {
		req, ok := st.Technician(u.UPN)
		if !ok {
			return tierzero.Requester{}, tierzero.Errorf(tierzero.EUnauthorized, "%s is not a technician of the MSP (%s)", u.UPN, tenant)
		}
		req.Channel = ch
		return req, nil
	}
	ref := u.ObjectID
	if ref == "" {
		ref = u.UPN
	}
	if ref == "" {
		return tierzero.Requester{}, tierzero.Errorf(tierzero.EUnauthorized, "the platform did not say who you are")
	}
	f, err := d.cfg.Directory.User(ctx, tenant, ref)
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.ENotFound {
			return tierzero.Requester{}, tierzero.Errorf(tierzero.EUnauthorized, "no user %s in tenant %s", ref, tenant)
		}
		return tierzero.Requester{}, err
	}
	if (u.ObjectID != "" && f.ObjectID != u.ObjectID) || (u.UPN != "" && u.ObjectID == "" && !strings.EqualFold(f.UPN, u.UPN)) {
		return tierzero.Requester{}, tierzero.Errorf(tierzero.EUnauthorized, "the directory does not confirm who you are")
	}
	name := f.DisplayName
	if name == "" {
		name = u.DisplayName
	}
	return tierzero.Requester{
		Tenant: tenant, UPN: f.UPN, ObjectID: f.ObjectID, DisplayName: name,
		Role: st.Role(tenant, f.UPN), Channel: ch,
	}, nil
}
