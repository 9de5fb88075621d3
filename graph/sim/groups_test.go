package sim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// simGroup returns a tenant's group from the state.
func simGroup(t *testing.T, s *Server, tenant, name string) Group {
	t.Helper()
	st, _ := s.State(tenant)
	for _, g := range st.Groups {
		if g.DisplayName == name {
			return g
		}
	}
	t.Fatalf("%s has no group %q", tenant, name)
	return Group{}
}

func simUserID(t *testing.T, s *Server, tenant, upn string) string {
	t.Helper()
	st, _ := s.State(tenant)
	for _, u := range st.Users {
		if u.UserPrincipalName == upn {
			return u.ID
		}
	}
	t.Fatalf("%s has no user %q", tenant, upn)
	return ""
}

// names returns the displayName of each object of a collection answer.
func displayNames(r response) []string {
	var out []string
	vals, _ := r.json["value"].([]any)
	for _, v := range vals {
		o, _ := v.(map[string]any)
		n, _ := o["displayName"].(string)
		out = append(out, n)
	}
	return out
}

func TestGroupSeed(t *testing.T) {
	_, s := newTest(t)
	for _, tn := range s.Tenants() {
		st, _ := s.State(tn)
		if len(st.Groups) < 6 {
			t.Errorf("%s: %d groups, want at least 6", tn, len(st.Groups))
		}
		enabled := map[string]bool{}
		for _, u := range st.Users {
			enabled[u.UserPrincipalName] = u.AccountEnabled
		}
		for _, g := range st.Groups {
			if !groupIDPattern.MatchString(g.ID) || g.MailNickname == "" || g.CreatedDateTime.IsZero() {
				t.Errorf("%s: group %+v", tn, g)
			}
			for _, m := range append(slices.Clone(g.Members), g.Owners...) {
				if _, ok := enabled[m]; !ok {
					t.Errorf("%s: group %s names unknown user %s", tn, g.DisplayName, m)
				}
			}
		}
		all := simGroup(t, s, tn, "All Staff")
		if !slices.Contains(all.GroupTypes, "DynamicMembership") || all.MembershipRule != "user.accountEnabled -eq true" || all.MembershipRuleProcessingState != "On" {
			t.Errorf("%s: All Staff = %+v, want dynamic on accountEnabled", tn, all)
		}
		for upn, on := range enabled {
			if slices.Contains(all.Members, upn) != on {
				t.Errorf("%s: All Staff membership of %s = %v, want %v", tn, upn, !on, on)
			}
		}
		if g := simGroup(t, s, tn, "IT Admins"); !g.IsAssignableToRole || len(g.Owners) != 1 {
			t.Errorf("%s: IT Admins = %+v", tn, g)
		}
		if g := simGroup(t, s, tn, "Project Falcon"); !slices.Equal(g.GroupTypes, []string{"Unified"}) || g.Visibility != "Private" || len(g.Owners) != 1 || !slices.Contains(g.Members, g.Owners[0]) {
			t.Errorf("%s: Project Falcon = %+v", tn, g)
		}
		if g := simGroup(t, s, tn, "Payroll Alerts"); !g.MailEnabled || !g.SecurityEnabled || len(g.GroupTypes) != 0 || g.Mail == "" {
			t.Errorf("%s: Payroll Alerts = %+v, want a mail-enabled security group", tn, g)
		}
		if g := simGroup(t, s, tn, "Finance Approvers"); len(g.Members) == 0 || len(g.Owners) != 1 {
			t.Errorf("%s: Finance Approvers = %+v", tn, g)
		}
	}
	if g := simGroup(t, s, "contoso", "Marketing Team"); !slices.Equal(g.Owners, []string{"miriam.graham@contoso.com"}) || g.MailNickname != "marketing" {
		t.Errorf("Marketing Team = %+v, want owner Miriam, nickname marketing", g)
	}
}

