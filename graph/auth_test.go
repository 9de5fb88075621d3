package graph

// The sign-in flows against a local TLS identity platform that speaks OAuth2
// as login.microsoftonline.com does (OpenID metadata, client credentials with
// a secret or a signed client assertion, the device authorization grant,
// refresh tokens), driven by the real azidentity/MSAL.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kiotahttp "github.com/microsoft/kiota-http-go"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

const (
	entraTenant = "contoso.onmicrosoft.com"
	appID       = "8c3f0d5e-6b1a-4e2f-9a7d-2b4c6e8f0a1b"
	appSecret   = "s3cr3t~Value.0123456789abcdefghij"
)

// idp is the fake identity platform.
type idp struct {
	t    *testing.T
	srv  *httptest.Server
	cert *x509.Certificate // the app's registered certificate

	mu         sync.Mutex
	grants     map[string]int // token requests by grant type
	unexpected []string       // requests to anything else
	access     string         // access token to issue; default at-N
	// device flow: the answers to polls before success
	deviceScript []string
	polls        []time.Time
	deviceForm   map[string]string
	// refresh tokens that may be redeemed
	refresh map[string]bool
	rotated int
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{t: t, grants: map[string]int{}, refresh: map[string]bool{}}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	t.Cleanup(func() {
		if len(p.unexpected) > 0 {
			t.Errorf("unexpected requests to the identity platform: %v", p.unexpected)
		}
	})
	return p
}

func (p *idp) config() AuthConfig {
	return AuthConfig{Tenant: "contoso", TenantID: entraTenant, ClientID: appID, AuthorityHost: p.srv.URL, HTTPClient: p.srv.Client()}
}

func (p *idp) tokenURL() string { return p.srv.URL + "/" + entraTenant + "/oauth2/v2.0/token" }

func (p *idp) hits(grant string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants[grant]
}

func oauthFail(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc + "\r\nTrace ID: 0000\r\nCorrelation ID: 1111", "error_codes": []int{7000215}})
}

