package graph

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// This file: the facts the policy engine reads about users, groups,
// licenses and devices. They name objects by object id, and they say what
// Graph says: whether a group can hold admin roles is its
// isAssignableToRole and the roles assigned to it, never its name.

// Bounds of the fact reads: a user or group has few roles.
const (
	userGroupsMax = 999 // groups of one page of memberOf; a second page is an error
	rolesPageMax  = 100 // role assignments or eligibilities of one principal
)

// User reads who a user is, in one request: object id, user principal
// name, display name and whether the account is enabled; the other facts
// are left unread. It is the identity lookup of every message (the desk),
// which must not depend on reads a tenant may refuse (risk needs Entra ID
// P2, roles need role-management permissions).
func (c *Client) User(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.UserFacts, error) {
	if err := checkRef("user", ref); err != nil {
		return tierzero.UserFacts{}, err
	}
	u, err := c.getUser(ctx, tenant, ref, "id", "userPrincipalName", "displayName", "accountEnabled")
	if err != nil {
		return tierzero.UserFacts{}, err
	}
	if str(u.GetId()) == "" {
		return tierzero.UserFacts{}, tierzero.Errorf(tierzero.EInternal, "Graph returned user %s without an id", ref)
	}
	return tierzero.UserFacts{
		ObjectID:       str(u.GetId()),
		UPN:            str(u.GetUserPrincipalName()),
		DisplayName:    str(u.GetDisplayName()),
		AccountEnabled: u.GetAccountEnabled() != nil && *u.GetAccountEnabled(),
	}, nil
}

// UserFacts reads what policy needs to know about a user: identity,
// department, manager, groups (object ids and names), risk level, and the
// admin roles the user holds: active directory roles, roles held as a
// member of a role-assignable group (a member holds its roles as surely as
// a direct assignee, and the group's roles may change at any time), and
// roles the user is eligible for in Privileged Identity Management (an
// eligible user activates the role at will).
//
// When the eligibilities cannot be read (Graph refuses: the app lacks
// RoleEligibilitySchedule.Read.Directory, or the tenant has no PIM) and no
// active role is known, AdminRoles is nil: missing, so that a policy
// condition on it denies rather than take the user for a non-admin.
func (c *Client) UserFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.UserFacts, error) {
	if err := checkRef("user", ref); err != nil {
		return tierzero.UserFacts{}, err
	}
	u, err := c.getUser(ctx, tenant, ref, "id", "userPrincipalName", "displayName", "department", "accountEnabled")
	if err != nil {
		return tierzero.UserFacts{}, err
	}
	if str(u.GetId()) == "" {
		return tierzero.UserFacts{}, tierzero.Errorf(tierzero.EInternal, "Graph returned user %s without an id", ref)
	}
	dept := str(u.GetDepartment())
	f := tierzero.UserFacts{
		ObjectID:       str(u.GetId()),
		UPN:            str(u.GetUserPrincipalName()),
		DisplayName:    str(u.GetDisplayName()),
		Department:     &dept,
		AccountEnabled: u.GetAccountEnabled() != nil && *u.GetAccountEnabled(),
		AdminRoles:     []string{},
	}
	ub, err := c.users(tenant)
	if err != nil {
		return f, err
	}
	item := ub.ByUserId(f.ObjectID)
	roles, err := item.MemberOf().GraphDirectoryRole().Get(ctx, nil)
	if err != nil {
		return f, graphError("get directory roles", err)
	}
	for _, r := range roles.GetValue() {
		f.AdminRoles = append(f.AdminRoles, str(r.GetDisplayName()))
	}
	if next := roles.GetOdataNextLink(); next != nil && *next != "" {
		// A user holds few roles; a second page would mean we cannot see them all.
		return f, tierzero.Errorf(tierzero.EInternal, "directory roles of %s span more than one page", f.UPN)
	}
	m, err := item.Manager().Get(ctx, nil)
	manager := ""
	switch {
	case err == nil:
		if mu, ok := m.(models.Userable); ok {
			manager = str(mu.GetUserPrincipalName())
		}
	case isStatus(err, 404):
		// no manager
	default:
		return f, graphError("get manager", err)
	}
	f.Manager = &manager
	// Groups, and admin roles held through role-assignable groups.
	top := int32(userGroupsMax)
	gs, err := item.MemberOf().GraphGroup().Get(ctx, &users.ItemMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "isAssignableToRole"}, Top: &top},
	})
	if err != nil {
		return f, graphError("get groups", err)
	}
	if next := gs.GetOdataNextLink(); next != nil && *next != "" {
		return f, tierzero.Errorf(tierzero.EInternal, "the groups of %s span more than one page", f.UPN)
	}
	f.Groups = []tierzero.GroupRef{} // read, even when empty: nil would mean "unknown" to policy
	for _, g := range gs.GetValue() {
		id, name := strings.ToLower(str(g.GetId())), str(g.GetDisplayName())
		if id == "" {
			return f, tierzero.Errorf(tierzero.EInternal, "Graph returned a group of %s without an id", f.UPN)
		}
		f.Groups = append(f.Groups, tierzero.GroupRef{ID: id, Name: name})
		if groupBool(g.GetIsAssignableToRole()) {
			f.AdminRoles = append(f.AdminRoles, "member of role-assignable group "+name)
		}
	}
	// Role assignments at any scope (memberOf lists only directory-wide
	// ones), and roles the user may activate in PIM, which count as held:
	// directory roles, and membership (or ownership) of role-assignable
	// groups (PIM for Groups).
	more, err := c.assignedRoles(ctx, tenant, f.ObjectID)
	for _, read := range []func(context.Context, tierzero.TenantID, string) ([]string, error){c.eligibleRoles, c.eligibleGroups} {
		if err != nil {
			break
		}
		var roles []string
		roles, err = read(ctx, tenant, f.ObjectID)
		more = append(more, roles...)
	}
	switch {
	case err != nil && len(f.AdminRoles) == 0:
		c.log.Warn("role assignments or eligibilities unreadable: the user's admin roles are unknown", "tenant", tenant, "user", f.UPN, "err", err)
		f.AdminRoles = nil
	case err != nil:
		c.log.Warn("role assignments or eligibilities unreadable", "tenant", tenant, "user", f.UPN, "err", err)
	default:
		for _, r := range more {
			if !slices.Contains(f.AdminRoles, r) {
				f.AdminRoles = append(f.AdminRoles, r)
			}
		}
	}
	level, err := c.riskLevel(ctx, tenant, f.ObjectID)
	if err != nil {
		return f, err
	}
	f.RiskLevel = level
	return f, nil
}

