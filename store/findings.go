package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sharedrift/sharedrift/tenant"
)

type findingRow struct {
	Tenant         string        `db:"tenant"`
	Fingerprint    string        `db:"fingerprint"`
	RuleID         string        `db:"rule_id"`
	Section        string        `db:"section"`
	ObjectKey      string        `db:"object_key"`
	ObjectName     string        `db:"object_name"`
	ObjectURL      string        `db:"object_url"`
	ObjectLabel    string        `db:"object_label"`
	Severity       string        `db:"severity"`
	PrevSeverity   string        `db:"prev_severity"`
	Expected       string        `db:"expected"`
	Actual         string        `db:"actual"`
	Message        string        `db:"message"`
	State          string        `db:"state"`
	FirstSeen      dbTime        `db:"first_seen"`
	LastSeen       dbTime        `db:"last_seen"`
	ResolvedAt     dbTime        `db:"resolved_at"`
	ReopenedAt     dbTime        `db:"reopened_at"`
	ReopenCount    int           `db:"reopen_count"`
	FirstScanID    int64         `db:"first_scan_id"`
	LastScanID     int64         `db:"last_scan_id"`
	ResolvedScanID sql.NullInt64 `db:"resolved_scan_id"`
	ReopenedScanID sql.NullInt64 `db:"reopened_scan_id"`
	SeverityScanID sql.NullInt64 `db:"severity_scan_id"`
	AcknowledgedAt dbTime        `db:"acknowledged_at"`
	AcknowledgedBy string        `db:"acknowledged_by"`
	SnoozedUntil   dbTime        `db:"snoozed_until"`
	SnoozedBy      string        `db:"snoozed_by"`
	AckReason      string        `db:"ack_reason"`
	SnoozeReason   string        `db:"snooze_reason"`
	AcceptedValue  string        `db:"accepted_value"`
	AcceptedReason string        `db:"accepted_reason"`
	AcceptedOwner  string        `db:"accepted_owner"`
	AcceptedBy     string        `db:"accepted_by"`
	AcceptedAt     dbTime        `db:"accepted_at"`
	AcceptedUntil  dbTime        `db:"accepted_until"`
}

// lastSeen and lastScan are a finding's effective last_seen and
// last_scan_id: a tracking finding was seen failing up to its section's
// mark, which scans move instead of rewriting every open finding.
const (
	lastSeen = `CASE WHEN f.tracking THEN COALESCE(m.seen_at, f.last_seen) ELSE f.last_seen END`
	lastScan = `CASE WHEN f.tracking THEN COALESCE(m.scan_id, f.last_scan_id) ELSE f.last_scan_id END`
)

// findingSelect reads findings (f) with their tenant and section mark.
const findingSelect = findingColumns + ` FROM findings f ` + findingJoins

const findingColumns = `SELECT t.name AS tenant, f.fingerprint, f.rule_id, f.section, f.object_key, f.object_name, f.object_url, f.object_label, f.severity, f.prev_severity,
	f.expected, f.actual, f.message, f.state, f.first_seen, ` + lastSeen + ` AS last_seen, f.resolved_at, f.reopened_at, f.reopen_count,
	f.first_scan_id, ` + lastScan + ` AS last_scan_id, f.resolved_scan_id, f.reopened_scan_id, f.severity_scan_id,
	f.acknowledged_at, f.acknowledged_by, f.snoozed_until, f.snoozed_by, f.ack_reason, f.snooze_reason,
	f.accepted_value, f.accepted_reason, f.accepted_owner, f.accepted_by, f.accepted_at, f.accepted_until`

const findingJoins = `JOIN tenants t ON t.id = f.tenant_id
	LEFT JOIN finding_marks m ON m.tenant_id = f.tenant_id AND m.section = f.section`

// severityRank orders severities in SQL, most severe first when descending.
const severityRank = `CASE f.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END`

