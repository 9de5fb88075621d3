package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// FuzzLoad feeds arbitrary bytes to the policy loader: it must never panic,
// and whatever it accepts must build a Set that evaluates requests (with and
// without facts) without panicking and decides every one of them.
//
//	go test ./policy -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"baseline", filepath.Join("..", "policies", "examples")} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(goodFile))
	f.Add([]byte("scope: {global: true}\nrules:\n  - {id: a, action: '*', effect: allow, when: {hours: {from: '22:00', to: '06:00', timezone: Asia/Tokyo}}}\n"))
	f.Add([]byte("scope: &a {global: true}\nrules: *a\n"))
	f.Add([]byte("scope: {global: true}\nrules:\n  - {id: a, action: '*?*?*', effect: deny, when: {group: {allow: [Sales, 0b5c4a1e-0000-4000-8000-000000000001], deny: ['?']}, group_has_admin_role: true, max_per_day: 2, user_risk_max: low}}\n"))
	f.Add([]byte("scope: {global: true}\nrules:\n  - {id: a, action: 'group.*', effect: require_approval, approvers: [group:Helpdesk, 'group:0B5C4A1E-0000-4000-8000-000000000001'], when: {requester_in_group: [Helpdesk], target_in_group: ÜBER}}\n"))
	f.Add([]byte("{}"))
	f.Add([]byte(`{"tenant":"contoso","action":"user.get","time":"2026-11-27T09:00:00Z","requester":{"upn":"a@contoso.com","groups":[],"role":"employee"},"target":{"upn":"a@contoso.com","risk":"low","admin_roles":["x"]},"history":{"count_today":1}}`))
	f.Add([]byte(`{"tenant":"contoso","action":"group.add_member","requester":{"upn":"a@contoso.com","groups":["0b5c4a1e-0000-4000-8000-000000000001",{"id":"0b5c4a1e-0000-4000-8000-000000000002","name":"Sales"}],"department":""},"group":{"id":"0b5c4a1e-0000-4000-8000-000000000002","role_assignable":false,"admin_roles":[]},"group_ids":{"Helpdesk":"0b5c4a1e-0000-4000-8000-000000000001"},"device":{"id":"d","owner":""}}`))
	f.Add([]byte("tests:\n  - name: a\n    request: {tenant: contoso, action: user.get}\n    expect: {effect: deny, rule: \"\"}\n"))
	f.Add([]byte("scope: {tenant: contoso}\ntechnicians: [tess@msp.example, \"*@support.msp.example\", \"t?m@*\"]\n"))
	f.Add([]byte("tests:\n  - name: a\n    request: {tenant: contoso, action: user.get, requester: {tenant: msp, upn: tess@msp.example, role: msp_technician}}\n    expect: {effect: deny, rule: \"\"}\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("scope: {tenant: contoso, department: \"\\u00dcnit\"}\nrules: []\n"))

	requests := fuzzRequests()
	baseline := Baseline()
	f.Fuzz(func(t *testing.T, data []byte) {
		// The request and test parsers share the loader's YAML walk.
		if r, err := ParseRequest("fuzz.json", data); err == nil {
			baseline.Evaluate(r)
		}
		ParseTests("fuzz-test.yaml", data)

		file, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		s, err := NewSet(file)
		if err != nil {
			t.Fatalf("Parse accepted a file NewSet rejects: %v", err)
		}
		for _, r := range requests {
			d := s.Evaluate(r)
			switch d.Effect {
			case tierzero.EffectAllow, tierzero.EffectRequireApproval, tierzero.EffectDeny:
			default:
				t.Fatalf("effect %q", d.Effect)
			}
			if d.Reason == "" {
				t.Fatal("decision without a reason")
			}
		}
		s.needs("contoso", "user.get")
	})
}

func fuzzRequests() []Request {
	full := Request{
		Tenant: "contoso", Action: "user.reset_password", Channel: tierzero.ChannelTeams,
		Time:           time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		Requester:      adele,
		RequesterFacts: &tierzero.UserFacts{UPN: adele.UPN, Department: strp("Sales"), Groups: groupsOf("Helpdesk")},
		Target: &tierzero.UserFacts{UPN: "alex@contoso.com", Department: strp("Sales"), Groups: groupsOf(), RiskLevel: "low",
			Manager: strp(adele.UPN), AdminRoles: []string{}},
		Group:   &GroupFacts{ID: gid("Sales"), Name: "Sales", RoleAssignable: boolp(false), AdminRoles: []string{}},
		License: &LicenseFacts{SKU: "SPE_E3"}, Device: &DeviceFacts{Owner: strp(adele.UPN)},
		History:  &HistoryFacts{CountToday: 1},
		GroupIDs: pins("Helpdesk", "Sales"),
	}
	across := full
	across.Requester = tierzero.Requester{Tenant: "msp", UPN: "tess@msp.example", Role: tierzero.RoleMSPTechnician}
	reqs := []Request{full, {}, {Tenant: "contoso", Action: "user.get"}, across}
	for _, a := range []string{"user.get", "group.add_member", "license.assign", "device.wipe", ""} {
		r := full
		r.Action = a
		reqs = append(reqs, r)
	}
	return reqs
}
