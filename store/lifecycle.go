package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sharedrift/sharedrift/tenant"
)

// The findings lifecycle writes only what changes. A scan that sees a
// million findings failing again, unchanged, must not rewrite a million
// rows just to move last_seen:
//
//   - A tracking finding was seen failing in every scan up to the mark of
//     its section (finding_marks); readers take last_seen and last_scan_id
//     from the mark. A scan moves the mark of each section with failing
//     results once.
//   - digest hashes the content a scan refreshes, so the scan can tell a
//     changed finding from one compact read of the tenant's findings
//     instead of joining its results with every finding row.
//
// Before a mark moves, tracking findings that were not seen failing stop
// tracking and keep the mark's time as their own; resolving does the same.

// failingResult reports whether r opens or keeps a finding.
func failingResult(r *tenant.Result) bool { return r.Outcome == tenant.Fail && r.Exception == "" }

// fingerprints returns the fingerprint of every result that is stored
// (everything but plain passes); "" for the others.
func fingerprints(results []tenant.Result) []string {
	fps := make([]string, len(results))
	for i := range results {
		r := &results[i]
		if r.Outcome != tenant.Pass || r.Exception != "" {
			fps[i] = r.Fingerprint()
		}
	}
	return fps
}

// digest hashes what a refresh would write: FNV-1a 64, stable across
// processes, computed without allocating (it runs once per failing result).
// The stored default 0 means "unknown", which is harmless: such findings
// are also untracked and rewritten anyway.
func digest(r *tenant.Result) int64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, s := range [...]string{string(r.Severity), r.ObjectName, r.Actual, r.Message} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h *= prime // a zero byte between fields: ("ab", "") differs from ("a", "b")
	}
	return int64(h) //nolint:gosec // a hash, stored bit for bit
}

var findingCols = []string{"tenant_id", "fingerprint", "rule_id", "section", "object_key", "object_name",
	"severity", "expected", "actual", "message", "state", "first_seen", "last_seen", "first_scan_id", "last_scan_id",
	"tracking", "digest"}

// findingMeta is what a scan needs to know of a stored finding.
type findingMeta struct {
	digest   int64
	section  string // shared: one string per section, not per finding
	res      int32  // 1 + index of its failing result in this scan, 0 if none
	resolved bool
	tracking bool
	unknown  bool // an unknown result in this scan
}

