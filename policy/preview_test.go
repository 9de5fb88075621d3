package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
)

// recApprovals records the approvals it is asked to create.
type recApprovals struct{ created []tierzero.Approval }

func (a *recApprovals) CreateApproval(_ context.Context, _ tierzero.TenantID, ap tierzero.Approval) (tierzero.Approval, error) {
	ap.ID, ap.State = "ap-1", tierzero.ApprovalPending
	a.created = append(a.created, ap)
	return ap, nil
}

func (a *recApprovals) Approval(context.Context, tierzero.TenantID, string) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "none")
}

func (a *recApprovals) DecideApproval(context.Context, tierzero.TenantID, string, string, bool, time.Time) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "none")
}

func (a *recApprovals) ClaimApproval(context.Context, tierzero.TenantID, string, time.Time) (tierzero.Approval, error) {
	return tierzero.Approval{}, tierzero.Errorf(tierzero.ENotFound, "none")
}

// recIntents records the intents begun.
type recIntents struct{ begun []tierzero.Intent }

func (i *recIntents) BeginIntent(_ context.Context, _ tierzero.TenantID, in tierzero.Intent) error {
	i.begun = append(i.begun, in)
	return nil
}

func (i *recIntents) FinishIntent(context.Context, tierzero.TenantID, string, tierzero.IntentOutcome, string) error {
	return nil
}

type previewRig struct {
	g         *Guard
	exec      *fakeExec
	audit     *fakeAudit
	approvals *recApprovals
	intents   *recIntents
	notifier  *recNotifier
}

