package graph

// GDAP end to end: a technician signs in once (device code) to the MSP's
// partner tenant at a local TLS identity platform that serves every tenant's
// authority as login.microsoftonline.com does; the partner's refresh token,
// redeemed at each client tenant's own authority, gives a token per client
// (the Secure Application Model,
// https://learn.microsoft.com/en-us/partner-center/developer/enable-secure-app-model);
// the real Client reads the relationships from the partner tenant
// (https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships)
// and acts in graph/sim's contoso and fabrikam.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

const partnerApp = "0b6f4c3e-2d1a-4f5e-8c7b-9a0d1e2f3a4b"

// multiIDP is an identity platform serving the authorities of several
// tenants, by Entra tenant id.
type multiIDP struct {
	srv     *httptest.Server
	tenants map[string]string // Entra tenant id -> simulator tenant name
	partner string            // the partner's Entra tenant id

	mu       sync.Mutex
	requests map[string][]string // Entra tenant id -> grant types asked at its authority
	issued   map[string]string   // refresh token -> Entra tenant id it was issued at
	n        int
}

func newMultiIDP(t *testing.T, s *sim.Server) *multiIDP {
	t.Helper()
	p := &multiIDP{tenants: map[string]string{}, requests: map[string][]string{}, issued: map[string]string{}}
	for _, name := range []string{"msp", "contoso", "fabrikam"} {
		id, ok := s.TenantID(name)
		if !ok {
			t.Fatalf("no tenant id for %s", name)
		}
		p.tenants[id] = name
	}
	p.partner, _ = s.TenantID("msp")
	p.srv = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *multiIDP) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[1] != "oauth2" || parts[2] != "v2.0" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	id := parts[0]
	name, ok := p.tenants[id]
	if !ok {
		oauthFail(w, 400, "invalid_request", "AADSTS90002: Tenant '"+id+"' not found.")
		return
	}
	r.ParseForm()
	f := r.PostForm
	if f.Get("client_id") != partnerApp {
		oauthFail(w, 400, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
		return
	}
	switch parts[3] {
	case "devicecode":
		p.requests[id] = append(p.requests[id], "devicecode")
		writeJSONResp(w, map[string]any{"device_code": "dc-partner", "user_code": "GDAP1234", "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 1})
	case "token":
		grant := f.Get("grant_type")
		p.requests[id] = append(p.requests[id], grant)
		var access string
		switch grant {
		case "urn:ietf:params:oauth:grant-type:device_code":
			if id != p.partner || f.Get("device_code") != "dc-partner" {
				oauthFail(w, 400, "bad_verification_code", "AADSTS70019: Verification code expired.")
				return
			}
			access = sim.PartnerToken("msp", "tess@msp.example")
		case "refresh_token":
			// The partner's refresh token is good at the partner and, through
			// GDAP, at every customer's authority; a customer's own only there.
			at, ok := p.issued[f.Get("refresh_token")]
			if !ok || at != p.partner && at != id || !strings.Contains(f.Get("scope"), "offline_access") {
				oauthFail(w, 400, "invalid_grant", "AADSTS50173: The provided grant has expired.")
				return
			}
			if id == p.partner {
				access = sim.PartnerToken("msp", "tess@msp.example")
			} else {
				access = sim.GDAPToken("msp", "tess@msp.example", name)
			}
		default:
			oauthFail(w, 400, "unsupported_grant_type", "AADSTS70003")
			return
		}
		p.n++
		rt := fmt.Sprintf("rt-%s-%d", name, p.n)
		p.issued[rt] = id
		writeJSONResp(w, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": access, "refresh_token": rt})
	default:
		http.NotFound(w, r)
	}
}

func (p *multiIDP) asked(id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.requests[id]...)
}

// credStore is a tenant-keyed credential store, as store.DB keeps them.
type credStore struct {
	mu sync.Mutex
	m  map[tierzero.TenantID]string
}

func (s *credStore) load(t tierzero.TenantID) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.m[t], nil }
}

func (s *credStore) save(t tierzero.TenantID) func(context.Context, string) error {
	return func(_ context.Context, rt string) error { s.mu.Lock(); defer s.mu.Unlock(); s.m[t] = rt; return nil }
}

