package policy

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/store"
)

// lockedExec is fakeExec made safe for concurrent calls.
type lockedExec struct {
	mu sync.Mutex
	fakeExec
}

func (l *lockedExec) Execute(ctx context.Context, p tierzero.Permit, tenant tierzero.TenantID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fakeExec.Execute(ctx, p, tenant, call)
}

func (l *lockedExec) runs() []tierzero.ToolCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ran)
}

var (
	tapAdele = tierzero.ToolCall{ID: "c1", Action: "user.issue_tap", Args: json.RawMessage(`{ "user": "adele@contoso.com" }`)}
	miriam   = tierzero.Requester{Tenant: "contoso", UPN: "miriam@contoso.com", ObjectID: "id-miriam", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelConsole}
	alexReq  = tierzero.Requester{Tenant: "contoso", UPN: "alex@contoso.com", ObjectID: "id-alex", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelConsole}
	admin1   = tierzero.Requester{Tenant: "contoso", UPN: "ta1@contoso.com", ObjectID: "id-ta1", Role: tierzero.RoleTenantAdmin}
	admin2   = tierzero.Requester{Tenant: "contoso", UPN: "ta2@contoso.com", ObjectID: "id-ta2", Role: tierzero.RoleTenantAdmin}
)

var approvalDir = fakeDir{
	"adele@contoso.com":  {ObjectID: "id-adele", UPN: "adele@contoso.com", Manager: strp("miriam@contoso.com"), AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{}},
	"miriam@contoso.com": {ObjectID: "id-miriam", UPN: "miriam@contoso.com", AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{}},
	"alex@contoso.com":   {ObjectID: "id-alex", UPN: "alex@contoso.com", AccountEnabled: true, Groups: groupsOf("Helpdesk"), AdminRoles: []string{}},
	"ta1@contoso.com":    {ObjectID: "id-ta1", UPN: "ta1@contoso.com", AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{}},
	"ta2@contoso.com":    {ObjectID: "id-ta2", UPN: "ta2@contoso.com", AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{}},
}

type approvalRig struct {
	g     *Guard
	exec  *lockedExec
	db    *store.DB
	now   time.Time
	nowMu sync.Mutex
}

func (r *approvalRig) clock() time.Time {
	r.nowMu.Lock()
	defer r.nowMu.Unlock()
	return r.now
}

func (r *approvalRig) advance(d time.Duration) {
	r.nowMu.Lock()
	defer r.nowMu.Unlock()
	r.now = r.now.Add(d)
}

