package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// This file: Microsoft Teams teams and their members. A team is a
// Microsoft 365 group with a team (its resourceProvisioningOptions hold
// "Team"), under the group's object id; its members are the group's
// members and its owners the group's owners, as on Microsoft 365, where
// the two stay in sync. Each tenant's Project Falcon and Marketing Team
// groups have a team.

var teamRoutes = []route{
	{http.MethodGet, "teams/{team}", (*Server).getTeam},
	{http.MethodGet, "teams/{team}/members", (*Server).listTeamMembers},
	{http.MethodPost, "teams/{team}/members", (*Server).addTeamMember},
	{http.MethodDelete, "teams/{team}/members/{membership}", (*Server).removeTeamMember},
}

// teamGroups are the seeded groups that have a team.
var teamGroups = []string{"Project Falcon", "Marketing Team"}

// hasTeam reports whether g has a team: a seeded team group (the
// simulator neither creates nor renames groups).
func (g *Group) hasTeam() bool {
	return slices.Contains(g.GroupTypes, "Unified") && slices.Contains(teamGroups, g.DisplayName)
}

// provisioning is a group's resourceProvisioningOptions.
func (g *Group) provisioning() []string {
	if g.hasTeam() {
		return []string{"Team"}
	}
	return []string{}
}

// isGuest reports whether u is a B2B guest: its UPN holds #EXT#, as a
// guest's does on Entra ID.
func isGuest(u *user) bool { return strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#") }

// findTeam returns the team with the group id ref, or Graph's answer for a
// group without one: 404 NotFound "No team found with Group Id ..." (as
// reported in microsoftgraph/microsoft-graph-docs-contrib#4597).
func (t *tenant) findTeam(ref string) (*Group, reply) {
	g, rep := t.findGroup(ref)
	if g == nil {
		if rep.status == http.StatusNotFound {
			return nil, fail(http.StatusNotFound, "NotFound", "No team found with Group Id "+ref)
		}
		return nil, rep
	}
	if !g.hasTeam() {
		return nil, fail(http.StatusNotFound, "NotFound", "No team found with Group Id "+ref)
	}
	return g, reply{}
}

// membershipID is the conversationMember id of a user in a team: opaque
// to clients, base64 as on Graph.
func membershipID(team, userID string) string {
	return base64.StdEncoding.EncodeToString([]byte("0#2##" + strings.ToLower(team) + "##" + strings.ToLower(userID)))
}

func (s *Server) getTeam(c *call) reply {
	g, rep := c.t.findTeam(c.params["team"])
	if g == nil {
		return rep
	}
	return ok(map[string]any{
		"@odata.context":  metadata + "#teams/$entity",
		"id":              g.ID,
		"createdDateTime": graphTime(g.CreatedDateTime),
		"displayName":     g.DisplayName,
		"description":     null(g.Description),
		"visibility":      strings.ToLower(g.Visibility),
		"isArchived":      false,
		"webUrl":          "https://teams.microsoft.com/l/team/" + url.PathEscape("19:"+strings.ReplaceAll(g.ID, "-", "")+"@thread.tacv2") + "/conversations?groupId=" + g.ID + "&tenantId=" + c.t.id,
	})
}

// teamMemberJSON renders a user's membership of team g.
func (t *tenant) teamMemberJSON(g *Group, u *user) map[string]any {
	roles := []string{}
	switch {
	case containsFold(g.Owners, u.UserPrincipalName):
		roles = append(roles, "owner")
	case isGuest(u):
		roles = append(roles, "guest")
	}
	return map[string]any{
		"@odata.type":                 "#microsoft.graph.aadUserConversationMember",
		"id":                          membershipID(g.ID, u.ID),
		"roles":                       roles,
		"displayName":                 null(u.DisplayName),
		"visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
		"userId":                      u.ID,
		"email":                       null(u.Mail),
		"tenantId":                    t.id,
	}
}

// teamUsers returns the members of team g: its group's members and owners,
// members first, each once.
func (t *tenant) teamUsers(g *Group) []*user {
	var out []*user
	for _, upn := range slices.Concat(g.Members, g.Owners) {
		if u := t.lookup(upn); u != nil && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// listTeamMembers serves GET /teams/{id}/members, with $top and paging.
func (s *Server) listTeamMembers(c *call) reply {
	g, rep := c.t.findTeam(c.params["team"])
	if g == nil {
		return rep
	}
	if c.query.Has("$select") || c.query.Has("$filter") {
		// Neither is supported on team members in v1.0.
		return fail(http.StatusBadRequest, "BadRequest", "Query option is not supported.")
	}
	p, rep := listWindow(c.query, 100)
	if rep.code != "" {
		return rep
	}
	users := c.t.teamUsers(g)
	return p.collection(c, len(users), "teams('"+g.ID+"')/members", func(i int) any {
		return c.t.teamMemberJSON(g, users[i])
	})
}

// userBind matches the user@odata.bind of a new member:
// https://graph.microsoft.com/v1.0/users('id') (or users/id).
var userBind = regexp.MustCompile(`^/v1\.0/users(?:\('([^'/]+)'\)|/([^/]+))$`)

// addTeamMember serves POST /teams/{id}/members
// (learn.microsoft.com/graph/api/team-post-members): 201 with the new
// conversationMember. A disabled account is 404 (the same page); a guest
// cannot be a team owner (microsoftgraph/microsoft-graph-docs#15697) and
// cannot be added with application permissions at all: 403 Forbidden "An
// unknown error has occurred." (microsoftgraph/microsoft-graph-docs#11756,
// microsoft-graph-docs-contrib#3840). Adding an existing member answers
// 201 again, with no "already a member" error (microsoft-graph-docs#9303).
func (s *Server) addTeamMember(c *call) reply {
	g, rep := c.t.findTeam(c.params["team"])
	if g == nil {
		return rep
	}
	var body struct {
		Type  string   `json:"@odata.type"`
		Roles []string `json:"roles"`
		Bind  string   `json:"user@odata.bind"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		return errPayload
	}
	if !strings.EqualFold(body.Type, "#microsoft.graph.aadUserConversationMember") {
		return badRequest("The @odata.type of a team member must be #microsoft.graph.aadUserConversationMember.")
	}
	owner := false
	for _, r := range body.Roles {
		switch strings.ToLower(r) {
		case "owner":
			owner = true
		case "member", "guest":
		default:
			return badRequest(fmt.Sprintf("Invalid role '%s'.", r))
		}
	}
	u, err := url.Parse(body.Bind)
	var m []string
	if err == nil && (strings.EqualFold(u.Host, c.r.Host) || strings.EqualFold(u.Host, "graph.microsoft.com")) {
		m = userBind.FindStringSubmatch(u.Path)
	}
	if m == nil {
		return badRequest("Bind requests not expected for action payload.")
	}
	ref := m[1] + m[2]
	usr := c.t.lookup(ref)
	if usr == nil {
		return notFound(ref)
	}
	switch {
	case !usr.AccountEnabled:
		return fail(http.StatusNotFound, "NotFound", "User "+usr.ID+" is disabled or blocked.")
	case isGuest(usr):
		return fail(http.StatusForbidden, "Forbidden", "An unknown error has occurred.")
	}
	if !containsFold(g.Members, usr.UserPrincipalName) {
		g.Members = append(slices.Clone(g.Members), usr.UserPrincipalName)
	}
	if owner && !containsFold(g.Owners, usr.UserPrincipalName) {
		g.Owners = append(slices.Clone(g.Owners), usr.UserPrincipalName)
	}
	out := c.t.teamMemberJSON(g, usr)
	out["@odata.context"] = metadata + "#teams('" + g.ID + "')/members/$entity"
	return reply{status: http.StatusCreated, body: out}
}

// removeTeamMember serves DELETE /teams/{id}/members/{membershipId}
// (learn.microsoft.com/graph/api/team-delete-members): 204; the member
// leaves the group, and an owner its owners. The last owner stays, as for
// the group (learn.microsoft.com/graph/api/group-delete-owners).
func (s *Server) removeTeamMember(c *call) reply {
	g, rep := c.t.findTeam(c.params["team"])
	if g == nil {
		return rep
	}
	id := c.params["membership"]
	var usr *user
	for _, u := range c.t.teamUsers(g) {
		if membershipID(g.ID, u.ID) == id {
			usr = u
		}
	}
	if usr == nil {
		return fail(http.StatusNotFound, "NotFound", "Member "+id+" not found in the team.")
	}
	if containsFold(g.Owners, usr.UserPrincipalName) && len(g.Owners) == 1 {
		return errLastOwner
	}
	drop := func(list []string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return strings.EqualFold(x, usr.UserPrincipalName) })
	}
	g.Members, g.Owners = drop(g.Members), drop(g.Owners)
	return reply{status: http.StatusNoContent}
}
