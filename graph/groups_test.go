package graph_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// newWrappedFixture is newFixture with wrap between the client and the
// simulator, to shrink pages or tamper with answers.
func newWrappedFixture(t *testing.T, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(unbatch(wrap(s)))
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

// smallPages rewrites $top to n on requests whose path ends in suffix.
func smallPages(suffix, n string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); strings.HasSuffix(r.URL.Path, suffix) && q.Has("$top") {
				q.Set("$top", n)
				r.URL.RawQuery = q.Encode()
			}
			h.ServeHTTP(w, r)
		})
	}
}

// groupsExec runs a tool with JSON arguments under a hand-signed permit and
// checks that it never returns a secret.
func groupsExec(t *testing.T, f *fixture, tenant tierzero.TenantID, action string, args any) (tierzero.ToolResult, error) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	call := tierzero.ToolCall{ID: "c1", Action: action, Args: b}
	res, err := f.client.Execute(context.Background(), f.permit(tenant, call), tenant, call)
	if !res.Secret.IsZero() {
		t.Fatalf("%s returned a secret", action)
	}
	return res, err
}

type groupOut struct {
	ID                 string `json:"id"`
	DisplayName        string `json:"displayName"`
	Description        string `json:"description"`
	Kind               string `json:"kind"`
	MembershipType     string `json:"membershipType"`
	MembershipRule     string `json:"membershipRule"`
	IsAssignableToRole bool   `json:"isAssignableToRole"`
	SecurityEnabled    bool   `json:"securityEnabled"`
	MailEnabled        bool   `json:"mailEnabled"`
}

func decodeOut[T any](t *testing.T, res tierzero.ToolResult) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(res.Output))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output %s: %v", res.Output, err)
	}
	return v
}

func simGroupOf(t *testing.T, f *fixture, tenant, name string) sim.Group {
	t.Helper()
	st, _ := f.sim.State(tenant)
	for _, g := range st.Groups {
		if g.DisplayName == name {
			return g
		}
	}
	t.Fatalf("%s has no group %q", tenant, name)
	return sim.Group{}
}

func simUserOf(t *testing.T, f *fixture, tenant, upn string) sim.User {
	t.Helper()
	st, _ := f.sim.State(tenant)
	for _, u := range st.Users {
		if u.UserPrincipalName == upn {
			return u
		}
	}
	t.Fatalf("%s has no user %q", tenant, upn)
	return sim.User{}
}

type userGroupsOut struct {
	User      string     `json:"user"`
	Groups    []groupOut `json:"groups"`
	Truncated bool       `json:"truncated"`
}