func (r *findingRow) finding() Finding {
	var acc *Acceptance
	if r.AcceptedUntil.ptr() != nil {
		acc = &Acceptance{Value: r.AcceptedValue, Reason: r.AcceptedReason, Owner: r.AcceptedOwner, By: r.AcceptedBy,
			At: r.AcceptedAt.T, Until: r.AcceptedUntil.T}
	}
	return Finding{
		AckReason: r.AckReason, SnoozeReason: r.SnoozeReason, Accepted: acc,
		Tenant: r.Tenant, Fingerprint: r.Fingerprint, RuleID: r.RuleID, Section: tenant.Section(r.Section),
		ObjectKey: r.ObjectKey, ObjectName: r.ObjectName, ObjectURL: r.ObjectURL, ObjectLabel: r.ObjectLabel, Severity: tenant.Severity(r.Severity),
		PrevSeverity: tenant.Severity(r.PrevSeverity), Expected: r.Expected, Actual: r.Actual, Message: r.Message,
		State: FindingState(r.State), FirstSeen: r.FirstSeen.T, LastSeen: r.LastSeen.T,
		ResolvedAt: r.ResolvedAt.ptr(), ReopenedAt: r.ReopenedAt.ptr(), ReopenCount: r.ReopenCount,
		FirstScanID: r.FirstScanID, LastScanID: r.LastScanID, ResolvedScanID: r.ResolvedScanID.Int64,
		AcknowledgedAt: r.AcknowledgedAt.ptr(), AcknowledgedBy: r.AcknowledgedBy,
		SnoozedUntil: r.SnoozedUntil.ptr(), SnoozedBy: r.SnoozedBy,
	}
}

// FindingsList implements Findings. A page from the start or after a key
// is read severity by severity along the findings_page index; a page at an
// offset sorts every matching finding.
func (s *sqlStore) FindingsList(ctx context.Context, f FindingFilter) ([]Finding, error) {
	if f.SearchBudget != 0 {
		return nil, fmt.Errorf("list findings: %w: a search budget needs FindingsPage, which says where the search stopped", ErrInvalid)
	}
	return s.findingsList(ctx, f)
}

// FindingsPage implements Findings.
func (s *sqlStore) FindingsPage(ctx context.Context, f FindingFilter) (FindingPage, error) {
	switch {
	case f.Limit <= 0 || f.Offset != 0:
		return FindingPage{}, fmt.Errorf("findings page: %w: a page needs a limit and no offset", ErrInvalid)
	case f.SearchBudget < 0:
		return FindingPage{}, fmt.Errorf("findings page: %w: negative search budget %d", ErrInvalid, f.SearchBudget)
	case f.SearchBudget > 0 && f.Search != "" && f.ScanID == 0:
		items, resume, err := s.findingsByKey(ctx, f)
		return FindingPage{Items: items, Resume: resume}, err
	}
	f.SearchBudget = 0
	items, err := s.findingsList(ctx, f)
	return FindingPage{Items: items}, err
}

func (s *sqlStore) findingsList(ctx context.Context, f FindingFilter) ([]Finding, error) {
	if f.After != nil && f.Offset > 0 {
		return nil, fmt.Errorf("list findings: %w: After and Offset together", ErrInvalid)
	}
	// An unbounded search filters most rows out: one scan and a top-N sort
	// beats walking the index and fetching every row it passes.
	if f.Limit > 0 && f.Offset == 0 && f.ScanID == 0 && f.Search == "" {
		out, _, err := s.findingsByKey(ctx, f)
		return out, err
	}
	where, args, err := s.findingConds(f)
	if err != nil {
		return nil, err
	}
	if k := f.After; k != nil {
		rank, _ := k.Severity.Rank() // an unknown severity sorts with info, as severityRank does
		where = append(where, `(t.name > ? OR (t.name = ? AND (`+severityRank+` < ? OR (`+severityRank+` = ? AND (f.rule_id > ? OR (f.rule_id = ? AND (f.object_key > ? OR (f.object_key = ? AND f.fingerprint > ?))))))))`)
		args = append(args, k.Tenant, k.Tenant, rank, rank, k.RuleID, k.RuleID, k.ObjectKey, k.ObjectKey, k.Fingerprint)
	}
	query := findingSelect + whereClause(where) + " ORDER BY t.name, " + severityRank + " DESC, f.rule_id, f.object_key, f.fingerprint" + limitClause(f.Limit)
	if f.Offset > 0 {
		if f.Limit <= 0 {
			query += s.d.noLimit()
		}
		query += fmt.Sprintf(" OFFSET %d", f.Offset)
	}
	return s.selectFindings(ctx, query, args)
}

