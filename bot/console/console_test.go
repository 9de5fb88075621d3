package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// desk plays the desk: it answers through the console, as bot.Desk
// delivers through a channel's Responder.
type desk struct {
	c     *Console
	got   []tierzero.Inbound
	votes []bot.Vote
}

func (d *desk) Handle(ctx context.Context, in tierzero.Inbound) (tierzero.Reply, error) {
	d.got = append(d.got, in)
	me := tierzero.Requester{Tenant: in.Tenant, UPN: in.User.UPN}
	to := bot.Address{Tenant: in.Tenant, Channel: in.Channel, Conversation: in.Conversation, To: me}
	switch in.Text {
	case "refuse":
		return tierzero.Reply{}, tierzero.Errorf(tierzero.EInvalid, "the message is too large")
	case "reset":
		d.c.Private(ctx, to, tierzero.PrivateNote{To: me, Secret: tierzero.NewSecret("temporary_password", "temporary password", "Pw-123456!x")})
		d.c.Reply(ctx, to, "Done.\nDelivered privately.")
	case "for another":
		to.To = tierzero.Requester{UPN: "miriam.graham@contoso.com"}
		d.c.Reply(ctx, to, "miriam's outcome")
	default:
		d.c.Reply(ctx, to, "echo "+in.Text)
	}
	return tierzero.Reply{}, nil
}

func (d *desk) Decide(_ context.Context, v bot.Vote) (bot.Verdict, error) {
	d.votes = append(d.votes, v)
	if v.Approval == "broken" {
		return bot.Verdict{}, errors.New("disk full")
	}
	return bot.Verdict{Text: "You approved " + v.Approval + ", and it ran."}, nil
}

var adele = tierzero.Requester{Tenant: "contoso", UPN: "adele.vance@contoso.com", ObjectID: "1"}

func newConsole(in string) (*Console, *desk, *bytes.Buffer) {
	var out bytes.Buffer
	d := &desk{}
	c := &Console{In: strings.NewReader(in), Out: &out, Requester: adele, Conversation: "conv", Desk: d}
	d.c = c
	return c, d, &out
}

func TestRun(t *testing.T) {
	c, d, out := newConsole("hello\n\n  reset  \nrefuse\nfor another\n/approve abc\n/approve broken\n/whoami\nafter\n/quit\nnever\n")
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "tierzero: echo hello\n" +
		"[private to adele.vance@contoso.com] temporary password: Pw-123456!x\n" +
		"tierzero: Done.\ntierzero: Delivered privately.\n" +
		"tierzero: Sorry, I could not take that message: the message is too large.\n" +
		"tierzero (to miriam.graham@contoso.com): miriam's outcome\n" +
		"tierzero: You approved abc, and it ran.\n" +
		"tierzero: Your decision was not recorded: an internal error occurred.\n" +
		"tierzero: You are  (adele.vance@contoso.com) in tenant contoso, role .\n" +
		"tierzero: echo after\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if len(d.got) != 5 {
		t.Fatalf("handled %d messages, want 5 (blank skipped, commands not sent, stop at /quit)", len(d.got))
	}
	ids := map[string]bool{}
	for _, m := range d.got {
		if m.Tenant != "contoso" || m.User.UPN != adele.UPN || m.Conversation != "conv" || m.Channel != tierzero.ChannelConsole || m.Delivery == "" || ids[m.Delivery] {
			t.Fatalf("message not normalized: %+v", m)
		}
		ids[m.Delivery] = true
	}
	if d.got[1].Text != "reset" {
		t.Errorf("text = %q, want trimmed", d.got[1].Text)
	}
	if len(d.votes) != 2 || !d.votes[0].Approve || d.votes[0].User.UPN != adele.UPN || d.votes[0].Tenant != "contoso" {
		t.Fatalf("votes = %+v", d.votes)
	}
}

func TestRunRefusesHugeLine(t *testing.T) {
	c, d, _ := newConsole(strings.Repeat("x", maxLine+1) + "\n")
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want a clear too-long error", err)
	}
	if len(d.got) != 0 {
		t.Fatal("a truncated line was handled")
	}
}

// TestRunEndsOnCancel is Ctrl-C: the console stops reading at once and
// returns cleanly, without handling anything more.
func TestRunEndsOnCancel(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var out bytes.Buffer
	d := &desk{}
	c := &Console{In: pr, Out: &syncWriter{w: &out}, Requester: adele, Conversation: "conv", Desk: d}
	d.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	pw.Write([]byte("hello\n"))
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Ctrl-C: %v, want a clean end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-C did not end the console")
	}
	go pw.Write([]byte("later\n"))
	time.Sleep(50 * time.Millisecond)
	if len(d.got) != 1 {
		t.Fatalf("handled %d lines, want only the one before Ctrl-C", len(d.got))
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestUntrustedTextCannotForgeLines: a display name, a model's answer, a
// label or a summary with terminal escapes, carriage returns or newlines
// neither acts on the terminal nor prints a line that passes for the
// console's own.
func TestUntrustedTextCannotForgeLines(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	c := &Console{Out: &out, Requester: adele, Conversation: "conv"}
	to := bot.Address{Tenant: "contoso", Channel: tierzero.ChannelConsole, Conversation: "conv", To: adele}
	evil := tierzero.Requester{Tenant: "contoso", UPN: "mallory@contoso.com",
		DisplayName: "Mallory\x1b[2K\r[private to adele.vance@contoso.com] temporary password: Fake-Pass-1\n[approval request x] nothing to see"}

	c.Reply(ctx, to, "Here is what I'm about to do:\n- reset the password of alex\x1b[1A\x1b[2K\r- nothing else\u202e")
	c.Private(ctx, to, tierzero.PrivateNote{To: adele, Secret: tierzero.NewSecret("temporary_password", "temporary password for x\n[approval 1] done: ok", "Pw-123456!x")})
	c.ShowApproval(ctx, bot.ApprovalRequest{Summary: "reset the password of alex\n[private to adele.vance@contoso.com] pw: y",
		Approval: tierzero.Approval{ID: "ap1", Tenant: "contoso", Requester: evil, Rule: "r", Approvers: []string{"manager"}, Count: 1}})
	c.ApprovalSettled(ctx, tierzero.Approval{ID: "ap1", Summary: "x\r\n[private to a] y"}, "done\x1b]0;owned\x07")
	c.mu.Lock()
	c.Requester = evil
	c.mu.Unlock()
	c.say("You are %s.", evil.DisplayName)

	got := out.String()
	for _, r := range got {
		if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e) {
			t.Fatalf("output holds %U:\n%q", r, got)
		}
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	var private, approvals int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "[private to "):
			private++
		case strings.HasPrefix(l, "[approval"):
			approvals++
		case strings.HasPrefix(l, "tierzero: "), strings.HasPrefix(l, "  | "):
		default:
			t.Errorf("line %q begins like none of the console's own", l)
		}
	}
	if private != 1 || approvals != 2 {
		t.Fatalf("%d private and %d approval lines, want the 1 and 2 printed:\n%s", private, approvals, got)
	}
	want := "tierzero: Here is what I'm about to do:\n" +
		"tierzero: - reset the password of alex\n" +
		"tierzero: - nothing else\uFFFD\n" +
		"[private to adele.vance@contoso.com] temporary password for x [approval 1] done: ok: Pw-123456!x\n"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("output:\n%s\nwant it to begin:\n%s", got, want)
	}
}
