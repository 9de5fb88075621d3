package policy

import (
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// A tenant without Entra ID P2 cannot tell a user's risk: graph reports
// RiskLevel "unknown", a known fact (not "", which is a fact not read).
// user_risk_max decides on it by the rule's user_risk_unknown: by default
// an allow rule does not grant and a deny rule denies; "allow" counts the
// unknown risk as within the limit.
func TestUserRiskUnknown(t *testing.T) {
	const allowRule = `scope: {global: true}
rules:
  - id: r
    action: user.get
    effect: allow
    when: {user_risk_max: medium%s}
`
	const denyRule = `scope: {global: true}
rules:
  - id: base
    action: user.get
    effect: allow
  - id: r
    action: user.get
    effect: deny
    reason: too risky
    when: {user_risk_max: medium%s}
`
	tests := []struct {
		name, file, unknown, level string
		want                       tierzero.Effect
		missing                    string
	}{
		{"allow rule, unknown risk, default", allowRule, "", "unknown", tierzero.EffectDeny, ""},
		{"allow rule, unknown risk, deny", allowRule, ", user_risk_unknown: deny", "unknown", tierzero.EffectDeny, ""},
		{"allow rule, unknown risk, allow", allowRule, ", user_risk_unknown: allow", "unknown", tierzero.EffectAllow, ""},
		{"allow rule, known risk within, allow", allowRule, ", user_risk_unknown: allow", "low", tierzero.EffectAllow, ""},
		{"allow rule, known risk above, allow", allowRule, ", user_risk_unknown: allow", "high", tierzero.EffectDeny, ""},
		{"allow rule, risk not read, allow", allowRule, ", user_risk_unknown: allow", "", tierzero.EffectDeny, "target.risk"},
		{"deny rule, unknown risk, default", denyRule, "", "unknown", tierzero.EffectDeny, ""},
		{"deny rule, unknown risk, allow", denyRule, ", user_risk_unknown: allow", "unknown", tierzero.EffectAllow, ""},
		{"deny rule, known risk within", denyRule, ", user_risk_unknown: allow", "none", tierzero.EffectAllow, ""},
		{"deny rule, risk not read", denyRule, ", user_risk_unknown: allow", "", tierzero.EffectDeny, "target.risk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("f.yaml", []byte(strings.Replace(tt.file, "%s", tt.unknown, 1)))
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewSet(f)
			if err != nil {
				t.Fatal(err)
			}
			d := evaluated(s, Request{
				Tenant: "contoso", Action: "user.get", Requester: adele,
				Target: &tierzero.UserFacts{ObjectID: "id-alex", UPN: "alex@contoso.com", RiskLevel: tt.level},
			})
			if d.Effect != tt.want {
				t.Errorf("effect %s, want %s (%s)", d.Effect, tt.want, d.Reason)
			}
			if got := d.Facts["missing"]; got != tt.missing {
				t.Errorf("missing fact %q, want %q", got, tt.missing)
			}
			if tt.want == tierzero.EffectDeny && tt.missing == "" && tt.file == denyRule && d.Rule != "r" {
				t.Errorf("denied by %q, want the risk rule", d.Rule)
			}
		})
	}
}

func TestUserRiskUnknownInvalid(t *testing.T) {
	for name, when := range map[string]string{
		"unknown value":         "{user_risk_max: low, user_risk_unknown: maybe}",
		"without user_risk_max": "{user_risk_unknown: allow}",
		"empty":                 "{user_risk_max: low, user_risk_unknown: ''}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte("scope: {global: true}\nrules:\n  - {id: r, action: user.get, effect: allow, when: "+when+"}\n"))
			if err == nil || !strings.Contains(err.Error(), "user_risk_unknown") {
				t.Errorf("err = %v, want one about user_risk_unknown", err)
			}
		})
	}
	if _, err := NewSet(File{Name: "f", Scope: Scope{Global: true}, Rules: []Rule{{ID: "r", Action: "user.get", Effect: tierzero.EffectAllow,
		When: Conditions{UserRiskMax: "low", UserRiskUnknown: "perhaps"}}}}); err == nil {
		t.Error("NewSet accepted user_risk_unknown: perhaps")
	}
}
