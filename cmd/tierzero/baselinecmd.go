package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/baseline"
	"github.com/tierzero/tierzero/bot"
)

// The tenant baseline commands (issue 22, docs/baseline.md): plan reads a
// client tenant through Graph and prints how it differs from its baseline;
// apply proposes the phase that can run now, through the Guard, for
// approval, as a technician asking in chat would; drift compares every
// client tenant with its baseline.

// baselineSource is the runtime's tenant baselines: the built-in default
// with baseline.dir and --baselines layered over it (graph.Baselines).
// Files that do not load leave no set, and every plan answers why: a
// broken baseline file stops the baseline commands, not the rest.
type baselineSource struct {
	dirs []string // the directories layered over the built-in default
	set  *baseline.Set
	err  error
}

// problem is why there is no set, as a domain error.
func (b *baselineSource) problem() error {
	if b == nil {
		return tierzero.Errorf(tierzero.EUnavailable, "no baselines configured")
	}
	return tierzero.Errorf(tierzero.EUnavailable, "the baselines do not load: %v", b.err)
}

// PlanBaseline plans a tenant read through Graph against its baseline.
func (b *baselineSource) PlanBaseline(doc tierzero.BaselineDoc) (tierzero.BaselinePlan, error) {
	if b == nil || b.set == nil {
		return tierzero.BaselinePlan{}, b.problem()
	}
	return b.set.PlanBaseline(doc)
}

// UsersNamed returns the user principal names tenant's baseline names.
func (b *baselineSource) UsersNamed(t tierzero.TenantID) []string {
	if b == nil || b.set == nil {
		return nil
	}
	return b.set.UsersNamed(t)
}

// describe names where the baselines come from, for people.
func (b *baselineSource) describe() string {
	if b == nil || len(b.dirs) == 0 {
		return "the built-in default"
	}
	return "the built-in default with " + strings.Join(b.dirs, ", ")
}

// baselineDirs are the directories of baseline files to layer over the
// built-in default: baseline.dir of the configuration (relative to the
// configuration file's directory), then extra (--baselines), in order.
func baselineDirs(configFile string, c *config, extra []string) ([]string, error) {
	var dirs []string
	if d := c.baselineDir(); d != "" {
		if !filepath.IsAbs(d) {
			if configFile == "" {
				return nil, fmt.Errorf("baseline.dir %q is relative, and the configuration file it is relative to is not known here: make it absolute", d)
			}
			d = filepath.Join(filepath.Dir(configFile), d)
		}
		dirs = append(dirs, d)
	}
	return append(dirs, extra...), nil
}

// loadBaselines loads the baselines the options name. It never fails: a
// problem is kept, logged, and answered by every plan.
func (a *app) loadBaselines(o runtimeOptions) *baselineSource {
	dirs, err := baselineDirs(o.configFile, o.config, o.baselineDirs)
	if err != nil {
		a.log.Warn("baselines", "err", err)
		return &baselineSource{err: err}
	}
	set, err := baseline.Load(dirs...)
	if err != nil {
		a.log.Warn("baselines do not load", "dirs", strings.Join(dirs, ","), "err", err)
		return &baselineSource{dirs: dirs, err: err}
	}
	return &baselineSource{dirs: dirs, set: set}
}

// baselinePlan reads tenant through Graph (GETs only) and plans it against
// the tenant's baseline: what the baseline commands print and what serve's
// drift watch compares. It runs no tool through the Guard: it only reads,
// on behalf of the operator, not of a requester. It reads no sign-in
// logs: baselinePlanImpact adds an enable phase's impact.
func (rt *runtime) baselinePlan(ctx context.Context, tenant tierzero.TenantID) (tierzero.BaselinePlan, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.BaselinePlan{}, err
	}
	if rt.baselines == nil || rt.baselines.set == nil {
		return tierzero.BaselinePlan{}, rt.baselines.problem()
	}
	doc, err := rt.graph.BaselineDoc(ctx, tenant, rt.baselines.UsersNamed(tenant))
	if err != nil {
		return tierzero.BaselinePlan{}, fmt.Errorf("read tenant %s: %w", tenant, err)
	}
	p, err := rt.baselines.PlanBaseline(doc)
	if err != nil {
		return p, fmt.Errorf("plan tenant %s: %w", tenant, err)
	}
	return p, nil
}

