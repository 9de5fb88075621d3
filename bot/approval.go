package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/tierzero/tierzero"
)

// The desk is the Guard's notifier: it shows approval requests through the
// channel of their requester and tells the requester how they ended.

// ApprovalRequested shows an approval request to its eligible approvers
// through the requester's channel, and returns whom it was shown to.
func (d *Desk) ApprovalRequested(ctx context.Context, a tierzero.Approval, summary string) ([]string, error) {
	r, ok := d.responder(a.Requester.Channel)
	if !ok {
		return nil, fmt.Errorf("no responder for channel %q to show approval %s", a.Requester.Channel, a.ID)
	}
	return r.ShowApproval(ctx, ApprovalRequest{
		Approval: a, Summary: summary, Approvers: d.ApproversOf(a),
		Reminder: !a.Reminded.IsZero() || strings.HasPrefix(summary, "Reminder"),
	})
}

// ApprovalResolved updates the shown copies of an approval request with its
// outcome and, when it ended without running (denied, expired), tells its
// requester in their conversation. An approval that ran is told by Decide,
// with its secret.
func (d *Desk) ApprovalResolved(ctx context.Context, a tierzero.Approval, outcome string) error {
	if r, ok := d.responder(a.Requester.Channel); ok {
		if err := r.ApprovalSettled(ctx, a, outcome); err != nil {
			d.log.Warn("update approval request", "tenant", a.Tenant, "approval", a.ID, "err", err)
		}
	}
	if a.State == tierzero.ApprovalExecuted {
		return nil
	}
	d.tell(ctx, a, "Your request to "+a.Summary+" was "+strings.TrimSuffix(outcome, ".")+".")
	return nil
}

// tell sends a message to an approval's requester, in the conversation the
// request came from.
func (d *Desk) tell(ctx context.Context, a tierzero.Approval, text string) {
	home := a.Requester.Tenant // a technician's conversation is in the MSP's tenant
	o := tierzero.Outbound{Tenant: home, Channel: a.Requester.Channel, Conversation: a.Conversation, To: a.Requester, Text: text}
	if ref, ok, err := d.cfg.Store.Ref(ctx, home, refKey(o.Channel, o.Conversation)); err == nil && ok {
		o.Ref = ref
	}
	d.send(ctx, o)
}

// ApproversOf returns the user principal names known to be able to decide
// a: the suggested ones (the target's manager), the tenant's admins, the
// technicians admitted to its tenant; never its requester.
func (d *Desk) ApproversOf(a tierzero.Approval) []string {
	var out []string
	add := func(upn string) {
		if upn != "" && !strings.EqualFold(upn, a.Requester.UPN) &&
			!slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, upn) }) {
			out = append(out, upn)
		}
	}
	for _, s := range a.Suggested {
		add(s)
	}
	st := d.cfg.Staff
	for _, spec := range a.Approvers {
		switch spec {
		case "role:tenant_admin":
			for _, u := range st.Admins[a.Tenant] {
				add(u)
			}
		case "role:msp_technician":
			if d.cfg.Reach == nil {
				continue
			}
			for _, t := range st.Technicians {
				req, _ := st.Technician(t.UPN)
				if slices.Contains(d.cfg.Reach.Across(req), a.Tenant) {
					add(t.UPN)
				}
			}
		}
	}
	return out
}

// Vote is an approver's decision as a channel verified it: who clicked
// (or typed /approve), in which tenant's workspace, on which approval.
type Vote struct {
	Channel  tierzero.Channel
	Tenant   tierzero.TenantID
	User     tierzero.PlatformUser
	Approval string
	Approve  bool
}

// Verdict is what a vote did: the approval as it now is, and what the
// approver is told. Refused is set when the decision was not recorded.
type Verdict struct {
	Approval tierzero.Approval
	Text     string
	Refused  bool
}

