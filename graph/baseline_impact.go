package graph

// This file: the sign-in impact of switching report-only Conditional Access
// policies on (issue 22), read from the sign-in logs: each sign-in lists,
// in appliedConditionalAccessPolicies, what every policy did or, report-only,
// would have done to it.
// https://learn.microsoft.com/graph/api/resources/appliedconditionalaccesspolicy

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"

	"github.com/tierzero/tierzero"
)

// Results of appliedConditionalAccessPolicy a report-only policy has when
// it applied to a sign-in.
const (
	resultReportOnlySuccess     = "reportOnlySuccess"
	resultReportOnlyInterrupted = "reportOnlyInterrupted"
	resultReportOnlyFailure     = "reportOnlyFailure"
)

// BaselineImpact reads the sign-ins of the time each policy an enable
// phase switches on has been report-only, at most the last days (1 to 30),
// and gives each enable step its policy's impact: in plan.Impact, and in
// words at the end of the step's label (impactLabel), so the approver reads
// it with the step. Entra records a report-only result only for the
// sign-ins after the policy was in that state, so a policy's window starts
// at the later of now-days and the time it became report-only (its
// modifiedDateTime, else its createdDateTime: any change starts the window
// again, as the results before it were of another policy); under a day of
// it, or with no sign-in under it, the words say it is too early to tell
// and to wait, never that nothing would change. Sign-in logs the tenant has
// no licence for leave the impact unknown, said so in the labels and in
// what is left for a person; any other failure is an error. A plan of
// another phase is left as it is, and nothing is read. baseline.plan calls
// it; so does tierzero baseline plan, which shows the impact.
func (c *Client) BaselineImpact(ctx context.Context, tenant tierzero.TenantID, plan *tierzero.BaselinePlan, days int) error {
	if days < 1 || days > baselineMaxImpactDays {
		return tierzero.Errorf(tierzero.EInvalid, "invalid arguments: impact_days must be 1 to %d", baselineMaxImpactDays)
	}
	if plan == nil || plan.Plan.Phase != tierzero.BaselineEnable {
		return nil
	}
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return err
	}
	return c.fillImpact(ctx, tenant, plan, days)
}

// policyImpact is one policy's impact being counted: from is the start of
// its window, window what its words say of it.
type policyImpact struct {
	im     *tierzero.BaselineImpact
	from   time.Time
	window impactWindow
	users  map[string]bool
}

// impactWindow is the time a policy's impact was read over: the last days,
// and, when Graph gave when the policy became report-only (known), for
// how long it has been (reportOnly), and whether that is longer than the
// days read (capped).
type impactWindow struct {
	days       int
	known      bool
	capped     bool
	reportOnly time.Duration
}

