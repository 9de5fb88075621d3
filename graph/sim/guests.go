package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// This file: B2B guest invitations (POST /invitations,
// learn.microsoft.com/graph/api/invitation-post). An invitation creates a
// guest user (userType Guest, a UPN holding #EXT#) at once; the guest
// redeems it later. Inviting the same address again reaches the same
// guest; an address that is already a member's is refused.

var guestRoutes = []route{
	{http.MethodPost, "invitations", (*Server).invite},
}

// inviteEmail is the form of invitedUserEmailAddress: none of the
// characters the invitation resource type forbids (~ ! # $ % ^ & * ( ) + =
// [ ] { } \ / | ; : " < > ? ,), and a domain.
var inviteEmail = regexp.MustCompile(`^[A-Za-z0-9_.'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

// guestUPN is the UPN Entra ID gives the guest of an address.
func guestUPN(email, domain string) string {
	return strings.ReplaceAll(strings.ToLower(email), "@", "_") + "#EXT#@" + domain
}

// invite serves POST /invitations: 201 with the invitation, its
// invitedUser the guest. An address of an existing member is 400 "The
// invited user already exists in the directory as object ID" (as
// publicly reported, taourl.com/read-2471199.html).
func (s *Server) invite(c *call) reply {
	var body struct {
		Email    string `json:"invitedUserEmailAddress"`
		Name     string `json:"invitedUserDisplayName"`
		Redirect string `json:"inviteRedirectUrl"`
		Send     bool   `json:"sendInvitationMessage"`
		Type     string `json:"invitedUserType"`
		Message  *struct {
			Body string `json:"customizedMessageBody"`
		} `json:"invitedUserMessageInfo"`
		Sponsors []struct {
			ID string `json:"id"`
		} `json:"invitedUserSponsors"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		return errPayload
	}
	switch {
	case body.Email == "":
		return badRequest("The invitedUserEmailAddress property is required.")
	case !inviteEmail.MatchString(body.Email) || strings.HasPrefix(body.Email, ".") || strings.Contains(body.Email, ".@"):
		return badRequest(fmt.Sprintf("The invited user email address '%s' is not valid.", body.Email))
	case body.Redirect == "":
		return badRequest("The inviteRedirectUrl property is required.")
	case body.Type != "" && !strings.EqualFold(body.Type, "Guest"):
		return fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	if u, err := url.Parse(body.Redirect); err != nil || u.Scheme != "https" || u.Host == "" {
		return badRequest("The inviteRedirectUrl property is not a valid absolute URL.")
	}
	for _, sp := range body.Sponsors { // users of the tenant, by object id
		if u := c.t.lookup(sp.ID); u == nil || !strings.EqualFold(u.ID, sp.ID) {
			return notFound(sp.ID)
		}
	}
	var guest *user
	for _, u := range c.t.users {
		if !strings.EqualFold(u.Mail, body.Email) && !strings.EqualFold(u.UserPrincipalName, body.Email) {
			continue
		}
		if !isGuest(u) {
			return badRequest("The invited user already exists in the directory as object ID: " + u.ID + ".")
		}
		guest = u
	}
	if guest == nil {
		upn := guestUPN(body.Email, c.t.domain)
		name := body.Name
		if name == "" {
			name = body.Email
		}
		guest = &user{User: User{
			ID:                              guid(c.t.name, "user", upn),
			UserPrincipalName:               upn,
			DisplayName:                     name,
			Mail:                            strings.ToLower(body.Email),
			BusinessPhones:                  []string{},
			AccountEnabled:                  true,
			DirectoryRoles:                  []string{},
			EligibleRoles:                   []string{},
			AssignedLicenses:                []string{},
			LastPasswordChangeDateTime:      s.now().UTC().Truncate(time.Second),
			SignInSessionsValidFromDateTime: s.now().UTC().Truncate(time.Second),
		}}
		c.t.users = append(c.t.users, guest)
		c.t.byKey[strings.ToLower(guest.ID)] = guest
		c.t.byKey[strings.ToLower(upn)] = guest
	}
	msg := map[string]any{"messageLanguage": nil, "ccRecipients": []any{}, "customizedMessageBody": nil}
	if body.Message != nil && body.Message.Body != "" {
		msg["customizedMessageBody"] = body.Message.Body
	}
	id := newUUID()
	return reply{status: http.StatusCreated, body: map[string]any{
		"@odata.context":          metadata + "#invitations/$entity",
		"id":                      id,
		"inviteRedeemUrl":         "https://login.microsoftonline.com/redeem?rd=" + url.QueryEscape("https://invitations.microsoft.com/redeem/?tenant="+c.t.id+"&ticket="+id),
		"invitedUserDisplayName":  null(body.Name),
		"invitedUserType":         "Guest",
		"invitedUserEmailAddress": body.Email,
		"sendInvitationMessage":   body.Send,
		"resetRedemption":         false,
		"inviteRedirectUrl":       body.Redirect,
		"status":                  "PendingAcceptance",
		"invitedUserMessageInfo":  msg,
		"invitedUser":             map[string]any{"id": guest.ID},
	}}
}
