package storetest

// Scoped scans: a links section read for some drives records, removes and
// resolves within its scope only.

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Drives of the scoped fixture. Their ids are chosen so that a key range
// compared in anything but byte order would take in the other drives'
// links: scopeDrive's case twin, and the drive whose prefix is the
// range's upper bound.
const (
	scopeDrive = "b!Aa"
	twinDrive  = "b!aa"
	boundDrive = "b!Aa0"
	// sectionKey is a section-level (non-object) key of the links section.
	sectionKey = "links:tenant"
)

func scopedLink(drive, n string, scope tenant.LinkScope) tenant.Link {
	l := Link(n, scope)
	l.DriveID = drive
	return l
}

// scopedSnapshot is Snapshot with links on four drives: drive1 (perm2 and
// perm3 Anyone), scopeDrive (A1 and A2 Anyone, A3 for users), twinDrive
// and boundDrive (one Anyone link each).
func scopedSnapshot(at time.Time) *tenant.Snapshot {
	s := Snapshot(at)
	s.Links = append(s.Links,
		scopedLink(scopeDrive, "A1", tenant.LinkScopeAnonymous), scopedLink(scopeDrive, "A2", tenant.LinkScopeAnonymous),
		scopedLink(scopeDrive, "A3", tenant.LinkScopeUsers),
		scopedLink(twinDrive, "B1", tenant.LinkScopeAnonymous), scopedLink(boundDrive, "C1", tenant.LinkScopeAnonymous))
	return s
}

// changeSnapshot is what a change scan of scopeDrive collects: the sites,
// and scopeDrive's links, scoped to it: A1 unchanged, A2 removed, A3 now
// an Anyone link, A4 new.
func changeSnapshot(at time.Time, links tenant.State) *tenant.Snapshot {
	full := Snapshot(at)
	s := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: Tenant, TenantID: full.TenantID, CollectedAt: at, Sites: full.Sites,
		Status: map[tenant.Section]tenant.SectionStatus{tenant.SectionSites: {State: tenant.StateComplete}}}
	s.Links = []tenant.Link{scopedLink(scopeDrive, "A1", tenant.LinkScopeAnonymous), scopedLink(scopeDrive, "A3", tenant.LinkScopeAnonymous),
		scopedLink(scopeDrive, "A4", tenant.LinkScopeAnonymous)}
	s.Status[tenant.SectionLinks] = tenant.SectionStatus{State: links}
	p, _ := tenant.DriveKeyPrefix(scopeDrive)
	s.SetScope(tenant.SectionLinks, []string{p})
	return s
}

// sectionResult is a section-level result of the links rule.
func sectionResult(o tenant.Outcome) tenant.Result {
	return tenant.Result{RuleID: RuleAnyoneLink, Section: tenant.SectionLinks, Severity: tenant.SeverityHigh, ObjectKey: sectionKey,
		ObjectName: "sharing links", Outcome: o, Expected: "no Anyone links", Actual: "3 Anyone links"}
}

func linkKey(drive, n string) string { l := scopedLink(drive, n, ""); return l.Key() }

// findingsByKey returns the tenant's findings by object key.
func findingsByKey(t *testing.T, s store.Store) map[string]store.Finding {
	t.Helper()
	fs, err := s.FindingsList(context.Background(), store.FindingFilter{Tenant: Tenant})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Finding{}
	for _, f := range fs {
		out[f.ObjectKey] = f
	}
	return out
}

