package sim

// This file: fault injection. Tests and the demo add rules that make the
// simulator throttle, fail, stall, or apply a write and then lose its answer,
// so that clients' retry and read-back logic can be driven through the real
// SDK.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers 429 TooManyRequests with a Retry-After header,
	// without applying the request.
	FaultThrottle FaultKind = "throttle"
	// FaultUnavailable answers 503 serviceNotAvailable without applying the
	// request.
	FaultUnavailable FaultKind = "unavailable"
	// FaultGatewayTimeout answers 504 GatewayTimeout without applying the
	// request.
	FaultGatewayTimeout FaultKind = "gateway_timeout"
	// FaultLatency delays the request by LatencyMs, then serves it normally.
	FaultLatency FaultKind = "latency"
	// FaultAppliedThen503 applies the request normally (its state change
	// and journal entry are real) but answers 503: the answer was lost.
	FaultAppliedThen503 FaultKind = "applied_then_503"
	// FaultError answers any 4xx or 5xx Status with an OData error body
	// (Code and Message, defaulting to what Graph answers for the status:
	// errorDefaults) without applying the request: 403
	// Authorization_RequestDenied, 404 Request_ResourceNotFound, 409
	// Directory_ConcurrencyViolation, 429 with Retry-After, and so on.
	FaultError FaultKind = "error"
)