// newPreviewRig is a Guard on the baseline with every side effect recorded;
// approvals enabled or not.
func newPreviewRig(t *testing.T, approvals bool) *previewRig {
	t.Helper()
	signer, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	r := &previewRig{
		exec:  &fakeExec{verifier: tierzero.NewPermitVerifier(signer.PublicKey(), nil)},
		audit: &fakeAudit{}, approvals: &recApprovals{}, intents: &recIntents{}, notifier: &recNotifier{},
	}
	cfg := GuardConfig{
		Policies: Baseline(), Signer: signer, Executor: r.exec, Audit: r.audit,
		Directory: fakeDir{
			"adele@contoso.com": {ObjectID: "id-adele", UPN: "adele@contoso.com", Manager: strp("miriam@contoso.com"), AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{}},
			"alex@contoso.com":  {ObjectID: "id-alex", UPN: "alex@contoso.com", AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{}},
			"megan@contoso.com": {ObjectID: "id-megan", UPN: "megan@contoso.com", AccountEnabled: true, Groups: groupsOf(), AdminRoles: []string{"Global Administrator"}},
		},
		Tools:    toolSpecs("user.reset_password!", "user.get", "user.issue_tap!"),
		TargetOf: newTestGuardTargetOf,
		Intents:  r.intents,
		Notifier: r.notifier,
	}
	if approvals {
		cfg.Approvals = r.approvals
	}
	if r.g, err = NewGuard(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

// The preview decides as RunTool does, for every effect, and does nothing
// else: nothing runs, no permit, no intent, no approval, no notification;
// only a refusal is recorded, as the decision it is.
func TestPreviewMatchesRunToolAndRunsNothing(t *testing.T) {
	tech := tierzero.Requester{Tenant: "contoso", UPN: "tech@msp.example", ObjectID: "id-tech", Role: tierzero.RoleMSPTechnician}
	call := func(action, user string) tierzero.ToolCall {
		return tierzero.ToolCall{ID: "c1", Action: action, Args: json.RawMessage(`{ "user": "` + user + `" }`)}
	}
	tests := []struct {
		name      string
		approvals bool
		req       tierzero.Requester
		call      tierzero.ToolCall
		effect    tierzero.Effect
		refused   bool
	}{
		{"allow: own reset", false, adele, call("user.reset_password", "adele@contoso.com"), tierzero.EffectAllow, false},
		{"allow: a technician resets a colleague", false, tech, call("user.reset_password", "alex@contoso.com"), tierzero.EffectAllow, false},
		{"deny: an employee resets a colleague", false, adele, call("user.reset_password", "alex@contoso.com"), tierzero.EffectDeny, true},
		{"deny: a technician resets an admin", false, tech, call("user.reset_password", "megan@contoso.com"), tierzero.EffectDeny, true},
		{"deny: an unknown tool", false, adele, call("user.make_admin", "adele@contoso.com"), tierzero.EffectDeny, true},
		{"require approval, approvals on", true, adele, call("user.issue_tap", "adele@contoso.com"), tierzero.EffectRequireApproval, false},
		{"require approval, approvals off: refused", false, adele, call("user.issue_tap", "adele@contoso.com"), tierzero.EffectRequireApproval, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := newPreviewRig(t, tt.approvals)
			got, err := p.g.PreviewTool(ctx, "contoso", tt.req, "conv", tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.exec.ran) != 0 || len(p.exec.permits) != 0 || len(p.intents.begun) != 0 || len(p.approvals.created) != 0 || len(p.notifier.requested)+len(p.notifier.resolved) != 0 {
				t.Fatalf("the preview did something: ran %v, permits %d, intents %d, approvals %d, shown %d",
					p.exec.ran, len(p.exec.permits), len(p.intents.begun), len(p.approvals.created), len(p.notifier.requested))
			}
			if len(got.Output) != 0 || !got.Secret.IsZero() {
				t.Fatalf("the preview returned output %s or a secret", got.Output)
			}
			if got.Decision == nil || got.Decision.Effect != tt.effect {
				t.Fatalf("preview decision = %+v, want %s", got.Decision, tt.effect)
			}
			if refused := got.Error != nil && got.Error.Code == tierzero.EDenied; refused != tt.refused {
				t.Fatalf("preview error = %+v, want refused %v", got.Error, tt.refused)
			}
			switch {
			case tt.refused && (len(p.audit.events) != 1 || p.audit.events[0].Kind != tierzero.AuditDecided ||
				p.audit.events[0].Effect != tt.effect || p.audit.events[0].Outcome != PreviewRefused):
				t.Fatalf("audit = %+v, want one decided record of the refusal", p.audit.events)
			case !tt.refused && len(p.audit.events) != 0:
				t.Fatalf("audit = %+v, want nothing for a preview that refuses nothing", p.audit.events)
			}

			// The real decision, on a fresh guard: the same decision, the
			// same refusal.
			r := newPreviewRig(t, tt.approvals)
			want, err := r.g.RunTool(ctx, "contoso", tt.req, "conv", tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Decision, want.Decision) {
				t.Errorf("preview decision %+v, RunTool's %+v", got.Decision, want.Decision)
			}
			if tt.refused && !reflect.DeepEqual(got.Error, want.Error) {
				t.Errorf("preview refusal %+v, RunTool's %+v", got.Error, want.Error)
			}
			ran := len(r.exec.ran) > 0 || len(r.approvals.created) > 0
			if ran == tt.refused {
				t.Errorf("RunTool ran or asked for approval: %v; the preview refused: %v", ran, tt.refused)
			}
			if tt.refused {
				pe, re := p.audit.events[0], r.audit.events[0]
				pe.Outcome = ""
				if !reflect.DeepEqual(pe, re) {
					t.Errorf("preview's record %+v, RunTool's %+v", pe, re)
				}
			}
		})
	}
}

// A refusal that cannot be recorded is an error, as for RunTool.
func TestPreviewRefusalUnrecordedIsAnError(t *testing.T) {
	p := newPreviewRig(t, false)
	p.audit.fail = true
	_, err := p.g.PreviewTool(context.Background(), "contoso", adele, "conv",
		tierzero.ToolCall{ID: "c1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"alex@contoso.com"}`)})
	if err == nil {
		t.Fatal("a refusal that could not be audited was reported as a decision")
	}
}

// A preview whose context ended while facts were read is an error, not a
// refusal by policy.
func TestPreviewCancelledIsAnError(t *testing.T) {
	p := newPreviewRig(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := p.g.PreviewTool(ctx, "contoso", adele, "conv",
		tierzero.ToolCall{ID: "c1", Action: "user.reset_password", Args: json.RawMessage(`{"user":"adele@contoso.com"}`)})
	if err == nil {
		t.Fatalf("preview = %+v, want an error", res)
	}
	if len(p.audit.events) != 0 {
		t.Fatalf("audit = %+v, want nothing", p.audit.events)
	}
}
