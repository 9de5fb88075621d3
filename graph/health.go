package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/microsoftgraph/msgraph-sdk-go/admin"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// This file: Microsoft 365 service health, "is Outlook down?": the health
// overview of each service and its open issues (incidents and advisories),
// from admin/serviceAnnouncement (ServiceHealth.Read.All).

// ActionServiceHealth is the action name of the service health tool.
const ActionServiceHealth = "service.health"

// Bounds of the service health tool.
const (
	healthServiceMax = 80   // characters of a service name asked for
	healthIssuesMax  = 10   // open issues shown per service
	healthPostMax    = 600  // characters of an issue's latest update
	healthPages      = 5    // pages of overviews or issues read at most
	healthPage       = 100  // items per page
	healthTextMax    = 1000 // characters of any other text of an issue
)

var healthTools = []tool{
	{spec: tierzero.ToolSpec{
		Action: ActionServiceHealth,
		Description: "Is a Microsoft 365 service down? The health of Microsoft 365 services (Exchange Online for Outlook and email, Microsoft Teams, SharePoint Online, OneDrive, Microsoft Entra for sign-in, Intune...) " +
			"and their open incidents and advisories: title, impact, status, when it started, the latest update. Without a service: every service that has a problem.",
		Risk: tierzero.RiskRead,
		Schema: json.RawMessage(`{"type":"object","properties":{` +
			`"service":{"type":"string","minLength":1,"maxLength":80,"description":"A service or product, e.g. \"Outlook\", \"Exchange Online\", \"Teams\", \"SharePoint\"; omit for all."}},` +
			`"additionalProperties":false}`),
	}, run: serviceHealth},
}

// serviceAliases map what people call a product to the service that runs
// it, in lower case.
var serviceAliases = map[string]string{
	"outlook": "exchange online", "email": "exchange online", "mail": "exchange online", "e-mail": "exchange online",
	"exchange": "exchange online", "calendar": "exchange online", "owa": "exchange online",
	"teams": "microsoft teams", "sharepoint": "sharepoint online", "onedrive": "onedrive for business",
	"sign-in": "microsoft entra", "login": "microsoft entra", "entra": "microsoft entra", "azure ad": "microsoft entra",
	"intune": "microsoft intune", "office": "microsoft 365 apps", "word": "microsoft 365 apps", "excel": "microsoft 365 apps",
}

// serviceIssue is an open issue as the model sees it.
type serviceIssue struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	Classification string `json:"classification"` // incident or advisory
	Status         string `json:"status"`
	Feature        string `json:"feature,omitempty"`
	Impact         string `json:"impact,omitempty"`
	Started        string `json:"started,omitempty"` // RFC 3339
	LastUpdated    string `json:"lastUpdated,omitempty"`
	LatestUpdate   string `json:"latestUpdate,omitempty"` // the latest post, as plain text
}

// serviceStatus is one service's health as the model sees it.
type serviceStatus struct {
	Service    string         `json:"service"`
	Status     string         `json:"status"` // Graph's serviceHealthStatus, e.g. serviceOperational, serviceDegradation
	Healthy    bool           `json:"healthy"`
	OpenIssues []serviceIssue `json:"openIssues"`
}

type healthArgs struct {
	Service string `json:"service"`
}

