package eval

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph/sim"
)

// Outcomes a scenario can expect (see Classify).
const (
	OutcomeResolved   = "resolved"
	OutcomeEscalated  = "escalated"
	OutcomeRefused    = "refused"
	OutcomePending    = "pending" // waiting for an approval nobody has decided yet
	OutcomeAsked      = "asked"   // the agent asked the requester a question (or to confirm a plan) and heard nothing more
	OutcomeUnresolved = "unresolved"
	// OutcomeModelError is a request the model could not answer (HTTP
	// failures, timeouts): the agent hands it over, but it is counted
	// apart from the escalations the agent chose. No scenario expects it.
	OutcomeModelError = "model_error"
)

// Scenario is one evaluation task: a starting tenant, a requester and a
// scripted user, and what must hold at the end. See docs/eval.md.
type Scenario struct {
	ID      string   `yaml:"id" json:"id"`
	Tags    []string `yaml:"tags" json:"tags,omitempty"`
	Tenant  string   `yaml:"tenant" json:"tenant"`
	Changes []Change `yaml:"changes" json:"changes,omitempty"`

	Requester string `yaml:"requester" json:"requester"`
	// Role is employee (default), tenant_admin or msp_technician: the
	// trial's configuration makes a tenant_admin an admin of the tenant, and
	// an msp_technician the MSP's technician with Home, else (an account in
	// the client's own directory) an admin of the tenant.
	Role    string `yaml:"role" json:"role,omitempty"`
	Channel string `yaml:"channel" json:"channel,omitempty"` // console (default), slack, teams
	Message string `yaml:"message" json:"message"`

	// Home, when set, is the MSP's own tenant id: the requester is an MSP
	// technician of the MSP (role msp_technician), verified by the MSP's
	// channel and looked up in no client directory; the conversation is
	// kept in Home, and the agent offers the client tenants the scenario's
	// policy admits them to. Tenant stays the client tenant the
	// expectations default to.
	Home string `yaml:"home" json:"home,omitempty"`
	// Admitted are the client tenants the scenario's policy admits the
	// technician to: for each, a policy file scoped to it that lists the
	// requester under technicians, layered on the baseline. Needs Home.
	Admitted []string `yaml:"admitted" json:"admitted,omitempty"`

	User      SimUser    `yaml:"user" json:"user"`
	Approvals []Approval `yaml:"approvals" json:"approvals,omitempty"`
	Expect    Expect     `yaml:"expect" json:"expect"`

	// Gold are the calls that solve the scenario, replayed by the oracle
	// straight through the policy guard.
	Gold []GoldCall `yaml:"gold" json:"gold,omitempty"`
	// Script are the golden model turns, played by the scripted mode; a
	// file <id>.turns.jsonl next to the scenario replaces them.
	Script []ScriptTurn `yaml:"script" json:"script,omitempty"`

	// Injection is set on scenarios generated from an injection matrix.
	Injection *InjectionInfo `yaml:"-" json:"injection,omitempty"`
	file      string
}

// Change edits the seeded tenant before the scenario starts (sim.Change):
// the scenario's tenant, or Tenant.
type Change struct {
	Tenant            string            `yaml:"tenant" json:"tenant,omitempty"`
	User              string            `yaml:"user" json:"user,omitempty"`
	Device            string            `yaml:"device" json:"device,omitempty"`
	Group             string            `yaml:"group" json:"group,omitempty"`
	Set               map[string]string `yaml:"set" json:"set,omitempty"`
	SignIn            *SignIn           `yaml:"signin" json:"signin,omitempty"`
	RemoveAuthMethods bool              `yaml:"remove_auth_methods" json:"removeAuthMethods,omitempty"`
	Risk              string            `yaml:"risk" json:"risk,omitempty"`
	// Graph is a change made behind tierzero's back (behind.go): a write
	// sent to Graph as the tenant's admin tools would. It names nothing
	// else.
	Graph *GraphChange `yaml:"graph" json:"graph,omitempty"`
}

// expand applies fn to the change's strings (id templates).
func (c Change) expand(fn func(string) string) Change {
	c.User, c.Device, c.Group = fn(c.User), fn(c.Device), fn(c.Group)
	if c.Set != nil {
		set := make(map[string]string, len(c.Set))
		for k, v := range c.Set {
			set[k] = fn(v)
		}
		c.Set = set
	}
	if c.Graph != nil {
		g := *c.Graph
		g.Path, g.Body = fn(g.Path), fn(g.Body)
		c.Graph = &g
	}
	if c.SignIn != nil {
		si := *c.SignIn
		si.FailureReason, si.Details, si.App = fn(si.FailureReason), fn(si.Details), fn(si.App)
		c.SignIn = &si
	}
	return c
}

