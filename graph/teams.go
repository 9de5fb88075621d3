package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/teams"

	"github.com/tierzero/tierzero"
)

// This file: Microsoft Teams membership. A team is a Microsoft 365 group
// with a team, named by the group's object id; policy reads it as that
// group (SubjectOf), so the admin-group guardrails hold for teams too.

// Action names of the Teams tools.
const (
	ActionTeamMembers      = "team.members"
	ActionTeamAddMember    = "team.add_member"
	ActionTeamRemoveMember = "team.remove_member"
)

// Bounds of the Teams tools.
const (
	teamMembersPage  = 100 // members per page
	teamMembersPages = 10  // pages read at most
)

// Roles of a team member, as conversationMember.roles holds them: none for
// a member.
const (
	teamRoleOwner  = "owner"
	teamRoleMember = "member"
	teamRoleGuest  = "guest"
)

const teamRefSchema = `{"type":"string","description":"The team's object id (GUID): the id of its Microsoft 365 group, from group.find or user.groups."}`

var teamTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionTeamMembers,
		Description: "List the members of a Microsoft Teams team: name, email, user id, role (owner, member or guest).",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(`{"type":"object","properties":{"team":` + teamRefSchema + `},"required":["team"],"additionalProperties":false}`),
	}, run: teamMembers},
	{spec: tierzero.ToolSpec{
		Action: ActionTeamAddMember,
		Description: "Add a user to a Microsoft Teams team as a member or an owner (already in the team: alreadyMember, with their current role). " +
			"Guests cannot be added this way: add them to the team's group with group.add_member.",
		Write: true,
		Risk:  tierzero.RiskMedium,
		Schema: json.RawMessage(`{"type":"object","properties":{"team":` + teamRefSchema + `,"user":` + memberUserSchema + `,` +
			`"role":{"type":"string","enum":["member","owner"],"description":"member (default) or owner: an owner manages the team's members, channels and settings."}},` +
			`"required":["team","user"],"additionalProperties":false}`),
	}, run: teamAddMember, applied: teamAddMemberApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionTeamRemoveMember,
		Description: "Remove a user from a Microsoft Teams team, as member and owner (not in the team: notMember). The team's last owner cannot be removed: add another owner first.",
		Write:       true,
		Risk:        tierzero.RiskMedium,
		Schema:      json.RawMessage(`{"type":"object","properties":{"team":` + teamRefSchema + `,"user":` + memberUserSchema + `},"required":["team","user"],"additionalProperties":false}`),
	}, run: teamRemoveMember, applied: teamRemoveMemberApplied},
}

// teams returns the /teams request builder for a tenant.
func (c *Client) teams(tenant tierzero.TenantID) (*teams.TeamsRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return teams.NewTeamsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// teamMember is one member of a team as the model sees it.
type teamMember struct {
	UserID       string `json:"userId"`
	DisplayName  string `json:"displayName,omitempty"`
	Email        string `json:"email,omitempty"`
	Role         string `json:"role"`         // owner, member or guest
	MembershipID string `json:"membershipId"` // the conversationMember id
}

func summarizeTeamMember(m models.ConversationMemberable) teamMember {
	tm := teamMember{MembershipID: str(m.GetId()), DisplayName: str(m.GetDisplayName()), Role: teamRoleMember}
	if u, ok := m.(models.AadUserConversationMemberable); ok {
		tm.UserID, tm.Email = str(u.GetUserId()), str(u.GetEmail())
	}
	roles := m.GetRoles()
	switch {
	case hasFold(roles, teamRoleOwner):
		tm.Role = teamRoleOwner
	case hasFold(roles, teamRoleGuest):
		tm.Role = teamRoleGuest
	}
	return tm
}

// getTeam reads a team by its group's object id; a group without a team
// is ENotFound in plain words.
func (c *Client) getTeam(ctx context.Context, tenant tierzero.TenantID, id string) (models.Teamable, error) {
	tb, err := c.teams(tenant)
	if err != nil {
		return nil, err
	}
	t, err := tb.ByTeamId(id).Get(ctx, &teams.TeamItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &teams.TeamItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
	})
	if isStatus(err, 404) {
		return nil, fmt.Errorf("get team: %w: %w", tierzero.Errorf(tierzero.ENotFound,
			"no Microsoft Teams team has the id %s: the group does not exist or has no team (use group.find to check)", id), err)
	}
	if err != nil {
		return nil, graphError("get team", err)
	}
	return t, nil
}

