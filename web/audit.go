package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// The audit page: the records of the trails the viewer sees, filtered by
// tenant, person (the requester), action (the tool), effect, kind and time,
// newest first; each trail's chain verified; and the same records exported
// as JSON lines, as `tierzero audit export` prints them.

// maxAuditRows caps the records the audit page lists.
const maxAuditRows = 500

// maxAuditText bounds the text shown in a row (the transcript has it all).
const maxAuditText = 200

// auditFilter is what the audit page and its export select.
type auditFilter struct {
	Tenants []tierzero.TenantID
	Tenant  string
	Person  string
	Action  string
	Effect  string
	Kind    string
	Since   string
	Until   string
	since   time.Time
	until   time.Time // exclusive; zero: no end
}

// match reports whether ev is selected.
func (f *auditFilter) match(ev tierzero.AuditEvent) bool {
	switch {
	case f.Person != "" && !strings.EqualFold(ev.Requester, f.Person),
		f.Action != "" && ev.Tool != f.Action,
		f.Effect != "" && string(ev.Effect) != f.Effect,
		f.Kind != "" && string(ev.Kind) != f.Kind,
		!f.since.IsZero() && ev.Time.Before(f.since),
		!f.until.IsZero() && !ev.Time.Before(f.until):
		return false
	}
	return true
}

// errTenantHidden is a filter naming a tenant the viewer may not see.
var errTenantHidden = errors.New(tenantHidden)

// auditFilterOf reads the filters of r's query for viewer v.
func auditFilterOf(r *http.Request, v *Viewer) (*auditFilter, error) {
	q := r.URL.Query()
	f := &auditFilter{
		Person: strings.TrimSpace(q.Get("person")),
		Action: strings.TrimSpace(q.Get("action")),
		Effect: strings.TrimSpace(q.Get("effect")),
		Kind:   strings.TrimSpace(q.Get("kind")),
		Since:  strings.TrimSpace(q.Get("since")),
		Until:  strings.TrimSpace(q.Get("until")),
	}
	tenants, name, ok := trailFilter(r, v)
	f.Tenants, f.Tenant = tenants, name
	if !ok {
		return f, errTenantHidden
	}
	switch tierzero.Effect(f.Effect) {
	case "", tierzero.EffectAllow, tierzero.EffectRequireApproval, tierzero.EffectDeny:
	default:
		return f, fmt.Errorf("effect %q: want allow, require_approval or deny", tierzero.PrintableLine(f.Effect))
	}
	var err error
	if f.since, err = parseAuditTime(f.Since, false); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.until, err = parseAuditTime(f.Until, true); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	return f, nil
}

// parseAuditTime reads a date (2026-11-27: the day's start, or with end the
// next day's, so that a day given as "until" is included) or a date and
// time (RFC 3339, or 2026-11-27T09:00 as a browser's datetime-local sends
// it, in UTC).
func parseAuditTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-11-27) or a time (2026-11-27T09:00 UTC, or RFC 3339)", tierzero.PrintableLine(s))
}

// auditRow is one record as the audit page lists it.
type auditRow struct {
	Time         time.Time
	Clock        string // Time to the second, UTC
	Tenant       tierzero.TenantID
	Seq          uint64
	Kind         string
	Requester    string
	Channel      string
	Conversation string
	Link         string
	Tool         string
	Effect       string
	EffectClass  string
	Rule         string
	Outcome      string
	Error        string
	Text         string
}

// chainStatus is a trail's verification, as the page shows it.
type chainStatus struct {
	Tenant  tierzero.TenantID
	OK      bool
	Empty   bool // no data yet: nothing to verify
	Records int
	Problem string
}

type auditData struct {
	Filter  *auditFilter
	Trails  []tierzero.TenantID
	Kinds   []string
	Effects []string
	Chains  []chainStatus
	Rows    []auditRow
	Total   int
	Capped  bool
	Export  string
}

