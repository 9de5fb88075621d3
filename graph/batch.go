package graph

// This file: JSON batching. A lookup that needs several reads (a user's
// facts: the user, manager, groups, roles, eligibilities, risk) sends them
// as one POST {base}/$batch (https://learn.microsoft.com/graph/json-batching):
// {"requests":[{id,method,url,headers}]} with urls relative to the version,
// answered {"responses":[{id,status,headers,body}]} in any order. Each
// response is handled as the single call's would be: its status and OData
// error become the same *odataerrors.ODataError the SDK returns, so that a
// 404, a licensing 403 or any other refusal means what it means alone.
//
// The sub-requests are built by the SDK's own request builders
// (RequestInformation: the same urls, query and headers as a single call)
// and their bodies parsed by kiota's JSON parse node into the same models.
// The envelope itself is plain net/http and encoding/json, sent through the
// tenant's authenticated http.Client (the same kiota middleware: compression,
// retry, per-attempt timeout): msgraph-sdk-go-core's batch helper is not in
// this module's graph (the subpackages do not need it), and as of its
// current source it reports a failed item as an ApiError without its status,
// and parses items through kiota's global parse-node registry, which this
// client does not fill (each tenant's adapter has its own).
//
// A response Graph throttled or could not serve (429, 503, 504; Retry-After
// is in its headers) is sent again alone once the longest Retry-After has
// passed, through the SDK and its retry handler; when that wait is longer
// than a request may wait, it keeps the error Graph answered. A batch Graph
// refuses as a whole (or that cannot be sent) falls back to single calls.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kiotajson "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tierzero/tierzero"
)

// batchMax is how many requests Graph takes in one batch.
const batchMax = 20

// batchBodyMax bounds a batch's answer.
const batchBodyMax = 16 << 20

// readOnlyBatchKey marks the context of a $batch of reads: it writes
// nothing (writeWatch) and may be retried as a read is (shouldRetry).
type readOnlyBatchKey struct{}

func readOnlyBatch(ctx context.Context) bool {
	v, _ := ctx.Value(readOnlyBatchKey{}).(bool)
	return v
}

// errorMapping is how the SDK's builders map every error status.
var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// batchRead is one read of a batch: the request the SDK's builder made,
// the model it answers, and, once run, the model or the error.
type batchRead struct {
	info  *abs.RequestInformation
	ctor  absser.ParsableFactory
	value absser.Parsable
	err   error
}

// read returns a batchRead of a builder's request (its ctor set by the
// caller), or one carrying the builder's error.
func read(info *abs.RequestInformation, err error) *batchRead {
	return &batchRead{info: info, err: err}
}

type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// readBatch runs reads (GETs, at most batchMax) against tenant in one
// round trip; each read gets its value or its error.
func (c *Client) readBatch(ctx context.Context, tenant tierzero.TenantID, reads []*batchRead) {
	a, err := c.adapter(tenant)
	if err != nil {
		for _, r := range reads {
			r.err = err
		}
		return
	}
	var pending []*batchRead
	for _, r := range reads {
		if r.err == nil {
			pending = append(pending, r)
		}
	}
	if len(pending) > 1 && len(pending) <= batchMax {
		pending = c.sendBatch(ctx, tenant, a.GetBaseUrl(), pending)
	}
	// What a batch could not serve, and a lone read: one by one.
	for _, r := range pending {
		r.value, r.err = a.Send(ctx, r.info, r.ctor, errorMapping)
	}
}

