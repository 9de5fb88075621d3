package graph

// This file: the Intune device tools. They read and act on managed devices
// under /deviceManagement/managedDevices (and /users/{id}/managedDevices),
// always by managed device id, which must be a GUID.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	kiotahttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/devicemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Action names of the device tools.
const (
	ActionUserDevices      = "user.devices"
	ActionDeviceCompliance = "device.compliance"
	ActionDeviceSync       = "device.sync"
	ActionDeviceReboot     = "device.reboot"
	ActionDeviceRetire     = "device.retire"
	ActionDeviceWipe       = "device.wipe"
	ActionDeviceLock       = "device.lock"
	ActionDeviceResetCode  = "device.reset_passcode"
	ActionDeviceSignatures = "device.update_signatures"
)

// Bounds of the device tools.
const (
	userDevicesPage     = 25 // devices per page of a user's managed devices
	userDevicesPages    = 8  // pages read at most
	policyStatesPages   = 4  // pages of a device's compliance policy states read at most
	failingSettingsMax  = 20 // failing settings shown per policy
	deviceSettingValMax = 64 // characters of a setting's current value shown
	settingReportPages  = 2  // pages of the per-setting compliance report read at most
	settingReportReads  = 12 // failing settings looked up per device at most
	// checkInWait is when to look at a device again after asking it to
	// check in: an online device usually does within minutes.
	checkInWait = 15 * time.Minute
)

// deviceSchema is the argument schema of tools that act on one device.
const deviceSchema = `{"type":"object","properties":{"device":{"type":"string","description":"The managed device id (GUID) from user.devices."}},"required":["device"],"additionalProperties":false}`

// deviceTools are the device tools: Intune's (this file) and the device
// secrets Entra ID keeps (keys.go).
var deviceTools = slices.Concat(managedDeviceTools, keyTools)

var managedDeviceTools = []tool{
	{spec: tierzero.ToolSpec{
		Action:      ActionUserDevices,
		Description: "List a user's Intune managed devices: id, name, OS and version, compliance, last check-in, company or personal, model, encryption, pending retire or wipe.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(userSchema),
	}, run: userDevices},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceCompliance,
		Description: "Explain why a managed device is or is not compliant: each policy and, for failing ones, the failing settings in plain words (e.g. BitLocker, minimum OS, firewall, antivirus, jailbroken) with the current value.",
		Risk:        tierzero.RiskRead,
		Schema:      json.RawMessage(deviceSchema),
	}, run: deviceCompliance},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceSync,
		Description: "Ask a managed device to check in with Intune so policies and compliance are evaluated again (fixes e.g. stale antivirus signatures, not missing encryption). A request, not an instant fix: the device acts when it checks in, usually within minutes if it is online; the output says when to look again.",
		Write:       true,
		Risk:        tierzero.RiskLow,
		Schema:      json.RawMessage(deviceSchema),
	}, run: syncDevice, applied: deviceActionApplied(syncAction)},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceReboot,
		Description: "Restart a managed device remotely, without warning its user; unsaved work is lost.",
		Write:       true,
		Risk:        tierzero.RiskMedium,
		Schema:      json.RawMessage(deviceSchema),
	}, run: rebootDevice, applied: deviceActionApplied(rebootAction)},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceRetire,
		Description: "Retire a managed device: remove company data, apps and profiles and unmanage it; personal data stays. For a lost, replaced or departing personal device.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(deviceSchema),
	}, run: retireDevice, applied: deviceActionApplied(retireAction)},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceWipe,
		Description: "Factory-reset a managed device: erase all data, company and personal. Cannot be undone. Only for a lost or stolen device or one being reissued.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(deviceSchema),
	}, run: wipeDevice, applied: deviceActionApplied(wipeAction)},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceLock,
		Description: "Lock a lost or misplaced managed phone, tablet or Mac remotely; its user unlocks it with their passcode. Not for Windows PCs (Intune cannot lock them).",
		Write:       true,
		Risk:        tierzero.RiskMedium,
		Schema:      json.RawMessage(deviceSchema),
	}, run: lockDevice, applied: deviceActionApplied(lockAction)},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceResetCode,
		Description: "Remove the forgotten passcode of a company iPhone or iPad (or reset an Android work profile passcode) so its user can get in and set a new one. Not for Windows, Macs or personal iPhones enrolled with Apple User Enrollment.",
		Write:       true,
		Risk:        tierzero.RiskHigh,
		Schema:      json.RawMessage(deviceSchema),
	}, run: resetDevicePasscode, applied: deviceActionApplied(resetPasscodeAction)},
	{spec: tierzero.ToolSpec{
		Action:      ActionDeviceSignatures,
		Description: "Make a Windows PC update its Microsoft Defender Antivirus signatures (security intelligence) now, e.g. when compliance fails on out-of-date signatures. Windows only.",
		Write:       true,
		Risk:        tierzero.RiskLow,
		Schema:      json.RawMessage(deviceSchema),
	}, run: updateDeviceSignatures, applied: deviceActionApplied(updateSignaturesAction)},
}

