package graph_test

// The single authentication-method and risk tools against graph/sim
// answering as Graph does. Sources for each behaviour are in the tests.

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// Graph's fixed phone method ids
// (https://learn.microsoft.com/en-us/graph/api/resources/phoneauthenticationmethod).
const (
	mobileID    = "3179e48a-750b-4051-897c-87b9720928f7"
	alternateID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
	officeID    = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
	passwordID  = "28c10230-6103-485e-b985-444c60001490"
)

// paths records the request paths a client sends.
type paths struct {
	h    http.Handler
	mu   sync.Mutex
	seen []string
}

func (p *paths) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+r.URL.Path)
	p.mu.Unlock()
	p.h.ServeHTTP(w, r)
}

func (p *paths) count(part string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.seen {
		if strings.Contains(s, part) {
			n++
		}
	}
	return n
}

// recorded swaps f's client for one whose requests are recorded.
func recorded(t *testing.T, f *fixture) *paths {
	t.Helper()
	p := &paths{h: f.sim}
	f.client = newClientOver(t, f, p)
	return p
}

// dropP1 takes every subscription with Entra ID P1 or P2 from contoso: a
// Microsoft 365 E3 or Business Standard tenant without Entra ID Premium.
func dropP1(t *testing.T, f *fixture) {
	t.Helper()
	for _, part := range []string{"SPE_E3", "EMS", "AAD_PREMIUM_P2"} {
		if !f.sim.DropSubscription("contoso", part) {
			t.Fatalf("contoso holds no %s", part)
		}
	}
}

func methodIDs(t *testing.T, f *fixture, tenant, upn string) []string {
	t.Helper()
	var ids []string
	for _, m := range simUser(t, f.sim, tenant, upn).AuthenticationMethods {
		ids = append(ids, m.ID)
	}
	return ids
}

