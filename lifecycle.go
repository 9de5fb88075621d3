package tierzero

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Lifecycle plans: offboarding a leaver and onboarding a new hire, each one
// plan of ordinary tool calls (its steps). The plan is one call of its own
// action (ActionOffboard, ActionOnboard) whose arguments list every step's
// exact call: the requester confirms it once, policy sends it for approval
// once, and the approval is bound, through the canonical argument hash, to
// exactly those steps. Each step is then still its own call through the
// Guard (decided, audited, with its own intent); its progress is kept in the
// tenant's store (Plan), so that a plan cut short by a crash resumes without
// running again a step that ran. See docs/lifecycle.md.
const (
	ActionOffboard = "lifecycle.offboard"
	ActionOnboard  = "lifecycle.onboard"
)

// IsPlanAction reports whether action is a plan's: a lifecycle plan or a
// tenant baseline's (ActionBaselineApply).
func IsPlanAction(action string) bool {
	return action == ActionOffboard || action == ActionOnboard || action == ActionBaselineApply
}

// Audit kinds of a lifecycle plan: it started to run its steps (after its
// approval), and its report once every step is settled.
const (
	AuditPlanStarted AuditKind = "plan_started"
	AuditPlanReport  AuditKind = "plan_report"
)

// PlanArgs are the arguments of a plan call: whom it is about, and its steps
// in the order they run. Each step's Args is its call's canonical JSON
// arguments as a string (so that the plan's schema can name every key), and
// Label says what it does with the names people know.
type PlanArgs struct {
	User string `json:"user,omitempty"` // empty on a baseline plan
	// Manager is, for an onboarding, the new hire's manager: the account
	// policy reads facts of (the new hire does not exist yet) and the one
	// the Temporary Access Pass goes to, privately.
	Manager string `json:"manager,omitempty"`
	// Phase is set on a tenant baseline's plan (ActionBaselineApply)
	// alone: which of its phases the steps are (BaselineCreate or
	// BaselineEnable). Such a plan names no user, and every step of it is
	// a baseline action.
	Phase BaselinePhase `json:"phase,omitempty"`
	Steps []PlanStepArg `json:"steps"`
}

// tenantWide reports whether p is a tenant baseline's plan.
func (p PlanArgs) tenantWide() bool { return p.Phase != "" }

// PlanStepArg is one step of PlanArgs.
type PlanStepArg struct {
	Action string `json:"action"`
	Args   string `json:"args"`
	Label  string `json:"label"`
	// Stop, when set, stops the plan if this step does not succeed: the
	// steps after it are not run (block sign-in for an offboarding: the
	// rest would leave a working account half-dismantled).
	Stop bool `json:"stop,omitempty"`
}

// Call returns the step as a tool call with canonical arguments.
func (s PlanStepArg) Call(id string) (ToolCall, error) {
	canon, err := CanonicalArgs(json.RawMessage(s.Args))
	if err != nil {
		return ToolCall{}, err
	}
	return ToolCall{ID: id, Action: s.Action, Args: canon}, nil
}

// DecodePlanArgs reads a plan call's arguments strictly; every step must be
// a call with canonical arguments of an action that is not itself a plan.
// A lifecycle plan names the user it is about; a baseline plan is about
// its tenant and names no user.
func DecodePlanArgs(raw json.RawMessage) (PlanArgs, error) {
	var p PlanArgs
	if err := DecodeArgs(raw, &p); err != nil {
		return p, err
	}
	if strings.TrimSpace(p.User) == "" && !p.tenantWide() {
		return p, Errorf(EInvalid, "a plan names the user it is about")
	}
	if len(p.Steps) == 0 || len(p.Steps) > MaxPlanSteps {
		return p, Errorf(EInvalid, "a plan has 1 to %d steps", MaxPlanSteps)
	}
	switch {
	case p.tenantWide() && p.Phase != BaselineCreate && p.Phase != BaselineEnable:
		return p, Errorf(EInvalid, "invalid baseline phase %q", p.Phase)
	case p.tenantWide() && (p.User != "" || p.Manager != ""):
		return p, Errorf(EInvalid, "a baseline plan is about its tenant and names no user")
	}
	seen := map[string]bool{}
	for i, s := range p.Steps {
		if s.Action == "" || IsPlanAction(s.Action) || IsBaselineAction(s.Action) != p.tenantWide() {
			return p, Errorf(EInvalid, "step %d: invalid action %q", i+1, s.Action)
		}
		c, err := s.Call("")
		if err != nil {
			return p, Errorf(EInvalid, "step %d: %s", i+1, ErrorMessage(err))
		}
		k := c.Action + " " + string(c.Args)
		if seen[k] {
			return p, Errorf(EInvalid, "step %d repeats an earlier step", i+1)
		}
		seen[k] = true
	}
	return p, nil
}

// MaxPlanSteps bounds the steps of one plan.
const MaxPlanSteps = 64

// PlanStepState is where one step of a running plan is.
type PlanStepState string

