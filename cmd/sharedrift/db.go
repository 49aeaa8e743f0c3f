package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/store"
)

// Environment variables naming the store, so that a DSN with a password
// need not appear on a command line, and the configuration file.
const (
	envStoreDSN = "SHAREDRIFT_STORE_DSN"
	envStateDir = "SHAREDRIFT_STATE_DIR"
	envConfig   = "SHAREDRIFT_CONFIG"
	// envCLIStoreDSN hands a --store DSN to a configuration, which takes
	// DSNs only as secret references (no double underscore: not an
	// override of its own).
	envCLIStoreDSN = "SHAREDRIFT_CLI_STORE_DSN"
)

// storeFlags are the flags every command that reads or writes state shares:
// --store DSN (PostgreSQL or sqlite:PATH), --state-dir DIR (the embedded
// SQLite database in it), --config FILE (the daemon's configuration, whose
// store section is used when neither is given) and, where the command has
// one, --tenant NAME. Without any of them the store is the SQLite database
// in the default state directory, the one the demo writes.
type storeFlags struct {
	dsn      string
	stateDir string
	fs       *pflag.FlagSet
	// cfg is the --config file, once loaded.
	cfg *config.Config
}

// addStoreFlags adds --store, --state-dir and, unless a tenant source
// already did, --config to fs.
func addStoreFlags(fs *pflag.FlagSet) *storeFlags {
	f := &storeFlags{fs: fs}
	fs.StringVar(&f.dsn, "store", "", "store `DSN`: postgres://…, host=… dbname=…, or sqlite:PATH (default $"+envStoreDSN+", else the --config file's store, else SQLite in the state directory)")
	fs.StringVar(&f.stateDir, "state-dir", "", "`DIR` of the embedded SQLite store (default $"+envStateDir+", else the --config file's store.state_dir, else $XDG_STATE_HOME/sharedrift)")
	addConfigFlag(fs)
	return f
}

// addConfigFlag adds --config unless fs has it: the store flags and a
// tenant source read the same one.
func addConfigFlag(fs *pflag.FlagSet) {
	if fs.Lookup("config") == nil {
		fs.String("config", "", configUsage)
	}
}

// aliasConfigFlag keeps an old spelling of --config working, hidden and
// marked deprecated.
func aliasConfigFlag(fs *pflag.FlagSet, old string) {
	fs.Var(fs.Lookup("config").Value, old, configUsage)
	_ = fs.MarkDeprecated(old, "use --config")
}

const configUsage = "configuration `FILE` (docs/configuration.md): its tenants and its store (default $" + envConfig + ")"

// explicit reports whether the user chose a store by flag or environment.
// A command that may work without a store (scan, report) records or reads
// one only then.
func (f *storeFlags) explicit() bool {
	return f.dsn != "" || f.stateDir != "" || os.Getenv(envStoreDSN) != "" || os.Getenv(envStateDir) != ""
}

// configFile is --config, else $SHAREDRIFT_CONFIG.
func (f *storeFlags) configFile() string {
	if fl := f.fs.Lookup("config"); fl != nil && fl.Value.String() != "" {
		return fl.Value.String()
	}
	return os.Getenv(envConfig)
}

// config loads the configuration file once; nil without one.
func (f *storeFlags) config() (*config.Config, error) {
	path := f.configFile()
	if path == "" || f.cfg != nil {
		return f.cfg, nil
	}
	if err := checkConfigExists(path); err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.Options{File: path, Env: os.Environ()})
	if err != nil {
		return nil, err
	}
	f.cfg = cfg
	return cfg, nil
}

// defaultStateDir follows the XDG base directory convention. The demo and
// every command share it.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sharedrift")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "sharedrift")
	}
	return ".sharedrift"
}

