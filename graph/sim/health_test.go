package sim

import (
	"net/http"
	"testing"
)

// Service health as learn.microsoft.com/graph/api/serviceannouncement-list-healthoverviews
// and serviceannouncement-list-issues answer it: serviceHealth {service,
// status, id}, with $expand=issues; serviceHealthIssue with isResolved,
// classification, status, posts.
func TestServiceHealth(t *testing.T) {
	srv, _ := newTest(t)
	r := do(t, srv, request{path: "/v1.0/admin/serviceAnnouncement/healthOverviews", tenant: "contoso"})
	vals, _ := r.json["value"].([]any)
	if r.status != http.StatusOK || len(vals) != len(healthServices) {
		t.Fatalf("overviews: %d %s", r.status, r.raw)
	}
	if h := vals[0].(map[string]any); h["service"] != "Exchange Online" || h["status"] != "serviceDegradation" || h["id"] != "Exchange" || h["issues"] != nil {
		t.Errorf("overview = %v", h)
	}
	r = do(t, srv, request{path: "/v1.0/admin/serviceAnnouncement/healthOverviews?$expand=issues", tenant: "contoso"})
	vals, _ = r.json["value"].([]any)
	if issues, _ := vals[0].(map[string]any)["issues"].([]any); r.status != http.StatusOK || len(issues) != 1 {
		t.Errorf("expanded: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/admin/serviceAnnouncement/issues?$filter=isResolved%20eq%20false", tenant: "contoso"})
	vals, _ = r.json["value"].([]any)
	if r.status != http.StatusOK || len(vals) != 1 {
		t.Fatalf("open issues: %d %s", r.status, r.raw)
	}
	x := vals[0].(map[string]any)
	if x["service"] != "Exchange Online" || x["isResolved"] != false || x["classification"] != "incident" || x["endDateTime"] != nil || x["startDateTime"] != "2026-11-02T06:00:00Z" {
		t.Errorf("issue = %v", x)
	}
	r = do(t, srv, request{path: "/v1.0/admin/serviceAnnouncement/issues", tenant: "fabrikam"})
	if vals, _ := r.json["value"].([]any); len(vals) != 2 {
		t.Errorf("all issues: %s", r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/admin/serviceAnnouncement/issues?$filter=service%20eq%20'Exchange'", tenant: "contoso"})
	if r.status != http.StatusBadRequest {
		t.Errorf("unsupported filter: %d", r.status)
	}
}
