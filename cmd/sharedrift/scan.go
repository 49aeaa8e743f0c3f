package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/output"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// scanOutcome is everything one scan produced, handed to the scan steps and
// then rendered.
type scanOutcome struct {
	Snapshot *tenant.Snapshot
	Baseline *baselines.Baseline
	// BaselineRef is the baseline as the user named it.
	BaselineRef string
	Results     []tenant.Result
}

// scanStep is an optional stage that runs after the rules and before the
// output, such as recording the scan in a store. It registers its own flags
// and does nothing when it is not configured.
type scanStep interface {
	addFlags(fs *pflag.FlagSet)
	run(ctx context.Context, log *slog.Logger, sc *scanOutcome) error
}

// scanSteps lists the optional stages of a scan, in the order they run. A
// new stage is one more line here.
func scanSteps() []scanStep {
	return []scanStep{&recordStep{}}
}

// resumer is a scan step that keeps state collection can resume from.
type resumer interface {
	// resume returns the state to collect from, nil when the step is off.
	resume(log *slog.Logger) stateFunc
	// release frees what resume opened.
	release()
}

type scanOptions struct {
	input    *snapshotInput
	steps    []scanStep
	baseline string
	format   string
	failOn   string
	show     []string
}

func newScanCmd() *cobra.Command {
	opts := &scanOptions{steps: scanSteps()}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Check a tenant snapshot against a baseline",
		Long: `Scan evaluates every built-in rule over a tenant snapshot and a baseline and prints
each result: pass, fail, not_applicable, or unknown when the data was not collected
or its section is incomplete.

The table and Markdown formats list failures first and, unless --show says
otherwise, only failures and unknowns; JSON lists every result in rule order with
its references and a summary.

Exit status: 0 when nothing at or above --fail-on failed, 3 when something did,
1 on any error (unreadable snapshot or baseline, bad flags). Unknown results do
not change the exit status; they are listed and counted.`,
		Example: `  # The demo: a tenant with every kind of risky sharing
  sharedrift scan --snapshot testdata/snapshots/fabrikam.json --baseline recommended

  # A pipeline gate on high and critical findings, with JSON for tooling
  sharedrift scan --snapshot snapshot.json --baseline cisa-scuba --format json --fail-on high

  # A Markdown summary for a ticket, including what passed
  sharedrift scan --snapshot snapshot.json --baseline ./our-baseline.yaml --format markdown --show all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScan(cmd, opts)
		},
	}
	opts.input = addSnapshotFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.baseline, "baseline", "recommended", "a shipped baseline `NAME` ("+strings.Join(baselines.Names(), ", ")+") or a baseline YAML file")
	f.StringVar(&opts.format, "format", string(output.FormatTable), "output `FORMAT`: table, json or markdown")
	f.StringVar(&opts.failOn, "fail-on", string(tenant.SeverityLow), "exit 3 when a rule of this `SEVERITY` or above fails: info, low, medium, high, critical, or none")
	f.StringSliceVar(&opts.show, "show", nil, "`OUTCOMES` to list: any of pass, fail, not_applicable, unknown, or all (default: all for json, fail,unknown otherwise)")
	for _, s := range opts.steps {
		s.addFlags(f)
	}
	return cmd
}

// parseFailOn accepts a severity or "none" (never exit 3).
func parseFailOn(v string) (tenant.Severity, bool, error) {
	if v == "none" {
		return "", false, nil
	}
	sev := tenant.Severity(v)
	if _, ok := sev.Rank(); !ok {
		return "", false, usagef("--fail-on: %q, expected info, low, medium, high, critical or none", v)
	}
	return sev, true, nil
}

func runScan(cmd *cobra.Command, opts *scanOptions) error {
	ctx := cmd.Context()
	log := logger(cmd)

	// Check every flag before any work, so a typo costs nothing.
	format, err := output.ParseFormat(opts.format)
	if err != nil {
		return usagef("--format: %w", err)
	}
	failOn, gate, err := parseFailOn(opts.failOn)
	if err != nil {
		return err
	}
	show := opts.show
	if len(show) == 0 && format != output.FormatJSON {
		show = []string{string(tenant.Fail), string(tenant.Unknown)}
	}
	outcomes, err := output.ParseOutcomes(show)
	if err != nil {
		return usagef("--show: %w", err)
	}

	// A step that keeps state lets collection resume from it.
	for _, step := range opts.steps {
		if r, ok := step.(resumer); ok {
			defer r.release()
			if fn := r.resume(log); fn != nil {
				opts.input.state = fn
			}
		}
	}
	start := time.Now()
	snap, err := opts.input.load(ctx, log)
	if err != nil {
		return err
	}
	warnIncomplete(log, snap)
	b, err := loadBaseline(opts.baseline)
	if err != nil {
		return err
	}
	results := rules.Evaluate(snap, b)
	log.Debug("rules evaluated", "results", len(results), "baseline", opts.baseline, "elapsed", time.Since(start).String())

	sc := &scanOutcome{Snapshot: snap, Baseline: b, BaselineRef: opts.baseline, Results: results}
	for _, step := range opts.steps {
		if err := step.run(ctx, log, sc); err != nil {
			return err
		}
	}

	report := output.NewScan(output.Input{Snapshot: snap, Baseline: opts.baseline, Results: results, FailOn: failOn})
	if err := output.Render(cmd.OutOrStdout(), format, report, output.Options{Show: outcomes}); err != nil {
		return err
	}
	if gate && report.Summary.Failing > 0 {
		log.Debug("failures at or above threshold", "failing", report.Summary.Failing, "fail_on", string(failOn))
		return withExitCode(exitFindings, nil)
	}
	return nil
}

// loadBaseline loads a baseline by shipped name or path and checks that
// what it refers to (such as exception rule IDs) exists.
func loadBaseline(ref string) (*baselines.Baseline, error) {
	b, err := baselines.Load(ref)
	if err != nil {
		return nil, fmt.Errorf("load baseline: %w", err)
	}
	if err := rules.CheckBaseline(b); err != nil {
		return nil, fmt.Errorf("load baseline: %w", err)
	}
	return b, nil
}
