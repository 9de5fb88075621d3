package agent

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// Describe says in plain words, on one line, what a write call does, from
// its action and arguments alone: for approvers and notifications. The
// texts a call writes (an automatic reply) are quoted in full; dates are in
// UTC, said so. What the requester is told about private delivery is left
// out.
func Describe(c tierzero.ToolCall) string {
	d := describeIn(c, view{})
	d.private = ""
	return d.inline()
}

// description is what a call does, for people: one line, and the texts the
// call writes, which are shown in full.
type description struct {
	what    string  // one line, escaped
	private string  // what goes to the requester privately, "" for nothing
	quotes  []quote // texts the call writes, in full
}

// quote is a text a call writes and whom it is for.
type quote struct {
	to   string // "people in the organization", escaped
	text string // as the model wrote it, not yet escaped
}

// inline is d on one line: each quoted text in Go syntax (escaped
// newlines, quotes and control characters), so that nothing in it can end
// the quote or the line.
func (d description) inline() string {
	s := d.what
	if d.private != "" {
		s += " (" + d.private + ")"
	}
	for _, q := range d.quotes {
		s += "; to " + q.to + ": " + strconv.Quote(tierzero.Printable(q.text))
	}
	return s
}

// block is d for a plan: the line after prefix, then each quoted text line
// by line, each behind "    | " so that no line of it passes for a step of
// the plan.
func (d description) block(prefix, suffix string) string {
	var b strings.Builder
	b.WriteString(prefix + d.what)
	if d.private != "" {
		b.WriteString(" (" + d.private + ")")
	}
	b.WriteString(suffix)
	for _, q := range d.quotes {
		b.WriteString("\n  to " + q.to + ":")
		text := tierzero.Printable(q.text)
		if strings.TrimSpace(text) == "" {
			b.WriteString("\n    | (an empty message)")
			continue
		}
		for _, l := range strings.Split(text, "\n") {
			b.WriteString("\n    | " + tierzero.PrintableLine(l))
		}
	}
	return b.String()
}

// view is what a description knows besides the call.
type view struct {
	names map[string]string  // what the request read (collectNames)
	zone  *time.Location     // the time zone of dates, nil for UTC
	self  tierzero.Requester // who asks, when known
}

// mine reports whether the user argument ref is the requester's own
// account (false when the requester is not known).
func (v view) mine(ref string) bool {
	return ref != "" && (v.self.UPN != "" && strings.EqualFold(ref, v.self.UPN) || v.self.ObjectID != "" && strings.EqualFold(ref, v.self.ObjectID))
}

