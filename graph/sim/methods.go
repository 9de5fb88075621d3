package sim

// This file: what Graph enforces on authentication methods beyond listing
// them: each user's default MFA method and the deletions Graph refuses
// because of it, phone methods added or changed, the registration report
// (reports/authenticationMethods/userRegistrationDetails), the tenant's
// Temporary Access Pass policy, and Identity Protection's dismiss and
// confirmCompromised actions.
//
// Refusals modelled, as Graph gives them:
//   - the default method cannot be deleted while the user has other
//     methods: 400 badRequest "Cannot delete default method with other
//     methods configured. Please change default method before deletion."
//   - the mobile phone cannot be deleted while an alternate mobile exists
//     (a user cannot have an alternateMobile without a mobile): 400.
//   - a Temporary Access Pass outside the policy's lifetimes: 400 "Invalid
//     LifetimeInMinutes specified. The valid range between MIN and MAX.";
//     with the method disabled in the policy: 400.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// alternateMobileID is Graph's fixed id of the alternate mobile phone method.
const alternateMobileID = "b6332ec1-7057-4abe-9331-3d72feddfe41"

// TAPPolicy is the tenant's temporaryAccessPassAuthenticationMethodConfiguration.
type TAPPolicy struct {
	State                    string `json:"state"` // enabled, disabled
	MinimumLifetimeInMinutes int    `json:"minimumLifetimeInMinutes"`
	MaximumLifetimeInMinutes int    `json:"maximumLifetimeInMinutes"`
	DefaultLifetimeInMinutes int    `json:"defaultLifetimeInMinutes"`
	IsUsableOnce             bool   `json:"isUsableOnce"`
	DefaultLength            int    `json:"defaultLength"`
}

var methodRoutes = []route{
	{http.MethodPost, "users/{user}/authentication/phoneMethods", (*Server).createPhoneMethod},
	{http.MethodPatch, "users/{user}/authentication/phoneMethods/{method}", (*Server).updatePhoneMethod},
	{http.MethodGet, "reports/authenticationMethods/userRegistrationDetails/{id}", (*Server).getRegistrationDetails},
	{http.MethodPost, "identityProtection/riskyUsers/dismiss", (*Server).dismissRisk},
	{http.MethodPost, "identityProtection/riskyUsers/confirmCompromised", (*Server).confirmCompromised},
}

// seedMethodPolicy seeds the tenant's TAP policy and each user's default
// method: the Authenticator app where registered (push), else the phone
// (voiceMobile, voiceOffice). One user of each tenant has an alternate
// mobile number besides the mobile one (the third seeded: contoso's
// miriam.graham).
func seedMethodPolicy(t *tenant) {
	// contoso allows passes of 10 minutes to 8 hours; fabrikam
	// keeps them short.
	t.identity.tap = TAPPolicy{State: "enabled", MinimumLifetimeInMinutes: 10, MaximumLifetimeInMinutes: 480,
		DefaultLifetimeInMinutes: 60, IsUsableOnce: false, DefaultLength: 8}
	if t.name == "fabrikam" {
		t.identity.tap = TAPPolicy{State: "enabled", MinimumLifetimeInMinutes: 10, MaximumLifetimeInMinutes: 120,
			DefaultLifetimeInMinutes: 30, IsUsableOnce: true, DefaultLength: 10}
	}
	t.identity.preferred = map[string]string{}
	for i, u := range t.users {
		if i == 2 && slices.ContainsFunc(u.AuthenticationMethods, isMobile) {
			u.AuthenticationMethods = append(slices.Clone(u.AuthenticationMethods),
				AuthMethod{ID: alternateMobileID, Type: typePhone, PhoneType: "alternateMobile", PhoneNumber: mobileNumber(t, 150+i)})
		}
		t.setPreferred(u)
	}
}

func isMobile(m AuthMethod) bool { return m.Type == typePhone && m.PhoneType == "mobile" }

// setPreferred makes a user without a default method take one of theirs
// (Authenticator push first, then a phone), as Entra does at registration.
func (t *tenant) setPreferred(u *user) {
	key := strings.ToLower(u.ID)
	if _, ok := t.identity.preferred[key]; ok && t.defaultMethod(u) >= 0 {
		return
	}
	delete(t.identity.preferred, key)
	for _, m := range u.AuthenticationMethods {
		if p := preferredOf(m); p != "" {
			t.identity.preferred[key] = p
			return
		}
	}
}

