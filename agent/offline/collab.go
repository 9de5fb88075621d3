package offline

// This file: the L2–L3 tools of collaboration (issue 18): a group's
// owners (listed, one added, one removed), a Microsoft Teams team's
// members (listed, one added as member or owner, one removed), a guest
// invited from outside the company, and Microsoft 365 service health ("is
// Outlook down?"). A team is found as its Microsoft 365 group; only a
// request that speaks of Teams reaches the team tools, so that "add me to
// the Marketing Team" stays a group membership, as it always was.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/tierzero/tierzero/agent"
)

// Tool names, as the model sees them.
const (
	toolGroupOwners  = "group_owners"
	toolAddOwner     = "group_add_owner"
	toolRemoveOwner  = "group_remove_owner"
	toolTeamMembers  = "team_members"
	toolTeamAdd      = "team_add_member"
	toolTeamRemove   = "team_remove_member"
	toolInviteGuest  = "user_invite_guest"
	toolServiceHealh = "service_health"
)

// The patterns read the canonical form of a request (canon).
var (
	ownerWord          = mustPattern(`\b(co-?)?owners?\b|\bwho owns\b`)
	addOwnerPattern    = mustPattern(`\b(add|make|set|give|appoint|assign)\b.{0,80}\b(co-?)?owners?\b`)
	removeOwnerPattern = mustPattern(`\b(remove|delete|drop|take|revoke)\b.{0,80}\b(co-?)?owners?\b|\bno longer (be )?(an? |the )?(co-?)?owner\b|\b(co-?)?owners?\b.{0,40}\b(remove|removed|taken off)\b`)
	// A team of Microsoft Teams, not the app: "in Teams", "the Falcon
	// team's members", "a Teams team".
	teamCue           = mustPattern(`\b(in|on|from|to) (microsoft |ms )?teams\b|\bteams team\b|\bteam members?\b|\bmembers of the\b.{1,60}\bteam\b|\bteam membership\b`)
	teamAddPattern    = mustPattern(`\b(add|put|invite|include)\b`)
	teamRemovePattern = mustPattern(`\b(remove|take|kick|drop|delete)\b.{0,80}\b(from|out of|off)\b`)
	teamListPattern   = mustPattern(`\bwho(?:'s| is| are)\b|\b(list|show|see|check)\b.{0,30}\bmembers\b|\bwhat members\b|\bmembers\b.{0,80}\?`)
	guestPattern      = mustPattern(`\binvite\b.{0,80}\b(guests?|external|outside|partner)\b|\b(guests?|external) (user|access|account)s?\b|\bas (an? )?(guest|external user)\b|\binvite\b[^.?!]{0,80}@`)
	healthPattern     = mustPattern(`\b(is|are)\b.{0,20}\b(outlook|teams|sharepoint|onedrive|exchange|email|e-?mail|mail|microsoft 365|office 365|m365|o365|office|intune|microsoft)\b.{0,30}\b(down|out|offline|having (problems|issues)|broken for everyone)\b|` +
		`\b(outages?|service health|service status|service incidents?)\b|\bdown for everyone\b|\b(is|are) (it|there) (a |an )?(known )?(issue|problem|outage|incident)s? with (outlook|teams|sharepoint|onedrive|exchange|email|microsoft 365|office 365)\b`)
)

// collabOnly returns the one intent a request about owners, a team's
// members, a guest or a service's health asks for.
func collabOnly(c string) (intent, bool) {
	switch {
	case healthPattern.MatchString(c):
		return intentServiceHealth, true
	case guestPattern.MatchString(c):
		return intentInviteGuest, true
	case ownerWord.MatchString(c) && removeOwnerPattern.MatchString(c):
		return intentRemoveOwner, true
	case ownerWord.MatchString(c) && addOwnerPattern.MatchString(c):
		return intentAddOwner, true
	case ownerWord.MatchString(c) && !teamCue.MatchString(c):
		return intentGroupOwners, true
	case teamCue.MatchString(c) && teamRemovePattern.MatchString(c):
		return intentTeamRemove, true
	case teamCue.MatchString(c) && teamAddPattern.MatchString(c):
		return intentTeamAdd, true
	case teamCue.MatchString(c) && (teamListPattern.MatchString(c) || ownerWord.MatchString(c)):
		return intentTeamMembers, true
	}
	return intentNone, false
}

