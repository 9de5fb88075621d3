package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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

type fakeDir map[string]tierzero.UserFacts

func (d fakeDir) UserFacts(_ context.Context, _ tierzero.TenantID, ref string) (tierzero.UserFacts, error) {
	f, ok := d[ref]
	if !ok {
		return f, tierzero.Errorf(tierzero.ENotFound, "no user %s", ref)
	}
	return f, nil
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
		Tools:     []tierzero.ToolSpec{{Action: "user.reset_password", Write: true}, {Action: "user.get"}},
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
		})
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