// newApprovalRig is a Guard on a real store (audit, intents, approvals),
// with policies, or the baseline when none are given.
func newApprovalRig(t *testing.T, policies string, wrap func(*store.DB) Approvals) *approvalRig {
	t.Helper()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	r := &approvalRig{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r.exec = &lockedExec{fakeExec: fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), r.clock)}}
	r.db, err = store.Open(t.TempDir(), store.Options{MasterKey: make([]byte, store.KeySize), Now: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	set := Baseline()
	if policies != "" {
		f, err := Parse("test.yaml", []byte(policies))
		if err != nil {
			t.Fatal(err)
		}
		if set, err = NewSet(f); err != nil {
			t.Fatal(err)
		}
	}
	var approvals Approvals = r.db
	if wrap != nil {
		approvals = wrap(r.db)
	}
	r.g, err = NewGuard(GuardConfig{
		Policies: set, Signer: signer, Executor: r.exec, Audit: r.db, Directory: approvalDir,
		Tools:     toolSpecs("user.issue_tap!"),
		TargetOf:  newTestGuardTargetOf,
		Intents:   r.db,
		Approvals: approvals,
		Now:       r.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTestGuardTargetOf(c tierzero.ToolCall) (string, error) {
	var a struct{ User string }
	if err := json.Unmarshal(c.Args, &a); err != nil {
		return "", tierzero.Errorf(tierzero.EInvalid, "bad args")
	}
	return a.User, nil
}

// request has adele ask for her own TAP and returns the approval id.
func (r *approvalRig) request(t *testing.T) string {
	t.Helper()
	res, err := r.g.RunTool(context.Background(), "contoso", adele, "conv", tapAdele)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error == nil || res.Error.Code != tierzero.EPending || len(r.exec.runs()) != 0 {
		t.Fatalf("result = %+v, ran %v; want pending and nothing run", res.Error, r.exec.runs())
	}
	var out struct{ Status, Approval string }
	if err := json.Unmarshal(res.Output, &out); err != nil || out.Status != tierzero.EPending || out.Approval == "" {
		t.Fatalf("output = %s", res.Output)
	}
	return out.Approval
}

func (r *approvalRig) kinds(t *testing.T) []string {
	t.Helper()
	var k []string
	err := r.db.Audit(context.Background(), "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		if ev.Kind != store.AuditApprovalState { // the store's records binding each approval write to the chain
			k = append(k, string(ev.Kind)+":"+ev.Outcome)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestApprovalByManager(t *testing.T) {
	ctx := context.Background()
	r := newApprovalRig(t, "", nil)
	id := r.request(t)
	a, err := r.db.Approval(ctx, "contoso", id)
	if err != nil || a.Requester != adele || a.Rule != "self-issue-tap" || string(a.Args) != `{"user":"adele@contoso.com"}` ||
		!slices.Equal(a.Suggested, []string{"miriam@contoso.com"}) || !a.Expires.Equal(r.now.Add(24*time.Hour)) {
		t.Fatalf("stored approval = %+v, %v", a, err)
	}
	got, res, err := r.g.Decide(ctx, "contoso", miriam, id, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tierzero.ApprovalExecuted || res.Error != nil || res.Secret.Reveal() != "S3cret!pw" {
		t.Fatalf("after approval: state %s, result %+v", got.State, res.Error)
	}
	ran := r.exec.runs()
	if len(ran) != 1 || ran[0].Action != "user.issue_tap" || string(ran[0].Args) != `{"user":"adele@contoso.com"}` {
		t.Fatalf("ran %v, want exactly the stored call", ran)
	}
	if p := r.exec.permits[0]; p.Requester != adele.UPN || p.Rule != "self-issue-tap" {
		t.Fatalf("permit = %+v, want adele's under self-issue-tap", p)
	}
	want := []string{"decided:", "approval_requested:pending", "approval_decided:approved", "executed:ok", "approval_executed:ok"}
	if k := r.kinds(t); !slices.Equal(k, want) {
		t.Fatalf("audit = %v, want %v", k, want)
	}
	// A replayed decision runs nothing again.
	if _, _, err := r.g.Decide(ctx, "contoso", miriam, id, true); tierzero.ErrorCode(err) != tierzero.EConflict {
		t.Fatalf("replay: %v, want conflict", err)
	}
	if n := len(r.exec.runs()); n != 1 {
		t.Fatalf("replay ran again: %d runs", n)
	}
	if k := r.kinds(t); k[len(k)-1] != "approval_decided:refused" {
		t.Fatalf("replay not refused on the record: %v", k)
	}
}

// tampered returns the stored approval with other arguments, as if the
// record had been changed after it was made.
type tampered struct {
	*store.DB
	onClaim bool
}

func (t tampered) change(a tierzero.Approval) tierzero.Approval {
	a.Args = json.RawMessage(`{"user":"alex@contoso.com"}`)
	return a
}

func (t tampered) Approval(ctx context.Context, tenant tierzero.TenantID, id string) (tierzero.Approval, error) {
	a, err := t.DB.Approval(ctx, tenant, id)
	if !t.onClaim {
		a = t.change(a)
	}
	return a, err
}

func (t tampered) ClaimApproval(ctx context.Context, tenant tierzero.TenantID, id string, now time.Time) (tierzero.Approval, error) {
	a, err := t.DB.ClaimApproval(ctx, tenant, id, now)
	if t.onClaim {
		a = t.change(a)
	}
	return a, err
}

func TestApprovalRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		approver tierzero.Requester
		wrap     func(*store.DB) Approvals
		setup    func(r *approvalRig, id string) string // returns the id to decide
		wantCode string
		wantMsg  string
	}{
		{name: "self-approval", approver: adele, wantCode: tierzero.EDenied, wantMsg: "own request"},
		{name: "self by object id", approver: tierzero.Requester{Tenant: "contoso", UPN: "ADELE@contoso.com", ObjectID: "id-adele"}, wantCode: tierzero.EDenied, wantMsg: "own request"},
		{name: "non-approver", approver: alexReq, wantCode: tierzero.EDenied, wantMsg: "not an approver"},
		{name: "another tenant", approver: tierzero.Requester{Tenant: "fabrikam", UPN: "miriam@contoso.com", ObjectID: "id-miriam"}, wantCode: tierzero.EDenied, wantMsg: "not an approver"},
		{name: "no tenant", approver: tierzero.Requester{UPN: "miriam@contoso.com", ObjectID: "id-miriam"}, wantCode: tierzero.EDenied, wantMsg: "not verified for tenant"},
		{name: "a fabrikam user", approver: tierzero.Requester{Tenant: "contoso", UPN: "pradeep@fabrikam.com", ObjectID: "id-pradeep"}, wantCode: tierzero.EDenied, wantMsg: "could not be verified"},
		{name: "forged object id", approver: tierzero.Requester{Tenant: "contoso", UPN: "miriam@contoso.com", ObjectID: "id-alex"}, wantCode: tierzero.EDenied, wantMsg: "could not be verified"},
		{name: "a role the manager spec does not name", approver: admin1, wantCode: tierzero.EDenied, wantMsg: "not an approver"},
		{name: "expired", approver: miriam, setup: func(r *approvalRig, id string) string { r.advance(24 * time.Hour); return id },
			wantCode: tierzero.EConflict, wantMsg: "expired"},
		{name: "unknown id", approver: miriam, setup: func(*approvalRig, string) string { return "0123456789abcdef0123456789abcdef" },
			wantCode: tierzero.ENotFound, wantMsg: "no approval"},
		{name: "arguments changed", approver: miriam, wrap: func(db *store.DB) Approvals { return tampered{DB: db} },
			wantCode: tierzero.EDenied, wantMsg: "does not match"},
		{name: "arguments changed at claim", approver: miriam, wrap: func(db *store.DB) Approvals { return tampered{DB: db, onClaim: true} },
			wantCode: tierzero.EDenied, wantMsg: "does not match"},
		{name: "after a deny", approver: miriam, setup: func(r *approvalRig, id string) string {
			if a, _, err := r.g.Decide(context.Background(), "contoso", miriam, id, false); err != nil || a.State != tierzero.ApprovalDenied {
				t.Fatalf("deny: %+v %v", a, err)
			}
			return id
		}, wantCode: tierzero.EConflict, wantMsg: "already denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newApprovalRig(t, "", tt.wrap)
			id := r.request(t)
			if tt.setup != nil {
				id = tt.setup(r, id)
			}
			_, res, err := r.g.Decide(ctx, "contoso", tt.approver, id, true)
			if tierzero.ErrorCode(err) != tt.wantCode || !strings.Contains(tierzero.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("Decide = %v, want %s with %q", err, tt.wantCode, tt.wantMsg)
			}
			if len(r.exec.runs()) != 0 || !res.Secret.IsZero() {
				t.Fatalf("ran %v", r.exec.runs())
			}
			k := r.kinds(t)
			if last := k[len(k)-1]; last != "approval_decided:refused" && last != "approval_executed:refused" {
				t.Fatalf("no refusal on the record: %v", k)
			}
			if slices.Contains(k, "executed:ok") {
				t.Fatalf("audit shows an execution: %v", k)
			}
		})
	}
}

const adminPolicy = `
scope: {global: true}
rules:
  - id: admins-approve-tap
    action: user.issue_tap
    effect: require_approval
    when: {target: self}
    approvers: [role:tenant_admin]
    count: 1
`

func TestApprovalConcurrentDecisions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		approvers []tierzero.Requester
	}{
		{"two admins at once", []tierzero.Requester{admin1, admin2, admin1, admin2}},
		{"one admin twice", []tierzero.Requester{admin1, admin1, admin1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newApprovalRig(t, adminPolicy, nil)
			id := r.request(t)
			var wg sync.WaitGroup
			var mu sync.Mutex
			executed, secrets := 0, 0
			for _, ap := range tc.approvers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, res, err := r.g.Decide(ctx, "contoso", ap, id, true)
					mu.Lock()
					defer mu.Unlock()
					if err == nil && a.State == tierzero.ApprovalExecuted {
						executed++
					}
					if !res.Secret.IsZero() {
						secrets++
					}
				}()
			}
			wg.Wait()
			if n := len(r.exec.runs()); n != 1 || executed != 1 || secrets != 1 {
				t.Fatalf("ran %d times, %d decisions executed, %d secrets; want 1, 1, 1", n, executed, secrets)
			}
			a, _ := r.db.Approval(ctx, "contoso", id)
			if a.State != tierzero.ApprovalExecuted || len(a.Decisions) != 1 {
				t.Fatalf("approval = %+v", a)
			}
		})
	}
}

