package graph_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

const (
	skuE3       = "05e9a617-0261-4cee-bb44-138d3ef5d965" // SPE_E3
	skuPowerBI  = "f8a1db68-be16-40ed-86d5-cb42ce701560" // POWER_BI_PRO
	skuOffice3  = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
	newStarter  = "enrico.cattaneo@contoso.com"          // seeded without usage location
	licenseUser = "adele.vance@contoso.com"
)

type skuOut struct {
	SkuPartNumber    string `json:"skuPartNumber"`
	SkuID            string `json:"skuId"`
	CapabilityStatus string `json:"capabilityStatus"`
	Enabled          int    `json:"enabled"`
	Consumed         int    `json:"consumed"`
	Free             int    `json:"free"`
}

func availableSKUs(t *testing.T, f *fixture) map[string]skuOut {
	t.Helper()
	res, err := groupsExec(t, f, "contoso", graph.ActionLicenseAvailable, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeOut[struct {
		SKUs []skuOut `json:"skus"`
	}](t, res)
	m := map[string]skuOut{}
	for _, k := range out.SKUs {
		m[k.SkuPartNumber] = k
	}
	return m
}

func TestLicenseAvailableTool(t *testing.T) {
	f := newFixture(t)
	skus := availableSKUs(t, f)
	st, _ := f.sim.State("contoso")
	if len(skus) != len(st.SKUs) || len(skus) != 5 {
		t.Fatalf("skus = %+v", skus)
	}
	for _, k := range st.SKUs {
		got := skus[k.SkuPartNumber]
		if got.SkuID != k.SkuID || got.Enabled != k.PrepaidUnits || got.Consumed != k.ConsumedUnits || got.Free != k.PrepaidUnits-k.ConsumedUnits || got.CapabilityStatus != "Enabled" {
			t.Errorf("%s = %+v, state %+v", k.SkuPartNumber, got, k)
		}
	}
	if k := skus["POWER_BI_PRO"]; k.Free != 0 || k.SkuID != skuPowerBI {
		t.Errorf("POWER_BI_PRO = %+v, want no free unit", k)
	}
	if _, err := groupsExec(t, f, "contoso", graph.ActionLicenseAvailable, map[string]any{"sku": "EMS"}); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("unknown argument: %v", err)
	}
	if len(f.sim.Journal("contoso")) != 0 {
		t.Error("a read was journaled")
	}
}

type licenseOut struct {
	User            string `json:"user"`
	SkuPartNumber   string `json:"skuPartNumber"`
	SkuID           string `json:"skuId"`
	Assigned        bool   `json:"assigned"`
	AlreadyAssigned bool   `json:"alreadyAssigned"`
	Removed         bool   `json:"removed"`
	NotAssigned     bool   `json:"notAssigned"`
	FreeUnits       *int   `json:"freeUnits"`
}

