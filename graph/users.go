package graph

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Action names of the user tools.
const (
	ActionUserGet            = "user.get"
	ActionUserResetPassword  = "user.reset_password"
	ActionUserRevokeSessions = "user.revoke_sessions"
	ActionUserBlockSignIn    = "user.block_sign_in"
	ActionUserSetManager     = "user.set_manager"
)

// userSchema is the argument schema of tools that act on one user.
const userSchema = `{"type":"object","properties":{"user":{"type":"string","description":"UPN (name@company.com) or object id."}},"required":["user"],"additionalProperties":false}`

var noSecret tierzero.Secret

var userTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionUserGet,
		Description: "Read a user's profile: name, department, job title, manager, enabled or not, last password change, usage location, licenses, and whether the account is synced from on-premises Active Directory.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(userSchema),
	}, run: userGet},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserResetPassword,
		Description: "Reset a user's password to a temporary one they must change at next sign-in. It goes privately to the requester; you never see it.",
		Write:       true,
		Risk:        tierzero.RiskMedium,
		Schema:      json.RawMessage(userSchema),
	}, run: resetPassword, applied: passwordResetApplied, resend: true},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserRevokeSessions,
		Description: "Sign a user out everywhere (revoke all refresh tokens and session cookies).",
		Write:       true,
		Risk:        tierzero.RiskLow,
		Schema:      json.RawMessage(userSchema),
	}, run: revokeSessions, applied: sessionsRevokedApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserBlockSignIn,
		Description: "Block a user from signing in (disable the account: accountEnabled false), e.g. for a leaver or a compromised account. It does not end sessions already open: use user.revoke_sessions for that. Undo with user.enable.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(userSchema),
	}, run: blockSignIn, applied: blockSignInApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserSetManager,
		Description: "Set a user's manager (replacing the current one).",
		Write:       true,
		Risk:        tierzero.RiskMedium,
		Schema:      json.RawMessage(setManagerSchema),
	}, run: setManager, applied: setManagerApplied},
}

// setManagerSchema is the argument schema of user.set_manager.
const setManagerSchema = `{"type":"object","properties":{"user":{"type":"string","description":"The user whose manager changes: UPN (name@company.com) or object id."},"manager":{"type":"string","description":"The new manager: UPN or object id."}},"required":["user","manager"],"additionalProperties":false}`

// userProfile is what user.get shows the model.
type userProfile struct {
	ID                         string       `json:"id"`
	UserPrincipalName          string       `json:"userPrincipalName"`
	DisplayName                string       `json:"displayName,omitempty"`
	Department                 string       `json:"department,omitempty"`
	JobTitle                   string       `json:"jobTitle,omitempty"`
	Manager                    *personRef   `json:"manager,omitempty"`
	AccountEnabled             bool         `json:"accountEnabled"`
	LastPasswordChangeDateTime string       `json:"lastPasswordChangeDateTime,omitempty"`
	UsageLocation              string       `json:"usageLocation,omitempty"`
	Licenses                   []licenseRef `json:"licenses"`
	// OnPremisesSyncEnabled: the account is synced from on-premises Active
	// Directory, where its password, enabled state and manager are managed.
	OnPremisesSyncEnabled bool `json:"onPremisesSyncEnabled,omitempty"`
}

// personRef names another user.
type personRef struct {
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
}

// licenseRef is one license assigned to a user; the part number (e.g.
// SPE_E3) is omitted when it could not be read.
type licenseRef struct {
	SkuID         string `json:"skuId"`
	SkuPartNumber string `json:"skuPartNumber,omitempty"`
}

