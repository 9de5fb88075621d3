package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// Reply posts text to the conversation of to.Ref (the reference given to
// the desk with the message), as a reply to its activity: in a channel,
// into its thread.
func (a *Adapter) Reply(ctx context.Context, to bot.Address, text string) error {
	var ref schema.ConversationReference
	if len(to.Ref) == 0 || json.Unmarshal(to.Ref, &ref) != nil || ref.Conversation.ID == "" {
		return fmt.Errorf("teams: no conversation reference for %s", to.Conversation)
	}
	if to.Conversation != "" && string(to.Conversation) != ref.Conversation.ID {
		return fmt.Errorf("teams: the reference is of another conversation than %s", to.Conversation)
	}
	id, err := a.conn.ReplyTo(ctx, ref.ServiceURL, ref.Conversation.ID, ref.ActivityID, message(ref, escapeMarkdown(text)))
	if err != nil {
		return err
	}
	a.log.Debug("teams reply", "tenant", to.Tenant, "activity", id)
	return nil
}

// Private delivers a secret to its owner in their personal chat with the
// bot (created when there is none), and nowhere else.
func (a *Adapter) Private(ctx context.Context, to bot.Address, note tierzero.PrivateNote) error {
	t, ok := a.byID[to.Tenant]
	if !ok {
		return fmt.Errorf("teams: tenant %s is not served in Teams", to.Tenant)
	}
	oid := note.To.ObjectID
	if oid == "" {
		oid = to.To.ObjectID
	}
	ref, err := a.personal(ctx, t, oid, to.Ref)
	if err != nil {
		return err
	}
	label := note.Secret.Label
	if label == "" {
		label = "secret"
	}
	_, err = a.conn.Send(ctx, ref.ServiceURL, ref.Conversation.ID,
		cardMessage(ref, "Your "+label, secretCard(label, note.Secret.Reveal())))
	return err
}

// approvalRecord is what the adapter keeps of an approval request: what
// its card shows and every copy posted, to update them all when it is
// settled.
type approvalRecord struct {
	View   approvalView `json:"view"`
	Copies []cardCopy   `json:"copies"`
}

// cardCopy is one posted approval card.
type cardCopy struct {
	ServiceURL   string `json:"serviceUrl"`
	Conversation string `json:"conversation"`
	ActivityID   string `json:"activityId"`
}

func (a *Adapter) loadRecord(ctx context.Context, t tierzero.TenantID, id string) (approvalRecord, bool) {
	var rec approvalRecord
	raw, ok, err := a.cfg.Refs.Ref(ctx, t, approvalKey(id))
	if err != nil || !ok || json.Unmarshal(raw, &rec) != nil {
		return rec, false
	}
	return rec, true
}

// viewOf is the view of an approval.
func viewOf(ap tierzero.Approval) approvalView {
	who := ap.Requester.UPN
	if ap.Requester.DisplayName != "" {
		who = ap.Requester.DisplayName + " (" + ap.Requester.UPN + ")"
	}
	return approvalView{ID: ap.ID, Summary: ap.Summary, Requester: who, Reason: ap.Reason,
		Approvers: ap.ApproverText(), Expires: ap.Expires}
}

