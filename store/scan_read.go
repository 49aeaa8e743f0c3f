package store

// The read path of scans: listings of tenants, scans, changes and results,
// and the current objects of a section.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/tenant"
)

// scanRow is a scans row as read.
type scanRow struct {
	ID               int64  `db:"id"`
	Tenant           string `db:"tenant"`
	StartedAt        dbTime `db:"started_at"`
	FinishedAt       dbTime `db:"finished_at"`
	CollectedAt      dbTime `db:"collected_at"`
	Status           string `db:"status"`
	Baseline         string `db:"baseline"`
	Sections         string `db:"sections"`
	Stats            string `db:"stats"`
	ObjectsSeen      int64  `db:"objects_seen"`
	ObjectsWritten   int64  `db:"objects_written"`
	Changes          int64  `db:"changes"`
	ResultsWritten   int64  `db:"results_written"`
	FindingsNew      int64  `db:"findings_new"`
	FindingsReopened int64  `db:"findings_reopened"`
	FindingsResolved int64  `db:"findings_resolved"`
	FindingsOpen     int64  `db:"findings_open"`
}

const scanSelect = `SELECT s.id, t.name AS tenant, s.started_at, s.finished_at, s.collected_at, s.status, s.baseline, s.sections, s.stats,
	s.objects_seen, s.objects_written, s.changes, s.results_written, s.findings_new, s.findings_reopened, s.findings_resolved, s.findings_open
	FROM scans s JOIN tenants t ON t.id = s.tenant_id`