func userGet(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName", "displayName", "department", "jobTitle",
		"accountEnabled", "lastPasswordChangeDateTime", "usageLocation", "assignedLicenses", "onPremisesSyncEnabled")
	if err != nil {
		return nil, noSecret, err
	}
	p := userProfile{
		ID:                    str(u.GetId()),
		UserPrincipalName:     str(u.GetUserPrincipalName()),
		DisplayName:           str(u.GetDisplayName()),
		Department:            str(u.GetDepartment()),
		JobTitle:              str(u.GetJobTitle()),
		AccountEnabled:        u.GetAccountEnabled() != nil && *u.GetAccountEnabled(),
		UsageLocation:         str(u.GetUsageLocation()),
		Licenses:              []licenseRef{},
		OnPremisesSyncEnabled: u.GetOnPremisesSyncEnabled() != nil && *u.GetOnPremisesSyncEnabled(),
	}
	if t := u.GetLastPasswordChangeDateTime(); t != nil {
		p.LastPasswordChangeDateTime = t.UTC().Format("2006-01-02T15:04:05Z")
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	item := ub.ByUserId(p.ID)
	m, err := item.Manager().Get(ctx, &users.ItemManagerRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemManagerRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName", "displayName"}},
	})
	switch {
	case err == nil:
		if mu, ok := m.(models.Userable); ok {
			p.Manager = &personRef{UserPrincipalName: str(mu.GetUserPrincipalName()), DisplayName: str(mu.GetDisplayName())}
		}
	case isStatus(err, 404):
		// no manager
	default:
		return nil, noSecret, graphError("get manager", err)
	}
	for _, l := range u.GetAssignedLicenses() {
		if id := l.GetSkuId(); id != nil {
			p.Licenses = append(p.Licenses, licenseRef{SkuID: id.String()})
		}
	}
	if len(p.Licenses) > 0 {
		// One more request names the SKUs; without it the ids still tell.
		details, err := item.LicenseDetails().Get(ctx, nil)
		if err != nil {
			c.log.Debug("user.get: license details unavailable", "tenant", string(tenant), "error", err)
		} else {
			parts := map[string]string{}
			for _, d := range details.GetValue() {
				if id := d.GetSkuId(); id != nil {
					parts[strings.ToLower(id.String())] = str(d.GetSkuPartNumber())
				}
			}
			for i := range p.Licenses {
				p.Licenses[i].SkuPartNumber = parts[strings.ToLower(p.Licenses[i].SkuID)]
			}
		}
	}
	return p, noSecret, nil
}

func (c *Client) getUser(ctx context.Context, tenant tierzero.TenantID, ref string, fields ...string) (models.Userable, error) {
	ub, err := c.users(tenant)
	if err != nil {
		return nil, err
	}
	u, err := ub.ByUserId(ref).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: fields},
	})
	if err != nil {
		return nil, graphError("get user", err)
	}
	return u, nil
}

func resetPassword(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	pw, err := c.cfg.Password()
	if err != nil {
		return nil, noSecret, fmt.Errorf("reset password: generate: %w", err)
	}
	profile := models.NewPasswordProfile()
	profile.SetPassword(&pw)
	force := true
	profile.SetForceChangePasswordNextSignIn(&force)
	body := models.NewUser()
	body.SetPasswordProfile(profile)
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{
		"user":                          a.User,
		"passwordReset":                 true,
		"forceChangePasswordNextSignIn": true,
		"temporaryPassword":             "delivered privately to the requester",
	}
	if _, err := ub.ByUserId(a.User).Patch(ctx, body, nil); err != nil {
		// Whether this password was set is unknown: it is never handed
		// out (the tool is resent, see tool.resend).
		return nil, noSecret, graphError("reset password", err)
	}
	return out, tierzero.NewSecret("temporary_password", "temporary password for "+a.User, pw), nil
}

// passwordResetApplied reads back, for reconciling a reset whose outcome
// was never recorded, whether the password changed after the reset began
// (since is its start less clockSkew). Graph keeps the time of the change
// to the second, and clocks differ: a change from since to clockSkew after
// the start may be another reset made just before this one, and is
// undecided. (Execute never reads a reset back: see tool.resend.)
func passwordResetApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, since time.Time) (bool, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "lastPasswordChangeDateTime")
	if err != nil {
		return false, err
	}
	return changedAfter(u.GetLastPasswordChangeDateTime(), since)
}

// changedAfter decides from the time of the last change, kept by Graph to
// the second, whether a write begun at since+clockSkew made it: not when
// the change is older than since, yes when it is more than clockSkew after
// the start, undecided in between.
func changedAfter(changed *time.Time, since time.Time) (bool, error) {
	switch {
	case !atOrAfter(changed, since):
		return false, nil
	case changed.After(since.Add(2 * clockSkew)):
		return true, nil
	}
	return false, fmt.Errorf("%w: the last change, at %s, is within %s of the write", errUndecided, changed.UTC().Format(time.RFC3339), clockSkew)
}

func revokeSessions(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	if _, err := ub.ByUserId(a.User).RevokeSignInSessions().PostAsRevokeSignInSessionsPostResponse(ctx, nil); err != nil {
		return nil, noSecret, graphError("revoke sessions", err)
	}
	return map[string]any{"user": a.User, "sessionsRevoked": true}, noSecret, nil
}

