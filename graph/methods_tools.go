package graph

// This file: the single authentication-method and risk tools of the L2–L3
// catalog: a user's MFA registration status, removing one method, adding
// or changing a phone method, and Identity Protection's dismiss risk and
// confirm compromised. The ordering Graph imposes on deletions is in
// methods.go; the tenant's Entra ID plans in capabilities.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/identityprotection"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// Action names of the method and risk tools.
const (
	ActionUserMFARegistration    = "user.mfa_registration"
	ActionUserRemoveAuthMethod   = "user.remove_auth_method"
	ActionUserSetPhoneMethod     = "user.set_phone_method"
	ActionUserDismissRisk        = "user.dismiss_risk"
	ActionUserConfirmCompromised = "user.confirm_compromised"
)

// Graph's fixed ids of the phone methods, one per phone type
// (https://learn.microsoft.com/en-us/graph/api/resources/phoneauthenticationmethod).
var phoneMethodIDs = map[string]string{
	"mobile":          "3179e48a-750b-4051-897c-87b9720928f7",
	"alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
	"office":          "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}

var methodTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionUserMFARegistration,
		Description: "Read a user's MFA registration status: registered for MFA, able to use it, passwordless capable, the default MFA method, the methods registered, when it was last updated. Use it when someone is asked to set up MFA again or cannot complete it.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(userSchema),
	}, run: mfaRegistration},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserRemoveAuthMethod,
		Description: "Remove one authentication method of a user (an old phone number, a lost security key, the Authenticator app on a replaced phone), by the id user.auth_methods shows. The password cannot be removed; the default method goes only after the others, the mobile phone only after the alternate mobile.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN (name@company.com) or object id."},` +
			`"method_id":{"type":"string","description":"The method's id, from user.auth_methods."}},` +
			`"required":["user","method_id"],"additionalProperties":false}`),
	}, run: removeAuthMethod, applied: methodRemovedApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserSetPhoneMethod,
		Description: "Add or change a user's phone for MFA and password reset: the mobile (text or call), the alternate mobile (call; needs a mobile first) or the office phone (call). The number in international form with a space after the country code, e.g. +1 4255550100 or +44 7700900123 (an extension as x123).",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"user":{"type":"string","description":"UPN (name@company.com) or object id."},` +
			`"phone_number":{"type":"string","maxLength":40,"description":"+<country code> <number>, e.g. +1 4255550100; x<extension> optional."},` +
			`"phone_type":{"type":"string","enum":["mobile","alternateMobile","office"],"description":"Which phone of the user."}},` +
			`"required":["user","phone_number","phone_type"],"additionalProperties":false}`),
	}, run: setPhoneMethod, applied: phoneSetApplied},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserDismissRisk,
		Description: "Dismiss a user's Entra ID Protection risk (level none, state dismissed) when IT has checked that the risky sign-ins were the user's own (a trip abroad, a new phone). Needs Entra ID P2.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(userSchema),
	}, run: dismissRisk, applied: riskStateApplied("dismissed")},
	{spec: tierzero.ToolSpec{
		Action:      ActionUserConfirmCompromised,
		Description: "Confirm to Entra ID Protection that a user's account is compromised (risk high, state confirmedCompromised): risk-based Conditional Access then acts on it. Follow with a password reset and user.revoke_sessions. Needs Entra ID P2.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(userSchema),
	}, run: confirmCompromised, applied: riskStateApplied("confirmedCompromised")},
}

// Registration status.

// registrationUnavailable is user.mfa_registration's answer for a tenant
// without Entra ID P1: a fact about the tenant, not a failure.
func registrationUnavailable(user string) map[string]any {
	return map[string]any{"user": user, "registrationAvailable": false, "reason": noP1Registration,
		"note": "user.auth_methods still lists the methods the user registered."}
}

func mfaRegistration(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	// The report is keyed by object id only.
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName")
	if err != nil {
		return nil, noSecret, err
	}
	upn := str(u.GetUserPrincipalName())
	if c.lacks(ctx, tenant, hasP1) {
		return registrationUnavailable(upn), noSecret, nil
	}
	r, err := c.registration(ctx, tenant, str(u.GetId()))
	if isLicenseGap(err) {
		c.forgetCapabilities(tenant)
		return registrationUnavailable(upn), noSecret, nil
	}
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"user": upn, "registrationAvailable": true}
	for k, p := range map[string]*bool{
		"isMfaRegistered":       r.GetIsMfaRegistered(),
		"isMfaCapable":          r.GetIsMfaCapable(),
		"isPasswordlessCapable": r.GetIsPasswordlessCapable(),
		"isSsprRegistered":      r.GetIsSsprRegistered(),
	} {
		if p != nil {
			out[k] = *p
		}
	}
	def := "none"
	if p := r.GetUserPreferredMethodForSecondaryAuthentication(); p != nil {
		def = p.String()
	}
	out["defaultMfaMethod"] = def
	methods := r.GetMethodsRegistered()
	if methods == nil {
		methods = []string{}
	}
	out["methodsRegistered"] = methods
	if t := graphTimeString(r.GetLastUpdatedDateTime()); t != "" {
		out["lastUpdated"] = t
	}
	return out, noSecret, nil
}

