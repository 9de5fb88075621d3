package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
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
	db        *store.DB
	graph     *graph.Client
	agent     *agent.Agent
	sim       *sim.Server // the in-process simulator, when no --graph-url
	modelName string
	closers   []func() error
}

type runtimeOptions struct {
	data     string
	graphURL string // "" runs the simulator in-process
}

func (a *app) openRuntime(ctx context.Context, o runtimeOptions) (_ *runtime, err error) {
	rt := &runtime{}
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

	base, token := o.graphURL, graph.TokenSource(func(_ context.Context, t tierzero.TenantID) (string, error) {
		return sim.Token(string(t)), nil
	})
	if base == "" {
		rt.sim = sim.New(sim.Options{Logger: a.log})
		url, stop, err := serveLoopback(rt.sim)
		if err != nil {
			return nil, fmt.Errorf("start graph simulator: %w", err)
		}
		rt.closers = append(rt.closers, stop)
		base = url + "/v1.0"
	} else if tok := a.getenv("TIERZERO_GRAPH_TOKEN"); tok != "" {
		// A bearer token belongs to one tenant: never send it for another.
		bound := tierzero.TenantID(a.getenv("TIERZERO_GRAPH_TENANT"))
		if bound == "" {
			return nil, usageError{errors.New("TIERZERO_GRAPH_TOKEN needs TIERZERO_GRAPH_TENANT, the tenant id it belongs to")}
		}
		token = func(_ context.Context, t tierzero.TenantID) (string, error) {
			if t != bound {
				return "", tierzero.Errorf(tierzero.EUnauthorized, "no Graph credentials for tenant %s (TIERZERO_GRAPH_TOKEN is for %s)", t, bound)
			}
			return tok, nil
		}
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
	guard, err := policy.NewGuard(policy.GuardConfig{
		Policies:  policy.Baseline(),
		Signer:    signer,
		Executor:  gc,
		Directory: gc,
		Audit:     db,
		Tools:     gc.Tools(),
		TargetOf:  graph.UserRef,
		Logger:    a.log,
	})
	if err != nil {
		return nil, err
	}
	model, name, err := a.model()
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
		Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	return rt, nil
}

func (a *app) openStore(dir string) (*store.DB, error) {
	db, err := store.Open(dir, store.Options{Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", dir, err)
	}
	return db, nil
}

// model returns the configured LLM, or the offline rules model when none is.
func (a *app) model() (agent.Model, string, error) {
	cfg, ok := openai.ConfigFromEnv(a.getenv)
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

// requester resolves the console's --as user in the tenant's directory.
func (rt *runtime) requester(ctx context.Context, tenant tierzero.TenantID, upn string) (tierzero.Requester, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return tierzero.Requester{}, usageError{err}
	}
	if upn == "" || !strings.Contains(upn, "@") {
		return tierzero.Requester{}, usageError{fmt.Errorf("--as must be a user principal name such as adele.vance@contoso.com")}
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
		Role: tierzero.RoleEmployee, Channel: tierzero.ChannelConsole,
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
