// Package console is the terminal chat adapter: it reads one message per
// line from a terminal or a pipe and prints the replies. The requester is
// whoever the operator started it as (--as): the console trusts its terminal,
// so it is for operators, demos and tests, not for employees.
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
	Interactive  bool // print a prompt before each line
	Now          func() time.Time
	Logger       *slog.Logger
}

var _ bot.Responder = (*Console)(nil)

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
	for {
		if c.Interactive {
			fmt.Fprint(c.Out, "you> ")
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return nil
		case "/help":
			fmt.Fprintln(c.Out, "Type your IT problem in plain words, for example: I forgot my password. /whoami shows who you are; /quit ends.")
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
