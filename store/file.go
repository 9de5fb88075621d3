package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DamagedError reports a tenant file that bbolt cannot read: truncated,
// overwritten, or with a page that does not parse. It names the tenant and
// the file; other tenants are unaffected.
type DamagedError struct {
	Tenant tierzero.TenantID
	Path   string
	Err    error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the file of tenant %s (%s) is damaged: %v; restore it from a backup (tierzero audit verify --tenant %s checks it)", e.Tenant, e.Path, e.Err, e.Tenant)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// checkDir refuses a directory that group or others may write: anyone who
// may write it may plant files or symlinks in it. A missing directory is
// created with mode 0700.
func checkDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("data directory %s has mode %#o: group or others may write it, so they could plant files or symlinks in it; run chmod 700 %s", dir, perm, dir)
	}
	return nil
}

// checkSubdir is checkDir for a directory inside the data directory, which
// must be a real directory, not a symlink.
func checkSubdir(dir string) error {
	if err := checkDir(dir); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symlink; the data directory's subdirectories must be real directories", dir)
	}
	return nil
}

// openNoFollow opens a file of the data directory without following a
// symlink at its last component; a created file has mode 0600. A file that
// group or others may write is refused.
func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, fileMode)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("open %s: it is a symlink, which tierzero never follows in its data directory", path)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open %s: not a regular file", path)
	}
	if err == nil && fi.Mode().Perm()&0o022 != 0 {
		err = fmt.Errorf("open %s: mode %#o lets group or others write it; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkSize refuses a tenant file shorter than its pages: bbolt maps the
// file and would fault (SIGBUS, which no recover catches) reading a page
// past its end. It reads the two meta pages of bbolt's format (version 2):
// after a 16-byte page header, magic, version, page size, flags (4 bytes
// each), root bucket (16), freelist page, page count ("high water mark")
// and txid (8 each), then an FNV-64a checksum of what precedes it. A file
// whose metas are both invalid is left to bbolt, which refuses it.
func checkSize(tenant tierzero.TenantID, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt reports it
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	const metaOff, sumOff = 16, 16 + 56
	var best struct {
		txid, pages, pageSize uint64
		ok                    bool
	}
	buf := make([]byte, metaOff+64)
	for _, off := range []int64{0, -1} {
		if off < 0 {
			if !best.ok {
				off = int64(os.Getpagesize())
			} else {
				off = int64(best.pageSize)
			}
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			continue
		}
		m := buf[metaOff:]
		h := fnv.New64a()
		h.Write(m[:56])
		if binary.LittleEndian.Uint32(m) != 0xED0CDAED || binary.LittleEndian.Uint32(m[4:]) != 2 ||
			h.Sum64() != binary.LittleEndian.Uint64(buf[sumOff:]) {
			continue
		}
		txid := binary.LittleEndian.Uint64(m[48:])
		if !best.ok || txid > best.txid {
			best.txid, best.ok = txid, true
			best.pageSize = uint64(binary.LittleEndian.Uint32(m[8:]))
			best.pages = binary.LittleEndian.Uint64(m[40:])
		}
	}
	if best.ok && best.pages*best.pageSize > uint64(fi.Size()) {
		return &DamagedError{Tenant: tenant, Path: path, Err: fmt.Errorf("truncated: its pages reach byte %d but it has %d bytes", best.pages*best.pageSize, fi.Size())}
	}
	return nil
}

// openBolt opens a tenant's bbolt file. The file is opened without
// following symlinks, and a damaged file is an error, not a panic: bbolt
// panics on some damage (a truncated file, say), and the file it had opened
// (and locked) is then closed here.
func openBolt(tenant tierzero.TenantID, path string, timeout time.Duration) (bdb *bolt.DB, err error) {
	var mu sync.Mutex
	var opened []*os.File
	opts := &bolt.Options{Timeout: timeout, OpenFile: func(name string, flag int, _ os.FileMode) (*os.File, error) {
		f, err := openNoFollow(name, flag)
		if err == nil {
			mu.Lock()
			opened = append(opened, f)
			mu.Unlock()
		}
		return f, err
	}}
	if err := checkSize(tenant, path); err != nil {
		return nil, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			mu.Lock()
			for _, f := range opened {
				// bbolt's memory map of the file outlives the panic and
				// holds its lock: release the lock explicitly. The map
				// itself stays (acquire does not retry a damaged file
				// until it changes).
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}
			mu.Unlock()
			bdb, err = nil, &DamagedError{Tenant: tenant, Path: path, Err: fmt.Errorf("bbolt: %v", r)}
		}
	}()
	return bolt.Open(path, fileMode, opts)
}

// isDamage reports whether err from bolt.Open means the file's contents
// are bad, as opposed to a lock timeout or a permission problem.
func isDamage(err error) bool {
	var de *DamagedError
	return errors.As(err, &de) || errors.Is(err, berrors.ErrInvalid) ||
		errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrInvalidMapping)
}

// view runs fn in a read transaction of the tenant's file. A panic in
// bbolt (a damaged page) becomes a *DamagedError for this tenant only.
func (f *tenantFile) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)) // a wild page pointer faults
	defer f.recoverDamage(&err)
	return f.db.View(fn)
}

// update runs fn in a write transaction of the tenant's file, recovering
// from bbolt's panics as view does. bbolt rolls the transaction back first.
func (f *tenantFile) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer f.recoverDamage(&err)
	return f.db.Update(fn)
}

func (f *tenantFile) recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = &DamagedError{Tenant: f.id, Path: f.db.Path(), Err: fmt.Errorf("bbolt: %v", r)}
	}
}

// dataDirs checks the data directory and its subdirectories.
func dataDirs(root string, subs ...string) error {
	if err := checkDir(root); err != nil {
		return err
	}
	for _, s := range subs {
		if err := checkSubdir(filepath.Join(root, s)); err != nil {
			return err
		}
	}
	return nil
}
