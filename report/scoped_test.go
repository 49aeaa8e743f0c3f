package report

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestScopedScanIsNotTheReportsState: a scan scoped to one drive (a change
// notification's) judged a few links, so the report keeps the latest whole
// scan's results, score and trend, and the rollup its score.
func TestScopedScanIsNotTheReportsState(t *testing.T) {
	ctx := context.Background()
	st, b, ref, _, cur := fabrikamHistory(t)
	now := cur.CollectedAt.Add(2 * time.Hour)
	since := cur.CollectedAt.AddDate(0, 0, -15)
	read := func() (*Input, *Rollup) {
		t.Helper()
		in, err := FromStore(ctx, st, cur.Tenant, since, now, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		r, err := BuildRollup(ctx, st, now)
		if err != nil {
			t.Fatal(err)
		}
		return in, r
	}
	before, rollBefore := read()

	// A drive with one Anyone link on it, read by a notification scan.
	var l tenant.Link
	if err := cur.EachLink(func(x *tenant.Link) error {
		if l.DriveID == "" {
			l = *x
		}
		return nil
	}); err != nil || l.DriveID == "" {
		t.Fatalf("fixture link: %v", err)
	}
	prefix, ok := tenant.DriveKeyPrefix(l.DriveID)
	if !ok {
		t.Fatalf("drive id %q", l.DriveID)
	}
	snap := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: cur.Tenant, TenantID: cur.TenantID, CollectedAt: cur.CollectedAt.Add(time.Hour),
		Sites: cur.Sites, Links: []tenant.Link{l},
		Status: map[tenant.Section]tenant.SectionStatus{tenant.SectionSites: {State: tenant.StateComplete}, tenant.SectionLinks: {State: tenant.StateComplete}}}
	snap.SetScope(tenant.SectionLinks, []string{prefix})
	sc, err := st.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: rules.Evaluate(snap, b), Baseline: ref})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Scoped() {
		t.Fatal("scan not scoped")
	}
	after, rollAfter := read()
	if !reflect.DeepEqual(after.Results, before.Results) || !reflect.DeepEqual(after.RuleCounts, before.RuleCounts) {
		t.Errorf("report results changed by a scoped scan: %d results before, %d after", len(before.Results), len(after.Results))
	}
	if len(after.Trend) != len(before.Trend) {
		t.Errorf("trend points: %d before, %d after the scoped scan", len(before.Trend), len(after.Trend))
	}
	if after.API != before.API {
		t.Errorf("API statistics of the report: %+v, want the whole scan's %+v", after.API, before.API)
	}
	for i := range rollBefore.Tenants {
		b, a := rollBefore.Tenants[i], rollAfter.Tenants[i]
		if scoreText(a.Score) != scoreText(b.Score) || a.Scans != b.Scans || !reflect.DeepEqual(a.LastScan, b.LastScan) {
			t.Errorf("rollup of %s: score %s, %d scans, last %v; want %s, %d, %v", a.Tenant, scoreText(a.Score), a.Scans, a.LastScan,
				scoreText(b.Score), b.Scans, b.LastScan)
		}
	}
}
