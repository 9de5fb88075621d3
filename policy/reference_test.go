package policy

// An independent, deliberately simple evaluator written from the rules in
// docs/policy.md, with no index, no compilation and no shortcuts: loops over
// every file and every rule. TestDifferential checks that Set.Evaluate
// agrees with it on random rule sets and random requests.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

type refDecision struct {
	Effect    tierzero.Effect
	Layer     string
	File      string
	Rule      string
	Approvers []string
	Count     int
	Expires   time.Duration
	Missing   string
}

func (d refDecision) String() string {
	type plain refDecision // without this method
	return fmt.Sprintf("%+v", plain(d))
}

func fromDecision(d tierzero.Decision) refDecision {
	return refDecision{Effect: d.Effect, Layer: d.Layer, File: d.File, Rule: d.Rule, Approvers: d.Approvers,
		Count: d.Count, Expires: d.Expires, Missing: d.Facts["missing"]}
}

func refLower(s string) string { return strings.ToLower(s) }

func refSame(a, b string) bool { return refLower(a) == refLower(b) }

// refGlob: * is any run of characters, ? one character, the rest literal.
func refGlob(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	var m func(i, j int) bool
	m = func(i, j int) bool {
		if i == len(p) {
			return j == len(t)
		}
		switch p[i] {
		case '*':
			for k := j; k <= len(t); k++ {
				if m(i+1, k) {
					return true
				}
			}
			return false
		case '?':
			return j < len(t) && m(i+1, j+1)
		default:
			return j < len(t) && p[i] == t[j] && m(i+1, j+1)
		}
	}
	return m(0, 0)
}

func refLayer(s Scope) (string, int) {
	if s.Global {
		return "global", 0
	}
	if s.Department == "" {
		return "tenant", 1
	}
	return "department", 2
}

// refInScope says whether a file's scope contains the request: "true",
// "false", or "missing:FACT" for a department scope when the target's
// department is not known.
func refInScope(s Scope, r Request) string {
	if s.Global {
		return "true"
	}
	if s.Tenant != r.Tenant {
		return "false"
	}
	if s.Department == "" {
		return "true"
	}
	switch {
	case r.Target == nil:
		return "false"
	case r.Target.Department == nil:
		return "missing:target.department"
	case refSame(*r.Target.Department, s.Department):
		return "true"
	}
	return "false"
}

var refLocations = map[string]*time.Location{}