// describeIn is what c does, naming the objects it acts on by what v.names
// holds, with dates in v.zone.
func describeIn(c tierzero.ToolCall, v view) description {
	names, loc := v.names, v.zone
	var a map[string]any
	_ = json.Unmarshal(c.Args, &a)
	// Arguments are the model's: each is kept on its line of the plan, so
	// that none can print a line that passes for another step.
	arg := func(k string) string {
		s, _ := a[k].(string)
		return tierzero.PrintableLine(s)
	}
	user := nameUser(arg("user"), names)
	group := func() string { return nameGroup(arg("group"), names) }
	device := func() string { return nameDevice(arg("device"), names) }
	d := func(what string) description { return description{what: what} }
	switch c.Action {
	case "user.reset_password":
		d := description{what: "reset the password of " + user, private: "a temporary password goes to you privately"}
		if v.self.UPN != "" && !v.mine(arg("user")) {
			// Someone else's: they, not the requester, choose the new one.
			d.private += ", for you to pass on; " + user + " must change it at their next sign-in"
		}
		return d
	case tierzero.ActionOffboard, tierzero.ActionOnboard:
		return describePlan(c, user) // lifecycle.go
	case tierzero.ActionBaselineApply:
		return describeBaseline(c) // baseline.go
	case "user.revoke_sessions":
		return d("sign " + user + " out of every session")
	case "user.issue_tap":
		return description{what: "issue a Temporary Access Pass for " + user, private: "the code goes to you privately"}
	case "user.reset_mfa":
		return d("remove the MFA methods of " + user + " so they register again")
	case "user.enable":
		return d("enable the account of " + user)
	case "user.set_auto_reply":
		return autoReply(a, user, loc)
	case "group.add_member":
		return d("add " + user + " to " + group())
	case "group.remove_member":
		return d("remove " + user + " from " + group())
	case "license.assign":
		return d("assign the license " + nameLicense(arg("sku"), names) + " to " + user)
	case "license.remove":
		return d("remove the license " + nameLicense(arg("sku"), names) + " from " + user)
	case "device.sync":
		return d("ask " + device() + " to check in with Intune now")
	case "device.reboot":
		return d("restart " + device() + ": unsaved work on it is lost")
	case "device.retire":
		return d("retire " + device() + ": company data is removed from it")
	case "device.wipe":
		return d("factory-reset " + device() + ": all data on it is erased")
	case "user.block_sign_in":
		return d("block sign-in for " + user + ": they cannot sign in until the account is enabled again")
	case "user.set_manager":
		return d("make " + nameUser(arg("manager"), names) + " the manager of " + user)
	case "user.remove_auth_method":
		return d("remove one sign-in method of " + user + " (method " + arg("method_id") + ")")
	case "user.set_phone_method":
		return d(fmt.Sprintf("set the %s phone %s as a sign-in method of %s", phoneType(arg("phone_type")), arg("phone_number"), user))
	case "user.dismiss_risk":
		return d("dismiss the sign-in risk Microsoft flagged on " + user)
	case "user.confirm_compromised":
		return d("mark " + user + " as compromised: Microsoft raises their risk to high")
	case "user.invite_guest":
		return d(fmt.Sprintf("invite %s (%s) as a guest, sponsored by %s", arg("display_name"), arg("email"), nameUser(arg("sponsor"), names)))
	case "user.create":
		return d(fmt.Sprintf("create the account %s (%s) in %s", arg("display_name"), arg("mail_nickname"), arg("department")))
	case "onedrive.grant_access":
		return d("give " + nameUser(arg("grantee"), names) + " access to the OneDrive of " + user)
	case "group.add_owner":
		return d("make " + user + " an owner of " + group())
	case "group.remove_owner":
		return d("remove " + user + " as an owner of " + group())
	case "team.add_member":
		role := "a member"
		if arg("role") == "owner" {
			role = "an owner"
		}
		return d("add " + user + " to the team of " + nameGroup(arg("team"), names) + " as " + role)
	case "team.remove_member":
		return d("remove " + user + " from the team of " + nameGroup(arg("team"), names))
	case "device.lock":
		return d("lock " + device() + " remotely")
	case "device.reset_passcode":
		return d("remove the passcode of " + device())
	case "device.update_signatures":
		return d("update the Defender antivirus signatures of " + device())
	case "device.bitlocker_key":
		return description{what: "read the BitLocker recovery key of " + device(), private: "the key goes to you privately"}
	case "device.laps_password":
		return description{what: "read the local administrator password of " + device(), private: "the password goes to you privately"}
	// Reads, for the plans of technicians working across tenants.
	case "user.mfa_registration":
		return d("read the MFA registration of " + user)
	case "group.owners":
		return d("list the owners of " + group())
	case "team.members":
		return d("list the members of the team of " + nameGroup(arg("team"), names))
	case "service.health":
		if s := arg("service"); s != "" {
			return d("check the service health of " + s)
		}
		return d("check Microsoft 365 service health")
	case "lifecycle.offboard_plan":
		return d("read what offboarding " + user + " takes (access, licenses, groups, devices, mail)")
	case "lifecycle.onboard_plan":
		return d("work out the onboarding of " + arg("display_name") + " in " + arg("department") + " (account, licenses, groups)")
	case "user.get":
		return d("look up the account of " + user)
	case "user.signins":
		return d("read the recent sign-ins of " + user)
	case "user.risk":
		return d("read the risk level of " + user)
	case "user.auth_methods":
		return d("list the sign-in methods of " + user)
	case "user.groups":
		return d("list the groups of " + user)
	case "user.devices":
		return d("list the devices of " + user)
	case "group.find":
		return d(fmt.Sprintf("search for groups whose name starts with %q", arg("prefix")))
	case "group.get":
		return d("read " + group())
	case "license.available":
		return d("list the licenses available")
	case "device.compliance":
		return d("check the compliance of " + device())
	}
	if d, ok := describeBaselineStep(c.Action, arg, a["enabled"]); ok { // baseline.go
		return d
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
	return d(strings.TrimSpace(tierzero.PrintableLine(c.Action) + " " + strings.Join(parts, " ")))
}

// autoReply describes a user.set_auto_reply call: when the replies are on,
// each text in full and whom it goes to. A text the call does not set is
// kept as it is, and the plan says so.
func autoReply(a map[string]any, user string, loc *time.Location) description {
	str := func(k string) (string, bool) {
		s, ok := a[k].(string)
		return s, ok
	}
	status, _ := str("status")
	var d description
	switch status {
	case "disabled":
		d.what = "turn off the automatic replies of " + user
	case "scheduled":
		start, _ := str("start")
		end, _ := str("end")
		d.what = fmt.Sprintf("turn on the automatic replies of %s from %s to %s (%s)", user, when(start, loc), when(end, loc), zoneName(loc))
	case "alwaysEnabled":
		d.what = "turn on the automatic replies of " + user + " until they are turned off"
	default:
		d.what = fmt.Sprintf("set the automatic replies of %s to %q", user, tierzero.PrintableLine(status))
	}
	var kept []string
	if m, ok := str("internalMessage"); ok {
		d.quotes = append(d.quotes, quote{to: "people in the organization", text: m})
	} else if status != "disabled" {
		kept = append(kept, "the reply to people in the organization")
	}
	audience, set := str("externalAudience")
	outside := "people outside the organization"
	switch audience {
	case "all":
		outside = "everyone outside the organization"
	case "contactsOnly":
		outside = "people outside the organization who are in " + user + "'s contacts"
	case "none":
		outside = "people outside the organization (sent to nobody: the external audience is none)"
	case "":
		outside += " (whoever the current setting sends it to)"
	default:
		outside += fmt.Sprintf(" (external audience %q)", tierzero.PrintableLine(audience))
	}
	if m, ok := str("externalMessage"); ok {
		d.quotes = append(d.quotes, quote{to: outside, text: m})
	} else if status != "disabled" {
		switch {
		case audience == "none":
			d.what += ", with no reply to people outside the organization"
		case set:
			d.what += ", sending the current reply for outside people to " + outside
		default:
			kept = append(kept, "the reply to people outside the organization and who gets it")
		}
	}
	if len(kept) > 0 {
		d.what += ", keeping " + strings.Join(kept, " and ") + " as they are"
	}
	return d
}

// dateLayout is how a plan shows a date and time.
const dateLayout = "Mon 2 Jan 2006 15:04"

// when is an RFC 3339 date of a call, in loc (nil: UTC), for people.
func when(s string, loc *time.Location) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return strconv.Quote(tierzero.PrintableLine(s)) + " (not a date and time I can read)"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(dateLayout)
}

