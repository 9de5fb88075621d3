package graph

// This file: identity tools: authentication methods, MFA reset, Temporary
// Access Passes, sign-in logs, user risk, enabling an account and automatic
// replies. The profile, password and session tools are in users.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/identityprotection"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Action names of the identity tools.
const (
	ActionUserAuthMethods  = "user.auth_methods"
	ActionUserSignIns      = "user.signins"
	ActionUserRisk         = "user.risk"
	ActionUserIssueTAP     = "user.issue_tap"
	ActionUserResetMFA     = "user.reset_mfa"
	ActionUserEnable       = "user.enable"
	ActionUserSetAutoReply = "user.set_auto_reply"
)

// Bounds of the tools' arguments.
const (
	tapMinLifetime     = 10  // minutes; Graph's own floor
	tapMaxLifetime     = 480 // minutes; ours: a helpdesk pass lives a working day at most
	tapDefaultLifetime = 60
	signInsDefaultTop  = 10
	signInsMaxTop      = 50
	autoReplyMaxChars  = 4000
)

var identityTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionUserAuthMethods,
		Description: "List a user's registered authentication methods (phone, Authenticator, security key, software token, email, Temporary Access Pass, password); phone numbers masked.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(userSchema),
	}, run: authMethods},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserSignIns,
		Description: "Read a user's recent sign-ins, newest first: time, app, error code, failure reason and its meaning, Conditional Access result, location. Use it to find out why someone cannot sign in. For a user name that does not exist it shows the sign-ins tried with it (a typo).",
		Risk:        tierzero.RiskRead,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN (name@company.com) or object id."},` +
			`"top":{"type":"integer","minimum":1,"maximum":50,"description":"How many, newest first (default 10)."}},` +
			`"required":["user"],"additionalProperties":false}`),
	}, run: userSignIns},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserRisk,
		Description: "Read a user's Entra ID Protection risk: level (none, low, medium, high), state (atRisk, remediated, dismissed, confirmedCompromised...), detail. Use it when an account may be hacked.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(userSchema),
	}, run: userRisk},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserIssueTAP,
		Description: "Issue a one-time Temporary Access Pass to sign in without password or MFA and register new methods (e.g. after losing a phone). It replaces an earlier pass; the code goes privately to the requester. Run user.reset_mfa first if needed: it deletes passes too.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN (name@company.com) or object id."},` +
			`"lifetimeInMinutes":{"type":"integer","minimum":10,"maximum":480,"description":"Validity in minutes (default: the tenant's policy default); the tenant's Temporary Access Pass policy may allow less."}},` +
			`"required":["user"],"additionalProperties":false}`),
	}, run: issueTAP, applied: tapApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserResetMFA,
		Description: "Reset a user's MFA: delete every registered method but the password (phones, Authenticator, security keys, software tokens, email, passes, Windows Hello); they register again at next sign-in.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(userSchema),
	}, run: resetMFA, applied: mfaResetApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserEnable,
		Description: "Enable a disabled account so the user can sign in again.",
		Write:       true,
		Risk:        tierzero.RiskMedium,
		Schema:      json.RawMessage(userSchema),
	}, run: enableUser, applied: enableApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserSetAutoReply,
		Description: "Set a user's automatic replies (out of office): on now (alwaysEnabled), between start and end (scheduled), or off (disabled). Plain text.",
		Write:       true,
		Risk:        tierzero.RiskLow,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN (name@company.com) or object id."},` +
			`"status":{"type":"string","enum":["disabled","alwaysEnabled","scheduled"],"description":"alwaysEnabled: on until turned off; scheduled: between start and end."},` +
			`"internalMessage":{"type":"string","maxLength":4000,"description":"Reply to people in the organization; omit to keep it."},` +
			`"externalMessage":{"type":"string","maxLength":4000,"description":"Reply to people outside; omit to keep it."},` +
			`"externalAudience":{"type":"string","enum":["none","contactsOnly","all"],"description":"Who outside gets the external reply; omit to keep it."},` +
			`"start":{"type":"string","format":"date-time","description":"For scheduled: RFC 3339 with offset, e.g. 2025-07-01T08:00:00+02:00."},` +
			`"end":{"type":"string","format":"date-time","description":"For scheduled: RFC 3339, after start."}},` +
			`"required":["user","status"],"additionalProperties":false}`),
	}, run: setAutoReply, applied: autoReplyApplied},
}