func TestListGroups(t *testing.T) {
	srv, _ := newTest(t)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"startswith", "$filter=" + url.QueryEscape("startswith(displayName,'pro')"), []string{"Project Falcon"}},
		{"startswith spaces and case", "$filter=" + url.QueryEscape("StartsWith( displayName , 'ALL' )"), []string{"All Staff"}},
		{"eq", "$filter=" + url.QueryEscape("displayName eq 'vpn users'"), []string{"VPN Users"}},
		{"quote doubled", "$filter=" + url.QueryEscape("startswith(displayName,'O''Brien')"), nil},
		{"select", "$select=id,displayName&$filter=" + url.QueryEscape("displayName eq 'IT Admins'"), []string{"IT Admins"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/groups?" + tt.query, tenant: "contoso"})
			if r.status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.status, r.raw)
			}
			if got := displayNames(r); !slices.Equal(got, tt.want) {
				t.Errorf("groups = %v, want %v", got, tt.want)
			}
		})
	}
	r := do(t, srv, request{path: "/v1.0/groups?$select=id,displayName&$top=1&$filter=" + url.QueryEscape("displayName eq 'IT Admins'"), tenant: "contoso"})
	if ctx := r.json["@odata.context"]; ctx != metadata+"#groups(id,displayName)" {
		t.Errorf("context = %v", ctx)
	}
	o := r.json["value"].([]any)[0].(map[string]any)
	if len(o) != 3 || o["@odata.type"] != "#microsoft.graph.group" {
		t.Errorf("selected group = %v, want id, displayName and @odata.type", o)
	}

	// Paging: $top=4 walks every group through absolute nextLinks.
	var seen []string
	next := "/v1.0/groups?$top=4&$select=displayName"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := do(t, srv, request{path: next, tenant: "contoso"})
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, r.status, r.raw)
		}
		seen = append(seen, displayNames(r)...)
		next, _ = r.json["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, srv.URL+"/v1.0/groups?") {
			t.Fatalf("nextLink %q is not absolute on the server", next)
		}
	}
	if len(seen) != 11 || seen[0] != "All Staff" { // Sales Licensing (licenses.go) and Break Glass Accounts (baseline_signins.go) are the last
		t.Errorf("paged groups = %v", seen)
	}

	for _, q := range []string{
		"$filter=" + url.QueryEscape("mailEnabled eq true"),
		"$filter=" + url.QueryEscape("startswith(mail,'a')"),
		"$orderby=displayName",
		"$count=true",
	} {
		r := do(t, srv, request{path: "/v1.0/groups?" + q, tenant: "contoso"})
		if code, _ := graphErr(t, r); r.status != http.StatusBadRequest || code != "Request_UnsupportedQuery" {
			t.Errorf("%s: %d %s, want 400 Request_UnsupportedQuery", q, r.status, code)
		}
	}
	r = do(t, srv, request{path: "/v1.0/groups?$select=shoeSize", tenant: "contoso"})
	if _, msg := graphErr(t, r); r.status != http.StatusBadRequest || msg != "Could not find a property named 'shoeSize' on type 'microsoft.graph.group'." {
		t.Errorf("bad select: %d %q", r.status, msg)
	}
}

