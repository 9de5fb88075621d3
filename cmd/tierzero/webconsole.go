package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

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
	if rt.drift != nil {
		cfg.Baselines = rt.drift // serve's baseline drift watch (drift.go)
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
	// The console checks the tenant a request names against what its
	// viewer sees (web.Policy): the facts always say it.
	d.Facts = maps.Clone(p.s.AuditFacts(&req, d))
	if d.Facts == nil {
		d.Facts = map[string]string{}
	}
	d.Facts["tenant"] = string(req.Tenant)
	return d, nil
}

// Layers names the policy files in effect for a tenant, global first,
// then the tenant's, then its departments': each with its rules, and the
// technicians it admits (a file may hold only those).
func (p policyView) Layers(t tierzero.TenantID) []string {
	var out []string
	for _, f := range p.s.Files() {
		var scope string
		switch {
		case f.Scope.Global:
			scope = "global"
		case f.Scope.Tenant == t && f.Scope.Department == "":
			scope = "tenant"
		case f.Scope.Tenant == t:
			scope = "department " + f.Scope.Department
		default:
			continue
		}
		what := fmt.Sprintf("%d rules", len(f.Rules))
		switch len(f.Rules) {
		case 0:
			what = "no rules"
		case 1:
			what = "1 rule"
		}
		if n := len(f.Technicians); n > 0 {
			what += fmt.Sprintf(", admits %d technician pattern(s)", n)
		}
		out = append(out, fmt.Sprintf("%s: %s (%s)", scope, f.Name, what))
	}
	slices.SortStableFunc(out, func(a, b string) int { return layerRank(a) - layerRank(b) })
	return out
}

// layerRank orders layers outermost first: global, tenant, department.
func layerRank(s string) int {
	switch {
	case strings.HasPrefix(s, "global:"):
		return 0
	case strings.HasPrefix(s, "tenant:"):
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
	return g.c.Seats(ctx, t)
}
