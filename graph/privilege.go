package graph

// This file: the directory roles tierzero's app (or the signed-in caller)
// must hold in a tenant for a write to go through. Graph checks them on top
// of the app's permissions and answers 403 Authorization_RequestDenied
// ("Insufficient privileges to complete the operation.") when none is held.
//
// Sources:
//   - https://learn.microsoft.com/en-us/graph/api/user-update (passwordProfile:
//     app-only needs User.ReadWrite.All and at least the User Administrator
//     role; updating an administrator's password or accountEnabled needs a
//     higher privileged role)
//   - https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions
//     (who can reset passwords, who can perform sensitive actions: disable,
//     enable, authentication methods of admins need Privileged Authentication
//     Administrator; Helpdesk Administrator cannot enable or disable users)
//   - https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept
//     (membership of a role-assignable group is managed only by Privileged
//     Role Administrators, Global Administrators and the group's owners)

import "slices"

// Directory role display names (the names Graph's roleDefinitions and
// directoryRoles carry).
const (
	RoleGlobalAdmin         = "Global Administrator"
	RolePrivilegedAuthAdmin = "Privileged Authentication Administrator"
	RolePrivilegedRoleAdmin = "Privileged Role Administrator"
	RoleUserAdmin           = "User Administrator"
	RoleHelpdeskAdmin       = "Helpdesk Administrator"
	RolePasswordAdmin       = "Password Administrator"
	RoleAuthAdmin           = "Authentication Administrator"
)

// roleNeed is, for one action, the roles any one of which lets the caller
// run it on an ordinary target and on a privileged one. A nil list means no
// directory role is needed (the app's Graph permission suffices).
type roleNeed struct {
	ordinary, privileged []string
}

// privileged roles for sensitive actions on admins and on members of
// role-assignable groups.
var privilegedAuth = []string{RolePrivilegedAuthAdmin, RoleGlobalAdmin}

// roleNeeds lists the actions that need a directory role. An action absent
// from it needs none.
var roleNeeds = map[string]roleNeed{
	// Password reset (PATCH passwordProfile): Helpdesk, Password and
	// Authentication Administrators reset non-admins' passwords; User
	// Administrator too (and limited admins', which tierzero treats as
	// admins: privileged).
	ActionUserResetPassword: {
		ordinary:   []string{RoleHelpdeskAdmin, RolePasswordAdmin, RoleAuthAdmin, RoleUserAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin},
		privileged: privilegedAuth,
	},
	// accountEnabled: Helpdesk Administrator cannot enable or disable.
	ActionUserEnable: {
		ordinary:   []string{RoleUserAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin},
		privileged: privilegedAuth,
	},
	ActionUserBlockSignIn: {
		ordinary:   []string{RoleUserAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin},
		privileged: privilegedAuth,
	},
	// Authentication methods (TAP, MFA reset) and session revocation: the
	// application permission reaches ordinary users; an admin's need
	// Privileged Authentication Administrator.
	ActionUserIssueTAP:       {privileged: privilegedAuth},
	ActionUserResetMFA:       {privileged: privilegedAuth},
	ActionUserRevokeSessions: {privileged: privilegedAuth},
	// Membership of a role-assignable group (the target is the group:
	// privileged when it is role-assignable).
	ActionGroupAddMember:    {privileged: []string{RolePrivilegedRoleAdmin, RoleGlobalAdmin}},
	ActionGroupRemoveMember: {privileged: []string{RolePrivilegedRoleAdmin, RoleGlobalAdmin}},
}

// rolesNeeded returns the directory roles, any one of which lets the caller
// run action on a target; privilegedTarget means the target holds an admin
// role or is a member of a role-assignable group (for a group action: the
// group is role-assignable). nil means no directory role is needed.
func rolesNeeded(action string, privilegedTarget bool) []string {
	n, ok := roleNeeds[action]
	if !ok {
		return nil
	}
	if privilegedTarget {
		return slices.Clone(n.privileged)
	}
	return slices.Clone(n.ordinary)
}