// collabDo serves a task of this file; ok is false for another task. It
// runs before the check that an employee acts on their own account: the
// user a guest invitation or a service question names is not its target.
func (s *state) collabDo(t task) (agent.Response, bool) {
	switch t.it {
	case intentServiceHealth:
		return s.serviceHealth(t), true
	case intentInviteGuest:
		return s.inviteGuest(t), true
	case intentGroupOwners:
		return s.groupOwners(t), true
	case intentAddOwner:
		return s.ownerChange(t, toolAddOwner), true
	case intentRemoveOwner:
		return s.ownerChange(t, toolRemoveOwner), true
	case intentTeamMembers:
		return s.teamMembers(t), true
	case intentTeamAdd:
		return s.teamChange(t, toolTeamAdd), true
	case intentTeamRemove:
		return s.teamChange(t, toolTeamRemove), true
	}
	return agent.Response{}, false
}

var collabVerbs = map[intent]string{
	intentGroupOwners: "list group owners", intentAddOwner: "add group owners", intentRemoveOwner: "remove group owners",
	intentTeamMembers: "list team members", intentTeamAdd: "add people to teams", intentTeamRemove: "remove people from teams",
	intentInviteGuest: "invite guests",
}

var (
	// "owners of the Sales Team group", "owner of Project Falcon".
	ownersOf = mustPattern(`(?i)\bowners?\s+(?:of|for|in|on|to)\s+(?:the\s+)?(?:group\s+|team\s+)?(.+?)\s*(?:[.,;!?]|\bgroup\b|\b(?:and|instead|please|now|because|since|while|so|as|who|which|until)\b|$)`)
	whoOwns  = mustPattern(`(?i)\bwho\s+(?:owns|manages)\s+(?:the\s+)?(?:group\s+|team\s+)?(.+?)\s*(?:[.,;!?]|\band\b|$)`)
	// "the Project Falcon team in Teams", "to the Falcon team".
	teamOf = mustPattern(`(?i)\b(?:of|in|to|from|on|into|out of|off)\s+(?:the\s+)?(.+?)\s+team\b`)
)

// ownedGroupName is the group a request about owners names.
func ownedGroupName(text string) string {
	if q := groupQuoted.FindStringSubmatch(text); q != nil {
		return cleanGroupName(q[1])
	}
	text = upnPattern.ReplaceAllString(text, "someone")
	for _, p := range []pattern{ownersOf, whoOwns} {
		if m := p.FindStringSubmatch(text); m != nil {
			if n := cleanGroupName(m[1]); n != "" {
				return n
			}
		}
	}
	if n := parseGroupFrom(text); n != "" {
		return n
	}
	if m := groupNamed.FindStringSubmatch(text); m != nil {
		return cleanGroupName(m[1])
	}
	return ""
}

// teamName is the team a request about a team's members names.
func teamName(text string) string {
	if q := groupQuoted.FindStringSubmatch(text); q != nil {
		return cleanGroupName(q[1])
	}
	text = upnPattern.ReplaceAllString(text, "someone")
	if m := teamOf.FindAllStringSubmatch(text, -1); m != nil {
		n := m[len(m)-1][1]
		// "remove someone from the Falcon team": the name after the
		// last preposition.
		for _, sep := range []string{" from the ", " to the ", " of the ", " in the ", " from ", " to "} {
			if i := strings.LastIndex(strings.ToLower(n), sep); i >= 0 {
				n = n[i+len(sep):]
			}
		}
		return cleanGroupName(n)
	}
	return ""
}

