package ticket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tierzero/tierzero"
)

// Defaults of HTTP.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultRetries  = 3
	DefaultMaxWait  = 30 * time.Second
	maxResponseBody = 4 << 20
	maxErrorDetail  = 200
)

// HTTPDoer sends one request (*http.Client).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// HTTP is the client side every connector shares: it sets the vendor's
// credentials (Auth), sends JSON, waits out a 429 or a 503 that names a
// Retry-After no longer than MaxWait (up to Retries times; a longer one is
// returned as an *Error whose RetryAfter the caller honours), and turns
// failures into an *Error naming the tenant, the system and the operation,
// with every configured secret redacted.
type HTTP struct {
	System string
	Tenant tierzero.TenantID
	// Base is the system's URL; Do's paths are resolved against it.
	Base *url.URL
	// Auth sets the credentials on a request (may fetch and cache a token).
	Auth func(ctx context.Context, r *http.Request) error
	// Secrets are redacted from every error (the credential values). Set
	// them before the first request; a secret learned later (a session
	// cookie) is added with SetSecrets, which is safe while requests run.
	Secrets   []string
	secretsMu sync.RWMutex
	Header    http.Header // sent with every request
	Doer      HTTPDoer
	Retries   int
	MaxWait   time.Duration
	Sleep     func(ctx context.Context, d time.Duration) error
	Now       func() time.Time
}

// NewHTTP returns an HTTP for a system at base, with opts' transport,
// timeout and clock.
func NewHTTP(system, base string, opts Options) (*HTTP, error) {
	u, err := ParseURL(base)
	if err != nil {
		return nil, fmt.Errorf("ticket system %s for tenant %s: %w", system, opts.Tenant, err)
	}
	h := &HTTP{System: system, Tenant: opts.Tenant, Base: u, Doer: opts.Transport, Sleep: opts.Sleep, Now: opts.Now,
		Retries: DefaultRetries, MaxWait: DefaultMaxWait, Header: http.Header{}}
	if h.Doer == nil {
		t := opts.Timeout
		if t <= 0 {
			t = DefaultTimeout
		}
		h.Doer = &http.Client{Timeout: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if h.Sleep == nil {
		h.Sleep = sleep
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	return h, nil
}

// ParseURL checks a ticketing system's URL: absolute, https, except on a
// loopback host (tests, a local relay), with no credentials in it.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, tierzero.Errorf(tierzero.EInvalid, "url %q is not an absolute URL", raw)
	}
	if u.User != nil {
		return nil, tierzero.Errorf(tierzero.EInvalid, "url must not hold credentials (use the secret_env settings)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !Loopback(u.Hostname()) {
			return nil, tierzero.Errorf(tierzero.EInvalid, "url %q must be https (http only on a loopback host)", u.Redacted())
		}
	default:
		return nil, tierzero.Errorf(tierzero.EInvalid, "url %q must be https", u.Redacted())
	}
	return u, nil
}

// Loopback reports whether host is localhost or a loopback address.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Env reads the credential named by the setting key (such as "secret_env")
// from the environment variable name: a missing name or an empty variable
// is an error naming both, never the value.
func Env(getenv func(string) string, key, name string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if name == "" {
		return "", tierzero.Errorf(tierzero.EInvalid, "%s is not set", key)
	}
	v := getenv(name)
	if v == "" {
		return "", tierzero.Errorf(tierzero.EInvalid, "%s: environment variable %s is empty or not set", key, name)
	}
	return v, nil
}

// Request is one call of Do.
type Request struct {
	Op     string // what is being done, for errors: "create", "find"
	Method string
	Path   string // resolved against Base; may hold a query
	Body   any    // sent as JSON when not nil; []byte is sent as is
	Header http.Header
	// Idempotent requests (GET, a create the vendor dedupes) are retried
	// after a 503 with Retry-After too; the others only after a 429.
	Idempotent bool
}

// URL resolves path against Base: "" is Base itself, "/x" is x at Base's
// host, "x" is x under Base's path.
func (h *HTTP) URL(path string) (*url.URL, error) {
	if path == "" {
		return h.Base, nil
	}
	if strings.HasPrefix(path, "/") {
		return h.Base.Parse(path)
	}
	b := *h.Base
	if !strings.HasSuffix(b.Path, "/") {
		b.Path += "/"
		b.RawPath = ""
	}
	return b.Parse(path)
}

// Response is what Do returns on a 2xx.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Do sends r and returns the 2xx response, or an *Error.
func (h *HTTP) Do(ctx context.Context, r Request) (*Response, error) {
	var body []byte
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return nil, h.fail(r.Op, 0, 0, false, fmt.Errorf("encode request: %w", err))
		}
	}
	target, err := h.URL(r.Path)
	if err != nil {
		return nil, h.fail(r.Op, 0, 0, false, err)
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, r.Method, target.String(), bytes.NewReader(body))
		if err != nil {
			return nil, h.fail(r.Op, 0, 0, false, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "tierzero")
		for k, vs := range h.Header {
			req.Header[k] = vs
		}
		for k, vs := range r.Header {
			req.Header[k] = vs
		}
		if h.Auth != nil {
			if err := h.Auth(ctx, req); err != nil {
				var te *Error
				if errors.As(err, &te) {
					return nil, err
				}
				return nil, h.fail(r.Op, 0, 0, false, fmt.Errorf("authenticate: %w", err))
			}
		}
		// What Auth put on the wire (a bearer token, a Basic encoding of
		// user and secret) is not among Secrets: redact it too.
		fail := func(status int, wait time.Duration, ambiguous bool, err error) *Error {
			return h.fail(r.Op, status, wait, ambiguous, errors.New(redactAuth(err.Error(), req.Header)))
		}
		resp, err := h.Doer.Do(req)
		if err != nil {
			// The request may have reached the vendor and been applied.
			return nil, fail(0, 0, true, err)
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if rerr != nil {
				return nil, fail(resp.StatusCode, 0, true, fmt.Errorf("read response: %w", rerr))
			}
			return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
		}
		wait, hasWait := RetryAfter(resp.Header, h.Now())
		retryable := resp.StatusCode == http.StatusTooManyRequests ||
			(resp.StatusCode == http.StatusServiceUnavailable && r.Idempotent)
		if retryable && attempt < h.Retries && wait <= h.MaxWait {
			if !hasWait {
				wait = time.Second << attempt
			}
			if err := h.Sleep(ctx, wait); err != nil {
				return nil, fail(resp.StatusCode, 0, resp.StatusCode >= 500, err)
			}
			continue
		}
		return nil, fail(resp.StatusCode, wait, resp.StatusCode >= 500, errors.New(h.detail(data)))
	}
}