// choice returns the DSN the flags, environment and configuration choose,
// or the state directory whose SQLite file is the store, and where the
// choice came from.
func (f *storeFlags) choice() (dsn, stateDir, source string, err error) {
	if f.dsn != "" && f.stateDir != "" {
		return "", "", "", usagef("--store and --state-dir cannot be combined; choose one")
	}
	switch {
	case f.dsn != "":
		return f.dsn, "", "--store", checkDSN("--store", f.dsn)
	case f.stateDir != "":
		return "", f.stateDir, "--state-dir", nil
	case os.Getenv(envStoreDSN) != "":
		return os.Getenv(envStoreDSN), "", "$" + envStoreDSN, checkDSN("$"+envStoreDSN, os.Getenv(envStoreDSN))
	case os.Getenv(envStateDir) != "":
		return "", os.Getenv(envStateDir), "$" + envStateDir, nil
	}
	cfg, err := f.config()
	if err != nil {
		return "", "", "", err
	}
	if cfg != nil {
		src := f.configFile() + ": store"
		if dsn := cfg.Store.DSN.Value().Reveal(); dsn != "" {
			return dsn, "", src + ".dsn", nil
		}
		return "", cfg.Store.StateDir, src + ".state_dir", nil
	}
	return "", defaultStateDir(), "the default state directory", nil
}

// urlScheme matches the scheme of a URL-like DSN.
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// checkDSN rejects a URL-like DSN of a scheme the store does not speak:
// store.Open would take it for an SQLite file path and create that file.
// Only the scheme is quoted, never the rest, which may hold a password.
func checkDSN(source, dsn string) error {
	m := urlScheme.FindStringSubmatch(dsn)
	if m == nil {
		return nil
	}
	switch m[1] {
	case "postgres", "postgresql", "sqlite":
		return nil
	}
	return usagef("%s: unknown store scheme %q, expected postgres://…, host=… dbname=…, or sqlite:PATH", source, m[0])
}

// open opens the chosen store, creating and migrating it when needed: for
// commands that write (scan --store, migrate, the demo).
func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (store.Store, error) {
	dsn, dir, _, err := f.choice()
	if err != nil {
		return nil, err
	}
	opts := store.Options{Logger: log}
	if dsn != "" {
		return store.Open(ctx, dsn, opts)
	}
	return store.OpenStateDir(ctx, dir, opts)
}

// openExisting is open for commands that read what scans recorded: a
// store that does not exist is an error naming where it was looked for and
// the stores that do exist, never a new empty store left behind.
func (f *storeFlags) openExisting(ctx context.Context, log *slog.Logger) (store.Store, error) {
	dsn, dir, source, err := f.choice()
	if err != nil {
		return nil, err
	}
	path := ""
	switch {
	case dir != "":
		path = filepath.Join(dir, store.DefaultDBFile)
	case strings.HasPrefix(dsn, "sqlite:"):
		path = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
	}
	if path != "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s (from %s)%s", path, source, otherStores(path))
		}
	}
	if path != "" {
		return f.open(ctx, log)
	}
	// PostgreSQL: the database exists (or connecting fails), but a read
	// command neither creates nor upgrades the schema in it.
	s, err := store.Open(ctx, dsn, store.Options{Logger: log, NoMigrate: true})
	if errors.Is(err, store.ErrSchemaOutdated) {
		return nil, fmt.Errorf("%w (store from %s; commands that only read neither create nor upgrade a store)", err, source)
	}
	if err != nil {
		return nil, err
	}
	if ts, err := s.Tenants(ctx); err == nil && len(ts) == 0 {
		log.Warn("the store holds no tenants yet: record a scan first", "store", s.Target())
	}
	return s, nil
}

// otherStores names the stores that do exist where sharedrift keeps them
// by default, for an error about one that does not.
func otherStores(missing string) string {
	var found []string
	candidates := []string{filepath.Join(defaultStateDir(), store.DefaultDBFile)}
	if d := os.Getenv(envStateDir); d != "" {
		candidates = append(candidates, filepath.Join(d, store.DefaultDBFile))
	}
	candidates = append(candidates, filepath.Join(config.DefaultStateDir, store.DefaultDBFile))
	for _, c := range candidates {
		if c == missing || slices.Contains(found, c) {
			continue
		}
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return ": no store exists yet: record a scan first (sharedrift demo --once, or sharedrift scan --store …)"
	}
	return "; stores that exist: " + strings.Join(found, ", ") + " (choose one with --state-dir DIR or --store sqlite:PATH)"
}

