package graph

// This file: a tenant's baseline configuration read from Graph (issue 22):
// Client.BaselineDoc, the document the baseline planner compares with the
// tenant's baseline. Every read is a GET built by an SDK request builder
// and sent through the tenant's request adapter; the answers are kept as
// Graph's own JSON (the planner reads Graph's property names), so they are
// read raw rather than through the SDK's models and back.

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/identity"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Baselines plans a tenant's baseline from what Graph says of it: the
// baseline package implements it, cmd wires it (Config.Baselines).
type Baselines interface {
	// PlanBaseline compares a tenant's configuration with its baseline.
	PlanBaseline(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error)
	// UsersNamed are the user principal names the tenant's baseline
	// names (exclusions), for BaselineDoc to resolve.
	UsersNamed(tenant tierzero.TenantID) []string
}

// baselineMaxPages bounds the pages of one baseline collection. A list cut
// short would read as objects missing (and planned again): past it the read
// fails instead.
const baselineMaxPages = 100

// odataErrors maps every error status to Graph's OData error, as the SDK's
// own requests do.
var odataErrors = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// identityBuilder returns the /identity request builder for a tenant.
func (c *Client) identityBuilder(tenant tierzero.TenantID) (*identity.IdentityRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return identity.NewIdentityRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// policiesBuilder returns the /policies request builder for a tenant.
func (c *Client) policiesBuilder(tenant tierzero.TenantID) (*policies.PoliciesRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return policies.NewPoliciesRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// getReq is a GET an SDK request builder made (ToGetRequestInformation's
// two results).
type getReq struct {
	info *abs.RequestInformation
	err  error
}

func get(info *abs.RequestInformation, err error) getReq { return getReq{info, err} }

// rawGet sends a GET an SDK request builder made and returns Graph's JSON
// answer as it is.
func (c *Client) rawGet(ctx context.Context, tenant tierzero.TenantID, r getReq) (json.RawMessage, error) {
	info, err := r.info, r.err
	if err != nil {
		return nil, err
	}
	if info.Method != abs.GET {
		return nil, tierzero.Errorf(tierzero.EInternal, "a baseline read must be a GET")
	}
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	v, err := a.SendPrimitive(ctx, info, "[]byte", odataErrors)
	if err != nil {
		return nil, err
	}
	b, _ := v.([]byte)
	if !json.Valid(b) {
		return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph answered a read with no JSON")
	}
	return b, nil
}

// rawEntity reads one object, without its @odata.context.
func (c *Client) rawEntity(ctx context.Context, tenant tierzero.TenantID, r getReq) (json.RawMessage, error) {
	b, err := c.rawGet(ctx, tenant, r)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph answered a read with something other than an object")
	}
	delete(m, "@odata.context")
	return json.Marshal(m)
}

// rawList reads every page of a collection (following @odata.nextLink on
// the client's own service root) and returns its objects as Graph's JSON.
func (c *Client) rawList(ctx context.Context, tenant tierzero.TenantID, r getReq) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	for pages := 1; ; pages++ {
		b, err := c.rawGet(ctx, tenant, r)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value []json.RawMessage `json:"value"`
			Next  string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph answered a list with something other than a collection")
		}
		out = append(out, page.Value...)
		if page.Next == "" {
			return out, nil
		}
		if pages == baselineMaxPages {
			return nil, tierzero.Errorf(tierzero.EUnavailable, "a list of the tenant's configuration has more than %d pages: not read, rather than read in part", baselineMaxPages)
		}
		if err := c.checkPageLink(page.Next); err != nil {
			return nil, err
		}
		r = get(nextPage(page.Next))
	}
}

// nextPage is the GET of an @odata.nextLink, followed verbatim (checked
// first with checkPageLink).
func nextPage(link string) (*abs.RequestInformation, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph returned an invalid page link")
	}
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	return info, nil
}

