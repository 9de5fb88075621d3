package offline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/agenttest"
)

// The benchmarks measure the rules model on a few realistic requests, as
// the agent serves it (its system prompt, the tools it selects, the turns
// of each round). Run:
//
//	go test ./agent/offline -run '^$' -bench . -benchmem -count 5
//
// BenchmarkComplete replays the requests the agent made to the model for
// one message: one op is every round of it. BenchmarkHandle is the whole
// message through the agent (memory, intent, policy stand-in, audit to
// memory) with the rules model: one op is one message.

var benchMessages = []struct {
	name string
	req  tierzero.Requester
	text string
}{
	{"password", employee, "I forgot my password"},
	{"hacked", employee, "I think my account was hacked, I got emails I didn't send"},
	{"group", employee, "Can you please add me to the Marketing Team group?"},
	{"compliance", employee, "My laptop keeps telling me it's not compliant with company policy"},
	{"german", employee, "Ich habe mein Passwort vergessen und bin gesperrt"},
	{"technician", tech, "reset the password of alex.wilber@contoso.com"},
}

// recorder is a model that remembers the requests it was asked.
type recorder struct {
	Model
	mu   sync.Mutex
	reqs []agent.Request
}

func (r *recorder) Complete(ctx context.Context, req agent.Request) (agent.Response, error) {
	r.mu.Lock()
	req.Turns = append([]tierzero.Turn(nil), req.Turns...)
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.Model.Complete(ctx, req)
}

func benchAgent(b *testing.B, m agent.Model) *agent.Agent {
	st := &agenttest.Store{}
	a, err := agent.New(agent.Config{Model: m, Runner: &agenttest.Runner{}, Tools: agenttest.Catalog(), Store: st, Audit: st, Escalator: &agenttest.Escalator{}})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkComplete(b *testing.B) { benchComplete(b, false) }

// BenchmarkCompleteCold is BenchmarkComplete with every memo emptied
// before each op: a message the model has not read before.
func BenchmarkCompleteCold(b *testing.B) { benchComplete(b, true) }

// benchComplete replays the model calls of each bench message, its memos
// emptied before each op when cold.
func benchComplete(b *testing.B, cold bool) {
	m := Model{Now: func() time.Time { return now }}
	for _, bm := range benchMessages {
		rec := &recorder{Model: m}
		a := benchAgent(b, rec)
		if _, err := a.Handle(context.Background(), tierzero.Message{Tenant: "contoso", Conversation: "c", Requester: bm.req, Text: bm.text}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s-%drounds", bm.name, len(rec.reqs)), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if cold {
					forgetAll()
				}
				for _, req := range rec.reqs {
					if _, err := m.Complete(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// forgetAll empties the memos of the package.
func forgetAll() {
	canonMemo.Forget()
	intentMemo.Forget()
	clauseMemo.Forget()
	unquoteMemo.Forget()
	uncontactMemo.Forget()
	ownMemo.Forget()
	upnMemo.Forget()
	langMemo.Forget()
	messageMemo.Forget()
	clueMemo.Forget()
	cueMemo.Forget()
	englishMemo.Forget()
	outcomes.Forget()
	scopes.mu.Lock()
	scopes.m, scopes.n = nil, 0
	scopes.mu.Unlock()
}

func BenchmarkHandle(b *testing.B) {
	m := Model{Now: func() time.Time { return now }}
	for _, bm := range benchMessages {
		b.Run(bm.name, func(b *testing.B) {
			a := benchAgent(b, m)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				msg := tierzero.Message{Tenant: "contoso", Conversation: tierzero.ConversationID(fmt.Sprint("c", i)), Requester: bm.req, Text: bm.text}
				if _, err := a.Handle(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
