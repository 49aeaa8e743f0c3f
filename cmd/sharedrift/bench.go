package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/bench"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/scanner"
)

func newBenchCmd() *cobra.Command {
	var (
		cfg      bench.Config
		format   string
		prog     progressOpt
		scenario string
		anyone   bench.AnyoneConfig
		notifyTS float64
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure collection against a generated tenant",
		Long: `bench generates a synthetic tenant (s1: 1k sites, ~1M items, ~100k shared,
10k guests; s2: 10k sites, 2M items, ~1M links, 100k guests), serves it from an
in-process fake that meters SharePoint resource units and enforces a budget,
and scans it with the real client, pacer, rules and store: a first full scan, an
unchanged re-scan, a re-scan after a 1% change set and the next scan of the day
(rolling re-read). Per run it reports calls, RU against the lower bound, 429s,
wall time, peak memory and rows written. Then, on the same tenant and store, a
daemon with change notifications runs the anyone-links scenario (--links and the
other anyone-links flags; --no-notifications skips it). It checks the targets
and exits 1 when one is missed.`,
		Example: `  sharedrift bench --size s1 --latency 20ms --time-scale 120 --format json
  sharedrift bench --size s2 --budget 6000 --time-scale 300 --halved`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format: %q, expected table or json", format)
			}
			if scenario != "" {
				if scenario != bench.ScenarioAnyoneLinks {
					return usagef("--scenario: %q, expected %s", scenario, bench.ScenarioAnyoneLinks)
				}
				return runAnyoneBench(cmd, anyone, cfg, format)
			}
			if cfg.Size != "s1" && cfg.Size != "s2" {
				return usagef("--size: %q, expected s1 or s2", cfg.Size)
			}
			cfg.Logger = logger(cmd)
			if _, err := prog.start(io.Discard, &scanner.Progress{}, ""); err != nil {
				return err // a bad --progress value
			}
			errOut := cmd.ErrOrStderr()
			cfg.Progress = func(run string, p *scanner.Progress) func() {
				stop, _ := prog.start(errOut, p, "bench "+cfg.Size+" "+run)
				return stop
			}
			cfg.Notifications = anyone
			cfg.Notifications.TimeScale = notifyTS
			rep, err := bench.Execute(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return emitBench(cmd.OutOrStdout(), format, rep, rep.OK, func(w io.Writer) error { return writeBench(w, rep) })
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Size, "size", "s1", "tenant size: s1 or s2")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "generator seed")
	fs.DurationVar(&cfg.Latency, "latency", 0, "latency added to every request (simulated time, scaled with --time-scale)")
	fs.IntVar(&cfg.Budget, "budget", 0, "SharePoint budget in RU per minute (default 3600 for s1, 6000 for s2)")
	fs.IntVar(&cfg.EntraBudget, "entra-budget", 0, "Entra budget in RU per 10 seconds (default 8000)")
	fs.Float64Var(&cfg.TimeScale, "time-scale", 1, "run the budget clock this many times faster than real time")
	fs.StringVar(&cfg.StoreDSN, "store", "", "store DSN (default: SQLite in a temporary directory)")
	fs.StringVar(&cfg.Baseline, "baseline", "recommended", `baseline to evaluate before recording, or "none"`)
	fs.BoolVar(&cfg.Halved, "halved", false, "also run the first scan with half the budget")
	fs.StringVar(&cfg.Discovery, "discovery", "groups", "how the links section finds links: groups (sites' sharing-link groups) or items (every shared item's permissions)")
	fs.IntVar(&cfg.RESTCost, "rest-cost", 2, "RU the fake charges a SharePoint REST read (a site's groups or users); the first scan is also reported at 2, 5 and 10")
	fs.DurationVar(&cfg.FullScanEvery, "full-scan-every", 24*time.Hour, "how often each section is read in full (the daemon's full_scan_every); the RU-per-day figure adds a first scan that often")
	fs.IntVar(&cfg.ScansPerDay, "scans-per-day", 4, "scans a day assumed by the RU-per-day figure (the daemon's default schedule is every 6 hours)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "drives read at once (default 8)")
	fs.DurationVar(&cfg.SitePropertiesEvery, "site-properties-every", 0,
		"read site CSOM properties this often, as a tenant's site_properties_every does; 0 reads them each scan (the daemon's default)")
	fs.IntVar(&cfg.SitePropertiesPages, "site-properties-pages", config.DefaultSitePropertiesPages,
		"pages of site CSOM properties a re-scan reads, as a tenant's site_properties_pages does; 0 reads every page")
	fs.StringVar(&format, "format", "table", "output format: table or json")
	fs.StringVar(&cfg.HeapProfile, "heap-profile", "", "write a heap profile of the first scan's largest live heap to this file (later runs: FILE.unchanged, FILE.changed, FILE.rolling; the notification phase: FILE.notifications)")
	addProgressFlag(fs, &prog)
	fs.BoolVar(&cfg.NoNotifications, "no-notifications", false, "skip the change notification phase after the scans")
	fs.Float64Var(&notifyTS, "notify-time-scale", 30, "time scale of the change notification phase after the scans (the fake's clock switches to it)")
	fs.StringVar(&scenario, "scenario", "", "run a scenario instead of the scans: "+bench.ScenarioAnyoneLinks+
		" (Anyone links created on the built-in tenant's confidential library while change notifications run)")
	fs.IntVar(&anyone.Links, "links", 20, "anyone-links: links to create while notifications are delivered")
	fs.DurationVar(&anyone.Every, "every", 90*time.Second, "anyone-links: simulated time between two links")
	fs.Float64Var(&anyone.DropRate, "drop-rate", 0.2, "anyone-links: share of notifications the fake drops")
	fs.IntVar(&anyone.DroppedLinks, "dropped-links", 3, "anyone-links: links created afterwards with every notification dropped")
	fs.DurationVar(&anyone.SafetyNet, "safety-net", 15*time.Minute, "anyone-links: scheduled scan interval (simulated)")
	fs.StringVar(&anyone.CPUProfile, "cpu-profile", "", "anyone-links: write a CPU profile of the links' phase to this file")
	fs.DurationVar(&anyone.Debounce, "debounce", config.DefaultChangeDebounce, "anyone-links: change_notifications.debounce (simulated)")
	return cmd
}

