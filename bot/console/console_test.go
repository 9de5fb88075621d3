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