// groupID is the group a name finds: a group.find by the name (without a
// trailing "team", which a team's name may or may not hold), then the one
// group of that name. r is nil while the call is still to make.
func (s *state) groupID(name string) (id, display string, resp *agent.Response) {
	prefix := strings.TrimSpace(name)
	if low := strings.ToLower(prefix); strings.HasSuffix(low, " team") && len(prefix) > 5 {
		prefix = strings.TrimSpace(prefix[:len(prefix)-5])
	}
	r := s.findGroup(prefix)
	if r == nil {
		c := s.call(toolGroupFind, map[string]any{"prefix": clip(prefix, 120)}, "")
		return "", "", &c
	}
	if !r.ok {
		c := s.cannotRead(r, fmt.Sprintf("the user asks about the group %q", clip(name, 120)), "look up groups")
		return "", "", &c
	}
	groups := foundGroups(r.output)
	pick := -1
	for i, g := range groups {
		if strings.EqualFold(g.DisplayName, name) || strings.EqualFold(g.DisplayName, prefix) {
			pick = i
		}
	}
	if pick < 0 && len(groups) == 1 {
		pick = 0
	}
	if pick < 0 {
		c := s.groupNotPicked(groups, prefix)
		return "", "", &c
	}
	return groups[pick].ID, groups[pick].DisplayName, nil
}

// latest returns the latest call of tool whose arguments hold every pair
// of want, or nil.
func (s *state) latest(tool string, want map[string]string) *result {
	for i := len(s.results) - 1; i >= 0; i-- {
		x := s.results[i]
		if x.name != tool {
			continue
		}
		all := true
		for k, v := range want {
			if got, _ := x.args[k].(string); !strings.EqualFold(got, v) {
				all = false
			}
		}
		if all {
			return x
		}
	}
	return nil
}

// groupOwners lists the owners of the group the request names.
func (s *state) groupOwners(t task) agent.Response {
	name := ownedGroupName(t.text)
	if name == "" {
		return s.ask(groupQuestion + " Tell me its name, for example: who owns the Marketing Team group?")
	}
	if !s.can(toolGroupFind) || !s.can(toolGroupOwners) {
		return s.decline("I can't read the owners of groups here. " + s.support())
	}
	id, display, resp := s.groupID(name)
	if resp != nil {
		return *resp
	}
	r := s.latest(toolGroupOwners, map[string]string{"group": id})
	if r == nil {
		return s.call(toolGroupOwners, map[string]any{"group": id}, fmt.Sprintf("I found %q.", display))
	}
	if !r.ok {
		return s.told(r, "")
	}
	var v struct {
		Owners []struct {
			UPN         string `json:"userPrincipalName"`
			DisplayName string `json:"displayName"`
			Kind        string `json:"kind"`
		} `json:"owners"`
	}
	json.Unmarshal(r.output, &v)
	var people []string
	apps := 0
	for _, o := range v.Owners {
		switch {
		case o.Kind != "user":
			apps++
		case o.DisplayName != "" && o.UPN != "":
			people = append(people, fmt.Sprintf("%s (%s)", o.DisplayName, o.UPN))
		default:
			people = append(people, o.UPN+o.DisplayName)
		}
	}
	out := fmt.Sprintf("%q has no owners: only admins manage it.", display)
	if len(people) > 0 {
		out = fmt.Sprintf("The owners of %q: %s.", display, strings.Join(people, ", "))
	}
	if apps > 0 {
		out += fmt.Sprintf(" %d more owner(s) are apps, not people.", apps)
	}
	return say(out)
}