// deviceIDPattern is a managed device id: a GUID.
var deviceIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func checkDeviceID(id string) error {
	if !deviceIDPattern.MatchString(id) {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: device must be an Intune managed device id (a GUID)")
	}
	return nil
}

// deviceArgs are the arguments of tools that act on one device.
type deviceArgs struct {
	Device string `json:"device"`
}

func decodeDeviceArgs(raw json.RawMessage) (deviceArgs, error) {
	a, err := decodeArgs[deviceArgs](raw)
	if err != nil {
		return a, err
	}
	a.Device = strings.TrimSpace(a.Device)
	return a, checkDeviceID(a.Device)
}

// DeviceRef returns the managed device a tool call acts on (its "device"
// argument), so the policy engine can look the device up itself; "" when the
// tool has none.
func DeviceRef(call tierzero.ToolCall) (string, error) {
	var a struct {
		Device *string `json:"device"`
	}
	if err := json.Unmarshal(call.Args, &a); err != nil {
		return "", tierzero.Errorf(tierzero.EInvalid, "invalid arguments: %v", err)
	}
	if a.Device == nil {
		return "", nil
	}
	ref := strings.TrimSpace(*a.Device)
	return ref, checkDeviceID(ref)
}

// deviceManagement returns the /deviceManagement request builder for a
// tenant.
func (c *Client) deviceManagement(tenant tierzero.TenantID) (*devicemanagement.DeviceManagementRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return devicemanagement.NewDeviceManagementRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// deviceError turns an SDK error about device id into a domain error. Intune
// answers errors with a message that is itself a JSON document (activity id,
// internal URL); only its CustomApiErrorPhrase, when set, is shown.
func deviceError(op, id string, err error) error {
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		return graphError(op, err)
	}
	if oe.ResponseStatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.ENotFound, "no Intune managed device %s in this tenant", id), err)
	}
	code, msg := "", ""
	if me := oe.GetErrorEscaped(); me != nil {
		code, msg = str(me.GetCode()), str(me.GetMessage())
	}
	var intune struct {
		Version int    `json:"_version"`
		Phrase  string `json:"CustomApiErrorPhrase"`
	}
	if json.Unmarshal([]byte(msg), &intune) == nil && intune.Version != 0 {
		msg = intune.Phrase
	}
	text := fmt.Sprintf("Graph refused %s (%d %s)", op, oe.ResponseStatusCode, code)
	if msg != "" {
		text += ": " + msg
	}
	return fmt.Errorf("%s: %w: %w", op, &tierzero.Error{Code: tierzero.ErrorCode(graphError(op, err)), Message: text}, err)
}

// getManagedDevice reads one managed device with the given properties.
func (c *Client) getManagedDevice(ctx context.Context, tenant tierzero.TenantID, id string, fields ...string) (models.ManagedDeviceable, error) {
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, err
	}
	d, err := dm.ManagedDevices().ByManagedDeviceId(id).Get(ctx, &devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilderGetQueryParameters{Select: fields},
	})
	if err != nil {
		return nil, deviceError("get device", id, err)
	}
	return d, nil
}

// DeviceOwner returns the userPrincipalName of a managed device's primary
// user, for the policy engine; "" when the device has none (a shared or
// userless device).
func (c *Client) DeviceOwner(ctx context.Context, tenant tierzero.TenantID, deviceID string) (string, error) {
	deviceID = strings.TrimSpace(deviceID)
	if err := checkDeviceID(deviceID); err != nil {
		return "", err
	}
	d, err := c.getManagedDevice(ctx, tenant, deviceID, "id", "userPrincipalName")
	if err != nil {
		return "", err
	}
	return str(d.GetUserPrincipalName()), nil
}

func deviceTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func deviceEnum[E fmt.Stringer](e *E) string {
	if e == nil {
		return ""
	}
	return (*e).String()
}

// deviceSummary is one device as user.devices shows it.
type deviceSummary struct {
	ID                     string `json:"id"`
	DeviceName             string `json:"deviceName"`
	OperatingSystem        string `json:"operatingSystem,omitempty"`
	OSVersion              string `json:"osVersion,omitempty"`
	ComplianceState        string `json:"complianceState,omitempty"`
	LastSyncDateTime       string `json:"lastSyncDateTime,omitempty"`
	ManagedDeviceOwnerType string `json:"managedDeviceOwnerType,omitempty"`
	Model                  string `json:"model,omitempty"`
	IsEncrypted            bool   `json:"isEncrypted"`
	ManagementState        string `json:"managementState,omitempty"` // only when not plainly managed
}

