package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/web"
)

// TestTierTableCoversCatalog: every action of the Graph catalog, and every
// action the baseline policy names, has a row in the report's tier table;
// the table has no row for an action the catalog does not have.
func TestTierTableCoversCatalog(t *testing.T) {
	catalog := map[string]bool{}
	for _, s := range graph.Catalog() {
		catalog[s.Action] = true
		row, ok := web.TierOf(s.Action)
		if !ok {
			t.Errorf("%s has no tier in web/tiers.go", s.Action)
			continue
		}
		if !slices.Contains(web.Tiers, row.Tier) || !slices.Contains(web.Categories, row.Category) || row.Category == web.CategoryOther {
			t.Errorf("%s: tier %q, category %q", s.Action, row.Tier, row.Category)
		}
	}
	for _, row := range web.TierTable() {
		if !catalog[row.Action] {
			t.Errorf("the tier table has %s, which the catalog does not", row.Action)
		}
	}
	files, err := filepath.Glob("../../policy/baseline/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no baseline policy files: %v", err)
	}
	action := regexp.MustCompile(`(?m)^\s*action:\s*([a-z_]+\.[a-z_]+)\s*(?:#.*)?$`)
	named := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range action.FindAllStringSubmatch(string(b), -1) {
			named++
			if _, ok := web.TierOf(m[1]); !ok {
				t.Errorf("%s names %s, which has no tier", filepath.Base(f), m[1])
			}
		}
	}
	if named < 20 {
		t.Errorf("read only %d actions from the baseline policy", named)
	}
}

// seedReport writes a data directory's audit by hand: in contoso a
// password reset (2 minutes), a refusal, a Temporary Access Pass that waited
// an hour for its approval and then ran, an escalation; in fabrikam a
// license assigned (4 minutes) and a group membership still waiting for
// approval; and a request of 40 days ago.
func seedReport(t *testing.T, data string) {
	t.Helper()
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: noEnv, log: slog.New(slog.DiscardHandler)}
	db, err := a.openStore(data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	base := time.Now().UTC().Add(-5 * 24 * time.Hour).Truncate(time.Second)
	add := func(tenant tierzero.TenantID, ev tierzero.AuditEvent) {
		t.Helper()
		if err := db.Append(ctx, tenant, ev); err != nil {
			t.Fatal(err)
		}
	}
	request := func(tenant tierzero.TenantID, conv, upn string, at time.Time, took time.Duration, outcome tierzero.OutcomeKind, approval, tool string) {
		c := tierzero.ConversationID(conv)
		add(tenant, tierzero.AuditEvent{Time: at, Kind: tierzero.AuditMessage, Conversation: c, Requester: upn, Text: "help"})
		if tool != "" {
			add(tenant, tierzero.AuditEvent{Time: at.Add(time.Second), Kind: tierzero.AuditProposed, Conversation: c, Requester: upn, Tool: tool})
		}
		if approval != "" {
			add(tenant, tierzero.AuditEvent{Time: at.Add(time.Second), Kind: tierzero.AuditApprovalRequested, Conversation: c, Requester: upn, Tool: tool,
				Facts: map[string]string{"approval": approval}})
		}
		add(tenant, tierzero.AuditEvent{Time: at.Add(took), Kind: tierzero.AuditReply, Conversation: c, Requester: upn,
			Facts: map[string]string{"outcome": string(outcome)}})
	}
	const adele, megan, carol = "adele.vance@contoso.com", "megan.bowen@contoso.com", "carol@fabrikam.com"
	request("contoso", "c0", adele, base.Add(-35*24*time.Hour), time.Minute, tierzero.OutcomeResolved, "", "user.reset_password")
	request("contoso", "c1", adele, base, 2*time.Minute, tierzero.OutcomeResolved, "", "user.reset_password")
	request("contoso", "c2", megan, base.Add(time.Hour), time.Minute, tierzero.OutcomeRefused, "", "user.reset_password")
	request("contoso", "c3", adele, base.Add(2*time.Hour), time.Minute, tierzero.OutcomePending, "ap1", "user.issue_tap")
	add("contoso", tierzero.AuditEvent{Time: base.Add(3 * time.Hour), Kind: tierzero.AuditApprovalExecuted, Conversation: "c3", Tool: "user.issue_tap",
		Outcome: "ok", Facts: map[string]string{"approval": "ap1"}})
	request("contoso", "c4", megan, base.Add(4*time.Hour), time.Minute, tierzero.OutcomeEscalated, "", "device.compliance")
	request("fabrikam", "f1", carol, base, 4*time.Minute, tierzero.OutcomeResolved, "", "license.assign")
	request("fabrikam", "f2", carol, base.Add(time.Hour), time.Minute, tierzero.OutcomePending, "ap2", "group.add_member")
}

// simSeats is the seats of a tenant of the simulator the runtime starts.
func simSeats(t *testing.T, tenant string) int {
	t.Helper()
	st, ok := sim.New(sim.Options{}).State(tenant)
	if !ok {
		t.Fatalf("no simulated tenant %s", tenant)
	}
	n := 0
	for _, u := range st.Users {
		if u.AccountEnabled && len(u.AssignedLicenses) > 0 {
			n++
		}
	}
	return n
}

