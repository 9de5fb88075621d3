package openai

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// TestAzure checks the Azure OpenAI wire: the deployment in the path, the
// api-version query and the api-key header.
func TestAzure(t *testing.T) {
	var path, version, key, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, version, key, auth = r.URL.Path, r.URL.Query().Get("api-version"), r.Header.Get("api-key"), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": "gpt-4o",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "hello"}}},
		})
	}))
	defer srv.Close()
	cfg, ok := ConfigFromEnv(func(k string) string {
		return map[string]string{
			EnvBaseURL: srv.URL, EnvAPIKey: "azure-key", EnvModel: "gpt-4o",
			EnvAPIType: "azure", EnvDeployment: "helpdesk-gpt4o",
		}[k]
	})
	if !ok || !cfg.Azure {
		t.Fatalf("ConfigFromEnv = %+v, %v", cfg, ok)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Complete(context.Background(), agent.Request{System: "s", Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: "hi"}}})
	if err != nil || resp.Text != "hello" {
		t.Fatalf("Complete = %+v, %v", resp, err)
	}
	if path != "/openai/deployments/helpdesk-gpt4o/chat/completions" || version != DefaultAzureAPIVersion || key != "azure-key" || auth != "" {
		t.Fatalf("wire: path %q, api-version %q, api-key %q, Authorization %q", path, version, key, auth)
	}
}
