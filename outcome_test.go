package tierzero

import (
	"encoding/json"
	"testing"
)

func TestDecisionRule(t *testing.T) {
	tests := []struct {
		name string
		d    Decision
		want string
	}{
		{"layer and rule", Decision{Effect: EffectDeny, Layer: "global", Rule: "never-change-admins"}, "global/never-change-admins"},
		{"rule only", Decision{Effect: EffectDeny, Rule: "self-issue-tap"}, "self-issue-tap"},
		{"no rule allows it", Decision{Effect: EffectDeny, Reason: "no policy allows user.enable here"}, RulePolicyUnnamed},
		{"layer without a rule", Decision{Effect: EffectDeny, Layer: "tenant"}, RulePolicyUnnamed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecisionRule(tt.d); got != tt.want {
				t.Errorf("DecisionRule(%+v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestReplyOutcomeJSON(t *testing.T) {
	r := Reply{Text: "hi", Private: []PrivateNote{{Secret: NewSecret("temporary_password", "pw", "s3cret")}},
		Outcome: Outcome{Kind: OutcomeEscalated, Cause: CauseTimeLimit, Reason: "slow"}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"text":"hi","outcome":{"kind":"escalated","cause":"time_limit","reason":"slow"}}`; got != want {
		t.Fatalf("JSON = %s, want %s", got, want)
	}
}
