// Package pipeline wires the real stages into the daemon: it collects a
// tenant through the Microsoft 365 collector (or an in-process fake tenant
// for fixture tenants), evaluates the rules against the tenant's baseline
// and records the scan in the store, fenced on the tenant's lease. It also
// adapts the store to the daemon's Coordinator, Reader and metrics source.
package pipeline

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
	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Options configures a Pipeline.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// SectionTimeout bounds each section's collection (scanner default when 0).
	SectionTimeout time.Duration
	// AfterRecord runs after a scan is committed (notification planning,
	// remediation); its error is logged, not returned, because the scan
	// itself is safe.
	AfterRecord func(ctx context.Context, r Recorded) error
	// UserAgentVersion is reported to Microsoft in the User-Agent.
	UserAgentVersion string
}

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
	fake     *m365test.Server
	now      func() time.Time
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
	if o.UserAgentVersion != "" {
		m365.Version = o.UserAgentVersion
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
		srv, err := m365test.New(t.Fixture, m365test.Options{Logger: p.log})
		if err != nil {
			return nil, fmt.Errorf("tenants.%s.fixture: tenant %q: %w", t.Name, t.Name, err)
		}
		co := srv.ClientOptions()
		co.Logger = p.log
		c, err := m365.New(co)
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("tenant %q: fake tenant client: %w", t.Name, err)
		}
		tg.client, tg.fake = c, srv
		if meta := srv.Meta(); meta.Now != nil {
			// A fixture is a moment in time; age-based rules use its clock,
			// moved forward by the time since the daemon started so that
			// successive scans still have increasing collection times.
			start, fixed := time.Now(), *meta.Now
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
	c, err := m365.New(m365.Options{TenantID: t.TenantID, Endpoints: ep, Tokens: m365.NewCredentialTokens(cred), Logger: p.log})
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

// Fake returns the in-process fake tenant of a fixture tenant (nil otherwise).
func (p *Pipeline) Fake(name string) *m365test.Server {
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
	tg, ok := p.targets[req.Tenant.Name]
	if !ok {
		return daemon.ScanResult{}, daemon.ErrUnknownTenant
	}
	// A scan never starts before its slot, even on a replica whose clock
	// lags: replicas recognise a slot as done by a scan started at or after
	// it, so the clamp makes that independent of clock skew.
	started := time.Now().UTC()
	if started.Before(req.Slot) {
		started = req.Slot
	}
	opts := scanner.Options{Tenant: tg.cfg.Name, TenantID: tg.cfg.TenantID, Timeout: p.o.SectionTimeout, Logger: p.log, Now: tg.now}
	// Collection resumes from the stored delta tokens and objects; the
	// tokens of the sections that complete are stored with the scan.
	state := NewState(p.o.Store, tg.cfg.Name, tg.cfg.FullScanEvery.D(), started)
	so := m365.SourceOptions{State: state, GuestRefresh: state.fullEvery, SitePropertiesEvery: tg.cfg.SitePropertiesEvery.D(),
		SitePropertiesPages: tg.cfg.SitePropertiesWindow(), Now: tg.now}
	snap := scanner.Scan(ctx, m365.Sources(tg.client, so), opts)
	if err := ctx.Err(); err != nil {
		// Sections cut short by cancellation are not a tenant's state.
		return daemon.ScanResult{}, fmt.Errorf("collect %s: %w", tg.cfg.Name, context.Cause(ctx))
	}
	defer snap.Close()
	// Results are spooled: a large tenant fails rules on a million links,
	// and the store reads them in the spool's order.
	results := tenant.NewResultSpool("", 0)
	defer results.Close()
	if err := rules.Stream(snap, tg.baseline, results.Add); err != nil {
		return daemon.ScanResult{}, fmt.Errorf("evaluate %s: %w", tg.cfg.Name, err)
	}

	in := store.ScanInput{Snapshot: snap, ResultSet: results, Baseline: tg.cfg.Baseline, StartedAt: started, DeltaTokens: state.Tokens(snap)}
	if req.Lease.Name != "" {
		in.Fence = &store.Lease{Name: req.Lease.Name, Owner: req.Lease.Owner, Generation: req.Lease.Generation}
	}
	sc, err := p.o.Store.RecordScan(ctx, in)
	if errors.Is(err, store.ErrLeaseLost) {
		return daemon.ScanResult{}, daemon.ErrLeaseLost
	}
	if err != nil {
		return daemon.ScanResult{}, fmt.Errorf("record scan of %s: %w", tg.cfg.Name, err)
	}
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
	return res, nil
}
