package sim

// This file: scenario changes. Tests and evaluation scenarios (eval/) start
// from the seed and apply a few edits through Change before anything talks to
// the simulator: a profile field that says something unusual, a device with
// another name, a sign-in log entry with an arbitrary failure reason, a
// disabled account, a user with no MFA method left. Changes are not Graph
// requests: they are not journaled.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Change is one edit of a tenant's state. Exactly one of User, Device,
// Group and CAPolicy names what it edits; the other fields say how.
type Change struct {
	// User is a UPN or object id; Device a device name or id; Group and
	// CAPolicy (a Conditional Access policy) a display name or id.
	User, Device, Group, CAPolicy string
	// Set assigns fields. Users: displayName, givenName, surname, jobTitle,
	// department, officeLocation, mail, preferredLanguage, usageLocation,
	// accountEnabled, forceChangePasswordNextSignIn ("true"/"false").
	// Devices: deviceName, model, manufacturer. Groups: displayName,
	// description. Conditional Access policies: excludeGroup (a group's
	// display name or id, added to conditions.users.excludeGroups), as if
	// seeded so (its modifiedDateTime stays).
	Set map[string]string
	// SignIn, for a User, adds an entry to the sign-in log.
	SignIn *SignInChange
	// RemoveAuthMethods, for a User, deletes every authentication method
	// but the password.
	RemoveAuthMethods bool
	// Risk, for a User, sets Identity Protection's risk level (none, low,
	// medium, high); any level but none is atRisk.
	Risk string
	// EligibleRole, for a User or a Group, makes it eligible in PIM for a
	// directory role (Global Administrator, User Administrator, Helpdesk
	// Administrator).
	EligibleRole string
	// Role, for a Group, assigns it a directory role; as in Entra, only a
	// role-assignable group can hold one.
	Role string
	// EligibleMember, for a Group, makes a user (UPN) eligible to activate
	// membership of it (PIM for Groups).
	EligibleMember string
}

// SignInChange is a sign-in log entry added by a Change. Zero fields take
// the seed's defaults: a successful browser sign-in to Exchange Online from
// the tenant's home city, Ago before now.
type SignInChange struct {
	Ago           time.Duration
	ErrorCode     int
	FailureReason string // default: Entra's text for ErrorCode
	Details       string // status.additionalDetails
	App           string // appDisplayName
	City, Country string
	Risk          string // none or high
}

// Change applies c to tenant. It fails, changing nothing, on an unknown
// tenant, object or field.
func (s *Server) Change(tenant string, c Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return fmt.Errorf("sim change: unknown tenant %q", tenant)
	}
	named := 0
	for _, n := range []string{c.User, c.Device, c.Group, c.CAPolicy} {
		if n != "" {
			named++
		}
	}
	if named != 1 {
		return fmt.Errorf("sim change: name exactly one user, device, group or Conditional Access policy")
	}
	switch {
	case c.User != "":
		return s.changeUser(t, c)
	case c.CAPolicy != "":
		if c.SignIn != nil || c.RemoveAuthMethods || c.Risk != "" || c.EligibleRole != "" || c.Role != "" || c.EligibleMember != "" {
			return fmt.Errorf("sim change: Conditional Access policy %q: only set applies to a policy", c.CAPolicy)
		}
		return changeCAPolicy(t, c)
	case c.Device != "":
		if c.SignIn != nil || c.RemoveAuthMethods || c.Risk != "" || c.EligibleRole != "" || c.Role != "" || c.EligibleMember != "" {
			return fmt.Errorf("sim change: device %q: only set applies to a device", c.Device)
		}
		return changeDevice(t, c)
	default:
		if c.SignIn != nil || c.RemoveAuthMethods || c.Risk != "" {
			return fmt.Errorf("sim change: group %q: only set and roles apply to a group", c.Group)
		}
		return changeGroup(t, c)
	}
}

