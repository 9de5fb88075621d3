package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// lifecycleRoutes are the OneDrive endpoints an offboarding uses: the
// user's drive, and invitations to and permissions of its root.
var lifecycleRoutes = []route{
	{http.MethodPost, "users", (*Server).createUser},
	{http.MethodGet, "users/{user}/drive", (*Server).getDrive},
	{http.MethodPost, "drives/{drive}/items/root/invite", (*Server).inviteRoot},
	{http.MethodPost, "drives/{drive}/root/invite", (*Server).inviteRoot},
	{http.MethodGet, "drives/{drive}/items/root/permissions", (*Server).rootPermissions},
	{http.MethodGet, "drives/{drive}/root/permissions", (*Server).rootPermissions},
}

// drivePerm is one permission on the root of a OneDrive.
type drivePerm struct {
	ID    string
	Email string
	Roles []string
}

// driveState holds the simulated tenants' OneDrive permissions, by tenant
// and drive id. It lives beside the tenant (not in it) so that this area's
// state is its own; it is guarded by Server.mu like the rest.
var driveState sync.Map // *tenant -> map[string][]drivePerm

func (t *tenant) drivePerms() map[string][]drivePerm {
	v, _ := driveState.LoadOrStore(t, map[string][]drivePerm{})
	return v.(map[string][]drivePerm)
}

// driveID is the id of a user's OneDrive: one per user, fixed.
func driveID(u *user) string { return "b!" + strings.ReplaceAll(u.ID, "-", "") }

// getDrive answers GET /users/{id}/drive: a business OneDrive for a user
// who holds a license (Graph answers 404 for a user whose OneDrive was
// never provisioned).
// https://learn.microsoft.com/graph/api/drive-get
func (s *Server) getDrive(c *call) reply {
	if len(c.user.AssignedLicenses) == 0 {
		return fail(http.StatusNotFound, "itemNotFound", "The user's OneDrive was not found.")
	}
	return ok(map[string]any{
		"@odata.context": metadata + "#drives/$entity",
		"id":             driveID(c.user), "driveType": "business", "name": "OneDrive",
		"owner": map[string]any{"user": map[string]any{"id": c.user.ID, "displayName": c.user.DisplayName}},
	})
}

// driveOwner resolves the {drive} parameter to its owner.
func (c *call) driveOwner() *user {
	for _, u := range c.t.users {
		if driveID(u) == c.params["drive"] {
			return u
		}
	}
	return nil
}

