package offline

import (
	"encoding/json"
	"strings"
	"time"
	_ "time/tzdata" // the zones of usage locations, wherever the binary runs

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

var (
	offWords  = mustPattern(`\b(turn (it |them )?off|switch (it |them )?off|disable|stop|remove|cancel|deactivate|turn off|end)\b`)
	backWords = mustPattern(`\b(i'm back|i am back|back (in the office|at work|from)|wieder da|wieder im buro|zuruck|de vuelta|ya volvi|de retour|je suis rentre)\b`)
)

// autoReplyQuestion is the question of old conversations, asked before
// the model asked for the dates too.
const autoReplyQuestion = "What should your automatic reply say?"

// askedAutoReply reports whether the answer before this message asked for
// an automatic reply's message or dates, in any language.
func (s *state) askedAutoReply() bool { return asksAutoReply(s.prev) }

// asksAutoReply reports whether prev asks for an automatic reply's message
// or dates, in any language.
func asksAutoReply(prev string) bool {
	if strings.Contains(prev, autoReplyQuestion) {
		return true
	}
	for _, p := range []phrase{msgAutoReplyAsk, msgAutoReplyAskMessage} {
		for _, f := range phrases[p] {
			q := f[:strings.IndexAny(f, "?")+1]
			if i := strings.Index(q, ". "); i >= 0 {
				q = q[i+2:]
			}
			if q != "" && strings.Contains(prev, q) {
				return true
			}
		}
	}
	return false
}

// autoReplyUser is whose automatic replies the request before this answer
// was about: "" for the requester.
func (s *state) autoReplyUser() string {
	ts, _ := s.tasksOf(s.earlier)
	for _, t := range ts {
		if t.it == intentAutoReply {
			return t.user
		}
	}
	return ""
}

// countryZones are the time zones of countries that have one.
var countryZones = map[string]string{
	"GB": "Europe/London", "IE": "Europe/Dublin", "DE": "Europe/Berlin", "FR": "Europe/Paris", "ES": "Europe/Madrid",
	"IT": "Europe/Rome", "NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "LU": "Europe/Luxembourg", "CH": "Europe/Zurich",
	"AT": "Europe/Vienna", "PL": "Europe/Warsaw", "CZ": "Europe/Prague", "SK": "Europe/Bratislava", "HU": "Europe/Budapest",
	"SE": "Europe/Stockholm", "NO": "Europe/Oslo", "DK": "Europe/Copenhagen", "FI": "Europe/Helsinki", "EE": "Europe/Tallinn",
	"LV": "Europe/Riga", "LT": "Europe/Vilnius", "GR": "Europe/Athens", "RO": "Europe/Bucharest", "BG": "Europe/Sofia",
	"HR": "Europe/Zagreb", "SI": "Europe/Ljubljana", "IS": "Atlantic/Reykjavik", "IL": "Asia/Jerusalem", "AE": "Asia/Dubai",
	"IN": "Asia/Kolkata", "SG": "Asia/Singapore", "JP": "Asia/Tokyo", "KR": "Asia/Seoul", "HK": "Asia/Hong_Kong",
	"PH": "Asia/Manila", "ZA": "Africa/Johannesburg", "NZ": "Pacific/Auckland", "CO": "America/Bogota", "PE": "America/Lima",
	"AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago",
}

// readZone sets the zone from the user's usage location, read with
// user_get, when the tenant's zone is not configured.
func (s *state) readZone(user string) {
	r := s.callFor(toolGetUser, user)
	if r == nil || !r.ok {
		return
	}
	var v struct {
		UsageLocation string `json:"usageLocation"`
	}
	if json.Unmarshal(r.output, &v) != nil {
		return
	}
	if name := countryZones[strings.ToUpper(v.UsageLocation)]; name != "" {
		if z, err := time.LoadLocation(name); err == nil {
			s.zone = z
		}
	}
}

// autoReply sets the out-of-office reply from the message and dates in the
// request, asking for what is missing. answer, when set, is the user's
// answer to that question.
func (s *state) autoReply(t task, answer string) agent.Response {
	me := s.userOf(t)
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
	if !s.zoneSet {
		s.readZone(me)
	}
	if r := s.callFor(toolAutoReply, me); r != nil {
		return say(s.outcome(r, s.autoReplyDone(r.args, me)))
	}
	if !s.can(toolAutoReply) {
		return s.escalate("the user asks to set their automatic replies, and the tool is not available to them", "I can't set automatic replies here.")
	}
	msg := autoReplyMessage(s.text)
	if answer != "" {
		if msg = autoReplyMessage(answer); msg == "" {
			msg = autoReplyMessage(s.earlier)
		}
		if msg == "" {
			msg = strings.TrimSpace(answer)
		}
	}
	period := request
	if msg != "" {
		period = strings.Replace(period, msg, " ", -1)
	}
	c := s.canon(unquoted(period))
	start, end, ok, dated := absence(period, s.now, s.zone)
	if offWords.MatchString(c) || (backWords.MatchString(c) && !dated && msg == "") {
		return s.call(toolAutoReply, map[string]any{"user": me, "status": "disabled"}, "")
	}
	if msg == "" {
		if dated || !periodWords.MatchString(tierzero.Fold(period)) {
			return s.ask(s.tr(msgAutoReplyAskMessage))
		}
		return s.ask(s.tr(msgAutoReplyAsk))
	}
	if !ok && (dated || (answer == "" && untilWords.MatchString(tierzero.Fold(period)))) {
		// "until the end of the holidays": the end is never dropped.
		return s.ask(s.tr(msgAutoReplyAsk))
	}
	if ok && !s.zoneSet && !s.msp() && s.can(toolGetUser) && s.callFor(toolGetUser, me) == nil {
		// Dates are read in the user's zone: their profile tells it.
		return s.call(toolGetUser, map[string]any{"user": me}, "")
	}
	msg = clip(msg, 4000)
	args := map[string]any{"user": me, "status": "alwaysEnabled", "internalMessage": msg, "externalMessage": msg}
	if ok {
		args["status"], args["start"], args["end"] = "scheduled", start.UTC().Format(rfc3339), end.UTC().Format(rfc3339)
	}
	return s.call(toolAutoReply, args, "")
}

var untilWords = mustPattern(`\b(until|till|til|through|back on|bis|hasta|jusqu)\b`)

func (s *state) autoReplyDone(args map[string]any, user string) string {
	status, _ := args["status"].(string)
	switch status {
	case "disabled":
		return s.tr(msgAutoReplyOff, s.whoseReplies(user))
	case "scheduled":
		start, _ := time.Parse(rfc3339, str(args["start"]))
		end, _ := time.Parse(rfc3339, str(args["end"]))
		return s.tr(msgAutoReplyScheduled, s.whoseReplies(user), s.day(start), s.day(end))
	}
	return s.tr(msgAutoReplyOn, s.whoseReplies(user))
}

func str(v any) string { x, _ := v.(string); return x }