// fillImpact is BaselineImpact's work.
func (c *Client) fillImpact(ctx context.Context, tenant tierzero.TenantID, plan *tierzero.BaselinePlan, days int) error {
	type target struct {
		step int
		pi   *policyImpact
	}
	now := c.cfg.Now().UTC().Truncate(time.Second)
	since := now.Add(-time.Duration(days) * 24 * time.Hour)
	var targets []target
	byID := map[string]*policyImpact{}
	for i, s := range plan.Plan.Steps {
		if s.Action != ActionBaselineEnableCAPolicy {
			continue
		}
		a, err := decodeBaselineArgs(json.RawMessage(s.Args), "id", "name")
		if err != nil {
			return fmt.Errorf("enable step %d: %w", i+1, err)
		}
		pi := byID[strings.ToLower(a.ID)]
		if pi == nil {
			pi = &policyImpact{im: &tierzero.BaselineImpact{PolicyID: a.ID, Name: a.Name}, from: since, window: impactWindow{days: days}, users: map[string]bool{}}
			byID[strings.ToLower(a.ID)] = pi
		}
		targets = append(targets, target{i, pi})
	}
	if len(targets) == 0 {
		return nil
	}
	var truncated bool
	noLogs := c.lacks(ctx, tenant, hasP1) // a call known to be refused is not made
	var err error
	if !noLogs {
		err = c.reportOnlySince(ctx, tenant, now, byID)
		if err == nil {
			truncated, err = c.signInImpact(ctx, tenant, byID)
		}
		noLogs = isLicenseGap(err)
	}
	if noLogs {
		for _, t := range targets {
			plan.Plan.Steps[t.step].Label += impactSep + impactUnknown
		}
		plan.LeftToDo = append(plan.LeftToDo, "the sign-in impact of the policies to switch on could not be read (the sign-in logs need Entra ID P1): review who they would affect before approving")
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range targets {
		plan.Plan.Steps[t.step].Label += impactSep + impactWords(*t.pi.im, t.pi.window, truncated)
		c.impacts.wrote(tenant, plan.Plan.Steps[t.step].Label, c.cfg.Now())
	}
	for _, t := range targets {
		if !slices.ContainsFunc(plan.Impact, func(x tierzero.BaselineImpact) bool { return strings.EqualFold(x.PolicyID, t.pi.im.PolicyID) }) {
			plan.Impact = append(plan.Impact, *t.pi.im)
		}
	}
	return nil
}

// reportOnlySince reads the Conditional Access policies and starts each
// window of byID at the time its policy became report-only when that is
// later than the window's start: its modifiedDateTime, else its
// createdDateTime (Graph gives no time of the state change itself). A
// policy Graph gives no time for keeps the last days.
func (c *Client) reportOnlySince(ctx context.Context, tenant tierzero.TenantID, now time.Time, byID map[string]*policyImpact) error {
	ib, err := c.identityBuilder(tenant)
	if err != nil {
		return err
	}
	list, err := c.rawList(ctx, tenant, get(ib.ConditionalAccess().Policies().ToGetRequestInformation(ctx, nil)))
	if err != nil {
		return pageError("read Conditional Access", err)
	}
	for _, raw := range list {
		var p struct {
			ID       string  `json:"id"`
			Created  *string `json:"createdDateTime"`
			Modified *string `json:"modifiedDateTime"`
		}
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		pi := byID[strings.ToLower(p.ID)]
		if pi == nil {
			continue
		}
		var at time.Time
		for _, v := range []*string{p.Modified, p.Created} {
			if v == nil || *v == "" {
				continue
			}
			if t, err := time.Parse(time.RFC3339, *v); err == nil {
				at = t.UTC()
				break
			}
		}
		if at.IsZero() {
			continue
		}
		pi.window.known = true
		pi.window.reportOnly = max(now.Sub(at), 0)
		if at.After(pi.from) {
			pi.from = at
		} else {
			pi.window.capped = true
		}
	}
	for _, pi := range byID {
		pi.im.Since = pi.from.Format(time.RFC3339)
	}
	return nil
}

// signInImpact counts, for each policy of byID (by lowercase id), the
// sign-ins of its window it applied to in report-only mode. It reports
// whether the log had more pages than were read.
func (c *Client) signInImpact(ctx context.Context, tenant tierzero.TenantID, byID map[string]*policyImpact) (bool, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return false, err
	}
	var since time.Time
	for _, pi := range byID {
		if since.IsZero() || pi.from.Before(since) {
			since = pi.from
		}
	}
	sb := auditlogs.NewSignInsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	filter := "createdDateTime ge " + since.Format(time.RFC3339)
	top := baselineSignInPageSize
	r := get(sb.ToGetRequestInformation(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
	}))
	affected := map[string]map[string]bool{}
	pages := 0
	var next string
	for {
		pages++
		b, err := c.rawGet(ctx, tenant, r)
		if err != nil {
			return false, pageError("read sign-ins", err)
		}
		var page struct {
			Value []struct {
				UPN     string    `json:"userPrincipalName"`
				UserID  string    `json:"userId"`
				At      time.Time `json:"createdDateTime"`
				Applied []struct {
					ID     string `json:"id"`
					Result string `json:"result"`
				} `json:"appliedConditionalAccessPolicies"`
			} `json:"value"`
			Next string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return false, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph answered the sign-in logs with something other than a collection")
		}
		for _, s := range page.Value {
			who := strings.ToLower(s.UPN)
			if who == "" {
				who = strings.ToLower(s.UserID)
			}
			for _, ap := range s.Applied {
				pi := byID[strings.ToLower(ap.ID)]
				if pi == nil || s.At.Before(pi.from) {
					continue // another policy, or a sign-in before its window
				}
				im := pi.im
				switch ap.Result {
				case resultReportOnlySuccess:
					im.Success++
				case resultReportOnlyInterrupted:
					im.Interrupted++
				case resultReportOnlyFailure:
					im.Failure++
				default:
					continue // not applied, or not report-only
				}
				key := strings.ToLower(im.PolicyID)
				im.SignIns++
				if affected[key] == nil {
					affected[key] = map[string]bool{}
				}
				pi.users[who] = true
				im.Users = len(pi.users)
				if ap.Result != resultReportOnlySuccess && s.UPN != "" && !affected[key][who] {
					affected[key][who] = true
					im.Affected = append(im.Affected, s.UPN)
				}
			}
		}
		next = page.Next
		if next == "" || pages == baselineSignInMaxPages {
			break
		}
		if err := c.checkPageLink(next); err != nil {
			return false, err
		}
		r = get(nextPage(next))
	}
	for _, pi := range byID {
		im := pi.im
		slices.SortFunc(im.Affected, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		if len(im.Affected) > baselineAffectedMax {
			im.Affected = im.Affected[:baselineAffectedMax]
		}
	}
	return next != "", nil
}

