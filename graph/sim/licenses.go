package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// This file: subscribed SKUs and license assignment.

var licenseRoutes = []route{
	{http.MethodGet, "subscribedSkus", (*Server).listSKUs},
	{http.MethodGet, "subscribedSkus/{sku}", (*Server).getSKU},
	{http.MethodPost, "users/{user}/assignLicense", (*Server).assignLicense},
}

// seedLicenses makes licensing tell a story: POWER_BI_PRO is fully used (no
// free unit, so an assignment fails), and the tenant's last seeded enabled
// user is a new starter with no usage location and no license yet.
func seedLicenses(t *tenant, now time.Time) {
	for i := len(t.users) - 1; i >= 0; i-- {
		if u := t.users[i]; u.AccountEnabled {
			u.UsageLocation = ""
			u.AssignedLicenses = []string{}
			break
		}
	}
	for i := range t.skus {
		if t.skus[i].SkuPartNumber == "POWER_BI_PRO" {
			t.skus[i].PrepaidUnits = t.consumedUnits("POWER_BI_PRO")
		}
	}
}

// consumedUnits counts the users holding a SKU, by part number.
func (t *tenant) consumedUnits(part string) int {
	n := 0
	for _, u := range t.users {
		if slices.Contains(u.AssignedLicenses, part) {
			n++
		}
	}
	return n
}

// skuByID returns the tenant's subscription of skuId, nil when it has none.
func (t *tenant) skuByID(skuID string) *SKU {
	for i := range t.skus {
		if strings.EqualFold(t.skus[i].SkuID, skuID) {
			return &t.skus[i]
		}
	}
	return nil
}

func (t *tenant) skuJSON(k *SKU) map[string]any {
	return map[string]any{
		"@odata.type":      "#microsoft.graph.subscribedSku",
		"id":               k.ID,
		"accountId":        t.id,
		"accountName":      t.name,
		"appliesTo":        "User",
		"capabilityStatus": k.CapabilityStatus,
		"consumedUnits":    t.consumedUnits(k.SkuPartNumber),
		"prepaidUnits":     map[string]int{"enabled": k.PrepaidUnits, "suspended": 0, "warning": 0, "lockedOut": 0},
		"servicePlans":     servicePlansJSON(k.SkuPartNumber),
		"skuId":            k.SkuID,
		"skuPartNumber":    k.SkuPartNumber,
		"subscriptionIds":  []string{guid(t.name, "subscription", k.SkuPartNumber)},
	}
}

// servicePlansJSON lists the service plans of a SKU as subscribedSkus does.
func servicePlansJSON(part string) []any {
	out := []any{}
	for _, p := range skuPlans[part] {
		out = append(out, map[string]any{"servicePlanId": p[1], "servicePlanName": p[0], "provisioningStatus": "Success", "appliesTo": "User"})
	}
	return out
}

// hasServicePlan reports whether an enabled subscription of the tenant
// includes the service plan: Entra ID P1 is AAD_PREMIUM, P2 AAD_PREMIUM_P2.
// Graph gates features on it (sign-in logs need P1, riskyUsers P2).
func (t *tenant) hasServicePlan(name string) bool {
	for _, k := range t.skus {
		if k.CapabilityStatus != "Enabled" || k.PrepaidUnits == 0 {
			continue
		}
		for _, p := range skuPlans[k.SkuPartNumber] {
			if p[0] == name {
				return true
			}
		}
	}
	return false
}

// listSKUs serves GET /subscribedSkus (no query options).
func (s *Server) listSKUs(c *call) reply {
	if len(c.query) > 0 {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("Query option '%s' is not supported by the simulator.", sortedKeys(c.query)[0]))
	}
	values := []any{}
	for i := range c.t.skus {
		values = append(values, c.t.skuJSON(&c.t.skus[i]))
	}
	return ok(map[string]any{"@odata.context": metadata + "#subscribedSkus", "value": values})
}

// getSKU serves GET /subscribedSkus/{tenantId}_{skuId}.
func (s *Server) getSKU(c *call) reply {
	ref := c.params["sku"]
	for i := range c.t.skus {
		if k := &c.t.skus[i]; strings.EqualFold(k.ID, ref) {
			m := c.t.skuJSON(k)
			delete(m, "@odata.type")
			m["@odata.context"] = metadata + "#subscribedSkus/$entity"
			return ok(m)
		}
	}
	return notFound(ref)
}

// assignLicense serves POST /users/{id}/assignLicense: all or nothing,
// answering 200 with the user.
func (s *Server) assignLicense(c *call) reply {
	var body struct {
		AddLicenses *[]struct {
			SkuID         string   `json:"skuId"`
			DisabledPlans []string `json:"disabledPlans"`
		} `json:"addLicenses"`
		RemoveLicenses *[]string `json:"removeLicenses"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		return errPayload
	}
	// Both collections are required; null is refused.
	if body.AddLicenses == nil {
		return fail(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'addLicenses' of resource 'User'.")
	}
	if body.RemoveLicenses == nil {
		return fail(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'removeLicenses' of resource 'User'.")
	}
	u := c.user
	next := slices.Clone(u.AssignedLicenses)
	unknown := func(id string) reply {
		return fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("License %s does not correspond to a valid company License.", id))
	}
	for _, id := range *body.RemoveLicenses {
		k := c.t.skuByID(id)
		if k == nil {
			return unknown(id)
		}
		if !slices.Contains(next, k.SkuPartNumber) {
			return fail(http.StatusBadRequest, "Request_BadRequest", "User does not have a corresponding license.")
		}
		next = slices.DeleteFunc(next, func(p string) bool { return p == k.SkuPartNumber })
	}
	for _, l := range *body.AddLicenses {
		k := c.t.skuByID(l.SkuID)
		if k == nil {
			return unknown(l.SkuID)
		}
		if u.UsageLocation == "" {
			return fail(http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
		}
		if slices.Contains(next, k.SkuPartNumber) {
			continue // already held: Graph accepts the assignment again
		}
		if c.t.consumedUnits(k.SkuPartNumber) >= k.PrepaidUnits {
			return fail(http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Subscription with SKU %s does not have any available licenses.", k.SkuID))
		}
		next = append(next, k.SkuPartNumber)
	}
	u.AssignedLicenses = next
	return ok(userJSON(u, nil, "users/$entity", ""))
}
