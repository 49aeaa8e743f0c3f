package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

type remediationRow struct {
	ID          int64  `db:"id"`
	Tenant      string `db:"tenant"`
	Fingerprint string `db:"fingerprint"`
	RuleID      string `db:"rule_id"`
	ObjectKey   string `db:"object_key"`
	RunID       string `db:"run_id"`
	Seq         int    `db:"seq"`
	Action      string `db:"action"`
	Mode        string `db:"mode"`
	State       string `db:"state"`
	Plan        []byte `db:"plan"`
	ApprovedBy  string `db:"approved_by"`
	ApprovedAt  dbTime `db:"approved_at"`
	Before      []byte `db:"before"`
	After       []byte `db:"after"`
	Result      string `db:"result"`
	Error       string `db:"error"`
	VerifiedAt  dbTime `db:"verified_at"`
	CreatedAt   dbTime `db:"created_at"`
	UpdatedAt   dbTime `db:"updated_at"`
}

const remediationCols = `id, tenant, fingerprint, rule_id, object_key, run_id, seq, action, mode, state, plan,
	approved_by, approved_at, before, after, result, error, verified_at, created_at, updated_at`

func (r *remediationRow) remediation() Remediation {
	return Remediation{ID: r.ID, Tenant: r.Tenant, Fingerprint: r.Fingerprint, RuleID: r.RuleID, ObjectKey: r.ObjectKey,
		RunID: r.RunID, Seq: r.Seq, Action: r.Action, Mode: r.Mode, State: RemediationState(r.State), Plan: r.Plan,
		ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt.ptr(), Before: r.Before, After: r.After, Result: r.Result,
		Error: r.Error, VerifiedAt: r.VerifiedAt.ptr(), CreatedAt: r.CreatedAt.T, UpdatedAt: r.UpdatedAt.T}
}

// blob keeps nil as NULL and everything else byte for byte.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// CreateRemediation implements RemediationAudit.
func (s *sqlStore) CreateRemediation(ctx context.Context, r Remediation) (int64, error) {
	if r.Tenant == "" || r.Action == "" {
		return 0, fmt.Errorf("create remediation: %w: tenant and action are required", ErrInvalid)
	}
	if r.State == "" {
		r.State = RemediationPlanned
	}
	now := s.t(s.now())
	var id int64
	err := s.db.GetContext(ctx, &id, s.q(`INSERT INTO remediations (tenant, fingerprint, rule_id, object_key, run_id, seq, action, mode,
		state, plan, approved_by, approved_at, before, after, result, error, verified_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		r.Tenant, r.Fingerprint, r.RuleID, r.ObjectKey, r.RunID, r.Seq, r.Action, r.Mode, string(r.State), blob(r.Plan),
		r.ApprovedBy, s.nt(r.ApprovedAt), blob(r.Before), blob(r.After), r.Result, r.Error, s.nt(r.VerifiedAt), now, now)
	if err != nil {
		return 0, fmt.Errorf("create remediation for %s: %w", r.Fingerprint, err)
	}
	return id, nil
}

// UpdateRemediation implements RemediationAudit.
func (s *sqlStore) UpdateRemediation(ctx context.Context, r Remediation, from ...RemediationState) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var state string
		err := tx.GetContext(ctx, &state, s.q(`SELECT state FROM remediations WHERE id = ?`+s.d.forUpdate()), r.ID)
		if errNoRows(err) {
			return fmt.Errorf("remediation %d: %w", r.ID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read remediation %d: %w", r.ID, err)
		}
		if len(from) > 0 {
			ok := false
			for _, f := range from {
				ok = ok || string(f) == state
			}
			if !ok {
				return fmt.Errorf("remediation %d is %s, expected one of %v: %w", r.ID, state, from, ErrConflict)
			}
		}
		if r.State == "" {
			r.State = RemediationState(state)
		}
		// A verification once recorded stays: an update never un-verifies.
		_, err = tx.ExecContext(ctx, s.q(`UPDATE remediations SET state = ?, approved_by = ?, approved_at = ?, before = ?, after = ?,
			result = ?, error = ?, verified_at = COALESCE(?, verified_at), updated_at = ? WHERE id = ?`),
			string(r.State), r.ApprovedBy, s.nt(r.ApprovedAt), blob(r.Before), blob(r.After), r.Result, r.Error, s.nt(r.VerifiedAt), s.t(s.now()), r.ID)
		if err != nil {
			return fmt.Errorf("update remediation %d: %w", r.ID, err)
		}
		return nil
	})
}

// Remediation implements RemediationAudit.
func (s *sqlStore) Remediation(ctx context.Context, id int64) (Remediation, error) {
	var r remediationRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+remediationCols+` FROM remediations WHERE id = ?`), id)
	if errNoRows(err) {
		return Remediation{}, fmt.Errorf("remediation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Remediation{}, fmt.Errorf("read remediation %d: %w", id, err)
	}
	return r.remediation(), nil
}

// Remediations implements RemediationAudit.
func (s *sqlStore) Remediations(ctx context.Context, f RemediationFilter) ([]Remediation, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, val string }{{"tenant", f.Tenant}, {"fingerprint", f.Fingerprint}, {"run_id", f.RunID}, {"state", string(f.State)}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	var rows []remediationRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+remediationCols+` FROM remediations`+whereClause(where)+` ORDER BY id`+limitClause(f.Limit)), args...); err != nil {
		return nil, fmt.Errorf("list remediations: %w", err)
	}
	out := make([]Remediation, len(rows))
	for i := range rows {
		out[i] = rows[i].remediation()
	}
	return out, nil
}
