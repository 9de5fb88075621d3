// Package policy decides whether a proposed tool call may run. Policies are
// data (rules in YAML files scoped global, tenant or department); the
// evaluation is Go code: deny by default, any applying deny wins, otherwise
// the most specific layer decides, and a fact that is missing denies. Guard is
// the only ToolRunner the agent receives, and only Guard mints the permits
// without which the Graph executor runs nothing.
package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tierzero/tierzero"
)

// Layers, from least to most specific.
const (
	LayerGlobal     = "global"
	LayerTenant     = "tenant"
	LayerDepartment = "department"
)

// Defaults of approval rules.
const (
	DefaultCount   = 1
	DefaultExpires = 24 * time.Hour
	maxExpires     = 30 * 24 * time.Hour
)

// Scope says which requests a file's rules apply to: every tenant (Global),
// one tenant, or, within one tenant, the actions whose target user belongs
// to one department.
type Scope struct {
	Global     bool
	Tenant     tierzero.TenantID
	Department string
}

func (s Scope) layer() string {
	switch {
	case s.Global:
		return LayerGlobal
	case s.Department != "":
		return LayerDepartment
	default:
		return LayerTenant
	}
}

// Rule is one policy rule.
type Rule struct {
	ID        string
	Action    string // an action name or a glob such as "user.*"
	Effect    tierzero.Effect
	When      Conditions
	Approvers []string      // require_approval: manager, group:ID (or group:NAME), role:tenant_admin, role:msp_technician
	Count     int           // require_approval: distinct approvers needed; 0 means DefaultCount
	Expires   time.Duration // require_approval: how long the request stays open; 0 means DefaultExpires
	Reason    string
	Line      int // where the rule starts in its file; 0 when not read from one
}

// Target conditions.
const (
	TargetSelf           = "self"            // the target user is the requester
	TargetOther          = "other"           // the target user is not the requester
	TargetDirectReport   = "direct_report"   // the requester is the target user's manager
	TargetSameDepartment = "same_department" // requester and target share a department
	TargetAny            = "any"             // no condition
)

// Conditions must all hold for a rule to apply. A zero field is no
// condition. Names (departments, SKUs, user principal names) compare
// without regard to case. Groups are named by object id, or by a display
// name that must resolve in the tenant to exactly one group (see
// Request.GroupIDs). They are evaluated in the order of the fields; see
// Evaluate for what happens when a fact is missing.
type Conditions struct {
	Target             string          // TargetSelf, TargetOther, TargetDirectReport, TargetSameDepartment, TargetAny
	RequesterRole      []tierzero.Role // the requester's role is one of these
	RequesterInGroup   []string        // the requester is a member of one of these groups (ids or names)
	TargetInGroup      []string        // the target user is a member of one of these groups (ids or names)
	TargetDepartment   []string        // the target user's department is one of these
	TargetHasAdminRole *bool           // the target user holds (true) or holds no (false) directory role, active or eligible
	Group              *NameFilter     // the group a group action names: ids or names, no patterns
	// GroupHasAdminRole: the group a group action names is (true) or is
	// not (false) an admin group as Graph says: role-assignable
	// (isAssignableToRole), or holding a directory role, active or eligible.
	GroupHasAdminRole *bool
	License           *NameFilter        // the SKU part number a license action names
	DeviceOwner       string             // "self": the device the action names is the requester's
	Channel           []tierzero.Channel // the request came on one of these
	Hours             *Hours             // the request came within these hours
	MaxPerDay         int                // the requester did this action fewer times today; 0 is no limit
	UserRiskMax       string             // the target user's risk level is at most this: none < low < medium < high
	// UserRiskUnknown is what UserRiskMax makes of a risk Graph cannot
	// tell (RiskLevel "unknown": the tenant has no Entra ID P2): "allow"
	// counts it as within the limit; "" or "deny" as beyond it, so an
	// allow rule does not grant and a deny rule denies.
	UserRiskUnknown string
	// MaxPerDay and UserRiskMax are limits: on a deny rule they hold
	// beyond the limit (count today at least MaxPerDay, risk above
	// UserRiskMax), so "deny, max_per_day: 3" denies the fourth call.
}

// NameFilter holds when a name matches one of Allow (or Allow is empty) and
// none of Deny. For licenses, entries are SKU part numbers or globs (* any
// run of characters, ? one); for groups, object ids or display names.
type NameFilter struct {
	Allow []string
	Deny  []string
}

// Hours is a window of time in a time zone. Days empty is every day; From
// and To are "HH:MM" (To may be "24:00"); a window whose To is before its
// From spans midnight. Timezone is an IANA name; empty is UTC.
type Hours struct {
	Days     []time.Weekday
	From, To string
	Timezone string
}