// impactSep joins an enable step's label and its impact; impactUnknown is
// the impact of a tenant whose sign-in logs cannot be read.
const (
	impactSep     = "; "
	impactUnknown = "sign-in impact unknown: the tenant's sign-in logs cannot be read (they need Entra ID P1)"
)

// impactPattern matches exactly what impactWords and impactUnknown write
// (numbers, durations, a period, user principal names): the only text
// baseline.apply accepts after the planner's label of an enable step
// (impactLabel). Every impact read starts "sign-in impact in the last N
// days" (or "day"), the days it was read over.
var impactPattern = regexp.MustCompile(`^(?:` +
	`sign-in impact in the last (?:day|\d+ days)(?:, report-only for ` + impactDuration + `)?: (?:` + impactCounts +
	`|too early to tell, (?:` + impactCounts + `|no sign-in came under it yet(?: \(of the sign-ins read: the log had more\))?)` +
	`; (?:` + regexp.QuoteMeta(adviceEarly) + `|` + regexp.QuoteMeta(adviceNone) + `))` +
	`|` + regexp.QuoteMeta(impactUnknown) + `)$`)

// The parts of impactPattern: how long a policy has been report-only, and
// what it did to the sign-ins of its window.
const (
	impactDuration = `(?:less than an hour|\d+ hours?|\d+ days?)`
	impactCounts   = `it applied to (?:at least )?\d+ sign-ins? by \d+ users?, of which \d+ would have passed, ` +
		`\d+ would have been asked for MFA and \d+ would have been blocked or refused(?: \(affected: [^\s,()]+(?:, [^\s,()]+)*(?:, and maybe more)?\))?`
)

// What a too-early impact advises: under a day report-only, or no sign-in
// under it yet.
const (
	adviceEarly = "let a day or more of sign-ins come under it before switching it on"
	adviceNone  = "wait until sign-ins come under it before switching it on"
)

// impactLabel reports whether label is the planner's label plain followed
// by a sign-in impact as fillImpact writes it, and nothing else.
func impactLabel(label, plain string) bool {
	rest, ok := strings.CutPrefix(label, plain+impactSep)
	return ok && impactPattern.MatchString(rest)
}

// impactWords says a policy's impact over its window in plain words: the
// days read, how long the policy has been report-only (when Graph gave
// it), and what it did to the sign-ins of that time. It is too early to
// tell when the policy has been report-only for less than a day or no
// sign-in came under it: the words say so and advise waiting, since no
// sign-in under it is no sign that switching it on changes nothing.
func impactWords(im tierzero.BaselineImpact, w impactWindow, truncated bool) string {
	s := fmt.Sprintf("sign-in impact in the last %d days", w.days)
	if w.days == 1 {
		s = "sign-in impact in the last day"
	}
	if w.known {
		s += ", report-only for " + duration(w.reportOnly)
	}
	s += ": "
	early := w.known && !w.capped && w.reportOnly < 24*time.Hour
	if im.SignIns == 0 {
		s += "too early to tell, no sign-in came under it yet"
		if truncated {
			s += " (of the sign-ins read: the log had more)"
		}
		if early {
			return s + "; " + adviceEarly
		}
		return s + "; " + adviceNone
	}
	if early {
		s += "too early to tell, "
	}
	at := ""
	if truncated {
		at = "at least "
	}
	s += fmt.Sprintf("it applied to %s%s by %s, of which %d would have passed, %d would have been asked for MFA and %d would have been blocked or refused",
		at, plural(im.SignIns, "sign-in"), plural(im.Users, "user"), im.Success, im.Interrupted, im.Failure)
	if len(im.Affected) > 0 {
		s += " (affected: " + strings.Join(im.Affected, ", ")
		if im.Interrupted+im.Failure > 0 && len(im.Affected) == baselineAffectedMax {
			s += ", and maybe more"
		}
		s += ")"
	}
	if early {
		s += "; " + adviceEarly
	}
	return s
}

// duration says d in whole hours under two days, else in whole days (less
// than an hour: said so), so that it reads the same for an hour at least.
func duration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return "less than an hour"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