var deviceSummaryFields = []string{"id", "deviceName", "operatingSystem", "osVersion", "complianceState", "lastSyncDateTime",
	"managedDeviceOwnerType", "model", "isEncrypted", "managementState"}

func summarizeDevice(d models.ManagedDeviceable) deviceSummary {
	s := deviceSummary{
		ID:                     str(d.GetId()),
		DeviceName:             str(d.GetDeviceName()),
		OperatingSystem:        str(d.GetOperatingSystem()),
		OSVersion:              str(d.GetOsVersion()),
		ComplianceState:        deviceEnum(d.GetComplianceState()),
		LastSyncDateTime:       deviceTime(d.GetLastSyncDateTime()),
		ManagedDeviceOwnerType: deviceEnum(d.GetManagedDeviceOwnerType()),
		Model:                  str(d.GetModel()),
		IsEncrypted:            d.GetIsEncrypted() != nil && *d.GetIsEncrypted(),
	}
	if ms := deviceEnum(d.GetManagementState()); ms != "managed" {
		s.ManagementState = ms
	}
	return s
}

func userDevices(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeUserArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	ub, err := c.users(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	top := int32(userDevicesPage)
	rb := ub.ByUserId(a.User).ManagedDevices()
	resp, err := rb.Get(ctx, &users.ItemManagedDevicesRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemManagedDevicesRequestBuilderGetQueryParameters{Select: deviceSummaryFields, Top: &top},
	})
	out := struct {
		User      string          `json:"user"`
		Devices   []deviceSummary `json:"devices"`
		Truncated bool            `json:"truncated,omitempty"`
	}{User: a.User, Devices: []deviceSummary{}}
	out.Truncated, err = eachPage(c, resp, err, func(link string) (models.ManagedDeviceCollectionResponseable, error) {
		return rb.WithUrl(link).Get(ctx, nil)
	}, userDevicesPages, func(ds []models.ManagedDeviceable) {
		for _, dv := range ds {
			out.Devices = append(out.Devices, summarizeDevice(dv))
		}
	})
	if err != nil {
		return nil, noSecret, pageError("list user devices", err)
	}
	return out, noSecret, nil
}

// deviceBrief identifies a device in the outputs, so the agent can tell the
// user which one it means.
type deviceBrief struct {
	ID              string `json:"id"`
	DeviceName      string `json:"deviceName"`
	OwnerUPN        string `json:"ownerUPN,omitempty"`
	OperatingSystem string `json:"operatingSystem,omitempty"`
}

func briefDevice(d models.ManagedDeviceable) deviceBrief {
	return deviceBrief{
		ID:              str(d.GetId()),
		DeviceName:      str(d.GetDeviceName()),
		OwnerUPN:        str(d.GetUserPrincipalName()),
		OperatingSystem: str(d.GetOperatingSystem()),
	}
}

// complianceReport is what device.compliance shows.
type complianceReport struct {
	Device           deviceBrief    `json:"device"`
	OSVersion        string         `json:"osVersion,omitempty"`
	ComplianceState  string         `json:"complianceState"`
	LastSyncDateTime string         `json:"lastSyncDateTime,omitempty"`
	ManagementState  string         `json:"managementState,omitempty"`
	Policies         []policyReport `json:"policies"`
	Note             string         `json:"note,omitempty"`
}

// policyReport is one compliance policy's verdict on the device.
type policyReport struct {
	Policy string `json:"policy"`
	// Source, when set, says the failing settings come from Intune's
	// per-setting compliance report, not from the policy's own state.
	Source       string           `json:"source,omitempty"`
	State        string           `json:"state"`
	SettingCount int32            `json:"settingCount,omitempty"`
	Failing      []failingSetting `json:"failing,omitempty"`
	MoreFailing  int              `json:"moreFailing,omitempty"` // failing settings not shown
}

// failingSetting is one setting the device fails, in plain words.
type failingSetting struct {
	Requirement  string `json:"requirement"` // plain language, e.g. "BitLocker encryption required"
	Setting      string `json:"setting"`     // Intune's setting id
	State        string `json:"state"`       // nonCompliant, error, conflict
	CurrentValue string `json:"currentValue,omitempty"`
	ErrorCode    int64  `json:"errorCode,omitempty"`
	SyncMayFix   bool   `json:"syncMayFix,omitempty"` // a device.sync usually clears it
}