// TestApprovalDecidedAgainAtRun: an approval granted for a target that has
// since gained an admin role runs nothing: the guardrail applies now.
func TestApprovalDecidedAgainAtRun(t *testing.T) {
	ctx := context.Background()
	r := newApprovalRig(t, "", nil)
	id := r.request(t)
	promoted := fakeDir{}
	for k, v := range approvalDir {
		promoted[k] = v
	}
	f := promoted["adele@contoso.com"]
	f.AdminRoles = []string{"member of role-assignable group IT Admins"}
	promoted["adele@contoso.com"] = f
	r.g.cfg.Directory = promoted
	_, _, err := r.g.Decide(ctx, "contoso", miriam, id, true)
	if tierzero.ErrorCode(err) != tierzero.EDenied || !strings.Contains(err.Error(), "policy denies the call now") {
		t.Fatalf("Decide = %v, want a refusal: policy denies it now", err)
	}
	if n := len(r.exec.runs()); n != 0 {
		t.Fatalf("ran %d calls", n)
	}
	if k := r.kinds(t); k[len(k)-1] != "approval_executed:refused" {
		t.Fatalf("audit = %v, want the refusal on the record", k)
	}
}

// TestApprovalByDeviceOwnersManager: for a device action the manager who
// may approve is the manager of the device's owner.
func TestApprovalByDeviceOwnersManager(t *testing.T) {
	ctx := context.Background()
	r := newApprovalRig(t, `scope: {global: true}
rules:
  - id: wipe-own-device
    action: device.wipe
    effect: require_approval
    when: {device_owner: self}
    approvers: [manager]
`, nil)
	r.g.cfg.Tools = toolSpecs("device.wipe!")
	r.g.tools = map[string]tierzero.ToolSpec{"device.wipe": r.g.cfg.Tools[0]}
	r.g.cfg.SubjectOf = func(c tierzero.ToolCall) (Subject, error) {
		var a struct{ Device string }
		return Subject{Device: a.Device}, json.Unmarshal(c.Args, &a)
	}
	r.g.cfg.Devices = &fakeSubjects{devices: map[string]DeviceFacts{"d-adele": {ID: "d-adele", Owner: strp("adele@contoso.com")}}}
	wipe := tierzero.ToolCall{ID: "w1", Action: "device.wipe", Args: json.RawMessage(`{"device":"d-adele"}`)}
	res, err := r.g.RunTool(ctx, "contoso", adele, "conv", wipe)
	if err != nil || res.Error == nil || res.Error.Code != tierzero.EPending {
		t.Fatalf("wipe = %+v, %v; want pending", res.Error, err)
	}
	var out struct{ Approval string }
	json.Unmarshal(res.Output, &out)
	if _, _, err := r.g.Decide(ctx, "contoso", tierzero.Requester{Tenant: "contoso", UPN: "alex@contoso.com", ObjectID: "id-alex", Role: tierzero.RoleEmployee}, out.Approval, true); err == nil {
		t.Fatal("someone who is not the owner's manager approved")
	}
	got, _, err := r.g.Decide(ctx, "contoso", miriam, out.Approval, true)
	if err != nil || got.State != tierzero.ApprovalExecuted || len(r.exec.runs()) != 1 {
		t.Fatalf("manager's approval: state %s, err %v, runs %d", got.State, err, len(r.exec.runs()))
	}
}

