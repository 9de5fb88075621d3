package eval

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// GraphChange is a change made in the simulator behind tierzero's back: a
// request to Graph as the tenant's own admin tools would send it (someone
// switching a Conditional Access policy off in the Entra admin center), for
// drift a baseline must find. In its path, {ca:NAME} is the id of the
// tenant's Conditional Access policy named NAME and {compliance:NAME} that
// of its compliance policy named NAME. It must succeed. Its journal entry
// is part of the world the run starts in, not of the run: the journal a
// trial is judged by starts after the scenario's changes.
type GraphChange struct {
	Method string `yaml:"method" json:"method"`
	Path   string `yaml:"path" json:"path"`
	Body   string `yaml:"body" json:"body,omitempty"`
}

// baselineRef is a {ca:NAME} or {compliance:NAME} template.
var baselineRef = regexp.MustCompile(`\{(ca|compliance):([^}]+)\}`)

// behind sends the change g to the simulator as tenant t's app.
func (e *env) behind(t tierzero.TenantID, g GraphChange) error {
	state, ok := e.sim.Baseline(string(t))
	if !ok {
		return fmt.Errorf("graph change: unknown tenant %q", t)
	}
	var missing []string
	path := baselineRef.ReplaceAllStringFunc(g.Path, func(m string) string {
		sub := baselineRef.FindStringSubmatch(m)
		objs := state.ConditionalAccess
		if sub[1] == "compliance" {
			objs = state.CompliancePolicies
		}
		for _, o := range objs {
			if n, _ := o["displayName"].(string); strings.EqualFold(n, sub[2]) {
				id, _ := o["id"].(string)
				return id
			}
		}
		missing = append(missing, m)
		return m
	})
	if len(missing) > 0 {
		return fmt.Errorf("graph change: no %s in %s", strings.Join(missing, ", "), t)
	}
	method := strings.ToUpper(g.Method)
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return fmt.Errorf("graph change: method %q is no write", g.Method)
	}
	if !strings.HasPrefix(path, "/v1.0/") {
		return fmt.Errorf("graph change: path %q is not under /v1.0/", path)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(g.Body))
	req.Header.Set("Authorization", "Bearer "+sim.Token(string(t)))
	if g.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.sim.ServeHTTP(rec, req)
	if rec.Code >= 400 {
		return fmt.Errorf("graph change: %s %s: status %d: %s", method, path, rec.Code, clip(rec.Body.String(), 300))
	}
	return nil
}

// journal is tenant t's journal since the scenario's changes: what the run
// (or the gold's replay) sent.
func (e *env) journal(t tierzero.TenantID) []sim.JournalEntry {
	j := e.sim.Journal(string(t))
	if n := e.journalFrom[t]; n <= len(j) {
		return j[n:]
	}
	return j
}
