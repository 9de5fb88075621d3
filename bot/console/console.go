// Package console is the terminal chat adapter: it reads one message per
// line from a terminal or a pipe and prints the replies. The requester is
// whoever the operator started it as (--as), or switched to with /as: the
// console trusts its terminal, so it is for operators, demos and tests, not
// for employees. It shows approval requests and lets the current identity
// decide them (/approve ID, /deny ID).
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// maxLine bounds one input line; longer lines are refused, not truncated.
const maxLine = 1 << 20

// Console runs one conversation on a terminal.
type Console struct {
	In           io.Reader
	Out          io.Writer
	Requester    tierzero.Requester
	Conversation tierzero.ConversationID
	Handler      bot.Handler
	// Resolve, optional, looks a user up in the tenant's directory for /as.
	Resolve func(ctx context.Context, upn string) (tierzero.Requester, error)
	// Decider, optional, records /approve and /deny (policy.Guard).
	Decider bot.Decider
	// Tick, optional, runs before each line is handled and at start:
	// time-driven work such as approval reminders and expiries.
	Tick        func(ctx context.Context)
	Interactive bool // print a prompt before each line
	Now         func() time.Time
	Logger      *slog.Logger
}

var (
	_ bot.Responder        = (*Console)(nil)
	_ bot.ApprovalNotifier = (*Console)(nil)
)

// Run reads lines until EOF or /quit and answers each.
func (c *Console) Run(ctx context.Context) error {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	sc := bufio.NewScanner(c.In)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	n := 0
	tick := func() {
		if c.Tick != nil {
			c.Tick(ctx)
		}
	}
	tick()
	for {
		if c.Interactive {
			fmt.Fprint(c.Out, "you> ")
		}
		if !sc.Scan() {
			break
		}
		tick()
		line := strings.TrimSpace(sc.Text())
		if cmd, arg, ok := command(line); ok {
			if err := c.command(ctx, cmd, arg); err != nil {
				return err
			}
			continue
		}
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return nil
		case "/help":
			fmt.Fprintln(c.Out, "Type your IT problem in plain words, for example: I forgot my password. /whoami shows who you are; /as UPN switches to another user; /approve ID and /deny ID decide an approval request; /quit ends.")
			continue
		case "/whoami":
			fmt.Fprintf(c.Out, "You are %s (%s) in tenant %s, role %s.\n", c.Requester.DisplayName, c.Requester.UPN, c.Requester.Tenant, c.Requester.Role)
			continue
		}
		n++
		msg := tierzero.Message{
			ID:           fmt.Sprintf("%s-%d", c.Conversation, n),
			Tenant:       c.Requester.Tenant,
			Conversation: c.Conversation,
			Requester:    c.Requester,
			Text:         line,
			Time:         c.Now(),
		}
		reply, err := c.Handler.Handle(ctx, msg)
		if err != nil {
			c.Logger.Error("handle message", "tenant", msg.Tenant, "err", err)
			// What already ran may have produced a secret: deliver it.
			reply.Text = "Sorry, I could not finish that safely: " + tierzero.ErrorMessage(err) + "."
			if len(reply.Private) == 0 {
				reply.Text += " Nothing was changed."
			}
		}
		if err := bot.Deliver(ctx, c, c.Conversation, reply); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read input: a line is longer than %d bytes", maxLine)
		}
		return fmt.Errorf("read input: %w", err)
	}
	return nil
}

// Reply prints the bot's public answer.
func (c *Console) Reply(_ context.Context, _ tierzero.ConversationID, text string) error {
	for _, l := range strings.Split(text, "\n") {
		if _, err := fmt.Fprintf(c.Out, "tierzero: %s\n", l); err != nil {
			return err
		}
	}
	return nil
}

// Private prints a secret on one line marked as private to the requester.
func (c *Console) Private(_ context.Context, n tierzero.PrivateNote) error {
	_, err := fmt.Fprintf(c.Out, "[private to %s] %s: %s\n", n.To.UPN, n.Secret.Label, n.Secret.Reveal())
	return err
}

// command splits "/as UPN", "/approve ID" and "/deny ID".
func command(line string) (cmd, arg string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", "", false
	}
	switch f[0] {
	case "/as", "/approve", "/deny":
		return f[0], f[1], true
	}
	return "", "", false
}