// ShowApproval posts the approval card to each approver's personal chat
// and to the tenant's approvals channel, when it has one, and keeps the
// copies. It returns whom it was shown to.
func (a *Adapter) ShowApproval(ctx context.Context, r bot.ApprovalRequest) ([]string, error) {
	ap := r.Approval
	t, ok := a.byID[ap.Tenant]
	if !ok {
		return nil, fmt.Errorf("teams: tenant %s is not served in Teams", ap.Tenant)
	}
	view := viewOf(ap)
	view.Reminder = r.Reminder
	card := view.card()
	summary := "Approval needed: " + cardText(ap.Summary)
	var shown []string
	var copies []cardCopy
	var errs []error
	for _, upn := range r.Approvers {
		req, err := a.cfg.Desk.Identify(ctx, ap.Tenant, tierzero.ChannelTeams, tierzero.PlatformUser{UPN: upn})
		if err != nil {
			errs = append(errs, fmt.Errorf("approver %s: %w", upn, err))
			continue
		}
		ref, err := a.personal(ctx, t, req.ObjectID, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("approver %s: %w", upn, err))
			continue
		}
		id, err := a.conn.Send(ctx, ref.ServiceURL, ref.Conversation.ID, cardMessage(ref, summary, card))
		if err != nil {
			errs = append(errs, fmt.Errorf("approver %s: %w", upn, err))
			continue
		}
		copies = append(copies, cardCopy{ServiceURL: ref.ServiceURL, Conversation: ref.Conversation.ID, ActivityID: id})
		shown = append(shown, upn)
	}
	if ch := t.ApprovalsConversation; ch != "" {
		su := a.serviceURL(ctx, t.ID)
		ref := schema.ConversationReference{Bot: schema.ChannelAccount{ID: a.botID()}}
		resp, err := a.conn.CreateConversation(ctx, su, conversationParams{
			IsGroup: true, Bot: schema.ChannelAccount{ID: a.botID()}, TenantID: t.EntraID,
			ChannelData: map[string]any{"channel": map[string]string{"id": ch}, "tenant": map[string]string{"id": t.EntraID}},
			Activity:    cardMessage(ref, summary, card),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("approvals channel: %w", err))
		} else {
			copies = append(copies, cardCopy{ServiceURL: su, Conversation: resp.ID, ActivityID: resp.ActivityID})
			shown = append(shown, "the Teams approvals channel")
		}
	}
	if len(copies) > 0 {
		a.recMu.Lock()
		rec, _ := a.loadRecord(ctx, ap.Tenant, ap.ID)
		rec.View = view
		rec.Copies = append(rec.Copies, copies...)
		raw, err := json.Marshal(rec)
		if err == nil {
			err = a.cfg.Refs.PutRef(ctx, ap.Tenant, approvalKey(ap.ID), raw)
		}
		a.recMu.Unlock()
		if err != nil {
			a.log.Warn("keep approval card copies", "tenant", ap.Tenant, "approval", ap.ID, "err", err)
		}
	}
	for _, err := range errs {
		a.log.Warn("show approval in teams", "tenant", ap.Tenant, "approval", ap.ID, "err", err)
	}
	if len(shown) == 0 {
		return nil, fmt.Errorf("teams: approval %s reached no approver: %w", ap.ID, errors.Join(errs...))
	}
	return shown, nil
}

