// Package oidctest is a fake OpenID Connect provider on loopback for tests:
// it speaks the real protocol (discovery, JWKS, the authorization code flow
// with PKCE S256, client authentication by client_secret_basic or
// client_secret_post, RS256-signed ID tokens), and signs in "the current
// user" (SetUser) at once, without a login form.
//
// It does not import testing: a test binary may run it for a child process.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// codeTTL is how long an authorization code may be redeemed.
const codeTTL = time.Minute

// Provider is a running fake OpenID Connect provider.
type Provider struct {
	// Issuer is the provider's base URL (http://127.0.0.1:PORT), its
	// issuer identifier.
	Issuer string

	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu      sync.Mutex
	clients map[string]client
	user    *user
	codes   map[string]grant
	tokens  int
	claims  func(map[string]any)
	rogue   *rsa.PrivateKey
	denied  string
}

type client struct{ secret, redirect string }

type user struct{ upn, name string }

// grant is an authorization code not redeemed yet.
type grant struct {
	client, redirect, challenge, nonce string
	user                               user
	expires                            time.Time
}

// New starts a provider with a fresh RS256 signing key. Call Close.
func New() *Provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("oidctest: generate key: " + err.Error())
	}
	p := &Provider{key: key, kid: token(8), clients: map[string]client{}, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	p.Issuer = p.srv.URL
	return p
}

// Close stops the provider.
func (p *Provider) Close() { p.srv.Close() }

// AddClient registers a relying party: its id, secret and exact redirect
// URL.
func (p *Provider) AddClient(id, secret, redirectURL string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[id] = client{secret: secret, redirect: redirectURL}
}

// SetUser sets who the next /authorize signs in: their user principal name
// (the preferred_username and email claims) and display name. Until a
// user is set, /authorize answers access_denied.
func (p *Provider) SetUser(upn, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = &user{upn: upn, name: name}
}

// Tokens is how many ID tokens the provider has issued.
func (p *Provider) Tokens() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// SetClaims makes the provider pass the claims of every ID token it issues
// from now on through fn before signing them (nil: no change), to test
// what a relying party refuses: another audience, another nonce, expired.
func (p *Provider) SetClaims(fn func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = fn
}

// SignWithUnpublishedKey makes the provider sign the ID tokens it issues
// from now on with a key it does not publish (under the published key's
// id): forged tokens, as an attacker without the provider's key would make.
func (p *Provider) SignWithUnpublishedKey(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rogue = nil
	if on {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("oidctest: generate key: " + err.Error())
		}
		p.rogue = k
	}
}

// Deny makes /authorize answer with the OAuth error code (e.g.
// "access_denied") instead of signing anyone in; "" signs in again.
func (p *Provider) Deny(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.denied = code
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
		"n": b64(pub.N.Bytes()),
		"e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize checks the request, signs the current user in and sends the
// browser back to the client with a code. A request that names no known
// client or an unregistered redirect URL gets an error page, never a
// redirect (RFC 6749 4.1.2.1).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	c, ok := p.clients[q.Get("client_id")]
	p.mu.Unlock()
	if !ok || q.Get("client_id") == "" {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect != c.redirect {
		http.Error(w, "redirect_uri is not the one registered for this client", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		if s := q.Get("state"); s != "" {
			params.Set("state", s)
		}
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirect+sep+params.Encode(), http.StatusFound)
	}
	fail := func(code, desc string) {
		back(url.Values{"error": {code}, "error_description": {desc}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only the authorization code flow (response_type=code)")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "the scope must include openid")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
		return
	}
	p.mu.Lock()
	u, denied := p.user, p.denied
	p.mu.Unlock()
	if denied != "" {
		fail(denied, "the user did not sign in")
		return
	}
	if u == nil {
		fail("access_denied", "no user is signed in at the provider")
		return
	}
	code := token(32)
	p.mu.Lock()
	p.codes[code] = grant{client: q.Get("client_id"), redirect: redirect, challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), user: *u, expires: time.Now().Add(codeTTL)}
	p.mu.Unlock()
	back(url.Values{"code": {code}})
}

// token redeems an authorization code, once, for an ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the form could not be read")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		// client_secret_basic: both are form-urlencoded (RFC 6749 2.3.1).
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	p.mu.Lock()
	c, ok := p.clients[id]
	p.mu.Unlock()
	if !ok || id == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	code := f.Get("code")
	p.mu.Lock()
	g, ok := p.codes[code]
	delete(p.codes, code) // single use, whatever happens next
	p.mu.Unlock()
	switch {
	case !ok || code == "" || time.Now().After(g.expires):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case g.client != id:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
		return
	case f.Get("redirect_uri") != g.redirect:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	verifier := f.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if verifier == "" || subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(g.challenge)) != 1 {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": p.Issuer, "aud": id, "sub": "sub-" + b64(sha(g.user.upn))[:16],
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"preferred_username": g.user.upn, "name": g.user.name, "email": g.user.upn,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	p.mu.Lock()
	tamper, key := p.claims, p.key
	if p.rogue != nil {
		key = p.rogue
	}
	p.mu.Unlock()
	if tamper != nil {
		tamper(claims)
	}
	idToken, err := sign(key, p.kid, claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "signing failed")
		return
	}
	p.mu.Lock()
	p.tokens++
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token(32), "token_type": "Bearer", "expires_in": 3600, "id_token": idToken,
	})
}

// sign makes a compact JWS (RS256) of claims.
func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	h, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func sha(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// token is n random bytes, URL-safe.
func token(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64(b)
}
