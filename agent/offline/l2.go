package offline

// This file: the L2–L3 catalog (issue 18). A device's secrets (the
// BitLocker recovery key, the Windows LAPS password: approved first,
// delivered privately, never in the thread), device actions (a remote
// lock, a passcode removed, antivirus signatures refreshed), IT's account
// changes (sign-in blocked, a new manager), single sign-in methods (the
// registration status, one method removed, a phone set) and Identity
// Protection's risk (dismissed, confirmed compromised). What only Exchange
// Online does (shared mailboxes, forwarding, the address list) and what
// only on-premises Active Directory does (a synced account's password) is
// handed to a person with the reason; a license a group grants is offered
// as leaving the group.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Tool names of the L2–L3 catalog, as the model sees them.
const (
	toolBitLocker    = "device_bitlocker_key"
	toolLAPS         = "device_laps_password"
	toolLock         = "device_lock"
	toolPasscode     = "device_reset_passcode"
	toolSignatures   = "device_update_signatures"
	toolMFAStatus    = "user_mfa_registration"
	toolRemoveMethod = "user_remove_auth_method"
	toolSetPhone     = "user_set_phone_method"
	toolDismissRisk  = "user_dismiss_risk"
	toolConfirmRisk  = "user_confirm_compromised"
	toolBlock        = "user_block_sign_in"
	toolSetManager   = "user_set_manager"
)

// The patterns read the canonical form of a request (canon).
var (
	bitlockerPattern    = mustPattern(`\bbitlocker\b|\brecovery (key|screen|password)\b|\bwiederherstellungsschlussel\b|\bclave de recuperacion\b|\bcle de recuperation\b`)
	lapsPattern         = mustPattern(`\blaps\b|\blocal (admin|administrator|administrateur)( account)?('s)? password\b|\b(lokale[ns]? )?admin(istrator)?[- ]?(passwort|kennwort)\b`)
	lockPattern         = mustPattern(`\b(remote(ly)? )?lock\b.{0,40}\b(it|phone|iphone|ipad|device|tablet|mac|macbook|android|remotely)\b|\b(phone|iphone|ipad|device|tablet)\b.{0,40}\block\b|\bsperren\b|\bbloquear\b|\bverrouiller\b`)
	passcodePattern     = mustPattern(`\b(passcode|screen lock|sperrcode|entsperrcode|pin)\b`)
	passcodeVerb        = mustPattern(`\b(forgot|forgotten|reset|remove|clear|vergessen|olvide|oublie)\b`)
	signaturesPattern   = mustPattern(`\b(defender|antivirus|anti-virus|virus definitions?|virenschutz|signatures|definitions)\b`)
	mfaStatusPattern    = mustPattern(`\b(am i|is [^ ]+|are (they|we)) (registered|set up|enrolled)\b.{0,30}\b(mfa|multi factor|two factor|2fa)\b|\bmfa (registration|status)\b|\bregistration status\b|\bdefault (mfa |sign in )?method\b`)
	removeMethodPattern = mustPattern(`\b(remove|delete|drop)\b.{0,80}\b(sign in|authentication|mfa|security info) methods?\b|\b(remove|delete)\b.{0,40}\b(security key|yubikey|fido2?)\b`)
	setPhonePattern     = mustPattern(`\b(new|change|update|set)\b.{0,60}\bphone (number|for sign in)\b|\bphone number\b.{0,40}\b(to|is now|changed)\b`)
	phoneLiteral        = mustPattern(`\+\d{1,3}[ -]?\d[\d -]{5,}\d`)
	dismissRiskPattern  = mustPattern(`\b(dismiss|clear)\b.{0,40}\b(risk|risky|flag|alert)\b|\bfalse positive\b`)
	confirmRiskPattern  = mustPattern(`\b(confirm|mark)\b.{0,60}\b(compromised|hacked)\b`)
	blockPattern        = mustPattern(`\bblock\b.{0,20}\bsign ?ins?\b|\bblock\b.{0,20}\b(the |his |her |their )?(account|user)\b|\b(disable|deactivate)\b.{0,20}\b(the |his |her |their )?account\b`)
	managerPattern      = mustPattern(`\breports? to\b|\b(new|change|update|set)\b.{0,40}\bmanager\b|\bmanager\b.{0,20}\b(is now|should be)\b`)
	exchangePattern     = mustPattern(`\bshared mailbox(es)?\b|\bforward(ing)?\b.{0,40}\b(e-?mails?|mail|inbox|messages)\b|\b(e-?mails?|mail)\b.{0,40}\bforward(ed|ing)?\b|\b(global )?address (list|book)\b|\bsend as\b|\bsend on behalf\b|\bconvert\b.{0,40}\bmailbox\b`)
)

