package sim

// This file: the caller's directory roles. Graph checks, on top of an
// app's permissions, the Microsoft Entra roles assigned to the app's
// service principal before sensitive writes, and answers 403
// Authorization_RequestDenied ("Insufficient privileges to complete the
// operation.") when none of the roles that allow the write is held:
//
//   - password reset (PATCH passwordProfile) app-only needs at least User
//     Administrator, or a role that resets non-admins' passwords (Helpdesk,
//     Password, Authentication Administrator); an admin's, or a member of a
//     role-assignable group's, needs Privileged Authentication Administrator
//     or Global Administrator (learn.microsoft.com/en-us/graph/api/user-update,
//     passwordProfile; learn.microsoft.com/en-us/answers/questions/360090);
//   - accountEnabled: User Administrator and above, never Helpdesk
//     Administrator; an admin's needs Privileged Authentication Administrator
//     (learn.microsoft.com/en-us/graph/api/user-update, accountEnabled);
//   - authentication methods (TAP, deleting methods) and revoking sessions
//     of an admin: Privileged Authentication Administrator;
//   - members of a role-assignable group: Privileged Role Administrator
//     (learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
//
// Each tenant holds the roles of tierzero's app (appState); /_sim/app reads
// and replaces them. route checks them (authorize) before any handler runs;
// a delegated token is checked against the signed-in user's roles instead.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// appState is what the simulator knows of tierzero's app in a tenant.
type appState struct {
	roles []string // directory roles of the app's service principal, by display name
}

// seededAppRoles are the roles the seeded tenants give tierzero's app: all
// the L1 and L2 tools need, and no Global Administrator.
var seededAppRoles = []string{
	"User Administrator",
	"Privileged Authentication Administrator",
	"Privileged Role Administrator",
}

// AppState is the app's side of a tenant as /_sim/app shows it.
type AppState struct {
	Tenant string   `json:"tenant"`
	Roles  []string `json:"roles"` // directory role display names
}

// App returns the directory roles tierzero's app holds in tenant, and false
// for an unknown tenant.
func (s *Server) App(tenant string) (AppState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return AppState{}, false
	}
	return AppState{Tenant: t.name, Roles: slices.Clone(t.app.roles)}, true
}

