package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// simDeviceID returns the id of a seeded device by name.
func simDeviceID(t *testing.T, s *Server, tenant, name string) string {
	t.Helper()
	st, _ := s.State(tenant)
	for _, d := range st.Devices {
		if d.DeviceName == name {
			return d.ID
		}
	}
	t.Fatalf("%s has no device %q", tenant, name)
	return ""
}

func simDevice(t *testing.T, s *Server, tenant, name string) Device {
	t.Helper()
	st, _ := s.State(tenant)
	for _, d := range st.Devices {
		if d.DeviceName == name {
			return d
		}
	}
	t.Fatalf("%s has no device %q", tenant, name)
	return Device{}
}

// intuneErr checks an Intune error: its code, and a message that is itself a
// JSON document; it returns the CustomApiErrorPhrase.
func intuneErr(t *testing.T, r response, wantStatus int, wantCode string) string {
	t.Helper()
	if r.status != wantStatus {
		t.Fatalf("status = %d, want %d: %s", r.status, wantStatus, r.raw)
	}
	code, msg := graphErr(t, r)
	var inner struct {
		Version int    `json:"_version"`
		Message string `json:"Message"`
		Phrase  string `json:"CustomApiErrorPhrase"`
	}
	if err := json.Unmarshal([]byte(msg), &inner); err != nil || inner.Version != 3 || !strings.HasPrefix(inner.Message, "An error has occurred") {
		t.Errorf("message %q is not Intune's JSON document", msg)
	}
	if code != wantCode {
		t.Errorf("code = %q, want %q", code, wantCode)
	}
	return inner.Phrase
}

func TestDeviceSeed(t *testing.T) {
	_, s := newTest(t)
	for _, tn := range s.Tenants() {
		st, _ := s.State(tn)
		users := map[string]User{}
		for _, u := range st.Users {
			users[u.UserPrincipalName] = u
		}
		ids := map[string]bool{}
		oses := map[string]int{}
		for _, d := range st.Devices {
			u, ok := users[d.UserPrincipalName]
			if !ok || d.UserID != u.ID || d.UserDisplayName != u.DisplayName || d.EmailAddress != u.Mail {
				t.Errorf("%s: owner fields of %+v", tn, d)
			}
			if ids[d.ID] || d.AzureADDeviceID == "" || d.SerialNumber == "" || d.Model == "" || d.Manufacturer == "" ||
				d.EnrolledDateTime.IsZero() || d.LastSyncDateTime.IsZero() || d.ManagementState != "managed" || d.DeviceEnrollmentType == "" {
				t.Errorf("%s: device %+v", tn, d)
			}
			ids[d.ID] = true
			oses[d.OperatingSystem]++
			issues, seeded := deviceIssues[tn][d.DeviceName]
			if want := map[bool]string{true: "noncompliant", false: "compliant"}[seeded]; d.ComplianceState != want {
				t.Errorf("%s %s (%v): %s, want %s", tn, d.DeviceName, issues, d.ComplianceState, want)
			}
		}
		for name := range deviceIssues[tn] {
			if !slices.ContainsFunc(st.Devices, func(d Device) bool { return d.DeviceName == name }) {
				t.Errorf("%s: seeded issue on a missing device %q", tn, name)
			}
		}
		if oses["Windows"] == 0 || oses["iOS"] == 0 || oses["macOS"] == 0 {
			t.Errorf("%s: operating systems %v", tn, oses)
		}
	}
	// Deterministic ids.
	a, _ := New(Options{}).State("contoso")
	b, _ := s.State("contoso")
	for i := range a.Devices {
		if a.Devices[i].ID != b.Devices[i].ID || a.Devices[i].SerialNumber != b.Devices[i].SerialNumber {
			t.Fatalf("device %d differs between runs", i)
		}
	}
	// The state is a snapshot.
	b.Devices[0].DeviceActionResults = append(b.Devices[0].DeviceActionResults, DeviceAction{ActionName: "wipe"})
	b.Devices[0].ComplianceState = "error"
	if c, _ := s.State("contoso"); len(c.Devices[0].DeviceActionResults) != 0 || c.Devices[0].ComplianceState == "error" {
		t.Errorf("the state shares memory with the simulator")
	}
}

