package offline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// A message may ask for several things ("I forgot my password and lost my
// phone"), about several people ("reset mine, and my colleague's too"). The
// model splits it into clauses, reads what each asks for and about whom,
// and serves the tasks in the order they were asked: the tasks it can do
// run one after the other, what it must refuse or hand over, or ask about,
// is said at the end, so that nothing asked is silently dropped.

// task is one thing a request asks for.
type task struct {
	it    intent
	user  string // the user it is about; "" is the requester
	named string // someone named without an address ("Alex", "a colleague")
	text  string // the clauses it comes from, as written
	asked bool   // asked for ("please ..."), not only told ("Lynne replaced her phone")
}

func (t task) other() bool { return t.named != "" }

var (
	quotedSpan   = mustPattern(`"[^"\n]*"|“[^”\n]*”|„[^“”"\n]*[“”"]|«[^»\n]*»`)
	sentenceEnd  = mustPattern(`[.!?;]+(\s+|$)`)
	clauseJoin   = mustPattern(`(?i),\s+(?:(?:and|but|also|plus|then|und|aber|sowie|y|pero|et|mais|puis)\s+)?|\s+(?:and also|and then|as well as|and|also|plus|und|sowie|y|et|while you'?re at it,?)\s+`)
	monthStart   = mustPattern(`^\s*(?i:` + monthNames + `)\b`)
	requestCue   = mustPattern(`\b(need|needs|want|wants|would like|can you|could you|please|help|fix|sort|set up|turn (on|off)|give|get me|add|remove|reset|change|check|look at|issue|make|send|why|how|stuck|broken|not working|doesn't work|isn't working|can't|won't|problem|error|do it|do that|enable|restart|wipe|retire|unlock|assign)\b|\?`)
	imperative   = mustPattern(`^\W*(?:(?:please|pls|hi|hello|hey|ok|okay|and|also|then)\W+)*(sign|take|put|add|remove|reset|issue|restart|reboot|wipe|retire|enable|assign|turn|set|give|unlock|revoke|move|send|check|show|create|change|kill|end|force|disable|install|update|sync|fix|make|let)\b`)
	explicitAsk  = mustPattern(`\b(need|needs|want|wants|would like|i'd like|can you|could you|would you|please|give me|get me|set up|necesito|quiero|brauche|besoin|j'aimerais|voudrais)\b`)
	anaphora     = mustPattern(`\b(it|that|this|those|them|these|hers|his|her|him|too|as well|the same|that one|this one|es|das|la|lo|le|eso|ca|cela)\b`)
	genericWords = map[string]bool{"can": true, "you": true, "could": true, "would": true, "please": true, "help": true, "me": true, "i": true,
		"need": true, "want": true, "it": true, "this": true, "that": true, "the": true, "a": true, "an": true, "sort": true, "fix": true,
		"thanks": true, "hi": true, "hello": true, "hey": true, "what": true, "do": true, "does": true, "should": true, "how": true, "to": true,
		"and": true, "or": true, "also": true, "my": true, "is": true, "are": true, "with": true, "for": true, "so": true, "now": true,
		"out": true, "asap": true, "today": true, "right": true, "away": true, "sorry": true, "ok": true, "okay": true, "quickly": true,
		"again": true, "too": true, "as": true, "well": true, "just": true, "anything": true, "know": true, "let": true, "wat": true,
		"while": true, "you're": true, "at": true, "be": true, "on": true, "in": true, "of": true, "there": true, "here": true,
		"he": true, "she": true, "they": true, "him": true, "her": true, "hers": true, "his": true, "them": true, "their": true,
		"needs": true, "la": true, "lo": true, "le": true, "les": true, "el": true, "por": true, "favor": true, "es": true, "sie": true,
		"du": true, "vous": true, "tu": true, "moi": true, "mir": true, "mich": true, "te": true, "se": true, "de": true, "que": true,
		"y": true, "et": true, "und": true, "svp": true, "reset": true, "set": true, "turn": true, "restart": true,
		"unlock": true, "check": true, "change": true, "add": true, "remove": true, "same": true, "one": true, "up": true, "off": true}
	firstPerson = mustPattern(`\b(i|my|me|mine|myself|i'm|i've|ich|mein|meine|meinen|meinem|meiner|mich|mir|mi|mis|yo|je|j'ai|mon|ma|mes|moi)\b`)
	thirdPerson = mustPattern(`\b(he|she|his|her|hers|him|they|them|their|he's|she's|er|ihm|ihn|seine|seinen|sein|il|elle|lui|ella)\b`)
	otherPeople = mustPattern(`\b(colleague|coworker|co-worker|manager|boss|intern|teammate|kollege|kollegin|companero|companera|collegue|someone else|somebody else)('s)?\b`)
	possessive  = mustPattern(`\b([A-Z][a-z]+)'s\b`)
	contactUPN  = mustPattern(`(?i)\b(contact|reach|e-?mail|write to|ask|kontaktieren sie|wenden sie sich (?:bitte )?an|an|contacte[rz]?|contactar|escriba a|escribir a|ecrivez a|écrivez à|cc)\s+(\S+@\S+)`)
	notNames    = map[string]bool{"It": true, "That": true, "What": true, "He": true, "She": true, "There": true, "Here": true, "Let": true,
		"Who": true, "This": true, "Today": true, "Tomorrow": true, "Everyone": true, "Nobody": true, "Someone": true, "Microsoft": true, "Company": true}
	againWords = mustPattern(`\b(again|still|another|didn't work|doesn't work|not working|wieder|noch|otra vez|de nuevo|encore)\b`)
)

