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

// serve.workers and serve.max_open_files: read, and bounded.
func TestConfigServeSizes(t *testing.T) {
	const tenants = "tenants:\n  contoso:\n    auth: {method: simulator}\n"
	for _, tt := range []struct {
		value            string
		workers, maxOpen int
		problem          string
	}{
		{"", 0, 0, ""},
		{"serve: {workers: 512, max_open_files: 4096}\n", 512, 4096, ""},
		{"serve: {workers: -1}\n", 0, 0, "serve.workers -1 must be from 1 to 16384"},
		{"serve: {workers: 100000}\n", 0, 0, "serve.workers 100000"},
		{"serve: {max_open_files: -5}\n", 0, 0, "serve.max_open_files -5 must be positive"},
	} {
		c, ps := parseConfig([]byte(tt.value + tenants))
		if got := fmt.Sprint(ps); tt.problem == "" && len(ps) != 0 || tt.problem != "" && !strings.Contains(got, tt.problem) {
			t.Errorf("%q: problems %v, want %q", tt.value, ps, tt.problem)
			continue
		}
		if tt.problem != "" || c.Serve == nil {
			continue
		}
		if c.Serve.Workers != tt.workers || c.Serve.MaxOpenFiles != tt.maxOpen {
			t.Errorf("%q: workers %d, max_open_files %d; want %d, %d", tt.value, c.Serve.Workers, c.Serve.MaxOpenFiles, tt.workers, tt.maxOpen)
		}
	}
}
