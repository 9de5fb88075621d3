package cluster

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config is one simulated MSP and its cluster. Zero fields take the
// defaults of DefaultConfig.
type Config struct {
	Tenants  int // client tenants (20,000)
	Replicas int // replicas at start
	Seed     uint64
	Duration time.Duration // virtual time simulated
	// Traffic: each tenant's seats are drawn from a log-normal (most
	// clients 10-50 seats, a few hundreds, a handful thousands); each seat
	// sends PerSeatHour requests an hour (the busiest hour), a Poisson
	// process from TrafficStart on.
	MedianSeats, SeatSigma float64
	MaxSeats               int
	PerSeatHour            float64
	TrafficStart           time.Duration
	// A request makes ModelCalls calls of ModelMin to ModelMax each.
	ModelCalls         int
	ModelMin, ModelMax time.Duration

	// Ownership: a replica's lease has TTL and is kept alive every
	// KeepAlive; a replica stops writing Margin before TTL runs out
	// since the last keep-alive it sent (clock drift, GC). Watch events
	// reach replicas WatchDelay after the change; replicas talk to each
	// other in NetDelay.
	TTL, KeepAlive, Margin, WatchDelay, NetDelay time.Duration
	// Taking over: a replica sends AcquirePerSec ownership transactions a
	// second, and adopts a tenant (opens its file, reconciles, reads its
	// inbox) in AdoptTime, AdoptParallel at a time.
	AcquirePerSec float64
	AdoptTime     time.Duration
	AdoptParallel int
	// Hold is how long a replica keeps a request of a tenant nobody owns
	// (or whose owner is handing it over) before it refuses it (503);
	// the platform then retries after Retries[0], Retries[1], ... (Slack:
	// at once, after a minute, after five).
	Hold    time.Duration
	Retries []time.Duration
	// LBDetect is how long the load balancer keeps sending to a replica
	// that died or failed its readiness.
	LBDetect time.Duration
	Faults   []Fault
}

// FaultKind is what happens to a replica.
type FaultKind string

const (
	Kill      FaultKind = "kill"      // the replica dies (its lease expires after TTL)
	Partition FaultKind = "partition" // it cannot reach the coordination service; clients still reach it
	Heal      FaultKind = "heal"      // the partition ends
	Pause     FaultKind = "pause"     // it stalls for For (a GC or VM pause) in the middle of a write
	Join      FaultKind = "join"      // a new replica joins
	Leave     FaultKind = "leave"     // the replica hands its tenants over and stops (a rolling update)
)

// Fault is one event of the scenario.
type Fault struct {
	At      time.Duration
	Kind    FaultKind
	Replica int           // its index (Join: ignored, the next index)
	For     time.Duration // Pause: how long
}

// DefaultConfig is a 20,000-tenant MSP on 5 replicas, one killed at 60 s,
// one joining at 120 s.
func DefaultConfig() Config {
	return Config{
		Tenants: 20000, Replicas: 5, Seed: 1, Duration: 200 * time.Second,
		MedianSeats: 25, SeatSigma: 0.9, MaxSeats: 5000, PerSeatHour: 0.12, TrafficStart: 10 * time.Second,
		ModelCalls: 3, ModelMin: time.Second, ModelMax: 5 * time.Second,
		TTL: 10 * time.Second, KeepAlive: 3 * time.Second, Margin: time.Second,
		WatchDelay: 50 * time.Millisecond, NetDelay: time.Millisecond,
		AcquirePerSec: 2000, AdoptTime: 2 * time.Millisecond, AdoptParallel: 8,
		Hold: 5 * time.Second, Retries: []time.Duration{time.Second, time.Minute, 5 * time.Minute},
		LBDetect: 3 * time.Second,
		Faults:   []Fault{{At: 60 * time.Second, Kind: Kill, Replica: 1}, {At: 120 * time.Second, Kind: Join}},
	}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setI(&c.Tenants, d.Tenants)
	setI(&c.Replicas, d.Replicas)
	setI(&c.MaxSeats, d.MaxSeats)
	setI(&c.ModelCalls, d.ModelCalls)
	setI(&c.AdoptParallel, d.AdoptParallel)
	setD(&c.Duration, d.Duration)
	setD(&c.TrafficStart, d.TrafficStart)
	setD(&c.ModelMin, d.ModelMin)
	setD(&c.ModelMax, d.ModelMax)
	setD(&c.TTL, d.TTL)
	setD(&c.KeepAlive, d.KeepAlive)
	setD(&c.Margin, d.Margin)
	setD(&c.WatchDelay, d.WatchDelay)
	setD(&c.NetDelay, d.NetDelay)
	setD(&c.AdoptTime, d.AdoptTime)
	setD(&c.Hold, d.Hold)
	setD(&c.LBDetect, d.LBDetect)
	setF(&c.MedianSeats, d.MedianSeats)
	setF(&c.SeatSigma, d.SeatSigma)
	setF(&c.PerSeatHour, d.PerSeatHour)
	setF(&c.AcquirePerSec, d.AcquirePerSec)
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Retries == nil {
		c.Retries = d.Retries
	}
}

