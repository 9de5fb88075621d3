package graph

// This file: the short cache of policy facts. A request's decisions read
// the same facts (the target user's roles, groups, risk) again and again;
// each tenant keeps what was read for a few seconds (Config.FactsTTL) so
// that a read decision does not ask Graph again. What keeps it safe:
//
//   - a decision about a write reads fresh (tierzero.FreshFacts: policy
//     marks it), and its fresh read replaces what was cached;
//   - any write this Client sends to a tenant (any method but GET and HEAD,
//     a write tool, an onboarding, a failed write that may have applied)
//     drops the tenant's cached facts once it is answered, and a read that
//     was under way while it ran is not cached;
//   - errors are never cached, and what is handed out is a copy.
//
// The staleness a read decision may see is therefore a change made outside
// this Client (in the admin center, by another tool) within the TTL.

import (
	"container/list"
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// Bounds of the facts cache: an MSP may serve 20,000 tenants.
const (
	defaultFactsTTL   = 30 * time.Second
	factsPerTenantMax = 256    // cached facts of one tenant
	factsMax          = 50_000 // cached facts of all tenants
	idsPerTenantMax   = 1024   // user principal name -> object id memos of one tenant
)

// factCache holds each tenant's recently read facts.
type factCache struct {
	ttl time.Duration // <= 0: nothing is cached
	now func() time.Time

	mu      sync.Mutex
	epoch   uint64 // counts writes to any tenant
	floor   uint64 // the latest write epoch of an evicted tenant
	total   int    // cached facts, all tenants
	tenants map[tierzero.TenantID]*list.Element
	lru     *list.List // of *tenantFacts, most recently used first
}

// tenantFacts is one tenant's cache.
type tenantFacts struct {
	tenant    tierzero.TenantID
	lastWrite uint64 // epoch of the tenant's last write
	facts     map[string]factEntry
	ids       map[string]string // lowercase UPN -> object id (ids never change)
}

type factEntry struct {
	value   any
	expires time.Time
}

func newFactCache(ttl time.Duration, now func() time.Time) *factCache {
	return &factCache{ttl: ttl, now: now, tenants: map[tierzero.TenantID]*list.Element{}, lru: list.New()}
}

// start returns the epoch a read begins at, for put.
func (fc *factCache) start() uint64 {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.epoch
}

// get returns a cached value of tenant under key, unless ctx wants fresh
// facts or it expired.
func (fc *factCache) get(ctx context.Context, tenant tierzero.TenantID, key string) (any, bool) {
	if fc.ttl <= 0 || tierzero.WantsFreshFacts(ctx) {
		return nil, false
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	el, ok := fc.tenants[tenant]
	if !ok {
		return nil, false
	}
	tf := el.Value.(*tenantFacts)
	e, ok := tf.facts[key]
	if !ok {
		return nil, false
	}
	if !fc.now().Before(e.expires) {
		delete(tf.facts, key)
		fc.total--
		return nil, false
	}
	fc.lru.MoveToFront(el)
	return e.value, true
}

// put caches value under key for tenant, read from an epoch started: a
// read that a write of the tenant overtook is not cached.
func (fc *factCache) put(tenant tierzero.TenantID, key string, started uint64, value any) {
	if fc.ttl <= 0 {
		return
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	tf := fc.tenant(tenant, started)
	if tf == nil {
		return
	}
	if _, ok := tf.facts[key]; !ok {
		if len(tf.facts) >= factsPerTenantMax {
			fc.prune(tf)
		}
		fc.total++
	}
	tf.facts[key] = factEntry{value: value, expires: fc.now().Add(fc.ttl)}
	for fc.total > factsMax && fc.lru.Len() > 1 {
		fc.evict(fc.lru.Back())
	}
}

// tenant returns tenant's cache, made on first use, or nil when a write
// of the tenant happened after started. Called with fc.mu held.
func (fc *factCache) tenant(tenant tierzero.TenantID, started uint64) *tenantFacts {
	if el, ok := fc.tenants[tenant]; ok {
		tf := el.Value.(*tenantFacts)
		if started < tf.lastWrite {
			return nil
		}
		fc.lru.MoveToFront(el)
		return tf
	}
	if started < fc.floor {
		return nil // the tenant's last write was forgotten with it: unknown
	}
	tf := &tenantFacts{tenant: tenant, lastWrite: fc.floor, facts: map[string]factEntry{}, ids: map[string]string{}}
	fc.tenants[tenant] = fc.lru.PushFront(tf)
	return tf
}

// prune drops a full tenant's expired facts, or else half of them. Called
// with fc.mu held.
func (fc *factCache) prune(tf *tenantFacts) {
	now, n := fc.now(), len(tf.facts)
	for k, e := range tf.facts {
		if !now.Before(e.expires) {
			delete(tf.facts, k)
		}
	}
	for k := range tf.facts {
		if len(tf.facts) <= factsPerTenantMax/2 {
			break
		}
		delete(tf.facts, k)
	}
	fc.total -= n - len(tf.facts)
}

// evict forgets a tenant's cache. Called with fc.mu held.
func (fc *factCache) evict(el *list.Element) {
	tf := el.Value.(*tenantFacts)
	fc.lru.Remove(el)
	delete(fc.tenants, tf.tenant)
	fc.total -= len(tf.facts)
	fc.floor = max(fc.floor, tf.lastWrite)
}

// wrote drops tenant's cached facts: a write was sent to it.
func (fc *factCache) wrote(tenant tierzero.TenantID) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.epoch++
	if el, ok := fc.tenants[tenant]; ok {
		tf := el.Value.(*tenantFacts)
		fc.total -= len(tf.facts)
		clear(tf.facts)
		tf.lastWrite = fc.epoch
	} else {
		// Not cached: a read under way must still not be kept.
		tf := fc.tenant(tenant, fc.epoch)
		tf.lastWrite = fc.epoch
	}
}

// objectID returns the object id last read for a user principal name.
func (fc *factCache) objectID(tenant tierzero.TenantID, upn string) string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if el, ok := fc.tenants[tenant]; ok {
		return el.Value.(*tenantFacts).ids[strings.ToLower(upn)]
	}
	return ""
}

// rememberID notes the object id of a user principal name. Ids never
// change, but a name may move to another user: the memo is only a guess,
// which UserFacts checks against the user it reads.
func (fc *factCache) rememberID(tenant tierzero.TenantID, upn, id string) {
	if upn == "" || id == "" {
		return
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	tf := fc.tenant(tenant, fc.epoch)
	if len(tf.ids) >= idsPerTenantMax {
		clear(tf.ids)
	}
	tf.ids[strings.ToLower(upn)] = id
}

// writeWatch tells the facts cache of every write sent to its tenant, once
// answered (or failed: a write may apply and lose its answer). It wraps
// the tenant's HTTP client, outside kiota's middleware.
type writeWatch struct {
	next   http.RoundTripper
	tenant tierzero.TenantID
	cache  *factCache
}

func (w writeWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if req.Method != http.MethodGet && req.Method != http.MethodHead && !readOnlyBatch(req.Context()) {
		w.cache.wrote(w.tenant)
	}
	return resp, err
}

// cloneUserFacts copies f deeply: the cache hands out copies.
func cloneUserFacts(f tierzero.UserFacts) tierzero.UserFacts {
	if f.Manager != nil {
		m := *f.Manager
		f.Manager = &m
	}
	if f.Department != nil {
		d := *f.Department
		f.Department = &d
	}
	if f.Groups != nil {
		f.Groups = append([]tierzero.GroupRef{}, f.Groups...)
	}
	if f.AdminRoles != nil {
		f.AdminRoles = append([]string{}, f.AdminRoles...)
	}
	return f
}
