package bot

import (
	"sync"

	"github.com/tierzero/tierzero"
)

// laneKey names one conversation: its requests run one at a time, in
// arrival order.
type laneKey struct {
	tenant tierzero.TenantID
	conv   tierzero.ConversationID
}

type lane struct {
	key     laneKey
	jobs    []tierzero.InboxItem
	running bool
	queued  bool // in its tenant's ready list
}

// sched hands queued requests to workers: one at a time per conversation,
// in arrival order, and round robin over the tenants that have work, so
// that one noisy tenant cannot starve the others.
type sched struct {
	mu     sync.Mutex
	cond   *sync.Cond
	lanes  map[laneKey]*lane
	ready  map[tierzero.TenantID][]*lane
	ring   []tierzero.TenantID // tenants with ready lanes, in turn
	queued int                 // items waiting, not running
	closed bool
}

func newSched() *sched {
	s := &sched{lanes: map[laneKey]*lane{}, ready: map[tierzero.TenantID][]*lane{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// push queues an item behind the others of its conversation. It reports
// the number of items waiting.
func (s *sched) push(it tierzero.InboxItem) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := laneKey{it.Inbound.Tenant, it.Inbound.Conversation}
	l := s.lanes[k]
	if l == nil {
		l = &lane{key: k}
		s.lanes[k] = l
	}
	l.jobs = append(l.jobs, it)
	s.queued++
	if !l.running && !l.queued {
		s.readyLocked(l)
	}
	s.cond.Signal()
	return s.queued
}

func (s *sched) readyLocked(l *lane) {
	t := l.key.tenant
	if len(s.ready[t]) == 0 {
		s.ring = append(s.ring, t)
	}
	s.ready[t] = append(s.ready[t], l)
	l.queued = true
}

// next blocks until an item may run, and marks its conversation running.
// ok is false once the scheduler is closed.
func (s *sched) next() (l *lane, it tierzero.InboxItem, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.ring) == 0 && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		return nil, it, false
	}
	t := s.ring[0]
	s.ring = s.ring[1:]
	l = s.ready[t][0]
	s.ready[t] = s.ready[t][1:]
	if len(s.ready[t]) > 0 {
		s.ring = append(s.ring, t) // the tenant's turn comes again after the others'
	} else {
		delete(s.ready, t)
	}
	l.queued, l.running = false, true
	it = l.jobs[0]
	l.jobs = l.jobs[1:]
	s.queued--
	return l, it, true
}

// done releases a conversation after its item ran. It reports the number
// of items waiting.
func (s *sched) done(l *lane) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.running = false
	if len(l.jobs) > 0 {
		s.readyLocked(l)
		s.cond.Signal()
	} else {
		delete(s.lanes, l.key)
	}
	return s.queued
}

// close wakes every worker: no item is handed out after it. Queued items
// stay in the durable inbox for the next start.
func (s *sched) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.cond.Broadcast()
}

// depth is the number of items waiting.
func (s *sched) depth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

// locks serializes the work of one conversation between the workers and
// synchronous callers (Handle, Decide's follow-ups): two concurrent "yes"
// on one thread never run a plan twice.
type locks struct {
	mu sync.Mutex
	m  map[laneKey]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (ls *locks) lock(k laneKey) func() {
	ls.mu.Lock()
	if ls.m == nil {
		ls.m = map[laneKey]*keyLock{}
	}
	l := ls.m[k]
	if l == nil {
		l = &keyLock{}
		ls.m[k] = l
	}
	l.refs++
	ls.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		ls.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(ls.m, k)
		}
		ls.mu.Unlock()
	}
}
