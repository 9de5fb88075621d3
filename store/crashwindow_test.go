package store

import (
	"context"
	"testing"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// commitWithoutHead does what a process killed between an audit record's
// commit and its head write leaves behind: the first append of a new
// process (which first checks the head against the chain), committed, its
// head never written.
func commitWithoutHead(t *testing.T, dir string, tenant tierzero.TenantID) {
	t.Helper()
	ctx := context.Background()
	db := openTest(t, dir, Options{})
	defer db.Close()
	f, err := db.acquire(ctx, tenant, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		t.Fatal(err)
	}
	f.appendMu.Lock()
	defer f.appendMu.Unlock()
	if err := db.openHeadLocked(f, kr); err != nil {
		t.Fatal(err)
	}
	err = f.update(func(tx *bolt.Tx) error {
		_, err := appendTx(tx, kr, f.head.cur, &auditEntry{ev: &tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Tenant: tenant}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTwoCrashesBetweenCommitAndHead: two processes in a row killed between
// a record's commit and its head write (the second in its first append)
// leave a chain that verifies and extends: the second process writes the
// missing head before it appends. Before, the head stayed two behind and
// Verify called it rolled back: the cause of TestCrash's occasional
// failure.
func TestTwoCrashesBetweenCommitAndHead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for range 3 {
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	}
	db.Close()
	commitWithoutHead(t, dir, "contoso") // record 4, head 3
	commitWithoutHead(t, dir, "contoso") // record 5, head 4
	db = openTest(t, dir, Options{})
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 5 {
		t.Fatalf("Verify after two crashes = %d, %v", n, err)
	}
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	if v, err := db.VerifyAudit(ctx, "contoso", nil); err != nil || v.Records != 6 || v.Head != 6 {
		t.Fatalf("after the next append: %+v, %v", v, err)
	}
}