// Removing one method.

type removeMethodArgs struct {
	User     string `json:"user"`
	MethodID string `json:"method_id"`
}

func decodeRemoveMethodArgs(raw json.RawMessage) (removeMethodArgs, error) {
	a, err := decodeArgs[removeMethodArgs](raw)
	if err != nil {
		return a, err
	}
	a.User, a.MethodID = strings.TrimSpace(a.User), strings.TrimSpace(a.MethodID)
	if err := checkRef("user", a.User); err != nil {
		return a, err
	}
	return a, checkRef("method_id", a.MethodID)
}

// methodLabel names a method the way people know it.
func methodLabel(m methodInfo) string {
	switch m.Type {
	case kindPhone:
		switch m.PhoneType {
		case "alternateMobile":
			return "alternate mobile phone " + m.PhoneNumber
		case "office":
			return "office phone " + m.PhoneNumber
		}
		return "mobile phone " + m.PhoneNumber
	case kindAuthenticator:
		return strings.TrimSpace("Microsoft Authenticator app " + m.DeviceName)
	case kindFido2:
		return strings.TrimSpace("security key " + m.DeviceName)
	case kindSoftwareOath:
		return "software token (authenticator code app)"
	case kindEmail:
		return "email address " + m.Email
	case kindTAP:
		return "Temporary Access Pass"
	case kindWindowsHello:
		return strings.TrimSpace("Windows Hello for Business " + m.DeviceName)
	case kindPlatformCred:
		return strings.TrimSpace("platform credential " + m.DeviceName)
	}
	return m.Type + " method"
}

// blocksDefault reports whether x, another method of the user, keeps the
// default method from being deleted: Graph counts the methods that can
// sign in with MFA, not the password, a pass or an email.
func blocksDefault(x methodInfo) bool {
	return x.Type != kindPassword && x.Type != kindTAP && x.Type != kindEmail
}

// removalOrder returns, in plain words, why m cannot be removed yet and
// what must go first, "" when nothing stands in the way. preferred is the
// user's default method ("" when unknown).
func removalOrder(m methodInfo, others []methodInfo, preferred string) string {
	if m.Type == kindPhone && m.PhoneType == "mobile" {
		if i := slices.IndexFunc(others, func(x methodInfo) bool { return x.Type == kindPhone && x.PhoneType == "alternateMobile" }); i >= 0 {
			return fmt.Sprintf("the mobile phone cannot be removed while an alternate mobile phone is registered: remove the %s (id %s) first", methodLabel(others[i]), others[i].ID)
		}
	}
	if preferred == "" || !standsFor(m, preferred) {
		return ""
	}
	var first []string
	for _, x := range others {
		if blocksDefault(x) {
			first = append(first, fmt.Sprintf("the %s (id %s)", methodLabel(x), x.ID))
		}
	}
	if len(first) == 0 {
		return ""
	}
	return "it is the user's default sign-in method, which Microsoft 365 removes only after the others: have the user choose another default method at https://mysignins.microsoft.com, or remove first " + orList(first, "and")
}

