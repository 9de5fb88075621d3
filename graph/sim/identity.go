package sim

// This file: identity: authentication methods, Temporary Access Passes,
// sign-in logs, risky users, mailbox settings (automatic replies).
//
// Seeded "I can't sign in" cases, the same in both tenants (see identityCases):
//
//	case                                        contoso                     fabrikam
//	forgot password (several 50126)             christie.cline              chloe.martin
//	forgot password and lost phone (50126 x2,   raul.razo                   zoe.clarke
//	  then 50074: Authenticator and phone are
//	  on the lost phone, no usable method)
//	smart lockout (50126 x5, then 50053)        pradeep.gupta               daniel.reyes
//	expired password (50055, changed 95d ago)   emily.braun                 victor.santos
//	blocked by Conditional Access (53003,       irvin.sayers                emma.novak
//	  abroad)
//	contractor with a temporary password        enrico.cattaneo             noah.bennett
//	  (new: forceChangePasswordNextSignIn, set
//	  yesterday, 50055 change-password interrupt,
//	  no sign-in before)
//	typo in the user name (50034, no userId)    alex.wilbur@contoso.com     ben.walter@fabrikam.com
//	account disabled (50057, the leaver)        gerhart.moller              jack.turner
//	"I think I was hacked" (riskyUser high,     lidia.holloway              liam.oconnor
//	  atRisk; sign-ins from abroad)
//	risk remediated (riskyUser none,            joni.sherman                mia.fischer
//	  remediated)
//	automatic replies on (alwaysEnabled)        debra.berger                olivia.grant
//
// Every other enabled user has a few successful sign-ins. An admin password
// reset (PATCH passwordProfile, users.go) remediates an atRisk user, as
// Identity Protection does.

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuthMethod is a registered authentication method of a user as the state
// shows it. It never holds a secret: no password, no TAP code.
type AuthMethod struct {
	ID              string    `json:"id"`
	Type            string    `json:"type"` // Graph's type name, e.g. phoneAuthenticationMethod
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
	PhoneNumber     string    `json:"phoneNumber,omitempty"`     // phone
	PhoneType       string    `json:"phoneType,omitempty"`       // phone: mobile, alternateMobile, office
	DisplayName     string    `json:"displayName,omitempty"`     // microsoftAuthenticator, fido2
	DeviceTag       string    `json:"deviceTag,omitempty"`       // microsoftAuthenticator
	PhoneAppVersion string    `json:"phoneAppVersion,omitempty"` // microsoftAuthenticator
	Model           string    `json:"model,omitempty"`           // fido2
	AAGUID          string    `json:"aaGuid,omitempty"`          // fido2
	EmailAddress    string    `json:"emailAddress,omitempty"`    // email
	// Temporary Access Pass.
	StartDateTime     time.Time `json:"startDateTime,omitzero"`
	LifetimeInMinutes int       `json:"lifetimeInMinutes,omitempty"`
	IsUsableOnce      bool      `json:"isUsableOnce,omitempty"`
}

// UserRisk is what Identity Protection says of a user it flagged.
type UserRisk struct {
	Level       string    `json:"riskLevel"`  // low, medium, high, none
	State       string    `json:"riskState"`  // atRisk, remediated, dismissed, confirmedCompromised, ...
	Detail      string    `json:"riskDetail"` // none, adminGeneratedTemporaryPassword, ...
	LastUpdated time.Time `json:"riskLastUpdatedDateTime"`
}

// AutoReplies is a mailbox's automaticRepliesSetting.
type AutoReplies struct {
	Status               string           `json:"status"`           // disabled, alwaysEnabled, scheduled
	ExternalAudience     string           `json:"externalAudience"` // none, contactsOnly, all
	InternalReplyMessage string           `json:"internalReplyMessage"`
	ExternalReplyMessage string           `json:"externalReplyMessage"`
	ScheduledStart       DateTimeTimeZone `json:"scheduledStartDateTime"`
	ScheduledEnd         DateTimeTimeZone `json:"scheduledEndDateTime"`
}

// DateTimeTimeZone is Graph's dateTimeTimeZone: a local date and time
// (2006-01-02T15:04:05.0000000) and the time zone it is in.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// identityState holds a tenant's identity data beyond the user objects.
type identityState struct {
	signIns []signIn // oldest first
	// preferred is each user's default MFA method (by lowercase object
	// id), as userRegistrationDetails' userPreferredMethodForSecondaryAuthentication
	// names it: push, oath, voiceMobile, voiceAlternateMobile, voiceOffice,
	// sms; absent is none (methods.go).
	preferred map[string]string
	// tap is the tenant's Temporary Access Pass policy (methods.go).
	tap TAPPolicy
}

// signIn is one entry of the tenant's sign-in log.
type signIn struct {
	id, upn, userID, displayName   string
	at                             time.Time
	app, clientApp, caStatus       string
	errorCode                      int
	failureReason, details         string
	city, country, ip, os, browser string
	risk                           string // riskLevelDuringSignIn: none or high
	// mfa: the sign-in gave a second factor (authenticationRequirement
	// multiFactorAuthentication); Conditional Access's MFA grant holds.
	mfa bool
}

