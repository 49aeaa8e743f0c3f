package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ChangeSubscription is a tenant's subscription to one drive's changes.
type ChangeSubscription struct {
	Tenant  string
	DriveID string
	// ID is Graph's subscription id; empty while it is being created.
	ID string
	// ClientStateHash is the hex SHA-256 of the clientState secret.
	ClientStateHash string
	// Creating is true from just before the subscription is asked for
	// until the service answers.
	Creating  bool
	UpdatedAt time.Time
	Expires   time.Time
}

// DriveChange is a drive with unprocessed notifications.
type DriveChange struct {
	Tenant  string
	DriveID string
	// Reason is the last mark's: "updated" or a lifecycle event.
	Reason  string
	FirstAt time.Time
	LastAt  time.Time
	// Version identifies the mark; clearing removes it only when no mark
	// arrived since it was read.
	Version int64
}

// ChangeFeeds keeps subscriptions and the drives notifications marked,
// shared by every replica: any of them may receive a notification, one
// processes it.
type ChangeFeeds interface {
	// BeginSubscription records that a subscription to the drive is being
	// asked for, with the hash of its clientState. It replaces any
	// earlier subscription of the drive.
	BeginSubscription(ctx context.Context, tenantName, driveID, clientStateHash string) error
	// ActivateSubscription records Graph's answer; ErrNotFound when the
	// drive's subscription is no longer being created.
	ActivateSubscription(ctx context.Context, tenantName, driveID, id string, expires time.Time) error
	// SubscriptionCreating reports whether a subscription of the tenant
	// has been in creation since at or after since.
	SubscriptionCreating(ctx context.Context, tenantName string, since time.Time) (bool, error)
	// SubscriptionByID returns the active subscription with Graph's id;
	// ErrNotFound when there is none.
	SubscriptionByID(ctx context.Context, id string) (ChangeSubscription, error)
	// Subscriptions lists a tenant's subscriptions by drive.
	Subscriptions(ctx context.Context, tenantName string) ([]ChangeSubscription, error)
	// RenewedSubscription moves an active subscription's expiry.
	RenewedSubscription(ctx context.Context, id string, expires time.Time) error
	// DropSubscription forgets the drive's subscription.
	DropSubscription(ctx context.Context, tenantName, driveID string) error
	// MarkDriveChanged notes a notification for the drive at at.
	MarkDriveChanged(ctx context.Context, tenantName, driveID, reason string, at time.Time) error
	// DriveChanges lists a tenant's marked drives, oldest first.
	DriveChanges(ctx context.Context, tenantName string) ([]DriveChange, error)
	// ClearDriveChanges removes the marks read, unless marked again since.
	ClearDriveChanges(ctx context.Context, done []DriveChange) error
}

type subscriptionRow struct {
	Tenant  string         `db:"tenant"`
	DriveID string         `db:"drive_id"`
	ID      sql.NullString `db:"subscription_id"`
	Hash    string         `db:"client_state_hash"`
	State   string         `db:"state"`
	Updated dbTime         `db:"updated_at"`
	Expires dbTime         `db:"expires_at"`
}

func (r subscriptionRow) sub() ChangeSubscription {
	return ChangeSubscription{Tenant: r.Tenant, DriveID: r.DriveID, ID: r.ID.String, ClientStateHash: r.Hash,
		Creating: r.State == "creating", UpdatedAt: r.Updated.T, Expires: r.Expires.T}
}

const subscriptionCols = `tenant, drive_id, subscription_id, client_state_hash, state, updated_at, expires_at`

