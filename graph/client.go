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
	"log/slog"
	"net/http"
	"net/url"
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
	Timeout  time.Duration            // per HTTP request, default 30s
	Logger   *slog.Logger
	Password func() (string, error) // generator of temporary passwords, default NewPassword
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
	// Explicit middleware order: kiota builds its default list by ranging over
	// a map, and a retry outside compression resends a plain body labelled gzip.
	hc := kiotahttp.GetDefaultClient(
		kiotahttp.NewCompressionHandler(),
		kiotahttp.NewRetryHandler(),
		kiotahttp.NewRedirectHandler(),
		kiotahttp.NewParametersNameDecodingHandler(),
		kiotahttp.NewUserAgentHandler(),
		kiotahttp.NewHeadersInspectionHandler(),
	)
	hc.Timeout = cfg.Timeout
	c := &Client{
		base:     u,
		cfg:      cfg,
		log:      cfg.Logger,
		http:     hc,
		tools:    catalog(),
		byAction: map[string]tool{},
		adapters: make(map[tierzero.TenantID]*kiotahttp.NetHttpRequestAdapter),
	}
	for _, t := range c.tools {
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
	a, err := kiotahttp.NewNetHttpRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, parse, write, c.http)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	a.SetBaseUrl(c.base.String())
	c.adapters[tenant] = a
	return a, nil
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
	return p.source(ctx, p.tenant)
}

func (p *tokenProvider) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return &p.hosts }

// graphError turns an SDK error into a domain error with a safe message,
// keeping the chain for logs.
func graphError(op string, err error) error {
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