func TestUserGroupsTool(t *testing.T) {
	f := newFixture(t)
	res, err := groupsExec(t, f, "contoso", graph.ActionUserGroups, map[string]string{"user": "megan.bowen@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeOut[userGroupsOut](t, res)
	want := []groupOut{
		{DisplayName: "All Staff", Description: "Everyone in the company", Kind: "microsoft365", MembershipType: "dynamic", MembershipRule: "user.accountEnabled -eq true", MailEnabled: true},
		{DisplayName: "IT Admins", Description: "IT staff; the group holds admin roles, so its members do too", Kind: "security", MembershipType: "assigned", IsAssignableToRole: true, SecurityEnabled: true},
		{DisplayName: "VPN Users", Description: "Allowed on the remote access VPN", Kind: "security", MembershipType: "assigned", SecurityEnabled: true},
	}
	for i := range out.Groups {
		if out.Groups[i].ID != simGroupOf(t, f, "contoso", out.Groups[i].DisplayName).ID {
			t.Errorf("group %+v: wrong id", out.Groups[i])
		}
		out.Groups[i].ID = ""
	}
	if !slices.Equal(out.Groups, want) || out.Truncated || out.User != "megan.bowen@contoso.com" {
		t.Errorf("user.groups = %+v, want %+v", out, want)
	}
	if _, err := groupsExec(t, f, "contoso", graph.ActionUserGroups, map[string]string{"user": "nobody@contoso.com"}); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := groupsExec(t, f, "contoso", graph.ActionUserGroups, map[string]string{"user": "megan.bowen@contoso.com/memberOf"}); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("path in the user: %v", err)
	}
	if len(f.sim.Journal("contoso")) != 0 {
		t.Error("a read was journaled")
	}
}

func TestUserGroupsToolPages(t *testing.T) {
	f := newWrappedFixture(t, smallPages("/memberOf/graph.group", "1"))
	// Henrietta is in four groups: one per page, three pages at most.
	res, err := groupsExec(t, f, "contoso", graph.ActionUserGroups, map[string]string{"user": "henrietta.mueller@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeOut[userGroupsOut](t, res)
	if len(out.Groups) != 3 || !out.Truncated || out.Groups[0].DisplayName != "All Staff" || out.Groups[2].DisplayName != "Engineering (Dynamic)" {
		t.Errorf("paged user.groups = %+v, want the first three and truncated", out)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionUserGroups, map[string]string{"user": "megan.bowen@contoso.com"})
	if out := decodeOut[userGroupsOut](t, res); err != nil || len(out.Groups) != 3 || out.Truncated {
		t.Errorf("megan over three pages = %+v, %v", out, err)
	}
}

func TestPageLinkOutsideServiceRoot(t *testing.T) {
	// The answer's nextLink points at another host: the tool must not follow it.
	f := newWrappedFixture(t, func(h http.Handler) http.Handler {
		return smallPages("/memberOf/graph.group", "1")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ReplaceAll(rec.Body.Bytes(), []byte("http://"+r.Host), []byte("https://graph.evil.example"))
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
		}))
	})
	_, err := groupsExec(t, f, "contoso", graph.ActionUserGroups, map[string]string{"user": "megan.bowen@contoso.com"})
	if tierzero.ErrorCode(err) != tierzero.EInternal || !strings.Contains(tierzero.ErrorMessage(err), "outside its service root") {
		t.Fatalf("err = %v, want a refused page link", err)
	}
}