func removeAuthMethod(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeRemoveMethodArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ms, err := c.listMethods(ctx, tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	i := slices.IndexFunc(ms, func(m methodInfo) bool { return strings.EqualFold(m.ID, a.MethodID) })
	if i < 0 {
		return nil, noSecret, tierzero.Errorf(tierzero.ENotFound,
			"%s has no authentication method with id %s (it may be removed already); user.auth_methods lists the user's methods with their ids", a.User, a.MethodID)
	}
	m := ms[i]
	others := slices.Delete(slices.Clone(ms), i, i+1)
	switch m.Type {
	case kindPassword:
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "the password cannot be removed, only reset (user.reset_password)")
	case kindPhone, kindAuthenticator, kindFido2, kindSoftwareOath, kindEmail, kindTAP, kindWindowsHello, kindPlatformCred:
	default:
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "%s: %s; an administrator removes it in the Microsoft Entra admin center", methodLabel(m), reasonCannot)
	}
	// Graph's ordering refusals, said before the call when they are known:
	// the alternate mobile always, the default method with Entra ID P1.
	preferred := ""
	if m.Type == kindPhone || m.Type == kindAuthenticator || m.Type == kindSoftwareOath {
		preferred = c.preferredMethod(ctx, tenant, a.User)
	}
	if why := removalOrder(m, others, preferred); why != "" {
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "the %s of %s was not removed: %s", methodLabel(m), a.User, why)
	}
	ab, err := c.authBuilder(tenant, a.User)
	if err != nil {
		return nil, noSecret, err
	}
	if _, err := c.deleteMethod(ctx, ab, m); err != nil {
		if why := orderingRefusal(err); why != "" {
			// The default was unknown (no P1) or changed meanwhile.
			if why == reasonDefault {
				why = removalOrder(m, others, defaultOf(m))
			}
			return nil, noSecret, fmt.Errorf("remove authentication method: %w: %w",
				tierzero.Errorf(tierzero.EConflict, "the %s of %s was not removed: %s", methodLabel(m), a.User, why), err)
		}
		return nil, noSecret, err
	}
	left := []string{}
	for _, x := range others {
		left = append(left, methodLabel(x))
	}
	return map[string]any{
		"user":      a.User,
		"removed":   methodLabel(m),
		"type":      m.Type,
		"remaining": left,
	}, noSecret, nil
}

// defaultOf is the default-method value that stands for m (the inverse of
// standsFor), for explaining Graph's refusal when the default was unknown.
func defaultOf(m methodInfo) string {
	switch {
	case m.Type == kindAuthenticator:
		return "push"
	case m.Type == kindSoftwareOath:
		return "oath"
	case m.Type == kindPhone && m.PhoneType == "alternateMobile":
		return "voiceAlternateMobile"
	case m.Type == kindPhone && m.PhoneType == "office":
		return "voiceOffice"
	case m.Type == kindPhone:
		return "voiceMobile"
	}
	return ""
}

// methodRemovedApplied: the method is no longer registered.
func methodRemovedApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeRemoveMethodArgs(raw)
	if err != nil {
		return false, err
	}
	ms, err := c.listMethods(ctx, tenant, a.User)
	if err != nil {
		return false, err
	}
	return !slices.ContainsFunc(ms, func(m methodInfo) bool { return strings.EqualFold(m.ID, a.MethodID) }), nil
}

// Phone methods.

type phoneArgs struct {
	User        string `json:"user"`
	PhoneNumber string `json:"phone_number"`
	PhoneType   string `json:"phone_type"`
}

// phone is a validated phoneArgs: number is in Graph's form
// "+<country code> <national number>[x<extension>]".
type phone struct {
	phoneArgs
	number string
	typ    models.AuthenticationPhoneType
}

// E.164 allows at most 15 digits, the country code included.
const e164MaxDigits = 15

// normalizePhone turns a number written "+1 (425) 555-0100 x12" into
// Graph's "+1 4255550100x12": a plus, the country code, one space, the
// national number's digits, an optional extension. The space after the
// country code is required: it is the only way to tell the country code
// from the number.
func normalizePhone(s string) (string, error) {
	bad := tierzero.Errorf(tierzero.EInvalid,
		"invalid arguments: phone_number must be +<country code>, a space, then the number, e.g. +1 4255550100 or +44 7700900123 (an extension as x123)")
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "+")
	if !ok {
		return "", bad
	}
	cc, national, ok := strings.Cut(rest, " ")
	if !ok || len(cc) < 1 || len(cc) > 3 || !allDigits(cc) || cc[0] == '0' {
		return "", bad
	}
	national, ext, hasExt := strings.Cut(strings.ToLower(national), "x")
	var digits strings.Builder
	for _, r := range national {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", bad
		}
	}
	n := digits.String()
	if len(n) < 4 || len(cc)+len(n) > e164MaxDigits {
		return "", bad
	}
	ext = strings.TrimSpace(ext)
	out := "+" + cc + " " + n
	if hasExt {
		if !allDigits(ext) || len(ext) > 8 {
			return "", bad
		}
		out += "x" + ext
	}
	return out, nil
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// sameNumber compares two numbers as Graph holds them, without regard to
// spacing: "+1 425 555 0100" is "+1 4255550100".
func sameNumber(a, b string) bool {
	keep := func(s string) string {
		return strings.Map(func(r rune) rune {
			if (r >= '0' && r <= '9') || r == 'x' || r == '+' {
				return r
			}
			return -1
		}, strings.ToLower(s))
	}
	return keep(a) != "" && keep(a) == keep(b)
}

