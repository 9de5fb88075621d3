package main

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// baselineConfig is the tenant baselines' part of the configuration
// (docs/baseline.md): where the MSP's baseline files are, and how drift is
// watched by `tierzero serve`.
type baselineConfig struct {
	// Dir is a directory of baseline YAML files layered on the built-in
	// MSP default (global files, then each tenant's).
	Dir string `yaml:"dir"`
	// DriftInterval is how often serve compares every client tenant with
	// its baseline (default 24h; 0 turns the schedule off).
	DriftInterval *time.Duration `yaml:"drift_interval"`
	// Notify sends the MSP's technicians a chat notice of new drift
	// (default true).
	Notify *bool `yaml:"notify"`
	// Ticket opens a ticket through the tenant's ticketing system on new
	// drift (default true when the tenant has one).
	Ticket *bool `yaml:"ticket"`
}

// defaultDriftInterval is baseline.drift_interval when left out.
const defaultDriftInterval = 24 * time.Hour

// baselineDir is baseline.dir, "" when unset.
func (c *config) baselineDir() string {
	if c == nil || c.Baseline == nil {
		return ""
	}
	return c.Baseline.Dir
}

// driftInterval is baseline.drift_interval with its default; 0 is off.
func (c *config) driftInterval() time.Duration {
	if c == nil || c.Baseline == nil || c.Baseline.DriftInterval == nil {
		return defaultDriftInterval
	}
	return *c.Baseline.DriftInterval
}

// driftNotify is baseline.notify with its default.
func (c *config) driftNotify() bool {
	return c == nil || c.Baseline == nil || c.Baseline.Notify == nil || *c.Baseline.Notify
}

// driftTicket is baseline.ticket with its default (true: a tenant without
// a ticketing system gets no ticket either way).
func (c *config) driftTicket() bool {
	return c == nil || c.Baseline == nil || c.Baseline.Ticket == nil || *c.Baseline.Ticket
}

func (c *config) validateBaseline(doc *yaml.Node) []problem {
	bc := c.Baseline
	if bc == nil {
		return nil
	}
	var ps []problem
	if d := bc.DriftInterval; d != nil && (*d < 0 || *d > 0 && *d < time.Minute) {
		ps = append(ps, problem{lineOf(doc, "baseline", "drift_interval"), "baseline.drift_interval must be 0 (off) or at least 1m"})
	}
	return ps
}
