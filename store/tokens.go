package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// DeltaToken implements DeltaTokens.
func (s *sqlStore) DeltaToken(ctx context.Context, tenantName, key string) (string, error) {
	var toks []string
	err := s.db.SelectContext(ctx, &toks, s.q(`SELECT d.token FROM delta_tokens d JOIN tenants t ON t.id = d.tenant_id
		WHERE t.name = ? AND d.key = ?`), tenantName, key)
	if err != nil {
		return "", fmt.Errorf("read delta token %q of %q: %w", key, tenantName, err)
	}
	if len(toks) == 0 {
		return "", nil
	}
	return toks[0], nil
}

// SetDeltaToken implements DeltaTokens.
func (s *sqlStore) SetDeltaToken(ctx context.Context, tenantName, key, token string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		tid, err := s.ensureTenant(ctx, tx, tenantName, "")
		if err != nil {
			return err
		}
		return s.setDeltaToken(ctx, tx, tid, key, token)
	})
}

func (s *sqlStore) setDeltaToken(ctx context.Context, tx *sqlx.Tx, tid int64, key, token string) error {
	var err error
	if token == "" {
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM delta_tokens WHERE tenant_id = ? AND key = ?`), tid, key)
	} else {
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO delta_tokens (tenant_id, key, token, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, key) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at`),
			tid, key, token, s.t(s.now()))
	}
	if err != nil {
		return fmt.Errorf("save delta token %q: %w", key, err)
	}
	return nil
}