// openTenant opens the existing store and resolves --tenant against it,
// for the commands that list what scans recorded. It returns the tenant's
// name as the store holds it (empty for all tenants).
func (f *storeFlags) openTenant(ctx context.Context, log *slog.Logger, tenantName string) (store.Store, string, error) {
	s, err := f.openExisting(ctx, log)
	if err != nil {
		return nil, "", err
	}
	if tenantName == "" {
		return s, "", nil
	}
	name, err := f.resolveTenant(ctx, s, tenantName)
	if err != nil {
		s.Close()
		return nil, "", err
	}
	return s, name, nil
}

// writeList writes items as a JSON array ([] when there are none) or as a
// table, printing empty instead of a table without rows.
func writeList[T any](w io.Writer, lf listFormat, items []T, empty string, header []string, row func(*T) []string) error {
	if lf == "json" {
		if items == nil {
			items = []T{}
		}
		return writeJSON(w, items)
	}
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, empty)
		return err
	}
	rows := make([][]string, 0, len(items))
	for i := range items {
		rows = append(rows, row(&items[i]))
	}
	return table(w, header, rows)
}

// resolveTenant finds the tenant --tenant names in the store. A tenant is
// stored under its canonical name (see canonicalTenant): the configured
// name, or for a fixture or snapshot scanned without a configuration its
// initial-domain prefix. --tenant may give that name, the initial domain
// (fabrikam.onmicrosoft.com), the directory ID, or, with --config, the
// domain of a configured tenant. A name that matches nothing is an error
// listing the tenants the store holds, never an empty listing.
func (f *storeFlags) resolveTenant(ctx context.Context, s store.Store, name string) (string, error) {
	ts, err := s.Tenants(ctx)
	if err != nil {
		return "", fmt.Errorf("list tenants: %w", err)
	}
	want := []string{name, canonicalTenant(name)}
	if cfg, _ := f.config(); cfg != nil {
		for key, t := range cfg.Tenants {
			if t.Domain != "" && (strings.EqualFold(name, t.Domain) || strings.EqualFold(name, t.Domain+".onmicrosoft.com") || strings.EqualFold(name, t.TenantID)) {
				want = append(want, key)
			}
		}
	}
	names := make([]string, 0, len(ts))
	for _, w := range want {
		for _, t := range ts {
			if t.Name == w || strings.EqualFold(t.Name, w) || (t.TenantID != "" && strings.EqualFold(t.TenantID, name)) {
				return t.Name, nil
			}
		}
	}
	for _, t := range ts {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", fmt.Errorf("--tenant %q: the store %s holds no tenants yet: record a scan first", name, s.Target())
	}
	return "", fmt.Errorf("--tenant %q: no such tenant in the store %s (tenants: %s)", name, s.Target(), strings.Join(names, ", "))
}

// resolveTenant is storeFlags.resolveTenant without a configuration.
func resolveTenant(ctx context.Context, s store.Store, name string) (string, error) {
	return (&storeFlags{fs: pflag.NewFlagSet("", pflag.ContinueOnError)}).resolveTenant(ctx, s, name)
}

// pickTenant resolves name, or without one returns the store's only tenant.
func (f *storeFlags) pickTenant(ctx context.Context, s store.Store, name string) (string, error) {
	if name != "" {
		return f.resolveTenant(ctx, s, name)
	}
	return pickTenant(ctx, s, "")
}

// canonicalTenant is the name a tenant is stored under when it has no
// configured name: the initial domain's prefix (fabrikam for
// fabrikam.onmicrosoft.com), so that the demo, the daemon and a scan of the
// same fixture are one tenant.
func canonicalTenant(name string) string {
	if p, ok := strings.CutSuffix(strings.ToLower(name), ".onmicrosoft.com"); ok && p != "" && !strings.Contains(p, ".") {
		return p
	}
	return name
}

