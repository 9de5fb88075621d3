package sim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// The partner reads its relationships in Graph's v1.0 shape: status,
// endDateTime, customer.tenantId, accessDetails.unifiedRoles[].roleDefinitionId
// (https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships,
// https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationship).
func TestGDAPRelationshipsList(t *testing.T) {
	srv, sim := newTest(t)
	res := do(t, srv, request{path: "/v1.0/tenantRelationships/delegatedAdminRelationships", header: bearer(PartnerToken("msp", "tess@msp.example"))})
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.raw)
	}
	value, _ := res.json["value"].([]any)
	if len(value) != 3 {
		t.Fatalf("%d relationships, want 3: %s", len(value), res.raw)
	}
	contosoID, _ := sim.TenantID("contoso")
	byCustomer := map[string]map[string]any{}
	for _, v := range value {
		r := v.(map[string]any)
		byCustomer[r["customer"].(map[string]any)["tenantId"].(string)] = r
	}
	c := byCustomer[contosoID]
	if c == nil || c["status"] != "active" || c["@odata.type"] != "#microsoft.graph.delegatedAdminRelationship" {
		t.Fatalf("contoso relationship %v", c)
	}
	if _, err := time.Parse(time.RFC3339, c["endDateTime"].(string)); err != nil {
		t.Fatalf("endDateTime: %v", err)
	}
	var ids []string
	for _, r := range c["accessDetails"].(map[string]any)["unifiedRoles"].([]any) {
		ids = append(ids, r.(map[string]any)["roleDefinitionId"].(string))
	}
	if !slices.Contains(ids, "fe930be7-5e62-47db-91af-98c3a49a38b1") || !slices.Contains(ids, "729827e3-9c14-49f7-bb1b-9608f156bbb8") {
		t.Fatalf("contoso roles %v: want User and Helpdesk Administrator's template ids", ids)
	}
	expired := 0
	for _, r := range byCustomer {
		if r["status"] == "expired" {
			expired++
		}
	}
	if expired != 1 {
		t.Fatalf("%d expired relationships, want the seeded one", expired)
	}
	if reqs := sim.Requests("msp"); len(reqs) != 1 || reqs[0].Caller != "user:tess@msp.example" {
		t.Fatalf("partner request log %+v", reqs)
	}

	// a stranger's token, and the partner's directory, are not served
	if res := do(t, srv, request{path: "/v1.0/tenantRelationships/delegatedAdminRelationships", header: bearer(PartnerToken("msp", "mallory@evil.example"))}); res.status != http.StatusUnauthorized {
		t.Fatalf("stranger: %d", res.status)
	}
	if res := do(t, srv, request{path: "/v1.0/users", header: bearer(PartnerToken("msp", "tess@msp.example"))}); res.status != http.StatusBadRequest {
		t.Fatalf("partner users: %d", res.status)
	}
}

// A technician's GDAP token acts within the relationship's roles; a call
// they do not cover, or any call once the relationship has expired, gets
// Graph's 403 Authorization_RequestDenied, "Insufficient privileges to
// complete the operation."
// (https://learn.microsoft.com/en-us/partner-center/customers/gdap-introduction,
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).
func TestGDAPTokenRoles(t *testing.T) {
	srv, sim := newTest(t)
	tess := func(customer string) map[string]string { return bearer(GDAPToken("msp", "tess@msp.example", customer)) }
	disable := `{"accountEnabled": false}`

	if res := do(t, srv, request{path: "/v1.0/users/ben.walters@fabrikam.com", header: tess("fabrikam")}); res.status != http.StatusOK {
		t.Fatalf("fabrikam read: %d %s", res.status, res.raw)
	}
	// Helpdesk Administrator cannot disable an account: fabrikam's relationship lacks User Administrator
	res := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/ben.walters@fabrikam.com", body: disable, header: tess("fabrikam")})
	if res.status != http.StatusForbidden || !strings.Contains(string(res.raw), "Authorization_RequestDenied") {
		t.Fatalf("fabrikam disable: %d %s", res.status, res.raw)
	}
	if st, _ := sim.State("fabrikam"); !slices.ContainsFunc(st.Users, func(u User) bool { return u.UserPrincipalName == "ben.walters@fabrikam.com" && u.AccountEnabled }) {
		t.Fatal("the refused write was applied")
	}
	// contoso's relationship has User Administrator
	if res := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/adele.vance@contoso.com", body: disable, header: tess("contoso")}); res.status != http.StatusNoContent {
		t.Fatalf("contoso disable: %d %s", res.status, res.raw)
	}
	// but not Privileged Authentication Administrator, for an admin
	if res := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/nestor.wilke@contoso.com", body: disable, header: tess("contoso")}); res.status != http.StatusForbidden {
		t.Fatalf("contoso disable an admin: %d %s", res.status, res.raw)
	}

	// the relationship expires: nothing is allowed any more
	end := testNow.Add(-time.Minute)
	if err := sim.ChangeRelationship("msp", "contoso", RelationshipChange{End: &end}); err != nil {
		t.Fatal(err)
	}
	if res := do(t, srv, request{path: "/v1.0/users/adele.vance@contoso.com", header: tess("contoso")}); res.status != http.StatusForbidden {
		t.Fatalf("read after expiry: %d", res.status)
	}
	reqs := sim.Requests("contoso")
	if len(reqs) != 3 || reqs[0].Caller != "gdap:msp/tess@msp.example" || reqs[2].Status != http.StatusForbidden {
		t.Fatalf("contoso request log %+v", reqs)
	}

	// /_sim/gdap gives the roles back, and a technician unknown to the partner is refused
	res = do(t, srv, request{method: http.MethodPatch, path: "/_sim/gdap?partner=msp&customer=fabrikam", body: `{"roles": ["user administrator"]}`})
	if res.status != http.StatusOK {
		t.Fatalf("/_sim/gdap: %d %s", res.status, res.raw)
	}
	if res := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/ben.walters@fabrikam.com", body: disable, header: tess("fabrikam")}); res.status != http.StatusNoContent {
		t.Fatalf("fabrikam disable with User Administrator: %d %s", res.status, res.raw)
	}
	if res := do(t, srv, request{path: "/v1.0/users", header: bearer(GDAPToken("msp", "mallory@evil.example", "contoso"))}); res.status != http.StatusUnauthorized {
		t.Fatalf("stranger: %d", res.status)
	}
	if res := do(t, srv, request{method: http.MethodPatch, path: "/_sim/gdap?partner=msp&customer=fabrikam", body: `{"roles": ["Janitor"]}`}); res.status != http.StatusBadRequest {
		t.Fatalf("unknown role: %d", res.status)
	}
}
