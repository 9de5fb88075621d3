package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file: groups and group membership.

var groupRoutes = []route{
	{http.MethodGet, "groups", (*Server).listGroups},
	{http.MethodGet, "groups/{group}", (*Server).getGroup},
	{http.MethodGet, "groups/{group}/owners", (*Server).listGroupOwners},
	{http.MethodPost, "groups/{group}/owners/$ref", (*Server).addGroupOwner},
	{http.MethodDelete, "groups/{group}/owners/{owner}/$ref", (*Server).removeGroupOwner},
	{http.MethodGet, "groups/{group}/members", (*Server).listGroupMembers},
	{http.MethodPost, "groups/{group}/members/$ref", (*Server).addGroupMember},
	{http.MethodDelete, "groups/{group}/members/{member}/$ref", (*Server).removeGroupMember},
	{http.MethodGet, "groups/{group}/members/{member}/microsoft.graph.user", (*Server).getGroupMemberUser},
	{http.MethodGet, "groups/{group}/members/{member}/graph.user", (*Server).getGroupMemberUser},
	{http.MethodGet, "users/{user}/memberOf/microsoft.graph.group", (*Server).userGroups},
	{http.MethodGet, "users/{user}/memberOf/graph.group", (*Server).userGroups},
}

// Errors Graph answers on group membership writes.
var (
	// Adding an object that is already a member (documented in
	// microsoftgraph/microsoft-graph-docs#8637).
	errAlreadyMember = fail(http.StatusBadRequest, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'members'.")
	// Graph cannot change the members of a dynamic group: Microsoft's
	// troubleshooting article "Troubleshoot 403 error when adding a user to
	// a group by using Microsoft Graph API" (learn.microsoft.com, entra-id
	// support articles) lists DynamicMembership groups as a cause of this
	// 403 Authorization_RequestDenied answer.
	errDynamicGroup = fail(http.StatusForbidden, "Authorization_RequestDenied",
		"Insufficient privileges to complete the operation.")
	// Mail-enabled security groups and distribution lists are managed in
	// Exchange, not through Graph.
	errMailEnabledGroup = fail(http.StatusBadRequest, "Request_BadRequest",
		"Cannot Update a mail-enabled security groups and or distribution list.")
	// Adding an object that is already an owner: Graph's answer for the
	// owners navigation property, as for members.
	errAlreadyOwner = fail(http.StatusBadRequest, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'owners'.")
	// Removing the last owner: "Once owners are assigned to a group, the
	// last owner (a user object) of the group cannot be removed"
	// (learn.microsoft.com/graph/api/group-delete-owners); the answer is as
	// reported in microsoftgraph/microsoft-graph-docs#12054.
	errLastOwner = fail(http.StatusBadRequest, "Request_BadRequest",
		"The group must have at least one owner, hence this owner cannot be removed.")
	// The @odata.id of a $ref body does not name a directory object on
	// this service root (msgraph-sdk-dotnet#1846).
	errRefURL = badRequest("Invalid URL format specified in payload.")
)

// groupSpec is one group seedGroups adds to a tenant.
type groupSpec struct {
	name, nickname, description string
	unified, mailEnabled        bool
	visibility                  string
	owners                      func(t *tenant) []string
	members                     func(t *tenant) []string
}

// seedGroups completes the groups build made from groupSeeds: owners,
// nicknames, creation times and dynamic rules; All Staff becomes dynamic
// (enabled accounts), and every tenant gets Finance Approvers, Project
// Falcon (a Microsoft 365 group people ask to join) and Payroll Alerts (a
// mail-enabled security group Graph cannot manage).
func seedGroups(t *tenant, now time.Time) {
	extra := []groupSpec{
		{name: "Finance Approvers", nickname: "financeapprovers",
			description: "Approve purchase orders and expenses above the delegated limit",
			owners:      func(t *tenant) []string { return t.deptHeads("Finance") },
			members:     func(t *tenant) []string { return append(t.deptHeads("Finance"), t.deptHeads("Executive")...) }},
		{name: "Project Falcon", nickname: "projectfalcon", unified: true, mailEnabled: true, visibility: "Private",
			description: "Falcon: the next-generation customer portal (project team)",
			owners:      func(t *tenant) []string { return t.deptHeads("Engineering") },
			members:     func(t *tenant) []string { return append(t.deptUPNs("Engineering"), t.deptHeads("Sales")...) }},
		{name: "Payroll Alerts", nickname: "payrollalerts", mailEnabled: true,
			description: "Mail-enabled security group: payroll run notifications",
			owners:      func(t *tenant) []string { return t.deptHeads("HR") },
			members:     func(t *tenant) []string { return append(t.deptUPNs("HR"), t.deptUPNs("Finance")...) }},
	}
	for _, x := range extra {
		g := Group{
			ID:              guid(t.name, "group", x.name),
			DisplayName:     x.name,
			Description:     x.description,
			MailNickname:    x.nickname,
			MailEnabled:     x.mailEnabled,
			SecurityEnabled: !x.unified,
			GroupTypes:      []string{},
			Visibility:      x.visibility,
			Owners:          x.owners(t),
			Members:         uniqueFold(x.members(t)),
		}
		if x.unified {
			g.GroupTypes = []string{"Unified"}
		}
		if x.mailEnabled {
			g.Mail = x.nickname + "@" + t.domain
		}
		t.groups = append(t.groups, g)
	}
	owners := map[string]func(t *tenant) []string{
		"Marketing Team": func(t *tenant) []string { return t.deptHeads("Marketing") },
		"Sales Team":     func(t *tenant) []string { return t.deptHeads("Sales") },
		"IT Admins":      func(t *tenant) []string { return t.deptHeads("IT") },
		"VPN Users":      func(t *tenant) []string { return t.deptHeads("IT") },
	}
	for i := range t.groups {
		g := &t.groups[i]
		g.CreatedDateTime = now.Add(-time.Duration(400-i*23) * 24 * time.Hour)
		if local, _, found := strings.Cut(g.Mail, "@"); found && g.MailNickname == "" {
			g.MailNickname = local
		}
		if g.MailNickname == "" {
			g.MailNickname = mailNicknameOf(g.DisplayName)
		}
		if g.Owners == nil {
			g.Owners = []string{}
			if f := owners[g.DisplayName]; f != nil {
				g.Owners = f(t)
			}
		}
		if g.DisplayName == "All Staff" {
			g.MembershipRule = "user.accountEnabled -eq true"
			g.Members = []string{}
			for _, u := range t.users {
				if u.AccountEnabled {
					g.Members = append(g.Members, u.UserPrincipalName)
				}
			}
		}
		if g.MembershipRule != "" {
			if !slices.Contains(g.GroupTypes, "DynamicMembership") {
				g.GroupTypes = append(g.GroupTypes, "DynamicMembership")
			}
			g.MembershipRuleProcessingState = "On"
		}
		if slices.Contains(g.GroupTypes, "Unified") && g.Visibility == "" {
			g.Visibility = "Public"
		}
	}
}

// deptUPNs returns the UPNs of a department's users, in seed order.
func (t *tenant) deptUPNs(dept string) []string {
	out := []string{}
	for _, u := range t.users {
		if u.Department == dept {
			out = append(out, u.UserPrincipalName)
		}
	}
	return out
}

// deptHeads returns the UPNs of a department's heads: its users whose
// manager is outside the department (or who have none).
func (t *tenant) deptHeads(dept string) []string {
	out := []string{}
	for _, u := range t.users {
		if u.Department != dept {
			continue
		}
		if m := t.lookup(u.Manager); m == nil || m.Department != dept {
			out = append(out, u.UserPrincipalName)
		}
	}
	return out
}

func uniqueFold(list []string) []string {
	out := []string{}
	for _, s := range list {
		if !containsFold(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// nickname derives a mailNickname from a display name.
func mailNicknameOf(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// groupProp is one property of microsoft.graph.group the simulator knows;
// all are in the default set of GET /groups.
type groupProp struct {
	name  string
	value func(g *Group) any
}

var groupProps = []groupProp{
	{"id", func(g *Group) any { return g.ID }},
	{"deletedDateTime", func(g *Group) any { return nil }},
	{"classification", func(g *Group) any { return nil }},
	{"createdDateTime", func(g *Group) any { return graphTime(g.CreatedDateTime) }},
	{"description", func(g *Group) any { return null(g.Description) }},
	{"displayName", func(g *Group) any { return g.DisplayName }},
	{"groupTypes", func(g *Group) any { return nonNil(g.GroupTypes) }},
	{"isAssignableToRole", func(g *Group) any { return g.IsAssignableToRole }},
	{"mail", func(g *Group) any { return null(g.Mail) }},
	{"mailEnabled", func(g *Group) any { return g.MailEnabled }},
	{"mailNickname", func(g *Group) any { return g.MailNickname }},
	{"membershipRule", func(g *Group) any { return null(g.MembershipRule) }},
	{"membershipRuleProcessingState", func(g *Group) any { return null(g.MembershipRuleProcessingState) }},
	{"onPremisesSyncEnabled", func(g *Group) any { return nil }},
	{"resourceProvisioningOptions", func(g *Group) any { return g.provisioning() }}, // teams.go
	{"securityEnabled", func(g *Group) any { return g.SecurityEnabled }},
	{"visibility", func(g *Group) any { return null(g.Visibility) }},
	{"assignedLicenses", groupLicensesJSON}, // licenses.go
}

// parseGroupSelect returns the canonical group property names of $select
// (nil when absent), or a 400 reply for an unknown property.
func parseGroupSelect(q url.Values) ([]string, reply) {
	return selectOf(q, "microsoft.graph.group", func(name string) (string, bool) {
		i := slices.IndexFunc(groupProps, func(p groupProp) bool { return strings.EqualFold(p.name, name) })
		if i < 0 {
			return "", false
		}
		return groupProps[i].name, true
	})
}

// groupEntity renders g with the selected properties (all when sel is nil)
// plus id; odataType is added when not empty.
func groupEntity(g *Group, sel []string, odataType string) map[string]any {
	m := map[string]any{"id": g.ID}
	for _, p := range groupProps {
		if sel == nil || containsFold(sel, p.name) {
			m[p.name] = p.value(g)
		}
	}
	if odataType != "" {
		m["@odata.type"] = odataType
	}
	return m
}

var groupIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// findGroup returns the tenant's group with object id ref, or the reply
// Graph gives: 400 for an id that is not a GUID, 404 for an unknown one.
func (t *tenant) findGroup(ref string) (*Group, reply) {
	if !groupIDPattern.MatchString(ref) {
		return nil, fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid object identifier '%s'.", ref))
	}
	for i := range t.groups {
		if strings.EqualFold(t.groups[i].ID, ref) {
			return &t.groups[i], reply{}
		}
	}
	return nil, notFound(ref)
}

func (g *Group) dynamic() bool { return slices.Contains(g.GroupTypes, "DynamicMembership") }

// exchangeManaged reports whether g is a mail-enabled security group or a
// distribution list, whose members Graph cannot change.
func (g *Group) exchangeManaged() bool {
	return g.MailEnabled && !slices.Contains(g.GroupTypes, "Unified")
}

// groupFilterPatterns match the $filter subset: startswith(displayName,'x')
// and displayName eq 'x'.
var (
	groupStartsWith = regexp.MustCompile(`(?i)^\s*startswith\(\s*displayName\s*,\s*'((?:[^']|'')*)'\s*\)\s*$`)
	groupNameEq     = regexp.MustCompile(`(?i)^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$`)
)

func parseGroupFilter(raw string) (func(g *Group) bool, reply) {
	if raw == "" {
		return func(*Group) bool { return true }, reply{}
	}
	unquote := func(s string) string { return strings.ReplaceAll(s, "''", "'") }
	if m := groupStartsWith.FindStringSubmatch(raw); m != nil {
		prefix := strings.ToLower(unquote(m[1]))
		return func(g *Group) bool { return strings.HasPrefix(strings.ToLower(g.DisplayName), prefix) }, reply{}
	}
	if m := groupNameEq.FindStringSubmatch(raw); m != nil {
		name := unquote(m[1])
		return func(g *Group) bool { return strings.EqualFold(g.DisplayName, name) }, reply{}
	}
	return nil, fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
}

// listGroups serves GET /groups with $filter, $select, $top and paging.
func (s *Server) listGroups(c *call) reply {
	sel, rep := parseGroupSelect(c.query)
	if rep.code != "" {
		return rep
	}
	keep, rep := parseGroupFilter(c.query.Get("$filter"))
	if rep.code != "" {
		return rep
	}
	p, rep := listWindow(c.query, 100)
	if rep.code != "" {
		return rep
	}
	var matched []*Group
	for i := range c.t.groups {
		if keep(&c.t.groups[i]) {
			matched = append(matched, &c.t.groups[i])
		}
	}
	return p.collection(c, len(matched), "groups"+selectContext(sel), func(i int) any {
		return groupEntity(matched[i], sel, "#microsoft.graph.group")
	})
}

func (s *Server) getGroup(c *call) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	sel, rep := parseGroupSelect(c.query)
	if rep.code != "" {
		return rep
	}
	m := groupEntity(g, sel, "")
	m["@odata.context"] = metadata + "#groups" + selectContext(sel) + "/$entity"
	return ok(m)
}

// listGroupOwners and listGroupMembers serve a group's owners and members
// as directoryObjects (users, with their @odata.type), with $select, $top
// and paging.
func (s *Server) listGroupOwners(c *call) reply {
	return s.listGroupUsers(c, func(g *Group) []string { return g.Owners })
}
func (s *Server) listGroupMembers(c *call) reply {
	return s.listGroupUsers(c, func(g *Group) []string { return g.Members })
}

func (s *Server) listGroupUsers(c *call, list func(g *Group) []string) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	sel, rep := parseSelect(c.query)
	if rep.code != "" {
		return rep
	}
	if c.query.Has("$filter") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	p, rep := listWindow(c.query, 100)
	if rep.code != "" {
		return rep
	}
	var users []*user
	for _, upn := range list(g) {
		if u := c.t.lookup(upn); u != nil {
			users = append(users, u)
		}
	}
	return p.collection(c, len(users), "directoryObjects"+selectContext(sel), func(i int) any {
		return userJSON(users[i], sel, "", "#microsoft.graph.user")
	})
}

// getGroupMemberUser serves GET /groups/{id}/members/{id}/graph.user: the
// member as a user, 404 when it is not one.
func (s *Server) getGroupMemberUser(c *call) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	ref := c.params["member"]
	u := c.t.lookup(ref)
	if u == nil || !strings.EqualFold(u.ID, ref) || !containsFold(g.Members, u.UserPrincipalName) {
		return notFound(ref)
	}
	sel, rep := parseSelect(c.query)
	if rep.code != "" {
		return rep
	}
	return ok(userJSON(u, sel, "users"+selectContext(sel)+"/$entity", "#microsoft.graph.user"))
}

// refTarget returns the object id an @odata.id names: a directoryObjects or
// users URL on this service root (Graph's own host is accepted too).
func refTarget(c *call) (string, reply) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &body); err != nil || body == nil {
		return "", errPayload
	}
	var raw string
	if err := json.Unmarshal(body["@odata.id"], &raw); err != nil || raw == "" {
		return "", errRefURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return "", errRefURL
	}
	if !strings.EqualFold(u.Host, c.r.Host) && !strings.EqualFold(u.Host, "graph.microsoft.com") {
		return "", errRefURL
	}
	segs, err := segments(u.EscapedPath())
	if err != nil || !strings.HasPrefix(u.Path, "/v1.0/") || len(segs) != 2 || (segs[0] != "directoryObjects" && segs[0] != "users") {
		return "", errRefURL
	}
	return segs[1], reply{}
}

// addGroupMember serves POST /groups/{id}/members/$ref.
func (s *Server) addGroupMember(c *call) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	ref, rep := refTarget(c)
	if rep.code != "" {
		return rep
	}
	switch {
	case g.dynamic():
		return errDynamicGroup
	case g.exchangeManaged():
		return errMailEnabledGroup
	}
	u := c.t.lookup(ref)
	if u == nil || !strings.EqualFold(u.ID, ref) {
		return notFound(ref)
	}
	if containsFold(g.Members, u.UserPrincipalName) {
		return errAlreadyMember
	}
	g.Members = append(g.Members, u.UserPrincipalName)
	c.t.relicense(s.now().UTC().Truncate(time.Second)) // group-based licensing, licenses.go
	return reply{status: http.StatusNoContent}
}

