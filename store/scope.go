package store

// Scoped sections: a section collected for part of the tenant (a links
// section read for the drives change notifications named) says which keys
// it covers (tenant.SectionStatus.Scope). Recording it pairs, removes and
// resolves within those key ranges alone; everything outside stays as the
// last whole collection left it.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/tenant"
)

// keyRange returns the bounds of the keys that start with prefix in
// bytewise order: lo <= key < hi. Both databases compare object keys
// bytewise (PostgreSQL's key columns are COLLATE "C", migration 0011), so
// the range is an index range. ok is false for a prefix with no upper
// bound (empty, or only 0xff bytes), which no key scheme produces.
func keyRange(prefix string) (lo, hi string, ok bool) {
	b := []byte(prefix)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", "", false
	}
	b[len(b)-1]++
	return prefix, string(b), true
}

// disjoint returns the prefixes sorted, without those another one covers,
// so that each key is in at most one of their ranges.
func disjoint(prefixes []string) []string {
	ps := slices.Clone(prefixes)
	slices.Sort(ps)
	out := ps[:0]
	for _, p := range ps {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// inScope reports whether key starts with one of prefixes.
func inScope(prefixes []string, key string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// sectionScopes returns the scope of every scoped section of a snapshot,
// checked: a scope whose prefix has no range is refused rather than read
// as "everything".
func sectionScopes(snap *tenant.Snapshot) (map[string][]string, error) {
	var out map[string][]string
	for sec, st := range snap.Status {
		if !st.Scoped() {
			continue
		}
		for _, p := range st.Scope {
			if _, _, ok := keyRange(p); !ok {
				return nil, fmt.Errorf("%w: section %s: scope prefix %q", ErrInvalid, sec, p)
			}
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[string(sec)] = disjoint(st.Scope)
	}
	return out, nil
}

// Scoped reports whether the scan read part of a section (a scan of the
// drives change notifications named): it is then not the tenant's whole
// picture, and tenants.last_scan_id does not point at it.
func (sc Scan) Scoped() bool {
	for _, st := range sc.Sections {
		if st.Scoped() {
			return true
		}
	}
	return false
}

// Covers reports whether the scan read the object key of section sec
// completely: the section is complete and the key within its scope.
func (sc Scan) Covers(sec tenant.Section, key string) bool {
	st, ok := sc.Sections[sec]
	return ok && st.State == tenant.StateComplete && st.InScope(key)
}

// CurrentObjectsIn implements Scans.
func (s *sqlStore) CurrentObjectsIn(ctx context.Context, tenantName string, sec tenant.Section, prefixes []string, fn func(drift.Object) error) error {
	tid, err := s.tenantID(ctx, s.db, tenantName)
	if err != nil {
		return err
	}
	for _, p := range disjoint(prefixes) {
		lo, hi, ok := keyRange(p)
		if !ok {
			return fmt.Errorf("read objects of %q %s: %w: key prefix %q", tenantName, sec, ErrInvalid, p)
		}
		if err := s.currentObjects(ctx, tid, tenantName, sec, " AND v.object_key >= ? AND v.object_key < ?", []any{lo, hi}, fn); err != nil {
			return err
		}
	}
	return nil
}
