package offline

import (
	"encoding/json"
	"fmt"
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
	offboardCue = mustPattern(`(?i)\b(off-?board(ing)?|leaver|last day|has left (the company|us)|is leaving (the company|us)|left the company)\b`)
	// "offboard alex wilber", "alex wilber is leaving": a first and last
	// name, when no address is given.
	offboardName = mustPattern(`(?i)\boff-?board(?:ing)?\s+(?:of\s+)?([a-z][a-z'-]+)\s+([a-z][a-z'-]+)`)
	leaverName   = mustPattern(`(?i)\b([a-z][a-z'-]+)\s+([a-z][a-z'-]+)(?:'s last day| is leaving| has left| left the company)`)
)

// lifecycle serves an offboarding request of IT staff; ok is false when the
// request is not one.
func (s *state) lifecycle() (agent.Response, bool) {
	if r, ok := s.onboarding(); ok {
		return r, true
	}
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
		return s.proposePlan(r, toolOffboard, "Offboarding plan, approved once as a whole; each step is still decided by policy."), true
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

// Onboarding: "we have a new starter in Sales, Jane Doe, reporting to Lynne
// Robbins" becomes one read of what onboarding takes
// (lifecycle.onboard_plan) and the plan call (lifecycle.onboard) with the
// plan it returned, unchanged.
const (
	toolOnboardPlan = "lifecycle_onboard_plan"
	toolOnboard     = "lifecycle_onboard"
)

var (
	onboardCue  = mustPattern(`(?i)\b(on-?board(ing)?|new (starter|hire|joiner|employee|colleague)|starts (on )?(monday|tuesday|wednesday|thursday|friday|today|tomorrow|next week))\b`)
	onboardDept = mustPattern(`(?i)\b(?:in|to|for|joins?|joining)\s+(?:the\s+)?([A-Z][A-Za-z&-]+)(?:\s+(?:team|department|dept))?\b`)
	// Names are two capitalized words: "Jane Doe".
	personName  = mustPattern(`\b([A-Z][a-z'-]+)\s+([A-Z][a-z'-]+)\b`)
	reportingTo = mustPattern(`(?i)\b(?:reporting to|reports to|manager is|managed by|under)\s+([A-Za-z'-]+\s+[A-Za-z'-]+|[^\s,;]+@[^\s,;]+)`)
	withLicense = mustPattern(`(?i)\bwith (?:an? )?([A-Z0-9_]{2,})(?: license)?\b`)
)

// onboarding serves an onboarding request of IT staff; ok is false when
// the request is not one.
func (s *state) onboarding() (agent.Response, bool) {
	if !s.tech() || !onboardCue.MatchString(s.text) || offboardCue.MatchString(s.text) || s.existingStarter() {
		return agent.Response{}, false
	}
	if !s.can(toolOnboardPlan) || !s.can(toolOnboard) {
		return s.decline("I can't onboard people here."), true
	}
	if r := s.get(toolOnboard); r != nil {
		who, _ := r.args["user"].(string)
		return say(s.outcome(r, fmt.Sprintf("The onboarding of %s is recorded; each step runs now and a report follows.", who))), true
	}
	if r := s.get(toolOnboardPlan); r != nil {
		if !r.ok {
			return say(s.outcome(r, "")), true
		}
		return s.proposePlan(r, toolOnboard, "Onboarding plan, approved once as a whole; each step is still decided by policy."), true
	}
	_, domain, _ := strings.Cut(s.req.Requester.UPN, "@")
	text := s.text
	manager := ""
	if m := reportingTo.FindStringSubmatch(text); m != nil {
		manager = strings.TrimSpace(m[1])
		text = strings.Replace(text, m[0], " ", 1)
		if !strings.Contains(manager, "@") {
			manager = strings.ToLower(strings.Join(strings.Fields(manager), ".")) + "@" + domain
		}
	}
	dept := ""
	if m := onboardDept.FindStringSubmatch(text); m != nil {
		dept = m[1]
		text = strings.Replace(text, m[0], " ", 1)
	}
	name := ""
	for _, m := range personName.FindAllStringSubmatch(text, -1) {
		if !strings.EqualFold(m[1], "We") && !strings.EqualFold(m[1], "New") {
			name = m[1] + " " + m[2]
			break
		}
	}
	switch {
	case name == "":
		return s.ask("What is the new hire's first and last name?"), true
	case dept == "":
		return s.ask("Which department does " + name + " join?"), true
	case manager == "" || s.msp():
		return s.ask("Who is " + name + "'s manager? Tell me their email address."), true
	}
	args := map[string]any{"display_name": name, "department": dept, "manager": manager}
	if m := withLicense.FindStringSubmatch(s.text); m != nil {
		args["license"] = m[1]
	}
	return s.call(toolOnboardPlan, args, ""), true
}

// existingStarter reports whether an onboarding request is about someone
// who already has an account: it gives their address (not the manager's)
// and asks for one thing the model does ("new starter
// enrico.cattaneo@contoso.com, add him to VPN Users"). That is the one
// task, not a plan that creates an account.
func (s *state) existingStarter() bool {
	text := reportingTo.ReplaceAllString(s.text, " ")
	return upnPattern.MatchString(text) && len(intentsOf(s.canon(text))) > 0
}

// proposePlan proposes the plan call tool with the plan the read r
// returned, unchanged, saying lead and what is left for a person.
func (s *state) proposePlan(r *result, tool, lead string) agent.Response {
	var out struct {
		Plan     json.RawMessage `json:"plan"`
		LeftToDo []string        `json:"left_for_a_person"`
	}
	var args map[string]any
	if json.Unmarshal(r.output, &out) != nil || len(out.Plan) == 0 || json.Unmarshal(out.Plan, &args) != nil {
		return say("I got an answer I could not read, so I stopped. Nothing was changed.")
	}
	if len(out.LeftToDo) > 0 {
		var left []string
		for _, l := range out.LeftToDo {
			left = append(left, tierzero.PrintableLine(l))
		}
		lead += " Left for a person: " + strings.Join(left, "; ") + "."
	}
	return s.call(tool, args, lead)
}
