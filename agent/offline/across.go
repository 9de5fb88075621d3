package offline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// hackedAcross: an MSP technician reports accounts in client tenants as
// compromised, or asks to sign users out everywhere. For every user named
// (up to maxTargets), each in its own tenant, it reads the sign-ins of all
// at once, then the risk of all, signs them all out everywhere, then hands
// over to a person with what it found for each.
func (s *state) hackedAcross() agent.Response {
	var named []string
	for _, u := range upns(s.said()) {
		if !s.isSelf(u) {
			named = append(named, u)
		}
	}
	if len(named) == 0 {
		return s.askWhom("I think %s was hacked")
	}
	targets := named[:min(len(named), maxTargets)]
	steps := []struct {
		name, text string
		args       func(user string) map[string]any
	}{
		{toolSignIns, "Let me check the recent sign-ins and risk of " + list(targets) + ".", func(u string) map[string]any { return map[string]any{"user": u, "top": 20} }},
		{toolRisk, "", func(u string) map[string]any { return map[string]any{"user": u} }},
		{toolRevoke, "To be safe, I'm signing " + list(targets) + " out everywhere.", func(u string) map[string]any { return map[string]any{"user": u} }},
	}
	for _, st := range steps {
		if !s.can(st.name) {
			continue
		}
		var calls []tierzero.ToolCall
		var unknown []string
		for _, u := range targets {
			t, ok := s.tenantOf(st.name, u)
			switch {
			case !ok:
				unknown = append(unknown, u)
				continue
			case s.getFor(st.name, u, t) != nil:
				continue
			}
			args := st.args(u)
			if t != "" {
				args["tenant"] = t
			}
			c, _ := s.toolCall(len(calls), st.name, args)
			calls = append(calls, c)
		}
		if len(unknown) > 0 {
			return s.noTenant(s.askTenant(unknown...))
		}
		if len(calls) > 0 {
			return agent.Response{Text: st.text, ToolCalls: calls}
		}
	}
	var found, reasons []string
	for _, u := range targets {
		get := func(name string) *result {
			t, _ := s.tenantOf(name, u)
			return s.getFor(name, u, t)
		}
		tenant, _ := s.tenantOf(toolSignIns, u)
		in := ""
		if tenant != "" {
			in = " in " + tenant
		}
		si := readSignIns(get(toolSignIns))
		part := []string{u + in + ":", si.words(u + "'s")}
		if len(si.countries) > 0 {
			part = append(part, "They came from: "+strings.Join(si.countries, ", ")+".")
		}
		risk := "unknown"
		if r := get(toolRisk); r != nil && r.ok {
			var v struct{ RiskLevel, RiskState string }
			if json.Unmarshal(r.output, &v) == nil && v.RiskLevel != "" {
				risk = v.RiskLevel
				part = append(part, fmt.Sprintf("Microsoft rates the account's risk as %s.", v.RiskLevel))
			}
		}
		revoked := "no"
		if r := get(toolRevoke); r != nil {
			part = append(part, s.outcome(r, fmt.Sprintf("I signed %s out of every session: anyone using the account has to sign in again.", u)))
			if r.ok {
				revoked = "yes"
			}
		}
		found = append(found, strings.Join(nonEmpty(part), " "))
		reasons = append(reasons, fmt.Sprintf("%s%s (risk level %s; sessions revoked: %s)", u, in, risk, revoked))
	}
	advice := "Have them change their password as soon as they can, and not approve sign-in requests they didn't start."
	what := "a possibly compromised account"
	if len(targets) > 1 {
		advice = "Have each of them change their password as soon as they can, and not approve sign-in requests they didn't start."
		what = "possibly compromised accounts"
	}
	found = append(found, advice)
	if len(named) > len(targets) {
		found = append(found, fmt.Sprintf("You named %d users; I handled the first %d. Please send the others in another message.", len(named), len(targets)))
	}
	return s.escalate(fmt.Sprintf("%s reports %s: %s", s.self(), what, strings.Join(reasons, "; ")),
		strings.Join(found, "\n"))
}

// tenantOf is the tenant of a call of tool for user: "" when the tool
// takes none; ok is false when it cannot be told.
func (s *state) tenantOf(tool, user string) (string, bool) {
	if _, ok := s.tenants[tool]; !ok {
		return "", true
	}
	return s.tenantFor(tool, user)
}
