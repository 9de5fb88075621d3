package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tierzero/tierzero/graph/sim"
)

// startServe runs `tierzero serve` as a real process (this test binary
// re-run as tierzero, see TestMain) on a loopback port, and returns its
// base URL once it serves.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string, *syncBuilder) {
	t.Helper()
	raw, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TIERZERO_CRASH_CHILD=1", "TIERZERO_CRASH_ARGS="+string(raw), "TIERZERO_LOG=info")
	stdout, _ := cmd.StdoutPipe()
	logs := &syncBuilder{b: &strings.Builder{}}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
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
		m := regexp.MustCompile(`http://\S+`).FindString(l)
		return cmd, m, logs
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start: %s", logs.String())
	}
	return nil, "", nil
}

// syncBuilder is a strings.Builder written by the process's copier and read
// by the test.
type syncBuilder struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue is the value of one sample line of a scrape, 0 when absent.
func metricValue(scrape, sample string) float64 {
	for _, l := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// freeAddr is a loopback address that nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitUntil polls until cond holds, or fails the test after 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mainServe is `tierzero serve` run in this process through Main.
type mainServe struct {
	base   string // http://host:port
	data   string // the data directory
	stderr bytes.Buffer
	logs   syncWriter // writes stderr
	cancel context.CancelFunc
	done   chan int
	once   sync.Once
}

// serveMain runs `tierzero serve --config --data` through Main with the
// environment vars (and nothing else) and waits until /readyz answers 200.
// The configuration is graph_url (graphURL + "/v1.0"), the serve section (a
// free loopback address, the admin socket in the data directory, which is
// a new temporary directory), then rest. The test's cleanup stops serve
// if the test did not.
func serveMain(t *testing.T, graphURL, rest string, vars map[string]string) *mainServe {
	t.Helper()
	addr := freeAddr(t)
	m := &mainServe{base: "http://" + addr, data: t.TempDir(), done: make(chan int, 1)}
	m.logs.w = &m.stderr
	conf := filepath.Join(t.TempDir(), "tierzero.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf("graph_url: %s/v1.0\nserve: {addr: \"%s\", admin_socket: %s}\n",
		graphURL, addr, filepath.Join(m.data, "admin.sock"))+rest), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		m.done <- Main(ctx, []string{"serve", "--config", conf, "--data", m.data}, strings.NewReader(""), io.Discard, &m.logs, func(k string) string { return vars[k] })
	}()
	t.Cleanup(func() { m.stop(t) })
	waitUntil(t, "serve to be ready", func() bool {
		resp, err := http.Get(m.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return m
}

// stop cancels serve and waits for it to exit; an exit code other than 0
// fails the test. Only the first call does anything.
func (m *mainServe) stop(t *testing.T) {
	m.once.Do(func() {
		m.cancel()
		if code := <-m.done; code != 0 {
			t.Errorf("serve exited %d: %s", code, m.log())
		}
	})
}

// log is what serve wrote to stderr so far.
func (m *mainServe) log() string {
	m.logs.mu.Lock()
	defer m.logs.mu.Unlock()
	return m.stderr.String()
}

// wantOneReset checks that the simulator journals one successful PATCH of
// adele in contoso: her password reset.
func wantOneReset(t *testing.T, s *sim.Server) {
	t.Helper()
	var patches int
	for _, j := range s.Journal("contoso") {
		if j.Method == http.MethodPatch && strings.Contains(j.Path, "adele.vance") && j.Status < 300 {
			patches++
		}
	}
	if patches != 1 {
		t.Fatalf("%d PATCHes of adele, want 1: %+v", patches, s.Journal("contoso"))
	}
}

// wantResetAudited checks that the audit of the data directory shows the
// reset allowed and executed, and that password is neither in the audit
// nor anywhere on disk. Serve must have stopped.
func wantResetAudited(t *testing.T, data, password string) {
	t.Helper()
	recs, raw := auditExport(t, data)
	if i := decisionOf(recs, "user.reset_password"); i < 0 || recs[i].Effect != "allow" || recs[i+1].Outcome != "ok" {
		t.Fatalf("audit %s: want the reset allowed and executed", kinds(recs))
	}
	if strings.Contains(raw, password) {
		t.Fatal("the password is in the audit")
	}
	assertNotOnDisk(t, data, password)
}

func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	data := t.TempDir()
	// Before the server: Adele asks for a pass, which waits for her manager.
	r := run(t, noEnv, "I got a new phone and lost my authenticator\n", "chat", "--tenant", "contoso", "--as", employee, "--data", data)
	id := approvalRequest.FindStringSubmatch(r.stdout)
	if r.code != 0 || id == nil {
		t.Fatalf("chat: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	cmd, base, logs := startServe(t, "--data", data)
	if code, body := get(t, base+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, base+"/readyz")
		if code == 200 && strings.HasPrefix(body, "ready") {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, before := get(t, base+"/metrics")
	// Series of the known channels exist from the start, at zero.
	for _, name := range []string{"tierzero_inbound_total", "tierzero_model_calls_total", "tierzero_model_tokens_total", "tierzero_queue_depth",
		"tierzero_request_duration_seconds", "tierzero_ack_duration_seconds", "tierzero_deliveries_total", "tierzero_http_requests_total"} {
		if !strings.Contains(before, "# TYPE "+name+" ") {
			t.Errorf("/metrics has no %s", name)
		}
	}

	// The operator commands answer while the server holds the files.
	list := run(t, noEnv, "", "approvals", "list", "--tenant", "contoso", "--data", data)
	if list.code != 0 || !strings.Contains(list.stdout, id[1]) || !strings.Contains(list.stdout, "pending") {
		t.Fatalf("approvals list while serving: exit %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	// A socket named by the environment does not make a command meant for
	// another data directory run on this server's.
	other := t.TempDir()
	sock := func(k string) string {
		if k == "TIERZERO_ADMIN_SOCKET" {
			return filepath.Join(data, adminSocketName)
		}
		return ""
	}
	if r := run(t, sock, "", "tenant", "shred", "contoso", "--yes", "--data", other); r.code == 0 || !strings.Contains(r.stderr, "this server holds the data directory") {
		t.Fatalf("shred of another data directory through this server: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	exp := run(t, noEnv, "", "audit", "export", "--tenant", "contoso", "--data", data)
	if exp.code != 0 || !strings.Contains(exp.stdout, `"kind":"approval_requested"`) {
		t.Fatalf("audit export while serving: exit %d\n%s", exp.code, exp.stderr)
	}
	dec := run(t, noEnv, "", "approvals", "decide", id[1], "approve", "--tenant", "contoso", "--as", manager, "--data", data)
	if dec.code != 0 || !strings.Contains(dec.stdout, "approved and done") || privateLine.MatchString(dec.stdout) {
		t.Fatalf("approvals decide while serving: exit %d\n%s%s", dec.code, dec.stdout, dec.stderr)
	}
	if bad := run(t, noEnv, "", "approvals", "decide", id[1], "approve", "--tenant", "contoso", "--as", manager, "--data", data); bad.code == 0 {
		t.Fatalf("a second decision on the executed approval: exit 0 %s", bad.stdout)
	}
	_, after := get(t, base+"/metrics")
	if b, a := metricValue(before, `tierzero_http_requests_total{code="200",method="get"}`), metricValue(after, `tierzero_http_requests_total{code="200",method="get"}`); a <= b {
		t.Errorf("tierzero_http_requests_total did not move: %v -> %v", b, a)
	}
	if v := metricValue(after, `tierzero_graph_calls_total{status="ok",tool="user.issue_tap"}`); v != 1 {
		t.Errorf("graph calls of user.issue_tap = %v, want 1:\n%s", v, grepLines(after, "tierzero_graph_calls_total"))
	}

	// SIGTERM drains and exits cleanly; the files are free again after.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the logs:\n%s", logs.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %q", l)
		}
	}
	if _, err := os.Stat(filepath.Join(data, adminSocketName)); err == nil {
		// A stale socket is harmless (nobody answers; commands run on the
		// files), but a clean stop removes it.
		t.Errorf("the admin socket was left behind")
	}
	if v := run(t, noEnv, "", "audit", "verify", "--tenant", "contoso", "--data", data); v.code != 0 {
		t.Fatalf("audit verify after serve: %s%s", v.stdout, v.stderr)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeReportsBrokenTenantAndModel: one tenant's credentials cannot be
// set up and the model endpoint does not answer; both are reported at
// start and in /readyz by name, and the other tenant still works.
func TestServeReportsBrokenTenantAndModel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	graph := startGraphsim(t)
	deadURL := "http://" + freeAddr(t) + "/v1"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tierzero.yaml")
	os.WriteFile(cfg, []byte(`graph_url: `+graph+`/v1.0
llm: {base_url: `+deadURL+`, model: gpt-test}
tenants:
  contoso:
    auth: {method: simulator}
  fabrikam:
    auth: {method: client_secret, client_id: 00000000-0000-0000-0000-000000000001, client_secret_env: TIERZERO_TEST_UNSET_SECRET}
    entra_tenant: fabrikam.onmicrosoft.com
`), 0o600)
	data := filepath.Join(dir, "data")
	cmd, base, logs := startServe(t, "--config", cfg, "--data", data)
	var body string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var code int
		code, body = get(t, base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "tenant fabrikam: Graph credentials fail: tenant fabrikam: the client secret variable TIERZERO_TEST_UNSET_SECRET is empty") || strings.Contains(body, "tenant contoso") {
		t.Errorf("/readyz = %q: want fabrikam named, contoso fine", body)
	}
	if !strings.Contains(body, "\nmodel: ") || !strings.Contains(body, "the model endpoint at "+deadURL+" is unreachable") {
		t.Errorf("/readyz = %q: want the unreachable model", body)
	}
	if !strings.Contains(logs.String(), `"tenant":"fabrikam"`) {
		t.Errorf("the broken tenant is not in the logs:\n%s", logs.String())
	}
	// contoso still answers the operator.
	if r := run(t, noEnv, "", "approvals", "list", "--tenant", "contoso", "--data", data); r.code != 0 || !strings.Contains(r.stderr, "no approval requests in tenant contoso") {
		t.Errorf("approvals list of contoso while serving: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
