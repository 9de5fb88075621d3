package graph

// This file: signing in to customer tenants. App-only credentials (a client
// secret or a certificate) go through azidentity, which caches tokens until
// near expiry; delegated sign-in (the device authorization grant and refresh
// tokens) speaks OAuth2 to the Microsoft identity platform directly, because
// azidentity does not hand out refresh tokens. No secret, token, device code
// or refresh token ever goes into a log or an error.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/tierzero/tierzero"
)

// Defaults of AuthConfig.
const (
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultScope         = "https://graph.microsoft.com/.default"
)

// AuthConfig says how to sign in to one customer tenant's Entra ID.
type AuthConfig struct {
	// Tenant is the tierzero tenant the token source serves. When set, the
	// source refuses to give a token for any other tenant.
	Tenant tierzero.TenantID
	// TenantID is the Entra tenant: its GUID or a verified domain.
	TenantID string
	// ClientID is the application (client) id of tierzero's app registration.
	ClientID string
	// Secret is the app's client secret, for ClientSecretToken.
	Secret string
	// CertFile is a PEM file holding the app's certificate and its private
	// key, for ClientCertificateToken.
	CertFile string
	// AuthorityHost is the identity platform, default DefaultAuthorityHost;
	// it must be https.
	AuthorityHost string
	// Scope is what the token is for, default DefaultScope. Delegated
	// sign-in adds offline_access, to get a refresh token.
	Scope string
	// HTTPClient talks to the authority, default a client with a 30s
	// timeout (tests pass one that trusts their test CA).
	HTTPClient *http.Client
	// Now is the clock of RefreshTokenSource's cache, default time.Now.
	Now func() time.Time
}

// check validates cfg and fills in the defaults.
func (cfg AuthConfig) check() (AuthConfig, error) {
	if cfg.Tenant != "" {
		if err := tierzero.ValidTenantID(cfg.Tenant); err != nil {
			return cfg, err
		}
	}
	if !validEntraTenant(cfg.TenantID) {
		return cfg, fmt.Errorf("auth: tenant id %q: want the tenant's GUID or domain", cfg.TenantID)
	}
	if cfg.ClientID == "" || strings.ContainsAny(cfg.ClientID, "/?#&= ") {
		return cfg, errors.New("auth: missing or malformed client id")
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	if !strings.Contains(cfg.AuthorityHost, "://") {
		cfg.AuthorityHost = "https://" + cfg.AuthorityHost
	}
	u, err := url.Parse(cfg.AuthorityHost)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("auth: authority host %q: must be an https URL", cfg.AuthorityHost)
	}
	if !strings.HasSuffix(cfg.AuthorityHost, "/") {
		cfg.AuthorityHost += "/"
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// validEntraTenant accepts what azidentity accepts: letters, digits, dots
// and dashes (a GUID or a domain), which also keeps the URL path plain.
func validEntraTenant(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// serves refuses a tenant other than the configured one.
func (cfg AuthConfig) serves(tenant tierzero.TenantID) error {
	if cfg.Tenant != "" && tenant != cfg.Tenant {
		return tierzero.Errorf(tierzero.EUnauthorized, "no credential of tenant %s for tenant %s", cfg.Tenant, tenant)
	}
	return nil
}

func (cfg AuthConfig) credentialOptions() azcore.ClientOptions {
	o := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost}}
	o.Transport = cfg.HTTPClient
	return o
}

// ClientSecretToken returns a TokenSource that signs in as the app with its
// client secret (OAuth2 client credentials), caching each token until near
// its expiry.
func ClientSecretToken(cfg AuthConfig) (TokenSource, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if cfg.Secret == "" {
		return nil, errors.New("auth: no client secret")
	}
	cred, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: cfg.credentialOptions(),
		// We talk to one known authority: nothing to discover.
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: client secret credential: %s", redact(err.Error(), cfg.Secret))
	}
	return credentialSource(cfg, cred, cfg.Secret), nil
}