// zoneName says which time zone dates are shown in.
func zoneName(loc *time.Location) string {
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return "UTC"
	}
	return loc.String() + " time"
}

// ownerKey + a device id is the key of names that holds the UPN of the
// device's primary user ("" for none).
const ownerKey = "owner "

// nameUser names a user argument: a user principal name as it is, an
// object id with the display name read for it.
func nameUser(ref string, names map[string]string) string {
	if !isObjectID(ref) {
		return ref
	}
	if n := names[strings.ToLower(ref)]; n != "" {
		return fmt.Sprintf("%s (%s)", quoteName(n), ref)
	}
	return "the account with id " + ref + " (its name is not known to me)"
}

// nameGroup names a group argument by its display name and id.
func nameGroup(ref string, names map[string]string) string {
	if isObjectID(ref) {
		if n := names[strings.ToLower(ref)]; n != "" {
			return fmt.Sprintf("the group %s (id %s)", quoteName(n), ref)
		}
		return "the group with id " + ref + " (its name is not known to me)"
	}
	// A display name, which anyone may give a group: the id it names, when
	// one group read in this request has it.
	if id := idNamed(ref, names); id != "" {
		return fmt.Sprintf("the group %s (id %s)", quoteName(ref), id)
	}
	return fmt.Sprintf("the group named %s (its id is not known to me)", quoteName(ref))
}

