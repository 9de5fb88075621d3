// Package metrics owns the Prometheus metrics of tierzero serve: what the
// desk received, queued, handled, acknowledged and delivered, what policy
// decided, which Graph calls ran, what the model cost and how often a
// request went to a human. It keeps its own registry (never the global
// default) with the Go and process collectors, and serves it in the standard
// exposition format. Prometheus types never leave this package.
//
// Label values are bounded: a label holds a channel, an outcome, an effect,
// a rule or a tool name, never a user, a text or an id. A value that does
// not look like a short name becomes "other", an empty one "unknown", and
// each label keeps at most a fixed number of distinct values.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tierzero/tierzero"
)

// Label values that are not what the caller passed.
const (
	unknown = "unknown" // the value was empty
	other   = "other"   // the value was not a short name, or the label is full
)

// maxLabelLen is the longest label value kept as is.
const maxLabelLen = 64

// maxDistinct is how many distinct values one label keeps before the
// rest are counted as "other".
const maxDistinct = 256

// ackBuckets are the ack duration buckets, in seconds: Slack wants its ack
// within 3s and Bot Framework within 15s.
func ackBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 15}
}

// requestBuckets are the request duration buckets, in seconds: from tens of
// milliseconds (a refusal) to two minutes (several model round trips and
// Graph calls).
func requestBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90, 120}
}

// Registry holds the metrics of one tierzero serve process. Its methods are
// safe for concurrent use; the methods of a nil *Registry do nothing.
type Registry struct {
	reg *prometheus.Registry

	decisions    *prometheus.CounterVec // effect, rule
	graphCalls   *prometheus.CounterVec // tool, status
	modelCalls   prometheus.Counter
	modelTokens  *prometheus.CounterVec // kind
	escalations  prometheus.Counter
	inbound      *prometheus.CounterVec // channel, outcome
	queueDepth   prometheus.Gauge
	requestDur   *prometheus.HistogramVec // channel, outcome
	ackDur       *prometheus.HistogramVec // channel
	deliveries   *prometheus.CounterVec   // channel, outcome
	promptTokens prometheus.Counter
	complTokens  prometheus.Counter
	httpRequests *prometheus.CounterVec // code, method

	// Bounded label value sets.
	channels, outcomes, effects, rules, tools *bounded
}

// New returns a Registry with every tierzero metric, the Go collector and
// the process collector registered.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierzero_decisions_total",
			Help: "Policy decisions on proposed tool calls, by effect and deciding rule.",
		}, []string{"effect", "rule"}),
		graphCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierzero_graph_calls_total",
			Help: "Tool calls executed against Microsoft Graph, by tool and status (ok, failed, refused, error).",
		}, []string{"tool", "status"}),
		modelCalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tierzero_model_calls_total",
			Help: "Calls to the language model, summed over answered requests.",
		}),
		modelTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierzero_model_tokens_total",
			Help: "Language model tokens, by kind (prompt, completion).",
		}, []string{"kind"}),
		escalations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tierzero_escalations_total",
			Help: "Requests handed over to a human.",
		}),
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierzero_inbound_total",
			Help: "Inbound messages, by channel and outcome (accepted, duplicate, refused, error).",
		}, []string{"channel", "outcome"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tierzero_queue_depth",
			Help: "Requests received and not yet handled.",
		}),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tierzero_request_duration_seconds",
			Help:    "Time to handle one request, by channel and outcome.",
			Buckets: requestBuckets(),
		}, []string{"channel", "outcome"}),
		ackDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tierzero_ack_duration_seconds",
			Help:    "Time from receipt of a platform delivery to its acknowledgement, by channel.",
			Buckets: ackBuckets(),
		}, []string{"channel"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierzero_deliveries_total",
			Help: "Outbound deliveries (replies, private notes, cards), by channel and outcome.",
		}, []string{"channel", "outcome"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierzero_http_requests_total",
			Help: "HTTP requests served (health, readiness, metrics, webhooks), by status code and method.",
		}, []string{"code", "method"}),
		channels: newBounded(),
		outcomes: newBounded(),
		effects:  newBounded(),
		rules:    newBounded(),
		tools:    newBounded(),
	}
	// The series of the known channels exist from the start, at zero, so
	// that a rate over them is defined before the first message.
	for _, ch := range []tierzero.Channel{tierzero.ChannelConsole, tierzero.ChannelSlack, tierzero.ChannelTeams, tierzero.ChannelWeb} {
		c := r.channels.value(string(ch))
		for _, o := range []string{"accepted", "duplicate", "refused", "error"} {
			r.inbound.WithLabelValues(c, r.outcomes.value(o))
		}
		r.requestDur.WithLabelValues(c, r.outcomes.value("ok"))
		r.ackDur.WithLabelValues(c)
		r.deliveries.WithLabelValues(c, r.outcomes.value("ok"))
	}
	r.promptTokens = r.modelTokens.WithLabelValues("prompt")
	r.complTokens = r.modelTokens.WithLabelValues("completion")
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.decisions, r.graphCalls, r.modelCalls, r.modelTokens, r.escalations,
		r.inbound, r.queueDepth, r.requestDur, r.ackDur, r.deliveries, r.httpRequests,
	)
	return r
}

