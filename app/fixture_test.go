package app

import (
	"log/slog"

	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// openFixture is what the binary injects: the fake tenant serving a
// fixture directory.
func openFixture(dir string, log *slog.Logger) (FixtureTenant, error) {
	srv, err := m365test.New(dir, m365test.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// fakeOf is the fake tenant behind a fixture tenant, for faults.
func fakeOf(p *Pipeline, name string) *m365test.Server {
	srv, _ := p.Fixture(name).(*m365test.Server)
	return srv
}
