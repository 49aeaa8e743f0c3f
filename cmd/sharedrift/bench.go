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
)

func newBenchCmd() *cobra.Command {
	var (
		cfg    bench.Config
		format string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure collection against a generated tenant",
		Long: `bench generates a synthetic tenant (s1: 1k sites, ~1M items, ~100k shared,
10k guests; s2: 10k sites, 2M items, ~1M links, 100k guests), serves it from an
in-process fake that meters SharePoint resource units and enforces a budget,
and scans it with the real client, pacer, rules and store three times: a first
full scan, an unchanged re-scan, and a re-scan after a 1% change set. Per run it
reports calls, RU against the lower bound, 429s, wall time, peak memory and rows
written, and checks the targets; it exits 1 when one is missed.`,
		Example: `  sharedrift bench --size s1 --latency 20ms --time-scale 120 --format json
  sharedrift bench --size s2 --budget 6000 --time-scale 300 --halved`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format: %q, expected table or json", format)
			}
			if cfg.Size != "s1" && cfg.Size != "s2" {
				return usagef("--size: %q, expected s1 or s2", cfg.Size)
			}
			cfg.Logger = logger(cmd)
			rep, err := bench.Execute(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if format == "json" {
				err = writeJSON(cmd.OutOrStdout(), rep)
			} else {
				err = writeBench(cmd.OutOrStdout(), rep)
			}
			if err != nil {
				return err
			}
			if !rep.OK {
				return withExitCode(exitError, bench.ErrChecks)
			}
			return nil
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
	fs.IntVar(&cfg.RESTCost, "rest-cost", 2, "RU the fake charges a SharePoint REST read (a site's groups); the first scan is also reported at 2, 5 and 10")
	fs.DurationVar(&cfg.FullScanEvery, "full-scan-every", 24*time.Hour, "how often each section is read in full (the daemon's full_scan_every); the RU-per-day figure adds a first scan that often")
	fs.IntVar(&cfg.ScansPerDay, "scans-per-day", 4, "scans a day assumed by the RU-per-day figure (the daemon's default schedule is every 6 hours)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "drives read at once (default 8)")
	fs.DurationVar(&cfg.SitePropertiesEvery, "site-properties-every", 0,
		"read site CSOM properties this often, as a tenant's site_properties_every does; 0 reads them each scan (the daemon's default)")
	fs.IntVar(&cfg.SitePropertiesPages, "site-properties-pages", config.DefaultSitePropertiesPages,
		"pages of site CSOM properties a re-scan reads, as a tenant's site_properties_pages does; 0 reads every page")
	fs.StringVar(&format, "format", "table", "output format: table or json")
	fs.StringVar(&cfg.HeapProfile, "heap-profile", "", "write a heap profile of the largest heap seen to this file")
	return cmd
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
	fmt.Fprintf(tw, "\nlower bound: %s\n\n", rep.LowerBound)
	for _, c := range rep.Checks {
		mark := "ok"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", mark, c.Name, c.Value, c.Limit)
	}
	return tw.Flush()
}

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}
