package graph

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// Action names of onboarding: creating the account, and the read that
// builds a new hire's plan.
const (
	ActionUserCreate   = "user.create"
	ActionOnboardPlan  = "lifecycle.onboard_plan"
	onboardMarkerLabel = "onboarding template:"
)

const newHireProps = `"display_name":{"type":"string","description":"First and last name, e.g. Jane Doe."},` +
	`"department":{"type":"string"},"job_title":{"type":"string"},` +
	`"manager":{"type":"string","description":"The manager's UPN."},` +
	`"usage_location":{"type":"string","description":"Two-letter country code (licenses need it); the manager's when absent."},`

var onboardTools = []tool{
	{spec: tierzero.ToolSpec{
		Action: ActionOnboardPlan,
		Description: "Read what onboarding a new hire takes and return the plan (for lifecycle.onboard, unchanged): create the account, the license, " +
			"the groups of the department's template, and a Temporary Access Pass for the first sign-in that goes privately to the manager.",
		Risk: tierzero.RiskRead,
		Schema: json.RawMessage(`{"type":"object","properties":{` + newHireProps +
			`"license":{"type":"string","description":"SKU part number, e.g. SPE_E3; none when the template's groups license them."}},` +
			`"required":["display_name","department","manager"],"additionalProperties":false}`),
	}, run: onboardPlan},
	{spec: tierzero.ToolSpec{
		Action:      tierzero.ActionOnboard,
		Description: "Onboard a new hire: the plan lifecycle.onboard_plan returned, unchanged. Approved once as a whole; each step then runs on its own, decided by policy.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(planSchema),
	}, run: planRecord, applied: planApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserCreate,
		Description: "Create a user account (enabled) with a random initial password nobody is shown: the first sign-in is with a Temporary Access Pass.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema: json.RawMessage(`{"type":"object","properties":{` + newHireProps +
			`"mail_nickname":{"type":"string","description":"The part of the UPN before @, e.g. jane.doe."}},` +
			`"required":["display_name","mail_nickname","usage_location","department","job_title","manager"],"additionalProperties":false}`),
	}, run: createUser, applied: createUserApplied},
}

// newHire are user.create's arguments.
type newHire struct {
	DisplayName   string `json:"display_name"`
	MailNickname  string `json:"mail_nickname"`
	UsageLocation string `json:"usage_location"`
	Department    string `json:"department"`
	JobTitle      string `json:"job_title"`
	Manager       string `json:"manager"`
}

var (
	nicknamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
)

func decodeNewHire(raw json.RawMessage) (newHire, error) {
	a, err := decodeArgs[newHire](raw)
	if err != nil {
		return a, err
	}
	a.DisplayName, a.Manager = strings.TrimSpace(a.DisplayName), strings.TrimSpace(a.Manager)
	switch {
	case a.DisplayName == "" || len(a.DisplayName) > 256 || strings.ContainsAny(a.DisplayName, "\n\r\t"):
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: display_name must be a name on one line")
	case !nicknamePattern.MatchString(a.MailNickname):
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: mail_nickname must be lowercase letters, digits, dots, dashes or underscores")
	case !countryPattern.MatchString(a.UsageLocation):
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: usage_location must be a two-letter country code such as US")
	case !strings.Contains(a.Manager, "@"):
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: manager must be a user principal name")
	}
	return a, checkRef("manager", a.Manager)
}

// upnOf is the new hire's UPN: the nickname at the manager's domain.
func (a newHire) upn() string {
	_, domain, _ := strings.Cut(a.Manager, "@")
	return a.MailNickname + "@" + strings.ToLower(domain)
}