// Phase is what one fault cost.
type Phase struct {
	Fault Fault
	Who   string // the replica
	// TenantsMoved changed owner because of it (a tenant handed back
	// later, after a heal, counts once); Recover is the time from the
	// fault until each of them had an owner again (p50 and max).
	TenantsMoved        int
	RecoverP50, Recover time.Duration
	// GapMax is the longest time one of them had no owner.
	GapMax time.Duration
	// Requests that arrived from the fault until all were owned again:
	// Delayed (held or retried by the platform, then done), Refused
	// attempts (a 503 or a dead replica's connection; the platform
	// retried), Interrupted (running on the replica when it failed: the
	// requester is told, nothing is run again).
	Delayed, Refused, Interrupted int
}

// Result is what the simulation measured.
type Result struct {
	Config           Config
	Seats            int
	SeatsP50         int
	SeatsMax         int
	RequestsPerSec   float64 // offered, all tenants
	Requests         int     // arrived
	Done             int
	Interrupted      int // told "interrupted", not run again
	Failed           int // refused until the platform gave up
	Pending          int // still queued or running at the end
	Forwarded        int // requests a non-owner passed to the owner
	Refused          int // attempts refused (503 or dead replica), retried by the platform
	LatencyP50       time.Duration
	LatencyP99       time.Duration
	PeakInFlight     int
	Phases           []Phase
	TenantsPerMember map[string]int // at the end
	SeatsPerMember   map[string]int
	ServedPerMember  map[string]int // requests done by each replica
	// Invariants: all must be 0.
	DoubleOwner    int // a replica took a tenant another replica still validly owned
	StaleAccepted  int // a write with an older fencing token was accepted
	ProcessedTwice int // a request started twice
	// FencedWrites are stale writes the tenant file refused (a paused
	// replica writing after losing its lease).
	FencedWrites int
	CoordOps     int64
	Unowned      int // tenants without an owner at the end
}

// Balance is max/mean of m.
func Balance(m map[string]int) (maxv int, mean float64) {
	if len(m) == 0 {
		return 0, 0
	}
	sum := 0
	for _, v := range m {
		sum += v
		maxv = max(maxv, v)
	}
	return maxv, float64(sum) / float64(len(m))
}

// --- the simulation ---

type event struct {
	at  time.Duration
	seq int64
	r   *replica // nil: not a replica's (deferred while it is paused)
	fn  func()
}

