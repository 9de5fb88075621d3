package offline

import (
	"sync"

	"github.com/tierzero/tierzero/agent"
)

// The model is stateless, and reads the same words again in every round of
// a request (and of the requests that follow in a conversation): what it
// derives from text alone (the canonical form, the intents, the language,
// the clauses) is remembered in small bounded memos, safe for concurrent
// use. Only pure functions of the text are memoized, so a memo never
// changes what the model decides.

// memoSize is how many texts a memo keeps in each of its two generations;
// memoMaxKey is the longest text it keeps (longer ones are computed every
// time).
const (
	memoSize   = 512
	memoMaxKey = 2048
)

// memo remembers f(text) for the texts last asked for: two generations of
// at most memoSize entries; when the new one is full, the old one is
// dropped, and what is read from the old one moves to the new one.
type memo[V any] struct {
	f        func(string) V
	size     int // entries of a generation
	maxKey   int // the longest text kept
	mu       sync.RWMutex
	cur, old map[string]V
}

func newMemo[V any](f func(string) V) *memo[V] {
	return &memo[V]{f: f, size: memoSize, maxKey: memoMaxKey}
}

// get returns f(text), computed once while text is remembered. A value
// shared among callers is never modified by them.
func (m *memo[V]) get(text string) V {
	m.mu.RLock()
	v, ok := m.cur[text]
	m.mu.RUnlock()
	if ok {
		return v
	}
	if len(text) > m.maxKey {
		return m.f(text)
	}
	m.mu.Lock()
	v, ok = m.old[text]
	m.mu.Unlock()
	if !ok {
		v = m.f(text)
	}
	m.mu.Lock()
	m.put(text, v)
	m.mu.Unlock()
	return v
}

func (m *memo[V]) put(text string, v V) {
	if len(m.cur) >= m.size {
		m.old, m.cur = m.cur, nil
	}
	if m.cur == nil {
		m.cur = map[string]V{}
	}
	m.cur[text] = v
}

// toolTenants is agent.ToolTenants(tools), each tool's answer remembered by
// its name and schema: the agent offers the same tools in every round, and
// reading their schemas was most of a round's work.
func toolTenants(tools []agent.Tool) map[string][]string {
	out := map[string][]string{}
	for _, t := range tools {
		if len(t.Parameters) == 0 {
			continue
		}
		ids, ok := scopes.get(t)
		if ok {
			out[t.Name] = ids
		}
	}
	return out
}

// scopes remembers agent.ToolTenants of one tool, by name and schema.
var scopes = &scopeMemo{}

type scopeMemo struct {
	mu sync.RWMutex
	m  map[string]map[string]scope // name, schema
	n  int
}

type scope struct {
	ids []string // shared: never modified
	ok  bool     // the tool takes a tenant
}

func (c *scopeMemo) get(t agent.Tool) ([]string, bool) {
	c.mu.RLock()
	sc, hit := c.m[t.Name][string(t.Parameters)]
	c.mu.RUnlock()
	if hit {
		return sc.ids, sc.ok
	}
	sc.ids, sc.ok = agent.ToolTenants([]agent.Tool{t})[t.Name]
	if len(t.Parameters) > memoMaxKey*4 {
		return sc.ids, sc.ok
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= memoSize || c.m == nil {
		c.m, c.n = map[string]map[string]scope{}, 0
	}
	if c.m[t.Name] == nil {
		c.m[t.Name] = map[string]scope{}
	}
	c.m[t.Name][string(t.Parameters)] = sc
	c.n++
	return sc.ids, sc.ok
}
