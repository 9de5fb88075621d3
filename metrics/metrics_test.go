package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tierzero/tierzero"
)

// scrape GETs the registry's handler over HTTP and returns the text body.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return string(b)
}

// sample returns the value of the sample line that starts with series
// (name and labels exactly as exposed), and whether there is one.
func sample(body, series string) (string, bool) {
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return rest, true
		}
	}
	return "", false
}

// fakeAudit records appended events, or fails every append.
type fakeAudit struct {
	mu   sync.Mutex
	evs  []tierzero.AuditEvent
	fail error
}

func (f *fakeAudit) Append(_ context.Context, _ tierzero.TenantID, ev tierzero.AuditEvent) error {
	if f.fail != nil {
		return f.fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evs = append(f.evs, ev)
	return nil
}

func TestNamesExposed(t *testing.T) {
	r := New()
	// Vectors appear once they have a child; touch each one.
	r.Inbound(tierzero.ChannelSlack, "accepted")
	r.QueueDepth(3)
	r.Handled(tierzero.ChannelSlack, "ok", 40*time.Millisecond)
	r.Acked(tierzero.ChannelSlack, 2*time.Millisecond)
	r.Delivery(tierzero.ChannelSlack, "ok")
	a := r.Auditor(&fakeAudit{})
	ctx := context.Background()
	for _, ev := range []tierzero.AuditEvent{
		{Kind: tierzero.AuditDecided, Effect: tierzero.EffectAllow, Rule: "self-reset-password", Tool: "reset_password"},
		{Kind: tierzero.AuditExecuted, Tool: "reset_password", Outcome: "ok"},
		{Kind: tierzero.AuditEscalated},
	} {
		if err := a.Append(ctx, "contoso", ev); err != nil {
			t.Fatal(err)
		}
	}
	body := scrape(t, r)
	for _, name := range []string{
		"tierzero_decisions_total",
		"tierzero_graph_calls_total",
		"tierzero_model_calls_total",
		"tierzero_model_tokens_total",
		"tierzero_escalations_total",
		"tierzero_inbound_total",
		"tierzero_queue_depth",
		"tierzero_request_duration_seconds",
		"tierzero_ack_duration_seconds",
		"tierzero_deliveries_total",
		"go_goroutines",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(body, "\n# TYPE "+name+" ") {
			t.Errorf("scrape has no %s", name)
		}
	}
}

func TestObserverMethods(t *testing.T) {
	r := New()
	r.Inbound(tierzero.ChannelTeams, "accepted")
	r.Inbound(tierzero.ChannelTeams, "accepted")
	r.Inbound(tierzero.ChannelSlack, "duplicate")
	r.QueueDepth(7)
	r.Handled(tierzero.ChannelTeams, "ok", 1500*time.Millisecond)
	r.Acked(tierzero.ChannelTeams, 300*time.Microsecond)
	r.Delivery(tierzero.ChannelTeams, "failed")

	if got, want := testutil.ToFloat64(r.inbound.WithLabelValues("teams", "accepted")), 2.0; got != want {
		t.Errorf("inbound teams accepted = %v, want %v", got, want)
	}
	body := scrape(t, r)
	for _, tc := range []struct{ series, want string }{
		{`tierzero_inbound_total{channel="teams",outcome="accepted"}`, "2"},
		{`tierzero_inbound_total{channel="slack",outcome="duplicate"}`, "1"},
		{`tierzero_queue_depth`, "7"},
		{`tierzero_request_duration_seconds_count{channel="teams",outcome="ok"}`, "1"},
		{`tierzero_request_duration_seconds_sum{channel="teams",outcome="ok"}`, "1.5"},
		{`tierzero_request_duration_seconds_bucket{channel="teams",outcome="ok",le="1"}`, "0"},
		{`tierzero_request_duration_seconds_bucket{channel="teams",outcome="ok",le="2.5"}`, "1"},
		{`tierzero_request_duration_seconds_bucket{channel="teams",outcome="ok",le="120"}`, "1"},
		{`tierzero_ack_duration_seconds_bucket{channel="teams",le="0.0005"}`, "1"},
		{`tierzero_ack_duration_seconds_bucket{channel="teams",le="15"}`, "1"},
		{`tierzero_deliveries_total{channel="teams",outcome="failed"}`, "1"},
	} {
		got, ok := sample(body, tc.series)
		if !ok {
			t.Errorf("no sample %s", tc.series)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.series, got, tc.want)
		}
	}

	// The gauge follows the latest value, never below zero.
	r.QueueDepth(-4)
	if got := testutil.ToFloat64(r.queueDepth); got != 0 {
		t.Errorf("queue depth after -4 = %v, want 0", got)
	}
}

