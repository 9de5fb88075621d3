// Package tickettest holds what the connectors' tests share: the ticket of
// one escalation, with everything a connector puts in a ticket (requester,
// what was checked and tried, the policy's decision, the transcript).
package tickettest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/ticket"
)

// Ticket is Adele Vance's request to be added to the Finance group, which
// the group's owner must decide: a model_request escalation, a user.get
// checked, a group.add_member tried and denied by policy.
func Ticket() tierzero.Ticket {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	e := tierzero.Escalation{
		Tenant: "contoso", Conversation: "conv-1", Time: at,
		Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelSlack},
		Summary:   "Adele Vance asked to be added to Finance.", Cause: tierzero.CauseModelRequest, Reason: "group owner must decide",
		Checked:   []tierzero.EscalationStep{{CallID: "c1", Action: "user.get", Args: json.RawMessage(`{"user":"adele@contoso.com"}`), OK: true, Result: "enabled"}},
		Tried:     []tierzero.EscalationStep{{CallID: "c2", Action: "group.add_member", OK: false, Result: "denied"}},
		Decisions: []tierzero.EscalationDecision{{CallID: "c2", Action: "group.add_member", Effect: tierzero.EffectDeny, Layer: "baseline", Rule: "groups.owner", Reason: "only owners"}},
		Transcript: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "please add me to the Finance group", Time: at},
			{Role: tierzero.TurnAssistant, Content: "I asked the group's owner.", Time: at},
		},
	}
	return tierzero.Ticket{Correlation: tierzero.TicketCorrelation(e), Escalation: e}
}

// New makes a connector for tenant contoso with its New (autotask.New,
// sysaid.New ...): credentials read from env, and each Retry-After wait
// recorded in slept instead of waited. A failure fails the test.
func New[C, S any](t testing.TB, mk func(C, ticket.Options) (S, error), cfg C, env map[string]string) (c S, slept *[]time.Duration) {
	t.Helper()
	slept = new([]time.Duration)
	c, err := mk(cfg, ticket.Options{Tenant: "contoso", Getenv: func(k string) string { return env[k] },
		Sleep: func(ctx context.Context, d time.Duration) error { *slept = append(*slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c, slept
}

// Finder is what Find checks: a connector's Create and Find.
type Finder interface {
	Create(ctx context.Context, t tierzero.Ticket) (tierzero.TicketRef, error)
	Find(ctx context.Context, correlation string) (tierzero.TicketRef, bool, error)
}

// Find checks that c finds Ticket by its correlation id once it is created,
// and not before, with another ticket created first.
func Find(t testing.TB, c Finder) {
	t.Helper()
	tk := Ticket()
	if _, ok, err := c.Find(context.Background(), tk.Correlation); err != nil || ok {
		t.Fatalf("Find before create = %v, %v", ok, err)
	}
	other := Ticket()
	other.Correlation = "tz-000000000000000000000000"
	if _, err := c.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	want, err := c.Create(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Find(context.Background(), tk.Correlation)
	if err != nil || !ok || got != want {
		t.Errorf("Find = %+v, %v, %v, want %+v", got, ok, err, want)
	}
}

// AuthFailed checks the error of a request a system refused for its
// credentials: code EUnauthorized, a message that names what mentions
// holds (the system, the tenant, "authentication failed"), and none of
// secrets.
func AuthFailed(t testing.TB, err error, mentions []string, secrets ...string) {
	t.Helper()
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("got %v, want EUnauthorized", err)
	}
	msg := err.Error()
	for _, want := range mentions {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q holds a credential", msg)
		}
	}
}
