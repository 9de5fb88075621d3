package sim

// This file: what the tenant's Conditional Access policies did to each
// sign-in (the appliedConditionalAccessPolicies of microsoft.graph.signIn),
// the emergency access ("break glass") account every baseline excludes, and
// the recent sign-ins a baseline's impact review reads (issue 22).
//
// Each sign-in is evaluated against the tenant's policies as they were at
// the sign-in's time, as Entra records it: the simulator keeps every
// version of each Conditional Access policy with the time it was written
// (created, patched, deleted), and a sign-in lists a policy only if the
// policy existed then, with the state, conditions and controls it had
// then. So a policy created report-only a minute ago has applied to no
// sign-in yet, and one switched on today was report-only for yesterday's.
// The results are Graph's
// (appliedConditionalAccessPolicyResult): a disabled policy is notEnabled;
// an enabled one that applies is success or failure, else notApplied; a
// report-only one that applies is reportOnlySuccess, reportOnlyInterrupted
// (it would have asked for MFA a single-factor sign-in did not give) or
// reportOnlyFailure (it would have blocked, or asked for what the sign-in
// could not give), else reportOnlyNotApplied. A sign-in that failed before
// Conditional Access was evaluated (a wrong password, a locked or disabled
// account) is one no policy applied to.
//
// Time passes in sign-ins with PassDay (POST /_sim/signins?tenant=T): the
// tenant's sign-in log and its policies' history (createdDateTime and
// modifiedDateTime with it) move a day into the past, and the seeded last
// day of sign-ins happens again, each at the same age as when seeded, with
// a fresh id. The clock is not moved (a client's clock is its own): the
// tenant ages instead, so a policy created report-only has then been so
// for a day, and the day's sign-ins were evaluated against it.
//
// https://learn.microsoft.com/graph/api/resources/appliedconditionalaccesspolicy

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Break glass: the group and its one account, seeded in every tenant with
// identity cases.
const (
	breakGlassGroup = "Break Glass Accounts"
	breakGlassLocal = "emergency.access"
)

