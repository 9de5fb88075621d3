package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/tierzero/tierzero"
)

// OpenIntents lists a tenant's intents that have no outcome (store.DB).
// Reconcile needs it of GuardConfig.Intents.
type OpenIntents interface {
	OpenIntents(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Intent, error)
}

// Reader reads back whether a write call took effect at or after since,
// without sending it (graph.Client). known is false when it cannot tell.
// Reconcile needs it of GuardConfig.Executor.
type Reader interface {
	Applied(ctx context.Context, tenant tierzero.TenantID, call tierzero.ToolCall, since time.Time) (applied, known bool, err error)
}

// Reconcile settles a tenant's intents that have no outcome: writes that
// were recorded before being sent to the executor and whose outcome was
// never written (the process died). Each is read back through the executor
// (Reader): applied means done, not applied means failed; when the executor
// cannot tell, or the read fails, it needs review by the tenant's admins.
// Each outcome is recorded (FinishIntent) and audited (kind reconciled).
// Nothing is re-executed. It returns the intents that need review.
//
// Without GuardConfig.Intents nothing was recorded and there is nothing to
// do. Intents that cannot list what is open, or an executor that cannot
// read back, is an error: a crash could not be reconciled.
func (g *Guard) Reconcile(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Intent, error) {
	if g.cfg.Intents == nil {
		return nil, nil
	}
	lister, ok := g.cfg.Intents.(OpenIntents)
	if !ok {
		return nil, fmt.Errorf("reconcile %s: the intents store cannot list open intents", tenant)
	}
	reader, ok := g.cfg.Executor.(Reader)
	if !ok {
		return nil, fmt.Errorf("reconcile %s: the executor cannot read back whether an action applied", tenant)
	}
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	open, err := lister.OpenIntents(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", tenant, err)
	}
	var review []tierzero.Intent
	for _, in := range open {
		call := tierzero.ToolCall{ID: in.ID, Action: in.Action, Args: in.Args}
		applied, known, err := reader.Applied(ctx, tenant, call, in.Started)
		outcome, detail := tierzero.IntentNeedsReview, "the outcome could not be read back; check it by hand"
		switch {
		case err != nil:
			detail = "reading the outcome back failed: " + tierzero.ErrorMessage(err)
		case known && applied:
			outcome, detail = tierzero.IntentDone, "the read-back shows it applied"
		case known:
			outcome, detail = tierzero.IntentFailed, "the read-back shows it did not apply; it was not sent again"
		}
		if err := g.cfg.Intents.FinishIntent(ctx, tenant, in.ID, outcome, detail); err != nil {
			return review, fmt.Errorf("reconcile %s: %w", tenant, err)
		}
		ev := tierzero.AuditEvent{Kind: tierzero.AuditReconciled, Conversation: in.Conversation, Requester: in.Requester,
			Tool: in.Action, CallID: in.ID, Args: in.Args, Outcome: string(outcome), Reason: detail}
		if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
			return review, fmt.Errorf("reconcile %s: %w", tenant, err)
		}
		g.log.Info("intent reconciled", "tenant", tenant, "tool", in.Action, "intent", in.ID, "outcome", outcome)
		if outcome == tierzero.IntentNeedsReview {
			in.Outcome, in.Detail = outcome, detail
			review = append(review, in)
		}
	}
	return review, nil
}