func TestAuditorCounts(t *testing.T) {
	r := New()
	next := &fakeAudit{}
	a := r.Auditor(next)
	ctx := context.Background()
	evs := []tierzero.AuditEvent{
		{Kind: tierzero.AuditMessage, Text: "hello"},
		{Kind: tierzero.AuditDecided, Effect: tierzero.EffectAllow, Rule: "self-reset-password", Tool: "reset_password"},
		{Kind: tierzero.AuditDecided, Effect: tierzero.EffectDeny, Rule: "", Tool: "delete_user"},
		{Kind: tierzero.AuditDecided, Effect: tierzero.EffectRequireApproval, Rule: "self-issue-tap", Tool: "issue_tap"},
		{Kind: tierzero.AuditExecuted, Tool: "reset_password", Outcome: "ok"},
		{Kind: tierzero.AuditExecuted, Tool: "reset_password", Outcome: "failed", Error: "user adele@contoso.com not found"},
		{Kind: tierzero.AuditExecuted, Tool: "list_devices"},
		{Kind: tierzero.AuditExecuted, Tool: "list_devices", Outcome: "something odd happened", Error: "boom"},
		{Kind: tierzero.AuditReply, Text: "done", Facts: map[string]string{
			"model_calls": "2", "prompt_tokens": "1200", "completion_tokens": "80", "tool_calls": "1", "wall_ms": "900",
		}},
		{Kind: tierzero.AuditReply, Facts: map[string]string{"model_calls": "1", "prompt_tokens": "-5", "completion_tokens": "lots"}},
		{Kind: tierzero.AuditReply},
		{Kind: tierzero.AuditEscalated, Text: "printer on fire"},
	}
	for _, ev := range evs {
		if err := a.Append(ctx, "contoso", ev); err != nil {
			t.Fatalf("append %s: %v", ev.Kind, err)
		}
	}
	if got, want := len(next.evs), len(evs); got != want {
		t.Fatalf("next got %d events, want %d", got, want)
	}
	for i := range evs {
		if next.evs[i].Kind != evs[i].Kind || next.evs[i].Text != evs[i].Text {
			t.Errorf("event %d passed as %+v, want %+v", i, next.evs[i], evs[i])
		}
	}

	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"allow", testutil.ToFloat64(r.decisions.WithLabelValues("allow", "self-reset-password")), 1},
		{"deny no rule", testutil.ToFloat64(r.decisions.WithLabelValues("deny", "unknown")), 1},
		{"approval", testutil.ToFloat64(r.decisions.WithLabelValues("require_approval", "self-issue-tap")), 1},
		{"graph ok", testutil.ToFloat64(r.graphCalls.WithLabelValues("reset_password", "ok")), 1},
		{"graph failed", testutil.ToFloat64(r.graphCalls.WithLabelValues("reset_password", "failed")), 1},
		{"graph no outcome", testutil.ToFloat64(r.graphCalls.WithLabelValues("list_devices", "ok")), 1},
		{"graph odd outcome", testutil.ToFloat64(r.graphCalls.WithLabelValues("list_devices", "error")), 1},
		{"model calls", testutil.ToFloat64(r.modelCalls), 3},
		{"prompt tokens", testutil.ToFloat64(r.modelTokens.WithLabelValues("prompt")), 1200},
		{"completion tokens", testutil.ToFloat64(r.modelTokens.WithLabelValues("completion")), 80},
		{"escalations", testutil.ToFloat64(r.escalations), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if got, want := testutil.CollectAndCount(r.graphCalls), 4; got != want {
		t.Errorf("graph call series = %d, want %d", got, want)
	}

	body := scrape(t, r)
	if got, ok := sample(body, `tierzero_model_tokens_total{kind="prompt"}`); !ok || got != "1200" {
		t.Errorf("scraped prompt tokens = %q, %v; want 1200", got, ok)
	}
}

