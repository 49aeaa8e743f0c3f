package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/console"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/destinations"
	"github.com/sharedrift/sharedrift/notify/notifystore"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// ServiceOptions configures a Service.
type ServiceOptions struct {
	Logger *slog.Logger
	// Owner names this replica in leases; default host name and pid.
	Owner string
	// Version goes into the collector's User-Agent.
	Version string
	// OpenFixture serves fixture tenants (see Options.OpenFixture).
	OpenFixture OpenFixture
	// Routes are extra HTTP handlers (Slack interactivity, reports).
	Routes []daemon.Route
	// WrapScan, when set, wraps the scan function (instrumentation, tests).
	WrapScan func(daemon.ScanFunc) daemon.ScanFunc
	// Sections limits scheduled scans to these sections (Options.Sections).
	Sections []tenant.Section
	// StoreNow is the store's clock (store.Options.Now; default time.Now).
	// The benchmark passes its fake tenant's, on which the change feed
	// runs, so that leases and subscriptions share the feed's time.
	StoreNow func() time.Time
}

// Service is a configured daemon with its store, collector and HTTP
// handler, ready to Serve or to scan once.
type Service struct {
	Config   *config.Config
	Store    store.Store
	Pipeline *Pipeline
	Daemon   *daemon.Daemon
	Metrics  *daemon.Metrics
	Handler  http.Handler

	log     *slog.Logger
	unlock  func()
	closers []func()
	// Notifications (nil when no destination is configured).
	worker  *notify.Worker
	planner *notify.Planner
	// views opens Slack forms (accept risk); nil without a bot token.
	views slack.ViewOpener
	// Remediation records, approves and applies fixes.
	Remediation *Remediations
	// Reports serves and delivers security review reports.
	Reports *Reports
	// Changes receives Graph change notifications (nil when
	// change_notifications.url is not set).
	Changes *ChangeFeed
}

