package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a configuration file",
	}
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Report every problem of a configuration file, with its line",
		Long: `validate reads a configuration file (FILE, else $TIERZERO_CONFIG) and prints every
problem in it as FILE:LINE: message: unknown or repeated keys, values of the wrong kind,
invalid tenant ids, missing or unknown auth methods and the fields each method needs,
user principal names, an MSP tenant that is also a client, the serve address, the model
price table (llm.prices: each model's input_per_million and output_per_million, US dollars,
0 or more). It exits
with status 1 when there is any problem, 0 when there is none.

It reads only the file: it does not check that the secrets' environment variables are
set, that certificate files exist or that Graph accepts the credentials.`,
		Example: `  tierzero config validate examples/tierzero.yaml`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := a.getenv("TIERZERO_CONFIG")
			if len(args) == 1 {
				file = args[0]
			}
			if file == "" {
				return usageError{errors.New("config validate needs a FILE (or $TIERZERO_CONFIG)")}
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("read config: %w", err)
			}
			c, ps := parseConfig(b)
			for _, p := range ps {
				if p.line > 0 {
					fmt.Fprintf(a.stdout, "%s:%d: %s\n", file, p.line, p.msg)
				} else {
					fmt.Fprintf(a.stdout, "%s: %s\n", file, p.msg)
				}
			}
			switch len(ps) {
			case 0:
				fmt.Fprintf(a.stdout, "%s: ok: %s\n", file, configSummary(c))
				return nil
			case 1:
				return fmt.Errorf("%s: 1 problem", file)
			default:
				return fmt.Errorf("%s: %d problems", file, len(ps))
			}
		},
	}
	cmd.AddCommand(validate)
	return cmd
}

// configSummary says what a valid configuration holds.
func configSummary(c *config) string {
	ids := make([]string, 0, len(c.Tenants))
	for id := range c.Tenants {
		ids = append(ids, string(id))
	}
	slices.Sort(ids)
	s := fmt.Sprintf("%s (%s)", countNoun(len(ids), "tenant"), strings.Join(ids, ", "))
	if m := c.MSP; m != nil {
		s += fmt.Sprintf("; MSP %s with %s", m.Tenant, countNoun(len(m.Technicians), "technician"))
	}
	if c.LLM != nil {
		s += fmt.Sprintf("; model %s", c.LLM.Model)
		if n := len(c.LLM.Prices); n > 0 {
			s += fmt.Sprintf(" (%s)", countNoun(n, "model price"))
		}
	}
	if c.Serve != nil && c.Serve.Addr != "" {
		s += fmt.Sprintf("; serve on %s", c.Serve.Addr)
	}
	return s
}

func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
