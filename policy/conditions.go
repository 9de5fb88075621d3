package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // hours conditions name IANA time zones; do not depend on the host's
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// cond is one compiled condition. Conditions are data evaluated by a
// switch rather than closures, so a request never escapes to the heap.
type cond struct {
	kind     condKind
	names    []string   // lower case: departments
	groups   []groupRef // requester_in_group, target_in_group
	roles    []tierzero.Role
	channels []tierzero.Channel
	filter   filter      // license
	gfilter  groupFilter // group
	hours    hours
	want     bool // target_has_admin_role, group_has_admin_role; user_risk_max: user_risk_unknown is allow
	max      int  // max_per_day, user_risk_max rank
	deny     bool // the rule is a deny: limits hold beyond the limit
}

type condKind uint8

const (
	condSelf condKind = iota
	condOther
	condDirectReport
	condSameDepartment
	condRequesterRole
	condRequesterInGroup
	condTargetInGroup
	condTargetDepartment
	condTargetHasAdminRole
	condGroup
	condGroupHasAdminRole
	condLicense
	condDeviceOwner
	condChannel
	condHours
	condMaxPerDay
	condUserRiskMax
)

// present is a set of facts a request has (or a condition requires), by
// the source a condition reads; see Request.present.
type present uint32

const (
	hasTarget present = 1 << iota
	hasSelf           // whether the target is the requester can be told
	hasRequesterUPN
	hasRequesterDepartment
	hasRequesterGroups
	hasRole
	hasTargetGroups
	hasTargetDepartment
	hasTargetManager
	hasTargetAdminRoles
	hasGroup // the group's object id
	hasGroupRoles
	hasLicense
	hasDevice
	hasDeviceOwner
	hasChannel
	hasTime
	hasHistory
	hasRisk
	// hasPins is never present: whether the group display names a rule
	// uses resolved (Request.GroupIDs) is checked name by name, so such a
	// rule is always evaluated.
	hasPins
)

// present returns the facts r has, so that a rule whose conditions need
// only those is known not to deny for a missing fact.
func (r *Request) present() present {
	var p present
	set := func(b present, ok bool) {
		if ok {
			p |= b
		}
	}
	t, rf := r.Target, r.RequesterFacts
	_, selfMissing := selfTarget(r)
	set(hasTarget, t != nil)
	set(hasSelf, selfMissing == "")
	set(hasRequesterUPN, r.Requester.UPN != "")
	set(hasRequesterDepartment, rf != nil && rf.Department != nil)
	set(hasRequesterGroups, rf != nil && rf.Groups != nil)
	set(hasRole, r.Requester.Role != "")
	set(hasTargetGroups, t != nil && t.Groups != nil)
	set(hasTargetDepartment, t != nil && t.Department != nil)
	set(hasTargetManager, t != nil && t.Manager != nil)
	set(hasTargetAdminRoles, t != nil && t.AdminRoles != nil)
	set(hasGroup, r.Group != nil && r.Group.ID != "")
	set(hasGroupRoles, r.Group != nil && r.Group.RoleAssignable != nil && (*r.Group.RoleAssignable || r.Group.AdminRoles != nil))
	set(hasLicense, r.License != nil && r.License.SKU != "")
	set(hasDevice, r.Device != nil)
	set(hasDeviceOwner, r.Device != nil && r.Device.Owner != nil)
	set(hasChannel, r.Channel != "")
	set(hasTime, !r.Time.IsZero())
	set(hasHistory, r.History != nil)
	set(hasRisk, t != nil && (riskRank(t.RiskLevel) >= 0 || t.RiskLevel == riskLevelUnknown))
	return p
}

// requires returns the facts without which c reports a missing fact.
func (c *cond) requires() present {
	switch c.kind {
	case condSelf, condOther:
		return hasSelf
	case condDirectReport:
		return hasTarget | hasRequesterUPN | hasTargetManager
	case condSameDepartment:
		return hasTarget | hasRequesterDepartment | hasTargetDepartment
	case condRequesterRole:
		return hasRole
	case condRequesterInGroup:
		return hasRequesterGroups | pinsOf(c.groups)
	case condTargetInGroup:
		return hasTarget | hasTargetGroups | pinsOf(c.groups)
	case condTargetDepartment:
		return hasTarget | hasTargetDepartment
	case condTargetHasAdminRole:
		return hasTarget | hasTargetAdminRoles
	case condGroup:
		return hasGroup | pinsOf(c.gfilter.allow) | pinsOf(c.gfilter.deny)
	case condGroupHasAdminRole:
		return hasGroupRoles
	case condLicense:
		return hasLicense
	case condDeviceOwner:
		return hasDevice | hasRequesterUPN | hasDeviceOwner
	case condChannel:
		return hasChannel
	case condHours:
		return hasTime
	case condMaxPerDay:
		return hasHistory
	case condUserRiskMax:
		return hasTarget | hasRisk
	}
	return ^present(0)
}

