package graph_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tierzero/tierzero/graph/sim"
)

// unbatch serves a JSON batch (POST /v1.0/$batch) by sending each of its
// requests through h alone and answering as Graph does, so that a test's
// wrapper of the simulator that acts on single requests (refuse, counter,
// smallPages) meets the requests of a batch as well. Other requests go to
// h as they are. The simulator itself serves batches.
func unbatch(h http.Handler) http.Handler {
	if _, ok := h.(*sim.Server); ok {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/$batch") {
			h.ServeHTTP(w, r)
			return
		}
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rd = zr
		}
		var in struct {
			Requests []struct {
				ID      string            `json:"id"`
				Method  string            `json:"method"`
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
			} `json:"requests"`
		}
		if err := json.NewDecoder(rd).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type response struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers,omitempty"`
			Body    json.RawMessage   `json:"body,omitempty"`
		}
		var out struct {
			Responses []response `json:"responses"`
		}
		version := strings.TrimSuffix(r.URL.Path, "/$batch")
		for _, q := range in.Requests {
			sub := httptest.NewRequestWithContext(r.Context(), q.Method, version+"/"+strings.TrimPrefix(q.URL, "/"), nil)
			sub.Host = r.Host
			for k, v := range q.Headers {
				sub.Header.Set(k, v)
			}
			sub.Header.Set("Authorization", r.Header.Get("Authorization"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, sub)
			resp := response{ID: q.ID, Status: rec.Code, Headers: map[string]string{}}
			for k := range rec.Header() {
				resp.Headers[k] = rec.Header().Get(k)
			}
			if b := bytes.TrimSpace(rec.Body.Bytes()); len(b) > 0 {
				resp.Body = b
			}
			out.Responses = append(out.Responses, resp)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}
