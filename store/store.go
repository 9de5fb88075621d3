// Package store owns tierzero's persistent state: one bbolt file per tenant
// under <dir>/tenants/<tenant>.db holding that tenant's conversations, its
// signed audit trail, platform delivery ids (dedupe), action intents and
// approvals, every value sealed with the tenant's own data key.
//
// Encryption is envelope encryption: each tenant has random 256-bit data keys
// (AES-256-GCM) kept in its own file, wrapped by the master key; every value
// names the data key that sealed it and is bound to its tenant, bucket and
// record key, so a value moved to another record or tenant fails to open.
// Record keys that derive from message content (conversation ids, delivery and
// intent ids) are HMACs under a per-tenant index key. Tenant ids, audit
// sequence numbers and inbox sequence numbers are stored in clear.
//
// The audit chain (audit.go, verify.go) is hash-linked over the stored
// ciphertext and signed with the tenant's own audit key (Ed25519, wrapped
// by the master key); its head is kept, signed, outside the tenant's file
// (<dir>/heads/), so a cut tail, a forged head and another tenant's file
// copied in place are detected. It verifies with the tenant's verification
// key alone (AuditKey), so an auditor needs no master key. Shred destroys
// a tenant's data keys: its values become unreadable and its chain still
// verifies. Approvals' state is bound to the chain (approval.go), so an
// older copy of an approval put back is refused.
//
// Data about another tenant kept in a tenant's file (an MSP technician's
// conversation and its audit records) is sealed under that tenant's key
// too (conversation.go, audit.go): shredding it destroys that data as well.
//
// The data directory and its subdirectories must not be writable by group
// or others; tenant and head files are never opened through a symlink and
// are created 0600. A damaged tenant file is a *DamagedError naming the
// tenant and the file, for that tenant only (file.go).
//
// Tenant files open lazily and at most Options.MaxOpen stay open; idle ones
// are closed least recently used first, never while a call is using them.
//
// For the desk (package bot), the store keeps each tenant's durable inbox
// (inbox.go; Accept dedupes a delivery and queues it in one transaction), its
// outbox of messages owed (outbox.go; a private note's secret only inside
// the seal) and the channels' conversation references (ref.go).
package store

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultTimeout is how long Open of a tenant file waits for bbolt's file lock
// when Options.Timeout is not set.
const DefaultTimeout = 2 * time.Second

// DefaultMaxOpen is how many tenant files stay open when Options.MaxOpen is
// not set, unless the limit on open files is lower (see maxOpenFor). An
// open tenant costs two descriptors (its file and its audit head) and
// about 26 KB; reopening one costs its keys' unwrapping and its head's
// check, so a server should keep its active tenants open.
const DefaultMaxOpen = 1024

