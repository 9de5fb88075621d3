package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero/bot/slack/fake"
	"github.com/tierzero/tierzero/graph/sim"
)

func TestSlackConfig(t *testing.T) {
	const tenant = "tenants:\n  contoso:\n    auth: {method: simulator}\n"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"http events", "slack:\n  signing_secret_env: SLACK_SIGNING_SECRET\n  api_url: https://slack.com/api/\n" +
			tenant + "    slack: {team_id: T0TIERZ01, bot_token_env: CONTOSO_SLACK_BOT_TOKEN, approvals_channel: C0APPROVE}\n", nil},
		{"socket mode and oauth", "slack:\n  app_token_env: SLACK_APP_TOKEN\n  oauth: {client_id: \"1.2\", client_secret_env: SLACK_CLIENT_SECRET, redirect_url: \"https://t0.example/slack/oauth\"}\n" +
			tenant + "    slack: {team_id: T0TIERZ01}\n", nil},
		{"no transport", "slack: {api_url: https://slack.com/api/}\n" + tenant + "    slack: {team_id: T0TIERZ01, bot_token_env: X}\n",
			[]string{"1: slack needs signing_secret_env (events over HTTP) or app_token_env"}},
		{"a secret for a variable", "slack:\n  signing_secret_env: 8f742231b10e8888abcd99yyyzzz85a5-s3cr3t\n" + tenant + "    slack: {team_id: T0TIERZ01, bot_token_env: xoxb-s3cr3t}\n",
			[]string{"2: slack.signing_secret_env is not the name of an environment variable", "6: tenant contoso: slack.bot_token_env is not the name"}},
		{"tenant slack without the app", tenant + "    slack: {team_id: T0TIERZ01, bot_token_env: X}\n",
			[]string{"4: tenant contoso: a tenant's slack needs the top-level slack section"}},
		{"bad ids", "slack: {signing_secret_env: S}\n" + tenant + "    slack: {team_id: contoso, bot_token_env: X, approvals_channel: \"#it-approvals\"}\n" +
			"  fabrikam:\n    auth: {method: simulator}\n    slack:\n      team_id: T0TIERZ01\n",
			[]string{`5: tenant contoso: slack.team_id "contoso" is not a Slack workspace id`, `5: tenant contoso: slack.approvals_channel "#it-approvals" is not a channel id`,
				"8: tenant fabrikam: slack needs bot_token_env"}},
		{"one workspace, two tenants", "slack: {signing_secret_env: S}\n" + tenant + "    slack: {team_id: T0TIERZ01, bot_token_env: X}\n" +
			"  fabrikam:\n    auth: {method: simulator}\n    slack: {team_id: T0TIERZ01, bot_token_env: Y}\n",
			[]string{"8: tenant fabrikam: slack.team_id T0TIERZ01 is also tenant contoso's"}},
		{"oauth incomplete", "slack:\n  signing_secret_env: S\n  oauth:\n    client_id: \"1.2\"\n    redirect_url: http://tierzero.example/slack/oauth\n" + tenant,
			[]string{"3: slack.oauth needs client_secret_env", "5: slack.oauth.redirect_url \"http://tierzero.example/slack/oauth\": Slack redirects only to https"}},
		{"unknown key", "slack: {signing_secret: S}\n" + tenant + "    slack: {teamid: T0TIERZ01}\n",
			[]string{`1: slack: unknown key "signing_secret" (did you mean "signing_secret_env"?)`, `5: tenants.contoso.slack: unknown key "teamid" (did you mean "team_id"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, tt.body, tt.want, "s3cr3t")
		})
	}
}

// slackSign signs body as Slack does, now.
func slackSign(secret string, body []byte) http.Header {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:", ts)
	m.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}

// TestSlackThroughServe runs the real binary's Main: `tierzero serve` with
// a configuration that enables Slack, the Graph simulator and a fake Slack
// on loopback. A signed DM "I forgot my password" to /slack/events ends
// with the reset in the simulator, the password in the requester's DM, one
// answer in the thread, and the audit; a request signed with another
// secret changes nothing.
func TestSlackThroughServe(t *testing.T) {
	const (
		signing = "test-signing-secret"
		token   = "xoxb-contoso-serve"
		team    = "T0TIERZ01"
	)
	s := sim.New(sim.Options{})
	gsrv := httptest.NewServer(s)
	defer gsrv.Close()
	sl := fake.New()
	defer sl.Close()
	sl.AddBot(token, team)
	sl.AddUser(fake.User{ID: "UADELE", TeamID: team, Email: employee, Name: "Adele Vance"})

	vars := map[string]string{"SLACK_SIGNING_SECRET": signing, "CONTOSO_SLACK_BOT_TOKEN": token, "TIERZERO_LOG": "debug"}
	srv := serveMain(t, gsrv.URL, fmt.Sprintf(`slack:
  signing_secret_env: SLACK_SIGNING_SECRET
  api_url: %s
tenants:
  contoso:
    auth: {method: simulator}
    slack: {team_id: %s, bot_token_env: CONTOSO_SLACK_BOT_TOKEN, approvals_channel: C0APPROVE}
`, sl.URL, team), vars)
	base, data := srv.base, srv.data

	post := func(body []byte, hdr http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/slack/events", bytes.NewReader(body))
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := fmt.Sprintf("%d.000100", time.Now().Unix())
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": team, "event_id": "Ev0SERVE1", "api_app_id": "A0TIERZERO",
		"authorizations": []map[string]any{{"team_id": team, "user_id": "UBOT", "is_bot": true}},
		"event":          map[string]any{"type": "message", "channel_type": "im", "channel": "DADELE", "user": "UADELE", "text": "I forgot my password", "ts": ts},
	})
	if code := post(body, slackSign("another-secret", body)); code != http.StatusUnauthorized {
		t.Fatalf("a request signed with another secret: %d, want 401", code)
	}
	if code := post(body, slackSign(signing, body)); code != http.StatusOK {
		t.Fatalf("the DM: %d, want 200", code)
	}
	waitUntil(t, "the answer", func() bool { return len(sl.Messages()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	msgs := sl.Messages()
	if len(msgs) != 2 {
		t.Fatalf("bot posted %+v, want the password and one answer", msgs)
	}
	m := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(msgs[0].Text)
	if m == nil || msgs[0].Channel != "DADELE" {
		t.Fatalf("first message %+v: want the password in adele's DM", msgs[0])
	}
	password := m[1]
	if msgs[1].Channel != "DADELE" || msgs[1].ThreadTS != ts || strings.Contains(msgs[1].Text, password) {
		t.Fatalf("answer %+v: want it in the thread, without the password", msgs[1])
	}
	wantOneReset(t, s)
	// What the request did shows in /metrics.
	_, scrape := get(t, base+"/metrics")
	for sample, want := range map[string]float64{
		`tierzero_inbound_total{channel="slack",outcome="accepted"}`:            1,
		`tierzero_ack_duration_seconds_count{channel="slack"}`:                  1,
		`tierzero_decisions_total{effect="allow",rule="self-reset-password"}`:   1,
		`tierzero_graph_calls_total{status="ok",tool="user.reset_password"}`:    1,
		`tierzero_request_duration_seconds_count{channel="slack",outcome="ok"}`: 1,
		`tierzero_deliveries_total{channel="slack",outcome="ok"}`:               2,
	} {
		if got := metricValue(scrape, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
	srv.stop(t)
	if strings.Contains(srv.log(), password) {
		t.Fatal("the password is in the logs")
	}
	wantResetAudited(t, data, password)
}