// errorDefaults are the OData error code and message Graph answers for a
// status, used by an error fault that names none. Codes and messages as
// Graph sends them: "Microsoft Graph error responses and resource types"
// (https://learn.microsoft.com/graph/errors) and the directory's own codes
// (Authorization_RequestDenied, Request_ResourceNotFound, Request_BadRequest,
// Directory_ConcurrencyViolation).
var errorDefaults = map[int][2]string{
	http.StatusBadRequest:          {"Request_BadRequest", "Invalid request."},
	http.StatusUnauthorized:        {"InvalidAuthenticationToken", "Access token validation failure."},
	http.StatusForbidden:           {"Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
	http.StatusNotFound:            {"Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present."},
	http.StatusConflict:            {"Directory_ConcurrencyViolation", "Another operation is in progress on this object. Please retry after some time."},
	http.StatusPreconditionFailed:  {"PreconditionFailed", "The precondition of the request was not met."},
	http.StatusTooManyRequests:     {"TooManyRequests", "Too many requests"},
	http.StatusInternalServerError: {"InternalServerError", "An internal server error occurred."},
	http.StatusBadGateway:          {"BadGateway", "The gateway received an invalid response from the upstream service."},
	http.StatusServiceUnavailable:  {"serviceNotAvailable", "The service is temporarily unavailable. Please try again later."},
	http.StatusGatewayTimeout:      {"GatewayTimeout", "The gateway did not receive a timely response from the upstream service."},
}

// faultStatus is the status each kind answers (0: the real one).
var faultStatus = map[FaultKind]int{
	FaultThrottle:       http.StatusTooManyRequests,
	FaultUnavailable:    http.StatusServiceUnavailable,
	FaultGatewayTimeout: http.StatusGatewayTimeout,
	FaultLatency:        0,
	FaultAppliedThen503: http.StatusServiceUnavailable,
	FaultError:          0, // the rule's own Status
}

// maxLatency bounds a latency fault.
const maxLatency = 5 * time.Minute

// Fault is one fault rule of a tenant. It affects the requests whose method
// and path match, Count times (0: until cleared), in the order the rules
// were added. A request meets at most one latency rule and then at most one
// other rule.
type Fault struct {
	ID     int    `json:"id"`               // assigned by AddFault
	Tenant string `json:"tenant,omitempty"` // for POST /_sim/faults; AddFault takes it as an argument
	Method string `json:"method,omitempty"` // e.g. PATCH; empty matches any method
	// Path is matched against the unescaped request path (the one the
	// journal shows, e.g. /v1.0/users/adele.vance@contoso.com) with
	// path.Match: * matches within one segment. A pattern ending in /**
	// matches everything below its prefix; an empty pattern matches any path.
	Path string    `json:"path,omitempty"`
	Kind FaultKind `json:"kind"` // an absent kind with a Status is an error fault
	// Status is what the rule answers: an error fault's own (400 to 599),
	// otherwise fixed by Kind (a different value is refused).
	Status int `json:"status,omitempty"`
	// Code and Message make the OData error body (error.code and
	// error.message) of any kind but latency; empty: Graph's usual ones
	// for the status.
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	RetryAfter int    `json:"retryAfter,omitempty"` // seconds, sent as Retry-After; throttle defaults to 1
	LatencyMs  int    `json:"latencyMs,omitempty"`  // for latency
	// Count is how many matching requests the rule still affects; 0 means
	// until cleared. POST /_sim/faults defaults an absent count to 1.
	Count int `json:"count"`
	Hits  int `json:"hits"` // how many requests it affected so far
}

// faultState holds a tenant's injected faults. Guarded by Server.mu.
type faultState struct {
	rules  []*Fault
	nextID int
}

// AddFault adds a fault rule to a tenant's simulator and returns nothing but
// an error for an unknown tenant or an invalid rule. f.Tenant is ignored.
func (s *Server) AddFault(tenant string, f Fault) error {
	_, err := s.addFault(tenant, f)
	return err
}

func (s *Server) addFault(tenant string, f Fault) (Fault, error) {
	f.Tenant, f.Hits = tenant, 0
	f.Method = strings.ToUpper(strings.TrimSpace(f.Method))
	if f.Kind == "" && f.Status != 0 {
		f.Kind = FaultError
	}
	want, known := faultStatus[f.Kind]
	if f.Kind == FaultError {
		want = f.Status
	}
	switch {
	case !known:
		return f, fmt.Errorf("unknown fault kind %q", f.Kind)
	case f.Kind == FaultError && (f.Status < 400 || f.Status > 599):
		return f, fmt.Errorf("an error fault needs a status from 400 to 599, not %d", f.Status)
	case f.Kind == FaultLatency && (f.Code != "" || f.Message != ""):
		return f, errors.New("a latency fault answers no error: no code or message")
	case f.Status != 0 && f.Status != want:
		return f, fmt.Errorf("fault kind %s answers %d, not %d", f.Kind, want, f.Status)
	case f.Count < 0:
		return f, errors.New("fault count must be 0 (until cleared) or more")
	case f.RetryAfter < 0 || f.RetryAfter > 3600:
		return f, errors.New("fault retryAfter must be 0 to 3600 seconds")
	case f.Kind == FaultLatency && (f.LatencyMs <= 0 || time.Duration(f.LatencyMs)*time.Millisecond > maxLatency):
		return f, fmt.Errorf("latency fault needs latencyMs between 1 and %d", maxLatency.Milliseconds())
	case f.Kind != FaultLatency && f.LatencyMs != 0:
		return f, errors.New("latencyMs is only for latency faults")
	}
	if _, err := path.Match(strings.TrimSuffix(f.Path, "/**"), ""); err != nil {
		return f, fmt.Errorf("fault path %q: %v", f.Path, err)
	}
	f.Status = want
	if (f.Kind == FaultThrottle || f.Status == http.StatusTooManyRequests) && f.RetryAfter == 0 {
		f.RetryAfter = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return f, fmt.Errorf("unknown tenant %q", tenant)
	}
	t.faults.nextID++
	f.ID = t.faults.nextID
	stored := f
	t.faults.rules = append(t.faults.rules, &stored)
	return f, nil
}

// ClearFaults removes every fault rule of a tenant.
func (s *Server) ClearFaults(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[tenant]; ok {
		t.faults.rules = nil
	}
}

// Faults returns a copy of a tenant's active fault rules, oldest first; nil
// for an unknown tenant.
func (s *Server) Faults(tenant string) []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return nil
	}
	out := make([]Fault, 0, len(t.faults.rules))
	for _, f := range t.faults.rules {
		out = append(out, *f)
	}
	return out
}

