package policy

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// reachSet admits tess to contoso, every technician of msp.example to
// fabrikam, and nobody to northwind; the MSP's technicians may read users.
func reachSet(t *testing.T) *Set {
	t.Helper()
	return setOf(t,
		mustParse(t, "read.yaml", "scope: {global: true}\nrules:\n  - {id: read, action: user.get, effect: allow, when: {requester_role: msp_technician}}\n"),
		mustParse(t, "contoso.yaml", contosoAdmitsTess),
		mustParse(t, "fabrikam.yaml", "scope: {tenant: fabrikam}\ntechnicians: [\"*@msp.example\"]\n"),
	)
}

var reachClients = []tierzero.TenantID{"contoso", "fabrikam", "northwind"}

func TestReach(t *testing.T) {
	zoe := tierzero.Requester{Tenant: "msp", UPN: "zoe@contractor.example", Role: tierzero.RoleMSPTechnician}
	tests := []struct {
		name       string
		home       tierzero.TenantID
		req        tierzero.Requester
		wantAcross []tierzero.TenantID
	}{
		{"a technician admitted to two tenants", "msp", tess, []tierzero.TenantID{"contoso", "fabrikam"}},
		{"another spelling of the same technician", "msp", tierzero.Requester{Tenant: "msp", UPN: "TESS@msp.EXAMPLE", Role: tierzero.RoleMSPTechnician}, []tierzero.TenantID{"contoso", "fabrikam"}},
		{"a technician admitted by a glob only", "msp", tom, []tierzero.TenantID{"fabrikam"}},
		{"a technician admitted nowhere", "msp", zoe, nil},
		{"a technician of another home", "msp", as(tess, tierzero.RoleMSPTechnician, "contoso"), nil},
		{"a technician without a tenant", "msp", as(tess, tierzero.RoleMSPTechnician, ""), nil},
		{"an employee of the MSP listed under technicians", "msp", as(tess, tierzero.RoleEmployee, "msp"), nil},
		{"a tenant admin of the MSP", "msp", as(tess, tierzero.RoleTenantAdmin, "msp"), nil},
		{"a client's employee", "msp", adele, nil},
		{"no MSP", "", as(tess, tierzero.RoleMSPTechnician, ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReach(reachSet(t), tt.home, reachClients)
			got := r.Across(tt.req)
			if !slices.Equal(got, tt.wantAcross) {
				t.Fatalf("Across = %q, want %q", got, tt.wantAcross)
			}
			if again := r.Across(tt.req); !slices.Equal(again, got) {
				t.Fatalf("Across again = %q, want %q", again, got)
			}
			if want := append([]tierzero.TenantID{tt.req.Tenant}, tt.wantAcross...); !slices.Equal(r.Of(tt.req), want) {
				t.Fatalf("Of = %q, want %q", r.Of(tt.req), want)
			}
		})
	}
}

// The answer is kept per technician (by lower-case UPN) and shared: a
// caller that appends to it does not change it for the next.
func TestReachCache(t *testing.T) {
	r := NewReach(reachSet(t), "msp", reachClients)
	first := r.Across(tess)
	second := r.Across(tierzero.Requester{Tenant: "msp", UPN: "Tess@MSP.example", Role: tierzero.RoleMSPTechnician})
	if len(first) != 2 || &first[0] != &second[0] {
		t.Fatalf("Across = %q then %q, want one kept answer", first, second)
	}
	a := append(r.Across(tess), "a")
	b := append(r.Across(tess), "b")
	if a[2] != "a" || b[2] != "b" {
		t.Fatalf("two callers appended to one array: %q, %q", a, b)
	}
	if got := r.Across(tess); !slices.Equal(got, []tierzero.TenantID{"contoso", "fabrikam"}) {
		t.Fatalf("after callers appended, Across = %q", got)
	}
	// Kept per technician, not shared between them.
	if got := r.Across(tom); !slices.Equal(got, []tierzero.TenantID{"fabrikam"}) {
		t.Fatalf("Across(tom) = %q", got)
	}
	// Clients is a copy.
	c := r.Clients()
	c[0] = "evil"
	if got := r.Clients(); !slices.Equal(got, reachClients) || r.Home() != "msp" {
		t.Fatalf("Clients = %q, Home = %q", got, r.Home())
	}
	// NewReach keeps its own copy too.
	clients := slices.Clone(reachClients)
	r = NewReach(reachSet(t), "msp", clients)
	clients[0] = "evil"
	if got := r.Across(tess); !slices.Equal(got, []tierzero.TenantID{"contoso", "fabrikam"}) {
		t.Fatalf("after the caller changed its clients, Across = %q", got)
	}
}

