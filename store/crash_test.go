package store

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

var crashRuns = flag.Int("crash.runs", 20, "child processes TestCrash kills with SIGKILL")

const (
	crashDirEnv = "TIERZERO_STORE_CRASH_DIR"
	crashRunEnv = "TIERZERO_STORE_CRASH_RUN"
)

// TestCrashChild is the child process of TestCrash: it loops over
// intent, audit record, dedupe and outcome for one action after another and
// acknowledges each step on stdout once the store returned, until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs as TestCrash's child process")
	}
	ctx := context.Background()
	db, err := Open(dir, Options{MasterKey: testKey, Timeout: 10 * time.Second})
	if err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(3)
	}
	run := os.Getenv(crashRunEnv)
	say := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	say("ready")
	for i := 0; ; i++ {
		id := fmt.Sprintf("r%s-a%d", run, i)
		tenant := tierzero.TenantID([]string{"contoso", "fabrikam"}[i%2])
		if err := db.BeginIntent(ctx, tenant, tierzero.Intent{ID: id, Action: "user.reset_password", Args: []byte(`{"user":"u` + id + `"}`)}); err != nil {
			say("error: %v", err)
			os.Exit(3)
		}
		say("begun %s %s", tenant, id)
		if err := db.Append(ctx, tenant, tierzero.AuditEvent{Kind: tierzero.AuditExecuted, CallID: id, Tool: "user.reset_password"}); err != nil {
			say("error: %v", err)
			os.Exit(3)
		}
		say("audited %s %s", tenant, id)
		if _, err := db.Dedupe(ctx, tenant, id, time.Hour); err != nil {
			say("error: %v", err)
			os.Exit(3)
		}
		say("deduped %s %s", tenant, id)
		if err := db.FinishIntent(ctx, tenant, id, tierzero.IntentDone, ""); err != nil {
			say("error: %v", err)
			os.Exit(3)
		}
		say("finished %s %s", tenant, id)
	}
}

// TestCrash kills a child process writing to the store with SIGKILL at
// random points, -crash.runs times on one data directory. After every kill:
// no acknowledged audit record is lost, both chains verify, every
// acknowledged intent exists (so it can never begin again), every finished
// one is done and every other one is open for reconciliation, which the
// parent then does (needs_review).
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := map[string]map[string]bool{} // step -> "tenant id"
	for _, s := range []string{"begun", "audited", "deduped", "finished"} {
		acked[s] = map[string]bool{}
	}
	var totalAudit, reconciled int
	for run := range *crashRuns {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%d", crashRunEnv, run))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		if l := <-lines; l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: child said %q", run, l)
		}
		time.Sleep(time.Duration(r.IntN(100_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var got []string
		for l := range lines {
			got = append(got, l)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("run %d: child ended with %v, not by SIGKILL; said %q", run, err, got)
		}
		for _, l := range got {
			step, rest, _ := strings.Cut(l, " ")
			m, ok := acked[step]
			if !ok {
				t.Fatalf("run %d: child said %q", run, l)
			}
			m[rest] = true
		}

		db, err := Open(dir, Options{MasterKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		present := map[string]bool{}
		for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
			n, err := db.Verify(ctx, tenant)
			if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
				t.Fatalf("run %d: %s: %v", run, tenant, err)
			}
			count := 0
			if err == nil {
				err = db.Audit(ctx, tenant, time.Time{}, func(ev tierzero.AuditEvent) error {
					present[string(tenant)+" "+ev.CallID] = true
					count++
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if count != n {
				t.Errorf("run %d: %s: Audit read %d events, Verify %d", run, tenant, count, n)
			}
			if run == *crashRuns-1 {
				totalAudit += count
			}

			open, err := db.OpenIntents(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range open {
				key := string(tenant) + " " + in.ID
				if acked["finished"][key] {
					t.Errorf("run %d: intent %s acknowledged finished is still open", run, key)
				}
				if err := db.FinishIntent(ctx, tenant, in.ID, tierzero.IntentNeedsReview, "crashed before its outcome"); err != nil {
					t.Fatal(err)
				}
				reconciled++
			}
			if open, _ := db.OpenIntents(ctx, tenant); len(open) != 0 {
				t.Errorf("run %d: %d intents open after reconciliation", run, len(open))
			}
		}
		for key := range acked["audited"] {
			if !present[key] {
				t.Errorf("run %d: acknowledged audit record %s lost", run, key)
			}
		}
		for key := range acked["begun"] {
			tenant, id, _ := strings.Cut(key, " ")
			err := db.BeginIntent(ctx, tierzero.TenantID(tenant), tierzero.Intent{ID: id, Action: "user.reset_password"})
			if tierzero.ErrorCode(err) != tierzero.EConflict {
				t.Errorf("run %d: intent %s could begin again: %v", run, key, err)
			}
		}
		for key := range acked["deduped"] {
			tenant, id, _ := strings.Cut(key, " ")
			if first, err := db.Dedupe(ctx, tierzero.TenantID(tenant), id, time.Hour); err != nil || first {
				t.Errorf("run %d: delivery %s looks new after the crash: %v, %v", run, key, first, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d runs: %d audit records acknowledged, %d on disk at the end, %d intents acknowledged, %d reconciled as needs_review",
		*crashRuns, len(acked["audited"]), totalAudit, len(acked["begun"]), reconciled)
	if len(acked["audited"]) == 0 {
		t.Error("no child ever acknowledged an audit record: the kills came too early")
	}
}
