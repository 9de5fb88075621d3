package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The tests of this file attack the data directory as issue 15 did: with
// write access to the files and no key.

// recordHash returns the hash stored in a raw audit record.
func recordHash(t *testing.T, dir string, tenant tierzero.TenantID, seq uint64) []byte {
	t.Helper()
	return rawGet(t, dir, tenant, auditBucket, seqKey(seq))[sha256.Size : 2*sha256.Size]
}

// forgeUnsignedHead writes a head file the way anyone can without a key:
// the slot format of tierzero before signed heads (magic, seq, hash,
// CRC-32), naming record seq as the latest and seq-1 before it.
func forgeUnsignedHead(t *testing.T, dir string, tenant tierzero.TenantID, seq uint64) {
	t.Helper()
	b := make([]byte, 128)
	for _, s := range []uint64{seq - 1, seq} {
		off := int(s%2) * 64
		copy(b[off:], "TZH1")
		binary.BigEndian.PutUint64(b[off+4:], s)
		copy(b[off+12:], recordHash(t, dir, tenant, s))
		binary.BigEndian.PutUint32(b[off+44:], crc32.ChecksumIEEE(b[off:off+44]))
	}
	if err := os.WriteFile(filepath.Join(dir, "heads", string(tenant)+".head"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// forgeSignedLookingHead writes slots in the signed format with a signature
// the attacker made up.
func forgeSignedLookingHead(t *testing.T, dir string, tenant tierzero.TenantID, seq uint64) {
	t.Helper()
	b := make([]byte, 256)
	for _, s := range []uint64{seq - 1, seq} {
		off := int(s%2) * 128
		copy(b[off:], "TZH2")
		binary.BigEndian.PutUint64(b[off+4:], s)
		copy(b[off+12:], recordHash(t, dir, tenant, s))
		copy(b[off+44:], bytes.Repeat([]byte{0x5a}, 64))
	}
	if err := os.WriteFile(filepath.Join(dir, "heads", string(tenant)+".head"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendTen(t *testing.T, db *DB, tenants ...tierzero.TenantID) {
	t.Helper()
	for i := range 10 {
		for _, tenant := range tenants {
			mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: strings.Repeat(string(tenant), 1+i)})
		}
	}
}

// wantChainError checks that err is a *ChainError naming tenant and record
// seq, in its text too.
func wantChainError(t *testing.T, err error, tenant tierzero.TenantID, seq uint64) {
	t.Helper()
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("verify = %v; want a ChainError", err)
	}
	t.Logf("%v", err)
	if ce.Tenant != tenant || ce.Seq != seq {
		t.Errorf("ChainError names tenant %s record %d, want tenant %s record %d", ce.Tenant, ce.Seq, tenant, seq)
	}
	if msg := err.Error(); !strings.Contains(msg, string(tenant)) || !strings.Contains(msg, "record "+itoa(seq)) {
		t.Errorf("error %q does not name tenant %s and record %d", msg, tenant, seq)
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// TestCutTailWithRewrittenHeadDetected (issue 15, item 6): cutting the
// last records and rewriting the head to match the shorter chain, with no
// key, is detected, naming the tenant and the first record removed.
func TestCutTailWithRewrittenHeadDetected(t *testing.T) {
	for _, forge := range []struct {
		name string
		fn   func(t *testing.T, dir string, tenant tierzero.TenantID, seq uint64)
	}{
		{"unsigned head", forgeUnsignedHead},
		{"head with a made-up signature", forgeSignedLookingHead},
	} {
		t.Run(forge.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openTest(t, dir, Options{})
			appendTen(t, db, "contoso", "fabrikam")
			db.Close()
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
				b := tx.Bucket(auditBucket)
				for s := uint64(7); s <= 10; s++ {
					if err := b.Delete(seqKey(s)); err != nil {
						return err
					}
				}
				return b.SetSequence(6)
			})
			forge.fn(t, dir, "contoso", 6)

			db = openTest(t, dir, Options{})
			_, err := db.Verify(context.Background(), "contoso")
			wantChainError(t, err, "contoso", 7)
			if err := db.Append(context.Background(), "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err == nil {
				t.Error("Append extended the cut chain")
			}
			if n, err := db.Verify(context.Background(), "fabrikam"); err != nil || n != 10 {
				t.Errorf("fabrikam: %d, %v", n, err)
			}
		})
	}
}

// TestCopiedTenantFileDetected (issue 15, item 6): contoso's file copied
// over fabrikam's, with or without its head, does not verify as
// fabrikam's.
func TestCopiedTenantFileDetected(t *testing.T) {
	for _, withHead := range []bool{false, true} {
		t.Run(map[bool]string{false: "file only", true: "file and head"}[withHead], func(t *testing.T) {
			dir := t.TempDir()
			db := openTest(t, dir, Options{})
			appendTen(t, db, "contoso", "fabrikam")
			db.Close()
			copyFile(t, filepath.Join(dir, "tenants", "contoso.db"), filepath.Join(dir, "tenants", "fabrikam.db"))
			if withHead {
				copyFile(t, filepath.Join(dir, "heads", "contoso.head"), filepath.Join(dir, "heads", "fabrikam.head"))
			}
			db = openTest(t, dir, Options{})
			_, err := db.Verify(context.Background(), "fabrikam")
			wantChainError(t, err, "fabrikam", 1)
			if n, err := db.Verify(context.Background(), "contoso"); err != nil || n != 10 {
				t.Errorf("contoso: %d, %v", n, err)
			}
		})
	}
}

// TestApprovalRollbackRefused (issue 15, item 8): an older copy of an
// approval's sealed record put back in place (no key needed) is refused:
// an executed approval never runs again, a decided one is not decided
// again.
func TestApprovalRollbackRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	a := newApproval(t, db, "contoso", 1, t0.Add(24*time.Hour))
	f, err := db.acquire(ctx, "contoso", false)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := db.keyring(f, false)
	db.release(f)
	if err != nil {
		t.Fatal(err)
	}
	key := kr.mac(string(approvalsBucket), a.ID)
	snapshot := func() []byte {
		t.Helper()
		db.Close()
		v := rawGet(t, dir, "contoso", approvalsBucket, key)
		db = openTest(t, dir, Options{})
		return v
	}
	restore := func(v []byte) {
		t.Helper()
		db.Close()
		rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error { return tx.Bucket(approvalsBucket).Put(key, v) })
		db = openTest(t, dir, Options{})
	}

	pending := snapshot()
	if got, err := db.DecideApproval(ctx, "contoso", a.ID, "miriam@contoso.com", true, t0); err != nil || got.State != tierzero.ApprovalApproved {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	approved := snapshot()
	if got, err := db.ClaimApproval(ctx, "contoso", a.ID, t0); err != nil || got.State != tierzero.ApprovalExecuted {
		t.Fatalf("claim: %+v, %v", got, err)
	}

	restore(approved) // executed -> approved
	if got, err := db.ClaimApproval(ctx, "contoso", a.ID, t0); err == nil {
		t.Fatalf("a rolled-back approval was claimed again: %+v", got)
	} else if tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Errorf("claim of a rolled-back approval: %v; want EConflict", err)
	}
	restore(pending) // executed -> pending
	if got, err := db.DecideApproval(ctx, "contoso", a.ID, "megan@contoso.com", true, t0); err == nil {
		t.Fatalf("a rolled-back approval was approved again: %+v", got)
	}
	if got, err := db.ClaimApproval(ctx, "contoso", a.ID, t0); err == nil {
		t.Fatalf("a rolled-back approval was claimed again: %+v", got)
	}
}
