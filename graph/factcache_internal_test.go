package graph

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// The cache is bounded per tenant and overall, and never keeps a read a
// write of its tenant overtook.
func TestFactCacheBounds(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	fc := newFactCache(time.Minute, func() time.Time { return now })
	ctx := context.Background()
	for i := range 3 * factsPerTenantMax {
		fc.put("contoso", fmt.Sprint("user:", i), fc.start(), i)
	}
	if n := len(fc.tenants["contoso"].Value.(*tenantFacts).facts); n > factsPerTenantMax || fc.total != n {
		t.Errorf("one tenant holds %d facts (total %d), bound %d", n, fc.total, factsPerTenantMax)
	}
	for i := range factsMax/factsPerTenantMax*2 + 10 {
		tenant := tierzero.TenantID(fmt.Sprintf("tenant-%05d", i))
		for j := range factsPerTenantMax {
			fc.put(tenant, fmt.Sprint("user:", j), fc.start(), j)
		}
	}
	if fc.total > factsMax || fc.lru.Len() != len(fc.tenants) {
		t.Errorf("%d facts in %d tenants, bound %d", fc.total, len(fc.tenants), factsMax)
	}
	if _, ok := fc.get(ctx, "contoso", "user:1"); ok {
		t.Error("the least recently used tenant was kept")
	}
	// A read that a write of its tenant overtook is not kept, also when
	// the tenant was forgotten meanwhile.
	started := fc.start()
	fc.wrote("fabrikam")
	fc.put("fabrikam", "user:x", started, 1)
	if _, ok := fc.get(ctx, "fabrikam", "user:x"); ok {
		t.Error("a read overtaken by a write was cached")
	}
	fc.put("fabrikam", "user:x", fc.start(), 1)
	if _, ok := fc.get(ctx, "fabrikam", "user:x"); !ok {
		t.Error("a read after the write was not cached")
	}
	if _, ok := fc.get(tierzero.FreshFacts(ctx), "fabrikam", "user:x"); ok {
		t.Error("a fresh read was served from the cache")
	}
	started = fc.start()
	fc.wrote("northwind")
	fc.evict(fc.tenants["northwind"])
	fc.put("northwind", "user:x", started, 1)
	if _, ok := fc.get(ctx, "northwind", "user:x"); ok {
		t.Error("a read overtaken by a write of a forgotten tenant was cached")
	}
}
