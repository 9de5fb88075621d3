package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/bot/console"
	"github.com/tierzero/tierzero/graph/sim"
)

func (a *app) chatCommand() *cobra.Command {
	var tenant, as, graphURL, data, configFile string
	var policyDirs []string
	cmd := &cobra.Command{
		Use:   "chat --tenant T --as UPN",
		Short: "Chat with tierzero on the terminal as a user of a tenant, or as an MSP technician",
		Long: `chat reads one message per line from standard input (a terminal or a pipe) and
prints tierzero's replies. Without --graph-url it runs the Graph simulator in-process.
A temporary password is printed only on a line marked "[private to UPN]".

An MSP technician (msp.technicians in the configuration; tess@msp.example in the demo)
chats from the MSP's own tenant (msp.tenant; --tenant may be left out) and acts in the
client tenants that policy admits them to: every action is shown as a plan, with its
tenant, and runs only after they answer yes.`,
		Example: `  printf 'I forgot my password\n' | tierzero chat --tenant contoso --as adele.vance@contoso.com
  printf 'Reset the password of noah.bennett@fabrikam.com\nyes\nyes\n' | tierzero chat --as tess@msp.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if as == "" {
				return usageError{errors.New("chat needs --as (and --tenant, unless --as is an MSP technician)")}
			}
			if tenant == "" {
				home, err := a.technicianHome(configFile, as)
				if err != nil {
					return err
				}
				tenant = string(home)
			}
			if tenant == "" {
				return usageError{errors.New("chat needs --tenant (only an MSP technician may leave it out)")}
			}
			rt, req, err := a.openAs(cmd.Context(), runtimeOptions{data: a.dataDir(data), graphURL: graphURL, policyDirs: policyDirs},
				configFile, tierzero.TenantID(tenant), as)
			if err != nil {
				return err
			}
			defer rt.Close()
			interactive := isTerminal(a.stdin)
			c := a.console(req, rt, interactive)
			if err := rt.start(cmd.Context(), map[tierzero.Channel]bot.Responder{tierzero.ChannelConsole: c}); err != nil {
				return err
			}
			if interactive {
				fmt.Fprintf(a.stdout, "tierzero (%s) for %s in %s. /help for help, /quit to end.\n", rt.modelName, req.UPN, req.Tenant)
			}
			if req.Role == tierzero.RoleMSPTechnician {
				a.technicianIntro(rt, req)
			}
			return c.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id, e.g. contoso")
	cmd.Flags().StringVar(&as, "as", "", "user principal name of the requester")
	cmd.Flags().StringVar(&graphURL, "graph-url", "", "Microsoft Graph base URL, e.g. http://127.0.0.1:8081/v1.0 for `tierzero graphsim` (default: the config's, else the in-process simulator)")
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file with each tenant's Graph credentials (default $TIERZERO_CONFIG)")
	cmd.Flags().StringArrayVar(&policyDirs, "policy", nil, "a directory of policy files layered on the built-in baseline (repeatable)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

func (a *app) console(req tierzero.Requester, rt *runtime, interactive bool) *console.Console {
	c := &console.Console{
		In: a.stdin, Out: a.stdout, Requester: req, Conversation: newConversationID(),
		Desk: rt.desk, Interactive: interactive, Logger: a.log,
	}
	if rt.simulated {
		// /as resolves the user in the current tenant's directory, or
		// among the demo MSP's technicians, or, from a technician's
		// session, in the tenants they act in: a way to play the manager
		// or an admin in the demo. On a real tenant identity comes from
		// the platform, never from a typed line, so there is no /as.
		start := req
		c.Resolve = func(ctx context.Context, upn string) (tierzero.Requester, error) {
			if r, ok := rt.staff.Technician(upn); ok {
				r.Channel = tierzero.ChannelConsole
				return r, nil
			}
			tenants := rt.reach.Across(start)
			if len(tenants) == 0 {
				tenants = []tierzero.TenantID{c.Requester.Tenant}
			}
			var err error
			for _, t := range tenants {
				var r tierzero.Requester
				if r, err = rt.requester(ctx, t, upn); err == nil {
					return r, nil
				}
			}
			return tierzero.Requester{}, tierzero.Errorf(tierzero.ENotFound, "%v", err)
		}
	}
	return c
}

func (a *app) demoCommand() *cobra.Command {
	var tenant, as, data, addr string
	var policyDirs []string
	var webConsole bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A guided chat on a simulated Microsoft 365 tenant (no account needed)",
		Long: `demo starts the Graph simulator in-process with the demo companies contoso and
fabrikam, shows a few users you can play, and opens a chat as one of them. With
--as tess@msp.example you play the MSP's technician, who acts in both companies from
the MSP's console. With --web it serves the web console instead, on the same tenants,
and prints a one-time link that signs you in as the technician.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if webConsole {
				// The server on the simulator, with its web console; it
				// prints the one-time sign-in link.
				return a.serve(cmd.Context(), nil, addr, a.dataDir(data), policyDirs)
			}
			rt, err := a.openRuntime(cmd.Context(), runtimeOptions{data: a.dataDir(data), policyDirs: policyDirs})
			if err != nil {
				return err
			}
			defer rt.Close()
			if tech, ok := rt.staff.Technician(as); ok || tenant == string(rt.staff.Home) {
				if !ok && as != "" {
					return usageError{fmt.Errorf("--as %s: in the MSP's tenant %s the demo's technician is %s", as, rt.staff.Home, demoTechnician)}
				}
				if !ok {
					tech, _ = rt.staff.Technician(demoTechnician)
				}
				tech.Channel = tierzero.ChannelConsole
				return a.chat(cmd.Context(), rt, tech, func() { a.technicianDemoIntro(rt, tech, a.dataDir(data)) })
			}
			st, ok := rt.sim.State(tenant)
			if !ok {
				return usageError{fmt.Errorf("--tenant %q: the demo tenants are %s", tenant, strings.Join(rt.sim.Tenants(), ", "))}
			}
			cast := castOf(st)
			if as == "" {
				as = cast.employees[0].UserPrincipalName
			}
			req, err := rt.requester(cmd.Context(), tierzero.TenantID(tenant), as)
			if err != nil {
				return err
			}
			return a.chat(cmd.Context(), rt, req, func() { a.demoIntro(rt, req, cast, a.dataDir(data)) })
		},
	}
	cmd.Flags().BoolVar(&webConsole, "web", false, "serve the web console on the demo tenants instead of a chat (prints a one-time sign-in link)")
	cmd.Flags().StringVar(&addr, "addr", defaultServeAddr, "with --web: address to listen on")
	cmd.Flags().StringVar(&tenant, "tenant", "contoso", "demo tenant: contoso or fabrikam (or msp, the MSP's console)")
	cmd.Flags().StringVar(&as, "as", "", "the demo user you play (default: an employee of the tenant, adele.vance@contoso.com in contoso; tess@msp.example is the MSP's technician)")
	cmd.Flags().StringArrayVar(&policyDirs, "policy", nil, "a directory of policy files layered on the built-in baseline (repeatable)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

// chat starts the desk with a console for req and runs it: intro first,
// once every tenant is reconciled.
func (a *app) chat(ctx context.Context, rt *runtime, req tierzero.Requester, intro func()) error {
	c := a.console(req, rt, isTerminal(a.stdin))
	if err := rt.start(ctx, map[tierzero.Channel]bot.Responder{tierzero.ChannelConsole: c}); err != nil {
		return err
	}
	intro()
	return c.Run(ctx)
}

// cast is who the demo suggests playing: employees (the tenant's first
// non-admin with a manager leads) and admin-role holders.
type cast struct {
	employees, admins []sim.User
}

func castOf(st sim.TenantState) cast {
	var c cast
	for _, u := range st.Users {
		switch {
		case !u.AccountEnabled:
		case len(u.DirectoryRoles) > 0:
			c.admins = append(c.admins, u)
		case u.Manager != "":
			c.employees = append(c.employees, u)
		}
	}
	// Adele is the demo's protagonist in contoso.
	slices.SortStableFunc(c.employees, func(x, y sim.User) int {
		return cmpBool(y.UserPrincipalName == "adele.vance@contoso.com", x.UserPrincipalName == "adele.vance@contoso.com")
	})
	return c
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

func (a *app) demoIntro(rt *runtime, req tierzero.Requester, c cast, data string) {
	w := a.stdout
	fmt.Fprintf(w, "tierzero demo: tenant %s on the built-in Microsoft Graph simulator; model: %s.\n\n", req.Tenant, rt.modelName)
	fmt.Fprintln(w, "People of this tenant you can play (tierzero demo --as UPN):")
	show := func(users []sim.User, n int) {
		for _, u := range users[:min(n, len(users))] {
			role := "employee"
			if len(u.DirectoryRoles) > 0 {
				role = strings.Join(u.DirectoryRoles, ", ")
			}
			fmt.Fprintf(w, "  %-32s %-12s %s\n", u.UserPrincipalName, u.Department, role)
		}
	}
	show(c.employees, 4)
	show(c.admins, 3)
	other := c.employees[len(c.employees)-1].UserPrincipalName
	if other == req.UPN {
		other = c.employees[0].UserPrincipalName
	}
	fmt.Fprintf(w, "\nYou are %s (%s). Try:\n", req.DisplayName, req.UPN)
	fmt.Fprintln(w, "  I forgot my password")
	fmt.Fprintln(w, "      reset under policy; the temporary password is shown to you alone")
	if req.UPN == c.employees[0].UserPrincipalName && c.employees[0].Manager != "" {
		fmt.Fprintln(w, "  I got a new phone and lost my authenticator")
		fmt.Fprintf(w, "      needs your manager's approval: /as %s, then /approve ID\n", c.employees[0].Manager)
	}
	fmt.Fprintf(w, "  Please reset the password of %s\n", other)
	fmt.Fprintln(w, "      refused: self-service acts on your own account only")
	fmt.Fprintln(w, "  I got a new phone and lost my authenticator")
	fmt.Fprintln(w, "      a Temporary Access Pass needs your manager's approval: switch with /as MANAGER-UPN, then /approve ID")
	fmt.Fprintln(w, "  My laptop is not compliant   /   I think I was hacked   /   Set my out of office")
	fmt.Fprintln(w, "      investigated first through Graph, then fixed or escalated")
	if len(c.admins) > 0 {
		fmt.Fprintf(w, "Then play an admin (tierzero demo --tenant %s --as %s) and ask again:\n", req.Tenant, c.admins[0].UserPrincipalName)
		fmt.Fprintln(w, "      refused: accounts with admin roles are never reset by the bot")
	}
	fmt.Fprintf(w, "Afterwards: tierzero audit export --tenant %s --data %s\n", req.Tenant, data)
	fmt.Fprintf(w, "Or play the MSP's technician, across both companies: tierzero demo --as %s\n", demoTechnician)
	fmt.Fprintln(w, "Type /quit (or Ctrl-D) to end.")
	fmt.Fprintln(w)
}

// technicianDemoIntro shows the MSP technician what to try across the demo
// tenants.
func (a *app) technicianDemoIntro(rt *runtime, req tierzero.Requester, data string) {
	w := a.stdout
	fmt.Fprintf(w, "tierzero demo: the MSP console on the built-in Microsoft Graph simulator; model: %s.\n\n", rt.modelName)
	a.technicianIntro(rt, req)
	ts := rt.reach.Across(req)
	if len(ts) == 0 {
		return
	}
	var picks []string // one employee per tenant
	admin := ""
	for _, t := range ts {
		st, ok := rt.sim.State(string(t))
		if !ok {
			continue
		}
		c := castOf(st)
		if len(c.employees) > 0 {
			picks = append(picks, c.employees[len(c.employees)-1].UserPrincipalName)
		}
		if admin == "" && len(c.admins) > 0 {
			admin = c.admins[0].UserPrincipalName
		}
	}
	if len(picks) == 0 {
		return
	}
	fmt.Fprintf(w, "\nYou are %s (%s). Try:\n", req.DisplayName, req.UPN)
	fmt.Fprintf(w, "  Reset the password of %s\n", picks[0])
	fmt.Fprintln(w, "      the sign-ins are read first, then the reset: each step is a plan naming its tenant; answer yes to run it")
	if len(picks) > 1 {
		fmt.Fprintf(w, "  I think %s and %s were hacked\n", picks[0], picks[1])
		fmt.Fprintln(w, "      one plan across both tenants: sign-ins and risk, then sign both out everywhere, then escalate")
	}
	if admin != "" {
		fmt.Fprintf(w, "  Reset the password of %s\n", admin)
		fmt.Fprintln(w, "      refused in its tenant: accounts with admin roles are never reset by the bot")
	}
	fmt.Fprintf(w, "Afterwards: tierzero audit export --tenant %s --data %s shows what you did there;\n", ts[0], data)
	fmt.Fprintf(w, "tierzero audit export --tenant %s --data %s shows your conversation.\n", req.Tenant, data)
	fmt.Fprintln(w, "Type /quit (or Ctrl-D) to end.")
	fmt.Fprintln(w)
}

func (a *app) graphsimCommand() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "graphsim --addr 127.0.0.1:PORT",
		Short: "Serve the Microsoft Graph v1.0 simulator with the demo tenants",
		Long: `graphsim serves the simulated tenants contoso and fabrikam over Microsoft Graph v1.0
JSON at http://ADDR/v1.0 (the bearer token "tierzero-sim.<tenant>" selects the tenant), plus
GET /_sim/state?tenant=T and GET /_sim/journal?tenant=T, and POST /_sim/signins?tenant=T,
which lets a day of the tenant's sign-ins pass (a baseline's report-only policies then have a
sign-in impact to review: docs/onboarding.md). It runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return usageError{fmt.Errorf("--addr %q: %v", addr, err)}
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return usageError{fmt.Errorf("--addr %q: the simulator listens on loopback only", addr)}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			s := sim.New(sim.Options{Logger: a.log})
			srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(a.stdout, "graphsim: serving tenants %s at http://%s/v1.0\n", strings.Join(s.Tenants(), ", "), ln.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-cmd.Context().Done():
				return srv.Close()
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "loopback address to listen on")
	return cmd
}

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read a tenant's audit trail",
	}
	var tenant, data, since string
	export := &cobra.Command{
		Use:   "export --tenant T",
		Short: "Print a tenant's audit trail as JSON lines",
		Long: `export prints every audit record of the tenant, oldest first, one JSON object per line
with seq, time, kind (message, proposed, decided, executed, reply, error) and, where they
apply, tool, effect, rule and outcome. Secrets never appear in the audit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return usageError{errors.New("audit export needs --tenant")}
			}
			t := tierzero.TenantID(tenant)
			if err := tierzero.ValidTenantID(t); err != nil {
				return usageError{err}
			}
			var from time.Time
			if since != "" {
				var err error
				if from, err = time.Parse(time.RFC3339, since); err != nil {
					return usageError{fmt.Errorf("--since %q: want RFC 3339, e.g. 2026-11-27T08:00:00Z", since)}
				}
			}
			db, err := a.openStore(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			enc := json.NewEncoder(a.stdout)
			return db.Audit(cmd.Context(), t, from, func(ev tierzero.AuditEvent) error { return enc.Encode(ev) })
		},
	}
	export.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	export.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	export.Flags().StringVar(&since, "since", "", "only records at or after this RFC 3339 time")
	cmd.AddCommand(export, a.auditVerifyCommand(), a.auditVerifyKeyCommand(), a.auditUpgradeCommand())
	return cmd
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
