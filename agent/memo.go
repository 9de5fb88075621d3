package agent

import "sync"

// memoSize is how many texts a memo keeps in each of its two generations;
// memoMaxKey is the longest text it keeps (longer ones are read every
// time).
const (
	memoSize   = 512
	memoMaxKey = 2048
)

// memo remembers f(text) for the texts last asked for, for a pure f: two
// generations of at most memoSize entries; when the new one is full, the
// old one is dropped, and what is read from the old one moves to the new
// one. Safe for concurrent use.
type memo[V any] struct {
	f        func(string) V
	mu       sync.RWMutex
	cur, old map[string]V
}

func newMemo[V any](f func(string) V) *memo[V] { return &memo[V]{f: f} }

// get returns f(text), computed once while text is remembered. A value
// shared among callers is never modified by them.
func (m *memo[V]) get(text string) V {
	m.mu.RLock()
	v, ok := m.cur[text]
	m.mu.RUnlock()
	if ok {
		return v
	}
	if len(text) > memoMaxKey {
		return m.f(text)
	}
	m.mu.Lock()
	v, ok = m.old[text]
	m.mu.Unlock()
	if !ok {
		v = m.f(text)
	}
	m.mu.Lock()
	if len(m.cur) >= memoSize {
		m.old, m.cur = m.cur, nil
	}
	if m.cur == nil {
		m.cur = map[string]V{}
	}
	m.cur[text] = v
	m.mu.Unlock()
	return v
}
