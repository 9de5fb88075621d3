package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Action names of the license tools.
const (
	ActionLicenseAvailable = "license.available"
	ActionLicenseAssign    = "license.assign"
	ActionLicenseRemove    = "license.remove"
)

const licenseArgsSchema = `{"type":"object","properties":{` +
	`"user":{"type":"string","description":"UPN (name@company.com) or object id."},` +
	`"sku":{"type":"string","description":"SKU part number from license.available (e.g. ENTERPRISEPACK, SPE_E3) or skuId."}},` +
	`"required":["user","sku"],"additionalProperties":false}`

var licenseTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionLicenseAvailable,
		Description: "List the tenant's licenses: SKU part number, skuId, status, units enabled, consumed, free.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`),
	}, run: licenseAvailable},
	{spec: tierzero.ToolSpec{
		Action: ActionLicenseAssign,
		Description: "Assign a license (all its plans) to a user (already assigned, directly or through a group: alreadyAssigned, " +
			"with inheritedFrom naming the groups). Fails without a free unit or a usage location.",
		Write:  true,
		Risk:   tierzero.RiskMedium,
		Schema: json.RawMessage(licenseArgsSchema),
	}, run: licenseAssign, applied: licenseAssignApplied},
	{spec: tierzero.ToolSpec{
		Action: ActionLicenseRemove,
		Description: "Remove a license assigned directly to a user, freeing its unit (not assigned: notAssigned). " +
			"A license the user gets through a group cannot be removed from the user: the error names the group (id and name); " +
			"propose group.remove_member instead. With both, the direct one goes and stillInheritedFrom names the groups.",
		Write:  true,
		Risk:   tierzero.RiskMedium,
		Schema: json.RawMessage(licenseArgsSchema),
	}, run: licenseRemove, applied: licenseRemoveApplied},
}

