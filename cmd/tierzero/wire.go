package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/offline"
	"github.com/tierzero/tierzero/agent/openai"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/policy"
	"github.com/tierzero/tierzero/store"
)

// runtime is tierzero wired for one process: store, Graph, policy, agent.
type runtime struct {
	// simulated: every tenant is the Graph simulator (in-process, or
	// `tierzero graphsim` with its tokens): a demo, where the console may
	// switch identity.
	simulated bool
	db        *store.DB
	graph     *graph.Client
	agent     *agent.Agent
	guard     *policy.Guard
	policies  *policy.Set
	staff     staff // technicians and tenant admins
	acrossMu  sync.Mutex
	acrossOf  map[string][]tierzero.TenantID // technician (lower-case UPN) -> tenants (across)
	notify    *notifierSlot                  // the console, once there is one
	sim       *sim.Server                    // the in-process simulator, when no --graph-url
	modelName string
	closers   []func() error
}

type runtimeOptions struct {
	data       string
	policyDirs []string // layered on the built-in baseline
	simExtra   []string // more tenants for the in-process simulator (load tests)
	graphURL   string   // "" runs the simulator in-process, unless config says otherwise
	config     *config  // the tenants' Graph credentials, if any
}

// escalationLog hands escalations to the operator of the terminal: the
// MSP's ticketing systems plug in here. The escalation is in the audit too.
type escalationLog struct{ w io.Writer }

func (e escalationLog) Escalate(_ context.Context, esc tierzero.Escalation) error {
	_, err := fmt.Fprintf(e.w, "tierzero: escalated to IT support (%s, %s): %s\n", esc.Tenant, esc.Cause, esc.Summary)
	return err
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
func (a *app) graphEndpoint(o runtimeOptions, db *store.DB) (string, graph.TokenSource, error) {
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
			src, err := a.tenantToken(id, t, db)
			if err != nil {
				return "", nil, err
			}
			sources[id] = src
		}
		return base, graph.Tokens(sources), nil
	}
	if o.graphURL == "" {
		return "", simToken, nil
	}
	tok := a.getenv("TIERZERO_GRAPH_TOKEN")
	if tok == "" {
		return o.graphURL, simToken, nil
	}
	// A bearer token belongs to one tenant: never send it for another.
	bound := tierzero.TenantID(a.getenv("TIERZERO_GRAPH_TENANT"))
	if bound == "" {
		return "", nil, usageError{errors.New("TIERZERO_GRAPH_TOKEN needs TIERZERO_GRAPH_TENANT, the tenant id it belongs to")}
	}
	return o.graphURL, func(_ context.Context, t tierzero.TenantID) (string, error) {
		if t != bound {
			return "", tierzero.Errorf(tierzero.EUnauthorized, "no Graph credentials for tenant %s (TIERZERO_GRAPH_TOKEN is for %s)", t, bound)
		}
		return tok, nil
	}, nil
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
	rt := &runtime{notify: &notifierSlot{}}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	db, err := a.openStore(o.data)
	if err != nil {
		return nil, err
	}
	rt.db = db
	rt.closers = append(rt.closers, db.Close)

	base, token, err := a.graphEndpoint(o, db)
	if err != nil {
		return nil, err
	}
	rt.simulated = o.config == nil && a.getenv("TIERZERO_GRAPH_TOKEN") == ""
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
	})
	if err != nil {
		return nil, err
	}
	rt.graph = gc
	policies, err := a.runtimePolicies(o.policyDirs, rt.simulated)
	if err != nil {
		return nil, err
	}
	rt.policies = policies
	guard, err := policy.NewGuard(policy.GuardConfig{
		Policies:  policies,
		Signer:    signer,
		Executor:  gc,
		Directory: gc,
		Audit:     db,
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
		Describe:  agent.Describe,
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
	rt.modelName = name
	rt.agent, err = agent.New(agent.Config{
		Model:  model,
		Runner: guard,
		Tools:  gc.Tools(),
		Store:  db,
		Audit:  db,
		// A tool no rule could ever allow for the requester is not offered.
		Offered: func(req tierzero.Requester, spec tierzero.ToolSpec) bool {
			if rt.staff.home != "" && req.Tenant == rt.staff.home && len(rt.across(req)) == 0 {
				return false // the MSP's own tenant is no client: nothing to act on there
			}
			return policies.MayAllow(req, spec.Action)
		},
		Escalator: escalationLog{w: a.stderr},
		// A technician at the MSP acts in the client tenants policy admits
		// them to.
		Tenants: rt.across,
		Logger:  a.log,
	})
	if err != nil {
		return nil, err
	}
	return rt, nil
}

// openStore opens the data directory with the master key (see masterKey),
// creating a key for a directory without one and without tenant data.
func (a *app) openStore(dir string) (*store.DB, error) {
	key, _, err := a.masterKey(dir, true)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{Logger: a.log, MasterKey: key})
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
		cfg, ok = openai.Config{BaseURL: l.BaseURL, Model: l.Model, Azure: l.Azure, Deployment: l.Deployment, APIVersion: l.APIVersion}, true
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

// requester resolves the console's --as user in the tenant's directory.
func (rt *runtime) requester(ctx context.Context, tenant tierzero.TenantID, upn string) (tierzero.Requester, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.Requester{}, usageError{err}
	}
	if upn == "" || !strings.Contains(upn, "@") {
		return tierzero.Requester{}, usageError{fmt.Errorf("--as must be a user principal name such as adele.vance@contoso.com")}
	}
	if rt.staff.home != "" && tenant == rt.staff.home {
		// The MSP's own people are not looked up in a client's directory:
		// their chat platform vouches for them, the configuration for
		// their role.
		req, ok := rt.staff.technician(upn)
		if !ok {
			return tierzero.Requester{}, fmt.Errorf("%s is not a technician of the MSP (%s): list them under msp.technicians in the configuration", upn, tenant)
		}
		return req, nil
	}
	f, err := rt.graph.UserFacts(ctx, tenant, upn)
	if err != nil {
		if tierzero.ErrorCode(err) == tierzero.ENotFound {
			return tierzero.Requester{}, fmt.Errorf("no user %s in tenant %s", upn, tenant)
		}
		if tierzero.ErrorCode(err) == tierzero.EUnauthorized {
			return tierzero.Requester{}, fmt.Errorf("graph refused access to tenant %s (unknown tenant or bad credentials): %w", tenant, err)
		}
		return tierzero.Requester{}, fmt.Errorf("look up %s: %w", upn, err)
	}
	return tierzero.Requester{
		Tenant: tenant, UPN: f.UPN, ObjectID: f.ObjectID, DisplayName: f.DisplayName,
		Role: rt.staff.role(tenant, f.UPN), Channel: tierzero.ChannelConsole,
	}, nil
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

// notifierSlot forwards approval notifications to the chat surface set
// after the runtime is wired (the console); none until then.
type notifierSlot struct {
	mu sync.Mutex
	n  policy.Notifier
}

var _ policy.Notifier = (*notifierSlot)(nil)

func (s *notifierSlot) set(n policy.Notifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n = n
}

func (s *notifierSlot) get() policy.Notifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *notifierSlot) ApprovalRequested(ctx context.Context, a tierzero.Approval, summary string) error {
	if n := s.get(); n != nil {
		return n.ApprovalRequested(ctx, a, summary)
	}
	return nil
}

func (s *notifierSlot) ApprovalResolved(ctx context.Context, a tierzero.Approval, outcome string) error {
	if n := s.get(); n != nil {
		return n.ApprovalResolved(ctx, a, outcome)
	}
	return nil
}
