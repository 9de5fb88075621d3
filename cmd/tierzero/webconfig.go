package main

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero/web"
)

// consoleConfig is the web console served by `tierzero serve` at /console.
type consoleConfig struct {
	// SessionTTL is how long a sign-in lasts (default 8h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// OIDC is the identity provider staff sign in with; without it the
	// console takes only the one-time links of the demo.
	OIDC *oidcConfig `yaml:"oidc"`
}

// oidcConfig is an OpenID Connect provider: the MSP's Entra ID tenant
// (issuer https://login.microsoftonline.com/TENANT-ID/v2.0) or any other.
type oidcConfig struct {
	Issuer          string `yaml:"issuer"`
	ClientID        string `yaml:"client_id"`
	ClientSecretEnv string `yaml:"client_secret_env"` // the variable that holds the client secret
	RedirectURL     string `yaml:"redirect_url"`      // https://HOST/console/callback, as registered
	UsernameClaim   string `yaml:"username_claim"`    // default preferred_username
}

// reportConfig prices the economics report (`tierzero report`, the
// console's report page).
type reportConfig struct {
	// MinutesPerCategory is what a ticket of each category costs a
	// technician by hand, in minutes; DefaultMinutes for the others.
	MinutesPerCategory map[string]float64 `yaml:"minutes_per_category"`
	DefaultMinutes     float64            `yaml:"default_minutes"`
	SeatPrice          float64            `yaml:"seat_price"`       // what the MSP bills per seat a month
	TechnicianCost     float64            `yaml:"technician_cost"`  // what a technician costs a month
	TechnicianHours    float64            `yaml:"technician_hours"` // hours a month a technician works tickets
	Currency           string             `yaml:"currency"`
	// TicketsPerSeatMonth is the MSP's ticket volume per seat a month, for
	// the MSP model (default: the volume the audit shows).
	TicketsPerSeatMonth float64 `yaml:"tickets_per_seat_month"`
}

// maxSessionTTL bounds console.session_ttl.
const maxSessionTTL = 7 * 24 * time.Hour

func (c *config) validateConsole(doc *yaml.Node) []problem {
	cc := c.Console
	if cc == nil {
		return nil
	}
	var ps []problem
	add := func(path []any, format string, args ...any) {
		ps = append(ps, problem{lineOf(doc, path...), fmt.Sprintf(format, args...)})
	}
	if cc.SessionTTL < 0 || cc.SessionTTL > 0 && cc.SessionTTL < time.Minute || cc.SessionTTL > maxSessionTTL {
		add([]any{"console", "session_ttl"}, "console.session_ttl %s must be from 1m to %s (0: the default, %s)", cc.SessionTTL, maxSessionTTL, web.DefaultSessionTTL)
	}
	if o := cc.OIDC; o != nil {
		at := func(k string) []any { return []any{"console", "oidc", k} }
		if u, err := url.Parse(o.Issuer); err != nil || u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())) || u.Host == "" {
			add(at("issuer"), "console.oidc.issuer %q must be an https URL (http only on this machine)", o.Issuer)
		}
		if o.ClientID == "" {
			add(at("client_id"), "console.oidc.client_id is required")
		}
		if o.ClientSecretEnv != "" && !envName.MatchString(o.ClientSecretEnv) {
			add(at("client_secret_env"), "console.oidc.client_secret_env must name an environment variable")
		}
		if u, err := url.Parse(o.RedirectURL); err != nil || !u.IsAbs() || u.Path != web.Prefix+"/callback" {
			add(at("redirect_url"), "console.oidc.redirect_url %q must be this console's absolute callback URL, ending in %s/callback", o.RedirectURL, web.Prefix)
		}
	}
	return ps
}

func (c *config) validateReport(doc *yaml.Node) []problem {
	rc := c.Report
	if rc == nil {
		return nil
	}
	var ps []problem
	add := func(path []any, format string, args ...any) {
		ps = append(ps, problem{lineOf(doc, path...), fmt.Sprintf(format, args...)})
	}
	for _, k := range slices.Sorted(maps.Keys(rc.MinutesPerCategory)) { // in a fixed order: two may share a line
		m := rc.MinutesPerCategory[k]
		if !slices.Contains(web.Categories, k) {
			add([]any{"report", "minutes_per_category", k}, "report.minutes_per_category: unknown category %q: want one of %s", k, strings.Join(web.Categories, ", "))
			continue
		}
		if m < 0 || m > 24*60 {
			add([]any{"report", "minutes_per_category", k}, "report.minutes_per_category.%s: %v minutes must be from 0 to 1440", k, m)
		}
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"default_minutes", rc.DefaultMinutes}, {"seat_price", rc.SeatPrice}, {"technician_cost", rc.TechnicianCost}, {"technician_hours", rc.TechnicianHours}, {"tickets_per_seat_month", rc.TicketsPerSeatMonth}} {
		if f.v < 0 {
			add([]any{"report", f.key}, "report.%s must not be negative", f.key)
		}
	}
	if rc.TechnicianHours > 744 {
		add([]any{"report", "technician_hours"}, "report.technician_hours %v is more hours than a month has", rc.TechnicianHours)
	}
	return ps
}

// reportSettings is the report's pricing from the configuration, with the
// defaults for what it leaves out.
func reportSettings(c *config) web.ReportConfig {
	r := web.DefaultReport()
	if c == nil || c.Report == nil {
		return r
	}
	rc := c.Report
	for k, v := range rc.MinutesPerCategory {
		r.MinutesPerCategory[k] = v
	}
	if rc.DefaultMinutes > 0 {
		r.DefaultMinutes = rc.DefaultMinutes
	}
	if rc.SeatPrice > 0 {
		r.SeatPrice = rc.SeatPrice
	}
	if rc.TechnicianCost > 0 {
		r.TechnicianCost = rc.TechnicianCost
	}
	if rc.TechnicianHours > 0 {
		r.TechnicianHours = rc.TechnicianHours
	}
	if rc.TicketsPerSeatMonth > 0 {
		r.TicketsPerSeatMonth = rc.TicketsPerSeatMonth
	}
	if rc.Currency != "" {
		r.Currency = rc.Currency
	}
	return r
}
