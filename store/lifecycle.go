package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

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

// sliceResults is a ResultSet over results held in memory.
type sliceResults struct {
	rs  []tenant.Result
	fps []string
	idx []int32
}

// sortResults orders results by fingerprint, keeping the order of equal
// ones.
func sortResults(results []tenant.Result) *sliceResults {
	sr := &sliceResults{rs: results, fps: make([]string, len(results)), idx: make([]int32, len(results))}
	// A fingerprint's first 8 bytes decide almost every comparison.
	head := make([]uint64, len(results))
	for i := range results {
		sr.fps[i], sr.idx[i] = results[i].Fingerprint(), int32(i) //nolint:gosec // far fewer results than 2^31
		if len(sr.fps[i]) >= 16 {
			head[i], _ = strconv.ParseUint(sr.fps[i][:16], 16, 64)
		}
	}
	// The index breaks ties: stable, without a stable sort's extra passes.
	slices.SortFunc(sr.idx, func(a, b int32) int {
		return cmp.Or(cmp.Compare(head[a], head[b]), strings.Compare(sr.fps[a], sr.fps[b]), cmp.Compare(a, b))
	})
	return sr
}

func (sr *sliceResults) Each(fn func(string, *tenant.Result) error) error {
	for _, i := range sr.idx {
		if err := fn(sr.fps[i], &sr.rs[i]); err != nil {
			return err
		}
	}
	return nil
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
	// The label comes last and only when set, so that findings without one
	// keep the digests written before labels were stored and are not all
	// rewritten by the first scan after the upgrade.
	fields := [...]string{string(r.Severity), r.ObjectName, r.ObjectURL, r.Actual, r.Message, r.ObjectLabel}
	n := len(fields)
	if r.ObjectLabel == "" {
		n--
	}
	for _, s := range fields[:n] {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h *= prime // a zero byte between fields: ("ab", "") differs from ("a", "b")
	}
	return int64(h) //nolint:gosec // a hash, stored bit for bit
}

var findingCols = []string{"tenant_id", "fingerprint", "rule_id", "section", "object_key", "object_name", "object_url", "object_label",
	"severity", "expected", "actual", "message", "state", "first_seen", "last_seen", "first_scan_id", "last_scan_id",
	"tracking", "digest"}

// findingMeta is what a scan needs to know of a stored finding: 32 bytes,
// so that a tenant with a million findings costs 32 MB while it records.
type findingMeta struct {
	fp      [16]byte
	digest  int64
	section uint8 // index into the scan's section names
	flags   uint8
}

// A findingMeta that outgrows 32 bytes fails to compile here.
const _ = uint(32 - unsafe.Sizeof(findingMeta{}))

const (
	fResolved uint8 = 1 << iota
	fTracking
	fUnknown // an unknown result in this scan, its own or its rule's (rule-wide)
	fSeen    // a failing result in this scan
	fRefresh // rewrite with the first failing result
	fWritten // its refresh row is written
	fResolve // resolve: not failing in a complete section
	fUntrack // stop tracking: active, not seen failing, its mark moves
)

// findingMetas are a tenant's findings in fingerprint order, the order a
// ResultSet comes in, so a scan matches them by merging.
type findingMetas struct {
	m        []findingMeta
	sections []string
	j        int // merge position
}

// parseFP decodes a fingerprint (tenant.Result.Fingerprint: 32 hex digits).
func parseFP(s string) ([16]byte, error) {
	var fp [16]byte
	if len(s) != 2*len(fp) {
		return fp, fmt.Errorf("fingerprint %q is not %d hex digits", s, 2*len(fp))
	}
	if _, err := hex.Decode(fp[:], []byte(s)); err != nil {
		return fp, fmt.Errorf("fingerprint %q: %w", s, err)
	}
	return fp, nil
}

// seek finds fp, which must not be smaller than the last one sought.
func (fm *findingMetas) seek(fp [16]byte) (*findingMeta, bool) {
	for fm.j < len(fm.m) && bytes.Compare(fm.m[fm.j].fp[:], fp[:]) < 0 {
		fm.j++
	}
	if fm.j < len(fm.m) && fm.m[fm.j].fp == fp {
		return &fm.m[fm.j], true
	}
	return nil, false
}

// findingScope is what a scan's findings lifecycle may touch.
type findingScope struct {
	// complete are the sections collected completely, marked those whose
	// finding marks move, held the rules with a rule-wide unknown result.
	complete, marked, held []string
	// scopes are the key prefixes of scoped sections (nil: none); with
	// scopes, collected are the sections the scan read.
	scopes    map[string][]string
	collected []string
}

