package policy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
)

// Signer holds the private key that signs permits. Its key never leaves this
// package: only Guard can mint a permit, so only a call that passed policy
// can reach an executor that verifies with PublicKey.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner returns a Signer with a fresh random key.
func NewSigner() (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("permit key: %w", err)
	}
	return &Signer{key: priv}, nil
}

// PublicKey is the key executors verify permits with.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

func (s *Signer) mint(p tierzero.Permit) (tierzero.Permit, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return p, fmt.Errorf("permit nonce: %w", err)
	}
	p.Nonce = hex.EncodeToString(nonce[:])
	p.Sig = ed25519.Sign(s.key, p.SigningBytes())
	return p, nil
}

// Executor runs a permitted tool call (graph.Client).
type Executor interface {
	Execute(ctx context.Context, permit tierzero.Permit, tenant tierzero.TenantID, call tierzero.ToolCall) (tierzero.ToolResult, error)
}

// Directory reads the facts about a user that policy needs (graph.Client):
// the target's, and the requester's own when a rule reads their department
// or groups. Groups must be non-nil when read (empty for none).
type Directory interface {
	UserFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (tierzero.UserFacts, error)
}

// GroupDirectory reads the facts about a group a call names (graph.Client):
// its object id, display name, whether it is role-assignable and the
// directory roles assigned to it, active or eligible.
type GroupDirectory interface {
	GroupFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (GroupFacts, error)
}

// GroupResolver finds the one group of a tenant that has a display name
// (graph.Client): its object id; an ENotFound error when no group has it,
// an EConflict error when several do.
type GroupResolver interface {
	GroupID(ctx context.Context, tenant tierzero.TenantID, name string) (string, error)
}

// LicenseDirectory reads the facts about a license (a subscribed SKU) a
// call names, by SKU id or part number (graph.Client).
type LicenseDirectory interface {
	LicenseFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (LicenseFacts, error)
}

// DeviceDirectory reads the facts about a managed device a call names
// (graph.Client).
type DeviceDirectory interface {
	DeviceFacts(ctx context.Context, tenant tierzero.TenantID, ref string) (DeviceFacts, error)
}

// History counts what a requester did (the store): how many calls of
// action requesterUPN made in tenant on the day of now.
type Intents interface {
	BeginIntent(ctx context.Context, tenant tierzero.TenantID, in tierzero.Intent) error
	FinishIntent(ctx context.Context, tenant tierzero.TenantID, id string, outcome tierzero.IntentOutcome, detail string) error
}

// History counts what a requester did today (store.DB).
type History interface {
	CountToday(ctx context.Context, tenant tierzero.TenantID, requesterUPN, action string, now time.Time) (int, error)
}

// PlanChecker checks a proposed baseline plan call (graph.Client): nil
// when it is, step for step (actions, arguments, labels, the sign-in
// impact an enable step's label carries), the plan baseline.plan gives for
// tenant now. An EConflict or EInvalid error says how it is not; any other
// error is a failure to check (the tenant could not be read), which is not
// a yes either.
type PlanChecker interface {
	CheckPlan(ctx context.Context, tenant tierzero.TenantID, call tierzero.ToolCall) error
}

// Subject is what a call names besides a user (tierzero.Subject).
type Subject = tierzero.Subject

