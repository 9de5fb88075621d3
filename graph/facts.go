package graph

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/tierzero/tierzero"
)

// GroupName reads what policy needs of a group a call names: its object id
// and display name (policies match group names and globs).
func (c *Client) GroupName(ctx context.Context, tenant tierzero.TenantID, ref string) (id, name string, err error) {
	if err := checkGroupID(ref); err != nil {
		return "", "", err
	}
	g, err := c.getGroup(ctx, tenant, ref)
	if err != nil {
		return "", "", err
	}
	return str(g.GetId()), str(g.GetDisplayName()), nil
}

// skuMatches reports whether ref names the subscription: its part number
// or its skuId, in any case.
func skuMatches(k skuInfo, ref string) bool {
	return strings.EqualFold(k.SkuPartNumber, ref) || strings.EqualFold(k.SkuID, ref)
}

// LicenseSKU resolves a license a call names (a SKU part number or a skuId)
// against the tenant's subscriptions: policies match part numbers.
func (c *Client) LicenseSKU(ctx context.Context, tenant tierzero.TenantID, ref string) (skuID, partNumber string, err error) {
	if !skuPartPattern.MatchString(ref) {
		return "", "", tierzero.Errorf(tierzero.EInvalid, "invalid license %q", ref)
	}
	skus, err := c.listSKUs(ctx, tenant)
	if err != nil {
		return "", "", err
	}
	i := slices.IndexFunc(skus, func(k skuInfo) bool { return skuMatches(k, ref) })
	if i < 0 {
		return "", "", tierzero.Errorf(tierzero.ENotFound, "the tenant has no license subscription %q", ref)
	}
	return skus[i].SkuID, skus[i].SkuPartNumber, nil
}

// GroupFacts reads what policy needs of the group a call names.
func (c *Client) GroupFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.GroupFacts, error) {
	id, name, err := c.GroupName(ctx, tenant, ref)
	return tierzero.GroupFacts{ID: id, Name: name}, err
}

// LicenseFacts reads what policy needs of the license a call names.
func (c *Client) LicenseFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.LicenseFacts, error) {
	id, part, err := c.LicenseSKU(ctx, tenant, ref)
	return tierzero.LicenseFacts{SKUID: id, SKU: part}, err
}

// DeviceFacts reads what policy needs of the device a call names.
func (c *Client) DeviceFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.DeviceFacts, error) {
	owner, err := c.DeviceOwner(ctx, tenant, ref)
	return tierzero.DeviceFacts{ID: ref, Owner: owner}, err
}

// SubjectOf returns the group, license and device a call names, from the
// argument names the tools use, so that policy can look them up itself.
func SubjectOf(call tierzero.ToolCall) (tierzero.Subject, error) {
	var a struct {
		Group  string `json:"group"`
		SKU    string `json:"sku"`
		Device string `json:"device"`
	}
	if err := json.Unmarshal(call.Args, &a); err != nil {
		return tierzero.Subject{}, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %v", err)
	}
	return tierzero.Subject{Group: a.Group, License: a.SKU, Device: a.Device}, nil
}
