package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Action names of the group tools.
const (
	ActionUserGroups        = "user.groups"
	ActionGroupFind         = "group.find"
	ActionGroupGet          = "group.get"
	ActionGroupAddMember    = "group.add_member"
	ActionGroupRemoveMember = "group.remove_member"
	ActionGroupOwners       = "group.owners"
	ActionGroupAddOwner     = "group.add_owner"
	ActionGroupRemoveOwner  = "group.remove_owner"
)

// Bounds of the group tools.
const (
	groupFindMax      = 25  // groups group.find returns at most
	userGroupsPage    = 100 // groups per page of memberOf
	userGroupsPages   = 3   // pages of memberOf read at most
	groupMembersPage  = 999 // members per page when counting
	groupMembersPages = 20  // pages of members counted at most
	groupOwnersMax    = 100 // owners read: one page holds all, Entra allows 100 per group
	groupNameMax      = 256 // characters of a display name
	groupQueryMax     = 120 // characters of a group.find prefix
)

// Group types and membership types.
const (
	groupTypeUnified  = "Unified"
	groupTypeDynamic  = "DynamicMembership"
	membershipDynamic = "dynamic"
	membershipAssign  = "assigned"
)

const (
	groupRefSchema   = `{"type":"string","description":"The group's object id (GUID), from group.find, group.get or user.groups."}`
	memberUserSchema = `{"type":"string","description":"UPN (name@company.com) or object id."}`
)

var groupTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionUserGroups,
		Description: "List the groups a user is a direct member of: id, name, kind, assigned or dynamic, whether it can hold directory roles.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(userSchema),
	}, run: userGroups},
	{spec: tierzero.ToolSpec{
		Action:      ActionGroupFind,
		Description: fmt.Sprintf("Find groups whose name starts with a prefix (case-insensitive), at most %d: id, description, kind, assigned or dynamic, whether it can hold directory roles.", groupFindMax),
		Risk:        tierzero.RiskRead,
		Schema: json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{`+
			`"prefix":{"type":"string","minLength":1,"maxLength":%d,"description":"Start of the group's name, e.g. \"Project\"."},`+
			`"top":{"type":"integer","minimum":1,"maximum":%d,"description":"At most this many (default %d)."}},`+
			`"required":["prefix"],"additionalProperties":false}`, groupQueryMax, groupFindMax, groupFindMax)),
	}, run: groupFind},
	{spec: tierzero.ToolSpec{
		Action:      ActionGroupGet,
		Description: "Read one group by id or exact name: owners, assigned or dynamic (with its rule), kind, whether it can hold directory roles, member count.",
		Risk:        tierzero.RiskRead,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"group":{"type":"string","description":"The group's object id (GUID) or exact name."}},` +
			`"required":["group"],"additionalProperties":false}`),
	}, run: groupGet},
	{spec: tierzero.ToolSpec{
		Action: ActionGroupAddMember,
		Description: "Add a user to a group with assigned membership (already a member: alreadyMember). Dynamic, mail-enabled security and distribution groups are refused. " +
			"A role-assignable group (output roleAssignable) grants the user its directory (admin) roles.",
		Write:  true,
		Risk:   tierzero.RiskMedium, // static tier; on a role-assignable group the effect is high: the output flags roleAssignable
		Schema: json.RawMessage(`{"type":"object","properties":{"group":` + groupRefSchema + `,"user":` + memberUserSchema + `},"required":["group","user"],"additionalProperties":false}`),
	}, run: groupAddMember, applied: groupAddMemberApplied},
	{spec: tierzero.ToolSpec{
		Action: ActionGroupRemoveMember,
		Description: "Remove a user from a group with assigned membership (not a member: notMember). " +
			"Dynamic, mail-enabled security and distribution groups are refused.",
		Write:  true,
		Risk:   tierzero.RiskMedium,
		Schema: json.RawMessage(`{"type":"object","properties":{"group":` + groupRefSchema + `,"user":` + memberUserSchema + `},"required":["group","user"],"additionalProperties":false}`),
	}, run: groupRemoveMember, applied: groupRemoveMemberApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionGroupOwners,
		Description: "List the owners of a group (the people who manage its members and settings): id, UPN, name.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(`{"type":"object","properties":{"group":` + groupRefSchema + `},"required":["group"],"additionalProperties":false}`),
	}, run: groupOwners},
	{spec: tierzero.ToolSpec{
		Action: ActionGroupAddOwner,
		Description: "Make a user an owner of a group: they can then manage its members and settings (already an owner: alreadyOwner). " +
			"Mail-enabled security groups and distribution lists are refused (managed in Exchange).",
		Write:  true,
		Risk:   tierzero.RiskMedium,
		Schema: json.RawMessage(`{"type":"object","properties":{"group":` + groupRefSchema + `,"user":` + memberUserSchema + `},"required":["group","user"],"additionalProperties":false}`),
	}, run: groupAddOwner, applied: groupAddOwnerApplied},
	{spec: tierzero.ToolSpec{
		Action: ActionGroupRemoveOwner,
		Description: "Remove a user from the owners of a group (not an owner: notOwner). Microsoft 365 refuses to remove a group's last owner: add another owner first. " +
			"Mail-enabled security groups and distribution lists are refused.",
		Write:  true,
		Risk:   tierzero.RiskMedium,
		Schema: json.RawMessage(`{"type":"object","properties":{"group":` + groupRefSchema + `,"user":` + memberUserSchema + `},"required":["group","user"],"additionalProperties":false}`),
	}, run: groupRemoveOwner, applied: groupRemoveOwnerApplied},
}

