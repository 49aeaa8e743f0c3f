package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Options configures a Pipeline.
type Options struct {
	Store  ScanStore
	Logger *slog.Logger
	// SectionTimeout bounds each section's collection (scanner default when 0).
	SectionTimeout time.Duration
	// AfterRecord runs after a scan is committed (notification planning,
	// remediation); its error is logged, not returned, because the scan
	// itself is safe.
	AfterRecord func(ctx context.Context, r Recorded) error
	// Version is the binary's, reported to Microsoft in the User-Agent.
	Version string
	// OpenFixture serves a tenant's fixture directory in-process; required
	// only when a tenant has one (the demo, tests, offline trials).
	OpenFixture OpenFixture
	// Sections are what a scheduled scan reads (nil: every section); the
	// benchmark's generated tenant serves only some.
	Sections []tenant.Section
}

// FixtureTenant is a fixture directory served in-process as a tenant.
type FixtureTenant interface {
	// ClientOptions addresses the collector's client at it.
	ClientOptions() m365.Options
	// RecordedAt is the moment the fixture was recorded, nil when it has none.
	RecordedAt() *time.Time
	Close()
}

// ClockedFixture is a FixtureTenant with a clock of its own (the
// benchmark's generated tenant, whose time runs faster than real time):
// its scans start, and their snapshots are stamped, on that clock.
type ClockedFixture interface {
	FixtureTenant
	Now() time.Time
}

// OpenFixture opens the fixture directory dir as a tenant. The caller
// injects it so that the product's core never links the fake tenant.
type OpenFixture func(dir string, log *slog.Logger) (FixtureTenant, error)

// Recorded is a committed scan with what it was computed from.
type Recorded struct {
	Tenant   config.Tenant
	Scan     store.Scan
	Snapshot *tenant.Snapshot
	// Results are the scan's results, valid during the call.
	Results  *tenant.ResultSpool
	Baseline *baselines.Baseline
}

// Pipeline scans tenants. Build it once per process with New.
type Pipeline struct {
	o       Options
	log     *slog.Logger
	targets map[string]*target
}

type target struct {
	cfg      config.Tenant
	baseline *baselines.Baseline
	client   *m365.Client
	fake     FixtureTenant
	now      func() time.Time
	// ownClock: scans start on now, not on the wall clock.
	ownClock bool
}