// settingWords names Intune compliance settings in plain words, by the
// property part of their setting id (Windows10CompliancePolicy.BitLockerEnabled
// -> bitlockerenabled). syncMayFix marks the ones a check-in usually clears.
var settingWords = map[string]struct {
	words      string
	syncMayFix bool
}{
	"bitlockerenabled":               {"BitLocker encryption required", false},
	"securebootenabled":              {"Secure Boot required", false},
	"codeintegrityenabled":           {"code integrity required", false},
	"requirehealthydevicereport":     {"healthy device attestation required", false},
	"activefirewallrequired":         {"firewall on", false},
	"firewallenabled":                {"firewall on", false},
	"signatureoutofdate":             {"antivirus signature out of date", true},
	"defenderenabled":                {"Microsoft Defender Antivirus on", false},
	"antivirusrequired":              {"antivirus on", false},
	"antispywarerequired":            {"antispyware on", false},
	"rtpenabled":                     {"real-time protection on", false},
	"storagerequireencryption":       {"storage encryption required", false},
	"osminimumversion":               {"minimum OS version", false},
	"osmaximumversion":               {"maximum OS version", false},
	"securityblockjailbrokendevices": {"jailbroken", false},
	"passcoderequired":               {"passcode required", false},
	"passwordrequired":               {"password required", false},
	"requireremaincontact":           {"device has not checked in recently", true},
	"hascompliancepolicy":            {"no compliance policy assigned", false},
	"requireuserexistence":           {"enrolled user no longer exists", false},
}

// describeSetting returns the plain words for a failing setting, falling
// back to Intune's own setting name.
func describeSetting(setting, settingName, platform string) (string, bool) {
	key := setting
	if i := strings.LastIndex(key, "."); i >= 0 {
		key = key[i+1:]
	}
	w, ok := settingWords[strings.ToLower(key)]
	switch {
	case !ok && settingName != "":
		return settingName, false
	case !ok:
		return setting, false
	case strings.EqualFold(key, "storageRequireEncryption") && platform == "macOS":
		return "FileVault encryption required", false
	}
	return w.words, w.syncMayFix
}

func deviceValue(s string) string {
	if r := []rune(s); len(r) > deviceSettingValMax {
		return string(r[:deviceSettingValMax]) + "…"
	}
	return s
}

// failingState reports whether a complianceStatus is a failure.
func failingState(s string) bool { return s == "nonCompliant" || s == "error" || s == "conflict" }

// osMinimumVersioner is implemented by the compliance policy types that set a
// minimum OS version (Windows 10, iOS, macOS, Android).
type osMinimumVersioner interface{ GetOsMinimumVersion() *string }

// Reading why a device is not compliant. In Graph v1.0,
// deviceCompliancePolicyState.settingStates is a collection of the complex
// type deviceCompliancePolicySettingState carried inline in each policy
// state of GET /deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates;
// the .../deviceCompliancePolicyStates/{id}/settingStates segment exists only
// in beta, and the v1.0 SDK has no builder for it. On real tenants Graph
// often returns the inline settingStates empty, or no policy states at all,
// and settingName null (microsoft-graph-docs#7862, msgraph-sdk-dotnet#1131).
// Then the failing settings are read from Intune's per-setting compliance
// report instead: the tenant's deviceCompliancePolicySettingStateSummaries
// for the device's platform that have failing devices, and for each (at
// most settingReportReads) its deviceComplianceSettingStates filtered to the
// device. The report names settings, not policies, and has no current
// values; the output says so in plain words, and says what is known when
// even the report is silent.
func deviceCompliance(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	a, err := decodeDeviceArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	d, err := c.getManagedDevice(ctx, tenant, a.Device, "id", "deviceName", "userPrincipalName", "operatingSystem", "osVersion",
		"complianceState", "lastSyncDateTime", "managementState")
	if err != nil {
		return nil, noSecret, err
	}
	out := complianceReport{
		Device:           briefDevice(d),
		OSVersion:        str(d.GetOsVersion()),
		ComplianceState:  deviceEnum(d.GetComplianceState()),
		LastSyncDateTime: deviceTime(d.GetLastSyncDateTime()),
		Policies:         []policyReport{},
	}
	if ms := deviceEnum(d.GetManagementState()); ms != "managed" {
		out.ManagementState = ms
	}
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	rb := dm.ManagedDevices().ByManagedDeviceId(a.Device).DeviceCompliancePolicyStates()
	resp, err := rb.Get(ctx, nil)
	unlisted := []int{} // failing policies without failing settings, by index
	_, err = eachPage(c, resp, err, func(link string) (models.DeviceCompliancePolicyStateCollectionResponseable, error) {
		return rb.WithUrl(link).Get(ctx, nil)
	}, policyStatesPages, func(states []models.DeviceCompliancePolicyStateable) {
		for _, ps := range states {
			pr := c.reportPolicy(ctx, dm, ps)
			if failingState(pr.State) && len(pr.Failing) == 0 {
				unlisted = append(unlisted, len(out.Policies))
			}
			out.Policies = append(out.Policies, pr)
		}
	})
	var refused *tierzero.Error
	if errors.As(err, &refused) {
		return nil, noSecret, err // a page link outside the service root
	}
	if err != nil {
		return nil, noSecret, deviceError("get device compliance", a.Device, err)
	}
	failing := out.ComplianceState != "compliant" && out.ComplianceState != ""
	if len(unlisted) == 0 && (len(out.Policies) > 0 || !failing) {
		if len(out.Policies) == 0 {
			out.Note = "no compliance policy reports on this device"
		}
		return out, noSecret, nil
	}
	// Graph did not say which settings fail: ask the per-setting report.
	settings, complete, rerr := c.settingReport(ctx, dm, a.Device, str(d.GetOperatingSystem()))
	if rerr != nil {
		c.log.Info("read the per-setting compliance report", "tenant", string(tenant), "device", a.Device, "error", rerr)
	}
	switch {
	case len(settings) > 0 && len(unlisted) == 1:
		out.Policies[unlisted[0]].Failing = settings
		out.Policies[unlisted[0]].Source = "per-setting compliance report"
	case len(settings) > 0:
		out.Policies = append(out.Policies, policyReport{Policy: "not named by Microsoft Graph", Source: "per-setting compliance report",
			State: "nonCompliant", Failing: settings})
	}
	when := "an unknown time"
	if out.LastSyncDateTime != "" {
		when = out.LastSyncDateTime
	}
	switch {
	case len(settings) > 0:
		out.Note = "Microsoft Graph did not list the failing settings with the device's compliance policies, so they were read from Intune's per-setting compliance report, which names the settings but not their current values on the device"
		if !complete {
			out.Note += "; that report could not be read in full, so other settings may fail too"
		}
	case !failing:
		out.Note = "Microsoft Graph did not list the failing settings of every non-compliant policy; the Intune admin center shows them under the device's compliance"
	default:
		out.Note = fmt.Sprintf("Intune marks this device %s, but Microsoft Graph did not say which settings fail, neither with its compliance policies nor in the per-setting compliance report. "+
			"The device last checked in at %s. The Intune admin center shows the failing settings under the device's compliance; a check-in (device.sync) may also bring the reports up to date",
			out.ComplianceState, when)
	}
	return out, noSecret, nil
}

