// Command tierzero is the one binary of tierzero: the chat console, the demo,
// the Graph simulator and the operator commands. main only wires; the work
// is done in the packages it imports.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env is the process environment as a lookup function, injectable in tests.
type env func(string) string

// app carries what every command shares.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         env
	log            *slog.Logger
	// shared is the running server's runtime, when this app runs an
	// operator command sent to it over the admin socket.
	shared *runtime
}

// usageError marks errors that are the caller's (exit status 2).
type usageError struct{ error }

// Main runs the tierzero command line with args and returns the exit status:
// 0 on success, 1 on failure, 2 on a usage error.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	a.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel(getenv("TIERZERO_LOG"))}))
	if code, ok := a.viaServer(ctx, args); ok {
		return code
	}
	return a.run(ctx, args)
}

// run runs one command line of the command tree and returns its exit
// status.
func (a *app) run(ctx context.Context, args []string) int {
	stderr := a.stderr
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var es exitStatus // the command printed what it had to say (baselinecmd.go)
	if errors.As(err, &es) {
		return int(es)
	}
	fmt.Fprintln(stderr, "tierzero:", err)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

func logLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "error":
		return slog.LevelError
	default:
		return slog.LevelWarn
	}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "tierzero",
		Short: "tierzero: an autonomous IT engineer for Microsoft 365, under policy",
		Long: `tierzero resolves IT requests (password resets and more) in chat, investigating and
acting on a Microsoft 365 tenant through Microsoft Graph. Every action passes a policy
check before it reaches Graph, and every step is written to the tenant's audit trail.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.chatCommand(), a.demoCommand(), a.graphsimCommand(), a.auditCommand(), a.toolsCommand(), a.policyCommand(), a.tenantCommand(), a.partnerCommand(), a.approvalsCommand(), a.evalCommand())
	root.AddCommand(a.configCommand(), a.versionCommand(), a.serveCommand())
	root.AddCommand(a.teamsCommand())
	root.AddCommand(a.ticketCommand())
	root.AddCommand(a.reportCommand())
	root.AddCommand(a.consoleCommand())
	root.AddCommand(a.baselineCommand())
	return root
}

// dataDir resolves --data: the flag, else $TIERZERO_DATA, else ./tierzero-data.
func (a *app) dataDir(flag string) string {
	if flag != "" {
		return flag
	}
	if d := a.getenv("TIERZERO_DATA"); d != "" {
		return d
	}
	return "tierzero-data"
}