const (
	tenantsDir = "tenants"
	headsDir   = "heads"
	fileExt    = ".db"
	dirMode    = 0o700
	fileMode   = 0o600
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("store: closed")

// Options configures a DB. The zero value opens a store that can verify audit
// chains and shred tenants but not read or write values (no master key).
type Options struct {
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Timeout bounds the wait for a tenant file's lock; DefaultTimeout when
	// zero or negative. bbolt would otherwise wait forever.
	Timeout time.Duration
	// Logger receives operational messages; discarded when nil.
	Logger *slog.Logger
	// MasterKey (32 bytes) wraps the tenants' data keys.
	MasterKey []byte
	// KeyFile is read for the master key when MasterKey is nil; see
	// ReadKeyFile. A file readable by group or others is refused.
	KeyFile string
	// MaxOpen bounds the tenant files kept open; DefaultMaxOpen when zero or
	// negative. Files in use are never closed, so it may be exceeded briefly.
	MaxOpen int
}

// DB is the store: a directory of per-tenant bbolt files. It is safe for
// concurrent use.
type DB struct {
	root    string // the data directory
	dir     string // <root>/tenants
	heads   string // <root>/heads
	now     func() time.Time
	timeout time.Duration
	maxOpen int
	log     *slog.Logger

	keyMu   sync.RWMutex
	current *master             // wraps new data keys; nil: no master key
	masters map[[8]byte]*master // by fingerprint: current, and the old one during RotateMaster

	mu      sync.Mutex
	closed  bool
	tenants map[tierzero.TenantID]*tenantFile
	lru     *list.List // open files, most recently used at the front
	busy    map[tierzero.TenantID]chan struct{}
	damaged map[tierzero.TenantID]damagedFile // files that failed to open, until they change

	counters // what was made durable (Stats)
}

// damagedFile is a tenant file that failed to open as damaged: the error,
// and the size and time of the file then.
type damagedFile struct {
	size int64
	mod  time.Time
	err  error
}

// tenantFile is one tenant's bbolt file, or the attempt to open it. ready is
// closed once db or err is set; until then other callers wait on it, so a
// slow open (a lock held elsewhere) stalls only that tenant.
type tenantFile struct {
	id    tierzero.TenantID
	ready chan struct{}
	db    *bolt.DB
	err   error
	refs  int           // calls using the file; guarded by DB.mu
	elem  *list.Element // in DB.lru once open; guarded by DB.mu

	mu   sync.Mutex // guards keys
	keys *keyring   // loaded on first use

	appendMu sync.Mutex // serializes commits: transaction, then head
	head     *headFile  // opened by the first Append; guarded by appendMu

	// headDone, when set, is closed once the head write of the last
	// commit (made in the background, see commitTx) is done, with
	// headErr; guarded by appendMu.
	headDone chan struct{}
	headErr  error

	commitMu sync.Mutex // guards queue and leading
	queue    []*write   // writes waiting for the next commit (commit.go)
	leading  bool       // a writer is committing the queue
}

var _ tierzero.Auditor = (*DB)(nil)

// Open returns a store rooted at dir, creating dir/tenants and dir/heads
// (mode 0700) if needed. Tenant files are opened on first use.
func Open(dir string, opts Options) (*DB, error) {
	if dir == "" {
		return nil, tierzero.Errorf(tierzero.EInvalid, "store directory is empty")
	}
	db := &DB{
		root:    dir,
		dir:     filepath.Join(dir, tenantsDir),
		heads:   filepath.Join(dir, headsDir),
		now:     opts.Now,
		timeout: opts.Timeout,
		maxOpen: opts.MaxOpen,
		log:     opts.Logger,
		masters: make(map[[8]byte]*master),
		tenants: make(map[tierzero.TenantID]*tenantFile),
		lru:     list.New(),
		busy:    make(map[tierzero.TenantID]chan struct{}),
		damaged: make(map[tierzero.TenantID]damagedFile),
	}
	key := opts.MasterKey
	if key == nil && opts.KeyFile != "" {
		var err error
		if key, err = ReadKeyFile(opts.KeyFile); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if key != nil {
		m, err := newMaster(key)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		db.current = m
		db.masters[m.fp] = m
	}
	if err := dataDirs(dir, tenantsDir, headsDir); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.timeout <= 0 {
		db.timeout = DefaultTimeout
	}
	if db.maxOpen <= 0 {
		db.maxOpen = maxOpenFor(DefaultMaxOpen)
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	return db, nil
}

// Close closes every open tenant file. Calls made after Close return
// ErrClosed; Close itself may be called more than once.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	files := db.tenants
	db.tenants = nil
	db.lru.Init()
	db.mu.Unlock()

	var errs []error
	for tenant, f := range files {
		<-f.ready // an open in progress finishes, or gives up, first
		if err := f.close(); err != nil {
			errs = append(errs, fmt.Errorf("close tenant %s: %w", tenant, err))
		}
	}
	return errors.Join(errs...)
}

// Tenants lists, sorted, the tenants that have a file in the store.
func (db *DB) Tenants() ([]tierzero.TenantID, error) {
	entries, err := os.ReadDir(db.dir)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	var ids []tierzero.TenantID
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		id := tierzero.TenantID(name)
		if tierzero.ValidTenantID(id) != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// path returns the file of a tenant whose id has been validated.
func (db *DB) path(tenant tierzero.TenantID) string {
	return filepath.Join(db.dir, string(tenant)+fileExt)
}

// headPath returns the file holding the head of a tenant's audit chain.
func (db *DB) headPath(tenant tierzero.TenantID) string {
	return filepath.Join(db.heads, string(tenant)+".head")
}

// acquire returns the open file of tenant, opening it on first use, and
// holds it open until release. The id is validated before it becomes a path.
// With create false, a tenant that has no file yet yields (nil, nil) and no
// file is created.
func (db *DB) acquire(ctx context.Context, tenant tierzero.TenantID, create bool) (*tenantFile, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if create && !db.hasMaster() {
		return nil, ErrNoMasterKey // before any file is created
	}
	path := db.path(tenant)

	db.mu.Lock()
	for {
		if db.closed {
			db.mu.Unlock()
			return nil, ErrClosed
		}
		ch, ok := db.busy[tenant]
		if !ok {
			break
		}
		db.mu.Unlock() // an exclusive operation (Shred) runs: wait for it
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		db.mu.Lock()
	}
	if f, ok := db.tenants[tenant]; ok {
		f.refs++
		if f.elem != nil {
			db.lru.MoveToFront(f.elem)
		}
		db.mu.Unlock()
		select {
		case <-f.ready:
		case <-ctx.Done():
			db.release(f)
			return nil, ctx.Err()
		}
		if f.err != nil {
			err := f.err
			db.release(f)
			return nil, err
		}
		return f, nil
	}
	fi, statErr := os.Lstat(path)
	existed := statErr == nil
	if d, ok := db.damaged[tenant]; ok {
		if existed && fi.Size() == d.size && fi.ModTime().Equal(d.mod) {
			db.mu.Unlock()
			return nil, d.err // not opened again until it changes (restored, say)
		}
		delete(db.damaged, tenant)
	}
	if !create {
		if errors.Is(statErr, os.ErrNotExist) {
			db.mu.Unlock()
			return nil, nil
		}
		if statErr != nil {
			db.mu.Unlock()
			return nil, fmt.Errorf("tenant %s: %w", tenant, statErr)
		}
	}
	f := &tenantFile{id: tenant, ready: make(chan struct{}), refs: 1}
	db.tenants[tenant] = f
	db.mu.Unlock()

	// Opened outside the lock: waiting for one tenant's file lock must not
	// stall the other tenants. Whatever happens, ready is closed below, so
	// that no caller waits on it forever.
	bdb, err := db.openTenantFile(tenant, path, existed)

	db.mu.Lock()
	switch {
	case err != nil:
		delete(db.tenants, tenant) // the next call tries again
		f.err = err
		var de *DamagedError
		if errors.As(err, &de) && existed {
			db.damaged[tenant] = damagedFile{size: fi.Size(), mod: fi.ModTime(), err: err}
		}
	case db.closed:
		bdb.Close()
		f.err = ErrClosed
	default:
		f.db = bdb
		f.elem = db.lru.PushFront(f)
		db.log.Debug("opened tenant file", "tenant", tenant, "path", path)
	}
	close(f.ready)
	db.mu.Unlock()
	if f.err != nil {
		err := f.err
		db.release(f)
		return nil, err
	}
	db.mu.Lock()
	db.evictLocked()
	db.mu.Unlock()
	return f, nil
}

// openTenantFile opens a tenant's bbolt file. Errors name the tenant and
// the file: a lock held elsewhere is EUnavailable, a damaged file a
// *DamagedError.
func (db *DB) openTenantFile(tenant tierzero.TenantID, path string, existed bool) (bdb *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			bdb, err = nil, &DamagedError{Tenant: tenant, Path: path, Err: fmt.Errorf("%v", r)}
		}
	}()
	if !existed {
		if err := db.createTenantFile(tenant, path); err != nil {
			return nil, err
		}
	}
	bdb, err = openBolt(tenant, path, db.timeout)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		db.log.Warn("tenant file is locked", "tenant", tenant, "path", path, "waited", db.timeout)
		return nil, fmt.Errorf("open %s: file lock not acquired within %s; another tierzero process may hold it: %w: %w",
			path, db.timeout, tierzero.Errorf(tierzero.EUnavailable, "data for tenant %s is busy, try again later", tenant), err)
	case isDamage(err):
		var de *DamagedError
		if !errors.As(err, &de) {
			err = &DamagedError{Tenant: tenant, Path: path, Err: err}
		}
		db.log.Error("tenant file is damaged", "tenant", tenant, "path", path, "err", err)
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	return bdb, nil
}

// createTenantFile creates an empty bbolt file for tenant at path, whole or
// not at all: bbolt initializes a new file with several writes, and a crash
// between them (a SIGKILL can cut a write short) would leave a file that
// never opens again. It is initialized under a temporary name, then linked
// in place, which fails harmlessly if another process did the same first.
func (db *DB) createTenantFile(tenant tierzero.TenantID, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("tenant %s: create %s: %w", tenant, path, err)
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	bdb, err := openBolt(tenant, name, db.timeout)
	if err == nil {
		err = bdb.Close()
	}
	if err != nil {
		return fmt.Errorf("tenant %s: create %s: %w", tenant, path, err)
	}
	if err := os.Link(name, path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("tenant %s: create %s: %w", tenant, path, err)
	}
	return syncDir(filepath.Dir(path)) // the new file's name is durable too
}

// release ends a use of f begun by acquire, closing idle files beyond
// MaxOpen.
func (db *DB) release(f *tenantFile) {
	db.mu.Lock()
	defer db.mu.Unlock()
	f.refs--
	db.evictLocked()
}

// evictLocked closes least recently used idle files while more than maxOpen
// are open. A file with refs > 0 has a call in progress and stays open.
func (db *DB) evictLocked() {
	for e := db.lru.Back(); e != nil && db.lru.Len() > db.maxOpen; {
		prev := e.Prev()
		f := e.Value.(*tenantFile)
		if f.refs == 0 {
			db.lru.Remove(e)
			f.elem = nil
			delete(db.tenants, f.id)
			if err := f.close(); err != nil {
				db.log.Warn("close idle tenant file", "tenant", f.id, "err", err)
			} else {
				db.log.Debug("closed idle tenant file", "tenant", f.id)
			}
		}
		e = prev
	}
}

// maxOpenFor returns n, or fewer when the process may not open enough
// files: a quarter of the limit on descriptors is left to tenant files
// (two each), the rest to sockets and the rest of the process. Go raises
// the soft limit to the hard one at start.
func maxOpenFor(n int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return n
	}
	if m := int(min(rl.Cur/8, uint64(n))); m < n {
		return max(m, 16)
	}
	return n
}