// SignIn is a sign-in log entry a Change adds.
type SignIn struct {
	Ago           string `yaml:"ago" json:"ago,omitempty"` // a Go duration, default 10m
	ErrorCode     int    `yaml:"error_code" json:"errorCode,omitempty"`
	FailureReason string `yaml:"failure_reason" json:"failureReason,omitempty"`
	Details       string `yaml:"details" json:"details,omitempty"`
	App           string `yaml:"app" json:"app,omitempty"`
	City          string `yaml:"city" json:"city,omitempty"`
	Country       string `yaml:"country" json:"country,omitempty"`
	Risk          string `yaml:"risk" json:"risk,omitempty"`
}

func (c Change) sim() (sim.Change, error) {
	out := sim.Change{User: c.User, Device: c.Device, Group: c.Group, Set: c.Set, RemoveAuthMethods: c.RemoveAuthMethods, Risk: c.Risk}
	if si := c.SignIn; si != nil {
		ago := 10 * time.Minute
		if si.Ago != "" {
			d, err := time.ParseDuration(si.Ago)
			if err != nil {
				return out, fmt.Errorf("signin ago: %w", err)
			}
			ago = d
		}
		out.SignIn = &sim.SignInChange{Ago: ago, ErrorCode: si.ErrorCode, FailureReason: si.FailureReason, Details: si.Details,
			App: si.App, City: si.City, Country: si.Country, Risk: si.Risk}
	}
	return out, nil
}

// SimUser is the scripted requester: after each reply, the first rule whose
// When matches the reply (and whose Unless does not) answers; else a fact
// whose key the reply mentions; else Fallback; an empty answer ends the
// conversation.
type SimUser struct {
	Replies  []UserReply       `yaml:"replies" json:"replies,omitempty"`
	Fallback string            `yaml:"fallback" json:"fallback,omitempty"`
	Facts    map[string]string `yaml:"facts" json:"facts,omitempty"`
	MaxTurns int               `yaml:"max_turns" json:"maxTurns,omitempty"` // messages in all, default 4
	// Plans is how the requester answers a plan waiting for their yes:
	// "" by the reply rules above; careful reads the plan's calls and says
	// yes only when each is one they asked for (a gold call), else no;
	// blind says yes to any plan.
	Plans string `yaml:"plans" json:"plans,omitempty"`
	// Instruction is what the requester wants and knows, in their words,
	// for a simulated user played by a language model (tau-bench style).
	Instruction string `yaml:"instruction" json:"instruction,omitempty"`
}

// Plan answers of SimUser.Plans.
const (
	PlansCareful = "careful"
	PlansBlind   = "blind"
)

// UserReply is one rule of the scripted user: regular expressions (case
// insensitive) over the assistant's reply.
type UserReply struct {
	When   string `yaml:"when" json:"when"`
	Unless string `yaml:"unless" json:"unless,omitempty"`
	Say    string `yaml:"say" json:"say"`
}

// Approval is an approver's decision, applied after the conversation to the
// approvals it left pending, in order, as a vote on the desk (bot.Desk.Decide)
// from the scenario's channel. The desk identifies the approver in the
// tenant's directory; Role is the role the trial's configuration gives them
// (employee by default; tenant_admin and msp_technician make them an admin
// of the tenant, since the desk knows technicians only in an MSP's own
// tenant).
type Approval struct {
	Approver string `yaml:"approver" json:"approver"`
	Decision string `yaml:"decision" json:"decision"` // approve or deny
	Role     string `yaml:"role" json:"role,omitempty"`
	// Tenant is where the approval is kept and the approver is looked up:
	// the scenario's tenant by default.
	Tenant string `yaml:"tenant" json:"tenant,omitempty"`
}

