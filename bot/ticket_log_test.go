package bot_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
	"github.com/tierzero/tierzero/ticket"
	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
)

// agentFunc is a Handler that takes its time on the rig's clock.
type agentFunc func(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error)

func (f agentFunc) Handle(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error) {
	return f(ctx, msg)
}

// TestTicketsLogResolved: with log_resolved, a request tierzero resolved
// becomes a ticket opened and closed at once on the webhook, with the
// time spent and the cause "resolved" for the MSP's category rules; the
// requester is not told of it, and requests not resolved, or of a tenant
// without log_resolved, are not logged.
func TestTicketsLogResolved(t *testing.T) {
	rig := &ticketRig{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), told: &notifier{}}
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: bytes.Repeat([]byte{7}, 32), Now: rig.clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fake := &webhooktest.Receiver{Secret: []byte("s3cret")}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	sys := func(tenant tierzero.TenantID) bot.TicketSystem {
		c, err := webhook.New(webhook.Config{URL: srv.URL, SecretEnv: "T_SECRET"}, ticket.Options{Tenant: tenant,
			Getenv: func(string) string { return "s3cret" }, Now: rig.clock})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tk, err := bot.NewTickets(bot.TicketsConfig{Store: db, Now: rig.clock,
		Systems:     map[tierzero.TenantID]bot.TicketSystem{"contoso": sys("contoso"), "fabrikam": sys("fabrikam")},
		LogResolved: map[tierzero.TenantID]bool{"contoso": true}})
	if err != nil {
		t.Fatal(err)
	}
	tk.Attach(rig.told)
	h := tk.Logging(agentFunc(func(ctx context.Context, msg tierzero.Message) (tierzero.Reply, error) {
		rig.advance(90 * time.Second)
		kind := tierzero.OutcomeAnswered
		if strings.Contains(msg.Text, "reset") {
			kind = tierzero.OutcomeResolved
		}
		return tierzero.Reply{Text: "Done: your MFA methods were reset.", Private: []tierzero.PrivateNote{{Secret: tierzero.NewSecret("temporary_password", "temporary password", "Temp-Passw0rd!")}},
			Outcome: tierzero.Outcome{Kind: kind}}, nil
	}))
	ctx := context.Background()
	adele := tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Channel: tierzero.ChannelSlack}
	msgs := []tierzero.Message{
		{ID: "m1", Tenant: "contoso", Conversation: "C1:1", Requester: adele, Text: "please reset my MFA", Time: rig.clock()},
		{ID: "m2", Tenant: "contoso", Conversation: "C1:2", Requester: adele, Text: "what is my manager?", Time: rig.clock()},
		{ID: "m3", Tenant: "fabrikam", Conversation: "C1:3", Requester: tierzero.Requester{Tenant: "fabrikam", UPN: "a@fabrikam.com"}, Text: "reset it", Time: rig.clock()},
	}
	for _, m := range msgs {
		if reply, err := h.Handle(ctx, m); err != nil || reply.Outcome.Kind == "" {
			t.Fatalf("Handle = %+v, %v", reply, err)
		}
	}
	tk.Flush(ctx)
	tk.Flush(ctx)
	got := fake.Tickets()
	if len(got) != 1 {
		t.Fatalf("%d tickets, want 1", len(got))
	}
	tkt := got[0]
	if !tkt.Closed || tkt.Event.Ticket.Cause != bot.CauseResolved || tkt.Event.Ticket.Message != "please reset my MFA" ||
		!strings.Contains(tkt.Event.Ticket.Body, "Resolved by tierzero, logged for reporting: time spent 1m30s") {
		t.Errorf("ticket %+v", tkt)
	}
	var closes []string
	for _, r := range fake.Requests() {
		if r.Event == webhook.EventClose {
			closes = append(closes, string(r.Body))
		}
		if bytes.Contains(r.Body, []byte("Temp-Passw0rd!")) {
			t.Errorf("a private note reached the ticketing system: %s", r.Body)
		}
	}
	if len(closes) != 1 || !strings.Contains(closes[0], "Resolved by tierzero: time spent 1m30s.") {
		t.Errorf("closes %q", closes)
	}
	if texts := rig.told.texts(); len(texts) != 0 {
		t.Errorf("the requester was told %q", texts)
	}
	if open, _ := db.Tickets(ctx, "contoso"); len(open) != 0 {
		t.Errorf("records not finished: %+v", open)
	}
}
