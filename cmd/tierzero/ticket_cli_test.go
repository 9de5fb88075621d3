package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
)

// TestTicketTestCommand runs `tierzero ticket test TENANT` through Main
// against the fake webhook receiver: the test ticket is created (signed),
// found by its correlation id and closed, and the command says so; with
// the receiver refusing the credentials, the error names the tenant and
// the system, and never the secret.
func TestTicketTestCommand(t *testing.T) {
	const secret = "contoso-ticket-secret-s3cr3t"
	f := &webhooktest.Receiver{Secret: []byte(secret)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "tierzero.yaml")
	conf := "tenants:\n  contoso:\n    auth: {method: simulator}\n    ticket: {system: webhook, url: \"" + srv.URL + "/hook\", secret_env: CONTOSO_TICKET_SECRET}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "CONTOSO_TICKET_SECRET" {
			return secret
		}
		return ""
	}

	if r := run(t, env, "", "config", "validate", cfg); r.code != 0 {
		t.Fatalf("config validate: exit %d %s%s", r.code, r.stdout, r.stderr)
	}

	r := run(t, env, "", "ticket", "test", "contoso", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("ticket test: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"tenant contoso: webhook: opened test ticket T-0001", "found it by its correlation id and closed it: ok"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout %q lacks %q", r.stdout, want)
		}
	}
	tickets := f.Tickets()
	if len(tickets) != 1 {
		t.Fatalf("%d tickets, want the one test ticket", len(tickets))
	}
	tk := tickets[0]
	if tk.Event.Ticket == nil || !tk.Event.Ticket.Test || tk.Event.Tenant != "contoso" {
		t.Errorf("the ticket is not a test ticket of contoso: %+v", tk.Event)
	}
	if !tk.Closed {
		t.Errorf("the test ticket was not closed: %+v", tk.Notes)
	}
	var events []string
	for _, q := range f.Requests() {
		events = append(events, q.Event)
		if !q.Valid {
			t.Errorf("%s was not signed with the tenant's secret", q.Event)
		}
		var ev webhook.Event
		if err := json.Unmarshal(q.Body, &ev); err != nil || ev.Correlation != "" && ev.Correlation != tk.Event.Correlation {
			t.Errorf("%s: correlation %q, want %q (%v)", q.Event, ev.Correlation, tk.Event.Correlation, err)
		}
		if strings.Contains(string(q.Body), secret) {
			t.Errorf("%s carries the secret", q.Event)
		}
	}
	if got, want := strings.Join(events, ","), "ticket.create,ticket.find,ticket.close"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}

	// The receiver refuses the credentials.
	f.Unauthorized(true)
	r = run(t, env, "", "ticket", "test", "contoso", "--config", cfg)
	if r.code == 0 {
		t.Fatalf("ticket test with a refused secret: exit 0 %s", r.stdout)
	}
	for _, want := range []string{"ticket system webhook for tenant contoso", "authentication failed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the auth failure %q does not name %q", r.stderr, want)
		}
	}
	t.Logf("auth failure: %s", strings.TrimSpace(r.stderr))
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Error("the auth failure shows the secret")
	}
	if len(f.Tickets()) != 1 {
		t.Errorf("a refused create opened a ticket")
	}

	// A tenant without a ticket block, and one the file does not know.
	conf += "  fabrikam:\n    auth: {method: simulator}\n"
	os.WriteFile(cfg, []byte(conf), 0o600)
	if r := run(t, env, "", "ticket", "test", "fabrikam", "--config", cfg); r.code == 0 || !strings.Contains(r.stderr, "tenant fabrikam has no ticket block") {
		t.Errorf("fabrikam: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, env, "", "ticket", "test", "northwind", "--config", cfg); r.code == 0 || !strings.Contains(r.stderr, "northwind") {
		t.Errorf("northwind: exit %d %s", r.code, r.stderr)
	}
}