// inviteRoot answers POST /drives/{drive-id}/items/root/invite: each
// recipient (a user of the tenant: app-only access cannot invite new
// guests) gets the roles on the root, at once when sendInvitation is false.
// Roles are read or write. Inviting again who already holds the role adds
// nothing.
// https://learn.microsoft.com/graph/api/driveitem-invite
func (s *Server) inviteRoot(c *call) reply {
	owner := c.driveOwner()
	if owner == nil {
		return fail(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	}
	var body struct {
		Recipients     []struct{ Email string } `json:"recipients"`
		Roles          []string                 `json:"roles"`
		RequireSignIn  *bool                    `json:"requireSignIn"`
		SendInvitation *bool                    `json:"sendInvitation"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || len(body.Recipients) == 0 || len(body.Roles) == 0 {
		return badRequest("Invalid request: recipients and roles are required.")
	}
	for _, r := range body.Roles {
		if r != "read" && r != "write" {
			return badRequest("Invalid role: " + r)
		}
	}
	if body.RequireSignIn != nil && !*body.RequireSignIn || body.SendInvitation == nil || *body.SendInvitation {
		return badRequest("Invalid request: this tenant's sharing policy requires sign-in, and an invitation cannot be sent by an application.")
	}
	perms := c.t.drivePerms()
	id := driveID(owner)
	var out []map[string]any
	for _, r := range body.Recipients {
		u := c.t.lookup(r.Email)
		if u == nil {
			return fail(http.StatusBadRequest, "invalidRequest", "One or more recipients could not be resolved.")
		}
		p := drivePerm{ID: "perm-" + u.ID, Email: u.UserPrincipalName, Roles: body.Roles}
		found := false
		for i, q := range perms[id] {
			if q.ID == p.ID {
				perms[id][i].Roles, found = body.Roles, true
			}
		}
		if !found {
			perms[id] = append(perms[id], p)
		}
		out = append(out, permJSON(p))
	}
	return ok(map[string]any{"@odata.context": metadata + "#Collection(permission)", "value": out})
}

// rootPermissions answers GET /drives/{drive-id}/items/root/permissions.
// https://learn.microsoft.com/graph/api/driveitem-list-permissions
func (s *Server) rootPermissions(c *call) reply {
	owner := c.driveOwner()
	if owner == nil {
		return fail(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	}
	out := []map[string]any{{"id": "owner", "roles": []string{"owner"},
		"grantedToV2": map[string]any{"user": map[string]any{"id": owner.ID, "email": owner.UserPrincipalName}}}}
	for _, p := range c.t.drivePerms()[driveID(owner)] {
		out = append(out, permJSON(p))
	}
	return ok(map[string]any{"@odata.context": metadata + "#Collection(permission)", "value": out})
}

func permJSON(p drivePerm) map[string]any {
	return map[string]any{"id": p.ID, "roles": p.Roles,
		"grantedToV2": map[string]any{"user": map[string]any{"email": p.Email}},
		"invitation":  map[string]any{"email": p.Email, "signInRequired": true}}
}

// DriveGrantees returns who holds a role on the root of user's OneDrive in
// tenant besides its owner, by UPN, with their roles: for tests.
func (s *Server) DriveGrantees(tenant, user string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return nil
	}
	u := t.lookup(user)
	if u == nil {
		return nil
	}
	out := map[string][]string{}
	for _, p := range t.drivePerms()[driveID(u)] {
		out[strings.ToLower(p.Email)] = p.Roles
	}
	return out
}

// createUser answers POST /users: accountEnabled, displayName, mailNickname,
// userPrincipalName and passwordProfile are required; the UPN's domain must
// be the tenant's and unused; the password must meet the complexity rules.
// The new account has no license, no group and no manager (set apart with
// PUT /users/{id}/manager/$ref), and no authentication method.
// https://learn.microsoft.com/graph/api/user-post-users
func (s *Server) createUser(c *call) reply {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &body); err != nil || body == nil {
		return badRequest("Invalid request body.")
	}
	for _, k := range []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"} {
		if _, ok := body[k]; !ok {
			return fail(http.StatusBadRequest, "Request_BadRequest", "A value is required for property '"+k+"' of resource 'User'.")
		}
	}
	next := User{DirectoryRoles: []string{}, EligibleRoles: []string{}, AssignedLicenses: []string{}, BusinessPhones: []string{},
		PreferredLanguage: "en-US", LastPasswordChangeDateTime: s.now().UTC().Truncate(time.Second)}
	next.SignInSessionsValidFromDateTime = next.LastPasswordChangeDateTime
	hash, bad := s.applyUserProps(&next, body, creatable)
	if bad.code != "" {
		return bad
	}
	if hash == nil {
		return fail(http.StatusBadRequest, "Request_BadRequest", "A password is required in passwordProfile.")
	}
	local, domain, ok := strings.Cut(next.UserPrincipalName, "@")
	if !ok || local == "" || !strings.EqualFold(domain, c.t.domain) {
		return fail(http.StatusBadRequest, "Request_BadRequest", "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
	}
	if c.t.lookup(next.UserPrincipalName) != nil {
		return fail(http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
	}
	next.UserPrincipalName = strings.ToLower(local) + "@" + c.t.domain
	next.Mail = next.UserPrincipalName
	next.ID = guid(c.t.name, "user", next.UserPrincipalName)
	u := &user{User: next, passwordHash: *hash}
	c.t.users = append(c.t.users, u)
	c.t.byKey[strings.ToLower(u.ID)] = u
	c.t.byKey[strings.ToLower(u.UserPrincipalName)] = u
	rep := ok201(userJSON(u, nil, "users/$entity", ""))
	return rep
}

func ok201(body any) reply { return reply{status: http.StatusCreated, body: body} }
