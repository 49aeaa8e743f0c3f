package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Process exit codes shared by every command.
const (
	exitOK       = 0
	exitError    = 1
	exitFindings = 3
)

// exitCodeError makes run exit with a specific code. A nil err means the
// command already said what it had to and nothing more is printed.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// withExitCode wraps err so that run exits with code.
func withExitCode(code int, err error) error { return &exitCodeError{code: code, err: err} }

// run executes the command line and returns the process exit code. Tests
// call it in-process with their own writers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	logs := &logState{stderr: stderr}
	ctx = context.WithValue(ctx, logStateKey{}, logs)

	// Let subcommands add their own persistent hooks without skipping the
	// root's logger setup.
	cobra.EnableTraverseRunHooks = true
	root := newRootCmd(logs)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitError
	var ec *exitCodeError
	if errors.As(err, &ec) {
		code = ec.code
		if ec.err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	if isUsageError(err) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// usageError marks a mistake in how a command was called, so run points the
// user at --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

func isUsageError(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return true
	}
	// cobra's own argument and flag errors carry no type; recognise them by text.
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(logs *logState) *cobra.Command {
	var memoryLimit string
	root := &cobra.Command{
		Use:   "sharedrift",
		Short: "Watch a Microsoft 365 tenant's external sharing for risky drift",
		Long: `sharedrift compares a Microsoft 365 tenant's external-sharing state (SharePoint and
OneDrive sharing, sharing links, guests, Entra B2B settings, Microsoft 365 Groups
and Exchange calendar sharing) with a baseline, and reports every rule result as
pass, fail, not_applicable or unknown. Shipped baselines follow Microsoft's
guidance, CISA SCuBA and the CIS Microsoft 365 Foundations benchmark.

Exit codes: 0 success, 1 error, 3 findings at or above the --fail-on threshold.`,
		Example: `  # Check a saved snapshot against the recommended baseline
  sharedrift scan --snapshot testdata/snapshots/fabrikam.json --baseline recommended

  # JSON for tooling; exit 3 only on high or critical failures
  sharedrift scan --snapshot snapshot.json --baseline cisa-scuba --format json --fail-on high

  # What is checked, with CIS and SCuBA references
  sharedrift rules list

  # The shipped cis-m365 baseline with everything it extends merged in
  sharedrift baseline show cis-m365`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyMemoryLimit(memoryLimit); err != nil {
				return err
			}
			return logs.configure()
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err: suggestFlag(c, err)} })

	pf := root.PersistentFlags()
	pf.StringVar(&logs.level, "log-level", "info", "log verbosity on stderr: debug, info, warn or error")
	// No default shown: commands log text, the daemon JSON (its log.format).
	pf.StringVar(&logs.format, "log-format", "", "log format on stderr: text or json (default text; for the daemon json, or its log.format)")
	pf.StringVar(&memoryLimit, "memory-limit", "", `soft memory limit of the process, e.g. 256MiB, or "off" (default: GOMEMLIMIT, else none)`)

	// Every subcommand, one per line, in the order help lists them.
	root.AddCommand(
		newScanCmd(),
		newRulesCmd(),
		newBaselineCmd(),
		newReportCmd(),
		newVersionCmd(),
		newHistoryCmd(),
		newChangesCmd(),
		newFindingsCmd(),
		newMigrateCmd(),
		newDBCmd(),
		newNotifyCmd(),
		newDaemonCmd(), newDemoCmd(),
		newSnapshotCmd(), newDoctorCmd(),
		newBenchCmd(),
		newRemediateCmd(),
	)
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
	}
	return root
}

// refuseUnknownSubcommands makes a command group ("findings", "rules")
// answer an unknown subcommand with an error and exit 1; cobra would print
// the group's help and exit 0, so that a typo in a script went unnoticed.
// The group alone still prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usagef("%s", msg)
	}
}

// suggestFlag adds the nearest flag of the command to an unknown-flag
// error ("did you mean --tenant?"), as cobra does for commands.
func suggestFlag(c *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	best, bestD := "", 3
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && d > 1 {
			d = 1 // a flag cut short
		}
		if d < bestD || (d == bestD && f.Name < best) {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return err
	}
	return fmt.Errorf("%w; did you mean --%s?", err, best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// logState builds the process logger once the persistent flags are parsed.
// Commands get it through logger(cmd); nothing uses a global logger.
type logState struct {
	stderr io.Writer
	level  string
	format string
	log    *slog.Logger
}

type logStateKey struct{}

func (s *logState) configure() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s.level)); err != nil {
		return usagef("--log-level: %q, expected debug, info, warn or error", s.level)
	}
	log, err := s.build(lvl)
	if err != nil {
		return err
	}
	s.log = log
	return nil
}

// build makes a logger in the configured format at level lvl.
func (s *logState) build(lvl slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: lvl}
	switch s.format {
	case "", "text":
		return slog.New(slog.NewTextHandler(s.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(s.stderr, opts)), nil
	}
	return nil, usagef("--log-format: %q, expected text or json", s.format)
}

// logger returns the logger configured by the root command's flags, or a
// default text logger on the command's stderr when there is none (a command
// run outside run()).
func logger(cmd *cobra.Command) *slog.Logger {
	if s, ok := cmd.Context().Value(logStateKey{}).(*logState); ok && s.log != nil {
		return s.log
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
}

// quietLogger is logger(cmd) at level lvl unless --log-level was given: a
// command whose output on stdout is the point, such as the demo, keeps
// routine progress logs from interleaving with it.
func quietLogger(cmd *cobra.Command, lvl slog.Level) *slog.Logger {
	s, ok := cmd.Context().Value(logStateKey{}).(*logState)
	if f := cmd.Flags().Lookup("log-level"); !ok || s.log == nil || (f != nil && f.Changed) {
		return logger(cmd)
	}
	if log, err := s.build(lvl); err == nil {
		return log
	}
	return logger(cmd)
}
