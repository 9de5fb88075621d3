package tierzero

import "context"

// freshKey marks a context whose facts reads must not be served from a
// cache (FreshFacts).
type freshKey struct{}

// FreshFacts returns ctx marked so that the facts read with it (a user's
// roles, groups, risk; a group's, license's or device's) come from the
// directory itself, not from a cache of recent reads. Policy marks the
// decision about a write so: its target is read fresh, while a read may be
// decided on facts a few seconds old.
func FreshFacts(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

// WantsFreshFacts reports whether ctx was marked by FreshFacts.
func WantsFreshFacts(ctx context.Context) bool {
	v, _ := ctx.Value(freshKey{}).(bool)
	return v
}