// Risk levels, from least to most risky.
var riskLevels = []string{"none", "low", "medium", "high"}

func riskRank(level string) int { return slices.Index(riskLevels, level) }

// File is a named set of rules with one scope.
type File struct {
	Name      string
	Scope     Scope
	ScopeLine int // where the scope is in the file; 0 when not read from one
	Rules     []Rule
	// Technicians admits MSP technicians to act across tenants: user
	// principal names or globs (* any run of characters, ? one), compared
	// without regard to case. In a global file they are admitted to every
	// tenant, in a tenant file to that tenant; a department file cannot
	// admit anyone. See Set.Admits.
	Technicians []string
	// Incomplete marks a file Parse found problems in: it holds what could
	// be read, so that Check can report the file's other problems too.
	// NewSet refuses it.
	Incomplete bool
}

// Set is a validated, compiled collection of policy files. It is safe for
// concurrent use.
type Set struct {
	files   []File
	rules   []*rule // every compiled rule, in file order
	global  bucket
	tenants map[tierzero.TenantID]*tenantRules
	actions map[string]bool // every action a rule names exactly
	// techs are the technicians the files admit, in file order.
	techs []technician
}

// technician is one compiled entry of a file's technicians.
type technician struct {
	tenant tierzero.TenantID // "" for a global file: every tenant
	upn    glob              // folded to lower case
	file   string
}

// tenantRules are the rules of one tenant: its tenant layer and its
// department layers.
type tenantRules struct {
	rules bucket
	depts []deptRules
}

type deptRules struct {
	name  string // lower case
	rules bucket
}

// bucket indexes rules by action: for every action some rule of the set
// names exactly, the rules (exact and glob) that match it; for any other
// action, the globs are matched one by one.
type bucket struct {
	exact    map[string][]*rule
	globs    []*rule
	byAction map[string][]*rule
}

// index fills byAction for the actions of the set.
func (b *bucket) index(actions map[string]bool) {
	b.byAction = make(map[string][]*rule, len(actions))
	for a := range actions {
		rs := slices.Clone(b.exact[a])
		for _, g := range b.globs {
			if g.action.match(a) {
				rs = append(rs, g)
			}
		}
		if len(rs) > 0 {
			b.byAction[a] = rs
		}
	}
}

// candidates returns the rules of b whose action pattern may match action
// (all of them match when known is true).
func (b *bucket) candidates(action string, known bool) ([]*rule, bool) {
	if known {
		return b.byAction[action], true
	}
	return b.globs, false
}

func (b *bucket) add(r *rule) {
	if r.action.literal {
		if b.exact == nil {
			b.exact = map[string][]*rule{}
		}
		b.exact[r.action.pat] = append(b.exact[r.action.pat], r)
		return
	}
	b.globs = append(b.globs, r)
}

// rule is a compiled Rule.
type rule struct {
	*Rule
	file   *File
	layer  int // 0 global, 1 tenant, 2 department
	strict int // 0 allow, 1 require_approval, 2 deny
	action glob
	conds  []cond
	needs  needs
	facts  []string // the facts its conditions read, for the decision
	reason string   // Reason, or one made up
	// groupNames are the group display names (not ids) its conditions
	// use: Guard resolves them in the request's tenant. groupKeys are
	// their PinKeys.
	groupNames, groupKeys []string
	// requires is the facts its conditions need: a request that has them
	// all cannot make the rule deny for a missing fact.
	requires present
}

// Files returns (a copy of) the files of the set.
func (s *Set) Files() []File {
	out := make([]File, len(s.files))
	for i, f := range s.files {
		out[i] = cloneFile(f)
	}
	return out
}

// cloneFile copies what a Set reads at decision time, so that neither the
// caller of NewSet nor the caller of Files can change a Set's decisions.
func cloneFile(f File) File {
	f.Technicians = slices.Clone(f.Technicians)
	f.Rules = slices.Clone(f.Rules)
	for j := range f.Rules {
		f.Rules[j].Approvers = slices.Clone(f.Rules[j].Approvers)
	}
	return f
}

// Len returns the number of rules in the set.
func (s *Set) Len() int { return len(s.rules) }

// validID reports whether id is 1 to 128 letters, digits and - _ . :,
// starting with a letter or digit.
func validID(id string) bool {
	if id == "" || len(id) > 128 || !alnum(id[0]) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !alnum(c) && !strings.ContainsRune("_.:-", rune(c)) {
			return false
		}
	}
	return true
}