// preferredOf is the default-method value a method stands for, "" for a
// method that cannot be the default (password, pass, email, security key).
func preferredOf(m AuthMethod) string {
	switch {
	case m.Type == typeAuthenticator:
		return "push"
	case m.Type == typeSoftwareOath:
		return "oath"
	case m.Type == typePhone && m.PhoneType == "mobile":
		return "voiceMobile"
	case m.Type == typePhone && m.PhoneType == "alternateMobile":
		return "voiceAlternateMobile"
	case m.Type == typePhone && m.PhoneType == "office":
		return "voiceOffice"
	}
	return ""
}

// defaultMethod returns the index of the user's default method, or -1.
func (t *tenant) defaultMethod(u *user) int {
	p := t.identity.preferred[strings.ToLower(u.ID)]
	if p == "" {
		return -1
	}
	if p == "sms" {
		p = "voiceMobile"
	}
	return slices.IndexFunc(u.AuthenticationMethods, func(m AuthMethod) bool { return preferredOf(m) == p })
}

// refuseDelete is Graph's refusal to delete method m of u, if any.
func (t *tenant) refuseDelete(u *user, m AuthMethod) reply {
	if isMobile(m) && slices.ContainsFunc(u.AuthenticationMethods, func(x AuthMethod) bool { return x.Type == typePhone && x.PhoneType == "alternateMobile" }) {
		return fail(http.StatusBadRequest, "badRequest",
			"A user cannot have an alternate mobile phone method without a mobile phone method. Delete the alternate mobile phone method first.")
	}
	if d := t.defaultMethod(u); d >= 0 && strings.EqualFold(u.AuthenticationMethods[d].ID, m.ID) && u.AuthenticationMethods[d].Type == m.Type {
		others := slices.ContainsFunc(u.AuthenticationMethods, func(x AuthMethod) bool {
			return !(x.ID == m.ID && x.Type == m.Type) && x.Type != typePassword && x.Type != typeTAP && x.Type != typeEmail
		})
		if others {
			return fail(http.StatusBadRequest, "badRequest", "Cannot delete default method with other methods configured. Please change default method before deletion.")
		}
	}
	return reply{}
}

// afterDelete moves the default off a method that is gone: none when the
// user has no method left that can be the default.
func (t *tenant) afterDelete(u *user) {
	if t.defaultMethod(u) < 0 {
		delete(t.identity.preferred, strings.ToLower(u.ID))
		t.setPreferred(u)
	}
}

// Phone methods.

// phoneNumberPattern is the format Graph accepts: "+<country code> <number>"
// with an optional xEXTENSION.
var phoneNumberPattern = regexp.MustCompile(`^\+[0-9]{1,3} [0-9][0-9 ]{3,18}[0-9](x[0-9]{1,8})?$`)

var phoneTypeIDs = map[string]string{"mobile": mobilePhoneID, "alternateMobile": alternateMobileID, "office": officePhoneID}

func decodePhone(body []byte, requireType bool) (number, phoneType string, rep reply) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(body, &props); err != nil || props == nil {
		return "", "", errPayload
	}
	for _, k := range sortedKeys(props) {
		switch k {
		case "phoneNumber":
			rep = decodeString(props[k], &number)
		case "phoneType":
			rep = decodeString(props[k], &phoneType)
		default:
			if !strings.HasPrefix(k, "@odata.") {
				rep = invalidProperty(k)
			}
		}
		if rep.code != "" {
			return "", "", rep
		}
	}
	if number == "" || (requireType && phoneType == "") {
		return "", "", badRequest("phoneNumber and phoneType are required.")
	}
	if !phoneNumberPattern.MatchString(number) {
		return "", "", fail(http.StatusBadRequest, "badRequest", "Invalid phone number format. Phone numbers use the format \"+<country code> <number>x<extension>\".")
	}
	if _, ok := phoneTypeIDs[phoneType]; phoneType != "" && !ok {
		return "", "", fail(http.StatusBadRequest, "badRequest", fmt.Sprintf("Invalid phoneType '%s'.", phoneType))
	}
	return number, phoneType, reply{}
}

