package graph_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// execArgs runs a tool call with arbitrary arguments under a hand-minted
// permit.
func (f *fixture) execDevice(t *testing.T, tenant tierzero.TenantID, action string, args any) (tierzero.ToolResult, error) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	call := tierzero.ToolCall{ID: "c1", Action: action, Args: b}
	res, err := f.client.Execute(context.Background(), f.permit(tenant, call), tenant, call)
	if err == nil && !res.Secret.IsZero() {
		t.Fatalf("%s returned a secret", action)
	}
	return res, err
}

// device finds a seeded device by name in the simulator's state.
func (f *fixture) simDevice(t *testing.T, tenant, name string) sim.Device {
	t.Helper()
	st, _ := f.sim.State(tenant)
	for _, d := range st.Devices {
		if d.DeviceName == name {
			return d
		}
	}
	t.Fatalf("%s has no device %q", tenant, name)
	return sim.Device{}
}

func (f *fixture) deviceExec(t *testing.T, tenant tierzero.TenantID, action, name string) (tierzero.ToolResult, error) {
	t.Helper()
	return f.execDevice(t, tenant, action, map[string]string{"device": f.simDevice(t, string(tenant), name).ID})
}

func decodeDeviceOut[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	return v
}

type deviceListOut struct {
	User    string `json:"user"`
	Devices []struct {
		ID              string `json:"id"`
		DeviceName      string `json:"deviceName"`
		OperatingSystem string `json:"operatingSystem"`
		OSVersion       string `json:"osVersion"`
		ComplianceState string `json:"complianceState"`
		LastSync        string `json:"lastSyncDateTime"`
		OwnerType       string `json:"managedDeviceOwnerType"`
		Model           string `json:"model"`
		IsEncrypted     bool   `json:"isEncrypted"`
		ManagementState string `json:"managementState"`
	} `json:"devices"`
	Truncated bool `json:"truncated"`
}

