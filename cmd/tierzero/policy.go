package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/policy"
)

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate, query and test policy files",
		Long: `policy works on policy directories: YAML files, each with a scope (global, a tenant,
or a department of a tenant) and rules. Several directories layer into one set (rule ids
unique across them); --baseline adds the built-in MSP baseline underneath. See
docs/policy.md for the format and the decision rules.`,
	}
	cmd.AddCommand(a.policyValidateCommand(), a.policyCheckCommand(), a.policyTestCommand())
	return cmd
}

func (a *app) policyValidateCommand() *cobra.Command {
	var baseline bool
	var configFile string
	cmd := &cobra.Command{
		Use:   "validate DIR...",
		Short: "Check policy files: syntax, unknown keys, values, unique rule ids, actions, tenants",
		Long: `validate reads every *.yaml and *.yml file directly in each DIR (not in subdirectories)
and reports every problem of every file as FILE:LINE: MESSAGE: syntax, unknown keys and values,
rule ids used twice, an action that is no tool's (a glob must match at least one tool), and a
scope tenant that the configuration (--config, default $TIERZERO_CONFIG) does not have. Without
a configuration, tenants cannot be checked: each is a warning. A group named by display name
instead of object id is a warning too. Warnings go to standard error as FILE:LINE: warning:
MESSAGE. It prints "ok: N files, M rules" and exits 0 when there is no error, and exits 1
otherwise.`,
		Example: `  tierzero policy validate policy/baseline policies/examples
  tierzero policy validate --config tierzero.yaml policies/`,
		Args: dirArgs(),
		RunE: func(_ *cobra.Command, dirs []string) error {
			env := policy.Env{Actions: toolActions()}
			configFile = a.configPath(configFile)
			if configFile != "" {
				c, err := loadConfig(configFile)
				if err != nil {
					return err
				}
				env.Config = configFile
				for t := range c.Tenants {
					env.Tenants = append(env.Tenants, t)
				}
				if c.MSP != nil && c.MSP.Tenant != "" {
					env.Tenants = append(env.Tenants, c.MSP.Tenant)
				}
			}
			s, nfiles, err := a.checkPolicies(dirs, baseline, env, true)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "ok: %d files, %d rules\n", nfiles, s.Len())
			return nil
		},
	}
	cmd.Flags().BoolVar(&baseline, "baseline", false, "layer the directories on the built-in baseline")
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file whose tenants scope tenants must be (default $TIERZERO_CONFIG)")
	return cmd
}

// toolActions are the action names of every tool.
func toolActions() []string {
	var out []string
	for _, t := range graph.Catalog() {
		out = append(out, t.Action)
	}
	return out
}

