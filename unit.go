package tierzero

import (
	"context"
	"errors"
	"sync"
)

// A Unit gathers the durable writes of one step of a request (the audit
// records of its reads, its conversation, the outcome of its writes) so
// that the store commits them together, in one transaction per tenant file,
// instead of syncing each to disk on its own.
//
// A store that supports units queues a deferrable write (an audit record, a
// conversation, an intent's outcome) when the context carries a Unit, and
// commits what is queued together with the next write that must be durable
// before the caller acts (an intent before a write reaches Graph, an
// approval, an outbound message before it is sent): "audit before action"
// holds, since nothing acts on a queued write. Commit writes what is left at
// the end of the step.
//
// What a crash loses is what no one acted on: the records of reads made
// since the last commit, and the end of a step whose reply was not yet
// delivered (its message is still in the inbox, and an intent without an
// outcome is reconciled at start).
type Unit struct {
	mu    sync.Mutex
	parts []unitPart
}

type unitPart struct {
	key  any
	part UnitPart
}

// A UnitPart is what one store keeps queued in a Unit.
type UnitPart interface {
	// Flush commits what is queued and empties the queue.
	Flush(ctx context.Context) error
}

type unitKey struct{}

// BeginUnit returns ctx carrying a new Unit and the function that commits
// it. When ctx already carries a Unit, that one is used and the function
// returned commits nothing: the owner of the outer Unit commits it.
func BeginUnit(ctx context.Context) (context.Context, func(context.Context) error) {
	if UnitOf(ctx) != nil {
		return ctx, func(context.Context) error { return nil }
	}
	u := &Unit{}
	return context.WithValue(ctx, unitKey{}, u), u.Commit
}

// UnitOf returns the Unit ctx carries, or nil.
func UnitOf(ctx context.Context) *Unit {
	u, _ := ctx.Value(unitKey{}).(*Unit)
	return u
}

// Part returns the part of u kept under key, made by newPart on first use.
func (u *Unit) Part(key any, newPart func() UnitPart) UnitPart {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range u.parts {
		if p.key == key {
			return p.part
		}
	}
	p := newPart()
	u.parts = append(u.parts, unitPart{key, p})
	return p
}

// Commit flushes every part of u, in the order they were first used.
func (u *Unit) Commit(ctx context.Context) error {
	u.mu.Lock()
	parts := append([]unitPart(nil), u.parts...)
	u.mu.Unlock()
	var errs []error
	for _, p := range parts {
		if err := p.part.Flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CommitUnit commits the Unit ctx carries, if any: what a caller does before
// it acts on writes that may still be queued.
func CommitUnit(ctx context.Context) error {
	if u := UnitOf(ctx); u != nil {
		return u.Commit(ctx)
	}
	return nil
}