func (p *idp) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := "/" + entraTenant
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"/v2.0/.well-known/openid-configuration":
		writeJSONResp(w, map[string]any{
			"issuer":                                p.srv.URL + base + "/v2.0",
			"token_endpoint":                        p.tokenURL(),
			"authorization_endpoint":                p.srv.URL + base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         p.srv.URL + base + "/oauth2/v2.0/devicecode",
			"jwks_uri":                              p.srv.URL + base + "/discovery/v2.0/keys",
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		})
	case r.Method == http.MethodPost && r.URL.Path == base+"/oauth2/v2.0/devicecode":
		r.ParseForm()
		p.deviceForm = map[string]string{"client_id": r.PostForm.Get("client_id"), "scope": r.PostForm.Get("scope")}
		writeJSONResp(w, map[string]any{
			"device_code": "dc-secret-device-code", "user_code": "FJ8KQ2LMN", "verification_uri": "https://microsoft.com/devicelogin",
			"expires_in": 900, "interval": 1, "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FJ8KQ2LMN to authenticate.",
		})
	case r.Method == http.MethodPost && r.URL.Path == base+"/oauth2/v2.0/token":
		r.ParseForm()
		f := r.PostForm
		grant := f.Get("grant_type")
		p.grants[grant]++
		if f.Get("client_id") != appID {
			oauthFail(w, 400, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
			return
		}
		switch grant {
		case "client_credentials":
			// MSAL adds openid, profile and offline_access, which Entra ignores here
			if scopes := strings.Fields(f.Get("scope")); !slices.Contains(scopes, DefaultScope) || slices.ContainsFunc(scopes, func(s string) bool {
				return s != DefaultScope && s != "openid" && s != "profile" && s != "offline_access"
			}) {
				oauthFail(w, 400, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid: "+f.Get("scope"))
				return
			}
			switch {
			case f.Get("client_secret") != "":
				if f.Get("client_secret") != appSecret {
					// a hostile or careless authority echoing the secret must not leak it
					oauthFail(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided: "+f.Get("client_secret"))
					return
				}
			case f.Get("client_assertion") != "":
				if err := p.checkAssertion(f.Get("client_assertion_type"), f.Get("client_assertion")); err != nil {
					oauthFail(w, 401, "invalid_client", "AADSTS700027: Client assertion contains an invalid signature: "+err.Error())
					return
				}
			default:
				oauthFail(w, 401, "invalid_client", "AADSTS7000218: The request body must contain client_assertion or client_secret.")
				return
			}
			p.issue(w, "")
		case "urn:ietf:params:oauth:grant-type:device_code":
			p.polls = append(p.polls, time.Now())
			if f.Get("device_code") != "dc-secret-device-code" {
				oauthFail(w, 400, "bad_verification_code", "AADSTS70019: Verification code expired.")
				return
			}
			if len(p.deviceScript) > 0 {
				code := p.deviceScript[0]
				p.deviceScript = p.deviceScript[1:]
				oauthFail(w, 400, code, "AADSTS70016: "+code+" for "+f.Get("device_code"))
				return
			}
			p.issue(w, "rt-1")
		case "refresh_token":
			rt := f.Get("refresh_token")
			if !p.refresh[rt] || !strings.Contains(f.Get("scope"), "offline_access") {
				oauthFail(w, 400, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity: "+rt)
				return
			}
			delete(p.refresh, rt) // rotation: the old one is spent
			p.rotated++
			next := fmt.Sprintf("rt-%d", p.rotated+1)
			p.refresh[next] = true
			p.issue(w, next)
		default:
			oauthFail(w, 400, "unsupported_grant_type", "AADSTS70003: unsupported grant")
		}
	default:
		p.unexpected = append(p.unexpected, r.Method+" "+r.URL.Path)
		http.NotFound(w, r)
	}
}

// issue answers a token; called with p.mu held.
func (p *idp) issue(w http.ResponseWriter, refresh string) {
	n := 0
	for _, c := range p.grants {
		n += c
	}
	access := p.access
	if access == "" {
		access = fmt.Sprintf("at-%d", n)
	}
	body := map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": access}
	if refresh != "" {
		body["refresh_token"] = refresh
		body["scope"] = "https://graph.microsoft.com/User.ReadWrite.All"
	}
	writeJSONResp(w, body)
}

func writeJSONResp(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// checkAssertion verifies a client assertion minimally: a PS256 JWT whose
// x5t#S256 names the registered certificate, signed by its key, for our
// token endpoint, from the app, not expired.
func (p *idp) checkAssertion(typ, jwt string) error {
	if typ != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return fmt.Errorf("assertion type %q", typ)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	var hdr map[string]any
	var claims struct {
		Aud, Iss, Sub string
		Exp           json.Number
	}
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	thumb := sha256.Sum256(p.cert.Raw)
	if hdr["alg"] != "PS256" || hdr["x5t#S256"] != base64.StdEncoding.EncodeToString(thumb[:]) {
		return fmt.Errorf("header %v does not name the registered certificate", hdr)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(p.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	exp, _ := claims.Exp.Int64()
	if claims.Aud != p.tokenURL() || claims.Iss != appID || claims.Sub != appID || time.Unix(exp, 0).Before(time.Now()) {
		return fmt.Errorf("claims %+v", claims)
	}
	return nil
}

// newCert makes a self-signed certificate and writes it with its key to a
// PEM file.
func newCert(t *testing.T, name string) (*x509.Certificate, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), name+".pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, file
}

func noLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) || strings.Contains(tierzero.ErrorMessage(err), s) {
			t.Fatalf("error %q leaks %q", err, s)
		}
	}
}

func TestClientSecretToken(t *testing.T) {
	p := newIDP(t)
	cfg := p.config()
	cfg.Secret = appSecret
	src, err := ClientSecretToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok1, err := src(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := src(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	if tok1 == "" || tok1 != tok2 {
		t.Fatalf("tokens %q, %q: want one cached token", tok1, tok2)
	}
	if n := p.hits("client_credentials"); n != 1 {
		t.Fatalf("token endpoint hit %d times, want 1 (cached)", n)
	}
	// another tenant's call is refused before anything is sent
	if _, err := src(ctx, "fabrikam"); tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("fabrikam: %v", err)
	}
	if n := p.hits("client_credentials"); n != 1 {
		t.Fatalf("token endpoint hit %d times", n)
	}
}

func TestClientSecretTokenRefused(t *testing.T) {
	p := newIDP(t)
	cfg := p.config()
	cfg.Secret = "wrong~secret.value-0123456789"
	src, err := ClientSecretToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src(context.Background(), "contoso")
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("err = %v, want unauthorized", err)
	}
	msg := tierzero.ErrorMessage(err)
	if !strings.Contains(msg, "invalid_client") || !strings.Contains(msg, "AADSTS7000215") || !strings.Contains(msg, "401") {
		t.Fatalf("message %q, want the OAuth code, AADSTS code and status", msg)
	}
	noLeak(t, err, cfg.Secret, "Trace ID")
}

func TestClientCertificateToken(t *testing.T) {
	p := newIDP(t)
	cert, file := newCert(t, "tierzero-app")
	p.cert = cert
	cfg := p.config()
	cfg.CertFile = file
	src, err := ClientCertificateToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if tok, err := src(context.Background(), "contoso"); err != nil || tok == "" {
			t.Fatalf("token %q, %v", tok, err)
		}
	}
	if n := p.hits("client_credentials"); n != 1 {
		t.Fatalf("token endpoint hit %d times, want 1", n)
	}

	// a certificate the app does not have registered
	_, other := newCert(t, "stranger")
	cfg.CertFile = other
	src, err = ClientCertificateToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src(context.Background(), "contoso")
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "invalid_client") {
		t.Fatalf("err = %v, want invalid_client", err)
	}
	key, _ := os.ReadFile(other)
	noLeak(t, err, string(key[len(key)-200:]))
}