func (s *sqlStore) selectFindings(ctx context.Context, query string, args []any) ([]Finding, error) {
	var rows []findingRow
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	out := make([]Finding, len(rows))
	for i := range rows {
		out[i] = rows[i].finding()
	}
	return out, nil
}

// listSeverities are the buckets of list order, most severe first. A
// severity outside them (never written by the rules) comes last.
var listSeverities = []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium, tenant.SeverityLow, tenant.SeverityInfo}

// findingsByKey reads a page tenant by tenant and severity by severity,
// each bucket in (rule, object key, fingerprint) order from the index,
// until the page is full. A search with a budget reads each bucket only up
// to the budget's last index entry, and returns that entry as where to
// resume when the budget ran out first.
func (s *sqlStore) findingsByKey(ctx context.Context, f FindingFilter) ([]Finding, *FindingKey, error) {
	where, args, err := s.findingConds(f)
	if err != nil {
		return nil, nil, err
	}
	budget := 0
	if f.Search != "" {
		budget = f.SearchBudget
	}
	var names []string
	if f.Tenant != "" {
		names = []string{f.Tenant}
	} else {
		ts, err := s.Tenants(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list findings: %w", err)
		}
		for _, t := range ts {
			names = append(names, t.Name)
		}
		sort.Strings(names)
	}
	minRank := 0
	if f.MinSeverity != "" {
		minRank, _ = f.MinSeverity.Rank()
	}
	type bucket struct {
		cond string
		args []any
		sev  tenant.Severity
	}
	var buckets []bucket
	for _, sev := range listSeverities {
		if r, _ := sev.Rank(); r >= minRank {
			buckets = append(buckets, bucket{cond: "f.severity = ?", args: []any{string(sev)}, sev: sev})
		}
	}
	if minRank == 0 {
		buckets = append(buckets, bucket{cond: "f.severity NOT IN ('critical', 'high', 'medium', 'low', 'info')", sev: "?"})
	}
	var out []Finding
	started := f.After == nil
	for _, name := range names {
		if !started && name < f.After.Tenant {
			continue
		}
		for _, b := range buckets {
			w := append(append([]string{}, where...), "t.name = ?", b.cond)
			a := append(append(append([]any{}, args...), name), b.args...)
			var after []string // the bucket's keyset condition, if any
			var afterArgs []any
			if !started {
				rank := func(s tenant.Severity) int {
					r, ok := s.Rank()
					if !ok {
						return -1
					}
					return r
				}
				if name == f.After.Tenant {
					br := rank(b.sev)
					if b.sev == "?" {
						br = -1
					}
					ar := rank(f.After.Severity)
					if br > ar {
						continue // a bucket before the key
					}
					if br == ar {
						k := f.After
						after = []string{keyAfter}
						afterArgs = []any{k.RuleID, k.ObjectKey, k.Fingerprint}
					}
				}
			}
			w, a = append(w, after...), append(a, afterArgs...)
			var last *FindingKey // the budget's last entry in this bucket
			if budget > 0 {
				n, end, err := s.bucketWindow(ctx, name, b.cond, b.args, after, afterArgs, budget)
				if err != nil {
					return nil, nil, err
				}
				budget -= n
				if end != nil {
					end.Tenant, end.Severity = name, b.sev
					if b.sev == "?" {
						end.Severity = "" // sorts like any unknown severity
					}
					last = end
					w = append(w, "(f.rule_id, f.object_key, f.fingerprint) <= (?, ?, ?)")
					a = append(a, end.RuleID, end.ObjectKey, end.Fingerprint)
				}
			}
			q := findingSelect + whereClause(w) + " ORDER BY f.rule_id, f.object_key, f.fingerprint" + limitClause(f.Limit-len(out))
			rows, err := s.selectFindings(ctx, q, a)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, rows...)
			if len(out) >= f.Limit {
				return out, nil, nil
			}
			if last != nil && budget <= 0 {
				return out, last, nil
			}
		}
		started = true
	}
	return out, nil, nil
}