// baselineImpactDays are the days of sign-in logs baseline plan reads an
// enable phase's impact from: baseline.plan's default.
const baselineImpactDays = 7

// baselinePlanImpact is baselinePlan with, for an enable phase, each
// policy's sign-in impact (graph.Client.BaselineImpact): in Impact and at
// the end of its step's label, as apply proposes it. Only an enable phase
// reads the sign-in logs (the drift watch, which needs no impact, uses
// baselinePlan).
func (rt *runtime) baselinePlanImpact(ctx context.Context, tenant tierzero.TenantID) (tierzero.BaselinePlan, error) {
	p, err := rt.baselinePlan(ctx, tenant)
	if err != nil || p.Plan.Phase != tierzero.BaselineEnable {
		return p, err
	}
	if err := rt.graph.BaselineImpact(ctx, tenant, &p, baselineImpactDays); err != nil {
		return p, fmt.Errorf("sign-in impact in tenant %s: %w", tenant, err)
	}
	return p, nil
}

// exitStatus ends a command with this exit status, its output already
// printed (Main prints nothing more).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// driftExit is the exit status of baseline drift when a tenant drifted.
const driftExit exitStatus = 3

func (a *app) baselineCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Plan, apply and watch the client tenants' baselines (Entra ID and Intune configuration as code)",
		Long: `A baseline is the Entra ID and Intune configuration an MSP wants in every client tenant:
Conditional Access policies, security defaults, authentication methods, self-service password
reset, Intune compliance policies. The built-in MSP default ships with tierzero; the YAML files
of baseline.dir in the configuration (relative to the configuration file's directory) and of
each --baselines directory are layered over it, global files first, then each tenant's
(docs/baseline.md).

plan prints how a tenant differs and what would be done; apply proposes it for approval,
one phase at a time (create: new Conditional Access policies are created report-only;
enable: they are switched on, and security defaults off, after their sign-in impact is
shown); drift compares every client tenant with its baseline.

While tierzero serve runs on the data directory, these commands run inside it (the admin
socket) on its open store and its baselines. Without --config or --graph-url each process
runs the Graph simulator in-process, seeded afresh: to follow a demo tenant from apply
through approval to the next plan, run tierzero serve (or tierzero graphsim with
--graph-url on every command).`,
	}
	cmd.AddCommand(a.baselinePlanCommand(), a.baselineApplyCommand(), a.baselineDriftCommand())
	return cmd
}

// baselineFlags are the flags the baseline commands share.
type baselineFlags struct {
	configFile, graphURL, data string
	dirs                       []string
	policyDirs                 []string
	asJSON                     bool
}

