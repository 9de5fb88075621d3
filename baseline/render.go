package baseline

// This file: a plan's steps rendered as the baseline tools' calls (graph's
// baseline_tools.go): each action's arguments, Graph bodies as canonical
// JSON strings, and a label in words people know. Names become the
// tenant's ids here; a name that does not resolve makes the step a
// conflict, never a guess.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tierzero/tierzero"
)

// The baseline tools' actions (graph/baseline_tools.go).
const (
	ActCreateNamedLocation = "baseline.create_named_location"
	ActCreateCAPolicy      = "baseline.create_ca_policy"
	ActUpdateCAPolicy      = "baseline.update_ca_policy"
	ActEnableCAPolicy      = "baseline.enable_ca_policy"
	ActSetSecurityDefaults = "baseline.set_security_defaults"
	ActSetAuthMethod       = "baseline.set_auth_method"
	ActCreateCompliance    = "baseline.create_compliance_policy"
	ActUpdateCompliance    = "baseline.update_compliance_policy"
	ActAssignCompliance    = "baseline.assign_compliance_policy"
)

// rendered is a step as a tool call, or why it cannot be one.
type rendered struct {
	step *tierzero.PlanStepArg
	// conflict, when set, is why the step cannot run: a name that does
	// not resolve, a change no tool makes. The step becomes a conflict.
	conflict string
	// waits, when set, names what the step waits for in this plan (a
	// named location created in the same phase): it runs in the next.
	waits string
	// none: the step needs no call of its own (the assignment of a new
	// compliance policy, made by the call that creates it).
	none bool
}

// renderer renders the steps of one plan against one tenant.
type renderer struct {
	want  Baseline
	have  State
	info  tenantInfo
	steps []Step // the whole plan, to see what is created in it
}

func (r *renderer) render(s Step) rendered {
	switch s.Resource {
	case ResNamedLocation:
		return r.namedLocation(s)
	case ResConditionalAccess:
		return r.caPolicy(s)
	case ResSecurityDefaults:
		on := s.Changes[0].To == "true"
		label := "turn security defaults on (applies at once to all users: each must register for MFA, legacy authentication is blocked)"
		if !on {
			label = "turn security defaults off, right before the Conditional Access policies are switched on (Entra ID enforces one or the other)"
		}
		return r.call(ActSetSecurityDefaults, map[string]any{"enabled": on}, label, !on)
	case ResAuthMethod:
		return r.authMethod(s)
	case ResCompliance:
		return r.compliance(s)
	case ResAssignment:
		return r.assignment(s)
	}
	return rendered{conflict: "tierzero cannot make this change: do it in the admin center"}
}

// call renders one tool call with canonical arguments.
func (r *renderer) call(action string, args map[string]any, label string, stop bool) rendered {
	raw, err := json.Marshal(args)
	if err != nil {
		return rendered{conflict: "cannot render the change: " + err.Error()}
	}
	canon, err := tierzero.CanonicalArgs(raw)
	if err != nil {
		return rendered{conflict: "cannot render the change: " + err.Error()}
	}
	return rendered{step: &tierzero.PlanStepArg{Action: action, Args: string(canon), Label: tierzero.PrintableLine(label), Stop: stop}}
}

// body renders a Graph body as the canonical JSON string the tools take.
func body(v map[string]any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("baseline: unrenderable body: " + err.Error()) // maps of strings, bools, numbers and lists
	}
	canon, err := tierzero.CanonicalArgs(raw)
	if err != nil {
		panic("baseline: unrenderable body: " + err.Error())
	}
	return string(canon)
}

