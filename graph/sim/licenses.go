package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// This file: subscribed SKUs, license assignment and group-based licensing.
//
// A user's licenseAssignmentStates (Microsoft Learn, "licenseAssignmentState
// resource type", https://learn.microsoft.com/graph/api/resources/licenseassignmentstate)
// are the truth: one per direct assignment (assignedByGroup null) and one per
// license a group the user belongs to grants (assignedByGroup: the group's
// id). assignedLicenses is derived from them: every SKU the user holds,
// directly or inherited, as Graph lists it. A license inherited from a group
// cannot be removed from the user (publicly reported answer of assignLicense:
// "User license is inherited from group membership and cannot be removed
// directly from the user.", KelvinTegelaar/CIPP#4090); only leaving the group
// removes it.

var licenseRoutes = []route{
	{http.MethodGet, "subscribedSkus", (*Server).listSKUs},
	{http.MethodGet, "subscribedSkus/{sku}", (*Server).getSKU},
	{http.MethodPost, "users/{user}/assignLicense", (*Server).assignLicense},
}

// LicenseAssignmentState is one license of a user and where it comes from
// (microsoft.graph.licenseAssignmentState): AssignedByGroup is empty for a
// direct assignment, else the id of the group that grants it. State is
// Active, or Error with Error saying why (CountViolation: no free unit);
// Error is "None" otherwise. SKU is the part number (skuId on the wire).
type LicenseAssignmentState struct {
	SKU             string    `json:"sku"`
	AssignedByGroup string    `json:"assignedByGroup,omitempty"`
	State           string    `json:"state"`
	Error           string    `json:"error"`
	LastUpdated     time.Time `json:"lastUpdatedDateTime"`
}

// licensingGroups are the groups of every tenant that grant licenses
// (group-based licensing), with their members: the sales team gets EMS
// from "Sales Licensing" rather than directly.
var licensingGroups = []struct {
	name, nickname, description string
	licenses                    []string
	dept                        string
}{
	{"Sales Licensing", "saleslicensing", "Group-based licensing: Enterprise Mobility + Security E3 (EMS) for the sales team",
		[]string{"EMS"}, "Sales"},
}

// seedLicenses makes licensing tell a story: POWER_BI_PRO is fully used (no
// free unit, so an assignment fails), the tenant's last seeded enabled user
// is a new starter with no usage location and no license yet, and the sales
// team's EMS comes from the group Sales Licensing, not a direct assignment.
func seedLicenses(t *tenant, now time.Time) {
	for i := len(t.users) - 1; i >= 0; i-- {
		if u := t.users[i]; u.AccountEnabled {
			u.UsageLocation = ""
			u.AssignedLicenses = []string{}
			break
		}
	}
	for _, u := range t.users {
		states := []LicenseAssignmentState{}
		for _, part := range u.AssignedLicenses {
			states = append(states, LicenseAssignmentState{SKU: part, State: "Active", Error: "None", LastUpdated: u.LastPasswordChangeDateTime})
		}
		u.LicenseAssignmentStates = states
	}
	for _, lg := range licensingGroups {
		g := Group{
			ID:               guid(t.name, "group", lg.name),
			DisplayName:      lg.name,
			Description:      lg.description,
			MailNickname:     lg.nickname,
			SecurityEnabled:  true,
			GroupTypes:       []string{},
			Roles:            []string{},
			EligibleRoles:    []string{},
			EligibleMembers:  []string{},
			Owners:           t.deptHeads("IT"),
			Members:          []string{},
			AssignedLicenses: slices.Clone(lg.licenses),
			CreatedDateTime:  now.Add(-200 * 24 * time.Hour),
		}
		for _, u := range t.users {
			if u.Department != lg.dept || !u.AccountEnabled || len(u.AssignedLicenses) == 0 {
				continue
			}
			g.Members = append(g.Members, u.UserPrincipalName)
			// Inherited only: the direct assignment goes.
			u.LicenseAssignmentStates = slices.DeleteFunc(u.LicenseAssignmentStates, func(s LicenseAssignmentState) bool {
				return slices.Contains(lg.licenses, s.SKU)
			})
		}
		t.groups = append(t.groups, g)
	}
	t.relicense(now)
	for i := range t.skus {
		if t.skus[i].SkuPartNumber == "POWER_BI_PRO" {
			t.skus[i].PrepaidUnits = t.consumedUnits("POWER_BI_PRO")
		}
	}
}

