package agent

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// mspTech works from the MSP's own tenant.
var mspTech = tierzero.Requester{Tenant: "msp", UPN: "tess@msp.example", DisplayName: "Tess", Role: tierzero.RoleMSPTechnician, Channel: tierzero.ChannelConsole}

// across lets technicians act in contoso and fabrikam (their own tenant and
// an invalid id are dropped by the agent).
func across(c *Config) {
	c.Tenants = func(req tierzero.Requester) []tierzero.TenantID {
		if req.Role != tierzero.RoleMSPTechnician {
			return nil
		}
		return []tierzero.TenantID{"fabrikam", "msp", "Not A Tenant", "contoso", "fabrikam"}
	}
}

func TestAcrossTenantsEveryCallIsConfirmed(t *testing.T) {
	m := &scripted{answers: []Response{
		{Text: "Let me look at both accounts.", ToolCalls: []tierzero.ToolCall{
			call("r1", "user_signins", `{"user":"alex@fabrikam.com","tenant":"fabrikam","top":5}`),
			call("r2", "user_signins", `{"tenant":"contoso","user":"adele@contoso.com"}`),
		}},
		{Text: "Both show sign-ins from an unknown country.", ToolCalls: []tierzero.ToolCall{
			call("w1", "user_revoke_sessions", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`),
			call("w2", "user_revoke_sessions", `{"user":"adele@contoso.com","tenant":"contoso"}`),
		}},
		{Text: "Both are signed out everywhere."},
	}}
	f := newFixture(t, m, across)

	reply := f.send(t, mspTech, "m1", "Alex (fabrikam) and Adele (contoso) may be hacked: sign them out")
	if n := len(f.runner.Calls()); n != 0 {
		t.Fatalf("reads into client tenants ran before confirmation: %d calls", n)
	}
	for _, want := range []string{"Here is what I'm about to do", "- in fabrikam: read the recent sign-ins of alex@fabrikam.com", "- in contoso: read the recent sign-ins of adele@contoso.com", `Reply "yes"`} {
		if !strings.Contains(reply.Text, want) {
			t.Fatalf("plan = %q, want it to contain %q", reply.Text, want)
		}
	}
	// The model was offered every tool with a required tenant, one of the
	// client tenants only.
	first := m.seen[0]
	if !strings.Contains(first.System, "contoso, fabrikam") {
		t.Errorf("system prompt does not name the tenants: %q", first.System)
	}
	for _, tool := range first.Tools {
		var s struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
			Required []string `json:"required"`
		}
		if err := json.Unmarshal(tool.Parameters, &s); err != nil {
			t.Fatal(err)
		}
		if isPseudo(tool.Name) {
			if _, ok := s.Properties[TenantParam]; ok {
				t.Errorf("%s takes a tenant", tool.Name)
			}
			continue
		}
		if got := strings.Join(s.Properties[TenantParam].Enum, ","); got != "contoso,fabrikam" || !slices.Contains(s.Required, TenantParam) {
			t.Fatalf("tool %s: tenant enum %q, required %v; want contoso,fabrikam and required", tool.Name, got, s.Required)
		}
	}
	conv := f.store.Saved("msp", "m1")
	plan := conv.Turns[len(conv.Turns)-1]
	if plan.Role != tierzero.TurnPlan || len(plan.ToolCalls) != 2 || plan.ToolCalls[0].Tenant != "fabrikam" || string(plan.ToolCalls[0].Args) != `{"top":5,"user":"alex@fabrikam.com"}` {
		t.Fatalf("saved plan = %+v, want both reads with their tenants and the tenant out of the arguments", plan)
	}

	reply = f.send(t, mspTech, "m1", "yes")
	if got, want := f.runner.Tenants(), []tierzero.TenantID{"fabrikam", "contoso"}; !slices.Equal(got, want) {
		t.Fatalf("after yes the runner ran in %v, want %v", got, want)
	}
	if got := string(f.runner.Calls()[1].Args); got != `{"user":"adele@contoso.com"}` {
		t.Fatalf("runner args = %s, want the tenant taken out", got)
	}
	if !strings.Contains(reply.Text, "- in fabrikam: sign alex@fabrikam.com out of every session") || !strings.Contains(reply.Text, "- in contoso: sign adele@contoso.com out of every session") {
		t.Fatalf("second plan = %q, want both revocations with their tenants", reply.Text)
	}
	if n := len(f.runner.Calls()); n != 2 {
		t.Fatalf("the writes ran before confirmation: %d calls", n)
	}
	// The model sees its earlier calls as it proposed them, tenant included.
	last := m.seen[len(m.seen)-1]
	seenTenant := false
	for _, tu := range last.Turns {
		for _, c := range tu.ToolCalls {
			if c.Tenant != "" {
				t.Fatalf("the model was sent a call with the Tenant field: %+v", c)
			}
			seenTenant = seenTenant || strings.Contains(string(c.Args), `"tenant":"fabrikam"`)
		}
	}
	if !seenTenant {
		t.Fatal("the model's history lost the tenant of its calls")
	}

	reply = f.send(t, mspTech, "m1", "yes")
	if got, want := f.runner.Tenants(), []tierzero.TenantID{"fabrikam", "contoso", "fabrikam", "contoso"}; !slices.Equal(got, want) {
		t.Fatalf("runner tenants = %v, want %v", got, want)
	}
	if !strings.Contains(reply.Text, "In fabrikam, I did: sign alex@fabrikam.com out of every session.") {
		t.Fatalf("reply = %q", reply.Text)
	}
	// The conversation's audit names the tenant of each proposal.
	n := 0
	for _, ev := range f.store.Events() {
		if ev.Kind == tierzero.AuditProposed {
			n++
			if ev.Facts["tenant"] == "" {
				t.Errorf("proposal %s %s has no tenant in the audit", ev.CallID, ev.Tool)
			}
		}
	}
	if n != 8 { // 4 awaiting confirmation, 4 confirmed
		t.Errorf("%d proposals in the audit, want 8", n)
	}
}

func TestAcrossTenantsRejectsBadTenants(t *testing.T) {
	cases := []struct {
		name, args, want string
	}{
		{"missing", `{"user":"alex@fabrikam.com"}`, `missing required property \"tenant\"`},
		{"not admitted", `{"user":"alex@fabrikam.com","tenant":"northwind"}`, "tenant must be one of contoso, fabrikam"},
		{"own tenant", `{"user":"alex@fabrikam.com","tenant":"msp"}`, "tenant must be one of contoso, fabrikam"},
		{"not a string", `{"user":"alex@fabrikam.com","tenant":["contoso"]}`, "tenant must be one of"},
		{"schema still applies", `{"user":"alex@fabrikam.com","tenant":"contoso","bogus":1}`, "bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &scripted{answers: []Response{calls(call("x", "user_get", tc.args)), {Text: "Sorry."}}}
			f := newFixture(t, m, across)
			f.send(t, mspTech, "m1", "look up alex")
			if n := len(f.runner.Calls()); n != 0 {
				t.Fatalf("runner got %d calls", n)
			}
			last := m.seen[len(m.seen)-1].Turns
			if got := last[len(last)-1].Content; !strings.Contains(got, tc.want) {
				t.Fatalf("the model was told %s, want %q", got, tc.want)
			}
		})
	}
}

func TestAcrossTenantsNothingUnconfirmed(t *testing.T) {
	t.Run("a tool not offered is not run anywhere", func(t *testing.T) {
		m := &scripted{answers: []Response{calls(call("x", "device_wipe", `{"device":"d1","tenant":"contoso"}`)), {Text: "I can't."}}}
		f := newFixture(t, m, func(c *Config) {
			across(c)
			c.Offered = func(_ tierzero.Requester, s tierzero.ToolSpec) bool { return !s.Write }
		})
		f.send(t, mspTech, "m1", "wipe d1")
		if n := len(f.runner.Calls()); n != 0 {
			t.Fatalf("runner got %d calls", n)
		}
	})
	t.Run("escalating runs nothing", func(t *testing.T) {
		m := &scripted{answers: []Response{calls(
			call("x", "user_reset_password", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`),
			call("e", EscalateTool, `{"reason":"needs a human"}`),
		)}}
		f := newFixture(t, m, across)
		f.send(t, mspTech, "m1", "reset alex")
		if n := len(f.runner.Calls()); n != 0 {
			t.Fatalf("runner got %d calls", n)
		}
		if len(f.esc.Got()) != 1 {
			t.Fatal("not escalated")
		}
	})
	t.Run("a requester of one tenant is unchanged", func(t *testing.T) {
		m := &scripted{answers: []Response{calls(call("x", "user_get", `{"user":"adele.vance@contoso.com"}`)), {Text: "Here you are."}}}
		f := newFixture(t, m, across)
		f.send(t, employee, "e1", "who am I")
		if got := f.runner.Tenants(); !slices.Equal(got, []tierzero.TenantID{"contoso"}) {
			t.Fatalf("runner tenants = %v, want the employee's own", got)
		}
		for _, tool := range m.seen[0].Tools {
			if strings.Contains(string(tool.Parameters), `"tenant"`) {
				t.Fatalf("tool %s offered to an employee takes a tenant", tool.Name)
			}
		}
	})
}

func TestModelCannotSetTheTenantField(t *testing.T) {
	for _, req := range []tierzero.Requester{employee, mspTech} {
		t.Run(string(req.Role), func(t *testing.T) {
			sneaky := calls(
				tierzero.ToolCall{ID: "a", Action: "user_get", Args: json.RawMessage(`{"user":"x@fabrikam.com"}`), Tenant: "fabrikam"},
				tierzero.ToolCall{ID: "b", Action: "no_such_tool", Args: json.RawMessage(`{}`), Tenant: "fabrikam"},
			)
			m := &scripted{answers: []Response{sneaky, {Text: "ok"}, {Text: "ok"}}}
			f := newFixture(t, m, across)
			f.send(t, req, "s1", "look up x")
			f.send(t, req, "s1", "yes")
			for i, tn := range f.runner.Tenants() {
				if tn == "fabrikam" {
					t.Fatalf("call %d went to fabrikam through the field the model set", i)
				}
			}
		})
	}
}

func TestPlanNotRunInATenantNoLongerReachable(t *testing.T) {
	admitted := []tierzero.TenantID{"contoso", "fabrikam"}
	m := &scripted{answers: []Response{calls(call("r1", "user_get", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`)), {Text: "It did not run."}}}
	f := newFixture(t, m, func(c *Config) {
		c.Tenants = func(tierzero.Requester) []tierzero.TenantID { return admitted }
	})
	f.send(t, mspTech, "m1", "look up alex")
	admitted = []tierzero.TenantID{"contoso"}
	f.send(t, mspTech, "m1", "yes")
	if n := len(f.runner.Calls()); n != 0 {
		t.Fatalf("the plan ran in a tenant the technician no longer acts in: %d calls", n)
	}
	last := m.seen[len(m.seen)-1].Turns
	if got := last[len(last)-1].Content; !strings.Contains(got, "no longer act in tenant fabrikam") {
		t.Fatalf("the model was told %s", got)
	}
}

func TestEscalationCarriesTheWholeInvestigation(t *testing.T) {
	m := &scripted{answers: []Response{
		calls(call("r1", "user_signins", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`)),
		calls(call("w1", "user_revoke_sessions", `{"user":"alex@fabrikam.com","tenant":"fabrikam"}`)),
		calls(call("e1", EscalateTool, `{"reason":"sign-ins from two continents"}`)),
	}}
	f := newFixture(t, m, across)
	f.send(t, mspTech, "m1", "alex@fabrikam.com may be hacked")
	f.send(t, mspTech, "m1", "yes")
	f.send(t, mspTech, "m1", "yes")
	got := f.esc.Got()
	if len(got) != 1 {
		t.Fatalf("%d escalations, want 1", len(got))
	}
	e := got[0]
	if len(e.Checked) != 1 || e.Checked[0].Action != "user.signins" || e.Checked[0].Tenant != "fabrikam" || !e.Checked[0].OK {
		t.Errorf("checked = %+v, want the sign-ins read in fabrikam, confirmed two messages earlier", e.Checked)
	}
	if len(e.Tried) != 1 || e.Tried[0].Action != "user.revoke_sessions" || e.Tried[0].Tenant != "fabrikam" {
		t.Errorf("tried = %+v, want the revocation", e.Tried)
	}
	if len(e.Decisions) != 2 || e.Decisions[0].Rule == "" || e.Decisions[0].Tenant != "fabrikam" {
		t.Errorf("decisions = %+v, want both, with their rules and tenant", e.Decisions)
	}
	if !strings.Contains(e.Summary, `asked: "alex@fabrikam.com may be hacked (then confirmed the plans shown)"`) {
		t.Errorf("summary = %q, want the original request", e.Summary)
	}
	if len(e.Transcript) == 0 || e.Transcript[0].Content != "alex@fabrikam.com may be hacked" {
		t.Errorf("transcript starts with %+v, want the original request", e.Transcript[:1])
	}
}
