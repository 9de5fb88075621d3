package graph

// This file: reaching client tenants through the MSP's granular delegated
// admin privileges (GDAP). A technician signs in once to the MSP's partner
// tenant; the refresh token of that sign-in, redeemed at a client tenant's
// own authority (login.microsoftonline.com/{customer tenant id}), gives a
// token for that client limited to the roles the GDAP relationship grants
// (the Secure Application Model:
// https://learn.microsoft.com/en-us/partner-center/developer/enable-secure-app-model).
// The relationships are read from the partner tenant
// (GET /tenantRelationships/delegatedAdminRelationships) and checked before
// anything is sent to a client tenant: no token is asked for while a
// relationship is expired or not active, and a tool that needs a role the
// relationship lacks is refused before the call.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/tenantrelationships"

	"github.com/tierzero/tierzero"
)

// roleTemplateIDs are the role template ids (the same in every tenant) of
// the directory roles a GDAP relationship may grant, by display name
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).
var roleTemplateIDs = map[string]string{
	"Global Administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"User Administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"Helpdesk Administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"Privileged Role Administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"Authentication Administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"Password Administrator":                  "966707d0-3269-4727-9be2-8c3a10f19b9d",
	"Groups Administrator":                    "fdd7a751-b60b-444a-984c-02652fe8fa1c",
	"License Administrator":                   "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
	"Intune Administrator":                    "3a2c62db-5318-420d-8d74-23affee5d9d5",
	"Exchange Administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"Security Administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"Security Reader":                         "5d6b6bb7-de71-4623-b4af-96380a352509",
	"Global Reader":                           "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
	"Directory Readers":                       "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
	"Reports Reader":                          "4a5d8f65-41da-4de4-8968-e035b65339cf",
	"SharePoint Administrator":                "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
	"Security Operator":                       "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
	"Cloud Device Administrator":              "7698a772-787b-4ac8-901f-60d6b08affd2",
	"Teams Administrator":                     "69091246-20e8-4a56-aa4d-066075b2a7a8",
	"Guest Inviter":                           "95e79109-95c0-4d8e-aee3-d01accf2d47b",
	"Service Support Administrator":           "f023fd81-a637-4b56-95fd-791ac0226033",
	"Conditional Access Administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"Authentication Policy Administrator":     "0526716b-113d-4c15-b2c8-68e3c22b9f80",
}

// gdapRoleName returns the display name of a role template id, or the id when
// tierzero does not know it.
func gdapRoleName(id string) string {
	for name, tid := range roleTemplateIDs {
		if strings.EqualFold(tid, id) {
			return name
		}
	}
	return id
}

// Relationship is a GDAP relationship of the MSP's partner tenant with a
// customer tenant.
type Relationship struct {
	ID               string
	Name             string // displayName
	Status           string // active, expired, terminated, approvalPending, ...
	CustomerTenantID string // the customer's Entra tenant id
	CustomerName     string
	End              time.Time // endDateTime; zero when Graph gave none
	Roles            []string  // role display names (an unknown role: its template id)
}

// ActiveAt reports whether the relationship grants its roles at now: its
// status is active and its end has not come.
func (r Relationship) ActiveAt(now time.Time) bool {
	return r.Status == "active" && (r.End.IsZero() || now.Before(r.End))
}

// StatusAt is the relationship's status at now: an active relationship past
// its end has expired, whatever Graph last said.
func (r Relationship) StatusAt(now time.Time) string {
	if r.Status == "active" && !r.ActiveAt(now) {
		return "expired"
	}
	return r.Status
}

// relationshipsMaxPages bounds the pages of relationships read (300 a page).
const relationshipsMaxPages = 20

// Relationships reads the GDAP relationships of the partner tenant (the
// MSP's own, signed in through its TokenSource), with their role names.
func (c *Client) Relationships(ctx context.Context, partner tierzero.TenantID) ([]Relationship, error) {
	a, err := c.adapter(partner)
	if err != nil {
		return nil, err
	}
	rb := tenantrelationships.NewDelegatedAdminRelationshipsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	var out []Relationship
	resp, err := rb.Get(ctx, nil)
	truncated, err := eachPage(c, resp, err, func(link string) (models.DelegatedAdminRelationshipCollectionResponseable, error) {
		return rb.WithUrl(link).Get(ctx, nil)
	}, relationshipsMaxPages, func(page []models.DelegatedAdminRelationshipable) {
		for _, r := range page {
			out = append(out, relationshipOf(r))
		}
	})
	if err != nil {
		return nil, pageError("list GDAP relationships", err)
	}
	if truncated {
		return nil, tierzero.Errorf(tierzero.EInternal, "the partner tenant lists more GDAP relationships than tierzero reads (%d pages)", relationshipsMaxPages)
	}
	return out, nil
}

