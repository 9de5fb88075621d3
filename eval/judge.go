package eval

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent/offline"
	"github.com/tierzero/tierzero/graph/sim"
)

// Whole-state judging, as tau-bench does: the expected end state is the
// state the scenario's gold calls produce (replayed through the guard in a
// twin of the trial's world, approvals decided as the scenario says), and a
// trial passes only if every change it made, in every tenant, is one of the
// expected changes and every expected change was made. Changes are compared
// field by field on the simulator's state (the fields the tools can
// change); values that differ by nature between two runs (timestamps, the
// ids of objects a run creates) are compared by whether they changed.

// expectation is the end state of the gold calls, per client tenant: the
// changes they make (stateChanges, against the twin's own starting state,
// since the seed's timestamps are relative to when a world is made) and
// the journal of their writes.
type expectation struct {
	changes  map[tierzero.TenantID]map[string]string
	journals map[tierzero.TenantID][]sim.JournalEntry
}

// twins caches each scenario's expectation for the process: it depends on
// the scenario only (ids of created objects and timestamps aside, which
// the comparison does not hold against it), so every trial and every run
// of a scenario shares one.
var twins sync.Map // scenario hash -> *twin

type twin struct {
	once sync.Once
	x    *expectation
	err  error
}

// expected returns the end state of the scenario's gold calls, made once
// per process.
func expected(ctx context.Context, sc Scenario, o Options) (*expectation, error) {
	b, err := json.Marshal(struct {
		S    Scenario
		File string
	}{sc, sc.file})
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256(b)
	v, _ := twins.LoadOrStore(key, &twin{})
	tw := v.(*twin)
	tw.once.Do(func() { tw.x, tw.err = replayGold(ctx, sc, o) })
	return tw.x, tw.err
}

// replayGold replays the scenario's gold calls in a fresh world (same
// seed, same changes) and returns its end state.
func replayGold(ctx context.Context, sc Scenario, o Options) (*expectation, error) {
	const trial = 0
	o.Mode = ModeOracle
	twin, err := newEnv(sc, o, trial)
	if err != nil {
		return nil, err
	}
	defer twin.close()
	if err := twin.open(ctx, offline.Model{}); err != nil {
		return nil, err
	}
	req, err := twin.desk.Identify(ctx, twin.home, twin.ch, tierzero.PlatformUser{UPN: twin.in(twin.tenant).expand(sc.Requester)})
	if err != nil {
		return nil, fmt.Errorf("identify %s: %w", sc.Requester, err)
	}
	tr := twin.oracle(ctx, req)
	twin.decide(ctx, req, &tr)
	if len(tr.fails) > 0 {
		return nil, fmt.Errorf("the gold calls do not run as the scenario says: %s", strings.Join(tr.fails, "; "))
	}
	x := &expectation{changes: map[tierzero.TenantID]map[string]string{}, journals: map[tierzero.TenantID][]sim.JournalEntry{}}
	for _, t := range twin.clients {
		final, _ := twin.sim.State(string(t))
		x.changes[t] = stateChanges(twin.initials[t], final)
		x.journals[t] = twin.journal(t)
	}
	return x, nil
}

// writesNothing are the outcomes after which nothing may have been written.
func writesNothing(outcome string) bool {
	switch outcome {
	case OutcomeRefused, OutcomeEscalated, OutcomePending, OutcomeAsked, OutcomeModelError:
		return true
	}
	return false
}

// stateChanges flattens a tenant state into leaf paths and returns the
// leaves whose value differs from initial's (a removed leaf has the value
// "<absent>"). Arrays of objects are keyed (by id, userPrincipalName,
// actionName, skuPartNumber or displayName); an object whose id the
// initial state does not know was created by the run and is keyed "new:"
// with its type or name and its rank. Arrays of scalars are sets.
// Timestamps that changed read "<changed time>".
func stateChanges(initial, final sim.TenantState) map[string]string {
	before, after := map[string]string{}, map[string]string{}
	known := map[string]bool{}
	start := stateJSON(initial) // flatten changes only objects known does not know: none of it
	ids(start, known)
	flatten("", start, known, before)
	flatten("", stateJSON(final), known, after)
	out := map[string]string{}
	for k, v := range after {
		if b, ok := before[k]; !ok || b != v {
			if isTime(v) {
				v = "<changed time>"
			}
			out[k] = v
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out[k] = "<absent>"
		}
	}
	return out
}

// ids collects every "id" value in v.
func ids(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["id"].(string); ok && id != "" {
			into[strings.ToLower(id)] = true
		}
		for _, e := range x {
			ids(e, into)
		}
	case []any:
		for _, e := range x {
			ids(e, into)
		}
	}
}