// l2Only returns the one intent a request of the L2 catalog asks for when
// what else it says is its context ("my laptop is stuck on the BitLocker
// recovery screen": not a locked account).
func l2Only(c string) (intent, bool) {
	switch {
	case exchangePattern.MatchString(c):
		return intentExchange, true
	}
	if it, ok := collabOnly(c); ok {
		return it, true
	}
	switch {
	case bitlockerPattern.MatchString(c):
		return intentBitLocker, true
	case lapsPattern.MatchString(c):
		return intentLAPS, true
	case passcodePattern.MatchString(c) && passcodeVerb.MatchString(c):
		return intentPasscode, true
	case signaturesPattern.MatchString(c):
		return intentSignatures, true
	case mfaStatusPattern.MatchString(c):
		return intentMFAStatus, true
	case confirmRiskPattern.MatchString(c):
		return intentConfirmRisk, true
	case dismissRiskPattern.MatchString(c):
		return intentDismissRisk, true
	case removeMethodPattern.MatchString(c):
		return intentRemoveMethod, true
	case setPhonePattern.MatchString(c):
		return intentSetPhone, true
	}
	return intentNone, false
}

// l2Intents adds the L2 intents that go with others (a lost phone locked).
func l2Intents(c string, add func(intent, bool)) {
	add(intentLock, lockPattern.MatchString(c))
	add(intentBlock, blockPattern.MatchString(c))
	add(intentSetManager, managerPattern.MatchString(c))
}

// l2Do serves a task of the L2 catalog; ok is false for another task.
func (s *state) l2Do(t task) (agent.Response, bool) {
	switch t.it {
	case intentExchange:
		return s.exchangeOnly(t), true
	case intentBitLocker:
		return s.deviceSecret(t, toolBitLocker), true
	case intentLAPS:
		return s.deviceSecret(t, toolLAPS), true
	case intentLock:
		return s.deviceAction(t, toolLock), true
	case intentPasscode:
		return s.deviceAction(t, toolPasscode), true
	case intentSignatures:
		return s.deviceAction(t, toolSignatures), true
	case intentMFAStatus:
		return s.mfaStatus(t), true
	case intentRemoveMethod:
		return s.removeMethod(t), true
	case intentSetPhone:
		return s.setPhone(t), true
	case intentDismissRisk:
		return s.userWrite(t, toolDismissRisk, "Done: I dismissed the sign-in risk of %s; Entra ID no longer treats the account as risky."), true
	case intentConfirmRisk:
		return s.userWrite(t, toolConfirmRisk, "Done: %s is marked as compromised in Entra ID; risk-based Conditional Access now acts on it. Reset the password and sign the account out everywhere next."), true
	case intentBlock:
		return s.userWrite(t, toolBlock, "Done: %s can no longer sign in. Sessions already open end when their tokens expire; sign the account out everywhere to end them now."), true
	case intentSetManager:
		return s.setManager(t), true
	}
	return agent.Response{}, false
}

// l2Verbs say what the L2 tasks do, for "I can only ... for your own
// account".
var l2Verbs = map[intent]string{
	intentBitLocker: "get BitLocker recovery keys", intentLAPS: "get local admin passwords", intentLock: "lock devices",
	intentPasscode: "remove device passcodes", intentSignatures: "update antivirus signatures", intentMFAStatus: "show MFA registration",
	intentRemoveMethod: "remove sign-in methods", intentSetPhone: "change sign-in phone numbers", intentDismissRisk: "dismiss sign-in risk",
	intentConfirmRisk: "mark accounts as compromised", intentBlock: "block sign-in", intentSetManager: "change managers",
}

