package sim

import (
	"net/http"
	"net/url"
	"testing"
)

func roleNames(t *testing.T, r response, eligible bool) []string {
	t.Helper()
	var out []string
	vals, _ := r.json["value"].([]any)
	for _, v := range vals {
		o, _ := v.(map[string]any)
		def, _ := o["roleDefinition"].(map[string]any)
		name, _ := def["displayName"].(string)
		if o["roleDefinitionId"] != roleTemplates[name].id || o["directoryScopeId"] != "/" {
			t.Errorf("assignment %v", o)
		}
		if _, has := o["memberType"]; has != eligible {
			t.Errorf("assignment %v: memberType present %v, want %v", o, has, eligible)
		}
		out = append(out, name)
	}
	return out
}

func TestRoleManagement(t *testing.T) {
	srv, s := newTest(t)
	lee := simUserID(t, s, "contoso", "lee.gu@contoso.com")
	megan := simUserID(t, s, "contoso", "megan.bowen@contoso.com")
	it := simGroup(t, s, "contoso", "IT Admins")
	if err := s.Change("contoso", Change{User: "lee.gu@contoso.com", EligibleRole: "User Administrator"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Change("contoso", Change{Group: "IT Admins", EligibleRole: "Global Administrator"}); err != nil {
		t.Fatal(err)
	}
	list := func(set, principal string) response {
		q := url.Values{"$filter": {"principalId eq '" + principal + "'"}, "$expand": {"roleDefinition"}}
		return do(t, srv, request{path: "/v1.0/roleManagement/directory/" + set + "?" + q.Encode(), tenant: "contoso"})
	}
	tests := []struct {
		set, principal string
		want           []string
	}{
		{"roleEligibilityScheduleInstances", lee, []string{"User Administrator"}},
		{"roleAssignments", lee, nil},
		{"roleAssignments", megan, []string{"Global Administrator"}},
		{"roleEligibilityScheduleInstances", megan, nil},
		{"roleAssignments", it.ID, []string{"Helpdesk Administrator"}},
		{"roleEligibilityScheduleInstances", it.ID, []string{"Global Administrator"}},
	}
	for _, tt := range tests {
		r := list(tt.set, tt.principal)
		got := roleNames(t, r, tt.set == "roleEligibilityScheduleInstances")
		if r.status != http.StatusOK || len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%s of %s: %d %v, want %v", tt.set, tt.principal, r.status, got, tt.want)
		}
	}
	if r := do(t, srv, request{path: "/v1.0/roleManagement/directory/roleAssignments?$filter=" + url.QueryEscape("roleDefinitionId eq 'x'"), tenant: "contoso"}); r.status != http.StatusBadRequest {
		t.Errorf("unsupported filter: %d", r.status)
	}
	for _, c := range []Change{
		{Group: "Sales Team", Role: "Global Administrator"},           // not role-assignable
		{Group: "IT Admins", Role: "Chief Wizard"},                    // no such role
		{User: "lee.gu@contoso.com", Role: "Global Administrator"},    // active user roles are seeded
		{Device: "CONTOSO-LT013", EligibleRole: "User Administrator"}, // not a principal
	} {
		if err := s.Change("contoso", c); err == nil {
			t.Errorf("Change(%+v) succeeded", c)
		}
	}
	st, _ := s.State("contoso")
	for _, u := range st.Users {
		if u.UserPrincipalName == "lee.gu@contoso.com" && (len(u.EligibleRoles) != 1 || len(u.DirectoryRoles) != 0) {
			t.Errorf("lee = %+v", u)
		}
	}
}

func TestGroupEligibility(t *testing.T) {
	srv, s := newTest(t)
	lee := simUserID(t, s, "contoso", "lee.gu@contoso.com")
	it := simGroup(t, s, "contoso", "IT Admins")
	if err := s.Change("contoso", Change{Group: "IT Admins", EligibleMember: "lee.gu@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	for _, filter := range []string{"principalId eq '" + lee + "'", "groupId eq '" + it.ID + "'"} {
		r := do(t, srv, request{path: "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?$filter=" + url.QueryEscape(filter), tenant: "contoso"})
		vals, _ := r.json["value"].([]any)
		if r.status != http.StatusOK || len(vals) != 1 {
			t.Fatalf("%s: %d %v", filter, r.status, r.json)
		}
		v := vals[0].(map[string]any)
		if v["principalId"] != lee || v["groupId"] != it.ID || v["accessId"] != "member" {
			t.Errorf("%s: %v", filter, v)
		}
	}
	if r := do(t, srv, request{path: "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances", tenant: "contoso"}); r.status != http.StatusBadRequest {
		t.Errorf("without a filter: %d, want 400 as Graph answers", r.status)
	}
	if err := s.Change("contoso", Change{Group: "IT Admins", EligibleMember: "nobody@contoso.com"}); err == nil {
		t.Error("an unknown member was made eligible")
	}
}
