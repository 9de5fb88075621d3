package offline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// findGroup returns the latest group lookup by the name given, or nil.
func (s *state) findGroup(name string) *result {
	for i := len(s.results) - 1; i >= 0; i-- {
		r := s.results[i]
		if p, _ := r.args["prefix"].(string); r.name == toolGroupFind && strings.EqualFold(p, clip(name, 120)) {
			return r
		}
	}
	return nil
}

// group: find the group, check it can be joined, then add the requester
// (across tenants, the user the request names).
func (s *state) group(t task, name string) agent.Response {
	member := s.userOf(t)
	if member == "" {
		return s.askWhom("add %s to the Marketing Team group")
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
	r := s.findGroup(name)
	if r == nil {
		return s.call(toolGroupFind, map[string]any{"prefix": clip(name, 120)}, "")
	}
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks to join the group %q", clip(name, 120)), "look up groups")
	}
	groups := foundGroups(r.output)
	if s.lang != english {
		// Names are not translated: "Gruppe VPN Users" is the group "VPN Users".
		name = strings.TrimSpace(name)
	}
	pick := -1
	for i, g := range groups {
		if strings.EqualFold(g.DisplayName, name) {
			pick = i
		}
	}
	if pick < 0 && len(groups) == 1 {
		pick = 0
	}
	if pick < 0 {
		return s.groupNotPicked(groups, name)
	}
	g := groups[pick]
	switch {
	case g.MembershipType == "dynamic":
		if s.tech() {
			return s.decline(fmt.Sprintf("Membership of %q is automatic (a rule decides who is in it), so nobody can be added by hand: change the rule or the user's attributes instead.", g.DisplayName))
		}
		return s.decline(fmt.Sprintf("Membership of %q is automatic (a rule decides who is in it), so nobody can be added by hand. Please contact your IT support if you think you should be in it.", g.DisplayName))
	case g.Kind == "distribution" || g.Kind == "mailEnabledSecurity":
		if s.tech() {
			return s.decline(fmt.Sprintf("%q is managed in Exchange, which I can't change: use the Exchange admin center.", g.DisplayName))
		}
		return s.decline(fmt.Sprintf("%q is managed in Exchange, which I can't change. Please ask its owner or your IT support.", g.DisplayName))
	}
	if r := s.callFor(toolAddMember, member); r != nil {
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
		return say(s.outcome(r, done))
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
	why, shown := "it failed", "it failed"
	if r.err != nil {
		why = strings.TrimPrefix(strings.TrimSuffix(r.err.Message, "."), "denied by policy: ")
		shown = why
		if r.err.Code != tierzero.EDenied && r.err.Code != tierzero.EPending {
			shown = s.plainError(r.err) // Graph's own words are for IT staff
		}
	}
	return s.escalate(fmt.Sprintf("%s, and the bot could not %s: %s", asks, what, why),
		fmt.Sprintf("I couldn't %s (%s), so a person needs to take this.", what, shown))
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
func (s *state) license(t task, name string) agent.Response {
	name = strings.TrimSpace(name)
	user := s.userOf(t)
	if user == "" {
		return s.askWhom("assign a Power BI Pro license to %s")
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
	if r := s.callFor(toolAssign, user); r != nil {
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
		return say(s.outcome(r, done))
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

var (
	groupFrom = mustPattern(`(?i)\b(?:from|out of)\s+(?:the\s+)?(?:group\s+)?(.+?)\s*(?:\bgroup\b)?\s*(?:[.,;!?]|\band\b|\binstead\b|$)`)
	groupInto = mustPattern(`(?i)\b(?:to|in|into)\s+(?:the\s+)?(?:group\s+)?(.+?)\s*(?:\bgroup\b)?\s*(?:[.,;!?]|\binstead\b|$)`)
)

// parseGroupFrom returns the group a request to remove someone names.
func parseGroupFrom(text string) string {
	if q := groupQuoted.FindStringSubmatch(text); q != nil {
		return cleanGroupName(q[1])
	}
	if m := groupFrom.FindStringSubmatch(text); m != nil {
		return cleanGroupName(m[1])
	}
	return ""
}

// foundGroup is a group of group.find's output.
type foundGroup struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	Kind           string `json:"kind"`
	MembershipType string `json:"membershipType"`
}

// foundGroups reads the groups of group.find's output.
func foundGroups(output json.RawMessage) []foundGroup {
	var v struct {
		Groups []foundGroup `json:"groups"`
	}
	json.Unmarshal(output, &v)
	return v.Groups
}

// groupNotPicked answers a group.find by prefix that named no one group:
// none found, or several, of which the user is asked which.
func (s *state) groupNotPicked(groups []foundGroup, prefix string) agent.Response {
	if len(groups) == 0 {
		return say(fmt.Sprintf("I couldn't find a group whose name starts with %q. Please check the name.", prefix))
	}
	var names []string
	for _, g := range groups[:min(len(groups), 10)] {
		names = append(names, fmt.Sprintf("%q", g.DisplayName))
	}
	return s.ask(groupQuestion + " I found: " + strings.Join(names, ", ") + ".")
}

// groupRemove: find the group, then remove the user from it.
func (s *state) groupRemove(t task) agent.Response {
	member := s.userOf(t)
	name := parseGroupFrom(t.text)
	if name == "" {
		return s.ask(groupQuestion + " Tell me its name, for example: remove " + member + " from the Sales Team group.")
	}
	if !s.can(toolGroupFind) || !s.can(toolRemove) {
		return s.decline("I can't remove group members here.")
	}
	r := s.findGroup(name)
	if r == nil {
		return s.call(toolGroupFind, map[string]any{"prefix": clip(name, 120)}, "")
	}
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks to remove %s from the group %q", member, clip(name, 120)), "look up groups")
	}
	groups := foundGroups(r.output)
	pick := -1
	for i, g := range groups {
		if strings.EqualFold(g.DisplayName, name) || len(groups) == 1 {
			pick = i
		}
	}
	if pick < 0 {
		return s.groupNotPicked(groups, name)
	}
	g := groups[pick]
	for i := len(s.results) - 1; i >= 0; i-- {
		x := s.results[i]
		if gid, _ := x.args["group"].(string); x.name == toolRemove && gid == g.ID {
			who := member
			if s.isSelf(member) {
				who = "you are"
			} else {
				who += " is"
			}
			return say(s.outcome(x, fmt.Sprintf("Done: %s no longer a member of %q.", who, g.DisplayName)))
		}
	}
	return s.call(toolRemove, map[string]any{"group": g.ID, "user": member}, fmt.Sprintf("I found %q.", g.DisplayName))
}

// groupsList: the groups a user is a direct member of.
func (s *state) groupsList(t task) agent.Response {
	user := s.userOf(t)
	if !s.can(toolUserGroups) {
		return s.decline("I can't read group memberships here.")
	}
	r := s.callFor(toolUserGroups, user)
	if r == nil {
		return s.call(toolUserGroups, map[string]any{"user": user}, "")
	}
	if !r.ok {
		return s.cannotRead(r, "the user asks which groups "+user+" is in", "read the group memberships")
	}
	var v struct {
		Groups []struct {
			DisplayName string `json:"displayName"`
		} `json:"groups"`
	}
	json.Unmarshal(r.output, &v)
	var names []string
	for _, g := range v.Groups {
		names = append(names, fmt.Sprintf("%q", g.DisplayName))
	}
	whose := user + " is"
	if s.isSelf(user) {
		whose = "You are"
	}
	if len(names) == 0 {
		return say(whose + " not a direct member of any group.")
	}
	return say(fmt.Sprintf("%s a direct member of %s.", whose, list(names)))
}

// licenseRemove: find the subscription named, then remove it from the
// user.
func (s *state) licenseRemove(t task) agent.Response {
	user := s.userOf(t)
	name := parseLicense(upnPattern.ReplaceAllString(t.text, " "))
	if name == "" {
		return s.ask(licenseQuestion + " Tell me the product, for example: remove the Power BI Pro license from " + user + ".")
	}
	if !s.can(toolLicenses) || !s.can(toolUnassign) {
		return s.decline("I can't remove licenses here.")
	}
	r := s.get(toolLicenses)
	if r == nil {
		return s.call(toolLicenses, map[string]any{}, "")
	}
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks to remove a %q license", clip(name, 80)), "look up licenses")
	}
	var v struct {
		SKUs []sku `json:"skus"`
	}
	json.Unmarshal(r.output, &v)
	matches := matchSKUs(name, v.SKUs)
	if len(matches) != 1 {
		var labels []string
		for _, k := range v.SKUs {
			labels = append(labels, k.label())
		}
		return s.ask(fmt.Sprintf("Which license do you mean? This company has: %s.", strings.Join(labels, ", ")))
	}
	k := matches[0]
	if r := s.callFor(toolUnassign, user); r != nil {
		// A license a group grants goes with leaving the group: offered
		// as that (a plan the requester confirms), never done unasked.
		if g := groupOfLicense(r); g != "" && s.can(toolRemove) {
			if x := s.callFor(toolRemove, user); x != nil {
				return say(s.outcome(x, fmt.Sprintf("Done: %s left the group that granted %s, so the license is gone.", user, k.label())))
			}
			return s.call(toolRemove, map[string]any{"group": g, "user": user},
				fmt.Sprintf("%s gets %s through a group, so it cannot be removed from the account itself; leaving that group removes it.", user, k.label()))
		}
		return say(s.outcome(r, fmt.Sprintf("Done: %s no longer has %s; the license is free for someone else.", user, k.label())))
	}
	return s.call(toolUnassign, map[string]any{"user": user, "sku": k.Part}, "")
}
