package offline

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// Lifecycle plans (docs/lifecycle.md): a technician's "offboard alex
// wilber, his last day was friday" becomes one read of what offboarding
// takes (lifecycle.offboard_plan) and then one plan call
// (lifecycle.offboard) with the plan that read returned, unchanged: the
// agent shows it in full for the technician's yes, and policy sends it for
// approval once.
const (
	toolOffboardPlan = "lifecycle_offboard_plan"
	toolOffboard     = "lifecycle_offboard"
)

var (
	offboardCue = regexp.MustCompile(`(?i)\b(off-?board(ing)?|leaver|last day|has left (the company|us)|is leaving (the company|us)|left the company)\b`)
	// "offboard alex wilber", "alex wilber is leaving": a first and last
	// name, when no address is given.
	offboardName = regexp.MustCompile(`(?i)\boff-?board(?:ing)?\s+(?:of\s+)?([a-z][a-z'-]+)\s+([a-z][a-z'-]+)`)
	leaverName   = regexp.MustCompile(`(?i)\b([a-z][a-z'-]+)\s+([a-z][a-z'-]+)(?:'s last day| is leaving| has left| left the company)`)
)

// lifecycle serves an offboarding request of IT staff; ok is false when the
// request is not one.
func (s *state) lifecycle() (agent.Response, bool) {
	if !s.tech() || !offboardCue.MatchString(s.text) {
		return agent.Response{}, false
	}
	if !s.can(toolOffboardPlan) || !s.can(toolOffboard) {
		return s.decline("I can't offboard people here."), true
	}
	if r := s.get(toolOffboard); r != nil {
		who, _ := r.args["user"].(string)
		return say(s.outcome(r, fmt.Sprintf("The offboarding of %s is recorded; each step runs now and a report follows.", who))), true
	}
	if r := s.get(toolOffboardPlan); r != nil {
		if !r.ok {
			who, _ := r.args["user"].(string)
			if r.err != nil && r.err.Code == tierzero.ENotFound {
				return s.ask(fmt.Sprintf("I found no one as %s. What is the leaver's email address?", who)), true
			}
			return say(s.outcome(r, "")), true
		}
		var out struct {
			Plan     json.RawMessage `json:"plan"`
			LeftToDo []string        `json:"left_for_a_person"`
		}
		if json.Unmarshal(r.output, &out) != nil || len(out.Plan) == 0 {
			return say("I got an answer I could not read, so I stopped. Nothing was changed."), true
		}
		var args map[string]any
		if json.Unmarshal(out.Plan, &args) != nil {
			return say("I got an answer I could not read, so I stopped. Nothing was changed."), true
		}
		lead := "Offboarding plan, approved once as a whole; each step is still decided by policy."
		if len(out.LeftToDo) > 0 {
			var left []string
			for _, l := range out.LeftToDo {
				left = append(left, tierzero.PrintableLine(l))
			}
			lead += " Left for a person: " + strings.Join(left, "; ") + "."
		}
		return s.call(toolOffboard, args, lead), true
	}
	user := s.leaver()
	if user == "" {
		return s.ask("Who is leaving? Tell me their email address, for example: offboard alex.wilber@contoso.com."), true
	}
	args := map[string]any{"user": user}
	if s.msg != "" {
		args["auto_reply"] = s.msg
	}
	return s.call(toolOffboardPlan, args, ""), true
}

// leaver is the account the request offboards: an address it gives, else
// first.last at the requester's own domain for a name it gives (the plan's
// read then finds them, or says there is no such person).
func (s *state) leaver() string {
	if u := s.someone(s.text, s.extra); u != "" {
		return u
	}
	m := offboardName.FindStringSubmatch(s.text)
	if m == nil {
		m = leaverName.FindStringSubmatch(s.text)
	}
	_, domain, ok := strings.Cut(s.req.Requester.UPN, "@")
	if m == nil || !ok || s.msp() {
		return ""
	}
	first, last := strings.ToLower(m[1]), strings.ToLower(m[2])
	for _, w := range []string{"his", "her", "their", "the", "a", "an", "is", "was", "please", "today", "now"} {
		if last == w || first == w {
			return ""
		}
	}
	return first + "." + last + "@" + domain
}
