package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Directory role templates: the real, global roleTemplateIds.
var roleTemplates = map[string]struct{ id, description string }{
	"Global Administrator": {"62e90394-69f5-4237-9190-012177145e10",
		"Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."},
	"User Administrator": {"fe930be7-5e62-47db-91af-98c3a49a38b1",
		"Can manage all aspects of users and groups, including resetting passwords for limited admins."},
	"Helpdesk Administrator": {"729827e3-9c14-49f7-bb1b-9608f156bbb8",
		"Can reset passwords for non-administrators and Helpdesk Administrators."},
	"Password Administrator": {"966707d0-3269-4727-9be2-8c3a10f19b9d",
		"Can reset passwords for non-administrators and Password Administrators."},
	"Authentication Administrator": {"c4e39bd9-1100-46d3-8c65-fb160da0071f",
		"Can access to view, set and reset authentication method information for any non-admin user."},
	"Privileged Authentication Administrator": {"7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
		"Can access to view, set and reset authentication method information for any user (admin or non-admin)."},
	"Privileged Role Administrator": {"e8611ab8-c189-46e8-94e1-60213ab1f814",
		"Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."},
	"Groups Administrator": {"fdd7a751-b60b-444a-984c-02652fe8fa1c",
		"Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports."},
	"License Administrator": {"4d6ac14f-3453-41d0-bef9-a3e0c569773a",
		"Can manage product licenses on users and groups."},
	"Intune Administrator": {"3a2c62db-5318-420d-8d74-23affee5d9d5",
		"Can manage all aspects of the Intune product."},
}

// License SKUs: the real, global skuIds by part number.
var skuIDs = map[string]string{
	"ENTERPRISEPACK": "6fd2c87f-b296-42f0-b197-1e91e994b900", // Office 365 E3
	"SPE_E3":         "05e9a617-0261-4cee-bb44-138d3ef5d965", // Microsoft 365 E3
	"EMS":            "efccb6f7-5641-4e0e-bd10-b4976e1bf68e", // Enterprise Mobility + Security E3
	"POWER_BI_PRO":   "f8a1db68-be16-40ed-86d5-cb42ce701560",
	"AAD_PREMIUM_P2": "84a661c4-e949-4bd2-a560-ed7766fcaf2b", // Microsoft Entra ID P2
}

