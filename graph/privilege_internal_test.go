package graph

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// rolesNeeded: Helpdesk Administrator resets non-admins' passwords but
// enables or disables no one; an admin's (or a role-assignable group
// member's) password, account, TAP, MFA or sessions need Privileged
// Authentication Administrator or Global Administrator; a role-assignable
// group's members need Privileged Role Administrator; the rest needs no
// directory role (https://learn.microsoft.com/en-us/graph/api/user-update,
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
func TestRolesNeeded(t *testing.T) {
	tests := []struct {
		action     string
		privileged bool
		first      string // the least role named first; "" for none needed
		allows     []string
		refuses    []string
	}{
		{ActionUserResetPassword, false, RoleHelpdeskAdmin, []string{RoleUserAdmin, RolePasswordAdmin, RoleGlobalAdmin}, []string{RolePrivilegedRoleAdmin}},
		{ActionUserResetPassword, true, RolePrivilegedAuthAdmin, []string{RoleGlobalAdmin}, []string{RoleUserAdmin, RoleHelpdeskAdmin}},
		{ActionUserEnable, false, RoleUserAdmin, []string{RolePrivilegedAuthAdmin, RoleGlobalAdmin}, []string{RoleHelpdeskAdmin}},
		{ActionUserBlockSignIn, false, RoleUserAdmin, nil, []string{RoleHelpdeskAdmin, RolePasswordAdmin}},
		{ActionUserBlockSignIn, true, RolePrivilegedAuthAdmin, nil, []string{RoleUserAdmin}},
		{ActionUserIssueTAP, false, "", nil, nil},
		{ActionUserIssueTAP, true, RolePrivilegedAuthAdmin, nil, []string{RoleUserAdmin}},
		{ActionUserRevokeSessions, true, RolePrivilegedAuthAdmin, nil, nil},
		{ActionGroupAddMember, false, "", nil, nil},
		{ActionGroupAddMember, true, RolePrivilegedRoleAdmin, []string{RoleGlobalAdmin}, []string{RoleUserAdmin, RolePrivilegedAuthAdmin}},
		{ActionUserSetManager, false, "", nil, nil},
		{ActionUserRemoveAuthMethod, false, RoleAuthAdmin, []string{RolePrivilegedAuthAdmin}, []string{RoleUserAdmin, RoleHelpdeskAdmin}},
		{ActionUserRemoveAuthMethod, true, RolePrivilegedAuthAdmin, nil, []string{RoleAuthAdmin}},
		{ActionUserSetPhoneMethod, true, RolePrivilegedAuthAdmin, nil, []string{RoleAuthAdmin}},
		{ActionUserDismissRisk, false, RoleSecurityAdmin, []string{RoleSecurityOperator, RoleGlobalAdmin}, []string{RoleUserAdmin}},
		{ActionUserConfirmCompromised, true, RoleSecurityAdmin, []string{RoleSecurityOperator}, []string{RolePrivilegedAuthAdmin}},
		{ActionUserMFARegistration, false, "", nil, nil},
		{ActionUserGet, true, "", nil, nil},
	}
	for _, tt := range tests {
		got := rolesNeeded(tt.action, tt.privileged)
		if tt.first == "" {
			if got != nil {
				t.Errorf("%s (privileged %v) = %v, want none", tt.action, tt.privileged, got)
			}
			continue
		}
		if len(got) == 0 || got[0] != tt.first {
			t.Errorf("%s (privileged %v) = %v, want %s first", tt.action, tt.privileged, got, tt.first)
		}
		for _, r := range tt.allows {
			if !slices.Contains(got, r) {
				t.Errorf("%s (privileged %v) = %v, want %s in it", tt.action, tt.privileged, got, r)
			}
		}
		for _, r := range tt.refuses {
			if slices.Contains(got, r) {
				t.Errorf("%s (privileged %v) = %v, want no %s", tt.action, tt.privileged, got, r)
			}
		}
	}
	// The caller may not change the table through the result.
	rolesNeeded(ActionUserEnable, false)[0] = "x"
	if rolesNeeded(ActionUserEnable, false)[0] != RoleUserAdmin {
		t.Fatal("rolesNeeded returned the table itself")
	}
}

// Under delegated sign-in Graph checks the signed-in user's roles, not the
// app's ("In delegated scenarios with work or school accounts, the
// signed-in user must be assigned a supported Microsoft Entra role":
// https://learn.microsoft.com/en-us/graph/api/user-update,
// https://learn.microsoft.com/en-us/graph/permissions-overview#delegated-permissions):
// the refusal says the signed-in admin lacks the role, not the app.
func TestExplainRefusalDelegated(t *testing.T) {
	e := newExecEnv(t, 0)
	e.c.cfg.Token = func(_ context.Context, t tierzero.TenantID) (string, error) {
		return sim.DelegatedToken(string(t), "nestor.wilke@contoso.com"), nil // Helpdesk Administrator
	}
	e.c.cfg.Delegated = func(t tierzero.TenantID) bool { return t == "contoso" }
	raw, _ := json.Marshal(map[string]string{"user": "megan.bowen@contoso.com"}) // an admin
	call := tierzero.ToolCall{ID: "c1", Action: ActionUserResetPassword, Args: raw}
	h, _ := tierzero.ArgsHash(call.Args)
	p := tierzero.Permit{Tenant: "contoso", Action: call.Action, ArgsHash: h, Nonce: "n1", Expires: time.Now().Add(time.Minute)}
	p.Sig = ed25519.Sign(e.key, p.SigningBytes())
	_, err := e.c.Execute(context.Background(), p, "contoso", call)
	msg := tierzero.ErrorMessage(err)
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(msg, "the signed-in admin lacks the Privileged Authentication Administrator role needed to reset the password of an administrator") ||
		strings.Contains(msg, "tierzero's app") {
		t.Fatalf("delegated refusal: %v", err)
	}
	if whose, _ := e.c.whoseRoles("fabrikam"); whose != "tierzero's app in this tenant" {
		t.Fatalf("app-only tenant: %q", whose)
	}
}
