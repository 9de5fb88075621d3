package graph_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// The tools run through the real msgraph-sdk-go against graph/sim on loopback.

type fixture struct {
	client *graph.Client
	sim    *sim.Server
	key    ed25519.PrivateKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := graph.New(graph.Config{
		BaseURL: srv.URL + "/v1.0",
		Token:   func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits: tierzero.NewPermitVerifier(pub, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{client: c, sim: s, key: priv}
}

// permit signs a permit by hand, as policy would.
func (f *fixture) permit(tenant tierzero.TenantID, call tierzero.ToolCall) tierzero.Permit {
	h, err := tierzero.ArgsHash(call.Args)
	if err != nil {
		panic(err)
	}
	p := tierzero.Permit{Tenant: tenant, Action: call.Action, ArgsHash: h, Nonce: call.ID + time.Now().String(), Expires: time.Now().Add(time.Minute)}
	p.Sig = ed25519.Sign(f.key, p.SigningBytes())
	return p
}

func (f *fixture) exec(t *testing.T, tenant tierzero.TenantID, action, user string) (tierzero.ToolResult, error) {
	t.Helper()
	args, _ := json.Marshal(map[string]string{"user": user})
	call := tierzero.ToolCall{ID: "c1", Action: action, Args: args}
	return f.client.Execute(context.Background(), f.permit(tenant, call), tenant, call)
}

func TestUserGet(t *testing.T) {
	f := newFixture(t)
	res, err := f.exec(t, "contoso", graph.ActionUserGet, "adele.vance@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		UPN        string `json:"userPrincipalName"`
		Department string `json:"department"`
		Enabled    bool   `json:"accountEnabled"`
	}
	if err := json.Unmarshal(res.Output, &p); err != nil {
		t.Fatal(err)
	}
	if p.UPN != "adele.vance@contoso.com" || p.Department != "Marketing" || !p.Enabled {
		t.Fatalf("user.get = %s", res.Output)
	}
	if len(f.sim.Journal("contoso")) != 0 {
		t.Fatal("a read was journaled as a mutation")
	}
}

func TestResetPassword(t *testing.T) {
	f := newFixture(t)
	res, err := f.exec(t, "contoso", graph.ActionUserResetPassword, "adele.vance@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	pw := res.Secret.Reveal()
	if len(pw) < 12 || res.Secret.Kind != "temporary_password" {
		t.Fatalf("secret = %v (%d chars), want a temporary password", res.Secret, len(pw))
	}
	if strings.Contains(string(res.Output), pw) {
		t.Fatal("the password is in the output the model sees")
	}
	j := f.sim.Journal("contoso")
	if len(j) != 1 || j[0].Method != "PATCH" || j[0].Status != 204 {
		t.Fatalf("journal = %+v, want one 204 PATCH", j)
	}
	if !strings.Contains(string(j[0].Body), `"forceChangePasswordNextSignIn":true`) || strings.Contains(string(j[0].Body), pw) {
		t.Fatalf("journal body = %s, want the force flag and no clear password", j[0].Body)
	}
	st, _ := f.sim.State("contoso")
	for _, u := range st.Users {
		if u.UserPrincipalName == "adele.vance@contoso.com" && !u.ForceChangePasswordNextSignIn {
			t.Fatal("the simulator did not record forceChangePasswordNextSignIn")
		}
	}
	if len(f.sim.Journal("fabrikam")) != 0 {
		t.Fatal("a contoso write reached fabrikam")
	}
}

func TestRevokeSessions(t *testing.T) {
	f := newFixture(t)
	if _, err := f.exec(t, "contoso", graph.ActionUserRevokeSessions, "alex.wilber@contoso.com"); err != nil {
		t.Fatal(err)
	}
	j := f.sim.Journal("contoso")
	if len(j) != 1 || j[0].Method != "POST" || !strings.HasSuffix(j[0].Path, "/revokeSignInSessions") {
		t.Fatalf("journal = %+v", j)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		tenant tierzero.TenantID
		action string
		user   string
		want   string
	}{
		{"no such user", "contoso", graph.ActionUserGet, "nobody@contoso.com", tierzero.ENotFound},
		{"other tenant's user", "contoso", graph.ActionUserResetPassword, "ben.walters@fabrikam.com", tierzero.ENotFound},
		{"unknown tenant", "initech", graph.ActionUserGet, "a@initech.com", tierzero.EUnauthorized},
		{"path in the user", "contoso", graph.ActionUserGet, "../groups", tierzero.EInvalid},
		{"query in the user", "contoso", graph.ActionUserResetPassword, "adele.vance@contoso.com?$select=id", tierzero.EInvalid},
		{"unknown action", "contoso", "user.wipe_everything", "adele.vance@contoso.com", tierzero.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.exec(t, tt.tenant, tt.action, tt.user)
			if got := tierzero.ErrorCode(err); got != tt.want {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.want)
			}
			if msg := tierzero.ErrorMessage(err); msg == "" || strings.Contains(msg, "tierzero-sim.") {
				t.Fatalf("unsafe or empty message %q", msg)
			}
		})
	}
	for _, j := range f.sim.Journal("contoso") {
		if j.Status < 400 {
			t.Fatalf("a failed call changed something: %+v", j)
		}
	}
}

func TestExecuteWithoutValidPermitSendsNothing(t *testing.T) {
	f := newFixture(t)
	args := json.RawMessage(`{"user":"adele.vance@contoso.com"}`)
	call := tierzero.ToolCall{ID: "c1", Action: graph.ActionUserResetPassword, Args: args}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged := f.permit("contoso", call)
	forged.Sig = ed25519.Sign(otherKey, forged.SigningBytes())
	other := tierzero.ToolCall{ID: "c2", Action: graph.ActionUserResetPassword, Args: json.RawMessage(`{"user":"alex.wilber@contoso.com"}`)}
	for name, p := range map[string]tierzero.Permit{
		"none":           {},
		"forged":         forged,
		"for other args": f.permit("contoso", other),
		"for a read":     f.permit("contoso", tierzero.ToolCall{Action: graph.ActionUserGet, Args: args}),
	} {
		if _, err := f.client.Execute(context.Background(), p, "contoso", call); tierzero.ErrorCode(err) != tierzero.EDenied {
			t.Errorf("%s: err = %v, want denied", name, err)
		}
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Fatalf("journal = %+v, want nothing sent", j)
	}
}

func TestUserFacts(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		ref, wantManager, wantRole string
	}{
		{"adele.vance@contoso.com", "miriam.graham@contoso.com", ""},
		{"megan.bowen@contoso.com", "", "Global Administrator"},
		{"patti.fernandez@contoso.com", "", ""},
		{"tara.ellis@fabrikam.com", "", "Global Administrator"},
		{"allan.deyoung@contoso.com", "megan.bowen@contoso.com", "member of role-assignable group IT Admins"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			tenant := tierzero.TenantID(strings.TrimSuffix(strings.SplitN(tt.ref, "@", 2)[1], ".com"))
			got, err := f.client.UserFacts(context.Background(), tenant, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.UPN != tt.ref || got.ObjectID == "" {
				t.Fatalf("facts = %+v", got)
			}
			if got.Manager == nil || tt.wantManager != "" && *got.Manager != tt.wantManager {
				t.Errorf("manager = %v, want %q", got.Manager, tt.wantManager)
			}
			if got.Department == nil || *got.Department != simUserOf(t, f, string(tenant), tt.ref).Department {
				t.Errorf("department = %v", got.Department)
			}
			if got.AdminRoles == nil || tt.wantRole == "" && len(got.AdminRoles) != 0 || tt.wantRole != "" && !slices.Contains(got.AdminRoles, tt.wantRole) {
				t.Errorf("admin roles = %#v, want %q", got.AdminRoles, tt.wantRole)
			}
			allStaff := simGroupOf(t, f, string(tenant), "All Staff")
			if !slices.Contains(got.Groups, tierzero.GroupRef{ID: allStaff.ID, Name: "All Staff"}) {
				t.Errorf("groups = %v, want the user's groups by id and name", got.Groups)
			}
		})
	}
	risky, err := f.client.UserFacts(context.Background(), "contoso", "lidia.holloway@contoso.com")
	if err != nil || risky.RiskLevel != "high" {
		t.Fatalf("risk of lidia = %q (%v), want high", risky.RiskLevel, err)
	}
	calm, err := f.client.UserFacts(context.Background(), "contoso", "adele.vance@contoso.com")
	if err != nil || calm.RiskLevel != "none" || !slices.ContainsFunc(calm.Groups, func(g tierzero.GroupRef) bool { return g.Name == "Marketing Team" }) {
		t.Fatalf("adele = %+v (%v), want risk none and her groups", calm, err)
	}
}

func TestNewRejectsInsecureBaseURL(t *testing.T) {
	for _, u := range []string{"http://graph.example.com/v1.0", "ftp://127.0.0.1/", "not a url"} {
		_, err := graph.New(graph.Config{BaseURL: u, Token: func(context.Context, tierzero.TenantID) (string, error) { return "", nil }, Permits: &tierzero.PermitVerifier{}})
		if err == nil {
			t.Errorf("New accepted %q", u)
		}
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pw, err := graph.NewPassword()
		if err != nil {
			t.Fatal(err)
		}
		classes := 0
		for _, set := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "!#$%*+-=?@"} {
			if strings.ContainsAny(pw, set) {
				classes++
			}
		}
		if len(pw) != 16 || classes != 4 || seen[pw] {
			t.Fatalf("password %q: length %d, %d classes, repeated %v", pw, len(pw), classes, seen[pw])
		}
		seen[pw] = true
	}
}
