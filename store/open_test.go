package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600)
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	tests := []struct {
		name, dsn string
		want      []string // substrings of the error
	}{
		{"refused URL", "postgres://sd:s3cret-pw@127.0.0.1:1/sharedrift?sslmode=disable", []string{"postgres host 127.0.0.1:1", "database sharedrift", "connect"}},
		{"missing socket", "host=/nonexistent/sock user=sd password=s3cret-pw dbname=x sslmode=disable", []string{"postgres host /nonexistent/sock", "connect"}},
		{"malformed URL", "postgres://sd:s3cret-pw%zz@db.example/x", []string{"malformed PostgreSQL URL"}},
		{"empty", "  ", []string{"empty DSN"}},
		{"state dir not creatable", "sqlite:" + filepath.Join(blocker, "sub", "x.db"), []string{"sqlite file", "create state directory"}},
		{"not a database", "sqlite:" + garbage, []string{"sqlite file " + garbage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := store.Open(ctx, tc.dsn, store.Options{ConnectTimeout: 3 * time.Second})
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

func TestSchemaNewerThanBinaryRefused(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.dsn(t)
			s, err := store.Open(ctx, dsn, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			driver, raw := "postgres", dsn
			if strings.HasPrefix(dsn, "sqlite:") {
				driver, raw = "sqlite", strings.TrimPrefix(dsn, "sqlite:")
			}
			db, err := sql.Open(driver, raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			for _, noMigrate := range []bool{false, true} {
				_, err = store.Open(ctx, dsn, store.Options{NoMigrate: noMigrate})
				if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 999") {
					t.Errorf("NoMigrate=%v: err = %v, want ErrSchemaTooNew naming the version", noMigrate, err)
				}
			}
		})
	}
}

func TestOutdatedSchemaWithoutMigrate(t *testing.T) {
	_, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"), store.Options{NoMigrate: true})
	if !errors.Is(err, store.ErrSchemaOutdated) || !strings.Contains(err.Error(), "sharedrift migrate") {
		t.Errorf("err = %v", err)
	}
}

// TestConcurrentMigrations starts several "replicas" on one empty
// database at once: all succeed and each migration is applied once.
func TestConcurrentMigrations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			var wg sync.WaitGroup
			errs := make(chan error, 6)
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := store.Open(context.Background(), dsn, store.Options{})
					if err != nil {
						errs <- err
						return
					}
					cur, sup, err := s.SchemaVersion(context.Background())
					if err == nil && cur != sup {
						err = errors.New("schema not current")
					}
					errs <- err
					s.Close()
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}
