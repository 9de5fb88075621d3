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

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// TestAuditorVerifiesWithTheVerificationKey: the exported key verifies the
// tenant's chain without the master key; another tenant's key does not.
func TestAuditorVerifiesWithTheVerificationKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	appendTen(t, db, "contoso", "fabrikam")
	key, err := db.AuditKey(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	text := EncodeAuditKey(key)
	if k, err := ParseAuditKey(text); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("ParseAuditKey(%q) = %x, %v", text, k, err)
	}
	fab, _ := db.AuditKey(ctx, "fabrikam")
	db.Close()

	auditor := openTest(t, dir, Options{MasterKey: []byte{}})
	v, err := auditor.VerifyAudit(ctx, "contoso", key)
	if err != nil || v.Records != 10 || v.Head != 10 || v.Unsigned != 0 {
		t.Fatalf("VerifyAudit with the key = %+v, %v", v, err)
	}
	_, err = auditor.VerifyAudit(ctx, "contoso", fab)
	wantChainError(t, err, "contoso", 1)
	if _, err := auditor.AuditKey(ctx, "contoso"); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("AuditKey without the master key: %v", err)
	}
	for _, bad := range []string{"", "tzak1:", "tzak1:AAAA", EncodeAuditKey(key)[1:]} {
		if _, err := ParseAuditKey(bad); err == nil {
			t.Errorf("ParseAuditKey(%q) accepted", bad)
		}
	}
}

// TestRechainedChainDetected: records removed or altered, the chain re-hashed
// by the public algorithm and the head rewritten, with no key, fail on the
// signatures, naming the first record changed.
func TestRechainedChainDetected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	appendTen(t, db, "contoso")
	db.Close()
	// Drop record 5 and renumber 6..10 as 5..9, re-hashing each, keeping
	// the stored signatures (the attacker can make no others).
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		var recs [][]byte
		for s := uint64(1); s <= 10; s++ {
			recs = append(recs, bytes.Clone(b.Get(seqKey(s))))
			b.Delete(seqKey(s))
		}
		recs = append(recs[:4], recs[5:]...)
		prev := make([]byte, sha256.Size)
		for i, r := range recs {
			seq := uint64(i + 1)
			copy(r, prev)
			sum := chainHash("contoso", prev, seq, r[recordHeader-subjectSize:recordHeader], r[recordHeader:])
			copy(r[sha256.Size:], sum[:])
			if err := b.Put(seqKey(seq), r); err != nil {
				return err
			}
			prev = sum[:]
		}
		return b.SetSequence(9)
	})
	forgeUnsignedHead(t, dir, "contoso", 9)
	db = openTest(t, dir, Options{})
	_, err := db.Verify(ctx, "contoso")
	wantChainError(t, err, "contoso", 5)
	if !strings.Contains(err.Error(), "signature") {
		t.Errorf("error %q does not say the signature fails", err)
	}
}

// TestHeadSlotDamage: an invalid slot is tolerated only as a torn write
// leaves it: the newer slot, with its record committed; the next append
// repairs it. A slot destroyed with the record it covered is detected.
func TestHeadSlotDamage(t *testing.T) {
	ctx := context.Background()
	hp := func(dir string) string { return filepath.Join(dir, "heads", "contoso.head") }
	tear := func(t *testing.T, dir string, pos int) {
		b, _ := os.ReadFile(hp(dir))
		b[pos*headSlot+50] ^= 0xff
		os.WriteFile(hp(dir), b, 0o600)
	}
	t.Run("torn newer slot", func(t *testing.T) {
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		appendTen(t, db, "contoso")
		db.Close()
		tear(t, dir, 10%2)
		db = openTest(t, dir, Options{})
		if n, err := db.Verify(ctx, "contoso"); err != nil || n != 10 {
			t.Fatalf("Verify = %d, %v", n, err)
		}
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
		if v, err := db.VerifyAudit(ctx, "contoso", nil); err != nil || v.Records != 11 || v.Head != 11 {
			t.Fatalf("after the next append: %+v, %v", v, err)
		}
		hs, _ := readHeadState(hp(dir), "contoso", auditKeyOf(t, db, "contoso"))
		if hs.valid() != 2 {
			t.Errorf("the torn slot was not repaired: %+v", hs)
		}
	})
	t.Run("newer slot destroyed and its record cut", func(t *testing.T) {
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		appendTen(t, db, "contoso")
		db.Close()
		tear(t, dir, 10%2)
		rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
			b := tx.Bucket(auditBucket)
			b.Delete(seqKey(10))
			return b.SetSequence(9)
		})
		db = openTest(t, dir, Options{})
		_, err := db.Verify(ctx, "contoso")
		wantChainError(t, err, "contoso", 10)
		if err := db.Append(ctx, "contoso", tierzero.AuditEvent{}); err == nil {
			t.Error("Append extended the cut chain")
		}
	})
	t.Run("older slot zeroed", func(t *testing.T) {
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		appendTen(t, db, "contoso")
		db.Close()
		b, _ := os.ReadFile(hp(dir))
		copy(b[(9%2)*headSlot:], make([]byte, headSlot))
		os.WriteFile(hp(dir), b, 0o600)
		db = openTest(t, dir, Options{})
		if _, err := db.Verify(ctx, "contoso"); err == nil {
			t.Error("a zeroed slot passed")
		}
	})
}