// runAnyoneBench runs the anyone-links scenario with the shared flags
// (seed, latency, time scale, store) and reports it.
func runAnyoneBench(cmd *cobra.Command, a bench.AnyoneConfig, cfg bench.Config, format string) error {
	a.Seed, a.Latency, a.StoreDSN, a.Logger = cfg.Seed, cfg.Latency, cfg.StoreDSN, logger(cmd)
	a.TimeScale = 30
	if cmd.Flags().Changed("time-scale") {
		a.TimeScale = cfg.TimeScale
	}
	rep, err := bench.ExecuteAnyoneLinks(cmd.Context(), a)
	if err != nil {
		return err
	}
	return emitBench(cmd.OutOrStdout(), format, rep, rep.OK, func(w io.Writer) error { return writeAnyoneBench(w, rep) })
}

// emitBench writes a benchmark report as JSON or a table and exits 1
// when a check was missed.
func emitBench(w io.Writer, format string, rep any, ok bool, table func(io.Writer) error) error {
	var err error
	if format == "json" {
		err = writeJSON(w, rep)
	} else {
		err = table(w)
	}
	if err != nil {
		return err
	}
	if !ok {
		return withExitCode(exitError, bench.ErrChecks)
	}
	return nil
}

func writeAnyoneBench(w io.Writer, rep *bench.AnyoneReport) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	writeAnyoneFigures(tw, rep)
	writeChecks(tw, rep.Checks)
	return tw.Flush()
}

