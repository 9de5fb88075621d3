// Command shardsim runs the simulation of package cluster (a 20,000-tenant
// MSP sharded over tierzero replicas with etcd leases) and prints its
// figures, the ones docs/capacity.md quotes:
//
//	go run ./cluster/cmd/shardsim
//	go run ./cluster/cmd/shardsim -replicas 8 -tenants 50000 -scenario partition
//	go run ./cluster/cmd/shardsim -scenario table   # every scenario: the table of the doc
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/tierzero/tierzero/cluster"
)

func main() {
	cfg := cluster.DefaultConfig()
	scenario := flag.String("scenario", "kill-join", "kill-join | partition | pause | leave | table (every scenario, one markdown table)")
	flag.IntVar(&cfg.Tenants, "tenants", cfg.Tenants, "client tenants")
	flag.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "replicas at start")
	flag.Float64Var(&cfg.PerSeatHour, "per-seat-hour", cfg.PerSeatHour, "requests per seat in the busiest hour")
	flag.DurationVar(&cfg.TTL, "ttl", cfg.TTL, "lease TTL")
	flag.DurationVar(&cfg.KeepAlive, "keepalive", cfg.KeepAlive, "keep-alive interval")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	flag.Parse()
	if *scenario == "table" {
		bad := table(cfg)
		if bad {
			os.Exit(1)
		}
		return
	}
	faults, ok := scenarios[*scenario]
	if !ok {
		fmt.Fprintln(os.Stderr, "shardsim: unknown -scenario", *scenario)
		os.Exit(2)
	}
	cfg.Faults = faults
	t0 := time.Now()
	r := cluster.Run(cfg)
	print(r, time.Since(t0))
	if broken(r) {
		os.Exit(1)
	}
}

var scenarios = map[string][]cluster.Fault{
	"kill-join": {{At: 60 * time.Second, Kind: cluster.Kill, Replica: 1}, {At: 120 * time.Second, Kind: cluster.Join}},
	"partition": {{At: 60 * time.Second, Kind: cluster.Partition, Replica: 1}, {At: 120 * time.Second, Kind: cluster.Heal, Replica: 1}},
	"pause":     {{At: 60 * time.Second, Kind: cluster.Pause, Replica: 1, For: 20 * time.Second}},
	"leave":     {{At: 60 * time.Second, Kind: cluster.Leave, Replica: 1}, {At: 120 * time.Second, Kind: cluster.Join}},
}

func broken(r cluster.Result) bool {
	return r.DoubleOwner+r.StaleAccepted+r.ProcessedTwice > 0 || r.Unowned > 0
}

// table runs every scenario and prints one column per fault, the table of
// docs/capacity.md. A heal (which hands the tenants back) and the leave
// scenario's join (the same as kill-join's) are left out.
func table(cfg cluster.Config) (bad bool) {
	type col struct {
		p      cluster.Phase
		fenced int // the run's
	}
	var cols []col
	for _, name := range []string{"kill-join", "partition", "pause", "leave"} {
		c := cfg
		c.Faults = scenarios[name]
		r := cluster.Run(c)
		bad = bad || broken(r)
		for _, p := range r.Phases {
			if p.Fault.Kind == cluster.Heal || (name == "leave" && p.Fault.Kind == cluster.Join) {
				continue
			}
			cols = append(cols, col{p, r.FencedWrites})
		}
	}
	row := func(name string, f func(col) string) {
		fmt.Printf("| %s |", name)
		for _, c := range cols {
			fmt.Printf(" %s |", f(c))
		}
		fmt.Println()
	}
	row("", func(c col) string {
		if c.p.Fault.Kind == cluster.Pause {
			return fmt.Sprintf("%s of %s (%s) at %s", c.p.Fault.Kind, c.p.Who, c.p.Fault.For, c.p.Fault.At)
		}
		return fmt.Sprintf("%s of %s at %s", c.p.Fault.Kind, c.p.Who, c.p.Fault.At)
	})
	row("---", func(col) string { return "---" })
	d := func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
	row("tenants moved", func(c col) string { return fmt.Sprint(c.p.TenantsMoved) })
	row("all owned again after", func(c col) string { return fmt.Sprintf("%s (p50 %s)", d(c.p.Recover), d(c.p.RecoverP50)) })
	row("longest a tenant had no owner", func(c col) string { return d(c.p.GapMax) })
	row("requests delayed, then answered", func(c col) string { return fmt.Sprint(c.p.Delayed) })
	row("attempts refused (503 or dead replica), retried by Slack", func(c col) string { return fmt.Sprint(c.p.Refused) })
	row("requests interrupted (requester told, not rerun)", func(c col) string { return fmt.Sprint(c.p.Interrupted) })
	row("stale writes refused by the fence (in the run)", func(c col) string { return fmt.Sprint(c.fenced) })
	if bad {
		fmt.Println("an invariant failed: run the scenarios one by one")
	}
	return bad
}

