package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

const manager = "miriam.graham@contoso.com" // adele.vance's manager in the simulator

var approvalRequest = regexp.MustCompile(`\[approval request ([0-9a-f]{32})\] Adele Vance asks to: issue a Temporary Access Pass for adele\.vance@contoso\.com\. Policy: self-issue-tap needs the manager \(miriam\.graham@contoso\.com\)`)

// session is `tierzero chat` running on a pipe, so that a test can read
// what it printed before it types the next line.
type session struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *syncWriter
	buf  *bytes.Buffer
	done chan int
}

func startChat(t *testing.T, args ...string) *session {
	t.Helper()
	pr, pw := io.Pipe()
	buf := &bytes.Buffer{}
	s := &session{t: t, in: pw, out: &syncWriter{w: buf}, buf: buf, done: make(chan int, 1)}
	go func() {
		s.done <- Main(context.Background(), args, pr, s.out, io.Discard, noEnv)
	}()
	return s
}

func (s *session) output() string {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.buf.String()
}

// say types line and waits until the output holds want.
func (s *session) say(line, want string) string {
	s.t.Helper()
	before := len(s.output())
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if out := s.output(); strings.Contains(out[before:], want) {
			return out[before:]
		}
	}
	s.t.Fatalf("after %q, no %q in:\n%s", line, want, s.output()[before:])
	return ""
}

func (s *session) close() {
	s.t.Helper()
	s.in.Close()
	if code := <-s.done; code != 0 {
		s.t.Fatalf("chat exited %d", code)
	}
}

func tapPosts(t *testing.T, base string) []journalEntry {
	var out []journalEntry
	for _, e := range journal(t, base, "contoso") {
		if e.Method == http.MethodPost && strings.Contains(e.Path, "temporaryAccessPassMethods") {
			out = append(out, e)
		}
	}
	return out
}