func TestGetGroup(t *testing.T) {
	srv, s := newTest(t)
	g := simGroup(t, s, "contoso", "Engineering (Dynamic)")
	r := do(t, srv, request{path: "/v1.0/groups/" + g.ID, tenant: "contoso"})
	if r.status != http.StatusOK || r.json["@odata.context"] != metadata+"#groups/$entity" {
		t.Fatalf("get group: %d %s", r.status, r.raw)
	}
	want := map[string]any{
		"displayName": "Engineering (Dynamic)", "securityEnabled": true, "mailEnabled": false,
		"membershipRule": `(user.department -eq "Engineering")`, "membershipRuleProcessingState": "On", "mail": nil,
	}
	for k, v := range want {
		if r.json[k] != v {
			t.Errorf("%s = %v, want %v", k, r.json[k], v)
		}
	}
	if types, _ := r.json["groupTypes"].([]any); len(types) != 1 || types[0] != "DynamicMembership" {
		t.Errorf("groupTypes = %v", r.json["groupTypes"])
	}
	other := simGroup(t, s, "fabrikam", "All Staff")
	tests := []struct {
		name, ref  string
		wantStatus int
		wantCode   string
	}{
		{"not a guid", "All%20Staff", 400, "Request_BadRequest"},
		{"unknown", "00000000-0000-4000-8000-000000000000", 404, "Request_ResourceNotFound"},
		{"other tenant's", other.ID, 404, "Request_ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, request{path: "/v1.0/groups/" + tt.ref, tenant: "contoso"})
			if code, _ := graphErr(t, r); r.status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("%d %s, want %d %s", r.status, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestGroupOwnersAndMembers(t *testing.T) {
	srv, s := newTest(t)
	g := simGroup(t, s, "contoso", "Marketing Team")
	r := do(t, srv, request{path: "/v1.0/groups/" + g.ID + "/owners?$select=id,userPrincipalName", tenant: "contoso"})
	vals, _ := r.json["value"].([]any)
	if r.status != http.StatusOK || len(vals) != 1 {
		t.Fatalf("owners: %d %s", r.status, r.raw)
	}
	if o := vals[0].(map[string]any); o["@odata.type"] != "#microsoft.graph.user" || o["userPrincipalName"] != "miriam.graham@contoso.com" {
		t.Errorf("owner = %v", o)
	}
	all := simGroup(t, s, "contoso", "All Staff")
	count := 0
	next := "/v1.0/groups/" + all.ID + "/members?$select=id&$top=5"
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		r := do(t, srv, request{path: next, tenant: "contoso"})
		if r.status != http.StatusOK || r.json["@odata.context"] != metadata+"#directoryObjects(id)" {
			t.Fatalf("members: %d %s", r.status, r.raw)
		}
		vals, _ := r.json["value"].([]any)
		for _, v := range vals {
			if o := v.(map[string]any); len(o) != 2 || o["id"] == "" {
				t.Errorf("member = %v, want id and @odata.type", o)
			}
		}
		count += len(vals)
		next, _ = r.json["@odata.nextLink"].(string)
	}
	if count != len(all.Members) {
		t.Errorf("paged %d members, want %d", count, len(all.Members))
	}
}

func TestGroupMembershipWrites(t *testing.T) {
	srv, s := newTest(t)
	falcon := simGroup(t, s, "contoso", "Project Falcon")
	adele := simUserID(t, s, "contoso", "adele.vance@contoso.com")
	ref := func(id string) string { return `{"@odata.id":"` + srv.URL + `/v1.0/directoryObjects/` + id + `"}` }
	add := func(group, body string) response {
		return do(t, srv, request{method: http.MethodPost, path: "/v1.0/groups/" + group + "/members/$ref", tenant: "contoso", body: body})
	}
	remove := func(group, member string) response {
		return do(t, srv, request{method: http.MethodDelete, path: "/v1.0/groups/" + group + "/members/" + member + "/$ref", tenant: "contoso"})
	}
	isMember := func(group, member string) int {
		return do(t, srv, request{path: "/v1.0/groups/" + group + "/members/" + member + "/graph.user?$select=id", tenant: "contoso"}).status
	}

	if st := isMember(falcon.ID, adele); st != http.StatusNotFound {
		t.Fatalf("adele already in Falcon: %d", st)
	}
	if r := add(falcon.ID, ref(adele)); r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	if !slices.Contains(simGroup(t, s, "contoso", "Project Falcon").Members, "adele.vance@contoso.com") {
		t.Fatal("the state does not show adele in Falcon")
	}
	if st := isMember(falcon.ID, adele); st != http.StatusOK {
		t.Errorf("member/graph.user after add: %d", st)
	}
	r := do(t, srv, request{path: "/v1.0/users/adele.vance@contoso.com/memberOf/microsoft.graph.group?$select=displayName", tenant: "contoso"})
	if got := displayNames(r); !slices.Contains(got, "Project Falcon") {
		t.Errorf("memberOf after add = %v", got)
	}
	r = add(falcon.ID, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/`+adele+`"}`)
	if code, msg := graphErr(t, r); r.status != 400 || code != "Request_BadRequest" || !strings.Contains(msg, "already exist for the following modified properties: 'members'") {
		t.Errorf("add again: %d %s %s", r.status, code, msg)
	}
	if r := remove(falcon.ID, adele); r.status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.status, r.raw)
	}
	if r := remove(falcon.ID, adele); r.status != http.StatusNotFound {
		t.Errorf("remove again: %d, want 404", r.status)
	}

	all := simGroup(t, s, "contoso", "All Staff")
	payroll := simGroup(t, s, "contoso", "Payroll Alerts")
	admins := simGroup(t, s, "contoso", "IT Admins")
	tests := []struct {
		name        string
		rep         response
		status      int
		code, inMsg string
	}{
		{"add to dynamic", add(all.ID, ref(adele)), 403, "Authorization_RequestDenied", "Insufficient privileges"},
		{"remove from dynamic", remove(all.ID, adele), 403, "Authorization_RequestDenied", "Insufficient privileges"},
		{"add to mail-enabled security", add(payroll.ID, ref(adele)), 400, "Request_BadRequest", "mail-enabled security"},
		{"unknown object", add(falcon.ID, ref("00000000-0000-4000-8000-000000000000")), 404, "Request_ResourceNotFound", "does not exist"},
		{"by UPN", add(falcon.ID, ref("adele.vance@contoso.com")), 404, "Request_ResourceNotFound", "does not exist"},
		{"other host", add(falcon.ID, `{"@odata.id":"https://evil.example.com/v1.0/directoryObjects/`+adele+`"}`), 400, "BadRequest", "Invalid URL"},
		{"groups collection", add(falcon.ID, `{"@odata.id":"`+srv.URL+`/v1.0/groups/`+adele+`"}`), 400, "BadRequest", "Invalid URL"},
		{"no @odata.id", add(falcon.ID, `{"id":"`+adele+`"}`), 400, "BadRequest", "Invalid URL"},
		{"not JSON", add(falcon.ID, `members`), 400, "BadRequest", "JSON"},
		{"unknown group", add("00000000-0000-4000-8000-000000000000", ref(adele)), 404, "Request_ResourceNotFound", "does not exist"},
		{"remove a non-member", remove(admins.ID, adele), 404, "Request_ResourceNotFound", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := graphErr(t, tt.rep)
			if tt.rep.status != tt.status || code != tt.code || !strings.Contains(msg, tt.inMsg) {
				t.Errorf("%d %s %q, want %d %s %q", tt.rep.status, code, msg, tt.status, tt.code, tt.inMsg)
			}
		})
	}
	// Role-assignable groups accept members here; tierzero's policy gates them.
	if r := add(admins.ID, ref(adele)); r.status != http.StatusNoContent {
		t.Errorf("add to IT Admins: %d %s", r.status, r.raw)
	}

	j := s.Journal("contoso")
	if len(j) != 4+len(tests)+1 {
		t.Fatalf("journal has %d entries, want %d", len(j), 4+len(tests)+1)
	}
	if j[0].Method != http.MethodPost || j[0].Status != 204 || j[0].Path != "/v1.0/groups/"+falcon.ID+"/members/$ref" || !strings.Contains(string(j[0].Body), adele) {
		t.Errorf("journal[0] = %+v", j[0])
	}
	if j[2].Method != http.MethodDelete || j[2].Status != 204 || j[2].Path != "/v1.0/groups/"+falcon.ID+"/members/"+adele+"/$ref" {
		t.Errorf("journal[2] = %+v", j[2])
	}
	if len(s.Journal("fabrikam")) != 0 {
		t.Error("contoso writes reached fabrikam")
	}
}

func TestUserGroupsCast(t *testing.T) {
	srv, _ := newTest(t)
	for _, cast := range []string{"microsoft.graph.group", "graph.group"} {
		r := do(t, srv, request{path: "/v1.0/users/megan.bowen%40contoso.com/memberOf/" + cast + "?$select=id,displayName,isAssignableToRole", tenant: "contoso"})
		if r.status != http.StatusOK || r.json["@odata.context"] != metadata+"#groups(id,displayName,isAssignableToRole)" {
			t.Fatalf("%s: %d %s", cast, r.status, r.raw)
		}
		if got, want := displayNames(r), []string{"All Staff", "IT Admins", "VPN Users"}; !slices.Equal(got, want) {
			t.Errorf("%s: groups = %v, want %v", cast, got, want)
		}
	}
	r := do(t, srv, request{path: "/v1.0/users/megan.bowen%40contoso.com/memberOf/graph.group?$top=2", tenant: "contoso"})
	next, _ := r.json["@odata.nextLink"].(string)
	if len(displayNames(r)) != 2 || next == "" {
		t.Fatalf("page 1 = %v, next %q", displayNames(r), next)
	}
	r = do(t, srv, request{path: next, tenant: "contoso"})
	if got := displayNames(r); !slices.Equal(got, []string{"VPN Users"}) || r.json["@odata.nextLink"] != nil {
		t.Errorf("page 2 = %v, next %v", got, r.json["@odata.nextLink"])
	}
	r = do(t, srv, request{path: "/v1.0/users/nobody%40contoso.com/memberOf/graph.group", tenant: "contoso"})
	if r.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.status)
	}
}

