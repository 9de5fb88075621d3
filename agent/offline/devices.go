package offline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tierzero/tierzero/agent"
)

type device struct {
	ID         string `json:"id"`
	Name       string `json:"deviceName"`
	OS         string `json:"operatingSystem"`
	Compliance string `json:"complianceState"`
}

// compliance: list the requester's devices, explain why the one in
// question fails, and ask it to check in when that can fix it.
func (s *state) compliance(t task) agent.Response {
	if !s.can(toolDevices) {
		return s.escalate("the user reports a device that is not compliant, and devices cannot be read here", "I can't look at devices here.")
	}
	user := s.userOf(t)
	if user == "" {
		return s.askWhom("%s's laptop is not compliant")
	}
	r := s.callFor(toolDevices, user)
	if r == nil {
		return s.call(toolDevices, map[string]any{"user": user}, fmt.Sprintf("Let me look at %s devices.", s.whose(user)))
	}
	if !r.ok {
		return s.cannotRead(r, "the user reports a device that is not compliant", "look at your devices")
	}
	var v struct {
		Devices []device `json:"devices"`
	}
	json.Unmarshal(r.output, &v)
	var bad []device
	for _, d := range v.Devices {
		if d.Compliance != "compliant" {
			bad = append(bad, d)
		}
	}
	if len(bad) == 0 {
		var names []string
		for _, d := range v.Devices {
			names = append(names, fmt.Sprintf("%q (%s)", d.Name, d.OS))
		}
		if len(names) == 0 && !s.isSelf(user) {
			return say(fmt.Sprintf("I don't see any device of %s managed by Intune.", user))
		}
		if len(names) == 0 {
			return say("I don't see any device of yours managed by Intune. If your device should be, open Company Portal on it and enroll it.")
		}
		return say("All " + s.whose(user) + " devices show as compliant in Intune: " + strings.Join(names, ", ") +
			". If one still says it isn't, open Company Portal on it and choose Check status.")
	}
	dev := pickDevice(t.text+" "+s.text, bad)
	onDevice := func() map[string]any { // in the tenant of the device list
		args := map[string]any{"device": dev.ID}
		if t, ok := r.args["tenant"]; ok {
			args["tenant"] = t
		}
		return args
	}
	if s.can(toolCompliance) && !s.tried(toolCompliance) {
		return s.call(toolCompliance, onDevice(), fmt.Sprintf("%q shows as %s; let me see why.", dev.Name, dev.Compliance))
	}
	failing, syncable := failingSettings(s.get(toolCompliance))
	found := fmt.Sprintf("%q is not compliant.", dev.Name)
	if len(failing) > 0 {
		found = fmt.Sprintf("%q is not compliant: %s.", dev.Name, strings.Join(failing, "; "))
	}
	if !syncable {
		tail := " If you need a hand, contact your IT support."
		if s.tech() {
			tail = ""
		}
		return say(found, "These need a change on the device itself ("+advice(failing)+"). After that, open Company Portal and choose Check status."+tail)
	}
	if r := s.get(toolSync); r != nil {
		return say(found, s.outcome(r, s.tr(msgSyncDone)))
	}
	if !s.can(toolSync) {
		return say(found, "A check-in usually fixes this: open Company Portal on the device and choose Check status.")
	}
	return s.call(toolSync, onDevice(), found)
}

// pickDevice chooses the device the user means among the non-compliant
// ones: by name, then by kind, else the first.
func pickDevice(text string, ds []device) device {
	low := strings.ToLower(text)
	for _, d := range ds {
		if d.Name != "" && strings.Contains(low, strings.ToLower(d.Name)) {
			return d
		}
	}
	mobile := strings.Contains(low, "phone") || strings.Contains(low, "ipad") || strings.Contains(low, "android") || strings.Contains(low, "mobile")
	for _, d := range ds {
		isMobile := d.OS == "iOS" || d.OS == "Android" || d.OS == "iPadOS"
		if mobile == isMobile {
			return d
		}
	}
	return ds[0]
}

// failingSettings lists the failing requirements of a device.compliance
// result, and whether a check-in may clear them (also when none is listed).
func failingSettings(r *result) ([]string, bool) {
	if r == nil || !r.ok {
		return nil, true
	}
	var v struct {
		Policies []struct {
			Failing []struct {
				Requirement  string `json:"requirement"`
				CurrentValue string `json:"currentValue"`
				SyncMayFix   bool   `json:"syncMayFix"`
			} `json:"failing"`
		} `json:"policies"`
	}
	if json.Unmarshal(r.output, &v) != nil {
		return nil, true
	}
	var out []string
	syncable, listed := false, false
	for _, p := range v.Policies {
		for _, f := range p.Failing {
			listed = true
			syncable = syncable || f.SyncMayFix
			w := clip(f.Requirement, 120)
			if v := plainValue(f.CurrentValue); v != "" {
				w += fmt.Sprintf(" (currently %s)", clip(v, 60))
			}
			out = append(out, w)
		}
	}
	return out, syncable || !listed
}

