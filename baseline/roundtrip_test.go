package baseline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// fakeGraph runs the baseline tools' calls on a tenant's configuration as
// Graph stores them (the wire, not the tools: graph's tests run the tools
// against graph/sim): a POST stores its body with a new id, a PATCH merges
// its top-level properties, /assign replaces the assignments. It checks
// what Graph refuses: a policy enabled while security defaults are on, a
// method configuration without its own @odata.type, a Temporary Access
// Pass lifetime outside its bounds, a compliance policy without its
// action for noncompliance. As Graph does, it dates a Conditional Access
// policy (createdDateTime when created, modifiedDateTime when changed) and,
// as graph's enable tool does, switches on only a policy that has not
// changed since the plan (its "modified").
type fakeGraph struct {
	t   *testing.T
	doc *tierzero.BaselineDoc
	n   int
	now int // minutes past the clock's start
}

// tick returns the fake clock's next time, RFC 3339.
func (g *fakeGraph) tick() string {
	g.now++
	return fmt.Sprintf("2026-12-01T%02d:%02d:00Z", g.now/60%24, g.now%60)
}

// modifiedOf is a policy's modifiedDateTime, else its createdDateTime.
func modifiedOf(p map[string]any) any {
	if m, ok := p["modifiedDateTime"].(string); ok && m != "" {
		return m
	}
	if c, ok := p["createdDateTime"]; ok {
		return c
	}
	return ""
}

func objects(t *testing.T, raws []json.RawMessage) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range raws {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func raws(t *testing.T, objs []map[string]any) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func byID(objs []map[string]any, id any) map[string]any {
	for _, o := range objs {
		if o["id"] == id {
			return o
		}
	}
	return nil
}

func patch(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = v
	}
}

func (g *fakeGraph) newID() string { g.n++; return fmt.Sprintf("new-%d", g.n) }