type events []*event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].at != e[j].at {
		return e[i].at < e[j].at
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(*event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

type reqState int

const (
	reqNew reqState = iota
	reqAccepted
	reqStarted
	reqDone
	reqInterrupted
	reqFailed
)

type request struct {
	id, tenant int
	arrived    time.Duration
	state      reqState
	starts     int
	delayed    bool
	phase      int // index of the phase it arrived in, -1 none
}

// tenantFile is what the fence protects: the tenant's bbolt file, which
// records the highest fencing token (ownership create revision) that wrote
// it and refuses a lower one.
type tenantFile struct {
	token  int64
	writer string
	inbox  map[int]*request // accepted, not finished
}

type replica struct {
	id          string
	alive       bool
	partitioned bool
	pausedUntil time.Duration
	lease       LeaseID
	deadline    time.Duration // stops writing at; renewed by keep-alives
	owned       map[int]int64 // tenant: fencing token
	releasing   map[int]bool
	view        map[int]string // owner by tenant, from the watch
	members     map[string]bool
	running     map[int]int
	acquireQ    []int
	queued      map[int]bool
	acquiring   bool
	adoptFree   []time.Duration
	lbIn        bool
	reconcileAt time.Duration // a reconcile is scheduled then (-1 none)
	leaving     bool
	missed      bool // watch events lost while partitioned
	abandoned   bool // stepped down: its lease is to be revoked, not renewed
}

// Sim is one run.
type Sim struct {
	cfg      Config
	now      time.Duration
	seq      int64
	q        events
	rnd      *rand.Rand
	coord    *Coord
	reps     []*replica
	seats    []int
	cum      []float64 // cumulative request weight, for drawing a tenant
	files    []tenantFile
	reqs     []*request
	owners   map[string][]string // assignment cache: members signature -> owner by tenant
	res      Result
	lat      []time.Duration
	inflight int
	// ownership gaps: since when a tenant has had no writer
	unowned map[int]time.Duration
	gaps    [][]time.Duration // by phase
	moved   []map[int]bool    // by phase
	back    []map[int]bool    // by phase: owned again since
}

// Run simulates cfg.
func Run(cfg Config) Result {
	cfg.defaults()
	s := &Sim{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, 0x20)), owners: map[string][]string{}, unowned: map[int]time.Duration{}}
	s.coord = NewCoord(func() time.Duration { return s.now })
	s.coord.Watch(s.deliver)
	s.res.Config = cfg
	s.res.TenantsPerMember, s.res.SeatsPerMember, s.res.ServedPerMember = map[string]int{}, map[string]int{}, map[string]int{}
	s.gaps = make([][]time.Duration, len(cfg.Faults))
	s.moved = make([]map[int]bool, len(cfg.Faults))
	s.back = make([]map[int]bool, len(cfg.Faults))
	for i := range s.moved {
		s.moved[i], s.back[i] = map[int]bool{}, map[int]bool{}
	}
	s.res.Phases = make([]Phase, len(cfg.Faults))
	for i, f := range cfg.Faults {
		s.res.Phases[i].Fault = f
	}

	// Tenants and their seats.
	s.seats = make([]int, cfg.Tenants)
	s.files = make([]tenantFile, cfg.Tenants)
	s.cum = make([]float64, cfg.Tenants)
	total := 0.0
	for i := range s.seats {
		n := int(math.Round(cfg.MedianSeats * math.Exp(cfg.SeatSigma*s.rnd.NormFloat64())))
		n = min(max(n, 3), cfg.MaxSeats)
		s.seats[i] = n
		s.res.Seats += n
		total += float64(n)
		s.cum[i] = total
		s.files[i].inbox = map[int]*request{}
	}
	sorted := slices.Clone(s.seats)
	slices.Sort(sorted)
	s.res.SeatsP50, s.res.SeatsMax = sorted[len(sorted)/2], sorted[len(sorted)-1]
	rate := total * cfg.PerSeatHour / 3600
	s.res.RequestsPerSec = rate

	for range cfg.Replicas {
		s.addReplica()
	}
	for _, f := range cfg.Faults {
		s.at(f.At, nil, func() { s.fault(f) })
	}
	// etcd's lessor revokes expired leases on its own timer (every 500 ms).
	var tick func()
	tick = func() {
		s.coord.Expire()
		s.after(500*time.Millisecond, nil, tick)
	}
	s.at(0, nil, tick)
	// Arrivals: a Poisson process over all tenants, each drawn by weight.
	if rate > 0 {
		var arrive func()
		arrive = func() {
			t := sort.SearchFloat64s(s.cum, s.rnd.Float64()*total)
			r := &request{id: len(s.reqs), tenant: min(t, cfg.Tenants-1), arrived: s.now, phase: s.phaseAt(s.now)}
			s.reqs = append(s.reqs, r)
			s.send(r, 0)
			s.after(time.Duration(s.rnd.ExpFloat64()/rate*float64(time.Second)), nil, arrive)
		}
		s.at(cfg.TrafficStart, nil, arrive)
	}
	for len(s.q) > 0 {
		e := heap.Pop(&s.q).(*event)
		if e.at > cfg.Duration {
			break
		}
		s.now = e.at
		if e.r != nil {
			if !e.r.alive {
				continue
			}
			if e.r.pausedUntil > s.now { // stalled: runs when the pause ends
				e.at = e.r.pausedUntil
				heap.Push(&s.q, e)
				continue
			}
		}
		e.fn()
	}
	s.finish()
	return s.res
}