// keyAfter is a finding's key after (rule, object key, fingerprint) ? in
// list order, within one tenant and severity. A row value, not the
// equivalent ORs: both databases bound an index range with it, so a page
// reads from its key on instead of filtering every entry before it.
const keyAfter = "(f.rule_id, f.object_key, f.fingerprint) > (?, ?, ?)"

// bucketWindow reads the next at most budget index entries of one
// tenant's severity bucket (after the keyset condition, if any), from the
// findings_page index alone: how many there are, and the last one when
// the budget ends inside the bucket (nil when the bucket ends first).
func (s *sqlStore) bucketWindow(ctx context.Context, tenantName, sevCond string, sevArgs []any, after []string, afterArgs []any, budget int) (int, *FindingKey, error) {
	w := append([]string{"f.tenant_id = (SELECT id FROM tenants WHERE name = ?)", sevCond}, after...)
	a := append(append([]any{tenantName}, sevArgs...), afterArgs...)
	var keys []struct {
		RuleID      string `db:"rule_id"`
		ObjectKey   string `db:"object_key"`
		Fingerprint string `db:"fingerprint"`
	}
	q := `SELECT f.rule_id, f.object_key, f.fingerprint FROM findings f` + whereClause(w) +
		` ORDER BY f.rule_id, f.object_key, f.fingerprint` + fmt.Sprintf(" LIMIT 1 OFFSET %d", budget-1)
	if err := s.db.SelectContext(ctx, &keys, s.q(q), a...); err != nil {
		return 0, nil, fmt.Errorf("list findings: search window: %w", err)
	}
	if len(keys) == 1 {
		k := keys[0]
		return budget, &FindingKey{RuleID: k.RuleID, ObjectKey: k.ObjectKey, Fingerprint: k.Fingerprint}, nil
	}
	var n int
	q = `SELECT count(*) FROM (SELECT 1 FROM findings f` + whereClause(w) + fmt.Sprintf(" LIMIT %d) w", budget)
	if err := s.db.GetContext(ctx, &n, s.q(q), a...); err != nil {
		return 0, nil, fmt.Errorf("list findings: search window: %w", err)
	}
	return n, nil, nil
}

// findingConds are the WHERE conditions of a finding filter (all but
// paging).
func (s *sqlStore) findingConds(f FindingFilter) ([]string, []any, error) {
	var where []string
	var args []any
	if f.Tenant != "" {
		where = append(where, "t.name = ?")
		args = append(args, f.Tenant)
	}
	if len(f.States) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(f.States)), ", ")
		where = append(where, "f.state IN ("+ph+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.MinSeverity != "" {
		rank, ok := f.MinSeverity.Rank()
		if !ok {
			return nil, nil, fmt.Errorf("list findings: %w: severity %q", ErrInvalid, f.MinSeverity)
		}
		where = append(where, severityRank+" >= ?")
		args = append(args, rank)
	}
	if f.Section != "" {
		where = append(where, "f.section = ?")
		args = append(args, string(f.Section))
	}
	if f.RuleID != "" {
		where = append(where, "f.rule_id = ?")
		args = append(args, f.RuleID)
	}
	if f.Label != "" {
		// Case-insensitive equality: the pattern has no wildcards.
		where = append(where, "f.object_label "+s.d.likeFold()+` ? ESCAPE '\'`)
		args = append(args, likeEscape(f.Label))
	}
	if f.ScanID != 0 {
		where = append(where, "("+lastScan+") = ?")
		args = append(args, f.ScanID)
	}
	if f.Search != "" {
		like := " " + s.d.likeFold() + ` ? ESCAPE '\'`
		where = append(where, "(f.object_name"+like+" OR f.object_key"+like+" OR f.rule_id"+like+")")
		pat := "%" + likeEscape(f.Search) + "%"
		args = append(args, pat, pat, pat)
	}
	return where, args, nil
}

