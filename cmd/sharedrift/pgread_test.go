package main

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/internal/pgtest"
)

// TestReadCommandsLeaveAnEmptyPostgresAlone: a command that only reads,
// pointed at a PostgreSQL database without a store, says so and creates no
// tables in it; a scan then creates the store and the same command reads it.
func TestReadCommandsLeaveAnEmptyPostgresAlone(t *testing.T) {
	dsn := pgtest.Schema(t)
	for _, args := range [][]string{{"history"}, {"findings", "list"}, {"changes"}, {"db", "status"}, {"report", "-o", t.TempDir() + "/r.html"}} {
		_, stderr, code := cli(t, append(args, "--store", dsn)...)
		if code != exitError || !strings.Contains(stderr, "schema version 0") || !strings.Contains(stderr, "neither create nor upgrade") {
			t.Errorf("%v on an empty database: exit %d\n%s", args, code, stderr)
		}
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("read commands created %d tables", tables)
	}
	if _, stderr, code := cli(t, "scan", "--snapshot", contoso, "--store", dsn); code != exitOK {
		t.Fatalf("scan --store: exit %d\n%s", code, stderr)
	}
	out, stderr, code := cli(t, "history", "--store", dsn, "--tenant", "contoso.onmicrosoft.com")
	if code != 0 || !strings.Contains(out, "contoso") {
		t.Errorf("history after a scan: exit %d\n%s%s", code, out, stderr)
	}
}
