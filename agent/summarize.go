package agent

// This file: long tool output, shortened for the model. A result stays in
// the conversation and is sent again with every later model call, and the
// long ones are logs (sign-ins: ten rows that mostly say the same thing).
// Rows of a log that are alike but for their time and IP address become
// one row with a count; a log longer than maxLogRows keeps its newest rows
// and every older row that says something they do not (an error code, a
// failure reason, a Conditional Access policy). Directory listings (groups,
// devices, licenses) are answers the model needs whole and are left as
// they are. The output stays valid JSON, with its keys in their order; the
// audit keeps the full output.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

const (
	// summarizeAbove is the size of output, in bytes, sent as it is.
	summarizeAbove = 1200
	// maxLogRows is how many rows of a log are kept besides those that
	// hold something the kept ones do not.
	maxLogRows = 10
	// maxMergedIPs bounds the distinct IP addresses listed in a merged row.
	maxMergedIPs = 5
)

// timeKeys name when a row of a log happened: a list whose rows all have
// one is a log.
var timeKeys = []string{"time", "createdDateTime", "dateTime"}

// ipKey is the IP address of a log row; rows differing only in it (and in
// their time) are merged, their addresses listed under ipAddresses.
const ipKey = "ipAddress"

// essentialKey reports whether the values under key must survive a
// summary: error codes, failure reasons, policies (Conditional Access),
// statuses, results and risk.
func essentialKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"error", "fail", "reason", "polic", "conditional", "code", "risk", "status", "result", "state"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// summarize returns out shortened for the model when it is longer than
// summarizeAbove, or out itself when it is short, not JSON, or no shorter
// summarized.
func summarize(out json.RawMessage) json.RawMessage {
	if len(out) <= summarizeAbove {
		return out
	}
	s, err := summarizeValue(bytes.TrimSpace(out))
	if err != nil || len(s) >= len(out) || !json.Valid(s) {
		return out
	}
	return s
}

// member is one key and value of a JSON object, in the object's order.
type member struct {
	key string
	val json.RawMessage
}

// objectMembers decodes a JSON object into its members, in order.
func objectMembers(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var ms []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v", t)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{key, v})
	}
	return ms, nil
}

// encodeMembers writes members as a JSON object, in order.
func encodeMembers(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func lookup(ms []member, key string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// summarizeValue summarizes the logs in raw, at any depth of objects. A
// log's omitted rows are counted in its object, under the log's key
// followed by "Omitted".
func summarizeValue(raw json.RawMessage) (json.RawMessage, error) {
	switch {
	case len(raw) > 0 && raw[0] == '{':
		ms, err := objectMembers(raw)
		if err != nil {
			return nil, err
		}
		var out []member
		for _, m := range ms {
			v := bytes.TrimSpace(m.val)
			switch {
			case len(v) > 0 && v[0] == '[':
				rows, omitted, err := summarizeList(v, true)
				if err != nil {
					return nil, err
				}
				out = append(out, member{m.key, rows})
				if omitted > 0 {
					out = append(out, member{m.key + "Omitted", json.RawMessage(fmt.Sprint(omitted))})
				}
			case len(v) > 0 && v[0] == '{':
				s, err := summarizeValue(v)
				if err != nil {
					return nil, err
				}
				out = append(out, member{m.key, s})
			default:
				out = append(out, member{m.key, v})
			}
		}
		return encodeMembers(out), nil
	case len(raw) > 0 && raw[0] == '[':
		rows, _, err := summarizeList(raw, false) // no object to count omissions in
		return rows, err
	}
	return raw, nil
}

// logRow is a row of a log: its members and what it says.
type logRow struct {
	ms        []member
	sig       string   // what it says but for its time and IP address
	essential []string // its essential facts, as key=value
	n         int      // how many rows of the log it stands for
}

// summarizeList merges the rows of a log and, when capped is set, caps
// them, returning how many were left out; any other list is returned as it
// is.
func summarizeList(raw json.RawMessage, capped bool) (json.RawMessage, int, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, 0, err
	}
	rows := make([]logRow, 0, len(items))
	for _, it := range items {
		ms, err := objectMembers(bytes.TrimSpace(it))
		if err != nil || !slices.ContainsFunc(timeKeys, func(k string) bool { _, ok := lookup(ms, k); return ok }) {
			return raw, 0, nil // not a log
		}
		rows = append(rows, newLogRow(ms))
	}
	if len(rows) < 2 {
		return raw, 0, nil
	}
	// Consecutive rows alike but for time and IP address: the newest, with
	// a count, the oldest time and the addresses. A row with a count of
	// its own is not merged.
	var merged []logRow
	for i := 0; i < len(rows); {
		j := i + 1
		if _, own := lookup(rows[i].ms, "count"); !own {
			for j < len(rows) && rows[j].sig == rows[i].sig {
				j++
			}
		}
		merged = append(merged, mergeRows(rows[i:j]))
		i = j
	}
	// The newest rows, and each older one that says something they do not.
	var kept []logRow
	seen := map[string]bool{}
	omitted := 0
	for i, r := range merged {
		news := slices.ContainsFunc(r.essential, func(f string) bool { return !seen[f] })
		if capped && i >= maxLogRows && !news {
			omitted += r.n
			continue
		}
		for _, f := range r.essential {
			seen[f] = true
		}
		kept = append(kept, r)
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, r := range kept {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(encodeMembers(r.ms))
	}
	b.WriteByte(']')
	return b.Bytes(), omitted, nil
}

func newLogRow(ms []member) logRow {
	r := logRow{ms: ms, n: 1}
	var sig []member
	for _, m := range ms {
		if m.key == ipKey || slices.Contains(timeKeys, m.key) {
			continue
		}
		sig = append(sig, m)
		if essentialKey(m.key) {
			r.essential = append(r.essential, essentialFacts(m.key, m.val)...)
		}
	}
	r.sig = string(encodeMembers(sig))
	return r
}

// essentialFacts lists every value under key (in nested objects and lists
// too) as path=value.
func essentialFacts(key string, raw json.RawMessage) []string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return []string{key + "=" + string(raw)}
	}
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path, e)
			}
		default:
			out = append(out, fmt.Sprintf("%s=%v", path, x))
		}
	}
	walk(key, v)
	return out
}

// mergeRows is the newest of rows alike, with "count" and "oldestTime"
// when there are several, and their distinct IP addresses when they
// differ (at most maxMergedIPs, and how many more).
func mergeRows(rows []logRow) logRow {
	first := rows[0]
	if len(rows) == 1 {
		return first
	}
	var ips []string
	for _, r := range rows {
		if v, ok := lookup(r.ms, ipKey); ok {
			var ip string
			if json.Unmarshal(v, &ip) == nil && ip != "" && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	var ms []member
	for _, m := range first.ms {
		if m.key == ipKey && len(ips) > 1 {
			b, _ := json.Marshal(ips[:min(len(ips), maxMergedIPs)])
			ms = append(ms, member{"ipAddresses", b})
			if more := len(ips) - maxMergedIPs; more > 0 {
				ms = append(ms, member{"ipAddressesOmitted", json.RawMessage(fmt.Sprint(more))})
			}
			continue
		}
		ms = append(ms, m)
	}
	ms = append(ms, member{"count", json.RawMessage(fmt.Sprint(len(rows)))})
	last := rows[len(rows)-1]
	for _, k := range timeKeys {
		if v, ok := lookup(last.ms, k); ok {
			ms = append(ms, member{"oldestTime", v})
			break
		}
	}
	return logRow{ms: ms, sig: first.sig, essential: first.essential, n: len(rows)}
}
