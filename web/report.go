package web

// This file: the economics report, computed from the tenants' audit trails,
// shown at /console/report and written by `tierzero report`. Every formula
// is documented in docs/report.md.

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// AuditSource is what the report reads: the tenants' audit trails
// (store.DB, Store).
type AuditSource interface {
	Audit(ctx context.Context, tenant tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error
}

// Outcome buckets of a request, as the report counts them.
const (
	BucketResolved    = "resolved"     // resolved or answered without a human (also: approved, then done)
	BucketRefused     = "refused"      // policy, or the model, refused what was asked
	BucketPending     = "pending"      // waits for an approver at the end of the window
	BucketNotApproved = "not_approved" // an approver denied it, nobody decided in time, or it failed once approved
	BucketEscalated   = "escalated"    // handed to a human (a ticket)
	BucketOther       = "other"        // waits for the requester's answer, or failed without an outcome
)

// Buckets lists the outcome buckets in the order the report shows them.
var Buckets = []string{BucketResolved, BucketRefused, BucketPending, BucketNotApproved, BucketEscalated, BucketOther}

// continuation is how long after the agent asked a question, or showed a
// plan, the requester's next message in the same conversation still
// continues that request (rather than start a new one).
const continuation = 24 * time.Hour

// daysPerMonth is the average month.
const daysPerMonth = 365.25 / 12

// Counts are the requests of a set by outcome.
type Counts struct {
	Requests    int `json:"requests"`
	Resolved    int `json:"resolved"`
	Refused     int `json:"refused"`
	Pending     int `json:"pending"`
	NotApproved int `json:"notApproved"`
	Escalated   int `json:"escalated"`
	Other       int `json:"other"`
	// ResolvedShare is Resolved / Requests (0 without requests).
	ResolvedShare float64 `json:"resolvedShare"`
	// MinutesSaved is the technician minutes of the resolved requests.
	MinutesSaved float64 `json:"minutesSaved"`
}

// add counts one request.
func (c *Counts) add(bucket string, minutes float64) {
	c.Requests++
	switch bucket {
	case BucketResolved:
		c.Resolved++
		c.MinutesSaved += minutes
	case BucketRefused:
		c.Refused++
	case BucketPending:
		c.Pending++
	case BucketNotApproved:
		c.NotApproved++
	case BucketEscalated:
		c.Escalated++
	default:
		c.Other++
	}
	c.ResolvedShare = float64(c.Resolved) / float64(c.Requests)
}

// of returns the count of a bucket.
func (c Counts) of(bucket string) int {
	switch bucket {
	case BucketResolved:
		return c.Resolved
	case BucketRefused:
		return c.Refused
	case BucketPending:
		return c.Pending
	case BucketNotApproved:
		return c.NotApproved
	case BucketEscalated:
		return c.Escalated
	}
	return c.Other
}

// Group is the requests of one tier or one category.
type Group struct {
	Name string `json:"name"`
	Counts
}

// TenantFigures are one tenant's requests and seats.
type TenantFigures struct {
	Tenant tierzero.TenantID `json:"tenant"`
	Counts
	// Seats is the tenant's enabled, licensed users; SeatsKnown is false
	// when Graph could not say.
	Seats      int  `json:"seats"`
	SeatsKnown bool `json:"seatsKnown"`
	// TicketsPerSeatMonth is Requests / Seats / Months (seats known).
	TicketsPerSeatMonth float64 `json:"ticketsPerSeatMonth"`
}

// Model is the MSP model of the report: what one technician covers, and
// the margin per seat, today (every request a ticket) and with tierzero
// (only what it did not resolve reaches a technician). It uses the tenants
// whose seats are known; Known is false (Why says why) without any.
type Model struct {
	Known bool   `json:"known"`
	Why   string `json:"why,omitempty"`
	// Months is the window's length in average months.
	Months float64 `json:"months"`
	// Seats and Requests are of the tenants whose seats are known.
	Seats    int `json:"seats"`
	Requests int `json:"requests"`
	// TicketsPerSeatMonth = Requests / Seats / Months, or the configured
	// volume (ReportConfig.TicketsPerSeatMonth) when Configured.
	TicketsPerSeatMonth float64 `json:"ticketsPerSeatMonth"`
	Configured          bool    `json:"ticketsConfigured,omitempty"`
	// MinutesPerTicket is the average technician minutes of a request by
	// hand; MinutesPerSeatMonth the minutes a seat costs a month today,
	// MinutesPerSeatMonthWith those of the requests tierzero did not
	// resolve.
	MinutesPerTicket        float64 `json:"minutesPerTicket"`
	MinutesPerSeatMonth     float64 `json:"minutesPerSeatMonth"`
	MinutesPerSeatMonthWith float64 `json:"minutesPerSeatMonthWith"`
	// SeatsPerTechnician = TechnicianHours * 60 / MinutesPerSeatMonth;
	// SeatsPerTechnicianWith the same with tierzero. Unbounded is true
	// when tierzero resolved every request (no technician minutes left).
	SeatsPerTechnician     float64 `json:"seatsPerTechnician"`
	SeatsPerTechnicianWith float64 `json:"seatsPerTechnicianWith"`
	Unbounded              bool    `json:"unbounded,omitempty"`
	// MarginPerSeat = SeatPrice - TechnicianCost / SeatsPerTechnician;
	// MarginPerSeatWith the same with tierzero.
	MarginPerSeat     float64 `json:"marginPerSeat"`
	MarginPerSeatWith float64 `json:"marginPerSeatWith"`
}

// Report is the economics report of a window of the audit.
type Report struct {
	Since   time.Time       `json:"since"`
	Until   time.Time       `json:"until"`
	Tenants []TenantFigures `json:"tenants"`
	Totals  Counts          `json:"totals"`
	ByTier  []Group         `json:"byTier"`
	ByCat   []Group         `json:"byCategory"`
	// MedianResolutionSeconds is the median time from a resolved
	// request's first message to its resolution (0 without any).
	MedianResolutionSeconds float64 `json:"medianResolutionSeconds"`
	// TicketsAvoided is Totals.Resolved; MinutesSaved Totals.MinutesSaved.
	TicketsAvoided int     `json:"ticketsAvoided"`
	MinutesSaved   float64 `json:"minutesSaved"`
	Model          Model   `json:"model"`
	Pricing        Pricing `json:"pricing"`
}

// Pricing is the ReportConfig a report was computed with.
type Pricing struct {
	MinutesPerCategory map[string]float64 `json:"minutesPerCategory"`
	DefaultMinutes     float64            `json:"defaultMinutes"`
	SeatPrice          float64            `json:"seatPrice"`
	TechnicianCost     float64            `json:"technicianCost"`
	TechnicianHours    float64            `json:"technicianHours"`
	Currency           string             `json:"currency"`
	// TicketsPerSeatMonth: the MSP's own volume, when configured.
	TicketsPerSeatMonth float64 `json:"ticketsPerSeatMonth,omitempty"`
}

// MedianResolution is the median time to resolution.
func (r Report) MedianResolution() time.Duration {
	return time.Duration(r.MedianResolutionSeconds * float64(time.Second))
}

// request is one request as the audit tells it.
type request struct {
	tenant    tierzero.TenantID
	start     time.Time // its first message
	end       time.Time // its reply (the last, when continued)
	outcome   string    // the reply's outcome; "" without a reply
	actions   []string  // proposed, decided or run, in order
	approvals []string  // the approvals it requested

	resolvedAt  time.Time // set when every approval of it ran and worked
	notApproved bool      // every approval of it ended, one without working
}

// approvalEnd is how an approval ended before the window's end.
type approvalEnd struct {
	ok   bool // executed, and it worked
	done bool // ended one way or another
	at   time.Time
}

// minutes is the technician minutes a request of a category takes by hand.
func (c ReportConfig) minutes(category string) float64 {
	if m, ok := c.MinutesPerCategory[category]; ok {
		return m
	}
	return c.DefaultMinutes
}

// Compute computes the report of tenants over [since, until) from their
// audit trails. A request is counted in the window its first message falls
// in; what became of it is what the audit says up to until. seats holds the
// seats of the tenants Graph could count (a tenant missing from it is
// unknown).
func Compute(ctx context.Context, src AuditSource, tenants []tierzero.TenantID, since, until time.Time, seats map[tierzero.TenantID]int, cfg ReportConfig) (Report, error) {
	if !until.After(since) {
		return Report{}, errors.New("report: the window is empty (until is not after since)")
	}
	rep := Report{Since: since.UTC(), Until: until.UTC(), Pricing: Pricing(cfg)}
	tenants = slices.Compact(slices.Sorted(slices.Values(tenants))) // each once
	var all []*request
	for _, t := range tenants {
		rs, err := tenantRequests(ctx, src, t, since, until)
		if err != nil {
			return Report{}, fmt.Errorf("report: tenant %s: %w", t, err)
		}
		all = append(all, rs...)
	}

	tiers := map[string]*Group{}
	cats := map[string]*Group{}
	byTenant := map[tierzero.TenantID]*TenantFigures{}
	for _, t := range tenants {
		tf := &TenantFigures{Tenant: t}
		if n, ok := seats[t]; ok {
			tf.Seats, tf.SeatsKnown = n, true
		}
		byTenant[t] = tf
	}
	var resolutions []time.Duration
	var minutesAll, minutesOpen float64 // of the tenants whose seats are known
	for _, r := range all {
		bucket := r.bucket()
		tier, cat := requestClass(r.actions)
		m := cfg.minutes(cat)
		rep.Totals.add(bucket, m)
		groupOf(tiers, string(tier)).add(bucket, m)
		groupOf(cats, cat).add(bucket, m)
		tf := byTenant[r.tenant]
		tf.add(bucket, m)
		if bucket == BucketResolved {
			resolutions = append(resolutions, r.resolution())
		}
		if tf.SeatsKnown && tf.Seats > 0 {
			minutesAll += m
			if bucket != BucketResolved {
				minutesOpen += m
			}
		}
	}
	for _, t := range Tiers {
		rep.ByTier = append(rep.ByTier, *groupOf(tiers, string(t)))
	}
	for _, c := range Categories {
		if g, ok := cats[c]; ok {
			rep.ByCat = append(rep.ByCat, *g)
		}
	}
	months := until.Sub(since).Hours() / 24 / daysPerMonth
	for _, t := range tenants {
		tf := byTenant[t]
		if tf.SeatsKnown && tf.Seats > 0 {
			tf.TicketsPerSeatMonth = float64(tf.Requests) / float64(tf.Seats) / months
		}
		rep.Tenants = append(rep.Tenants, *tf)
	}
	rep.MedianResolutionSeconds = median(resolutions).Seconds()
	rep.TicketsAvoided, rep.MinutesSaved = rep.Totals.Resolved, rep.Totals.MinutesSaved
	rep.Model = model(rep.Tenants, months, minutesAll, minutesOpen, cfg)
	return rep, nil
}

// groupOf returns the group of name in m, adding it.
func groupOf(m map[string]*Group, name string) *Group {
	g, ok := m[name]
	if !ok {
		g = &Group{Name: name}
		m[name] = g
	}
	return g
}

// model computes the MSP model from the tenants whose seats are known;
// minutesAll and minutesOpen are the technician minutes of their requests,
// all and those tierzero did not resolve.
func model(tenants []TenantFigures, months, minutesAll, minutesOpen float64, cfg ReportConfig) Model {
	m := Model{Months: months}
	for _, t := range tenants {
		if t.SeatsKnown && t.Seats > 0 {
			m.Seats += t.Seats
			m.Requests += t.Requests
		}
	}
	switch {
	case m.Seats == 0:
		m.Why = "no tenant's seats are known (Graph did not answer, or no tenant has a licensed user)"
		return m
	case m.Requests == 0:
		m.Why = "no requests in the window from the tenants whose seats are known"
		return m
	case cfg.TechnicianHours <= 0 || minutesAll <= 0:
		m.Why = "the pricing gives technicians no ticket hours, or tickets no minutes"
		return m
	}
	m.Known = true
	seats := float64(m.Seats)
	m.TicketsPerSeatMonth = float64(m.Requests) / seats / months
	m.MinutesPerTicket = minutesAll / float64(m.Requests)
	m.MinutesPerSeatMonth = minutesAll / seats / months
	m.MinutesPerSeatMonthWith = minutesOpen / seats / months
	if cfg.TicketsPerSeatMonth > 0 {
		// The MSP's own volume, with the mix of work and the share of
		// technician minutes tierzero left open that the audit shows.
		m.Configured, m.TicketsPerSeatMonth = true, cfg.TicketsPerSeatMonth
		m.MinutesPerSeatMonth = cfg.TicketsPerSeatMonth * m.MinutesPerTicket
		m.MinutesPerSeatMonthWith = m.MinutesPerSeatMonth * minutesOpen / minutesAll
	}
	capacity := cfg.TechnicianHours * 60
	m.SeatsPerTechnician = capacity / m.MinutesPerSeatMonth
	m.MarginPerSeat = cfg.SeatPrice - cfg.TechnicianCost/m.SeatsPerTechnician
	if m.MinutesPerSeatMonthWith > 0 {
		m.SeatsPerTechnicianWith = capacity / m.MinutesPerSeatMonthWith
		m.MarginPerSeatWith = cfg.SeatPrice - cfg.TechnicianCost/m.SeatsPerTechnicianWith
	} else {
		m.Unbounded, m.MarginPerSeatWith = true, cfg.SeatPrice
	}
	return m
}

// median is the median of ds (the mean of the middle two of an even
// count; 0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

// bucket is the outcome bucket of a request at the window's end.
func (r *request) bucket() string {
	switch tierzero.OutcomeKind(r.outcome) {
	case tierzero.OutcomeResolved, tierzero.OutcomeAnswered:
		return BucketResolved
	case tierzero.OutcomeRefused:
		return BucketRefused
	case tierzero.OutcomeEscalated:
		return BucketEscalated
	case tierzero.OutcomePending:
		if !r.resolvedAt.IsZero() {
			return BucketResolved
		}
		if r.notApproved {
			return BucketNotApproved
		}
		return BucketPending
	}
	return BucketOther
}

// resolution is how long a resolved request took.
func (r *request) resolution() time.Duration {
	end := r.end
	if !r.resolvedAt.IsZero() {
		end = r.resolvedAt
	}
	return max(end.Sub(r.start), 0)
}

// tenantRequests reads a tenant's requests whose first message is in
// [since, until), with what became of them by until.
func tenantRequests(ctx context.Context, src AuditSource, tenant tierzero.TenantID, since, until time.Time) ([]*request, error) {
	type key struct {
		conv tierzero.ConversationID
		upn  string
	}
	var list []*request
	open := map[key]*request{} // between its message and its reply
	last := map[key]*request{} // replied: continued by the next message after a question or a plan
	byApproval := map[string]*request{}
	ends := map[string]approvalEnd{}
	// Read from a little before the window, to continue a request begun
	// before it (which is then not counted).
	err := src.Audit(ctx, tenant, since.Add(-continuation), func(ev tierzero.AuditEvent) error {
		if !ev.Time.Before(until) {
			return nil // after the window (records are in the order written, not always of time)
		}
		k := key{ev.Conversation, strings.ToLower(ev.Requester)}
		switch ev.Kind {
		case tierzero.AuditMessage:
			delete(open, k) // one left open failed without a reply
			if p := last[k]; p != nil && (p.outcome == string(tierzero.OutcomeAsked) || p.outcome == string(tierzero.OutcomeConfirm)) &&
				ev.Time.Sub(p.end) <= continuation {
				open[k] = p
				delete(last, k)
				return nil
			}
			r := &request{tenant: tenant, start: ev.Time}
			open[k] = r
			list = append(list, r)
		case tierzero.AuditProposed, tierzero.AuditDecided, tierzero.AuditExecuted:
			if r := open[k]; r != nil && ev.Tool != "" {
				r.actions = append(r.actions, ev.Tool)
			}
		case tierzero.AuditApprovalRequested:
			if r := open[k]; r != nil {
				if ev.Tool != "" {
					r.actions = append(r.actions, ev.Tool)
				}
				if id := ev.Facts["approval"]; id != "" {
					r.approvals = append(r.approvals, id)
					byApproval[id] = r
				}
			}
		case tierzero.AuditReply:
			if r := open[k]; r != nil {
				r.outcome, r.end = ev.Facts["outcome"], ev.Time
				delete(open, k)
				last[k] = r
			}
		case tierzero.AuditApprovalExecuted:
			if id := ev.Facts["approval"]; id != "" {
				ends[id] = approvalEnd{ok: ev.Outcome == "ok" && ev.Error == "", done: true, at: ev.Time}
			}
		case tierzero.AuditApprovalDecided:
			if id := ev.Facts["approval"]; id != "" && ev.Outcome == string(tierzero.ApprovalDenied) {
				ends[id] = approvalEnd{done: true, at: ev.Time}
			}
		case tierzero.AuditApprovalExpired:
			if id := ev.Facts["approval"]; id != "" {
				ends[id] = approvalEnd{done: true, at: ev.Time}
			}
		}
		return nil
	})
	if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound { // not found: a tenant with no data yet
		return nil, err
	}
	// A pending request is resolved once every approval it asked for ran
	// and worked (at the last one); not approved once all of them ended
	// and one did not work; otherwise still pending.
	for _, r := range list {
		if r.outcome != string(tierzero.OutcomePending) || len(r.approvals) == 0 {
			continue
		}
		allDone, allOK := true, true
		var at time.Time
		for _, id := range r.approvals {
			e := ends[id]
			allDone = allDone && e.done
			allOK = allOK && e.ok
			if e.at.After(at) {
				at = e.at
			}
		}
		switch {
		case allDone && allOK:
			r.resolvedAt = at
		case allDone:
			r.notApproved = true
		}
	}
	// Only the requests begun in the window.
	out := list[:0]
	for _, r := range list {
		if !r.start.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}

// DefaultSince is how far back the report looks by default.
const DefaultSince = 30 * 24 * time.Hour

// maxSince bounds how far back a report looks.
const maxSince = 10 * 366 * 24 * time.Hour

var daysPattern = regexp.MustCompile(`^([0-9]{1,4})d$`)

// ParseSince reads when a report starts: a duration back from now (720h,
// 30d), a date (2026-11-01, midnight UTC) or an RFC 3339 time; "" is
// DefaultSince back. It must lie in the past, at most about ten years back.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	switch {
	case s == "":
		return now.Add(-DefaultSince), nil
	case daysPattern.MatchString(s):
		n, _ := strconv.Atoi(daysPattern.FindStringSubmatch(s)[1])
		t = now.Add(-time.Duration(n) * 24 * time.Hour)
	default:
		if d, err := time.ParseDuration(s); err == nil {
			if d <= 0 {
				return time.Time{}, fmt.Errorf("since %q: the duration must be positive", s)
			}
			t = now.Add(-d)
			break
		}
		var err error
		if t, err = time.Parse("2006-01-02", s); err != nil {
			if t, err = time.Parse(time.RFC3339, s); err != nil {
				return time.Time{}, fmt.Errorf("since %q: want a duration (720h, 30d), a date (2026-11-01) or an RFC 3339 time", s)
			}
		}
	}
	if !t.Before(now) {
		return time.Time{}, fmt.Errorf("since %q is not in the past", s)
	}
	if now.Sub(t) > maxSince {
		return time.Time{}, fmt.Errorf("since %q is more than ten years back", s)
	}
	return t, nil
}

