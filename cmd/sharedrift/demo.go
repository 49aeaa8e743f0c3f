package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon/pipeline"
	"github.com/sharedrift/sharedrift/store"
)

const demoTenant = "fabrikam"

type demoOptions struct {
	once     bool
	stateDir string
	fixture  string
	listen   string
	interval time.Duration
}

func newDemoCmd() *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the daemon against a built-in fake tenant: nothing to install, no Microsoft account",
		Long: `Demo starts the fake Microsoft 365 tenant in-process with the fabrikam fixture,
keeps its state in an embedded database in a state directory, and runs the daemon on a
short schedule: it prints the findings of the first scan and serves the JSON API on
localhost with a fresh admin token. With --once it runs one scan cycle, prints the
findings and exits 0. A second run reuses the state directory, so findings keep their
first-seen times and nothing is reported as new twice.`,
		Example: `  sharedrift demo --once
  sharedrift demo --listen 127.0.0.1:8080 --interval 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd, o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "run one scan cycle, print the findings and exit")
	f.StringVar(&o.stateDir, "state-dir", defaultDemoStateDir(), "state `DIR` kept between runs")
	f.StringVar(&o.fixture, "fixture", filepath.Join("testdata", "tenants", demoTenant), "fixture tenant `DIR` the fake tenant serves")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "HTTP listen `ADDR` (not used with --once)")
	f.DurationVar(&o.interval, "interval", 30*time.Second, "scan every `DURATION`")
	return cmd
}

// defaultDemoStateDir follows the XDG base directory convention.
func defaultDemoStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sharedrift", "demo")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "sharedrift", "demo")
	}
	return filepath.Join(os.TempDir(), "sharedrift-demo")
}

func runDemo(cmd *cobra.Command, o *demoOptions) error {
	out := cmd.OutOrStdout()
	if st, err := os.Stat(filepath.Join(o.fixture, "tenant.json")); err != nil || st.IsDir() {
		return usagef("fixture %s not found: run from the repository root or pass --fixture DIR", o.fixture)
	}
	fixture, err := filepath.Abs(o.fixture)
	if err != nil {
		return err
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return fmt.Errorf("generate API token: %w", err)
	}
	tokenValue := hex.EncodeToString(token)
	cfg, err := config.Load(config.Options{
		Env: []string{"SHAREDRIFT_DEMO_TOKEN=" + tokenValue},
		Overrides: map[string]any{
			"store.state_dir":           o.stateDir,
			"http.listen":               o.listen,
			"http.tokens":               []any{map[string]any{"name": "demo", "scope": "admin", "secret": "env:SHAREDRIFT_DEMO_TOKEN"}},
			"scheduler.startup_scan":    true,
			"scheduler.jitter":          "0s",
			"scheduler.lease_ttl":       "10s",
			"scheduler.grace_period":    "5s",
			"log.level":                 "warn",
			"log.format":                "text",
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every " + o.interval.String(),
		},
		RequireTenants: true,
	})
	if err != nil {
		return err
	}
	log := logger(cmd)
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ver, _ := buildInfo()
	svc, err := pipeline.Open(ctx, cfg, pipeline.ServiceOptions{Logger: log, Version: ver})
	if err != nil {
		return err
	}
	defer svc.Close()

	fmt.Fprintf(out, "sharedrift demo: fake tenant %q from %s, state in %s\n", demoTenant, o.fixture, o.stateDir)
	if o.once {
		res, err := svc.Daemon.ScanNow(ctx, demoTenant)
		if err != nil {
			return fmt.Errorf("scan %s: %w", demoTenant, err)
		}
		if err := printDemoScan(ctx, out, svc.Store, res.ScanID); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nState kept in %s; run again to see the findings carried over.\n", o.stateDir)
		return nil
	}

	ln, err := svc.Listen()
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "API on %s (admin token %s)\n", base, tokenValue)
	fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' %s/api/v1/tenants/%s/findings\n", tokenValue, base, demoTenant)
	fmt.Fprintf(out, "  curl %s/metrics\n", base)
	fmt.Fprintf(out, "Scanning every %s; Ctrl-C stops.\n", o.interval)

	// Print each scan as it lands.
	go watchDemoScans(ctx, out, svc.Store)
	return svc.Serve(ctx, ln)
}

func watchDemoScans(ctx context.Context, out io.Writer, st store.Store) {
	var last int64
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		scans, err := st.Scans(ctx, store.ScanFilter{Tenant: demoTenant, Limit: 1})
		if err != nil || len(scans) == 0 || scans[0].ID == last {
			continue
		}
		_ = printDemoScan(ctx, out, st, scans[0].ID)
		last = scans[0].ID
	}
}

// printDemoScan prints a scan's summary and the tenant's active findings.
func printDemoScan(ctx context.Context, out io.Writer, st store.Store, scanID int64) error {
	sc, err := st.Scan(ctx, scanID)
	if err != nil {
		return fmt.Errorf("read scan: %w", err)
	}
	fmt.Fprintf(out, "\nScan %d of %s: %s, %d API calls, %d changes; findings: %d open, %d new, %d reopened, %d resolved\n",
		sc.ID, sc.Tenant, sc.Status, sc.Stats.APICalls, sc.Changes, sc.FindingsOpen, sc.FindingsNew, sc.FindingsReopened, sc.FindingsResolved)
	fs, err := st.FindingsList(ctx, store.FindingFilter{Tenant: sc.Tenant, States: []store.FindingState{store.FindingOpen, store.FindingReopened}})
	if err != nil {
		return fmt.Errorf("list findings: %w", err)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tOBJECT\tACTUAL\tFIRST SEEN")
	for _, f := range fs {
		obj := f.ObjectName
		if obj == "" {
			obj = f.ObjectKey
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Severity, f.RuleID, clip(obj, 48), clip(f.Actual, 40), f.FirstSeen.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
