package store

import (
	"context"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

func ticketRecord(tenant tierzero.TenantID, conv tierzero.ConversationID, at time.Time) tierzero.TicketRecord {
	e := tierzero.Escalation{Tenant: tenant, Conversation: conv, Time: at, Summary: "asked for access",
		Requester: tierzero.Requester{Tenant: tenant, UPN: "adele@contoso.com", Channel: tierzero.ChannelSlack}}
	return tierzero.TicketRecord{Ticket: tierzero.Ticket{Correlation: tierzero.TicketCorrelation(e), Escalation: e},
		State: tierzero.TicketQueued, Created: at}
}

func TestTicketOutbox(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{MasterKey: testKey})
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	a, b := ticketRecord("contoso", "conv-a", at), ticketRecord("contoso", "conv-b", at.Add(time.Second))
	for _, r := range []tierzero.TicketRecord{b, a} {
		if added, err := db.AddTicket(ctx, "contoso", r); err != nil || !added {
			t.Fatalf("AddTicket = %v, %v", added, err)
		}
	}
	// Handed over twice: kept once, unchanged.
	dup := a
	dup.Attempts = 9
	if added, err := db.AddTicket(ctx, "contoso", dup); err != nil || added {
		t.Fatalf("AddTicket again = %v, %v", added, err)
	}
	if _, err := db.AddTicket(ctx, "fabrikam", a); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("another tenant's ticket: %v", err)
	}
	a.State, a.Attempts, a.Ref, a.Told = tierzero.TicketOpened, 1, tierzero.TicketRef{System: "webhook", ID: "1", Number: "T-1"}, true
	// The poll's cursor and when to poll next (bot.Tickets) are kept.
	a.Cursor, a.Next, a.Status = "2026-05-01 09:05:00|j1", at.Add(4*time.Minute), tierzero.TicketPending
	if err := db.PutTicket(ctx, "contoso", a); err != nil {
		t.Fatal(err)
	}
	b.State = tierzero.TicketFinished
	if err := db.PutTicket(ctx, "contoso", b); err != nil {
		t.Fatal(err)
	}
	// After a restart.
	db.Close()
	db = openTest(t, dir, Options{MasterKey: testKey})
	open, err := db.Tickets(ctx, "contoso")
	if err != nil || len(open) != 1 || open[0].Correlation() != a.Correlation() || open[0].Ref.Number != "T-1" || !open[0].Told || open[0].Attempts != 1 ||
		open[0].Cursor != a.Cursor || !open[0].Next.Equal(a.Next) || open[0].Status != tierzero.TicketPending {
		t.Fatalf("Tickets = %+v, %v", open, err)
	}
	got, ok, err := db.Ticket(ctx, "contoso", b.Correlation())
	if err != nil || !ok || got.State != tierzero.TicketFinished || got.Ticket.Escalation.Summary != "asked for access" {
		t.Errorf("Ticket = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := db.Ticket(ctx, "contoso", "tz-none"); err != nil || ok {
		t.Errorf("missing ticket = %v, %v", ok, err)
	}
	if got, err := db.Tickets(ctx, "nobody"); err != nil || got != nil {
		t.Errorf("tenant without a file = %v, %v", got, err)
	}
}

func TestUpdateTicketOncePerDelivery(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{MasterKey: testKey})
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	r := ticketRecord("contoso", "conv-a", at)
	r.State, r.Status = tierzero.TicketOpened, tierzero.TicketOpen
	if first, err := db.UpdateTicket(ctx, "contoso", r, "d-1", time.Hour); err != nil || !first {
		t.Fatalf("UpdateTicket = %v, %v", first, err)
	}
	again := r
	again.Status = tierzero.TicketPending
	if first, err := db.UpdateTicket(ctx, "contoso", again, "d-1", time.Hour); err != nil || first {
		t.Fatalf("UpdateTicket again = %v, %v", first, err)
	}
	if got, _, err := db.Ticket(ctx, "contoso", r.Correlation()); err != nil || got.Status != tierzero.TicketOpen {
		t.Errorf("a delivery seen before changed the record: %+v, %v", got, err)
	}
	if _, err := db.UpdateTicket(ctx, "contoso", r, "", time.Hour); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("no delivery id: %v", err)
	}
}