// Instrument counts the requests h serves, by status code and method.
func (r *Registry) Instrument(h http.Handler) http.Handler {
	if r == nil {
		return h
	}
	return promhttp.InstrumentHandlerCounter(r.httpRequests, h)
}

// Handler serves the registry in the Prometheus exposition format, for
// /metrics. A collector that fails does not hide the others.
func (r *Registry) Handler() http.Handler {
	if r == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		Registry:            r.reg, // promhttp_metric_handler_errors_total
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// Auditor wraps next: every event next appends successfully is also
// counted; an event next fails to append is not.
func (r *Registry) Auditor(next tierzero.Auditor) tierzero.Auditor {
	return &auditor{next: next, r: r}
}

type auditor struct {
	next tierzero.Auditor
	r    *Registry
}

var _ tierzero.Auditor = (*auditor)(nil)

func (a *auditor) Append(ctx context.Context, tenant tierzero.TenantID, ev tierzero.AuditEvent) error {
	if a.next == nil {
		return errors.New("metrics: no auditor to wrap")
	}
	if err := a.next.Append(ctx, tenant, ev); err != nil {
		return err
	}
	a.r.count(ev)
	return nil
}

// count records what an appended audit event says.
func (r *Registry) count(ev tierzero.AuditEvent) {
	if r == nil {
		return
	}
	switch ev.Kind {
	case tierzero.AuditDecided:
		r.decisions.WithLabelValues(r.effects.value(string(ev.Effect)), r.rules.value(ev.Rule)).Inc()
	case tierzero.AuditExecuted:
		r.graphCalls.WithLabelValues(r.tools.value(ev.Tool), status(ev)).Inc()
	case tierzero.AuditReply:
		if n, ok := fact(ev.Facts, "model_calls"); ok {
			r.modelCalls.Add(n)
		}
		if n, ok := fact(ev.Facts, "prompt_tokens"); ok {
			r.promptTokens.Add(n)
		}
		if n, ok := fact(ev.Facts, "completion_tokens"); ok {
			r.complTokens.Add(n)
		}
	case tierzero.AuditEscalated:
		r.escalations.Inc()
	}
}

// status is the graph call status of an executed event. policy.Guard
// writes Outcome "ok", or "failed" with the error's message in Error; the
// message is text and never a label. Anything else is "error".
func status(ev tierzero.AuditEvent) string {
	switch {
	case ev.Outcome == "ok", ev.Outcome == "" && ev.Error == "":
		return "ok"
	case ev.Outcome == "failed" || ev.Outcome == "refused":
		return ev.Outcome
	default:
		return "error"
	}
}

// fact reads a non-negative decimal count from facts.
func fact(facts map[string]string, key string) (float64, bool) {
	s, ok := facts[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, false
	}
	return float64(n), true
}

// Inbound counts a message received on channel, with outcome such as
// accepted, duplicate, refused or error.
func (r *Registry) Inbound(channel tierzero.Channel, outcome string) {
	if r == nil {
		return
	}
	r.inbound.WithLabelValues(r.channels.value(string(channel)), r.outcomes.value(outcome)).Inc()
}

// QueueDepth sets how many requests wait to be handled.
func (r *Registry) QueueDepth(n int) {
	if r == nil {
		return
	}
	r.queueDepth.Set(float64(max(n, 0)))
}

// Handled observes how long one request on channel took, and how it ended.
func (r *Registry) Handled(channel tierzero.Channel, outcome string, d time.Duration) {
	if r == nil {
		return
	}
	r.requestDur.WithLabelValues(r.channels.value(string(channel)), r.outcomes.value(outcome)).Observe(seconds(d))
}

// Acked observes the time from the receipt of a delivery on channel to the
// platform's ack.
func (r *Registry) Acked(channel tierzero.Channel, d time.Duration) {
	if r == nil {
		return
	}
	r.ackDur.WithLabelValues(r.channels.value(string(channel))).Observe(seconds(d))
}

// Delivery counts an outbound delivery on channel, and how it ended.
func (r *Registry) Delivery(channel tierzero.Channel, outcome string) {
	if r == nil {
		return
	}
	r.deliveries.WithLabelValues(r.channels.value(string(channel)), r.outcomes.value(outcome)).Inc()
}

func seconds(d time.Duration) float64 { return max(d, 0).Seconds() }

// bounded maps label values to themselves while they are short names and
// few; to "unknown" when empty; to "other" otherwise.
type bounded struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

func newBounded() *bounded { return &bounded{seen: make(map[string]struct{})} }

func (b *bounded) value(s string) string {
	if s == "" {
		return unknown
	}
	if !name(s) {
		return other
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[s]; ok {
		return s
	}
	if len(b.seen) >= maxDistinct {
		return other
	}
	b.seen[s] = struct{}{}
	return s
}

// name reports whether s looks like a name (a channel, an outcome, a rule,
// a tool): short, ASCII letters, digits and _ - . : / only. Addresses,
// sentences and anything unprintable are not names.
func name(s string) bool {
	if len(s) > maxLabelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '-', c == '.', c == ':', c == '/':
		default:
			return false
		}
	}
	return true
}