func TestApprovalEndToEnd(t *testing.T) {
	base := startGraphsim(t)
	graphURL := base + "/v1.0"
	data := t.TempDir()
	s := startChat(t, "chat", "--tenant", "contoso", "--as", employee, "--graph-url", graphURL, "--data", data)

	// Adele lost her phone: the TAP she needs waits for her manager.
	out := s.say("I got a new phone and lost my authenticator", "You'll hear back here.")
	m := approvalRequest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no approval request for the manager in:\n%s", out)
	}
	id := m[1]
	if !strings.Contains(out, "sent it for approval to the manager (miriam.graham@contoso.com)") {
		t.Errorf("adele is not told who approves:\n%s", out)
	}
	if n := len(journal(t, base, "contoso")); n != 0 {
		t.Fatalf("something ran before approval: %d mutations", n)
	}

	// Refused, nothing run: adele approving her own, a colleague who is
	// not her manager, someone of another tenant.
	s.say("/approve "+id, "nobody approves their own request")
	s.say("/as "+other, "You are now")
	s.say("/approve "+id, "is not an approver of this request")
	s.say("/as ben.walters@fabrikam.com", "I could not switch")
	r := run(t, noEnv, "", "approvals", "decide", id, "approve", "--tenant", "fabrikam", "--as", "ben.walters@fabrikam.com", "--graph-url", graphURL, "--data", data)
	if r.code == 0 || !strings.Contains(r.stderr, "no approval") {
		t.Fatalf("a fabrikam user decided a contoso approval: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, noEnv, "", "audit", "export", "--tenant", "fabrikam", "--data", data); !strings.Contains(r.stdout, `"kind":"approval_decided"`) ||
		!strings.Contains(r.stdout, `"outcome":"refused"`) {
		t.Fatalf("fabrikam's audit has no refusal: %s", r.stdout)
	}
	if n := len(journal(t, base, "contoso")); n != 0 {
		t.Fatalf("a refused decision ran something: %d mutations", n)
	}

	// Her manager approves in the same chat: exactly that TAP runs, for
	// adele, and its code goes to adele alone.
	s.say("/as "+manager, "You are now Miriam Graham")
	out = s.say("/approve "+id, "approved your request")
	p := privateLine.FindStringSubmatch(out)
	if p == nil || p[1] != employee {
		t.Fatalf("no private line for %s in:\n%s", employee, out)
	}
	code := p[2]
	if strings.Count(s.output(), code) != 1 {
		t.Fatalf("the TAP appears outside its private line:\n%s", s.output())
	}
	if !strings.Contains(out, "tierzero (to "+employee+"): "+manager+" approved your request") {
		t.Errorf("adele is not told the result:\n%s", out)
	}
	posts := tapPosts(t, base)
	if len(posts) != 1 || !strings.Contains(posts[0].Path, "adele.vance") || len(journal(t, base, "contoso")) != 1 {
		t.Fatalf("journal = %+v, want exactly one TAP POST for adele", journal(t, base, "contoso"))
	}

	// A replayed decision runs nothing again, in chat or on the terminal.
	s.say("/approve "+id, "already executed")
	s.close()
	t.Logf("chat:\n%s", s.output())
	r = run(t, noEnv, "", "approvals", "decide", id, "approve", "--tenant", "contoso", "--as", manager, "--graph-url", graphURL, "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "already executed") {
		t.Fatalf("replay on the terminal: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(tapPosts(t, base)); n != 1 {
		t.Fatalf("%d TAP POSTs after replays, want 1", n)
	}
	r = run(t, noEnv, "", "approvals", "list", "--tenant", "contoso", "--data", data, "--state", "executed")
	if r.code != 0 || !strings.Contains(r.stdout, id+"  executed") || !strings.Contains(r.stdout, manager+" approved") {
		t.Fatalf("approvals list: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}

	recs, raw := auditExport(t, data)
	var k []string
	for _, rec := range recs {
		if rec.Kind == "approval_state" { // store.AuditApprovalState
			continue // the store's records binding the approval's state to the chain
		}
		if strings.HasPrefix(rec.Kind, "approval_") || (rec.Kind == "executed" && rec.Tool == "user.issue_tap") {
			k = append(k, rec.Kind+":"+rec.Outcome)
		}
	}
	want := []string{
		"approval_requested:pending",
		"approval_shown:",          // the console showed it to its approvers
		"approval_decided:refused", // adele
		"approval_decided:refused", // alex
		"approval_decided:approved",
		"executed:ok",
		"approval_executed:ok",
		"approval_decided:refused", // replay in chat
		"approval_decided:refused", // replay on the terminal
	}
	if !slices.Equal(k, want) {
		t.Fatalf("approval audit = %v, want %v", k, want)
	}
	if strings.Contains(raw, code) {
		t.Fatal("the TAP reached the audit")
	}
	assertNotOnDisk(t, data, code)
}

// A summary or a name with a line break or a terminal escape stays on its
// approval's line of approvals list.
func TestApprovalLinePrintable(t *testing.T) {
	ap := tierzero.Approval{ID: "a1", State: tierzero.ApprovalPending, Summary: "reset the password of bob\n[a2]  pending  nothing\x1b[2K\r",
		Requester: tierzero.Requester{UPN: "eve@contoso.com\u202e"}, Approvers: []string{"manager"}, Count: 1,
		Decisions: []tierzero.ApprovalDecision{{Approver: "x\x1b]0;t\x07", Approve: true}}}
	got := approvalLine(ap)
	if strings.ContainsAny(got, "\n\r\x1b\x07\u202e") || !strings.HasPrefix(got, "a1  pending   reset the password of bob [a2]") {
		t.Fatalf("approvalLine = %q", got)
	}
}

// TestApprovalDecidePlanReport: approving a plan (here a baseline's create
// phase) prints the plan's report, each step's state; a step that failed
// (Graph refuses the compliance policy's creation) makes it exit 1 and say
// so, never "approved and done"; a plan whose steps all ran exits 0.
func TestApprovalDecidePlanReport(t *testing.T) {
	e := newBaselineEnv(t)
	if err := e.sim.AddFault("fabrikam", sim.Fault{Method: "POST", Path: "/v1.0/deviceManagement/deviceCompliancePolicies", Status: 400, Count: 1,
		Message: "The compliance policy is not valid."}); err != nil {
		t.Fatal(err)
	}
	id, phase, r := e.apply("fabrikam", baselineTech)
	if id == "" || phase != "create" {
		t.Fatalf("apply proposed %q %q:\n%s%s", id, phase, r.stdout, r.stderr)
	}
	r = e.run("approvals", "decide", id, "approve", "--tenant", "fabrikam", "--as", fabrikamAdmin)
	if r.code != 1 || strings.Contains(r.stdout, "approved and done") || !strings.Contains(r.stdout, "approved, but not every step is done") ||
		!strings.Contains(r.stdout, "- FAILED: ") || !strings.Contains(r.stdout, "- done: ") {
		t.Fatalf("a plan with a failed step: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The fault was used up: the next create phase runs every step.
	id, phase, r = e.apply("fabrikam", baselineTech)
	if id == "" || phase != "create" {
		t.Fatalf("apply proposed %q %q:\n%s%s", id, phase, r.stdout, r.stderr)
	}
	r = e.run("approvals", "decide", id, "approve", "--tenant", "fabrikam", "--as", fabrikamAdmin)
	if r.code != 0 || !strings.Contains(r.stdout, "approval "+id+" approved and done") || !strings.Contains(r.stdout, "- done: ") ||
		strings.Contains(r.stdout, "FAILED") || strings.Contains(r.stdout, "skipped") {
		t.Fatalf("a plan whose steps all ran: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestApprovalDecidePlanRefused: a baseline plan the tenant changed under
// (a policy of the plan created by hand between proposal and approval) is
// refused when it runs, since graph plans it again: approving it says its
// plan call was refused and why, runs nothing and exits 1.
func TestApprovalDecidePlanRefused(t *testing.T) {
	e := newBaselineEnv(t)
	id, phase, r := e.apply("fabrikam", baselineTech)
	if id == "" || phase != "create" {
		t.Fatalf("apply proposed %q %q:\n%s%s", id, phase, r.stdout, r.stderr)
	}
	policy := map[string]any{"displayName": "Require MFA for admins", "state": "enabledForReportingButNotEnforced",
		"conditions": map[string]any{"users": map[string]any{"includeUsers": []string{"All"}}, "applications": map[string]any{"includeApplications": []string{"All"}},
			"clientAppTypes": []string{"all"}},
		"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{"mfa"}}}
	if code, out := e.graph(http.MethodPost, "fabrikam", "/identity/conditionalAccess/policies", policy); code >= 300 {
		t.Fatalf("create the policy by hand: %d %v", code, out)
	}
	m := e.mark()
	r = e.run("approvals", "decide", id, "approve", "--tenant", "fabrikam", "--as", fabrikamAdmin)
	if r.code != 1 || strings.Contains(r.stdout, "approved and done") || !strings.Contains(r.stdout, "approval "+id+" approved, but not done") ||
		!strings.Contains(r.stdout, "its plan call was refused, so none of its steps ran: ") {
		t.Fatalf("a plan refused at execution: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if w := e.writesSince(m); len(w) != 0 {
		t.Fatalf("a refused plan wrote %q", w)
	}
}
