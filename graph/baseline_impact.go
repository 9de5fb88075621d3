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

// BaselineImpact reads the sign-ins of the last days (1 to 30) and gives
// each enable step of an enable phase's plan its policy's impact: in
// plan.Impact, and in words at the end of the step's label (impactLabel),
// so the approver reads it with the step. Sign-in logs the tenant has no
// licence for leave the impact unknown, said so in the labels and in what
// is left for a person; any other failure is an error. A plan of another
// phase is left as it is, and nothing is read. baseline.plan calls it; so
// does tierzero baseline plan, which shows the impact.
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

// fillImpact is BaselineImpact's work.
func (c *Client) fillImpact(ctx context.Context, tenant tierzero.TenantID, plan *tierzero.BaselinePlan, days int) error {
	type target struct {
		step int
		im   *tierzero.BaselineImpact
	}
	since := c.cfg.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
	var targets []target
	byID := map[string]*tierzero.BaselineImpact{}
	for i, s := range plan.Plan.Steps {
		if s.Action != ActionBaselineEnableCAPolicy {
			continue
		}
		a, err := decodeBaselineArgs(json.RawMessage(s.Args), "id", "name")
		if err != nil {
			return fmt.Errorf("enable step %d: %w", i+1, err)
		}
		im := byID[strings.ToLower(a.ID)]
		if im == nil {
			im = &tierzero.BaselineImpact{PolicyID: a.ID, Name: a.Name, Since: since.Format(time.RFC3339)}
			byID[strings.ToLower(a.ID)] = im
		}
		targets = append(targets, target{i, im})
	}
	if len(targets) == 0 {
		return nil
	}
	var truncated bool
	var err error
	noLogs := c.lacks(ctx, tenant, hasP1) // a call known to be refused is not made
	if !noLogs {
		truncated, err = c.signInImpact(ctx, tenant, since, byID)
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
		plan.Plan.Steps[t.step].Label += impactSep + impactWords(*t.im, days, truncated)
	}
	for _, t := range targets {
		if !slices.ContainsFunc(plan.Impact, func(x tierzero.BaselineImpact) bool { return strings.EqualFold(x.PolicyID, t.im.PolicyID) }) {
			plan.Impact = append(plan.Impact, *t.im)
		}
	}
	return nil
}

// signInImpact counts, for each policy of byID (by lowercase id), the
// sign-ins since then it applied to in report-only mode. It reports
// whether the log had more pages than were read.
func (c *Client) signInImpact(ctx context.Context, tenant tierzero.TenantID, since time.Time, byID map[string]*tierzero.BaselineImpact) (bool, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return false, err
	}
	sb := auditlogs.NewSignInsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	filter := "createdDateTime ge " + since.Format(time.RFC3339)
	top := baselineSignInPageSize
	r := get(sb.ToGetRequestInformation(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
	}))
	users := map[string]map[string]bool{}
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
				UPN     string `json:"userPrincipalName"`
				UserID  string `json:"userId"`
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
				im := byID[strings.ToLower(ap.ID)]
				if im == nil {
					continue
				}
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
				if users[key] == nil {
					users[key], affected[key] = map[string]bool{}, map[string]bool{}
				}
				users[key][who] = true
				im.Users = len(users[key])
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
	for _, im := range byID {
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
// (numbers, a period, user principal names): the only text baseline.apply
// accepts after the planner's label of an enable step (impactLabel).
var impactPattern = regexp.MustCompile(`^(?:` +
	`sign-in impact: no sign-in in the last (?:day|\d+ days) came under it(?: \(of the sign-ins read: the log had more\))?` +
	`|sign-in impact in the last (?:day|\d+ days): it applied to (?:at least )?\d+ sign-ins? by \d+ users?, of which \d+ would have passed, ` +
	`\d+ would have been asked for MFA and \d+ would have been blocked or refused(?: \(affected: [^\s,()]+(?:, [^\s,()]+)*(?:, and maybe more)?\))?` +
	`|` + regexp.QuoteMeta(impactUnknown) + `)$`)

// impactLabel reports whether label is the planner's label plain followed
// by a sign-in impact as fillImpact writes it, and nothing else.
func impactLabel(label, plain string) bool {
	rest, ok := strings.CutPrefix(label, plain+impactSep)
	return ok && impactPattern.MatchString(rest)
}

// impactWords says a policy's impact in plain words.
func impactWords(im tierzero.BaselineImpact, days int, truncated bool) string {
	period := fmt.Sprintf("the last %d days", days)
	if days == 1 {
		period = "the last day"
	}
	if im.SignIns == 0 {
		s := "sign-in impact: no sign-in in " + period + " came under it"
		if truncated {
			s += " (of the sign-ins read: the log had more)"
		}
		return s
	}
	at := ""
	if truncated {
		at = "at least "
	}
	s := fmt.Sprintf("sign-in impact in %s: it applied to %s%s by %s, of which %d would have passed, %d would have been asked for MFA and %d would have been blocked or refused",
		period, at, plural(im.SignIns, "sign-in"), plural(im.Users, "user"), im.Success, im.Interrupted, im.Failure)
	if len(im.Affected) > 0 {
		s += " (affected: " + strings.Join(im.Affected, ", ")
		if im.Interrupted+im.Failure > 0 && len(im.Affected) == baselineAffectedMax {
			s += ", and maybe more"
		}
		s += ")"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
