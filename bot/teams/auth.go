package teams

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The Bot Framework's inbound token: the channel (Teams, through the Bot
// Connector) signs every request to the bot with a key of the Bot
// Framework's OpenID metadata.
const (
	// DefaultOpenIDMetadataURL is the Bot Framework's OpenID metadata
	// document, which names the signing keys (jwks_uri).
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	// Issuer is the issuer of the channel's tokens.
	Issuer = "https://api.botframework.com"
	// Skew is the clock skew allowed on exp and nbf.
	Skew = 5 * time.Minute
	// DefaultRefetchEvery bounds how often an unknown key id makes the
	// validator fetch the keys again (a rotation), so that a stream of
	// forged key ids cannot make it hammer the metadata endpoint.
	DefaultRefetchEvery = time.Minute
	// DefaultKeysMaxAge is how long fetched keys are used before they are
	// fetched again (on the next request that needs them).
	DefaultKeysMaxAge = 24 * time.Hour
)

// AuthError is why a request was not authenticated; Status is the HTTP
// status to answer (401 or 403).
type AuthError struct {
	Status int
	Reason string
}

func (e *AuthError) Error() string { return "teams: " + e.Reason }

func unauthorized(format string, args ...any) *AuthError {
	return &AuthError{Status: http.StatusUnauthorized, Reason: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *AuthError {
	return &AuthError{Status: http.StatusForbidden, Reason: fmt.Sprintf(format, args...)}
}

// Validator checks the channel's tokens to the Bot Framework specification:
// the Bearer scheme, RS256 only, the issuer, the audience (our app id), exp
// required, exp and nbf with 5 minutes of skew, a signing key listed in the
// OpenID metadata's JWKS and endorsed for the activity's channel, and the
// serviceurl claim equal to the activity's serviceUrl. There is no way to
// switch it off: an empty app id refuses everything.
//
// The keys are fetched once and cached (safe for concurrent use), fetched
// again when they are older than KeysMaxAge or when a token names a key id
// the cache does not hold (at most once per RefetchEvery).
type Validator struct {
	AppID        string
	MetadataURL  string // default DefaultOpenIDMetadataURL
	HTTPClient   *http.Client
	Now          func() time.Time
	RefetchEvery time.Duration // default DefaultRefetchEvery
	KeysMaxAge   time.Duration // default DefaultKeysMaxAge
	Logger       *slog.Logger

	fetchMu sync.Mutex // one fetch at a time
	mu      sync.Mutex // guards the fields below
	keys    map[string]signingKey
	fetched time.Time // when keys were fetched
	tried   time.Time // when a fetch was last attempted
	fetches int
}

// signingKey is one key of the JWKS with the channels it is endorsed for.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// Token is a verified channel token.
type Token struct {
	ServiceURL   string   // the serviceurl claim
	Endorsements []string // the channels the signing key is endorsed for
}

// Allows checks the activity against its verified token: the key is
// endorsed for the activity's channel, and the token was issued for the
// activity's serviceUrl.
func (t *Token) Allows(channelID, serviceURL string) error {
	if channelID == "" || !slices.Contains(t.Endorsements, channelID) {
		return forbidden("the signing key is not endorsed for channel %q", channelID)
	}
	if t.ServiceURL == "" {
		return forbidden("the token has no serviceurl claim")
	}
	if serviceURL != t.ServiceURL {
		return forbidden("the activity's serviceUrl is not the token's")
	}
	return nil
}

// claims are the claims of a channel token.
type claims struct {
	jwt.RegisteredClaims
	ServiceURL string `json:"serviceurl"`
}

// Authenticate verifies the Authorization header of a request from the
// channel and returns the token; the error is an *AuthError.
func (v *Validator) Authenticate(ctx context.Context, header string) (*Token, error) {
	if v.AppID == "" {
		return nil, unauthorized("no app id is configured: every request is refused")
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || scheme != "Bearer" || raw == "" || strings.ContainsAny(raw, " \t") {
		return nil, unauthorized("want Authorization: Bearer <token>")
	}
	var key signingKey
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(v.AppID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Skew),
		jwt.WithTimeFunc(v.now),
	)
	var c claims
	_, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("the token names no key id")
		}
		k, err := v.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		key = k
		return k.pub, nil
	})
	if err != nil {
		return nil, unauthorized("invalid token: %v", err)
	}
	return &Token{ServiceURL: c.ServiceURL, Endorsements: key.endorsements}, nil
}

