package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tierzero/tierzero/store"
)

// chatOnce runs one offline chat on the in-process simulator and returns
// the temporary password it delivered privately.
func chatOnce(t *testing.T, env func(string) string, data string) (string, result) {
	t.Helper()
	r := run(t, env, "I forgot my password\n", "chat", "--tenant", "contoso", "--as", employee, "--data", data)
	if r.code != 0 {
		t.Fatalf("chat exited %d: %s", r.code, r.stderr)
	}
	m := privateLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no private line in:\n%s", r.stdout)
	}
	return m[2], r
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var createdKey = regexp.MustCompile(`created a new master key at (\S+); back it up`)

func TestMasterKeyCreatedOnce(t *testing.T) {
	data := t.TempDir()
	_, r := chatOnce(t, noEnv, data)
	m := createdKey.FindAllStringSubmatch(r.stderr, -1)
	if len(m) != 1 || m[0][1] != filepath.Join(data, "master.key") {
		t.Fatalf("stderr = %q, want one line saying the key was created at %s", r.stderr, filepath.Join(data, "master.key"))
	}
	fi, err := os.Stat(filepath.Join(data, "master.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v, %v; want mode 0600", fi, err)
	}
	_, r = chatOnce(t, noEnv, data)
	if strings.Contains(r.stderr, "master key") {
		t.Errorf("second run mentions the master key again: %q", r.stderr)
	}
	if recs, _ := auditExport(t, data); len(recs) != 16 {
		t.Errorf("audit export after two chats: %d records, want 16", len(recs))
	}
}

// TestNothingInClearOnDisk scans every file under the data directory after
// a chat that reset a password.
func TestNothingInClearOnDisk(t *testing.T) {
	data := t.TempDir()
	password, r := chatOnce(t, noEnv, data)
	if recs, raw := auditExport(t, data); len(recs) != 8 || !strings.Contains(raw, "I forgot my password") {
		t.Fatalf("audit export (decrypted) = %d records:\n%s", len(recs), raw)
	}
	key, _ := os.ReadFile(filepath.Join(data, "master.key"))
	n := 0
	err := filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "master.key" {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range []string{password, employee, "adele.vance", "Adele Vance", "I forgot my password", "forgot", strings.TrimSpace(string(key))} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in clear", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("scanned %d files", n)
	}
	_ = r
}