// Graph's fixed method ids.
const (
	passwordMethodID   = "28c10230-6103-485e-b985-444c60001490"
	mobilePhoneID      = "3179e48a-750b-4051-897c-87b9720928f7"
	officePhoneID      = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
	emailMethodID      = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
	tapMaxLifetime     = 43200
	tapMinLifetime     = 10
	tapDefaultLifetime = 60
)

// Method type names, and the typed collection each is managed through.
const (
	typePassword      = "passwordAuthenticationMethod"
	typePhone         = "phoneAuthenticationMethod"
	typeAuthenticator = "microsoftAuthenticatorAuthenticationMethod"
	typeFido2         = "fido2AuthenticationMethod"
	typeSoftwareOath  = "softwareOathAuthenticationMethod"
	typeEmail         = "emailAuthenticationMethod"
	typeTAP           = "temporaryAccessPassAuthenticationMethod"
)

var methodCollections = map[string]string{
	"passwordMethods":               typePassword,
	"phoneMethods":                  typePhone,
	"microsoftAuthenticatorMethods": typeAuthenticator,
	"fido2Methods":                  typeFido2,
	"softwareOathMethods":           typeSoftwareOath,
	"emailMethods":                  typeEmail,
	"temporaryAccessPassMethods":    typeTAP,
}

var identityRoutes = identityRouteTable()

func identityRouteTable() []route {
	rs := []route{
		{http.MethodGet, "users/{user}/authentication/methods", (*Server).listMethods},
		{http.MethodGet, "users/{user}/authentication/methods/{method}", (*Server).getMethod},
		{http.MethodPost, "users/{user}/authentication/temporaryAccessPassMethods", (*Server).createTAP},
		{http.MethodGet, "users/{user}/mailboxSettings", (*Server).getMailboxSettings},
		{http.MethodPatch, "users/{user}/mailboxSettings", (*Server).patchMailboxSettings},
		{http.MethodGet, "auditLogs/signIns", (*Server).listSignIns},
		{http.MethodGet, "auditLogs/signIns/{signIn}", (*Server).getSignIn},
		{http.MethodGet, "identityProtection/riskyUsers/{riskyUser}", (*Server).getRiskyUser},
	}
	for _, coll := range sortedKeys(methodCollections) {
		rs = append(rs,
			route{http.MethodGet, "users/{user}/authentication/" + coll, (*Server).listMethods},
			route{http.MethodGet, "users/{user}/authentication/" + coll + "/{method}", (*Server).getMethod})
		if coll != "passwordMethods" {
			rs = append(rs, route{http.MethodDelete, "users/{user}/authentication/" + coll + "/{method}", (*Server).deleteMethod})
		}
	}
	return append(rs, methodRoutes...) // methods.go
}

// collectionType is the method type of the typed collection a call is on,
// "" for the generic /methods.
func collectionType(c *call) string { return methodCollections[c.segs[3]] }

func (s *Server) listMethods(c *call) reply {
	typ := collectionType(c)
	values := []any{}
	for _, m := range c.user.AuthenticationMethods {
		if typ == "" || m.Type == typ {
			values = append(values, methodJSON(m, s.now()))
		}
	}
	return ok(map[string]any{
		"@odata.context": metadata + "#users('" + c.user.ID + "')/authentication/" + c.segs[3],
		"value":          values,
	})
}

// findMethod returns the index of the user's method id of type typ (any
// type when typ is ""), or -1.
func findMethod(u *user, typ, id string) int {
	return slices.IndexFunc(u.AuthenticationMethods, func(m AuthMethod) bool {
		return strings.EqualFold(m.ID, id) && (typ == "" || m.Type == typ)
	})
}

func (s *Server) getMethod(c *call) reply {
	i := findMethod(c.user, collectionType(c), c.params["method"])
	if i < 0 {
		return methodNotFound(c.params["method"])
	}
	body := methodJSON(c.user.AuthenticationMethods[i], s.now())
	body["@odata.context"] = metadata + "#users('" + c.user.ID + "')/authentication/" + c.segs[3] + "/$entity"
	return ok(body)
}

func (s *Server) deleteMethod(c *call) reply {
	i := findMethod(c.user, collectionType(c), c.params["method"])
	if i < 0 {
		return methodNotFound(c.params["method"])
	}
	if rep := c.t.refuseDelete(c.user, c.user.AuthenticationMethods[i]); rep.code != "" {
		return rep
	}
	// Copy on write: State's snapshots share the old slice.
	c.user.AuthenticationMethods = slices.Delete(slices.Clone(c.user.AuthenticationMethods), i, i+1)
	c.t.afterDelete(c.user)
	return reply{status: http.StatusNoContent}
}

func methodNotFound(id string) reply {
	return fail(http.StatusNotFound, "itemNotFound", fmt.Sprintf("The requested authentication method '%s' was not found.", id))
}