type recNotifier struct {
	mu                  sync.Mutex
	requested, resolved []string
}

func (n *recNotifier) ApprovalRequested(_ context.Context, a tierzero.Approval, summary string) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.requested = append(n.requested, summary)
	return []string{"approver@contoso.com"}, nil
}

func (n *recNotifier) ApprovalResolved(_ context.Context, a tierzero.Approval, outcome string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.resolved = append(n.resolved, outcome)
	return nil
}

func TestApprovalSweep(t *testing.T) {
	ctx := context.Background()
	r := newApprovalRig(t, "", nil)
	n := &recNotifier{}
	r.g.cfg.Notifier = n
	id := r.request(t)
	if len(n.requested) != 1 {
		t.Fatalf("approvers were shown %d requests, want 1", len(n.requested))
	}
	if err := r.g.Sweep(ctx, "contoso", time.Hour); err != nil || len(n.requested) != 1 {
		t.Fatalf("a fresh approval was swept: %v, %d shown", err, len(n.requested))
	}
	r.advance(23*time.Hour + 30*time.Minute) // 30 minutes before it expires
	for i := 0; i < 2; i++ {
		if err := r.g.Sweep(ctx, "contoso", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if len(n.requested) != 2 || !strings.HasPrefix(n.requested[1], "Reminder") {
		t.Fatalf("shown %q, want one reminder", n.requested)
	}
	r.advance(time.Hour)
	if err := r.g.Sweep(ctx, "contoso", time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(n.resolved) != 1 || !strings.Contains(n.resolved[0], "expired") {
		t.Fatalf("resolved %q, want the requester told it expired", n.resolved)
	}
	if _, _, err := r.g.Decide(ctx, "contoso", miriam, id, true); err == nil || len(r.exec.runs()) != 0 {
		t.Fatalf("an expired approval was decided: %v", err)
	}
	want := []string{"decided:", "approval_requested:pending", "approval_shown:", "approval_reminded:", "approval_expired:expired"}
	if k := r.kinds(t); !slices.Equal(k[:5], want) {
		t.Fatalf("audit = %v, want it to start %v", k, want)
	}
}