// GuardConfig wires a Guard.
type GuardConfig struct {
	Policies  *Set
	Signer    *Signer
	Executor  Executor
	Directory Directory
	Audit     tierzero.Auditor
	Tools     []tierzero.ToolSpec
	// TargetOf returns the user a call acts on ("" for none), from its
	// arguments; the facts about that user are then read from Directory.
	TargetOf func(tierzero.ToolCall) (string, error)
	// SubjectOf, optional, returns the group, license or device a call
	// names, from its arguments; their facts are then read from Groups,
	// Licenses and Devices when a rule needs them. A fact whose source is
	// nil is missing, and a rule that needs it denies.
	SubjectOf func(tierzero.ToolCall) (Subject, error)
	Groups    GroupDirectory   // optional
	Licenses  LicenseDirectory // optional
	// GroupNames, optional, resolves the group display names policies use
	// (requester_in_group, target_in_group, group, group:NAME approvers);
	// default Groups, when it is a GroupResolver too. Without one, a name
	// never resolves and a rule that uses it denies: name groups by id.
	GroupNames GroupResolver
	Devices    DeviceDirectory // optional
	History    History         // optional: without it, max_per_day rules deny
	// Intents, optional, records every write before it is sent to the
	// executor and its outcome after, so that a crash in between is
	// reconciled at start instead of run again (store.DB).
	Intents Intents
	// Approvals, optional, keeps the calls that policy sends for approval
	// (store.DB); without it a require_approval decision refuses.
	Approvals Approvals
	// Notifier, optional, tells people about approval requests and their
	// outcomes (a chat adapter).
	Notifier Notifier
	// Describe, optional, says in plain words what a call does, for
	// approvers; the action and its arguments otherwise.
	Describe func(tierzero.ToolCall) string
	// Plans, optional, checks a proposed baseline plan
	// (tierzero.ActionBaselineApply) against the plan baseline.plan gives
	// now (graph.Client), before an approver is asked or anything runs:
	// the plan call is the model's copy, and the approver reads its
	// labels. Without it a plan is checked only when it runs.
	Plans PlanChecker
	// Reach, optional, says which client tenants an MSP technician acts in
	// from the MSP's own tenant; DecideFrom finds their approvals there.
	// Without it DecideFrom decides in the approver's own tenant.
	Reach     *Reach
	PermitTTL time.Duration // default 30s
	Now       func() time.Time
	Logger    *slog.Logger
}

// Guard is the only ToolRunner the agent receives. For each proposed call it
// gathers the facts itself, decides, writes the decision to the audit before
// anything runs (and runs nothing if that write fails), and only then hands an
// allowed call, with a permit, to the executor.
type Guard struct {
	cfg   GuardConfig
	tools map[string]tierzero.ToolSpec
	log   *slog.Logger

	mu   sync.Mutex
	pins map[pinKey]string // group display name -> the object id it resolved to, per tenant
}

type pinKey struct {
	tenant tierzero.TenantID
	name   string // PinKey(name)
}

var _ tierzero.ToolRunner = (*Guard)(nil)

// NewGuard returns a Guard.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Policies == nil || cfg.Signer == nil || cfg.Executor == nil || cfg.Directory == nil || cfg.Audit == nil || cfg.TargetOf == nil {
		return nil, errors.New("policy guard: policies, signer, executor, directory, audit and TargetOf are required")
	}
	if cfg.PermitTTL == 0 {
		cfg.PermitTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GroupNames == nil {
		cfg.GroupNames, _ = cfg.Groups.(GroupResolver)
	}
	tools := make(map[string]tierzero.ToolSpec, len(cfg.Tools))
	for _, t := range cfg.Tools {
		tools[t.Action] = t
	}
	return &Guard{cfg: cfg, tools: tools, log: cfg.Logger, pins: map[pinKey]string{}}, nil
}

// groupID returns the object id of the group ref names in tenant: ref
// itself when it is an object id; otherwise the one group with that display
// name, resolved at first use and then pinned for the life of the Guard, so
// that a group created later with the same name never takes its place. A
// name that no group or several groups have is an error, tried again at the
// next use.
func (g *Guard) groupID(ctx context.Context, tenant tierzero.TenantID, ref string) (string, error) {
	if IsObjectID(ref) {
		return strings.ToLower(ref), nil
	}
	k := pinKey{tenant, PinKey(ref)}
	g.mu.Lock()
	id, ok := g.pins[k]
	g.mu.Unlock()
	if ok {
		return id, nil
	}
	if g.cfg.GroupNames == nil {
		return "", tierzero.Errorf(tierzero.ENotFound, "no directory resolves group names here; name the group %q by its object id", ref)
	}
	id, err := g.cfg.GroupNames.GroupID(ctx, tenant, ref)
	if err != nil {
		return "", fmt.Errorf("resolve group %q: %w", ref, err)
	}
	if !IsObjectID(id) {
		return "", fmt.Errorf("resolve group %q: the directory answered %q, not an object id", ref, id)
	}
	id = strings.ToLower(id)
	g.mu.Lock()
	defer g.mu.Unlock()
	if prev, ok := g.pins[k]; ok {
		return prev, nil // pinned meanwhile: the first resolution stands
	}
	g.pins[k] = id
	g.log.Info("group name pinned", "tenant", tenant, "group", ref, "id", id)
	return id, nil
}

