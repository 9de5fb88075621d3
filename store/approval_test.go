package store

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

func newApproval(t *testing.T, db *DB, tenant tierzero.TenantID, count int, expires time.Time) tierzero.Approval {
	t.Helper()
	args := json.RawMessage(`{"user":"adele.vance@contoso.com"}`)
	h, _ := tierzero.ArgsHash(args)
	a, err := db.CreateApproval(context.Background(), tenant, tierzero.Approval{
		Tenant: tenant, Action: "user.issue_tap", Args: args, ArgsHash: h,
		Requester: tierzero.Requester{Tenant: tenant, UPN: "adele.vance@contoso.com", ObjectID: "id-adele"},
		Rule:      "self-issue-tap", Approvers: []string{"manager"}, Count: count, Expires: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestApprovalLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	exp := t0.Add(24 * time.Hour)
	a := newApproval(t, db, "contoso", 2, exp)
	if len(a.ID) != 32 || a.State != tierzero.ApprovalPending {
		t.Fatalf("created %+v", a)
	}
	if _, err := db.Approval(ctx, "fabrikam", a.ID); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatalf("another tenant reads the approval: %v", err)
	}
	if _, err := db.ClaimApproval(ctx, "contoso", a.ID, t0); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("claimed a pending approval: %v", err)
	}
	now := t0.Add(time.Minute)
	got, err := db.DecideApproval(ctx, "contoso", a.ID, "miriam@contoso.com", true, now)
	if err != nil || got.State != tierzero.ApprovalPending || got.Approvals() != 1 {
		t.Fatalf("first approval: %+v, %v", got, err)
	}
	if _, err := db.DecideApproval(ctx, "contoso", a.ID, "MIRIAM@contoso.com", true, now); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("the same approver counted twice: %v", err)
	}
	got, err = db.DecideApproval(ctx, "contoso", a.ID, "megan@contoso.com", true, now)
	if err != nil || got.State != tierzero.ApprovalApproved {
		t.Fatalf("second approval: %+v, %v", got, err)
	}
	if _, err := db.DecideApproval(ctx, "contoso", a.ID, "alex@contoso.com", false, now); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("decided an approved approval: %v", err)
	}
	got, err = db.ClaimApproval(ctx, "contoso", a.ID, now)
	if err != nil || got.State != tierzero.ApprovalExecuted || string(got.Args) != `{"user":"adele.vance@contoso.com"}` {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	if _, err := db.ClaimApproval(ctx, "contoso", a.ID, now); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("claimed twice: %v", err)
	}

	d := newApproval(t, db, "contoso", 2, exp)
	if got, err := db.DecideApproval(ctx, "contoso", d.ID, "miriam@contoso.com", false, now); err != nil || got.State != tierzero.ApprovalDenied {
		t.Fatalf("deny: %+v, %v", got, err)
	}
	e := newApproval(t, db, "contoso", 1, exp)
	if _, err := db.DecideApproval(ctx, "contoso", e.ID, "miriam@contoso.com", true, exp); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("approved past expiry: %v", err)
	}
	if got, _ := db.Approval(ctx, "contoso", e.ID); got.State != tierzero.ApprovalExpired || len(got.Decisions) != 0 {
		t.Fatalf("after expiry: %+v", got)
	}
	for _, tc := range []struct {
		state tierzero.ApprovalState
		want  int
	}{{"", 3}, {tierzero.ApprovalExecuted, 1}, {tierzero.ApprovalDenied, 1}, {tierzero.ApprovalExpired, 1}, {tierzero.ApprovalPending, 0}} {
		l, err := db.ListApprovals(ctx, "contoso", tc.state)
		if err != nil || len(l) != tc.want {
			t.Errorf("list %q: %d, %v; want %d", tc.state, len(l), err, tc.want)
		}
	}
	db.Close()
	assertNotInFiles(t, dir, "adele.vance@contoso.com")
}

func TestApprovalClaimedOnce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	a := newApproval(t, db, "contoso", 1, t0.Add(time.Hour))
	var approved, claimed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upn := []string{"a@contoso.com", "b@contoso.com"}[i%2]
			if got, err := db.DecideApproval(ctx, "contoso", a.ID, upn, true, t0); err == nil && got.State == tierzero.ApprovalApproved {
				approved.Add(1)
			}
			if _, err := db.ClaimApproval(ctx, "contoso", a.ID, t0); err == nil {
				claimed.Add(1)
			}
		}()
	}
	wg.Wait()
	if approved.Load() != 1 || claimed.Load() != 1 {
		t.Fatalf("approved %d times, claimed %d times; want 1 and 1", approved.Load(), claimed.Load())
	}
}

func TestCreateApprovalChecksBinding(t *testing.T) {
	db := openTest(t, t.TempDir(), Options{})
	args := json.RawMessage(`{"user":"adele.vance@contoso.com"}`)
	base := tierzero.Approval{Tenant: "contoso", Action: "user.issue_tap", Args: args, ArgsHash: "00",
		Approvers: []string{"manager"}, Count: 1, Expires: t0.Add(time.Hour)}
	if _, err := db.CreateApproval(context.Background(), "contoso", base); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Fatalf("a wrong hash was stored: %v", err)
	}
	base.ArgsHash, _ = tierzero.ArgsHash(args)
	if _, err := db.CreateApproval(context.Background(), "fabrikam", base); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Fatalf("stored under another tenant: %v", err)
	}
}

// assertNotInFiles checks that no file under dir holds s in clear.
func assertNotInFiles(t *testing.T, dir, s string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(s)) {
			t.Errorf("%s holds %q in clear", p, s)
		}
		return nil
	})
}
