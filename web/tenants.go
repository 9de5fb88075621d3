package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// The tenants page: per tenant the viewer sees, its Graph credential
// status, capabilities (Entra ID P1, P2), the chat channels installed, its
// last activity, the policy layers in effect and its baseline (in line or
// its drift, as serve's drift watch last found it); and the web's `tierzero
// policy check`: a request decided by the policy in effect, shown under
// the tenant's card.

// cardCapsTimeout bounds the Graph call that reads a tenant's
// capabilities; past it they show as unknown.
const cardCapsTimeout = 3 * time.Second

// maxCheckRequest bounds the request of a policy check.
const maxCheckRequest = 32 << 10

// tenantCard is one tenant as the page shows it.
type tenantCard struct {
	Tenant       tierzero.TenantID
	Credentials  string // "" when they work
	P1, P2       string // "yes", "no" or "unknown"
	Channels     []string
	LastActivity time.Time
	Layers       []string
	Request      string
	Check        *checkResult
	Baseline     *baselineCard // nil: no drift watch, or not checked yet
}

// baselineCard is a tenant's baseline state as the card shows it: in line,
// or its differences, and when it was checked.
type baselineCard struct {
	Tenant  tierzero.TenantID
	InLine  bool
	Count   int
	Drift   []BaselineDrift // printable
	Checked time.Time
	Since   time.Time
	Problem string

	// Awaiting are the items that await the enable phase (printable).
	Awaiting []BaselineDrift
}

// baselineCardOf is the card of a tenant's baseline state; nil when there
// is none to show.
func (s *Server) baselineCardOf(t tierzero.TenantID) *baselineCard {
	if s.cfg.Baselines == nil {
		return nil
	}
	st, ok := s.cfg.Baselines.Baseline(t)
	if !ok {
		return nil
	}
	c := &baselineCard{Tenant: t, InLine: st.Known && len(st.Drift) == 0, Count: len(st.Drift), Checked: st.Checked, Since: st.Since,
		Problem: tierzero.PrintableLine(st.Problem)}
	printable := func(d BaselineDrift) BaselineDrift {
		return BaselineDrift{Kind: tierzero.PrintableLine(d.Kind), Resource: tierzero.PrintableLine(d.Resource),
			Name: tierzero.PrintableLine(d.Name), Why: tierzero.PrintableLine(d.Why)}
	}
	for _, d := range st.Drift {
		c.Drift = append(c.Drift, printable(d))
	}
	for _, d := range st.Awaiting {
		c.Awaiting = append(c.Awaiting, printable(d))
	}
	if !st.Known {
		c.InLine = false
	}
	return c
}

// checkResult is a policy check's answer: the decision or why the request
// could not be decided.
type checkResult struct {
	Problem     string
	Effect      string
	EffectClass string
	Layer       string
	File        string
	Rule        string
	Reason      string
	Approvers   []string
	Count       int
	Expires     string
	Facts       []factRow
}

type tenantsData struct {
	Cards []tenantCard
}

func (s *Server) tenants(w http.ResponseWriter, r *http.Request, v *Viewer) {
	s.renderTenants(w, r, v, http.StatusOK, "", "", nil)
}

// renderTenants shows the tenants page; the card of tenant checked shows
// request as typed and the check's result.
func (s *Server) renderTenants(w http.ResponseWriter, r *http.Request, v *Viewer, status int, checked tierzero.TenantID, request string, res *checkResult) {
	ctx := r.Context()
	probs := s.cfg.Desk.Problems()
	cards := make([]tenantCard, len(v.Tenants))
	var wg sync.WaitGroup
	for i, t := range v.Tenants {
		c := &cards[i]
		c.Tenant, c.P1, c.P2 = t, "unknown", "unknown"
		if p, ok := probs[t]; ok {
			c.Credentials = tierzero.PrintableLine(p)
			if c.Credentials == "" {
				c.Credentials = "failing"
			}
		}
		for _, ch := range s.cfg.Channels[t] {
			c.Channels = append(c.Channels, tierzero.PrintableLine(string(ch)))
		}
		for _, l := range s.cfg.Policy.Layers(t) {
			c.Layers = append(c.Layers, tierzero.PrintableLine(l))
		}
		c.Request = s.exampleCheckRequest(t)
		c.Baseline = s.baselineCardOf(t)
		if t == checked {
			c.Request, c.Check = request, res
		}
		if s.cfg.Graph != nil {
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, cardCapsTimeout)
				defer cancel()
				p1, p2, err := s.cfg.Graph.Capabilities(cctx, t)
				if err != nil {
					s.log.Warn("console: capabilities", "tenant", t, "err", err)
					return
				}
				c.P1, c.P2 = yesNoUnknown(p1), yesNoUnknown(p2)
			})
		}
		// The latest record is the trail's last; the trail is read whole.
		err := s.readTrail(ctx, t, time.Time{}, func(ev tierzero.AuditEvent) error {
			if ev.Time.After(c.LastActivity) {
				c.LastActivity = ev.Time
			}
			return nil
		})
		if err != nil {
			s.log.Warn("console: last activity", "tenant", t, "err", err)
		}
	}
	wg.Wait()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	s.render(w, r, v, "tenants", page{Title: "Tenants", Data: tenantsData{Cards: cards}})
}