// riskUnknown is the RiskLevel of a user whose risk Graph cannot tell: the
// tenant has no Entra ID P2, or Graph refused to read Identity Protection.
// It is a known fact (policy's user_risk_max decides on it by the rule's
// user_risk_unknown), unlike "", which means not read.
const riskUnknown = "unknown"

// riskLevel reads Identity Protection's risk level of a user (by object
// id): "none" for a user never flagged, "unknown" when the tenant lacks
// Entra ID P2 (known from its subscriptions, the call is not made, or from
// Graph's licensing 403), "" (not read) when Graph refuses it otherwise.
func (c *Client) riskLevel(ctx context.Context, tenant tierzero.TenantID, id string) (string, error) {
	if c.lacks(ctx, tenant, hasP2) {
		return riskUnknown, nil
	}
	rb, err := c.riskyUsersBuilder(tenant)
	if err != nil {
		return "", err
	}
	risky, err := rb.ByRiskyUserId(id).Get(ctx, nil)
	switch {
	case err == nil:
		if lvl := risky.GetRiskLevel(); lvl != nil {
			return lvl.String(), nil
		}
		return "none", nil
	case isStatus(err, 404):
		return "none", nil // a user never flagged has no record
	case isLicenseGap(err):
		// No P2 (the subscriptions were unreadable or changed): a known
		// fact, which a rule may accept (user_risk_unknown: allow).
		c.forgetCapabilities(tenant)
		c.log.Warn("user risk unreadable without Entra ID P2: taken as unknown", "tenant", tenant, "user", id, "err", err)
		return riskUnknown, nil
	case isStatus(err, 403):
		// Any other refusal (no IdentityRiskyUser.Read.All) is not the
		// tenant's licence: the risk is not read, a missing fact that no
		// rule can accept, while the other facts stand.
		c.log.Warn("user risk unreadable: permission refused, the risk stays missing", "tenant", tenant, "user", id, "err", err)
		return "", nil
	}
	return "", graphError("get user risk", err)
}

// roleManagement returns the /roleManagement/directory request builders
// of a tenant: role assignments and eligibility schedule instances.
func (c *Client) roleManagement(tenant tierzero.TenantID) (*rolemanagement.DirectoryRoleAssignmentsRequestBuilder, *rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, nil, err
	}
	base := map[string]string{"baseurl": a.GetBaseUrl()}
	return rolemanagement.NewDirectoryRoleAssignmentsRequestBuilderInternal(base, a),
		rolemanagement.NewDirectoryRoleEligibilityScheduleInstancesRequestBuilderInternal(base, a), nil
}

// principalFilter is the $filter of a principal's assignments.
func principalFilter(id string) string { return "principalId eq " + odataString(id) }