// validAction reports whether p is an action name or glob: 1 to 128
// letters, digits and - _ . * ?.
func validAction(p string) bool {
	if p == "" || len(p) > 128 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !alnum(c) && !strings.ContainsRune("_.*?-", rune(c)) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// NewSet validates files and returns a Set: rule ids unique across files,
// known effects, approvers and conditions, a scope that names a layer.
func NewSet(files ...File) (*Set, error) {
	s := &Set{files: make([]File, len(files)), tenants: map[tierzero.TenantID]*tenantRules{}}
	ids := map[string]string{}
	var errs []string
	for i := range files {
		s.files[i] = cloneFile(files[i])
	}
	for i := range s.files {
		f := &s.files[i]
		at := func(line int) string {
			if line > 0 {
				return fmt.Sprintf("%s:%d", f.Name, line)
			}
			return f.Name
		}
		if f.Incomplete {
			errs = append(errs, fmt.Sprintf("%s: the file has problems", at(0)))
			continue
		}
		if err := f.Scope.validate(); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", at(0), err))
			continue
		}
		if len(f.Technicians) > 0 && f.Scope.Department != "" {
			errs = append(errs, fmt.Sprintf("%s: %s", at(0), errDepartmentTechnicians))
		}
		for _, t := range f.Technicians {
			if err := validTechnician(t); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", at(0), err))
				continue
			}
			s.techs = append(s.techs, technician{tenant: f.Scope.Tenant, upn: compileGlob(t, true), file: f.Name})
		}
		var b *bucket
		layer := 0
		switch f.Scope.layer() {
		case LayerGlobal:
			b = &s.global
		case LayerTenant:
			b, layer = &s.tenant(f.Scope.Tenant).rules, 1
		default:
			b, layer = s.tenant(f.Scope.Tenant).dept(f.Scope.Department), 2
		}
		for j := range f.Rules {
			r := &f.Rules[j]
			if other, dup := ids[r.ID]; dup && r.ID != "" {
				errs = append(errs, fmt.Sprintf("%s: rule id %q already used in %s", at(r.Line), r.ID, other))
				continue
			}
			ids[r.ID] = at(r.Line)
			c, rerrs := compileRule(r)
			if len(rerrs) > 0 {
				name := ""
				if r.ID != "" {
					name = "rule " + r.ID + ": "
				}
				for _, err := range rerrs {
					errs = append(errs, fmt.Sprintf("%s: %s%v", at(r.Line), name, err))
				}
				continue
			}
			c.file, c.layer = f, layer
			s.rules = append(s.rules, c)
			b.add(c)
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	s.actions = map[string]bool{}
	for _, c := range s.rules {
		if c.action.literal {
			s.actions[c.action.pat] = true
		}
	}
	s.global.index(s.actions)
	for _, t := range s.tenants {
		t.rules.index(s.actions)
		for i := range t.depts {
			t.depts[i].rules.index(s.actions)
		}
	}
	return s, nil
}

// LoadError lists every problem found in a set of policy files, each as
// "file:line: message".
type LoadError struct {
	Errs []string
}

func (e *LoadError) Error() string { return strings.Join(e.Errs, "\n") }

func (s *Set) tenant(t tierzero.TenantID) *tenantRules {
	tr := s.tenants[t]
	if tr == nil {
		tr = &tenantRules{}
		s.tenants[t] = tr
	}
	return tr
}

func (t *tenantRules) dept(name string) *bucket {
	name = strings.ToLower(name)
	for i := range t.depts {
		if t.depts[i].name == name {
			return &t.depts[i].rules
		}
	}
	t.depts = append(t.depts, deptRules{name: name})
	return &t.depts[len(t.depts)-1].rules
}

func (s Scope) validate() error {
	switch {
	case s.Global && (s.Tenant != "" || s.Department != ""):
		return fmt.Errorf("a global scope names no tenant or department")
	case s.Global:
		return nil
	case s.Tenant == "":
		return fmt.Errorf("scope must be global or name a tenant")
	}
	if err := tierzero.ValidTenantID(s.Tenant); err != nil {
		return fmt.Errorf("scope: %s", tierzero.ErrorMessage(err))
	}
	if s.Department != strings.TrimSpace(s.Department) {
		return fmt.Errorf("scope: department %q has surrounding spaces", s.Department)
	}
	return nil
}

func strictness(e tierzero.Effect) int {
	switch e {
	case tierzero.EffectAllow:
		return 0
	case tierzero.EffectRequireApproval:
		return 1
	default:
		return 2
	}
}

// compileRule compiles r, or returns every problem it has.
func compileRule(r *Rule) (*rule, []error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case r.ID == "":
		fail("a rule has no id")
	case !validID(r.ID):
		fail("bad id %q: want letters, digits and - _ . : (at most 128)", r.ID)
	}
	if !validAction(r.Action) {
		fail("bad action pattern %q: want an action name such as user.reset_password or a glob such as user.*", r.Action)
	}
	if err := validEffect(r.Effect); err != nil {
		errs = append(errs, err)
	}
	if r.Effect == tierzero.EffectRequireApproval {
		if len(r.Approvers) == 0 {
			fail("a require_approval rule needs approvers")
		}
		for _, a := range r.Approvers {
			if err := validApprover(a); err != nil {
				errs = append(errs, err)
			}
		}
		if r.Count < 0 {
			fail("count %d: want at least 1", r.Count)
		}
		if r.Count > 1 && !slices.ContainsFunc(r.Approvers, func(a string) bool { return a != "manager" }) {
			fail("count %d cannot be met by the manager alone", r.Count)
		}
		if r.Expires < 0 || r.Expires > maxExpires {
			fail("expires %v: want more than 0 and at most %v", r.Expires, maxExpires)
		}
	} else if len(r.Approvers) > 0 || r.Count != 0 || r.Expires != 0 {
		fail("approvers, count and expires belong to require_approval rules only")
	}
	conds, needs, cerrs := compileConditions(r.When, r.Effect == tierzero.EffectDeny)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	c := &rule{Rule: r, strict: strictness(r.Effect), action: compileGlob(r.Action, false)}
	c.conds, c.needs, c.facts = conds, needs, factKeys(r.When)
	for i := range conds {
		c.requires |= conds[i].requires()
		c.groupNames = append(c.groupNames, conds[i].groupNames()...)
	}
	for _, n := range c.groupNames {
		c.groupKeys = append(c.groupKeys, PinKey(n))
	}
	c.reason = r.Reason
	if c.reason == "" {
		c.reason = "rule " + r.ID + " " + verb(r.Effect) + " " + r.Action
	}
	return c, nil
}

