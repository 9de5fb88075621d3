// Package graph owns tierzero's tools on Microsoft Graph: one narrow verb per
// tool, each implemented with msgraph-sdk-go subpackages (never raw HTTP and
// never a free-form URL), against any base URL (real Graph or graph/sim).
// A tool call runs only with a permit minted by package policy; the facts the
// policy engine needs about a user (department, manager, admin roles) come
// from here too.
package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kiotahttp "github.com/microsoft/kiota-http-go"
	kiotajson "github.com/microsoft/kiota-serialization-json-go"
	kiotatext "github.com/microsoft/kiota-serialization-text-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// DefaultBaseURL is Microsoft Graph v1.0.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// TokenSource returns an access token for a tenant's Graph.
type TokenSource func(ctx context.Context, tenant tierzero.TenantID) (string, error)

// Config configures a Client.
type Config struct {
	BaseURL  string                   // default DefaultBaseURL
	Token    TokenSource              // required
	Permits  *tierzero.PermitVerifier // required: verifies policy's permits
	Timeout  time.Duration            // per HTTP attempt, default 30s
	Logger   *slog.Logger
	Password func() (string, error) // generator of temporary passwords, default NewPassword
	Now      func() time.Time       // clock, default time.Now
	// GDAP, when set, refuses a call to a client tenant reached through
	// the MSP's GDAP relationships before anything is sent (gdap.go).
	GDAP *GDAP
	// Delegated reports the tenants signed in as an admin (delegated
	// sign-in): there the signed-in admin's roles count, not the app's
	// (privilege.go). nil: none.
	Delegated func(tierzero.TenantID) bool
	// FactsTTL is how long the facts policy reads (UserFacts, GroupFacts,
	// LicenseFacts, DeviceFacts) are kept per tenant for read decisions
	// (factcache.go); 0: 30s; negative: not kept.
	FactsTTL time.Duration
	// Baselines plans tenant baselines (baseline.plan; baseline_doc.go).
	// nil: baseline.plan answers that no baselines are configured.
	Baselines Baselines
}

// Client runs tierzero's tools against Microsoft Graph for many tenants. It
// holds one request adapter per tenant, each authenticated with that tenant's
// token.
type Client struct {
	base     *url.URL
	cfg      Config
	log      *slog.Logger
	http     *http.Client
	tools    []tool
	byAction map[string]tool
	mu       sync.Mutex
	adapters map[tierzero.TenantID]*kiotahttp.NetHttpRequestAdapter
	clients  map[tierzero.TenantID]*http.Client // each tenant's, watching its writes
	caps     capCache                           // each tenant's capabilities (capabilities.go)
	facts    *factCache                         // recent facts per tenant (factcache.go)
	impacts  impactMemo                         // sign-in impacts recently written (baseline_check.go)
}

// New returns a Client. Plain http base URLs are accepted only for loopback
// hosts (the simulator); anything else must be https.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph base url %q: not an absolute URL", cfg.BaseURL)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("graph base url %q: must be https (plain http only on loopback)", cfg.BaseURL)
	}
	if cfg.Token == nil {
		return nil, errors.New("graph: no token source")
	}
	if cfg.Permits == nil {
		return nil, errors.New("graph: no permit verifier")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Password == nil {
		cfg.Password = NewPassword
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FactsTTL == 0 {
		cfg.FactsTTL = defaultFactsTTL
	}
	// Explicit middleware order, outermost first: kiota builds its default
	// list by ranging over a map. The per-attempt timeout is innermost so
	// that each attempt gets its own. Request bodies are not compressed:
	// kiota's compression handler makes a new 1 MB flate writer for every
	// POST and PATCH (half of all bytes a request allocated, a tenth of its
	// CPU) to shrink bodies of a few hundred bytes; Graph accepts plain
	// bodies, and responses are still gzipped and decompressed by the
	// transport (Accept-Encoding).
	mw := []kiotahttp.Middleware{
		kiotahttp.NewRetryHandlerWithOptions(kiotahttp.RetryHandlerOptions{
			ShouldRetry:  shouldRetry,
			MaxRetries:   maxRetries,
			DelaySeconds: retryDelaySeconds,
		}),
		kiotahttp.NewRedirectHandler(),
		kiotahttp.NewParametersNameDecodingHandler(),
		kiotahttp.NewUserAgentHandler(),
		kiotahttp.NewHeadersInspectionHandler(),
		attemptTimeout{cfg.Timeout},
	}
	hc := kiotahttp.GetDefaultClient(mw...)
	// One host takes all of a tenant's (and every tenant's) calls: keep
	// enough idle connections for the requests in flight, or each one past
	// the default two dials anew (HTTP/1.1; HTTP/2 multiplexes one).
	tr := kiotahttp.GetDefaultTransport()
	if t, ok := tr.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	}
	hc.Transport = kiotahttp.NewCustomTransportWithParentTransport(tr, mw...)
	// A bound on the whole exchange, retries and their waits included.
	hc.Timeout = (maxRetries+1)*cfg.Timeout + maxRetryWait
	c := &Client{
		base:     u,
		cfg:      cfg,
		log:      cfg.Logger,
		http:     hc,
		tools:    catalog(),
		byAction: map[string]tool{},
		adapters: make(map[tierzero.TenantID]*kiotahttp.NetHttpRequestAdapter),
		clients:  make(map[tierzero.TenantID]*http.Client),
		facts:    newFactCache(cfg.FactsTTL, cfg.Now),
	}
	for i, t := range c.tools {
		t = guard(t) // caller privileges and synced users (privilege.go)
		c.tools[i] = t
		if _, dup := c.byAction[t.spec.Action]; dup {
			return nil, fmt.Errorf("graph: tool %s defined twice", t.spec.Action)
		}
		c.byAction[t.spec.Action] = t
	}
	return c, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// adapter returns the tenant's request adapter, building it on first use.
func (c *Client) adapter(tenant tierzero.TenantID) (*kiotahttp.NetHttpRequestAdapter, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.adapters[tenant]; ok {
		return a, nil
	}
	auth := absauth.NewBaseBearerTokenAuthenticationProvider(&tokenProvider{
		tenant: tenant,
		source: c.cfg.Token,
		hosts:  absauth.NewAllowedHostsValidator([]string{c.base.Hostname()}),
	})
	parse := absser.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = kiotajson.NewJsonParseNodeFactory()
	parse.ContentTypeAssociatedFactories["text/plain"] = kiotatext.NewTextParseNodeFactory()
	write := absser.NewSerializationWriterFactoryRegistry()
	write.ContentTypeAssociatedFactories["application/json"] = kiotajson.NewJsonSerializationWriterFactory()
	write.ContentTypeAssociatedFactories["text/plain"] = kiotatext.NewTextSerializationWriterFactory()
	// The tenant's client: the shared middleware, and a watch that drops
	// the tenant's cached facts after each write (factcache.go).
	hc := &http.Client{Transport: writeWatch{next: c.http.Transport, tenant: tenant, cache: c.facts}, Timeout: c.http.Timeout}
	a, err := kiotahttp.NewNetHttpRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, parse, write, hc)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	a.SetBaseUrl(c.base.String())
	c.adapters[tenant] = a
	c.clients[tenant] = hc
	return a, nil
}

