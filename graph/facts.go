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
	key := "user:" + strings.ToLower(ref)
	if v, ok := c.facts.get(ctx, tenant, key); ok {
		return cloneUserFacts(v.(tierzero.UserFacts)), nil
	}
	started := c.facts.start()
	f, err := c.readUserFacts(ctx, tenant, ref)
	if err != nil {
		return f, err
	}
	// Kept only when every fact was read: a fact missing for a passing
	// refusal is asked again next time.
	if f.AdminRoles != nil && f.Groups != nil && f.Manager != nil && f.RiskLevel != "" {
		c.facts.put(tenant, key, started, cloneUserFacts(f))
		for _, k := range []string{f.ObjectID, f.UPN} {
			if k != "" && !strings.EqualFold(k, ref) {
				c.facts.put(tenant, "user:"+strings.ToLower(k), started, cloneUserFacts(f))
			}
		}
	}
	return f, nil
}

// userFactFields are the user's properties UserFacts reads.
var userFactFields = []string{"id", "userPrincipalName", "displayName", "department", "accountEnabled"}

// readUserFacts reads a user's facts from Graph: the user and the reads
// that need the user's object id (memberOf, manager, role assignments and
// eligibilities, risk) as one $batch. The object id is known when ref is
// one; for a user principal name it is the one last read for it, checked
// against the user the same batch reads (a name may move to another
// user); otherwise the user is read first, then the rest in one batch.
func (c *Client) readUserFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.UserFacts, error) {
	id := ""
	if groupsGUID.MatchString(ref) {
		id = ref
	} else {
		id = c.facts.objectID(tenant, ref)
	}
	var u models.Userable
	if id == "" {
		var err error
		if u, err = c.getUser(ctx, tenant, ref, userFactFields...); err != nil {
			return tierzero.UserFacts{}, err
		}
		if id = str(u.GetId()); id == "" {
			return tierzero.UserFacts{}, tierzero.Errorf(tierzero.EInternal, "Graph returned user %s without an id", ref)
		}
		c.facts.rememberID(tenant, ref, id)
	}
	return c.userFactsByID(ctx, tenant, ref, id, u, true)
}

