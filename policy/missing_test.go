package policy

import (
	"testing"

	"github.com/tierzero/tierzero"
)

// Issue 15, item 3: a fact a request leaves out is missing, never present
// and empty, for every condition: a rule that needs it denies.
func TestMissingFactsDeny(t *testing.T) {
	const extra = `scope: {tenant: contoso}
rules:
  - id: finance-not-read-by-bot
    action: user.get
    effect: deny
    when: {target_department: [Finance]}
  - id: managers-never-reset-reports
    action: user.revoke_sessions
    effect: deny
    when: {target: direct_report}
  - id: no-self-wipe
    action: device.wipe
    effect: deny
    when: {device_owner: self}
  - id: colleagues-in-department
    action: user.devices
    effect: deny
    when: {target: same_department, requester_role: tenant_admin}
`
	f, err := Parse("contoso.yaml", []byte(extra))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(append(BaselineFiles(), f)...)
	if err != nil {
		t.Fatal(err)
	}
	const admin = `"requester": {"upn": "ann@contoso.com", "role": "tenant_admin"}`
	tests := []struct {
		name, request, missing string
	}{
		{"admin roles left out",
			`{"tenant": "contoso", "action": "user.reset_password",
			  "requester": {"upn": "adele@contoso.com", "role": "employee"},
			  "target": {"upn": "adele@contoso.com"}}`,
			"target.admin_roles"},
		{"department left out",
			`{"tenant": "contoso", "action": "user.get", ` + admin + `, "target": {"upn": "fiona@contoso.com", "admin_roles": []}}`,
			"target.department"},
		{"manager left out",
			`{"tenant": "contoso", "action": "user.revoke_sessions", ` + admin + `, "target": {"upn": "fiona@contoso.com", "admin_roles": []}}`,
			"target.manager"},
		{"device owner left out",
			`{"tenant": "contoso", "action": "device.wipe", ` + admin + `, "device": {"id": "dev-1"}}`,
			"device.owner"},
		{"requester's department left out",
			`{"tenant": "contoso", "action": "user.devices", ` + admin + `, "target": {"upn": "fiona@contoso.com", "department": "Finance", "admin_roles": []}}`,
			"requester.department"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest("req.json", []byte(tt.request))
			if err != nil {
				t.Fatal(err)
			}
			d := evaluated(set, r)
			if d.Effect != tierzero.EffectDeny || d.Facts["missing"] != tt.missing {
				t.Fatalf("decision %s by %q (%s), missing %q; want deny for the missing fact %s", d.Effect, d.Rule, d.Reason, d.Facts["missing"], tt.missing)
			}
		})
	}
}