// factKeys lists the facts (beyond those every decision names) that
// conditions read, by their names in Decision.Facts.
func factKeys(c Conditions) []string {
	var keys []string
	add := func(on bool, k ...string) {
		if on {
			keys = append(keys, k...)
		}
	}
	add(len(c.Channel) > 0, "channel")
	add(c.Target == TargetDirectReport, "target_manager")
	add(c.Target == TargetSameDepartment, "requester_department", "target_department")
	add(len(c.RequesterInGroup) > 0, "requester_groups")
	add(len(c.TargetInGroup) > 0, "target_groups")
	add(len(c.TargetDepartment) > 0 && c.Target != TargetSameDepartment, "target_department")
	add(c.TargetHasAdminRole != nil, "target_admin_roles")
	add(c.Group != nil || c.GroupHasAdminRole != nil, "group")
	add(c.GroupHasAdminRole != nil, "group_role_assignable", "group_admin_roles")
	add(c.License != nil, "license")
	add(c.DeviceOwner != "", "device", "device_owner")
	add(c.Hours != nil, "time")
	add(c.MaxPerDay != 0, "count_today")
	add(c.UserRiskMax != "", "target_risk")
	return keys
}

const errDepartmentTechnicians = "technicians: a department file cannot admit technicians; list them in a global or tenant file"

// validTechnician checks one entry of a file's technicians: a user
// principal name or a glob with exactly one '@' and no white space.
func validTechnician(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("technicians: an entry is empty")
	case strings.Count(t, "@") != 1:
		return fmt.Errorf("technicians: %q: want a user principal name or a glob with exactly one @, such as tess@msp.example or *@support.msp.example", t)
	case strings.IndexFunc(t, unicode.IsSpace) >= 0:
		return fmt.Errorf("technicians: %q: a user principal name has no spaces", t)
	}
	return nil
}

// Admits reports whether policy admits req, an MSP technician of another
// tenant, to act in tenant: req's role is msp_technician, req belongs to a
// tenant (not "") other than tenant, and a global file or a file scoped to
// tenant lists a pattern under technicians that matches req's user
// principal name. file is the first such file, in the order of the set's
// files. Nobody else is ever admitted: an employee or tenant admin acts in
// their own tenant only, whatever a file lists.
func (s *Set) Admits(tenant tierzero.TenantID, req tierzero.Requester) (file string, ok bool) {
	if req.Role != tierzero.RoleMSPTechnician || req.Tenant == "" || req.Tenant == tenant || req.UPN == "" {
		return "", false
	}
	for i := range s.techs {
		t := &s.techs[i]
		if (t.tenant == "" || t.tenant == tenant) && t.upn.match(req.UPN) {
			return t.file, true
		}
	}
	return "", false
}

