package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCredential(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	if _, ok, err := db.Credential(ctx, "contoso", "graph_refresh_token"); err != nil || ok {
		t.Fatalf("empty store: ok %v, err %v", ok, err)
	}
	const token = "0.ARoA-refresh-token-value-do-not-leak"
	if err := db.PutCredential(ctx, "contoso", "graph_refresh_token", token); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Credential(ctx, "contoso", "graph_refresh_token")
	if err != nil || !ok || got != token {
		t.Fatalf("Credential = %q, %v, %v", got, ok, err)
	}
	if _, ok, _ := db.Credential(ctx, "fabrikam", "graph_refresh_token"); ok {
		t.Fatal("a credential leaked to another tenant")
	}
	if err := db.PutCredential(ctx, "contoso", "graph_refresh_token", "rotated-token"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := db.Credential(ctx, "contoso", "graph_refresh_token"); got != "rotated-token" {
		t.Fatalf("after rotation: %q", got)
	}
	if _, err := db.Shred(ctx, "contoso"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Credential(ctx, "contoso", "graph_refresh_token"); err == nil {
		t.Fatal("a shredded tenant's credential still opens")
	}
	db.Close()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("refresh-token-value")) || bytes.Contains(b, []byte("rotated-token")) {
			t.Fatalf("%s holds a refresh token in clear", p)
		}
		return nil
	})
}