// platformTypes maps a managed device's operatingSystem to the
// policyPlatformType values of the compliance settings that apply to it.
var platformTypes = map[string][]string{
	"windows": {"windows10AndLater", "windows81AndLater"},
	"ios":     {"iOS"},
	"ipados":  {"iOS"},
	"macos":   {"macOS"},
	"android": {"android", "androidWorkProfile", "androidForWork", "androidDeviceOwner"},
}

// settingReport reads the settings a device fails from Intune's per-setting
// compliance report. complete is false when the report could not be read
// in full (a page or a setting left out, or an error, returned too).
func (c *Client) settingReport(ctx context.Context, dm *devicemanagement.DeviceManagementRequestBuilder, deviceID, os string) ([]failingSetting, bool, error) {
	platforms := platformTypes[strings.ToLower(os)]
	rb := dm.DeviceCompliancePolicySettingStateSummaries()
	resp, err := rb.Get(ctx, nil)
	type candidate struct{ id, platform string }
	var candidates []candidate
	truncated, err := eachPage(c, resp, err, func(link string) (models.DeviceCompliancePolicySettingStateSummaryCollectionResponseable, error) {
		return rb.WithUrl(link).Get(ctx, nil)
	}, settingReportPages, func(sums []models.DeviceCompliancePolicySettingStateSummaryable) {
		for _, sum := range sums {
			platform := deviceEnum(sum.GetPlatformType())
			bad := int32(0)
			for _, n := range []*int32{sum.GetNonCompliantDeviceCount(), sum.GetErrorDeviceCount(), sum.GetConflictDeviceCount()} {
				if n != nil {
					bad += *n
				}
			}
			if bad > 0 && slices.Contains(platforms, platform) && deviceIDPattern.MatchString(str(sum.GetId())) {
				candidates = append(candidates, candidate{str(sum.GetId()), platform})
			}
		}
	})
	if err != nil {
		return nil, false, err
	}
	complete := !truncated
	if len(candidates) > settingReportReads {
		candidates, complete = candidates[:settingReportReads], false
	}
	filter := "deviceId eq '" + deviceID + "'" // a GUID: checked by decodeDeviceArgs
	var out []failingSetting
	var errs []error
	for _, cand := range candidates {
		states, err := rb.ByDeviceCompliancePolicySettingStateSummaryId(cand.id).DeviceComplianceSettingStates().Get(ctx,
			&devicemanagement.DeviceCompliancePolicySettingStateSummariesItemDeviceComplianceSettingStatesRequestBuilderGetRequestConfiguration{
				QueryParameters: &devicemanagement.DeviceCompliancePolicySettingStateSummariesItemDeviceComplianceSettingStatesRequestBuilderGetQueryParameters{Filter: &filter},
			})
		if err != nil {
			errs, complete = append(errs, err), false
			continue
		}
		for _, st := range states.GetValue() {
			state := deviceEnum(st.GetState())
			if !strings.EqualFold(str(st.GetDeviceId()), deviceID) || !failingState(state) || len(out) == failingSettingsMax {
				continue
			}
			setting := str(st.GetSetting())
			words, syncMayFix := describeSetting(setting, str(st.GetSettingName()), cand.platform)
			out = append(out, failingSetting{Requirement: words, Setting: setting, State: state, SyncMayFix: syncMayFix})
		}
	}
	return out, complete, errors.Join(errs...)
}

