package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// The conversations page: per tenant the viewer sees, the conversations of
// its audit trail (grouped by conversation id) and, for one of them, the
// transcript: what the requester said, what was proposed, checked (the
// policy decision and the facts it used), tried, approved, escalated (with
// the ticket), and the reply. Everything shown comes from the audit, which
// never holds a secret, and from the tenant's ticket outbox.

// maxConversationRows caps the conversations listed (the most recent first).
const maxConversationRows = 200

// trailTenants are the audit trails viewer v may read: the client tenants
// they see and, for a technician, the MSP's home tenant, whose trail holds
// the technicians' own conversations. A tenant admin never sees the MSP's.
func trailTenants(v *Viewer) []tierzero.TenantID {
	ts := slices.Clone(v.Tenants)
	if v.Technician() && v.Home != "" && !slices.Contains(ts, v.Home) {
		ts = append(ts, v.Home)
	}
	slices.Sort(ts)
	return ts
}

// seesTrail reports whether v may read tenant t's audit trail.
func seesTrail(v *Viewer, t tierzero.TenantID) bool {
	return t != "" && slices.Contains(trailTenants(v), t)
}

// trailVisible returns which records of tenant t's trail viewer v may
// read. A client tenant's trail is theirs whole. The MSP's home trail holds
// every technician's conversations, with what they read and did in client
// tenants: v reads their own records, and a colleague's only when that
// colleague acts in no tenant v does not see, so that a technician admitted
// to contoso does not read, through a colleague's conversation, what was
// found in fabrikam. A record of no one, or of someone who is no technician
// (now), could hold anything: only a technician who sees every client
// tenant reads it.
func (s *Server) trailVisible(v *Viewer, t tierzero.TenantID) func(tierzero.AuditEvent) bool {
	if t != s.cfg.Staff.Home || !v.Technician() {
		return func(tierzero.AuditEvent) bool { return true }
	}
	seesAll := !slices.ContainsFunc(s.cfg.Staff.Clients, func(c tierzero.TenantID) bool { return !v.Sees(c) })
	within := map[string]bool{} // by lowercased requester
	return func(ev tierzero.AuditEvent) bool {
		who := strings.ToLower(ev.Requester)
		if who == strings.ToLower(v.UPN) && who != "" {
			return true
		}
		ok, known := within[who]
		if !known {
			ok = seesAll
			if req, tech := s.cfg.Staff.Technician(ev.Requester); tech {
				ok = true
				if s.cfg.Reach != nil {
					ok = !slices.ContainsFunc(s.cfg.Reach.Across(req), func(rt tierzero.TenantID) bool { return !v.Sees(rt) })
				}
			}
			within[who] = ok
		}
		return ok
	}
}

// tenantHidden is the one answer to a tenant the viewer may not see, whether
// or not it exists.
const tenantHidden = "You do not have access to that tenant, or it does not exist."

// trailFilter reads the tenant query parameter: the trails to read (all
// the viewer's when it is empty) or false when it names one they may not
// see.
func trailFilter(r *http.Request, v *Viewer) ([]tierzero.TenantID, string, bool) {
	t := tierzero.TenantID(strings.TrimSpace(r.URL.Query().Get("tenant")))
	if t == "" {
		return trailTenants(v), "", true
	}
	if !seesTrail(v, t) {
		return nil, string(t), false
	}
	return []tierzero.TenantID{t}, string(t), true
}

// convRow is one conversation in the list.
type convRow struct {
	Tenant    tierzero.TenantID
	ID        string
	Link      string
	Started   time.Time
	Last      time.Time
	Requester string
	Channel   string
	Requests  int
	Outcome   string
	// OutcomeClass colours the outcome's badge (its word says it too).
	OutcomeClass string
	Escalated    bool
	Tickets      []ticketLabel
}

// ticketLabel is a ticket as a row or a transcript shows it.
type ticketLabel struct {
	Number string
	Status string
	URL    string
}

type conversationsData struct {
	Tenant string
	// Escalated lists only the conversations handed to a human.
	Escalated bool
	Tenants   []tierzero.TenantID
	Rows      []convRow
	Total     int
	Capped    bool
}