// createUser creates the account (POST /users) with a random password that
// is never shown, nor returned (the first sign-in is with a Temporary
// Access Pass), then sets its manager (PUT /users/{id}/manager/$ref). It is
// idempotent by its UPN: an account that exists already with this name and
// department is the one an earlier try created, and it is not created
// again; one that differs is a conflict.
// https://learn.microsoft.com/graph/api/user-post-users
// https://learn.microsoft.com/graph/api/user-post-manager
func createUser(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeNewHire(raw)
	if err != nil {
		return nil, noSecret, err
	}
	m, err := c.getUser(ctx, tenant, a.Manager, "id", "userPrincipalName", "displayName")
	if err != nil {
		return nil, noSecret, err
	}
	upn := a.upn()
	out := map[string]any{"user": upn, "displayName": a.DisplayName, "manager": str(m.GetUserPrincipalName()), "accountEnabled": true,
		"note": "the initial password is random and shown to nobody; the first sign-in is with a Temporary Access Pass"}
	existing, err := c.getUser(ctx, tenant, upn, "id", "displayName", "department")
	switch {
	case err == nil && strings.EqualFold(str(existing.GetDisplayName()), a.DisplayName) && strings.EqualFold(str(existing.GetDepartment()), a.Department):
		out["alreadyExisted"] = true
	case err == nil:
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "another account, %s, already has the name %s: choose another mail_nickname", str(existing.GetDisplayName()), upn)
	case tierzero.ErrorCode(err) != tierzero.ENotFound:
		return nil, noSecret, err
	default:
		pw, err := NewPassword()
		if err != nil {
			return nil, noSecret, err
		}
		u := models.NewUser()
		yes := true
		u.SetAccountEnabled(&yes)
		u.SetDisplayName(&a.DisplayName)
		u.SetMailNickname(&a.MailNickname)
		u.SetUserPrincipalName(&upn)
		u.SetUsageLocation(&a.UsageLocation)
		u.SetDepartment(&a.Department)
		u.SetJobTitle(&a.JobTitle)
		pp := models.NewPasswordProfile()
		pp.SetPassword(&pw)
		pp.SetForceChangePasswordNextSignIn(&yes)
		u.SetPasswordProfile(pp)
		ub, err := c.users(tenant)
		if err != nil {
			return nil, noSecret, err
		}
		if _, err := ub.Post(ctx, u, nil); err != nil {
			return nil, noSecret, graphError("create user", err)
		}
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	ad, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	ref := models.NewReferenceUpdate()
	id := strings.TrimSuffix(ad.GetBaseUrl(), "/") + "/users/" + str(m.GetId())
	ref.SetOdataId(&id)
	if err := ub.ByUserId(upn).Manager().Ref().Put(ctx, ref, nil); err != nil {
		return out, noSecret, graphError("set manager", err)
	}
	return out, noSecret, nil
}

// createUserApplied reads back whether the account exists, with this name
// and department, and reports to the manager.
func createUserApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeNewHire(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.upn(), "id", "displayName", "department")
	if tierzero.ErrorCode(err) == tierzero.ENotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !strings.EqualFold(str(u.GetDisplayName()), a.DisplayName) {
		return false, nil
	}
	p, err := readAs[userProfile](userGet(c, ctx, tenant, mustJSON(map[string]string{"user": a.upn()})))
	if err != nil {
		return false, err
	}
	return p.Manager != nil && strings.EqualFold(p.Manager.UserPrincipalName, a.Manager), nil
}

type onboardArgs struct {
	DisplayName   string `json:"display_name"`
	Department    string `json:"department"`
	JobTitle      string `json:"job_title"`
	Manager       string `json:"manager"`
	UsageLocation string `json:"usage_location"`
	License       string `json:"license"`
}

