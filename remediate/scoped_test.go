package remediate_test

import (
	"testing"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestScopedScanOfAnotherDriveLeavesPlansRunnable: a change scan scoped to
// other drives did not read the planned links, so it neither holds their
// plans as "unknown in the latest scan" nor stands for their state.
func TestScopedScanOfAnotherDriveLeavesPlansRunnable(t *testing.T) {
	r := newRig(t, consented("links.anyone_link"))
	s := r.scan()
	if n := len(r.plan(s)); n == 0 {
		t.Fatal("fixture has nothing to plan")
	}
	prefix, _ := tenant.DriveKeyPrefix("b!another-drive")
	snap := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: s.snap.Tenant, TenantID: s.snap.TenantID, CollectedAt: r.clock.Now(), Sites: s.snap.Sites,
		Status: map[tenant.Section]tenant.SectionStatus{tenant.SectionSites: {State: tenant.StateComplete}, tenant.SectionLinks: {State: tenant.StateComplete}}}
	snap.SetScope(tenant.SectionLinks, []string{prefix})
	sc, err := r.st.RecordScan(r.ctx, store.ScanInput{Snapshot: snap, Results: rules.Evaluate(snap, r.baseline), Baseline: "recommended"})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Scoped() || sc.FindingsResolved != 0 {
		t.Fatalf("scoped scan: scoped %v, resolved %d", sc.Scoped(), sc.FindingsResolved)
	}
	rep := r.apply()
	if h := heldFor(rep, "links.anyone_link"); len(h) != 0 || len(rep.Ops) == 0 {
		t.Fatalf("after a scan of another drive: %d operations, held %+v", len(rep.Ops), h)
	}
}