func (r *scanRow) scan() (Scan, error) {
	sc := Scan{ID: r.ID, Tenant: r.Tenant, StartedAt: r.StartedAt.T, FinishedAt: r.FinishedAt.T, CollectedAt: r.CollectedAt.T,
		Status: ScanStatus(r.Status), Baseline: r.Baseline, ObjectsSeen: r.ObjectsSeen, ObjectsWritten: r.ObjectsWritten,
		Changes: r.Changes, ResultsWritten: r.ResultsWritten, FindingsNew: r.FindingsNew, FindingsReopened: r.FindingsReopened,
		FindingsResolved: r.FindingsResolved, FindingsOpen: r.FindingsOpen}
	if err := json.Unmarshal([]byte(r.Sections), &sc.Sections); err != nil {
		return sc, fmt.Errorf("scan %d: decode sections: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Stats), &sc.Stats); err != nil {
		return sc, fmt.Errorf("scan %d: decode stats: %w", r.ID, err)
	}
	return sc, nil
}

// Scans implements Scans.
func (s *sqlStore) Scans(ctx context.Context, f ScanFilter) ([]Scan, error) {
	var where []string
	var args []any
	if f.Tenant != "" {
		where = append(where, "t.name = ?")
		args = append(args, f.Tenant)
	}
	if !f.Since.IsZero() {
		where = append(where, "s.started_at >= ?")
		args = append(args, s.t(f.Since))
	}
	if f.BeforeID != 0 {
		where = append(where, "s.id < ?")
		args = append(args, f.BeforeID)
	}
	if f.Whole {
		where = append(where, "NOT s.scoped")
	}
	query := scanSelect + whereClause(where) + " ORDER BY s.id DESC" + limitClause(f.Limit)
	var rows []scanRow
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("list scans: %w", err)
	}
	out := make([]Scan, 0, len(rows))
	for i := range rows {
		sc, err := rows[i].scan()
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// Scan implements Scans.
func (s *sqlStore) Scan(ctx context.Context, id int64) (Scan, error) {
	var r scanRow
	err := s.db.GetContext(ctx, &r, s.q(scanSelect+" WHERE s.id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, fmt.Errorf("scan %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Scan{}, fmt.Errorf("read scan %d: %w", id, err)
	}
	return r.scan()
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Tenants implements Scans.
func (s *sqlStore) Tenants(ctx context.Context) ([]Tenant, error) {
	var rows []struct {
		Name       string        `db:"name"`
		EntraID    string        `db:"entra_id"`
		CreatedAt  dbTime        `db:"created_at"`
		LastScanID sql.NullInt64 `db:"last_scan_id"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT name, entra_id, created_at, last_scan_id FROM tenants ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	out := make([]Tenant, 0, len(rows))
	for _, r := range rows {
		out = append(out, Tenant{Name: r.Name, TenantID: r.EntraID, CreatedAt: r.CreatedAt.T, LastScanID: r.LastScanID.Int64})
	}
	return out, nil
}

// Changes implements Scans.
func (s *sqlStore) Changes(ctx context.Context, f ChangeFilter) ([]Change, error) {
	var where []string
	var args []any
	if f.Tenant != "" {
		where = append(where, "t.name = ?")
		args = append(args, f.Tenant)
	}
	if !f.Since.IsZero() {
		where = append(where, "c.detected_at >= ?")
		args = append(args, s.t(f.Since))
	}
	if f.ScanID != 0 {
		where = append(where, "c.scan_id = ?")
		args = append(args, f.ScanID)
	}
	if f.Section != "" {
		where = append(where, "c.section = ?")
		args = append(args, string(f.Section))
	}
	if f.Kind != "" {
		where = append(where, "c.kind = ?")
		args = append(args, string(f.Kind))
	}
	if f.ObjectKey != "" {
		where = append(where, "c.object_key = ?")
		args = append(args, f.ObjectKey)
	}
	if f.AfterID != 0 {
		where = append(where, "c.id > ?")
		args = append(args, f.AfterID)
	}
	query := `SELECT c.id, t.name, c.scan_id, c.prev_scan_id, c.detected_at, c.section, c.object_key, c.name, c.kind, c.fields, c.object
		FROM changes c JOIN tenants t ON t.id = c.tenant_id` + whereClause(where) + " ORDER BY c.id" + limitClause(f.Limit)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var (
			c              Change
			at             dbTime
			fields, object sql.NullString
			sec, kind      string
		)
		if err := rows.Scan(&c.ID, &c.Tenant, &c.ScanID, &c.PrevScanID, &at, &sec, &c.Key, &c.Name, &kind, &fields, &object); err != nil {
			return nil, fmt.Errorf("list changes: %w", err)
		}
		c.DetectedAt, c.Section, c.Kind = at.T, tenant.Section(sec), drift.Kind(kind)
		if fields.Valid {
			if err := json.Unmarshal([]byte(fields.String), &c.Fields); err != nil {
				return nil, fmt.Errorf("change %d: decode fields: %w", c.ID, err)
			}
		}
		if object.Valid {
			c.Object = json.RawMessage(object.String)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	return out, nil
}

type resultRow struct {
	RuleID      string `db:"rule_id"`
	Section     string `db:"section"`
	ObjectKey   string `db:"object_key"`
	ObjectName  string `db:"object_name"`
	ObjectURL   string `db:"object_url"`
	ObjectLabel string `db:"object_label"`
	Outcome     string `db:"outcome"`
	Severity    string `db:"severity"`
	Expected    string `db:"expected"`
	Actual      string `db:"actual"`
	Message     string `db:"message"`
	Exception   string `db:"exception"`
}

func (r resultRow) result() tenant.Result {
	return tenant.Result{RuleID: r.RuleID, Section: tenant.Section(r.Section), Outcome: tenant.Outcome(r.Outcome),
		Severity: tenant.Severity(r.Severity), ObjectKey: r.ObjectKey, ObjectName: r.ObjectName, ObjectURL: r.ObjectURL, ObjectLabel: r.ObjectLabel,
		Expected: r.Expected, Actual: r.Actual, Message: r.Message, Exception: r.Exception}
}

const resultSelect = `SELECT rule_id, section, object_key, object_name, object_url, object_label, outcome, severity, expected, actual, message, exception FROM rule_results`

// Results implements Scans.
func (s *sqlStore) Results(ctx context.Context, scanID int64) ([]tenant.Result, error) {
	var rows []resultRow
	if err := s.db.SelectContext(ctx, &rows, s.q(resultSelect+` WHERE scan_id = ? ORDER BY rule_id, object_key`), scanID); err != nil {
		return nil, fmt.Errorf("list results of scan %d: %w", scanID, err)
	}
	out := make([]tenant.Result, len(rows))
	for i, r := range rows {
		out[i] = r.result()
	}
	return out, nil
}

// RuleSummary implements Scans.
func (s *sqlStore) RuleSummary(ctx context.Context, scanID int64) ([]RuleCount, error) {
	var rows []struct {
		RuleID  string `db:"rule_id"`
		Section string `db:"section"`
		Outcome string `db:"outcome"`
		Count   int64  `db:"count"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT rule_id, section, outcome, count FROM rule_summary WHERE scan_id = ? ORDER BY rule_id, outcome`), scanID); err != nil {
		return nil, fmt.Errorf("rule summary of scan %d: %w", scanID, err)
	}
	out := make([]RuleCount, len(rows))
	for i, r := range rows {
		out[i] = RuleCount{RuleID: r.RuleID, Section: tenant.Section(r.Section), Outcome: tenant.Outcome(r.Outcome), Count: r.Count}
	}
	return out, nil
}

// ExceptionsInUse implements Scans.
func (s *sqlStore) ExceptionsInUse(ctx context.Context, tenantName string) ([]tenant.Result, error) {
	var rows []resultRow
	err := s.db.SelectContext(ctx, &rows, s.q(resultSelect+` WHERE scan_id = (SELECT last_scan_id FROM tenants WHERE name = ?)
		AND exception <> '' ORDER BY exception, rule_id, object_key`), tenantName)
	if err != nil {
		return nil, fmt.Errorf("list exceptions of %q: %w", tenantName, err)
	}
	out := make([]tenant.Result, len(rows))
	for i, r := range rows {
		out[i] = r.result()
	}
	return out, nil
}

// CurrentObjects implements Scans.
func (s *sqlStore) CurrentObjects(ctx context.Context, tenantName string, sec tenant.Section, fn func(drift.Object) error) error {
	tid, err := s.tenantID(ctx, s.db, tenantName)
	if err != nil {
		return err
	}
	return s.currentObjects(ctx, tid, tenantName, sec, "", nil, fn)
}

// currentObjects streams the latest documents of a section's live objects
// that also meet the condition where (with its args), in key order.
func (s *sqlStore) currentObjects(ctx context.Context, tid int64, tenantName string, sec tenant.Section, where string, args []any, fn func(drift.Object) error) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT v.object_key, v.name, v.doc FROM object_versions v
		WHERE v.tenant_id = ? AND v.section = ?`+where+` AND NOT v.deleted AND v.scan_id = (
			SELECT MAX(w.scan_id) FROM object_versions w WHERE w.tenant_id = v.tenant_id AND w.section = v.section AND w.object_key = v.object_key)
		ORDER BY v.object_key`), append([]any{tid, string(sec)}, args...)...)
	if err != nil {
		return fmt.Errorf("read objects of %q %s: %w", tenantName, sec, err)
	}
	defer rows.Close()
	for rows.Next() {
		o := drift.Object{Section: sec}
		if err := rows.Scan(&o.Key, &o.Name, &o.Doc); err != nil {
			return fmt.Errorf("read objects of %q %s: %w", tenantName, sec, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}
