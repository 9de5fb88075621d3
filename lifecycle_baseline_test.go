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