// methodJSON renders a method as Graph does. A TAP's code is never here:
// Graph returns it only in the 201 of its creation.
func methodJSON(m AuthMethod, now time.Time) map[string]any {
	out := map[string]any{"@odata.type": "#microsoft.graph." + m.Type, "id": m.ID}
	switch m.Type {
	case typePassword:
		out["password"] = nil
		out["createdDateTime"] = graphTime(m.CreatedDateTime)
	case typePhone:
		out["phoneNumber"] = m.PhoneNumber
		out["phoneType"] = m.PhoneType
		out["smsSignInState"] = "notAllowedByPolicy"
	case typeAuthenticator:
		out["displayName"] = m.DisplayName
		out["deviceTag"] = m.DeviceTag
		out["phoneAppVersion"] = m.PhoneAppVersion
		out["createdDateTime"] = graphTime(m.CreatedDateTime)
	case typeFido2:
		out["displayName"] = m.DisplayName
		out["createdDateTime"] = graphTime(m.CreatedDateTime)
		out["aaGuid"] = m.AAGUID
		out["model"] = m.Model
		out["attestationCertificates"] = []string{}
		out["attestationLevel"] = "attested"
	case typeSoftwareOath:
		out["secretKey"] = nil
	case typeEmail:
		out["emailAddress"] = m.EmailAddress
	case typeTAP:
		usable, reason := tapUsability(m, now)
		out["temporaryAccessPass"] = nil
		out["createdDateTime"] = graphTime(m.CreatedDateTime)
		out["startDateTime"] = graphTime(m.StartDateTime)
		out["lifetimeInMinutes"] = m.LifetimeInMinutes
		out["isUsableOnce"] = m.IsUsableOnce
		out["isUsable"] = usable
		out["methodUsabilityReason"] = reason
	}
	return out
}

// tapUsability says whether a TAP can be used at now, and why.
func tapUsability(m AuthMethod, now time.Time) (bool, string) {
	switch {
	case now.Before(m.StartDateTime):
		return false, "NotYetValid"
	case !now.Before(m.StartDateTime.Add(time.Duration(m.LifetimeInMinutes) * time.Minute)):
		return false, "Expired"
	}
	return true, "EnabledByPolicy"
}

// createTAP serves POST temporaryAccessPassMethods: a user holds one TAP,
// so a new one replaces the old. The code is in this answer only; it is not
// kept (the journal records request bodies, which carry no code).
func (s *Server) createTAP(c *call) reply {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &props); err != nil || props == nil {
		return errPayload
	}
	now := s.now().UTC().Truncate(time.Second)
	m := AuthMethod{ID: newUUID(), Type: typeTAP, CreatedDateTime: now, StartDateTime: now, LifetimeInMinutes: tapDefaultLifetime}
	_, lifetimeGiven := props["lifetimeInMinutes"]
	for _, k := range sortedKeys(props) {
		raw := props[k]
		rep := reply{}
		switch k {
		case "isUsableOnce":
			rep = decodeBool(raw, &m.IsUsableOnce)
		case "lifetimeInMinutes":
			var n *int
			if err := json.Unmarshal(raw, &n); err != nil {
				rep = conversionError("Edm.Int32")
			} else if n != nil {
				m.LifetimeInMinutes = *n
			}
		case "startDateTime":
			var ts *time.Time
			if err := json.Unmarshal(raw, &ts); err != nil {
				rep = conversionError("Edm.DateTimeOffset")
			} else if ts != nil {
				m.StartDateTime = ts.UTC().Truncate(time.Second)
			}
		default:
			if !strings.HasPrefix(k, "@odata.") {
				rep = invalidProperty(k)
			}
		}
		if rep.code != "" {
			return rep
		}
	}
	if m.LifetimeInMinutes < tapMinLifetime || m.LifetimeInMinutes > tapMaxLifetime {
		return fail(http.StatusBadRequest, "badRequest",
			fmt.Sprintf("Invalid LifetimeInMinutes specified. The valid range between %d and %d.", tapMinLifetime, tapMaxLifetime))
	}
	if rep := c.t.tapRefusal(&m, lifetimeGiven); rep.code != "" { // the tenant's policy (methods.go)
		return rep
	}
	if m.StartDateTime.Before(now) {
		m.StartDateTime = now
	}
	code, err := tapCode()
	if err != nil {
		return fail(http.StatusInternalServerError, "generalException", "An internal error occurred.")
	}
	kept := slices.DeleteFunc(slices.Clone(c.user.AuthenticationMethods), func(x AuthMethod) bool { return x.Type == typeTAP })
	c.user.AuthenticationMethods = append(kept, m)
	body := methodJSON(m, s.now())
	body["temporaryAccessPass"] = code
	body["@odata.context"] = metadata + "#users('" + c.user.ID + "')/authentication/temporaryAccessPassMethods/$entity"
	delete(body, "@odata.type")
	return reply{status: http.StatusCreated, body: body}
}

// tapCode returns a random 8-character Temporary Access Pass.
func tapCode() (string, error) {
	const set = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789!@#$%&*"
	b := make([]byte, 8)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[n.Int64()]
	}
	return string(b), nil
}

// riskyUserJSON renders a user's risk as microsoft.graph.riskyUser.
func riskyUserJSON(u *user) map[string]any {
	return map[string]any{
		"@odata.context":          metadata + "#identityProtection/riskyUsers/$entity",
		"id":                      u.ID,
		"isDeleted":               false,
		"isProcessing":            false,
		"riskLastUpdatedDateTime": graphTime(u.Risk.LastUpdated),
		"riskLevel":               u.Risk.Level,
		"riskState":               u.Risk.State,
		"riskDetail":              u.Risk.Detail,
		"userDisplayName":         u.DisplayName,
		"userPrincipalName":       u.UserPrincipalName,
	}
}

