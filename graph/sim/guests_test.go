package sim

import (
	"net/http"
	"strings"
	"testing"
)

// POST /invitations (learn.microsoft.com/graph/api/invitation-post): 201
// with invitedUser and status PendingAcceptance; inviteRedirectUrl is
// required; the address form of the invitation resource type; an existing
// member's address is 400 "already exists in the directory" (as publicly
// reported, taourl.com/read-2471199.html).
func TestInvitations(t *testing.T) {
	srv, s := newTest(t)
	post := func(body string) response {
		return do(t, srv, request{method: http.MethodPost, path: "/v1.0/invitations", tenant: "contoso", body: body})
	}
	r := post(`{"invitedUserEmailAddress":"jane@partner.example","invitedUserDisplayName":"Jane","inviteRedirectUrl":"https://myapps.microsoft.com","sendInvitationMessage":true}`)
	if r.status != http.StatusCreated || r.json["status"] != "PendingAcceptance" || r.json["invitedUserType"] != "Guest" || r.json["inviteRedeemUrl"] == "" {
		t.Fatalf("invite: %d %s", r.status, r.raw)
	}
	id, _ := r.json["invitedUser"].(map[string]any)["id"].(string)
	if got := simUserID(t, s, "contoso", "jane_partner.example#EXT#@contoso.com"); got != id {
		t.Errorf("guest id %s, invitedUser %s", got, id)
	}
	r = post(`{"invitedUserEmailAddress":"JANE@partner.example","inviteRedirectUrl":"https://myapps.microsoft.com"}`)
	if again, _ := r.json["invitedUser"].(map[string]any)["id"].(string); r.status != http.StatusCreated || again != id {
		t.Errorf("invite again: %d %s", r.status, r.raw)
	}
	alex := simUserID(t, s, "contoso", "alex.wilber@contoso.com")
	tests := []struct {
		name, body string
		status     int
		inMsg      string
	}{
		{"member", `{"invitedUserEmailAddress":"alex.wilber@contoso.com","inviteRedirectUrl":"https://myapps.microsoft.com"}`, 400, "already exists in the directory as object ID: " + alex},
		{"no redirect", `{"invitedUserEmailAddress":"bob@partner.example"}`, 400, "inviteRedirectUrl"},
		{"bad address", `{"invitedUserEmailAddress":"bob+x@partner.example","inviteRedirectUrl":"https://myapps.microsoft.com"}`, 400, "not valid"},
		{"unknown sponsor", `{"invitedUserEmailAddress":"bob@partner.example","inviteRedirectUrl":"https://myapps.microsoft.com","invitedUserSponsors":[{"id":"00000000-0000-4000-8000-000000000000"}]}`, 404, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.body)
			if _, msg := graphErr(t, r); r.status != tt.status || !strings.Contains(msg, tt.inMsg) {
				t.Errorf("%d %q, want %d %q", r.status, msg, tt.status, tt.inMsg)
			}
		})
	}
	// A guest joins no team through the app: 403 (microsoftgraph/
	// microsoft-graph-docs#11756).
	falcon := simGroup(t, s, "contoso", "Project Falcon")
	r = do(t, srv, request{method: http.MethodPost, path: "/v1.0/teams/" + falcon.ID + "/members", tenant: "contoso",
		body: `{"@odata.type":"#microsoft.graph.aadUserConversationMember","roles":[],"user@odata.bind":"https://graph.microsoft.com/v1.0/users('` + id + `')"}`})
	if code, _ := graphErr(t, r); r.status != http.StatusForbidden || code != "Forbidden" {
		t.Errorf("guest into a team: %d %s", r.status, r.raw)
	}
}
