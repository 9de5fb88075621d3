package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

var (
	adele = tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", ObjectID: "id-adele", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelConsole}
	self  = &tierzero.UserFacts{ObjectID: "id-adele", UPN: "adele@contoso.com", Department: strp("Marketing"), AdminRoles: []string{}}
	alex  = &tierzero.UserFacts{ObjectID: "id-alex", UPN: "alex@contoso.com", Department: strp("Sales"), AdminRoles: []string{}}
	admin = &tierzero.UserFacts{ObjectID: "id-megan", UPN: "megan@contoso.com", Department: strp("IT"), AdminRoles: []string{"Global Administrator"}}
	megan = tierzero.Requester{Tenant: "contoso", UPN: "megan@contoso.com", ObjectID: "id-megan", Role: tierzero.RoleEmployee}
	tech  = tierzero.Requester{Tenant: "contoso", UPN: "tech@msp.example", ObjectID: "id-tech", Role: tierzero.RoleMSPTechnician}
)

func TestBaseline(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		want     tierzero.Effect
		wantRule string
	}{
		{"own password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: self}, tierzero.EffectAllow, "self-reset-password"},
		{"someone else's password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: alex}, tierzero.EffectDeny, ""},
		{"an admin's password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: admin}, tierzero.EffectDeny, "never-reset-admins"},
		{"admin's own password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: megan, Target: admin}, tierzero.EffectDeny, "never-reset-admins"},
		{"technician, someone's password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: tech, Target: alex}, tierzero.EffectAllow, "tech-reset-password"},
		{"technician, an admin's password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: tech, Target: admin}, tierzero.EffectDeny, "never-reset-admins"},
		{"own profile", Request{Tenant: "contoso", Action: "user.get", Requester: adele, Target: self}, tierzero.EffectAllow, "self-read-profile"},
		{"another's profile", Request{Tenant: "contoso", Action: "user.get", Requester: adele, Target: alex}, tierzero.EffectDeny, ""},
		{"own TAP", Request{Tenant: "contoso", Action: "user.issue_tap", Requester: adele, Target: self}, tierzero.EffectRequireApproval, "self-issue-tap"},
		{"own MFA reset", Request{Tenant: "contoso", Action: "user.reset_mfa", Requester: adele, Target: self}, tierzero.EffectRequireApproval, "self-reset-mfa"},
		{"another's sign-ins", Request{Tenant: "contoso", Action: "user.signins", Requester: adele, Target: alex}, tierzero.EffectDeny, "employees-never-read-others-signins"},
		{"no rule for action", Request{Tenant: "contoso", Action: "user.make_admin", Requester: adele, Target: self}, tierzero.EffectDeny, ""},
		{"missing target fact", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele}, tierzero.EffectDeny, "never-reset-admins"},
		{"requester without a role", Request{Tenant: "contoso", Action: "user.enable", Requester: tierzero.Requester{UPN: "x@contoso.com"}, Target: alex}, tierzero.EffectDeny, "tech-enable-user"},
	}
	b := Baseline()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evaluated(b, tt.req)
			if got.Effect != tt.want || got.Rule != tt.wantRule {
				t.Fatalf("Evaluate = %s by %q (%s), want %s by %q", got.Effect, got.Rule, got.Reason, tt.want, tt.wantRule)
			}
			if got.Reason == "" {
				t.Error("decision has no reason")
			}
			if got.Facts["action"] != tt.req.Action {
				t.Errorf("facts = %v, want the action recorded", got.Facts)
			}
			if got.Rule != "" && !strings.HasPrefix(got.File, "builtin:baseline/") {
				t.Errorf("file = %q, want the built-in baseline", got.File)
			}
			if got.Effect == tierzero.EffectRequireApproval && (got.Count != 1 || got.Expires != 24*time.Hour || len(got.Approvers) == 0) {
				t.Errorf("approval = %v x%d for %v, want approvers, count 1 and 24h", got.Approvers, got.Count, got.Expires)
			}
		})
	}
}

func TestLayering(t *testing.T) {
	allow := func(id string) Rule { return Rule{ID: id, Action: "user.*", Effect: tierzero.EffectAllow} }
	approve := func(id string, count int) Rule {
		return Rule{ID: id, Action: "user.reset_password", Effect: tierzero.EffectRequireApproval, Approvers: []string{"manager", "role:tenant_admin"}, Count: count}
	}
	deny := func(id string) Rule {
		return Rule{ID: id, Action: "user.reset_password", Effect: tierzero.EffectDeny, Reason: "no"}
	}
	missing := func(id string) Rule {
		return Rule{ID: id, Action: "user.reset_password", Effect: tierzero.EffectAllow, When: Conditions{TargetInGroup: []string{"x"}}}
	}
	global := func(r ...Rule) File { return File{Name: "g", Scope: Scope{Global: true}, Rules: r} }
	tenant := func(r ...Rule) File { return File{Name: "t", Scope: Scope{Tenant: "contoso"}, Rules: r} }
	dept := func(d string, r ...Rule) File {
		return File{Name: "d", Scope: Scope{Tenant: "contoso", Department: d}, Rules: r}
	}
	req := Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: alex}
	tests := []struct {
		name      string
		files     []File
		want      tierzero.Effect
		wantRule  string
		wantLayer string
	}{
		{"no files", nil, tierzero.EffectDeny, "", ""},
		{"global allow", []File{global(allow("a"))}, tierzero.EffectAllow, "a", LayerGlobal},
		{"global deny beats tenant allow", []File{global(deny("d")), tenant(allow("a"))}, tierzero.EffectDeny, "d", LayerGlobal},
		{"department deny beats everything", []File{global(allow("a")), tenant(allow("b")), dept("Sales", deny("d"))}, tierzero.EffectDeny, "d", LayerDepartment},
		{"the least specific deny is named", []File{dept("Sales", deny("a")), global(deny("z"))}, tierzero.EffectDeny, "z", LayerGlobal},
		{"tenant approval overrides global allow", []File{global(allow("a")), tenant(approve("p", 1))}, tierzero.EffectRequireApproval, "p", LayerTenant},
		{"department allow overrides tenant approval", []File{tenant(approve("p", 1)), dept("Sales", allow("a"))}, tierzero.EffectAllow, "a", LayerDepartment},
		{"department names compare without case", []File{tenant(approve("p", 1)), dept("sALES", allow("a"))}, tierzero.EffectAllow, "a", LayerDepartment},
		{"other department does not apply", []File{tenant(approve("p", 1)), dept("Finance", allow("a"))}, tierzero.EffectRequireApproval, "p", LayerTenant},
		{"strictest within a layer", []File{global(allow("a"), approve("p", 1))}, tierzero.EffectRequireApproval, "p", LayerGlobal},
		{"most approvers within a layer", []File{global(approve("p", 1), approve("q", 2))}, tierzero.EffectRequireApproval, "q", LayerGlobal},
		{"ties go to the lowest id", []File{global(allow("b"), allow("a"))}, tierzero.EffectAllow, "a", LayerGlobal},
		{"other tenant does not apply", []File{{Name: "f", Scope: Scope{Tenant: "fabrikam"}, Rules: []Rule{allow("a")}}}, tierzero.EffectDeny, "", ""},
		{"a missing fact denies over an allow", []File{global(allow("a")), tenant(missing("m"))}, tierzero.EffectDeny, "m", LayerTenant},
		{"a deny is named over a missing fact", []File{global(missing("a"), deny("z"))}, tierzero.EffectDeny, "z", LayerGlobal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSet(tt.files...)
			if err != nil {
				t.Fatal(err)
			}
			got := evaluated(s, req)
			if got.Effect != tt.want || got.Rule != tt.wantRule || got.Layer != tt.wantLayer {
				t.Fatalf("Evaluate = %s by %q at %q, want %s by %q at %q", got.Effect, got.Rule, got.Layer, tt.want, tt.wantRule, tt.wantLayer)
			}
			if got.Effect == tierzero.EffectRequireApproval && len(got.Approvers) == 0 {
				t.Error("approval decision names no approvers")
			}
			if got.Rule == "" && !strings.Contains(got.Reason, "no policy") {
				t.Errorf("reason = %q, want no policy", got.Reason)
			}
		})
	}
}