// groups returns the /groups request builder for a tenant.
func (c *Client) groups(tenant tierzero.TenantID) (*groups.GroupsRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return groups.NewGroupsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// groupFields are the properties every group tool reads.
var groupFields = []string{"id", "displayName", "description", "groupTypes", "membershipRule", "isAssignableToRole", "securityEnabled", "mailEnabled"}

// groupSummary is what the model sees of a group.
type groupSummary struct {
	ID                 string `json:"id"`
	DisplayName        string `json:"displayName"`
	Description        string `json:"description,omitempty"`
	Kind               string `json:"kind"`           // security, microsoft365, mailEnabledSecurity, distribution
	MembershipType     string `json:"membershipType"` // assigned or dynamic
	MembershipRule     string `json:"membershipRule,omitempty"`
	IsAssignableToRole bool   `json:"isAssignableToRole"`
	SecurityEnabled    bool   `json:"securityEnabled"`
	MailEnabled        bool   `json:"mailEnabled"`
}

func summarizeGroup(g models.Groupable) groupSummary {
	s := groupSummary{
		ID:                 str(g.GetId()),
		DisplayName:        str(g.GetDisplayName()),
		Description:        str(g.GetDescription()),
		MembershipType:     membershipAssign,
		MembershipRule:     str(g.GetMembershipRule()),
		IsAssignableToRole: groupBool(g.GetIsAssignableToRole()),
		SecurityEnabled:    groupBool(g.GetSecurityEnabled()),
		MailEnabled:        groupBool(g.GetMailEnabled()),
	}
	types := g.GetGroupTypes()
	if hasFold(types, groupTypeDynamic) {
		s.MembershipType = membershipDynamic
	}
	switch {
	case hasFold(types, groupTypeUnified):
		s.Kind = "microsoft365"
	case s.MailEnabled && s.SecurityEnabled:
		s.Kind = "mailEnabledSecurity"
	case s.MailEnabled:
		s.Kind = "distribution"
	default:
		s.Kind = "security"
	}
	return s
}

func groupBool(p *bool) bool { return p != nil && *p }

func hasFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

var groupsGUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkGroupID rejects a group reference that is not an object id.
func checkGroupID(ref string) error {
	if !groupsGUID.MatchString(ref) {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: group must be the group's object id (a GUID); use group.find to look it up")
	}
	return nil
}

// checkGroupText rejects a display name or prefix that is empty, too long
// or holds control characters.
func checkGroupText(what, s string, max int) error {
	if s == "" || len([]rune(s)) > max || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %s must be 1 to %d printable characters", what, max)
	}
	return nil
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func userGroups(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	top := int32(userGroupsPage)
	rb := ub.ByUserId(a.User).MemberOf().GraphGroup()
	resp, err := rb.Get(ctx, &users.ItemMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: groupFields, Top: &top},
	})
	out := struct {
		User      string         `json:"user"`
		Groups    []groupSummary `json:"groups"`
		Truncated bool           `json:"truncated,omitempty"`
	}{User: a.User, Groups: []groupSummary{}}
	out.Truncated, err = eachPage(c, resp, err, func(link string) (models.GroupCollectionResponseable, error) {
		return rb.WithUrl(link).Get(ctx, nil)
	}, userGroupsPages, func(gs []models.Groupable) {
		for _, g := range gs {
			out.Groups = append(out.Groups, summarizeGroup(g))
		}
	})
	if err != nil {
		return nil, noSecret, pageError("list user groups", err)
	}
	return out, noSecret, nil
}

