package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations
var migrationFiles embed.FS

// dialect is what differs between PostgreSQL and SQLite: schema files,
// time encoding, bulk loading, locking. Everything else is shared SQL.
type dialect interface {
	name() string
	migrations() fs.FS
	// lockMigrations serialises migrations across processes for the rest
	// of tx.
	lockMigrations(ctx context.Context, tx *sqlx.Tx) error
	// timeValue encodes a time for a query parameter or bulk row.
	timeValue(t time.Time) any
	// bulk opens a writer that loads rows into table within tx.
	bulk(ctx context.Context, tx *sqlx.Tx, table string, cols []string) (rowWriter, error)
	// latestVersions selects object_key, hash, deleted of the newest
	// version of every object of (tenant_id, section); ranged, of those
	// whose key is in [$3, $4) (see keyRange).
	latestVersions(ranged bool) string
	// latestAfter is latestVersions for the keys after $3 (and, bounded,
	// at most $4) in key order, at most the last parameter of them.
	latestAfter(bounded bool) string
	// skipLocked is appended to a claiming SELECT.
	skipLocked() string
	// analyze refreshes the planner statistics of a table that was just
	// bulk loaded in tx.
	analyze(ctx context.Context, tx *sqlx.Tx, table string) error
	// scanCache sizes the page cache of tx's connection for recording a
	// scan (large) or for anything else.
	scanCache(ctx context.Context, tx *sqlx.Tx, large bool) error
	// forUpdate is appended to a SELECT whose rows the transaction will
	// rely on until commit.
	forUpdate() string
	// noLimit is the LIMIT clause that lets an OFFSET stand alone.
	noLimit() string
	// likeFold is the LIKE operator that ignores case: SQLite's LIKE
	// already folds ASCII (as its LOWER does), PostgreSQL needs ILIKE.
	likeFold() string
	// migrationsTableExists selects whether schema_migrations exists.
	migrationsTableExists() string
}

// rowWriter streams rows into a table. Close flushes; a writer must be
// closed before the transaction runs another statement.
type rowWriter interface {
	Write(vals ...any) error
	Close() error
	Rows() int64
}

// timeFormat is how SQLite stores times: fixed width UTC text, so that
// text order is time order and the database stays readable.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// normTime drops what the databases cannot keep alike: location and
// nanoseconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTime scans a time column from either database; Valid is false for NULL.
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = normTime(x), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("time column: unexpected %T", v)
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("time column: %w", err)
		}
	}
	d.T, d.Valid = normTime(t), true
	return nil
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations/postgres")
	return sub
}

// migrationLockKey is an arbitrary constant naming sharedrift's advisory lock.
const migrationLockKey = 0x5348_4452_4654 // "SHDRFT"

func (postgresDialect) lockMigrations(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey)
	return err
}

func (postgresDialect) timeValue(t time.Time) any { return normTime(t) }

func (postgresDialect) latestVersions(ranged bool) string {
	where := ""
	if ranged {
		where = " AND object_key >= $3 AND object_key < $4"
	}
	return `SELECT DISTINCT ON (object_key) object_key, hash, deleted FROM object_versions
		WHERE tenant_id = $1 AND section = $2` + where + ` ORDER BY object_key, scan_id DESC`
}

func (postgresDialect) latestAfter(bounded bool) string {
	where, limit := "", "$4"
	if bounded {
		where, limit = " AND object_key <= $4", "$5"
	}
	return `SELECT DISTINCT ON (object_key) object_key, hash, deleted FROM object_versions
		WHERE tenant_id = $1 AND section = $2 AND object_key > $3` + where + ` ORDER BY object_key, scan_id DESC LIMIT ` + limit
}

func (postgresDialect) skipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (postgresDialect) forUpdate() string { return " FOR UPDATE" }

func (postgresDialect) noLimit() string { return " LIMIT ALL" }

func (postgresDialect) likeFold() string { return "ILIKE" }

func (postgresDialect) migrationsTableExists() string {
	return `SELECT to_regclass('schema_migrations') IS NOT NULL`
}

func (postgresDialect) analyze(ctx context.Context, tx *sqlx.Tx, table string) error {
	if _, err := tx.ExecContext(ctx, "ANALYZE "+table); err != nil {
		return fmt.Errorf("analyze %s: %w", table, err)
	}
	// A big scan joins its results with the findings; give that hash join
	// memory so it does not spill to disk (for this transaction only).
	if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '256MB'"); err != nil {
		return fmt.Errorf("raise work_mem: %w", err)
	}
	return nil
}

// bulk uses COPY FROM STDIN: the fastest way into PostgreSQL.
func (postgresDialect) scanCache(context.Context, *sqlx.Tx, bool) error { return nil }

func (postgresDialect) bulk(ctx context.Context, tx *sqlx.Tx, table string, cols []string) (rowWriter, error) {
	stmt, err := tx.PrepareContext(ctx, "COPY "+table+" ("+strings.Join(cols, ", ")+") FROM STDIN")
	if err != nil {
		return nil, fmt.Errorf("copy into %s: %w", table, err)
	}
	return &copyWriter{ctx: ctx, stmt: stmt, table: table}, nil
}

