package offline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Tool names, as the model sees them.
const (
	toolSignIns     = "user_signins"
	toolRisk        = "user_risk"
	toolAuthMethods = "user_auth_methods"
	toolReset       = "user_reset_password"
	toolRevoke      = "user_revoke_sessions"
	toolTAP         = "user_issue_tap"
	toolAutoReply   = "user_set_auto_reply"
	toolGroupFind   = "group_find"
	toolAddMember   = "group_add_member"
	toolLicenses    = "license_available"
	toolAssign      = "license_assign"
	toolDevices     = "user_devices"
	toolCompliance  = "device_compliance"
	toolSync        = "device_sync"
)

const capabilities = "I can help with a forgotten password, a locked account, a new phone (MFA), joining a group, getting a license, " +
	"a device that is not compliant, an account you think was hacked, and your out-of-office reply."

// respond decides the next step of the request.
func (s *state) respond() agent.Response {
	it := s.classify(s.text)
	if it == intentNone || it == intentGreeting || it == intentThanks {
		switch {
		case strings.Contains(s.prev, autoReplyQuestion):
			return s.autoReply(s.text)
		case strings.Contains(s.prev, groupQuestion):
			return s.group(cleanGroupName(s.text))
		case strings.Contains(s.prev, licenseQuestion):
			return s.license(s.text)
		}
	}
	switch it {
	case intentHacked:
		return s.hacked()
	case intentAutoReply:
		return s.autoReply("")
	case intentGroup:
		name, subject := parseGroup(s.text)
		if s.msp() {
			name, _ = parseGroup(s.withoutTenants(s.text))
			return s.group(name)
		}
		if subject != "" && !s.isSelf(subject) {
			return s.decline("I can only add you yourself to a group. For someone else, please ask the group's owner or your IT support.")
		}
		return s.group(name)
	case intentLicense:
		if s.msp() {
			return s.license(parseLicense(s.withoutTenants(upnPattern.ReplaceAllString(s.text, " "))))
		}
		return s.license(parseLicense(s.text))
	case intentCompliance:
		return s.compliance()
	case intentMFA:
		return s.mfa()
	case intentLocked:
		return s.locked()
	case intentPassword:
		return s.password()
	case intentGreeting:
		return say("Hi! " + capabilities + ` For example, say "I forgot my password". What do you need?`)
	case intentThanks:
		return say("You're welcome! Anything else, just ask.")
	}
	if bareAnswer.MatchString(s.text) {
		// A yes or no with nothing waiting for it (a plan that already ran,
		// or was cancelled) is no request to hand to a person.
		return say("There is nothing waiting for your answer right now. What do you need?")
	}
	return s.escalate("the offline assistant does not handle this request: "+clip(s.text, 300),
		"I'm running without a language model, and I can't handle this request myself. "+capabilities)
}

// signIns summarizes a user.signins result.
type signIns struct {
	found     bool // the result was read
	exists    bool
	total     int
	failures  map[string]int // meaning -> count
	lockedOut bool           // smart lockout (50053) among the recent ones
	disabled  bool           // the latest failure says the account is disabled
	latest    string         // time of the latest sign-in
	latestOK  bool
	countries []string
}

func readSignIns(r *result) signIns {
	var out signIns
	if r == nil || !r.ok {
		return out
	}
	var v struct {
		UserExists *bool `json:"userExists"`
		SignIns    []struct {
			Time      string `json:"time"`
			ErrorCode int    `json:"errorCode"`
			Meaning   string `json:"meaning"`
			Country   string `json:"country"`
		} `json:"signIns"`
	}
	if json.Unmarshal(r.output, &v) != nil {
		return out
	}
	out.found, out.exists, out.total, out.failures = true, v.UserExists == nil || *v.UserExists, len(v.SignIns), map[string]int{}
	seen := map[string]bool{}
	for i, si := range v.SignIns {
		if i == 0 {
			out.latest, out.latestOK = si.Time, si.ErrorCode == 0
			out.disabled = si.ErrorCode == 50057
		}
		if si.ErrorCode == 50053 && i < 5 {
			out.lockedOut = true
		}
		if si.ErrorCode != 0 && si.ErrorCode != 50140 {
			m := si.Meaning
			if m == "" || m == "see failureReason" {
				m = fmt.Sprintf("error %d", si.ErrorCode)
			}
			if i := strings.IndexAny(m, ":("); i > 0 {
				m = strings.TrimSpace(m[:i])
			}
			out.failures[m]++
		}
		if si.Country != "" && !seen[si.Country] {
			seen[si.Country] = true
			out.countries = append(out.countries, si.Country)
		}
	}
	return out
}

