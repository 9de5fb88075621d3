package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tierzero/tierzero"
	slackbot "github.com/tierzero/tierzero/bot/slack"
	"github.com/tierzero/tierzero/graph/sim"
)

// The example of Slack's documentation, "Verifying requests from Slack".
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = "1531420618"
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

// TestVerifierAgainstSlacksExample checks the signature scheme against
// Slack's documented example, and the verifier (slack-go's, on the raw
// body) with it. slack-go checks the timestamp against the real clock, so
// the example itself, from 2018, is refused as stale; its HMAC is checked
// through the signing helper every other test signs with, and the verifier
// is checked with that helper at the current time.
func TestVerifierAgainstSlacksExample(t *testing.T) {
	if got := sign(docSecret, docTimestamp, []byte(docBody)); got != docSignature {
		t.Fatalf("signature of the documented example = %s, want %s", got, docSignature)
	}
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", docTimestamp)
	h.Set("X-Slack-Signature", docSignature)
	if err := slackbot.Verify(h, []byte(docBody), docSecret); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Fatalf("the documented request of 2018: %v, want it refused as expired", err)
	}
	now := time.Now().Unix()
	for _, tc := range []struct {
		name   string
		ts     int64
		secret string
		body   string // sent; the signature is over docBody
		want   error
	}{
		{"now", now, docSecret, docBody, nil},
		{"4 minutes ago", now - 240, docSecret, docBody, nil},
		{"4 minutes ahead", now + 240, docSecret, docBody, nil},
		{"6 minutes ago", now - 360, docSecret, docBody, slack.ErrExpiredTimestamp},
		{"6 minutes ahead", now + 360, docSecret, docBody, slack.ErrExpiredTimestamp},
		{"another secret", now, "another-secret", docBody, slack.ErrInvalidSignature},
		{"tampered body", now, docSecret, strings.Replace(docBody, "roadrunner", "wile.e.coyote", 1), slack.ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := strconv.FormatInt(tc.ts, 10)
			h := http.Header{}
			h.Set("X-Slack-Request-Timestamp", ts)
			h.Set("X-Slack-Signature", sign(tc.secret, ts, []byte(docBody)))
			err := slackbot.Verify(h, []byte(tc.body), docSecret)
			if !errors.Is(err, tc.want) {
				t.Fatalf("verify: %v, want %v", err, tc.want)
			}
		})
	}
	if err := slackbot.Verify(http.Header{}, []byte(docBody), docSecret); !errors.Is(err, slack.ErrMissingHeaders) {
		t.Fatalf("no headers: %v", err)
	}
}

var secretInText = regexp.MustCompile("`([^`]+)`")

// secretOf is the secret in a private message.
func secretOf(t *testing.T, text string) string {
	t.Helper()
	m := secretInText.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no secret in %q", text)
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(m[1])
}

