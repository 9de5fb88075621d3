package sim

// This file: Intune managed devices, compliance and device actions.
//
// Endpoints (Graph v1.0):
//
//	GET  /users/{user}/managedDevices                       the user's devices, paged
//	GET  /deviceManagement/managedDevices                   all devices, paged; $filter userPrincipalName eq '...'
//	GET  /deviceManagement/managedDevices/{id}              one device, $select
//	GET  /deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates[/{stateId}]
//	POST /deviceManagement/managedDevices/{id}/syncDevice   204
//	POST /deviceManagement/managedDevices/{id}/rebootNow    204
//	POST /deviceManagement/managedDevices/{id}/retire       204
//	POST /deviceManagement/managedDevices/{id}/wipe         204, body {keepEnrollmentData, keepUserData, ...}
//	POST /deviceManagement/managedDevices/{id}/remoteLock   204; iOS, macOS, Android only (400 otherwise)
//	POST /deviceManagement/managedDevices/{id}/resetPasscode 204; iOS (not Apple User Enrollment), Android only
//	POST /deviceManagement/managedDevices/{id}/windowsDefenderUpdateSignatures 204; Windows only
//	GET  /deviceManagement/deviceCompliancePolicies[/{id}]  the tenant's compliance policies (baseline.go)
//	GET  /deviceManagement/deviceCompliancePolicySettingStateSummaries   per-setting report, one per policy setting
//	GET  /deviceManagement/deviceCompliancePolicySettingStateSummaries/{id}/deviceComplianceSettingStates
//	     each device's state on that setting; $filter deviceId eq '...'
//	GET  /informationProtection/bitlocker/recoveryKeys      $filter deviceId eq '{Entra device id}' (keys.go)
//	GET  /informationProtection/bitlocker/recoveryKeys/{id} the key itself only with $select=key
//	GET  /directory/deviceLocalCredentials/{Entra device id} Windows LAPS; the passwords only with $select=credentials
//
// In v1.0, deviceCompliancePolicyState.settingStates is a collection of the
// complex type deviceCompliancePolicySettingState carried inline in the policy
// state; the .../settingStates segment exists only in beta, so here it is
// "Resource not found for the segment" like any unknown segment.
//
// Sparse compliance. On real tenants Graph v1.0 often answers less than
// that: deviceCompliancePolicyStates comes back with empty settingStates, or
// empty altogether, and settingName is null (microsoft-graph-docs#7862,
// msgraph-sdk-dotnet#1131). The devices of sparseCompliance answer so; every
// device's per-setting report entry (deviceComplianceSettingStates) has a
// null settingName, as reported.
//
// Compliance is computed, not stored: each tenant has the compliance
// policies of compliancePolicies (Windows, iOS, macOS baselines); a device is
// judged by the policy for its operating system against what it reported at
// its last check-in (Device.Health, IsEncrypted, JailBroken, OSVersion). A
// policy state's id is its policy's id.
//
// Actions are requests, not instant fixes. syncDevice, remoteLock,
// resetPasscode and windowsDefenderUpdateSignatures are recorded pending;
// Intune's push makes the device check in Options.CheckInDelay later (by the
// injected clock; 0: at once), which the simulator applies on the next read
// that touches devices (or State), or at once through CheckIn and POST
// /_sim/checkin?tenant=T&device=ID. At the check-in lastSyncDateTime moves,
// the pending actions are done, Defender has fresh antivirus signatures when
// a sync or a signature update was asked (so "signatures out of date"
// clears), a passcode reset removes the passcode, and compliance is
// re-evaluated; BitLocker, FileVault, the firewall, the OS version and a
// jailbreak are not changed by a check-in. rebootNow records a pending
// action. retire and wipe record a pending action and set managementState to
// retirePending or wipePending. On Graph the device record stays, with that
// managementState, until the device checks in and the action completes, and
// only then leaves the managed devices lists; the simulated devices never
// carry out a retire, wipe or reboot, so those stay pending and listed. A
// device with a wipe pending takes no further action (400); one with a
// retire pending takes only a wipe. deviceActionResults keeps the latest
// result per action name. An action the platform does not support answers
// 400 BadRequest with an empty CustomApiErrorPhrase, as Intune does for a
// remoteLock sent to a Windows PC (microsoft-graph-docs#10007).
//
// Intune answers errors with its own envelope: code ResourceNotFound or
// BadRequest and a message that is itself a JSON document ("_version": 3 ...).
//
// Seeded non-compliant devices (deviceIssues):
//
//	contoso  CONTOSO-LT013   adele.vance      BitLocker off (a sync does not fix it)
//	contoso  CONTOSO-LT010   alex.wilber      antivirus signatures out of date (a sync fixes it)
//	contoso  Diego's iPhone  diego.siciliani  jailbroken
//	contoso  CONTOSO-LT007   johanna.lorenz   Windows 10.0.19045, below the minimum 10.0.22631
//	contoso  CONTOSO-LT014   gerhart.moller   firewall off
//	contoso  CONTOSO-MB021   lidia.holloway   FileVault off
//	fabrikam FABRIKAM-LT010  ben.walters      BitLocker off
//	fabrikam FABRIKAM-LT007  hannah.brooks    antivirus signatures out of date (a sync fixes it)
//	fabrikam Chloe's iPhone  chloe.martin     jailbroken
//	fabrikam FABRIKAM-LT014  ethan.wu         Windows 10.0.19045, below the minimum
//	fabrikam FABRIKAM-LT021  noah.bennett     signatures out of date and firewall off (a sync fixes only the first)
//	fabrikam Victor's iPhone victor.santos    no passcode
//	contoso  CONTOSO-LT015   nestor.wilke     antivirus signatures out of date; sparse: no settingStates
//	fabrikam FABRIKAM-LT001  sam.ortiz        firewall off; sparse: no policy states at all
//
// contoso's nestor.wilke also has a company iPhone (CONTOSO-IPH025, enrolled
// through Automated Device Enrollment), the kind whose passcode Intune can
// reset; the personal iPhones use Apple User Enrollment (appleUserEnrollment),
// whose passcode it cannot.
//
// contoso's support technician allan.deyoung also holds 28 loaner laptops
// (CONTOSO-LOAN001..028, compliant), so that a user's device list spans
// several pages.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var deviceRoutes = []route{
	{http.MethodGet, "users/{user}/managedDevices", (*Server).listUserDevices},
	{http.MethodGet, "deviceManagement/managedDevices", (*Server).listDevices},
	{http.MethodGet, "deviceManagement/managedDevices/{device}", (*Server).getDevice},
	{http.MethodGet, "deviceManagement/managedDevices/{device}/deviceCompliancePolicyStates", (*Server).listDevicePolicyStates},
	{http.MethodGet, "deviceManagement/managedDevices/{device}/deviceCompliancePolicyStates/{state}", (*Server).getDevicePolicyState},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/syncDevice", (*Server).deviceAction},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/rebootNow", (*Server).deviceAction},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/retire", (*Server).deviceAction},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/wipe", (*Server).deviceAction},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/remoteLock", (*Server).deviceAction},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/resetPasscode", (*Server).deviceAction},
	{http.MethodPost, "deviceManagement/managedDevices/{device}/windowsDefenderUpdateSignatures", (*Server).deviceAction},
	{http.MethodGet, "deviceManagement/deviceCompliancePolicySettingStateSummaries", (*Server).listSettingSummaries},
	{http.MethodGet, "deviceManagement/deviceCompliancePolicySettingStateSummaries/{summary}/deviceComplianceSettingStates", (*Server).listSettingStates},
	{http.MethodGet, "informationProtection/bitlocker/recoveryKeys", (*Server).listRecoveryKeys},
	{http.MethodGet, "informationProtection/bitlocker/recoveryKeys/{key}", (*Server).getRecoveryKey},
	{http.MethodGet, "directory/deviceLocalCredentials/{entraDevice}", (*Server).getLocalCredentials},
}