// seatsTimeout bounds the time Graph has to count the tenants' seats;
// seatsParallel how many tenants are counted at once.
const (
	seatsTimeout  = 10 * time.Second
	seatsParallel = 8
)

// SeatsOf counts the seats of each tenant through g, a few tenants at a
// time; a tenant Graph cannot count in time (every tenant, when g is nil)
// is left out: unknown.
func SeatsOf(ctx context.Context, g Graph, tenants []tierzero.TenantID) map[tierzero.TenantID]int {
	out := map[tierzero.TenantID]int{}
	if g == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, seatsTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, seatsParallel)
	for _, t := range tenants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, err := g.Seats(ctx, t)
			if err == nil && n >= 0 {
				mu.Lock()
				out[t] = n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// report serves GET /console/report: the economics report of the tenants
// the viewer sees (or one of them, ?tenant=), since ?since= (default 30
// days).
func (s *Server) report(w http.ResponseWriter, r *http.Request, v *Viewer) {
	q := r.URL.Query()
	tenants := v.Tenants
	if t := q.Get("tenant"); t != "" {
		id := tierzero.TenantID(t)
		if tierzero.ValidTenantID(id) != nil || !v.Sees(id) {
			s.refuse(w, r, v, "You cannot see that tenant's report.")
			return
		}
		tenants = []tierzero.TenantID{id}
	}
	now := s.cfg.Now()
	since, err := ParseSince(q.Get("since"), now)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, v, "report", page{Title: "Report", Error: "The report could not start there: " + err.Error() + ".",
			Data: reportPage{Tenant: q.Get("tenant"), Since: clipText(q.Get("since"), 40), Tenants: v.Tenants}})
		return
	}
	seats := SeatsOf(r.Context(), s.cfg.Graph, tenants)
	rep, err := Compute(r.Context(), s.cfg.Store, tenants, since, now, seats, s.cfg.Report)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vw := ViewOf(rep)
	s.render(w, r, v, "report", page{Title: "Report", Data: reportPage{
		Tenant: q.Get("tenant"), Since: q.Get("since"), Tenants: v.Tenants, View: &vw,
	}})
}

