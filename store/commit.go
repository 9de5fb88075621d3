package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// Every write to a tenant's file goes through commit: concurrent writers of
// one file are grouped into one bbolt transaction (group commit), whose
// audit records are signed and whose head is written once. bbolt syncs a
// transaction twice (its pages, then its meta page) and the head file once
// more, so a commit costs three syncs however many writes it carries.
//
// Within a tierzero.Unit (a request's step), deferrable writes (audit
// records, a conversation, an intent's outcome) are queued and committed
// with the step's next write that must be durable before the caller acts
// (barrier writes: an intent, an approval, an inbound or outbound message),
// or when the unit is committed.

// txOp is one write in a transaction of a tenant's file; it may append
// records to the audit chain through c.
type txOp func(tx *bolt.Tx, c *chain) error

// chain is a tenant's audit chain as the transaction extends it.
type chain struct {
	kr     *keyring
	head   head // the end of the chain in this transaction
	headed bool // the head was checked against the chain: records may be appended
	n      int  // records appended in this transaction
	// kinds of the records appended, for the log
	kinds []tierzero.AuditKind
	last  []byte // the stored value of the last record appended
}

// seal signs the last record the transaction appended: its signature
// covers those before it, whose hashes it chains (they are left unsigned),
// so a transaction makes one signature however many records it holds.
func (c *chain) seal(tx *bolt.Tx) error {
	if c.n == 0 {
		return nil
	}
	return signRecord(tx, c.kr, c.head, c.last)
}

// append adds e to the chain in tx.
func (c *chain) append(tx *bolt.Tx, e *auditEntry) error {
	switch {
	case c.kr == nil:
		return errors.New("audit record written without its tenant's keys")
	case c.kr.sign == nil:
		return fmt.Errorf("audit chain of tenant %s is not signed", c.kr.tenant)
	case !c.headed:
		return fmt.Errorf("audit record of tenant %s written in a commit that did not check its head", c.kr.tenant)
	}
	e.ev.Tenant = c.kr.tenant
	h, val, err := appendRecord(tx, c.kr, c.head, e, false)
	if err != nil {
		return err
	}
	c.last = val
	if c.n == 0 {
		// Until its head is written, a crash may leave this
		// transaction's records without one (lastTxFrom).
		b, err := tx.CreateBucketIfNotExists(auditKeyedBucket)
		if err != nil {
			return err
		}
		if err := b.Put(lastTxKey, binary.BigEndian.AppendUint64(nil, h.seq)); err != nil {
			return err
		}
	}
	if err := countExecuted(tx, c.kr, e.ev); err != nil {
		return err
	}
	c.head, c.n = h, c.n+1
	c.kinds = append(c.kinds, e.ev.Kind)
	return nil
}

// write is a write handed to commit: its transaction ops, whether they may
// append to the audit chain, and its result once committed.
type write struct {
	kr    *keyring // the tenant's keys (nil when ops need none)
	unit  bool     // made within a unit of work: its head may be written in the background
	ops   []txOp
	audit bool
	done  chan struct{} // closed once committed or failed
	turn  chan struct{} // closed when this writer is to lead the next commit
	err   error
}

// Stats counts what the store made durable since it was opened.
type Stats struct {
	Commits    uint64 // bbolt write transactions committed (two syncs each)
	HeadWrites uint64 // audit heads written (one sync each)
	Writes     uint64 // writes carried by those commits (group commit)
}

// Syncs is the number of fsync and fdatasync calls the commits made.
func (s Stats) Syncs() uint64 { return 2*s.Commits + s.HeadWrites }

// Stats returns the store's counters.
func (db *DB) Stats() Stats {
	return Stats{Commits: db.commits.Load(), HeadWrites: db.headWrites.Load(), Writes: db.writes.Load()}
}

type counters struct {
	commits, headWrites, writes atomic.Uint64
}

// commit runs ops in one write transaction of f, grouped with the other
// writes waiting for f, and returns once they are durable (or failed).
// audit says whether ops may append to the audit chain.
func (db *DB) commit(f *tenantFile, kr *keyring, audit bool, ops ...txOp) error {
	return db.commitWrite(f, &write{kr: kr, ops: ops, audit: audit})
}