func print(r cluster.Result, took time.Duration) {
	c := r.Config
	fmt.Printf("MSP: %d tenants, %d seats (median %d per tenant, largest %d), %.1f requests/s offered in the busiest hour\n",
		c.Tenants, r.Seats, r.SeatsP50, r.SeatsMax, r.RequestsPerSec)
	fmt.Printf("cluster: %d replicas at start; lease TTL %s, keep-alive every %s, margin %s; model %d x %s-%s per request\n",
		c.Replicas, c.TTL, c.KeepAlive, c.Margin, c.ModelCalls, c.ModelMin, c.ModelMax)
	fmt.Printf("requests: %d arrived, %d done, %d interrupted (told, not rerun), %d failed, %d pending at the end; %d forwarded to the owner; %d attempts refused and retried by the platform\n",
		r.Requests, r.Done, r.Interrupted, r.Failed, r.Pending, r.Forwarded, r.Refused)
	fmt.Printf("latency (arrival to answer): p50 %s, p99 %s; peak in flight %d\n",
		r.LatencyP50.Round(time.Millisecond), r.LatencyP99.Round(time.Millisecond), r.PeakInFlight)
	for _, p := range r.Phases {
		f := p.Fault
		fmt.Printf("%s of %s at %s: %d tenants moved; owned again after p50 %s, max %s (longest without an owner %s); requests: %d delayed, %d attempts refused, %d interrupted\n",
			f.Kind, p.Who, f.At, p.TenantsMoved, p.RecoverP50.Round(time.Millisecond), p.Recover.Round(time.Millisecond),
			p.GapMax.Round(time.Millisecond), p.Delayed, p.Refused, p.Interrupted)
	}
	ids := slices.Sorted(maps.Keys(r.TenantsPerMember))
	for _, id := range ids {
		fmt.Printf("  %s: %d tenants, %d seats, %d requests served\n", id, r.TenantsPerMember[id], r.SeatsPerMember[id], r.ServedPerMember[id])
	}
	tm, tmean := cluster.Balance(r.TenantsPerMember)
	sm, smean := cluster.Balance(r.SeatsPerMember)
	// Requests: over the replicas that ran from start to end.
	whole := map[string]int{}
	for _, id := range ids {
		var i int
		if _, err := fmt.Sscanf(id, "r%d", &i); err == nil && i < c.Replicas {
			whole[id] = r.ServedPerMember[id]
		}
	}
	qm, qmean := cluster.Balance(whole)
	fmt.Printf("balance (max/mean) at the end: tenants %.3f, seats %.3f; requests served by the replicas that ran throughout %.3f\n",
		float64(tm)/tmean, float64(sm)/smean, float64(qm)/qmean)
	fmt.Printf("invariants: double ownership %d, stale writes accepted %d, processed twice %d, tenants unowned at the end %d; stale writes fenced %d\n",
		r.DoubleOwner, r.StaleAccepted, r.ProcessedTwice, r.Unowned, r.FencedWrites)
	fmt.Printf("coordination service: %d operations (%.0f/s); simulated %s in %s\n",
		r.CoordOps, float64(r.CoordOps)/c.Duration.Seconds(), c.Duration, took.Round(time.Millisecond))
}
