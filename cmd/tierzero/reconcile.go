package main

import (
	"context"
	"fmt"

	"github.com/tierzero/tierzero"
)

// reconcile settles a tenant's intents that have no outcome: actions that
// were recorded before being sent to Graph and whose outcome was never
// written (the process died). Each is read back through Graph: applied means
// done, not applied means failed; when the tool cannot tell, or the read
// fails, it needs review by the tenant's admins. Nothing is re-executed.
// It returns the intents that need review.
func (rt *runtime) reconcile(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.Intent, error) {
	open, err := rt.db.OpenIntents(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", tenant, err)
	}
	var review []tierzero.Intent
	for _, in := range open {
		call := tierzero.ToolCall{ID: in.ID, Action: in.Action, Args: in.Args}
		applied, known, err := rt.graph.Applied(ctx, tenant, call, in.Started)
		outcome, detail := tierzero.IntentNeedsReview, "the outcome could not be read back; check it by hand"
		switch {
		case err != nil:
			detail = "reading the outcome back failed: " + tierzero.ErrorMessage(err)
		case known && applied:
			outcome, detail = tierzero.IntentDone, "the read-back shows it applied"
		case known:
			outcome, detail = tierzero.IntentFailed, "the read-back shows it did not apply; it was not sent again"
		}
		if err := rt.db.FinishIntent(ctx, tenant, in.ID, outcome, detail); err != nil {
			return review, fmt.Errorf("reconcile %s: %w", tenant, err)
		}
		ev := tierzero.AuditEvent{Kind: tierzero.AuditReconciled, Conversation: in.Conversation, Requester: in.Requester,
			Tool: in.Action, CallID: in.ID, Args: in.Args, Outcome: string(outcome), Reason: detail}
		if err := rt.db.Append(ctx, tenant, ev); err != nil {
			return review, fmt.Errorf("reconcile %s: %w", tenant, err)
		}
		if outcome == tierzero.IntentNeedsReview {
			in.Outcome, in.Detail = outcome, detail
			review = append(review, in)
		}
	}
	return review, nil
}

// reconcile settles the unfinished actions of every tenant a session of req
// touches (a technician's: the client tenants they act in) before it
// starts, and tells the operator about any that need review.
func (a *app) reconcile(ctx context.Context, rt *runtime, req tierzero.Requester) error {
	for _, tenant := range rt.reach(req) {
		review, err := rt.reconcile(ctx, tenant)
		if err != nil {
			return err
		}
		for _, in := range review {
			fmt.Fprintf(a.stderr, "tierzero: needs review in %s: %s %s for %s, started %s, outcome unknown (%s)\n",
				tenant, in.Action, in.Args, in.Requester, in.Started.Format("2006-01-02 15:04:05Z07:00"), in.Detail)
		}
	}
	return nil
}
