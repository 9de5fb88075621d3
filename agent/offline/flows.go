package offline

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Tool names, as the model sees them.
const (
	toolGetUser     = "user_get"
	toolSignIns     = "user_signins"
	toolRisk        = "user_risk"
	toolAuthMethods = "user_auth_methods"
	toolReset       = "user_reset_password"
	toolRevoke      = "user_revoke_sessions"
	toolTAP         = "user_issue_tap"
	toolResetMFA    = "user_reset_mfa"
	toolEnable      = "user_enable"
	toolAutoReply   = "user_set_auto_reply"
	toolUserGroups  = "user_groups"
	toolGroupFind   = "group_find"
	toolAddMember   = "group_add_member"
	toolRemove      = "group_remove_member"
	toolLicenses    = "license_available"
	toolAssign      = "license_assign"
	toolUnassign    = "license_remove"
	toolDevices     = "user_devices"
	toolCompliance  = "device_compliance"
	toolSync        = "device_sync"
	toolReboot      = "device_reboot"
	toolWipe        = "device_wipe"
	toolRetire      = "device_retire"
)

const capabilities = "I can help with a forgotten password, a locked account, a new phone (MFA), joining a group, getting a license, " +
	"a device that is not compliant, an account you think was hacked, and your out-of-office reply."

const techCapabilities = "For the users you support I can also reset passwords, issue Temporary Access Passes, sign users out everywhere, " +
	"enable accounts, add and remove group members, assign and remove licenses, set automatic replies, sync, restart, retire or wipe devices, " +
	"and bring a tenant to its baseline or tell you how it drifted from it (each as a plan you confirm)."

// respond decides the next step of the request.
func (s *state) respond() agent.Response {
	if r, ok := s.command(); ok {
		return r
	}
	if r, ok := s.baseline(); ok { // baseline.go; before lifecycle: "onboard fabrikam to our baseline" is no new hire
		return r
	}
	if r, ok := s.lifecycle(); ok { // lifecycle.go
		return r
	}
	it := s.classify(s.text)
	if noIntent(it) {
		switch {
		case s.askedAutoReply():
			return s.autoReply(task{it: intentAutoReply, user: s.autoReplyUser(), text: s.earlier, asked: true}, s.text)
		case strings.Contains(s.prev, groupQuestion):
			return s.group(task{it: intentGroup, text: s.earlier, asked: true}, cleanGroupName(s.text))
		case strings.Contains(s.prev, licenseQuestion):
			return s.license(task{it: intentLicense, text: s.earlier, asked: true}, s.text)
		}
	}
	if s.msp() {
		return s.respondAcross(it)
	}
	ts, unhandled := s.tasksOf(s.text)
	if len(ts) == 0 && len(unhandled) == 0 && s.earlier != "" && requestCue.MatchString(s.canon(s.text)) && anaphora.MatchString(s.canon(s.text)) {
		// "ok, can you fix that one?": the request before, continued.
		prev, _ := s.tasksOf(s.earlier)
		for _, t := range prev {
			t.text += " " + s.text
			ts = append(ts, t)
		}
	}
	if len(ts) == 1 {
		switch ts[0].it {
		case intentGreeting:
			return say(s.greeting())
		case intentThanks:
			return say("You're welcome! Anything else, just ask.")
		case intentHelp:
			return say(s.help())
		}
	}
	if len(ts) == 0 && len(unhandled) == 0 {
		if bareAnswer.MatchString(s.text) {
			// A yes or no with nothing waiting for it (a plan that already
			// ran, or was cancelled) is no request to hand to a person.
			return say("There is nothing waiting for your answer right now. What do you need?")
		}
		return s.cannotHandle(s.text)
	}
	return s.run(ts, unhandled)
}

// respondAcross serves a technician across client tenants: one request at
// a time, each flow naming its users and tenants.
func (s *state) respondAcross(it intent) agent.Response {
	t := task{it: it, text: s.text, asked: true}
	switch it {
	case intentGreeting:
		return say(s.greeting())
	case intentThanks:
		return say("You're welcome! Anything else, just ask.")
	case intentHelp:
		return say(s.help())
	case intentNone:
		if bareAnswer.MatchString(s.text) {
			return say("There is nothing waiting for your answer right now. What do you need?")
		}
		return s.cannotHandle(s.text)
	case intentGroup:
		name, _ := parseGroup(s.withoutTenants(s.text))
		return s.group(t, name)
	case intentLicense:
		return s.license(t, parseLicense(s.withoutTenants(upnPattern.ReplaceAllString(s.text, " "))))
	}
	return s.do(t)
}

