package openai_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/openai"
)

// A plain http endpoint on another host would carry the API key and the
// tenant's data in clear: refused unless allowed.
func TestPlainHTTPOnlyOnThisMachine(t *testing.T) {
	tests := []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://api.openai.com/v1", false, true},
		{"http://localhost:11434/v1", false, true},
		{"http://LOCALHOST:11434/v1", false, true},
		{"http://127.0.0.1:8000/v1", false, true},
		{"http://127.0.0.53/v1", false, true},
		{"http://[::1]:8000/v1", false, true},
		{"http://llm.example.com/v1", false, false},
		{"http://10.0.0.5:11434/v1", false, false},
		{"http://ollama:11434/v1", false, false},
		{"http://localhost.example.com/v1", false, false},
		{"http://127.0.0.1.nip.io/v1", false, false},
		{"http://[::ffff:10.0.0.1]/v1", false, false},
		{"http://llm.example.com/v1", true, true},
	}
	for _, tt := range tests {
		_, err := openai.New(openai.Config{BaseURL: tt.url, Model: "m", APIKey: testKey, AllowInsecureHTTP: tt.allow})
		if (err == nil) != tt.ok {
			t.Errorf("New(%s, allow %v) = %v, want ok %v", tt.url, tt.allow, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, openai.ErrInsecureHTTP) || tierzero.ErrorCode(err) != tierzero.EInvalid ||
			!strings.Contains(err.Error(), "allow_insecure_http") || strings.Contains(err.Error(), testKey)) {
			t.Errorf("New(%s): error %v", tt.url, err)
		}
	}
}

func TestConfigFromEnvAllowHTTP(t *testing.T) {
	env := map[string]string{"TIERZERO_LLM_BASE_URL": "http://llm.internal:8000/v1", "TIERZERO_LLM_MODEL": "m"}
	cfg, _ := openai.ConfigFromEnv(func(k string) string { return env[k] })
	if _, err := openai.New(cfg); !errors.Is(err, openai.ErrInsecureHTTP) {
		t.Fatalf("without TIERZERO_LLM_ALLOW_HTTP: %v", err)
	}
	env["TIERZERO_LLM_ALLOW_HTTP"] = "1"
	cfg, _ = openai.ConfigFromEnv(func(k string) string { return env[k] })
	if _, err := openai.New(cfg); err != nil || !cfg.AllowInsecureHTTP {
		t.Fatalf("with TIERZERO_LLM_ALLOW_HTTP=1: %v", err)
	}
}

// recorder is a transport that records the hosts it is asked to reach.
type recorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	hosts []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// An https endpoint that redirects to plain http elsewhere is not
// followed: the request, with its key, never goes out in clear.
func TestRedirectToPlainHTTPRefused(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://llm.example.com/v1/chat/completions", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	rec := &recorder{base: srv.Client().Transport}
	m, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", Model: "m", APIKey: testKey, HTTPClient: &http.Client{Transport: rec}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Complete(context.Background(), agent.Request{Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if tierzero.ErrorCode(err) != tierzero.EInvalid || !strings.Contains(tierzero.ErrorMessage(err), "plain http") {
		t.Fatalf("err = %v, want the redirect to plain http refused", err)
	}
	for _, h := range rec.hosts {
		if strings.HasPrefix(h, "http://") {
			t.Fatalf("a request went to %s", h)
		}
	}
}
