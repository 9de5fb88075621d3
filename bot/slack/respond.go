package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// ref is the adapter's reference of where a message came from, which the
// desk keeps and gives back (bot.Address.Ref): the workspace, the channel,
// the thread to answer in, and the Slack user who wrote it.
type ref struct {
	Team    string `json:"team"`
	Channel string `json:"channel"`
	Thread  string `json:"thread_ts,omitempty"`
	User    string `json:"user,omitempty"`
}

// refOf is where an address of w is: its reference, else what its
// conversation id says. A reference of another workspace is refused.
func refOf(w *Workspace, to bot.Address) (ref, error) {
	var r ref
	if len(to.Ref) > 0 {
		if err := json.Unmarshal(to.Ref, &r); err != nil {
			return ref{}, fmt.Errorf("slack reference: %w", err)
		}
	} else {
		parts := strings.Split(string(to.Conversation), "/")
		if len(parts) < 2 || len(parts) > 3 {
			return ref{}, tierzero.Errorf(tierzero.EInvalid, "conversation %q is not a Slack conversation", to.Conversation)
		}
		r = ref{Team: parts[0], Channel: parts[1]}
		if len(parts) == 3 {
			r.Thread = parts[2]
		}
	}
	if r.Team != w.TeamID || r.Channel == "" {
		return ref{}, tierzero.Errorf(tierzero.EInvalid, "conversation of workspace %q is not tenant %s's (%s)", r.Team, w.Tenant, w.TeamID)
	}
	return r, nil
}

// Reply posts text in the thread of the conversation.
func (a *Adapter) Reply(ctx context.Context, to bot.Address, text string) error {
	w, err := a.workspace(to.Tenant)
	if err != nil {
		return err
	}
	r, err := refOf(w, to)
	if err != nil {
		return err
	}
	a.answered(r)
	return a.post(ctx, w, r, text)
}

// Private sends a secret to its requester alone, in their direct message
// with the bot (conversations.open): never in a channel, never as an
// ephemeral message. The person is the Slack user of the reference when
// their verified e-mail is the requester's, else the member whose e-mail
// it is (users.lookupByEmail).
func (a *Adapter) Private(ctx context.Context, to bot.Address, note tierzero.PrivateNote) error {
	w, err := a.workspace(to.Tenant)
	if err != nil {
		return err
	}
	var r ref
	if len(to.Ref) > 0 {
		_ = json.Unmarshal(to.Ref, &r)
	}
	user := ""
	if r.User != "" && r.Team == w.TeamID {
		pu, refusal, err := a.identify(ctx, w, r.User, false)
		if err != nil {
			return err
		}
		if refusal == "" && strings.EqualFold(pu.UPN, note.To.UPN) {
			user = r.User
		}
	}
	if user == "" {
		if user, err = a.slackUserOf(ctx, w, note.To.UPN); err != nil {
			return err
		}
		if user == "" {
			return tierzero.Errorf(tierzero.ENotFound, "no full member of Slack workspace %s has the e-mail %s", w.TeamID, note.To.UPN)
		}
	}
	dm, err := a.openDM(ctx, w, user)
	if err != nil {
		return err
	}
	if r.Channel == dm.Channel {
		dm.Thread = r.Thread
	}
	text := fmt.Sprintf("Your %s (in this direct message only, for you alone): `%s`", note.Secret.Label, note.Secret.Reveal())
	return a.post(ctx, w, dm, text)
}

// openDM opens the direct message of the bot with a user of w.
func (a *Adapter) openDM(ctx context.Context, w *Workspace, user string) (ref, error) {
	c, err := a.client(ctx, w)
	if err != nil {
		return ref{}, err
	}
	var ch *slack.Channel
	err = a.call(ctx, "conversations.open", func() (err error) {
		ch, _, _, err = c.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
		return err
	})
	if err != nil {
		return ref{}, err
	}
	if ch == nil || !strings.HasPrefix(ch.ID, "D") {
		return ref{}, fmt.Errorf("slack conversations.open: no direct message with %s", user)
	}
	return ref{Team: w.TeamID, Channel: ch.ID, User: user}, nil
}

// post posts text, escaped, in r's channel and thread.
func (a *Adapter) post(ctx context.Context, w *Workspace, r ref, text string) error {
	c, err := a.client(ctx, w)
	if err != nil {
		return err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(Escape(text), false), slack.MsgOptionDisableLinkUnfurl()}
	if r.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(r.Thread))
	}
	return a.call(ctx, "chat.postMessage", func() error {
		_, _, err := c.PostMessageContext(ctx, r.Channel, opts...)
		return err
	})
}

// noticeText tells a requester their message is being worked on.
const noticeText = "Looking into it… I'll answer here shortly."

// threadKey names a thread of a workspace.
type threadKey struct{ team, channel, thread string }

// expect starts the "looking into it" timer of a message just accepted;
// the reply to its thread stops it.
func (a *Adapter) expect(w *Workspace, r ref) {
	k := threadKey{r.Team, r.Channel, r.Thread}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(a.cfg.Notice, func() {
		a.mu.Lock()
		i := slices.Index(a.notices[k], t)
		if i < 0 || a.closed {
			a.mu.Unlock()
			return
		}
		a.notices[k] = slices.Delete(a.notices[k], i, i+1)
		if len(a.notices[k]) == 0 {
			delete(a.notices, k)
		}
		a.bg.Add(1)
		a.mu.Unlock()
		defer a.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.post(ctx, w, r, noticeText); err != nil {
			a.log.Warn("slack notice not posted", "team", r.Team, "err", err)
		}
	})
	a.notices[k] = append(a.notices[k], t)
}

// answered stops the oldest pending notice of r's thread: the desk answers
// a conversation's messages in order.
func (a *Adapter) answered(r ref) {
	k := threadKey{r.Team, r.Channel, r.Thread}
	a.mu.Lock()
	defer a.mu.Unlock()
	ts := a.notices[k]
	if len(ts) == 0 {
		return
	}
	ts[0].Stop()
	if len(ts) == 1 {
		delete(a.notices, k)
	} else {
		a.notices[k] = ts[1:]
	}
}

var (
	mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	broadcast     = regexp.MustCompile(`(?i)@(channel|here|everyone)\b`)
)

// Escape makes text safe to post as Slack mrkdwn: first printable
// (tierzero.Printable: no control, bidirectional override or tag
// characters), then &, < and > become entities, so no <!channel>, <!here>,
// <@user> mention or <url|disguised link> survives, and a bare @channel,
// @here or @everyone gets a word joiner so that it never notifies anyone.
// Text from the model or from tenant data goes through it before it
// reaches Slack.
func Escape(text string) string {
	return broadcast.ReplaceAllString(mrkdwnEscaper.Replace(tierzero.Printable(text)), "@\u2060$1")
}
