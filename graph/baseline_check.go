package graph

// This file: a baseline plan is checked when it is proposed, before an
// approver reads it (issue 22). A baseline.apply call is the model's copy
// of baseline.plan's answer, and the approval card shows each step's
// label as the model wrote it: a fooled model could relabel a step, or
// make an enable step's sign-in impact smaller than it is. baseline.apply
// refuses such a plan when it runs (baselineApplyRecord), but the approver
// would still have been shown false words and asked to decide; the Guard
// calls CheckPlan first (policy.GuardConfig.Plans), and a plan that is not
// the planner's is refused before anyone is asked.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// CheckPlan checks a proposed baseline plan call (tierzero.ActionBaselineApply):
// nil when it is the plan baseline.plan gives for tenant now. It reads the
// tenant and plans it again, as baseline.apply does when it runs: every
// step must be the planner's (action, canonical arguments, stop, label;
// planDiffers), and an enable step's label must be the planner's label
// followed by exactly the sign-in impact graph writes now, read again from
// the sign-in logs over the period the proposed labels name. The impact
// moves with new sign-ins: one that differs from the proposal's is
// refused, and the proposer plans again.
//
// A plan that is not the planner's is an EConflict error saying how (an
// EInvalid one when the call is no baseline plan); any other error is a
// failure to read the tenant, which policy takes as a refusal too.
// Nothing is written.
func (c *Client) CheckPlan(ctx context.Context, tenant tierzero.TenantID, call tierzero.ToolCall) error {
	if call.Action != tierzero.ActionBaselineApply {
		return tierzero.Errorf(tierzero.EInvalid, "%s is not a baseline plan", call.Action)
	}
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return err
	}
	p, err := tierzero.DecodePlanArgs(call.Args)
	if err != nil {
		return err
	}
	if p.Phase == "" {
		return tierzero.Errorf(tierzero.EInvalid, "a baseline plan names its phase")
	}
	// The reads are baseline.apply's: a GDAP relationship that does not
	// allow it reads nothing here either.
	if err := c.cfg.GDAP.Allow(ctx, tenant, tierzero.ToolSpec{Action: tierzero.ActionBaselineApply}); err != nil {
		return err
	}
	now, err := c.baselinePlanNow(ctx, tenant)
	if err != nil {
		return err
	}
	if why := planDiffers(p, now.Plan); why != "" {
		return tierzero.Errorf(tierzero.EConflict, "%s", why)
	}
	if now.Plan.Phase != tierzero.BaselineEnable {
		return nil
	}
	days, err := proposedImpactDays(p, now.Plan)
	if err != nil {
		return err
	}
	if err := c.BaselineImpact(ctx, tenant, &now, days); err != nil {
		return err
	}
	var why []string
	for i, n := range now.Plan.Steps {
		// The label graph writes now, or one it wrote for this tenant's
		// plan a little earlier: sign-ins that came in between the read
		// and the proposal move the figures, and on a busy tenant an
		// exact match would refuse every plan.
		if p.Steps[i].Label != n.Label && !c.impacts.recent(tenant, p.Steps[i].Label, c.cfg.Now()) {
			why = append(why, fmt.Sprintf("step %d's sign-in impact is not the one the sign-in logs give now (%q)", i+1, n.Label))
		}
	}
	if len(why) > 3 {
		why = append(why[:3], fmt.Sprintf("%d more differences", len(why)-3))
	}
	if len(why) > 0 {
		return tierzero.Errorf(tierzero.EConflict, "%s", strings.Join(why, "; "))
	}
	return nil
}

// proposedPeriod finds, in a sign-in impact as fillImpact writes it, the
// last days it was read over, when the words name them (a policy
// report-only for less time than that names only how long it has been).
var proposedPeriod = regexp.MustCompile(`\bin the last (?:day|(\d+) days)\b`)

// proposedImpactDays returns the days the sign-in impacts of a proposed
// enable plan's labels were read over (baseline.plan's impact_days): the
// one period they name (baseline.plan reads every policy's impact over the
// same days). When none names one, every policy has been report-only for
// less time than the days read (or the impact is unknown), and any days
// at least that long give the same words: the most baseline.plan reads.
// got passed planDiffers against now, so each enable step's label is
// now's label followed by an impact.
func proposedImpactDays(got, now tierzero.PlanArgs) (int, error) {
	days := 0
	for i, n := range now.Steps {
		if n.Action != ActionBaselineEnableCAPolicy {
			continue
		}
		rest, _ := strings.CutPrefix(got.Steps[i].Label, n.Label+impactSep)
		m := proposedPeriod.FindStringSubmatch(rest)
		if m == nil {
			continue
		}
		d := 1
		if m[1] != "" {
			var err error
			if d, err = strconv.Atoi(m[1]); err != nil || d < 1 || d > baselineMaxImpactDays {
				return 0, tierzero.Errorf(tierzero.EConflict, "step %d's sign-in impact is of a period %s does not read (1 to %d days)", i+1, tierzero.ActionBaselinePlan, baselineMaxImpactDays)
			}
		}
		if days != 0 && d != days {
			return 0, tierzero.Errorf(tierzero.EConflict, "the sign-in impacts of its steps are of different periods, and %s reads every policy's over the same days", tierzero.ActionBaselinePlan)
		}
		days = d
	}
	if days == 0 {
		days = baselineMaxImpactDays
	}
	return days, nil
}

// impactMemoTTL is how long a sign-in impact graph wrote into a plan's
// label stays acceptable in a proposal of that plan.
const impactMemoTTL = 15 * time.Minute

// impactMemoMax bounds the labels remembered (a flood of plan reads cannot
// grow it without bound; the oldest go first).
const impactMemoMax = 4096

// impactMemo remembers the enable-step labels, with their sign-in impact,
// that graph itself wrote (fillImpact), per tenant, for impactMemoTTL: a
// label it wrote is genuine, whatever sign-ins came since. It lives in
// the process: after a restart only the impact of now is accepted.
type impactMemo struct {
	mu    sync.Mutex
	label map[impactKey]time.Time
}

type impactKey struct {
	tenant tierzero.TenantID
	label  string
}

// wrote records that graph wrote label into a plan of tenant at now.
func (m *impactMemo) wrote(tenant tierzero.TenantID, label string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.label == nil {
		m.label = map[impactKey]time.Time{}
	}
	for k, at := range m.label {
		if now.Sub(at) > impactMemoTTL {
			delete(m.label, k)
		}
	}
	for len(m.label) >= impactMemoMax {
		var oldest impactKey
		first := true
		for k, at := range m.label {
			if first || at.Before(m.label[oldest]) {
				oldest, first = k, false
			}
		}
		delete(m.label, oldest)
	}
	m.label[impactKey{tenant, label}] = now
}

// recent reports whether graph wrote label into a plan of tenant within
// impactMemoTTL of now.
func (m *impactMemo) recent(tenant tierzero.TenantID, label string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.label[impactKey{tenant, label}]
	return ok && now.Sub(at) <= impactMemoTTL
}
