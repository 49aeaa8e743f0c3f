package app

import (
	"context"
	"fmt"

	"github.com/sharedrift/sharedrift/config"
)

// Run serves cfg until ctx is done. Each value received from reload (the
// daemon sends one per SIGHUP) loads the configuration again: when it is
// valid, the running service stops gracefully (running scans finish
// within scheduler.grace_period, queued notifications stay in the outbox)
// and a service with the new tenants, notification destinations and
// routes starts in its place; when it is not, the error is logged and the
// running service goes on unchanged.
func Run(ctx context.Context, cfg *config.Config, load func() (*config.Config, error), reload <-chan struct{}, o ServiceOptions) error {
	log := o.Logger
	for {
		svc, err := Open(ctx, cfg, o)
		if err != nil {
			return err
		}
		if log == nil {
			log = svc.log
		}
		ln, err := svc.Listen()
		if err != nil {
			svc.Close()
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- svc.Serve(sctx, ln) }()
		var next *config.Config
		for next == nil {
			select {
			case err := <-done:
				cancel()
				svc.Close()
				return err
			case <-reload:
				c, err := load()
				if err != nil {
					log.Error("configuration not reloaded; the running configuration stays", "error", err.Error())
					continue
				}
				next = c
			}
		}
		cancel()
		err = <-done
		svc.Close()
		if err != nil {
			return fmt.Errorf("stop for reload: %w", err)
		}
		cfg = next
		log.Info("configuration reloaded", "tenants", len(cfg.Tenants), "destinations", len(cfg.Notify.Destinations))
	}
}
