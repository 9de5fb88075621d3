package openai

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff bounds. The wait before retry n (0-based) is drawn from
// [d/2, d] with d = minBackoff<<n capped at maxBackoff, unless the server
// says how long to wait.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 20 * time.Second

	// maxRetryAfter is the longest server-requested wait honoured. A server
	// asking for more is not retried: its response is returned as is, since a
	// chat user should not wait minutes for an answer.
	maxRetryAfter = 60 * time.Second
)

// retryTransport is an http.RoundTripper that gives each attempt its own
// timeout and retries 429, 5xx and transport errors with exponential backoff
// and jitter, honouring Retry-After. Other statuses are returned at once.
type retryTransport struct {
	base       http.RoundTripper
	timeout    time.Duration // per attempt
	maxRetries int
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time
	logger     *slog.Logger
	allowHTTP  bool // plain http to hosts other than this machine
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Every request, a redirect's included, goes over https unless it
	// stays on this machine or plain http was allowed.
	if err := checkScheme(req.URL, t.allowHTTP); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	ctx := req.Context()
	getBody, err := replayable(req)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.attempt(req, getBody)
		if ctx.Err() != nil {
			if resp != nil {
				drain(resp)
			}
			return nil, ctx.Err()
		}
		retry, wait := t.decide(resp, err, attempt)
		if !retry || attempt >= t.maxRetries {
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			drain(resp)
		}
		t.logger.LogAttrs(ctx, slog.LevelWarn, "llm request retry",
			slog.Int("attempt", attempt+1),
			slog.Int("status", status),
			slog.String("error", errString(err)),
			slog.Duration("wait", wait))
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attempt sends one copy of req under the per-attempt timeout. The timeout
// stays in force while the caller reads the body and is released on Close.
func (t *retryTransport) attempt(req *http.Request, getBody func() (io.ReadCloser, error)) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	r := req.Clone(ctx)
	if getBody != nil {
		body, err := getBody()
		if err != nil {
			cancel()
			return nil, err
		}
		r.Body = body
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// decide reports whether the outcome of attempt n is worth retrying, and
// after how long.
func (t *retryTransport) decide(resp *http.Response, err error, n int) (bool, time.Duration) {
	if err != nil {
		return true, backoff(n)
	}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return false, 0
	}
	if d, ok := retryAfter(resp.Header, t.now()); ok {
		if d > maxRetryAfter {
			return false, 0
		}
		return true, d
	}
	return true, backoff(n)
}

// backoff returns the jittered wait before retry n (0-based).
func backoff(n int) time.Duration {
	d := maxBackoff
	if n < 16 {
		d = min(minBackoff<<n, maxBackoff)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter reads how long the server asks the client to wait: the
// non-standard retry-after-ms header OpenAI sends, or Retry-After in
// seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// replayable returns a function that yields a fresh copy of req's body for
// each attempt, buffering the body when the request cannot replay it itself.
func replayable(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		req.Body.Close() // each attempt reads its own copy
		return req.GetBody, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("buffer request body: %w", err)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// drain discards a little of an unwanted response body so the connection
// can be reused, then closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// cancelBody releases an attempt's timeout when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
