package graph

import (
	"testing"

	"github.com/tierzero/tierzero"
)

// The days a proposed enable plan's impacts were read over come from the
// words graph writes: the one period they name; when none names one (each
// policy report-only for less time than the days read, or the impact
// unknown), the most baseline.plan reads, which gives the same words.
// Periods mixed, or one baseline.plan does not read, are refused.
func TestProposedImpactDays(t *testing.T) {
	step := func(label string) tierzero.PlanStepArg {
		return tierzero.PlanStepArg{Action: ActionBaselineEnableCAPolicy, Args: `{"id":"p","name":"P"}`, Label: label}
	}
	const (
		counts = ": it applied to 3 sign-ins by 2 users, of which 1 would have passed, 1 would have been asked for MFA and 1 would have been blocked or refused (affected: a@contoso.com, b@contoso.com)"
		seven  = "sign-in impact in the last 7 days" + counts
		one    = "sign-in impact: no sign-in in the last day came under it"
		young  = "sign-in impact, report-only for 3 hours" + counts
		capped = "sign-in impact in the last 7 days, report-only for 12 days" + counts
	)
	cases := []struct {
		name    string
		impacts []string
		days    int
		refused bool
	}{
		{"seven days", []string{seven, young}, 7, false},
		{"one day", []string{one}, 1, false},
		{"capped", []string{young, capped}, 7, false},
		{"none named", []string{young, young}, baselineMaxImpactDays, false},
		{"unknown", []string{impactUnknown}, baselineMaxImpactDays, false},
		{"mixed", []string{seven, one}, 0, true},
		{"too long", []string{"sign-in impact in the last 31 days" + counts}, 0, true},
	}
	for _, c := range cases {
		var got, now tierzero.PlanArgs
		now.Steps = append(now.Steps, tierzero.PlanStepArg{Action: ActionBaselineSetSecurityDefaults, Args: `{"enabled":false}`, Label: "turn security defaults off"})
		got.Steps = append(got.Steps, now.Steps[0])
		for _, im := range c.impacts {
			now.Steps = append(now.Steps, step(`switch on "P"`))
			got.Steps = append(got.Steps, step(`switch on "P"`+impactSep+im))
		}
		days, err := proposedImpactDays(got, now)
		switch {
		case c.refused && tierzero.ErrorCode(err) != tierzero.EConflict:
			t.Errorf("%s: %d, %v; want refused", c.name, days, err)
		case !c.refused && (err != nil || days != c.days):
			t.Errorf("%s: %d, %v; want %d", c.name, days, err, c.days)
		}
	}
}
