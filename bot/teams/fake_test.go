package teams_test

// A fake Bot Framework on loopback: the OpenID metadata and JWKS of keys we
// generate (so that we sign the channel's tokens ourselves), the bot's token
// endpoint, and the Bot Connector, which records every request.

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierzero/tierzero/bot/teams"
)

const (
	appID   = "00000000-0000-4000-8000-00000000b07a"
	entraID = "11111111-1111-4111-8111-111111111111" // contoso's Entra tenant id
	otherID = "99999999-9999-4999-8999-999999999999" // a tenant not configured
)

// signer is one of the channel's signing keys.
type signer struct {
	kid          string
	key          *rsa.PrivateKey
	endorsements []string
}

var (
	keyOnce sync.Once
	keyPool []*rsa.PrivateKey
)

// keys returns n RSA keys, generated once per test binary.
func keys(t testing.TB, n int) []*rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k)
		}
	})
	return keyPool[:n]
}

// openID serves the OpenID metadata and the JWKS.
type openID struct {
	srv     *httptest.Server
	mu      sync.Mutex
	signers []signer
	jwksHit atomic.Int32
}

func newOpenID(t testing.TB, signers ...signer) *openID {
	o := &openID{signers: signers}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": teams.Issuer, "jwks_uri": o.srv.URL + "/v1/.well-known/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		o.jwksHit.Add(1)
		o.mu.Lock()
		defer o.mu.Unlock()
		var ks []map[string]any
		for _, s := range o.signers {
			pub := s.key.PublicKey
			ks = append(ks, map[string]any{
				"kty": "RSA", "use": "sig", "kid": s.kid,
				"n":            base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
				"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
				"endorsements": s.endorsements,
			})
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": ks})
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *openID) metadataURL() string { return o.srv.URL + "/v1/.well-known/openidconfiguration" }

func (o *openID) add(s signer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.signers = append(o.signers, s)
}

// sign makes a channel token with claims, signed by s.
func sign(t testing.TB, s signer, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = s.kid
	raw, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// claimsFor are the claims of a good token for an activity of serviceURL.
func claimsFor(serviceURL string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": teams.Issuer, "aud": appID, "serviceurl": serviceURL,
		"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Minute).Unix(),
	}
}

// tokenEndpoint is the bot's token endpoint.
type tokenEndpoint struct {
	srv   *httptest.Server
	calls atomic.Int32
	down  atomic.Bool
	n     atomic.Int32
}

func newTokenEndpoint(t testing.TB) *tokenEndpoint {
	e := &tokenEndpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		if e.down.Load() {
			http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != appID ||
			r.PostForm.Get("client_secret") != "app-password" || r.PostForm.Get("scope") != teams.ConnectorScope {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599,
			"access_token": fmt.Sprintf("bot-token-%d", e.n.Add(1))})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// call is one request the connector received.
type call struct {
	Method  string
	Path    string // decoded
	RawPath string // as sent
	Auth    string
	Body    map[string]any
	Raw     string
}

// conversation and activity ids of a call's path.
func (c call) conversation() string {
	rest, ok := strings.CutPrefix(c.Path, "/v3/conversations/")
	if !ok {
		return ""
	}
	conv, _, _ := strings.Cut(rest, "/activities")
	return conv
}

// connector is the Bot Connector.
type connector struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []call
	n     atomic.Int32
}

func newConnector(t testing.TB) *connector {
	c := &connector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cl := call{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), Raw: string(b)}
		json.Unmarshal(b, &cl.Body)
		c.mu.Lock()
		c.calls = append(c.calls, cl)
		c.mu.Unlock()
		if !strings.HasPrefix(cl.Auth, "Bearer bot-token-") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := fmt.Sprintf("1%012d", c.n.Add(1))
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v3/conversations":
			if g, _ := cl.Body["isGroup"].(bool); g {
				ch := cl.Body["channelData"].(map[string]any)["channel"].(map[string]any)["id"].(string)
				json.NewEncoder(w).Encode(map[string]string{"id": ch + ";messageid=" + id, "activityId": id})
				return
			}
			m := cl.Body["members"].([]any)[0].(map[string]any)["id"].(string)
			json.NewEncoder(w).Encode(map[string]string{"id": "a:created-" + m})
		case r.Method == http.MethodPost || r.Method == http.MethodPut:
			json.NewEncoder(w).Encode(map[string]string{"id": id})
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *connector) serviceURL() string { return c.srv.URL + "/" }

func (c *connector) all() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]call(nil), c.calls...)
}

// messages are the message activities posted (not typing, not updates).
func (c *connector) messages() []call {
	var out []call
	for _, cl := range c.all() {
		if cl.Method == http.MethodPost && cl.Body["type"] == "message" {
			out = append(out, cl)
		}
	}
	return out
}

// in returns the messages posted to conversation conv.
func (c *connector) in(conv string) []call {
	var out []call
	for _, cl := range c.messages() {
		if cl.conversation() == conv {
			out = append(out, cl)
		}
	}
	return out
}

// card returns the Adaptive Card a call carries, or nil.
func (cl call) card() map[string]any {
	atts, _ := cl.Body["attachments"].([]any)
	if len(atts) == 0 {
		return nil
	}
	att, _ := atts[0].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		return nil
	}
	c, _ := att["content"].(map[string]any)
	return c
}

// texts returns every text of a card (TextBlocks and TextRuns).
func texts(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v["text"].(string); ok && (v["type"] == "TextBlock" || v["type"] == "TextRun") {
			out = append(out, s)
		}
		for _, x := range v {
			out = append(out, texts(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, texts(x)...)
		}
	}
	return out
}

// secretOf returns the monospace TextRun of a secret card.
func secretOf(card map[string]any) string {
	var found string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "TextRun" && v["fontType"] == "Monospace" && v["size"] == "Large" {
				found, _ = v["text"].(string)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(card)
	return found
}

func escapedConv(id string) string { return url.PathEscape(id) }