// reportPage is the report page's data: the filters and the report.
type reportPage struct {
	Tenant  string
	Since   string
	Tenants []tierzero.TenantID
	View    *ReportView
}

// clipText bounds text echoed back into a page.
func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// DefaultReport is the report's pricing when the configuration says
// nothing: minutes per ticket by category from typical MSP service desk
// figures, and a seat price, technician cost and ticket hours of a small
// MSP. Every figure is a configuration key (report.*).
func DefaultReport() ReportConfig {
	return ReportConfig{
		MinutesPerCategory: map[string]float64{
			CategoryPassword: 10, CategoryMFA: 20, CategoryAccess: 15, CategoryLicenses: 15,
			CategoryDevices: 30, CategoryAccounts: 20, CategoryLifecycle: 60, CategorySecurity: 45,
			CategoryInformation: 10, CategoryOther: 15,
		},
		DefaultMinutes:  15,
		SeatPrice:       120,
		TechnicianCost:  6000,
		TechnicianHours: 120,
		Currency:        "USD",
	}
}

// percent formats a share as a percentage.
func percent(share float64) string {
	return strconv.FormatFloat(math.Round(share*1000)/10, 'f', -1, 64) + "%"
}

// ReportView is a report as the page, the HTML file and the text summary
// show it: every figure formatted, and the charts laid out.
type ReportView struct {
	Report  Report
	Window  string
	Figures []Figure
	// Charts: by outcome, by tier, by category, by tenant.
	Outcomes, Tiers, Categories, Tenants Chart
	TierRows, CatRows                    []GroupRow
	TenantRows                           []TenantRow
	ModelKnown                           bool
	ModelWhy                             string
	ModelRows                            []ModelRow
	Pricing                              []string
}

