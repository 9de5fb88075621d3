package web_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// markersOn lists which of the seeded trails' markers a page or export
// shows: the text of each conversation's first message.
func markersOn(body string) []string {
	var out []string
	for _, m := range []string{"contoso-marker", "fabrikam-marker", "msp-marker"} {
		if strings.Contains(body, m) {
			out = append(out, m)
		}
	}
	return out
}

func TestAuditFilters(t *testing.T) {
	c := newTrailConsole(t)
	tech := c.signIn(trailTech)
	admin := c.signIn(trailContosoAdmin)
	for _, tc := range []struct {
		name  string
		admin bool
		query string
		want  string // the markers shown, comma-separated
		rows  int    // rows listed
	}{
		{"technician sees every trail", false, "", "contoso-marker,fabrikam-marker,msp-marker", 11},
		{"admin sees contoso only", true, "", "contoso-marker", 6},
		{"tenant", false, "tenant=fabrikam", "fabrikam-marker", 4},
		{"person, any case", false, "person=BOB@Fabrikam.com", "fabrikam-marker", 4},
		{"person of another tenant, for the admin", true, "person=bob@fabrikam.com", "", 0},
		{"action", false, "action=user.reset_password", "", 3},
		{"effect", false, "effect=deny", "", 1},
		{"effect allow", true, "effect=allow", "", 2},
		{"kind", false, "kind=message", "contoso-marker,fabrikam-marker,msp-marker", 3},
		{"since a time", false, "since=2026-11-27T09:10", "fabrikam-marker,msp-marker", 6},
		{"until a date includes the day", false, "until=2026-11-27", "contoso-marker,fabrikam-marker,msp-marker", 11},
		{"until a time", false, "until=2026-11-27T09:05:00Z", "contoso-marker", 5},
		{"since a later day", false, "since=2026-11-28", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := tech
			if tc.admin {
				ck = admin
			}
			rec := c.get(ck, "/console/audit?"+tc.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			if got := strings.Join(markersOn(body), ","); got != tc.want {
				t.Errorf("markers %q, want %q", got, tc.want)
			}
			table := body
			if i := strings.Index(body, `<table class="audit stack">`); i >= 0 {
				table = body[i:]
			} else {
				table = ""
			}
			if got := strings.Count(table, "<tr>") - strings.Count(table, "<thead><tr>"); got != tc.rows {
				t.Errorf("%d rows, want %d", got, tc.rows)
			}
		})
	}
}

func TestAuditRefusesAndRejects(t *testing.T) {
	c := newTrailConsole(t)
	admin := c.signIn(trailContosoAdmin)
	for _, tc := range []struct {
		path string
		code int
		says string
	}{
		{"/console/audit?tenant=fabrikam", http.StatusForbidden, ""},
		{"/console/audit?tenant=msp", http.StatusForbidden, ""},
		{"/console/audit/export?tenant=fabrikam", http.StatusForbidden, ""},
		{"/console/audit?since=yesterday", http.StatusBadRequest, "since: &#34;yesterday&#34; is not a date"},
		{"/console/audit?effect=maybe", http.StatusBadRequest, "effect &#34;maybe&#34;"},
		{"/console/audit/export?until=2026-13-01", http.StatusBadRequest, "until:"},
	} {
		rec := c.get(admin, tc.path)
		if rec.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.path, rec.Code, tc.code)
		}
		if ct := rec.Header().Get("Content-Type"); tc.code == http.StatusBadRequest && !strings.HasPrefix(tc.path, "/console/audit/export") && ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.path, ct)
		}
		if !strings.Contains(rec.Body.String(), tc.says) {
			t.Errorf("%s: the answer does not say %q:\n%s", tc.path, tc.says, rec.Body)
		}
		if m := markersOn(rec.Body.String()); strings.Contains(tc.path, "fabrikam") && len(m) > 0 {
			t.Errorf("%s shows %v", tc.path, m)
		}
	}
}

