package store

import (
	"context"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

func TestCountToday(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)}
	db := openTest(t, t.TempDir(), Options{Now: c.Now})
	if n, err := db.CountToday(ctx, "contoso", "a@contoso.com", "user.reset_password", c.t); err != nil || n != 0 {
		t.Fatalf("no data: %d %v", n, err)
	}
	add := func(kind tierzero.AuditKind, who, tool, outcome string) {
		t.Helper()
		if err := db.Append(ctx, "contoso", tierzero.AuditEvent{Kind: kind, Requester: who, Tool: tool, Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	add(tierzero.AuditExecuted, "a@contoso.com", "user.reset_password", "ok") // yesterday
	c.t = c.t.Add(2 * time.Hour)                                              // 01:00 the next day
	add(tierzero.AuditExecuted, "a@contoso.com", "user.reset_password", "ok")
	add(tierzero.AuditExecuted, "a@contoso.com", "user.reset_password", "failed")
	add(tierzero.AuditDecided, "a@contoso.com", "user.reset_password", "")
	add(tierzero.AuditExecuted, "b@contoso.com", "user.reset_password", "ok")
	add(tierzero.AuditExecuted, "a@contoso.com", "user.revoke_sessions", "ok")
	add(tierzero.AuditExecuted, "a@contoso.com", "user.reset_password", "ok")
	n, err := db.CountToday(ctx, "contoso", "a@contoso.com", "user.reset_password", c.t)
	if err != nil || n != 2 {
		t.Fatalf("CountToday = %d, %v; want 2 (today's successful runs by a of this action)", n, err)
	}
}