// Figure is one headline figure.
type Figure struct {
	Label, Value, Note string
}

// GroupRow is one tier's or category's line.
type GroupRow struct {
	Name, Requests, Resolved, Share, Minutes string
}

// TenantRow is one tenant's line.
type TenantRow struct {
	Tenant                                        string
	Requests, Resolved, Share, Refused, Pending   string
	NotApproved, Escalated, Seats, TicketsPerSeat string
}

// ModelRow is one line of the MSP model: today and with tierzero.
type ModelRow struct {
	Label, Today, With string
}

// ViewOf formats a report.
func ViewOf(r Report) ReportView {
	t := r.Totals
	v := ReportView{Report: r}
	days := r.Until.Sub(r.Since).Hours() / 24
	v.Window = fmt.Sprintf("%s to %s (%s days)", r.Since.UTC().Format("2006-01-02 15:04"), r.Until.UTC().Format("2006-01-02 15:04 UTC"), num(days))
	median := "–"
	if t.Resolved > 0 {
		median = duration(r.MedianResolution())
	}
	v.Figures = []Figure{
		{"Requests", strconv.Itoa(t.Requests), ""},
		{"Resolved end to end", percent(t.ResolvedShare), fmt.Sprintf("%d of %d", t.Resolved, t.Requests)},
		{"Refused", strconv.Itoa(t.Refused), ""},
		{"Pending approval", strconv.Itoa(t.Pending), "at the end of the window"},
		{"Escalated", strconv.Itoa(t.Escalated), ""},
		{"Median time to resolution", median, ""},
		{"Tickets avoided", strconv.Itoa(r.TicketsAvoided), ""},
		{"Technician time saved", hours(r.MinutesSaved), num(r.MinutesSaved) + " minutes"},
	}
	v.Outcomes = outcomeChart("chart-outcomes", t)
	var names []string
	var counts []Counts
	for _, g := range r.ByTier {
		names, counts = append(names, g.Name), append(counts, g.Counts)
		v.TierRows = append(v.TierRows, groupRow(g))
	}
	v.Tiers = resolvedChart("chart-tiers", "Requests by tier, resolved end to end", names, counts)
	names, counts = nil, nil
	for _, g := range r.ByCat {
		names, counts = append(names, g.Name), append(counts, g.Counts)
		v.CatRows = append(v.CatRows, groupRow(g))
	}
	v.Categories = resolvedChart("chart-categories", "Requests by category, resolved end to end", names, counts)
	names, counts = nil, nil
	for _, tf := range r.Tenants {
		names, counts = append(names, string(tf.Tenant)), append(counts, tf.Counts)
		row := TenantRow{Tenant: string(tf.Tenant), Requests: strconv.Itoa(tf.Requests), Resolved: strconv.Itoa(tf.Resolved),
			Share: percent(tf.ResolvedShare), Refused: strconv.Itoa(tf.Refused), Pending: strconv.Itoa(tf.Pending),
			NotApproved: strconv.Itoa(tf.NotApproved), Escalated: strconv.Itoa(tf.Escalated), Seats: "unknown", TicketsPerSeat: "–"}
		if tf.SeatsKnown {
			row.Seats = strconv.Itoa(tf.Seats)
			if tf.Seats > 0 {
				row.TicketsPerSeat = num(tf.TicketsPerSeatMonth)
			}
		}
		v.TenantRows = append(v.TenantRows, row)
	}
	v.Tenants = resolvedChart("chart-tenants", "Requests by tenant, resolved end to end", names, counts)
	m, p := r.Model, r.Pricing
	v.ModelKnown, v.ModelWhy = m.Known, m.Why
	if m.Known {
		with := num(m.SeatsPerTechnicianWith)
		if m.Unbounded {
			with = "unbounded (every request resolved)"
		}
		v.ModelRows = []ModelRow{
			{"Seats (tenants with a known count)", strconv.Itoa(m.Seats), strconv.Itoa(m.Seats)},
			{"Tickets per seat per month", num(m.TicketsPerSeatMonth), num(m.TicketsPerSeatMonth * (1 - float64(r.modelResolved())/float64(m.Requests)))},
			{"Technician minutes per seat per month", num(m.MinutesPerSeatMonth), num(m.MinutesPerSeatMonthWith)},
			{"Seats one technician covers", num(m.SeatsPerTechnician), with},
			{"Margin per seat per month", money(m.MarginPerSeat, p.Currency), money(m.MarginPerSeatWith, p.Currency)},
		}
	}
	v.Pricing = []string{
		fmt.Sprintf("seat price %s a month", money(p.SeatPrice, p.Currency)),
		fmt.Sprintf("technician cost %s a month", money(p.TechnicianCost, p.Currency)),
		fmt.Sprintf("%s ticket hours a month per technician", num(p.TechnicianHours)),
		fmt.Sprintf("%s minutes per ticket by default", num(p.DefaultMinutes)),
	}
	if p.TicketsPerSeatMonth > 0 {
		v.Pricing = append(v.Pricing, fmt.Sprintf("%s tickets a seat a month (report.tickets_per_seat_month; the audit's volume is not used)", num(p.TicketsPerSeatMonth)))
	}
	for _, c := range Categories {
		if m, ok := p.MinutesPerCategory[c]; ok {
			v.Pricing = append(v.Pricing, fmt.Sprintf("%s: %s minutes", c, num(m)))
		}
	}
	return v
}

