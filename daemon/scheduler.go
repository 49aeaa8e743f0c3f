package daemon

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sharedrift/sharedrift/config"
)

// Scan triggers.
const (
	TriggerSchedule = "schedule"
	TriggerStartup  = "startup"
	TriggerAPI      = "api"
	TriggerManual   = "manual"
)

// ScanRequest is one scan the daemon asks for.
type ScanRequest struct {
	Tenant config.Tenant
	// Slot identifies the due scan; the same on every replica.
	Slot time.Time
	// Lease is the tenant lease held for this scan; the commit must be
	// fenced on it.
	Lease Lease
}

// ScanResult summarizes a finished scan for logs, metrics and callers.
type ScanResult struct {
	ScanID int64
	// Status is complete, partial (some section not complete) or failed.
	Status    string
	Fails     int
	Calls     int
	Throttled int
	RU        int64
}

// ScanFunc collects, evaluates and records one tenant. It must commit
// nothing when ctx is cancelled before its commit, and should return
// ErrLeaseLost when the store refuses the commit because the lease moved.
type ScanFunc func(ctx context.Context, req ScanRequest) (ScanResult, error)

// ErrStopping is returned for work asked of a daemon that is shutting down.
var ErrStopping = errors.New("daemon is stopping")

// ErrBusy is returned by ScanNow when another replica holds the tenant.
var ErrBusy = errors.New("another replica is scanning this tenant")

// ErrUnknownTenant is returned for a tenant that is not configured.
var ErrUnknownTenant = errors.New("unknown tenant")

// Options configures a Daemon.
type Options struct {
	Tenants     []config.Tenant
	Scheduler   config.Scheduler
	Scan        ScanFunc
	Coordinator Coordinator
	// Owner names this replica in leases; host name plus pid is a good value.
	Owner   string
	Logger  *slog.Logger
	Metrics *Metrics
	// SweepInterval is how often pending slots without a live lease are
	// looked for; default a quarter of the lease TTL, between 1s and 15s.
	SweepInterval time.Duration
}

// Daemon schedules and runs tenant scans.
type Daemon struct {
	o       Options
	log     *slog.Logger
	m       *Metrics
	ttl     time.Duration
	sem     chan struct{}
	tenants map[string]*tenantState
	names   []string

	wg       sync.WaitGroup
	wgMu     sync.Mutex // orders wg.Add against the stop's wg.Wait
	stopping atomic.Bool
	workCtx  context.Context
	cancel   context.CancelFunc
}

type tenantState struct {
	cfg      config.Tenant
	schedule cron.Schedule
	offset   time.Duration
	mu       sync.Mutex  // one drain per tenant in this process
	dirty    atomic.Bool // work arrived while a drain was running
	running  atomic.Bool
	entry    cron.EntryID
}

// New checks the options and parses every tenant's schedule.
func New(o Options) (*Daemon, error) {
	if o.Scan == nil || o.Coordinator == nil {
		return nil, errors.New("daemon: Scan and Coordinator are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Owner == "" {
		return nil, errors.New("daemon: Owner is required")
	}
	ttl := o.Scheduler.LeaseTTL.D()
	if ttl <= 0 {
		ttl = config.DefaultLeaseTTL
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = min(max(ttl/4, time.Second), 15*time.Second)
	}
	n := o.Scheduler.MaxConcurrent
	if n <= 0 {
		n = 4
	}
	workCtx, cancel := context.WithCancel(context.Background())
	d := &Daemon{
		o: o, log: o.Logger, m: o.Metrics, ttl: ttl,
		sem:     make(chan struct{}, n),
		tenants: map[string]*tenantState{},
		workCtx: workCtx, cancel: cancel,
	}
	for _, t := range o.Tenants {
		s, err := config.ParseSchedule(t.Schedule)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("tenants.%s.schedule: %w", t.Name, err)
		}
		// Jitter stays under half the interval, so a slot's scan always
		// starts before the next slot and never looks like the previous one's.
		window := min(o.Scheduler.Jitter.D(), interval(s)/2)
		d.tenants[t.Name] = &tenantState{cfg: t, schedule: s, offset: jitterFor(t.Name, window)}
		d.names = append(d.names, t.Name)
	}
	sort.Strings(d.names)
	return d, nil
}

// jitterFor spreads tenants over the jitter window deterministically, so
// every replica delays a tenant by the same amount.
func jitterFor(name string, window time.Duration) time.Duration {
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64()%uint64(window/time.Millisecond)) * time.Millisecond
}

