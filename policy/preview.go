package policy

import (
	"context"
	"fmt"

	"github.com/tierzero/tierzero"
)

// PreviewTool decides call for req in tenant exactly as RunTool would (the
// same facts, gathered the same way, the same evaluation, and the same
// result for a refusal) and stops there: nothing is executed, no permit is
// minted, no intent is recorded, no approval is requested and nobody is
// notified. The agent calls it for each call of a plan before showing the
// plan, so that a plan policy would refuse is never offered for a "yes".
//
// The result is what RunTool would return before anything runs: for a
// refusal (a deny, or an approval that cannot be requested here) the
// EDenied error and the decision as far as req may see it; otherwise no
// error and the decision (allow, or require_approval). It carries no output
// and no secret.
//
// A refusal is final for the call (it is not offered, so it never reaches
// RunTool) and is recorded as what it is: a "decided" record, as RunTool
// writes it, with the outcome "refused before it was offered"; if that
// record cannot be written the preview is an error. A preview that would
// allow the call, or send it for approval, records nothing: it grants
// nothing, and should the requester confirm, RunTool decides the call again
// on the facts of then and records that decision before anything runs. So
// every refusal is on record once, and every "decided" allow is the one a
// run followed.
//
// A Go error also means ctx ended while the facts were read: a decision made
// on facts cut short is not reported as policy's.
func (g *Guard) PreviewTool(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	d, args, other := g.decide(ctx, tenant, req, call)
	if err := ctx.Err(); err != nil {
		return tierzero.ToolResult{CallID: call.ID, Action: call.Action}, fmt.Errorf("preview %s: %w", call.Action, err)
	}
	res, refused := g.verdict(call, req, d, other)
	if refused {
		if err := g.auditDecision(ctx, tenant, req, conv, call, args, d, PreviewRefused); err != nil {
			return res, err
		}
	}
	return res, nil
}

// PreviewRefused is the outcome of the "decided" record of a call that
// PreviewTool refused.
const PreviewRefused = "refused before it was offered"