// BaselineDoc reads a tenant's configuration for its baseline, with GETs
// only: security defaults, Conditional Access policies and named locations,
// the authentication methods policy, Intune compliance policies with their
// assignments, the groups (id, name, securityEnabled, groupTypes), and the
// users named (UPN to object id; one the tenant does not have is absent).
// A part the tenant has no licence for (Entra ID P1 for Conditional
// Access, Intune for compliance policies), known from its subscriptions or
// from Graph's refusal, is absent and its capability false; any other
// failure is an error.
func (c *Client) BaselineDoc(ctx context.Context, tenant tierzero.TenantID, named []string) (tierzero.BaselineDoc, error) {
	doc := tierzero.BaselineDoc{Tenant: tenant, ConditionalAccess: true, Intune: true, Groups: []tierzero.BaselineGroup{}}
	if caps, err := c.Capabilities(ctx, tenant); err == nil {
		doc.ConditionalAccess, doc.Intune = caps.EntraP1, caps.Intune
	} else {
		c.log.Warn("the tenant's subscriptions are unreadable; reading every part of its baseline", "tenant", tenant, "err", err)
	}
	pb, err := c.policiesBuilder(tenant)
	if err != nil {
		return doc, err
	}
	if doc.SecurityDefaults, err = c.rawEntity(ctx, tenant, get(pb.IdentitySecurityDefaultsEnforcementPolicy().ToGetRequestInformation(ctx, nil))); err != nil {
		return doc, graphError("read security defaults", err)
	}
	if doc.AuthMethodsPolicy, err = c.rawEntity(ctx, tenant, get(pb.AuthenticationMethodsPolicy().ToGetRequestInformation(ctx, nil))); err != nil {
		return doc, graphError("read the authentication methods policy", err)
	}
	if doc.ConditionalAccess {
		ib, err := c.identityBuilder(tenant)
		if err != nil {
			return doc, err
		}
		ca := ib.ConditionalAccess()
		doc.CAPolicies, err = c.rawList(ctx, tenant, get(ca.Policies().ToGetRequestInformation(ctx, nil)))
		if err == nil {
			doc.NamedLocations, err = c.rawList(ctx, tenant, get(ca.NamedLocations().ToGetRequestInformation(ctx, nil)))
		}
		switch {
		case isLicenseGap(err):
			c.forgetCapabilities(tenant)
			doc.ConditionalAccess, doc.CAPolicies, doc.NamedLocations = false, nil, nil
		case err != nil:
			return doc, pageError("read Conditional Access", err)
		}
	}
	if doc.Intune {
		doc.CompliancePolicies, err = c.compliancePolicies(ctx, tenant)
		switch {
		case isLicenseGap(err):
			c.forgetCapabilities(tenant)
			doc.Intune, doc.CompliancePolicies = false, nil
		case err != nil:
			return doc, pageError("read compliance policies", err)
		}
	}
	if doc.Groups, err = c.baselineGroups(ctx, tenant); err != nil {
		return doc, pageError("list groups", err)
	}
	if doc.Users, err = c.baselineUsers(ctx, tenant, named); err != nil {
		return doc, err
	}
	return doc, nil
}

// compliancePolicies reads the compliance policies, each with its
// assignments read through its own assignments navigation
// (/deviceCompliancePolicies/{id}/assignments) and put under
// "assignments", as $expand=assignments would show them.
func (c *Client) compliancePolicies(ctx context.Context, tenant tierzero.TenantID) ([]json.RawMessage, error) {
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, err
	}
	list, err := c.rawList(ctx, tenant, get(dm.DeviceCompliancePolicies().ToGetRequestInformation(ctx, nil)))
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(list))
	for _, raw := range list {
		var p map[string]json.RawMessage
		var id string
		if json.Unmarshal(raw, &p) != nil || json.Unmarshal(p["id"], &id) != nil || checkRef("policy id", id) != nil {
			return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph listed a compliance policy without a valid id")
		}
		as, err := c.rawList(ctx, tenant, get(dm.DeviceCompliancePolicies().ByDeviceCompliancePolicyId(id).Assignments().ToGetRequestInformation(ctx, nil)))
		if err != nil {
			return nil, err
		}
		p["assignments"], _ = json.Marshal(as)
		b, _ := json.Marshal(p)
		out = append(out, b)
	}
	return out, nil
}

// baselineGroups lists every group's id and display name, and whether it
// is a security group or a Microsoft 365 one (securityEnabled, groupTypes):
// any user may create a Microsoft 365 group and join it, so the planner
// takes none as a group its policies leave out.
func (c *Client) baselineGroups(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.BaselineGroup, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	gb := groups.NewGroupsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	top := int32(999)
	list, err := c.rawList(ctx, tenant, get(gb.ToGetRequestInformation(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "securityEnabled", "groupTypes"}, Top: &top},
	})))
	if err != nil {
		return nil, err
	}
	out := make([]tierzero.BaselineGroup, 0, len(list))
	for _, raw := range list {
		var g tierzero.BaselineGroup
		if json.Unmarshal(raw, &g) != nil || g.ID == "" {
			return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph listed a group without an id")
		}
		out = append(out, g)
	}
	return out, nil
}

// baselineUsers resolves user principal names to object ids; a name the
// tenant does not have (or that is not a plain name) is left out, for the
// planner to report.
func (c *Client) baselineUsers(ctx context.Context, tenant tierzero.TenantID, named []string) (map[string]string, error) {
	out := map[string]string{}
	if len(named) == 0 {
		return out, nil
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, err
	}
	for _, upn := range named {
		upn = strings.TrimSpace(upn)
		if _, done := out[upn]; done || checkRef("user", upn) != nil {
			continue
		}
		raw, err := c.rawEntity(ctx, tenant, get(ub.ByUserId(upn).ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName"}},
		})))
		if isStatus(err, 404) {
			continue
		}
		if err != nil {
			return nil, graphError("read user "+upn, err)
		}
		var u struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &u) != nil || u.ID == "" {
			return nil, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph answered a user without an id")
		}
		out[upn] = u.ID
	}
	return out, nil
}
