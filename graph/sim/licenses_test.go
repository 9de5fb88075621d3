package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// simSkuUnits returns the consumed and enabled units of a SKU from
// GET /subscribedSkus.
func simSkuUnits(t *testing.T, r response, part string) (consumed, enabled int) {
	t.Helper()
	vals, _ := r.json["value"].([]any)
	for _, v := range vals {
		o := v.(map[string]any)
		if o["skuPartNumber"] == part {
			pre := o["prepaidUnits"].(map[string]any)
			return int(o["consumedUnits"].(float64)), int(pre["enabled"].(float64))
		}
	}
	t.Fatalf("no sku %s in %s", part, r.raw)
	return 0, 0
}

func TestSubscribedSkus(t *testing.T) {
	srv, s := newTest(t)
	for _, tn := range s.Tenants() {
		r := do(t, srv, request{path: "/v1.0/subscribedSkus", tenant: tn})
		if r.status != http.StatusOK || r.json["@odata.context"] != metadata+"#subscribedSkus" {
			t.Fatalf("%s: %d %s", tn, r.status, r.raw)
		}
		vals, _ := r.json["value"].([]any)
		if len(vals) != 5 {
			t.Fatalf("%s: %d skus", tn, len(vals))
		}
		st, _ := s.State(tn)
		for _, v := range vals {
			o := v.(map[string]any)
			part, _ := o["skuPartNumber"].(string)
			if o["@odata.type"] != "#microsoft.graph.subscribedSku" || o["skuId"] != skuIDs[part] || o["appliesTo"] != "User" ||
				o["capabilityStatus"] != "Enabled" || !strings.HasSuffix(o["id"].(string), "_"+skuIDs[part]) {
				t.Errorf("%s: sku %v", tn, o)
			}
			pre, _ := o["prepaidUnits"].(map[string]any)
			for _, k := range []string{"enabled", "suspended", "warning", "lockedOut"} {
				if _, ok := pre[k]; !ok {
					t.Errorf("%s %s: prepaidUnits lacks %s", tn, part, k)
				}
			}
			for _, k := range st.SKUs {
				if k.SkuPartNumber == part && (float64(k.ConsumedUnits) != o["consumedUnits"] || float64(k.PrepaidUnits) != pre["enabled"]) {
					t.Errorf("%s %s: answer %v disagrees with state %+v", tn, part, o, k)
				}
			}
		}
		if c, e := simSkuUnits(t, r, "POWER_BI_PRO"); c != e || c == 0 {
			t.Errorf("%s POWER_BI_PRO: %d of %d consumed, want all", tn, c, e)
		}
		if c, e := simSkuUnits(t, r, "ENTERPRISEPACK"); c >= e {
			t.Errorf("%s ENTERPRISEPACK: %d of %d consumed, want free units", tn, c, e)
		}
		var starters []string
		for _, u := range st.Users {
			if u.UsageLocation == "" {
				starters = append(starters, u.UserPrincipalName)
				if !u.AccountEnabled || len(u.AssignedLicenses) != 0 {
					t.Errorf("%s: user without usage location %+v", tn, u)
				}
			}
		}
		if len(starters) != 1 {
			t.Errorf("%s: users without usage location = %v, want one", tn, starters)
		}
	}
	r := do(t, srv, request{path: "/v1.0/subscribedSkus?$filter=skuPartNumber%20eq%20'EMS'", tenant: "contoso"})
	if code, _ := graphErr(t, r); r.status != 400 || code != "Request_UnsupportedQuery" {
		t.Errorf("filter: %d %s", r.status, code)
	}
	r = do(t, srv, request{path: "/v1.0/subscribedSkus/" + guid("tenant", "contoso") + "_" + skuIDs["EMS"], tenant: "contoso"})
	if r.status != 200 || r.json["skuPartNumber"] != "EMS" || r.json["@odata.context"] != metadata+"#subscribedSkus/$entity" {
		t.Errorf("get sku: %d %s", r.status, r.raw)
	}
}

