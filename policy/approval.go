package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// Approvals keeps the calls that policy sent for approval (store.DB). Its
// transitions are one-shot: DecideApproval records a decision only on a
// pending approval, once per approver; ClaimApproval moves an approved one
// to executed exactly once.
type Approvals interface {
	CreateApproval(ctx context.Context, tenant tierzero.TenantID, a tierzero.Approval) (tierzero.Approval, error)
	Approval(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Approval, error)
	DecideApproval(ctx context.Context, tenant tierzero.TenantID, id, approverUPN string, approve bool, now time.Time) (tierzero.Approval, error)
	ClaimApproval(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (tierzero.Approval, error)
}

// Notifier shows approval requests and their outcomes to people (the
// desk, package bot, through each channel). ApprovalRequested returns whom
// the request was shown to, for the audit.
type Notifier interface {
	ApprovalRequested(ctx context.Context, a tierzero.Approval, summary string) (shownTo []string, err error)
	ApprovalResolved(ctx context.Context, a tierzero.Approval, outcome string) error
}

// requestApproval records call, decided require_approval, as a pending
// approval bound to tenant, action, canonical arguments and requester,
// audits it and tells the approvers. The result is not done: its error is
// EPending, its output names the approval.
func (g *Guard) requestApproval(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall, args []byte, d tierzero.Decision) (tierzero.ToolResult, error) {
	res := tierzero.ToolResult{CallID: call.ID, Action: call.Action, Decision: &d}
	call.Args = args
	hash, err := tierzero.ArgsHash(args)
	if err != nil {
		res.Error = tierzero.Errorf(tierzero.EInvalid, "invalid arguments")
		return res, nil
	}
	count, expires := d.Count, d.Expires
	if count < 1 {
		count = DefaultCount
	}
	if expires <= 0 {
		expires = DefaultExpires
	}
	a := tierzero.Approval{
		Tenant: tenant, Action: call.Action, Args: args, ArgsHash: hash, CallID: call.ID,
		Requester: req, Conversation: conv, Summary: g.describe(call),
		Rule: d.Rule, Layer: d.Layer, Reason: d.Reason,
		Approvers: slices.Clone(d.Approvers), Count: count, Expires: g.cfg.Now().Add(expires),
	}
	if slices.Contains(a.Approvers, "manager") {
		if m := g.managerOf(ctx, tenant, call); m != "" {
			a.Suggested = []string{m}
		}
	}
	a, err = g.cfg.Approvals.CreateApproval(ctx, tenant, a)
	if err != nil {
		g.log.Error("record approval", "tenant", tenant, "tool", call.Action, "err", err)
		res.Error = tierzero.Errorf(tierzero.EUnavailable, "%s needs approval, but the request for approval could not be recorded; nothing was changed", call.Action)
		return res, nil
	}
	ev := tierzero.AuditEvent{
		Kind: tierzero.AuditApprovalRequested, Conversation: conv, Requester: req.UPN, Channel: req.Channel,
		Tool: call.Action, CallID: call.ID, Args: args, Effect: d.Effect, Layer: d.Layer, Rule: d.Rule, Reason: d.Reason,
		Outcome: string(a.State), Facts: map[string]string{
			"approval": a.ID, "approvers": strings.Join(a.Approvers, ","), "count": strconv.Itoa(a.Count),
			"expires": a.Expires.UTC().Format(time.RFC3339), "suggested": strings.Join(a.Suggested, ","),
		},
	}
	if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
		return res, fmt.Errorf("audit approval request: %w", err)
	}
	g.show(ctx, tenant, a, a.Summary, tierzero.AuditApprovalShown)
	res.Output, _ = json.Marshal(map[string]any{
		"status": tierzero.EPending, "approval": a.ID, "approvers": a.Approvers,
		"approver_text": a.ApproverText(), "expires": a.Expires.UTC().Format(time.RFC3339),
	})
	res.Error = tierzero.Errorf(tierzero.EPending, "sent for approval to %s; nothing changes until it is approved", a.ApproverText())
	return res, nil
}

func (g *Guard) describe(call tierzero.ToolCall) string {
	if g.cfg.Describe != nil {
		return g.cfg.Describe(call)
	}
	return call.Action + " " + string(call.Args)
}