// loadFindingMeta reads the state of every finding of a tenant.
func (s *sqlStore) loadFindingMeta(ctx context.Context, tx *sqlx.Tx, tid int64) (map[string]findingMeta, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT fingerprint, state, tracking, section, digest FROM findings WHERE tenant_id = ?`), tid)
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	defer rows.Close()
	out := map[string]findingMeta{}
	sections := map[string]string{} // one string per section, not per finding
	var (
		fp    string
		state []byte
		sec   []byte
		m     findingMeta
	)
	for rows.Next() {
		if err := rows.Scan(&fp, &state, &m.tracking, &sec, &m.digest); err != nil {
			return nil, fmt.Errorf("read findings: %w", err)
		}
		name, ok := sections[string(sec)]
		if !ok {
			name = string(sec)
			sections[name] = name
		}
		m.section = name
		m.resolved = string(state) == string(FindingResolved)
		out[fp] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	return out, nil
}

// workCols are the columns of finding_work, a temporary table listing the
// findings a scan rewrites (op refresh, with the new content), resolves or
// stops tracking. It lets each of those be one set-based statement however
// many findings it touches.
var workCols = []string{"fingerprint", "op", "section", "object_name", "severity", "actual", "message", "digest"}

const (
	opRefresh = "refresh"
	opResolve = "resolve"
	opUntrack = "untrack"
)

type workItem struct {
	fp  string
	op  string
	res int // index into results for opRefresh
}

// Marks give still-open findings their last_seen without rewriting them;
// markSeen and markScan read the mark of the finding being updated, and
// untrack freezes it into the row before the mark moves on.
const (
	markSeen = `(SELECT m.seen_at FROM finding_marks m WHERE m.tenant_id = findings.tenant_id AND m.section = findings.section)`
	markScan = `(SELECT m.scan_id FROM finding_marks m WHERE m.tenant_id = findings.tenant_id AND m.section = findings.section)`
	untrack  = `last_seen = CASE WHEN tracking THEN COALESCE(` + markSeen + `, last_seen) ELSE last_seen END,
		last_scan_id = CASE WHEN tracking THEN COALESCE(` + markScan + `, last_scan_id) ELSE last_scan_id END,
		tracking = FALSE`
)

// updateFindings applies the lifecycle:
//
//   - a failing result whose fingerprint is new opens a finding (bulk
//     loaded in fingerprint order, tracking);
//   - a failing finding is rewritten only when it was resolved (reopen),
//     is not tracking, or its severity, name, actual value, message or
//     section changed; otherwise the moved mark moves its last_seen;
//   - an active finding of a complete section that is neither failing nor
//     unknown is resolved;
//   - a tracking finding that is not failing but stays active (unknown, or
//     not seen in an incomplete section) stops tracking where the mark
//     was, if its section's mark moves.
//
// Findings of incomplete sections are never resolved.
func (s *sqlStore) updateFindings(ctx context.Context, tx *sqlx.Tx, tid int64, complete []string, results []tenant.Result, fps []string, sc *Scan) error {
	at := s.t(sc.CollectedAt)
	begin := time.Now()
	stepDone := func(step string) {
		s.log.Debug("findings step done", "step", step, "elapsed", time.Since(begin).String())
	}
	cur, err := s.loadFindingMeta(ctx, tx, tid)
	if err != nil {
		return err
	}
	stepDone("read")

	var marked []string // sections with failing results: their marks move
	var fresh []int32   // indexes of failing results with no stored finding
	for i := range results {
		r := &results[i]
		switch {
		case failingResult(r):
			if !slices.Contains(marked, string(r.Section)) {
				marked = append(marked, string(r.Section))
			}
			m, ok := cur[fps[i]]
			switch {
			case !ok:
				fresh = append(fresh, int32(i)) //nolint:gosec // far fewer results than 2^31
			case m.res == 0:
				m.res = int32(i + 1) //nolint:gosec // as above
				cur[fps[i]] = m
			}
			// A fingerprint failing twice in one scan keeps its first
			// result; new duplicates are dropped when loading.
		case r.Outcome == tenant.Unknown:
			if m, ok := cur[fps[i]]; ok {
				m.unknown = true
				cur[fps[i]] = m
			}
		}
	}
	var work []workItem
	for fp, m := range cur {
		switch {
		case m.res > 0:
			r := &results[m.res-1]
			sc.FindingsOpen++
			if m.resolved {
				sc.FindingsReopened++
			}
			if m.resolved || !m.tracking || m.section != string(r.Section) || m.digest != digest(r) {
				work = append(work, workItem{fp: fp, op: opRefresh, res: int(m.res) - 1})
			}
		case m.resolved:
		case slices.Contains(complete, m.section) && !m.unknown:
			work = append(work, workItem{fp: fp, op: opResolve})
			sc.FindingsResolved++
		default:
			sc.FindingsOpen++
			if m.tracking && slices.Contains(marked, m.section) {
				work = append(work, workItem{fp: fp, op: opUntrack})
			}
		}
	}
	clear(cur)
	stepDone("classify")

	if err := s.applyFindingWork(ctx, tx, tid, at, work, results, sc); err != nil {
		return err
	}
	stepDone("update")
	sort.Strings(marked)
	for _, sec := range marked {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO finding_marks (tenant_id, section, scan_id, seen_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, section) DO UPDATE SET scan_id = excluded.scan_id, seen_at = excluded.seen_at`), tid, sec, sc.ID, at)
		if err != nil {
			return fmt.Errorf("move finding mark of %s: %w", sec, err)
		}
	}

	// Appending to the primary key index is much cheaper than inserting
	// at random places. Duplicates within the scan end up adjacent, the
	// first result first.
	sort.Slice(fresh, func(a, b int) bool {
		if fa, fb := fps[fresh[a]], fps[fresh[b]]; fa != fb {
			return fa < fb
		}
		return fresh[a] < fresh[b]
	})
	w, err := s.d.bulk(ctx, tx, "findings", findingCols)
	if err != nil {
		return err
	}
	for k, i := range fresh {
		fp := fps[i]
		if k > 0 && fps[fresh[k-1]] == fp {
			continue
		}
		r := &results[i]
		if err := w.Write(tid, fp, r.RuleID, string(r.Section), r.ObjectKey, r.ObjectName, string(r.Severity),
			r.Expected, r.Actual, r.Message, string(FindingOpen), at, at, sc.ID, sc.ID, true, digest(r)); err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	sc.FindingsNew = w.Rows()
	sc.FindingsOpen += sc.FindingsNew
	stepDone("insert")
	return nil
}

