package policy

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// The benchmark rule sets live in testdata/bench/SHAPE-N (policy files plus
// tests/requests.yaml, the requests with their expected decisions), so that
// bench/ runs OPA and cedar-go on exactly the same rules and requests.
// Regenerate them with
//
//	go test ./policy -run TestBenchData -update-bench
//
// Shapes: "tenants" is an MSP's layout (a global baseline of 10 rules, then
// per client a tenant file of 7 rules and a department file of 3; requests
// spread over the clients); "flat" puts all N rules in the scope of the one
// tenant every request comes from (global, tenant and department files), the
// worst case for an index by tenant.

var updateBench = flag.Bool("update-bench", false, "rewrite testdata/bench")

var benchSizes = []int{10, 100, 1000}

func benchDir(shape string, n int) string {
	return filepath.Join("testdata", "bench", fmt.Sprintf("%s-%d", shape, n))
}

// The world of the benchmark: every name in one spelling, so that engines
// that compare exactly (Rego, Cedar) decide as policy does.
var (
	benchActions = []string{
		"user.get", "user.groups", "user.auth_methods", "user.signins", "user.risk", "user.devices",
		"device.compliance", "license.available", "group.find", "group.get", "user.reset_password",
		"user.issue_tap", "user.reset_mfa", "user.revoke_sessions", "user.enable", "user.set_auto_reply",
		"group.add_member", "group.remove_member", "license.assign", "license.remove", "device.sync",
		"device.reboot", "device.retire", "device.wipe",
	}
	benchGlobs  = []string{"user.*", "device.*", "group.*_member", "license.*", "user.reset_*"}
	benchDepts  = []string{"Sales", "Finance", "IT", "Executive"}
	benchGroups = []string{"All Staff", "Sales Team", "Finance Team", "Helpdesk", "Managers"}
	benchUsers  = []tierzero.UserFacts{
		{UPN: "adele@contoso.com", Department: strp("Sales"), Groups: groupsOf("All Staff", "Sales Team"), Manager: strp("megan@contoso.com"), AdminRoles: []string{}},
		{UPN: "alex@contoso.com", Department: strp("Sales"), Groups: groupsOf("All Staff"), Manager: strp("megan@contoso.com"), AdminRoles: []string{}},
		{UPN: "megan@contoso.com", Department: strp("Sales"), Groups: groupsOf("All Staff", "Managers"), Manager: strp("ceo@contoso.com"), AdminRoles: []string{"User Administrator"}},
		{UPN: "fiona@contoso.com", Department: strp("Finance"), Groups: groupsOf("All Staff", "Finance Team"), Manager: strp("ceo@contoso.com"), AdminRoles: []string{}},
		{UPN: "it@contoso.com", Department: strp("IT"), Groups: groupsOf("All Staff", "Helpdesk"), Manager: strp("ceo@contoso.com"), AdminRoles: []string{}},
		{UPN: "ceo@contoso.com", Department: strp("Executive"), Groups: groupsOf("All Staff"), Manager: strp(""), AdminRoles: []string{"Global Administrator"}},
	}
)

func benchRule(rng *rand.Rand, id string) Rule {
	r := Rule{ID: id, Action: pick(rng, benchActions)}
	if chance(rng, 0.15) {
		r.Action = pick(rng, benchGlobs)
	}
	conditions := 1 + rng.IntN(3)
	switch x := rng.IntN(20); {
	case x < 13:
		r.Effect = tierzero.EffectAllow
	case x < 18:
		r.Effect, r.Approvers = tierzero.EffectRequireApproval, []string{"manager"}
	default: // guardrails are few and narrow
		r.Effect, r.Reason = tierzero.EffectDeny, "denied by "+id
		conditions = 3
	}
	c := &r.When
	for _, k := range rng.Perm(8)[:conditions] {
		switch k {
		case 0:
			c.Target = pick(rng, []string{TargetSelf, TargetOther, TargetDirectReport, TargetSameDepartment})
		case 1:
			c.RequesterRole = slices.Compact(some(rng, genRoles))
		case 2:
			b := chance(rng, 0.5)
			c.TargetHasAdminRole = &b
		case 3:
			c.TargetDepartment = []string{pick(rng, benchDepts)}
		case 4:
			c.RequesterInGroup = []string{pick(rng, benchGroups)}
		case 5:
			c.TargetInGroup = []string{pick(rng, benchGroups)}
		case 6:
			c.Channel = slices.Compact(some(rng, genChannels))
		case 7:
			c.UserRiskMax = pick(rng, genRisks)
		}
	}
	return r
}

func benchTenant(i int) tierzero.TenantID { return tierzero.TenantID(fmt.Sprintf("t%02d", i)) }