// getRiskyUser serves GET identityProtection/riskyUsers/{id}: by object id
// only, 404 for a user Identity Protection never flagged.
func (s *Server) getRiskyUser(c *call) reply {
	if rep := needP2(c.t); rep.code != "" {
		return rep
	}
	id := c.params["riskyUser"]
	u := c.t.lookup(id)
	if u == nil || !strings.EqualFold(u.ID, id) || u.Risk == nil {
		return fail(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", id))
	}
	return ok(riskyUserJSON(u))
}

// needP1 is Graph's refusal of the sign-in logs and the authentication
// methods reports to a tenant without Entra ID P1 (AAD_PREMIUM, or P2,
// which includes it).
func needP1(t *tenant) reply {
	if t.hasServicePlan("AAD_PREMIUM") || t.hasServicePlan("AAD_PREMIUM_P2") {
		return reply{}
	}
	return fail(http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
}

// needP2 is Identity Protection's refusal to a tenant without Entra ID P2.
func needP2(t *tenant) reply {
	if t.hasServicePlan("AAD_PREMIUM_P2") {
		return reply{}
	}
	return fail(http.StatusForbidden, "Forbidden", "Your tenant is not licensed for this feature.")
}

// DropSubscription removes a subscription (a SKU part number, such as
// AAD_PREMIUM_P2) from a tenant, and the license from its users, as when a
// client lets it lapse: DropSubscription("contoso", "AAD_PREMIUM_P2")
// leaves contoso with Entra ID P1 only (Business Premium's EMS), and Graph's
// Identity Protection then answers 403. It reports false for an unknown
// tenant or a SKU the tenant does not hold.
func (s *Server) DropSubscription(tenant, part string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return false
	}
	i := slices.IndexFunc(t.skus, func(k SKU) bool { return strings.EqualFold(k.SkuPartNumber, part) })
	if i < 0 {
		return false
	}
	part = t.skus[i].SkuPartNumber
	t.skus = slices.Delete(slices.Clone(t.skus), i, i+1)
	for _, u := range t.users {
		if slices.Contains(u.AssignedLicenses, part) {
			u.AssignedLicenses = slices.DeleteFunc(slices.Clone(u.AssignedLicenses), func(l string) bool { return l == part })
		}
	}
	return true
}

// remediateRisk is what Identity Protection does when an admin sets a
// temporary password for an atRisk user.
func (s *Server) remediateRisk(u *User) {
	if u.Risk != nil && u.Risk.State == "atRisk" {
		u.Risk = &UserRisk{Level: "none", State: "remediated", Detail: "adminGeneratedTemporaryPassword", LastUpdated: s.now().UTC().Truncate(time.Second)}
	}
}

// signInFilter matches the supported $filter of auditLogs/signIns.
var signInFilter = regexp.MustCompile(`^\s*(userId|userPrincipalName)\s+eq\s+'((?:[^']|'')*)'\s*$`)

// signInSince matches $filter=createdDateTime ge <date and time>, which the
// sign-in impact of a Conditional Access policy reads.
var signInSince = regexp.MustCompile(`^\s*createdDateTime\s+ge\s+(\S+)\s*$`)

func (s *Server) listSignIns(c *call) reply {
	if rep := needP1(c.t); rep.code != "" {
		return rep
	}
	q := c.query
	if rep := unsupported(q, "$select"); rep.code != "" {
		return rep
	}
	if v := q.Get("$orderby"); v != "" && !strings.EqualFold(strings.Join(strings.Fields(v), " "), "createdDateTime desc") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Only $orderby=createdDateTime desc is supported by the simulator.")
	}
	keep := func(signIn) bool { return true }
	if raw := q.Get("$filter"); raw != "" {
		m, since := signInFilter.FindStringSubmatch(raw), signInSince.FindStringSubmatch(raw)
		switch {
		case since != nil:
			at, err := time.Parse(time.RFC3339, since[1])
			if err != nil {
				return fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid filter clause: the DateTimeOffset '%s' is not valid.", since[1]))
			}
			keep = func(x signIn) bool { return !x.at.Before(at) }
		case m == nil:
			return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
		case m[1] == "userId":
			val := strings.ReplaceAll(m[2], "''", "'")
			keep = func(x signIn) bool { return x.userID != "" && strings.EqualFold(x.userID, val) }
		default:
			val := strings.ReplaceAll(m[2], "''", "'")
			keep = func(x signIn) bool { return strings.EqualFold(x.upn, val) }
		}
	}
	w, rep := parseWindow(q, 1000, 1000)
	if rep.code != "" {
		return rep
	}
	var matched []signIn
	for i := len(c.t.identity.signIns) - 1; i >= 0; i-- { // newest first
		if x := c.t.identity.signIns[i]; keep(x) {
			matched = append(matched, x)
		}
	}
	return w.collection(c, len(matched), "auditLogs/signIns", func(i int) any { return signInJSON(c.t, matched[i]) })
}

