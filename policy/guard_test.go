package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// fakeExec verifies permits with the real verifier and records what ran.
type fakeExec struct {
	verifier *tierzero.PermitVerifier
	ran      []tierzero.ToolCall
	permits  []tierzero.Permit
}

func (f *fakeExec) Execute(_ context.Context, p tierzero.Permit, tenant tierzero.TenantID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	if err := f.verifier.Spend(p, tenant, call); err != nil {
		return tierzero.ToolResult{}, err
	}
	f.ran = append(f.ran, call)
	f.permits = append(f.permits, p)
	return tierzero.ToolResult{CallID: call.ID, Action: call.Action, Output: json.RawMessage(`{"done":true}`),
		Secret: tierzero.NewSecret("temporary_password", "pw", "S3cret!pw")}, nil
}

// fakeDir finds users by user principal name or object id.
type fakeDir map[string]tierzero.UserFacts

func (d fakeDir) UserFacts(_ context.Context, _ tierzero.TenantID, ref string) (tierzero.UserFacts, error) {
	if f, ok := d[ref]; ok {
		return f, nil
	}
	for _, f := range d {
		if f.ObjectID == ref {
			return f, nil
		}
	}
	return tierzero.UserFacts{}, tierzero.Errorf(tierzero.ENotFound, "no user %s", ref)
}

type fakeAudit struct {
	events []tierzero.AuditEvent
	fail   bool
}

func (a *fakeAudit) Append(_ context.Context, _ tierzero.TenantID, ev tierzero.AuditEvent) error {
	if a.fail {
		return errors.New("disk full")
	}
	a.events = append(a.events, ev)
	return nil
}