// The registration report: userRegistrationDetails gives isMfaRegistered,
// isMfaCapable, isPasswordlessCapable, methodsRegistered and
// userPreferredMethodForSecondaryAuthentication, and needs Entra ID P1
// ("requires a Microsoft Entra ID P1 or P2 license",
// https://learn.microsoft.com/en-us/graph/api/userregistrationdetails-get);
// without it Graph answers 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant.
func TestMFARegistration(t *testing.T) {
	f := newFixture(t)
	p := recorded(t, f)
	type reg struct {
		User         string   `json:"user"`
		Available    bool     `json:"registrationAvailable"`
		Registered   *bool    `json:"isMfaRegistered"`
		Capable      *bool    `json:"isMfaCapable"`
		Passwordless *bool    `json:"isPasswordlessCapable"`
		Default      string   `json:"defaultMfaMethod"`
		Methods      []string `json:"methodsRegistered"`
		Updated      string   `json:"lastUpdated"`
		Reason       string   `json:"reason"`
	}
	res, err := f.exec(t, "contoso", graph.ActionUserMFARegistration, "raul.razo@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	r := out[reg](t, res)
	if !r.Available || r.Registered == nil || !*r.Registered || r.Capable == nil || !*r.Capable || r.Passwordless == nil || *r.Passwordless ||
		r.Default != "push" || !slices.Equal(r.Methods, []string{"microsoftAuthenticatorPush", "mobilePhone"}) || r.Updated == "" {
		t.Fatalf("registration = %s", res.Output)
	}
	// An admin with a security key is passwordless capable.
	res, err = f.exec(t, "contoso", graph.ActionUserMFARegistration, "megan.bowen@contoso.com")
	if r := out[reg](t, res); err != nil || r.Passwordless == nil || !*r.Passwordless || !slices.Contains(r.Methods, "fido2SecurityKey") {
		t.Fatalf("megan: %s %v", res.Output, err)
	}
	_, err = f.exec(t, "contoso", graph.ActionUserMFARegistration, "nobody@contoso.com")
	wantCode(t, err, tierzero.ENotFound)

	// Known to lack P1 (capabilities read afresh): a fact, not an error,
	// and no request to the report.
	g := newFixture(t)
	dropP1(t, g)
	q := recorded(t, g)
	res, err = g.exec(t, "contoso", graph.ActionUserMFARegistration, "raul.razo@contoso.com")
	if r := out[reg](t, res); err != nil || r.Available || !strings.Contains(r.Reason, "Entra ID P1") || r.Registered != nil {
		t.Fatalf("without P1: %s %v", res.Output, err)
	}
	if n := q.count("userRegistrationDetails"); n != 0 {
		t.Errorf("%d report requests on a tenant known to lack P1", n)
	}

	// Lost since the capabilities were read: Graph's 403 is the same fact.
	reports := p.count("userRegistrationDetails")
	dropP1(t, f)
	res, err = f.exec(t, "contoso", graph.ActionUserMFARegistration, "raul.razo@contoso.com")
	if r := out[reg](t, res); err != nil || r.Available || r.Reason == "" {
		t.Fatalf("after the plan lapsed: %s %v", res.Output, err)
	}
	if p.count("userRegistrationDetails") != reports+1 {
		t.Errorf("the report was not asked once after the plan lapsed")
	}
}

// One method removed through its typed collection (the generic
// /authentication/methods/{id} has no DELETE:
// https://learn.microsoft.com/en-us/graph/api/resources/authenticationmethods-overview).
// Graph refuses the mobile phone while an alternate mobile exists ("a user
// must always have a mobile phone before adding an alternateMobile
// phone", https://learn.microsoft.com/en-us/graph/api/authentication-post-phonemethods)
// and the default method while others remain, 400 "Cannot delete default
// method with other methods configured"
// (https://github.com/microsoftgraph/microsoft-graph-docs/issues/14470).
func TestRemoveAuthMethod(t *testing.T) {
	f := newFixture(t)
	remove := func(tenant tierzero.TenantID, user, id string) (tierzero.ToolResult, error) {
		return f.call(t, tenant, graph.ActionUserRemoveAuthMethod, map[string]any{"user": user, "method_id": id})
	}
	const raul = "raul.razo@contoso.com" // password, Authenticator (default), mobile
	res, err := remove("contoso", raul, mobileID)
	if err != nil {
		t.Fatal(err)
	}
	if o := out[map[string]any](t, res); o["type"] != "phone" || !strings.Contains(o["removed"].(string), "mobile phone") {
		t.Fatalf("removed = %s", res.Output)
	}
	if ids := methodIDs(t, f, "contoso", raul); slices.Contains(ids, mobileID) || len(ids) != 2 {
		t.Fatalf("methods left = %v", ids)
	}
	j := f.sim.Journal("contoso")
	if len(j) != 1 || j[0].Method != "DELETE" || j[0].Status != 204 || !strings.HasSuffix(j[0].Path, "/authentication/phoneMethods/"+mobileID) {
		t.Fatalf("journal = %+v", j)
	}
	// Again: gone already, nothing sent.
	_, err = remove("contoso", raul, mobileID)
	wantCode(t, err, tierzero.ENotFound)
	if !strings.Contains(tierzero.ErrorMessage(err), "user.auth_methods") {
		t.Errorf("message = %q, want a pointer to user.auth_methods", tierzero.ErrorMessage(err))
	}
	// The default, now alone beside the password, goes.
	auth := methodIDs(t, f, "contoso", raul)[1]
	if _, err := remove("contoso", raul, auth); err != nil {
		t.Fatal(err)
	}
	// The password never.
	_, err = remove("contoso", raul, passwordID)
	wantCode(t, err, tierzero.EInvalid)
	if n := len(f.sim.Journal("contoso")); n != 2 {
		t.Fatalf("journal has %d writes, want the two deletions", n)
	}

	// Miriam: Authenticator (default), mobile, alternate mobile. Both
	// refusals are said before any call, with what to remove first.
	const miriam = "miriam.graham@contoso.com"
	_, err = remove("contoso", miriam, mobileID)
	wantCode(t, err, tierzero.EConflict)
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "alternate mobile phone") || !strings.Contains(msg, alternateID) {
		t.Errorf("mobile refusal = %q", msg)
	}
	miriamAuth := ""
	for _, m := range simUser(t, f.sim, "contoso", miriam).AuthenticationMethods {
		if m.Type == "microsoftAuthenticatorAuthenticationMethod" {
			miriamAuth = m.ID
		}
	}
	_, err = remove("contoso", miriam, miriamAuth)
	wantCode(t, err, tierzero.EConflict)
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "default sign-in method") || !strings.Contains(msg, mobileID) || !strings.Contains(msg, alternateID) {
		t.Errorf("default refusal = %q", msg)
	}
	if n := len(f.sim.Journal("contoso")); n != 2 {
		t.Fatalf("a refused removal was sent: %+v", f.sim.Journal("contoso"))
	}
	// In the right order it works.
	for _, id := range []string{alternateID, mobileID, miriamAuth} {
		if _, err := remove("contoso", miriam, id); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
	}

	// Without P1 the default is unknown: Graph's 400 is explained the same.
	g := newFixture(t)
	dropP1(t, g)
	gAuth := ""
	for _, m := range simUser(t, g.sim, "contoso", miriam).AuthenticationMethods {
		if m.Type == "microsoftAuthenticatorAuthenticationMethod" {
			gAuth = m.ID
		}
	}
	_, err = g.call(t, "contoso", graph.ActionUserRemoveAuthMethod, map[string]any{"user": miriam, "method_id": gAuth})
	wantCode(t, err, tierzero.EConflict)
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "default sign-in method") || !strings.Contains(msg, mobileID) {
		t.Errorf("refusal without P1 = %q", msg)
	}
	if j := g.sim.Journal("contoso"); len(j) != 1 || j[0].Status != 400 {
		t.Errorf("journal = %+v, want Graph's one refusal", j)
	}

	// The answer lost after the deletion: the read-back finds it gone.
	const adele = "adele.vance@contoso.com"
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "DELETE", Path: "/v1.0/users/" + adele + "/authentication/phoneMethods/*", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	before := len(f.sim.Journal("contoso"))
	phoneID := ""
	for _, m := range simUser(t, f.sim, "contoso", adele).AuthenticationMethods {
		if m.Type == "phoneAuthenticationMethod" {
			phoneID = m.ID
		}
	}
	res, err = remove("contoso", adele, phoneID)
	if err != nil {
		t.Fatalf("lost answer: %v", err)
	}
	if j := f.sim.Journal("contoso")[before:]; len(j) != 1 || j[0].Answered != 503 {
		t.Fatalf("journal = %+v, want one applied DELETE", j)
	}
	if slices.Contains(methodIDs(t, f, "contoso", adele), phoneID) {
		t.Fatal("the phone is still registered")
	}
	for _, bad := range []string{"", "a/b", "x?y"} {
		_, err = remove("contoso", adele, bad)
		wantCode(t, err, tierzero.EInvalid)
	}
}

