package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

type teamMembersOut struct {
	Team            string `json:"team"`
	TeamDisplayName string `json:"teamDisplayName"`
	Members         []struct {
		UserID       string `json:"userId"`
		DisplayName  string `json:"displayName"`
		Email        string `json:"email"`
		Role         string `json:"role"`
		MembershipID string `json:"membershipId"`
	} `json:"members"`
	Truncated bool `json:"truncated"`
}

type teamChangeOut struct {
	Team            string `json:"team"`
	TeamDisplayName string `json:"teamDisplayName"`
	User            string `json:"user"`
	UserID          string `json:"userId"`
	Role            string `json:"role"`
	Added           bool   `json:"added"`
	AlreadyMember   bool   `json:"alreadyMember"`
	Removed         bool   `json:"removed"`
	NotMember       bool   `json:"notMember"`
}

// Team membership through /teams/{id}/members
// (learn.microsoft.com/graph/api/team-list-members, team-post-members with
// #microsoft.graph.aadUserConversationMember and user@odata.bind,
// team-delete-members by membership id). An existing member is read, not
// posted again: Graph answers 201 for it with no word
// (microsoftgraph/microsoft-graph-docs#9303).
func TestTeamMemberTools(t *testing.T) {
	f := newFixture(t)
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	adele := simUserOf(t, f, "contoso", "adele.vance@contoso.com")
	inGroup := func(list func(sim.Group) []string) bool {
		return slices.Contains(list(simGroupOf(t, f, "contoso", "Project Falcon")), adele.UserPrincipalName)
	}
	members := func(g sim.Group) []string { return g.Members }
	owners := func(g sim.Group) []string { return g.Owners }

	res, err := groupsExec(t, f, "contoso", graph.ActionTeamMembers, map[string]string{"team": falcon.ID})
	if err != nil {
		t.Fatal(err)
	}
	list := decodeOut[teamMembersOut](t, res)
	if list.Team != falcon.ID || list.TeamDisplayName != "Project Falcon" || len(list.Members) != len(falcon.Members) {
		t.Fatalf("members = %+v", list)
	}
	for _, m := range list.Members {
		wantRole := "member"
		if slices.Contains(falcon.Owners, m.Email) {
			wantRole = "owner"
		}
		if m.Role != wantRole || m.UserID == "" || m.MembershipID == "" {
			t.Errorf("member %+v, want role %s", m, wantRole)
		}
	}

	args := map[string]string{"team": falcon.ID, "user": "Adele.Vance@contoso.com", "role": "owner"}
	res, err = groupsExec(t, f, "contoso", graph.ActionTeamAddMember, args)
	want := teamChangeOut{Team: falcon.ID, TeamDisplayName: "Project Falcon", User: adele.UserPrincipalName, UserID: adele.ID, Role: "owner", Added: true}
	if got := decodeOut[teamChangeOut](t, res); err != nil || got != want || !inGroup(members) || !inGroup(owners) {
		t.Fatalf("add = %+v, %v; want %+v in the group's members and owners", got, err, want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionTeamAddMember, map[string]string{"team": falcon.ID, "user": adele.ID})
	want.Added, want.AlreadyMember = false, true
	if got := decodeOut[teamChangeOut](t, res); err != nil || got != want {
		t.Errorf("add again = %+v, %v; want %+v", got, err, want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionTeamRemoveMember, map[string]string{"team": falcon.ID, "user": adele.UserPrincipalName})
	want.AlreadyMember, want.Removed = false, true
	if got := decodeOut[teamChangeOut](t, res); err != nil || got != want || inGroup(members) || inGroup(owners) {
		t.Errorf("remove = %+v, %v; want %+v and out of the group", got, err, want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionTeamRemoveMember, map[string]string{"team": falcon.ID, "user": adele.UserPrincipalName})
	want = teamChangeOut{Team: falcon.ID, TeamDisplayName: "Project Falcon", User: adele.UserPrincipalName, UserID: adele.ID, NotMember: true}
	if got := decodeOut[teamChangeOut](t, res); err != nil || got != want {
		t.Errorf("remove again = %+v, %v; want %+v", got, err, want)
	}
	// Posted once, deleted once: the rest was read.
	var writes []string
	for _, e := range f.sim.Journal("contoso") {
		writes = append(writes, e.Method+" "+strings.TrimPrefix(e.Path, "/v1.0/teams/"+falcon.ID))
	}
	if len(writes) != 2 || writes[0] != "POST /members" || !strings.HasPrefix(writes[1], "DELETE /members/") {
		t.Errorf("writes = %v", writes)
	}
}

// Refusals: a group without a team is Graph's 404 NotFound "No team found
// with Group Id" (microsoftgraph/microsoft-graph-docs-contrib#4597); a
// disabled account 404 (team-post-members); the team's last owner stays
// (group-delete-owners: the team's owners are its group's).
func TestTeamMemberToolErrors(t *testing.T) {
	f := newFixture(t)
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	vpn := simGroupOf(t, f, "contoso", "VPN Users")
	tests := []struct {
		name, action string
		args         map[string]string
		want, inMsg  string
	}{
		{"group without a team", graph.ActionTeamAddMember, map[string]string{"team": vpn.ID, "user": "adele.vance@contoso.com"}, tierzero.ENotFound, "no Microsoft Teams team"},
		{"unknown team", graph.ActionTeamMembers, map[string]string{"team": "00000000-0000-4000-8000-000000000000"}, tierzero.ENotFound, "no Microsoft Teams team"},
		{"disabled account", graph.ActionTeamAddMember, map[string]string{"team": falcon.ID, "user": "gerhart.moller@contoso.com"}, tierzero.EConflict, "disabled"},
		{"last owner", graph.ActionTeamRemoveMember, map[string]string{"team": falcon.ID, "user": falcon.Owners[0]}, tierzero.EConflict, "last owner"},
		{"team by name", graph.ActionTeamMembers, map[string]string{"team": "Project Falcon"}, tierzero.EInvalid, "object id"},
		{"unknown role", graph.ActionTeamAddMember, map[string]string{"team": falcon.ID, "user": "adele.vance@contoso.com", "role": "admin"}, tierzero.EInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := groupsExec(t, f, "contoso", tt.action, tt.args)
			if tierzero.ErrorCode(err) != tt.want || !strings.Contains(tierzero.ErrorMessage(err), tt.inMsg) {
				t.Fatalf("err = %v, want %s with %q", err, tt.want, tt.inMsg)
			}
		})
	}
	var sent []string
	for _, e := range f.sim.Journal("contoso") {
		sent = append(sent, e.Method+" "+e.Path)
	}
	// Only the last owner's removal reached Graph, which refused it.
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "DELETE /v1.0/teams/"+falcon.ID+"/members/") {
		t.Errorf("writes = %v", sent)
	}
}

// A team write whose answer is lost is read back, not sent twice.
func TestTeamMemberAmbiguousWrite(t *testing.T) {
	f := newFixture(t)
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/teams/*/members", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := groupsExec(t, f, "contoso", graph.ActionTeamAddMember, map[string]string{"team": falcon.ID, "user": "adele.vance@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeOut[teamChangeOut](t, res); !got.Added {
		t.Errorf("output %+v", got)
	}
	if j := f.sim.Journal("contoso"); len(j) != 1 {
		t.Errorf("journal = %+v, want one POST", j)
	}
}