// notAdmitted is the reason a cross-tenant request is denied when no
// policy admits its requester.
func notAdmitted(req tierzero.Requester, tenant tierzero.TenantID) string {
	return fmt.Sprintf("%s (of tenant %s) is not admitted to tenant %s: no policy lists them under technicians", req.UPN, req.Tenant, tenant)
}

func validEffect(e tierzero.Effect) error {
	switch e {
	case tierzero.EffectAllow, tierzero.EffectDeny, tierzero.EffectRequireApproval:
		return nil
	}
	return fmt.Errorf("unknown effect %q: want allow, require_approval or deny", e)
}

func validApprover(a string) error {
	switch {
	case a == "manager", a == "role:tenant_admin", a == "role:msp_technician":
		return nil
	case strings.HasPrefix(a, "group:"):
		_, err := compileGroupRef("approvers", a[len("group:"):])
		return err
	}
	return fmt.Errorf("unknown approver %q: want manager, group:ID (a group's object id, or its display name), role:tenant_admin or role:msp_technician", a)
}

// Request is everything a decision may depend on. The Requester comes from
// the chat platform's verified identity; every other fact is read by the
// engine itself (Graph, the store), never taken from what the model wrote,
// except the identifiers the call acts on. A nil fact is a missing fact.
type Request struct {
	Tenant  tierzero.TenantID
	Action  string
	Channel tierzero.Channel
	Time    time.Time // when the request was made; zero when unknown
	// Requester is the verified identity and role. Its Tenant is the
	// requester's own tenant: "" or Tenant for someone of this tenant;
	// another tenant (an MSP technician's home tenant) makes the request
	// cross-tenant, denied unless Set.Admits admits the requester.
	Requester tierzero.Requester
	// RequesterFacts is what the directory says of the requester
	// (department, groups); nil when not read.
	RequesterFacts *tierzero.UserFacts
	// Target is the user the action acts on; nil when it names none.
	Target *tierzero.UserFacts
	// Group, License and Device are what a group, license or device
	// action names; nil when it names none or they were not read.
	Group   *GroupFacts
	License *LicenseFacts
	Device  *DeviceFacts
	// History is what the requester did before; nil when unknown.
	History *HistoryFacts
	// GroupIDs are the object ids that group display names of the policies
	// resolve to in Tenant, by PinKey(name): Guard resolves each name the
	// rules for the action use, at first use, and pins it. A name without
	// an entry did not resolve to exactly one group (none, several, or no
	// directory to ask): a condition that needs it cannot be evaluated.
	GroupIDs map[string]string
}

// The facts about what an action names, read by the engine from Graph.
type (
	GroupFacts   = tierzero.GroupFacts
	LicenseFacts = tierzero.LicenseFacts
	DeviceFacts  = tierzero.DeviceFacts
)

// HistoryFacts are what the requester has done before.
type HistoryFacts struct {
	CountToday int `json:"count_today"` // calls of this action by this requester today
}

// Evaluate decides a request. It never fails:
//
//  1. Rules apply whose scope contains the request, whose action matches and
//     whose conditions hold.
//  2. Any applying deny, at any layer, decides: deny.
//  3. A rule none of whose conditions is false but one of which cannot be
//     evaluated for a missing fact denies, naming the fact.
//  4. Otherwise the most specific layer with an applying rule decides
//     (department over tenant over global); within it the strictest effect
//     (require_approval over allow), then the highest count, the shortest
//     expiry.
//  5. Nothing applies: deny, "no policy".
//
// A cross-tenant request (r.Requester.Tenant set and not r.Tenant: an MSP
// technician acting in a client tenant) is denied unless Admits admits the
// requester to r.Tenant; an admitted one is decided as above, and its Facts
// also name requester_tenant and admitted_by (the admitting file).
//
// Ties are broken by rule id (and, between denies, the least specific layer
// first), so neither the order of files nor the order of rules matters.
//
// The decision's facts (built by AuditFacts when it is recorded) name who
// asked for what on whom, the facts the deciding rule's conditions read
// and, on a deny for a missing fact, that fact (as "missing").
func (s *Set) Evaluate(r Request) tierzero.Decision { return s.evaluate(&r, true) }

// Decide is Evaluate without Facts: the same effect, layer, file, rule,
// reason and approval terms, without building the facts map that Guard
// records in the audit. It is what a caller that records nothing needs, and
// what compares with engines that return only a decision.
func (s *Set) Decide(r Request) tierzero.Decision { return s.evaluate(&r, false) }