// listTeamMembers reads the members of a team, page by page.
func (c *Client) listTeamMembers(ctx context.Context, tenant tierzero.TenantID, team string) ([]teamMember, bool, error) {
	tb, err := c.teams(tenant)
	if err != nil {
		return nil, false, err
	}
	mb := tb.ByTeamId(team).Members()
	top := int32(teamMembersPage)
	resp, err := mb.Get(ctx, &teams.ItemMembersRequestBuilderGetRequestConfiguration{
		QueryParameters: &teams.ItemMembersRequestBuilderGetQueryParameters{Top: &top},
	})
	out := []teamMember{}
	truncated, err := eachPage(c, resp, err, func(link string) (models.ConversationMemberCollectionResponseable, error) {
		return mb.WithUrl(link).Get(ctx, nil)
	}, teamMembersPages, func(ms []models.ConversationMemberable) {
		for _, m := range ms {
			out = append(out, summarizeTeamMember(m))
		}
	})
	if err != nil {
		return nil, false, pageError("list team members", err)
	}
	return out, truncated, nil
}

type teamRefArgs struct {
	Team string `json:"team"`
}

func teamMembers(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[teamRefArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.Team = strings.TrimSpace(a.Team)
	if err := checkTeamID(a.Team); err != nil {
		return nil, noSecret, err
	}
	t, err := c.getTeam(ctx, tenant, a.Team)
	if err != nil {
		return nil, noSecret, err
	}
	members, truncated, err := c.listTeamMembers(ctx, tenant, a.Team)
	if err != nil {
		return nil, noSecret, err
	}
	return struct {
		Team            string       `json:"team"`
		TeamDisplayName string       `json:"teamDisplayName"`
		Members         []teamMember `json:"members"`
		Truncated       bool         `json:"truncated,omitempty"`
	}{str(t.GetId()), str(t.GetDisplayName()), members, truncated}, noSecret, nil
}

// checkTeamID rejects a team reference that is not an object id.
func checkTeamID(ref string) error {
	if !groupsGUID.MatchString(ref) {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: team must be the object id (a GUID) of the team's group; use group.find to look it up")
	}
	return nil
}

type teamMemberArgs struct {
	Team string `json:"team"`
	User string `json:"user"`
	Role string `json:"role"`
}

func decodeTeamMemberArgs(raw json.RawMessage) (teamMemberArgs, error) {
	a, err := decodeArgs[teamMemberArgs](raw)
	if err != nil {
		return a, err
	}
	a.Team, a.User, a.Role = strings.TrimSpace(a.Team), strings.TrimSpace(a.User), strings.ToLower(strings.TrimSpace(a.Role))
	if err := checkTeamID(a.Team); err != nil {
		return a, err
	}
	switch a.Role {
	case "":
		a.Role = teamRoleMember
	case teamRoleMember, teamRoleOwner:
	default:
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: role must be member or owner")
	}
	return a, checkRef("user", a.User)
}

// teamChange is what team.add_member and team.remove_member show the model.
type teamChange struct {
	Team            string `json:"team"`
	TeamDisplayName string `json:"teamDisplayName"`
	User            string `json:"user"` // the user's UPN
	UserID          string `json:"userId"`
	Role            string `json:"role,omitempty"` // the role asked for, or held
	Added           bool   `json:"added,omitempty"`
	AlreadyMember   bool   `json:"alreadyMember,omitempty"`
	Removed         bool   `json:"removed,omitempty"`
	NotMember       bool   `json:"notMember,omitempty"`
}

// isGuestUPN reports whether a UPN is a B2B guest's: Entra ID gives guests
// a UPN holding #EXT#.
func isGuestUPN(upn string) bool { return strings.Contains(strings.ToUpper(upn), "#EXT#") }

// prepareTeam resolves the user, reads the team and finds the user among
// its members (nil when not one).
func (c *Client) prepareTeam(ctx context.Context, tenant tierzero.TenantID, a teamMemberArgs) (teamChange, *teamMember, models.Userable, error) {
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName", "accountEnabled")
	if err != nil {
		return teamChange{}, nil, nil, err
	}
	t, err := c.getTeam(ctx, tenant, a.Team)
	if err != nil {
		return teamChange{}, nil, nil, err
	}
	ch := teamChange{Team: str(t.GetId()), TeamDisplayName: str(t.GetDisplayName()), User: str(u.GetUserPrincipalName()), UserID: str(u.GetId())}
	members, truncated, err := c.listTeamMembers(ctx, tenant, ch.Team)
	if err != nil {
		return ch, nil, nil, err
	}
	i := slices.IndexFunc(members, func(m teamMember) bool { return strings.EqualFold(m.UserID, ch.UserID) })
	if i >= 0 {
		return ch, &members[i], u, nil
	}
	if truncated {
		return ch, nil, nil, tierzero.Errorf(tierzero.EInternal, "team %s has more members than can be read to check whether %s is one", ch.Team, ch.User)
	}
	return ch, nil, u, nil
}

func teamAddMember(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeTeamMemberArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ch, cur, u, err := c.prepareTeam(ctx, tenant, a)
	if err != nil {
		return nil, noSecret, err
	}
	if cur != nil {
		// Graph answers 201 again for an existing member, with no word of
		// it (microsoftgraph/microsoft-graph-docs#9303): read, not sent.
		ch.AlreadyMember, ch.Role = true, cur.Role
		return ch, noSecret, nil
	}
	switch {
	case u.GetAccountEnabled() != nil && !*u.GetAccountEnabled():
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "cannot add %s to team %s: the account is disabled (Graph refuses disabled accounts)", ch.User, ch.TeamDisplayName)
	case isGuestUPN(ch.User):
		// Guests cannot be team owners, nor added with application
		// permissions (microsoftgraph/microsoft-graph-docs#15697, #11756);
		// a guest added to the team's Microsoft 365 group joins the team.
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "cannot add guest %s to team %s through Teams: Microsoft Graph does not let an app add guests to a team; add them to the team's group with group.add_member (group %s)", ch.User, ch.TeamDisplayName, ch.Team)
	}
	ad, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	m := models.NewAadUserConversationMember()
	bind := strings.TrimSuffix(ad.GetBaseUrl(), "/") + "/users('" + ch.UserID + "')"
	m.SetAdditionalData(map[string]any{"user@odata.bind": bind})
	roles := []string{}
	if a.Role == teamRoleOwner {
		roles = append(roles, teamRoleOwner)
	}
	m.SetRoles(roles)
	tb, err := c.teams(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	ch.Role = a.Role
	_, err = tb.ByTeamId(ch.Team).Members().Post(ctx, m, nil)
	if err != nil {
		ch.Added = true // for Execute, if a read-back confirms it
		if isStatus(err, 403) {
			return ch, noSecret, fmt.Errorf("add team member: %w: %w", tierzero.Errorf(tierzero.EUnauthorized,
				"Microsoft Graph refused to add %s to team %s: the app lacks the TeamMember.ReadWrite.All permission", ch.User, ch.TeamDisplayName), err)
		}
		return ch, noSecret, graphError("add team member", err)
	}
	ch.Added = true
	return ch, noSecret, nil
}

