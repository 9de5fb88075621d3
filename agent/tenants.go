package agent

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// TenantParam is the argument that names the client tenant of a call, in
// the tools offered to a requester who acts across tenants (an MSP
// technician): the agent takes it out of the arguments before the call is
// validated and decided, and puts it in ToolCall.Tenant.
const TenantParam = "tenant"

// acrossTenants returns the client tenants req may act in besides their
// own, sorted and without repeats; none for a requester of one tenant.
func (a *Agent) acrossTenants(req tierzero.Requester) []tierzero.TenantID {
	if a.cfg.Tenants == nil {
		return nil
	}
	var out []tierzero.TenantID
	for _, t := range a.cfg.Tenants(req) {
		if t != req.Tenant && tierzero.ValidTenantID(t) == nil && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// maxAcrossLists bounds the cache of tools rewritten for lists of tenants.
const maxAcrossLists = 256

// toolsAcross returns every tool, by action, with a required tenant
// argument, one of tenants (sorted). Technicians share few lists of tenants,
// so the rewritten tools are cached.
func (a *Agent) toolsAcross(tenants []tierzero.TenantID) map[string]Tool {
	key := tenantList(tenants)
	a.acrossMu.Lock()
	defer a.acrossMu.Unlock()
	if m, ok := a.acrossTools[key]; ok {
		return m
	}
	m := make(map[string]Tool, len(a.list))
	for _, t := range a.list {
		tool, err := withTenant(t.tool, tenants)
		if err != nil {
			a.log.Error("tool schema", "tool", t.spec.Action, "err", err)
			continue
		}
		m[t.spec.Action] = tool
	}
	if a.acrossTools == nil || len(a.acrossTools) >= maxAcrossLists {
		a.acrossTools = map[string]map[string]Tool{}
	}
	a.acrossTools[key] = m
	return m
}

// withTenant returns the tool's parameter schema with a required tenant
// argument, one of tenants.
func withTenant(t Tool, tenants []tierzero.TenantID) (Tool, error) {
	var s map[string]any
	if len(t.Parameters) > 0 {
		if err := json.Unmarshal(t.Parameters, &s); err != nil {
			return t, fmt.Errorf("tool %s: %w", t.Name, err)
		}
	}
	if s == nil {
		s = map[string]any{"type": "object"}
	}
	props, _ := s["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	enum := make([]string, len(tenants))
	for i, id := range tenants {
		enum[i] = string(id)
	}
	props[TenantParam] = map[string]any{
		"type": "string", "enum": enum,
		"description": "The client tenant to act in: the one the user names, or the one whose domain the user's email address is in.",
	}
	s["properties"] = props
	req, _ := s["required"].([]any)
	s["required"] = append([]any{TenantParam}, req...)
	b, err := json.Marshal(s)
	if err != nil {
		return t, fmt.Errorf("tool %s: %w", t.Name, err)
	}
	t.Parameters = b
	return t, nil
}

// splitTenant takes the tenant argument out of canonical arguments. It
// returns the tenant and the canonical arguments without it.
func splitTenant(args json.RawMessage, tenants []tierzero.TenantID) (tierzero.TenantID, json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil || m == nil {
		return "", nil, tierzero.Errorf(tierzero.EInvalid, "arguments must be a JSON object")
	}
	raw, ok := m[TenantParam]
	if !ok {
		return "", nil, tierzero.Errorf(tierzero.EInvalid, "missing required property %q (one of %s)", TenantParam, tenantList(tenants))
	}
	var t string
	if json.Unmarshal(raw, &t) != nil || !slices.Contains(tenants, tierzero.TenantID(t)) {
		return "", nil, tierzero.Errorf(tierzero.EInvalid, "%s must be one of %s", TenantParam, tenantList(tenants))
	}
	delete(m, TenantParam)
	b, err := json.Marshal(m)
	if err != nil {
		return "", nil, err
	}
	canon, err := tierzero.CanonicalArgs(b)
	return tierzero.TenantID(t), canon, err
}

// joinTenant puts a call's tenant back among its arguments, as the model
// proposed it.
func joinTenant(c tierzero.ToolCall) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(c.Args, &m) != nil || m == nil {
		return c.Args
	}
	m[TenantParam], _ = json.Marshal(string(c.Tenant))
	b, err := json.Marshal(m)
	if err != nil {
		return c.Args
	}
	return b
}

func tenantList(ts []tierzero.TenantID) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// tenantOf is the tenant a call acts in.
func (r *request) tenantOf(c tierzero.ToolCall) tierzero.TenantID {
	if c.Tenant != "" {
		return c.Tenant
	}
	return r.tenant
}

// acrossPrompt tells the model how to work across tenants.
func acrossPrompt(tenants []tierzero.TenantID) string {
	return fmt.Sprintf(`
Working across tenants: this requester is an MSP technician who may act in the client tenants %s. Every tool takes a "%s" argument naming the client tenant to act in: use the tenant the technician names, or the one whose domain the user's email address is in; ask when you cannot tell. Every call you propose, reads included, is shown to the technician as a plan and runs only after they confirm, so propose all the calls of a step together.`,
		tenantList(tenants), TenantParam)
}

// ToolTenants returns, for each tool that takes a tenant argument (the
// tools offered to an MSP technician), the tenants its schema allows: what
// a model reads to choose the tenant of a call.
func ToolTenants(tools []Tool) map[string][]string {
	out := map[string][]string{}
	for _, t := range tools {
		if isPseudo(t.Name) || len(t.Parameters) == 0 {
			continue
		}
		var v struct {
			Properties map[string]struct {
				Enum []any `json:"enum"`
			} `json:"properties"`
		}
		if json.Unmarshal(t.Parameters, &v) != nil {
			continue
		}
		p, ok := v.Properties[TenantParam]
		if !ok {
			continue
		}
		ids := []string{}
		for _, e := range p.Enum {
			if id, ok := e.(string); ok && strings.TrimSpace(id) != "" {
				ids = append(ids, id)
			}
		}
		out[t.Name] = ids
	}
	return out
}

// TenantOfUser returns the tenant among tenants that a label of the user
// principal name's domain names ("noah@fabrikam.com", "x@contoso.onmicrosoft.com"),
// or "".
func TenantOfUser(upn string, tenants []string) string {
	at := strings.LastIndexByte(upn, '@')
	if at < 0 {
		return ""
	}
	for _, label := range strings.Split(upn[at+1:], ".") {
		for _, id := range tenants {
			if strings.EqualFold(label, id) {
				return id
			}
		}
	}
	return ""
}