// detail is a short, printable, redacted extract of an error body.
func (h *HTTP) detail(data []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, string(data))
	s = h.redact(strings.TrimSpace(s))
	if len(s) > maxErrorDetail {
		s = s[:maxErrorDetail] + "..."
	}
	return s
}

// redact replaces every secret in s, as it is and as it is form-encoded (a
// token request's body echoed back).
func (h *HTTP) redact(s string) string {
	h.secretsMu.RLock()
	defer h.secretsMu.RUnlock()
	for _, sec := range h.Secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
			if q := url.QueryEscape(sec); q != sec {
				s = strings.ReplaceAll(s, q, "[redacted]")
			}
		}
	}
	return s
}

// SetSecrets replaces the secrets redacted from errors, safely while
// requests are in flight.
func (h *HTTP) SetSecrets(secrets ...string) {
	h.secretsMu.Lock()
	defer h.secretsMu.Unlock()
	h.Secrets = secrets
}

// redactAuth replaces the credential of the request's Authorization header
// (what follows its scheme) in s.
func redactAuth(s string, h http.Header) string {
	v := strings.TrimSpace(h.Get("Authorization"))
	if _, cred, ok := strings.Cut(v, " "); ok {
		v = strings.TrimSpace(cred)
	}
	if len(v) < 4 {
		return s
	}
	return strings.ReplaceAll(s, v, "[redacted]")
}

func (h *HTTP) fail(op string, status int, wait time.Duration, ambiguous bool, err error) *Error {
	if err != nil {
		err = errors.New(h.redact(err.Error()))
	}
	return &Error{System: h.System, Tenant: h.Tenant, Op: op, Status: status, Wait: wait, Ambiguous: ambiguous, Err: err}
}

