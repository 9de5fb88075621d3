package policy

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// MSP technicians act from the MSP's own tenant ("msp") in client tenants.
var (
	tess    = tierzero.Requester{Tenant: "msp", UPN: "tess@msp.example", Role: tierzero.RoleMSPTechnician, Channel: tierzero.ChannelConsole}
	tom     = tierzero.Requester{Tenant: "msp", UPN: "tom@msp.example", Role: tierzero.RoleMSPTechnician, Channel: tierzero.ChannelConsole}
	support = tierzero.Requester{Tenant: "msp", UPN: "anna@support.msp.example", Role: tierzero.RoleMSPTechnician}
)

// as returns r with another role or home tenant.
func as(r tierzero.Requester, role tierzero.Role, tenant tierzero.TenantID) tierzero.Requester {
	r.Role, r.Tenant = role, tenant
	return r
}

func mustParse(t *testing.T, name, doc string) File {
	t.Helper()
	f, err := Parse(name, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func setOf(t *testing.T, files ...File) *Set {
	t.Helper()
	s, err := NewSet(files...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// contosoAdmitsTess is a tenant file that admits tess to contoso and
// grants nothing of its own.
const contosoAdmitsTess = "scope: {tenant: contoso}\ntechnicians: [tess@msp.example]\n"

func TestParseTechnicians(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
		rules     int
	}{
		{"tenant file", "scope: {tenant: contoso}\ntechnicians: [tess@msp.example, \"*@support.msp.example\"]\nrules:\n  - {id: a, action: user.get, effect: allow}\n",
			[]string{"tess@msp.example", "*@support.msp.example"}, 1},
		{"global file, block list", "scope: {global: true}\ntechnicians:\n  - Tess@MSP.example\n  - t?m@msp.example\nrules: []\n",
			[]string{"Tess@MSP.example", "t?m@msp.example"}, 0},
		{"technicians and no rules", contosoAdmitsTess, []string{"tess@msp.example"}, 0},
		{"no technicians", "scope: {global: true}\nrules: []\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, "f.yaml", tt.doc)
			if !slices.Equal(f.Technicians, tt.want) || len(f.Rules) != tt.rules {
				t.Fatalf("technicians %q, %d rules; want %q, %d", f.Technicians, len(f.Rules), tt.want, tt.rules)
			}
			s := setOf(t, f)
			got := s.Files()[0].Technicians
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Files()[0].Technicians = %q, want %q", got, tt.want)
			}
			if len(got) > 0 {
				got[0] = "*@*" // a copy: the set's admissions do not change
				if _, ok := s.Admits("contoso", tierzero.Requester{Tenant: "msp", UPN: "x@y", Role: tierzero.RoleMSPTechnician}); ok {
					t.Fatal("changing the result of Files changed the set")
				}
			}
		})
	}
}

func TestParseTechniciansErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"department file", "scope: {tenant: contoso, department: Sales}\ntechnicians: [tess@msp.example]\nrules: []\n",
			"f.yaml:2: technicians: a department file cannot admit technicians"},
		{"not a list", "scope: {global: true}\ntechnicians: tess@msp.example\n", "f.yaml:2: technicians: want a list"},
		{"a mapping", "scope: {global: true}\ntechnicians: {tess: msp.example}\n", "f.yaml:2: technicians: want a list"},
		{"empty list", "scope: {global: true}\ntechnicians: []\n", "f.yaml:2: technicians: empty list"},
		{"no @", "scope: {global: true}\ntechnicians:\n  - tess@msp.example\n  - tess\n", `f.yaml:4: technicians: "tess": want a user principal name or a glob with exactly one @`},
		{"two @", "scope: {global: true}\ntechnicians:\n  - a@b@msp.example\n", "f.yaml:3: technicians: \"a@b@msp.example\": want"},
		{"a glob of everyone", "scope: {global: true}\ntechnicians: [\"*\"]\n", "f.yaml:2: technicians: \"*\": want"},
		{"empty entry", "scope: {global: true}\ntechnicians:\n  - \"\"\n", "f.yaml:3: technicians: an entry is empty"},
		{"spaces", "scope: {global: true}\ntechnicians:\n  - \"tess @msp.example\"\n", "f.yaml:3: technicians: \"tess @msp.example\": a user principal name has no spaces"},
		{"not a string", "scope: {global: true}\ntechnicians:\n  - [tess@msp.example]\n", "f.yaml:3: technicians: want a string"},
		{"an alias", "scope: {global: true}\nx: &a [t@msp.example]\ntechnicians: *a\n", "f.yaml:2: unknown key \"x\""},
		{"neither technicians nor rules", "scope: {global: true}\n", "f.yaml:1: missing rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want %q", err, tt.want)
			}
		})
	}
	// NewSet checks files that were not parsed, too.
	for _, f := range []File{
		{Name: "d", Scope: Scope{Tenant: "contoso", Department: "Sales"}, Technicians: []string{"tess@msp.example"}},
		{Name: "g", Scope: Scope{Global: true}, Technicians: []string{"tess"}},
		{Name: "g", Scope: Scope{Global: true}, Technicians: []string{""}},
	} {
		if _, err := NewSet(f); err == nil || !strings.Contains(err.Error(), "technicians") {
			t.Errorf("NewSet(%+v) = %v, want a technicians error", f, err)
		}
	}
}

