package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// rawUpdate changes a tenant's file directly, as an attacker or a bug with
// access to the file would; the store must be closed.
func rawUpdate(t *testing.T, dir string, tenant tierzero.TenantID, fn func(tx *bolt.Tx) error) {
	t.Helper()
	bdb, err := bolt.Open(filepath.Join(dir, "tenants", string(tenant)+".db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// rawGet returns a copy of a stored value.
func rawGet(t *testing.T, dir string, tenant tierzero.TenantID, bucket, key []byte) []byte {
	t.Helper()
	var v []byte
	rawUpdate(t, dir, tenant, func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			v = bytes.Clone(b.Get(key))
		}
		return nil
	})
	if v == nil {
		t.Fatalf("no %s/%x in %s", bucket, key, tenant)
	}
	return v
}

func saveConv(t testing.TB, db *DB, tenant tierzero.TenantID, id tierzero.ConversationID, text string) {
	t.Helper()
	c := tierzero.Conversation{ID: id, Tenant: tenant, Turns: []tierzero.Turn{{Role: tierzero.TurnUser, Content: text, Time: t0}}}
	if err := db.SaveConversation(context.Background(), tenant, c); err != nil {
		t.Fatal(err)
	}
}

func convText(db *DB, tenant tierzero.TenantID, id tierzero.ConversationID) (string, error) {
	c, err := db.Conversation(context.Background(), tenant, id)
	if err != nil {
		return "", err
	}
	if len(c.Turns) == 0 {
		return "", nil
	}
	return c.Turns[0].Content, nil
}

func mustAppend(t testing.TB, db *DB, tenant tierzero.TenantID, ev tierzero.AuditEvent) {
	t.Helper()
	if err := db.Append(context.Background(), tenant, ev); err != nil {
		t.Fatal(err)
	}
}

// TestRawFilesHoldNoPlaintext scans every file under the data directory
// after conversations, audit events, deliveries and intents carrying a UPN,
// message text and a temporary password were written.
func TestRawFilesHoldNoPlaintext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const (
		upn      = "adele.vance@contoso.com"
		text     = "I forgot my password and my laptop is locked"
		password = "Tmp-Zq81!vXr"
		convID   = "slack-T024BE7LD-C024BE91L-1700000000.123456"
		delivery = "Ev024BE91LBUTTON"
		display  = "Adele Vance"
	)
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
		c := tierzero.Conversation{ID: convID, Tenant: tenant, Turns: []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: text + " (" + display + ")", Time: t0},
			{Role: tierzero.TurnTool, Content: `{"upn":"` + upn + `","temporaryPassword":"` + password + `"}`, Time: t0},
		}}
		if err := db.SaveConversation(ctx, tenant, c); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Conversation: convID, Requester: upn, Text: text})
		mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditExecuted, Requester: upn, Tool: "user.reset_password",
			Args: []byte(`{"user":"` + upn + `"}`), Output: []byte(`{"note":"` + password + `"}`)})
		if _, err := db.Dedupe(ctx, tenant, delivery, time.Hour); err != nil {
			t.Fatal(err)
		}
		in := tierzero.Intent{ID: "intent-" + upn, Action: "user.reset_password", Args: []byte(`{"user":"` + upn + `"}`), Requester: upn, Conversation: convID}
		if err := db.BeginIntent(ctx, tenant, in); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishIntent(ctx, tenant, in.ID, tierzero.IntentDone, "reset "+upn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RotateKey(ctx, "contoso"); err != nil {
		t.Fatal(err)
	}
	saveConv(t, db, "contoso", convID, text)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	paths := files(t, dir)
	if len(paths) < 4 {
		t.Fatalf("files = %v", paths)
	}
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{upn, "adele.vance", text, "forgot my password", password, convID, delivery, display, string(testKey)} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in clear", p, s)
			}
		}
	}
}