func (s *Sim) at(t time.Duration, r *replica, fn func()) {
	s.seq++
	heap.Push(&s.q, &event{at: max(t, s.now), seq: s.seq, r: r, fn: fn})
}

func (s *Sim) after(d time.Duration, r *replica, fn func()) { s.at(s.now+d, r, fn) }

// phaseAt is the index of the last fault at or before t, -1 before any.
func (s *Sim) phaseAt(t time.Duration) int {
	p := -1
	for i, f := range s.cfg.Faults {
		if f.At <= t {
			p = i
		}
	}
	return p
}

func ownerKey(t int) string { return fmt.Sprintf("/tierzero/owners/t%05d", t) }
func memberKey(id string) string {
	return "/tierzero/members/" + id
}
func tenantOf(key string) int {
	var t int
	fmt.Sscanf(strings.TrimPrefix(key, "/tierzero/owners/t"), "%d", &t)
	return t
}

// deliver hands a watch event to every replica that can hear it.
func (s *Sim) deliver(ev Event) {
	for _, r := range s.reps {
		if !r.alive {
			continue
		}
		if r.partitioned {
			r.missed = true // resynced at the next keep-alive that gets through
			continue
		}
		s.after(s.cfg.WatchDelay, r, func() { s.onEvent(r, ev) })
	}
}

func (s *Sim) onEvent(r *replica, ev Event) {
	switch {
	case strings.HasPrefix(ev.KV.Key, "/tierzero/members/"):
		id := strings.TrimPrefix(ev.KV.Key, "/tierzero/members/")
		r.members[id] = ev.Kind == EventPut
		if ev.Kind == EventDelete {
			delete(r.members, id)
		}
		s.scheduleReconcile(r)
	case strings.HasPrefix(ev.KV.Key, "/tierzero/owners/"):
		t := tenantOf(ev.KV.Key)
		if ev.Kind == EventPut {
			r.view[t] = ev.KV.Value
		} else {
			delete(r.view, t)
			s.scheduleReconcile(r)
		}
	}
}

func (s *Sim) addReplica() *replica {
	r := &replica{id: fmt.Sprintf("r%d", len(s.reps)), alive: true, owned: map[int]int64{}, releasing: map[int]bool{},
		view: map[int]string{}, members: map[string]bool{}, running: map[int]int{}, queued: map[int]bool{},
		adoptFree: make([]time.Duration, s.cfg.AdoptParallel), reconcileAt: -1}
	s.reps = append(s.reps, r)
	s.join(r)
	s.keepAlive(r)
	s.periodic(r)
	s.lbSet(r, true)
	return r
}

// join takes a lease, reads the members and owners, and announces itself.
func (s *Sim) join(r *replica) {
	r.lease = s.coord.Grant(s.cfg.TTL)
	r.deadline = s.now + s.cfg.TTL - s.cfg.Margin
	r.missed, r.abandoned = false, false
	s.resync(r)
	if !r.leaving {
		s.coord.CreateIfAbsent(memberKey(r.id), r.id, r.lease)
		r.members[r.id] = true
	}
	s.at(r.deadline, r, func() { s.checkDeadline(r) })
	s.scheduleReconcile(r)
}