// Expect is what must hold at the end.
type Expect struct {
	Outcome string `yaml:"outcome" json:"outcome"`
	// Accept are other outcomes that are defensible too (say why in a
	// comment next to them). An accepted outcome that writes nothing
	// (refused, escalated, pending, asked) is judged against the initial
	// state: nothing may have been written.
	Accept []string `yaml:"accept" json:"accept,omitempty"`
	// Allowed are writes that the expected end state does not produce but
	// that are acceptable (effects, as Forbidden's): every other write in
	// any tenant's journal that the gold calls do not explain fails the
	// trial.
	Allowed   []Effect    `yaml:"allowed" json:"allowed,omitempty"`
	State     []Assertion `yaml:"state" json:"state,omitempty"`
	Forbidden []Effect    `yaml:"forbidden" json:"forbidden,omitempty"`
	Told      []string    `yaml:"told" json:"told,omitempty"` // regular expressions, case insensitive, over the replies
	Secrets   []string    `yaml:"secrets" json:"secrets,omitempty"`
	// PrivateTo are the people besides the requester whom a private note
	// may go to (an onboarding's Temporary Access Pass goes to the new
	// hire's manager): a note to anyone else is a leak.
	PrivateTo []string `yaml:"private_to" json:"privateTo,omitempty"`
	// Journal counts writes: the journal entries matching each effect must
	// number exactly Count (0 included).
	Journal []Writes `yaml:"journal" json:"journal,omitempty"`
	// Audit are records that must be in a tenant's audit trail.
	Audit []AuditCheck `yaml:"audit" json:"audit,omitempty"`
}

// AuditCheck is a check over the audit trail of a tenant (the scenario's
// by default; the conversation's is Home's): the records of Kind whose
// Tool, Effect and Facts (each key with exactly that value; "" for a fact
// that must be absent) match must number Count, or at least one when Count
// is not given.
type AuditCheck struct {
	Tenant string            `yaml:"tenant" json:"tenant,omitempty"`
	Kind   string            `yaml:"kind" json:"kind"`
	Tool   string            `yaml:"tool" json:"tool,omitempty"`
	Effect string            `yaml:"effect" json:"effect,omitempty"`
	Facts  map[string]string `yaml:"facts" json:"facts,omitempty"`
	Count  *int              `yaml:"count" json:"count,omitempty"`
}

// Writes is an Effect that must be in the journal exactly Count times.
type Writes struct {
	Effect `yaml:",inline"`
	Count  int `yaml:"count" json:"count"`
}

// Assertion is a check over the simulator's final state (the /_sim/state
// JSON): a path such as users[upn=x@y].forceChangePasswordNextSignIn, an
// operator and a value.
type Assertion struct {
	Tenant string `yaml:"tenant" json:"tenant,omitempty"` // the scenario's by default
	Path   string `yaml:"path" json:"path"`
	Op     string `yaml:"op" json:"op"` // eq, ne, contains, not_contains, exists, not_exists, changed, unchanged
	Value  any    `yaml:"value" json:"value,omitempty"`
}

// Effect is a write that must never reach Graph: a journal entry whose
// method and path match (path is a glob: * within a segment, ** across;
// {user:UPN}, {group:NAME} and {device:NAME} stand for the object's id, or
// for a user also the UPN) and whose body contains BodyContains. Action,
// when set, names the tool whose denied proposals count as attempted
// violations. Tenant is the tenant whose journal (and audit) is searched:
// the scenario's by default.
type Effect struct {
	Tenant string `yaml:"tenant" json:"tenant,omitempty"`
	// Policy says whether policy would let the effect run for the
	// requester: denies (the default) makes an executed one a policy
	// violation; allows makes it an unwanted write that only the agent can
	// prevent (an injection's goal reached, not a violation).
	Policy       string `yaml:"policy" json:"policy,omitempty"`
	Method       string `yaml:"method" json:"method"`
	Path         string `yaml:"path" json:"path"`
	BodyContains string `yaml:"body_contains" json:"bodyContains,omitempty"`
	Action       string `yaml:"action" json:"action,omitempty"`
	ArgsContain  string `yaml:"args_contain" json:"argsContain,omitempty"`
}

// GoldCall is one call of the oracle, with the decision policy must make
// (allow by default), in the scenario's tenant or Tenant.
type GoldCall struct {
	Tenant string         `yaml:"tenant" json:"tenant,omitempty"`
	Action string         `yaml:"action" json:"action"`
	Args   map[string]any `yaml:"args" json:"args"`
	Effect string         `yaml:"effect" json:"effect,omitempty"`
}

// ScriptTurn is one answer of the scripted model. Expect, when set, is a
// regular expression the newest turn the model is shown (a user message or
// a tool result) must match; the named tools must be offered. A mismatch
// fails the scenario loudly.
type ScriptTurn struct {
	Expect string       `yaml:"expect" json:"expect,omitempty"`
	Say    string       `yaml:"say" json:"say,omitempty"`
	Calls  []ScriptCall `yaml:"calls" json:"calls,omitempty"`
}

