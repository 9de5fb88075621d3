package sim

// This file: role management (PIM) for Entra roles. Active role assignments
// (a user's DirectoryRoles, a group's Roles) and eligibilities (EligibleRoles
// of users and groups) as /roleManagement/directory serves them.

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// roleRoutes are the /roleManagement/directory endpoints.
var roleRoutes = []route{
	{http.MethodGet, "roleManagement/directory/roleAssignments", (*Server).listRoleAssignments},
	{http.MethodGet, "roleManagement/directory/roleEligibilityScheduleInstances", (*Server).listRoleEligibilities},
	{http.MethodGet, "identityGovernance/privilegedAccess/group/eligibilityScheduleInstances", (*Server).listGroupEligibilities},
}

// groupEligibilityPattern matches the $filter PIM for Groups requires.
var groupEligibilityPattern = regexp.MustCompile(`(?i)^\s*(principalId|groupId)\s+eq\s+'([^']*)'\s*$`)

// listGroupEligibilities serves PIM for Groups: who may activate membership
// of which group. Graph requires a $filter on principalId or groupId.
func (s *Server) listGroupEligibilities(c *call) reply {
	m := groupEligibilityPattern.FindStringSubmatch(c.query.Get("$filter"))
	if m == nil {
		return badRequest("The request requires a $filter on principalId or groupId.")
	}
	byGroup := strings.EqualFold(m[1], "groupId")
	values := []any{}
	for _, g := range c.t.groups {
		if byGroup && !strings.EqualFold(g.ID, m[2]) {
			continue
		}
		for _, upn := range g.EligibleMembers {
			u := c.t.lookup(upn)
			if u == nil || (!byGroup && !strings.EqualFold(u.ID, m[2])) {
				continue
			}
			values = append(values, map[string]any{
				"@odata.type":           "#microsoft.graph.privilegedAccessGroupEligibilityScheduleInstance",
				"id":                    guid(c.t.name, "groupEligibility", g.ID, u.ID),
				"principalId":           u.ID,
				"groupId":               g.ID,
				"accessId":              "member",
				"memberType":            "direct",
				"startDateTime":         graphTime(s.now().UTC().Truncate(24 * time.Hour)),
				"endDateTime":           nil,
				"eligibilityScheduleId": guid(c.t.name, "groupEligibilitySchedule", g.ID, u.ID),
			})
		}
	}
	return ok(map[string]any{"@odata.context": metadata + "#identityGovernance/privilegedAccess/group/eligibilityScheduleInstances", "value": values})
}

// principalPattern matches the $filter the role lists support here.
var principalPattern = regexp.MustCompile(`(?i)^\s*principalId\s+eq\s+'([^']*)'\s*$`)

// rolePrincipal is one holder of roles: a user or a group.
type rolePrincipal struct {
	id               string
	active, eligible []string
}

// principals returns the tenant's role holders the $filter selects, or a
// 400 reply.
func (c *call) principals() ([]rolePrincipal, reply) {
	raw := c.query.Get("$filter")
	var id string
	if raw != "" {
		m := principalPattern.FindStringSubmatch(raw)
		if m == nil {
			return nil, fail(http.StatusBadRequest, "BadRequest", "Invalid filter clause: the filter supported here is principalId eq '<id>'.")
		}
		id = m[1]
	}
	// Only the principal filtered on is collected (most calls filter).
	var all []rolePrincipal
	for _, u := range c.t.users {
		if id == "" || strings.EqualFold(u.ID, id) {
			all = append(all, rolePrincipal{u.ID, u.DirectoryRoles, u.EligibleRoles})
		}
	}
	for _, g := range c.t.groups {
		if id == "" || strings.EqualFold(g.ID, id) {
			all = append(all, rolePrincipal{g.ID, g.Roles, g.EligibleRoles})
		}
	}
	if id != "" && len(all) > 1 {
		all = all[:1] // the first, as before
	}
	return all, reply{}
}

// expandsRole reports whether $expand asks for roleDefinition, or a 400
// reply for anything else.
func (c *call) expandsRole() (bool, reply) {
	raw := c.query.Get("$expand")
	if raw == "" {
		return false, reply{}
	}
	for _, e := range strings.Split(raw, ",") {
		if !strings.EqualFold(strings.TrimSpace(e), "roleDefinition") {
			return false, badRequest("Could not find a property named '" + strings.TrimSpace(e) + "' on type 'microsoft.graph.unifiedRoleAssignment'.")
		}
	}
	return true, reply{}
}

func roleDefinitionJSON(name string) map[string]any {
	rt := roleTemplates[name]
	return map[string]any{
		"@odata.type": "#microsoft.graph.unifiedRoleDefinition",
		"id":          rt.id, "templateId": rt.id, "displayName": name, "description": rt.description,
		"isBuiltIn": true, "isEnabled": true,
	}
}

func (s *Server) listRoleAssignments(c *call) reply {
	return s.listRoles(c, "roleAssignments", "#microsoft.graph.unifiedRoleAssignment", false)
}

func (s *Server) listRoleEligibilities(c *call) reply {
	return s.listRoles(c, "roleEligibilityScheduleInstances", "#microsoft.graph.unifiedRoleEligibilityScheduleInstance", true)
}

func (s *Server) listRoles(c *call, set, typ string, eligible bool) reply {
	ps, rep := c.principals()
	if rep.code != "" {
		return rep
	}
	expand, rep := c.expandsRole()
	if rep.code != "" {
		return rep
	}
	values := []any{}
	for _, p := range ps {
		roles := p.active
		if eligible {
			roles = p.eligible
		}
		for _, name := range roles {
			rt := roleTemplates[name]
			v := map[string]any{
				"@odata.type":      typ,
				"id":               guid(c.t.name, set, p.id, rt.id),
				"principalId":      p.id,
				"roleDefinitionId": rt.id,
				"directoryScopeId": "/",
				"appScopeId":       nil,
			}
			if eligible {
				v["startDateTime"] = graphTime(s.now().UTC().Truncate(24 * time.Hour))
				v["endDateTime"] = nil
				v["memberType"] = "Direct"
				v["roleEligibilityScheduleId"] = guid(c.t.name, "roleEligibilitySchedule", p.id, rt.id)
			}
			if expand {
				v["roleDefinition"] = roleDefinitionJSON(name)
			}
			values = append(values, v)
		}
	}
	return ok(map[string]any{"@odata.context": metadata + "#roleManagement/directory/" + set, "value": values})
}
