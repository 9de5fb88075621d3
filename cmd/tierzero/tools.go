package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/graph"
)

func (a *app) toolsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tools [--json]",
		Short: "List the tools the agent can propose",
		Long: `tools lists every Graph tool: its action name (what policies match), the name the
model sees, whether it reads or writes, its risk tier and, with --json, its argument schema.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			specs := graph.Catalog()
			if asJSON {
				type row struct {
					Action      string          `json:"action"`
					ModelName   string          `json:"modelName"`
					Kind        string          `json:"kind"`
					Risk        string          `json:"risk"`
					Description string          `json:"description"`
					Schema      json.RawMessage `json:"schema"`
				}
				rows := make([]row, len(specs))
				for i, s := range specs {
					rows[i] = row{s.Action, agent.ToolName(s.Action), kind(s.Write), string(s.Risk), s.Description, s.Schema}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ACTION\tMODEL NAME\tKIND\tRISK\tDESCRIPTION")
			for _, s := range specs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Action, agent.ToolName(s.Action), kind(s.Write), s.Risk, s.Description)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON with each tool's argument schema")
	return cmd
}

func kind(write bool) string {
	if write {
		return "write"
	}
	return "read"
}