// readTrail reads tenant t's audit trail from since, oldest first; a
// tenant with no data yet has an empty trail.
func (s *Server) readTrail(ctx context.Context, t tierzero.TenantID, since time.Time, fn func(tierzero.AuditEvent) error) error {
	err := s.cfg.Store.Audit(ctx, t, since, fn)
	if tierzero.ErrorCode(err) == tierzero.ENotFound {
		return nil
	}
	return err
}

// conversationLink is the transcript's path; the id may hold any character
// (':' and '/' in platform ids), so each segment is escaped.
func conversationLink(t tierzero.TenantID, id tierzero.ConversationID) string {
	return Prefix + "/conversations/" + url.PathEscape(string(t)) + "/" + url.PathEscape(string(id))
}

// ticketsByConversation indexes a tenant's tickets by the conversation they
// escalate.
func (s *Server) ticketsByConversation(ctx context.Context, t tierzero.TenantID) map[tierzero.ConversationID][]ticketLabel {
	recs, err := s.cfg.Store.Tickets(ctx, t)
	if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
		s.log.Warn("console: tickets", "tenant", t, "err", err)
		return nil
	}
	slices.SortFunc(recs, func(a, b tierzero.TicketRecord) int { return a.Created.Compare(b.Created) })
	out := map[tierzero.ConversationID][]ticketLabel{}
	for _, r := range recs {
		c := r.Ticket.Escalation.Conversation
		out[c] = append(out[c], ticketLabelOf(r))
	}
	return out
}

// ticketLabelOf says what a ticket record is: the vendor's number and
// status, or where it is in the outbox.
func ticketLabelOf(r tierzero.TicketRecord) ticketLabel {
	l := ticketLabel{Number: tierzero.PrintableLine(r.Ref.Label())}
	if l.Number == "" {
		l.Number = "without a number yet"
	}
	switch {
	case r.Status != "":
		l.Status = string(r.Status)
	case r.State == tierzero.TicketQueued:
		l.Status = "not opened yet"
	default:
		l.Status = string(r.State)
	}
	if u, err := url.Parse(r.Ref.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		l.URL = r.Ref.URL
	}
	return l
}

