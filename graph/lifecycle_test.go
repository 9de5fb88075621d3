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
	"github.com/tierzero/tierzero/graph/sim"
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

// TestCreateUser: POST /users with accountEnabled, displayName,
// mailNickname, userPrincipalName and a passwordProfile
// (https://learn.microsoft.com/graph/api/user-post-users), then the manager
// (https://learn.microsoft.com/graph/api/user-post-manager). The password is
// random, returned to nobody (no secret, not in the output), masked in the
// journal. A second try finds the account by its UPN and does not create it
// again; another person with that UPN is a conflict.
func TestCreateUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	args := json.RawMessage(`{"department":"Sales","display_name":"Jane Doe","job_title":"Account Executive","mail_nickname":"jane.doe","manager":"lynne.robbins@contoso.com","usage_location":"US"}`)
	call := tierzero.ToolCall{ID: "u1", Action: graph.ActionUserCreate, Args: args}
	since := time.Now().Add(-time.Minute)
	if applied, known, err := f.client.Applied(ctx, "contoso", call, since); err != nil || !known || applied {
		t.Fatalf("before: applied %v known %v err %v", applied, known, err)
	}
	res, err := f.client.Execute(ctx, f.permit("contoso", call), "contoso", call)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Secret.IsZero() || strings.Contains(strings.ToLower(string(res.Output)), "password\":") {
		t.Fatalf("the initial password came back: %s", res.Output)
	}
	st, _ := f.sim.State("contoso")
	found := false
	for _, u := range st.Users {
		if u.UserPrincipalName == "jane.doe@contoso.com" {
			if !u.AccountEnabled || u.Manager != "lynne.robbins@contoso.com" || u.UsageLocation != "US" || u.Department != "Sales" || !u.ForceChangePasswordNextSignIn {
				t.Fatalf("created as %+v", u)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no account jane.doe@contoso.com")
	}
	posts := 0
	for _, j := range f.sim.Journal("contoso") {
		if j.Method == http.MethodPost && j.Path == "/v1.0/users" {
			posts++
			var b struct {
				PasswordProfile struct{ Password string } `json:"passwordProfile"`
			}
			json.Unmarshal(j.Body, &b)
			if b.PasswordProfile.Password != "***" { // a password was sent, and the journal masks it
				t.Fatalf("the journal shows the password as %q: %s", b.PasswordProfile.Password, j.Body)
			}
		}
	}
	if applied, known, err := f.client.Applied(ctx, "contoso", call, since); err != nil || !known || !applied {
		t.Fatalf("after: applied %v known %v err %v", applied, known, err)
	}
	call.ID = "u2"
	res, err = f.client.Execute(ctx, f.permit("contoso", call), "contoso", call)
	if err != nil || !strings.Contains(string(res.Output), `"alreadyExisted":true`) {
		t.Fatalf("again: %v %s", err, res.Output)
	}
	for _, j := range f.sim.Journal("contoso") {
		if j.Method == http.MethodPost && j.Path == "/v1.0/users" {
			posts--
		}
	}
	if posts != 0 {
		t.Fatal("the account was created twice")
	}
	other := json.RawMessage(`{"department":"Finance","display_name":"Jane Doe-Smith","job_title":"Accountant","mail_nickname":"jane.doe","manager":"diego.siciliani@contoso.com","usage_location":"US"}`)
	call = tierzero.ToolCall{ID: "u3", Action: graph.ActionUserCreate, Args: other}
	if _, err := f.client.Execute(ctx, f.permit("contoso", call), "contoso", call); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("another person with the same UPN: %v, want a conflict", err)
	}
}

// TestOnboardPlan: the department's template is the groups whose
// description says "onboarding template: <department>"; the plan creates the
// account, assigns the named license, adds the template's groups and issues
// a pass for the manager.
func TestOnboardPlan(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.Change("contoso", sim.Change{Group: "Sales Team", Set: map[string]string{"description": "Sales.\nOnboarding template: Sales, Marketing"}}); err != nil {
		t.Fatal(err)
	}
	args := json.RawMessage(`{"department":"Sales","display_name":"Jane Doe","license":"SPE_E3","manager":"lynne.robbins@contoso.com"}`)
	call := tierzero.ToolCall{ID: "p1", Action: graph.ActionOnboardPlan, Args: args}
	res, err := f.client.Execute(context.Background(), f.permit("contoso", call), "contoso", call)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Plan tierzero.PlanArgs `json:"plan"`
	}
	json.Unmarshal(res.Output, &out)
	var got []string
	for _, s := range out.Plan.Steps {
		got = append(got, s.Action)
	}
	if strings.Join(got, " ") != "user.create license.assign group.add_member user.issue_tap" || out.Plan.Manager != "lynne.robbins@contoso.com" || out.Plan.User != "jane.doe@contoso.com" {
		t.Fatalf("plan %+v", out.Plan)
	}
	if !strings.Contains(out.Plan.Steps[2].Label, "Sales Team") || !out.Plan.Steps[0].Stop {
		t.Fatalf("plan %+v", out.Plan)
	}
}
