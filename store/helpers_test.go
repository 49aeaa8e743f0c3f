package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sharedrift/sharedrift/internal/pgtest"
	"github.com/sharedrift/sharedrift/store"
)

// pgSchemaDSN is a fresh schema on the test server (see pgtest).
func pgSchemaDSN(t testing.TB) string { return pgtest.Schema(t) }

func openPG(t testing.TB, opts store.Options) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), pgSchemaDSN(t), opts)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openSQLite(t testing.TB, opts store.Options) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "state.db"), opts)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backends lists the stores every shared test runs against.
var backends = []struct {
	name string
	open func(testing.TB, store.Options) store.Store
	// dsn returns a fresh database location for tests that open it twice.
	dsn func(testing.TB) string
}{
	{"sqlite", openSQLite, func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "state.db") }},
	{"postgres", openPG, pgSchemaDSN},
}