// client returns the tenant's HTTP client; the tenant's adapter must have
// been built (adapter).
func (c *Client) client(tenant tierzero.TenantID) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clients[tenant]
}

// users returns the /users request builder for a tenant.
func (c *Client) users(tenant tierzero.TenantID) (*users.UsersRequestBuilder, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	return users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a), nil
}

// tokenProvider adapts a TokenSource to kiota for one tenant.
type tokenProvider struct {
	tenant tierzero.TenantID
	source TokenSource
	hosts  absauth.AllowedHostsValidator
}

func (p *tokenProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.hosts.IsUrlHostValid(u) {
		return "", fmt.Errorf("graph token: host %q not allowed", u.Host)
	}
	tok, err := p.source(ctx, p.tenant)
	if err != nil {
		return "", &tokenError{err}
	}
	return tok, nil
}

// tokenError marks a failure to get a token: the request was never sent.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "graph token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func (p *tokenProvider) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return &p.hosts }

// Retries. The SDK's retry handler retries a read (GET, HEAD) answered 429,
// 503 or 504, and a write only when answered 429: Graph throttles before it
// does anything, while a 503 or 504 on a write does not mean it failed.
// Execute reads such writes back instead (see tools.go).
const (
	maxRetries        = 3                // SDK retries of one request
	maxRetryWait      = 30 * time.Second // total wait of one request on retries
	retryDelaySeconds = 1                // first backoff without Retry-After; doubles
)

// maxIdleConnsPerHost is how many idle connections to Graph are kept for
// reuse: about the requests in flight.
const maxIdleConnsPerHost = 64

// shouldRetry is the retry handler's policy, asked after the handler found
// the status retriable (429, 503, 504) and the retry count not exhausted.
// waited is the time already spent waiting, n the retries already made.
func shouldRetry(waited time.Duration, n int, req *http.Request, resp *http.Response) bool {
	read := req.Method == http.MethodGet || req.Method == http.MethodHead || readOnlyBatch(req.Context())
	if !read && resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	d, ok := retryAfter(resp.Header)
	if !ok {
		// kiota's backoff: DelaySeconds doubling per retry, plus up to 1s jitter
		d = time.Duration(retryDelaySeconds<<n)*time.Second + time.Second
	}
	if waited+d > maxRetryWait {
		return false
	}
	if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < d+time.Second {
		return false // the retry could not finish: answer now what we know
	}
	// The handler drops this response without closing it.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return true
}

// retryAfter reads a Retry-After header in seconds, as kiota does (whole
// seconds, or an HTTP date).
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return max(time.Duration(f)*time.Second, 0), true
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// attemptTimeout bounds each HTTP attempt, the reading of its body
// included, so that a retry gets a fresh budget.
type attemptTimeout struct{ d time.Duration }

func (a attemptTimeout) Intercept(p kiotahttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), a.d)
	resp, err := p.Next(req.WithContext(ctx), i)
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases an attempt's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// graphError turns an SDK error into a domain error with a safe message,
// keeping the chain for logs.
func graphError(op string, err error) error {
	var de *tierzero.Error
	if errors.As(err, &de) {
		return fmt.Errorf("%s: %w", op, err) // already a domain error: a token source's, say
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		code, msg := "", ""
		if me := oe.GetErrorEscaped(); me != nil {
			if p := me.GetCode(); p != nil {
				code = *p
			}
			if p := me.GetMessage(); p != nil {
				msg = *p
			}
		}
		status := oe.ResponseStatusCode
		domain := tierzero.EInternal
		switch {
		case status == http.StatusNotFound:
			domain = tierzero.ENotFound
		case status == http.StatusBadRequest:
			domain = tierzero.EInvalid
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			domain = tierzero.EUnauthorized
		case status == http.StatusConflict || status == http.StatusPreconditionFailed:
			domain = tierzero.EConflict
		case status == http.StatusTooManyRequests || status >= 500:
			domain = tierzero.EUnavailable
		}
		return fmt.Errorf("%s: %w: %w", op, &tierzero.Error{Code: domain, Message: fmt.Sprintf("Graph refused %s (%d %s): %s", op, status, code, msg)}, err)
	}
	return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EUnavailable, "Microsoft Graph could not be reached for %s", op), err)
}