// resync reads the members and owners afresh.
func (s *Sim) resync(r *replica) {
	clear(r.members)
	clear(r.view)
	for _, kv := range s.coord.Prefix("/tierzero/members/") {
		r.members[kv.Value] = true
	}
	for _, kv := range s.coord.Prefix("/tierzero/owners/") {
		r.view[tenantOf(kv.Key)] = kv.Value
	}
	s.scheduleReconcile(r)
}

// periodic reconciles every few seconds, whatever the watch said.
func (s *Sim) periodic(r *replica) {
	s.after(5*time.Second, r, func() {
		s.periodic(r)
		s.scheduleReconcile(r)
	})
}

func (s *Sim) keepAlive(r *replica) {
	s.after(s.cfg.KeepAlive, r, func() {
		s.keepAlive(r)
		if r.partitioned {
			return // the keep-alive never arrives
		}
		sent := s.now
		if r.abandoned {
			// It stepped down while its lease may still have been alive
			// at the service: its ownership keys would outlive what it
			// serves. Revoke the lease (deleting them) and start afresh.
			s.coord.Revoke(r.lease)
			s.join(r)
			return
		}
		if _, err := s.coord.KeepAlive(r.lease); err != nil {
			// The lease is gone (expired while partitioned or paused):
			// whatever it owned is someone else's now.
			s.stepDown(r)
			s.join(r)
			return
		}
		r.deadline = sent + s.cfg.TTL - s.cfg.Margin
		s.at(r.deadline, r, func() { s.checkDeadline(r) })
		s.lbSet(r, true)
		if r.missed { // an etcd watch resumes from its revision: read what changed
			r.missed = false
			s.resync(r)
		}
	})
}

// checkDeadline steps down when no keep-alive renewed the lease in time.
func (s *Sim) checkDeadline(r *replica) {
	if s.now >= r.deadline && len(r.owned) > 0 {
		s.stepDown(r)
	}
	if s.now >= r.deadline {
		s.lbSet(r, false) // readiness fails
	}
}

// stepDown stops writing every tenant (closes their files) at once, and
// gives up the lease.
func (s *Sim) stepDown(r *replica) {
	r.abandoned = true
	for t, tok := range r.owned {
		if s.files[t].token == tok { // it was the tenant's writer until now
			s.markUnowned(t)
		}
	}
	clear(r.owned)
	clear(r.releasing)
	r.acquireQ, r.queued = nil, map[int]bool{}
}

func (s *Sim) markUnowned(t int) {
	if _, ok := s.unowned[t]; !ok {
		s.unowned[t] = s.now
	}
	if p := s.phaseAt(s.now); p >= 0 {
		s.moved[p][t] = true
	}
}

// lbSet takes a replica in or out of the load balancer, after LBDetect
// when taking it out (health checks).
func (s *Sim) lbSet(r *replica, in bool) {
	if in {
		r.lbIn = r.alive
		return
	}
	s.at(s.now+s.cfg.LBDetect, nil, func() {
		if !r.alive || s.now >= r.deadline {
			r.lbIn = false
		}
	})
}

// valid: r may write tenant t now.
func (s *Sim) valid(r *replica, t int) bool {
	_, ok := r.owned[t]
	return ok && r.alive && s.now < r.deadline
}

func (s *Sim) membersOf(r *replica) []string {
	m := make([]string, 0, len(r.members))
	for id := range r.members {
		m = append(m, id)
	}
	slices.Sort(m)
	return m
}

// assignment is the rendezvous owner of every tenant among members.
func (s *Sim) assignment(members []string) []string {
	sig := strings.Join(members, ",")
	if a, ok := s.owners[sig]; ok {
		return a
	}
	a := make([]string, s.cfg.Tenants)
	for t := range a {
		a[t] = Owner(fmt.Sprintf("t%05d", t), members, nil)
	}
	s.owners[sig] = a
	return a
}

func (s *Sim) scheduleReconcile(r *replica) {
	if r.reconcileAt >= 0 {
		return
	}
	r.reconcileAt = s.now + 100*time.Millisecond
	s.at(r.reconcileAt, r, func() {
		r.reconcileAt = -1
		s.reconcile(r)
	})
}