// DeviceAction is one deviceActionResult of a managed device.
type DeviceAction struct {
	ActionName          string    `json:"actionName"`  // syncDevice, rebootNow, retire, wipe
	ActionState         string    `json:"actionState"` // pending, done
	StartDateTime       time.Time `json:"startDateTime"`
	LastUpdatedDateTime time.Time `json:"lastUpdatedDateTime"`
}

// DeviceHealth is what a device reported at its last check-in, beyond the
// managedDevice properties (isEncrypted, jailBroken, osVersion), for the
// compliance policies to judge.
type DeviceHealth struct {
	SecureBootEnabled  bool `json:"secureBootEnabled"`
	FirewallOn         bool `json:"firewallOn"`
	SignaturesUpToDate bool `json:"signaturesUpToDate"` // Defender antivirus security intelligence
	PasscodeSet        bool `json:"passcodeSet"`
}

// cloneDevices deep-copies devices for a state snapshot.
func cloneDevices(ds []Device) []Device {
	out := slices.Clone(ds)
	for i := range out {
		out[i].DeviceActionResults = slices.Clone(out[i].DeviceActionResults)
	}
	return out
}

// complianceSetting is one setting of a compliance policy and how a device
// is judged on it: check reports whether d complies and the value d reported.
type complianceSetting struct {
	property string // the policy's property, e.g. bitLockerEnabled
	name     string // settingName as Intune reports it
	check    func(d *Device, p *compliancePolicy) (bool, string)
}

// compliancePolicy is a compliance policy every tenant has.
type compliancePolicy struct {
	key, displayName, description string
	odataType, class              string // microsoft.graph type; the class prefix of its settings
	platformType, os              string // policyPlatformType; the operatingSystem it applies to
	minOS                         string
	settings                      []complianceSetting
}

