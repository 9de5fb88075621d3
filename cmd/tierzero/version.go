package main

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is the release of this binary, set when it is built:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/tierzero
//
// Without it, the module version recorded in the binary is used.
var version string

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of tierzero, its Go and its commit",
		Long: `version prints one line: tierzero VERSION (GO, commit COMMIT[, modified]). VERSION is the
one set at build time (-ldflags "-X main.version=..."), else the module version Go
recorded ("devel" for a build from a checkout without one); the commit and whether the
tree had uncommitted changes come from the build's version control information, when
it was recorded.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(a.stdout, versionLine(version, bi))
			return nil
		},
	}
}

// versionLine is the version line of a binary: tierzero VERSION (GO,
// commit C, modified). v is main.version; bi, which may be nil, the
// build information.
func versionLine(v string, bi *debug.BuildInfo) string {
	goVersion := goruntime.Version()
	var commit string
	var modified bool
	if bi != nil {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	details := []string{goVersion}
	if commit != "" {
		details = append(details, "commit "+commit[:min(len(commit), 12)])
	}
	if modified {
		details = append(details, "modified")
	}
	return fmt.Sprintf("tierzero %s (%s)", v, strings.Join(details, ", "))
}