func TestAuthConfigErrors(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	os.WriteFile(garbage, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n"), 0o600)
	base := AuthConfig{TenantID: entraTenant, ClientID: appID, Secret: appSecret}
	tests := []struct {
		name string
		edit func(*AuthConfig)
		cert bool
	}{
		{"http authority", func(c *AuthConfig) { c.AuthorityHost = "http://login.microsoftonline.com/" }, false},
		{"path in the tenant", func(c *AuthConfig) { c.TenantID = "contoso/../common" }, false},
		{"no tenant", func(c *AuthConfig) { c.TenantID = "" }, false},
		{"no client", func(c *AuthConfig) { c.ClientID = "" }, false},
		{"bad tenant slug", func(c *AuthConfig) { c.Tenant = "Contoso Ltd" }, false},
		{"no secret", func(c *AuthConfig) { c.Secret = "" }, false},
		{"no cert file", func(c *AuthConfig) { c.CertFile = filepath.Join(t.TempDir(), "none.pem") }, true},
		{"garbage cert", func(c *AuthConfig) { c.CertFile = garbage }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			var err error
			if tt.cert {
				_, err = ClientCertificateToken(cfg)
			} else {
				_, err = ClientSecretToken(cfg)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			noLeak(t, err, appSecret, "c2VjcmV0LWtleS1ieXRlcw")
		})
	}
}

// A client's token source drives the real SDK against the simulator.
func TestClientSecretTokenWithClient(t *testing.T) {
	p := newIDP(t)
	p.access = sim.Token("contoso")
	cfg := p.config()
	cfg.Secret = appSecret
	src, err := ClientSecretToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newExecEnv(t, 0)
	e.c.cfg.Token = Tokens(map[tierzero.TenantID]TokenSource{"contoso": src})
	for range 2 {
		if _, err := e.exec(t, ActionUserGet, adele); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.hits("client_credentials"); n != 1 {
		t.Fatalf("token endpoint hit %d times, want 1", n)
	}

	// a refused sign-in is unauthorized, and a write is not sent nor read back
	cfg.Secret = "wrong~secret.value-0123456789"
	bad, err := ClientSecretToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.c.cfg.Token = bad
	e.c.adapters = map[tierzero.TenantID]*kiotahttp.NetHttpRequestAdapter{}
	_, err = e.exec(t, ActionUserResetPassword, adele)
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("err = %v, want unauthorized", err)
	}
	noLeak(t, err, cfg.Secret)
	if e.readBack.Load() != 0 || len(e.sim.Journal("contoso")) != 0 {
		t.Fatalf("read-backs %d, journal %+v", e.readBack.Load(), e.sim.Journal("contoso"))
	}
}

func TestDeviceCodeLogin(t *testing.T) {
	defer func(u time.Duration) { pollUnit = u }(pollUnit)
	pollUnit = 20 * time.Millisecond

	p := newIDP(t)
	p.deviceScript = []string{"authorization_pending", "slow_down", "authorization_pending"}
	var shown []string
	rt, err := DeviceCodeLogin(context.Background(), p.config(), func(code, uri, msg string) { shown = []string{code, uri, msg} })
	if err != nil {
		t.Fatal(err)
	}
	if rt != "rt-1" {
		t.Fatalf("refresh token %q", rt)
	}
	if len(shown) != 3 || shown[0] != "FJ8KQ2LMN" || shown[1] != "https://microsoft.com/devicelogin" {
		t.Fatalf("prompt got %q", shown)
	}
	if p.deviceForm["client_id"] != appID || !strings.Contains(p.deviceForm["scope"], "offline_access") || !strings.Contains(p.deviceForm["scope"], DefaultScope) {
		t.Fatalf("device code request %v", p.deviceForm)
	}
	if len(p.polls) != 4 {
		t.Fatalf("%d polls, want 4", len(p.polls))
	}
	// interval 1 unit, then 1+5 units after slow_down
	if gap := p.polls[1].Sub(p.polls[0]); gap >= 6*pollUnit {
		t.Fatalf("slowed down before being asked: %v", gap)
	}
	if gap := p.polls[2].Sub(p.polls[1]); gap < 6*pollUnit {
		t.Fatalf("poll after slow_down came after %v, want at least %v", gap, 6*pollUnit)
	}
}

func TestDeviceCodeLoginFails(t *testing.T) {
	defer func(u time.Duration) { pollUnit = u }(pollUnit)
	pollUnit = 10 * time.Millisecond
	for _, code := range []string{"expired_token", "authorization_declined", "access_denied"} {
		t.Run(code, func(t *testing.T) {
			p := newIDP(t)
			p.deviceScript = []string{"authorization_pending", code}
			_, err := DeviceCodeLogin(context.Background(), p.config(), func(string, string, string) {})
			if tierzero.ErrorCode(err) != tierzero.EUnauthorized {
				t.Fatalf("err = %v, want unauthorized", err)
			}
			noLeak(t, err, "dc-secret-device-code")
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		p := newIDP(t)
		p.deviceScript = []string{"authorization_pending", "authorization_pending", "authorization_pending", "authorization_pending"}
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
		defer cancel()
		if _, err := DeviceCodeLogin(ctx, p.config(), func(string, string, string) {}); err == nil {
			t.Fatal("no error after the context ended")
		}
	})
}

func TestRefreshTokenSource(t *testing.T) {
	p := newIDP(t)
	p.refresh["rt-1"] = true
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	cfg := p.config()
	cfg.Now = func() time.Time { return now }
	var mu sync.Mutex
	stored := "rt-1"
	load := func(context.Context) (string, error) { mu.Lock(); defer mu.Unlock(); return stored, nil }
	save := func(_ context.Context, rt string) error { mu.Lock(); defer mu.Unlock(); stored = rt; return nil }
	src := RefreshTokenSource(cfg, load, save)
	ctx := context.Background()

	// concurrent first calls redeem once
	var wg sync.WaitGroup
	toks := make([]string, 4)
	errs := make([]error, 4)
	for i := range toks {
		wg.Add(1)
		go func() { defer wg.Done(); toks[i], errs[i] = src(ctx, "contoso") }()
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] == "" || toks[i] != toks[0] {
			t.Fatalf("call %d: %q, %v", i, toks[i], errs[i])
		}
	}
	if n := p.hits("refresh_token"); n != 1 || stored != "rt-2" {
		t.Fatalf("%d redemptions, stored %q; want 1 and the rotated rt-2", n, stored)
	}
	// near expiry (3600s, renewed 5 min before): redeem the rotated token
	now = now.Add(56 * time.Minute)
	tok, err := src(ctx, "contoso")
	if err != nil || tok == toks[0] {
		t.Fatalf("token %q, %v; want a new one", tok, err)
	}
	if n := p.hits("refresh_token"); n != 2 || stored != "rt-3" {
		t.Fatalf("%d redemptions, stored %q", n, stored)
	}
	if _, err := src(ctx, "fabrikam"); tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("fabrikam: %v", err)
	}

	// a revoked or expired refresh token: sign in again
	mu.Lock()
	stored = "rt-revoked-0123456789"
	mu.Unlock()
	now = now.Add(2 * time.Hour)
	_, err = src(ctx, "contoso")
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || !strings.Contains(tierzero.ErrorMessage(err), "sign in again") {
		t.Fatalf("err = %v", err)
	}
	noLeak(t, err, "rt-revoked-0123456789")

	// nothing stored yet
	none := RefreshTokenSource(cfg, func(context.Context) (string, error) { return "", nil }, save)
	if _, err := none(ctx, "contoso"); tierzero.ErrorCode(err) != tierzero.EUnauthorized {
		t.Fatalf("no token stored: %v", err)
	}
	// a failing store is reported and the rotated token not lost silently
	stored = "rt-3"
	p.refresh["rt-3"] = true
	failing := RefreshTokenSource(cfg, load, func(context.Context, string) error { return fmt.Errorf("disk full") })
	_, err = failing(ctx, "contoso")
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("save failure: %v", err)
	}
	noLeak(t, err, "rt-4")
}