func auditKeyOf(t *testing.T, db *DB, tenant tierzero.TenantID) []byte {
	t.Helper()
	k, err := db.AuditKey(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// makeUnsigned rewrites contoso's store as tierzero wrote it before audit
// records were signed: n unsigned records, an unsigned head, no audit key
// and no signed start.
func makeUnsigned(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	db := openTest(t, dir, Options{})
	saveConv(t, db, "contoso", "c1", "hello")
	f, err := db.acquire(ctx, "contoso", false)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := db.keyring(f, false)
	if err != nil {
		t.Fatal(err)
	}
	var last, prevHead head
	err = f.update(func(tx *bolt.Tx) error {
		tx.DeleteBucket(auditKeyedBucket)
		if err := tx.Bucket(keysBucket).Delete(auditKeyName); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(auditBucket)
		if err != nil {
			return err
		}
		prev := make([]byte, sha256.Size)
		for i := 1; i <= n; i++ {
			seq, _ := b.NextSequence()
			plain, _ := json.Marshal(tierzero.AuditEvent{Seq: seq, Tenant: "contoso", Kind: tierzero.AuditMessage, Text: "old", Time: t0})
			sealed, err := kr.seal(auditBucket, seqKey(seq), plain)
			if err != nil {
				return err
			}
			sum := chainHashV1(prev, seq, sealed)
			if err := b.Put(seqKey(seq), append(append(append([]byte(nil), prev...), sum[:]...), sealed...)); err != nil {
				return err
			}
			prevHead, last = last, head{seq: seq, hash: sum}
			prev = sum[:]
		}
		return nil
	})
	db.release(f)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b := make([]byte, 128)
	for _, h := range []head{prevHead, last} {
		off := int(h.seq%2) * 64
		copy(b[off:], "TZH1")
		binary.BigEndian.PutUint64(b[off+4:], h.seq)
		copy(b[off+12:], h.hash[:])
		binary.BigEndian.PutUint32(b[off+44:], crc32.ChecksumIEEE(b[off:off+44]))
	}
	if err := os.WriteFile(filepath.Join(dir, "heads", "contoso.head"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeUnsignedChain: a chain written before audit records were
// signed is reported as not signed and not extended until UpgradeAudit,
// which checks it and anchors it; its records cannot change after that.
func TestUpgradeUnsignedChain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	makeUnsigned(t, dir, 5)
	db := openTest(t, dir, Options{})
	_, err := db.Verify(ctx, "contoso")
	wantChainError(t, err, "contoso", 1)
	if !strings.Contains(err.Error(), "not signed") {
		t.Errorf("error %q does not say the chain is not signed", err)
	}
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("Append to an unsigned chain = %v; want a refusal naming the upgrade", err)
	}
	up, err := db.UpgradeAudit(ctx, "contoso")
	if err != nil || up.Anchored != 5 || up.Already {
		t.Fatalf("UpgradeAudit = %+v, %v", up, err)
	}
	if up, err := db.UpgradeAudit(ctx, "contoso"); err != nil || !up.Already {
		t.Fatalf("second UpgradeAudit = %+v, %v", up, err)
	}
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	v, err := db.VerifyAudit(ctx, "contoso", nil)
	if err != nil || v.Records != 6 || v.Unsigned != 5 || v.Head != 6 {
		t.Fatalf("after the upgrade: %+v, %v", v, err)
	}
	n := 0
	if err := db.Audit(ctx, "contoso", t0.Add(-1), func(ev tierzero.AuditEvent) error { n++; return nil }); err != nil || n != 6 {
		t.Fatalf("Audit read %d, %v", n, err)
	}
	db.Close()

	// An unsigned record altered and the unsigned part re-hashed after the
	// upgrade: the signed start names the old hash of record 5.
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		prev := make([]byte, sha256.Size)
		for s := uint64(1); s <= 5; s++ {
			v := bytes.Clone(b.Get(seqKey(s)))
			if s == 3 {
				v[len(v)-1] ^= 1
			}
			copy(v, prev)
			sum := chainHashV1(prev, s, v[recordHeaderV1:])
			copy(v[sha256.Size:], sum[:])
			b.Put(seqKey(s), v)
			prev = sum[:]
		}
		v := bytes.Clone(b.Get(seqKey(6)))
		copy(v, prev)
		return b.Put(seqKey(6), v)
	})
	db = openTest(t, dir, Options{})
	if _, err := db.Verify(ctx, "contoso"); err == nil {
		t.Fatal("an unsigned record altered after the upgrade passed")
	} else {
		t.Logf("%v", err)
	}
}

// TestUpgradeRefusesBrokenChain: an unsigned chain that fails is not
// anchored.
func TestUpgradeRefusesBrokenChain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	makeUnsigned(t, dir, 5)
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		b.Delete(seqKey(5))
		return b.SetSequence(4)
	})
	db := openTest(t, dir, Options{})
	if _, err := db.UpgradeAudit(ctx, "contoso"); err == nil || !strings.Contains(err.Error(), "not upgraded") {
		t.Fatalf("UpgradeAudit of a cut chain = %v", err)
	}
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{}); err == nil {
		t.Error("Append after a refused upgrade")
	}
}