// TestValuesBoundToRecordAndTenant moves ciphertext around inside and
// between tenant files: nothing opens where it does not belong.
func TestValuesBoundToRecordAndTenant(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	saveConv(t, db, "contoso", "c1", "contoso one")
	saveConv(t, db, "contoso", "c2", "contoso two")
	saveConv(t, db, "fabrikam", "c1", "fabrikam one")
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "contoso audit 1"})
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "contoso audit 2"})
	mustAppend(t, db, "fabrikam", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "fabrikam audit 1"})
	f, err := db.acquire(ctx, "contoso", false)
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := db.keyring(f, false)
	c1, c2 := kr.mac("conversations", "c1"), kr.mac("conversations", "c2")
	db.release(f)
	f, _ = db.acquire(ctx, "fabrikam", false)
	kr, _ = db.keyring(f, false)
	fc1 := kr.mac("conversations", "c1")
	db.release(f)
	if bytes.Equal(c1, fc1) {
		t.Fatal("two tenants derive the same record key for a conversation id")
	}
	db.Close()

	reopen := func() *DB { return openTest(t, dir, Options{}) }
	wantFail := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: opened, want an error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}

	// Within a tenant: conversation c2's value under c1's key.
	orig := rawGet(t, dir, "contoso", conversationsBucket, c1)
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error {
		b := tx.Bucket(conversationsBucket)
		return b.Put(c1, bytes.Clone(b.Get(c2)))
	})
	db = reopen()
	_, err = convText(db, "contoso", "c1")
	wantFail("value moved to another record", err)
	if got, err := convText(db, "contoso", "c2"); err != nil || got != "contoso two" {
		t.Errorf("c2 = %q, %v", got, err)
	}
	db.Close()
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error { return tx.Bucket(conversationsBucket).Put(c1, orig) })

	// Between tenants: contoso's sealed conversation and audit record in
	// fabrikam's file, at the matching record keys.
	cv := rawGet(t, dir, "contoso", conversationsBucket, c1)
	av := rawGet(t, dir, "contoso", auditBucket, seqKey(1))
	fabConv := rawGet(t, dir, "fabrikam", conversationsBucket, fc1)
	fabAudit := rawGet(t, dir, "fabrikam", auditBucket, seqKey(1))
	rawUpdate(t, dir, "fabrikam", func(tx *bolt.Tx) error {
		if err := tx.Bucket(conversationsBucket).Put(fc1, cv); err != nil {
			return err
		}
		return tx.Bucket(auditBucket).Put(seqKey(1), av)
	})
	db = reopen()
	_, err = convText(db, "fabrikam", "c1")
	wantFail("contoso conversation in fabrikam", err)
	wantFail("contoso audit record in fabrikam", db.Audit(ctx, "fabrikam", time.Time{}, func(tierzero.AuditEvent) error { return nil }))
	if got, err := convText(db, "contoso", "c1"); err != nil || got != "contoso one" {
		t.Errorf("contoso c1 = %q, %v", got, err)
	}
	db.Close()
	rawUpdate(t, dir, "fabrikam", func(tx *bolt.Tx) error {
		if err := tx.Bucket(conversationsBucket).Put(fc1, fabConv); err != nil {
			return err
		}
		return tx.Bucket(auditBucket).Put(seqKey(1), fabAudit)
	})

	// Another key id: the value names data key 2, which fabrikam lacks, and
	// contoso's key 2 (after a rotation) did not seal it.
	db = reopen()
	if _, err := db.RotateKey(ctx, "contoso"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	moved := rawGet(t, dir, "contoso", conversationsBucket, c1)
	binary.BigEndian.PutUint32(moved, 2)
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error { return tx.Bucket(conversationsBucket).Put(c1, moved) })
	db = reopen()
	_, err = convText(db, "contoso", "c1")
	wantFail("value relabelled with another key id", err)
	db.Close()
	rawUpdate(t, dir, "contoso", func(tx *bolt.Tx) error { return tx.Bucket(conversationsBucket).Put(c1, orig) })

	// A wrapped data key copied into another tenant does not unwrap there.
	wk := rawGet(t, dir, "contoso", keysBucket, dataKeyName(1))
	rawUpdate(t, dir, "fabrikam", func(tx *bolt.Tx) error { return tx.Bucket(keysBucket).Put(dataKeyName(1), wk) })
	db = reopen()
	_, err = convText(db, "fabrikam", "c1")
	wantFail("contoso's wrapped data key in fabrikam", err)
	if got, err := convText(db, "contoso", "c1"); err != nil || got != "contoso one" {
		t.Errorf("contoso c1 after the restores = %q, %v", got, err)
	}
}

