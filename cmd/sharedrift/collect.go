package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// fixtureSource scans a fixture tenant directory: the fake tenant runs
// in-process and the real collector reads it over HTTP.
type fixtureSource struct {
	dir    string
	record *m365test.Recorder
	state  stateFunc
	// meta is the loaded fixture's identity, for recordings.
	meta     m365test.Meta
	progress progressTo
}

func (f *fixtureSource) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.dir, "fixture", "", "scan a fixture tenant `DIR` of raw API responses (see testdata/tenants/README.md) through the real collector")
}

func (f *fixtureSource) chosen() bool  { return f.dir != "" }
func (f *fixtureSource) usage() string { return "--fixture DIR" }

func (f *fixtureSource) load(ctx context.Context, log *slog.Logger) (*tenant.Snapshot, error) {
	srv, err := m365test.New(f.dir, m365test.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start fixture tenant: %w", err)
	}
	defer srv.Close()
	co := srv.ClientOptions()
	co.Logger = log
	if f.record != nil {
		co.Recorder = f.record
	}
	c, err := m365.New(co)
	if err != nil {
		return nil, err
	}
	meta := srv.Meta()
	f.meta = meta
	opts := scanner.Options{Tenant: meta.Tenant, TenantID: meta.TenantID, Logger: log}
	if meta.Now != nil {
		// A fixture is a moment in time: age-based rules use its clock.
		opts.Now = func() time.Time { return *meta.Now }
	}
	return collectSnapshot(ctx, log, c, opts, f.state, f.progress)
}

func (f *fixtureSource) resumeFrom(fn stateFunc) { f.state = fn }

func (f *fixtureSource) showProgress(p *progressOpt, w func() io.Writer) {
	f.progress = progressTo{p, w}
}

func (l *liveSource) showProgress(p *progressOpt, w func() io.Writer) { l.progress = progressTo{p, w} }

// progressTo is where a collecting source shows its progress.
type progressTo struct {
	opt *progressOpt
	w   func() io.Writer // the command's stderr, once it runs
}

// liveSource scans a real tenant described in a configuration file.
type liveSource struct {
	config, tenant string
	timeout        time.Duration
	record         *m365test.Recorder
	// tc and tokens are set by client.
	tc     m365.TenantConfig
	tokens m365.TokenProvider
	// fake serves a fixture tenant of a daemon configuration.
	fake     *m365test.Server
	state    stateFunc
	progress progressTo
}

func (l *liveSource) resumeFrom(fn stateFunc) { l.state = fn }

func (l *liveSource) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&l.config, "config", "", configUsage)
	fs.StringVar(&l.tenant, "tenant", "", "with --config: the tenant `NAME` to scan")
	fs.DurationVar(&l.timeout, "section-timeout", scanner.DefaultTimeout, "with --config: time limit for collecting each section")
}

func (l *liveSource) chosen() bool  { return l.config != "" || l.tenant != "" }
func (l *liveSource) usage() string { return "--config FILE --tenant NAME" }

func (l *liveSource) load(ctx context.Context, log *slog.Logger) (*tenant.Snapshot, error) {
	c, tc, err := l.client(log)
	if err != nil {
		return nil, err
	}
	defer l.close()
	opts := scanner.Options{Tenant: l.tenant, TenantID: tc.TenantID, Timeout: l.timeout, Logger: log}
	if l.fake != nil {
		if meta := l.fake.Meta(); meta.Now != nil {
			// A fixture is a moment in time: age-based rules use its clock.
			opts.Now = func() time.Time { return *meta.Now }
		}
	}
	return collectSnapshot(ctx, log, c, opts, l.state, l.progress)
}

// fixtureClient serves a daemon configuration's fixture tenant in-process.
func (l *liveSource) fixtureClient(dir string, log *slog.Logger) (*m365.Client, m365.TenantConfig, error) {
	srv, err := m365test.New(dir, m365test.Options{Logger: log})
	if err != nil {
		return nil, m365.TenantConfig{}, fmt.Errorf("tenant %s: start fixture tenant: %w", l.tenant, err)
	}
	l.fake = srv
	co := srv.ClientOptions()
	co.Logger = log
	if l.record != nil {
		co.Recorder = l.record
	}
	tc := m365.TenantConfig{TenantID: srv.Meta().TenantID, SharePointTenant: srv.Meta().SharePointTenant}
	l.tc, l.tokens = tc, co.Tokens
	c, err := m365.New(co)
	return c, tc, err
}

// close stops a fixture tenant served for a daemon configuration.
func (l *liveSource) close() {
	if l.fake != nil {
		l.fake.Close()
		l.fake = nil
	}
}

// client builds the live client from --config and --tenant.
func (l *liveSource) client(log *slog.Logger) (*m365.Client, m365.TenantConfig, error) {
	if l.config == "" || l.tenant == "" {
		return nil, m365.TenantConfig{}, usagef("--config and --tenant go together")
	}
	// The daemon's configuration file works here as well as the short one.
	tc, fixture, err := tenantConnection(l.config, l.tenant)
	if err != nil {
		return nil, tc, err
	}
	if fixture != "" {
		return l.fixtureClient(fixture, log)
	}
	for _, w := range tc.Warnings(l.config + ": tenant " + l.tenant + " credentials") {
		log.Warn("configuration cannot work", slog.String("problem", w))
	}
	cred, err := tc.Credential()
	if err != nil {
		return nil, tc, fmt.Errorf("tenant %s: %w", l.tenant, err)
	}
	ep, err := tc.Endpoints()
	if err != nil {
		return nil, tc, err
	}
	ver, _ := buildInfo()
	l.tc, l.tokens = tc, m365.NewCredentialTokens(cred)
	o := m365.Options{TenantID: tc.TenantID, Endpoints: ep, Tokens: l.tokens, Logger: log, Version: ver}
	if l.record != nil {
		o.Recorder = l.record
	}
	c, err := m365.New(o)
	return c, tc, err
}

// stateFunc returns the incremental-collection state of a tenant, or nil
// for a full collection.
type stateFunc func(ctx context.Context, tenantName string) (m365.State, error)

// collectSnapshot runs every section's source, resuming from the state
// when there is one.
func collectSnapshot(ctx context.Context, log *slog.Logger, c *m365.Client, opts scanner.Options, state stateFunc, pt progressTo) (*tenant.Snapshot, error) {
	start := time.Now()
	so := m365.SourceOptions{}
	if state != nil {
		st, err := state(ctx, opts.Tenant)
		if err != nil {
			return nil, err
		}
		so.State = st
		// As the daemon's default: a window of site-properties pages.
		so.SitePropertiesPages = config.DefaultSitePropertiesPages
	}
	if pt.opt != nil {
		opts.Progress = &scanner.Progress{}
		stop, err := pt.opt.start(pt.w(), opts.Progress, "collecting "+opts.Tenant)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	snap := scanner.Scan(ctx, m365.Sources(c, so), opts)
	calls := 0
	for _, st := range snap.Status {
		calls += st.Calls
	}
	log.Debug("tenant collected", "tenant", snap.Tenant, "calls", calls, "incremental", so.State != nil, "elapsed", time.Since(start).String())
	return snap, nil
}