// Owners are added through POST groups/{id}/owners/$ref and removed through
// DELETE groups/{id}/owners/{id}/$ref (learn.microsoft.com/graph/api/
// group-post-owners, group-delete-owners). The last owner cannot be
// removed (group-delete-owners), with the answer reported in
// microsoftgraph/microsoft-graph-docs#12054; groups created in Exchange
// have no owners in Graph (group-list-owners).
func TestGroupOwnerWrites(t *testing.T) {
	srv, s := newTest(t)
	vpn := simGroup(t, s, "contoso", "VPN Users") // owned by megan.bowen alone
	megan := simUserID(t, s, "contoso", "megan.bowen@contoso.com")
	nestor := simUserID(t, s, "contoso", "nestor.wilke@contoso.com")
	ref := func(id string) string { return `{"@odata.id":"` + srv.URL + `/v1.0/directoryObjects/` + id + `"}` }
	add := func(group, body string) response {
		return do(t, srv, request{method: http.MethodPost, path: "/v1.0/groups/" + group + "/owners/$ref", tenant: "contoso", body: body})
	}
	remove := func(group, owner string) response {
		return do(t, srv, request{method: http.MethodDelete, path: "/v1.0/groups/" + group + "/owners/" + owner + "/$ref", tenant: "contoso"})
	}

	r := remove(vpn.ID, megan)
	if code, msg := graphErr(t, r); r.status != 400 || code != "Request_BadRequest" || msg != "The group must have at least one owner, hence this owner cannot be removed." {
		t.Fatalf("remove the last owner: %d %s %s", r.status, code, msg)
	}
	if r := add(vpn.ID, ref(nestor)); r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	if got := simGroup(t, s, "contoso", "VPN Users").Owners; !slices.Equal(got, []string{"megan.bowen@contoso.com", "nestor.wilke@contoso.com"}) {
		t.Fatalf("owners after add = %v", got)
	}
	r = do(t, srv, request{path: "/v1.0/groups/" + vpn.ID + "/owners?$select=id", tenant: "contoso"})
	if vals, _ := r.json["value"].([]any); len(vals) != 2 {
		t.Errorf("owners listed after add: %s", r.raw)
	}
	r = add(vpn.ID, ref(nestor))
	if code, msg := graphErr(t, r); r.status != 400 || code != "Request_BadRequest" || !strings.Contains(msg, "modified properties: 'owners'") {
		t.Errorf("add again: %d %s %s", r.status, code, msg)
	}
	if r := remove(vpn.ID, megan); r.status != http.StatusNoContent {
		t.Fatalf("remove with two owners: %d %s", r.status, r.raw)
	}
	if r := remove(vpn.ID, megan); r.status != http.StatusNotFound {
		t.Errorf("remove again: %d, want 404", r.status)
	}
	if got := simGroup(t, s, "contoso", "VPN Users").Owners; !slices.Equal(got, []string{"nestor.wilke@contoso.com"}) {
		t.Errorf("owners after remove = %v", got)
	}
	payroll := simGroup(t, s, "contoso", "Payroll Alerts")
	r = add(payroll.ID, ref(nestor))
	if code, msg := graphErr(t, r); r.status != 400 || code != "Request_BadRequest" || !strings.Contains(msg, "mail-enabled security") {
		t.Errorf("add to mail-enabled security: %d %s %s", r.status, code, msg)
	}
	if r := add("00000000-0000-4000-8000-000000000000", ref(nestor)); r.status != http.StatusNotFound {
		t.Errorf("unknown group: %d", r.status)
	}
	if r := add(vpn.ID, ref("00000000-0000-4000-8000-000000000000")); r.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.status)
	}
}
