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

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

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
	RoleSecurityAdmin       = "Security Administrator"
	RoleSecurityOperator    = "Security Operator"
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

// Roles for authentication methods of ordinary users, and for risk actions.
var (
	authMethodRoles = []string{RoleAuthAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin}
	riskRoles       = []string{RoleSecurityAdmin, RoleSecurityOperator, RoleGlobalAdmin}
)

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
	// One method removed, a phone added or changed: the application
	// permission (UserAuthenticationMethod.ReadWrite.All) reaches ordinary
	// users; a caller acting with its roles needs Authentication
	// Administrator, an admin's methods Privileged Authentication
	// Administrator (https://learn.microsoft.com/en-us/graph/api/authentication-post-phonemethods,
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/delegate-by-task).
	ActionUserRemoveAuthMethod: {ordinary: authMethodRoles, privileged: privilegedAuth},
	ActionUserSetPhoneMethod:   {ordinary: authMethodRoles, privileged: privilegedAuth},
	// Identity Protection's dismiss and confirm compromised: Security
	// Administrator is the least role Graph names for them
	// (https://learn.microsoft.com/en-us/graph/api/riskyuser-dismiss); Security
	// Operator manages user risk too (delegate-by-task, Identity Protection).
	ActionUserDismissRisk:        {ordinary: riskRoles, privileged: riskRoles},
	ActionUserConfirmCompromised: {ordinary: riskRoles, privileged: riskRoles},
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

// roleWork names, for the message of a missing role, what action does to a
// target described as who ("a user", "an administrator").
var roleWork = map[string]string{
	ActionUserResetPassword:      "reset the password of %s",
	ActionUserEnable:             "enable the account of %s",
	ActionUserBlockSignIn:        "block sign-in for %s",
	ActionUserIssueTAP:           "issue a Temporary Access Pass to %s",
	ActionUserResetMFA:           "reset the MFA methods of %s",
	ActionUserRevokeSessions:     "sign %s out everywhere",
	ActionUserRemoveAuthMethod:   "remove an authentication method of %s",
	ActionUserSetPhoneMethod:     "set a phone method of %s",
	ActionUserDismissRisk:        "dismiss the risk of %s",
	ActionUserConfirmCompromised: "confirm %s as compromised",
	ActionGroupAddMember:         "add members to %s",
	ActionGroupRemoveMember:      "remove members from %s",
}

// onPremisesWork names the writes Graph refuses on a user synced from
// on-premises Active Directory (400 "Unable to update the specified
// properties for on-premises mastered Directory Sync objects"), and what
// they would change.
var onPremisesWork = map[string]string{
	ActionUserResetPassword: "reset the password of",
	ActionUserEnable:        "enable",
	ActionUserBlockSignIn:   "block sign-in for",
	ActionUserSetManager:    "change the manager of",
}

// guard wraps a write tool that Graph may refuse for the caller's roles or
// for a synced target: before the write it reads whether the target user is
// synced from on-premises Active Directory and, if so, does not try; after
// a refusal it says in plain words which directory role is missing.
func guard(t tool) tool {
	_, roles := roleNeeds[t.spec.Action]
	_, synced := onPremisesWork[t.spec.Action]
	if !t.spec.Write || (!roles && !synced) {
		return t
	}
	run, action := t.run, t.spec.Action
	t.run = func(c *Client, ctx context.Context, tenant tierzero.TenantID, args json.RawMessage) (any, tierzero.Secret, error) {
		if synced {
			if err := c.checkCloudManaged(ctx, tenant, action, args); err != nil {
				return nil, noSecret, err
			}
		}
		out, secret, err := run(c, ctx, tenant, args)
		if err != nil {
			err = c.explainRefusal(ctx, tenant, action, args, err)
		}
		return out, secret, err
	}
	return t
}

// checkCloudManaged refuses, before any write, a change Graph would refuse
// because the target user is synced from on-premises Active Directory.
func (c *Client) checkCloudManaged(ctx context.Context, tenant tierzero.TenantID, action string, args json.RawMessage) error {
	ref, err := argUser(args)
	if err != nil {
		return err
	}
	u, err := c.getUser(ctx, tenant, ref, "id", "userPrincipalName", "onPremisesSyncEnabled")
	if err != nil {
		return err
	}
	if p := u.GetOnPremisesSyncEnabled(); p != nil && *p {
		return onPremisesError(action, str(u.GetUserPrincipalName()), nil)
	}
	return nil
}

// onPremisesError is the error of a write refused, by us or by Graph,
// because the user's account is managed in on-premises Active Directory.
func onPremisesError(action, upn string, cause error) error {
	e := tierzero.Errorf(tierzero.EConflict,
		"%s is synced from the company's on-premises Active Directory, so Microsoft 365 cannot %s this account: the change must be made in the on-premises directory, so the request must go to the MSP (nothing was changed)",
		upn, onPremisesWork[action])
	if cause == nil {
		return fmt.Errorf("%s: %w", action, e)
	}
	return fmt.Errorf("%s: %w: %w", action, e, cause)
}

