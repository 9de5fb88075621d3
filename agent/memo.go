package agent

import "github.com/tierzero/tierzero"

// memo remembers a pure function of a text (see tierzero.Memo).
type memo[V any] = tierzero.Memo[V]

func newMemo[V any](f func(string) V) *memo[V] { return tierzero.NewMemo(f) }