func relationshipOf(r models.DelegatedAdminRelationshipable) Relationship {
	rel := Relationship{ID: str(r.GetId()), Name: str(r.GetDisplayName())}
	if s := r.GetStatus(); s != nil {
		rel.Status = s.String()
	}
	if c := r.GetCustomer(); c != nil {
		rel.CustomerTenantID, rel.CustomerName = strings.ToLower(str(c.GetTenantId())), str(c.GetDisplayName())
	}
	if t := r.GetEndDateTime(); t != nil {
		rel.End = t.UTC()
	}
	if d := r.GetAccessDetails(); d != nil {
		for _, u := range d.GetUnifiedRoles() {
			if id := str(u.GetRoleDefinitionId()); id != "" {
				rel.Roles = append(rel.Roles, gdapRoleName(id))
			}
		}
	}
	return rel
}

// GDAPConfig configures a GDAP gate.
type GDAPConfig struct {
	// Customers maps each client tenant reached through GDAP to its Entra
	// tenant id (the relationships' customer.tenantId).
	Customers map[tierzero.TenantID]string
	// Read reads the partner tenant's relationships (Client.Relationships).
	Read func(ctx context.Context) ([]Relationship, error)
	Now  func() time.Time // default time.Now
	// MaxAge is how long relationships read are trusted, default 5
	// minutes; an end date is checked against the clock at every call.
	MaxAge time.Duration
}

// GDAP decides, before anything is sent to a client tenant reached through
// GDAP, whether the MSP's relationship with it allows the call.
type GDAP struct {
	cfg GDAPConfig

	mu   sync.Mutex
	rels []Relationship
	read time.Time
}

// NewGDAP returns a gate for the client tenants of cfg.Customers.
func NewGDAP(cfg GDAPConfig) *GDAP {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	cfg.Customers = maps.Clone(cfg.Customers)
	for t, id := range cfg.Customers {
		cfg.Customers[t] = strings.ToLower(id)
	}
	return &GDAP{cfg: cfg}
}

// Serves reports whether tenant is reached through GDAP.
func (g *GDAP) Serves(tenant tierzero.TenantID) bool {
	if g == nil {
		return false
	}
	_, ok := g.cfg.Customers[tenant]
	return ok
}

// relationships returns the partner's relationships, read anew when older
// than MaxAge.
func (g *GDAP) relationships(ctx context.Context) ([]Relationship, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rels != nil && g.cfg.Now().Sub(g.read) < g.cfg.MaxAge {
		return g.rels, nil
	}
	if g.cfg.Read == nil {
		return nil, tierzero.Errorf(tierzero.EInternal, "GDAP: no way to read the partner tenant's relationships")
	}
	rels, err := g.cfg.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the MSP's GDAP relationships: %w", err)
	}
	if rels == nil {
		rels = []Relationship{}
	}
	g.rels, g.read = rels, g.cfg.Now()
	return rels, nil
}

// Relationships returns the partner's relationships (as last read).
func (g *GDAP) Relationships(ctx context.Context) ([]Relationship, error) {
	rels, err := g.relationships(ctx)
	return slices.Clone(rels), err
}