func TestAuditorNextFails(t *testing.T) {
	r := New()
	fail := errors.New("disk full")
	a := r.Auditor(&fakeAudit{fail: fail})
	ctx := context.Background()
	for _, ev := range []tierzero.AuditEvent{
		{Kind: tierzero.AuditDecided, Effect: tierzero.EffectAllow, Rule: "r", Tool: "t"},
		{Kind: tierzero.AuditExecuted, Tool: "t", Outcome: "ok"},
		{Kind: tierzero.AuditReply, Facts: map[string]string{"model_calls": "4", "prompt_tokens": "10", "completion_tokens": "5"}},
		{Kind: tierzero.AuditEscalated},
	} {
		if err := a.Append(ctx, "contoso", ev); !errors.Is(err, fail) {
			t.Errorf("append %s: err = %v, want %v", ev.Kind, err, fail)
		}
	}
	for _, tc := range []struct {
		name string
		got  int
	}{
		{"decisions", testutil.CollectAndCount(r.decisions)},
		{"graph calls", testutil.CollectAndCount(r.graphCalls)},
	} {
		if tc.got != 0 {
			t.Errorf("%s series = %d, want 0", tc.name, tc.got)
		}
	}
	for _, tc := range []struct {
		name string
		got  float64
	}{
		{"model calls", testutil.ToFloat64(r.modelCalls)},
		{"prompt tokens", testutil.ToFloat64(r.promptTokens)},
		{"completion tokens", testutil.ToFloat64(r.complTokens)},
		{"escalations", testutil.ToFloat64(r.escalations)},
	} {
		if tc.got != 0 {
			t.Errorf("%s = %v, want 0", tc.name, tc.got)
		}
	}

	// A nil next is an error, not a panic.
	if err := r.Auditor(nil).Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditEscalated}); err == nil {
		t.Error("append to a nil next: no error")
	}
}

func TestNoPersonalDataInLabels(t *testing.T) {
	r := New()
	a := r.Auditor(&fakeAudit{})
	ctx := context.Background()
	const upn, text = "adele@contoso.com", "secret words"
	for _, ev := range []tierzero.AuditEvent{
		{Kind: tierzero.AuditMessage, Requester: upn, Text: text},
		{Kind: tierzero.AuditDecided, Requester: upn, Text: text, Effect: tierzero.EffectDeny, Rule: upn, Tool: text, Reason: text, CallID: "call_123"},
		{Kind: tierzero.AuditExecuted, Requester: upn, Text: text, Tool: upn, Outcome: text, Error: text, CallID: "call_123"},
		{Kind: tierzero.AuditReply, Requester: upn, Text: text, Outcome: text},
		{Kind: tierzero.AuditEscalated, Requester: upn, Text: text, Reason: text},
	} {
		if err := a.Append(ctx, "contoso", ev); err != nil {
			t.Fatal(err)
		}
	}
	r.Inbound(tierzero.Channel(upn), text)
	r.Handled(tierzero.Channel(text), upn, time.Second)
	r.Acked(tierzero.Channel(upn), time.Millisecond)
	r.Delivery(tierzero.Channel(text), upn)

	body := scrape(t, r)
	for _, s := range []string{upn, "adele", text, "secret", "call_123"} {
		if strings.Contains(body, s) {
			t.Errorf("scrape exposes %q", s)
		}
	}
	if _, ok := sample(body, `tierzero_decisions_total{effect="deny",rule="other"}`); !ok {
		t.Error("a rule that is not a name is not counted as other")
	}
	if _, ok := sample(body, `tierzero_inbound_total{channel="other",outcome="other"}`); !ok {
		t.Error("a channel and outcome that are not names are not counted as other")
	}
}