// Finding implements Findings.
func (s *sqlStore) Finding(ctx context.Context, tenantName, fingerprint string) (Finding, error) {
	return s.finding(ctx, s.db, tenantName, fingerprint)
}

func (s *sqlStore) finding(ctx context.Context, q sqlx.QueryerContext, tenantName, fp string) (Finding, error) {
	r, err := s.findingRow(ctx, q, tenantName, fp)
	if err != nil {
		return Finding{}, err
	}
	return r.finding(), nil
}

// findingRow reads one finding by fingerprint or unique prefix.
func (s *sqlStore) findingRow(ctx context.Context, q sqlx.QueryerContext, tenantName, fp string) (findingRow, error) {
	if fp == "" {
		return findingRow{}, fmt.Errorf("finding: %w: empty fingerprint", ErrInvalid)
	}
	var rows []findingRow
	err := sqlx.SelectContext(ctx, q, &rows, s.q(findingSelect+` WHERE t.name = ? AND f.fingerprint LIKE ? ORDER BY f.fingerprint LIMIT 2`),
		tenantName, likePrefix(fp))
	if err != nil {
		return findingRow{}, fmt.Errorf("read finding %s: %w", fp, err)
	}
	switch {
	case len(rows) == 0:
		return findingRow{}, fmt.Errorf("finding %s of tenant %q: %w", fp, tenantName, ErrNotFound)
	case len(rows) > 1 && rows[0].Fingerprint != fp:
		return findingRow{}, fmt.Errorf("finding %s of tenant %q: %w", fp, tenantName, ErrAmbiguous)
	}
	return rows[0], nil
}

