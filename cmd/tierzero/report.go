package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/web"
)

// reportCommand is `tierzero report`: the economics report of the data
// directory's audit trails (the console's /console/report, on the command
// line). While serve runs it is run by the server (admin.go).
func (a *app) reportCommand() *cobra.Command {
	var tenant, since, data, configFile, htmlFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report [--tenant T] [--since D] [--html FILE|--json]",
		Short: "The economics report: what tierzero resolved, by tier and category, and what it saves",
		Long: `report reads the tenants' audit trails and prints the economics report: requests,
resolved end to end (share and count), refused, pending, escalated; by tier (L1, L2, L3)
and by category; the median time to resolution; tickets avoided and technician minutes
saved; seats per tenant (from Microsoft Graph, when the tenants can be reached); and the
MSP model: seats one technician covers and the margin per seat, today and with tierzero.
Pricing comes from the configuration's report.* keys. docs/report.md has every formula.

--since takes a duration back from now (720h, 30d), a date (2026-11-01, UTC) or an RFC
3339 time; the default is 30 days. --json prints the report as JSON; --html FILE writes
a standalone HTML page with its charts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON && htmlFile != "" {
				return usageError{errors.New("report takes --json or --html, not both")}
			}
			now := time.Now()
			from, err := web.ParseSince(since, now)
			if err != nil {
				return usageError{err}
			}
			var only tierzero.TenantID
			if tenant != "" {
				only = tierzero.TenantID(tenant)
				if err := tierzero.ValidTenantID(only); err != nil {
					return usageError{err}
				}
			}
			c, err := a.optionalConfig(configFile)
			if err != nil {
				return err
			}
			dir := a.dataDir(data)
			src, tenants, seats, closeAll, err := a.reportSources(cmd, dir, c, only)
			if err != nil {
				return err
			}
			defer closeAll()
			rep, err := web.Compute(cmd.Context(), src, tenants, from, now, seats, reportSettings(c))
			if err != nil {
				return err
			}
			switch {
			case asJSON:
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			case htmlFile != "":
				f, err := os.OpenFile(htmlFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				if err := web.ViewOf(rep).WriteHTML(f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "wrote the report of %d tenant(s) to %s\n", len(rep.Tenants), htmlFile)
				return nil
			}
			return web.ViewOf(rep).WriteText(a.stdout)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant (default: every client tenant)")
	cmd.Flags().StringVar(&since, "since", "", "start of the report: 720h, 30d, 2026-11-01 or an RFC 3339 time (default 30d)")
	cmd.Flags().StringVar(&htmlFile, "html", "", "write a standalone HTML report to this file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (report.* pricing, the tenants' Graph credentials; default $TIERZERO_CONFIG)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

// reportSources opens what the report reads: the data directory's store,
// the tenants to report on (only, else the client tenants the store and the
// configuration know, not the MSP's own), and their seats from Graph
// through the runtime when it opens (else the store alone, seats unknown).
func (a *app) reportSources(cmd *cobra.Command, dir string, c *config, only tierzero.TenantID) (web.AuditSource, []tierzero.TenantID, map[tierzero.TenantID]int, func(), error) {
	ctx := cmd.Context()
	rt, err := a.openRuntime(ctx, runtimeOptions{data: dir, config: c})
	if err != nil {
		a.log.Debug("report: no runtime; seats are unknown", "err", err)
		db, err := a.openStore(dir)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		tenants, err := reportTenants(db.Tenants, nil, "", only)
		if err != nil {
			a.closeDB(db)
			return nil, nil, nil, nil, err
		}
		return db, tenants, nil, func() { a.closeDB(db) }, nil
	}
	tenants, err := reportTenants(rt.db.Tenants, rt.staff.Clients, rt.staff.Home, only)
	if err != nil {
		rt.Close()
		return nil, nil, nil, nil, err
	}
	var g web.Graph
	if rt.graph != nil {
		g = graphView{rt.graph}
	}
	seats := web.SeatsOf(ctx, g, tenants)
	return rt.db, tenants, seats, func() { rt.Close() }, nil
}

// reportTenants is only, or the union of the tenants with data and the
// configured clients, without the MSP's home tenant.
func reportTenants(stored func() ([]tierzero.TenantID, error), clients []tierzero.TenantID, home, only tierzero.TenantID) ([]tierzero.TenantID, error) {
	if only != "" {
		return []tierzero.TenantID{only}, nil
	}
	ts, err := stored()
	if err != nil {
		return nil, err
	}
	ts = append(ts, clients...)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	return slices.DeleteFunc(ts, func(t tierzero.TenantID) bool { return home != "" && t == home }), nil
}