// Relationship returns what the MSP's relationships with a client tenant
// grant now: the active ones, their roles joined. It fails in plain words,
// with no call to the client tenant, when none is active.
func (g *GDAP) Relationship(ctx context.Context, tenant tierzero.TenantID) (Relationship, error) {
	id, ok := g.cfg.Customers[tenant]
	if !ok {
		return Relationship{}, tierzero.Errorf(tierzero.EUnauthorized, "tenant %s is not reached through the MSP's GDAP relationships", tenant)
	}
	rels, err := g.relationships(ctx)
	if err != nil {
		return Relationship{}, err
	}
	now := g.cfg.Now()
	var active []Relationship
	var inactive []Relationship
	for _, r := range rels {
		if r.CustomerTenantID != id {
			continue
		}
		if r.ActiveAt(now) {
			active = append(active, r)
		} else {
			inactive = append(inactive, r)
		}
	}
	if len(active) == 0 {
		if len(inactive) == 0 {
			return Relationship{}, tierzero.Errorf(tierzero.EUnauthorized,
				"the MSP has no GDAP relationship with tenant %s (Entra tenant %s): tierzero cannot act there until the customer approves one; nothing was sent to the tenant", tenant, id)
		}
		slices.SortFunc(inactive, func(a, b Relationship) int { return b.End.Compare(a.End) })
		r := inactive[0]
		switch status := r.StatusAt(now); {
		case status == "expired" && !r.End.IsZero():
			return Relationship{}, tierzero.Errorf(tierzero.EUnauthorized,
				"the MSP's GDAP relationship with tenant %s (%q) expired on %s: tierzero cannot act there until the customer approves a new one; nothing was sent to the tenant",
				tenant, r.Name, r.End.Format("2 January 2006"))
		default:
			return Relationship{}, tierzero.Errorf(tierzero.EUnauthorized,
				"the MSP's GDAP relationship with tenant %s (%q) is %s, not active: tierzero cannot act there until it is; nothing was sent to the tenant",
				tenant, r.Name, status)
		}
	}
	joined := active[0]
	for _, r := range active[1:] {
		joined.Name += ", " + r.Name
		if r.End.After(joined.End) {
			joined.End = r.End
		}
		for _, role := range r.Roles {
			if !slices.Contains(joined.Roles, role) {
				joined.Roles = append(joined.Roles, role)
			}
		}
	}
	joined.Roles = slices.Clone(joined.Roles)
	return joined, nil
}

// Check refuses, before any request to it, a client tenant whose
// relationship is expired, not active or missing. Other tenants pass.
func (g *GDAP) Check(ctx context.Context, tenant tierzero.TenantID) error {
	if !g.Serves(tenant) {
		return nil
	}
	_, err := g.Relationship(ctx, tenant)
	return err
}

// Allow refuses, before any request to it, an action in a client tenant
// that the relationship's roles cannot allow on any target, and an action
// tierzero knows no GDAP roles for (fail closed). An action that needs a
// higher role only on an admin target is checked by Client.gdapAllow once
// the target is read.
func (g *GDAP) Allow(ctx context.Context, tenant tierzero.TenantID, spec tierzero.ToolSpec) error {
	if !g.Serves(tenant) {
		return nil
	}
	rel, err := g.Relationship(ctx, tenant)
	if err != nil {
		return err
	}
	need, known := gdapRoles(spec.Action)
	if !known {
		return tierzero.Errorf(tierzero.EInternal,
			"tierzero does not know which roles %s needs through GDAP, so it does not run it in tenant %s (nothing was sent to the tenant)", spec.Action, tenant)
	}
	if holdsAny(rel.Roles, need) {
		return nil
	}
	return tierzero.Errorf(tierzero.EUnauthorized,
		"the MSP's GDAP relationship with tenant %s (%q) does not grant a role that allows %s: it needs %s, and it grants %s; ask the MSP to add the role to the relationship (nothing was sent to the tenant)",
		tenant, rel.Name, spec.Action, orList(need, "or"), heldRoles(rel.Roles))
}

// holdsAny reports whether held allows what need asks: one of its roles,
// or Global Administrator; an empty need is allowed by any role.
func holdsAny(held, need []string) bool {
	return len(need) == 0 || slices.Contains(held, RoleGlobalAdmin) ||
		slices.ContainsFunc(need, func(r string) bool { return slices.Contains(held, r) })
}

func heldRoles(roles []string) string {
	if len(roles) == 0 {
		return "no role"
	}
	return orList(roles, "and")
}

// gdapAllow is the GDAP gate of one call, before anything is written to a
// client tenant: Allow, then, for an action that needs a higher role on an
// admin or a member of a role-assignable group (rolesNeeded) when the
// relationship grants only the ordinary ones, whether the target is one.
// That read is itself a call to the client tenant, made with the GDAP token
// (reads are what every relationship allows); the write is refused before
// it is sent. A target that cannot be read is left to Graph, whose refusal
// explainRefusal words.
func (c *Client) gdapAllow(ctx context.Context, tenant tierzero.TenantID, spec tierzero.ToolSpec, args json.RawMessage) error {
	g := c.cfg.GDAP
	if err := g.Allow(ctx, tenant, spec); err != nil || !g.Serves(tenant) || !spec.Write {
		return err
	}
	priv := rolesNeeded(spec.Action, true)
	if priv == nil {
		return nil
	}
	rel, err := g.Relationship(ctx, tenant)
	if err != nil {
		return err
	}
	if holdsAny(rel.Roles, priv) {
		return nil
	}
	privileged, who, known := c.targetPrivileged(ctx, tenant, spec.Action, args)
	if !privileged || !known {
		return nil
	}
	return tierzero.Errorf(tierzero.EUnauthorized,
		"the MSP's GDAP relationship with tenant %s (%q) does not grant the role needed to %s: it needs %s, and it grants %s; ask the MSP to add the role to the relationship, or have an administrator of the tenant do it (nothing was changed)",
		tenant, rel.Name, fmt.Sprintf(roleWork[spec.Action], who), orList(priv, "or"), heldRoles(rel.Roles))
}