func TestReachConcurrent(t *testing.T) {
	r := NewReach(reachSet(t), "msp", reachClients)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			req := tess
			if i%2 == 1 {
				req = tom
			}
			if len(r.Across(req)) == 0 {
				t.Errorf("Across(%s) = none", req.UPN)
			}
		})
	}
	wg.Wait()
}

func TestReachNil(t *testing.T) {
	var r *Reach
	if got := r.Across(tess); got != nil {
		t.Errorf("Across = %q, want none", got)
	}
	if got := r.Of(tess); !slices.Equal(got, []tierzero.TenantID{"msp"}) {
		t.Errorf("Of = %q, want the requester's own tenant", got)
	}
	if r.Home() != "" || r.Clients() != nil {
		t.Errorf("Home = %q, Clients = %q; want none", r.Home(), r.Clients())
	}
	if !r.Offered(tess, "user.get") {
		t.Error("a nil Reach offered nothing; it leaves the decision to the guard")
	}
	if got := NewReach(nil, "msp", reachClients).Across(tess); got != nil {
		t.Errorf("without a set, Across = %q, want none", got)
	}
}

func TestReachOffered(t *testing.T) {
	zoe := tierzero.Requester{Tenant: "msp", UPN: "zoe@contractor.example", Role: tierzero.RoleMSPTechnician}
	tests := []struct {
		name   string
		home   tierzero.TenantID
		req    tierzero.Requester
		action string
		want   bool
	}{
		{"a technician at home who acts somewhere", "msp", tess, "user.get", true},
		{"what no rule allows them", "msp", tess, "user.reset_password", false},
		{"a technician at home who acts nowhere", "msp", zoe, "user.get", false},
		{"the same, without an MSP", "", zoe, "user.get", true},
		{"a technician of a client tenant", "msp", as(zoe, tierzero.RoleMSPTechnician, "contoso"), "user.get", true},
		{"a client's employee", "msp", adele, "user.get", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewReach(reachSet(t), tt.home, reachClients).Offered(tt.req, tt.action); got != tt.want {
				t.Fatalf("Offered(%s %s of %q, %s) = %v, want %v", tt.req.Role, tt.req.UPN, tt.req.Tenant, tt.action, got, tt.want)
			}
		})
	}
}

// tessAtFabrikam admits tess to fabrikam too, where nothing is kept: an
// approval is found in contoso after fabrikam is asked.
const tessAtFabrikam = "scope: {tenant: fabrikam}\ntechnicians: [tess@msp.example]\n"

