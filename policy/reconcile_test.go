package policy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/store"
)

var (
	_ OpenIntents = (*store.DB)(nil)
	_ Reader      = (*graph.Client)(nil)
)

// readBack is an executor that reads back, by the user a call names, and
// must never run anything.
type readBack struct {
	mu       sync.Mutex
	answers  map[string]answer
	asked    []string
	executed int
}

type answer struct {
	applied, known bool
	err            error
}

func (f *readBack) Execute(context.Context, tierzero.Permit, tierzero.TenantID, tierzero.ToolCall) (tierzero.ToolResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.executed++
	return tierzero.ToolResult{}, errors.New("reconciliation must not run anything")
}

func (f *readBack) Applied(_ context.Context, _ tierzero.TenantID, call tierzero.ToolCall, _ time.Time) (bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	user, _ := newTestGuardTargetOf(call)
	f.asked = append(f.asked, user)
	a := f.answers[user]
	return a.applied, a.known, a.err
}

// reconcileRig is a Guard on a real store whose executor reads back.
func reconcileRig(t *testing.T, answers map[string]answer) (*Guard, *readBack, *store.DB) {
	t.Helper()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, err := store.Open(t.TempDir(), store.Options{MasterKey: make([]byte, store.KeySize), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := &readBack{answers: answers}
	g, err := NewGuard(GuardConfig{
		Policies: Baseline(), Signer: signer, Executor: exec, Audit: db, Directory: approvalDir,
		Tools:    toolSpecs("user.reset_password!"),
		TargetOf: newTestGuardTargetOf, Intents: db, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, exec, db
}

// begin records an open intent to reset user's password, as a process that
// then died would have.
func begin(t *testing.T, db *store.DB, user string) tierzero.Intent {
	t.Helper()
	in := tierzero.Intent{ID: "i-" + user, Action: "user.reset_password", Args: json.RawMessage(`{"user":"` + user + `"}`),
		Requester: "adele@contoso.com", Conversation: "conv"}
	if err := db.BeginIntent(context.Background(), "contoso", in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name        string
		answer      answer
		wantOutcome tierzero.IntentOutcome
		wantDetail  string
	}{
		{"applied is done", answer{applied: true, known: true}, tierzero.IntentDone, "shows it applied"},
		{"not applied is failed, not sent again", answer{known: true}, tierzero.IntentFailed, "it was not sent again"},
		{"cannot tell needs review", answer{}, tierzero.IntentNeedsReview, "could not be read back"},
		{"cannot tell, whatever applied says", answer{applied: true}, tierzero.IntentNeedsReview, "could not be read back"},
		{"a failed read needs review", answer{applied: true, known: true, err: tierzero.Errorf(tierzero.EUnavailable, "graph is down")},
			tierzero.IntentNeedsReview, "reading the outcome back failed: graph is down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			g, exec, db := reconcileRig(t, map[string]answer{"alex@contoso.com": tt.answer})
			in := begin(t, db, "alex@contoso.com")
			review, err := g.Reconcile(ctx, "contoso")
			if err != nil {
				t.Fatal(err)
			}
			if exec.executed != 0 {
				t.Fatalf("reconciliation executed %d calls", exec.executed)
			}
			if !slices.Equal(exec.asked, []string{"alex@contoso.com"}) {
				t.Fatalf("read back %q, want alex once", exec.asked)
			}
			if tt.wantOutcome == tierzero.IntentNeedsReview {
				if len(review) != 1 || review[0].ID != in.ID || review[0].Outcome != tt.wantOutcome || !strings.Contains(review[0].Detail, tt.wantDetail) {
					t.Fatalf("review = %+v, want the intent with %q", review, tt.wantDetail)
				}
			} else if len(review) != 0 {
				t.Fatalf("review = %+v, want none", review)
			}
			if open, err := db.OpenIntents(ctx, "contoso"); err != nil || len(open) != 0 {
				t.Fatalf("open intents after = %+v, %v; want none", open, err)
			}
			// Finished: a second FinishIntent conflicts.
			if err := db.FinishIntent(ctx, "contoso", in.ID, tierzero.IntentDone, ""); tierzero.ErrorCode(err) != tierzero.EConflict {
				t.Fatalf("FinishIntent again = %v, want conflict: the intent was not finished", err)
			}
			var evs []tierzero.AuditEvent
			if err := db.Audit(ctx, "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
				evs = append(evs, ev)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("audit = %+v, want one reconciled record", evs)
			}
			ev := evs[0]
			if ev.Kind != tierzero.AuditReconciled || ev.Outcome != string(tt.wantOutcome) || !strings.Contains(ev.Reason, tt.wantDetail) ||
				ev.Tool != in.Action || ev.CallID != in.ID || string(ev.Args) != string(in.Args) || ev.Requester != in.Requester || ev.Conversation != in.Conversation {
				t.Fatalf("audit = %+v, want reconciled %s with %q", ev, tt.wantOutcome, tt.wantDetail)
			}
			// Nothing is left to reconcile.
			if review, err := g.Reconcile(ctx, "contoso"); err != nil || len(review) != 0 || len(exec.asked) != 1 {
				t.Fatalf("second Reconcile = %+v, %v after %d read-backs; want nothing to do", review, err, len(exec.asked))
			}
		})
	}
}

// Several intents: each settled, only those that need review returned.
func TestReconcileSeveral(t *testing.T) {
	ctx := context.Background()
	g, exec, db := reconcileRig(t, map[string]answer{
		"alex@contoso.com":   {applied: true, known: true},
		"adele@contoso.com":  {},
		"miriam@contoso.com": {err: errors.New("timeout")},
	})
	for _, u := range []string{"alex@contoso.com", "adele@contoso.com", "miriam@contoso.com"} {
		begin(t, db, u)
	}
	review, err := g.Reconcile(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range review {
		ids = append(ids, in.ID)
	}
	slices.Sort(ids)
	if want := []string{"i-adele@contoso.com", "i-miriam@contoso.com"}; !slices.Equal(ids, want) {
		t.Fatalf("review = %q, want %q", ids, want)
	}
	if exec.executed != 0 || len(exec.asked) != 3 {
		t.Fatalf("executed %d, read back %q", exec.executed, exec.asked)
	}
	// A tenant with nothing recorded has nothing to reconcile.
	if review, err := g.Reconcile(ctx, "fabrikam"); err != nil || review != nil {
		t.Fatalf("Reconcile(fabrikam) = %+v, %v", review, err)
	}
}

// onlyIntents records intents but cannot list the open ones.
type onlyIntents struct{ Intents }

func TestReconcileMissingParts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		tenant  tierzero.TenantID
		change  func(*Guard)
		wantErr string // "" for nothing to do
	}{
		{"no intents recorded, nothing to do", "contoso", func(g *Guard) { g.cfg.Intents = nil }, ""},
		{"intents that cannot be listed", "contoso", func(g *Guard) { g.cfg.Intents = onlyIntents{g.cfg.Intents} }, "cannot list open intents"},
		{"an executor that cannot read back", "contoso", func(g *Guard) { g.cfg.Executor = &capture{} }, "cannot read back"},
		{"an invalid tenant", "../contoso", func(*Guard) {}, "invalid tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, exec, db := reconcileRig(t, nil)
			begin(t, db, "alex@contoso.com")
			tt.change(g)
			review, err := g.Reconcile(ctx, tt.tenant)
			if tt.wantErr == "" {
				if err != nil || review != nil {
					t.Fatalf("Reconcile = %+v, %v; want nothing", review, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Reconcile = %v, want an error with %q", err, tt.wantErr)
			}
			if exec.executed != 0 || len(exec.asked) != 0 {
				t.Fatalf("executed %d, read back %q", exec.executed, exec.asked)
			}
			if open, _ := db.OpenIntents(ctx, "contoso"); len(open) != 1 {
				t.Fatalf("open intents = %+v, want the one still open", open)
			}
		})
	}
}

// A crash mid-reconciliation (the outcome cannot be written) stops it with
// an error, and the intent stays open for the next start.
func TestReconcileFinishFails(t *testing.T) {
	ctx := context.Background()
	g, _, db := reconcileRig(t, map[string]answer{"alex@contoso.com": {applied: true, known: true}})
	begin(t, db, "alex@contoso.com")
	g.cfg.Intents = failFinish{db}
	if _, err := g.Reconcile(ctx, "contoso"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Reconcile = %v, want the finish error", err)
	}
	if open, _ := db.OpenIntents(ctx, "contoso"); len(open) != 1 {
		t.Fatalf("open intents = %+v, want it still open", open)
	}
}

type failFinish struct{ *store.DB }

func (failFinish) FinishIntent(context.Context, tierzero.TenantID, string, tierzero.IntentOutcome, string) error {
	return errors.New("disk full")
}
