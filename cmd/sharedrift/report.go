package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

type reportOptions struct {
	input      *snapshotInput
	store      *storeFlags
	since      string
	previous   string
	baseline   string
	format     string
	out        string
	inventory  string
	maxRows    int
	staleDays  int
	allTenants bool
}

func newReportCmd() *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a security review report (HTML, Markdown, JSON or CSV)",
		Long: `Report writes a security review of a tenant's external sharing: an executive
summary with a posture score and trend, findings by section with the fix, a CIS and
CISA SCuBA compliance mapping, the drift timeline, inventories of Anyone links,
guests and calendar exposure, the remediation log, exceptions and coverage.

Offline, the tenant state comes from a snapshot source (--snapshot FILE, --fixture
DIR or a live collection) evaluated against --baseline. With --previous FILE, an
earlier snapshot of the same tenant, the report also shows the trend and what
changed.

From history, with no snapshot source or with --tenant NAME (without --config), the
report reads a tenant recorded in the store (--store, --state-dir, or their defaults,
as for sharedrift history; without --tenant, the store's only tenant): the latest scan is the current state, the last scan before --since gives the trend,
and the period's changes and remediation attempts fill the timeline and the log.

Formats:
  html      one self-contained file: no scripts, no external requests; prints to PDF
  markdown  for tickets
  json      every result and inventory row; schema "sharedrift.report/v1" (docs/reports.md)
  csv       one file per inventory (findings, anyone-links, people-links, guests,
            calendar-exposure): -o names a directory that receives all five; with --inventory, -o names
            one file (or stdout when -o is not given)
  pdf       the html report printed by headless Chromium (found on PATH, or named by
            $SHAREDRIFT_CHROMIUM); the executive page is the first page

With --all-tenants (no --tenant), report writes one overview of every tenant in the
store instead: posture score and trend, failing checks by severity, last scan.

HTML and Markdown list at most --max-rows rows per inventory and say how many more
there are; JSON and CSV stream every row.`,
		Example: `  # The demo review as one HTML file
  sharedrift report --snapshot testdata/snapshots/fabrikam.json --baseline recommended -o fabrikam.html

  # With last month's snapshot for the trend and the drift timeline
  sharedrift report --snapshot now.json --previous last-month.json --format markdown -o review.md

  # The last 30 days of a tenant the daemon watches
  sharedrift report --tenant contoso --since 30d -o contoso.html

  # For auditors: the same report as a PDF (needs Chromium on PATH or $SHAREDRIFT_CHROMIUM)
  sharedrift report --tenant contoso --since 90d --format pdf -o contoso.pdf

  # The MSP overview of every tenant in the store
  sharedrift report --all-tenants -o tenants.html

  # Every inventory as CSV into a directory, or one of them to stdout
  sharedrift report --fixture testdata/tenants/fabrikam --format csv -o review-csv/
  sharedrift report --snapshot now.json --format csv --inventory guests`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReport(cmd, opts)
		},
	}
	opts.input = addSnapshotFlags(cmd)
	f := cmd.Flags()
	opts.store = addStoreFlags(f)
	f.StringVar(&opts.since, "since", "30d", "from history: the period's start, an `AGE` (30d, 12h) back from now or a date")
	f.StringVar(&opts.previous, "previous", "", "an earlier snapshot `FILE` of the same tenant, for the trend and the drift timeline")
	f.StringVar(&opts.baseline, "baseline", "recommended", "baseline `NAME|FILE`: a shipped baseline ("+strings.Join(baselines.Names(), ", ")+") or a YAML file")
	f.StringVar(&opts.format, "format", string(report.FormatHTML), "output format: html, markdown, json, csv, or pdf (printed by headless Chromium: on PATH or $"+report.EnvChromium+")")
	f.StringVarP(&opts.out, "output", "o", "", "write to this `PATH` instead of stdout (a directory for csv without --inventory)")
	f.StringVar(&opts.inventory, "inventory", "", "csv only: write just this inventory: findings, anyone-links, people-links, guests or calendar-exposure")
	f.IntVar(&opts.maxRows, "max-rows", 200, "html and markdown: rows shown per inventory table before \"and N more\"")
	f.BoolVar(&opts.allTenants, "all-tenants", false, "from history: one overview of every tenant in the store (posture, failing checks by severity, last scan); html, markdown, json or pdf")
	f.IntVar(&opts.staleDays, "stale-days", 0, "days without sign-in that make a guest stale (default: the baseline's guests.stale_after_days, else 90)")
	return cmd
}