func (s *Set) evaluate(r *Request, facts bool) tierzero.Decision {
	admittedBy := ""
	if across(r) {
		// Another tenant's requester (an MSP technician): denied unless
		// admitted, then decided by the rules like anyone.
		file, ok := s.Admits(r.Tenant, r.Requester)
		if !ok {
			d := tierzero.Decision{Effect: tierzero.EffectDeny, Reason: notAdmitted(r.Requester, r.Tenant)}
			if facts {
				d.Basis = &basis{}
			}
			return d
		}
		admittedBy = file
	}
	e := eval{facts: facts, admittedBy: admittedBy, has: r.present(), known: s.actions[r.Action]}
	// Most specific first: a grant found there makes the grants of the
	// layers below irrelevant (see consider).
	if t := s.tenants[r.Tenant]; t != nil {
		if r.Target != nil && len(t.depts) > 0 {
			for i := range t.depts {
				switch {
				case r.Target.Department == nil:
					// Whether this department's rules apply cannot be
					// told: one that would apply there denies.
					e.visitUnknown(&t.depts[i].rules, r, "target.department")
				case foldEq(t.depts[i].name, *r.Target.Department):
					e.visit(&t.depts[i].rules, r)
				}
			}
		}
		e.visit(&t.rules, r)
	}
	e.visit(&s.global, r)
	return e.decide(r)
}

// eval accumulates the best candidates while rules are visited.
type eval struct {
	facts       bool    // build Decision.Facts
	admittedBy  string  // the file that admits a requester of another tenant
	has         present // the facts the request has
	known       bool    // a rule names the action exactly: buckets index it
	deny        *rule
	missing     *rule
	missingFact string
	grant       *rule
}

func (e *eval) visit(b *bucket, r *Request) {
	rules, matched := b.candidates(r.Action, e.known)
	for _, c := range rules {
		if matched || c.action.match(r.Action) {
			e.consider(c, r)
		}
	}
}

// visitUnknown visits rules whose scope may or may not contain the request
// for the missing fact: a rule that would apply is a missing fact (named
// first: the scope comes before the conditions).
func (e *eval) visitUnknown(b *bucket, r *Request, fact string) {
	rules, matched := b.candidates(r.Action, e.known)
	for _, c := range rules {
		if !matched && !c.action.match(r.Action) {
			continue
		}
		if e.deny != nil || (e.missing != nil && e.missing.ID <= c.ID) {
			continue // cannot change the decision
		}
		if holds, _ := c.holds(r); holds {
			e.missing, e.missingFact = c, fact
		}
	}
}

// consider evaluates c unless it cannot change the decision: after a deny,
// only an earlier deny matters; after a missing fact, only a deny or an
// earlier missing fact; otherwise a grant matters only if it could beat
// the best grant so far or could miss a fact the request lacks.
func (e *eval) consider(c *rule, r *Request) {
	switch {
	case e.deny != nil:
		if c.strict != 2 || !denyBefore(c, e.deny) {
			return
		}
	case c.strict != 2:
		couldMiss := c.requires&^e.has != 0 && (e.missing == nil || c.ID < e.missing.ID)
		couldGrant := e.missing == nil && (e.grant == nil || grantBefore(c, e.grant))
		if !couldMiss && !couldGrant {
			return
		}
	}
	holds, missing := c.holds(r)
	switch {
	case !holds:
		return
	case missing != "":
		if e.missing == nil || c.ID < e.missing.ID {
			e.missing, e.missingFact = c, missing
		}
	case c.strict == 2:
		e.deny = c
	default:
		if e.grant == nil || grantBefore(c, e.grant) {
			e.grant = c
		}
	}
}

// holds evaluates the conditions in order: false as soon as one is false;
// otherwise true, with the first missing fact if any could not be evaluated.
func (c *rule) holds(r *Request) (bool, string) {
	missing := ""
	for i := range c.conds {
		ok, m := c.conds[i].eval(r)
		if m != "" {
			if missing == "" {
				missing = m
			}
			continue
		}
		if !ok {
			return false, ""
		}
	}
	return true, missing
}

// denyBefore orders applying denies: least specific layer first, then id.
func denyBefore(a, b *rule) bool {
	if a.layer != b.layer {
		return a.layer < b.layer
	}
	return a.ID < b.ID
}

// grantBefore orders applying allow and require_approval rules: most
// specific layer, strictest effect, most approvers, shortest expiry, id.
func grantBefore(a, b *rule) bool {
	if a.layer != b.layer {
		return a.layer > b.layer
	}
	if a.strict != b.strict {
		return a.strict > b.strict
	}
	if a.strict == 1 {
		if ac, bc := a.count(), b.count(); ac != bc {
			return ac > bc
		}
		if ae, be := a.expires(), b.expires(); ae != be {
			return ae < be
		}
	}
	return a.ID < b.ID
}

