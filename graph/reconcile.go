package graph

import (
	"context"
	"errors"
	"time"

	"github.com/tierzero/tierzero"
)

// Applied reads back through Graph whether a write call took effect at or
// after since, for reconciling an action whose outcome was never recorded
// (the process died between sending it and writing its outcome). known is
// false when the tool cannot tell (a read, or a write with no read-back):
// such an action needs a person to review it. It never sends the write.
func (c *Client) Applied(ctx context.Context, tenant tierzero.TenantID, call tierzero.ToolCall, since time.Time) (applied, known bool, err error) {
	t, ok := c.byAction[call.Action]
	if !ok || !t.spec.Write || t.applied == nil {
		return false, false, nil
	}
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return false, false, err
	}
	applied, err = c.readBack(ctx, t, tenant, call.Args, since.Add(-clockSkew))
	if errors.Is(err, errUndecided) {
		return false, false, nil // a person must look
	}
	if err != nil {
		return false, false, err
	}
	return applied, true, nil
}
