package main

import (
	"context"
	"encoding/json"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/policy"
)

// graphFacts reads, through Graph, the facts policy needs about the group,
// license or device a call names.
type graphFacts struct{ gc *graph.Client }

func (f graphFacts) GroupFacts(ctx context.Context, t tierzero.TenantID, ref string) (policy.GroupFacts, error) {
	id, name, err := f.gc.GroupName(ctx, t, ref)
	return policy.GroupFacts{ID: id, Name: name}, err
}

func (f graphFacts) LicenseFacts(ctx context.Context, t tierzero.TenantID, ref string) (policy.LicenseFacts, error) {
	id, part, err := f.gc.LicenseSKU(ctx, t, ref)
	return policy.LicenseFacts{SKUID: id, SKU: part}, err
}

func (f graphFacts) DeviceFacts(ctx context.Context, t tierzero.TenantID, ref string) (policy.DeviceFacts, error) {
	owner, err := f.gc.DeviceOwner(ctx, t, ref)
	return policy.DeviceFacts{ID: ref, Owner: owner}, err
}

// subjectOf returns the group, license and device a call names, from the
// argument names the Graph tools use.
func subjectOf(c tierzero.ToolCall) (policy.Subject, error) {
	var a struct {
		Group  string `json:"group"`
		SKU    string `json:"sku"`
		Device string `json:"device"`
	}
	if err := json.Unmarshal(c.Args, &a); err != nil {
		return policy.Subject{}, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %v", err)
	}
	return policy.Subject{Group: a.Group, License: a.SKU, Device: a.Device}, nil
}