// exchangeOnly hands over what only Exchange Online does: no tool here
// can, and trying something else would be wrong.
func (s *state) exchangeOnly(t task) agent.Response {
	return s.escalate("the request needs Exchange Online (shared mailbox permissions, forwarding, the address list or a mailbox conversion), which the tools cannot do: "+clip(t.text, 300),
		"That is set in Exchange Online, which I can't change from here. "+s.tr(msgHandOver))
}

// deviceSecret gets a device's BitLocker recovery key or LAPS password:
// the device is found in its user's devices; policy asks for approval; the
// secret goes to the requester privately, never into the thread.
func (s *state) deviceSecret(t task, tool string) agent.Response {
	what := "the BitLocker recovery key"
	if tool == toolLAPS {
		what = "the local administrator password"
	}
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("%s's laptop")
	}
	if !s.can(toolDevices) || !s.can(tool) {
		return s.escalate(fmt.Sprintf("%s asks for %s of a device of %s, which cannot be read here", s.self(), what, user),
			"I can't get "+what+" here. "+s.tr(msgHandOver))
	}
	r := s.callFor(toolDevices, user)
	if r == nil {
		return s.call(toolDevices, map[string]any{"user": user}, "")
	}
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks for %s of a device of %s", what, user), "look at the devices")
	}
	var v struct {
		Devices []device `json:"devices"`
	}
	json.Unmarshal(r.output, &v)
	var windows []device
	for _, d := range v.Devices {
		if d.OS == "Windows" {
			windows = append(windows, d)
		}
	}
	dev, ok := namedDevice(t.text, windows)
	if !ok && len(windows) == 1 && !deviceNamed(t.text) {
		dev, ok = windows[0], true
	}
	switch {
	case !ok && deviceNamed(t.text):
		return s.decline(fmt.Sprintf("The device you name is not a Windows device of %s, so I can't get %s of it.", s.whose(user), what))
	case !ok && len(windows) == 0:
		return say(fmt.Sprintf("I don't see a Windows device of %s managed by Intune; Entra ID keeps %s only for those.", user, what))
	case !ok:
		var names []string
		for _, d := range windows {
			names = append(names, fmt.Sprintf("%q", d.Name))
		}
		return s.ask(fmt.Sprintf("Which device do you mean? I see: %s.", strings.Join(names, ", ")))
	}
	if x := s.getDevice(tool, dev.ID); x != nil {
		done := fmt.Sprintf("I sent %s of %q to you privately; it is not shown here.", what, dev.Name)
		if tool == toolBitLocker {
			var out struct {
				KeyID string `json:"keyId"`
			}
			if json.Unmarshal(x.output, &out) == nil && len(out.KeyID) >= 8 {
				done += fmt.Sprintf(" Check that the Key ID on the recovery screen starts with %s.", strings.ToUpper(out.KeyID[:8]))
			}
		}
		return say(s.outcome(x, done))
	}
	return s.call(tool, map[string]any{"device": dev.ID}, "")
}

// getDevice returns the latest call of tool on the device id, or nil.
func (s *state) getDevice(tool, id string) *result {
	for i := len(s.results) - 1; i >= 0; i-- {
		x := s.results[i]
		if d, _ := x.args["device"].(string); x.name == tool && d == id {
			return x
		}
	}
	return nil
}

// mfaStatus says whether a user is registered for MFA, and their default
// method.
func (s *state) mfaStatus(t task) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("is %s registered for MFA")
	}
	if !s.can(toolMFAStatus) {
		return s.mfa(t)
	}
	r := s.callFor(toolMFAStatus, user)
	if r == nil {
		return s.call(toolMFAStatus, map[string]any{"user": user}, "")
	}
	if !r.ok {
		return s.cannotRead(r, "the user asks for the MFA registration of "+user, "read the MFA registration")
	}
	var v struct {
		Available  *bool    `json:"registrationAvailable"`
		Registered bool     `json:"isMfaRegistered"`
		Capable    bool     `json:"isMfaCapable"`
		Default    string   `json:"defaultMfaMethod"`
		Methods    []string `json:"methodsRegistered"`
		Reason     string   `json:"reason"`
	}
	json.Unmarshal(r.output, &v)
	whose := s.whose(user)
	if v.Available != nil && !*v.Available {
		return say(fmt.Sprintf("I can't read the MFA registration report here (%s).", strings.TrimSuffix(v.Reason, ".")))
	}
	if !v.Registered {
		return say(fmt.Sprintf("MFA is not registered on %s account yet: at the next sign-in Microsoft asks to set it up (https://aka.ms/mysecurityinfo).", whose))
	}
	out := fmt.Sprintf("Yes: %s account is registered for MFA", whose)
	if v.Default != "" && v.Default != "none" {
		out += fmt.Sprintf("; the default method is %s", methodName(v.Default))
	}
	if len(v.Methods) > 0 {
		var ms []string
		for _, m := range v.Methods {
			ms = append(ms, methodName(m))
		}
		out += fmt.Sprintf(" (registered: %s)", strings.Join(ms, ", "))
	}
	return say(out + ".")
}

