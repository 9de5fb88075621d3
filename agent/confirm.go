package agent

import (
	"strings"
	"unicode"

	"github.com/tierzero/tierzero"
)

// Words of a reply that confirms or cancels a plan. A confirmation is made
// of these words only ("yes", "yes please, go ahead", "confirm"), so "yes,
// but only for Alex" is not one: it cancels the plan and is read afresh.
var (
	yesWords = wordSet("yes y yep yeah yup ok okay sure confirm confirmed go ahead doit proceed approve approved please " +
		"ja oui si sí jawohl d'accord")
	strongYes = wordSet("yes y yep yeah yup ok okay sure confirm confirmed go doit proceed approve approved ja oui si sí jawohl d'accord")
	noWords   = wordSet("no n nope cancel cancelled stop abort don't dont do not never mind nevermind please thanks nein non")
	strongNo  = wordSet("no n nope cancel cancelled stop abort don't dont nevermind nein non")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func words(text string) []string {
	text = strings.ReplaceAll(strings.ToLower(text), "’", "'")
	text = strings.ReplaceAll(text, "do it", "doit")
	return strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	})
}

// affirmative reports whether text confirms a plan.
func affirmative(text string) bool { return only(text, yesWords, strongYes) }

// ConfirmedPlan reports whether the user turn u of turns (a conversation
// as the agent keeps it, or as a model is shown it) confirmed a plan: it
// answers a plan (the turn before it, settled by that answer) in the words
// that confirm one, and the plan's calls follow it at once, as the agent
// runs them (a plan that had expired has none). Any other answer to a plan
// settles it unrun and is a request of its own; calls later in the
// conversation do not make it a confirmation.
func ConfirmedPlan(turns []tierzero.Turn, u int) bool {
	return u > 0 && u+1 < len(turns) && turns[u].Role == tierzero.TurnUser && turns[u-1].Settled &&
		affirmative(turns[u].Content) && turns[u+1].Role == tierzero.TurnAssistant && len(turns[u+1].ToolCalls) > 0
}

// negative reports whether text plainly cancels a plan.
func negative(text string) bool { return only(text, noWords, strongNo) }

func only(text string, allowed, strong map[string]bool) bool {
	ws := words(text)
	if len(ws) == 0 || len(ws) > 6 {
		return false
	}
	found := false
	for _, w := range ws {
		if !allowed[w] {
			return false
		}
		found = found || strong[w]
	}
	return found
}