var elementKeys = []string{"id", "userPrincipalName", "actionName", "skuPartNumber", "displayName"}

func flatten(prefix string, v any, known map[string]bool, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(join(prefix, k), e, known, out)
		}
	case []any:
		scalars := true
		for _, e := range x {
			if _, obj := e.(map[string]any); obj {
				scalars = false
			}
		}
		if scalars {
			set := make([]string, 0, len(x))
			for _, e := range x {
				set = append(set, strings.ToLower(fmt.Sprint(e)))
			}
			sort.Strings(set)
			out[prefix] = "[" + strings.Join(set, ",") + "]"
			return
		}
		rank := map[string]int{}
		for _, e := range x {
			m, _ := e.(map[string]any)
			key := elementKey(m, known, rank)
			flatten(prefix+"["+key+"]", m, known, out)
		}
	case nil:
		out[prefix] = "null"
	default:
		b, _ := json.Marshal(x)
		out[prefix] = strings.ToLower(string(b))
	}
}

// elementKey names an array element by its first key field; a created
// object (an id the initial state does not know) by its kind and rank,
// and its id is then not compared.
func elementKey(m map[string]any, known map[string]bool, rank map[string]int) string {
	for _, k := range elementKeys {
		s, ok := m[k].(string)
		if !ok || s == "" {
			continue
		}
		if k == "id" && !known[strings.ToLower(s)] {
			kind := "object"
			for _, f := range []string{"type", "actionName", "displayName", "userPrincipalName"} {
				if v, ok := m[f].(string); ok && v != "" {
					kind = v
					break
				}
			}
			rank[kind]++
			delete(m, "id")
			return fmt.Sprintf("new:%s#%d", strings.ToLower(kind), rank[kind])
		}
		return k + "=" + strings.ToLower(s)
	}
	rank[""]++
	return fmt.Sprintf("#%d", rank[""])
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// isTime reports whether a flattened JSON value is an RFC 3339 timestamp
// (or a Graph local dateTime).
func isTime(v string) bool {
	s := strings.ToUpper(strings.Trim(v, `"`))
	if len(s) < 19 || len(s) == len(v) {
		return false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// compareChanges returns, in a stable order, why the changes got differ
// from want: unexpected ones, missing ones and wrong values.
func compareChanges(got, want map[string]string) []string {
	var out []string
	for k, v := range got {
		w, ok := want[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("unexpected change: %s = %s", k, clip(v, 120)))
		case w != v:
			out = append(out, fmt.Sprintf("wrong value: %s = %s, want %s", k, clip(v, 120), clip(w, 120)))
		}
	}
	for k, w := range want {
		if _, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("missing change: %s = %s", k, clip(w, 120)))
		}
	}
	sort.Strings(out)
	return out
}

// readActions are POSTs that read (Graph's functions over a body).
var readActions = regexp.MustCompile(`(?i)/(getMemberGroups|getMemberObjects|checkMemberGroups|checkMemberObjects|getByIds)$`)

// isWrite reports whether a journal entry changed something: a write the
// simulator applied (a refused one changed nothing).
func isWrite(j sim.JournalEntry) bool {
	return j.Status < 400 && !readActions.MatchString(j.Path)
}

var guidPattern = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// writeKey is a write's method and path, with the ids of objects the run
// created (ids the initial state does not know) replaced by {new}.
func writeKey(j sim.JournalEntry, known map[string]bool) string {
	p := guidPattern.ReplaceAllStringFunc(j.Path, func(id string) string {
		if known[strings.ToLower(id)] {
			return strings.ToLower(id)
		}
		return "{new}"
	})
	return strings.ToUpper(j.Method) + " " + strings.ToLower(p)
}

// unexplainedWrites returns the applied writes of a tenant's journal that
// no write of the expected run (by method and path) and no allowed effect
// explains.
func (e *env) unexplainedWrites(t tierzero.TenantID, got, want []sim.JournalEntry, allowed []Effect) []string {
	known := map[string]bool{}
	ids(stateJSON(e.initials[t]), known)
	explained := map[string]bool{}
	for _, j := range want {
		if isWrite(j) {
			explained[writeKey(j, known)] = true
		}
	}
	var out []string
	for _, j := range got {
		if !isWrite(j) || explained[writeKey(j, known)] {
			continue
		}
		ok := false
		for _, a := range allowed {
			if e.tenantOr(a.Tenant) == t && e.in(t).matches(a, j) {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, fmt.Sprintf("unexplained write in %s: %s %s (status %d)", t, j.Method, j.Path, j.Status))
		}
	}
	return out
}