func (s *Server) changeUser(t *tenant, c Change) error {
	u := t.lookup(c.User)
	if u == nil {
		return fmt.Errorf("sim change: no user %q in %s", c.User, t.name)
	}
	if c.Role != "" || c.EligibleMember != "" {
		return fmt.Errorf("sim change: user %q: a user's active roles are seeded; give EligibleRole (or a group's EligibleMember)", c.User)
	}
	next := u.User // validate everything before applying anything
	if c.EligibleRole != "" {
		if _, ok := roleTemplates[c.EligibleRole]; !ok {
			return fmt.Errorf("sim change: unknown directory role %q", c.EligibleRole)
		}
		next.EligibleRoles = append(slices.Clone(next.EligibleRoles), c.EligibleRole)
	}
	for k, v := range c.Set {
		var err error
		switch k {
		case "displayName":
			next.DisplayName = v
		case "givenName":
			next.GivenName = v
		case "surname":
			next.Surname = v
		case "jobTitle":
			next.JobTitle = v
		case "department":
			next.Department = v
		case "officeLocation":
			next.OfficeLocation = v
		case "mail":
			next.Mail = v
		case "preferredLanguage":
			next.PreferredLanguage = v
		case "usageLocation":
			next.UsageLocation = v
		case "accountEnabled":
			next.AccountEnabled, err = strconv.ParseBool(v)
		case "forceChangePasswordNextSignIn":
			next.ForceChangePasswordNextSignIn, err = strconv.ParseBool(v)
		default:
			return fmt.Errorf("sim change: user field %q cannot be set", k)
		}
		if err != nil {
			return fmt.Errorf("sim change: user field %s: %w", k, err)
		}
	}
	switch c.Risk {
	case "":
	case "none":
		next.Risk = &UserRisk{Level: "none", State: "dismissed", Detail: "none", LastUpdated: s.now().UTC()}
	case "low", "medium", "high":
		next.Risk = &UserRisk{Level: c.Risk, State: "atRisk", Detail: "none", LastUpdated: s.now().UTC()}
	default:
		return fmt.Errorf("sim change: unknown risk level %q", c.Risk)
	}
	if c.RemoveAuthMethods {
		// Copy on write: State's snapshots share the old slice.
		next.AuthenticationMethods = slices.DeleteFunc(slices.Clone(next.AuthenticationMethods),
			func(m AuthMethod) bool { return m.Type != typePassword })
	}
	if c.SignIn != nil {
		if err := s.addSignIn(t, u, *c.SignIn); err != nil {
			return err
		}
	}
	u.User = next
	return nil
}

// addSignIn adds an entry for u to the tenant's sign-in log, in time order.
func (s *Server) addSignIn(t *tenant, u *user, c SignInChange) error {
	cs := identityCases[t.name]
	if c.Ago < 0 {
		return fmt.Errorf("sim change: sign-in ago must not be negative")
	}
	x := signIn{
		id:  guid(t.name, "signIn", "change", strconv.Itoa(len(t.identity.signIns)), u.UserPrincipalName),
		upn: u.UserPrincipalName, userID: u.ID, displayName: u.DisplayName,
		at: s.now().UTC().Add(-c.Ago), app: c.App, clientApp: "Browser",
		errorCode: c.ErrorCode, failureReason: c.FailureReason, details: c.Details,
		city: c.City, country: c.Country, ip: "198.51.100.250", os: "Windows10", browser: "Edge 130.0.0", risk: c.Risk,
		mfa: c.ErrorCode == 0,
	}
	if x.app == "" {
		x.app = "Office 365 Exchange Online"
	}
	if x.failureReason == "" {
		x.failureReason = failureReasons[c.ErrorCode]
	}
	if x.city == "" && x.country == "" {
		x.city, x.country = cs.home[0], cs.home[1]
	}
	switch x.risk {
	case "":
		x.risk = "none"
	case "none", "high":
	default:
		return fmt.Errorf("sim change: sign-in risk must be none or high, not %q", c.Risk)
	}
	switch x.errorCode {
	case 0:
		x.caStatus = "success"
	case 53003:
		x.caStatus = "failure"
	default:
		x.caStatus = "notApplied"
	}
	log := append(slices.Clone(t.identity.signIns), x)
	slices.SortStableFunc(log, func(a, b signIn) int { return a.at.Compare(b.at) })
	t.identity.signIns = log
	return nil
}

