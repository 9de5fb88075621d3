package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/store"
	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
)

var ticketCrashRuns = flag.Int("crash.ticketruns", 1, "runs of TestCrashTicketCreate")

// TestCrashTicketCreate kills a real `tierzero serve` process (this test
// binary re-run as tierzero, see TestMain) with SIGKILL between the
// ticketing system's 201 to ticket.create and the process's record of the
// ticket: the fake receiver on loopback opens the ticket, answers 201,
// flushes the answer and kills the process. No kill point in tierzero's
// code is needed: the receiver is the point, and the outbox read after the
// kill shows the process died before it recorded the ticket (the attempt
// is recorded, the reference is not). A new process then starts on the
// same files. Whatever the timing: the receiver holds exactly one ticket
// for the escalation (the restarted worker finds it by its correlation id
// and does not create it again) and the requester is told its number once.
//
// A run whose kill came after the record (the receiver cannot make the
// process stop between two instructions) is run again, up to three times;
// -crash.ticketruns repeats the whole test.
func TestCrashTicketCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts processes; -short skips it")
	}
	for run := 0; run < *ticketCrashRuns; run++ {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			for try := 1; ; try++ {
				if crashTicketOnce(t) {
					return
				}
				if try == 3 {
					t.Fatal("three kills all came after the ticket was recorded: the point was never hit")
				}
				t.Logf("try %d: the kill came after the record; again", try)
			}
		})
	}
}

// crashTicketOnce runs one kill and restart; false when the kill came after
// the opened ticket was recorded (the invariants are checked either way).
func crashTicketOnce(t *testing.T) bool {
	s := sim.New(sim.Options{})
	gsrv := httptest.NewServer(s)
	defer gsrv.Close()
	sl := ticketSlack(t)
	f := &webhooktest.Receiver{Secret: []byte(ticketSecret)}
	var (
		mu     sync.Mutex
		child  *os.Process
		killed bool
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := r.Header.Get(webhook.HeaderEvent)
		f.ServeHTTP(w, r) // opened, and 201 written...
		mu.Lock()
		defer mu.Unlock()
		if ev == webhook.EventCreate && child != nil && !killed {
			w.(http.Flusher).Flush() // ...and sent...
			child.Signal(syscall.SIGKILL)
			killed = true // ...and the process dies before it records it
		}
	}))
	defer hook.Close()

	data := t.TempDir()
	conf := filepath.Join(t.TempDir(), "tierzero.yaml")
	os.WriteFile(conf, []byte("graph_url: "+gsrv.URL+"/v1.0\n"+ticketConf(sl.URL, hook.URL+"/psa/tierzero")), 0o600)

	// The first process: Adele's report is escalated, and the process is
	// killed once the ticket is opened.
	first, base := startTicketServe(t, conf, data)
	mu.Lock()
	child = first.Process
	mu.Unlock()
	postSlackDM(t, base, "Ev0CRASH1", "I think my account was hacked")
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("the first process exited by itself")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the first process was never killed: no ticket.create")
	}
	if n := len(f.Tickets()); n != 1 {
		t.Fatalf("%d tickets when the process was killed, want 1", n)
	}
	before := outboxOf(t, data)
	hit := before.State == tierzero.TicketQueued && before.Attempts == 1 && before.Ref.ID == ""
	if !hit && before.State != tierzero.TicketOpened {
		t.Fatalf("after the kill the outbox holds %+v", before)
	}

	// The next process, on the same files.
	second, _ := startTicketServe(t, conf, data)
	waitUntil(t, "the ticket number in the DM", func() bool { return len(slackTexts(sl, "Your request is now ticket T-0001")) > 0 })
	// SIGTERM: the worker finishes recording what it told before it exits.
	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Fatalf("the second process after SIGTERM: %v", err)
	}

	tickets := f.Tickets()
	if len(tickets) != 1 {
		t.Fatalf("%d tickets after the restart, want exactly 1", len(tickets))
	}
	creates, finds := 0, 0
	for _, q := range f.Requests() {
		switch q.Event {
		case webhook.EventCreate:
			creates++
		case webhook.EventFind:
			finds++
		}
	}
	if hit && (creates != 1 || finds == 0) {
		t.Errorf("%d ticket.create and %d ticket.find: want the restarted worker to find the ticket, not create it again", creates, finds)
	}
	if told := slackTexts(sl, "Your request is now ticket"); len(told) != 1 || !strings.Contains(told[0].Text, "T-0001") || told[0].Channel != "DADELE" {
		t.Fatalf("told %+v: want the number once, in Adele's DM", told)
	}
	after := outboxOf(t, data)
	if after.State != tierzero.TicketOpened || !after.Told || after.Ref.Number != "T-0001" || after.Correlation() != tickets[0].Event.Correlation {
		t.Fatalf("outbox after the restart: %+v", after)
	}
	t.Logf("killed with the outbox at %s (attempts %d); after the restart: %d create, %d find", before.State, before.Attempts, creates, finds)
	return hit
}

// startTicketServe starts `tierzero serve --config conf --data data` as a
// process with the ticket tests' environment, and returns it and its base
// URL once it serves.
func startTicketServe(t *testing.T, conf, data string) (*exec.Cmd, string) {
	t.Helper()
	raw, _ := json.Marshal([]string{"serve", "--addr", "127.0.0.1:0", "--config", conf, "--data", data})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TIERZERO_CRASH_CHILD=1", "TIERZERO_CRASH_ARGS="+string(raw), "TIERZERO_LOG=info")
	for k, v := range ticketVars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, _ := cmd.StdoutPipe()
	logs := &syncBuilder{b: &strings.Builder{}}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving on") {
				line <- sc.Text()
			}
		}
	}()
	select {
	case l := <-line:
		return cmd, regexp.MustCompile(`http://[^\s)]+`).FindString(l)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start: %s", logs.String())
	}
	return nil, ""
}

// outboxOf is contoso's one ticket record; no process may hold the files.
func outboxOf(t *testing.T, data string) tierzero.TicketRecord {
	t.Helper()
	key, err := store.ReadKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(data, store.Options{MasterKey: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Tickets(context.Background(), "contoso")
	if err != nil || len(recs) != 1 {
		t.Fatalf("contoso's ticket outbox: %v %+v", err, recs)
	}
	return recs[0]
}
