package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/tierzero/tierzero"
)

// verify checks Slack's v0 signature of a request's raw body: the
// signature and timestamp headers, the timestamp within 5 minutes of now
// (either side), and the HMAC-SHA256 of "v0:timestamp:body" with the
// signing secret. Nothing of the body is read before it passes.
func verify(h http.Header, body []byte, secret string) error {
	sv, err := slack.NewSecretsVerifier(h, secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// rejection is the answer to a request that failed verification: what was
// wrong, in words an operator can act on.
func rejection(err error) string {
	switch {
	case errors.Is(err, slack.ErrMissingHeaders):
		return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "request timestamp is more than 5 minutes from now"
	case errors.Is(err, slack.ErrInvalidSignature):
		return "invalid signature"
	}
	return "invalid signature or timestamp"
}

// readVerified reads a request's body and checks its signature; on failure
// it has answered the request.
func (a *Adapter) readVerified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if err := verify(r.Header, body, a.cfg.SigningSecret); err != nil {
		a.log.Warn("slack request refused", "path", r.URL.Path, "reason", rejection(err), "remote", r.RemoteAddr)
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "slack signature: "+rejection(err), http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// envelope is the outer JSON of an Events API request, read here so that
// event_id and team_id are known even when slack-go cannot parse the inner
// event.
type envelope struct {
	Type           string          `json:"type"`
	Challenge      string          `json:"challenge"`
	TeamID         string          `json:"team_id"`
	EventID        string          `json:"event_id"`
	Event          json.RawMessage `json:"event"`
	Authorizations []struct {
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
	} `json:"authorizations"`
}

// handleEvents is POST /slack/events.
func (a *Adapter) handleEvents(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	defer a.acked(began)
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "malformed JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch env.Type {
	case slackevents.URLVerification:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"challenge": env.Challenge})
		return
	case slackevents.CallbackEvent:
	default:
		a.log.Info("slack event ignored", "type", env.Type, "team", env.TeamID)
		w.WriteHeader(http.StatusOK)
		return
	}
	// The event is accepted in the background and the request waits for
	// it no longer than the ack budget: a slow users.info never makes Slack
	// wait past its 3 seconds. When the budget runs out the answer is 503;
	// Slack delivers the event again, and the desk dedupes it once the
	// work begun here has queued it.
	done := make(chan error, 1)
	ctx := context.WithoutCancel(r.Context())
	if !a.goBackground(func() { done <- a.event(ctx, env, body) }) {
		http.Error(w, "tierzero is shutting down", http.StatusServiceUnavailable)
		return
	}
	t := time.NewTimer(a.cfg.AckBudget)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			a.log.Error("slack event not accepted", "event", env.EventID, "team", env.TeamID, "err", err)
			code := http.StatusInternalServerError
			if tierzero.ErrorCode(err) == tierzero.EUnavailable {
				code = http.StatusServiceUnavailable
			}
			http.Error(w, "not accepted: "+tierzero.ErrorMessage(err), code)
			return
		}
		w.WriteHeader(http.StatusOK)
	case <-t.C:
		a.log.Warn("slack event still being accepted after the ack budget; slack will deliver it again", "event", env.EventID)
		http.Error(w, "still being accepted; deliver again", http.StatusServiceUnavailable)
	}
}

// acked observes the ack latency of a verified request.
func (a *Adapter) acked(began time.Time) {
	if a.cfg.Acks != nil {
		a.cfg.Acks.Acked(tierzero.ChannelSlack, time.Since(began))
	}
}

// message is a message to tierzero: a DM to the bot or an @mention.
type message struct {
	user, text       string
	channel, ts      string
	thread           string // the thread it was posted in, or ""
	userTeam, source string // Slack Connect: the teams of the user and of the message
	im               bool
}

// event handles one verified event_callback (from HTTP or Socket Mode):
// it is ignored, refused or submitted to the desk. Only a failure to do so
// is an error (Slack delivers the event again).
func (a *Adapter) event(ctx context.Context, env envelope, raw []byte) error {
	w, ok := a.byTeam[env.TeamID]
	if !ok {
		a.log.Info("slack event from a workspace no tenant has", "team", env.TeamID, "event", env.EventID)
		return nil
	}
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		a.log.Warn("slack event not understood; ignored", "team", env.TeamID, "event", env.EventID, "err", err)
		return nil
	}
	self := ""
	for _, au := range env.Authorizations {
		if au.TeamID == env.TeamID || au.TeamID == "" {
			self = au.UserID
		}
	}
	var m message
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		// Only plain messages in a DM with the bot; never a bot's own
		// (loops), an edit, a deletion or a join.
		if e.ChannelType != "im" || e.SubType != "" || e.BotID != "" {
			return nil
		}
		m = message{user: e.User, text: e.Text, channel: e.Channel, ts: e.TimeStamp, thread: e.ThreadTimeStamp,
			userTeam: e.UserTeam, source: e.SourceTeam, im: true}
	case *slackevents.AppMentionEvent:
		if e.BotID != "" {
			return nil
		}
		text := e.Text
		if self == "" {
			text = leadingMention.ReplaceAllString(text, "")
		}
		m = message{user: e.User, text: text, channel: e.Channel, ts: e.TimeStamp, thread: e.ThreadTimeStamp,
			userTeam: e.UserTeam, source: e.SourceTeam}
	default:
		return nil
	}
	if m.user == "" || m.user == self || m.channel == "" || m.ts == "" {
		return nil
	}
	return a.accept(ctx, w, env.EventID, self, m)
}