// recordStep is the scan step that records the scan when a store was
// chosen; without --store or --state-dir a scan stays stateless.
type recordStep struct {
	flags *storeFlags
	// st and state are set when collection resumed from the store.
	st    store.Store
	state *app.State
}

func (r *recordStep) addFlags(fs *pflag.FlagSet) { r.flags = addStoreFlags(fs) }

// resume lets a collected scan read only what changed since the store's
// last one. The store is opened only once a tenant is being collected, so
// bad input before that writes nothing.
func (r *recordStep) resume(log *slog.Logger) stateFunc {
	if !r.flags.explicit() {
		return nil
	}
	return func(ctx context.Context, tenantName string) (m365.State, error) {
		s, err := r.flags.open(ctx, log)
		if err != nil {
			return nil, err
		}
		r.st = s
		r.state = app.NewState(s, canonicalTenant(tenantName), config.DefaultFullScanEvery, time.Now())
		return r.state, nil
	}
}

func (r *recordStep) release() {
	if r.st != nil {
		r.st.Close()
		r.st = nil
	}
}

func (r *recordStep) run(ctx context.Context, log *slog.Logger, sc *scanOutcome) error {
	if !r.flags.explicit() {
		return nil
	}
	s := r.st
	if s == nil {
		var err error
		if s, err = r.flags.open(ctx, log); err != nil {
			return err
		}
		defer s.Close()
	}
	// The store knows a tenant by its canonical name, however the source
	// named it; the printed scan keeps the source's name.
	orig := sc.Snapshot.Tenant
	sc.Snapshot.Tenant = canonicalTenant(orig)
	defer func() { sc.Snapshot.Tenant = orig }()
	job := app.RecordJob{Baseline: sc.Baseline, BaselineRef: sc.BaselineRef}
	if r.state != nil {
		// Only the tokens of sections that completed advance.
		job.Tokens = r.state.Tokens(sc.Snapshot)
	}
	scanned, err := app.Record(ctx, s, sc.Snapshot, job)
	if err != nil {
		return err
	}
	defer scanned.Close()
	rec := scanned.Scan
	log.Info("scan stored", "store", s.Target(), "scan_id", rec.ID, "changes", rec.Changes,
		"findings_new", rec.FindingsNew, "findings_resolved", rec.FindingsResolved, "findings_open", rec.FindingsOpen)
	return nil
}

// listFormat is the --format of the history commands.
type listFormat string

func addListFormat(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "format", "table", "output format: table or json")
}

func parseListFormat(v string) (listFormat, error) {
	switch v {
	case "table", "json":
		return listFormat(v), nil
	}
	return "", usagef("--format: %q, expected table or json", v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; cells are cleaned of tabs and newlines.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	clean := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
	write := func(cells []string) {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = clean.Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(out, "\t"))
	}
	write(header)
	for _, r := range rows {
		write(r)
	}
	return tw.Flush()
}

// parseAge reads a duration such as 90d, 2w, 12h or 30m (Go durations too).
func parseAge(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, fmt.Errorf("empty duration")
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if u, ok := unit[v[len(v)-1]]; ok {
		n, err := strconv.ParseFloat(v[:len(v)-1], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: expected a number before %q", v, v[len(v)-1:])
		}
		return time.Duration(n * float64(u)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: expected a duration like 90d, 2w, 12h or 30m", v)
	}
	return d, nil
}

// parseSince accepts an age (7d) or an RFC 3339 time or date.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	d, err := parseAge(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w, or a date like 2026-03-01", err)
	}
	return now.Add(-d), nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Maintain the store (status, retention)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDBPruneCmd(), newDBStatusCmd())
	return cmd
}