// pinsOf is hasPins when refs name a group by display name.
func pinsOf(refs []groupRef) present {
	for _, g := range refs {
		if g.id == "" {
			return hasPins
		}
	}
	return 0
}

// needs says which facts beyond the requester's identity and the target
// user the conditions of a rule read, so Guard fetches only those.
type needs uint8

const (
	needRequester needs = 1 << iota // the requester's directory facts
	needHistory
	needGroup
	needLicense
	needDevice
)

// compileConditions validates c and returns its conditions in the order of
// the fields of Conditions, or every problem found. The limits
// (max_per_day, user_risk_max) of a deny rule hold beyond the limit: a grant
// is limited to N a day, a deny applies from the Nth on.
func compileConditions(c Conditions, deny bool) ([]cond, needs, []error) {
	var out []cond
	var n needs
	var errs []error
	add := func(k condKind, x cond) { x.kind, x.deny = k, deny; out = append(out, x) }
	fail := func(err error) { errs = append(errs, err) }

	switch c.Target {
	case "", TargetAny:
	case TargetSelf:
		add(condSelf, cond{})
	case TargetOther:
		add(condOther, cond{})
	case TargetDirectReport:
		add(condDirectReport, cond{})
	case TargetSameDepartment:
		n |= needRequester
		add(condSameDepartment, cond{})
	default:
		fail(fmt.Errorf("unknown target %q: want self, other, direct_report, same_department or any", c.Target))
	}
	if len(c.RequesterRole) > 0 {
		for _, role := range c.RequesterRole {
			if err := validRole(role); err != nil {
				fail(err)
			}
		}
		add(condRequesterRole, cond{roles: slices.Clone(c.RequesterRole)})
	}
	if len(c.RequesterInGroup) > 0 {
		groups, gerrs := groupRefs("requester_in_group", c.RequesterInGroup)
		errs = append(errs, gerrs...)
		n |= needRequester
		add(condRequesterInGroup, cond{groups: groups})
	}
	if len(c.TargetInGroup) > 0 {
		groups, gerrs := groupRefs("target_in_group", c.TargetInGroup)
		errs = append(errs, gerrs...)
		add(condTargetInGroup, cond{groups: groups})
	}
	if len(c.TargetDepartment) > 0 {
		depts, err := names("target_department", c.TargetDepartment)
		if err != nil {
			fail(err)
		}
		add(condTargetDepartment, cond{names: depts})
	}
	if c.TargetHasAdminRole != nil {
		add(condTargetHasAdminRole, cond{want: *c.TargetHasAdminRole})
	}
	if c.Group != nil {
		f, gerrs := compileGroupFilter(c.Group)
		errs = append(errs, gerrs...)
		n |= needGroup
		add(condGroup, cond{gfilter: f})
	}
	if c.GroupHasAdminRole != nil {
		n |= needGroup
		add(condGroupHasAdminRole, cond{want: *c.GroupHasAdminRole})
	}
	if c.License != nil {
		f, err := compileFilter("license", c.License)
		if err != nil {
			fail(err)
		}
		n |= needLicense
		add(condLicense, cond{filter: f})
	}
	switch c.DeviceOwner {
	case "":
	case "self":
		n |= needDevice
		add(condDeviceOwner, cond{})
	default:
		fail(fmt.Errorf("unknown device_owner %q: want self", c.DeviceOwner))
	}
	if len(c.Channel) > 0 {
		for _, ch := range c.Channel {
			if err := validChannel(ch); err != nil {
				fail(err)
			}
		}
		add(condChannel, cond{channels: slices.Clone(c.Channel)})
	}
	if c.Hours != nil {
		h, err := compileHours(*c.Hours)
		if err != nil {
			fail(err)
		}
		add(condHours, cond{hours: h})
	}
	if c.MaxPerDay != 0 {
		if c.MaxPerDay < 0 {
			fail(fmt.Errorf("max_per_day %d: want at least 1", c.MaxPerDay))
		}
		n |= needHistory
		add(condMaxPerDay, cond{max: c.MaxPerDay})
	}
	if c.UserRiskMax != "" {
		max := riskRank(c.UserRiskMax)
		if max < 0 {
			fail(fmt.Errorf("unknown user_risk_max %q: want none, low, medium or high", c.UserRiskMax))
		}
		switch c.UserRiskUnknown {
		case "", riskUnknownAllow, riskUnknownDeny:
		default:
			fail(fmt.Errorf("unknown user_risk_unknown %q: want allow or deny", c.UserRiskUnknown))
		}
		add(condUserRiskMax, cond{max: max, want: c.UserRiskUnknown == riskUnknownAllow})
	} else if c.UserRiskUnknown != "" {
		fail(fmt.Errorf("user_risk_unknown needs user_risk_max in the same rule"))
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}
	return out, n, nil
}