func TestAssignLicense(t *testing.T) {
	srv, s := newTest(t)
	post := func(user, body string) response {
		return do(t, srv, request{method: http.MethodPost, path: "/v1.0/users/" + user + "/assignLicense", tenant: "contoso", body: body})
	}
	units := func(part string) int {
		c, _ := simSkuUnits(t, do(t, srv, request{path: "/v1.0/subscribedSkus", tenant: "contoso"}), part)
		return c
	}
	licenses := func(upn string) []string {
		st, _ := s.State("contoso")
		for _, u := range st.Users {
			if u.UserPrincipalName == upn {
				return u.AssignedLicenses
			}
		}
		return nil
	}
	e3 := skuIDs["SPE_E3"]
	before := units("SPE_E3")
	r := post("adele.vance@contoso.com", `{"addLicenses":[{"skuId":"`+e3+`","disabledPlans":[]}],"removeLicenses":[]}`)
	if r.status != http.StatusOK || r.json["userPrincipalName"] != "adele.vance@contoso.com" || r.json["@odata.context"] != metadata+"#users/$entity" {
		t.Fatalf("assign: %d %s", r.status, r.raw)
	}
	if got := units("SPE_E3"); got != before+1 || !slices.Contains(licenses("adele.vance@contoso.com"), "SPE_E3") {
		t.Fatalf("after assign: %d units consumed (was %d), licenses %v", got, before, licenses("adele.vance@contoso.com"))
	}
	if r := post("adele.vance@contoso.com", `{"addLicenses":[{"skuId":"`+e3+`"}],"removeLicenses":[]}`); r.status != http.StatusOK || units("SPE_E3") != before+1 {
		t.Errorf("assign again: %d, %d units", r.status, units("SPE_E3"))
	}
	if r := post("adele.vance@contoso.com", `{"addLicenses":[],"removeLicenses":["`+e3+`"]}`); r.status != http.StatusOK || units("SPE_E3") != before {
		t.Errorf("remove: %d, %d units", r.status, units("SPE_E3"))
	}

	starter := "enrico.cattaneo@contoso.com"
	tests := []struct {
		name, user, body, msg string
	}{
		{"no free unit", "alex.wilber@contoso.com", `{"addLicenses":[{"skuId":"` + skuIDs["POWER_BI_PRO"] + `","disabledPlans":[]}],"removeLicenses":[]}`,
			"Subscription with SKU " + skuIDs["POWER_BI_PRO"] + " does not have any available licenses."},
		{"no usage location", starter, `{"addLicenses":[{"skuId":"` + skuIDs["EMS"] + `","disabledPlans":[]}],"removeLicenses":[]}`,
			"License assignment cannot be done for user with invalid usage location."},
		{"remove a license not held", "alex.wilber@contoso.com", `{"addLicenses":[],"removeLicenses":["` + e3 + `"]}`,
			"User does not have a corresponding license."},
		{"unknown sku", "alex.wilber@contoso.com", `{"addLicenses":[{"skuId":"c7df2760-2c81-4ef7-b578-5b5392b571df"}],"removeLicenses":[]}`,
			"License c7df2760-2c81-4ef7-b578-5b5392b571df does not correspond to a valid company License."},
		{"removeLicenses missing", "alex.wilber@contoso.com", `{"addLicenses":[]}`,
			"Invalid value specified for property 'removeLicenses' of resource 'User'."},
		{"addLicenses null", "alex.wilber@contoso.com", `{"addLicenses":null,"removeLicenses":[]}`,
			"Invalid value specified for property 'addLicenses' of resource 'User'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.user, tt.body)
			if code, msg := graphErr(t, r); r.status != 400 || code != "Request_BadRequest" || msg != tt.msg {
				t.Errorf("%d %s %q, want 400 Request_BadRequest %q", r.status, code, msg, tt.msg)
			}
		})
	}
	if r := post("nobody@contoso.com", `{"addLicenses":[],"removeLicenses":[]}`); r.status != 404 {
		t.Errorf("unknown user: %d", r.status)
	}
	if got := licenses("alex.wilber@contoso.com"); !slices.Equal(got, []string{"ENTERPRISEPACK", "EMS"}) {
		t.Errorf("failed calls changed alex's licenses: %v", got)
	}
	j := s.Journal("contoso")
	if len(j) != 3+len(tests)+1 || j[0].Status != 200 || !strings.Contains(string(j[0].Body), e3) {
		t.Errorf("journal = %+v", j)
	}
}

