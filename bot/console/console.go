// Package console is the terminal channel: it reads one message per line
// from a terminal or a pipe, hands each to the desk, and prints what the
// desk delivers. The requester is whoever the operator started it as (--as),
// or switched to with /as: the console trusts its terminal, so it is for
// operators, demos and tests, not for employees. It shows approval requests
// and lets the current identity decide them (/approve ID, /deny ID).
//
// Everything it prints goes through one function, render: text from
// outside tierzero (the model's answers, names from the tenant, plans that
// quote them, approval summaries, labels of private notes) is made
// printable (tierzero.Printable: no terminal escapes or control characters)
// and every line of it begins with the console's prefix for that output, so
// that no untrusted text can hide a line or print one that passes for the
// console's own ("tierzero:", "[private to ...]", "[approval ...]").
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// maxLine bounds one input line; longer lines are refused, not truncated.
const maxLine = 1 << 20

// Desk is what the console asks of the desk (bot.Desk).
type Desk interface {
	Handle(ctx context.Context, in tierzero.Inbound) (tierzero.Reply, error)
	Decide(ctx context.Context, v bot.Vote) (bot.Verdict, error)
}

// Console runs one conversation on a terminal. It is the desk's Responder
// for the console channel: the desk prints through it, also from its timer
// (reminders, expiries), so output is serialized.
type Console struct {
	In           io.Reader
	Out          io.Writer
	Requester    tierzero.Requester
	Conversation tierzero.ConversationID
	Desk         Desk
	// Resolve, optional, looks a user up for /as.
	Resolve     func(ctx context.Context, upn string) (tierzero.Requester, error)
	Interactive bool // print a prompt before each line
	Now         func() time.Time
	Logger      *slog.Logger

	mu sync.Mutex // guards Out and Requester
	n  int
}

var _ bot.Responder = (*Console)(nil)