// eval evaluates the condition: whether it holds, or the name of the fact
// it needs and the request lacks.
func (c *cond) eval(r *Request) (bool, string) {
	t, q := r.Target, &r.Requester
	switch c.kind {
	case condSelf:
		return selfTarget(r)
	case condOther:
		ok, m := selfTarget(r)
		return !ok, m
	case condDirectReport:
		switch {
		case t == nil:
			return false, "target"
		case q.UPN == "":
			return false, "requester.upn"
		case across(r):
			return false, ""
		case t.Manager == nil:
			return false, "target.manager"
		}
		return *t.Manager != "" && foldEq(*t.Manager, q.UPN), ""
	case condSameDepartment:
		switch {
		case t == nil:
			return false, "target"
		case r.RequesterFacts == nil || r.RequesterFacts.Department == nil:
			return false, "requester.department"
		case t.Department == nil:
			return false, "target.department"
		}
		d := *r.RequesterFacts.Department
		return d != "" && foldEq(d, *t.Department), ""
	case condRequesterRole:
		if q.Role == "" {
			return false, "requester.role"
		}
		return slices.Contains(c.roles, q.Role), ""
	case condRequesterInGroup:
		if r.RequesterFacts == nil || r.RequesterFacts.Groups == nil {
			return false, "requester.groups"
		}
		return memberOf(r.RequesterFacts.Groups, c.groups, r)
	case condTargetInGroup:
		switch {
		case t == nil:
			return false, "target"
		case t.Groups == nil:
			return false, "target.groups"
		}
		return memberOf(t.Groups, c.groups, r)
	case condTargetDepartment:
		switch {
		case t == nil:
			return false, "target"
		case t.Department == nil:
			return false, "target.department"
		}
		for _, d := range c.names {
			if foldEq(*t.Department, d) {
				return true, ""
			}
		}
		return false, ""
	case condTargetHasAdminRole:
		switch {
		case t == nil:
			return false, "target"
		case t.AdminRoles == nil:
			return false, "target.admin_roles"
		}
		return (len(t.AdminRoles) > 0) == c.want, ""
	case condGroup:
		switch {
		case r.Group == nil:
			return false, "group"
		case r.Group.ID == "":
			return false, "group.id"
		}
		return c.gfilter.match(r.Group.ID, r)
	case condGroupHasAdminRole:
		switch {
		case r.Group == nil:
			return false, "group"
		case r.Group.RoleAssignable == nil:
			return false, "group.role_assignable"
		case *r.Group.RoleAssignable:
			return c.want, "" // an admin group, whatever roles it holds now
		case r.Group.AdminRoles == nil:
			return false, "group.admin_roles"
		}
		return (len(r.Group.AdminRoles) > 0) == c.want, ""
	case condLicense:
		switch {
		case r.License == nil:
			return false, "license"
		case r.License.SKU == "":
			return false, "license.sku"
		}
		return c.filter.match(r.License.SKU), ""
	case condDeviceOwner:
		switch {
		case r.Device == nil:
			return false, "device"
		case q.UPN == "":
			return false, "requester.upn"
		case across(r):
			return false, ""
		case r.Device.Owner == nil:
			return false, "device.owner"
		}
		return *r.Device.Owner != "" && foldEq(*r.Device.Owner, q.UPN), ""
	case condChannel:
		if r.Channel == "" {
			return false, "channel"
		}
		return slices.Contains(c.channels, r.Channel), ""
	case condHours:
		if r.Time.IsZero() {
			return false, "time"
		}
		return c.hours.contains(r.Time), ""
	case condMaxPerDay:
		if r.History == nil {
			return false, "history.count_today"
		}
		return (r.History.CountToday < c.max) != c.deny, ""
	case condUserRiskMax:
		if t == nil {
			return false, "target"
		}
		if t.RiskLevel == riskLevelUnknown {
			// A known fact: Graph cannot tell (no Entra ID P2). Within the
			// limit only if the rule says so.
			return c.want != c.deny, ""
		}
		level := riskRank(t.RiskLevel)
		if level < 0 {
			return false, "target.risk"
		}
		return (level <= c.max) != c.deny, ""
	}
	return false, "condition" // unreachable: every kind is handled above
}

