package web_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/web"
)

// fakeBaselines is the drift watch as the console sees it.
type fakeBaselines struct {
	mu     sync.Mutex
	states map[tierzero.TenantID]web.BaselineState
}

func (f *fakeBaselines) Baseline(t tierzero.TenantID) (web.BaselineState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.states[t]
	return s, ok
}

// TestTenantsBaseline: each tenant's card says whether it is in line with
// its baseline or how many differences it has, which, and when it was
// checked; tenant data in the drift is escaped; a tenant not checked yet
// shows no baseline row.
func TestTenantsBaseline(t *testing.T) {
	checked := trailT0.Add(47 * time.Hour)
	since := trailT0.Add(20 * time.Hour)
	b := &fakeBaselines{states: map[tierzero.TenantID]web.BaselineState{
		"contoso": {Known: true, Checked: checked, Since: since, Drift: []web.BaselineDrift{
			{Kind: "update", Resource: "conditional access policy", Name: "Block legacy authentication", Why: "state: enabled → enabledForReportingButNotEnforced"},
			{Kind: "create", Resource: "conditional access policy", Name: `<script>alert(1)</script>`, Why: "missing"},
		}},
		"fabrikam": {Known: true, Checked: checked, Since: since},
	}}
	st := &trailStore{audit: map[tierzero.TenantID][]tierzero.AuditEvent{}, tickets: map[tierzero.TenantID][]tierzero.TicketRecord{},
		broken: map[tierzero.TenantID]error{}}
	srv, err := web.New(web.Config{
		Desk: trailDesk{}, Store: st, Policy: trailPolicy{}, Baselines: b,
		Staff: bot.Staff{Home: "msp", Technicians: []bot.Technician{{UPN: trailTech, Name: "Tess"}},
			Admins:  map[tierzero.TenantID][]string{"contoso": {trailContosoAdmin}},
			Clients: []tierzero.TenantID{"contoso", "fabrikam", "northwind"}},
		Reach: trailReach{"contoso", "fabrikam", "northwind"},
		Now:   func() time.Time { return trailT0.Add(48 * time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &trailConsole{t: t, srv: srv, h: srv.Handler(), store: st}
	raw := c.get(c.signIn(trailTech), "/console/tenants").Body.String()
	if strings.Contains(raw, "<script>alert") {
		t.Errorf("a policy name from the tenant is not escaped:\n%s", raw)
	}

	con := card(raw, "contoso")
	for _, w := range []string{
		`<span class="badge warn">2 differences</span>`,
		"checked 2026-11-29 08:00 UTC, drifted since " + "2026-11-28 05:00 UTC",
		`<span class="badge">update</span> conditional access policy <q>Block legacy authentication</q>: state: enabled → enabledForReportingButNotEnforced`,
		"<q><script>alert(1)</script></q>: missing", // unescaped by card(): escaped in the page
		"tierzero baseline plan contoso",
	} {
		if !strings.Contains(con, w) {
			t.Errorf("contoso's card lacks %q:\n%s", w, con)
		}
	}
	fab := card(raw, "fabrikam")
	if !strings.Contains(fab, `<span class="badge ok">in line</span>`) || strings.Contains(fab, "What differs") {
		t.Errorf("fabrikam is in line:\n%s", fab)
	}
	if nw := card(raw, "northwind"); nw == "" || strings.Contains(nw, "Baseline</th>") {
		t.Errorf("northwind, never checked, shows a baseline:\n%s", nw)
	}

	// Back in line: the next page says so; a failed check says why and
	// keeps what was last found.
	b.mu.Lock()
	b.states["contoso"] = web.BaselineState{Known: true, Checked: checked.Add(time.Hour), Since: checked.Add(time.Hour)}
	b.states["fabrikam"] = web.BaselineState{Known: true, Checked: checked.Add(time.Hour), Since: since,
		Drift: []web.BaselineDrift{{Kind: "enable", Resource: "conditional access policy", Name: "Require MFA for admins"}}, Problem: "Graph: 503 Service Unavailable"}
	b.mu.Unlock()
	raw = c.get(c.signIn(trailTech), "/console/tenants").Body.String()
	if con := card(raw, "contoso"); !strings.Contains(con, `<span class="badge ok">in line</span>`) || strings.Contains(con, "differences") {
		t.Errorf("contoso is back in line:\n%s", con)
	}
	if fab := card(raw, "fabrikam"); !strings.Contains(fab, `<span class="badge bad">check failed</span> Graph: 503 Service Unavailable; last found 1 difference`) {
		t.Errorf("fabrikam's failed check:\n%s", fab)
	}
}
