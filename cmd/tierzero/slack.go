package main

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	slackbot "github.com/tierzero/tierzero/bot/slack"
)

// slackConfig is the Slack app (the top-level slack section). Secrets are
// named by the variables that hold them.
type slackConfig struct {
	SigningSecretEnv string            `yaml:"signing_secret_env"` // verifies /slack/events and /slack/interactive
	APIURL           string            `yaml:"api_url"`            // default https://slack.com/api/
	AppTokenEnv      string            `yaml:"app_token_env"`      // optional: Socket Mode instead of HTTP events
	OAuth            *slackOAuthConfig `yaml:"oauth"`              // optional: /slack/install and /slack/oauth
}

// slackOAuthConfig is the app's OAuth v2 install.
type slackOAuthConfig struct {
	ClientID        string `yaml:"client_id"`
	ClientSecretEnv string `yaml:"client_secret_env"`
	RedirectURL     string `yaml:"redirect_url"` // https://HOST/slack/oauth
}

// tenantSlackConfig is one tenant's Slack workspace.
type tenantSlackConfig struct {
	TeamID           string `yaml:"team_id"`           // T...
	BotTokenEnv      string `yaml:"bot_token_env"`     // the bot token (xoxb-...); else the OAuth install's
	ApprovalsChannel string `yaml:"approvals_channel"` // optional: a channel id (C...) that sees every approval request
}

var (
	slackTeamID    = regexp.MustCompile(`^[TE][A-Z0-9]{2,}$`)
	slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
)

// validateSlack checks the slack sections.
func (c *config) validateSlack(doc *yaml.Node) []problem {
	var ps []problem
	add := func(path []any, format string, args ...any) {
		ps = append(ps, problem{lineOf(doc, path...), fmt.Sprintf(format, args...)})
	}
	variable := func(path []any, key, name, holds string) {
		if name != "" && !envName.MatchString(name) {
			// The value is not shown: it may be the secret itself.
			add(path, "%s is not the name of an environment variable: it names the variable that holds the %s, never the %s", key, holds, holds)
		}
	}
	s := c.Slack
	if s != nil {
		if s.SigningSecretEnv == "" && s.AppTokenEnv == "" {
			add([]any{"slack"}, "slack needs signing_secret_env (events over HTTP) or app_token_env (Socket Mode)")
		}
		variable([]any{"slack", "signing_secret_env"}, "slack.signing_secret_env", s.SigningSecretEnv, "signing secret")
		variable([]any{"slack", "app_token_env"}, "slack.app_token_env", s.AppTokenEnv, "app-level token")
		if s.APIURL != "" && !absoluteURL(s.APIURL) {
			add([]any{"slack", "api_url"}, "slack.api_url %q is not an absolute URL", s.APIURL)
		}
		if o := s.OAuth; o != nil {
			if o.ClientID == "" {
				add([]any{"slack", "oauth"}, "slack.oauth needs client_id")
			}
			if o.ClientSecretEnv == "" {
				add([]any{"slack", "oauth"}, "slack.oauth needs client_secret_env")
			}
			variable([]any{"slack", "oauth", "client_secret_env"}, "slack.oauth.client_secret_env", o.ClientSecretEnv, "client secret")
			u, err := url.Parse(o.RedirectURL)
			switch {
			case o.RedirectURL == "":
				add([]any{"slack", "oauth"}, "slack.oauth needs redirect_url (https://HOST/slack/oauth)")
			case err != nil || !absoluteURL(o.RedirectURL) || !strings.HasSuffix(u.Path, "/slack/oauth"):
				add([]any{"slack", "oauth", "redirect_url"}, "slack.oauth.redirect_url %q: want the absolute URL of /slack/oauth, e.g. https://tierzero.example.com/slack/oauth", o.RedirectURL)
			case u.Scheme != "https" && !loopbackHost(u.Hostname()):
				add([]any{"slack", "oauth", "redirect_url"}, "slack.oauth.redirect_url %q: Slack redirects only to https (plain http only on a loopback address)", o.RedirectURL)
			}
		}
	}
	teams := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		t := c.Tenants[id].Slack
		if t == nil {
			continue
		}
		at := func(p ...any) []any { return append([]any{"tenants", string(id), "slack"}, p...) }
		if s == nil {
			add(at(), "tenant %s: a tenant's slack needs the top-level slack section (signing_secret_env or app_token_env)", id)
		}
		switch {
		case t.TeamID == "":
			add(at(), "tenant %s: slack needs team_id (the workspace id, T...)", id)
		case !slackTeamID.MatchString(t.TeamID):
			add(at("team_id"), "tenant %s: slack.team_id %q is not a Slack workspace id (T...)", id, t.TeamID)
		case teams[t.TeamID] != "":
			add(at("team_id"), "tenant %s: slack.team_id %s is also tenant %s's: a workspace belongs to one tenant", id, t.TeamID, teams[t.TeamID])
		default:
			teams[t.TeamID] = string(id)
		}
		if t.BotTokenEnv == "" && (s == nil || s.OAuth == nil) {
			add(at(), "tenant %s: slack needs bot_token_env (or slack.oauth, to install the app in the workspace)", id)
		}
		variable(at("bot_token_env"), fmt.Sprintf("tenant %s: slack.bot_token_env", id), t.BotTokenEnv, "bot token")
		if t.ApprovalsChannel != "" && !slackChannelID.MatchString(t.ApprovalsChannel) {
			add(at("approvals_channel"), "tenant %s: slack.approvals_channel %q is not a channel id (C...): use the channel's id (channel details, at the bottom), not its name", id, t.ApprovalsChannel)
		}
	}
	return ps
}