// createPhoneMethod serves POST phoneMethods: one phone of each type; an
// alternate mobile needs a mobile.
func (s *Server) createPhoneMethod(c *call) reply {
	number, phoneType, rep := decodePhone(c.body, true)
	if rep.code != "" {
		return rep
	}
	id := phoneTypeIDs[phoneType]
	if findMethod(c.user, typePhone, id) >= 0 {
		return fail(http.StatusBadRequest, "badRequest", fmt.Sprintf("A phone method of type %s already exists for this user. Update it instead.", phoneType))
	}
	if phoneType == "alternateMobile" && !slices.ContainsFunc(c.user.AuthenticationMethods, isMobile) {
		return fail(http.StatusBadRequest, "badRequest", "A user cannot have an alternate mobile phone method without a mobile phone method.")
	}
	m := AuthMethod{ID: id, Type: typePhone, PhoneType: phoneType, PhoneNumber: number}
	c.user.AuthenticationMethods = append(slices.Clone(c.user.AuthenticationMethods), m)
	c.t.setPreferred(c.user)
	body := methodJSON(m, s.now())
	body["@odata.context"] = metadata + "#users('" + c.user.ID + "')/authentication/phoneMethods/$entity"
	return reply{status: http.StatusCreated, body: body}
}

// updatePhoneMethod serves PATCH phoneMethods/{id}: the number (the type
// is fixed by the id).
func (s *Server) updatePhoneMethod(c *call) reply {
	i := findMethod(c.user, typePhone, c.params["method"])
	if i < 0 {
		return methodNotFound(c.params["method"])
	}
	number, phoneType, rep := decodePhone(c.body, false)
	if rep.code != "" {
		return rep
	}
	ms := slices.Clone(c.user.AuthenticationMethods)
	if phoneType != "" && phoneType != ms[i].PhoneType {
		return fail(http.StatusBadRequest, "badRequest", "The phoneType of a phone method cannot be changed.")
	}
	ms[i].PhoneNumber = number
	c.user.AuthenticationMethods = ms
	return reply{status: http.StatusNoContent}
}

// Registration details.

// registeredName is the methodsRegistered value of a method.
func registeredName(m AuthMethod) string {
	switch m.Type {
	case typeAuthenticator:
		return "microsoftAuthenticatorPush"
	case typeSoftwareOath:
		return "softwareOneTimePasscode"
	case typeFido2:
		return "fido2SecurityKey"
	case typeEmail:
		return "email"
	case typeTAP:
		return "temporaryAccessPass"
	case typePhone:
		return map[string]string{"mobile": "mobilePhone", "alternateMobile": "alternateMobilePhone", "office": "officePhone"}[m.PhoneType]
	}
	return ""
}

// getRegistrationDetails serves GET
// reports/authenticationMethods/userRegistrationDetails/{id} (needs P1).
func (s *Server) getRegistrationDetails(c *call) reply {
	if rep := needP1(c.t); rep.code != "" {
		return rep
	}
	id := c.params["id"]
	u := c.t.lookup(id)
	if u == nil || !strings.EqualFold(u.ID, id) {
		return fail(http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
	}
	methods := []string{}
	mfa := false
	for _, m := range u.AuthenticationMethods {
		if n := registeredName(m); n != "" && !slices.Contains(methods, n) {
			methods = append(methods, n)
		}
		if preferredOf(m) != "" || m.Type == typeFido2 {
			mfa = true
		}
	}
	preferred := c.t.identity.preferred[strings.ToLower(u.ID)]
	if preferred == "" {
		preferred = "none"
	}
	return ok(map[string]any{
		"@odata.context":        metadata + "#reports/authenticationMethods/userRegistrationDetails/$entity",
		"id":                    u.ID,
		"userPrincipalName":     u.UserPrincipalName,
		"userDisplayName":       u.DisplayName,
		"userType":              "member",
		"isAdmin":               len(u.DirectoryRoles) > 0,
		"isSsprRegistered":      mfa,
		"isSsprEnabled":         true,
		"isSsprCapable":         mfa && u.AccountEnabled,
		"isMfaRegistered":       mfa,
		"isMfaCapable":          mfa && u.AccountEnabled,
		"isPasswordlessCapable": slices.ContainsFunc(u.AuthenticationMethods, func(m AuthMethod) bool { return m.Type == typeFido2 }),
		"methodsRegistered":     methods,
		"isSystemPreferredAuthenticationMethodEnabled":  false,
		"systemPreferredAuthenticationMethods":          []string{},
		"userPreferredMethodForSecondaryAuthentication": preferred,
		"lastUpdatedDateTime":                           graphTime(s.now().UTC().Truncate(time.Hour)),
	})
}

// Temporary Access Pass policy.

// The configuration is served, with the rest of the authentication methods
// policy, by baseline.go (tapConfiguration).

// SetTAPPolicy replaces a tenant's Temporary Access Pass policy (tests and
// the demo: a tenant that disabled passes, or allows other lifetimes). It
// reports false for an unknown tenant.
func (s *Server) SetTAPPolicy(tenant string, p TAPPolicy) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if ok {
		t.identity.tap = p
	}
	return ok
}

