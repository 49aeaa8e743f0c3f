package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Prune implements Admin. Per tenant it deletes scans that started before
// cutoff (never the latest one, nor the latest whole one) with their results, summaries and changes;
// object versions superseded at or before the oldest kept scan, so the
// state at the cutoff and everything since stays reconstructable; and
// findings resolved before cutoff. Sent and dead outbox messages older
// than cutoff go too. The remediation audit is never pruned.
func (s *sqlStore) Prune(ctx context.Context, o PruneOptions) (PruneStats, error) {
	if o.Before.IsZero() {
		return PruneStats{}, fmt.Errorf("%w: prune needs a cutoff", ErrInvalid)
	}
	return s.prune(ctx, o.Before, o.Tenant, o.DryRun)
}

// errDryRun rolls back a dry run's transaction once it has counted.
var errDryRun = errors.New("dry run")

// prune deletes, or with dryRun counts, what is older than cutoff. A dry
// run executes the very statements of a real one, so the counts agree.
func (s *sqlStore) prune(ctx context.Context, cutoff time.Time, tenantName string, dryRun bool) (PruneStats, error) {
	run := func(fn func(tx *sqlx.Tx) error) error {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			if dryRun {
				return errDryRun
			}
			return nil
		})
		if errors.Is(err, errDryRun) {
			return nil
		}
		return err
	}
	var st PruneStats
	var tenants []int64
	if tenantName == "" {
		if err := s.db.SelectContext(ctx, &tenants, `SELECT id FROM tenants ORDER BY id`); err != nil {
			return st, fmt.Errorf("prune: list tenants: %w", err)
		}
	} else {
		if err := s.db.SelectContext(ctx, &tenants, s.q(`SELECT id FROM tenants WHERE name = ?`), tenantName); err != nil {
			return st, fmt.Errorf("prune: find tenant: %w", err)
		}
		if len(tenants) == 0 {
			return st, fmt.Errorf("%w: prune: tenant %q", ErrNotFound, tenantName)
		}
	}
	at := s.t(cutoff)
	for _, tid := range tenants {
		// One transaction per tenant keeps each short enough not to block
		// scans of other tenants for long.
		err := run(func(tx *sqlx.Tx) error {
			var keep int64 // oldest scan kept: first at/after cutoff, else the latest
			err := tx.GetContext(ctx, &keep, s.q(`SELECT COALESCE(
				(SELECT MIN(id) FROM scans WHERE tenant_id = ? AND started_at >= ?),
				(SELECT MAX(id) FROM scans WHERE tenant_id = ?), 0)`), tid, at, tid)
			if err != nil {
				return fmt.Errorf("find oldest kept scan: %w", err)
			}
			if keep == 0 {
				return nil
			}
			// The latest whole scan stays however old: the scoped scans
			// (change notifications) since it are not the tenant's state.
			var whole sql.NullInt64
			if err := tx.GetContext(ctx, &whole, s.q(`SELECT last_scan_id FROM tenants WHERE id = ?`), tid); err != nil {
				return fmt.Errorf("find latest whole scan: %w", err)
			}
			if whole.Valid && whole.Int64 > 0 && whole.Int64 < keep {
				keep = whole.Int64
			}
			exec := func(counter *int64, what, query string, args ...any) error {
				res, err := tx.ExecContext(ctx, s.q(query), args...)
				if err != nil {
					return fmt.Errorf("prune %s: %w", what, err)
				}
				n, _ := res.RowsAffected()
				*counter += n
				return nil
			}
			var ignored int64
			steps := []struct {
				counter *int64
				what    string
				query   string
				args    []any
			}{
				{&st.Results, "results", `DELETE FROM rule_results WHERE scan_id IN (SELECT id FROM scans WHERE tenant_id = ? AND id < ?)`, []any{tid, keep}},
				{&ignored, "rule summaries", `DELETE FROM rule_summary WHERE scan_id IN (SELECT id FROM scans WHERE tenant_id = ? AND id < ?)`, []any{tid, keep}},
				{&st.Changes, "changes", `DELETE FROM changes WHERE tenant_id = ? AND scan_id < ?`, []any{tid, keep}},
				// A version is superseded when a newer one of the same
				// object exists at or before the oldest kept scan.
				{&st.ObjectVersions, "object versions", `DELETE FROM object_versions WHERE tenant_id = ? AND scan_id < ? AND EXISTS (
					SELECT 1 FROM object_versions w WHERE w.tenant_id = object_versions.tenant_id AND w.section = object_versions.section
						AND w.object_key = object_versions.object_key AND w.scan_id > object_versions.scan_id AND w.scan_id <= ?)`, []any{tid, keep, keep}},
				// What remains before the cutoff is the state at the
				// cutoff; a tombstone there says only "absent".
				{&st.ObjectVersions, "tombstones", `DELETE FROM object_versions WHERE tenant_id = ? AND scan_id < ? AND deleted`, []any{tid, keep}},
				{&st.Findings, "findings", `DELETE FROM findings WHERE tenant_id = ? AND state = 'resolved' AND resolved_at < ?`, []any{tid, at}},
				{&st.Scans, "scans", `DELETE FROM scans WHERE tenant_id = ? AND id < ?`, []any{tid, keep}},
			}
			for _, step := range steps {
				if err := exec(step.counter, step.what, step.query, step.args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("prune tenant %d: %w", tid, err)
		}
	}
	err := run(func(tx *sqlx.Tx) error {
		q, args := `DELETE FROM outbox WHERE state IN ('sent', 'dead') AND created_at < ?`, []any{at}
		if tenantName != "" {
			q, args = q+` AND tenant = ?`, append(args, tenantName)
		}
		res, err := tx.ExecContext(ctx, s.q(q), args...)
		if err != nil {
			return err
		}
		st.Outbox, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("prune outbox: %w", err)
	}
	if dryRun {
		return st, nil
	}
	s.log.Info("store pruned", "cutoff", cutoff, "tenant", tenantName, "scans", st.Scans, "object_versions", st.ObjectVersions,
		"changes", st.Changes, "results", st.Results, "findings", st.Findings, "outbox", st.Outbox)
	return st, nil
}