func TestEffects(t *testing.T) {
	req := Request{Tenant: "contoso", Action: "device.wipe", Requester: adele}
	tests := []struct {
		name string
		rule Rule
		want tierzero.Decision
	}{
		{"allow", Rule{ID: "a", Action: "device.wipe", Effect: tierzero.EffectAllow},
			tierzero.Decision{Effect: tierzero.EffectAllow, Rule: "a", Reason: "rule a allows device.wipe"}},
		{"deny with reason", Rule{ID: "d", Action: "device.*", Effect: tierzero.EffectDeny, Reason: "never"},
			tierzero.Decision{Effect: tierzero.EffectDeny, Rule: "d", Reason: "never"}},
		{"approval defaults", Rule{ID: "p", Action: "device.wipe", Effect: tierzero.EffectRequireApproval, Approvers: []string{"manager"}},
			tierzero.Decision{Effect: tierzero.EffectRequireApproval, Rule: "p", Reason: "rule p requires approval for device.wipe",
				Approvers: []string{"manager"}, Count: 1, Expires: 24 * time.Hour}},
		{"approval set", Rule{ID: "p", Action: "*", Effect: tierzero.EffectRequireApproval, Approvers: []string{"group:Helpdesk", "role:msp_technician"}, Count: 2, Expires: time.Hour, Reason: "two eyes"},
			tierzero.Decision{Effect: tierzero.EffectRequireApproval, Rule: "p", Reason: "two eyes",
				Approvers: []string{"group:Helpdesk", "role:msp_technician"}, Count: 2, Expires: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSet(File{Name: "f.yaml", Scope: Scope{Global: true}, Rules: []Rule{tt.rule}})
			if err != nil {
				t.Fatal(err)
			}
			got := evaluated(s, req)
			tt.want.Layer, tt.want.File, tt.want.Facts = LayerGlobal, "f.yaml", got.Facts
			if !sameDecision(got, tt.want) {
				t.Fatalf("Evaluate = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestConditions covers every condition: when it holds, when it does not,
// and which fact it names when that fact is missing.
func TestConditions(t *testing.T) {
	yes, no := true, false
	base := func() Request {
		return Request{
			Tenant: "contoso", Action: "user.get", Channel: tierzero.ChannelTeams,
			Time:      time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC), // a Friday
			Requester: adele,
			RequesterFacts: &tierzero.UserFacts{ObjectID: "id-adele", UPN: "adele@contoso.com", Department: strp("Marketing"),
				Groups: groupsOf("All Staff", "Helpdesk")},
			Target: &tierzero.UserFacts{ObjectID: "id-alex", UPN: "alex@contoso.com", Department: strp("Sales"),
				Groups: groupsOf("Sales Team"), Manager: strp("Adele@Contoso.com"), RiskLevel: "low", AdminRoles: []string{}},
			Group:    &GroupFacts{ID: gid("Sales EMEA"), Name: "Sales EMEA", RoleAssignable: boolp(false), AdminRoles: []string{}},
			License:  &LicenseFacts{SKU: "SPE_E3"},
			Device:   &DeviceFacts{ID: "d1", Owner: strp("adele@contoso.com")},
			History:  &HistoryFacts{CountToday: 2},
			GroupIDs: pins("All Staff", "Helpdesk", "Sales Team", "Sales EMEA", "Finance", "Sales", "x"),
		}
	}
	const holds, not = "holds", "not"
	tests := []struct {
		name   string
		when   Conditions
		effect tierzero.Effect // allow unless given
		change func(*Request)
		want   string // holds, not or the missing fact
	}{
		{"no conditions", Conditions{}, "", nil, holds},
		{"target any without a target", Conditions{Target: TargetAny}, "", func(r *Request) { r.Target = nil }, holds},
		{"target self", Conditions{Target: TargetSelf}, "", func(r *Request) { r.Target = self }, holds},
		{"target self, someone else", Conditions{Target: TargetSelf}, "", nil, not},
		{"target self by UPN without object ids", Conditions{Target: TargetSelf}, "", func(r *Request) {
			r.Requester.ObjectID, r.Target = "", &tierzero.UserFacts{UPN: "ADELE@contoso.com"}
		}, holds},
		{"target self, object ids decide", Conditions{Target: TargetSelf}, "", func(r *Request) {
			r.Target = &tierzero.UserFacts{ObjectID: "id-other", UPN: "adele@contoso.com"}
		}, not},
		{"target self, no target", Conditions{Target: TargetSelf}, "", func(r *Request) { r.Target = nil }, "target"},
		{"target self, anonymous target", Conditions{Target: TargetSelf}, "", func(r *Request) { r.Target = &tierzero.UserFacts{} }, "target.upn"},
		{"target self, anonymous requester", Conditions{Target: TargetSelf}, "", func(r *Request) { r.Requester = tierzero.Requester{} }, "requester.upn"},
		{"target other", Conditions{Target: TargetOther}, "", nil, holds},
		{"target other, self", Conditions{Target: TargetOther}, "", func(r *Request) { r.Target = self }, not},
		{"target other, no target", Conditions{Target: TargetOther}, "", func(r *Request) { r.Target = nil }, "target"},
		{"direct report", Conditions{Target: TargetDirectReport}, "", nil, holds},
		{"direct report, other manager", Conditions{Target: TargetDirectReport}, "", func(r *Request) { r.Target.Manager = strp("x@contoso.com") }, not},
		{"direct report, no manager", Conditions{Target: TargetDirectReport}, "", func(r *Request) { r.Target.Manager = strp("") }, not},
		{"direct report, manager unread", Conditions{Target: TargetDirectReport}, "", func(r *Request) { r.Target.Manager = nil }, "target.manager"},
		{"direct report, no target", Conditions{Target: TargetDirectReport}, "", func(r *Request) { r.Target = nil }, "target"},
		{"same department", Conditions{Target: TargetSameDepartment}, "", func(r *Request) { r.RequesterFacts.Department = strp("SALES") }, holds},
		{"same department, other", Conditions{Target: TargetSameDepartment}, "", nil, not},
		{"same department, both without", Conditions{Target: TargetSameDepartment}, "", func(r *Request) { r.RequesterFacts.Department, r.Target.Department = strp(""), strp("") }, not},
		{"same department, requester unknown", Conditions{Target: TargetSameDepartment}, "", func(r *Request) { r.RequesterFacts = nil }, "requester.department"},
		{"same department, requester's unread", Conditions{Target: TargetSameDepartment}, "", func(r *Request) { r.RequesterFacts.Department = nil }, "requester.department"},
		{"same department, target's unread", Conditions{Target: TargetSameDepartment}, "", func(r *Request) { r.Target.Department = nil }, "target.department"},
		{"requester role", Conditions{RequesterRole: []tierzero.Role{tierzero.RoleMSPTechnician, tierzero.RoleEmployee}}, "", nil, holds},
		{"requester role, other", Conditions{RequesterRole: []tierzero.Role{tierzero.RoleTenantAdmin}}, "", nil, not},
		{"requester role, unknown", Conditions{RequesterRole: []tierzero.Role{tierzero.RoleTenantAdmin}}, "", func(r *Request) { r.Requester.Role = "" }, "requester.role"},
		{"requester in group", Conditions{RequesterInGroup: []string{"helpdesk"}}, "", nil, holds},
		{"requester in group by id", Conditions{RequesterInGroup: []string{strings.ToUpper(gid("Helpdesk"))}}, "", nil, holds},
		{"requester in group, not", Conditions{RequesterInGroup: []string{"Finance"}}, "", nil, not},
		{"requester in group by id, not", Conditions{RequesterInGroup: []string{gid("Finance")}}, "", nil, not},
		{"requester in a look-alike group", Conditions{RequesterInGroup: []string{"Helpdesk"}}, "", func(r *Request) {
			r.RequesterFacts.Groups = []tierzero.GroupRef{{ID: "00000000-0000-4000-8000-000000000bad", Name: "Helpdesk"}}
		}, not},
		{"requester in group, name unresolved", Conditions{RequesterInGroup: []string{"Finance"}}, "", func(r *Request) { r.GroupIDs = nil }, `group "Finance"`},
		{"requester in group, one of them resolved and held", Conditions{RequesterInGroup: []string{"Nowhere", "Helpdesk"}}, "", nil, holds},
		{"requester in group, one unresolved, the other not held", Conditions{RequesterInGroup: []string{"Nowhere", "Finance"}}, "", nil, `group "Nowhere"`},
		{"requester in group, in none", Conditions{RequesterInGroup: []string{"Finance"}}, "", func(r *Request) { r.RequesterFacts.Groups = groupsOf() }, not},
		{"requester in group, unread", Conditions{RequesterInGroup: []string{"Finance"}}, "", func(r *Request) { r.RequesterFacts.Groups = nil }, "requester.groups"},
		{"requester in group, no facts", Conditions{RequesterInGroup: []string{"Finance"}}, "", func(r *Request) { r.RequesterFacts = nil }, "requester.groups"},
		{"target in group", Conditions{TargetInGroup: []string{"x", "SALES TEAM"}}, "", nil, holds},
		{"target in group, not", Conditions{TargetInGroup: []string{"Sales"}}, "", nil, not},
		{"target in group, unread", Conditions{TargetInGroup: []string{"Sales"}}, "", func(r *Request) { r.Target.Groups = nil }, "target.groups"},
		{"target in group, no target", Conditions{TargetInGroup: []string{"Sales"}}, "", func(r *Request) { r.Target = nil }, "target"},
		{"target department", Conditions{TargetDepartment: []string{"IT", "sales"}}, "", nil, holds},
		{"target department, other", Conditions{TargetDepartment: []string{"IT"}}, "", nil, not},
		{"target department, no target", Conditions{TargetDepartment: []string{"IT"}}, "", func(r *Request) { r.Target = nil }, "target"},
		{"target department, none", Conditions{TargetDepartment: []string{"IT"}}, "", func(r *Request) { r.Target.Department = strp("") }, not},
		{"target department, unread", Conditions{TargetDepartment: []string{"IT"}}, "", func(r *Request) { r.Target.Department = nil }, "target.department"},
		{"target has admin role", Conditions{TargetHasAdminRole: &yes}, "", func(r *Request) { r.Target = admin }, holds},
		{"target has admin role, has none", Conditions{TargetHasAdminRole: &yes}, "", nil, not},
		{"target has no admin role", Conditions{TargetHasAdminRole: &no}, "", nil, holds},
		{"target has no admin role, has one", Conditions{TargetHasAdminRole: &no}, "", func(r *Request) { r.Target = admin }, not},
		{"target has admin role, no target", Conditions{TargetHasAdminRole: &no}, "", func(r *Request) { r.Target = nil }, "target"},
		{"target has no admin role, unread", Conditions{TargetHasAdminRole: &no}, "", func(r *Request) { r.Target.AdminRoles = nil }, "target.admin_roles"},
		{"target has admin role, unread", Conditions{TargetHasAdminRole: &yes}, tierzero.EffectDeny, func(r *Request) { r.Target.AdminRoles = nil }, "target.admin_roles"},
		{"group allow", Conditions{Group: &NameFilter{Allow: []string{"sales emea"}}}, "", nil, holds},
		{"group allow by id", Conditions{Group: &NameFilter{Allow: []string{gid("Sales EMEA")}}}, "", nil, holds},
		{"group allow, other", Conditions{Group: &NameFilter{Allow: []string{"Finance"}}}, "", nil, not},
		{"group allow, a look-alike", Conditions{Group: &NameFilter{Allow: []string{"Sales EMEA"}}}, "", func(r *Request) {
			r.Group.ID = "00000000-0000-4000-8000-000000000bad"
		}, not},
		{"group deny", Conditions{Group: &NameFilter{Allow: []string{"Sales EMEA", "Sales"}, Deny: []string{gid("Sales EMEA")}}}, "", nil, not},
		{"group deny only", Conditions{Group: &NameFilter{Deny: []string{"Finance"}}}, "", nil, holds},
		{"group deny, unresolved", Conditions{Group: &NameFilter{Deny: []string{"Nowhere"}}}, "", nil, `group "Nowhere"`},
		{"group allow, unresolved", Conditions{Group: &NameFilter{Allow: []string{"Nowhere"}}}, "", nil, `group "Nowhere"`},
		{"group allow, another resolved and held", Conditions{Group: &NameFilter{Allow: []string{"Nowhere", "Sales EMEA"}}}, "", nil, holds},
		{"group denied outweighs an unresolved name", Conditions{Group: &NameFilter{Allow: []string{"Nowhere"}, Deny: []string{"Sales EMEA"}}}, "", nil, not},
		{"group, none named", Conditions{Group: &NameFilter{Allow: []string{"Sales"}}}, "", func(r *Request) { r.Group = nil }, "group"},
		{"group, no id", Conditions{Group: &NameFilter{Allow: []string{"Sales"}}}, "", func(r *Request) { r.Group.ID = "" }, "group.id"},
		{"group has admin role, role-assignable", Conditions{GroupHasAdminRole: &yes}, "", func(r *Request) { r.Group.RoleAssignable = boolp(true) }, holds},
		{"group has admin role, holds one", Conditions{GroupHasAdminRole: &yes}, "", func(r *Request) { r.Group.AdminRoles = []string{"User Administrator"} }, holds},
		{"group has admin role, ordinary", Conditions{GroupHasAdminRole: &yes}, "", nil, not},
		{"group has no admin role", Conditions{GroupHasAdminRole: &no}, "", nil, holds},
		{"group has admin role, unread", Conditions{GroupHasAdminRole: &yes}, "", func(r *Request) { r.Group.RoleAssignable = nil }, "group.role_assignable"},
		{"group has admin role, roles unread", Conditions{GroupHasAdminRole: &yes}, "", func(r *Request) { r.Group.AdminRoles = nil }, "group.admin_roles"},
		{"group has admin role, role-assignable, roles unread", Conditions{GroupHasAdminRole: &yes}, "", func(r *Request) {
			r.Group.RoleAssignable, r.Group.AdminRoles = boolp(true), nil
		}, holds},
		{"group has admin role, none named", Conditions{GroupHasAdminRole: &yes}, "", func(r *Request) { r.Group = nil }, "group"},
		{"license allow", Conditions{License: &NameFilter{Allow: []string{"spe_e3", "SPE_E5"}}}, "", nil, holds},
		{"license allow, other", Conditions{License: &NameFilter{Allow: []string{"SPE_E5"}}}, "", nil, not},
		{"license, none named", Conditions{License: &NameFilter{Allow: []string{"SPE_E3"}}}, "", func(r *Request) { r.License = nil }, "license"},
		{"license, no SKU", Conditions{License: &NameFilter{Allow: []string{"SPE_E3"}}}, "", func(r *Request) { r.License.SKU = "" }, "license.sku"},
		{"device owner self", Conditions{DeviceOwner: "self"}, "", nil, holds},
		{"device owner, someone else", Conditions{DeviceOwner: "self"}, "", func(r *Request) { r.Device.Owner = strp("alex@contoso.com") }, not},
		{"device owner, nobody", Conditions{DeviceOwner: "self"}, "", func(r *Request) { r.Device.Owner = strp("") }, not},
		{"device owner, unread", Conditions{DeviceOwner: "self"}, "", func(r *Request) { r.Device.Owner = nil }, "device.owner"},
		{"device owner, none named", Conditions{DeviceOwner: "self"}, "", func(r *Request) { r.Device = nil }, "device"},
		{"channel", Conditions{Channel: []tierzero.Channel{tierzero.ChannelSlack, tierzero.ChannelTeams}}, "", nil, holds},
		{"channel, other", Conditions{Channel: []tierzero.Channel{tierzero.ChannelSlack}}, "", nil, not},
		{"channel, unknown", Conditions{Channel: []tierzero.Channel{tierzero.ChannelSlack}}, "", func(r *Request) { r.Channel = "" }, "channel"},
		{"hours", Conditions{Hours: &Hours{From: "08:00", To: "17:00"}}, "", nil, holds},
		{"hours, before", Conditions{Hours: &Hours{From: "09:31", To: "17:00"}}, "", nil, not},
		{"hours, end excluded", Conditions{Hours: &Hours{From: "08:00", To: "09:30"}}, "", nil, not},
		{"hours, until midnight", Conditions{Hours: &Hours{From: "09:30", To: "24:00"}}, "", nil, holds},
		{"hours, days", Conditions{Hours: &Hours{Days: []time.Weekday{time.Friday}}}, "", nil, holds},
		{"hours, other days", Conditions{Hours: &Hours{Days: []time.Weekday{time.Saturday, time.Sunday}}}, "", nil, not},
		{"hours, over midnight", Conditions{Hours: &Hours{From: "22:00", To: "10:00"}}, "", nil, holds},
		{"hours, over midnight, outside", Conditions{Hours: &Hours{From: "22:00", To: "09:00"}}, "", nil, not},
		{"hours, time zone", Conditions{Hours: &Hours{From: "08:00", To: "17:00", Timezone: "America/New_York"}}, "", nil, not},                        // 04:30 there
		{"hours, day in the time zone", Conditions{Hours: &Hours{Days: []time.Weekday{time.Thursday}, Timezone: "Pacific/Pago_Pago"}}, "", nil, holds}, // UTC-11
		{"hours, unknown time", Conditions{Hours: &Hours{From: "08:00", To: "17:00"}}, "", func(r *Request) { r.Time = time.Time{} }, "time"},
		{"max per day", Conditions{MaxPerDay: 3}, "", nil, holds},
		{"max per day, reached", Conditions{MaxPerDay: 2}, "", nil, not},
		{"max per day, unknown", Conditions{MaxPerDay: 2}, "", func(r *Request) { r.History = nil }, "history.count_today"},
		{"max per day on a deny, below", Conditions{MaxPerDay: 3}, tierzero.EffectDeny, nil, not},
		{"max per day on a deny, reached", Conditions{MaxPerDay: 2}, tierzero.EffectDeny, nil, holds},
		{"max per day on a deny, unknown", Conditions{MaxPerDay: 2}, tierzero.EffectDeny, func(r *Request) { r.History = nil }, "history.count_today"},
		{"user risk max", Conditions{UserRiskMax: "low"}, "", nil, holds},
		{"user risk max, above", Conditions{UserRiskMax: "none"}, "", nil, not},
		{"user risk max, high is high", Conditions{UserRiskMax: "medium"}, "", func(r *Request) { r.Target.RiskLevel = "high" }, not},
		{"user risk max, unread", Conditions{UserRiskMax: "high"}, "", func(r *Request) { r.Target.RiskLevel = "" }, "target.risk"},
		{"user risk max, a level policy does not know", Conditions{UserRiskMax: "high"}, "", func(r *Request) { r.Target.RiskLevel = "hidden" }, "target.risk"},
		{"user risk max, no target", Conditions{UserRiskMax: "high"}, "", func(r *Request) { r.Target = nil }, "target"},
		{"user risk max on a deny, above", Conditions{UserRiskMax: "none"}, tierzero.EffectDeny, nil, holds},
		{"user risk max on a deny, within", Conditions{UserRiskMax: "medium"}, tierzero.EffectDeny, nil, not},
		{"all must hold", Conditions{Target: TargetOther, RequesterRole: []tierzero.Role{tierzero.RoleEmployee}, Channel: []tierzero.Channel{tierzero.ChannelSlack}}, "", nil, not},
		{"a false condition outweighs a missing fact", Conditions{TargetInGroup: []string{"x"}, RequesterRole: []tierzero.Role{tierzero.RoleTenantAdmin}}, "",
			func(r *Request) { r.Target.Groups = nil }, not},
		{"the first missing fact is named", Conditions{RequesterInGroup: []string{"x"}, TargetInGroup: []string{"x"}}, "",
			func(r *Request) { r.RequesterFacts.Groups, r.Target.Groups = nil, nil }, "requester.groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			effect := tt.effect
			if effect == "" {
				effect = tierzero.EffectAllow
			}
			s, err := NewSet(File{Name: "f", Scope: Scope{Global: true}, Rules: []Rule{{ID: "r", Action: "user.get", Effect: effect, When: tt.when}}})
			if err != nil {
				t.Fatal(err)
			}
			r := base()
			if tt.change != nil {
				tt.change(&r)
			}
			d := evaluated(s, r)
			var got string
			switch {
			case d.Facts["missing"] != "":
				got = d.Facts["missing"]
				if d.Effect != tierzero.EffectDeny || d.Rule != "r" || !strings.Contains(d.Reason, got) {
					t.Errorf("missing fact decision = %+v", d)
				}
			case d.Rule == "r":
				got = holds
				if d.Effect != effect {
					t.Errorf("effect %s, want %s", d.Effect, effect)
				}
			default:
				got = not
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s (%s)", got, tt.want, d.Reason)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"user.get", "user.get", true},
		{"user.get", "user.gets", false},
		{"user.*", "user.reset_password", true},
		{"user.*", "user.", true},
		{"user.*", "users.get", false},
		{"*", "", true},
		{"*.wipe", "device.wipe", true},
		{"group.*_member", "group.add_member", true},
		{"group.*_member", "group.add_members", false},
		{"?ser.get", "user.get", true},
		{"?ser.get", "ser.get", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"?", "é", true},
		{"?x", "éx", true},
		{"**", "abc", true},
	}
	for _, tt := range tests {
		if got := compileGlob(tt.pat, false).match(tt.s); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
		if got := refGlob(tt.pat, tt.s); got != tt.want {
			t.Errorf("reference: %q matches %q = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
	if !compileGlob("SALES*", true).match("sales emea") || compileGlob("SALES*", false).match("sales emea") {
		t.Error("case folding")
	}
}

func TestFoldEq(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"abc", "ABC", true}, {"abc", "abd", false}, {"abc", "ab", false}, {"", "", true},
		{"Über", "über", true}, {"Über", "uber", false}, {"K", "\u212a", true}, // Kelvin sign lower-cases to k
	} {
		if got := foldEq(tt.a, tt.b); got != tt.want {
			t.Errorf("foldEq(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := refSame(tt.a, tt.b); got != tt.want {
			t.Errorf("refSame(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNewSetRejects(t *testing.T) {
	g := Scope{Global: true}
	rule := func(mut func(*Rule)) File {
		r := Rule{ID: "a", Action: "user.get", Effect: tierzero.EffectAllow}
		mut(&r)
		return File{Name: "x", Scope: g, Rules: []Rule{r}}
	}
	tests := []struct {
		name string
		f    File
		want string
	}{
		{"no scope", File{Name: "x", Rules: []Rule{{ID: "a", Action: "user.get", Effect: tierzero.EffectAllow}}}, "scope must be global or name a tenant"},
		{"global with tenant", File{Name: "x", Scope: Scope{Global: true, Tenant: "contoso"}}, "global scope"},
		{"bad tenant", File{Name: "x", Scope: Scope{Tenant: "Contoso"}}, "invalid tenant id"},
		{"rule without id", rule(func(r *Rule) { r.ID = "" }), "no id"},
		{"bad id", rule(func(r *Rule) { r.ID = "a b" }), "bad id"},
		{"unknown effect", rule(func(r *Rule) { r.Effect = "maybe" }), "unknown effect"},
		{"bad glob", rule(func(r *Rule) { r.Action = "user.[" }), "bad action pattern"},
		{"empty action", rule(func(r *Rule) { r.Action = "" }), "bad action pattern"},
		{"duplicate ids", File{Name: "x", Scope: g, Rules: []Rule{
			{ID: "a", Action: "user.get", Effect: tierzero.EffectAllow}, {ID: "a", Action: "user.get", Effect: tierzero.EffectDeny}}}, "already used"},
		{"unknown target", rule(func(r *Rule) { r.When.Target = "everyone" }), "unknown target"},
		{"unknown role", rule(func(r *Rule) { r.When.RequesterRole = []tierzero.Role{"boss"} }), "unknown requester_role"},
		{"empty group name", rule(func(r *Rule) { r.When.TargetInGroup = []string{" "} }), "empty name"},
		{"empty filter", rule(func(r *Rule) { r.When.Group = &NameFilter{} }), "give allow or deny"},
		{"unknown device owner", rule(func(r *Rule) { r.When.DeviceOwner = "anyone" }), "device_owner"},
		{"unknown channel", rule(func(r *Rule) { r.When.Channel = []tierzero.Channel{"email"} }), "unknown channel"},
		{"bad clock", rule(func(r *Rule) { r.When.Hours = &Hours{From: "8:00", To: "17:00"} }), "bad time"},
		{"24:00 as a start", rule(func(r *Rule) { r.When.Hours = &Hours{From: "24:00", To: "17:00"} }), "bad time"},
		{"half a window", rule(func(r *Rule) { r.When.Hours = &Hours{From: "08:00"} }), "both from and to"},
		{"empty window", rule(func(r *Rule) { r.When.Hours = &Hours{From: "08:00", To: "08:00"} }), "same time"},
		{"unknown zone", rule(func(r *Rule) { r.When.Hours = &Hours{Timezone: "Mars/Olympus"} }), "unknown timezone"},
		{"local zone", rule(func(r *Rule) { r.When.Hours = &Hours{Timezone: "Local"} }), "unknown timezone"},
		{"negative max", rule(func(r *Rule) { r.When.MaxPerDay = -1 }), "max_per_day"},
		{"unknown risk", rule(func(r *Rule) { r.When.UserRiskMax = "extreme" }), "user_risk_max"},
		{"approval without approvers", rule(func(r *Rule) { r.Effect = tierzero.EffectRequireApproval }), "needs approvers"},
		{"unknown approver", rule(func(r *Rule) { r.Effect, r.Approvers = tierzero.EffectRequireApproval, []string{"boss"} }), "unknown approver"},
		{"empty group approver", rule(func(r *Rule) { r.Effect, r.Approvers = tierzero.EffectRequireApproval, []string{"group:"} }), "empty name"},
		{"group approver by pattern", rule(func(r *Rule) { r.Effect, r.Approvers = tierzero.EffectRequireApproval, []string{"group:Help*"} }), "never by a pattern"},
		{"group by pattern", rule(func(r *Rule) { r.When.Group = &NameFilter{Allow: []string{"Sales*"}} }), "never by a pattern"},
		{"group member by pattern", rule(func(r *Rule) { r.When.RequesterInGroup = []string{"?elpdesk"} }), "never by a pattern"},
		{"two managers", rule(func(r *Rule) { r.Effect, r.Approvers, r.Count = tierzero.EffectRequireApproval, []string{"manager"}, 2 }), "manager alone"},
		{"expiry too long", rule(func(r *Rule) {
			r.Effect, r.Approvers, r.Expires = tierzero.EffectRequireApproval, []string{"manager"}, 1000*time.Hour
		}), "expires"},
		{"approvers on an allow", rule(func(r *Rule) { r.Approvers = []string{"manager"} }), "require_approval rules only"},
		{"count on a deny", rule(func(r *Rule) { r.Effect, r.Count = tierzero.EffectDeny, 2 }), "require_approval rules only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSet(tt.f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewSet = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestNeeds(t *testing.T) {
	s, err := NewSet(
		File{Name: "g", Scope: Scope{Global: true}, Rules: []Rule{
			{ID: "a", Action: "user.*", Effect: tierzero.EffectAllow, When: Conditions{RequesterInGroup: []string{"x"}}},
			{ID: "b", Action: "group.add_member", Effect: tierzero.EffectAllow, When: Conditions{Group: &NameFilter{Allow: []string{"x"}}, MaxPerDay: 2}},
		}},
		File{Name: "t", Scope: Scope{Tenant: "fabrikam"}, Rules: []Rule{
			{ID: "c", Action: "device.wipe", Effect: tierzero.EffectDeny, When: Conditions{DeviceOwner: "self"}},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tenant tierzero.TenantID
		action string
		want   needs
	}{
		{"contoso", "user.get", needRequester},
		{"contoso", "group.add_member", needGroup | needHistory},
		{"contoso", "device.wipe", 0},
		{"fabrikam", "device.wipe", needDevice},
		{"contoso", "license.assign", 0},
	} {
		if got := s.needs(tt.tenant, tt.action); got != tt.want {
			t.Errorf("needs(%s, %s) = %b, want %b", tt.tenant, tt.action, got, tt.want)
		}
	}
}
