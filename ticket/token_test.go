package ticket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// TestToken: a client-credentials token is fetched once and cached until
// shortly before it expires, fetched again after the API refused it, and a
// 400 from the token endpoint (invalid_client) is an authentication failure
// that never shows the secret.
func TestToken(t *testing.T) {
	var tokens int
	secret := "cl1ent-s3cret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.URL.Path != "/auth/token" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_secret") != secret {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		tokens++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok-` + string(rune('0'+tokens)) + `","token_type":"Bearer","expires_in":3600}`))
	}))
	defer srv.Close()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	h, err := NewHTTP("halopsa", srv.URL, Options{Tenant: "contoso", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	h.Secrets = []string{secret}
	tok := &Token{HTTP: h, Path: "auth/token", Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"id"}, "client_secret": {secret}}}
	bearer := func() (string, error) {
		r, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		err := tok.Auth(context.Background(), r)
		return r.Header.Get("Authorization"), err
	}
	for range 2 {
		if got, err := bearer(); got != "Bearer tok-1" || err != nil {
			t.Fatalf("Auth = %q, %v", got, err)
		}
	}
	now = now.Add(55 * time.Minute) // within the last tenth of its life
	if got, _ := bearer(); got != "Bearer tok-2" {
		t.Errorf("after 55 of 60 minutes: %q", got)
	}
	tok.Refused(&Error{Status: http.StatusNotFound})
	if got, _ := bearer(); got != "Bearer tok-2" {
		t.Errorf("after a 404: %q", got)
	}
	tok.Refused(&Error{Status: http.StatusUnauthorized})
	if got, _ := bearer(); got != "Bearer tok-3" {
		t.Errorf("after a 401: %q", got)
	}
	tok.Form.Set("client_secret", "wrong-"+secret)
	tok.Refused(&Error{Status: http.StatusUnauthorized})
	_, err = bearer()
	if tierzero.ErrorCode(err) != tierzero.EUnauthorized || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "contoso") {
		t.Errorf("a refused client: %v", err)
	}
	var nilToken *Token
	nilToken.Refused(&Error{Status: http.StatusUnauthorized}) // basic auth: no token
}