// DefaultOwner is host name and pid, unique per replica.
func DefaultOwner() string {
	h, err := os.Hostname()
	if err != nil {
		h = "unknown"
	}
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// Open builds everything the configuration asks for and checks it: the
// store is reached and migrated, baselines and credentials load. On error
// nothing is left open.
func Open(ctx context.Context, cfg *config.Config, o ServiceOptions) (_ *Service, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Owner == "" {
		o.Owner = DefaultOwner()
	}
	s := &Service{Config: cfg, log: o.Logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	sopts := store.Options{Logger: o.Logger, Now: o.StoreNow}
	if cfg.Store.DSN.IsSet() {
		s.Store, err = store.Open(ctx, cfg.Store.DSN.Value().Reveal(), sopts)
	} else {
		// One daemon per embedded database: the lock file refuses a second.
		if s.unlock, err = daemon.LockStateDir(cfg.Store.StateDir); err != nil {
			return nil, err
		}
		s.Store, err = store.OpenStateDir(ctx, cfg.Store.StateDir, sopts)
	}
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.Store.Close() })

	tenants := make([]config.Tenant, 0, len(cfg.Tenants))
	for _, n := range cfg.TenantNames() {
		tenants = append(tenants, cfg.Tenants[n])
	}
	s.Metrics = daemon.NewMetrics()
	popts := Options{Store: s.Store, Logger: o.Logger, Version: o.Version, OpenFixture: o.OpenFixture, Sections: o.Sections}
	var capNotifier remediate.Notifier
	if len(cfg.Notify.Destinations) > 0 {
		if err := s.setupNotify(o); err != nil {
			return nil, err
		}
		capNotifier = remediate.OutboxNotifier{Outbox: &notifystore.Outbox{S: s.Store}, Routes: cfg.Notify.Routes}
	}
	s.Remediation, err = newRemediations(tenants, remediationDeps{
		store: s.Store,
		target: func(name string) (remediate.Target, error) {
			c := s.Pipeline.Client(name)
			if c == nil {
				return nil, fmt.Errorf("tenant %q: no client", name)
			}
			return remediate.M365Target{C: c}, nil
		},
		clock:    func(name string) time.Time { return s.Pipeline.Clock(name)() },
		notifier: capNotifier,
		metrics:  s.Metrics,
		log:      o.Logger,
	})
	if err != nil {
		return nil, err
	}
	popts.AfterRecord = s.afterRecord

	s.Reports, err = newReports(cfg, s.Store, func(name string) time.Time { return s.Pipeline.Clock(name)() }, o)
	if err != nil {
		return nil, err
	}

	routes := append([]daemon.Route(nil), o.Routes...)
	routes = append(routes, daemon.RemediationRoutes(s.Remediation, o.Logger)...)
	routes = append(routes, daemon.WaiverRoutes(s.Store, o.Logger)...)
	routes = append(routes, s.Reports.Route())
	if cfg.Notify.Interactivity.SigningSecret != "" {
		h, err := slack.NewInteractionHandler(cfg.Notify.Interactivity, slack.HandlerOptions{
			Actions: notifystore.FindingActions{S: s.Store}, Approver: s.Remediation, Views: s.views, Logger: o.Logger})
		if err != nil {
			return nil, fmt.Errorf("notify.interactivity: %w", err)
		}
		// Slack signs its requests; the handler checks them itself.
		routes = append(routes, daemon.Route{Pattern: "POST /slack/interactions", Handler: h})
	}

	s.Pipeline, err = New(popts, tenants)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Pipeline.Close)
	// Runs started by approvals stop before the fake tenants and the store.
	s.closers = append(s.closers, s.Remediation.close)

	if cfg.Changes.URL != "" {
		s.Changes, err = NewChangeFeed(ChangeFeedOptions{Store: s.Store, Pipeline: s.Pipeline, Tenants: tenants, Config: cfg.Changes,
			Owner: o.Owner, LeaseTTL: cfg.Scheduler.LeaseTTL.D(), Logger: o.Logger, Registry: s.Metrics.Registry})
		if err != nil {
			return nil, err
		}
		routes = append(routes, s.Changes.Route())
	}

	reader := Reader{S: s.Store}
	if err := s.Metrics.RegisterStateSource(reader, o.Logger); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	scan := daemon.ScanFunc(s.Pipeline.Scan)
	if o.WrapScan != nil {
		scan = o.WrapScan(scan)
	}
	s.Daemon, err = daemon.New(daemon.Options{
		Tenants:     tenants,
		Scheduler:   cfg.Scheduler,
		Scan:        scan,
		Coordinator: NewCoordinator(s.Store, cfg.Scheduler.LeaseTTL.D()),
		Owner:       o.Owner,
		Logger:      o.Logger,
		Metrics:     s.Metrics,
	})
	if err != nil {
		return nil, err
	}
	tokens := daemon.TokensFrom(cfg.HTTP)
	conOpts := console.Options{
		Store: s.Store, Remediation: s.Remediation, Reports: s.Reports, Tenants: s.Daemon,
		Tokens: daemon.NewTokenSet(tokens), Console: cfg.HTTP.Console, Logger: o.Logger,
		TenantClock: func(name string) time.Time { return s.Pipeline.Clock(name)() },
	}
	// The console offers PDF reports only where a browser can print them.
	if bin, err := report.FindChromium(); err == nil {
		conOpts.PDF = PDFPrinter{Reports: s.Reports, Chromium: bin}
	} else {
		o.Logger.Info("console: no PDF reports", "reason", err.Error())
	}
	con, err := console.New(conOpts)
	if err != nil {
		return nil, err
	}
	s.Handler = daemon.NewHandler(daemon.ServerOptions{
		Scheduler: s.Daemon, Reader: reader, Tokens: tokens,
		Metrics: s.Metrics, Logger: o.Logger, Routes: routes, Console: con,
	})
	return s, nil
}

