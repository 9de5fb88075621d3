package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestConsoleLink: `tierzero console link UPN` asks the running server,
// over its admin socket, for a one-time sign-in link to its web console;
// the link signs in once.
func TestConsoleLink(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	data := t.TempDir()
	_, base, logs := startServe(t, "--data", data)

	r := run(t, noEnv, "", "console", "link", demoTechnician, "--data", data)
	link := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(link, base+"/console/once?token=") {
		t.Fatalf("console link: exit %d, %q, want a link under %s\n%s", r.code, link, base, r.stderr)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	open := func() (int, []*http.Cookie) {
		t.Helper()
		res := openSignInLink(t, client, link)
		return res.StatusCode, res.Cookies()
	}
	code, cookies := open()
	signedIn := false
	for _, c := range cookies {
		signedIn = signedIn || c.Name == "tierzero_console" && c.Value != ""
	}
	if code != http.StatusOK || !signedIn {
		t.Errorf("opening the link: %d, session cookie %v", code, signedIn)
	}
	if code, _ := open(); code != http.StatusForbidden {
		t.Errorf("opening the link again: %d, want 403", code)
	}
	if !strings.Contains(logs.String(), "operator minted a one-time console sign-in link") {
		t.Errorf("the server does not log the link minted:\n%s", logs.String())
	}

	// Someone neither technician nor tenant admin gets no link.
	if r := run(t, noEnv, "", "console", "link", "mallory@evil.example", "--data", data); r.code != 2 || r.stdout != "" ||
		!strings.Contains(r.stderr, "neither a technician nor a tenant admin") {
		t.Errorf("link for a stranger: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Without a server there is no console to sign in to.
	if r := run(t, noEnv, "", "console", "link", demoTechnician, "--data", t.TempDir()); r.code != 1 || r.stdout != "" ||
		!strings.Contains(r.stderr, "no tierzero serve answers") {
		t.Errorf("link without a server: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}