// outside reports whether a result is of a scoped section but not of an
// object within its scope (a section-level result such as an aggregate
// count): the scan judged only part of the section, so such a result
// changes no finding.
func (fs *findingScope) outside(r *tenant.Result) bool {
	scope, ok := fs.scopes[string(r.Section)]
	return ok && !inScope(scope, r.ObjectKey)
}

// loadFindingMeta reads the state of every finding of a tenant, or, when
// the scan read scoped sections, of the findings it may touch: those of
// the other sections it read, and of a scoped section those within its
// key ranges (index ranges of findings_scope), so that the cost follows
// what was read, not the tenant. Findings of the held rules (those with a
// rule-wide unknown result) are flagged fUnknown: the database tells
// which, so a scan without such a rule, the usual case, reads nothing more
// per finding.
func (s *sqlStore) loadFindingMeta(ctx context.Context, tx *sqlx.Tx, tid int64, fs *findingScope) (*findingMetas, error) {
	cols := `fingerprint, state, tracking, section, digest`
	var colArgs []any
	if len(fs.held) > 0 {
		cols += `, rule_id IN (?` + strings.Repeat(", ?", len(fs.held)-1) + `)`
		for _, r := range fs.held {
			colArgs = append(colArgs, r)
		}
	}
	out := &findingMetas{}
	if fs.scopes == nil {
		// Sized first: a tenant's findings are the largest thing a scan
		// holds while it records, and growing the slice by appending held
		// the old array beside the new one at each step (a million
		// findings: about 26 MB more at the last).
		var n int
		if err := tx.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM findings WHERE tenant_id = ?`), tid); err != nil {
			return nil, fmt.Errorf("count findings: %w", err)
		}
		out.m = make([]findingMeta, 0, n)
		if err := s.readFindingMeta(ctx, tx, out, `SELECT `+cols+` FROM findings WHERE tenant_id = ?`, append(colArgs, tid), len(fs.held) > 0); err != nil {
			return nil, err
		}
	} else {
		for _, sec := range fs.collected {
			scope, scoped := fs.scopes[sec]
			if !scoped {
				q := `SELECT ` + cols + ` FROM findings WHERE tenant_id = ? AND section = ?`
				if err := s.readFindingMeta(ctx, tx, out, q, append(slices.Clone(colArgs), tid, sec), len(fs.held) > 0); err != nil {
					return nil, err
				}
				continue
			}
			for _, p := range scope {
				lo, hi, ok := keyRange(p)
				if !ok {
					return nil, fmt.Errorf("read findings: %w: key prefix %q", ErrInvalid, p)
				}
				q := `SELECT ` + cols + ` FROM findings WHERE tenant_id = ? AND section = ? AND object_key >= ? AND object_key < ?`
				if err := s.readFindingMeta(ctx, tx, out, q, append(slices.Clone(colArgs), tid, sec, lo, hi), len(fs.held) > 0); err != nil {
					return nil, err
				}
			}
		}
	}
	// Sorted here rather than by the query: text order in PostgreSQL
	// follows the database's collation.
	slices.SortFunc(out.m, func(a, b findingMeta) int { return bytes.Compare(a.fp[:], b.fp[:]) })
	return out, nil
}

// readFindingMeta appends the findings a query selects to out.
func (s *sqlStore) readFindingMeta(ctx context.Context, tx *sqlx.Tx, out *findingMetas, query string, args []any, withHeld bool) error {
	rows, err := tx.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("read findings: %w", err)
	}
	defer rows.Close()
	var (
		fp, state, sec []byte
		tracking, held bool
		m              findingMeta
	)
	dest := []any{&fp, &state, &tracking, &sec, &m.digest}
	if withHeld {
		dest = append(dest, &held)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read findings: %w", err)
		}
		if m.fp, err = parseFP(string(fp)); err != nil {
			return fmt.Errorf("read findings: %w", err)
		}
		i := slices.Index(out.sections, string(sec))
		if i < 0 {
			if len(out.sections) == 255 {
				return fmt.Errorf("read findings: more than 255 sections")
			}
			i = len(out.sections)
			out.sections = append(out.sections, string(sec))
		}
		m.section, m.flags = uint8(i), 0 //nolint:gosec // bounded above
		if string(state) == string(FindingResolved) {
			m.flags |= fResolved
		}
		if tracking {
			m.flags |= fTracking
		}
		if held {
			m.flags |= fUnknown
		}
		out.m = append(out.m, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read findings: %w", err)
	}
	return nil
}

// workCols are the columns of finding_work, a temporary table listing the
// findings a scan rewrites (op refresh, with the new content), resolves or
// stops tracking. It lets each of those be one set-based statement however
// many findings it touches.
var workCols = []string{"fingerprint", "op", "section", "object_name", "object_url", "object_label", "severity", "actual", "message", "digest"}

const (
	opRefresh = "refresh"
	opResolve = "resolve"
	opUntrack = "untrack"
	// opSeen is a refresh of a finding of a scoped section: its mark does
	// not move, so the finding keeps its own last_seen (not tracking).
	opSeen = "seen"
)

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
//   - a finding with an unknown result, or of a rule with a rule-wide
//     unknown result (tenant.Result.Blocks), is held: neither resolved,
//     reopened nor rewritten, even if a failing result has its fingerprint
//     too, because the scan could not judge it;
//   - a tracking finding that is not failing but stays active (held, or
//     not seen in an incomplete section) stops tracking where the mark
//     was, if its section's mark moves.
//
// Findings of incomplete sections are never resolved. A new fingerprint
// failing opens its finding even if its rule is held (a failure seen is
// real, and nothing exists to protect). A fingerprint failing twice in one
// scan keeps its first result. fs.marked are the sections with failing
// results (but scoped ones), fs.held the rules with a rule-wide unknown
// result.
//
// A scoped section (fs.scopes) touches only its findings within the scope:
// those are loaded, opened, refreshed and resolved as above, but without
// tracking, as the section's mark does not move; its results outside the
// scope (section-level ones) change nothing, and every other finding of
// the section stays as it is.
func (s *sqlStore) updateFindings(ctx context.Context, tx *sqlx.Tx, tid int64, fs findingScope, results ResultSet, sc *Scan) error {
	complete, marked := fs.complete, fs.marked
	at := s.t(sc.CollectedAt)
	begin := time.Now()
	stepDone := func(step string) {
		s.log.Debug("findings step done", "step", step, "elapsed", time.Since(begin).String())
	}
	cur, err := s.loadFindingMeta(ctx, tx, tid, &fs)
	if err != nil {
		return err
	}
	stepDone("read")

	// One pass over the results: new fingerprints are inserted as they
	// come (in fingerprint order, cheap appends to the primary key), known
	// ones are flagged.
	w, err := s.d.bulk(ctx, tx, "findings", findingCols)
	if err != nil {
		return err
	}
	lastNew := ""
	err = results.Each(func(fpHex string, r *tenant.Result) error {
		failing := failingResult(r)
		if !failing && r.Outcome != tenant.Unknown || fs.outside(r) {
			return nil
		}
		fp, err := parseFP(fpHex)
		if err != nil {
			return err
		}
		m, ok := cur.seek(fp)
		switch {
		case !failing:
			if ok {
				m.flags |= fUnknown
			}
		case !ok:
			if fpHex == lastNew {
				return nil
			}
			lastNew = fpHex
			_, scoped := fs.scopes[string(r.Section)]
			return w.Write(tid, fpHex, r.RuleID, string(r.Section), r.ObjectKey, r.ObjectName, r.ObjectURL, r.ObjectLabel, string(r.Severity),
				r.Expected, r.Actual, r.Message, string(FindingOpen), at, at, sc.ID, sc.ID, !scoped, digest(r))
		case m.flags&fSeen == 0:
			m.flags |= fSeen
			if _, scoped := fs.scopes[cur.sections[m.section]]; scoped || m.flags&(fResolved|fTracking) != fTracking ||
				cur.sections[m.section] != string(r.Section) || m.digest != digest(r) {
				m.flags |= fRefresh
			}
		}
		return nil
	})
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	sc.FindingsNew = w.Rows()
	sc.FindingsOpen += sc.FindingsNew
	stepDone("insert")

	ops := map[string]int{}
	for i := range cur.m {
		m := &cur.m[i]
		sec := cur.sections[m.section]
		if m.flags&fUnknown != 0 {
			// Unknown wins over a failing result of the same finding: it is
			// kept as it was, and keeps its last_seen (untracked below).
			m.flags &^= fSeen | fRefresh
		}
		switch {
		case m.flags&fSeen != 0:
			sc.FindingsOpen++
			if m.flags&fResolved != 0 {
				sc.FindingsReopened++
			}
			if m.flags&fRefresh != 0 {
				ops[opRefresh]++
			}
		case m.flags&fResolved != 0:
		case slices.Contains(complete, sec) && m.flags&fUnknown == 0:
			m.flags |= fResolve
			ops[opResolve]++
			sc.FindingsResolved++
		default:
			sc.FindingsOpen++
			if m.flags&fTracking != 0 && slices.Contains(marked, sec) {
				m.flags |= fUntrack
				ops[opUntrack]++
			}
		}
	}
	stepDone("classify")

	if err := s.applyFindingWork(ctx, tx, tid, at, cur, ops, results, fs.scopes, sc); err != nil {
		return err
	}
	stepDone("update")
	for _, sec := range marked {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO finding_marks (tenant_id, section, scan_id, seen_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, section) DO UPDATE SET scan_id = excluded.scan_id, seen_at = excluded.seen_at`), tid, sec, sc.ID, at)
		if err != nil {
			return fmt.Errorf("move finding mark of %s: %w", sec, err)
		}
	}
	return nil
}