// modelResolved is the resolved requests of the tenants whose seats are
// known.
func (r Report) modelResolved() int {
	n := 0
	for _, t := range r.Tenants {
		if t.SeatsKnown && t.Seats > 0 {
			n += t.Resolved
		}
	}
	return n
}

func groupRow(g Group) GroupRow {
	return GroupRow{Name: g.Name, Requests: strconv.Itoa(g.Requests), Resolved: strconv.Itoa(g.Resolved),
		Share: percent(g.ResolvedShare), Minutes: num(g.MinutesSaved)}
}

// num formats a figure with at most one decimal (two below 1, so that a
// small rate does not read as 0).
func num(f float64) string {
	if math.Abs(f) < 1 {
		return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// duration formats a time to resolution: to the second, or to the
// millisecond under a second.
func duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// money formats an amount with two decimals and its currency.
func money(f float64, currency string) string {
	return strings.TrimSpace(currency + " " + strconv.FormatFloat(f, 'f', 2, 64))
}

// hours formats minutes as hours.
func hours(min float64) string { return num(min/60) + " h" }

// WriteText writes the report as a readable summary.
func (v ReportView) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tierzero report, %s\n\n", v.Window)
	for _, f := range v.Figures {
		line := fmt.Sprintf("  %-28s %s", f.Label, f.Value)
		if f.Note != "" {
			line += "  (" + f.Note + ")"
		}
		b.WriteString(line + "\n")
	}
	table := func(title string, rows []GroupRow) {
		fmt.Fprintf(&b, "\n%s\n  %-14s %8s %8s %7s %9s\n", title, "", "requests", "resolved", "share", "min saved")
		for _, r := range rows {
			fmt.Fprintf(&b, "  %-14s %8s %8s %7s %9s\n", r.Name, r.Requests, r.Resolved, r.Share, r.Minutes)
		}
	}
	table("By tier", v.TierRows)
	table("By category", v.CatRows)
	fmt.Fprintf(&b, "\nBy tenant\n  %-24s %8s %8s %7s %7s %7s %9s %7s %14s\n", "", "requests", "resolved", "share", "refused", "pending", "escalated", "seats", "tickets/seat/mo")
	for _, r := range v.TenantRows {
		fmt.Fprintf(&b, "  %-24s %8s %8s %7s %7s %7s %9s %7s %14s\n", tierzero.PrintableLine(r.Tenant), r.Requests, r.Resolved, r.Share, r.Refused, r.Pending, r.Escalated, r.Seats, r.TicketsPerSeat)
	}
	b.WriteString("\nMSP model\n")
	if !v.ModelKnown {
		fmt.Fprintf(&b, "  unknown: %s\n", v.ModelWhy)
	} else {
		fmt.Fprintf(&b, "  %-38s %14s %14s\n", "", "today", "with tierzero")
		for _, r := range v.ModelRows {
			fmt.Fprintf(&b, "  %-38s %14s %14s\n", r.Label, r.Today, r.With)
		}
	}
	fmt.Fprintf(&b, "\nPricing: %s\n", strings.Join(v.Pricing, "; "))
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed templates/report.html templates/file/report.html static/style.css
var reportFiles embed.FS

// WriteHTML writes the report as a standalone HTML file: the console's
// report without the console (its stylesheet inline, the same charts).
func (v ReportView) WriteHTML(w io.Writer) error {
	t, err := template.New("file").Funcs(funcs).ParseFS(reportFiles, "templates/report.html", "templates/file/report.html")
	if err != nil {
		return fmt.Errorf("report: parse: %w", err)
	}
	css, err := reportFiles.ReadFile("static/style.css")
	if err != nil {
		return err
	}
	// The stylesheet is this package's own file, not data.
	return t.ExecuteTemplate(w, "report-file", struct {
		CSS  template.CSS
		View ReportView
	}{template.CSS(css), v})
}
