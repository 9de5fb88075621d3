package ticket

import (
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// MaxSubject bounds Subject, under every vendor's short-description limit
// (ServiceNow's is 160, Jira's summary 255).
const MaxSubject = 150

// CauseResolved is the cause of a request tierzero resolved itself, logged
// as a closed ticket (a tenant's `log_resolved: true`) so the MSP's
// reporting and billing see the work: its Reason says the time spent. A
// connector's rules may match it (category_rules: [{cause: resolved, ...}]).
const CauseResolved tierzero.EscalationCause = "resolved"

// Subject is the ticket's one line: who, and what they asked.
func Subject(t tierzero.Ticket) string {
	e := t.Escalation
	who := e.Requester.DisplayName
	if who == "" {
		who = e.Requester.UPN
	}
	msg := Message(e)
	if msg == "" {
		msg = string(e.Cause)
	}
	s := clean(fmt.Sprintf("%s: %s", who, oneLine(msg)))
	if t.Test {
		s = "tierzero connection test"
	}
	if len(s) > MaxSubject {
		s = strings.ToValidUTF8(s[:MaxSubject-3], "") + "..."
	}
	return s
}

// Message is the requester's original message: the first user turn of the
// transcript.
func Message(e tierzero.Escalation) string {
	for _, t := range e.Transcript {
		if t.Role == tierzero.TurnUser && strings.TrimSpace(t.Content) != "" {
			return strings.TrimSpace(t.Content)
		}
	}
	return ""
}

// Body is the ticket's description in plain text, what a technician needs to
// pick up a half-solved problem without asking again: requester and tenant,
// the original message, why it was escalated, what was checked and found,
// what was tried and decided (with the policy rules), the transcript, and
// where the audit records are. It holds nothing the escalation does not,
// and the escalation holds no secret.
func Body(t tierzero.Ticket) string {
	e := t.Escalation
	var b strings.Builder
	if t.Test {
		b.WriteString("This is a test ticket opened by `tierzero ticket test` to check the connection. It is closed at once.\n\n")
	}
	line := func(format string, args ...any) { b.WriteString(clean(fmt.Sprintf(format, args...)) + "\n") }
	line("Requester: %s <%s> (%s), tenant %s, via %s", e.Requester.DisplayName, e.Requester.UPN, e.Requester.Role, e.Tenant, e.Requester.Channel)
	if m := Message(e); m != "" {
		b.WriteString("\nOriginal message:\n")
		b.WriteString(indent(m))
	}
	b.WriteString("\n")
	if e.Summary != "" {
		line("Summary: %s", e.Summary)
	}
	if e.Cause == CauseResolved {
		line("Resolved by tierzero, logged for reporting: %s", e.Reason)
	} else {
		line("Escalated because: %s (%s)", e.Reason, e.Cause)
	}
	if len(e.Checked) > 0 {
		b.WriteString("\nChecked:\n")
		for _, s := range e.Checked {
			b.WriteString(step(s))
		}
	}
	if len(e.Tried) > 0 {
		b.WriteString("\nTried:\n")
		for _, s := range e.Tried {
			b.WriteString(step(s))
		}
	}
	if len(e.Decisions) > 0 {
		b.WriteString("\nPolicy decisions:\n")
		for _, d := range e.Decisions {
			rule := d.Rule
			if d.Layer != "" {
				rule = d.Layer + "/" + rule
			}
			s := fmt.Sprintf("- %s: %s", d.Action, d.Effect)
			if rule != "" {
				s += " (rule " + rule + ")"
			}
			if d.Reason != "" {
				s += ": " + d.Reason
			}
			if d.Tenant != "" {
				s += " [tenant " + string(d.Tenant) + "]"
			}
			line("%s", s)
		}
	}
	if len(e.Transcript) > 0 {
		b.WriteString("\nTranscript:\n")
		for _, tr := range e.Transcript {
			switch {
			case tr.Content != "":
				line("[%s] %s:", tr.Time.UTC().Format("2006-01-02 15:04:05Z"), tr.Role)
				b.WriteString(indent(tr.Content))
			case len(tr.ToolCalls) > 0:
				for _, c := range tr.ToolCalls {
					line("[%s] %s called %s %s", tr.Time.UTC().Format("2006-01-02 15:04:05Z"), tr.Role, c.Action, string(c.Args))
				}
			}
		}
	}
	b.WriteString("\n")
	line("Audit: tenant %s, conversation %s, escalated at %s (tierzero audit, and the correlation id %s)",
		e.Tenant, e.Conversation, e.Time.UTC().Format("2006-01-02T15:04:05Z"), t.Correlation)
	return b.String()
}

func step(s tierzero.EscalationStep) string {
	ok := "ok"
	if !s.OK {
		ok = "failed"
	}
	out := fmt.Sprintf("- %s %s: %s: %s", s.Action, string(s.Args), ok, oneLine(s.Result))
	if s.Tenant != "" {
		out += " [tenant " + string(s.Tenant) + "]"
	}
	return clean(out) + "\n"
}

func indent(s string) string {
	var b strings.Builder
	for l := range strings.Lines(clean(s)) {
		b.WriteString("    " + strings.TrimRight(l, "\n") + "\n")
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clean drops control characters but newlines and tabs: the text is shown
// in a vendor's UI and in terminals.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' || r == '\u202d' {
			return -1
		}
		return r
	}, s)
}