// advice says what a user can do about failing requirements.
func advice(failing []string) string {
	low := strings.ToLower(strings.Join(failing, " "))
	var tips []string
	for _, t := range []struct{ key, tip string }{
		{"bitlocker", "turn on disk encryption (BitLocker on Windows, FileVault on a Mac)"},
		{"filevault", "turn on disk encryption (BitLocker on Windows, FileVault on a Mac)"},
		{"encrypt", "turn on disk encryption (BitLocker on Windows, FileVault on a Mac)"},
		{"os version", "install the latest system updates"},
		{"minimum", "install the latest system updates"},
		{"firewall", "turn the firewall on"},
		{"password", "set a device password or PIN"},
		{"passcode", "set a device passcode"},
		{"jailbr", "a jailbroken or rooted device can't be made compliant: restore it to its original software"},
		{"antivirus", "update the antivirus"},
		{"defender", "update Microsoft Defender"},
	} {
		if strings.Contains(low, t.key) && !slices.Contains(tips, t.tip) {
			tips = append(tips, t.tip)
		}
	}
	if len(tips) == 0 {
		return "see the requirements above"
	}
	return strings.Join(tips, ", ")
}

// plainValue is a setting's current value as people say it: "on" and
// "off", not "True" and "False".
func plainValue(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "enabled":
		return "on"
	case "false", "no", "disabled":
		return "off"
	case "", "null", "<nil>":
		return ""
	}
	return v
}

// deviceActions say what a device action did.
var deviceActions = map[string]struct{ verb, done string }{
	toolReboot:     {"restart", "I asked %q to restart now; it restarts within a few minutes when it is online."},
	toolWipe:       {"wipe", "I asked %q to wipe itself: it is reset to factory settings the next time it is online, and company data on it is gone."},
	toolRetire:     {"retire", "I retired %q: company data and apps are removed from it, and it is no longer managed."},
	toolLock:       {"lock", "I asked Intune to lock %q: it locks as soon as it is online, and opens with its passcode."},
	toolPasscode:   {"remove the passcode of", "I asked Intune to remove the passcode of %q: when it checks in, it opens without one and asks to set a new passcode."},
	toolSignatures: {"update the antivirus of", "I asked Microsoft Defender on %q to update its antivirus signatures: it does so at its next check-in, usually within minutes."},
}

// deviceAction: list the user's devices, find the one the request names
// (or the only one of its kind), then act on it. A device that is not the
// user's is not touched.
func (s *state) deviceAction(t task, tool string) agent.Response {
	act := deviceActions[tool]
	user := s.userOf(t)
	if user == "" {
		return s.askWhom("%s's laptop")
	}
	if !s.can(toolDevices) || !s.can(tool) {
		return s.escalate(fmt.Sprintf("%s asks to %s a device of %s, which cannot be done here", s.self(), act.verb, user), "I can't "+act.verb+" devices here.")
	}
	r := s.callFor(toolDevices, user)
	if r == nil {
		return s.call(toolDevices, map[string]any{"user": user}, "")
	}
	if !r.ok {
		return s.cannotRead(r, fmt.Sprintf("the user asks to %s a device of %s", act.verb, user), "look at the devices")
	}
	var v struct {
		Devices []device `json:"devices"`
	}
	json.Unmarshal(r.output, &v)
	dev, ok := namedDevice(t.text, v.Devices)
	if !ok && !deviceNamed(t.text) {
		// "I lost my iPhone. Please wipe it.": the device is in the clause before.
		dev, ok = namedDevice(s.text, v.Devices)
	}
	switch {
	case !ok && (deviceNamed(t.text) || deviceNamed(s.text)):
		return s.decline(fmt.Sprintf("The device you name is not one of %s devices, so I can't %s it.", s.whose(user), act.verb))
	case !ok:
		var names []string
		for _, d := range v.Devices {
			names = append(names, fmt.Sprintf("%q (%s)", d.Name, d.OS))
		}
		if len(names) == 0 {
			return say(fmt.Sprintf("I don't see any device of %s managed by Intune.", user))
		}
		return s.ask(fmt.Sprintf("Which device do you mean? I see: %s.", strings.Join(names, ", ")))
	}
	for i := len(s.results) - 1; i >= 0; i-- {
		x := s.results[i]
		if id, _ := x.args["device"].(string); x.name == tool && id == dev.ID {
			return say(s.outcome(x, fmt.Sprintf(act.done, dev.Name)))
		}
	}
	return s.call(tool, map[string]any{"device": dev.ID}, "")
}

// namedDevice returns the device of ds that text names, or the only one of
// the kind it names (a phone, a laptop).
func namedDevice(text string, ds []device) (device, bool) {
	low := strings.ToLower(text)
	for _, d := range ds {
		if d.Name != "" && strings.Contains(low, strings.ToLower(d.Name)) {
			return d, true
		}
	}
	c := canon(text)
	mobile := strings.Contains(c, "phone") || strings.Contains(low, "ipad") || strings.Contains(low, "android")
	laptop := strings.Contains(c, "laptop") || strings.Contains(low, "desktop") || strings.Contains(low, "mac")
	var kind []device
	for _, d := range ds {
		isMobile := d.OS == "iOS" || d.OS == "Android" || d.OS == "iPadOS"
		if (mobile && isMobile) || (laptop && !isMobile) {
			kind = append(kind, d)
		}
	}
	if len(kind) == 1 {
		return kind[0], true
	}
	if len(ds) == 1 && !mobile && !laptop {
		return ds[0], true
	}
	return device{}, false
}

var deviceName = mustPattern(`\b[A-Z][A-Z0-9]+-[A-Z0-9]+\b`)

// deviceNamed reports whether text names a device by its name (an
// Intune-style name: letters and digits with a dash, "CONTOSO-LT010").
func deviceNamed(text string) bool {
	return deviceName.MatchString(unquoted(text)) || strings.Contains(text, `"`)
}