func (g *fakeGraph) run(s tierzero.PlanStepArg) {
	t := g.t
	t.Helper()
	a := stepArgs(t, s)
	sdOn := func() bool {
		var sd map[string]any
		json.Unmarshal(g.doc.SecurityDefaults, &sd)
		return sd["isEnabled"] == true
	}
	switch s.Action {
	case ActCreateNamedLocation:
		b := jsonArg(t, a, "body")
		b["id"] = g.newID()
		g.doc.NamedLocations = append(g.doc.NamedLocations, raws(t, []map[string]any{b})...)
	case ActCreateCAPolicy:
		b := jsonArg(t, a, "body")
		if b["state"] != string(CAReportOnly) || b["displayName"] != a["name"] {
			t.Errorf("%s: body %v", s.Label, b)
		}
		for _, p := range objects(t, g.doc.CAPolicies) {
			if p["displayName"] == b["displayName"] {
				t.Errorf("%s: a second policy of that name", s.Label)
			}
		}
		b["id"] = g.newID()
		b["createdDateTime"], b["modifiedDateTime"] = g.tick(), nil
		g.doc.CAPolicies = append(g.doc.CAPolicies, raws(t, []map[string]any{b})...)
	case ActUpdateCAPolicy, ActEnableCAPolicy:
		ps := objects(t, g.doc.CAPolicies)
		p := byID(ps, a["id"])
		if p == nil || p["displayName"] != a["name"] {
			t.Fatalf("%s: no policy %v %v", s.Label, a["id"], a["name"])
		}
		if s.Action == ActEnableCAPolicy {
			if p["state"] != string(CAReportOnly) || sdOn() {
				t.Errorf("%s: enabled from %v with security defaults on=%v", s.Label, p["state"], sdOn())
			}
			if m, ok := a["modified"].(string); !ok || m == "" || m != modifiedOf(p) {
				t.Errorf("%s: modified %v, the policy's is %v", s.Label, a["modified"], modifiedOf(p))
			}
			p["state"] = string(CAEnabled)
			p["modifiedDateTime"] = g.tick()
		} else {
			b := jsonArg(t, a, "body")
			if _, ok := b["state"]; ok {
				t.Errorf("%s: an update sets the state", s.Label)
			}
			noNull(t, s.Label, b)
			patch(p, b)
			p["modifiedDateTime"] = g.tick()
		}
		g.doc.CAPolicies = raws(t, ps)
	case ActSetSecurityDefaults:
		g.doc.SecurityDefaults = json.RawMessage(fmt.Sprintf(`{"isEnabled":%v}`, a["enabled"]))
	case ActSetAuthMethod:
		var pol map[string]any
		json.Unmarshal(g.doc.AuthMethodsPolicy, &pol)
		b := jsonArg(t, a, "body")
		for _, c := range pol["authenticationMethodConfigurations"].([]any) {
			c := c.(map[string]any)
			if c["id"] != a["id"] {
				continue
			}
			if b["@odata.type"] != c["@odata.type"] {
				t.Errorf("%s: @odata.type %v, the configuration's is %v", s.Label, b["@odata.type"], c["@odata.type"])
			}
			patch(c, b)
			if c["id"] == "TemporaryAccessPass" {
				lo, def, hi := c["minimumLifetimeInMinutes"].(float64), c["defaultLifetimeInMinutes"].(float64), c["maximumLifetimeInMinutes"].(float64)
				if !(10 <= lo && lo <= def && def <= hi) {
					t.Errorf("%s: lifetimes %v <= %v <= %v refused", s.Label, lo, def, hi)
				}
			}
		}
		g.doc.AuthMethodsPolicy, _ = json.Marshal(pol)
	case ActCreateCompliance:
		b := jsonArg(t, a, "body")
		if b["scheduledActionsForRule"] == nil || b["@odata.type"] == nil || b["displayName"] != a["name"] {
			t.Errorf("%s: body %v", s.Label, b)
		}
		delete(b, "scheduledActionsForRule") // accepted, not returned
		b["id"] = g.newID()
		b["assignments"] = jsonArg(t, a, "assignments")["assignments"]
		g.doc.CompliancePolicies = append(g.doc.CompliancePolicies, raws(t, []map[string]any{b})...)
	case ActUpdateCompliance, ActAssignCompliance:
		ps := objects(t, g.doc.CompliancePolicies)
		p := byID(ps, a["id"])
		if p == nil || p["displayName"] != a["name"] {
			t.Fatalf("%s: no policy %v %v", s.Label, a["id"], a["name"])
		}
		if s.Action == ActAssignCompliance {
			p["assignments"] = jsonArg(t, a, "assignments")["assignments"]
		} else {
			b := jsonArg(t, a, "body")
			if b["@odata.type"] != p["@odata.type"] {
				t.Errorf("%s: @odata.type changed", s.Label)
			}
			noNull(t, s.Label, b)
			patch(p, b)
		}
		g.doc.CompliancePolicies = raws(t, ps)
	default:
		t.Fatalf("unknown action %s", s.Action)
	}
}

// noNull checks an update's body clears nothing: no property anywhere in it
// is null.
func noNull(t *testing.T, label string, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s: an update sets a property null", label)
	case map[string]any:
		for _, x := range v {
			noNull(t, label, x)
		}
	case []any:
		for _, x := range v {
			noNull(t, label, x)
		}
	}
}

// dirSyncRole is the role template id of the Directory Synchronization
// Accounts, which tenants leave out of MFA policies for directory sync.
const dirSyncRole = "d29b2b05-8046-44ba-8758-1e26182fcf32"

// contosoSynced is contoso with the directory sync role left out of its
// two policies (the switched-on admins policy and the report-only legacy
// one) and SMS sign-in on, which the baseline turns off.
func contosoSynced(t *testing.T) tierzero.BaselineDoc {
	d := withBreakGlass(simDoc(t, "contoso"))
	ps := objects(t, d.CAPolicies)
	for _, p := range ps {
		p["conditions"].(map[string]any)["users"].(map[string]any)["excludeRoles"] = []any{dirSyncRole}
	}
	d.CAPolicies = raws(t, ps)
	var pol map[string]any
	json.Unmarshal(d.AuthMethodsPolicy, &pol)
	for _, c := range pol["authenticationMethodConfigurations"].([]any) {
		if c := c.(map[string]any); c["id"] == "Sms" {
			c["state"] = "enabled"
		}
	}
	d.AuthMethodsPolicy, _ = json.Marshal(pol)
	return d
}

