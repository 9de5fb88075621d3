package main

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot/teams"
)

// teamsConfig is the Teams bot (the top-level teams section): its Azure
// Bot registration. The password is named by the variable that holds it.
type teamsConfig struct {
	AppID          string `yaml:"app_id"`           // the bot's Microsoft App id
	AppPasswordEnv string `yaml:"app_password_env"` // the variable holding its client secret
	// AppTenant is the Entra tenant the bot is registered in (a
	// single-tenant registration, the default for new bots): the token URL
	// is that tenant's.
	AppTenant         string   `yaml:"app_tenant"`
	OpenIDMetadataURL string   `yaml:"openid_metadata_url"` // default the Bot Framework's
	TokenURL          string   `yaml:"token_url"`           // default https://login.microsoftonline.com/{app_tenant}/oauth2/v2.0/token
	ServiceURLs       []string `yaml:"service_urls"`        // prefixes our token may be sent to; default https://smba.trafficmanager.net/
}

// tenantTeamsConfig is one tenant's Teams: its Entra tenant id, as the
// activities carry it (channelData.tenant.id).
type tenantTeamsConfig struct {
	TenantID              string `yaml:"tenant_id"`
	ApprovalsConversation string `yaml:"approvals_conversation"` // optional: a channel (19:...@thread.tacv2) that sees every approval request
}

// tokenURL is the bot's token endpoint.
func (t *teamsConfig) tokenURL() string {
	if t.TokenURL != "" {
		return t.TokenURL
	}
	return teams.TokenURL(t.AppTenant)
}

// validateTeams checks the teams sections.
func (c *config) validateTeams(doc *yaml.Node) []problem {
	var ps []problem
	add := func(path []any, format string, args ...any) {
		ps = append(ps, problem{lineOf(doc, path...), fmt.Sprintf(format, args...)})
	}
	t := c.Teams
	if t != nil {
		at := func(p ...any) []any { return append([]any{"teams"}, p...) }
		switch {
		case t.AppID == "":
			add(at(), "teams needs app_id (the Azure Bot's Microsoft App id)")
		case !teams.ValidGUID(t.AppID):
			add(at("app_id"), "teams.app_id %q is not a GUID (the Azure Bot's Microsoft App id)", t.AppID)
		}
		switch {
		case t.AppPasswordEnv == "":
			add(at(), "teams needs app_password_env (the variable that holds the bot's client secret)")
		case !envName.MatchString(t.AppPasswordEnv):
			// The value is not shown: it may be the secret itself.
			add(at("app_password_env"), "teams.app_password_env is not the name of an environment variable: it names the variable that holds the client secret, never the secret")
		}
		switch {
		case t.AppTenant == "" && t.TokenURL == "":
			add(at(), "teams needs app_tenant (the Entra tenant id the bot is registered in; new bots are single-tenant)")
		case t.AppTenant != "" && !teams.ValidGUID(t.AppTenant) && t.AppTenant != "botframework.com":
			add(at("app_tenant"), "teams.app_tenant %q is not a tenant id (a GUID; botframework.com for an old multi-tenant bot)", t.AppTenant)
		}
		for _, u := range []struct{ key, value string }{{"openid_metadata_url", t.OpenIDMetadataURL}, {"token_url", t.TokenURL}} {
			if u.value != "" && !teamsURL(u.value) {
				add(at(u.key), "teams.%s %q: want an https URL (plain http only on a loopback address)", u.key, u.value)
			}
		}
		for i, s := range t.ServiceURLs {
			p, err := url.Parse(s)
			switch {
			case err != nil || !teamsURL(s) || p.User != nil || p.RawQuery != "" || p.Fragment != "":
				add(at("service_urls", i), "teams.service_urls[%d] %q: want an https URL (plain http only on a loopback address)", i, s)
			case !strings.HasSuffix(p.Path, "/"):
				add(at("service_urls", i), "teams.service_urls[%d] %q: a prefix ends with / (e.g. https://smba.trafficmanager.net/)", i, s)
			}
		}
	}
	seen := map[string]string{}
	served := 0
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		tt := c.Tenants[id].Teams
		if tt == nil {
			continue
		}
		at := func(p ...any) []any { return append([]any{"tenants", string(id), "teams"}, p...) }
		if t == nil {
			add(at(), "tenant %s: a tenant's teams needs the top-level teams section (app_id, app_password_env, app_tenant)", id)
		}
		if tt.TenantID != "" {
			served++
		}
		key := strings.ToLower(tt.TenantID)
		switch {
		case tt.TenantID == "":
			add(at(), "tenant %s: teams needs tenant_id (the tenant's Entra tenant id)", id)
		case !teams.ValidGUID(tt.TenantID):
			add(at("tenant_id"), "tenant %s: teams.tenant_id %q is not an Entra tenant id (a GUID)", id, tt.TenantID)
		case seen[key] != "":
			add(at("tenant_id"), "tenant %s: teams.tenant_id %s is also tenant %s's: an Entra tenant is one tenant", id, tt.TenantID, seen[key])
		default:
			seen[key] = string(id)
		}
		if ch := tt.ApprovalsConversation; ch != "" && (!strings.HasPrefix(ch, "19:") || strings.ContainsAny(ch, " /?#")) {
			add(at("approvals_conversation"), "tenant %s: teams.approvals_conversation %q is not a channel id (19:...@thread.tacv2): copy it from the channel's link", id, ch)
		}
	}
	if t != nil && served == 0 {
		add([]any{"teams"}, "teams: no tenant has teams.tenant_id, so nobody can use the bot: add teams: {tenant_id: ...} to a tenant")
	}
	return ps
}

// teamsURL reports whether s is an https URL, or an http URL of a loopback
// address (tests, a local proxy).
func teamsURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && loopbackHost(u.Hostname())
}

// teamsAdapter is the Teams channel, when the configuration has a teams
// section (issue 14); nil otherwise. The app password is read from the
// variable the configuration names.
func (a *app) teamsAdapter(rt *runtime, c *config) (adapter, error) {
	if c == nil || c.Teams == nil {
		return nil, nil
	}
	t := c.Teams
	password := a.getenv(t.AppPasswordEnv)
	if password == "" {
		return nil, fmt.Errorf("teams: the app password variable %s is empty", t.AppPasswordEnv)
	}
	var tenants []teams.Tenant
	for _, id := range slices.Sorted(maps.Keys(c.Tenants)) {
		if tt := c.Tenants[id].Teams; tt != nil {
			tenants = append(tenants, teams.Tenant{ID: tierzero.TenantID(id), EntraID: tt.TenantID, ApprovalsConversation: tt.ApprovalsConversation})
		}
	}
	ad, err := teams.New(teams.Config{
		AppID: t.AppID, AppPassword: password, TokenURL: t.tokenURL(),
		OpenIDMetadataURL: t.OpenIDMetadataURL, ServiceURLs: t.ServiceURLs,
		Tenants: tenants, Desk: rt.desk, Refs: rt.db, Acks: rt.acks, Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	return ad, nil
}