func TestAdmits(t *testing.T) {
	s := setOf(t,
		mustParse(t, "contoso.yaml", "scope: {tenant: contoso}\ntechnicians: [Tess@MSP.example, \"*@support.msp.example\"]\n"),
		mustParse(t, "global.yaml", "scope: {global: true}\ntechnicians: [\"*@support.msp.example\"]\nrules: []\n"),
		mustParse(t, "fabrikam.yaml", "scope: {tenant: fabrikam}\ntechnicians: [\"t?m@msp.example\"]\n"),
	)
	tests := []struct {
		name     string
		tenant   tierzero.TenantID
		req      tierzero.Requester
		wantFile string // "" for not admitted
	}{
		{"listed by the tenant file", "contoso", tess, "contoso.yaml"},
		{"case does not matter", "contoso", tierzero.Requester{Tenant: "msp", UPN: "TESS@msp.EXAMPLE", Role: tierzero.RoleMSPTechnician}, "contoso.yaml"},
		{"another tenant's file does not admit", "fabrikam", tess, ""},
		{"a tenant with no file", "northwind", tess, ""},
		{"a ? glob", "fabrikam", tom, "fabrikam.yaml"},
		{"a ? glob is one character", "fabrikam", tierzero.Requester{Tenant: "msp", UPN: "toom@msp.example", Role: tierzero.RoleMSPTechnician}, ""},
		{"the first admitting file", "contoso", support, "contoso.yaml"},
		{"a global file admits to every tenant", "fabrikam", support, "global.yaml"},
		{"a global file admits to a tenant with no file", "northwind", support, "global.yaml"},
		{"a * glob does not match another domain", "northwind", tierzero.Requester{Tenant: "msp", UPN: "anna@evil.example", Role: tierzero.RoleMSPTechnician}, ""},
		{"an employee is never admitted", "contoso", as(tess, tierzero.RoleEmployee, "msp"), ""},
		{"a tenant admin is never admitted", "contoso", as(tess, tierzero.RoleTenantAdmin, "msp"), ""},
		{"no role", "contoso", as(tess, "", "msp"), ""},
		{"the same tenant is not across", "contoso", as(tess, tierzero.RoleMSPTechnician, "contoso"), ""},
		{"no home tenant", "contoso", as(tess, tierzero.RoleMSPTechnician, ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, ok := s.Admits(tt.tenant, tt.req)
			if ok != (tt.wantFile != "") || file != tt.wantFile {
				t.Fatalf("Admits(%s, %s %s of %q) = %q, %v; want %q", tt.tenant, tt.req.Role, tt.req.UPN, tt.req.Tenant, file, ok, tt.wantFile)
			}
		})
	}
	if file, ok := Baseline().Admits("contoso", tess); ok {
		t.Fatalf("the baseline admits tess (by %s); it admits nobody", file)
	}
}