// signInsBuilder returns the /auditLogs/signIns request builder for a tenant.
func (c *Client) signInsBuilder(tenant tierzero.TenantID) (*auditlogs.SignInsRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return auditlogs.NewSignInsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// riskyUsersBuilder returns the /identityProtection/riskyUsers request
// builder for a tenant.
func (c *Client) riskyUsersBuilder(tenant tierzero.TenantID) (*identityprotection.RiskyUsersRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return identityprotection.NewRiskyUsersRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// authBuilder returns the /users/{ref}/authentication request builder.
func (c *Client) authBuilder(tenant tierzero.TenantID, ref string) (*users.ItemAuthenticationRequestBuilder, error) {
	ub, err := c.users(tenant)
	if err != nil {
		return nil, err
	}
	return ub.ByUserId(ref).Authentication(), nil
}

// graphTimeString formats a Graph timestamp for the model, "" for none.
func graphTimeString(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// graphCode returns the OData error code behind err, "" for none.
func graphCode(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if me := oe.GetErrorEscaped(); me != nil {
			return str(me.GetCode())
		}
	}
	return ""
}

// atOrAfter reports whether t is at or after since, at Graph's one-second
// precision.
func atOrAfter(t *time.Time, since time.Time) bool {
	return t != nil && !t.Before(since.Truncate(time.Second))
}

// Authentication methods.

// Method kinds, as the tools name them.
const (
	kindPassword       = "password"
	kindPhone          = "phone"
	kindAuthenticator  = "microsoftAuthenticator"
	kindFido2          = "fido2"
	kindSoftwareOath   = "softwareOath"
	kindEmail          = "email"
	kindTAP            = "temporaryAccessPass"
	kindWindowsHello   = "windowsHelloForBusiness"
	kindPlatformCred   = "platformCredential"
	methodTypePrefix   = "#microsoft.graph."
	methodTypeSuffix   = "AuthenticationMethod"
	maskedDigitsToKeep = 2
)

// methodInfo is one registered method as the model sees it: a kind and
// non-secret labels. Device names are what users typed: data, not prose.
type methodInfo struct {
	Type              string `json:"type"`
	PhoneType         string `json:"phoneType,omitempty"`
	PhoneNumber       string `json:"phoneNumber,omitempty"` // masked
	DeviceName        string `json:"deviceName,omitempty"`
	Model             string `json:"model,omitempty"`
	Email             string `json:"email,omitempty"` // masked
	Created           string `json:"created,omitempty"`
	Usable            *bool  `json:"usable,omitempty"` // temporaryAccessPass
	UsabilityReason   string `json:"usabilityReason,omitempty"`
	Start             string `json:"start,omitempty"`
	LifetimeInMinutes int32  `json:"lifetimeInMinutes,omitempty"`
	ID                string `json:"id"` // user.remove_auth_method takes it; no secret
}

// describeMethod turns a Graph method into a methodInfo. It reads no secret
// property (a TAP's code, a password, a software token's key).
func describeMethod(m models.AuthenticationMethodable) methodInfo {
	info := methodInfo{ID: str(m.GetId())}
	switch v := m.(type) {
	case *models.PasswordAuthenticationMethod:
		info.Type, info.Created = kindPassword, graphTimeString(v.GetCreatedDateTime())
	case *models.PhoneAuthenticationMethod:
		info.Type, info.PhoneNumber = kindPhone, maskPhone(str(v.GetPhoneNumber()))
		if p := v.GetPhoneType(); p != nil {
			info.PhoneType = p.String()
		}
	case *models.MicrosoftAuthenticatorAuthenticationMethod:
		info.Type, info.DeviceName, info.Created = kindAuthenticator, str(v.GetDisplayName()), graphTimeString(v.GetCreatedDateTime())
	case *models.Fido2AuthenticationMethod:
		info.Type, info.DeviceName, info.Model, info.Created = kindFido2, str(v.GetDisplayName()), str(v.GetModel()), graphTimeString(v.GetCreatedDateTime())
	case *models.SoftwareOathAuthenticationMethod:
		info.Type = kindSoftwareOath
	case *models.EmailAuthenticationMethod:
		info.Type, info.Email = kindEmail, maskEmail(str(v.GetEmailAddress()))
	case *models.TemporaryAccessPassAuthenticationMethod:
		info.Type, info.Usable, info.UsabilityReason = kindTAP, v.GetIsUsable(), str(v.GetMethodUsabilityReason())
		info.Start, info.Created = graphTimeString(v.GetStartDateTime()), graphTimeString(v.GetCreatedDateTime())
		if l := v.GetLifetimeInMinutes(); l != nil {
			info.LifetimeInMinutes = *l
		}
	case *models.WindowsHelloForBusinessAuthenticationMethod:
		info.Type, info.DeviceName, info.Created = kindWindowsHello, str(v.GetDisplayName()), graphTimeString(v.GetCreatedDateTime())
	case *models.PlatformCredentialAuthenticationMethod:
		info.Type, info.DeviceName, info.Created = kindPlatformCred, str(v.GetDisplayName()), graphTimeString(v.GetCreatedDateTime())
	default:
		// An unknown method type: its name, from "#microsoft.graph.xAuthenticationMethod".
		t := strings.TrimSuffix(strings.TrimPrefix(str(m.GetOdataType()), methodTypePrefix), methodTypeSuffix)
		if t == "" {
			t = "unknown"
		}
		info.Type = t
	}
	return info
}

// maskPhone keeps a phone number's last two digits and its punctuation.
func maskPhone(n string) string {
	digits := 0
	for _, r := range n {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range n {
		if r >= '0' && r <= '9' {
			if seen++; seen <= digits-maskedDigitsToKeep {
				r = '*'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maskEmail keeps an address's first character and its domain.
func maskEmail(a string) string {
	local, domain, ok := strings.Cut(a, "@")
	if !ok || local == "" {
		return "***"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "***@" + domain
}

// listMethods reads the user's registered methods.
func (c *Client) listMethods(ctx context.Context, tenant tierzero.TenantID, ref string) ([]methodInfo, error) {
	ab, err := c.authBuilder(tenant, ref)
	if err != nil {
		return nil, err
	}
	resp, err := ab.Methods().Get(ctx, nil)
	if err != nil {
		return nil, graphError("list authentication methods", err)
	}
	var out []methodInfo
	for _, m := range resp.GetValue() {
		out = append(out, describeMethod(m))
	}
	return out, nil
}

// isStrong reports whether a method is one user.reset_mfa removes:
// anything but the password.
func isStrong(m methodInfo) bool { return m.Type != kindPassword }

func authMethods(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ms, err := c.listMethods(ctx, tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	strong := 0
	for _, m := range ms {
		if isStrong(m) {
			strong++
		}
	}
	if ms == nil {
		ms = []methodInfo{}
	}
	return map[string]any{
		"user":          a.User,
		"methods":       ms,
		"mfaRegistered": strong > 0,
	}, noSecret, nil
}

// deleteMethod deletes one method through its typed collection (the
// generic /authentication/methods/{id} has no DELETE). It reports false for
// a kind it cannot delete. A method already gone counts as deleted.
func (c *Client) deleteMethod(ctx context.Context, ab *users.ItemAuthenticationRequestBuilder, m methodInfo) (bool, error) {
	var err error
	switch m.Type {
	case kindPhone:
		err = ab.PhoneMethods().ByPhoneAuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindAuthenticator:
		err = ab.MicrosoftAuthenticatorMethods().ByMicrosoftAuthenticatorAuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindFido2:
		err = ab.Fido2Methods().ByFido2AuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindSoftwareOath:
		err = ab.SoftwareOathMethods().BySoftwareOathAuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindEmail:
		err = ab.EmailMethods().ByEmailAuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindTAP:
		err = ab.TemporaryAccessPassMethods().ByTemporaryAccessPassAuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindWindowsHello:
		err = ab.WindowsHelloForBusinessMethods().ByWindowsHelloForBusinessAuthenticationMethodId(m.ID).Delete(ctx, nil)
	case kindPlatformCred:
		err = ab.PlatformCredentialMethods().ByPlatformCredentialAuthenticationMethodId(m.ID).Delete(ctx, nil)
	default:
		return false, nil
	}
	if err != nil && !isStatus(err, 404) {
		return false, graphError("delete "+m.Type+" method", err)
	}
	return true, nil
}

// resetMFA deletes every method but the password. Run again, it deletes what
// is left (an earlier run's deletions count as done).
func resetMFA(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ms, err := c.listMethods(ctx, tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	ab, err := c.authBuilder(tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	// Graph refuses to delete the default method while others remain, and
	// the mobile phone while an alternate mobile exists (methods.go).
	var strong []methodInfo
	for _, m := range ms {
		if isStrong(m) {
			strong = append(strong, m)
		}
	}
	if len(strong) == 0 {
		return map[string]any{"user": a.User, "removed": []string{}, "mfaReset": true}, noSecret, nil
	}
	d := c.deleteInOrder(ctx, tenant, a.User, ab, strong, c.preferredMethod(ctx, tenant, a.User))
	if d.err != nil && len(d.removed) == 0 {
		return nil, noSecret, d.err // nothing removed: Graph's refusal is the answer
	}
	if d.removed == nil {
		// Removed something, then could not read the methods back.
		return nil, noSecret, d.err
	}
	out := map[string]any{"user": a.User, "removed": d.removed, "mfaReset": len(d.left) == 0}
	if len(d.left) > 0 {
		var kinds []string
		for _, l := range d.left {
			kinds = appendUnique(kinds, l.Type)
		}
		out["notRemoved"], out["remaining"] = kinds, d.left
		out["note"] = "The reset is incomplete: the methods in remaining are still registered, each with the reason. Run user.reset_mfa again once the reason is dealt with."
	}
	return out, noSecret, nil
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// mfaResetApplied: no method that user.reset_mfa deletes remains.
func mfaResetApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return false, err
	}
	ms, err := c.listMethods(ctx, tenant, a.User)
	if err != nil {
		return false, err
	}
	return !slices.ContainsFunc(ms, isStrong), nil
}

// Temporary Access Pass.

type tapArgs struct {
	User              string `json:"user"`
	LifetimeInMinutes *int   `json:"lifetimeInMinutes"`
}

func decodeTAPArgs(raw json.RawMessage) (tapArgs, int32, error) {
	a, err := decodeArgs[tapArgs](raw)
	if err != nil {
		return a, 0, err
	}
	a.User = strings.TrimSpace(a.User)
	if err := checkRef("user", a.User); err != nil {
		return a, 0, err
	}
	if a.LifetimeInMinutes == nil {
		return a, 0, nil // the tenant's policy default
	}
	lifetime := *a.LifetimeInMinutes
	if lifetime < tapMinLifetime || lifetime > tapMaxLifetime {
		return a, 0, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: lifetimeInMinutes must be between %d and %d", tapMinLifetime, tapMaxLifetime)
	}
	return a, int32(lifetime), nil
}

// tapLifetime checks a pass against the tenant's Temporary Access Pass
// policy and returns its lifetime (asked, the policy's default within our
// bound, or ours when the policy cannot be read) and whether it is
// one-time only.
func (c *Client) tapLifetime(ctx context.Context, tenant tierzero.TenantID, asked int32) (int32, error) {
	p, err := c.readTAPPolicy(ctx, tenant)
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.EUnavailable {
			return 0, err
		}
		// Not allowed to read it (Policy.Read.All): Graph checks the policy anyway.
		c.log.Info("Temporary Access Pass policy unreadable; Graph will check it", "tenant", tenant, "err", err)
		if asked == 0 {
			asked = tapDefaultLifetime
		}
		return asked, nil
	}
	if !p.Enabled {
		return 0, tierzero.Errorf(tierzero.EConflict, "Temporary Access Passes are turned off in this tenant's authentication methods policy; an admin must enable them first")
	}
	lo, hi := max(p.MinLifetime, tapMinLifetime), min(p.MaxLifetime, tapMaxLifetime)
	if lo > hi {
		return 0, tierzero.Errorf(tierzero.EConflict, "this tenant's Temporary Access Pass policy allows only passes of %d to %d minutes, outside what tierzero issues (%d to %d)", p.MinLifetime, p.MaxLifetime, tapMinLifetime, tapMaxLifetime)
	}
	if asked == 0 {
		return min(max(p.DefaultLifetime, lo), hi), nil
	}
	if asked < lo || asked > hi {
		return 0, tierzero.Errorf(tierzero.EInvalid, "this tenant's Temporary Access Pass policy allows lifetimes between %d and %d minutes, not %d", lo, hi, asked)
	}
	return asked, nil
}

func issueTAP(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, lifetime, err := decodeTAPArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	if lifetime, err = c.tapLifetime(ctx, tenant, lifetime); err != nil {
		return nil, noSecret, err
	}
	ab, err := c.authBuilder(tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	body := models.NewTemporaryAccessPassAuthenticationMethod()
	once := true
	body.SetIsUsableOnce(&once)
	body.SetLifetimeInMinutes(&lifetime)
	tap, err := ab.TemporaryAccessPassMethods().Post(ctx, body, nil)
	if err != nil {
		// Graph shows the code only in this answer. Should the write have
		// been applied (Execute reads it back with tapApplied), this output
		// is what the model sees: the pass exists, its code is lost.
		lost := map[string]any{
			"user":                      a.User,
			"temporaryAccessPassIssued": true,
			"codeLost":                  true,
			"note":                      "The pass was created but Graph's answer was lost, and Graph never shows the code again. Nothing was retried. Issue a new pass only if the requester asks: it replaces this one.",
		}
		return lost, noSecret, graphError("issue temporary access pass", err)
	}
	code := str(tap.GetTemporaryAccessPass())
	if code == "" {
		return nil, noSecret, tierzero.Errorf(tierzero.EInternal, "Graph created a Temporary Access Pass for %s but returned no code; issue a new one to replace it", a.User)
	}
	out := map[string]any{
		"user":                a.User,
		"temporaryAccessPass": "delivered privately to the requester",
		"isUsableOnce":        true,
		"replacesEarlierPass": true,
	}
	start := tap.GetStartDateTime()
	if start != nil {
		out["start"] = graphTimeString(start)
	}
	if l := tap.GetLifetimeInMinutes(); l != nil {
		out["lifetimeInMinutes"] = *l
		if start != nil {
			end := start.Add(time.Duration(*l) * time.Minute)
			out["expires"] = graphTimeString(&end)
		}
	}
	return out, tierzero.NewSecret("temporary_access_pass", "Temporary Access Pass for "+a.User, code), nil
}

// tapApplied reports whether the user holds a pass created at or after
// since. When it does after a lost answer, its code is lost: Graph returns
// it only at creation. We deliberately never create a second pass
// automatically (which would replace the first and deliver a fresh code):
// applied is true, Execute does not retry, and the output issueTAP returned
// with its error tells the model that the code is lost, so that a human
// decides whether to issue another.
func tapApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, since time.Time) (bool, error) {
	a, _, err := decodeTAPArgs(raw)
	if err != nil {
		return false, err
	}
	ab, err := c.authBuilder(tenant, a.User)
	if err != nil {
		return false, err
	}
	resp, err := ab.TemporaryAccessPassMethods().Get(ctx, nil)
	if err != nil {
		return false, graphError("list temporary access passes", err)
	}
	for _, t := range resp.GetValue() {
		if atOrAfter(t.GetCreatedDateTime(), since) {
			return true, nil
		}
	}
	return false, nil
}

// Sign-ins.

type signInsArgs struct {
	User string `json:"user"`
	Top  *int   `json:"top"`
}

// signInMeanings are plain-language meanings of the sign-in error codes a
// helpdesk meets most.
var signInMeanings = map[int32]string{
	0:      "success",
	50034:  "no such user: the user name does not exist in the directory (often a typo)",
	50053:  "account locked by smart lockout after too many wrong passwords (or sign-ins from a malicious IP); it unlocks by itself after the lockout period",
	50055:  "password expired (or a temporary password that must be changed): the user must set a new password",
	50057:  "the account is disabled",
	50072:  "the user must register for multi-factor authentication",
	50074:  "MFA required: the password was right but multi-factor authentication was not completed",
	50076:  "MFA required (new location or a policy change): the password was right but multi-factor authentication was not completed",
	50126:  "wrong password (invalid user name or password)",
	50140:  "'stay signed in?' prompt (an interrupt, not a failure)",
	53003:  "blocked by a Conditional Access policy",
	530032: "blocked by a security policy",
}

// signInInfo is one sign-in as the model sees it.
type signInInfo struct {
	Time              string `json:"time"`
	App               string `json:"app,omitempty"`
	ClientApp         string `json:"clientApp,omitempty"`
	ErrorCode         int32  `json:"errorCode"`
	Meaning           string `json:"meaning,omitempty"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
	ConditionalAccess string `json:"conditionalAccess,omitempty"`
	City              string `json:"city,omitempty"`
	Country           string `json:"country,omitempty"`
	IPAddress         string `json:"ipAddress,omitempty"`
	RiskDuringSignIn  string `json:"riskDuringSignIn,omitempty"` // when Entra saw risk
}

func describeSignIn(s models.SignInable) signInInfo {
	info := signInInfo{
		Time:      graphTimeString(s.GetCreatedDateTime()),
		App:       str(s.GetAppDisplayName()),
		ClientApp: str(s.GetClientAppUsed()),
		IPAddress: str(s.GetIpAddress()),
	}
	if st := s.GetStatus(); st != nil {
		if p := st.GetErrorCode(); p != nil {
			info.ErrorCode = *p
		}
		if info.ErrorCode != 0 {
			info.FailureReason = str(st.GetFailureReason())
		}
		info.AdditionalDetails = str(st.GetAdditionalDetails())
	}
	info.Meaning = signInMeanings[info.ErrorCode]
	if info.Meaning == "" {
		info.Meaning = "see failureReason"
	}
	if ca := s.GetConditionalAccessStatus(); ca != nil {
		info.ConditionalAccess = ca.String()
	}
	if l := s.GetLocation(); l != nil {
		info.City, info.Country = str(l.GetCity()), str(l.GetCountryOrRegion())
	}
	if r := s.GetRiskLevelDuringSignIn(); r != nil && *r != models.NONE_RISKLEVEL && *r != models.HIDDEN_RISKLEVEL {
		info.RiskDuringSignIn = r.String()
	}
	return info
}

// quoteOData quotes s as an OData string literal.
func quoteOData(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func userSignIns(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[signInsArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.User = strings.TrimSpace(a.User)
	if err := checkRef("user", a.User); err != nil {
		return nil, noSecret, err
	}
	top := signInsDefaultTop
	if a.Top != nil {
		top = *a.Top
	}
	if top < 1 || top > signInsMaxTop {
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: top must be between 1 and %d", signInsMaxTop)
	}
	if c.lacks(ctx, tenant, hasP1) {
		return signInsUnavailable(a.User), noSecret, nil
	}
	out := map[string]any{"user": a.User, "userExists": true}
	var filter string
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName", "displayName")
	switch {
	case err == nil:
		filter = "userId eq " + quoteOData(str(u.GetId()))
		out["user"] = str(u.GetUserPrincipalName())
	case tierzero.ErrorCode(err) == tierzero.ENotFound && strings.Contains(a.User, "@"):
		// No such user: show the sign-ins attempted with this exact name.
		filter = "userPrincipalName eq " + quoteOData(a.User)
		out["userExists"] = false
	default:
		return nil, noSecret, err
	}
	sb, err := c.signInsBuilder(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	n := int32(top)
	resp, err := sb.Get(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter, Top: &n, Orderby: []string{"createdDateTime desc"}},
	})
	if isLicenseGap(err) {
		c.forgetCapabilities(tenant)
		return signInsUnavailable(a.User), noSecret, nil
	}
	if err != nil {
		return nil, noSecret, graphError("list sign-ins", err)
	}
	list := []signInInfo{}
	for _, s := range resp.GetValue() {
		if len(list) == top {
			break
		}
		list = append(list, describeSignIn(s))
	}
	out["signIns"] = list
	return out, noSecret, nil
}

// signInsUnavailable is user.signins' answer for a tenant without Entra
// ID P1: a fact about the tenant, not a failure.
func signInsUnavailable(user string) map[string]any {
	return map[string]any{"user": user, "signInsAvailable": false, "reason": noP1SignIns}
}

// Risk.

// riskUnavailable is user.risk's answer for a tenant without Entra ID P2.
func riskUnavailable(user string) map[string]any {
	return map[string]any{"user": user, "riskLevel": riskUnknown, "riskAvailable": false, "reason": noP2Risk}
}

func userRisk(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	// riskyUsers is keyed by object id only.
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName")
	if err != nil {
		return nil, noSecret, err
	}
	upn := str(u.GetUserPrincipalName())
	r, noP2, err := c.riskyUser(ctx, tenant, str(u.GetId()))
	if noP2 {
		return riskUnavailable(upn), noSecret, nil
	}
	if err != nil {
		return nil, noSecret, err
	}
	out := riskOut(upn, r)
	out["flagged"] = r != nil // nil: never flagged by Identity Protection
	if r == nil {
		return out, noSecret, nil
	}
	if v := r.GetRiskDetail(); v != nil {
		out["riskDetail"] = v.String()
	}
	if t := graphTimeString(r.GetRiskLastUpdatedDateTime()); t != "" {
		out["riskLastUpdated"] = t
	}
	return out, noSecret, nil
}

// riskyUser reads Identity Protection's record of a user (by object id):
// nil for a user never flagged. noP2 says the tenant lacks Entra ID P2,
// known from its subscriptions (no call made, err nil) or from Graph's
// answer (err is that answer).
func (c *Client) riskyUser(ctx context.Context, tenant tierzero.TenantID, id string) (r models.RiskyUserable, noP2 bool, err error) {
	if c.lacks(ctx, tenant, hasP2) {
		return nil, true, nil
	}
	rb, err := c.riskyUsersBuilder(tenant)
	if err != nil {
		return nil, false, err
	}
	r, err = rb.ByRiskyUserId(id).Get(ctx, nil)
	switch {
	case isLicenseGap(err):
		c.forgetCapabilities(tenant)
		return nil, true, err
	case isStatus(err, 404):
		return nil, false, nil
	case err != nil:
		return nil, false, graphError("get user risk", err)
	}
	return r, false, nil
}

// Enable.

func enableUser(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	body := models.NewUser()
	enabled := true
	body.SetAccountEnabled(&enabled)
	if _, err := ub.ByUserId(a.User).Patch(ctx, body, nil); err != nil {
		return nil, noSecret, graphError("enable user", err)
	}
	return map[string]any{"user": a.User, "accountEnabled": true}, noSecret, nil
}

func enableApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return false, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "accountEnabled")
	if err != nil {
		return false, err
	}
	return u.GetAccountEnabled() != nil && *u.GetAccountEnabled(), nil
}

// Automatic replies.

type autoReplyArgs struct {
	User             string  `json:"user"`
	Status           string  `json:"status"`
	InternalMessage  *string `json:"internalMessage"`
	ExternalMessage  *string `json:"externalMessage"`
	ExternalAudience string  `json:"externalAudience"`
	Start            string  `json:"start"`
	End              string  `json:"end"`
}

// autoReply is a validated autoReplyArgs.
type autoReply struct {
	autoReplyArgs
	status     models.AutomaticRepliesStatus
	audience   *models.ExternalAudienceScope
	start, end time.Time // for scheduled
}

func decodeAutoReplyArgs(raw json.RawMessage) (autoReply, error) {
	a, err := decodeArgs[autoReplyArgs](raw)
	r := autoReply{autoReplyArgs: a}
	if err != nil {
		return r, err
	}
	r.User = strings.TrimSpace(a.User)
	if err := checkRef("user", r.User); err != nil {
		return r, err
	}
	invalid := func(format string, args ...any) error {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: "+format, args...)
	}
	s, err := models.ParseAutomaticRepliesStatus(a.Status)
	if err != nil || s == nil {
		return r, invalid("status must be disabled, alwaysEnabled or scheduled")
	}
	r.status = *s.(*models.AutomaticRepliesStatus)
	if a.ExternalAudience != "" {
		v, err := models.ParseExternalAudienceScope(a.ExternalAudience)
		if err != nil || v == nil {
			return r, invalid("externalAudience must be none, contactsOnly or all")
		}
		r.audience = v.(*models.ExternalAudienceScope)
	}
	for name, m := range map[string]*string{"internalMessage": a.InternalMessage, "externalMessage": a.ExternalMessage} {
		if m != nil && utf8.RuneCountInString(*m) > autoReplyMaxChars {
			return r, invalid("%s is longer than %d characters", name, autoReplyMaxChars)
		}
		if m != nil && !utf8.ValidString(*m) {
			return r, invalid("%s is not valid text", name)
		}
	}
	if r.status != models.SCHEDULED_AUTOMATICREPLIESSTATUS {
		if a.Start != "" || a.End != "" {
			return r, invalid("start and end are only for status scheduled")
		}
		return r, nil
	}
	if a.Start == "" || a.End == "" {
		return r, invalid("status scheduled needs start and end")
	}
	if r.start, err = time.Parse(time.RFC3339, a.Start); err != nil {
		return r, invalid("start must be an RFC 3339 date and time, e.g. 2025-07-01T08:00:00+02:00")
	}
	if r.end, err = time.Parse(time.RFC3339, a.End); err != nil {
		return r, invalid("end must be an RFC 3339 date and time, e.g. 2025-07-08T08:00:00+02:00")
	}
	if !r.end.After(r.start) {
		return r, invalid("end must be after start")
	}
	return r, nil
}

// graphLocalLayout is dateTimeTimeZone.dateTime's layout.
const graphLocalLayout = "2006-01-02T15:04:05"

func dateTimeTimeZone(t time.Time) models.DateTimeTimeZoneable {
	d := models.NewDateTimeTimeZone()
	s, zone := t.UTC().Format(graphLocalLayout), "UTC"
	d.SetDateTime(&s)
	d.SetTimeZone(&zone)
	return d
}

func setAutoReply(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeAutoReplyArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ar := models.NewAutomaticRepliesSetting()
	ar.SetStatus(&a.status)
	if a.audience != nil {
		ar.SetExternalAudience(a.audience)
	}
	if a.InternalMessage != nil {
		ar.SetInternalReplyMessage(a.InternalMessage)
	}
	if a.ExternalMessage != nil {
		ar.SetExternalReplyMessage(a.ExternalMessage)
	}
	if a.status == models.SCHEDULED_AUTOMATICREPLIESSTATUS {
		ar.SetScheduledStartDateTime(dateTimeTimeZone(a.start))
		ar.SetScheduledEndDateTime(dateTimeTimeZone(a.end))
	}
	body := models.NewMailboxSettings()
	body.SetAutomaticRepliesSetting(ar)
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	if _, err := ub.ByUserId(a.User).MailboxSettings().Patch(ctx, body, nil); err != nil {
		if graphCode(err) == "ErrorAccessDenied" {
			return nil, noSecret, mailboxAccessDenied("set automatic replies", err) // auth.go
		}
		if graphCode(err) == "MailboxNotEnabledForRESTAPI" {
			return nil, noSecret, fmt.Errorf("set automatic replies: %w: %w",
				tierzero.Errorf(tierzero.EConflict, "%s has no Exchange Online mailbox (unlicensed, inactive or on-premises)", a.User), err)
		}
		return nil, noSecret, graphError("set automatic replies", err)
	}
	out := map[string]any{"user": a.User, "status": a.Status}
	if a.audience != nil {
		out["externalAudience"] = a.ExternalAudience
	}
	if a.status == models.SCHEDULED_AUTOMATICREPLIESSTATUS {
		out["start"], out["end"] = a.start.UTC().Format(time.RFC3339), a.end.UTC().Format(time.RFC3339)
	}
	out["internalMessageSet"], out["externalMessageSet"] = a.InternalMessage != nil, a.ExternalMessage != nil
	return out, noSecret, nil
}

// autoReplyApplied reads the mailbox settings back and compares what the
// call set. Exchange may store a message as HTML around the text, so a
// message matches when it contains the text sent.
func autoReplyApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeAutoReplyArgs(raw)
	if err != nil {
		return false, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return false, err
	}
	ms, err := ub.ByUserId(a.User).MailboxSettings().Get(ctx, nil)
	if err != nil {
		return false, graphError("get mailbox settings", err)
	}
	ar := ms.GetAutomaticRepliesSetting()
	if ar == nil || ar.GetStatus() == nil || *ar.GetStatus() != a.status {
		return false, nil
	}
	if a.audience != nil && (ar.GetExternalAudience() == nil || *ar.GetExternalAudience() != *a.audience) {
		return false, nil
	}
	if a.InternalMessage != nil && !strings.Contains(str(ar.GetInternalReplyMessage()), strings.TrimSpace(*a.InternalMessage)) {
		return false, nil
	}
	if a.ExternalMessage != nil && !strings.Contains(str(ar.GetExternalReplyMessage()), strings.TrimSpace(*a.ExternalMessage)) {
		return false, nil
	}
	if a.status == models.SCHEDULED_AUTOMATICREPLIESSTATUS {
		start, ok1 := parseDateTimeTimeZone(ar.GetScheduledStartDateTime())
		end, ok2 := parseDateTimeTimeZone(ar.GetScheduledEndDateTime())
		if !ok1 || !ok2 || !start.Equal(a.start.Truncate(time.Second)) || !end.Equal(a.end.Truncate(time.Second)) {
			return false, nil
		}
	}
	return true, nil
}

// parseDateTimeTimeZone reads a dateTimeTimeZone in UTC (the zone this
// tool writes) or an IANA zone.
func parseDateTimeTimeZone(d models.DateTimeTimeZoneable) (time.Time, bool) {
	if d == nil {
		return time.Time{}, false
	}
	loc, err := time.LoadLocation(str(d.GetTimeZone()))
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", str(d.GetDateTime()), loc)
	return t, err == nil
}