// auditKindsOffered are the kinds the filter offers.
var auditKindsOffered = []tierzero.AuditKind{
	tierzero.AuditMessage, tierzero.AuditProposed, tierzero.AuditDecided, tierzero.AuditExecuted,
	tierzero.AuditReply, tierzero.AuditError, tierzero.AuditEscalated,
	tierzero.AuditApprovalRequested, tierzero.AuditApprovalShown, tierzero.AuditApprovalReminded,
	tierzero.AuditApprovalDecided, tierzero.AuditApprovalExecuted, tierzero.AuditApprovalExpired,
	tierzero.AuditPlanStarted, tierzero.AuditPlanReport, tierzero.AuditReconciled, tierzero.AuditBaselineDrift,
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, v *Viewer) {
	f, ferr := auditFilterOf(r, v)
	if errors.Is(ferr, errTenantHidden) {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	ctx := r.Context()
	d := auditData{Filter: f, Trails: trailTenants(v),
		Effects: []string{string(tierzero.EffectAllow), string(tierzero.EffectRequireApproval), string(tierzero.EffectDeny)}}
	for _, k := range auditKindsOffered {
		d.Kinds = append(d.Kinds, string(k))
	}
	// Each trail read is verified: every visible one, or the one filtered on.
	for _, t := range f.Tenants {
		n, err := s.cfg.Store.Verify(ctx, t)
		c := chainStatus{Tenant: t, OK: err == nil, Records: n}
		switch {
		case tierzero.ErrorCode(err) == tierzero.ENotFound:
			c.OK, c.Empty = true, true
		case err != nil:
			s.log.Error("console: audit chain", "tenant", t, "err", err)
			c.Problem = tierzero.PrintableLine(err.Error())
		}
		d.Chains = append(d.Chains, c)
	}
	p := page{Title: "Audit", Data: &d}
	if ferr != nil {
		p.Error = ferr.Error()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, v, "audit", p)
		return
	}
	d.Export = Prefix + "/audit/export?" + r.URL.Query().Encode()
	// Each trail is read oldest first; only its newest maxAuditRows matches
	// are kept, then the trails are merged newest first.
	var evs []tierzero.AuditEvent
	for _, t := range f.Tenants {
		var mine []tierzero.AuditEvent
		visible := s.trailVisible(v, t)
		err := s.readTrail(ctx, t, f.since, func(ev tierzero.AuditEvent) error {
			if !f.match(ev) || !visible(ev) {
				return nil
			}
			d.Total++
			mine = append(mine, ev)
			if len(mine) >= 2*maxAuditRows {
				mine = append(mine[:0], mine[len(mine)-maxAuditRows:]...)
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(mine) > maxAuditRows {
			mine = mine[len(mine)-maxAuditRows:]
		}
		evs = append(evs, mine...)
	}
	slices.SortStableFunc(evs, func(a, b tierzero.AuditEvent) int { return b.Time.Compare(a.Time) })
	if len(evs) > maxAuditRows {
		evs = evs[:maxAuditRows]
	}
	d.Capped = d.Total > len(evs)
	for _, ev := range evs {
		row := auditRow{
			Time: ev.Time, Clock: ev.Time.UTC().Format(time.DateTime), Tenant: ev.Tenant, Seq: ev.Seq, Kind: tierzero.PrintableLine(string(ev.Kind)),
			Requester: tierzero.PrintableLine(ev.Requester), Channel: tierzero.PrintableLine(string(ev.Channel)),
			Conversation: tierzero.PrintableLine(string(ev.Conversation)), Tool: tierzero.PrintableLine(ev.Tool),
			Effect: tierzero.PrintableLine(string(ev.Effect)), EffectClass: effectBadge(ev.Effect),
			Rule: tierzero.PrintableLine(ev.Rule), Outcome: tierzero.PrintableLine(ev.Outcome),
			Error: tierzero.PrintableLine(ev.Error), Text: auditRowText(tierzero.PrintableLine(ev.Text), maxAuditText),
		}
		if ev.Conversation != "" {
			row.Link = conversationLink(ev.Tenant, ev.Conversation)
		}
		d.Rows = append(d.Rows, row)
	}
	s.render(w, r, v, "audit", p)
}

// auditRowText shortens s to n runes, marking the cut.
func auditRowText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// auditExport writes the selected records of the trails the viewer sees as
// JSON lines, each trail oldest first, one record a line exactly as
// `tierzero audit export` prints it.
func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, v *Viewer) {
	f, err := auditFilterOf(r, v)
	if errors.Is(err, errTenantHidden) {
		s.refuse(w, r, v, tenantHidden)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := "tierzero-audit"
	if f.Tenant != "" {
		name += "-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
				return r
			}
			return '_'
		}, f.Tenant)
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.jsonl"`)
	enc := json.NewEncoder(w)
	for _, t := range f.Tenants {
		visible := s.trailVisible(v, t)
		err := s.readTrail(r.Context(), t, f.since, func(ev tierzero.AuditEvent) error {
			if !f.match(ev) || !visible(ev) {
				return nil
			}
			return enc.Encode(ev)
		})
		if err != nil {
			// The status is sent: the export ends short, and the log says why.
			s.log.Error("console: audit export", "tenant", t, "err", err)
			return
		}
	}
}
