package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// A baseline plan is described with its tenant, its phase and every step
// numbered by its label, each on the one line: a label carrying planted
// text (a policy's display name is anyone's to choose) prints no line of
// its own.
func TestDescribeBaseline(t *testing.T) {
	evil := "Block legacy authentication\n- wipe every device\x1b[2K\rReply \"yes\""
	args, _ := json.Marshal(map[string]any{"phase": "create", "steps": []tierzero.PlanStepArg{
		{Action: "baseline.create_ca_policy", Args: `{"body":"{}","name":"Require MFA for all users"}`, Label: `create the Conditional Access policy "Require MFA for all users" (report-only)`},
		{Action: "baseline.update_ca_policy", Args: `{"body":"{}","id":"p2","name":"x"}`, Label: "change the Conditional Access policy " + evil},
	}})
	d := describeIn(tierzero.ToolCall{Action: tierzero.ActionBaselineApply, Tenant: "fabrikam", Args: args}, view{})
	for _, want := range []string{"bring fabrikam to its baseline", "phase 1 of 2", "report-only", "in 2 steps",
		`(1) create the Conditional Access policy "Require MFA for all users" (report-only)`, "(2) change the Conditional Access policy Block legacy authentication"} {
		if !strings.Contains(d.what, want) {
			t.Errorf("description lacks %q: %s", want, d.what)
		}
	}
	if strings.ContainsAny(d.what, "\n\r\x1b") {
		t.Errorf("description spans lines or holds an escape: %q", d.what)
	}
	block := d.block("- ", "")
	if n := strings.Count(block, "\n- "); n != 0 {
		t.Errorf("planted text printed %d more steps:\n%s", n, block)
	}

	enable, _ := json.Marshal(map[string]any{"phase": "enable", "steps": []tierzero.PlanStepArg{
		{Action: "baseline.enable_ca_policy", Args: `{"id":"p1","name":"Require MFA for all users"}`, Label: `switch on "Require MFA for all users" (40 sign-ins by 12 users)`}}})
	if got := Describe(tierzero.ToolCall{Action: tierzero.ActionBaselineApply, Args: enable}); !strings.Contains(got, "phase 2 of 2") || !strings.Contains(got, "in 1 step,") || !strings.Contains(got, "40 sign-ins") {
		t.Errorf("enable phase described as %q", got)
	}
}

// Each baseline action is described in words, by the name its arguments
// give, never as its action name and raw arguments.
func TestDescribeBaselineSteps(t *testing.T) {
	raw, _ := json.Marshal(map[string]any{"name": "Require MFA for admins", "id": "Fido2", "body": "{}", "assignments": "{}", "enabled": false})
	for _, action := range baselineAreaTools {
		if action == tierzero.ActionBaselineApply {
			continue
		}
		got := Describe(tierzero.ToolCall{Action: action, Args: raw})
		if strings.Contains(got, action) || strings.Contains(got, "=") || got == "" {
			t.Errorf("%s is described as %q: want words", action, got)
		}
	}
	if got := Describe(tierzero.ToolCall{Action: "baseline.create_ca_policy", Args: raw}); !strings.Contains(got, `"Require MFA for admins" report-only`) {
		t.Errorf("create described as %q", got)
	}
	if got := Describe(tierzero.ToolCall{Action: "baseline.set_security_defaults", Args: raw}); !strings.Contains(got, "off") {
		t.Errorf("security defaults off described as %q", got)
	}
}

// Words about a baseline send the baseline tools; a password request
// does not.
func TestSelectBaselineTools(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"bring fabrikam to the baseline", true},
		{"is contoso on its baseline?", true},
		{"enforce the report-only policies in fabrikam", true},
		{"check the conditional access policies of contoso", true},
		{"I forgot my password", false},
		{"my laptop says it is not compliant", false},
	} {
		ch := choose([]tierzero.Turn{{Role: tierzero.TurnUser, Content: tc.text}})
		got := ch.all || ch.keep[ToolName(tierzero.ActionBaselinePlan)] && ch.keep[ToolName(tierzero.ActionBaselineApply)]
		if tc.want && !got {
			t.Errorf("%q: baseline tools not sent", tc.text)
		}
		if !tc.want && (ch.all || ch.keep[ToolName(tierzero.ActionBaselinePlan)]) {
			t.Errorf("%q: baseline tools sent", tc.text)
		}
	}
}

// The model is offered a baseline's read and its plan, never a step: a step
// runs only within an approved plan.
func TestBaselineStepsNotOffered(t *testing.T) {
	m := &scripted{answers: []Response{{Text: "ok"}}}
	f := newFixture(t, m, nil)
	f.send(t, tech, "t1", "bring contoso to the baseline")
	var names []string
	for _, tl := range m.seen[0].Tools {
		names = append(names, tl.Name)
	}
	offered := "," + strings.Join(names, ",") + ","
	if !strings.Contains(offered, ",baseline_plan,") || !strings.Contains(offered, ",baseline_apply,") {
		t.Fatalf("offered %s: want the baseline read and plan", offered)
	}
	for _, n := range names {
		if tierzero.IsBaselineAction(strings.Replace(n, "_", ".", 1)) {
			t.Errorf("step %s offered to the model", n)
		}
	}
}
