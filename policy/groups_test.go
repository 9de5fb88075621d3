package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// Issue 15, item 1: Guard resolves a group display name once, to the one
// group of the tenant that has it, and pins it: a group created later with
// the same name changes nothing; a name that several groups (or none) have
// resolves to nothing, and a rule that uses it denies.
func TestGuardPinsGroupNames(t *testing.T) {
	const doc = `scope: {tenant: contoso}
rules:
  - id: helpdesk-resets
    action: user.reset_password
    effect: allow
    when: {target: other, target_has_admin_role: false, requester_in_group: Helpdesk}
`
	set := setOf(t, append(BaselineFiles(), mustParse(t, "contoso.yaml", doc))...)
	helpdesk := *self
	helpdesk.Groups = groupsOf("Helpdesk")
	newGuard := func(t *testing.T, r *testResolver) (*Guard, *fakeExec) {
		t.Helper()
		signer, _ := NewSigner()
		exec := &fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), nil)}
		g, err := NewGuard(GuardConfig{
			Policies: set, Signer: signer, Executor: exec, Audit: &fakeAudit{},
			Directory: fakeDir{"adele@contoso.com": helpdesk, "alex@contoso.com": *alex},
			Tools:     toolSpecs("user.reset_password!"), TargetOf: newTestGuardTargetOf, GroupNames: r,
		})
		if err != nil {
			t.Fatal(err)
		}
		return g, exec
	}
	reset := tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"alex@contoso.com"}`)}
	run := func(t *testing.T, g *Guard) tierzero.ToolResult {
		t.Helper()
		res, err := g.RunTool(context.Background(), "contoso", adele, "conv", reset)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("pinned at first use", func(t *testing.T) {
		r := &testResolver{}
		g, exec := newGuard(t, r)
		run(t, g)
		// A second group named Helpdesk appears: the name is pinned.
		r.ambiguous = map[string]bool{"helpdesk": true}
		run(t, g)
		if len(exec.ran) != 2 || r.calls != 1 {
			t.Fatalf("ran %d, resolved %d times; want 2 runs on one resolution", len(exec.ran), r.calls)
		}
	})
	t.Run("ambiguous", func(t *testing.T) {
		r := &testResolver{ambiguous: map[string]bool{"helpdesk": true}}
		g, exec := newGuard(t, r)
		for range 2 {
			if res := run(t, g); res.Error == nil || res.Error.Code != tierzero.EDenied {
				t.Fatalf("result %+v, want denied", res.Error)
			}
		}
		if len(exec.ran) != 0 || r.calls != 2 {
			t.Fatalf("ran %d, resolved %d times; want none run, asked again each time", len(exec.ran), r.calls)
		}
		if err := g.PinGroups(context.Background(), "contoso"); err == nil || !strings.Contains(err.Error(), `"Helpdesk"`) {
			t.Fatalf("PinGroups = %v, want the ambiguous name", err)
		}
		// Once the duplicate is gone, the name resolves and is pinned.
		r.ambiguous = nil
		if err := g.PinGroups(context.Background(), "contoso"); err != nil {
			t.Fatal(err)
		}
		run(t, g)
		if len(exec.ran) != 1 {
			t.Fatalf("ran %d after the name resolved", len(exec.ran))
		}
	})
	t.Run("no resolver", func(t *testing.T) {
		signer, _ := NewSigner()
		g, err := NewGuard(GuardConfig{
			Policies: set, Signer: signer, Executor: &fakeExec{}, Audit: &fakeAudit{},
			Directory: fakeDir{"adele@contoso.com": helpdesk, "alex@contoso.com": *alex},
			Tools:     toolSpecs("user.reset_password!"), TargetOf: newTestGuardTargetOf,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res := run(t, g); res.Error == nil || res.Error.Code != tierzero.EDenied {
			t.Fatalf("result %+v, want denied", res.Error)
		}
	})
}

// Issue 15, item 1: a group approver is the group's members by object id:
// the group named by id, or the one group its display name pins to.
func TestApprovalByGroup(t *testing.T) {
	for _, approvers := range []string{`["group:Helpdesk"]`, `["group:` + gid("Helpdesk") + `"]`} {
		t.Run(approvers, func(t *testing.T) {
			r := newApprovalRig(t, `scope: {global: true}
rules:
  - id: helpdesk-approves-taps
    action: user.issue_tap
    effect: require_approval
    when: {target: self}
    approvers: `+approvers+`
`, nil)
			r.g.cfg.GroupNames = &testResolver{}
			// Lee is in a group he called Helpdesk; Alex in the Helpdesk.
			lee := tierzero.UserFacts{ObjectID: "id-lee", UPN: "lee@contoso.com", AccountEnabled: true,
				Groups: []tierzero.GroupRef{{ID: "00000000-0000-4000-8000-000000000bad", Name: "Helpdesk"}}, AdminRoles: []string{}}
			dir := fakeDir{"lee@contoso.com": lee}
			for k, v := range approvalDir {
				dir[k] = v
			}
			r.g.cfg.Directory = dir
			id := r.request(t)
			leeReq := tierzero.Requester{Tenant: "contoso", UPN: "lee@contoso.com", ObjectID: "id-lee", Role: tierzero.RoleEmployee}
			if _, _, err := r.g.Decide(context.Background(), "contoso", leeReq, id, true); tierzero.ErrorCode(err) != tierzero.EDenied {
				t.Fatalf("a member of a look-alike group approved: %v", err)
			}
			a, _, err := r.g.Decide(context.Background(), "contoso", alexReq, id, true)
			if err != nil || a.State != tierzero.ApprovalExecuted {
				t.Fatalf("the Helpdesk member's approval: %+v, %v", a.State, err)
			}
		})
	}
}