func TestUserDevices(t *testing.T) {
	f := newFixture(t)
	res, err := f.exec(t, "contoso", graph.ActionUserDevices, "adele.vance@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	out := decodeDeviceOut[deviceListOut](t, res.Output)
	if len(out.Devices) != 1 {
		t.Fatalf("adele's devices = %s", res.Output)
	}
	d := out.Devices[0]
	want := f.simDevice(t, "contoso", "CONTOSO-LT013")
	if d.ID != want.ID || d.DeviceName != "CONTOSO-LT013" || d.OperatingSystem != "Windows" || d.ComplianceState != "noncompliant" ||
		d.IsEncrypted || d.OwnerType != "company" || d.Model == "" || d.LastSync == "" || d.OSVersion == "" || d.ManagementState != "" {
		t.Errorf("adele's laptop = %+v", d)
	}

	// lynne has a laptop and a personal iPhone
	res, err = f.exec(t, "contoso", graph.ActionUserDevices, "lynne.robbins@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	out = decodeDeviceOut[deviceListOut](t, res.Output)
	if len(out.Devices) != 2 || out.Devices[1].OperatingSystem != "iOS" || out.Devices[1].OwnerType != "personal" {
		t.Errorf("lynne's devices = %s", res.Output)
	}

	// allan's loaners span two pages
	res, err = f.exec(t, "contoso", graph.ActionUserDevices, "allan.deyoung@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	out = decodeDeviceOut[deviceListOut](t, res.Output)
	seen := map[string]bool{}
	for _, d := range out.Devices {
		seen[d.ID] = true
	}
	if len(out.Devices) != 29 || len(seen) != 29 || out.Truncated {
		t.Errorf("allan's devices: %d (%d distinct), truncated %v; want 29", len(out.Devices), len(seen), out.Truncated)
	}

	if _, err := f.exec(t, "contoso", graph.ActionUserDevices, "nobody@contoso.com"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := f.exec(t, "contoso", graph.ActionUserDevices, "ben.walters@fabrikam.com"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("other tenant's user: %v", err)
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Fatalf("reads were journaled: %+v", j)
	}
}

type deviceComplianceOut struct {
	Device struct {
		ID, DeviceName, OwnerUPN, OperatingSystem string
	} `json:"device"`
	ComplianceState string `json:"complianceState"`
	LastSync        string `json:"lastSyncDateTime"`
	ManagementState string `json:"managementState"`
	Policies        []struct {
		Policy       string `json:"policy"`
		State        string `json:"state"`
		SettingCount int    `json:"settingCount"`
		Failing      []struct {
			Requirement  string `json:"requirement"`
			Setting      string `json:"setting"`
			State        string `json:"state"`
			CurrentValue string `json:"currentValue"`
			SyncMayFix   bool   `json:"syncMayFix"`
		} `json:"failing"`
	} `json:"policies"`
	Note string `json:"note"`
}

func (o deviceComplianceOut) requirements() []string {
	var out []string
	for _, p := range o.Policies {
		for _, f := range p.Failing {
			out = append(out, f.Requirement+"="+f.CurrentValue)
		}
	}
	return out
}

func TestDeviceCompliance(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		tenant       tierzero.TenantID
		device, want string // want: the requirement=currentValue list, joined with ";"
		owner        string
		policy       string
		compliant    bool
	}{
		{"contoso", "CONTOSO-LT013", "BitLocker encryption required=False", "adele.vance@contoso.com", "Windows 10/11 compliance baseline", false},
		{"contoso", "CONTOSO-LT010", "antivirus signature out of date=True", "alex.wilber@contoso.com", "Windows 10/11 compliance baseline", false},
		{"contoso", "Diego's iPhone", "jailbroken=True", "diego.siciliani@contoso.com", "iOS compliance baseline", false},
		{"contoso", "CONTOSO-LT007", "minimum OS version 10.0.22631=10.0.19045.5011", "johanna.lorenz@contoso.com", "Windows 10/11 compliance baseline", false},
		{"contoso", "CONTOSO-LT014", "firewall on=False", "gerhart.moller@contoso.com", "Windows 10/11 compliance baseline", false},
		{"contoso", "CONTOSO-MB021", "FileVault encryption required=False", "lidia.holloway@contoso.com", "macOS compliance baseline", false},
		{"contoso", "CONTOSO-LT001", "", "patti.fernandez@contoso.com", "Windows 10/11 compliance baseline", true},
		{"fabrikam", "FABRIKAM-LT021", "firewall on=False;antivirus signature out of date=True", "noah.bennett@fabrikam.com", "Windows 10/11 compliance baseline", false},
		{"fabrikam", "Victor's iPhone", "passcode required=False", "victor.santos@fabrikam.com", "iOS compliance baseline", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.tenant)+"/"+tt.device, func(t *testing.T) {
			res, err := f.deviceExec(t, tt.tenant, graph.ActionDeviceCompliance, tt.device)
			if err != nil {
				t.Fatal(err)
			}
			out := decodeDeviceOut[deviceComplianceOut](t, res.Output)
			if out.Device.DeviceName != tt.device || out.Device.OwnerUPN != tt.owner || out.LastSync == "" {
				t.Errorf("device = %+v", out.Device)
			}
			wantState := "noncompliant"
			if tt.compliant {
				wantState = "compliant"
			}
			if out.ComplianceState != wantState || len(out.Policies) != 1 || out.Policies[0].Policy != tt.policy || out.Policies[0].SettingCount == 0 {
				t.Fatalf("compliance = %s", res.Output)
			}
			if got := strings.Join(out.requirements(), ";"); got != tt.want {
				t.Errorf("failing = %q, want %q", got, tt.want)
			}
			for _, p := range out.Policies {
				for _, fs := range p.Failing {
					if fs.SyncMayFix != strings.HasPrefix(fs.Requirement, "antivirus signature") || fs.State != "nonCompliant" || fs.Setting == "" {
						t.Errorf("failing setting %+v", fs)
					}
				}
			}
			if out.Note != "" {
				t.Errorf("note = %q", out.Note)
			}
		})
	}
	for _, tn := range []string{"contoso", "fabrikam"} {
		if j := f.sim.Journal(tn); len(j) != 0 {
			t.Fatalf("reads were journaled: %+v", j)
		}
	}
}

type deviceActionOut struct {
	Device struct {
		ID         string `json:"id"`
		DeviceName string `json:"deviceName"`
		OwnerUPN   string `json:"ownerUPN"`
	} `json:"device"`
	Action          string `json:"action"`
	Requested       bool   `json:"requested"`
	AlreadyPending  bool   `json:"alreadyPending"`
	ManagementState string `json:"managementState"`
	Note            string `json:"note"`
}

func TestDeviceSync(t *testing.T) {
	f := newFixture(t)
	before := f.simDevice(t, "contoso", "CONTOSO-LT010")
	res, err := f.deviceExec(t, "contoso", graph.ActionDeviceSync, "CONTOSO-LT010")
	if err != nil {
		t.Fatal(err)
	}
	out := decodeDeviceOut[deviceActionOut](t, res.Output)
	if out.Device.DeviceName != "CONTOSO-LT010" || out.Device.OwnerUPN != "alex.wilber@contoso.com" || !out.Requested || out.Note == "" {
		t.Errorf("sync output = %s", res.Output)
	}
	after := f.simDevice(t, "contoso", "CONTOSO-LT010")
	if !after.LastSyncDateTime.After(before.LastSyncDateTime) || after.ComplianceState != "compliant" {
		t.Errorf("after sync: lastSync %v (was %v), compliance %s", after.LastSyncDateTime, before.LastSyncDateTime, after.ComplianceState)
	}
	// The fresh signatures show in the compliance report.
	res, err = f.deviceExec(t, "contoso", graph.ActionDeviceCompliance, "CONTOSO-LT010")
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeDeviceOut[deviceComplianceOut](t, res.Output); c.ComplianceState != "compliant" || len(c.requirements()) != 0 {
		t.Errorf("compliance after sync = %s", res.Output)
	}
	// A sync does not turn BitLocker on.
	if _, err := f.deviceExec(t, "contoso", graph.ActionDeviceSync, "CONTOSO-LT013"); err != nil {
		t.Fatal(err)
	}
	if d := f.simDevice(t, "contoso", "CONTOSO-LT013"); d.ComplianceState != "noncompliant" {
		t.Errorf("adele's laptop after sync: %s", d.ComplianceState)
	}
	j := f.sim.Journal("contoso")
	if len(j) != 2 || j[0].Method != "POST" || j[0].Status != 204 || j[0].Path != "/v1.0/deviceManagement/managedDevices/"+before.ID+"/syncDevice" || j[0].Body != nil {
		t.Fatalf("journal = %+v", j)
	}
}

func TestDeviceReboot(t *testing.T) {
	f := newFixture(t)
	res, err := f.deviceExec(t, "fabrikam", graph.ActionDeviceReboot, "FABRIKAM-LT010")
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceActionOut](t, res.Output); out.Device.OwnerUPN != "ben.walters@fabrikam.com" || out.Action != "reboot device" {
		t.Errorf("reboot output = %s", res.Output)
	}
	d := f.simDevice(t, "fabrikam", "FABRIKAM-LT010")
	if len(d.DeviceActionResults) != 1 || d.DeviceActionResults[0].ActionName != "rebootNow" || d.DeviceActionResults[0].ActionState != "pending" {
		t.Errorf("action results = %+v", d.DeviceActionResults)
	}
	j := f.sim.Journal("fabrikam")
	if len(j) != 1 || !strings.HasSuffix(j[0].Path, "/rebootNow") || j[0].Status != 204 {
		t.Fatalf("journal = %+v", j)
	}
	if len(f.sim.Journal("contoso")) != 0 {
		t.Fatal("a fabrikam action reached contoso")
	}
}

func TestDeviceRetireAndWipe(t *testing.T) {
	f := newFixture(t)
	const phone = "Chloe's iPhone"
	res, err := f.deviceExec(t, "fabrikam", graph.ActionDeviceRetire, phone)
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceActionOut](t, res.Output); out.ManagementState != "retirePending" || out.Device.OwnerUPN != "chloe.martin@fabrikam.com" || out.AlreadyPending {
		t.Errorf("retire output = %s", res.Output)
	}
	if d := f.simDevice(t, "fabrikam", phone); d.ManagementState != "retirePending" {
		t.Errorf("managementState = %s", d.ManagementState)
	}
	// Again: already pending, nothing sent.
	res, err = f.deviceExec(t, "fabrikam", graph.ActionDeviceRetire, phone)
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceActionOut](t, res.Output); !out.AlreadyPending || out.Requested {
		t.Errorf("second retire = %s", res.Output)
	}
	// A device being retired takes no sync, but takes a wipe.
	if _, err := f.deviceExec(t, "fabrikam", graph.ActionDeviceSync, phone); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Errorf("sync of a retiring device: %v", err)
	}
	res, err = f.deviceExec(t, "fabrikam", graph.ActionDeviceWipe, phone)
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceActionOut](t, res.Output); out.ManagementState != "wipePending" || !out.Requested {
		t.Errorf("wipe output = %s", res.Output)
	}
	res, err = f.deviceExec(t, "fabrikam", graph.ActionDeviceWipe, phone)
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceActionOut](t, res.Output); !out.AlreadyPending {
		t.Errorf("second wipe = %s", res.Output)
	}
	for _, action := range []string{graph.ActionDeviceReboot, graph.ActionDeviceRetire} {
		if _, err := f.deviceExec(t, "fabrikam", action, phone); tierzero.ErrorCode(err) != tierzero.EConflict {
			t.Errorf("%s of a wiping device: %v", action, err)
		}
	}
	// The device stays listed, with its pending state.
	res, err = f.exec(t, "fabrikam", graph.ActionUserDevices, "chloe.martin@fabrikam.com")
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceListOut](t, res.Output); len(out.Devices) != 2 || out.Devices[1].ManagementState != "wipePending" {
		t.Errorf("chloe's devices = %s", res.Output)
	}
	j := f.sim.Journal("fabrikam")
	if len(j) != 2 || !strings.HasSuffix(j[0].Path, "/retire") || j[0].Body != nil || !strings.HasSuffix(j[1].Path, "/wipe") {
		t.Fatalf("journal = %+v, want one retire and one wipe", j)
	}
	var body map[string]any
	if err := json.Unmarshal(j[1].Body, &body); err != nil || body["keepEnrollmentData"] != false || body["keepUserData"] != false || len(body) != 2 {
		t.Errorf("wipe body = %s", j[1].Body)
	}
	d := f.simDevice(t, "fabrikam", phone)
	var names []string
	for _, a := range d.DeviceActionResults {
		names = append(names, a.ActionName+":"+a.ActionState)
	}
	if strings.Join(names, ",") != "retire:pending,wipe:pending" {
		t.Errorf("action results = %v", names)
	}
}