// accept identifies a message's author and submits the message to the
// desk, or refuses them.
func (a *Adapter) accept(ctx context.Context, w *Workspace, eventID, self string, m message) error {
	thread := m.thread
	if thread == "" {
		thread = m.ts
	}
	rf := ref{Team: w.TeamID, Channel: m.channel, Thread: thread, User: m.user}
	if eventID == "" {
		eventID = w.TeamID + "-" + m.channel + "-" + m.ts
	}
	if (m.userTeam != "" && m.userTeam != w.TeamID) || (m.source != "" && m.source != w.TeamID) {
		return a.refuse(ctx, w, eventID, rf, refuseExternal)
	}
	user, refusal, err := a.identify(ctx, w, m.user, false)
	if err != nil {
		return fmt.Errorf("identify slack user: %w", err)
	}
	if refusal != "" {
		return a.refuse(ctx, w, eventID, rf, refusal)
	}
	raw, _ := json.Marshal(rf)
	in := tierzero.Inbound{
		Delivery: "slack-" + eventID, Channel: tierzero.ChannelSlack, Tenant: w.Tenant,
		Conversation: conversation(w.TeamID, m), User: user, Text: plainText(m.text, self), Time: tsTime(m.ts), Ref: raw,
	}
	rec, err := a.cfg.Desk.Submit(ctx, in)
	switch tierzero.ErrorCode(err) {
	case "":
	case tierzero.EInvalid: // too long a message, say: the desk says why
		return a.refuse(ctx, w, eventID, rf, "Sorry, I can't take this message: "+strings.TrimSuffix(tierzero.ErrorMessage(err), ".")+".")
	default:
		return fmt.Errorf("submit: %w", err)
	}
	if !rec.Duplicate {
		a.expect(w, rf)
	}
	return nil
}

// refuse answers a refused message once, in its thread, and nothing else.
func (a *Adapter) refuse(ctx context.Context, w *Workspace, delivery string, rf ref, text string) error {
	now := a.cfg.Now()
	a.mu.Lock()
	if _, seen := a.refused[delivery]; seen {
		a.mu.Unlock()
		return nil
	}
	a.refused[delivery] = now
	for k, t := range a.refused {
		if now.Sub(t) > time.Hour {
			delete(a.refused, k)
		}
	}
	a.mu.Unlock()
	a.log.Info("slack user refused", "team", w.TeamID, "user", rf.User, "reason", text)
	if err := a.post(ctx, w, rf, text); err != nil {
		a.mu.Lock()
		delete(a.refused, delivery) // told on the next delivery
		a.mu.Unlock()
		return err
	}
	return nil
}

// conversation names the desk's conversation of a message: a DM with the
// bot is one conversation; in a channel, each thread is one.
func conversation(team string, m message) tierzero.ConversationID {
	if m.im {
		return tierzero.ConversationID(team + "/" + m.channel)
	}
	root := m.thread
	if root == "" {
		root = m.ts
	}
	return tierzero.ConversationID(team + "/" + m.channel + "/" + root)
}

// tsTime is the time of a Slack message timestamp ("1531420618.000200").
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000)
}

// leadingMention is the mention an app_mention starts with: the bot's own.
var leadingMention = regexp.MustCompile(`^\s*<@[A-Z0-9]+(\|[^>]*)?>\s*`)

// slackToken is a <...> token of Slack's message markup.
var slackToken = regexp.MustCompile(`<([^<>]*)>`)

// plainText is a message's text as the person typed it: Slack's markup of
// mentions, channels and links read back into words, its entities
// decoded, and the mention of the bot itself removed.
func plainText(s, self string) string {
	s = slackToken.ReplaceAllStringFunc(s, func(tok string) string {
		in := tok[1 : len(tok)-1]
		target, label, _ := strings.Cut(in, "|")
		switch {
		case strings.HasPrefix(target, "@"):
			if self != "" && target == "@"+self {
				return ""
			}
			if label != "" {
				return "@" + label
			}
			return target
		case strings.HasPrefix(target, "#"):
			if label != "" {
				return "#" + label
			}
			return target
		case strings.HasPrefix(target, "!"):
			name, _, _ := strings.Cut(strings.TrimPrefix(target, "!"), "^")
			return "@" + name
		case strings.HasPrefix(target, "mailto:"):
			return strings.TrimPrefix(target, "mailto:")
		case label != "" && label != target:
			return label + " (" + target + ")"
		}
		return target
	})
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s)
}