func TestDecideFrom(t *testing.T) {
	ctx := context.Background()
	zoe := tierzero.Requester{Tenant: "msp", UPN: "zoe@msp.example", Role: tierzero.RoleMSPTechnician, Channel: tierzero.ChannelConsole}
	tests := []struct {
		name      string
		requester tierzero.Requester // who asks, in contoso
		call      tierzero.ToolCall
		approver  tierzero.Requester
		reach     bool   // GuardConfig.Reach set
		id        string // instead of the approval's
		wantErr   string // "" for approved and run in contoso
		wantCode  string
		wantIn    tierzero.TenantID // where the refusal is audited
	}{
		{"a technician finds the approval in a client tenant", adele, tapAdele, tess, true, "", "", "", ""},
		{"a tenant admin decides in their own tenant", tess, tapAlex, admin1, true, "", "", "", ""},
		{"a client's employee decides in their own tenant", tess, tapAlex, miriam, true, "", "not an approver", tierzero.EDenied, "contoso"},
		{"a technician admitted nowhere", adele, tapAdele, zoe, true, "", "no approval request", tierzero.ENotFound, "msp"},
		{"an id in no tenant they act in", adele, tapAdele, tess, true, "0123456789abcdef0123456789abcdef", "no approval request", tierzero.ENotFound, "msp"},
		{"a technician's own request, found and refused there", tess, tapAlex, tess, true, "", "own request", tierzero.EDenied, "contoso"},
		{"without a Reach, a technician decides at home", adele, tapAdele, tess, false, "", "no approval", tierzero.ENotFound, "msp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newApprovalRig(t, techTapPolicy, nil)
			set := setOf(t, mustParse(t, "test.yaml", techTapPolicy), mustParse(t, "fabrikam.yaml", tessAtFabrikam))
			r.g.cfg.Policies = set
			if tt.reach {
				r.g.cfg.Reach = NewReach(set, "msp", []tierzero.TenantID{"fabrikam", "contoso"})
			}
			id := r.requestAs(t, tt.requester, tt.call)
			if tt.id != "" {
				id = tt.id
			}
			a, res, err := r.g.DecideFrom(ctx, tt.approver, id, true)
			if tt.wantErr != "" {
				if tierzero.ErrorCode(err) != tt.wantCode || !strings.Contains(tierzero.ErrorMessage(err), tt.wantErr) {
					t.Fatalf("DecideFrom = %v, want %s with %q", err, tt.wantCode, tt.wantErr)
				}
				if n := len(r.exec.runs()); n != 0 {
					t.Fatalf("ran %d calls", n)
				}
				evs := auditKind(t, r, tt.wantIn, tierzero.AuditApprovalDecided)
				if len(evs) != 1 || evs[0].Outcome != "refused" || evs[0].Requester != tt.approver.UPN ||
					evs[0].Facts["approval"] != id || evs[0].Facts["decision"] != "approve" || !strings.Contains(evs[0].Error, tt.wantErr) {
					t.Fatalf("approval decisions in %s = %+v, want the refusal", tt.wantIn, evs)
				}
				for _, other := range []tierzero.TenantID{"msp", "contoso"} {
					if other != tt.wantIn && len(auditKind(t, r, other, tierzero.AuditApprovalDecided)) != 0 {
						t.Fatalf("a decision was audited in %s too", other)
					}
				}
				if got, _ := r.db.Approval(ctx, "contoso", r.onlyApproval(t)); got.State != tierzero.ApprovalPending {
					t.Fatalf("approval state = %s, want pending", got.State)
				}
				return
			}
			if err != nil || a.State != tierzero.ApprovalExecuted || a.Tenant != "contoso" || res.Error != nil {
				t.Fatalf("DecideFrom = %s in %s, %+v, %v; want executed in contoso", a.State, a.Tenant, res.Error, err)
			}
			if ran := r.exec.runs(); len(ran) != 1 || r.exec.permits[0].Tenant != "contoso" || r.exec.permits[0].Requester != tt.requester.UPN {
				t.Fatalf("ran %v with %+v, want the stored call in contoso", ran, r.exec.permits)
			}
			evs := auditKind(t, r, "contoso", tierzero.AuditApprovalDecided)
			if len(evs) != 1 || evs[0].Requester != tt.approver.UPN || evs[0].Outcome != string(tierzero.ApprovalApproved) {
				t.Fatalf("approval decisions in contoso = %+v", evs)
			}
			if cross := tt.approver.Tenant != "contoso"; cross && evs[0].Facts["approver_tenant"] != "msp" {
				t.Errorf("approval decision facts = %v, want the approver's tenant", evs[0].Facts)
			}
			if n := len(auditKind(t, r, "msp", "")); n != 0 {
				t.Errorf("%d records in the MSP's audit, want none", n)
			}
		})
	}
}

// A refusal at home records the decision asked for.
func TestDecideFromDenyRefusedAtHome(t *testing.T) {
	r := newApprovalRig(t, techTapPolicy, nil)
	r.g.cfg.Reach = NewReach(r.g.cfg.Policies, "msp", []tierzero.TenantID{"contoso"})
	_, _, err := r.g.DecideFrom(context.Background(), tess, "0123456789abcdef0123456789abcdef", false)
	if tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatalf("DecideFrom = %v, want not found", err)
	}
	evs := auditKind(t, r, "msp", tierzero.AuditApprovalDecided)
	if len(evs) != 1 || evs[0].Facts["decision"] != "deny" || evs[0].Outcome != "refused" {
		t.Fatalf("audit at home = %+v", evs)
	}
}

// auditKind returns the audit events of kind in tenant ("" for all).
func auditKind(t *testing.T, r *approvalRig, tenant tierzero.TenantID, kind tierzero.AuditKind) []tierzero.AuditEvent {
	t.Helper()
	var evs []tierzero.AuditEvent
	err := r.db.Audit(context.Background(), tenant, time.Time{}, func(ev tierzero.AuditEvent) error {
		if kind == "" || ev.Kind == kind {
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatal(err)
	}
	return evs
}

// onlyApproval returns the id of the one approval in contoso.
func (r *approvalRig) onlyApproval(t *testing.T) string {
	t.Helper()
	all, err := r.db.ListApprovals(context.Background(), "contoso", "")
	if err != nil || len(all) != 1 {
		t.Fatalf("approvals in contoso = %v, %v; want one", all, err)
	}
	return all[0].ID
}