// onboardPlan reads the manager and the department's template groups and
// returns the plan. A template group is one whose description holds the
// line "onboarding template: <department>[, <department>...]": the tenant's
// own admins keep the templates in the directory, where groups are managed
// (docs/lifecycle.md). A template group that licenses its members
// (group-based licensing) gives the license; a license the technician names
// is assigned directly.
func onboardPlan(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[onboardArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	mgr, err := readAs[userProfile](userGet(c, ctx, tenant, mustJSON(map[string]string{"user": strings.TrimSpace(a.Manager)})))
	if err != nil {
		return nil, noSecret, err
	}
	if a.UsageLocation == "" {
		a.UsageLocation = mgr.UsageLocation
	}
	if a.JobTitle == "" {
		a.JobTitle = "New hire"
	}
	nick := nickname(a.DisplayName)
	hire := newHire{DisplayName: strings.TrimSpace(a.DisplayName), MailNickname: nick, UsageLocation: strings.ToUpper(a.UsageLocation),
		Department: strings.TrimSpace(a.Department), JobTitle: strings.TrimSpace(a.JobTitle), Manager: mgr.UserPrincipalName}
	if _, err := decodeNewHire(mustJSON(hire)); err != nil {
		return nil, noSecret, err
	}
	upn := hire.upn()
	if _, err := c.getUser(ctx, tenant, upn, "id"); err == nil {
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "an account %s exists already: is this person already onboarded?", upn)
	}
	mname := personName(personRef{UserPrincipalName: mgr.UserPrincipalName, DisplayName: mgr.DisplayName})
	out := offboardOutput{User: upn, LeftToDo: []string{}, Manager: &personRef{UserPrincipalName: mgr.UserPrincipalName, DisplayName: mgr.DisplayName}}
	out.Plan = tierzero.PlanArgs{User: upn, Manager: mgr.UserPrincipalName}
	add := func(action string, args any, label string, stop bool) {
		out.Plan.Steps = append(out.Plan.Steps, tierzero.PlanStepArg{Action: action, Args: string(mustJSON(args)), Label: label, Stop: stop})
	}
	add(ActionUserCreate, hire, "create the account "+upn+" for "+hire.DisplayName+" ("+hire.JobTitle+", "+hire.Department+", reporting to "+mname+", usage location "+hire.UsageLocation+")", true)
	if l := strings.TrimSpace(a.License); l != "" {
		add(ActionLicenseAssign, map[string]string{"user": upn, "sku": l}, "assign the license "+l+" to "+hire.DisplayName, false)
	}
	tmpl, err := c.templateGroups(ctx, tenant, hire.Department)
	if err != nil {
		return nil, noSecret, err
	}
	for _, g := range tmpl {
		add(ActionGroupAddMember, map[string]string{"user": upn, "group": g.ID}, "add "+hire.DisplayName+" to the group "+g.DisplayName+" (the "+hire.Department+" template)", false)
	}
	if len(tmpl) == 0 {
		out.LeftToDo = append(out.LeftToDo, "the department "+hire.Department+" has no onboarding template (a group whose description says \"onboarding template: "+hire.Department+"\"): add groups by hand")
	}
	if strings.TrimSpace(a.License) == "" {
		out.LeftToDo = append(out.LeftToDo, "no license was named: the template's groups give one only if they license their members")
	}
	add(ActionUserIssueTAP, map[string]any{"user": upn}, "issue a Temporary Access Pass for the first sign-in of "+hire.DisplayName+": the code goes privately to "+mname+" (the manager), not to you or this thread", false)
	out.Note = "Pass plan to " + tierzero.ActionOnboard + " unchanged; it is shown in full and approved once."
	return out, noSecret, nil
}

// nickname is "jane.doe" for "Jane Doe".
func nickname(name string) string {
	var parts []string
	for _, f := range strings.Fields(strings.ToLower(tierzero.Fold(name))) {
		f = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return -1
		}, f)
		if f != "" {
			parts = append(parts, f)
		}
	}
	return strings.Join(parts, ".")
}

// templateGroups lists the groups whose description names department as
// an onboarding template (see onboardPlan).
func (c *Client) templateGroups(ctx context.Context, tenant tierzero.TenantID, department string) ([]groupSummary, error) {
	gb, err := c.groups(tenant)
	if err != nil {
		return nil, err
	}
	top := int32(100)
	resp, err := gb.Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Select: groupFields, Top: &top},
	})
	var out []groupSummary
	_, err = eachPage(c, resp, err, func(link string) (models.GroupCollectionResponseable, error) {
		return gb.WithUrl(link).Get(ctx, nil)
	}, 20, func(gs []models.Groupable) {
		for _, g := range gs {
			if isTemplateFor(str(g.GetDescription()), department) {
				out = append(out, summarizeGroup(g))
			}
		}
	})
	if err != nil {
		return nil, pageError("list groups", err)
	}
	return out, nil
}

func isTemplateFor(description, department string) bool {
	for _, line := range strings.Split(description, "\n") {
		l := strings.TrimSpace(line)
		if len(l) < len(onboardMarkerLabel) || !strings.EqualFold(l[:len(onboardMarkerLabel)], onboardMarkerLabel) {
			continue
		}
		for _, d := range strings.Split(l[len(onboardMarkerLabel):], ",") {
			if strings.EqualFold(strings.TrimSpace(d), strings.TrimSpace(department)) {
				return true
			}
		}
	}
	return false
}