func TestDeviceErrors(t *testing.T) {
	f := newFixture(t)
	fabrikamPhone := f.simDevice(t, "fabrikam", "Chloe's iPhone").ID
	tests := []struct {
		name   string
		action string
		args   any
		want   string
	}{
		{"not a guid", graph.ActionDeviceCompliance, map[string]string{"device": "CONTOSO-LT013"}, tierzero.EInvalid},
		{"path", graph.ActionDeviceWipe, map[string]string{"device": "../../users"}, tierzero.EInvalid},
		{"guid and query", graph.ActionDeviceSync, map[string]string{"device": fabrikamPhone + "?$select=id"}, tierzero.EInvalid},
		{"extra argument", graph.ActionDeviceReboot, map[string]any{"device": fabrikamPhone, "force": true}, tierzero.EInvalid},
		{"user instead of device", graph.ActionDeviceRetire, map[string]string{"user": "adele.vance@contoso.com"}, tierzero.EInvalid},
		{"unknown device", graph.ActionDeviceCompliance, map[string]string{"device": "00000000-0000-4000-8000-000000000000"}, tierzero.ENotFound},
		{"other tenant's device", graph.ActionDeviceWipe, map[string]string{"device": fabrikamPhone}, tierzero.ENotFound},
		{"other tenant's device, sync", graph.ActionDeviceSync, map[string]string{"device": fabrikamPhone}, tierzero.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.execDevice(t, "contoso", tt.action, tt.args)
			if got := tierzero.ErrorCode(err); got != tt.want {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.want)
			}
			msg := tierzero.ErrorMessage(err)
			if msg == "" || strings.Contains(msg, "_version") || strings.Contains(msg, "manage.microsoft.com") || strings.Contains(msg, "tierzero-sim.") {
				t.Errorf("message %q", msg)
			}
		})
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Fatalf("journal = %+v, want nothing sent (bad ids are refused, unknown devices fail the read)", j)
	}
	if j := f.sim.Journal("fabrikam"); len(j) != 0 {
		t.Fatalf("fabrikam journal = %+v", j)
	}
}

