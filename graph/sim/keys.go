package sim

// This file: the secrets Entra ID keeps about devices. BitLocker recovery
// keys and Windows LAPS passwords are backed up to the Entra device object,
// whose id is the managed device's azureADDeviceId.
//
// Endpoints (Graph v1.0):
//
//	GET /informationProtection/bitlocker/recoveryKeys?$filter=deviceId eq '{id}'
//	    the device's keys, without the key itself (the list never returns it)
//	GET /informationProtection/bitlocker/recoveryKeys/{keyId}[?$select=key]
//	    one key; the key property only when $select names it
//	GET /directory/deviceLocalCredentials/{deviceId}[?$select=credentials]
//	    the device's LAPS backup; the passwords (base64) only with $select=credentials
//
// Which devices have what is derived, not stored: a Windows device encrypted
// at enrollment escrowed one operating-system-volume recovery key (so
// CONTOSO-LT013 and FABRIKAM-LT010, whose BitLocker is off, have none: the
// list is empty); every Windows device but the loaners backs up its local
// administrator password (the loaner pool has no LAPS policy: 404); macOS
// and iOS have neither. The values derive from the tenant and the device, so
// they never sit in the state, the journal (GETs are not journaled) or the
// logs. RecoveryKey and LocalAdminPassword give them to tests.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// hasRecoveryKey reports whether d escrowed a BitLocker recovery key.
func hasRecoveryKey(d *Device) bool { return d.OperatingSystem == "Windows" && d.IsEncrypted }

// hasLAPS reports whether d backs up its local administrator password.
func hasLAPS(d *Device) bool {
	return d.OperatingSystem == "Windows" && !strings.Contains(d.DeviceName, "-LOAN")
}

// recoveryKeyID is the id of d's recovery key (the "Key ID" BitLocker's
// recovery screen shows the start of).
func (t *tenant) recoveryKeyID(d *Device) string { return guid(t.name, "bitlockerKey", d.ID) }

// recoveryKey derives d's 48-digit recovery password: eight groups of six
// digits, each a multiple of 11 below 720896, as BitLocker's are.
func (t *tenant) recoveryKey(d *Device) string {
	sum := sha256.Sum256([]byte(t.name + "\x00bitlocker\x00" + d.ID))
	groups := make([]string, 8)
	for i := range groups {
		n := int(binary.BigEndian.Uint16(sum[2*i:])) * 11
		groups[i] = fmt.Sprintf("%06d", n)
	}
	return strings.Join(groups, "-")
}

// localAdminPassword derives d's current LAPS password.
func (t *tenant) localAdminPassword(d *Device) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-"
	sum := sha256.Sum256([]byte(t.name + "\x00laps\x00" + d.ID))
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// deviceByEntraID finds a managed device by its Entra device id.
func (t *tenant) deviceByEntraID(id string) *Device {
	for i := range t.devices {
		if strings.EqualFold(t.devices[i].AzureADDeviceID, id) {
			return &t.devices[i]
		}
	}
	return nil
}

// RecoveryKey returns the BitLocker recovery key of a managed device (by
// id) of a tenant, for tests; false when it has none.
func (s *Server) RecoveryKey(name, deviceID string) (string, bool) {
	return s.deviceSecret(name, deviceID, hasRecoveryKey, (*tenant).recoveryKey)
}

// LocalAdminPassword returns the current LAPS password of a managed device
// (by id) of a tenant, for tests; false when it has none.
func (s *Server) LocalAdminPassword(name, deviceID string) (string, bool) {
	return s.deviceSecret(name, deviceID, hasLAPS, (*tenant).localAdminPassword)
}

// deviceSecret returns secret of a managed device (by id) of a tenant when
// the device has one (has).
func (s *Server) deviceSecret(name, deviceID string, has func(*Device) bool, secret func(*tenant, *Device) string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[name]
	if !ok {
		return "", false
	}
	d := t.device(deviceID)
	if d == nil || !has(d) {
		return "", false
	}
	return secret(t, d), true
}

// recoveryKeyFilter matches the one $filter supported on recoveryKeys.
var recoveryKeyFilter = regexp.MustCompile(`^\s*deviceId\s+eq\s+'([^']*)'\s*$`)