// reportPolicy summarizes one policy state: for a failing policy, its
// failing settings in plain words, with the required OS version read from
// the policy when that is what fails.
func (c *Client) reportPolicy(ctx context.Context, dm *devicemanagement.DeviceManagementRequestBuilder, ps models.DeviceCompliancePolicyStateable) policyReport {
	pr := policyReport{Policy: str(ps.GetDisplayName()), State: deviceEnum(ps.GetState())}
	if n := ps.GetSettingCount(); n != nil {
		pr.SettingCount = *n
	}
	platform := deviceEnum(ps.GetPlatformType())
	minOS := ""
	for _, s := range ps.GetSettingStates() {
		state := deviceEnum(s.GetState())
		if !failingState(state) {
			continue
		}
		if len(pr.Failing) == failingSettingsMax {
			pr.MoreFailing++
			continue
		}
		setting := str(s.GetSetting())
		words, syncMayFix := describeSetting(setting, str(s.GetSettingName()), platform)
		if strings.HasSuffix(strings.ToLower(setting), ".osminimumversion") {
			if minOS == "" {
				minOS = c.policyMinimumOS(ctx, dm, str(ps.GetId()))
			}
			if minOS != "" {
				words += " " + minOS
			}
		}
		f := failingSetting{
			Requirement:  words,
			Setting:      setting,
			State:        state,
			CurrentValue: deviceValue(str(s.GetCurrentValue())),
			SyncMayFix:   syncMayFix,
		}
		if e := s.GetErrorCode(); e != nil {
			f.ErrorCode = *e
		}
		pr.Failing = append(pr.Failing, f)
	}
	return pr
}

// policyMinimumOS reads the minimum OS version a compliance policy requires.
// A policy state's id is its policy's id; when the policy cannot be read the
// version is left out ("") rather than failing the whole report.
func (c *Client) policyMinimumOS(ctx context.Context, dm *devicemanagement.DeviceManagementRequestBuilder, policyID string) string {
	if !deviceIDPattern.MatchString(policyID) {
		return ""
	}
	p, err := dm.DeviceCompliancePolicies().ByDeviceCompliancePolicyId(policyID).Get(ctx, nil)
	if err != nil {
		c.log.Debug("read compliance policy", "policy", policyID, "error", err)
		return ""
	}
	if v, ok := p.(osMinimumVersioner); ok {
		return str(v.GetOsMinimumVersion())
	}
	return ""
}

// deviceActionKind describes one remote action on a managed device.
type deviceActionKind struct {
	verb    string   // for errors: "sync device"
	names   []string // its deviceActionResult actionName, lower case
	pending string   // the managementState it sets, if any
	note    string   // what happens next, for the output
	// checkIn: the device carries the action out when it next checks in,
	// so the output says when to look again.
	checkIn bool
	// unsupported, when set, returns why Intune cannot send the action to
	// the device ("" when it can), in plain words.
	unsupported func(d models.ManagedDeviceable) string
}

// deviceOS returns a device's operatingSystem in lower case.
func deviceOS(d models.ManagedDeviceable) string { return strings.ToLower(str(d.GetOperatingSystem())) }

// Intune's remote actions by platform
// (learn.microsoft.com/mem/intune/remote-actions): remote lock for iOS,
// iPadOS, macOS and Android, not Windows PCs; passcode reset for company
// iOS and iPadOS devices (not Apple User Enrollment) and Android, not Windows or
// macOS; Defender signature updates for Windows only.
func lockUnsupported(d models.ManagedDeviceable) string {
	switch deviceOS(d) {
	case "ios", "ipados", "macos", "android":
		return ""
	case "windows":
		return "Intune cannot lock a Windows PC remotely; the user can lock it with Windows+L, and a lost PC can be retired or wiped instead"
	}
	return fmt.Sprintf("Intune cannot lock a %s device remotely", str(d.GetOperatingSystem()))
}