func (s *credStore) get(t tierzero.TenantID) string { s.mu.Lock(); defer s.mu.Unlock(); return s.m[t] }

// gdapEnv is a Client reaching contoso and fabrikam through msp's GDAP.
type gdapEnv struct {
	sim   *sim.Server
	idp   *multiIDP
	c     *Client
	key   ed25519.PrivateKey
	store *credStore
	now   time.Time
}

func newGDAPEnv(t *testing.T) *gdapEnv {
	t.Helper()
	defer func(u time.Duration) { pollUnit = u }(pollUnit)
	pollUnit = time.Millisecond
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e := &gdapEnv{sim: s, idp: newMultiIDP(t, s), store: &credStore{m: map[tierzero.TenantID]string{}}, now: time.Now()}
	auth := func(tenant tierzero.TenantID, entra string) AuthConfig {
		return AuthConfig{Tenant: tenant, TenantID: entra, ClientID: partnerApp, AuthorityHost: e.idp.srv.URL, HTTPClient: e.idp.srv.Client()}
	}
	// the technician signs in once, to the partner tenant
	rt, err := DeviceCodeLogin(context.Background(), auth("msp", e.idp.partner), func(string, string, string) {})
	if err != nil {
		t.Fatal(err)
	}
	e.store.m["msp"] = rt

	var c *Client
	customers := map[tierzero.TenantID]string{}
	for _, name := range []tierzero.TenantID{"contoso", "fabrikam"} {
		customers[name], _ = s.TenantID(string(name))
	}
	gate := NewGDAP(GDAPConfig{
		Customers: customers,
		Read:      func(ctx context.Context) ([]Relationship, error) { return c.Relationships(ctx, "msp") },
		Now:       func() time.Time { return e.now },
	})
	sources := map[tierzero.TenantID]TokenSource{
		"msp": RefreshTokenSource(auth("msp", e.idp.partner), e.store.load("msp"), e.store.save("msp")),
	}
	for name, id := range customers {
		sources[name] = GDAPTokenSource(auth(name, id), gate, e.store.load(name), e.store.save(name), e.store.load("msp"))
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err = New(Config{BaseURL: srv.URL + "/v1.0", Token: Tokens(sources), Permits: tierzero.NewPermitVerifier(pub, nil), GDAP: gate})
	if err != nil {
		t.Fatal(err)
	}
	e.c, e.key = c, priv
	return e
}

// exec runs an action in a tenant with a hand-signed permit.
func (e *gdapEnv) exec(t *testing.T, tenant tierzero.TenantID, action string, args map[string]any) (tierzero.ToolResult, error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	call := tierzero.ToolCall{ID: "c1", Action: action, Args: raw}
	h, err := tierzero.ArgsHash(call.Args)
	if err != nil {
		t.Fatal(err)
	}
	p := tierzero.Permit{Tenant: tenant, Action: action, ArgsHash: h, Nonce: fmt.Sprint(time.Now().UnixNano()), Expires: time.Now().Add(time.Minute)}
	p.Sig = ed25519.Sign(e.key, p.SigningBytes())
	return e.c.Execute(context.Background(), p, tenant, call)
}

// One sign-in of the technician reaches two client tenants, each with its
// own token from its own authority, and each client's refresh token is kept
// apart from the partner's.
func TestGDAPTwoTenants(t *testing.T) {
	e := newGDAPEnv(t)
	contosoID, _ := e.sim.TenantID("contoso")
	fabrikamID, _ := e.sim.TenantID("fabrikam")

	if _, err := e.exec(t, "contoso", ActionUserGet, map[string]any{"user": "adele.vance@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.exec(t, "fabrikam", ActionUserGet, map[string]any{"user": "ben.walters@fabrikam.com"}); err != nil {
		t.Fatal(err)
	}
	// a write the contoso relationship allows (User Administrator)
	if _, err := e.exec(t, "contoso", ActionUserRevokeSessions, map[string]any{"user": "adele.vance@contoso.com"}); err != nil {
		t.Fatal(err)
	}

	// the token requests went to each client's own authority, once each
	for id, want := range map[string][]string{
		e.idp.partner: {"devicecode", "urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
		contosoID:     {"refresh_token"},
		fabrikamID:    {"refresh_token"},
	} {
		if got := e.idp.asked(id); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("authority %s (%s) was asked %v, want %v", id, e.idp.tenants[id], got, want)
		}
	}
	// each client saw its own token (the simulator picks the tenant by it), from the technician
	for tenant, n := range map[string]int{"contoso": 3, "fabrikam": 1} {
		reqs := e.sim.Requests(tenant)
		if len(reqs) < n {
			t.Fatalf("%s received %d requests, want at least %d: %+v", tenant, len(reqs), n, reqs)
		}
		for _, r := range reqs {
			if r.Caller != "gdap:msp/tess@msp.example" {
				t.Fatalf("%s: request %+v not from the technician through GDAP", tenant, r)
			}
		}
	}
	// each client's refresh token is its own, issued at its authority
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
		if rt := e.store.get(tenant); !strings.HasPrefix(rt, "rt-"+string(tenant)+"-") {
			t.Errorf("%s stored refresh token %q, want one issued at its own authority", tenant, rt)
		}
	}
	if rt := e.store.get("msp"); !strings.HasPrefix(rt, "rt-msp-") {
		t.Errorf("partner refresh token %q", rt)
	}

	// the relationships as tierzero shows them
	rels, err := e.c.Relationships(context.Background(), "msp")
	if err != nil {
		t.Fatal(err)
	}
	var fab Relationship
	for _, r := range rels {
		if r.CustomerTenantID == fabrikamID {
			fab = r
		}
	}
	if fab.Status != "active" || fab.End.IsZero() || strings.Join(fab.Roles, ", ") != "Helpdesk Administrator, License Administrator, Directory Readers" {
		t.Fatalf("fabrikam relationship %+v", fab)
	}
}

// A role the relationship lacks, or a relationship that has expired, is
// refused in plain words before any request reaches the client tenant or its
// authority; Graph would refuse with 403 Authorization_RequestDenied
// (https://learn.microsoft.com/en-us/partner-center/customers/gdap-introduction).
func TestGDAPRefusedBeforeAnyCall(t *testing.T) {
	e := newGDAPEnv(t)
	fabrikamID, _ := e.sim.TenantID("fabrikam")
	if _, err := e.exec(t, "fabrikam", ActionUserGet, map[string]any{"user": "ben.walters@fabrikam.com"}); err != nil {
		t.Fatal(err)
	}
	sent, asked := len(e.sim.Requests("fabrikam")), len(e.idp.asked(fabrikamID))

	// Helpdesk Administrator cannot enable accounts: fabrikam's relationship lacks User Administrator
	_, err := e.exec(t, "fabrikam", ActionUserEnable, map[string]any{"user": "jack.turner@fabrikam.com"})
	msg := tierzero.ErrorMessage(err)
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(msg, "User Administrator") || !strings.Contains(msg, "grants Helpdesk Administrator") || !strings.Contains(msg, "nothing was sent") {
		t.Fatalf("enable in fabrikam: %v", err)
	}
	// the relationship expires (the partner tenant says so once re-read)
	end := time.Now().Add(-time.Hour)
	if err := e.sim.ChangeRelationship("msp", "fabrikam", sim.RelationshipChange{End: &end}); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(10 * time.Minute)
	_, err = e.exec(t, "fabrikam", ActionUserGet, map[string]any{"user": "ben.walters@fabrikam.com"})
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "expired on") {
		t.Fatalf("read after expiry: %v", err)
	}
	// nor may a facts read (the token source) go there
	if _, err := e.c.User(context.Background(), "fabrikam", "ben.walters@fabrikam.com"); tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("facts after expiry: %v", err)
	}
	if got := e.sim.Requests("fabrikam"); len(got) != sent {
		t.Fatalf("fabrikam received %+v after the refusals, want nothing more than its %d", got[sent:], sent)
	}
	if got := e.idp.asked(fabrikamID); len(got) != asked {
		t.Fatalf("fabrikam's authority was asked %v after the refusals", got[asked:])
	}
	if len(e.sim.Journal("fabrikam")) != 0 {
		t.Fatalf("fabrikam journal %+v", e.sim.Journal("fabrikam"))
	}
	// contoso is unaffected
	if _, err := e.exec(t, "contoso", ActionUserGet, map[string]any{"user": "adele.vance@contoso.com"}); err != nil {
		t.Fatal(err)
	}
}

