// Package store owns tierzero's persistent state: one bbolt file per tenant
// under <dir>/tenants/<tenant>.db, holding that tenant's conversations and its
// append-only audit trail. Tenant files are opened lazily and kept open, one
// *bolt.DB per file, until Close. Later work (per-tenant envelope encryption,
// a hash-chained audit, dedupe keys, action intents, approvals) is meant to
// live here too; every stored value already passes through one seam (seal and
// unseal) so that encryption can be added in one place.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultTimeout is how long Open of a tenant file waits for bbolt's file lock
// when Options.Timeout is not set.
const DefaultTimeout = 2 * time.Second

const (
	tenantsDir = "tenants"
	fileExt    = ".db"
	dirMode    = 0o700
	fileMode   = 0o600
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("store: closed")

// Options configures a DB. The zero value is usable.
type Options struct {
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Timeout bounds the wait for a tenant file's lock; DefaultTimeout when
	// zero or negative. bbolt would otherwise wait forever.
	Timeout time.Duration
	// Logger receives operational messages; discarded when nil.
	Logger *slog.Logger
}

// DB is the store: a directory of per-tenant bbolt files. It is safe for
// concurrent use.
type DB struct {
	dir     string // <dir>/tenants
	now     func() time.Time
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	closed  bool
	tenants map[tierzero.TenantID]*tenantFile
}

// tenantFile is one tenant's bbolt file, or the attempt to open it. ready is
// closed once db or err is set; until then other callers wait on it, so a
// slow open (a lock held elsewhere) stalls only that tenant.
type tenantFile struct {
	ready chan struct{}
	db    *bolt.DB
	err   error
}

var _ tierzero.Auditor = (*DB)(nil)

// Open returns a store rooted at dir, creating dir/tenants (mode 0700) if
// needed. Tenant files are opened on first use.
func Open(dir string, opts Options) (*DB, error) {
	if dir == "" {
		return nil, tierzero.Errorf(tierzero.EInvalid, "store directory is empty")
	}
	tdir := filepath.Join(dir, tenantsDir)
	if err := os.MkdirAll(tdir, dirMode); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db := &DB{
		dir:     tdir,
		now:     opts.Now,
		timeout: opts.Timeout,
		log:     opts.Logger,
		tenants: make(map[tierzero.TenantID]*tenantFile),
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.timeout <= 0 {
		db.timeout = DefaultTimeout
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
	db.mu.Unlock()

	var errs []error
	for tenant, f := range files {
		<-f.ready // an open in progress finishes, or gives up, first
		if f.db == nil {
			continue
		}
		if err := f.db.Close(); err != nil {
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

// tenant returns the open bbolt file of tenant, opening it on first use. The
// id is validated before it becomes a path. With create false, a tenant that
// has no file yet yields (nil, nil) and no file is created.
func (db *DB) tenant(ctx context.Context, tenant tierzero.TenantID, create bool) (*bolt.DB, error) {
	if err := tierzero.ValidTenantID(tenant); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := db.path(tenant)

	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil, ErrClosed
	}
	if f, ok := db.tenants[tenant]; ok {
		db.mu.Unlock()
		select {
		case <-f.ready:
			return f.db, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !create {
		_, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			db.mu.Unlock()
			return nil, nil
		}
		if err != nil {
			db.mu.Unlock()
			return nil, fmt.Errorf("tenant %s: %w", tenant, err)
		}
	}
	f := &tenantFile{ready: make(chan struct{})}
	db.tenants[tenant] = f
	db.mu.Unlock()

	// Opened outside the lock: waiting for one tenant's file lock must not
	// stall the other tenants.
	bdb, err := bolt.Open(path, fileMode, &bolt.Options{Timeout: db.timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		db.log.Warn("tenant file is locked", "tenant", tenant, "path", path, "waited", db.timeout)
		err = fmt.Errorf("open %s: file lock not acquired within %s; another tierzero process may hold it: %w: %w",
			path, db.timeout, tierzero.Errorf(tierzero.EUnavailable, "data for tenant %s is busy, try again later", tenant), err)
	} else if err != nil {
		err = fmt.Errorf("open %s: %w", path, err)
	}

	db.mu.Lock()
	defer db.mu.Unlock()
	switch {
	case err != nil:
		delete(db.tenants, tenant) // the next call tries again
		f.err = err
	case db.closed:
		bdb.Close()
		f.err = ErrClosed
	default:
		f.db = bdb
		db.log.Debug("opened tenant file", "tenant", tenant, "path", path)
	}
	close(f.ready)
	return f.db, f.err
}

// seal turns a value into the bytes stored under key in bucket of tenant's
// file; unseal is its inverse. Every value written or read goes through this
// pair. Today both are the identity: values are stored in clear, NOT
// encrypted. Per-tenant envelope encryption (a data key per tenant, the
// tenant, bucket and key bound as associated data) is meant to go here.
func (db *DB) seal(tenant tierzero.TenantID, bucket, key, plaintext []byte) ([]byte, error) {
	return plaintext, nil
}

// unseal reverses seal. It always returns a fresh slice: the stored bytes
// belong to the bbolt transaction and are invalid once it ends.
func (db *DB) unseal(tenant tierzero.TenantID, bucket, key, stored []byte) ([]byte, error) {
	return bytes.Clone(stored), nil
}
