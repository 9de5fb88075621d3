package sim

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// Team members as learn.microsoft.com/graph/api/team-list-members,
// team-post-members and team-delete-members describe them; a group without
// a team answers 404 NotFound "No team found with Group Id"
// (microsoftgraph/microsoft-graph-docs-contrib#4597); a disabled account is
// 404 (team-post-members); a guest cannot be added with application
// permissions (microsoftgraph/microsoft-graph-docs#11756); adding an
// existing member answers 201 again (microsoft-graph-docs#9303).
func TestTeamMembers(t *testing.T) {
	srv, s := newTest(t)
	falcon := simGroup(t, s, "contoso", "Project Falcon")
	vpn := simGroup(t, s, "contoso", "VPN Users")
	adele := simUserID(t, s, "contoso", "adele.vance@contoso.com")
	gerhart := simUserID(t, s, "contoso", "gerhart.moller@contoso.com") // disabled
	get := func(path string) response { return do(t, srv, request{path: path, tenant: "contoso"}) }
	add := func(team, body string) response {
		return do(t, srv, request{method: http.MethodPost, path: "/v1.0/teams/" + team + "/members", tenant: "contoso", body: body})
	}
	bind := func(id, roles string) string {
		return `{"@odata.type":"#microsoft.graph.aadUserConversationMember","roles":` + roles + `,"user@odata.bind":"https://graph.microsoft.com/v1.0/users('` + id + `')"}`
	}

	r := get("/v1.0/groups/" + falcon.ID + "?$select=resourceProvisioningOptions")
	if opts, _ := r.json["resourceProvisioningOptions"].([]any); len(opts) != 1 || opts[0] != "Team" {
		t.Errorf("Falcon's resourceProvisioningOptions: %s", r.raw)
	}
	r = get("/v1.0/teams/" + vpn.ID)
	if code, msg := graphErr(t, r); r.status != 404 || code != "NotFound" || msg != "No team found with Group Id "+vpn.ID {
		t.Errorf("team of a group without one: %d %s %s", r.status, code, msg)
	}
	r = get("/v1.0/teams/" + falcon.ID)
	if r.status != 200 || r.json["displayName"] != "Project Falcon" || r.json["visibility"] != "private" {
		t.Errorf("get team: %d %s", r.status, r.raw)
	}
	r = get("/v1.0/teams/" + falcon.ID + "/members")
	vals, _ := r.json["value"].([]any)
	if r.status != 200 || len(vals) != len(falcon.Members) {
		t.Fatalf("members: %d %s", r.status, r.raw)
	}
	owners := 0
	for _, v := range vals {
		m := v.(map[string]any)
		if m["@odata.type"] != "#microsoft.graph.aadUserConversationMember" || m["userId"] == "" || m["id"] == "" {
			t.Errorf("member = %v", m)
		}
		if roles, _ := m["roles"].([]any); len(roles) == 1 && roles[0] == "owner" {
			owners++
		}
	}
	if owners != len(falcon.Owners) {
		t.Errorf("%d owners listed, want %d", owners, len(falcon.Owners))
	}

	r = add(falcon.ID, bind(adele, `["owner"]`))
	if r.status != http.StatusCreated || r.json["userId"] != adele {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	g := simGroup(t, s, "contoso", "Project Falcon")
	if !slices.Contains(g.Members, "adele.vance@contoso.com") || !slices.Contains(g.Owners, "adele.vance@contoso.com") {
		t.Errorf("group after add: members %v owners %v", g.Members, g.Owners)
	}
	membership, _ := r.json["id"].(string)
	if r := add(falcon.ID, bind(adele, `[]`)); r.status != http.StatusCreated || r.json["id"] != membership {
		t.Errorf("add again: %d %s", r.status, r.raw)
	}
	if r := add(falcon.ID, bind(gerhart, `[]`)); r.status != http.StatusNotFound {
		t.Errorf("add a disabled account: %d %s", r.status, r.raw)
	}
	if r := add(vpn.ID, bind(adele, `[]`)); r.status != http.StatusNotFound {
		t.Errorf("add to a group without a team: %d", r.status)
	}
	if r := add(falcon.ID, `{"roles":[],"user@odata.bind":"https://graph.microsoft.com/v1.0/users('`+adele+`')"}`); r.status != http.StatusBadRequest {
		t.Errorf("add without @odata.type: %d", r.status)
	}
	// The escaped membership id reaches the member.
	del := do(t, srv, request{method: http.MethodDelete, path: "/v1.0/teams/" + falcon.ID + "/members/" + escapePath(membership), tenant: "contoso"})
	if del.status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", del.status, del.raw)
	}
	g = simGroup(t, s, "contoso", "Project Falcon")
	if slices.Contains(g.Members, "adele.vance@contoso.com") || slices.Contains(g.Owners, "adele.vance@contoso.com") {
		t.Errorf("group after remove: members %v owners %v", g.Members, g.Owners)
	}
	if del := do(t, srv, request{method: http.MethodDelete, path: "/v1.0/teams/" + falcon.ID + "/members/" + escapePath(membership), tenant: "contoso"}); del.status != http.StatusNotFound {
		t.Errorf("remove again: %d", del.status)
	}
	// The one owner stays.
	owner := membershipID(falcon.ID, simUserID(t, s, "contoso", falcon.Owners[0]))
	if del := do(t, srv, request{method: http.MethodDelete, path: "/v1.0/teams/" + falcon.ID + "/members/" + escapePath(owner), tenant: "contoso"}); del.status != http.StatusBadRequest {
		t.Errorf("remove the last owner: %d %s", del.status, del.raw)
	}
}

func escapePath(s string) string { return url.PathEscape(s) }
