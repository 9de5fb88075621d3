package graph

// This file: the device secrets Microsoft Entra ID keeps, read for the
// requester alone. A BitLocker recovery key
// (/informationProtection/bitlocker/recoveryKeys, BitlockerKey.Read.All) and
// a Windows LAPS password (/directory/deviceLocalCredentials,
// DeviceLocalCredential.Read.All) are backed up to the Entra device object,
// whose id is the managed device's azureADDeviceId. The value goes into a
// tierzero.Secret, delivered privately; the output the model sees says what
// was delivered, never the value. Entra ID audits each read of a key
// (KeyManagement category); policy audits every decision to read one.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf16"

	"github.com/microsoftgraph/msgraph-sdk-go/directory"
	"github.com/microsoftgraph/msgraph-sdk-go/informationprotection"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tierzero/tierzero"
)

// Action names of the device secret tools.
const (
	ActionDeviceBitLockerKey = "device.bitlocker_key"
	ActionDeviceLAPSPassword = "device.laps_password"
)

// Kinds of the secrets they return.
const (
	SecretBitLockerKey  = "bitlocker_recovery_key"
	SecretLocalPassword = "local_admin_password"
)

var keyTools = []tool{
	{spec: tierzero.ToolSpec{
		Action: ActionDeviceBitLockerKey,
		Description: "Get the BitLocker recovery key of a managed Windows device, for a user locked out at the BitLocker recovery screen. " +
			"The key is sent to the requester privately, never shown here; the output gives its key ID to compare with the one on the screen.",
		Risk:   tierzero.RiskHigh,
		Schema: json.RawMessage(deviceSchema),
	}, run: bitLockerKey},
	{spec: tierzero.ToolSpec{
		Action: ActionDeviceLAPSPassword,
		Description: "Get the local administrator password that Windows LAPS backed up for a managed Windows device (to sign in locally, e.g. when it cannot reach the network). " +
			"The password is sent to the requester privately, never shown here.",
		Risk:   tierzero.RiskHigh,
		Schema: json.RawMessage(deviceSchema),
	}, run: lapsPassword},
}

// entraDevice reads a managed device and returns it with its Entra device
// id, or a not-found error in plain words when it has none.
func (c *Client) entraDevice(ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (models.ManagedDeviceable, string, error) {
	a, err := decodeDeviceArgs(raw)
	if err != nil {
		return nil, "", err
	}
	d, err := c.getManagedDevice(ctx, tenant, a.Device, "id", "deviceName", "userPrincipalName", "operatingSystem", "azureADDeviceId")
	if err != nil {
		return nil, "", err
	}
	id := strings.TrimSpace(str(d.GetAzureADDeviceId()))
	if !deviceIDPattern.MatchString(id) || id == "00000000-0000-0000-0000-000000000000" {
		return nil, "", tierzero.Errorf(tierzero.ENotFound, "%s is not registered in Microsoft Entra ID, so Entra ID keeps no key or password for it", str(d.GetDeviceName()))
	}
	return d, id, nil
}

// keyResult is what device.bitlocker_key shows.
type keyResult struct {
	Device deviceBrief `json:"device"`
	// KeyID identifies the key delivered: the BitLocker recovery screen
	// shows the start of it ("Key ID"), to check it is the right one.
	KeyID           string `json:"keyId"`
	VolumeType      string `json:"volumeType,omitempty"`
	CreatedDateTime string `json:"createdDateTime,omitempty"`
	OtherKeys       int    `json:"otherKeys,omitempty"` // older or other volumes' keys, not delivered
	Delivered       bool   `json:"deliveredPrivately"`
	Note            string `json:"note"`
}

// bitLockerKey lists the device's recovery keys (never with the key), picks
// the newest of its operating system volume (else the newest), and reads
// that one key with $select=key.
func bitLockerKey(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	d, entraID, err := c.entraDevice(ctx, tenant, raw)
	if err != nil {
		return nil, noSecret, err
	}
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	keys := informationprotection.NewInformationProtectionRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a).Bitlocker().RecoveryKeys()
	filter := "deviceId eq '" + entraID + "'" // a GUID: checked above
	resp, err := keys.Get(ctx, &informationprotection.BitlockerRecoveryKeysRequestBuilderGetRequestConfiguration{
		QueryParameters: &informationprotection.BitlockerRecoveryKeysRequestBuilderGetQueryParameters{Filter: &filter},
	})
	if err != nil {
		return nil, noSecret, secretError("list BitLocker recovery keys", "BitlockerKey.Read.All", err)
	}
	var best models.BitlockerRecoveryKeyable
	rank := func(k models.BitlockerRecoveryKeyable) (bool, int64) {
		os := deviceEnum(k.GetVolumeType()) == "operatingSystemVolume"
		if t := k.GetCreatedDateTime(); t != nil {
			return os, t.Unix()
		}
		return os, 0
	}
	n := 0
	for _, k := range resp.GetValue() {
		if !strings.EqualFold(str(k.GetDeviceId()), entraID) || !deviceIDPattern.MatchString(str(k.GetId())) {
			continue
		}
		n++
		if best == nil {
			best = k
			continue
		}
		os, at := rank(k)
		bos, bat := rank(best)
		if (os && !bos) || (os == bos && at > bat) {
			best = k
		}
	}
	name := str(d.GetDeviceName())
	if best == nil {
		return nil, noSecret, tierzero.Errorf(tierzero.ENotFound,
			"no BitLocker recovery key is stored in Microsoft Entra ID for %s: BitLocker may be off on it (device.compliance shows that) or its key was never backed up", name)
	}
	k, err := keys.ByBitlockerRecoveryKeyId(str(best.GetId())).Get(ctx, &informationprotection.BitlockerRecoveryKeysBitlockerRecoveryKeyItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &informationprotection.BitlockerRecoveryKeysBitlockerRecoveryKeyItemRequestBuilderGetQueryParameters{Select: []string{"key"}},
	})
	if err != nil {
		return nil, noSecret, secretError("read the BitLocker recovery key", "BitlockerKey.Read.All", err)
	}
	key := strings.TrimSpace(str(k.GetKey()))
	if key == "" {
		return nil, noSecret, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph returned the BitLocker recovery key of %s without its value; try again later", name)
	}
	out := keyResult{
		Device:          briefDevice(d),
		KeyID:           str(best.GetId()),
		VolumeType:      deviceEnum(best.GetVolumeType()),
		CreatedDateTime: deviceTime(best.GetCreatedDateTime()),
		OtherKeys:       n - 1,
		Delivered:       true,
		Note: "The recovery key was sent to the requester privately and is not shown here. On the BitLocker recovery screen, " +
			"the Key ID shown should match the start of keyId; if it does not, the drive was encrypted with another key and IT must look further.",
	}
	return out, tierzero.NewSecret(SecretBitLockerKey, "BitLocker recovery key", key), nil
}