// ClientCertificateToken returns a TokenSource that signs in as the app
// with a certificate (a client assertion signed by its key), caching each
// token until near its expiry. CertFile holds the certificate and an
// unencrypted private key, in PEM.
func ClientCertificateToken(cfg AuthConfig) (TokenSource, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if cfg.CertFile == "" {
		return nil, errors.New("auth: no certificate file")
	}
	data, err := os.ReadFile(cfg.CertFile)
	if err != nil {
		return nil, fmt.Errorf("auth: read certificate: %w", err)
	}
	certs, key, err := azidentity.ParseCertificates(data, nil)
	if err != nil {
		// the parser's message names what it missed, never the key
		return nil, fmt.Errorf("auth: certificate file %s: %v", cfg.CertFile, err)
	}
	cred, err := azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:            cfg.credentialOptions(),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: client certificate credential: %v", err)
	}
	return credentialSource(cfg, cred, ""), nil
}

// credentialSource adapts an azidentity credential to a TokenSource.
func credentialSource(cfg AuthConfig, cred azcore.TokenCredential, secret string) TokenSource {
	opts := policy.TokenRequestOptions{Scopes: []string{cfg.Scope}}
	return func(ctx context.Context, tenant tierzero.TenantID) (string, error) {
		if err := cfg.serves(tenant); err != nil {
			return "", err
		}
		tok, err := cred.GetToken(ctx, opts)
		if err != nil {
			return "", credentialError(cfg, err, secret)
		}
		return tok.Token, nil
	}
}

// credentialError turns an azidentity failure into a domain error with the
// authority's OAuth error code and description, and no secret. The raw
// error is not kept: its text dumps whole responses.
func credentialError(cfg AuthConfig, err error, secret string) error {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) && af.RawResponse != nil {
		body, _ := runtime.Payload(af.RawResponse)
		return oauthError(cfg, af.RawResponse.StatusCode, body, secret)
	}
	for _, c := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			return fmt.Errorf("%w: %w", tierzero.Errorf(tierzero.EUnavailable, "sign-in to Entra tenant %s did not finish in time", cfg.TenantID), c)
		}
	}
	return tierzero.Errorf(tierzero.EUnavailable, "sign-in to Entra tenant %s failed: %s", cfg.TenantID, firstLine(redact(err.Error(), secret)))
}

// oauthResponse is the identity platform's token endpoint answer, success
// or error.
type oauthResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// oauthError is the domain error for an OAuth error answer: bad
// credentials are unauthorized, a failing authority is unavailable.
func oauthError(cfg AuthConfig, status int, body []byte, secrets ...string) error {
	var r oauthResponse
	_ = json.Unmarshal(body, &r)
	code := r.Error
	if code == "" {
		code = "no OAuth error code"
	}
	desc := firstLine(r.Description)
	if len(desc) > 300 {
		desc = desc[:300] + "..."
	}
	msg := fmt.Sprintf("Entra tenant %s refused the sign-in of app %s (%d %s)", cfg.TenantID, cfg.ClientID, status, code)
	if desc != "" {
		msg += ": " + desc
	}
	msg = redact(msg, secrets...)
	domain := tierzero.EUnauthorized
	if status == http.StatusTooManyRequests || status >= 500 {
		domain = tierzero.EUnavailable
	}
	return &tierzero.Error{Code: domain, Message: msg}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// redact removes every non-empty secret from s.
func redact(s string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// Tokens returns a TokenSource that gives each tenant's token from its own
// source and refuses tenants it does not know.
func Tokens(sources map[tierzero.TenantID]TokenSource) TokenSource {
	return func(ctx context.Context, tenant tierzero.TenantID) (string, error) {
		src, ok := sources[tenant]
		if !ok {
			return "", tierzero.Errorf(tierzero.EUnauthorized, "no Graph credential for tenant %s", tenant)
		}
		return src(ctx, tenant)
	}
}

// Delegated sign-in.

// pollUnit is the unit of the device flow's polling interval (seconds, per
// RFC 8628); tests shrink it.
var pollUnit = time.Second

// delegatedScope adds offline_access, without which there is no refresh
// token.
func delegatedScope(scope string) string {
	for _, s := range strings.Fields(scope) {
		if s == "offline_access" {
			return scope
		}
	}
	return scope + " offline_access"
}

// endpoint returns an OAuth2 endpoint of the tenant's authority.
func (cfg AuthConfig) endpoint(name string) string {
	return cfg.AuthorityHost + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/" + name
}

// post sends an OAuth2 form request and decodes the JSON answer, whatever
// its status.
func (cfg AuthConfig) post(ctx context.Context, name string, form url.Values, out any) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.endpoint(name), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err // names the URL, which holds no secret (the form does)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, body, fmt.Errorf("decode %s answer: not JSON", name)
		}
	}
	return resp.StatusCode, body, nil
}

