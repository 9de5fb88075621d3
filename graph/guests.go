package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/microsoftgraph/msgraph-sdk-go/invitations"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// This file: B2B guest invitations (POST /invitations, User.Invite.All).
// An invitation gives an outsider an account in the tenant, so policy
// reads it as acting on its sponsor: the employee who works with the guest
// and answers for their access (invitedUserSponsors), whom UserRef names.

// ActionUserInviteGuest is the action name of the guest invitation tool.
const ActionUserInviteGuest = "user.invite_guest"

// Bounds of the guest invitation.
const (
	inviteNameMax    = 256
	inviteMessageMax = 500 // characters of the personal message
	// inviteRedirect is where the guest lands after redeeming: My Apps,
	// which lists what they were given.
	inviteRedirect = "https://myapps.microsoft.com"
)

var guestTools = []tool{
	{spec: tierzero.ToolSpec{
		Action: ActionUserInviteGuest,
		Description: "Invite someone outside the company as a guest (B2B): Microsoft 365 emails them an invitation and creates their guest account, which can then be added to groups. " +
			"The sponsor is the employee who works with the guest. An address that already belongs to someone in the company is refused; inviting a guest again re-sends the invitation.",
		Write: true,
		Risk:  tierzero.RiskHigh, // an outsider gets an account in the tenant
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"email":{"type":"string","maxLength":254,"description":"The guest's email address, e.g. jane@partner.com."},` +
			`"display_name":{"type":"string","minLength":1,"maxLength":256,"description":"The guest's name as people will see it, e.g. \"Jane Doe (Partner Ltd)\"."},` +
			`"sponsor":{"type":"string","description":"The employee who works with the guest and answers for their access: UPN or object id."},` +
			`"message":{"type":"string","maxLength":500,"description":"Optional personal note in the invitation email."}},` +
			`"required":["email","display_name","sponsor"],"additionalProperties":false}`),
	}, run: inviteGuest, resend: true},
}

// invitationEmail accepts the addresses the invitation resource type
// allows: none of ~ ! # $ % ^ & * ( ) + = [ ] { } \ / | ; : " < > ? , and
// no period or hyphen at the start or end of the name
// (learn.microsoft.com/graph/api/resources/invitation).
var invitationEmail = regexp.MustCompile(`^[A-Za-z0-9_](?:[A-Za-z0-9_.'-]*[A-Za-z0-9_])?@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$`)

type inviteArgs struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Sponsor     string `json:"sponsor"`
	Message     string `json:"message"`
}

func decodeInviteArgs(raw json.RawMessage) (inviteArgs, error) {
	a, err := decodeArgs[inviteArgs](raw)
	if err != nil {
		return a, err
	}
	a.Email, a.DisplayName, a.Sponsor, a.Message = strings.TrimSpace(a.Email), strings.TrimSpace(a.DisplayName), strings.TrimSpace(a.Sponsor), strings.TrimSpace(a.Message)
	if len(a.Email) > 254 || !invitationEmail.MatchString(a.Email) {
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: email must be a plain email address, such as jane@partner.com")
	}
	if err := checkGroupText("display_name", a.DisplayName, inviteNameMax); err != nil {
		return a, err
	}
	if len([]rune(a.Message)) > inviteMessageMax || strings.IndexFunc(a.Message, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0 {
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: message must be at most %d printable characters", inviteMessageMax)
	}
	return a, checkRef("sponsor", a.Sponsor)
}

// invitation is what user.invite_guest shows the model. The redemption
// link is left out: whoever holds it can redeem the invitation.
type invitation struct {
	Email          string `json:"email"`
	DisplayName    string `json:"displayName"`
	GuestUserID    string `json:"guestUserId"`
	Status         string `json:"status"` // PendingAcceptance until the guest redeems it
	Sponsor        string `json:"sponsor"`
	InvitationSent bool   `json:"invitationSent"`
}

func inviteGuest(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeInviteArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	sp, err := c.getUser(ctx, tenant, a.Sponsor, "id", "userPrincipalName", "accountEnabled")
	if err != nil {
		return nil, noSecret, err
	}
	sponsor := str(sp.GetUserPrincipalName())
	switch {
	case isGuestUPN(sponsor):
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "%s is a guest: a guest's sponsor must be an employee", sponsor)
	case sp.GetAccountEnabled() != nil && !*sp.GetAccountEnabled():
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "%s's account is disabled: choose an active employee as the guest's sponsor", sponsor)
	}
	// Someone of the company already has the address: no invitation.
	existing, err := c.getUser(ctx, tenant, a.Email, "id", "userPrincipalName")
	switch {
	case err == nil:
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "%s already has an account in this organization (%s): no guest invitation is needed", a.Email, str(existing.GetUserPrincipalName()))
	case tierzero.ErrorCode(err) != tierzero.ENotFound:
		return nil, noSecret, err
	}
	ad, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	inv := models.NewInvitation()
	inv.SetInvitedUserEmailAddress(&a.Email)
	inv.SetInvitedUserDisplayName(&a.DisplayName)
	redirect, send := inviteRedirect, true
	inv.SetInviteRedirectUrl(&redirect)
	inv.SetSendInvitationMessage(&send)
	if a.Message != "" {
		info := models.NewInvitedUserMessageInfo()
		info.SetCustomizedMessageBody(&a.Message)
		inv.SetInvitedUserMessageInfo(info)
	}
	spo := models.NewDirectoryObject()
	spID := str(sp.GetId())
	spo.SetId(&spID)
	inv.SetInvitedUserSponsors([]models.DirectoryObjectable{spo})
	ib := invitations.NewInvitationsRequestBuilderInternal(map[string]string{"baseurl": ad.GetBaseUrl()}, ad)
	resp, err := ib.Post(ctx, inv, nil)
	if err != nil {
		switch {
		case isStatus(err, 400) && strings.Contains(func() string { _, m := graphErrDetail(err); return m }(), "already exists in the directory"):
			return nil, noSecret, fmt.Errorf("invite guest: %w: %w", tierzero.Errorf(tierzero.EConflict,
				"%s already has an account in this organization: no guest invitation is needed", a.Email), err)
		case isStatus(err, 403):
			return nil, noSecret, fmt.Errorf("invite guest: %w: %w", tierzero.Errorf(tierzero.EUnauthorized,
				"Microsoft Graph refused to invite %s: the app needs the User.Invite.All permission, or the tenant does not allow guest invitations", a.Email), err)
		}
		return nil, noSecret, graphError("invite guest", err)
	}
	out := invitation{Email: a.Email, DisplayName: a.DisplayName, Status: str(resp.GetStatus()), Sponsor: sponsor, InvitationSent: true}
	if u := resp.GetInvitedUser(); u != nil {
		out.GuestUserID = str(u.GetId())
	}
	return out, noSecret, nil
}
