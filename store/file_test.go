package store

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// TestDamagedFileIsAnErrorForThatTenantOnly (issue 15, item 7): a
// truncated tenant file gives an error naming the tenant and the file, at
// once and on every call, while other tenants work and Close returns.
func TestDamagedFileIsAnErrorForThatTenantOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for i := range 100 {
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: strings.Repeat("x", 1000+i)})
	}
	mustAppend(t, db, "fabrikam", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	db.Close()
	path := filepath.Join(dir, "tenants", "contoso.db")
	if err := os.Truncate(path, 4*4096); err != nil { // the meta pages and two more
		t.Fatal(err)
	}

	db = openTest(t, dir, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2 {
			err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
			if err == nil || !strings.Contains(err.Error(), "contoso") || !strings.Contains(err.Error(), path) {
				t.Errorf("call %d: Append to the damaged tenant = %v; want an error naming contoso and %s", i, err, path)
			}
			if _, err := db.Conversation(ctx, "contoso", "c1"); err == nil {
				t.Errorf("call %d: Conversation of the damaged tenant: no error", i)
			}
		}
		mustAppend(t, db, "fabrikam", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		if n, err := db.Verify(ctx, "fabrikam"); err != nil || n != 2 {
			t.Errorf("fabrikam: %d, %v", n, err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("calls for a damaged tenant file hang")
	}
}

// TestDataDirPermissions (issue 15, item 9): data directories that group
// or others may write are refused, pre-existing ones too; a symlink planted
// for a head or tenant file is never followed; files are created 0600.
func TestDataDirPermissions(t *testing.T) {
	ctx := context.Background()
	t.Run("world-writable data directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o777)
		if db, err := Open(dir, Options{MasterKey: testKey}); err == nil {
			db.Close()
			t.Fatal("Open accepted a world-writable data directory")
		} else if !strings.Contains(err.Error(), dir) {
			t.Errorf("error %q does not name the directory", err)
		}
	})
	t.Run("group-writable tenants directory of an existing store", func(t *testing.T) {
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		db.Close()
		os.Chmod(filepath.Join(dir, "tenants"), 0o770)
		if db, err := Open(dir, Options{MasterKey: testKey}); err == nil {
			db.Close()
			t.Fatal("Open accepted a group-writable tenants directory")
		}
	})
	for _, which := range []string{"head", "tenant file"} {
		t.Run("symlink for the "+which, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			db := openTest(t, dir, Options{})
			mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
			db.Close()
			target := filepath.Join(dir, "heads", "contoso.head")
			if which == "tenant file" {
				target = filepath.Join(dir, "tenants", "contoso.db")
			}
			if err := os.Rename(target, victim); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(victim)
			if err := os.Symlink(victim, target); err != nil {
				t.Fatal(err)
			}
			db = openTest(t, dir, Options{})
			if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err == nil {
				t.Errorf("Append through a symlinked %s succeeded", which)
			} else {
				t.Logf("%v", err)
			}
			db.Close()
			if after, _ := os.ReadFile(victim); !bytes.Equal(before, after) {
				t.Errorf("the symlink's target was written")
			}
		})
	}
	t.Run("modes", func(t *testing.T) {
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		saveConv(t, db, "fabrikam", "c1", "hello")
		db.Close()
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if path == dir {
				return nil // made by the test
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %#o, want %#o", path, fi.Mode().Perm(), want)
			}
			return nil
		})
	})
}

// TestFileCutDuringCreation: a tenant file whose creation was cut short
// (its meta pages written, its first pages not, as a SIGKILL during
// bbolt's first writes leaves it) is a DamagedError, not a fault that
// kills the process; new files are created whole under a temporary name.
func TestFileCutDuringCreation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	db.Close()
	path := filepath.Join(dir, "tenants", "fabrikam.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	if err := os.Truncate(path, 2*4096); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, Options{})
	var de *DamagedError
	if _, err := db.Conversation(ctx, "fabrikam", "c1"); !errors.As(err, &de) || de.Tenant != "fabrikam" {
		t.Errorf("Conversation of a file cut during creation = %v; want a DamagedError", err)
	}
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	if got := files(t, dir); len(got) != 3 {
		t.Errorf("files = %v; want contoso's and fabrikam's, no temporary file left", got)
	}
}