// Run reads lines until EOF, /quit or ctx is done (Ctrl-C), and answers
// each. A line being handled when ctx is done is finished and recorded;
// no line is read after.
func (c *Console) Run(ctx context.Context) error {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(c.In)
		sc.Buffer(make([]byte, 0, 64*1024), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	for {
		if c.Interactive {
			c.write("you> ")
		}
		var line string
		select {
		case <-ctx.Done():
			c.write("\n")
			return nil
		case err := <-errc:
			if errors.Is(err, bufio.ErrTooLong) {
				return fmt.Errorf("read input: a line is longer than %d bytes", maxLine)
			}
			if err != nil {
				return fmt.Errorf("read input: %w", err)
			}
			return nil
		case line = <-lines:
		}
		quit, err := c.line(context.WithoutCancel(ctx), strings.TrimSpace(line))
		if err != nil || quit {
			return err
		}
	}
}

// line handles one input line; quit is set by /quit.
func (c *Console) line(ctx context.Context, line string) (quit bool, err error) {
	if cmd, arg, ok := command(line); ok {
		return false, c.command(ctx, cmd, arg)
	}
	req := c.requester()
	switch line {
	case "":
		return false, nil
	case "/quit", "/exit":
		return true, nil
	case "/help":
		return false, c.say("Type your IT problem in plain words, for example: I forgot my password. /whoami shows who you are; /as UPN switches to another user; /approve ID and /deny ID decide an approval request; /quit ends.")
	case "/whoami":
		return false, c.say("You are %s (%s) in tenant %s, role %s.", req.DisplayName, req.UPN, req.Tenant, req.Role)
	}
	c.n++
	_, err = c.Desk.Handle(ctx, tierzero.Inbound{
		Delivery:     fmt.Sprintf("%s-%d", c.Conversation, c.n),
		Channel:      tierzero.ChannelConsole,
		Tenant:       req.Tenant,
		Conversation: c.Conversation,
		User:         tierzero.PlatformUser{UPN: req.UPN, ObjectID: req.ObjectID, DisplayName: req.DisplayName},
		Text:         line,
		Time:         c.Now(),
	})
	if err != nil {
		c.Logger.Warn("handle message", "tenant", req.Tenant, "err", err)
		return false, c.say("Sorry, I could not take that message: %s.", strings.TrimSuffix(tierzero.ErrorMessage(err), "."))
	}
	return false, nil
}

func (c *Console) requester() tierzero.Requester {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Requester
}

// continuation is the prefix of the second and further lines of a
// bracketed message (a private note, an approval request).
const continuation = "  | "

// render returns text as the lines the console prints: made printable
// (tierzero.Printable), its first line after first and every further line
// after more, each ending in a newline. With first and more both ones that
// untrusted text cannot begin with, no line of text can pass for another
// kind of output.
func render(first, more, text string) string {
	text = tierzero.Printable(text)
	var b strings.Builder
	b.Grow(len(text) + len(first) + 1)
	for i, l := range strings.Split(text, "\n") {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(more)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// show prints text rendered (see render).
func (c *Console) show(first, more, text string) error {
	return c.write(render(first, more, text))
}

// write prints s, which is the console's own or rendered.
func (c *Console) write(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.Out, s)
	return err
}

// Reply prints the bot's public answer, each line after "tierzero: "; one
// meant for someone else than the current identity (an approval's outcome,
// told to its requester) says whom it is for.
func (c *Console) Reply(_ context.Context, to bot.Address, text string) error {
	prefix := "tierzero: "
	if cur := c.requester(); to.To.UPN != "" && !strings.EqualFold(to.To.UPN, cur.UPN) {
		prefix = "tierzero (to " + tierzero.PrintableLine(to.To.UPN) + "): "
	}
	return c.show(prefix, prefix, text)
}

// Private prints a secret marked as private to the requester. The label and
// the secret are kept on the marker's line.
func (c *Console) Private(_ context.Context, _ bot.Address, n tierzero.PrivateNote) error {
	return c.show("", continuation, fmt.Sprintf("[private to %s] %s: %s", tierzero.PrintableLine(n.To.UPN),
		tierzero.PrintableLine(n.Secret.Label), tierzero.PrintableLine(n.Secret.Reveal())))
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

// say prints the console's own answer, which may quote untrusted text (a
// name, an error, a verdict): each line after "tierzero: ".
func (c *Console) say(format string, args ...any) error {
	return c.show("tierzero: ", "tierzero: ", fmt.Sprintf(format, args...))
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
		c.mu.Lock()
		c.Requester = req
		c.mu.Unlock()
		return c.say("You are now %s (%s) in tenant %s.", req.DisplayName, req.UPN, req.Tenant)
	}
	req := c.requester()
	v, err := c.Desk.Decide(ctx, bot.Vote{
		Channel: tierzero.ChannelConsole, Tenant: req.Tenant, Approval: arg, Approve: cmd == "/approve",
		User: tierzero.PlatformUser{UPN: req.UPN, ObjectID: req.ObjectID, DisplayName: req.DisplayName},
	})
	if err != nil {
		c.Logger.Error("decision", "approval", arg, "err", err)
		return c.say("Your decision was not recorded: %s.", strings.TrimSuffix(tierzero.ErrorMessage(err), "."))
	}
	return c.say("%s", v.Text)
}

// ShowApproval prints an approval request and how to decide it.
func (c *Console) ShowApproval(_ context.Context, r bot.ApprovalRequest) ([]string, error) {
	a := r.Approval
	who := a.Requester.DisplayName
	if who == "" {
		who = a.Requester.UPN
	}
	how := "/as an approver's UPN"
	if len(r.Approvers) > 0 {
		how = "/as " + r.Approvers[0]
	}
	id := a.ID
	if a.Tenant != a.Requester.Tenant {
		id += " in " + string(a.Tenant) // a technician's, in a client tenant
	}
	// The names are the tenant's: kept on the marker's line; the summary
	// may run over several, each marked as a continuation.
	err := c.show("", continuation, fmt.Sprintf("[approval request %s] %s asks to: %s. Policy: %s needs %s (%d approval(s), until %s). Approvers: %s then /approve %s (or /deny %s)",
		tierzero.PrintableLine(id), tierzero.PrintableLine(who), r.Summary, a.Rule, a.ApproverText(), a.Count, a.Expires.UTC().Format(time.RFC3339), tierzero.PrintableLine(how), tierzero.PrintableLine(a.ID), tierzero.PrintableLine(a.ID)))
	if err != nil {
		return nil, err
	}
	return []string{"the console (" + strings.Join(append([]string{}, r.Approvers...), ", ") + ")"}, nil
}

// ApprovalSettled prints how an approval ended.
func (c *Console) ApprovalSettled(_ context.Context, a tierzero.Approval, outcome string) error {
	return c.show("", continuation, fmt.Sprintf("[approval %s] %s: %s", tierzero.PrintableLine(a.ID), a.Summary, outcome))
}