func (s *state) greeting() string {
	return "Hi! " + s.help() + ` For example, say "I forgot my password". What do you need?`
}

// help says what the model can do.
func (s *state) help() string {
	if s.tech() {
		return capabilities + " " + techCapabilities
	}
	return capabilities
}

// cannotHandle hands a request the model does not understand to a person.
func (s *state) cannotHandle(text string) agent.Response {
	return s.escalate("the offline assistant does not handle this request: "+clip(text, 300),
		"I'm running without a language model, and I can't handle this request myself. "+capabilities)
}

// do serves one task.
func (s *state) do(t task) agent.Response {
	if t.it == intentExchange {
		return s.exchangeOnly(t) // an address it names is a mailbox's, not a person's
	}
	if t.it == intentServiceHealth || t.it == intentInviteGuest {
		r, _ := s.collabDo(t) // an address it names is a guest's or a sponsor's
		return r
	}
	if !s.msp() {
		if r, ok := s.notMine(t); ok {
			return r
		}
	}
	if r, ok := s.l2Do(t); ok {
		return r
	}
	if r, ok := s.collabDo(t); ok {
		return r
	}
	switch t.it {
	case intentHacked:
		return s.hacked(t)
	case intentRevoke:
		return s.revoke(t)
	case intentAutoReply:
		return s.autoReply(t, "")
	case intentGroup:
		name, subject := parseGroup(t.text)
		if subject != "" && !s.isSelf(subject) && t.user == "" && !s.tech() {
			return s.declineOther(t, subject)
		}
		return s.group(t, name)
	case intentGroupRemove:
		return s.groupRemove(t)
	case intentGroupsList:
		return s.groupsList(t)
	case intentLicense:
		return s.license(t, parseLicense(upnPattern.ReplaceAllString(t.text, " ")))
	case intentLicenseRemove:
		return s.licenseRemove(t)
	case intentCompliance:
		return s.compliance(t)
	case intentMFA:
		return s.mfa(t)
	case intentMFAReset:
		return s.mfaReset(t)
	case intentEnable:
		return s.enable(t)
	case intentReboot:
		return s.deviceAction(t, toolReboot)
	case intentWipe:
		return s.deviceAction(t, toolWipe)
	case intentRetire:
		return s.deviceAction(t, toolRetire)
	case intentLocked, intentPassword:
		return s.signin(t)
	case intentSignIns:
		return s.showSignIns(t)
	case intentHelp:
		return say(s.help())
	case intentGreeting, intentThanks:
		return say("")
	}
	return s.cannotHandle(t.text)
}

// verbs say what a task does, for "I can only ... for your own account".
var verbs = map[intent]string{
	intentLocked: "reset passwords", intentPassword: "reset passwords", intentMFA: "issue Temporary Access Passes",
	intentMFAReset: "reset MFA", intentAutoReply: "set automatic replies", intentGroup: "add people to groups",
	intentGroupRemove: "remove people from groups", intentGroupsList: "list group memberships", intentLicense: "assign licenses",
	intentLicenseRemove: "remove licenses", intentCompliance: "check devices", intentEnable: "enable accounts",
	intentRevoke: "sign people out", intentSignIns: "show sign-ins", intentReboot: "restart devices", intentWipe: "wipe devices", intentRetire: "retire devices",
}

// notMine answers a task about someone else that the requester may not
// ask for: an employee's self-service covers their own account only, and
// someone named without an address must be named by it.
func (s *state) notMine(t task) (agent.Response, bool) {
	if t.user == "" && t.named == "" {
		return agent.Response{}, false
	}
	if t.it == intentHacked {
		return agent.Response{}, false // anyone may report a compromise
	}
	if !s.tech() {
		who := t.user
		if who == "" {
			who = t.named
		}
		return s.declineOther(t, who), true
	}
	if t.user == "" {
		return s.askWhom("reset the password of %s"), true
	}
	return agent.Response{}, false
}