// interval estimates a schedule's period from two consecutive instants.
func interval(s cron.Schedule) time.Duration {
	if e, ok := s.(config.EverySchedule); ok {
		return e.Interval
	}
	a := s.Next(time.Now())
	b := s.Next(a)
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

// jittered fires offset after each of the base schedule's instants.
type jittered struct {
	base   cron.Schedule
	offset time.Duration
}

func (j jittered) Next(t time.Time) time.Time { return j.base.Next(t.Add(-j.offset)).Add(j.offset) }

// latestSlot returns the schedule's last instant at or before t, looking
// back far enough for any sane schedule; ok is false if none is found.
func latestSlot(s cron.Schedule, t time.Time) (time.Time, bool) {
	if e, ok := s.(config.EverySchedule); ok {
		return e.Next(t.Add(-e.Interval)), true
	}
	for _, back := range []time.Duration{time.Hour, 25 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		cur := s.Next(t.Add(-back))
		if cur.IsZero() || cur.After(t) {
			continue
		}
		for {
			n := s.Next(cur)
			if n.IsZero() || n.After(t) {
				return cur.UTC(), true
			}
			cur = n
		}
	}
	return time.Time{}, false
}

// cronLogger adapts slog to cron.Logger. Cron's routine chatter goes to
// debug; skipped runs and errors are worth seeing.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.l.Info("cron: run skipped, previous still running", kv...)
		return
	}
	c.l.Debug("cron", append([]any{"event", msg}, kv...)...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron", append([]any{"event", msg, "error", err}, kv...)...)
}

// Run schedules scans until ctx is done, then stops gracefully: no new
// scans start, running ones get the grace period to finish, and whatever is
// still running after it is abandoned uncommitted. It returns nil after a
// graceful stop.
func (d *Daemon) Run(ctx context.Context) error {
	logger := cronLogger{d.log}
	c := cron.New(
		cron.WithLocation(time.UTC),
		cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)),
	)
	for _, name := range d.names {
		ts := d.tenants[name]
		ts.entry = c.Schedule(jittered{ts.schedule, ts.offset}, cron.FuncJob(func() { d.onTick(ts) }))
	}
	c.Start()
	d.log.Info("daemon started", "tenants", len(d.names), "owner", d.o.Owner,
		"startup_scan", d.o.Scheduler.StartupScan, "lease_ttl", d.ttl.String())

	sweepDone := make(chan struct{})
	sweepCtx, stopSweep := context.WithCancel(ctx)
	go func() {
		defer close(sweepDone)
		d.sweep(sweepCtx)
	}()

	if d.o.Scheduler.StartupScan {
		now := time.Now().UTC()
		for _, name := range d.names {
			ts := d.tenants[name]
			slot, ok := latestSlot(ts.schedule, now)
			if !ok {
				slot = now.Truncate(time.Second)
			}
			d.enqueue(ts, slot.Truncate(time.Second), TriggerStartup)
		}
	}

	<-ctx.Done()
	d.wgMu.Lock()
	d.stopping.Store(true)
	d.wgMu.Unlock()
	d.log.Info("daemon stopping: no new scans", "grace_period", d.o.Scheduler.GracePeriod.String())
	cronDone := c.Stop()
	stopSweep()
	<-sweepDone

	idle := make(chan struct{})
	go func() {
		<-cronDone.Done()
		d.wg.Wait()
		close(idle)
	}()
	grace := d.o.Scheduler.GracePeriod.D()
	select {
	case <-idle:
		d.log.Info("daemon stopped")
	case <-time.After(grace):
		d.log.Warn("grace period over: abandoning running scans without committing", "running", d.runningTenants())
		d.cancel()
		select {
		case <-idle:
		case <-time.After(10 * time.Second):
			d.log.Error("scans did not return after cancellation", "running", d.runningTenants())
		}
		d.log.Info("daemon stopped")
	}
	d.cancel()
	return nil
}

func (d *Daemon) runningTenants() []string {
	var out []string
	for _, n := range d.names {
		if d.tenants[n].running.Load() {
			out = append(out, n)
		}
	}
	return out
}

// onTick is the cron job of one tenant: record the due slot and work it.
// It runs synchronously so cron's SkipIfStillRunning sees it as running.
func (d *Daemon) onTick(ts *tenantState) {
	if !d.begin() {
		return
	}
	defer d.wg.Done()
	// Cron calls late, never early; the slot is the instant it was due for.
	slot, ok := latestSlot(ts.schedule, time.Now().UTC().Add(-ts.offset).Add(100*time.Millisecond))
	if !ok {
		return
	}
	if err := d.o.Coordinator.EnsureSlot(d.workCtx, ts.cfg.Name, slot, false); err != nil {
		d.log.Error("record due scan", "tenant", ts.cfg.Name, "slot", slot, "error", err)
		return
	}
	d.drain(ts)
}

// begin registers work unless the daemon is stopping.
func (d *Daemon) begin() bool {
	d.wgMu.Lock()
	defer d.wgMu.Unlock()
	if d.stopping.Load() {
		return false
	}
	d.wg.Add(1)
	return true
}