func refLocation(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := refLocations[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	refLocations[name] = l
	return l
}

func refMinutes(s string) int {
	var h, m int
	fmt.Sscanf(s, "%d:%d", &h, &m)
	return h*60 + m
}

// refIsSelf says whether the target is the requester: object ids when both
// are known, else user principal names; "" or the missing fact.
func refIsSelf(r Request) (bool, string) {
	if r.Target == nil {
		return false, "target"
	}
	if r.Target.ObjectID != "" && r.Requester.ObjectID != "" {
		return r.Target.ObjectID == r.Requester.ObjectID, ""
	}
	if r.Target.UPN != "" && r.Requester.UPN != "" {
		return refSame(r.Target.UPN, r.Requester.UPN), ""
	}
	if r.Requester.UPN == "" && r.Requester.ObjectID == "" {
		return false, "requester.upn"
	}
	return false, "target.upn"
}

// refGroupID resolves a group a policy names: an object id is itself, a
// display name what the request's directory says; "" when it does not
// resolve.
func refGroupID(ref string, r Request) string {
	if IsObjectID(ref) {
		return refLower(ref)
	}
	return refLower(r.GroupIDs[refLower(ref)])
}

// refMemberOf: one of want is one of have; an unresolved name is missing
// unless another entry holds.
func refMemberOf(have []tierzero.GroupRef, want []string, r Request) string {
	missing := ""
	for _, w := range want {
		id := refGroupID(w, r)
		if id == "" {
			if missing == "" {
				missing = "missing:" + fmt.Sprintf("group %q", w)
			}
			continue
		}
		for _, h := range have {
			if refLower(h.ID) == id {
				return "true"
			}
		}
	}
	if missing != "" {
		return missing
	}
	return "false"
}

// refGroupFilter: the group is one of allow (or allow is empty) and none of
// deny. An entry that does not resolve leaves it missing unless a resolved
// entry settles it (denied; or not allowed by an allow list that resolved in
// full); the first unresolved entry of allow, else of deny, is named.
func refGroupFilter(id string, f *NameFilter, r Request) string {
	var unresolvedAllow, unresolvedDeny []string
	denied, allowed := false, len(f.Allow) == 0
	for _, d := range f.Deny {
		switch x := refGroupID(d, r); {
		case x == "":
			unresolvedDeny = append(unresolvedDeny, d)
		case x == refLower(id):
			denied = true
		}
	}
	for _, a := range f.Allow {
		switch x := refGroupID(a, r); {
		case x == "":
			unresolvedAllow = append(unresolvedAllow, a)
		case x == refLower(id):
			allowed = true
		}
	}
	switch {
	case denied:
		return "false"
	case !allowed && len(unresolvedAllow) == 0:
		return "false"
	case !allowed:
		return "missing:" + fmt.Sprintf("group %q", unresolvedAllow[0])
	case len(unresolvedDeny) > 0:
		return "missing:" + fmt.Sprintf("group %q", unresolvedDeny[0])
	}
	return "true"
}

func refNameMatch(name string, f *NameFilter) bool {
	ok := len(f.Allow) == 0
	for _, p := range f.Allow {
		if refGlob(refLower(p), refLower(name)) {
			ok = true
		}
	}
	for _, p := range f.Deny {
		if refGlob(refLower(p), refLower(name)) {
			ok = false
		}
	}
	return ok
}

func refOneOf(have []string, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if refSame(h, w) {
				return true
			}
		}
	}
	return false
}

