package graph

import (
	"strings"
	"testing"

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
	for _, im := range ims {
		for _, days := range []int{1, 7, 30} {
			for _, truncated := range []bool{false, true} {
				w := impactWords(im, days, truncated)
				if !impactLabel(plain+impactSep+w, plain) {
					t.Errorf("not accepted: %q", w)
				}
			}
		}
	}
	if !impactLabel(plain+impactSep+impactUnknown, plain) {
		t.Error("the unknown impact is not accepted")
	}
	w := impactWords(ims[2], 7, false)
	for _, bad := range []string{
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