// enqueue records a slot and works it in the background.
func (d *Daemon) enqueue(ts *tenantState, slot time.Time, trigger string) {
	if err := d.o.Coordinator.EnsureSlot(d.workCtx, ts.cfg.Name, slot, false); err != nil {
		d.log.Error("record due scan", "tenant", ts.cfg.Name, "slot", slot, "trigger", trigger, "error", err)
		return
	}
	d.kick(ts)
}

// kick works a tenant's pending slots in the background.
func (d *Daemon) kick(ts *tenantState) {
	if !d.begin() {
		return
	}
	go func() {
		defer d.wg.Done()
		d.drain(ts)
	}()
}

// Trigger asks for a scan of tenant now (the API's POST). It returns the
// slot the scan was queued under.
func (d *Daemon) Trigger(ctx context.Context, name string) (time.Time, error) {
	ts, ok := d.tenants[name]
	if !ok {
		return time.Time{}, ErrUnknownTenant
	}
	if d.stopping.Load() {
		return time.Time{}, ErrStopping
	}
	slot := time.Now().UTC().Truncate(time.Second)
	if err := d.o.Coordinator.EnsureSlot(ctx, name, slot, true); err != nil {
		return time.Time{}, fmt.Errorf("queue scan of %s: %w", name, err)
	}
	d.kick(ts)
	return slot, nil
}

// ScanNow queues a scan of tenant and works it synchronously, returning
// its result (used by one-shot runs). If another replica holds the tenant,
// it returns ErrLeaseLost.
func (d *Daemon) ScanNow(ctx context.Context, name string) (ScanResult, error) {
	ts, ok := d.tenants[name]
	if !ok {
		return ScanResult{}, ErrUnknownTenant
	}
	slot := time.Now().UTC().Truncate(time.Second)
	if err := d.o.Coordinator.EnsureSlot(ctx, name, slot, true); err != nil {
		return ScanResult{}, fmt.Errorf("queue scan of %s: %w", name, err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	res, ran, err := d.drainOnce(ts)
	if !ran && err == nil {
		err = ErrBusy
	}
	return res, err
}

// sweep periodically works tenants whose pending slots nobody holds: slots
// another replica recorded but could not run, or a dead replica's tenants
// once their lease expired.
func (d *Daemon) sweep(ctx context.Context) {
	t := time.NewTicker(d.o.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due, err := d.o.Coordinator.DueTenants(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("sweep: list due tenants", "error", err)
			}
			continue
		}
		for _, name := range due {
			if ts, ok := d.tenants[name]; ok {
				d.kick(ts)
			}
		}
	}
}

// drain works the tenant's pending slots unless this process already is;
// in that case the running drain is told to look again when it finishes.
func (d *Daemon) drain(ts *tenantState) {
	for {
		if !ts.mu.TryLock() {
			ts.dirty.Store(true)
			return
		}
		ts.dirty.Store(false)
		if _, _, err := d.drainOnce(ts); err != nil && !errors.Is(err, ErrStopping) {
			d.log.Warn("scan", "tenant", ts.cfg.Name, "error", err)
		}
		ts.mu.Unlock()
		if !ts.dirty.Load() || d.stopping.Load() {
			return
		}
	}
}

// drainOnce takes the tenant's lease and runs its newest pending slot,
// marking older ones skipped, until none is left. ran is false if the
// lease was held elsewhere.
func (d *Daemon) drainOnce(ts *tenantState) (last ScanResult, ran bool, err error) {
	name := ts.cfg.Name
	select {
	case d.sem <- struct{}{}:
	case <-d.workCtx.Done():
		return last, false, ErrStopping
	}
	defer func() { <-d.sem }()
	if d.stopping.Load() {
		return last, false, ErrStopping
	}

	ctx := d.workCtx
	lease, ok, err := d.o.Coordinator.ClaimTenant(ctx, name, d.o.Owner, d.ttl)
	if err != nil {
		return last, false, fmt.Errorf("claim lease: %w", err)
	}
	if !ok {
		return last, false, nil
	}
	defer func() {
		// Released on a fresh context so an abandoned scan's tenant is
		// free for another replica at once, not after the TTL.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.o.Coordinator.ReleaseTenant(rctx, lease); err != nil {
			d.log.Warn("release lease", "tenant", name, "error", err)
		}
	}()

	for {
		if d.stopping.Load() && ran {
			return last, ran, nil
		}
		pending, err := d.o.Coordinator.PendingSlots(ctx, name)
		if err != nil {
			return last, ran, fmt.Errorf("list pending scans: %w", err)
		}
		if len(pending) == 0 {
			return last, ran, nil
		}
		slot := pending[len(pending)-1]
		for _, old := range pending[:len(pending)-1] {
			if err := d.o.Coordinator.FinishSlot(ctx, name, old, SlotSkipped, lease); err != nil {
				return last, ran, fmt.Errorf("skip stale slot: %w", err)
			}
			d.m.Scans.WithLabelValues(name, OutcomeSkipped).Inc()
			d.log.Info("scan skipped: a newer one is due", "tenant", name, "slot", old)
		}
		res, err := d.runScan(ts, slot, lease)
		ran = true
		last = res
		if err != nil {
			if errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrStopping) {
				return last, ran, err
			}
			// A failed scan is done for its slot; the next slot retries.
			if ferr := d.o.Coordinator.FinishSlot(ctx, name, slot, SlotFailed, lease); ferr != nil {
				return last, ran, errors.Join(err, fmt.Errorf("record failed slot: %w", ferr))
			}
			return last, ran, err
		}
		if err := d.o.Coordinator.FinishSlot(ctx, name, slot, SlotDone, lease); err != nil {
			return last, ran, fmt.Errorf("finish slot: %w", err)
		}
	}
}