// ownerChange adds or removes the owner the request names.
func (s *state) ownerChange(t task, tool string) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("make %s an owner of the Marketing Team group")
	}
	name := ownedGroupName(t.text)
	if name == "" {
		name = ownedGroupName(s.text) // "... and remove X as an owner": the group named before
	}
	if name == "" {
		return s.ask(groupQuestion + " Tell me its name, for example: make " + user + " an owner of the Marketing Team group.")
	}
	if !s.can(toolGroupFind) || !s.can(tool) {
		return s.decline("I can't change the owners of groups here. " + s.support())
	}
	id, display, resp := s.groupID(name)
	if resp != nil {
		return *resp
	}
	if x := s.latest(tool, map[string]string{"group": id, "user": user}); x != nil {
		var out struct{ AlreadyOwner, NotOwner bool }
		json.Unmarshal(x.output, &out)
		done := fmt.Sprintf("Done: %s is now an owner of %q and can manage its members and settings.", user, display)
		switch {
		case tool == toolAddOwner && out.AlreadyOwner:
			done = fmt.Sprintf("%s is already an owner of %q.", user, display)
		case tool == toolRemoveOwner && out.NotOwner:
			done = fmt.Sprintf("%s is not an owner of %q, so there was nothing to remove.", user, display)
		case tool == toolRemoveOwner:
			done = fmt.Sprintf("Done: %s is no longer an owner of %q.", user, display)
		}
		return s.told(x, done)
	}
	return s.call(tool, map[string]any{"group": id, "user": user}, fmt.Sprintf("I found %q.", display))
}

// teamMembers lists the members of the team the request names.
func (s *state) teamMembers(t task) agent.Response {
	name := teamName(t.text)
	if name == "" {
		return s.ask(groupQuestion + " Tell me the team's name, for example: who is in the Project Falcon team in Teams?")
	}
	if !s.can(toolGroupFind) || !s.can(toolTeamMembers) {
		return s.decline("I can't read the members of teams here. " + s.support())
	}
	id, display, resp := s.groupID(name)
	if resp != nil {
		return *resp
	}
	r := s.latest(toolTeamMembers, map[string]string{"team": id})
	if r == nil {
		return s.call(toolTeamMembers, map[string]any{"team": id}, fmt.Sprintf("I found %q.", display))
	}
	if !r.ok {
		return s.told(r, "")
	}
	var v struct {
		Members []struct {
			DisplayName string `json:"displayName"`
			Email       string `json:"email"`
			Role        string `json:"role"`
		} `json:"members"`
		Truncated bool `json:"truncated"`
	}
	json.Unmarshal(r.output, &v)
	if len(v.Members) == 0 {
		return say(fmt.Sprintf("The team %q has no members.", display))
	}
	var owners, members, guests []string
	for _, m := range v.Members {
		who := m.DisplayName
		if m.Email != "" {
			who += " (" + m.Email + ")"
		}
		switch m.Role {
		case "owner":
			owners = append(owners, who)
		case "guest":
			guests = append(guests, who)
		default:
			members = append(members, who)
		}
	}
	out := fmt.Sprintf("The team %q has %d member(s).", display, len(v.Members))
	if len(owners) > 0 {
		out += " Owners: " + strings.Join(owners, ", ") + "."
	}
	if len(members) > 0 {
		out += " Members: " + strings.Join(members, ", ") + "."
	}
	if len(guests) > 0 {
		out += " Guests: " + strings.Join(guests, ", ") + "."
	}
	if v.Truncated {
		out += " (The list is cut short; the team has more.)"
	}
	return say(out)
}

