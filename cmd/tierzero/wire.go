package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/offline"
	"github.com/tierzero/tierzero/agent/openai"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
	"github.com/tierzero/tierzero/store"
)

// runtime is tierzero wired for one process: store, Graph, policy, agent
// and the desk every channel plugs into.
type runtime struct {
	// simulated: every tenant is the Graph simulator (in-process, or
	// `tierzero graphsim` with its tokens): a demo, where the console may
	// switch identity.
	simulated bool
	db        *store.DB
	graph     *graph.Client
	agent     *agent.Agent
	model     agent.Model
	guard     *policy.Guard
	policies  *policy.Set
	staff     bot.Staff                   // technicians and tenant admins
	reach     *policy.Reach               // where technicians act
	desk      *bot.Desk                   // the conversation engine
	tickets   *bot.Tickets                // the ticket outbox's worker, when a tenant has a ticket system
	drift     *driftWatch                 // serve's baseline drift watch (drift.go), when it runs
	notify    *bot.Later                  // the desk, once there is one
	sim       *sim.Server                 // the in-process simulator, when no --graph-url
	problems  map[tierzero.TenantID]error // tenants whose credentials could not be set up
	token     graph.TokenSource
	modelName string
	closers   []func() error
	lent      bool // the running server's, lent to an operator command
	acks      acks // ack latency of the channels' webhooks, when measured
	// consoleLink mints a one-time sign-in link to the web console, while
	// serve runs (`tierzero console link`).
	consoleLink func(upn string) (string, bool)
	// baselines are the tenant baselines (the built-in default with
	// baseline.dir and --baselines over it): graph's baseline.plan tool
	// and the baseline commands plan with them (baselinecmd.go).
	baselines *baselineSource
}

// acks observes how long a channel took to answer its platform
// (metrics.Registry).
type acks interface {
	Acked(channel tierzero.Channel, d time.Duration)
}

type runtimeOptions struct {
	data       string
	policyDirs []string // layered on the built-in baseline
	simExtra   []string // more tenants for the in-process simulator (load tests)
	graphURL   string   // "" runs the simulator in-process, unless config says otherwise
	config     *config  // the tenants' Graph credentials, if any
	// configFile is the file config was read from: a relative baseline.dir
	// is relative to its directory.
	configFile string
	// baselineDirs are more directories of baseline files (--baselines),
	// layered over baseline.dir.
	baselineDirs []string
	observer     bot.Observer
	wrapAudit    func(tierzero.Auditor) tierzero.Auditor // metrics
	// Load tests (capacity_test.go): the model wrapped (a fake latency),
	// the desk's worker pool and the store's open-file bound; zero: the
	// defaults.
	wrapModel func(agent.Model) agent.Model
	workers   int
	maxOpen   int
}

// runtimePolicies is the built-in baseline with the directories' policies
// layered on it (tenant and department overrides); the demo admits its
// technician to the demo tenants.
func (a *app) runtimePolicies(dirs []string, demo bool) (*policy.Set, error) {
	var extra []policy.File
	if demo {
		f, err := demoPolicies()
		if err != nil {
			return nil, err
		}
		extra = append(extra, f)
	}
	if len(dirs) == 0 && len(extra) == 0 {
		return policy.Baseline(), nil
	}
	s, _, err := a.loadPolicies(dirs, true, extra...)
	return s, err
}

// simToken is the simulator's credential: its bearer token names the tenant.
func simToken(_ context.Context, t tierzero.TenantID) (string, error) {
	return sim.Token(string(t)), nil
}

// graphEndpoint decides where Graph is and how each tenant signs in: from the
// configuration file, else a token bound to one tenant, else the simulator.
// A "" base URL means: run the simulator in-process.
//
// A tenant whose credentials cannot be set up (an empty secret variable, an
// unreadable certificate) does not stop the others: it is in problems, and
// its token source returns that error.
func (a *app) graphEndpoint(o runtimeOptions, db *store.DB) (_ string, _ graph.TokenSource, problems map[tierzero.TenantID]error, _ error) {
	if c := o.config; c != nil {
		base := o.graphURL
		if base == "" {
			base = c.GraphURL
		}
		if base == "" {
			base = graph.DefaultBaseURL
		}
		sources := map[tierzero.TenantID]graph.TokenSource{}
		for id, t := range c.Tenants {
			if t.Auth.Method == authGDAP { // through the MSP's partner tenant (partner.go)
				sources[id] = a.gdapToken(c, id, t, db)
				continue
			}
			src, err := a.tenantToken(id, t, db)
			if err != nil {
				if problems == nil {
					problems = map[tierzero.TenantID]error{}
				}
				problems[id] = err
				src = func(context.Context, tierzero.TenantID) (string, error) {
					return "", tierzero.Errorf(tierzero.EUnauthorized, "%v", err)
				}
			}
			sources[id] = src
		}
		if c.Partner != nil && c.MSP != nil {
			sources[c.MSP.Tenant] = a.partnerToken(c, db) // reads the GDAP relationships
		}
		return base, graph.Tokens(sources), problems, nil
	}
	if o.graphURL == "" {
		return "", simToken, nil, nil
	}
	tok := a.getenv("TIERZERO_GRAPH_TOKEN")
	if tok == "" {
		return o.graphURL, simToken, nil, nil
	}
	// A bearer token belongs to one tenant: never send it for another.
	bound := tierzero.TenantID(a.getenv("TIERZERO_GRAPH_TENANT"))
	if bound == "" {
		return "", nil, nil, usageError{errors.New("TIERZERO_GRAPH_TOKEN needs TIERZERO_GRAPH_TENANT, the tenant id it belongs to")}
	}
	return o.graphURL, func(_ context.Context, t tierzero.TenantID) (string, error) {
		if t != bound {
			return "", tierzero.Errorf(tierzero.EUnauthorized, "no Graph credentials for tenant %s (TIERZERO_GRAPH_TOKEN is for %s)", t, bound)
		}
		return tok, nil
	}, nil, nil
}