// managerOf returns the UPN of the manager of the user call acts on (for a
// device action, the device's owner), read from the directory; "" when
// there is none or it cannot be read.
func (g *Guard) managerOf(ctx context.Context, tenant tierzero.TenantID, call tierzero.ToolCall) string {
	ref, err := g.cfg.TargetOf(call)
	if err != nil {
		return ""
	}
	if ref == "" && g.cfg.SubjectOf != nil && g.cfg.Devices != nil {
		if sub, err := g.cfg.SubjectOf(call); err == nil && sub.Device != "" {
			if d, err := g.cfg.Devices.DeviceFacts(ctx, tenant, sub.Device); err == nil && d.Owner != nil {
				ref = *d.Owner
			}
		}
	}
	if ref == "" {
		return ""
	}
	f, err := g.cfg.Directory.UserFacts(ctx, tenant, ref)
	if err != nil || f.Manager == nil {
		g.log.Info("target facts for approval", "tenant", tenant, "err", err)
		return ""
	}
	return *f.Manager
}

// Decide records approver's decision on the approval id of tenant. The
// approver is the identity of the verified channel they decide on; the
// checks are made here, at decision time: the approver belongs to tenant and
// to its directory, is not the requester, and is one the policy names (the
// target's manager per the directory, a member of the named group, a tenant
// admin or MSP technician by role); the approval is pending and not
// expired, and its arguments match their hash. An approver of another
// tenant counts only as an MSP technician admitted to tenant by policy, for
// an approval that names role:msp_technician (see eligible). A refused
// decision changes nothing, is audited, and is returned as a domain error.
//
// When the decision approves it, the approval is claimed (once: a replayed
// or concurrent decision claims nothing) and exactly its stored call runs for
// the original requester, through the same permit, intent and audit path as
// an allowed call. The result, with any secret for the original requester
// only, is returned with the approval as it now is.
func (g *Guard) Decide(ctx context.Context, tenant tierzero.TenantID, approver tierzero.Requester, id string, approve bool) (tierzero.Approval, tierzero.ToolResult, error) {
	verb := "deny"
	if approve {
		verb = "approve"
	}
	ev := tierzero.AuditEvent{
		Kind: tierzero.AuditApprovalDecided, Requester: approver.UPN, Channel: approver.Channel,
		Facts: map[string]string{"approval": id, "decision": verb, "approver": approver.UPN},
	}
	refuse := func(a tierzero.Approval, e *tierzero.Error) (tierzero.Approval, tierzero.ToolResult, error) {
		ev.Outcome, ev.Error = "refused", e.Message
		if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
			return a, tierzero.ToolResult{}, fmt.Errorf("audit refused decision: %w", err)
		}
		g.log.Info("decision refused", "tenant", tenant, "approval", id, "approver", approver.UPN, "reason", e.Message)
		return a, tierzero.ToolResult{}, e
	}
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.Approval{}, tierzero.ToolResult{}, err
	}
	if g.cfg.Approvals == nil {
		return refuse(tierzero.Approval{}, tierzero.Errorf(tierzero.EConflict, "approvals are not enabled here"))
	}
	if approver.Tenant == "" || approver.UPN == "" {
		return refuse(tierzero.Approval{}, tierzero.Errorf(tierzero.EDenied, "the approver is not verified for tenant %s", tenant))
	}
	if approver.Tenant != tenant {
		// An MSP technician deciding from the MSP's own tenant: eligible
		// checks that policy admits them here.
		ev.Facts["approver_tenant"] = string(approver.Tenant)
	}
	a, err := g.cfg.Approvals.Approval(ctx, tenant, id)
	if err != nil {
		if c := tierzero.ErrorCode(err); c == tierzero.ENotFound || c == tierzero.EInvalid {
			return refuse(a, tierzero.Errorf(tierzero.ENotFound, "no approval %s in this tenant", id))
		}
		return a, tierzero.ToolResult{}, fmt.Errorf("load approval: %w", err)
	}
	ev.Tool, ev.CallID, ev.Conversation, ev.Rule = a.Action, a.CallID, a.Conversation, a.Rule
	if a.Tenant != tenant {
		return refuse(a, tierzero.Errorf(tierzero.EDenied, "approval %s is not of this tenant", id))
	}
	if !bound(a) {
		return refuse(a, tierzero.Errorf(tierzero.EDenied, "approval %s does not match the call it was made for; nothing runs, and a new request is needed", id))
	}
	if sameUser(approver.UPN, approver.ObjectID, a.Requester) {
		return refuse(a, tierzero.Errorf(tierzero.EDenied, "nobody approves their own request"))
	}
	if e := g.eligible(ctx, tenant, approver, a); e != nil {
		return refuse(a, e)
	}
	if approver.Tenant != tenant {
		ev.Facts["admitted_by"], _ = g.cfg.Policies.Admits(tenant, approver)
	}
	after, err := g.cfg.Approvals.DecideApproval(ctx, tenant, id, approver.UPN, approve, g.cfg.Now())
	if err != nil {
		var e *tierzero.Error
		if !errors.As(err, &e) {
			return a, tierzero.ToolResult{}, fmt.Errorf("record decision: %w", err)
		}
		if a.State == tierzero.ApprovalPending && after.State == tierzero.ApprovalExpired {
			g.notify(ctx, after, "expired before it was approved; nothing was changed")
		}
		return refuse(after, e)
	}
	ev.Outcome = string(after.State)
	ev.Facts["state"], ev.Facts["approvals"] = string(after.State), strconv.Itoa(after.Approvals())
	if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
		// No record of the decision, no action: it stays approved, unclaimed.
		return after, tierzero.ToolResult{}, fmt.Errorf("audit decision: %w", err)
	}
	switch after.State {
	case tierzero.ApprovalDenied:
		g.notify(ctx, after, "denied by "+approver.UPN+"; nothing was changed")
		return after, tierzero.ToolResult{}, nil
	case tierzero.ApprovalApproved:
	default:
		return after, tierzero.ToolResult{}, nil
	}
	return g.runApproved(ctx, tenant, after)
}