// The risk level Graph reports it cannot tell (no Entra ID P2), and the
// values of user_risk_unknown.
const (
	riskLevelUnknown = "unknown"
	riskUnknownAllow = "allow"
	riskUnknownDeny  = "deny"
)

// selfTarget reports whether the target user is the requester: by object
// id when both are known, else by user principal name. A requester of
// another tenant is never the target: the users of this tenant's directory
// are not theirs.
func selfTarget(r *Request) (bool, string) {
	t, q := r.Target, &r.Requester
	switch {
	case t == nil:
		return false, "target"
	case across(r):
		return false, ""
	case t.ObjectID != "" && q.ObjectID != "":
		return t.ObjectID == q.ObjectID, ""
	case t.UPN != "" && q.UPN != "":
		return foldEq(t.UPN, q.UPN), ""
	case q.UPN == "" && q.ObjectID == "":
		return false, "requester.upn"
	}
	return false, "target.upn"
}

// across reports whether r is a cross-tenant request: its requester
// belongs to another tenant (an MSP technician acting in a client tenant).
// Nothing in the client tenant's directory (a user, a manager, a device's
// owner) is then the requester.
func across(r *Request) bool {
	return r.Requester.Tenant != r.Tenant && r.Requester.Tenant != ""
}

func validRole(r tierzero.Role) error {
	switch r {
	case tierzero.RoleEmployee, tierzero.RoleTenantAdmin, tierzero.RoleMSPTechnician:
		return nil
	}
	return fmt.Errorf("unknown requester_role %q: want employee, tenant_admin or msp_technician", r)
}

func validChannel(c tierzero.Channel) error {
	switch c {
	case tierzero.ChannelTeams, tierzero.ChannelSlack, tierzero.ChannelConsole, tierzero.ChannelWeb:
		return nil
	}
	return fmt.Errorf("unknown channel %q: want teams, slack, console or web", c)
}

// names validates a list of names and returns it in lower case.
func names(what string, list []string) ([]string, error) {
	out := make([]string, len(list))
	for i, s := range list {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("%s: empty name", what)
		}
		out[i] = strings.ToLower(s)
	}
	return out, nil
}

// groupRef is a group a policy names: by object id, or by display name.
// A display name counts only once it has resolved, in the request's
// tenant, to exactly one group (Guard pins it to that group's id at first
// use; see Request.GroupIDs); until then a condition naming it cannot be
// evaluated.
type groupRef struct {
	id   string // lower case object id; "" for a name
	name string // the display name as written; "" for an id
	key  string // PinKey(name), computed once at load
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsObjectID reports whether s is an Entra object id (a GUID), the way
// policies name groups; anything else is a display name.
func IsObjectID(s string) bool { return guidPattern.MatchString(s) }

// PinKey is the key of a group display name in Request.GroupIDs: names
// compare without regard to case, as Graph compares them.
func PinKey(name string) string { return strings.ToLower(name) }

func compileGroupRef(what, s string) (groupRef, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return groupRef{}, fmt.Errorf("%s: empty name", what)
	case s != strings.TrimSpace(s):
		return groupRef{}, fmt.Errorf("%s: %q has surrounding spaces", what, s)
	case IsObjectID(s):
		return groupRef{id: strings.ToLower(s)}, nil
	case strings.ContainsAny(s, "*?"):
		return groupRef{}, fmt.Errorf("%s: %q: a group is named by its object id (or its exact display name, which must name exactly one group of the tenant), never by a pattern", what, s)
	}
	return groupRef{name: s, key: PinKey(s)}, nil
}

