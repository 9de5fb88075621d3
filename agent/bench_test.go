package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent/agenttest"
)

// The benchmarks measure what the agent loop itself adds to a request: a
// zero-latency model that investigates once and then answers (two model
// calls, one tool call), a runner that answers at once, an in-memory store,
// 100 tenants with 10 conversations each (so memory trimming is exercised
// as histories grow). Run:
//
//	go test ./agent -run '^$' -bench Handle -benchtime 20000x
//
// It reports requests per second and the p50 and p99 latency of Handle.

type benchModel struct{}

var benchCall = json.RawMessage(`{"user":"adele.vance@contoso.com"}`)

func (benchModel) Complete(_ context.Context, req Request) (Response, error) {
	last := req.Turns[len(req.Turns)-1]
	if last.Role == tierzero.TurnUser {
		return Response{ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "user_get", Args: benchCall}}, Usage: Usage{PromptTokens: 1500, CompletionTokens: 20}}, nil
	}
	return Response{Text: "Your account is enabled and your password was changed 12 days ago.", Usage: Usage{PromptTokens: 1600, CompletionTokens: 25}}, nil
}

type benchRunner struct{}

var benchOutput = json.RawMessage(`{"id":"id-adele","userPrincipalName":"adele.vance@contoso.com","displayName":"Adele Vance","department":"Retail","accountEnabled":true,"licenses":[{"skuId":"c7df2760-2c81-4ef7-b578-5b5392b571df","skuPartNumber":"ENTERPRISEPREMIUM"}]}`)

func (benchRunner) RunTool(_ context.Context, _ tierzero.TenantID, _ tierzero.Requester, _ tierzero.ConversationID, c tierzero.ToolCall) (tierzero.ToolResult, error) {
	return tierzero.ToolResult{CallID: c.ID, Action: c.Action, Output: benchOutput,
		Decision: &tierzero.Decision{Effect: tierzero.EffectAllow, Rule: "self-read-profile"}}, nil
}

// benchStore keeps conversations in a sharded map and discards audit events.
type benchStore struct {
	mu    sync.Mutex
	convs map[string]tierzero.Conversation
	n     atomic.Int64
}

func (s *benchStore) Conversation(_ context.Context, t tierzero.TenantID, id tierzero.ConversationID) (tierzero.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[string(t)+"/"+string(id)]
	if !ok {
		return tierzero.Conversation{ID: id, Tenant: t}, nil
	}
	c.Turns = slices.Clone(c.Turns)
	return c, nil
}

func (s *benchStore) SaveConversation(_ context.Context, t tierzero.TenantID, c tierzero.Conversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.convs[string(t)+"/"+string(c.ID)] = c
	return nil
}

func (s *benchStore) Append(context.Context, tierzero.TenantID, tierzero.AuditEvent) error {
	s.n.Add(1)
	return nil
}

func benchAgent(b *testing.B) *Agent {
	st := &benchStore{convs: map[string]tierzero.Conversation{}}
	a, err := New(Config{Model: benchModel{}, Runner: benchRunner{}, Tools: agenttest.Catalog(), Store: st, Audit: st})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

const benchTenants = 100

func benchMessage(i int) tierzero.Message {
	tenant := tierzero.TenantID(fmt.Sprintf("tenant-%03d", i%benchTenants))
	return tierzero.Message{
		Tenant: tenant, Conversation: tierzero.ConversationID(fmt.Sprintf("c%d", (i/benchTenants)%10)),
		Requester: tierzero.Requester{Tenant: tenant, UPN: "adele.vance@contoso.com", Role: tierzero.RoleEmployee},
		Text:      "Is my account OK? I could not sign in this morning.",
	}
}

func BenchmarkHandle(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		a := benchAgent(b)
		lat := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, err := a.Handle(context.Background(), benchMessage(i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
	b.Run("parallel", func(b *testing.B) {
		a := benchAgent(b)
		var next atomic.Int64
		var mu sync.Mutex
		lat := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				i := int(next.Add(1))
				t0 := time.Now()
				if _, err := a.Handle(context.Background(), benchMessage(i)); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		report(b, lat)
	})
}

func report(b *testing.B, lat []time.Duration) {
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// acrossModel proposes a read in the tenant the message names, then answers.
type acrossModel struct{}

func (acrossModel) Complete(_ context.Context, req Request) (Response, error) {
	last := req.Turns[len(req.Turns)-1]
	if last.Role == tierzero.TurnUser && last.Content != "yes" {
		args := fmt.Sprintf(`{"user":"adele.vance@contoso.com","tenant":%q}`, last.Content)
		return Response{ToolCalls: []tierzero.ToolCall{{ID: "c1", Action: "user_get", Args: json.RawMessage(args)}}}, nil
	}
	return Response{Text: "Her account is enabled."}, nil
}

// BenchmarkAcross measures an MSP technician's request into one of 100
// client tenants: the plan (tools rewritten with the tenant argument, the
// call held), then the "yes" that runs it. One op is both messages.
func BenchmarkAcross(b *testing.B) {
	tenants := make([]tierzero.TenantID, benchTenants)
	for i := range tenants {
		tenants[i] = tierzero.TenantID(fmt.Sprintf("tenant-%03d", i))
	}
	st := &benchStore{convs: map[string]tierzero.Conversation{}}
	a, err := New(Config{Model: acrossModel{}, Runner: benchRunner{}, Tools: agenttest.Catalog(), Store: st, Audit: st,
		Tenants: func(tierzero.Requester) []tierzero.TenantID { return tenants }})
	if err != nil {
		b.Fatal(err)
	}
	tech := tierzero.Requester{Tenant: "msp", UPN: "tess@msp.example", Role: tierzero.RoleMSPTechnician}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		conv := tierzero.ConversationID(fmt.Sprintf("c%d", i%10))
		t0 := time.Now()
		for _, text := range []string{string(tenants[i%benchTenants]), "yes"} {
			if _, err := a.Handle(context.Background(), tierzero.Message{Tenant: "msp", Conversation: conv, Requester: tech, Text: text}); err != nil {
				b.Fatal(err)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, lat)
}