// lapsResult is what device.laps_password shows.
type lapsResult struct {
	Device         deviceBrief `json:"device"`
	AccountName    string      `json:"accountName,omitempty"`
	BackupDateTime string      `json:"backupDateTime,omitempty"`
	Delivered      bool        `json:"deliveredPrivately"`
	Note           string      `json:"note"`
}

// lapsPassword reads the device's Windows LAPS backup with
// $select=credentials and delivers the newest password.
func lapsPassword(c *Client, ctx context.Context, tenant tierzero.TenantID, raw json.RawMessage) (any, tierzero.Secret, error) {
	d, entraID, err := c.entraDevice(ctx, tenant, raw)
	if err != nil {
		return nil, noSecret, err
	}
	name := str(d.GetDeviceName())
	if os := deviceOS(d); os != "windows" {
		return nil, noSecret, tierzero.Errorf(tierzero.EInvalid, "%s is a %s device; Windows LAPS keeps local administrator passwords of Windows PCs only", name, str(d.GetOperatingSystem()))
	}
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, noSecret, err
	}
	info, err := directory.NewDirectoryRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a).DeviceLocalCredentials().
		ByDeviceLocalCredentialInfoId(entraID).Get(ctx, &directory.DeviceLocalCredentialsDeviceLocalCredentialInfoItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &directory.DeviceLocalCredentialsDeviceLocalCredentialInfoItemRequestBuilderGetQueryParameters{Select: []string{"credentials"}},
	})
	if isStatus(err, http.StatusNotFound) {
		return nil, noSecret, fmt.Errorf("read the LAPS password: %w: %w", tierzero.Errorf(tierzero.ENotFound,
			"no local administrator password is backed up in Microsoft Entra ID for %s: Windows LAPS is not turned on for it, or it has not backed one up yet", name), err)
	}
	if err != nil {
		return nil, noSecret, secretError("read the LAPS password", "DeviceLocalCredential.Read.All", err)
	}
	var newest models.DeviceLocalCredentialable
	for _, cr := range info.GetCredentials() {
		if cr == nil || str(cr.GetPasswordBase64()) == "" {
			continue
		}
		if newest == nil || (cr.GetBackupDateTime() != nil && (newest.GetBackupDateTime() == nil || cr.GetBackupDateTime().After(*newest.GetBackupDateTime()))) {
			newest = cr
		}
	}
	if newest == nil {
		return nil, noSecret, tierzero.Errorf(tierzero.ENotFound, "Microsoft Entra ID holds no local administrator password for %s", name)
	}
	pw, ok := decodeLAPSPassword(str(newest.GetPasswordBase64()))
	if !ok {
		return nil, noSecret, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph returned the local administrator password of %s in a form that could not be read", name)
	}
	out := lapsResult{
		Device:         briefDevice(d),
		AccountName:    str(newest.GetAccountName()),
		BackupDateTime: deviceTime(newest.GetBackupDateTime()),
		Delivered:      true,
		Note: "The password was sent to the requester privately and is not shown here. It is the password of the local account accountName " +
			"(sign in as .\\accountName); Windows LAPS changes it again after use or at its next rotation, as its policy says.",
	}
	return out, tierzero.NewSecret(SecretLocalPassword, "local administrator password", pw), nil
}

// decodeLAPSPassword decodes passwordBase64. Microsoft's PowerShell
// (Get-LapsAADPassword) reads it as UTF-8; the v1.0 documentation's example
// (devicelocalcredentialinfo-get) is UTF-16LE. Both are accepted: bytes of
// even length whose every second byte is zero are UTF-16LE.
func decodeLAPSPassword(b64 string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(b) == 0 {
		return "", false
	}
	utf16le := len(b)%2 == 0
	for i := 1; i < len(b) && utf16le; i += 2 {
		utf16le = b[i] == 0
	}
	if utf16le {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		return string(utf16.Decode(u)), true
	}
	return string(b), true
}

// secretError turns a Graph error reading a device secret into plain words:
// a 403 names the permission the app needs.
func secretError(op, permission string, err error) error {
	if isStatus(err, http.StatusForbidden) {
		return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EUnauthorized,
			"Microsoft Graph refused to %s: tierzero's app needs the %s permission, consented by an administrator of this tenant", op, permission), err)
	}
	return graphError(op, err)
}
