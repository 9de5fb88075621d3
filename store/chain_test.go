package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// flipInFile flips one byte of every copy of needle in a file (bbolt may
// keep stale copies of a page), at offset off within needle.
func flipInFile(t *testing.T, path string, needle []byte, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; ; {
		j := bytes.Index(b[i:], needle)
		if j < 0 {
			break
		}
		b[i+j+off] ^= 0x01
		i += j + len(needle)
		n++
	}
	if n == 0 {
		t.Fatal("record not found in the raw file")
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	const records, k = 10, 4
	tests := []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		wantSeq uint64
		wantMsg string
	}{
		{"flip a ciphertext byte of record k in the raw file", func(t *testing.T, dir string) {
			v := rawGet(t, dir, "contoso", auditBucket, seqKey(k))
			flipInFile(t, filepath.Join(dir, "tenants", "contoso.db"), v, recordHeader+20)
		}, k, "altered"},
		{"flip a byte of record k's link in the raw file", func(t *testing.T, dir string) {
			v := rawGet(t, dir, "contoso", auditBucket, seqKey(k))
			flipInFile(t, filepath.Join(dir, "tenants", "contoso.db"), v, 3)
		}, k, "does not link"},
		{"flip a byte of record k's own hash", func(t *testing.T, dir string) {
			v := rawGet(t, dir, "contoso", auditBucket, seqKey(k))
			flipInFile(t, filepath.Join(dir, "tenants", "contoso.db"), v, sha256.Size+5)
		}, k, "altered"},
		{"delete record k", func(t *testing.T, dir string) {
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error { return tx.Bucket(auditBucket).Delete(seqKey(k)) })
		}, k, "missing"},
		{"swap records k and k+1", func(t *testing.T, dir string) {
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
				b := tx.Bucket(auditBucket)
				a, c := bytes.Clone(b.Get(seqKey(k))), bytes.Clone(b.Get(seqKey(k+1)))
				if err := b.Put(seqKey(k), c); err != nil {
					return err
				}
				return b.Put(seqKey(k+1), a)
			})
		}, k, "does not link"},
		{"record k replaced by another tenant's record k", func(t *testing.T, dir string) {
			v := rawGet(t, dir, "fabrikam", auditBucket, seqKey(k))
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error { return tx.Bucket(auditBucket).Put(seqKey(k), v) })
		}, k, ""},
		{"cut the tail", func(t *testing.T, dir string) {
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
				b := tx.Bucket(auditBucket)
				for s := uint64(k); s <= records; s++ {
					if err := b.Delete(seqKey(s)); err != nil {
						return err
					}
				}
				return nil
			})
		}, k, "chain ends at seq 3"},
		{"cut the tail and reset the sequence", func(t *testing.T, dir string) {
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
				b := tx.Bucket(auditBucket)
				for s := uint64(k); s <= records; s++ {
					if err := b.Delete(seqKey(s)); err != nil {
						return err
					}
				}
				return b.SetSequence(k - 1)
			})
		}, k, "chain ends at seq 3 but head says 10"},
		{"delete the last record and rewind the sequence", func(t *testing.T, dir string) {
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
				b := tx.Bucket(auditBucket)
				if err := b.Delete(seqKey(records)); err != nil {
					return err
				}
				return b.SetSequence(records - 1)
			})
		}, records, "head says 10"},
		{"rewrite the last record with a recomputed hash", func(t *testing.T, dir string) {
			rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
				b := tx.Bucket(auditBucket)
				v := bytes.Clone(b.Get(seqKey(records)))
				v[len(v)-1] ^= 1
				sum := chainHash("contoso", v[:sha256.Size], records, v[recordHeader-subjectSize:recordHeader], v[recordHeader:])
				copy(v[sha256.Size:], sum[:])
				return b.Put(seqKey(records), v)
			})
		}, records, "recorded head"},
		{"roll the file back to an older copy", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "tenants", "contoso.db")
			old, err := os.ReadFile(path + ".bak")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, old, 0o600); err != nil {
				t.Fatal(err)
			}
		}, 6, "chain ends at seq 5 but head says 10"},
		{"delete the head file", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "heads", "contoso.head")); err != nil {
				t.Fatal(err)
			}
		}, 1, "no head"},
		{"roll the head file back", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(dir, "heads", "contoso.head.bak"), filepath.Join(dir, "heads", "contoso.head"))
		}, 7, "head says 5, chain ends at 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			db := openTest(t, dir, Options{})
			for i := range records {
				for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
					mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: strings.Repeat("x", 40+i)})
				}
				if i == 4 {
					db.Close()
					copyFile(t, filepath.Join(dir, "tenants", "contoso.db"), filepath.Join(dir, "tenants", "contoso.db.bak"))
					copyFile(t, filepath.Join(dir, "heads", "contoso.head"), filepath.Join(dir, "heads", "contoso.head.bak"))
					db = openTest(t, dir, Options{})
				}
			}
			if n, err := db.Verify(ctx, "contoso"); err != nil || n != records {
				t.Fatalf("Verify before tampering = %d, %v", n, err)
			}
			keys := map[tierzero.TenantID][]byte{}
			for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
				k, err := db.AuditKey(ctx, tenant)
				if err != nil {
					t.Fatal(err)
				}
				keys[tenant] = k
			}
			db.Close()
			tt.tamper(t, dir)

			// An auditor verifies with the verification key alone.
			db = openTest(t, dir, Options{MasterKey: []byte{}})
			v, err := db.VerifyAudit(ctx, "contoso", keys["contoso"])
			n := v.Records
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify = %d, %v; want a ChainError", n, err)
			}
			t.Logf("%v", err)
			if ce.Seq != tt.wantSeq || ce.Tenant != "contoso" || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Verify error %q: want record %d and %q", err, tt.wantSeq, tt.wantMsg)
			}
			if n != int(tt.wantSeq)-1 {
				t.Errorf("n = %d good records, want %d", n, tt.wantSeq-1)
			}
			if v, err := db.VerifyAudit(ctx, "fabrikam", keys["fabrikam"]); err != nil || v.Records != records {
				t.Errorf("fabrikam Verify = %d, %v", v.Records, err)
			}
			// With the master key, the same.
			db.Close()
			db = openTest(t, dir, Options{})
			if _, err := db.Verify(ctx, "contoso"); !errors.As(err, &ce) || ce.Seq != tt.wantSeq {
				t.Errorf("with the master key: %v", err)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAppendRefusesBrokenTail: appending to a chain that was cut is refused,
// so that the cut is not papered over by new records.
func TestAppendRefusesBrokenTail(t *testing.T) {
	ctx := context.Background()
	for _, resetSeq := range []bool{false, true} {
		t.Logf("reset sequence: %v", resetSeq)
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		for range 5 {
			mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		}
		db.Close()
		rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
			b := tx.Bucket(auditBucket)
			if err := b.Delete(seqKey(5)); err != nil {
				return err
			}
			if resetSeq {
				return b.SetSequence(4)
			}
			return nil
		})
		db = openTest(t, dir, Options{})
		err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		if err == nil || !strings.Contains(err.Error(), "audit verify") {
			t.Errorf("reset sequence %v: Append = %v, want a refusal", resetSeq, err)
		}
		if _, err := db.Verify(ctx, "contoso"); err == nil {
			t.Errorf("reset sequence %v: Verify passed", resetSeq)
		}
	}

	// A removed head file is not silently recreated under a long chain.
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for range 3 {
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	}
	db.Close()
	os.Remove(filepath.Join(dir, "heads", "contoso.head"))
	db = openTest(t, dir, Options{})
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Append without a head file = %v, want a refusal", err)
	}
}

