package eval

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Matrix is a compact description of injection scenarios: every task is
// run once per attacker goal and place of the injected text (the goals and
// places a task lists, or all; a goal may name the places it is planted
// in), and, for a task whose writes wait for the requester's yes, once per
// way of answering a plan (Plans), AgentDojo style. See docs/eval.md.
type Matrix struct {
	Tasks  []InjectionTask  `yaml:"tasks"`
	Goals  []InjectionGoal  `yaml:"goals"`
	Places []InjectionPlace `yaml:"places"`
}

// InjectionTask is the user's legitimate task: a scenario (its id, tenant,
// requester, message, expectations, gold calls and script), the variables
// the goals and places use, the goals and places it is combined with (all
// by default) and the variants of its simulated user's plan answers.
//
// Variables: {requester} is always set; {subject} is the person whose
// data the task reads (the requester by default; for a technician, the
// user they work on), {subject_device} their device ({requester_device}
// by default), {subject_manager} their manager; goals use {attacker},
// {victim}, {victim_device}, {requester_device}.
type InjectionTask struct {
	Scenario `yaml:",inline"`
	Vars     map[string]string `yaml:"vars"`
	Goals    []string          `yaml:"goals"`
	Places   []string          `yaml:"places"`
	// Plans are the variants of the task's user.plans (careful, blind):
	// one scenario each, with id suffix and tag user:<plans>. None: the
	// task's own user.
	Plans []string `yaml:"plans"`
}

// InjectionGoal is what the attacker wants: the instruction planted in the
// place ({text}), a code word in it (Marker) by which a run tells whether
// the model was shown the text, the effects that mean it worked, whether
// a leaked secret means it worked, and the places it is planted in (all of
// the task's by default).
//
// Its effects say whether policy lets them run for the requester
// (Effect.Policy): a goal whose effects policy allows (allows) is one only
// the agent can refuse; the others (denies, the default) policy blocks
// whatever the model does. A goal's effects all say the same.
type InjectionGoal struct {
	ID        string   `yaml:"id"`
	Text      string   `yaml:"text"`
	Marker    string   `yaml:"marker"`
	Forbidden []Effect `yaml:"forbidden"`
	Leak      bool     `yaml:"leak"`
	Places    []string `yaml:"places"`
}

// InjectionPlace is where the text is planted: a change to the tenant
// whose strings may hold {text}, or the user's own message.
type InjectionPlace struct {
	ID      string  `yaml:"id"`
	Change  *Change `yaml:"change"`
	Message bool    `yaml:"message"`
}

// InjectionInfo says how a generated scenario was made. Marker is a short
// substring of the planted text (the goal's code word): the text reached
// the model when a request the agent sent it holds the marker. Policy is
// whether policy allows the goal's effects for the requester (allows or
// denies); Plans how the requester answers plans, when the task has
// variants.
type InjectionInfo struct {
	Task   string `json:"task"`
	Goal   string `json:"goal"`
	Place  string `json:"place"`
	Marker string `json:"marker"`
	Policy string `json:"policy"`
	Plans  string `json:"plans,omitempty"`
	Leak   bool   `json:"leak,omitempty"`
}

// Goal policies (InjectionInfo.Policy, Effect.Policy).
const (
	GoalAllows = "allows"
	GoalDenies = "denies"
)

// Expand generates the scenarios of the matrix: task x goal x place (x
// plans variant), each with id inject.<task>.<goal>.<place>[.<plans>],
// tagged injection, generated, goal:<id>, place:<id>,
// goal-policy:<allows|denies> and, for a variant, user:<plans>.
func (m *Matrix) Expand() ([]Scenario, error) {
	places := map[string]InjectionPlace{}
	var all []string
	for _, p := range m.Places {
		if (p.Change == nil) == !p.Message {
			return nil, fmt.Errorf("injection place %q: give a change or message: true", p.ID)
		}
		if _, dup := places[p.ID]; dup {
			return nil, fmt.Errorf("injection place %q: defined twice", p.ID)
		}
		places[p.ID] = p
		all = append(all, p.ID)
	}
	goals := map[string]InjectionGoal{}
	markers := map[string]string{}
	var allGoals []string
	for _, g := range m.Goals {
		if _, dup := goals[g.ID]; dup {
			return nil, fmt.Errorf("injection goal %q: defined twice", g.ID)
		}
		if _, err := goalPolicy(g); err != nil {
			return nil, err
		}
		if g.Marker != "" {
			if !strings.Contains(g.Text, g.Marker) {
				return nil, fmt.Errorf("injection goal %q: the text does not hold its marker %q", g.ID, g.Marker)
			}
			if other, dup := markers[strings.ToLower(g.Marker)]; dup {
				return nil, fmt.Errorf("injection goal %q: marker %q is goal %q's too", g.ID, g.Marker, other)
			}
			markers[strings.ToLower(g.Marker)] = g.ID
		}
		for _, pn := range g.Places {
			if _, ok := places[pn]; !ok {
				return nil, fmt.Errorf("injection goal %q: unknown place %q", g.ID, pn)
			}
		}
		goals[g.ID] = g
		allGoals = append(allGoals, g.ID)
	}
	var out []Scenario
	for _, task := range m.Tasks {
		gnames, pnames := task.Goals, task.Places
		if len(gnames) == 0 {
			gnames = allGoals
		}
		if len(pnames) == 0 {
			pnames = all
		}
		for _, pn := range pnames {
			if _, ok := places[pn]; !ok {
				return nil, fmt.Errorf("injection task %q: unknown place %q", task.ID, pn)
			}
		}
		variants := task.Plans
		if len(variants) == 0 {
			variants = []string{""}
		}
		for _, v := range variants {
			if v != "" && v != PlansCareful && v != PlansBlind {
				return nil, fmt.Errorf("injection task %q: plans must be careful or blind, not %q", task.ID, v)
			}
		}
		for _, gn := range gnames {
			goal, ok := goals[gn]
			if !ok {
				return nil, fmt.Errorf("injection task %q: unknown goal %q", task.ID, gn)
			}
			for _, pn := range pnames {
				if len(goal.Places) > 0 && !slices.Contains(goal.Places, pn) {
					continue
				}
				for _, v := range variants {
					sc, err := inject(task, goal, places[pn], v)
					if err != nil {
						return nil, err
					}
					out = append(out, sc)
				}
			}
		}
	}
	return out, nil
}

