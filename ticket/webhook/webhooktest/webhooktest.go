// Package webhooktest is a fake of the MSP's side of the generic ticket
// webhook, for tests: an http.Handler that follows the receiver's duties in
// docs/ticket.md ("The webhook protocol") and package webhook's comment:
// it verifies X-Tierzero-Signature, dedupes on X-Tierzero-Delivery
// (answering a repeat as the first time), opens one ticket per
// ticket.create, answers ticket.find with the ticket or 404, and records
// notes and closes. Faults can be injected: an auth failure, a rate limit
// with Retry-After, a create applied and then left unanswered (a timeout).
package webhooktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tierzero/tierzero/ticket/webhook"
)

// Ticket is a ticket the fake opened.
type Ticket struct {
	Ref    webhook.Ref
	Event  webhook.Event // the ticket.create that opened it
	Notes  []webhook.Event
	Closed bool
}

// Receiver is the fake. Its zero value needs Secret.
type Receiver struct {
	Secret []byte

	mu         sync.Mutex
	tickets    map[string]*Ticket // by correlation
	order      []string
	deliveries map[string][]byte // delivery id -> first answer
	requests   []Request
	// Faults, each consumed by the next request(s).
	unauthorized bool
	limited      int
	retryAfter   int
	hangCreate   int
	hang         chan struct{}
	// Created is told each ticket the fake opens (optional).
	Created chan Ticket
}

// Request is one request the fake received, verified or not.
type Request struct {
	Event     string
	Delivery  string
	Signature string
	Body      []byte
	Valid     bool
}

// Unauthorized makes every following request fail with 401.
func (f *Receiver) Unauthorized(on bool) { f.mu.Lock(); f.unauthorized = on; f.mu.Unlock() }

// RateLimit answers the next n requests 429 with Retry-After seconds.
func (f *Receiver) RateLimit(n, seconds int) {
	f.mu.Lock()
	f.limited, f.retryAfter = n, seconds
	f.mu.Unlock()
}

// HangCreates applies the next n ticket.create requests and then does not
// answer them until Release (the client's timeout fires first).
func (f *Receiver) HangCreates(n int) {
	f.mu.Lock()
	f.hangCreate = n
	if f.hang == nil {
		f.hang = make(chan struct{})
	}
	f.mu.Unlock()
}

// Release lets hung requests finish.
func (f *Receiver) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hang != nil {
		close(f.hang)
		f.hang = nil
	}
}

// Tickets returns the tickets opened, in order.
func (f *Receiver) Tickets() []Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Ticket
	for _, c := range f.order {
		out = append(out, *f.tickets[c])
	}
	return out
}

// Requests returns every request received.
func (f *Receiver) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func (f *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Event: r.Header.Get(webhook.HeaderEvent), Delivery: r.Header.Get(webhook.HeaderDelivery),
		Signature: r.Header.Get(webhook.HeaderSignature), Body: body}
	req.Valid = webhook.Verify(f.Secret, body, req.Signature)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	if f.tickets == nil {
		f.tickets, f.deliveries = map[string]*Ticket{}, map[string][]byte{}
	}
	if f.unauthorized {
		f.mu.Unlock()
		http.Error(w, `{"error":"invalid signature key"}`, http.StatusUnauthorized)
		return
	}
	if f.limited > 0 {
		f.limited--
		f.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
		return
	}
	if !req.Valid {
		f.mu.Unlock()
		http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
		return
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Delivery != req.Delivery || ev.Event != req.Event {
		f.mu.Unlock()
		http.Error(w, `{"error":"bad event"}`, http.StatusBadRequest)
		return
	}
	if answer, ok := f.deliveries[req.Delivery]; ok { // a repeat: as the first time
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
		return
	}
	var answer []byte
	status := http.StatusOK
	var hang chan struct{}
	switch ev.Event {
	case webhook.EventCreate:
		t, ok := f.tickets[ev.Correlation]
		if !ok {
			n := len(f.order) + 1
			t = &Ticket{Ref: webhook.Ref{ID: strconv.Itoa(n), Number: fmt.Sprintf("T-%04d", n), URL: fmt.Sprintf("https://psa.example/t/%d", n)}, Event: ev}
			f.tickets[ev.Correlation] = t
			f.order = append(f.order, ev.Correlation)
			if f.Created != nil {
				select {
				case f.Created <- *t:
				default:
				}
			}
		}
		answer, _ = json.Marshal(t.Ref)
		status = http.StatusCreated
		if f.hangCreate > 0 {
			f.hangCreate--
			hang = f.hang
		}
	case webhook.EventFind:
		t, ok := f.tickets[ev.Correlation]
		if !ok {
			f.mu.Unlock()
			http.Error(w, `{"error":"no such ticket"}`, http.StatusNotFound)
			return
		}
		answer, _ = json.Marshal(t.Ref)
	case webhook.EventNote, webhook.EventClose:
		var t *Ticket
		for _, c := range f.order {
			if ev.Ref != nil && f.tickets[c].Ref.ID == ev.Ref.ID {
				t = f.tickets[c]
			}
		}
		if t == nil {
			f.mu.Unlock()
			http.Error(w, `{"error":"no such ticket"}`, http.StatusNotFound)
			return
		}
		t.Notes = append(t.Notes, ev)
		if ev.Event == webhook.EventClose {
			t.Closed = true
		}
		answer = []byte(`{}`)
	default:
		f.mu.Unlock()
		http.Error(w, `{"error":"unknown event"}`, http.StatusBadRequest)
		return
	}
	if ev.Event != webhook.EventFind {
		f.deliveries[req.Delivery] = answer
	}
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return // no answer reaches the client
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(answer)
}