// nameDevice names a device argument by its name, its owner and its id.
func nameDevice(ref string, names map[string]string) string {
	n := names[strings.ToLower(ref)]
	owner, known := names[ownerKey+strings.ToLower(ref)]
	switch {
	case n == "":
		return "the device with id " + ref + " (its name and owner are not known to me)"
	case !known:
		return fmt.Sprintf("the device %s (id %s; its owner is not known to me)", quoteName(n), ref)
	case owner == "":
		return fmt.Sprintf("the device %s, which has no primary user (id %s)", quoteName(n), ref)
	}
	return fmt.Sprintf("the device %s of %s (id %s)", quoteName(n), tierzero.PrintableLine(owner), ref)
}

// nameLicense names a license argument: a part number as it is, a SKU id
// with the part number read for it.
func nameLicense(ref string, names map[string]string) string {
	if !isObjectID(ref) {
		return ref
	}
	if n := names[strings.ToLower(ref)]; n != "" {
		return fmt.Sprintf("%s (SKU id %s)", tierzero.PrintableLine(n), ref)
	}
	return "with SKU id " + ref + " (its name is not known to me)"
}

// quoteName quotes a display name for a plan: on one line, clipped, and
// in Go syntax, so that a name holding a quote cannot end the quote early.
func quoteName(n string) string {
	return strconv.Quote(clip(tierzero.PrintableLine(n), 80))
}

// idNamed returns the one id names gives the display name n, "" when none
// or several do.
func idNamed(n string, names map[string]string) string {
	found := ""
	for id, v := range names {
		if strings.HasPrefix(id, ownerKey) || !strings.EqualFold(v, n) || !isObjectID(id) {
			continue
		}
		if found != "" {
			return ""
		}
		found = id
	}
	return found
}

// isObjectID reports whether s is a GUID, the form of Entra object ids,
// Intune device ids and SKU ids.
func isObjectID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// collectNames records what a tool's output says of the objects in it, so
// that a plan can say "the group "Sales" (id ...)" rather than a bare id:
// the display name of an object by its id (a group, a user, a device's
// name, a license's part number by its SKU id), and the owner of a device
// (names[ownerKey+id]): the ownerUPN it carries, or the user whose devices
// a list is.
func collectNames(out json.RawMessage, names map[string]string) {
	var v any
	if json.Unmarshal(out, &v) != nil {
		return
	}
	var walk func(v any, depth int, owner string)
	walk = func(v any, depth int, owner string) {
		if depth > 7 {
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
			if sku, _ := x["skuId"].(string); sku != "" {
				if n, _ := x["skuPartNumber"].(string); n != "" {
					names[strings.ToLower(sku)] = n
				}
			}
			if _, ok := x["deviceName"]; ok && id != "" {
				// A managed device as graph shows it: its primary user's
				// UPN, or the user whose devices are listed; neither
				// means it has none ("").
				// A later output that does not say keeps what an earlier
				// one did.
				o, _ := x["ownerUPN"].(string)
				if o == "" {
					o = owner
				}
				if k := ownerKey + strings.ToLower(id); o != "" || names[k] == "" {
					names[k] = o
				}
			}
			// The devices listed for a user are that user's.
			inner := ""
			if u, _ := x["user"].(string); u != "" {
				if _, ok := x["devices"].([]any); ok {
					inner = u
				}
			}
			for k, e := range x {
				o := ""
				if k == "devices" {
					o = inner
				}
				walk(e, depth+1, o)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1, owner)
			}
		}
	}
	walk(v, 0, "")
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// phoneType names a phone method's type as people say it.
func phoneType(t string) string {
	switch t {
	case "alternateMobile":
		return "alternate mobile"
	case "":
		return "mobile"
	}
	return t
}
