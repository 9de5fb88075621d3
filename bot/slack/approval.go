package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// Action ids of the approval buttons; their value is the approval id.
const (
	actionApprove = "tierzero_approve"
	actionDeny    = "tierzero_deny"
)

// msgRef is one posted copy of an approval request, updated when it settles.
type msgRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

func copiesKey(id string) string { return "slack:approval:" + id }

// ShowApproval sends the approval request by DM to each eligible approver
// who is a full member of the tenant's workspace (found by e-mail), and
// posts it in the tenant's approvals channel when it has one, with Approve
// and Deny buttons. It keeps where each copy is, to update them all when
// the request settles, and returns whom it was shown to.
func (a *Adapter) ShowApproval(ctx context.Context, r bot.ApprovalRequest) ([]string, error) {
	w, err := a.workspace(r.Approval.Tenant)
	if err != nil {
		return nil, err
	}
	c, err := a.client(ctx, w)
	if err != nil {
		return nil, err
	}
	blocks := approvalBlocks(r.Approval, r.Summary, r.Reminder, "")
	fallback := "Approval needed: " + Escape(r.Approval.Summary)
	var shown []string
	var posted []msgRef
	var errs []error
	postTo := func(channel string) bool {
		var ch, ts string
		err := a.call(ctx, "chat.postMessage", func() (err error) {
			ch, ts, err = c.PostMessageContext(ctx, channel, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...), slack.MsgOptionDisableLinkUnfurl())
			return err
		})
		if err != nil {
			errs = append(errs, err)
			return false
		}
		posted = append(posted, msgRef{Channel: ch, TS: ts})
		return true
	}
	for _, upn := range r.Approvers {
		user, err := a.slackUserOf(ctx, w, upn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if user == "" {
			a.log.Info("approver not in the slack workspace", "tenant", w.Tenant, "approver", upn)
			continue
		}
		dm, err := a.openDM(ctx, w, user)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if postTo(dm.Channel) {
			shown = append(shown, upn)
		}
	}
	if w.ApprovalsChannel != "" && postTo(w.ApprovalsChannel) {
		shown = append(shown, "Slack channel "+w.ApprovalsChannel)
	}
	if len(posted) > 0 {
		if err := a.addCopies(ctx, w.Tenant, r.Approval.ID, posted); err != nil {
			errs = append(errs, err)
		}
	}
	if len(shown) == 0 {
		if len(errs) == 0 {
			errs = append(errs, tierzero.Errorf(tierzero.ENotFound, "no approver of %s is a member of Slack workspace %s, and the tenant has no approvals channel", r.Approval.ID, w.TeamID))
		}
		return nil, errors.Join(errs...)
	}
	if len(errs) > 0 {
		a.log.Warn("approval request not shown to everyone", "tenant", w.Tenant, "approval", r.Approval.ID, "err", errors.Join(errs...))
	}
	return shown, nil
}

// addCopies records more copies of an approval request.
func (a *Adapter) addCopies(ctx context.Context, t tierzero.TenantID, id string, more []msgRef) error {
	a.copiesMu.Lock()
	defer a.copiesMu.Unlock()
	all, err := a.copies(ctx, t, id)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(append(all, more...))
	return a.cfg.Store.PutRef(ctx, t, copiesKey(id), raw)
}

func (a *Adapter) copies(ctx context.Context, t tierzero.TenantID, id string) ([]msgRef, error) {
	raw, ok, err := a.cfg.Store.Ref(ctx, t, copiesKey(id))
	if err != nil || !ok {
		return nil, err
	}
	var all []msgRef
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("copies of approval %s: %w", id, err)
	}
	return all, nil
}