func newTestGuard(t *testing.T) (*Guard, *fakeExec, *fakeAudit) {
	t.Helper()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	exec := &fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), nil)}
	audit := &fakeAudit{}
	g, err := NewGuard(GuardConfig{
		Policies: Baseline(), Signer: signer, Executor: exec, Audit: audit,
		Directory: fakeDir{"adele@contoso.com": *self, "alex@contoso.com": *alex, "megan@contoso.com": *admin},
		Tools:     toolSpecs("user.reset_password!", "user.get"),
		TargetOf: func(c tierzero.ToolCall) (string, error) {
			var a struct{ User string }
			if err := json.Unmarshal(c.Args, &a); err != nil {
				return "", tierzero.Errorf(tierzero.EInvalid, "bad args")
			}
			return a.User, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, exec, audit
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name      string
		requester tierzero.Requester
		call      tierzero.ToolCall
		wantRun   bool
		wantRule  string
	}{
		{"own reset runs", adele, tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)}, true, "self-reset-password"},
		{"other's reset denied", adele, tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"alex@contoso.com"}`)}, false, ""},
		{"admin's own reset denied", megan, tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"megan@contoso.com"}`)}, false, "never-reset-admins"},
		{"unknown tool denied", adele, tierzero.ToolCall{ID: "1", Action: "directory.make_me_admin", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)}, false, ""},
		{"garbage args denied", adele, tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":`)}, false, ""},
		{"unknown user denied", adele, tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"ghost@contoso.com"}`)}, false, ""},
		{"requester of another tenant denied", tierzero.Requester{Tenant: "fabrikam", UPN: "adele@contoso.com", ObjectID: "id-adele"},
			tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, exec, audit := newTestGuard(t)
			res, err := g.RunTool(context.Background(), "contoso", tt.requester, "conv", tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(exec.ran) == 1; got != tt.wantRun {
				t.Fatalf("ran = %v, want %v (decision %+v)", exec.ran, tt.wantRun, res.Decision)
			}
			if res.Decision == nil || res.Decision.Rule != tt.wantRule {
				t.Fatalf("decision = %+v, want rule %q", res.Decision, tt.wantRule)
			}
			if len(audit.events) == 0 || audit.events[0].Kind != tierzero.AuditDecided || audit.events[0].Effect != res.Decision.Effect {
				t.Fatalf("first audit event = %+v, want the decision", audit.events)
			}
			if tt.wantRun {
				if len(audit.events) != 2 || audit.events[1].Kind != tierzero.AuditExecuted || audit.events[1].Outcome != "ok" {
					t.Fatalf("audit = %+v, want decided then executed", audit.events)
				}
				if res.Secret.Reveal() != "S3cret!pw" {
					t.Error("the secret did not come back to the caller for private delivery")
				}
			} else {
				if res.Error == nil || res.Error.Code != tierzero.EDenied {
					t.Fatalf("result error = %+v, want denied", res.Error)
				}
				if len(audit.events) != 1 {
					t.Fatalf("audit = %+v, want only the decision", audit.events)
				}
			}
			for _, ev := range audit.events {
				b, _ := json.Marshal(ev)
				if contains(b, "S3cret!pw") {
					t.Fatalf("secret in audit: %s", b)
				}
			}
		})
	}
}

func TestGuardAuditFailureRunsNothing(t *testing.T) {
	g, exec, audit := newTestGuard(t)
	audit.fail = true
	_, err := g.RunTool(context.Background(), "contoso", adele, "conv",
		tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)})
	if err == nil {
		t.Fatal("RunTool succeeded without an audit record")
	}
	if len(exec.ran) != 0 {
		t.Fatalf("ran %v although the decision could not be audited", exec.ran)
	}
}

// capture is an executor that keeps the permit without spending it.
type capture struct{ permits []tierzero.Permit }

func (c *capture) Execute(_ context.Context, p tierzero.Permit, _ tierzero.TenantID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	c.permits = append(c.permits, p)
	return tierzero.ToolResult{CallID: call.ID, Action: call.Action}, nil
}

func TestPermitCannotBeReusedOrRedirected(t *testing.T) {
	g, exec, _ := newTestGuard(t)
	verifier := exec.verifier
	grab := &capture{}
	g.cfg.Executor = grab
	call := tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{ "user" : "adele@contoso.com" }`)}
	if _, err := g.RunTool(context.Background(), "contoso", adele, "conv", call); err != nil || len(grab.permits) != 1 {
		t.Fatalf("allowed call got no permit: %v", err)
	}
	p := grab.permits[0]
	other := tierzero.ToolCall{ID: "2", Action: "user.reset_password", Args: json.RawMessage(`{"user":"alex@contoso.com"}`)}
	forged := p
	forged.Nonce = "fresh"
	tests := []struct {
		name   string
		permit tierzero.Permit
		tenant tierzero.TenantID
		call   tierzero.ToolCall
		want   string
	}{
		{"other args", p, "contoso", other, "does not cover these arguments"},
		{"other action", p, "contoso", tierzero.ToolCall{Action: "user.get", Args: call.Args}, "not \"user.get\""},
		{"other tenant", p, "fabrikam", call, "not \"fabrikam\""},
		{"no permit", tierzero.Permit{}, "contoso", call, "signature invalid"},
		{"edited by hand", forged, "contoso", call, "signature invalid"},
	}
	for _, tt := range tests { // none of these spends p
		t.Run(tt.name, func(t *testing.T) {
			err := verifier.Spend(tt.permit, tt.tenant, tt.call)
			if tierzero.ErrorCode(err) != tierzero.EDenied || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Spend = %v, want denied with %q", err, tt.want)
			}
		})
	}
	if err := verifier.Spend(p, "contoso", call); err != nil {
		t.Fatalf("the permit does not cover the call it was minted for: %v", err)
	}
	if err := verifier.Spend(p, "contoso", call); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replay: %v, want already used", err)
	}
}