// An admin's methods need Privileged Authentication Administrator
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions):
// with only Authentication Administrator Graph answers 403
// Authorization_RequestDenied, and the tool names the missing role.
func TestRemoveAuthMethodOfAdminNeedsRole(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.SetAppRoles("contoso", []string{"Authentication Administrator"}); err != nil {
		t.Fatal(err)
	}
	const megan = "megan.bowen@contoso.com" // Global Administrator
	key := ""
	for _, m := range simUser(t, f.sim, "contoso", megan).AuthenticationMethods {
		if m.Type == "fido2AuthenticationMethod" {
			key = m.ID
		}
	}
	_, err := f.call(t, "contoso", graph.ActionUserRemoveAuthMethod, map[string]any{"user": megan, "method_id": key})
	wantCode(t, err, tierzero.EUnauthorized)
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "Privileged Authentication Administrator") || !strings.Contains(msg, "administrator") {
		t.Errorf("refusal = %q", msg)
	}
}

// Phone methods: POST adds one of a type the user lacks, PATCH changes
// the number of the existing one (fixed id per type); numbers are
// "+{country code} {number}x{extension}", e.g. "+1 5555551234", and Graph
// rejects others
// (https://learn.microsoft.com/en-us/graph/api/resources/phoneauthenticationmethod,
// https://learn.microsoft.com/en-us/graph/api/phoneauthenticationmethod-update);
// an alternateMobile needs a mobile
// (https://learn.microsoft.com/en-us/graph/api/authentication-post-phonemethods).
func TestSetPhoneMethod(t *testing.T) {
	f := newFixture(t)
	set := func(user, number, typ string) (tierzero.ToolResult, error) {
		return f.call(t, "contoso", graph.ActionUserSetPhoneMethod, map[string]any{"user": user, "phone_number": number, "phone_type": typ})
	}
	phoneOf := func(user, typ string) string {
		for _, m := range simUser(t, f.sim, "contoso", user).AuthenticationMethods {
			if m.Type == "phoneAuthenticationMethod" && m.PhoneType == typ {
				return m.PhoneNumber
			}
		}
		return ""
	}
	const raul = "raul.razo@contoso.com" // has a mobile, no office phone
	res, err := set(raul, "+1 (425) 555-0100", "mobile")
	if err != nil {
		t.Fatal(err)
	}
	if o := out[map[string]any](t, res); o["changed"] != true || o["phoneNumber"] != "+* ********00" || strings.Contains(string(res.Output), "4255550100") {
		t.Fatalf("change = %s", res.Output)
	}
	if got := phoneOf(raul, "mobile"); got != "+1 4255550100" {
		t.Fatalf("mobile = %q", got)
	}
	j := f.sim.Journal("contoso")
	if len(j) != 1 || j[0].Method != "PATCH" || j[0].Status != 204 || !strings.HasSuffix(j[0].Path, "/phoneMethods/"+mobileID) ||
		!strings.Contains(string(j[0].Body), `"phoneNumber":"+1 4255550100"`) {
		t.Fatalf("journal = %+v", j)
	}
	// The same number, however spaced: nothing to write.
	res, err = set(raul, "+1 425 555 0100", "mobile")
	if o := out[map[string]any](t, res); err != nil || o["changed"] != false {
		t.Fatalf("same number: %s %v", res.Output, err)
	}
	// An office phone is added.
	if _, err := set(raul, "+1 4255550199x12", "office"); err != nil {
		t.Fatal(err)
	}
	if got := phoneOf(raul, "office"); got != "+1 4255550199x12" {
		t.Fatalf("office = %q", got)
	}
	j = f.sim.Journal("contoso")
	if len(j) != 2 || j[1].Method != "POST" || j[1].Status != 201 {
		t.Fatalf("journal = %+v", j)
	}
	// Not a number Graph takes: refused before any call.
	for _, bad := range []string{"4255550100", "+14255550100", "+1 42", "+1 425555abcd", "+0 4255550100", "+1 4255550100x", "+1234 5550100"} {
		_, err := set(raul, bad, "mobile")
		wantCode(t, err, tierzero.EInvalid)
	}
	_, err = set(raul, "+1 4255550100", "pager")
	wantCode(t, err, tierzero.EInvalid)
	// No alternate mobile without a mobile: said before the call.
	if _, err := f.call(t, "contoso", graph.ActionUserRemoveAuthMethod, map[string]any{"user": raul, "method_id": mobileID}); err != nil {
		t.Fatal(err)
	}
	_, err = set(raul, "+1 4255550111", "alternateMobile")
	wantCode(t, err, tierzero.EConflict)
	if n := len(f.sim.Journal("contoso")); n != 3 {
		t.Fatalf("journal has %d writes, want the change, the addition and the removal", n)
	}

	// The answer lost after the write: the read-back finds the number.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/users/*/authentication/phoneMethods", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := set(raul, "+1 4255550122", "mobile"); err != nil {
		t.Fatalf("lost answer: %v", err)
	}
	if j := f.sim.Journal("contoso")[3:]; len(j) != 1 || j[0].Answered != 503 || phoneOf(raul, "mobile") != "+1 4255550122" {
		t.Fatalf("journal = %+v", j)
	}
}

