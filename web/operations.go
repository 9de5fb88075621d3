package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// Operations: a technician composes an operation across the tenants they
// act in (sign users out everywhere, investigate accounts they think were
// hacked, offboard a leaver, reset a password, or anything in their own
// words). The console writes it as the technician would in chat and sends
// it to the desk from the MSP's tenant on the web channel, in the
// technician's current conversation there (responder.currentConv); the
// agent answers with a plan naming every step and its tenant, which runs
// only after the technician's yes (the "Run this plan" button), each step
// decided and audited by the Guard as in chat. Nothing here decides or
// runs anything.

// operation is one kind of operation the form offers.
type operation struct {
	Value, Label string
	// One: the operation takes exactly one user.
	One bool
}

var operationKinds = []operation{
	{Value: "signout", Label: "Sign users out everywhere (their sign-ins and risk are read first)"},
	{Value: "hacked", Label: "Investigate accounts I think were hacked (sign-ins, risk, sign-out, escalation)"},
	{Value: "offboard", Label: "Offboard a leaver", One: true},
	{Value: "reset", Label: "Reset a password (the temporary password is shown to you once)", One: true},
	{Value: "text", Label: "In my own words"},
}

// maxOperationText bounds the text of an operation in the technician's own
// words.
const maxOperationText = 2000

// planPrompt is how the agent ends a plan that waits for the requester's
// yes (agent/plan.go).
const planPrompt = `Reply "yes" to go ahead`

type operationsData struct {
	Kinds   []operation
	Tenants []tierzero.TenantID
	// Form echoes what was sent when it could not be composed.
	Kind    string
	Chosen  []tierzero.TenantID
	Users   map[tierzero.TenantID]string
	Text    string
	Lines   []opLine
	Secrets []shownSecret
	// Pending: the last reply is a plan waiting for a yes; Plan names it,
	// so that "Run this plan" runs the plan the page showed and no other.
	Pending bool
	Plan    string
}

// shownSecret is a secret as the page shows it, once.
type shownSecret struct {
	Label string
	Value string
}

// operations shows the form, the conversation so far and any secret
// delivered privately (once).
func (s *Server) operations(w http.ResponseWriter, r *http.Request, v *Viewer) {
	if !v.Technician() {
		s.refuse(w, r, v, "Operations are for MSP technicians.")
		return
	}
	s.showOperations(w, r, v, operationsData{Kind: "signout"}, http.StatusOK, "")
}

