package slack_test

import (
	"bytes"
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"

	slackbot "github.com/tierzero/tierzero/bot/slack"
)

// TestManifest checks the example app manifest against the code: exactly
// the scopes it uses, the events it answers, and its endpoints.
func TestManifest(t *testing.T) {
	b, err := os.ReadFile("../../examples/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m slack.Manifest
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if got := m.OAuthConfig.Scopes.Bot; !slices.Equal(got, slackbot.BotScopes) || len(m.OAuthConfig.Scopes.User) != 0 {
		t.Errorf("bot scopes %v, user scopes %v; want %v and none", got, m.OAuthConfig.Scopes.User, slackbot.BotScopes)
	}
	ev := m.Settings.EventSubscriptions
	if ev == nil || !slices.Equal(ev.BotEvents, slackbot.BotEvents) || len(ev.UserEvents) != 0 {
		t.Fatalf("event subscriptions %+v, want bot events %v", ev, slackbot.BotEvents)
	}
	path := func(s string) string {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" {
			t.Errorf("%q is not an https URL", s)
			return ""
		}
		return u.Path
	}
	if p := path(ev.RequestUrl); p != "/slack/events" {
		t.Errorf("events request url path %q", p)
	}
	in := m.Settings.Interactivity
	if in == nil || !in.IsEnabled || path(in.RequestUrl) != "/slack/interactive" {
		t.Errorf("interactivity %+v, want enabled at /slack/interactive", in)
	}
	if r := m.OAuthConfig.RedirectUrls; len(r) != 1 || path(r[0]) != "/slack/oauth" {
		t.Errorf("redirect urls %v, want /slack/oauth", r)
	}
	if !m.Features.AppHome.MessagesTabEnabled || m.Features.AppHome.MessagesTabReadOnlyEnabled {
		t.Error("the messages tab must be enabled and writable: employees DM the bot")
	}
}
