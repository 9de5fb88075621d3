package web

import (
	"context"
	"encoding/xml"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// The report is checked against a seeded audit whose counts are known:
// every outcome, a request that waited for approval and was then done, one
// denied, one whose approval ran only after the window, a plan the
// requester confirmed in a second message, escalations, two tenants, and
// requests outside the window.

// memAudit is an AuditSource of audit trails held in memory (a Store for
// the console: the report page reads nothing else).
type memAudit struct {
	audit map[tierzero.TenantID][]tierzero.AuditEvent
}

func (m *memAudit) Audit(_ context.Context, t tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error {
	evs, ok := m.audit[t]
	if !ok {
		return tierzero.Errorf(tierzero.ENotFound, "no data for tenant %s", t)
	}
	for _, ev := range evs {
		if ev.Time.Before(since) {
			continue
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

func (m *memAudit) ListApprovals(context.Context, tierzero.TenantID, tierzero.ApprovalState) ([]tierzero.Approval, error) {
	return nil, nil
}

func (m *memAudit) Approval(context.Context, tierzero.TenantID, string) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "no approval")
}

func (m *memAudit) Tickets(context.Context, tierzero.TenantID) ([]tierzero.TicketRecord, error) {
	return nil, nil
}

func (m *memAudit) Verify(_ context.Context, t tierzero.TenantID) (int, error) {
	return len(m.audit[t]), nil
}

// trail writes one tenant's audit by hand, the way the agent, the Guard and
// the approvals write it.
type trail struct{ tenant tierzero.TenantID }

func (m *memAudit) trail(t tierzero.TenantID) trail {
	if m.audit == nil {
		m.audit = map[tierzero.TenantID][]tierzero.AuditEvent{}
	}
	if _, ok := m.audit[t]; !ok {
		m.audit[t] = nil
	}
	return trail{tenant: t}
}

func (tr trail) add(m *memAudit, ev tierzero.AuditEvent) {
	ev.Tenant = tr.tenant
	ev.Seq = uint64(len(m.audit[tr.tenant]) + 1)
	m.audit[tr.tenant] = append(m.audit[tr.tenant], ev)
}

// req seeds one request: its message at at, a proposed record of each
// tool, and its reply with outcome after took. approval, when set, is the
// approval its last tool asked for.
func (m *memAudit) req(tenant tierzero.TenantID, conv, upn string, at time.Time, took time.Duration, outcome tierzero.OutcomeKind, approval string, tools ...string) {
	tr := m.trail(tenant)
	c := tierzero.ConversationID(conv)
	tr.add(m, tierzero.AuditEvent{Time: at, Kind: tierzero.AuditMessage, Conversation: c, Requester: upn, Text: "help"})
	for i, tool := range tools {
		t := at.Add(time.Duration(i+1) * time.Second)
		tr.add(m, tierzero.AuditEvent{Time: t, Kind: tierzero.AuditProposed, Conversation: c, Requester: upn, Tool: tool})
		switch {
		case outcome == tierzero.OutcomeRefused:
			tr.add(m, tierzero.AuditEvent{Time: t, Kind: tierzero.AuditDecided, Conversation: c, Requester: upn, Tool: tool, Effect: tierzero.EffectDeny})
		case approval != "" && i == len(tools)-1:
			tr.add(m, tierzero.AuditEvent{Time: t, Kind: tierzero.AuditDecided, Conversation: c, Requester: upn, Tool: tool, Effect: tierzero.EffectRequireApproval})
			tr.add(m, tierzero.AuditEvent{Time: t, Kind: tierzero.AuditApprovalRequested, Conversation: c, Requester: upn, Tool: tool,
				Outcome: "pending", Facts: map[string]string{"approval": approval}})
		case outcome == tierzero.OutcomeResolved:
			tr.add(m, tierzero.AuditEvent{Time: t, Kind: tierzero.AuditDecided, Conversation: c, Requester: upn, Tool: tool, Effect: tierzero.EffectAllow})
			tr.add(m, tierzero.AuditEvent{Time: t, Kind: tierzero.AuditExecuted, Conversation: c, Requester: upn, Tool: tool, Outcome: "ok"})
		}
	}
	if outcome == tierzero.OutcomeEscalated {
		tr.add(m, tierzero.AuditEvent{Time: at.Add(took), Kind: tierzero.AuditEscalated, Conversation: c, Requester: upn, Facts: map[string]string{"cause": "stuck"}})
	}
	tr.add(m, tierzero.AuditEvent{Time: at.Add(took), Kind: tierzero.AuditReply, Conversation: c, Requester: upn,
		Facts: map[string]string{"outcome": string(outcome), "model_calls": "1"}})
}

// approved records an approval approved and run (ok) or failed at at.
func (m *memAudit) approved(tenant tierzero.TenantID, id, conv, tool string, at time.Time, outcome string) {
	tr := m.trail(tenant)
	tr.add(m, tierzero.AuditEvent{Time: at, Kind: tierzero.AuditApprovalDecided, Requester: "approver@x", Tool: tool, Conversation: tierzero.ConversationID(conv),
		Outcome: "approved", Facts: map[string]string{"approval": id, "decision": "approve", "state": "approved"}})
	tr.add(m, tierzero.AuditEvent{Time: at, Kind: tierzero.AuditExecuted, Conversation: tierzero.ConversationID(conv), Tool: tool, Outcome: outcome})
	tr.add(m, tierzero.AuditEvent{Time: at, Kind: tierzero.AuditApprovalExecuted, Conversation: tierzero.ConversationID(conv), Tool: tool,
		Outcome: outcome, Facts: map[string]string{"approval": id}})
}

// denied records an approval denied at at.
func (m *memAudit) denied(tenant tierzero.TenantID, id, conv, tool string, at time.Time) {
	m.trail(tenant).add(m, tierzero.AuditEvent{Time: at, Kind: tierzero.AuditApprovalDecided, Requester: "approver@x", Tool: tool,
		Conversation: tierzero.ConversationID(conv), Outcome: "denied", Facts: map[string]string{"approval": id, "decision": "deny", "state": "denied"}})
}

// seedAudit seeds the audit of the report's tests: the window is the 30
// days from since; base is a time in it.
func seedAudit(since time.Time) *memAudit {
	m := &memAudit{}
	base := since.Add(9*24*time.Hour + 9*time.Hour)
	until := since.Add(30 * 24 * time.Hour)
	const alice, bob, carol = "alice@contoso.example", "bob@contoso.example", "carol@fabrikam.example"
	h := time.Hour
	// contoso
	m.req("contoso", "c1", alice, base, 2*time.Minute, tierzero.OutcomeResolved, "", "user.get", "user.reset_password")
	m.req("contoso", "c2", bob, base.Add(1*h), 30*time.Second, tierzero.OutcomeAnswered, "", "service.health")
	m.req("contoso", "c3", bob, base.Add(90*time.Minute), time.Minute, tierzero.OutcomeRefused, "", "user.reset_password")
	m.req("contoso", "c4", alice, base.Add(2*h), time.Minute, tierzero.OutcomePending, "ap1", "user.issue_tap")
	m.approved("contoso", "ap1", "c4", "user.issue_tap", base.Add(3*h), "ok")
	m.req("contoso", "c5", alice, base.Add(4*h), time.Minute, tierzero.OutcomePending, "ap2", "group.add_member")
	m.req("contoso", "c6", bob, base.Add(5*h), 3*time.Minute, tierzero.OutcomeEscalated, "", "device.compliance")
	// A plan the requester confirms in a second message: one request.
	m.req("contoso", "c7", alice, base.Add(6*h), time.Minute, tierzero.OutcomeConfirm, "")
	m.trail("contoso").add(m, tierzero.AuditEvent{Time: base.Add(6*h + 30*time.Second), Kind: tierzero.AuditProposed, Conversation: "c7", Requester: alice, Tool: "license.assign"})
	m.req("contoso", "c7", alice, base.Add(6*h+5*time.Minute), time.Minute, tierzero.OutcomeResolved, "", "license.assign")
	m.req("contoso", "c8", bob, base.Add(7*h), time.Minute, tierzero.OutcomePending, "ap3", "device.wipe")
	m.denied("contoso", "ap3", "c8", "device.wipe", base.Add(8*h))
	m.req("contoso", "c9", alice, base.Add(9*h), time.Minute, tierzero.OutcomeAsked, "")
	// fabrikam
	m.req("fabrikam", "f3", carol, since.Add(-11*24*h), time.Minute, tierzero.OutcomeResolved, "", "user.reset_password") // before the window
	m.req("fabrikam", "f1", carol, base, 10*time.Minute, tierzero.OutcomePending, "ap4", "lifecycle.offboard_plan", "lifecycle.offboard")
	m.trail("fabrikam").add(m, tierzero.AuditEvent{Time: base.Add(40 * time.Minute), Kind: tierzero.AuditPlanStarted, Conversation: "f1"})
	m.approved("fabrikam", "ap4", "f1", "lifecycle.offboard", base.Add(40*time.Minute), "ok")
	m.req("fabrikam", "f2", carol, base.Add(h), time.Minute, tierzero.OutcomeResolved, "", "user.revoke_sessions")
	m.req("fabrikam", "f5", carol, until.Add(-4*h), time.Minute, tierzero.OutcomePending, "ap5", "user.reset_mfa")
	m.approved("fabrikam", "ap5", "f5", "user.reset_mfa", until.Add(10*h), "ok")                                      // after the window: still pending in it
	m.req("fabrikam", "f4", carol, until.Add(24*h), time.Minute, tierzero.OutcomeResolved, "", "user.reset_password") // after the window
	return m
}

// testPricing is the report's pricing in the tests.
func testPricing() ReportConfig {
	return ReportConfig{
		MinutesPerCategory: map[string]float64{CategoryPassword: 10, CategoryMFA: 20, CategoryLicenses: 15, CategoryLifecycle: 60, CategorySecurity: 30},
		DefaultMinutes:     12, SeatPrice: 100, TechnicianCost: 5000, TechnicianHours: 100, Currency: "EUR",
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestComputeSeededAudit(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := since.Add(30 * 24 * time.Hour)
	m := seedAudit(since)
	rep, err := Compute(context.Background(), m, []tierzero.TenantID{"fabrikam", "contoso", "northwind", "contoso"}, since, until,
		map[tierzero.TenantID]int{"contoso": 10}, testPricing())
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Requests: 12, Resolved: 6, Refused: 1, Pending: 2, NotApproved: 1, Escalated: 1, Other: 1, ResolvedShare: 0.5,
		MinutesSaved: 10 + 12 + 20 + 15 + 60 + 30}
	if rep.Totals != want {
		t.Errorf("totals = %+v\nwant     %+v", rep.Totals, want)
	}
	if rep.TicketsAvoided != 6 || rep.MinutesSaved != 147 {
		t.Errorf("tickets avoided %d, minutes saved %v; want 6, 147", rep.TicketsAvoided, rep.MinutesSaved)
	}
	// Resolutions: 30s, 1m, 2m, 6m (c7: from its first message), 40m (f1,
	// when its approval ran), 1h (c4): the median is (2m + 6m) / 2.
	if got := rep.MedianResolution(); got != 4*time.Minute {
		t.Errorf("median resolution = %s, want 4m", got)
	}
	tiers := map[string][2]int{}
	for _, g := range rep.ByTier {
		tiers[g.Name] = [2]int{g.Requests, g.Resolved}
	}
	if w := map[string][2]int{"L1": {7, 4}, "L2": {3, 1}, "L3": {2, 1}}; !equalMap(tiers, w) {
		t.Errorf("by tier = %v, want %v", tiers, w)
	}
	cats := map[string][2]int{}
	var order []string
	for _, g := range rep.ByCat {
		cats[g.Name] = [2]int{g.Requests, g.Resolved}
		order = append(order, g.Name)
	}
	wantCats := map[string][2]int{
		"password": {2, 1}, "information": {2, 1}, "mfa": {2, 1}, "access": {1, 0}, "devices": {2, 0},
		"licenses": {1, 1}, "lifecycle": {1, 1}, "security": {1, 1},
	}
	if !equalMap(cats, wantCats) {
		t.Errorf("by category = %v, want %v", cats, wantCats)
	}
	if got, w := strings.Join(order, ","), "password,mfa,access,licenses,devices,lifecycle,security,information"; got != w {
		t.Errorf("categories in order %s, want %s", got, w)
	}
	if len(rep.Tenants) != 3 {
		t.Fatalf("tenants = %+v", rep.Tenants)
	}
	c, f, n := rep.Tenants[0], rep.Tenants[1], rep.Tenants[2]
	if c.Tenant != "contoso" || c.Requests != 9 || c.Resolved != 4 || c.Refused != 1 || c.Pending != 1 || c.NotApproved != 1 || c.Escalated != 1 || c.Other != 1 ||
		!c.SeatsKnown || c.Seats != 10 {
		t.Errorf("contoso = %+v", c)
	}
	months := 30 / (365.25 / 12)
	if !near(c.TicketsPerSeatMonth, 9/10.0/months) {
		t.Errorf("contoso tickets per seat a month = %v, want %v", c.TicketsPerSeatMonth, 9/10.0/months)
	}
	if f.Tenant != "fabrikam" || f.Requests != 3 || f.Resolved != 2 || f.Pending != 1 || f.SeatsKnown {
		t.Errorf("fabrikam = %+v", f)
	}
	if n.Tenant != "northwind" || n.Requests != 0 || n.SeatsKnown {
		t.Errorf("northwind (no data) = %+v", n)
	}

	// The MSP model, of contoso alone (fabrikam's seats are unknown):
	// 9 requests worth 115 minutes by hand, of which 58 were not resolved
	// (c3 password 10, c5 access 12, c6 devices 12, c8 devices 12, c9
	// information 12).
	md := rep.Model
	perSeat, perSeatWith := 115/10.0/months, 58/10.0/months
	seatsToday, seatsWith := 100*60/perSeat, 100*60/perSeatWith
	checks := []struct {
		name      string
		got, want float64
	}{
		{"months", md.Months, months},
		{"tickets per seat a month", md.TicketsPerSeatMonth, 9 / 10.0 / months},
		{"minutes per ticket", md.MinutesPerTicket, 115 / 9.0},
		{"minutes per seat a month", md.MinutesPerSeatMonth, perSeat},
		{"minutes per seat a month with tierzero", md.MinutesPerSeatMonthWith, perSeatWith},
		{"seats per technician", md.SeatsPerTechnician, seatsToday},
		{"seats per technician with tierzero", md.SeatsPerTechnicianWith, seatsWith},
		{"margin per seat", md.MarginPerSeat, 100 - 5000/seatsToday},
		{"margin per seat with tierzero", md.MarginPerSeatWith, 100 - 5000/seatsWith},
	}
	if !md.Known || md.Seats != 10 || md.Requests != 9 || md.Unbounded {
		t.Errorf("model = %+v", md)
	}
	for _, ch := range checks {
		if !near(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// In round figures: 514 seats a technician today, 1,020 with tierzero.
	if math.Round(md.SeatsPerTechnician) != 514 || math.Round(md.SeatsPerTechnicianWith) != 1020 {
		t.Errorf("seats per technician %v and %v, want about 514 and 1020", md.SeatsPerTechnician, md.SeatsPerTechnicianWith)
	}
}

func equalMap(a, b map[string][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestComputeModelUnknownWithoutSeats(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep, err := Compute(context.Background(), seedAudit(since), []tierzero.TenantID{"contoso"}, since, since.Add(30*24*time.Hour), nil, testPricing())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Model.Known || rep.Model.Why == "" || rep.Tenants[0].SeatsKnown {
		t.Errorf("model without seats = %+v", rep.Model)
	}
	if rep.Totals.Requests != 9 {
		t.Errorf("requests = %d, want 9", rep.Totals.Requests)
	}
	// A tenant without a licensed user is no seat of the model either.
	rep, err = Compute(context.Background(), seedAudit(since), []tierzero.TenantID{"contoso"}, since, since.Add(30*24*time.Hour),
		map[tierzero.TenantID]int{"contoso": 0}, testPricing())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Model.Known || !rep.Tenants[0].SeatsKnown || rep.Tenants[0].TicketsPerSeatMonth != 0 {
		t.Errorf("model with no seats = %+v, tenant %+v", rep.Model, rep.Tenants[0])
	}
}

func TestComputeEverythingResolved(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	m := &memAudit{}
	m.req("contoso", "c1", "a@contoso.example", since.Add(time.Hour), time.Minute, tierzero.OutcomeResolved, "", "user.reset_password")
	rep, err := Compute(context.Background(), m, []tierzero.TenantID{"contoso"}, since, since.Add(24*time.Hour), map[tierzero.TenantID]int{"contoso": 5}, testPricing())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Model.Unbounded || rep.Model.MarginPerSeatWith != 100 {
		t.Errorf("model = %+v, want unbounded with the whole seat price as margin", rep.Model)
	}
}

func TestRequestClass(t *testing.T) {
	for _, tc := range []struct {
		name    string
		actions []string
		tier    Tier
		cat     string
	}{
		{"none", nil, L1, CategoryInformation},
		{"lookup then reset", []string{"user.get", "user.reset_password", "user.get"}, L1, CategoryPassword},
		{"highest tier wins", []string{"user.reset_password", "device.wipe", "user.issue_tap"}, L3, CategoryDevices},
		{"unknown action", []string{"user.get", "user.teleport"}, L2, CategoryOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tier, cat := requestClass(tc.actions)
			if tier != tc.tier || cat != tc.cat {
				t.Errorf("requestClass(%v) = %s %s, want %s %s", tc.actions, tier, cat, tc.tier, tc.cat)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", now.Add(-30 * 24 * time.Hour), false},
		{"30d", now.Add(-30 * 24 * time.Hour), false},
		{"720h", now.Add(-720 * time.Hour), false},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-11-01T08:00:00Z", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), false},
		{"-5h", time.Time{}, true},
		{"0d", time.Time{}, true},
		{"2027-01-01", time.Time{}, true},
		{"1990-01-01", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"<script>", time.Time{}, true},
	} {
		got, err := ParseSince(tc.in, now)
		if (err != nil) != tc.bad || !tc.bad && !got.Equal(tc.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// seatGraph counts seats of contoso only.
type seatGraph struct{}

func (seatGraph) Capabilities(context.Context, tierzero.TenantID) (bool, bool, error) {
	return true, false, nil
}
func (seatGraph) Seats(_ context.Context, t tierzero.TenantID) (int, error) {
	if t == "contoso" {
		return 10, nil
	}
	return 0, tierzero.Errorf(tierzero.EUnavailable, "graph is down")
}

var svgBlock = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func TestReportPage(t *testing.T) {
	since := time.Now().UTC().Add(-30*24*time.Hour + 2*time.Hour).Truncate(time.Second)
	audit := seedAudit(since)
	c := newConsole(t, false, func(cfg *Config) {
		cfg.Store, cfg.Graph, cfg.Report = audit, seatGraph{}, testPricing()
	})
	b := c.browser(t)
	c.signInOnce(t, b, tech)
	q := url.Values{"since": {since.Format(time.RFC3339)}}
	res, body := get(t, b, c.ts.URL+Prefix+"/report?"+q.Encode())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d %s", res.StatusCode, body)
	}
	if strings.Contains(body, ` style="`) {
		t.Error("the page has a style attribute (the CSP forbids it)")
	}
	svgs := svgBlock.FindAllString(body, -1)
	if len(svgs) != 4 {
		t.Fatalf("%d charts, want 4 (outcomes, tiers, categories, tenants)", len(svgs))
	}
	// Every chart is well-formed XML with a title and an aria-label, and
	// writes its numbers in text.
	for i, want := range [][]string{
		{"Requests by outcome", ">Resolved<", ">6 (50%)<", ">1 (8.3%)<", ">2 (16.7%)<"},
		{"Requests by tier", ">L1<", ">4 of 7 resolved (57.1%)<", ">1 of 3 resolved (33.3%)<", ">1 of 2 resolved (50%)<"},
		{"Requests by category", ">password<", ">lifecycle<", ">0 of 2 resolved (0%)<"},
		{"Requests by tenant", ">contoso<", ">fabrikam<", ">4 of 9 resolved (44.4%)<", ">2 of 3 resolved (66.7%)<"},
	} {
		svg := svgs[i]
		if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
			t.Errorf("chart %d is not well-formed: %v", i, err)
		}
		if !strings.Contains(svg, `aria-label="`+want[0]) || !strings.Contains(svg, "<title id=") {
			t.Errorf("chart %d lacks its title or aria-label", i)
		}
		for _, w := range want[1:] {
			if !strings.Contains(svg, w) {
				t.Errorf("chart %d lacks %q", i, w)
			}
		}
	}
	for _, w := range []string{"Tickets avoided", "4m0s", "147 minutes", "Seats one technician covers", "unknown", "EUR"} {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestReportPageRefusesOtherTenant(t *testing.T) {
	since := time.Now().UTC().Add(-30*24*time.Hour + 2*time.Hour).Truncate(time.Second)
	c := newConsole(t, false, func(cfg *Config) { cfg.Store = seedAudit(since) })
	b := c.browser(t)
	c.signInOnce(t, b, admin) // contoso's admin
	res, body := get(t, b, c.ts.URL+Prefix+"/report?tenant=fabrikam")
	if res.StatusCode != http.StatusForbidden || strings.Contains(body, "fabrikam") && strings.Contains(body, "<svg") {
		t.Fatalf("another tenant's report: %d %s", res.StatusCode, body)
	}
	res, body = get(t, b, c.ts.URL+Prefix+"/report?tenant=contoso&since="+url.QueryEscape(since.Format(time.RFC3339)))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, ">4 of 9 resolved (44.4%)<") {
		t.Fatalf("own tenant's report: %d", res.StatusCode)
	}
	// The admin's report of all their tenants is contoso's alone.
	_, body = get(t, b, c.ts.URL+Prefix+"/report?since="+url.QueryEscape(since.Format(time.RFC3339)))
	if strings.Contains(body, ">fabrikam<") {
		t.Error("the admin's report shows fabrikam")
	}
	res, body = get(t, b, c.ts.URL+Prefix+"/report?since=%3Cscript%3E")
	if res.StatusCode != http.StatusBadRequest || strings.Contains(body, "<script>") {
		t.Errorf("a bad since: %d", res.StatusCode)
	}
}

func TestWriteHTML(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep, err := Compute(context.Background(), seedAudit(since), []tierzero.TenantID{"contoso", "fabrikam"}, since, since.Add(30*24*time.Hour),
		map[tierzero.TenantID]int{"contoso": 10}, testPricing())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := ViewOf(rep).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := len(svgBlock.FindAllString(out, -1)); n != 4 || !strings.Contains(out, "<style>") || !strings.Contains(out, "figure.chart") {
		t.Errorf("HTML file: %d charts, style inline %v", n, strings.Contains(out, "<style>"))
	}
	var text strings.Builder
	if err := ViewOf(rep).WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Resolved end to end", "50%", "6 of 12", "L3", "lifecycle", "Seats one technician covers", "514.2", "1019.6"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text summary lacks %q:\n%s", w, text.String())
		}
	}
}

// TestTierTableDocumented: docs/report.md prints the tier table as it is.
func TestTierTableDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/report.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows := regexp.MustCompile("(?m)^\\| `[a-z_.]+` \\| L[123] \\| [a-z]+ \\|$").FindAllString(doc, -1)
	if len(rows) != len(tierTable) {
		t.Errorf("docs/report.md has %d rows of the tier table, web/tiers.go %d", len(rows), len(tierTable))
	}
	for _, r := range tierTable {
		if line := "| `" + r.Action + "` | " + string(r.Tier) + " | " + r.Category + " |"; !strings.Contains(doc, line+"\n") {
			t.Errorf("docs/report.md lacks %q", line)
		}
	}
}

// With the MSP's own ticket volume configured, the model prices that
// volume with the audit's mix of work and the share of technician minutes
// tierzero left open: 1.5 tickets a seat a month at 115/9 minutes each,
// 58 of 115 minutes left to technicians.
func TestComputeModelConfiguredVolume(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := since.Add(30 * 24 * time.Hour)
	cfg := testPricing()
	cfg.TicketsPerSeatMonth = 1.5
	rep, err := Compute(context.Background(), seedAudit(since), []tierzero.TenantID{"contoso", "fabrikam"}, since, until,
		map[tierzero.TenantID]int{"contoso": 10}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Model
	perSeat := 1.5 * 115 / 9.0
	perSeatWith := perSeat * 58 / 115
	for _, ch := range []struct {
		name      string
		got, want float64
	}{
		{"tickets per seat a month", md.TicketsPerSeatMonth, 1.5},
		{"minutes per seat a month", md.MinutesPerSeatMonth, perSeat},
		{"minutes per seat a month with tierzero", md.MinutesPerSeatMonthWith, perSeatWith},
		{"seats per technician", md.SeatsPerTechnician, 100 * 60 / perSeat},
		{"seats per technician with tierzero", md.SeatsPerTechnicianWith, 100 * 60 / perSeatWith},
		{"margin per seat", md.MarginPerSeat, 100 - 5000/(100*60/perSeat)},
	} {
		if !near(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if !md.Known || !md.Configured {
		t.Errorf("model = %+v", md)
	}
	// In round figures: 313 seats a technician today, 621 with tierzero.
	if math.Round(md.SeatsPerTechnician) != 313 || math.Round(md.SeatsPerTechnicianWith) != 621 {
		t.Errorf("seats per technician %v and %v, want about 313 and 621", md.SeatsPerTechnician, md.SeatsPerTechnicianWith)
	}
	if v := ViewOf(rep); !strings.Contains(strings.Join(v.Pricing, "\n"), "1.5 tickets a seat a month") {
		t.Errorf("the pricing does not say the volume is configured: %q", v.Pricing)
	}
}