// TestGroupBasedLicensing models group-based licensing as Graph shows it: a
// user's licenseAssignmentStates say whether each license is direct
// (assignedByGroup null) or inherited (the group's id), with state and
// error ("licenseAssignmentState resource type",
// https://learn.microsoft.com/graph/api/resources/licenseassignmentstate);
// assignedLicenses lists inherited licenses too; a group's assignedLicenses
// are what it grants; and assignLicense refuses to remove an inherited
// license: "User license is inherited from group membership and cannot be
// removed directly from the user." (reported in KelvinTegelaar/CIPP#4090).
// A group's license with no free unit left is an Error state with
// CountViolation, and the member does not get it.
func TestGroupBasedLicensing(t *testing.T) {
	srv, s := newTest(t)
	const alex = "alex.wilber@contoso.com"
	group := guid("contoso", "group", "Sales Licensing")
	ems := skuIDs["EMS"]
	type stateOut struct {
		AssignedByGroup *string  `json:"assignedByGroup"`
		DisabledPlans   []string `json:"disabledPlans"`
		Error           string   `json:"error"`
		SkuID           string   `json:"skuId"`
		State           string   `json:"state"`
		LastUpdated     string   `json:"lastUpdatedDateTime"`
	}
	read := func(upn string) (licenses []string, states []stateOut) {
		t.Helper()
		r := do(t, srv, request{path: "/v1.0/users/" + upn + "?$select=assignedLicenses,licenseAssignmentStates", tenant: "contoso"})
		var u struct {
			AssignedLicenses []struct {
				SkuID string `json:"skuId"`
			} `json:"assignedLicenses"`
			LicenseAssignmentStates []stateOut `json:"licenseAssignmentStates"`
		}
		if r.status != 200 || json.Unmarshal(r.raw, &u) != nil {
			t.Fatalf("get %s: %d %s", upn, r.status, r.raw)
		}
		for _, l := range u.AssignedLicenses {
			licenses = append(licenses, l.SkuID)
		}
		return licenses, u.LicenseAssignmentStates
	}
	inherited := func(states []stateOut, sku string) bool {
		return slices.ContainsFunc(states, func(s stateOut) bool {
			return s.SkuID == sku && s.AssignedByGroup != nil && *s.AssignedByGroup == group && s.State == "Active"
		})
	}
	direct := func(states []stateOut, sku string) bool {
		return slices.ContainsFunc(states, func(s stateOut) bool { return s.SkuID == sku && s.AssignedByGroup == nil })
	}
	post := func(upn, body string) response {
		return do(t, srv, request{method: http.MethodPost, path: "/v1.0/users/" + upn + "/assignLicense", tenant: "contoso", body: body})
	}
	emsUnits := func() int {
		c, _ := simSkuUnits(t, do(t, srv, request{path: "/v1.0/subscribedSkus", tenant: "contoso"}), "EMS")
		return c
	}

	// Seeded: the sales team gets EMS from the group only, Office directly.
	r := do(t, srv, request{path: "/v1.0/groups/" + group + "?$select=displayName,assignedLicenses", tenant: "contoso"})
	if r.status != 200 || r.json["displayName"] != "Sales Licensing" || !strings.Contains(string(r.raw), `"skuId":"`+ems+`"`) {
		t.Fatalf("licensing group: %d %s", r.status, r.raw)
	}
	lic, states := read(alex)
	if !slices.Contains(lic, ems) || !inherited(states, ems) || direct(states, ems) || !direct(states, skuIDs["ENTERPRISEPACK"]) {
		t.Fatalf("alex: licenses %v, states %+v", lic, states)
	}
	for _, st := range states {
		if st.Error != "None" || st.DisabledPlans == nil || st.LastUpdated == "" {
			t.Errorf("state %+v", st)
		}
	}
	used := emsUnits()

	// An inherited license cannot be removed from the user.
	r = post(alex, `{"addLicenses":[],"removeLicenses":["`+ems+`"]}`)
	if code, msg := graphErr(t, r); r.status != 400 || code != "Request_BadRequest" ||
		msg != "User license is inherited from group membership and cannot be removed directly from the user." {
		t.Fatalf("remove inherited: %d %s %q", r.status, code, msg)
	}
	if lic, _ := read(alex); !slices.Contains(lic, ems) {
		t.Fatal("a refused removal removed the license")
	}

	// A direct assignment may stand beside the inherited one, taking no
	// other unit; removing it leaves the inherited license.
	if r := post(alex, `{"addLicenses":[{"skuId":"`+ems+`","disabledPlans":[]}],"removeLicenses":[]}`); r.status != 200 {
		t.Fatalf("assign directly: %d %s", r.status, r.raw)
	}
	if _, states := read(alex); !direct(states, ems) || !inherited(states, ems) || emsUnits() != used {
		t.Fatalf("direct beside inherited: %+v, %d units (was %d)", states, emsUnits(), used)
	}
	if r := post(alex, `{"addLicenses":[],"removeLicenses":["`+ems+`"]}`); r.status != 200 {
		t.Fatalf("remove the direct one: %d %s", r.status, r.raw)
	}
	if lic, states := read(alex); direct(states, ems) || !inherited(states, ems) || !slices.Contains(lic, ems) {
		t.Fatalf("after removing the direct one: %v %+v", lic, states)
	}

	// Leaving the group takes the license; joining gives it.
	if r := do(t, srv, request{method: http.MethodDelete, path: "/v1.0/groups/" + group + "/members/" + guid("contoso", "user", alex) + "/$ref", tenant: "contoso"}); r.status != 204 {
		t.Fatalf("remove member: %d %s", r.status, r.raw)
	}
	if lic, states := read(alex); slices.Contains(lic, ems) || len(states) != 1 || emsUnits() != used-1 {
		t.Fatalf("after leaving the group: %v %+v, %d units", lic, states, emsUnits())
	}
	const grady = "grady.archie@contoso.com" // SPE_E3 only
	join := func(upn string) {
		t.Helper()
		body := `{"@odata.id":"` + srv.URL + `/v1.0/directoryObjects/` + guid("contoso", "user", upn) + `"}`
		if r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/groups/" + group + "/members/$ref", tenant: "contoso", body: body}); r.status != 204 {
			t.Fatalf("add member %s: %d %s", upn, r.status, r.raw)
		}
	}
	join(grady)
	if lic, states := read(grady); !slices.Contains(lic, ems) || !inherited(states, ems) {
		t.Fatalf("grady after joining: %v %+v", lic, states)
	}

	// No free unit: the state is an error and the license is not held.
	s.mu.Lock()
	tn := s.tenants["contoso"]
	for i := range tn.groups {
		if tn.groups[i].ID == group {
			tn.groups[i].AssignedLicenses = []string{"EMS", "POWER_BI_PRO"}
		}
	}
	s.mu.Unlock()
	const isaiah = "isaiah.langer@contoso.com" // SPE_E3 only; POWER_BI_PRO is sold out
	join(isaiah)
	lic, states = read(isaiah)
	bi := skuIDs["POWER_BI_PRO"]
	if slices.Contains(lic, bi) || !slices.Contains(lic, ems) || !slices.ContainsFunc(states, func(s stateOut) bool {
		return s.SkuID == bi && s.State == "Error" && s.Error == "CountViolation" && s.AssignedByGroup != nil && *s.AssignedByGroup == group
	}) {
		t.Fatalf("isaiah with POWER_BI_PRO sold out: %v %+v", lic, states)
	}
	st, _ := s.State("contoso")
	for _, u := range st.Users {
		if u.UserPrincipalName == isaiah && len(u.LicenseAssignmentStates) != 3 {
			t.Errorf("state of isaiah = %+v", u.LicenseAssignmentStates)
		}
	}
}