// deviceCode is the device authorization endpoint's answer.
type deviceCode struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
	Message         string `json:"message"`
}

// DeviceCodeLogin signs an admin in with the OAuth2 device authorization
// grant (RFC 8628): it asks for a code, hands it to prompt to show the admin
// (who enters it at verificationURI), polls until the admin has signed in,
// and returns the refresh token, for the caller to store. The access token
// is dropped; RefreshTokenSource redeems the refresh token when needed.
func DeviceCodeLogin(ctx context.Context, cfg AuthConfig, prompt func(userCode, verificationURI, message string)) (string, error) {
	cfg, err := cfg.check()
	if err != nil {
		return "", err
	}
	if prompt == nil {
		return "", errors.New("auth: device code login needs a prompt")
	}
	var dc deviceCode
	status, body, err := cfg.post(ctx, "devicecode", url.Values{
		"client_id": {cfg.ClientID},
		"scope":     {delegatedScope(cfg.Scope)},
	}, &dc)
	switch {
	case err != nil:
		return "", tierzero.Errorf(tierzero.EUnavailable, "device code sign-in to Entra tenant %s: %v", cfg.TenantID, err)
	case status != http.StatusOK:
		return "", oauthError(cfg, status, body)
	case dc.DeviceCode == "" || dc.UserCode == "" || dc.VerificationURI == "":
		return "", tierzero.Errorf(tierzero.EUnavailable, "device code sign-in to Entra tenant %s: incomplete answer", cfg.TenantID)
	}
	prompt(dc.UserCode, dc.VerificationURI, dc.Message)

	interval := time.Duration(dc.Interval) * pollUnit
	if dc.Interval <= 0 {
		interval = 5 * pollUnit
	}
	expires := dc.ExpiresIn
	if expires <= 0 {
		expires = 900
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, time.Duration(expires)*pollUnit)
	defer cancel()
	for {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if err := parent.Err(); err != nil {
				return "", fmt.Errorf("auth: device code sign-in to Entra tenant %s: %w", cfg.TenantID, err)
			}
			return "", tierzero.Errorf(tierzero.EUnauthorized, "device code sign-in to Entra tenant %s: no sign-in before the code expired", cfg.TenantID)
		case <-t.C:
		}
		var tok oauthResponse
		status, body, err := cfg.post(ctx, "token", url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id":   {cfg.ClientID},
			"device_code": {dc.DeviceCode},
		}, &tok)
		if err != nil {
			if ctx.Err() != nil {
				continue // reported above
			}
			return "", tierzero.Errorf(tierzero.EUnavailable, "device code sign-in to Entra tenant %s: %v", cfg.TenantID, err)
		}
		if status == http.StatusOK {
			if tok.RefreshToken == "" {
				return "", tierzero.Errorf(tierzero.EUnauthorized, "device code sign-in to Entra tenant %s: no refresh token granted (offline_access)", cfg.TenantID)
			}
			return tok.RefreshToken, nil
		}
		var e oauthResponse
		_ = json.Unmarshal(body, &e)
		switch e.Error {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * pollUnit
		case "expired_token":
			return "", tierzero.Errorf(tierzero.EUnauthorized, "device code sign-in to Entra tenant %s: the code expired before sign-in", cfg.TenantID)
		default: // authorization_declined, access_denied, bad_verification_code, ...
			return "", oauthError(cfg, status, body, dc.DeviceCode)
		}
	}
}

// refreshMargin is how long before expiry a cached access token is renewed.
const refreshMargin = 5 * time.Minute