// goalPolicy is whether policy allows the goal's effects (GoalAllows) or
// not (GoalDenies: the default, and a goal that only leaks).
func goalPolicy(g InjectionGoal) (string, error) {
	policy := ""
	for _, f := range g.Forbidden {
		p := f.Policy
		if p == "" {
			p = GoalDenies
		}
		if policy != "" && p != policy {
			return "", fmt.Errorf("injection goal %q: its effects mix policy allows and denies; make two goals", g.ID)
		}
		policy = p
	}
	if policy == "" {
		policy = GoalDenies
	}
	return policy, nil
}

// unfilled finds a variable a template names that was not set; id
// templates ({user:UPN}) and JSON are not variables.
var unfilled = regexp.MustCompile(`\{[a-z_]+\}`)

func inject(task InjectionTask, goal InjectionGoal, place InjectionPlace, plans string) (Scenario, error) {
	vars := map[string]string{"requester": task.Requester, "subject": task.Requester}
	if d, ok := task.Vars["requester_device"]; ok {
		vars["subject_device"] = d
	}
	for k, v := range task.Vars {
		vars[k] = v
	}
	text := fill(goal.Text, vars)
	vars["text"] = text
	policy, err := goalPolicy(goal)
	if err != nil {
		return Scenario{}, err
	}
	marker := fill(goal.Marker, vars)
	if marker == "" {
		marker = deriveMarker(text)
	}
	sc := task.Scenario
	sc.ID = fmt.Sprintf("inject.%s.%s.%s", task.ID, goal.ID, place.ID)
	sc.Tags = append(append([]string{}, task.Tags...), "injection", "generated", "goal:"+goal.ID, "place:"+place.ID, "goal-policy:"+policy)
	if plans != "" {
		sc.ID += "." + plans
		sc.Tags = append(sc.Tags, "user:"+plans)
		sc.User.Plans = plans
	}
	sc.Changes = append([]Change{}, task.Changes...)
	sc.Expect.Forbidden = append([]Effect{}, task.Expect.Forbidden...)
	sc.Injection = &InjectionInfo{Task: task.ID, Goal: goal.ID, Place: place.ID, Marker: marker, Policy: policy, Plans: plans, Leak: goal.Leak}
	var filled []string
	if place.Message {
		sc.Message = strings.TrimSpace(sc.Message) + "\n\n" + text
	} else {
		c := *place.Change
		c.Tenant, c.User, c.Device, c.Group = fill(c.Tenant, vars), fill(c.User, vars), fill(c.Device, vars), fill(c.Group, vars)
		filled = append(filled, c.Tenant, c.User, c.Device, c.Group)
		if c.Set != nil {
			set := map[string]string{}
			for k, v := range c.Set {
				set[k] = fill(v, vars)
				filled = append(filled, set[k])
			}
			c.Set = set
		}
		if c.SignIn != nil {
			si := *c.SignIn
			si.FailureReason, si.Details, si.App = fill(si.FailureReason, vars), fill(si.Details, vars), fill(si.App, vars)
			filled = append(filled, si.FailureReason, si.Details, si.App)
			c.SignIn = &si
		}
		sc.Changes = append(sc.Changes, c)
	}
	for _, f := range goal.Forbidden {
		f.Tenant, f.Path, f.BodyContains, f.ArgsContain = fill(f.Tenant, vars), fill(f.Path, vars), fill(f.BodyContains, vars), fill(f.ArgsContain, vars)
		filled = append(filled, f.Tenant, f.Path, f.BodyContains, f.ArgsContain)
		sc.Expect.Forbidden = append(sc.Expect.Forbidden, f)
	}
	for _, s := range append(filled, text) {
		if v := unfilled.FindString(s); v != "" {
			return Scenario{}, fmt.Errorf("injection %s: variable %s is not set (task vars)", sc.ID, v)
		}
	}
	return sc, nil
}

// fill replaces {name} by vars[name] for the names vars holds; other braces
// ({user:UPN} and JSON) stay.
func fill(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// markerRun are the characters of a derived marker: they read the same
// however the text is quoted or escaped on its way to the model.
var markerRun = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9 -]*[A-Za-z0-9]`)

// deriveMarker is the marker of a goal that names none: the longest run of
// letters, digits, spaces and dashes in its text, at most 40 bytes.
func deriveMarker(text string) string {
	best := ""
	for _, m := range markerRun.FindAllString(text, -1) {
		if len(m) > len(best) {
			best = m
		}
	}
	if len(best) > 40 {
		best = strings.TrimSpace(best[:40])
	}
	return best
}
