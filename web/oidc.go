package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OpenID Connect sign-in: the authorization code flow with PKCE (S256).
//
// GET /console/login makes a state, a nonce and a PKCE verifier, keeps them
// here under the state (single use, loginTTL), binds them to the browser
// with a short-lived cookie (HttpOnly, Secure, SameSite=Lax: the callback
// is a cross-site top-level navigation from the provider, on which a Strict
// cookie is not sent) and sends the browser to the provider.
// GET /console/callback takes the state's record (spent whatever follows),
// checks the binding cookie, exchanges the code with the verifier, verifies
// the ID token (the issuer's published keys, audience = client id, expiry,
// issuer) and its nonce, and maps the user name to a Viewer. The provider
// is discovered lazily, on the first sign-in, and again on the next one if
// it could not be reached: a provider that is down does not stop serve.

// loginTTL is how long a sign-in started at the provider may take.
const loginTTL = 10 * time.Minute

// maxLogins bounds the sign-ins in progress kept.
const maxLogins = 10000

// discoveryTimeout bounds a discovery of the provider, and an exchange of a
// code.
const discoveryTimeout = 10 * time.Second

// loginCookie binds a sign-in in progress to the browser that started it.
const loginCookie = "tierzero_login"

// oidcClient signs staff in with OpenID Connect.
type oidcClient struct {
	cfg    OIDC
	client *http.Client

	// discover serializes discoveries; mu guards the fields below.
	discover sync.Mutex
	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	pending  map[string]pendingLogin
}

// pendingLogin is a sign-in sent to the provider, by state.
type pendingLogin struct {
	nonce    string
	verifier string // PKCE
	binding  [32]byte
	next     string
	expires  time.Time
}

// newOIDC checks the provider's configuration. It does not reach the
// provider: discovery happens on the first sign-in.
func newOIDC(c OIDC) (*oidcClient, error) {
	switch {
	case c.Issuer == "":
		return nil, errors.New("web: oidc: the issuer is required")
	case c.ClientID == "":
		return nil, errors.New("web: oidc: the client id is required")
	case c.RedirectURL == "" || !strings.HasSuffix(c.RedirectURL, Prefix+"/callback"):
		return nil, fmt.Errorf("web: oidc: the redirect URL must be this console's callback (…%s/callback)", Prefix)
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: discoveryTimeout}
	}
	return &oidcClient{cfg: c, client: client, pending: map[string]pendingLogin{}}, nil
}

// ready discovers the provider when it has not been yet, and returns the
// OAuth 2.0 configuration and the ID token verifier.
func (o *oidcClient) ready(ctx context.Context, now func() time.Time) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	discovered := func() (*oauth2.Config, *oidc.IDTokenVerifier) {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.oauth, o.verifier
	}
	if oc, v := discovered(); oc != nil {
		return oc, v, nil
	}
	// One discovery at a time; who waited for it uses its result.
	o.discover.Lock()
	defer o.discover.Unlock()
	oc, v := discovered()
	if oc != nil {
		return oc, v, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.client), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", o.cfg.Issuer, err)
	}
	oc = &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
	// The key set fetches the provider's keys with this client, for as
	// long as the server runs (its context's cancellation is ignored).
	v = p.VerifierContext(oidc.ClientContext(context.Background(), o.client), &oidc.Config{ClientID: o.cfg.ClientID, Now: now})
	o.mu.Lock()
	o.oauth, o.verifier = oc, v
	o.mu.Unlock()
	return oc, v, nil
}

// put keeps a sign-in in progress under its state.
func (o *oidcClient) put(state string, p pendingLogin, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= maxLogins {
		for k, q := range o.pending {
			if !q.expires.After(now) {
				delete(o.pending, k)
			}
		}
	}
	if len(o.pending) >= maxLogins {
		// Still full: drop one (the map's order is random enough).
		for k := range o.pending {
			delete(o.pending, k)
			break
		}
	}
	o.pending[state] = p
}

// take returns and forgets the sign-in in progress under state.
func (o *oidcClient) take(state string, now time.Time) (pendingLogin, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.pending[state]
	delete(o.pending, state)
	if !ok || state == "" || !p.expires.After(now) {
		return pendingLogin{}, false
	}
	return p, true
}

