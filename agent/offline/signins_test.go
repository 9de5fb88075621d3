package offline

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReadSummarizedSignIns: the agent folds alike sign-in rows into one
// with a count and counts rows past its cap (agent/summarize.go); the
// model's figures are those of the sign-ins, not of the rows it was sent.
func TestReadSummarizedSignIns(t *testing.T) {
	out := json.RawMessage(`{"signIns":[
		{"time":"2026-12-05T10:00:00Z","errorCode":50126,"meaning":"Invalid username or password","count":7,"oldestTime":"2026-12-05T09:00:00Z"},
		{"time":"2026-12-05T08:00:00Z","errorCode":0},
		{"time":"2026-12-05T07:00:00Z","errorCode":0}
	],"signInsOmitted":2}`)
	got := readSignIns(&result{ok: true, output: out})
	if got.total != 11 {
		t.Errorf("total = %d, want 11 (7 + 1 + 1 rows, 2 omitted)", got.total)
	}
	if n := got.failures["Invalid username or password"]; n != 7 {
		t.Errorf("failures = %v, want 7 wrong passwords", got.failures)
	}
	plain := readSignIns(&result{ok: true, output: json.RawMessage(`{"signIns":[{"time":"t","errorCode":50126,"meaning":"Invalid username or password"},{"time":"t","errorCode":0}]}`)})
	if plain.total != 2 || plain.failures["Invalid username or password"] != 1 {
		t.Errorf("unsummarized: total %d, failures %v, want 2 and 1", plain.total, plain.failures)
	}
}

// TestReadSignInsLongPolicyName: a policy whose name is longer than what is
// kept is listed once, however many sign-ins it blocked.
func TestReadSignInsLongPolicyName(t *testing.T) {
	long := strings.Repeat("Block sign-ins from outside the EU ", 4)
	row := `{"time":"t","errorCode":53003,"appliedConditionalAccessPolicies":[{"displayName":"` + long + `","result":"failure"}]}`
	got := readSignIns(&result{ok: true, output: json.RawMessage(`{"signIns":[` + row + `,` + row + `]}`)})
	if len(got.caPolicies) != 1 {
		t.Errorf("caPolicies = %q, want the long name once", got.caPolicies)
	}
}
