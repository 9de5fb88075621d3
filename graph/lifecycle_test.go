package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
)

// TestOffboardPlan reads what offboarding Christie takes from the
// simulator: her account, manager, direct licenses (a license a group gives
// is left with the group: licenseAssignmentStates names assignedByGroup,
// https://learn.microsoft.com/graph/api/resources/licenseassignmentstate),
// her direct groups (a dynamic group is reported, not changed) and her
// managed devices (a personal one is not retired). The plan's steps are
// calls of the catalog with canonical arguments.
func TestOffboardPlan(t *testing.T) {
	f := newFixture(t)
	res, err := f.exec(t, "contoso", graph.ActionOffboardPlan, "christie.cline@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Plan tierzero.PlanArgs `json:"plan"`
		Left []string          `json:"left_for_a_person"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(out.Plan)
	t.Logf("plan: %s", raw)
	if _, err := tierzero.DecodePlanArgs(raw); err != nil {
		t.Fatalf("the plan does not decode: %v", err)
	}
	var actions []string
	for _, s := range out.Plan.Steps {
		actions = append(actions, s.Action)
	}
	want := "user.block_sign_in user.revoke_sessions user.set_auto_reply onedrive.grant_access license.remove group.remove_member group.remove_member device.retire"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("steps %s, want %s", got, want)
	}
	if !out.Plan.Steps[0].Stop {
		t.Fatal("blocking sign-in does not stop the plan when it fails")
	}
	left := strings.Join(out.Left, "\n")
	for _, w := range []string{"EMS comes from the group Sales Licensing", "dynamic group All Staff", "personal device Christie's iPhone"} {
		if !strings.Contains(left, w) {
			t.Errorf("left for a person does not say %q:\n%s", w, left)
		}
	}
	spec := map[string]tierzero.ToolSpec{}
	for _, s := range f.client.Tools() {
		spec[s.Action] = s
	}
	for _, s := range out.Plan.Steps {
		if _, err := tierzero.CanonicalToolArgs(spec[s.Action], json.RawMessage(s.Args)); err != nil {
			t.Errorf("step %s: %v", s.Action, err)
		}
	}
}

// TestOneDriveGrant: the manager is invited to the root of the leaver's
// OneDrive with the write role, sign-in required and no email (POST
// /drives/{id}/items/root/invite,
// https://learn.microsoft.com/graph/api/driveitem-invite); the read-back
// lists the permission (https://learn.microsoft.com/graph/api/driveitem-list-permissions).
// A user without a license has no OneDrive: Graph answers 404
// (https://learn.microsoft.com/graph/api/drive-get).
func TestOneDriveGrant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	args := json.RawMessage(`{"grantee":"lynne.robbins@contoso.com","user":"christie.cline@contoso.com"}`)
	call := tierzero.ToolCall{ID: "g1", Action: graph.ActionOneDriveGrantRead, Args: args}
	since := time.Now().Add(-time.Minute)
	if applied, known, err := f.client.Applied(ctx, "contoso", call, since); err != nil || !known || applied {
		t.Fatalf("before: applied %v known %v err %v", applied, known, err)
	}
	if _, err := f.client.Execute(ctx, f.permit("contoso", call), "contoso", call); err != nil {
		t.Fatal(err)
	}
	if g := f.sim.DriveGrantees("contoso", "christie.cline@contoso.com"); strings.Join(g["lynne.robbins@contoso.com"], ",") != "write" {
		t.Fatalf("grantees %v", g)
	}
	var invite struct {
		Roles          []string `json:"roles"`
		RequireSignIn  bool     `json:"requireSignIn"`
		SendInvitation *bool    `json:"sendInvitation"`
	}
	for _, j := range f.sim.Journal("contoso") {
		if j.Method == http.MethodPost && strings.HasSuffix(j.Path, "/root/invite") {
			json.Unmarshal(j.Body, &invite)
		}
	}
	if strings.Join(invite.Roles, ",") != "write" || !invite.RequireSignIn || invite.SendInvitation == nil || *invite.SendInvitation {
		t.Fatalf("invitation sent as %+v", invite)
	}
	if applied, known, err := f.client.Applied(ctx, "contoso", call, since); err != nil || !known || !applied {
		t.Fatalf("after: applied %v known %v err %v", applied, known, err)
	}
	// Again: nothing more is granted, and it still succeeds.
	call.ID = "g2"
	if _, err := f.client.Execute(ctx, f.permit("contoso", call), "contoso", call); err != nil {
		t.Fatal(err)
	}
	if g := f.sim.DriveGrantees("contoso", "christie.cline@contoso.com"); len(g) != 1 {
		t.Fatalf("grantees after a second grant: %v", g)
	}
}