func TestDeviceActionReadBack(t *testing.T) {
	f := newFixture(t)
	laptop := f.simDevice(t, "contoso", "CONTOSO-LT010")

	// Applied, but the answer was lost: the read-back confirms it, nothing is resent.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/deviceManagement/managedDevices/*/syncDevice", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := f.deviceExec(t, "contoso", graph.ActionDeviceSync, "CONTOSO-LT010")
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceActionOut](t, res.Output); out.Device.ID != laptop.ID || out.Device.OwnerUPN != "alex.wilber@contoso.com" {
		t.Errorf("output = %s", res.Output)
	}
	j := f.sim.Journal("contoso")
	if len(j) != 1 || j[0].Status != 204 || j[0].Answered != 503 {
		t.Fatalf("journal = %+v, want one applied sync answered 503", j)
	}

	// Refused with a 503 before it was applied: read back, not applied, sent once more.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/deviceManagement/managedDevices/*/wipe", Kind: sim.FaultUnavailable, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.deviceExec(t, "contoso", graph.ActionDeviceWipe, "CONTOSO-LT010"); err != nil {
		t.Fatal(err)
	}
	j = f.sim.Journal("contoso")
	if len(j) != 3 || j[1].Status != 503 || j[2].Status != 204 || !strings.HasSuffix(j[2].Path, "/wipe") {
		t.Fatalf("journal = %+v, want the refused wipe then the one that landed", j)
	}
	if d := f.simDevice(t, "contoso", "CONTOSO-LT010"); d.ManagementState != "wipePending" {
		t.Errorf("managementState = %s", d.ManagementState)
	}

	// A throttled wipe is not retried by the SDK: it fails, nothing applied.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/deviceManagement/managedDevices/*/wipe", Kind: sim.FaultThrottle, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = f.deviceExec(t, "contoso", graph.ActionDeviceWipe, "CONTOSO-LT013")
	if tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Fatalf("throttled wipe: %v", err)
	}
	j = f.sim.Journal("contoso")
	if len(j) != 4 || j[3].Status != 429 {
		t.Fatalf("journal = %+v, want one throttled wipe and no retry", j)
	}
	if d := f.simDevice(t, "contoso", "CONTOSO-LT013"); d.ManagementState != "managed" {
		t.Errorf("managementState = %s", d.ManagementState)
	}
}