// applyFindingWork loads the work into finding_work and applies it:
// resolve and untrack first (they read the marks before they move), then
// refresh, whose content is read again from the results. Nothing runs
// when there is nothing to change.
func (s *sqlStore) applyFindingWork(ctx context.Context, tx *sqlx.Tx, tid int64, at any, cur *findingMetas,
	ops map[string]int, results ResultSet, scopes map[string][]string, sc *Scan) error {
	n := ops[opRefresh] + ops[opResolve] + ops[opUntrack]
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE finding_work (fingerprint TEXT NOT NULL, op TEXT NOT NULL,
		section TEXT NOT NULL, object_name TEXT NOT NULL, object_url TEXT NOT NULL, object_label TEXT NOT NULL, severity TEXT NOT NULL, actual TEXT NOT NULL, message TEXT NOT NULL,
		digest BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create finding work table: %w", err)
	}
	w, err := s.d.bulk(ctx, tx, "finding_work", workCols)
	if err != nil {
		return err
	}
	err = func() error {
		// Resolve and untrack need no result.
		for i := range cur.m {
			m := &cur.m[i]
			op := opResolve
			switch {
			case m.flags&fResolve != 0:
			case m.flags&fUntrack != 0:
				op = opUntrack
			default:
				continue
			}
			if err := w.Write(hex.EncodeToString(m.fp[:]), op, "", "", "", "", "", "", "", int64(0)); err != nil {
				return err
			}
		}
		if ops[opRefresh] == 0 {
			return nil
		}
		cur.j = 0
		return results.Each(func(fpHex string, r *tenant.Result) error {
			if !failingResult(r) {
				return nil
			}
			fp, err := parseFP(fpHex)
			if err != nil {
				return err
			}
			m, ok := cur.seek(fp)
			if !ok || m.flags&(fRefresh|fWritten) != fRefresh {
				return nil
			}
			m.flags |= fWritten
			op := opRefresh
			if _, scoped := scopes[cur.sections[m.section]]; scoped {
				op = opSeen
			}
			return w.Write(fpHex, op, string(r.Section), r.ObjectName, r.ObjectURL, r.ObjectLabel, string(r.Severity), r.Actual, r.Message, digest(r))
		})
	}()
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if w.Rows() != int64(n) {
		return fmt.Errorf("finding work: wrote %d rows for %d findings (the results changed while recording)", w.Rows(), n)
	}
	if n >= analyzeThreshold {
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
			last_seen = ?, last_scan_id = ?, tracking = (w.op = 'refresh'), digest = w.digest,
			prev_severity = CASE WHEN findings.severity <> w.severity THEN findings.severity ELSE findings.prev_severity END,
			severity_scan_id = CASE WHEN findings.severity <> w.severity THEN ? ELSE findings.severity_scan_id END,
			severity = w.severity, actual = w.actual, message = w.message, object_name = w.object_name, object_url = w.object_url, object_label = w.object_label, section = w.section,
			state = CASE WHEN findings.state = 'resolved' THEN 'reopened' ELSE findings.state END,
			reopened_at = CASE WHEN findings.state = 'resolved' THEN ? ELSE findings.reopened_at END,
			reopened_scan_id = CASE WHEN findings.state = 'resolved' THEN ? ELSE findings.reopened_scan_id END,
			reopen_count = findings.reopen_count + CASE WHEN findings.state = 'resolved' THEN 1 ELSE 0 END,
			acknowledged_at = CASE WHEN findings.state = 'resolved' THEN NULL ELSE findings.acknowledged_at END,
			acknowledged_by = CASE WHEN findings.state = 'resolved' THEN '' ELSE findings.acknowledged_by END,
			ack_reason = CASE WHEN findings.state = 'resolved' THEN '' ELSE findings.ack_reason END,
			resolved_at = NULL, resolved_scan_id = NULL
		FROM finding_work w
		WHERE w.op IN ('refresh', 'seen') AND findings.tenant_id = ? AND findings.fingerprint = w.fingerprint`, []any{at, sc.ID, sc.ID, at, sc.ID, tid}},
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