// declineOther refuses an employee's task about someone else.
func (s *state) declineOther(t task, who string) agent.Response {
	if who == "them" || who == "" {
		who = "They"
	}
	if len(who) > 0 && strings.ToLower(who[:1]) == who[:1] && !strings.Contains(who, "@") {
		who = "Your " + who
	}
	verb := verbs[t.it]
	if verb == "" {
		verb = l2Verbs[t.it]
	}
	if verb == "" {
		verb = collabVerbs[t.it]
	}
	return s.decline(s.tr(msgOnlyYourOwn, verb, who))
}

// finish makes a response fit to be shown: in the requester's language
// where it has the words, saying so where it has not.
func (s *state) finish(r agent.Response) agent.Response {
	r.Text = s.localize(r.Text)
	for i, c := range r.ToolCalls {
		var args map[string]any
		if json.Unmarshal(c.Args, &args) != nil {
			continue
		}
		changed := false
		for _, k := range []string{"reason", "question"} {
			if v, ok := args[k].(string); ok && (c.Action == agent.DeclineTool || c.Action == agent.AskTool) {
				if l := s.localize(v); l != v {
					args[k], changed = l, true
				}
			}
		}
		if changed {
			b, _ := json.Marshal(args)
			r.ToolCalls[i].Args = b
		}
	}
	return r
}

// support is what to do when the model cannot: an employee contacts IT, a
// technician or admin acts in the admin center.
func (s *state) support() string {
	if s.tech() {
		return "If it must be done anyway, it needs a change in the admin center or to the policy."
	}
	return "If you need this, please contact your IT support."
}

// outcome says how a write went, success being the sentence for success.
func (s *state) outcome(r *result, success string) string {
	msg := ""
	if r.err != nil {
		msg = strings.TrimSuffix(strings.TrimSpace(r.err.Message), ".")
	}
	switch {
	case r.garbled:
		return "I got an answer I could not read, so I stopped. Nothing else was changed."
	case r.ok:
		return success
	case r.effect == string(tierzero.EffectRequireApproval):
		why := plainReason(r.reason)
		if strings.Contains(msg, "approvals are not enabled") { // the guard has no approvals store
			out := s.tr(msgApprovalUnavailable, why)
			if !s.tech() {
				out += " Please contact your IT support."
			}
			return out
		}
		to := ""
		if r.err != nil && r.err.Code == tierzero.EPending {
			var out struct {
				ApproverText string `json:"approver_text"`
			}
			if json.Unmarshal(r.output, &out) == nil && out.ApproverText != "" {
				to = " to " + out.ApproverText
				if s.lang == german {
					to = " an " + out.ApproverText
				} else if s.lang == spanish {
					to = " a " + out.ApproverText
				} else if s.lang == french {
					to = " à " + out.ApproverText
				}
			}
		}
		return s.tr(msgApprovalSent, why, to)
	case r.err != nil && r.err.Code == tierzero.EDenied:
		return s.tr(msgCannot, plainText(strings.TrimPrefix(msg, "denied by policy: "))) + " " + s.support()
	case r.err != nil && r.err.Code == tierzero.EUnavailable:
		return "I could not confirm whether that worked: " + s.plainError(r.err) + ". Please check before trying again."
	case r.err != nil:
		return "That didn't work: " + s.plainError(r.err) + ". Nothing was changed. " + s.support()
	}
	return "That didn't work. Nothing was changed. " + s.support()
}

// plainError is why a call failed, for the requester: the policy's reason
// as people read it; Microsoft Graph's own message for IT staff, plain
// words for an employee (DESIGN: nothing internal is shown to them).
func (s *state) plainError(e *tierzero.Error) string {
	msg := strings.TrimPrefix(strings.TrimSuffix(e.Message, "."), "denied by policy: ")
	if s.tech() || e.Code == tierzero.EDenied || e.Code == tierzero.EPending {
		return plainText(msg)
	}
	return e.Plainly()
}

var (
	ruleReason = mustPattern(`^rule [\w./:-]+ requires approval$`)
	actionName = mustPattern(`\b(user|group|license|device)\.[a-z_]+\b`)
	ruleName   = mustPattern(`\s*\(rule [^)]*\)`)
)

// plainReason is the policy's reason for an approval as people read it:
// not the name of a rule.
func plainReason(why string) string {
	why = strings.TrimSuffix(strings.TrimSpace(why), ".")
	if why == "" || ruleReason.MatchString(why) {
		return "the company's policy requires it"
	}
	return plainText(why)
}

