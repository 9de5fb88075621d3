package tierzero

import (
	"cmp"
	"sync"
)

// Default bounds of a Memo.
const (
	DefaultMemoSize   = 512  // entries of each of its two generations
	DefaultMemoMaxKey = 2048 // the longest key it keeps
)

// Memo remembers F(key) for the keys last asked for, for a pure F (one
// whose result depends on the key alone): the agent and the rules model
// read the same message text in every round of a request, and one call's
// arguments are made canonical at every step of the pipeline. It keeps two
// generations of at most Size entries: when the new one is full the old one
// is dropped, and what is read from the old one moves to the new one. A
// key longer than MaxKey is computed every time. Safe for concurrent use; a
// value is shared among callers, who must not modify it.
type Memo[V any] struct {
	F      func(string) V
	Size   int // DefaultMemoSize when 0
	MaxKey int // DefaultMemoMaxKey when 0

	mu       sync.RWMutex
	cur, old map[string]V
}

// NewMemo returns a Memo of f with the default bounds.
func NewMemo[V any](f func(string) V) *Memo[V] { return &Memo[V]{F: f} }

// Get returns F(key), computed once while key is remembered.
func (m *Memo[V]) Get(key string) V {
	m.mu.RLock()
	v, ok := m.cur[key]
	m.mu.RUnlock()
	if ok {
		return v
	}
	if len(key) > cmp.Or(m.MaxKey, DefaultMemoMaxKey) {
		return m.F(key)
	}
	m.mu.RLock()
	v, ok = m.old[key]
	m.mu.RUnlock()
	if !ok {
		v = m.F(key)
	}
	m.mu.Lock()
	if len(m.cur) >= cmp.Or(m.Size, DefaultMemoSize) {
		m.old, m.cur = m.cur, nil
	}
	if m.cur == nil {
		m.cur = map[string]V{}
	}
	m.cur[key] = v
	m.mu.Unlock()
	return v
}

// Forget empties m (benchmarks of a first read).
func (m *Memo[V]) Forget() {
	m.mu.Lock()
	m.cur, m.old = nil, nil
	m.mu.Unlock()
}