// Delegated mode: Graph answers 403 ErrorAccessDenied for another user's
// mailbox settings (delegated MailboxSettings.ReadWrite reaches only the
// signed-in user's own: https://learn.microsoft.com/en-us/graph/api/user-update-mailboxsettings,
// github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/7656), and
// set_auto_reply says so in plain words.
func TestSetAutoReplyDelegated(t *testing.T) {
	e := newExecEnv(t, 0)
	e.c.cfg.Token = func(_ context.Context, t tierzero.TenantID) (string, error) {
		return sim.DelegatedToken(string(t), "megan.bowen@contoso.com"), nil
	}
	args := func(user string) map[string]any {
		return map[string]any{"user": user, "status": "alwaysEnabled", "internalMessage": "Away today."}
	}
	exec := func(user string) error {
		raw, _ := json.Marshal(args(user))
		call := tierzero.ToolCall{ID: "c1", Action: ActionUserSetAutoReply, Args: raw}
		h, _ := tierzero.ArgsHash(call.Args)
		p := tierzero.Permit{Tenant: "contoso", Action: call.Action, ArgsHash: h, Nonce: user, Expires: time.Now().Add(time.Minute)}
		p.Sig = ed25519.Sign(e.key, p.SigningBytes())
		_, err := e.c.Execute(context.Background(), p, "contoso", call)
		return err
	}
	err := exec("adele.vance@contoso.com")
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "in delegated mode tierzero can only change the signed-in admin's own mailbox; use application permissions (MailboxSettings.ReadWrite) for this tenant or ask the MSP") {
		t.Fatalf("another's mailbox: %v", err)
	}
	if err := exec("megan.bowen@contoso.com"); err != nil {
		t.Fatalf("own mailbox: %v", err)
	}
}

