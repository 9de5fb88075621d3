package agent

import (
	"strings"
	"unicode"
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

// Confirms reports whether text, the requester's answer to a plan, confirms
// it: the words on which the agent runs the plan's calls (and otherwise
// settles it unrun). A model reading the conversation tells by them which
// of the requester's messages confirmed a plan, and which asked anew.
func Confirms(text string) bool { return affirmative(text) }

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