// Step states. A step moves pending → running → done | failed | skipped,
// once; "running" is written before the step's call goes to the Guard, so
// that a step found running after a crash is settled from its intent
// (read back through Graph), never sent blindly again.
const (
	StepPending PlanStepState = "pending"
	StepRunning PlanStepState = "running"
	StepDone    PlanStepState = "done"
	StepFailed  PlanStepState = "failed"
	StepSkipped PlanStepState = "skipped"
)

// Plan is the durable progress of one approved lifecycle plan, kept in its
// tenant's store under the id of the approval that let it run.
type Plan struct {
	ID           string         `json:"id"` // the approval's id
	Tenant       TenantID       `json:"tenant"`
	Action       string         `json:"action"`
	User         string         `json:"user"`
	Manager      string         `json:"manager,omitempty"` // onboarding: who gets the Temporary Access Pass
	Requester    Requester      `json:"requester"`
	Conversation ConversationID `json:"conversation,omitempty"`
	ApprovedBy   []Requester    `json:"approvedBy,omitempty"`
	Steps        []PlanStep     `json:"steps"`
	Created      time.Time      `json:"created"`
	Finished     time.Time      `json:"finished,omitzero"` // the report was given
}

// PlanStep is one step of a Plan and where it is.
type PlanStep struct {
	Call     ToolCall      `json:"call"` // canonical arguments; ID is "<plan>-<n>"
	Label    string        `json:"label"`
	Stop     bool          `json:"stop,omitempty"`
	State    PlanStepState `json:"state"`
	Detail   string        `json:"detail,omitempty"` // why skipped or failed, in plain words
	Started  time.Time     `json:"started,omitzero"`
	Finished time.Time     `json:"finished,omitzero"`
}

// NewPlan returns the plan of an approved plan call, every step pending.
func NewPlan(a Approval, approvedBy []Requester, now time.Time) (Plan, error) {
	pa, err := DecodePlanArgs(a.Args)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{ID: a.ID, Tenant: a.Tenant, Action: a.Action, User: pa.User, Manager: pa.Manager, Requester: a.Requester,
		Conversation: a.Conversation, ApprovedBy: approvedBy, Created: now}
	for i, s := range pa.Steps {
		c, err := s.Call(fmt.Sprintf("%s-%d", a.ID, i+1))
		if err != nil {
			return Plan{}, err
		}
		p.Steps = append(p.Steps, PlanStep{Call: c, Label: PrintableLine(s.Label), Stop: s.Stop, State: StepPending})
	}
	return p, nil
}

// Settled reports whether every step is done, failed or skipped.
func (p Plan) Settled() bool {
	for _, s := range p.Steps {
		if s.State == StepPending || s.State == StepRunning {
			return false
		}
	}
	return true
}

// Report is the plan's result in words: each step done, skipped (why) or
// failed (why), and what is left for a person.
func (p Plan) Report() string {
	var b strings.Builder
	what := "Offboarding"
	if p.Action == ActionOnboard {
		what = "Onboarding"
	}
	done, other := 0, 0
	for _, s := range p.Steps {
		if s.State == StepDone {
			done++
		} else {
			other++
		}
	}
	if p.Action == ActionBaselineApply {
		fmt.Fprintf(&b, "Baseline of %s: %d of %d steps done.\n", p.Tenant, done, len(p.Steps))
	} else {
		fmt.Fprintf(&b, "%s of %s: %d of %d steps done.\n", what, PrintableLine(p.User), done, len(p.Steps))
	}
	for _, s := range p.Steps {
		mark := map[PlanStepState]string{StepDone: "done", StepFailed: "FAILED", StepSkipped: "skipped", StepPending: "not run", StepRunning: "unknown"}[s.State]
		fmt.Fprintf(&b, "- %s: %s", mark, s.Label)
		if s.Detail != "" {
			fmt.Fprintf(&b, " (%s)", PrintableLine(strings.TrimSuffix(s.Detail, ".")))
		}
		b.WriteString("\n")
	}
	if w := p.baselineGap(); w != "" {
		b.WriteString(w + "\n")
	}
	if other > 0 {
		b.WriteString("Left for a person: every step above that is not done.")
	} else {
		b.WriteString("Nothing is left to do.")
	}
	return b.String()
}

// baselineGap warns, for a baseline's enable phase, of the gap a partial
// run leaves: security defaults were turned off, but a Conditional Access
// policy that was to replace them is not switched on, so the tenant has
// neither (Entra ID enforces no MFA for what that policy covered).
func (p Plan) baselineGap() string {
	if p.Action != ActionBaselineApply {
		return ""
	}
	off, missing := false, 0
	for _, s := range p.Steps {
		switch s.Call.Action {
		case "baseline.set_security_defaults":
			off = off || s.State == StepDone && strings.Contains(string(s.Call.Args), `"enabled":false`)
		case "baseline.enable_ca_policy":
			if s.State != StepDone {
				missing++
			}
		}
	}
	if !off || missing == 0 {
		return ""
	}
	return fmt.Sprintf("WARNING: security defaults are now off, but %d of the Conditional Access policies that replace them are not switched on: "+
		"switch them on by hand, or turn security defaults back on, now.", missing)
}