// A relationship whose roles suffice for an ordinary user but not for an
// admin: Graph allows the sensitive writes on an admin (password, sign-in,
// authentication methods) only to Privileged Authentication Administrator
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions,
// "Who can reset passwords"; GDAP tokens carry only the relationship's
// roles: https://learn.microsoft.com/en-us/partner-center/customers/gdap-least-privileged-roles-by-task).
// contoso's relationship grants User and Authentication Administrator, not
// Privileged Authentication Administrator: tierzero reads whether the target
// is an admin (a read, which any role allows) and refuses the write before
// it is sent, naming the missing role.
func TestGDAPAdminTargetRefusedBeforeWrite(t *testing.T) {
	e := newGDAPEnv(t)
	for _, tt := range []struct {
		action string
		args   map[string]any
	}{
		{ActionUserResetPassword, map[string]any{"user": "megan.bowen@contoso.com"}},
		{ActionUserBlockSignIn, map[string]any{"user": "megan.bowen@contoso.com"}},
		{ActionUserIssueTAP, map[string]any{"user": "megan.bowen@contoso.com", "lifetimeInMinutes": 60}},
		{ActionUserRevokeSessions, map[string]any{"user": "megan.bowen@contoso.com"}},
	} {
		before := len(e.sim.Requests("contoso"))
		_, err := e.exec(t, "contoso", tt.action, tt.args)
		msg := tierzero.ErrorMessage(err)
		if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(msg, "Privileged Authentication Administrator") ||
			!strings.Contains(msg, "an administrator") || !strings.Contains(msg, "GDAP relationship") || !strings.Contains(msg, "nothing was changed") {
			t.Errorf("%s on an admin: %v", tt.action, err)
		}
		for _, r := range e.sim.Requests("contoso")[before:] {
			if r.Method != http.MethodGet {
				t.Errorf("%s on an admin sent %s %s", tt.action, r.Method, r.Path)
			}
		}
	}
	if j := e.sim.Journal("contoso"); len(j) != 0 {
		t.Fatalf("writes reached contoso: %+v", j)
	}
	// the same relationship resets an ordinary user's password
	if _, err := e.exec(t, "contoso", ActionUserResetPassword, map[string]any{"user": "adele.vance@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if j := e.sim.Journal("contoso"); len(j) != 1 || j[0].Method != http.MethodPatch {
		t.Fatalf("journal after an ordinary reset: %+v", j)
	}
	// with the role added to the relationship, the admin's reset goes through
	roles := append(e.relRoles(t, "contoso"), "Privileged Authentication Administrator")
	if err := e.sim.ChangeRelationship("msp", "contoso", sim.RelationshipChange{Roles: roles}); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(10 * time.Minute) // re-read
	if _, err := e.exec(t, "contoso", ActionUserResetPassword, map[string]any{"user": "megan.bowen@contoso.com"}); err != nil {
		t.Fatalf("with Privileged Authentication Administrator: %v", err)
	}
}

func (e *gdapEnv) relRoles(t *testing.T, customer string) []string {
	t.Helper()
	for _, r := range e.sim.Relationships("msp") {
		if r.Customer == customer {
			return r.Roles
		}
	}
	t.Fatalf("no relationship with %s", customer)
	return nil
}

// A refusal Graph gives anyway (here injected) names whose roles count: the
// relationship's, through GDAP.
func TestGDAPRefusalNamesTheRelationship(t *testing.T) {
	e := newGDAPEnv(t)
	if err := e.sim.AddFault("contoso", sim.Fault{Method: "PATCH", Kind: sim.FaultError, Status: 403, Code: "Authorization_RequestDenied"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.exec(t, "contoso", ActionUserResetPassword, map[string]any{"user": "adele.vance@contoso.com"})
	msg := tierzero.ErrorMessage(err)
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(msg, "the MSP's GDAP relationship with this tenant lacks the Helpdesk Administrator role") || strings.Contains(msg, "tierzero's app") {
		t.Fatalf("refusal through GDAP: %v", err)
	}
}

// Every tool of the catalog has GDAP roles: a new tool without an entry in
// gdapNeeds (or rolesNeeded) fails here, and Allow refuses it (fail closed).
func TestGDAPRolesCoverCatalog(t *testing.T) {
	for _, spec := range Catalog() {
		need, known := gdapRoles(spec.Action)
		if !known {
			t.Errorf("%s has no GDAP roles: add it to gdapNeeds (gdap.go)", spec.Action)
			continue
		}
		for _, r := range need {
			if _, ok := roleTemplateIDs[r]; !ok {
				t.Errorf("%s needs %q, whose role template id gdap.go does not know", spec.Action, r)
			}
		}
		if spec.Write && len(need) == 0 && !tierzero.IsPlanAction(spec.Action) {
			t.Errorf("%s is a write any role may run", spec.Action)
		}
	}
	// the MFA registration report: Reports Reader and the like
	// (https://learn.microsoft.com/en-us/graph/api/authenticationmethodsroot-list-userregistrationdetails)
	if need, _ := gdapRoles(ActionUserMFARegistration); !slices.Contains(need, "Reports Reader") {
		t.Errorf("user.mfa_registration needs %v", need)
	}
	g := NewGDAP(GDAPConfig{Customers: map[tierzero.TenantID]string{"c": "id"},
		Read: func(context.Context) ([]Relationship, error) {
			return []Relationship{{Name: "r", Status: "active", CustomerTenantID: "id", Roles: []string{RoleUserAdmin}}}, nil
		}})
	if err := g.Allow(context.Background(), "c", tierzero.ToolSpec{Action: "user.new_tool", Write: true}); tierzero.ErrorCode(err) != tierzero.EInternal {
		t.Fatalf("an unknown tool: %v", err)
	}
	if err := g.Allow(context.Background(), "c", tierzero.ToolSpec{Action: ActionUserMFARegistration}); tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "Reports Reader") {
		t.Fatalf("mfa_registration with User Administrator only: %v", err)
	}
}