func TestEvaluateAcrossTenants(t *testing.T) {
	s := setOf(t, append(BaselineFiles(), mustParse(t, "contoso.yaml", contosoAdmitsTess),
		mustParse(t, "everyone.yaml", "scope: {global: true}\ntechnicians: [adele@contoso.com]\n"))...)
	const notAdmitted = "is not admitted to tenant"
	tests := []struct {
		name       string
		req        Request
		wantEffect tierzero.Effect
		wantRule   string
		wantReason string
		wantAdmit  string // admitted_by in the facts; "" for none
	}{
		{"a technician not admitted is denied despite tech-read-user", Request{Tenant: "contoso", Action: "user.get", Requester: tom, Target: alex},
			tierzero.EffectDeny, "", "tom@msp.example (of tenant msp) is not admitted to tenant contoso: no policy lists them under technicians", ""},
		{"admitted to contoso, not to fabrikam", Request{Tenant: "fabrikam", Action: "user.get", Requester: tess, Target: alex},
			tierzero.EffectDeny, "", notAdmitted, ""},
		{"an employee listed under technicians is not admitted", Request{Tenant: "fabrikam", Action: "user.get", Requester: adele, Target: alex},
			tierzero.EffectDeny, "", "adele@contoso.com (of tenant contoso) is not admitted to tenant fabrikam", ""},
		{"an admitted technician reads a user", Request{Tenant: "contoso", Action: "user.get", Requester: tess, Target: alex},
			tierzero.EffectAllow, "tech-read-user", "", "contoso.yaml"},
		{"an admitted technician resets a password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: tess, Target: alex},
			tierzero.EffectAllow, "tech-reset-password", "", "contoso.yaml"},
		{"the guardrails still apply", Request{Tenant: "contoso", Action: "user.reset_password", Requester: tess, Target: admin},
			tierzero.EffectDeny, "never-reset-admins", "admin role", "contoso.yaml"},
		{"what no rule allows is still denied", Request{Tenant: "contoso", Action: "user.make_admin", Requester: tess, Target: alex},
			tierzero.EffectDeny, "", "no policy allows", "contoso.yaml"},
		{"a technician of the tenant itself, as before", Request{Tenant: "contoso", Action: "user.get", Requester: tech, Target: alex},
			tierzero.EffectAllow, "tech-read-user", "", ""},
		{"a requester without a tenant, as before", Request{Tenant: "contoso", Action: "user.get", Requester: as(tom, tierzero.RoleMSPTechnician, ""), Target: alex},
			tierzero.EffectAllow, "tech-read-user", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := evaluated(s, tt.req)
			if d.Effect != tt.wantEffect || d.Rule != tt.wantRule || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("Evaluate = %s by %q (%s), want %s by %q with %q", d.Effect, d.Rule, d.Reason, tt.wantEffect, tt.wantRule, tt.wantReason)
			}
			cross := tt.req.Requester.Tenant != "" && tt.req.Requester.Tenant != tt.req.Tenant
			if got, want := d.Facts["requester_tenant"], map[bool]string{true: string(tt.req.Requester.Tenant)}[cross]; got != want {
				t.Errorf("requester_tenant = %q, want %q (facts %v)", got, want, d.Facts)
			}
			if got := d.Facts["admitted_by"]; got != tt.wantAdmit {
				t.Errorf("admitted_by = %q, want %q", got, tt.wantAdmit)
			}
			if d.Facts["tenant"] != string(tt.req.Tenant) || d.Facts["requester"] != tt.req.Requester.UPN || d.Facts["action"] != tt.req.Action {
				t.Errorf("facts = %v, want the usual facts too", d.Facts)
			}
			// Decide decides alike, without facts.
			if nd := s.Decide(tt.req); nd.Effect != d.Effect || nd.Rule != d.Rule || nd.Reason != d.Reason || nd.Facts != nil {
				t.Errorf("Decide = %+v, Evaluate %+v", nd, d)
			}
		})
	}
}