// Identity Protection: dismiss sets the risk level to none (state
// dismissed), confirmCompromised sets it to high (confirmedCompromised),
// both 204 and both need Entra ID P2
// (https://learn.microsoft.com/en-us/graph/api/riskyuser-dismiss,
// https://learn.microsoft.com/en-us/graph/api/riskyuser-confirmcompromised).
func TestRiskActions(t *testing.T) {
	f := newFixture(t)
	const lidia = "lidia.holloway@contoso.com" // high, atRisk
	res, err := f.exec(t, "contoso", graph.ActionUserDismissRisk, lidia)
	if err != nil {
		t.Fatal(err)
	}
	if o := out[map[string]any](t, res); o["dismissed"] != true || o["riskState"] != "dismissed" {
		t.Fatalf("dismiss = %s", res.Output)
	}
	u := simUser(t, f.sim, "contoso", lidia)
	if u.Risk == nil || u.Risk.State != "dismissed" || u.Risk.Level != "none" {
		t.Fatalf("risk = %+v", u.Risk)
	}
	j := f.sim.Journal("contoso")
	if len(j) != 1 || j[0].Method != "POST" || j[0].Path != "/v1.0/identityProtection/riskyUsers/dismiss" || j[0].Status != 204 ||
		!strings.Contains(string(j[0].Body), `"userIds":["`+u.ID+`"]`) {
		t.Fatalf("journal = %+v", j)
	}
	// Dismissed already, and a user never flagged: nothing to send.
	for _, who := range []string{lidia, "adele.vance@contoso.com"} {
		res, err := f.exec(t, "contoso", graph.ActionUserDismissRisk, who)
		if o := out[map[string]any](t, res); err != nil || o["dismissed"] != false {
			t.Fatalf("%s: %s %v", who, res.Output, err)
		}
	}
	if len(f.sim.Journal("contoso")) != 1 {
		t.Fatal("a dismissal was sent with nothing to dismiss")
	}

	// Confirm compromised; twice is once.
	const adele = "adele.vance@contoso.com"
	for range 2 {
		res, err = f.exec(t, "contoso", graph.ActionUserConfirmCompromised, adele)
		if o := out[map[string]any](t, res); err != nil || o["confirmedCompromised"] != true || o["riskState"] != "confirmedCompromised" {
			t.Fatalf("confirm: %s %v", res.Output, err)
		}
	}
	if r := simUser(t, f.sim, "contoso", adele).Risk; r == nil || r.State != "confirmedCompromised" || r.Level != "high" {
		t.Fatalf("risk = %+v", r)
	}
	if j := f.sim.Journal("contoso"); len(j) != 2 || j[1].Path != "/v1.0/identityProtection/riskyUsers/confirmCompromised" {
		t.Fatalf("journal = %+v", j)
	}

	// The answer lost: the read-back finds the state.
	if err := f.sim.AddFault("fabrikam", sim.Fault{Method: "POST", Path: "/v1.0/identityProtection/riskyUsers/confirmCompromised", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exec(t, "fabrikam", graph.ActionUserConfirmCompromised, "liam.oconnor@fabrikam.com"); err != nil {
		t.Fatalf("lost answer: %v", err)
	}
	if j := f.sim.Journal("fabrikam"); len(j) != 1 || j[0].Answered != 503 {
		t.Fatalf("journal = %+v, want one applied POST", j)
	}

	// Without P2 (Business Premium): refused in plain words before any call.
	g, cnt := p1Fixture(t)
	for _, action := range []string{graph.ActionUserDismissRisk, graph.ActionUserConfirmCompromised} {
		_, err := g.exec(t, "contoso", action, lidia)
		wantCode(t, err, tierzero.EConflict)
		if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "Entra ID P2") {
			t.Errorf("%s: refusal = %q", action, msg)
		}
	}
	if cnt.count("riskyUsers") != 0 || len(g.sim.Journal("contoso")) != 0 {
		t.Errorf("Identity Protection was called on a tenant known to lack P2")
	}
}