func TestListUserDevices(t *testing.T) {
	srv, s := newTest(t)
	r := do(t, srv, request{path: "/v1.0/users/adele.vance%40contoso.com/managedDevices", tenant: "contoso"})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.status, r.raw)
	}
	values := r.json["value"].([]any)
	if len(values) != 1 || !strings.HasPrefix(r.json["@odata.context"].(string), metadata+"#users('") {
		t.Fatalf("adele's devices: %s", r.raw)
	}
	d := values[0].(map[string]any)
	for _, k := range []string{"id", "userId", "deviceName", "managedDeviceOwnerType", "enrolledDateTime", "lastSyncDateTime", "operatingSystem",
		"complianceState", "jailBroken", "managementAgent", "osVersion", "easActivated", "azureADRegistered", "deviceEnrollmentType",
		"emailAddress", "azureADDeviceId", "deviceRegistrationState", "isEncrypted", "userPrincipalName", "model", "manufacturer",
		"serialNumber", "userDisplayName", "deviceActionResults", "managementState"} {
		if _, ok := d[k]; !ok {
			t.Errorf("property %s missing", k)
		}
	}
	if d["@odata.type"] != "#microsoft.graph.managedDevice" || d["deviceName"] != "CONTOSO-LT013" || d["isEncrypted"] != false ||
		d["complianceState"] != "noncompliant" || d["userPrincipalName"] != "adele.vance@contoso.com" {
		t.Errorf("adele's laptop = %v", d)
	}

	// Paging with $select kept across pages.
	st, _ := s.State("contoso")
	want := 0
	for _, d := range st.Devices {
		if d.UserPrincipalName == "allan.deyoung@contoso.com" {
			want++
		}
	}
	next := "/v1.0/users/allan.deyoung%40contoso.com/managedDevices?$top=10&$select=id,deviceName"
	seen, pages := map[string]bool{}, 0
	for next != "" {
		r := do(t, srv, request{path: next, tenant: "contoso"})
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, r.status, r.raw)
		}
		pages++
		for _, v := range r.json["value"].([]any) {
			m := v.(map[string]any)
			if len(m) != 3 { // id, deviceName, @odata.type
				t.Errorf("$select not kept: %v", m)
			}
			seen[m["id"].(string)] = true
		}
		next, _ = r.json["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(strings.Replace(next, "%40", "@", 1), srv.URL+"/v1.0/users/allan.deyoung@contoso.com/managedDevices?") {
			t.Fatalf("nextLink %q", next)
		}
	}
	if want != 29 || len(seen) != want || pages != 3 {
		t.Errorf("allan: %d devices in %d pages, want %d in 3", len(seen), pages, want)
	}

	for _, tt := range []struct {
		path, code string
		status     int
	}{
		{"/v1.0/users/nobody%40contoso.com/managedDevices", "Request_ResourceNotFound", 404},
		{"/v1.0/users/ben.walters%40fabrikam.com/managedDevices", "Request_ResourceNotFound", 404},
		{"/v1.0/users/adele.vance%40contoso.com/managedDevices?$filter=" + url.QueryEscape("operatingSystem eq 'iOS'"), "Request_UnsupportedQuery", 400},
		{"/v1.0/users/adele.vance%40contoso.com/managedDevices?$select=shoeSize", "BadRequest", 400},
		{"/v1.0/users/adele.vance%40contoso.com/managedDevices?$top=0", "BadRequest", 400},
	} {
		r := do(t, srv, request{path: tt.path, tenant: "contoso"})
		if r.status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, r.status, tt.status)
			continue
		}
		if code, _ := graphErr(t, r); code != tt.code {
			t.Errorf("%s: code %q, want %q", tt.path, code, tt.code)
		}
	}
}

