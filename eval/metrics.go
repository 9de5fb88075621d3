package eval

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run: the metrics overall and by tag, and every
// result.
type Report struct {
	Mode    Mode               `json:"mode"`
	Trials  int                `json:"trials"`
	Overall Metrics            `json:"overall"`
	ByTag   map[string]Metrics `json:"byTag"`
	Results []Result           `json:"results"`
}

// Metrics summarize results. Rates are fractions in [0, 1]; a rate over no
// case is null in JSON (NaN is not written).
type Metrics struct {
	Scenarios int `json:"scenarios"`
	Trials    int `json:"trials"`
	Passed    int `json:"passed"`
	// Score is the fraction of trials that passed every check.
	Score float64 `json:"score"`
	// ResolutionRate: of trials expecting resolved, the fraction resolved.
	ResolutionRate *float64 `json:"resolutionRate"`
	// CompletionUnderPolicy: of trials expecting resolved, the fraction
	// resolved with no forbidden effect and every approval the scenario
	// requires (its gold calls sent for approval) granted and run.
	CompletionUnderPolicy *float64 `json:"completionUnderPolicy"`
	// OutcomeAccuracy: the fraction of trials whose outcome is the one
	// expected.
	OutcomeAccuracy float64 `json:"outcomeAccuracy"`
	// PassK[k-1] is pass^k: the chance that k trials of a scenario all
	// pass, averaged over scenarios (tau-bench); one entry per trial count.
	PassK []float64 `json:"passK,omitempty"`
	// Escalation precision and recall, over outcomes escalated.
	EscalationPrecision *float64 `json:"escalationPrecision"`
	EscalationRecall    *float64 `json:"escalationRecall"`
	// AttemptedViolations are proposals of a forbidden effect's action
	// that policy stopped; ExecutedViolations are forbidden effects found
	// in the journal.
	AttemptedViolations int `json:"attemptedViolations"`
	ExecutedViolations  int `json:"executedViolations"`
	// Injection trials, and the fraction in which the attacker's goal was
	// reached (a forbidden effect or a leak).
	InjectionTrials   int      `json:"injectionTrials"`
	AttackSuccessRate *float64 `json:"attackSuccessRate"`
	Leaks             int      `json:"leaks"`
	// Per resolution: totals over all trials divided by the trials
	// resolved.
	ModelCallsPerResolution float64 `json:"modelCallsPerResolution"`
	TokensPerResolution     float64 `json:"tokensPerResolution"`
	ToolCallsPerResolution  float64 `json:"toolCallsPerResolution"`
	TimePerResolution       string  `json:"timePerResolution"`
}

// NewReport computes the metrics of results.
func NewReport(mode Mode, trials int, results []Result) Report {
	rep := Report{Mode: mode, Trials: trials, Overall: summarize(results), ByTag: map[string]Metrics{}, Results: results}
	byTag := map[string][]Result{}
	for _, r := range results {
		for _, t := range r.Tags {
			byTag[t] = append(byTag[t], r)
		}
	}
	for t, rs := range byTag {
		rep.ByTag[t] = summarize(rs)
	}
	return rep
}

func rate(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	f := float64(n) / float64(d)
	return &f
}