func TestOddInput(t *testing.T) {
	r := New()
	r.Inbound("", "")
	r.Handled("", "", -time.Second)
	r.Acked("", -time.Hour)
	r.Delivery("", "")
	r.QueueDepth(0)
	r.Inbound("slack", "\xff\xfe")                     // invalid UTF-8
	r.Delivery("slack", strings.Repeat("a", 10000))    // too long
	r.Inbound(tierzero.Channel("sl\nack"), "accepted") // a newline
	a := r.Auditor(&fakeAudit{})
	if err := a.Append(context.Background(), "", tierzero.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(context.Background(), "", tierzero.AuditEvent{Kind: tierzero.AuditExecuted}); err != nil {
		t.Fatal(err)
	}

	body := scrape(t, r)
	for _, tc := range []struct{ series, want string }{
		{`tierzero_inbound_total{channel="unknown",outcome="unknown"}`, "1"},
		{`tierzero_inbound_total{channel="slack",outcome="other"}`, "1"},
		{`tierzero_inbound_total{channel="other",outcome="accepted"}`, "1"},
		{`tierzero_deliveries_total{channel="slack",outcome="other"}`, "1"},
		{`tierzero_request_duration_seconds_sum{channel="unknown",outcome="unknown"}`, "0"},
		{`tierzero_ack_duration_seconds_sum{channel="unknown"}`, "0"},
		{`tierzero_graph_calls_total{status="ok",tool="unknown"}`, "1"},
	} {
		got, ok := sample(body, tc.series)
		if !ok || got != tc.want {
			t.Errorf("%s = %q (present %v), want %s", tc.series, got, ok, tc.want)
		}
	}

	// A nil Registry does nothing.
	var nr *Registry
	nr.Inbound("slack", "accepted")
	nr.QueueDepth(1)
	nr.Handled("slack", "ok", time.Second)
	nr.Acked("slack", time.Second)
	nr.Delivery("slack", "ok")
	if err := nr.Auditor(&fakeAudit{}).Append(context.Background(), "", tierzero.AuditEvent{Kind: tierzero.AuditEscalated}); err != nil {
		t.Errorf("nil registry auditor: %v", err)
	}
}

func TestLabelCardinalityBounded(t *testing.T) {
	r := New()
	a := r.Auditor(&fakeAudit{})
	for i := range maxDistinct + 50 {
		tool := "tool_" + strings.Repeat("x", i%60) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if err := a.Append(context.Background(), "contoso", tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Tool: tool, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.CollectAndCount(r.graphCalls); got > maxDistinct+1 {
		t.Errorf("graph call series = %d, want at most %d", got, maxDistinct+1)
	}
	if got := testutil.ToFloat64(r.graphCalls.WithLabelValues(other, "ok")); got == 0 {
		t.Error("tools past the limit are not counted as other")
	}
}

func TestConcurrent(t *testing.T) {
	r := New()
	a := r.Auditor(&fakeAudit{})
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ch := []tierzero.Channel{tierzero.ChannelSlack, tierzero.ChannelTeams, tierzero.ChannelConsole}[g%3]
			for i := range 200 {
				r.Inbound(ch, "accepted")
				r.QueueDepth(i)
				r.Handled(ch, "ok", time.Duration(i)*time.Millisecond)
				r.Acked(ch, time.Duration(i)*time.Microsecond)
				r.Delivery(ch, "ok")
				_ = a.Append(context.Background(), "contoso", tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Tool: "reset_password", Outcome: "ok"})
				_ = a.Append(context.Background(), "contoso", tierzero.AuditEvent{Kind: tierzero.AuditReply, Facts: map[string]string{"model_calls": "1"}})
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	wg.Wait()
	if got, want := testutil.ToFloat64(r.graphCalls.WithLabelValues("reset_password", "ok")), 1600.0; got != want {
		t.Errorf("graph calls = %v, want %v", got, want)
	}
	if got, want := testutil.ToFloat64(r.modelCalls), 1600.0; got != want {
		t.Errorf("model calls = %v, want %v", got, want)
	}
}