// words says what the sign-ins show, about whose ("your" or "x's").
func (si signIns) words(whose string) string {
	switch {
	case !si.found:
		return ""
	case !si.exists:
		return "I found no account with that user name: please check the spelling."
	case si.total == 0:
		return fmt.Sprintf("I see no recent sign-ins on %s account.", whose)
	}
	n := 0
	var kinds []string
	for m, c := range si.failures {
		n += c
		kinds = append(kinds, fmt.Sprintf("%s (%d)", m, c))
	}
	sort.Strings(kinds)
	last := "succeeded"
	if !si.latestOK {
		last = "failed"
	}
	if n == 0 {
		return fmt.Sprintf("I checked %s recent sign-ins: all %d succeeded, the latest at %s.", whose, si.total, si.latest)
	}
	return fmt.Sprintf("I checked %s recent sign-ins: %d of the last %d failed: %s. The latest, at %s, %s.",
		whose, n, si.total, strings.Join(kinds, ", "), si.latest, last)
}

func (s *state) whose(user string) string {
	if s.isSelf(user) {
		return "your"
	}
	return user + "'s"
}

// password: read the sign-ins (of one's own account, or as a technician),
// then reset.
func (s *state) password() agent.Response {
	target, ok := s.target()
	if !ok {
		return s.askWhom("reset the password of %s")
	}
	if (s.isSelf(target) || s.tech()) && s.can(toolSignIns) && !s.tried(toolSignIns) {
		return s.call(toolSignIns, map[string]any{"user": target, "top": 10}, "Let me look at the recent sign-ins first.")
	}
	si := readSignIns(s.get(toolSignIns))
	found := si.words(s.whose(target))
	if si.disabled {
		return s.escalate("the account "+target+" is disabled; a password reset would not help",
			found+" The account is disabled, so a new password would not help.")
	}
	return s.reset(target, found)
}

// reset proposes the password reset, or explains how it went.
func (s *state) reset(target, found string) agent.Response {
	if r := s.get(toolReset); r != nil {
		return say(found, outcome(r, fmt.Sprintf("Done: I reset the password of %s. The temporary password was delivered to you privately; you will be asked to choose a new one when you sign in.", target)))
	}
	if !s.can(toolReset) {
		return s.decline(found, "I can't reset passwords here. Please contact your IT support.")
	}
	return s.call(toolReset, map[string]any{"user": target}, found)
}

// locked: read the sign-ins; a smart lockout passes by itself, a disabled
// account needs a person, anything else gets a new password.
func (s *state) locked() agent.Response {
	target, ok := s.target()
	if !ok {
		return s.askWhom("reset the password of %s")
	}
	if (s.isSelf(target) || s.tech()) && s.can(toolSignIns) && !s.tried(toolSignIns) {
		return s.call(toolSignIns, map[string]any{"user": target, "top": 10}, "Let me look at the recent sign-ins first.")
	}
	si := readSignIns(s.get(toolSignIns))
	found := si.words(s.whose(target))
	switch {
	case si.disabled:
		return s.escalate("the account "+target+" is disabled", found+" The account is disabled; only your IT support can enable it again.")
	case si.lockedOut && !forgotPattern.MatchString(s.text) && !s.tried(toolReset):
		return say(found, "The account is temporarily locked by smart lockout after too many wrong passwords. It unlocks by itself, usually within a few minutes: "+
			"please wait, then sign in carefully with the current password. If you don't remember the password, tell me \"reset my password\".")
	}
	return s.reset(target, found)
}