func resetPasscodeUnsupported(d models.ManagedDeviceable) string {
	switch deviceOS(d) {
	case "ios", "ipados":
		if strings.HasPrefix(deviceEnum(d.GetDeviceEnrollmentType()), "appleUserEnrollment") {
			return "this iPhone or iPad is a personal device enrolled with Apple User Enrollment, whose passcode Intune cannot reset; the user resets it on the device or through Apple"
		}
		return ""
	case "android":
		return ""
	case "windows":
		return "Intune cannot reset the passcode of a Windows PC; for a forgotten Windows Hello PIN the user chooses \"I forgot my PIN\" at sign-in, and a forgotten password is reset with user.reset_password"
	}
	return fmt.Sprintf("Intune cannot reset the passcode of a %s device", str(d.GetOperatingSystem()))
}

func signaturesUnsupported(d models.ManagedDeviceable) string {
	if deviceOS(d) == "windows" {
		return ""
	}
	return fmt.Sprintf("Microsoft Defender signature updates can be sent to Windows PCs only; this is a %s device", str(d.GetOperatingSystem()))
}

var (
	syncAction = deviceActionKind{verb: "sync device", names: []string{"syncdevice", "sync"}, checkIn: true,
		note: "Intune asked the device to check in. Nothing changes until it does: an online device usually checks in within a few minutes, an offline one when it next connects. Its compliance is evaluated again at that check-in, so look again (device.compliance) after lookAgainAfter: a lastSyncDateTime later than requestedAt means it checked in."}
	rebootAction = deviceActionKind{verb: "reboot device", names: []string{"rebootnow", "reboot"},
		note: "The device restarts when it receives the command; an offline device restarts when it next connects."}
	retireAction = deviceActionKind{verb: "retire device", names: []string{"retire"}, pending: "retirePending",
		note: "Company data, apps and profiles are removed and the device leaves Intune management when it next checks in; personal data stays."}
	wipeAction = deviceActionKind{verb: "wipe device", names: []string{"wipe"}, pending: "wipePending",
		note: "The device is reset to factory settings, erasing all its data, when it next checks in. This cannot be undone."}
	lockAction = deviceActionKind{verb: "lock device", names: []string{"remotelock", "lock"}, checkIn: true, unsupported: lockUnsupported,
		note: "The device locks when it receives the command, usually within minutes if it is online (an offline device when it next connects); its user unlocks it with their passcode."}
	resetPasscodeAction = deviceActionKind{verb: "reset device passcode", names: []string{"resetpasscode"}, checkIn: true, unsupported: resetPasscodeUnsupported,
		note: "When the device receives the command (within minutes if it is online) an iPhone or iPad loses its passcode and asks its user to set a new one; until then it is unprotected and out of compliance. On Android the new work profile passcode shows in the Intune admin center."}
	updateSignaturesAction = deviceActionKind{verb: "update Defender signatures", names: []string{"windowsdefenderupdatesignatures"}, checkIn: true, unsupported: signaturesUnsupported,
		note: "The PC downloads the latest Microsoft Defender Antivirus signatures when it receives the command, usually within minutes if it is online; its compliance is evaluated again at its next check-in, so look again (device.compliance) after lookAgainAfter."}
)

// deviceActionResult is what the device action tools show.
type deviceActionResult struct {
	Device    deviceBrief `json:"device"`
	Action    string      `json:"action"`
	Requested bool        `json:"requested"`
	// AlreadyPending: the same (or a stronger) action was already pending,
	// so nothing was sent.
	AlreadyPending  bool   `json:"alreadyPending,omitempty"`
	ManagementState string `json:"managementState,omitempty"`
	// RequestedAt and LookAgainAfter, for an action the device carries out
	// at its next check-in: when it was asked, and when to look again.
	RequestedAt    string `json:"requestedAt,omitempty"`
	LookAgainAfter string `json:"lookAgainAfter,omitempty"`
	Note           string `json:"note"`
}

var deviceActionFields = []string{"id", "deviceName", "userPrincipalName", "operatingSystem", "managementState", "deviceEnrollmentType"}

// runDeviceAction reads the device (for its name and owner, and to see an
// action already pending), then sends the action with post. Run again after
// a read-back found the action not applied, it sends it again; if the first
// one did land after all, the pending state is seen and nothing is sent.
func (c *Client) runDeviceAction(ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, k deviceActionKind,
	post func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error) (any, tierzero.Secret, error) {
	a, err := decodeDeviceArgs(raw)
	if err != nil {
		return nil, noSecret, err
	}
	d, err := c.getManagedDevice(ctx, tenant, a.Device, deviceActionFields...)
	if err != nil {
		return nil, noSecret, err
	}
	out := deviceActionResult{Device: briefDevice(d), Action: k.verb, Requested: true, Note: k.note}
	if k.checkIn {
		now := c.cfg.Now().UTC().Truncate(time.Second)
		out.RequestedAt, out.LookAgainAfter = now.Format(time.RFC3339), now.Add(checkInWait).Format(time.RFC3339)
	}
	state := deviceEnum(d.GetManagementState())
	switch {
	case state == "wipePending" || state == "wipeIssued":
		if k.pending == "wipePending" {
			out.Requested, out.AlreadyPending, out.ManagementState = false, true, state
			return out, noSecret, nil
		}
		return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "a wipe is already pending on device %s; no other action can be sent to it", a.Device)
	case state == "retirePending" || state == "retireIssued":
		if k.pending == "retirePending" {
			out.Requested, out.AlreadyPending, out.ManagementState = false, true, state
			return out, noSecret, nil
		}
		if k.pending != "wipePending" {
			return nil, noSecret, tierzero.Errorf(tierzero.EConflict, "device %s is being retired; only a wipe can still be sent to it", a.Device)
		}
	}
	if k.unsupported != nil {
		if why := k.unsupported(d); why != "" {
			return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "%s: %s", str(d.GetDeviceName()), why)
		}
	}
	dm, err := c.deviceManagement(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	if k.pending != "" {
		out.ManagementState = k.pending
	}
	if err := post(dm.ManagedDevices().ByManagedDeviceId(a.Device)); err != nil {
		// With the output: Execute shows it if a read-back confirms the action.
		return out, noSecret, deviceError(k.verb, a.Device, err)
	}
	return out, noSecret, nil
}