func runReport(cmd *cobra.Command, opts *reportOptions) error {
	log := logger(cmd)

	// PDF is the HTML report printed by Chromium; look for the browser
	// before any work so that a missing one fails at once.
	var chromium string
	format, err := report.ParseFormat(opts.format)
	if opts.format == string(report.FormatPDF) {
		if chromium, err = report.FindChromium(); err != nil {
			return err
		}
		format = report.FormatPDF
	} else if err != nil {
		return usagef("--format: %w, or pdf", err)
	}
	if opts.allTenants {
		return runRollup(cmd, opts, format, chromium)
	}
	var inv report.Inventory
	switch {
	case opts.inventory != "" && format != report.FormatCSV:
		return usagef("--inventory applies to --format csv only")
	case opts.inventory != "":
		if inv, err = report.ParseInventory(opts.inventory); err != nil {
			return usagef("--inventory: %w", err)
		}
	case format == report.FormatCSV && opts.out == "":
		return usagef("--format csv writes one file per inventory: give -o DIR, or --inventory NAME for one of them")
	}
	if opts.maxRows < 1 {
		return usagef("--max-rows: %d, expected at least 1", opts.maxRows)
	}
	if opts.staleDays < 0 {
		return usagef("--stale-days: %d, expected 0 (baseline default) or more", opts.staleDays)
	}

	now := time.Now().UTC()
	var in *report.Input
	if fromHistory(cmd) {
		var st store.Store
		if in, st, err = storeReportInput(cmd, opts, now); err != nil {
			return err
		}
		defer st.Close()
	} else {
		if in, err = offlineReportInput(cmd, opts); err != nil {
			return err
		}
	}
	in.GeneratedAt = now
	in.Version, _ = buildInfo()
	in.Options.MaxRows = opts.maxRows
	if opts.staleDays > 0 {
		in.Options.StaleDays = opts.staleDays
	}

	render := func(w io.Writer) error {
		switch {
		case inv != "":
			return report.CSV(w, inv, in)
		case format == report.FormatPDF:
			return report.PDF(cmd.Context(), w, in, chromium)
		}
		return report.Render(w, format, in)
	}
	switch {
	case format == report.FormatCSV && inv == "":
		if err := report.WriteCSVDir(opts.out, in); err != nil {
			return err
		}
	case opts.out == "":
		if err := render(cmd.OutOrStdout()); err != nil {
			return err
		}
	default:
		if st, err := os.Stat(opts.out); err == nil && st.IsDir() {
			return usagef("-o %s is a directory; name a file", opts.out)
		}
		if err := report.WriteFile(opts.out, render); err != nil {
			return err
		}
	}
	log.Info("report written", "format", string(format), "output", orStdout(opts.out), "tenant", in.Tenant, "results", len(in.Results))
	return nil
}

// runRollup writes the overview of every tenant in the store.
func runRollup(cmd *cobra.Command, opts *reportOptions, format report.Format, chromium string) error {
	f := cmd.Flags()
	for _, other := range []string{"tenant", "config", "snapshot", "fixture", "previous", "baseline", "since", "inventory", "stale-days", "max-rows"} {
		if f.Changed(other) {
			return usagef("--%s cannot be combined with --all-tenants: the overview covers every tenant's latest scans", other)
		}
	}
	if format == report.FormatCSV {
		return usagef("--all-tenants writes html, markdown, json or pdf, not csv")
	}
	st, err := opts.store.openExisting(cmd.Context(), logger(cmd))
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := report.BuildRollup(cmd.Context(), st, time.Now().UTC())
	if err != nil {
		return err
	}
	r.Version, _ = buildInfo()
	render := func(w io.Writer) error {
		if format == report.FormatPDF {
			return report.RollupPDF(cmd.Context(), w, r, chromium)
		}
		return report.RenderRollup(w, format, r)
	}
	if opts.out == "" {
		if err := render(cmd.OutOrStdout()); err != nil {
			return err
		}
	} else {
		if st, err := os.Stat(opts.out); err == nil && st.IsDir() {
			return usagef("-o %s is a directory; name a file", opts.out)
		}
		if err := report.WriteFile(opts.out, render); err != nil {
			return err
		}
	}
	logger(cmd).Info("tenants overview written", "format", string(format), "output", orStdout(opts.out), "tenants", len(r.Tenants))
	return nil
}

// offlineReportInput evaluates a snapshot (and the optional previous one)
// against the baseline.
func offlineReportInput(cmd *cobra.Command, opts *reportOptions) (*report.Input, error) {
	ctx, log := cmd.Context(), logger(cmd)
	for _, h := range []string{"since", "store", "state-dir"} {
		if cmd.Flags().Changed(h) {
			return nil, usagef("--%s applies to reports from history (--tenant NAME without --config)", h)
		}
	}
	snap, err := opts.input.load(ctx, log)
	if err != nil {
		return nil, err
	}
	warnIncomplete(log, snap)
	var prev *tenant.Snapshot
	if opts.previous != "" {
		if prev, err = tenant.ReadFile(opts.previous); err != nil {
			return nil, fmt.Errorf("--previous: %w", err)
		}
	}
	b, err := loadBaseline(opts.baseline)
	if err != nil {
		return nil, err
	}
	return report.Offline(snap, prev, b, opts.baseline)
}

// storeReportInput reads the tenant's history over the period from the
// store. The store stays open for rendering, which streams links and guests
// from it; the caller closes it.
func storeReportInput(cmd *cobra.Command, opts *reportOptions, now time.Time) (*report.Input, store.Store, error) {
	f := cmd.Flags()
	name, _ := f.GetString("tenant")
	for _, other := range []string{"snapshot", "fixture", "previous", "baseline"} {
		if f.Changed(other) {
			return nil, nil, usagef("--%s cannot be combined with a report from history: it uses the recorded scans and their baseline", other)
		}
	}
	since, err := parseSince(opts.since, now)
	if err != nil {
		return nil, nil, usagef("--since: %w", err)
	}
	st, err := opts.store.openExisting(cmd.Context(), logger(cmd))
	if err != nil {
		return nil, nil, err
	}
	if name, err = opts.store.pickTenant(cmd.Context(), st, name); err != nil {
		st.Close()
		return nil, nil, err
	}
	in, err := report.FromStore(cmd.Context(), st, name, since, now, logger(cmd))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return in, st, nil
}

// fromHistory reports whether the report reads the store: a tenant named
// without --config (which would collect it live instead), or no snapshot
// source at all, which reports the store's only tenant.
func fromHistory(cmd *cobra.Command) bool {
	fl := cmd.Flags()
	if c, _ := fl.GetString("config"); c != "" {
		return false
	}
	if t, _ := fl.GetString("tenant"); t != "" {
		return true
	}
	return !fl.Changed("snapshot") && !fl.Changed("fixture")
}

func orStdout(path string) string {
	if path == "" {
		return "stdout"
	}
	return path
}
