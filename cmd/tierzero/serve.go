package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/metrics"
)

// defaultServeAddr is where serve listens without --addr or serve.addr.
const defaultServeAddr = "127.0.0.1:8080"

// drainTimeout bounds how long SIGTERM waits for running requests.
const drainTimeout = 20 * time.Second

func (a *app) serveCommand() *cobra.Command {
	var configFile, addr, data string
	var policyDirs []string
	cmd := &cobra.Command{
		Use:   "serve --config FILE [--addr HOST:PORT]",
		Short: "Run tierzero as a server: every tenant, the chat channels, health and metrics",
		Long: `serve runs tierzero as one long-running process that owns every tenant's data file.
It reconciles unfinished actions of every tenant at start, then serves:

  GET /healthz   200 while the process runs
  GET /readyz    200 once reconciliation is done (503 before); names tenants whose
                 Graph credentials fail, which do not stop the others
  GET /metrics   Prometheus metrics
  /console/      the web console for technicians and tenant admins (OpenID Connect
                 sign-in from console.oidc; on the simulator, a one-time link is printed)

Approval reminders and expiries run on a timer. Every baseline.drift_interval (default 24h)
each client tenant is compared with its baseline (docs/baseline.md): new drift is recorded
in the tenant's audit trail, shown on the console's tenants page, told to the technicians
in chat and, where the tenant has a ticketing system, made a ticket. Logs are JSON lines on stderr (level
from TIERZERO_LOG), with a request id and never a secret. SIGTERM (or Ctrl-C) stops
intake, lets running requests finish (up to 20 s) and closes the stores; queued
messages wait in each tenant's durable inbox for the next start.

While it runs, the operator commands (approvals, audit, tenant) are sent to it over
the admin socket DATA/admin.sock (mode 0600) and run there; without a server they run
on the files. Without --config, serve runs on the built-in Graph simulator (the demo
tenants).`,
		Example: `  tierzero graphsim --addr 127.0.0.1:8081 &
  tierzero serve --config examples/tierzero.yaml
  curl -s localhost:8080/readyz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.optionalConfig(configFile)
			if err != nil {
				return err
			}
			if addr == "" && c != nil && c.Serve != nil {
				addr = c.Serve.Addr
			}
			if addr == "" {
				addr = defaultServeAddr
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageError{fmt.Errorf("--addr %q: %v", addr, err)}
			}
			return a.serve(cmd.Context(), c, addr, a.dataDir(data), policyDirs)
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (default $TIERZERO_CONFIG; none: the built-in simulator)")
	cmd.Flags().StringVar(&addr, "addr", "", "address to listen on (default serve.addr, else "+defaultServeAddr+")")
	cmd.Flags().StringArrayVar(&policyDirs, "policy", nil, "a directory of policy files layered on the built-in baseline (repeatable)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

// serve runs the server until ctx is done.
func (a *app) serve(ctx context.Context, c *config, addr, data string, policyDirs []string) error {
	a.log = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: logLevel(a.getenv("TIERZERO_LOG"))}))
	reg := metrics.New()
	o := runtimeOptions{data: data, policyDirs: policyDirs, config: c, observer: reg, wrapAudit: reg.Auditor}
	if c != nil && c.Serve != nil {
		o.workers, o.maxOpen = c.Serve.Workers, c.Serve.MaxOpenFiles
	}
	rt, err := a.openRuntime(ctx, o)
	if err != nil {
		return err
	}
	defer rt.Close()
	for t, err := range rt.problems {
		a.log.Error("tenant credentials", "tenant", t, "err", err)
	}
	var modelProblem string
	if m, ok := rt.model.(interface{ Check(context.Context) error }); ok {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		if err := m.Check(cctx); err != nil {
			modelProblem = err.Error()
			a.log.Error("language model", "model", rt.modelName, "err", err)
		}
		cancel()
	}
	a.log.Info("model", "model", rt.modelName)

	socket := a.adminSocket(data, "")
	if p := a.getenv("TIERZERO_ADMIN_SOCKET"); p == "" && c != nil && c.Serve != nil && c.Serve.AdminSocket != "" {
		socket = c.Serve.AdminSocket
	}
	adminLn, err := listenAdmin(socket)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		adminLn.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		body, ready := readiness(rt.desk, modelProblem)
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, body)
	})
	mux.Handle("GET /metrics", reg.Handler())
	chans, err := a.adapters(rt, c)
	if err != nil {
		adminLn.Close()
		ln.Close()
		return err
	}
	for _, ch := range chans {
		ch.Mount(mux)
		rt.desk.Register(ch.Channel(), ch.Responder())
	}
	// The baseline drift watch (drift.go): its findings on the console's
	// tenants page, in chat to the technicians, as tickets.
	drift, err := a.driftWatchOf(rt, c)
	if err != nil {
		adminLn.Close()
		ln.Close()
		return err
	}
	if drift != nil {
		rt.drift = drift
		if rt.tickets != nil {
			rt.tickets.Attach(driftTeller{Notifier: rt.desk, notice: drift.cfg.Notice})
		}
	}
	// The web console (webconsole.go): its own channel, for operations.
	con, err := a.webConsole(rt, c)
	if err != nil {
		adminLn.Close()
		ln.Close()
		return err
	}
	con.Mount(mux)
	rt.consoleLink = consoleLinker(con, consoleBase(c, ln.Addr().String()))
	rt.desk.Register(tierzero.ChannelWeb, con.Responder())
	a.mountTickets(mux, c, rt) // the ticket webhook's callbacks (ticket.go)
	// A slow client cannot hold a connection: headers in 10 s, a whole
	// request (webhooks and console forms are small) in 30 s, an idle
	// connection 2 minutes. No write timeout: a console operation waits
	// for the model.
	srv := &http.Server{Handler: reg.Instrument(mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	admin := &http.Server{Handler: a.adminHandler(rt, data), ReadHeaderTimeout: 10 * time.Second}

	if err := rt.desk.Open(ctx); err != nil {
		return err
	}
	if rt.tickets != nil {
		if err := rt.tickets.Open(ctx); err != nil {
			return err
		}
		defer rt.tickets.Close() // before the stores close (rt.Close, deferred earlier)
	}
	if rt.drift != nil {
		if err := rt.drift.Open(ctx); err != nil {
			return err
		}
		defer rt.drift.Close()
	}
	errc := make(chan error, 2+len(chans))
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- admin.Serve(adminLn) }()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	for _, ch := range chans {
		go func() {
			if err := ch.Run(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", ch.Channel(), err)
			}
		}()
	}
	a.log.Info("serving", "addr", ln.Addr().String(), "admin_socket", socket, "tenants", len(rt.staff.Clients))
	fmt.Fprintf(a.stdout, "tierzero: serving on http://%s (admin socket %s)\n", ln.Addr(), socket)
	if rt.simulated && len(rt.staff.Technicians) > 0 {
		// The demo has no identity provider: a link that signs its holder
		// in once, as the demo's technician.
		if p, ok := con.OneTimeLink(rt.staff.Technicians[0].UPN); ok {
			fmt.Fprintf(a.stdout, "tierzero: web console: open http://%s%s to sign in as %s (once, within 15 minutes)\n", ln.Addr(), p, rt.staff.Technicians[0].UPN)
		}
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
		a.log.Error("server stopped", "err", err)
	}
	// Drain: no new requests, running ones finish, then the stores close.
	a.log.Info("shutting down")
	stopRun()
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	// The operator commands first (they use the desk and the store), then
	// the webhooks, then the desk; the stores close last (rt.Close).
	if rt.drift != nil {
		rt.drift.Close() // it tells through the desk
	}
	aerr := admin.Shutdown(sctx)
	herr := srv.Shutdown(sctx)
	derr := rt.desk.Close(sctx)
	if e := errors.Join(herr, derr, aerr); e != nil {
		a.log.Error("shutdown", "err", e)
	}
	a.log.Info("stopped")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readiness is the /readyz body and whether the server is ready.
func readiness(d *bot.Desk, modelProblem string) (string, bool) {
	if !d.Ready() {
		return "not ready: reconciling unfinished actions\n", false
	}
	var b strings.Builder
	b.WriteString("ready\n")
	probs := d.Problems()
	ids := make([]tierzero.TenantID, 0, len(probs))
	for t := range probs {
		ids = append(ids, t)
	}
	slices.Sort(ids)
	for _, t := range ids {
		fmt.Fprintf(&b, "tenant %s: Graph credentials fail: %s\n", t, probs[t])
	}
	if modelProblem != "" {
		fmt.Fprintf(&b, "model: %s\n", modelProblem)
	}
	return b.String(), true
}
