package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// execArgs runs action with args in tenant with a hand-signed permit.
func (f *fixture) execArgs(t *testing.T, tenant tierzero.TenantID, action string, args map[string]string) (tierzero.ToolResult, error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	call := tierzero.ToolCall{ID: "c1", Action: action, Args: raw}
	return f.client.Execute(context.Background(), f.permit(tenant, call), tenant, call)
}

// writesTo returns the journal's write entries of tenant.
func (f *fixture) writesTo(tenant string) []sim.JournalEntry { return f.sim.Journal(tenant) }

func itAdminsID(t *testing.T, f *fixture, tenant string) string {
	t.Helper()
	st, _ := f.sim.State(tenant)
	for _, g := range st.Groups {
		if g.DisplayName == "IT Admins" {
			return g.ID
		}
	}
	t.Fatal("no IT Admins group")
	return ""
}

// An app holding only Helpdesk Administrator: Graph refuses with 403
// Authorization_RequestDenied ("Insufficient privileges to complete the
// operation.") what the role does not allow, and the tools name the missing
// role in plain words.
//   - A password reset app-only needs at least User Administrator; an
//     admin's needs Privileged Authentication Administrator or Global
//     Administrator (https://learn.microsoft.com/en-us/graph/api/user-update,
//     passwordProfile; https://learn.microsoft.com/en-us/answers/questions/360090/microsoft-graph
//     for the 403 body; techcommunity.microsoft.com/discussions/officegraph/permissions-required-to-update-password/3978494).
//     Helpdesk Administrator resets non-admins' passwords ("Can reset
//     passwords for non-administrators and Helpdesk Administrators", its
//     role description).
//   - Helpdesk Administrator cannot enable or disable accounts (LIBRARIES.md,
//     "Microsoft Graph on real tenants"; the user-update page: accountEnabled
//     of others needs User Administrator or above).
//   - Members of a role-assignable group are managed by Privileged Role
//     Administrators (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
func TestHelpdeskOnlyAppNamesMissingRole(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.SetAppRoles("contoso", []string{"Helpdesk Administrator"}); err != nil {
		t.Fatal(err)
	}
	group := itAdminsID(t, f, "contoso")
	tests := []struct {
		name   string
		action string
		args   map[string]string
		want   string // in the error message
	}{
		{"reset an admin's password", graph.ActionUserResetPassword, map[string]string{"user": "megan.bowen@contoso.com"},
			"lacks the Privileged Authentication Administrator role needed to reset the password of an administrator"},
		{"reset a role-assignable group member's password", graph.ActionUserResetPassword, map[string]string{"user": "allan.deyoung@contoso.com"},
			"lacks the Privileged Authentication Administrator role needed to reset the password of a member of a role-assignable group"},
		{"enable anyone", graph.ActionUserEnable, map[string]string{"user": "gerhart.moller@contoso.com"},
			"lacks the User Administrator role needed to enable the account of a user"},
		{"block anyone", graph.ActionUserBlockSignIn, map[string]string{"user": "alex.wilber@contoso.com"},
			"lacks the User Administrator role needed to block sign-in for a user"},
		{"block an admin", graph.ActionUserBlockSignIn, map[string]string{"user": "isaiah.langer@contoso.com"},
			"lacks the Privileged Authentication Administrator role needed to block sign-in for an administrator"},
		{"TAP for an admin", graph.ActionUserIssueTAP, map[string]string{"user": "megan.bowen@contoso.com"},
			"lacks the Privileged Authentication Administrator role needed to issue a Temporary Access Pass to an administrator"},
		{"role-assignable group membership", graph.ActionGroupAddMember, map[string]string{"group": group, "user": "alex.wilber@contoso.com"},
			"lacks the Privileged Role Administrator role needed to add members to a role-assignable group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.writesTo("contoso"))
			res, err := f.execArgs(t, "contoso", tt.action, tt.args)
			if err == nil {
				t.Fatalf("%s ran: %s", tt.action, res.Output)
			}
			if got := tierzero.ErrorCode(err); got != tierzero.EUnauthorized {
				t.Errorf("code = %s, want %s (%v)", got, tierzero.EUnauthorized, err)
			}
			msg := tierzero.ErrorMessage(err)
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "tierzero's app in this tenant") {
				t.Errorf("message = %q, want it to say %q", msg, tt.want)
			}
			if res.Secret.Reveal() != "" {
				t.Error("a refused call delivered a secret")
			}
			j := f.writesTo("contoso")[before:]
			if len(j) != 1 || j[0].Status != 403 {
				t.Errorf("journal = %+v, want the one write Graph refused with 403", j)
			}
		})
	}
	// What Helpdesk Administrator may do still works: a non-admin's password.
	if _, err := f.exec(t, "contoso", graph.ActionUserResetPassword, "adele.vance@contoso.com"); err != nil {
		t.Fatalf("reset a non-admin's password with Helpdesk Administrator: %v", err)
	}
	// A non-admin's TAP needs no directory role (the application permission).
	if _, err := f.execArgs(t, "contoso", graph.ActionUserIssueTAP, map[string]string{"user": "alex.wilber@contoso.com"}); err != nil {
		t.Fatalf("TAP for a non-admin: %v", err)
	}
	// fabrikam's app keeps its seeded roles.
	if _, err := f.exec(t, "fabrikam", graph.ActionUserResetPassword, "tara.ellis@fabrikam.com"); err != nil {
		t.Fatalf("reset an admin's password in fabrikam (seeded roles): %v", err)
	}
}