// benchFiles generates the rule set of a shape and size.
func benchFiles(shape string, n int) []File {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(len(shape))))
	id := 0
	rules := func(k int) []Rule {
		out := make([]Rule, k)
		for i := range out {
			id++
			out[i] = benchRule(rng, fmt.Sprintf("r%04d", id))
		}
		return out
	}
	if shape == "flat" {
		t := benchTenant(1)
		return []File{
			{Name: "global.yaml", Scope: Scope{Global: true}, Rules: rules(n * 4 / 10)},
			{Name: "t01.yaml", Scope: Scope{Tenant: t}, Rules: rules(n * 4 / 10)},
			{Name: "t01-sales.yaml", Scope: Scope{Tenant: t, Department: "Sales"}, Rules: rules(n / 10)},
			{Name: "t01-finance.yaml", Scope: Scope{Tenant: t, Department: "Finance"}, Rules: rules(n / 10)},
		}
	}
	files := []File{{Name: "global.yaml", Scope: Scope{Global: true}, Rules: rules(10)}}
	for i := 1; i <= (n-10)/10; i++ {
		t := benchTenant(i)
		d := pick(rng, benchDepts)
		files = append(files,
			File{Name: string(t) + ".yaml", Scope: Scope{Tenant: t}, Rules: rules(7)},
			File{Name: string(t) + "-" + strings.ToLower(d) + ".yaml", Scope: Scope{Tenant: t, Department: d}, Rules: rules(3)})
	}
	return files
}

// benchRequests generates 64 requests with every fact present.
func benchRequests(shape string, n int) []Request {
	rng := rand.New(rand.NewPCG(uint64(n)+1000, uint64(len(shape))))
	tenants := max(1, (n-10)/10)
	reqs := make([]Request, 64)
	for i := range reqs {
		me, them := benchUsers[rng.IntN(len(benchUsers))], benchUsers[rng.IntN(len(benchUsers))]
		if chance(rng, 0.4) {
			them = me
		}
		them.RiskLevel = pick(rng, genRisks)
		t := benchTenant(1 + rng.IntN(tenants))
		if shape == "flat" {
			t = benchTenant(1)
		}
		ch := pick(rng, genChannels)
		reqs[i] = Request{
			Tenant: t, Action: pick(rng, benchActions), Channel: ch,
			Requester:      tierzero.Requester{Tenant: t, UPN: me.UPN, Role: pick(rng, genRoles), Channel: ch},
			RequesterFacts: &me, Target: &them,
			GroupIDs: pins(benchGroups...), // the tenant's directory resolves every group name
		}
	}
	return reqs
}