func (s *Server) showOperations(w http.ResponseWriter, r *http.Request, v *Viewer, d operationsData, status int, problem string) {
	d.Kinds, d.Tenants = operationKinds, v.Tenants
	upn := v.UPN
	if r.Method == http.MethodHead || crossOrigin(r) {
		// A response without a body shows no secret; nor does one to a
		// request another site made (an image or a frame of a sibling
		// site, to which a SameSite cookie is sent): none is taken, and
		// it waits for the technician's own page.
		upn = ""
	}
	lines, notes := s.web.view(s.web.currentConv(v.Home, v.UPN, false), upn)
	d.Lines = lines
	for _, n := range notes {
		d.Secrets = append(d.Secrets, shownSecret{Label: n.Secret.Label, Value: n.Secret.Reveal()})
	}
	if plan, ok := pendingPlan(lines); ok {
		d.Pending, d.Plan = true, plan
	}
	if problem == "" {
		problem = v.message(r, "error")
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.render(w, r, v, "operations", page{Title: "Operations", Error: problem, Data: d})
}

// operate sends the composed operation (or the technician's yes or no to
// the plan shown) to the desk, then shows the page again.
func (s *Server) operate(w http.ResponseWriter, r *http.Request, v *Viewer) {
	if !v.Technician() {
		s.refuse(w, r, v, "Operations are for MSP technicians.")
		return
	}
	f := r.PostForm
	k := s.web.currentConv(v.Home, v.UPN, false)
	unlock := s.web.lock(k)
	defer unlock()
	var text string
	switch f.Get("do") {
	case "yes":
		// The yes is for the plan this page showed: when another has
		// been shown since (another tab, the phone), it is not run.
		lines, _ := s.web.view(k, "")
		if plan, ok := pendingPlan(lines); !ok || f.Get("plan") != plan {
			http.Redirect(w, r, signedURL(v, Prefix+"/operations", "error", "The plan changed since that page was shown, or ran already: nothing was run. Review the plan below."), http.StatusSeeOther)
			return
		}
		text = "yes"
	case "no":
		text = "no"
	case "new":
		s.web.currentConv(v.Home, v.UPN, true)
		http.Redirect(w, r, Prefix+"/operations", http.StatusSeeOther)
		return
	default:
		d := operationsData{Kind: f.Get("kind"), Text: f.Get("text"), Users: map[tierzero.TenantID]string{}}
		for _, t := range f["tenant"] {
			tid := tierzero.TenantID(t)
			if !v.Sees(tid) {
				s.refuse(w, r, v, "You do not act in that tenant.")
				return
			}
			if !slices.Contains(d.Chosen, tid) {
				d.Chosen = append(d.Chosen, tid)
			}
		}
		for _, t := range v.Tenants {
			d.Users[t] = f.Get("users_" + string(t))
		}
		composed, err := composeOperation(d.Kind, d.Chosen, d.Users, d.Text)
		if err != nil {
			s.showOperations(w, r, v, d, http.StatusBadRequest, err.Error())
			return
		}
		text = composed
	}
	s.web.add(k, "you", text)
	in := tierzero.Inbound{
		Tenant: v.Home, Channel: tierzero.ChannelWeb, Conversation: k.conv,
		User: tierzero.PlatformUser{UPN: v.UPN, DisplayName: v.displayName()}, Text: text,
		Delivery: opDelivery(), Time: s.cfg.Now(),
	}
	// The reply (the plan, the results, a secret) reaches the page through
	// the web channel's responder, as a later outcome does.
	if _, err := s.cfg.Desk.Handle(r.Context(), in); err != nil {
		s.log.Error("console operation", "user", v.UPN, "err", err)
		msg := "Your operation could not be handled: " + strings.TrimSuffix(tierzero.ErrorMessage(err), ".") + "."
		http.Redirect(w, r, signedURL(v, Prefix+"/operations", "error", msg), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"/operations", http.StatusSeeOther)
}

// pendingPlan returns the name of the plan the conversation's last reply
// shows, when it waits for a yes: a hash of its text.
func pendingPlan(lines []opLine) (string, bool) {
	n := len(lines)
	if n == 0 || lines[n-1].From != "tierzero" || !strings.Contains(lines[n-1].Text, planPrompt) {
		return "", false
	}
	h := sha256.Sum256([]byte(lines[n-1].Text))
	return hex.EncodeToString(h[:16]), true
}

// composeOperation writes an operation as a technician would ask for it in chat:
// the phrasings the agent (and its offline rules model) turns into a plan
// naming each step's tenant.
func composeOperation(kind string, chosen []tierzero.TenantID, users map[tierzero.TenantID]string, text string) (string, error) {
	op, ok := findOperation(kind)
	if !ok {
		return "", fmt.Errorf("choose an operation")
	}
	if op.Value == "text" {
		t := strings.TrimSpace(text)
		if t == "" {
			return "", fmt.Errorf("write what you want done")
		}
		if len(t) > maxOperationText {
			return "", fmt.Errorf("write at most %d characters", maxOperationText)
		}
		if len(chosen) > 0 {
			names := make([]string, len(chosen))
			for i, c := range chosen {
				names[i] = string(c)
			}
			t = "In " + strings.Join(names, " and ") + ": " + t
		}
		return t, nil
	}
	if len(chosen) == 0 {
		return "", fmt.Errorf("choose the tenants")
	}
	var who []string // "UPN in TENANT"
	for _, t := range chosen {
		list := strings.FieldsFunc(users[t], func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
		if len(list) == 0 {
			return "", fmt.Errorf("name the users in %s", t)
		}
		for _, u := range list {
			if !opValidUPN(u) {
				return "", fmt.Errorf("%q is not a user principal name (name@domain)", tierzero.PrintableLine(opTruncate(u, 80)))
			}
			who = append(who, u+" in "+string(t))
		}
	}
	if op.One && len(who) != 1 {
		return "", fmt.Errorf("%s: one user at a time", strings.ToLower(op.Label))
	}
	list := opJoinAnd(who)
	switch op.Value {
	case "signout":
		return "Sign " + list + " out everywhere", nil
	case "hacked":
		return "I think " + list + " were hacked", nil
	case "offboard":
		return "Offboard " + list, nil
	case "reset":
		return "Reset the password of " + list, nil
	}
	return "", fmt.Errorf("choose an operation")
}

func findOperation(kind string) (operation, bool) {
	for _, o := range operationKinds {
		if o.Value == kind {
			return o, true
		}
	}
	return operation{}, false
}

// joinAnd writes "a", "a and b", "a, b and c".
func opJoinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// validUPN reports whether u looks like a user principal name: one @, a
// local part and a dotted domain of letters, digits and . _ - + ' only.
func opValidUPN(u string) bool {
	if len(u) > 254 {
		return false
	}
	local, domain, ok := strings.Cut(u, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return false
	}
	for _, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(".-_+'@", r):
		default:
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes, on a rune boundary.
func opTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// newDelivery is a random delivery id for a message sent from the page.
func opDelivery() string {
	var b [12]byte
	rand.Read(b[:])
	return "web-" + hex.EncodeToString(b[:])
}
