package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/policy"
	"github.com/tierzero/tierzero/web"
)

// webConsole builds the web console of a runtime (serve mounts it at
// /console).
func (a *app) webConsole(rt *runtime, c *config) (*web.Server, error) {
	cfg := web.Config{
		Desk: rt.desk, Store: rt.db, Staff: rt.staff, Reach: rt.reach,
		Policy: policyView{rt.policies}, Channels: channelsOf(c, rt), Report: reportSettings(c), Logger: a.log,
	}
	if rt.graph != nil {
		cfg.Graph = graphView{rt.graph}
	}
	if c != nil && c.Console != nil {
		cc := c.Console
		cfg.SessionTTL = cc.SessionTTL
		if o := cc.OIDC; o != nil {
			cfg.OIDC = &web.OIDC{Issuer: o.Issuer, ClientID: o.ClientID, RedirectURL: o.RedirectURL, UsernameClaim: o.UsernameClaim}
			if o.ClientSecretEnv != "" {
				cfg.OIDC.ClientSecret = a.getenv(o.ClientSecretEnv)
				if cfg.OIDC.ClientSecret == "" {
					return nil, fmt.Errorf("console.oidc: the client secret variable %s is empty", o.ClientSecretEnv)
				}
			}
		}
	}
	return web.New(cfg)
}

// channelsOf names the chat channels installed in each tenant: those its
// configuration connects (Slack workspace, Teams tenant); the demo's
// tenants have the terminal console.
func channelsOf(c *config, rt *runtime) map[tierzero.TenantID][]tierzero.Channel {
	out := map[tierzero.TenantID][]tierzero.Channel{}
	if c == nil {
		for _, t := range rt.staff.Clients {
			out[t] = []tierzero.Channel{tierzero.ChannelConsole}
		}
		return out
	}
	for id, t := range c.Tenants {
		var chs []tierzero.Channel
		if t.Teams != nil && c.Teams != nil {
			chs = append(chs, tierzero.ChannelTeams)
		}
		if t.Slack != nil && c.Slack != nil {
			chs = append(chs, tierzero.ChannelSlack)
		}
		out[id] = chs
	}
	return out
}

// policyView is the policy set as the console shows it.
type policyView struct{ s *policy.Set }

// Check decides a request as `tierzero policy check` does.
func (p policyView) Check(request []byte) (tierzero.Decision, error) {
	req, err := policy.ParseRequest("request", request)
	if err != nil {
		return tierzero.Decision{}, err
	}
	d := p.s.Evaluate(req)
	d.Facts = p.s.AuditFacts(&req, d)
	return d, nil
}

// Layers names the policy files in effect for a tenant, global first.
func (p policyView) Layers(t tierzero.TenantID) []string {
	var out []string
	for _, f := range p.s.Files() {
		switch {
		case f.Scope.Global:
			out = append(out, fmt.Sprintf("global: %s (%d rules)", f.Name, len(f.Rules)))
		case f.Scope.Tenant == t && f.Scope.Department == "":
			out = append(out, fmt.Sprintf("tenant: %s (%d rules)", f.Name, len(f.Rules)))
		case f.Scope.Tenant == t:
			out = append(out, fmt.Sprintf("department %s: %s (%d rules)", f.Scope.Department, f.Name, len(f.Rules)))
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return layerRank(a) - layerRank(b) })
	return out
}

func layerRank(s string) int {
	switch {
	case len(s) >= 6 && s[:6] == "global":
		return 0
	case len(s) >= 6 && s[:6] == "tenant":
		return 1
	}
	return 2
}

// graphView is what the console reads of the tenants through Graph.
type graphView struct{ c *graph.Client }

func (g graphView) Capabilities(ctx context.Context, t tierzero.TenantID) (bool, bool, error) {
	caps, err := g.c.Capabilities(ctx, t)
	return caps.EntraP1, caps.EntraP2, err
}

func (g graphView) Seats(ctx context.Context, t tierzero.TenantID) (int, error) {
	return 0, tierzero.Errorf(tierzero.EUnavailable, "seats are not read yet")
}
