package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/store"
)

// appendAs appends n records to tenant's chain with the data directory's
// master key.
func appendAs(t *testing.T, data string, tenant tierzero.TenantID, n int) {
	t.Helper()
	db, err := store.Open(data, store.Options{KeyFile: filepath.Join(data, "master.key")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range n {
		if err := db.Append(context.Background(), tenant, tierzero.AuditEvent{Kind: tierzero.AuditMessage, Text: "hello from " + string(tenant)}); err != nil {
			t.Fatal(err)
		}
	}
}

var headLine = regexp.MustCompile(`(?m)^head: (\d+:[0-9a-f]{64})$`)

// TestAuditVerifyDetectsAttacks (issue 15, item 6, "must show"): audit
// verify on a file whose tail was cut and its head rewritten, and on
// another tenant's file copied in place: both fail, naming the tenant and
// the record; the auditor's key and a kept head catch them too.
func TestAuditVerifyDetectsAttacks(t *testing.T) {
	setup := func(t *testing.T) (data, key string) {
		data = t.TempDir()
		chatOnce(t, noEnv, data)
		appendAs(t, data, "fabrikam", 3)
		r := run(t, noEnv, "", "audit", "verify-key", "--tenant", "fabrikam", "--data", data)
		if r.code != 0 {
			t.Fatalf("verify-key: %d %s", r.code, r.stderr)
		}
		return data, strings.TrimSpace(r.stdout)
	}
	t.Run("tail cut and head rewritten", func(t *testing.T) {
		data, _ := setup(t)
		r := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data)
		m := headLine.FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil {
			t.Fatalf("verify: %d %q %q", r.code, r.stdout, r.stderr)
		}
		// Cut records 6.. and write a head naming record 5, as an attacker
		// without the key can: copy the head file's own bytes around.
		bdb, err := bolt.Open(filepath.Join(data, "tenants", "contoso.db"), 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var last uint64
		bdb.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("audit"))
			last = b.Sequence()
			for s := uint64(6); s <= last; s++ {
				b.Delete([]byte{0, 0, 0, 0, 0, 0, 0, byte(s)})
			}
			return b.SetSequence(5)
		})
		bdb.Close()
		hp := filepath.Join(data, "heads", "contoso.head")
		h, _ := os.ReadFile(hp)
		for pos := 0; pos < 2; pos++ { // slot seq fields rewritten to 4 and 5
			off := pos * 128
			copy(h[off+4:off+12], []byte{0, 0, 0, 0, 0, 0, 0, byte(4 + pos)})
		}
		os.WriteFile(hp, h, 0o600)

		r = run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data)
		t.Logf("%s%s", r.stdout, r.stderr)
		if r.code != 1 || !strings.HasPrefix(r.stdout, "bad record 6:") || !strings.Contains(r.stderr, "tenant contoso fails verification at record 6") {
			t.Errorf("verify of a cut tail with a rewritten head: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("another tenant's file copied in place", func(t *testing.T) {
		data, fabKey := setup(t)
		for _, f := range []string{"tenants/contoso.db", "heads/contoso.head"} {
			b, _ := os.ReadFile(filepath.Join(data, f))
			os.WriteFile(filepath.Join(data, strings.Replace(f, "contoso", "fabrikam", 1)), b, 0o600)
		}
		for _, args := range [][]string{
			{"audit", "verify", "--tenant", "fabrikam", "--data", data},
			{"audit", "verify", "--tenant", "fabrikam", "--key", fabKey, "--data", data},
		} {
			r := run(t, noEnv, "", args...)
			t.Logf("%s%s", r.stdout, r.stderr)
			if r.code != 1 || !strings.HasPrefix(r.stdout, "bad record 1:") || !strings.Contains(r.stderr, "tenant fabrikam fails verification at record 1") {
				t.Errorf("%v: exit %d, %q %q", args, r.code, r.stdout, r.stderr)
			}
		}
		if r := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data); r.code != 0 {
			t.Errorf("contoso: %d %s", r.code, r.stderr)
		}
	})
	t.Run("a kept head catches a rollback of file and head together", func(t *testing.T) {
		data, _ := setup(t)
		for _, f := range []string{"tenants/fabrikam.db", "heads/fabrikam.head"} {
			b, _ := os.ReadFile(filepath.Join(data, f))
			os.WriteFile(filepath.Join(data, f+".bak"), b, 0o600)
		}
		appendAs(t, data, "fabrikam", 2)
		r := run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--data", data)
		m := headLine.FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil || !strings.HasPrefix(m[1], "5:") {
			t.Fatalf("verify: %d %q %q", r.code, r.stdout, r.stderr)
		}
		appendAs(t, data, "fabrikam", 1)
		if r := run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--head", m[1], "--data", data); r.code != 0 {
			t.Fatalf("verify with a kept head after more records: %d %q %q", r.code, r.stdout, r.stderr)
		}
		for _, f := range []string{"tenants/fabrikam.db", "heads/fabrikam.head"} {
			os.Rename(filepath.Join(data, f+".bak"), filepath.Join(data, f))
		}
		if r := run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--data", data); r.code != 0 {
			t.Fatalf("a consistent rollback verifies without a kept head (documented): %d %q", r.code, r.stderr)
		}
		r = run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--head", m[1], "--data", data)
		if r.code != 1 || !strings.HasPrefix(r.stdout, "bad record 5:") {
			t.Errorf("rollback with a kept head: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
		if r := run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--head", "5:xyz", "--data", data); r.code != 2 {
			t.Errorf("malformed --head: exit %d", r.code)
		}
	})
}

// TestAuditVerifyDamagedFile (issue 15, item 7): a truncated tenant file
// is a clear error naming the tenant and the file; other tenants verify.
func TestAuditVerifyDamagedFile(t *testing.T) {
	data := t.TempDir()
	chatOnce(t, noEnv, data)
	appendAs(t, data, "fabrikam", 2)
	path := filepath.Join(data, "tenants", "contoso.db")
	if err := os.Truncate(path, 4*4096); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() { done <- run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data) }()
	select {
	case r := <-done:
		if r.code != 1 || !strings.Contains(r.stderr, "tenant contoso") || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "damaged") {
			t.Errorf("verify of a truncated file: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("audit verify of a truncated file hangs")
	}
	if r := run(t, noEnv, "", "audit", "verify", "--tenant", "fabrikam", "--data", data); r.code != 0 {
		t.Errorf("fabrikam: %d %s", r.code, r.stderr)
	}
	if r := run(t, noEnv, "", "audit", "export", "--tenant", "contoso", "--data", data); r.code != 1 || !strings.Contains(r.stderr, path) {
		t.Errorf("export of a truncated file: exit %d, %q", r.code, r.stderr)
	}
}

func TestAuditUpgradeCommand(t *testing.T) {
	data := t.TempDir()
	chatOnce(t, noEnv, data)
	r := run(t, noEnv, "", "audit", "upgrade", "--data", data)
	if r.code != 0 || r.stdout != "tenant contoso: already signed\n" {
		t.Errorf("upgrade of a signed store: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}