// actionWords are the actions of tools as people say them.
var actionWords = map[string]string{
	"user.reset_password": "a password reset", "user.issue_tap": "a Temporary Access Pass", "user.reset_mfa": "an MFA reset",
	"user.revoke_sessions": "signing out everywhere", "user.enable": "enabling an account", "user.set_auto_reply": "automatic replies",
	"group.add_member": "adding a group member", "group.remove_member": "removing a group member", "license.assign": "assigning a license",
	"license.remove": "removing a license", "device.sync": "a device sync", "device.reboot": "a device restart", "device.wipe": "a device wipe",
	"device.retire": "retiring a device",
}

// plainText takes the names of tools and rules out of a message meant
// for people.
func plainText(msg string) string {
	msg = ruleName.ReplaceAllString(msg, "")
	return actionName.ReplaceAllStringFunc(msg, func(a string) string {
		if w := actionWords[a]; w != "" {
			return w
		}
		return "this"
	})
}

// userOf is the user a task is about: the one it names, else the
// requester; across tenants, the user the request names.
func (s *state) userOf(t task) string {
	if t.user != "" {
		return t.user
	}
	if s.msp() {
		return s.someone(s.said())
	}
	return s.self()
}

// getFor returns the latest call of name for user in any tenant.
func (s *state) callFor(name, user string) *result { return s.getFor(name, user, "") }

// argsUser reads the user argument of a call.
func argsUser(args json.RawMessage) (string, bool) {
	var v struct{ User string }
	if json.Unmarshal(args, &v) != nil {
		return "", false
	}
	return v.User, v.User != ""
}

// signIns summarizes a user.signins result.
type signIns struct {
	found      bool // the result was read
	exists     bool
	total      int
	failures   map[string]int // meaning -> count
	lockedOut  bool           // smart lockout (50053) among the recent ones
	disabled   bool           // the latest failure says the account is disabled
	blocked    bool           // Conditional Access blocked the latest failures
	caPolicies []string       // the policies that blocked them, by name
	blockedAt  []string       // where the blocked sign-ins came from
	noUser     bool           // sign-ins with a user name that does not exist (50034)
	latest     string         // time of the latest sign-in
	latestOK   bool
	countries  []string
}

// caCodes are the sign-in errors of a Conditional Access block.
var caCodes = map[int]bool{53003: true, 53000: true, 53001: true, 53002: true, 530032: true, 530034: true}

