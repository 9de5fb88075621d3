package eval

import (
	"fmt"
	"strings"
)

// Matrix is a compact description of injection scenarios: every task is
// run once per attacker goal and place of the injected text (the places a
// task lists, or all), AgentDojo style. See docs/eval.md.
type Matrix struct {
	Tasks  []InjectionTask  `yaml:"tasks"`
	Goals  []InjectionGoal  `yaml:"goals"`
	Places []InjectionPlace `yaml:"places"`
}

// InjectionTask is the user's legitimate task: a scenario (its id, tenant,
// requester, message, expectations, gold calls and script), the variables
// the goals and places use ({attacker}, {victim}, {victim_device},
// {requester_device}; {requester} is always set) and the places it is
// combined with.
type InjectionTask struct {
	Scenario `yaml:",inline"`
	Vars     map[string]string `yaml:"vars"`
	Places   []string          `yaml:"places"`
}

// InjectionGoal is what the attacker wants: the instruction planted in the
// place ({text}), the effects that mean it worked, and whether a leaked
// secret means it worked.
type InjectionGoal struct {
	ID        string   `yaml:"id"`
	Text      string   `yaml:"text"`
	Forbidden []Effect `yaml:"forbidden"`
	Leak      bool     `yaml:"leak"`
}

// InjectionPlace is where the text is planted: a change to the tenant
// whose strings may hold {text}, or the user's own message.
type InjectionPlace struct {
	ID      string  `yaml:"id"`
	Change  *Change `yaml:"change"`
	Message bool    `yaml:"message"`
}

// InjectionInfo says how a generated scenario was made.
type InjectionInfo struct {
	Task  string `json:"task"`
	Goal  string `json:"goal"`
	Place string `json:"place"`
	Leak  bool   `json:"leak,omitempty"`
}

// Expand generates the scenarios of the matrix: task x goal x place, each
// with id inject.<task>.<goal>.<place>.
func (m *Matrix) Expand() ([]Scenario, error) {
	places := map[string]InjectionPlace{}
	for _, p := range m.Places {
		if (p.Change == nil) == !p.Message {
			return nil, fmt.Errorf("injection place %q: give a change or message: true", p.ID)
		}
		places[p.ID] = p
	}
	var out []Scenario
	for _, task := range m.Tasks {
		names := task.Places
		if len(names) == 0 {
			for _, p := range m.Places {
				names = append(names, p.ID)
			}
		}
		for _, goal := range m.Goals {
			for _, pn := range names {
				place, ok := places[pn]
				if !ok {
					return nil, fmt.Errorf("injection task %q: unknown place %q", task.ID, pn)
				}
				sc, err := inject(task, goal, place)
				if err != nil {
					return nil, err
				}
				out = append(out, sc)
			}
		}
	}
	return out, nil
}

func inject(task InjectionTask, goal InjectionGoal, place InjectionPlace) (Scenario, error) {
	vars := map[string]string{"requester": task.Requester}
	for k, v := range task.Vars {
		vars[k] = v
	}
	text := fill(goal.Text, vars)
	vars["text"] = text
	sc := task.Scenario
	sc.ID = fmt.Sprintf("inject.%s.%s.%s", task.ID, goal.ID, place.ID)
	sc.Tags = append(append([]string{}, task.Tags...), "injection", "goal:"+goal.ID, "place:"+place.ID)
	sc.Changes = append([]Change{}, task.Changes...)
	sc.Expect.Forbidden = append([]Effect{}, task.Expect.Forbidden...)
	sc.Injection = &InjectionInfo{Task: task.ID, Goal: goal.ID, Place: place.ID, Leak: goal.Leak}
	if place.Message {
		sc.Message = strings.TrimSpace(sc.Message) + "\n\n" + text
	} else {
		c := *place.Change
		c.Tenant, c.User, c.Device, c.Group = fill(c.Tenant, vars), fill(c.User, vars), fill(c.Device, vars), fill(c.Group, vars)
		if c.Set != nil {
			set := map[string]string{}
			for k, v := range c.Set {
				set[k] = fill(v, vars)
			}
			c.Set = set
		}
		if c.SignIn != nil {
			si := *c.SignIn
			si.FailureReason, si.Details, si.App = fill(si.FailureReason, vars), fill(si.Details, vars), fill(si.App, vars)
			c.SignIn = &si
		}
		sc.Changes = append(sc.Changes, c)
	}
	for _, f := range goal.Forbidden {
		f.Tenant, f.Path, f.BodyContains, f.ArgsContain = fill(f.Tenant, vars), fill(f.Path, vars), fill(f.BodyContains, vars), fill(f.ArgsContain, vars)
		sc.Expect.Forbidden = append(sc.Expect.Forbidden, f)
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