func (s *Server) conversations(w http.ResponseWriter, r *http.Request, v *Viewer) {
	tenants, name, ok := trailFilter(r, v)
	if !ok {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	ctx := r.Context()
	var rows []convRow
	for _, t := range tenants {
		byID := map[tierzero.ConversationID]*convRow{}
		visible := s.trailVisible(v, t)
		err := s.readTrail(ctx, t, time.Time{}, func(ev tierzero.AuditEvent) error {
			if ev.Conversation == "" || !visible(ev) {
				return nil
			}
			c := byID[ev.Conversation]
			if c == nil {
				c = &convRow{Tenant: t, ID: tierzero.PrintableLine(string(ev.Conversation)),
					Link: conversationLink(t, ev.Conversation), Started: ev.Time}
				byID[ev.Conversation] = c
			}
			c.Last = ev.Time
			if c.Requester == "" || ev.Kind == tierzero.AuditMessage && c.Requests == 0 {
				c.Requester = tierzero.PrintableLine(ev.Requester)
			}
			if c.Channel == "" {
				c.Channel = tierzero.PrintableLine(string(ev.Channel))
			}
			switch ev.Kind {
			case tierzero.AuditMessage:
				c.Requests++
			case tierzero.AuditReply:
				if o := ev.Facts["outcome"]; o != "" {
					c.Outcome, c.OutcomeClass = tierzero.PrintableLine(o), outcomeBadge(o)
				}
			case tierzero.AuditEscalated:
				c.Escalated = true
			default:
				// A request that waited for an approval ends when the
				// approval does, after its reply.
				if o := approvalOutcome(ev); o != "" {
					c.Outcome, c.OutcomeClass = o, outcomeBadge(o)
				}
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		tickets := s.ticketsByConversation(ctx, t)
		for id, c := range byID {
			c.Tickets = tickets[id]
			rows = append(rows, *c)
		}
	}
	escalated := r.URL.Query().Get("escalated") != ""
	if escalated {
		rows = slices.DeleteFunc(rows, func(c convRow) bool { return !c.Escalated })
	}
	slices.SortFunc(rows, func(a, b convRow) int {
		return cmp.Or(b.Last.Compare(a.Last), cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.ID, b.ID))
	})
	d := conversationsData{Tenant: name, Escalated: escalated, Tenants: trailTenants(v), Total: len(rows)}
	if len(rows) > maxConversationRows {
		rows, d.Capped = rows[:maxConversationRows], true
	}
	d.Rows = rows
	s.render(w, r, v, "conversations", page{Title: "Conversations", Data: d})
}

// transcriptStep is one audit record of a transcript, as it is shown: every field
// made printable (single-line fields on one line), the rest escaped by
// html/template.
type transcriptStep struct {
	Kind   string
	Label  string
	Class  string
	Time   time.Time
	Tenant tierzero.TenantID // when not the conversation's own
	Who    string
	Text   string
	Tool   string
	CallID string
	Args   string
	Effect string
	// EffectClass colours the effect's badge (its word says it too).
	EffectClass string
	Layer       string
	Rule        string
	Reason      string
	Facts       []factRow
	Outcome     string
	Error       string
	Output      string
	Tickets     []ticketLabel
}

// factRow is one fact of a decision, or of any record, in key order.
type factRow struct{ Key, Value string }

type conversationData struct {
	Tenant    tierzero.TenantID
	ID        string
	Requester string
	Channel   string
	Steps     []transcriptStep
	Tickets   []ticketLabel
	Capped    bool
}

// maxTranscriptSteps caps a transcript's records.
const maxTranscriptSteps = 2000

// transcriptLabels name each kind of record for people.
var transcriptLabels = map[tierzero.AuditKind]string{
	tierzero.AuditMessage:           "Said",
	tierzero.AuditProposed:          "Proposed",
	tierzero.AuditDecided:           "Checked",
	tierzero.AuditExecuted:          "Tried",
	tierzero.AuditReply:             "Replied",
	tierzero.AuditError:             "Failed",
	tierzero.AuditEscalated:         "Escalated",
	tierzero.AuditApprovalRequested: "Approval requested",
	tierzero.AuditApprovalShown:     "Shown to approvers",
	tierzero.AuditApprovalReminded:  "Approvers reminded",
	tierzero.AuditApprovalDecided:   "Approval decided",
	tierzero.AuditApprovalExecuted:  "Approved action run",
	tierzero.AuditApprovalExpired:   "Approval expired",
	tierzero.AuditPlanStarted:       "Plan started",
	tierzero.AuditPlanReport:        "Plan report",
	tierzero.AuditReconciled:        "Reconciled",
	tierzero.AuditBaselineDrift:     "Baseline drift",
	"approval_state":                "Approval state",
}

// transcriptStepOf is how record ev is shown in a transcript of tenant home.
func transcriptStepOf(home tierzero.TenantID, ev tierzero.AuditEvent) transcriptStep {
	st := transcriptStep{
		Kind: tierzero.PrintableLine(string(ev.Kind)), Time: ev.Time, Who: tierzero.PrintableLine(ev.Requester),
		Text: tierzero.Printable(ev.Text), Tool: tierzero.PrintableLine(ev.Tool), CallID: tierzero.PrintableLine(ev.CallID),
		Args: transcriptJSON(ev.Args), Effect: tierzero.PrintableLine(string(ev.Effect)), Layer: tierzero.PrintableLine(ev.Layer),
		Rule: tierzero.PrintableLine(ev.Rule), Reason: tierzero.PrintableLine(ev.Reason), Facts: factRowsOf(ev.Facts),
		Outcome: tierzero.PrintableLine(ev.Outcome), Error: tierzero.PrintableLine(ev.Error), Output: transcriptJSON(ev.Output),
	}
	st.EffectClass = effectBadge(ev.Effect)
	if ev.Tenant != home {
		st.Tenant = ev.Tenant
	}
	st.Label = transcriptLabels[ev.Kind]
	if st.Label == "" {
		st.Label = st.Kind
	}
	st.Class = "k-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r == '_' {
			return r
		}
		return '-'
	}, st.Kind)
	return st
}

// transcriptJSON is a JSON value as indented, printable text ("" for none).
func transcriptJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return tierzero.Printable(string(raw))
	}
	return tierzero.Printable(b.String())
}