// openFiles reports how many tenant files are open.
func (db *DB) openFiles() int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.lru.Len()
}

// exclusive runs fn with tenant's file closed in this store and no call
// using it; calls for the tenant wait until fn returns.
func (db *DB) exclusive(ctx context.Context, tenant tierzero.TenantID, fn func(path string) error) error {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return err
	}
	done := make(chan struct{})
	db.mu.Lock()
	for {
		if db.closed {
			db.mu.Unlock()
			return ErrClosed
		}
		if ch, ok := db.busy[tenant]; ok {
			db.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			db.mu.Lock()
			continue
		}
		break
	}
	db.busy[tenant] = done
	defer func() {
		db.mu.Lock()
		delete(db.busy, tenant)
		close(done)
		db.mu.Unlock()
	}()
	for {
		f, ok := db.tenants[tenant]
		if !ok {
			break
		}
		if f.refs == 0 {
			<-f.ready // refs is 0, so the open finished
			if f.elem != nil {
				db.lru.Remove(f.elem)
				f.elem = nil
			}
			delete(db.tenants, tenant)
			if err := f.close(); err != nil {
				db.mu.Unlock()
				return fmt.Errorf("close tenant %s: %w", tenant, err)
			}
			break
		}
		db.mu.Unlock()
		select {
		case <-time.After(2 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		db.mu.Lock()
		if db.closed {
			db.mu.Unlock()
			return ErrClosed
		}
	}
	db.mu.Unlock()
	return fn(db.path(tenant))
}

// close closes the file's bbolt handle and its head file.
func (f *tenantFile) close() error {
	var errs []error
	if f.db != nil {
		errs = append(errs, f.db.Close())
	}
	f.appendMu.Lock()
	f.settleHead(nil)
	if f.head != nil {
		errs = append(errs, f.head.close())
		f.head = nil
	}
	f.appendMu.Unlock()
	return errors.Join(errs...)
}

// syncDir fsyncs a directory, making the names of files created in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
