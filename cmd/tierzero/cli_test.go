package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero/agent/agenttest"
	"github.com/tierzero/tierzero/graph"
)

func TestHelpOnEveryCommand(t *testing.T) {
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: noEnv}
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub, append(slices.Clone(path), sub.Name()))
			}
		}
	}
	walk(a.rootCommand(), nil)
	if len(paths) < 15 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		r := run(t, noEnv, "", append(p, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v --help: exit %d, output %q", p, r.code, r.stdout)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	data := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"chat", "--frob"}, 2, "unknown flag"},
		{"chat without identity", []string{"chat", "--tenant", "contoso", "--data", data}, 2, "chat needs --as"},
		{"chat without tenant", []string{"chat", "--as", "adele.vance@contoso.com", "--data", data}, 2, "chat needs --tenant (only an MSP technician may leave it out)"},
		{"chat as a non-UPN", []string{"chat", "--tenant", "contoso", "--as", "adele", "--data", data}, 2, "user principal name"},
		{"chat with a path as tenant", []string{"chat", "--tenant", "../etc", "--as", "a@b.com", "--data", data}, 2, "invalid tenant id"},
		{"chat as nobody", []string{"chat", "--tenant", "contoso", "--as", "nobody@contoso.com", "--data", data}, 1, "no user nobody@contoso.com in tenant contoso"},
		{"chat in an unknown tenant", []string{"chat", "--tenant", "initech", "--as", "bob@initech.com", "--data", data}, 1, "tenant initech is not configured here (the tenants are contoso, fabrikam, msp)"},
		{"chat with an insecure graph url", []string{"chat", "--tenant", "contoso", "--as", "a@contoso.com", "--graph-url", "http://graph.example.com/v1.0", "--data", data}, 1, "must be https"},
		{"demo in an unknown tenant", []string{"demo", "--tenant", "initech", "--data", data}, 2, "the demo tenants are contoso, fabrikam"},
		{"audit of a tenant with no data", []string{"audit", "export", "--tenant", "initech", "--data", data}, 1, "no data for tenant initech"},
		{"audit with a bad time", []string{"audit", "export", "--tenant", "contoso", "--since", "yesterday", "--data", data}, 2, "RFC 3339"},
		{"graphsim off loopback", []string{"graphsim", "--addr", "0.0.0.0:0"}, 2, "loopback only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, noEnv, "hello\n", tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestChatBadModelEndpoint(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"TIERZERO_LLM_BASE_URL": "http://127.0.0.1:1/v1", "TIERZERO_LLM_API_KEY": "sk-secret-key"}[k]
	}
	r := run(t, env, "I forgot my password\n", "chat", "--tenant", "contoso", "--as", "adele.vance@contoso.com", "--data", t.TempDir())
	if r.code != 0 || !strings.Contains(r.stdout, "Nothing was changed") {
		t.Fatalf("exit %d, stdout %q: want a plain message when the model is unreachable", r.code, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "sk-secret-key") {
		t.Fatal("the API key was printed")
	}
}

func TestToolsCommand(t *testing.T) {
	r := run(t, noEnv, "", "tools", "--json")
	if r.code != 0 {
		t.Fatalf("tools --json exited %d: %s", r.code, r.stderr)
	}
	var rows []struct {
		Action, ModelName, Kind, Risk, Description string
		Schema                                     map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("tools --json: %v", err)
	}
	if len(rows) < 3 {
		t.Fatalf("only %d tools", len(rows))
	}
	validName := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`) // what OpenAI accepts as a function name
	seen := map[string]bool{}
	for _, row := range rows {
		if !strings.Contains(row.Action, ".") || !validName.MatchString(row.ModelName) || seen[row.ModelName] {
			t.Errorf("tool %q: model name %q invalid or repeated", row.Action, row.ModelName)
		}
		seen[row.ModelName] = true
		if row.Kind != "read" && row.Kind != "write" || row.Risk == "" || row.Description == "" {
			t.Errorf("tool %q: kind %q, risk %q, description %q", row.Action, row.Kind, row.Risk, row.Description)
		}
		if row.Schema["type"] != "object" || row.Schema["additionalProperties"] != false {
			t.Errorf("tool %q: schema %v must be a closed object", row.Action, row.Schema)
		}
		// A read is risk read, except one that hands out a secret (a
		// BitLocker recovery key, a LAPS password), which is high.
		if row.Kind == "read" && row.Risk != "read" && row.Risk != "high" || row.Kind == "write" && row.Risk == "read" {
			t.Errorf("tool %q: kind %s with risk %s", row.Action, row.Kind, row.Risk)
		}
	}
	r = run(t, noEnv, "", "tools")
	if r.code != 0 || !strings.Contains(r.stdout, "user.reset_password") {
		t.Fatalf("tools: exit %d, %q", r.code, r.stdout)
	}
}

func TestGraphTokenIsBoundToItsTenant(t *testing.T) {
	base := startGraphsim(t)
	tests := []struct {
		name     string
		vars     map[string]string
		wantCode int
		wantErr  string
	}{
		{"token without tenant", map[string]string{"TIERZERO_GRAPH_TOKEN": "tierzero-sim.contoso"}, 2, "needs TIERZERO_GRAPH_TENANT"},
		{"token of another tenant", map[string]string{"TIERZERO_GRAPH_TOKEN": "tierzero-sim.contoso", "TIERZERO_GRAPH_TENANT": "fabrikam"}, 1, "no Graph credentials for tenant contoso"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, func(k string) string { return tt.vars[k] }, "hi\n", "chat", "--tenant", "contoso", "--as", "adele.vance@contoso.com", "--graph-url", base+"/v1.0", "--data", t.TempDir())
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
	r := run(t, func(k string) string {
		return map[string]string{"TIERZERO_GRAPH_TOKEN": "tierzero-sim.contoso", "TIERZERO_GRAPH_TENANT": "contoso"}[k]
	}, "hi\n", "chat", "--tenant", "contoso", "--as", "adele.vance@contoso.com", "--graph-url", base+"/v1.0", "--data", t.TempDir())
	if r.code != 0 {
		t.Fatalf("the right tenant's token was refused: %d %s", r.code, r.stderr)
	}
}

// TestRecordedCatalogIsCurrent keeps agent/agenttest's copy of the tool
// catalog (the agent's tests cannot import graph) equal to graph's.
func TestRecordedCatalogIsCurrent(t *testing.T) {
	got, _ := json.Marshal(agenttest.Catalog())
	want, _ := json.Marshal(graph.Catalog())
	if string(got) == string(want) {
		return
	}
	if !*updateCatalog {
		t.Fatal("agent/agenttest/catalog.json is stale: go test ./cmd/tierzero -run TestRecordedCatalogIsCurrent -update-catalog")
	}
	b, _ := json.MarshalIndent(graph.Catalog(), "", "  ")
	if err := os.WriteFile("../../agent/agenttest/catalog.json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

var updateCatalog = flag.Bool("update-catalog", false, "rewrite agent/agenttest/catalog.json from graph.Catalog()")