func (r *renderer) namedLocation(s Step) rendered {
	if s.Kind != Create {
		return rendered{conflict: "tierzero does not change an existing named location (" + why(s.Changes) + "): change it in the Entra admin center, or rename it so the baseline's is created beside it"}
	}
	l := r.want.NamedLocations[slices.IndexFunc(r.want.NamedLocations, func(l NamedLocation) bool { return sameName(l.Name, s.Name) })]
	var ranges []any
	for _, c := range l.CIDRs {
		typ := odataNS + "iPv4CidrRange"
		if strings.Contains(c, ":") {
			typ = odataNS + "iPv6CidrRange"
		}
		ranges = append(ranges, map[string]any{"@odata.type": typ, "cidrAddress": c})
	}
	b := map[string]any{"@odata.type": odataIPLocation, "displayName": l.Name, "isTrusted": l.Trusted, "ipRanges": ranges}
	trust := "not trusted"
	if l.Trusted {
		trust = "trusted"
	}
	return r.call(ActCreateNamedLocation, map[string]any{"name": l.Name, "body": body(b)},
		fmt.Sprintf("create the named location %q (%s, %s)", l.Name, strings.Join(l.CIDRs, ", "), trust), false)
}

func (r *renderer) caPolicy(s Step) rendered {
	if s.Kind == Enable {
		// modified is when the policy last changed, as Graph gave it:
		// graph switches on only a policy that has not changed since
		// (one changed after the plan is not the one the approver saw).
		return r.call(ActEnableCAPolicy, map[string]any{"id": s.ID, "name": s.Name, "modified": r.info.caModified[s.ID]},
			fmt.Sprintf("switch on the Conditional Access policy %q (report-only until now)", s.Name), false)
	}
	for _, c := range s.Changes {
		if c.Field == "state" && s.Kind == Update {
			return rendered{conflict: fmt.Sprintf("the policy is %s: tierzero changes a policy's state only to switch a report-only policy on; set it to report-only in the Entra admin center if it is to be managed", c.From)}
		}
	}
	p := r.want.ConditionalAccess[slices.IndexFunc(r.want.ConditionalAccess, func(p CAPolicy) bool { return sameName(p.Name, s.Name) })]
	conds, grant, res := r.caConditions(p)
	if res.conflict != "" || res.waits != "" {
		return res
	}
	if s.Kind == Create {
		b := map[string]any{"displayName": p.Name, "state": string(CAReportOnly), "conditions": conds, "grantControls": grant}
		return r.call(ActCreateCAPolicy, map[string]any{"name": p.Name, "body": body(b)},
			fmt.Sprintf("create the Conditional Access policy %q (report-only: it enforces nothing until switched on)", p.Name), false)
	}
	// An update sends the conditions and grant controls (a PATCH replaces
	// each property it sets whole): the tenant's, with what the baseline
	// describes set to the baseline's. What the baseline does not describe
	// stays as the tenant has it; nothing is cleared (null) that the
	// baseline has no value for.
	h := r.have.ConditionalAccess[slices.IndexFunc(r.have.ConditionalAccess, func(h CAPolicyState) bool { return h.ID == s.ID })]
	raw := r.info.caRaw[s.ID]
	cur, curGrant := keepOf(raw.conditions), keepOf(raw.grantControls)
	users := part(cur, "users")
	wantUsers := conds["users"].(map[string]any)
	for _, k := range []string{"excludeUsers", "includeGroups", "excludeGroups", "includeRoles"} {
		users[k] = wantUsers[k]
	}
	// includeUsers: "All" is the baseline's; single users (and guests)
	// are the tenant's and stay.
	var single []any
	if l, ok := users["includeUsers"].([]any); ok {
		for _, v := range l {
			if v != graphAllUsers && v != "None" {
				single = append(single, v)
			}
		}
	}
	switch {
	case p.Users.All && len(single) > 0:
		return rendered{conflict: "the tenant's policy includes single users and the baseline all users: tierzero does not remove what the baseline does not describe; remove the single users in the Entra admin center (all users include them)"}
	case p.Users.All:
		users["includeUsers"] = []any{graphAllUsers}
	case single != nil:
		users["includeUsers"] = single
	default:
		users["includeUsers"] = []any{}
	}
	part(cur, "applications")["includeApplications"] = conds["applications"].(map[string]any)["includeApplications"]
	cur["clientAppTypes"] = conds["clientAppTypes"]
	if l, ok := conds["locations"].(map[string]any); ok {
		loc := part(cur, "locations")
		loc["includeLocations"], loc["excludeLocations"] = l["includeLocations"], l["excludeLocations"]
	}
	curGrant["operator"], curGrant["builtInControls"] = grant["operator"], grant["builtInControls"]
	b := map[string]any{"conditions": cur, "grantControls": curGrant}
	var what []string
	for _, c := range s.Changes {
		what = append(what, caFieldWords[c.Field])
	}
	label := fmt.Sprintf("change the Conditional Access policy %q (%s)", p.Name, strings.Join(slices.Compact(what), ", "))
	if h.State == CAEnabled {
		label = fmt.Sprintf("change the switched-on Conditional Access policy %q (%s): applies at once to %s", p.Name, strings.Join(slices.Compact(what), ", "), r.usersWords(p.Users))
	}
	if len(s.Kept) > 0 {
		label += "; keeps " + strings.Join(s.Kept, ", ") + " as the tenant has it"
	}
	return r.call(ActUpdateCAPolicy, map[string]any{"id": s.ID, "name": p.Name, "body": body(b)}, label, false)
}