// Decide records a vote through the Guard's checks (the approver is
// identified here, from the channel's verified user). When the approval
// runs, its result belongs to the requester: a secret goes privately to
// them, and they are told in their own conversation; the approver is told
// only that it ran. Only a failure to process the vote is an error.
func (d *Desk) Decide(ctx context.Context, v Vote) (Verdict, error) {
	if d.isClosing() {
		return Verdict{}, tierzero.Errorf(tierzero.EUnavailable, "tierzero is shutting down; try again shortly")
	}
	approver, err := d.Identify(ctx, v.Tenant, v.Channel, v.User)
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.EInternal {
			return Verdict{}, err
		}
		return Verdict{Refused: true, Text: "Your decision was not recorded: " + strings.TrimSuffix(tierzero.ErrorMessage(err), ".") + "."}, nil
	}
	a, res, err := d.cfg.Guard.DecideFrom(ctx, approver, v.Approval, v.Approve)
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.EInternal {
			return Verdict{Approval: a}, err
		}
		return Verdict{Approval: a, Refused: true, Text: "Your decision was not recorded: " + strings.TrimSuffix(tierzero.ErrorMessage(err), ".") + "."}, nil
	}
	switch a.State {
	case tierzero.ApprovalPending:
		return Verdict{Approval: a, Text: fmt.Sprintf("Your approval of %s is recorded; it needs %d more.", a.ID, a.Count-a.Approvals())}, nil
	case tierzero.ApprovalDenied:
		return Verdict{Approval: a, Text: fmt.Sprintf("You denied %s. Nothing was changed.", a.ID)}, nil
	case tierzero.ApprovalExecuted:
	default:
		return Verdict{Approval: a, Text: fmt.Sprintf("Approval %s is %s.", a.ID, a.State)}, nil
	}
	if tierzero.IsPlanAction(a.Action) && res.Error == nil {
		return d.approvedPlan(ctx, a, approver) // lifecycle.go: its steps run now, each through the Guard
	}
	// The result is the requester's: the secret to them alone, first, so
	// that the text saying it was delivered is true when it arrives.
	home := a.Requester.Tenant
	if !res.Secret.IsZero() {
		d.send(ctx, tierzero.Outbound{Tenant: home, Channel: a.Requester.Channel, Conversation: a.Conversation, To: a.Requester, Secret: res.Secret})
	}
	text := fmt.Sprintf("%s approved your request to %s. It is done.", approver.UPN, a.Summary)
	switch {
	case res.Error != nil:
		text = fmt.Sprintf("%s approved your request to %s, but it did not work: %s.", approver.UPN, a.Summary, failure(a.Requester.Role, res.Error))
	case !res.Secret.IsZero():
		text += " The " + res.Secret.Label + " was delivered to you privately."
	}
	d.tell(ctx, a, text)
	return Verdict{Approval: a, Text: fmt.Sprintf("You approved %s, and it ran.", a.ID)}, nil
}

// failure says why an approved call did not work, for its requester: IT
// staff get the error as it is; an employee gets it in plain words, since
// Microsoft Graph's status codes and messages are for IT staff.
func failure(role tierzero.Role, e *tierzero.Error) string {
	if role != tierzero.RoleEmployee || e.Code == tierzero.EDenied {
		return tierzero.PrintableLine(strings.TrimSuffix(e.Message, "."))
	}
	return e.Plainly()
}

// Later is the Guard's approval notifier (policy.Notifier) for a desk wired
// after it: the Guard is built first, since the desk needs it. Until Set,
// approval requests cannot be shown (an error the Guard logs) and outcomes
// go nowhere.
type Later struct{ desk atomic.Pointer[Desk] }

// Set makes d the desk that is notified.
func (l *Later) Set(d *Desk) { l.desk.Store(d) }

// ApprovalRequested forwards to the desk.
func (l *Later) ApprovalRequested(ctx context.Context, a tierzero.Approval, summary string) ([]string, error) {
	d := l.desk.Load()
	if d == nil {
		return nil, errors.New("no desk to show approval requests on yet")
	}
	return d.ApprovalRequested(ctx, a, summary)
}

// ApprovalResolved forwards to the desk.
func (l *Later) ApprovalResolved(ctx context.Context, a tierzero.Approval, outcome string) error {
	if d := l.desk.Load(); d != nil {
		return d.ApprovalResolved(ctx, a, outcome)
	}
	return nil
}