// SetAppRoles replaces the directory roles of tierzero's app in tenant. It
// fails for an unknown tenant or role.
func (s *Server) SetAppRoles(tenant string, roles []string) error {
	clean := []string{}
	for _, r := range roles {
		name, ok := canonicalRole(r)
		if !ok {
			return fmt.Errorf("unknown directory role %q", r)
		}
		if !slices.Contains(clean, name) {
			clean = append(clean, name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	t.app.roles = clean
	return nil
}

// canonicalRole returns a role template's display name, matched
// case-insensitively.
func canonicalRole(name string) (string, bool) {
	for n := range roleTemplates {
		if strings.EqualFold(n, strings.TrimSpace(name)) {
			return n, true
		}
	}
	return "", false
}

// serveApp serves /_sim/app?tenant=T: GET shows the app's roles, PUT
// replaces them with the body's {"roles": [...]}.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("tenant")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut:
		body, err := readBody(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, simError("invalid", err.Error()))
			return
		}
		var in struct {
			Roles []string `json:"roles"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || in.Roles == nil {
			writeJSON(w, http.StatusBadRequest, simError("invalid", `app: the body must be {"roles": [role names]}`))
			return
		}
		if _, ok := s.App(name); !ok {
			break // 404 below
		}
		if err := s.SetAppRoles(name, in.Roles); err != nil {
			writeJSON(w, http.StatusBadRequest, simError("invalid", "app: "+err.Error()))
			return
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
		return
	}
	if st, ok := s.App(name); ok {
		writeJSON(w, http.StatusOK, st)
		return
	}
	writeJSON(w, http.StatusNotFound, simError("not_found", fmt.Sprintf("unknown tenant %q", name)))
}

// errInsufficientPrivileges is Graph's answer when the caller's roles do
// not allow a write.
var errInsufficientPrivileges = fail(http.StatusForbidden, "Authorization_RequestDenied",
	"Insufficient privileges to complete the operation.")

// The roles any one of which allows a sensitive write, on an ordinary target
// and on a privileged one (an admin, or a member of a role-assignable group).
var (
	privilegedAuthRoles = []string{"Privileged Authentication Administrator", "Global Administrator"}
	passwordRoles       = []string{"Helpdesk Administrator", "Password Administrator", "Authentication Administrator",
		"User Administrator", "Privileged Authentication Administrator", "Global Administrator"}
	enableRoles         = []string{"User Administrator", "Privileged Authentication Administrator", "Global Administrator"}
	roleAssignableRoles = []string{"Privileged Role Administrator", "Global Administrator"}
)

// authorize checks the app's roles for the routed request, before its
// handler runs: a 403 reply when they do not allow it, the zero reply when
// they do (or when the target is missing: the handler answers 404).
func (s *Server) authorize(rt route, c *call) reply {
	var needs [][]string // each: the roles any one of which allows one part of the write
	switch {
	case rt.method == http.MethodPatch && rt.pattern == "users/{user}":
		var props map[string]json.RawMessage
		if json.Unmarshal(c.body, &props) != nil {
			return reply{} // the handler answers the bad payload
		}
		priv := c.t.privileged(c.user)
		if _, ok := props["passwordProfile"]; ok {
			needs = append(needs, pick(priv, passwordRoles))
		}
		if _, ok := props["accountEnabled"]; ok {
			needs = append(needs, pick(priv, enableRoles))
		}
	case rt.method == http.MethodPost && rt.pattern == "users/{user}/revokeSignInSessions",
		rt.method == http.MethodPost && rt.pattern == "users/{user}/authentication/temporaryAccessPassMethods",
		rt.method == http.MethodDelete && strings.HasPrefix(rt.pattern, "users/{user}/authentication/"):
		if c.t.privileged(c.user) {
			needs = append(needs, privilegedAuthRoles)
		}
	case rt.method == http.MethodPost && rt.pattern == "groups/{group}/members/$ref",
		rt.method == http.MethodDelete && rt.pattern == "groups/{group}/members/{member}/$ref":
		if g, _ := c.t.findGroup(c.params["group"]); g != nil && g.IsAssignableToRole {
			needs = append(needs, roleAssignableRoles)
		}
	}
	// Whose roles count: the app's for an application token, the
	// signed-in user's for a delegated one; a technician's through GDAP
	// are the relationship's, which gdapDenied (gdap.go) checks.
	held := c.t.app.roles
	switch who := callerOf(c.r); {
	case who.partner != "":
		return reply{}
	case who.delegated():
		held = nil
		me := c.t.lookup(who.user)
		if me != nil {
			held = me.DirectoryRoles
		}
		// A delegated caller acting on others needs a role for every
		// write, not only the sensitive ones: "the signed-in user must be
		// assigned a supported Microsoft Entra role"
		// (learn.microsoft.com/en-us/graph/permissions-overview, delegated
		// permissions; each API's page lists the least privileged roles,
		// the same a GDAP token needs: gdapNeeds). Writes to one's own
		// mailbox settings need none.
		if segs, err := segments(c.r.URL.EscapedPath()); err == nil && !slices.Contains(held, "Global Administrator") && !ownMailbox(me, segs) {
			needs = append(needs, gdapNeeds(c.t, c.r.Method, segs, c.body)...)
		}
	}
	needs = slices.DeleteFunc(needs, func(n []string) bool { return len(n) == 0 })
	if len(needs) == 0 {
		return reply{}
	}
	for _, need := range needs {
		if !slices.ContainsFunc(need, func(r string) bool { return slices.Contains(held, r) }) {
			return errInsufficientPrivileges
		}
	}
	return reply{}
}

// ownMailbox reports whether segs address the mailbox settings of me.
func ownMailbox(me *user, segs []string) bool {
	return me != nil && len(segs) >= 3 && segs[0] == "users" && segs[2] == "mailboxSettings" &&
		(strings.EqualFold(segs[1], me.UserPrincipalName) || segs[1] == me.ID)
}

// pick returns the privileged roles for a privileged target, else ordinary.
func pick(privileged bool, ordinary []string) []string {
	if privileged {
		return privilegedAuthRoles
	}
	return ordinary
}

// privileged reports whether u is protected by Graph's sensitive-action
// rules: u holds an active directory role, or is a member of a
// role-assignable group.
func (t *tenant) privileged(u *user) bool {
	if u == nil {
		return false
	}
	if len(u.DirectoryRoles) > 0 {
		return true
	}
	for _, g := range t.groups {
		if g.IsAssignableToRole && containsFold(g.Members, u.UserPrincipalName) {
			return true
		}
	}
	return false
}
