package ticket

import (
	"strings"

	"github.com/tierzero/tierzero"
)

// Rule picks a value (a priority, a category, a queue or team, a request
// type) for the escalations it matches, as a connector's *_rules settings
// list them. Every condition that is set must hold; the first rule that
// matches wins, else the default applies (Pick).
type Rule struct {
	// Cause is the escalation's cause (model_request, step_limit, ...).
	Cause string `yaml:"cause" json:"cause,omitempty"`
	// Action is a tool checked or tried for the request ("user.reset_mfa"),
	// or a prefix ending in a dot ("device.").
	Action string `yaml:"action" json:"action,omitempty"`
	// Contains are words in the requester's message, case-insensitive.
	Contains string `yaml:"contains" json:"contains,omitempty"`
	Value    string `yaml:"value" json:"value"`
}

// Match reports whether every condition of r that is set holds for e.
func (r Rule) Match(e tierzero.Escalation) bool {
	if r.Cause != "" && r.Cause != string(e.Cause) {
		return false
	}
	if r.Contains != "" && !strings.Contains(strings.ToLower(Message(e)), strings.ToLower(r.Contains)) {
		return false
	}
	if r.Action == "" {
		return true
	}
	for _, steps := range [][]tierzero.EscalationStep{e.Checked, e.Tried} {
		for _, s := range steps {
			if s.Action == r.Action || (strings.HasSuffix(r.Action, ".") && strings.HasPrefix(s.Action, r.Action)) {
				return true
			}
		}
	}
	return false
}

// Pick returns the value of the first rule matching e, else def.
func Pick(rules []Rule, def string, e tierzero.Escalation) string {
	for _, r := range rules {
		if r.Match(e) {
			return r.Value
		}
	}
	return def
}

// Values returns the rules' values, in order (a connector checks them as
// it checks its default).
func Values(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Value)
	}
	return out
}

// StatusOf maps a vendor's status (name or id) onto tierzero's: by the
// configured lists first (a connector's `statuses:`, keyed open, pending,
// resolved, closed; compared case-insensitively, closed checked first),
// then by the connector's guess.
func StatusOf(m map[string][]string, vendor string, guess func(string) tierzero.TicketStatus) tierzero.TicketStatus {
	for _, s := range []tierzero.TicketStatus{tierzero.TicketClosed, tierzero.TicketResolved, tierzero.TicketPending, tierzero.TicketOpen} {
		for _, v := range m[string(s)] {
			if strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(vendor)) {
				return s
			}
		}
	}
	return guess(vendor)
}