func (db *DB) commitWrite(f *tenantFile, w *write) error {
	if w.audit && w.kr == nil {
		return fmt.Errorf("audit records of tenant %s written without its keys", f.id)
	}
	w.done, w.turn = make(chan struct{}), make(chan struct{})
	f.commitMu.Lock()
	f.queue = append(f.queue, w)
	lead := !f.leading
	f.leading = true
	f.commitMu.Unlock()
	if !lead {
		select {
		case <-w.done:
			return w.err
		case <-w.turn: // the leader left: this writer commits what waits
		}
	}
	f.commitMu.Lock()
	batch := f.queue
	f.queue = nil
	f.commitMu.Unlock()
	db.commitBatch(f, batch)
	f.commitMu.Lock()
	if len(f.queue) > 0 {
		close(f.queue[0].turn) // hand over: the writers that came meanwhile
	} else {
		f.leading = false
	}
	f.commitMu.Unlock()
	<-w.done
	return w.err
}

// commitBatch commits batch in one transaction. When that fails, each
// write is tried on its own, so that one failing write fails only itself.
func (db *DB) commitBatch(f *tenantFile, batch []*write) {
	f.appendMu.Lock()
	defer f.appendMu.Unlock()
	f.settleHead(db.log)
	var kr *keyring // the chain's keys: any audit writer's (one keyring per file)
	for _, w := range batch {
		if w.audit && kr == nil {
			kr = w.kr
		}
	}
	if kr != nil {
		if err := db.openHeadLocked(f, kr); err != nil {
			// Writes that may append fail; the others go on.
			var rest []*write
			for _, w := range batch {
				if w.audit {
					w.err = err
					close(w.done)
				} else {
					rest = append(rest, w)
				}
			}
			if batch = rest; len(batch) == 0 {
				return
			}
		}
	}
	err := db.commitTx(f, kr, batch)
	if err == nil || len(batch) == 1 && len(batch[0].ops) == 1 {
		for _, w := range batch {
			w.err = err
			close(w.done)
		}
		return
	}
	// Alone, each write (and each op of it) gets its own error.
	for _, w := range batch {
		if w.err = db.commitTx(f, kr, []*write{w}); w.err != nil && len(w.ops) > 1 {
			var errs []error
			for _, op := range w.ops {
				if err := db.commitTx(f, kr, []*write{{kr: w.kr, ops: []txOp{op}, audit: w.audit}}); err != nil {
					errs = append(errs, err)
				}
			}
			w.err = errors.Join(errs...)
		}
		close(w.done)
	}
}

// commitTx runs the ops of batch in one transaction and records the new
// head of the chain. f.appendMu is held.
func (db *DB) commitTx(f *tenantFile, kr *keyring, batch []*write) error {
	// The head of the commit before (the one before this, when a batch
	// is retried write by write) is written first: at most one
	// transaction ever lacks its head.
	f.settleHead(db.log)
	c := &chain{kr: kr}
	err := f.update(func(tx *bolt.Tx) error {
		c.head, c.n, c.kinds, c.last = head{}, 0, c.kinds[:0], nil
		if c.headed = f.head != nil; c.headed {
			c.head = f.head.cur
		}
		for _, w := range batch {
			for _, op := range w.ops {
				if err := op(tx, c); err != nil {
					return err
				}
			}
		}
		return c.seal(tx)
	})
	if err != nil {
		return err
	}
	db.commits.Add(1)
	db.writes.Add(uint64(len(batch)))
	if c.n == 0 {
		return nil
	}
	db.log.Debug("audit committed", "tenant", f.id, "seq", c.head.seq, "records", c.n, "kinds", c.kinds)
	background := true
	for _, w := range batch {
		background = background && w.unit
	}
	if !background {
		if err := f.head.write(c.head); err != nil {
			return fmt.Errorf("record %d committed but its head was not recorded: %w", c.head.seq, err)
		}
		db.headWrites.Add(1)
		return nil
	}
	// Within a request's unit of work the records are durable now and the
	// caller may act; the head is written meanwhile (the next commit of
	// the file waits for it), so the request waits for the two syncs of
	// the commit, not a third. A crash before it lands leaves this one
	// transaction without its head, as a crash between the two writes
	// always could.
	hf, h, done := f.head, c.head, make(chan struct{})
	f.headDone = done
	go func() {
		defer close(done)
		if f.headErr = hf.write(h); f.headErr == nil {
			db.headWrites.Add(1)
		}
	}()
	return nil
}

// settleHead waits for the head write of the last commit, if it is still
// being made. When it failed, the head file is closed, so that the next
// append opens it again and writes the missing head (openHeadLocked).
// f.appendMu is held.
func (f *tenantFile) settleHead(log *slog.Logger) {
	if f.headDone == nil {
		return
	}
	<-f.headDone
	f.headDone = nil
	if err := f.headErr; err != nil {
		f.headErr = nil
		if log != nil {
			log.Error("audit head not recorded; it is written again by the next append", "tenant", f.id, "err", err)
		}
		if f.head != nil {
			f.head.close()
			f.head = nil
		}
	}
}