func (r *Rule) count() int {
	if r.Count == 0 {
		return DefaultCount
	}
	return r.Count
}

func (r *Rule) expires() time.Duration {
	if r.Expires == 0 {
		return DefaultExpires
	}
	return r.Expires
}

var layerNames = [...]string{LayerGlobal, LayerTenant, LayerDepartment}

func (e *eval) decide(r *Request) tierzero.Decision {
	var d tierzero.Decision
	c := e.deny
	switch {
	case e.deny != nil:
		d.Effect = tierzero.EffectDeny
	case e.missing != nil:
		c = e.missing
		d.Effect = tierzero.EffectDeny
		d.Reason = fmt.Sprintf("cannot evaluate policy: rule %s needs the fact %s, which is missing", c.ID, e.missingFact)
		if name, ok := strings.CutPrefix(e.missingFact, "group "); ok {
			d.Reason = fmt.Sprintf("cannot evaluate policy: rule %s names the group %s by its display name, which does not name exactly one group of tenant %s; name the group by its object id", c.ID, name, r.Tenant)
		}
	case e.grant != nil:
		c = e.grant
		d.Effect = c.Effect
	default:
		d.Effect = tierzero.EffectDeny
		d.Reason = "no policy allows " + r.Action + " here"
		if e.facts {
			d.Basis = &basis{admittedBy: e.admittedBy}
		}
		return d
	}
	d.Layer, d.File, d.Rule = layerNames[c.layer], c.file.Name, c.ID
	if d.Reason == "" {
		d.Reason = c.reason
	}
	if d.Effect == tierzero.EffectRequireApproval {
		d.Approvers = slices.Clone(c.Approvers)
		d.Count, d.Expires = c.count(), c.expires()
	}
	switch {
	case !e.facts:
	case c == e.missing:
		d.Basis = &basis{c: c, missing: e.missingFact, admittedBy: e.admittedBy}
	case e.admittedBy != "":
		d.Basis = &basis{c: c, admittedBy: e.admittedBy}
	default:
		d.Basis = c // a pointer: no allocation
	}
	return d
}

func verb(e tierzero.Effect) string {
	switch e {
	case tierzero.EffectRequireApproval:
		return "requires approval for"
	case tierzero.EffectAllow:
		return "allows"
	}
	return "denies"
}

// facts is auditFacts of a decision no rule made, with the facts keys
// names (what Guard records when it denies before evaluating).
func (r *Request) facts(keys []string, missing string) map[string]string {
	return r.auditFacts(&rule{facts: keys}, missing, "")
}

// auditFacts lists what the decision was based on, for the audit: who asked
// for what, on whom, and the facts the deciding rule c (nil when no rule
// decided) read, with how its group names resolved and the missing fact if
// that is why it denied; for a requester of another tenant, their tenant
// and the file that admitted them (admittedBy, "" when none did). It is
// built once per decision, for c alone, in a map sized exactly.
// basis is what the facts of a decision are built from when they are not
// just its rule (Decision.Basis holds the *rule then): the fact found
// missing, the file that admitted a requester of another tenant.
type basis struct {
	c                   *rule
	missing, admittedBy string
}

// AuditFacts returns the facts of d, a decision of s on r, for the audit
// (see Evaluate): d.Facts when set, else built from r and d.Basis. Only a
// decision that is recorded pays for its facts map.
func (s *Set) AuditFacts(r *Request, d tierzero.Decision) map[string]string {
	if d.Facts != nil {
		return d.Facts
	}
	switch b := d.Basis.(type) {
	case *rule:
		return r.auditFacts(b, "", "")
	case *basis:
		return r.auditFacts(b.c, b.missing, b.admittedBy)
	}
	return nil
}

func (r *Request) auditFacts(c *rule, missing, admittedBy string) map[string]string {
	cross := across(r)
	n := 4
	if cross {
		n++
	}
	if r.Target != nil {
		n += 2
	}
	if c != nil {
		n += len(c.facts)
		if len(c.groupNames) > 0 {
			n++
		}
	}
	if missing != "" {
		n++
	}
	if admittedBy != "" {
		n++
	}
	f := make(map[string]string, n)
	f["tenant"] = string(r.Tenant)
	f["action"] = r.Action
	f["requester"] = r.Requester.UPN
	f["requester_role"] = string(r.Requester.Role)
	if cross {
		f["requester_tenant"] = string(r.Requester.Tenant)
	}
	if admittedBy != "" {
		f["admitted_by"] = admittedBy
	}
	if t := r.Target; t != nil {
		f["target"] = t.UPN
		self, _ := selfTarget(r)
		f["target_is_requester"] = strconv.FormatBool(self)
	}
	if c != nil {
		for _, k := range c.facts {
			if v, ok := r.fact(k); ok {
				f[k] = v
			}
		}
		if len(c.groupNames) > 0 {
			f["group_names"] = r.groupPins(c)
		}
	}
	if missing != "" {
		f["missing"] = missing
	}
	return f
}

