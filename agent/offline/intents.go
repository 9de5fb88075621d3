package offline

import (
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// intent is what a request asks for.
type intent int

const (
	intentNone intent = iota
	intentHacked
	intentAutoReply
	intentGroup
	intentGroupRemove
	intentGroupsList
	intentLicense
	intentLicenseRemove
	intentCompliance
	intentMFAReset
	intentMFA
	intentRevoke
	intentEnable
	intentReboot
	intentWipe
	intentRetire
	intentSignIns
	intentLocked
	intentPassword
	intentHelp
	intentGreeting
	intentThanks
	// The L2–L3 catalog (l2.go).
	intentExchange
	intentBitLocker
	intentLAPS
	intentLock
	intentPasscode
	intentSignatures
	intentMFAStatus
	intentRemoveMethod
	intentSetPhone
	intentDismissRisk
	intentConfirmRisk
	intentBlock
	intentSetManager
	// Owners, teams, guests and service health (collab.go).
	intentServiceHealth
	intentInviteGuest
	intentGroupOwners
	intentAddOwner
	intentRemoveOwner
	intentTeamMembers
	intentTeamAdd
	intentTeamRemove
)

// The patterns read the canonical form of a request (canon): English
// words, no accents, misspellings corrected.
var (
	hackedPattern = mustPattern(`\b(hack(ed|er)?|compromised?|phish(ed|ing)?|breach(ed)?|` +
		`someone (else )?(has |is |was )?(signed|signing) in|suspicious (sign in|sign ins|activity|emails?)|` +
		`(account|password) (was |has been |got )?(stolen|taken over)|i didn't (make|send|do) (that|this|those)|emails? i (didn't|did not|never) (send|sent))\b`)
	autoReplyPattern  = mustPattern(`\bautoreply\b`)
	groupPattern      = mustPattern(`\b(add|put|include)\b.+\b(to|in|into|au|a|zu|zur|zum|al|en)\b.+|\b(join|member of|access( to)?)\b.+\b(group|team|list|dl)\b|\badd\b.+\bgroup\b`)
	groupWord         = mustPattern(`\b(group|team|distribution list|dl|channel)\b`)
	addWord           = mustPattern(`\b(add|put|into|join)\b`)
	groupRemovePat    = mustPattern(`\b(remove|take|kick|drop|delete)\b.{0,80}\b(from|out of)\b`)
	groupsListPattern = mustPattern(`\b(what|which) groups?\b|\bgroup memberships?\b|\bmember of (which|what)\b|\bgroups? (is|are|am) [^ ]+ (in|a member of)\b`)
	licensePattern    = mustPattern(`\blicen[cs]es?\b`)
	licenseRemovePat  = mustPattern(`\b(remove|take away|take back|unassign|revoke|reclaim|no longer needs?|doesn't need)\b`)
	compliancePattern = mustPattern(`\b(not compliant|compliant|compliance|company portal|intune)\b`)
	deviceWord        = mustPattern(`\b(laptop|phone|iphone|ipad|android|device|tablet|mac|macbook|surface)\b`)
	policyNag         = mustPattern(`\b(company polic(y|ies)|polic(y|ies)|requirements?|red x|nagging|nags|keeps (asking|telling|nagging|saying)|warning)\b`)
	mfaPattern        = mustPattern(`\bmfa\b|\bcodes?\b.{0,40}\bphone\b|\bphone\b.{0,40}\bcodes?\b|` +
		`\b(new|lost|stolen|broken|replaced|changed|different|reset|wiped|switched|upgraded)( (my|the|a|his|her|our|el|la|de|mon|ma|mi))? phone\b|` +
		`\bphone\b( (was|got|is|has been|got))? (lost|stolen|broken|replaced|wiped|reset|gone|dead|died)\b|` +
		`\b(temporary )?access pass\b|\btap\b|\bsign in (approval|request)s?\b`)
	mfaStrong       = mustPattern(`\bmfa\b|\bcodes?\b|\baccess pass\b|\btap\b`)
	mfaResetPattern = mustPattern(`\breset (my |the |his |her |their )?(mfa|sign in methods|authentication methods|security info|methods)\b|\bre-?register\b.{0,30}\bmfa\b|\bclear (my |his |her )?mfa\b`)
	revokePattern   = mustPattern(`\b(revoke|kill|terminate|end|clear)\b.{0,60}\bsessions?\b|` +
		`\bsign(ed|ing)?\b.{0,80}\bout\b.{0,20}\b(everywhere|of (all|every)(thing| sessions?| devices?| apps?)?)\b|` +
		`\bsign out\b.{0,80}\beverywhere\b|\bforced?\b.{0,40}\bsign out\b`)
	enablePattern = mustPattern(`\b(enable|unblock|re-?activate)\b.{0,40}\baccount\b|\baccount\b.{0,30}\b(enabled|enable)\b.{0,10}\bagain\b|\benable (him|her|them)\b`)
	rebootPattern = mustPattern(`\b(restart|reboot|restarted)\b`)
	wipePattern   = mustPattern(`\b(wipe|erase|factory reset)\b`)
	retirePattern = mustPattern(`\bretire\b`)
	lockedPattern = mustPattern(`\b(locked( me)? out|lock(ed)?[- ]?out|account (is |got |was |has been )?locked|unlock|too many (attempts|tries)|can't sign in|locked)\b|` +
		`\b(something|problem|issue|wrong)\b.{0,30}\baccount\b|\baccount\b.{0,30}\b(not working|broken|problem|issue|doesn't work)\b`)
	signInsPattern  = mustPattern(`\b(show|see|check|look at|read|list|what are)\b.{0,30}\bsign[- ]?ins?\b`)
	passwordPattern = mustPattern(`\bpassword\b`)
	resetPattern    = mustPattern(`\b(forgot|reset|change|lost|expired?|locked|unlock|new|wrong|doesn't work|not working|restart|incorrect)\b`)
	forgotPattern   = mustPattern(`\b(forgot|reset|new password|change (my |the )?password|expired)\b`)
	helpPattern     = mustPattern(`\bwhat (can|do|else can) you (do|help with|handle|support)\b|\bhow (can|do) you help\b|\bwhat are you\b|\bwho are you\b|` +
		`\bcapabilit|\bwhat can i ask\b|\bwhat (kind of|sort of) (things|requests|problems)\b|\bhow does this work\b|` +
		`\bwas (kannst du|konnen sie|can you)\b|\bque (puedes|can you) hacer\b|\bque can you faire\b|\ben que (me )?puedes ayudar\b|\bque (peux-tu|pouvez-vous) faire\b`)
	greetPattern  = mustPattern(`^\s*(hi|hello|hey|hallo|good (morning|afternoon|evening)|help|\?)\b[\s!.,?]*(there|tierzero)?[\s!.,?]*$`)
	thanksPattern = mustPattern(`^\s*(thanks?( you)?|thx|ty|cheers|great|perfect|ok thanks|thank you so much)\b[\s!.,]*$`)
	upnPattern    = mustPattern(`(?i)\b[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}\b`)
	otherPattern  = mustPattern(`\b(?i:of|for)\s+(?:(?i:my\s+|our\s+)?(?i:colleague|manager|boss|co-?worker|intern)|[A-Z][a-z]+\s+[A-Z][a-z]+)`)
)

// intentsOf says what the canonical text c asks for, most specific first
// (readIntents, remembered). Callers do not modify the slice.
func intentsOf(c string) []intent { return intentMemo.Get(c) }

var intentMemo = newMemo(readIntents)

// readIntents says what the canonical text c asks for, most specific first.
// One clause may ask for several things ("I'm locked out, reset my
// password"); what a more specific intent covers is left out.
func readIntents(c string) []intent {
	var out []intent
	has := func(it intent) bool { return slices.Contains(out, it) }
	add := func(it intent, ok bool) {
		if ok && !has(it) {
			out = append(out, it)
		}
	}
	if autoReplyPattern.MatchString(c) {
		return []intent{intentAutoReply} // what else it says is its message
	}
	if it, ok := l2Only(c); ok {
		return []intent{it} // what else it says is its context
	}
	add(intentHelp, helpPattern.MatchString(tierzero.Fold(c)))
	add(intentHacked, hackedPattern.MatchString(c))
	add(intentRevoke, revokePattern.MatchString(c))
	lic := licensePattern.MatchString(c)
	add(intentLicenseRemove, lic && licenseRemovePat.MatchString(c))
	add(intentLicense, lic && !has(intentLicenseRemove))
	group := groupWord.MatchString(c) && !lic
	add(intentGroupsList, groupsListPattern.MatchString(c))
	add(intentGroupRemove, group && groupRemovePat.MatchString(c))
	add(intentGroup, group && groupPattern.MatchString(c) && !(has(intentGroupRemove) && !addWord.MatchString(c)))
	l2Intents(c, add)
	add(intentRetire, retirePattern.MatchString(c))
	add(intentWipe, wipePattern.MatchString(c))
	add(intentReboot, rebootPattern.MatchString(c) && !passwordPattern.MatchString(c))
	compliance := compliancePattern.MatchString(c) || (deviceWord.MatchString(c) && policyNag.MatchString(c))
	add(intentCompliance, compliance)
	add(intentMFAReset, mfaResetPattern.MatchString(c))
	mfa := mfaPattern.MatchString(c) && !has(intentMFAReset)
	if compliance && !mfaStrong.MatchString(c) {
		mfa = false // "my new phone says it isn't compliant"
	}
	add(intentMFA, mfa)
	add(intentEnable, enablePattern.MatchString(c) && !has(intentBlock))
	add(intentSignIns, signInsPattern.MatchString(c))
	pw := passwordPattern.MatchString(c) && (resetPattern.MatchString(c) || lockedPattern.MatchString(c))
	add(intentPassword, pw && !has(intentHacked))
	add(intentLocked, lockedPattern.MatchString(c) && !pw && !has(intentHacked) && !has(intentEnable) && !(mfa && !passwordPattern.MatchString(c) && !strings.Contains(c, "can't sign in")))
	if len(out) == 0 {
		add(intentGreeting, greetPattern.MatchString(c))
		add(intentThanks, thanksPattern.MatchString(c))
	}
	return slices.Clip(out)
}

// Questions the model asks; an answer to one continues the request.
const (
	groupQuestion   = "Which group do you mean?"
	licenseQuestion = "Which license do you need?"
)

func isQuestion(s string) bool {
	return asksAutoReply(s) || strings.Contains(s, groupQuestion) || strings.Contains(s, licenseQuestion) || asksWhoOrWhere(s)
}

var (
	groupQuoted  = mustPattern(`["“'‘]([^"”'’]{2,120})["”'’]`)
	groupAddMe   = mustPattern(`(?i)\b(?:add|put|include)\s+(.+?)\s+(?:to|in|into)\s+(?:the\s+)?(.+?)\s*[.!?]*$`)
	groupJoin    = mustPattern(`(?i)\b(?:join|member of|access to)\s+(?:the\s+)?(.+?)\s*[.!?]*$`)
	groupSuffix  = mustPattern(`(?i)\s+(security group|m365 group|microsoft 365 group|group|distribution list|dl)$`)
	groupPrefix  = mustPattern(`(?i)^(group|the group|security group)\s+`)
	selfSubjects = map[string]bool{"me": true, "myself": true, "me please": true, "please me": true}
)

// groupNamed is a group named after the word for it, in any language the
// model reads: "die Gruppe VPN Users auf", "al grupo Project Falcon,".
var groupNamed = mustPattern(`(?i)\b(?:group|gruppe|grupo|groupe)\s+["„“]?([^"”“,.?!;\n]+?)["”“]?\s*(?:\b(?:auf|hinzu|bei|bitte|please|por favor|svp|too|as well)\b|[,.?!;]|$)`)

// parseGroup returns the group a request names and whom it is for ("" for
// the requester).
func parseGroup(text string) (name, subject string) {
	if m := groupAddMe.FindStringSubmatch(text); m != nil && !groupNamed.MatchString(m[2]) {
		subject, name = strings.TrimSpace(m[1]), m[2]
	} else if m := groupNamed.FindStringSubmatch(text); m != nil {
		name = m[1]
		if m := groupAddMe.FindStringSubmatch(text); m != nil {
			subject = strings.TrimSpace(m[1])
		}
	} else if m := groupJoin.FindStringSubmatch(text); m != nil {
		name = m[1]
	}
	if q := groupQuoted.FindStringSubmatch(text); q != nil {
		name = q[1]
	}
	if selfSubjects[strings.ToLower(subject)] {
		subject = ""
	}
	return cleanGroupName(name), subject
}

func cleanGroupName(name string) string {
	name = strings.Trim(strings.TrimSpace(name), `"“”'‘’.!?`)
	name = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, " instead"), " please"), ",")
	name = groupSuffix.ReplaceAllString(name, "")
	name = groupPrefix.ReplaceAllString(name, "")
	return strings.TrimSpace(name)
}

