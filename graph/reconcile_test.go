package graph_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
)

func TestApplied(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := time.Now()
	reset := tierzero.ToolCall{Action: graph.ActionUserResetPassword, Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)}
	applied, known, err := f.client.Applied(ctx, "contoso", reset, before)
	if err != nil || !known || applied {
		t.Fatalf("before the reset: applied %v known %v err %v, want known and not applied", applied, known, err)
	}
	if _, err := f.exec(t, "contoso", graph.ActionUserResetPassword, "adele.vance@contoso.com"); err != nil {
		t.Fatal(err)
	}
	// Graph keeps the time of a password change to the second: a change
	// within a second or so of the intent may be an earlier reset's.
	applied, known, err = f.client.Applied(ctx, "contoso", reset, before)
	if err != nil || known || applied {
		t.Fatalf("just after the reset: applied %v known %v err %v, want unknown", applied, known, err)
	}
	applied, known, err = f.client.Applied(ctx, "contoso", reset, before.Add(-5*time.Second))
	if err != nil || !known || !applied {
		t.Fatalf("after the reset, seconds after the intent: applied %v known %v err %v, want applied", applied, known, err)
	}
	read := tierzero.ToolCall{Action: graph.ActionUserGet, Args: json.RawMessage(`{"user":"adele.vance@contoso.com"}`)}
	if _, known, _ := f.client.Applied(ctx, "contoso", read, before); known {
		t.Fatal("a read claims a read-back")
	}
	if n := len(f.sim.Journal("contoso")); n != 1 {
		t.Fatalf("journal has %d writes, want 1: Applied must never write", n)
	}
}

func TestPolicyFactLookups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, _ := f.sim.State("contoso")
	var falcon string
	for _, g := range st.Groups {
		if g.DisplayName == "Project Falcon" {
			falcon = g.ID
		}
	}
	id, name, err := f.client.GroupName(ctx, "contoso", falcon)
	if err != nil || id != falcon || name != "Project Falcon" {
		t.Fatalf("GroupName = %q %q %v", id, name, err)
	}
	if _, _, err := f.client.GroupName(ctx, "contoso", "not-a-guid"); tierzero.ErrorCode(err) != tierzero.EInvalid {
		t.Fatalf("GroupName(bad id) = %v", err)
	}
	skuID, part, err := f.client.LicenseSKU(ctx, "contoso", "spe_e3")
	if err != nil || part != "SPE_E3" || skuID != "05e9a617-0261-4cee-bb44-138d3ef5d965" {
		t.Fatalf("LicenseSKU = %q %q %v", skuID, part, err)
	}
	if _, _, err := f.client.LicenseSKU(ctx, "contoso", "NO_SUCH_SKU"); tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatalf("LicenseSKU(unknown) = %v", err)
	}
}