func TestDeviceOwnerAndRef(t *testing.T) {
	f := newFixture(t)
	id := f.simDevice(t, "contoso", "Diego's iPhone").ID
	got, err := f.client.DeviceOwner(context.Background(), "contoso", id)
	if err != nil || got != "diego.siciliani@contoso.com" {
		t.Fatalf("DeviceOwner = %q, %v", got, err)
	}
	if _, err := f.client.DeviceOwner(context.Background(), "fabrikam", id); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("other tenant: %v", err)
	}
	if _, err := f.client.DeviceOwner(context.Background(), "contoso", "x/../y"); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("bad id: %v", err)
	}

	ref, err := graph.DeviceRef(tierzero.ToolCall{Action: graph.ActionDeviceWipe, Args: json.RawMessage(`{"device":" ` + id + ` "}`)})
	if err != nil || ref != id {
		t.Errorf("DeviceRef = %q, %v", ref, err)
	}
	if ref, err := graph.DeviceRef(tierzero.ToolCall{Action: graph.ActionUserGet, Args: json.RawMessage(`{"user":"a@b.com"}`)}); err != nil || ref != "" {
		t.Errorf("DeviceRef without device = %q, %v", ref, err)
	}
	if _, err := graph.DeviceRef(tierzero.ToolCall{Args: json.RawMessage(`{"device":"../x"}`)}); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("DeviceRef of a path: %v", err)
	}
}