var (
	licenseBefore = mustPattern(`(?i)((?:[\w+.&-]+\s+){1,5})licen[cs]es?\b`)
	licenseAfter  = mustPattern(`(?i)\blicen[cs]es?\s+(?:for|of)\s+([\w+.& -]{2,60}?)\s*(?:[.!?,]|$|\bplease\b)`)
	licenseStop   = map[string]bool{"i": true, "need": true, "want": true, "a": true, "an": true, "the": true, "my": true, "me": true, "get": true,
		"please": true, "for": true, "to": true, "request": true, "give": true, "assign": true, "new": true, "can": true, "could": true,
		"you": true, "have": true, "some": true, "would": true, "like": true, "require": true, "buy": true, "there": true, "is": true,
		"we": true, "our": true, "hi": true, "hello": true, "missing": true, "no": true, "don't": true, "dont": true, "do": true, "with": true,
		"remove": true, "take": true, "unassign": true, "away": true}
)

// parseLicense returns the product a license request names.
func parseLicense(text string) string {
	if m := licenseAfter.FindStringSubmatch(text); m != nil {
		return strings.TrimSpace(m[1])
	}
	m := licenseBefore.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	words := strings.Fields(m[1])
	for len(words) > 0 && licenseStop[strings.ToLower(words[0])] {
		words = words[1:]
	}
	// Stop words inside ("I need a license" has none left).
	var kept []string
	for _, w := range words {
		if !licenseStop[strings.ToLower(w)] {
			kept = append(kept, w)
		} else {
			kept = nil // start after the last stop word
		}
	}
	return strings.Join(kept, " ")
}

// target returns the user a request is about: a UPN written in it, else the
// requester. ok is false when it names someone without an address, or,
// across tenants, where the requester has no account, names no address.
func (s *state) target() (string, bool) {
	if s.msp() {
		u := s.someone(s.said())
		return u, u != ""
	}
	if m := upnPattern.FindString(s.text); m != "" {
		return m, true
	}
	if otherPattern.MatchString(s.text) {
		return "", false
	}
	return s.self(), true
}

// bareAnswer is a message that only answers yes or no.
var bareAnswer = mustPattern(`(?i)^\s*(yes|y|yep|yeah|ok|okay|sure|go ahead|do it|confirm(ed)?|please do|no|n|nope|cancel)\s*[.!]*\s*$`)
