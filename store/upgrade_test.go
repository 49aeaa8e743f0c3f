package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestUpgradeFromFirstSchema builds a database with the first schema only
// and open findings written the way that schema's sharedrift wrote them,
// then opens it with this binary: the upgrade keeps every finding, the
// next scan moves last_seen of those seen failing, and the scan after it
// moves last_seen without rewriting a single finding row.
func TestUpgradeFromFirstSchema(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := be.dsn(t)
			driver, raw := "postgres", dsn
			if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
				driver, raw = "sqlite", p
			}
			db, err := sql.Open(driver, raw)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			schema, err := os.ReadFile(filepath.Join("migrations", driver, "0001_init.sql"))
			if err != nil {
				t.Fatal(err)
			}
			ts := func(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.000000Z") }
			exec := func(query string, args ...any) {
				t.Helper()
				if driver == "postgres" {
					for i := 1; strings.Contains(query, "?"); i++ {
						query = strings.Replace(query, "?", "$"+strconv.Itoa(i), 1)
					}
				}
				if _, err := db.ExecContext(ctx, query, args...); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
			}
			exec(string(schema))
			exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
			exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '0001_init.sql', ?)`, ts(storetest.T0))
			exec(`INSERT INTO tenants (name, entra_id, created_at) VALUES (?, '', ?)`, storetest.Tenant, ts(storetest.T0))
			var want []string
			for _, r := range storetest.Evaluate(storetest.Snapshot(storetest.T0)) {
				if r.Outcome != tenant.Fail {
					continue
				}
				want = append(want, r.Fingerprint())
				exec(`INSERT INTO findings (tenant_id, fingerprint, rule_id, section, object_key, object_name, severity, expected, actual,
					message, state, first_seen, last_seen, first_scan_id, last_scan_id)
					VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, '', 'open', ?, ?, 1, 1)`,
					r.Fingerprint(), r.RuleID, string(r.Section), r.ObjectKey, r.ObjectName, string(r.Severity), r.Expected, r.Actual,
					ts(storetest.T0), ts(storetest.T0))
			}

			s, err := store.Open(ctx, dsn, store.Options{})
			if err != nil {
				t.Fatalf("open and migrate: %v", err)
			}
			defer s.Close()
			if cur, sup, err := s.SchemaVersion(ctx); err != nil || cur != sup || cur < 2 {
				t.Fatalf("schema version %d of %d: %v", cur, sup, err)
			}
			for i := 1; i <= 2; i++ {
				at := storetest.T0.Add(time.Duration(i) * time.Hour)
				snap := storetest.Snapshot(at)
				sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)})
				if err != nil {
					t.Fatal(err)
				}
				if sc.FindingsNew != 0 || sc.FindingsOpen != int64(len(want)) {
					t.Errorf("scan %d: new %d open %d, want 0 and %d", i, sc.FindingsNew, sc.FindingsOpen, len(want))
				}
				for _, fp := range want {
					f, err := s.Finding(ctx, storetest.Tenant, fp)
					if err != nil {
						t.Fatal(err)
					}
					if f.State != store.FindingOpen || !f.FirstSeen.Equal(storetest.T0) || !f.LastSeen.Equal(at) || f.LastScanID != sc.ID {
						t.Errorf("scan %d: %s %s: state %s first seen %v last seen %v in scan %d", i, f.RuleID, f.ObjectKey,
							f.State, f.FirstSeen, f.LastSeen, f.LastScanID)
					}
				}
				var rewritten int
				q := `SELECT count(*) FROM findings WHERE last_scan_id = ?`
				if driver == "postgres" {
					q = strings.Replace(q, "?", "$1", 1)
				}
				if err := db.QueryRowContext(ctx, q, sc.ID).Scan(&rewritten); err != nil {
					t.Fatal(err)
				}
				// The first scan after the upgrade attaches every finding
				// once; later scans leave unchanged rows alone.
				if wantRows := map[int]int{1: len(want), 2: 0}[i]; rewritten != wantRows {
					t.Errorf("scan %d rewrote %d finding rows, want %d", i, rewritten, wantRows)
				}
			}
		})
	}
}