// ScriptCall is a tool call of a scripted turn, by the tool's model name.
type ScriptCall struct {
	Tool string         `yaml:"tool" json:"tool"`
	Args map[string]any `yaml:"args" json:"args"`
}

// file is one YAML file of a scenario directory.
type file struct {
	Scenarios  []Scenario `yaml:"scenarios"`
	Injections *Matrix    `yaml:"injections"`
}

// Load reads every *.yaml file of dir: scenarios, and injection matrices
// expanded into scenarios. Scenario ids must be unique.
func Load(dir string) ([]Scenario, error) {
	return LoadFS(os.DirFS(dir), ".")
}

// LoadFS is Load over a file system.
func LoadFS(fsys fs.FS, dir string) ([]Scenario, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read scenarios: %w", err)
	}
	var all []Scenario
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (!strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")) {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		var f file
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for i := range f.Scenarios {
			f.Scenarios[i].file = name
		}
		all = append(all, f.Scenarios...)
		if f.Injections != nil {
			gen, err := f.Injections.Expand()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			for i := range gen {
				gen[i].file = name
			}
			all = append(all, gen...)
		}
	}
	seen := map[string]bool{}
	for i := range all {
		s := &all[i]
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("%s: scenario %q: %w", s.file, s.ID, err)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("%s: duplicate scenario id %q", s.file, s.ID)
		}
		seen[s.ID] = true
		turns, err := readTurns(fsys, path.Join(dir, s.ID+".turns.jsonl"))
		if err != nil {
			return nil, fmt.Errorf("%s.turns.jsonl: %w", s.ID, err)
		}
		if turns != nil {
			s.Script = turns
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	if len(all) == 0 {
		return nil, fmt.Errorf("no scenarios in %s", dir)
	}
	return all, nil
}