// skuPlans are the service plans of each SKU (name and the real, global
// servicePlanId), as subscribedSkus lists them: a tenant's capabilities
// (Entra ID P1: AAD_PREMIUM, P2: AAD_PREMIUM_P2, Intune: INTUNE_A) are the
// plans of its enabled subscriptions.
var skuPlans = map[string][][2]string{
	"ENTERPRISEPACK": {{"EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"}, {"SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72"},
		{"MCOSTANDARD", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"}, {"TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929"}},
	"SPE_E3": {{"EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"}, {"SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72"},
		{"TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929"}, {"AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"}, {"INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"}},
	"EMS":          {{"AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"}, {"INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"}, {"MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0"}},
	"POWER_BI_PRO": {{"BI_AZURE_P2", "70d33638-9c74-4d01-bfd3-562de28bd4ba"}},
	"AAD_PREMIUM_P2": {{"AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"}, {"AAD_PREMIUM_P2", "eec0eb4f-6444-4f95-aba0-50c24d67f998"},
		{"MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0"}},
}

// person is one seeded user: UPN local part, display name, department, job
// title, the manager's local part and a directory role (both may be empty).
type person struct{ local, name, dept, title, manager, role string }

// tenantSeed describes one seeded tenant.
type tenantSeed struct {
	name, domain, usageLocation, language, phone string // phone: a Sprintf pattern taking the user's index
	prepaid                                      map[string]int
	disabled                                     []string // locals of disabled (leaver) accounts
	// hybrid are users synced from on-premises Active Directory. They are
	// numbered after people (phones, devices) and listed before the last
	// of people, who stays the tenant's last user (the new starter of
	// licenses.go).
	hybrid []person
	people []person
}

var seeds = []tenantSeed{{
	name: "contoso", domain: "contoso.com", usageLocation: "US", language: "en-US", phone: "+1 425 555 01%02d",
	prepaid:  map[string]int{"ENTERPRISEPACK": 25, "SPE_E3": 15, "EMS": 25, "POWER_BI_PRO": 10, "AAD_PREMIUM_P2": 5},
	disabled: []string{"gerhart.moller"},
	people: []person{
		{"patti.fernandez", "Patti Fernandez", "Executive", "CEO", "", ""},
		{"lynne.robbins", "Lynne Robbins", "Sales", "Sales Director", "patti.fernandez", ""},
		{"miriam.graham", "Miriam Graham", "Marketing", "Director", "patti.fernandez", ""},
		{"megan.bowen", "Megan Bowen", "IT", "IT Manager", "patti.fernandez", "Global Administrator"},
		{"diego.siciliani", "Diego Siciliani", "Finance", "Finance Director", "patti.fernandez", ""},
		{"henrietta.mueller", "Henrietta Mueller", "Engineering", "VP Engineering", "patti.fernandez", ""},
		{"johanna.lorenz", "Johanna Lorenz", "HR", "HR Director", "patti.fernandez", ""},
		{"lee.gu", "Lee Gu", "Operations", "Operations Director", "patti.fernandez", ""},
		{"debra.berger", "Debra Berger", "Executive", "Executive Assistant", "patti.fernandez", ""},
		{"alex.wilber", "Alex Wilber", "Sales", "Account Executive", "lynne.robbins", ""},
		{"christie.cline", "Christie Cline", "Sales", "Account Manager", "lynne.robbins", ""},
		{"raul.razo", "Raul Razo", "Sales", "Sales Representative", "lynne.robbins", ""},
		{"adele.vance", "Adele Vance", "Marketing", "Marketing Specialist", "miriam.graham", ""},
		{"gerhart.moller", "Gerhart Moller", "Marketing", "Marketing Coordinator", "miriam.graham", ""},
		{"nestor.wilke", "Nestor Wilke", "IT", "Systems Administrator", "megan.bowen", "Helpdesk Administrator"},
		{"allan.deyoung", "Allan Deyoung", "IT", "Support Technician", "megan.bowen", ""},
		{"pradeep.gupta", "Pradeep Gupta", "Finance", "Accountant", "diego.siciliani", ""},
		{"emily.braun", "Emily Braun", "Finance", "Budget Analyst", "diego.siciliani", ""},
		{"isaiah.langer", "Isaiah Langer", "Engineering", "Engineering Manager", "henrietta.mueller", "User Administrator"},
		{"grady.archie", "Grady Archie", "Engineering", "Software Engineer", "isaiah.langer", ""},
		{"lidia.holloway", "Lidia Holloway", "Engineering", "Product Manager", "henrietta.mueller", ""},
		{"joni.sherman", "Joni Sherman", "HR", "HR Specialist", "johanna.lorenz", ""},
		{"irvin.sayers", "Irvin Sayers", "Operations", "Operations Analyst", "lee.gu", ""},
		{"enrico.cattaneo", "Enrico Cattaneo", "Operations", "Logistics Coordinator", "lee.gu", ""},
	},
	hybrid: []person{
		{"wanda.howard", "Wanda Howard", "Operations", "Warehouse Supervisor", "lee.gu", ""},
		{"carlos.slattery", "Carlos Slattery", "Operations", "Warehouse Operative", "wanda.howard", ""},
	},
}, {
	name: "fabrikam", domain: "fabrikam.com", usageLocation: "GB", language: "en-GB", phone: "+44 20 7946 0%03d",
	prepaid:  map[string]int{"ENTERPRISEPACK": 20, "SPE_E3": 10, "EMS": 20, "POWER_BI_PRO": 10, "AAD_PREMIUM_P2": 5},
	disabled: []string{"jack.turner"},
	people: []person{
		{"sam.ortiz", "Sam Ortiz", "Executive", "CEO", "", ""},
		{"tara.ellis", "Tara Ellis", "IT", "IT Director", "sam.ortiz", "Global Administrator"},
		{"nina.patel", "Nina Patel", "Sales", "Sales Director", "sam.ortiz", ""},
		{"omar.haddad", "Omar Haddad", "Marketing", "Marketing Director", "sam.ortiz", ""},
		{"grace.kim", "Grace Kim", "Finance", "CFO", "sam.ortiz", ""},
		{"lucas.meyer", "Lucas Meyer", "Engineering", "VP Engineering", "sam.ortiz", ""},
		{"hannah.brooks", "Hannah Brooks", "HR", "HR Manager", "sam.ortiz", ""},
		{"victor.santos", "Victor Santos", "Operations", "Operations Manager", "sam.ortiz", ""},
		{"olivia.grant", "Olivia Grant", "Executive", "Executive Assistant", "sam.ortiz", ""},
		{"ben.walters", "Ben Walters", "Sales", "Account Executive", "nina.patel", ""},
		{"chloe.martin", "Chloe Martin", "Sales", "Sales Representative", "nina.patel", ""},
		{"jack.turner", "Jack Turner", "Sales", "Sales Representative", "nina.patel", ""},
		{"ravi.shah", "Ravi Shah", "IT", "Helpdesk Technician", "tara.ellis", "Helpdesk Administrator"},
		{"ethan.wu", "Ethan Wu", "IT", "Systems Engineer", "tara.ellis", ""},
		{"emma.novak", "Emma Novak", "Marketing", "Content Strategist", "omar.haddad", ""},
		{"zoe.clarke", "Zoe Clarke", "Marketing", "Marketing Specialist", "omar.haddad", ""},
		{"daniel.reyes", "Daniel Reyes", "Finance", "Accountant", "grace.kim", ""},
		{"sofia.rossi", "Sofia Rossi", "Engineering", "Software Engineer", "lucas.meyer", ""},
		{"liam.oconnor", "Liam O'Connor", "Engineering", "Software Engineer", "lucas.meyer", ""},
		{"mia.fischer", "Mia Fischer", "HR", "Recruiter", "hannah.brooks", ""},
		{"noah.bennett", "Noah Bennett", "Operations", "Logistics Coordinator", "victor.santos", ""},
	},
	hybrid: []person{
		{"ruth.okafor", "Ruth Okafor", "Operations", "Warehouse Lead", "victor.santos", ""},
		{"peter.lindqvist", "Peter Lindqvist", "Operations", "Warehouse Operative", "ruth.okafor", ""},
	},
}}

// offices maps a department to its office location.
var offices = map[string]string{
	"Executive": "1/1001", "Sales": "131/1104", "Marketing": "18/2111", "Finance": "12/1110",
	"IT": "24/1106", "Engineering": "32/1502", "HR": "20/1101", "Operations": "98/2202",
}

// groupSeeds are the groups every tenant has; member decides membership.
var groupSeeds = []struct {
	name, nickname, description, rule string
	unified, roleAssignable           bool
	member                            func(u *User) bool
}{
	{"All Staff", "allstaff", "Everyone in the company", "", true, false, func(u *User) bool { return true }},
	{"Marketing Team", "marketing", "The marketing department", "", true, false, inDept("Marketing")},
	{"Sales Team", "sales", "The sales department", "", true, false, inDept("Sales")},
	{"IT Admins", "itadmins", "IT staff; the group holds admin roles, so its members do too", "", false, true, func(u *User) bool { return len(u.DirectoryRoles) > 0 || u.Department == "IT" }},
	{"VPN Users", "vpnusers", "Allowed on the remote access VPN", "", false, false, inDept("IT", "Engineering", "Executive")},
	{"Engineering (Dynamic)", "engineering", "Every engineer, by department", `(user.department -eq "Engineering")`, false, false, inDept("Engineering")},
}

func inDept(depts ...string) func(u *User) bool {
	return func(u *User) bool { return slices.Contains(depts, u.Department) }
}

// licenses returns the SKU part numbers a seeded user in dept holds.
func licenses(dept string) []string {
	switch dept {
	case "IT", "Engineering":
		return []string{"SPE_E3"}
	case "Executive":
		return []string{"SPE_E3", "POWER_BI_PRO"}
	case "Finance", "Marketing":
		return []string{"ENTERPRISEPACK", "EMS", "POWER_BI_PRO"}
	}
	return []string{"ENTERPRISEPACK", "EMS"}
}

// build materializes the seed at time now. It panics on an inconsistent
// table, which is a programming error caught by the tests.
func (ts tenantSeed) build(now time.Time) *tenant {
	t := &tenant{name: ts.name, domain: ts.domain, id: guid("tenant", ts.name), byKey: map[string]*user{},
		app: appState{roles: slices.Clone(seededAppRoles)}}
	day := 24 * time.Hour
	people := slices.Concat(ts.people, ts.hybrid)
	for i, p := range people {
		upn := p.local + "@" + ts.domain
		given, surname, _ := strings.Cut(p.name, " ")
		changed := now.Add(-time.Duration(20+i*37%300) * day)
		u := &user{User: User{
			ID:                              guid(ts.name, "user", upn),
			UserPrincipalName:               upn,
			DisplayName:                     p.name,
			GivenName:                       given,
			Surname:                         surname,
			Mail:                            upn,
			Department:                      p.dept,
			JobTitle:                        p.title,
			OfficeLocation:                  offices[p.dept],
			BusinessPhones:                  []string{fmt.Sprintf(ts.phone, i+1)},
			PreferredLanguage:               ts.language,
			AccountEnabled:                  !slices.Contains(ts.disabled, p.local),
			DirectoryRoles:                  []string{},
			EligibleRoles:                   []string{},
			LastPasswordChangeDateTime:      changed,
			SignInSessionsValidFromDateTime: changed,
			UsageLocation:                   ts.usageLocation,
			AssignedLicenses:                []string{},
		}}
		if p.manager != "" {
			u.Manager = p.manager + "@" + ts.domain
		}
		if p.role != "" {
			if _, ok := roleTemplates[p.role]; !ok {
				panic("sim: unknown directory role " + p.role)
			}
			u.DirectoryRoles = []string{p.role}
		}
		if u.AccountEnabled {
			u.AssignedLicenses = licenses(p.dept)
		}
		if i >= len(ts.people) {
			// objectGUID of the on-premises account, base64: the source anchor
			sum := sha256.Sum256([]byte(ts.name + "\x00onprem\x00" + upn))
			u.OnPremisesSyncEnabled = true
			u.OnPremisesImmutableID = base64.StdEncoding.EncodeToString(sum[:16])
			u.OnPremisesLastSyncDateTime = now.Add(-time.Duration(10+i) * time.Minute)
		}
		if n := len(ts.people); i >= n && n > 0 {
			t.users = slices.Insert(t.users, len(t.users)-1, u) // before the last of people
		} else {
			t.users = append(t.users, u)
		}
		t.byKey[strings.ToLower(u.ID)] = u
		t.byKey[strings.ToLower(upn)] = u
		t.devices = append(t.devices, devicesOf(ts, i, u, now)...)
	}
	for _, u := range t.users {
		if u.Manager != "" && t.lookup(u.Manager) == nil {
			panic("sim: unknown manager " + u.Manager)
		}
	}
	for _, g := range groupSeeds {
		grp := Group{
			ID:                 guid(ts.name, "group", g.name),
			DisplayName:        g.name,
			Description:        g.description,
			SecurityEnabled:    !g.unified,
			MailEnabled:        g.unified,
			GroupTypes:         []string{},
			MembershipRule:     g.rule,
			IsAssignableToRole: g.roleAssignable,
			Members:            []string{},
			Roles:              []string{},
			EligibleRoles:      []string{},
			EligibleMembers:    []string{},
		}
		if g.roleAssignable {
			// The role-assignable group holds a role, as such groups do.
			grp.Roles = []string{"Helpdesk Administrator"}
		}
		if g.unified {
			grp.Mail = g.nickname + "@" + ts.domain
			grp.GroupTypes = append(grp.GroupTypes, "Unified")
		}
		if g.rule != "" {
			grp.GroupTypes = append(grp.GroupTypes, "DynamicMembership")
		}
		for _, u := range t.users {
			if g.member(&u.User) {
				grp.Members = append(grp.Members, u.UserPrincipalName)
			}
		}
		t.groups = append(t.groups, grp)
	}
	for _, part := range []string{"ENTERPRISEPACK", "SPE_E3", "EMS", "POWER_BI_PRO", "AAD_PREMIUM_P2"} {
		if ts.prepaid[part] == 0 {
			continue
		}
		t.skus = append(t.skus, SKU{
			ID:               t.id + "_" + skuIDs[part],
			SkuID:            skuIDs[part],
			SkuPartNumber:    part,
			CapabilityStatus: "Enabled",
			PrepaidUnits:     ts.prepaid[part],
		})
	}
	seedBaseline(t, now) // baseline_seed.go
	return t
}

// devicesOf returns the Intune managed devices of the i-th seeded user: a
// company Windows laptop (a Mac for engineers) and, for every third user, a
// personal iPhone. Every seventh laptop is out of compliance.
func devicesOf(ts tenantSeed, i int, u *user, now time.Time) []Device {
	laptop := Device{
		DeviceName:             fmt.Sprintf("%s-LT%03d", strings.ToUpper(ts.name), i+1),
		OperatingSystem:        "Windows",
		OSVersion:              "10.0.22631.4460",
		ComplianceState:        "compliant",
		ManagedDeviceOwnerType: "company",
		UserPrincipalName:      u.UserPrincipalName,
		LastSyncDateTime:       now.Add(-time.Duration(i+1) * time.Hour),
	}
	if u.Department == "Engineering" {
		laptop.DeviceName = fmt.Sprintf("%s-MB%03d", strings.ToUpper(ts.name), i+1)
		laptop.OperatingSystem, laptop.OSVersion = "macOS", "14.7.1"
	}
	if i%7 == 6 {
		laptop.ComplianceState = "noncompliant"
	}
	out := []Device{laptop}
	if i%3 == 1 {
		out = append(out, Device{
			DeviceName:             u.GivenName + "'s iPhone",
			OperatingSystem:        "iOS",
			OSVersion:              "18.1",
			ComplianceState:        "compliant",
			ManagedDeviceOwnerType: "personal",
			UserPrincipalName:      u.UserPrincipalName,
			LastSyncDateTime:       now.Add(-time.Duration(i+2) * time.Hour),
		})
	}
	for j := range out {
		out[j].ID = guid(ts.name, "device", out[j].DeviceName)
	}
	return out
}