// runApproved claims an approved approval and runs its stored call.
func (g *Guard) runApproved(ctx context.Context, tenant tierzero.TenantID, a tierzero.Approval) (tierzero.Approval, tierzero.ToolResult, error) {
	// Policy is decided again on today's facts: an approval does not
	// outweigh a deny that applies now (the target has since gained an admin
	// role, a guardrail was added). The approval stays approved, unrun.
	now, _, _ := g.decide(ctx, tenant, a.Requester, a.Call())
	if now.Effect == tierzero.EffectRequireApproval && (now.Rule != a.Rule || now.Count > a.Count) {
		// The approval asked for then is not the one policy asks for now.
		now = tierzero.Decision{Effect: tierzero.EffectDeny, Rule: now.Rule, Layer: now.Layer,
			Reason: "policy now asks for another approval (" + now.Reason + ")"}
	}
	if now.Effect == tierzero.EffectDeny {
		ev := tierzero.AuditEvent{
			Kind: tierzero.AuditApprovalExecuted, Conversation: a.Conversation, Requester: a.Requester.UPN,
			Channel: a.Requester.Channel, Tool: a.Action, CallID: a.CallID, Rule: now.Rule, Layer: now.Layer,
			Outcome: "refused", Reason: now.Reason, Error: "policy denies the call now",
			Facts: map[string]string{"approval": a.ID},
		}
		if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
			g.log.Error("audit approval execution", "tenant", tenant, "approval", a.ID, "err", err)
		}
		return a, tierzero.ToolResult{}, tierzero.Errorf(tierzero.EDenied, "approval %s was granted, but policy denies the call now (%s); nothing runs", a.ID, now.Reason)
	}
	claimed, err := g.cfg.Approvals.ClaimApproval(ctx, tenant, a.ID, g.cfg.Now())
	if err != nil {
		return a, tierzero.ToolResult{}, fmt.Errorf("claim approval: %w", err)
	}
	done := tierzero.AuditEvent{
		Kind: tierzero.AuditApprovalExecuted, Conversation: claimed.Conversation, Requester: claimed.Requester.UPN,
		Channel: claimed.Requester.Channel, Tool: claimed.Action, CallID: claimed.CallID, Rule: claimed.Rule,
		Facts: map[string]string{"approval": claimed.ID, "approved_by": strings.Join(approvers(claimed), ",")},
	}
	if !bound(claimed) || claimed.Action != a.Action || claimed.ArgsHash != a.ArgsHash || claimed.Requester != a.Requester {
		done.Outcome, done.Error = "refused", "the approval does not match the call it was made for"
		if err := g.cfg.Audit.Append(ctx, tenant, done); err != nil {
			g.log.Error("audit approval execution", "tenant", tenant, "approval", a.ID, "err", err)
		}
		return claimed, tierzero.ToolResult{}, tierzero.Errorf(tierzero.EDenied, "approval %s does not match the call it was made for; nothing runs", a.ID)
	}
	d := tierzero.Decision{
		Effect: tierzero.EffectRequireApproval, Layer: claimed.Layer, Rule: claimed.Rule, Reason: claimed.Reason,
		Approvers: claimed.Approvers, Count: claimed.Count,
	}
	call := claimed.Call()
	call.Args, _ = tierzero.CanonicalArgs(call.Args) // bound() checked it
	res, err := g.execute(ctx, tenant, claimed.Requester, claimed.Conversation, call, d)
	if err != nil {
		return claimed, res, err
	}
	done.Outcome = "ok"
	outcome := "approved by " + strings.Join(approvers(claimed), ", ") + " and done"
	if res.Error != nil {
		done.Outcome, done.Error = "failed", res.Error.Message
		outcome = "approved by " + strings.Join(approvers(claimed), ", ") + ", but it did not work: " + res.Error.Message
	}
	if err := g.cfg.Audit.Append(ctx, tenant, done); err != nil {
		g.log.Error("audit approval execution", "tenant", tenant, "approval", a.ID, "err", err)
	}
	g.notify(ctx, claimed, outcome)
	return claimed, res, nil
}

