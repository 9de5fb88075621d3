// Package bottest builds, for tests of the desk and of its channels, the
// real pipeline behind bot.Desk: the Graph simulator on loopback, the
// encrypted store in a directory, the Graph client, policy.Guard with the
// baseline, the agent with the offline rules model (or the model given),
// and the desk, which the guard notifies of approvals. It is for tests
// only.
package bottest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/offline"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
	"github.com/tierzero/tierzero/store"
)

// Options are what a test may choose of its pipeline; the zero value is
// the default pipeline.
type Options struct {
	// Sim is the Graph simulator; nil: a new one with the seeded tenants.
	Sim *sim.Server
	// Dir is the store's directory; "": a new temporary directory.
	Dir string
	// Key is the store's master key; nil: a new one.
	Key []byte
	// Model is the agent's model; nil: offline.Model.
	Model agent.Model
	// Memory wraps the store as the agent's conversation memory; nil: the
	// store itself.
	Memory func(*store.DB) agent.Store
	// Staff is the desk's staff; nil: the clients contoso and fabrikam,
	// with alex.wilber@contoso.com contoso's tenant admin.
	Staff *bot.Staff
	// Workers, Responders and Ticker are the desk's (bot.Config).
	Workers    int
	Responders map[tierzero.Channel]bot.Responder
	Ticker     func(time.Duration) (<-chan time.Time, func())
	// Now is the clock of the store, the guard and the desk; nil: theirs.
	Now func() time.Time
}

// Pipeline is the desk on the real pipeline.
type Pipeline struct {
	Sim  *sim.Server
	DB   *store.DB
	Desk *bot.Desk
}

// New builds the pipeline of o. The desk is not open (see Open); the test's
// cleanup closes the desk and the store.
func New(t testing.TB, o Options) *Pipeline {
	t.Helper()
	p := &Pipeline{Sim: o.Sim}
	if p.Sim == nil {
		p.Sim = sim.New(sim.Options{})
	}
	srv := httptest.NewServer(p.Sim)
	t.Cleanup(srv.Close)
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	key := o.Key
	if key == nil {
		key = store.NewMasterKey()
	}
	var err error
	p.DB, err = store.Open(dir, store.Options{MasterKey: key, Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := policy.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graph.New(graph.Config{
		BaseURL: srv.URL + "/v1.0",
		Token:   func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits: tierzero.NewPermitVerifier(signer.PublicKey(), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	set := policy.Baseline()
	staff := bot.Staff{Clients: []tierzero.TenantID{"contoso", "fabrikam"},
		Admins: map[tierzero.TenantID][]string{"contoso": {"alex.wilber@contoso.com"}}}
	if o.Staff != nil {
		staff = *o.Staff
	}
	notify := &bot.Later{}
	guard, err := policy.NewGuard(policy.GuardConfig{
		Policies: set, Signer: signer, Executor: gc, Directory: gc, Audit: p.DB,
		Tools: gc.Tools(), TargetOf: graph.UserRef, SubjectOf: graph.SubjectOf,
		Groups: gc, Licenses: gc, Devices: gc, History: p.DB, Intents: p.DB, Approvals: p.DB,
		Notifier: notify, Describe: agent.Describe, Now: o.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	model := o.Model
	if model == nil {
		model = offline.Model{}
	}
	var mem agent.Store = p.DB
	if o.Memory != nil {
		mem = o.Memory(p.DB)
	}
	ag, err := agent.New(agent.Config{Model: model, Runner: guard, Tools: gc.Tools(), Store: mem, Audit: p.DB,
		Offered: func(r tierzero.Requester, s tierzero.ToolSpec) bool { return set.MayAllow(r, s.Action) }})
	if err != nil {
		t.Fatal(err)
	}
	p.Desk, err = bot.New(bot.Config{
		Store: p.DB, Agent: ag, Guard: guard, Directory: gc, Staff: staff,
		Responders: o.Responders, Workers: o.Workers, Now: o.Now, Ticker: o.Ticker,
	})
	if err != nil {
		t.Fatal(err)
	}
	notify.Set(p.Desk)
	t.Cleanup(p.Close)
	return p
}

// Open opens the desk and waits until it is ready.
func (p *Pipeline) Open(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Desk.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Desk.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// Close closes the desk, then the store.
func (p *Pipeline) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p.Desk.Close(ctx)
	p.DB.Close()
}

// Writes are the successful writes of a tenant in the simulator's journal.
func Writes(s *sim.Server, tenant string) []sim.JournalEntry {
	var out []sim.JournalEntry
	for _, j := range s.Journal(tenant) {
		if j.Method != http.MethodGet && j.Status < 300 {
			out = append(out, j)
		}
	}
	return out
}

// WaitFor polls until cond holds, or fails the test after 20 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