func (s *Server) getSignIn(c *call) reply {
	if rep := needP1(c.t); rep.code != "" {
		return rep
	}
	id := c.params["signIn"]
	for _, x := range c.t.identity.signIns {
		if strings.EqualFold(x.id, id) {
			body := signInJSON(c.t, x)
			body["@odata.context"] = metadata + "#auditLogs/signIns/$entity"
			delete(body, "@odata.type")
			return ok(body)
		}
	}
	return fail(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", id))
}

// signInJSON renders a sign-in of t as microsoft.graph.signIn, with what
// t's Conditional Access policies did to it (baseline_signins.go).
func signInJSON(t *tenant, x signIn) map[string]any {
	auth := "singleFactorAuthentication"
	if x.mfa {
		auth = "multiFactorAuthentication"
	}
	riskState := "none"
	if x.risk == "high" {
		riskState = "atRisk"
	}
	return map[string]any{
		"@odata.type":             "#microsoft.graph.signIn",
		"id":                      x.id,
		"createdDateTime":         graphTime(x.at),
		"userDisplayName":         null(x.displayName),
		"userPrincipalName":       x.upn,
		"userId":                  x.userID,
		"appId":                   guid("app", x.app),
		"appDisplayName":          x.app,
		"ipAddress":               x.ip,
		"clientAppUsed":           x.clientApp,
		"correlationId":           guid("correlation", x.id),
		"conditionalAccessStatus": x.caStatus,
		"isInteractive":           true,
		"riskDetail":              "none",
		"riskEventTypes_v2":       []string{},
		"riskLevelAggregated":     x.risk,
		"riskLevelDuringSignIn":   x.risk,
		"riskState":               riskState,
		"resourceDisplayName":     "Office 365 Exchange Online",
		"resourceId":              "00000002-0000-0ff1-ce00-000000000000",
		"status": map[string]any{
			"errorCode":         x.errorCode,
			"failureReason":     null(x.failureReason),
			"additionalDetails": null(x.details),
		},
		"deviceDetail": map[string]any{
			"deviceId": "", "displayName": "", "operatingSystem": x.os, "browser": x.browser,
			"isCompliant": false, "isManaged": false, "trustType": "",
		},
		"location": map[string]any{
			"city": x.city, "state": "", "countryOrRegion": x.country,
			"geoCoordinates": map[string]any{"altitude": nil, "latitude": nil, "longitude": nil},
		},
		"authenticationRequirement":        auth,
		"appliedConditionalAccessPolicies": appliedPolicies(t, x),
	}
}

// Failure reasons, as Entra logs them.
var failureReasons = map[int]string{
	0:     "Other.",
	50034: "The user account does not exist in the directory. To sign into this application, the account must be added to the directory.",
	50053: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
	50055: "The password is expired.",
	50057: "User account is disabled. The account has been disabled by an administrator.",
	50074: "Strong Authentication is required.",
	50126: "Error validating credentials due to invalid username or password.",
	53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
}

// hasMailbox reports whether u has an Exchange Online mailbox: a license
// that includes Exchange.
func hasMailbox(u *user) bool {
	return slices.Contains(u.AssignedLicenses, "ENTERPRISEPACK") || slices.Contains(u.AssignedLicenses, "SPE_E3")
}

// mailboxTimeZone is the Windows time zone of a tenant's mailboxes.
func mailboxTimeZone(t *tenant) string {
	if t.name == "fabrikam" {
		return "GMT Standard Time"
	}
	return "Pacific Standard Time"
}

func mailboxNotEnabled() reply {
	return fail(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
}

func (s *Server) mailboxSettingsJSON(c *call) map[string]any {
	u, a := c.user, c.user.AutomaticReplies
	return map[string]any{
		"@odata.context": metadata + "#users('" + u.ID + "')/mailboxSettings",
		"archiveFolder":  guid(c.t.name, "archive", u.ID),
		"timeZone":       mailboxTimeZone(c.t),
		"automaticRepliesSetting": map[string]any{
			"status":                 a.Status,
			"externalAudience":       a.ExternalAudience,
			"internalReplyMessage":   a.InternalReplyMessage,
			"externalReplyMessage":   a.ExternalReplyMessage,
			"scheduledStartDateTime": map[string]any{"dateTime": a.ScheduledStart.DateTime, "timeZone": a.ScheduledStart.TimeZone},
			"scheduledEndDateTime":   map[string]any{"dateTime": a.ScheduledEnd.DateTime, "timeZone": a.ScheduledEnd.TimeZone},
		},
		"language":                              map[string]any{"locale": u.PreferredLanguage, "displayName": languageNames[u.PreferredLanguage]},
		"dateFormat":                            "M/d/yyyy",
		"timeFormat":                            "h:mm tt",
		"delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
		"userPurpose":                           "user",
	}
}

var languageNames = map[string]string{"en-US": "English (United States)", "en-GB": "English (United Kingdom)"}

func (s *Server) getMailboxSettings(c *call) reply {
	if rep, denied := mailboxDenied(c); denied {
		return rep // delegated: only the signed-in user's own (tokens.go)
	}
	if !hasMailbox(c.user) {
		return mailboxNotEnabled()
	}
	return ok(s.mailboxSettingsJSON(c))
}

// patchMailboxSettings applies automaticRepliesSetting (merged, all or
// nothing) and answers 200 with the settings.
func (s *Server) patchMailboxSettings(c *call) reply {
	if rep, denied := mailboxDenied(c); denied {
		return rep // delegated: only the signed-in user's own (tokens.go)
	}
	if !hasMailbox(c.user) {
		return mailboxNotEnabled()
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &props); err != nil || props == nil {
		return errPayload
	}
	next := c.user.AutomaticReplies
	for _, k := range sortedKeys(props) {
		switch {
		case k == "automaticRepliesSetting":
			if rep := applyAutoReplies(&next, props[k]); rep.code != "" {
				return rep
			}
		case strings.HasPrefix(k, "@odata."):
		default:
			return unknownMailboxProperty(k, "MailboxSettings")
		}
	}
	if next.Status == "scheduled" {
		start, err1 := parseLocal(next.ScheduledStart)
		end, err2 := parseLocal(next.ScheduledEnd)
		if err1 != nil || err2 != nil {
			return fail(http.StatusBadRequest, "ErrorInvalidParameter", "The scheduled start and end times must be valid dates in a known time zone.")
		}
		if !end.After(start) {
			return fail(http.StatusBadRequest, "ErrorInvalidScheduledOofDuration", "The scheduled end time must be after the start time.")
		}
	}
	c.user.AutomaticReplies = next
	return ok(s.mailboxSettingsJSON(c))
}

func unknownMailboxProperty(name, typ string) reply {
	return fail(http.StatusBadRequest, "RequestBodyRead",
		fmt.Sprintf("The property '%s' does not exist on type 'Microsoft.OutlookServices.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, typ))
}

func applyAutoReplies(a *AutoReplies, raw json.RawMessage) reply {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return fail(http.StatusBadRequest, "RequestBodyRead", "Cannot convert the value to 'Microsoft.OutlookServices.AutomaticRepliesSetting'.")
	}
	enum := func(raw json.RawMessage, dst *string, allowed ...string) reply {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || !slices.Contains(allowed, v) {
			return fail(http.StatusBadRequest, "RequestBodyRead", fmt.Sprintf("Requested value '%s' was not found.", strings.Trim(string(raw), `"`)))
		}
		*dst = v
		return reply{}
	}
	for _, k := range sortedKeys(p) {
		v := p[k]
		rep := reply{}
		switch k {
		case "status":
			rep = enum(v, &a.Status, "disabled", "alwaysEnabled", "scheduled")
		case "externalAudience":
			rep = enum(v, &a.ExternalAudience, "none", "contactsOnly", "all")
		case "internalReplyMessage":
			rep = decodeString(v, &a.InternalReplyMessage)
		case "externalReplyMessage":
			rep = decodeString(v, &a.ExternalReplyMessage)
		case "scheduledStartDateTime":
			rep = decodeDateTimeTimeZone(v, &a.ScheduledStart)
		case "scheduledEndDateTime":
			rep = decodeDateTimeTimeZone(v, &a.ScheduledEnd)
		default:
			if !strings.HasPrefix(k, "@odata.") {
				rep = unknownMailboxProperty(k, "AutomaticRepliesSetting")
			}
		}
		if rep.code != "" {
			return rep
		}
	}
	return reply{}
}

func decodeDateTimeTimeZone(raw json.RawMessage, dst *DateTimeTimeZone) reply {
	var v struct {
		DateTime string `json:"dateTime"`
		TimeZone string `json:"timeZone"`
	}
	bad := fail(http.StatusBadRequest, "RequestBodyRead", "Cannot convert the value to 'Microsoft.OutlookServices.DateTimeTimeZone'.")
	if err := json.Unmarshal(raw, &v); err != nil || v.DateTime == "" || v.TimeZone == "" {
		return bad
	}
	d := DateTimeTimeZone{DateTime: v.DateTime, TimeZone: v.TimeZone}
	t, err := parseLocal(d)
	if err != nil {
		return bad
	}
	d.DateTime = t.Format(localLayout) // canonical form, in its own zone
	*dst = d
	return reply{}
}

// localLayout is how Graph writes dateTimeTimeZone.dateTime.
const localLayout = "2006-01-02T15:04:05.0000000"

// zones maps the Windows time zone names the simulator knows to IANA.
var zones = map[string]string{
	"UTC":                   "UTC",
	"Pacific Standard Time": "America/Los_Angeles",
	"GMT Standard Time":     "Europe/London",
}

// parseLocal parses a dateTimeTimeZone into an instant.
func parseLocal(d DateTimeTimeZone) (time.Time, error) {
	name, known := zones[d.TimeZone]
	if !known {
		name = d.TimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.Time{}, err
	}
	// Accept an offset or Z too, as Exchange does, and read it in its zone.
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t.In(loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad dateTime %q", d.DateTime)
}

func localTime(t time.Time) DateTimeTimeZone {
	return DateTimeTimeZone{DateTime: t.UTC().Format(localLayout), TimeZone: "UTC"}
}

// identityCase names, per tenant, the users of each seeded case (UPN local
// parts; typo is a UPN that does not exist).
type identityCase struct {
	forgot, lostPhone, lockout, expired, blocked, contractor, typo, disabled, hacked, remediated, away string
	home, abroad                                                                                       [2]string // city, country
}

var identityCases = map[string]identityCase{
	"contoso": {
		forgot: "christie.cline", lostPhone: "raul.razo", lockout: "pradeep.gupta", expired: "emily.braun",
		blocked: "irvin.sayers", contractor: "enrico.cattaneo", typo: "alex.wilbur", disabled: "gerhart.moller",
		hacked: "lidia.holloway", remediated: "joni.sherman", away: "debra.berger",
		home: [2]string{"Redmond", "US"}, abroad: [2]string{"Lisbon", "PT"},
	},
	"fabrikam": {
		forgot: "chloe.martin", lostPhone: "zoe.clarke", lockout: "daniel.reyes", expired: "victor.santos",
		blocked: "emma.novak", contractor: "noah.bennett", typo: "ben.walter", disabled: "jack.turner",
		hacked: "liam.oconnor", remediated: "mia.fischer", away: "olivia.grant",
		home: [2]string{"London", "GB"}, abroad: [2]string{"Porto", "PT"},
	},
}

// seedIdentity gives every user authentication methods and mailbox
// settings, and seeds the sign-in log and risky users with the cases above.
func seedIdentity(t *tenant, now time.Time) {
	cs, ok := identityCases[t.name]
	if !ok {
		return
	}
	upn := func(local string) string { return local + "@" + t.domain }
	must := func(local string) *user {
		u := t.lookup(upn(local))
		if u == nil {
			panic("sim: identity case names unknown user " + local)
		}
		return u
	}
	for _, local := range []string{cs.forgot, cs.lostPhone, cs.lockout, cs.expired, cs.blocked, cs.contractor, cs.disabled, cs.hacked, cs.remediated, cs.away} {
		must(local)
	}
	if t.lookup(upn(cs.typo)) != nil {
		panic("sim: the typo case names an existing user " + cs.typo)
	}
	day := 24 * time.Hour
	for i, u := range t.users {
		u.AuthenticationMethods = defaultMethods(t, i, u, now)
		u.AutomaticReplies = AutoReplies{
			Status: "disabled", ExternalAudience: "all",
			ScheduledStart: localTime(now.Truncate(time.Hour)), ScheduledEnd: localTime(now.Truncate(time.Hour).Add(day)),
		}
	}

	var log []signIn
	add := func(local string, ago time.Duration, code int, details string, where [2]string, risk string) {
		x := signIn{
			upn: upn(local), at: now.Add(-ago), app: "Office 365 Exchange Online", clientApp: "Browser",
			errorCode: code, failureReason: failureReasons[code], details: details,
			city: where[0], country: where[1], ip: "198.51.100." + strconv.Itoa(10+len(log)%200), os: "Windows10", browser: "Edge 130.0.0",
			risk: "none", mfa: code == 0,
		}
		if risk != "" {
			x.risk = risk
		}
		if where != cs.home {
			x.ip = "203.0.113." + strconv.Itoa(10+len(log)%200)
		}
		if u := t.lookup(x.upn); u != nil {
			x.userID, x.displayName = u.ID, u.DisplayName
		}
		switch code {
		case 0:
			x.caStatus = "success"
		case 53003:
			x.caStatus = "failure"
		default:
			x.caStatus = "notApplied" // failed before Conditional Access was evaluated
		}
		log = append(log, x)
	}
	home := cs.home
	// Plenty of ordinary successes: every enabled user, over the last days.
	for i, u := range t.users {
		local, _, _ := strings.Cut(u.UserPrincipalName, "@")
		if !u.AccountEnabled || local == cs.contractor {
			continue
		}
		for k := range 3 {
			add(local, time.Duration(30+(i*7+k*13)%72)*time.Hour+time.Duration(i)*time.Minute, 0,
				"MFA requirement satisfied by claim in the token", home, "")
		}
	}
	// forgot password
	for k := range 4 {
		add(cs.forgot, time.Duration(35-3*k)*time.Minute, 50126, "", home, "")
	}
	// forgot password and lost phone
	must(cs.lostPhone).AuthenticationMethods = lostPhoneMethods(t, must(cs.lostPhone), now)
	add(cs.lostPhone, 70*time.Minute, 50126, "", home, "")
	add(cs.lostPhone, 66*time.Minute, 50126, "", home, "")
	add(cs.lostPhone, 52*time.Minute, 50074, "User did not pass the MFA challenge: no usable authentication method (the phone with the Authenticator app is lost).", home, "")
	// smart lockout
	for k := range 5 {
		add(cs.lockout, time.Duration(24-k)*time.Minute, 50126, "", home, "")
	}
	add(cs.lockout, 18*time.Minute, 50053, "", home, "")
	add(cs.lockout, 9*time.Minute, 50053, "", home, "")
	// expired password
	must(cs.expired).LastPasswordChangeDateTime = now.Add(-95 * day)
	add(cs.expired, 31*time.Minute, 50055, "", home, "")
	add(cs.expired, 29*time.Minute, 50055, "", home, "")
	// blocked by Conditional Access while abroad
	add(cs.blocked, 47*time.Minute, 53003, "", cs.abroad, "")
	add(cs.blocked, 44*time.Minute, 53003, "", cs.abroad, "")
	// contractor with a temporary password that was never changed
	c := must(cs.contractor)
	c.ForceChangePasswordNextSignIn = true
	c.LastPasswordChangeDateTime = now.Add(-26 * time.Hour)
	add(cs.contractor, 40*time.Minute, 50055, "The user must change the temporary password set by an administrator.", home, "")
	// typo in the user name
	add(cs.typo, 15*time.Minute, 50034, "", home, "")
	add(cs.typo, 14*time.Minute, 50034, "", home, "")
	// the leaver tries their old account
	add(cs.disabled, 3*time.Hour, 50057, "", home, "")
	// "I think I was hacked": successful sign-ins from abroad at night
	h := must(cs.hacked)
	add(cs.hacked, 9*time.Hour, 0, "MFA requirement satisfied by claim in the token", cs.abroad, "high")
	add(cs.hacked, 8*time.Hour, 0, "MFA requirement satisfied by claim in the token", cs.abroad, "high")
	h.Risk = &UserRisk{Level: "high", State: "atRisk", Detail: "none", LastUpdated: now.Add(-8 * time.Hour)}
	must(cs.remediated).Risk = &UserRisk{Level: "none", State: "remediated", Detail: "userPerformedSecuredPasswordChange", LastUpdated: now.Add(-12 * day)}
	// on holiday
	must(cs.away).AutomaticReplies = AutoReplies{
		Status: "alwaysEnabled", ExternalAudience: "contactsOnly",
		InternalReplyMessage: "I am on holiday until Monday. For anything urgent, please contact my manager.",
		ExternalReplyMessage: "Thank you for your message. I am out of the office until Monday.",
		ScheduledStart:       localTime(now.Truncate(time.Hour).Add(-2 * day)), ScheduledEnd: localTime(now.Truncate(time.Hour).Add(3 * day)),
	}

	slices.SortStableFunc(log, func(a, b signIn) int { return a.at.Compare(b.at) })
	for i := range log {
		log[i].id = guid(t.name, "signIn", strconv.Itoa(i), log[i].upn)
	}
	t.identity.signIns = log
	seedMethodPolicy(t)
}

// defaultMethods are the i-th user's methods: a password, the Authenticator
// app on the user's phone, the mobile number for most, a security key for
// directory role holders, an email for some and a software token for a few.
func defaultMethods(t *tenant, i int, u *user, now time.Time) []AuthMethod {
	created := u.LastPasswordChangeDateTime
	ms := []AuthMethod{{ID: passwordMethodID, Type: typePassword, CreatedDateTime: created}}
	phones := []string{"iPhone 15", "Pixel 8", "Galaxy S24", "iPhone 13"}
	ms = append(ms, AuthMethod{
		ID: guid(t.name, "authenticator", u.ID), Type: typeAuthenticator,
		DisplayName: phones[i%len(phones)], DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.2411.7589",
		CreatedDateTime: now.Add(-time.Duration(100+i*11) * 24 * time.Hour),
	})
	if i%4 != 3 {
		ms = append(ms, AuthMethod{ID: mobilePhoneID, Type: typePhone, PhoneType: "mobile", PhoneNumber: mobileNumber(t, i)})
	} else if len(u.BusinessPhones) > 0 {
		ms = append(ms, AuthMethod{ID: officePhoneID, Type: typePhone, PhoneType: "office", PhoneNumber: u.BusinessPhones[0]})
	}
	if len(u.DirectoryRoles) > 0 {
		ms = append(ms, AuthMethod{
			ID: guid(t.name, "fido2", u.ID), Type: typeFido2, DisplayName: "YubiKey", Model: "YubiKey 5 NFC",
			AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", CreatedDateTime: now.Add(-200 * 24 * time.Hour),
		})
	}
	if i%5 == 2 {
		ms = append(ms, AuthMethod{ID: emailMethodID, Type: typeEmail, EmailAddress: strings.ToLower(u.GivenName) + ".private@example.com"})
	}
	if i%6 == 4 {
		ms = append(ms, AuthMethod{ID: guid(t.name, "oath", u.ID), Type: typeSoftwareOath})
	}
	return ms
}

// lostPhoneMethods: the Authenticator app and the mobile number are both on
// the phone the user lost.
func lostPhoneMethods(t *tenant, u *user, now time.Time) []AuthMethod {
	return []AuthMethod{
		{ID: passwordMethodID, Type: typePassword, CreatedDateTime: u.LastPasswordChangeDateTime},
		{ID: guid(t.name, "authenticator", u.ID), Type: typeAuthenticator, DisplayName: "iPhone 12", DeviceTag: "SoftwareTokenActivated",
			PhoneAppVersion: "6.2409.6094", CreatedDateTime: now.Add(-400 * 24 * time.Hour)},
		{ID: mobilePhoneID, Type: typePhone, PhoneType: "mobile", PhoneNumber: mobileNumber(t, 90)},
	}
}

func mobileNumber(t *tenant, i int) string {
	if t.name == "fabrikam" {
		return fmt.Sprintf("+44 7700 900%03d", 100+i)
	}
	return fmt.Sprintf("+1 425 555 %04d", 200+i)
}
