package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/internal/demotenant"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// ScenarioAnyoneLinks names the change notification scenario.
const ScenarioAnyoneLinks = "anyone-links"

// AnyoneConfig describes the anyone-links scenario: while the daemon's
// change feed runs against the built-in fabrikam tenant, new files are
// shared with Anyone links on its confidential finance library, and the
// time from each link to its recorded finding is measured in the fake's
// simulated time.
type AnyoneConfig struct {
	// Links is how many links are created while notifications are
	// delivered (default 20), Every the simulated time between two
	// (default 90s).
	Links int
	Every time.Duration
	// DropRate is the share of their notifications the fake drops
	// (default 0.2). A dropped link is usually caught by the delta read a
	// later notification of the same drive starts.
	DropRate float64
	// DroppedLinks are created afterwards with every notification dropped
	// (default 3): only the scheduled scan can find them.
	DroppedLinks int
	Seed         uint64
	// TimeScale is simulated seconds per real second (default 60).
	TimeScale float64
	// Latency is added to every request to the fake (simulated).
	Latency time.Duration
	// SafetyNet is the scheduled scan interval (simulated, default 15m).
	SafetyNet time.Duration
	// Debounce is the change feed's (simulated, default the daemon's).
	Debounce time.Duration
	// StoreDSN names the store; empty means SQLite in a temporary directory.
	StoreDSN string
	Logger   *slog.Logger
	// CPUProfile, when set, is written with a CPU profile of the phase
	// the links are created in (from the first link to the last finding).
	CPUProfile string
	// HeapProfile, when set, receives a heap profile each time the live
	// heap reaches a new peak during the scenario, as a run's does.
	HeapProfile string
}

func (c *AnyoneConfig) defaults() {
	if c.Links <= 0 {
		c.Links = 20
	}
	if c.Every <= 0 {
		c.Every = 90 * time.Second
	}
	if c.DroppedLinks <= 0 {
		c.DroppedLinks = 3
	}
	if c.DropRate < 0 || c.DropRate >= 1 {
		c.DropRate = 0.2
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 30
	}
	if c.SafetyNet <= 0 {
		c.SafetyNet = 15 * time.Minute
	}
	if c.Debounce <= 0 {
		c.Debounce = config.DefaultChangeDebounce
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Quantiles summarises durations in simulated seconds.
type Quantiles struct {
	Count int     `json:"count"`
	Mean  float64 `json:"meanSeconds"`
	P50   float64 `json:"p50Seconds"`
	P95   float64 `json:"p95Seconds"`
	Max   float64 `json:"maxSeconds"`
}

func quantiles(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(i, 0)].Seconds()
	}
	return Quantiles{Count: len(s), Mean: (sum / time.Duration(len(s))).Seconds(), P50: at(0.5), P95: at(0.95), Max: s[len(s)-1].Seconds()}
}

