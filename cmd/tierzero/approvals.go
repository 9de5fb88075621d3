package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// channelCLI is the channel of an operator's decision on the command line.
const channelCLI tierzero.Channel = "cli"

func (a *app) approvalsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List and decide the requests that wait for approval",
	}
	cmd.AddCommand(a.approvalsListCommand(), a.approvalsDecideCommand())
	return cmd
}

func (a *app) approvalsListCommand() *cobra.Command {
	var tenant, data, state string
	cmd := &cobra.Command{
		Use:   "list --tenant T",
		Short: "Print a tenant's approval requests, oldest first",
		Long: `list prints one line per approval request of the tenant: id, state (pending, approved,
denied, expired, executed), what it runs, who asked, who may approve, and until when.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := tierzero.TenantID(tenant)
			if tenant == "" {
				return usageError{errors.New("approvals list needs --tenant")}
			}
			if err := tierzero.ValidTenantID(t); err != nil {
				return usageError{err}
			}
			switch s := tierzero.ApprovalState(state); s {
			case "", tierzero.ApprovalPending, tierzero.ApprovalApproved, tierzero.ApprovalDenied, tierzero.ApprovalExpired, tierzero.ApprovalExecuted:
			default:
				return usageError{fmt.Errorf("--state %q: want pending, approved, denied, expired or executed", state)}
			}
			db, err := a.openStore(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			list, err := db.ListApprovals(cmd.Context(), t, tierzero.ApprovalState(state))
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(a.stderr, "no approval requests in tenant %s\n", t)
			}
			for _, ap := range list {
				fmt.Fprintln(a.stdout, approvalLine(ap))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	cmd.Flags().StringVar(&state, "state", "", "only approvals in this state: pending, approved, denied, expired or executed")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

func (a *app) approvalsDecideCommand() *cobra.Command {
	var tenant, as, graphURL, data, configFile string
	var policyDirs []string
	cmd := &cobra.Command{
		Use:   "decide ID approve|deny --tenant T --as UPN",
		Short: "Approve or deny a request as a user of the tenant",
		Long: `decide records the decision of --as, looked up in the tenant's directory, with the
same checks as a decision in chat: never the requester, never someone of another tenant,
only an approver the policy names. When the request is approved it runs, exactly as it was
requested. An MSP technician (--tenant may be left out) decides, from the MSP's tenant, a
request of a client tenant that policy admits them to and whose approvers name
role:msp_technician. A secret it produces (a Temporary Access Pass) belongs to the requester alone
and is never printed here.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, verb := args[0], args[1]
			if verb != "approve" && verb != "deny" {
				return usageError{fmt.Errorf("decision %q: want approve or deny", verb)}
			}
			if tenant == "" && as != "" {
				home, err := a.technicianHome(configFile, as)
				if err != nil {
					return err
				}
				tenant = string(home)
			}
			if tenant == "" || as == "" {
				return usageError{errors.New("approvals decide needs --tenant and --as")}
			}
			rt, approver, err := a.openAs(cmd.Context(), runtimeOptions{data: a.dataDir(data), graphURL: graphURL, policyDirs: policyDirs},
				configFile, tierzero.TenantID(tenant), as)
			if err != nil {
				return err
			}
			defer rt.Close()
			// The desk decides; it need not be opened (no channel is served
			// here: what the requester is owed waits in the outbox).
			v, err := rt.desk.Decide(cmd.Context(), bot.Vote{Channel: channelCLI, Tenant: approver.Tenant, Approval: id, Approve: verb == "approve",
				User: tierzero.PlatformUser{UPN: approver.UPN, ObjectID: approver.ObjectID}})
			if err != nil {
				return err
			}
			if v.Refused {
				return errors.New(strings.TrimSuffix(strings.Replace(v.Text, "Your decision was not recorded: ", "decision not recorded: ", 1), "."))
			}
			ap := v.Approval
			switch {
			case ap.State == tierzero.ApprovalExecuted && tierzero.IsPlanAction(ap.Action):
				return a.printPlanOutcome(cmd.Context(), rt, ap)
			}
			switch ap.State {
			case tierzero.ApprovalExecuted:
				fmt.Fprintf(a.stdout, "approval %s approved and done: %s\n", ap.ID, tierzero.PrintableLine(ap.Summary))
				fmt.Fprintf(a.stdout, "the outcome, and any secret it produced, go to %s in their own conversation, never here\n", tierzero.PrintableLine(ap.Requester.UPN))
			case tierzero.ApprovalPending:
				fmt.Fprintf(a.stdout, "approval %s: your approval is recorded; it needs %d more\n", ap.ID, ap.Count-ap.Approvals())
			default:
				fmt.Fprintf(a.stdout, "approval %s is %s\n", ap.ID, ap.State)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	cmd.Flags().StringVar(&as, "as", "", "user principal name of the approver")
	cmd.Flags().StringVar(&graphURL, "graph-url", "", "Microsoft Graph base URL (default: the config's, else the in-process simulator)")
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file with each tenant's Graph credentials (default $TIERZERO_CONFIG)")
	cmd.Flags().StringArrayVar(&policyDirs, "policy", nil, "a directory of policy files layered on the built-in baseline (repeatable)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

// approvalLine is one approval request as approvals list prints it, on one
// line: its summary and names come from the model and the tenant, so they
// are made printable (tierzero.PrintableLine) and cannot hide or forge a
// line of the list.
func approvalLine(ap tierzero.Approval) string {
	var by []string
	for _, d := range ap.Decisions {
		v := "denied"
		if d.Approve {
			v = "approved"
		}
		by = append(by, d.Approver+" "+v)
	}
	line := fmt.Sprintf("%s  %-8s  %s  requested by %s  approvers %s (%d)  expires %s",
		ap.ID, ap.State, ap.Summary, ap.Requester.UPN, strings.Join(ap.Approvers, ","), ap.Count, ap.Expires.UTC().Format(time.RFC3339))
	if len(by) > 0 {
		line += "  decisions: " + strings.Join(by, "; ")
	}
	return tierzero.PrintableLine(line)
}

// printPlanOutcome prints what became of the plan an approval let run (a
// plan call: tierzero.IsPlanAction): each step's state, as the plan's
// report says it. It ends the command with exit status 1 unless every step
// is done: a step failed, was skipped or has not run, or the plan call
// itself was refused (a baseline plan that is no longer the planner's) and
// no step ran.
func (a *app) printPlanOutcome(ctx context.Context, rt *runtime, ap tierzero.Approval) error {
	p, found, err := rt.db.Plan(ctx, ap.Tenant, ap.ID)
	if err != nil {
		return err
	}
	if !found {
		why := "its steps have not started; they start at the next start of tierzero"
		ins, err := rt.db.IntentsOf(ctx, ap.Tenant, ap.Conversation, ap.Action, ap.Args)
		if err != nil {
			return err
		}
		if len(ins) > 0 && ins[len(ins)-1].Outcome != tierzero.IntentDone {
			why = "its plan call was refused, so none of its steps ran"
			if d := tierzero.PrintableLine(ins[len(ins)-1].Detail); d != "" {
				why += ": " + d
			}
		}
		fmt.Fprintf(a.stdout, "approval %s approved, but not done: %s\n", ap.ID, tierzero.PrintableLine(ap.Summary))
		fmt.Fprintf(a.stdout, "%s\n", why)
		return exitStatus(1)
	}
	done := !p.Finished.IsZero() && len(p.Steps) > 0
	for _, s := range p.Steps {
		done = done && s.State == tierzero.StepDone
	}
	if done {
		fmt.Fprintf(a.stdout, "approval %s approved and done: %s\n", ap.ID, tierzero.PrintableLine(ap.Summary))
	} else {
		fmt.Fprintf(a.stdout, "approval %s approved, but not every step is done: %s\n", ap.ID, tierzero.PrintableLine(ap.Summary))
	}
	fmt.Fprintln(a.stdout, tierzero.Printable(strings.TrimRight(p.Report(), "\n")))
	if !done {
		return exitStatus(1)
	}
	return nil
}