func groupRefs(what string, list []string) ([]groupRef, []error) {
	var out []groupRef
	var errs []error
	for _, s := range list {
		g, err := compileGroupRef(what, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, g)
	}
	return out, errs
}

// resolve returns the object id g names in r's tenant, or the missing fact
// when g is a display name that did not resolve to exactly one group.
func (g groupRef) resolve(r *Request) (string, string) {
	if g.id != "" {
		return g.id, ""
	}
	if id, ok := r.GroupIDs[g.key]; ok && id != "" {
		return strings.ToLower(id), ""
	}
	return "", groupFact(g.name)
}

// groupFact names the missing fact of a display name that did not resolve.
func groupFact(name string) string { return fmt.Sprintf("group %q", name) }

// memberOf reports whether one of have is one of want; a display name of
// want that did not resolve is a missing fact unless another entry holds.
func memberOf(have []tierzero.GroupRef, want []groupRef, r *Request) (bool, string) {
	missing := ""
	for _, w := range want {
		id, m := w.resolve(r)
		if m != "" {
			if missing == "" {
				missing = m
			}
			continue
		}
		for _, h := range have {
			if strings.EqualFold(h.ID, id) {
				return true, ""
			}
		}
	}
	return false, missing
}

// groupFilter is a group condition: the group's object id is one of allow
// (or allow is empty) and none of deny.
type groupFilter struct{ allow, deny []groupRef }

func compileGroupFilter(f *NameFilter) (groupFilter, []error) {
	var out groupFilter
	var errs []error
	if len(f.Allow) == 0 && len(f.Deny) == 0 {
		return out, []error{fmt.Errorf("group: give allow or deny")}
	}
	var e1, e2 []error
	out.allow, e1 = groupRefs("group.allow", f.Allow)
	out.deny, e2 = groupRefs("group.deny", f.Deny)
	errs = append(append(errs, e1...), e2...)
	return out, errs
}

// match reports whether the group id is one of allow (or allow is empty)
// and none of deny. A name that does not resolve leaves it missing unless a
// resolved entry settles it: the group is denied, or allow resolved in full
// without it.
func (f groupFilter) match(id string, r *Request) (bool, string) {
	denyMissing := ""
	for _, d := range f.deny {
		gid, m := d.resolve(r)
		if m != "" {
			if denyMissing == "" {
				denyMissing = m
			}
			continue
		}
		if strings.EqualFold(gid, id) {
			return false, ""
		}
	}
	if len(f.allow) > 0 {
		allowMissing := ""
		allowed := false
		for _, a := range f.allow {
			gid, m := a.resolve(r)
			if m != "" {
				if allowMissing == "" {
					allowMissing = m
				}
				continue
			}
			if strings.EqualFold(gid, id) {
				allowed = true
				break
			}
		}
		if !allowed {
			return false, allowMissing
		}
	}
	return denyMissing == "", denyMissing
}

// groupNames returns the display names (not ids) of groups the conditions
// name.
func (c *cond) groupNames() []string {
	var out []string
	for _, refs := range [][]groupRef{c.groups, c.gfilter.allow, c.gfilter.deny} {
		for _, g := range refs {
			if g.id == "" {
				out = append(out, g.name)
			}
		}
	}
	return out
}

type filter struct{ allow, deny []glob }

func compileFilter(what string, f *NameFilter) (filter, error) {
	var out filter
	if len(f.Allow) == 0 && len(f.Deny) == 0 {
		return out, fmt.Errorf("%s: give allow or deny", what)
	}
	for _, p := range f.Allow {
		if strings.TrimSpace(p) == "" {
			return out, fmt.Errorf("%s: empty pattern", what)
		}
		out.allow = append(out.allow, compileGlob(p, true))
	}
	for _, p := range f.Deny {
		if strings.TrimSpace(p) == "" {
			return out, fmt.Errorf("%s: empty pattern", what)
		}
		out.deny = append(out.deny, compileGlob(p, true))
	}
	return out, nil
}

