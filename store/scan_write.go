package store

// The write path of scans: RecordScan stores a scan, its changed objects
// and their changes, its results and the findings lifecycle in one
// transaction.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/tenant"
)

// statusOf summarises section states: complete when every collected
// section is, failed when none is.
func statusOf(st map[tenant.Section]tenant.SectionStatus) ScanStatus {
	complete := 0
	for _, s := range st {
		if s.State == tenant.StateComplete {
			complete++
		}
	}
	switch {
	case len(st) > 0 && complete == len(st):
		return ScanComplete
	case complete == 0:
		return ScanFailed
	}
	return ScanPartial
}

// RecordScan implements Scans.
func (s *sqlStore) RecordScan(ctx context.Context, in ScanInput) (Scan, error) {
	snap := in.Snapshot
	if snap == nil {
		return Scan{}, fmt.Errorf("record scan: %w: nil snapshot", ErrInvalid)
	}
	if snap.Tenant == "" {
		return Scan{}, fmt.Errorf("record scan: %w: snapshot without tenant name", ErrInvalid)
	}
	now := s.now()
	sc := Scan{
		Tenant:      snap.Tenant,
		StartedAt:   in.StartedAt,
		FinishedAt:  in.FinishedAt,
		CollectedAt: snap.CollectedAt,
		Baseline:    in.Baseline,
		Sections:    snap.Status,
		Stats:       in.Stats,
		Status:      statusOf(snap.Status),
	}
	if sc.CollectedAt.IsZero() {
		sc.CollectedAt = now
	}
	if sc.StartedAt.IsZero() {
		sc.StartedAt = sc.CollectedAt
	}
	if sc.FinishedAt.IsZero() {
		sc.FinishedAt = now
	}
	sc.StartedAt, sc.FinishedAt, sc.CollectedAt = normTime(sc.StartedAt), normTime(sc.FinishedAt), normTime(sc.CollectedAt)
	if sc.Sections == nil {
		sc.Sections = map[tenant.Section]tenant.SectionStatus{}
	}
	if sc.Stats == (ScanStats{}) {
		for _, st := range snap.Status {
			sc.Stats.APICalls += int64(st.Calls)
			sc.Stats.Retries += int64(st.Retries)
			sc.Stats.Throttled += int64(st.Throttled)
			sc.Stats.RU += st.RU
		}
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.d.scanCache(ctx, tx, true); err != nil {
			return err
		}
		// The connection goes back to the pool with its usual cache,
		// also when the scan fails.
		defer s.d.scanCache(context.WithoutCancel(ctx), tx, false) //nolint:errcheck // best effort
		return s.recordScan(ctx, tx, in, &sc)
	})
	if err != nil {
		return Scan{}, fmt.Errorf("record scan of tenant %q: %w", snap.Tenant, err)
	}
	s.log.Info("scan recorded", "tenant", sc.Tenant, "scan_id", sc.ID, "status", sc.Status,
		"objects_seen", sc.ObjectsSeen, "objects_written", sc.ObjectsWritten, "changes", sc.Changes,
		"findings_new", sc.FindingsNew, "findings_resolved", sc.FindingsResolved, "findings_open", sc.FindingsOpen)
	return sc, nil
}

