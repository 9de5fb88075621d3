package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/drives"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// Action names of the lifecycle tools: the read that builds an offboarding
// plan from what Graph says about the leaver, the plan call itself (see
// tierzero.ActionOffboard), and the manager's access to the leaver's
// OneDrive.
const (
	ActionOffboardPlan      = "lifecycle.offboard_plan"
	ActionOneDriveGrantRead = "onedrive.grant_access"
)

// planSchema is the argument schema of a plan call: every key of every
// level is named, so that the plan's canonical arguments (what is approved)
// are exactly what runs.
const planSchema = `{"type":"object","properties":{` +
	`"user":{"type":"string","description":"UPN or object id of the person the plan is about."},` +
	`"manager":{"type":"string","description":"Onboarding: the new hire's manager."},` +
	`"steps":{"type":"array","items":{"type":"object","properties":{` +
	`"action":{"type":"string"},"args":{"type":"string","description":"The step's arguments, canonical JSON."},` +
	`"label":{"type":"string"},"stop":{"type":"boolean"}},"required":["action","args","label"],"additionalProperties":false}}},` +
	`"required":["user","steps"],"additionalProperties":false}`

var lifecycleTools = append(offboardTools, onboardTools...)

var offboardTools = []tool{
	{spec: tierzero.ToolSpec{
		Action: ActionOffboardPlan,
		Description: "Read what offboarding a leaver takes and return the plan (for lifecycle.offboard, unchanged): block sign-in, sign out, automatic reply, " +
			"the manager's access to their OneDrive, direct licenses, direct assigned groups, company devices; and what is left for a person.",
		Risk: tierzero.RiskRead,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN (name@company.com) or object id of the leaver."},` +
			`"auto_reply":{"type":"string","description":"Automatic reply text; a default naming the manager when absent."}},` +
			`"required":["user"],"additionalProperties":false}`),
	}, run: offboardPlan},
	{spec: tierzero.ToolSpec{
		Action:      tierzero.ActionOffboard,
		Description: "Offboard a leaver: the plan lifecycle.offboard_plan returned, unchanged. Approved once as a whole; each step then runs on its own, decided by policy.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(planSchema),
	}, run: planRecord, applied: planApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionOneDriveGrantRead,
		Description: "Give a person (the leaver's manager) edit access to a user's whole OneDrive, without an email invitation.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN or object id of the OneDrive's owner."},` +
			`"grantee":{"type":"string","description":"UPN of the person who gets access."}},` +
			`"required":["user","grantee"],"additionalProperties":false}`),
	}, run: oneDriveGrant, applied: oneDriveGrantApplied},
}

// planRecord runs a plan call: it changes nothing in Graph. Its approval is
// the record that lets the desk run the steps, each through the Guard.
func planRecord(_ *Client, _ context.Context, _ tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	p, err := tierzero.DecodePlanArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	return map[string]any{"user": p.User, "steps": len(p.Steps), "status": "accepted: each step runs on its own, decided by policy"}, noSecret, nil
}

// planApplied: a plan call sends nothing to Graph; once it ran, it ran.
func planApplied(_ *Client, _ context.Context, _ tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	_, err := tierzero.DecodePlanArgs(raw)
	return err == nil, err
}

type offboardPlanArgs struct {
	User      string `json:"user"`
	AutoReply string `json:"auto_reply"`
}

// offboardOutput is what lifecycle.offboard_plan returns: the plan, for
// lifecycle.offboard unchanged, and what is left for a person.
type offboardOutput struct {
	User     string            `json:"user"`
	Plan     tierzero.PlanArgs `json:"plan"`
	LeftToDo []string          `json:"left_for_a_person"`
	Manager  *personRef        `json:"manager,omitempty"`
	Note     string            `json:"note"`
}

// offboardPlan reads the leaver (profile, manager, licenses and how each is
// assigned, direct groups, managed devices) and returns the plan. Graph's
// answers decide the steps: a license a group gives is removed with the
// group (license.remove would fail: licenseAssignmentStates shows
// assignedByGroup), a dynamic group cannot lose a member by hand, a
// role-assignable group is an admin matter, and a personal device is not
// the company's to retire. Those are reported, not planned.
func offboardPlan(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[offboardPlanArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.User = strings.TrimSpace(a.User)
	if err := checkRef("user", a.User); err != nil {
		return nil, noSecret, err
	}
	prof, err := readAs[userProfile](userGet(c, ctx, tenant, mustJSON(map[string]string{"user": a.User})))
	if err != nil {
		return nil, noSecret, err
	}
	upn, name := prof.UserPrincipalName, prof.DisplayName
	if name == "" {
		name = upn
	}
	out := offboardOutput{User: upn, Manager: prof.Manager, LeftToDo: []string{}}
	add := func(action string, args map[string]any, label string, stop bool) {
		out.Plan.Steps = append(out.Plan.Steps, tierzero.PlanStepArg{Action: action, Args: string(mustJSON(args)), Label: label, Stop: stop})
	}
	out.Plan.User = upn
	add(ActionUserBlockSignIn, map[string]any{"user": upn}, "block sign-in for "+name, true)
	add(ActionUserRevokeSessions, map[string]any{"user": upn}, "sign "+name+" out of every session", false)
	reply := strings.TrimSpace(a.AutoReply)
	if reply == "" {
		reply = name + " no longer works here."
		if prof.Manager != nil {
			reply += " Please contact " + personName(*prof.Manager) + " (" + prof.Manager.UserPrincipalName + ")."
		}
	}
	add(ActionUserSetAutoReply, map[string]any{"user": upn, "status": "alwaysEnabled", "internalMessage": reply, "externalMessage": reply, "externalAudience": "all"},
		"turn on the automatic reply of "+name+": "+reply, false)
	if prof.Manager != nil {
		add(ActionOneDriveGrantRead, map[string]any{"user": upn, "grantee": prof.Manager.UserPrincipalName},
			"give "+personName(*prof.Manager)+" (the manager) edit access to the OneDrive of "+name, false)
	} else {
		out.LeftToDo = append(out.LeftToDo, name+" has no manager in the directory: decide who gets their OneDrive")
	}
	groupsOut, err := readAs[struct {
		Groups    []groupSummary `json:"groups"`
		Truncated bool           `json:"truncated"`
	}](userGroups(c, ctx, tenant, mustJSON(map[string]string{"user": prof.ID})))
	if err != nil {
		return nil, noSecret, err
	}
	groupName := map[string]string{}
	for _, g := range groupsOut.Groups {
		groupName[strings.ToLower(g.ID)] = g.DisplayName
	}
	byGroup, err := c.groupLicenses(ctx, tenant, prof.ID)
	if err != nil {
		c.log.Debug("offboard plan: license assignment states unavailable", "tenant", string(tenant), "error", err)
	}
	for _, l := range prof.Licenses {
		lname := l.SkuPartNumber
		if lname == "" {
			lname = l.SkuID
		}
		if g, ok := byGroup[strings.ToLower(l.SkuID)]; ok {
			if n := groupName[strings.ToLower(g)]; n != "" {
				g = n
			}
			out.LeftToDo = append(out.LeftToDo, "the license "+lname+" comes from the group "+g+": it goes when "+name+" leaves that group")
			continue
		}
		add(ActionLicenseRemove, map[string]any{"user": upn, "sku": l.SkuID}, "remove the license "+lname+" from "+name, false)
	}
	for _, g := range groupsOut.Groups {
		switch {
		case g.MembershipType == membershipDynamic:
			out.LeftToDo = append(out.LeftToDo, "the dynamic group "+g.DisplayName+" keeps "+name+" until its rule no longer matches")
		case g.IsAssignableToRole:
			out.LeftToDo = append(out.LeftToDo, "the role-assignable group "+g.DisplayName+" grants admin roles: an admin removes "+name+" from it")
		case g.Kind == "mailEnabledSecurity" || g.Kind == "distribution":
			out.LeftToDo = append(out.LeftToDo, "the "+g.Kind+" group "+g.DisplayName+" is managed in Exchange Online")
		default:
			add(ActionGroupRemoveMember, map[string]any{"user": upn, "group": g.ID}, "remove "+name+" from the group "+g.DisplayName, false)
		}
	}
	if groupsOut.Truncated {
		out.LeftToDo = append(out.LeftToDo, name+" is in more groups than were read: check the rest by hand")
	}
	devs, err := readAs[struct {
		Devices []deviceSummary `json:"devices"`
	}](userDevices(c, ctx, tenant, mustJSON(map[string]string{"user": prof.ID})))
	if err != nil {
		return nil, noSecret, err
	}
	for _, d := range devs.Devices {
		if !strings.EqualFold(d.ManagedDeviceOwnerType, "company") {
			out.LeftToDo = append(out.LeftToDo, "the personal device "+d.DeviceName+" is not the company's to retire: its company data goes when its management is removed")
			continue
		}
		add(ActionDeviceRetire, map[string]any{"device": d.ID}, "retire the company device "+d.DeviceName+" of "+name, false)
	}
	out.Note = "Pass plan to " + tierzero.ActionOffboard + " unchanged; it is shown in full and approved once."
	return out, noSecret, nil
}

func personName(p personRef) string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.UserPrincipalName
}

// groupLicenses returns, by lowercase SKU id, the display name (else id) of
// the group each group-assigned license of the user comes from, from
// licenseAssignmentStates (assignedByGroup set).
// https://learn.microsoft.com/graph/api/resources/licenseassignmentstate
func (c *Client) groupLicenses(ctx context.Context, tenant tierzero.TenantID, id string) (map[string]string, error) {
	u, err := c.getUser(ctx, tenant, id, "id", "licenseAssignmentStates")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range u.GetLicenseAssignmentStates() {
		g, sku := s.GetAssignedByGroup(), s.GetSkuId()
		if g == nil || *g == "" || sku == nil {
			continue
		}
		out[strings.ToLower(sku.String())] = *g
	}
	return out, nil
}

// oneDriveArgs are onedrive.grant_access's arguments.
type oneDriveArgs struct {
	User    string `json:"user"`
	Grantee string `json:"grantee"`
}

func decodeOneDriveArgs(raw json.RawMessage) (oneDriveArgs, error) {
	a, err := decodeArgs[oneDriveArgs](raw)
	if err != nil {
		return a, err
	}
	a.User, a.Grantee = strings.TrimSpace(a.User), strings.TrimSpace(a.Grantee)
	if err := checkRef("user", a.User); err != nil {
		return a, err
	}
	if !strings.Contains(a.Grantee, "@") {
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: grantee must be a user principal name")
	}
	return a, checkRef("grantee", a.Grantee)
}

// userDrive returns the id of the user's OneDrive (GET /users/{id}/drive).
// https://learn.microsoft.com/graph/api/drive-get
func (c *Client) userDrive(ctx context.Context, tenant tierzero.TenantID, user string) (string, error) {
	ub, err := c.users(tenant)
	if err != nil {
		return "", err
	}
	d, err := ub.ByUserId(user).Drive().Get(ctx, nil)
	if err != nil {
		if isStatus(err, 404) {
			return "", tierzero.Errorf(tierzero.ENotFound, "%s has no OneDrive (it was never opened, or no license gives one)", user)
		}
		return "", graphError("get drive", err)
	}
	return str(d.GetId()), nil
}

func (c *Client) drives(tenant tierzero.TenantID) (*drives.DrivesRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return drives.NewDrivesRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// oneDriveGrant invites the grantee to the root of the user's OneDrive with
// the write role, sign-in required and no email (POST
// /drives/{drive-id}/items/root/invite). Graph answers with the permissions
// it created; inviting again someone who has access already changes nothing.
// https://learn.microsoft.com/graph/api/driveitem-invite
func oneDriveGrant(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeOneDriveArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	drive, err := c.userDrive(ctx, tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	db, err := c.drives(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	body := drives.NewItemItemsItemInvitePostRequestBody()
	r := models.NewDriveRecipient()
	r.SetEmail(&a.Grantee)
	body.SetRecipients([]models.DriveRecipientable{r})
	body.SetRoles([]string{"write"})
	yes, no := true, false
	body.SetRequireSignIn(&yes)
	body.SetSendInvitation(&no)
	if _, err := db.ByDriveId(drive).Items().ByDriveItemId("root").Invite().PostAsInvitePostResponse(ctx, body, nil); err != nil {
		if isStatus(err, 404) {
			return nil, noSecret, tierzero.Errorf(tierzero.ENotFound, "no user %s to share the OneDrive with", a.Grantee)
		}
		return nil, noSecret, graphError("share onedrive", err)
	}
	return map[string]any{"user": a.User, "grantee": a.Grantee, "drive": drive, "role": "write", "invitationSent": false}, noSecret, nil
}

// oneDriveGrantApplied reads the root's permissions back: applied when the
// grantee holds write there.
// https://learn.microsoft.com/graph/api/driveitem-list-permissions
func oneDriveGrantApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeOneDriveArgs(raw)
	if err != nil {
		return false, err
	}
	drive, err := c.userDrive(ctx, tenant, a.User)
	if err != nil {
		return false, err
	}
	db, err := c.drives(tenant)
	if err != nil {
		return false, err
	}
	perms, err := db.ByDriveId(drive).Items().ByDriveItemId("root").Permissions().Get(ctx, nil)
	if err != nil {
		return false, graphError("list onedrive permissions", err)
	}
	for _, p := range perms.GetValue() {
		if !hasFold(p.GetRoles(), "write") {
			continue
		}
		for _, id := range append(p.GetGrantedToIdentitiesV2(), p.GetGrantedToV2()) {
			if id == nil || id.GetUser() == nil {
				continue
			}
			if mail, ok := id.GetUser().GetAdditionalData()["email"].(*string); ok && mail != nil && strings.EqualFold(*mail, a.Grantee) {
				return true, nil
			}
		}
		if inv := p.GetInvitation(); inv != nil && inv.GetEmail() != nil && strings.EqualFold(*inv.GetEmail(), a.Grantee) {
			return true, nil
		}
	}
	return false, nil
}

// readAs turns a tool's output into T through its JSON form.
func readAs[T any](out any, _ tierzero.Secret, err error) (T, error) {
	var t T
	if err != nil {
		return t, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return t, fmt.Errorf("encode: %w", err)
	}
	return t, json.Unmarshal(b, &t)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings always encode
	}
	return b
}