// sessionsRevokedApplied: sessions are valid only from since or later.
func sessionsRevokedApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, since time.Time) (bool, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "signInSessionsValidFromDateTime")
	if err != nil {
		return false, err
	}
	return atOrAfter(u.GetSignInSessionsValidFromDateTime(), since), nil
}

// NewPassword returns a random 16-character temporary password with upper
// and lower case letters, digits and symbols, from crypto/rand.
func NewPassword() (string, error) {
	const (
		lower  = "abcdefghijkmnopqrstuvwxyz"
		upper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digit  = "23456789"
		symbol = "!#$%*+-=?@"
	)
	classes := []string{lower, upper, digit, symbol}
	all := lower + upper + digit + symbol
	b := make([]byte, 16)
	for i := range b {
		set := all
		if i < len(classes) {
			set = classes[i] // one of each class at least
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[n.Int64()]
	}
	// shuffle so the class positions are not predictable
	for i := len(b) - 1; i > 0; i-- {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

func blockSignIn(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	body := models.NewUser()
	enabled := false
	body.SetAccountEnabled(&enabled)
	out := map[string]any{"user": a.User, "accountEnabled": false, "signInBlocked": true,
		"note": "sessions already open stay valid until they expire or are revoked (user.revoke_sessions)"}
	// Setting accountEnabled to false twice leaves it false: the write is
	// idempotent, and the output goes along for a confirming read-back.
	if _, err := ub.ByUserId(a.User).Patch(ctx, body, nil); err != nil {
		return out, noSecret, graphError("block sign-in", err)
	}
	return out, noSecret, nil
}

// blockSignInApplied reads whether the account is disabled now, whenever
// that came about.
func blockSignInApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "accountEnabled")
	if err != nil {
		return false, err
	}
	if u.GetAccountEnabled() == nil {
		return false, tierzero.Errorf(tierzero.EInternal, "Graph returned user %s without accountEnabled", a.User)
	}
	return !*u.GetAccountEnabled(), nil
}

// managerArgs are the arguments of user.set_manager.
type managerArgs struct {
	User    string `json:"user"`
	Manager string `json:"manager"`
}

func decodeManagerArgs(raw json.RawMessage) (managerArgs, error) {
	a, err := decodeArgs[managerArgs](raw)
	if err != nil {
		return a, err
	}
	a.User, a.Manager = strings.TrimSpace(a.User), strings.TrimSpace(a.Manager)
	if err := checkRef("user", a.User); err != nil {
		return a, err
	}
	return a, checkRef("manager", a.Manager)
}

func setManager(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeManagerArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName")
	if err != nil {
		return nil, noSecret, err
	}
	m, err := c.getUser(ctx, tenant, a.Manager, "id", "userPrincipalName", "displayName")
	if err != nil {
		return nil, noSecret, fmt.Errorf("manager: %w", err)
	}
	userID, managerID := str(u.GetId()), str(m.GetId())
	if userID == "" || managerID == "" {
		return nil, noSecret, tierzero.Errorf(tierzero.EInternal, "Graph returned a user without an id")
	}
	if strings.EqualFold(userID, managerID) {
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: a user cannot be their own manager")
	}
	ad, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	ref := models.NewReferenceUpdate()
	odataID := strings.TrimSuffix(ad.GetBaseUrl(), "/") + "/users/" + managerID
	ref.SetOdataId(&odataID)
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"user": str(u.GetUserPrincipalName()),
		"manager": personRef{UserPrincipalName: str(m.GetUserPrincipalName()), DisplayName: str(m.GetDisplayName())}}
	// Setting the same manager again changes nothing: idempotent.
	if err := ub.ByUserId(userID).Manager().Ref().Put(ctx, ref, nil); err != nil {
		return out, noSecret, graphError("set manager", err)
	}
	return out, noSecret, nil
}

// setManagerApplied reads whether the user's manager is the one asked for.
func setManagerApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeManagerArgs(raw)
	if err != nil {
		return false, err
	}
	want, err := c.getUser(ctx, tenant, a.Manager, "id")
	if err != nil {
		return false, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return false, err
	}
	m, err := ub.ByUserId(a.User).Manager().Get(ctx, &users.ItemManagerRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemManagerRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	switch {
	case isStatus(err, 404):
		return false, nil
	case err != nil:
		return false, graphError("get manager", err)
	}
	return strings.EqualFold(str(m.GetId()), str(want.GetId())), nil
}