// reconcile acquires the tenants rendezvous gives r that nobody owns, and
// hands over those it gives another member.
func (s *Sim) reconcile(r *replica) {
	if r.partitioned || s.now >= r.deadline {
		return
	}
	a := s.assignment(s.membersOf(r))
	for t, want := range a {
		_, mine := r.owned[t]
		switch {
		case want == r.id && !r.leaving && !mine && r.view[t] == "" && !r.queued[t]:
			r.queued[t] = true
			r.acquireQ = append(r.acquireQ, t)
		case mine && (want != r.id || r.leaving) && !r.releasing[t]:
			r.releasing[t] = true
			s.release(r, t)
		}
	}
	s.acquireNext(r)
}

// release hands a tenant over once it has no request running: its file is
// closed, then its ownership key deleted (only if still ours).
func (s *Sim) release(r *replica, t int) {
	if !r.releasing[t] {
		return
	}
	if r.running[t] > 0 {
		s.after(100*time.Millisecond, r, func() { s.release(r, t) })
		return
	}
	tok := r.owned[t]
	delete(r.owned, t)
	delete(r.releasing, t)
	s.markUnowned(t)
	s.coord.DeleteIfCreated(ownerKey(t), tok)
	if r.leaving && len(r.owned) == 0 && len(r.releasing) == 0 {
		s.coord.Revoke(r.lease)
		r.alive = false
		r.lbIn = false
	}
}

// acquireNext sends the next ownership transaction, AcquirePerSec a second.
func (s *Sim) acquireNext(r *replica) {
	if r.acquiring || len(r.acquireQ) == 0 {
		return
	}
	r.acquiring = true
	s.after(time.Duration(float64(time.Second)/s.cfg.AcquirePerSec), r, func() {
		r.acquiring = false
		if len(r.acquireQ) == 0 {
			return
		}
		t := r.acquireQ[0]
		r.acquireQ = r.acquireQ[1:]
		delete(r.queued, t)
		if !r.partitioned && s.now < r.deadline {
			kv, ok, err := s.coord.CreateIfAbsent(ownerKey(t), r.id, r.lease)
			switch {
			case err != nil:
				s.stepDown(r)
				s.join(r)
				return
			case ok:
				s.adopt(r, t, kv.CreateRev)
			}
		}
		s.acquireNext(r)
	})
}

// adopt opens the tenant's file under the new token: the inbox an earlier
// owner left is settled (started: told "interrupted"; accepted: run).
func (s *Sim) adopt(r *replica, t int, tok int64) {
	k := 0
	for i, f := range r.adoptFree {
		if f < r.adoptFree[k] {
			k = i
		}
	}
	done := max(s.now, r.adoptFree[k]) + s.cfg.AdoptTime
	r.adoptFree[k] = done
	s.at(done, r, func() {
		if kv, ok := s.coord.Get(ownerKey(t)); !ok || kv.CreateRev != tok || s.now >= r.deadline {
			return // lost it meanwhile
		}
		for _, o := range s.reps {
			if o != r && s.valid(o, t) {
				s.res.DoubleOwner++
			}
		}
		r.owned[t] = tok
		f := &s.files[t]
		if !s.write(r, t) {
			delete(r.owned, t)
			return
		}
		if since, ok := s.unowned[t]; ok {
			delete(s.unowned, t)
			if p := s.phaseAt(since); p >= 0 && s.moved[p][t] {
				if !s.back[p][t] { // the first owner after the fault
					s.back[p][t] = true
					s.gaps[p] = append(s.gaps[p], s.now-s.cfg.Faults[p].At)
				}
				s.res.Phases[p].GapMax = max(s.res.Phases[p].GapMax, s.now-since)
			}
		}
		ids := make([]int, 0, len(f.inbox))
		for id := range f.inbox {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			q := f.inbox[id]
			if q.state == reqStarted {
				q.state = reqInterrupted
				delete(f.inbox, id)
				s.res.Interrupted++
				s.inflight--
				if p := s.phaseAt(s.now); p >= 0 {
					s.res.Phases[p].Interrupted++
				}
				continue
			}
			s.start(r, q)
		}
	})
}

