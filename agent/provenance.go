package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/tierzero/tierzero"
)

// Source is where the value of an argument of a proposed write comes from.
type Source string

// Sources of an argument. Tool output and tenant data are untrusted:
// anyone who can write a job title, a device name or a group description
// writes them.
const (
	SourceWords    Source = "requester"   // the requester's own words in this conversation
	SourceIdentity Source = "identity"    // the verified requester: their UPN, object id, or a device they own
	SourceCatalog  Source = "catalog"     // a value the tool's schema lists or bounds
	SourceModel    Source = "model"       // a date, or text the model wrote that carries no text of tool output
	SourceData     Source = "tenant data" // named or written only in tool output
	// SourceUnknown is an id or address that nothing in the conversation
	// names, neither the requester nor any result: the model supplied it.
	// It is not data someone planted (that would be in a result), so
	// policy decides it as it does any call.
	SourceUnknown Source = "unknown"
)

// Trusted reports whether an argument from s may run without the
// requester's yes: all but tenant data.
func (s Source) Trusted() bool { return s != SourceData }

// ArgSource is the provenance of one argument of a call.
type ArgSource struct {
	Arg    string
	Value  string // a string argument as the call has it
	Source Source
	Why    string
}

// Targets: the arguments that name what a write acts on. Other string
// arguments that are neither in an enum nor a date are free text. A guest
// invitation acts on its sponsor, the employee who answers for the guest
// (policy reads the sponsor as its target); the guest's address names
// someone outside the tenant, so it is judged as a target too: the
// requester's words, or data that wrote it.
var targetArgs = map[string]bool{"user": true, "group": true, "device": true, "sku": true,
	"manager": true, "sponsor": true, "team": true, "email": true, "method_id": true}

// targetKind is the kind of object a target argument names: a manager or
// a guest's sponsor is a user, a guest's address is a guest (no account of
// the tenant yet), a team is a group, a method is one of a user's sign-in
// methods.
func targetKind(arg string) string {
	switch arg {
	case "manager", "sponsor":
		return "user"
	case "email":
		return "guest"
	case "team":
		return "group"
	case "method_id":
		return "method"
	}
	return arg
}

// longRun is the length, in characters, of a word (an address, a link) of
// tool output that makes free text carrying it untrusted on its own.
const longRun = 24

// evidence is what the tool results of a conversation showed: the objects
// they named, with the names and owners seen with them, and their text.
type evidence struct {
	objects map[string]*seenObject // by lower-case id, and users by UPN too
	grams   map[string]bool        // runs of gramSize words
	long    map[string]bool        // words of at least longRun characters
	whole   map[string]bool        // whole string values of 8 characters or more
	named   map[string]bool        // addresses and object ids written anywhere in tool output (lower case)

	calls map[string]tierzero.ToolCall // the calls of the turns read, by id
	read  int                          // how many turns of the conversation were read
}

// seenObject is an object a tool result named.
type seenObject struct {
	names []string // display names, device names, UPNs, SKU part numbers
	owner string   // of a device: its owner's UPN or id, when known
}

func (o *seenObject) name(n string) {
	if n != "" && !slices.Contains(o.names, n) {
		o.names = append(o.names, n)
	}
}

// gather reads the tool results of turns.
func gather(turns []tierzero.Turn) *evidence {
	ev := &evidence{objects: map[string]*seenObject{}, grams: map[string]bool{}, long: map[string]bool{}, whole: map[string]bool{}, named: map[string]bool{},
		calls: map[string]tierzero.ToolCall{}}
	ev.add(turns)
	return ev
}

// more returns ev with the turns of the conversation added since it was
// gathered; turns holds the ones it read, unchanged (a request only adds
// turns). A call that reuses the id of one already read could change
// which call a result read before answers: then turns are gathered anew.
func (ev *evidence) more(turns []tierzero.Turn) *evidence {
	if ev == nil || ev.read > len(turns) {
		return gather(turns)
	}
	for _, t := range turns[ev.read:] {
		for _, c := range t.ToolCalls {
			if _, reused := ev.calls[c.ID]; reused {
				return gather(turns)
			}
		}
	}
	ev.add(turns[ev.read:])
	return ev
}

