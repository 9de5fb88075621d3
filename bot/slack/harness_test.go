package slack_test

// These tests run the Slack adapter on the real pipeline: the desk, the
// agent with the offline rules model, policy.Guard with the baseline, the
// Graph client over the simulator on loopback, and the encrypted store in a
// temporary directory. Slack is package fake on loopback, driven by
// slack-go; requests to the adapter are signed like Slack signs them and
// posted to its handlers on an httptest server.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/bot/bottest"
	slackbot "github.com/tierzero/tierzero/bot/slack"
	"github.com/tierzero/tierzero/bot/slack/fake"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/store"
)

const (
	secret   = "8f742231b10e8888abcd99yyyzzz85a5"
	team     = "T0TIERZ01"
	fabTeam  = "T0FABRIK1"
	botToken = "xoxb-contoso-test"
	botUser  = "UBOT"

	adele  = "adele.vance@contoso.com"
	miriam = "miriam.graham@contoso.com" // Adele's manager
	alex   = "alex.wilber@contoso.com"
)

// Slack users of the contoso workspace and others.
var users = []fake.User{
	{ID: "UADELE", TeamID: team, Email: adele, Name: "Adele Vance"},
	{ID: "UMIRIAM", TeamID: team, Email: miriam, Name: "Miriam Graham"},
	{ID: "UALEX", TeamID: team, Email: alex, Name: "Alex Wilber"},
	{ID: "UMEGAN", TeamID: team, Email: "megan.bowen@contoso.com", Name: "Megan Bowen"},
	{ID: "UGUEST", TeamID: team, Email: "pat@partner.example", Name: "Pat Guest", Restricted: true},
	{ID: "USINGLE", TeamID: team, Email: "sam@partner.example", Name: "Sam Single", Restricted: true, UltraRestricted: true},
	{ID: "UEXT", TeamID: "T0OTHERORG", Email: "adele.vance@contoso.com", Name: "Impostor From Another Org"},
	{ID: "UGONE", TeamID: team, Email: "gone@contoso.com", Name: "Gone", Deleted: true},
	{ID: "UNOMAIL", TeamID: team, Name: "No Mail"},
	{ID: "UROBOT", TeamID: team, Email: "robot@contoso.com", Name: "Robot", Bot: true},
}

type harness struct {
	sim   *sim.Server
	slack *fake.Server
	db    *store.DB
	desk  *bot.Desk
	ad    *slackbot.Adapter
	srv   *httptest.Server
	stop  context.CancelFunc
	done  chan error
}

type options struct {
	notice    time.Duration
	appToken  string // Socket Mode
	oauth     bool
	noToken   bool // no bot token configured: only an OAuth install
	ackBudget time.Duration
	workers   int
}

func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	h := &harness{slack: fake.New()}
	t.Cleanup(h.slack.Close)
	for _, u := range users {
		h.slack.AddUser(u)
	}
	h.slack.AddBot(botToken, team)
	h.slack.AddBot("xoxb-fabrikam-test", fabTeam)
	if o.appToken != "" {
		h.slack.AddAppToken(o.appToken)
	}
	p := bottest.New(t, bottest.Options{Workers: o.workers})
	h.sim, h.db, h.desk = p.Sim, p.DB, p.Desk
	cfg := slackbot.Config{
		SigningSecret: secret, APIURL: h.slack.URL, AppToken: o.appToken,
		Workspaces: []slackbot.Workspace{
			{Tenant: "contoso", TeamID: team, BotToken: botToken, ApprovalsChannel: "C0APPROVE"},
			{Tenant: "fabrikam", TeamID: fabTeam, BotToken: "xoxb-fabrikam-test"},
		},
		Desk: h.desk, Store: h.db, Notice: o.notice, AckBudget: o.ackBudget, PingInterval: 2 * time.Second,
	}
	if cfg.Notice == 0 {
		cfg.Notice = time.Minute
	}
	if o.noToken {
		cfg.Workspaces[0].BotToken = ""
	}
	if o.oauth {
		cfg.OAuth = &slackbot.OAuth{ClientID: "111.222", ClientSecret: "client-secret", RedirectURL: "http://localhost/slack/oauth"}
		h.slack.SetClient("111.222", "client-secret")
	}
	var err error
	h.ad, err = slackbot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.desk.Register(tierzero.ChannelSlack, h.ad.Responder())
	mux := http.NewServeMux()
	h.ad.Mount(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)

	p.Open(t)
	rctx, stop := context.WithCancel(context.Background())
	h.stop, h.done = stop, make(chan error, 1)
	go func() { h.done <- h.ad.Run(rctx) }()
	t.Cleanup(func() {
		h.stop()
		<-h.done
	})
	return h
}

