package agent

import "github.com/tierzero/tierzero"

// DefaultMemoryTokens is the default token budget of the conversation memory
// sent to the model (Config.MemoryTokens).
const DefaultMemoryTokens = 6000

// charsPerToken is the rough size of a token in English text and JSON; the
// estimate needs no tokenizer and errs on the large side for prose.
const charsPerToken = 4

// turnOverhead is what a message costs besides its text: role, ids, framing.
const turnOverhead = 4

// estimateTokens estimates the tokens of s.
func estimateTokens(s string) int { return (len(s) + charsPerToken - 1) / charsPerToken }

// turnTokens estimates the tokens one turn costs in a prompt.
func turnTokens(t tierzero.Turn) int {
	n := turnOverhead + estimateTokens(t.Content)
	for _, c := range t.ToolCalls {
		n += turnOverhead + estimateTokens(c.ID) + estimateTokens(c.Action) + estimateTokens(string(c.Args))
	}
	return n
}

// trimTurns drops the oldest turns until the estimate of the rest fits
// budget tokens. Turns are dropped in units that the chat APIs need whole:
// an assistant turn that calls tools goes with the tool results that follow
// it, and a leading tool result without its call is always dropped. The
// turns from keep on (the current request) are never dropped, even when they
// alone exceed the budget: the request's own bounds limit them.
func trimTurns(turns []tierzero.Turn, keep, budget int) []tierzero.Turn {
	keep = min(max(keep, 0), len(turns))
	total := 0
	for _, t := range turns {
		total += turnTokens(t)
	}
	start := 0
	for start < keep {
		// The unit that begins at start: one turn plus the tool results
		// that answer it.
		end := start + 1
		for end < len(turns) && turns[end].Role == tierzero.TurnTool {
			end++
		}
		orphan := turns[start].Role == tierzero.TurnTool
		if total <= budget && !orphan {
			break
		}
		if end > keep {
			break // the unit reaches into the current request
		}
		for _, t := range turns[start:end] {
			total -= turnTokens(t)
		}
		start = end
	}
	return turns[start:]
}