// Error is a failed call to a ticketing system. Its message names the
// tenant and the system; it never holds a credential.
type Error struct {
	System string
	Tenant tierzero.TenantID
	Op     string
	Status int // the HTTP status; 0 when no response came
	// Wait is the vendor's Retry-After, when it named one.
	Wait time.Duration
	// Ambiguous says the request may have been applied (no response, a
	// 5xx): a create must be looked up by correlation id before it is
	// made again.
	Ambiguous bool
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ticket system %s for tenant %s: %s: ", e.System, e.Tenant, e.Op)
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		fmt.Fprintf(&b, "authentication failed (HTTP %d): check the credentials in the environment", e.Status)
	case e.Status == http.StatusTooManyRequests:
		fmt.Fprintf(&b, "rate limited (HTTP 429)")
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	default:
		b.WriteString("no response")
	}
	if e.Wait > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.Wait)
	}
	if e.Err != nil && e.Err.Error() != "" {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the domain error: its code says what kind of failure it is
// (EUnauthorized, EUnavailable, ENotFound, EInvalid), its message is safe
// to show.
func (e *Error) Unwrap() []error {
	code := tierzero.EInvalid
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		code = tierzero.EUnauthorized
	case e.Status == http.StatusNotFound:
		code = tierzero.ENotFound
	case e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500:
		code = tierzero.EUnavailable
	}
	out := []error{&tierzero.Error{Code: code, Message: fmt.Sprintf("the %s ticketing system of tenant %s did not take the %s", e.System, e.Tenant, e.Op)}}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// RetryAfter returns the wait the vendor asked for (the error's Wait).
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// MaybeApplied reports whether the call may have been applied.
func (e *Error) MaybeApplied() bool { return e.Ambiguous }

// Auth reports whether the call failed on its credentials.
func (e *Error) Auth() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP-date
// (RFC 9110, section 10.2.3). ok is false when there is none or it does not
// parse.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Token fetches an OAuth 2.0 access token from a token endpoint
// (client credentials, or another grant: Form says which) and caches it
// until shortly before it expires. Its Auth is an HTTP's Auth: it sets
// "Authorization: Bearer"; Refused forgets the token when the API refused
// it (401), so the next call fetches a new one. ServiceNow's oauth_token.do
// and HaloPSA's {auth}/token share it.
type Token struct {
	// HTTP sends the token requests (the token endpoint's base, the
	// credential values among its Secrets).
	HTTP *HTTP
	// Path is the token endpoint, relative to HTTP's base, with its query.
	Path string
	// Form is the form-encoded body: grant_type, client_id, client_secret
	// and what else the grant needs.
	Form url.Values

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Auth sets the bearer token on r, fetching one first when none is cached
// or it is about to expire. A 400 from the token endpoint (OAuth's
// invalid_client, invalid_grant: RFC 6749, section 5.2) is returned as a
// 401, an authentication failure.
func (s *Token) Auth(ctx context.Context, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" || !s.HTTP.Now().Before(s.expires) {
		resp, err := s.HTTP.Do(ctx, Request{Op: "authenticate", Method: http.MethodPost, Path: s.Path,
			Body: []byte(s.Form.Encode()), Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Idempotent: true})
		var te *Error
		if errors.As(err, &te) && te.Status == http.StatusBadRequest {
			e := *te
			e.Status = http.StatusUnauthorized
			return &e
		}
		if err != nil {
			return err
		}
		var out struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := resp.JSON(&out); err != nil || out.AccessToken == "" {
			return &Error{System: s.HTTP.System, Tenant: s.HTTP.Tenant, Op: "authenticate", Status: resp.Status,
				Err: errors.New("no access_token in the token response")}
		}
		life := time.Duration(out.ExpiresIn) * time.Second
		if life <= 0 {
			life = 30 * time.Minute
		}
		s.token, s.expires = out.AccessToken, s.HTTP.Now().Add(life*9/10)
	}
	r.Header.Set("Authorization", "Bearer "+s.token)
	return nil
}

// Refused forgets the cached token when err is the API's 401 (the token
// was revoked or expired early): the next call fetches a new one.
func (s *Token) Refused(err error) {
	var te *Error
	if s == nil || !errors.As(err, &te) || te.Status != http.StatusUnauthorized {
		return
	}
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}
