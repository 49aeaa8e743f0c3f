package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

type outboxRow struct {
	ID             int64  `db:"id"`
	IdempotencyKey string `db:"idempotency_key"`
	Tenant         string `db:"tenant"`
	Destination    string `db:"destination"`
	Kind           string `db:"kind"`
	Fingerprint    string `db:"fingerprint"`
	Payload        []byte `db:"payload"`
	State          string `db:"state"`
	Attempts       int    `db:"attempts"`
	CreatedAt      dbTime `db:"created_at"`
	NextAttemptAt  dbTime `db:"next_attempt_at"`
	LastError      string `db:"last_error"`
	ClaimedBy      string `db:"claimed_by"`
	ClaimedUntil   dbTime `db:"claimed_until"`
	SentAt         dbTime `db:"sent_at"`
	ExternalRef    string `db:"external_ref"`
	Claims         int    `db:"claims"`
	FirstClaimedAt dbTime `db:"first_claimed_at"`
}

const outboxCols = `id, idempotency_key, tenant, destination, kind, fingerprint, payload, state, attempts,
	created_at, next_attempt_at, last_error, claimed_by, claimed_until, sent_at, external_ref, claims, first_claimed_at`

func (r *outboxRow) message() OutboxMessage {
	return OutboxMessage{ID: r.ID, IdempotencyKey: r.IdempotencyKey, Tenant: r.Tenant, Destination: r.Destination,
		Kind: r.Kind, Fingerprint: r.Fingerprint, Payload: r.Payload, State: OutboxState(r.State), Attempts: r.Attempts,
		CreatedAt: r.CreatedAt.T, NextAttemptAt: r.NextAttemptAt.T, LastError: r.LastError, ClaimedBy: r.ClaimedBy,
		ClaimedUntil: r.ClaimedUntil.ptr(), SentAt: r.SentAt.ptr(), ExternalRef: r.ExternalRef,
		Claims: r.Claims, FirstClaimedAt: r.FirstClaimedAt.ptr()}
}