// methodName is a method of the registration report as people say it.
func methodName(m string) string {
	switch m {
	case "push", "microsoftAuthenticatorPush":
		return "the Authenticator app (approve a notification)"
	case "oath", "softwareOneTimePasscode", "appCode":
		return "an authenticator code"
	case "sms", "mobilePhone", "voiceMobile":
		return "the mobile phone"
	case "voiceOffice", "officePhone":
		return "the office phone"
	case "fido2", "fido2SecurityKey":
		return "a security key"
	}
	return m
}

// methodOut is a sign-in method as user.auth_methods lists it.
type methodOut struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	PhoneType   string `json:"phoneType"`
	PhoneNumber string `json:"phoneNumber"`
	DeviceName  string `json:"deviceName"`
}

// removeMethod removes the one method the requester describes (a phone
// number, the Authenticator, a security key), found in the user's methods;
// when the words fit none or several, it asks.
func (s *state) removeMethod(t task) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("remove a sign-in method of %s")
	}
	if !s.can(toolAuthMethods) || !s.can(toolRemoveMethod) {
		return s.decline("I can't change sign-in methods here.")
	}
	r := s.callFor(toolAuthMethods, user)
	if r == nil {
		return s.call(toolAuthMethods, map[string]any{"user": user}, "")
	}
	if !r.ok {
		return s.cannotRead(r, "the user asks to remove a sign-in method of "+user, "read the sign-in methods")
	}
	if x := s.callFor(toolRemoveMethod, user); x != nil {
		return s.told(x, fmt.Sprintf("Done: that sign-in method is removed from %s account.", s.whose(user)))
	}
	var v struct {
		Methods []methodOut `json:"methods"`
	}
	json.Unmarshal(r.output, &v)
	c := s.canon(t.text)
	var fit []methodOut
	for _, m := range v.Methods {
		low := strings.ToLower(m.Type)
		switch {
		case strings.Contains(low, "password") || m.ID == "":
		case strings.Contains(low, "phone"):
			if strings.Contains(c, "phone") || strings.Contains(c, "number") {
				kind := m.PhoneType
				if kind == "" || kind == "mobile" && (strings.Contains(c, "mobile") || strings.Contains(c, "phone")) ||
					kind == "office" && strings.Contains(c, "office") || kind == "alternateMobile" && strings.Contains(c, "alternate") {
					fit = append(fit, m)
				}
			}
		case strings.Contains(low, "authenticator"):
			if strings.Contains(c, "authenticator") && !strings.Contains(c, "only uses the authenticator") {
				fit = append(fit, m)
			}
		case strings.Contains(low, "fido"):
			if strings.Contains(c, "security key") || strings.Contains(c, "yubikey") || strings.Contains(c, "fido") {
				fit = append(fit, m)
			}
		}
	}
	// "the office phone": an office phone of the kinds that fit.
	if len(fit) > 1 {
		var byKind []methodOut
		for _, m := range fit {
			if m.PhoneType != "" && strings.Contains(c, strings.ToLower(m.PhoneType)) {
				byKind = append(byKind, m)
			}
		}
		if len(byKind) == 1 {
			fit = byKind
		}
	}
	if len(fit) != 1 {
		return s.ask(fmt.Sprintf("Which method do you mean? %s", methodsWords(r, s.whose(user))))
	}
	return s.call(toolRemoveMethod, map[string]any{"user": user, "method_id": fit[0].ID}, "")
}

