package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// batchResponses decodes a batch's answer into its responses by id.
func batchResponses(t *testing.T, r response) map[string]map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("batch answered %d: %s", r.status, r.raw)
	}
	var out struct {
		Responses []map[string]any `json:"responses"`
	}
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatal(err)
	}
	m := map[string]map[string]any{}
	for _, x := range out.Responses {
		id, _ := x["id"].(string)
		if _, dup := m[id]; dup || id == "" {
			t.Fatalf("response id %q missing or repeated: %s", id, r.raw)
		}
		m[id] = x
	}
	return m
}

func status(x map[string]any) int { f, _ := x["status"].(float64); return int(f) }

func header(x map[string]any, name string) string {
	h, _ := x["headers"].(map[string]any)
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// The shapes of "Combine multiple HTTP requests using JSON batching": each
// request answered by id with its own status, headers and body, as alone.
func TestBatch(t *testing.T) {
	srv, sim := newTest(t)
	adele := "adele.vance@contoso.com"
	body := `{"requests":[
		{"id":"1","method":"GET","url":"/users/` + adele + `?$select=id,department"},
		{"id":"2","method":"GET","url":"users/` + adele + `/manager"},
		{"id":"3","method":"GET","url":"/users/nobody@contoso.com"},
		{"id":"4","method":"PATCH","url":"/users/` + adele + `","body":{"jobTitle":"Buyer"},"headers":{"Content-Type":"application/json"}},
		{"id":"5","method":"GET","url":"/users/nobody@contoso.com/manager","dependsOn":["3"]}
	]}`
	got := batchResponses(t, do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body, gzip: true}))
	if len(got) != 5 {
		t.Fatalf("%d responses, want 5", len(got))
	}
	for id, want := range map[string]int{"1": 200, "2": 200, "3": 404, "4": 204, "5": 424} {
		if status(got[id]) != want {
			t.Errorf("response %s: status %d, want %d: %v", id, status(got[id]), want, got[id])
		}
	}
	if b, _ := got["1"]["body"].(map[string]any); b["id"] == "" || b["department"] == nil || header(got["1"], "Content-Type") != "application/json" {
		t.Errorf("user: %v", got["1"])
	}
	if b, _ := got["3"]["body"].(map[string]any); b["error"].(map[string]any)["code"] != "Request_ResourceNotFound" {
		t.Errorf("not found: %v", got["3"])
	}
	if st, _ := sim.State("contoso"); !strings.Contains(fmt.Sprint(st.Users), "Buyer") {
		t.Error("the PATCH of the batch was not applied")
	}
	// The requests of the batch are in the request log, with the batch;
	// the write is journaled; the dependent request never ran.
	var ids []string
	for _, e := range sim.Requests("contoso") {
		if e.Batch != 1 {
			t.Errorf("request %+v: batch %d, want 1", e, e.Batch)
		}
		ids = append(ids, e.BatchID)
	}
	if strings.Join(ids, ",") != "1,2,3,4" {
		t.Errorf("logged %v, want 1,2,3,4", ids)
	}
	if j := sim.Journal("contoso"); len(j) != 1 || j[0].Method != http.MethodPatch || j[0].Status != 204 {
		t.Errorf("journal %+v", j)
	}
}

// Faults, licences and roles apply to each request of a batch as alone: a
// throttled one answers 429 with Retry-After in its own headers, riskyUsers
// without Entra ID P2 answers the licensing 403; the others are served.
func TestBatchFaultsAndGates(t *testing.T) {
	srv, sim := newTest(t)
	if err := sim.AddFault("contoso", Fault{Path: "/v1.0/users/*/manager", Kind: FaultThrottle, RetryAfter: 7, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if !sim.DropSubscription("contoso", "AAD_PREMIUM_P2") {
		t.Fatal("no P2 to drop")
	}
	st, _ := sim.State("contoso")
	id := st.Users[0].ID
	body := `{"requests":[
		{"id":"a","method":"GET","url":"/users/` + id + `/manager"},
		{"id":"b","method":"GET","url":"/identityProtection/riskyUsers/` + id + `"},
		{"id":"c","method":"GET","url":"/users/` + id + `/memberOf/graph.group?$select=id,displayName"}
	]}`
	got := batchResponses(t, do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body}))
	if status(got["a"]) != 429 || header(got["a"], "Retry-After") != "7" {
		t.Errorf("throttled: %v", got["a"])
	}
	if status(got["b"]) != 403 {
		t.Errorf("riskyUsers without P2: %v", got["b"])
	}
	if status(got["c"]) != 200 {
		t.Errorf("groups: %v", got["c"])
	}
	// A fault on any path meets the requests, not the batch; one naming
	// $batch refuses it whole.
	if err := sim.AddFault("contoso", Fault{Path: "/v1.0/$batch", Kind: FaultUnavailable, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body}); r.status != 503 {
		t.Errorf("batch under a fault naming it: %d %s", r.status, r.raw)
	}
}

// A batch Graph cannot read is refused whole.
func TestBatchRefused(t *testing.T) {
	srv, _ := newTest(t)
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users"}`, i))
	}
	for name, body := range map[string]string{
		"not json":        `{"requests":`,
		"no requests":     `{"requests":[]}`,
		"more than 20":    `{"requests":[` + strings.Join(many, ",") + `]}`,
		"repeated id":     `{"requests":[{"id":"1","method":"GET","url":"/users"},{"id":"1","method":"GET","url":"/users"}]}`,
		"no url":          `{"requests":[{"id":"1","method":"GET"}]}`,
		"later dependsOn": `{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["2"]},{"id":"2","method":"GET","url":"/users"}]}`,
	} {
		if r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body}); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if r := do(t, srv, request{path: "/v1.0/$batch", tenant: "contoso"}); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("GET $batch: %d %v", r.status, r.header)
	}
	if r := do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", body: `{"requests":[{"id":"1","method":"GET","url":"/users"}]}`}); r.status != 401 {
		t.Errorf("unauthenticated batch: %d", r.status)
	}
	body := `{"requests":[{"id":"1","method":"GET","url":"https://graph.microsoft.com/v1.0/users"},{"id":"2","method":"POST","url":"/$batch","body":{},"headers":{"Content-Type":"application/json"}}]}`
	got := batchResponses(t, do(t, srv, request{method: http.MethodPost, path: "/v1.0/$batch", tenant: "contoso", body: body}))
	if status(got["1"]) != 400 || status(got["2"]) != 400 {
		t.Errorf("absolute url, nested batch: %v", got)
	}
}