// afterRecord runs after every committed scan: notifications first (they
// describe what the scan found), then remediation.
func (s *Service) afterRecord(ctx context.Context, rec Recorded) error {
	var errs []error
	if s.planner != nil {
		// A replica that died between an earlier commit and its planning
		// left that scan unplanned; catch up before planning this one.
		if _, err := s.replan(ctx, rec.Tenant.Name, rec.Scan.ID, replanPerScan); err != nil {
			errs = append(errs, err)
		}
		if _, err := notifystore.PlanScan(ctx, s.Store, s.planner, rec.Scan, s.notifyOptions(rec.Tenant.Name)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.Remediation.AfterScan(ctx, rec); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// How many earlier scans planning looks back at: after every scan, and
// per tenant at start-up.
const (
	replanPerScan   = 2
	replanAtStartup = 10
)

// replanWindow is how far back re-planning looks: notifications older than
// the delivery age would be dead-lettered anyway, and the window stays well
// inside retention so pruned, delivered messages are never planned again.
func (s *Service) replanWindow() time.Duration {
	w := s.Config.Notify.Delivery.MaxAge
	if w <= 0 {
		w = 72 * time.Hour
	}
	if r := s.Config.Store.Retention.D(); r > 0 && w > r/2 {
		w = r / 2
	}
	return w
}

// replan runs notification planning again for a tenant's recent scans
// (except skipID), oldest first. Planning is idempotent (keys per scan,
// destination and finding), so this enqueues only what a process that
// died between a scan's commit and its planning left out.
func (s *Service) replan(ctx context.Context, tenantName string, skipID int64, limit int) (int, error) {
	if s.planner == nil {
		return 0, nil
	}
	scans, err := s.Store.Scans(ctx, store.ScanFilter{Tenant: tenantName, Since: time.Now().Add(-s.replanWindow()), Limit: limit + 1})
	if err != nil {
		return 0, fmt.Errorf("re-plan notifications of %s: %w", tenantName, err)
	}
	recent := make([]store.Scan, 0, len(scans))
	for _, sc := range scans {
		if sc.ID != skipID && len(recent) < limit {
			recent = append(recent, sc) // newest first
		}
	}
	total := 0
	for i := len(recent) - 1; i >= 0; i-- {
		k, err := notifystore.PlanScan(ctx, s.Store, s.planner, recent[i], s.notifyOptions(tenantName))
		if err != nil {
			return total, err
		}
		total += k
	}
	return total, nil
}

// replanAll catches up every tenant's recent scans at start-up.
func (s *Service) replanAll(ctx context.Context) {
	for _, name := range s.Config.TenantNames() {
		n, err := s.replan(ctx, name, 0, replanAtStartup)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("re-plan notifications", "tenant", name, "error", err)
		case n > 0:
			s.log.Info("notifications planned after a restart", "tenant", name, "enqueued", n)
		}
	}
}

// notifyOptions enrich a tenant's notifications: findings whose fix waits
// for people (or runs by itself) carry Approve fix / Reject buttons.
func (s *Service) notifyOptions(tenantName string) notifystore.Options {
	return notifystore.Options{Remediable: s.Remediation.Remediable(tenantName)}
}

// setupNotify builds the destinations, the planner and the outbox worker.
func (s *Service) setupNotify(o ServiceOptions) error {
	notifiers, err := destinations.Build(&s.Config.Notify, destinations.Options{Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	nm := notify.NewMetrics()
	if err := nm.Register(s.Metrics.Registry); err != nil {
		return fmt.Errorf("register notification metrics: %w", err)
	}
	s.planner = notify.NewPlanner(&s.Config.Notify)
	// The accept-risk form opens through the first Slack destination with a
	// bot token, in configuration order (one workspace per daemon).
	for _, d := range s.Config.Notify.Destinations {
		if sn, ok := notifiers[d.Name].(*slack.Notifier); ok && sn.Interactive() {
			s.views = sn
			break
		}
	}
	s.worker, err = notify.NewWorker(notify.WorkerOptions{
		Outbox: &notifystore.Outbox{S: s.Store}, Notifiers: notifiers, Delivery: s.Config.Notify.Delivery,
		Owner: o.Owner, Logger: o.Logger, Metrics: nm,
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// remind enqueues due reminders for every tenant; reminder keys are fixed
// per finding and period, so every replica doing this enqueues each once.
func (s *Service) remind(ctx context.Context) {
	if s.planner == nil || s.Config.Notify.Reminders.Every <= 0 {
		return
	}
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		for _, name := range s.Config.TenantNames() {
			if _, err := notifystore.PlanReminders(ctx, s.Store, s.planner, name, time.Now(), s.notifyOptions(name)); err != nil && ctx.Err() == nil {
				s.log.Warn("plan reminders", "tenant", name, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases the store, the fake tenants and the state directory lock.
func (s *Service) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// Listen binds the HTTP address now, so a taken port fails at start.
func (s *Service) Listen() (net.Listener, error) {
	if s.Config.HTTP.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.Config.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	return ln, nil
}

// Serve runs the scheduler and, when ln is not nil, the HTTP server until
// ctx is done, then stops both gracefully. It returns nil after a graceful stop.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	var srv *http.Server
	srvErr := make(chan error, 1)
	if ln != nil {
		srv = &http.Server{
			Handler:           s.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				srvErr <- err
			}
		}()
		s.log.Info("http server listening", "addr", ln.Addr().String())
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case err := <-srvErr:
			s.log.Error("http server failed", "error", err)
			cancel()
		case <-runCtx.Done():
		}
	}()
	var bg sync.WaitGroup
	if s.worker != nil {
		bg.Add(2)
		go func() {
			defer bg.Done()
			if err := s.worker.Run(runCtx); err != nil && runCtx.Err() == nil {
				s.log.Error("notification worker stopped", "error", err)
			}
		}()
		go func() {
			defer bg.Done()
			s.replanAll(runCtx)
			s.remind(runCtx)
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		s.Reports.Run(runCtx)
	}()
	if s.Changes != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			s.Changes.Run(runCtx)
		}()
	}
	err := s.Daemon.Run(runCtx)
	cancel()
	bg.Wait()
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}
	return err
}