// seedBreakGlass adds the emergency access account (a cloud-only Global
// Administrator with no licence, signing in with a security key, in the
// care of the IT head) and the group "Break Glass Accounts" holding it
// alone. Being enabled, it is in All Staff, whose rule is accountEnabled.
func seedBreakGlass(t *tenant, now time.Time) {
	upn := breakGlassLocal + "@" + t.domain
	keeper := ""
	for _, u := range t.users {
		if keeper == "" && u.Department == "IT" && slices.Contains(u.DirectoryRoles, "Global Administrator") {
			keeper = u.UserPrincipalName
		}
	}
	changed := now.Add(-180 * 24 * time.Hour)
	u := &user{User: User{
		ID:                              guid(t.name, "user", upn),
		UserPrincipalName:               upn,
		DisplayName:                     "Emergency Access (break glass)",
		GivenName:                       "Emergency",
		Surname:                         "Access",
		Department:                      "IT",
		JobTitle:                        "Emergency access account",
		Manager:                         keeper,
		AccountEnabled:                  true,
		DirectoryRoles:                  []string{"Global Administrator"},
		EligibleRoles:                   []string{},
		LastPasswordChangeDateTime:      changed,
		SignInSessionsValidFromDateTime: changed,
		UsageLocation:                   t.users[0].UsageLocation,
		PreferredLanguage:               t.users[0].PreferredLanguage,
		AssignedLicenses:                []string{},
		BusinessPhones:                  []string{},
	}}
	u.AuthenticationMethods = []AuthMethod{
		{ID: passwordMethodID, Type: typePassword, CreatedDateTime: changed},
		{ID: guid(t.name, "fido2", upn), Type: typeFido2, DisplayName: "YubiKey (in the safe)", Model: "YubiKey 5 NFC",
			AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", CreatedDateTime: changed},
	}
	u.AutomaticReplies = AutoReplies{Status: "disabled", ExternalAudience: "all",
		ScheduledStart: localTime(now.Truncate(time.Hour)), ScheduledEnd: localTime(now.Truncate(time.Hour).Add(24 * time.Hour))}
	t.users = append(t.users, u)
	t.byKey[strings.ToLower(u.ID)] = u
	t.byKey[strings.ToLower(upn)] = u
	for i := range t.groups {
		if t.groups[i].DisplayName == "All Staff" {
			t.groups[i].Members = append(slices.Clone(t.groups[i].Members), upn)
		}
	}
	t.groups = append(t.groups, Group{
		ID:              guid(t.name, "group", breakGlassGroup),
		DisplayName:     breakGlassGroup,
		Description:     "Emergency access accounts: excluded from every Conditional Access policy",
		MailNickname:    "breakglass",
		SecurityEnabled: true,
		GroupTypes:      []string{},
		CreatedDateTime: changed,
		Owners:          []string{},
		Members:         []string{upn},
	})
}

// seedBaselineSignIns adds the recent sign-ins a baseline's impact review
// reads: single-factor browser sign-ins of ordinary users (a policy
// requiring MFA for all would interrupt them), in contoso a mail app still
// on Exchange ActiveSync (legacy authentication: a block would stop it) and
// a desktop client, and one sign-in of the emergency access account.
func seedBaselineSignIns(t *tenant, now time.Time) {
	cs, ok := identityCases[t.name]
	if !ok {
		return
	}
	type entry struct {
		local, clientApp, app string
		ago                   time.Duration
		mfa                   bool
	}
	var entries []entry
	switch t.name {
	case "contoso":
		entries = []entry{
			{"adele.vance", "Browser", "Office 365 SharePoint Online", 5 * time.Hour, false},
			{"adele.vance", "Browser", "Office 365 Exchange Online", 29 * time.Hour, false},
			{"johanna.lorenz", "Browser", "Office 365 Exchange Online", 2 * time.Hour, false},
			{"grady.archie", "Mobile Apps and Desktop clients", "Microsoft Teams", 4 * time.Hour, false},
			{"allan.deyoung", "Exchange ActiveSync", "Office 365 Exchange Online", 3 * time.Hour, false},
			{"lynne.robbins", "Mobile Apps and Desktop clients", "Microsoft Teams", 6 * time.Hour, true},
			{breakGlassLocal, "Browser", "Azure Portal", 50 * time.Hour, true},
		}
	case "fabrikam":
		entries = []entry{
			{"ben.walters", "Browser", "Office 365 Exchange Online", 3 * time.Hour, false},
			{"sofia.rossi", "Browser", "Office 365 SharePoint Online", 7 * time.Hour, false},
			{"ethan.wu", "Mobile Apps and Desktop clients", "Microsoft Teams", 26 * time.Hour, false},
			{"grace.kim", "Mobile Apps and Desktop clients", "Microsoft Teams", 9 * time.Hour, true},
			{breakGlassLocal, "Browser", "Azure Portal", 70 * time.Hour, true},
		}
	}
	log := slices.Clone(t.identity.signIns)
	for i, e := range entries {
		u := t.lookup(e.local + "@" + t.domain)
		if u == nil {
			panic("sim: baseline sign-in of unknown user " + e.local)
		}
		details := "MFA requirement satisfied by claim in the token"
		if !e.mfa {
			details = "Single-factor authentication: password"
		}
		log = append(log, signIn{
			id:  guid(t.name, "signIn", "baseline", strconv.Itoa(i), u.UserPrincipalName),
			upn: u.UserPrincipalName, userID: u.ID, displayName: u.DisplayName,
			at: now.Add(-e.ago), app: e.app, clientApp: e.clientApp, caStatus: "notApplied", mfa: e.mfa,
			details: details, city: cs.home[0], country: cs.home[1],
			ip: "198.51.100." + strconv.Itoa(210+i), os: "Windows10", browser: "Edge 130.0.0", risk: "none",
		})
	}
	slices.SortStableFunc(log, func(a, b signIn) int { return a.at.Compare(b.at) })
	t.identity.signIns = log
	// The last day of sign-ins, as PassDay replays it.
	b := t.baseline()
	for _, x := range log {
		if age := now.Sub(x.at); age >= 0 && age < 24*time.Hour {
			b.day = append(b.day, x)
			b.dayAges = append(b.dayAges, age)
		}
	}
}

// caVersion is a Conditional Access policy as written at a time (policy
// nil: deleted then).
type caVersion struct {
	id     string
	from   time.Time
	policy map[string]any
}

// recordCA notes the version of policy id written at at (nil: deleted).
func (b *baselineState) recordCA(id string, at time.Time, policy map[string]any) {
	v := caVersion{id: strings.ToLower(id), from: at}
	if policy != nil {
		v.policy = deepCopy(policy)
	}
	b.caHistory = append(b.caHistory, v)
}

// policiesAt returns the Conditional Access policies as they were at at:
// for each policy written by then and not deleted, its last version then,
// in the order the policies were first written.
func (b *baselineState) policiesAt(at time.Time) []map[string]any {
	var order []string
	last := map[string]map[string]any{}
	for _, v := range b.caHistory {
		if v.from.After(at) {
			continue
		}
		if _, seen := last[v.id]; !seen {
			order = append(order, v.id)
		}
		last[v.id] = v.policy
	}
	out := make([]map[string]any, 0, len(order))
	for _, id := range order {
		if p := last[id]; p != nil {
			out = append(out, p)
		}
	}
	return out
}

// PassDay lets a day pass in tenant's sign-ins: its sign-in log and the
// history of its Conditional Access policies move a day into the past
// (their createdDateTime and modifiedDateTime too), and the seeded last day
// of sign-ins happens again, each as long ago as when seeded, with a fresh
// id. It returns how many sign-ins the day added. POST
// /_sim/signins?tenant=T does the same.
func (s *Server) PassDay(tenant string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return 0, fmt.Errorf("unknown tenant %q", tenant)
	}
	const day = 24 * time.Hour
	b := t.baseline()
	log := slices.Clone(t.identity.signIns)
	for i := range log {
		log[i].at = log[i].at.Add(-day)
	}
	for i := range b.caHistory {
		b.caHistory[i].from = b.caHistory[i].from.Add(-day)
		if p := b.caHistory[i].policy; p != nil {
			b.caHistory[i].policy = shiftStamps(p, -day)
		}
	}
	for i, p := range b.caPolicies {
		b.caPolicies[i] = shiftStamps(p, -day)
	}
	b.days++
	now := s.now().UTC().Truncate(time.Second)
	for i, x := range b.day {
		x.id = guid(t.name, "signIn", "day", strconv.Itoa(b.days), strconv.Itoa(i), x.upn)
		x.at = now.Add(-b.dayAges[i])
		log = append(log, x)
	}
	slices.SortStableFunc(log, func(a, b signIn) int { return a.at.Compare(b.at) })
	t.identity.signIns = log
	return len(b.day), nil
}