// authConfigOf is the graph sign-in configuration of one tenant.
func authConfigOf(id tierzero.TenantID, t tenantConfig) graph.AuthConfig {
	return graph.AuthConfig{Tenant: id, TenantID: t.EntraTenant, ClientID: t.Auth.ClientID, AuthorityHost: t.Auth.AuthorityHost}
}

// tenantToken builds one tenant's token source from its configuration.
func (a *app) tenantToken(id tierzero.TenantID, t tenantConfig, db *store.DB) (graph.TokenSource, error) {
	cfg := authConfigOf(id, t)
	switch t.Auth.Method {
	case authSimulator:
		return simToken, nil
	case authDelegated:
		load := func(ctx context.Context) (string, error) {
			rt, ok, err := db.Credential(ctx, id, refreshTokenName)
			if err == nil && !ok {
				err = tierzero.Errorf(tierzero.EUnauthorized, "tenant %s is not signed in: run tierzero tenant login %s", id, id)
			}
			return rt, err
		}
		save := func(ctx context.Context, rt string) error { return db.PutCredential(ctx, id, refreshTokenName, rt) }
		return graph.RefreshTokenSource(cfg, load, save), nil
	case authClientSecret:
		cfg.Secret = a.getenv(t.Auth.ClientSecretEnv)
		if cfg.Secret == "" {
			return nil, fmt.Errorf("tenant %s: the client secret variable %s is empty", id, t.Auth.ClientSecretEnv)
		}
		return graph.ClientSecretToken(cfg)
	default: // certificate; validate() admits nothing else
		cfg.CertFile = t.Auth.CertificateFile
		return graph.ClientCertificateToken(cfg)
	}
}