// PinGroups resolves, in tenant, every group display name the policies use
// and pins it (see groupID), so that names are checked at load rather than
// at first use. It returns every name that did not resolve to exactly one
// group.
func (g *Guard) PinGroups(ctx context.Context, tenant tierzero.TenantID) error {
	var errs []error
	for _, n := range g.cfg.Policies.AllGroupNames(tenant) {
		if _, err := g.groupID(ctx, tenant, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunTool decides call for req in tenant and, if allowed, runs it. A denial
// is a result carrying the decision and an EDenied error, not a Go error; a
// Go error means the request could not be processed safely (the audit could
// not be written).
func (g *Guard) RunTool(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall) (tierzero.ToolResult, error) {
	d, args, other := g.decide(ctx, tenant, req, call)
	if tierzero.IsBaselineAction(call.Action) && d.Effect != tierzero.EffectDeny {
		// A tenant baseline's step runs only as a step of an approved
		// baseline plan (RunPlanStep), which graph checks is the planner's
		// plan: alone, one approval could turn security defaults off with
		// no policy switched on, or enforce a policy whose impact nobody
		// saw, with a body the model wrote.
		d = tierzero.Decision{Effect: tierzero.EffectDeny, Rule: d.Rule, Layer: d.Layer,
			Reason: "a baseline change runs only as a step of an approved baseline plan (baseline.plan, then baseline.apply)"}
	}
	if call.Action == tierzero.ActionBaselineApply && g.cfg.Plans != nil &&
		(d.Effect == tierzero.EffectAllow || d.Effect == tierzero.EffectRequireApproval) {
		d = g.checkPlan(ctx, tenant, call, args, d)
	}
	if err := g.auditDecision(ctx, tenant, req, conv, call, args, d, ""); err != nil {
		// Audit before action: no record of the decision, no action.
		return tierzero.ToolResult{CallID: call.ID, Action: call.Action, Decision: &d}, err
	}
	if res, refused := g.verdict(call, req, d, other); refused {
		return res, nil
	}
	if d.Effect == tierzero.EffectRequireApproval {
		return g.requestApproval(ctx, tenant, req, conv, call, args, d)
	}
	// From here on the call is exactly the arguments that were decided and
	// audited: the canonical form, which the permit's hash covers.
	call.Args = args
	return g.execute(ctx, tenant, req, conv, call, d)
}

// checkPlan checks a baseline plan call policy allows or sends for
// approval against the plan baseline.plan gives now (GuardConfig.Plans),
// before the approval is requested or anything runs: the approver reads
// its steps' labels, which the model copied and a fooled model could have
// rewritten (a step relabelled, an enable step's sign-in impact made
// smaller). It returns d, or a deny saying why when the plan is not the
// planner's or could not be checked.
func (g *Guard) checkPlan(ctx context.Context, tenant tierzero.TenantID, call tierzero.ToolCall, args []byte, d tierzero.Decision) tierzero.Decision {
	call.Args = args
	err := g.cfg.Plans.CheckPlan(ctx, tenant, call)
	if err == nil {
		return d
	}
	g.log.Info("baseline plan check", "tenant", tenant, "tool", call.Action, "err", err)
	deny := tierzero.Decision{Effect: tierzero.EffectDeny, Rule: d.Rule, Layer: d.Layer, File: d.File, Facts: d.Facts}
	switch tierzero.ErrorCode(err) {
	case tierzero.EConflict, tierzero.EInvalid:
		deny.Reason = fmt.Sprintf("this is not the plan %s gives now: plan again and propose its plan unchanged (%s); no approval was asked and nothing was run",
			tierzero.ActionBaselinePlan, tierzero.ErrorMessage(err))
	default:
		deny.Reason = fmt.Sprintf("could not check that this is the plan %s gives now (%s), so no approval was asked and nothing was run: try again",
			tierzero.ActionBaselinePlan, tierzero.ErrorMessage(err))
	}
	return deny
}

// auditDecision writes the "decided" record of call (outcome, optional,
// says what became of it when it is not run).
func (g *Guard) auditDecision(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall, args []byte, d tierzero.Decision, outcome string) error {
	ev := tierzero.AuditEvent{
		Kind: tierzero.AuditDecided, Conversation: conv, Requester: req.UPN, Channel: req.Channel,
		Tool: call.Action, CallID: call.ID, Args: args, Outcome: outcome,
		Effect: d.Effect, Layer: d.Layer, Rule: d.Rule, Reason: d.Reason, Facts: d.Facts,
	}
	if err := g.cfg.Audit.Append(ctx, tenant, ev); err != nil {
		return fmt.Errorf("audit decision: %w", err)
	}
	return nil
}

// verdict is what decision d means for call before anything runs. refused
// is true when the call goes no further: a deny, or an approval that cannot
// be requested here; res is then the result the requester's model gets (an
// EDenied error, and the decision as far as req may see it). Otherwise the
// call goes on (allow, or require_approval with approvals enabled) and res
// carries d.
func (g *Guard) verdict(call tierzero.ToolCall, req tierzero.Requester, d tierzero.Decision, other bool) (res tierzero.ToolResult, refused bool) {
	res = tierzero.ToolResult{CallID: call.ID, Action: call.Action, Decision: &d}
	switch d.Effect {
	case tierzero.EffectAllow:
		return res, false
	case tierzero.EffectRequireApproval:
		if g.cfg.Approvals != nil {
			return res, false
		}
		res.Error = tierzero.Errorf(tierzero.EDenied, "%s needs approval (%s), and approvals are not enabled here; nothing was changed", call.Action, d.Reason)
		return res, true
	}
	res.Error = tierzero.Errorf(tierzero.EDenied, "denied by policy: %s", refusal(d, other, req.Role))
	switch {
	case !other:
	case itStaff(req.Role):
		// IT staff may look the account up anyway: they are told the
		// rule and the reason. The facts (the target's roles, groups,
		// department) stay in the audit, out of the model's context.
		res.Decision = &tierzero.Decision{Effect: d.Effect, Layer: d.Layer, File: d.File, Rule: d.Rule, Reason: d.Reason}
	default:
		// About someone else's account an employee (and so the model)
		// learns only that it was denied: the rule, reason and facts
		// would tell who exists and who holds an admin role. The audit
		// keeps them.
		res.Decision = &tierzero.Decision{Effect: tierzero.EffectDeny}
	}
	return res, true
}

// execute mints a permit for call, exactly as decided (canonical arguments),
// records the intent, runs it and audits the execution. It is reached only
// from an allow decision, or from an approval claimed by Decide.
func (g *Guard) execute(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, conv tierzero.ConversationID, call tierzero.ToolCall, d tierzero.Decision) (tierzero.ToolResult, error) {
	res := tierzero.ToolResult{CallID: call.ID, Action: call.Action, Decision: &d}
	args := call.Args
	hash, err := tierzero.ArgsHash(call.Args)
	if err != nil { // decide already checked; keep the invariant local
		res.Error = tierzero.Errorf(tierzero.EInvalid, "invalid arguments")
		return res, nil
	}
	permit, err := g.cfg.Signer.mint(tierzero.Permit{
		Tenant: tenant, Action: call.Action, ArgsHash: hash, Requester: req.UPN, Rule: d.Rule,
		Expires: g.cfg.Now().Add(g.cfg.PermitTTL),
	})
	if err != nil {
		return res, err
	}
	intent := g.cfg.Intents != nil && g.tools[call.Action].Write
	if intent {
		in := tierzero.Intent{ID: permit.Nonce, Action: call.Action, Args: args, Requester: req.UPN, Conversation: conv, Started: g.cfg.Now()}
		if err := g.cfg.Intents.BeginIntent(ctx, tenant, in); err != nil {
			// No record that it may have run, no run.
			return res, fmt.Errorf("record intent: %w", err)
		}
		g.log.Debug("intent recorded", "tenant", tenant, "tool", call.Action, "intent", in.ID)
	}
	if g.tools[call.Action].Write {
		// Audit before action: what a unit of work queued (the decided
		// record above all) is durable before the write runs. Recording
		// the intent committed it already; without intents, this does.
		if err := tierzero.CommitUnit(ctx); err != nil {
			return res, fmt.Errorf("commit the decision before the write: %w", err)
		}
	}
	out, execErr := g.cfg.Executor.Execute(ctx, permit, tenant, call)
	out.Decision = res.Decision
	if intent {
		outcome, detail := tierzero.IntentDone, ""
		switch {
		case execErr == nil:
		case tierzero.ErrorCode(execErr) == tierzero.EUnavailable:
			outcome, detail = tierzero.IntentNeedsReview, tierzero.ErrorMessage(execErr)
		default:
			outcome, detail = tierzero.IntentFailed, tierzero.ErrorMessage(execErr)
		}
		if err := g.cfg.Intents.FinishIntent(ctx, tenant, permit.Nonce, outcome, detail); err != nil {
			g.log.Error("finish intent", "tenant", tenant, "tool", call.Action, "err", err)
		}
	}
	done := tierzero.AuditEvent{
		Kind: tierzero.AuditExecuted, Conversation: conv, Requester: req.UPN, Channel: req.Channel,
		Tool: call.Action, CallID: call.ID, Args: args, Outcome: "ok", Output: out.Output,
	}
	if execErr != nil {
		g.log.Warn("tool failed", "tenant", tenant, "tool", call.Action, "err", execErr)
		out.Error = &tierzero.Error{Code: tierzero.ErrorCode(execErr), Message: tierzero.ErrorMessage(execErr)}
		done.Outcome, done.Error, done.Output = "failed", out.Error.Message, nil
	}
	if err := g.cfg.Audit.Append(ctx, tenant, done); err != nil {
		g.log.Error("audit execution", "tenant", tenant, "tool", call.Action, "err", err)
	} else if tierzero.UnitOf(ctx) != nil {
		// Queued: committed with the request's next commit.
		g.log.Debug("execution recorded", "tenant", tenant, "tool", call.Action)
	} else {
		g.log.Debug("execution audited", "tenant", tenant, "tool", call.Action)
	}
	return out, nil
}

// decide gathers facts and evaluates. It returns the canonical arguments
// (nil when they are not valid JSON) and whether the call names an account
// other than the requester's (found in the directory or not).
//
// A requester of another tenant than tenant (an MSP technician) is denied
// before anything about tenant is read unless policy admits them (Admits).
// Admitted, they are decided like anyone, except that no account of tenant
// is theirs and their own directory facts (department, groups) are not read
// from tenant's directory: a rule that needs them denies for the missing
// fact.
func (g *Guard) decide(ctx context.Context, tenant tierzero.TenantID, req tierzero.Requester, call tierzero.ToolCall) (tierzero.Decision, []byte, bool) {
	deny := func(reason string) tierzero.Decision {
		return tierzero.Decision{Effect: tierzero.EffectDeny, Reason: reason}
	}
	args, err := tierzero.CanonicalArgs(call.Args)
	if err != nil {
		return deny("invalid arguments: " + tierzero.ErrorMessage(err)), nil, false
	}
	call.Args = args
	spec, ok := g.tools[call.Action]
	if !ok {
		return deny(fmt.Sprintf("unknown tool %q", call.Action)), args, false
	}
	// Exactly the tool's keys: what is decided here, shown to approvers and
	// run by the executor is these bytes, read the same way by each.
	if _, err := tierzero.CanonicalToolArgs(spec, args); err != nil {
		return deny("invalid arguments: " + tierzero.ErrorMessage(err)), args, false
	}
	now := g.cfg.Now()
	r := Request{Tenant: tenant, Action: call.Action, Channel: req.Channel, Requester: req, Time: now}
	cross, admittedBy := req.Tenant != tenant, ""
	if cross {
		// A requester of another tenant (an MSP technician working from
		// the MSP's own tenant) acts here only if policy admits them;
		// otherwise nothing about this tenant is read, not even the target.
		if req.Tenant == "" {
			return deny("the requester belongs to no tenant"), args, false
		}
		file, ok := g.cfg.Policies.Admits(tenant, req)
		if !ok {
			return g.recorded(&r), args, false // denies: not admitted
		}
		admittedBy = file
	}
	ref, err := g.cfg.TargetOf(call)
	if err != nil {
		return deny("invalid arguments: " + tierzero.ErrorMessage(err)), args, false
	}
	var subj Subject
	if g.cfg.SubjectOf != nil {
		if subj, err = g.cfg.SubjectOf(call); err != nil {
			return deny("invalid arguments: " + tierzero.ErrorMessage(err)), args, false
		}
	}
	if ref == "" && subj == (Subject{}) && spec.Write && !tenantWide(call.Action) {
		// Every write names what it acts on; one that does not is not
		// something policy can reason about. A tenant baseline's plan and
		// its steps act on the tenant's configuration itself, and name it
		// by the tenant they are decided in.
		return deny("a write must name the account (or the group, license or device) it acts on"), args, false
	}
	if spec.Write {
		// A write is decided on what the directory says now: its facts
		// (the target's roles, groups, risk) are not served from a cache.
		ctx = tierzero.FreshFacts(ctx)
	}
	other := false
	if ref != "" {
		facts, err := g.cfg.Directory.UserFacts(ctx, tenant, ref)
		if err != nil {
			g.log.Info("target facts", "tenant", tenant, "tool", call.Action, "err", err)
			if tierzero.ErrorCode(err) == tierzero.ENotFound {
				return deny(fmt.Sprintf("no user %q in this directory", ref)), args, true
			}
			return deny("could not read the facts policy needs about the target user"), args, cross || !strings.EqualFold(ref, req.UPN)
		}
		r.Target = &facts
		// A requester of another tenant is never a user of this one.
		other = cross || facts.ObjectID == "" || facts.ObjectID != req.ObjectID
	}
	if names := g.cfg.Policies.GroupNames(tenant, call.Action); len(names) > 0 {
		r.GroupIDs = make(map[string]string, len(names))
		for _, n := range names {
			id, err := g.groupID(ctx, tenant, n)
			if err != nil {
				// The name stays unresolved: a rule that uses it denies.
				g.log.Warn("group name", "tenant", tenant, "tool", call.Action, "err", err)
				continue
			}
			r.GroupIDs[PinKey(n)] = id
		}
	}
	if d, ok := g.gather(ctx, &r, subj); !ok {
		if cross && d.Facts != nil {
			d.Facts["admitted_by"] = admittedBy
		}
		return d, args, other
	}
	return g.recorded(&r), args, other
}

// recorded evaluates r with its facts built: every decision the Guard
// makes is recorded in the audit, and handed on as plain data.
func (g *Guard) recorded(r *Request) tierzero.Decision {
	d := g.cfg.Policies.Evaluate(*r)
	d.Facts, d.Basis = g.cfg.Policies.AuditFacts(r, d), nil
	return d
}

// gather reads the facts beyond the target user that the rules for the
// call read. A fact that cannot be read stays missing (and a rule that needs
// it denies); a group, license or device that does not exist denies now.
func (g *Guard) gather(ctx context.Context, r *Request, subj Subject) (tierzero.Decision, bool) {
	need := g.cfg.Policies.needs(r.Tenant, r.Action)
	tenant, log := r.Tenant, g.log.With("tenant", r.Tenant, "tool", r.Action)
	if across(r) {
		// A requester of another tenant is not in this tenant's directory:
		// their facts stay missing, and a rule that reads them denies.
		need &^= needRequester
	}
	if need&needRequester != 0 && r.Target != nil && r.Target.ObjectID != "" && r.Target.ObjectID == r.Requester.ObjectID {
		// Acting on their own account: the target's facts are the
		// requester's, read once.
		self := *r.Target
		r.RequesterFacts = &self
	} else if need&needRequester != 0 {
		ref := r.Requester.ObjectID
		if ref == "" {
			ref = r.Requester.UPN
		}
		f, err := g.cfg.Directory.UserFacts(ctx, tenant, ref)
		switch {
		case err != nil:
			log.Info("requester facts", "err", err)
		case f.ObjectID != "" && r.Requester.ObjectID != "" && f.ObjectID != r.Requester.ObjectID:
			log.Warn("requester facts are about someone else", "want", r.Requester.ObjectID, "got", f.ObjectID)
		default:
			r.RequesterFacts = &f
		}
	}
	if need&needHistory != 0 && g.cfg.History != nil {
		n, err := g.cfg.History.CountToday(ctx, tenant, r.Requester.UPN, r.Action, r.Time)
		if err != nil {
			log.Info("history", "err", err)
		} else {
			r.History = &HistoryFacts{CountToday: n}
		}
	}
	lookup := func(what, ref string, read func() error) (tierzero.Decision, bool) {
		if err := read(); err != nil {
			log.Info(what+" facts", "err", err)
			if tierzero.ErrorCode(err) == tierzero.ENotFound {
				return tierzero.Decision{Effect: tierzero.EffectDeny, Reason: fmt.Sprintf("no %s %q in this directory", what, ref), Facts: r.facts(nil, "")}, false
			}
		}
		return tierzero.Decision{}, true
	}
	if subj.Group != "" && need&needGroup != 0 && g.cfg.Groups != nil {
		if d, ok := lookup("group", subj.Group, func() error {
			f, err := g.cfg.Groups.GroupFacts(ctx, tenant, subj.Group)
			if err == nil {
				r.Group = &f
			}
			return err
		}); !ok {
			return d, false
		}
	}
	if subj.License != "" && need&needLicense != 0 && g.cfg.Licenses != nil {
		if d, ok := lookup("license", subj.License, func() error {
			f, err := g.cfg.Licenses.LicenseFacts(ctx, tenant, subj.License)
			if err == nil {
				r.License = &f
			}
			return err
		}); !ok {
			return d, false
		}
	}
	if subj.Device != "" && need&needDevice != 0 && g.cfg.Devices != nil {
		if d, ok := lookup("device", subj.Device, func() error {
			f, err := g.cfg.Devices.DeviceFacts(ctx, tenant, subj.Device)
			if err == nil {
				r.Device = &f
			}
			return err
		}); !ok {
			return d, false
		}
	}
	return tierzero.Decision{}, true
}

// refusal is what the model (and so the user) is told of a denial. About
// someone else's account an employee is told the same thing whatever the
// reason, so a refusal does not reveal who exists or who holds an admin
// role; the audit keeps the real reason. IT staff (tenant admins, MSP
// technicians), who may look accounts up anyway, are told the real reason.
func refusal(d tierzero.Decision, other bool, role tierzero.Role) string {
	if !other || itStaff(role) {
		return d.Reason
	}
	return "this is not something I can do for you here; self-service covers your own account only, so please ask your IT support"
}

// itStaff reports whether role is a tenant admin's or an MSP technician's.
func itStaff(role tierzero.Role) bool {
	return role == tierzero.RoleTenantAdmin || role == tierzero.RoleMSPTechnician
}

// tenantWide reports whether action acts on the tenant's own configuration
// rather than on an account, group, license or device: a tenant baseline's
// plan (tierzero.ActionBaselineApply) and its steps.
func tenantWide(action string) bool {
	return action == tierzero.ActionBaselineApply || tierzero.IsBaselineAction(action)
}