func (s *sqlStore) recordScan(ctx context.Context, tx *sqlx.Tx, in ScanInput, sc *Scan) error {
	begin := time.Now()
	snap := in.Snapshot
	tid, err := s.ensureTenant(ctx, tx, snap.Tenant, snap.TenantID)
	if err != nil {
		return err
	}
	if in.Fence != nil {
		if err := s.checkFence(ctx, tx, *in.Fence); err != nil {
			return err
		}
	}
	secJSON, err := json.Marshal(sc.Sections)
	if err != nil {
		return fmt.Errorf("encode section statuses: %w", err)
	}
	statsJSON, err := json.Marshal(sc.Stats)
	if err != nil {
		return fmt.Errorf("encode statistics: %w", err)
	}
	scopes, err := sectionScopes(snap)
	if err != nil {
		return err
	}
	err = tx.GetContext(ctx, &sc.ID, s.q(`INSERT INTO scans (tenant_id, started_at, finished_at, collected_at, status, baseline, sections, stats, scoped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		tid, s.t(sc.StartedAt), s.t(sc.FinishedAt), s.t(sc.CollectedAt), string(sc.Status), sc.Baseline, string(secJSON), string(statsJSON), scopes != nil)
	if err != nil {
		return fmt.Errorf("insert scan: %w", err)
	}

	var complete []string
	for _, sec := range tenant.AllSections {
		if !snap.Complete(sec) {
			continue // an incomplete section leaves the stored state alone
		}
		complete = append(complete, string(sec))
		if err := s.writeSection(ctx, tx, tid, snap, sec, scopes[string(sec)], sc); err != nil {
			return fmt.Errorf("section %s: %w", sec, err)
		}
	}
	s.log.Debug("scan step done", "step", "objects", "elapsed", time.Since(begin).String())
	if s.hookMidScan != nil {
		s.hookMidScan()
	}
	results := in.ResultSet
	if results == nil {
		results = sortResults(in.Results)
	}
	// The results are read once per bulk load (results, new findings,
	// refreshed findings): the transaction's connection carries one at a
	// time, and reading the spool again costs less than holding it.
	marked, held, err := s.writeResults(ctx, tx, results, sc)
	if err != nil {
		return err
	}
	// A scoped section's mark stays: it says when every tracking finding
	// of the section was last seen failing, and this scan saw only some.
	marked = slices.DeleteFunc(marked, func(sec string) bool { return scopes[sec] != nil })
	s.log.Debug("scan step done", "step", "results", "elapsed", time.Since(begin).String())
	if err := s.updateFindings(ctx, tx, tid, findingScope{complete: complete, marked: marked, held: held, scopes: scopes, collected: collected(snap)}, results, sc); err != nil {
		return err
	}
	s.log.Debug("scan step done", "step", "findings", "elapsed", time.Since(begin).String())
	for key, tok := range in.DeltaTokens {
		if err := s.setDeltaToken(ctx, tx, tid, key, tok); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, s.q(`UPDATE scans SET objects_seen = ?, objects_written = ?, changes = ?, results_written = ?,
		findings_new = ?, findings_reopened = ?, findings_resolved = ?, findings_open = ? WHERE id = ?`),
		sc.ObjectsSeen, sc.ObjectsWritten, sc.Changes, sc.ResultsWritten,
		sc.FindingsNew, sc.FindingsReopened, sc.FindingsResolved, sc.FindingsOpen, sc.ID)
	if err != nil {
		return fmt.Errorf("update scan counters: %w", err)
	}
	if scopes != nil {
		// Not the tenant's whole picture: the latest whole scan stays the
		// one readers of the tenant's state (status, exceptions) take.
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenants SET last_scan_id = ? WHERE id = ?`), sc.ID, tid); err != nil {
		return fmt.Errorf("update tenant: %w", err)
	}
	return nil
}

// collected lists the sections a snapshot holds a status for.
func collected(snap *tenant.Snapshot) []string {
	out := make([]string, 0, len(snap.Status))
	for sec := range snap.Status {
		out = append(out, string(sec))
	}
	sort.Strings(out)
	return out
}

