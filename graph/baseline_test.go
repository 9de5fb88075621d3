package graph_test

// The tenant baseline tools (issue 22) through the real msgraph-sdk-go
// against graph/sim, which answers with Graph's shapes, permissions and
// errors (graph/sim/baseline.go).

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// stubBaselines is a planner: plan makes the plan of a document (nil: an
// empty plan), users are the UPNs it names. It records the documents.
type stubBaselines struct {
	plan  func(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error)
	users []string
	docs  *[]tierzero.BaselineDoc
}

func (b stubBaselines) PlanBaseline(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error) {
	if b.docs != nil {
		*b.docs = append(*b.docs, doc)
	}
	if b.plan == nil {
		return tierzero.BaselinePlan{Tenant: doc.Tenant, Items: []tierzero.BaselineItem{}, LeftToDo: []string{}}, nil
	}
	return b.plan(doc)
}

func (b stubBaselines) UsersNamed(tierzero.TenantID) []string { return b.users }

// newBaselineClient is a client over h with baselines b.
func newBaselineClient(t *testing.T, f *fixture, h http.Handler, b graph.Baselines) *graph.Client {
	t.Helper()
	srv := httptest.NewServer(unbatch(h))
	t.Cleanup(srv.Close)
	c, err := graph.New(graph.Config{
		BaseURL:   srv.URL + "/v1.0",
		Token:     func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits:   tierzero.NewPermitVerifier(f.key.Public().(ed25519.PublicKey), nil),
		Baselines: b,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// caID returns the id of a tenant's Conditional Access policy by name.
func caID(t *testing.T, s *sim.Server, tenant, name string) string {
	t.Helper()
	st, _ := s.Baseline(tenant)
	for _, p := range st.ConditionalAccess {
		if p["displayName"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("%s: no Conditional Access policy %q", tenant, name)
	return ""
}

// caStampOf is a tenant's Conditional Access policy's modifiedDateTime as
// Graph gives it, else its createdDateTime: an enable step's "modified".
func caStampOf(t *testing.T, s *sim.Server, tenant, name string) string {
	t.Helper()
	st, _ := s.Baseline(tenant)
	for _, p := range st.ConditionalAccess {
		if p["displayName"] == name {
			return policyStamp(p)
		}
	}
	t.Fatalf("%s: no Conditional Access policy %q", tenant, name)
	return ""
}

// policyStamp is a policy's modifiedDateTime, else its createdDateTime,
// else "".
func policyStamp(p map[string]any) string {
	for _, k := range []string{"modifiedDateTime", "createdDateTime"} {
		if v, ok := p[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// enableArgs are the arguments of an enable step for a tenant's policy as
// it is now.
func enableArgs(t *testing.T, s *sim.Server, tenant, name string) map[string]any {
	t.Helper()
	return map[string]any{"id": caID(t, s, tenant, name), "name": name, "modified": caStampOf(t, s, tenant, name)}
}

// countNamed counts a tenant's objects named name in one of its baseline
// lists.
func countNamed(list []map[string]any, name string) int {
	n := 0
	for _, o := range list {
		if o["displayName"] == name {
			n++
		}
	}
	return n
}

func groupIDOf(t *testing.T, s *sim.Server, tenant, name string) string {
	t.Helper()
	st, _ := s.State(tenant)
	for _, g := range st.Groups {
		if g.DisplayName == name {
			return g.ID
		}
	}
	t.Fatalf("%s: no group %q", tenant, name)
	return ""
}

// mfaAllBody is a report-only "Require MFA for all users" excluding the
// break-glass group.
func mfaAllBody(breakGlass, state string) string {
	return `{"displayName":"Require MFA for all users","state":"` + state + `","conditions":{` +
		`"users":{"includeUsers":["All"],"excludeGroups":["` + breakGlass + `"]},` +
		`"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},` +
		`"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`
}

const androidBody = `{"@odata.type":"#microsoft.graph.androidCompliancePolicy","displayName":"Android compliance",` +
	`"passwordRequired":true,"passwordMinimumLength":6,"securityBlockJailbrokenDevices":true,"osMinimumVersion":"13.0",` +
	`"scheduledActionsForRule":[{"ruleName":"PasswordRequired","scheduledActionConfigurations":[{"actionType":"block","gracePeriodHours":0}]}]}`

func assignAll() string {
	return `{"assignments":[{"target":{"@odata.type":"#microsoft.graph.allLicensedUsersAssignmentTarget"}}]}`
}

func assignGroup(id string) string {
	return `{"assignments":[{"target":{"@odata.type":"#microsoft.graph.groupAssignmentTarget","groupId":"` + id + `"}}]}`
}

// writes returns the methods and paths of the journal's entries.
func writes(s *sim.Server, tenant string) []string {
	var out []string
	for _, e := range s.Journal(tenant) {
		out = append(out, e.Method+" "+e.Path)
	}
	return out
}

// applied asks the client's read-back whether a call took effect.
func applied(t *testing.T, c *graph.Client, tenant tierzero.TenantID, action string, args any) bool {
	t.Helper()
	raw, _ := json.Marshal(args)
	got, known, err := c.Applied(context.Background(), tenant, tierzero.ToolCall{Action: action, Args: raw}, time.Now().Add(-time.Hour))
	if err != nil || !known {
		t.Fatalf("%s applied: known %v, err %v", action, known, err)
	}
	return got
}

// BaselineDoc reads the whole configuration with GETs only, in Graph's own
// JSON; the users named resolve to ids, one the tenant lacks is absent.
func TestBaselineDoc(t *testing.T) {
	f := newFixture(t)
	p := recorded(t, f)
	doc, err := f.client.BaselineDoc(context.Background(), "contoso", []string{"emergency.access@contoso.com", "nobody@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.seen {
		if !strings.HasPrefix(s, "GET ") {
			t.Errorf("BaselineDoc sent %s", s)
		}
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Errorf("journal after BaselineDoc: %+v", j)
	}
	if !doc.ConditionalAccess || !doc.Intune || doc.Tenant != "contoso" {
		t.Fatalf("capabilities: %+v", doc)
	}
	var sd struct {
		IsEnabled *bool `json:"isEnabled"`
	}
	if json.Unmarshal(doc.SecurityDefaults, &sd) != nil || sd.IsEnabled == nil || *sd.IsEnabled {
		t.Errorf("security defaults %s", doc.SecurityDefaults)
	}
	var names []string
	for _, raw := range doc.CAPolicies {
		var p struct {
			DisplayName string `json:"displayName"`
			State       string `json:"state"`
			Conditions  struct {
				ClientAppTypes []string `json:"clientAppTypes"`
			} `json:"conditions"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.DisplayName+"="+p.State)
	}
	if !slices.Equal(names, []string{"Require MFA for admins=enabled", "Block legacy authentication=enabledForReportingButNotEnforced"}) {
		t.Errorf("CA policies %v", names)
	}
	var am struct {
		Configs []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"authenticationMethodConfigurations"`
	}
	if json.Unmarshal(doc.AuthMethodsPolicy, &am) != nil || len(am.Configs) < 4 {
		t.Errorf("auth methods policy %s", doc.AuthMethodsPolicy)
	}
	if len(doc.CompliancePolicies) == 0 {
		t.Fatal("no compliance policies")
	}
	for _, raw := range doc.CompliancePolicies {
		var p struct {
			Type        string            `json:"@odata.type"`
			Assignments []json.RawMessage `json:"assignments"`
		}
		if json.Unmarshal(raw, &p) != nil || p.Type == "" || len(p.Assignments) != 1 {
			t.Errorf("compliance policy %s", raw)
		}
	}
	// Each group says whether it is a security group or a Microsoft 365
	// one (which any user may create and join): the break-glass group is a
	// security group, All Staff a Microsoft 365 group.
	if !slices.ContainsFunc(doc.Groups, func(g tierzero.BaselineGroup) bool {
		return g.DisplayName == "Break Glass Accounts" && g.ID == groupIDOf(t, f.sim, "contoso", "Break Glass Accounts") &&
			g.SecurityEnabled && !slices.Contains(g.GroupTypes, "Unified")
	}) || !slices.ContainsFunc(doc.Groups, func(g tierzero.BaselineGroup) bool {
		return g.DisplayName == "All Staff" && !g.SecurityEnabled && slices.Contains(g.GroupTypes, "Unified")
	}) {
		t.Errorf("groups %+v", doc.Groups)
	}
	if id := doc.Users["emergency.access@contoso.com"]; id != simUser(t, f.sim, "contoso", "emergency.access@contoso.com").ID || len(doc.Users) != 1 {
		t.Errorf("users %v", doc.Users)
	}

	// fabrikam: security defaults on, no policy (an empty list, not absent
	// capability), compliance policies assigned to no one.
	doc, err = f.client.BaselineDoc(context.Background(), "fabrikam", nil)
	if err != nil || !doc.ConditionalAccess || doc.CAPolicies == nil || len(doc.CAPolicies) != 0 || !strings.Contains(string(doc.SecurityDefaults), `"isEnabled":true`) {
		t.Fatalf("fabrikam: %+v %v", doc, err)
	}
}

// No Entra ID P1 (nor Intune): Conditional Access and compliance are absent
// and their capabilities false, and neither is asked for.
func TestBaselineDocWithoutLicences(t *testing.T) {
	f := newFixture(t)
	dropP1(t, f)
	p := recorded(t, f)
	doc, err := f.client.BaselineDoc(context.Background(), "contoso", nil)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ConditionalAccess || doc.Intune || doc.CAPolicies != nil || doc.CompliancePolicies != nil || doc.SecurityDefaults == nil {
		t.Errorf("doc %+v", doc)
	}
	if n := p.count("conditionalAccess") + p.count("deviceCompliancePolicies"); n != 0 {
		t.Errorf("%d requests for what the tenant has no licence for: %v", n, p.seen)
	}

	// Subscriptions unreadable: the licence gap is learnt from Graph's 403.
	g := newFixture(t)
	dropP1(t, g)
	g.client = newClientOver(t, g, refuse("/subscribedSkus", http.StatusForbidden)(g.sim))
	doc, err = g.client.BaselineDoc(context.Background(), "contoso", nil)
	if err != nil || doc.ConditionalAccess || doc.Intune || doc.CAPolicies != nil || doc.CompliancePolicies != nil {
		t.Fatalf("doc %+v, %v", doc, err)
	}
}

// create_ca_policy creates a policy report-only, once: a second run finds
// it by name and sends nothing; applied reads it back. A body in any other
// state is refused before anything is sent; two policies of the name are
// refused.
func TestBaselineCreateCAPolicy(t *testing.T) {
	f := newFixture(t)
	bg := groupIDOf(t, f.sim, "contoso", "Break Glass Accounts")
	args := map[string]any{"name": "Require MFA for all users", "body": mfaAllBody(bg, "enabledForReportingButNotEnforced")}
	if applied(t, f.client, "contoso", graph.ActionBaselineCreateCAPolicy, args) {
		t.Fatal("applied before it ran")
	}
	for _, state := range []string{"enabled", "disabled"} {
		_, err := f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, map[string]any{"name": "Require MFA for all users", "body": mfaAllBody(bg, state)})
		wantCode(t, err, tierzero.EDenied)
	}
	noState := strings.Replace(mfaAllBody(bg, "x"), `"state":"x",`, "", 1)
	_, err := f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, map[string]any{"name": "Require MFA for all users", "body": noState})
	wantCode(t, err, tierzero.EDenied)
	if j := writes(f.sim, "contoso"); len(j) != 0 {
		t.Fatalf("refused creates sent %v", j)
	}
	res, err := f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, args)
	if err != nil {
		t.Fatal(err)
	}
	if o := out[map[string]any](t, res); o["created"] != true || o["id"] == "" {
		t.Errorf("output %s", res.Output)
	}
	res, err = f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, args)
	if o := out[map[string]any](t, res); err != nil || o["created"] != false || o["id"] != caID(t, f.sim, "contoso", "Require MFA for all users") {
		t.Fatalf("second run: %s %v", res.Output, err)
	}
	if j := writes(f.sim, "contoso"); len(j) != 1 || j[0] != "POST /v1.0/identity/conditionalAccess/policies" {
		t.Errorf("writes %v", j)
	}
	st, _ := f.sim.Baseline("contoso")
	i := slices.IndexFunc(st.ConditionalAccess, func(p map[string]any) bool { return p["displayName"] == "Require MFA for all users" })
	p := st.ConditionalAccess[i]
	users := p["conditions"].(map[string]any)["users"].(map[string]any)
	if p["state"] != "enabledForReportingButNotEnforced" || !slices.Contains(users["excludeGroups"].([]any), any(bg)) {
		t.Errorf("created %v", p)
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineCreateCAPolicy, args) {
		t.Error("not applied after it ran")
	}
	// A property conditionalAccessPolicy does not have, or a name that is
	// not the step's, is refused.
	for _, body := range []string{
		strings.Replace(mfaAllBody(bg, "enabledForReportingButNotEnforced"), `{"displayName"`, `{"enforce":true,"displayName"`, 1),
		strings.Replace(mfaAllBody(bg, "enabledForReportingButNotEnforced"), "Require MFA for all users", "Other", 1),
		`[1]`,
	} {
		_, err := f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, map[string]any{"name": "Require MFA for all users", "body": body})
		wantCode(t, err, tierzero.EInvalid)
	}
	// Two of the name (one made behind tierzero's back): a person decides.
	if _, err := f.call(t, "contoso", graph.ActionBaselineCreateNamedLocation, map[string]any{"name": "Office",
		"body": `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.0/24"}]}`}); err != nil {
		t.Fatal(err)
	}
	dup := newFixture(t)
	dup.sim = f.sim
	dup.client = f.client
	n := len(writes(f.sim, "contoso"))
	bypass := httptest.NewServer(f.sim)
	defer bypass.Close()
	req, _ := http.NewRequest(http.MethodPost, bypass.URL+"/v1.0/identity/conditionalAccess/policies", strings.NewReader(mfaAllBody(bg, "disabled")))
	req.Header.Set("Authorization", "Bearer "+sim.Token("contoso"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("second policy behind tierzero's back: %v %v", resp, err)
	}
	resp.Body.Close()
	_, err = f.call(t, "contoso", graph.ActionBaselineCreateCAPolicy, args)
	wantCode(t, err, tierzero.EConflict)
	if applied(t, f.client, "contoso", graph.ActionBaselineCreateCAPolicy, args) {
		t.Error("applied with two policies of the name")
	}
	if j := writes(f.sim, "contoso"); len(j) != n+1 {
		t.Errorf("writes after the refusal: %v", j[n:])
	}
}

// create_named_location is idempotent by name.
func TestBaselineCreateNamedLocation(t *testing.T) {
	f := newFixture(t)
	args := map[string]any{"name": "Head office", "body": `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Head office","isTrusted":true,` +
		`"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.0/24"}]}`}
	if applied(t, f.client, "contoso", graph.ActionBaselineCreateNamedLocation, args) {
		t.Fatal("applied before")
	}
	for range 2 {
		if _, err := f.call(t, "contoso", graph.ActionBaselineCreateNamedLocation, args); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := f.sim.Baseline("contoso")
	if countNamed(st.NamedLocations, "Head office") != 1 || len(writes(f.sim, "contoso")) != 1 {
		t.Fatalf("named locations %v, writes %v", st.NamedLocations, writes(f.sim, "contoso"))
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineCreateNamedLocation, args) {
		t.Error("not applied after")
	}
}

// update_ca_policy patches conditions and grant controls, never the state;
// in place already, it sends nothing.
func TestBaselineUpdateCAPolicy(t *testing.T) {
	f := newFixture(t)
	id := caID(t, f.sim, "contoso", "Block legacy authentication")
	bg := groupIDOf(t, f.sim, "contoso", "Break Glass Accounts")
	body := `{"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + bg + `"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["exchangeActiveSync","other"]}}`
	args := map[string]any{"id": id, "name": "Block legacy authentication", "body": body}
	if applied(t, f.client, "contoso", graph.ActionBaselineUpdateCAPolicy, args) {
		t.Fatal("applied before")
	}
	_, err := f.call(t, "contoso", graph.ActionBaselineUpdateCAPolicy, map[string]any{"id": id, "name": "Block legacy authentication",
		"body": `{"state":"enabled","grantControls":{"operator":"OR","builtInControls":["block"]}}`})
	wantCode(t, err, tierzero.EDenied)
	_, err = f.call(t, "contoso", graph.ActionBaselineUpdateCAPolicy, map[string]any{"id": id, "name": "Require MFA for admins", "body": body})
	wantCode(t, err, tierzero.EConflict)
	if j := writes(f.sim, "contoso"); len(j) != 0 {
		t.Fatalf("refused updates sent %v", j)
	}
	for range 2 {
		if _, err := f.call(t, "contoso", graph.ActionBaselineUpdateCAPolicy, args); err != nil {
			t.Fatal(err)
		}
	}
	if j := writes(f.sim, "contoso"); len(j) != 1 || j[0] != "PATCH /v1.0/identity/conditionalAccess/policies/"+id {
		t.Errorf("writes %v", j)
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineUpdateCAPolicy, args) {
		t.Error("not applied after")
	}
	st, _ := f.sim.Baseline("contoso")
	if p := st.ConditionalAccess[slices.IndexFunc(st.ConditionalAccess, func(p map[string]any) bool { return p["id"] == id })]; p["state"] != "enabledForReportingButNotEnforced" {
		t.Errorf("state changed: %v", p)
	}
}

// enable_ca_policy switches a report-only policy on; on already: nothing
// sent; disabled: refused. The policy must be as the plan read it (its
// modifiedDateTime, else createdDateTime, is the step's "modified"), and
// one that could lock everyone out is never switched on.
func TestBaselineEnableCAPolicy(t *testing.T) {
	f := newFixture(t)
	legacy := caID(t, f.sim, "contoso", "Block legacy authentication")
	// Seeded for all users with no exclusion, blocking: switching it on
	// could lock everyone out (legacy clients), the break-glass accounts
	// too. Refused, nothing sent, whatever the plan said.
	args := enableArgs(t, f.sim, "contoso", "Block legacy authentication")
	_, err := f.call(t, "contoso", graph.ActionBaselineEnableCAPolicy, args)
	wantCode(t, err, tierzero.EDenied)
	if !strings.Contains(tierzero.ErrorMessage(err), "lock everyone out") || len(writes(f.sim, "contoso")) != 0 {
		t.Fatalf("a lockout switched on: %v %v", err, writes(f.sim, "contoso"))
	}
	// "modified" is required.
	_, err = f.call(t, "contoso", graph.ActionBaselineEnableCAPolicy, map[string]any{"id": legacy, "name": "Block legacy authentication"})
	wantCode(t, err, tierzero.EInvalid)

	// The break-glass group excluded (an update, which moves its
	// modifiedDateTime): the plan read before it no longer holds.
	bg := groupIDOf(t, f.sim, "contoso", "Break Glass Accounts")
	if _, err := f.call(t, "contoso", graph.ActionBaselineUpdateCAPolicy, map[string]any{"id": legacy, "name": "Block legacy authentication",
		"body": `{"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + bg + `"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["exchangeActiveSync","other"]}}`}); err != nil {
		t.Fatal(err)
	}
	_, err = f.call(t, "contoso", graph.ActionBaselineEnableCAPolicy, args)
	wantCode(t, err, tierzero.EConflict)
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "changed since the plan") || !strings.Contains(msg, "plan again") {
		t.Errorf("stale: %s", msg)
	}
	raw, _ := json.Marshal(args)
	if _, _, err := f.client.Applied(context.Background(), "contoso", tierzero.ToolCall{Action: graph.ActionBaselineEnableCAPolicy, Args: raw}, time.Now()); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Errorf("the read-back of a stale step: %v", err)
	}

	args = enableArgs(t, f.sim, "contoso", "Block legacy authentication")
	if applied(t, f.client, "contoso", graph.ActionBaselineEnableCAPolicy, args) {
		t.Fatal("applied before")
	}
	for range 2 {
		if _, err := f.call(t, "contoso", graph.ActionBaselineEnableCAPolicy, args); err != nil {
			t.Fatal(err)
		}
	}
	if j := writes(f.sim, "contoso"); len(j) != 2 || j[1] != "PATCH /v1.0/identity/conditionalAccess/policies/"+legacy {
		t.Errorf("writes %v", j)
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineEnableCAPolicy, args) {
		t.Error("not applied after")
	}
	// Already on from the start: nothing sent.
	if _, err := f.call(t, "contoso", graph.ActionBaselineEnableCAPolicy, enableArgs(t, f.sim, "contoso", "Require MFA for admins")); err != nil || len(writes(f.sim, "contoso")) != 2 {
		t.Fatalf("enabling an enabled policy: %v %v", err, writes(f.sim, "contoso"))
	}
	// A disabled policy is not switched on.
	bypass := httptest.NewServer(f.sim)
	defer bypass.Close()
	req, _ := http.NewRequest(http.MethodPost, bypass.URL+"/v1.0/identity/conditionalAccess/policies", strings.NewReader(mfaAllBody(bg, "disabled")))
	req.Header.Set("Authorization", "Bearer "+sim.Token("contoso"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("disabled policy: %v %v", resp, err)
	}
	resp.Body.Close()
	n := len(writes(f.sim, "contoso"))
	_, err = f.call(t, "contoso", graph.ActionBaselineEnableCAPolicy, enableArgs(t, f.sim, "contoso", "Require MFA for all users"))
	wantCode(t, err, tierzero.EConflict)
	if len(writes(f.sim, "contoso")) != n {
		t.Error("a disabled policy was written")
	}
}

// set_security_defaults and set_auth_method send nothing when the tenant
// is so already, and read back.
func TestBaselineSecurityDefaultsAndAuthMethod(t *testing.T) {
	f := newFixture(t)
	on := map[string]any{"enabled": false}
	if !applied(t, f.client, "fabrikam", graph.ActionBaselineSetSecurityDefaults, map[string]any{"enabled": true}) ||
		applied(t, f.client, "fabrikam", graph.ActionBaselineSetSecurityDefaults, on) {
		t.Fatal("security defaults read back wrong")
	}
	for range 2 {
		if _, err := f.call(t, "fabrikam", graph.ActionBaselineSetSecurityDefaults, on); err != nil {
			t.Fatal(err)
		}
	}
	if j := writes(f.sim, "fabrikam"); len(j) != 1 || j[0] != "PATCH /v1.0/policies/identitySecurityDefaultsEnforcementPolicy" {
		t.Errorf("writes %v", j)
	}
	if !applied(t, f.client, "fabrikam", graph.ActionBaselineSetSecurityDefaults, on) {
		t.Error("not applied after")
	}

	tap := map[string]any{"id": "TemporaryAccessPass", "body": `{"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",` +
		`"state":"enabled","isUsableOnce":true,"defaultLifetimeInMinutes":60,"minimumLifetimeInMinutes":60,"maximumLifetimeInMinutes":480,"defaultLength":8}`}
	if applied(t, f.client, "contoso", graph.ActionBaselineSetAuthMethod, tap) {
		t.Fatal("applied before")
	}
	for range 2 {
		if _, err := f.call(t, "contoso", graph.ActionBaselineSetAuthMethod, tap); err != nil {
			t.Fatal(err)
		}
	}
	if j := writes(f.sim, "contoso"); len(j) != 1 || j[0] != "PATCH /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass" {
		t.Errorf("writes %v", j)
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineSetAuthMethod, tap) {
		t.Error("not applied after")
	}
	_, err := f.call(t, "contoso", graph.ActionBaselineSetAuthMethod, map[string]any{"id": "Sms", "body": `{"state":"enabled"}`})
	wantCode(t, err, tierzero.EInvalid) // Graph requires the configuration's @odata.type
	_, err = f.call(t, "contoso", graph.ActionBaselineSetAuthMethod, map[string]any{"id": "Email", "body": `{"@odata.type":"#microsoft.graph.emailAuthenticationMethodConfiguration","state":"disabled"}`})
	wantCode(t, err, tierzero.EInvalid)
}

// create_compliance_policy creates and assigns, once; a run cut between
// the create and the assignment, run again, assigns the one policy.
func TestBaselineCreateCompliance(t *testing.T) {
	f := newFixture(t)
	args := map[string]any{"name": "Android compliance", "body": androidBody, "assignments": assignAll()}
	if applied(t, f.client, "fabrikam", graph.ActionBaselineCreateCompliance, args) {
		t.Fatal("applied before")
	}
	// The assignment is refused (the process dies before it, say): the
	// policy exists, unassigned.
	if err := f.sim.AddFault("fabrikam", sim.Fault{Method: "POST", Path: "/v1.0/deviceManagement/deviceCompliancePolicies/*/assign", Kind: sim.FaultError, Status: 400, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.call(t, "fabrikam", graph.ActionBaselineCreateCompliance, args); err == nil {
		t.Fatal("assignment refused, yet no error")
	}
	if applied(t, f.client, "fabrikam", graph.ActionBaselineCreateCompliance, args) {
		t.Fatal("applied with the assignment missing")
	}
	res, err := f.call(t, "fabrikam", graph.ActionBaselineCreateCompliance, args)
	if o := out[map[string]any](t, res); err != nil || o["created"] != false || o["assigned"] != true {
		t.Fatalf("rerun: %s %v", res.Output, err)
	}
	if _, err := f.call(t, "fabrikam", graph.ActionBaselineCreateCompliance, args); err != nil {
		t.Fatal(err)
	}
	st, _ := f.sim.Baseline("fabrikam")
	if countNamed(st.CompliancePolicies, "Android compliance") != 1 {
		t.Fatalf("policies %v", st.CompliancePolicies)
	}
	var posts []string
	for _, w := range writes(f.sim, "fabrikam") {
		if strings.HasPrefix(w, "POST") {
			posts = append(posts, w)
		}
	}
	if len(posts) != 3 || posts[0] != "POST /v1.0/deviceManagement/deviceCompliancePolicies" || !strings.HasSuffix(posts[2], "/assign") {
		t.Errorf("posts %v", posts) // create, the refused assign, the assign
	}
	if !applied(t, f.client, "fabrikam", graph.ActionBaselineCreateCompliance, args) {
		t.Error("not applied after")
	}
	// Graph needs scheduledActionsForRule on a create: refused here first.
	_, err = f.call(t, "fabrikam", graph.ActionBaselineCreateCompliance, map[string]any{"name": "iOS compliance", "assignments": assignAll(),
		"body": `{"@odata.type":"#microsoft.graph.iosCompliancePolicy","displayName":"iOS compliance","passcodeRequired":true}`})
	wantCode(t, err, tierzero.EInvalid)
}

// update and assign: in place already, nothing sent; read back.
func TestBaselineUpdateAndAssignCompliance(t *testing.T) {
	f := newFixture(t)
	st, _ := f.sim.Baseline("contoso")
	var id, name string
	for _, p := range st.CompliancePolicies {
		if p["@odata.type"] == "#microsoft.graph.windows10CompliancePolicy" {
			id, name = p["id"].(string), p["displayName"].(string)
		}
	}
	upd := map[string]any{"id": id, "name": name, "body": `{"@odata.type":"#microsoft.graph.windows10CompliancePolicy","antivirusRequired":true,"defenderEnabled":true}`}
	if applied(t, f.client, "contoso", graph.ActionBaselineUpdateCompliance, upd) {
		t.Fatal("applied before")
	}
	for range 2 {
		if _, err := f.call(t, "contoso", graph.ActionBaselineUpdateCompliance, upd); err != nil {
			t.Fatal(err)
		}
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineUpdateCompliance, upd) {
		t.Error("update not applied after")
	}
	sales := groupIDOf(t, f.sim, "contoso", "Sales Team")
	as := map[string]any{"id": id, "name": name, "assignments": assignGroup(sales)}
	if applied(t, f.client, "contoso", graph.ActionBaselineAssignCompliance, as) {
		t.Fatal("assign applied before")
	}
	for range 2 {
		if _, err := f.call(t, "contoso", graph.ActionBaselineAssignCompliance, as); err != nil {
			t.Fatal(err)
		}
	}
	if !applied(t, f.client, "contoso", graph.ActionBaselineAssignCompliance, as) {
		t.Error("assign not applied after")
	}
	if j := writes(f.sim, "contoso"); len(j) != 2 || j[0] != "PATCH /v1.0/deviceManagement/deviceCompliancePolicies/"+id || j[1] != "POST /v1.0/deviceManagement/deviceCompliancePolicies/"+id+"/assign" {
		t.Errorf("writes %v", j)
	}
}

// baseline.plan: no baselines configured is EUnavailable; a create phase
// is returned as planned, read with GETs only; an enable phase gets each
// policy's sign-in impact from the sign-in logs, in Impact and in words in
// its step's label.
func TestBaselinePlan(t *testing.T) {
	f := newFixture(t)
	_, err := f.call(t, "contoso", tierzero.ActionBaselinePlan, map[string]any{})
	wantCode(t, err, tierzero.EUnavailable)

	legacy := caID(t, f.sim, "contoso", "Block legacy authentication")
	bg := groupIDOf(t, f.sim, "contoso", "Break Glass Accounts")
	var docs []tierzero.BaselineDoc
	phase := tierzero.BaselineCreate
	planner := stubBaselines{users: []string{"emergency.access@contoso.com"}, docs: &docs, plan: func(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error) {
		p := tierzero.BaselinePlan{Tenant: doc.Tenant, Items: []tierzero.BaselineItem{}, LeftToDo: []string{}}
		p.Plan.Phase = phase
		if phase == tierzero.BaselineCreate {
			p.Plan.Steps = []tierzero.PlanStepArg{{Action: graph.ActionBaselineCreateCAPolicy, Label: `create the Conditional Access policy "Require MFA for all users"`,
				Args: string(mustCanon(t, map[string]any{"name": "Require MFA for all users", "body": mfaAllBody(bg, "enabledForReportingButNotEnforced")}))}}
			return p, nil
		}
		for _, raw := range doc.CAPolicies {
			var c struct{ ID, DisplayName, State string }
			var whole map[string]any
			json.Unmarshal(raw, &c)
			json.Unmarshal(raw, &whole)
			if c.State == "enabledForReportingButNotEnforced" {
				p.Plan.Steps = append(p.Plan.Steps, tierzero.PlanStepArg{Action: graph.ActionBaselineEnableCAPolicy, Label: `switch on "` + c.DisplayName + `"`,
					Args: string(mustCanon(t, map[string]any{"id": c.ID, "name": c.DisplayName, "modified": policyStamp(whole)}))})
			}
		}
		return p, nil
	}}
	p := &paths{h: f.sim}
	f.client = newBaselineClient(t, f, p, planner)
	res, err := f.call(t, "contoso", tierzero.ActionBaselinePlan, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	plan := out[tierzero.BaselinePlan](t, res)
	if plan.Plan.Phase != tierzero.BaselineCreate || len(plan.Plan.Steps) != 1 || plan.Impact != nil || len(docs) != 1 || docs[0].Users["emergency.access@contoso.com"] == "" {
		t.Fatalf("create plan %s", res.Output)
	}
	for _, s := range p.seen {
		if !strings.HasPrefix(s, "GET ") || strings.Contains(s, "signIns") {
			t.Errorf("a create phase's plan sent %s", s)
		}
	}
	// Run the create phase, then plan the enable phase.
	c, _ := tierzero.PlanStepArg.Call(plan.Plan.Steps[0], "s1")
	if _, err := f.client.Execute(context.Background(), f.permit("contoso", c), "contoso", c); err != nil {
		t.Fatal(err)
	}
	phase = tierzero.BaselineEnable
	enablePlan := func() (tierzero.ToolResult, tierzero.BaselinePlan, map[string]tierzero.BaselineImpact) {
		t.Helper()
		res, err := f.call(t, "contoso", tierzero.ActionBaselinePlan, map[string]any{"impact_days": 7})
		if err != nil {
			t.Fatal(err)
		}
		plan := out[tierzero.BaselinePlan](t, res)
		if len(plan.Plan.Steps) != 2 || len(plan.Impact) != 2 {
			t.Fatalf("enable plan %s", res.Output)
		}
		byName := map[string]tierzero.BaselineImpact{}
		for _, im := range plan.Impact {
			byName[im.Name] = im
		}
		return res, plan, byName
	}
	near := func(at string, want time.Duration) bool {
		since, err := time.Parse(time.RFC3339, at)
		return err == nil && time.Since(since) > want-time.Minute && time.Since(since) < want+time.Minute
	}
	// Right after the create phase, no sign-in came under the new policy:
	// Entra records a report-only result only for the sign-ins after the
	// policy existed. Too early to tell, says the label, not "no impact".
	_, plan, byName := enablePlan()
	if mfa := byName["Require MFA for all users"]; mfa.SignIns != 0 || !near(mfa.Since, 0) {
		t.Errorf("mfa impact right after its creation %+v", mfa)
	}
	if !strings.HasSuffix(plan.Plan.Steps[1].Label, "; sign-in impact in the last 7 days, report-only for less than an hour: too early to tell, no sign-in came under it yet; "+
		"let a day or more of sign-ins come under it before switching it on") {
		t.Errorf("label right after creation %q", plan.Plan.Steps[1].Label)
	}
	// Block legacy authentication, report-only for 90 days: the last 7
	// days, and the one Exchange ActiveSync sign-in.
	if im := byName["Block legacy authentication"]; im.PolicyID != legacy || im.SignIns != 1 || im.Failure != 1 || im.Users != 1 ||
		!slices.Equal(im.Affected, []string{"allan.deyoung@contoso.com"}) || !near(im.Since, 7*24*time.Hour) {
		t.Errorf("legacy impact %+v", im)
	}
	if !strings.Contains(plan.Plan.Steps[0].Label, "; sign-in impact in the last 7 days, report-only for 90 days: it applied to 1 sign-in by 1 user") {
		t.Errorf("legacy label %q", plan.Plan.Steps[0].Label)
	}

	// A day of sign-ins passes (the simulator's POST /_sim/signins).
	if _, err := f.sim.PassDay("contoso"); err != nil {
		t.Fatal(err)
	}
	res, plan, byName = enablePlan()
	// MFA for all: the day's 10 sign-ins; the single-factor ones would be
	// interrupted (the recent ones of the baseline seed, Raul's failed MFA
	// challenge, Irvin's from abroad), the break-glass account is excluded,
	// the others pass; the sign-ins before it existed do not count.
	mfa := byName["Require MFA for all users"]
	if mfa.SignIns != 10 || mfa.Interrupted != 7 || mfa.Failure != 0 || mfa.Success != 3 || mfa.Users != 8 ||
		!slices.Equal(mfa.Affected, []string{"adele.vance@contoso.com", "allan.deyoung@contoso.com", "grady.archie@contoso.com",
			"irvin.sayers@contoso.com", "johanna.lorenz@contoso.com", "raul.razo@contoso.com"}) || !near(mfa.Since, 24*time.Hour) {
		t.Errorf("mfa impact %+v", mfa)
	}
	if slices.Contains(mfa.Affected, "emergency.access@contoso.com") {
		t.Error("the break-glass account is excluded")
	}
	want := fmt.Sprintf("; sign-in impact in the last 7 days, report-only for 24 hours: it applied to %d sign-ins by %d users, of which %d would have passed, 7 would have been asked for MFA and 0 would have been blocked",
		mfa.SignIns, mfa.Users, mfa.Success)
	if !strings.Contains(plan.Plan.Steps[1].Label, want) || !strings.Contains(plan.Plan.Steps[0].Label, "report-only for 91 days: it applied to 2 sign-ins by 1 user") {
		t.Errorf("labels %v", plan.Plan.Steps)
	}

	// A change to the policy starts its window again: the results before
	// it were of another policy.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPatch, "/v1.0/identity/conditionalAccess/policies/"+mfa.PolicyID,
		strings.NewReader(`{"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["`+bg+`"]},"applications":{"includeApplications":["Office365"]},"clientAppTypes":["all"]}}`))
	req.Header.Set("Authorization", "Bearer "+sim.Token("contoso"))
	req.Header.Set("Content-Type", "application/json")
	if f.sim.ServeHTTP(rec, req); rec.Code != http.StatusNoContent {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	_, changed, byName := enablePlan()
	if im := byName["Require MFA for all users"]; im.SignIns != 0 || !near(im.Since, 0) ||
		!strings.Contains(changed.Plan.Steps[1].Label, "report-only for less than an hour: too early to tell, no sign-in came under it yet") {
		t.Errorf("after a change %+v %q", im, changed.Plan.Steps[1].Label)
	}
	// The plan read before the change names the policy as it was (its
	// modifiedDateTime): refused, plan again.
	var whole struct {
		Plan json.RawMessage `json:"plan"`
	}
	json.Unmarshal(res.Output, &whole)
	if _, err := tierzero.DecodePlanArgs(whole.Plan); err != nil {
		t.Fatal(err)
	}
	_, err = f.call(t, "contoso", tierzero.ActionBaselineApply, whole.Plan)
	wantCode(t, err, tierzero.EConflict)
	if !strings.Contains(tierzero.ErrorMessage(err), "step 2 (baseline.enable_ca_policy) has arguments other than the planner's") {
		t.Errorf("the plan of before the change: %v", err)
	}
	// The plan of now, unchanged, is baseline.apply's call, which records it.
	whole.Plan, _ = json.Marshal(changed.Plan)
	ares, err := f.call(t, "contoso", tierzero.ActionBaselineApply, whole.Plan)
	if err != nil || !strings.Contains(string(ares.Output), `"phase":"enable"`) {
		t.Fatalf("apply %s %v", ares.Output, err)
	}
	if !applied(t, f.client, "contoso", tierzero.ActionBaselineApply, whole.Plan) {
		t.Error("apply not applied")
	}
	_, err = f.call(t, "contoso", tierzero.ActionBaselinePlan, map[string]any{"impact_days": 31})
	wantCode(t, err, tierzero.EInvalid)
}

// Without Entra ID P1 the sign-in logs are refused: the impact is unknown,
// said so in the labels and left for a person.
func TestBaselinePlanImpactWithoutSignInLogs(t *testing.T) {
	f := newFixture(t)
	legacy := caID(t, f.sim, "contoso", "Block legacy authentication")
	planner := stubBaselines{plan: func(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error) {
		return tierzero.BaselinePlan{Tenant: doc.Tenant, Items: []tierzero.BaselineItem{}, LeftToDo: []string{}, Plan: tierzero.PlanArgs{Phase: tierzero.BaselineEnable,
			Steps: []tierzero.PlanStepArg{{Action: graph.ActionBaselineEnableCAPolicy, Label: "switch on", Args: string(mustCanon(t, map[string]any{"id": legacy, "name": "Block legacy authentication", "modified": caStampOf(t, f.sim, "contoso", "Block legacy authentication")}))}}}}, nil
	}}
	dropP1(t, f)
	p := &paths{h: f.sim}
	f.client = newBaselineClient(t, f, p, planner)
	res, err := f.call(t, "contoso", tierzero.ActionBaselinePlan, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	plan := out[tierzero.BaselinePlan](t, res)
	if plan.Impact != nil || !strings.Contains(plan.Plan.Steps[0].Label, "sign-in impact unknown") || len(plan.LeftToDo) != 1 {
		t.Errorf("plan %s", res.Output)
	}
	if n := p.count("signIns"); n != 0 {
		t.Errorf("sign-in logs known to be refused were asked for %d times", n)
	}
}

func mustCanon(t *testing.T, v any) []byte {
	t.Helper()
	raw, _ := json.Marshal(v)
	c, err := tierzero.CanonicalArgs(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// baselineSweepArgs are the baseline tools' arguments for the error sweep
// (errors_test.go): each a write Graph would accept.
func baselineSweepArgs(t *testing.T, st sim.TenantState) map[string]map[string]any {
	t.Helper()
	legacy, windows, windowsName, bg := "", "", "", ""
	var legacyPolicy map[string]any
	for _, p := range st.Baseline.ConditionalAccess {
		if p["displayName"] == "Block legacy authentication" {
			legacy, legacyPolicy = p["id"].(string), p
		}
	}
	for _, p := range st.Baseline.CompliancePolicies {
		if p["@odata.type"] == "#microsoft.graph.windows10CompliancePolicy" {
			windows, windowsName = p["id"].(string), p["displayName"].(string)
		}
	}
	for _, g := range st.Groups {
		if g.DisplayName == "Break Glass Accounts" {
			bg = g.ID
		}
	}
	if legacy == "" || windows == "" || bg == "" {
		t.Fatalf("sweep: seeded baseline objects missing")
	}
	return map[string]map[string]any{
		tierzero.ActionBaselineApply: {"phase": "create", "steps": []map[string]any{{"action": graph.ActionBaselineSetSecurityDefaults, "args": `{"enabled":true}`, "label": "turn security defaults on"}}},
		graph.ActionBaselineCreateNamedLocation: {"name": "Head office", "body": `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Head office","isTrusted":true,` +
			`"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.0/24"}]}`},
		graph.ActionBaselineCreateCAPolicy:      {"name": "Require MFA for all users", "body": mfaAllBody(bg, "enabledForReportingButNotEnforced")},
		graph.ActionBaselineUpdateCAPolicy:      {"id": legacy, "name": "Block legacy authentication", "body": `{"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`},
		graph.ActionBaselineEnableCAPolicy:      {"id": legacy, "name": "Block legacy authentication", "modified": policyStamp(legacyPolicy)}, // its break-glass group excluded (sweepArgs)
		graph.ActionBaselineSetSecurityDefaults: {"enabled": true},
		graph.ActionBaselineSetAuthMethod:       {"id": "Sms", "body": `{"@odata.type":"#microsoft.graph.smsAuthenticationMethodConfiguration","state":"enabled"}`},
		graph.ActionBaselineCreateCompliance:    {"name": "Android compliance", "body": androidBody, "assignments": assignAll()},
		graph.ActionBaselineUpdateCompliance:    {"id": windows, "name": windowsName, "body": `{"@odata.type":"#microsoft.graph.windows10CompliancePolicy","antivirusRequired":true}`},
		graph.ActionBaselineAssignCompliance:    {"id": windows, "name": windowsName, "assignments": assignGroup(bg)},
	}
}

// A create finds a lookalike of its name in the tenant (case, a
// non-breaking space): it is refused, nothing is sent, and no second,
// identical-looking object is made.
func TestBaselineCreateLookalike(t *testing.T) {
	for _, have := range []string{"head office", "Head\u00a0office", "Head  office", "\uff28ead office"} {
		t.Run(have, func(t *testing.T) {
			f := newFixture(t)
			body := func(name string) string {
				return `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":` + strconv.Quote(name) + `,"isTrusted":true,` +
					`"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.0/24"}]}`
			}
			if _, err := f.call(t, "contoso", graph.ActionBaselineCreateNamedLocation, map[string]any{"name": have, "body": body(have)}); err != nil {
				t.Fatal(err)
			}
			n := len(writes(f.sim, "contoso"))
			args := map[string]any{"name": "Head office", "body": body("Head office")}
			_, err := f.call(t, "contoso", graph.ActionBaselineCreateNamedLocation, args)
			wantCode(t, err, tierzero.EConflict)
			if j := writes(f.sim, "contoso"); len(j) != n {
				t.Errorf("writes after the refusal: %v", j[n:])
			}
			// Read back after a crash, it is no yes either.
			raw, _ := json.Marshal(args)
			if got, known, err := f.client.Applied(context.Background(), "contoso", tierzero.ToolCall{Action: graph.ActionBaselineCreateNamedLocation, Args: raw}, time.Now().Add(-time.Hour)); got || known && err == nil {
				t.Errorf("a lookalike read back as the baseline's object: %v %v %v", got, known, err)
			}
		})
	}
}