func TestGuardPassesTheDecidedArguments(t *testing.T) {
	g, exec, audit := newTestGuard(t)
	call := tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{ "user" : "adele@contoso.com" }`)}
	if _, err := g.RunTool(context.Background(), "contoso", adele, "conv", call); err != nil || len(exec.ran) != 1 {
		t.Fatalf("allowed call did not run: %v", err)
	}
	if got, want := string(exec.ran[0].Args), string(audit.events[0].Args); got != want || got != `{"user":"adele@contoso.com"}` {
		t.Fatalf("executor got %s, audit has %s: want the same canonical arguments", got, want)
	}
}

func TestGuardRefusals(t *testing.T) {
	tests := []struct {
		name       string
		requester  tierzero.Requester
		args       string
		wantReason string // in the audit
		wantMsg    string // to the model
	}{
		{"repeated key", adele, `{"user":"alex@contoso.com","user":"adele@contoso.com"}`, "repeat the key", "repeat the key"},
		{"null target", adele, `{"user":null}`, "must name the account", "must name the account"},
		{"someone else", adele, `{"user":"alex@contoso.com"}`, "no policy allows", "self-service covers your own account only"},
		{"an admin", adele, `{"user":"megan@contoso.com"}`, "admin role", "self-service covers your own account only"},
		{"nobody", adele, `{"user":"ghost@contoso.com"}`, "no user", "self-service covers your own account only"},
		{"admin's own", megan, `{"user":"megan@contoso.com"}`, "admin role", "admin role"},
		// IT staff may look accounts up anyway: they are told the reason.
		{"a tenant admin, an admin", tierzero.Requester{Tenant: "contoso", UPN: "ta@contoso.com", ObjectID: "id-ta", Role: tierzero.RoleTenantAdmin},
			`{"user":"megan@contoso.com"}`, "admin role", "admin role"},
		{"a technician, an admin", tech, `{"user":"megan@contoso.com"}`, "admin role", "admin role"},
		{"a technician, nobody", tech, `{"user":"ghost@contoso.com"}`, "no user", "no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, exec, audit := newTestGuard(t)
			res, err := g.RunTool(context.Background(), "contoso", tt.requester, "conv",
				tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(tt.args)})
			if err != nil {
				t.Fatal(err)
			}
			if len(exec.ran) != 0 {
				t.Fatalf("ran %v", exec.ran)
			}
			if !strings.Contains(audit.events[0].Reason, tt.wantReason) {
				t.Errorf("audit reason = %q, want %q", audit.events[0].Reason, tt.wantReason)
			}
			if res.Error == nil || !strings.Contains(res.Error.Message, tt.wantMsg) {
				t.Errorf("message = %+v, want %q", res.Error, tt.wantMsg)
			}
			d, audited := res.Decision, audit.events[0]
			switch other := strings.Contains(tt.wantMsg, "your own account only"); {
			case other:
				if d.Rule != "" || d.Reason != "" || d.Facts != nil {
					t.Errorf("the caller sees the decision %+v about someone else's account", d)
				}
			case tt.requester.Role == tierzero.RoleTenantAdmin || tt.requester.Role == tierzero.RoleMSPTechnician:
				if d.Rule != audited.Rule || d.Reason != audited.Reason || d.Facts != nil {
					t.Errorf("IT staff see the decision %+v, want rule %q and reason %q without the facts", d, audited.Rule, audited.Reason)
				}
			}
		})
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// countingDir counts lookups.
type countingDir struct {
	fakeDir
	calls []string
}

func (d *countingDir) UserFacts(ctx context.Context, t tierzero.TenantID, ref string) (tierzero.UserFacts, error) {
	d.calls = append(d.calls, ref)
	return d.fakeDir.UserFacts(ctx, t, ref)
}

type fakeSubjects struct {
	groups   map[string]GroupFacts
	licenses map[string]LicenseFacts
	devices  map[string]DeviceFacts
	fail     error
}

func (f *fakeSubjects) GroupFacts(_ context.Context, _ tierzero.TenantID, ref string) (GroupFacts, error) {
	g, ok := f.groups[ref]
	if !ok {
		return g, tierzero.Errorf(tierzero.ENotFound, "no group %s", ref)
	}
	return g, f.fail
}

func (f *fakeSubjects) LicenseFacts(_ context.Context, _ tierzero.TenantID, ref string) (LicenseFacts, error) {
	l, ok := f.licenses[ref]
	if !ok {
		return l, tierzero.Errorf(tierzero.ENotFound, "no license %s", ref)
	}
	return l, f.fail
}

func (f *fakeSubjects) DeviceFacts(_ context.Context, _ tierzero.TenantID, ref string) (DeviceFacts, error) {
	d, ok := f.devices[ref]
	if !ok {
		return d, tierzero.Errorf(tierzero.ENotFound, "no device %s", ref)
	}
	return d, f.fail
}

type fakeHistory struct {
	n    int
	err  error
	asks []string
	at   time.Time
}

func (h *fakeHistory) CountToday(_ context.Context, tenant tierzero.TenantID, upn, action string, now time.Time) (int, error) {
	h.asks = append(h.asks, string(tenant)+" "+upn+" "+action)
	h.at = now
	return h.n, h.err
}

// The facts rules read beyond the target user: the requester's groups, the
// history, and the group, license or device a call names.
func TestGuardGathersFacts(t *testing.T) {
	const doc = `scope: {global: true}
rules:
  - id: helpdesk-groups
    action: group.add_member
    effect: allow
    when:
      requester_in_group: Helpdesk
      group: {allow: [Sales EMEA]}
      target_has_admin_role: false
  - id: e3
    action: license.assign
    effect: allow
    when: {license: {allow: [SPE_E3]}, max_per_day: 2}
  - id: own-device
    action: device.sync
    effect: allow
    when: {device_owner: self}
  - id: self-read
    action: user.get
    effect: allow
    when: {target: self}
`
	file, err := Parse("p.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(file)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	helpdesk := *self
	helpdesk.Groups = groupsOf("Helpdesk")
	lee := tierzero.UserFacts{ObjectID: "id-lee", UPN: "lee@contoso.com", Groups: groupsOf()}
	// Lee made a group and called it Helpdesk.
	lookalike := tierzero.UserFacts{ObjectID: "id-lee", UPN: "lee@contoso.com",
		Groups: []tierzero.GroupRef{{ID: "00000000-0000-4000-8000-000000000bad", Name: "Helpdesk"}}}
	type setup struct {
		subjects  bool
		fail      error
		history   *fakeHistory
		lookalike bool          // lee's look-alike Helpdesk group
		resolver  *testResolver // default: every name resolves
	}
	tests := []struct {
		name        string
		requester   tierzero.Requester
		action      string
		args        string
		setup       setup
		wantEffect  tierzero.Effect
		wantReason  string
		wantLookups []string // of the directory, in order
	}{
		{"helpdesk adds to a sales group", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`, setup{subjects: true},
			tierzero.EffectAllow, "", []string{"alex@contoso.com", "id-adele"}},
		{"not to another group", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-it"}`, setup{subjects: true},
			tierzero.EffectDeny, "no policy", []string{"alex@contoso.com", "id-adele"}},
		{"not by someone outside Helpdesk", tierzero.Requester{Tenant: "contoso", UPN: "lee@contoso.com", ObjectID: "id-lee", Role: tierzero.RoleEmployee},
			"group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`, setup{subjects: true},
			tierzero.EffectDeny, "no policy", []string{"alex@contoso.com", "id-lee"}},
		{"not by a member of a look-alike Helpdesk", tierzero.Requester{Tenant: "contoso", UPN: "lee@contoso.com", ObjectID: "id-lee", Role: tierzero.RoleEmployee},
			"group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`, setup{subjects: true, lookalike: true},
			tierzero.EffectDeny, "no policy", []string{"alex@contoso.com", "id-lee"}},
		{"a group name several groups have", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`,
			setup{subjects: true, resolver: &testResolver{ambiguous: map[string]bool{"helpdesk": true}}},
			tierzero.EffectDeny, `names the group "Helpdesk" by its display name, which does not name exactly one group of tenant contoso`, nil},
		{"a group name no group has", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`,
			setup{subjects: true, resolver: &testResolver{missing: map[string]bool{"sales emea": true}}},
			tierzero.EffectDeny, `names the group "Sales EMEA" by its display name`, nil},
		{"a key that is not the tool's", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-sales","Group":"g-it"}`, setup{subjects: true},
			tierzero.EffectDeny, "invalid arguments", []string{}},
		{"no group directory: missing fact", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`, setup{},
			tierzero.EffectDeny, "needs the fact group", nil},
		{"a group that does not exist", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-ghost"}`, setup{subjects: true},
			tierzero.EffectDeny, `no group "g-ghost"`, nil},
		{"a group lookup that fails: missing fact", adele, "group.add_member", `{"user":"alex@contoso.com","group":"g-sales"}`, setup{subjects: true, fail: errors.New("graph down")},
			tierzero.EffectDeny, "needs the fact group", nil},
		{"a license under the daily limit", adele, "license.assign", `{"user":"alex@contoso.com","sku":"e3"}`, setup{subjects: true, history: &fakeHistory{n: 1}},
			tierzero.EffectAllow, "", []string{"alex@contoso.com"}},
		{"a license over the daily limit", adele, "license.assign", `{"user":"alex@contoso.com","sku":"e3"}`, setup{subjects: true, history: &fakeHistory{n: 2}},
			tierzero.EffectDeny, "no policy", nil},
		{"no history: missing fact", adele, "license.assign", `{"user":"alex@contoso.com","sku":"e3"}`, setup{subjects: true},
			tierzero.EffectDeny, "history.count_today", nil},
		{"history that fails: missing fact", adele, "license.assign", `{"user":"alex@contoso.com","sku":"e3"}`, setup{subjects: true, history: &fakeHistory{err: errors.New("disk")}},
			tierzero.EffectDeny, "history.count_today", nil},
		{"own device, named by a write without a user", adele, "device.sync", `{"device":"d-adele"}`, setup{subjects: true},
			tierzero.EffectAllow, "", []string{}},
		{"someone else's device", adele, "device.sync", `{"device":"d-alex"}`, setup{subjects: true},
			tierzero.EffectDeny, "no policy", []string{}},
		{"no requester lookup when no rule needs it", adele, "user.get", `{"user":"adele@contoso.com"}`, setup{subjects: true},
			tierzero.EffectAllow, "", []string{"adele@contoso.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, _ := NewSigner()
			exec := &fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), func() time.Time { return now })}
			dir := &countingDir{fakeDir: fakeDir{"adele@contoso.com": helpdesk, "alex@contoso.com": *alex, "lee@contoso.com": lee}}
			if tt.setup.lookalike {
				dir.fakeDir["lee@contoso.com"] = lookalike
			}
			resolver := tt.setup.resolver
			if resolver == nil {
				resolver = &testResolver{}
			}
			audit := &fakeAudit{}
			cfg := GuardConfig{
				Policies: set, Signer: signer, Executor: exec, Audit: audit, Directory: dir,
				Tools:      toolSpecs("group.add_member!", "license.assign!", "device.sync!", "user.get"),
				GroupNames: resolver,
				TargetOf: func(c tierzero.ToolCall) (string, error) {
					var a struct{ User string }
					return a.User, json.Unmarshal(c.Args, &a)
				},
				SubjectOf: func(c tierzero.ToolCall) (Subject, error) {
					var a struct{ Group, SKU, Device string }
					err := json.Unmarshal(c.Args, &a)
					return Subject{Group: a.Group, License: a.SKU, Device: a.Device}, err
				},
				Now: func() time.Time { return now },
			}
			if tt.setup.subjects {
				subj := &fakeSubjects{
					groups: map[string]GroupFacts{
						"g-sales": {ID: gid("Sales EMEA"), Name: "Sales EMEA", RoleAssignable: boolp(false), AdminRoles: []string{}},
						"g-it":    {ID: gid("IT"), Name: "IT", RoleAssignable: boolp(false), AdminRoles: []string{}},
					},
					licenses: map[string]LicenseFacts{"e3": {SKUID: "e3", SKU: "SPE_E3"}},
					devices: map[string]DeviceFacts{"d-adele": {ID: "d-adele", Owner: strp("ADELE@contoso.com")},
						"d-alex": {ID: "d-alex", Owner: strp("alex@contoso.com")}},
					fail: tt.setup.fail,
				}
				cfg.Groups, cfg.Licenses, cfg.Devices = subj, subj, subj
			}
			if tt.setup.history != nil {
				cfg.History = tt.setup.history
			}
			g, err := NewGuard(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := g.RunTool(context.Background(), "contoso", tt.requester, "conv",
				tierzero.ToolCall{ID: "1", Action: tt.action, Args: json.RawMessage(tt.args)})
			if err != nil {
				t.Fatal(err)
			}
			d := audit.events[0] // the decision as recorded; the caller may see less
			if d.Kind != tierzero.AuditDecided || d.Effect != tt.wantEffect || !strings.Contains(d.Reason, tt.wantReason) || res.Decision.Effect != d.Effect {
				t.Fatalf("decision = %s (%s), result %s, want %s with %q", d.Effect, d.Reason, res.Decision.Effect, tt.wantEffect, tt.wantReason)
			}
			if ran := len(exec.ran) == 1; ran != (tt.wantEffect == tierzero.EffectAllow) {
				t.Fatalf("ran = %v", exec.ran)
			}
			if tt.wantLookups != nil && strings.Join(dir.calls, ",") != strings.Join(tt.wantLookups, ",") {
				t.Errorf("directory lookups = %q, want %q", dir.calls, tt.wantLookups)
			}
			if h := tt.setup.history; h != nil {
				if len(h.asks) != 1 || h.asks[0] != "contoso adele@contoso.com "+tt.action || !h.at.Equal(now) {
					t.Errorf("history asked %q at %v", h.asks, h.at)
				}
			}
			if d.Facts["requester"] != tt.requester.UPN && !strings.HasPrefix(d.Reason, "invalid arguments") || d.Facts["tenant"] != "contoso" && d.Facts != nil {
				t.Errorf("facts = %v, want the requester and tenant", d.Facts)
			}
		})
	}
}