// AnyoneReport is the scenario's outcome.
type AnyoneReport struct {
	Scenario string `json:"scenario"`
	Tenant   string `json:"tenant"`
	Drive    string `json:"drive"`
	Links    int    `json:"links"`
	// DroppedLinks were created with every notification dropped.
	DroppedLinks int     `json:"droppedLinks"`
	DropRate     float64 `json:"dropRate"`
	// TimeScale is the scenario's: simulated seconds per real second.
	TimeScale float64 `json:"timeScale"`
	Store     string  `json:"store"`
	// Delivery is the fake's delivery delay (change to arrival), modelled
	// on Microsoft's documented driveItem latency.
	DeliveryModel string    `json:"deliveryModel"`
	Delivery      Quantiles `json:"deliveryDelay"`
	// Notified covers the links of the first phase whose notification
	// was delivered: link created to finding recorded. Own is, for those
	// recorded by the processing their own notification started, arrival
	// to finding recorded and alert enqueued (sharedrift's share);
	// EarlierRead counts those a read started by an earlier notification
	// of the drive recorded before their own arrived.
	Notified    Quantiles `json:"notifiedLinkToFinding"`
	Own         Quantiles `json:"ownArrivalToFindingAndAlert"`
	EarlierRead int       `json:"recordedBeforeOwnNotification"`
	// DroppedCovered covers first-phase links whose notification was
	// dropped: link to finding, through a later notification's read or
	// the scheduled scan.
	DroppedCovered Quantiles `json:"droppedCoveredLinkToFinding"`
	// Dropped covers the second phase: every notification dropped, each
	// link found by the scheduled scan (the safety net).
	Dropped         Quantiles `json:"droppedLinkToFinding"`
	SafetyNetSecs   float64   `json:"safetyNetSeconds"`
	LongestScanSecs float64   `json:"longestScheduledScanSeconds"`
	DebounceSecs    float64   `json:"debounceSeconds"`
	// Missed lists links without a recorded finding or enqueued alert.
	Missed []string `json:"missed,omitempty"`
	// Processings counts the change feed's scans; Refused the receiver's
	// refusals (0 expected).
	Processings int `json:"processings"`
	Refused     int `json:"refused"`
	// Errors counts the feed's processings, scheduled scans and finding
	// lookups that failed and were tried again a simulated second later,
	// as the daemon tries again (a store busy with another scan's commit,
	// on SQLite); FirstError is the first. Their cost shows in the times.
	Errors     int    `json:"errors"`
	FirstError string `json:"firstError,omitempty"`
	// Subscriptions is how many drives the feed subscribed to, and
	// SubscribeSecs how long that took (simulated; each subscription
	// waits for its validation request). CatchUpSecs is the first
	// processing, which reads every newly subscribed drive once.
	Subscriptions int     `json:"subscriptions"`
	SubscribeSecs float64 `json:"subscribeSeconds"`
	CatchUpSecs   float64 `json:"catchUpSeconds"`
	// WallSeconds is the scenario's real time; the peaks cover the whole
	// process during it (the fake included), as a run's do.
	WallSeconds   float64 `json:"wallSeconds"`
	PeakRSSBytes  int64   `json:"peakRssBytes"`
	PeakHeapBytes int64   `json:"peakHeapBytes"`
	// PeakLiveBytes is the largest heap a collection found reachable;
	// PeakLiveByStep splits it by step: "scan" (the store's first scan,
	// when the scenario makes one), "subscribe", "catch-up", then
	// "scheduled" while a scheduled scan runs and "feed" otherwise.
	PeakLiveBytes  int64            `json:"peakLiveBytes"`
	PeakLiveByStep map[string]int64 `json:"peakLiveByStep,omitempty"`
	// Calls, RU and EntraRU are what the fake served and charged during
	// the scenario: subscriptions, the feed's scans and scheduled scans.
	Calls       int64            `json:"calls"`
	CallsByKind map[string]int64 `json:"callsByKind,omitempty"`
	RU          int64            `json:"ru"`
	EntraRU     int64            `json:"entraRu"`
	Throttled   int64            `json:"throttled"`
	Checks      []Check          `json:"checks"`
	OK          bool             `json:"ok"`
}

type anyoneLink struct {
	key      string // the link's object key
	phase    int
	created  time.Time
	arrived  time.Time
	dropped  bool
	recorded time.Time
	alerted  bool
}

// ExecuteAnyoneLinks runs the anyone-links scenario on the built-in
// fabrikam tenant.
func ExecuteAnyoneLinks(ctx context.Context, c AnyoneConfig) (*AnyoneReport, error) {
	c.defaults()
	const tenantName, drive = "fabrikam", "b!Qx1-fin" // Finance: labelled confidential
	var fake *m365test.Server
	openFixture := func(dir string, log *slog.Logger) (app.FixtureTenant, error) {
		name, _ := strings.CutPrefix(dir, config.BuiltinFixturePrefix)
		fsys, err := demotenant.FS(name)
		if err != nil {
			return nil, err
		}
		srv, err := m365test.NewFS(fsys, dir, m365test.Options{Logger: log, TimeScale: c.TimeScale, Latency: c.Latency, ShiftTo: time.Now()})
		if err != nil {
			return nil, err
		}
		fake = srv
		return srv, nil
	}
	dir, err := os.MkdirTemp("", "sharedrift-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	overrides := map[string]any{
		"tenants.fabrikam.fixture":  config.BuiltinFixturePrefix + tenantName,
		"tenants.fabrikam.baseline": "recommended",
	}
	storeName := "sqlite"
	if c.StoreDSN != "" {
		overrides["store.dsn"] = c.StoreDSN
		storeName = "postgres"
	} else {
		overrides["store.state_dir"] = dir
	}
	// The store runs on the fake's clock, once the fake is open.
	storeNow := func() time.Time {
		if fake == nil {
			return time.Now()
		}
		return fake.Clock().Now()
	}
	svc, err := openScenario(ctx, c, dir, tenantName, overrides, app.ServiceOptions{OpenFixture: openFixture, StoreNow: storeNow})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	return runAnyone(ctx, c, anyoneTarget{svc: svc, tenant: tenantName, fake: fake, drive: drive, store: storeName, scanFirst: true})
}