func yesNoUnknown(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// exampleCheckRequest is a request for tenant t in the format of `tierzero
// policy check`, to start from: an employee resetting their own password.
func (s *Server) exampleCheckRequest(t tierzero.TenantID) string {
	domain := string(t) + ".example"
	for _, a := range s.cfg.Staff.Admins[t] {
		if i := strings.LastIndexByte(a, '@'); i >= 0 && i < len(a)-1 {
			domain = a[i+1:]
			break
		}
	}
	upn := "adele@" + domain
	req := map[string]any{
		"tenant": t, "action": "user.reset_password", "channel": "teams",
		"time":      s.cfg.Now().UTC().Truncate(time.Second).Format(time.RFC3339),
		"requester": map[string]any{"upn": upn, "department": "Marketing", "groups": []string{}, "role": "employee"},
		"target": map[string]any{"upn": upn, "department": "Marketing", "groups": []string{}, "admin_roles": []string{},
			"risk": "none"},
		"args":    map[string]any{"user": upn},
		"history": map[string]any{"count_today": 0},
	}
	b, _ := json.MarshalIndent(req, "", "  ")
	return string(b)
}

// policyCheck decides the request of the form (fields tenant, request)
// with the policy in effect and shows the decision under the tenant's card.
// The form's tenant and the request's own must be tenants the viewer sees.
// Nothing runs: a decision is all it is.
func (s *Server) policyCheck(w http.ResponseWriter, r *http.Request, v *Viewer) {
	t := tierzero.TenantID(r.PostForm.Get("tenant"))
	if !v.Sees(t) {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	request := r.PostForm.Get("request")
	if len(request) > maxCheckRequest {
		s.renderTenants(w, r, v, http.StatusRequestEntityTooLarge, t, "", &checkResult{Problem: "The request is too long (at most 32 KiB)."})
		return
	}
	request = strings.ReplaceAll(request, "\r\n", "\n")
	// The request names its tenant: read it first when it is JSON, so that
	// another tenant is refused before anything is evaluated.
	var head struct {
		Tenant *string `json:"tenant"`
	}
	if json.Unmarshal([]byte(request), &head) == nil && head.Tenant != nil && !v.Sees(tierzero.TenantID(*head.Tenant)) {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	d, err := s.cfg.Policy.Check([]byte(request))
	if err != nil {
		s.renderTenants(w, r, v, http.StatusBadRequest, t, request, &checkResult{Problem: tierzero.Printable(err.Error())})
		return
	}
	// Whatever the format (YAML too), the decision says which tenant it
	// decided for; none said is refused as well.
	if dt, ok := d.Facts["tenant"]; !ok || !v.Sees(tierzero.TenantID(dt)) {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	s.log.Info("console policy check", "user", v.UPN, "tenant", t, "effect", d.Effect, "rule", d.Rule)
	s.renderTenants(w, r, v, http.StatusOK, t, request, checkResultOf(d))
}

// checkResultOf is a decision as the page shows it.
func checkResultOf(d tierzero.Decision) *checkResult {
	res := &checkResult{
		Effect: tierzero.PrintableLine(string(d.Effect)), EffectClass: effectBadge(d.Effect),
		Layer: tierzero.PrintableLine(d.Layer), File: tierzero.PrintableLine(d.File), Rule: tierzero.PrintableLine(d.Rule),
		Reason: tierzero.PrintableLine(d.Reason), Count: d.Count, Facts: factRowsOf(d.Facts),
	}
	for _, a := range d.Approvers {
		res.Approvers = append(res.Approvers, tierzero.PrintableLine(a))
	}
	if d.Expires > 0 {
		res.Expires = d.Expires.String()
	}
	if res.Effect == "" {
		res.Problem = "The policy did not decide."
	}
	return res
}
