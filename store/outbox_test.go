package store

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

func outbound(tenant tierzero.TenantID, id string, created time.Time) tierzero.Outbound {
	return tierzero.Outbound{
		ID:           id,
		Tenant:       tenant,
		Channel:      tierzero.ChannelTeams,
		Conversation: "19:meeting_abc@thread.v2",
		Ref:          json.RawMessage(`{"serviceUrl":"https://smba.example/amer/","conversation":{"id":"a:1xyz"}}`),
		To:           tierzero.Requester{Tenant: tenant, UPN: "adele.vance@contoso.com", ObjectID: "0b9a", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelTeams},
		Text:         "Your temporary access pass is ready",
		Attempts:     2,
		Next:         created.Add(time.Minute),
		Created:      created,
	}
}

func outboxIDs(t *testing.T, db *DB, tenant tierzero.TenantID) string {
	t.Helper()
	out, err := db.Outbox(context.Background(), tenant)
	if err != nil {
		t.Fatalf("Outbox(%s): %v", tenant, err)
	}
	var ids []string
	for _, o := range out {
		ids = append(ids, o.ID)
	}
	return strings.Join(ids, ",")
}

// outboundRecord lists Outbound's fields one by one: a field added to
// Outbound must be added to it too.
func TestOutboundRecordCoversOutbound(t *testing.T) {
	if got, want := reflect.TypeFor[tierzero.Outbound]().NumField(), 11; got != want {
		t.Errorf("tierzero.Outbound has %d fields, outboundRecord stores %d: update outbox.go and this test", got, want)
	}
}

func TestOutboxRoundTripSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const value = "TAP-Zq7!wX93kL"
	tests := []struct {
		name string
		o    tierzero.Outbound
	}{
		{"private note", func() tierzero.Outbound {
			o := outbound("contoso", "out-secret-1", t0)
			o.Secret = tierzero.NewSecret("temporary_access_pass", "Temporary Access Pass", value)
			return o
		}()},
		{"post to a thread", outbound("contoso", "out-post-2", t0.Add(time.Second))},
	}
	for _, tt := range tests {
		if err := db.PutOutbound(ctx, "contoso", tt.o); err != nil {
			t.Fatalf("%s: PutOutbound: %v", tt.name, err)
		}
	}
	got, err := db.Outbox(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tests) {
		t.Fatalf("Outbox holds %d, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		if !reflect.DeepEqual(got[i], tt.o) {
			t.Errorf("%s: Outbox gave %+v, want %+v", tt.name, got[i], tt.o)
		}
	}
	if s := got[0].Secret; s.Reveal() != value || s.Kind != "temporary_access_pass" || s.Label != "Temporary Access Pass" || !got[0].Private() {
		t.Errorf("secret came back as %v %q", s, s.Label)
	}
	if got[1].Private() {
		t.Error("a post came back as a private note")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{value, "Your temporary access pass", "out-secret-1", "adele.vance", "smba.example", "meeting_abc"} {
		assertNotInFiles(t, dir, s)
	}
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	put := func(tenant tierzero.TenantID, o tierzero.Outbound) func() error {
		return func() error { return db.PutOutbound(ctx, tenant, o) }
	}
	del := func(tenant tierzero.TenantID, id string) func() error {
		return func() error { return db.DeleteOutbound(ctx, tenant, id) }
	}
	retried := outbound("contoso", "b", t0.Add(2*time.Second))
	retried.Attempts, retried.Text = 3, "retried"
	tests := []struct {
		name     string
		do       func() error
		contoso  string
		fabrikam string
	}{
		{"first", put("contoso", outbound("contoso", "b", t0.Add(2*time.Second))), "b", ""},
		{"older goes first", put("contoso", outbound("contoso", "c", t0)), "c,b", ""},
		{"same time, by id", put("contoso", outbound("contoso", "a", t0)), "a,c,b", ""},
		{"replace keeps one", put("contoso", retried), "a,c,b", ""},
		{"other tenant", put("fabrikam", outbound("fabrikam", "b", t0)), "a,c,b", "b"},
		{"delete", del("contoso", "c"), "a,b", "b"},
		{"delete missing", del("contoso", "c"), "a,b", "b"},
		{"delete in other tenant", del("fabrikam", "b"), "a,b", ""},
	}
	for _, tt := range tests {
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := outboxIDs(t, db, "contoso"); got != tt.contoso {
			t.Errorf("%s: contoso outbox = %q, want %q", tt.name, got, tt.contoso)
		}
		if got := outboxIDs(t, db, "fabrikam"); got != tt.fabrikam {
			t.Errorf("%s: fabrikam outbox = %q, want %q", tt.name, got, tt.fabrikam)
		}
	}
	out, err := db.Outbox(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	if o := out[1]; o.Attempts != 3 || o.Text != "retried" {
		t.Errorf("replaced outbound = %+v, want attempts 3 and the new text", o)
	}

	// A zero Created is set to Now (the test clock's first call: t0+1s).
	o := outbound("contoso", "d", time.Time{})
	o.Next = time.Time{}
	if err := db.PutOutbound(ctx, "contoso", o); err != nil {
		t.Fatal(err)
	}
	if got, want := outboxIDs(t, db, "contoso"), "a,d,b"; got != want {
		t.Errorf("outbox = %q, want %q", got, want)
	}
	if out, _ := db.Outbox(ctx, "contoso"); len(out) != 3 || !out[1].Created.Equal(t0.Add(time.Second)) {
		t.Errorf("outbox = %+v, want d created at %v", out, t0.Add(time.Second))
	}
}

func TestPutOutboundInvalid(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	long := strings.Repeat("x", maxIDLen+1)
	tests := []struct {
		name string
		edit func(o *tierzero.Outbound)
	}{
		{"no id", func(o *tierzero.Outbound) { o.ID = "" }},
		{"id too long", func(o *tierzero.Outbound) { o.ID = long }},
		{"another tenant's", func(o *tierzero.Outbound) { o.Tenant = "fabrikam" }},
		{"conversation too long", func(o *tierzero.Outbound) { o.Conversation = tierzero.ConversationID(long) }},
		{"reference not JSON", func(o *tierzero.Outbound) { o.Ref = json.RawMessage("nope") }},
	}
	for _, tt := range tests {
		o := outbound("contoso", "o1", t0)
		tt.edit(&o)
		if err := db.PutOutbound(ctx, "contoso", o); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("%s: PutOutbound = %v, want EInvalid", tt.name, err)
		}
	}
	for _, id := range []string{"", long} {
		if err := db.DeleteOutbound(ctx, "contoso", id); tierzero.ErrorCode(err) != tierzero.EInvalid {
			t.Errorf("DeleteOutbound(%.8q) = %v, want EInvalid", id, err)
		}
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("refused outbounds created files %v", got)
	}
}