type groupFindArgs struct {
	Prefix string `json:"prefix"`
	Top    int    `json:"top"`
}

func groupFind(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[groupFindArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.Prefix = strings.TrimSpace(a.Prefix)
	if err := checkGroupText("prefix", a.Prefix, groupQueryMax); err != nil {
		return nil, noSecret, err
	}
	switch {
	case a.Top == 0:
		a.Top = groupFindMax
	case a.Top < 0 || a.Top > groupFindMax:
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: top must be between 1 and %d", groupFindMax)
	}
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	filter := "startswith(displayName," + odataString(a.Prefix) + ")"
	top := int32(a.Top)
	resp, err := gb.Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: groupFields, Top: &top},
	})
	if err != nil {
		return nil, noSecret, graphError("find groups", err)
	}
	out := struct {
		Prefix    string         `json:"prefix"`
		Groups    []groupSummary `json:"groups"`
		Truncated bool           `json:"truncated,omitempty"` // more groups match: narrow the prefix
	}{Prefix: a.Prefix, Groups: []groupSummary{}}
	for _, g := range resp.GetValue() {
		if len(out.Groups) == a.Top {
			break
		}
		out.Groups = append(out.Groups, summarizeGroup(g))
	}
	out.Truncated = str(resp.GetOdataNextLink()) != "" || len(resp.GetValue()) > a.Top
	return out, noSecret, nil
}

type groupRefArgs struct {
	Group string `json:"group"`
}

// groupDetail is what group.get shows the model.
type groupDetail struct {
	groupSummary
	Owners            []string `json:"owners"`                      // owner UPNs
	OtherOwners       int      `json:"otherOwners,omitempty"`       // owners that are not users (apps)
	MemberCount       int      `json:"memberCount"`                 // direct members
	MemberCountCapped bool     `json:"memberCountCapped,omitempty"` // at least memberCount
}

func groupGet(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[groupRefArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.Group = strings.TrimSpace(a.Group)
	if err := checkGroupText("group", a.Group, groupNameMax); err != nil {
		return nil, noSecret, err
	}
	var g models.Groupable
	if groupsGUID.MatchString(a.Group) {
		g, err = c.getGroup(ctx, tenant, a.Group)
	} else {
		g, err = c.groupByName(ctx, tenant, a.Group)
	}
	if err != nil {
		return nil, noSecret, err
	}
	d := groupDetail{groupSummary: summarizeGroup(g), Owners: []string{}}
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	item := gb.ByGroupId(d.ID)
	ownersTop := int32(groupOwnersMax)
	owners, err := item.Owners().Get(ctx, &groups.ItemOwnersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName"}, Top: &ownersTop},
	})
	if err != nil {
		return nil, noSecret, graphError("list group owners", err)
	}
	for _, o := range owners.GetValue() {
		if u, ok := o.(models.Userable); ok && str(u.GetUserPrincipalName()) != "" {
			d.Owners = append(d.Owners, str(u.GetUserPrincipalName()))
		} else {
			d.OtherOwners++
		}
	}
	// Count members by paging through their ids: $count would need the
	// ConsistencyLevel: eventual header and advanced queries.
	top := int32(groupMembersPage)
	mb := item.Members()
	members, err := mb.Get(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
	})
	d.MemberCountCapped, err = eachPage(c, members, err, func(link string) (models.DirectoryObjectCollectionResponseable, error) {
		return mb.WithUrl(link).Get(ctx, nil)
	}, groupMembersPages, func(ms []models.DirectoryObjectable) { d.MemberCount += len(ms) })
	if err != nil {
		return nil, noSecret, pageError("list group members", err)
	}
	return d, noSecret, nil
}

