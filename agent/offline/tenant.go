package offline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tierzero/tierzero/agent"
)

// An MSP technician serves several client tenants from one conversation.
// The agent then offers every tool (but escalate) with a required "tenant"
// argument whose enum lists the client tenants the technician may act in,
// and the model must name one in every call. The technician has no account
// of their own in those tenants, so nothing defaults to "me" there.

// Questions the model asks an MSP technician; an answer to one completes
// the request before it.
const (
	tenantQuestion = "Which client tenant"
	whomQuestion   = "Which user do you mean?"
)

// maxTargets is how many users one request may act on at once.
const maxTargets = 5

// msp reports whether the requester acts across client tenants: some
// offered tool takes a tenant.
func (s *state) msp() bool { return len(s.tenants) > 0 }

// allTenants lists the tenants any tool may act in, in the order offered.
func (s *state) allTenants() []string {
	var out []string
	for _, t := range s.req.Tools {
		for _, id := range s.tenants[t.Name] {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// classify says what text asks for first; across tenants, a request to
// sign users out everywhere is handled as a compromise.
func (s *state) classify(text string) intent {
	its := intentsOf(s.canon(text))
	if len(its) == 0 {
		return intentNone
	}
	if its[0] == intentRevoke && s.msp() {
		// A password reset with "and end the sessions" stays a reset.
		if slices.Contains(its, intentPassword) {
			return intentPassword
		}
		return intentHacked
	}
	return its[0]
}

func noIntent(it intent) bool {
	return it == intentNone || it == intentGreeting || it == intentThanks
}

func asksWhoOrWhere(prev string) bool {
	return strings.Contains(prev, tenantQuestion) || strings.Contains(prev, whomQuestion)
}

// said is everything the user said for this request: the request and
// their answers to our questions.
func (s *state) said() string {
	parts := []string{s.text}
	if noIntent(s.classify(s.text)) && (strings.Contains(s.prev, groupQuestion) || strings.Contains(s.prev, licenseQuestion) || strings.Contains(s.prev, autoReplyQuestion)) {
		parts = []string{s.earlier, s.text} // an answer to our question
	}
	if s.extra != "" {
		parts = append(parts, s.extra)
	}
	return strings.Join(parts, "\n")
}

// upns returns the distinct user names in text, in order (findUPNs,
// remembered). Callers do not modify the slice.
func upns(text string) []string { return upnMemo.Get(text) }

var upnMemo = newMemo(findUPNs)

// findUPNs returns the distinct user names in text, in order.
func findUPNs(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range upnPattern.FindAllString(text, -1) {
		if k := strings.ToLower(u); !seen[k] {
			seen[k] = true
			out = append(out, u)
		}
	}
	return slices.Clip(out)
}

// someone returns the user a technician's request across tenants is
// about: the first user name in texts that is not the technician's own.
func (s *state) someone(texts ...string) string {
	for _, u := range upns(strings.Join(texts, "\n")) {
		if !s.isSelf(u) {
			return u
		}
	}
	return ""
}

// tenantFor chooses the tenant of a call of tool for user ("" for a call
// about no user): the tenant a user's domain names ("alex@fabrikam.com",
// "x@contoso.onmicrosoft.com") unless the request names another one as a
// word (then it asks), else the one tenant the request names as a word
// ("in fabrikam"), else, for a call about no user, the tenant of the
// users the request names, else the only tenant there is.
func (s *state) tenantFor(tool, user string) (string, bool) {
	enum := s.tenants[tool]
	named := namedTenant(s.said(), enum)
	if user != "" {
		if t := agent.TenantOfUser(user, enum); t != "" {
			if named != "" && named != t {
				return "", false // "x@contoso.com in fabrikam": ask, don't guess
			}
			return t, true
		}
	}
	if named != "" {
		return named, true
	}
	if user == "" {
		var found []string
		for _, u := range upns(s.said()) {
			if t := agent.TenantOfUser(u, enum); t != "" && !slices.Contains(found, t) {
				found = append(found, t)
			}
		}
		if len(found) == 1 {
			return found[0], true
		}
	}
	if len(enum) == 1 {
		return enum[0], true
	}
	return "", false
}

// namedTenant returns the tenant of enum that text names as a word, when
// it names exactly one; the domains of user names do not count.
func namedTenant(text string, enum []string) string {
	text = strings.ToLower(upnPattern.ReplaceAllString(text, " "))
	found := ""
	for _, id := range enum {
		if !namesWord(text, strings.ToLower(id)) {
			continue
		}
		if found != "" && found != id {
			return ""
		}
		found = id
	}
	return found
}

// namesWord reports whether text holds word between word boundaries.
func namesWord(text, word string) bool {
	if word == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !wordByte(text[start-1])) && (end == len(text) || !wordByte(text[end])) {
			return true
		}
		i = start + 1
	}
}

func wordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b >= 0x80
}

// list joins words as "a", "a and b", "a, b and c".
func list(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// exampleUser is a user name to show in examples.
func (s *state) exampleUser() string {
	if ts := s.allTenants(); len(ts) > 0 {
		return "alex@" + ts[len(ts)-1] + ".com"
	}
	return "alex@example.com"
}

// noTenant answers a request whose tenant cannot be told with text (from
// askTenant): it asks which tenant, or declines when there is none to
// choose.
func (s *state) noTenant(text string) agent.Response {
	if len(s.allTenants()) == 0 {
		return s.decline(text)
	}
	return s.ask(text)
}

// askTenant asks which client tenant user ("" for none) is in.
func (s *state) askTenant(users ...string) string {
	ts := s.allTenants()
	if len(ts) == 0 {
		return "I can't act in any client tenant for you here. Please contact your MSP's administrators."
	}
	q := tenantQuestion + " is this in?"
	if users = nonEmpty(users); len(users) > 0 {
		q = fmt.Sprintf("%s is %s in?", tenantQuestion, list(users))
		if len(users) > 1 {
			q = fmt.Sprintf("%s are %s in?", tenantQuestion, list(users))
		}
	}
	return fmt.Sprintf("%s I can work in %s. Say, for example: in %s, or give the user's address there, like %s.",
		q, list(ts), ts[len(ts)-1], s.exampleUser())
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, x := range ss {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// askWhom asks whose account a request is about; across tenants example
// is a request that names one, with %s for the address.
func (s *state) askWhom(example string) agent.Response {
	if !s.msp() {
		return s.ask("Whose account do you mean? Please give me their email address.")
	}
	return s.ask(whomQuestion + " You act in client tenants, where you have no account of your own, so please give me the user's email address. " +
		"For example: " + fmt.Sprintf(example, s.exampleUser()) + ".")
}

// withoutTenants removes the phrases that name a tenant ("in contoso",
// "in the fabrikam tenant") from text, so that they are not read as part
// of a group's or a product's name.
func (s *state) withoutTenants(text string) string {
	for _, id := range s.allTenants() {
		if re := tenantPhrases.Get(id); re != nil {
			text = re.ReplaceAllString(text, "")
		}
	}
	return text
}

// tenantPhrases are the patterns of the phrases that name a tenant, by
// its id, compiled once; nil when one does not compile.
var tenantPhrases = newMemo(func(id string) *regexp.Regexp {
	re, err := regexp.Compile(`(?i)\s*\b(?:in|at|for|of)\s+(?:the\s+)?` + regexp.QuoteMeta(id) + `(?:'s)?(?:\s+(?:tenant|client|company))?\b`)
	if err != nil {
		return nil
	}
	return re
})