// tapRefusal is Graph's refusal of a pass the policy does not allow.
func (t *tenant) tapRefusal(m *AuthMethod, lifetimeGiven bool) reply {
	p := t.identity.tap
	if p.State != "enabled" {
		return fail(http.StatusBadRequest, "badRequest", "Temporary Access Pass is not enabled for this user by the authentication methods policy.")
	}
	if !lifetimeGiven {
		m.LifetimeInMinutes = p.DefaultLifetimeInMinutes
	}
	if m.LifetimeInMinutes < p.MinimumLifetimeInMinutes || m.LifetimeInMinutes > p.MaximumLifetimeInMinutes {
		return fail(http.StatusBadRequest, "badRequest",
			fmt.Sprintf("Invalid LifetimeInMinutes specified. The valid range between %d and %d.", p.MinimumLifetimeInMinutes, p.MaximumLifetimeInMinutes))
	}
	if p.IsUsableOnce {
		m.IsUsableOnce = true // the policy makes every pass one-time
	}
	return reply{}
}

// Identity Protection actions.

// riskyUsersAction reads the userIds of dismiss and confirmCompromised:
// at most 60, each an object id of the tenant.
func (s *Server) riskyUsersAction(c *call) ([]*user, reply) {
	if rep := needP2(c.t); rep.code != "" {
		return nil, rep
	}
	var body struct {
		UserIDs []string `json:"userIds"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || len(body.UserIDs) == 0 {
		return nil, badRequest("userIds is required.")
	}
	if len(body.UserIDs) > 60 {
		return nil, badRequest("The maximum number of userIds is 60.")
	}
	var out []*user
	for _, id := range body.UserIDs {
		u := c.t.lookup(id)
		if u == nil || !strings.EqualFold(u.ID, id) {
			return nil, fail(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", id))
		}
		out = append(out, u)
	}
	return out, reply{}
}

// dismissRisk serves POST riskyUsers/dismiss: the risk level becomes none,
// the state dismissed; 204.
func (s *Server) dismissRisk(c *call) reply {
	us, rep := s.riskyUsersAction(c)
	if rep.code != "" {
		return rep
	}
	for _, u := range us {
		if u.Risk != nil {
			u.Risk = &UserRisk{Level: "none", State: "dismissed", Detail: "adminDismissedAllRiskForUser", LastUpdated: s.now().UTC().Truncate(time.Second)}
		}
	}
	return reply{status: http.StatusNoContent}
}

// confirmCompromised serves POST riskyUsers/confirmCompromised: the risk
// becomes high, the state confirmedCompromised; 204.
func (s *Server) confirmCompromised(c *call) reply {
	us, rep := s.riskyUsersAction(c)
	if rep.code != "" {
		return rep
	}
	for _, u := range us {
		u.Risk = &UserRisk{Level: "high", State: "confirmedCompromised", Detail: "adminConfirmedUserCompromised", LastUpdated: s.now().UTC().Truncate(time.Second)}
	}
	return reply{status: http.StatusNoContent}
}