// write is one transaction on the tenant's file under r's token. The file
// refuses a token older than the newest it has seen: the fence.
func (s *Sim) write(r *replica, t int) bool {
	f := &s.files[t]
	tok := r.owned[t]
	if tok < f.token {
		s.res.FencedWrites++
		return false
	}
	if tok == f.token && f.writer != r.id && f.writer != "" {
		s.res.StaleAccepted++ // two writers with one token: cannot happen
	}
	f.token, f.writer = tok, r.id
	return true
}

// send is an attempt of the platform to deliver r (its attempt-th).
func (s *Sim) send(q *request, attempt int) {
	var in []*replica
	for _, r := range s.reps {
		if r.lbIn {
			in = append(in, r)
		}
	}
	if len(in) == 0 {
		s.refuse(q, attempt)
		return
	}
	r := in[s.rnd.IntN(len(in))]
	if !r.alive { // the load balancer has not noticed yet: connection refused
		s.refuse(q, attempt)
		return
	}
	s.receive(r, q, attempt, s.now)
}

func (s *Sim) refuse(q *request, attempt int) {
	s.res.Refused++
	q.delayed = true
	if q.phase >= 0 {
		s.res.Phases[q.phase].Refused++
	}
	if attempt >= len(s.cfg.Retries) {
		q.state = reqFailed
		s.res.Failed++
		return
	}
	s.after(s.cfg.Retries[attempt], nil, func() { s.send(q, attempt+1) })
}

// receive: the replica that got the webhook (verified it) takes it if it
// owns the tenant, forwards it to the owner it knows, or holds it while
// nobody does, then refuses it (503: the platform retries). A replica that
// dies while it holds a request drops the connection: the platform retries.
func (s *Sim) receive(r *replica, q *request, attempt int, since time.Duration) {
	s.at(s.now, nil, func() {
		switch {
		case q.state != reqNew:
			return // a duplicate delivery: deduped by the owner's file
		case !r.alive:
			s.refuse(q, attempt)
			return
		case r.pausedUntil > s.now:
			s.at(r.pausedUntil, nil, func() { s.receive(r, q, attempt, since) })
			return
		}
		t := q.tenant
		if s.valid(r, t) && !r.releasing[t] {
			s.accept(r, q)
			return
		}
		if o := s.byID(r.view[t]); o != nil && o != r {
			s.res.Forwarded++
			s.after(s.cfg.NetDelay, nil, func() {
				if q.state != reqNew {
					return
				}
				if o.alive && o.pausedUntil <= s.now && s.valid(o, t) && !o.releasing[t] {
					s.accept(o, q)
					return
				}
				s.hold(r, q, attempt, since) // not the owner (any more), or gone: the receiver holds it
			})
			return
		}
		s.hold(r, q, attempt, since)
	})
}

func (s *Sim) hold(r *replica, q *request, attempt int, since time.Duration) {
	if s.now-since >= s.cfg.Hold || !r.alive {
		s.refuse(q, attempt)
		return
	}
	q.delayed = true
	s.after(250*time.Millisecond, nil, func() { s.receive(r, q, attempt, since) })
}

func (s *Sim) byID(id string) *replica {
	for _, r := range s.reps {
		if r.id == id {
			return r
		}
	}
	return nil
}

// accept is the owner's Submit: dedupe and the durable inbox, then run.
func (s *Sim) accept(r *replica, q *request) {
	if !s.write(r, q.tenant) {
		return
	}
	q.state = reqAccepted
	s.files[q.tenant].inbox[q.id] = q
	s.inflight++
	s.res.PeakInFlight = max(s.res.PeakInFlight, s.inflight)
	s.start(r, q)
}