// getGroup reads a group by object id.
func (c *Client) getGroup(ctx context.Context, tenant tierzero.TenantID, id string) (models.Groupable, error) {
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, err
	}
	g, err := gb.ByGroupId(id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: groupFields},
	})
	if err != nil {
		return nil, graphError("get group", err)
	}
	return g, nil
}

// groupByName reads the one group with exactly this display name.
func (c *Client) groupByName(ctx context.Context, tenant tierzero.TenantID, name string) (models.Groupable, error) {
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, err
	}
	filter := "displayName eq " + odataString(name)
	top := int32(5)
	resp, err := gb.Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: groupFields, Top: &top},
	})
	if err != nil {
		return nil, graphError("find group", err)
	}
	found := resp.GetValue()
	switch {
	case len(found) == 0:
		return nil, tierzero.Errorf(tierzero.ENotFound, "no group has exactly that display name; try group.find")
	case len(found) > 1 || str(resp.GetOdataNextLink()) != "":
		ids := make([]string, 0, len(found))
		for _, g := range found {
			ids = append(ids, str(g.GetId()))
		}
		return nil, tierzero.Errorf(tierzero.EConflict, "several groups have that display name (ids %s): use the object id", strings.Join(ids, ", "))
	}
	return found[0], nil
}

type memberArgs struct {
	Group string `json:"group"`
	User  string `json:"user"`
}

func decodeMemberArgs(raw json.RawMessage) (memberArgs, error) {
	a, err := decodeArgs[memberArgs](raw)
	if err != nil {
		return a, err
	}
	a.Group, a.User = strings.TrimSpace(a.Group), strings.TrimSpace(a.User)
	if err := checkGroupID(a.Group); err != nil {
		return a, err
	}
	return a, checkRef("user", a.User)
}

// groupUser is the group and the user of a member or owner write, as
// membershipChange and ownershipChange show them.
type groupUser struct {
	Group            string `json:"group"`
	GroupDisplayName string `json:"groupDisplayName"`
	User             string `json:"user"` // the user's UPN
	UserID           string `json:"userId"`
	RoleAssignable   bool   `json:"roleAssignable"`
}

// readGroupUser resolves the user and reads the group of a member or owner
// write.
func (c *Client) readGroupUser(ctx context.Context, tenant tierzero.TenantID, a memberArgs) (groupUser, groupSummary, error) {
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName")
	if err != nil {
		return groupUser{}, groupSummary{}, err
	}
	g, err := c.getGroup(ctx, tenant, a.Group)
	if err != nil {
		return groupUser{}, groupSummary{}, err
	}
	s := summarizeGroup(g)
	return groupUser{
		Group:            s.ID,
		GroupDisplayName: s.DisplayName,
		User:             str(u.GetUserPrincipalName()),
		UserID:           str(u.GetId()),
		RoleAssignable:   s.IsAssignableToRole,
	}, s, nil
}