// refConditions returns, in the documented order, each condition's result:
// "true", "false" or "missing:FACT".
func refConditions(c Conditions, deny bool, r Request) []string {
	var out []string
	res := func(b bool) string {
		if b {
			return "true"
		}
		return "false"
	}
	miss := func(f string) string { return "missing:" + f }
	switch c.Target {
	case "self", "other":
		self, m := refIsSelf(r)
		if m != "" {
			out = append(out, miss(m))
		} else {
			out = append(out, res(self == (c.Target == "self")))
		}
	case "direct_report":
		if r.Target == nil {
			out = append(out, miss("target"))
		} else if r.Requester.UPN == "" {
			out = append(out, miss("requester.upn"))
		} else if r.Target.Manager == nil {
			out = append(out, miss("target.manager"))
		} else {
			out = append(out, res(*r.Target.Manager != "" && refSame(*r.Target.Manager, r.Requester.UPN)))
		}
	case "same_department":
		if r.Target == nil {
			out = append(out, miss("target"))
		} else if r.RequesterFacts == nil || r.RequesterFacts.Department == nil {
			out = append(out, miss("requester.department"))
		} else if r.Target.Department == nil {
			out = append(out, miss("target.department"))
		} else {
			d := *r.RequesterFacts.Department
			out = append(out, res(d != "" && refSame(d, *r.Target.Department)))
		}
	}
	if len(c.RequesterRole) > 0 {
		if r.Requester.Role == "" {
			out = append(out, miss("requester.role"))
		} else {
			out = append(out, res(slices.Contains(c.RequesterRole, r.Requester.Role)))
		}
	}
	if len(c.RequesterInGroup) > 0 {
		if r.RequesterFacts == nil || r.RequesterFacts.Groups == nil {
			out = append(out, miss("requester.groups"))
		} else {
			out = append(out, refMemberOf(r.RequesterFacts.Groups, c.RequesterInGroup, r))
		}
	}
	if len(c.TargetInGroup) > 0 {
		if r.Target == nil {
			out = append(out, miss("target"))
		} else if r.Target.Groups == nil {
			out = append(out, miss("target.groups"))
		} else {
			out = append(out, refMemberOf(r.Target.Groups, c.TargetInGroup, r))
		}
	}
	if len(c.TargetDepartment) > 0 {
		if r.Target == nil {
			out = append(out, miss("target"))
		} else if r.Target.Department == nil {
			out = append(out, miss("target.department"))
		} else {
			out = append(out, res(refOneOf([]string{*r.Target.Department}, c.TargetDepartment)))
		}
	}
	if c.TargetHasAdminRole != nil {
		if r.Target == nil {
			out = append(out, miss("target"))
		} else if r.Target.AdminRoles == nil {
			out = append(out, miss("target.admin_roles"))
		} else {
			out = append(out, res((len(r.Target.AdminRoles) > 0) == *c.TargetHasAdminRole))
		}
	}
	if c.Group != nil {
		if r.Group == nil {
			out = append(out, miss("group"))
		} else if r.Group.ID == "" {
			out = append(out, miss("group.id"))
		} else {
			out = append(out, refGroupFilter(r.Group.ID, c.Group, r))
		}
	}
	if c.GroupHasAdminRole != nil {
		switch g := r.Group; {
		case g == nil:
			out = append(out, miss("group"))
		case g.RoleAssignable == nil:
			out = append(out, miss("group.role_assignable"))
		case *g.RoleAssignable:
			out = append(out, res(*c.GroupHasAdminRole))
		case g.AdminRoles == nil:
			out = append(out, miss("group.admin_roles"))
		default:
			out = append(out, res((len(g.AdminRoles) > 0) == *c.GroupHasAdminRole))
		}
	}
	if c.License != nil {
		if r.License == nil {
			out = append(out, miss("license"))
		} else if r.License.SKU == "" {
			out = append(out, miss("license.sku"))
		} else {
			out = append(out, res(refNameMatch(r.License.SKU, c.License)))
		}
	}
	if c.DeviceOwner == "self" {
		if r.Device == nil {
			out = append(out, miss("device"))
		} else if r.Requester.UPN == "" {
			out = append(out, miss("requester.upn"))
		} else if r.Device.Owner == nil {
			out = append(out, miss("device.owner"))
		} else {
			out = append(out, res(*r.Device.Owner != "" && refSame(*r.Device.Owner, r.Requester.UPN)))
		}
	}
	if len(c.Channel) > 0 {
		if r.Channel == "" {
			out = append(out, miss("channel"))
		} else {
			out = append(out, res(slices.Contains(c.Channel, r.Channel)))
		}
	}
	if c.Hours != nil {
		if r.Time.IsZero() {
			out = append(out, miss("time"))
		} else {
			t := r.Time.In(refLocation(c.Hours.Timezone))
			ok := len(c.Hours.Days) == 0 || slices.Contains(c.Hours.Days, t.Weekday())
			from, to := 0, 24*60
			if c.Hours.From != "" {
				from, to = refMinutes(c.Hours.From), refMinutes(c.Hours.To)
			}
			now := t.Hour()*60 + t.Minute()
			if from < to {
				ok = ok && from <= now && now < to
			} else {
				ok = ok && (now >= from || now < to)
			}
			out = append(out, res(ok))
		}
	}
	if c.MaxPerDay > 0 {
		if r.History == nil {
			out = append(out, miss("history.count_today"))
		} else if deny {
			out = append(out, res(r.History.CountToday >= c.MaxPerDay))
		} else {
			out = append(out, res(r.History.CountToday < c.MaxPerDay))
		}
	}
	if c.UserRiskMax != "" {
		levels := []string{"none", "low", "medium", "high"}
		if r.Target == nil {
			out = append(out, miss("target"))
		} else if !slices.Contains(levels, r.Target.RiskLevel) {
			out = append(out, miss("target.risk"))
		} else {
			within := slices.Index(levels, r.Target.RiskLevel) <= slices.Index(levels, c.UserRiskMax)
			out = append(out, res(within != deny))
		}
	}
	return out
}