// mfa: read the registered methods, then issue a Temporary Access Pass
// (policy asks the manager first).
func (s *state) mfa() agent.Response {
	target := s.self()
	if m := upnPattern.FindString(s.text); m != "" && s.tech() {
		target = m
	}
	if s.msp() {
		if target = s.someone(s.said()); target == "" {
			return s.askWhom("%s has a new phone and needs to set up MFA again")
		}
	}
	if s.can(toolAuthMethods) && !s.tried(toolAuthMethods) {
		return s.call(toolAuthMethods, map[string]any{"user": target}, "Let me see which sign-in methods are registered.")
	}
	found := methodsWords(s.get(toolAuthMethods), s.whose(target))
	if r := s.get(toolTAP); r != nil {
		return say(found, outcome(r, "I issued a one-time Temporary Access Pass and delivered it to you privately. Within the hour, sign in with it at https://aka.ms/mysecurityinfo and register your new phone."))
	}
	if !s.can(toolTAP) {
		return s.escalate("the user needs a Temporary Access Pass to register a new phone, and the tool is not available to them",
			found+" Setting up a new phone needs a Temporary Access Pass, which I can't issue here.")
	}
	return s.call(toolTAP, map[string]any{"user": target}, found+" A Temporary Access Pass lets you sign in once and register the new phone.")
}