// removeGroupMember serves DELETE /groups/{id}/members/{id}/$ref.
func (s *Server) removeGroupMember(c *call) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	switch {
	case g.dynamic():
		return errDynamicGroup
	case g.exchangeManaged():
		return errMailEnabledGroup
	}
	ref := c.params["member"]
	u := c.t.lookup(ref)
	if u == nil || !strings.EqualFold(u.ID, ref) || !containsFold(g.Members, u.UserPrincipalName) {
		return notFound(ref)
	}
	g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return strings.EqualFold(m, u.UserPrincipalName) })
	c.t.relicense(s.now().UTC().Truncate(time.Second)) // group-based licensing, licenses.go
	return reply{status: http.StatusNoContent}
}

// userGroups serves GET /users/{id}/memberOf/microsoft.graph.group: the
// groups the user is a direct member of, with $select, $top and paging.
func (s *Server) userGroups(c *call) reply {
	sel, rep := parseGroupSelect(c.query)
	if rep.code != "" {
		return rep
	}
	if c.query.Has("$filter") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	p, rep := listWindow(c.query, 100)
	if rep.code != "" {
		return rep
	}
	var groups []*Group
	for i := range c.t.groups {
		if containsFold(c.t.groups[i].Members, c.user.UserPrincipalName) {
			groups = append(groups, &c.t.groups[i])
		}
	}
	return p.collection(c, len(groups), "groups"+selectContext(sel), func(i int) any {
		return groupEntity(groups[i], sel, "#microsoft.graph.group")
	})
}