// hqOverride gives fabrikam a named location, a policy that uses it and a
// user left out by name.
const hqOverride = `scope: {tenant: fabrikam}
named_locations:
  - name: Fabrikam HQ
    cidrs: [203.0.113.0/24]
    trusted: true
conditional_access:
  - name: Block finance outside HQ
    users:
      groups: [Finance Approvers]
      exclude_groups: [Break Glass Accounts]
      exclude_users: [breakglass@fabrikam.com]
    locations: {exclude: [Fabrikam HQ]}
    grant: block
`

// TestRoundTrip: applying each phase's steps as Graph stores them, then
// planning again, brings the tenant to the baseline in order (creates and
// changes, what waited for them, then security defaults off and the
// policies switched on), after which a plan has no steps and every item is
// "leave": a second apply changes nothing. A change made behind tierzero's
// back is then drift again.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		set    *Set
		doc    tierzero.BaselineDoc
		phases []string // each round: phase and steps
		// left is the drift no call can fix, and what a person is told.
		left, toDo []string
		check      func(t *testing.T, doc tierzero.BaselineDoc)
	}{{
		name: "fabrikam", set: defaultSet(t, hqOverride),
		doc: func() tierzero.BaselineDoc {
			d := withBreakGlass(simDoc(t, "fabrikam"))
			d.Users = map[string]string{"breakglass@fabrikam.com": "u-breakglass"}
			return d
		}(),
		phases: []string{
			"create: create_named_location Fabrikam HQ, create_ca_policy Require MFA for admins, create_ca_policy Require MFA for all users, " +
				"create_ca_policy Block legacy authentication, create_ca_policy Require compliant devices for admins, set_auth_method TemporaryAccessPass, " +
				"set_auth_method Fido2, create_compliance_policy Android compliance baseline, assign_compliance_policy Windows 10/11 compliance baseline, " +
				"assign_compliance_policy iOS compliance baseline",
			"create: create_ca_policy Block finance outside HQ",
			"enable: set_security_defaults false, enable_ca_policy Require MFA for admins, enable_ca_policy Require MFA for all users, " +
				"enable_ca_policy Block legacy authentication, enable_ca_policy Require compliant devices for admins, enable_ca_policy Block finance outside HQ",
		},
		toDo: []string{"self-service password reset"},
	}, {
		name: "contoso", set: defaultSet(t), doc: withBreakGlass(simDoc(t, "contoso")),
		// The change of the switched-on admins policy applies at once:
		// in the enable phase, after the switch-ons.
		phases: []string{
			"create: create_ca_policy Require MFA for all users, update_ca_policy Block legacy authentication, " +
				"create_ca_policy Require compliant devices for admins, set_auth_method TemporaryAccessPass, set_auth_method Fido2, " +
				"update_compliance_policy Windows 10/11 compliance baseline, create_compliance_policy Android compliance baseline",
			"enable: enable_ca_policy Require MFA for all users, enable_ca_policy Block legacy authentication, enable_ca_policy Require compliant devices for admins, " +
				"update_ca_policy Require MFA for admins",
		},
		// The Windows policy's antivirus is changed as any setting is.
		toDo: []string{"self-service password reset"},
	}, {
		// The directory sync role the tenant leaves out is kept by every
		// update (never cleared), and stays drift a person decides on:
		// the legacy policy, in line but for it, is not switched on.
		// SMS goes off only in the enable phase.
		name: "contoso with directory sync left out", set: defaultSet(t), doc: contosoSynced(t),
		phases: []string{
			"create: create_ca_policy Require MFA for all users, update_ca_policy Block legacy authentication, " +
				"create_ca_policy Require compliant devices for admins, set_auth_method TemporaryAccessPass, set_auth_method Fido2, " +
				"update_compliance_policy Windows 10/11 compliance baseline, create_compliance_policy Android compliance baseline",
			"enable: enable_ca_policy Require MFA for all users, enable_ca_policy Require compliant devices for admins, " +
				"update_ca_policy Require MFA for admins, set_auth_method Sms",
		},
		left: []string{"conflict conditional_access Require MFA for admins", "conflict conditional_access Block legacy authentication"},
		toDo: []string{`Conditional Access policy "Require MFA for admins": the tenant's policy also excludes directory roles`,
			`Conditional Access policy "Block legacy authentication": the tenant's policy also excludes directory roles`, "self-service password reset"},
		check: func(t *testing.T, doc tierzero.BaselineDoc) {
			for _, p := range objects(t, doc.CAPolicies) {
				ex := p["conditions"].(map[string]any)["users"].(map[string]any)["excludeRoles"]
				if p["displayName"] == "Require MFA for admins" || p["displayName"] == "Block legacy authentication" {
					if fmt.Sprint(ex) != "["+dirSyncRole+"]" {
						t.Errorf("%s: excludeRoles %v, want the directory sync role kept", p["displayName"], ex)
					}
				}
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			g := &fakeGraph{t: t, doc: &doc}
			var phases []string
			for round := 0; ; round++ {
				p, err := tt.set.PlanBaseline(doc)
				if err != nil {
					t.Fatal(err)
				}
				checkPlanArgs(t, p)
				if len(p.Plan.Steps) == 0 {
					break
				}
				if round == 5 {
					t.Fatalf("no end after %d rounds: %v", round, phases)
				}
				phases = append(phases, fmt.Sprintf("%s: %s", p.Plan.Phase, strings.Join(stepSummary(t, p), ", ")))
				if p.Plan.Phase == tierzero.BaselineEnable && p.Plan.Steps[0].Action == ActSetSecurityDefaults && !p.Plan.Steps[0].Stop {
					t.Error("turning security defaults off does not stop the plan when it fails")
				}
				for _, s := range p.Plan.Steps {
					g.run(s)
				}
			}
			if !slices.Equal(phases, tt.phases) {
				t.Errorf("phases:\ngot\n%s\nwant\n%s", strings.Join(phases, "\n"), strings.Join(tt.phases, "\n"))
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
			p, _ := tt.set.PlanBaseline(doc)
			var left []string
			for _, it := range p.Drift() {
				left = append(left, fmt.Sprintf("%s %s %s", it.Kind, it.Resource, it.Name))
			}
			if !slices.Equal(left, tt.left) {
				t.Errorf("drift after apply: %q, want %q", left, tt.left)
			}
			if len(p.LeftToDo) != len(tt.toDo) {
				t.Errorf("left to do: %q, want %q", p.LeftToDo, tt.toDo)
			}
			for i, l := range p.LeftToDo {
				if i < len(tt.toDo) && !strings.HasPrefix(l, tt.toDo[i]) {
					t.Errorf("left to do %d: %q, want %q", i, l, tt.toDo[i])
				}
			}

			// Behind tierzero's back: the pass made reusable, a policy
			// switched to report-only.
			g.run(tierzero.PlanStepArg{Action: ActSetAuthMethod, Args: `{"body":"{\"@odata.type\":\"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration\",\"isUsableOnce\":false}","id":"TemporaryAccessPass"}`})
			ps := objects(t, doc.CAPolicies)
			ps[len(ps)-1]["state"] = string(CAReportOnly)
			doc.CAPolicies = raws(t, ps)
			p, _ = tt.set.PlanBaseline(doc)
			var drift []string
			for _, it := range p.Drift() {
				if it.Kind != string(Conflict) {
					drift = append(drift, fmt.Sprintf("%s %s %s %s", it.Kind, it.Resource, it.Name, strings.Join(it.Changes, "; ")))
				}
			}
			want := []string{
				fmt.Sprintf("enable conditional_access %s state: enabledForReportingButNotEnforced → enabled", ps[len(ps)-1]["displayName"]),
				"update auth_method temporary_access_pass usable_once: false → true",
			}
			if !slices.Equal(drift, want) {
				t.Errorf("drift:\ngot  %q\nwant %q", drift, want)
			}
			if got := stepSummary(t, p); !slices.Equal(got, []string{"set_auth_method TemporaryAccessPass"}) || p.Plan.Phase != tierzero.BaselineCreate {
				t.Errorf("after drift: %s %v", p.Plan.Phase, got)
			}
		})
	}
}