func (f *baselineFlags) add(cmd *cobra.Command, asJSON, policy bool) {
	cmd.Flags().StringArrayVar(&f.dirs, "baselines", nil, "a directory of baseline files layered over the built-in default and baseline.dir (repeatable)")
	if asJSON {
		cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
	}
	if policy {
		cmd.Flags().StringArrayVar(&f.policyDirs, "policy", nil, "a directory of policy files layered on the built-in baseline (repeatable)")
	}
	cmd.Flags().StringVar(&f.configFile, "config", "", "configuration file with each tenant's Graph credentials and baseline.dir (default $TIERZERO_CONFIG; none: the built-in simulator)")
	cmd.Flags().StringVar(&f.graphURL, "graph-url", "", "Microsoft Graph base URL (default: the config's, else the in-process simulator)")
	cmd.Flags().StringVar(&f.data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
}

// openBaselines opens the runtime the read-only baseline commands use (no
// requester: the operator reads). Run by the server, it is the server's,
// with its baselines unless --baselines names others.
func (a *app) openBaselines(ctx context.Context, f baselineFlags) (*runtime, error) {
	c, err := a.optionalConfig(f.configFile)
	if err != nil {
		return nil, err
	}
	o := runtimeOptions{data: a.dataDir(f.data), graphURL: f.graphURL, config: c, configFile: a.configPath(f.configFile), baselineDirs: f.dirs, policyDirs: f.policyDirs}
	rt, err := a.openRuntime(ctx, o)
	if err != nil {
		return nil, err
	}
	if rt.lent && len(f.dirs) > 0 {
		rt.baselines = a.loadBaselines(o) // this command's copy of the runtime only
	}
	if rt.baselines != nil && rt.baselines.set == nil {
		rt.Close()
		return nil, rt.baselines.problem()
	}
	return rt, nil
}

// clientTenant checks that tenant is one tierzero acts in here.
func (rt *runtime) clientTenant(tenant tierzero.TenantID) error {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return usageError{err}
	}
	if !slices.Contains(rt.staff.Clients, tenant) {
		return fmt.Errorf("tenant %s is not a client tenant here (the client tenants are %s)", tenant, tenantList(rt.staff.Clients))
	}
	return nil
}

