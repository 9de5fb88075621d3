package sysaid

import (
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Rule picks a value (a priority, a service type) for the escalations it
// matches. Every condition that is set must hold; the first rule that
// matches wins, else the default applies.
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

func (r Rule) match(e tierzero.Escalation) bool {
	if r.Cause != "" && r.Cause != string(e.Cause) {
		return false
	}
	if r.Contains != "" && !strings.Contains(strings.ToLower(ticket.Message(e)), strings.ToLower(r.Contains)) {
		return false
	}
	if r.Action != "" {
		found := false
		for _, steps := range [][]tierzero.EscalationStep{e.Checked, e.Tried} {
			for _, s := range steps {
				if s.Action == r.Action || (strings.HasSuffix(r.Action, ".") && strings.HasPrefix(s.Action, r.Action)) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// pick returns the value of the first rule matching e, else def.
func pick(rules []Rule, def string, e tierzero.Escalation) string {
	for _, r := range rules {
		if r.match(e) {
			return r.Value
		}
	}
	return def
}

// statusOf maps a vendor's status (name or id) onto tierzero's, by the
// configured lists first, then by guess.
func statusOf(m map[string][]string, vendor string, guess func(string) tierzero.TicketStatus) tierzero.TicketStatus {
	for _, s := range []tierzero.TicketStatus{tierzero.TicketClosed, tierzero.TicketResolved, tierzero.TicketPending, tierzero.TicketOpen} {
		for _, v := range m[string(s)] {
			if strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(vendor)) {
				return s
			}
		}
	}
	return guess(vendor)
}
