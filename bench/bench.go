// Package bench measures collection at scale: it generates a synthetic
// tenant (m365test), scans it with the real client, pacer, rules and store,
// and reports per run the API calls, resource units against their lower
// bound, throttling, wall time, peak memory and rows written, and checks
// them against the targets the collector is held to.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Config describes a benchmark.
type Config struct {
	// Size is "s1" or "s2"; Spec, when set, overrides it.
	Size string
	Spec *m365test.Spec
	Seed uint64
	// Latency is added to every HTTP request by the fake, in simulated time.
	Latency time.Duration
	// Budget is SharePoint's budget in RU per minute (default by size:
	// 3,600 for s1, 6,000 for s2); EntraBudget Entra's per 10 seconds
	// (default 8,000).
	Budget      int
	EntraBudget int
	// TimeScale runs the budget clocks that many times faster than real
	// time (default 1).
	TimeScale float64
	// StoreDSN names the store; empty means SQLite in a temporary directory.
	StoreDSN string
	// Baseline evaluates rules before recording, as a scan does; "none"
	// skips rules (default "recommended").
	Baseline string
	// ChangeFraction is the share of links and guests the change set
	// touches (default 0.01).
	ChangeFraction float64
	// Halved repeats the first scan against a fresh tenant and store with
	// half the budget.
	Halved bool
	// Concurrency bounds drives read at once (default 8).
	Concurrency int
	// HeapProfile, when set, is a file that receives a heap profile each
	// time the heap live after a collection reaches a new peak (by a
	// twentieth or more), so that it ends up describing the largest live
	// heap seen; runs after the first write FILE.unchanged, FILE.changed
	// and FILE.rolling, the notification phase FILE.notifications.
	HeapProfile string
	// SitePropertiesEvery spaces the reads of every site's CSOM properties
	// (m365.SourceOptions); 0 reads them each scan.
	SitePropertiesEvery time.Duration
	// SitePropertiesPages bounds the pages of site properties a re-scan
	// reads (m365.SourceOptions); 0 reads every page.
	SitePropertiesPages int
	// Discovery is the links section's method: "groups" (default) or
	// "items" (m365.SourceOptions.Discovery).
	Discovery string
	// RESTCost is the RU the fake charges a SharePoint REST read (default
	// 2); the first scan's RU is also reported at 2, 5 and 10.
	RESTCost int
	// ScansPerDay is how many scans a day the RU-per-day figure assumes
	// (default 4: the daemon's default schedule, every 6 hours).
	ScansPerDay int
	// FullScanEvery is how often each section is read in full (the
	// daemon's full_scan_every, default 24h); the RU-per-day figure adds
	// a first scan's RU that often.
	FullScanEvery time.Duration
	// Notifications configures the change notification phase that follows
	// the scans on the same tenant and store: the anyone-links scenario
	// (AnyoneConfig; its TimeScale defaults to 30, its Seed, Latency,
	// store and logger are the benchmark's) on the drive of the first site
	// labelled Confidential. NoNotifications skips it; so does Baseline
	// "none" (no rule, no finding to wait for).
	Notifications   AnyoneConfig
	NoNotifications bool
	Logger          *slog.Logger
	// Progress, when set, is called as each run's scan starts with what
	// follows it; the returned func is called when the scan ends.
	Progress func(run string, p *scanner.Progress) (stop func())
}