func newDBPruneCmd() *cobra.Command {
	var olderThan, format, tenantName string
	var dryRun bool
	var sf *storeFlags
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete scans, object versions and history older than a retention period",
		Long: `Prune deletes, per tenant, scans that started before the cutoff with their results
and changes, object versions superseded before it, findings resolved before it, and
delivered or dead notifications. Each tenant's latest scan and its current state are
always kept, and the remediation audit is never pruned. --tenant prunes one tenant's
history and notifications only.`,
		Example: `  sharedrift db prune --older-than 90d --dry-run
  sharedrift db prune --older-than 90d
  sharedrift db prune --older-than 30d --tenant contoso
  sharedrift db prune --older-than 2w --store "$DSN" --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			age, err := parseAge(olderThan)
			if err != nil {
				return usagef("--older-than: %w", err)
			}
			s, name, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			defer s.Close()
			verb := "pruned"
			if dryRun {
				verb = "would prune"
			}
			st, err := s.Prune(cmd.Context(), store.PruneOptions{Before: time.Now().Add(-age), Tenant: name, DryRun: dryRun})
			if err != nil {
				return err
			}
			if lf == "json" {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d scans, %d object versions, %d changes, %d results, %d resolved findings, %d notifications\n",
				verb, st.Scans, st.ObjectVersions, st.Changes, st.Results, st.Findings, st.Outbox)
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "90d", "retention `AGE`: 90d, 2w, 12h…")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be deleted and delete nothing")
	cmd.Flags().StringVar(&tenantName, "tenant", "", "only this tenant (default: all)")
	addListFormat(cmd.Flags(), &format)
	sf = addStoreFlags(cmd.Flags())
	return cmd
}

func newDBStatusCmd() *cobra.Command {
	var format, tenantName string
	var sf *storeFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which store is used, its schema version and tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			s, name, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			cur, sup, err := s.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			tenants, err := s.Tenants(ctx)
			if err != nil {
				return err
			}
			if name != "" {
				tenants = slices.DeleteFunc(tenants, func(t store.Tenant) bool { return t.Name != name })
			}
			if lf == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"driver": s.Driver(), "target": s.Target(),
					"schemaVersion": cur, "supportedVersion": sup, "tenants": tenants})
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "store:   %s\nschema:  version %d (binary supports %d)\n", s.Target(), cur, sup)
			if name == "" {
				fmt.Fprintf(w, "tenants: %d\n", len(tenants))
				return nil
			}
			return printTenantStatus(ctx, w, s, tenants[0])
		},
	}
	cmd.Flags().StringVar(&tenantName, "tenant", "", "also show this tenant's scans and open findings")
	addListFormat(cmd.Flags(), &format)
	sf = addStoreFlags(cmd.Flags())
	return cmd
}

// printTenantStatus adds one tenant's lines to db status: its scans, the
// latest whole one and the scoped ones since (change scans of a few
// drives, which are not the tenant's state), and its open findings by
// severity.
func printTenantStatus(ctx context.Context, w io.Writer, s store.Store, t store.Tenant) error {
	scans, err := s.Scans(ctx, store.ScanFilter{Tenant: t.Name})
	if err != nil {
		return err
	}
	counts, err := s.FindingCounts(ctx, t.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "tenant:  %s", t.Name)
	if t.TenantID != "" {
		fmt.Fprintf(w, " (%s)", t.TenantID)
	}
	fmt.Fprintf(w, "\nscans:   %d", len(scans))
	scoped := 0
	for i := range scans {
		if !scans[i].Scoped() {
			last := scans[i]
			fmt.Fprintf(w, ", latest %d at %s, %s", last.ID, last.StartedAt.UTC().Format("2006-01-02 15:04"), last.Status)
			break
		}
		scoped++
	}
	if scoped > 0 {
		fmt.Fprintf(w, "; since then %d scoped to changed drives, the latest %d at %s", scoped, scans[0].ID, scans[0].StartedAt.UTC().Format("2006-01-02 15:04"))
	}
	open := map[string]int64{}
	var total int64
	for _, c := range counts {
		if c.State != store.FindingResolved {
			open[string(c.Severity)] += c.Count
			total += c.Count
		}
	}
	fmt.Fprintf(w, "\nopen:    %d findings", total)
	var parts []string
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if open[sev] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", open[sev], sev))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	return nil
}
