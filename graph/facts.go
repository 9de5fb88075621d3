package graph

import (
	"context"
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
