package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tierzero/tierzero"
)

// describePlan says what a lifecycle plan call does: whom it is about and
// every step, numbered, with the names people know (the labels the plan's
// read wrote, bound with the steps by the plan's argument hash), so that the
// requester who confirms it and the approver who approves it see the whole
// plan.
func describePlan(c tierzero.ToolCall, user string) description {
	var p tierzero.PlanArgs
	_ = json.Unmarshal(c.Args, &p)
	what := "offboard " + user
	if c.Action == tierzero.ActionOnboard {
		what = "onboard " + user
	}
	return description{what: fmt.Sprintf("%s in %d steps, each decided by policy: %s", what, len(p.Steps), strings.Join(planSteps(p), "; "))}
}

// planSteps are a plan's steps as a requester and an approver read them:
// numbered, each by its label on one line (the call itself when it has
// none), a step that stops the plan said so.
func planSteps(p tierzero.PlanArgs) []string {
	var steps []string
	for i, s := range p.Steps {
		label := tierzero.PrintableLine(s.Label)
		if label == "" {
			label = tierzero.PrintableLine(s.Action + " " + s.Args)
		}
		if s.Stop {
			label += " (if this fails, nothing after it runs)"
		}
		steps = append(steps, fmt.Sprintf("(%d) %s", i+1, label))
	}
	return steps
}