// start marks the item started in the file, then runs the model calls.
func (s *Sim) start(r *replica, q *request) {
	t := q.tenant
	if !s.valid(r, t) || !s.write(r, t) {
		return // stays in the inbox for the next owner
	}
	q.state = reqStarted
	q.starts++
	if q.starts > 1 {
		s.res.ProcessedTwice++
	}
	r.running[t]++
	d := time.Duration(0)
	for range s.cfg.ModelCalls {
		d += s.cfg.ModelMin + time.Duration(s.rnd.Int64N(int64(s.cfg.ModelMax-s.cfg.ModelMin)+1))
	}
	s.after(d, r, func() {
		r.running[t]--
		if q.state != reqStarted || !s.valid(r, t) || !s.write(r, t) {
			return // lost the tenant while running: the next owner says "interrupted"
		}
		q.state = reqDone
		delete(s.files[t].inbox, q.id)
		s.inflight--
		s.res.Done++
		s.res.ServedPerMember[r.id]++
		s.lat = append(s.lat, s.now-q.arrived)
		if q.delayed && q.phase >= 0 {
			s.res.Phases[q.phase].Delayed++
		}
	})
}

func (s *Sim) fault(f Fault) {
	var r *replica
	if f.Kind != Join {
		if f.Replica >= len(s.reps) {
			return
		}
		r = s.reps[f.Replica]
	}
	defer func() {
		if r != nil {
			s.res.Phases[s.phaseAt(s.now)].Who = r.id
		}
	}()
	switch f.Kind {
	case Kill:
		for t := range r.owned {
			s.markUnowned(t)
		}
		r.alive = false
		s.lbSet(r, false)
	case Partition:
		r.partitioned = true
	case Heal:
		r.partitioned = false
	case Join:
		r = s.addReplica()
	case Leave:
		r.leaving = true
		s.coord.DeleteIfCreated(memberKey(r.id), mustCreate(s.coord, memberKey(r.id)))
		s.scheduleReconcile(r)
	case Pause:
		// The stall catches the replica between a write's check and the
		// write: it writes when it wakes, with the token it had.
		var stale []int
		for t := range r.owned {
			stale = append(stale, t)
		}
		slices.Sort(stale)
		if len(stale) > 3 {
			stale = stale[:3]
		}
		toks := map[int]int64{}
		for _, t := range stale {
			toks[t] = r.owned[t]
		}
		for t := range r.owned {
			s.markUnowned(t) // it serves nothing while it stalls
		}
		r.pausedUntil = s.now + f.For
		s.at(r.pausedUntil, nil, func() {
			for _, t := range stale {
				saved := r.owned[t]
				r.owned[t] = toks[t]
				s.write(r, t) // no check: the fence alone must refuse it
				if saved == 0 {
					delete(r.owned, t)
				} else {
					r.owned[t] = saved
				}
			}
		})
	}
}

func mustCreate(c *Coord, key string) int64 {
	kv, _ := c.Get(key)
	return kv.CreateRev
}

func (s *Sim) finish() {
	s.res.Requests = len(s.reqs)
	for _, q := range s.reqs {
		if q.state == reqAccepted || q.state == reqStarted || q.state == reqNew {
			s.res.Pending++
		}
	}
	slices.Sort(s.lat)
	if n := len(s.lat); n > 0 {
		s.res.LatencyP50, s.res.LatencyP99 = s.lat[n/2], s.lat[n*99/100]
	}
	for i := range s.res.Phases {
		g := s.gaps[i]
		slices.Sort(g)
		s.res.Phases[i].TenantsMoved = len(s.moved[i])
		if len(g) > 0 {
			s.res.Phases[i].RecoverP50, s.res.Phases[i].Recover = g[len(g)/2], g[len(g)-1]
		}
	}
	owned := map[int]bool{}
	for _, r := range s.reps {
		if !r.alive {
			continue
		}
		s.res.TenantsPerMember[r.id] += 0
		s.res.SeatsPerMember[r.id] += 0
		for t := range r.owned {
			if s.valid(r, t) {
				owned[t] = true
				s.res.TenantsPerMember[r.id]++
				s.res.SeatsPerMember[r.id] += s.seats[t]
			}
		}
	}
	s.res.Unowned = s.cfg.Tenants - len(owned)
	s.res.CoordOps = s.coord.Ops
}