// userFactsByID reads a user's facts, the user (unless u is given, read
// already) and the reads by object id in one batch. guessed is whether id
// was guessed from ref, to be checked against the user read.
func (c *Client) userFactsByID(ctx context.Context, tenant tierzero.TenantID, ref, id string, u models.Userable, guessed bool) (tierzero.UserFacts, error) {
	ub, err := c.users(tenant)
	if err != nil {
		return tierzero.UserFacts{}, err
	}
	ab, eb, err := c.roleManagement(tenant)
	if err != nil {
		return tierzero.UserFacts{}, err
	}
	noP2 := c.lacks(ctx, tenant, hasP2)
	item := ub.ByUserId(id)
	top := int32(userGroupsMax)
	var userRead *batchRead
	if u == nil {
		userRead = read(ub.ByUserId(ref).ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFactFields},
		}))
		userRead.ctor = models.CreateUserFromDiscriminatorValue
	}
	roles := read(item.MemberOf().GraphDirectoryRole().ToGetRequestInformation(ctx, nil))
	roles.ctor = models.CreateDirectoryRoleCollectionResponseFromDiscriminatorValue
	manager := read(item.Manager().ToGetRequestInformation(ctx, nil))
	manager.ctor = models.CreateDirectoryObjectFromDiscriminatorValue
	groupsRead := read(item.MemberOf().GraphGroup().ToGetRequestInformation(ctx, &users.ItemMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "isAssignableToRole"}, Top: &top},
	}))
	groupsRead.ctor = models.CreateGroupCollectionResponseFromDiscriminatorValue
	assigned := assignedRolesRead(ctx, ab, id)
	eligible := eligibleRolesRead(ctx, eb, id)
	eligibleGroups, err := c.eligibleGroupsRead(ctx, tenant, id)
	if err != nil {
		return tierzero.UserFacts{}, err
	}
	reads := []*batchRead{roles, manager, groupsRead, assigned, eligible, eligibleGroups}
	if userRead != nil {
		reads = append([]*batchRead{userRead}, reads...)
	}
	var risky *batchRead
	if !noP2 {
		rb, err := c.riskyUsersBuilder(tenant)
		if err != nil {
			return tierzero.UserFacts{}, err
		}
		risky = read(rb.ByRiskyUserId(id).ToGetRequestInformation(ctx, nil))
		risky.ctor = models.CreateRiskyUserFromDiscriminatorValue
		reads = append(reads, risky)
	}
	c.readBatch(ctx, tenant, reads)

	if userRead != nil {
		if userRead.err != nil {
			return tierzero.UserFacts{}, graphError("get user", userRead.err)
		}
		u, _ = userRead.value.(models.Userable)
		if u == nil || str(u.GetId()) == "" {
			return tierzero.UserFacts{}, tierzero.Errorf(tierzero.EInternal, "Graph returned user %s without an id", ref)
		}
		if got := str(u.GetId()); !strings.EqualFold(got, id) {
			if !guessed {
				return tierzero.UserFacts{}, tierzero.Errorf(tierzero.EInternal, "Graph returned user %s with another id", ref)
			}
			// The name is someone else's now: read again by the id read.
			c.facts.rememberID(tenant, ref, got)
			return c.userFactsByID(ctx, tenant, ref, got, u, false)
		}
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
	c.facts.rememberID(tenant, f.UPN, f.ObjectID)
	if roles.err != nil {
		return f, graphError("get directory roles", roles.err)
	}
	rs, _ := roles.value.(models.DirectoryRoleCollectionResponseable)
	if rs == nil {
		return f, tierzero.Errorf(tierzero.EInternal, "Graph returned no directory roles of %s", f.UPN)
	}
	for _, r := range rs.GetValue() {
		f.AdminRoles = append(f.AdminRoles, str(r.GetDisplayName()))
	}
	if next := rs.GetOdataNextLink(); next != nil && *next != "" {
		// A user holds few roles; a second page would mean we cannot see them all.
		return f, tierzero.Errorf(tierzero.EInternal, "directory roles of %s span more than one page", f.UPN)
	}
	mgr := ""
	switch {
	case manager.err == nil:
		if mu, ok := manager.value.(models.Userable); ok {
			mgr = str(mu.GetUserPrincipalName())
		}
	case isStatus(manager.err, 404):
		// no manager
	default:
		return f, graphError("get manager", manager.err)
	}
	f.Manager = &mgr
	// Groups, and admin roles held through role-assignable groups.
	if groupsRead.err != nil {
		return f, graphError("get groups", groupsRead.err)
	}
	gs, _ := groupsRead.value.(models.GroupCollectionResponseable)
	if gs == nil {
		return f, tierzero.Errorf(tierzero.EInternal, "Graph returned no groups of %s", f.UPN)
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
	more, err := assignedRolesOf(assigned, id)
	if err == nil {
		var roles []string
		roles, err = eligibleRolesOf(eligible, id)
		more = append(more, roles...)
	}
	if err == nil {
		var roles []string
		roles, err = c.eligibleGroupsOf(ctx, tenant, eligibleGroups, id)
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
	if risky == nil {
		f.RiskLevel = riskUnknown // no P2, known from the subscriptions: not asked
		return f, nil
	}
	level, err := c.riskOf(tenant, id, risky)
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

// riskOf reads Identity Protection's risk level of a user (by object id)
// from the answer to riskyUsers/{id}: "none" for a user never flagged,
// "unknown" when the tenant lacks Entra ID P2 (Graph's licensing 403; when
// known from its subscriptions, the call is not made), "" (not read) when
// Graph refuses it otherwise.
func (c *Client) riskOf(tenant tierzero.TenantID, id string, r *batchRead) (string, error) {
	err := r.err
	switch {
	case err == nil:
		if risky, ok := r.value.(models.RiskyUserable); ok {
			if lvl := risky.GetRiskLevel(); lvl != nil {
				return lvl.String(), nil
			}
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

// eligibleRolesRead is the read of the directory roles principal (a user
// or a group, by object id) is eligible for in PIM:
// roleEligibilityScheduleInstances, current and future ones.
func eligibleRolesRead(ctx context.Context, eb *rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilder, principal string) *batchRead {
	filter, top := principalFilter(principal), int32(rolesPageMax)
	r := read(eb.ToGetRequestInformation(ctx, &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters{
			Filter: &filter, Expand: []string{"roleDefinition"}, Top: &top,
		},
	}))
	r.ctor = models.CreateUnifiedRoleEligibilityScheduleInstanceCollectionResponseFromDiscriminatorValue
	return r
}

// eligibleRolesOf reads the roles from the answer to eligibleRolesRead.
func eligibleRolesOf(r *batchRead, principal string) ([]string, error) {
	if r.err != nil {
		return nil, graphError("get eligible roles", r.err)
	}
	resp, _ := r.value.(models.UnifiedRoleEligibilityScheduleInstanceCollectionResponseable)
	if resp == nil {
		return nil, tierzero.Errorf(tierzero.EInternal, "Graph returned no eligible roles of %s", principal)
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

// eligibleGroupsRead is the read of the role-assignable groups whose
// membership or ownership principal may activate in PIM for Groups.
func (c *Client) eligibleGroupsRead(ctx context.Context, tenant tierzero.TenantID, principal string) (*batchRead, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	b := identitygovernance.NewPrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	filter := principalFilter(principal) // required by Graph: a principal or a group
	r := read(b.ToGetRequestInformation(ctx, &identitygovernance.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
		QueryParameters: &identitygovernance.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetQueryParameters{Filter: &filter},
	}))
	r.ctor = models.CreatePrivilegedAccessGroupEligibilityScheduleInstanceCollectionResponseFromDiscriminatorValue
	return r, nil
}

// eligibleGroupsOf reads, from the answer to eligibleGroupsRead, the
// role-assignable groups whose membership or ownership principal may
// activate (an eligible member holds the group's roles once activated; an
// owner can make themselves a member), in words.
func (c *Client) eligibleGroupsOf(ctx context.Context, tenant tierzero.TenantID, r *batchRead, principal string) ([]string, error) {
	if r.err != nil {
		return nil, graphError("get eligible group memberships", r.err)
	}
	resp, _ := r.value.(models.PrivilegedAccessGroupEligibilityScheduleInstanceCollectionResponseable)
	if resp == nil {
		return nil, tierzero.Errorf(tierzero.EInternal, "Graph returned no eligible group memberships of %s", principal)
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

// assignedRolesRead is the read of the directory roles actively assigned
// to principal (by object id): roleAssignments.
func assignedRolesRead(ctx context.Context, ab *rolemanagement.DirectoryRoleAssignmentsRequestBuilder, principal string) *batchRead {
	filter, top := principalFilter(principal), int32(rolesPageMax)
	r := read(ab.ToGetRequestInformation(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
			Filter: &filter, Expand: []string{"roleDefinition"}, Top: &top,
		},
	}))
	r.ctor = models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue
	return r
}

// assignedRolesOf reads the roles from the answer to assignedRolesRead.
func assignedRolesOf(r *batchRead, principal string) ([]string, error) {
	if r.err != nil {
		return nil, graphError("get role assignments", r.err)
	}
	resp, _ := r.value.(models.UnifiedRoleAssignmentCollectionResponseable)
	if resp == nil {
		return nil, tierzero.Errorf(tierzero.EInternal, "Graph returned no role assignments of %s", principal)
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
	return cachedFacts(c, ctx, tenant, "group:"+strings.ToLower(ref), func() (tierzero.GroupFacts, error) {
		return c.readGroupFacts(ctx, tenant, ref)
	}, func(f tierzero.GroupFacts) (tierzero.GroupFacts, bool) {
		if f.RoleAssignable != nil {
			v := *f.RoleAssignable
			f.RoleAssignable = &v
		}
		if f.AdminRoles != nil {
			f.AdminRoles = append([]string{}, f.AdminRoles...)
		}
		return f, f.AdminRoles != nil // roles unread: asked again next time
	})
}

// readGroupFacts reads a group's facts from Graph: the group, then its
// roles (active and eligible) in one batch.
func (c *Client) readGroupFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.GroupFacts, error) {
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
	ab, eb, err := c.roleManagement(tenant)
	if err != nil {
		return f, err
	}
	assigned, eligibleRead := assignedRolesRead(ctx, ab, f.ID), eligibleRolesRead(ctx, eb, f.ID)
	c.readBatch(ctx, tenant, []*batchRead{assigned, eligibleRead})
	active, err := assignedRolesOf(assigned, f.ID)
	if err != nil {
		c.log.Warn("group roles unreadable", "tenant", tenant, "group", f.ID, "err", err)
		return f, nil
	}
	eligible, err := eligibleRolesOf(eligibleRead, f.ID)
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
	return cachedFacts(c, ctx, tenant, "license:"+strings.ToLower(ref), func() (tierzero.LicenseFacts, error) {
		id, part, err := c.LicenseSKU(ctx, tenant, ref)
		return tierzero.LicenseFacts{SKUID: id, SKU: part}, err
	}, func(f tierzero.LicenseFacts) (tierzero.LicenseFacts, bool) { return f, true })
}

// DeviceFacts reads what policy needs of the device a call names.
func (c *Client) DeviceFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.DeviceFacts, error) {
	return cachedFacts(c, ctx, tenant, "device:"+strings.ToLower(ref), func() (tierzero.DeviceFacts, error) {
		owner, err := c.DeviceOwner(ctx, tenant, ref)
		if err != nil {
			return tierzero.DeviceFacts{ID: ref}, err
		}
		return tierzero.DeviceFacts{ID: ref, Owner: &owner}, nil
	}, func(f tierzero.DeviceFacts) (tierzero.DeviceFacts, bool) {
		if f.Owner != nil {
			o := *f.Owner
			f.Owner = &o
		}
		return f, true
	})
}

// cachedFacts returns the facts cached under key for tenant, or reads
// them and, when keep says they are complete, caches them (factcache.go).
// clone copies facts, and says whether they may be kept.
func cachedFacts[F any](c *Client, ctx context.Context, tenant tierzero.TenantID, key string, read func() (F, error), clone func(F) (F, bool)) (F, error) {
	if v, ok := c.facts.get(ctx, tenant, key); ok {
		f, _ := clone(v.(F))
		return f, nil
	}
	started := c.facts.start()
	f, err := read()
	if err != nil {
		return f, err
	}
	if kept, ok := clone(f); ok {
		c.facts.put(tenant, key, started, kept)
	}
	return f, nil
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
