package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

type leaseRow struct {
	Name       string `db:"name"`
	Owner      string `db:"owner"`
	AcquiredAt dbTime `db:"acquired_at"`
	ExpiresAt  dbTime `db:"expires_at"`
	Generation int64  `db:"generation"`
}

func (r leaseRow) lease() Lease {
	return Lease{Name: r.Name, Owner: r.Owner, AcquiredAt: r.AcquiredAt.T, ExpiresAt: r.ExpiresAt.T, Generation: r.Generation}
}

// TryLease implements Leases. One upsert decides atomically: the row is
// taken over only when it is ours or expired, so two replicas racing for
// the same lease cannot both win.
func (s *sqlStore) TryLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, bool, error) {
	if name == "" || owner == "" || ttl <= 0 {
		return Lease{}, false, fmt.Errorf("lease: %w: name, owner and a positive ttl are required", ErrInvalid)
	}
	now := s.now()
	var (
		l  Lease
		ok bool
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO leases (name, owner, acquired_at, expires_at, generation) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (name) DO UPDATE SET
				generation = CASE WHEN leases.owner = excluded.owner THEN leases.generation ELSE leases.generation + 1 END,
				acquired_at = CASE WHEN leases.owner = excluded.owner THEN leases.acquired_at ELSE excluded.acquired_at END,
				owner = excluded.owner, expires_at = excluded.expires_at
			WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`),
			name, owner, s.t(now), s.t(now.Add(ttl)), s.t(now))
		if err != nil {
			return fmt.Errorf("acquire lease %q: %w", name, err)
		}
		var r leaseRow
		if err := tx.GetContext(ctx, &r, s.q(`SELECT name, owner, acquired_at, expires_at, generation FROM leases WHERE name = ?`), name); err != nil {
			return fmt.Errorf("read lease %q: %w", name, err)
		}
		l, ok = r.lease(), r.Owner == owner
		return nil
	})
	return l, ok, err
}

// RenewLease implements Leases.
func (s *sqlStore) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	now := s.now()
	var l Lease
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ? AND expires_at > ?`),
			s.t(now.Add(ttl)), name, owner, s.t(now))
		if err != nil {
			return fmt.Errorf("renew lease %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("renew lease %q for %q: %w", name, owner, ErrLeaseLost)
		}
		var r leaseRow
		if err := tx.GetContext(ctx, &r, s.q(`SELECT name, owner, acquired_at, expires_at, generation FROM leases WHERE name = ?`), name); err != nil {
			return fmt.Errorf("read lease %q: %w", name, err)
		}
		l = r.lease()
		return nil
	})
	return l, err
}

// ReleaseLease implements Leases.
func (s *sqlStore) ReleaseLease(ctx context.Context, name, owner string) error {
	// Expire rather than delete, so the generation keeps growing.
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ?`), s.t(s.now()), name, owner); err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}

// ListLeases implements Leases.
func (s *sqlStore) ListLeases(ctx context.Context) ([]Lease, error) {
	var rows []leaseRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT name, owner, acquired_at, expires_at, generation FROM leases ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	out := make([]Lease, len(rows))
	for i, r := range rows {
		out[i] = r.lease()
	}
	return out, nil
}
