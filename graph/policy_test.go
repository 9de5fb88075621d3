package graph_test

// policy.Guard over the real Graph client and the simulator: the facts
// policy decides on are what Graph says, read by the engine itself.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
)

type memAudit struct{ events []tierzero.AuditEvent }

func (a *memAudit) Append(_ context.Context, _ tierzero.TenantID, ev tierzero.AuditEvent) error {
	a.events = append(a.events, ev)
	return nil
}

// guardOn returns a Guard over a client of f's simulator, with the
// baseline and extra policy files (YAML) layered on it.
func guardOn(t *testing.T, f *fixture, extra ...string) *policy.Guard {
	t.Helper()
	return guardOver(t, f.sim, extra...)
}

// guardOver is guardOn over h, the simulator or a wrapper of it.
func guardOver(t *testing.T, h http.Handler, extra ...string) *policy.Guard {
	t.Helper()
	files := policy.BaselineFiles()
	for i, y := range extra {
		pf, err := policy.Parse(fmt.Sprintf("extra%d.yaml", i), []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, pf)
	}
	set, err := policy.NewSet(files...)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := policy.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	// The client verifies permits with the fixture's key; this guard signs
	// with its own, so a test client with the guard's key is built here.
	c := newClientFor(t, h, signer)
	g, err := policy.NewGuard(policy.GuardConfig{
		Policies: set, Signer: signer, Executor: c, Directory: c, Audit: &memAudit{},
		Tools: c.Tools(), TargetOf: graph.UserRef, SubjectOf: graph.SubjectOf,
		Groups: c, Licenses: c, Devices: c,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// requester is a contoso user as the chat platform verifies them.
func requester(t *testing.T, f *fixture, upn string, role tierzero.Role) tierzero.Requester {
	t.Helper()
	u := simUserOf(t, f, "contoso", upn)
	return tierzero.Requester{Tenant: "contoso", UPN: u.UserPrincipalName, ObjectID: u.ID, Role: role, Channel: tierzero.ChannelTeams}
}

// ran reports whether the call ran (it was allowed and executed).
func ran(t *testing.T, g *policy.Guard, req tierzero.Requester, action string, args any) (bool, tierzero.ToolResult) {
	t.Helper()
	b, ok := args.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(args); err != nil {
			t.Fatal(err)
		}
	}
	res, err := g.RunTool(context.Background(), "contoso", req, "conv", tierzero.ToolCall{ID: "c1", Action: action, Args: b})
	if err != nil {
		t.Fatal(err)
	}
	return res.Error == nil && res.Output != nil, res
}

// Issue 15, item 1: a group condition names a group, not whatever group
// carries that display name today. Any employee may create a Microsoft 365
// group called "Helpdesk".
func TestGuardGroupsAreObjectIDs(t *testing.T) {
	const rule = `scope: {tenant: contoso}
rules:
  - id: helpdesk-resets
    action: user.reset_password
    effect: allow
    when: {target: other, target_has_admin_role: false, requester_in_group: [%s]}
`
	setup := func(t *testing.T) (*fixture, string) {
		f := newFixture(t)
		// The real Helpdesk group (engineers are members of it), and the
		// one Adele made, named the same: she is a member of it.
		must(t, f.sim.Change("contoso", simChange("VPN Users", "Helpdesk")))
		return f, simGroupOf(t, f, "contoso", "Helpdesk").ID
	}
	adele := func(t *testing.T, f *fixture) tierzero.Requester {
		return requester(t, f, "adele.vance@contoso.com", tierzero.RoleEmployee)
	}
	grady := func(t *testing.T, f *fixture) tierzero.Requester {
		return requester(t, f, "grady.archie@contoso.com", tierzero.RoleEmployee)
	}
	reset := map[string]string{"user": "alex.wilber@contoso.com"}

	t.Run("by id", func(t *testing.T) {
		f, id := setup(t)
		must(t, f.sim.Change("contoso", simChange("Marketing Team", "Helpdesk")))
		g := guardOn(t, f, fmt.Sprintf(rule, id))
		if ok, res := ran(t, g, adele(t, f), "user.reset_password", reset); ok {
			t.Fatalf("a member of a look-alike group reset a colleague's password: %+v", res.Decision)
		}
		if ok, res := ran(t, g, grady(t, f), "user.reset_password", reset); !ok {
			t.Fatalf("a member of the group the policy names was refused: %+v %+v", res.Decision, res.Error)
		}
	})
	t.Run("ambiguous name", func(t *testing.T) {
		f, _ := setup(t)
		must(t, f.sim.Change("contoso", simChange("Marketing Team", "Helpdesk")))
		g := guardOn(t, f, fmt.Sprintf(rule, "Helpdesk"))
		for _, who := range []tierzero.Requester{adele(t, f), grady(t, f)} {
			if ok, res := ran(t, g, who, "user.reset_password", reset); ok {
				t.Fatalf("%s: a name two groups carry decided: %+v", who.UPN, res.Decision)
			}
		}
	})
	t.Run("name pinned at first use", func(t *testing.T) {
		f, _ := setup(t)
		g := guardOn(t, f, fmt.Sprintf(rule, "Helpdesk"))
		if ok, res := ran(t, g, grady(t, f), "user.reset_password", reset); !ok {
			t.Fatalf("a member of the one Helpdesk group was refused: %+v %+v", res.Decision, res.Error)
		}
		// Adele's look-alike appears after the name was resolved.
		must(t, f.sim.Change("contoso", simChange("Marketing Team", "Helpdesk")))
		if ok, res := ran(t, g, adele(t, f), "user.reset_password", reset); ok {
			t.Fatalf("a look-alike created later took the pinned name's place: %+v", res.Decision)
		}
	})
}

// Issue 15, item 2: whether a group is an admin group is what Graph says
// of it, not what it is called.
func TestGuardAdminGroupsAreWhatGraphSays(t *testing.T) {
	add := func(g string) map[string]string {
		return map[string]string{"group": g, "user": "adele.vance@contoso.com"}
	}
	t.Run("role-assignable group renamed", func(t *testing.T) {
		f := newFixture(t)
		must(t, f.sim.Change("contoso", simChange("IT Admins", "Tier 1 Support")))
		g := guardOn(t, f)
		id := simGroupOf(t, f, "contoso", "Tier 1 Support").ID
		admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
		if ok, res := ran(t, g, admin, "group.add_member", add(id)); ok || res.Decision == nil || res.Decision.Rule != "never-change-admin-groups" {
			t.Fatalf("ran %v: a role-assignable group was changed through the bot: %+v", ok, res.Decision)
		}
	})
	t.Run("ordinary group with an admin-sounding name", func(t *testing.T) {
		f := newFixture(t)
		must(t, f.sim.Change("contoso", simChange("Sales Team", "Global Sales Admins")))
		g := guardOn(t, f)
		id := simGroupOf(t, f, "contoso", "Global Sales Admins").ID
		admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
		if ok, res := ran(t, g, admin, "group.add_member", add(id)); !ok {
			t.Fatalf("an ordinary group was refused for its name: %+v %+v", res.Decision, res.Error)
		}
	})
}

// Issue 15, item 5: arguments whose keys are not exactly the tool's are
// refused, so that what policy decides, what an approver is shown and what
// Graph runs are the same bytes.
func TestGuardArgumentKeysExact(t *testing.T) {
	for _, args := range []string{
		`{"user":"alex.wilber@contoso.com","uſer":"adele.vance@contoso.com"}`, // ſ (U+017F) folds to s in encoding/json
		`{"uſer":"adele.vance@contoso.com"}`,
		`{"USER":"adele.vance@contoso.com"}`,
		`{"user":"adele.vance@contoso.com","USER":"alex.wilber@contoso.com"}`,
		`{"user":"adele.vance@contoso.com","\u212aey":"x"}`, // K (Kelvin sign)
	} {
		t.Run(args, func(t *testing.T) {
			f := newFixture(t)
			g := guardOn(t, f)
			adele := requester(t, f, "adele.vance@contoso.com", tierzero.RoleEmployee)
			ok, res := ran(t, g, adele, "user.reset_password", []byte(args))
			if ok || res.Error == nil || res.Decision == nil || res.Decision.Effect != tierzero.EffectDeny {
				t.Fatalf("ran %v, result %+v", ok, res)
			}
			if j := f.sim.Journal("contoso"); len(j) != 0 {
				t.Fatalf("Graph was sent %+v", j)
			}
		})
	}
}

// newClientFor returns a client of h that runs what signer's permits allow.
func newClientFor(t *testing.T, h http.Handler, signer *policy.Signer) *graph.Client {
	t.Helper()
	srv := httptest.NewServer(unbatch(h))
	t.Cleanup(srv.Close)
	c, err := graph.New(graph.Config{
		BaseURL: srv.URL + "/v1.0",
		Token:   func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits: tierzero.NewPermitVerifier(signer.PublicKey(), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// simChange renames a group.
func simChange(group, name string) sim.Change {
	return sim.Change{Group: group, Set: map[string]string{"displayName": name}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Issue 15, item 5: Graph runs only arguments whose keys are exactly the
// tool's, even under a valid permit.
func TestExecuteArgumentKeysExact(t *testing.T) {
	for _, args := range []string{`{"uſer":"adele.vance@contoso.com"}`, `{"User":"adele.vance@contoso.com"}`} {
		f := newFixture(t)
		call := tierzero.ToolCall{ID: "c1", Action: graph.ActionUserResetPassword, Args: json.RawMessage(args)}
		res, err := f.client.Execute(context.Background(), f.permit("contoso", call), "contoso", call)
		if err == nil || tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("%s: Execute = %+v, %v; want invalid arguments", args, res, err)
		}
		if j := f.sim.Journal("contoso"); len(j) != 0 {
			t.Errorf("%s: Graph was sent %+v", args, j)
		}
	}
}

// Issue 15, item 2: a user eligible for a directory role in Privileged
// Identity Management is an admin (they activate the role at will); when
// eligibility cannot be read, a user without active roles is of unknown
// standing, and the guardrails refuse.
func TestGuardEligibleAdmins(t *testing.T) {
	reset := map[string]string{"user": "lee.gu@contoso.com"}
	t.Run("eligible", func(t *testing.T) {
		f := newFixture(t)
		must(t, f.sim.Change("contoso", sim.Change{User: "lee.gu@contoso.com", EligibleRole: "User Administrator"}))
		g := guardOn(t, f)
		admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
		if ok, res := ran(t, g, admin, "user.reset_password", reset); ok || res.Decision == nil || res.Decision.Rule != "never-reset-admins" {
			t.Fatalf("ran %v: the password of an eligible admin was reset: %+v", ok, res.Decision)
		}
		facts, err := f.client.UserFacts(context.Background(), "contoso", "lee.gu@contoso.com")
		if err != nil || !slices.Contains(facts.AdminRoles, "eligible for User Administrator") {
			t.Fatalf("facts = %+v, %v", facts, err)
		}
	})
	t.Run("eligible member of a role-assignable group", func(t *testing.T) {
		f := newFixture(t)
		must(t, f.sim.Change("contoso", sim.Change{Group: "IT Admins", EligibleMember: "lee.gu@contoso.com"}))
		g := guardOn(t, f)
		admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
		if ok, res := ran(t, g, admin, "user.reset_password", reset); ok || res.Decision == nil || res.Decision.Rule != "never-reset-admins" {
			t.Fatalf("ran %v: the password of an eligible member of IT Admins was reset: %+v", ok, res.Decision)
		}
		facts, err := f.client.UserFacts(context.Background(), "contoso", "lee.gu@contoso.com")
		if err != nil || !slices.Contains(facts.AdminRoles, "eligible member of role-assignable group IT Admins") {
			t.Fatalf("facts = %+v, %v", facts, err)
		}
	})
	t.Run("eligible member of an ordinary group", func(t *testing.T) {
		f := newFixture(t)
		must(t, f.sim.Change("contoso", sim.Change{Group: "VPN Users", EligibleMember: "lee.gu@contoso.com"}))
		facts, err := f.client.UserFacts(context.Background(), "contoso", "lee.gu@contoso.com")
		if err != nil || facts.AdminRoles == nil || len(facts.AdminRoles) != 0 {
			t.Fatalf("facts = %+v, %v", facts, err)
		}
	})
	t.Run("not eligible", func(t *testing.T) {
		f := newFixture(t)
		g := guardOn(t, f)
		admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
		if ok, res := ran(t, g, admin, "user.reset_password", reset); !ok {
			t.Fatalf("an ordinary user's reset was refused: %+v %+v", res.Decision, res.Error)
		}
	})
	t.Run("eligibility unreadable", func(t *testing.T) {
		wrap := refuse("/roleEligibilityScheduleInstances", http.StatusForbidden)
		f := newWrappedFixture(t, wrap)
		g := guardOver(t, wrap(f.sim))
		admin := requester(t, f, "patti.fernandez@contoso.com", tierzero.RoleTenantAdmin)
		ok, res := ran(t, g, admin, "user.reset_password", reset)
		if ok || res.Decision == nil || !strings.Contains(res.Decision.Reason, "needs the fact target.admin_roles, which is missing") {
			t.Fatalf("ran %v: a user whose roles are unknown was reset: %+v", ok, res.Decision)
		}
		// Reads do not depend on it.
		if ok, res := ran(t, g, admin, "user.get", reset); !ok {
			t.Fatalf("a read was refused: %+v %+v", res.Decision, res.Error)
		}
		// An active admin is known to be one all the same.
		facts, err := f.client.UserFacts(context.Background(), "contoso", "megan.bowen@contoso.com")
		if err != nil || !slices.Contains(facts.AdminRoles, "Global Administrator") {
			t.Fatalf("facts = %+v, %v", facts, err)
		}
	})
}

// Issue 15, item 2: the group facts are Graph's: role-assignable or not,
// and the roles assigned to the group, active and eligible.
func TestGroupFactsRoles(t *testing.T) {
	f := newFixture(t)
	must(t, f.sim.Change("contoso", sim.Change{Group: "IT Admins", EligibleRole: "User Administrator"}))
	it := simGroupOf(t, f, "contoso", "IT Admins")
	got, err := f.client.GroupFacts(context.Background(), "contoso", it.ID)
	if err != nil || got.RoleAssignable == nil || !*got.RoleAssignable ||
		!slices.Equal(got.AdminRoles, []string{"Helpdesk Administrator", "eligible for User Administrator"}) {
		t.Fatalf("IT Admins: %+v, %v", got, err)
	}
	sales := simGroupOf(t, f, "contoso", "Sales Team")
	got, err = f.client.GroupFacts(context.Background(), "contoso", sales.ID)
	if err != nil || got.RoleAssignable == nil || *got.RoleAssignable || got.AdminRoles == nil || len(got.AdminRoles) != 0 {
		t.Fatalf("Sales Team: %+v, %v", got, err)
	}
	id, err := f.client.GroupID(context.Background(), "contoso", "sales team")
	if err != nil || id != sales.ID {
		t.Fatalf("GroupID(sales team) = %q, %v; want %s", id, err, sales.ID)
	}
	must(t, f.sim.Change("contoso", simChange("VPN Users", "Sales Team")))
	if _, err := f.client.GroupID(context.Background(), "contoso", "Sales Team"); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("GroupID of a name two groups have: %v, want a conflict", err)
	}
	if _, err := f.client.GroupID(context.Background(), "contoso", "Nobody's Group"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatalf("GroupID of a name no group has: %v, want not found", err)
	}
}

// refuse answers requests whose path ends in suffix with status, as Graph
// answers what the app may not read.
func refuse(suffix string, status int) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, suffix) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprint(w, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}
