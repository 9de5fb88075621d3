package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
	"github.com/tierzero/tierzero/ticket/tickettest"
	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
)

const secret = "whsec-test-0123456789"

func escalation() tierzero.Escalation {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	return tierzero.Escalation{Tenant: "contoso", Conversation: "conv-1", Time: at,
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Channel: tierzero.ChannelSlack},
		Summary:   "Adele asked for Finance access.", Cause: tierzero.CauseModelRequest, Reason: "the group owner decides",
		Checked:    []tierzero.EscalationStep{{CallID: "c1", Action: "get_user", OK: true, Result: "enabled"}},
		Transcript: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "add me to Finance", Time: at}}}
}

func setup(t *testing.T, opts ticket.Options) (*webhook.Client, *webhooktest.Receiver, *[]time.Duration) {
	t.Helper()
	fake := &webhooktest.Receiver{Secret: []byte(secret)}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Release)
	var slept []time.Duration
	opts.Tenant = "contoso"
	opts.Getenv = func(k string) string {
		if k == "CONTOSO_TICKET_SECRET" {
			return secret
		}
		return ""
	}
	opts.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	c, err := webhook.New(webhook.Config{URL: srv.URL + "/hooks/tierzero", SecretEnv: "CONTOSO_TICKET_SECRET"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, fake, &slept
}

func TestCreateFindNoteClose(t *testing.T) {
	c, fake, _ := setup(t, ticket.Options{})
	ctx := context.Background()
	tk := tierzero.Ticket{Correlation: tierzero.TicketCorrelation(escalation()), Escalation: escalation()}
	if _, ok, err := c.Find(ctx, tk.Correlation); err != nil || ok {
		t.Fatalf("Find before create = %v, %v", ok, err)
	}
	ref, err := c.Create(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	if ref.System != "webhook" || ref.ID != "1" || ref.Number != "T-0001" || ref.URL == "" {
		t.Errorf("ref %+v", ref)
	}
	// A retry of the same create is the same delivery: the same ticket.
	again, err := c.Create(ctx, tk)
	if err != nil || again != ref {
		t.Errorf("create again = %+v, %v; want %+v", again, err, ref)
	}
	found, ok, err := c.Find(ctx, tk.Correlation)
	if err != nil || !ok || found != ref {
		t.Errorf("Find = %+v, %v, %v", found, ok, err)
	}
	if err := c.Note(ctx, ref, tierzero.TicketNote{Text: "the requester added: it is urgent", Public: false}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx, ref, "connection test"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Updates(ctx, ref, ""); !errors.Is(err, ticket.ErrPushOnly) {
		t.Errorf("Updates = %v", err)
	}
	got := fake.Tickets()
	if len(got) != 1 || !got[0].Closed || len(got[0].Notes) != 2 || got[0].Notes[0].Note.Public {
		t.Fatalf("tickets %+v", got)
	}
	ev := got[0].Event
	if ev.Ticket == nil || ev.Ticket.Message != "add me to Finance" || ev.Ticket.Requester.UPN != "adele@contoso.com" ||
		!strings.Contains(ev.Ticket.Body, "get_user") || ev.Tenant != "contoso" || ev.Correlation != tk.Correlation {
		t.Errorf("create event %+v", ev)
	}
	var creates []webhooktest.Request
	for _, r := range fake.Requests() {
		if !r.Valid {
			t.Errorf("request %s with an invalid signature %q", r.Event, r.Signature)
		}
		if r.Event == webhook.EventCreate {
			creates = append(creates, r)
		}
	}
	if len(creates) != 2 || creates[0].Delivery != creates[1].Delivery || creates[0].Delivery != tk.Correlation {
		t.Errorf("create deliveries %+v, want two with the correlation id", creates)
	}
}

func TestAuthFailure(t *testing.T) {
	c, fake, _ := setup(t, ticket.Options{})
	fake.Unauthorized(true)
	_, err := c.Create(context.Background(), tierzero.Ticket{Correlation: "tz-1", Escalation: escalation()})
	tickettest.AuthFailed(t, err, []string{"ticket system webhook", "tenant contoso", "authentication failed"}, secret)
}

func TestRateLimit(t *testing.T) {
	c, fake, slept := setup(t, ticket.Options{})
	fake.RateLimit(2, 4)
	ref, err := c.Create(context.Background(), tierzero.Ticket{Correlation: "tz-1", Escalation: escalation()})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Number != "T-0001" || len(fake.Tickets()) != 1 {
		t.Errorf("ref %+v, %d tickets", ref, len(fake.Tickets()))
	}
	if len(*slept) != 2 || (*slept)[0] != 4*time.Second || (*slept)[1] != 4*time.Second {
		t.Errorf("slept %v, want the Retry-After twice", *slept)
	}
	// A Retry-After beyond what HTTP waits in-line is handed to the caller.
	fake.RateLimit(1, 3600)
	_, err = c.Create(context.Background(), tierzero.Ticket{Correlation: "tz-2", Escalation: escalation()})
	var te *ticket.Error
	if !errors.As(err, &te) || te.RetryAfter() != time.Hour || te.MaybeApplied() {
		t.Errorf("got %v, want a rate limit of 1h, not applied", err)
	}
}

// TestTimeoutApplied: the receiver opens the ticket but the answer never
// comes; the client reports an ambiguous failure, and Find sees the ticket.
func TestTimeoutApplied(t *testing.T) {
	c, fake, _ := setup(t, ticket.Options{Timeout: 200 * time.Millisecond})
	fake.HangCreates(1)
	tk := tierzero.Ticket{Correlation: "tz-1", Escalation: escalation()}
	_, err := c.Create(context.Background(), tk)
	var te *ticket.Error
	if !errors.As(err, &te) || !te.MaybeApplied() {
		t.Fatalf("got %v, want an ambiguous failure", err)
	}
	ref, ok, err := c.Find(context.Background(), tk.Correlation)
	if err != nil || !ok || ref.Number != "T-0001" {
		t.Fatalf("Find = %+v, %v, %v", ref, ok, err)
	}
	if n := len(fake.Tickets()); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
}

func TestNewRefusesMissingSecret(t *testing.T) {
	_, err := webhook.New(webhook.Config{URL: "https://psa.example/hook", SecretEnv: "NOPE_SECRET"},
		ticket.Options{Tenant: "contoso", Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "NOPE_SECRET") || !strings.Contains(err.Error(), "contoso") {
		t.Errorf("got %v", err)
	}
	_, err = webhook.New(webhook.Config{URL: "http://psa.example/hook", SecretEnv: "S"},
		ticket.Options{Tenant: "contoso", Getenv: func(string) string { return "x" }})
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("got %v", err)
	}
}

func TestReceiver(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	type got struct {
		tenant      tierzero.TenantID
		delivery    string
		correlation string
		u           tierzero.TicketUpdate
	}
	var delivered []got
	rc := &webhook.Receiver{
		Secret: func(t tierzero.TenantID) ([]byte, bool) { return []byte(secret), t == "contoso" },
		Deliver: func(ctx context.Context, tenant tierzero.TenantID, delivery, correlation string, u tierzero.TicketUpdate) error {
			if correlation == "tz-unknown" {
				return tierzero.Errorf(tierzero.ENotFound, "no such ticket")
			}
			delivered = append(delivered, got{tenant, delivery, correlation, u})
			return nil
		},
		Now: func() time.Time { return now },
	}
	body := func(sent time.Time, corr string) []byte {
		b, _ := json.Marshal(map[string]any{"event": "ticket.comment", "delivery": "d-1", "sent": sent, "correlation": corr,
			"comment": map[string]any{"id": "c9", "author": "Tech Tom", "text": "I added you to Finance."}, "public": true})
		return b
	}
	good := body(now.Add(-time.Minute), "tz-1")
	tests := []struct {
		name   string
		path   string
		body   []byte
		sig    string
		want   int
		wantOK bool
		header string // X-Tierzero-Delivery, "d-1" when empty
	}{
		// A captured callback posted again under a new delivery id, within
		// the window: the id is signed in the body, so it is refused.
		{"replayed under a new delivery id", "/ticket/webhook/contoso", good, webhook.Sign([]byte(secret), good), 401, false, "d-2"},
		{"valid", "/ticket/webhook/contoso", good, webhook.Sign([]byte(secret), good), 200, true, ""},
		{"bad signature", "/ticket/webhook/contoso", good, webhook.Sign([]byte("other"), good), 401, false, ""},
		{"no signature", "/ticket/webhook/contoso", good, "", 401, false, ""},
		{"tampered", "/ticket/webhook/contoso", bytes.Replace(good, []byte("Finance"), []byte("Admins!"), 1), webhook.Sign([]byte(secret), good), 401, false, ""},
		{"other tenant", "/ticket/webhook/fabrikam", good, webhook.Sign([]byte(secret), good), 404, false, ""},
		{"replayed late", "/ticket/webhook/contoso", body(now.Add(-time.Hour), "tz-1"), webhook.Sign([]byte(secret), body(now.Add(-time.Hour), "tz-1")), 401, false, ""},
		{"unknown ticket", "/ticket/webhook/contoso", body(now, "tz-unknown"), webhook.Sign([]byte(secret), body(now, "tz-unknown")), 404, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			delivered = nil
			r := httptest.NewRequest("POST", tt.path, bytes.NewReader(tt.body))
			h := tt.header
			if h == "" {
				h = "d-1"
			}
			r.Header.Set(webhook.HeaderDelivery, h)
			if tt.sig != "" {
				r.Header.Set(webhook.HeaderSignature, tt.sig)
			}
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
			if (len(delivered) == 1) != tt.wantOK {
				t.Fatalf("delivered %+v", delivered)
			}
			if tt.wantOK {
				d := delivered[0]
				if d.tenant != "contoso" || d.delivery != "d-1" || d.correlation != "tz-1" || len(d.u.Comments) != 1 || d.u.Comments[0].Text != "I added you to Finance." {
					t.Errorf("delivered %+v", d)
				}
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	sig := webhook.Sign([]byte("k"), []byte("body"))
	// HMAC-SHA256("k", "body"), as `printf body | openssl dgst -sha256 -hmac k` prints it.
	if sig != "sha256=c6d811ef3aeb02437cd423f1abe13209041864630bdc4e2c04def5c7b0031a23" {
		t.Fatalf("sig %q", sig)
	}
	if !webhook.Verify([]byte("k"), []byte("body"), sig) || webhook.Verify([]byte("k"), []byte("body2"), sig) ||
		webhook.Verify([]byte("k"), []byte("body"), strings.TrimPrefix(sig, "sha256=")) || webhook.Verify(nil, []byte("body"), sig) {
		t.Errorf("verify")
	}
}