func methodsWords(r *result, whose string) string {
	if r == nil || !r.ok {
		return ""
	}
	var v struct {
		Methods []struct {
			Type        string `json:"type"`
			DeviceName  string `json:"deviceName"`
			PhoneNumber string `json:"phoneNumber"`
		} `json:"methods"`
	}
	if json.Unmarshal(r.output, &v) != nil {
		return ""
	}
	var parts []string
	for _, m := range v.Methods {
		switch {
		case m.Type == "password":
			continue
		case m.DeviceName != "":
			parts = append(parts, fmt.Sprintf("%s on %q", m.Type, clip(m.DeviceName, 40)))
		case m.PhoneNumber != "":
			parts = append(parts, fmt.Sprintf("phone %s", m.PhoneNumber))
		default:
			parts = append(parts, m.Type)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("No MFA method is registered on %s account yet.", whose)
	}
	return fmt.Sprintf("These MFA methods are registered on %s account: %s.", whose, strings.Join(parts, ", "))
}

// hacked: read the sign-ins and the risk, sign the user out everywhere,
// then hand over to a person.
func (s *state) hacked() agent.Response {
	if s.msp() {
		return s.hackedAcross()
	}
	me := s.self()
	if s.can(toolSignIns) && !s.tried(toolSignIns) {
		return s.call(toolSignIns, map[string]any{"user": me, "top": 20}, "Let me check your recent sign-ins and risk.")
	}
	if s.can(toolRisk) && !s.tried(toolRisk) {
		return s.call(toolRisk, map[string]any{"user": me}, "")
	}
	if s.can(toolRevoke) && !s.tried(toolRevoke) {
		return s.call(toolRevoke, map[string]any{"user": me}, "To be safe, I'm signing you out everywhere.")
	}
	si := readSignIns(s.get(toolSignIns))
	found := []string{si.words("your")}
	if len(si.countries) > 0 {
		found = append(found, "They came from: "+strings.Join(si.countries, ", ")+".")
	}
	risk := "unknown"
	if r := s.get(toolRisk); r != nil && r.ok {
		var v struct{ RiskLevel, RiskState string }
		if json.Unmarshal(r.output, &v) == nil && v.RiskLevel != "" {
			risk = v.RiskLevel
			found = append(found, fmt.Sprintf("Microsoft rates your account's risk as %s.", v.RiskLevel))
		}
	}
	revoked := "no"
	if r := s.get(toolRevoke); r != nil {
		found = append(found, outcome(r, "I signed you out of every session: anyone using your account has to sign in again."))
		if r.ok {
			revoked = "yes"
		}
	}
	found = append(found, "Change your password as soon as you can, and don't approve sign-in requests you didn't start.")
	return s.escalate(fmt.Sprintf("%s reports a possibly compromised account; risk level %s; sessions revoked: %s", me, risk, revoked),
		strings.Join(found, " "))
}

// hackedAcross: an MSP technician reports accounts in client tenants as
// compromised, or asks to sign users out everywhere. For every user named
// (up to maxTargets), each in its own tenant, it reads the sign-ins of all
// at once, then the risk of all, signs them all out everywhere, then hands
// over to a person with what it found for each.
func (s *state) hackedAcross() agent.Response {
	var named []string
	for _, u := range upns(s.said()) {
		if !s.isSelf(u) {
			named = append(named, u)
		}
	}
	if len(named) == 0 {
		return s.askWhom("I think %s was hacked")
	}
	targets := named[:min(len(named), maxTargets)]
	steps := []struct {
		name, text string
		args       func(user string) map[string]any
	}{
		{toolSignIns, "Let me check the recent sign-ins and risk of " + list(targets) + ".", func(u string) map[string]any { return map[string]any{"user": u, "top": 20} }},
		{toolRisk, "", func(u string) map[string]any { return map[string]any{"user": u} }},
		{toolRevoke, "To be safe, I'm signing " + list(targets) + " out everywhere.", func(u string) map[string]any { return map[string]any{"user": u} }},
	}
	for _, st := range steps {
		if !s.can(st.name) {
			continue
		}
		var calls []tierzero.ToolCall
		var unknown []string
		for _, u := range targets {
			t, ok := s.tenantOf(st.name, u)
			switch {
			case !ok:
				unknown = append(unknown, u)
				continue
			case s.getFor(st.name, u, t) != nil:
				continue
			}
			args := st.args(u)
			if t != "" {
				args["tenant"] = t
			}
			c, _ := s.toolCall(len(calls), st.name, args)
			calls = append(calls, c)
		}
		if len(unknown) > 0 {
			return s.noTenant(s.askTenant(unknown...))
		}
		if len(calls) > 0 {
			return agent.Response{Text: st.text, ToolCalls: calls}
		}
	}
	var found, reasons []string
	for _, u := range targets {
		get := func(name string) *result {
			t, _ := s.tenantOf(name, u)
			return s.getFor(name, u, t)
		}
		tenant, _ := s.tenantOf(toolSignIns, u)
		in := ""
		if tenant != "" {
			in = " in " + tenant
		}
		si := readSignIns(get(toolSignIns))
		part := []string{u + in + ":", si.words(u + "'s")}
		if len(si.countries) > 0 {
			part = append(part, "They came from: "+strings.Join(si.countries, ", ")+".")
		}
		risk := "unknown"
		if r := get(toolRisk); r != nil && r.ok {
			var v struct{ RiskLevel, RiskState string }
			if json.Unmarshal(r.output, &v) == nil && v.RiskLevel != "" {
				risk = v.RiskLevel
				part = append(part, fmt.Sprintf("Microsoft rates the account's risk as %s.", v.RiskLevel))
			}
		}
		revoked := "no"
		if r := get(toolRevoke); r != nil {
			part = append(part, outcome(r, fmt.Sprintf("I signed %s out of every session: anyone using the account has to sign in again.", u)))
			if r.ok {
				revoked = "yes"
			}
		}
		found = append(found, strings.Join(nonEmpty(part), " "))
		reasons = append(reasons, fmt.Sprintf("%s%s (risk level %s; sessions revoked: %s)", u, in, risk, revoked))
	}
	advice := "Have them change their password as soon as they can, and not approve sign-in requests they didn't start."
	what := "a possibly compromised account"
	if len(targets) > 1 {
		advice = "Have each of them change their password as soon as they can, and not approve sign-in requests they didn't start."
		what = "possibly compromised accounts"
	}
	found = append(found, advice)
	if len(named) > len(targets) {
		found = append(found, fmt.Sprintf("You named %d users; I handled the first %d. Please send the others in another message.", len(named), len(targets)))
	}
	return s.escalate(fmt.Sprintf("%s reports %s: %s", s.self(), what, strings.Join(reasons, "; ")),
		strings.Join(found, "\n"))
}

// tenantOf is the tenant of a call of tool for user: "" when the tool
// takes none; ok is false when it cannot be told.
func (s *state) tenantOf(tool, user string) (string, bool) {
	if _, ok := s.tenants[tool]; !ok {
		return "", true
	}
	return s.tenantFor(tool, user)
}

// group: find the group, check it can be joined, then add the requester
// (across tenants, the user the request names).
func (s *state) group(name string) agent.Response {
	member := s.self()
	if s.msp() {
		if member = s.someone(s.said()); member == "" {
			return s.askWhom("add %s to the Marketing Team group")
		}
	}
	if name == "" {
		if s.msp() {
			return s.ask(groupQuestion + " Tell me its name, for example: add " + member + " to the Marketing Team group.")
		}
		return s.ask(groupQuestion + " Tell me its name, for example: add me to the Marketing Team group.")
	}
	if !s.can(toolGroupFind) {
		return s.escalate("the user asks to join the group "+clip(name, 120)+", and groups cannot be searched here",
			"I can't look up groups here.")
	}
	if !s.tried(toolGroupFind) {
		return s.call(toolGroupFind, map[string]any{"prefix": clip(name, 120)}, "")
	}
	r := s.get(toolGroupFind)
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks to join the group %q", clip(name, 120)), "look up groups")
	}
	var v struct {
		Groups []struct {
			ID             string `json:"id"`
			DisplayName    string `json:"displayName"`
			Kind           string `json:"kind"`
			MembershipType string `json:"membershipType"`
		} `json:"groups"`
	}
	json.Unmarshal(r.output, &v)
	pick := -1
	for i, g := range v.Groups {
		if strings.EqualFold(g.DisplayName, name) {
			pick = i
		}
	}
	switch {
	case pick < 0 && len(v.Groups) == 1:
		pick = 0
	case pick < 0 && len(v.Groups) == 0:
		return say(fmt.Sprintf("I couldn't find a group whose name starts with %q. Please check the name.", name))
	case pick < 0:
		var names []string
		for _, g := range v.Groups[:min(len(v.Groups), 10)] {
			names = append(names, fmt.Sprintf("%q", g.DisplayName))
		}
		return s.ask(groupQuestion + " I found: " + strings.Join(names, ", ") + ".")
	}
	g := v.Groups[pick]
	switch {
	case g.MembershipType == "dynamic":
		return s.decline(fmt.Sprintf("Membership of %q is automatic (a rule decides who is in it), so nobody can be added by hand. Please contact your IT support if you think you should be in it.", g.DisplayName))
	case g.Kind == "distribution" || g.Kind == "mailEnabledSecurity":
		return s.decline(fmt.Sprintf("%q is managed in Exchange, which I can't change. Please ask its owner or your IT support.", g.DisplayName))
	}
	if r := s.get(toolAddMember); r != nil {
		var out struct{ AlreadyMember bool }
		json.Unmarshal(r.output, &out)
		done := fmt.Sprintf("Done: you are now a member of %q. It can take a few minutes before you see it everywhere.", g.DisplayName)
		if out.AlreadyMember {
			done = fmt.Sprintf("You are already a member of %q. If you can't see it, sign out and in again.", g.DisplayName)
		}
		if !s.isSelf(member) {
			done = fmt.Sprintf("Done: %s is now a member of %q. It can take a few minutes before it shows everywhere.", member, g.DisplayName)
			if out.AlreadyMember {
				done = fmt.Sprintf("%s is already a member of %q.", member, g.DisplayName)
			}
		}
		return say(outcome(r, done))
	}
	if !s.can(toolAddMember) {
		return s.escalate(fmt.Sprintf("the user asks to join the group %q (%s), which they cannot do themselves", g.DisplayName, g.ID),
			fmt.Sprintf("I found %q, but I can't add members here.", g.DisplayName))
	}
	return s.call(toolAddMember, map[string]any{"group": g.ID, "user": member}, fmt.Sprintf("I found %q.", g.DisplayName))
}