func complianceValue(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

var (
	complianceEncrypted = func(d *Device, _ *compliancePolicy) (bool, string) {
		return d.IsEncrypted, complianceValue(d.IsEncrypted)
	}
	complianceMinOS = func(d *Device, p *compliancePolicy) (bool, string) {
		return compareOSVersions(d.OSVersion, p.minOS) >= 0, d.OSVersion
	}
)

var compliancePolicies = []compliancePolicy{{
	key: "windows", displayName: "Windows 10/11 compliance baseline",
	description: "BitLocker, Secure Boot, firewall, Defender antivirus up to date, Windows 11 23H2 or later",
	odataType:   "#microsoft.graph.windows10CompliancePolicy", class: "Windows10CompliancePolicy",
	platformType: "windows10AndLater", os: "Windows", minOS: "10.0.22631",
	settings: []complianceSetting{
		{"bitLockerEnabled", "BitLockerEnabled", complianceEncrypted},
		{"secureBootEnabled", "SecureBootEnabled", func(d *Device, _ *compliancePolicy) (bool, string) {
			return d.Health.SecureBootEnabled, complianceValue(d.Health.SecureBootEnabled)
		}},
		{"activeFirewallRequired", "ActiveFirewallRequired", func(d *Device, _ *compliancePolicy) (bool, string) {
			return d.Health.FirewallOn, complianceValue(d.Health.FirewallOn)
		}},
		{"signatureOutOfDate", "SignatureOutOfDate", func(d *Device, _ *compliancePolicy) (bool, string) {
			return d.Health.SignaturesUpToDate, complianceValue(!d.Health.SignaturesUpToDate)
		}},
		{"osMinimumVersion", "OsMinimumVersion", complianceMinOS},
	},
}, {
	key: "ios", displayName: "iOS compliance baseline",
	description: "No jailbreak, a passcode, iOS 17 or later",
	odataType:   "#microsoft.graph.iosCompliancePolicy", class: "IosCompliancePolicy",
	platformType: "iOS", os: "iOS", minOS: "17.0",
	settings: []complianceSetting{
		{"securityBlockJailbrokenDevices", "SecurityBlockJailbrokenDevices", func(d *Device, _ *compliancePolicy) (bool, string) {
			return d.JailBroken != "True", d.JailBroken
		}},
		{"passcodeRequired", "PasscodeRequired", func(d *Device, _ *compliancePolicy) (bool, string) {
			return d.Health.PasscodeSet, complianceValue(d.Health.PasscodeSet)
		}},
		{"osMinimumVersion", "OsMinimumVersion", complianceMinOS},
	},
}, {
	key: "macos", displayName: "macOS compliance baseline",
	description: "FileVault, macOS 14 or later",
	odataType:   "#microsoft.graph.macOSCompliancePolicy", class: "MacOSCompliancePolicy",
	platformType: "macOS", os: "macOS", minOS: "14.0",
	settings: []complianceSetting{
		{"storageRequireEncryption", "StorageRequireEncryption", complianceEncrypted},
		{"osMinimumVersion", "OsMinimumVersion", complianceMinOS},
	},
}}

func (t *tenant) compliancePolicyID(p *compliancePolicy) string {
	return guid(t.name, "compliancePolicy", p.key)
}

// policyFor returns the compliance policy that applies to d, or nil.
func policyFor(d *Device) *compliancePolicy {
	for i := range compliancePolicies {
		if strings.EqualFold(compliancePolicies[i].os, d.OperatingSystem) {
			return &compliancePolicies[i]
		}
	}
	return nil
}

// evaluateCompliance re-judges d against its policy.
func evaluateCompliance(d *Device) {
	d.ComplianceState = "compliant"
	p := policyFor(d)
	if p == nil {
		return
	}
	for _, s := range p.settings {
		if good, _ := s.check(d, p); !good {
			d.ComplianceState = "noncompliant"
			return
		}
	}
}

// compareOSVersions compares dotted numeric versions: missing parts are 0.
func compareOSVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Seeded device problems.
const (
	issueBitLockerOff  = "bitlocker_off"
	issueFileVaultOff  = "filevault_off"
	issueSignaturesOld = "signatures_out_of_date"
	issueFirewallOff   = "firewall_off"
	issueOldWindows    = "old_windows"
	issueJailbroken    = "jailbroken"
	issueNoPasscode    = "no_passcode"
)

// deviceIssues are the seeded non-compliant devices: tenant, device name,
// problems.
var deviceIssues = map[string]map[string][]string{
	"contoso": {
		"CONTOSO-LT013":  {issueBitLockerOff},
		"CONTOSO-LT010":  {issueSignaturesOld},
		"Diego's iPhone": {issueJailbroken},
		"CONTOSO-LT007":  {issueOldWindows},
		"CONTOSO-LT014":  {issueFirewallOff},
		"CONTOSO-MB021":  {issueFileVaultOff},
		"CONTOSO-LT015":  {issueSignaturesOld},
	},
	"fabrikam": {
		"FABRIKAM-LT010":  {issueBitLockerOff},
		"FABRIKAM-LT007":  {issueSignaturesOld},
		"Chloe's iPhone":  {issueJailbroken},
		"FABRIKAM-LT014":  {issueOldWindows},
		"FABRIKAM-LT021":  {issueSignaturesOld, issueFirewallOff},
		"Victor's iPhone": {issueNoPasscode},
		"FABRIKAM-LT001":  {issueFirewallOff},
	},
}

// How fully Graph reports a device's compliance policy states.
const (
	detailFull           = ""                  // settingStates listed, with settingName
	detailNoSettings     = "no_setting_states" // the policy state with empty settingStates
	detailNoPolicyStates = "no_policy_states"  // an empty deviceCompliancePolicyStates
)

// sparseCompliance are the devices whose policy states Graph reports
// sparsely: tenant, device name, detail.
var sparseCompliance = map[string]map[string]string{
	"contoso":  {"CONTOSO-LT015": detailNoSettings},
	"fabrikam": {"FABRIKAM-LT001": detailNoPolicyStates},
}

// complianceDetail returns how fully Graph reports d's policy states.
func (t *tenant) complianceDetail(d *Device) string { return sparseCompliance[t.name][d.DeviceName] }

// companyPhones are company iPhones enrolled through Automated Device
// Enrollment: tenant, device name, owner (the part before @).
var companyPhones = map[string]map[string]string{
	"contoso": {"CONTOSO-IPH025": "nestor.wilke"},
}

// loaners are the extra company laptops enrolled by a support technician.
var loaners = map[string]struct {
	owner string
	count int
}{"contoso": {"allan.deyoung", 28}}

// seedDevices completes the devices seed.go created (name, OS, owner) into
// full managed devices, adds the loaners, applies deviceIssues and evaluates
// compliance.
func seedDevices(t *tenant, now time.Time) {
	if l, ok := loaners[t.name]; ok {
		if u := t.lookup(l.owner + "@" + t.domain); u != nil {
			for i := 1; i <= l.count; i++ {
				name := fmt.Sprintf("%s-LOAN%03d", strings.ToUpper(t.name), i)
				t.devices = append(t.devices, Device{
					ID:                     guid(t.name, "device", name),
					DeviceName:             name,
					OperatingSystem:        "Windows",
					OSVersion:              "10.0.22631.4460",
					ManagedDeviceOwnerType: "company",
					UserPrincipalName:      u.UserPrincipalName,
					LastSyncDateTime:       now.Add(-time.Duration(30+i) * time.Minute),
				})
			}
		}
	}
	for _, name := range sortedKeys(companyPhones[t.name]) {
		if u := t.lookup(companyPhones[t.name][name] + "@" + t.domain); u != nil {
			t.devices = append(t.devices, Device{
				ID:                     guid(t.name, "device", name),
				DeviceName:             name,
				OperatingSystem:        "iOS",
				OSVersion:              "18.1",
				ManagedDeviceOwnerType: "company",
				UserPrincipalName:      u.UserPrincipalName,
				LastSyncDateTime:       now.Add(-95 * time.Minute),
			})
		}
	}
	day := 24 * time.Hour
	for i := range t.devices {
		d := &t.devices[i]
		if u := t.lookup(d.UserPrincipalName); u != nil {
			d.UserID, d.UserDisplayName, d.EmailAddress = u.ID, u.DisplayName, u.Mail
		}
		d.EnrolledDateTime = now.Add(-time.Duration(60+i*13%400) * day)
		d.AzureADDeviceID = guid(t.name, "entraDevice", d.DeviceName)
		d.SerialNumber = strings.ToUpper(strings.ReplaceAll(guid(t.name, "serial", d.DeviceName), "-", "")[:12])
		d.ManagementAgent, d.ManagementState = "mdm", "managed"
		d.DeviceRegistrationState, d.AzureADRegistered = "registered", true
		d.JailBroken = "Unknown"
		d.IsEncrypted = true
		d.Health = DeviceHealth{SecureBootEnabled: true, FirewallOn: true, SignaturesUpToDate: true, PasscodeSet: true}
		d.DeviceActionResults = []DeviceAction{}
		switch d.OperatingSystem {
		case "Windows":
			d.Manufacturer, d.Model = "Microsoft Corporation", "Surface Laptop 5"
			if i%2 == 1 {
				d.Manufacturer, d.Model = "Dell Inc.", "Latitude 7440"
			}
			d.DeviceEnrollmentType = "windowsAzureADJoin"
		case "macOS":
			d.Manufacturer, d.Model, d.DeviceEnrollmentType = "Apple", "MacBook Pro", "appleBulkWithUser"
		case "iOS":
			d.Manufacturer, d.Model, d.DeviceEnrollmentType = "Apple", "iPhone 15", "appleUserEnrollment"
			d.JailBroken, d.EASActivated = "False", true
			if d.ManagedDeviceOwnerType == "company" {
				d.DeviceEnrollmentType = "appleBulkWithUser" // Automated Device Enrollment
			}
		}
		for _, issue := range deviceIssues[t.name][d.DeviceName] {
			switch issue {
			case issueBitLockerOff, issueFileVaultOff:
				d.IsEncrypted = false
			case issueSignaturesOld:
				d.Health.SignaturesUpToDate = false
			case issueFirewallOff:
				d.Health.FirewallOn = false
			case issueOldWindows:
				d.OSVersion = "10.0.19045.5011"
			case issueJailbroken:
				d.JailBroken = "True"
			case issueNoPasscode:
				d.Health.PasscodeSet = false
			}
		}
		evaluateCompliance(d)
	}
}

// device finds a managed device by id, case-insensitively.
func (t *tenant) device(id string) *Device {
	for i := range t.devices {
		if strings.EqualFold(t.devices[i].ID, id) {
			return &t.devices[i]
		}
	}
	return nil
}

// intuneError is an error as Intune answers through Graph: the message is a
// JSON document of its own.
func intuneError(status int, code string, c *call, phrase string) reply {
	inner, _ := json.Marshal(map[string]any{
		"_version": 3,
		"Message": fmt.Sprintf("An error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: %s - Url: https://fef.msua06.manage.microsoft.com/DeviceFE/StatelessDeviceFEService/%s?api-version=2024-07-29",
			newUUID(), strings.Join(c.segs, "/")),
		"CustomApiErrorPhrase": phrase,
		"RetryAfter":           nil,
		"ErrorSourceService":   "",
		"HttpHeaders":          "{}",
	})
	return fail(status, code, string(inner))
}

// findDevice resolves the {device} parameter, or answers 404. Check-ins due
// by now are applied first.
func (s *Server) findDevice(c *call) (*Device, reply) {
	s.checkIns(c.t)
	d := c.t.device(c.params["device"])
	if d == nil {
		return nil, intuneError(http.StatusNotFound, "ResourceNotFound", c, "")
	}
	return d, reply{}
}

// deviceProp is one property of microsoft.graph.managedDevice the simulator
// serves.
type deviceProp struct {
	name  string
	value func(d *Device) any
}

var deviceProps = []deviceProp{
	{"id", func(d *Device) any { return d.ID }},
	{"userId", func(d *Device) any { return null(d.UserID) }},
	{"deviceName", func(d *Device) any { return d.DeviceName }},
	{"managedDeviceOwnerType", func(d *Device) any { return d.ManagedDeviceOwnerType }},
	{"deviceActionResults", func(d *Device) any {
		out := []any{}
		for _, a := range d.DeviceActionResults {
			out = append(out, map[string]any{
				"actionName":          a.ActionName,
				"actionState":         a.ActionState,
				"startDateTime":       graphTime(a.StartDateTime),
				"lastUpdatedDateTime": graphTime(a.LastUpdatedDateTime),
			})
		}
		return out
	}},
	{"managementState", func(d *Device) any { return d.ManagementState }},
	{"enrolledDateTime", func(d *Device) any { return graphTime(d.EnrolledDateTime) }},
	{"lastSyncDateTime", func(d *Device) any { return graphTime(d.LastSyncDateTime) }},
	{"operatingSystem", func(d *Device) any { return d.OperatingSystem }},
	{"complianceState", func(d *Device) any { return d.ComplianceState }},
	{"jailBroken", func(d *Device) any { return d.JailBroken }},
	{"managementAgent", func(d *Device) any { return d.ManagementAgent }},
	{"osVersion", func(d *Device) any { return d.OSVersion }},
	{"easActivated", func(d *Device) any { return d.EASActivated }},
	{"easDeviceId", func(d *Device) any { return nil }},
	{"easActivationDateTime", func(d *Device) any { return "0001-01-01T00:00:00Z" }},
	{"azureADRegistered", func(d *Device) any { return d.AzureADRegistered }},
	{"deviceEnrollmentType", func(d *Device) any { return d.DeviceEnrollmentType }},
	{"emailAddress", func(d *Device) any { return null(d.EmailAddress) }},
	{"azureADDeviceId", func(d *Device) any { return d.AzureADDeviceID }},
	{"deviceRegistrationState", func(d *Device) any { return d.DeviceRegistrationState }},
	{"deviceCategoryDisplayName", func(d *Device) any { return "Unknown" }},
	{"isSupervised", func(d *Device) any { return false }},
	{"isEncrypted", func(d *Device) any { return d.IsEncrypted }},
	{"userPrincipalName", func(d *Device) any { return null(d.UserPrincipalName) }},
	{"model", func(d *Device) any { return d.Model }},
	{"manufacturer", func(d *Device) any { return d.Manufacturer }},
	{"serialNumber", func(d *Device) any { return d.SerialNumber }},
	{"userDisplayName", func(d *Device) any { return null(d.UserDisplayName) }},
	{"managedDeviceName", func(d *Device) any {
		return strings.SplitN(d.UserPrincipalName, "@", 2)[0] + "_" + d.OperatingSystem + "_" + d.EnrolledDateTime.Format("1/2/2006_3:04 PM")
	}},
}

// parseDeviceSelect returns the canonical names of $select (nil when absent)
// or a 400 for a property the simulator does not know.
func parseDeviceSelect(q url.Values) ([]string, reply) {
	return selectOf(q, "microsoft.graph.managedDevice", func(name string) (string, bool) {
		i := slices.IndexFunc(deviceProps, func(p deviceProp) bool { return strings.EqualFold(p.name, name) })
		if i < 0 {
			return "", false
		}
		return deviceProps[i].name, true
	})
}

// deviceJSON renders d with the selected properties (all when sel is nil)
// and id.
func deviceJSON(d *Device, sel []string) map[string]any {
	m := map[string]any{"id": d.ID}
	for _, p := range deviceProps {
		if sel == nil || slices.Contains(sel, p.name) {
			m[p.name] = p.value(d)
		}
	}
	return m
}

// devicesOfJSON renders the devices keep selects, as collection items.
func devicesOfJSON(t *tenant, sel []string, keep func(d *Device) bool) []any {
	items := []any{}
	for i := range t.devices {
		if d := &t.devices[i]; keep(d) {
			m := deviceJSON(d, sel)
			m["@odata.type"] = "#microsoft.graph.managedDevice"
			items = append(items, m)
		}
	}
	return items
}

// listUserDevices serves GET /users/{user}/managedDevices.
func (s *Server) listUserDevices(c *call) reply {
	s.checkIns(c.t)
	if c.query.Has("$filter") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	sel, rep := parseDeviceSelect(c.query)
	if rep.code != "" {
		return rep
	}
	items := devicesOfJSON(c.t, sel, func(d *Device) bool { return strings.EqualFold(d.UserPrincipalName, c.user.UserPrincipalName) })
	return collectionOf(c, items, fmt.Sprintf("users('%s')/managedDevices%s", c.user.ID, selectContext(sel)), 100)
}

// deviceUPNFilter matches the one $filter supported on managedDevices.
var deviceUPNFilter = regexp.MustCompile(`^\s*userPrincipalName\s+eq\s+'((?:[^']|'')*)'\s*$`)

// listDevices serves GET /deviceManagement/managedDevices.
func (s *Server) listDevices(c *call) reply {
	s.checkIns(c.t)
	keep := func(*Device) bool { return true }
	if raw := c.query.Get("$filter"); raw != "" {
		m := deviceUPNFilter.FindStringSubmatch(raw)
		if m == nil {
			return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
		}
		upn := strings.ReplaceAll(m[1], "''", "'")
		keep = func(d *Device) bool { return strings.EqualFold(d.UserPrincipalName, upn) }
	}
	sel, rep := parseDeviceSelect(c.query)
	if rep.code != "" {
		return rep
	}
	return collectionOf(c, devicesOfJSON(c.t, sel, keep), "deviceManagement/managedDevices"+selectContext(sel), 1000)
}

// getDevice serves GET /deviceManagement/managedDevices/{id}.
func (s *Server) getDevice(c *call) reply {
	d, rep := s.findDevice(c)
	if rep.code != "" {
		return rep
	}
	sel, rep := parseDeviceSelect(c.query)
	if rep.code != "" {
		return rep
	}
	m := deviceJSON(d, sel)
	m["@odata.context"] = metadata + "#deviceManagement/managedDevices" + selectContext(sel) + "/$entity"
	if sel == nil {
		m["@odata.type"] = "#microsoft.graph.managedDevice"
	}
	return ok(m)
}

// policyStateJSON renders d's state for its compliance policy p.
func policyStateJSON(t *tenant, d *Device, p *compliancePolicy) map[string]any {
	id := t.compliancePolicyID(p)
	state := "compliant"
	settings := []any{}
	for _, st := range p.settings {
		good, current := st.check(d, p)
		s := "compliant"
		if !good {
			s, state = "nonCompliant", "nonCompliant"
		}
		settings = append(settings, map[string]any{
			"setting":             p.class + "." + st.property,
			"settingName":         st.name,
			"instanceDisplayName": nil,
			"state":               s,
			"errorCode":           0,
			"errorDescription":    nil,
			"userId":              null(d.UserID),
			"userName":            null(d.UserDisplayName),
			"userEmail":           null(d.EmailAddress),
			"userPrincipalName":   null(d.UserPrincipalName),
			"sources":             []any{map[string]any{"id": id, "displayName": p.displayName, "sourceType": "deviceConfiguration"}},
			"currentValue":        current,
		})
	}
	if t.complianceDetail(d) == detailNoSettings {
		settings = []any{}
	}
	return map[string]any{
		"@odata.type":   "#microsoft.graph.deviceCompliancePolicyState",
		"id":            id,
		"displayName":   p.displayName,
		"version":       3,
		"platformType":  p.platformType,
		"state":         state,
		"settingCount":  len(p.settings),
		"settingStates": settings,
	}
}

// listDevicePolicyStates serves GET .../managedDevices/{id}/deviceCompliancePolicyStates.
func (s *Server) listDevicePolicyStates(c *call) reply {
	d, rep := s.findDevice(c)
	if rep.code != "" {
		return rep
	}
	if c.query.Has("$filter") || c.query.Has("$select") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	items := []any{}
	if p := policyFor(d); p != nil && c.t.complianceDetail(d) != detailNoPolicyStates {
		items = append(items, policyStateJSON(c.t, d, p))
	}
	return collectionOf(c, items, fmt.Sprintf("deviceManagement/managedDevices('%s')/deviceCompliancePolicyStates", d.ID), 100)
}

// getDevicePolicyState serves GET .../deviceCompliancePolicyStates/{id}.
func (s *Server) getDevicePolicyState(c *call) reply {
	d, rep := s.findDevice(c)
	if rep.code != "" {
		return rep
	}
	p := policyFor(d)
	if p == nil || c.t.complianceDetail(d) == detailNoPolicyStates || !strings.EqualFold(c.t.compliancePolicyID(p), c.params["state"]) {
		return intuneError(http.StatusNotFound, "ResourceNotFound", c, "")
	}
	m := policyStateJSON(c.t, d, p)
	m["@odata.context"] = metadata + fmt.Sprintf("#deviceManagement/managedDevices('%s')/deviceCompliancePolicyStates/$entity", d.ID)
	return ok(m)
}

// deviceActionNames maps an action segment to its deviceActionResult name.
var deviceActionNames = map[string]string{"syncDevice": "syncDevice", "rebootNow": "rebootNow", "retire": "retire", "wipe": "wipe",
	"remoteLock": "remoteLock", "resetPasscode": "resetPasscode", "windowsDefenderUpdateSignatures": "windowsDefenderUpdateSignatures"}

// checkInActions are the actions the device carries out at its next
// check-in, which Intune's push notification brings about.
var checkInActions = []string{"syncDevice", "remoteLock", "resetPasscode", "windowsDefenderUpdateSignatures"}

// actionSupported reports whether Intune can send action to d: remote lock
// to iOS, macOS and Android; a passcode reset to iOS outside User Enrollment
// and to Android; a Defender signature update to Windows.
func actionSupported(action string, d *Device) bool {
	switch action {
	case "remoteLock":
		return d.OperatingSystem == "iOS" || d.OperatingSystem == "macOS" || d.OperatingSystem == "Android"
	case "resetPasscode":
		return (d.OperatingSystem == "iOS" && !strings.HasPrefix(d.DeviceEnrollmentType, "appleUserEnrollment")) || d.OperatingSystem == "Android"
	case "windowsDefenderUpdateSignatures":
		return d.OperatingSystem == "Windows"
	}
	return true
}

// deviceAction serves POST .../managedDevices/{id}/{syncDevice,rebootNow,retire,wipe,remoteLock,resetPasscode,windowsDefenderUpdateSignatures}.
func (s *Server) deviceAction(c *call) reply {
	action := deviceActionNames[c.segs[len(c.segs)-1]]
	d, rep := s.findDevice(c)
	if rep.code != "" {
		return rep
	}
	if rep := checkActionBody(action, c.body); rep.code != "" {
		return rep
	}
	switch {
	case d.ManagementState == "wipePending":
		return intuneError(http.StatusBadRequest, "BadRequest", c, "A wipe is pending on this device; no other action can be sent to it.")
	case d.ManagementState == "retirePending" && action != "wipe":
		return intuneError(http.StatusBadRequest, "BadRequest", c, "A retire is pending on this device; only a wipe can be sent to it.")
	case !actionSupported(action, d):
		// Intune says nothing more than BadRequest (microsoft-graph-docs#10007).
		return intuneError(http.StatusBadRequest, "BadRequest", c, "")
	}
	now := s.now().UTC().Truncate(time.Second)
	result := DeviceAction{ActionName: action, ActionState: "pending", StartDateTime: now, LastUpdatedDateTime: now}
	switch action {
	case "retire":
		d.ManagementState = "retirePending"
	case "wipe":
		d.ManagementState = "wipePending"
	}
	d.DeviceActionResults = slices.DeleteFunc(d.DeviceActionResults, func(a DeviceAction) bool { return a.ActionName == action })
	d.DeviceActionResults = append(d.DeviceActionResults, result)
	return reply{status: http.StatusNoContent}
}

// checkIns applies the check-ins due by now in t: a device with a pending
// check-in action checks in CheckInDelay after the earliest one was sent.
// Called with s.mu held.
func (s *Server) checkIns(t *tenant) {
	now := s.now().UTC().Truncate(time.Second)
	for i := range t.devices {
		d := &t.devices[i]
		var due time.Time
		for _, a := range d.DeviceActionResults {
			if a.ActionState == "pending" && slices.Contains(checkInActions, a.ActionName) {
				if at := a.StartDateTime.Add(s.checkInDelay); due.IsZero() || at.Before(due) {
					due = at
				}
			}
		}
		if !due.IsZero() && !due.After(now) {
			checkIn(d, due)
		}
	}
}

// checkIn makes d check in at time at: the pending check-in actions are
// carried out and compliance is evaluated again.
func checkIn(d *Device, at time.Time) {
	d.LastSyncDateTime = at
	for i := range d.DeviceActionResults {
		a := &d.DeviceActionResults[i]
		if a.ActionState != "pending" || !slices.Contains(checkInActions, a.ActionName) {
			continue
		}
		switch a.ActionName {
		case "syncDevice", "windowsDefenderUpdateSignatures":
			d.Health.SignaturesUpToDate = true
		case "resetPasscode":
			d.Health.PasscodeSet = false // iOS: the passcode is removed until the user sets one
		}
		a.ActionState, a.LastUpdatedDateTime = "done", at
	}
	evaluateCompliance(d)
}

// CheckIn makes a managed device (by id) of a tenant check in now, whatever
// the delay: what POST /_sim/checkin does.
func (s *Server) CheckIn(tenant, deviceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	d := t.device(deviceID)
	if d == nil {
		return fmt.Errorf("tenant %s has no managed device %q", tenant, deviceID)
	}
	checkIn(d, s.now().UTC().Truncate(time.Second))
	return nil
}

// serveCheckIn serves POST /_sim/checkin?tenant=T&device=ID.
func (s *Server) serveCheckIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
		return
	}
	q := r.URL.Query()
	if err := s.CheckIn(q.Get("tenant"), q.Get("device")); err != nil {
		writeJSON(w, http.StatusNotFound, simError("not_found", err.Error()))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkActionBody validates an action's body: only wipe takes parameters.
func checkActionBody(action string, body []byte) reply {
	if len(strings.TrimSpace(string(body))) == 0 {
		return reply{}
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(body, &props); err != nil || props == nil {
		return errPayload
	}
	for _, k := range sortedKeys(props) {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		var b bool
		var str string
		switch {
		case action != "wipe":
			return badRequest(fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", k, action))
		case k == "keepEnrollmentData" || k == "keepUserData" || k == "persistEsimDataPlan":
			if rep := decodeBool(props[k], &b); rep.code != "" {
				return rep
			}
		case k == "macOsUnlockCode":
			if rep := decodeString(props[k], &str); rep.code != "" {
				return rep
			}
		default:
			return badRequest(fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation 'wipe'.", k))
		}
	}
	return reply{}
}

// compliancePolicyJSON renders a compliance policy with its v1.0 properties.
func compliancePolicyJSON(t *tenant, p *compliancePolicy) map[string]any {
	created := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	m := map[string]any{
		"@odata.type":          p.odataType,
		"id":                   t.compliancePolicyID(p),
		"createdDateTime":      graphTime(created),
		"lastModifiedDateTime": graphTime(created.Add(200 * 24 * time.Hour)),
		"displayName":          p.displayName,
		"description":          p.description,
		"version":              3,
		"osMinimumVersion":     p.minOS,
		"osMaximumVersion":     nil,
	}
	for _, s := range p.settings {
		switch s.property {
		case "bitLockerEnabled", "secureBootEnabled", "storageRequireEncryption", "securityBlockJailbrokenDevices", "passcodeRequired":
			m[s.property] = true
		}
	}
	return m
}

func findCompliancePolicy(t *tenant, id string) *compliancePolicy {
	for i := range compliancePolicies {
		if strings.EqualFold(t.compliancePolicyID(&compliancePolicies[i]), id) {
			return &compliancePolicies[i]
		}
	}
	return nil
}

// The compliance policies themselves (list, get, create, update, delete,
// assign) are served from the tenant's baseline state (baseline.go), seeded
// from compliancePolicies.

// settingSummaryID is the id of the per-setting report entry of setting s of
// policy p.
func (t *tenant) settingSummaryID(p *compliancePolicy, s *complianceSetting) string {
	return guid(t.name, "settingSummary", p.key, s.property)
}

// listSettingSummaries serves GET
// /deviceManagement/deviceCompliancePolicySettingStateSummaries: one entry
// per setting of each compliance policy, with the tenant's device counts.
func (s *Server) listSettingSummaries(c *call) reply {
	s.checkIns(c.t)
	if c.query.Has("$filter") || c.query.Has("$select") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	items := []any{}
	for i := range compliancePolicies {
		p := &compliancePolicies[i]
		for j := range p.settings {
			st := &p.settings[j]
			good, bad := 0, 0
			for k := range c.t.devices {
				d := &c.t.devices[k]
				if policyFor(d) != p {
					continue
				}
				if ok, _ := st.check(d, p); ok {
					good++
				} else {
					bad++
				}
			}
			items = append(items, map[string]any{
				"@odata.type":              "#microsoft.graph.deviceCompliancePolicySettingStateSummary",
				"id":                       c.t.settingSummaryID(p, st),
				"setting":                  p.class + "." + st.property,
				"settingName":              st.name,
				"platformType":             p.platformType,
				"unknownDeviceCount":       0,
				"notApplicableDeviceCount": 0,
				"compliantDeviceCount":     good,
				"remediatedDeviceCount":    0,
				"nonCompliantDeviceCount":  bad,
				"errorDeviceCount":         0,
				"conflictDeviceCount":      0,
			})
		}
	}
	return collectionOf(c, items, "deviceManagement/deviceCompliancePolicySettingStateSummaries", 100)
}

// deviceIDFilter matches the one $filter supported on the per-device
// reports.
var deviceIDFilter = regexp.MustCompile(`^\s*deviceId\s+eq\s+'([0-9a-fA-F-]{36})'\s*$`)

// listSettingStates serves GET .../deviceCompliancePolicySettingStateSummaries/{id}/deviceComplianceSettingStates:
// each device's state on one setting. settingName is null, as reported of
// Graph v1.0 (microsoft-graph-docs#7862).
func (s *Server) listSettingStates(c *call) reply {
	s.checkIns(c.t)
	var p *compliancePolicy
	var st *complianceSetting
	for i := range compliancePolicies {
		for j := range compliancePolicies[i].settings {
			if strings.EqualFold(c.t.settingSummaryID(&compliancePolicies[i], &compliancePolicies[i].settings[j]), c.params["summary"]) {
				p, st = &compliancePolicies[i], &compliancePolicies[i].settings[j]
			}
		}
	}
	if p == nil {
		return intuneError(http.StatusNotFound, "ResourceNotFound", c, "")
	}
	if c.query.Has("$select") {
		return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	keep := func(*Device) bool { return true }
	if raw := c.query.Get("$filter"); raw != "" {
		m := deviceIDFilter.FindStringSubmatch(raw)
		if m == nil {
			return fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
		}
		keep = func(d *Device) bool { return strings.EqualFold(d.ID, m[1]) }
	}
	items := []any{}
	for i := range c.t.devices {
		d := &c.t.devices[i]
		if policyFor(d) != p || !keep(d) {
			continue
		}
		state := "compliant"
		if ok, _ := st.check(d, p); !ok {
			state = "nonCompliant"
		}
		items = append(items, map[string]any{
			"@odata.type":       "#microsoft.graph.deviceComplianceSettingState",
			"id":                guid(c.t.name, "settingState", p.key, st.property, d.ID),
			"setting":           p.class + "." + st.property,
			"settingName":       nil,
			"deviceId":          d.ID,
			"deviceName":        d.DeviceName,
			"userId":            null(d.UserID),
			"userEmail":         null(d.EmailAddress),
			"userName":          null(d.UserDisplayName),
			"userPrincipalName": null(d.UserPrincipalName),
			"deviceModel":       d.Model,
			"state":             state,
			"complianceGracePeriodExpirationDateTime": graphTime(d.EnrolledDateTime.Add(24 * time.Hour)),
		})
	}
	return collectionOf(c, items, fmt.Sprintf("deviceManagement/deviceCompliancePolicySettingStateSummaries('%s')/deviceComplianceSettingStates", c.t.settingSummaryID(p, st)), 100)
}
