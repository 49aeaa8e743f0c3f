package main

import (
	"log/slog"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/internal/demotenant"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// openFixture serves a fixture with the in-process fake tenant: a
// directory, or "builtin:NAME" for one built into the binary. The demo and
// the daemon inject it into the pipeline, which never links the fake
// itself. The fixture is shifted to the moment it is opened, so that its
// scans carry wall-clock times that changes --since, history, reports and
// db prune agree with, while every age it was recorded with (a link
// expiring in four days, a guest without sign-in for 90) is kept.
func openFixture(dir string, log *slog.Logger) (app.FixtureTenant, error) {
	opts := m365test.Options{Logger: log, ShiftTo: time.Now().UTC().Truncate(time.Second)}
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
