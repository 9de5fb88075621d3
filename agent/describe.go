package agent

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tierzero/tierzero"
)

// Describe says in plain words what a write call does, from its action and
// arguments alone: for approvers and notifications.
// What the requester is told about private delivery is left out.
func Describe(c tierzero.ToolCall) string {
	s := describeCall(c, nil)
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, "privately)") {
		s = s[:i]
	}
	return s
}

// describeCall says in plain words what a call does, from its action
// and arguments alone (never from a result, so never a secret). names maps
// object ids seen in this request's results to their display names.
func describeCall(c tierzero.ToolCall, names map[string]string) string {
	var a map[string]any
	_ = json.Unmarshal(c.Args, &a)
	// Arguments are the model's: each is kept on its line of the plan, so
	// that none can print a line that passes for another step.
	arg := func(k string) string {
		s, _ := a[k].(string)
		return tierzero.PrintableLine(s)
	}
	named := func(what, id string) string {
		if n := names[strings.ToLower(id)]; n != "" && n != id {
			return fmt.Sprintf("%s %q (%s)", what, clip(n, 80), id)
		}
		return what + " " + id
	}
	user := arg("user")
	switch c.Action {
	case "user.reset_password":
		return "reset the password of " + user + " (a temporary password goes to you privately)"
	case "user.revoke_sessions":
		return "sign " + user + " out of every session"
	case "user.issue_tap":
		return "issue a Temporary Access Pass for " + user + " (the code goes to you privately)"
	case "user.reset_mfa":
		return "remove the MFA methods of " + user + " so they register again"
	case "user.enable":
		return "enable the account of " + user
	case "user.set_auto_reply":
		switch arg("status") {
		case "disabled":
			return "turn off the automatic replies of " + user
		case "scheduled":
			return fmt.Sprintf("turn on the automatic replies of %s from %s to %s", user, arg("start"), arg("end"))
		}
		return "turn on the automatic replies of " + user
	case "group.add_member":
		return "add " + user + " to the " + named("group", arg("group"))
	case "group.remove_member":
		return "remove " + user + " from the " + named("group", arg("group"))
	case "license.assign":
		return "assign the license " + arg("sku") + " to " + user
	case "license.remove":
		return "remove the license " + arg("sku") + " from " + user
	case "device.sync":
		return "ask the " + named("device", arg("device")) + " to check in with Intune now"
	case "device.reboot":
		return "restart the " + named("device", arg("device")) + " (unsaved work is lost)"
	case "device.retire":
		return "retire the " + named("device", arg("device")) + " (company data is removed)"
	case "device.wipe":
		return "factory-reset the " + named("device", arg("device")) + " (all data is erased)"
	// Reads, for the plans of technicians working across tenants.
	case "user.get":
		return "look up the account of " + user
	case "user.signins":
		return "read the recent sign-ins of " + user
	case "user.risk":
		return "read the risk level of " + user
	case "user.auth_methods":
		return "list the sign-in methods of " + user
	case "user.groups":
		return "list the groups of " + user
	case "user.devices":
		return "list the devices of " + user
	case "group.find":
		return fmt.Sprintf("search for groups whose name starts with %q", arg("prefix"))
	case "group.get":
		return "read the " + named("group", arg("group"))
	case "license.available":
		return "list the licenses available"
	case "device.compliance":
		return "check the compliance of the " + named("device", arg("device"))
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, tierzero.PrintableLine(fmt.Sprintf("%s=%v", k, a[k])))
	}
	return strings.TrimSpace(tierzero.PrintableLine(c.Action) + " " + strings.Join(parts, " "))
}

// collectNames records the display names of objects in a tool's output, so
// that a plan can say "the group "Sales" (id)" rather than a bare id.
func collectNames(out json.RawMessage, names map[string]string) {
	var v any
	if json.Unmarshal(out, &v) != nil {
		return
	}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 6 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			id, _ := x["id"].(string)
			for _, k := range []string{"displayName", "deviceName", "groupDisplayName"} {
				if n, _ := x[k].(string); id != "" && n != "" {
					names[strings.ToLower(id)] = n
					break
				}
			}
			for _, e := range x {
				walk(e, depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(v, 0)
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