// BeginSubscription implements ChangeFeeds.
func (s *sqlStore) BeginSubscription(ctx context.Context, tenantName, driveID, hash string) error {
	if tenantName == "" || driveID == "" || hash == "" {
		return fmt.Errorf("begin subscription: %w: tenant, drive and clientState hash are required", ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO change_subscriptions (`+subscriptionCols+`) VALUES (?, ?, NULL, ?, 'creating', ?, NULL)
		ON CONFLICT (tenant, drive_id) DO UPDATE SET subscription_id = NULL, client_state_hash = excluded.client_state_hash,
			state = 'creating', updated_at = excluded.updated_at, expires_at = NULL`),
		tenantName, driveID, hash, s.t(s.now()))
	if err != nil {
		return fmt.Errorf("begin subscription of %s drive %s: %w", tenantName, driveID, err)
	}
	return nil
}

// ActivateSubscription implements ChangeFeeds.
func (s *sqlStore) ActivateSubscription(ctx context.Context, tenantName, driveID, id string, expires time.Time) error {
	if id == "" {
		return fmt.Errorf("activate subscription: %w: no subscription id", ErrInvalid)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE change_subscriptions SET subscription_id = ?, state = 'active', updated_at = ?, expires_at = ?
		WHERE tenant = ? AND drive_id = ? AND state = 'creating'`), id, s.t(s.now()), s.t(expires), tenantName, driveID)
	if err != nil {
		return fmt.Errorf("activate subscription %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("activate subscription %s of %s drive %s: %w", id, tenantName, driveID, ErrNotFound)
	}
	return nil
}

// SubscriptionCreating implements ChangeFeeds.
func (s *sqlStore) SubscriptionCreating(ctx context.Context, tenantName string, since time.Time) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM change_subscriptions WHERE tenant = ? AND state = 'creating' AND updated_at >= ?`),
		tenantName, s.t(since))
	if err != nil {
		return false, fmt.Errorf("read subscriptions of %s: %w", tenantName, err)
	}
	return n > 0, nil
}

// SubscriptionByID implements ChangeFeeds.
func (s *sqlStore) SubscriptionByID(ctx context.Context, id string) (ChangeSubscription, error) {
	var rows []subscriptionRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+subscriptionCols+` FROM change_subscriptions WHERE subscription_id = ? AND state = 'active'`), id); err != nil {
		return ChangeSubscription{}, fmt.Errorf("read subscription: %w", err)
	}
	if len(rows) == 0 {
		return ChangeSubscription{}, fmt.Errorf("subscription: %w", ErrNotFound)
	}
	return rows[0].sub(), nil
}

// Subscriptions implements ChangeFeeds.
func (s *sqlStore) Subscriptions(ctx context.Context, tenantName string) ([]ChangeSubscription, error) {
	var rows []subscriptionRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+subscriptionCols+` FROM change_subscriptions WHERE tenant = ? ORDER BY drive_id`), tenantName); err != nil {
		return nil, fmt.Errorf("list subscriptions of %s: %w", tenantName, err)
	}
	out := make([]ChangeSubscription, len(rows))
	for i, r := range rows {
		out[i] = r.sub()
	}
	return out, nil
}

// RenewedSubscription implements ChangeFeeds.
func (s *sqlStore) RenewedSubscription(ctx context.Context, id string, expires time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE change_subscriptions SET expires_at = ?, updated_at = ? WHERE subscription_id = ? AND state = 'active'`),
		s.t(expires), s.t(s.now()), id)
	if err != nil {
		return fmt.Errorf("renew subscription %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("renew subscription %s: %w", id, ErrNotFound)
	}
	return nil
}

// DropSubscription implements ChangeFeeds.
func (s *sqlStore) DropSubscription(ctx context.Context, tenantName, driveID string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM change_subscriptions WHERE tenant = ? AND drive_id = ?`), tenantName, driveID); err != nil {
		return fmt.Errorf("drop subscription of %s drive %s: %w", tenantName, driveID, err)
	}
	return nil
}

// MarkDriveChanged implements ChangeFeeds. One upsert: replicas marking
// the same drive at once leave one row whose version counts both.
func (s *sqlStore) MarkDriveChanged(ctx context.Context, tenantName, driveID, reason string, at time.Time) error {
	if tenantName == "" || driveID == "" || reason == "" {
		return fmt.Errorf("mark drive changed: %w: tenant, drive and reason are required", ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO drive_changes (tenant, drive_id, reason, first_at, last_at, version) VALUES (?, ?, ?, ?, ?, 1)
		ON CONFLICT (tenant, drive_id) DO UPDATE SET reason = excluded.reason, last_at = excluded.last_at,
			version = drive_changes.version + 1`),
		tenantName, driveID, reason, s.t(at), s.t(at))
	if err != nil {
		return fmt.Errorf("mark %s drive %s changed: %w", tenantName, driveID, err)
	}
	return nil
}

type driveChangeRow struct {
	Tenant  string `db:"tenant"`
	DriveID string `db:"drive_id"`
	Reason  string `db:"reason"`
	FirstAt dbTime `db:"first_at"`
	LastAt  dbTime `db:"last_at"`
	Version int64  `db:"version"`
}

// DriveChanges implements ChangeFeeds.
func (s *sqlStore) DriveChanges(ctx context.Context, tenantName string) ([]DriveChange, error) {
	var rows []driveChangeRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT tenant, drive_id, reason, first_at, last_at, version FROM drive_changes
		WHERE tenant = ? ORDER BY first_at, drive_id`), tenantName); err != nil {
		return nil, fmt.Errorf("list changed drives of %s: %w", tenantName, err)
	}
	out := make([]DriveChange, len(rows))
	for i, r := range rows {
		out[i] = DriveChange{Tenant: r.Tenant, DriveID: r.DriveID, Reason: r.Reason, FirstAt: r.FirstAt.T, LastAt: r.LastAt.T, Version: r.Version}
	}
	return out, nil
}

// ClearDriveChanges implements ChangeFeeds.
func (s *sqlStore) ClearDriveChanges(ctx context.Context, done []DriveChange) error {
	if len(done) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, d := range done {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM drive_changes WHERE tenant = ? AND drive_id = ? AND version = ?`),
				d.Tenant, d.DriveID, d.Version); err != nil {
				return fmt.Errorf("clear %s drive %s: %w", d.Tenant, d.DriveID, err)
			}
		}
		return nil
	})
}
