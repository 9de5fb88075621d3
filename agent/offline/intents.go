package offline

import (
	"regexp"
	"strings"
)

// intent is what a request asks for.
type intent int

const (
	intentNone intent = iota
	intentHacked
	intentAutoReply
	intentGroup
	intentLicense
	intentCompliance
	intentMFA
	intentLocked
	intentPassword
	intentGreeting
	intentThanks
)

var (
	hackedPattern = regexp.MustCompile(`(?i)\b(hack(ed|er)?|compromised?|phish(ed|ing)?|breach(ed)?|` +
		`someone (else )?(has |is |was )?(logg|sign)(ed|ing) in|suspicious (sign[- ]?ins?|log[- ]?ins?|activity|emails?)|` +
		`(account|password) (was |has been |got )?(stolen|taken over)|i didn'?t (make|send|do) (that|this|those))\b`)
	autoReplyPattern  = regexp.MustCompile(`(?i)\b(out[- ]of[- ](the[- ])?office|ooo|auto(matic)?[- ]?(reply|replies|responder)|away message|vacation (reply|responder|message))\b`)
	groupPattern      = regexp.MustCompile(`(?i)\b(add|put|include)\b.+\b(to|in|into)\b.+|\b(join|member of|access to)\b.+\b(group|team|list|dl)\b`)
	groupWord         = regexp.MustCompile(`(?i)\b(group|team|distribution list|dl|channel)\b`)
	licensePattern    = regexp.MustCompile(`(?i)\blicen[cs]es?\b`)
	compliancePattern = regexp.MustCompile(`(?i)\b(non[- ]?complian(t|ce)|not complian(t|ce)|complian(t|ce)|company portal|intune)\b`)
	mfaPattern        = regexp.MustCompile(`(?i)\b((new|lost|stolen|broken|replaced|changed|different|reset) (my )?(phone|mobile|cell|smartphone|iphone|android)|` +
		`(phone|mobile) (was |got |is )?(lost|stolen|broken|replaced)|authenticator|mfa|2fa|two[- ]factor|multi[- ]factor|verification (code|app)|sign[- ]in (code|approval))\b`)
	lockedPattern   = regexp.MustCompile(`(?i)\b(locked( me)? out|lock(ed)?[- ]?out|account (is |got |was )?locked|unlock|too many (attempts|tries)|(can'?t|cannot|unable to|not able to) (sign|log) ?(in|on))\b`)
	passwordPattern = regexp.MustCompile(`(?i)\b(pass ?words?|pwd|passcode)\b`)
	resetPattern    = regexp.MustCompile(`(?i)\b(forg[oe]t+(en)?|reset|change|lost|expired?|locked|unlock|can'?t remember|don'?t remember|new)\b`)
	forgotPattern   = regexp.MustCompile(`(?i)\b(forg[oe]t+(en)?|can'?t remember|don'?t remember|reset)\b`)
	greetPattern    = regexp.MustCompile(`(?i)^\s*(hi|hello|hey|hallo|good (morning|afternoon|evening)|help|\?)\b[\s!.,?]*(there|tierzero)?[\s!.,?]*$`)
	thanksPattern   = regexp.MustCompile(`(?i)^\s*(thanks?( you)?|thx|ty|cheers|great|perfect|ok thanks|thank you so much)\b[\s!.,]*$`)
	upnPattern      = regexp.MustCompile(`(?i)\b[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}\b`)
	otherPattern    = regexp.MustCompile(`\b(?i:of|for)\s+(?:(?i:my\s+|our\s+)?(?i:colleague|manager|boss|co-?worker|intern)|[A-Z][a-z]+\s+[A-Z][a-z]+)`)
)

// classify says what text asks for. The order matters: "I think I was
// hacked, reset my password" is about a compromise first.
func classify(text string) intent {
	switch {
	case hackedPattern.MatchString(text):
		return intentHacked
	case autoReplyPattern.MatchString(text):
		return intentAutoReply
	case licensePattern.MatchString(text):
		return intentLicense
	case groupPattern.MatchString(text) && groupWord.MatchString(text):
		return intentGroup
	case compliancePattern.MatchString(text):
		return intentCompliance
	case mfaPattern.MatchString(text) && !passwordPattern.MatchString(text):
		return intentMFA
	case lockedPattern.MatchString(text):
		return intentLocked
	case passwordPattern.MatchString(text) && resetPattern.MatchString(text):
		return intentPassword
	case greetPattern.MatchString(text):
		return intentGreeting
	case thanksPattern.MatchString(text):
		return intentThanks
	}
	return intentNone
}

// Questions the model asks; an answer to one continues the request.
const (
	autoReplyQuestion = "What should your automatic reply say?"
	groupQuestion     = "Which group do you mean?"
	licenseQuestion   = "Which license do you need?"
)

func isQuestion(s string) bool {
	return strings.Contains(s, autoReplyQuestion) || strings.Contains(s, groupQuestion) || strings.Contains(s, licenseQuestion) || asksWhoOrWhere(s)
}

var (
	groupQuoted  = regexp.MustCompile(`["“'‘]([^"”'’]{2,120})["”'’]`)
	groupAddMe   = regexp.MustCompile(`(?i)\b(?:add|put|include)\s+(.+?)\s+(?:to|in|into)\s+(?:the\s+)?(.+?)\s*[.!?]*$`)
	groupJoin    = regexp.MustCompile(`(?i)\b(?:join|member of|access to)\s+(?:the\s+)?(.+?)\s*[.!?]*$`)
	groupSuffix  = regexp.MustCompile(`(?i)\s+(security group|m365 group|microsoft 365 group|group|distribution list|dl)$`)
	groupPrefix  = regexp.MustCompile(`(?i)^(group|the group|security group)\s+`)
	selfSubjects = map[string]bool{"me": true, "myself": true, "me please": true, "please me": true}
)

// parseGroup returns the group a request names and whom it is for ("" for
// the requester).
func parseGroup(text string) (name, subject string) {
	if m := groupAddMe.FindStringSubmatch(text); m != nil {
		subject, name = strings.TrimSpace(m[1]), m[2]
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
	name = strings.TrimSuffix(strings.TrimSuffix(name, " please"), ",")
	name = groupSuffix.ReplaceAllString(name, "")
	name = groupPrefix.ReplaceAllString(name, "")
	return strings.TrimSpace(name)
}

var (
	licenseBefore = regexp.MustCompile(`(?i)((?:[\w+.&-]+\s+){1,5})licen[cs]es?\b`)
	licenseAfter  = regexp.MustCompile(`(?i)\blicen[cs]es?\s+(?:for|of)\s+([\w+.& -]{2,60}?)\s*(?:[.!?,]|$|\bplease\b)`)
	licenseStop   = map[string]bool{"i": true, "need": true, "want": true, "a": true, "an": true, "the": true, "my": true, "me": true, "get": true,
		"please": true, "for": true, "to": true, "request": true, "give": true, "assign": true, "new": true, "can": true, "could": true,
		"you": true, "have": true, "some": true, "would": true, "like": true, "require": true, "buy": true, "there": true, "is": true,
		"we": true, "our": true, "hi": true, "hello": true, "missing": true, "no": true, "don't": true, "dont": true, "do": true, "with": true}
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
var bareAnswer = regexp.MustCompile(`(?i)^\s*(yes|y|yep|yeah|ok|okay|sure|go ahead|do it|confirm(ed)?|please do|no|n|nope|cancel)\s*[.!]*\s*$`)