// subscribedSkus returns the /subscribedSkus request builder for a tenant.
func (c *Client) subscribedSkus(tenant tierzero.TenantID) (*subscribedskus.SubscribedSkusRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return subscribedskus.NewSubscribedSkusRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// skuInfo is what the model sees of a subscription.
type skuInfo struct {
	SkuPartNumber    string `json:"skuPartNumber"`
	SkuID            string `json:"skuId"`
	CapabilityStatus string `json:"capabilityStatus"`
	Enabled          int    `json:"enabled"`
	Consumed         int    `json:"consumed"`
	Free             int    `json:"free"`
}

func (c *Client) listSKUs(ctx context.Context, tenant tierzero.TenantID) ([]skuInfo, error) {
	sb, err := c.subscribedSkus(tenant)
	if err != nil {
		return nil, err
	}
	resp, err := sb.Get(ctx, nil)
	if err != nil {
		return nil, graphError("list licenses", err)
	}
	out := []skuInfo{}
	for _, k := range resp.GetValue() {
		s := skuInfo{SkuPartNumber: str(k.GetSkuPartNumber()), CapabilityStatus: str(k.GetCapabilityStatus())}
		if id := k.GetSkuId(); id != nil {
			s.SkuID = id.String()
		}
		if p := k.GetConsumedUnits(); p != nil {
			s.Consumed = int(*p)
		}
		if u := k.GetPrepaidUnits(); u != nil && u.GetEnabled() != nil {
			s.Enabled = int(*u.GetEnabled())
		}
		s.Free = max(s.Enabled-s.Consumed, 0)
		out = append(out, s)
	}
	return out, nil
}

func licenseAvailable(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	if _, err := decodeArgs[struct{}](raw); err != nil {
		return nil, noSecret, err
	}
	skus, err := c.listSKUs(ctx, tenant)
	if err != nil {
		return nil, noSecret, err
	}
	return map[string]any{"skus": skus}, noSecret, nil
}

type licenseArgs struct {
	User string `json:"user"`
	SKU  string `json:"sku"`
}

var skuPartPattern = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,64}$`)

func decodeLicenseArgs(raw json.RawMessage) (licenseArgs, error) {
	a, err := decodeArgs[licenseArgs](raw)
	if err != nil {
		return a, err
	}
	a.User, a.SKU = strings.TrimSpace(a.User), strings.TrimSpace(a.SKU)
	if err := checkRef("user", a.User); err != nil {
		return a, err
	}
	if !skuPartPattern.MatchString(a.SKU) {
		return a, tierzero.Errorf(tierzero.EInvalid, "invalid arguments: sku must be a SKU part number (e.g. ENTERPRISEPACK) or a skuId")
	}
	return a, nil
}

// licenseTarget is a license call resolved: the user and the SKU.
type licenseTarget struct {
	userID, upn, name, usageLocation string
	has                              bool           // the user holds the SKU (directly or through a group)
	direct                           bool           // assigned to the user directly
	groups                           []licenseGroup // the groups it is inherited from
	sku                              skuInfo
}

// licenseGroup is a group that grants a user a license (group-based
// licensing): its object id, for group.remove_member, and its name.
type licenseGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// resolveLicense reads the tenant's subscriptions and the user's licenses.
func (c *Client) resolveLicense(ctx context.Context, tenant tierzero.TenantID, a licenseArgs) (licenseTarget, error) {
	skus, err := c.listSKUs(ctx, tenant)
	if err != nil {
		return licenseTarget{}, err
	}
	i := slices.IndexFunc(skus, func(k skuInfo) bool { return skuMatches(k, a.SKU) })
	if i < 0 {
		return licenseTarget{}, tierzero.Errorf(tierzero.ENotFound, "the tenant has no license subscription %q (see license.available)", a.SKU)
	}
	u, err := c.getUser(ctx, tenant, a.User, "id", "userPrincipalName", "displayName", "usageLocation", "assignedLicenses", "licenseAssignmentStates")
	if err != nil {
		return licenseTarget{}, err
	}
	t := licenseTarget{userID: str(u.GetId()), upn: str(u.GetUserPrincipalName()), name: str(u.GetDisplayName()),
		usageLocation: str(u.GetUsageLocation()), sku: skus[i]}
	for _, l := range u.GetAssignedLicenses() {
		if id := l.GetSkuId(); id != nil && strings.EqualFold(id.String(), t.sku.SkuID) {
			t.has = true
		}
	}
	// licenseAssignmentStates tell direct from inherited: assignedByGroup
	// is null for a direct assignment, else the group's id. A state in
	// error (no free unit for the group's license, say) grants nothing.
	states := u.GetLicenseAssignmentStates()
	var groupIDs []string
	for _, st := range states {
		if id := st.GetSkuId(); id == nil || !strings.EqualFold(id.String(), t.sku.SkuID) {
			continue
		}
		if by := str(st.GetAssignedByGroup()); by == "" {
			t.direct = true
		} else if strings.EqualFold(str(st.GetState()), "Active") && !slices.Contains(groupIDs, by) {
			groupIDs = append(groupIDs, by)
		}
	}
	if len(states) == 0 && t.has {
		t.direct = true // no states to tell: as before group licensing, direct
	}
	for _, id := range groupIDs {
		g := licenseGroup{ID: id}
		if gr, err := c.getGroup(ctx, tenant, id); err == nil {
			g.DisplayName = str(gr.GetDisplayName())
		} else if !isStatus(err, 404) && tierzero.ErrorCode(err) != tierzero.ENotFound {
			return licenseTarget{}, err
		}
		t.groups = append(t.groups, g)
	}
	return t, nil
}

// groupNames says which groups grant a license, for people: 'Sales
// Licensing' (id ...), or the id alone for a group that cannot be read.
func (t licenseTarget) groupNames() string {
	var names []string
	for _, g := range t.groups {
		if g.DisplayName == "" {
			names = append(names, "with id "+g.ID)
			continue
		}
		names = append(names, fmt.Sprintf("%q (id %s)", g.DisplayName, g.ID))
	}
	return strings.Join(names, " and the group ")
}

// who names the user for people: the display name, else the UPN.
func (t licenseTarget) who() string {
	if t.name != "" {
		return t.name
	}
	return t.upn
}

// licenseChange is what license.assign and license.remove show the model.
type licenseChange struct {
	User            string `json:"user"` // the user's UPN
	SkuPartNumber   string `json:"skuPartNumber"`
	SkuID           string `json:"skuId"`
	Assigned        bool   `json:"assigned,omitempty"`
	AlreadyAssigned bool   `json:"alreadyAssigned,omitempty"`
	Removed         bool   `json:"removed,omitempty"`
	NotAssigned     bool   `json:"notAssigned,omitempty"`
	FreeUnits       *int   `json:"freeUnits,omitempty"` // after an assignment
	// InheritedFrom (assign) and StillInheritedFrom (remove) name the
	// groups the user gets the license through.
	InheritedFrom      []licenseGroup `json:"inheritedFrom,omitempty"`
	StillInheritedFrom []licenseGroup `json:"stillInheritedFrom,omitempty"`
	Note               string         `json:"note,omitempty"`
}

// assignLicenses posts one assignLicense action; add and remove are never
// nil, as Graph requires both collections.
func (c *Client) assignLicenses(ctx context.Context, tenant tierzero.TenantID, userID string, add, remove []uuid.UUID) error {
	body := users.NewItemAssignLicensePostRequestBody()
	adds := make([]models.AssignedLicenseable, 0, len(add))
	for _, id := range add {
		l := models.NewAssignedLicense()
		l.SetSkuId(&id)
		l.SetDisabledPlans([]uuid.UUID{})
		adds = append(adds, l)
	}
	body.SetAddLicenses(adds)
	body.SetRemoveLicenses(append([]uuid.UUID{}, remove...))
	ub, err := c.users(tenant)
	if err != nil {
		return err
	}
	_, err = ub.ByUserId(userID).AssignLicense().Post(ctx, body, nil)
	return err
}

// licenseError maps the Graph errors of assignLicense to clear messages.
// Sources for the messages: Graph's answers as reported in public issues
// and scripts ("Subscription with SKU <id> does not have any available
// licenses.", "License assignment cannot be done for user with invalid
// usage location.", "User does not have a corresponding license.").
func licenseError(op string, t licenseTarget, err error) error {
	if !isStatus(err, 400) {
		return graphError(op, err)
	}
	_, msg := graphErrDetail(err)
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "does not have any available licenses"):
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EConflict,
			"no free %s license: all %d units are assigned; free one or buy more", t.sku.SkuPartNumber, t.sku.Enabled), err)
	case strings.Contains(lower, "usage location"):
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EConflict,
			"%s has no usage location (country); an admin must set it before a license can be assigned", t.upn), err)
	}
	return graphError(op, err)
}

func licenseAssign(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeLicenseArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	t, err := c.resolveLicense(ctx, tenant, a)
	if err != nil {
		return nil, noSecret, err
	}
	out := licenseChange{User: t.upn, SkuPartNumber: t.sku.SkuPartNumber, SkuID: t.sku.SkuID}
	if t.has {
		out.AlreadyAssigned = true
		if !t.direct && len(t.groups) > 0 {
			out.InheritedFrom = t.groups
			out.Note = fmt.Sprintf("%s already gets %s through the group %s; nothing to assign", t.who(), t.sku.SkuPartNumber, t.groupNames())
		}
		return out, noSecret, nil
	}
	id, err := uuid.Parse(t.sku.SkuID)
	if err != nil {
		return nil, noSecret, tierzero.Errorf(tierzero.EInternal, "subscription %s has a malformed skuId", t.sku.SkuPartNumber)
	}
	out.Assigned = true
	free := max(t.sku.Free-1, 0)
	out.FreeUnits = &free
	if err := c.assignLicenses(ctx, tenant, t.userID, []uuid.UUID{id}, nil); err != nil {
		// The output goes along for Execute, used only if a read-back
		// shows that an ambiguously failed write took effect.
		return out, noSecret, licenseError("assign license", t, err)
	}
	return out, noSecret, nil
}

func licenseRemove(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeLicenseArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	t, err := c.resolveLicense(ctx, tenant, a)
	if err != nil {
		return nil, noSecret, err
	}
	out := licenseChange{User: t.upn, SkuPartNumber: t.sku.SkuPartNumber, SkuID: t.sku.SkuID}
	if !t.has {
		out.NotAssigned = true
		return out, noSecret, nil
	}
	if !t.direct {
		// Graph refuses (400 "User license is inherited from group
		// membership and cannot be removed directly from the user."):
		// do not try, and say which group to leave.
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict,
			"%s gets %s through the group %s, not directly: a license from a group cannot be removed from the user; "+
				"remove %s from that group instead (group.remove_member with the group's id)",
			t.who(), t.sku.SkuPartNumber, t.groupNames(), t.who())
	}
	if len(t.groups) > 0 {
		out.StillInheritedFrom = t.groups
		out.Note = fmt.Sprintf("the direct assignment goes, but %s still gets %s through the group %s", t.who(), t.sku.SkuPartNumber, t.groupNames())
	}
	id, err := uuid.Parse(t.sku.SkuID)
	if err != nil {
		return nil, noSecret, tierzero.Errorf(tierzero.EInternal, "subscription %s has a malformed skuId", t.sku.SkuPartNumber)
	}
	err = c.assignLicenses(ctx, tenant, t.userID, nil, []uuid.UUID{id})
	switch {
	case err == nil:
		out.Removed = true
	case isStatus(err, 400) && strings.Contains(licenseErrText(err), "does not have a corresponding license"):
		out.NotAssigned = true // removed meanwhile
	case isStatus(err, 400) && strings.Contains(licenseErrText(err), "inherited from group"):
		// The direct assignment went meanwhile; only a group's is left.
		return nil, noSecret, fmt.Errorf("remove license: %w: %w", tierzero.Errorf(tierzero.EConflict,
			"%s gets %s only through a group now: a license from a group cannot be removed from the user; remove them from the group instead",
			t.who(), t.sku.SkuPartNumber), err)
	default:
		out.Removed = true // for Execute, if a read-back confirms it
		return out, noSecret, licenseError("remove license", t, err)
	}
	return out, noSecret, nil
}

func licenseErrText(err error) string {
	_, msg := graphErrDetail(err)
	return strings.ToLower(msg)
}

// A license assignment has no timestamp: applied reads the current state.
func licenseAssignApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeLicenseArgs(raw)
	if err != nil {
		return false, err
	}
	t, err := c.resolveLicense(ctx, tenant, a)
	return t.has && err == nil, err
}

func licenseRemoveApplied(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, _ time.Time) (bool, error) {
	a, err := decodeLicenseArgs(raw)
	if err != nil {
		return false, err
	}
	t, err := c.resolveLicense(ctx, tenant, a)
	return !t.direct && err == nil, err
}