// Nothing in a client tenant's directory is a cross-tenant requester's: not
// a target with the same name, not a device they are said to own, not a
// report of theirs.
func TestAcrossTenantsTargetIsNeverTheRequester(t *testing.T) {
	s := setOf(t, mustParse(t, "g.yaml", `scope: {global: true}
technicians: [tess@msp.example]
rules:
  - {id: own, action: user.get, effect: allow, when: {target: self}}
  - {id: own-device, action: device.sync, effect: allow, when: {device_owner: self}}
  - {id: reports, action: user.devices, effect: allow, when: {target: direct_report}}
`))
	twin := &tierzero.UserFacts{UPN: "tess@msp.example", Manager: strp("tess@msp.example")}
	for _, tt := range []struct {
		name string
		req  Request
	}{
		{"target: self", Request{Tenant: "contoso", Action: "user.get", Requester: tess, Target: twin}},
		{"device_owner: self", Request{Tenant: "contoso", Action: "device.sync", Requester: tess, Device: &DeviceFacts{ID: "d", Owner: strp(tess.UPN)}}},
		{"target: direct_report", Request{Tenant: "contoso", Action: "user.devices", Requester: tess, Target: twin}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			same := tt.req
			same.Requester.Tenant = "contoso"
			if d := evaluated(s, same); d.Effect != tierzero.EffectAllow {
				t.Fatalf("in their own tenant: %s (%s), want allow", d.Effect, d.Reason)
			}
			d := evaluated(s, tt.req)
			if d.Effect != tierzero.EffectDeny || !strings.Contains(d.Reason, "no policy allows") {
				t.Fatalf("across tenants: %s by %q (%s), want no policy", d.Effect, d.Rule, d.Reason)
			}
			if tt.req.Target != nil && d.Facts["target_is_requester"] != "false" {
				t.Errorf("facts = %v, want target_is_requester false", d.Facts)
			}
		})
	}
}