// sendBatch sends reads as one $batch and returns those to send alone.
func (c *Client) sendBatch(ctx context.Context, tenant tierzero.TenantID, base string, reads []*batchRead) []*batchRead {
	in := struct {
		Requests []batchRequest `json:"requests"`
	}{Requests: make([]batchRequest, len(reads))}
	for i, r := range reads {
		u, err := r.info.GetUri()
		if err != nil || r.info.Method != abs.GET || !strings.HasPrefix(u.String(), base+"/") {
			return reads // not a read of this base: alone
		}
		br := batchRequest{ID: strconv.Itoa(i + 1), Method: http.MethodGet, URL: strings.TrimPrefix(u.String(), base)}
		for _, k := range r.info.Headers.ListKeys() {
			if br.Headers == nil {
				br.Headers = map[string]string{}
			}
			br.Headers[k] = strings.Join(r.info.Headers.Get(k), ", ")
		}
		in.Requests[i] = br
	}
	body, err := json.Marshal(in)
	if err != nil {
		return reads
	}
	tok, err := c.cfg.Token(ctx, tenant)
	if err != nil {
		// As the SDK's authentication would fail each read: nothing sent,
		// and the token source (an authority, a GDAP gate) asked once.
		for _, r := range reads {
			r.err = &tokenError{err}
		}
		return nil
	}
	ctx = context.WithValue(ctx, readOnlyBatchKey{}, true)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/$batch", bytes.NewReader(body))
	if err != nil {
		return reads
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.client(tenant).Do(req)
	if err != nil {
		c.log.Warn("graph batch failed: reading one by one", "tenant", tenant, "err", err)
		return reads
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, batchBodyMax+1))
	if err != nil || len(raw) > batchBodyMax || resp.StatusCode != http.StatusOK {
		c.log.Warn("graph batch refused: reading one by one", "tenant", tenant, "status", resp.StatusCode, "err", err)
		return reads
	}
	var out struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		c.log.Warn("graph batch answer unreadable: reading one by one", "tenant", tenant, "err", err)
		return reads
	}
	answered := make([]bool, len(reads))
	var wait time.Duration // the longest Retry-After of a throttled response
	var throttled []batchResponse
	for _, br := range out.Responses {
		i, err := strconv.Atoi(br.ID)
		if err != nil || i < 1 || i > len(reads) || answered[i-1] {
			continue
		}
		answered[i-1] = true
		r := reads[i-1]
		r.value, r.err = decodeBatchResponse(br, r.ctor)
		switch br.Status {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			// Throttled or unavailable: sent again alone (with the SDK's
			// retry) once Retry-After has passed.
			h := http.Header{}
			for k, v := range br.Headers {
				h.Set(k, v)
			}
			if d, ok := retryAfter(h); ok {
				wait = max(wait, d)
			}
			answered[i-1] = false
			throttled = append(throttled, br)
		}
	}
	if len(throttled) > 0 && !c.waitRetry(ctx, wait) {
		// No time to wait as told: each keeps the error Graph answered.
		for _, br := range throttled {
			i, _ := strconv.Atoi(br.ID)
			answered[i-1] = true
		}
	}
	var again []*batchRead
	for i, ok := range answered {
		if !ok {
			again = append(again, reads[i])
		}
	}
	return again
}

// waitRetry waits d (a Retry-After) before reads are sent again, unless
// that is longer than a request may wait (maxRetryWait) or than ctx
// allows; it reports whether to send them.
func (c *Client) waitRetry(ctx context.Context, d time.Duration) bool {
	if d > maxRetryWait {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d+time.Second {
		return false
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// decodeBatchResponse turns one response of a batch into what the SDK's
// single call returns: the model, or the error kiota makes of its status.
func decodeBatchResponse(br batchResponse, ctor absser.ParsableFactory) (absser.Parsable, error) {
	content := []byte(br.Body)
	if len(content) > 0 && content[0] == '"' {
		// A body that is not JSON comes base64-encoded.
		var s string
		if json.Unmarshal(content, &s) == nil {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				content = b
			}
		}
	}
	empty := len(bytes.TrimSpace(content)) == 0 || string(bytes.TrimSpace(content)) == "null"
	if br.Status < 400 {
		if empty {
			return nil, nil
		}
		node, err := kiotajson.NewJsonParseNode(content)
		if err != nil {
			return nil, fmt.Errorf("batch response %s: %w", br.ID, err)
		}
		return node.GetObjectValue(ctor)
	}
	headers := abs.NewResponseHeaders()
	for k, v := range br.Headers {
		headers.Add(k, v)
	}
	status := strconv.Itoa(br.Status)
	if empty {
		return nil, &abs.ApiError{Message: "The server returned an unexpected status code with no response body: " + status, ResponseStatusCode: br.Status, ResponseHeaders: headers}
	}
	node, err := kiotajson.NewJsonParseNode(content)
	if err != nil {
		return nil, &abs.ApiError{Message: "The server returned an unexpected status code but the error could not be deserialized: " + status, ResponseStatusCode: br.Status, ResponseHeaders: headers}
	}
	v, err := node.GetObjectValue(errorMapping["XXX"])
	var e error
	if err == nil && v != nil {
		e, _ = v.(error)
	}
	if e == nil {
		return nil, &abs.ApiError{Message: "The server returned an unexpected status code but the error could not be deserialized: " + status, ResponseStatusCode: br.Status, ResponseHeaders: headers}
	}
	var ae abs.ApiErrorable
	if errors.As(e, &ae) {
		ae.SetResponseHeaders(headers)
		ae.SetStatusCode(br.Status)
	}
	return nil, e
}
