package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// The approvals page: the pending approvals, in the viewer's tenants, that
// the viewer may decide, each with exactly what will run. A decision goes
// through bot.Desk.Decide, as a click in Slack or Teams does: the desk
// identifies the approver on the web channel and the Guard checks again
// who may decide; the requester hears back in their own chat.

// approvalView is one pending approval as the page shows it. Every field
// holding tenant data is text, escaped by html/template.
type approvalView struct {
	ID, Tenant, Action string
	Args               string // canonical arguments, indented
	Summary            string
	Requester          string // UPN
	RequesterName      string
	Role, Channel      string
	Rule, Layer        string
	Reason             string
	Approvers          string // in plain words
	Count, Given       int
	Decisions          []decisionView
	Expires, Created   time.Time
	// Checked: the viewer is named only by a group spec, whose membership
	// the Guard checks when they decide.
	Checked string
}

type decisionView struct {
	Approver string
	Approve  bool
	Time     time.Time
}

type approvalsData struct {
	Approvals []approvalView
	// Unreadable names the tenants whose approvals could not be read.
	Unreadable []tierzero.TenantID
}

// approvals lists what the viewer may decide.
func (s *Server) approvals(w http.ResponseWriter, r *http.Request, v *Viewer) {
	var d approvalsData
	now := s.cfg.Now()
	for _, t := range v.Tenants {
		list, err := s.cfg.Store.ListApprovals(r.Context(), t, tierzero.ApprovalPending)
		if err != nil {
			s.log.Error("console list approvals", "tenant", t, "err", err)
			d.Unreadable = append(d.Unreadable, t)
			continue
		}
		for _, a := range list {
			if a.Tenant != "" && a.Tenant != t {
				continue // a file answers for its own tenant only
			}
			a.Tenant = t
			ok, checked := mayDecide(v, a)
			if !ok || !a.Expires.After(now) {
				continue
			}
			d.Approvals = append(d.Approvals, viewOfApproval(a, checked))
		}
	}
	slices.SortStableFunc(d.Approvals, func(a, b approvalView) int { return a.Created.Compare(b.Created) })
	s.render(w, r, v, "approvals", page{Title: "Approvals", Error: v.message(r, "error"), Data: d})
}

// mayDecide reports whether v may decide a, as far as the console can tell
// (the Guard decides again when they do): never their own request, nor
// one they already decided; a technician when the spec names technicians,
// a tenant admin when it names tenant admins; the manager or a group's
// member when they were suggested. A group spec is listed with a note that
// the Guard checks membership when they decide.
func mayDecide(v *Viewer, a tierzero.Approval) (ok bool, checked string) {
	if strings.EqualFold(a.Requester.UPN, v.UPN) || a.DecidedBy(v.UPN) {
		return false, ""
	}
	suggested := slices.ContainsFunc(a.Suggested, func(s string) bool { return strings.EqualFold(s, v.UPN) })
	var group string
	for _, spec := range a.Approvers {
		switch {
		case spec == "role:msp_technician" && v.Technician():
			return true, ""
		case spec == "role:tenant_admin" && v.Role == tierzero.RoleTenantAdmin:
			return true, ""
		case spec == "manager" && suggested:
			return true, ""
		case strings.HasPrefix(spec, "group:"):
			if suggested {
				return true, ""
			}
			if group == "" {
				group = strings.TrimPrefix(spec, "group:")
			}
		}
	}
	if group != "" {
		return true, "Only a member of the group " + group + " may decide this: the Guard checks when you decide."
	}
	return false, ""
}

func viewOfApproval(a tierzero.Approval, checked string) approvalView {
	out := approvalView{
		ID: a.ID, Tenant: string(a.Tenant), Action: a.Action, Args: approvalArgs(a.Args), Summary: tierzero.Printable(a.Summary),
		Requester: a.Requester.UPN, RequesterName: a.Requester.DisplayName, Role: string(a.Requester.Role), Channel: string(a.Requester.Channel),
		Rule: a.Rule, Layer: a.Layer, Reason: tierzero.Printable(a.Reason), Approvers: a.ApproverText(),
		Count: a.Count, Given: a.Approvals(), Expires: a.Expires, Created: a.Created, Checked: checked,
	}
	for _, d := range a.Decisions {
		out.Decisions = append(out.Decisions, decisionView{Approver: d.Approver, Approve: d.Approve, Time: d.Time})
	}
	return out
}

// approvalArgs writes canonical arguments for people: indented, printable.
func approvalArgs(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return tierzero.Printable(string(raw))
	}
	return tierzero.Printable(b.String())
}

// maxApprovalID bounds an approval id in a form.
const maxApprovalID = 128

// decide records the viewer's decision through the desk. A tenant the
// viewer does not see is refused (403) before anything is looked up, so
// a forged request learns nothing of the tenant's approvals.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, v *Viewer) {
	f := r.PostForm
	tenant := tierzero.TenantID(f.Get("tenant"))
	if !v.Sees(tenant) {
		s.refuse(w, r, v, "You may not decide approvals of that tenant.")
		return
	}
	id := f.Get("id")
	var approve bool
	switch f.Get("decision") {
	case "approve":
		approve = true
	case "deny":
	default:
		http.Error(w, "Choose approve or deny.", http.StatusBadRequest)
		return
	}
	if id == "" || len(id) > maxApprovalID || tierzero.PrintableLine(id) != id {
		http.Error(w, "That approval id is not valid.", http.StatusBadRequest)
		return
	}
	// A technician votes from the MSP's tenant (the Guard finds the
	// approval among the tenants they act in); a tenant admin in the
	// approval's tenant.
	from := tenant
	if v.Technician() {
		from = v.Home
	}
	verdict, err := s.cfg.Desk.Decide(r.Context(), bot.Vote{
		Channel: tierzero.ChannelWeb, Tenant: from, User: tierzero.PlatformUser{UPN: v.UPN, DisplayName: v.displayName()},
		Approval: id, Approve: approve,
	})
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.EInternal {
			s.fail(w, r, err)
			return
		}
		s.log.Warn("console decision failed", "user", v.UPN, "tenant", tenant, "approval", id, "err", err)
		backToApprovals(w, r, v, "error", "Your decision was not recorded: "+strings.TrimSuffix(tierzero.ErrorMessage(err), ".")+".")
		return
	}
	s.log.Info("console decision", "user", v.UPN, "tenant", tenant, "approval", id, "approve", approve, "refused", verdict.Refused)
	key := "flash"
	if verdict.Refused {
		key = "error"
	}
	backToApprovals(w, r, v, key, verdict.Text)
}

// backToApprovals redirects to the approvals page with a message (redirect after
// POST: reloading the page does not decide again).
func backToApprovals(w http.ResponseWriter, r *http.Request, v *Viewer, key, msg string) {
	http.Redirect(w, r, signedURL(v, Prefix+"/approvals", key, msg), http.StatusSeeOther)
}