func TestParseRequestRequesterTenant(t *testing.T) {
	r, err := ParseRequest("r.yaml", []byte("tenant: contoso\naction: user.get\nrequester: {tenant: msp, upn: tess@msp.example, role: msp_technician}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requester.Tenant != "msp" || r.Tenant != "contoso" || r.Requester.UPN != "tess@msp.example" {
		t.Fatalf("request = %+v", r)
	}
	r, err = ParseRequest("r.yaml", []byte("tenant: contoso\naction: user.get\nrequester: {upn: adele@contoso.com}\n"))
	if err != nil || r.Requester.Tenant != "contoso" {
		t.Fatalf("requester tenant = %q, %v; want the request's", r.Requester.Tenant, err)
	}
	for _, tt := range []struct{ doc, want string }{
		{"tenant: contoso\naction: user.get\nrequester:\n  tenant: MSP!\n", "r.yaml:4: requester.tenant: invalid tenant id"},
		{"tenant: contoso\naction: user.get\nrequester:\n  tenant: \"\"\n", "r.yaml:4: requester.tenant: must not be empty"},
		{"tenant: contoso\naction: user.get\ntarget:\n  tenant: msp\n", `r.yaml:4: unknown key "tenant" in target`},
	} {
		if _, err := ParseRequest("r.yaml", []byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRequest(%q) = %v, want %q", tt.doc, err, tt.want)
		}
	}
	// In a policy test, too.
	tests, err := ParseTests("t.yaml", []byte(`tests:
  - name: tess reads a contoso user
    request: {tenant: contoso, action: user.get, requester: {tenant: msp, upn: tess@msp.example, role: msp_technician}, target: {upn: alex@contoso.com}}
    expect: {effect: allow, rule: tech-read-user}
  - name: tom does not
    request: {tenant: contoso, action: user.get, requester: {tenant: msp, upn: tom@msp.example, role: msp_technician}, target: {upn: alex@contoso.com}}
    expect: {effect: deny, rule: ""}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := setOf(t, append(BaselineFiles(), mustParse(t, "c.yaml", contosoAdmitsTess))...)
	for _, tt := range tests {
		if _, err := tt.Run(s); err != nil {
			t.Errorf("%s: %v", tt.Name, err)
		}
	}
	// Without the admission the first test fails: it can.
	if _, err := tests[0].Run(Baseline()); err == nil {
		t.Error("tess was allowed by the baseline alone")
	}
}

func TestMayAllowAcrossTenants(t *testing.T) {
	s := setOf(t,
		mustParse(t, "g.yaml", "scope: {global: true}\nrules:\n  - {id: read, action: user.get, effect: allow, when: {requester_role: msp_technician}}\n"),
		mustParse(t, "c.yaml", "scope: {tenant: contoso}\ntechnicians: [tess@msp.example]\nrules:\n  - {id: retire, action: device.retire, effect: allow}\n"),
	)
	tests := []struct {
		name   string
		req    tierzero.Requester
		action string
		want   bool
	}{
		{"a tenant rule of a tenant tess is admitted to", tess, "device.retire", true},
		{"not for a technician not admitted", tom, "device.retire", false},
		{"not for an employee of the MSP listed there", as(tess, tierzero.RoleEmployee, "msp"), "device.retire", false},
		{"a tenant rule of the requester's own tenant", as(adele, tierzero.RoleEmployee, "contoso"), "device.retire", true},
		{"a global rule counts for anyone it may apply to", tom, "user.get", true},
		{"a global rule still excludes by role", as(tom, tierzero.RoleEmployee, "msp"), "user.get", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.MayAllow(tt.req, tt.action); got != tt.want {
				t.Fatalf("MayAllow(%s %s of %s, %s) = %v, want %v", tt.req.Role, tt.req.UPN, tt.req.Tenant, tt.action, got, tt.want)
			}
		})
	}
}

// crossGuard is a Guard over the baseline plus files, with a directory of
// contoso that counts its lookups.
func crossGuard(t *testing.T, files ...File) (*Guard, *fakeExec, *fakeAudit, *countingDir) {
	t.Helper()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	exec := &fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), nil)}
	audit := &fakeAudit{}
	dir := &countingDir{fakeDir: fakeDir{"adele@contoso.com": *self, "alex@contoso.com": *alex, "megan@contoso.com": *admin}}
	g, err := NewGuard(GuardConfig{
		Policies: setOf(t, append(BaselineFiles(), files...)...), Signer: signer, Executor: exec, Audit: audit, Directory: dir,
		Tools:    toolSpecs("user.reset_password!", "user.get", "group.add_member!"),
		TargetOf: newTestGuardTargetOf,
		SubjectOf: func(c tierzero.ToolCall) (Subject, error) {
			var a struct{ Group string }
			return Subject{Group: a.Group}, json.Unmarshal(c.Args, &a)
		},
		Groups:     &fakeSubjects{groups: map[string]GroupFacts{"g-sales": {ID: gid("Sales"), Name: "Sales", RoleAssignable: boolp(false), AdminRoles: []string{}}}},
		GroupNames: &testResolver{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, exec, audit, dir
}

func TestGuardAcrossTenants(t *testing.T) {
	admits := []File{
		mustParse(t, "contoso.yaml", contosoAdmitsTess),
		mustParse(t, "everyone.yaml", "scope: {global: true}\ntechnicians: [adele@contoso.com, pat@fabrikam.com]\n"),
		// Helpdesk members add people to groups: a rule that reads the
		// requester's own groups.
		mustParse(t, "helpdesk.yaml", "scope: {tenant: contoso}\nrules:\n  - {id: helpdesk-groups, action: group.add_member, effect: allow, when: {requester_in_group: Helpdesk}}\n"),
	}
	pat := tierzero.Requester{Tenant: "fabrikam", UPN: "pat@fabrikam.com", Role: tierzero.RoleEmployee}
	tests := []struct {
		name        string
		tenant      tierzero.TenantID
		req         tierzero.Requester
		action      string
		args        string
		wantRun     bool
		wantRule    string
		wantReason  string   // in the audit and in the refusal
		wantLookups []string // of the directory
		wantAdmit   string
	}{
		{"a technician not admitted", "contoso", tom, "user.get", `{"user":"alex@contoso.com"}`, false, "",
			"tom@msp.example (of tenant msp) is not admitted to tenant contoso", nil, ""},
		{"not admitted, about an account that does not exist", "contoso", tom, "user.get", `{"user":"ghost@contoso.com"}`, false, "",
			"is not admitted to tenant contoso", nil, ""},
		{"admitted to contoso, not to fabrikam", "fabrikam", tess, "user.get", `{"user":"alex@contoso.com"}`, false, "",
			"is not admitted to tenant fabrikam", nil, ""},
		{"an employee of another tenant listed under technicians", "contoso", pat, "user.get", `{"user":"alex@contoso.com"}`, false, "",
			"pat@fabrikam.com (of tenant fabrikam) is not admitted to tenant contoso", nil, ""},
		{"an admitted technician reads a user", "contoso", tess, "user.get", `{"user":"alex@contoso.com"}`, true, "tech-read-user",
			"", []string{"alex@contoso.com"}, "contoso.yaml"},
		{"an admitted technician resets a password", "contoso", tess, "user.reset_password", `{"user":"alex@contoso.com"}`, true, "tech-reset-password",
			"", []string{"alex@contoso.com"}, "contoso.yaml"},
		{"an admitted technician is told why a guardrail denies", "contoso", tess, "user.reset_password", `{"user":"megan@contoso.com"}`, false, "never-reset-admins",
			"admin role", []string{"megan@contoso.com"}, "contoso.yaml"},
		{"an object id of another directory says nothing here", "contoso", tierzero.Requester{Tenant: "msp", UPN: "tess@msp.example", ObjectID: "id-megan", Role: tierzero.RoleMSPTechnician},
			"user.reset_password", `{"user":"megan@contoso.com"}`, false, "never-reset-admins", "admin role", []string{"megan@contoso.com"}, "contoso.yaml"},
		{"their own facts are not in the client's directory", "contoso", tess, "group.add_member", `{"user":"alex@contoso.com"}`, false, "helpdesk-groups",
			"needs the fact requester.groups", []string{"alex@contoso.com"}, "contoso.yaml"},
		{"a group that does not exist", "contoso", tess, "group.add_member", `{"user":"alex@contoso.com","group":"g-ghost"}`, false, "",
			`no group "g-ghost"`, []string{"alex@contoso.com"}, "contoso.yaml"},
		{"a requester without a tenant", "contoso", as(tess, tierzero.RoleMSPTechnician, ""), "user.get", `{"user":"alex@contoso.com"}`, false, "",
			"belongs to no tenant", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, exec, audit, dir := crossGuard(t, admits...)
			res, err := g.RunTool(context.Background(), tt.tenant, tt.req, "conv",
				tierzero.ToolCall{ID: "1", Action: tt.action, Args: json.RawMessage(tt.args)})
			if err != nil {
				t.Fatal(err)
			}
			if ran := len(exec.ran) == 1; ran != tt.wantRun {
				t.Fatalf("ran = %v, want %v (decision %+v)", exec.ran, tt.wantRun, res.Decision)
			}
			if len(audit.events) == 0 || audit.events[0].Kind != tierzero.AuditDecided {
				t.Fatalf("audit = %+v, want the decision first", audit.events)
			}
			d := audit.events[0]
			if d.Rule != tt.wantRule || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("audited %s by %q (%s), want %q with %q", d.Effect, d.Rule, d.Reason, tt.wantRule, tt.wantReason)
			}
			if !slices.Equal(dir.calls, tt.wantLookups) {
				t.Errorf("directory lookups = %q, want %q", dir.calls, tt.wantLookups)
			}
			if tt.req.Tenant != "" {
				if got := d.Facts["requester_tenant"]; got != string(tt.req.Tenant) {
					t.Errorf("audited requester_tenant = %q, want %q (facts %v)", got, tt.req.Tenant, d.Facts)
				}
			}
			if got := d.Facts["admitted_by"]; got != tt.wantAdmit {
				t.Errorf("audited admitted_by = %q, want %q", got, tt.wantAdmit)
			}
			if tt.wantRun {
				if p := exec.permits[0]; p.Tenant != tt.tenant || p.Requester != tt.req.UPN || p.Rule != tt.wantRule {
					t.Errorf("permit = %+v", p)
				}
				if len(audit.events) != 2 || audit.events[1].Kind != tierzero.AuditExecuted || audit.events[1].Requester != tt.req.UPN {
					t.Errorf("audit = %+v, want decided then executed", audit.events)
				}
				return
			}
			if res.Error == nil || res.Error.Code != tierzero.EDenied || !strings.Contains(res.Error.Message, tt.wantReason) {
				t.Fatalf("result error = %+v, want denied with %q", res.Error, tt.wantReason)
			}
			if res.Decision.Rule != tt.wantRule || !strings.Contains(res.Decision.Reason, tt.wantReason) {
				t.Errorf("the caller sees %+v, want the rule and reason", res.Decision)
			}
			if tt.wantLookups != nil && res.Decision.Facts != nil {
				t.Errorf("the caller sees the facts %v about a client's account; they belong in the audit", res.Decision.Facts)
			}
		})
	}
}

// An approval for a technician's call (the technician works from the MSP's
// tenant) and approvals by technicians.
const techTapPolicy = `scope: {tenant: contoso}
technicians: [tess@msp.example, tom@msp.example]
rules:
  - id: tech-tap
    action: user.issue_tap
    effect: require_approval
    when: {requester_role: msp_technician}
    approvers: ["role:msp_technician", "role:tenant_admin"]
  - id: own-tap
    action: user.issue_tap
    effect: require_approval
    when: {target: self, requester_role: employee}
    approvers: ["role:msp_technician"]
`

var tapAlex = tierzero.ToolCall{ID: "t1", Action: "user.issue_tap", Args: json.RawMessage(`{"user":"alex@contoso.com"}`)}

// requestAs has req ask for call in contoso and returns the approval id.
func (r *approvalRig) requestAs(t *testing.T, req tierzero.Requester, call tierzero.ToolCall) string {
	t.Helper()
	res, err := r.g.RunTool(context.Background(), "contoso", req, "conv", call)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Approval string }
	if res.Error == nil || res.Error.Code != tierzero.EPending || json.Unmarshal(res.Output, &out) != nil || out.Approval == "" {
		t.Fatalf("result = %+v (%s), want pending", res.Error, res.Output)
	}
	return out.Approval
}

func (r *approvalRig) events(t *testing.T, kind tierzero.AuditKind) []tierzero.AuditEvent {
	t.Helper()
	var evs []tierzero.AuditEvent
	err := r.db.Audit(context.Background(), "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		if ev.Kind == kind {
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestApprovalAcrossTenants(t *testing.T) {
	ctx := context.Background()
	managerOnly := append(BaselineFiles(), mustParse(t, "c.yaml", "scope: {tenant: contoso}\ntechnicians: [tess@msp.example]\n"))
	tests := []struct {
		name      string
		requester tierzero.Requester
		call      tierzero.ToolCall
		files     []File // instead of techTapPolicy
		approver  tierzero.Requester
		wantErr   string // "" for approved and run
	}{
		{"an admitted technician approves an employee's request", adele, tapAdele, nil, tess, ""},
		{"a technician not admitted", adele, tapAdele, nil, as(tierzero.Requester{UPN: "zoe@msp.example"}, tierzero.RoleMSPTechnician, "msp"), "not an approver"},
		{"an admitted employee of the MSP", adele, tapAdele, nil, as(tess, tierzero.RoleEmployee, "msp"), "not an approver"},
		{"an admitted technician, where only the manager approves", adele, tapAdele, managerOnly, tess, "not an approver"},
		{"a technician approves another technician's request", tess, tapAlex, nil, tom, ""},
		{"a tenant admin approves a technician's request", tess, tapAlex, nil, admin1, ""},
		{"a technician approves their own request", tess, tapAlex, nil, tess, "own request"},
		{"their own request, another spelling", tess, tapAlex, nil, tierzero.Requester{Tenant: "msp", UPN: "TESS@msp.example", Role: tierzero.RoleMSPTechnician}, "own request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newApprovalRig(t, techTapPolicy, nil)
			if tt.files != nil {
				r.g.cfg.Policies = setOf(t, tt.files...)
			}
			id := r.requestAs(t, tt.requester, tt.call)
			a, res, err := r.g.Decide(ctx, "contoso", tt.approver, id, true)
			if tt.wantErr != "" {
				if tierzero.ErrorCode(err) != tierzero.EDenied || !strings.Contains(tierzero.ErrorMessage(err), tt.wantErr) {
					t.Fatalf("Decide = %v, want denied with %q", err, tt.wantErr)
				}
				if n := len(r.exec.runs()); n != 0 {
					t.Fatalf("ran %d calls", n)
				}
				evs := r.events(t, tierzero.AuditApprovalDecided)
				if len(evs) != 1 || evs[0].Outcome != "refused" || evs[0].Requester != tt.approver.UPN {
					t.Fatalf("approval decisions on the record = %+v, want the refusal", evs)
				}
				return
			}
			if err != nil || a.State != tierzero.ApprovalExecuted || res.Error != nil {
				t.Fatalf("Decide = %s, %+v, %v; want executed", a.State, res.Error, err)
			}
			ran := r.exec.runs()
			if canon, _ := tierzero.CanonicalArgs(tt.call.Args); len(ran) != 1 || string(ran[0].Args) != string(canon) {
				t.Fatalf("ran %v, want the stored call", ran)
			}
			if p := r.exec.permits[0]; p.Requester != tt.requester.UPN || p.Tenant != "contoso" {
				t.Fatalf("permit = %+v, want %s's in contoso", p, tt.requester.UPN)
			}
			ev := r.events(t, tierzero.AuditApprovalDecided)[0]
			if cross := tt.approver.Tenant != "contoso"; cross && (ev.Facts["approver_tenant"] != "msp" || ev.Facts["admitted_by"] != "test.yaml") {
				t.Errorf("approval decision facts = %v, want the approver's tenant and admission", ev.Facts)
			}
			if tt.requester.Tenant != "contoso" {
				dec := r.events(t, tierzero.AuditDecided)[0]
				if dec.Facts["requester_tenant"] != "msp" || dec.Facts["admitted_by"] != "test.yaml" {
					t.Errorf("decided facts = %v, want requester_tenant and admitted_by", dec.Facts)
				}
			}
		})
	}
}

// An approval for a technician whose admission has since been removed runs
// nothing: policy is decided again when the approved call runs.
func TestApprovalAcrossTenantsAdmissionRevoked(t *testing.T) {
	ctx := context.Background()
	for _, revoke := range []bool{false, true} {
		t.Run(map[bool]string{false: "admitted", true: "revoked"}[revoke], func(t *testing.T) {
			r := newApprovalRig(t, techTapPolicy, nil)
			id := r.requestAs(t, tess, tapAlex)
			g := r.g
			if revoke {
				doc := strings.Replace(techTapPolicy, "technicians: [tess@msp.example, tom@msp.example]", "technicians: [tom@msp.example]", 1)
				cfg := r.g.cfg
				cfg.Policies = setOf(t, mustParse(t, "test.yaml", doc))
				var err error
				if g, err = NewGuard(cfg); err != nil { // same store, executor and directory
					t.Fatal(err)
				}
			}
			a, _, err := g.Decide(ctx, "contoso", admin1, id, true)
			if !revoke {
				if err != nil || a.State != tierzero.ApprovalExecuted || len(r.exec.runs()) != 1 {
					t.Fatalf("Decide = %s, %v, %d runs; want executed", a.State, err, len(r.exec.runs()))
				}
				return
			}
			if tierzero.ErrorCode(err) != tierzero.EDenied || !strings.Contains(err.Error(), "policy denies the call now") ||
				!strings.Contains(err.Error(), "is not admitted to tenant contoso") {
				t.Fatalf("Decide = %v, want a refusal: tess is no longer admitted", err)
			}
			if n := len(r.exec.runs()); n != 0 {
				t.Fatalf("ran %d calls", n)
			}
			if k := r.kinds(t); k[len(k)-1] != "approval_executed:refused" {
				t.Fatalf("audit = %v, want the refusal on the record", k)
			}
			if a, _ := r.db.Approval(ctx, "contoso", id); a.State != tierzero.ApprovalApproved {
				t.Fatalf("approval state = %s, want approved and unrun", a.State)
			}
		})
	}
}