func TestListManagedDevices(t *testing.T) {
	srv, s := newTest(t)
	st, _ := s.State("fabrikam")
	r := do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices", tenant: "fabrikam"})
	if r.status != http.StatusOK || len(r.json["value"].([]any)) != len(st.Devices) || r.json["@odata.context"] != metadata+"#deviceManagement/managedDevices" {
		t.Fatalf("all devices: %d %d, want %d", r.status, len(r.json["value"].([]any)), len(st.Devices))
	}
	r = do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices?$filter=" + url.QueryEscape("userPrincipalName eq 'CHLOE.martin@fabrikam.com'") + "&$select=deviceName", tenant: "fabrikam"})
	var names []string
	for _, v := range r.json["value"].([]any) {
		names = append(names, v.(map[string]any)["deviceName"].(string))
	}
	if !slices.Equal(names, []string{"FABRIKAM-LT011", "Chloe's iPhone"}) {
		t.Errorf("chloe's devices = %v (%s)", names, r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices?$filter=" + url.QueryEscape("userPrincipalName eq 'o''brien@fabrikam.com'"), tenant: "fabrikam"})
	if r.status != http.StatusOK || len(r.json["value"].([]any)) != 0 {
		t.Errorf("quoted filter: %s", r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices?$filter=" + url.QueryEscape("complianceState eq 'noncompliant'"), tenant: "fabrikam"})
	if code, _ := graphErr(t, r); r.status != 400 || code != "Request_UnsupportedQuery" {
		t.Errorf("unsupported filter: %d %s", r.status, r.raw)
	}
}

func TestGetManagedDevice(t *testing.T) {
	srv, s := newTest(t)
	id := simDeviceID(t, s, "contoso", "Diego's iPhone")
	r := do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices/" + id, tenant: "contoso"})
	if r.status != http.StatusOK || r.json["jailBroken"] != "True" || r.json["complianceState"] != "noncompliant" ||
		r.json["managedDeviceOwnerType"] != "personal" || r.json["operatingSystem"] != "iOS" || r.json["@odata.type"] != "#microsoft.graph.managedDevice" ||
		r.json["@odata.context"] != metadata+"#deviceManagement/managedDevices/$entity" {
		t.Fatalf("diego's iPhone: %s", r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices/" + strings.ToUpper(id) + "?$select=deviceName,UserPrincipalName", tenant: "contoso"})
	var keys []string
	for k := range r.json {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"@odata.context", "deviceName", "id", "userPrincipalName"}) || r.json["userPrincipalName"] != "diego.siciliani@contoso.com" {
		t.Errorf("$select: %s", r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices/" + id + "?$select=shoeSize", tenant: "contoso"})
	if _, msg := graphErr(t, r); r.status != 400 || msg != "Could not find a property named 'shoeSize' on type 'microsoft.graph.managedDevice'." {
		t.Errorf("unknown property: %d %s", r.status, r.raw)
	}
	intuneErr(t, do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices/00000000-0000-4000-8000-000000000000", tenant: "contoso"}), 404, "ResourceNotFound")
	intuneErr(t, do(t, srv, request{path: "/v1.0/deviceManagement/managedDevices/" + id, tenant: "fabrikam"}), 404, "ResourceNotFound")
}

func TestDeviceCompliancePolicyStates(t *testing.T) {
	srv, s := newTest(t)
	id := simDeviceID(t, s, "contoso", "CONTOSO-LT013")
	base := "/v1.0/deviceManagement/managedDevices/" + id + "/deviceCompliancePolicyStates"
	r := do(t, srv, request{path: base, tenant: "contoso"})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	values := r.json["value"].([]any)
	if len(values) != 1 {
		t.Fatalf("policy states: %s", r.raw)
	}
	ps := values[0].(map[string]any)
	if ps["@odata.type"] != "#microsoft.graph.deviceCompliancePolicyState" || ps["displayName"] != "Windows 10/11 compliance baseline" ||
		ps["platformType"] != "windows10AndLater" || ps["state"] != "nonCompliant" || ps["settingCount"] != float64(5) {
		t.Errorf("policy state = %v", ps)
	}
	states := map[string]string{}
	for _, v := range ps["settingStates"].([]any) {
		ss := v.(map[string]any)
		states[ss["setting"].(string)] = ss["state"].(string) + "/" + ss["currentValue"].(string)
		if ss["userPrincipalName"] != "adele.vance@contoso.com" || ss["settingName"] == "" || len(ss["sources"].([]any)) != 1 {
			t.Errorf("setting state %v", ss)
		}
	}
	want := map[string]string{
		"Windows10CompliancePolicy.bitLockerEnabled":       "nonCompliant/False",
		"Windows10CompliancePolicy.secureBootEnabled":      "compliant/True",
		"Windows10CompliancePolicy.activeFirewallRequired": "compliant/True",
		"Windows10CompliancePolicy.signatureOutOfDate":     "compliant/False",
		"Windows10CompliancePolicy.osMinimumVersion":       "compliant/10.0.22631.4460",
	}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s = %q, want %q", k, states[k], v)
		}
	}

	r = do(t, srv, request{path: base + "/" + ps["id"].(string), tenant: "contoso"})
	if r.status != http.StatusOK || r.json["id"] != ps["id"] || !strings.HasSuffix(r.json["@odata.context"].(string), "/deviceCompliancePolicyStates/$entity") {
		t.Errorf("one policy state: %s", r.raw)
	}
	intuneErr(t, do(t, srv, request{path: base + "/" + id, tenant: "contoso"}), 404, "ResourceNotFound")
	// settingStates is a navigation only in beta.
	r = do(t, srv, request{path: base + "/" + ps["id"].(string) + "/settingStates", tenant: "contoso"})
	if _, msg := graphErr(t, r); r.status != 400 || msg != "Resource not found for the segment 'settingStates'." {
		t.Errorf("settingStates segment: %d %s", r.status, r.raw)
	}

	// The policy behind the state, with its v1.0 type and minimum OS.
	r = do(t, srv, request{path: "/v1.0/deviceManagement/deviceCompliancePolicies/" + ps["id"].(string), tenant: "contoso"})
	if r.status != http.StatusOK || r.json["@odata.type"] != "#microsoft.graph.windows10CompliancePolicy" || r.json["osMinimumVersion"] != "10.0.22631" ||
		r.json["bitLockerEnabled"] != true {
		t.Errorf("policy: %s", r.raw)
	}
	r = do(t, srv, request{path: "/v1.0/deviceManagement/deviceCompliancePolicies", tenant: "fabrikam"})
	var types []string
	for _, v := range r.json["value"].([]any) {
		types = append(types, v.(map[string]any)["@odata.type"].(string))
	}
	if !slices.Equal(types, []string{"#microsoft.graph.windows10CompliancePolicy", "#microsoft.graph.iosCompliancePolicy", "#microsoft.graph.macOSCompliancePolicy"}) {
		t.Errorf("policies = %v", types)
	}
	// Policy ids are per tenant.
	intuneErr(t, do(t, srv, request{path: "/v1.0/deviceManagement/deviceCompliancePolicies/" + ps["id"].(string), tenant: "fabrikam"}), 404, "ResourceNotFound")
}

func TestDeviceActions(t *testing.T) {
	srv, s := newTest(t)
	post := func(name, action, body string) response {
		return do(t, srv, request{method: http.MethodPost, tenant: "contoso", body: body, gzip: body != "",
			path: "/v1.0/deviceManagement/managedDevices/" + simDeviceID(t, s, "contoso", name) + "/" + action})
	}
	// A sync refreshes antivirus signatures and re-evaluates compliance.
	if r := post("CONTOSO-LT010", "syncDevice", ""); r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("sync: %d %s", r.status, r.raw)
	}
	d := simDevice(t, s, "contoso", "CONTOSO-LT010")
	if d.ComplianceState != "compliant" || !d.LastSyncDateTime.Equal(testNow) || !d.Health.SignaturesUpToDate ||
		len(d.DeviceActionResults) != 1 || d.DeviceActionResults[0] != (DeviceAction{"syncDevice", "done", testNow, testNow}) {
		t.Errorf("after sync: %+v", d)
	}
	// ... but does not encrypt a disk or upgrade Windows.
	post("CONTOSO-LT013", "syncDevice", "")
	post("CONTOSO-LT007", "syncDevice", "")
	for _, name := range []string{"CONTOSO-LT013", "CONTOSO-LT007"} {
		if d := simDevice(t, s, "contoso", name); d.ComplianceState != "noncompliant" || !d.LastSyncDateTime.Equal(testNow) {
			t.Errorf("%s after sync: %s", name, d.ComplianceState)
		}
	}
	// A second sync replaces the first result.
	post("CONTOSO-LT010", "syncDevice", "")
	if d := simDevice(t, s, "contoso", "CONTOSO-LT010"); len(d.DeviceActionResults) != 1 {
		t.Errorf("action results = %+v", d.DeviceActionResults)
	}

	if r := post("CONTOSO-LT001", "rebootNow", ""); r.status != http.StatusNoContent {
		t.Fatalf("reboot: %d %s", r.status, r.raw)
	}
	if d := simDevice(t, s, "contoso", "CONTOSO-LT001"); len(d.DeviceActionResults) != 1 || d.DeviceActionResults[0].ActionName != "rebootNow" ||
		d.DeviceActionResults[0].ActionState != "pending" || d.ManagementState != "managed" {
		t.Errorf("after reboot: %+v", d)
	}

	// Retire, then only a wipe is taken.
	if r := post("Diego's iPhone", "retire", ""); r.status != http.StatusNoContent {
		t.Fatalf("retire: %d %s", r.status, r.raw)
	}
	if d := simDevice(t, s, "contoso", "Diego's iPhone"); d.ManagementState != "retirePending" {
		t.Errorf("after retire: %s", d.ManagementState)
	}
	for _, action := range []string{"retire", "syncDevice", "rebootNow"} {
		if phrase := intuneErr(t, post("Diego's iPhone", action, ""), 400, "BadRequest"); !strings.Contains(phrase, "retire is pending") {
			t.Errorf("%s after retire: %q", action, phrase)
		}
	}
	if r := post("Diego's iPhone", "wipe", `{"keepEnrollmentData":false,"keepUserData":false}`); r.status != http.StatusNoContent {
		t.Fatalf("wipe after retire: %d %s", r.status, r.raw)
	}
	for _, action := range []string{"wipe", "retire", "syncDevice"} {
		if phrase := intuneErr(t, post("Diego's iPhone", action, ""), 400, "BadRequest"); !strings.Contains(phrase, "wipe is pending") {
			t.Errorf("%s after wipe: %q", action, phrase)
		}
	}
	d = simDevice(t, s, "contoso", "Diego's iPhone")
	if d.ManagementState != "wipePending" || len(d.DeviceActionResults) != 2 || d.DeviceActionResults[1].ActionName != "wipe" {
		t.Errorf("after wipe: %+v", d)
	}
	// The wiping device is still listed, with its state.
	r := do(t, srv, request{path: "/v1.0/users/diego.siciliani%40contoso.com/managedDevices?$select=deviceName,managementState,deviceActionResults", tenant: "contoso"})
	found := false
	for _, v := range r.json["value"].([]any) {
		m := v.(map[string]any)
		if m["deviceName"] == "Diego's iPhone" {
			found = true
			results := m["deviceActionResults"].([]any)
			last := results[len(results)-1].(map[string]any)
			if m["managementState"] != "wipePending" || last["actionName"] != "wipe" || last["actionState"] != "pending" || last["startDateTime"] != "2026-11-02T09:30:00Z" {
				t.Errorf("listed: %v", m)
			}
		}
	}
	if !found {
		t.Errorf("the wiping device left the list: %s", r.raw)
	}

	// Bodies: only wipe takes parameters.
	for _, tt := range []struct{ device, action, body string }{
		{"CONTOSO-LT002", "wipe", `{"keepUserData":"no"}`},
		{"CONTOSO-LT002", "wipe", `{"factoryResetHarder":true}`},
		{"CONTOSO-LT002", "syncDevice", `{"keepUserData":false}`},
		{"CONTOSO-LT002", "wipe", `{"keepUserData":`},
	} {
		if r := post(tt.device, tt.action, tt.body); r.status != http.StatusBadRequest {
			t.Errorf("%s %s: status %d", tt.action, tt.body, r.status)
		}
	}
	if d := simDevice(t, s, "contoso", "CONTOSO-LT002"); d.ManagementState != "managed" || len(d.DeviceActionResults) != 0 {
		t.Errorf("a refused action changed the device: %+v", d)
	}
	if r := post("CONTOSO-LT003", "wipe", `{"keepEnrollmentData":true,"keepUserData":true,"macOsUnlockCode":null,"persistEsimDataPlan":true}`); r.status != http.StatusNoContent {
		t.Errorf("wipe with every v1.0 parameter: %d %s", r.status, r.raw)
	}

	intuneErr(t, do(t, srv, request{method: http.MethodPost, tenant: "contoso", path: "/v1.0/deviceManagement/managedDevices/00000000-0000-4000-8000-000000000000/wipe"}), 404, "ResourceNotFound")
	if r := do(t, srv, request{tenant: "contoso", path: "/v1.0/deviceManagement/managedDevices/" + simDeviceID(t, s, "contoso", "CONTOSO-LT004") + "/wipe"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET wipe: %d", r.status)
	}

	j := s.Journal("contoso")
	var got []string
	for _, e := range j {
		got = append(got, e.Path[strings.LastIndex(e.Path, "/")+1:]+":"+http.StatusText(e.Status))
	}
	if len(j) != 19 || got[0] != "syncDevice:No Content" || !strings.Contains(string(j[9].Body), `"keepEnrollmentData":false`) {
		t.Errorf("journal (%d) = %v", len(j), got)
	}
	if fj := s.Journal("fabrikam"); len(fj) != 0 {
		t.Errorf("fabrikam journal = %+v", fj)
	}
}

// Graph v1.0 is publicly reported to return deviceCompliancePolicyStates
// with empty settingStates, or none at all, and settingName null
// (https://github.com/microsoftgraph/microsoft-graph-docs/issues/7862,
// https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/1131): the
// sparse devices answer so, and the per-setting report
// (https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicysettingstatesummary)
// still names their failing settings.
func TestSparseCompliance(t *testing.T) {
	srv, s := newTest(t)
	states := func(tenant, name string) []any {
		r := do(t, srv, request{tenant: tenant, path: "/v1.0/deviceManagement/managedDevices/" + simDeviceID(t, s, tenant, name) + "/deviceCompliancePolicyStates"})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		}
		return r.json["value"].([]any)
	}
	full := states("contoso", "CONTOSO-LT010")
	if len(full) != 1 || len(full[0].(map[string]any)["settingStates"].([]any)) == 0 {
		t.Errorf("full device: %v", full)
	}
	sparse := states("contoso", "CONTOSO-LT015")
	if len(sparse) != 1 || sparse[0].(map[string]any)["state"] != "nonCompliant" || len(sparse[0].(map[string]any)["settingStates"].([]any)) != 0 {
		t.Errorf("device without setting states: %v", sparse)
	}
	if none := states("fabrikam", "FABRIKAM-LT001"); len(none) != 0 {
		t.Errorf("device without policy states: %v", none)
	}
	if d := simDevice(t, s, "fabrikam", "FABRIKAM-LT001"); d.ComplianceState != "noncompliant" {
		t.Errorf("FABRIKAM-LT001 is %s", d.ComplianceState)
	}

	// The per-setting report: summaries, then one device's states.
	r := do(t, srv, request{tenant: "fabrikam", path: "/v1.0/deviceManagement/deviceCompliancePolicySettingStateSummaries"})
	if r.status != http.StatusOK {
		t.Fatalf("summaries: %d %s", r.status, r.raw)
	}
	var firewall map[string]any
	for _, v := range r.json["value"].([]any) {
		m := v.(map[string]any)
		if m["setting"] == "Windows10CompliancePolicy.activeFirewallRequired" {
			firewall = m
		}
	}
	// fabrikam: FABRIKAM-LT021 and FABRIKAM-LT001 have the firewall off.
	if firewall == nil || firewall["platformType"] != "windows10AndLater" || firewall["nonCompliantDeviceCount"] != float64(2) {
		t.Fatalf("firewall summary = %v", firewall)
	}
	id := simDeviceID(t, s, "fabrikam", "FABRIKAM-LT001")
	r = do(t, srv, request{tenant: "fabrikam", path: "/v1.0/deviceManagement/deviceCompliancePolicySettingStateSummaries/" + firewall["id"].(string) +
		"/deviceComplianceSettingStates?$filter=" + url.QueryEscape("deviceId eq '"+id+"'")})
	vals, _ := r.json["value"].([]any)
	if r.status != http.StatusOK || len(vals) != 1 {
		t.Fatalf("setting states: %d %s", r.status, r.raw)
	}
	if m := vals[0].(map[string]any); m["state"] != "nonCompliant" || m["settingName"] != nil || m["deviceId"] != id || m["deviceName"] != "FABRIKAM-LT001" {
		t.Errorf("setting state = %v", m)
	}
	r = do(t, srv, request{tenant: "fabrikam", path: "/v1.0/deviceManagement/deviceCompliancePolicySettingStateSummaries/" + firewall["id"].(string) +
		"/deviceComplianceSettingStates?$filter=" + url.QueryEscape("deviceName eq 'x'")})
	if r.status != http.StatusBadRequest {
		t.Errorf("unsupported filter: %d", r.status)
	}
	intuneErr(t, do(t, srv, request{tenant: "contoso", path: "/v1.0/deviceManagement/deviceCompliancePolicySettingStateSummaries/" + firewall["id"].(string) + "/deviceComplianceSettingStates"}), 404, "ResourceNotFound")
}

// A sync is a request: Intune pushes it and the device checks in later
// (https://learn.microsoft.com/graph/api/intune-devices-manageddevice-syncdevice
// answers 204 at once; the check-in follows). Until then the action is
// pending and nothing about the device changes.
func TestCheckInDelay(t *testing.T) {
	now := testNow
	s := New(Options{Now: func() time.Time { return now }, CheckInDelay: 5 * time.Minute})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	id := simDeviceID(t, s, "contoso", "CONTOSO-LT010")
	before := simDevice(t, s, "contoso", "CONTOSO-LT010")
	if r := do(t, srv, request{method: http.MethodPost, tenant: "contoso", path: "/v1.0/deviceManagement/managedDevices/" + id + "/syncDevice"}); r.status != http.StatusNoContent {
		t.Fatalf("sync: %d %s", r.status, r.raw)
	}
	now = now.Add(4 * time.Minute)
	d := simDevice(t, s, "contoso", "CONTOSO-LT010")
	if d.ComplianceState != "noncompliant" || !d.LastSyncDateTime.Equal(before.LastSyncDateTime) || d.DeviceActionResults[0].ActionState != "pending" {
		t.Errorf("before the check-in: %+v", d)
	}
	r := do(t, srv, request{tenant: "contoso", path: "/v1.0/deviceManagement/managedDevices/" + id + "?$select=complianceState"})
	if r.json["complianceState"] != "noncompliant" {
		t.Errorf("read before the check-in: %s", r.raw)
	}
	now = now.Add(2 * time.Minute)
	r = do(t, srv, request{tenant: "contoso", path: "/v1.0/deviceManagement/managedDevices/" + id + "?$select=complianceState,lastSyncDateTime,deviceActionResults"})
	if r.json["complianceState"] != "compliant" || r.json["lastSyncDateTime"] != "2026-11-02T09:35:00Z" {
		t.Errorf("read after the check-in: %s", r.raw)
	}
	if a := r.json["deviceActionResults"].([]any)[0].(map[string]any); a["actionState"] != "done" || a["lastUpdatedDateTime"] != "2026-11-02T09:35:00Z" {
		t.Errorf("action after the check-in: %v", a)
	}

	// An explicit check-in, through /_sim/checkin.
	other := simDeviceID(t, s, "contoso", "CONTOSO-LT015")
	do(t, srv, request{method: http.MethodPost, tenant: "contoso", path: "/v1.0/deviceManagement/managedDevices/" + other + "/windowsDefenderUpdateSignatures"})
	if d := simDevice(t, s, "contoso", "CONTOSO-LT015"); d.ComplianceState != "noncompliant" {
		t.Errorf("signature update before its check-in: %s", d.ComplianceState)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: "/_sim/checkin?tenant=contoso&device=" + other}); r.status != http.StatusNoContent {
		t.Fatalf("/_sim/checkin: %d %s", r.status, r.raw)
	}
	if d := simDevice(t, s, "contoso", "CONTOSO-LT015"); d.ComplianceState != "compliant" || !d.LastSyncDateTime.Equal(now) ||
		d.DeviceActionResults[0] != (DeviceAction{"windowsDefenderUpdateSignatures", "done", now, now}) {
		t.Errorf("after the check-in: %+v", d)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: "/_sim/checkin?tenant=contoso&device=nope"}); r.status != http.StatusNotFound {
		t.Errorf("/_sim/checkin of no device: %d", r.status)
	}
	if r := do(t, srv, request{path: "/_sim/checkin?tenant=contoso&device=" + other}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /_sim/checkin: %d", r.status)
	}
}

// Intune's remote actions are per platform
// (https://learn.microsoft.com/mem/intune/remote-actions/device-passcode-reset:
// no passcode reset on Windows, macOS or User Enrollment iOS; remote lock is
// not for Windows PCs; Defender signature updates are Windows only), and a
// remoteLock sent to a Windows PC answers a bare 400 BadRequest
// (https://github.com/microsoftgraph/microsoft-graph-docs/issues/10007).
func TestPlatformActions(t *testing.T) {
	srv, s := newTest(t)
	post := func(name, action string) response {
		return do(t, srv, request{method: http.MethodPost, tenant: "contoso",
			path: "/v1.0/deviceManagement/managedDevices/" + simDeviceID(t, s, "contoso", name) + "/" + action})
	}
	for _, tt := range []struct{ device, action string }{
		{"CONTOSO-LT001", "remoteLock"},
		{"CONTOSO-LT001", "resetPasscode"},
		{"CONTOSO-MB006", "resetPasscode"},
		{"Lynne's iPhone", "resetPasscode"}, // Apple User Enrollment
		{"Lynne's iPhone", "windowsDefenderUpdateSignatures"},
		{"CONTOSO-MB006", "windowsDefenderUpdateSignatures"},
	} {
		if phrase := intuneErr(t, post(tt.device, tt.action), 400, "BadRequest"); phrase != "" {
			t.Errorf("%s %s: phrase %q", tt.device, tt.action, phrase)
		}
	}
	for _, tt := range []struct{ device, action string }{
		{"Lynne's iPhone", "remoteLock"},
		{"CONTOSO-MB006", "remoteLock"},
		{"CONTOSO-IPH025", "resetPasscode"},
		{"CONTOSO-LT001", "windowsDefenderUpdateSignatures"},
	} {
		if r := post(tt.device, tt.action); r.status != http.StatusNoContent {
			t.Errorf("%s %s: %d %s", tt.device, tt.action, r.status, r.raw)
		}
	}
	// The passcode reset removes the company iPhone's passcode at its
	// check-in: it is out of compliance until the user sets a new one.
	if d := simDevice(t, s, "contoso", "CONTOSO-IPH025"); d.Health.PasscodeSet || d.ComplianceState != "noncompliant" ||
		d.DeviceEnrollmentType != "appleBulkWithUser" || d.ManagedDeviceOwnerType != "company" || d.UserPrincipalName != "nestor.wilke@contoso.com" {
		t.Errorf("company iPhone after a passcode reset: %+v", d)
	}
	if d := simDevice(t, s, "contoso", "CONTOSO-LT001"); len(d.DeviceActionResults) != 1 || d.DeviceActionResults[0].ActionState != "done" {
		t.Errorf("the refused actions were recorded: %+v", d.DeviceActionResults)
	}
}