func serviceHealth(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeArgs[healthArgs](raw)
	if err != nil {
		return nil, noSecret, err
	}
	a.Service = strings.TrimSpace(a.Service)
	if a.Service != "" {
		if err := checkGroupText("service", a.Service, healthServiceMax); err != nil {
			return nil, noSecret, err
		}
	}
	ad, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	base := map[string]string{"baseurl": ad.GetBaseUrl()}
	top := int32(healthPage)
	ob := admin.NewServiceAnnouncementHealthOverviewsRequestBuilderInternal(base, ad)
	resp, err := ob.Get(ctx, &admin.ServiceAnnouncementHealthOverviewsRequestBuilderGetRequestConfiguration{
		QueryParameters: &admin.ServiceAnnouncementHealthOverviewsRequestBuilderGetQueryParameters{Top: &top},
	})
	var services []serviceStatus
	_, err = eachPage(c, resp, err, func(link string) (models.ServiceHealthCollectionResponseable, error) {
		return ob.WithUrl(link).Get(ctx, nil)
	}, healthPages, func(hs []models.ServiceHealthable) {
		for _, h := range hs {
			st := healthStatus(h.GetStatus())
			services = append(services, serviceStatus{Service: str(h.GetService()), Status: st, Healthy: healthy(st), OpenIssues: []serviceIssue{}})
		}
	})
	if err != nil {
		return nil, noSecret, healthError(pageError("read service health", err))
	}
	ib := admin.NewServiceAnnouncementIssuesRequestBuilderInternal(base, ad)
	filter := "isResolved eq false"
	issues, err := ib.Get(ctx, &admin.ServiceAnnouncementIssuesRequestBuilderGetRequestConfiguration{
		QueryParameters: &admin.ServiceAnnouncementIssuesRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
	})
	_, err = eachPage(c, issues, err, func(link string) (models.ServiceHealthIssueCollectionResponseable, error) {
		return ib.WithUrl(link).Get(ctx, nil)
	}, healthPages, func(xs []models.ServiceHealthIssueable) {
		for _, x := range xs {
			i := slices.IndexFunc(services, func(s serviceStatus) bool { return strings.EqualFold(s.Service, str(x.GetService())) })
			if i < 0 || groupBool(x.GetIsResolved()) || len(services[i].OpenIssues) == healthIssuesMax {
				continue
			}
			services[i].OpenIssues = append(services[i].OpenIssues, summarizeIssue(x))
		}
	})
	if err != nil {
		return nil, noSecret, healthError(pageError("read service issues", err))
	}
	out := struct {
		Asked    string          `json:"asked,omitempty"`
		Services []serviceStatus `json:"services"`
		AllOK    bool            `json:"allOperational,omitempty"` // no service has a problem
		Note     string          `json:"note,omitempty"`
	}{Asked: a.Service, Services: []serviceStatus{}}
	if a.Service != "" {
		out.Services = matchServices(services, a.Service)
		if len(out.Services) == 0 {
			names := make([]string, len(services))
			for i, s := range services {
				names[i] = s.Service
			}
			out.Note = "no Microsoft 365 service matches; the services are: " + strings.Join(names, ", ")
		}
		return out, noSecret, nil
	}
	for _, s := range services {
		if !s.Healthy || len(s.OpenIssues) > 0 {
			out.Services = append(out.Services, s)
		}
	}
	out.AllOK = len(out.Services) == 0
	return out, noSecret, nil
}

// matchServices returns the services named by what the requester asked:
// the service a product runs on, else a name that contains it.
func matchServices(services []serviceStatus, asked string) []serviceStatus {
	q := strings.ToLower(asked)
	if s, ok := serviceAliases[q]; ok {
		q = s
	}
	out := []serviceStatus{}
	for _, s := range services {
		if strings.EqualFold(s.Service, q) {
			return []serviceStatus{s}
		}
		if strings.Contains(strings.ToLower(s.Service), q) {
			out = append(out, s)
		}
	}
	return out
}

func healthStatus(p *models.ServiceHealthStatus) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}

// healthy reports whether a serviceHealthStatus means the service works.
func healthy(status string) bool {
	switch status {
	case "serviceOperational", "serviceRestored", "falsePositive", "resolved", "resolvedExternal", "postIncidentReviewPublished":
		return true
	}
	return false
}

func summarizeIssue(x models.ServiceHealthIssueable) serviceIssue {
	si := serviceIssue{
		ID:      clipText(str(x.GetId()), 40),
		Title:   clipText(str(x.GetTitle()), healthTextMax),
		Feature: clipText(str(x.GetFeature()), 200),
		Impact:  clipText(str(x.GetImpactDescription()), healthTextMax),
		Status:  healthStatus(x.GetStatus()),
	}
	if p := x.GetClassification(); p != nil {
		si.Classification = p.String()
	}
	if t := x.GetStartDateTime(); t != nil {
		si.Started = t.UTC().Format(time.RFC3339)
	}
	if t := x.GetLastModifiedDateTime(); t != nil {
		si.LastUpdated = t.UTC().Format(time.RFC3339)
	}
	var latest time.Time
	for _, p := range x.GetPosts() {
		t := p.GetCreatedDateTime()
		if t == nil || t.Before(latest) {
			continue
		}
		latest = *t
		if d := p.GetDescription(); d != nil {
			si.LatestUpdate = clipText(plainText(str(d.GetContent())), healthPostMax)
		}
	}
	return si
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// plainText turns a post's HTML into plain text: tags dropped, entities
// decoded, spaces folded.
func plainText(s string) string {
	s = html.UnescapeString(htmlTag.ReplaceAllString(s, " "))
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// clipText cuts s to at most n characters, dropping control characters.
func clipText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// healthError says in plain words what a refused service health read
// lacks.
func healthError(err error) error {
	if tierzero.ErrorCode(err) == tierzero.EUnauthorized {
		return fmt.Errorf("%w: %w", tierzero.Errorf(tierzero.EUnauthorized, "Microsoft Graph refused to read service health: the app needs the ServiceHealth.Read.All permission"), err)
	}
	return err
}
