package baseline

// Baseline is the configuration wanted in a tenant. Objects are named the
// way people know them (display names); resolving names to object ids is
// the caller's work, against the tenant's directory.
type Baseline struct {
	// SecurityDefaults, when set, says whether the tenant's security
	// defaults should be on. Unset, they are turned off exactly when the
	// baseline has Conditional Access policies (Entra ID does not enforce
	// both), and left alone otherwise.
	SecurityDefaults  *bool
	NamedLocations    []NamedLocation
	ConditionalAccess []CAPolicy
	AuthMethods       AuthMethods
	SSPR              SSPR
	Compliance        []CompliancePolicy
	Departments       []DepartmentTemplate

	sdAt string // "file:line" of security_defaults, for messages
}

// NamedLocation is an IP-range named location.
type NamedLocation struct {
	Name    string
	CIDRs   []string
	Trusted bool

	at string
}

// Grant is what a Conditional Access policy requires (Graph's built-in
// controls).
type Grant string

// Grants.
const (
	GrantMFA             Grant = "mfa"
	GrantCompliantDevice Grant = "compliantDevice"
	GrantBlock           Grant = "block"
)

// Client app types, as Graph names them (client_app_types).
const (
	ClientAll                = "all"
	ClientBrowser            = "browser"
	ClientMobileAndDesktop   = "mobileAppsAndDesktopClients"
	ClientExchangeActiveSync = "exchangeActiveSync"
	ClientOther              = "other"
)

// Special values of apps, locations and assign_to.
const (
	AppsAll            = "all"         // every cloud app
	AppsOffice365      = "office365"   // the Office 365 app group
	LocationAll        = "all"         // any location
	LocationAllTrusted = "all_trusted" // every trusted named location
	AssignAllUsers     = "all_users"   // a compliance policy for all licensed users
	AssignAllDevices   = "all_devices" // a compliance policy for all devices
)

// CAPolicy is a Conditional Access policy.
type CAPolicy struct {
	Name  string
	Users Users
	// Apps are "all", "office365" or application ids.
	Apps []string
	// ClientAppTypes are Graph's client app types; "all" when not given.
	ClientAppTypes []string
	Locations      Locations
	Grant          Grant

	at string
}

// Users are the users a Conditional Access policy applies to: all users,
// holders of directory roles (by their role template display names) or
// members of groups (by display name), less the exclusions. The
// break-glass accounts are excluded through ExcludeGroups or ExcludeUsers.
type Users struct {
	All           bool
	Roles         []string
	Groups        []string
	ExcludeGroups []string
	ExcludeUsers  []string // user principal names
}

// Locations are named locations (by name), "all" or "all_trusted".
type Locations struct {
	Include []string
	Exclude []string
}

// AuthMethods is the tenant's authentication methods policy.
type AuthMethods struct {
	TAP           TAP
	Authenticator bool
	SMS           bool
	FIDO2         bool
}

// TAP is the Temporary Access Pass method.
type TAP struct {
	Enabled         bool
	LifetimeMinutes int
	UsableOnce      bool
}

// SSPR is self-service password reset.
type SSPR struct {
	Enabled         bool
	MethodsRequired int
}

// Platform is an Intune compliance policy's platform.
type Platform string

// Platforms.
const (
	Windows Platform = "windows"
	IOS     Platform = "ios"
	Android Platform = "android"
)

// CompliancePolicy is an Intune device compliance policy and its
// assignments. BitLocker, Firewall and Antivirus are Windows settings;
// BlockJailbroken (jailbreak on iOS, root on Android) is a mobile one.
type CompliancePolicy struct {
	Name            string
	Platform        Platform
	BitLocker       bool
	Firewall        bool
	Antivirus       bool
	MinOSVersion    string
	Passcode        bool
	BlockJailbroken bool
	// AssignTo are group display names, "all_users" or "all_devices".
	AssignTo []string

	at string
}

// DepartmentTemplate is what a new hire of a department gets: groups and
// licenses (SKU part numbers). It is used by onboarding, not by Plan.
type DepartmentTemplate struct {
	Name     string
	Groups   []string
	Licenses []string

	at string
}

// Clone returns a deep copy of b.
func (b Baseline) Clone() Baseline {
	c := b
	if b.SecurityDefaults != nil {
		v := *b.SecurityDefaults
		c.SecurityDefaults = &v
	}
	c.NamedLocations = cloneEach(b.NamedLocations, func(l NamedLocation) NamedLocation {
		l.CIDRs = clone(l.CIDRs)
		return l
	})
	c.ConditionalAccess = cloneEach(b.ConditionalAccess, cloneCA)
	c.Compliance = cloneEach(b.Compliance, func(p CompliancePolicy) CompliancePolicy {
		p.AssignTo = clone(p.AssignTo)
		return p
	})
	c.Departments = cloneEach(b.Departments, func(d DepartmentTemplate) DepartmentTemplate {
		d.Groups, d.Licenses = clone(d.Groups), clone(d.Licenses)
		return d
	})
	return c
}

func cloneCA(p CAPolicy) CAPolicy {
	p.Users.Roles = clone(p.Users.Roles)
	p.Users.Groups = clone(p.Users.Groups)
	p.Users.ExcludeGroups = clone(p.Users.ExcludeGroups)
	p.Users.ExcludeUsers = clone(p.Users.ExcludeUsers)
	p.Apps = clone(p.Apps)
	p.ClientAppTypes = clone(p.ClientAppTypes)
	p.Locations.Include = clone(p.Locations.Include)
	p.Locations.Exclude = clone(p.Locations.Exclude)
	return p
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

func cloneEach[T any](s []T, f func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