// writeAnyoneFigures writes the scenario's figures (not its checks).
func writeAnyoneFigures(tw io.Writer, rep *bench.AnyoneReport) {
	fmt.Fprintf(tw, "scenario %s: tenant %s, drive %s, %d links (drop rate %g) then %d with every notification dropped, time scale %g, store %s\n",
		rep.Scenario, rep.Tenant, rep.Drive, rep.Links, rep.DropRate, rep.DroppedLinks, rep.TimeScale, rep.Store)
	fmt.Fprintf(tw, "delivery model: %s\n\n", rep.DeliveryModel)
	fmt.Fprintln(tw, "SIMULATED SECONDS\tCOUNT\tMEAN\tP50\tP95\tMAX")
	for _, q := range []struct {
		name string
		q    bench.Quantiles
	}{{"delivery delay (fake)", rep.Delivery}, {"link to finding, notified", rep.Notified}, {"arrival to finding and alert", rep.Own},
		{"link to finding, dropped, covered by a later read", rep.DroppedCovered}, {"link to finding, all dropped (safety net)", rep.Dropped}} {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", q.name, q.q.Count, q.q.Mean, q.q.P50, q.q.P95, q.q.Max)
	}
	fmt.Fprintf(tw, "\nrecorded before their own notification arrived %d, change feed scans %d, refused notifications %d, safety net %.0fs, longest scheduled scan %.1fs, debounce %.0fs\n",
		rep.EarlierRead, rep.Processings, rep.Refused, rep.SafetyNetSecs, rep.LongestScanSecs, rep.DebounceSecs)
	fmt.Fprintf(tw, "%d drives subscribed in %.1fs, caught up in %.1fs (simulated); wall %s, peak RSS %d MiB, peak heap %d MiB, %d calls, %d RU, %d Entra RU, %d 429s\n",
		rep.Subscriptions, rep.SubscribeSecs, rep.CatchUpSecs, secs(rep.WallSeconds), rep.PeakRSSBytes>>20, rep.PeakHeapBytes>>20, rep.Calls, rep.RU, rep.EntraRU, rep.Throttled)
	fmt.Fprintf(tw, "errors tried again %d", rep.Errors)
	if rep.FirstError != "" {
		fmt.Fprintf(tw, " (first: %s)", rep.FirstError)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw)
}

func writeChecks(tw io.Writer, checks []bench.Check) {
	for _, c := range checks {
		mark := "ok"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", mark, c.Name, c.Value, c.Limit)
	}
}

func writeBench(w io.Writer, rep *bench.Report) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "tenant %s: %d sites, %d items, %d shared items, %d links, %d guests; budget %d RU/min, time scale %g, latency %s, store %s\n",
		rep.Size, rep.Tenant.Sites, rep.Tenant.Items, rep.Tenant.SharedItems, rep.Tenant.Links, rep.Tenant.Guests,
		rep.Budget, rep.TimeScale, rep.Latency, rep.Store)
	if rep.MemoryLimitBytes > 0 {
		fmt.Fprintf(tw, "memory limit %d MiB\n", rep.MemoryLimitBytes>>20)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "RUN\tCALLS\tSUB\tRU\tLOWER BOUND\tRATIO\t429s\tWALL\tSIMULATED\tPEAK RSS\tPEAK HEAP\tOBJECTS WRITTEN\tCHANGES")
	for _, r := range rep.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.3f\t%d\t%s\t%s\t%d MiB\t%d MiB\t%d\t%d\n", r.Name, r.Calls, r.SubRequests, r.RU, r.LowerBoundRU,
			r.RURatio, r.Throttled, secs(r.WallSeconds), secs(r.SimulatedSeconds), r.PeakRSSBytes>>20, r.PeakHeapBytes>>20, r.ObjectsWritten, r.Changes)
	}
	fmt.Fprintln(tw)
	for _, r := range rep.Runs {
		kinds := make([]string, 0, len(r.CallsByKind))
		for k, v := range r.CallsByKind {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(kinds)
		fmt.Fprintf(tw, "%s: %s\n", r.Name, strings.Join(kinds, " "))
	}
	if len(rep.RUPerDayAtRESTCost) > 0 {
		fmt.Fprintf(tw, "\nRU per day (%s): %d of a %d cap", rep.RUPerDayFormula, rep.RUPerDay, rep.DailyCapRU)
		for _, c := range []string{"2", "5", "10"} {
			if v, ok := rep.RUPerDayAtRESTCost[c]; ok {
				fmt.Fprintf(tw, "; at %s RU a REST read %d (%.1f%%)", c, v, 100*float64(v)/float64(max(1, rep.DailyCapRU)))
			}
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "\nlower bound: %s\n\n", rep.LowerBound)
	if n := rep.Notifications; n != nil {
		fmt.Fprintln(tw, "change notifications, after the scans on the same tenant and store:")
		writeAnyoneFigures(tw, n)
	}
	writeChecks(tw, rep.Checks)
	return tw.Flush()
}

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}