// shiftStamps returns a copy of a policy with its createdDateTime and
// modifiedDateTime moved by d.
func shiftStamps(p map[string]any, d time.Duration) map[string]any {
	out := deepCopy(p)
	for _, k := range []string{"createdDateTime", "modifiedDateTime"} {
		if v, ok := out[k].(string); ok {
			if at, err := time.Parse(time.RFC3339, v); err == nil {
				layout := time.RFC3339
				if strings.Contains(v, ".") {
					layout = caStampLayout // a PATCH's, to the 100 nanoseconds
				}
				out[k] = at.Add(d).UTC().Format(layout)
			}
		}
	}
	return out
}

// serveSignIns serves POST /_sim/signins?tenant=T: PassDay. It answers
// {"tenant":T,"added":N}.
func (s *Server) serveSignIns(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
		return
	}
	tenant := r.URL.Query().Get("tenant")
	n, err := s.PassDay(tenant)
	if err != nil {
		writeJSON(w, http.StatusNotFound, simError("not_found", err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenant": tenant, "added": n})
}

// appliedPolicies renders what each of t's Conditional Access policies, as
// they were at x's time, did to x.
func appliedPolicies(t *tenant, x signIn) []any {
	pols := t.baseline().policiesAt(x.at)
	out := make([]any, 0, len(pols))
	u := t.lookup(x.userID)
	if u == nil {
		u = t.lookup(x.upn)
	}
	// Conditional Access is evaluated after the first factor: a sign-in
	// that failed before (a wrong password, a locked account) met none.
	evaluated := u != nil && (x.errorCode == 0 || x.errorCode == 53003 || x.errorCode == 50074)
	for _, p := range pols {
		state, _ := p["state"].(string)
		conds, _ := p["conditions"].(map[string]any)
		grant, _ := p["grantControls"].(map[string]any)
		controls := strList(grant["builtInControls"])
		applies := evaluated && caApplies(t, u, x, conds)
		var result string
		switch state {
		case "disabled":
			result = "notEnabled"
		case "enabled":
			result = "notApplied"
			if applies {
				result = map[bool]string{true: "success", false: "failure"}[grantOutcome(t, u, x, grant) == grantMet]
			}
		default: // enabledForReportingButNotEnforced
			result = "reportOnlyNotApplied"
			if applies {
				switch grantOutcome(t, u, x, grant) {
				case grantMet:
					result = "reportOnlySuccess"
				case grantMFA:
					result = "reportOnlyInterrupted"
				default:
					result = "reportOnlyFailure"
				}
			}
		}
		enforced := []string{}
		if result != "notEnabled" && result != "notApplied" && result != "reportOnlyNotApplied" {
			enforced = controls
		}
		out = append(out, map[string]any{
			"id":                      p["id"],
			"displayName":             p["displayName"],
			"enforcedGrantControls":   enforced,
			"enforcedSessionControls": []string{},
			"result":                  result,
		})
	}
	return out
}

// What a policy's grant controls make of a sign-in.
const (
	grantMet     = iota // granted
	grantMFA            // would ask for MFA the sign-in did not give (interactive: "interrupted")
	grantRefused        // blocked, or asks for what the sign-in cannot give
)

// grantOutcome evaluates grant controls (operator OR: one control
// suffices; AND: all must hold). mfa holds for a multi-factor sign-in,
// compliantDevice when the user has a compliant managed device; block never
// holds; anything else is not modelled and does not hold.
func grantOutcome(t *tenant, u *user, x signIn, grant map[string]any) int {
	controls := strList(grant["builtInControls"])
	if len(controls) == 0 {
		return grantMet // session controls only
	}
	if slices.Contains(controls, "block") {
		return grantRefused
	}
	holds := func(c string) bool {
		switch c {
		case "mfa":
			return x.mfa
		case "compliantDevice":
			return slices.ContainsFunc(t.devices, func(d Device) bool {
				return strings.EqualFold(d.UserPrincipalName, u.UserPrincipalName) && d.ComplianceState == "compliant"
			})
		}
		return false
	}
	and := grant["operator"] == "AND"
	met, missing := 0, []string{}
	for _, c := range controls {
		if holds(c) {
			met++
		} else {
			missing = append(missing, c)
		}
	}
	switch {
	case and && len(missing) == 0, !and && met > 0:
		return grantMet
	case slices.Contains(missing, "mfa") && (!and || len(missing) == 1):
		return grantMFA // the user would have been asked for MFA
	}
	return grantRefused
}

// caApplies reports whether a policy's conditions (users, applications,
// client apps, locations, platforms) match the sign-in.
func caApplies(t *tenant, u *user, x signIn, conds map[string]any) bool {
	if conds == nil {
		return false
	}
	users, _ := conds["users"].(map[string]any)
	if !caUsers(t, u, users) {
		return false
	}
	apps, _ := conds["applications"].(map[string]any)
	appID := guid("app", x.app)
	matchApp := func(list []string) bool {
		return slices.ContainsFunc(list, func(a string) bool {
			return a == "All" || (a == "Office365" && isOffice365(x.app)) || strings.EqualFold(a, appID)
		})
	}
	if apps == nil || !matchApp(strList(apps["includeApplications"])) || matchApp(strList(apps["excludeApplications"])) {
		return false
	}
	if types := strList(conds["clientAppTypes"]); len(types) > 0 && !slices.Contains(types, "all") && !slices.Contains(types, clientAppType(x.clientApp)) {
		return false
	}
	if locs, _ := conds["locations"].(map[string]any); locs != nil {
		in := func(list []string) bool {
			return slices.ContainsFunc(list, func(l string) bool { return inLocation(t, x.ip, l) })
		}
		if !in(strList(locs["includeLocations"])) || in(strList(locs["excludeLocations"])) {
			return false
		}
	}
	if plats, _ := conds["platforms"].(map[string]any); plats != nil {
		os := platformOf(x.os)
		in := func(list []string) bool {
			return slices.ContainsFunc(list, func(p string) bool { return p == "all" || strings.EqualFold(p, os) })
		}
		if !in(strList(plats["includePlatforms"])) || in(strList(plats["excludePlatforms"])) {
			return false
		}
	}
	return true
}

// caUsers matches a policy's users condition: included by All, by id, by a
// group or by an active directory role (the role template id), and not
// excluded the same ways.
func caUsers(t *tenant, u *user, cond map[string]any) bool {
	if cond == nil {
		return false
	}
	groups := map[string]bool{}
	roles := map[string]bool{}
	for _, r := range u.DirectoryRoles {
		roles[strings.ToLower(roleTemplates[r].id)] = true
	}
	for _, g := range t.groups {
		if slices.ContainsFunc(g.Members, func(m string) bool { return strings.EqualFold(m, u.UserPrincipalName) }) {
			groups[strings.ToLower(g.ID)] = true
			for _, r := range g.Roles {
				roles[strings.ToLower(roleTemplates[r].id)] = true
			}
		}
	}
	has := func(key string, set map[string]bool, special ...string) bool {
		return slices.ContainsFunc(strList(cond[key]), func(v string) bool {
			return slices.Contains(special, v) || set[strings.ToLower(v)]
		})
	}
	self := map[string]bool{strings.ToLower(u.ID): true}
	included := has("includeUsers", self, "All") || has("includeGroups", groups) || has("includeRoles", roles)
	excluded := has("excludeUsers", self) || has("excludeGroups", groups) || has("excludeRoles", roles)
	return included && !excluded
}

// clientAppType maps a sign-in's clientAppUsed to the clientAppTypes of a
// policy's conditions.
func clientAppType(used string) string {
	switch used {
	case "Browser":
		return "browser"
	case "Mobile Apps and Desktop clients":
		return "mobileAppsAndDesktopClients"
	case "Exchange ActiveSync":
		return "exchangeActiveSync"
	}
	return "other" // IMAP, POP, SMTP, other legacy clients
}

// isOffice365 reports whether an app is part of Conditional Access's
// Office365 app group.
func isOffice365(app string) bool {
	return strings.HasPrefix(app, "Office 365") || app == "Microsoft Teams" || app == "Microsoft Office"
}

// platformOf maps a sign-in's operating system to a device platform.
func platformOf(os string) string {
	switch {
	case strings.HasPrefix(os, "Windows"):
		return "windows"
	case strings.HasPrefix(os, "iOS"):
		return "iOS"
	case strings.HasPrefix(os, "Android"):
		return "android"
	case strings.HasPrefix(os, "Mac"):
		return "macOS"
	}
	return "linux"
}

// inLocation reports whether ip is in the location a policy names: All,
// AllTrusted (every trusted named location) or a named location's id.
func inLocation(t *tenant, ip, loc string) bool {
	if loc == "All" {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, l := range t.baseline().namedLocations {
		trusted, _ := l["isTrusted"].(bool)
		if !(loc == "AllTrusted" && trusted) && !strings.EqualFold(fmt.Sprint(l["id"]), loc) {
			continue
		}
		ranges, _ := l["ipRanges"].([]any)
		for _, r := range ranges {
			m, _ := r.(map[string]any)
			cidr, _ := m["cidrAddress"].(string)
			if p, err := netip.ParsePrefix(cidr); err == nil && p.Contains(addr) {
				return true
			}
		}
	}
	return false
}

// strList reads a JSON list of strings (decoded or built in Go).
func strList(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