// setPhone sets the phone number the requester writes as the user's
// mobile (or office, or alternate mobile) phone for sign-in.
func (s *state) setPhone(t task) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("change the sign-in phone of %s")
	}
	if !s.can(toolSetPhone) {
		return s.decline("I can't change sign-in phone numbers here.")
	}
	if x := s.callFor(toolSetPhone, user); x != nil {
		return s.told(x, fmt.Sprintf("Done: the phone for sign-in on %s account is changed.", s.whose(user)))
	}
	number := strings.TrimSpace(phoneLiteral.FindString(t.text + " " + s.text))
	kind := "mobile"
	switch c := s.canon(t.text); {
	case strings.Contains(c, "office"):
		kind = "office"
	case strings.Contains(c, "alternate"):
		kind = "alternateMobile"
	}
	return s.call(toolSetPhone, map[string]any{"user": user, "phone_number": number, "phone_type": kind}, "")
}

// setManager sets the manager the request names: the other address.
func (s *state) setManager(t task) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("change the manager of %s")
	}
	if x := s.callFor(toolSetManager, user); x != nil {
		return s.told(x, fmt.Sprintf("Done: %s manager is changed.", s.whose(user)))
	}
	manager := ""
	for _, u := range upns(t.text + " " + s.text) {
		if !strings.EqualFold(u, user) {
			manager = u
			break
		}
	}
	if manager == "" {
		return s.ask("Who is the new manager? Please give me their email address.")
	}
	if !s.can(toolSetManager) {
		return s.decline("I can't change managers here.")
	}
	return s.call(toolSetManager, map[string]any{"user": user, "manager": manager}, "")
}

// l2User is the user a task is about; for IT staff, a clause that names
// no one ("Please dismiss the risk") is about the person the request names.
func (s *state) l2User(t task) string {
	if t.user == "" && t.named == "" && s.tech() && !s.msp() {
		if u := s.someone(unquoted(s.text)); u != "" {
			return u
		}
	}
	return s.userOf(t)
}

// userWrite proposes one write on a user and says how it went.
func (s *state) userWrite(t task, tool, done string) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("%s")
	}
	if !s.can(tool) {
		return s.decline("I can't do that here. " + s.support())
	}
	if tool == toolDismissRisk && s.can(toolRisk) && s.callFor(toolRisk, user) == nil {
		return s.call(toolRisk, map[string]any{"user": user}, "Let me look at the risk first.")
	}
	if x := s.callFor(tool, user); x != nil {
		if r, ok := s.onPremises(x, user); ok {
			return r
		}
		return s.told(x, fmt.Sprintf(done, user))
	}
	return s.call(tool, map[string]any{"user": user}, "")
}

// onPremises hands over a write Microsoft 365 refused because the account
// is synced from on-premises Active Directory: it is changed there.
func (s *state) onPremises(r *result, user string) (agent.Response, bool) {
	if r == nil || r.ok || r.err == nil || !strings.Contains(strings.ToLower(r.err.Message), "on-premises") {
		return agent.Response{}, false
	}
	why := strings.TrimSuffix(strings.TrimSpace(r.err.Message), ".")
	return s.escalate(fmt.Sprintf("%s is synced from on-premises Active Directory: %s", user, clip(why, 300)),
		fmt.Sprintf("%s account is managed in the on-premises Active Directory, so this has to be done there, not in Microsoft 365. %s", capitalize(s.whose(user)), s.tr(msgHandOver))), true
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// groupOfLicense returns the object id of the group a license.remove
// error says grants the license, "" when it names none.
func groupOfLicense(r *result) string {
	if r == nil || r.ok || r.err == nil || !strings.Contains(r.err.Message, "through the group") {
		return ""
	}
	return guidPattern.FindString(r.err.Message)
}

var guidPattern = mustPattern(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)

// told says how a write went; one that policy refused is a refusal.
func (s *state) told(x *result, done string) agent.Response {
	if x.effect == string(tierzero.EffectDeny) {
		return s.decline(s.outcome(x, done))
	}
	return say(s.outcome(x, done))
}