func (a *app) baselinePlanCommand() *cobra.Command {
	var f baselineFlags
	cmd := &cobra.Command{
		Use:   "plan TENANT",
		Short: "Print how a client tenant differs from its baseline, and what apply would do",
		Long: `plan reads the tenant through Microsoft Graph (reads only: nothing is changed) and prints
every object of its baseline: create, update, enable, leave or conflict, and why, with the
fields that differ; then the phase that can run now with its steps, and what is left for a
person. For the enable phase it also reads the last 7 days of sign-in logs and shows each
policy's sign-in impact: what switching it on would have done to the sign-ins it applied
to in report-only mode. --json prints the plan as JSON (the BaselinePlan that apply proposes).`,
		Example: `  tierzero baseline plan fabrikam
  tierzero baseline plan contoso --baselines ./baselines --json`,
		Args: baselineArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			tenant := tierzero.TenantID(args[0])
			if err := tierzero.ValidTenantID(tenant); err != nil {
				return usageError{err}
			}
			rt, err := a.openBaselines(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer rt.Close()
			if err := rt.clientTenant(tenant); err != nil {
				return err
			}
			p, err := rt.baselinePlanImpact(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if f.asJSON {
				return baselineJSON(a.stdout, p)
			}
			printBaselinePlan(a.stdout, p, rt.baselines.describe())
			return nil
		},
	}
	f.add(cmd, true, false)
	return cmd
}

func (a *app) baselineApplyCommand() *cobra.Command {
	var f baselineFlags
	var as string
	cmd := &cobra.Command{
		Use:   "apply TENANT --as UPN",
		Short: "Propose the baseline phase that can run now, for approval",
		Long: `apply plans the tenant as its requester (--as: an MSP technician admitted to the tenant,
or one of its admins) through the policy Guard, exactly as a request in chat would, and
proposes the phase that can run now: create (objects created and updated; a new Conditional
Access policy is always created report-only) or, once that is done, enable (the report-only
policies switched on, and security defaults off when they give way to them, each labelled
with its sign-in impact from the sign-in logs). Nothing changes until the approvers policy
names approve: tierzero approvals decide ID approve --tenant TENANT --as ADMIN runs the
steps, each through the Guard, and audits the report. A tenant with nothing to run is said
to be in line (exit 0). A plan a stopped process left unfinished is resumed first.

apply takes no --baselines: the approved plan is planned again when it runs, with the
configuration's baselines (the built-in default and baseline.dir), and runs only if it is
the same, so it is planned with those. Try other files with baseline plan --baselines DIR.`,
		Example: `  tierzero baseline apply fabrikam --as tess@msp.example
  tierzero approvals decide APPROVAL approve --tenant fabrikam --as tara.ellis@fabrikam.com`,
		Args: baselineArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := tierzero.TenantID(args[0])
			if err := tierzero.ValidTenantID(target); err != nil {
				return usageError{err}
			}
			if as == "" {
				return usageError{errors.New("baseline apply needs --as, the MSP technician or tenant admin who asks")}
			}
			if len(f.dirs) > 0 {
				return usageError{errApplyBaselines}
			}
			return a.baselineApply(cmd.Context(), f, target, as)
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "user principal name of the requester (an MSP technician, or an admin of the tenant)")
	f.add(cmd, false, true)
	cmd.Flags().Lookup("baselines").Usage = "refused: apply plans with the configuration's baseline.dir (try files with baseline plan --baselines DIR)"
	return cmd
}

// errApplyBaselines refuses --baselines on baseline apply: the approved
// plan runs only if graph's baseline.apply, planning the tenant again at
// execution with the runtime's baselines (built-in + baseline.dir), finds
// the same steps; a plan of other files would be refused then.
var errApplyBaselines = errors.New("apply uses the configuration's baseline.dir so that the plan approved is the plan run; try files with `baseline plan --baselines DIR`")

// baselineApply plans target as as asks and proposes its phase due.
func (a *app) baselineApply(ctx context.Context, f baselineFlags, target tierzero.TenantID, as string) error {
	home, err := a.technicianHome(f.configFile, as)
	if err != nil {
		return err
	}
	reqTenant := target
	if home != "" {
		reqTenant = home // a technician asks from the MSP's tenant
	}
	rt, req, err := a.openAs(ctx, runtimeOptions{data: a.dataDir(f.data), graphURL: f.graphURL, policyDirs: f.policyDirs},
		f.configFile, reqTenant, as)
	if err != nil {
		return err
	}
	defer rt.Close()
	if rt.baselines != nil && rt.baselines.set == nil {
		return rt.baselines.problem()
	}
	if err := rt.clientTenant(target); err != nil {
		return err
	}
	if err := a.resumeBaseline(ctx, rt, target); err != nil {
		return err
	}
	waiting, err := rt.db.ListApprovals(ctx, target, tierzero.ApprovalPending)
	if err != nil {
		return err
	}
	for _, ap := range waiting {
		if ap.Action == tierzero.ActionBaselineApply {
			fmt.Fprintf(a.stdout, "approval %s already waits for %s: the baseline of %s, requested by %s; nothing new was proposed\n",
				ap.ID, tierzero.PrintableLine(ap.ApproverText()), target, tierzero.PrintableLine(ap.Requester.UPN))
			return nil
		}
	}

	var shown *baselineCLI
	if !rt.lent {
		// No chat is open in this process: the approval request is
		// printed here (the server's channels show it when it runs this).
		shown = &baselineCLI{}
		rt.desk.Register(req.Channel, shown)
	}

	// As the agent does in chat: the read tool returns the plan, and the
	// plan call proposes it unchanged.
	conv := newConversationID()
	res, err := rt.guard.RunTool(ctx, target, req, conv, tierzero.ToolCall{ID: baselineCallID(), Action: tierzero.ActionBaselinePlan, Args: json.RawMessage(`{}`)})
	if err != nil {
		return err
	}
	if res.Error != nil {
		return fmt.Errorf("baseline plan of %s: %s", target, tierzero.PrintableLine(res.Error.Message))
	}
	var p tierzero.BaselinePlan
	if err := json.Unmarshal(res.Output, &p); err != nil {
		return fmt.Errorf("baseline plan of %s: %w", target, err)
	}
	if len(p.Plan.Steps) == 0 {
		printBaselineInLine(a.stdout, p)
		return nil
	}
	// The plan call's arguments are the plan, unchanged: its phase and
	// steps (a baseline plan names no user).
	args, err := json.Marshal(p.Plan)
	if err != nil {
		return err
	}
	res, err = rt.guard.RunTool(ctx, target, req, conv, tierzero.ToolCall{ID: baselineCallID(), Action: tierzero.ActionBaselineApply, Args: args})
	if err != nil {
		return err
	}
	switch {
	case res.Error == nil:
		// A plan runs its steps only once approved (the desk starts it
		// then): a policy that allows the plan call itself lets nothing run.
		return fmt.Errorf("policy let %s run without approval, so none of its steps runs: a baseline runs only once approved (require_approval in policy/baseline/60-baseline.yaml)", tierzero.ActionBaselineApply)
	case res.Error.Code != tierzero.EPending:
		return fmt.Errorf("baseline of %s not proposed: %s", target, tierzero.PrintableLine(res.Error.Message))
	}
	var pending struct {
		Approval string `json:"approval"`
		Text     string `json:"approver_text"`
		Expires  string `json:"expires"`
	}
	if err := json.Unmarshal(res.Output, &pending); err != nil || pending.Approval == "" {
		return fmt.Errorf("baseline of %s: the approval request did not say its id", target)
	}
	ap, err := rt.db.Approval(ctx, target, pending.Approval)
	if err != nil {
		return fmt.Errorf("baseline of %s: approval %s: %w", target, pending.Approval, err)
	}
	names := rt.desk.ApproversOf(ap)
	if shown != nil && shown.shown {
		names = shown.approvers
	}
	printBaselineProposal(a.stdout, p, pending.Approval, pending.Text, names, pending.Expires)
	return nil
}

// resumeBaseline finishes, before anything new is planned, a baseline plan
// of tenant that a stopped process left unfinished (or an approved one it
// never started): the desk reconciles the intents in flight through Graph
// and resumes the plan, as it does whenever it starts. Run by the server,
// the server did so at its start.
func (a *app) resumeBaseline(ctx context.Context, rt *runtime, tenant tierzero.TenantID) error {
	if rt.lent {
		return nil
	}
	open, err := rt.db.OpenPlans(ctx, tenant)
	if err != nil {
		return err
	}
	intents, err := rt.db.OpenIntents(ctx, tenant)
	if err != nil {
		return err
	}
	var ids []string
	for _, p := range open {
		if p.Action == tierzero.ActionBaselineApply {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 && len(intents) == 0 {
		return nil
	}
	for _, id := range ids {
		fmt.Fprintf(a.stdout, "plan %s was left unfinished by a stopped process: resuming it\n", id)
	}
	if err := rt.start(ctx, nil); err != nil {
		return err
	}
	for _, id := range ids {
		p, found, err := rt.db.Plan(ctx, tenant, id)
		if err != nil || !found {
			return fmt.Errorf("plan %s: %v", id, err)
		}
		if p.Finished.IsZero() {
			return fmt.Errorf("plan %s did not finish; it resumes at the next start", id)
		}
		fmt.Fprintln(a.stdout, tierzero.Printable(strings.TrimRight(p.Report(), "\n")))
	}
	return nil
}

// baselineCLI is the requester's channel while baseline apply runs on the
// files: it takes the approval request, whose approvers apply prints, and
// delivers nothing else (what the requester is owed, the plan's report,
// waits in the outbox for their next session on the channel).
type baselineCLI struct {
	shown     bool
	approvers []string
}

func (r *baselineCLI) ShowApproval(_ context.Context, req bot.ApprovalRequest) ([]string, error) {
	r.shown, r.approvers = true, slices.Clone(req.Approvers)
	return nil, nil // shown to no one by name: printed for the requester to pass on
}

func (r *baselineCLI) ApprovalSettled(context.Context, tierzero.Approval, string) error { return nil }

func (r *baselineCLI) Reply(context.Context, bot.Address, string) error {
	return tierzero.Errorf(tierzero.EUnavailable, "no chat is open in this process")
}

func (r *baselineCLI) Private(context.Context, bot.Address, tierzero.PrivateNote) error {
	return tierzero.Errorf(tierzero.EUnavailable, "no chat is open in this process")
}

func (a *app) baselineDriftCommand() *cobra.Command {
	var f baselineFlags
	cmd := &cobra.Command{
		Use:   "drift [TENANT]",
		Short: "Compare every client tenant (or one) with its baseline; exit 3 on drift",
		Long: `drift reads each client tenant through Microsoft Graph (reads only) and prints whether it
is in line with its baseline or, for each object that is not, what differs: every item that is
not leave. While a tenant's security defaults are still on, items of kind enable (report-only
policies) and security defaults to turn off with them await the enable phase: listed, but not
drift. Once security defaults are off, a report-only policy the baseline enforces is drift:
nothing enforces it (switched back to report-only, or an enable phase that did not finish).
Exit status: 0 every tenant in line (or awaiting the enable phase), 3 drift found (an item of
kind create, update or conflict, or enable with security defaults off), 1 a tenant could not
be read (the check is incomplete, whatever the others showed). tierzero serve runs it on a
schedule (baseline.drift_interval).`,
		Example: `  tierzero baseline drift
  tierzero baseline drift contoso --json`,
		Args: baselineArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := a.openBaselines(ctx, f)
			if err != nil {
				return err
			}
			defer rt.Close()
			tenants := slices.Clone(rt.staff.Clients)
			if len(args) == 1 {
				t := tierzero.TenantID(args[0])
				if err := rt.clientTenant(t); err != nil {
					return err
				}
				tenants = []tierzero.TenantID{t}
			}
			reports := make([]baselineDrift, 0, len(tenants))
			failed, drifted := 0, 0
			for _, t := range tenants {
				r := baselineDrift{Tenant: t, Drift: []tierzero.BaselineItem{}}
				p, err := rt.baselinePlan(ctx, t)
				switch {
				case err != nil:
					r.Error = tierzero.ErrorMessage(err)
					failed++
				default:
					// Drift first (a report-only policy with security
					// defaults off says why), then what awaits the enable
					// phase.
					drift, waits := tierzero.SplitDrift(p.Drift())
					r.Drift = append(append(r.Drift, drift...), waits...)
					r.Awaiting = len(waits)
					r.InLine = r.Awaiting == len(r.Drift)
					if !r.InLine {
						drifted++
					}
				}
				reports = append(reports, r)
			}
			if f.asJSON {
				if err := baselineJSON(a.stdout, map[string]any{"tenants": reports}); err != nil {
					return err
				}
			} else {
				for _, r := range reports {
					printBaselineDrift(a.stdout, r)
				}
			}
			switch {
			case failed > 0:
				return fmt.Errorf("%d of %d tenants could not be compared with their baseline", failed, len(tenants))
			case drifted > 0:
				if !f.asJSON {
					fmt.Fprintf(a.stderr, "drift in %d of %d tenants\n", drifted, len(tenants))
				}
				return driftExit
			}
			return nil
		},
	}
	f.add(cmd, true, false)
	return cmd
}

// baselineDrift is one tenant's line of baseline drift.
type baselineDrift struct {
	Tenant tierzero.TenantID       `json:"tenant"`
	InLine bool                    `json:"in_line"` // no drift: nothing but what awaits the enable phase
	Drift  []tierzero.BaselineItem `json:"drift"`   // every item that is not leave
	Error  string                  `json:"error,omitempty"`

	// Awaiting is how many of Drift await the enable phase (not drift).
	Awaiting int `json:"awaiting_enable,omitempty"`
}

func printBaselineDrift(w io.Writer, r baselineDrift) {
	switch {
	case r.Error != "":
		fmt.Fprintf(w, "%s: could not be compared: %s\n", r.Tenant, tierzero.PrintableLine(r.Error))
	case r.InLine && r.Awaiting == 0:
		fmt.Fprintf(w, "%s: in line with its baseline\n", r.Tenant)
	case r.InLine:
		fmt.Fprintf(w, "%s: in line with its baseline but for the enable phase: %d %s it\n", r.Tenant, r.Awaiting, baselinePlural(r.Awaiting, "object awaits", "objects await"))
	default:
		n := len(r.Drift) - r.Awaiting
		fmt.Fprintf(w, "%s: %d %s from its baseline", r.Tenant, n, baselinePlural(n, "object differs", "objects differ"))
		if r.Awaiting > 0 {
			fmt.Fprintf(w, "; %d more %s the enable phase", r.Awaiting, baselinePlural(r.Awaiting, "awaits", "await"))
		}
		fmt.Fprintln(w)
	}
	if r.Error == "" {
		for _, it := range r.Drift {
			printBaselineItem(w, it)
		}
	}
}

// baselineResources name a baseline item's resource for people.
var baselineResources = map[string]string{
	"conditional_access": "Conditional Access",
	"named_location":     "named location",
	"security_defaults":  "security defaults",
	"auth_method":        "authentication method",
	"sspr":               "password reset",
	"compliance":         "compliance policy",
	"assignment":         "assignment",
}

func printBaselineItem(w io.Writer, it tierzero.BaselineItem) {
	res := baselineResources[it.Resource]
	if res == "" {
		res = it.Resource
	}
	fmt.Fprintf(w, "  %-9s %-22s %s", tierzero.PrintableLine(it.Kind), tierzero.PrintableLine(res), tierzero.PrintableLine(it.Name))
	if it.Why != "" {
		fmt.Fprintf(w, ": %s", tierzero.PrintableLine(it.Why))
	}
	fmt.Fprintln(w)
	for _, c := range it.Changes {
		fmt.Fprintf(w, "%-35s%s\n", "", tierzero.PrintableLine(c))
	}
}

// printBaselinePlan prints a tenant's plan for people.
func printBaselinePlan(w io.Writer, p tierzero.BaselinePlan, from string) {
	drift := p.Drift()
	fmt.Fprintf(w, "Baseline of %s (%s): %d %s, %d %s.\n", p.Tenant, tierzero.PrintableLine(from),
		len(p.Items), baselinePlural(len(p.Items), "object", "objects"), len(drift), baselinePlural(len(drift), "differs", "differ"))
	for _, it := range p.Items {
		printBaselineItem(w, it)
	}
	fmt.Fprintln(w)
	printBaselinePhase(w, p)
	printBaselineImpact(w, p.Impact)
	printBaselineLeft(w, p.LeftToDo) // an impact that could not be read is said here

}

// printBaselinePhase prints the phase that runs now and its steps.
func printBaselinePhase(w io.Writer, p tierzero.BaselinePlan) {
	if len(p.Plan.Steps) == 0 {
		fmt.Fprintln(w, "Nothing to apply now.")
		return
	}
	fmt.Fprintf(w, "Runs now: the %s phase, %d %s (tierzero baseline apply %s --as UPN proposes it for approval):\n",
		p.Plan.Phase, len(p.Plan.Steps), baselinePlural(len(p.Plan.Steps), "step", "steps"), p.Tenant)
	for i, s := range p.Plan.Steps {
		fmt.Fprintf(w, "  %2d. %s\n", i+1, tierzero.PrintableLine(s.Label))
	}
	if p.Plan.Phase == tierzero.BaselineCreate {
		n := 0
		for _, it := range p.Items {
			if it.Resource == "conditional_access" && (it.Kind == "enable" || it.Kind == "create") {
				n++
			}
		}
		if n > 0 {
			fmt.Fprintf(w, "Then: the enable phase switches the %d report-only %s on (and security defaults off, where the baseline replaces them), proposed by apply once the create phase is done, with each policy's sign-in impact.\n", n, baselinePlural(n, "policy", "policies"))
		}
	}
}

// printBaselineImpact prints, for each policy an enable phase switches
// on, what it did to the sign-ins of the logs read while report-only.
func printBaselineImpact(w io.Writer, imp []tierzero.BaselineImpact) {
	if len(imp) == 0 {
		return
	}
	fmt.Fprintln(w, "Sign-in impact of switching the policies on, from the sign-in logs of their report-only time:")
	for _, m := range imp {
		if m.SignIns == 0 {
			// Not "no impact": a report-only result is recorded only for
			// the sign-ins after the policy was so (graph.BaselineImpact).
			fmt.Fprintf(w, "  %s, since %s: too early to tell, no sign-in came under it yet; wait until sign-ins come under it before switching it on\n",
				tierzero.PrintableLine(m.Name), tierzero.PrintableLine(m.Since))
			continue
		}
		fmt.Fprintf(w, "  %s, since %s: %d %s by %d %s came under it; %d would have passed, %d would have been asked for MFA, %d would have been blocked or refused",
			tierzero.PrintableLine(m.Name), tierzero.PrintableLine(m.Since), m.SignIns, baselinePlural(m.SignIns, "sign-in", "sign-ins"),
			m.Users, baselinePlural(m.Users, "user", "users"), m.Success, m.Interrupted, m.Failure)
		if len(m.Affected) > 0 {
			fmt.Fprintf(w, " (affected: %s)", tierzero.PrintableLine(strings.Join(m.Affected, ", ")))
		}
		fmt.Fprintln(w)
	}
}

func printBaselineLeft(w io.Writer, left []string) {
	if len(left) == 0 {
		return
	}
	fmt.Fprintln(w, "Left for a person:")
	for _, l := range left {
		fmt.Fprintf(w, "  - %s\n", tierzero.PrintableLine(l))
	}
}

// printBaselineInLine says that apply has nothing to propose.
func printBaselineInLine(w io.Writer, p tierzero.BaselinePlan) {
	if d := p.Drift(); len(d) > 0 {
		fmt.Fprintf(w, "%s: nothing tierzero can apply now; %d %s still %s from the baseline:\n", p.Tenant, len(d), baselinePlural(len(d), "object", "objects"), baselinePlural(len(d), "differs", "differ"))
		for _, it := range d {
			printBaselineItem(w, it)
		}
	} else {
		fmt.Fprintf(w, "%s is in line with its baseline: nothing to apply\n", p.Tenant)
	}
	printBaselineLeft(w, p.LeftToDo)
}

// printBaselineProposal says what apply proposed and who may approve it.
func printBaselineProposal(w io.Writer, p tierzero.BaselinePlan, id, approverText string, names []string, expires string) {
	fmt.Fprintf(w, "approval %s: the %s phase of the baseline of %s, %d %s, waits for approval\n",
		id, p.Plan.Phase, p.Tenant, len(p.Plan.Steps), baselinePlural(len(p.Plan.Steps), "step", "steps"))
	for i, s := range p.Plan.Steps {
		fmt.Fprintf(w, "  %2d. %s\n", i+1, tierzero.PrintableLine(s.Label))
	}
	printBaselineLeft(w, p.LeftToDo) // each enable step's label says its sign-in impact
	who := tierzero.PrintableLine(approverText)
	if len(names) > 0 {
		who += " (" + tierzero.PrintableLine(strings.Join(names, ", ")) + ")"
	}
	fmt.Fprintf(w, "who may approve: %s, until %s\n", who, expires)
	upn := "UPN"
	if len(names) > 0 {
		upn = names[0]
	}
	fmt.Fprintf(w, "approve with: tierzero approvals decide %s approve --tenant %s --as %s\n", id, p.Tenant, tierzero.PrintableLine(upn))
}

func baselinePlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func baselineJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// baselineArgs makes a wrong number of arguments a usage error (exit 2).
func baselineArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// baselineCallID names a tool call made on the command line.
func baselineCallID() string {
	var b [6]byte
	rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}