func syncDevice(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, syncAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		return item.SyncDevice().Post(ctx, nil)
	})
}

func rebootDevice(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, rebootAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		return item.RebootNow().Post(ctx, nil)
	})
}

func retireDevice(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, retireAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		return item.Retire().Post(ctx, nil)
	})
}

// wipeDevice wipes with keepEnrollmentData and keepUserData false: a full
// factory reset. The SDK's retry handler is off for this request (even on
// 429): a wipe is never resent blindly; Execute reads the device back first.
func wipeDevice(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, wipeAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		keep := false
		body := devicemanagement.NewManagedDevicesItemWipePostRequestBody()
		body.SetKeepEnrollmentData(&keep)
		body.SetKeepUserData(&keep)
		return item.Wipe().Post(ctx, body, &devicemanagement.ManagedDevicesItemWipeRequestBuilderPostRequestConfiguration{
			Options: []abs.RequestOption{noDeviceRetry()},
		})
	})
}

func lockDevice(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, lockAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		return item.RemoteLock().Post(ctx, nil)
	})
}

// resetDevicePasscode removes an iOS passcode (Graph answers 204 and the
// device acts at its next check-in); an Android work profile gets a new
// passcode that Graph v1.0 does not return, so no secret comes back.
func resetDevicePasscode(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, resetPasscodeAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		return item.ResetPasscode().Post(ctx, nil)
	})
}

func updateDeviceSignatures(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	return c.runDeviceAction(ctx, tenant, raw, updateSignaturesAction, func(item *devicemanagement.ManagedDevicesManagedDeviceItemRequestBuilder) error {
		return item.WindowsDefenderUpdateSignatures().Post(ctx, nil)
	})
}

// noDeviceRetry turns the SDK's retry handler off for one request.
func noDeviceRetry() *kiotahttp.RetryHandlerOptions {
	return &kiotahttp.RetryHandlerOptions{
		ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false },
	}
}

// deviceActionApplied reads the device back: the action took effect at or
// after since when its deviceActionResult started then (pending, active or
// done), or when the device shows the managementState the action sets
// (retirePending, wipePending; a pending wipe also covers a retire). A sync
// also counts when the device checked in since. A device gone (404) after a
// retire or wipe has left management: the action took effect.
func deviceActionApplied(k deviceActionKind) func(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, since time.Time) (bool, error) {
	return func(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage, since time.Time) (bool, error) {
		a, err := decodeDeviceArgs(raw)
		if err != nil {
			return false, err
		}
		d, err := c.getManagedDevice(ctx, tenant, a.Device, "id", "managementState", "lastSyncDateTime", "deviceActionResults")
		if err != nil {
			if k.pending != "" && tierzero.ErrorCode(err) == tierzero.ENotFound {
				return true, nil
			}
			return false, err
		}
		state := deviceEnum(d.GetManagementState())
		switch k.pending {
		case "retirePending":
			if state == "retirePending" || state == "retireIssued" || state == "wipePending" || state == "wipeIssued" {
				return true, nil
			}
		case "wipePending":
			if state == "wipePending" || state == "wipeIssued" {
				return true, nil
			}
		}
		if k.verb == syncAction.verb {
			if t := d.GetLastSyncDateTime(); t != nil && !t.Before(since) {
				return true, nil
			}
		}
		for _, r := range d.GetDeviceActionResults() {
			name := strings.ToLower(str(r.GetActionName()))
			if !slices.Contains(k.names, name) {
				continue
			}
			switch deviceEnum(r.GetActionState()) {
			case "pending", "active", "done":
			default:
				continue
			}
			if t := r.GetStartDateTime(); t != nil && !t.Before(since) {
				return true, nil
			}
		}
		return false, nil
	}
}