// login starts a sign-in: with OpenID Connect configured it sends the
// browser straight to the provider; without, it shows the sign-in page.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.URL.Query().Get("next"))
	if s.oidc == nil {
		s.signInPage(w, r, http.StatusOK, "")
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := s.sessions.get(c.Value); ok {
			http.Redirect(w, r, next, http.StatusFound)
			return
		}
	}
	oc, _, err := s.oidc.ready(r.Context(), s.cfg.Now)
	if err != nil {
		s.log.Error("console sign-in: the provider cannot be reached", "err", err)
		s.signInPage(w, r, http.StatusServiceUnavailable, "The sign-in provider cannot be reached right now. Try again in a minute; if it persists, tell your administrator.")
		return
	}
	// One binding per browser: sign-ins started in two tabs both complete.
	binding := ""
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 43 {
		binding = c.Value
	} else {
		binding = randomToken()
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	now := s.cfg.Now()
	s.oidc.put(state, pendingLogin{nonce: nonce, verifier: verifier, binding: sha256.Sum256([]byte(binding)), next: next, expires: now.Add(loginTTL)}, now)
	// For the console's path, not only the callback's, so that the next
	// sign-in of this browser finds it.
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: binding, Path: Prefix + "/", MaxAge: int(loginTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback completes a sign-in the provider sends back.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.signInPage(w, r, http.StatusNotFound, "This console does not sign in with an identity provider.")
		return
	}
	q := r.URL.Query()
	p, ok := s.oidc.take(q.Get("state"), s.cfg.Now())
	if ok {
		c, err := r.Cookie(loginCookie)
		ok = err == nil && subtle.ConstantTimeCompare(p.binding[:], hashOf(c.Value)) == 1
	}
	// The binding cookie stays until it expires: a sign-in started in
	// another tab of this browser may still come back with it.
	if !ok {
		s.log.Warn("console sign-in refused: unknown, spent, expired or foreign state")
		s.signInPage(w, r, http.StatusBadRequest, "This sign-in was not started here, was used already or took too long. Start again.")
		return
	}
	r = withNext(r, p.next)
	if e := q.Get("error"); e != "" {
		s.log.Warn("console sign-in: the provider refused", "error", e, "description", q.Get("error_description"))
		msg := "The sign-in provider did not sign you in. Start again."
		if e == "access_denied" {
			msg = "The sign-in was cancelled or refused at the provider."
		}
		s.signInPage(w, r, http.StatusForbidden, msg)
		return
	}
	upn, name, err := s.exchange(r.Context(), q.Get("code"), p)
	if err != nil {
		s.log.Warn("console sign-in refused", "err", err)
		s.signInPage(w, r, http.StatusBadRequest, "The sign-in could not be verified. Start again.")
		return
	}
	v, ok := s.viewerOf(upn, name)
	if !ok {
		s.log.Warn("console sign-in refused: neither a technician nor a tenant admin", "user", upn)
		s.signInPage(w, r, http.StatusForbidden, "Your account ("+upn+") is not allowed in this console. Ask your MSP to add you as a technician or a tenant admin.")
		return
	}
	s.begin(w, r, v, p.next)
}

// exchange redeems the code with the PKCE verifier, verifies the ID token
// and its nonce, and returns the user's name and display name.
func (s *Server) exchange(ctx context.Context, code string, p pendingLogin) (upn, name string, err error) {
	if code == "" {
		return "", "", errors.New("no code")
	}
	oc, verifier, err := s.oidc.ready(ctx, s.cfg.Now)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.oidc.client), discoveryTimeout)
	defer cancel()
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		return "", "", fmt.Errorf("exchange code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", errors.New("no id_token in the token response")
	}
	id, err := verifier.Verify(ctx, raw)
	if err != nil {
		return "", "", fmt.Errorf("verify id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(p.nonce)) != 1 {
		return "", "", errors.New("id token nonce mismatch")
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return "", "", fmt.Errorf("id token claims: %w", err)
	}
	names := []string{"preferred_username", "upn", "email"}
	if c := s.oidc.cfg.UsernameClaim; c != "" {
		names = []string{c}
	}
	for _, n := range names {
		if u, _ := claims[n].(string); strings.TrimSpace(u) != "" {
			// An email address the provider says it has not verified
			// names whoever typed it in: it is not who signs in.
			if n == "email" && unverified(claims["email_verified"]) {
				return "", "", fmt.Errorf("id token of %s: its email %q is not verified", id.Subject, u)
			}
			upn = strings.TrimSpace(u)
			break
		}
	}
	if upn == "" {
		return "", "", fmt.Errorf("id token of %s has no user name (%s)", id.Subject, strings.Join(names, ", "))
	}
	name, _ = claims["name"].(string)
	return upn, name, nil
}

// unverified reports whether an email_verified claim says no (false, or
// "false" as some providers send it). A provider that does not say
// (Entra ID) is taken at its word: the claim is the directory's.
func unverified(claim any) bool {
	switch v := claim.(type) {
	case bool:
		return !v
	case string:
		return strings.EqualFold(strings.TrimSpace(v), "false")
	}
	return false
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// withNext returns r with its query's next set, so the sign-in page's
// button starts again towards the same page.
func withNext(r *http.Request, next string) *http.Request {
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = "next=" + url.QueryEscape(next)
	r2.URL = &u
	return r2
}
