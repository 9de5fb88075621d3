package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OpenID Connect sign-in: the authorization code flow with PKCE (S256).
//
// GET /console/login makes a state that carries its own proof: a random id,
// its expiry (loginTTL) and a MAC, under a key of this process, of both and
// of the browser's binding cookie (HttpOnly, Secure, SameSite=Lax: the
// callback is a cross-site top-level navigation from the provider, on which
// a Strict cookie is not sent). The nonce and the PKCE verifier are derived
// from the id with the key, so the server keeps nothing a flood of
// anonymous sign-ins could push out: only, best effort, the page to go on
// to, and the states spent. It sends the browser to the provider.
// GET /console/callback checks the state's MAC with the binding cookie the
// browser sent and its expiry, spends it (single use), exchanges the code
// with the verifier, verifies
// the ID token (the issuer's published keys, audience = client id, expiry,
// issuer) and its nonce, and maps the user name to a Viewer. The provider
// is discovered lazily, on the first sign-in, and again on the next one if
// it could not be reached: a provider that is down does not stop serve.

// loginTTL is how long a sign-in started at the provider may take.
const loginTTL = 10 * time.Minute

// maxLogins bounds what is kept of sign-ins in progress: where each goes
// on to, and the states spent. Past it an entry is dropped: a sign-in then
// goes on to the console's start page, and a state spent is refused only by
// its binding, its expiry and the provider's single-use code.
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
	// key signs states and derives their nonces and PKCE verifiers.
	key [32]byte

	discover sync.Mutex
	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	nexts    map[string]stamped // where a sign-in goes on to, by state id
	spent    map[string]stamped // states used, by id, until they expire
}

// stamped is a value kept until it expires.
type stamped struct {
	value   string
	expires time.Time
}

// pendingLogin is a sign-in sent to the provider, as its state proves it.
type pendingLogin struct {
	nonce    string
	verifier string // PKCE
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
	o := &oidcClient{cfg: c, client: client, nexts: map[string]stamped{}, spent: map[string]stamped{}}
	rand.Read(o.key[:])
	return o, nil
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

// derive is a secret of sign-in id for purpose (the nonce, the PKCE
// verifier): 43 URL-safe characters.
func (o *oidcClient) derive(purpose, id string) string {
	h := hmac.New(sha256.New, o.key[:])
	h.Write([]byte(purpose + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// stateMAC signs a state's id and expiry for the browser of binding.
func (o *oidcClient) stateMAC(id, expires, binding string) string {
	return o.derive("state", id+"\x00"+expires+"\x00"+binding)
}

// start begins a sign-in for the browser of binding, going on to next: its
// state and its pending login.
func (o *oidcClient) start(binding, next string, now time.Time) (string, pendingLogin) {
	id, exp := randomToken(), now.Add(loginTTL)
	es := strconv.FormatInt(exp.Unix(), 10)
	state := id + "." + es + "." + o.stateMAC(id, es, binding)
	o.mu.Lock()
	keep(o.nexts, id, stamped{next, exp}, now)
	o.mu.Unlock()
	return state, pendingLogin{nonce: o.derive("nonce", id), verifier: o.derive("pkce", id), next: next, expires: exp}
}

// take checks state for the browser of binding (its MAC and expiry), spends
// it, and returns its sign-in.
func (o *oidcClient) take(state, binding string, now time.Time) (pendingLogin, bool) {
	id, rest, _ := strings.Cut(state, ".")
	es, mac, _ := strings.Cut(rest, ".")
	sec, err := strconv.ParseInt(es, 10, 64)
	if len(id) != 43 || err != nil || binding == "" || !hmac.Equal([]byte(mac), []byte(o.stateMAC(id, es, binding))) {
		return pendingLogin{}, false
	}
	exp := time.Unix(sec, 0)
	if !exp.After(now) {
		return pendingLogin{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, used := o.spent[id]; used {
		return pendingLogin{}, false
	}
	keep(o.spent, id, stamped{expires: exp}, now)
	next := Prefix + "/"
	if n, ok := o.nexts[id]; ok {
		next = n.value
		delete(o.nexts, id)
	}
	return pendingLogin{nonce: o.derive("nonce", id), verifier: o.derive("pkce", id), next: next, expires: exp}, true
}

// keep puts v in m under k, dropping the expired entries, then one at
// random, when m holds maxLogins. The caller holds the lock of m.
func keep(m map[string]stamped, k string, v stamped, now time.Time) {
	if len(m) >= maxLogins {
		for k, q := range m {
			if !q.expires.After(now) {
				delete(m, k)
			}
		}
	}
	if len(m) >= maxLogins {
		for k := range m {
			delete(m, k)
			break
		}
	}
	m[k] = v
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
	state, p := s.oidc.start(binding, next, s.cfg.Now())
	// For the console's path, not only the callback's, so that the next
	// sign-in of this browser finds it.
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: binding, Path: Prefix + "/", MaxAge: int(loginTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier)), http.StatusFound)
}

// callback completes a sign-in the provider sends back.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.signInPage(w, r, http.StatusNotFound, "This console does not sign in with an identity provider.")
		return
	}
	q := r.URL.Query()
	binding := ""
	if c, err := r.Cookie(loginCookie); err == nil {
		binding = c.Value
	}
	p, ok := s.oidc.take(q.Get("state"), binding, s.cfg.Now())
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

// withNext returns r with its query's next set, so the sign-in page's
// button starts again towards the same page.
func withNext(r *http.Request, next string) *http.Request {
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = "next=" + url.QueryEscape(next)
	r2.URL = &u
	return r2
}
