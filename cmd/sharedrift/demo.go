package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/store"
)

const demoTenant = "fabrikam"

type demoOptions struct {
	once     bool
	store    *storeFlags
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
keeps its state in the store every command reads (by default the embedded database in
$XDG_STATE_HOME/sharedrift, so "sharedrift findings list" shows the demo's findings
next), and runs the daemon on a
short schedule: it prints the findings of the first scan and serves the JSON API on
localhost with a fresh admin token. After the first scan it changes the fake tenant (a
new Anyone link appears, one guest-domain drift is fixed), so the next cycle shows one
new and one resolved finding; every cycle prints a one-line summary. With --once it
runs one scan cycle, prints the findings and exits 0. A second run reuses the state
directory, so findings keep their first-seen times and nothing is reported as new twice.

The fixture is built into the binary, so the demo runs from any directory; its
timestamps are moved to the moment the demo starts, so scans carry real times while
every age in it (a link expiring in four days) stays as recorded.

The summary and findings go to stdout; logs go to stderr at warn level unless
--log-level asks for more.`,
		Example: `  sharedrift demo --once
  sharedrift demo --listen 127.0.0.1:8080 --interval 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd, o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "run one scan cycle, print the findings and exit")
	o.store = addStoreFlags(f)
	f.StringVar(&o.fixture, "fixture", config.BuiltinFixturePrefix+demoTenant, "fixture tenant `DIR` the fake tenant serves (default: the one built in)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "HTTP listen `ADDR` (not used with --once)")
	f.DurationVar(&o.interval, "interval", 15*time.Second, "scan every `DURATION`")
	return cmd
}