// ApprovalSettled replaces every copy of the approval's card with its
// outcome.
func (a *Adapter) ApprovalSettled(ctx context.Context, ap tierzero.Approval, outcome string) error {
	rec, ok := a.loadRecord(ctx, ap.Tenant, ap.ID)
	if !ok {
		return nil // never shown in Teams
	}
	view := viewOf(ap)
	view.Outcome = sentence(outcome)
	card := view.card()
	var errs []error
	for _, c := range rec.Copies {
		ref := schema.ConversationReference{Bot: schema.ChannelAccount{ID: a.botID()},
			Conversation: schema.ConversationAccount{ID: c.Conversation}}
		if err := a.conn.Update(ctx, c.ServiceURL, c.Conversation, c.ActivityID,
			cardMessage(ref, "Approval request: "+cardText(view.Outcome), card)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sentence capitalizes s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// outcomeOf says how an approval ended, or "" while it is pending.
func outcomeOf(ap tierzero.Approval) string {
	var yes, no []string
	for _, d := range ap.Decisions {
		if d.Approve {
			yes = append(yes, d.Approver)
		} else {
			no = append(no, d.Approver)
		}
	}
	switch ap.State {
	case tierzero.ApprovalExecuted:
		return "Approved by " + strings.Join(yes, ", ") + " and done."
	case tierzero.ApprovalApproved:
		return "Approved by " + strings.Join(yes, ", ") + "."
	case tierzero.ApprovalDenied:
		return "Denied by " + strings.Join(no, ", ") + "; nothing was changed."
	case tierzero.ApprovalExpired:
		return "Expired before it was approved; nothing was changed."
	}
	return ""
}

// voteOf reads our approval data from an Action.Submit (a message's value)
// or an Action.Execute (the invoke's action data).
func voteOf(raw json.RawMessage) (actionData, bool) {
	var d actionData
	if len(raw) == 0 || json.Unmarshal(raw, &d) != nil || d.Kind != "approval" || d.Approval == "" || len(d.Approval) > 200 {
		return actionData{}, false
	}
	return d, true
}

// decide records a vote of the activity's verified sender and returns the
// card as it now is, for everyone who sees it.
func (a *Adapter) decide(ctx context.Context, t Tenant, act *activity, d actionData) (map[string]any, bot.Verdict) {
	v, err := a.cfg.Desk.Decide(ctx, bot.Vote{
		Channel: tierzero.ChannelTeams, Tenant: t.ID, Approval: d.Approval, Approve: d.Approve,
		User: tierzero.PlatformUser{ID: act.From.ID, ObjectID: act.From.AadObjectID, DisplayName: act.From.Name},
	})
	rec, _ := a.loadRecord(ctx, t.ID, d.Approval)
	view := rec.View
	if v.Approval.ID != "" {
		view = viewOf(v.Approval)
	}
	if view.ID == "" {
		view.ID = d.Approval
	}
	switch {
	case err != nil:
		a.log.Error("teams approval decision", "tenant", t.ID, "approval", d.Approval, "err", err)
		view.Notice = "Your decision could not be recorded right now. Please try again in a few minutes."
		v.Text, v.Refused = view.Notice, true
	case v.Approval.ID != "" && v.Approval.State != tierzero.ApprovalPending:
		view.Outcome = outcomeOf(v.Approval)
		if v.Refused {
			view.Notice = v.Text
		}
	case v.Refused:
		view.Notice = v.Text
	default: // pending, more approvals needed
		n := v.Approval.Count - v.Approval.Approvals()
		view.Notice = fmt.Sprintf("Approved by %s; %d more approval(s) needed.", act.From.Name, n)
	}
	return view.card(), v
}

// onInvoke answers an Action.Execute (invoke adaptiveCard/action) in the
// HTTP response, with the card as it now is.
func (a *Adapter) onInvoke(ctx context.Context, w http.ResponseWriter, act *activity) {
	if act.Name != "adaptiveCard/action" {
		w.WriteHeader(http.StatusOK)
		return
	}
	var inv struct {
		Action struct {
			Type string          `json:"type"`
			Verb string          `json:"verb"`
			Data json.RawMessage `json:"data"`
		} `json:"action"`
	}
	json.Unmarshal(act.Value, &inv)
	t, ok := a.tenantOf(act)
	if !ok {
		writeInvoke(w, noticeCard(notConfigured))
		return
	}
	d, ok := voteOf(inv.Action.Data)
	if !ok || inv.Action.Type != "Action.Execute" {
		writeInvoke(w, noticeCard("This action is not one of mine."))
		return
	}
	card, _ := a.decide(ctx, t, act, d)
	writeInvoke(w, card)
}

// writeInvoke is the invoke response of Universal Actions: exactly this
// envelope, or Teams shows "Something went wrong".
func writeInvoke(w http.ResponseWriter, card map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(struct {
		StatusCode int            `json:"statusCode"`
		Type       string         `json:"type"`
		Value      map[string]any `json:"value"`
	}{http.StatusOK, cardContentType, card})
}

// onSubmitVote handles the Action.Submit fallback (a message with our
// data as its value): the decision is recorded and the approver answered
// in the conversation; ApprovalSettled updates the cards. A redelivery
// of the same activity is answered once.
func (a *Adapter) onSubmitVote(ctx context.Context, t Tenant, act *activity, d actionData) {
	if !a.firstVote(deliveryID(act)) {
		return
	}
	_, v := a.decide(ctx, t, act, d)
	ref := act.reference(t.EntraID)
	text := v.Text
	a.background(func(ctx context.Context) { a.send(ctx, ref, text, true) })
}

// firstVote reports whether the vote activity id is new; ids are kept an
// hour.
func (a *Adapter) firstVote(id string) bool {
	if id == "" {
		return true
	}
	a.votesMu.Lock()
	defer a.votesMu.Unlock()
	now := a.cfg.Now()
	if _, seen := a.votes[id]; seen {
		return false
	}
	if len(a.votes) > 10000 {
		for k, at := range a.votes {
			if now.Sub(at) > time.Hour {
				delete(a.votes, k)
			}
		}
	}
	a.votes[id] = now
	return true
}