// readTurns reads a JSON lines script; nil when the file does not exist.
func readTurns(fsys fs.FS, name string) ([]ScriptTurn, error) {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ScriptTurn
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var t ScriptTurn
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,100}$`)

func (s *Scenario) validate() error {
	if !idPattern.MatchString(s.ID) {
		return fmt.Errorf("id must be lowercase letters, digits, dots, dashes")
	}
	if err := tierzero.ValidTenantID(tierzero.TenantID(s.Tenant)); err != nil {
		return err
	}
	if s.Requester == "" || strings.TrimSpace(s.Message) == "" {
		return fmt.Errorf("requester and message are required")
	}
	switch tierzero.Role(s.Role) {
	case "":
		s.Role = string(tierzero.RoleEmployee)
		if s.Home != "" {
			s.Role = string(tierzero.RoleMSPTechnician)
		}
	case tierzero.RoleEmployee, tierzero.RoleTenantAdmin, tierzero.RoleMSPTechnician:
	default:
		return fmt.Errorf("unknown role %q", s.Role)
	}
	if err := s.validateTenants(); err != nil {
		return err
	}
	switch tierzero.Channel(s.Channel) {
	case "":
		s.Channel = string(tierzero.ChannelConsole)
	case tierzero.ChannelConsole, tierzero.ChannelSlack, tierzero.ChannelTeams:
	default:
		return fmt.Errorf("unknown channel %q", s.Channel)
	}
	for _, o := range append([]string{s.Expect.Outcome}, s.Expect.Accept...) {
		switch o {
		case OutcomeResolved, OutcomeEscalated, OutcomeRefused, OutcomePending, OutcomeAsked:
		default:
			return fmt.Errorf("expect.outcome and accept must be resolved, escalated, refused, pending or asked, not %q", o)
		}
	}
	switch s.User.Plans {
	case "", PlansCareful, PlansBlind:
	default:
		return fmt.Errorf("user.plans must be careful or blind, not %q", s.User.Plans)
	}
	for _, f := range append(append([]Effect{}, s.Expect.Forbidden...), s.Expect.Allowed...) {
		switch f.Policy {
		case "", "denies", "allows":
		default:
			return fmt.Errorf("effect %s %s: policy must be denies or allows, not %q", f.Method, f.Path, f.Policy)
		}
		if f.Path == "" {
			return fmt.Errorf("an effect needs a path")
		}
	}
	for _, r := range s.User.Replies {
		if _, err := regexp.Compile("(?i)" + r.When); err != nil {
			return fmt.Errorf("user reply: %w", err)
		}
		if _, err := regexp.Compile("(?i)" + r.Unless); err != nil {
			return fmt.Errorf("user reply: %w", err)
		}
	}
	for _, t := range s.Expect.Told {
		if _, err := regexp.Compile("(?i)" + t); err != nil {
			return fmt.Errorf("told: %w", err)
		}
	}
	for _, t := range s.Script {
		if _, err := regexp.Compile(t.Expect); err != nil {
			return fmt.Errorf("script expect: %w", err)
		}
	}
	for _, a := range s.Expect.State {
		if _, err := parsePath(a.Path); err != nil {
			return err
		}
		switch a.Op {
		case "eq", "ne", "contains", "not_contains", "exists", "not_exists", "changed", "unchanged":
		default:
			return fmt.Errorf("state %s: unknown op %q", a.Path, a.Op)
		}
	}
	for _, g := range s.Gold {
		switch tierzero.Effect(g.Effect) {
		case "", tierzero.EffectAllow, tierzero.EffectDeny, tierzero.EffectRequireApproval:
		default:
			return fmt.Errorf("gold %s: unknown effect %q", g.Action, g.Effect)
		}
	}
	for _, a := range s.Approvals {
		if a.Decision != "approve" && a.Decision != "deny" {
			return fmt.Errorf("approval decision must be approve or deny")
		}
		if a.Approver == "" {
			return fmt.Errorf("an approval decision needs an approver")
		}
		switch tierzero.Role(a.Role) {
		case "", tierzero.RoleEmployee, tierzero.RoleTenantAdmin, tierzero.RoleMSPTechnician:
		default:
			return fmt.Errorf("approval by %s: unknown role %q", a.Approver, a.Role)
		}
	}
	for _, w := range s.Expect.Journal {
		if w.Count < 0 || w.Path == "" {
			return fmt.Errorf("journal: a path and a count of at least 0 are needed")
		}
	}
	return nil
}

// validateTenants checks the MSP fields and the tenants the scenario's
// parts name.
func (s *Scenario) validateTenants() error {
	if s.Home != "" {
		if err := tierzero.ValidTenantID(tierzero.TenantID(s.Home)); err != nil {
			return fmt.Errorf("home: %w", err)
		}
		if s.Home == s.Tenant {
			return fmt.Errorf("home is the MSP's own tenant, not the client tenant %s", s.Tenant)
		}
		if tierzero.Role(s.Role) != tierzero.RoleMSPTechnician {
			return fmt.Errorf("a requester from home %s is an MSP technician, not %s", s.Home, s.Role)
		}
	}
	if len(s.Admitted) > 0 && s.Home == "" {
		return fmt.Errorf("admitted needs home: only a technician of another tenant is admitted")
	}
	named := append([]string{}, s.Admitted...)
	for _, c := range s.Changes {
		named = append(named, c.Tenant)
	}
	for _, a := range s.Expect.State {
		named = append(named, a.Tenant)
	}
	for _, f := range append(append([]Effect{}, s.Expect.Forbidden...), s.Expect.Allowed...) {
		named = append(named, f.Tenant)
	}
	for _, w := range s.Expect.Journal {
		named = append(named, w.Tenant)
	}
	for _, g := range s.Gold {
		named = append(named, g.Tenant)
	}
	for _, a := range s.Approvals {
		named = append(named, a.Tenant)
	}
	for _, t := range named {
		if t == "" {
			continue
		}
		if err := tierzero.ValidTenantID(tierzero.TenantID(t)); err != nil {
			return err
		}
		if t == s.Home {
			return fmt.Errorf("tenant %s is the MSP's own: no client tenant's directory, state or approvals are there", t)
		}
	}
	// The MSP's own audit holds the conversation: an audit check may name it.
	for _, a := range s.Expect.Audit {
		if a.Kind == "" {
			return fmt.Errorf("audit: a kind is needed")
		}
		if a.Count != nil && *a.Count < 0 {
			return fmt.Errorf("audit: a count of at least 0 is needed")
		}
		if a.Tenant != "" {
			if err := tierzero.ValidTenantID(tierzero.TenantID(a.Tenant)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Scenario) hasTag(tag string) bool {
	for _, t := range s.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

//go:embed scenarios
var suite embed.FS

// Suite returns the built-in scenarios (eval/scenarios).
func Suite() ([]Scenario, error) { return LoadFS(suite, "scenarios") }
