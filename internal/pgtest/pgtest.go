// Package pgtest gives tests their own schema on the throwaway PostgreSQL
// server that the test command (scripts/test.sh) starts.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	// The lib/pq driver, as the store uses it.
	_ "github.com/lib/pq"
)

// Env names the variable holding the test server's DSN. Without it
// PostgreSQL tests fail rather than skip, so a green run always means both
// stores were tested.
const Env = "SHAREDRIFT_TEST_POSTGRES_DSN"

// DSN returns the test server's DSN, failing the test when it is not set.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		t.Fatalf("%s is not set: run ./scripts/test.sh, which starts a throwaway PostgreSQL", Env)
	}
	return dsn
}

// WithParam adds a libpq parameter to a URL or key=value DSN.
func WithParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + key + "=" + value
	}
	return dsn + " " + key + "=" + value
}

// Schema creates a fresh schema, dropped when the test ends, and returns a
// DSN whose search_path points at it: every test has its own tables on the
// one server.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", dsn); err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	return WithParam(dsn, "search_path", schema)
}