// yamlGroups renders groups as YAML: [{id: ..., name: ...}, ...].
func yamlGroups(gs []tierzero.GroupRef) string {
	q := make([]string, len(gs))
	for i, g := range gs {
		q[i] = fmt.Sprintf("{id: %s, name: %q}", g.ID, g.Name)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// yamlPins renders Request.GroupIDs as the group_ids of a request.
func yamlPins(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q: %s", n, gid(n))
	}
	return "{" + strings.Join(q, ", ") + "}"
}

func yamlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// benchYAML renders a file of the benchmark (which uses a subset of the
// conditions) in flow style, one rule a line.
func benchYAML(f File) string {
	var b strings.Builder
	b.WriteString("# Generated by go test ./policy -run TestBenchData -update-bench; do not edit.\n")
	switch {
	case f.Scope.Global:
		b.WriteString("scope: {global: true}\n")
	case f.Scope.Department != "":
		fmt.Fprintf(&b, "scope: {tenant: %s, department: %s}\n", f.Scope.Tenant, f.Scope.Department)
	default:
		fmt.Fprintf(&b, "scope: {tenant: %s}\n", f.Scope.Tenant)
	}
	b.WriteString("rules:\n")
	for _, r := range f.Rules {
		var when []string
		c := r.When
		if c.Target != "" {
			when = append(when, "target: "+c.Target)
		}
		if len(c.RequesterRole) > 0 {
			var rs []string
			for _, x := range c.RequesterRole {
				rs = append(rs, string(x))
			}
			when = append(when, "requester_role: "+yamlList(rs))
		}
		if len(c.RequesterInGroup) > 0 {
			when = append(when, "requester_in_group: "+yamlList(c.RequesterInGroup))
		}
		if len(c.TargetInGroup) > 0 {
			when = append(when, "target_in_group: "+yamlList(c.TargetInGroup))
		}
		if len(c.TargetDepartment) > 0 {
			when = append(when, "target_department: "+yamlList(c.TargetDepartment))
		}
		if c.TargetHasAdminRole != nil {
			when = append(when, fmt.Sprintf("target_has_admin_role: %v", *c.TargetHasAdminRole))
		}
		if len(c.Channel) > 0 {
			var cs []string
			for _, x := range c.Channel {
				cs = append(cs, string(x))
			}
			when = append(when, "channel: "+yamlList(cs))
		}
		if c.UserRiskMax != "" {
			when = append(when, "user_risk_max: "+c.UserRiskMax)
		}
		fmt.Fprintf(&b, "  - {id: %s, action: %q, effect: %s", r.ID, r.Action, r.Effect)
		if len(r.Approvers) > 0 {
			fmt.Fprintf(&b, ", approvers: %s", yamlList(r.Approvers))
		}
		if r.Reason != "" {
			fmt.Fprintf(&b, ", reason: %q", r.Reason)
		}
		fmt.Fprintf(&b, ", when: {%s}}\n", strings.Join(when, ", "))
	}
	return b.String()
}

func benchTestsYAML(reqs []Request, s *Set) string {
	var b strings.Builder
	b.WriteString("# Generated by go test ./policy -run TestBenchData -update-bench; do not edit.\n# Every fact is present; the expected decisions are policy's (checked against the reference evaluator).\ntests:\n")
	for i, r := range reqs {
		d := s.Evaluate(r)
		user := func(u *tierzero.UserFacts) string {
			return fmt.Sprintf("upn: %s, department: %s, groups: %s, admin_roles: %s, manager: %q", u.UPN, *u.Department,
				yamlGroups(u.Groups), yamlList(u.AdminRoles), *u.Manager)
		}
		fmt.Fprintf(&b, "  - name: request %02d\n", i)
		fmt.Fprintf(&b, "    request: {tenant: %s, action: %s, channel: %s,\n", r.Tenant, r.Action, r.Channel)
		fmt.Fprintf(&b, "      requester: {upn: %s, department: %s, groups: %s, role: %s},\n", r.Requester.UPN,
			*r.RequesterFacts.Department, yamlGroups(r.RequesterFacts.Groups), r.Requester.Role)
		fmt.Fprintf(&b, "      target: {%s, risk: %s},\n", user(r.Target), r.Target.RiskLevel)
		fmt.Fprintf(&b, "      group_ids: %s}\n", yamlPins(benchGroups))
		fmt.Fprintf(&b, "    expect: {effect: %s, rule: %q, layer: %q}\n", d.Effect, d.Rule, d.Layer)
	}
	return b.String()
}

// TestBenchData checks that testdata/bench is what the generator makes (or
// rewrites it with -update-bench), that the files load, and that the
// expected decisions are the reference evaluator's.
func TestBenchData(t *testing.T) {
	for _, shape := range []string{"tenants", "flat"} {
		for _, n := range benchSizes {
			dir := benchDir(shape, n)
			files := benchFiles(shape, n)
			want := map[string]string{}
			count := 0
			for _, f := range files {
				want[f.Name] = benchYAML(f)
				count += len(f.Rules)
			}
			if count != n {
				t.Fatalf("%s: %d rules, want %d", dir, count, n)
			}
			s := mustSet(t, files)
			reqs := benchRequests(shape, n)
			for _, r := range reqs {
				if got, ref := fromDecision(s.Evaluate(r)), refEvaluate(files, r); !equalDecision(got, ref) {
					t.Fatalf("%s: Evaluate = %v, reference %v", dir, got, ref)
				}
			}
			want[filepath.Join("tests", "requests.yaml")] = benchTestsYAML(reqs, s)
			if *updateBench {
				os.RemoveAll(dir)
				for name, body := range want {
					p := filepath.Join(dir, name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			for name, body := range want {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != body {
					t.Fatalf("%s is out of date (%v): go test ./policy -run TestBenchData -update-bench", filepath.Join(dir, name), err)
				}
			}
			loaded, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Len() != n {
				t.Fatalf("%s loads %d rules", dir, loaded.Len())
			}
			runYAMLTests(t, loaded, filepath.Join(dir, "tests"))
		}
	}
}

// BenchmarkEvaluate measures one decision over the benchmark rule sets,
// with its facts map (Evaluate, what Guard audits) and without (Decide);
// bench/ runs the same sets in OPA and cedar-go.
func BenchmarkEvaluate(b *testing.B) {
	for _, shape := range []string{"tenants", "flat"} {
		for _, n := range benchSizes {
			dir := benchDir(shape, n)
			s, err := Load(dir)
			if err != nil {
				b.Fatal(err)
			}
			tests, err := ReadTests(filepath.Join(dir, "tests"))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/rules=%d", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					s.Evaluate(tests[i%len(tests)].Request)
					i++
				}
			})
			b.Run(fmt.Sprintf("%s/rules=%d/decide", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					s.Decide(tests[i%len(tests)].Request)
					i++
				}
			})
		}
	}
}
