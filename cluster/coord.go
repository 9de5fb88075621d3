// Package cluster is the path past one node, on paper and in a simulation
// (docs/capacity.md): tenants sharded across tierzero replicas, each tenant
// owned by one replica at a time through leases on a coordination service
// (etcd), placed by rendezvous hashing, its bbolt file fenced by the
// ownership key's revision so that a stale owner's write is refused.
//
// Coord is an in-process model of the part of etcd's v3 API the design
// uses: leases (grant, keep-alive, expiry deleting the keys attached),
// transactions that compare a key's create revision, the cluster-wide
// revision, and watches. Sim runs replicas, a load balancer and chat
// traffic of an MSP's tenants over it in virtual time, kills, partitions,
// pauses and adds replicas, and checks that no tenant is ever written by two
// owners and no request runs twice. Nothing here is wired into serve: the
// single node, with its embedded store, stays the default.
package cluster

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// LeaseID names a lease, as etcd's.
type LeaseID int64

// ErrLeaseNotFound is etcd's "requested lease not found": the lease expired
// or was revoked; keys cannot be attached to it and it cannot be kept alive.
var ErrLeaseNotFound = errors.New("etcdserver: requested lease not found")

// KV is a key as etcd returns it.
type KV struct {
	Key, Value string
	CreateRev  int64 // the revision that created the key: the fencing token of an ownership
	ModRev     int64
	Lease      LeaseID
}

// EventKind is a watch event's kind.
type EventKind int

const (
	EventPut EventKind = iota
	EventDelete
)

// Event is a watch event: a key put or deleted at revision Rev.
type Event struct {
	Kind EventKind
	KV   KV
	Rev  int64
}

type lease struct {
	ttl    time.Duration
	expiry time.Duration // virtual time
	keys   map[string]bool
}

// Coord models an etcd cluster as its clients see it: linearizable
// operations, one revision counter, leases that expire TTL after the last
// keep-alive the cluster received. Time is the simulation's (Now).
type Coord struct {
	Now      func() time.Duration
	rev      int64
	kv       map[string]*KV
	leases   map[LeaseID]*lease
	next     LeaseID
	watchers []func(Event)
	// Ops counts the requests served (grants, keep-alives, txns), for the
	// load on the coordination service.
	Ops int64
}

// NewCoord returns an empty cluster at revision 1.
func NewCoord(now func() time.Duration) *Coord {
	return &Coord{Now: now, rev: 1, kv: map[string]*KV{}, leases: map[LeaseID]*lease{}}
}

// Rev is the current revision.
func (c *Coord) Rev() int64 { return c.rev }

// Watch calls fn with every later event, in revision order (the caller
// delays delivery to model the network).
func (c *Coord) Watch(fn func(Event)) { c.watchers = append(c.watchers, fn) }

func (c *Coord) emit(ev Event) {
	for _, w := range c.watchers {
		w(ev)
	}
}

// Grant creates a lease that expires ttl after now unless kept alive.
func (c *Coord) Grant(ttl time.Duration) LeaseID {
	c.expire()
	c.Ops++
	c.next++
	c.leases[c.next] = &lease{ttl: ttl, expiry: c.Now() + ttl, keys: map[string]bool{}}
	return c.next
}

// KeepAlive renews the lease for its full TTL from now (the time the
// cluster receives it), or fails with ErrLeaseNotFound.
func (c *Coord) KeepAlive(id LeaseID) (time.Duration, error) {
	c.expire()
	c.Ops++
	l, ok := c.leases[id]
	if !ok {
		return 0, ErrLeaseNotFound
	}
	l.expiry = c.Now() + l.ttl
	return l.ttl, nil
}

// Revoke ends a lease at once, deleting its keys.
func (c *Coord) Revoke(id LeaseID) {
	c.expire()
	c.Ops++
	c.drop(id)
}

// TimeToLive is how long the lease has left, or ErrLeaseNotFound.
func (c *Coord) TimeToLive(id LeaseID) (time.Duration, error) {
	c.expire()
	l, ok := c.leases[id]
	if !ok {
		return 0, ErrLeaseNotFound
	}
	return l.expiry - c.Now(), nil
}

// Expire deletes the leases whose time is up, with their keys; the
// simulation calls it as time passes (every operation does too).
func (c *Coord) Expire() { c.expire() }

func (c *Coord) expire() {
	now := c.Now()
	var due []LeaseID
	for id, l := range c.leases {
		if l.expiry <= now {
			due = append(due, id)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i] < due[j] })
	for _, id := range due {
		c.drop(id)
	}
}

// drop deletes a lease and its keys in one revision, as etcd's revoke.
func (c *Coord) drop(id LeaseID) {
	l, ok := c.leases[id]
	if !ok {
		return
	}
	delete(c.leases, id)
	if len(l.keys) == 0 {
		return
	}
	c.rev++
	keys := make([]string, 0, len(l.keys))
	for k := range l.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv := *c.kv[k]
		delete(c.kv, k)
		c.emit(Event{Kind: EventDelete, KV: kv, Rev: c.rev})
	}
}

// Get returns a key.
func (c *Coord) Get(key string) (KV, bool) {
	c.expire()
	kv, ok := c.kv[key]
	if !ok {
		return KV{}, false
	}
	return *kv, true
}

// Prefix returns the keys under prefix, sorted.
func (c *Coord) Prefix(prefix string) []KV {
	c.expire()
	var out []KV
	for k, kv := range c.kv {
		if strings.HasPrefix(k, prefix) {
			out = append(out, *kv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// CreateIfAbsent is the transaction
//
//	Txn().If(CreateRevision(key) == 0).Then(Put(key, value, WithLease(id))).Else(Get(key))
//
// It returns the key as it is after the transaction and whether it was
// created; with an expired lease, ErrLeaseNotFound and nothing changes.
func (c *Coord) CreateIfAbsent(key, value string, id LeaseID) (KV, bool, error) {
	c.expire()
	c.Ops++
	if kv, ok := c.kv[key]; ok {
		return *kv, false, nil
	}
	l, ok := c.leases[id]
	if id != 0 && !ok {
		return KV{}, false, ErrLeaseNotFound
	}
	c.rev++
	kv := &KV{Key: key, Value: value, CreateRev: c.rev, ModRev: c.rev, Lease: id}
	c.kv[key] = kv
	if l != nil {
		l.keys[key] = true
	}
	c.emit(Event{Kind: EventPut, KV: *kv, Rev: c.rev})
	return *kv, true, nil
}

// DeleteIfCreated is the transaction
//
//	Txn().If(CreateRevision(key) == createRev).Then(Delete(key))
//
// an owner giving up what it still owns, never a later owner's key.
func (c *Coord) DeleteIfCreated(key string, createRev int64) bool {
	c.expire()
	c.Ops++
	kv, ok := c.kv[key]
	if !ok || kv.CreateRev != createRev {
		return false
	}
	if l := c.leases[kv.Lease]; l != nil {
		delete(l.keys, key)
	}
	delete(c.kv, key)
	c.rev++
	c.emit(Event{Kind: EventDelete, KV: *kv, Rev: c.rev})
	return true
}