// recoveryKeyJSON renders d's recovery key, with the key when withKey.
func (t *tenant) recoveryKeyJSON(d *Device, withKey bool) map[string]any {
	m := map[string]any{
		"id":              t.recoveryKeyID(d),
		"createdDateTime": graphTime(d.EnrolledDateTime.Add(42 * time.Minute)),
		"volumeType":      "operatingSystemVolume",
		"deviceId":        d.AzureADDeviceID,
	}
	if withKey {
		m["key"] = t.recoveryKey(d)
	}
	return m
}

// listRecoveryKeys serves GET /informationProtection/bitlocker/recoveryKeys.
// The list never carries the key.
func (s *Server) listRecoveryKeys(c *call) reply {
	keep := func(*Device) bool { return true }
	if raw := c.query.Get("$filter"); raw != "" {
		m := recoveryKeyFilter.FindStringSubmatch(raw)
		if m == nil {
			return badRequest("Invalid filter clause: only deviceId eq '...' is supported.")
		}
		keep = func(d *Device) bool { return strings.EqualFold(d.AzureADDeviceID, m[1]) }
	}
	items := []any{}
	for i := range c.t.devices {
		if d := &c.t.devices[i]; hasRecoveryKey(d) && keep(d) {
			items = append(items, c.t.recoveryKeyJSON(d, false))
		}
	}
	return collectionOf(c, items, "informationProtection/bitlocker/recoveryKeys", 100)
}

// selects reports whether $select names prop (case-insensitively); unknown
// names are Graph's 400.
func selects(c *call, entity, prop string, known ...string) (bool, reply) {
	sel, rep := selectOf(c.query, entity, func(name string) (string, bool) {
		i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, name) })
		if i < 0 {
			return "", false
		}
		return known[i], true
	})
	return slices.Contains(sel, prop), rep
}

// getRecoveryKey serves GET /informationProtection/bitlocker/recoveryKeys/{id}.
func (s *Server) getRecoveryKey(c *call) reply {
	withKey, rep := selects(c, "microsoft.graph.bitlockerRecoveryKey", "key", "id", "createdDateTime", "volumeType", "deviceId", "key")
	if rep.code != "" {
		return rep
	}
	for i := range c.t.devices {
		d := &c.t.devices[i]
		if hasRecoveryKey(d) && strings.EqualFold(c.t.recoveryKeyID(d), c.params["key"]) {
			m := c.t.recoveryKeyJSON(d, withKey)
			m["@odata.context"] = metadata + "#informationProtection/bitlocker/recoveryKeys/$entity"
			return ok(m)
		}
	}
	return notFound(c.params["key"])
}

// getLocalCredentials serves GET /directory/deviceLocalCredentials/{deviceId}.
// passwordBase64 is the password's UTF-8 bytes in base64.
func (s *Server) getLocalCredentials(c *call) reply {
	withCreds, rep := selects(c, "microsoft.graph.deviceLocalCredentialInfo", "credentials",
		"id", "deviceName", "lastBackupDateTime", "refreshDateTime", "credentials")
	if rep.code != "" {
		return rep
	}
	d := c.t.deviceByEntraID(c.params["entraDevice"])
	if d == nil || !hasLAPS(d) {
		return notFound(c.params["entraDevice"])
	}
	backup := s.now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	m := map[string]any{
		"@odata.context":     metadata + "#directory/deviceLocalCredentials/$entity",
		"id":                 d.AzureADDeviceID,
		"deviceName":         d.DeviceName,
		"lastBackupDateTime": graphTime(backup),
		"refreshDateTime":    graphTime(backup.Add(30 * 24 * time.Hour)),
	}
	if withCreds {
		m["credentials"] = []any{map[string]any{
			"accountName":    "Administrator",
			"accountSid":     "S-1-5-21-" + fmt.Sprint(binary.BigEndian.Uint32([]byte(d.ID[:4]))) + "-500",
			"backupDateTime": graphTime(backup),
			"passwordBase64": base64.StdEncoding.EncodeToString([]byte(c.t.localAdminPassword(d))),
		}}
	}
	return ok(m)
}
