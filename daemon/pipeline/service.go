package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/store"
)

// ServiceOptions configures a Service.
type ServiceOptions struct {
	Logger *slog.Logger
	// Owner names this replica in leases; default host name and pid.
	Owner string
	// Version goes into the collector's User-Agent.
	Version string
	// Routes are extra HTTP handlers (Slack interactivity, reports).
	Routes []daemon.Route
	// WrapScan, when set, wraps the scan function (instrumentation, tests).
	WrapScan func(daemon.ScanFunc) daemon.ScanFunc
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

	sopts := store.Options{Logger: o.Logger}
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
	s.Pipeline, err = New(Options{Store: s.Store, Logger: o.Logger, UserAgentVersion: o.Version}, tenants)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Pipeline.Close)

	s.Metrics = daemon.NewMetrics()
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
	s.Handler = daemon.NewHandler(daemon.ServerOptions{
		Scheduler: s.Daemon, Reader: reader, Tokens: daemon.TokensFrom(cfg.HTTP),
		Metrics: s.Metrics, Logger: o.Logger, Routes: o.Routes,
	})
	return s, nil
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
	err := s.Daemon.Run(runCtx)
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}
	return err
}