// keepOf copies a part of a tenant's policy for an update: its values as
// they are, less what sets nothing (null) and OData annotations other than
// @odata.type (they describe, they set nothing).
func keepOf(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v == nil || (strings.Contains(k, "@") && k != "@odata.type") {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			v = keepOf(sub)
		}
		out[k] = v
	}
	return out
}

// part returns m[key] as an object, making it one when it is not.
func part(m map[string]any, key string) map[string]any {
	if sub, ok := m[key].(map[string]any); ok {
		return sub
	}
	sub := map[string]any{}
	m[key] = sub
	return sub
}

// usersWords says whom a policy applies to. An exclusion group is named
// with its id, so that the approver can tell it from another group of
// that name made since.
func (r *renderer) usersWords(u Users) string {
	var who []string
	if u.All {
		who = append(who, "all users")
	}
	switch n := len(u.Roles); {
	case n == 1:
		who = append(who, "holders of the role "+strconv.Quote(u.Roles[0]))
	case n > 1:
		who = append(who, fmt.Sprintf("holders of %d admin roles", n))
	}
	if len(u.Groups) > 0 {
		who = append(who, "members of "+quoteList(u.Groups))
	}
	w := strings.Join(who, " and ")
	if w == "" {
		w = "no one"
	}
	var except []string
	if len(u.ExcludeGroups) > 0 {
		var gs []string
		for _, n := range u.ExcludeGroups {
			g := strconv.Quote(n)
			if i := slices.IndexFunc(r.have.Groups, func(g Group) bool { return g.Name == n }); i >= 0 {
				g += " (id " + r.have.Groups[i].ID + ")"
			}
			gs = append(gs, g)
		}
		except = append(except, "members of "+strings.Join(gs, ", "))
	}
	if len(u.ExcludeUsers) > 0 {
		except = append(except, quoteList(u.ExcludeUsers))
	}
	if len(except) > 0 {
		w += " except " + strings.Join(except, " and ")
	}
	return w
}

// caFieldWords names the fields of a Conditional Access change in words.
var caFieldWords = map[string]string{
	"users.all": "who it applies to", "users.roles": "the roles it applies to", "users.groups": "the groups it applies to",
	"users.exclude_groups": "the groups it leaves out", "users.exclude_users": "the users it leaves out",
	"apps": "the cloud apps", "client_app_types": "the client apps", "locations.include": "the locations",
	"locations.exclude": "the locations it leaves out", "grant": "what it requires",
}

