package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

func TestRef(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	conv := json.RawMessage(`{"serviceUrl":"https://smba.example/emea/","conversation":{"id":"a:conv-77"}}`)
	newer := json.RawMessage(`{"serviceUrl":"https://smba.example/emea/","conversation":{"id":"a:conv-78"}}`)
	user := json.RawMessage(`{"channel":"D0SLACKDM"}`)
	tests := []struct {
		name   string
		put    func() error
		tenant tierzero.TenantID
		key    string
		want   string // "" when none
	}{
		{"missing", nil, "contoso", "conv:19:abc", ""},
		{"put", func() error { return db.PutRef(ctx, "contoso", "conv:19:abc", conv) }, "contoso", "conv:19:abc", string(conv)},
		{"replace", func() error { return db.PutRef(ctx, "contoso", "conv:19:abc", newer) }, "contoso", "conv:19:abc", string(newer)},
		{"another key", func() error { return db.PutRef(ctx, "contoso", "user:slack:adele.vance@contoso.com", user) }, "contoso", "user:slack:adele.vance@contoso.com", string(user)},
		{"first key kept", nil, "contoso", "conv:19:abc", string(newer)},
		{"not in another tenant", nil, "fabrikam", "conv:19:abc", ""},
		{"another tenant's own", func() error { return db.PutRef(ctx, "fabrikam", "conv:19:abc", user) }, "fabrikam", "conv:19:abc", string(user)},
		{"and the first tenant's unchanged", nil, "contoso", "conv:19:abc", string(newer)},
	}
	for _, tt := range tests {
		if tt.put != nil {
			if err := tt.put(); err != nil {
				t.Fatalf("%s: PutRef: %v", tt.name, err)
			}
		}
		ref, ok, err := db.Ref(ctx, tt.tenant, tt.key)
		if err != nil {
			t.Fatalf("%s: Ref: %v", tt.name, err)
		}
		if ok != (tt.want != "") || string(ref) != tt.want {
			t.Errorf("%s: Ref(%s, %s) = %s, %v; want %q", tt.name, tt.tenant, tt.key, ref, ok, tt.want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"smba.example", "conv-7", "D0SLACKDM", "conv:19:abc", "adele.vance"} {
		assertNotInFiles(t, dir, s)
	}
}

func TestRefInvalid(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	long := strings.Repeat("k", maxIDLen+1)
	tests := []struct {
		name string
		key  string
		ref  json.RawMessage
	}{
		{"no key", "", json.RawMessage(`{}`)},
		{"key too long", long, json.RawMessage(`{}`)},
		{"no reference", "conv:1", nil},
		{"not JSON", "conv:1", json.RawMessage(`{"a":`)},
	}
	for _, tt := range tests {
		if err := db.PutRef(ctx, "contoso", tt.key, tt.ref); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("%s: PutRef = %v, want EInvalid", tt.name, err)
		}
	}
	for _, key := range []string{"", long} {
		if _, _, err := db.Ref(ctx, "contoso", key); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("Ref(%.8q) = %v, want EInvalid", key, err)
		}
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("refused references created files %v", got)
	}
}
