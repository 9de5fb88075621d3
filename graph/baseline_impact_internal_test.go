package graph

import (
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// Every impact impactWords writes is one impactLabel accepts after the
// planner's label, and nothing else is.
func TestImpactLabel(t *testing.T) {
	const plain = `switch on the Conditional Access policy "Require MFA for all users"`
	ims := []tierzero.BaselineImpact{
		{},
		{SignIns: 1, Users: 1, Success: 1},
		{SignIns: 83, Users: 12, Success: 75, Interrupted: 8, Affected: []string{"adele.vance@contoso.com", "o'brien@contoso.com"}},
		{SignIns: 40, Users: 11, Interrupted: 30, Failure: 10, Affected: []string{"a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com", "f@x.com", "g@x.com", "h@x.com", "i@x.com", "j@x.com"}},
	}
	var windows []impactWindow
	for _, days := range []int{1, 7, 30} {
		windows = append(windows, impactWindow{days: days})
		for _, ro := range []time.Duration{0, 59 * time.Minute, time.Hour, 23 * time.Hour, 30 * time.Hour, 50 * time.Hour, 90 * 24 * time.Hour} {
			windows = append(windows, impactWindow{days: days, known: true, reportOnly: ro, capped: ro > time.Duration(days)*24*time.Hour})
		}
	}
	for _, im := range ims {
		for _, win := range windows {
			for _, truncated := range []bool{false, true} {
				w := impactWords(im, win, truncated)
				if !impactLabel(plain+impactSep+w, plain) {
					t.Errorf("not accepted: %q", w)
				}
			}
		}
	}
	if !impactLabel(plain+impactSep+impactUnknown, plain) {
		t.Error("the unknown impact is not accepted")
	}
	w := impactWords(ims[2], impactWindow{days: 7, known: true, reportOnly: 3 * 24 * time.Hour}, false)
	for _, bad := range []string{
		plain + impactSep + strings.Replace(w, "report-only for 3 days", "report-only for ages", 1),
		plain + impactSep + strings.Replace(w, ": it applied", ": no impact, it applied", 1),
		plain,
		plain + impactSep,
		plain + impactSep + w + "; and it blocks everyone",
		plain + impactSep + w + " ",
		plain + " " + w,
		"switch off" + impactSep + w,
		plain + impactSep + strings.Replace(w, "adele.vance@contoso.com", "nobody (trust me)", 1),
		plain + impactSep + strings.Replace(w, "would have been asked for MFA", "would be fine", 1),
		plain + impactSep + impactUnknown + impactSep + w,
	} {
		if impactLabel(bad, plain) {
			t.Errorf("accepted: %q", bad)
		}
	}
}

// The words say the time the policy has been report-only; under a day, or
// with no sign-in under it, they say it is too early to tell and advise
// waiting, never that nothing would change.
func TestImpactWords(t *testing.T) {
	some := tierzero.BaselineImpact{SignIns: 5, Users: 4, Success: 3, Interrupted: 2, Affected: []string{"a@x.com", "b@x.com"}}
	counts := "it applied to 5 sign-ins by 4 users, of which 3 would have passed, 2 would have been asked for MFA and 0 would have been blocked or refused (affected: a@x.com, b@x.com)"
	for _, c := range []struct {
		im   tierzero.BaselineImpact
		w    impactWindow
		want string
	}{
		{some, impactWindow{days: 7, known: true, reportOnly: 3*time.Hour + 20*time.Minute},
			"sign-in impact in the last 7 days, report-only for 3 hours: too early to tell, " + counts + "; " + adviceEarly},
		{some, impactWindow{days: 7, known: true, reportOnly: 10 * time.Minute},
			"sign-in impact in the last 7 days, report-only for less than an hour: too early to tell, " + counts + "; " + adviceEarly},
		{tierzero.BaselineImpact{}, impactWindow{days: 7, known: true, reportOnly: 5 * time.Hour},
			"sign-in impact in the last 7 days, report-only for 5 hours: too early to tell, no sign-in came under it yet; " + adviceEarly},
		{some, impactWindow{days: 7, known: true, reportOnly: 24 * time.Hour},
			"sign-in impact in the last 7 days, report-only for 24 hours: " + counts},
		{some, impactWindow{days: 7, known: true, reportOnly: 3*24*time.Hour + time.Hour},
			"sign-in impact in the last 7 days, report-only for 3 days: " + counts},
		{tierzero.BaselineImpact{}, impactWindow{days: 7, known: true, reportOnly: 3 * 24 * time.Hour},
			"sign-in impact in the last 7 days, report-only for 3 days: too early to tell, no sign-in came under it yet; " + adviceNone},
		{some, impactWindow{days: 1, known: true, capped: true, reportOnly: 90 * 24 * time.Hour},
			"sign-in impact in the last day, report-only for 90 days: " + counts},
		{some, impactWindow{days: 7}, "sign-in impact in the last 7 days: " + counts},
		{tierzero.BaselineImpact{}, impactWindow{days: 7}, "sign-in impact in the last 7 days: too early to tell, no sign-in came under it yet; " + adviceNone},
	} {
		if got := impactWords(c.im, c.w, false); got != c.want {
			t.Errorf("%+v %+v:\n got %q\nwant %q", c.im, c.w, got, c.want)
		}
	}
}