// addGroupOwner serves POST /groups/{id}/owners/$ref. Owners are not
// available in Graph for groups created in Exchange (mail-enabled security
// groups, distribution lists: learn.microsoft.com/graph/api/group-list-owners).
func (s *Server) addGroupOwner(c *call) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	ref, rep := refTarget(c)
	if rep.code != "" {
		return rep
	}
	if g.exchangeManaged() {
		return errMailEnabledGroup
	}
	u := c.t.lookup(ref)
	if u == nil || !strings.EqualFold(u.ID, ref) {
		return notFound(ref)
	}
	if containsFold(g.Owners, u.UserPrincipalName) {
		return errAlreadyOwner
	}
	g.Owners = append(slices.Clone(g.Owners), u.UserPrincipalName)
	return reply{status: http.StatusNoContent}
}

// removeGroupOwner serves DELETE /groups/{id}/owners/{id}/$ref: 404 for
// an object that is not an owner, 400 for the last owner.
func (s *Server) removeGroupOwner(c *call) reply {
	g, rep := c.t.findGroup(c.params["group"])
	if g == nil {
		return rep
	}
	if g.exchangeManaged() {
		return errMailEnabledGroup
	}
	ref := c.params["owner"]
	u := c.t.lookup(ref)
	if u == nil || !strings.EqualFold(u.ID, ref) || !containsFold(g.Owners, u.UserPrincipalName) {
		return notFound(ref)
	}
	if len(g.Owners) == 1 {
		return errLastOwner
	}
	g.Owners = slices.DeleteFunc(slices.Clone(g.Owners), func(o string) bool { return strings.EqualFold(o, u.UserPrincipalName) })
	return reply{status: http.StatusNoContent}
}