// clauses splits text into the clauses that may each ask for something
// (splitClauses, remembered). Callers do not modify the slice.
func (s *state) clauses(text string) []string { return clauseMemo.Get(text) }

var clauseMemo = newMemo(splitClauses)

// splitClauses splits text into the clauses that may each ask for
// something: sentences, and parts joined by "and" or a comma when each
// part asks for something of its own. Quoted text is never split.
func splitClauses(text string) []string {
	masked := []byte(text)
	for _, m := range quotedSpan.FindAllStringIndex(text, -1) {
		for i := m[0]; i < m[1]; i++ {
			if masked[i] != '\n' {
				masked[i] = 'x'
			}
		}
	}
	var sentences []string
	last := 0
	for _, m := range sentenceEnd.FindAllIndex(masked, -1) {
		// "8. Januar", "2027. Text": a number's dot ends no sentence when a
		// month follows.
		if m[0] > 0 && masked[m[0]-1] >= '0' && masked[m[0]-1] <= '9' && monthStart.Match(masked[m[1]:]) {
			continue
		}
		if s := strings.TrimSpace(text[last:m[1]]); s != "" {
			sentences = append(sentences, s)
		}
		last = m[1]
	}
	if s := strings.TrimSpace(text[last:]); s != "" {
		sentences = append(sentences, s)
	}
	var out []string
	for _, sen := range sentences {
		m := []byte(sen)
		for _, q := range quotedSpan.FindAllStringIndex(sen, -1) {
			for i := q[0]; i < q[1]; i++ {
				m[i] = 'x'
			}
		}
		var parts []string
		last := 0
		for _, j := range clauseJoin.FindAllIndex(m, -1) {
			parts = append(parts, sen[last:j[0]])
			last = j[1]
		}
		parts = append(parts, sen[last:])
		// A part that asks for nothing of its own stays with the one before.
		var kept []string
		for _, p := range parts {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if len(kept) > 0 && !meaningful(p) {
				kept[len(kept)-1] += ", " + p
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) > 1 && !meaningful(kept[0]) {
			kept[1] = kept[0] + ", " + kept[1]
			kept = kept[1:]
		}
		out = append(out, kept...)
	}
	return slices.Clip(out)
}

// meaningful reports whether a part of a sentence asks or tells something
// of its own.
func meaningful(part string) bool {
	c := canon(unquoted(part))
	return len(intentsOf(c)) > 0 || len(intentsOf(canon(part))) > 0 || requestCue.MatchString(c) || upnPattern.MatchString(part)
}

// unquoted is text without the messages it quotes (unquote, remembered).
func unquoted(text string) string { return unquoteMemo.Get(text) }

var unquoteMemo = newMemo(unquote)

// uncontacted is unquoted text with the contacts it gives ("contact
// x@y.com") as bare addresses, remembered.
func uncontacted(text string) string { return uncontactMemo.Get(text) }

var uncontactMemo = newMemo(func(text string) string {
	return unquoted(contactUPN.ReplaceAllString(text, "$1"))
})

// unquote is text without the messages it quotes; a quote of a few
// words ("nicht konform", "Marketing Team") stays.
func unquote(text string) string {
	return quotedSpan.ReplaceAllStringFunc(text, func(q string) string {
		if len(strings.Fields(q)) < 4 {
			return q
		}
		return ` "" `
	})
}

// substantive reports whether a clause that asks for nothing the model
// knows still asks for something ("I need VPN access"), not only for help.
func substantive(c string) bool {
	n := 0
	for _, w := range wordRE.FindAllString(upnPattern.ReplaceAllString(c, " "), -1) {
		if !genericWords[w] && len(w) > 1 {
			n++
		}
	}
	return n >= 3
}

// subject is whom a clause is about: a user name it names (not one given
// as a contact), else someone it names without one, else, for "he" or
// "she", the person before, else the requester. prev is the subject of
// the clause before.
func (s *state) subject(clause string, prev task) (user, named string) {
	text := uncontacted(clause)
	if s.msg != "" {
		text = strings.Replace(text, s.msg, " ", 1)
	}
	for _, u := range upns(text) {
		if s.isSelf(u) || s.typoOfSelf(u) != "" {
			return "", ""
		}
		return u, ""
	}
	k := clueOf(text)
	if k.other != "" {
		return "", k.other
	}
	// "Take her out of Sales Team": her, the person named before.
	if k.third {
		if prev.user != "" {
			return prev.user, ""
		}
		if s.mentioned != nil {
			if u := s.mentioned(); u != "" {
				return u, ""
			}
		}
		if u := s.lastNamed(); u != "" {
			return u, ""
		}
	}
	for _, name := range k.possessives {
		if !notNames[name] && !s.isMyName(name) {
			return "", name
		}
	}
	if k.named {
		return "", k.name
	}
	// "Reset his password so I can hand it over": him, not me.
	if k.third {
		if prev.user != "" || prev.named != "" {
			return prev.user, prev.named
		}
		if s.mentioned != nil {
			if u := s.mentioned(); u != "" {
				return u, ""
			}
		}
		if u := s.lastNamed(); u != "" {
			return u, ""
		}
		if !k.first {
			return "", "them"
		}
	}
	if k.first {
		return "", ""
	}
	return prev.user, prev.named
}

// clue is what the words of a clause say about whom it is about.
type clue struct {
	other       string   // someone named by role ("my colleague"), canonical
	third       bool     // he, she, them...
	first       bool     // I, me, my...
	possessives []string // first names with 's ("Alex's"), in order
	named       bool     // "for Alex Wilber", "of my manager"...
	name        string   // ...whom
}

// clueOf reads the clue of text, remembered.
func clueOf(text string) clue { return clueMemo.Get(text) }

var clueMemo = newMemo(func(text string) clue {
	c := canon(text)
	k := clue{other: otherPeople.FindString(c), third: thirdPerson.MatchString(c), first: firstPerson.MatchString(c)}
	for _, m := range possessive.FindAllStringSubmatch(text, -1) {
		k.possessives = append(k.possessives, m[1])
	}
	if m := otherPattern.FindStringSubmatch(text); m != nil {
		k.named, k.name = true, strings.TrimSpace(m[0][strings.IndexByte(m[0], ' ')+1:])
	}
	return k
})

// cues is what the canonical words of a clause say about asking.
type cues struct {
	cue         bool // a request cue or an imperative
	explicit    bool // an explicit ask ("I need", "can you")
	substantive bool // see substantive
}

// cueOf reads the cues of the canonical text c, remembered.
func cueOf(c string) cues { return cueMemo.Get(c) }

var cueMemo = newMemo(func(c string) cues {
	return cues{cue: requestCue.MatchString(c) || imperative.MatchString(c), explicit: explicitAsk.MatchString(c), substantive: substantive(c)}
})

// isMyName reports whether a first name is the requester's.
func (s *state) isMyName(name string) bool {
	n := strings.ToLower(name)
	if d := strings.Fields(strings.ToLower(s.req.Requester.DisplayName)); len(d) > 0 && d[0] == n {
		return true
	}
	local, _, _ := strings.Cut(strings.ToLower(s.self()), "@")
	first, _, _ := strings.Cut(local, ".")
	return first == n
}

// lastNamed is the last user name, not the requester's, that the requester
// wrote in this conversation before this request.
func (s *state) lastNamed() string {
	for i := s.at - 1; i >= 0; i-- {
		if t := s.req.Turns[i]; t.Role == tierzero.TurnUser {
			us := upns(unquoted(t.Content))
			for j := len(us) - 1; j >= 0; j-- {
				if !s.isSelf(us[j]) {
					return us[j]
				}
			}
		}
	}
	return ""
}

var (
	paragraphs  = mustPattern(`\n\s*\n`)
	toAssistant = mustPattern(`(?i)\b(assistant|a\.?i\.?|chatbot|bot|tierzero|copilot)\b[,:]|\b(note|message|instructions?) (for|to) the (assistant|ai|bot)\b|\b(call|use|run) [a-z]+_[a-z_]+\b|\{\s*"[a-z]+"\s*:|^\s*(system|important)\b`)
	noticeHead  = mustPattern(`(?i)^\s*[A-Z][\w .,'-]{0,40}\b(note|notice|ticket|case|alert|request|message from [^:]{1,60}|from [^:]{1,40})\b[^:\n]{0,30}:`)
)

// own splits a request into the requester's own words and what they
// pasted into it that gives orders (split, remembered).
func own(text string) (mine, pasted string) {
	p := ownMemo.Get(text)
	return p[0], p[1]
}

var ownMemo = newMemo(func(text string) [2]string {
	mine, pasted := splitOwn(text)
	return [2]string{mine, pasted}
})

// splitOwn splits a request into the requester's own words and what they
// pasted into it that gives orders: a later paragraph that speaks to the
// assistant, names tools, or is a notice ("HR note 123: reset ..."). What
// is pasted is data, never a request.
func splitOwn(text string) (mine, pasted string) {
	ps := paragraphs.Split(text, -1)
	var m, p []string
	for i, x := range ps {
		if i > 0 && (toAssistant.MatchString(x) || noticeHead.MatchString(x)) {
			p = append(p, strings.TrimSpace(x))
			continue
		}
		m = append(m, x)
	}
	return strings.Join(m, "\n\n"), strings.Join(p, "\n\n")
}

// tasksOf reads the tasks of a request, and the parts that ask for
// something the model does not know (unhandled).
func (s *state) tasksOf(text string) (tasks []task, unhandled []string) {
	whole := text
	text, pasted := own(text)
	if pasted != "" && whole == s.text {
		s.pasted = pasted
	}
	var prev task
	lastClause, mentioned := 0, ""
	s.mentioned = func() string {
		if mentioned != "" {
			return mentioned
		}
		return s.someone(uncontacted(text))
	}
	for _, cl := range s.clauses(text) {
		c := s.canon(unquoted(cl))
		its := intentsOf(c)
		if len(its) == 0 {
			// add me to "Marketing Team": the quote is the request's object.
			c = s.canon(cl)
			its = intentsOf(c)
		}
		k := cueOf(c)
		cue := k.cue
		if len(its) == 0 {
			if u := s.someone(uncontacted(cl)); u != "" {
				mentioned = u
			}
			switch {
			case len(tasks) > 0 && !k.substantive:
				// "Can you reset it?": more of the clause before, and of
				// every task it asked for.
				for i := lastClause; i < len(tasks); i++ {
					tasks[i].text += " " + cl
					tasks[i].asked = tasks[i].asked || cue
				}
			case k.explicit && k.substantive:
				// "I need VPN access": asked, and not something the model does.
				unhandled = append(unhandled, cl)
			}
			continue
		}
		user, named := s.subject(cl, prev)
		if user != "" {
			mentioned = user
		}
		lastClause = len(tasks)
		for _, it := range its {
			t := task{it: it, user: user, named: named, text: cl, asked: cue}
			tasks = append(tasks, t)
			prev = t
		}
	}
	return s.tidy(tasks), unhandled
}

func same(a, b task) bool { return strings.EqualFold(a.user, b.user) && a.named == b.named }

// tidy merges what is one task and drops what only tells the context of
// another.
func (s *state) tidy(ts []task) []task {
	has := func(it intent, like task) bool {
		return slices.ContainsFunc(ts, func(t task) bool { return t.it == it && same(t, like) })
	}
	asked := func(like task) bool {
		return slices.ContainsFunc(ts, func(t task) bool { return t.asked && same(t, like) })
	}
	var out []task
	for _, t := range ts {
		drop := false
		switch {
		case len(ts) > 1 && (t.it == intentGreeting || t.it == intentThanks || t.it == intentHelp):
			drop = true
		// What is told about someone else is the context of what is asked
		// about them ("Lynne replaced her phone. Retire the old one").
		case !t.asked && (t.user != "" || t.named != "") && asked(t) && !s.msp():
			drop = true
		// A lost phone is the context of what is asked about it.
		case t.it == intentMFA && !t.asked && (has(intentWipe, t) || has(intentRetire, t) || has(intentLock, t)):
			drop = true
		case t.it == intentMFA && has(intentLock, t) && !mfaStrong.MatchString(s.canon(t.text)):
			drop = true // "I lost my phone, lock it": the lock is asked
		case t.it == intentMFA && has(intentMFAReset, t):
			drop = true
		case t.it == intentLocked && has(intentPassword, t):
			drop = true
		case (t.it == intentPassword || t.it == intentLocked) && has(intentHacked, t) && !s.tech():
			drop = true
		case t.it == intentRevoke && has(intentHacked, t) && !s.tech():
			drop = true
		case t.it == intentHacked && has(intentRevoke, t) && s.tech() && !s.msp():
			drop = true
		}
		if drop {
			continue
		}
		if i := slices.IndexFunc(out, func(o task) bool { return o.it == t.it && same(o, t) }); i >= 0 {
			out[i].text += " " + t.text
			out[i].asked = out[i].asked || t.asked
			continue
		}
		out = append(out, t)
	}
	// Locked and forgotten are one sign-in problem: the text of both.
	for i := range out {
		if out[i].it == intentPassword {
			for _, t := range ts {
				if t.it == intentLocked && same(t, out[i]) && !strings.Contains(out[i].text, t.text) {
					out[i].text += " " + t.text
				}
			}
		}
	}
	// What this conversation already did is not done again unless asked
	// again ("I'm in with the new password, but now it wants a code").
	var fresh []task
	for _, t := range out {
		if s.doneBefore(t) && !againWords.MatchString(s.canon(t.text)) {
			continue
		}
		fresh = append(fresh, t)
	}
	return fresh
}

// writeOf is the write that does what an intent asks.
var writeOf = map[intent]string{
	intentPassword: toolReset, intentLocked: toolReset, intentMFA: toolTAP, intentMFAReset: toolResetMFA,
	intentAutoReply: toolAutoReply, intentGroup: toolAddMember, intentLicense: toolAssign, intentEnable: toolEnable,
	intentRevoke: toolRevoke, intentHacked: toolRevoke, intentCompliance: toolSync,
}

// doneBefore reports whether an earlier request of this conversation did
// what t asks, for the same user.
func (s *state) doneBefore(t task) bool {
	tool := writeOf[t.it]
	if tool == "" || s.at <= 0 || t.other() {
		return false
	}
	user := t.user
	if user == "" {
		user = s.self()
	}
	calls := map[string]bool{}
	for _, turn := range s.req.Turns[:s.at] {
		switch turn.Role {
		case tierzero.TurnAssistant:
			for _, c := range turn.ToolCalls {
				if c.Action != tool {
					continue
				}
				if u, _ := argsUser(c.Args); tool == toolSync || strings.EqualFold(u, user) || (u == "" && user == s.self()) {
					calls[c.ID] = true
				}
			}
		case tierzero.TurnTool:
			if calls[turn.ToolCallID] {
				var r result
				r.read(turn.Content)
				if r.ok {
					return true
				}
			}
		}
	}
	return false
}

// run serves the tasks in order: the first that has a call to make makes
// it; when all are done, their answers are said together, with the
// refusal, question or hand-over that ends the request last.
func (s *state) run(ts []task, unhandled []string) agent.Response {
	var texts []string
	var end *agent.Response
	rank := map[string]int{agent.DeclineTool: 1, agent.AskTool: 2, agent.EscalateTool: 3}
	for _, t := range ts {
		r := s.do(t)
		if len(r.ToolCalls) == 0 {
			texts = append(texts, r.Text)
			continue
		}
		kind := r.ToolCalls[0].Action
		if rank[kind] == 0 {
			return r // a call to make now
		}
		texts = append(texts, spoken(r))
		if end == nil || rank[kind] > rank[end.ToolCalls[0].Action] {
			end = &r
		}
	}
	if len(unhandled) > 0 {
		part := strings.Join(unhandled, " ")
		var r agent.Response
		if len(ts) == 0 {
			r = s.cannotHandle(part)
		} else {
			r = s.escalate("the offline assistant could not handle part of the request: "+clip(part, 300),
				s.tr(msgPartHandedOver, clip(part, 200)))
		}
		if len(r.ToolCalls) == 0 {
			texts = append(texts, r.Text)
		} else {
			texts = append(texts, spoken(r))
			if end == nil || rank[r.ToolCalls[0].Action] > rank[end.ToolCalls[0].Action] {
				end = &r
			}
		}
	}
	if s.pasted != "" && len(intentsOf(s.canon(s.pasted))) > 0 {
		texts = append(texts, fmt.Sprintf("Your message also holds text that gives me instructions (%q). I don't act on pasted instructions: if you want that, ask me in your own words.", clip(s.pasted, 120)))
	}
	if end == nil {
		return say(texts...)
	}
	out := *end
	if out.ToolCalls[0].Action == agent.AskTool {
		// The agent shows the text, then the question.
		q := spoken(out)
		var rest []string
		for _, t := range texts {
			if t != q {
				rest = append(rest, t)
			}
		}
		out.Text = say(rest...).Text
		return out
	}
	out.Text = say(texts...).Text
	return out
}

// spoken is what the user reads of a response: its text, or the reason or
// question of a pseudo-call.
func spoken(r agent.Response) string {
	if r.Text != "" {
		return r.Text
	}
	for _, c := range r.ToolCalls {
		var v struct{ Reason, Question string }
		if json.Unmarshal(c.Args, &v) == nil {
			if v.Question != "" {
				return v.Question
			}
			return v.Reason
		}
	}
	return ""
}