// refRule says whether a rule applies ("true"), does not ("false") or
// cannot be evaluated ("missing:FACT").
func refRule(f File, rule Rule, r Request) string {
	scope := refInScope(f.Scope, r)
	if scope == "false" || !refGlob(rule.Action, r.Action) {
		return "false"
	}
	// Scope first: a department that cannot be told is the first missing
	// fact of the rule.
	results := append([]string{scope}, refConditions(rule.When, rule.Effect == tierzero.EffectDeny, r)...)
	if slices.Contains(results, "false") {
		return "false"
	}
	for _, x := range results {
		if strings.HasPrefix(x, "missing:") {
			return x
		}
	}
	return "true"
}

func refEvaluate(files []File, r Request) refDecision {
	type hit struct {
		file  string
		layer string
		rank  int
		rule  Rule
	}
	var denies, grants, unknown []hit
	var unknownFacts []string
	for _, f := range files {
		layer, rank := refLayer(f.Scope)
		for _, rule := range f.Rules {
			res := refRule(f, rule, r)
			h := hit{f.Name, layer, rank, rule}
			switch {
			case res == "false":
			case strings.HasPrefix(res, "missing:"):
				unknown = append(unknown, h)
				unknownFacts = append(unknownFacts, strings.TrimPrefix(res, "missing:"))
			case rule.Effect == tierzero.EffectDeny:
				denies = append(denies, h)
			default:
				grants = append(grants, h)
			}
		}
	}
	if len(denies) > 0 {
		best := denies[0]
		for _, h := range denies {
			if h.rank < best.rank || (h.rank == best.rank && h.rule.ID < best.rule.ID) {
				best = h
			}
		}
		return refDecision{Effect: "deny", Layer: best.layer, File: best.file, Rule: best.rule.ID}
	}
	if len(unknown) > 0 {
		best, fact := unknown[0], unknownFacts[0]
		for i, h := range unknown {
			if h.rule.ID < best.rule.ID {
				best, fact = h, unknownFacts[i]
			}
		}
		return refDecision{Effect: "deny", Layer: best.layer, File: best.file, Rule: best.rule.ID, Missing: fact}
	}
	if len(grants) == 0 {
		return refDecision{Effect: "deny"}
	}
	top := 0
	for _, h := range grants {
		top = max(top, h.rank)
	}
	var best *hit
	strict := func(e tierzero.Effect) int {
		if e == tierzero.EffectRequireApproval {
			return 1
		}
		return 0
	}
	count := func(r Rule) int {
		if r.Count == 0 {
			return 1
		}
		return r.Count
	}
	expires := func(r Rule) time.Duration {
		if r.Expires == 0 {
			return 24 * time.Hour
		}
		return r.Expires
	}
	for i := range grants {
		h := &grants[i]
		if h.rank != top {
			continue
		}
		switch {
		case best == nil:
			best = h
		case strict(h.rule.Effect) != strict(best.rule.Effect):
			if strict(h.rule.Effect) > strict(best.rule.Effect) {
				best = h
			}
		case h.rule.Effect == tierzero.EffectRequireApproval && count(h.rule) != count(best.rule):
			if count(h.rule) > count(best.rule) {
				best = h
			}
		case h.rule.Effect == tierzero.EffectRequireApproval && expires(h.rule) != expires(best.rule):
			if expires(h.rule) < expires(best.rule) {
				best = h
			}
		case h.rule.ID < best.rule.ID:
			best = h
		}
	}
	d := refDecision{Effect: best.rule.Effect, Layer: best.layer, File: best.file, Rule: best.rule.ID}
	if d.Effect == tierzero.EffectRequireApproval {
		d.Approvers, d.Count, d.Expires = best.rule.Approvers, count(best.rule), expires(best.rule)
	}
	return d
}