// argUser returns the "user" argument of a call's canonical arguments.
func argUser(args json.RawMessage) (string, error) {
	m, err := argStrings(args, "user")
	if err != nil {
		return "", err
	}
	ref := strings.TrimSpace(m["user"])
	return ref, checkRef("user", ref)
}

// explainRefusal turns Graph's refusal of a write for the caller's roles
// (403 Authorization_RequestDenied) into the missing role in plain words,
// and its refusal of a synced user's change (400) into the on-premises
// error. Any other error is returned as it is.
func (c *Client) explainRefusal(ctx context.Context, tenant tierzero.TenantID, action string, args json.RawMessage, err error) error {
	code, msg := graphErrDetail(err)
	switch {
	case isStatus(err, 400) && strings.Contains(msg, "on-premises mastered"):
		if _, ok := onPremisesWork[action]; ok {
			ref, _ := argUser(args)
			return onPremisesError(action, ref, err)
		}
	case isStatus(err, 403) && code == "Authorization_RequestDenied":
		if _, ok := roleNeeds[action]; !ok {
			return err
		}
		priv, who, known := c.targetPrivileged(ctx, tenant, action, args)
		need := rolesNeeded(action, priv)
		if !known {
			need = rolesNeeded(action, true) // the strictest: what surely suffices
		}
		if len(need) == 0 {
			return err // no role is known to be needed: Graph refused for another reason
		}
		why := fmt.Sprintf(roleWork[action], who)
		also := ""
		if len(need) > 1 {
			also = " (" + strings.Join(need[1:], " or ") + " would also do)"
		}
		whose, fix := c.whoseRoles(tenant)
		return fmt.Errorf("%s: %w: %w", action, tierzero.Errorf(tierzero.EUnauthorized,
			"%s lacks the %s role needed to %s%s; %s (nothing was changed)",
			whose, need[0], why, also, fix), err)
	}
	return err
}

// whoseRoles names whose directory roles Graph checked in tenant, and who
// can grant the missing one: the MSP's GDAP relationship's for a client
// reached through GDAP, the signed-in admin's under delegated sign-in,
// else tierzero's app's.
func (c *Client) whoseRoles(tenant tierzero.TenantID) (whose, fix string) {
	switch {
	case c.cfg.GDAP.Serves(tenant):
		return "the MSP's GDAP relationship with this tenant",
			"the MSP must add the role to the relationship (the customer approves it)"
	case c.cfg.Delegated != nil && c.cfg.Delegated(tenant):
		return "the signed-in admin",
			"an administrator of the tenant must assign it to the admin who signed tierzero in, or an admin who holds it must sign in instead"
	}
	return "tierzero's app in this tenant",
		"an administrator of the tenant or the MSP must assign it to the app in Microsoft Entra ID"
}

// targetPrivileged reads whether the target of a call is privileged in
// Graph's sense (rolesNeeded), and describes it; known is false when it
// could not be read.
func (c *Client) targetPrivileged(ctx context.Context, tenant tierzero.TenantID, action string, args json.RawMessage) (privileged bool, who string, known bool) {
	if action == ActionGroupAddMember || action == ActionGroupRemoveMember {
		m, err := argStrings(args, "group")
		if err != nil || checkGroupID(m["group"]) != nil {
			return false, "this group", false
		}
		g, err := c.getGroup(ctx, tenant, m["group"])
		if err != nil {
			return false, "this group", false
		}
		if groupBool(g.GetIsAssignableToRole()) {
			return true, "a role-assignable group", true
		}
		return false, "this group", true
	}
	ref, err := argUser(args)
	if err != nil {
		return false, "this user", false
	}
	admin, member, err := c.privilegedUser(ctx, tenant, ref)
	switch {
	case err != nil:
		return false, "this user (if an administrator)", false
	case admin:
		return true, "an administrator", true
	case member:
		return true, "a member of a role-assignable group", true
	}
	return false, "a user", true
}

// privilegedUser reads whether a user holds a directory role (admin) or is
// a member of a role-assignable group (member), from one page of memberOf.
func (c *Client) privilegedUser(ctx context.Context, tenant tierzero.TenantID, ref string) (admin, member bool, err error) {
	ub, err := c.users(tenant)
	if err != nil {
		return false, false, err
	}
	top := int32(userGroupsMax)
	page, err := ub.ByUserId(ref).MemberOf().Get(ctx, &users.ItemMemberOfRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfRequestBuilderGetQueryParameters{Top: &top},
	})
	if err != nil {
		return false, false, graphError("get memberships", err)
	}
	for _, o := range page.GetValue() {
		switch o := o.(type) {
		case models.DirectoryRoleable:
			admin = true
		case models.Groupable:
			member = member || groupBool(o.GetIsAssignableToRole())
		}
	}
	return admin, member, nil
}
