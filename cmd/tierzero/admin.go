package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The admin socket: while `tierzero serve` runs it holds every tenant file,
// so the operator commands (approvals, audit, tenant) are sent to it over a
// Unix socket (mode 0600, in the data directory, which is 0700) and run
// there on its open store and desk, with their output streamed back. With
// no server, they run on the files directly.

// adminSocketName is the socket's file in the data directory.
const adminSocketName = "admin.sock"

// operatorCommands are the commands a running server runs for an operator.
var operatorCommands = []string{"approvals", "audit", "tenant", "console", "report", "baseline"}

// editsConfig reports whether args are `tenant add`, which edits the
// configuration file and touches no data: it runs where it is typed (the
// server reads the file it changed at its next start), not in the server.
func editsConfig(args []string) bool {
	return len(args) > 1 && args[0] == "tenant" && args[1] == "add"
}

// adminRequest is one operator command sent to the server.
type adminRequest struct {
	Args []string `json:"args"`
	// Data is the absolute data directory the command names: the server
	// runs it only when that is its own.
	Data string `json:"data"`
}

// adminFrame is one line of the server's streamed answer: output, then the
// exit status.
type adminFrame struct {
	Stream string `json:"stream,omitempty"` // stdout or stderr
	Data   string `json:"data,omitempty"`
	Code   *int   `json:"code,omitempty"`
}

// adminSocket is where the admin socket of the data directory is:
// $TIERZERO_ADMIN_SOCKET, else the configuration's serve.admin_socket (file
// from --config or $TIERZERO_CONFIG), else DATA/admin.sock.
func (a *app) adminSocket(data, configFile string) string {
	if p := a.getenv("TIERZERO_ADMIN_SOCKET"); p != "" {
		return p
	}
	configFile = a.configPath(configFile)
	if configFile != "" {
		if c, err := loadConfig(configFile); err == nil && c.Serve != nil && c.Serve.AdminSocket != "" {
			return c.Serve.AdminSocket
		}
	}
	return filepath.Join(data, adminSocketName)
}

// viaServer sends an operator command to the running server of its data
// directory, when one answers there; ok is false when none does (the
// command then runs on the files).
func (a *app) viaServer(ctx context.Context, args []string) (code int, ok bool) {
	if len(args) == 0 || !slices.Contains(operatorCommands, args[0]) || slices.Contains(args, "--help") || slices.Contains(args, "-h") || editsConfig(args) {
		return 0, false
	}
	path := a.adminSocket(a.dataDir(flagValue(args, "--data")), flagValue(args, "--config"))
	if _, err := os.Stat(path); err != nil {
		return 0, false
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	data, err := filepath.Abs(a.dataDir(flagValue(args, "--data")))
	if err != nil {
		return 0, false
	}
	body, _ := json.Marshal(adminRequest{Args: absPaths(args), Data: data})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://tierzero/admin/run", bytes.NewReader(body))
	if err != nil {
		return 0, false
	}
	resp, err := client.Do(req)
	if err != nil {
		// A socket left by a server that is gone: the files are free.
		a.log.Debug("admin socket does not answer; running on the files", "socket", path, "err", err)
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		fmt.Fprintf(a.stderr, "tierzero: the running server refused the command: %s\n", strings.TrimSpace(string(msg)))
		return 1, true
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		var f adminFrame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			fmt.Fprintf(a.stderr, "tierzero: bad answer from the running server: %v\n", err)
			return 1, true
		}
		switch {
		case f.Code != nil:
			return *f.Code, true
		case f.Stream == "stderr":
			io.WriteString(a.stderr, f.Data)
		default:
			io.WriteString(a.stdout, f.Data)
		}
	}
	fmt.Fprintln(a.stderr, "tierzero: the running server ended the command without an exit status")
	return 1, true
}

// pathFlags are the flags of operator commands that name files: the server
// reads them from its own working directory, so they are sent absolute.
var pathFlags = []string{"--data", "--config", "--key", "--policy", "--html", "--baselines"}

// absPaths returns args with the values of pathFlags made absolute.
func absPaths(args []string) []string {
	out := slices.Clone(args)
	for i, s := range out {
		for _, f := range pathFlags {
			switch {
			case s == f && i+1 < len(out):
				if p, err := filepath.Abs(out[i+1]); err == nil {
					out[i+1] = p
				}
			case strings.HasPrefix(s, f+"="):
				if p, err := filepath.Abs(strings.TrimPrefix(s, f+"=")); err == nil {
					out[i] = f + "=" + p
				}
			}
		}
	}
	return out
}

// flagValue returns the value of a --name flag in args ("--name V" or
// "--name=V"), "" when absent.
func flagValue(args []string, name string) string {
	for i, s := range args {
		if s == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(s, name+"="); ok {
			return v
		}
	}
	return ""
}

// adminHandler runs operator commands sent over the admin socket on the
// server's runtime, one at a time.
func (a *app) adminHandler(rt *runtime, data string) http.Handler {
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/run", func(w http.ResponseWriter, r *http.Request) {
		var req adminRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(req.Args) == 0 || !slices.Contains(operatorCommands, req.Args[0]) {
			http.Error(w, "only "+strings.Join(operatorCommands, ", ")+" run on the server", http.StatusForbidden)
			return
		}
		if !sameDir(req.Data, data) {
			// A socket found through TIERZERO_ADMIN_SOCKET or the
			// configuration must not turn a command meant for another
			// data directory into one on this server's.
			http.Error(w, fmt.Sprintf("this server holds the data directory %s, not %s", data, req.Data), http.StatusForbidden)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/x-ndjson")
		fw := &frameWriter{w: w}
		sub := &app{stdin: strings.NewReader(""), stdout: fw.stream("stdout"), stderr: fw.stream("stderr"), getenv: a.getenv, shared: rt}
		sub.log = a.log.With("admin", strings.Join(req.Args, " "))
		a.log.Info("operator command", "args", strings.Join(req.Args, " "))
		code := sub.run(r.Context(), req.Args)
		fw.frame(adminFrame{Code: &code})
	})
	return mux
}

// sameDir reports whether a and b are the same existing directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// frameWriter streams output as adminFrames, flushed as it comes.
type frameWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (f *frameWriter) frame(fr adminFrame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(fr)
	f.w.Write(append(b, '\n'))
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}

func (f *frameWriter) stream(name string) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		f.frame(adminFrame{Stream: name, Data: string(p)})
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// listenAdmin listens on the admin socket, mode 0600. A socket file that
// no server answers on is stale and replaced; one that answers means
// another server holds the data directory.
func listenAdmin(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another tierzero serve answers on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale admin socket: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// A socket is connectable by whoever may write it: made 0600 at once
	// (under the usual umask it starts without write for others).
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}