// applyFindingWork loads the work list into finding_work and applies it:
// resolve and untrack first (they read the marks before they move), then
// refresh. Nothing runs when there is nothing to change.
func (s *sqlStore) applyFindingWork(ctx context.Context, tx *sqlx.Tx, tid int64, at any, work []workItem, results []tenant.Result, sc *Scan) error {
	if len(work) == 0 {
		return nil
	}
	sort.Slice(work, func(a, b int) bool { return work[a].fp < work[b].fp })
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE finding_work (fingerprint TEXT NOT NULL, op TEXT NOT NULL,
		section TEXT NOT NULL, object_name TEXT NOT NULL, severity TEXT NOT NULL, actual TEXT NOT NULL, message TEXT NOT NULL,
		digest BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create finding work table: %w", err)
	}
	w, err := s.d.bulk(ctx, tx, "finding_work", workCols)
	if err != nil {
		return err
	}
	ops := map[string]int{}
	for _, it := range work {
		ops[it.op]++
		var err error
		if it.op == opRefresh {
			r := &results[it.res]
			err = w.Write(it.fp, it.op, string(r.Section), r.ObjectName, string(r.Severity), r.Actual, r.Message, digest(r))
		} else {
			err = w.Write(it.fp, it.op, "", "", "", "", "", int64(0))
		}
		if err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if len(work) >= analyzeThreshold {
		// Temporary tables get no automatic statistics.
		if err := s.d.analyze(ctx, tx, "finding_work"); err != nil {
			return err
		}
	}
	steps := []struct {
		op, what, query string
		args            []any
	}{
		{opResolve, "resolve findings", `UPDATE findings SET state = 'resolved', resolved_at = ?, resolved_scan_id = ?, ` + untrack + `
			WHERE tenant_id = ? AND fingerprint IN (SELECT fingerprint FROM finding_work WHERE op = 'resolve')`, []any{at, sc.ID, tid}},
		{opUntrack, "untrack findings", `UPDATE findings SET ` + untrack + `
			WHERE tenant_id = ? AND fingerprint IN (SELECT fingerprint FROM finding_work WHERE op = 'untrack')`, []any{tid}},
		{opRefresh, "refresh findings", `UPDATE findings SET
			last_seen = ?, last_scan_id = ?, tracking = TRUE, digest = w.digest,
			prev_severity = CASE WHEN findings.severity <> w.severity THEN findings.severity ELSE findings.prev_severity END,
			severity_scan_id = CASE WHEN findings.severity <> w.severity THEN ? ELSE findings.severity_scan_id END,
			severity = w.severity, actual = w.actual, message = w.message, object_name = w.object_name, section = w.section,
			state = CASE WHEN findings.state = 'resolved' THEN 'reopened' ELSE findings.state END,
			reopened_at = CASE WHEN findings.state = 'resolved' THEN ? ELSE findings.reopened_at END,
			reopened_scan_id = CASE WHEN findings.state = 'resolved' THEN ? ELSE findings.reopened_scan_id END,
			reopen_count = findings.reopen_count + CASE WHEN findings.state = 'resolved' THEN 1 ELSE 0 END,
			acknowledged_at = CASE WHEN findings.state = 'resolved' THEN NULL ELSE findings.acknowledged_at END,
			acknowledged_by = CASE WHEN findings.state = 'resolved' THEN '' ELSE findings.acknowledged_by END,
			resolved_at = NULL, resolved_scan_id = NULL
		FROM finding_work w
		WHERE w.op = 'refresh' AND findings.tenant_id = ? AND findings.fingerprint = w.fingerprint`, []any{at, sc.ID, sc.ID, at, sc.ID, tid}},
	}
	for _, st := range steps {
		if ops[st.op] == 0 {
			continue
		}
		res, err := tx.ExecContext(ctx, s.q(st.query), st.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		// The work list came from rows read in this transaction; fewer
		// rows means another transaction (a prune) removed some meanwhile.
		if n, err := res.RowsAffected(); err == nil && n != int64(ops[st.op]) {
			s.log.Warn("findings changed during the scan", "step", st.what, "rows", n, "expected", ops[st.op])
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE finding_work`); err != nil {
		return fmt.Errorf("drop finding work table: %w", err)
	}
	return nil
}