// relicense brings every user's group-based license states in line with the
// groups' licenses and members, and derives assignedLicenses from the
// states. A group's license a user does not hold yet needs a free unit;
// without one the state is Error (CountViolation) and the user does not get
// it. Graph processes group licensing in the background; the simulator does
// it at once. Called with Server.mu held, after any change of membership.
func (t *tenant) relicense(now time.Time) {
	for _, u := range t.users {
		var states []LicenseAssignmentState
		for _, s := range u.LicenseAssignmentStates {
			if s.AssignedByGroup == "" {
				states = append(states, s)
			}
		}
		for i := range t.groups {
			g := &t.groups[i]
			if len(g.AssignedLicenses) == 0 || !containsFold(g.Members, u.UserPrincipalName) {
				continue
			}
			for _, part := range g.AssignedLicenses {
				prev := slices.IndexFunc(u.LicenseAssignmentStates, func(s LicenseAssignmentState) bool {
					return s.AssignedByGroup == g.ID && s.SKU == part
				})
				if prev >= 0 && u.LicenseAssignmentStates[prev].State == "Active" {
					states = append(states, u.LicenseAssignmentStates[prev])
					continue
				}
				s := LicenseAssignmentState{SKU: part, AssignedByGroup: g.ID, State: "Active", Error: "None", LastUpdated: now}
				k := t.skuByPart(part)
				held := slices.ContainsFunc(states, func(s LicenseAssignmentState) bool { return s.SKU == part && s.State == "Active" }) ||
					slices.Contains(u.AssignedLicenses, part)
				if k == nil || (!held && t.consumedUnits(part) >= k.PrepaidUnits) {
					s.State, s.Error = "Error", "CountViolation"
				}
				states = append(states, s)
			}
		}
		if states == nil {
			states = []LicenseAssignmentState{}
		}
		u.LicenseAssignmentStates = states // replaced, never modified in place
		u.AssignedLicenses = activeLicenses(u.AssignedLicenses, states)
	}
}

// activeLicenses is the assignedLicenses the states make: the SKUs of the
// active states, in the order of before, new ones last.
func activeLicenses(before []string, states []LicenseAssignmentState) []string {
	var active []string
	for _, s := range states {
		if s.State == "Active" && !slices.Contains(active, s.SKU) {
			active = append(active, s.SKU)
		}
	}
	out := []string{}
	for _, part := range before {
		if slices.Contains(active, part) {
			out = append(out, part)
		}
	}
	for _, part := range active {
		if !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out
}

// licenseStatesJSON renders a user's licenseAssignmentStates as Graph does.
func licenseStatesJSON(u *user) any {
	out := []any{}
	for _, s := range u.LicenseAssignmentStates {
		out = append(out, map[string]any{
			"assignedByGroup":     null(s.AssignedByGroup),
			"disabledPlans":       []string{},
			"error":               s.Error,
			"lastUpdatedDateTime": graphTime(s.LastUpdated),
			"skuId":               skuIDs[s.SKU],
			"state":               s.State,
		})
	}
	return out
}

// groupLicensesJSON renders a group's assignedLicenses as Graph does.
func groupLicensesJSON(g *Group) any {
	out := []any{}
	for _, part := range g.AssignedLicenses {
		out = append(out, map[string]any{"disabledPlans": []string{}, "skuId": skuIDs[part]})
	}
	return out
}

// skuByPart returns the tenant's subscription of a part number, nil when it
// has none.
func (t *tenant) skuByPart(part string) *SKU {
	for i := range t.skus {
		if t.skus[i].SkuPartNumber == part {
			return &t.skus[i]
		}
	}
	return nil
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
	// The direct assignments change; inherited ones stay as they are.
	direct := func(part string) func(LicenseAssignmentState) bool {
		return func(s LicenseAssignmentState) bool { return s.AssignedByGroup == "" && s.SKU == part }
	}
	states := slices.Clone(u.LicenseAssignmentStates)
	unknown := func(id string) reply {
		return fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("License %s does not correspond to a valid company License.", id))
	}
	for _, id := range *body.RemoveLicenses {
		k := c.t.skuByID(id)
		if k == nil {
			return unknown(id)
		}
		switch {
		case slices.ContainsFunc(states, direct(k.SkuPartNumber)):
			states = slices.DeleteFunc(states, direct(k.SkuPartNumber))
		case slices.ContainsFunc(states, func(s LicenseAssignmentState) bool { return s.SKU == k.SkuPartNumber }):
			return errInheritedLicense
		default:
			return fail(http.StatusBadRequest, "Request_BadRequest", "User does not have a corresponding license.")
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	for _, l := range *body.AddLicenses {
		k := c.t.skuByID(l.SkuID)
		if k == nil {
			return unknown(l.SkuID)
		}
		if u.UsageLocation == "" {
			return fail(http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
		}
		if slices.ContainsFunc(states, direct(k.SkuPartNumber)) {
			continue // already assigned: Graph accepts the assignment again
		}
		// A direct assignment beside an inherited one takes no other unit.
		if !slices.Contains(u.AssignedLicenses, k.SkuPartNumber) && c.t.consumedUnits(k.SkuPartNumber) >= k.PrepaidUnits {
			return fail(http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Subscription with SKU %s does not have any available licenses.", k.SkuID))
		}
		states = append(states, LicenseAssignmentState{SKU: k.SkuPartNumber, State: "Active", Error: "None", LastUpdated: now})
	}
	u.LicenseAssignmentStates = states
	u.AssignedLicenses = activeLicenses(u.AssignedLicenses, states)
	return ok(userJSON(u, nil, "users/$entity", ""))
}

// errInheritedLicense is assignLicense's answer to removing a license the
// user holds only through a group (KelvinTegelaar/CIPP#4090 quotes it).
var errInheritedLicense = fail(http.StatusBadRequest, "Request_BadRequest",
	"User license is inherited from group membership and cannot be removed directly from the user.")
