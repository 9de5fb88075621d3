package sim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// BitLocker recovery keys: the list, filtered by the Entra device id, never
// carries the key; a GET returns it only with $select=key
// (https://learn.microsoft.com/graph/api/bitlocker-list-recoverykeys,
// https://learn.microsoft.com/graph/api/bitlockerrecoverykey-get).
func TestRecoveryKeys(t *testing.T) {
	srv, s := newTest(t)
	list := func(tenant, name string) []any {
		d := simDevice(t, s, tenant, name)
		r := do(t, srv, request{tenant: tenant, path: "/v1.0/informationProtection/bitlocker/recoveryKeys?$filter=" + url.QueryEscape("deviceId eq '"+d.AzureADDeviceID+"'")})
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		return r.json["value"].([]any)
	}
	keys := list("contoso", "CONTOSO-LT001")
	if len(keys) != 1 {
		t.Fatalf("keys = %v", keys)
	}
	k := keys[0].(map[string]any)
	if _, has := k["key"]; has || k["volumeType"] != "operatingSystemVolume" || k["id"] == "" {
		t.Errorf("listed key = %v", k)
	}
	r := do(t, srv, request{tenant: "contoso", path: "/v1.0/informationProtection/bitlocker/recoveryKeys/" + k["id"].(string)})
	if _, has := r.json["key"]; r.status != http.StatusOK || has {
		t.Errorf("get without $select: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{tenant: "contoso", path: "/v1.0/informationProtection/bitlocker/recoveryKeys/" + k["id"].(string) + "?$select=key"})
	want, _ := s.RecoveryKey("contoso", simDeviceID(t, s, "contoso", "CONTOSO-LT001"))
	if r.status != http.StatusOK || r.json["key"] != want || !regexp.MustCompile(`^(\d{6}-){7}\d{6}$`).MatchString(want) {
		t.Errorf("get with $select=key: %d %s (want %s)", r.status, r.raw, want)
	}
	// No key: BitLocker off, a Mac, an iPhone.
	for _, name := range []string{"CONTOSO-LT013", "CONTOSO-MB006", "Lynne's iPhone"} {
		if keys := list("contoso", name); len(keys) != 0 {
			t.Errorf("%s has keys %v", name, keys)
		}
	}
	// Another tenant's key is not found.
	if r := do(t, srv, request{tenant: "fabrikam", path: "/v1.0/informationProtection/bitlocker/recoveryKeys/" + k["id"].(string) + "?$select=key"}); r.status != http.StatusNotFound {
		t.Errorf("fabrikam reads contoso's key: %d", r.status)
	}
	if r := do(t, srv, request{tenant: "contoso", path: "/v1.0/informationProtection/bitlocker/recoveryKeys?$filter=" + url.QueryEscape("volumeType eq 1")}); r.status != http.StatusBadRequest {
		t.Errorf("unsupported filter: %d", r.status)
	}
}

// Windows LAPS: GET /directory/deviceLocalCredentials/{deviceId} returns the
// passwords (base64) only with $select=credentials
// (https://learn.microsoft.com/graph/api/devicelocalcredentialinfo-get); a
// device without a backup is not found.
func TestLocalCredentials(t *testing.T) {
	srv, s := newTest(t)
	d := simDevice(t, s, "contoso", "CONTOSO-LT001")
	r := do(t, srv, request{tenant: "contoso", path: "/v1.0/directory/deviceLocalCredentials/" + d.AzureADDeviceID})
	if _, has := r.json["credentials"]; r.status != http.StatusOK || has || r.json["deviceName"] != "CONTOSO-LT001" {
		t.Errorf("without $select: %d %s", r.status, r.raw)
	}
	r = do(t, srv, request{tenant: "contoso", path: "/v1.0/directory/deviceLocalCredentials/" + d.AzureADDeviceID + "?$select=credentials"})
	creds, _ := r.json["credentials"].([]any)
	if r.status != http.StatusOK || len(creds) != 1 {
		t.Fatalf("with $select: %d %s", r.status, r.raw)
	}
	c := creds[0].(map[string]any)
	pw, _ := base64.StdEncoding.DecodeString(c["passwordBase64"].(string))
	want, _ := s.LocalAdminPassword("contoso", d.ID)
	if string(pw) != want || len(want) != 20 || c["accountName"] != "Administrator" || !strings.HasSuffix(c["accountSid"].(string), "-500") {
		t.Errorf("credential = %v (password %q, want %q)", c, pw, want)
	}
	for _, name := range []string{"CONTOSO-LOAN001", "CONTOSO-MB006", "Lynne's iPhone"} {
		d := simDevice(t, s, "contoso", name)
		if r := do(t, srv, request{tenant: "contoso", path: "/v1.0/directory/deviceLocalCredentials/" + d.AzureADDeviceID + "?$select=credentials"}); r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if r := do(t, srv, request{tenant: "fabrikam", path: "/v1.0/directory/deviceLocalCredentials/" + d.AzureADDeviceID}); r.status != http.StatusNotFound {
		t.Errorf("fabrikam reads contoso's LAPS: %d", r.status)
	}
	if r := do(t, srv, request{tenant: "contoso", path: "/v1.0/directory/deviceLocalCredentials/" + d.AzureADDeviceID + "?$select=password"}); r.status != http.StatusBadRequest {
		t.Errorf("unknown $select: %d", r.status)
	}
}