// cannotRead hands a request to a person when the read it needs failed or
// was refused: what the user asked is legitimate, someone must do it.
func (s *state) cannotRead(r *result, asks, what string) agent.Response {
	why := "it failed"
	if r.err != nil {
		why = strings.TrimPrefix(strings.TrimSuffix(r.err.Message, "."), "denied by policy: ")
	}
	return s.escalate(fmt.Sprintf("%s, and the bot could not %s: %s", asks, what, why),
		fmt.Sprintf("I couldn't %s (%s), so a person needs to take this.", what, why))
}

// skuNames are the names people use for common license SKUs.
var skuNames = map[string]string{
	"ENTERPRISEPACK":           "Office 365 E3",
	"ENTERPRISEPREMIUM":        "Office 365 E5",
	"STANDARDPACK":             "Office 365 E1",
	"SPE_E3":                   "Microsoft 365 E3",
	"SPE_E5":                   "Microsoft 365 E5",
	"SPB":                      "Microsoft 365 Business Premium",
	"O365_BUSINESS_PREMIUM":    "Microsoft 365 Business Standard",
	"O365_BUSINESS_ESSENTIALS": "Microsoft 365 Business Basic",
	"EMS":                      "Enterprise Mobility + Security E3",
	"POWER_BI_PRO":             "Power BI Pro",
	"VISIOCLIENT":              "Visio Plan 2",
	"PROJECTPROFESSIONAL":      "Project Plan 3",
	"EXCHANGESTANDARD":         "Exchange Online Plan 1",
}

