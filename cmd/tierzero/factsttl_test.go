package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// graph_facts_ttl: a duration from 0s (facts read every time) to 5m;
// absent, graph's default.
func TestConfigFactsTTL(t *testing.T) {
	const tenants = "tenants:\n  contoso:\n    auth: {method: simulator}\n"
	for _, tt := range []struct {
		value   string
		want    time.Duration
		problem string
	}{
		{"", 0, ""},
		{"graph_facts_ttl: 10s\n", 10 * time.Second, ""},
		{"graph_facts_ttl: 0s\n", -1, ""},
		{"graph_facts_ttl: 1h\n", 0, "graph_facts_ttl 1h0m0s must be from 0s"},
		{"graph_facts_ttl: soon\n", 0, "graph_facts_ttl"},
	} {
		c, ps := parseConfig([]byte(tt.value + tenants))
		if got := fmt.Sprint(ps); tt.problem == "" && len(ps) != 0 || tt.problem != "" && !strings.Contains(got, tt.problem) {
			t.Errorf("%q: problems %v, want %q", tt.value, ps, tt.problem)
			continue
		}
		if tt.problem == "" && c.factsTTL() != tt.want {
			t.Errorf("%q: facts TTL %v, want %v", tt.value, c.factsTTL(), tt.want)
		}
	}
}
