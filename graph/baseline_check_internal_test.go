package graph

import (
	"fmt"
	"testing"
	"time"

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

// impactMemo: a label written is recent for its tenant alone, until the
// TTL passes; the memo stays bounded.
func TestImpactMemo(t *testing.T) {
	var m impactMemo
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	m.wrote("contoso", "switch on X; sign-in impact ...", t0)
	for _, tc := range []struct {
		name   string
		tenant tierzero.TenantID
		label  string
		at     time.Time
		want   bool
	}{
		{"same tenant, soon", "contoso", "switch on X; sign-in impact ...", t0.Add(time.Minute), true},
		{"at the TTL", "contoso", "switch on X; sign-in impact ...", t0.Add(impactMemoTTL), true},
		{"after the TTL", "contoso", "switch on X; sign-in impact ...", t0.Add(impactMemoTTL + time.Second), false},
		{"another tenant", "fabrikam", "switch on X; sign-in impact ...", t0.Add(time.Minute), false},
		{"another label", "contoso", "switch on X; sign-in impact 0", t0.Add(time.Minute), false},
	} {
		if got := m.recent(tc.tenant, tc.label, tc.at); got != tc.want {
			t.Errorf("%s: recent = %v, want %v", tc.name, got, tc.want)
		}
	}
	for i := range impactMemoMax + 10 {
		m.wrote("contoso", fmt.Sprint("label ", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(m.label); n > impactMemoMax {
		t.Errorf("%d labels remembered, more than %d", n, impactMemoMax)
	}
	if !m.recent("contoso", fmt.Sprint("label ", impactMemoMax+9), t0.Add(time.Minute)) {
		t.Error("the newest label was dropped")
	}
}