// caConditions renders a policy's conditions and grant controls with the
// tenant's ids.
func (r *renderer) caConditions(p CAPolicy) (conds, grant map[string]any, res rendered) {
	var missing []string
	groups := func(names []string) []any {
		out := []any{}
		for _, n := range names {
			var ids []string
			for _, g := range r.have.Groups {
				if lookalike(g.Name, n) {
					missing = append(missing, lookalikeWhy("group", g.Name, n))
				} else if g.Name == n {
					ids = append(ids, g.ID)
				}
			}
			switch len(ids) {
			case 0:
				missing = append(missing, fmt.Sprintf("group %q does not exist in the tenant", n))
			case 1:
				out = append(out, ids[0])
			default:
				missing = append(missing, fmt.Sprintf("%d groups are named %q: rename all but one", len(ids), n))
			}
		}
		return out
	}
	users := map[string]any{"includeUsers": []any{}, "excludeUsers": []any{}, "includeGroups": groups(p.Users.Groups),
		"excludeGroups": groups(p.Users.ExcludeGroups), "includeRoles": []any{}, "excludeRoles": []any{}}
	if p.Users.All {
		users["includeUsers"] = []any{graphAllUsers}
	}
	for _, role := range p.Users.Roles {
		id, ok := roleID(role)
		if !ok {
			missing = append(missing, fmt.Sprintf("no role template id known for %q", role))
			continue
		}
		users["includeRoles"] = append(users["includeRoles"].([]any), id)
	}
	for _, upn := range p.Users.ExcludeUsers {
		id, ok := r.info.users[strings.ToLower(upn)]
		if !ok {
			missing = append(missing, fmt.Sprintf("user %q does not exist in the tenant", upn))
			continue
		}
		users["excludeUsers"] = append(users["excludeUsers"].([]any), id)
	}
	apps := []any{}
	for _, a := range p.Apps {
		switch a {
		case AppsAll:
			apps = append(apps, graphAllApps)
		case AppsOffice365:
			apps = append(apps, graphOffice365)
		default:
			apps = append(apps, a)
		}
	}
	clients := []any{}
	for _, c := range orAll(p.ClientAppTypes) {
		clients = append(clients, c)
	}
	conds = map[string]any{"users": users, "applications": map[string]any{"includeApplications": apps, "excludeApplications": []any{}},
		"clientAppTypes": clients}
	var waits []string
	if len(p.Locations.Include)+len(p.Locations.Exclude) > 0 {
		loc := func(names []string) []any {
			out := []any{}
			for _, n := range names {
				switch n {
				case LocationAll:
					out = append(out, graphAllLocations)
					continue
				case LocationAllTrusted:
					out = append(out, graphAllTrusted)
					continue
				}
				found := find(r.have.NamedLocations, n, func(l NamedLocationState) string { return l.Name })
				switch {
				case len(found) == 1 && lookalike(found[0].Name, n):
					missing = append(missing, lookalikeWhy("named location", found[0].Name, n))
				case len(found) == 1:
					out = append(out, found[0].ID)
				case len(found) > 1:
					missing = append(missing, fmt.Sprintf("%d named locations are named %q", len(found), n))
				case slices.ContainsFunc(r.steps, func(s Step) bool {
					return s.Resource == ResNamedLocation && s.Kind == Create && sameName(s.Name, n)
				}):
					waits = append(waits, n)
				default:
					missing = append(missing, fmt.Sprintf("named location %q does not exist in the tenant", n))
				}
			}
			return out
		}
		conds["locations"] = map[string]any{"includeLocations": loc(p.Locations.Include), "excludeLocations": loc(p.Locations.Exclude)}
	}
	grant = map[string]any{"operator": "OR", "builtInControls": []any{string(p.Grant)}}
	switch {
	case len(missing) > 0:
		res.conflict = strings.Join(missing, "; ")
	case len(waits) > 0:
		res.waits = "the named location " + quoteList(waits)
	}
	return conds, grant, res
}

