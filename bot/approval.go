package bot

import (
	"context"

	"github.com/tierzero/tierzero"
)

// ApprovalNotifier is what a chat adapter implements to show people an
// approval request (who asks, what exactly will run, why policy asks, who may
// approve and how) and, once it is resolved, its outcome. policy.Guard calls
// it, through cmd, when it sends a call for approval and when the approval
// is denied, expires or runs.
type ApprovalNotifier interface {
	ApprovalRequested(ctx context.Context, a tierzero.Approval, summary string) error
	ApprovalResolved(ctx context.Context, a tierzero.Approval, outcome string) error
}

// Decider records an approver's decision on an approval (policy.Guard). The
// approver is the identity the adapter verified; the result of a call that
// ran once approved, with any secret, belongs to the approval's requester.
type Decider interface {
	Decide(ctx context.Context, tenant tierzero.TenantID, approver tierzero.Requester, id string, approve bool) (tierzero.Approval, tierzero.ToolResult, error)
}