// userRef is the reference a member or owner write posts: the user as a
// directory object of the tenant's Graph.
func (c *Client) userRef(tenant tierzero.TenantID, userID string) (models.ReferenceCreateable, error) {
	ad, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	ref := models.NewReferenceCreate()
	odataID := strings.TrimSuffix(ad.GetBaseUrl(), "/") + "/directoryObjects/" + userID
	ref.SetOdataId(&odataID)
	return ref, nil
}

// refusedError maps the Graph errors of a member or owner write: a 403 is
// a permission problem, which needs names.
func refusedError(op, needs string, err error) error {
	if isStatus(err, 403) {
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EUnauthorized,
			"Microsoft Graph refused %s: insufficient privileges (%s)", op, needs), err)
	}
	return graphError(op, err)
}

// membershipChange is what group.add_member and group.remove_member show
// the model.
type membershipChange struct {
	groupUser
	Added         bool `json:"added,omitempty"`
	AlreadyMember bool `json:"alreadyMember,omitempty"`
	Removed       bool `json:"removed,omitempty"`
	NotMember     bool `json:"notMember,omitempty"`
}

// prepareMembership resolves the user and reads the group, refusing groups
// whose members Graph cannot change.
func (c *Client) prepareMembership(ctx context.Context, tenant tierzero.TenantID, a memberArgs, op string) (membershipChange, error) {
	gu, s, err := c.readGroupUser(ctx, tenant, a)
	if err != nil {
		return membershipChange{}, err
	}
	ch := membershipChange{groupUser: gu}
	switch {
	case s.MembershipType == membershipDynamic:
		return ch, tierzero.Errorf(tierzero.EConflict, "cannot %s: group %s has dynamic membership, its members come from its rule", op, s.ID)
	case s.Kind == "mailEnabledSecurity" || s.Kind == "distribution":
		return ch, tierzero.Errorf(tierzero.EConflict, "cannot %s: group %s is a mail-enabled security group or distribution list, managed in Exchange", op, s.ID)
	}
	return ch, nil
}

// graphErrDetail returns the code and message of a Graph error.
func graphErrDetail(err error) (code, msg string) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if me := oe.GetErrorEscaped(); me != nil {
			return str(me.GetCode()), str(me.GetMessage())
		}
	}
	return "", ""
}

// membershipError maps the Graph errors of a membership write.
func membershipError(op string, err error) error {
	// Graph answers 403 Authorization_RequestDenied for a dynamic group
	// too; we refused those already, so this is a permission problem.
	return refusedError(op, "role-assignable groups need the Privileged Role Administrator role", err)
}

func groupAddMember(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeMemberArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ch, err := c.prepareMembership(ctx, tenant, a, "add member")
	if err != nil {
		return nil, noSecret, err
	}
	ref, err := c.userRef(tenant, ch.UserID)
	if err != nil {
		return nil, noSecret, err
	}
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	err = gb.ByGroupId(ch.Group).Members().Ref().Post(ctx, ref, nil)
	switch {
	case err == nil:
		ch.Added = true
	case isStatus(err, 400) && isAlreadyMember(err):
		ch.AlreadyMember = true
	default:
		// The output goes along for Execute, used only if a read-back
		// shows that an ambiguously failed write took effect.
		ch.Added = true
		return ch, noSecret, membershipError("add member", err)
	}
	return ch, noSecret, nil
}

// isAlreadyMember recognizes Graph's answer to adding an existing member:
// 400 "One or more added object references already exist for the
// following modified properties: 'members'."
func isAlreadyMember(err error) bool {
	_, msg := graphErrDetail(err)
	return strings.Contains(msg, "added object references already exist")
}

func groupRemoveMember(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeMemberArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ch, err := c.prepareMembership(ctx, tenant, a, "remove member")
	if err != nil {
		return nil, noSecret, err
	}
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	err = gb.ByGroupId(ch.Group).Members().ByDirectoryObjectId(ch.UserID).Ref().Delete(ctx, nil)
	switch {
	case err == nil:
		ch.Removed = true
	case isStatus(err, 404):
		// the group exists (prepareMembership read it): the user is not a member
		ch.NotMember = true
	default:
		ch.Removed = true // for Execute, if a read-back confirms it
		return ch, noSecret, membershipError("remove member", err)
	}
	return ch, noSecret, nil
}