func (s *sqlStore) checkFence(ctx context.Context, tx *sqlx.Tx, l Lease) error {
	var gen int64
	err := tx.GetContext(ctx, &gen, s.q(`SELECT generation FROM leases WHERE name = ? AND owner = ? AND expires_at > ?`+s.d.forUpdate()),
		l.Name, l.Owner, s.t(s.now()))
	if errors.Is(err, sql.ErrNoRows) || err == nil && gen != l.Generation {
		return fmt.Errorf("lease %q of %q: %w", l.Name, l.Owner, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("check lease %q: %w", l.Name, err)
	}
	return nil
}

var versionCols = []string{"tenant_id", "section", "object_key", "scan_id", "hash", "name", "doc", "deleted"}

// writeSection stores the versions of a complete section that differ from
// the current state and the changes against it. Memory holds one key and
// content hash per known object, never the documents or the keys. A
// scoped section (scope set) is paired with, and removes, the stored
// objects within its key ranges only, and leaves the section's last
// complete scan as it was: that stays the last whole collection.
func (s *sqlStore) writeSection(ctx context.Context, tx *sqlx.Tx, tid int64, snap *tenant.Snapshot, sec tenant.Section, scope []string, sc *Scan) error {
	var prevScan int64
	err := tx.GetContext(ctx, &prevScan, s.q(`SELECT last_complete_scan_id FROM section_state WHERE tenant_id = ? AND section = ?`), tid, string(sec))
	hasBase := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read section state: %w", err)
	}
	if scope == nil && sec == tenant.SectionLinks && snap.LinksInKeyOrder() && snap.LinkCount() > pairChunk {
		return s.writeInChunks(ctx, tx, tid, snap, sec, hasBase, prevScan, sc)
	}
	hint := 0
	if hasBase {
		hint = sizeHint(snap, sec)
	}
	prev, err := s.loadHashes(ctx, tx, tid, sec, scope, hint)
	if err != nil {
		return err
	}
	w, err := s.d.bulk(ctx, tx, "object_versions", versionCols)
	if err != nil {
		return err
	}
	var touched []string // added or modified, when there is a baseline
	err = drift.Objects(snap, sec, func(o drift.Object) error {
		if scope != nil && !inScope(scope, o.Key) {
			// The section says it holds these keys only: one outside
			// them is a collection error, never recorded as the scope.
			return fmt.Errorf("%w: object %s is outside the section's scope %v", ErrInvalid, o.Key, scope)
		}
		sc.ObjectsSeen++
		h := drift.Hash(o.Doc)
		written, err := s.writeObject(w, prev, snap.Tenant, tid, sec, sc.ID, o, h)
		if written && hasBase {
			touched = append(touched, o.Key)
		}
		return err
	})
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	sc.ObjectsWritten += w.Rows()
	prev.ForgetAdded()
	var removed []string
	if prev.Unseen() > 0 {
		if removed, err = s.unseenKeys(ctx, tx, tid, sec, scope, prev); err != nil {
			return err
		}
		if err := s.writeTombstones(ctx, tx, tid, sec, removed, sc); err != nil {
			return err
		}
	}
	prev = nil
	return s.endSection(ctx, tx, tid, sec, scope, hasBase, prevScan, append(touched, removed...), sc)
}

// writeObject pairs one object of the scan with the stored state and
// writes a version of it when it is new or changed; a duplicate key keeps
// the first.
func (s *sqlStore) writeObject(w rowWriter, prev *drift.Pairing, tenantName string, tid int64, sec tenant.Section, scanID int64,
	o drift.Object, h [drift.HashSize]byte) (bool, error) {
	switch prev.Match(o.Key, h) {
	case drift.PairDuplicate:
		s.log.Warn("duplicate object key in snapshot, keeping the first", "tenant", tenantName, "key", o.Key)
		return false, nil
	case drift.PairUnchanged:
		return false, nil
	}
	return true, w.Write(tid, string(sec), o.Key, scanID, h[:], o.Name, string(o.Doc), false)
}

// writeTombstones sorts the removed keys and writes a deleted version of
// each in scan sc.
func (s *sqlStore) writeTombstones(ctx context.Context, tx *sqlx.Tx, tid int64, sec tenant.Section, removed []string, sc *Scan) error {
	sort.Strings(removed)
	rw, err := s.d.bulk(ctx, tx, "object_versions", versionCols)
	if err != nil {
		return err
	}
	for _, k := range removed {
		if err := rw.Write(tid, string(sec), k, sc.ID, []byte{}, "", nil, true); err != nil {
			rw.Close()
			return err
		}
	}
	if err := rw.Close(); err != nil {
		return err
	}
	sc.ObjectsWritten += rw.Rows()
	return nil
}