// add reads the tool results of turns, which follow those ev has read.
func (ev *evidence) add(turns []tierzero.Turn) {
	ev.read += len(turns)
	calls := ev.calls
	for _, t := range turns {
		for _, c := range t.ToolCalls {
			calls[c.ID] = c
		}
	}
	for _, t := range turns {
		if t.Role != tierzero.TurnTool {
			continue
		}
		_, data, ok := UnwrapToolResult(t.Content)
		if !ok {
			ev.text(t.Content)
			continue
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			ev.text(string(data))
			continue
		}
		owner := ""
		if c, ok := calls[t.ToolCallID]; ok && (c.Action == "user.devices" || c.Action == "user.auth_methods") {
			var a struct{ User string }
			_ = json.Unmarshal(c.Args, &a)
			owner = a.User
		}
		ev.walk(v, owner, 0)
	}
}

// walk records the strings and objects under v; owner is whose devices a
// listing shows.
func (ev *evidence) walk(v any, owner string, depth int) {
	if depth > 12 {
		return
	}
	switch x := v.(type) {
	case string:
		ev.text(x)
	case []any:
		for _, e := range x {
			ev.walk(e, owner, depth+1)
		}
	case map[string]any:
		ev.object(x, owner)
		for _, e := range x {
			ev.walk(e, owner, depth+1)
		}
	}
}

// object records what a JSON object of a result says about the object it
// describes.
func (ev *evidence) object(m map[string]any, owner string) {
	str := func(k string) string { s, _ := m[k].(string); return s }
	idKeys := []string{"id", "skuId", "userPrincipalName"}
	if str("deviceName") != "" {
		idKeys = idKeys[:1] // a device's userPrincipalName is its owner's
	}
	var keys []string
	for _, k := range idKeys {
		if s := str(k); s != "" {
			keys = append(keys, strings.ToLower(s))
		}
	}
	if len(keys) == 0 {
		return
	}
	var o *seenObject
	for _, k := range keys {
		if o = ev.objects[k]; o != nil {
			break
		}
	}
	if o == nil {
		o = &seenObject{}
	}
	for _, k := range keys {
		ev.objects[k] = o
	}
	if str("deviceName") != "" {
		o.name(str("deviceName"))
		switch {
		case str("ownerUPN") != "":
			o.owner = str("ownerUPN")
		case str("userPrincipalName") != "":
			o.owner = str("userPrincipalName")
		case owner != "" && o.owner == "":
			o.owner = owner
		}
		return
	}
	for _, k := range []string{"displayName", "groupDisplayName", "userPrincipalName", "mail", "skuPartNumber"} {
		o.name(str(k))
	}
	if owner != "" && o.owner == "" {
		o.owner = owner // a sign-in method in a user's listing
	}
}

// text records a string of tool output.
func (ev *evidence) text(s string) {
	f := tierzero.Fold(s)
	for _, g := range grams(valueWords(f)) {
		ev.grams[g] = true
	}
	if len(f) >= longRun { // no shorter text holds a long word
		for _, w := range strings.Fields(f) {
			if w = trimPunct(w); len(w) >= longRun {
				ev.long[w] = true
			}
		}
	}
	if w := strings.TrimSpace(f); len(w) >= 8 {
		ev.whole[w] = true
	}
	for _, re := range []*regexp.Regexp{upnPattern, guidPattern} {
		for _, m := range re.FindAllString(s, -1) {
			ev.named[strings.ToLower(m)] = true
		}
	}
}

func trimPunct(w string) string { return strings.Trim(w, `"'«»“”„()[]{}<>.,;:!?`) }

// judge holds what the gate compares a write with: the requester, their
// intent (read from their own messages only) and what the tool results of
// the conversation showed.
type judge struct {
	req    tierzero.Requester
	intent Intent
	ev     *evidence
}

// judge reads the conversation as it is now: the intent from the user
// turns (read once per request: only addUser adds to them), the evidence
// from the tool turns (those added since the last judge only).
func (r *request) judge() judge {
	if r.intent == nil {
		in := ReadIntent(r.conv.Turns)
		r.intent = &in
	}
	r.ev = r.ev.more(r.conv.Turns)
	return judge{req: r.req, intent: *r.intent, ev: r.ev}
}

