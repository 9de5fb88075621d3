package sim

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// This file: Microsoft 365 service health (admin/serviceAnnouncement),
// as learn.microsoft.com/graph/api/serviceannouncement-list-healthoverviews
// and serviceannouncement-list-issues describe it. Every tenant sees the
// same seeded picture: Exchange Online degraded by an open incident about
// Outlook on the web, a resolved Teams advisory, the other services
// operational. Times are relative to the clock, to the hour, so that an
// incident is always current.

var healthRoutes = []route{
	{http.MethodGet, "admin/serviceAnnouncement/healthOverviews", (*Server).listHealthOverviews},
	{http.MethodGet, "admin/serviceAnnouncement/issues", (*Server).listServiceIssues},
}

// healthServices are the seeded services: id, name and status.
var healthServices = [][3]string{
	{"Exchange", "Exchange Online", "serviceDegradation"},
	{"microsoftteams", "Microsoft Teams", "serviceOperational"},
	{"SharePoint", "SharePoint Online", "serviceOperational"},
	{"OneDriveForBusiness", "OneDrive for Business", "serviceOperational"},
	{"OrgLiveID", "Microsoft Entra", "serviceOperational"},
	{"Intune", "Microsoft Intune", "serviceOperational"},
	{"O365Client", "Microsoft 365 apps", "serviceOperational"},
	{"OSDPPlatform", "Microsoft 365 suite", "serviceOperational"},
}

// serviceIssue is one seeded serviceHealthIssue.
type serviceIssue struct {
	id, service, title, impact, classification, status, feature, featureGroup string
	started, modified, ended                                                  time.Duration // before now; ended 0: open
	post                                                                      string
}

var serviceIssues = []serviceIssue{
	{id: "EX912345", service: "Exchange Online", classification: "incident", status: "serviceDegradation",
		title:   "Some users can't send or receive email in Outlook on the web",
		impact:  "Users may be unable to send or receive email messages when using Outlook on the web; Outlook desktop and mobile clients are not affected.",
		feature: "Outlook on the web", featureGroup: "E-Mail and calendar access",
		started: 3 * time.Hour, modified: 25 * time.Minute,
		post: "<p>We've identified a recent configuration change that is causing delays in message delivery for Outlook on the web, and we're reverting it. Next update within two hours.</p>"},
	{id: "TM887766", service: "Microsoft Teams", classification: "advisory", status: "serviceRestored",
		title:   "Users may see delays when joining Teams meetings",
		impact:  "Users may have experienced delays of up to a minute when joining Teams meetings.",
		feature: "Teams Components", featureGroup: "Meetings",
		started: 30 * time.Hour, modified: 20 * time.Hour, ended: 21 * time.Hour,
		post: "<p>We've confirmed that the fix has resolved the impact.</p>"},
}

func (x serviceIssue) json(now time.Time) map[string]any {
	var end any
	if x.ended != 0 {
		end = graphTime(now.Add(-x.ended))
	}
	return map[string]any{
		"startDateTime":        graphTime(now.Add(-x.started)),
		"endDateTime":          end,
		"lastModifiedDateTime": graphTime(now.Add(-x.modified)),
		"title":                x.title,
		"id":                   x.id,
		"impactDescription":    x.impact,
		"classification":       x.classification,
		"origin":               "microsoft",
		"status":               x.status,
		"service":              x.service,
		"feature":              x.feature,
		"featureGroup":         x.featureGroup,
		"isResolved":           x.ended != 0,
		"highImpact":           nil,
		"details":              []any{},
		"posts": []any{map[string]any{
			"createdDateTime": graphTime(now.Add(-x.modified)),
			"postType":        "regular",
			"description":     map[string]any{"contentType": "html", "content": x.post},
		}},
	}
}

// healthNow is the time the seeded picture is relative to.
func (s *Server) healthNow() time.Time { return s.now().UTC().Truncate(time.Hour) }

// listHealthOverviews serves GET admin/serviceAnnouncement/healthOverviews,
// with $expand=issues.
func (s *Server) listHealthOverviews(c *call) reply {
	expand := c.query.Get("$expand")
	if expand != "" && !strings.EqualFold(expand, "issues") {
		return badRequest("Could not find a property named '" + expand + "' on type 'microsoft.graph.serviceHealth'.")
	}
	now := s.healthNow()
	items := make([]any, 0, len(healthServices))
	for _, h := range healthServices {
		m := map[string]any{"service": h[1], "status": h[2], "id": h[0]}
		if expand != "" {
			issues := []any{}
			for _, x := range serviceIssues {
				if x.service == h[1] {
					issues = append(issues, x.json(now))
				}
			}
			m["issues"] = issues
		}
		items = append(items, m)
	}
	c.query.Del("$expand") // served above; the window refuses it
	return collectionOf(c, items, "admin/serviceAnnouncement/healthOverviews", 100)
}

var issueFilter = regexp.MustCompile(`(?i)^\s*isResolved\s+eq\s+(true|false)\s*$`)

// listServiceIssues serves GET admin/serviceAnnouncement/issues, with
// $filter=isResolved eq true|false.
func (s *Server) listServiceIssues(c *call) reply {
	keep := func(serviceIssue) bool { return true }
	if f := c.query.Get("$filter"); f != "" {
		m := issueFilter.FindStringSubmatch(f)
		if m == nil {
			return fail(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		}
		want := strings.EqualFold(m[1], "true")
		keep = func(x serviceIssue) bool { return (x.ended != 0) == want }
	}
	now := s.healthNow()
	items := []any{}
	for _, x := range serviceIssues {
		if keep(x) {
			items = append(items, x.json(now))
		}
	}
	return collectionOf(c, items, "admin/serviceAnnouncement/issues", 100)
}