func (r *renderer) authMethod(s Step) rendered {
	k := slices.IndexFunc(authMethods, func(a struct{ id, odataType, name string }) bool { return a.name == s.Name })
	m := authMethods[k]
	var on bool
	switch m.id {
	case "MicrosoftAuthenticator":
		on = r.want.AuthMethods.Authenticator
	case "Fido2":
		on = r.want.AuthMethods.FIDO2
	case "Sms":
		on = r.want.AuthMethods.SMS
	case "TemporaryAccessPass":
		on = r.want.AuthMethods.TAP.Enabled
	}
	state := "disabled"
	if on {
		state = "enabled"
	}
	b := map[string]any{"@odata.type": m.odataType, "state": state}
	words := map[string]string{"MicrosoftAuthenticator": "sign-in with Microsoft Authenticator", "Fido2": "sign-in with FIDO2 security keys and passkeys",
		"Sms": "sign-in codes sent by SMS", "TemporaryAccessPass": "the Temporary Access Pass"}[m.id]
	label := "allow " + words
	if !on {
		// It applies at once (an enable-phase step): say to whom.
		label = "turn off " + words + " (applies at once: " + map[string]string{
			"MicrosoftAuthenticator": "users who registered only Microsoft Authenticator lose it and must register another method",
			"Fido2":                  "users who registered only security keys or passkeys lose them and must register another method",
			"Sms":                    "users who registered only SMS lose it and must register another method",
			"TemporaryAccessPass":    "passes already issued stop working; new users and users who lost their methods cannot get one",
		}[m.id] + ")"
	}
	if m.id == "TemporaryAccessPass" && on {
		t := r.want.AuthMethods.TAP
		b["defaultLifetimeInMinutes"] = t.LifetimeMinutes
		b["isUsableOnce"] = t.UsableOnce
		// The default lifetime must lie within the tenant's bounds:
		// widen them, never narrow them.
		if t.LifetimeMinutes < r.info.tapMin {
			b["minimumLifetimeInMinutes"] = t.LifetimeMinutes
		}
		if t.LifetimeMinutes > r.info.tapMax {
			b["maximumLifetimeInMinutes"] = t.LifetimeMinutes
		}
		once := "usable more than once"
		if t.UsableOnce {
			once = "usable once"
		}
		label = fmt.Sprintf("allow the Temporary Access Pass (%d minutes by default, %s)", t.LifetimeMinutes, once)
	}
	return r.call(ActSetAuthMethod, map[string]any{"id": m.id, "body": body(b)}, label, false)
}

// platformWords names a platform in a label.
var platformWords = map[Platform]string{Windows: "Windows", IOS: "iOS", Android: "Android"}

// complianceBody renders a policy's settings (no name: a create adds it).
func complianceBody(p CompliancePolicy, create bool) map[string]any {
	b := map[string]any{"@odata.type": complianceTypes[p.Platform]}
	switch p.Platform {
	case Windows:
		b["bitLockerEnabled"], b["passwordRequired"] = p.BitLocker, p.Passcode
		b["activeFirewallRequired"], b["antivirusRequired"] = p.Firewall, p.Antivirus
	case IOS:
		b["passcodeRequired"], b["securityBlockJailbrokenDevices"] = p.Passcode, p.BlockJailbroken
	case Android:
		b["passwordRequired"], b["securityBlockJailbrokenDevices"] = p.Passcode, p.BlockJailbroken
	}
	// No minimum version in the baseline: a create sets none, an update
	// keeps the tenant's (never cleared).
	if p.MinOSVersion != "" {
		b["osMinimumVersion"] = p.MinOSVersion
	}
	return b
}

// complianceWords says what a policy requires.
func complianceWords(p CompliancePolicy) string {
	var w []string
	for _, s := range []struct {
		on   bool
		word string
	}{{p.BitLocker, "BitLocker"}, {p.Firewall, "firewall"}, {p.Antivirus, "antivirus"}, {p.Passcode, "a passcode"}, {p.BlockJailbroken, "not jailbroken or rooted"}} {
		if s.on {
			w = append(w, s.word)
		}
	}
	if p.MinOSVersion != "" {
		w = append(w, platformWords[p.Platform]+" "+p.MinOSVersion+" or later")
	}
	if len(w) == 0 {
		return "nothing"
	}
	return strings.Join(w, ", ")
}

