package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
)

// execSecret runs a device tool that returns a secret.
func (f *fixture) execSecret(t *testing.T, tenant tierzero.TenantID, action, name string) (tierzero.ToolResult, error) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"device": f.simDevice(t, string(tenant), name).ID})
	call := tierzero.ToolCall{ID: "k1", Action: action, Args: b}
	return f.client.Execute(context.Background(), f.permit(tenant, call), tenant, call)
}

// The BitLocker recovery key: listed by the Entra device id (the list never
// carries the key), then read with $select=key
// (https://learn.microsoft.com/graph/api/bitlocker-list-recoverykeys,
// https://learn.microsoft.com/graph/api/bitlockerrecoverykey-get). The key
// is a secret for the requester alone: never in the output, and, a GET,
// never in the journal.
func TestBitLockerKey(t *testing.T) {
	f := newFixture(t)
	d := f.simDevice(t, "contoso", "CONTOSO-LT001")
	want, ok := f.sim.RecoveryKey("contoso", d.ID)
	if !ok {
		t.Fatal("the simulator has no key for CONTOSO-LT001")
	}
	res, err := f.execSecret(t, "contoso", graph.ActionDeviceBitLockerKey, "CONTOSO-LT001")
	if err != nil {
		t.Fatal(err)
	}
	if res.Secret.Reveal() != want || res.Secret.Kind != graph.SecretBitLockerKey || res.Secret.Label == "" {
		t.Errorf("secret = %v (kind %s)", res.Secret, res.Secret.Kind)
	}
	if strings.Contains(string(res.Output), want) || strings.Contains(string(res.Output), want[:13]) {
		t.Fatalf("the key is in the output: %s", res.Output)
	}
	var out struct {
		Device struct {
			DeviceName string `json:"deviceName"`
			OwnerUPN   string `json:"ownerUPN"`
		} `json:"device"`
		KeyID      string `json:"keyId"`
		VolumeType string `json:"volumeType"`
		Delivered  bool   `json:"deliveredPrivately"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil || out.Device.DeviceName != "CONTOSO-LT001" || out.Device.OwnerUPN != "patti.fernandez@contoso.com" ||
		len(out.KeyID) != 36 || out.VolumeType != "operatingSystemVolume" || !out.Delivered {
		t.Errorf("output = %s", res.Output)
	}
	if j := f.sim.Journal("contoso"); len(j) != 0 {
		t.Errorf("journal = %+v", j)
	}

	// No key: BitLocker is off on adele's laptop; Macs and iPhones have none.
	for _, name := range []string{"CONTOSO-LT013", "CONTOSO-MB006", "Lynne's iPhone"} {
		_, err := f.execSecret(t, "contoso", graph.ActionDeviceBitLockerKey, name)
		if tierzero.ErrorCode(err) != tierzero.ENotFound || !strings.Contains(tierzero.ErrorMessage(err), "no BitLocker recovery key") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Without BitlockerKey.Read.All Graph answers 403: the tool names the permission.
	if err := f.sim.AddFault("contoso", sim.Fault{Method: "GET", Path: "/v1.0/informationProtection/bitlocker/recoveryKeys/*", Kind: sim.FaultError, Status: 403, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = f.execSecret(t, "contoso", graph.ActionDeviceBitLockerKey, "CONTOSO-LT001")
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "BitlockerKey.Read.All") || strings.Contains(err.Error(), want) {
		t.Errorf("refused: %v", err)
	}
	// Another tenant's device is not found.
	b, _ := json.Marshal(map[string]string{"device": d.ID})
	call := tierzero.ToolCall{ID: "k2", Action: graph.ActionDeviceBitLockerKey, Args: b}
	if _, err := f.client.Execute(context.Background(), f.permit("fabrikam", call), "fabrikam", call); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("fabrikam: %v", err)
	}
}

// Windows LAPS: GET /directory/deviceLocalCredentials/{deviceId} with
// $select=credentials, the password in passwordBase64
// (https://learn.microsoft.com/graph/api/devicelocalcredentialinfo-get).
func TestLAPSPassword(t *testing.T) {
	f := newFixture(t)
	d := f.simDevice(t, "fabrikam", "FABRIKAM-LT010")
	want, _ := f.sim.LocalAdminPassword("fabrikam", d.ID)
	res, err := f.execSecret(t, "fabrikam", graph.ActionDeviceLAPSPassword, "FABRIKAM-LT010")
	if err != nil {
		t.Fatal(err)
	}
	if want == "" || res.Secret.Reveal() != want || res.Secret.Kind != graph.SecretLocalPassword {
		t.Errorf("secret kind %s, matches %v", res.Secret.Kind, res.Secret.Reveal() == want)
	}
	if strings.Contains(string(res.Output), want) {
		t.Fatalf("the password is in the output: %s", res.Output)
	}
	var out struct {
		AccountName string `json:"accountName"`
		Backup      string `json:"backupDateTime"`
		Delivered   bool   `json:"deliveredPrivately"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil || out.AccountName != "Administrator" || out.Backup == "" || !out.Delivered {
		t.Errorf("output = %s", res.Output)
	}
	for _, tt := range []struct{ name, code, words string }{
		{"CONTOSO-LOAN001", tierzero.ENotFound, "Windows LAPS is not turned on"},
		{"CONTOSO-MB006", tierzero.EInvalid, "Windows PCs only"},
	} {
		_, err := f.execSecret(t, "contoso", graph.ActionDeviceLAPSPassword, tt.name)
		if tierzero.ErrorCode(err) != tt.code || !strings.Contains(tierzero.ErrorMessage(err), tt.words) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := f.sim.AddFault("fabrikam", sim.Fault{Method: "GET", Path: "/v1.0/directory/deviceLocalCredentials/*", Kind: sim.FaultError, Status: 403, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.execSecret(t, "fabrikam", graph.ActionDeviceLAPSPassword, "FABRIKAM-LT010"); tierzero.ErrorCode(err) != tierzero.EUnauthorized ||
		!strings.Contains(tierzero.ErrorMessage(err), "DeviceLocalCredential.Read.All") {
		t.Errorf("refused: %v", err)
	}
}