// leaseTTL is the scenario's lease lifetime on the fake's clock: ten real
// minutes, so that no scan outlives its lease however much faster than
// real time the clock runs (the daemon renews leases on real time).
func (c *AnyoneConfig) leaseTTL() time.Duration {
	return time.Duration(float64(10*time.Minute) * c.TimeScale)
}

// openScenario opens the daemon the scenario runs: the tenant as
// overrides configure it, scanned once a day on schedule (the scenario
// scans it on its own safety-net interval), with critical findings routed
// to a webhook. Alerts are enqueued, never delivered: no worker runs. The
// store should run on the fake's clock (so.StoreNow), as the feed does.
func openScenario(ctx context.Context, c AnyoneConfig, dir, tenantName string, overrides map[string]any, so app.ServiceOptions) (*app.Service, error) {
	hookSecret := filepath.Join(dir, "hook-secret")
	if err := os.WriteFile(hookSecret, []byte("bench-secret-0123456789"), 0o600); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ov := map[string]any{
		"scheduler.lease_ttl":                 c.leaseTTL().String(),
		"tenants." + tenantName + ".schedule": "@every 24h",
		"notify.destinations": []any{map[string]any{"name": "soc", "type": "webhook",
			"webhook": map[string]any{"url": "https://hooks.example.invalid/soc", "secret": "file:" + hookSecret}}},
		"tenants." + tenantName + ".notify": map[string]any{"routes": []any{map[string]any{"destination": "soc", "min_severity": "critical"}}},
	}
	for k, v := range overrides {
		ov[k] = v
	}
	cfg, err := config.Load(config.Options{Overrides: ov, RequireTenants: true})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	so.Logger, so.Owner = c.Logger, "bench"
	svc, err := app.Open(ctx, cfg, so)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return svc, nil
}

// anyoneTarget is what the scenario runs on: a daemon over a fake tenant
// and the drive, on a site labelled confidential, where links appear.
type anyoneTarget struct {
	svc    *app.Service
	tenant string
	fake   *m365test.Server
	drive  string
	store  string
	// scanFirst scans the tenant before subscribing: the store is new.
	scanFirst bool
}

// linkFingerprint is the fingerprint of the finding a link on confidential
// content gets: one store lookup finds it, however many findings the
// tenant has.
func linkFingerprint(key string) string {
	r := tenant.Result{RuleID: rules.IDLinksAnyoneOnConfidential, ObjectKey: key, Expected: rules.ExpectedAnyoneOnConfidential}
	return r.Fingerprint()
}