// writeMode says when a write must be durable.
type writeMode int

const (
	// writeNow: committed before the call returns (a unit's queue for
	// the tenant goes with it).
	writeNow writeMode = iota
	// writeDeferred: queued in the context's unit when there is one.
	writeDeferred
)

// write commits op for tenant (its file f, its keyring kr), or queues it in
// ctx's unit when mode is deferred. A write that is committed now carries
// what ctx's unit queued for the tenant, after committing what it queued
// for other tenants.
func (db *DB) write(ctx context.Context, f *tenantFile, kr *keyring, mode writeMode, audit bool, op txOp) error {
	u := tierzero.UnitOf(ctx)
	if u == nil {
		return db.commit(f, kr, audit, op)
	}
	p := u.Part(db, func() tierzero.UnitPart { return &pending{db: db} }).(*pending)
	if mode == writeDeferred {
		p.add(f.id, kr, audit, op)
		return nil
	}
	if err := p.flushOthers(ctx, f.id); err != nil {
		return err
	}
	w := &write{kr: kr, ops: []txOp{op}, audit: audit, unit: true}
	if q := p.take(f.id); q != nil {
		if w.kr == nil {
			w.kr = q.kr
		}
		w.ops, w.audit = append(q.ops, op), audit || q.audit
	}
	return db.commitWrite(f, w)
}

// pending is what a unit queued for this store, per tenant.
type pending struct {
	db      *DB
	mu      sync.Mutex
	order   []tierzero.TenantID
	tenants map[tierzero.TenantID]*queued
}

type queued struct {
	kr    *keyring
	ops   []txOp
	audit bool
	state bool // holds more than audit records: reads must see it
}

func (p *pending) add(tenant tierzero.TenantID, kr *keyring, audit bool, op txOp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tenants == nil {
		p.tenants = map[tierzero.TenantID]*queued{}
	}
	q := p.tenants[tenant]
	if q == nil {
		q = &queued{kr: kr}
		p.tenants[tenant] = q
		p.order = append(p.order, tenant)
	}
	q.ops = append(q.ops, op)
	q.audit = q.audit || audit
	q.state = q.state || !audit
}

// take removes and returns tenant's queue (nil when empty).
func (p *pending) take(tenant tierzero.TenantID) *queued {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.tenants[tenant]
	if q == nil {
		return nil
	}
	delete(p.tenants, tenant)
	for i, t := range p.order {
		if t == tenant {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	return q
}

// has reports whether tenant has queued writes (state: other than audit
// records).
func (p *pending) has(tenant tierzero.TenantID, state bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.tenants[tenant]
	return q != nil && (!state || q.state)
}

// flushTenant commits tenant's queue.
func (p *pending) flushTenant(ctx context.Context, tenant tierzero.TenantID) error {
	q := p.take(tenant)
	if q == nil {
		return nil
	}
	f, err := p.db.acquire(context.WithoutCancel(ctx), tenant, true)
	if err != nil {
		return fmt.Errorf("commit tenant %s: %w", tenant, err)
	}
	defer p.db.release(f)
	if err := p.db.commitWrite(f, &write{kr: q.kr, ops: q.ops, audit: q.audit, unit: true}); err != nil {
		return fmt.Errorf("commit tenant %s: %w", tenant, err)
	}
	return nil
}

// flushOthers commits the queues of the tenants other than tenant.
func (p *pending) flushOthers(ctx context.Context, tenant tierzero.TenantID) error {
	p.mu.Lock()
	var others []tierzero.TenantID
	for _, t := range p.order {
		if t != tenant {
			others = append(others, t)
		}
	}
	p.mu.Unlock()
	var errs []error
	for _, t := range others {
		errs = append(errs, p.flushTenant(ctx, t))
	}
	return errors.Join(errs...)
}

// Flush commits every tenant's queue.
func (p *pending) Flush(ctx context.Context) error {
	return p.flushOthers(ctx, "")
}

// settle commits what ctx's unit queued for tenant before a read of it:
// everything when state is false, else only a queue holding more than
// audit records (which reads of state must see).
func (db *DB) settle(ctx context.Context, tenant tierzero.TenantID, state bool) error {
	u := tierzero.UnitOf(ctx)
	if u == nil {
		return nil
	}
	p := u.Part(db, func() tierzero.UnitPart { return &pending{db: db} }).(*pending)
	if !p.has(tenant, state) {
		return nil
	}
	return p.flushTenant(ctx, tenant)
}
