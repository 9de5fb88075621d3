package servicenow

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/store"
)

type tellings struct {
	mu   sync.Mutex
	text []string
}

func (t *tellings) Tell(ctx context.Context, req tierzero.Requester, conv tierzero.ConversationID, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.text = append(t.text, string(conv)+": "+text)
}

func (t *tellings) all() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.text...)
}

// TestPolledByTheTicketWorker: ServiceNow has no webhook of ours, so the
// ticket worker polls the incident: a technician's comment and the
// resolution reach the requester's conversation once, across a restart,
// and the work note does not.
func TestPolledByTheTicketWorker(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: bytes.Repeat([]byte{3}, 32), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	told := &tellings{}
	var forgot []tierzero.ConversationID
	worker := func() *bot.Tickets {
		tk, err := bot.NewTickets(bot.TicketsConfig{Store: db, Systems: map[tierzero.TenantID]bot.TicketSystem{"contoso": c}, Now: clock,
			Forget: func(ctx context.Context, tenant tierzero.TenantID, conv tierzero.ConversationID, req tierzero.Requester) error {
				forgot = append(forgot, conv)
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		tk.Attach(told)
		return tk
	}
	tk := worker()
	if err := tk.Escalate(ctx, escalation()); err != nil {
		t.Fatal(err)
	}
	tk.Flush(ctx)
	tk.Flush(ctx) // the first poll: nothing new
	inc := f.tables["incident"][0]
	f.mu.Lock()
	f.now = f.now.Add(time.Minute)
	f.journal(inc["sys_id"], "comments", "beth.tech", "Is the laptop LAPTOP-7?")
	f.journal(inc["sys_id"], "work_notes", "beth.tech", "internal: check the asset register")
	f.mu.Unlock()
	now = now.Add(time.Hour)
	tk.Flush(ctx)

	tk = worker() // a restart
	now = now.Add(time.Hour)
	tk.Flush(ctx)
	f.mu.Lock()
	f.now = f.now.Add(time.Minute)
	f.journal(inc["sys_id"], "comments", "beth.tech", "Wiped remotely.")
	inc["state"] = "6"
	f.mu.Unlock()
	now = now.Add(time.Hour)
	tk.Flush(ctx)
	now = now.Add(time.Hour)
	tk.Flush(ctx)

	got := told.all()
	want := []string{
		"conv-1: Your request is now ticket " + inc["number"],
		"conv-1: Update on ticket " + inc["number"] + " from beth.tech: Is the laptop LAPTOP-7?",
		"conv-1: Update on ticket " + inc["number"] + " from beth.tech: Wiped remotely.\nTicket " + inc["number"] + " was resolved by IT support.",
	}
	if len(got) != len(want) {
		t.Fatalf("told %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("told[%d] %q, want %q", i, got[i], want[i])
		}
	}
	if strings.Contains(strings.Join(got, "\n"), "asset register") {
		t.Errorf("a work note reached the requester: %q", got)
	}
	if len(forgot) != 1 || forgot[0] != "conv-1" {
		t.Errorf("forgot %q", forgot)
	}
}
