package slack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	slackbot "github.com/tierzero/tierzero/bot/slack"
	"github.com/tierzero/tierzero/bot/slack/fake"
)

// browser is a browser: it keeps cookies and does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// install starts an install in browser c and returns the state Slack is
// given.
func install(t *testing.T, h *harness, c *http.Client) string {
	t.Helper()
	resp, _ := get(t, c, h.srv.URL+"/slack/install")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("install: %d, want a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if !strings.HasPrefix(h.slack.URL, loc.Scheme+"://"+loc.Host) || loc.Path != "/oauth/v2/authorize" ||
		q.Get("client_id") != "111.222" || q.Get("redirect_uri") != "http://localhost/slack/oauth" ||
		q.Get("scope") != strings.Join(slackbot.BotScopes, ",") || q.Get("state") == "" {
		t.Fatalf("redirect to %s", loc)
	}
	return q.Get("state")
}

func TestOAuthInstall(t *testing.T) {
	h := newHarness(t, options{oauth: true, noToken: true})
	ctx := context.Background()
	h.slack.AddInstall("code-contoso", fake.Install{Team: team, TeamName: "Contoso", Token: "xoxb-installed"})
	h.slack.AddInstall("code-other", fake.Install{Team: "T0UNKNOWN", TeamName: "Elsewhere", Token: "xoxb-elsewhere"})

	// Before the install the workspace has no token: Slack is told to
	// deliver again later.
	if code, _ := h.postEvent(t, dm("Ev0OAUTH1", team, "UADELE", "hello", nextTS())); code != http.StatusServiceUnavailable {
		t.Fatalf("event before the install: %d, want 503", code)
	}

	alice := browser(t)
	state := install(t, h, alice)
	for _, tc := range []struct {
		name   string
		client *http.Client
		query  string
		says   string
	}{
		{"another browser", browser(t), "code=code-contoso&state=" + url.QueryEscape(state), "another browser"},
		{"a forged state", alice, "code=code-contoso&state=" + url.QueryEscape(state[:len(state)-2]+"00"), "not ours"},
		{"no state", alice, "code=code-contoso", "not ours"},
	} {
		resp, body := get(t, tc.client, h.srv.URL+"/slack/oauth?"+tc.query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.says) {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if _, ok, _ := h.db.Credential(ctx, "contoso", slackbot.BotTokenCredential); ok {
		t.Fatal("a refused callback stored a token")
	}
	resp, body := get(t, alice, h.srv.URL+"/slack/oauth?code=code-contoso&state="+url.QueryEscape(state))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "installed in Slack workspace Contoso for tenant contoso") || strings.Contains(body, "xoxb-") {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	if tok, ok, err := h.db.Credential(ctx, "contoso", slackbot.BotTokenCredential); err != nil || !ok || tok != "xoxb-installed" {
		t.Fatalf("sealed token %q %v %v", tok, ok, err)
	}
	// The state is used up, even with its cookie.
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/slack/oauth?code=code-contoso&state="+url.QueryEscape(state), nil)
	req.AddCookie(&http.Cookie{Name: "tierzero_slack_oauth", Value: strings.Split(state, ".")[0]})
	replay, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(replay.Body)
	replay.Body.Close()
	if replay.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "already used") {
		t.Fatalf("replayed state: %d %s", replay.StatusCode, b)
	}

	// A workspace no tenant names is refused, and nothing is kept.
	state = install(t, h, alice)
	resp, body = get(t, alice, h.srv.URL+"/slack/oauth?code=code-other&state="+url.QueryEscape(state))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "T0UNKNOWN") {
		t.Fatalf("unknown workspace: %d %s", resp.StatusCode, body)
	}

	// The installed token works.
	if code, _ := h.postEvent(t, dm("Ev0OAUTH2", team, "UADELE", "I forgot my password", nextTS())); code != http.StatusOK {
		t.Fatalf("event after the install: %d", code)
	}
	waitFor(t, "the answer", func() bool { return len(h.posts("chat.postMessage", "DADELE")) == 2 })
}
