package openai_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent/openai"
)

// modelList is OpenAI's answer to GET /v1/models.
const modelList = `{"object":"list","data":[
 {"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"},
 {"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"}]}`

// modelsAPI speaks OpenAI's GET /v1/models: the list for testKey, OpenAI's
// 401 for any other key.
type modelsAPI struct {
	status int // answered instead of the list, when set
	path   string
	auth   string
}

func (f *modelsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.path, f.auth = r.Method+" "+r.URL.RequestURI(), r.Header.Get("Authorization")+r.Header.Get("api-key")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Header.Get("Authorization") != "Bearer "+testKey && r.Header.Get("api-key") != testKey:
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(apiError("Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")))
	case f.status != 0:
		w.WriteHeader(f.status)
		w.Write([]byte(apiError("failure", "server_error", "")))
	case r.Method != http.MethodGet || r.URL.Path != "/v1/models" && r.URL.Path != "/openai/models":
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(apiError("Unknown request URL", "invalid_request_error", "unknown_url")))
	default:
		w.Write([]byte(modelList))
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		edit     func(*openai.Config)
		wantPath string
		wantCode string // "" for no error
		wantErr  string
	}{
		{"listed", 0, nil, "GET /v1/models", "", ""},
		{"not listed is not an error", 0, func(c *openai.Config) { c.Model = "llama3.1" }, "GET /v1/models", "", ""},
		{"key refused", 0, func(c *openai.Config) { c.APIKey = "sk-wrong" }, "GET /v1/models", tierzero.EUnauthorized, "the model endpoint refused the API key (status 401)"},
		{"forbidden", http.StatusForbidden, nil, "GET /v1/models", tierzero.EUnauthorized, "the model endpoint refused the API key (status 403)"},
		{"wrong base URL", 0, func(c *openai.Config) { c.BaseURL = strings.TrimSuffix(c.BaseURL, "/v1") + "/api" }, "GET /api/models", tierzero.EInvalid, "no model list (status 404)"},
		{"server failure", http.StatusBadGateway, func(c *openai.Config) { c.MaxRetries = -1 }, "GET /v1/models", tierzero.EUnavailable, "the model endpoint failed (status 502)"},
		{"azure", 0, func(c *openai.Config) {
			c.BaseURL = strings.TrimSuffix(c.BaseURL, "/v1")
			c.Azure, c.Deployment = true, "helpdesk"
		}, "GET /openai/models?api-version=" + openai.DefaultAzureAPIVersion, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &modelsAPI{status: tt.status}
			srv := httptest.NewServer(api)
			defer srv.Close()
			m, _ := newModel(t, srv, tt.edit)
			err := m.Check(context.Background())
			if api.path != tt.wantPath {
				t.Errorf("request %q, want %q", api.path, tt.wantPath)
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				if api.auth != "Bearer "+testKey && api.auth != testKey {
					t.Errorf("credentials sent: %q", api.auth)
				}
				return
			}
			if got := tierzero.ErrorCode(err); got != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check = %v (code %s), want %s and %q", err, got, tt.wantCode, tt.wantErr)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("the API key is in the error: %v", err)
			}
		})
	}
}

func TestCheckUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	m, s := newModel(t, srv, func(c *openai.Config) { c.MaxRetries = 1 })
	srv.Close() // nothing listens on the port any more
	err := m.Check(context.Background())
	want := "the model endpoint at " + base + "/v1 is unreachable: "
	if tierzero.ErrorCode(err) != tierzero.EUnavailable || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Check = %v, want %q and the reason", err, want)
	}
	if got := len(s.slept()); got != 1 {
		t.Errorf("retries = %d, want 1", got)
	}
}

func TestCheckCanceled(t *testing.T) {
	srv := httptest.NewServer(&modelsAPI{})
	defer srv.Close()
	m, _ := newModel(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check = %v, want context.Canceled", err)
	}
}