type copyWriter struct {
	ctx   context.Context
	stmt  *sql.Stmt
	table string
	n     int64
}

func (w *copyWriter) Write(vals ...any) error {
	if _, err := w.stmt.ExecContext(w.ctx, vals...); err != nil {
		return fmt.Errorf("copy into %s: %w", w.table, err)
	}
	w.n++
	return nil
}

func (w *copyWriter) Close() error {
	_, err := w.stmt.ExecContext(w.ctx)
	cerr := w.stmt.Close()
	if err != nil {
		return fmt.Errorf("copy into %s: %w", w.table, err)
	}
	return cerr
}

func (w *copyWriter) Rows() int64 { return w.n }

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations/sqlite")
	return sub
}

// lockMigrations is a no-op: transactions begin IMMEDIATE, so the first
// statement already holds the database's single write lock.
func (sqliteDialect) lockMigrations(context.Context, *sqlx.Tx) error { return nil }

func (sqliteDialect) timeValue(t time.Time) any { return normTime(t).Format(timeFormat) }

// latestVersions relies on SQLite taking the bare columns of an aggregate
// query from the row that holds the MAX.
func (sqliteDialect) latestVersions(ranged bool) string {
	where := ""
	if ranged {
		where = " AND object_key >= ? AND object_key < ?"
	}
	return `SELECT object_key, hash, deleted, MAX(scan_id) FROM object_versions
		WHERE tenant_id = ? AND section = ?` + where + ` GROUP BY object_key`
}

func (sqliteDialect) latestAfter(bounded bool) string {
	where := ""
	if bounded {
		where = " AND object_key <= ?"
	}
	return `SELECT object_key, hash, deleted, MAX(scan_id) FROM object_versions
		WHERE tenant_id = ? AND section = ? AND object_key > ?` + where + ` GROUP BY object_key ORDER BY object_key LIMIT ?`
}

// SQLite needs no row locks: a write transaction holds the whole database.
func (sqliteDialect) skipLocked() string { return "" }

func (sqliteDialect) forUpdate() string { return "" }

func (sqliteDialect) noLimit() string { return " LIMIT -1" }

func (sqliteDialect) likeFold() string { return "LIKE" }

func (sqliteDialect) migrationsTableExists() string {
	return `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
}

// analyze is a no-op: SQLite's planner prefers the indexes without
// statistics, which is the right plan here.
func (sqliteDialect) analyze(context.Context, *sqlx.Tx, string) error { return nil }

// bulk batches rows into multi-row INSERTs with one prepared statement.
// Page cache sizes in KiB. Each connection has its own cache, and memory
// an SQLite connection once took stays with it: a small cache for every
// connection (readers stream, they gain little from caching) and a large
// one only while a scan is written, whose index inserts would thrash.
const (
	sqliteCacheKiB     = 2048
	sqliteScanCacheKiB = 8192
)

func (sqliteDialect) scanCache(ctx context.Context, tx *sqlx.Tx, large bool) error {
	kib := sqliteCacheKiB
	if large {
		kib = sqliteScanCacheKiB
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", kib)); err != nil {
		return fmt.Errorf("size page cache: %w", err)
	}
	return nil
}

func (sqliteDialect) bulk(ctx context.Context, tx *sqlx.Tx, table string, cols []string) (rowWriter, error) {
	per := max(1, min(256, 30000/len(cols)))
	return &batchWriter{ctx: ctx, tx: tx, table: table, cols: cols, per: per}, nil
}

type batchWriter struct {
	ctx   context.Context
	tx    *sqlx.Tx
	table string
	cols  []string
	per   int
	buf   []any
	stmt  *sql.Stmt
	n     int64
}

func (w *batchWriter) query(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + w.table + " (" + strings.Join(w.cols, ", ") + ") VALUES ")
	row := "(" + strings.Repeat("?, ", len(w.cols)-1) + "?)"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

func (w *batchWriter) Write(vals ...any) error {
	if len(vals) != len(w.cols) {
		return fmt.Errorf("insert into %s: %d values for %d columns", w.table, len(vals), len(w.cols))
	}
	w.buf = append(w.buf, vals...)
	w.n++
	if len(w.buf) < w.per*len(w.cols) {
		return nil
	}
	if w.stmt == nil {
		st, err := w.tx.PrepareContext(w.ctx, w.query(w.per))
		if err != nil {
			return fmt.Errorf("insert into %s: %w", w.table, err)
		}
		w.stmt = st
	}
	if _, err := w.stmt.ExecContext(w.ctx, w.buf...); err != nil {
		return fmt.Errorf("insert into %s: %w", w.table, err)
	}
	w.buf = w.buf[:0]
	return nil
}

func (w *batchWriter) Close() error {
	defer func() {
		if w.stmt != nil {
			w.stmt.Close()
		}
	}()
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.tx.ExecContext(w.ctx, w.query(len(w.buf)/len(w.cols)), w.buf...); err != nil {
		return fmt.Errorf("insert into %s: %w", w.table, err)
	}
	w.buf = w.buf[:0]
	return nil
}

func (w *batchWriter) Rows() int64 { return w.n }