// FindingEvents implements Findings. The events come from the scan
// columns Transitions reads, so they agree with what was notified.
func (s *sqlStore) FindingEvents(ctx context.Context, tenantName, fingerprint string) ([]FindingEvent, error) {
	r, err := s.findingRow(ctx, s.db, tenantName, fingerprint)
	if err != nil {
		return nil, err
	}
	f := r.finding()
	out := []FindingEvent{{ScanID: r.FirstScanID, At: f.FirstSeen, Kind: TransitionNew, Severity: f.Severity}}
	if f.PrevSeverity != "" {
		out[0].Severity = "" // not known: only the latest change is stored
	}
	if id := r.ReopenedScanID.Int64; r.ReopenedScanID.Valid && r.ReopenedAt.Valid {
		out = append(out, FindingEvent{ScanID: id, At: r.ReopenedAt.T, Kind: TransitionReopened, Count: f.ReopenCount})
	}
	if id := r.ResolvedScanID.Int64; r.ResolvedScanID.Valid && r.ResolvedAt.Valid {
		out = append(out, FindingEvent{ScanID: id, At: r.ResolvedAt.T, Kind: TransitionResolved})
	}
	if id := r.SeverityScanID.Int64; r.SeverityScanID.Valid && f.PrevSeverity != "" && f.PrevSeverity != f.Severity {
		kind := TransitionDeescalated
		if f.Severity.AtLeast(f.PrevSeverity) {
			kind = TransitionEscalated
		}
		out = append(out, FindingEvent{ScanID: id, Kind: kind, Severity: f.Severity, PrevSeverity: f.PrevSeverity})
	}
	// The scans' own times: a severity change has no other, and the scan
	// row says when the scan that saw it ran. Pruned scans leave At as is.
	ids := make([]any, len(out))
	for i := range out {
		ids[i] = out[i].ScanID
	}
	var scans []struct {
		ID        int64  `db:"id"`
		StartedAt dbTime `db:"started_at"`
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	if err := s.db.SelectContext(ctx, &scans, s.q(`SELECT id, started_at FROM scans WHERE id IN (`+ph+`)`), ids...); err != nil {
		return nil, fmt.Errorf("scans of finding %s: %w", fingerprint, err)
	}
	started := make(map[int64]time.Time, len(scans))
	for _, sc := range scans {
		started[sc.ID] = sc.StartedAt.T
	}
	for i := range out {
		e := &out[i]
		e.ScanStarted = started[e.ScanID]
		if e.At.IsZero() {
			e.At = e.ScanStarted
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ScanID != out[j].ScanID {
			return out[i].ScanID < out[j].ScanID
		}
		return out[i].Kind == TransitionNew // opened before anything else in its scan
	})
	return out, nil
}

// likePrefix escapes LIKE wildcards (fingerprints are hex, but input is
// user-typed) and appends %.
func likePrefix(p string) string {
	r := strings.NewReplacer("%", "", "_", "")
	return r.Replace(p) + "%"
}

// likeEscape escapes LIKE's wildcards and its escape character, for
// patterns with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// AckFinding implements Findings.
func (s *sqlStore) AckFinding(ctx context.Context, tenantName, fp string, m Mark) (Finding, error) {
	return s.annotate(ctx, tenantName, fp, nil, `acknowledged_at = ?, acknowledged_by = ?, ack_reason = ?`, s.t(s.now()), m.By, m.Reason)
}

// SnoozeFinding implements Findings.
func (s *sqlStore) SnoozeFinding(ctx context.Context, tenantName, fp string, until time.Time, m Mark) (Finding, error) {
	if until.IsZero() {
		return s.annotate(ctx, tenantName, fp, nil, `snoozed_until = NULL, snoozed_by = ?, snooze_reason = ?`, m.By, m.Reason)
	}
	return s.annotate(ctx, tenantName, fp, nil, `snoozed_until = ?, snoozed_by = ?, snooze_reason = ?`, s.t(until), m.By, m.Reason)
}

// AcceptRisk implements Findings.
func (s *sqlStore) AcceptRisk(ctx context.Context, tenantName, fp string, a Acceptance) (Finding, error) {
	now := s.now()
	switch {
	case strings.TrimSpace(a.Reason) == "":
		return Finding{}, fmt.Errorf("accept risk: %w: a reason is required", ErrInvalid)
	case strings.TrimSpace(a.Owner) == "":
		return Finding{}, fmt.Errorf("accept risk: %w: an owner is required", ErrInvalid)
	case !a.Until.After(now):
		return Finding{}, fmt.Errorf("accept risk: %w: expiry %s is not in the future", ErrInvalid, a.Until.UTC().Format(time.RFC3339))
	}
	active := func(f *Finding) error {
		if !f.Active() {
			return fmt.Errorf("accept risk on finding %s: %w: it is resolved, so there is no value to accept", f.Fingerprint, ErrConflict)
		}
		return nil
	}
	// The accepted value is the finding's own, read in the same statement
	// that stores it, so a scan in between cannot slip another value in.
	return s.annotate(ctx, tenantName, fp, active, `accepted_value = actual, accepted_reason = ?, accepted_owner = ?, accepted_by = ?,
		accepted_at = ?, accepted_until = ?, acknowledged_at = ?, acknowledged_by = ?, ack_reason = ?`,
		a.Reason, a.Owner, a.By, s.t(now), s.t(a.Until), s.t(now), a.By, "risk accepted: "+a.Reason)
}

// AcceptedRisks implements Findings.
func (s *sqlStore) AcceptedRisks(ctx context.Context, tenantName string, at time.Time) ([]Finding, error) {
	var rows []findingRow
	if err := s.db.SelectContext(ctx, &rows, s.q(findingSelect+` WHERE t.name = ? AND f.accepted_until > ? ORDER BY f.fingerprint`),
		tenantName, s.t(at)); err != nil {
		return nil, fmt.Errorf("accepted risks of %s: %w", tenantName, err)
	}
	out := make([]Finding, len(rows))
	for i := range rows {
		out[i] = rows[i].finding()
	}
	return out, nil
}

// annotate updates one finding; check, when set, may refuse it first.
func (s *sqlStore) annotate(ctx context.Context, tenantName, fp string, check func(*Finding) error, set string, args ...any) (Finding, error) {
	var out Finding
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		f, err := s.finding(ctx, tx, tenantName, fp)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(&f); err != nil {
				return err
			}
		}
		args = append(args, tenantName, f.Fingerprint)
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE findings SET `+set+`
			WHERE tenant_id = (SELECT id FROM tenants WHERE name = ?) AND fingerprint = ?`), args...); err != nil {
			return fmt.Errorf("update finding %s: %w", f.Fingerprint, err)
		}
		out, err = s.finding(ctx, tx, tenantName, f.Fingerprint)
		return err
	})
	return out, err
}

// Transitions implements Findings.
func (s *sqlStore) Transitions(ctx context.Context, scanID int64) ([]Transition, error) {
	var out []Transition
	err := s.EachTransition(ctx, scanID, func(tr *Transition) error {
		out = append(out, *tr)
		return nil
	})
	return out, err
}

// EachTransition streams a scan's transitions to fn, one row at a time, so
// that a scan that opened hundreds of thousands of findings is never held
// whole.
func (s *sqlStore) EachTransition(ctx context.Context, scanID int64, fn func(*Transition) error) error {
	// The findings come from the scan-id indexes (migration 0011), one
	// index range per kind of event, so that a scan that touched a few
	// findings reads those, not every finding of the tenant. Both
	// databases use the indexes in this form (not in an OR of the four),
	// and SQLite only while nothing else constrains f: scan ids are
	// unique, so these are the findings of the scan's tenant, and CROSS
	// JOIN keeps SQLite from reading the tenant's findings first.
	rows, err := s.db.QueryxContext(ctx, s.q(findingColumns+` FROM (
			SELECT tenant_id, fingerprint FROM findings WHERE first_scan_id = ?
			UNION SELECT tenant_id, fingerprint FROM findings WHERE reopened_scan_id = ?
			UNION SELECT tenant_id, fingerprint FROM findings WHERE resolved_scan_id = ?
			UNION SELECT tenant_id, fingerprint FROM findings WHERE severity_scan_id = ?) k
		CROSS JOIN findings f `+findingJoins+`
		WHERE f.tenant_id = k.tenant_id AND f.fingerprint = k.fingerprint
		ORDER BY `+severityRank+` DESC, f.rule_id, f.object_key, f.fingerprint`), scanID, scanID, scanID, scanID)
	if err != nil {
		return fmt.Errorf("transitions of scan %d: %w", scanID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r findingRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("transitions of scan %d: %w", scanID, err)
		}
		f := r.finding()
		var kind TransitionKind
		switch {
		case r.FirstScanID == scanID:
			kind = TransitionNew
		case r.ReopenedScanID.Int64 == scanID && r.State != string(FindingResolved):
			kind = TransitionReopened
		case r.ResolvedScanID.Int64 == scanID && r.State == string(FindingResolved):
			kind = TransitionResolved
		case r.SeverityScanID.Int64 == scanID && f.Severity.AtLeast(f.PrevSeverity) && f.Severity != f.PrevSeverity:
			kind = TransitionEscalated
		default:
			continue // a later scan moved it on, or severity went down
		}
		if err := fn(&Transition{Kind: kind, Finding: f}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("transitions of scan %d: %w", scanID, err)
	}
	return nil
}

// FindingCounts implements Findings.
func (s *sqlStore) FindingCounts(ctx context.Context, tenantName string) ([]FindingCount, error) {
	query := `SELECT t.name AS tenant, f.state, f.severity, count(*) AS count FROM findings f JOIN tenants t ON t.id = f.tenant_id`
	var args []any
	if tenantName != "" {
		query += ` WHERE t.name = ?`
		args = append(args, tenantName)
	}
	query += ` GROUP BY t.name, f.state, f.severity ORDER BY t.name, f.state, f.severity`
	var rows []struct {
		Tenant   string `db:"tenant"`
		State    string `db:"state"`
		Severity string `db:"severity"`
		Count    int64  `db:"count"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	out := make([]FindingCount, len(rows))
	for i, r := range rows {
		out[i] = FindingCount{Tenant: r.Tenant, State: FindingState(r.State), Severity: tenant.Severity(r.Severity), Count: r.Count}
	}
	return out, nil
}

// errNoRows reports sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