func (a *app) openRuntime(ctx context.Context, o runtimeOptions) (_ *runtime, err error) {
	if a.shared != nil {
		// An operator command sent to the running server: its runtime,
		// already started, lent (closing it closes nothing).
		lent := *a.shared
		lent.closers, lent.lent = nil, true
		return &lent, nil
	}
	rt := &runtime{notify: &bot.Later{}}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	db, err := a.openStoreMax(o.data, o.maxOpen)
	if err != nil {
		return nil, err
	}
	rt.db = db
	rt.closers = append(rt.closers, db.Close)
	var audit tierzero.Auditor = db
	if o.wrapAudit != nil {
		audit = o.wrapAudit(db)
	}

	base, token, problems, err := a.graphEndpoint(o, db)
	if err != nil {
		return nil, err
	}
	rt.problems, rt.token = problems, token
	if ak, ok := o.observer.(acks); ok {
		rt.acks = ak
	}
	rt.simulated = o.config == nil && a.getenv("TIERZERO_GRAPH_TOKEN") == ""
	rt.baselines = a.loadBaselines(o)
	if base == "" {
		rt.sim = sim.New(sim.Options{Logger: a.log, Extra: o.simExtra})
		url, stop, err := serveLoopback(rt.sim)
		if err != nil {
			return nil, fmt.Errorf("start graph simulator: %w", err)
		}
		rt.closers = append(rt.closers, stop)
		base = url + "/v1.0"
	}
	switch {
	case o.config != nil:
		rt.staff = staffOf(o.config)
	case rt.simulated && rt.sim != nil:
		rt.staff = demoStaff(rt.sim)
	case rt.simulated: // `tierzero graphsim`: the same seeded tenants
		rt.staff = demoStaff(sim.New(sim.Options{Extra: o.simExtra}))
	default: // a bearer token for one tenant
		rt.staff = bot.Staff{Clients: []tierzero.TenantID{tierzero.TenantID(a.getenv("TIERZERO_GRAPH_TENANT"))}}
	}

	signer, err := policy.NewSigner()
	if err != nil {
		return nil, err
	}
	gc, err := graph.New(graph.Config{
		BaseURL: base,
		Token:   token,
		Permits: tierzero.NewPermitVerifier(signer.PublicKey(), nil),
		Logger:  a.log,
		GDAP:    o.config.gdapGate(), // partner.go
		Delegated: func(id tierzero.TenantID) bool {
			t, ok := o.config.Tenants[id]
			return ok && t.Auth.Method == authDelegated
		},
		FactsTTL:  o.config.factsTTL(), // graph_facts_ttl
		Baselines: rt.baselines,        // baselinecmd.go
	})
	if err != nil {
		return nil, err
	}
	o.config.bindGDAP(gc)
	rt.graph = gc
	policies, err := a.runtimePolicies(o.policyDirs, rt.simulated)
	if err != nil {
		return nil, err
	}
	rt.policies = policies
	rt.reach = policy.NewReach(policies, rt.staff.Home, rt.staff.Clients)
	guard, err := policy.NewGuard(policy.GuardConfig{
		Policies:  policies,
		Signer:    signer,
		Executor:  gc,
		Directory: gc,
		Audit:     audit,
		Tools:     gc.Tools(),
		TargetOf:  graph.UserRef,
		SubjectOf: graph.SubjectOf,
		Groups:    gc,
		Licenses:  gc,
		Devices:   gc,
		History:   db,
		Intents:   db,
		Approvals: db,
		Notifier:  rt.notify,
		Reach:     rt.reach,
		Describe:  agent.Describe,
		Plans:     gc, // a baseline plan is the planner's before an approver reads it
		Logger:    a.log,
	})
	if err != nil {
		return nil, err
	}
	rt.guard = guard
	model, name, err := a.model(o.config)
	if err != nil {
		return nil, err
	}
	if o.wrapModel != nil {
		model = o.wrapModel(model)
	}
	rt.model, rt.modelName = model, name
	escalator, tickets, err := a.escalator(o.config, db)
	if err != nil {
		return nil, err
	}
	rt.tickets = tickets
	rt.agent, err = agent.New(agent.Config{
		Model:  model,
		Runner: guard,
		Tools:  gc.Tools(),
		Store:  db,
		Audit:  audit,
		// A tool no rule could ever allow for the requester is not offered.
		Offered:   func(req tierzero.Requester, spec tierzero.ToolSpec) bool { return rt.reach.Offered(req, spec.Action) },
		Escalator: escalator, // the tenants' ticketing systems (ticket.go), else the log
		// A technician at the MSP acts in the client tenants policy admits
		// them to.
		Tenants:           rt.reach.Across,
		MaxCalls:          o.config.llm().MaxToolCalls,
		MaxCallsPerAnswer: o.config.llm().MaxToolCallsPerAnswer,
		Logger:            a.log,
	})
	if err != nil {
		return nil, err
	}
	rt.desk, err = bot.New(bot.Config{
		Store: deskStore{db, audit}, Agent: rt.tickets.Logging(rt.agent), Guard: guard, Directory: gc,
		Staff: rt.staff, Reach: rt.reach, Observer: o.observer, Logger: a.log, Workers: o.workers,
		Check: func(ctx context.Context, t tierzero.TenantID) error {
			if err := rt.problems[t]; err != nil {
				return err
			}
			_, err := token(ctx, t)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	rt.notify.Set(rt.desk)
	if rt.tickets != nil {
		rt.tickets.Attach(rt.desk) // the requester hears of the ticket in their thread
	}
	return rt, nil
}

// deskStore is the store as the desk sees it, its audit through the
// metrics (when there are).
type deskStore struct {
	*store.DB
	audit tierzero.Auditor
}

func (s deskStore) Append(ctx context.Context, t tierzero.TenantID, ev tierzero.AuditEvent) error {
	return s.audit.Append(ctx, t, ev)
}

// start opens the desk with the channels given, and waits until it has
// reconciled every tenant; Close closes it before the store.
func (rt *runtime) start(ctx context.Context, channels map[tierzero.Channel]bot.Responder) error {
	if rt.lent {
		return nil
	}
	for ch, r := range channels {
		rt.desk.Register(ch, r)
	}
	if err := rt.desk.Open(ctx); err != nil {
		return err
	}
	rt.closers = append(rt.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return rt.desk.Close(ctx)
	})
	return rt.desk.WaitReady(ctx)
}

// tenantList names tenants for people: "contoso, fabrikam".
func tenantList(ts []tierzero.TenantID) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// openStore opens the data directory with the master key (see masterKey),
// creating a key for a directory without one and without tenant data.
func (a *app) openStore(dir string) (*store.DB, error) { return a.openStoreMax(dir, 0) }

// openStoreMax is openStore keeping at most maxOpen tenant files open
// (store.DefaultMaxOpen when 0).
func (a *app) openStoreMax(dir string, maxOpen int) (*store.DB, error) {
	if a.shared != nil {
		return a.shared.db, nil
	}
	key, _, err := a.masterKey(dir, true)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{Logger: a.log, MasterKey: key, MaxOpen: maxOpen})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", dir, err)
	}
	return db, nil
}