type sku struct {
	Part string `json:"skuPartNumber"`
	Free int    `json:"free"`
}

func (k sku) label() string {
	if n := skuNames[k.Part]; n != "" {
		return n + " (" + k.Part + ")"
	}
	return k.Part
}

func norm(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// matchSKUs returns the subscriptions whose part number or common name
// matches what the user wrote.
func matchSKUs(name string, skus []sku) []sku {
	n := norm(name)
	if len(n) < 2 {
		return nil
	}
	var exact, partial []sku
	for _, k := range skus {
		part, friendly := norm(k.Part), norm(skuNames[k.Part])
		switch {
		case n == part || n == friendly:
			exact = append(exact, k)
		case strings.Contains(part, n) || (friendly != "" && strings.Contains(friendly, n)):
			partial = append(partial, k)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return partial
}

// license: list the subscriptions, find the one asked for, check a unit is
// free, then assign it to the requester.
func (s *state) license(name string) agent.Response {
	name = strings.TrimSpace(name)
	user := s.self()
	if s.msp() {
		if user = s.someone(s.said()); user == "" {
			return s.askWhom("assign a Power BI Pro license to %s")
		}
	}
	if name == "" {
		if s.msp() {
			return s.ask(licenseQuestion + " Tell me the product, for example: assign a Power BI Pro license to " + user + ".")
		}
		return s.ask(licenseQuestion + " Tell me the product, for example: I need a Power BI Pro license.")
	}
	if !s.can(toolLicenses) {
		return s.escalate("the user asks for a "+clip(name, 80)+" license, and licenses cannot be read here", "I can't look up licenses here.")
	}
	if !s.tried(toolLicenses) {
		return s.call(toolLicenses, map[string]any{}, "")
	}
	r := s.get(toolLicenses)
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks for a %q license", clip(name, 80)), "look up licenses")
	}
	var v struct {
		SKUs []sku `json:"skus"`
	}
	json.Unmarshal(r.output, &v)
	matches := matchSKUs(name, v.SKUs)
	var labels []string
	for _, k := range v.SKUs {
		labels = append(labels, k.label())
	}
	switch {
	case len(matches) == 0:
		return s.ask(fmt.Sprintf("I couldn't find a license matching %q. This company has: %s. Which one do you need?", clip(name, 80), strings.Join(labels, ", ")))
	case len(matches) > 1:
		var ls []string
		for _, k := range matches {
			ls = append(ls, k.label())
		}
		return s.ask(licenseQuestion + " Several match: " + strings.Join(ls, ", ") + ".")
	}
	k := matches[0]
	if r := s.get(toolAssign); r != nil {
		var out struct{ AlreadyAssigned bool }
		json.Unmarshal(r.output, &out)
		done := fmt.Sprintf("Done: you now have %s. It can take up to an hour before the apps notice.", k.label())
		if out.AlreadyAssigned {
			done = fmt.Sprintf("You already have %s.", k.label())
		}
		if !s.isSelf(user) {
			done = fmt.Sprintf("Done: %s now has %s. It can take up to an hour before the apps notice.", user, k.label())
			if out.AlreadyAssigned {
				done = fmt.Sprintf("%s already has %s.", user, k.label())
			}
		}
		return say(outcome(r, done))
	}
	if k.Free <= 0 {
		return s.escalate(fmt.Sprintf("the user needs a %s license and none is free: one must be bought or freed", k.Part),
			fmt.Sprintf("Every %s license is in use, so I can't assign one now.", k.label()))
	}
	if !s.can(toolAssign) {
		return s.escalate(fmt.Sprintf("the user asks for a %s license (%d free), which they cannot assign themselves", k.Part, k.Free),
			fmt.Sprintf("%s has free licenses, but I can't assign them here.", k.label()))
	}
	return s.call(toolAssign, map[string]any{"user": user, "sku": k.Part}, fmt.Sprintf("%s has %d free license(s).", k.label(), k.Free))
}

type device struct {
	ID         string `json:"id"`
	Name       string `json:"deviceName"`
	OS         string `json:"operatingSystem"`
	Compliance string `json:"complianceState"`
}

// compliance: list the requester's devices, explain why the one in
// question fails, and ask it to check in when that can fix it.
func (s *state) compliance() agent.Response {
	if !s.can(toolDevices) {
		return s.escalate("the user reports a device that is not compliant, and devices cannot be read here", "I can't look at devices here.")
	}
	user := s.self()
	if s.msp() {
		if user = s.someone(s.said()); user == "" {
			return s.askWhom("%s's laptop is not compliant")
		}
	}
	if !s.tried(toolDevices) {
		return s.call(toolDevices, map[string]any{"user": user}, fmt.Sprintf("Let me look at %s devices.", s.whose(user)))
	}
	r := s.get(toolDevices)
	if !r.ok {
		return s.cannotRead(r, "the user reports a device that is not compliant", "look at your devices")
	}
	var v struct {
		Devices []device `json:"devices"`
	}
	json.Unmarshal(r.output, &v)
	var bad []device
	for _, d := range v.Devices {
		if d.Compliance != "compliant" {
			bad = append(bad, d)
		}
	}
	if len(bad) == 0 {
		var names []string
		for _, d := range v.Devices {
			names = append(names, fmt.Sprintf("%q (%s)", d.Name, d.OS))
		}
		if len(names) == 0 && !s.isSelf(user) {
			return say(fmt.Sprintf("I don't see any device of %s managed by Intune.", user))
		}
		if len(names) == 0 {
			return say("I don't see any device of yours managed by Intune. If your device should be, open Company Portal on it and enroll it, or contact your IT support.")
		}
		return say("All " + s.whose(user) + " devices show as compliant in Intune: " + strings.Join(names, ", ") +
			". If one still says it isn't, open Company Portal on it and choose Check status.")
	}
	dev := pickDevice(s.text, bad)
	onDevice := func() map[string]any { // in the tenant of the device list
		args := map[string]any{"device": dev.ID}
		if t, ok := r.args["tenant"]; ok {
			args["tenant"] = t
		}
		return args
	}
	if s.can(toolCompliance) && !s.tried(toolCompliance) {
		return s.call(toolCompliance, onDevice(), fmt.Sprintf("%q shows as %s; let me see why.", dev.Name, dev.Compliance))
	}
	failing, syncable := failingSettings(s.get(toolCompliance))
	found := fmt.Sprintf("%q is not compliant.", dev.Name)
	if len(failing) > 0 {
		found = fmt.Sprintf("%q is not compliant: %s.", dev.Name, strings.Join(failing, "; "))
	}
	if !syncable {
		return say(found, "These need a change on the device itself ("+advice(failing)+"). After that, open Company Portal and choose Check status. If you need a hand, contact your IT support.")
	}
	if r := s.get(toolSync); r != nil {
		return say(found, outcome(r, "I asked it to check in with Intune now; that usually clears this within 15 minutes. Keep it on and connected."))
	}
	if !s.can(toolSync) {
		return say(found, "A check-in usually fixes this: open Company Portal on the device and choose Check status.")
	}
	return s.call(toolSync, onDevice(), found)
}

// pickDevice chooses the device the user means among the non-compliant
// ones: by name, then by kind, else the first.
func pickDevice(text string, ds []device) device {
	low := strings.ToLower(text)
	for _, d := range ds {
		if d.Name != "" && strings.Contains(low, strings.ToLower(d.Name)) {
			return d
		}
	}
	mobile := strings.Contains(low, "phone") || strings.Contains(low, "ipad") || strings.Contains(low, "android") || strings.Contains(low, "mobile")
	for _, d := range ds {
		isMobile := d.OS == "iOS" || d.OS == "Android" || d.OS == "iPadOS"
		if mobile == isMobile {
			return d
		}
	}
	return ds[0]
}

// failingSettings lists the failing requirements of a device.compliance
// result, and whether a check-in may clear them (also when none is listed).
func failingSettings(r *result) ([]string, bool) {
	if r == nil || !r.ok {
		return nil, true
	}
	var v struct {
		Policies []struct {
			Failing []struct {
				Requirement  string `json:"requirement"`
				CurrentValue string `json:"currentValue"`
				SyncMayFix   bool   `json:"syncMayFix"`
			} `json:"failing"`
		} `json:"policies"`
	}
	if json.Unmarshal(r.output, &v) != nil {
		return nil, true
	}
	var out []string
	syncable, listed := false, false
	for _, p := range v.Policies {
		for _, f := range p.Failing {
			listed = true
			syncable = syncable || f.SyncMayFix
			w := clip(f.Requirement, 120)
			if f.CurrentValue != "" {
				w += fmt.Sprintf(" (now: %s)", clip(f.CurrentValue, 60))
			}
			out = append(out, w)
		}
	}
	return out, syncable || !listed
}

// advice says what a user can do about failing requirements.
func advice(failing []string) string {
	low := strings.ToLower(strings.Join(failing, " "))
	var tips []string
	for _, t := range []struct{ key, tip string }{
		{"bitlocker", "turn on disk encryption (BitLocker on Windows, FileVault on a Mac)"},
		{"filevault", "turn on disk encryption (BitLocker on Windows, FileVault on a Mac)"},
		{"encrypt", "turn on disk encryption (BitLocker on Windows, FileVault on a Mac)"},
		{"os version", "install the latest system updates"},
		{"minimum", "install the latest system updates"},
		{"firewall", "turn the firewall on"},
		{"password", "set a device password or PIN"},
		{"passcode", "set a device passcode"},
		{"jailbr", "a jailbroken or rooted device can't be made compliant: talk to your IT support"},
		{"antivirus", "update the antivirus"},
		{"defender", "update Microsoft Defender"},
	} {
		if strings.Contains(low, t.key) && !contains(tips, t.tip) {
			tips = append(tips, t.tip)
		}
	}
	if len(tips) == 0 {
		return "see the requirements above"
	}
	return strings.Join(tips, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// autoReply sets the out-of-office reply from the message and dates in the
// request, asking for the message when there is none. answer, when set, is
// the user's answer to that question.
func (s *state) autoReply(answer string) agent.Response {
	me := s.self()
	request := s.text
	if answer != "" {
		request = s.earlier + "\n" + answer
	}
	if s.msp() {
		// The user named in the request, not in the message to send.
		src := s.text
		if answer != "" {
			src = s.earlier
		}
		if m := autoReplyMessage(src); m != "" {
			src = strings.Replace(src, m, " ", 1)
		}
		if me = s.someone(src, s.extra); me == "" {
			return s.askWhom(`set the out-of-office of %s: "I'm away until Monday."`)
		}
	}
	if r := s.get(toolAutoReply); r != nil {
		done := autoReplyDone(r.args)
		if !s.isSelf(me) {
			done = strings.Replace(done, "your automatic replies", me+"'s automatic replies", 1)
		}
		return say(outcome(r, done))
	}
	if !s.can(toolAutoReply) {
		return s.escalate("the user asks to set their automatic replies, and the tool is not available to them", "I can't set automatic replies here.")
	}
	if answer == "" && disablePattern.MatchString(s.text) {
		return s.call(toolAutoReply, map[string]any{"user": me, "status": "disabled"}, "")
	}
	msg := answer
	if msg == "" {
		msg = autoReplyMessage(s.text)
	}
	if msg == "" {
		return s.ask(autoReplyQuestion + ` Reply with the message, for example: "I'm out of the office until 14 July. For anything urgent, contact Alex at alex.wilber@contoso.com."`)
	}
	msg = clip(msg, 4000)
	args := map[string]any{"user": me, "status": "alwaysEnabled", "internalMessage": msg, "externalMessage": msg}
	if start, end, ok := absence(request, s.now); ok {
		args["status"], args["start"], args["end"] = "scheduled", start.Format(rfc3339), end.Format(rfc3339)
	}
	return s.call(toolAutoReply, args, "")
}

func autoReplyDone(args map[string]any) string {
	status, _ := args["status"].(string)
	switch status {
	case "disabled":
		return "Done: your automatic replies are off."
	case "scheduled":
		return fmt.Sprintf("Done: your automatic replies are on from %v to %v.", args["start"], args["end"])
	}
	return "Done: your automatic replies are on until you ask me to turn them off."
}