// groupPins shows how c's group names resolved in r's tenant, for the
// audit: "name=id" ("name=?" when unresolved), comma-separated.
func (r *Request) groupPins(c *rule) string {
	var b strings.Builder
	for i, n := range c.groupNames {
		if i > 0 {
			b.WriteByte(',')
		}
		id := r.GroupIDs[c.groupKeys[i]]
		if id == "" {
			id = "?"
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(id)
	}
	return b.String()
}

// fact returns one fact by its name in Decision.Facts; false when the
// request lacks it.
func (r *Request) fact(key string) (string, bool) {
	rf, t := r.RequesterFacts, r.Target
	switch key {
	case "channel":
		return string(r.Channel), r.Channel != ""
	case "time":
		return r.Time.UTC().Format(time.RFC3339), !r.Time.IsZero()
	case "requester_department":
		if rf != nil && rf.Department != nil {
			return *rf.Department, true
		}
	case "requester_groups":
		if rf != nil && rf.Groups != nil {
			return groupList(rf.Groups), true
		}
	case "target_department":
		if t != nil && t.Department != nil {
			return *t.Department, true
		}
	case "target_manager":
		if t != nil && t.Manager != nil {
			return *t.Manager, true
		}
	case "target_admin_roles":
		if t != nil && t.AdminRoles != nil {
			return strings.Join(t.AdminRoles, ","), true
		}
	case "target_groups":
		if t != nil && t.Groups != nil {
			return groupList(t.Groups), true
		}
	case "target_risk":
		if t != nil && t.RiskLevel != "" {
			return t.RiskLevel, true
		}
	case "group":
		if r.Group != nil && r.Group.ID != "" {
			return groupList([]tierzero.GroupRef{{ID: r.Group.ID, Name: r.Group.Name}}), true
		}
	case "group_role_assignable":
		if r.Group != nil && r.Group.RoleAssignable != nil {
			return strconv.FormatBool(*r.Group.RoleAssignable), true
		}
	case "group_admin_roles":
		if r.Group != nil && r.Group.AdminRoles != nil {
			return strings.Join(r.Group.AdminRoles, ","), true
		}
	case "license":
		if r.License != nil {
			return r.License.SKU, true
		}
	case "device":
		if r.Device != nil {
			return r.Device.ID, true
		}
	case "device_owner":
		if r.Device != nil && r.Device.Owner != nil {
			return *r.Device.Owner, true
		}
	case "count_today":
		if r.History != nil {
			return strconv.Itoa(r.History.CountToday), true
		}
	}
	return "", false
}

// groupList shows groups for the audit: "id (name)", comma-separated.
func groupList(gs []tierzero.GroupRef) string {
	n := 0
	for _, g := range gs {
		n += len(g.ID) + len(g.Name) + 4
	}
	var b strings.Builder
	b.Grow(n)
	for i, g := range gs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(g.ID)
		if g.Name != "" {
			b.WriteString(" (")
			b.WriteString(g.Name)
			b.WriteByte(')')
		}
	}
	return b.String()
}

// GroupNames returns the group display names (not object ids) that the
// conditions of the rules for action in tenant use, each once: what Guard
// resolves in tenant before it decides.
func (s *Set) GroupNames(tenant tierzero.TenantID, action string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range s.rules {
		if len(c.groupNames) == 0 || !c.action.match(action) {
			continue
		}
		if sc := c.file.Scope; !sc.Global && sc.Tenant != tenant {
			continue
		}
		for _, n := range c.groupNames {
			if k := PinKey(n); !seen[k] {
				seen[k] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// AllGroupNames returns the group display names (not object ids) that the
// rules and approvers of the files that apply in tenant use, each once.
func (s *Set) AllGroupNames(tenant tierzero.TenantID) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if k := PinKey(n); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	for _, c := range s.rules {
		if sc := c.file.Scope; !sc.Global && sc.Tenant != tenant {
			continue
		}
		for _, n := range c.groupNames {
			add(n)
		}
		for _, a := range c.Approvers {
			if ref, ok := strings.CutPrefix(a, "group:"); ok && !IsObjectID(ref) {
				add(ref)
			}
		}
	}
	return out
}