// checkReportJSON checks the report of the seeded data directory.
func checkReportJSON(t *testing.T, out string) {
	t.Helper()
	var rep web.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	tot := rep.Totals
	if tot.Requests != 6 || tot.Resolved != 3 || tot.Refused != 1 || tot.Pending != 1 || tot.Escalated != 1 || tot.ResolvedShare != 0.5 {
		t.Errorf("totals = %+v", tot)
	}
	// 2m, 4m, 1h: the median is 4m.
	if rep.MedianResolution() != 4*time.Minute {
		t.Errorf("median = %s, want 4m", rep.MedianResolution())
	}
	// Minutes by the default pricing: password 10, mfa 20, licenses 15.
	if rep.TicketsAvoided != 3 || rep.MinutesSaved != 45 {
		t.Errorf("tickets avoided %d, minutes saved %v; want 3, 45", rep.TicketsAvoided, rep.MinutesSaved)
	}
	var tiers []string
	for _, g := range rep.ByTier {
		tiers = append(tiers, g.Name+":"+strconv.Itoa(g.Requests)+"/"+strconv.Itoa(g.Resolved))
	}
	if got := strings.Join(tiers, " "); got != "L1:4/2 L2:2/1 L3:0/0" {
		t.Errorf("by tier %s", got)
	}
	if len(rep.Tenants) != 2 {
		t.Fatalf("tenants = %+v", rep.Tenants)
	}
	for _, tf := range rep.Tenants {
		if want := simSeats(t, string(tf.Tenant)); !tf.SeatsKnown || tf.Seats != want {
			t.Errorf("%s: seats %d (known %v), want %d from the simulator", tf.Tenant, tf.Seats, tf.SeatsKnown, want)
		}
	}
	if !rep.Model.Known || rep.Model.Seats != simSeats(t, "contoso")+simSeats(t, "fabrikam") || rep.Model.SeatsPerTechnicianWith <= rep.Model.SeatsPerTechnician {
		t.Errorf("model = %+v", rep.Model)
	}
}

// checkReportHTML parses a standalone report and checks its charts.
func checkReportHTML(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("the HTML report does not parse: %v", err)
	}
	var svgs, titles int
	var text strings.Builder
	var walk func(n *html.Node, inSVG bool)
	walk = func(n *html.Node, inSVG bool) {
		if n.Type == html.ElementNode && n.Data == "svg" {
			svgs++
			inSVG = true
			for _, a := range n.Attr {
				if a.Key == "aria-label" && a.Val != "" {
					titles++
				}
			}
		}
		if n.Type == html.TextNode && inSVG {
			text.WriteString(n.Data + "|")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inSVG)
		}
	}
	walk(doc, false)
	if svgs != 4 || titles != 4 {
		t.Errorf("%d charts with %d labels, want 4", svgs, titles)
	}
	for _, w := range []string{"3 (50%)", "2 of 4 resolved (50%)", "1 of 2 resolved (50%)", "contoso", "fabrikam"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("the charts lack %q: %s", w, text.String())
		}
	}
	if !strings.Contains(string(b), "<style>") {
		t.Error("the HTML report has no inline stylesheet")
	}
}

// TestReportCommand: report on the files (no server) as text, JSON and an
// HTML file, with the seats of the simulator the runtime starts.
func TestReportCommand(t *testing.T) {
	data := t.TempDir()
	seedReport(t, data)

	r := run(t, noEnv, "", "report", "--data", data, "--json")
	if r.code != 0 {
		t.Fatalf("report --json: exit %d: %s", r.code, r.stderr)
	}
	checkReportJSON(t, r.stdout)

	file := filepath.Join(t.TempDir(), "report.html")
	r = run(t, noEnv, "", "report", "--data", data, "--html", file)
	if r.code != 0 || !strings.Contains(r.stdout, file) {
		t.Fatalf("report --html: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	checkReportHTML(t, file)

	r = run(t, noEnv, "", "report", "--data", data, "--tenant", "fabrikam", "--since", "30d")
	if r.code != 0 || !strings.Contains(r.stdout, "Resolved end to end") || !strings.Contains(r.stdout, "(1 of 2)") || strings.Contains(r.stdout, "contoso") {
		t.Errorf("report --tenant fabrikam: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A window of 60 days holds the request of 40 days ago too.
	r = run(t, noEnv, "", "report", "--data", data, "--json", "--since", time.Now().UTC().Add(-60*24*time.Hour).Format("2006-01-02"))
	var rep web.Report
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.Totals.Requests != 7 {
		t.Errorf("report --since 60 days: exit %d, %d requests, want 7: %s", r.code, rep.Totals.Requests, r.stderr)
	}
	for _, bad := range [][]string{{"--since", "tomorrow"}, {"--since", "-1h"}, {"--tenant", "../x"}, {"--json", "--html", file}} {
		if r := run(t, noEnv, "", append([]string{"report", "--data", data}, bad...)...); r.code != 2 {
			t.Errorf("report %v: exit %d, want 2", bad, r.code)
		}
	}
}

// TestReportThroughServer: while serve holds the data directory, report
// runs on the server over its admin socket, with the same figures.
func TestReportThroughServer(t *testing.T) {
	data := t.TempDir()
	seedReport(t, data)
	_, _, logs := startServe(t, "--data", data)

	r := run(t, noEnv, "", "report", "--data", data, "--json")
	if r.code != 0 {
		t.Fatalf("report --json through the server: exit %d: %s", r.code, r.stderr)
	}
	checkReportJSON(t, r.stdout)
	dir := t.TempDir()
	r = run(t, noEnv, "", "report", "--data", data, "--html", filepath.Join(dir, "r.html"))
	if r.code != 0 {
		t.Fatalf("report --html through the server: exit %d: %s", r.code, r.stderr)
	}
	checkReportHTML(t, filepath.Join(dir, "r.html"))
	if !strings.Contains(logs.String(), `"msg":"operator command","args":"report --data`) {
		t.Errorf("the server did not run the report:\n%s", logs.String())
	}
}
