package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

func inbound(tenant tierzero.TenantID, delivery, text string) tierzero.Inbound {
	return tierzero.Inbound{
		Delivery:     delivery,
		Channel:      tierzero.ChannelSlack,
		Tenant:       tenant,
		Conversation: "C123:1700000000.000100",
		User:         tierzero.PlatformUser{ID: "U042", UPN: "adele.vance@contoso.com", DisplayName: "Adele Vance"},
		Text:         text,
		Time:         t0,
		Ref:          json.RawMessage(`{"channel":"C123","thread":"1700000000.000100"}`),
	}
}

func inboxTexts(t *testing.T, db *DB, tenant tierzero.TenantID) []string {
	t.Helper()
	items, err := db.Inbox(context.Background(), tenant)
	if err != nil {
		t.Fatalf("Inbox(%s): %v", tenant, err)
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%d:%s", it.Seq, it.Inbound.Text))
	}
	return got
}

func TestAcceptConcurrentDeliveryQueuedOnce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	in := inbound("contoso", "Ev0123", "reset my password")
	const n = 8
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		firsts int
		errs   []error
	)
	for range n {
		wg.Go(func() {
			_, first, err := db.Accept(ctx, "contoso", in, time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if first {
				firsts++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Accept: %v", errs)
	}
	if firsts != 1 {
		t.Errorf("%d of %d concurrent Accepts were first, want 1", firsts, n)
	}
	if got, want := strings.Join(inboxTexts(t, db, "contoso"), ","), "1:reset my password"; got != want {
		t.Errorf("inbox = %q, want %q", got, want)
	}
}

func TestAccept(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	item, first, err := db.Accept(ctx, "contoso", inbound("contoso", "Ev1", "one"), time.Hour)
	if err != nil || !first {
		t.Fatalf("Accept = %v, %v; want first", first, err)
	}
	want := tierzero.InboxItem{Seq: 1, Inbound: inbound("contoso", "Ev1", "one")}
	if item.Seq != want.Seq || !item.Started.IsZero() || item.Inbound.Text != "one" {
		t.Errorf("Accept returned %+v, want %+v", item, want)
	}
	items, err := db.Inbox(ctx, "contoso")
	if err != nil || len(items) != 1 {
		t.Fatalf("Inbox = %v, %v; want one item", items, err)
	}
	got := items[0]
	if got.Seq != 1 || !got.Started.IsZero() || got.Inbound.User != want.Inbound.User ||
		!got.Inbound.Time.Equal(t0) || string(got.Inbound.Ref) != string(want.Inbound.Ref) ||
		got.Inbound.Conversation != want.Inbound.Conversation || got.Inbound.Delivery != "Ev1" {
		t.Errorf("stored item = %+v, want %+v", got, want)
	}

	tests := []struct {
		name      string
		accept    func() (bool, error)
		wantFirst bool
	}{
		{"redelivery is not first", func() (bool, error) {
			_, first, err := db.Accept(ctx, "contoso", inbound("contoso", "Ev1", "one again"), time.Hour)
			return first, err
		}, false},
		{"Dedupe sees an accepted delivery", func() (bool, error) {
			return db.Dedupe(ctx, "contoso", "Ev1", time.Hour)
		}, false},
		{"a delivery Dedupe saw is not queued", func() (bool, error) {
			if _, err := db.Dedupe(ctx, "contoso", "Ev2", time.Hour); err != nil {
				return false, err
			}
			_, first, err := db.Accept(ctx, "contoso", inbound("contoso", "Ev2", "two"), time.Hour)
			return first, err
		}, false},
		{"no delivery id is always first", func() (bool, error) {
			_, first, err := db.Accept(ctx, "contoso", inbound("contoso", "", "three"), 0)
			return first, err
		}, true},
		{"and again", func() (bool, error) {
			_, first, err := db.Accept(ctx, "contoso", inbound("contoso", "", "four"), 0)
			return first, err
		}, true},
		{"the same delivery id in another tenant is first", func() (bool, error) {
			_, first, err := db.Accept(ctx, "fabrikam", inbound("fabrikam", "Ev1", "other"), time.Hour)
			return first, err
		}, true},
	}
	for _, tt := range tests {
		first, err := tt.accept()
		if err != nil || first != tt.wantFirst {
			t.Errorf("%s: first = %v, %v; want %v", tt.name, first, err, tt.wantFirst)
		}
	}
	if got, want := strings.Join(inboxTexts(t, db, "contoso"), ","), "1:one,2:three,3:four"; got != want {
		t.Errorf("contoso inbox = %q, want %q", got, want)
	}
	if got, want := strings.Join(inboxTexts(t, db, "fabrikam"), ","), "1:other"; got != want {
		t.Errorf("fabrikam inbox = %q, want %q", got, want)
	}
}

func TestAcceptAfterTTL(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{}) // the clock advances a second per call
	for i, want := range []bool{true, false, true} {
		_, first, err := db.Accept(ctx, "contoso", inbound("contoso", "Ev1", fmt.Sprint(i)), 1500*time.Millisecond)
		if err != nil || first != want {
			t.Errorf("Accept %d: first = %v, %v; want %v", i, first, err, want)
		}
	}
	if got, want := strings.Join(inboxTexts(t, db, "contoso"), ","), "1:0,2:2"; got != want {
		t.Errorf("inbox = %q, want %q", got, want)
	}
}

func TestAcceptInvalid(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	long := strings.Repeat("x", maxIDLen+1)
	tests := []struct {
		name string
		in   func(in *tierzero.Inbound)
		ttl  time.Duration
	}{
		{"another tenant's message", func(in *tierzero.Inbound) { in.Tenant = "fabrikam" }, time.Hour},
		{"no tenant in the message", func(in *tierzero.Inbound) { in.Tenant = "" }, time.Hour},
		{"delivery id too long", func(in *tierzero.Inbound) { in.Delivery = long }, time.Hour},
		{"no ttl for a delivery id", func(in *tierzero.Inbound) {}, 0},
		{"no conversation", func(in *tierzero.Inbound) { in.Conversation = "" }, time.Hour},
		{"conversation too long", func(in *tierzero.Inbound) { in.Conversation = tierzero.ConversationID(long) }, time.Hour},
		{"reference not JSON", func(in *tierzero.Inbound) { in.Ref = json.RawMessage("{") }, time.Hour},
	}
	for _, tt := range tests {
		in := inbound("contoso", "Ev1", "hello")
		tt.in(&in)
		if _, first, err := db.Accept(ctx, "contoso", in, tt.ttl); tierzero.ErrorCode(err) != tierzero.EInvalid || first {
			t.Errorf("%s: Accept = %v, %v; want EInvalid", tt.name, first, err)
		}
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("refused messages created files %v", got)
	}
	if _, _, err := db.Accept(ctx, "../evil", inbound("../evil", "", "x"), 0); err == nil {
		t.Error("Accept took an invalid tenant id")
	}
}

func TestInboxOrderAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for i := range 3 {
		if _, _, err := db.Accept(ctx, "contoso", inbound("contoso", fmt.Sprint("Ev", i), fmt.Sprint("m", i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishInbox(ctx, "contoso", 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, Options{})
	if got, want := strings.Join(inboxTexts(t, db, "contoso"), ","), "2:m1,3:m2"; got != want {
		t.Errorf("after reopen, inbox = %q, want %q", got, want)
	}
	// Numbers are not reused, and a delivery seen before the restart is
	// still seen.
	for i := range 4 {
		if _, _, err := db.Accept(ctx, "contoso", inbound("contoso", fmt.Sprint("Ev", i), fmt.Sprint("n", i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(inboxTexts(t, db, "contoso"), ","), "2:m1,3:m2,4:n3"; got != want {
		t.Errorf("inbox = %q, want %q", got, want)
	}
}

func TestStartInbox(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for _, d := range []string{"Ev1", "Ev2"} {
		if _, _, err := db.Accept(ctx, "contoso", inbound("contoso", d, d), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Minute)
	tests := []struct {
		name   string
		tenant tierzero.TenantID
		seq    uint64
		want   string
	}{
		{"first start", "contoso", 1, ""},
		{"second start", "contoso", 1, tierzero.EConflict},
		{"another item", "contoso", 2, ""},
		{"no such item", "contoso", 3, tierzero.ENotFound},
		{"item zero", "contoso", 0, tierzero.ENotFound},
		{"tenant without a file", "fabrikam", 1, tierzero.ENotFound},
	}
	for _, tt := range tests {
		if err := db.StartInbox(ctx, tt.tenant, tt.seq, at); tierzero.ErrorCode(err) != tt.want || (tt.want == "" && err != nil) {
			t.Errorf("%s: StartInbox(%s, %d) = %v, want code %q", tt.name, tt.tenant, tt.seq, err, tt.want)
		}
	}
	items, err := db.Inbox(ctx, "contoso")
	if err != nil || len(items) != 2 {
		t.Fatalf("Inbox = %v, %v", items, err)
	}
	for _, it := range items {
		if !it.Started.Equal(at) {
			t.Errorf("item %d started %v, want %v", it.Seq, it.Started, at)
		}
	}
	if got := files(t, dir); !slices.Equal(got, []string{"heads/contoso.head", "tenants/contoso.db"}) {
		t.Errorf("files = %v, want only contoso's", got)
	}
}

func TestFinishInbox(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	for _, d := range []string{"Ev1", "Ev2", "Ev3"} {
		if _, _, err := db.Accept(ctx, "contoso", inbound("contoso", d, d), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.StartInbox(ctx, "contoso", 2, t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tenant tierzero.TenantID
		seq    uint64
		want   string
	}{
		{"started item", "contoso", 2, "1:Ev1,3:Ev3"},
		{"again", "contoso", 2, "1:Ev1,3:Ev3"},
		{"never started", "contoso", 1, "3:Ev3"},
		{"missing item", "contoso", 9, "3:Ev3"},
		{"tenant without a file", "fabrikam", 3, "3:Ev3"},
	}
	for _, tt := range tests {
		if err := db.FinishInbox(ctx, tt.tenant, tt.seq); err != nil {
			t.Errorf("%s: FinishInbox: %v", tt.name, err)
		}
		if got := strings.Join(inboxTexts(t, db, "contoso"), ","); got != tt.want {
			t.Errorf("%s: inbox = %q, want %q", tt.name, got, tt.want)
		}
	}
	if err := db.StartInbox(ctx, "contoso", 2, t0); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Errorf("StartInbox of a finished item = %v, want ENotFound", err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"heads/contoso.head", "tenants/contoso.db"}) {
		t.Errorf("files = %v, want only contoso's", got)
	}
}

func TestInboxTenantsApart(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
		for i := range 2 {
			if _, _, err := db.Accept(ctx, tenant, inbound(tenant, fmt.Sprint("Ev", i), fmt.Sprintf("%s %d", tenant, i)), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.StartInbox(ctx, "fabrikam", 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishInbox(ctx, "fabrikam", 2); err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[tierzero.TenantID]string{
		"contoso":  "1:contoso 0,2:contoso 1",
		"fabrikam": "1:fabrikam 0",
	} {
		items, err := db.Inbox(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			if it.Inbound.Tenant != tenant {
				t.Errorf("inbox of %s holds an item of %s", tenant, it.Inbound.Tenant)
			}
			if tenant == "contoso" && !it.Started.IsZero() {
				t.Errorf("starting fabrikam's item 1 started contoso's item %d", it.Seq)
			}
			got = append(got, fmt.Sprintf("%d:%s", it.Seq, it.Inbound.Text))
		}
		if g := strings.Join(got, ","); g != want {
			t.Errorf("inbox of %s = %q, want %q", tenant, g, want)
		}
	}
}

func TestInboxSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	in := inbound("contoso", "Ev-delivery-7f3a", "my password is hunter2-please-reset")
	if _, _, err := db.Accept(ctx, "contoso", in, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.StartInbox(ctx, "contoso", 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2-please-reset", "Ev-delivery-7f3a", "adele.vance", "C123", "1700000000.000100", "U042"} {
		assertNotInFiles(t, dir, s)
	}
}

func TestReadsCreateNoFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	if items, err := db.Inbox(ctx, "contoso"); items != nil || err != nil {
		t.Errorf("Inbox = %v, %v; want nil, nil", items, err)
	}
	if out, err := db.Outbox(ctx, "contoso"); out != nil || err != nil {
		t.Errorf("Outbox = %v, %v; want nil, nil", out, err)
	}
	if ref, ok, err := db.Ref(ctx, "contoso", "conv:C1"); ref != nil || ok || err != nil {
		t.Errorf("Ref = %s, %v, %v; want none", ref, ok, err)
	}
	if err := db.FinishInbox(ctx, "contoso", 1); err != nil {
		t.Errorf("FinishInbox: %v", err)
	}
	if err := db.DeleteOutbound(ctx, "contoso", "o1"); err != nil {
		t.Errorf("DeleteOutbound: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("reads created files %v", got)
	}
}