// isMember reads whether the user (an object id) is a direct member of the
// group: GET /groups/{id}/members/{id}/microsoft.graph.user answers 404
// when not.
func (c *Client) isMember(ctx context.Context, tenant tierzero.TenantID, group, userID string) (bool, error) {
	gb, err := c.groups(tenant)
	if err != nil {
		return false, err
	}
	_, err = gb.ByGroupId(group).Members().ByDirectoryObjectId(userID).GraphUser().Get(ctx, &groups.ItemMembersItemGraphUserRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersItemGraphUserRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	switch {
	case err == nil:
		return true, nil
	case isStatus(err, 404):
		return false, nil
	}
	return false, graphError("check membership", err)
}

// membershipState resolves the arguments and reads whether the user is a
// member; the group must exist.
func (c *Client) membershipState(ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (bool, error) {
	a, err := decodeMemberArgs(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id")
	if err != nil {
		return false, err
	}
	if _, err := c.getGroup(ctx, tenant, a.Group); err != nil {
		return false, err
	}
	return c.isMember(ctx, tenant, a.Group, str(u.GetId()))
}

// Membership has no timestamp: applied reads the current state, whenever
// it came about.
func groupAddMemberApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	return c.membershipState(ctx, tenant, raw)
}

func groupRemoveMemberApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	member, err := c.membershipState(ctx, tenant, raw)
	return !member && err == nil, err
}

// ownerRef is one owner of a group as the model sees it.
type ownerRef struct {
	ID          string `json:"id"`
	UPN         string `json:"userPrincipalName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Kind        string `json:"kind"` // user, or servicePrincipal for an app
}

// listOwners reads the owners of a group by object id: one page holds them
// all (Entra allows 100 owners per group).
func (c *Client) listOwners(ctx context.Context, tenant tierzero.TenantID, group string) ([]ownerRef, error) {
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, err
	}
	top := int32(groupOwnersMax)
	resp, err := gb.ByGroupId(group).Owners().Get(ctx, &groups.ItemOwnersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName", "displayName"}, Top: &top},
	})
	if err != nil {
		return nil, graphError("list group owners", err)
	}
	if str(resp.GetOdataNextLink()) != "" {
		return nil, tierzero.Errorf(tierzero.EInternal, "the owners of group %s span more than one page", group)
	}
	out := []ownerRef{}
	for _, o := range resp.GetValue() {
		r := ownerRef{ID: str(o.GetId()), Kind: "servicePrincipal"}
		if u, ok := o.(models.Userable); ok {
			r.Kind, r.UPN, r.DisplayName = "user", str(u.GetUserPrincipalName()), str(u.GetDisplayName())
		}
		out = append(out, r)
	}
	return out, nil
}

func groupOwners(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[groupRefArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.Group = strings.TrimSpace(a.Group)
	if err := checkGroupID(a.Group); err != nil {
		return nil, noSecret, err
	}
	g, err := c.getGroup(ctx, tenant, a.Group)
	if err != nil {
		return nil, noSecret, err
	}
	s := summarizeGroup(g)
	owners, err := c.listOwners(ctx, tenant, s.ID)
	if err != nil {
		return nil, noSecret, err
	}
	return struct {
		Group            string     `json:"group"`
		GroupDisplayName string     `json:"groupDisplayName"`
		Kind             string     `json:"kind"`
		Owners           []ownerRef `json:"owners"`
		NoOwners         bool       `json:"noOwners,omitempty"` // nobody manages it but admins
	}{s.ID, s.DisplayName, s.Kind, owners, len(owners) == 0}, noSecret, nil
}

// ownershipChange is what group.add_owner and group.remove_owner show the
// model.
type ownershipChange struct {
	groupUser
	Added        bool `json:"added,omitempty"`
	AlreadyOwner bool `json:"alreadyOwner,omitempty"`
	Removed      bool `json:"removed,omitempty"`
	NotOwner     bool `json:"notOwner,omitempty"`
}

// prepareOwnership resolves the user and reads the group, refusing groups
// whose owners Graph does not manage.
func (c *Client) prepareOwnership(ctx context.Context, tenant tierzero.TenantID, a memberArgs, op string) (ownershipChange, error) {
	gu, s, err := c.readGroupUser(ctx, tenant, a)
	if err != nil {
		return ownershipChange{}, err
	}
	ch := ownershipChange{groupUser: gu}
	if s.Kind == "mailEnabledSecurity" || s.Kind == "distribution" {
		return ch, tierzero.Errorf(tierzero.EConflict, "cannot %s: group %s is a mail-enabled security group or distribution list, whose owners are managed in Exchange", op, s.ID)
	}
	return ch, nil
}

// ownershipError maps the Graph errors of an owners write.
func ownershipError(op string, err error) error {
	return refusedError(op, "the owners of role-assignable groups need the Privileged Role Administrator role", err)
}

func groupAddOwner(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeMemberArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ch, err := c.prepareOwnership(ctx, tenant, a, "add owner")
	if err != nil {
		return nil, noSecret, err
	}
	ref, err := c.userRef(tenant, ch.UserID)
	if err != nil {
		return nil, noSecret, err
	}
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	err = gb.ByGroupId(ch.Group).Owners().Ref().Post(ctx, ref, nil)
	switch {
	case err == nil:
		ch.Added = true
	case isStatus(err, 400) && isAlreadyMember(err):
		// Graph's answer for an existing reference names the property:
		// 'owners' here.
		ch.AlreadyOwner = true
	default:
		ch.Added = true // for Execute, if a read-back confirms it
		return ch, noSecret, ownershipError("add owner", err)
	}
	return ch, noSecret, nil
}

func groupRemoveOwner(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeMemberArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ch, err := c.prepareOwnership(ctx, tenant, a, "remove owner")
	if err != nil {
		return nil, noSecret, err
	}
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	err = gb.ByGroupId(ch.Group).Owners().ByDirectoryObjectId(ch.UserID).Ref().Delete(ctx, nil)
	switch {
	case err == nil:
		ch.Removed = true
	case isStatus(err, 404):
		// the group exists (prepareOwnership read it): the user is not an owner
		ch.NotOwner = true
	case isStatus(err, 400) && isLastOwner(err):
		return nil, noSecret, fmt.Errorf("remove owner: %w: %w", tierzero.Errorf(tierzero.EConflict,
			"%s is the last owner of group %s, and Microsoft 365 refuses to leave a group without an owner: add another owner first", ch.User, ch.GroupDisplayName), err)
	default:
		ch.Removed = true // for Execute, if a read-back confirms it
		return ch, noSecret, ownershipError("remove owner", err)
	}
	return ch, noSecret, nil
}

// isLastOwner recognizes Graph's refusal to remove a group's last owner:
// 400 "The group must have at least one owner, hence this owner cannot be
// removed."
func isLastOwner(err error) bool {
	_, msg := graphErrDetail(err)
	return strings.Contains(msg, "at least one owner")
}

// ownershipState resolves the arguments and reads whether the user owns
// the group.
func (c *Client) ownershipState(ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (bool, error) {
	a, err := decodeMemberArgs(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id")
	if err != nil {
		return false, err
	}
	owners, err := c.listOwners(ctx, tenant, a.Group)
	if err != nil {
		return false, err
	}
	id := str(u.GetId())
	return slices.ContainsFunc(owners, func(o ownerRef) bool { return strings.EqualFold(o.ID, id) }), nil
}

// Ownership has no timestamp: applied reads the current state.
func groupAddOwnerApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	return c.ownershipState(ctx, tenant, raw)
}

func groupRemoveOwnerApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	owner, err := c.ownershipState(ctx, tenant, raw)
	return !owner && err == nil, err
}