func (g *Guard) notify(ctx context.Context, a tierzero.Approval, outcome string) {
	if g.cfg.Notifier == nil {
		return
	}
	if err := g.cfg.Notifier.ApprovalResolved(ctx, a, outcome); err != nil {
		g.log.Warn("notify approval outcome", "tenant", a.Tenant, "approval", a.ID, "err", err)
	}
}

// eligible checks that approver, as the directory knows them, is one of the
// approvers a's policy names. nil means eligible.
//
// An approver of another tenant is not in this tenant's directory: they are
// eligible only as an MSP technician whom policy admits to tenant (Admits,
// on the policies of now) for an approval that names role:msp_technician.
// Their identity is the one the MSP's chat platform verified.
func (g *Guard) eligible(ctx context.Context, tenant tierzero.TenantID, approver tierzero.Requester, a tierzero.Approval) *tierzero.Error {
	notApprover := tierzero.Errorf(tierzero.EDenied, "%s is not an approver of this request", approver.UPN)
	if approver.Tenant != tenant {
		if sameUser(approver.UPN, approver.ObjectID, a.Requester) {
			return tierzero.Errorf(tierzero.EDenied, "nobody approves their own request")
		}
		if _, ok := g.cfg.Policies.Admits(tenant, approver); !ok || !slices.Contains(a.Approvers, "role:msp_technician") {
			return notApprover
		}
		return nil
	}
	ref := approver.ObjectID
	if ref == "" {
		ref = approver.UPN
	}
	f, err := g.cfg.Directory.UserFacts(ctx, tenant, ref)
	if err != nil {
		g.log.Info("approver facts", "tenant", tenant, "err", err)
		return tierzero.Errorf(tierzero.EDenied, "%s could not be verified in this tenant's directory", approver.UPN)
	}
	if !strings.EqualFold(f.UPN, approver.UPN) || (approver.ObjectID != "" && f.ObjectID != approver.ObjectID) || !f.AccountEnabled {
		return tierzero.Errorf(tierzero.EDenied, "%s could not be verified in this tenant's directory", approver.UPN)
	}
	if sameUser(f.UPN, f.ObjectID, a.Requester) {
		return tierzero.Errorf(tierzero.EDenied, "nobody approves their own request")
	}
	for _, spec := range a.Approvers {
		switch {
		case spec == "manager":
			if m := g.managerOf(ctx, tenant, a.Call()); m != "" && strings.EqualFold(m, f.UPN) {
				return nil
			}
		case spec == "role:tenant_admin":
			if approver.Role == tierzero.RoleTenantAdmin {
				return nil
			}
		case spec == "role:msp_technician":
			if approver.Role == tierzero.RoleMSPTechnician {
				return nil
			}
		case strings.HasPrefix(spec, "group:"):
			// The group by its object id, or the one group its display
			// name pins to in this tenant; a member is one by that id.
			id, err := g.groupID(ctx, tenant, strings.TrimPrefix(spec, "group:"))
			if err != nil {
				g.log.Warn("approver group", "tenant", tenant, "group", spec, "err", err)
				continue
			}
			if slices.ContainsFunc(f.Groups, func(gr tierzero.GroupRef) bool { return strings.EqualFold(gr.ID, id) }) {
				return nil
			}
		}
	}
	return notApprover
}