// model returns the configured LLM (the config file's, else the
// environment's), or the offline rules model when none is.
func (a *app) model(c *config) (agent.Model, string, error) {
	cfg, ok := openai.ConfigFromEnv(a.getenv)
	if c != nil && c.LLM != nil {
		l := c.LLM
		cfg, ok = openai.Config{BaseURL: l.BaseURL, Model: l.Model, Azure: l.Azure, Deployment: l.Deployment, APIVersion: l.APIVersion, AllowInsecureHTTP: l.AllowInsecureHTTP}, true
		if l.APIKeyEnv != "" {
			cfg.APIKey = a.getenv(l.APIKeyEnv)
		}
	}
	if !ok {
		return offline.Model{}, "offline rules model (set TIERZERO_LLM_BASE_URL or TIERZERO_LLM_API_KEY to use an LLM)", nil
	}
	cfg.Logger = a.log
	m, err := openai.New(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("configure LLM: %w", err)
	}
	return m, fmt.Sprintf("%s at %s", cfg.Model, cfg.BaseURL), nil
}

// openAs opens the runtime for one tenant (with its configuration, when
// there is a file) and resolves the --as user in its directory. The caller
// closes the runtime.
func (a *app) openAs(ctx context.Context, o runtimeOptions, configFile string, tenant tierzero.TenantID, as string) (*runtime, tierzero.Requester, error) {
	var err error
	if o.config, err = a.tenantConfig(configFile, tenant); err != nil {
		return nil, tierzero.Requester{}, err
	}
	o.configFile = a.configPath(configFile)
	rt, err := a.openRuntime(ctx, o)
	if err != nil {
		return nil, tierzero.Requester{}, err
	}
	req, err := rt.requester(ctx, tenant, as)
	if err != nil {
		rt.Close()
		return nil, tierzero.Requester{}, err
	}
	return rt, req, nil
}

// requester resolves the console's --as user as the desk identifies a
// verified user of the console channel.
func (rt *runtime) requester(ctx context.Context, tenant tierzero.TenantID, upn string) (tierzero.Requester, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.Requester{}, usageError{err}
	}
	if upn == "" || !strings.Contains(upn, "@") {
		return tierzero.Requester{}, usageError{fmt.Errorf("--as must be a user principal name such as adele.vance@contoso.com")}
	}
	if !rt.staff.Known(tenant) {
		if _, err := rt.token(ctx, tenant); err != nil {
			return tierzero.Requester{}, fmt.Errorf("tenant %s: %s", tenant, tierzero.ErrorMessage(err))
		}
		known := slices.Clone(rt.staff.Clients)
		if rt.staff.Home != "" {
			known = append(known, rt.staff.Home)
		}
		return tierzero.Requester{}, fmt.Errorf("tenant %s is not configured here (the tenants are %s)", tenant, tenantList(known))
	}
	req, err := rt.desk.Identify(ctx, tenant, tierzero.ChannelConsole, tierzero.PlatformUser{UPN: upn})
	if err != nil {
		if e := rt.problems[tenant]; e != nil {
			return tierzero.Requester{}, fmt.Errorf("tenant %s: %w", tenant, e)
		}
		if tierzero.ErrorCode(err) == tierzero.EUnauthorized || tierzero.ErrorCode(err) == tierzero.ENotFound {
			msg := tierzero.ErrorMessage(err)
			if tenant == rt.staff.Home {
				msg += ": list them under msp.technicians in the configuration"
			}
			return tierzero.Requester{}, errors.New(msg)
		}
		return tierzero.Requester{}, fmt.Errorf("look up %s: %w", upn, err)
	}
	return req, nil
}

// Close releases everything in reverse order.
func (rt *runtime) Close() error {
	var errs []error
	for i := len(rt.closers) - 1; i >= 0; i-- {
		errs = append(errs, rt.closers[i]())
	}
	rt.closers = nil
	return errors.Join(errs...)
}

// serveLoopback serves h on a random loopback port and returns its base URL.
func serveLoopback(h http.Handler) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// newConversationID names a console conversation.
func newConversationID() tierzero.ConversationID {
	var b [6]byte
	rand.Read(b[:])
	return tierzero.ConversationID("console-" + hex.EncodeToString(b[:]))
}