// assignments renders a policy's assignments, as POST /assign takes them.
func (r *renderer) assignments(to []string) (string, string, string) {
	var out []any
	var words, missing []string
	for _, a := range to {
		switch a {
		case AssignAllUsers:
			out = append(out, map[string]any{"target": map[string]any{"@odata.type": odataAllUsersTarget}})
			words = append(words, "all licensed users")
		case AssignAllDevices:
			out = append(out, map[string]any{"target": map[string]any{"@odata.type": odataAllDevTarget}})
			words = append(words, "all devices")
		default:
			found := find(r.have.Groups, a, func(g Group) string { return g.Name })
			if len(found) != 1 {
				missing = append(missing, fmt.Sprintf("%d groups are named %q", len(found), a))
				continue
			}
			if lookalike(found[0].Name, a) {
				missing = append(missing, lookalikeWhy("group", found[0].Name, a))
				continue
			}
			out = append(out, map[string]any{"target": map[string]any{"@odata.type": odataGroupTarget, "groupId": found[0].ID}})
			words = append(words, "the group "+strconv.Quote(a))
		}
	}
	if out == nil {
		out = []any{}
		words = []string{"no one"}
	}
	return body(map[string]any{"assignments": out}), strings.Join(words, ", "), strings.Join(missing, "; ")
}

func (r *renderer) compliance(s Step) rendered {
	p := r.want.Compliance[slices.IndexFunc(r.want.Compliance, func(p CompliancePolicy) bool { return sameName(p.Name, s.Name) })]
	if s.Kind == Create {
		assign, to, missing := r.assignments(p.AssignTo)
		if missing != "" {
			return rendered{conflict: missing}
		}
		b := complianceBody(p, true)
		b["displayName"] = p.Name
		// Graph refuses a compliance policy without the action for
		// noncompliance: devices are marked noncompliant at once.
		b["scheduledActionsForRule"] = []any{map[string]any{"ruleName": "PasswordRequired",
			"scheduledActionConfigurations": []any{map[string]any{"actionType": "block", "gracePeriodHours": 0}}}}
		return r.call(ActCreateCompliance, map[string]any{"name": p.Name, "body": body(b), "assignments": assign},
			fmt.Sprintf("create the %s compliance policy %q (%s), assigned to %s", platformWords[p.Platform], p.Name, complianceWords(p), to)+atOnce(s), false)
	}
	b := complianceBody(p, false)
	if typ := r.info.complianceType[s.ID]; typ != "" {
		b["@odata.type"] = typ
	}
	var what []string
	for _, c := range s.Changes {
		what = append(what, fmt.Sprintf("%s: %s → %s", complianceFieldWords[c.Field], yesNo(c.From), yesNo(c.To)))
	}
	return r.call(ActUpdateCompliance, map[string]any{"id": s.ID, "name": p.Name, "body": body(b)},
		fmt.Sprintf("change the %s compliance policy %q (%s)", platformWords[p.Platform], p.Name, strings.Join(what, "; "))+atOnce(s), false)
}

// atOnce is what a compliance step's label adds when the step makes
// devices noncompliant at once while a switched-on policy requires a
// compliant device (Step.BlockedBy).
func atOnce(s Step) string {
	if len(s.BlockedBy) == 0 {
		return ""
	}
	return "; " + blocksWords(s.BlockedBy)
}

func (r *renderer) assignment(s Step) rendered {
	if s.Kind == Create {
		return rendered{none: true} // the create's own call assigns it
	}
	p := r.want.Compliance[slices.IndexFunc(r.want.Compliance, func(p CompliancePolicy) bool { return sameName(p.Name, s.Name) })]
	assign, to, missing := r.assignments(p.AssignTo)
	if missing != "" {
		return rendered{conflict: missing}
	}
	return r.call(ActAssignCompliance, map[string]any{"id": s.ID, "name": p.Name, "assignments": assign},
		fmt.Sprintf("assign the compliance policy %q to %s (instead of %s)", p.Name, to, orNone(s.Changes[0].From))+atOnce(s), false)
}

// complianceFieldWords names the fields of a compliance change in words.
var complianceFieldWords = map[string]string{"platform": "platform", "bitlocker": "BitLocker required", "firewall": "firewall required",
	"antivirus": "antivirus required", "passcode": "passcode required", "block_jailbroken": "jailbroken or rooted devices blocked",
	"min_os_version": "minimum OS version"}

// yesNo says a changed value in words: booleans as yes and no.
func yesNo(v string) string {
	switch v {
	case "true":
		return "yes"
	case "false":
		return "no"
	}
	return orNone(v)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