func currentKeys(t *testing.T, s store.Store) []string {
	t.Helper()
	var keys []string
	if err := s.CurrentObjects(context.Background(), Tenant, tenant.SectionLinks, func(o drift.Object) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func testScopedScan(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	full := scopedSnapshot(T0)
	first, err := s.RecordScan(ctx, store.ScanInput{Snapshot: full, Results: append(Evaluate(full), sectionResult(tenant.Fail))})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "whole scan scoped", first.Scoped(), false)
	before := findingsByKey(t, s)
	keysBefore := currentKeys(t, s)

	c.Advance(time.Hour)
	at := T0.Add(time.Hour)
	snap := changeSnapshot(at, tenant.StateComplete)
	// The rules over a scoped section give their section-level results
	// too (an aggregate pass): they must resolve nothing.
	sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: append(Evaluate(snap), sectionResult(tenant.Pass))})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "scoped", sc.Scoped(), true)
	eq(t, "objects seen (2 sites, 3 links)", sc.ObjectsSeen, int64(5))
	eq(t, "new findings (A3, A4)", sc.FindingsNew, int64(2))
	eq(t, "resolved findings (A2)", sc.FindingsResolved, int64(1))
	got, err := s.Scan(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tenant.DriveKeyPrefix(scopeDrive)
	eq(t, "stored scope", got.Sections[tenant.SectionLinks].Scope, []string{p})
	eq(t, "stored scan scoped", got.Scoped(), true)

	// Objects: A2 removed, A3 changed, A4 added; every other drive's
	// links are as they were.
	want := slices.DeleteFunc(slices.Clone(keysBefore), func(k string) bool { return k == linkKey(scopeDrive, "A2") })
	want = append(want, linkKey(scopeDrive, "A4"))
	slices.Sort(want)
	eq(t, "current links", currentKeys(t, s), want)
	chs, err := s.Changes(ctx, store.ChangeFilter{Tenant: Tenant, ScanID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]drift.Kind{}
	for _, ch := range chs {
		kinds[ch.Key] = ch.Kind
	}
	eq(t, "changes", kinds, map[string]drift.Kind{linkKey(scopeDrive, "A2"): drift.Removed, linkKey(scopeDrive, "A3"): drift.Modified,
		linkKey(scopeDrive, "A4"): drift.Added})
	var inScope []string
	if err := s.CurrentObjectsIn(ctx, Tenant, tenant.SectionLinks, []string{p}, func(o drift.Object) error {
		inScope = append(inScope, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eq(t, "objects in scope", inScope, []string{linkKey(scopeDrive, "A1"), linkKey(scopeDrive, "A3"), linkKey(scopeDrive, "A4")})

	// Findings: within the scope opened, refreshed and resolved; outside
	// it (other drives, the section-level finding, the guest's) exactly
	// as they were.
	after := findingsByKey(t, s)
	for _, k := range []string{linkKey("drive1", "2"), linkKey("drive1", "3"), linkKey(twinDrive, "B1"), linkKey(boundDrive, "C1"), sectionKey, "guest:g2"} {
		b, a := before[k], after[k]
		if a.State != store.FindingOpen || a.LastScanID != first.ID || !a.LastSeen.Equal(T0) || !reflect.DeepEqual(a, b) {
			t.Errorf("finding of %s outside the scope changed:\nbefore %+v\nafter  %+v", k, b, a)
		}
	}
	a1 := after[linkKey(scopeDrive, "A1")]
	eq(t, "A1 state", a1.State, store.FindingOpen)
	eq(t, "A1 last scan", a1.LastScanID, sc.ID)
	eq(t, "A1 last seen", a1.LastSeen.UTC(), at)
	eq(t, "A1 first seen", a1.FirstSeen.UTC(), T0)
	eq(t, "A2 resolved", after[linkKey(scopeDrive, "A2")].State, store.FindingResolved)
	eq(t, "A2 resolved by", after[linkKey(scopeDrive, "A2")].ResolvedScanID, sc.ID)
	for _, n := range []string{"A3", "A4"} {
		f := after[linkKey(scopeDrive, n)]
		eq(t, n+" state", f.State, store.FindingOpen)
		eq(t, n+" first scan", f.FirstScanID, sc.ID)
		eq(t, n+" last seen", f.LastSeen.UTC(), at)
	}
	trs, err := s.Transitions(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]store.TransitionKind{}
	for _, tr := range trs {
		moved[tr.Finding.ObjectKey] = tr.Kind
	}
	eq(t, "transitions", moved, map[string]store.TransitionKind{linkKey(scopeDrive, "A2"): store.TransitionResolved,
		linkKey(scopeDrive, "A3"): store.TransitionNew, linkKey(scopeDrive, "A4"): store.TransitionNew})

	// The tenant's whole picture is still the first scan.
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "tenant's last scan", ts[0].LastScanID, first.ID)
	whole, err := s.Scans(ctx, store.ScanFilter{Tenant: Tenant, Whole: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "latest whole scan", whole[0].ID, first.ID)
	all, err := s.Scans(ctx, store.ScanFilter{Tenant: Tenant, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "latest scan", all[0].ID, sc.ID)
	eq(t, "covers A1", all[0].Covers(tenant.SectionLinks, linkKey(scopeDrive, "A1")), true)
	eq(t, "covers B1", all[0].Covers(tenant.SectionLinks, linkKey(twinDrive, "B1")), false)

	// A whole scan afterwards takes over: the findings seen by the scoped
	// scan keep their history, B1 (gone now) resolves, and the tenant's
	// last scan moves.
	c.Advance(time.Hour)
	at3 := T0.Add(2 * time.Hour)
	full3 := scopedSnapshot(at3)
	full3.Links = slices.DeleteFunc(full3.Links, func(l tenant.Link) bool {
		return l.DriveID == twinDrive || l.Key() == linkKey(scopeDrive, "A2")
	})
	full3.Links = append(full3.Links, changeSnapshot(at, tenant.StateComplete).Links[1:]...)
	full3.Links = slices.DeleteFunc(full3.Links, func(l tenant.Link) bool {
		return l.Key() == linkKey(scopeDrive, "A3") && l.Scope == tenant.LinkScopeUsers
	})
	third, err := s.RecordScan(ctx, store.ScanInput{Snapshot: full3, Results: Evaluate(full3)})
	if err != nil {
		t.Fatal(err)
	}
	after3 := findingsByKey(t, s)
	eq(t, "B1 resolved by the whole scan", after3[linkKey(twinDrive, "B1")].ResolvedScanID, third.ID)
	eq(t, "section-level finding resolved by the whole scan", after3[sectionKey].State, store.FindingResolved)
	for _, k := range []string{linkKey(scopeDrive, "A1"), linkKey(scopeDrive, "A3"), linkKey(scopeDrive, "A4"), linkKey(boundDrive, "C1")} {
		f := after3[k]
		if f.State != store.FindingOpen || f.LastScanID != third.ID || !f.LastSeen.Equal(at3) {
			t.Errorf("finding of %s after the whole scan: %+v", k, f)
		}
	}
	eq(t, "A3 first scan", after3[linkKey(scopeDrive, "A3")].FirstScanID, sc.ID)
	ts, _ = s.Tenants(ctx)
	eq(t, "tenant's last scan after the whole scan", ts[0].LastScanID, third.ID)
}

// testScopedPartial: a scoped scan whose links are partial changes no
// link, finding or change; nor does one whose snapshot holds a link
// outside the scope it states (refused whole).
func testScopedPartial(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	full := scopedSnapshot(T0)
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: full, Results: Evaluate(full)}); err != nil {
		t.Fatal(err)
	}
	before, keys := findingsByKey(t, s), currentKeys(t, s)

	c.Advance(time.Hour)
	snap := changeSnapshot(T0.Add(time.Hour), tenant.StatePartial)
	sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: Evaluate(snap)})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "partial: resolved", sc.FindingsResolved, int64(0))
	eq(t, "partial: new", sc.FindingsNew, int64(0))
	eq(t, "partial: links", currentKeys(t, s), keys)
	eq(t, "partial: findings", findingsByKey(t, s), before)
	chs, err := s.Changes(ctx, store.ChangeFilter{Tenant: Tenant, ScanID: sc.ID, Section: tenant.SectionLinks})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "partial: changes", len(chs), 0)

	snap = changeSnapshot(T0.Add(2*time.Hour), tenant.StateComplete)
	snap.Links = append(snap.Links, scopedLink(twinDrive, "B9", tenant.LinkScopeAnonymous))
	_, err = s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: Evaluate(snap)})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a link outside the stated scope: got %v, want ErrInvalid", err)
	}
	eq(t, "refused: links", currentKeys(t, s), keys)
	eq(t, "refused: findings", findingsByKey(t, s), before)
	all, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	eq(t, "refused: scans", len(all), 2)
}

// testPruneKeepsWhole: pruning keeps the latest whole scan even when only
// scoped scans came after the cutoff: it stays the tenant's state.
func testPruneKeepsWhole(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	full := scopedSnapshot(T0)
	whole, err := s.RecordScan(ctx, store.ScanInput{Snapshot: full, Results: Evaluate(full), StartedAt: T0})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		at := T0.Add(time.Duration(i) * 48 * time.Hour)
		c.Advance(48 * time.Hour)
		snap := changeSnapshot(at, tenant.StateComplete)
		if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: Evaluate(snap), StartedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Prune(ctx, store.PruneOptions{Before: T0.Add(72 * time.Hour), Tenant: Tenant})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "scans pruned", st.Scans, int64(0))
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "tenant's last scan", ts[0].LastScanID, whole.ID)
	if _, err := s.Scan(ctx, whole.ID); err != nil {
		t.Errorf("latest whole scan after pruning: %v", err)
	}
	if got, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant, Whole: true, Limit: 1}); len(got) != 1 || got[0].ID != whole.ID {
		t.Errorf("latest whole scan listed after pruning: %+v", got)
	}
}