// Enqueue implements Outbox.
func (s *sqlStore) Enqueue(ctx context.Context, msgs ...OutboxMessage) (int, error) {
	for _, m := range msgs {
		if m.IdempotencyKey == "" || m.Destination == "" {
			return 0, fmt.Errorf("enqueue: %w: a message needs an idempotency key and a destination", ErrInvalid)
		}
	}
	now := s.now()
	inserted := 0
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PreparexContext(ctx, s.q(`INSERT INTO outbox (idempotency_key, tenant, destination, kind, fingerprint, payload,
			state, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)
			ON CONFLICT (idempotency_key) DO NOTHING`))
		if err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		defer stmt.Close()
		member, err := tx.PreparexContext(ctx, s.q(`INSERT INTO outbox_members (outbox_id, fingerprint)
			SELECT id, ? FROM outbox WHERE idempotency_key = ? ON CONFLICT (outbox_id, fingerprint) DO NOTHING`))
		if err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		defer member.Close()
		for _, m := range msgs {
			next := m.NextAttemptAt
			if next.IsZero() {
				next = now
			}
			payload := m.Payload
			if payload == nil {
				payload = []byte{}
			}
			res, err := stmt.ExecContext(ctx, m.IdempotencyKey, m.Tenant, m.Destination, m.Kind, m.Fingerprint, payload, s.t(now), s.t(next))
			if err != nil {
				return fmt.Errorf("enqueue %s: %w", m.IdempotencyKey, err)
			}
			n, _ := res.RowsAffected()
			inserted += int(n)
			if n == 0 {
				continue // an existing message keeps its members
			}
			for _, fp := range m.Members {
				if _, err := member.ExecContext(ctx, fp, m.IdempotencyKey); err != nil {
					return fmt.Errorf("enqueue %s: member %s: %w", m.IdempotencyKey, fp, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}

// ClaimDue implements Outbox.
func (s *sqlStore) ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]OutboxMessage, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim outbox: %w: owner, limit and lease are required", ErrInvalid)
	}
	now := s.now()
	var rows []outboxRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		err := tx.SelectContext(ctx, &ids, s.q(`SELECT id FROM outbox
			WHERE state = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY next_attempt_at, id`+limitClause(limit)+s.d.skipLocked()), s.t(now), s.t(now))
		if err != nil {
			return fmt.Errorf("select due messages: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		query, args, err := sqlx.In(`UPDATE outbox SET claimed_by = ?, claimed_until = ?, claims = claims + 1,
			first_claimed_at = COALESCE(first_claimed_at, ?) WHERE id IN (?) RETURNING `+outboxCols,
			owner, s.t(now.Add(lease)), s.t(now), ids)
		if err != nil {
			return fmt.Errorf("build claim: %w", err)
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("claim messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox for %s: %w", owner, err)
	}
	out := make([]OutboxMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].message()
	}
	// RETURNING does not promise an order.
	sortMessages(out)
	return out, nil
}

func sortMessages(m []OutboxMessage) {
	for i := 1; i < len(m); i++ {
		for j := i; j > 0 && (m[j].NextAttemptAt.Before(m[j-1].NextAttemptAt) ||
			m[j].NextAttemptAt.Equal(m[j-1].NextAttemptAt) && m[j].ID < m[j-1].ID); j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
}

// MarkSent implements Outbox. A message delivered by a worker whose claim
// had expired is still recorded as sent: the delivery happened.
func (s *sqlStore) MarkSent(ctx context.Context, id int64, externalRef string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET state = 'sent', sent_at = ?, external_ref = ?, attempts = attempts + 1,
		claimed_by = '', claimed_until = NULL, last_error = '' WHERE id = ? AND state <> 'sent'`), s.t(s.now()), externalRef, id)
	if err != nil {
		return fmt.Errorf("mark message %d sent: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.outboxExists(ctx, id)
	}
	return nil
}

// MarkFailed implements Outbox.
func (s *sqlStore) MarkFailed(ctx context.Context, id int64, owner, errMsg string, retryAt time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
		claimed_by = '', claimed_until = NULL WHERE id = ? AND state = 'pending' AND claimed_by = ?`),
		truncate(errMsg, 2000), s.t(retryAt), id, owner)
	if err != nil {
		return fmt.Errorf("mark message %d failed: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if err := s.outboxExists(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("message %d claimed by %q: %w", id, owner, ErrLeaseLost)
	}
	return nil
}

// MarkDead implements Outbox.
func (s *sqlStore) MarkDead(ctx context.Context, id int64, reason string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET state = 'dead', last_error = ?, claimed_by = '', claimed_until = NULL
		WHERE id = ? AND state = 'pending'`), truncate(reason, 2000), id)
	if err != nil {
		return fmt.Errorf("mark message %d dead: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.outboxExists(ctx, id)
	}
	return nil
}

func (s *sqlStore) outboxExists(ctx context.Context, id int64) error {
	var n int
	if err := s.db.GetContext(ctx, &n, s.q(`SELECT count(*) FROM outbox WHERE id = ?`), id); err != nil {
		return fmt.Errorf("read message %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	return nil
}

// DeadLetterExpired implements Outbox.
func (s *sqlStore) DeadLetterExpired(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET state = 'dead',
		last_error = CASE WHEN last_error = '' THEN 'expired' ELSE 'expired: ' || last_error END,
		claimed_by = '', claimed_until = NULL
		WHERE state = 'pending' AND created_at < ? AND (claimed_until IS NULL OR claimed_until <= ?)`), s.t(cutoff), s.t(s.now()))
	if err != nil {
		return 0, fmt.Errorf("dead-letter expired messages: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// OutboxMessages implements Outbox.
func (s *sqlStore) OutboxMessages(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error) {
	var where []string
	var args []any
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	if f.Destination != "" {
		where = append(where, "destination = ?")
		args = append(args, f.Destination)
	}
	if f.Tenant != "" {
		where = append(where, "tenant = ?")
		args = append(args, f.Tenant)
	}
	if f.Fingerprint != "" {
		where = append(where, "(fingerprint = ? OR id IN (SELECT outbox_id FROM outbox_members WHERE fingerprint = ?))")
		args = append(args, f.Fingerprint, f.Fingerprint)
	}
	var rows []outboxRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+outboxCols+` FROM outbox`+whereClause(where)+` ORDER BY id`+limitClause(f.Limit)), args...); err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out := make([]OutboxMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].message()
	}
	return out, nil
}

// OutboxStats implements Outbox.
func (s *sqlStore) OutboxStats(ctx context.Context, tenantName string) ([]OutboxCount, error) {
	var rows []struct {
		Destination string `db:"destination"`
		State       string `db:"state"`
		Count       int64  `db:"count"`
		Oldest      dbTime `db:"oldest"`
	}
	where, args := "", []any{}
	if tenantName != "" {
		where, args = "WHERE tenant = ?", append(args, tenantName)
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT destination, state, count(*) AS count, MIN(created_at) AS oldest
		FROM outbox `+where+` GROUP BY destination, state ORDER BY destination, state`), args...); err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	out := make([]OutboxCount, len(rows))
	for i, r := range rows {
		out[i] = OutboxCount{Destination: r.Destination, State: OutboxState(r.State), Count: r.Count, Oldest: r.Oldest.T}
	}
	return out, nil
}

// ThreadRef implements Outbox.
func (s *sqlStore) ThreadRef(ctx context.Context, destination, fingerprint string) (string, bool, error) {
	return s.ThreadRefBefore(ctx, destination, fingerprint, 0)
}

// aboutFinding matches outbox rows about a finding: its own messages and
// the digests that listed it. Its parameters are the fingerprint twice.
const aboutFinding = `(fingerprint = ? OR id IN (SELECT outbox_id FROM outbox_members WHERE fingerprint = ?))`

// ThreadRefBefore implements Outbox. before <= 0 means no bound.
func (s *sqlStore) ThreadRefBefore(ctx context.Context, destination, fingerprint string, before int64) (string, bool, error) {
	if fingerprint == "" {
		return "", false, nil
	}
	where := `destination = ? AND state = 'sent' AND external_ref <> '' AND ` + aboutFinding
	args := []any{destination, fingerprint, fingerprint}
	if before > 0 {
		where += ` AND id < ?`
		args = append(args, before)
	}
	var refs []string
	// Enqueue order is lifecycle order; sent_at is not (a delayed
	// announcement can go out after a later one).
	if err := s.db.SelectContext(ctx, &refs, s.q(`SELECT external_ref FROM outbox WHERE `+where+` ORDER BY id DESC LIMIT 1`), args...); err != nil {
		return "", false, fmt.Errorf("thread of %s at %s: %w", fingerprint, destination, err)
	}
	if len(refs) == 0 {
		return "", false, nil
	}
	return refs[0], true, nil
}

// PendingBefore implements Outbox.
func (s *sqlStore) PendingBefore(ctx context.Context, destination, fingerprint string, before int64) (bool, error) {
	if fingerprint == "" {
		return false, nil
	}
	var n int
	err := s.db.GetContext(ctx, &n, s.q(`SELECT count(*) FROM outbox WHERE destination = ? AND state = 'pending' AND id < ? AND `+aboutFinding),
		destination, before, fingerprint, fingerprint)
	if err != nil {
		return false, fmt.Errorf("earlier messages of %s at %s: %w", fingerprint, destination, err)
	}
	return n > 0, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