// eligibleRoles reads the directory roles principal (a user or a group, by
// object id) is eligible for in PIM: roleEligibilityScheduleInstances,
// current and future ones.
func (c *Client) eligibleRoles(ctx context.Context, tenant tierzero.TenantID, principal string) ([]string, error) {
	_, eb, err := c.roleManagement(tenant)
	if err != nil {
		return nil, err
	}
	filter, top := principalFilter(principal), int32(rolesPageMax)
	resp, err := eb.Get(ctx, &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters{
			Filter: &filter, Expand: []string{"roleDefinition"}, Top: &top,
		},
	})
	if err != nil {
		return nil, graphError("get eligible roles", err)
	}
	if str(resp.GetOdataNextLink()) != "" {
		return nil, tierzero.Errorf(tierzero.EInternal, "the eligible roles of %s span more than one page", principal)
	}
	var out []string
	for _, e := range resp.GetValue() {
		out = append(out, "eligible for "+roleName(e.GetRoleDefinition(), e.GetRoleDefinitionId()))
	}
	return out, nil
}

// eligibleGroups reads the role-assignable groups whose membership or
// ownership principal may activate in PIM for Groups (an eligible member
// holds the group's roles once activated; an owner can make themselves a
// member), in words.
func (c *Client) eligibleGroups(ctx context.Context, tenant tierzero.TenantID, principal string) ([]string, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	b := identitygovernance.NewPrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	filter := principalFilter(principal) // required by Graph: a principal or a group
	resp, err := b.Get(ctx, &identitygovernance.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
		QueryParameters: &identitygovernance.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetQueryParameters{Filter: &filter},
	})
	if err != nil {
		return nil, graphError("get eligible group memberships", err)
	}
	if str(resp.GetOdataNextLink()) != "" {
		return nil, tierzero.Errorf(tierzero.EInternal, "the eligible group memberships of %s span more than one page", principal)
	}
	var out []string
	for _, e := range resp.GetValue() {
		id := str(e.GetGroupId())
		if !groupsGUID.MatchString(id) {
			return nil, tierzero.Errorf(tierzero.EInternal, "Graph returned an eligible group membership without a group id")
		}
		g, err := c.getGroup(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		if !groupBool(g.GetIsAssignableToRole()) {
			continue
		}
		access := "member"
		if x := e.GetAccessId(); x != nil && x.String() == "owner" {
			access = "owner"
		}
		out = append(out, "eligible "+access+" of role-assignable group "+str(g.GetDisplayName()))
	}
	return out, nil
}

// assignedRoles reads the directory roles actively assigned to principal
// (by object id): roleAssignments.
func (c *Client) assignedRoles(ctx context.Context, tenant tierzero.TenantID, principal string) ([]string, error) {
	ab, _, err := c.roleManagement(tenant)
	if err != nil {
		return nil, err
	}
	filter, top := principalFilter(principal), int32(rolesPageMax)
	resp, err := ab.Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
			Filter: &filter, Expand: []string{"roleDefinition"}, Top: &top,
		},
	})
	if err != nil {
		return nil, graphError("get role assignments", err)
	}
	if str(resp.GetOdataNextLink()) != "" {
		return nil, tierzero.Errorf(tierzero.EInternal, "the role assignments of %s span more than one page", principal)
	}
	var out []string
	for _, a := range resp.GetValue() {
		out = append(out, roleName(a.GetRoleDefinition(), a.GetRoleDefinitionId()))
	}
	return out, nil
}

// roleName is a role definition's display name, else its id.
func roleName(def models.UnifiedRoleDefinitionable, id *string) string {
	if def != nil && str(def.GetDisplayName()) != "" {
		return str(def.GetDisplayName())
	}
	return "role " + str(id)
}

// GroupFacts reads what policy needs of the group a call names: its object
// id and display name, whether it is role-assignable, and the directory
// roles assigned to it, active and eligible. Only a role-assignable group
// can be assigned directory roles; the roles of one are read for the record
// (a role-assignable group counts as an admin group whatever they are), and
// stay missing if Graph refuses to list them.
func (c *Client) GroupFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.GroupFacts, error) {
	if err := checkGroupID(ref); err != nil {
		return tierzero.GroupFacts{}, err
	}
	g, err := c.getGroup(ctx, tenant, ref)
	if err != nil {
		return tierzero.GroupFacts{}, err
	}
	f := tierzero.GroupFacts{ID: strings.ToLower(str(g.GetId())), Name: str(g.GetDisplayName())}
	if f.ID == "" {
		return f, tierzero.Errorf(tierzero.EInternal, "Graph returned group %s without an id", ref)
	}
	if p := g.GetIsAssignableToRole(); p != nil {
		v := *p
		f.RoleAssignable = &v
	} else {
		v := false // Graph omits it for groups created without it: false
		f.RoleAssignable = &v
	}
	if !*f.RoleAssignable {
		f.AdminRoles = []string{}
		return f, nil
	}
	active, err := c.assignedRoles(ctx, tenant, f.ID)
	if err != nil {
		c.log.Warn("group roles unreadable", "tenant", tenant, "group", f.ID, "err", err)
		return f, nil
	}
	eligible, err := c.eligibleRoles(ctx, tenant, f.ID)
	if err != nil {
		c.log.Warn("group eligible roles unreadable", "tenant", tenant, "group", f.ID, "err", err)
		return f, nil
	}
	f.AdminRoles = append(active, eligible...)
	if f.AdminRoles == nil {
		f.AdminRoles = []string{}
	}
	return f, nil
}