// runScan runs one scan under the per-scan timeout, renewing the lease
// while it runs and cancelling the scan if the lease is lost.
func (d *Daemon) runScan(ts *tenantState, slot time.Time, lease Lease) (res ScanResult, err error) {
	name := ts.cfg.Name
	ctx, cancel := context.WithCancelCause(d.workCtx)
	defer cancel(nil)
	if to := d.o.Scheduler.ScanTimeout.D(); to > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeoutCause(ctx, to, fmt.Errorf("scan timeout %s", to))
		defer c2()
	}

	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(d.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-hbStop:
				return
			case <-t.C:
			}
			held, err := d.o.Coordinator.RenewTenant(d.workCtx, lease, d.ttl)
			if err != nil {
				d.log.Warn("renew lease", "tenant", name, "error", err)
				continue // the lease outlives a transient error; expiry decides
			}
			if !held {
				cancel(ErrLeaseLost)
				return
			}
		}
	}()
	defer func() {
		close(hbStop)
		<-hbDone
	}()

	ts.running.Store(true)
	d.m.Running.Inc()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("scan panicked", "tenant", name, "slot", slot, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("scan of %s panicked: %v", name, p)
			res = ScanResult{Status: OutcomeFailed}
			d.m.Scans.WithLabelValues(name, OutcomePanic).Inc()
		}
		ts.running.Store(false)
		d.m.Running.Dec()
	}()

	d.log.Info("scan started", "tenant", name, "slot", slot)
	res, err = d.o.Scan(ctx, ScanRequest{Tenant: ts.cfg, Slot: slot, Lease: lease})
	elapsed := time.Since(start)

	outcome := res.Status
	switch {
	case errors.Is(context.Cause(ctx), ErrLeaseLost) || errors.Is(err, ErrLeaseLost):
		outcome, err = OutcomeLeaseLost, ErrLeaseLost
	case d.workCtx.Err() != nil:
		outcome, err = OutcomeAbandoned, ErrStopping
	case err != nil:
		outcome = OutcomeFailed
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, c)
		}
	case outcome == "":
		outcome = OutcomeComplete
	}
	d.m.Scans.WithLabelValues(name, outcome).Inc()
	d.m.ScanDuration.WithLabelValues(name).Observe(elapsed.Seconds())
	d.m.APICalls.WithLabelValues(name).Add(float64(res.Calls))
	d.m.Throttled.WithLabelValues(name).Add(float64(res.Throttled))
	d.m.RU.WithLabelValues(name).Add(float64(res.RU))
	d.m.LastScan.WithLabelValues(name, outcome).SetToCurrentTime()
	attrs := []any{"tenant", name, "slot", slot, "outcome", outcome, "scan_id", res.ScanID,
		"fails", res.Fails, "calls", res.Calls, "throttled", res.Throttled, "ru", res.RU, "elapsed", elapsed.String()}
	if err != nil {
		d.log.Warn("scan ended", append(attrs, "error", err)...)
	} else {
		d.log.Info("scan finished", attrs...)
	}
	return res, err
}

// TenantStatus is the scheduler's view of one tenant.
type TenantStatus struct {
	Name     string
	Schedule string
	Baseline string
	Next     time.Time
	Running  bool
}

// Status lists the tenants with their next scheduled slot.
func (d *Daemon) Status() []TenantStatus {
	now := time.Now().UTC()
	out := make([]TenantStatus, 0, len(d.names))
	for _, n := range d.names {
		ts := d.tenants[n]
		out = append(out, TenantStatus{
			Name: n, Schedule: ts.cfg.Schedule, Baseline: ts.cfg.Baseline,
			Next: ts.schedule.Next(now).UTC(), Running: ts.running.Load(),
		})
	}
	return out
}

// HasTenant reports whether name is configured.
func (d *Daemon) HasTenant(name string) bool {
	_, ok := d.tenants[name]
	return ok
}