// ApprovalSettled updates every copy of an approval request with its
// outcome (chat.update); the buttons are gone.
func (a *Adapter) ApprovalSettled(ctx context.Context, ap tierzero.Approval, outcome string) error {
	w, err := a.workspace(ap.Tenant)
	if err != nil {
		return err
	}
	all, err := a.copies(ctx, ap.Tenant, ap.ID)
	if err != nil || len(all) == 0 {
		return err
	}
	c, err := a.client(ctx, w)
	if err != nil {
		return err
	}
	blocks := approvalBlocks(ap, ap.Summary, false, outcome)
	text := "Approval " + Escape(ap.Summary) + ": " + Escape(outcome)
	var errs []error
	for _, cp := range all {
		err := a.call(ctx, "chat.update", func() error {
			_, _, _, err := c.UpdateMessageContext(ctx, cp.Channel, cp.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// approvalBlocks is an approval request in Block Kit: who asks, what will
// run exactly (the action and its canonical arguments, the only call the
// approval can run), the policy's reason, and the buttons; or, once it
// settled, its outcome instead of the buttons. Everything from the model or
// tenant data is escaped.
func approvalBlocks(ap tierzero.Approval, summary string, reminder bool, outcome string) []slack.Block {
	if summary == "" {
		summary = ap.Summary
	}
	head := "*Approval needed*"
	if reminder {
		head = "*Reminder: approval needed before it expires*"
	}
	who := ap.Requester.UPN
	if ap.Requester.DisplayName != "" {
		who = ap.Requester.DisplayName + " (" + ap.Requester.UPN + ")"
	}
	exact := ap.Action + " " + string(ap.Args)
	exact = strings.ReplaceAll(exact, "```", "'''")
	mk := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	pt := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(mk(head+"\n"+Escape(tierzero.PrintableLine(who))+" asks to "+Escape(strings.TrimSuffix(summary, "."))+"."), nil, nil),
		slack.NewSectionBlock(mk("*What will run, exactly:*\n```"+fitSection(exact)+"```"), nil, nil),
	}
	var ctxt []string
	if ap.Reason != "" {
		ctxt = append(ctxt, "Why approval: "+Escape(ap.Reason))
	}
	if t := ap.ApproverText(); t != "" {
		ctxt = append(ctxt, "Who may approve: "+Escape(t))
	}
	ctxt = append(ctxt, "Approval "+Escape(ap.ID)+", expires "+ap.Expires.UTC().Format("2006-01-02 15:04 MST"))
	blocks = append(blocks, slack.NewContextBlock("", mk(strings.Join(ctxt, " · "))))
	if outcome != "" {
		return append(blocks, slack.NewSectionBlock(mk("*Outcome:* "+Escape(outcome)), nil, nil))
	}
	approve := slack.NewButtonBlockElement(actionApprove, ap.ID, pt("Approve: run it"))
	approve.Style = slack.StylePrimary
	confirm := tierzero.Clip(exact, 280)
	approve.Confirm = slack.NewConfirmationBlockObject(pt("Run this?"), pt(confirm), pt("Approve"), pt("Cancel"))
	deny := slack.NewButtonBlockElement(actionDeny, ap.ID, pt("Deny"))
	deny.Style = slack.StyleDanger
	return append(blocks, slack.NewActionBlock("tierzero_approval", approve, deny))
}

// handleInteractive is POST /slack/interactive: a click on an approval
// button, signed like every request from Slack. It is acked at once; the
// decision is taken in the background and the clicker told privately.
func (a *Adapter) handleInteractive(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	defer a.acked(began)
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "malformed interaction: no payload", http.StatusBadRequest)
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		http.Error(w, "malformed interaction payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if !a.goBackground(func() { a.interact(ctx, ic) }) {
		http.Error(w, "tierzero is shutting down", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// interact handles a verified interaction: the approval buttons.
func (a *Adapter) interact(ctx context.Context, ic slack.InteractionCallback) {
	if ic.Type != slack.InteractionTypeBlockActions {
		return
	}
	w, ok := a.byTeam[ic.Team.ID]
	if !ok {
		a.log.Info("slack interaction from a workspace no tenant has", "team", ic.Team.ID)
		return
	}
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	for _, act := range ic.ActionCallback.BlockActions {
		if act.ActionID != actionApprove && act.ActionID != actionDeny {
			continue
		}
		text := a.vote(ctx, w, ic.User, act.Value, act.ActionID == actionApprove)
		a.ephemeral(ctx, w, channel, ic.User.ID, text)
	}
}

// vote has the desk decide a click as the clicking user's verified
// identity, looked up afresh, and returns what the clicker is told.
func (a *Adapter) vote(ctx context.Context, w *Workspace, u slack.User, approval string, approve bool) string {
	if u.TeamID != "" && u.TeamID != w.TeamID {
		return "Your decision was not recorded: " + refuseExternal
	}
	pu, refusal, err := a.identify(ctx, w, u.ID, true)
	if err != nil {
		a.log.Error("identify slack approver", "team", w.TeamID, "user", u.ID, "err", err)
		return "Your decision was not recorded: I could not check who you are right now. Nothing was changed; please try again."
	}
	if refusal != "" {
		return "Your decision was not recorded. " + refusal
	}
	v, err := a.cfg.Desk.Decide(ctx, bot.Vote{Channel: tierzero.ChannelSlack, Tenant: w.Tenant, User: pu, Approval: approval, Approve: approve})
	if err != nil {
		a.log.Error("decide approval", "tenant", w.Tenant, "approval", approval, "err", err)
		return "Your decision could not be processed: " + strings.TrimSuffix(tierzero.ErrorMessage(err), ".") + ". Please try again."
	}
	return v.Text
}

// ephemeral tells a user something only they see, in a channel.
func (a *Adapter) ephemeral(ctx context.Context, w *Workspace, channel, user, text string) {
	if channel == "" || user == "" || text == "" {
		return
	}
	c, err := a.client(ctx, w)
	if err == nil {
		err = a.call(ctx, "chat.postEphemeral", func() error {
			_, err := c.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(Escape(text), false))
			return err
		})
	}
	if err != nil {
		a.log.Warn("slack ephemeral not posted", "team", w.TeamID, "err", err)
	}
}

// maxSection is what one section's text may hold (Slack refuses more than
// 3000 characters), with room for the rest of the section.
const maxSection = 2900

// fitSection escapes s for a section, clipped to fit; a clipped call says
// so and where it is shown whole, so nobody approves a call they cannot see.
func fitSection(s string) string {
	out := Escape(s)
	for n := len(s); len(out) > maxSection && n > 0; {
		n -= len(out) - maxSection + 100
		out = Escape(tierzero.Clip(s, max(n, 0))) + "\n(clipped: the whole call is in tierzero approvals list)"
	}
	return out
}