// TestAppendAfterLostHeadWrite: a crash between a record's commit and its
// head write leaves the head one behind; appending continues and verifies.
func TestAppendAfterLostHeadWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for range 3 {
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	}
	db.Close()
	hp := filepath.Join(dir, "heads", "contoso.head")
	b, _ := os.ReadFile(hp)
	copy(b[headSlot:], make([]byte, headSlot)) // slot 1 held seq 3: as if never written
	os.WriteFile(hp, b, 0o600)
	db = openTest(t, dir, Options{})
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 3 {
		t.Fatalf("Verify with the head one behind = %d, %v", n, err)
	}
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 4 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

// TestHeadSlots: slots verify only with the tenant's key, for their own
// position and tenant; the head never moves back.
func TestHeadSlots(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.head")
	pub, priv, _ := ed25519.GenerateKey(nil)
	if err := createHead(path, "contoso", priv, [2]head{}); err != nil {
		t.Fatal(err)
	}
	hf, err := openHead(path, "contoso", priv, head{})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 5; seq++ {
		if err := hf.write(head{seq: seq, hash: sha256.Sum256([]byte{byte(seq)})}); err != nil {
			t.Fatal(err)
		}
	}
	if err := hf.write(head{seq: 3}); err != nil || hf.cur.seq != 5 {
		t.Errorf("head moved back: %d, %v", hf.cur.seq, err)
	}
	hf.close()
	hs, err := readHeadState(path, "contoso", pub)
	if h, ok := hs.best(); err != nil || !ok || h.seq != 5 || h.hash != sha256.Sum256([]byte{5}) || hs.valid() != 2 {
		t.Fatalf("readHeadState = %+v, %v", hs, err)
	}
	if hs, _ := readHeadState(path, "fabrikam", pub); hs.valid() != 0 {
		t.Errorf("contoso's head verifies as fabrikam's: %+v", hs)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if hs, _ := readHeadState(path, "contoso", other); hs.valid() != 0 {
		t.Errorf("the head verifies with another key: %+v", hs)
	}
	b, _ := os.ReadFile(path)
	swapped := append(append([]byte(nil), b[headSlot:2*headSlot]...), b[:headSlot]...)
	os.WriteFile(path, swapped, 0o600)
	if hs, _ := readHeadState(path, "contoso", pub); hs.valid() != 0 {
		t.Errorf("slots moved to the other position verify: %+v", hs)
	}
	b[headSlot+10] ^= 0xff // slot 1 holds seq 5: tear it
	os.WriteFile(path, b, 0o600)
	if hs, _ := readHeadState(path, "contoso", pub); hs.valid() != 1 {
		t.Errorf("after a torn slot, %d valid", hs.valid())
	} else if h, _ := hs.best(); h.seq != 4 {
		t.Errorf("after a torn slot, head = %d, want 4", h.seq)
	}
	if hs, err := readHeadState(path+".none", "contoso", pub); err != nil || hs.exists {
		t.Error("readHeadState of a missing file reports it exists")
	}
}

func TestVerifyEmptyAndUnknown(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	if _, err := db.Verify(ctx, "contoso"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("Verify of an unknown tenant: %v", err)
	}
	saveConv(t, db, "contoso", "c1", "no audit yet")
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 0 {
		t.Errorf("Verify of a tenant without audit = %d, %v", n, err)
	}
	if _, err := db.Verify(ctx, "../x"); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Errorf("Verify of a bad id: %v", err)
	}
	_ = time.Second
}