func decodePhoneArgs(raw json.RawMessage) (phone, error) {
	a, err := decodeArgs[phoneArgs](raw)
	p := phone{phoneArgs: a}
	if err != nil {
		return p, err
	}
	p.User = strings.TrimSpace(a.User)
	if err := checkRef("user", p.User); err != nil {
		return p, err
	}
	if _, ok := phoneMethodIDs[a.PhoneType]; !ok {
		return p, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: phone_type must be mobile, alternateMobile or office")
	}
	t, err := models.ParseAuthenticationPhoneType(a.PhoneType)
	if err != nil || t == nil {
		return p, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: phone_type must be mobile, alternateMobile or office")
	}
	p.typ = *t.(*models.AuthenticationPhoneType)
	if p.number, err = normalizePhone(a.PhoneNumber); err != nil {
		return p, err
	}
	return p, nil
}

// phoneMethods reads the user's phone methods by phone type.
func (c *Client) phoneMethods(ctx context.Context, tenant tierzero.TenantID, user string) (map[string]models.PhoneAuthenticationMethodable, error) {
	ab, err := c.authBuilder(tenant, user)
	if err != nil {
		return nil, err
	}
	resp, err := ab.PhoneMethods().Get(ctx, nil)
	if err != nil {
		return nil, graphError("list phone methods", err)
	}
	out := map[string]models.PhoneAuthenticationMethodable{}
	for _, m := range resp.GetValue() {
		if t := m.GetPhoneType(); t != nil {
			out[t.String()] = m
		}
	}
	return out, nil
}

func setPhoneMethod(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	p, err := decodePhoneArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	phones, err := c.phoneMethods(ctx, tenant, p.User)
	if err != nil {
		return nil, noSecret, err
	}
	out := map[string]any{"user": p.User, "phoneType": p.PhoneType, "phoneNumber": maskPhone(p.number)}
	existing, has := phones[p.PhoneType]
	if has && sameNumber(str(existing.GetPhoneNumber()), p.number) {
		out["changed"], out["note"] = false, "this number is already the user's "+p.PhoneType+" phone: nothing was changed"
		return out, noSecret, nil
	}
	if _, mobile := phones["mobile"]; !has && p.PhoneType == "alternateMobile" && !mobile {
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict,
			"%s has no mobile phone method, and Microsoft 365 allows an alternate mobile only beside a mobile: add the number as the mobile phone instead (nothing was changed)", p.User)
	}
	ab, err := c.authBuilder(tenant, p.User)
	if err != nil {
		return nil, noSecret, err
	}
	body := models.NewPhoneAuthenticationMethod()
	body.SetPhoneNumber(&p.number)
	body.SetPhoneType(&p.typ)
	if has {
		// The method of each type has a fixed id; PATCH changes its number.
		id := str(existing.GetId())
		if id == "" {
			id = phoneMethodIDs[p.PhoneType]
		}
		if _, err := ab.PhoneMethods().ByPhoneAuthenticationMethodId(id).Patch(ctx, body, nil); err != nil {
			return nil, noSecret, phoneError("change the phone method", err)
		}
		out["changed"], out["previous"] = true, maskPhone(str(existing.GetPhoneNumber()))
		return out, noSecret, nil
	}
	if _, err := ab.PhoneMethods().Post(ctx, body, nil); err != nil {
		return nil, noSecret, phoneError("add the phone method", err)
	}
	out["changed"], out["added"] = true, true
	return out, noSecret, nil
}

// phoneError explains Graph's refusal of a number (400 "Invalid phone
// number format") in plain words; other errors as graphError does.
func phoneError(op string, err error) error {
	if isStatus(err, 400) && strings.Contains(strings.ToLower(graphMessage(err)), "phone number") {
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EInvalid,
			"Microsoft 365 does not accept this phone number: it must be +<country code>, a space, then the number, e.g. +1 4255550100 (nothing was changed)"), err)
	}
	return graphError(op, err)
}

// phoneSetApplied: the user's phone of that type has the number.
func phoneSetApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	p, err := decodePhoneArgs(raw)
	if err != nil {
		return false, err
	}
	phones, err := c.phoneMethods(ctx, tenant, p.User)
	if err != nil {
		return false, err
	}
	m, ok := phones[p.PhoneType]
	return ok && sameNumber(str(m.GetPhoneNumber()), p.number), nil
}

// Risk actions.