// orList joins names as "A, B or C".
func orList(names []string, conj string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

// gdapRoles is what a technician acting through GDAP (a delegated caller:
// only the relationship's roles count) needs to run an action on an
// ordinary target: the roles any one of which allows it (Global
// Administrator allows all); an empty list when any role does (reads of the
// directory, and plans, which send nothing: each step is checked on its
// own). known is false for an action the table lacks: Allow refuses it, and
// a test fails for every tool of the catalog without an entry.
func gdapRoles(action string) (roles []string, known bool) {
	if r := rolesNeeded(action, false); r != nil {
		return r, true
	}
	r, ok := gdapNeeds[action]
	return slices.Clone(r), ok
}

// Roles a delegated caller needs, from the Entra permissions reference
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference),
// the least privileged roles by task
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/delegate-by-task),
// GDAP's least-privileged roles by workload
// (https://learn.microsoft.com/en-us/partner-center/customers/gdap-least-privileged-roles-by-task)
// and each API's page (delegated, work or school account: "the signed-in
// user must be assigned a supported Microsoft Entra role").
var (
	gdapAnyRole   = []string{}
	gdapDevice    = []string{"Intune Administrator", RoleGlobalAdmin}
	gdapDeviceRd  = []string{"Intune Administrator", "Global Reader", RoleGlobalAdmin}
	gdapUserWrite = []string{RoleUserAdmin, RoleGlobalAdmin}
	gdapGroups    = []string{"Groups Administrator", RoleUserAdmin, RoleGlobalAdmin}
)

