package store

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return out, nil
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// SchemaVersion implements Admin.
func (s *sqlStore) SchemaVersion(ctx context.Context) (current, supported int, err error) {
	ms, err := loadMigrations(s.d.migrations())
	if err != nil {
		return 0, 0, err
	}
	supported = len(ms)
	var exists bool
	if err = s.db.GetContext(ctx, &exists, s.d.migrationsTableExists()); err != nil {
		return 0, supported, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, supported, nil
	}
	if err := s.db.GetContext(ctx, &current, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, supported, fmt.Errorf("read schema version: %w", err)
	}
	return current, supported, nil
}

// Migrate implements Admin. All pending migrations run in one transaction
// under a cross-process lock (an advisory lock on PostgreSQL, the write
// lock on SQLite), so replicas starting together apply each exactly once
// and a failed migration leaves the schema as it was.
func (s *sqlStore) Migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations(s.d.migrations())
	if err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := s.d.lockMigrations(ctx, tx); err != nil {
		return 0, fmt.Errorf("take migration lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, createVersionTable); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	var cur int
	if err := tx.GetContext(ctx, &cur, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if cur > len(ms) {
		return 0, checkVersion(cur, len(ms))
	}
	applied := 0
	for _, m := range ms[cur:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return 0, fmt.Errorf("apply %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, s.now().UTC().Format(timeFormat)); err != nil {
			return 0, fmt.Errorf("record %s: %w", m.name, err)
		}
		applied++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit migrations: %w", err)
	}
	if applied > 0 {
		s.log.Info("store migrated", "target", s.target, "from_version", cur, "to_version", len(ms))
	}
	return applied, nil
}