func TestShred(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
		saveConv(t, db, tenant, "c1", string(tenant)+" secret words")
		for range 3 {
			mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: string(tenant)})
		}
	}
	if _, err := db.RotateKey(ctx, "contoso"); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditReply})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wrapped := [][]byte{
		rawGet(t, dir, "contoso", keysBucket, dataKeyName(1)),
		rawGet(t, dir, "contoso", keysBucket, dataKeyName(2)),
		rawGet(t, dir, "contoso", keysBucket, indexKeyName),
	}

	db = openTest(t, dir, Options{})
	// The tenant is in use when Shred starts: Shred waits for it.
	if _, err := convText(db, "contoso", "c1"); err != nil {
		t.Fatal(err)
	}
	n, err := db.Shred(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("shredded %d data keys, want 2", n)
	}

	_, err = convText(db, "contoso", "c1")
	if !errors.Is(err, ErrShredded) || tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Errorf("contoso conversation after shred: %v, want ErrShredded (conflict)", err)
	}
	err = db.Audit(ctx, "contoso", time.Time{}, func(tierzero.AuditEvent) error { return nil })
	if !errors.Is(err, ErrShredded) {
		t.Errorf("contoso audit after shred: %v, want ErrShredded", err)
	}
	if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage}); !errors.Is(err, ErrShredded) {
		t.Errorf("Append after shred: %v, want ErrShredded", err)
	}
	if _, err := db.Dedupe(ctx, "contoso", "ev1", time.Hour); !errors.Is(err, ErrShredded) {
		t.Errorf("Dedupe after shred: %v, want ErrShredded", err)
	}
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 4 {
		t.Errorf("Verify after shred = %d, %v; want 4 records, ok", n, err)
	}
	if got, err := convText(db, "fabrikam", "c1"); err != nil || got != "fabrikam secret words" {
		t.Errorf("fabrikam after contoso's shred: %q, %v", got, err)
	}
	if got := len(collect(t, db, "fabrikam", time.Time{})); got != 3 {
		t.Errorf("fabrikam has %d audit events, want 3", got)
	}
	if n, err := db.Shred(ctx, "contoso"); err != nil || n != 0 {
		t.Errorf("second Shred = %d, %v; want 0, nil", n, err)
	}
	if _, err := db.Shred(ctx, "initech"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("Shred of an unknown tenant: %v, want not_found", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The wrapped keys are gone from every file, free pages included.
	for _, p := range files(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range wrapped {
			if bytes.Contains(b, w) {
				t.Errorf("%s still holds wrapped key %d", p, i)
			}
		}
		if strings.HasSuffix(p, ".shred") {
			t.Errorf("leftover %s", p)
		}
	}
	// The shredded chain still verifies: with the master key (Shred keeps
	// the audit key), and with the verification key alone.
	db = openTest(t, dir, Options{})
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 4 {
		t.Errorf("Verify after shred = %d, %v", n, err)
	}
	key, err := db.AuditKey(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	keyless := openTest(t, dir, Options{MasterKey: []byte{}})
	if v, err := keyless.VerifyAudit(ctx, "contoso", key); err != nil || v.Records != 4 {
		t.Errorf("keyless VerifyAudit after shred = %d, %v", v.Records, err)
	}
}

func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	saveConv(t, db, "contoso", "old", "sealed with key 1")
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "audit under key 1"})
	for want := uint32(2); want <= 3; want++ {
		id, err := db.RotateKey(ctx, "contoso")
		if err != nil || id != want {
			t.Fatalf("RotateKey = %d, %v; want %d", id, err, want)
		}
	}
	saveConv(t, db, "contoso", "new", "sealed with key 3")
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "audit under key 3"})
	if _, err := db.RotateKey(ctx, "initech"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("RotateKey of an unknown tenant: %v", err)
	}
	db.Close()

	if id := binary.BigEndian.Uint32(rawGet(t, dir, "contoso", auditBucket, seqKey(1))[recordHeader:]); id != 1 {
		t.Errorf("audit 1 sealed with key %d, want 1", id)
	}
	if id := binary.BigEndian.Uint32(rawGet(t, dir, "contoso", auditBucket, seqKey(2))[recordHeader:]); id != 3 {
		t.Errorf("audit 2 sealed with key %d, want 3", id)
	}
	db = openTest(t, dir, Options{})
	for id, want := range map[tierzero.ConversationID]string{"old": "sealed with key 1", "new": "sealed with key 3"} {
		if got, err := convText(db, "contoso", id); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", id, got, err, want)
		}
	}
	var texts []string
	for _, ev := range collect(t, db, "contoso", time.Time{}) {
		texts = append(texts, ev.Text)
	}
	if got, want := strings.Join(texts, ","), "audit under key 1,audit under key 3"; got != want {
		t.Errorf("audit texts = %s, want %s", got, want)
	}
	if n, err := db.Verify(ctx, "contoso"); err != nil || n != 2 {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

func TestRotateMaster(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	tenants := []tierzero.TenantID{"contoso", "fabrikam", "northwind"}
	for _, tenant := range tenants {
		saveConv(t, db, tenant, "c1", "hello "+string(tenant))
		mustAppend(t, db, tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	}
	if _, err := db.RotateKey(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Shred(ctx, "northwind"); err != nil {
		t.Fatal(err)
	}
	newKey := NewMasterKey()
	n, err := db.RotateMaster(ctx, newKey)
	if err != nil || n != 3 {
		t.Fatalf("RotateMaster = %d, %v", n, err)
	}
	// The same store keeps working, and new tenants get the new key.
	saveConv(t, db, "contoso", "c2", "after rotation")
	saveConv(t, db, "initech", "c1", "hello initech")
	db.Close()

	db = openTest(t, dir, Options{MasterKey: newKey})
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam", "initech"} {
		if got, err := convText(db, tenant, "c1"); err != nil || got != "hello "+string(tenant) {
			t.Errorf("%s with the new key: %q, %v", tenant, got, err)
		}
	}
	if got, err := convText(db, "contoso", "c2"); err != nil || got != "after rotation" {
		t.Errorf("contoso c2: %q, %v", got, err)
	}
	db.Close()

	db = openTest(t, dir, Options{}) // the old key
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam", "initech"} {
		_, err := convText(db, tenant, "c1")
		if err == nil || !strings.Contains(err.Error(), "another master key") {
			t.Errorf("%s with the old key: %v, want a refusal naming another master key", tenant, err)
		}
	}
}

func TestMasterKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "master.key")
	key := NewMasterKey()
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, key); err == nil {
		t.Error("WriteKeyFile overwrote an existing key file")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	got, err := ReadKeyFile(path)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("ReadKeyFile = %x, %v", got, err)
	}
	db := openTest(t, filepath.Join(dir, "data"), Options{KeyFile: path})
	saveConv(t, db, "contoso", "c1", "hi")
	db.Close()
	db = openTest(t, filepath.Join(dir, "data"), Options{MasterKey: key})
	if got, err := convText(db, "contoso", "c1"); err != nil || got != "hi" {
		t.Errorf("read with the key from the file: %q, %v", got, err)
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o700 | 0o040} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(filepath.Join(dir, "data"), Options{KeyFile: path})
		if err == nil || !strings.Contains(err.Error(), "group or others") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %#o: Open error = %v, want a refusal naming the file", mode, err)
		}
	}
	os.Chmod(path, 0o400)
	if _, err := ReadKeyFile(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}

	for _, s := range []string{"", "not base64!", EncodeMasterKey(key[:16]), EncodeMasterKey(append(key, 1))} {
		if _, err := ParseMasterKey(s); err == nil {
			t.Errorf("ParseMasterKey(%q) accepted", s)
		}
	}
	if k, err := ParseMasterKey(" " + EncodeMasterKey(key) + "\n"); err != nil || !bytes.Equal(k, key) {
		t.Errorf("ParseMasterKey with spaces: %v", err)
	}
	if _, err := Open(dir, Options{MasterKey: key[:31]}); err == nil {
		t.Error("Open accepted a 31-byte master key")
	}
}

func TestNoMasterKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	mustAppend(t, db, "contoso", tierzero.AuditEvent{Kind: tierzero.AuditMessage})
	db.Close()

	key := auditKey(t, dir, "contoso")
	db = openTest(t, dir, Options{MasterKey: []byte{}})
	if err := db.Append(ctx, "fabrikam", tierzero.AuditEvent{}); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("Append without a master key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", "fabrikam.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a tenant file was created without a master key: %v", err)
	}
	if _, err := convText(db, "contoso", "c1"); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("Conversation without a master key: %v", err)
	}
	if _, err := db.Verify(ctx, "contoso"); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("Verify without a master key nor a verification key: %v", err)
	}
	if v, err := db.VerifyAudit(ctx, "contoso", key); err != nil || v.Records != 1 {
		t.Errorf("VerifyAudit with the verification key alone = %d, %v", v.Records, err)
	}
}

// auditKey returns a tenant's audit verification key, read with testKey.
func auditKey(t *testing.T, dir string, tenant tierzero.TenantID) []byte {
	t.Helper()
	db, err := Open(dir, Options{MasterKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return auditKeyOf(t, db, tenant)
}