// TestFlippedByteDetected (issue 15, item 7): a byte flipped in a page of
// the file fails VerifyAudit (bbolt's consistency check), and reading the
// damaged part is an error, never a panic.
func TestFlippedByteDetected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for i := range 50 {
		saveConv(t, db, "contoso", tierzero.ConversationID(strings.Repeat("c", 1+i)), strings.Repeat("words ", 100))
		mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: strings.Repeat("x", 300)})
	}
	db.Close()
	path := filepath.Join(dir, "tenants", "contoso.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every leaf page's element count: the page header is id (8), flags
	// (2), count (2), overflow (4).
	flipped := 0
	for off := 2 * 4096; off+16 <= len(b); off += 4096 {
		if binary.LittleEndian.Uint16(b[off+8:]) == 0x02 { // a leaf page
			b[off+11] ^= 0x40
			flipped++
		}
	}
	if flipped == 0 {
		t.Fatal("no leaf page found")
	}
	os.WriteFile(path, b, 0o600)

	db = openTest(t, dir, Options{})
	_, err = db.VerifyAudit(ctx, "contoso", nil)
	var de *DamagedError
	if !errors.As(err, &de) || de.Tenant != "contoso" || !strings.Contains(err.Error(), path) {
		t.Fatalf("VerifyAudit of a damaged file = %v; want a DamagedError naming contoso and %s", err, path)
	}
	t.Logf("%v", err)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("reading a damaged file panicked: %v", r)
			}
		}()
		for i := range 50 {
			db.Conversation(ctx, "contoso", tierzero.ConversationID(strings.Repeat("c", 1+i)))
		}
		db.Audit(ctx, "contoso", t0.Add(-1), func(tierzero.AuditEvent) error { return nil })
		db.Append(ctx, "contoso", tierzero.AuditEvent{})
	}()
}
