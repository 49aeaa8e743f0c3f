package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
)

// daemonFlagKeys maps the daemon's flags to configuration keys; flags win
// over the environment, which wins over the file.
var daemonFlagKeys = map[string]string{
	"listen":       "http.listen",
	"state-dir":    "store.state_dir",
	"startup-scan": "scheduler.startup_scan",
	"log-level":    "log.level",
	"log-format":   "log.format",
}

func newDaemonCmd() *cobra.Command {
	var cfgFile, owner, storeDSN string
	var only []string
	var healthcheck bool
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Scan tenants on their schedules and serve health, metrics and the JSON API",
		Long: `Daemon loads the configuration (the --config file, then SHAREDRIFT_... environment
variables, then flags), checks all of it, and then scans every tenant on its schedule.
Any configuration problem stops it at start with exit status 1, naming the key and tenant.

With PostgreSQL (store.dsn) any number of replicas may run: each due scan runs exactly
once, and a dead replica's tenants are taken over when its lease expires. With the
embedded SQLite store (store.state_dir) only one daemon may use a state directory.

Logs go to stderr as JSON, one object a line, unless log.format (or --log-format)
says text.

SIGHUP reloads the configuration file: when it is valid the daemon stops gracefully
and starts again with the new tenants, notification destinations and settings (in
the same process, on the same address); when it is not, the error is logged and the
running configuration stays.

SIGTERM or SIGINT stops scheduling, lets running scans finish within
scheduler.grace_period, abandons the rest without committing, and exits 0.
See docs/configuration.md, docs/api.md and docs/deploy.md.`,
		Example: `  sharedrift daemon --config /etc/sharedrift/sharedrift.yaml
  SHAREDRIFT_HTTP__LISTEN=0.0.0.0:8080 sharedrift daemon --config sharedrift.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgFile == "" {
				cfgFile = os.Getenv("SHAREDRIFT_CONFIG")
			}
			env, overrides := os.Environ(), config.FlagOverrides(cmd.Flags(), daemonFlagKeys)
			if storeDSN != "" {
				if cmd.Flags().Changed("state-dir") {
					return usagef("--store and --state-dir cannot be combined; choose one")
				}
				if err := checkDSN("--store", storeDSN); err != nil {
					return err
				}
				// The configuration takes a DSN only as a secret reference.
				env = append(env, envCLIStoreDSN+"="+storeDSN)
				overrides["store.dsn"] = "env:" + envCLIStoreDSN
			}
			load := func() (*config.Config, error) {
				if err := checkConfigExists(cfgFile); err != nil {
					return nil, err
				}
				c, err := config.Load(config.Options{
					File:           cfgFile,
					Env:            env,
					Overrides:      overrides,
					RequireTenants: true,
				})
				if err != nil {
					return nil, err
				}
				return c, onlyTenants(c, only)
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			if healthcheck {
				return probeReady(cmd.Context(), cfg.HTTP.Listen)
			}
			log := daemonLogger(cfg.Log, cmd.ErrOrStderr())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			ver, _ := buildInfo()
			// SIGHUP reloads the configuration file (tenants,
			// notifications, everything): see app.Run.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reload := make(chan struct{})
			go func() {
				for {
					select {
					case <-hup:
						select {
						case reload <- struct{}{}:
						case <-ctx.Done():
							return
						}
					case <-ctx.Done():
						return
					}
				}
			}()
			return app.Run(ctx, cfg, load, reload, app.ServiceOptions{Logger: log, Owner: owner, Version: ver, OpenFixture: fixtureOpener(fixtureAnchors(ctx, cfg))})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "configuration `FILE` (YAML); default $SHAREDRIFT_CONFIG")
	f.String("listen", "", "HTTP listen `ADDR` (host:port), overrides http.listen")
	f.String("state-dir", "", "state `DIR` for the embedded store, overrides store.state_dir")
	f.StringVar(&storeDSN, "store", "", "store `DSN` (postgres://…, host=… dbname=…, or sqlite:PATH), overrides store.dsn")
	f.Bool("startup-scan", true, "scan every tenant's current slot at start, overrides scheduler.startup_scan")
	f.BoolVar(&healthcheck, "healthcheck", false, "probe the running daemon's /readyz on http.listen and exit 0 if ready (for container health checks)")
	f.StringVar(&owner, "replica-id", "", "`NAME` of this replica in leases (default host name and pid)")
	f.StringSliceVar(&only, "tenant", nil, "run only this configured tenant `NAME` (repeat or separate with commas; default: every tenant)")
	return cmd
}

// onlyTenants keeps the configured tenants --tenant names, given by their
// configured name, domain, initial domain or directory ID; a name that
// matches none is an error listing the configured tenants.
func onlyTenants(cfg *config.Config, only []string) error {
	if len(only) == 0 {
		return nil
	}
	keep := map[string]bool{}
	for _, want := range only {
		found := ""
		for key, t := range cfg.Tenants {
			if strings.EqualFold(key, want) || strings.EqualFold(key, canonicalTenant(want)) ||
				(t.Domain != "" && (strings.EqualFold(t.Domain, want) || strings.EqualFold(t.Domain+".onmicrosoft.com", want))) ||
				(t.TenantID != "" && strings.EqualFold(t.TenantID, want)) {
				found = key
				break
			}
		}
		if found == "" {
			return usagef("--tenant %q: not in the configuration (tenants: %s)", want, strings.Join(cfg.TenantNames(), ", "))
		}
		keep[found] = true
	}
	for key := range cfg.Tenants {
		if !keep[key] {
			delete(cfg.Tenants, key)
		}
	}
	return nil
}

// probeReady asks a running daemon whether it is ready. Images without a
// shell or curl use it as their health check.
func probeReady(ctx context.Context, listen string) error {
	if listen == "" {
		return errors.New("healthcheck: http.listen is empty, nothing to probe")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("healthcheck: http.listen: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /readyz answered %d", resp.StatusCode)
	}
	return nil
}

// daemonLogger builds the daemon's logger from configuration: JSON by
// default, for log collectors.
func daemonLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