func (c *Console) say(format string, args ...any) error {
	_, err := fmt.Fprintf(c.Out, "tierzero: "+format+"\n", args...)
	return err
}

// command runs /as, /approve or /deny. Only an output failure is an error.
func (c *Console) command(ctx context.Context, cmd, arg string) error {
	if cmd == "/as" {
		if c.Resolve == nil {
			return c.say("Switching identity is not available here.")
		}
		req, err := c.Resolve(ctx, arg)
		if err != nil {
			c.Logger.Info("resolve /as", "upn", arg, "err", err)
			return c.say("I could not switch to %s: %s.", arg, strings.TrimSuffix(tierzero.ErrorMessage(err), "."))
		}
		c.Requester = req
		return c.say("You are now %s (%s) in tenant %s.", req.DisplayName, req.UPN, req.Tenant)
	}
	if c.Decider == nil {
		return c.say("Approvals are not available here.")
	}
	approve := cmd == "/approve"
	a, res, err := c.Decider.Decide(ctx, c.Requester.Tenant, c.Requester, arg, approve)
	if err != nil {
		c.Logger.Info("decision", "approval", arg, "err", err)
		return c.say("Your decision was not recorded: %s.", strings.TrimSuffix(tierzero.ErrorMessage(err), "."))
	}
	switch a.State {
	case tierzero.ApprovalPending:
		return c.say("Your approval of %s is recorded; it needs %d more.", a.ID, a.Count-a.Approvals())
	case tierzero.ApprovalDenied:
		if err := c.say("You denied %s. Nothing was changed.", a.ID); err != nil {
			return err
		}
		return c.tell(a.Requester, "Your request to %s was denied by %s. Nothing was changed.", a.Summary, c.Requester.UPN)
	case tierzero.ApprovalExecuted:
	default:
		return c.say("Approval %s is %s.", a.ID, a.State)
	}
	if err := c.say("You approved %s, and it ran.", a.ID); err != nil {
		return err
	}
	// The result belongs to the requester: a secret goes to them alone,
	// before the text that says it was delivered.
	if !res.Secret.IsZero() {
		if err := c.Private(ctx, tierzero.PrivateNote{To: a.Requester, Secret: res.Secret}); err != nil {
			return err
		}
	}
	if res.Error != nil {
		return c.tell(a.Requester, "%s approved your request to %s, but it did not work: %s.", c.Requester.UPN, a.Summary, strings.TrimSuffix(res.Error.Message, "."))
	}
	done := "It is done."
	if !res.Secret.IsZero() {
		done += " The " + res.Secret.Label + " was delivered to you privately."
	}
	return c.tell(a.Requester, "%s approved your request to %s. %s", c.Requester.UPN, a.Summary, done)
}

// tell prints a message for one person of the conversation.
func (c *Console) tell(to tierzero.Requester, format string, args ...any) error {
	_, err := fmt.Fprintf(c.Out, "tierzero (to %s): "+format+"\n", append([]any{to.UPN}, args...)...)
	return err
}

// ApprovalRequested prints an approval request and how to decide it.
func (c *Console) ApprovalRequested(_ context.Context, a tierzero.Approval, summary string) error {
	who := a.Requester.DisplayName
	if who == "" {
		who = a.Requester.UPN
	}
	how := "/as an approver's UPN"
	if len(a.Suggested) > 0 {
		how = "/as " + a.Suggested[0]
	}
	id := a.ID
	if a.Tenant != c.Requester.Tenant {
		id += " in " + string(a.Tenant) // a technician's, in a client tenant
	}
	_, err := fmt.Fprintf(c.Out, "[approval request %s] %s asks to: %s. Policy: %s needs %s (%d approval(s), until %s). Approvers: %s then /approve %s (or /deny %s)\n",
		id, who, summary, a.Rule, a.ApproverText(), a.Count, a.Expires.UTC().Format(time.RFC3339), how, a.ID, a.ID)
	return err
}

// ApprovalResolved prints how an approval ended.
func (c *Console) ApprovalResolved(_ context.Context, a tierzero.Approval, outcome string) error {
	_, err := fmt.Fprintf(c.Out, "[approval %s] %s: %s\n", a.ID, a.Summary, outcome)
	return err
}