// The random world: small, so that names, scopes and patterns collide.
var (
	genTenants  = []tierzero.TenantID{"contoso", "fabrikam"}
	genDepts    = []string{"Sales", "sales", "IT", "Finance", "Ünit", ""}
	genActions  = []string{"user.get", "user.reset_password", "user.reset_mfa", "group.add_member", "license.assign", "device.wipe", "user.issue_tap"}
	genPatterns = []string{"*", "user.*", "user.reset_*", "group.*_member", "?ser.get", "*.wipe", "license.*", "x.*", "user.?et", "*_*"}
	genGroups   = []string{"Sales Team", "sales team", "Admins", "All Staff", "Helpdesk", "ÜBER"}
	// genGroupRefs are how rules name groups: display names, and object
	// ids (of the test groups, in either case, and of a group nobody is in).
	genGroupRefs = []string{"Sales Team", "sales team", "Admins", "All Staff", "Helpdesk", "ÜBER", "über",
		gid("Helpdesk"), strings.ToUpper(gid("All Staff")), gid("Sales Team"), "00000000-0000-4000-8000-000000000000"}
	genSKUs     = []string{"SPE_E3", "SPE_E5", "spe_e3", "EMS"}
	genSKUPat   = []string{"SPE_E3", "SPE_*", "*5", "ems"}
	genUsers    = []string{"a@x.com", "A@X.com", "b@x.com", "c@x.com"}
	genRoles    = []tierzero.Role{tierzero.RoleEmployee, tierzero.RoleTenantAdmin, tierzero.RoleMSPTechnician}
	genChannels = []tierzero.Channel{tierzero.ChannelTeams, tierzero.ChannelSlack, tierzero.ChannelConsole}
	genRisks    = []string{"none", "low", "medium", "high"}
	genZones    = []string{"", "UTC", "America/New_York", "Asia/Kolkata"}
	genClocks   = []string{"00:00", "07:30", "08:00", "12:00", "18:00", "23:59"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func some[T any](rng *rand.Rand, xs []T) []T {
	n := 1 + rng.IntN(2)
	out := make([]T, n)
	for i := range out {
		out[i] = pick(rng, xs)
	}
	return out
}

func chance(rng *rand.Rand, p float64) bool { return rng.Float64() < p }

func genScope(rng *rand.Rand) Scope {
	switch rng.IntN(3) {
	case 0:
		return Scope{Global: true}
	case 1:
		return Scope{Tenant: pick(rng, genTenants)}
	}
	d := pick(rng, genDepts)
	if d == "" {
		d = "Sales"
	}
	return Scope{Tenant: pick(rng, genTenants), Department: d}
}

func genConditions(rng *rand.Rand, effect tierzero.Effect) Conditions {
	var c Conditions
	p := 0.08
	if chance(rng, 0.25) {
		c.Target = pick(rng, []string{TargetSelf, TargetOther, TargetDirectReport, TargetSameDepartment, TargetAny})
	}
	if chance(rng, p) {
		c.RequesterRole = some(rng, genRoles)
	}
	if chance(rng, p) {
		c.RequesterInGroup = some(rng, genGroupRefs)
	}
	if chance(rng, p) {
		c.TargetInGroup = some(rng, genGroupRefs)
	}
	if chance(rng, p) {
		c.TargetDepartment = some(rng, genDepts[:5])
	}
	if chance(rng, p) {
		b := chance(rng, 0.5)
		c.TargetHasAdminRole = &b
	}
	if chance(rng, p) {
		c.Group = genFilter(rng, genGroupRefs)
	}
	if chance(rng, p) {
		b := chance(rng, 0.5)
		c.GroupHasAdminRole = &b
	}
	if chance(rng, p) {
		c.License = genFilter(rng, genSKUPat)
	}
	if chance(rng, p) {
		c.DeviceOwner = "self"
	}
	if chance(rng, p) {
		c.Channel = some(rng, genChannels)
	}
	if chance(rng, p) {
		h := &Hours{Timezone: pick(rng, genZones)}
		if chance(rng, 0.5) {
			h.Days = some(rng, []time.Weekday{0, 1, 2, 3, 4, 5, 6})
		}
		if chance(rng, 0.7) {
			h.From, h.To = pick(rng, genClocks), pick(rng, append(genClocks, "24:00"))
			for h.To == h.From {
				h.To = pick(rng, append(genClocks, "24:00"))
			}
		}
		c.Hours = h
	}
	if chance(rng, p) {
		c.MaxPerDay = 1 + rng.IntN(3)
	}
	if chance(rng, p) {
		c.UserRiskMax = pick(rng, genRisks)
	}
	return c
}

func genFilter(rng *rand.Rand, pats []string) *NameFilter {
	f := &NameFilter{}
	if chance(rng, 0.7) {
		f.Allow = some(rng, pats)
	}
	if len(f.Allow) == 0 || chance(rng, 0.3) {
		f.Deny = some(rng, pats)
	}
	return f
}

func genRule(rng *rand.Rand, id string) Rule {
	r := Rule{ID: id, Effect: pick(rng, []tierzero.Effect{tierzero.EffectAllow, tierzero.EffectAllow, tierzero.EffectAllow, tierzero.EffectRequireApproval, tierzero.EffectRequireApproval, tierzero.EffectDeny})}
	if chance(rng, 0.5) {
		r.Action = pick(rng, genActions)
	} else {
		r.Action = pick(rng, genPatterns)
	}
	r.When = genConditions(rng, r.Effect)
	if r.Effect == tierzero.EffectRequireApproval {
		r.Approvers = some(rng, []string{"manager", "group:Helpdesk", "role:tenant_admin", "role:msp_technician"})
		r.Count = rng.IntN(3)
		if r.Count > 1 && !slices.ContainsFunc(r.Approvers, func(a string) bool { return a != "manager" }) {
			r.Approvers = append(r.Approvers, "role:tenant_admin")
		}
		r.Expires = pick(rng, []time.Duration{0, time.Hour, 24 * time.Hour, 48 * time.Hour})
	}
	return r
}

// genFiles returns up to maxRules random rules in random files.
func genFiles(rng *rand.Rand, maxRules int) []File {
	n := rng.IntN(maxRules + 1)
	files := make([]File, 1+rng.IntN(4))
	for i := range files {
		files[i] = File{Name: fmt.Sprintf("f%d.yaml", i), Scope: genScope(rng)}
	}
	for i := 0; i < n; i++ {
		f := &files[rng.IntN(len(files))]
		f.Rules = append(f.Rules, genRule(rng, fmt.Sprintf("r%02d", i)))
	}
	return files
}

func genUser(rng *rand.Rand) *tierzero.UserFacts {
	u := &tierzero.UserFacts{UPN: pick(rng, genUsers)}
	if chance(rng, 0.9) {
		u.Department = strp(pick(rng, genDepts))
	}
	if chance(rng, 0.3) {
		u.ObjectID = "id-" + strings.ToLower(u.UPN[:1])
	}
	if chance(rng, 0.1) {
		u.UPN = ""
	}
	if chance(rng, 0.8) {
		u.Groups = make([]tierzero.GroupRef, 0)
		for range rng.IntN(3) {
			u.Groups = append(u.Groups, groupsOf(pick(rng, genGroups))...)
		}
	}
	switch {
	case chance(rng, 0.3):
		u.AdminRoles = []string{"Global Administrator"}
	case chance(rng, 0.85):
		u.AdminRoles = []string{}
	}
	switch {
	case chance(rng, 0.7):
		u.Manager = strp(pick(rng, genUsers))
	case chance(rng, 0.7):
		u.Manager = strp("")
	}
	switch {
	case chance(rng, 0.7):
		u.RiskLevel = pick(rng, genRisks)
	case chance(rng, 0.3):
		u.RiskLevel = "hidden" // a level policy does not know: a missing fact
	}
	return u
}

func genRequest(rng *rand.Rand) Request {
	r := Request{Tenant: pick(rng, genTenants), Action: pick(rng, genActions)}
	if chance(rng, 0.05) {
		r.Action = "other.action"
	}
	if chance(rng, 0.9) {
		r.Channel = pick(rng, genChannels)
	}
	if chance(rng, 0.9) {
		r.Time = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(7*24*60)) * time.Minute)
	}
	me := genUser(rng)
	r.Requester = tierzero.Requester{Tenant: r.Tenant, UPN: me.UPN, ObjectID: me.ObjectID, Channel: r.Channel}
	if chance(rng, 0.9) {
		r.Requester.Role = pick(rng, genRoles)
	}
	if chance(rng, 0.8) {
		r.RequesterFacts = me
	}
	if chance(rng, 0.8) {
		r.Target = genUser(rng)
	}
	// The directory resolves most group names.
	r.GroupIDs = map[string]string{}
	for _, n := range genGroups {
		if chance(rng, 0.85) {
			r.GroupIDs[PinKey(n)] = gid(n)
		}
	}
	if chance(rng, 0.7) {
		name := pick(rng, genGroups)
		r.Group = &GroupFacts{ID: gid(name), Name: name}
		if chance(rng, 0.1) {
			r.Group.ID = ""
		}
		if chance(rng, 0.9) {
			r.Group.RoleAssignable = boolp(chance(rng, 0.3))
		}
		switch {
		case chance(rng, 0.2):
			r.Group.AdminRoles = []string{"User Administrator"}
		case chance(rng, 0.8):
			r.Group.AdminRoles = []string{}
		}
	}
	if chance(rng, 0.7) {
		r.License = &LicenseFacts{SKU: pick(rng, genSKUs)}
	}
	if chance(rng, 0.7) {
		r.Device = &DeviceFacts{ID: "dev"}
		if chance(rng, 0.9) {
			r.Device.Owner = strp(pick(rng, append(genUsers, "")))
		}
	}
	if chance(rng, 0.7) {
		r.History = &HistoryFacts{CountToday: rng.IntN(5)}
	}
	return r
}

