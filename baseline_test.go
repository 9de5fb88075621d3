package tierzero

import (
	"strings"
	"testing"
)

func TestBaselineReportWarnsOfTheGap(t *testing.T) {
	step := func(action, args string, st PlanStepState) PlanStep {
		return PlanStep{Call: ToolCall{Action: action, Args: []byte(args)}, Label: action, State: st}
	}
	off := step("baseline.set_security_defaults", `{"enabled":false}`, StepDone)
	for _, tc := range []struct {
		name  string
		steps []PlanStep
		warn  bool
	}{
		{"all done", []PlanStep{off, step("baseline.enable_ca_policy", `{"id":"1","name":"a"}`, StepDone)}, false},
		{"an enable failed after the defaults went off", []PlanStep{off, step("baseline.enable_ca_policy", `{"id":"1","name":"a"}`, StepFailed)}, true},
		{"the defaults stayed on", []PlanStep{step("baseline.set_security_defaults", `{"enabled":false}`, StepFailed), step("baseline.enable_ca_policy", `{"id":"1","name":"a"}`, StepSkipped)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Plan{Tenant: "fabrikam", Action: ActionBaselineApply, Steps: tc.steps}
			r := p.Report()
			if got := strings.Contains(r, "WARNING: security defaults are now off"); got != tc.warn {
				t.Errorf("warning %v, want %v:\n%s", got, tc.warn, r)
			}
			if !strings.HasPrefix(r, "Baseline of fabrikam: ") {
				t.Errorf("report %q", r)
			}
		})
	}
}

// TestSplitDrift: what awaits the enable phase is told apart by the
// plan's security defaults item (resource security_defaults, kind update,
// enabled true → false), whatever its why or spacing; anything else that
// is not leave is drift.
func TestSplitDrift(t *testing.T) {
	enable := BaselineItem{Kind: "enable", Resource: "conditional_access", Name: "Require MFA for all users", Changes: []string{"state: enabledForReportingButNotEnforced → enabled"}}
	sd := func(kind string, changes ...string) BaselineItem {
		return BaselineItem{Kind: kind, Resource: "security_defaults", Name: "security defaults", Changes: changes}
	}
	leave := BaselineItem{Kind: "leave", Resource: "conditional_access", Name: "Block legacy authentication"}
	comp := BaselineItem{Kind: "update", Resource: "compliance", Name: "Windows 11 compliance", Changes: []string{"enabled: true → false"}}
	tests := []struct {
		name         string
		items        []BaselineItem
		drift, waits int
	}{
		{"onboarding", []BaselineItem{leave, sd("update", "enabled: true → false"), enable}, 0, 2},
		{"spacing", []BaselineItem{sd("update", "enabled:true→false"), enable}, 0, 2},
		{"security defaults off", []BaselineItem{leave, enable}, 1, 0},
		{"security defaults to turn on", []BaselineItem{sd("update", "enabled: false → true"), enable}, 2, 0},
		{"a conflict", []BaselineItem{sd("conflict", "enabled: true → false"), enable}, 2, 0},
		{"another resource's change", []BaselineItem{comp, enable}, 2, 0},
		{"in line", []BaselineItem{leave}, 0, 0},
	}
	for _, tt := range tests {
		drift, waits := SplitDrift(tt.items)
		if len(drift) != tt.drift || len(waits) != tt.waits {
			t.Errorf("%s: %d drift, %d awaiting; want %d, %d", tt.name, len(drift), len(waits), tt.drift, tt.waits)
		}
		for _, it := range drift {
			if it.Kind == "enable" && !strings.HasSuffix(it.Why, EnableIsDrift) {
				t.Errorf("%s: an enable item of drift does not say why: %q", tt.name, it.Why)
			}
		}
	}
}