// factRowsOf lists facts in key order, printable.
func factRowsOf(m map[string]string) []factRow {
	out := make([]factRow, 0, len(m))
	for k, v := range m {
		out = append(out, factRow{tierzero.PrintableLine(k), tierzero.PrintableLine(v)})
	}
	slices.SortFunc(out, func(a, b factRow) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (s *Server) conversation(w http.ResponseWriter, r *http.Request, v *Viewer) {
	t := tierzero.TenantID(r.PathValue("tenant"))
	id := tierzero.ConversationID(r.PathValue("id"))
	if !seesTrail(v, t) {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	ctx := r.Context()
	var evs []tierzero.AuditEvent
	own := func(ev tierzero.AuditEvent) error {
		if ev.Conversation == id {
			evs = append(evs, ev)
		}
		return nil
	}
	visible := s.trailVisible(v, t)
	if err := s.readTrail(ctx, t, time.Time{}, func(ev tierzero.AuditEvent) error {
		if !visible(ev) {
			return nil
		}
		return own(ev)
	}); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(evs) == 0 {
		http.Error(w, "No such conversation in this tenant.", http.StatusNotFound)
		return
	}
	// A technician's conversation is in the MSP's home tenant; the calls
	// it made into client tenants are in those tenants' trails, under the
	// same conversation, from its start on: those the viewer sees are
	// shown with it. Other conversations stay in their tenant.
	if t == s.cfg.Staff.Home {
		start := slices.MinFunc(evs, func(a, b tierzero.AuditEvent) int { return a.Time.Compare(b.Time) }).Time
		for _, tt := range trailTenants(v) {
			if tt == t {
				continue
			}
			if err := s.readTrail(ctx, tt, start, own); err != nil {
				s.fail(w, r, err)
				return
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b tierzero.AuditEvent) int { return a.Time.Compare(b.Time) })
	d := conversationData{Tenant: t, ID: tierzero.PrintableLine(string(id))}
	if len(evs) > maxTranscriptSteps {
		evs, d.Capped = evs[len(evs)-maxTranscriptSteps:], true
	}
	tickets := s.ticketsByConversation(ctx, t)[id]
	d.Tickets = tickets
	for _, ev := range evs {
		st := transcriptStepOf(t, ev)
		if ev.Kind == tierzero.AuditEscalated {
			st.Tickets = tickets
		}
		if d.Requester == "" && ev.Tenant == t && ev.Requester != "" {
			d.Requester = st.Who
		}
		if d.Channel == "" && ev.Channel != "" {
			d.Channel = tierzero.PrintableLine(string(ev.Channel))
		}
		d.Steps = append(d.Steps, st)
	}
	s.render(w, r, v, "conversation", page{Title: "Conversation", Data: d})
}

// approvalOutcome is what an approval record made of the request that
// waited for it: resolved once approved and done; denied, expired, failed or
// refused (the call no longer allowed); "" while it still waits.
func approvalOutcome(ev tierzero.AuditEvent) string {
	switch ev.Kind {
	case tierzero.AuditApprovalExecuted:
		switch ev.Outcome {
		case "ok":
			return string(tierzero.OutcomeResolved)
		case "failed":
			return "failed"
		}
		return string(tierzero.OutcomeRefused)
	case tierzero.AuditApprovalDecided:
		if ev.Outcome == string(tierzero.ApprovalDenied) {
			return "denied"
		}
	case tierzero.AuditApprovalExpired:
		return "expired"
	}
	return ""
}

// outcomeBadge is the badge class of a request's outcome.
func outcomeBadge(o string) string {
	switch tierzero.OutcomeKind(o) {
	case tierzero.OutcomeResolved, tierzero.OutcomeAnswered:
		return "ok"
	case tierzero.OutcomePending, tierzero.OutcomeConfirm, tierzero.OutcomeAsked:
		return "warn"
	}
	return "bad"
}

// effectBadge is the badge class of a policy effect.
func effectBadge(e tierzero.Effect) string {
	switch e {
	case tierzero.EffectAllow:
		return "ok"
	case tierzero.EffectRequireApproval:
		return "warn"
	case "":
		return ""
	}
	return "bad"
}