// runAnyone runs the scenario on t: the feed subscribes to every drive,
// users create links on t.drive while notifications are delivered (some
// dropped), then a few more with every notification dropped, and a
// scheduled scan runs every SafetyNet; it measures each link's way to a
// recorded finding and an enqueued alert on the fake's clock.
func runAnyone(ctx context.Context, c AnyoneConfig, t anyoneTarget) (*AnyoneReport, error) {
	svc, fake, tenantName := t.svc, t.fake, t.tenant
	runtime.GC()
	debug.FreeOSMemory()
	fake.ResetUsage()
	mem := startMemory(c.HeapProfile, c.Logger)
	memStopped := false
	defer func() {
		if !memStopped {
			mem.stop()
		}
	}()
	wallStart := time.Now()
	// The daemon's HTTP server over TLS, as Microsoft requires.
	var mu sync.Mutex
	var handler http.Handler = http.NotFoundHandler()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	tcfg, ok := svc.Config.Tenants[tenantName]
	if !ok {
		return nil, fmt.Errorf("bench: tenant %q is not configured", tenantName)
	}
	clk := fake.Clock()
	fake.SetNotifyOptions(m365test.NotifyOptions{Client: ts.Client(), DropRate: c.DropRate, Seed: c.Seed})
	// The feed runs on the fake's clock (debounce, marks), driven below.
	feed, err := app.NewChangeFeed(app.ChangeFeedOptions{Store: svc.Store, Pipeline: svc.Pipeline, Tenants: []config.Tenant{tcfg},
		Config: config.ChangeNotifications{URL: ts.URL, Debounce: config.Duration(c.Debounce), Lifetime: config.Duration(config.DefaultChangeLifetime),
			Interval: config.Duration(config.DefaultChangeInterval)}, Owner: "bench-feed", LeaseTTL: c.leaseTTL(), Now: clk.Now, Logger: c.Logger,
		// Microsoft's validation request arrives within seconds of real
		// time; on the scaled clock that is TimeScale times longer.
		ValidationWindow: time.Duration(30 * float64(time.Second) * c.TimeScale)})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	handler = feedMux(feed, svc.Handler)
	mu.Unlock()

	if t.scanFirst {
		mem.step("scan")
		if _, err := svc.Daemon.ScanNow(ctx, tenantName); err != nil {
			return nil, fmt.Errorf("bench: first scan: %w", err)
		}
	}
	mem.step("subscribe")
	subStart := clk.Now()
	if err := feed.Maintain(ctx, tenantName); err != nil {
		return nil, fmt.Errorf("bench: subscribe: %w", err)
	}
	subscribed := clk.Now()
	mem.step("catch-up")
	if _, err := feed.Process(ctx, tenantName); err != nil {
		return nil, fmt.Errorf("bench: catch up: %w", err)
	}
	caughtUp := clk.Now()
	mem.step("feed")

	var (
		lmu        sync.Mutex
		links      []*anyoneLink
		processing int
		longest    time.Duration
		slowest    time.Duration // the longest processing or scan so far
		errCount   int
		firstErr   string
	)
	// retry notes an error the daemon would log and try again after.
	retry := func(what string, err error) {
		lmu.Lock()
		errCount++
		if firstErr == "" {
			firstErr = what + ": " + err.Error()
		}
		lmu.Unlock()
		c.Logger.Warn("bench: will try again", "what", what, "error", err)
	}
	// settle records, after a scan, the links whose finding exists now:
	// one lookup of each link's finding and its messages, never a listing
	// of the tenant's findings.
	settle := func(at time.Time) error {
		lmu.Lock()
		var pending []*anyoneLink
		for _, l := range links {
			if l.recorded.IsZero() {
				pending = append(pending, l)
			}
		}
		lmu.Unlock()
		for _, l := range pending {
			fp := linkFingerprint(l.key)
			if _, err := svc.Store.Finding(ctx, tenantName, fp); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			msgs, err := svc.Store.OutboxMessages(ctx, store.OutboxFilter{Tenant: tenantName, Fingerprint: fp})
			if err != nil {
				return err
			}
			lmu.Lock()
			if l.recorded.IsZero() {
				l.recorded, l.alerted = at, len(msgs) > 0
			}
			lmu.Unlock()
		}
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var loopErr error
	var errOnce sync.Once
	fail := func(err error) {
		if err != nil && runCtx.Err() == nil {
			errOnce.Do(func() { loopErr = err; cancel() })
		}
	}
	// The change feed: processes due marks every simulated second.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for runCtx.Err() == nil {
			start := clk.Now()
			ran, err := feed.Process(runCtx, tenantName)
			if err != nil && runCtx.Err() == nil {
				retry("process change notifications", err)
			}
			if ran {
				lmu.Lock()
				processing++
				slowest = max(slowest, clk.Now().Sub(start))
				lmu.Unlock()
				if err := settle(clk.Now()); err != nil && runCtx.Err() == nil {
					retry("look findings up", err)
				}
			}
			_ = clk.Sleep(runCtx, time.Second)
		}
	}()
	// The safety net: a scheduled scan every SafetyNet, start to start as
	// the daemon's schedule runs them (a scan longer than the interval
	// delays the next).
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := clk.Now().Add(c.SafetyNet)
		for {
			if clk.Sleep(runCtx, next.Sub(clk.Now())) != nil {
				return
			}
			next = next.Add(c.SafetyNet)
			for runCtx.Err() == nil {
				start := clk.Now()
				mem.step("scheduled")
				_, err := svc.Daemon.ScanNow(runCtx, tenantName)
				mem.step("feed")
				if errors.Is(err, daemon.ErrLeaseLost) || errors.Is(err, daemon.ErrBusy) {
					_ = clk.Sleep(runCtx, time.Second) // the feed holds the tenant
					continue
				}
				if err != nil {
					if runCtx.Err() == nil {
						retry("scheduled scan", err)
					}
					_ = clk.Sleep(runCtx, time.Second)
					continue
				}
				now := clk.Now()
				lmu.Lock()
				longest = max(longest, now.Sub(start))
				slowest = max(slowest, longest)
				lmu.Unlock()
				if err := settle(now); err != nil && runCtx.Err() == nil {
					retry("look findings up", err)
				}
				break
			}
		}
	}()

	// The users: a new shared file every Every; then, with every
	// notification dropped, a few more for the safety net.
	create := func(phase, i int) {
		n := len(fake.Deliveries())
		created := clk.Now()
		item, perm, err := fake.AddAnyoneFile(t.drive, fmt.Sprintf("Shared %d-%03d.xlsx", phase, i))
		if err != nil {
			fail(err)
			return
		}
		l := &anyoneLink{key: "link:" + t.drive + "/" + item + "/" + perm, created: created, phase: phase}
		if ds := fake.Deliveries(); len(ds) == n+1 {
			l.dropped = ds[n].Dropped
			l.arrived = ds[n].Due
		} else {
			fail(fmt.Errorf("bench: %d deliveries for one link", len(ds)-n))
		}
		lmu.Lock()
		links = append(links, l)
		lmu.Unlock()
	}
	// waitRecorded waits until every link is recorded, or limit plus two
	// of the slowest processings or scans seen: on a large tenant a link
	// waits for the read in progress and its own, and is not cut off (and
	// left out of the figures) for the tenant's size alone.
	waitRecorded := func(limit time.Duration) {
		from := clk.Now()
		for runCtx.Err() == nil {
			lmu.Lock()
			left := 0
			for _, l := range links {
				if l.recorded.IsZero() {
					left++
				}
			}
			deadline := from.Add(limit + 2*slowest)
			lmu.Unlock()
			if !clk.Now().Before(deadline) {
				return
			}
			if left == 0 {
				return
			}
			_ = clk.Sleep(runCtx, 5*time.Second)
		}
	}
	stopProfile, err := startCPUProfile(c.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	for i := 0; i < c.Links && runCtx.Err() == nil; i++ {
		create(1, i)
		_ = clk.Sleep(runCtx, c.Every)
	}
	waitRecorded(2*c.SafetyNet + m365.DriveItemLatencyMax)
	fake.SetNotifyOptions(m365test.NotifyOptions{Client: ts.Client(), DropRate: 1, Seed: c.Seed})
	for i := 0; i < c.DroppedLinks && runCtx.Err() == nil; i++ {
		create(2, i)
		_ = clk.Sleep(runCtx, c.SafetyNet/time.Duration(c.DroppedLinks+1))
	}
	waitRecorded(2 * c.SafetyNet)
	stopProfile()
	cancel()
	wg.Wait()
	fake.WaitDeliveries()
	if loopErr != nil {
		return nil, loopErr
	}

	rss, heap, _, live, byStep := mem.stop()
	memStopped = true
	u := fake.Usage()
	rep := &AnyoneReport{Scenario: ScenarioAnyoneLinks, Tenant: tenantName, Drive: t.drive, Links: c.Links, DroppedLinks: c.DroppedLinks, DropRate: c.DropRate,
		TimeScale: c.TimeScale, Store: t.store, Processings: processing, Errors: errCount, FirstError: firstErr,
		Subscriptions: len(fake.Subscriptions()), SubscribeSecs: subscribed.Sub(subStart).Seconds(), CatchUpSecs: caughtUp.Sub(subscribed).Seconds(),
		WallSeconds: time.Since(wallStart).Seconds(), PeakRSSBytes: rss, PeakHeapBytes: heap,
		PeakLiveBytes: live, PeakLiveByStep: byStep,
		Calls: u.Requests, CallsByKind: u.ByKind, RU: u.RU, EntraRU: u.EntraRU, Throttled: u.Throttled,
		DeliveryModel: fmt.Sprintf("exponential, mean %s, capped at %s (Microsoft: driveItem under %s on average, at most about %s)",
			m365.DriveItemLatencyAverage/2, m365.DriveItemLatencyMax, m365.DriveItemLatencyAverage, m365.DriveItemLatencyMax),
		SafetyNetSecs: c.SafetyNet.Seconds(), LongestScanSecs: longest.Seconds(), DebounceSecs: c.Debounce.Seconds()}
	for _, r := range []string{"bad_client_state", "unknown_subscription", "malformed", "unexpected_validation", "unknown_tenant", "wrong_tenant"} {
		rep.Refused += int(feed.Counted(r))
	}
	var delivery, notified, own, covered, dropped []time.Duration
	for _, l := range links {
		if l.recorded.IsZero() || !l.alerted {
			rep.Missed = append(rep.Missed, l.key)
			continue
		}
		switch {
		case l.phase == 2:
			dropped = append(dropped, l.recorded.Sub(l.created))
		case l.dropped:
			covered = append(covered, l.recorded.Sub(l.created))
		default:
			delivery = append(delivery, l.arrived.Sub(l.created))
			notified = append(notified, l.recorded.Sub(l.created))
			if l.recorded.Before(l.arrived) {
				rep.EarlierRead++
			} else {
				own = append(own, l.recorded.Sub(l.arrived))
			}
		}
	}
	rep.Delivery, rep.Notified, rep.Own = quantiles(delivery), quantiles(notified), quantiles(own)
	rep.DroppedCovered, rep.Dropped = quantiles(covered), quantiles(dropped)
	add := func(name string, v float64, limit string, ok bool) {
		rep.Checks = append(rep.Checks, check(name, v, limit, ok))
	}
	add("links without a recorded finding and enqueued alert", float64(len(rep.Missed)), "= 0", len(rep.Missed) == 0)
	add("notified links measured", float64(rep.Notified.Count), "> 0", rep.Notified.Count > 0)
	add("new link to recorded finding p95, notified (s)", rep.Notified.P95, "<= 120", rep.Notified.Count > 0 && rep.Notified.P95 <= 120)
	add("notification arrival to finding and alert p95 (s)", rep.Own.P95, "<= 30", rep.Own.Count > 0 && rep.Own.P95 <= 30)
	// A dropped link waits for the next scheduled scan to start (at most
	// one interval) and for that scan to finish.
	lim := c.SafetyNet.Seconds() + longest.Seconds()
	add("new link to recorded finding max, notification dropped (s)", rep.Dropped.Max,
		fmt.Sprintf("<= safety net %.0f + longest scheduled scan %.1f", c.SafetyNet.Seconds(), longest.Seconds()),
		rep.Dropped.Count > 0 && rep.Dropped.Max <= lim)
	add("refused notifications", float64(rep.Refused), "= 0", rep.Refused == 0)
	rep.OK = true
	for _, ch := range rep.Checks {
		rep.OK = rep.OK && ch.OK
	}
	return rep, nil
}

// feedMux serves the feed's receiver in front of the daemon's handler, as
// the daemon mounts it; the scenario builds the feed itself so that it
// runs on the fake's clock.
func feedMux(feed *app.ChangeFeed, rest http.Handler) http.Handler {
	mux := http.NewServeMux()
	r := feed.Route()
	mux.Handle(r.Pattern, r.Handler)
	mux.Handle("/", rest)
	return mux
}

// startCPUProfile starts a CPU profile into file ("" profiles nothing);
// the returned func stops it and may be called more than once.
func startCPUProfile(file string) (func(), error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile %s: %w", file, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}