// A write that names nothing it acts on is denied before policy.
func TestGuardWriteNamesNothing(t *testing.T) {
	g, exec, audit := newTestGuard(t)
	g.cfg.SubjectOf = func(tierzero.ToolCall) (Subject, error) { return Subject{}, nil }
	res, err := g.RunTool(context.Background(), "contoso", adele, "conv",
		tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{}`)})
	if err != nil || len(exec.ran) != 0 || !strings.Contains(audit.events[0].Reason, "must name the account") {
		t.Fatalf("res %+v err %v audit %+v", res, err, audit.events)
	}
	g.cfg.SubjectOf = func(tierzero.ToolCall) (Subject, error) { return Subject{}, errors.New("bad") }
	res, _ = g.RunTool(context.Background(), "contoso", adele, "conv",
		tierzero.ToolCall{ID: "2", Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)})
	if res.Decision.Effect != tierzero.EffectDeny || !strings.Contains(res.Decision.Reason, "invalid arguments") {
		t.Fatalf("decision %+v, want a deny for the arguments", res.Decision)
	}
}

// intents records the intent lifecycle, and what the executor had run by
// the time each step happened.
type intents struct {
	exec  *fakeExec
	log   []string
	fail  bool
	begun []tierzero.Intent
}

func (i *intents) BeginIntent(_ context.Context, _ tierzero.TenantID, in tierzero.Intent) error {
	if i.fail {
		return errors.New("disk full")
	}
	i.begun = append(i.begun, in)
	i.log = append(i.log, fmt.Sprintf("begin(ran=%d)", len(i.exec.ran)))
	return nil
}

func (i *intents) FinishIntent(_ context.Context, _ tierzero.TenantID, id string, o tierzero.IntentOutcome, _ string) error {
	i.log = append(i.log, fmt.Sprintf("finish %s(ran=%d)", o, len(i.exec.ran)))
	return nil
}

// failing is an executor whose answer never came.
type failing struct{}

func (failing) Execute(context.Context, tierzero.Permit, tierzero.TenantID, tierzero.ToolCall) (tierzero.ToolResult, error) {
	return tierzero.ToolResult{}, tierzero.Errorf(tierzero.EUnavailable, "the change may or may not have been applied")
}

func TestGuardRecordsIntents(t *testing.T) {
	reset := tierzero.ToolCall{ID: "1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)}
	get := tierzero.ToolCall{ID: "2", Action: "user.get", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)}

	g, exec, _ := newTestGuard(t)
	in := &intents{exec: exec}
	g.cfg.Intents = in
	if _, err := g.RunTool(context.Background(), "contoso", adele, "conv", reset); err != nil {
		t.Fatal(err)
	}
	if _, err := g.RunTool(context.Background(), "contoso", adele, "conv", get); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(in.log, " "), "begin(ran=0) finish done(ran=1)"; got != want {
		t.Fatalf("intent log = %q, want %q (a write is recorded before it runs; a read is not)", got, want)
	}
	if b := in.begun[0]; b.Action != "user.reset_password" || string(b.Args) != `{"user":"adele@contoso.com"}` || b.Requester != adele.UPN || b.ID == "" {
		t.Fatalf("intent = %+v", b)
	}

	g, exec, _ = newTestGuard(t)
	in = &intents{exec: exec, fail: true}
	g.cfg.Intents = in
	if _, err := g.RunTool(context.Background(), "contoso", adele, "conv", reset); err == nil || len(exec.ran) != 0 {
		t.Fatalf("ran %v with err %v although the intent could not be recorded", exec.ran, err)
	}

	g, exec, _ = newTestGuard(t)
	in = &intents{exec: exec}
	g.cfg.Intents, g.cfg.Executor = in, failing{}
	if _, err := g.RunTool(context.Background(), "contoso", adele, "conv", reset); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(in.log, " "); got != "begin(ran=0) finish needs_review(ran=0)" {
		t.Fatalf("intent log = %q, want an ambiguous failure to need review", got)
	}
}
