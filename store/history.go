package store

import (
	"context"
	"time"

	"github.com/tierzero/tierzero"
)

// CountToday counts the actions of one requester that ran (an "executed"
// audit record with outcome ok) since the start of now's day, UTC: the
// history behind max_per_day policy rules. A tenant with no data has none.
func (db *DB) CountToday(ctx context.Context, tenant tierzero.TenantID, requesterUPN, action string, now time.Time) (int, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	n := 0
	err := db.Audit(ctx, tenant, day, func(ev tierzero.AuditEvent) error {
		if ev.Kind == tierzero.AuditExecuted && ev.Outcome == "ok" && ev.Tool == action && ev.Requester == requesterUPN {
			n++
		}
		return nil
	})
	if tierzero.ErrorCode(err) == tierzero.ENotFound {
		return 0, nil
	}
	return n, err
}