func teamRemoveMember(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeTeamMemberArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ch, cur, _, err := c.prepareTeam(ctx, tenant, a)
	if err != nil {
		return nil, noSecret, err
	}
	if cur == nil {
		ch.NotMember = true
		return ch, noSecret, nil
	}
	ch.Role = cur.Role
	tb, err := c.teams(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	err = tb.ByTeamId(ch.Team).Members().ByConversationMemberId(cur.MembershipID).Delete(ctx, nil)
	switch {
	case err == nil:
		ch.Removed = true
	case isStatus(err, 404):
		ch.NotMember = true // gone since the read
	case isStatus(err, 400) && isLastOwner(err):
		return nil, noSecret, fmt.Errorf("remove team member: %w: %w", tierzero.Errorf(tierzero.EConflict,
			"%s is the last owner of team %s, and Microsoft 365 refuses to leave it without an owner: add another owner first", ch.User, ch.TeamDisplayName), err)
	default:
		ch.Removed = true // for Execute, if a read-back confirms it
		return ch, noSecret, graphError("remove team member", err)
	}
	return ch, noSecret, nil
}

// teamMembership resolves the arguments and reads the user's membership
// of the team (nil when not a member).
func (c *Client) teamMembership(ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (*teamMember, error) {
	a, err := decodeTeamMemberArgs(raw)
	if err != nil {
		return nil, err
	}
	_, cur, _, err := c.prepareTeam(ctx, tenant, a)
	return cur, err
}

// Membership has no timestamp: applied reads the current state. An add
// asked as owner is applied when the user is in the team as owner.
func teamAddMemberApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeTeamMemberArgs(raw)
	if err != nil {
		return false, err
	}
	cur, err := c.teamMembership(ctx, tenant, raw)
	if err != nil || cur == nil {
		return false, err
	}
	return a.Role != teamRoleOwner || cur.Role == teamRoleOwner, nil
}

func teamRemoveMemberApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	cur, err := c.teamMembership(ctx, tenant, raw)
	return cur == nil && err == nil, err
}
