package offline

import (
	"sync"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
)

// The model is stateless, and reads the same words again in every round of
// a request (and of the requests that follow in a conversation): what it
// derives from text alone (the canonical form, the intents, the language,
// the clauses) is remembered in small bounded memos, safe for concurrent
// use. Only pure functions of the text are memoized, so a memo never
// changes what the model decides.

// memo remembers a pure function of a text (see tierzero.Memo).
type memo[V any] = tierzero.Memo[V]

func newMemo[V any](f func(string) V) *memo[V] { return tierzero.NewMemo(f) }

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
	if len(t.Parameters) > 4*tierzero.DefaultMemoMaxKey {
		return sc.ids, sc.ok
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= tierzero.DefaultMemoSize || c.m == nil {
		c.m, c.n = map[string]map[string]scope{}, 0
	}
	if c.m[t.Name] == nil {
		c.m[t.Name] = map[string]scope{}
	}
	c.m[t.Name][string(t.Parameters)] = sc
	c.n++
	return sc.ids, sc.ok
}
