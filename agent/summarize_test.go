package agent

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

// signIn is a sign-in row as user.signins writes it.
func signIn(minute, code int, reason, ca, ip string, policies ...string) map[string]any {
	row := map[string]any{
		"time": fmt.Sprintf("2026-12-05T09:%02d:00Z", minute), "app": "Office 365 Exchange Online", "clientApp": "Browser",
		"errorCode": code, "meaning": "meaning of " + fmt.Sprint(code), "failureReason": reason,
		"conditionalAccess": ca, "city": "Lisbon", "country": "PT", "ipAddress": ip,
	}
	if len(policies) > 0 {
		var ps []map[string]string
		for _, p := range policies {
			ps = append(ps, map[string]string{"displayName": p, "result": "failure"})
		}
		row["appliedConditionalAccessPolicies"] = ps
	}
	return row
}

// orderedJSON writes rows as JSON objects with their keys in the order
// user.signins writes them (time first), as a map would not.
func orderedJSON(t *testing.T, rows []map[string]any) string {
	t.Helper()
	order := []string{"time", "app", "clientApp", "errorCode", "meaning", "failureReason", "conditionalAccess", "appliedConditionalAccessPolicies", "city", "country", "ipAddress"}
	var parts []string
	for _, r := range rows {
		var kv []string
		for _, k := range order {
			if v, ok := r[k]; ok {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				kv = append(kv, fmt.Sprintf("%q:%s", k, b))
			}
		}
		parts = append(parts, "{"+strings.Join(kv, ",")+"}")
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestSummarizeSignIns(t *testing.T) {
	wrong := "Error validating credentials due to invalid username or password."
	var rows []map[string]any
	// Newest first: four blocks by Conditional Access, with the policy's
	// name; six wrong passwords; successes; and, oldest, one MFA failure
	// and one more block by a second policy, beyond the rows kept.
	for i := range 4 {
		rows = append(rows, signIn(59-i, 53003, "Access has been blocked by Conditional Access policies.", "failure", fmt.Sprintf("203.0.113.%d", i), "Block outside EU"))
	}
	for i := range 6 {
		rows = append(rows, signIn(50-i, 50126, wrong, "notApplied", "198.51.100.7"))
	}
	for i := range 12 {
		ok := signIn(40-i, 0, "", "success", fmt.Sprintf("198.51.100.%d", 20+i%2))
		ok["app"] = fmt.Sprintf("App %d", i) // each success differs
		rows = append(rows, ok)
	}
	rows = append(rows, signIn(20, 50074, "Strong Authentication is required.", "notApplied", "198.51.100.7"))
	rows = append(rows, signIn(19, 53003, "Access has been blocked by Conditional Access policies.", "failure", "203.0.113.9", "Require compliant device"))
	out := json.RawMessage(`{"user":"adele.vance@contoso.com","userExists":true,"signIns":` + orderedJSON(t, rows) + `}`)

	got := summarize(out)
	if !json.Valid(got) {
		t.Fatalf("summary is not JSON: %s", got)
	}
	if len(got) >= len(out)*2/3 {
		t.Errorf("summary of %d bytes from %d: want much shorter", len(got), len(out))
	}
	s := string(got)
	for _, want := range []string{
		`"errorCode":53003`, `"errorCode":50126`, `"errorCode":50074`, `"errorCode":0`,
		"Block outside EU", "Require compliant device", "Access has been blocked by Conditional Access policies.", wrong, "Strong Authentication is required.",
		`"user":"adele.vance@contoso.com","userExists":true,"signIns":[{"time":"2026-12-05T09:59:00Z","app":`, // order kept
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %s:\n%s", want, s)
		}
	}
	var v struct {
		SignIns []struct {
			Time        string   `json:"time"`
			ErrorCode   int      `json:"errorCode"`
			Count       int      `json:"count"`
			OldestTime  string   `json:"oldestTime"`
			IPAddress   string   `json:"ipAddress"`
			IPAddresses []string `json:"ipAddresses"`
		} `json:"signIns"`
		Omitted int `json:"signInsOmitted"`
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	first, second := v.SignIns[0], v.SignIns[1]
	if first.ErrorCode != 53003 || first.Count != 4 || first.Time != "2026-12-05T09:59:00Z" || first.OldestTime != "2026-12-05T09:56:00Z" ||
		strings.Join(first.IPAddresses, ",") != "203.0.113.0,203.0.113.1,203.0.113.2,203.0.113.3" || first.IPAddress != "" {
		t.Errorf("first row %+v: want the four blocks in one, with their addresses", first)
	}
	if second.ErrorCode != 50126 || second.Count != 6 || second.IPAddress != "198.51.100.7" || second.IPAddresses != nil {
		t.Errorf("second row %+v: want the six wrong passwords in one, from one address", second)
	}
	total := v.Omitted
	for _, r := range v.SignIns {
		total += max(r.Count, 1)
	}
	if total != len(rows) || v.Omitted == 0 {
		t.Errorf("%d rows shown or counted as omitted (%d omitted), want %d", total, v.Omitted, len(rows))
	}
	if n := len(v.SignIns); n != maxLogRows+2 {
		t.Errorf("%d rows kept, want %d and the two older ones with facts of their own", n, maxLogRows+2)
	}
}

// TestSummarizeLeaves: short output, lists that are not logs (groups,
// devices), and what is not JSON are sent as they are.
func TestSummarizeLeaves(t *testing.T) {
	short := json.RawMessage(`{"signIns":[{"time":"t1","errorCode":50126},{"time":"t2","errorCode":50126}]}`)
	if got := summarize(short); string(got) != string(short) {
		t.Errorf("short output changed: %s", got)
	}
	var groups []string
	for i := range 40 {
		groups = append(groups, fmt.Sprintf(`{"id":"g%d","displayName":"Project group number %d","kind":"security","membershipType":"assigned"}`, i, i))
	}
	listing := json.RawMessage(`{"groups":[` + strings.Join(groups, ",") + `]}`)
	if got := summarize(listing); string(got) != string(listing) {
		t.Errorf("a directory listing changed: %s", got)
	}
	notJSON := json.RawMessage(strings.Repeat("x", summarizeAbove+1))
	if got := summarize(notJSON); string(got) != string(notJSON) {
		t.Error("output that is not JSON changed")
	}
}

// TestToolContentSummarizes: what the model sees of a long sign-in log is
// the summary, quoted as data, with the policy's decision.
func TestToolContentSummarizes(t *testing.T) {
	var rows []map[string]any
	for i := range 10 {
		rows = append(rows, signIn(50-i, 50053, "Account is locked because user tried to sign in too many times with an incorrect user ID or password.", "notApplied", fmt.Sprintf("198.51.100.%d", i)))
	}
	out := json.RawMessage(`{"signIns":` + orderedJSON(t, rows) + `}`)
	content := toolContent("user_signins", tierzero.ToolResult{Output: out, Decision: &tierzero.Decision{Effect: tierzero.EffectAllow, Rule: "self-read-signins"}})
	name, data, ok := UnwrapToolResult(content)
	if !ok || name != "user_signins" || !strings.Contains(string(data), `"count":10`) || !strings.Contains(string(data), `"errorCode":50053`) ||
		!strings.Contains(string(data), `"rule":"self-read-signins"`) || len(content) > len(out) {
		t.Errorf("content (%d bytes from %d) = %s", len(content), len(out), content)
	}
}
