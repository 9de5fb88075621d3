package sim

// This file: JSON batching, POST /v1.0/$batch, as Graph serves it
// ("Combine multiple HTTP requests using JSON batching",
// https://learn.microsoft.com/graph/json-batching). The body is
// {"requests":[{id, method, url, headers, body, dependsOn}]}, at most 20,
// urls relative to the version ("/users/{id}" or "users/{id}"); the answer
// is 200 {"responses":[{id, status, headers, body}]}, one per request. Each
// request is served as if it came alone, by the same caller: the same
// routes, roles and licence gates, GDAP, fault rules (a throttled request
// answers 429 with Retry-After in its own headers), request log (with the
// batch's number and the request's id) and journal. A request whose
// dependsOn names a request that failed answers 424 Failed Dependency. A
// batch that cannot be read is refused whole with 400. The batch itself
// meets only the fault rules whose path names $batch, and has no log or
// journal entry of its own.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// batchPath is the JSON batching endpoint.
const batchPath = "/v1.0/$batch"

// batchMax is how many requests Graph takes in one batch.
const batchMax = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// serveBatch serves POST /v1.0/$batch for tenant t.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, t *tenant, who caller) {
	if r.Method != http.MethodPost {
		s.writeReply(w, r, reply{status: http.StatusMethodNotAllowed, code: "Request_BadRequest",
			message: "Specified HTTP method is not allowed for the request target.", allow: []string{http.MethodPost}})
		return
	}
	s.mu.Lock()
	slow := t.faults.takeBatch(r, true)
	s.mu.Unlock()
	body, err := readBody(r)
	if slow != nil && !slow.stall(r.Context()) {
		return
	}
	s.mu.Lock()
	fault := t.faults.takeBatch(r, false)
	if fault == nil {
		t.batches++
	}
	seq := t.batches
	s.mu.Unlock()
	if fault != nil {
		s.writeReply(w, r, fault.reply(w.Header())) // the batch refused as a whole: nothing in it ran
		return
	}
	if err != nil {
		s.writeReply(w, r, errPayload)
		return
	}
	reqs, rep := parseBatch(body)
	if rep.code != "" {
		s.writeReply(w, r, rep)
		return
	}
	status := map[string]int{}
	out := make([]batchResponse, 0, len(reqs))
	for _, br := range reqs {
		resp := s.serveBatchRequest(r, t, who, seq, br, status)
		if resp == nil {
			return // the client went away
		}
		status[br.ID] = resp.Status
		out = append(out, *resp)
	}
	s.log.Debug("graph batch", "tenant", t.name, "requests", len(reqs))
	s.writeReply(w, r, ok(map[string]any{"responses": out}))
}

// parseBatch reads a batch's requests, or the 400 that refuses it whole.
func parseBatch(body []byte) ([]batchRequest, reply) {
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, badRequest("Invalid batch payload format.")
	}
	switch {
	case len(in.Requests) == 0:
		return nil, badRequest("Invalid batch payload format: the batch has no requests.")
	case len(in.Requests) > batchMax:
		return nil, badRequest(fmt.Sprintf("Number of batch requests exceeds the maximum of %d.", batchMax))
	}
	seen := map[string]bool{}
	for _, br := range in.Requests {
		switch {
		case br.ID == "":
			return nil, badRequest("Invalid batch payload format: a request has no id.")
		case seen[br.ID]:
			return nil, badRequest(fmt.Sprintf("Batch request ids must be unique: '%s' repeats.", br.ID))
		case br.Method == "" || br.URL == "":
			return nil, badRequest(fmt.Sprintf("Invalid batch payload format: request '%s' needs a method and a url.", br.ID))
		}
		for _, d := range br.DependsOn {
			if !seen[d] {
				return nil, badRequest(fmt.Sprintf("Request '%s' depends on '%s', which is not an earlier request of the batch.", br.ID, d))
			}
		}
		seen[br.ID] = true
	}
	return in.Requests, reply{}
}

// serveBatchRequest serves one request of batch seq; nil when the client
// went away.
func (s *Server) serveBatchRequest(r *http.Request, t *tenant, who caller, seq int, br batchRequest, status map[string]int) *batchResponse {
	for _, d := range br.DependsOn {
		if st := status[d]; st < 200 || st > 299 {
			return batchAnswer(s, r, br.ID, fail(http.StatusFailedDependency, "FailedDependency", "The request depends on a request of the batch that failed."), nil)
		}
	}
	u, err := url.Parse(br.URL)
	switch {
	case err != nil || u.IsAbs() || u.Host != "":
		return batchAnswer(s, r, br.ID, badRequest("Invalid request URI: the url of a batch request is relative to the version, e.g. /users."), nil)
	case strings.EqualFold(strings.TrimPrefix(u.Path, "/"), "$batch"):
		return batchAnswer(s, r, br.ID, badRequest("A batch cannot hold a batch."), nil)
	}
	var body []byte
	if len(br.Body) > 0 && string(br.Body) != "null" {
		if ct := headerValue(br.Headers, "Content-Type"); ct == "" {
			return batchAnswer(s, r, br.ID, badRequest("Content-Type header is required for a request with a body."), nil)
		}
		body = br.Body
	}
	method := strings.ToUpper(br.Method)
	req, err := http.NewRequestWithContext(r.Context(), method, "/v1.0/"+strings.TrimPrefix(br.URL, "/"), bytes.NewReader(body))
	if err != nil {
		return batchAnswer(s, r, br.ID, badRequest("Invalid request URI."), nil)
	}
	req.Host, req.TLS = r.Host, r.TLS
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	h := http.Header{}
	rep, ok := s.serveOne(t, who, req, h, body, seq, br.ID)
	if !ok {
		return nil
	}
	return batchAnswer(s, req, br.ID, rep, h)
}

// batchAnswer is a reply as a response of a batch, with Graph's error
// envelope for an error and the headers the reply set.
func batchAnswer(s *Server, r *http.Request, id string, rep reply, h http.Header) *batchResponse {
	out := &batchResponse{ID: id, Status: rep.status, Headers: map[string]string{}}
	for k := range h {
		out.Headers[k] = h.Get(k)
	}
	if len(rep.allow) > 0 {
		out.Headers["Allow"] = strings.Join(rep.allow, ", ")
	}
	switch {
	case rep.code != "":
		reqID := newUUID()
		out.Body = map[string]any{"error": map[string]any{
			"code":    rep.code,
			"message": rep.message,
			"innerError": map[string]string{
				"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
				"request-id":        reqID,
				"client-request-id": reqID,
			},
		}}
	case rep.body != nil:
		out.Body = rep.body
	}
	if out.Body != nil {
		out.Headers["Content-Type"] = "application/json"
	}
	if rep.status == http.StatusTooManyRequests && out.Headers["Retry-After"] == "" {
		out.Headers["Retry-After"] = strconv.Itoa(1)
	}
	return out
}

// headerValue reads a header of a batch request, whatever its case.
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