func TestDMForgotPassword(t *testing.T) {
	h := newHarness(t, options{})
	ts := nextTS()
	if code, body := h.postEvent(t, dm("Ev0DM01", team, "UADELE", "I forgot my password", ts)); code != http.StatusOK {
		t.Fatalf("event: %d %s", code, body)
	}
	dmCh := "DADELE"
	waitFor(t, "the reply", func() bool { return len(h.posts("chat.postMessage", dmCh)) >= 2 })
	time.Sleep(200 * time.Millisecond) // anything more would have come by now
	all := h.slack.Messages()
	if len(all) != 2 {
		t.Fatalf("bot posted %d messages, want the secret and one reply: %+v", len(all), all)
	}
	priv, reply := all[0], all[1]
	if !strings.HasPrefix(priv.Text, "Your temporary password") {
		t.Fatalf("first message %q: want the secret, delivered before the reply that says so", priv.Text)
	}
	password := secretOf(t, priv.Text)
	if priv.Channel != dmCh || priv.Method != "chat.postMessage" {
		t.Fatalf("the secret went to %s by %s, want adele's DM by chat.postMessage", priv.Channel, priv.Method)
	}
	if h.slack.Calls("conversations.open") == 0 {
		t.Fatal("the DM was not opened with conversations.open")
	}
	if reply.Channel != dmCh || reply.ThreadTS != ts || strings.Contains(reply.Text, password) {
		t.Fatalf("reply %+v: want it in the thread of %s, without the secret", reply, ts)
	}
	if !strings.Contains(reply.Text, "privately") {
		t.Fatalf("the reply does not say the password went privately: %q", reply.Text)
	}
	w := h.writes("contoso")
	if len(w) != 1 || w[0].Method != http.MethodPatch || !strings.Contains(w[0].Path, "adele.vance") {
		t.Fatalf("graph writes %+v, want one PATCH of adele", w)
	}
	var kinds []string
	var decided bool
	for _, ev := range h.audit(t, "contoso") {
		kinds = append(kinds, string(ev.Kind))
		raw, _ := json.Marshal(ev)
		if strings.Contains(string(raw), password) {
			t.Fatal("the password is in the audit")
		}
		if ev.Kind == tierzero.AuditDecided && ev.Tool == "user.reset_password" {
			decided = ev.Requester == adele && ev.Channel == tierzero.ChannelSlack
		}
	}
	if !decided || !strings.Contains(strings.Join(kinds, ","), "executed") {
		t.Fatalf("audit %v: want the reset decided for adele on slack, and executed", kinds)
	}
}

func TestMentionInChannelSecretOnlyByDM(t *testing.T) {
	h := newHarness(t, options{})
	ts := nextTS()
	if code, _ := h.postEvent(t, mention("Ev0MN01", "UADELE", "C0GENERAL", "I forgot my password", ts, nil)); code != http.StatusOK {
		t.Fatalf("event: %d", code)
	}
	waitFor(t, "the reply", func() bool { return len(h.posts("chat.postMessage", "C0GENERAL")) == 1 })
	reply := h.posts("chat.postMessage", "C0GENERAL")[0]
	priv := h.posts("chat.postMessage", "DADELE")
	if len(priv) != 1 {
		t.Fatalf("private messages %+v, want the password in adele's DM", priv)
	}
	password := secretOf(t, priv[0].Text)
	if reply.ThreadTS != ts || strings.Contains(reply.Text, password) || len(h.posts("chat.postEphemeral", "")) != 0 {
		t.Fatalf("channel reply %+v: want it in the thread, and no secret in the channel or ephemeral", reply)
	}
}

