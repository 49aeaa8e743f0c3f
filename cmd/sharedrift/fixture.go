package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/internal/demotenant"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
)

// fixtureOpener serves fixtures with the in-process fake tenant: a
// directory, or "builtin:NAME" for one built into the binary. The demo and
// the daemon inject it into the pipeline, which never links the fake
// itself.
//
// Each fixture is moved to its anchor (see fixtureAnchors), so that scans
// carry wall-clock times that changes --since, history, reports and db
// prune agree with, while every age it was recorded with (a link expiring
// in four days, a guest without sign-in for 90) is kept, give or take a
// day: m365test shifts by whole days.
func fixtureOpener(anchors map[string]time.Time) func(dir string, log *slog.Logger) (app.FixtureTenant, error) {
	return func(dir string, log *slog.Logger) (app.FixtureTenant, error) {
		at, ok := anchors[dir]
		if !ok {
			at = time.Now()
		}
		opts := m365test.Options{Logger: log, ShiftTo: at}
		if name, ok := strings.CutPrefix(dir, config.BuiltinFixturePrefix); ok {
			fsys, err := demotenant.FS(name)
			if err != nil {
				return nil, err
			}
			srv, err := m365test.NewFS(fsys, dir, opts)
			if err != nil {
				return nil, err
			}
			return srv, nil
		}
		srv, err := m365test.New(dir, opts)
		if err != nil {
			return nil, err
		}
		return srv, nil
	}
}

// fixtureAnchors returns, for the fixture of each fixture tenant of cfg,
// when that tenant was first recorded in cfg's store, or now for one not
// recorded yet. Anchoring at the first recording serves the same
// timestamps on every run, so a restart is not mistaken for drift, and
// the fixture ages from then on as a real tenant would. The store is only
// read, and only when it exists.
func fixtureAnchors(ctx context.Context, cfg *config.Config) map[string]time.Time {
	now := time.Now()
	anchors := map[string]time.Time{}
	names := map[string]string{} // tenant name → fixture
	for name, t := range cfg.Tenants {
		if t.Fixture != "" {
			anchors[t.Fixture] = now
			names[name] = t.Fixture
		}
	}
	if len(names) == 0 {
		return anchors
	}
	opts := store.Options{Logger: slog.New(slog.DiscardHandler)}
	var s store.Store
	var err error
	if dsn := cfg.Store.DSN.Value().Reveal(); dsn != "" {
		s, err = store.Open(ctx, dsn, opts)
	} else {
		if _, statErr := os.Stat(filepath.Join(cfg.Store.StateDir, store.DefaultDBFile)); errors.Is(statErr, fs.ErrNotExist) {
			return anchors
		}
		s, err = store.OpenStateDir(ctx, cfg.Store.StateDir, opts)
	}
	if err != nil {
		return anchors // app.Open reports the store's problem
	}
	defer s.Close()
	ts, err := s.Tenants(ctx)
	if err != nil {
		return anchors
	}
	for _, t := range ts {
		if dir, ok := names[t.Name]; ok && t.CreatedAt.Before(anchors[dir]) {
			anchors[dir] = t.CreatedAt
		}
	}
	return anchors
}