func (a *app) policyCheckCommand() *cobra.Command {
	var dirs []string
	var request string
	var baseline bool
	cmd := &cobra.Command{
		Use:   "check --policy DIR --request FILE",
		Short: "Decide one request and print the decision as JSON",
		Long: `check decides the request in FILE (JSON or YAML; - reads standard input) against the
policies and prints the decision: effect (allow, require_approval, deny), layer, file, rule,
reason, approvers, count and expires (for approvals), and the facts it used. The request
states every fact; one left out is missing, and a rule that needs it denies:

  {"tenant": "contoso", "action": "user.reset_password", "channel": "teams",
   "time": "2026-11-27T09:00:00Z",
   "requester": {"upn": "adele@contoso.com", "department": "Marketing",
                 "groups": [{"id": "5b1f6c2e-0d3a-4c47-9a1e-6f0c2d9b7a11", "name": "All Staff"}],
                 "role": "employee"},
   "target": {"upn": "adele@contoso.com", "department": "Marketing", "groups": [],
              "admin_roles": [], "risk": "none", "manager": "megan@contoso.com"},
   "group": {"name": "Sales"}, "license": {"sku": "SPE_E3"},
   "device": {"id": "dev-1", "owner": "adele@contoso.com"},
   "args": {"user": "adele@contoso.com"}, "history": {"count_today": 0}}

It exits 0 whatever the effect, 1 when the policies or the request are invalid.`,
		Example: `  tierzero policy check --policy policy/baseline --request request.json`,
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if len(dirs) == 0 && !baseline {
				return usageError{errors.New("policy check needs --policy DIR (or --baseline)")}
			}
			if request == "" {
				return usageError{errors.New("policy check needs --request FILE")}
			}
			s, _, err := a.loadPolicies(dirs, baseline)
			if err != nil {
				return err
			}
			data, name, err := a.readRequest(request)
			if err != nil {
				return err
			}
			req, err := policy.ParseRequest(name, data)
			if err != nil {
				return a.listErrors(err, "the request is invalid")
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			d := s.Evaluate(req)
			d.Facts = s.AuditFacts(&req, d)
			return enc.Encode(decisionJSON(d))
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "policy directory (repeat to layer several)")
	cmd.Flags().StringVar(&request, "request", "", "request file, JSON or YAML (- for standard input)")
	cmd.Flags().BoolVar(&baseline, "baseline", false, "layer the directories on the built-in baseline")
	return cmd
}

func (a *app) policyTestCommand() *cobra.Command {
	var baseline bool
	var run string
	cmd := &cobra.Command{
		Use:   "test DIR...",
		Short: "Run the policy unit tests in DIR/tests against the policies of DIR",
		Long: `test loads the policies of every DIR into one set, then runs every test of every
DIR/tests/*.yaml against it, as opa test does for Rego. A test file is

  tests:
    - name: an employee resets their own password
      request: {tenant: contoso, action: user.reset_password,
                requester: {upn: adele@contoso.com, role: employee},
                target: {upn: adele@contoso.com}}
      expect: {effect: allow, rule: self-reset-password}

expect gives the effect and optionally rule, layer ("" for none), approvers, count and
missing (the fact a deny names). test prints a PASS or FAIL line per test, then
"N passed, M failed", and exits 1 if any failed.`,
		Example: `  tierzero policy test policy/baseline
  tierzero policy test policy/baseline policies/examples`,
		Args: dirArgs(),
		RunE: func(_ *cobra.Command, dirs []string) error {
			var filter *regexp.Regexp
			if run != "" {
				var err error
				if filter, err = regexp.Compile(run); err != nil {
					return usageError{fmt.Errorf("--run %q: %v", run, err)}
				}
			}
			s, _, err := a.loadPolicies(dirs, baseline)
			if err != nil {
				return err
			}
			var tests []policy.Test
			for _, dir := range dirs {
				td := filepath.Join(dir, "tests")
				if st, err := os.Stat(td); err != nil || !st.IsDir() {
					continue
				}
				ts, err := policy.ReadTests(td)
				if err != nil {
					return a.listErrors(err, "invalid tests")
				}
				tests = append(tests, ts...)
			}
			if len(tests) == 0 {
				return errors.New("no tests found (DIR/tests/*.yaml)")
			}
			passed, failed := 0, 0
			for _, t := range tests {
				if filter != nil && !filter.MatchString(t.Name) {
					continue
				}
				if _, err := t.Run(s); err != nil {
					failed++
					fmt.Fprintf(a.stdout, "FAIL %s:%d %s: %v\n", t.File, t.Line, t.Name, err)
					continue
				}
				passed++
				fmt.Fprintf(a.stdout, "PASS %s:%d %s\n", t.File, t.Line, t.Name)
			}
			fmt.Fprintf(a.stdout, "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return fmt.Errorf("%d of %d policy tests failed", failed, passed+failed)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&baseline, "baseline", false, "layer the directories on the built-in baseline")
	cmd.Flags().StringVar(&run, "run", "", "run only the tests whose name matches this regular expression")
	return cmd
}

// dirArgs requires at least one directory argument.
func dirArgs() cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{fmt.Errorf("%s needs at least one policy directory", cmd.CommandPath())}
		}
		return nil
	}
}

// loadPolicies reads the directories (and the built-in baseline) into one
// set, refusing rules whose action is no tool's. Every problem is printed to
// stderr as FILE:LINE: MESSAGE.
func (a *app) loadPolicies(dirs []string, baseline bool, extra ...policy.File) (*policy.Set, int, error) {
	return a.checkPolicies(dirs, baseline, policy.Env{Actions: toolActions()}, false, extra...)
}

// checkPolicies reads the directories (and the built-in baseline) into one
// set and checks it in env: every problem of every file is printed to
// stderr as FILE:LINE: MESSAGE, and, with warn, every warning.
func (a *app) checkPolicies(dirs []string, baseline bool, env policy.Env, warn bool, extra ...policy.File) (*policy.Set, int, error) {
	var files []policy.File
	if baseline {
		files = policy.BaselineFiles()
	}
	files = append(files, extra...)
	var errs []error
	var incomplete []policy.File // files with problems, checked for the others they have
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, 0, usageError{fmt.Errorf("%s is not a directory", dir)}
		}
		fs, err := policy.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
		}
		for _, f := range fs {
			if f.Incomplete {
				incomplete = append(incomplete, f)
			} else {
				files = append(files, f)
			}
		}
	}
	s, err := policy.NewSet(files...)
	if err != nil {
		errs = append(errs, err)
	}
	all := append(slices.Clone(files), incomplete...)
	problems, warnings := policy.Check(all, env)
	if len(problems) > 0 {
		errs = append(errs, &policy.LoadError{Errs: problems})
	}
	var lines []string
	if len(errs) > 0 {
		lines = errorLines(errors.Join(errs...))
	}
	nerrs := len(lines)
	if warn {
		lines = append(lines, warnings...)
	}
	// Every problem of every file, file by file, in the order of lines.
	names := make([]string, len(all))
	for i, f := range all {
		names[i] = f.Name
	}
	sortByLocation(lines, names)
	for _, l := range lines {
		fmt.Fprintln(a.stderr, l)
	}
	if nerrs > 0 {
		return nil, 0, problemsError("invalid policies", nerrs)
	}
	return s, len(files), nil
}