func TestOverlappingRetriesRunOnce(t *testing.T) {
	h := newHarness(t, options{})
	if err := h.sim.AddFault("contoso", sim.Fault{Method: http.MethodPatch, Kind: sim.FaultLatency, LatencyMs: 1500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	body := dm("Ev0RETRY1", team, "UADELE", "I forgot my password", nextTS())
	send := func(retry int) {
		hdr := signed(body)
		if retry > 0 {
			hdr.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
			hdr.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		if code, b := h.post(t, "/slack/events", "application/json", body, hdr); code != http.StatusOK {
			t.Errorf("delivery %d: %d %s", retry, code, b)
		}
	}
	send(0)
	time.Sleep(300 * time.Millisecond) // the first is running, inside the slow PATCH
	var wg sync.WaitGroup
	for retry := 1; retry <= 3; retry++ {
		wg.Add(1)
		go func() { defer wg.Done(); send(retry) }()
	}
	wg.Wait()
	waitFor(t, "the reply", func() bool { return len(h.posts("chat.postMessage", "DADELE")) >= 2 })
	time.Sleep(500 * time.Millisecond)
	if n := len(h.posts("chat.postMessage", "DADELE")); n != 2 {
		t.Fatalf("%d messages, want one secret and one reply: %+v", n, h.slack.Messages())
	}
	if w := h.writes("contoso"); len(w) != 1 {
		t.Fatalf("graph writes %+v, want one", w)
	}
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	h := newHarness(t, options{})
	body := dm("Ev0SIG01", team, "UADELE", "I forgot my password", nextTS())
	now := time.Now().Unix()
	at := func(ts int64, b []byte) http.Header {
		s := strconv.FormatInt(ts, 10)
		hdr := http.Header{}
		hdr.Set("X-Slack-Request-Timestamp", s)
		hdr.Set("X-Slack-Signature", sign(secret, s, b))
		return hdr
	}
	only := func(hdr http.Header, keep string) http.Header {
		out := http.Header{}
		out.Set(keep, hdr.Get(keep))
		return out
	}
	wrong := at(now, body)
	wrong.Set("X-Slack-Signature", sign("not-the-secret", strconv.FormatInt(now, 10), body))
	tampered := []byte(strings.Replace(string(body), "I forgot my password", "Reset the password of megan.bowen@contoso.com", 1))
	unknown := dm("Ev0SIG02", "T0UNKNOWN", "UADELE", "I forgot my password", nextTS())
	malformed := []byte(`{"type":"event_callback","team_id":"` + team + `","event_id":`)
	badInner := []byte(`{"type":"event_callback","team_id":"` + team + `","event_id":"Ev0SIG03","event":{"type":"message","channel_type":"im","user":"UADELE","ts":17,"text":{"no":"string"}}}`)
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		hdr    http.Header
		status int
		says   string
	}{
		{"bad signature", "/slack/events", body, wrong, 401, "invalid signature"},
		{"stale timestamp", "/slack/events", body, at(now-6*60, body), 401, "more than 5 minutes"},
		{"future timestamp", "/slack/events", body, at(now+6*60, body), 401, "more than 5 minutes"},
		{"missing signature", "/slack/events", body, only(at(now, body), "X-Slack-Request-Timestamp"), 401, "missing"},
		{"missing timestamp", "/slack/events", body, only(at(now, body), "X-Slack-Signature"), 401, "missing"},
		{"tampered body", "/slack/events", tampered, at(now, body), 401, "invalid signature"},
		{"click with a bad signature", "/slack/interactive", click(team, "UMIRIAM", "DMIRIAM", "tierzero_approve", "x"), wrong, 401, "invalid signature"},
		{"unknown workspace", "/slack/events", unknown, at(now, unknown), 200, ""},
		{"malformed JSON", "/slack/events", malformed, at(now, malformed), 400, "malformed JSON"},
		{"inner event slack-go cannot parse", "/slack/events", badInner, at(now, badInner), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := h.post(t, tc.path, "application/json", tc.body, tc.hdr)
			if code != tc.status || !strings.Contains(got, tc.says) {
				t.Fatalf("%d %q, want %d saying %q", code, got, tc.status, tc.says)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if m := h.slack.Messages(); len(m) != 0 {
		t.Fatalf("the bot posted %+v", m)
	}
	if n := h.slack.Calls("users.info"); n != 0 {
		t.Fatalf("users.info was called %d times", n)
	}
	if w := h.writes("contoso"); len(w) != 0 {
		t.Fatalf("graph writes %+v", w)
	}
	if evs := h.audit(t, "contoso"); len(evs) != 0 {
		t.Fatalf("audit %+v", evs)
	}
}

func TestURLVerification(t *testing.T) {
	h := newHarness(t, options{})
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	code, got := h.postEvent(t, body)
	if code != 200 || !strings.Contains(got, `"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"`) {
		t.Fatalf("%d %s", code, got)
	}
	if code, _ := h.post(t, "/slack/events", "application/json", body, nil); code != 401 {
		t.Fatalf("unsigned url_verification: %d, want 401", code)
	}
}

func TestWhoIsRefused(t *testing.T) {
	h := newHarness(t, options{})
	for _, tc := range []struct {
		name, user string
		extra      map[string]any // an @mention in a shared channel
		says       string
	}{
		{"multi-channel guest", "UGUEST", nil, "full members"},
		{"single-channel guest", "USINGLE", nil, "full members"},
		{"Slack Connect user of another org", "UEXT", nil, "another organisation"},
		{"another org's user in a shared channel", "UADELE", map[string]any{"user_team": "T0OTHERORG", "source_team": "T0OTHERORG"}, "another organisation"},
		{"deactivated user", "UGONE", nil, "deactivated"},
		{"user without an email", "UNOMAIL", nil, "no e-mail"},
		{"bot user", "UROBOT", nil, "not bots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.slack.Messages())
			ts := nextTS()
			var body []byte
			channel := "D" + strings.TrimPrefix(tc.user, "U")
			if tc.extra != nil {
				channel = "C0SHARED"
				body = mention("Ev0WHO"+tc.user+"x", tc.user, channel, "I forgot my password", ts, tc.extra)
			} else {
				body = dm("Ev0WHO"+tc.user, team, tc.user, "I forgot my password", ts)
			}
			for range 2 { // a redelivery is not refused twice
				if code, _ := h.postEvent(t, body); code != 200 {
					t.Fatalf("event: %d", code)
				}
			}
			waitFor(t, "the refusal", func() bool { return len(h.slack.Messages()) > before })
			time.Sleep(100 * time.Millisecond)
			got := h.slack.Messages()[before:]
			if len(got) != 1 || got[0].Channel != channel || got[0].ThreadTS != ts || !strings.Contains(got[0].Text, tc.says) || !strings.HasPrefix(got[0].Text, "Sorry") {
				t.Fatalf("posted %+v, want one polite refusal saying %q in the thread", got, tc.says)
			}
		})
	}
	// Loops: a bot's message, the bot's own and an edit are not answered.
	for i, ev := range []map[string]any{
		{"type": "message", "channel": "DADELE", "channel_type": "im", "user": "UADELE", "bot_id": "B0OTHER", "text": "I forgot my password", "ts": nextTS()},
		{"type": "message", "channel": "DADELE", "channel_type": "im", "subtype": "bot_message", "text": "I forgot my password", "ts": nextTS()},
		{"type": "message", "channel": "DADELE", "channel_type": "im", "user": botUser, "text": "I forgot my password", "ts": nextTS()},
		{"type": "message", "channel": "DADELE", "channel_type": "im", "subtype": "message_changed", "ts": nextTS(),
			"message": map[string]any{"user": "UADELE", "text": "I forgot my password", "ts": nextTS()}},
	} {
		if code, _ := h.postEvent(t, callback("Ev0LOOP"+strconv.Itoa(i), team, ev)); code != 200 {
			t.Fatalf("loop %d: %d", i, code)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(h.slack.Messages()); n != 7 {
		t.Fatalf("%d messages, want the 7 refusals only: %+v", n, h.slack.Messages())
	}
	if w := h.writes("contoso"); len(w) != 0 {
		t.Fatalf("graph writes %+v", w)
	}
	if items, _ := h.db.Inbox(context.Background(), "contoso"); len(items) != 0 || len(h.audit(t, "contoso")) != 0 {
		t.Fatalf("a refused message reached the desk: inbox %+v", items)
	}
}

// approvalID is the approval id in the buttons of a posted request.
func approvalID(t *testing.T, blocks string) string {
	t.Helper()
	m := regexp.MustCompile(`"action_id":"tierzero_approve"[^}]*?"value":"([^"]+)"|"value":"([^"]+)"[^}]*?"action_id":"tierzero_approve"`).FindStringSubmatch(blocks)
	if m == nil {
		t.Fatalf("no approve button in %s", blocks)
	}
	return m[1] + m[2]
}

func TestApprovalByButton(t *testing.T) {
	h := newHarness(t, options{})
	ts := nextTS()
	if code, _ := h.postEvent(t, dm("Ev0TAP01", team, "UADELE", "I got a new phone and lost my authenticator", ts)); code != 200 {
		t.Fatalf("event: %d", code)
	}
	waitFor(t, "the request to the manager", func() bool { return len(h.posts("chat.postMessage", "DMIRIAM")) == 1 })
	waitFor(t, "adele's answer", func() bool { return len(h.posts("chat.postMessage", "DADELE")) == 1 })
	req := h.posts("chat.postMessage", "DMIRIAM")[0]
	inChannel := h.posts("chat.postMessage", "C0APPROVE")
	if len(inChannel) != 1 || inChannel[0].Blocks != req.Blocks {
		t.Fatalf("approvals channel got %+v, want the same request", inChannel)
	}
	for _, want := range []string{"user.issue_tap", adele, "tierzero_deny", "Approve"} {
		if !strings.Contains(req.Blocks, want) {
			t.Fatalf("the request does not show %q: %s", want, req.Blocks)
		}
	}
	id := approvalID(t, req.Blocks)

	// The requester, a guest and an admin who is no approver of it click:
	// nothing changes, and each is told why, privately.
	for _, who := range []struct{ user, channel, says string }{
		{"UADELE", "C0APPROVE", "not recorded"},
		{"UGUEST", "C0APPROVE", "not recorded"},
		{"UALEX", "C0APPROVE", "not recorded"},
	} {
		before := len(h.posts("chat.postEphemeral", ""))
		if code, _ := h.postClick(t, click(team, who.user, who.channel, "tierzero_approve", id)); code != 200 {
			t.Fatalf("click: %d", code)
		}
		waitFor(t, "the answer to "+who.user, func() bool { return len(h.posts("chat.postEphemeral", "")) > before })
		e := h.posts("chat.postEphemeral", "")[before]
		if e.User != who.user || e.Channel != who.channel || !strings.Contains(e.Text, who.says) {
			t.Fatalf("answer %+v, want %q to %s alone", e, who.says, who.user)
		}
	}
	if w := h.writes("contoso"); len(w) != 0 {
		t.Fatalf("a refused click wrote: %+v", w)
	}

	// The manager approves: the pass is issued once, to adele alone.
	if code, _ := h.postClick(t, click(team, "UMIRIAM", "DMIRIAM", "tierzero_approve", id)); code != 200 {
		t.Fatalf("click: %d", code)
	}
	waitFor(t, "both copies updated", func() bool { return len(h.posts("chat.update", "")) == 2 })
	waitFor(t, "adele told", func() bool { return len(h.posts("chat.postMessage", "DADELE")) == 3 })
	w := h.writes("contoso")
	if len(w) != 1 || w[0].Method != http.MethodPost || !strings.Contains(w[0].Path, "temporaryAccessPass") {
		t.Fatalf("graph writes %+v, want one pass", w)
	}
	got := h.posts("chat.postMessage", "DADELE")
	pass := secretOf(t, got[1].Text)
	if !strings.Contains(got[1].Text, "Temporary Access Pass") || !strings.Contains(got[2].Text, "approved your request") || got[2].ThreadTS != ts {
		t.Fatalf("adele got %+v, want the pass, then the outcome in her thread", got[1:])
	}
	for _, m := range h.slack.Messages() {
		if m.Channel != "DADELE" && strings.Contains(m.Text+m.Blocks, pass) {
			t.Fatalf("the pass reached %s: %+v", m.Channel, m)
		}
	}
	for _, u := range h.posts("chat.update", "") {
		if strings.Contains(u.Blocks, "tierzero_approve") || !strings.Contains(u.Blocks, "approved by "+miriam) {
			t.Fatalf("copy %s updated to %s: want the outcome and no buttons", u.Channel, u.Blocks)
		}
	}
	waitFor(t, "the manager told", func() bool {
		for _, e := range h.posts("chat.postEphemeral", "DMIRIAM") {
			if e.User == "UMIRIAM" && strings.Contains(e.Text, "it ran") {
				return true
			}
		}
		return false
	})

	// A second click changes nothing.
	before := len(h.posts("chat.postEphemeral", ""))
	h.postClick(t, click(team, "UMIRIAM", "DMIRIAM", "tierzero_approve", id))
	waitFor(t, "the answer", func() bool { return len(h.posts("chat.postEphemeral", "")) > before })
	if w := h.writes("contoso"); len(w) != 1 {
		t.Fatalf("a second click wrote again: %+v", w)
	}
}

func TestSocketMode(t *testing.T) {
	h := newHarness(t, options{appToken: "xapp-1-test"})
	waitFor(t, "the socket", func() bool { return h.slack.Connections() == 1 })
	first := dm("Ev0SOCK01", team, "UADELE", "I forgot my password", nextTS())
	if err := h.slack.Send("env-1", "events_api", first, 0); err != nil {
		t.Fatal(err)
	}
	if h.slack.WaitAck("env-1", 10*time.Second) != 1 {
		t.Fatal("the event was not acked")
	}
	waitFor(t, "the reply", func() bool { return len(h.posts("chat.postMessage", "DADELE")) == 2 })

	// The socket drops: slack-go opens a new one.
	h.slack.Drop()
	waitFor(t, "the reconnect", func() bool { return h.slack.Connections() == 2 })
	time.Sleep(100 * time.Millisecond)
	second := dm("Ev0SOCK02", team, "UMIRIAM", "I forgot my password", nextTS())
	if err := h.slack.Send("env-2", "events_api", second, 0); err != nil {
		t.Fatal(err)
	}
	if h.slack.WaitAck("env-2", 10*time.Second) != 1 {
		t.Fatal("the event after the reconnect was not acked")
	}
	waitFor(t, "the second reply", func() bool { return len(h.posts("chat.postMessage", "DMIRIAM")) == 2 })

	// Slack asks for a reconnect; then redelivers the first event.
	if err := h.slack.Disconnect(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reconnect Slack asked for", func() bool { return h.slack.Connections() == 3 })
	time.Sleep(100 * time.Millisecond)
	if err := h.slack.Send("env-1-retry", "events_api", first, 1); err != nil {
		t.Fatal(err)
	}
	if h.slack.WaitAck("env-1-retry", 10*time.Second) != 1 {
		t.Fatal("the redelivery was not acked")
	}
	// An envelope slack-go cannot parse is acked and ignored.
	bad := []byte(`{"type":"event_callback","team_id":"` + team + `","event_id":"Ev0SOCK03","event":{"type":"message","ts":17}}`)
	if err := h.slack.Send("env-bad", "events_api", bad, 0); err != nil {
		t.Fatal(err)
	}
	if h.slack.WaitAck("env-bad", 10*time.Second) != 1 {
		t.Fatal("the unparseable event was not acked")
	}
	// A click arrives over the socket too: acked, decided, answered
	// privately (here: no such approval, so nothing is recorded).
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": team}, "user": map[string]any{"id": "UMIRIAM", "team_id": team},
		"channel": map[string]any{"id": "DMIRIAM"},
		"actions": []map[string]any{{"type": "button", "action_id": "tierzero_approve", "block_id": "tierzero_approval", "value": "no-such-approval"}},
	})
	if err := h.slack.Send("env-click", "interactive", payload, 0); err != nil {
		t.Fatal(err)
	}
	if h.slack.WaitAck("env-click", 10*time.Second) != 1 {
		t.Fatal("the click was not acked")
	}
	waitFor(t, "the answer to the click", func() bool {
		e := h.posts("chat.postEphemeral", "DMIRIAM")
		return len(e) == 1 && e[0].User == "UMIRIAM" && strings.Contains(e[0].Text, "not recorded")
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(h.posts("chat.postMessage", "DADELE")); n != 2 {
		t.Fatalf("%d messages to adele, want the first answer only", n)
	}
	if w := h.writes("contoso"); len(w) != 2 {
		t.Fatalf("graph writes %+v, want one reset each", w)
	}
	if h.slack.Calls("apps.connections.open") != 3 {
		t.Fatalf("apps.connections.open called %d times, want 3", h.slack.Calls("apps.connections.open"))
	}
}

func TestRateLimitsNeverDropAReply(t *testing.T) {
	h := newHarness(t, options{})
	// Six 429s exhaust the adapter's retries of the first post (Reply
	// fails, the desk's outbox keeps it); the next try goes through.
	h.slack.RateLimit("chat.postMessage", 7, 0)
	if code, _ := h.postEvent(t, dm("Ev0RATE1", team, "UADELE", "I forgot my password", nextTS())); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "the messages", func() bool { return len(h.posts("chat.postMessage", "DADELE")) == 2 })
	time.Sleep(200 * time.Millisecond)
	if n := len(h.posts("chat.postMessage", "DADELE")); n != 2 {
		t.Fatalf("%d messages, want the secret and the reply once each", n)
	}
	if calls := h.slack.Calls("chat.postMessage"); calls != 9 {
		t.Fatalf("chat.postMessage called %d times, want 7 refused and 2 delivered", calls)
	}
}

func TestLookingIntoIt(t *testing.T) {
	h := newHarness(t, options{notice: 400 * time.Millisecond})
	if err := h.sim.AddFault("contoso", sim.Fault{Method: http.MethodPatch, Kind: sim.FaultLatency, LatencyMs: 1500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	slow := nextTS()
	h.postEvent(t, dm("Ev0SLOW1", team, "UADELE", "I forgot my password", slow))
	waitFor(t, "the reply", func() bool { return len(h.posts("chat.postMessage", "DADELE")) == 3 })
	got := h.posts("chat.postMessage", "DADELE")
	if !strings.HasPrefix(got[0].Text, "Looking into it") || got[0].ThreadTS != slow {
		t.Fatalf("messages %+v: want the notice first, in the thread", got)
	}
	fast := nextTS()
	h.postEvent(t, dm("Ev0FAST1", team, "UMIRIAM", "hello", fast))
	waitFor(t, "the reply", func() bool { return len(h.posts("chat.postMessage", "DMIRIAM")) == 1 })
	time.Sleep(700 * time.Millisecond)
	if got := h.posts("chat.postMessage", "DMIRIAM"); len(got) != 1 || strings.HasPrefix(got[0].Text, "Looking") {
		t.Fatalf("a fast answer got a notice: %+v", got)
	}
}

func TestEscape(t *testing.T) {
	in := "Done <!channel> <!here|here> <@U0ADMIN> <https://evil.example|https://portal.office.com> & @here @Everyone \u202egnp.exe\x1b[2K"
	got := slackbot.Escape(in)
	if strings.ContainsAny(got, "<>\u202e\x1b") || strings.Contains(got, "@here") || strings.Contains(strings.ToLower(got), "@everyone") {
		t.Fatalf("Escape(%q) = %q", in, got)
	}
	if !strings.Contains(got, "&lt;!channel&gt;") || !strings.Contains(got, "&amp; ") {
		t.Fatalf("Escape(%q) = %q: want entities", in, got)
	}
	for _, tc := range []struct{ in, want string }{
		{"<@UBOT> I forgot my password", "I forgot my password"},
		{"reset <mailto:alex.wilber@contoso.com|alex.wilber@contoso.com>", "reset alex.wilber@contoso.com"},
		{"see <https://example.com|the page> &amp; <#C1|general> &lt;3", "see the page (https://example.com) & #general <3"},
	} {
		if got := slackbot.PlainText(tc.in, "UBOT"); got != tc.want {
			t.Errorf("PlainText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