// endSection writes the changes of the touched keys (when the section had
// a stored state) and, for a whole section, moves its last complete scan.
func (s *sqlStore) endSection(ctx context.Context, tx *sqlx.Tx, tid int64, sec tenant.Section, scope []string, hasBase bool, prevScan int64, touched []string, sc *Scan) error {
	if hasBase {
		if err := s.writeChanges(ctx, tx, tid, prevScan, sec, touched, sc); err != nil {
			return err
		}
	}
	if scope != nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO section_state (tenant_id, section, last_complete_scan_id) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, section) DO UPDATE SET last_complete_scan_id = excluded.last_complete_scan_id`), tid, string(sec), sc.ID)
	if err != nil {
		return fmt.Errorf("update section state: %w", err)
	}
	return nil
}

// pairChunk is how many stored objects a section written in chunks pairs
// at a time: 1.3 MB of hashes instead of 20 MB a million objects. A
// variable for tests only.
var pairChunk = 1 << 16

// writeInChunks is writeSection for a whole section whose objects come in
// ascending key order (spooled links): the stored objects are read in key
// order, pairChunk at a time, and each chunk is paired with the scan's
// objects up to its last key, written, and its unseen objects removed
// before the next is read. The last chunk has no upper bound. Holding a
// chunk's hashes, not the section's, is what it is for.
func (s *sqlStore) writeInChunks(ctx context.Context, tx *sqlx.Tx, tid int64, snap *tenant.Snapshot, sec tenant.Section, hasBase bool, prevScan int64, sc *Scan) error {
	var (
		prev     *drift.Pairing
		lo, hi   string // the chunk holds the stored keys in (lo, hi], or after lo when last
		last     bool
		w        rowWriter
		touched  []string
		lastKey  string
		started  bool
		pairings int
	)
	// open reads the stored objects of the chunk after hi.
	open := func() error {
		lo = hi
		prev = drift.NewPairing(pairChunk)
		n, end := 0, ""
		err := s.eachLatestIn(ctx, tx, s.d.latestAfter(false), []any{tid, string(sec), lo, pairChunk}, func(key string, hash []byte, deleted bool) {
			n, end = n+1, key
			if !deleted {
				prev.AddPrevious(key, hash)
			}
		})
		if err != nil {
			return err
		}
		if last = n < pairChunk; !last {
			hi = end
		}
		w, err = s.d.bulk(ctx, tx, "object_versions", versionCols)
		return err
	}
	// shut ends the chunk: its versions are written, and its stored
	// objects the scan did not see get a tombstone.
	shut := func() error {
		if err := w.Close(); err != nil {
			return err
		}
		sc.ObjectsWritten += w.Rows()
		prev.ForgetAdded()
		if prev.Unseen() == 0 {
			return nil
		}
		q, args := s.d.latestAfter(!last), []any{tid, string(sec), lo}
		if !last {
			args = append(args, hi)
		}
		var removed []string
		err := s.eachLatestIn(ctx, tx, q, append(args, math.MaxInt32), func(key string, _ []byte, deleted bool) {
			if !deleted && prev.Removed(key) {
				removed = append(removed, key)
			}
		})
		if err != nil {
			return err
		}
		if err := s.writeTombstones(ctx, tx, tid, sec, removed, sc); err != nil {
			return err
		}
		if hasBase {
			touched = append(touched, removed...)
		}
		return nil
	}
	if err := open(); err != nil {
		return err
	}
	err := drift.Objects(snap, sec, func(o drift.Object) error {
		sc.ObjectsSeen++
		switch {
		case started && o.Key == lastKey:
			s.log.Warn("duplicate object key in snapshot, keeping the first", "tenant", snap.Tenant, "key", o.Key)
			return nil
		case started && o.Key < lastKey:
			return fmt.Errorf("%w: object %s after %s: a section written in chunks must come in key order", ErrInvalid, o.Key, lastKey)
		}
		started, lastKey = true, o.Key
		for !last && o.Key > hi {
			if err := shut(); err != nil {
				return err
			}
			if err := open(); err != nil {
				return err
			}
		}
		h := drift.Hash(o.Doc)
		pairings++
		if pairings%pairChunk == 0 {
			// Keys ascend, so duplicates are caught above; the pairing's
			// own record of added keys needs not grow with the section.
			prev.ForgetAdded()
		}
		written, err := s.writeObject(w, prev, snap.Tenant, tid, sec, sc.ID, o, h)
		if written && hasBase {
			touched = append(touched, o.Key)
		}
		return err
	})
	if err != nil {
		w.Close()
		return err
	}
	// The chunks after the scan's last object hold only removed objects.
	for {
		if err := shut(); err != nil {
			return err
		}
		if last {
			break
		}
		if err := open(); err != nil {
			return err
		}
	}
	prev = nil
	return s.endSection(ctx, tx, tid, sec, nil, hasBase, prevScan, touched, sc)
}

// eachLatest calls fn with the key, hash and deleted flag of the newest
// version of every object of a section, or with a scope, of those whose
// keys start with one of its (disjoint) prefixes: one index range each.
func (s *sqlStore) eachLatest(ctx context.Context, tx *sqlx.Tx, tid int64, sec tenant.Section, scope []string, fn func(key string, hash []byte, deleted bool)) error {
	if scope == nil {
		return s.eachLatestIn(ctx, tx, s.d.latestVersions(false), []any{tid, string(sec)}, fn)
	}
	for _, p := range scope {
		lo, hi, ok := keyRange(p)
		if !ok {
			return fmt.Errorf("read object hashes: %w: key prefix %q", ErrInvalid, p)
		}
		if err := s.eachLatestIn(ctx, tx, s.d.latestVersions(true), []any{tid, string(sec), lo, hi}, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) eachLatestIn(ctx context.Context, tx *sqlx.Tx, query string, args []any, fn func(key string, hash []byte, deleted bool)) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read object hashes: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("read object hashes: %w", err)
	}
	var (
		key     sql.RawBytes
		hash    sql.RawBytes
		deleted bool
		extra   sql.RawBytes
	)
	dest := []any{&key, &hash, &deleted}
	if len(cols) > 3 {
		dest = append(dest, &extra)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read object hashes: %w", err)
		}
		fn(string(key), hash, deleted)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read object hashes: %w", err)
	}
	return nil
}

// sizeHint is about how many objects a section's stored state holds (the
// scan's own count), so that a large section's hashes are read into one
// allocation rather than a growing one.
func sizeHint(snap *tenant.Snapshot, sec tenant.Section) int {
	switch sec {
	case tenant.SectionLinks:
		return snap.LinkCount()
	case tenant.SectionGuests:
		return len(snap.Guests)
	case tenant.SectionSites:
		return len(snap.Sites)
	}
	return 0
}

// loadHashes pairs the key and content hash of every live object of a
// section, for the scan's objects to be matched with; hint is the expected
// count.
func (s *sqlStore) loadHashes(ctx context.Context, tx *sqlx.Tx, tid int64, sec tenant.Section, scope []string, hint int) (*drift.Pairing, error) {
	p := drift.NewPairing(hint)
	err := s.eachLatest(ctx, tx, tid, sec, scope, func(key string, hash []byte, deleted bool) {
		if !deleted {
			p.AddPrevious(key, hash)
		}
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// unseenKeys reads again the keys of the live objects the scan did not see
// (versions it wrote are of seen or new objects, so they do not matter).
func (s *sqlStore) unseenKeys(ctx context.Context, tx *sqlx.Tx, tid int64, sec tenant.Section, scope []string, p *drift.Pairing) ([]string, error) {
	var out []string
	err := s.eachLatest(ctx, tx, tid, sec, scope, func(key string, _ []byte, deleted bool) {
		if !deleted && p.Removed(key) {
			out = append(out, key)
		}
	})
	return out, err
}

var changeCols = []string{"tenant_id", "scan_id", "prev_scan_id", "detected_at", "section", "object_key", "name", "kind", "fields", "object"}

// writeChanges diffs the given keys against their previous version, in
// batches so that only a batch of documents is in memory at a time.
func (s *sqlStore) writeChanges(ctx context.Context, tx *sqlx.Tx, tid, prevScan int64, sec tenant.Section, keys []string, sc *Scan) error {
	const batch = 500
	for len(keys) > 0 {
		n := min(batch, len(keys))
		chunk := keys[:n]
		keys = keys[n:]
		query, args, err := sqlx.In(`SELECT v.object_key, v.scan_id, v.name, v.doc FROM object_versions v
			WHERE v.tenant_id = ? AND v.section = ? AND v.object_key IN (?) AND (v.scan_id = ? OR v.scan_id = (
				SELECT MAX(w.scan_id) FROM object_versions w
				WHERE w.tenant_id = v.tenant_id AND w.section = v.section AND w.object_key = v.object_key AND w.scan_id < ?))`,
			tid, string(sec), chunk, sc.ID, sc.ID)
		if err != nil {
			return fmt.Errorf("build change query: %w", err)
		}
		type pair struct {
			oldName, newName string
			oldDoc, newDoc   []byte
		}
		docs := make(map[string]*pair, n)
		rows, err := tx.QueryContext(ctx, tx.Rebind(query), args...)
		if err != nil {
			return fmt.Errorf("read versions: %w", err)
		}
		for rows.Next() {
			var (
				key, name string
				scanID    int64
				doc       []byte
			)
			if err := rows.Scan(&key, &scanID, &name, &doc); err != nil {
				rows.Close()
				return fmt.Errorf("read versions: %w", err)
			}
			p := docs[key]
			if p == nil {
				p = &pair{}
				docs[key] = p
			}
			if scanID == sc.ID {
				p.newName, p.newDoc = name, doc
			} else {
				p.oldName, p.oldDoc = name, doc
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read versions: %w", err)
		}
		w, err := s.d.bulk(ctx, tx, "changes", changeCols)
		if err != nil {
			return err
		}
		for _, key := range chunk {
			p := docs[key]
			if p == nil {
				continue
			}
			name := p.newName
			if name == "" {
				name = p.oldName
			}
			c, ok, err := drift.ObjectChange(sec, key, name, p.oldDoc, p.newDoc)
			if err != nil {
				w.Close()
				return err
			}
			if !ok {
				continue
			}
			var fields, object any
			if len(c.Fields) > 0 {
				b, err := json.Marshal(c.Fields)
				if err != nil {
					w.Close()
					return fmt.Errorf("encode change of %s: %w", key, err)
				}
				fields = string(b)
			}
			if len(c.Object) > 0 {
				object = string(c.Object)
			}
			if err := w.Write(tid, sc.ID, prevScan, s.t(sc.CollectedAt), string(sec), key, c.Name, string(c.Kind), fields, object); err != nil {
				w.Close()
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		sc.Changes += w.Rows()
	}
	return nil
}

// analyzeThreshold is how many rows a bulk load needs before statistics
// are refreshed inside the scan's transaction.
const analyzeThreshold = 5000

var resultCols = []string{"scan_id", "rule_id", "section", "object_key", "object_name", "object_url", "object_label", "outcome", "severity", "fingerprint", "expected", "actual", "message", "exception"}

// writeResults stores non-pass and excepted results and counts every
// outcome per rule; storing every pass of every object each scan would
// cost more than it tells. It returns the sections with failing results,
// whose finding marks move, and the rules with a rule-wide unknown result,
// whose findings are held: known before the findings are merged, as the
// results come in fingerprint order, not by rule.
func (s *sqlStore) writeResults(ctx context.Context, tx *sqlx.Tx, results ResultSet, sc *Scan) (marked, held []string, err error) {
	// Counts are per rule and outcome; a rule belongs to one section.
	type ck struct {
		rule    string
		outcome tenant.Outcome
	}
	counts := map[ck]int64{}
	sections := map[string]tenant.Section{}
	w, err := s.d.bulk(ctx, tx, "rule_results", resultCols)
	if err != nil {
		return nil, nil, err
	}
	err = results.Each(func(fp string, r *tenant.Result) error {
		counts[ck{r.RuleID, r.Outcome}] += int64(r.Objects())
		if _, ok := sections[r.RuleID]; !ok {
			sections[r.RuleID] = r.Section
		}
		if failingResult(r) && !slices.Contains(marked, string(r.Section)) {
			marked = append(marked, string(r.Section))
		}
		if r.Blocks() && !slices.Contains(held, r.RuleID) {
			held = append(held, r.RuleID)
		}
		if r.Outcome == tenant.Pass && r.Exception == "" {
			return nil
		}
		return w.Write(sc.ID, r.RuleID, string(r.Section), r.ObjectKey, r.ObjectName, r.ObjectURL, r.ObjectLabel, string(r.Outcome), string(r.Severity),
			fp, r.Expected, r.Actual, r.Message, r.Exception)
	})
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	sc.ResultsWritten = w.Rows()
	keys := make([]ck, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].outcome < keys[j].outcome
	})
	sw, err := s.d.bulk(ctx, tx, "rule_summary", []string{"scan_id", "rule_id", "section", "outcome", "count"})
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		if err := sw.Write(sc.ID, k.rule, string(sections[k.rule]), string(k.outcome), counts[k]); err != nil {
			sw.Close()
			return nil, nil, err
		}
	}
	sort.Strings(marked)
	return marked, held, sw.Close()
}
