package main

import (
	"context"

	"github.com/tierzero/tierzero"
)

// baselinePlan reads tenant through Graph (GETs only) and plans it against
// the tenant's baseline: what the baseline commands print and what serve's
// drift watch compares. It runs no tool through the Guard: it only reads.
//
// A stub until graph's Client.BaselineDoc and baseline's Set.PlanBaseline
// land (issue 22): it answers EUnavailable.
func (rt *runtime) baselinePlan(ctx context.Context, tenant tierzero.TenantID) (tierzero.BaselinePlan, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.BaselinePlan{}, err
	}
	return tierzero.BaselinePlan{}, tierzero.Errorf(tierzero.EUnavailable, "baseline plans are not wired yet")
}
