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

// TestClientDataSealedUnderClientKey (issue 15, item 10): what a
// technician fetched from a client tenant and kept in the memory of a
// conversation of the MSP's tenant is destroyed by shredding the client.
func TestClientDataSealedUnderClientKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const secret = "Alex Wilber signed in from 203.0.113.7"
	// The client tenant has data of its own (the guard audits the call there).
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditDecided})
	conv := tierzero.Conversation{ID: "tech-console|obj-tech", Tenant: "msp", Turns: []tierzero.Turn{
		{Role: tierzero.TurnUser, Content: "what happened to alex at contoso?", Time: t0},
		{Role: tierzero.TurnAssistant, Time: t0, ToolCalls: []tierzero.ToolCall{{ID: "call_1", Action: "user.signins", Args: json.RawMessage(`{"user":"alex@contoso.com"}`), Tenant: "contoso"}}},
		{Role: tierzero.TurnTool, ToolCallID: "call_1", Content: secret, Time: t0},
		{Role: tierzero.TurnAssistant, Content: "Alex signed in from 203.0.113.7.", Time: t0},
	}}
	if err := db.SaveConversation(ctx, "msp", conv); err != nil {
		t.Fatal(err)
	}
	// The MSP's audit of the request: the proposal names the client tenant
	// (as the agent records a call into another tenant), the reply the
	// tenants its memory holds data of.
	mustAppend(t, db, "msp", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "what happened to alex at contoso?"})
	mustAppend(t, db, "msp", tierzero.AuditEvent{Kind: tierzero.AuditProposed, Tool: "user.signins", Args: json.RawMessage(`{"user":"alex@contoso.com"}`), Facts: map[string]string{"tenant": "contoso"}})
	mustAppend(t, db, "msp", tierzero.AuditEvent{Kind: tierzero.AuditReply, Text: "Alex signed in from 203.0.113.7.", Facts: map[string]string{"tenants": "contoso", "model_calls": "2"}})
	exported := func() string {
		t.Helper()
		var all []tierzero.AuditEvent
		if err := db.Audit(ctx, "msp", time.Time{}, func(ev tierzero.AuditEvent) error { all = append(all, ev); return nil }); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(all)
		return string(b)
	}
	if ex := exported(); !strings.Contains(ex, "203.0.113.7") || !strings.Contains(ex, "alex@contoso.com") {
		t.Fatalf("before the shred the MSP's audit reads in full: %s", ex)
	}
	got, err := db.Conversation(ctx, "msp", conv.ID)
	if err != nil || len(got.Turns) != 4 || got.Turns[2].Content != secret {
		t.Fatalf("before the shred: %+v, %v", got, err)
	}
	if _, err := db.Shred(ctx, "contoso"); err != nil {
		t.Fatal(err)
	}

	got, err = db.Conversation(ctx, "msp", conv.ID)
	if err != nil {
		t.Fatalf("after the shred: %v", err)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "203.0.113.7") || strings.Contains(string(b), "alex@contoso.com") {
		t.Errorf("contoso's data is still readable in the MSP's file after contoso was shredded: %s", b)
	}
	ex := exported()
	if strings.Contains(ex, "203.0.113.7") || strings.Contains(ex, "alex@contoso.com") {
		t.Errorf("contoso's data is still readable in the MSP's audit after contoso was shredded: %s", ex)
	}
	if !strings.Contains(ex, "what happened to alex at contoso?") || !strings.Contains(ex, "since shredded") {
		t.Errorf("the MSP's own records, or the note of what was shredded, are gone: %s", ex)
	}
	if n, err := db.Verify(ctx, "msp"); err != nil || n != 3 {
		t.Errorf("the MSP's chain: %d, %v", n, err)
	}
	// Not with the MSP's keys either: the raw record, opened with them.
	f, err := db.acquire(ctx, "msp", false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil {
		t.Fatal(err)
	}
	f.view(func(tx *bolt.Tx) error {
		for _, bucket := range [][]byte{conversationsBucket, auditBucket} {
			tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				if bytes.Equal(bucket, auditBucket) {
					v = v[recordHeader:]
				}
				plain, err := kr.unseal(bucket, k, v)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(plain, []byte("203.0.113.7")) || bytes.Contains(plain, []byte("alex@contoso.com")) {
					t.Errorf("the MSP's keys open contoso's data in %s: %s", bucket, plain)
				}
				return nil
			})
		}
		return nil
	})
	// The technician carries on in the same conversation.
	got.Turns = append(got.Turns, tierzero.Turn{Role: tierzero.TurnUser, Content: "thanks", Time: t0})
	if err := db.SaveConversation(ctx, "msp", got); err != nil {
		t.Fatal(err)
	}
	if c, err := db.Conversation(ctx, "msp", conv.ID); err != nil || len(c.Turns) == 0 || c.Turns[len(c.Turns)-1].Content != "thanks" {
		t.Errorf("after carrying on: %+v, %v", c, err)
	}
}