// take returns a copy of the first rule that matches r and is (or, with
// latency false, is not) a latency rule, counting the hit; nil for none.
// Called with Server.mu held.
func (fs *faultState) take(r *http.Request, latency bool) *Fault {
	return fs.takeWhere(r, latency, func(*Fault) bool { return true })
}

// takeBatch is take for a JSON batch itself (POST /v1.0/$batch): only the
// rules whose path names $batch meet it; the others meet the requests in
// it, each as if it came alone. Called with Server.mu held.
func (fs *faultState) takeBatch(r *http.Request, latency bool) *Fault {
	return fs.takeWhere(r, latency, func(f *Fault) bool { return strings.Contains(f.Path, "$batch") })
}

// takeWhere is take among the rules for which only is true.
func (fs *faultState) takeWhere(r *http.Request, latency bool, only func(*Fault) bool) *Fault {
	for i, f := range fs.rules {
		if (f.Kind == FaultLatency) != latency || !only(f) || !f.matches(r) {
			continue
		}
		f.Hits++
		hit := *f
		if f.Count > 0 {
			if f.Count--; f.Count == 0 {
				fs.rules = slices.Delete(fs.rules, i, i+1)
			}
		}
		return &hit
	}
	return nil
}

func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	p := r.URL.Path
	switch prefix, deep := strings.CutSuffix(f.Path, "/**"); {
	case f.Path == "":
		return true
	case deep:
		ok, _ := path.Match(prefix, p)
		for q := p; !ok && q != "/" && q != "."; {
			q = path.Dir(q)
			ok, _ = path.Match(prefix, q)
		}
		return ok
	default:
		ok, _ := path.Match(f.Path, p)
		return ok
	}
}

// reply is the error a fault answers, and sets its Retry-After header.
func (f *Fault) reply(h http.Header) reply {
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	code, msg := f.Code, f.Message
	def, ok := errorDefaults[f.Status]
	if !ok {
		def = [2]string{"UnknownError", http.StatusText(f.Status)}
		if def[1] == "" {
			def[1] = "The request failed."
		}
	}
	if code == "" {
		code = def[0]
	}
	if msg == "" {
		msg = def[1]
	}
	return fail(f.Status, code, msg)
}

// stall waits for a latency fault's delay, or until the client goes away;
// it reports whether the request should still be served. Called without
// Server.mu.
func (f *Fault) stall(ctx context.Context) bool {
	t := time.NewTimer(time.Duration(f.LatencyMs) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveFaults serves /_sim/faults: POST adds a rule (JSON Fault with its
// tenant), GET ?tenant=T lists the active rules, DELETE ?tenant=T clears
// them. No authentication, like the rest of /_sim.
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		body, err := readBody(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, simError("invalid", err.Error()))
			return
		}
		var in struct {
			Fault
			Count *int `json:"count"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, simError("invalid", "fault: "+err.Error()))
			return
		}
		in.Fault.Count = 1
		if in.Count != nil {
			in.Fault.Count = *in.Count
		}
		if s.Faults(in.Tenant) == nil {
			writeJSON(w, http.StatusNotFound, simError("not_found", fmt.Sprintf("unknown tenant %q", in.Tenant)))
			return
		}
		f, err := s.addFault(in.Tenant, in.Fault)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, simError("invalid", err.Error()))
			return
		}
		writeJSON(w, http.StatusCreated, f)
	case http.MethodGet, http.MethodDelete:
		name := r.URL.Query().Get("tenant")
		list := s.Faults(name)
		if list == nil {
			writeJSON(w, http.StatusNotFound, simError("not_found", fmt.Sprintf("unknown tenant %q", name)))
			return
		}
		if r.Method == http.MethodDelete {
			s.ClearFaults(name)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, list)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
	}
}
