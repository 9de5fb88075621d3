package web

// This file: the one table that maps each tool action (and each intent, an
// intent being the catalog actions the requester's own words name) to the
// support tier an MSP would staff it at and to a category of work. The
// economics report reads a request's tier and category from it; docs/report.md
// prints it. A test in cmd/tierzero checks that every action of the catalog
// has a row.

import "slices"

// Tier is the support level a piece of work needs at an MSP: L1 the service
// desk's first line (scripted, low risk), L2 the second line (changes of
// access, devices, licenses; judgement), L3 the senior engineers
// (destructive, security-critical, or whole-account changes).
type Tier string

// Tiers, lowest first.
const (
	L1 Tier = "L1"
	L2 Tier = "L2"
	L3 Tier = "L3"
)

// Tiers lists the tiers, lowest first.
var Tiers = []Tier{L1, L2, L3}

// rank orders tiers: L1 1, L2 2, L3 3, anything else 0.
func (t Tier) rank() int { return slices.Index(Tiers, t) + 1 }

// Categories of work, in the order the report shows them.
const (
	CategoryPassword    = "password"    // password resets
	CategoryMFA         = "mfa"         // sign-in methods: Temporary Access Pass, MFA reset, phones
	CategoryAccess      = "access"      // group, team and file access
	CategoryLicenses    = "licenses"    // license assignment
	CategoryDevices     = "devices"     // Intune managed devices
	CategoryAccounts    = "accounts"    // account state: sign-in, enablement, manager, auto-reply, guests
	CategoryLifecycle   = "lifecycle"   // onboarding and offboarding people, and client tenants to their baseline
	CategorySecurity    = "security"    // Identity Protection risk, compromised accounts
	CategoryInformation = "information" // questions answered from the directory or service health
	CategoryOther       = "other"       // an action this table does not know
)

// Categories lists the categories in the order the report shows them.
var Categories = []string{
	CategoryPassword, CategoryMFA, CategoryAccess, CategoryLicenses, CategoryDevices,
	CategoryAccounts, CategoryLifecycle, CategorySecurity, CategoryInformation, CategoryOther,
}

// TierRow is one action's row of the table.
type TierRow struct {
	Action   string `json:"action"`
	Tier     Tier   `json:"tier"`
	Category string `json:"category"`
}

// tierTable is the table, grouped by category. A request's tier is the
// highest tier of the actions it proposed or ran (a request with none: L1,
// information); see requestClass.
var tierTable = []TierRow{
	// password
	{"user.reset_password", L1, CategoryPassword},

	// mfa
	{"user.auth_methods", L1, CategoryMFA},
	{"user.mfa_registration", L1, CategoryMFA},
	{"user.issue_tap", L1, CategoryMFA},
	{"user.reset_mfa", L2, CategoryMFA},
	{"user.remove_auth_method", L2, CategoryMFA},
	{"user.set_phone_method", L2, CategoryMFA},

	// access
	{"user.groups", L1, CategoryAccess},
	{"group.find", L1, CategoryAccess},
	{"group.get", L1, CategoryAccess},
	{"group.owners", L1, CategoryAccess},
	{"team.members", L1, CategoryAccess},
	{"group.add_member", L2, CategoryAccess},
	{"group.remove_member", L2, CategoryAccess},
	{"group.add_owner", L2, CategoryAccess},
	{"group.remove_owner", L2, CategoryAccess},
	{"team.add_member", L2, CategoryAccess},
	{"team.remove_member", L2, CategoryAccess},
	{"onedrive.grant_access", L3, CategoryAccess},

	// licenses
	{"license.available", L1, CategoryLicenses},
	{"license.assign", L2, CategoryLicenses},
	{"license.remove", L2, CategoryLicenses},

	// devices
	{"user.devices", L1, CategoryDevices},
	{"device.compliance", L1, CategoryDevices},
	{"device.sync", L1, CategoryDevices},
	{"device.update_signatures", L1, CategoryDevices},
	{"device.reboot", L2, CategoryDevices},
	{"device.lock", L2, CategoryDevices},
	{"device.reset_passcode", L2, CategoryDevices},
	{"device.bitlocker_key", L2, CategoryDevices},
	{"device.laps_password", L2, CategoryDevices},
	{"device.retire", L3, CategoryDevices},
	{"device.wipe", L3, CategoryDevices},

	// accounts
	{"user.signins", L1, CategoryAccounts},
	{"user.set_auto_reply", L1, CategoryAccounts},
	{"user.enable", L2, CategoryAccounts},
	{"user.set_manager", L2, CategoryAccounts},
	{"user.block_sign_in", L2, CategoryAccounts},
	{"user.invite_guest", L2, CategoryAccounts},
	{"user.create", L3, CategoryAccounts},

	// lifecycle
	{"lifecycle.offboard_plan", L2, CategoryLifecycle},
	{"lifecycle.onboard_plan", L2, CategoryLifecycle},
	{"lifecycle.offboard", L3, CategoryLifecycle},
	{"lifecycle.onboard", L3, CategoryLifecycle},
	// a client tenant's baseline (docs/baseline.md): reading it is L2,
	// its plan and every step of it L3 (the tenant's sign-in security)
	{"baseline.plan", L2, CategoryLifecycle},
	{"baseline.apply", L3, CategoryLifecycle},
	{"baseline.create_named_location", L3, CategoryLifecycle},
	{"baseline.create_ca_policy", L3, CategoryLifecycle},
	{"baseline.update_ca_policy", L3, CategoryLifecycle},
	{"baseline.enable_ca_policy", L3, CategoryLifecycle},
	{"baseline.set_security_defaults", L3, CategoryLifecycle},
	{"baseline.set_auth_method", L3, CategoryLifecycle},
	{"baseline.create_compliance_policy", L3, CategoryLifecycle},
	{"baseline.update_compliance_policy", L3, CategoryLifecycle},
	{"baseline.assign_compliance_policy", L3, CategoryLifecycle},

	// security
	{"user.revoke_sessions", L1, CategorySecurity},
	{"user.risk", L2, CategorySecurity},
	{"user.dismiss_risk", L3, CategorySecurity},
	{"user.confirm_compromised", L3, CategorySecurity},

	// information
	{"user.get", L1, CategoryInformation},
	{"service.health", L1, CategoryInformation},
}

// unknownRow is the row of an action the table does not hold: L2, other
// (a person has to look at what it is).
func unknownRow(action string) TierRow {
	return TierRow{Action: action, Tier: L2, Category: CategoryOther}
}

// TierTable returns the table, grouped by category.
func TierTable() []TierRow { return slices.Clone(tierTable) }

// TierOf returns an action's row; ok is false (and the row is L2, other)
// when the table does not hold the action.
func TierOf(action string) (row TierRow, ok bool) {
	i := slices.IndexFunc(tierTable, func(r TierRow) bool { return r.Action == action })
	if i < 0 {
		return unknownRow(action), false
	}
	return tierTable[i], true
}

// requestClass is the tier and category of a request that proposed or ran
// actions, in order: the highest tier among them; the category of the
// action that sets it, preferring the last one that is not a plain
// information read (a request that looked the user up and then reset their
// password is about a password). No action: L1, information.
func requestClass(actions []string) (Tier, string) {
	best := TierRow{Tier: L1, Category: CategoryInformation}
	seen := false
	for _, a := range actions {
		r, _ := TierOf(a)
		switch {
		case !seen, r.Tier.rank() > best.Tier.rank():
			best, seen = r, true
		case r.Tier.rank() == best.Tier.rank() && r.Category != CategoryInformation:
			best = r
		}
	}
	return best.Tier, best.Category
}
