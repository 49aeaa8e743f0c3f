package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/store"
)

// pgEnv names the variable holding the test server's DSN. The test script
// starts a throwaway server and sets it; without it PostgreSQL tests fail
// rather than skip, so a green run always means both stores were tested.
const pgEnv = "SHAREDRIFT_TEST_POSTGRES_DSN"

func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		t.Fatalf("%s is not set: run ./scripts/test.sh, which starts a throwaway PostgreSQL", pgEnv)
	}
	return dsn
}

// withParam adds a libpq parameter to a URL or key=value DSN.
func withParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + key + "=" + value
	}
	return dsn + " " + key + "=" + value
}

// pgSchemaDSN creates a fresh schema and returns a DSN whose search_path
// points at it, so every test has its own tables on the one server.
func pgSchemaDSN(t testing.TB) string {
	t.Helper()
	dsn := pgDSN(t)
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	return withParam(dsn, "search_path", schema)
}

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