func TestDeviceToolSpecs(t *testing.T) {
	want := map[string]struct {
		write bool
		risk  tierzero.Risk
	}{
		graph.ActionUserDevices:        {false, tierzero.RiskRead},
		graph.ActionDeviceCompliance:   {false, tierzero.RiskRead},
		graph.ActionDeviceSync:         {true, tierzero.RiskLow},
		graph.ActionDeviceReboot:       {true, tierzero.RiskMedium},
		graph.ActionDeviceRetire:       {true, tierzero.RiskHigh},
		graph.ActionDeviceWipe:         {true, tierzero.RiskHigh},
		graph.ActionDeviceLock:         {true, tierzero.RiskMedium},
		graph.ActionDeviceResetCode:    {true, tierzero.RiskHigh},
		graph.ActionDeviceSignatures:   {true, tierzero.RiskLow},
		graph.ActionDeviceBitLockerKey: {false, tierzero.RiskHigh},
		graph.ActionDeviceLAPSPassword: {false, tierzero.RiskHigh},
	}
	f := newFixture(t)
	found := 0
	for _, s := range f.client.Tools() {
		w, ok := want[s.Action]
		if !ok {
			continue
		}
		found++
		var schema struct {
			Type                 string                     `json:"type"`
			Properties           map[string]json.RawMessage `json:"properties"`
			Required             []string                   `json:"required"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(s.Schema, &schema); err != nil || schema.Type != "object" || len(schema.Required) != 1 ||
			schema.AdditionalProperties == nil || *schema.AdditionalProperties {
			t.Errorf("%s schema %s", s.Action, s.Schema)
		}
		if s.Write != w.write || s.Risk != w.risk || s.Description == "" {
			t.Errorf("%s: write %v risk %s", s.Action, s.Write, s.Risk)
		}
	}
	if found != len(want) {
		t.Errorf("found %d device tools, want %d", found, len(want))
	}
}

// clock is a settable clock shared by the simulator and the client.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newDeviceFixture is newFixture with simulator options and a clock both
// sides share.
func newDeviceFixture(t *testing.T, opts sim.Options) (*fixture, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)}
	opts.Now = clk.Now
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := graph.New(graph.Config{
		BaseURL: srv.URL + "/v1.0",
		Token:   func(_ context.Context, t tierzero.TenantID) (string, error) { return sim.Token(string(t)), nil },
		Permits: tierzero.NewPermitVerifier(pub, nil),
		Now:     clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{client: c, sim: s, key: priv}, clk
}

type sparseComplianceOut struct {
	deviceComplianceOut
	Policies []struct {
		Policy  string `json:"policy"`
		Source  string `json:"source"`
		State   string `json:"state"`
		Failing []struct {
			Requirement  string `json:"requirement"`
			State        string `json:"state"`
			CurrentValue string `json:"currentValue"`
			SyncMayFix   bool   `json:"syncMayFix"`
		} `json:"failing"`
	} `json:"policies"`
}

// Graph v1.0 is publicly reported to leave deviceCompliancePolicyStates'
// settingStates empty, or the states themselves, and settingName null
// (https://github.com/microsoftgraph/microsoft-graph-docs/issues/7862,
// https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/1131).
// device.compliance then reads Intune's per-setting compliance report
// (https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicysettingstatesummary,
// https://learn.microsoft.com/graph/api/intune-deviceconfig-devicecompliancesettingstate-get)
// and says in plain words where the answer came from, or what is known
// when even that report is silent.
func TestDeviceComplianceSparse(t *testing.T) {
	f := newFixture(t)

	// A policy state without its settings: the report fills them in.
	res, err := f.deviceExec(t, "contoso", graph.ActionDeviceCompliance, "CONTOSO-LT015")
	if err != nil {
		t.Fatal(err)
	}
	out := decodeDeviceOut[sparseComplianceOut](t, res.Output)
	if out.ComplianceState != "noncompliant" || len(out.Policies) != 1 || out.Policies[0].Policy != "Windows 10/11 compliance baseline" ||
		out.Policies[0].Source != "per-setting compliance report" || len(out.Policies[0].Failing) != 1 {
		t.Fatalf("compliance = %s", res.Output)
	}
	if fs := out.Policies[0].Failing[0]; fs.Requirement != "antivirus signature out of date" || !fs.SyncMayFix || fs.State != "nonCompliant" || fs.CurrentValue != "" {
		t.Errorf("failing setting = %+v", fs)
	}
	if !strings.Contains(out.Note, "per-setting compliance report") || strings.Contains(out.Note, "could not be read") {
		t.Errorf("note = %q", out.Note)
	}

	// No policy states at all: the report still names the setting.
	res, err = f.deviceExec(t, "fabrikam", graph.ActionDeviceCompliance, "FABRIKAM-LT001")
	if err != nil {
		t.Fatal(err)
	}
	out = decodeDeviceOut[sparseComplianceOut](t, res.Output)
	if len(out.Policies) != 1 || out.Policies[0].Policy != "not named by Microsoft Graph" || len(out.Policies[0].Failing) != 1 ||
		out.Policies[0].Failing[0].Requirement != "firewall on" || out.Policies[0].Failing[0].SyncMayFix {
		t.Fatalf("compliance = %s", res.Output)
	}

	// The report refused too (403): what is known, in plain words.
	if err := f.sim.AddFault("fabrikam", sim.Fault{Method: "GET", Path: "/v1.0/deviceManagement/deviceCompliancePolicySettingStateSummaries", Kind: sim.FaultError, Status: 403}); err != nil {
		t.Fatal(err)
	}
	res, err = f.deviceExec(t, "fabrikam", graph.ActionDeviceCompliance, "FABRIKAM-LT001")
	if err != nil {
		t.Fatal(err)
	}
	out = decodeDeviceOut[sparseComplianceOut](t, res.Output)
	if len(out.Policies) != 0 || out.ComplianceState != "noncompliant" || !strings.Contains(out.Note, "did not say which settings fail") ||
		!strings.Contains(out.Note, out.LastSync) || out.LastSync == "" {
		t.Errorf("compliance without any report = %s", res.Output)
	}

	// A full device answers as before, without reading the report.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "GET", Path: "/v1.0/deviceManagement/deviceCompliancePolicySettingStateSummaries", Kind: sim.FaultError, Status: 403}); err != nil {
		t.Fatal(err)
	}
	res, err = f.deviceExec(t, "contoso", graph.ActionDeviceCompliance, "CONTOSO-LT013")
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeDeviceOut[deviceComplianceOut](t, res.Output); out.Note != "" || strings.Join(out.requirements(), ";") != "BitLocker encryption required=False" {
		t.Errorf("full device = %s", res.Output)
	}
}

// A sync is a request (Graph answers 204 at once,
// https://learn.microsoft.com/graph/api/intune-devices-manageddevice-syncdevice);
// the device checks in later. device.sync says so and when to look again,
// and device.compliance shows the change only after the check-in.
func TestDeviceSyncIsARequest(t *testing.T) {
	f, clk := newDeviceFixture(t, sim.Options{CheckInDelay: 4 * time.Minute})
	res, err := f.deviceExec(t, "contoso", graph.ActionDeviceSync, "CONTOSO-LT010")
	if err != nil {
		t.Fatal(err)
	}
	out := decodeDeviceOut[struct {
		Requested      bool   `json:"requested"`
		RequestedAt    string `json:"requestedAt"`
		LookAgainAfter string `json:"lookAgainAfter"`
		Note           string `json:"note"`
	}](t, res.Output)
	if !out.Requested || out.RequestedAt != "2026-11-02T09:30:00Z" || out.LookAgainAfter != "2026-11-02T09:45:00Z" || !strings.Contains(out.Note, "Nothing changes until") {
		t.Errorf("sync output = %s", res.Output)
	}
	compliance := func() deviceComplianceOut {
		res, err := f.deviceExec(t, "contoso", graph.ActionDeviceCompliance, "CONTOSO-LT010")
		if err != nil {
			t.Fatal(err)
		}
		return decodeDeviceOut[deviceComplianceOut](t, res.Output)
	}
	clk.Add(3 * time.Minute)
	if c := compliance(); c.ComplianceState != "noncompliant" || c.LastSync >= out.RequestedAt {
		t.Errorf("before the check-in: %+v", c)
	}
	clk.Add(2 * time.Minute)
	if c := compliance(); c.ComplianceState != "compliant" || c.LastSync != "2026-11-02T09:34:00Z" {
		t.Errorf("after the check-in: %+v", c)
	}
}

// Remote lock, passcode reset and Defender signature updates per platform
// (https://learn.microsoft.com/mem/intune/remote-actions/device-passcode-reset:
// no passcode reset on Windows, macOS or Apple User Enrollment; remote lock
// is not for Windows PCs, which Graph answers with a bare 400,
// https://github.com/microsoftgraph/microsoft-graph-docs/issues/10007):
// the tools refuse in plain words before sending anything.
func TestDevicePlatformActions(t *testing.T) {
	f, clk := newDeviceFixture(t, sim.Options{CheckInDelay: time.Minute})
	tests := []struct {
		action, device string
		ok             bool
		words          string // in the refusal
		result         string // the deviceActionResult actionName
	}{
		{graph.ActionDeviceLock, "CONTOSO-LT001", false, "Windows PC", ""},
		{graph.ActionDeviceLock, "Lynne's iPhone", true, "", "remoteLock"},
		{graph.ActionDeviceLock, "CONTOSO-MB006", true, "", "remoteLock"},
		{graph.ActionDeviceResetCode, "CONTOSO-LT001", false, "Windows Hello PIN", ""},
		{graph.ActionDeviceResetCode, "CONTOSO-MB006", false, "macOS", ""},
		{graph.ActionDeviceResetCode, "Lynne's iPhone", false, "Apple User Enrollment", ""},
		{graph.ActionDeviceResetCode, "CONTOSO-IPH025", true, "", "resetPasscode"},
		{graph.ActionDeviceSignatures, "CONTOSO-MB006", false, "Windows PCs only", ""},
		{graph.ActionDeviceSignatures, "CONTOSO-LT015", true, "", "windowsDefenderUpdateSignatures"},
	}
	sent := 0
	for _, tt := range tests {
		t.Run(tt.action+"/"+tt.device, func(t *testing.T) {
			res, err := f.deviceExec(t, "contoso", tt.action, tt.device)
			if !tt.ok {
				if tierzero.ErrorCode(err) != tierzero.EInvalid || !strings.Contains(tierzero.ErrorMessage(err), tt.words) {
					t.Fatalf("error = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sent++
			out := decodeDeviceOut[deviceActionOut](t, res.Output)
			if !out.Requested || out.Device.DeviceName != tt.device || out.Note == "" {
				t.Errorf("output = %s", res.Output)
			}
			d := f.simDevice(t, "contoso", tt.device)
			if len(d.DeviceActionResults) == 0 || d.DeviceActionResults[len(d.DeviceActionResults)-1].ActionName != tt.result ||
				d.DeviceActionResults[len(d.DeviceActionResults)-1].ActionState != "pending" {
				t.Errorf("action results = %+v", d.DeviceActionResults)
			}
		})
	}
	if j := f.sim.Journal("contoso"); len(j) != sent {
		t.Errorf("journal = %+v, want only the %d supported actions sent", j, sent)
	}
	// At the check-in: signatures fresh (compliant), the company iPhone's
	// passcode removed (out of compliance until its user sets one).
	clk.Add(2 * time.Minute)
	if d := f.simDevice(t, "contoso", "CONTOSO-LT015"); d.ComplianceState != "compliant" {
		t.Errorf("after the signature update: %s", d.ComplianceState)
	}
	if d := f.simDevice(t, "contoso", "CONTOSO-IPH025"); d.ComplianceState != "noncompliant" || d.DeviceActionResults[0].ActionState != "done" {
		t.Errorf("after the passcode reset: %+v", d)
	}
}

// A lock whose answer was lost (503 after it applied) is confirmed by the
// read-back of deviceActionResults and not sent again.
func TestDeviceLockReadBack(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "POST", Path: "/v1.0/deviceManagement/managedDevices/*/remoteLock", Kind: sim.FaultAppliedThen503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.deviceExec(t, "contoso", graph.ActionDeviceLock, "Diego's iPhone"); err != nil {
		t.Fatal(err)
	}
	if j := f.sim.Journal("contoso"); len(j) != 1 || j[0].Answered != 503 {
		t.Fatalf("journal = %+v, want one applied lock", j)
	}
}
