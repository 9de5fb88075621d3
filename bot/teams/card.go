package teams

import (
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// Untrusted text (model output, tenant data) is escaped for where Teams
// shows it. In a message (markdown): the characters that make formatting,
// links, mentions (<at>) or HTML are escaped. In a card: it goes only into
// TextRuns of a RichTextBlock, which Teams renders without markdown or
// templates ({{DATE()}}). Everywhere: no control, bidirectional or
// zero-width characters, which can disguise what a text says.

// clean makes untrusted text safe to show (tierzero.Printable: terminal
// escapes, control, bidirectional and tag characters) and also drops the
// zero-width characters, which can hide what a text says in a chat.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x200B && r <= 0x200D || r == 0xFEFF || r == 0x2060 {
			return -1
		}
		return r
	}, tierzero.Printable(s))
}

// escapeMarkdown escapes untrusted text for a Teams message in markdown.
func escapeMarkdown(s string) string {
	s = clean(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '~', '[', ']', '#', '|', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxCardText bounds one untrusted text in a card.
const maxCardText = 2000

// cardText is untrusted text for a TextRun.
func cardText(s string) string {
	s = clean(s)
	if len(s) > maxCardText {
		cut := maxCardText
		for cut > 0 && !utfStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utfStart(b byte) bool { return b&0xC0 != 0x80 }

// Adaptive Card elements. Our own words go in TextBlocks; anything
// untrusted in TextRuns (see cardText).

func textBlock(text string, opts ...string) map[string]any {
	b := map[string]any{"type": "TextBlock", "text": text, "wrap": true}
	for i := 0; i+1 < len(opts); i += 2 {
		b[opts[i]] = opts[i+1]
	}
	return b
}

// run is one TextRun of untrusted (or our own) text.
func run(text string, opts ...string) map[string]any {
	r := map[string]any{"type": "TextRun", "text": cardText(text)}
	for i := 0; i+1 < len(opts); i += 2 {
		r[opts[i]] = opts[i+1]
	}
	return r
}

// line is a RichTextBlock of a bold label and an untrusted value.
func line(label, value string, opts ...string) map[string]any {
	inlines := []any{}
	if label != "" {
		inlines = append(inlines, run(label+": ", "weight", "Bolder"))
	}
	inlines = append(inlines, run(value, opts...))
	return map[string]any{"type": "RichTextBlock", "inlines": inlines}
}

// newCard is an Adaptive Card of version 1.4 (the first with
// Action.Execute) with body.
func newCard(body ...any) map[string]any {
	return map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": "1.4",
		"body":    body,
	}
}

// actionData is the data an approval card's buttons send.
type actionData struct {
	Kind     string `json:"tierzero"` // "approval"
	Approval string `json:"approval"`
	Approve  bool   `json:"approve"`
}

// decisionAction is an Action.Execute button (Universal Actions) that falls
// back to an Action.Submit on clients without them.
func decisionAction(title, verb, id string, approve bool, style string) map[string]any {
	data := actionData{Kind: "approval", Approval: id, Approve: approve}
	return map[string]any{
		"type": "Action.Execute", "title": title, "verb": verb, "data": data, "style": style,
		"fallback": map[string]any{"type": "Action.Submit", "title": title, "data": data, "style": style},
	}
}

// approvalView is what an approval card shows.
type approvalView struct {
	ID        string    `json:"id"`
	Summary   string    `json:"summary"`
	Requester string    `json:"requester"`
	Reason    string    `json:"reason,omitempty"`
	Approvers string    `json:"approvers,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
	// Reminder marks a card shown again before the request expires.
	Reminder bool `json:"-"`
	// Notice says why a decision was not recorded; the buttons stay.
	Notice string `json:"-"`
	// Outcome is set once the request is settled: the buttons go.
	Outcome string `json:"-"`
}

// card renders the view.
func (v approvalView) card() map[string]any {
	title := "Approval needed"
	switch {
	case v.Outcome != "":
		title = "Approval request"
	case v.Reminder:
		title = "Reminder: approval needed"
	}
	body := []any{textBlock(title, "weight", "Bolder", "size", "Medium")}
	if v.Summary != "" {
		body = append(body, line("", v.Summary))
	}
	if v.Requester != "" {
		body = append(body, line("Requested by", v.Requester))
	}
	if v.Reason != "" {
		body = append(body, line("Why approval", v.Reason))
	}
	if v.Approvers != "" && v.Outcome == "" {
		body = append(body, line("Who may approve", v.Approvers))
	}
	if !v.Expires.IsZero() && v.Outcome == "" {
		body = append(body, line("Expires", v.Expires.UTC().Format("2006-01-02 15:04 MST")))
	}
	body = append(body, line("Approval", v.ID, "fontType", "Monospace"))
	if v.Notice != "" {
		body = append(body, line("", v.Notice, "color", "Attention"))
	}
	if v.Outcome != "" {
		body = append(body, line("Outcome", v.Outcome, "weight", "Bolder"))
	}
	c := newCard(body...)
	if v.Outcome == "" {
		c["actions"] = []any{
			decisionAction("Approve", "approve", v.ID, true, "positive"),
			decisionAction("Deny", "deny", v.ID, false, "destructive"),
		}
	}
	return c
}

// secretCard shows a secret to its owner, in their personal chat. The
// value is a TextRun in a monospace font: no markdown can garble it.
func secretCard(label, value string) map[string]any {
	if label == "" {
		label = "secret"
	}
	return newCard(
		line("", "Your "+label, "weight", "Bolder", "size", "Medium"),
		map[string]any{"type": "RichTextBlock", "inlines": []any{run(value, "fontType", "Monospace", "size", "Large")}},
		textBlock("Only you can see this chat. It is not shown anywhere else, nor kept in any log."),
	)
}

// noticeCard is a card that says one thing (an invoke answered without an
// approval to show).
func noticeCard(text string) map[string]any {
	return newCard(line("", text))
}
