package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// TestBaselineDriftReportOnly (review finding 1 of issue 22), on the Graph
// simulator with the real planner: between the two phases (security
// defaults on, the policies report-only) baseline drift exits 0 and serve's
// drift watch tells no one; after both phases, "Require MFA for all users"
// PATCHed back to report-only behind tierzero's back leaves the tenant with
// neither security defaults nor that policy: baseline drift exits 3 and
// names it, and the watch tells the technicians once and opens one ticket.
func TestBaselineDriftReportOnly(t *testing.T) {
	ctx := context.Background()
	e := newBaselineEnv(t)
	drift := func() (baselineDrift, result) {
		t.Helper()
		r := e.run("baseline", "drift", "fabrikam", "--json")
		var out struct {
			Tenants []baselineDrift `json:"tenants"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Tenants) != 1 {
			t.Fatalf("drift --json: %v\n%s%s", err, r.stdout, r.stderr)
		}
		return out.Tenants[0], r
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	told := &notices{told: map[tierzero.TenantID][]string{}}
	sys := &driftSystem{}
	// watch runs fn with serve's drift watch over fabrikam, planned by the
	// real planner against the simulator (its store open while fn runs).
	watch := func(fn func(check func())) {
		t.Helper()
		a := &app{stdout: io.Discard, stderr: io.Discard, getenv: noEnv, log: slog.New(slog.DiscardHandler)}
		rt, err := a.openBaselines(ctx, baselineFlags{graphURL: e.url, data: e.data})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		clock := func() time.Time { return now }
		tickets, err := bot.NewTickets(bot.TicketsConfig{Store: rt.db, Systems: map[tierzero.TenantID]bot.TicketSystem{"fabrikam": sys}, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		tickets.Attach(driftTeller{notice: told.notice})
		w, err := newDriftWatch(driftConfig{Tenants: []tierzero.TenantID{"fabrikam"}, Every: time.Hour, Plan: rt.baselinePlan, Audit: rt.db,
			Notice: told.notice, Ticket: tickets.Escalate, Tickets: map[tierzero.TenantID]bool{"fabrikam": true}, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		w.Load(ctx)
		fn(func() {
			t.Helper()
			now = now.Add(time.Hour)
			w.Check(ctx)
			tickets.Flush(ctx)
			if st, _ := w.Baseline("fabrikam"); st.Problem != "" {
				t.Fatalf("the check failed: %s", st.Problem)
			}
		})
	}

	// The create phase: the policies report-only, security defaults on.
	id, phase, _ := e.apply("fabrikam", baselineTech)
	if phase != "create" {
		t.Fatalf("first apply proposed %q", phase)
	}
	e.decide(id, "approve", "fabrikam", fabrikamAdmin)
	d, r := drift()
	if r.code != 0 || !d.InLine || d.Awaiting == 0 || d.Awaiting != len(d.Drift) {
		t.Fatalf("between the phases: exit %d, %+v", r.code, d)
	}
	for _, it := range d.Drift {
		if it.Kind != "enable" && it.Resource != "security_defaults" {
			t.Errorf("between the phases, %s %s %q", it.Kind, it.Resource, it.Name)
		}
	}
	watch(func(check func()) {
		check()
		if n := told.take("fabrikam"); len(n) != 0 || sys.count() != 0 {
			t.Fatalf("the watch between the phases: told %q, %d tickets", n, sys.count())
		}
	})

	// The enable phase, after a day of sign-ins.
	if resp, err := http.Post(strings.TrimSuffix(e.url, "/v1.0")+"/_sim/signins?tenant=fabrikam", "", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a day of sign-ins: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	id, phase, _ = e.apply("fabrikam", baselineTech)
	if phase != "enable" {
		t.Fatalf("second apply proposed %q", phase)
	}
	e.decide(id, "approve", "fabrikam", fabrikamAdmin)
	if e.state("fabrikam").SecurityDefaults {
		t.Fatal("security defaults on after the enable phase")
	}
	if d, r := drift(); r.code != 0 || !d.InLine || len(d.Drift) != 0 {
		t.Fatalf("after both phases: exit %d, %+v", r.code, d)
	}

	watch(func(check func()) {
		check()
		if n := told.take("fabrikam"); len(n) != 0 || sys.count() != 0 {
			t.Fatalf("the watch after both phases: told %q, %d tickets", n, sys.count())
		}
		// The attack: the MFA policy for all users back to report-only.
		var mfa string
		for _, p := range e.state("fabrikam").ConditionalAccess {
			if p["displayName"] == "Require MFA for all users" {
				mfa, _ = p["id"].(string)
			}
		}
		if mfa == "" {
			t.Fatal(`no policy "Require MFA for all users"`)
		}
		if code, out := e.graph(http.MethodPatch, "fabrikam", "/identity/conditionalAccess/policies/"+mfa, map[string]any{"state": "enabledForReportingButNotEnforced"}); code >= 300 {
			t.Fatalf("the attack: %d %v", code, out)
		}
		check()
		n := told.take("fabrikam")
		if len(n) != 2 || !strings.Contains(n[0], "Baseline drift in fabrikam: 1 difference") || !strings.Contains(n[0], `"Require MFA for all users"`) || sys.count() != 1 {
			t.Fatalf("the watch after the attack: told %q, %d tickets", n, sys.count())
		}
		if s := sys.created[0].Escalation.Summary; !strings.Contains(s, `"Require MFA for all users"`) || !strings.Contains(s, "nothing enforces it") {
			t.Fatalf("the ticket: %s", s)
		}
		check()
		if n := told.take("fabrikam"); len(n) != 0 || sys.count() != 1 {
			t.Fatalf("the same drift again: told %q, %d tickets", n, sys.count())
		}
	})
	d, r = drift()
	if r.code != 3 || d.InLine || d.Awaiting != 0 || len(d.Drift) != 1 || d.Drift[0].Name != "Require MFA for all users" || d.Drift[0].Kind != "enable" {
		t.Fatalf("baseline drift after the attack: exit %d, %+v", r.code, d)
	}
	r = e.run("baseline", "drift", "fabrikam")
	if r.code != 3 || !strings.Contains(r.stdout, "fabrikam: 1 object differs from its baseline") || !strings.Contains(r.stdout, "nothing enforces it") {
		t.Fatalf("baseline drift after the attack: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// apply proposes switching it on again.
	if _, phase, _ := e.apply("fabrikam", baselineTech); phase != "enable" {
		t.Fatalf("apply after the attack proposed %q", phase)
	}
}