// sign returns Slack's v0 signature of body at timestamp ts with the
// secret: "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
func sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:", ts)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// signed returns the headers of a request Slack signed now.
func signed(body []byte) http.Header {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", sign(secret, ts, body))
	return h
}

// post posts body to path with headers hdr and returns the status and body.
func (h *harness) post(t testing.TB, path, contentType string, body []byte, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postEvent posts a signed Events API request.
func (h *harness) postEvent(t testing.TB, body []byte) (int, string) {
	return h.post(t, "/slack/events", "application/json", body, signed(body))
}

var tsSeq atomic.Int64

// nextTS is a fresh Slack message timestamp.
func nextTS() string {
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), 100+tsSeq.Add(1))
}

// dm is an Events API request: a DM from user to the bot.
func dm(eventID, teamID, user, text, ts string) []byte {
	return callback(eventID, teamID, map[string]any{
		"type": "message", "channel": fake.IM(user), "channel_type": "im", "user": user, "text": text, "ts": ts, "event_ts": ts,
	})
}

// mention is an Events API request: an @mention of the bot in a channel.
func mention(eventID, user, channel, text, ts string, extra map[string]any) []byte {
	ev := map[string]any{"type": "app_mention", "channel": channel, "user": user, "text": "<@" + botUser + "> " + text, "ts": ts, "event_ts": ts}
	for k, v := range extra {
		ev[k] = v
	}
	return callback(eventID, team, ev)
}

func callback(eventID, teamID string, ev map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"token": "legacy-verification-token", "team_id": teamID, "api_app_id": "A0TIERZERO", "type": "event_callback",
		"event_id": eventID, "event_time": time.Now().Unix(), "event": ev,
		"authorizations": []map[string]any{{"team_id": teamID, "user_id": botUser, "is_bot": true}},
	})
	return b
}

// click is an interactivity request: user clicks a button of an approval.
func click(teamID, user, channel, actionID, approval string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": teamID, "domain": "contoso"},
		"user":    map[string]any{"id": user, "username": strings.ToLower(user), "team_id": teamID},
		"channel": map[string]any{"id": channel}, "container": map[string]any{"type": "message", "channel_id": channel},
		"actions": []map[string]any{{"type": "button", "action_id": actionID, "block_id": "tierzero_approval", "value": approval}},
	})
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// postClick posts a signed interactivity request.
func (h *harness) postClick(t testing.TB, body []byte) (int, string) {
	return h.post(t, "/slack/interactive", "application/x-www-form-urlencoded", body, signed(body))
}

// waitFor polls until cond holds, or fails the test.
var waitFor = bottest.WaitFor

// writes are the simulator's successful writes of a tenant.
func (h *harness) writes(tenant string) []sim.JournalEntry { return bottest.Writes(h.sim, tenant) }

// posts are the messages the bot posted with method, in channel when
// channel is not "".
func (h *harness) posts(method, channel string) []fake.Message {
	var out []fake.Message
	for _, m := range h.slack.Messages() {
		if m.Method == method && (channel == "" || m.Channel == channel) {
			out = append(out, m)
		}
	}
	return out
}

// audit returns the kinds of a tenant's audit events.
func (h *harness) audit(t testing.TB, tenant tierzero.TenantID) []tierzero.AuditEvent {
	t.Helper()
	var evs []tierzero.AuditEvent
	if err := h.db.Audit(context.Background(), tenant, time.Time{}, func(ev tierzero.AuditEvent) error {
		evs = append(evs, ev)
		return nil
	}); err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatal(err)
	}
	return evs
}