// RefreshTokenSource returns a TokenSource for delegated access: it loads
// the stored refresh token, redeems it for an access token, saves the
// rotated refresh token the authority returns, and caches the access token
// until near its expiry. One redemption runs at a time.
func RefreshTokenSource(cfg AuthConfig, load func(ctx context.Context) (string, error), save func(ctx context.Context, refreshToken string) error) TokenSource {
	cfg, cfgErr := cfg.check()
	var (
		mu      sync.Mutex
		access  string
		expires time.Time
	)
	return func(ctx context.Context, tenant tierzero.TenantID) (string, error) {
		if cfgErr != nil {
			return "", cfgErr
		}
		if load == nil || save == nil {
			return "", errors.New("auth: refresh token source needs load and save")
		}
		if err := cfg.serves(tenant); err != nil {
			return "", err
		}
		mu.Lock()
		defer mu.Unlock()
		if access != "" && cfg.Now().Before(expires.Add(-refreshMargin)) {
			return access, nil
		}
		access = ""
		rt, err := load(ctx)
		if err != nil {
			return "", fmt.Errorf("auth: load refresh token of tenant %s: %w", cfg.TenantID, err)
		}
		if rt == "" {
			return "", tierzero.Errorf(tierzero.EUnauthorized, "no delegated sign-in for Entra tenant %s: an admin must sign in first", cfg.TenantID)
		}
		issued := cfg.Now()
		var tok oauthResponse
		status, body, err := cfg.post(ctx, "token", url.Values{
			"grant_type":    {"refresh_token"},
			"client_id":     {cfg.ClientID},
			"refresh_token": {rt},
			"scope":         {delegatedScope(cfg.Scope)},
		}, &tok)
		switch {
		case err != nil:
			return "", tierzero.Errorf(tierzero.EUnavailable, "delegated sign-in to Entra tenant %s: %s", cfg.TenantID, redact(err.Error(), rt))
		case status == http.StatusBadRequest && oauthCode(body) == "invalid_grant":
			return "", tierzero.Errorf(tierzero.EUnauthorized, "the delegated sign-in to Entra tenant %s has expired or was revoked: an admin must sign in again", cfg.TenantID)
		case status != http.StatusOK:
			return "", oauthError(cfg, status, body, rt)
		case tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer"):
			return "", tierzero.Errorf(tierzero.EUnavailable, "delegated sign-in to Entra tenant %s: no bearer token in the answer", cfg.TenantID)
		}
		if tok.RefreshToken != "" && tok.RefreshToken != rt {
			if err := save(ctx, tok.RefreshToken); err != nil {
				return "", fmt.Errorf("auth: save rotated refresh token of tenant %s: %w", cfg.TenantID, err)
			}
		}
		access, expires = tok.AccessToken, issued.Add(time.Duration(tok.ExpiresIn)*time.Second)
		return access, nil
	}
}

func oauthCode(body []byte) string {
	var r oauthResponse
	_ = json.Unmarshal(body, &r)
	return r.Error
}

// GDAP sign-in.

// GDAPTokenSource returns the TokenSource of a client tenant reached
// through the MSP's GDAP relationships: cfg names the client's own
// authority (TenantID: the customer's Entra tenant id) and the partner
// tenant's app (ClientID). The technician signs in once, to the partner
// tenant; loadPartner returns that sign-in's refresh token, which is
// redeemed at the client's authority the first time, after which the
// client's own refresh token (load, save: sealed in the client tenant's
// store) is used and rotated. Before any token is asked for, the gate
// checks that the relationship with the client is active and not past its
// end: an expired relationship reaches neither the authority nor Graph.
func GDAPTokenSource(cfg AuthConfig, gate *GDAP, load func(ctx context.Context) (string, error), save func(ctx context.Context, refreshToken string) error, loadPartner func(ctx context.Context) (string, error)) TokenSource {
	inner := RefreshTokenSource(cfg, func(ctx context.Context) (string, error) {
		rt, err := load(ctx)
		if err != nil || rt != "" {
			return rt, err
		}
		rt, err = loadPartner(ctx)
		if err == nil && rt == "" {
			err = tierzero.Errorf(tierzero.EUnauthorized, "no technician has signed in to the MSP's partner tenant: run tierzero partner login")
		}
		return rt, err
	}, save)
	return func(ctx context.Context, tenant tierzero.TenantID) (string, error) {
		if gate == nil {
			return "", errors.New("auth: GDAP token source needs a gate")
		}
		if err := gate.Check(ctx, tenant); err != nil {
			return "", err
		}
		return inner(ctx, tenant)
	}
}

// mailboxAccessDenied is the error of Graph's 403 ErrorAccessDenied on a
// user's mailbox settings: delegated MailboxSettings.ReadWrite reaches only
// the signed-in user's own mailbox (and a GDAP technician has none in the
// client tenant); only the application permission reaches every mailbox.
func mailboxAccessDenied(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, tierzero.Errorf(tierzero.EUnauthorized,
		"Microsoft 365 refused to change this mailbox: in delegated mode tierzero can only change the signed-in admin's own mailbox; use application permissions (MailboxSettings.ReadWrite) for this tenant or ask the MSP (with application permissions, an Exchange application access policy may exclude this mailbox)"), err)
}