// teamChange adds the user the request names to a team (as an owner when
// it says so) or removes them from it.
func (s *state) teamChange(t task, tool string) agent.Response {
	user := s.l2User(t)
	if user == "" {
		return s.askWhom("add %s to the Project Falcon team in Teams")
	}
	name := teamName(t.text)
	if name == "" {
		return s.ask(groupQuestion + " Tell me the team's name, for example: add " + user + " to the Project Falcon team in Teams.")
	}
	if !s.can(toolGroupFind) || !s.can(tool) {
		return s.decline("I can't change the members of teams here. " + s.support())
	}
	id, display, resp := s.groupID(name)
	if resp != nil {
		return *resp
	}
	if x := s.latest(tool, map[string]string{"team": id, "user": user}); x != nil {
		var out struct {
			AlreadyMember, NotMember bool
			Role                     string
		}
		json.Unmarshal(x.output, &out)
		done := fmt.Sprintf("Done: %s is now in the team %q.", user, display)
		switch {
		case tool == toolTeamAdd && out.AlreadyMember:
			done = fmt.Sprintf("%s is already in the team %q (as %s).", user, display, out.Role)
		case tool == toolTeamAdd && out.Role == "owner":
			done = fmt.Sprintf("Done: %s is now an owner of the team %q.", user, display)
		case tool == toolTeamRemove && out.NotMember:
			done = fmt.Sprintf("%s is not in the team %q, so there was nothing to remove.", user, display)
		case tool == toolTeamRemove:
			done = fmt.Sprintf("Done: %s is no longer in the team %q.", user, display)
		}
		return s.told(x, done)
	}
	args := map[string]any{"team": id, "user": user}
	if tool == toolTeamAdd {
		args["role"] = "member"
		if ownerWord.MatchString(s.canon(t.text)) {
			args["role"] = "owner"
		}
	}
	return s.call(tool, args, fmt.Sprintf("I found %q.", display))
}

var (
	// "Jane Doe (jane@partner.com)", "jane@partner.com (Jane Doe)".
	nameBefore = mustPattern(`\b([A-Z][\p{L}'-]+(?:\s+[A-Z][\p{L}'-]+)+)\s*[(<,]?\s*$`)
	nameAfter  = mustPattern(`^\s*[(,]?\s*([A-Z][\p{L}'-]+(?:\s+[A-Z][\p{L}'-]+)+)`)
	sponsorCue = mustPattern(`(?i)\b(?:sponsor(?:ed)?(?: by| is)?|works? with|working with|for|on behalf of)\s+([a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,})`)
)

// inviteGuest invites the outside address the request names. The sponsor
// is the employee the request says the guest works with, else the
// requester; the name is the one written next to the address, else made
// from the address.
func (s *state) inviteGuest(t task) agent.Response {
	if !s.can(toolInviteGuest) {
		if s.tech() {
			return s.decline("I can't invite guests here. " + s.support())
		}
		return s.escalate("the user asks to invite a guest from outside the company: "+clip(t.text, 300),
			"Inviting someone from outside the company is done by IT, with an admin's approval. "+s.tr(msgHandOver))
	}
	if x := s.get(toolInviteGuest); x != nil {
		email, _ := x.args["email"].(string)
		return s.told(x, fmt.Sprintf("Done: %s is invited as a guest; Microsoft 365 emails them the invitation, and their guest account can then be added to groups and teams.", email))
	}
	_, domain, _ := strings.Cut(strings.ToLower(s.self()), "@")
	text := t.text + " " + s.text
	guest, sponsor := "", ""
	if m := sponsorCue.FindStringSubmatch(text); m != nil {
		sponsor = m[1]
	}
	for _, u := range upns(text) {
		_, d, _ := strings.Cut(strings.ToLower(u), "@")
		switch {
		case strings.EqualFold(u, sponsor):
		case d == domain || s.isSelf(u):
			if sponsor == "" {
				sponsor = u
			}
		case guest == "":
			guest = u
		}
	}
	if guest == "" {
		return s.ask("What is the guest's email address, and their name? For example: invite jane.doe@partner.com (Jane Doe) as a guest.")
	}
	if sponsor == "" {
		sponsor = s.self()
	}
	name := ""
	if i := strings.Index(text, guest); i >= 0 {
		if m := nameAfter.FindStringSubmatch(text[i+len(guest):]); m != nil {
			name = m[1]
		} else if m := nameBefore.FindStringSubmatch(text[:i]); m != nil {
			name = m[1]
		}
	}
	if name == "" {
		local, _, _ := strings.Cut(guest, "@")
		var ws []string
		for _, w := range strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
			ws = append(ws, capitalize(strings.ToLower(w)))
		}
		name = strings.Join(ws, " ")
	}
	return s.call(toolInviteGuest, map[string]any{"email": guest, "display_name": name, "sponsor": sponsor}, "")
}