func changeDevice(t *tenant, c Change) error {
	i := slices.IndexFunc(t.devices, func(d Device) bool {
		return strings.EqualFold(d.ID, c.Device) || strings.EqualFold(d.DeviceName, c.Device)
	})
	if i < 0 {
		return fmt.Errorf("sim change: no device %q in %s", c.Device, t.name)
	}
	next := t.devices[i]
	for k, v := range c.Set {
		switch k {
		case "deviceName":
			next.DeviceName = v
		case "model":
			next.Model = v
		case "manufacturer":
			next.Manufacturer = v
		default:
			return fmt.Errorf("sim change: device field %q cannot be set", k)
		}
	}
	t.devices[i] = next
	return nil
}

func changeGroup(t *tenant, c Change) error {
	i := slices.IndexFunc(t.groups, func(g Group) bool {
		return strings.EqualFold(g.ID, c.Group) || strings.EqualFold(g.DisplayName, c.Group)
	})
	if i < 0 {
		return fmt.Errorf("sim change: no group %q in %s", c.Group, t.name)
	}
	next := t.groups[i]
	for k, v := range c.Set {
		switch k {
		case "displayName":
			next.DisplayName = v
		case "description":
			next.Description = v
		default:
			return fmt.Errorf("sim change: group field %q cannot be set", k)
		}
	}
	for _, role := range []string{c.Role, c.EligibleRole} {
		if _, ok := roleTemplates[role]; role != "" && !ok {
			return fmt.Errorf("sim change: unknown directory role %q", role)
		}
	}
	if (c.Role != "" || c.EligibleRole != "") && !next.IsAssignableToRole {
		return fmt.Errorf("sim change: group %q is not role-assignable: it cannot hold a directory role", c.Group)
	}
	if c.Role != "" {
		next.Roles = append(slices.Clone(next.Roles), c.Role)
	}
	if c.EligibleRole != "" {
		next.EligibleRoles = append(slices.Clone(next.EligibleRoles), c.EligibleRole)
	}
	if c.EligibleMember != "" {
		u := t.lookup(c.EligibleMember)
		if u == nil {
			return fmt.Errorf("sim change: no user %q in %s", c.EligibleMember, t.name)
		}
		next.EligibleMembers = append(slices.Clone(next.EligibleMembers), u.UserPrincipalName)
	}
	t.groups[i] = next
	return nil
}

// changeCAPolicy edits a Conditional Access policy as if it had been seeded
// so: the policy and every version of its history (baseline_signins.go).
func changeCAPolicy(t *tenant, c Change) error {
	b := t.baseline()
	i := slices.IndexFunc(b.caPolicies, func(p map[string]any) bool {
		id, _ := p["id"].(string)
		name, _ := p["displayName"].(string)
		return strings.EqualFold(id, c.CAPolicy) || name == c.CAPolicy
	})
	if i < 0 {
		return fmt.Errorf("sim change: no Conditional Access policy %q in %s", c.CAPolicy, t.name)
	}
	var exclude []string
	for k, v := range c.Set {
		switch k {
		case "excludeGroup":
			g := slices.IndexFunc(t.groups, func(g Group) bool { return strings.EqualFold(g.ID, v) || g.DisplayName == v })
			if g < 0 {
				return fmt.Errorf("sim change: no group %q in %s", v, t.name)
			}
			exclude = append(exclude, t.groups[g].ID)
		default:
			return fmt.Errorf("sim change: Conditional Access policy field %q cannot be set", k)
		}
	}
	edit := func(p map[string]any) map[string]any {
		p = deepCopy(p)
		cond, _ := p["conditions"].(map[string]any)
		users, _ := cond["users"].(map[string]any)
		if users == nil {
			return p
		}
		l, _ := users["excludeGroups"].([]any)
		for _, id := range exclude {
			l = append(slices.Clone(l), id)
		}
		users["excludeGroups"] = l
		return p
	}
	id := strings.ToLower(fmt.Sprint(b.caPolicies[i]["id"]))
	b.caPolicies[i] = edit(b.caPolicies[i])
	for j := range b.caHistory {
		if b.caHistory[j].id == id && b.caHistory[j].policy != nil {
			b.caHistory[j].policy = edit(b.caHistory[j].policy)
		}
	}
	return nil
}
