package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// sqlStore implements Store on top of database/sql for both databases; the
// differences live in dialect.
type sqlStore struct {
	db     *sqlx.DB
	d      dialect
	target string
	log    *slog.Logger
	now    func() time.Time

	rebound sync.Map // query with ? -> query in the dialect's bind style

	// hookMidScan, when set (tests only), runs inside RecordScan's
	// transaction after the object versions are written.
	hookMidScan func()
}

var _ Store = (*sqlStore)(nil)

// q rewrites ? placeholders for the dialect, caching the result.
func (s *sqlStore) q(query string) string {
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	r := s.db.Rebind(query)
	s.rebound.Store(query, r)
	return r
}

func (s *sqlStore) t(t time.Time) any { return s.d.timeValue(t) }

// nt encodes an optional time: nil or zero becomes NULL.
func (s *sqlStore) nt(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return s.d.timeValue(*t)
}

func (s *sqlStore) Driver() string { return s.d.name() }
func (s *sqlStore) Target() string { return s.target }

func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store %s: ping: %w", s.target, err)
	}
	return nil
}

func (s *sqlStore) Close() error { return s.db.Close() }

// inTx runs fn in a transaction, committing when it returns nil.
func (s *sqlStore) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// tenantID returns the id of tenant name, ErrNotFound when unknown.
func (s *sqlStore) tenantID(ctx context.Context, q sqlx.QueryerContext, name string) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, s.q(`SELECT id FROM tenants WHERE name = ?`), name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("tenant %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("look up tenant %q: %w", name, err)
	}
	return id, nil
}

// ensureTenant returns the id of tenant name, creating it when missing.
func (s *sqlStore) ensureTenant(ctx context.Context, tx *sqlx.Tx, name, entraID string) (int64, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: empty tenant name", ErrInvalid)
	}
	var id int64
	err := tx.GetContext(ctx, &id, s.q(`INSERT INTO tenants (name, entra_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET entra_id = CASE WHEN excluded.entra_id <> '' THEN excluded.entra_id ELSE tenants.entra_id END
		RETURNING id`), name, entraID, s.t(s.now()))
	if err != nil {
		return 0, fmt.Errorf("upsert tenant %q: %w", name, err)
	}
	return id, nil
}

func limitClause(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", n)
}