// services people name, as the service health tool reads them.
var serviceWords = []struct{ word, service string }{
	{"outlook", "Outlook"}, {"exchange", "Exchange Online"}, {"email", "Outlook"}, {"e-mail", "Outlook"}, {"mail", "Outlook"},
	{"teams", "Teams"}, {"sharepoint", "SharePoint"}, {"onedrive", "OneDrive"}, {"intune", "Intune"},
}

// serviceHealth says whether the Microsoft 365 service the request names
// (or any) has a problem, from Microsoft's service health.
func (s *state) serviceHealth(t task) agent.Response {
	if !s.can(toolServiceHealh) {
		return s.escalate("the user asks whether a Microsoft 365 service is down: "+clip(t.text, 300),
			"I can't read Microsoft 365's service health here. "+s.tr(msgHandOver))
	}
	c := s.canon(t.text)
	service := ""
	for _, w := range serviceWords {
		if mustPattern(`\b` + regexp.QuoteMeta(w.word) + `\b`).MatchString(c) {
			service = w.service
			break
		}
	}
	r := s.get(toolServiceHealh)
	if r == nil {
		args := map[string]any{}
		if service != "" {
			args["service"] = service
		}
		return s.call(toolServiceHealh, args, "")
	}
	if !r.ok {
		return s.cannotRead(r, "the user asks whether a Microsoft 365 service is down", "read the service health")
	}
	var v struct {
		Services []struct {
			Service    string `json:"service"`
			Status     string `json:"status"`
			Healthy    bool   `json:"healthy"`
			OpenIssues []struct {
				ID, Title, Classification, Status, Impact, LatestUpdate string
			} `json:"openIssues"`
		} `json:"services"`
		Note string `json:"note"`
	}
	json.Unmarshal(r.output, &v)
	var out []string
	for _, sv := range v.Services {
		if sv.Healthy && len(sv.OpenIssues) == 0 {
			out = append(out, fmt.Sprintf("%s is working normally: Microsoft reports no open issue.", sv.Service))
			continue
		}
		line := fmt.Sprintf("%s has a problem (%s).", sv.Service, statusWords(sv.Status))
		for _, x := range sv.OpenIssues[:min(len(sv.OpenIssues), 3)] {
			line += fmt.Sprintf(" Microsoft's %s %s: %q.", x.Classification, x.ID, x.Title)
			if x.Impact != "" {
				line += " " + clip(x.Impact, 300)
			}
			if x.LatestUpdate != "" {
				line += " Latest update: " + clip(x.LatestUpdate, 300)
			}
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return say("Microsoft reports no problem with any Microsoft 365 service right now. If something still doesn't work for you, tell me what you see and I'll look into it.")
	}
	sick := false
	for _, sv := range v.Services {
		sick = sick || !sv.Healthy || len(sv.OpenIssues) > 0
	}
	if sick {
		out = append(out, "This is on Microsoft's side: nothing on your account needs changing, and it should work again once Microsoft fixes it.")
	}
	return say(out...)
}

// statusWords say a serviceHealthStatus in plain words.
func statusWords(st string) string {
	switch st {
	case "serviceDegradation":
		return "degraded"
	case "serviceInterruption":
		return "interrupted"
	case "extendedRecovery":
		return "recovering"
	case "investigating", "serviceRestored", "falsePositive", "restoringService", "verifyingService", "mitigated":
		return st
	}
	return plainText(st)
}