// sortByLocation orders "FILE:LINE: message" lines by file, in the order of
// names (files not in it last), then by line; stably.
func sortByLocation(lines, names []string) {
	key := func(l string) (int, int) {
		best, file := -1, len(names)
		for i, n := range names {
			if strings.HasPrefix(l, n+":") && len(n) > best {
				best, file = len(n), i
			}
		}
		if best < 0 {
			return file, 0
		}
		num, _, _ := strings.Cut(l[best+1:], ":")
		line, _ := strconv.Atoi(num)
		return file, line
	}
	slices.SortStableFunc(lines, func(a, b string) int {
		fa, la := key(a)
		fb, lb := key(b)
		if fa != fb {
			return fa - fb
		}
		return la - lb
	})
}

// errorLines returns the problems of err, one a line.
func errorLines(err error) []string {
	var lines []string
	var le *policy.LoadError
	for _, e := range unjoin(err) {
		if errors.As(e, &le) {
			lines = append(lines, le.Errs...)
		} else {
			lines = append(lines, e.Error())
		}
	}
	return lines
}

func problemsError(what string, n int) error {
	noun := "problems"
	if n == 1 {
		noun = "problem"
	}
	return fmt.Errorf("%s: %d %s", what, n, noun)
}

// listErrors prints each problem of err on its own line of stderr and
// returns a summary error.
func (a *app) listErrors(err error, what string) error {
	lines := errorLines(err)
	for _, l := range lines {
		fmt.Fprintln(a.stderr, l)
	}
	return problemsError(what, len(lines))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (a *app) readRequest(file string) ([]byte, string, error) {
	if file == "-" {
		data, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
		return data, "stdin", err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read request: %w", err)
	}
	return data, file, nil
}

// decisionOut is a decision as `policy check` prints it.
type decisionOut struct {
	Effect    tierzero.Effect   `json:"effect"`
	Layer     string            `json:"layer"`
	File      string            `json:"file"`
	Rule      string            `json:"rule"`
	Reason    string            `json:"reason"`
	Approvers []string          `json:"approvers"`
	Count     int               `json:"count,omitempty"`
	Expires   string            `json:"expires,omitempty"`
	Facts     map[string]string `json:"facts"`
}

func decisionJSON(d tierzero.Decision) decisionOut {
	out := decisionOut{Effect: d.Effect, Layer: d.Layer, File: d.File, Rule: d.Rule, Reason: d.Reason,
		Approvers: d.Approvers, Count: d.Count, Facts: d.Facts}
	if out.Approvers == nil {
		out.Approvers = []string{}
	}
	if d.Expires > 0 {
		out.Expires = d.Expires.String()
	}
	return out
}