func TestMasterKeySources(t *testing.T) {
	t.Run("group-readable key file refused", func(t *testing.T) {
		data := t.TempDir()
		chatOnce(t, noEnv, data)
		os.Chmod(filepath.Join(data, "master.key"), 0o640)
		for _, args := range [][]string{
			{"audit", "export", "--tenant", "contoso", "--data", data},
			{"chat", "--tenant", "contoso", "--as", employee, "--data", data},
			{"tenant", "rotate-key", "contoso", "--data", data},
		} {
			r := run(t, noEnv, "hi\n", args...)
			if r.code != 1 || !strings.Contains(r.stderr, "must not be accessible to group or others") {
				t.Errorf("%v: exit %d, stderr %q; want a refusal", args, r.code, r.stderr)
			}
		}
	})
	t.Run("env key, no file", func(t *testing.T) {
		data := t.TempDir()
		env := envOf(map[string]string{"TIERZERO_MASTER_KEY": store.EncodeMasterKey(store.NewMasterKey())})
		_, r := chatOnce(t, env, data)
		if strings.Contains(r.stderr, "master key") {
			t.Errorf("stderr mentions a master key: %q", r.stderr)
		}
		if _, err := os.Stat(filepath.Join(data, "master.key")); !os.IsNotExist(err) {
			t.Errorf("a key file was created although TIERZERO_MASTER_KEY is set: %v", err)
		}
		if r := run(t, env, "", "audit", "export", "--tenant", "contoso", "--data", data); r.code != 0 {
			t.Errorf("export with the env key: %d %s", r.code, r.stderr)
		}
		// Without the key, the data is not silently given a new one.
		r = run(t, noEnv, "", "audit", "export", "--tenant", "contoso", "--data", data)
		if r.code != 1 || !strings.Contains(r.stderr, "holds tenant data") {
			t.Errorf("export without a key: exit %d, %q", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(data, "master.key")); !os.IsNotExist(err) {
			t.Errorf("a key file was created for existing data: %v", err)
		}
		// Another key opens nothing.
		other := envOf(map[string]string{"TIERZERO_MASTER_KEY": store.EncodeMasterKey(store.NewMasterKey())})
		r = run(t, other, "", "audit", "export", "--tenant", "contoso", "--data", data)
		if r.code != 1 || !strings.Contains(r.stderr, "another master key") {
			t.Errorf("export with another key: exit %d, %q", r.code, r.stderr)
		}
	})
	t.Run("malformed env key", func(t *testing.T) {
		r := run(t, envOf(map[string]string{"TIERZERO_MASTER_KEY": "c2hvcnQ="}), "", "audit", "export", "--tenant", "contoso", "--data", t.TempDir())
		if r.code != 1 || !strings.Contains(r.stderr, "TIERZERO_MASTER_KEY: master key is 5 bytes, want 32") {
			t.Errorf("exit %d, %q", r.code, r.stderr)
		}
	})
}

func TestAuditVerifyCommand(t *testing.T) {
	data := t.TempDir()
	chatOnce(t, noEnv, data)
	r := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok 8 records\nhead: 8:") {
		t.Fatalf("verify: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Without the master key, the tenant's verification key does.
	vk := run(t, noEnv, "", "audit", "verify-key", "--tenant", "contoso", "--data", data)
	if vk.code != 0 || !strings.HasPrefix(vk.stdout, "tzak1:") {
		t.Fatalf("verify-key: exit %d, %q %q", vk.code, vk.stdout, vk.stderr)
	}
	os.Rename(filepath.Join(data, "master.key"), filepath.Join(data, "elsewhere.key"))
	if r := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "--key") {
		t.Fatalf("verify without any key: exit %d, %s", r.code, r.stderr)
	}
	if r := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--key", strings.TrimSpace(vk.stdout), "--data", data); r.code != 0 || !strings.HasPrefix(r.stdout, "ok 8 records") {
		t.Fatalf("verify with the verification key: exit %d, %s", r.code, r.stderr)
	}
	os.Rename(filepath.Join(data, "elsewhere.key"), filepath.Join(data, "master.key"))

	bdb, err := bolt.Open(filepath.Join(data, "tenants", "contoso.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("audit")).Delete([]byte{0, 0, 0, 0, 0, 0, 0, 3})
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	r = run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "bad record 3: missing") || !strings.Contains(r.stderr, "fails verification at record 3") {
		t.Errorf("verify after deleting record 3: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audit", "verify", "--tenant", "fabrikam", "--data", data}, 1, "no data for tenant fabrikam"},
		{[]string{"audit", "verify", "--data", data}, 2, "needs --tenant"},
		{[]string{"audit", "verify", "--tenant", "../x", "--data", data}, 2, "invalid tenant id"},
		{[]string{"audit", "verify", "--tenant", "contoso", "--data", filepath.Join(data, "nope")}, 1, "no tierzero data in"},
	} {
		r := run(t, noEnv, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
}

func TestTenantKeyCommands(t *testing.T) {
	data := t.TempDir()
	password, _ := chatOnce(t, noEnv, data)
	keyPath := filepath.Join(data, "master.key")

	r := run(t, noEnv, "", "tenant", "rotate-key", "contoso", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "data key 2 now encrypts new values") {
		t.Fatalf("rotate-key: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	chatOnce(t, noEnv, data)

	oldKey, _ := os.ReadFile(keyPath)
	r = run(t, noEnv, "", "tenant", "rotate-master", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "1 tenants re-wrapped") || !strings.Contains(r.stdout, "replaced "+keyPath) {
		t.Fatalf("rotate-master: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	newKey, _ := os.ReadFile(keyPath)
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("master.key unchanged")
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("new key file mode %v", fi.Mode())
	}
	if _, err := os.Stat(keyPath + ".new"); !os.IsNotExist(err) {
		t.Errorf("master.key.new left behind: %v", err)
	}
	if recs, raw := auditExport(t, data); len(recs) != 16 || strings.Contains(raw, password) {
		t.Fatalf("after rotations: %d records", len(recs))
	}
	old := envOf(map[string]string{"TIERZERO_MASTER_KEY": strings.TrimSpace(string(oldKey))})
	if r := run(t, old, "", "audit", "export", "--tenant", "contoso", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "another master key") {
		t.Errorf("the old master key still opens the data: exit %d %q", r.code, r.stderr)
	}

	// From the environment to the environment.
	cur := strings.TrimSpace(string(newKey))
	next := store.EncodeMasterKey(store.NewMasterKey())
	os.Remove(keyPath)
	r = run(t, envOf(map[string]string{"TIERZERO_MASTER_KEY": cur, "TIERZERO_NEW_MASTER_KEY": next}), "", "tenant", "rotate-master", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "Set TIERZERO_MASTER_KEY to the new key") {
		t.Fatalf("rotate-master from env: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, envOf(map[string]string{"TIERZERO_MASTER_KEY": next}), "", "audit", "export", "--tenant", "contoso", "--data", data); r.code != 0 {
		t.Errorf("export with the rotated env key: %d %s", r.code, r.stderr)
	}
	env := envOf(map[string]string{"TIERZERO_MASTER_KEY": next})

	// Shred: refused without confirmation, then done.
	for _, stdin := range []string{"", "no\n", "fabrikam\n"} {
		r := run(t, env, stdin, "tenant", "shred", "contoso", "--data", data)
		if r.code != 1 || !strings.Contains(r.stderr, "nothing was shredded") || !strings.Contains(r.stdout, "Type the tenant id") {
			t.Errorf("shred with %q: exit %d, %q %q", stdin, r.code, r.stdout, r.stderr)
		}
	}
	if r := run(t, env, "", "audit", "export", "--tenant", "contoso", "--data", data); r.code != 0 {
		t.Fatalf("export after refused shreds: %d %s", r.code, r.stderr)
	}
	r = run(t, env, "contoso\n", "tenant", "shred", "contoso", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "tenant contoso shredded: 2 data keys") {
		t.Fatalf("shred: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, env, "", "audit", "export", "--tenant", "contoso", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "the data of tenant contoso was shredded") {
		t.Errorf("export after shred: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, env, "", "audit", "verify", "--tenant", "contoso", "--data", data); r.code != 0 || !strings.HasPrefix(r.stdout, "ok 16 records\n") {
		t.Errorf("verify after shred: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, env, "", "tenant", "shred", "fabrikam", "--yes", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "no data for tenant fabrikam") {
		t.Errorf("shred of an unknown tenant: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, env, "", "tenant", "rotate-key", "Bad/Id", "--data", data); r.code != 2 {
		t.Errorf("rotate-key of a bad id: exit %d, %q", r.code, r.stderr)
	}
}

func TestStoreCommandsHelp(t *testing.T) {
	for _, args := range [][]string{
		{"tenant", "--help"},
		{"tenant", "rotate-key", "--help"},
		{"tenant", "rotate-master", "--help"},
		{"tenant", "shred", "--help"},
		{"audit", "verify", "--help"},
		{"audit", "verify-key", "--help"},
		{"audit", "upgrade", "--help"},
	} {
		r := run(t, noEnv, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
}