func (c *Config) defaults() error {
	if c.Spec == nil {
		sp, err := m365test.SizeSpec(c.Size, c.Seed)
		if err != nil {
			return err
		}
		c.Spec = &sp
	} else if c.Size == "" {
		c.Size = "custom"
	}
	if c.Budget <= 0 {
		c.Budget = 3600
		if c.Size == "s2" {
			c.Budget = 6000
		}
	}
	if c.EntraBudget <= 0 {
		c.EntraBudget = 8000
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.Baseline == "" {
		c.Baseline = "recommended"
	}
	if c.ChangeFraction <= 0 {
		c.ChangeFraction = 0.01
	}
	switch c.Discovery {
	case "":
		c.Discovery = m365.DiscoveryGroups
	case m365.DiscoveryGroups, m365.DiscoveryItems:
	default:
		return fmt.Errorf("bench: discovery %q: expected groups or items", c.Discovery)
	}
	if c.RESTCost <= 0 {
		c.RESTCost = 2
	}
	if c.ScansPerDay <= 0 {
		c.ScansPerDay = 4
	}
	if c.FullScanEvery <= 0 {
		c.FullScanEvery = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run is one scan's measurements.
type Run struct {
	Name string `json:"name"`
	// Calls are HTTP requests the client sent (retries included);
	// SubRequests the requests inside $batch envelopes.
	Calls       int64            `json:"calls"`
	SubRequests int64            `json:"subRequests"`
	CallsByKind map[string]int64 `json:"callsByKind"`
	// RU is SharePoint resource units the client spent (throttled
	// attempts included); ServedRU what the service charged; EntraRU
	// Entra's units.
	RU           int64   `json:"ru"`
	ServedRU     int64   `json:"servedRu"`
	EntraRU      int64   `json:"entraRu"`
	LowerBoundRU int64   `json:"lowerBoundRu"`
	RURatio      float64 `json:"ruRatio"`
	// Throttled counts 429 answers (sub-requests included).
	Throttled       int64            `json:"throttled"`
	ThrottledByKind map[string]int64 `json:"throttledByKind,omitempty"`
	ThrottledShare  float64          `json:"throttledShare"`
	PermissionCalls int64            `json:"permissionCalls"`
	// WallSeconds is real time; SimulatedSeconds the budget clock's time
	// (WallSeconds × TimeScale).
	WallSeconds      float64 `json:"wallSeconds"`
	SimulatedSeconds float64 `json:"simulatedSeconds"`
	// Collect* cover collection only (no rules, no recording).
	CollectWallSeconds      float64 `json:"collectWallSeconds"`
	CollectSimulatedSeconds float64 `json:"collectSimulatedSeconds"`
	PeakRSSBytes            int64   `json:"peakRssBytes"`
	PeakHeapBytes           int64   `json:"peakHeapBytes"`
	// PeakGoBytes is the most memory the Go runtime held from the system
	// (Sys - HeapReleased); the rest of the resident set is the program's
	// code and what the embedded database allocates itself.
	PeakGoBytes int64 `json:"peakGoBytes"`
	// PeakLiveBytes is the largest heap found reachable by a collection
	// during the run: without a memory limit the collector lets the heap
	// grow to about twice that before it runs again.
	PeakLiveBytes int64 `json:"peakLiveBytes"`
	// PeakLiveByStep splits it by the scan's steps: "collect", "rules"
	// (evaluation) and "record" (writing the scan to the store).
	PeakLiveByStep map[string]int64 `json:"peakLiveByStep,omitempty"`
	// LiveHeap* is the heap still reachable after collection (the
	// snapshot) and after rule evaluation (snapshot and results).
	LiveHeapAfterCollectBytes int64 `json:"liveHeapAfterCollectBytes"`
	LiveHeapAfterRulesBytes   int64 `json:"liveHeapAfterRulesBytes"`
	ObjectsSeen               int64 `json:"objectsSeen"`
	ObjectsWritten            int64 `json:"objectsWritten"`
	ResultsWritten            int64 `json:"resultsWritten"`
	Changes                   int64 `json:"changes"`
	// Sections are the section states of the scan.
	Sections map[tenant.Section]tenant.State `json:"sections"`
	Links    int                             `json:"links"`
	Guests   int                             `json:"guests"`
	// For the change run: the generator's changed keys and those the
	// recorded changes missed.
	TruthLinks   int      `json:"truthLinks,omitempty"`
	TruthGuests  int      `json:"truthGuests,omitempty"`
	MissedLinks  []string `json:"missedLinks,omitempty"`
	MissedGuests []string `json:"missedGuests,omitempty"`
	// ChangedGuests counts the guests the change set changed (the changed
	// run only): its membership reads are held to twice that plus pages.
	ChangedGuests int `json:"changedGuests,omitempty"`
	ExtraChanges  int `json:"extraChanges,omitempty"`
	TokensWritten int `json:"tokensWritten"`
	// SiteGroupCalls and SiteUserCalls are the SharePoint REST reads of
	// site groups and site users; RUAtRESTCost the run's RU had every
	// SharePoint REST read (RESTReadKinds) cost 2, 5 or 10 RU (the other
	// requests unchanged).
	SiteGroupCalls int64            `json:"siteGroupCalls,omitempty"`
	SiteUserCalls  int64            `json:"siteUserCalls,omitempty"`
	RUAtRESTCost   map[string]int64 `json:"ruAtRestCost,omitempty"`
	// Discovery is the links section's per-site method (its status).
	Discovery *tenant.LinkDiscovery `json:"discovery,omitempty"`
	// For the first run: links of the generator's ground truth the scan
	// did not collect, and links it collected that the truth lacks.
	GroundTruthLinks  int      `json:"groundTruthLinks,omitempty"`
	LinksMissed       int      `json:"linksMissed"`
	LinksExtra        int      `json:"linksExtra"`
	MissedLinkSamples []string `json:"missedLinkSamples,omitempty"`
}

// RESTReadKinds are the request kinds (m365test's Usage.ByKind) of the
// SharePoint REST reads whose cost Microsoft does not publish: the fake
// charges them RESTCost, and RUAtRESTCost reprices them.
var RESTReadKinds = []string{"site groups", "site users"}

// Check is one target.
type Check struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit string  `json:"limit"`
	OK    bool    `json:"ok"`
}

// Report is the benchmark's outcome.
type Report struct {
	Size        string        `json:"size"`
	Spec        m365test.Spec `json:"spec"`
	Tenant      TenantCount   `json:"tenant"`
	Latency     string        `json:"latency"`
	Budget      int           `json:"budgetRuPerMinute"`
	EntraBudget int           `json:"entraBudgetPer10s"`
	TimeScale   float64       `json:"timeScale"`
	Store       string        `json:"store"`
	Baseline    string        `json:"baseline"`
	// SitePropertiesEvery is how often every site's properties were read
	// ("0s": each scan).
	SitePropertiesEvery string `json:"sitePropertiesEvery"`
	// SitePropertiesPages is the pages of site properties a re-scan read
	// at most (0: every page).
	SitePropertiesPages int `json:"sitePropertiesPages"`
	// MemoryLimitBytes is the runtime's soft memory limit during the runs
	// (--memory-limit or GOMEMLIMIT); absent when there was none.
	MemoryLimitBytes int64 `json:"memoryLimitBytes,omitempty"`
	// LowerBound explains the RU lower bound.
	LowerBound string `json:"lowerBoundFormula"`
	// Discovery and RESTCost are the links method and the REST cost the
	// fake charged; LinkMix states the generated sharing mix.
	Discovery string `json:"discovery"`
	RESTCost  int    `json:"restCostRu"`
	LinkMix   string `json:"linkMix"`
	// PerItemRU is the first scan's RU lower bound when every shared
	// item's permissions are read (LowerBoundFormula), the figure the
	// groups method is held to at most 0.3 times of.
	PerItemRU int64 `json:"perItemRu"`
	// DailyCapRU is the app's daily RU cap for this budget (per-minute
	// budget × 960: Microsoft pairs 1,250 RU/min with 1.2M RU/day and
	// 6,250 with 6M); RUPerDay what a day costs with ChangeFraction of
	// the items changing per day: one scan after the day's changes plus
	// ScansPerDay-1 unchanged scans, plus the rolling full re-read's cost
	// over the day (RollingExtraRU: the runs "rolling" to
	// "rolling-N", a scan interval apart after the others, each less the
	// unchanged run; their windows tile a day, so RollingFullDrives, the
	// drives they read in full, is every drive once).
	DailyCapRU        int64  `json:"dailyCapRu"`
	RollingExtraRU    int64  `json:"rollingExtraRu"`
	RollingRuns       int    `json:"rollingRuns"`
	RollingFullDrives int    `json:"rollingFullDrives"`
	RUPerDayFormula   string `json:"ruPerDayFormula"`
	ScansPerDay       int    `json:"scansPerDay"`
	FullScanEvery     string `json:"fullScanEvery"`
	RUPerDay          int64  `json:"ruPerDay"`
	// RUPerDayAtRESTCost is RUPerDay had each SharePoint REST read cost
	// 2, 5 or 10 RU (the runs' RUAtRESTCost in the same formula); each is
	// held to 5% of the cap, as is RUPerDay at the REST cost the fake
	// charged (RESTCost).
	RUPerDayAtRESTCost map[string]int64 `json:"ruPerDayAtRestCost,omitempty"`
	Runs               []Run            `json:"runs"`
	// Notifications is the change notification phase, run after the
	// scans on the same tenant and store (absent when skipped); its checks
	// are among Checks, named "notifications: …".
	Notifications *AnyoneReport `json:"notifications,omitempty"`
	Checks        []Check       `json:"checks"`
	OK            bool          `json:"ok"`
}

// TenantCount is what the generated tenant holds before the change set.
type TenantCount struct {
	Sites       int `json:"sites"`
	Drives      int `json:"drives"`
	Items       int `json:"items"`
	SharedItems int `json:"sharedItems"`
	Links       int `json:"links"`
	Guests      int `json:"guests"`
	// OutsiderSites have guests among their users (read item by item by
	// group discovery); DirectGrants, among Links, are invitations.
	OutsiderSites int `json:"outsiderSites"`
	DirectGrants  int `json:"directGrants"`
}

// LowerBoundFormula is how LowerBoundRU is computed for a full scan.
const LowerBoundFormula = "full: 2*ceil(sites/999) [getAllSites] + 2*sites [drives of each site] + " +
	"sum over drives of (2 + ceil(items/999)-1) [delta, first page without token, later pages with] + " +
	"5*sharedItems [one permission read per shared item] + 2*ceil(sites/500) [CSOM site properties]; " +
	"incremental: 1*drives [delta with token] + 5*changedSharedItems + 1*changedSharedItems [item path] + 2*1 [sites delta with token, sites and links] + " +
	"2*ceil(sites/500) [CSOM site properties, when read each scan]"

func ceilDiv(a, b int) int64 { return int64((a + b - 1) / b) }

func fullLowerBound(sp m365test.Spec, c m365test.Count) int64 {
	perDrive := 2 + ceilDiv(sp.ItemsPerDrive, 999) - 1
	return 2*ceilDiv(sp.Sites, 999) + 2*int64(sp.Sites) + int64(c.Drives)*perDrive + 5*int64(c.SharedItems) + 2*ceilDiv(sp.Sites, 500)
}

func incrementalLowerBound(sp m365test.Spec, drives, changedShared int, siteProps bool) int64 {
	lb := int64(drives) + 6*int64(changedShared) + 2
	if siteProps {
		lb += 2 * ceilDiv(sp.Sites, 500)
	}
	return lb
}

// Sections the generated tenant serves.
var benchSections = []tenant.Section{tenant.SectionSites, tenant.SectionLinks, tenant.SectionGuests}

// env is one tenant, store and client.
type env struct {
	cfg    *Config
	srv    *m365test.Server
	st     store.Store
	client *m365.Client
	dir    string
	base   *baselines.Baseline
	// truth makes the next scan compare its links with the generator's.
	truth bool
	// at is the instant the next scan is said to start (the daemon's
	// Started): the rolling full re-read is scheduled on it.
	at time.Time
}

// compareLinks walks the snapshot's links and the generator's in key order
// (both are sorted) and counts those missed and extra.
func (e *env) compareLinks(snap *tenant.Snapshot, r *Run) {
	// The truth streams from the generator: a million keys are never held.
	truth := make(chan string, 1024)
	stop := make(chan struct{})
	go func() {
		defer close(truth)
		e.srv.Generated().EachLinkKey(func(k string) {
			select {
			case truth <- k:
			case <-stop:
			}
		})
	}()
	cur, ok := <-truth
	next := func() {
		r.GroundTruthLinks++
		cur, ok = <-truth
	}
	miss := func(k string) {
		r.LinksMissed++
		if len(r.MissedLinkSamples) < 20 {
			r.MissedLinkSamples = append(r.MissedLinkSamples, k)
		}
	}
	prev := ""
	err := snap.EachLink(func(l *tenant.Link) error {
		k := l.Key()
		if k == prev {
			return nil
		}
		prev = k
		for ok && cur < k {
			miss(cur)
			next()
		}
		if ok && cur == k {
			next()
		} else {
			r.LinksExtra++
		}
		return nil
	})
	for ok {
		miss(cur)
		next()
	}
	close(stop)
	if err != nil {
		r.LinksMissed = -1
	}
}

func newEnv(ctx context.Context, cfg *Config, budget int) (*env, error) {
	srv, err := m365test.NewGenerated(*cfg.Spec, m365test.Options{Latency: cfg.Latency, Budget: budget, EntraBudget: cfg.EntraBudget, TimeScale: cfg.TimeScale, RESTCost: cfg.RESTCost})
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, srv: srv}
	dsn := cfg.StoreDSN
	if dsn == "" {
		e.dir, err = os.MkdirTemp("", "sharedrift-bench-")
		if err != nil {
			e.close()
			return nil, fmt.Errorf("bench: temporary directory: %w", err)
		}
		dsn = "sqlite:" + e.dir + "/" + store.DefaultDBFile
	}
	e.st, err = store.Open(ctx, dsn, store.Options{Logger: cfg.Logger})
	if err != nil {
		e.close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	o := clientOptions(srv)
	o.Logger = cfg.Logger
	e.client, err = m365.New(o)
	if err != nil {
		e.close()
		return nil, err
	}
	if cfg.Baseline != "none" {
		e.base, err = baselines.Load(cfg.Baseline)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return e, nil
}

// clientOptions address a client at srv, paced to its budget on its clock.
func clientOptions(srv *m365test.Server) m365.Options {
	clk := srv.Clock()
	o := srv.ClientOptions()
	pacer := m365.NewBudgetPacer()
	pacer.Now, pacer.Sleep = clk.Now, clk.Sleep
	o.Pacer, o.Sleep = pacer, clk.Sleep
	return o
}

// generatedTenant serves the benchmark's tenant to the daemon of the
// notification phase as a fixture tenant with a clock of its own
// (app.ClockedFixture): its scans start on the fake's clock, after the
// benchmark's, and its client is paced like the benchmark's.
type generatedTenant struct{ srv *m365test.Server }

func (g generatedTenant) ClientOptions() m365.Options { return clientOptions(g.srv) }
func (g generatedTenant) RecordedAt() *time.Time      { return nil }
func (g generatedTenant) Now() time.Time              { return g.srv.Clock().Now() }

// Close leaves the server to the benchmark, which reads it afterwards.
func (g generatedTenant) Close() {}

// tenantName is the name the benchmark's scans are recorded under, one the
// daemon's configuration accepts.
func (e *env) tenantName() string { return fmt.Sprintf("gen%d", e.cfg.Spec.Seed) }

// notifications runs the anyone-links scenario on the benchmark's tenant
// and store, after its scans: a daemon opens the same database, its
// change feed subscribes to every drive, and links appear on the drive of
// the first site labelled Confidential. The fake's clock switches to the
// scenario's time scale first, at a moment after the last scan's start.
func (e *env) notifications(ctx context.Context) (*AnyoneReport, error) {
	c := e.cfg.Notifications
	c.Seed, c.Latency, c.StoreDSN, c.Logger = e.cfg.Seed, e.cfg.Latency, e.cfg.StoreDSN, e.cfg.Logger
	c.HeapProfile = runProfile(e.cfg.HeapProfile, "notifications")
	c.defaults()
	drive, ok := e.srv.Generated().ConfidentialDrive(0)
	if !ok {
		return nil, fmt.Errorf("bench: notifications: no site of the %d is labelled Confidential", e.cfg.Spec.Sites)
	}
	// The daemon opens the store itself.
	if e.st != nil {
		e.st.Close()
		e.st = nil
	}
	e.srv.Clock().Switch(e.at.Add(time.Minute), c.TimeScale)
	name := e.tenantName()
	k := "tenants." + name + "."
	overrides := map[string]any{
		k + "fixture": config.BuiltinFixturePrefix + "generated", k + "baseline": e.cfg.Baseline, k + "tenant_id": e.srv.Meta().TenantID,
		k + "link_discovery": e.cfg.Discovery, k + "full_scan_every": e.cfg.FullScanEvery.String(),
		k + "site_properties_every": e.cfg.SitePropertiesEvery.String(), k + "site_properties_pages": e.cfg.SitePropertiesPages,
	}
	dir := e.dir
	if e.cfg.StoreDSN != "" {
		overrides["store.dsn"] = e.cfg.StoreDSN
		d, err := os.MkdirTemp("", "sharedrift-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: temporary directory: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	} else {
		overrides["store.state_dir"] = e.dir
	}
	srv := e.srv
	open := func(string, *slog.Logger) (app.FixtureTenant, error) { return generatedTenant{srv: srv}, nil }
	svc, err := openScenario(ctx, c, dir, name, overrides, app.ServiceOptions{OpenFixture: open, Sections: benchSections, StoreNow: srv.Clock().Now})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	return runAnyone(ctx, c, anyoneTarget{svc: svc, tenant: name, fake: srv, drive: drive, store: svc.Store.Driver()})
}

func (e *env) close() {
	if e.st != nil {
		e.st.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// scan runs one scan and records it, measuring it.
func (e *env) scan(ctx context.Context, name string) (Run, store.Scan, error) {
	meta := e.srv.Meta()
	runtime.GC()
	debug.FreeOSMemory()
	e.srv.ResetUsage()
	mem := startMemory(runProfile(e.cfg.HeapProfile, name), e.cfg.Logger)
	var prog *scanner.Progress
	if e.cfg.Progress != nil {
		prog = &scanner.Progress{}
		stop := e.cfg.Progress(name, prog)
		defer stop()
	}
	start := time.Now()
	at := e.at
	if at.IsZero() {
		at = start
	}
	var collected time.Duration
	var afterCollect, afterRules int64
	// The daemon's scan, measured between its steps.
	scanned, err := app.Scan(ctx, e.st, app.ScanJob{Tenant: e.tenantName(), TenantID: meta.TenantID, Client: e.client,
		Sources: m365.SourceOptions{Concurrency: e.cfg.Concurrency, SitePropertiesEvery: e.cfg.SitePropertiesEvery,
			SitePropertiesPages: e.cfg.SitePropertiesPages, Now: e.srv.Clock().Now, Discovery: e.cfg.Discovery},
		Sections: benchSections, Baseline: e.base, BaselineRef: e.cfg.Baseline, Started: at, FullEvery: e.cfg.FullScanEvery, Timeout: 6 * time.Hour, Logger: e.cfg.Logger, Progress: prog,
		Collected: func(*tenant.Snapshot) {
			collected = time.Since(start)
			mem.step("rules")
			afterCollect = liveHeap()
		},
		Evaluated: func() {
			mem.step("record")
			afterRules = liveHeap()
		}})
	wall := time.Since(start)
	rss, heap, goBytes, live, byStep := mem.stop()
	if err != nil {
		return Run{}, store.Scan{}, err
	}
	defer scanned.Close()
	sc, snap := scanned.Scan, scanned.Snapshot
	u := e.srv.Usage()
	r := Run{Name: name, Calls: u.Requests, SubRequests: u.SubRequests, CallsByKind: u.ByKind,
		RU: sc.Stats.RU, ServedRU: u.RU, EntraRU: u.EntraRU, Throttled: u.Throttled, ThrottledByKind: u.ThrottledByKind, PermissionCalls: u.ByKind["permissions"],
		WallSeconds: wall.Seconds(), SimulatedSeconds: e.srv.Clock().Sim(wall).Seconds(),
		CollectWallSeconds: collected.Seconds(), CollectSimulatedSeconds: e.srv.Clock().Sim(collected).Seconds(), PeakRSSBytes: rss, PeakHeapBytes: heap, PeakGoBytes: goBytes, PeakLiveBytes: live, PeakLiveByStep: byStep,
		LiveHeapAfterCollectBytes: afterCollect, LiveHeapAfterRulesBytes: afterRules,
		ObjectsSeen: sc.ObjectsSeen, ObjectsWritten: sc.ObjectsWritten, ResultsWritten: sc.ResultsWritten, Changes: sc.Changes,
		Sections: map[tenant.Section]tenant.State{}, Links: snap.LinkCount(), Guests: len(snap.Guests), TokensWritten: scanned.Tokens}
	r.SiteGroupCalls, r.SiteUserCalls = u.ByKind["site groups"], u.ByKind["site users"]
	r.Discovery = snap.Status[tenant.SectionLinks].Discovery
	var restReads int64
	for _, k := range RESTReadKinds {
		restReads += u.ByKind[k]
	}
	if restReads > 0 {
		r.RUAtRESTCost = map[string]int64{}
		for _, c := range []int64{2, 5, 10} {
			r.RUAtRESTCost[strconv.FormatInt(c, 10)] = r.RU + restReads*(c-int64(e.cfg.RESTCost))
		}
	}
	if e.truth {
		e.compareLinks(snap, &r)
	}
	for _, sec := range benchSections {
		r.Sections[sec] = snap.Status[sec].State
		if !snap.Complete(sec) {
			e.cfg.Logger.Warn("section incomplete", "run", name, "section", sec, "error", snap.Status[sec].Error)
		}
	}
	if total := u.Requests + u.SubRequests; total > 0 {
		r.ThrottledShare = float64(u.Throttled) / float64(total)
	}
	return r, sc, nil
}

// scanGap is how far apart the first, unchanged and changed scans are said
// to start. The rolling re-read gives each of s2's 10,000 drives a turn a
// day, so a second's gap would hold some drive's turn in about one run in
// nine and that run's "unchanged" scan would read it in full; in a
// millisecond, about one in nine thousand.
const scanGap = time.Millisecond

// Execute runs the benchmark.
func Execute(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	e, err := newEnv(ctx, &cfg, cfg.Budget)
	if err != nil {
		return nil, err
	}
	defer e.close()
	gen := e.srv.Generated()
	count := gen.Count()
	rep := &Report{Size: cfg.Size, Spec: *cfg.Spec, Latency: cfg.Latency.String(), Budget: cfg.Budget, EntraBudget: cfg.EntraBudget,
		TimeScale: cfg.TimeScale, SitePropertiesEvery: cfg.SitePropertiesEvery.String(), SitePropertiesPages: cfg.SitePropertiesPages, Store: e.st.Driver(), Baseline: cfg.Baseline, LowerBound: LowerBoundFormula,
		Tenant: TenantCount{Sites: count.Sites, Drives: count.Drives, Items: count.Items, SharedItems: count.SharedItems, Links: count.Links, Guests: count.Guests,
			OutsiderSites: count.OutsiderSites, DirectGrants: count.DirectGrants}}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		rep.MemoryLimitBytes = l
	}
	log := cfg.Logger

	// Scans are said to start a millisecond apart, so that the rolling full
	// re-read has no turn between them, however long they take; the
	// "rolling" scan starts a scan interval (24h / ScansPerDay) later.
	e.at = time.Now().UTC().Truncate(time.Second)
	e.truth = true
	first, _, err := e.scan(ctx, "first")
	e.truth = false
	if err != nil {
		return nil, fmt.Errorf("first scan: %w", err)
	}
	first.LowerBoundRU = fullLowerBound(*cfg.Spec, count)
	log.Info("first scan", "ru", first.RU, "lower_bound", first.LowerBoundRU, "wall", first.WallSeconds)

	e.at = e.at.Add(scanGap)
	unchanged, _, err := e.scan(ctx, "unchanged")
	if err != nil {
		return nil, fmt.Errorf("unchanged re-scan: %w", err)
	}
	unchanged.LowerBoundRU = incrementalLowerBound(*cfg.Spec, count.Drives, 0, cfg.SitePropertiesEvery <= 0)
	log.Info("unchanged re-scan", "calls", unchanged.Calls, "wall", unchanged.WallSeconds)

	truth := gen.ApplyChanges(cfg.ChangeFraction)
	changedShared := changedItems(truth.Links)
	e.at = e.at.Add(scanGap)
	changed, sc, err := e.scan(ctx, "changed")
	if err != nil {
		return nil, fmt.Errorf("re-scan after changes: %w", err)
	}
	changed.ChangedGuests = len(truth.Guests)
	changed.LowerBoundRU = incrementalLowerBound(*cfg.Spec, count.Drives, changedShared, cfg.SitePropertiesEvery <= 0)
	if err := verify(ctx, e.st, sc.ID, truth, &changed); err != nil {
		return nil, err
	}
	log.Info("re-scan after changes", "calls", changed.Calls, "missed_links", len(changed.MissedLinks), "missed_guests", len(changed.MissedGuests))
	// The next scan of the day: the drives whose turn came in the
	// interval are read in full (rolling), the others from their deltas.
	e.at = e.at.Add(24 * time.Hour / time.Duration(cfg.ScansPerDay))
	e.truth = true
	roll, _, err := e.scan(ctx, "rolling")
	e.truth = false
	if err != nil {
		return nil, fmt.Errorf("rolling re-scan: %w", err)
	}
	log.Info("rolling re-scan", "ru", roll.RU, "calls", roll.Calls)
	rep.Runs = append(rep.Runs, first, unchanged, changed, roll)
	// The day's other scans, an interval apart: together with "rolling"
	// their windows tile a day, so every drive is read in full once and
	// the day's cost is measured, not extrapolated from one interval
	// (the drives' turns and deep turns are spread by a hash, unevenly
	// over the hours of a day).
	for i := 2; i <= cfg.ScansPerDay; i++ {
		e.at = e.at.Add(24 * time.Hour / time.Duration(cfg.ScansPerDay))
		r, _, err := e.scan(ctx, fmt.Sprintf("rolling-%d", i))
		if err != nil {
			return nil, fmt.Errorf("rolling re-scan %d: %w", i, err)
		}
		log.Info("rolling re-scan", "n", i, "ru", r.RU, "calls", r.Calls)
		rep.Runs = append(rep.Runs, r)
	}
	if !cfg.NoNotifications && cfg.Baseline != "none" {
		n, err := e.notifications(ctx)
		if err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		rep.Notifications = n
		log.Info("notifications", "processings", n.Processings, "wall", n.WallSeconds)
	}
	e.close()

	if cfg.Halved {
		h, err := newEnv(ctx, &cfg, cfg.Budget/2)
		if err != nil {
			return nil, err
		}
		half, _, err := h.scan(ctx, "first, half budget")
		h.close()
		if err != nil {
			return nil, fmt.Errorf("half-budget scan: %w", err)
		}
		half.LowerBoundRU = first.LowerBoundRU
		rep.Runs = append(rep.Runs, half)
	}
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if r.LowerBoundRU > 0 {
			r.RURatio = float64(r.RU) / float64(r.LowerBoundRU)
		}
	}
	rep.Discovery, rep.RESTCost, rep.LinkMix = cfg.Discovery, cfg.RESTCost, m365test.LinkMix
	rep.PerItemRU = first.LowerBoundRU
	rep.DailyCapRU, rep.ScansPerDay = int64(cfg.Budget)*960, cfg.ScansPerDay
	rep.FullScanEvery = cfg.FullScanEvery.String()
	// Each scan of the day re-reads in full the drives whose turn came
	// since the last: the rolling scan's RU beyond an unchanged scan's,
	// once per scan. (Measured over one interval of 24h / ScansPerDay.)
	// A day: the scan after the day's changes, ScansPerDay-1 unchanged
	// scans, and what each of the day's rolling scans read beyond an
	// unchanged scan.
	var rolls []Run
	for _, r := range rep.Runs {
		if strings.HasPrefix(r.Name, "rolling") {
			rolls = append(rolls, r)
		}
	}
	extra := func(at func(Run) int64) int64 {
		var sum int64
		for _, r := range rolls {
			sum += max(0, at(r)-at(unchanged))
		}
		return sum
	}
	for _, r := range rolls {
		if r.Discovery != nil {
			rep.RollingFullDrives += r.Discovery.RollingFullDrives
		}
	}
	rep.RollingRuns = len(rolls)
	rep.RollingExtraRU = extra(func(r Run) int64 { return r.RU })
	rep.RUPerDayFormula = "changed + (scansPerDay-1) x unchanged + rollingExtraRu (the sum over the day's scansPerDay rolling scans of rolling - unchanged)"
	rep.RUPerDay = changed.RU + int64(cfg.ScansPerDay-1)*unchanged.RU + rep.RollingExtraRU
	rep.RUPerDayAtRESTCost = map[string]int64{}
	for _, c := range []string{"2", "5", "10"} {
		at := func(r Run) int64 {
			if v, ok := r.RUAtRESTCost[c]; ok {
				return v
			}
			return r.RU // no REST read in the run
		}
		rep.RUPerDayAtRESTCost[c] = at(changed) + int64(cfg.ScansPerDay-1)*at(unchanged) + extra(at)
	}
	rep.Checks = checks(rep)
	if n := rep.Notifications; n != nil {
		for _, c := range n.Checks {
			c.Name = "notifications: " + c.Name
			rep.Checks = append(rep.Checks, c)
		}
		if rep.Size == "s2" {
			rep.Checks = append(rep.Checks, check("s2: notifications: peak RSS MiB", float64(n.PeakRSSBytes)/(1<<20), "<= 256",
				n.PeakRSSBytes > 0 && n.PeakRSSBytes <= 256<<20))
		}
	}
	rep.OK = true
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	return rep, nil
}

// changedItems counts the distinct items behind changed link keys.
func changedItems(keys []string) int {
	items := map[string]bool{}
	for _, k := range keys {
		if i := strings.LastIndex(k, "/"); i > 0 {
			items[k[:i]] = true
		}
	}
	return len(items)
}

// verify compares the recorded changes of a scan with the generator's truth.
func verify(ctx context.Context, st store.Store, scanID int64, truth m365test.Truth, r *Run) error {
	chs, err := st.Changes(ctx, store.ChangeFilter{ScanID: scanID})
	if err != nil {
		return fmt.Errorf("read changes: %w", err)
	}
	seen := make(map[string]bool, len(chs))
	for _, c := range chs {
		seen[c.Key] = true
	}
	want := map[string]bool{}
	for _, k := range truth.Links {
		want[k] = true
		if !seen[k] {
			r.MissedLinks = append(r.MissedLinks, k)
		}
	}
	for _, k := range truth.Guests {
		want[k] = true
		if !seen[k] {
			r.MissedGuests = append(r.MissedGuests, k)
		}
	}
	for k := range seen {
		if !want[k] {
			r.ExtraChanges++
		}
	}
	r.TruthLinks, r.TruthGuests = len(truth.Links), len(truth.Guests)
	sort.Strings(r.MissedLinks)
	sort.Strings(r.MissedGuests)
	const show = 20
	r.MissedLinks = r.MissedLinks[:min(len(r.MissedLinks), show)]
	r.MissedGuests = r.MissedGuests[:min(len(r.MissedGuests), show)]
	return nil
}

func check(name string, v float64, limit string, ok bool) Check {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = -1
	}
	return Check{Name: name, Value: math.Round(v*1000) / 1000, Limit: limit, OK: ok}
}

func checks(rep *Report) []Check {
	find := func(name string) *Run {
		for i := range rep.Runs {
			if rep.Runs[i].Name == name {
				return &rep.Runs[i]
			}
		}
		return nil
	}
	var out []Check
	complete := func(r *Run) bool {
		for _, st := range r.Sections {
			if st != tenant.StateComplete {
				return false
			}
		}
		return true
	}
	if f := find("first"); f != nil {
		out = append(out,
			check("first: sections complete", b2f(complete(f)), "= 1", complete(f)),
			check("first: RU / lower bound", f.RURatio, "<= 1.15", f.RURatio <= 1.15),
			check("first: links missed against the generator", float64(f.LinksMissed), "= 0", f.LinksMissed == 0))
		if rep.Discovery == m365.DiscoveryGroups {
			for _, c := range []string{"2", "5", "10"} {
				ratio := float64(f.RUAtRESTCost[c]) / float64(max(1, rep.PerItemRU))
				out = append(out, check("first, groups, REST "+c+" RU: RU / per-item RU", ratio, "<= 0.3", f.RUAtRESTCost[c] > 0 && ratio <= 0.3))
			}
			// Only the sites with guests among their users are read item
			// by item, every one of them.
			d := f.Discovery
			other, outsiders := -1, -1
			if d != nil {
				other, outsiders = len(d.ItemSites)-d.OutsiderSites, d.OutsiderSites
			}
			out = append(out,
				check("first: sites read item by item, not for their users", float64(other), "= 0", other == 0),
				check("first: sites read item by item for their users - sites with guests", float64(outsiders-rep.Tenant.OutsiderSites), "= 0", outsiders == rep.Tenant.OutsiderSites))
		}
		out = append(out,
			check("first: 429s / calls", f.ThrottledShare, "<= 0.01", f.ThrottledShare <= 0.01))
	}
	if u := find("unchanged"); u != nil {
		other := u.Calls - u.CallsByKind["drive delta"]
		out = append(out,
			check("unchanged: sections complete", b2f(complete(u)), "= 1", complete(u)),
			check("unchanged: permission calls", float64(u.PermissionCalls), "= 0", u.PermissionCalls == 0),
			check("unchanged: drive delta calls per drive", float64(u.CallsByKind["drive delta"])/float64(max(1, rep.Tenant.Drives)), "<= 1", u.CallsByKind["drive delta"] <= int64(rep.Tenant.Drives)),
			// Sites delta (sites and links), users delta, recent sign-ins,
			// groups delta (memberships), the CSOM window (6 pages at most)
			// and, since sites carry labels, the label catalogue: 12 at most.
			check("unchanged: other calls", float64(other), "<= 12", other <= 12),
			check("unchanged: object rows written", float64(u.ObjectsWritten), "= 0", u.ObjectsWritten == 0))
	}
	if c := find("changed"); c != nil {
		missed := len(c.MissedLinks) + len(c.MissedGuests)
		out = append(out,
			check("changed: sections complete", b2f(complete(c)), "= 1", complete(c)),
			check("changed: changed links and guests missed", float64(missed), "= 0", missed == 0),
			// Memberships are read for the changed guests only: at most
			// two reads each (a page and its next), plus the delta pages.
			check("changed: guest membership reads", float64(c.CallsByKind["users memberOf"]),
				fmt.Sprintf("<= 2 x %d changed guests + %d delta pages", c.ChangedGuests, c.CallsByKind["users delta"]+c.CallsByKind["groups"]),
				c.CallsByKind["users memberOf"] <= int64(2*c.ChangedGuests)+c.CallsByKind["users delta"]+c.CallsByKind["groups"]),
			check("RU per day / daily cap", float64(rep.RUPerDay)/float64(max(1, rep.DailyCapRU)), "<= 0.05", rep.RUPerDay <= rep.DailyCapRU/20))
		if rep.Discovery == m365.DiscoveryGroups {
			for _, rc := range []string{"2", "5", "10"} {
				v, ok := rep.RUPerDayAtRESTCost[rc]
				out = append(out, check("RU per day at REST "+rc+" RU / daily cap", float64(v)/float64(max(1, rep.DailyCapRU)), "<= 0.05",
					ok && v > 0 && v <= rep.DailyCapRU/20))
			}
		}
	}
	if r := find("rolling"); r != nil {
		share := -1.0
		if r.Discovery != nil {
			share = float64(r.Discovery.RollingFullDrives) / float64(max(1, rep.Tenant.Drives))
		}
		// A scan interval (24h / ScansPerDay) of the period: about that
		// share of the drives.
		every, _ := time.ParseDuration(rep.FullScanEvery)
		want := min(1, float64(24*time.Hour)/float64(max(1, rep.ScansPerDay))/float64(max(time.Second, every)))
		// The drives' turns are spread by a hash of their id, so how many
		// fall in one interval varies with the time of day the run starts:
		// half the expectation either way, or three binomial standard
		// deviations for a tenant of few drives.
		n := float64(max(1, rep.Tenant.Drives))
		tol := max(want/2, 3*math.Sqrt(want*(1-want)/n))
		out = append(out,
			check("rolling: sections complete", b2f(complete(r)), "= 1", complete(r)),
			check("rolling: links missed against the generator", float64(r.LinksMissed+r.LinksExtra), "= 0", r.LinksMissed+r.LinksExtra == 0),
			check("rolling: drives read in full / drives", share, fmt.Sprintf("%.2f .. %.2f", max(0, want-tol), want+tol),
				share > 0 && share >= want-tol && share <= want+tol))
		// The day's rolling scans together: every drive's turn comes
		// 24h / full_scan_every times a day (a whole number of times for
		// a period that divides a day), each read complete.
		allComplete := true
		for _, r := range rep.Runs {
			if strings.HasPrefix(r.Name, "rolling") && !complete(&r) {
				allComplete = false
			}
		}
		perDay := float64(24*time.Hour) / float64(max(time.Second, every))
		day := float64(rep.RollingFullDrives) / n
		out = append(out,
			check("rolling: the day's rolling scans complete", b2f(allComplete), "= 1", allComplete),
			check("rolling: drives read in full over the day / drives", day, fmt.Sprintf("%.0f .. %.0f", math.Floor(perDay), math.Ceil(perDay)),
				rep.RollingRuns == rep.ScansPerDay && day >= math.Floor(perDay) && day <= math.Ceil(perDay)))
	}
	if rep.Size == "s2" {
		// The memory target is set for s2; it covers every run, the
		// in-process fake included. 0 means the resident set was unreadable.
		var peak int64
		for _, r := range rep.Runs {
			peak = max(peak, r.PeakRSSBytes)
		}
		out = append(out, check("s2: peak RSS MiB", float64(peak)/(1<<20), "<= 256", peak > 0 && peak <= 256<<20))
	}
	if h, f := find("first, half budget"), find("first"); h != nil && f != nil {
		ratio := h.CollectSimulatedSeconds / f.CollectSimulatedSeconds
		out = append(out,
			check("half budget: time ratio to full budget", ratio, "1.7 .. 2.3", ratio >= 1.7 && ratio <= 2.3),
			check("half budget: 429s / calls", h.ThrottledShare, "<= 0.01", h.ThrottledShare <= 0.01))
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// runProfile names a run's heap profile: FILE for the first run, FILE.NAME
// for the others, so that each run's peak can be read.
func runProfile(file, run string) string {
	if file == "" || run == "first" {
		return file
	}
	return file + "." + run
}

// liveHeap collects garbage and returns the reachable heap.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// memory samples the process's resident set and Go heap.
type memory struct {
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	rss      int64
	heap     int64
	goBytes  int64
	live     int64
	hwmReset bool
	// cur is the scan's step; byStep the peak live heap in each.
	cur    string
	byStep map[string]int64

	profile     string
	profiled    int64
	profileErrs int
	log         *slog.Logger
}

func startMemory(profile string, log *slog.Logger) *memory {
	m := &memory{done: make(chan struct{}), profile: profile, log: log, cur: "collect", byStep: map[string]int64{}}
	// Resetting the kernel's high-water mark makes VmHWM per run; when not
	// allowed, sampling VmRSS is the fallback.
	m.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memory) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := procStatus("VmRSS")
	m.mu.Lock()
	m.rss = max(m.rss, rss)
	m.heap = max(m.heap, int64(ms.HeapInuse))
	m.goBytes = max(m.goBytes, int64(ms.Sys-ms.HeapReleased))
	// A heap profile describes the heap as of the last collection, so it
	// is written when that collection's live heap is a new peak.
	live := liveAtLastGC()
	m.live = max(m.live, live)
	m.byStep[m.cur] = max(m.byStep[m.cur], live)
	if m.profile != "" && live > m.profiled+m.profiled/20 {
		m.profiled = live
		m.writeProfile()
	}
	m.mu.Unlock()
}

// writeProfile replaces the heap profile file with the current profile.
func (m *memory) writeProfile() {
	tmp := m.profile + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, m.profile)
	}
	if err != nil && m.profileErrs == 0 {
		m.profileErrs++
		m.log.Warn("heap profile not written", "path", m.profile, "error", err)
	}
}

// liveAtLastGC is the heap the last collection found reachable.
func liveAtLastGC() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// step marks the start of a scan's next step.
func (m *memory) step(name string) {
	m.sample()
	m.mu.Lock()
	m.cur = name
	m.mu.Unlock()
}

func (m *memory) stop() (rss, heap, goBytes, live int64, byStep map[string]int64) {
	m.sample()
	close(m.done)
	m.wg.Wait()
	if m.hwmReset {
		m.rss = max(m.rss, procStatus("VmHWM"))
	}
	return m.rss, m.heap, m.goBytes, m.live, m.byStep
}

// procStatus reads a "kB" field of /proc/self/status in bytes (0 when
// unavailable).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n * 1024
				}
			}
		}
	}
	return 0
}

// ErrChecks is returned by callers when a check failed.
var ErrChecks = errors.New("benchmark targets not met")