func (f filter) match(name string) bool {
	name = strings.ToLower(name)
	ok := len(f.allow) == 0
	for _, g := range f.allow {
		if g.match(name) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for _, g := range f.deny {
		if g.match(name) {
			return false
		}
	}
	return true
}

type hours struct {
	days     uint8 // bit per time.Weekday; 0 is every day
	from, to int   // minutes since midnight
	loc      *time.Location
}

func compileHours(h Hours) (hours, error) {
	var out hours
	for _, d := range h.Days {
		if d < time.Sunday || d > time.Saturday {
			return out, fmt.Errorf("hours: bad day %d", d)
		}
		out.days |= 1 << d
	}
	switch {
	case h.From == "" && h.To == "":
		out.from, out.to = 0, 24*60
	case h.From == "" || h.To == "":
		return out, fmt.Errorf("hours: give both from and to")
	default:
		var err error
		if out.from, err = clock(h.From, false); err != nil {
			return out, err
		}
		if out.to, err = clock(h.To, true); err != nil {
			return out, err
		}
		if out.from == out.to {
			return out, fmt.Errorf("hours: from and to are the same time")
		}
	}
	loc, err := time.LoadLocation(h.Timezone)
	if h.Timezone == "" {
		loc, err = time.UTC, nil
	}
	if err != nil || strings.EqualFold(h.Timezone, "local") {
		return out, fmt.Errorf("hours: unknown timezone %q: want an IANA name such as Europe/Berlin", h.Timezone)
	}
	out.loc = loc
	return out, nil
}

// clock parses "HH:MM" into minutes since midnight; "24:00" only as an end.
func clock(s string, end bool) (int, error) {
	bad := fmt.Errorf("hours: bad time %q: want HH:MM, e.g. 08:30", s)
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, bad
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, bad
	}
	return h*60 + m, nil
}

func (h hours) contains(t time.Time) bool {
	t = t.In(h.loc)
	if h.days != 0 && h.days&(1<<t.Weekday()) == 0 {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if h.from < h.to {
		return h.from <= m && m < h.to
	}
	return m >= h.from || m < h.to
}

// glob is a compiled pattern: * matches any run of characters (dots
// included), ? one character, anything else itself.
type glob struct {
	pat     string
	literal bool // no wildcard
	prefix  bool // one trailing * and no other wildcard
	fold    bool // compare in lower case
}

func compileGlob(p string, fold bool) glob {
	if fold {
		p = strings.ToLower(p)
	}
	g := glob{pat: p, fold: fold}
	switch i := strings.IndexAny(p, "*?"); {
	case i < 0:
		g.literal = true
	case i == len(p)-1 && p[i] == '*':
		g.prefix = true
	}
	return g
}

func (g glob) match(s string) bool {
	if g.fold {
		s = strings.ToLower(s)
	}
	switch {
	case g.literal:
		return s == g.pat
	case g.prefix:
		return strings.HasPrefix(s, g.pat[:len(g.pat)-1])
	}
	return wildMatch(g.pat, s)
}

// wildMatch matches s against a pattern of *, ? and literal characters,
// backtracking only to the last star (linear in practice, quadratic at worst).
func wildMatch(p, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, w := utf8.DecodeRuneInString(s[sx:])
					px, sx = px+1, sx+w
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px, sx = px+1, sx+1
					continue
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			_, w := utf8.DecodeRuneInString(s[starS:])
			starS += w
			px, sx = starP+1, starS
			continue
		}
		return false
	}
	return true
}

// foldEq reports whether a and b are equal in lower case.
func foldEq(a, b string) bool {
	if len(a) == len(b) {
		i := 0
		for ; i < len(a); i++ {
			ca, cb := a[i], b[i]
			if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
				break
			}
			if ca == cb {
				continue
			}
			if 'A' <= ca && ca <= 'Z' {
				ca += 'a' - 'A'
			}
			if 'A' <= cb && cb <= 'Z' {
				cb += 'a' - 'A'
			}
			if ca != cb {
				return false
			}
		}
		if i == len(a) {
			return true
		}
	} else if ascii(a) && ascii(b) {
		return false
	}
	return strings.ToLower(a) == strings.ToLower(b)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// needs returns which facts the rules that may apply to action in tenant read.
func (s *Set) needs(tenant tierzero.TenantID, action string) needs {
	var n needs
	for _, c := range s.rules {
		if c.needs&^n == 0 || !c.action.match(action) {
			continue
		}
		if sc := c.file.Scope; !sc.Global && sc.Tenant != tenant {
			continue
		}
		n |= c.needs
	}
	return n
}