// riskTarget reads the user's object id and UPN and, with Entra ID P2,
// their current risk (nil: never flagged by Identity Protection). Without
// P2 it refuses in plain words before any write.
func (c *Client) riskTarget(ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, what string) (id, upn string, risk models.RiskyUserable, err error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return "", "", nil, err
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName")
	if err != nil {
		return "", "", nil, err
	}
	id, upn = str(u.GetId()), str(u.GetUserPrincipalName())
	noP2Refusal := func() error {
		return tierzero.Errorf(tierzero.EConflict, "cannot %s %s: %s (nothing was changed)", what, upn, noP2RiskAction)
	}
	r, noP2, err := c.riskyUser(ctx, tenant, id)
	switch {
	case noP2 && err == nil:
		return "", "", nil, noP2Refusal()
	case noP2:
		return "", "", nil, fmt.Errorf("%s: %w: %w", what, noP2Refusal(), err)
	case err != nil:
		return "", "", nil, err
	}
	return id, upn, r, nil
}

// riskOut is the output of a risk action.
func riskOut(upn string, r models.RiskyUserable) map[string]any {
	out := map[string]any{"user": upn}
	if r == nil {
		out["riskLevel"], out["riskState"] = "none", "none"
		return out
	}
	if v := r.GetRiskLevel(); v != nil {
		out["riskLevel"] = v.String()
	}
	if v := r.GetRiskState(); v != nil {
		out["riskState"] = v.String()
	}
	return out
}

func dismissRisk(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	id, upn, r, err := c.riskTarget(ctx, tenant, raw, "dismiss the risk of")
	if err != nil {
		return nil, noSecret, err
	}
	if r == nil || (r.GetRiskLevel() != nil && *r.GetRiskLevel() == models.NONE_RISKLEVEL) ||
		(r.GetRiskState() != nil && *r.GetRiskState() == models.DISMISSED_RISKSTATE) {
		out := riskOut(upn, r)
		out["dismissed"], out["note"] = false, "the user is not at risk: nothing to dismiss"
		return out, noSecret, nil
	}
	body := identityprotection.NewRiskyUsersDismissPostRequestBody()
	body.SetUserIds([]string{id})
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	b := identityprotection.NewRiskyUsersDismissRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	if err := b.Post(ctx, body, nil); err != nil {
		return nil, noSecret, riskActionError("dismiss user risk", upn, err)
	}
	return map[string]any{"user": upn, "dismissed": true, "riskLevel": "none", "riskState": "dismissed"}, noSecret, nil
}

func confirmCompromised(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	id, upn, r, err := c.riskTarget(ctx, tenant, raw, "confirm as compromised")
	if err != nil {
		return nil, noSecret, err
	}
	if r != nil && r.GetRiskState() != nil && *r.GetRiskState() == models.CONFIRMEDCOMPROMISED_RISKSTATE {
		out := riskOut(upn, r)
		out["confirmedCompromised"], out["note"] = true, "already confirmed compromised: nothing was changed"
		return out, noSecret, nil
	}
	body := identityprotection.NewRiskyUsersConfirmCompromisedPostRequestBody()
	body.SetUserIds([]string{id})
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	b := identityprotection.NewRiskyUsersConfirmCompromisedRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	if err := b.Post(ctx, body, nil); err != nil {
		return nil, noSecret, riskActionError("confirm user compromised", upn, err)
	}
	return map[string]any{
		"user": upn, "confirmedCompromised": true, "riskLevel": "high", "riskState": "confirmedCompromised",
		"note": "Identity Protection now treats the account as compromised; reset the password and sign the user out everywhere (user.revoke_sessions).",
	}, noSecret, nil
}

// riskActionError turns Graph's licensing refusal into the known fact.
func riskActionError(op, upn string, err error) error {
	if isLicenseGap(err) {
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EConflict, "cannot act on the risk of %s: %s (nothing was changed)", upn, noP2RiskAction), err)
	}
	return graphError(op, err)
}

// riskStateApplied: Identity Protection holds the user in state.
func riskStateApplied(state string) func(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	return func(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
		a, err := decodeUserArgs(raw)
		if err != nil {
			return false, err
		}
		u, err := c.getUser(ctx, tenant, a.User, "id")
		if err != nil {
			return false, err
		}
		rb, err := c.riskyUsersBuilder(tenant)
		if err != nil {
			return false, err
		}
		r, err := rb.ByRiskyUserId(str(u.GetId())).Get(ctx, nil)
		if isStatus(err, 404) {
			return false, nil
		}
		if err != nil {
			return false, graphError("get user risk", err)
		}
		return r.GetRiskState() != nil && r.GetRiskState().String() == state, nil
	}
}
