package ticket

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

func newTestHTTP(t *testing.T, h http.HandlerFunc) (*HTTP, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	var slept []time.Duration
	c, err := NewHTTP("example", srv.URL+"/api", Options{Tenant: "contoso",
		Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Now:   func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	c.Secrets = []string{"s3cret-token"}
	c.Auth = func(ctx context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer s3cret-token")
		return nil
	}
	return c, &slept
}

func TestHTTPRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		wantWait   time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http-date", "Fri, 01 May 2026 12:00:05 GMT", 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			c, slept := newTestHTTP(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/tickets" || r.Header.Get("Authorization") != "Bearer s3cret-token" {
					t.Errorf("got %s %s", r.URL.Path, r.Header.Get("Authorization"))
				}
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusCreated)
				w.Write([]byte(`{"id":"1"}`))
			})
			resp, err := c.Do(context.Background(), Request{Op: "create", Method: "POST", Path: "tickets", Body: map[string]string{"a": "b"}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 201 || n.Load() != 2 {
				t.Errorf("got status %d after %d requests, want 201 after 2", resp.Status, n.Load())
			}
			if len(*slept) != 1 || (*slept)[0] != tt.wantWait {
				t.Errorf("slept %v, want [%v]", *slept, tt.wantWait)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		retryAfter    string
		idempotent    bool
		wantCode      string
		wantAmbiguous bool
		wantWait      time.Duration
		wantRequests  int32
		wantText      string
	}{
		{name: "auth", status: 401, wantCode: tierzero.EUnauthorized, wantRequests: 1, wantText: "authentication failed (HTTP 401)"},
		{name: "forbidden", status: 403, wantCode: tierzero.EUnauthorized, wantRequests: 1, wantText: "authentication failed (HTTP 403)"},
		{name: "long rate limit", status: 429, retryAfter: "3600", wantCode: tierzero.EUnavailable, wantWait: time.Hour, wantRequests: 1, wantText: "rate limited (HTTP 429), retry after 1h0m0s"},
		{name: "rate limit persists", status: 429, retryAfter: "1", wantCode: tierzero.EUnavailable, wantWait: time.Second, wantRequests: 4, wantText: "rate limited"},
		{name: "503 on a create is not retried", status: 503, retryAfter: "1", wantCode: tierzero.EUnavailable, wantAmbiguous: true, wantWait: time.Second, wantRequests: 1, wantText: "HTTP 503"},
		{name: "503 on a read is retried", status: 503, retryAfter: "1", idempotent: true, wantCode: tierzero.EUnavailable, wantAmbiguous: true, wantWait: time.Second, wantRequests: 4, wantText: "HTTP 503"},
		{name: "500", status: 500, wantCode: tierzero.EUnavailable, wantAmbiguous: true, wantRequests: 1, wantText: "HTTP 500"},
		{name: "400", status: 400, wantCode: tierzero.EInvalid, wantRequests: 1, wantText: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			c, _ := newTestHTTP(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				// A vendor echoing the credential must not leak it.
				w.Write([]byte("{\"error\":\"bad token s3cret-token\x1b[31m\"}"))
			})
			_, err := c.Do(context.Background(), Request{Op: "create", Method: "POST", Path: "tickets", Body: []byte(`{}`), Idempotent: tt.idempotent})
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want *Error", err)
			}
			if got := tierzero.ErrorCode(err); got != tt.wantCode {
				t.Errorf("code %q, want %q", got, tt.wantCode)
			}
			if te.Ambiguous != tt.wantAmbiguous || te.Wait != tt.wantWait {
				t.Errorf("ambiguous %v wait %v, want %v %v", te.Ambiguous, te.Wait, tt.wantAmbiguous, tt.wantWait)
			}
			if n.Load() != tt.wantRequests {
				t.Errorf("%d requests, want %d", n.Load(), tt.wantRequests)
			}
			msg := err.Error()
			for _, want := range []string{"ticket system example", "tenant contoso", "create", tt.wantText} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "s3cret-token") || strings.Contains(msg, "\x1b") {
				t.Errorf("error %q leaks the secret or a control character", msg)
			}
		})
	}
}

func TestHTTPNoResponseIsAmbiguous(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c, err := NewHTTP("example", srv.URL, Options{Tenant: "contoso", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), Request{Op: "create", Method: "POST", Body: []byte(`{}`)})
	var te *Error
	if !errors.As(err, &te) || !te.Ambiguous || te.Status != 0 {
		t.Fatalf("got %v, want an ambiguous *Error", err)
	}
	if tierzero.ErrorCode(err) != tierzero.EUnavailable {
		t.Errorf("code %q", tierzero.ErrorCode(err))
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://psa.example.com/api", true},
		{"http://127.0.0.1:8080/hook", true},
		{"http://localhost/hook", true},
		{"http://[::1]:9/x", true},
		{"http://psa.example.com/api", false},
		{"https://user:pw@psa.example.com/", false},
		{"ftp://psa.example.com/", false},
		{"/relative", false},
	}
	for _, tt := range tests {
		_, err := ParseURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("ParseURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestURL(t *testing.T) {
	c, err := NewHTTP("x", "https://h.example/api/now", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"":                   "https://h.example/api/now",
		"table/incident?a=b": "https://h.example/api/now/table/incident?a=b",
		"/oauth_token.do":    "https://h.example/oauth_token.do",
	} {
		u, err := c.URL(path)
		if err != nil || u.String() != want {
			t.Errorf("URL(%q) = %v, %v, want %s", path, u, err, want)
		}
	}
}

// A vendor that echoes the request's credentials in an error body: neither
// what Auth sent (a Basic encoding, a fetched bearer token: not among
// Secrets) nor a secret form-encoded reaches the error.
func TestHTTPErrorRedactsSentCredentials(t *testing.T) {
	c, _ := newTestHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("bad request: Authorization=" + r.Header.Get("Authorization") + " form=client_secret=p%40ss+word%2F1"))
	})
	c.Secrets = []string{"p@ss word/1"}
	c.Auth = func(ctx context.Context, r *http.Request) error {
		r.SetBasicAuth("me@contoso.com", "p@ss word/1")
		return nil
	}
	_, err := c.Do(context.Background(), Request{Op: "create", Method: "POST", Path: "tickets"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, leak := range []string{"bWVAY29udG9zby5jb206cEBzcyB3b3JkLzE=", "p%40ss+word%2F1", "p@ss word/1"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error holds %q: %v", leak, err)
		}
	}
}