// GroupName reads the object id and display name of a group a call names.
func (c *Client) GroupName(ctx context.Context, tenant tierzero.TenantID, ref string) (id, name string, err error) {
	if err := checkGroupID(ref); err != nil {
		return "", "", err
	}
	g, err := c.getGroup(ctx, tenant, ref)
	if err != nil {
		return "", "", err
	}
	return str(g.GetId()), str(g.GetDisplayName()), nil
}

// GroupID returns the object id of the one group of the tenant whose
// display name is name (compared as Graph compares, without regard to
// case): ENotFound when none has it, EConflict when several do. Policy
// resolves the group names of its rules with it, once, and pins them.
func (c *Client) GroupID(ctx context.Context, tenant tierzero.TenantID, name string) (string, error) {
	if err := checkGroupText("group", name, groupNameMax); err != nil {
		return "", err
	}
	g, err := c.groupByName(ctx, tenant, name)
	if err != nil {
		return "", err
	}
	id := strings.ToLower(str(g.GetId()))
	if !groupsGUID.MatchString(id) {
		return "", tierzero.Errorf(tierzero.EInternal, "Graph returned group %q without an object id", name)
	}
	return id, nil
}

// skuMatches reports whether ref names the subscription: its part number
// or its skuId, in any case.
func skuMatches(k skuInfo, ref string) bool {
	return strings.EqualFold(k.SkuPartNumber, ref) || strings.EqualFold(k.SkuID, ref)
}

// LicenseSKU resolves a license a call names (a SKU part number or a skuId)
// against the tenant's subscriptions: policies match part numbers.
func (c *Client) LicenseSKU(ctx context.Context, tenant tierzero.TenantID, ref string) (skuID, partNumber string, err error) {
	if !skuPartPattern.MatchString(ref) {
		return "", "", tierzero.Errorf(tierzero.EInvalid, "invalid license %q", ref)
	}
	skus, err := c.listSKUs(ctx, tenant)
	if err != nil {
		return "", "", err
	}
	i := slices.IndexFunc(skus, func(k skuInfo) bool { return skuMatches(k, ref) })
	if i < 0 {
		return "", "", tierzero.Errorf(tierzero.ENotFound, "the tenant has no license subscription %q", ref)
	}
	return skus[i].SkuID, skus[i].SkuPartNumber, nil
}

// LicenseFacts reads what policy needs of the license a call names.
func (c *Client) LicenseFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.LicenseFacts, error) {
	id, part, err := c.LicenseSKU(ctx, tenant, ref)
	return tierzero.LicenseFacts{SKUID: id, SKU: part}, err
}

// DeviceFacts reads what policy needs of the device a call names.
func (c *Client) DeviceFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.DeviceFacts, error) {
	owner, err := c.DeviceOwner(ctx, tenant, ref)
	if err != nil {
		return tierzero.DeviceFacts{ID: ref}, err
	}
	return tierzero.DeviceFacts{ID: ref, Owner: &owner}, nil
}

// SubjectOf returns the group, license and device a call names, from the
// argument names the tools use, so that policy can look them up itself. A
// team is named by its group's object id, and policy reads it as that group.
// Keys are compared exactly: "Group" or "ſku" name nothing here, as they
// name nothing to the tools (tierzero.DecodeArgs).
func SubjectOf(call tierzero.ToolCall) (tierzero.Subject, error) {
	m, err := argStrings(call.Args, "group", "team", "sku", "device")
	if err != nil {
		return tierzero.Subject{}, err
	}
	group := m["group"]
	if group == "" {
		group = m["team"] // a team is its Microsoft 365 group: the same object id
	}
	return tierzero.Subject{Group: group, License: m["sku"], Device: m["device"]}, nil
}

// argStrings reads the string values of keys, matched exactly, from tool
// arguments; other keys are ignored. A key present with another type than
// a string is an error.
func argStrings(args json.RawMessage, keys ...string) (map[string]string, error) {
	canon, err := tierzero.CanonicalArgs(args)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(canon, &m); err != nil {
		return nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %v", err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		raw, ok := m[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s must be a string", k)
		}
		out[k] = s
	}
	return out, nil
}