// loopbackHost reports whether h names this machine: localhost or a
// loopback address.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// slackAdapter is the Slack channel, when the configuration has a slack
// section (issue 13); nil otherwise. Its secrets are read from the
// variables the configuration names.
func (a *app) slackAdapter(rt *runtime, c *config) (adapter, error) {
	if c == nil || c.Slack == nil {
		return nil, nil
	}
	s := c.Slack
	cfg := slackbot.Config{APIURL: s.APIURL, Desk: rt.desk, Store: rt.db, Acks: rt.acks, Logger: a.log}
	secret := func(what, name string) (string, error) {
		if name == "" {
			return "", nil
		}
		v := a.getenv(name)
		if v == "" {
			return "", fmt.Errorf("slack: the %s variable %s is empty", what, name)
		}
		return v, nil
	}
	var err error
	if cfg.SigningSecret, err = secret("signing secret", s.SigningSecretEnv); err != nil {
		return nil, err
	}
	if cfg.AppToken, err = secret("app-level token", s.AppTokenEnv); err != nil {
		return nil, err
	}
	if o := s.OAuth; o != nil {
		cs, err := secret("client secret", o.ClientSecretEnv)
		if err != nil {
			return nil, err
		}
		cfg.OAuth = &slackbot.OAuth{ClientID: o.ClientID, ClientSecret: cs, RedirectURL: o.RedirectURL}
	}
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		t := c.Tenants[id].Slack
		if t == nil {
			continue
		}
		w := slackbot.Workspace{Tenant: id, TeamID: t.TeamID, ApprovalsChannel: t.ApprovalsChannel}
		if t.BotTokenEnv != "" {
			if w.BotToken = a.getenv(t.BotTokenEnv); w.BotToken == "" {
				// Not fatal: the workspace may have been installed through
				// OAuth; its messages fail, on the record, until it is.
				a.log.Error("slack bot token variable empty; using the token of an OAuth install, if any", "tenant", id, "variable", t.BotTokenEnv)
			}
		}
		cfg.Workspaces = append(cfg.Workspaces, w)
	}
	ad, err := slackbot.New(cfg)
	if err != nil {
		return nil, err
	}
	return ad, nil
}
