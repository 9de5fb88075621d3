package graph_test

import (
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

type healthOut struct {
	Asked    string `json:"asked"`
	Services []struct {
		Service    string `json:"service"`
		Status     string `json:"status"`
		Healthy    bool   `json:"healthy"`
		OpenIssues []struct {
			ID             string `json:"id"`
			Title          string `json:"title"`
			Classification string `json:"classification"`
			Status         string `json:"status"`
			Feature        string `json:"feature"`
			Impact         string `json:"impact"`
			Started        string `json:"started"`
			LastUpdated    string `json:"lastUpdated"`
			LatestUpdate   string `json:"latestUpdate"`
		} `json:"openIssues"`
	} `json:"services"`
	AllOK bool   `json:"allOperational"`
	Note  string `json:"note"`
}

// "Is Outlook down?": the health overviews and open issues of
// admin/serviceAnnouncement (learn.microsoft.com/graph/api/
// serviceannouncement-list-healthoverviews, serviceannouncement-list-issues;
// ServiceHealth.Read.All). Outlook runs on Exchange Online.
func TestServiceHealthTool(t *testing.T) {
	f := newFixture(t)
	res, err := groupsExec(t, f, "contoso", graph.ActionServiceHealth, map[string]string{"service": "Outlook"})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeOut[healthOut](t, res)
	if len(got.Services) != 1 {
		t.Fatalf("outlook = %+v", got)
	}
	ex := got.Services[0]
	if ex.Service != "Exchange Online" || ex.Status != "serviceDegradation" || ex.Healthy || len(ex.OpenIssues) != 1 {
		t.Fatalf("exchange = %+v", ex)
	}
	x := ex.OpenIssues[0]
	if x.ID != "EX912345" || x.Classification != "incident" || !strings.Contains(x.Title, "Outlook on the web") ||
		x.Started == "" || x.LastUpdated == "" || !strings.HasPrefix(x.LatestUpdate, "We've identified") || strings.Contains(x.LatestUpdate, "<p>") {
		t.Errorf("issue = %+v", x)
	}

	res, err = groupsExec(t, f, "contoso", graph.ActionServiceHealth, map[string]string{"service": "Teams"})
	if got := decodeOut[healthOut](t, res); err != nil || len(got.Services) != 1 || !got.Services[0].Healthy || len(got.Services[0].OpenIssues) != 0 {
		t.Errorf("teams = %+v, %v (its advisory is resolved)", got, err)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionServiceHealth, map[string]any{})
	if got := decodeOut[healthOut](t, res); err != nil || got.AllOK || len(got.Services) != 1 || got.Services[0].Service != "Exchange Online" {
		t.Errorf("all = %+v, %v; want Exchange Online alone", got, err)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionServiceHealth, map[string]string{"service": "Minecraft"})
	if got := decodeOut[healthOut](t, res); err != nil || len(got.Services) != 0 || !strings.Contains(got.Note, "Exchange Online") {
		t.Errorf("unknown service = %+v, %v", got, err)
	}
}

// Without ServiceHealth.Read.All Graph answers 403: the tool says which
// permission is missing.
func TestServiceHealthToolForbidden(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "GET", Path: "/v1.0/admin/serviceAnnouncement/healthOverviews", Kind: sim.FaultError, Status: 403, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := groupsExec(t, f, "contoso", graph.ActionServiceHealth, map[string]string{"service": "Outlook"})
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "ServiceHealth.Read.All") {
		t.Errorf("err = %v", err)
	}
}