func TestAuditVerification(t *testing.T) {
	c := newTrailConsole(t)
	c.store.broken["fabrikam"] = errors.New("audit chain: record 3 does not follow record 2 <tampered>")
	body := c.get(c.signIn(trailTech), "/console/audit").Body.String()
	for _, w := range []string{
		"contoso: <span class=\"badge ok\">verified</span> 6 records",
		"msp: <span class=\"badge ok\">verified</span> 1 records",
		"fabrikam: <span class=\"badge bad\">FAILED</span>",
		"verification failed: audit chain: record 3 does not follow record 2 &lt;tampered&gt;",
		"northwind: <span class=\"badge warn\">no trail</span>",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("the audit page lacks %q", w)
		}
	}
	// Filtered on a tenant, only its chain is verified.
	one := c.get(c.signIn(trailTech), "/console/audit?tenant=fabrikam").Body.String()
	if !strings.Contains(one, "fabrikam: <span class=\"badge bad\">FAILED</span>") || strings.Contains(one, "contoso: <span") {
		t.Errorf("the chains filtered on fabrikam:\n%s", one)
	}
	// A tenant admin sees only their tenant's chain.
	adm := c.get(c.signIn(trailContosoAdmin), "/console/audit").Body.String()
	if strings.Contains(adm, "fabrikam") || !strings.Contains(adm, "contoso: <span class=\"badge ok\">verified</span>") {
		t.Errorf("the admin's chains:\n%s", adm)
	}
}

func TestAuditCapsRows(t *testing.T) {
	c := newTrailConsole(t)
	for i := range 600 {
		c.store.add(tierzero.AuditEvent{Time: trailT0.Add(time.Hour + time.Duration(i)*time.Second), Tenant: "contoso",
			Kind: tierzero.AuditError, Error: "bulk"})
	}
	body := c.get(c.signIn(trailContosoAdmin), "/console/audit?kind=error").Body.String()
	if !strings.Contains(body, "Showing the newest 500 of 600 matching records") {
		t.Errorf("no note of the cap")
	}
	if n := strings.Count(body, "<tr>") - 1; n != 500 {
		t.Errorf("%d rows, want 500", n)
	}
	// Newest first: the last record written is the first row.
	if i, j := strings.Index(body, "#606"), strings.Index(body, "#605"); i < 0 || j < 0 || i > j {
		t.Errorf("rows are not newest first (#606 at %d, #605 at %d)", i, j)
	}
	if strings.Contains(body, "#106<") {
		t.Errorf("a record past the cap is listed")
	}
}

func TestAuditExport(t *testing.T) {
	c := newTrailConsole(t)
	for _, tc := range []struct {
		name, upn, query string
		tenants          []tierzero.TenantID
		n                int
		disposition      string
	}{
		{"admin: contoso only", trailContosoAdmin, "", []tierzero.TenantID{"contoso"}, 6, `attachment; filename="tierzero-audit.jsonl"`},
		{"technician: every trail", trailTech, "", []tierzero.TenantID{"contoso", "fabrikam", "msp"}, 11, `attachment; filename="tierzero-audit.jsonl"`},
		{"technician: filtered", trailTech, "tenant=fabrikam&kind=message", []tierzero.TenantID{"fabrikam"}, 1, `attachment; filename="tierzero-audit-fabrikam.jsonl"`},
		{"admin: effect", trailContosoAdmin, "effect=allow", []tierzero.TenantID{"contoso"}, 2, `attachment; filename="tierzero-audit.jsonl"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := c.get(c.signIn(tc.upn), "/console/audit/export?"+tc.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/x-ndjson" {
				t.Errorf("Content-Type %q", got)
			}
			if got := rec.Header().Get("Content-Disposition"); got != tc.disposition {
				t.Errorf("Content-Disposition %q, want %q", got, tc.disposition)
			}
			var got []tierzero.AuditEvent
			sc := bufio.NewScanner(rec.Body)
			for sc.Scan() {
				var ev tierzero.AuditEvent
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				got = append(got, ev)
			}
			if len(got) != tc.n {
				t.Fatalf("%d lines, want %d", len(got), tc.n)
			}
			seen := map[tierzero.TenantID]bool{}
			for i, ev := range got {
				seen[ev.Tenant] = true
				found := false
				for _, tt := range tc.tenants {
					found = found || ev.Tenant == tt
				}
				if !found {
					t.Errorf("line %d is of tenant %s", i+1, ev.Tenant)
				}
				if i > 0 && got[i-1].Tenant == ev.Tenant && ev.Seq <= got[i-1].Seq {
					t.Errorf("line %d: a trail is not oldest first", i+1)
				}
			}
			if len(seen) != len(tc.tenants) {
				t.Errorf("tenants %v, want %v", seen, tc.tenants)
			}
		})
	}
	// A line is the record as stored, field for field.
	rec := c.get(c.signIn(trailContosoAdmin), "/console/audit/export?kind=decided&action=user.reset_password")
	want, _ := json.Marshal(c.store.audit["contoso"][2])
	if got := strings.TrimSpace(rec.Body.String()); got != string(want) {
		t.Errorf("export line\n%s\nwant\n%s", got, want)
	}
}