// The seeded roles (User, Privileged Authentication and Privileged Role
// Administrator) allow what tierzero does, on admins too; once granted the
// missing role, the refused call goes through.
func TestSeededAppRoles(t *testing.T) {
	f := newFixture(t)
	app, ok := f.sim.App("contoso")
	if !ok || len(app.Roles) != 3 {
		t.Fatalf("contoso app = %+v", app)
	}
	if err := f.sim.SetAppRoles("contoso", []string{"User Administrator"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.exec(t, "contoso", graph.ActionUserResetPassword, "megan.bowen@contoso.com")
	if msg := tierzero.ErrorMessage(err); !strings.Contains(msg, "Privileged Authentication Administrator role") || !strings.Contains(msg, "Global Administrator would also do") {
		t.Fatalf("User Administrator resetting an admin: %v", err)
	}
	if err := f.sim.SetAppRoles("contoso", []string{"User Administrator", "Privileged Authentication Administrator"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exec(t, "contoso", graph.ActionUserResetPassword, "megan.bowen@contoso.com"); err != nil {
		t.Fatalf("with the role granted: %v", err)
	}
}

// A 403 Authorization_RequestDenied on a call that needs no directory role
// (a read, or a write rolesNeeded does not list) is left as Graph said it.
func TestOtherRefusalsUnchanged(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/users/*/revokeSignInSessions", Status: 403, Count: 1}); err != nil {
		t.Fatal(err)
	}
	// alex is no admin: revoking sessions needs no role, so no role is named.
	_, err := f.exec(t, "contoso", graph.ActionUserRevokeSessions, "alex.wilber@contoso.com")
	if err == nil || strings.Contains(tierzero.ErrorMessage(err), "lacks the") {
		t.Fatalf("err = %v, want Graph's refusal as it is", err)
	}
}

// Hybrid users, synced from on-premises Active Directory
// (onPremisesSyncEnabled): Graph refuses to change their password or
// accountEnabled with 400 Request_BadRequest "Unable to update the
// specified properties for on-premises mastered Directory Sync objects or
// objects currently undergoing migration." (reported in
// https://github.com/microsoftgraph/microsoft-graph-docs/issues/7301 for the
// password, #18038 for other properties; their manager too:
// https://github.com/OfirGavish/MSCloudNinjaUserManagementTool/issues/1).
// The tools read onPremisesSyncEnabled first, do not try, and say the
// account is managed on-premises so the request goes to the MSP.
func TestHybridUserNotTried(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		action string
		args   map[string]string
		want   string
	}{
		{"reset password", graph.ActionUserResetPassword, map[string]string{"user": "wanda.howard@contoso.com"}, "cannot reset the password of this account"},
		{"enable", graph.ActionUserEnable, map[string]string{"user": "carlos.slattery@contoso.com"}, "cannot enable this account"},
		{"block sign-in", graph.ActionUserBlockSignIn, map[string]string{"user": "wanda.howard@contoso.com"}, "cannot block sign-in for this account"},
		{"set manager", graph.ActionUserSetManager, map[string]string{"user": "carlos.slattery@contoso.com", "manager": "lee.gu@contoso.com"}, "cannot change the manager of this account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.execArgs(t, "contoso", tt.action, tt.args)
			if err == nil {
				t.Fatalf("ran: %s", res.Output)
			}
			if got := tierzero.ErrorCode(err); got != tierzero.EConflict {
				t.Errorf("code = %s, want %s", got, tierzero.EConflict)
			}
			msg := tierzero.ErrorMessage(err)
			for _, w := range []string{tt.want, "on-premises Active Directory", "MSP", tt.args["user"]} {
				if !strings.Contains(msg, w) {
					t.Errorf("message = %q, want %q in it", msg, w)
				}
			}
			if res.Secret.Reveal() != "" {
				t.Error("a refused reset delivered a secret")
			}
		})
	}
	if j := f.writesTo("contoso"); len(j) != 0 {
		t.Fatalf("journal = %+v, want no write tried on synced users", j)
	}
	// user.get shows that the account is synced.
	res, err := f.exec(t, "contoso", graph.ActionUserGet, "wanda.howard@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Synced bool `json:"onPremisesSyncEnabled"`
	}
	if json.Unmarshal(res.Output, &p); !p.Synced {
		t.Fatalf("user.get = %s, want onPremisesSyncEnabled", res.Output)
	}
}

// When Graph itself answers the on-premises 400 (the account became synced
// after the check), the tool says the same in plain words.
func TestHybridRefusalFromGraph(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "PATCH", Path: "/v1.0/users/*", Status: 400, Code: "Request_BadRequest", Count: 1,
		Message: "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration."}); err != nil {
		t.Fatal(err)
	}
	_, err := f.exec(t, "contoso", graph.ActionUserBlockSignIn, "alex.wilber@contoso.com")
	if tierzero.ErrorCode(err) != tierzero.EConflict || !strings.Contains(tierzero.ErrorMessage(err), "on-premises Active Directory") {
		t.Fatalf("err = %v, want the on-premises refusal", err)
	}
}

// user.block_sign_in sets accountEnabled false and nothing else (sessions
// stay: user.revoke_sessions is separate); sent again it changes nothing.
// An answer lost after the write (503) is confirmed by reading it back.
func TestBlockSignIn(t *testing.T) {
	f := newFixture(t)
	before := simUser(t, f.sim, "contoso", "alex.wilber@contoso.com")
	for i := 0; i < 2; i++ {
		res, err := f.exec(t, "contoso", graph.ActionUserBlockSignIn, "alex.wilber@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(res.Output), `"signInBlocked":true`) {
			t.Fatalf("output = %s", res.Output)
		}
	}
	after := simUser(t, f.sim, "contoso", "alex.wilber@contoso.com")
	if after.AccountEnabled || !after.SignInSessionsValidFromDateTime.Equal(before.SignInSessionsValidFromDateTime) {
		t.Fatalf("after: enabled %v, sessions valid from %v (was %v)", after.AccountEnabled, after.SignInSessionsValidFromDateTime, before.SignInSessionsValidFromDateTime)
	}
	j := f.writesTo("contoso")
	if len(j) != 2 || j[0].Method != "PATCH" || j[0].Status != 204 {
		t.Fatalf("journal = %+v", j)
	}
	var body map[string]any
	if err := json.Unmarshal(j[0].Body, &body); err != nil || body["accountEnabled"] != false || len(body) != 2 || body["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("PATCH body = %s, want accountEnabled false alone", j[0].Body)
	}
	// applied, then the answer lost: the read-back confirms it.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "PATCH", Path: "/v1.0/users/*", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := f.exec(t, "contoso", graph.ActionUserBlockSignIn, "raul.razo@contoso.com")
	if err != nil {
		t.Fatalf("applied then 503: %v", err)
	}
	if simUser(t, f.sim, "contoso", "raul.razo@contoso.com").AccountEnabled || !strings.Contains(string(res.Output), "raul.razo") {
		t.Fatalf("raul still enabled, or output %s", res.Output)
	}
}

// user.set_manager replaces the manager (PUT /users/{id}/manager/$ref,
// https://learn.microsoft.com/en-us/graph/api/user-post-manager: 204 No
// Content); a lost answer is read back; a user cannot manage themselves;
// an unknown manager is not found.
func TestSetManager(t *testing.T) {
	f := newFixture(t)
	set := func(user, manager string) (tierzero.ToolResult, error) {
		return f.execArgs(t, "contoso", graph.ActionUserSetManager, map[string]string{"user": user, "manager": manager})
	}
	res, err := set("grady.archie@contoso.com", "lidia.holloway@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if m := simUser(t, f.sim, "contoso", "grady.archie@contoso.com").Manager; m != "lidia.holloway@contoso.com" {
		t.Fatalf("manager = %q, output %s", m, res.Output)
	}
	j := f.writesTo("contoso")
	if len(j) != 1 || j[0].Method != "PUT" || j[0].Status != 204 || !strings.HasSuffix(j[0].Path, "/manager/$ref") {
		t.Fatalf("journal = %+v", j)
	}
	// The manager as user.get shows it.
	got, err := f.exec(t, "contoso", graph.ActionUserGet, "grady.archie@contoso.com")
	if err != nil || !strings.Contains(string(got.Output), "lidia.holloway@contoso.com") {
		t.Fatalf("user.get = %s, %v", got.Output, err)
	}
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "PUT", Path: "/v1.0/users/*/manager/$ref", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := set("grady.archie@contoso.com", "henrietta.mueller@contoso.com"); err != nil {
		t.Fatalf("applied then 503: %v", err)
	}
	if m := simUser(t, f.sim, "contoso", "grady.archie@contoso.com").Manager; m != "henrietta.mueller@contoso.com" {
		t.Fatalf("manager = %q after the lost answer", m)
	}
	if _, err := set("grady.archie@contoso.com", "grady.archie@contoso.com"); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Fatalf("own manager: %v", err)
	}
	if _, err := set("grady.archie@contoso.com", "nobody@contoso.com"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatalf("unknown manager: %v", err)
	}
	if _, err := set("grady.archie@contoso.com", "lidia.holloway@contoso.com/../x"); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Fatalf("a path in the manager: %v", err)
	}
}