// TestDifferential: Set.Evaluate and the reference agree on every one of
// at least 100,000 random requests over random rule sets.
func TestDifferential(t *testing.T) {
	sets, perSet := 10_000, 10
	if testing.Short() {
		sets = 1_000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	disagree, decided := 0, map[tierzero.Effect]int{}
	missing := 0
	for i := 0; i < sets; i++ {
		files := genFiles(rng, 12)
		s, err := NewSet(files...)
		if err != nil {
			t.Fatalf("generated an invalid set: %v", err)
		}
		for j := 0; j < perSet; j++ {
			r := genRequest(rng)
			full := evaluated(s, r)
			got, want := fromDecision(full), refEvaluate(files, r)
			if d := s.Decide(r); d.Facts != nil || !sameDecision(d, tierzero.Decision{Effect: full.Effect, Layer: full.Layer, File: full.File,
				Rule: full.Rule, Reason: full.Reason, Approvers: full.Approvers, Count: full.Count, Expires: full.Expires}) {
				t.Fatalf("Decide = %+v, Evaluate = %+v", d, full)
			}
			decided[got.Effect]++
			if got.Missing != "" {
				missing++
			}
			if !equalDecision(got, want) {
				disagree++
				if disagree <= 5 {
					t.Errorf("set %d request %d: Evaluate = %v\nreference = %v\nrequest %+v\nfiles %+v", i, j, got, want, r, files)
				}
			}
		}
	}
	if disagree > 0 {
		t.Fatalf("%d disagreements in %d requests", disagree, sets*perSet)
	}
	t.Logf("%d requests, 0 disagreements; effects %v, %d on a missing fact", sets*perSet, decided, missing)
	// The generator must exercise every outcome, or the test proves little.
	for _, e := range []tierzero.Effect{tierzero.EffectAllow, tierzero.EffectRequireApproval, tierzero.EffectDeny} {
		if decided[e] < sets*perSet/50 {
			t.Errorf("only %d decisions %s", decided[e], e)
		}
	}
	if missing < sets*perSet/50 {
		t.Errorf("only %d decisions on a missing fact", missing)
	}
}

func equalDecision(a, b refDecision) bool {
	return a.Effect == b.Effect && a.Layer == b.Layer && a.File == b.File && a.Rule == b.Rule &&
		slices.Equal(a.Approvers, b.Approvers) && a.Count == b.Count && a.Expires == b.Expires && a.Missing == b.Missing
}