func (v *Validator) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Validator) log() *slog.Logger {
	if v.Logger != nil {
		return v.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Fetches returns how many times the keys were fetched (for tests and
// metrics).
func (v *Validator) Fetches() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fetches
}

// errUnknownKey is a key id the JWKS does not list.
var errUnknownKey = errors.New("the signing key is not one of the Bot Framework's keys")

// key returns the signing key kid, from the cache when it holds it and is
// fresh, else from a new fetch.
func (v *Validator) key(ctx context.Context, kid string) (signingKey, error) {
	maxAge := v.KeysMaxAge
	if maxAge <= 0 {
		maxAge = DefaultKeysMaxAge
	}
	every := v.RefetchEvery
	if every <= 0 {
		every = DefaultRefetchEvery
	}
	lookup := func() (signingKey, bool, bool, time.Time) {
		v.mu.Lock()
		defer v.mu.Unlock()
		k, ok := v.keys[kid]
		return k, ok, v.keys != nil && v.now().Sub(v.fetched) < maxAge, v.tried
	}
	if k, ok, fresh, _ := lookup(); ok && fresh {
		return k, nil
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	k, ok, fresh, tried := lookup() // another request may have fetched meanwhile
	switch {
	case ok && fresh:
		return k, nil
	case !tried.IsZero() && v.now().Sub(tried) < every:
		if ok {
			return k, nil // stale, and a fetch failed a moment ago: keep it
		}
		return signingKey{}, errUnknownKey
	}
	if err := v.fetch(ctx); err != nil {
		v.log().Warn("fetch the Bot Framework signing keys", "err", err)
		if ok {
			return k, nil
		}
		return signingKey{}, fmt.Errorf("signing keys unavailable: %w", err)
	}
	if k, ok, _, _ = lookup(); !ok {
		return signingKey{}, errUnknownKey
	}
	return k, nil
}

// maxMetadata bounds the metadata and JWKS documents read.
const maxMetadata = 1 << 20

// fetch reads the OpenID metadata and the keys it names, and replaces the
// cache.
func (v *Validator) fetch(ctx context.Context) error {
	v.mu.Lock()
	v.tried = v.now()
	v.fetches++
	v.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	mdURL := v.MetadataURL
	if mdURL == "" {
		mdURL = DefaultOpenIDMetadataURL
	}
	var md struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, mdURL, &md); err != nil {
		return fmt.Errorf("openid metadata: %w", err)
	}
	if !webURL(md.JWKSURI) {
		return fmt.Errorf("openid metadata: jwks_uri %q is not an https URL", md.JWKSURI)
	}
	var set struct {
		Keys []struct {
			Kty          string   `json:"kty"`
			Kid          string   `json:"kid"`
			Use          string   `json:"use"`
			N            string   `json:"n"`
			E            string   `json:"e"`
			Endorsements []string `json:"endorsements"`
		} `json:"keys"`
	}
	if err := v.getJSON(ctx, md.JWKSURI, &set); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	keys := map[string]signingKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := rsaKey(k.N, k.E)
		if err != nil {
			v.log().Warn("skip a signing key", "kid", k.Kid, "err", err)
			continue
		}
		keys[k.Kid] = signingKey{pub: pub, endorsements: k.Endorsements}
	}
	if len(keys) == 0 {
		return errors.New("keys: no RSA signing key")
	}
	v.mu.Lock()
	v.keys, v.fetched = keys, v.now()
	v.mu.Unlock()
	return nil
}

func (v *Validator) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	hc := v.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxMetadata))
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxMetadata)).Decode(out)
}

// rsaKey decodes a JWK's modulus and exponent.
func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n64, "="))
	if err != nil {
		return nil, fmt.Errorf("modulus: %w", err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(e64, "="))
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("bad exponent")
	}
	e := 0
	for _, b := range eb {
		e = e<<8 | int(b)
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < 2048 || e < 3 {
		return nil, errors.New("key too weak")
	}
	return &rsa.PublicKey{N: n, E: e}, nil
}
