package main

import (
	"log/slog"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// openFixture serves a fixture directory with the in-process fake tenant.
// The demo and the daemon inject it into the pipeline, which never links
// the fake itself.
func openFixture(dir string, log *slog.Logger) (app.FixtureTenant, error) {
	srv, err := m365test.New(dir, m365test.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return srv, nil
}
