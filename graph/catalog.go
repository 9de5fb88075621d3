package graph

import "github.com/tierzero/tierzero"

// Catalog returns the specs of every tool, without a client: for listing
// and for wiring policy before any tenant is reached.
func Catalog() []tierzero.ToolSpec {
	ts := catalog()
	out := make([]tierzero.ToolSpec, len(ts))
	for i, t := range ts {
		out[i] = t.spec
	}
	return out
}
