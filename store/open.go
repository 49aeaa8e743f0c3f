package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // PostgreSQL driver "postgres"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	Logger *slog.Logger
	// Now is the store's clock (lease expiry, ack times, outbox due times).
	// Replicas sharing one database need synchronised clocks.
	Now func() time.Time
	// NoMigrate makes Open check the schema version instead of migrating;
	// pending migrations then fail with ErrSchemaOutdated.
	NoMigrate bool
	// ConnectTimeout bounds the first connection (default 10s).
	ConnectTimeout time.Duration
}

// DefaultDBFile is the SQLite file name inside a state directory.
const DefaultDBFile = "sharedrift.db"

// Open connects to the store named by dsn, checks it and applies pending
// migrations. dsn is a PostgreSQL URL (postgres://…, postgresql://…) or
// key=value string (host=… dbname=…), or an SQLite file as sqlite:PATH or a
// plain path. Errors name the target (host, port, database or file) and the
// step that failed, never the password.
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	kind, target, err := classify(dsn)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "postgres":
		return openPostgres(ctx, dsn, target, opts)
	default:
		return openSQLite(ctx, target, opts)
	}
}

// OpenStateDir opens (creating when missing) the SQLite store in dir.
func OpenStateDir(ctx context.Context, dir string, opts Options) (Store, error) {
	return Open(ctx, "sqlite:"+filepath.Join(dir, DefaultDBFile), opts)
}

// classify tells which database dsn names and returns a description of it
// (for PostgreSQL) or the file path (for SQLite).
func classify(dsn string) (kind, target string, err error) {
	d := strings.TrimSpace(dsn)
	switch {
	case d == "":
		return "", "", fmt.Errorf("open store: %w: empty DSN", ErrInvalid)
	case strings.HasPrefix(d, "postgres://"), strings.HasPrefix(d, "postgresql://"):
		u, perr := url.Parse(d)
		if perr != nil {
			// url errors quote the whole DSN, password included: say less.
			return "", "", fmt.Errorf("open store: %w: malformed PostgreSQL URL (check for unescaped characters in the password)", ErrInvalid)
		}
		return "postgres", describePG(u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/"), u.Query().Get("host")), nil
	case strings.HasPrefix(d, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(d, "sqlite:"), "//")
		if p == "" {
			return "", "", fmt.Errorf("open store: %w: sqlite: DSN without a file path", ErrInvalid)
		}
		return "sqlite", p, nil
	case isKV(d):
		kv := parseKV(d)
		return "postgres", describePG(kv["host"], kv["port"], kv["dbname"], ""), nil
	default:
		return "sqlite", d, nil
	}
}

func describePG(host, port, db, queryHost string) string {
	if host == "" {
		host = queryHost
	}
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = "5432"
	}
	s := "postgres host " + host
	if !strings.HasPrefix(host, "/") {
		s += ":" + port
	}
	if db != "" {
		s += " database " + db
	}
	return s
}

// isKV reports whether d is a libpq key=value string rather than a path.
func isKV(d string) bool {
	if !strings.Contains(d, "=") {
		return false
	}
	for k := range parseKV(d) {
		switch k {
		case "host", "hostaddr", "port", "dbname", "user", "password", "sslmode":
			return true
		}
	}
	return false
}

// parseKV reads a libpq key=value connection string, honouring single quotes.
func parseKV(s string) map[string]string {
	out := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		j := strings.IndexByte(s[i:], '=')
		if j < 0 {
			break
		}
		key := strings.TrimSpace(s[i : i+j])
		i += j + 1
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
			i++
		} else {
			for i < len(s) && s[i] != ' ' {
				val.WriteByte(s[i])
				i++
			}
		}
		out[key] = val.String()
	}
	return out
}

// password extracts the password from a DSN so it can be scrubbed from
// driver errors.
func password(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		p, _ := u.User.Password()
		return p
	}
	return parseKV(dsn)["password"]
}

// stepError wraps err with the target and the step, scrubbing the password.
func stepError(target, step, pw string, err error) error {
	if pw != "" && strings.Contains(err.Error(), pw) {
		err = errors.New(strings.ReplaceAll(err.Error(), pw, "********"))
	}
	return fmt.Errorf("store %s: %s: %w", target, step, err)
}

func openPostgres(ctx context.Context, dsn, target string, opts Options) (Store, error) {
	pw := password(dsn)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, stepError(target, "parse connection settings", pw, err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return finishOpen(ctx, db, postgresDialect{}, target, pw, opts)
}

func openSQLite(ctx context.Context, path string, opts Options) (Store, error) {
	target := "sqlite file " + path
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store %s: %w: the path must not contain ? or #", target, ErrInvalid)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, stepError(target, "create state directory", "", err)
		}
	}
	// WAL lets readers run beside the single writer; _txlock=immediate
	// takes the write lock at BEGIN so concurrent writers queue on
	// busy_timeout instead of failing when upgrading a read lock.
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		fmt.Sprintf("&_pragma=cache_size(-%d)", sqliteCacheKiB) // see scanCache
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, stepError(target, "open", "", err)
	}
	db.SetMaxOpenConns(4)
	return finishOpen(ctx, db, sqliteDialect{}, target, "", opts)
}

func finishOpen(ctx context.Context, db *sqlx.DB, d dialect, target, pw string, opts Options) (Store, error) {
	s := &sqlStore{db: db, d: d, target: target, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := ping(pctx, db); err != nil {
		db.Close()
		return nil, stepError(target, "connect", pw, err)
	}
	if opts.NoMigrate {
		cur, sup, err := s.SchemaVersion(ctx)
		if err != nil {
			db.Close()
			return nil, stepError(target, "read schema version", pw, err)
		}
		if err := checkVersion(cur, sup); err != nil {
			db.Close()
			return nil, stepError(target, "check schema version", pw, err)
		}
		return s, nil
	}
	if _, err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, stepError(target, "migrate", pw, err)
	}
	return s, nil
}

// ping checks the connection. Opening a new SQLite file applies
// journal_mode(WAL), which reports SQLITE_BUSY without waiting on
// busy_timeout while another process sets it up at the same moment, so a
// busy answer is retried until ctx ends.
func ping(ctx context.Context, db *sqlx.DB) error {
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func checkVersion(cur, sup int) error {
	switch {
	case cur > sup:
		return fmt.Errorf("%w: schema version %d, this binary supports up to %d; upgrade sharedrift", ErrSchemaTooNew, cur, sup)
	case cur < sup:
		return fmt.Errorf("%w: schema version %d, this binary needs %d; run `sharedrift migrate`", ErrSchemaOutdated, cur, sup)
	}
	return nil
}
