package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
)

type inviteOut struct {
	Email          string `json:"email"`
	DisplayName    string `json:"displayName"`
	GuestUserID    string `json:"guestUserId"`
	Status         string `json:"status"`
	Sponsor        string `json:"sponsor"`
	InvitationSent bool   `json:"invitationSent"`
}

// A guest is invited through POST /invitations
// (learn.microsoft.com/graph/api/invitation-post) with inviteRedirectUrl,
// sendInvitationMessage true and the sponsor (invitedUserSponsors); the
// guest's account exists at once (userType Guest, a UPN with #EXT#), its
// status PendingAcceptance. The redemption link never reaches the model.
// Inviting the same address again reaches the same guest. An address of
// an existing member is refused before anything is sent.
func TestInviteGuestTool(t *testing.T) {
	f := newFixture(t)
	args := map[string]string{"email": "Jane.Doe@partner.example", "display_name": "Jane Doe (Partner)", "sponsor": "adele.vance@contoso.com", "message": "Welcome to the Falcon project."}
	res, err := groupsExec(t, f, "contoso", graph.ActionUserInviteGuest, args)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeOut[inviteOut](t, res)
	if got.GuestUserID == "" || got.Status != "PendingAcceptance" || got.Sponsor != "adele.vance@contoso.com" || !got.InvitationSent {
		t.Fatalf("invite = %+v", got)
	}
	if strings.Contains(string(res.Output), "redeem") {
		t.Errorf("the output carries the redemption link: %s", res.Output)
	}
	guest := simUserOf(t, f, "contoso", "jane.doe_partner.example#EXT#@contoso.com")
	if guest.ID != got.GuestUserID || guest.DisplayName != "Jane Doe (Partner)" {
		t.Errorf("guest = %+v", guest)
	}
	j := f.sim.Journal("contoso")
	var body map[string]any
	if len(j) != 1 || j[0].Path != "/v1.0/invitations" || j[0].Status != 201 || json.Unmarshal(j[0].Body, &body) != nil {
		t.Fatalf("journal = %+v", j)
	}
	sponsors, _ := body["invitedUserSponsors"].([]any)
	if body["sendInvitationMessage"] != true || body["inviteRedirectUrl"] != "https://myapps.microsoft.com" || len(sponsors) != 1 ||
		body["invitedUserMessageInfo"].(map[string]any)["customizedMessageBody"] != "Welcome to the Falcon project." {
		t.Errorf("POST body = %s", j[0].Body)
	}
	// Again: the same guest, the invitation sent again.
	res, err = groupsExec(t, f, "contoso", graph.ActionUserInviteGuest, args)
	if again := decodeOut[inviteOut](t, res); err != nil || again.GuestUserID != got.GuestUserID {
		t.Errorf("invite again = %+v, %v", again, err)
	}
	// A guest cannot join a team through the app (microsoftgraph/
	// microsoft-graph-docs#11756): said before anything is sent.
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	_, err = groupsExec(t, f, "contoso", graph.ActionTeamAddMember, map[string]string{"team": falcon.ID, "user": got.GuestUserID})
	if tierzero.ErrorCode(err) != tierzero.EConflict || !strings.Contains(tierzero.ErrorMessage(err), "group.add_member") {
		t.Errorf("guest into a team: %v", err)
	}
	if n := len(f.sim.Journal("contoso")); n != 2 {
		t.Errorf("%d writes, want the two invitations", n)
	}
}

func TestInviteGuestToolRefusals(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name      string
		args      map[string]string
		want, msg string
	}{
		{"a member's address", map[string]string{"email": "alex.wilber@contoso.com", "display_name": "Alex", "sponsor": "adele.vance@contoso.com"}, tierzero.EConflict, "already has an account"},
		{"disabled sponsor", map[string]string{"email": "jane@partner.example", "display_name": "Jane", "sponsor": "gerhart.moller@contoso.com"}, tierzero.EConflict, "disabled"},
		{"unknown sponsor", map[string]string{"email": "jane@partner.example", "display_name": "Jane", "sponsor": "nobody@contoso.com"}, tierzero.ENotFound, ""},
		{"not an address", map[string]string{"email": "jane(at)partner.example", "display_name": "Jane", "sponsor": "adele.vance@contoso.com"}, tierzero.EInvalid, "email"},
		{"forbidden character", map[string]string{"email": "jane+x@partner.example", "display_name": "Jane", "sponsor": "adele.vance@contoso.com"}, tierzero.EInvalid, "email"},
		{"control character in the name", map[string]string{"email": "jane@partner.example", "display_name": "Jane\x1b[2J", "sponsor": "adele.vance@contoso.com"}, tierzero.EInvalid, "display_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := groupsExec(t, f, "contoso", graph.ActionUserInviteGuest, tt.args)
			if tierzero.ErrorCode(err) != tt.want || !strings.Contains(tierzero.ErrorMessage(err), tt.msg) {
				t.Fatalf("err = %v, want %s with %q", err, tt.want, tt.msg)
			}
		})
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Errorf("refused invitations were sent: %+v", j)
	}
}

// The guest's sponsor is the account policy reads (UserRef).
func TestInviteGuestTargetIsTheSponsor(t *testing.T) {
	call := tierzero.ToolCall{Action: graph.ActionUserInviteGuest, Args: json.RawMessage(`{"email":"jane@partner.example","display_name":"Jane","sponsor":"adele.vance@contoso.com"}`)}
	if ref, err := graph.UserRef(call); err != nil || ref != "adele.vance@contoso.com" {
		t.Errorf("UserRef = %q, %v", ref, err)
	}
}