// assignBody is the JSON body of an assignLicense request.
type assignBody struct {
	AddLicenses []struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"addLicenses"`
	RemoveLicenses []string `json:"removeLicenses"`
}

func TestLicenseAssignAndRemoveTools(t *testing.T) {
	f := newFixture(t)
	holds := func(upn, part string) bool {
		return slices.Contains(simUserOf(t, f, "contoso", upn).AssignedLicenses, part)
	}
	before := availableSKUs(t, f)["SPE_E3"]

	res, err := groupsExec(t, f, "contoso", graph.ActionLicenseAssign, map[string]string{"user": licenseUser, "sku": "spe_e3"})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeOut[licenseOut](t, res)
	if !got.Assigned || got.AlreadyAssigned || got.SkuID != skuE3 || got.SkuPartNumber != "SPE_E3" || got.User != licenseUser ||
		got.FreeUnits == nil || *got.FreeUnits != before.Free-1 || !holds(licenseUser, "SPE_E3") {
		t.Fatalf("assign = %s", res.Output)
	}
	if after := availableSKUs(t, f)["SPE_E3"]; after.Consumed != before.Consumed+1 {
		t.Errorf("consumed %d -> %d, want one more", before.Consumed, after.Consumed)
	}
	for _, sku := range []string{"SPE_E3", skuE3} {
		res, err = groupsExec(t, f, "contoso", graph.ActionLicenseAssign, map[string]string{"user": licenseUser, "sku": sku})
		if got := decodeOut[licenseOut](t, res); err != nil || !got.AlreadyAssigned || got.Assigned {
			t.Errorf("assign %s again = %s, %v; want alreadyAssigned", sku, res.Output, err)
		}
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionLicenseRemove, map[string]string{"user": licenseUser, "sku": skuE3})
	if got := decodeOut[licenseOut](t, res); err != nil || !got.Removed || holds(licenseUser, "SPE_E3") {
		t.Errorf("remove = %s, %v", res.Output, err)
	}
	if after := availableSKUs(t, f)["SPE_E3"]; after.Consumed != before.Consumed {
		t.Errorf("consumed after removal %d, want %d", after.Consumed, before.Consumed)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionLicenseRemove, map[string]string{"user": licenseUser, "sku": "SPE_E3"})
	if got := decodeOut[licenseOut](t, res); err != nil || !got.NotAssigned || got.Removed {
		t.Errorf("remove again = %s, %v; want notAssigned", res.Output, err)
	}

	// Exactly two writes: the assignment and the removal; the idempotent
	// calls wrote nothing.
	posts := f.sim.Journal("contoso")
	if len(posts) != 2 {
		t.Fatalf("journal = %+v, want two assignLicense calls", posts)
	}
	userID := simUserOf(t, f, "contoso", licenseUser).ID
	for i, j := range posts {
		if j.Method != "POST" || j.Path != "/v1.0/users/"+userID+"/assignLicense" || j.Status != 200 {
			t.Errorf("journal[%d] = %+v", i, j)
		}
	}
	var add, remove assignBody
	if err := json.Unmarshal(posts[0].Body, &add); err != nil || len(add.AddLicenses) != 1 || add.AddLicenses[0].SkuID != skuE3 ||
		add.AddLicenses[0].DisabledPlans == nil || len(add.AddLicenses[0].DisabledPlans) != 0 || add.RemoveLicenses == nil || len(add.RemoveLicenses) != 0 {
		t.Errorf("assign body = %s, want addLicenses [{skuId, disabledPlans: []}] and removeLicenses []", posts[0].Body)
	}
	if err := json.Unmarshal(posts[1].Body, &remove); err != nil || remove.AddLicenses == nil || len(remove.AddLicenses) != 0 || !slices.Equal(remove.RemoveLicenses, []string{skuE3}) {
		t.Errorf("remove body = %s, want addLicenses [] and removeLicenses [skuId]", posts[1].Body)
	}
}

func TestLicenseToolErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, action, user, sku, want, inMsg string
		writes                               int // failed writes the call sends
	}{
		{"no free unit", graph.ActionLicenseAssign, "alex.wilber@contoso.com", "POWER_BI_PRO", tierzero.EConflict, "no free POWER_BI_PRO license", 1},
		{"no usage location", graph.ActionLicenseAssign, newStarter, "EMS", tierzero.EConflict, "no usage location", 1},
		{"sku the tenant lacks", graph.ActionLicenseAssign, "alex.wilber@contoso.com", "VISIOCLIENT", tierzero.ENotFound, "no license subscription", 0},
		{"unknown user", graph.ActionLicenseAssign, "nobody@contoso.com", "EMS", tierzero.ENotFound, "get user", 0},
		{"other tenant's user", graph.ActionLicenseRemove, "ben.walters@fabrikam.com", "EMS", tierzero.ENotFound, "get user", 0},
		{"sku with spaces", graph.ActionLicenseAssign, "alex.wilber@contoso.com", "Office 365 E3", tierzero.EInvalid, "sku must be", 0},
		{"sku with a path", graph.ActionLicenseRemove, "alex.wilber@contoso.com", "../EMS", tierzero.EInvalid, "sku must be", 0},
		{"user with a query", graph.ActionLicenseAssign, "alex.wilber@contoso.com?$select=id", "EMS", tierzero.EInvalid, "user must be", 0},
	}
	writes := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := groupsExec(t, f, "contoso", tt.action, map[string]string{"user": tt.user, "sku": tt.sku})
			if got := tierzero.ErrorCode(err); got != tt.want || !strings.Contains(tierzero.ErrorMessage(err), tt.inMsg) {
				t.Fatalf("err = %v (%s), want %s containing %q", err, got, tt.want, tt.inMsg)
			}
		})
		writes += tt.writes
	}
	j := f.sim.Journal("contoso")
	if len(j) != writes {
		t.Fatalf("journal = %+v, want %d refused writes", j, writes)
	}
	for _, e := range j {
		if e.Status != 400 {
			t.Errorf("a failed call changed something: %+v", e)
		}
	}
	if u := simUserOf(t, f, "contoso", "alex.wilber@contoso.com"); !slices.Equal(u.AssignedLicenses, []string{"ENTERPRISEPACK", "EMS"}) {
		t.Errorf("alex's licenses = %v", u.AssignedLicenses)
	}
}

// An assignment whose answer is lost is read back, not sent twice; one
// that failed unapplied is sent once more.
func TestLicenseAmbiguousWrites(t *testing.T) {
	for _, tt := range []struct {
		kind      sim.FaultKind
		wantSends int
	}{{sim.FaultAppliedThen503, 1}, {sim.FaultUnavailable, 2}} {
		t.Run(string(tt.kind), func(t *testing.T) {
			f := newFixture(t)
			if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/users/*/assignLicense", Kind: tt.kind, Count: 1}); err != nil {
				t.Fatal(err)
			}
			res, err := groupsExec(t, f, "contoso", graph.ActionLicenseAssign, map[string]string{"user": "alex.wilber@contoso.com", "sku": skuOffice3 /* held */})
			if got := decodeOut[licenseOut](t, res); err != nil || !got.AlreadyAssigned {
				t.Fatalf("held license = %s, %v", res.Output, err)
			}
			res, err = groupsExec(t, f, "contoso", graph.ActionLicenseAssign, map[string]string{"user": "alex.wilber@contoso.com", "sku": "SPE_E3"})
			if got := decodeOut[licenseOut](t, res); err != nil || !got.Assigned {
				t.Fatalf("assign = %s, %v", res.Output, err)
			}
			if u := simUserOf(t, f, "contoso", "alex.wilber@contoso.com"); !slices.Contains(u.AssignedLicenses, "SPE_E3") {
				t.Fatalf("licenses = %v", u.AssignedLicenses)
			}
			if j := f.sim.Journal("contoso"); len(j) != tt.wantSends || j[len(j)-1].Status != 200 {
				t.Fatalf("journal = %+v, want %d sends ending in a 200", j, tt.wantSends)
			}
		})
	}
}

// Group-based licensing. Graph tells a direct assignment from an inherited
// one by the user's licenseAssignmentStates (assignedByGroup: null or the
// group's id; "licenseAssignmentState resource type",
// https://learn.microsoft.com/graph/api/resources/licenseassignmentstate),
// and assignLicense refuses to remove an inherited license with 400 "User
// license is inherited from group membership and cannot be removed directly
// from the user." (reported in KelvinTegelaar/CIPP#4090). So license.remove
// does not try: it names the group to leave. The sales team's EMS comes
// from the seeded group Sales Licensing.
func TestLicenseInheritedFromGroup(t *testing.T) {
	f := newFixture(t)
	const alex, adele = "alex.wilber@contoso.com", "adele.vance@contoso.com"
	group := simGroupOf(t, f, "contoso", "Sales Licensing")

	_, err := groupsExec(t, f, "contoso", graph.ActionLicenseRemove, map[string]string{"user": alex, "sku": "EMS"})
	msg := tierzero.ErrorMessage(err)
	if tierzero.ErrorCode(err) != tierzero.EConflict || !strings.Contains(msg, "Alex Wilber gets EMS through the group \"Sales Licensing\" (id "+group.ID+")") ||
		!strings.Contains(msg, "group.remove_member") || strings.Contains(msg, "{") {
		t.Fatalf("remove inherited = %v", err)
	}
	if !slices.Contains(simUserOf(t, f, "contoso", alex).AssignedLicenses, "EMS") {
		t.Fatal("alex lost EMS")
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Fatalf("license.remove tried an inherited license: %+v", j)
	}

	res, err := groupsExec(t, f, "contoso", graph.ActionLicenseAssign, map[string]string{"user": alex, "sku": "EMS"})
	var out struct {
		licenseOut
		InheritedFrom []struct{ ID, DisplayName string } `json:"inheritedFrom"`
		Note          string                             `json:"note"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	if err != nil || !out.AlreadyAssigned || out.Assigned || len(out.InheritedFrom) != 1 || out.InheritedFrom[0].ID != group.ID ||
		out.InheritedFrom[0].DisplayName != "Sales Licensing" || !strings.Contains(out.Note, "through the group") {
		t.Fatalf("assign inherited = %s, %v", res.Output, err)
	}

	// Adele holds EMS directly; once in the group she holds it both ways:
	// removing it takes the direct assignment and says she keeps it.
	if _, err := groupsExec(t, f, "contoso", graph.ActionGroupAddMember, map[string]string{"group": group.ID, "user": adele}); err != nil {
		t.Fatal(err)
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionLicenseRemove, map[string]string{"user": adele, "sku": "EMS"})
	var rm struct {
		licenseOut
		StillInheritedFrom []struct{ ID, DisplayName string } `json:"stillInheritedFrom"`
	}
	if err := json.Unmarshal(res.Output, &rm); err != nil {
		t.Fatal(err)
	}
	if err != nil || !rm.Removed || len(rm.StillInheritedFrom) != 1 || rm.StillInheritedFrom[0].ID != group.ID {
		t.Fatalf("remove direct beside inherited = %s, %v", res.Output, err)
	}
	if !slices.Contains(simUserOf(t, f, "contoso", adele).AssignedLicenses, "EMS") {
		t.Fatal("adele lost the EMS the group gives her")
	}
	if _, err := groupsExec(t, f, "contoso", graph.ActionLicenseRemove, map[string]string{"user": adele, "sku": "EMS"}); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("remove again = %v, want the group named", err)
	}
	// Leaving the group is what takes it.
	if _, err := groupsExec(t, f, "contoso", graph.ActionGroupRemoveMember, map[string]string{"group": group.ID, "user": adele}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(simUserOf(t, f, "contoso", adele).AssignedLicenses, "EMS") {
		t.Fatal("adele kept EMS after leaving the group")
	}
	res, err = groupsExec(t, f, "contoso", graph.ActionLicenseRemove, map[string]string{"user": adele, "sku": "EMS"})
	if got := decodeOut[licenseOut](t, res); err != nil || !got.NotAssigned {
		t.Fatalf("remove after leaving = %s, %v", res.Output, err)
	}
	// Writes: add member, the direct removal, remove member.
	if j := f.sim.Journal("contoso"); len(j) != 3 {
		t.Fatalf("journal = %+v", j)
	}
}