func TestGroupFindTool(t *testing.T) {
	f := newFixture(t)
	type findOut struct {
		Prefix    string     `json:"prefix"`
		Groups    []groupOut `json:"groups"`
		Truncated bool       `json:"truncated"`
	}
	res, err := groupsExec(t, f, "contoso", graph.ActionGroupFind, map[string]any{"prefix": "pro"})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeOut[findOut](t, res)
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	if len(out.Groups) != 1 || out.Truncated || out.Groups[0] != (groupOut{ID: falcon.ID, DisplayName: "Project Falcon",
		Description: falcon.Description, Kind: "microsoft365", MembershipType: "assigned", MailEnabled: true}) {
		t.Errorf("group.find pro = %+v", out)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupFind, map[string]any{"prefix": "P", "top": 1})
	if out := decodeOut[findOut](t, res); err != nil || len(out.Groups) != 1 || !out.Truncated {
		t.Errorf("group.find P top 1 = %+v, %v; want one and truncated", out, err)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupFind, map[string]any{"prefix": "Payroll"})
	if out := decodeOut[findOut](t, res); err != nil || len(out.Groups) != 1 || out.Groups[0].Kind != "mailEnabledSecurity" {
		t.Errorf("group.find Payroll = %+v, %v", out, err)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupFind, map[string]any{"prefix": "O'Brien') or startswith(displayName,'"})
	if out := decodeOut[findOut](t, res); err != nil || len(out.Groups) != 0 {
		t.Errorf("quotes in the prefix = %+v, %v; want no group", out, err)
	}
	for name, args := range map[string]any{
		"empty":         map[string]any{"prefix": " "},
		"top too large": map[string]any{"prefix": "a", "top": 26},
		"negative top":  map[string]any{"prefix": "a", "top": -1},
		"control char":  map[string]any{"prefix": "a\nb"},
		"unknown field": map[string]any{"prefix": "a", "filter": "x"},
		"too long":      map[string]any{"prefix": strings.Repeat("a", 121)},
	} {
		if _, err := groupsExec(t, f, "contoso", graph.ActionGroupFind, args); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

type groupDetailOut struct {
	groupOut
	Owners            []string `json:"owners"`
	OtherOwners       int      `json:"otherOwners"`
	MemberCount       int      `json:"memberCount"`
	MemberCountCapped bool     `json:"memberCountCapped"`
}

func TestGroupGetTool(t *testing.T) {
	f := newFixture(t)
	marketing := simGroupOf(t, f, "contoso", "Marketing Team")
	res, err := groupsExec(t, f, "contoso", graph.ActionGroupGet, map[string]string{"group": marketing.ID})
	if err != nil {
		t.Fatal(err)
	}
	d := decodeOut[groupDetailOut](t, res)
	if d.ID != marketing.ID || d.Kind != "microsoft365" || d.MembershipType != "assigned" || !d.MailEnabled ||
		!slices.Equal(d.Owners, []string{"miriam.graham@contoso.com"}) || d.MemberCount != len(marketing.Members) || d.MemberCount == 0 {
		t.Errorf("group.get Marketing Team = %+v", d)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupGet, map[string]string{"group": "engineering (dynamic)"})
	if err != nil {
		t.Fatal(err)
	}
	d = decodeOut[groupDetailOut](t, res)
	if d.DisplayName != "Engineering (Dynamic)" || d.MembershipType != "dynamic" || d.MembershipRule != `(user.department -eq "Engineering")` || len(d.Owners) != 0 {
		t.Errorf("group.get by name = %+v", d)
	}
	tests := []struct {
		name, group, want string
	}{
		{"unknown name", "Nope", tierzero.ENotFound},
		{"unknown id", "00000000-0000-4000-8000-000000000000", tierzero.ENotFound},
		{"other tenant's id", simGroupOf(t, f, "fabrikam", "IT Admins").ID, tierzero.ENotFound},
		{"control character", "IT\x00Admins", tierzero.EInvalid},
		{"empty", "", tierzero.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := groupsExec(t, f, "contoso", graph.ActionGroupGet, map[string]string{"group": tt.group}); tierzero.ErrorCode(err) != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestGroupGetCountsMembersOverPages(t *testing.T) {
	f := newWrappedFixture(t, smallPages("/members", "5"))
	all := simGroupOf(t, f, "contoso", "All Staff")
	res, err := groupsExec(t, f, "contoso", graph.ActionGroupGet, map[string]string{"group": "All Staff"})
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeOut[groupDetailOut](t, res); d.MemberCount != len(all.Members) || d.MemberCountCapped || d.MemberCount <= 5 {
		t.Errorf("member count = %d (capped %v), want %d", d.MemberCount, d.MemberCountCapped, len(all.Members))
	}
}

type membershipOut struct {
	Group            string `json:"group"`
	GroupDisplayName string `json:"groupDisplayName"`
	User             string `json:"user"`
	UserID           string `json:"userId"`
	RoleAssignable   bool   `json:"roleAssignable"`
	Added            bool   `json:"added"`
	AlreadyMember    bool   `json:"alreadyMember"`
	Removed          bool   `json:"removed"`
	NotMember        bool   `json:"notMember"`
}

func TestGroupMembershipTools(t *testing.T) {
	f := newFixture(t)
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	adele := simUserOf(t, f, "contoso", "adele.vance@contoso.com")
	member := func() bool {
		return slices.Contains(simGroupOf(t, f, "contoso", "Project Falcon").Members, adele.UserPrincipalName)
	}
	args := map[string]string{"group": falcon.ID, "user": "Adele.Vance@contoso.com"}

	res, err := groupsExec(t, f, "contoso", graph.ActionGroupAddMember, args)
	if err != nil {
		t.Fatal(err)
	}
	want := membershipOut{Group: falcon.ID, GroupDisplayName: "Project Falcon", User: adele.UserPrincipalName, UserID: adele.ID, Added: true}
	if got := decodeOut[membershipOut](t, res); got != want || !member() {
		t.Fatalf("add = %+v (member %v), want %+v", got, member(), want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupAddMember, args)
	want.Added, want.AlreadyMember = false, true
	if got := decodeOut[membershipOut](t, res); err != nil || got != want {
		t.Errorf("add again = %+v, %v; want %+v", got, err, want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupRemoveMember, map[string]string{"group": falcon.ID, "user": adele.ID})
	want.AlreadyMember, want.Removed = false, true
	if got := decodeOut[membershipOut](t, res); err != nil || got != want || member() {
		t.Errorf("remove = %+v, %v (member %v); want %+v", got, err, member(), want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupRemoveMember, args)
	want.Removed, want.NotMember = false, true
	if got := decodeOut[membershipOut](t, res); err != nil || got != want {
		t.Errorf("remove again = %+v, %v; want %+v", got, err, want)
	}
	admins := simGroupOf(t, f, "contoso", "IT Admins")
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupAddMember, map[string]string{"group": admins.ID, "user": adele.UserPrincipalName})
	if got := decodeOut[membershipOut](t, res); err != nil || !got.RoleAssignable || !got.Added {
		t.Errorf("add to IT Admins = %+v, %v; want added and roleAssignable", got, err)
	}

	j := f.sim.Journal("contoso")
	wantJ := []struct {
		method, path string
		status       int
	}{
		{"POST", "/v1.0/groups/" + falcon.ID + "/members/$ref", 204},
		{"POST", "/v1.0/groups/" + falcon.ID + "/members/$ref", 400},
		{"DELETE", "/v1.0/groups/" + falcon.ID + "/members/" + adele.ID + "/$ref", 204},
		{"DELETE", "/v1.0/groups/" + falcon.ID + "/members/" + adele.ID + "/$ref", 404},
		{"POST", "/v1.0/groups/" + admins.ID + "/members/$ref", 204},
	}
	if len(j) != len(wantJ) {
		t.Fatalf("journal = %+v, want %d entries", j, len(wantJ))
	}
	for i, w := range wantJ {
		if j[i].Method != w.method || j[i].Path != w.path || j[i].Status != w.status {
			t.Errorf("journal[%d] = %s %s %d, want %+v", i, j[i].Method, j[i].Path, j[i].Status, w)
		}
	}
	var body map[string]string
	if err := json.Unmarshal(j[0].Body, &body); err != nil || len(body) != 1 || !strings.HasSuffix(body["@odata.id"], "/v1.0/directoryObjects/"+adele.ID) {
		t.Errorf("POST body = %s", j[0].Body)
	}
}

func TestGroupMembershipToolErrors(t *testing.T) {
	f := newFixture(t)
	group := func(name string) string { return simGroupOf(t, f, "contoso", name).ID }
	tests := []struct {
		name, action, group, user, want string
	}{
		{"add to dynamic", graph.ActionGroupAddMember, group("All Staff"), "alex.wilber@contoso.com", tierzero.EConflict},
		{"remove from dynamic", graph.ActionGroupRemoveMember, group("Engineering (Dynamic)"), "grady.archie@contoso.com", tierzero.EConflict},
		{"add to mail-enabled security", graph.ActionGroupAddMember, group("Payroll Alerts"), "alex.wilber@contoso.com", tierzero.EConflict},
		{"unknown group", graph.ActionGroupAddMember, "00000000-0000-4000-8000-000000000000", "alex.wilber@contoso.com", tierzero.ENotFound},
		{"other tenant's group", graph.ActionGroupAddMember, simGroupOf(t, f, "fabrikam", "VPN Users").ID, "alex.wilber@contoso.com", tierzero.ENotFound},
		{"other tenant's user", graph.ActionGroupAddMember, group("VPN Users"), "ben.walters@fabrikam.com", tierzero.ENotFound},
		{"unknown user", graph.ActionGroupRemoveMember, group("VPN Users"), "nobody@contoso.com", tierzero.ENotFound},
		{"group by name", graph.ActionGroupAddMember, "VPN Users", "alex.wilber@contoso.com", tierzero.EInvalid},
		{"path in the group", graph.ActionGroupAddMember, group("VPN Users") + "/members", "alex.wilber@contoso.com", tierzero.EInvalid},
		{"path in the user", graph.ActionGroupRemoveMember, group("VPN Users"), "../alex.wilber@contoso.com", tierzero.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := groupsExec(t, f, "contoso", tt.action, map[string]string{"group": tt.group, "user": tt.user})
			if got := tierzero.ErrorCode(err); got != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			if msg := tierzero.ErrorMessage(err); msg == "" || strings.Contains(msg, "tierzero-sim.") {
				t.Errorf("message %q", msg)
			}
		})
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Errorf("refused calls wrote: %+v", j)
	}
}

// A membership write whose answer is lost is read back, not sent twice;
// one that failed unapplied is sent once more.
func TestGroupMembershipAmbiguousWrites(t *testing.T) {
	tests := []struct {
		name      string
		action    string
		method    string
		path      string
		kind      sim.FaultKind
		wantSends int
	}{
		{"add applied then 503", graph.ActionGroupAddMember, "POST", "/v1.0/groups/*/members/$ref", sim.FaultAppliedThen503, 1},
		{"add 503 unapplied", graph.ActionGroupAddMember, "POST", "/v1.0/groups/*/members/$ref", sim.FaultUnavailable, 2},
		{"remove applied then 503", graph.ActionGroupRemoveMember, "DELETE", "/v1.0/groups/*/members/*/$ref", sim.FaultAppliedThen503, 1},
		{"remove 504 unapplied", graph.ActionGroupRemoveMember, "DELETE", "/v1.0/groups/*/members/*/$ref", sim.FaultGatewayTimeout, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			vpn := simGroupOf(t, f, "contoso", "VPN Users")
			user := "alex.wilber@contoso.com" // not on the VPN
			if tt.action == graph.ActionGroupRemoveMember {
				user = "megan.bowen@contoso.com" // on the VPN
			}
			if err := f.sim.AddFault("contoso", sim.Fault{Method: tt.method, Path: tt.path, Kind: tt.kind, Count: 1}); err != nil {
				t.Fatal(err)
			}
			res, err := groupsExec(t, f, "contoso", tt.action, map[string]string{"group": vpn.ID, "user": user})
			if err != nil {
				t.Fatal(err)
			}
			got := decodeOut[membershipOut](t, res)
			isMember := slices.Contains(simGroupOf(t, f, "contoso", "VPN Users").Members, user)
			if tt.action == graph.ActionGroupAddMember && (!got.Added || !isMember) || tt.action == graph.ActionGroupRemoveMember && (!got.Removed || isMember) {
				t.Fatalf("output %+v, member %v", got, isMember)
			}
			if j := f.sim.Journal("contoso"); len(j) != tt.wantSends || j[len(j)-1].Status != 204 {
				t.Fatalf("journal = %+v, want %d sends ending in a 204", j, tt.wantSends)
			}
		})
	}
}

type ownersOut struct {
	Group            string `json:"group"`
	GroupDisplayName string `json:"groupDisplayName"`
	Kind             string `json:"kind"`
	Owners           []struct {
		ID          string `json:"id"`
		UPN         string `json:"userPrincipalName"`
		DisplayName string `json:"displayName"`
		Kind        string `json:"kind"`
	} `json:"owners"`
	NoOwners bool `json:"noOwners"`
}

type ownershipOut struct {
	Group            string `json:"group"`
	GroupDisplayName string `json:"groupDisplayName"`
	User             string `json:"user"`
	UserID           string `json:"userId"`
	RoleAssignable   bool   `json:"roleAssignable"`
	Added            bool   `json:"added"`
	AlreadyOwner     bool   `json:"alreadyOwner"`
	Removed          bool   `json:"removed"`
	NotOwner         bool   `json:"notOwner"`
}

// The owners of a group are read, added and removed through
// groups/{id}/owners/$ref (learn.microsoft.com/graph/api/group-post-owners,
// group-delete-owners). Graph refuses to remove the last owner: "Once
// owners are assigned to a group, the last owner (a user object) of the
// group cannot be removed" (group-delete-owners), answering 400 "The group
// must have at least one owner, hence this owner cannot be removed."
// (microsoftgraph/microsoft-graph-docs#12054).
func TestGroupOwnerTools(t *testing.T) {
	f := newFixture(t)
	falcon := simGroupOf(t, f, "contoso", "Project Falcon")
	henrietta := simUserOf(t, f, "contoso", "henrietta.mueller@contoso.com") // its one owner
	adele := simUserOf(t, f, "contoso", "adele.vance@contoso.com")
	owners := func() []string { return simGroupOf(t, f, "contoso", "Project Falcon").Owners }

	res, err := groupsExec(t, f, "contoso", graph.ActionGroupOwners, map[string]string{"group": falcon.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeOut[ownersOut](t, res)
	if got.Group != falcon.ID || got.Kind != "microsoft365" || len(got.Owners) != 1 || got.Owners[0].ID != henrietta.ID ||
		got.Owners[0].UPN != henrietta.UserPrincipalName || got.Owners[0].DisplayName != "Henrietta Mueller" || got.Owners[0].Kind != "user" {
		t.Fatalf("owners = %+v", got)
	}

	// The last owner stays: Graph refuses, and nothing changed.
	last := map[string]string{"group": falcon.ID, "user": henrietta.UserPrincipalName}
	_, err = groupsExec(t, f, "contoso", graph.ActionGroupRemoveOwner, last)
	if tierzero.ErrorCode(err) != tierzero.EConflict || !strings.Contains(tierzero.ErrorMessage(err), "last owner") {
		t.Fatalf("remove last owner: %v", err)
	}
	if o := owners(); len(o) != 1 {
		t.Fatalf("owners after a refused removal = %v", o)
	}

	args := map[string]string{"group": falcon.ID, "user": "Adele.Vance@contoso.com"}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupAddOwner, args)
	want := ownershipOut{Group: falcon.ID, GroupDisplayName: "Project Falcon", User: adele.UserPrincipalName, UserID: adele.ID, Added: true}
	if got := decodeOut[ownershipOut](t, res); err != nil || got != want || !slices.Contains(owners(), adele.UserPrincipalName) {
		t.Fatalf("add = %+v, %v (owners %v), want %+v", got, err, owners(), want)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupAddOwner, args)
	want.Added, want.AlreadyOwner = false, true
	if got := decodeOut[ownershipOut](t, res); err != nil || got != want {
		t.Errorf("add again = %+v, %v; want %+v", got, err, want)
	}
	// With two owners, the first may go.
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupRemoveOwner, last)
	if got := decodeOut[ownershipOut](t, res); err != nil || !got.Removed || slices.Contains(owners(), henrietta.UserPrincipalName) {
		t.Fatalf("remove henrietta = %+v, %v (owners %v)", got, err, owners())
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionGroupRemoveOwner, last)
	if got := decodeOut[ownershipOut](t, res); err != nil || !got.NotOwner || got.Removed {
		t.Errorf("remove henrietta again = %+v, %v; want notOwner", got, err)
	}

	j := f.sim.Journal("contoso")
	wantJ := []struct {
		method, path string
		status       int
	}{
		{"DELETE", "/v1.0/groups/" + falcon.ID + "/owners/" + henrietta.ID + "/$ref", 400},
		{"POST", "/v1.0/groups/" + falcon.ID + "/owners/$ref", 204},
		{"POST", "/v1.0/groups/" + falcon.ID + "/owners/$ref", 400},
		{"DELETE", "/v1.0/groups/" + falcon.ID + "/owners/" + henrietta.ID + "/$ref", 204},
		{"DELETE", "/v1.0/groups/" + falcon.ID + "/owners/" + henrietta.ID + "/$ref", 404},
	}
	if len(j) != len(wantJ) {
		t.Fatalf("journal = %+v, want %d entries", j, len(wantJ))
	}
	for i, w := range wantJ {
		if j[i].Method != w.method || j[i].Path != w.path || j[i].Status != w.status {
			t.Errorf("journal[%d] = %s %s %d, want %+v", i, j[i].Method, j[i].Path, j[i].Status, w)
		}
	}
}

// Owners are not available in Graph for groups created in Exchange
// (learn.microsoft.com/graph/api/group-list-owners): mail-enabled security
// groups and distribution lists are refused before anything is sent.
func TestGroupOwnerToolErrors(t *testing.T) {
	f := newFixture(t)
	group := func(name string) string { return simGroupOf(t, f, "contoso", name).ID }
	tests := []struct {
		name, action, group, user, want string
	}{
		{"mail-enabled security", graph.ActionGroupAddOwner, group("Payroll Alerts"), "alex.wilber@contoso.com", tierzero.EConflict},
		{"unknown group", graph.ActionGroupAddOwner, "00000000-0000-4000-8000-000000000000", "alex.wilber@contoso.com", tierzero.ENotFound},
		{"other tenant's group", graph.ActionGroupRemoveOwner, simGroupOf(t, f, "fabrikam", "VPN Users").ID, "alex.wilber@contoso.com", tierzero.ENotFound},
		{"unknown user", graph.ActionGroupAddOwner, group("VPN Users"), "nobody@contoso.com", tierzero.ENotFound},
		{"group by name", graph.ActionGroupRemoveOwner, "VPN Users", "alex.wilber@contoso.com", tierzero.EInvalid},
		{"path in the user", graph.ActionGroupAddOwner, group("VPN Users"), "../alex.wilber@contoso.com", tierzero.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := groupsExec(t, f, "contoso", tt.action, map[string]string{"group": tt.group, "user": tt.user})
			if got := tierzero.ErrorCode(err); got != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
	if _, err := groupsExec(t, f, "contoso", graph.ActionGroupOwners, map[string]string{"group": "VPN Users"}); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("owners by name: %v", err)
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Errorf("refused calls wrote: %+v", j)
	}
}

// An owners write whose answer is lost is read back, not sent twice; one
// that failed unapplied is sent once more.
func TestGroupOwnerAmbiguousWrites(t *testing.T) {
	tests := []struct {
		name      string
		action    string
		method    string
		path      string
		kind      sim.FaultKind
		wantSends int
	}{
		{"add applied then 503", graph.ActionGroupAddOwner, "POST", "/v1.0/groups/*/owners/$ref", sim.FaultAppliedThen503, 1},
		{"add 503 unapplied", graph.ActionGroupAddOwner, "POST", "/v1.0/groups/*/owners/$ref", sim.FaultUnavailable, 2},
		{"remove applied then 503", graph.ActionGroupRemoveOwner, "DELETE", "/v1.0/groups/*/owners/*/$ref", sim.FaultAppliedThen503, 1},
		{"remove 504 unapplied", graph.ActionGroupRemoveOwner, "DELETE", "/v1.0/groups/*/owners/*/$ref", sim.FaultGatewayTimeout, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			vpn := simGroupOf(t, f, "contoso", "VPN Users")
			user := "nestor.wilke@contoso.com"
			if tt.action == graph.ActionGroupRemoveOwner {
				// a second owner, so that the first may go
				if _, err := groupsExec(t, f, "contoso", graph.ActionGroupAddOwner, map[string]string{"group": vpn.ID, "user": user}); err != nil {
					t.Fatal(err)
				}
			}
			before := len(f.sim.Journal("contoso"))
			if err := f.sim.AddFault("contoso", sim.Fault{Method: tt.method, Path: tt.path, Kind: tt.kind, Count: 1}); err != nil {
				t.Fatal(err)
			}
			res, err := groupsExec(t, f, "contoso", tt.action, map[string]string{"group": vpn.ID, "user": user})
			if err != nil {
				t.Fatal(err)
			}
			got := decodeOut[ownershipOut](t, res)
			isOwner := slices.Contains(simGroupOf(t, f, "contoso", "VPN Users").Owners, user)
			if tt.action == graph.ActionGroupAddOwner && (!got.Added || !isOwner) || tt.action == graph.ActionGroupRemoveOwner && (!got.Removed || isOwner) {
				t.Fatalf("output %+v, owner %v", got, isOwner)
			}
			if j := f.sim.Journal("contoso")[before:]; len(j) != tt.wantSends || j[len(j)-1].Status != 204 {
				t.Fatalf("journal = %+v, want %d sends ending in a 204", j, tt.wantSends)
			}
		})
	}
}