// provenance says where each argument of c comes from. sc is the tool's
// schema (nil: none).
func (j judge) provenance(c tierzero.ToolCall, sc *schema) []ArgSource {
	dec := json.NewDecoder(bytes.NewReader(c.Args))
	dec.UseNumber()
	var args map[string]any
	if dec.Decode(&args) != nil {
		return nil
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []ArgSource
	for _, k := range keys {
		s, isString := args[k].(string)
		a := ArgSource{Arg: k, Value: s}
		var prop *schema
		if sc != nil {
			prop = sc.Properties[k]
		}
		switch {
		case !isString:
			a.Source, a.Why = SourceCatalog, "a number or switch within the tool's bounds"
		case prop != nil && len(prop.Enum) > 0:
			a.Source, a.Why = SourceCatalog, "one of the values the tool lists"
		case prop != nil && prop.Format == "date-time":
			a.Source, a.Why = SourceModel, "a date and time"
		case targetArgs[k]:
			a.Source, a.Why = j.target(targetKind(k), s)
		default:
			a.Source, a.Why = j.freeText(s)
		}
		out = append(out, a)
	}
	return out
}

// target says where the object a target argument names comes from.
func (j judge) target(kind, v string) (Source, string) {
	words := &j.intent.words
	low := strings.ToLower(v)
	if kind == "user" && j.isRequester(v) {
		return SourceIdentity, "you"
	}
	if words.hasText(v) {
		return SourceWords, "you named it"
	}
	switch kind {
	case "user":
		if u := j.writtenAs(v); u != "" {
			return SourceWords, fmt.Sprintf("you wrote %s", u)
		}
		if n := upnFirstName(v); n != "" && words.hasWord(n) {
			return SourceWords, fmt.Sprintf("you named %q", n)
		}
	case "sku":
		if words.contains(strings.NewReplacer("_", " ", "-", " ").Replace(v)) {
			return SourceWords, "you named it"
		}
		if i := strings.LastIndex(v, "_"); i >= 0 && len(v)-i > 2 && words.hasWord(tierzero.Fold(v[i+1:])) {
			return SourceWords, "you named it (" + v[i+1:] + ")"
		}
	}
	o := j.ev.objects[low]
	if o == nil {
		if j.ev.named[low] {
			return SourceData, fmt.Sprintf("%q is written only in data I read, not by you", tierzero.PrintableLine(clip(v, 80)))
		}
		return SourceUnknown, "no message of yours and no result I read names it"
	}
	for _, n := range o.names {
		switch {
		case kind == "user" && j.isRequester(n):
			return SourceIdentity, "you"
		case words.hasText(n) || words.contains(n):
			return SourceWords, fmt.Sprintf("you named %q", n)
		case kind == "user" && firstName(n) != "" && words.hasWord(firstName(n)):
			return SourceWords, fmt.Sprintf("you named %q", firstName(n))
		}
	}
	if kind == "method" && o.owner != "" {
		// A method listed for an account: the account says whose it is.
		if j.isRequester(o.owner) {
			return SourceIdentity, "a method of your own account"
		}
		if src, why := j.target("user", o.owner); src == SourceWords {
			return SourceWords, "a method of the account you named (" + why + ")"
		}
	}
	if kind == "device" && o.owner != "" {
		if j.isRequester(o.owner) {
			return SourceIdentity, "your own device"
		}
		if src, why := j.target("user", o.owner); src == SourceWords {
			return SourceWords, "the device of someone you named (" + why + ")"
		}
	}
	name := v
	if len(o.names) > 0 {
		name = o.names[0]
	}
	return SourceData, fmt.Sprintf("%q is named only in data I read, not by you", tierzero.PrintableLine(clip(name, 80)))
}

// isRequester reports whether v is the requester's UPN or object id.
func (j judge) isRequester(v string) bool {
	return strings.EqualFold(v, j.req.UPN) || j.req.ObjectID != "" && strings.EqualFold(v, j.req.ObjectID)
}

// writtenAs returns the address the requester wrote that upn is a
// misspelling of (same domain, the name within two edits), or "".
func (j judge) writtenAs(upn string) string {
	name, domain, ok := strings.Cut(strings.ToLower(upn), "@")
	if !ok {
		return ""
	}
	for _, o := range j.intent.Objects {
		n, d, ok := strings.Cut(strings.ToLower(o.Text), "@")
		if o.Kind == ObjectUser && ok && d == domain && len(name) >= 8 && tierzero.EditDistance(n, name, 2) <= 2 {
			return o.Text
		}
	}
	return ""
}

// upnFirstName is the first part of the name of an address
// (alex.wilber@contoso.com: alex), folded, when it is long enough to name
// someone; "" for anything else.
func upnFirstName(upn string) string {
	name, _, ok := strings.Cut(upn, "@")
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(strings.NewReplacer("_", ".", "-", ".").Replace(name), ".")
	if first = tierzero.Fold(first); len([]rune(first)) < 3 {
		return ""
	}
	return first
}

// firstName is the first word of a display name, folded, when it is long
// enough to name someone.
func firstName(display string) string {
	ws := valueWords(tierzero.Fold(display))
	if len(ws) < 2 || len([]rune(ws[0])) < 3 {
		return ""
	}
	return ws[0]
}

// freeText says where free text comes from: it is untrusted when it
// carries text of tool output that the requester did not write (a run of
// gramSize words, a word of longRun characters, or the whole of a value).
func (j judge) freeText(v string) (Source, string) {
	words := &j.intent.words
	ev := j.ev
	f := tierzero.Fold(v)
	toks := valueWords(f)
	var runs []string
	for i, g := range grams(toks) {
		if ev.grams[g] && !words.grams[g] {
			if n := len(runs); n > 0 && strings.HasSuffix(runs[n-1], strings.Join(toks[i:i+gramSize-1], " ")) {
				runs[n-1] += " " + toks[i+gramSize-1]
				continue
			}
			runs = append(runs, g)
		}
	}
	for _, w := range strings.Fields(f) {
		if w = trimPunct(w); len(w) >= longRun && ev.long[w] && !words.hasText(w) {
			runs = append(runs, w)
		}
	}
	if w := strings.TrimSpace(f); len(runs) == 0 && ev.whole[w] && !words.hasText(w) {
		runs = append(runs, w)
	}
	switch {
	case len(runs) > 0:
		return SourceData, "it carries text from data I read, not from your words (" + strings.Join(runs, "; ") + ")"
	case words.hasText(strings.TrimSpace(v)):
		return SourceWords, "your words"
	}
	return SourceModel, "written by the assistant; no text of the data I read is in it"
}

// verdict is the gate's judgement of a proposed write.
type verdict struct {
	in   bool   // the recorded intent holds it
	why  string // why it is in or out
	args []ArgSource
}

// untrusted returns the arguments whose source is not trusted.
func (v verdict) untrusted() []ArgSource {
	var out []ArgSource
	for _, a := range v.args {
		if !a.Source.Trusted() {
			out = append(out, a)
		}
	}
	return out
}

// gated reports whether the write waits for the requester's yes.
func (v verdict) gated() bool { return !v.in || len(v.untrusted()) > 0 }

// check judges a proposed write against the requester's intent and the
// provenance of its arguments.
func (j judge) check(c tierzero.ToolCall, sc *schema) verdict {
	v := verdict{args: j.provenance(c, sc)}
	v.in, v.why = j.inIntent(c, v.args)
	return v
}

// inIntent reports whether the recorded intent holds the call, and why.
func (j judge) inIntent(c tierzero.ToolCall, args []ArgSource) (bool, string) {
	asks := j.intent.lead(c.Action)
	what := actionWords[c.Action]
	if what == "" {
		what = c.Action
	}
	if len(asks) == 0 {
		if j.intent.mentioned(c.Action) {
			return false, "you did not ask me to " + what + " in your request; it is named only in text after it, which may be pasted from elsewhere"
		}
		return false, "you did not ask me to " + what + "; the idea came from the data I read or from me, not from you"
	}
	arg := func(k string) (ArgSource, bool) {
		i := slices.IndexFunc(args, func(a ArgSource) bool { return a.Arg == k })
		if i < 0 {
			return ArgSource{}, false
		}
		return args[i], true
	}
	if c.Action == actionAutoReply {
		if st, ok := arg("status"); ok {
			want := autoReplyOn
			if st.Value == "disabled" {
				want = autoReplyOff
			}
			if !slices.ContainsFunc(asks, func(a Ask) bool { return a.Status == "" || a.Status == want }) {
				return false, "you asked me to turn the automatic replies " + asks[0].Status + ", not " + want
			}
		}
	}
	if u, ok := arg("user"); ok && u.Source == SourceIdentity && !j.intent.Self {
		if others := j.intent.others(j.req); len(others) > 0 {
			return false, "you named " + strings.Join(others, ", ") + ", not yourself"
		}
	}
	return true, "you asked for it (" + asks[0].Cue + ")"
}

// actionWords say what an action does, after "ask me to".
var actionWords = map[string]string{
	actionResetPassword: "reset a password",
	actionResetMFA:      "remove sign-in (MFA) methods",
	actionIssueTAP:      "issue a Temporary Access Pass",
	actionAutoReply:     "change automatic replies",
	actionRevoke:        "sign anyone out of their sessions",
	actionEnable:        "enable an account",
	actionAddMember:     "add anyone to a group",
	actionRemoveMember:  "remove anyone from a group",
	actionAssignLicense: "assign a license",
	actionRemoveLicense: "remove a license",
	actionSync:          "sync a device",
	actionReboot:        "restart a device",
	actionRetire:        "retire a device",
	actionWipe:          "wipe a device",
	actionBlockSignIn:   "block anyone's sign-in",
	actionSetManager:    "change anyone's manager",
	actionRemoveMethod:  "remove a sign-in (MFA) method",
	actionSetPhone:      "add or change a phone number for sign-in",
	actionDismissRisk:   "dismiss a sign-in risk",
	actionConfirmRisk:   "mark an account as compromised",
	actionInviteGuest:   "invite a guest",
	actionLock:          "lock a device",
	actionResetPasscode: "remove a device's passcode",
	actionSignatures:    "update a device's antivirus signatures",
	actionAddOwner:      "make anyone a group owner",
	actionRemoveOwner:   "remove a group owner",
	actionTeamAdd:       "add anyone to a team",
	actionTeamRemove:    "remove anyone from a team",
}

// answerGated reports whether the gate holds a write among calls, the tool
// calls of one model answer (model names). Then every write of the answer
// waits for the requester's yes with it: an answer that reaches beyond
// what the requester asked for, or carries data into a write, is not
// trusted with its other writes either; the requester sees them all.
func (r *request) answerGated(calls []tierzero.ToolCall) bool {
	var j judge
	for _, c := range calls {
		info := r.a.byName[c.Action]
		if info == nil || !info.spec.Write {
			continue
		}
		if checkArgsSize(c.Args) != nil {
			continue // rejected unread: it does not run
		}
		canon, err := tierzero.CanonicalArgs(c.Args)
		if err != nil || info.schema.validateArgs(canon) != nil {
			continue // rejected as invalid: it does not run
		}
		if j.ev == nil {
			j = r.judge()
		}
		c.Action, c.Args = info.spec.Action, canon
		if j.check(c, info.schema).gated() {
			return true
		}
	}
	return false
}

// proposalFacts are the facts of a proposal's audit record: the tenant of
// a call into another tenant and, for a write, the gate's verdict: intent
// ("in" or "out") and why, the actions asked for, where each argument
// comes from, and the untrusted ones.
func (r *request) proposalFacts(c tierzero.ToolCall) map[string]string {
	facts := callFacts(c)
	info := r.a.byAction[c.Action]
	if info == nil || !info.spec.Write {
		return facts
	}
	j := r.judge()
	v := j.check(c, info.schema)
	if facts == nil {
		facts = map[string]string{}
	}
	facts["intent"] = "out"
	if v.in {
		facts["intent"] = "in"
	}
	facts["intent_why"] = clip(v.why, 300)
	facts["asked"] = clip(j.intent.Summary(), 300)
	var prov, bad []string
	for _, a := range v.args {
		prov = append(prov, a.Arg+"="+string(a.Source))
		if !a.Source.Trusted() {
			bad = append(bad, a.Arg)
		}
	}
	facts["provenance"] = strings.Join(prov, ",")
	if len(bad) > 0 {
		facts["untrusted"] = strings.Join(bad, ",")
		var why []string
		for _, a := range v.untrusted() {
			why = append(why, a.Arg+": "+a.Why)
		}
		facts["untrusted_why"] = clip(strings.Join(why, "; "), 500)
	}
	return facts
}

// gateNote follows the text that shows a plan with why the writes of it
// that the gate holds wait for the requester's yes, showing in full, once,
// every value that comes from data rather than from them. calls are the
// calls of the plan as shown; none, and text is returned as it is.
func (r *request) gateNote(text string, calls []tierzero.ToolCall) string {
	var notes []string
	var j judge
	writes := 0
	for _, c := range calls {
		info := r.a.byAction[c.Action]
		if info == nil || !info.spec.Write {
			continue
		}
		writes++
		if j.ev == nil {
			j = r.judge()
		}
		v := j.check(c, info.schema)
		if !v.gated() {
			continue
		}
		var why []string
		if !v.in {
			why = append(why, v.why)
		}
		audience := ""
		for _, a := range v.args {
			if a.Arg == "externalAudience" {
				audience = a.Value
			}
		}
		// One sentence per value: the same text inside and outside the
		// company is shown once.
		var values []string
		labels := map[string][]string{}
		for _, a := range v.untrusted() {
			if !targetArgs[a.Arg] {
				if len(labels[a.Value]) == 0 {
					values = append(values, a.Value)
				}
				labels[a.Value] = append(labels[a.Value], argLabel(a.Arg, audience))
				continue
			}
			why = append(why, argLabel(a.Arg, audience)+" "+a.Why)
		}
		for _, val := range values {
			verb := " comes"
			if len(labels[val]) > 1 {
				verb = " come"
			}
			why = append(why, strings.Join(labels[val], " and ")+" "+quoteValue(val)+verb+" from data I read, not from your words")
		}
		notes = append(notes, tierzero.PrintableLine(stepLabel(c)+": "+strings.Join(why, "; ")+"."))
	}
	if len(notes) == 0 {
		return text
	}
	if writes > len(notes) && !r.confirm {
		notes = append(notes, "The other steps came with these, so they wait for your yes too.")
	}
	return strings.TrimRight(text, "\n") + "\n\nWhy I ask you first:\n" + strings.Join(notes, "\n")
}

// stepLabel names a step of a plan in a few words, for the gate's note
// (not a "- " line: a note must not pass for a step).
func stepLabel(c tierzero.ToolCall) string {
	var a struct{ User, Device, Group, Team, Sponsor, Email string }
	_ = json.Unmarshal(c.Args, &a)
	what := stepNouns[c.Action]
	if what == "" {
		what = c.Action
	}
	switch {
	case a.Email != "" && a.Sponsor != "":
		what += " of " + a.Email + ", sponsored by " + a.Sponsor
	case a.User != "":
		what += " for " + a.User
	case a.Device != "":
		what += " of device " + a.Device
	}
	return "About " + what
}

// stepNouns name what a write does.
var stepNouns = map[string]string{
	actionResetPassword: "the password reset",
	actionResetMFA:      "the MFA reset",
	actionIssueTAP:      "the Temporary Access Pass",
	actionAutoReply:     "the automatic replies",
	actionRevoke:        "the sign-out",
	actionEnable:        "enabling the account",
	actionAddMember:     "adding to a group",
	actionRemoveMember:  "removing from a group",
	actionAssignLicense: "assigning a license",
	actionRemoveLicense: "removing a license",
	actionSync:          "the sync",
	actionReboot:        "the restart",
	actionRetire:        "retiring the device",
	actionWipe:          "the wipe",
	actionBlockSignIn:   "blocking sign-in",
	actionSetManager:    "the new manager",
	actionRemoveMethod:  "removing a sign-in method",
	actionSetPhone:      "the phone for sign-in",
	actionDismissRisk:   "dismissing the risk",
	actionConfirmRisk:   "marking the account compromised",
	actionInviteGuest:   "the guest invitation",
	actionLock:          "the lock",
	actionResetPasscode: "removing the passcode",
	actionSignatures:    "the antivirus update",
	actionAddOwner:      "adding a group owner",
	actionRemoveOwner:   "removing a group owner",
	actionTeamAdd:       "adding to a team",
	actionTeamRemove:    "removing from a team",
}

// argLabel names an argument for the requester.
func argLabel(arg, audience string) string {
	switch arg {
	case "internalMessage":
		return "the reply inside the company"
	case "externalMessage":
		switch audience {
		case "all":
			return "the reply to everyone outside the company"
		case "contactsOnly":
			return "the reply to your contacts outside the company"
		case "none":
			return "the reply outside the company (not sent: audience none)"
		}
		return "the reply outside the company"
	case "user":
		return "the account:"
	case "group":
		return "the group:"
	case "device":
		return "the device:"
	case "sku":
		return "the license:"
	case "team":
		return "the team:"
	case "manager":
		return "the manager:"
	case "sponsor":
		return "the sponsor:"
	case "email":
		return "the guest's address:"
	}
	return tierzero.PrintableLine(arg)
}

// quoteValue shows a value in full, on one line, quoted.
func quoteValue(s string) string { return `"` + tierzero.PrintableLine(s) + `"` }