func runDemo(cmd *cobra.Command, o *demoOptions) error {
	out := cmd.OutOrStdout()
	fixture := o.fixture
	if !strings.HasPrefix(fixture, config.BuiltinFixturePrefix) {
		if st, err := os.Stat(filepath.Join(fixture, "tenant.json")); err != nil || st.IsDir() {
			return usagef("--fixture %s: fixture tenant not found (a directory with tenant.json); without --fixture the demo uses the one built in", fixture)
		}
		var err error
		if fixture, err = filepath.Abs(fixture); err != nil {
			return err
		}
	}
	dsn, stateDir, _, err := o.store.choice()
	if err != nil {
		return err
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return fmt.Errorf("generate API token: %w", err)
	}
	tokenValue := hex.EncodeToString(token)
	where := stateDir
	env := []string{"SHAREDRIFT_DEMO_TOKEN=" + tokenValue}
	storeKey, storeVal := "store.state_dir", any(stateDir)
	if dsn != "" {
		// The configuration takes a DSN only as a secret reference.
		env = append(env, envCLIStoreDSN+"="+dsn)
		storeKey, storeVal, where = "store.dsn", "env:"+envCLIStoreDSN, "the --store database"
	}
	cfg, err := config.Load(config.Options{
		Env: env,
		Overrides: map[string]any{
			storeKey:                    storeVal,
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
	// The summary and findings on stdout are the demo; only warnings and
	// errors interleave with them unless --log-level asks for more.
	log := quietLogger(cmd, slog.LevelWarn)
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ver, _ := buildInfo()
	cycles := &demoCycles{out: out}
	svc, err := app.Open(ctx, cfg, app.ServiceOptions{Logger: log, Version: ver, OpenFixture: fixtureOpener(fixtureAnchors(ctx, cfg)), WrapScan: cycles.wrap})
	if err != nil {
		return err
	}
	defer svc.Close()
	cycles.svc = svc

	fmt.Fprintf(out, "sharedrift demo: fake tenant %q from %s, state in %s\n", demoTenant, o.fixture, where)
	if o.once {
		res, err := svc.Daemon.ScanNow(ctx, demoTenant)
		if err != nil {
			return fmt.Errorf("scan %s: %w", demoTenant, err)
		}
		if err := printDemoScan(ctx, out, svc.Store, res.ScanID); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nState kept in %s; run again to see the findings carried over, or look around:\n", where)
		fmt.Fprintln(out, "  sharedrift findings list\n  sharedrift changes --since 7d\n  sharedrift history\n  sharedrift report -o review.html")
		return nil
	}

	ln, err := svc.Listen()
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	cycles.api, cycles.token = base, tokenValue
	fmt.Fprintf(out, "API listening on %s (admin token %s)\n", base, tokenValue)
	fmt.Fprintf(out, "  Console: open %s/ in a browser and sign in with the admin token\n", base)
	fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' %s/api/v1/tenants/%s/findings\n", tokenValue, base, demoTenant)
	fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' '%s/reports/%s?format=markdown'\n", tokenValue, base, demoTenant)
	fmt.Fprintf(out, "  curl %s/metrics\n", base)
	fmt.Fprintf(out, "Scanning every %s; after the first scan the demo changes the fake tenant. Ctrl-C stops.\n", o.interval)
	return svc.Serve(ctx, ln)
}

// demoCycles prints each scan as it lands and, after the first one,
// changes the fake tenant so that the next scan has something to show. It
// runs inside the scan function, so the change is in place before the next
// scan of the tenant can start.
type demoCycles struct {
	out   io.Writer
	svc   *app.Service
	api   string
	token string

	mu      sync.Mutex
	n       int
	changed []string
}

func (d *demoCycles) wrap(next daemon.ScanFunc) daemon.ScanFunc {
	return func(ctx context.Context, req daemon.ScanRequest) (daemon.ScanResult, error) {
		res, err := next(ctx, req)
		if req.Tenant.Name == demoTenant {
			d.after(ctx, res, err)
		}
		return res, err
	}
}

func (d *demoCycles) after(ctx context.Context, res daemon.ScanResult, scanErr error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.api == "" {
		return // --once prints its own scan
	}
	d.n++
	if scanErr != nil {
		fmt.Fprintf(d.out, "\nCycle %d: scan failed: %v\n", d.n, scanErr)
		return
	}
	if d.n == 1 {
		if err := printDemoScan(ctx, d.out, d.svc.Store, res.ScanID); err != nil {
			fmt.Fprintf(d.out, "  (%v)\n", err)
		}
		d.changed = demoChange(ctx, d.svc)
		fmt.Fprintln(d.out, "\nChanged the fake tenant for the next scan:")
		for _, c := range d.changed {
			fmt.Fprintln(d.out, "  - "+c)
		}
		return
	}
	if err := printDemoCycle(ctx, d.out, d.svc.Store, d.n, res.ScanID); err != nil {
		fmt.Fprintf(d.out, "  (%v)\n", err)
	}
	if d.n == 2 {
		fmt.Fprintf(d.out, "  See the drift: curl -H 'Authorization: Bearer %s' %s/api/v1/tenants/%s/changes\n", d.token, d.api, demoTenant)
	}
}

// demoChange adds an Anyone link and fixes one guest-invitation domain
// drift in the fake tenant, as an admin would, and says what it did. A
// fixture without those objects gets a note instead of a change.
func demoChange(ctx context.Context, svc *app.Service) []string {
	c := svc.Pipeline.Client(demoTenant)
	if c == nil {
		return []string{"no fake tenant to change"}
	}
	var done []string
	expires := svc.Pipeline.Clock(demoTenant)().UTC().Add(7 * 24 * time.Hour).Format(time.RFC3339)
	perm := map[string]any{
		"roles":              []string{"read"},
		"link":               map[string]any{"scope": "anonymous", "type": "view", "webUrl": "https://fabrikam.sharepoint.com/:u:/s/Marketing/EePressKit"},
		"expirationDateTime": expires,
	}
	const item = "/drives/b!Rt7-mktg/items/01MKTG2BRANDKIT/permissions"
	if err := c.GraphWrite(ctx, http.MethodPost, "v1.0", item, perm, nil); err != nil {
		done = append(done, "could not add an Anyone link: "+err.Error())
	} else {
		done = append(done, "someone shared the Marketing brand kit with a new Anyone link (expect one new finding)")
	}
	l, err := c.ReadInvitationDomains(ctx)
	if err == nil {
		keep := l.Allowed[:0:0]
		for _, d := range l.Allowed {
			if d != "gmail.com" {
				keep = append(keep, d)
			}
		}
		if len(keep) == len(l.Allowed) {
			err = errors.New("gmail.com is not on the guest invitation allow list")
		} else {
			l.Allowed = keep
			err = c.SetInvitationDomains(ctx, l)
		}
	}
	if err != nil {
		done = append(done, "could not fix a domain-list drift: "+err.Error())
	} else {
		done = append(done, "an admin removed gmail.com from the guest invitation allow list (expect one resolved finding)")
	}
	return done
}

// printDemoCycle prints one line per scan and what it changed in the
// findings: new, reopened and resolved ones.
func printDemoCycle(ctx context.Context, out io.Writer, st store.Store, cycle int, scanID int64) error {
	sc, err := st.Scan(ctx, scanID)
	if err != nil {
		return fmt.Errorf("read scan: %w", err)
	}
	fmt.Fprintf(out, "\nCycle %d (scan %d, %s): %d open, %d new, %d reopened, %d resolved, %d changes\n",
		cycle, sc.ID, sc.Status, sc.FindingsOpen, sc.FindingsNew, sc.FindingsReopened, sc.FindingsResolved, sc.Changes)
	trs, err := st.Transitions(ctx, scanID)
	if err != nil {
		return fmt.Errorf("read transitions: %w", err)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, tr := range trs {
		f := tr.Finding
		obj := f.ObjectName
		if obj == "" {
			obj = f.ObjectKey
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", tr.Kind, f.Severity, f.RuleID, clip(obj, 60))
	}
	return tw.Flush()
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