var gdapNeeds = map[string][]string{
	ActionUserGet:           gdapAnyRole,
	ActionUserGroups:        gdapAnyRole,
	ActionGroupFind:         gdapAnyRole,
	ActionGroupGet:          gdapAnyRole,
	ActionGroupOwners:       gdapAnyRole,
	ActionLicenseAvailable:  gdapAnyRole,
	ActionTeamMembers:       gdapAnyRole,
	ActionOffboardPlan:      gdapAnyRole,
	ActionOnboardPlan:       gdapAnyRole,
	tierzero.ActionOffboard: gdapAnyRole, // records the plan: each step is checked when it runs
	tierzero.ActionOnboard:  gdapAnyRole,
	// authentication methods listed: Authentication Administrator
	// (https://learn.microsoft.com/en-us/graph/api/authentication-list-methods)
	ActionUserAuthMethods: {RoleAuthAdmin, RolePrivilegedAuthAdmin, "Global Reader", RoleGlobalAdmin},
	// userRegistrationDetails: Reports Reader, Security Reader, Security
	// Administrator, Global Reader
	// (https://learn.microsoft.com/en-us/graph/api/authenticationmethodsroot-list-userregistrationdetails)
	ActionUserMFARegistration: {"Reports Reader", "Security Reader", RoleSecurityAdmin, "Global Reader", RoleGlobalAdmin},
	// sign-in logs: Reports Reader, Security Reader, Security Administrator, Global Reader
	// (https://learn.microsoft.com/en-us/graph/api/signin-list)
	ActionUserSignIns: {"Reports Reader", "Security Reader", RoleSecurityAdmin, "Global Reader", RoleGlobalAdmin},
	// riskyUsers: Security Reader and above
	// (https://learn.microsoft.com/en-us/graph/api/riskyuser-get)
	ActionUserRisk: {"Security Reader", RoleSecurityOperator, RoleSecurityAdmin, "Global Reader", RoleGlobalAdmin},
	// TAP and MFA reset of an ordinary user: Authentication Administrator
	// (https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods)
	ActionUserIssueTAP:       {RoleAuthAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin},
	ActionUserResetMFA:       {RoleAuthAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin},
	ActionUserRevokeSessions: {RoleHelpdeskAdmin, RoleAuthAdmin, RoleUserAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin},
	ActionUserSetManager:     gdapUserWrite,
	ActionUserCreate:         gdapUserWrite,
	ActionUserSetAutoReply:   {"Exchange Administrator", RoleUserAdmin, RoleGlobalAdmin},
	// guests: Guest Inviter or User Administrator
	// (https://learn.microsoft.com/en-us/graph/api/invitation-post)
	ActionUserInviteGuest:   {"Guest Inviter", RoleUserAdmin, RoleGlobalAdmin},
	ActionGroupAddOwner:     gdapGroups,
	ActionGroupRemoveOwner:  gdapGroups,
	ActionGroupAddMember:    gdapGroups,
	ActionGroupRemoveMember: gdapGroups,
	// Teams membership: Teams Administrator, or the group's administrators
	// (https://learn.microsoft.com/en-us/graph/api/team-post-members)
	ActionTeamAddMember:    {"Teams Administrator", "Groups Administrator", RoleUserAdmin, RoleGlobalAdmin},
	ActionTeamRemoveMember: {"Teams Administrator", "Groups Administrator", RoleUserAdmin, RoleGlobalAdmin},
	ActionLicenseAssign:    {"License Administrator", RoleUserAdmin, RoleGlobalAdmin},
	ActionLicenseRemove:    {"License Administrator", RoleUserAdmin, RoleGlobalAdmin},
	// service health: the admin roles that read it
	// (https://learn.microsoft.com/en-us/graph/api/serviceannouncement-list-healthoverviews)
	ActionServiceHealth: {"Service Support Administrator", RoleHelpdeskAdmin, RoleUserAdmin, "Exchange Administrator",
		"SharePoint Administrator", "Teams Administrator", "Global Reader", RoleGlobalAdmin},
	ActionUserDevices:      gdapDeviceRd,
	ActionDeviceCompliance: gdapDeviceRd,
	// BitLocker keys: Cloud Device, Helpdesk, Intune, Security
	// Administrators, Security Reader, Global Reader
	// (https://learn.microsoft.com/en-us/graph/api/bitlockerrecoverykey-get)
	ActionDeviceBitLockerKey: {"Cloud Device Administrator", RoleHelpdeskAdmin, "Intune Administrator", RoleSecurityAdmin, "Security Reader", "Global Reader", RoleGlobalAdmin},
	// LAPS passwords: Cloud Device Administrator, Intune Administrator
	// (https://learn.microsoft.com/en-us/graph/api/devicelocalcredentialinfo-get)
	ActionDeviceLAPSPassword: {"Cloud Device Administrator", "Intune Administrator", RoleGlobalAdmin},
	ActionDeviceSync:         gdapDevice,
	ActionDeviceReboot:       gdapDevice,
	ActionDeviceRetire:       gdapDevice,
	ActionDeviceWipe:         gdapDevice,
	ActionDeviceLock:         gdapDevice,
	ActionDeviceResetCode:    gdapDevice,
	ActionDeviceSignatures:   gdapDevice,
	ActionOneDriveGrantRead:  {"SharePoint Administrator", RoleGlobalAdmin},
	// Tenant baselines (baseline_tools.go): reading the whole configuration
	// (Conditional Access, Intune, sign-in logs) takes Global Reader;
	// Conditional Access and security defaults are written by a Conditional
	// Access or Security Administrator
	// (https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-post-policies),
	// the authentication methods policy by an Authentication Policy
	// Administrator, compliance policies by an Intune Administrator.
	tierzero.ActionBaselinePlan:       {"Global Reader", RoleGlobalAdmin},
	tierzero.ActionBaselineApply:      {"Global Reader", RoleGlobalAdmin}, // plans the tenant again to check the plan; each step is checked when it runs
	ActionBaselineCreateNamedLocation: gdapCA,
	ActionBaselineCreateCAPolicy:      gdapCA,
	ActionBaselineUpdateCAPolicy:      gdapCA,
	ActionBaselineEnableCAPolicy:      gdapCA,
	ActionBaselineSetSecurityDefaults: gdapCA,
	ActionBaselineSetAuthMethod:       {"Authentication Policy Administrator", RoleGlobalAdmin},
	ActionBaselineCreateCompliance:    gdapDevice,
	ActionBaselineUpdateCompliance:    gdapDevice,
	ActionBaselineAssignCompliance:    gdapDevice,
}

var gdapCA = []string{"Conditional Access Administrator", RoleSecurityAdmin, RoleGlobalAdmin}