// sameUser reports whether the user named by upn or object id is r.
func sameUser(upn, objectID string, r tierzero.Requester) bool {
	return strings.EqualFold(upn, r.UPN) || (objectID != "" && objectID == r.ObjectID)
}

// bound reports whether a's arguments are canonical and hash to its
// ArgsHash: what runs is what was approved.
func bound(a tierzero.Approval) bool {
	canon, err := tierzero.CanonicalArgs(a.Args)
	if err != nil || string(canon) != string(a.Args) {
		return false
	}
	h, err := tierzero.ArgsHash(canon)
	return err == nil && h == a.ArgsHash
}

// approvers returns who approved a.
func approvers(a tierzero.Approval) []string {
	var out []string
	for _, d := range a.Decisions {
		if d.Approve {
			out = append(out, d.Approver)
		}
	}
	return out
}

// show puts an approval request before its approvers and records that it
// was shown (kind approval_shown, or approval_reminded for a reminder).
func (g *Guard) show(ctx context.Context, tenant tierzero.TenantID, a tierzero.Approval, summary string, kind tierzero.AuditKind) {
	if g.cfg.Notifier == nil {
		return
	}
	shown, err := g.cfg.Notifier.ApprovalRequested(ctx, a, summary)
	if err != nil {
		g.log.Warn("notify approvers", "tenant", tenant, "approval", a.ID, "err", err)
		return
	}
	to := strings.Join(shown, ", ")
	if to == "" {
		to = a.ApproverText()
	}
	ev := tierzero.AuditEvent{
		Kind: kind, Conversation: a.Conversation, Requester: a.Requester.UPN, Channel: a.Requester.Channel,
		Tool: a.Action, CallID: a.CallID, Rule: a.Rule,
		Facts: map[string]string{"approval": a.ID, "shown_to": to, "approvers": a.ApproverText()},
	}
	if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
		g.log.Error("audit approval shown", "tenant", tenant, "approval", a.ID, "err", err)
	}
}

// Sweeper is what Sweep needs of the approvals store (store.DB).
type Sweeper interface {
	ListApprovals(ctx context.Context, tenant tierzero.TenantID, state tierzero.ApprovalState) ([]tierzero.Approval, error)
	ExpireApproval(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (tierzero.Approval, bool, error)
	MarkReminded(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (bool, error)
}

// Sweep settles a tenant's pending approvals over time: one whose expiry has
// passed is recorded as expired and its requester told; one within remind of
// its expiry is shown to its approvers again, once. Adapters call it
// periodically (the console before each line it reads).
func (g *Guard) Sweep(ctx context.Context, tenant tierzero.TenantID, remind time.Duration) error {
	s, ok := g.cfg.Approvals.(Sweeper)
	if !ok {
		return nil
	}
	now := g.cfg.Now()
	all, err := s.ListApprovals(ctx, tenant, "")
	if err != nil {
		return fmt.Errorf("sweep approvals: %w", err)
	}
	for _, a := range all {
		if a.State != tierzero.ApprovalPending && a.State != tierzero.ApprovalExpired {
			continue
		}
		if !now.Before(a.Expires) {
			exp, changed, err := s.ExpireApproval(ctx, tenant, a.ID, now)
			if err != nil || !changed {
				continue
			}
			ev := tierzero.AuditEvent{
				Kind: tierzero.AuditApprovalExpired, Conversation: exp.Conversation, Requester: exp.Requester.UPN,
				Channel: exp.Requester.Channel, Tool: exp.Action, CallID: exp.CallID, Rule: exp.Rule, Outcome: string(exp.State),
				Facts: map[string]string{"approval": exp.ID},
			}
			if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
				return fmt.Errorf("audit approval expiry: %w", err)
			}
			g.notify(ctx, exp, "expired: nobody approved it in time; nothing was changed")
			continue
		}
		if a.State == tierzero.ApprovalPending && a.Expires.Sub(now) <= remind {
			if first, err := s.MarkReminded(ctx, tenant, a.ID, now); err == nil && first {
				g.show(ctx, tenant, a, "Reminder, this expires at "+a.Expires.UTC().Format(time.RFC3339)+": "+a.Summary, tierzero.AuditApprovalReminded)
			}
		}
	}
	return nil
}