// New loads every tenant's baseline and prepares its collector: an
// in-process fake tenant for fixture tenants, a credentialed client
// otherwise. Errors name the tenant and key, and nothing is left running.
func New(o Options, tenants []config.Tenant) (*Pipeline, error) {
	if o.Store == nil {
		return nil, errors.New("pipeline: a store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{o: o, log: o.Logger, targets: map[string]*target{}}
	var errs []error
	for _, t := range tenants {
		tg, err := p.prepare(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.targets[t.Name] = tg
	}
	if len(errs) > 0 {
		p.Close()
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func (p *Pipeline) prepare(t config.Tenant) (*target, error) {
	b, err := baselines.Load(t.Baseline)
	if err != nil {
		return nil, fmt.Errorf("tenants.%s.baseline: tenant %q: %w", t.Name, t.Name, err)
	}
	if err := rules.CheckBaseline(b); err != nil {
		return nil, fmt.Errorf("tenants.%s.baseline: tenant %q: %w", t.Name, t.Name, err)
	}
	tg := &target{cfg: t, baseline: b}
	if t.Fixture != "" {
		if p.o.OpenFixture == nil {
			return nil, fmt.Errorf("tenants.%s.fixture: tenant %q: fixture tenants are served only by the demo and offline commands", t.Name, t.Name)
		}
		srv, err := p.o.OpenFixture(t.Fixture, p.log)
		if err != nil {
			return nil, fmt.Errorf("tenants.%s.fixture: tenant %q: %w", t.Name, t.Name, err)
		}
		co := srv.ClientOptions()
		co.Logger, co.Version = p.log, p.o.Version
		c, err := m365.New(co)
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("tenant %q: fake tenant client: %w", t.Name, err)
		}
		tg.client, tg.fake = c, srv
		if cf, ok := srv.(ClockedFixture); ok {
			tg.now, tg.ownClock = cf.Now, true
		} else if now := srv.RecordedAt(); now != nil {
			// A fixture is a moment in time; age-based rules use its clock,
			// moved forward by the time since the daemon started so that
			// successive scans still have increasing collection times.
			start, fixed := time.Now(), *now
			tg.now = func() time.Time { return fixed.Add(time.Since(start)) }
		}
		return tg, nil
	}
	tc := LiveConfig(t)
	for _, w := range tc.Warnings("tenants." + t.Name + ".credentials.method: client_secret") {
		p.log.Warn("configuration cannot work", slog.String("tenant", t.Name), slog.String("problem", w))
	}
	cred, err := tc.Credential()
	if err != nil {
		return nil, fmt.Errorf("tenants.%s.credentials: tenant %q: %w", t.Name, t.Name, err)
	}
	ep, err := tc.Endpoints()
	if err != nil {
		return nil, fmt.Errorf("tenants.%s.cloud: tenant %q: %w", t.Name, t.Name, err)
	}
	c, err := m365.New(m365.Options{TenantID: t.TenantID, Endpoints: ep, Tokens: m365.NewCredentialTokens(cred), Logger: p.log, Version: p.o.Version})
	if err != nil {
		return nil, fmt.Errorf("tenant %q: client: %w", t.Name, err)
	}
	tg.client = c
	return tg, nil
}

// LiveConfig maps the daemon's tenant configuration onto the collector's.
func LiveConfig(t config.Tenant) m365.TenantConfig {
	cr := t.Credentials
	tc := m365.TenantConfig{TenantID: t.TenantID, SharePointTenant: t.Domain, Cloud: t.Cloud, ClientID: cr.ClientID}
	switch cr.Method {
	case config.AuthClientSecret:
		tc.Auth = m365.AuthConfig{Method: m365.AuthSecret, SecretEnv: cr.ClientSecret.Env, SecretFile: cr.ClientSecret.File}
	case config.AuthCertificate:
		tc.Auth = m365.AuthConfig{Method: m365.AuthCertificate, CertificateFile: cr.Certificate.File, CertificatePasswordEnv: cr.CertificatePassword.Env}
	case config.AuthWorkloadIdentity:
		tc.Auth = m365.AuthConfig{Method: m365.AuthWorkload, TokenFile: cr.TokenFile}
	case config.AuthManagedIdentity:
		tc.Auth = m365.AuthConfig{Method: m365.AuthManaged, ManagedIdentityClientID: cr.ClientID}
		tc.ClientID = ""
	}
	return tc
}

// Fixture returns the in-process tenant of a fixture tenant (nil otherwise).
func (p *Pipeline) Fixture(name string) FixtureTenant {
	if tg, ok := p.targets[name]; ok {
		return tg.fake
	}
	return nil
}

// Client returns the collector's client of a tenant (nil when unknown);
// remediation writes through it.
func (p *Pipeline) Client(name string) *m365.Client {
	if tg, ok := p.targets[name]; ok {
		return tg.client
	}
	return nil
}

// Clock returns the tenant's clock: a fixture tenant's own time, moving
// forward from when the daemon started, or the wall clock. Snapshot ages
// are measured against it.
func (p *Pipeline) Clock(name string) func() time.Time {
	if tg, ok := p.targets[name]; ok && tg.now != nil {
		return tg.now
	}
	return time.Now
}

// Close stops the fake tenants.
func (p *Pipeline) Close() {
	for _, tg := range p.targets {
		if tg.fake != nil {
			tg.fake.Close()
		}
	}
}

// Scan implements daemon.ScanFunc: collect, evaluate, record.
func (p *Pipeline) Scan(ctx context.Context, req daemon.ScanRequest) (daemon.ScanResult, error) {
	res, err := p.scan(ctx, req, nil, nil)
	return res.ScanResult, err
}

// pipelineScan is a scan's result with its sections' states.
type pipelineScan struct {
	daemon.ScanResult
	sections map[tenant.Section]tenant.SectionStatus
}

// scan collects the sections named (nil: all), of the links only the
// drives named (nil: all), evaluates and records, and runs AfterRecord.
func (p *Pipeline) scan(ctx context.Context, req daemon.ScanRequest, sections []tenant.Section, drives []string) (pipelineScan, error) {
	tg, ok := p.targets[req.Tenant.Name]
	if !ok {
		return pipelineScan{}, daemon.ErrUnknownTenant
	}
	// A scan never starts before its slot, even on a replica whose clock
	// lags: replicas recognise a slot as done by a scan started at or after
	// it, so the clamp makes that independent of clock skew.
	started := time.Now().UTC()
	if tg.ownClock {
		started = tg.now().UTC()
	}
	if started.Before(req.Slot) {
		started = req.Slot
	}
	job := ScanJob{Tenant: tg.cfg.Name, TenantID: tg.cfg.TenantID, Client: tg.client, Baseline: tg.baseline, BaselineRef: tg.cfg.Baseline,
		FullEvery: tg.cfg.FullScanEvery.D(), Started: started, Timeout: p.o.SectionTimeout, Clock: tg.now, Logger: p.log,
		Sources: m365.SourceOptions{SitePropertiesEvery: tg.cfg.SitePropertiesEvery.D(), SitePropertiesPages: tg.cfg.SitePropertiesWindow(), Now: tg.now,
			Discovery: tg.cfg.LinkDiscovery}}
	if req.Lease.Name != "" {
		job.Fence = &store.Lease{Name: req.Lease.Name, Owner: req.Lease.Owner, Generation: req.Lease.Generation}
	}
	if sections == nil {
		sections = p.o.Sections
	}
	job.Sections, job.Sources.OnlyDrives = sections, drives
	scanned, err := Scan(ctx, p.o.Store, job)
	if errors.Is(err, store.ErrLeaseLost) {
		return pipelineScan{}, daemon.ErrLeaseLost
	}
	if err != nil {
		return pipelineScan{}, err
	}
	defer scanned.Close()
	sc, snap, results := scanned.Scan, scanned.Snapshot, scanned.Results
	res := daemon.ScanResult{ScanID: sc.ID, Status: string(sc.Status),
		Calls: int(sc.Stats.APICalls), Throttled: int(sc.Stats.Throttled), RU: sc.Stats.RU}
	// Excepted failures are passes by now: every failure counts.
	res.Fails = results.Counts().Fail
	if p.o.AfterRecord != nil {
		rec := Recorded{Tenant: tg.cfg, Scan: sc, Snapshot: snap, Results: results, Baseline: tg.baseline}
		if err := p.o.AfterRecord(ctx, rec); err != nil {
			p.log.Warn("after scan", "tenant", tg.cfg.Name, "scan_id", sc.ID, "error", err)
		}
	}
	return pipelineScan{ScanResult: res, sections: sc.Sections}, nil
}