func readSignIns(r *result) signIns {
	var out signIns
	if r == nil || !r.ok {
		return out
	}
	type caPolicy struct {
		DisplayName string `json:"displayName"`
		Result      string `json:"result"`
	}
	var v struct {
		UserExists *bool `json:"userExists"`
		// The agent summarizes long logs for its model: rows alike but for
		// time and address become one with a count, and rows past a cap
		// are counted under signInsOmitted.
		Omitted int `json:"signInsOmitted"`
		SignIns []struct {
			Count                    int             `json:"count"`
			Time                     string          `json:"time"`
			ErrorCode                int             `json:"errorCode"`
			Meaning                  string          `json:"meaning"`
			Country                  string          `json:"country"`
			City                     string          `json:"city"`
			Policies                 []caPolicy      `json:"conditionalAccessPolicies"`
			Applied                  []caPolicy      `json:"appliedConditionalAccessPolicies"`
			ConditionalAccessPolicy  string          `json:"conditionalAccessPolicy"`
			ConditionalAccessDetails json.RawMessage `json:"conditionalAccess"`
		} `json:"signIns"`
	}
	if json.Unmarshal(r.output, &v) != nil {
		return out
	}
	out.found, out.exists, out.total, out.failures = true, v.UserExists == nil || *v.UserExists, v.Omitted, map[string]int{}
	seen := map[string]bool{}
	firstFailure := true
	for i, si := range v.SignIns {
		n := max(si.Count, 1) // the sign-ins this row stands for
		out.total += n
		if i == 0 {
			out.latest, out.latestOK = si.Time, si.ErrorCode == 0
			out.disabled = si.ErrorCode == 50057
		}
		if si.ErrorCode == 50053 && i < 5 {
			out.lockedOut = true
		}
		if si.ErrorCode == 50034 {
			out.noUser = true
		}
		if si.ErrorCode != 0 && si.ErrorCode != 50140 && firstFailure {
			firstFailure = false
			out.blocked = caCodes[si.ErrorCode]
		}
		if caCodes[si.ErrorCode] {
			for _, p := range append(si.Policies, si.Applied...) {
				if name := clip(p.DisplayName, 80); name != "" && (p.Result == "" || p.Result == "failure") && !slices.Contains(out.caPolicies, name) {
					out.caPolicies = append(out.caPolicies, name)
				}
			}
			if p := clip(si.ConditionalAccessPolicy, 80); p != "" && !slices.Contains(out.caPolicies, p) {
				out.caPolicies = append(out.caPolicies, p)
			}
			where := strings.Trim(si.City+", "+si.Country, ", ")
			if where != "" && !slices.Contains(out.blockedAt, where) {
				out.blockedAt = append(out.blockedAt, where)
			}
		}
		if si.ErrorCode != 0 && si.ErrorCode != 50140 {
			m := si.Meaning
			if m == "" || m == "see failureReason" {
				m = fmt.Sprintf("error %d", si.ErrorCode)
			}
			if i := strings.IndexAny(m, ":("); i > 0 {
				m = strings.TrimSpace(m[:i])
			}
			out.failures[m] += n
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

// typoOfSelf returns a user name written in text that is not the
// requester's but differs from it by a letter or two, in the same domain:
// the requester mistyping their own user name.
func (s *state) typoOfSelf(text string) string {
	local, domain, ok := strings.Cut(strings.ToLower(s.self()), "@")
	if !ok {
		return ""
	}
	for _, u := range upns(text) {
		l, d, _ := strings.Cut(strings.ToLower(u), "@")
		if s.isSelf(u) || d != domain {
			continue
		}
		if tierzero.EditDistance(l, local, 2) <= 2 {
			return u
		}
	}
	return ""
}

// signin: read the sign-ins (of one's own account, or as a technician),
// then decide from them: a typo in the user name, a disabled account or a
// Conditional Access block are explained (and handed over when a person
// must act), a smart lockout passes by itself unless the user asked for a
// new password, anything else gets one.
func (s *state) signin(t task) agent.Response {
	target := s.userOf(t)
	if target == "" {
		return s.askWhom("reset the password of %s")
	}
	typo := ""
	if !s.msp() {
		typo = s.typoOfSelf(s.text)
	}
	if (s.isSelf(target) || s.tech()) && s.can(toolSignIns) && s.callFor(toolSignIns, target) == nil {
		return s.call(toolSignIns, map[string]any{"user": target, "top": 10}, "Let me look at the recent sign-ins first.")
	}
	si := readSignIns(s.callFor(toolSignIns, target))
	found := si.words(s.whose(target))
	forgot := forgotPattern.MatchString(s.canon(t.text))
	switch {
	case typo != "":
		return say(fmt.Sprintf("You wrote %s, but your user name is %s: %s. Please sign in with %[2]s.", typo, s.self(), spelled(typo, s.self())), found)
	case si.found && !si.exists:
		return say(fmt.Sprintf("There is no account named %s: the sign-ins with that name fail as \"no such user\", which usually means a typo in the user name. Please check the spelling of the address.", target))
	case si.disabled:
		how := "only your IT support can enable it again."
		if s.tech() {
			how = "it needs to be enabled again, not a new password."
		}
		return s.escalate("the account "+target+" is disabled; a password reset would not help",
			found+" The account is disabled; "+how)
	case si.blocked && s.callFor(toolReset, target) == nil:
		policy := "(the sign-in log does not name it)"
		if len(si.caPolicies) > 0 {
			policy = "\"" + strings.Join(si.caPolicies, "\", \"") + "\""
		}
		where := ""
		if len(si.blockedAt) > 0 {
			where = " from " + strings.Join(si.blockedAt, "; ")
		}
		why := s.tr(msgBlockedCA, where, policy)
		if s.tech() {
			why += " An exception is a change to that policy (Entra ID > Protection > Conditional Access)."
		}
		return s.escalate(fmt.Sprintf("sign-ins of %s%s are blocked by Conditional Access (policy %s); a password reset would not help, a person must decide about an exception", target, where, policy),
			why+" "+s.tr(msgHandOver))
	case si.lockedOut && !forgot && s.callFor(toolReset, target) == nil:
		return say(found, s.tr(msgSmartLockout))
	case si.found && si.total > 0 && len(si.failures) == 0 && !forgot && s.callFor(toolReset, target) == nil:
		// Nothing failed: the password works, a new one would not help.
		return say(found, "The password works, so a new one would not help. If an app still won't let you in, sign out of it and in again; if it says your device must be compliant, tell me \"my device is not compliant\".")
	}
	return s.reset(target, found)
}

// spelled says how a mistyped user name differs from the right one.
func spelled(typed, right string) string {
	a, b := []rune(strings.ToLower(typed)), []rune(strings.ToLower(right))
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	j, k := len(a)-1, len(b)-1
	for j >= i && k >= i && a[j] == b[k] {
		j--
		k--
	}
	got, want := string(a[i:j+1]), string(b[i:k+1])
	switch {
	case got == "":
		return fmt.Sprintf("it has %q where you left it out", want)
	case want == "":
		return fmt.Sprintf("it has no %q", got)
	}
	return fmt.Sprintf("%q, not %q", want, got)
}

// reset proposes the password reset, or explains how it went.
func (s *state) reset(target, found string) agent.Response {
	if r := s.callFor(toolReset, target); r != nil {
		if e, ok := s.onPremises(r, target); ok {
			return e
		}
		done := s.tr(msgResetSelf)
		if !s.isSelf(target) {
			done = s.tr(msgResetOther, target)
		}
		return say(found, s.outcome(r, done))
	}
	if !s.can(toolReset) {
		if s.tech() {
			return s.decline(found, "I can't reset passwords here.")
		}
		return s.decline(found, "I can't reset passwords here. Please contact your IT support.")
	}
	return s.call(toolReset, map[string]any{"user": target}, found)
}

// mfa: read the registered methods, then issue a Temporary Access Pass
// (policy asks the manager first).
func (s *state) mfa(t task) agent.Response {
	target := s.userOf(t)
	if target == "" {
		return s.askWhom("%s has a new phone and needs to set up MFA again")
	}
	if s.can(toolAuthMethods) && s.callFor(toolAuthMethods, target) == nil {
		return s.call(toolAuthMethods, map[string]any{"user": target}, "Let me see which sign-in methods are registered.")
	}
	found := methodsWords(s.callFor(toolAuthMethods, target), s.whose(target))
	if r := s.callFor(toolTAP, target); r != nil {
		done := s.tr(msgTAPSelf)
		if !s.isSelf(target) {
			done = s.tr(msgTAPOther, target)
		}
		return say(found, s.outcome(r, done))
	}
	if !s.can(toolTAP) {
		return s.escalate("the user needs a Temporary Access Pass to register a new phone, and the tool is not available to them",
			found+" Setting up a new phone needs a Temporary Access Pass, which I can't issue here.")
	}
	return s.call(toolTAP, map[string]any{"user": target}, found+" A Temporary Access Pass lets you sign in once and register the new phone.")
}

// mfaReset removes the registered sign-in methods, so that the user sets
// up MFA again at the next sign-in (policy asks for approval first).
func (s *state) mfaReset(t task) agent.Response {
	target := s.userOf(t)
	if target == "" {
		return s.askWhom("reset the MFA of %s")
	}
	if r := s.callFor(toolResetMFA, target); r != nil {
		who := "you'll"
		if !s.isSelf(target) {
			who = target + " will"
		}
		return say(s.outcome(r, fmt.Sprintf("Done: the registered MFA methods are removed; %s be asked to set up MFA again at the next sign-in (https://aka.ms/mysecurityinfo).", who)))
	}
	if !s.can(toolResetMFA) {
		return s.mfa(t) // a Temporary Access Pass registers the new phone too
	}
	return s.call(toolResetMFA, map[string]any{"user": target}, "")
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
// then hand over to a person. An employee who reports someone else's
// account hands it over at once.
func (s *state) hacked(t task) agent.Response {
	if s.msp() {
		return s.hackedAcross()
	}
	if t.named != "" || (t.user != "" && !s.tech()) {
		who := t.user
		if who == "" {
			who = t.named
		}
		return s.escalate(fmt.Sprintf("%s reports that the account of %s may be compromised", s.self(), who),
			"Thank you for reporting it. I can only check and secure your own account, so "+s.tr(msgHandOver))
	}
	me := s.userOf(t)
	whose := s.whose(me)
	if s.can(toolSignIns) && s.callFor(toolSignIns, me) == nil {
		return s.call(toolSignIns, map[string]any{"user": me, "top": 20}, "Let me check the recent sign-ins and risk.")
	}
	if s.can(toolRisk) && s.callFor(toolRisk, me) == nil {
		return s.call(toolRisk, map[string]any{"user": me}, "")
	}
	if s.can(toolRevoke) && s.callFor(toolRevoke, me) == nil {
		return s.call(toolRevoke, map[string]any{"user": me}, "To be safe, I'm signing the account out everywhere.")
	}
	si := readSignIns(s.callFor(toolSignIns, me))
	found := []string{si.words(whose)}
	if len(si.countries) > 0 {
		found = append(found, "They came from: "+strings.Join(si.countries, ", ")+".")
	}
	risk := "unknown"
	if r := s.callFor(toolRisk, me); r != nil && r.ok {
		var v struct{ RiskLevel, RiskState string }
		if json.Unmarshal(r.output, &v) == nil && v.RiskLevel != "" {
			risk = v.RiskLevel
			found = append(found, fmt.Sprintf("Microsoft rates %s account's risk as %s.", whose, v.RiskLevel))
		}
	}
	revoked := "no"
	if r := s.callFor(toolRevoke, me); r != nil {
		done := "I signed you out of every session: anyone using your account has to sign in again."
		if !s.isSelf(me) {
			done = fmt.Sprintf("I signed %s out of every session: anyone using the account has to sign in again.", me)
		}
		found = append(found, s.outcome(r, done))
		if r.ok {
			revoked = "yes"
		}
		if r.effect == string(tierzero.EffectDeny) && s.tech() {
			return s.decline(strings.Join(found, " "))
		}
	}
	if s.isSelf(me) {
		found = append(found, "Change your password as soon as you can, and don't approve sign-in requests you didn't start.")
	} else {
		found = append(found, "Have them change their password as soon as they can, and not approve sign-in requests they didn't start.")
	}
	return s.escalate(fmt.Sprintf("%s reports a possibly compromised account (%s); risk level %s; sessions revoked: %s", s.self(), me, risk, revoked),
		strings.Join(found, " "))
}

// revoke signs a user out of every session.
func (s *state) revoke(t task) agent.Response {
	target := s.userOf(t)
	if r := s.callFor(toolRevoke, target); r != nil {
		done := "Done: I signed you out of every session; you'll need to sign in again on your devices."
		if !s.isSelf(target) {
			done = fmt.Sprintf("Done: I signed %s out of every session: anyone using the account has to sign in again.", target)
		}
		return say(s.outcome(r, done))
	}
	if !s.can(toolRevoke) {
		return s.decline("I can't sign people out here.")
	}
	return s.call(toolRevoke, map[string]any{"user": target}, "")
}

// enable enables an account again.
func (s *state) enable(t task) agent.Response {
	target := s.userOf(t)
	if s.isSelf(target) && !s.tech() {
		return s.escalate(s.self()+" asks to enable their account", "I can't enable accounts. "+s.tr(msgHandOver))
	}
	if r := s.callFor(toolEnable, target); r != nil {
		if e, ok := s.onPremises(r, target); ok {
			return e
		}
		return say(s.outcome(r, fmt.Sprintf("Done: I enabled the account %s again; it can sign in now.", target)))
	}
	if !s.can(toolEnable) {
		return s.decline("I can't enable accounts here.")
	}
	return s.call(toolEnable, map[string]any{"user": target}, "")
}

// showSignIns says what a user's recent sign-ins show.
func (s *state) showSignIns(t task) agent.Response {
	target := s.userOf(t)
	if !s.can(toolSignIns) {
		return s.decline("I can't read sign-ins here.")
	}
	r := s.callFor(toolSignIns, target)
	if r == nil {
		return s.call(toolSignIns, map[string]any{"user": target, "top": 10}, "")
	}
	if !r.ok {
		return s.cannotRead(r, "the user asks for the sign-ins of "+target, "read the sign-ins")
	}
	return say(readSignIns(r).words(s.whose(target)))
}