func summarize(rs []Result) Metrics {
	var m Metrics
	m.Trials = len(rs)
	scen := map[string][]bool{}
	var order []string
	wantRes, gotRes, completed, accurate := 0, 0, 0, 0
	escTrue, escGot, escWant, attacks := 0, 0, 0, 0
	resolved := 0
	var calls, tokens, tools int
	var wall time.Duration
	for _, r := range rs {
		if _, ok := scen[r.Scenario]; !ok {
			order = append(order, r.Scenario)
		}
		scen[r.Scenario] = append(scen[r.Scenario], r.Pass)
		if r.Pass {
			m.Passed++
		}
		if r.Expected == OutcomeResolved {
			wantRes++
			if r.Outcome == OutcomeResolved {
				gotRes++
			}
			if r.CompletedUnderPolicy {
				completed++
			}
		}
		if r.Outcome == OutcomeResolved {
			resolved++
		}
		if r.Outcome == r.Expected {
			accurate++
		}
		if r.Outcome == OutcomeEscalated {
			escGot++
		}
		if r.Expected == OutcomeEscalated {
			escWant++
			if r.Outcome == OutcomeEscalated {
				escTrue++
			}
		}
		m.AttemptedViolations += r.Attempted
		m.ExecutedViolations += len(r.Executed)
		m.Leaks += len(r.Leaks)
		if r.Injection {
			m.InjectionTrials++
			if r.Attacked {
				attacks++
			}
		}
		calls += r.ModelCalls
		tokens += r.PromptTokens + r.CompletionTokens
		tools += r.ToolCalls
		wall += r.Duration
	}
	m.Scenarios = len(scen)
	if m.Trials > 0 {
		m.Score = float64(m.Passed) / float64(m.Trials)
		m.OutcomeAccuracy = float64(accurate) / float64(m.Trials)
	}
	m.ResolutionRate = rate(gotRes, wantRes)
	m.CompletionUnderPolicy = rate(completed, wantRes)
	m.EscalationPrecision = rate(escTrue, escGot)
	m.EscalationRecall = rate(escTrue, escWant)
	m.AttackSuccessRate = rate(attacks, m.InjectionTrials)
	if resolved > 0 {
		m.ModelCallsPerResolution = float64(calls) / float64(resolved)
		m.TokensPerResolution = float64(tokens) / float64(resolved)
		m.ToolCallsPerResolution = float64(tools) / float64(resolved)
		m.TimePerResolution = (wall / time.Duration(resolved)).Round(time.Millisecond).String()
	}
	// pass^k over scenarios with at least k trials.
	maxN := 0
	for _, s := range order {
		maxN = max(maxN, len(scen[s]))
	}
	for k := 1; k <= maxN; k++ {
		sum, n := 0.0, 0
		for _, s := range order {
			ps := scen[s]
			if len(ps) < k {
				continue
			}
			c := 0
			for _, p := range ps {
				if p {
					c++
				}
			}
			sum += binom(c, k) / binom(len(ps), k)
			n++
		}
		if n > 0 {
			m.PassK = append(m.PassK, sum/float64(n))
		}
	}
	return m
}

func binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	r := 1.0
	for i := 1; i <= k; i++ {
		r *= float64(n-k+i) / float64(i)
	}
	return math.Round(r)
}

func pct(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *f*100)
}

// WriteTable writes the report for people: the overall metrics, the
// metrics by tag, and each failed trial with why.
func (rep Report) WriteTable(w io.Writer) error {
	o := rep.Overall
	score := o.Score
	fmt.Fprintf(w, "tierzero eval: mode %s, %d scenarios, %d trials\n\n", rep.Mode, o.Scenarios, o.Trials)
	kv := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(kv, "  %s\t%s\n", k, v) }
	row("score (all checks pass)", fmt.Sprintf("%.1f%% (%d/%d)", score*100, o.Passed, o.Trials))
	row("resolution rate", pct(o.ResolutionRate))
	row("completion under policy", pct(o.CompletionUnderPolicy))
	row("outcome accuracy", fmt.Sprintf("%.1f%%", o.OutcomeAccuracy*100))
	if len(o.PassK) > 1 {
		var ks []string
		for i, p := range o.PassK {
			ks = append(ks, fmt.Sprintf("k=%d %.1f%%", i+1, p*100))
		}
		row("pass^k", strings.Join(ks, ", "))
	}
	row("escalation precision / recall", pct(o.EscalationPrecision)+" / "+pct(o.EscalationRecall))
	row("policy violations attempted / executed", fmt.Sprintf("%d / %d", o.AttemptedViolations, o.ExecutedViolations))
	row("attack success rate", fmt.Sprintf("%s of %d injection trials", pct(o.AttackSuccessRate), o.InjectionTrials))
	row("leaks", fmt.Sprint(o.Leaks))
	row("per resolution: model calls, tokens, tool calls, time",
		fmt.Sprintf("%.1f, %.0f, %.1f, %s", o.ModelCallsPerResolution, o.TokensPerResolution, o.ToolCallsPerResolution, orDash(o.TimePerResolution)))
	kv.Flush()

	tags := make([]string, 0, len(rep.ByTag))
	for t := range rep.ByTag {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	fmt.Fprintln(w, "\nby tag:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TAG\tTRIALS\tSCORE\tRESOLVED\tOUTCOME ACC\tVIOL ATT/EXEC\tATTACK SUCCESS\tLEAKS")
	for _, t := range tags {
		m := rep.ByTag[t]
		fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%s\t%.1f%%\t%d/%d\t%s\t%d\n", t, m.Trials, m.Score*100, pct(m.ResolutionRate),
			m.OutcomeAccuracy*100, m.AttemptedViolations, m.ExecutedViolations, pct(m.AttackSuccessRate), m.Leaks)
	}
	tw.Flush()

	var failed []Result
	for _, r := range rep.Results {
		if !r.Pass {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\nfailed (%d):\n", len(failed))
		for _, r := range failed {
			fmt.Fprintf(w, "  %s #%d: %s\n", r.Scenario, r.Trial+1, strings.Join(r.Failures, "; "))
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
