package remediate_test

import (
	"testing"

	"github.com/sharedrift/sharedrift/remediate"
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

// TestRecordOwnTouchesItsFindingsOnly: plans recorded for a change scan are
// reconciled with the open plans of their own findings (an unchanged plan
// is kept, one under a changed mode replaces its predecessor), while the
// open plans of other findings, even of a rule now off, stay for the next
// whole scan to reconcile.
func TestRecordOwnTouchesItsFindingsOnly(t *testing.T) {
	const rule = "sites.sharing_level"
	r := newRig(t, remediate.Policy{Mode: remediate.ModeDryRun, Rules: map[string]remediate.Mode{rule: remediate.ModeApprove}})
	first := r.scan()
	plans := r.plan(first)
	var own []remediate.Plan
	others := map[string]string{} // fingerprint -> rule
	for _, p := range plans {
		if p.RuleID == rule && own == nil {
			own = append(own, p)
		} else {
			others[p.Fingerprint] = p.RuleID
		}
	}
	if len(own) == 0 || len(others) == 0 {
		t.Fatalf("fixture: %d plans of %s, %d others", len(own), rule, len(others))
	}
	openOf := func() map[string]remediate.PlanRecord {
		prs, err := r.svc.Plans(r.ctx, r.tenant, store.RemediationPlanned, store.RemediationApproved)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]remediate.PlanRecord{}
		for _, pr := range prs {
			out[pr.Plan.Fingerprint] = pr
		}
		return out
	}
	before := openOf()
	st, err := r.svc.RecordOwn(r.ctx, first.scan.ID, own)
	if err != nil || st.Kept != 1 || st.Created != 0 || st.Superseded != 0 {
		t.Fatalf("the same plan again: %+v %v", st, err)
	}
	// Every rule but the planned one off: a whole scan's Record would
	// close the others' open plans; RecordOwn leaves them.
	r.policy = remediate.Policy{Mode: remediate.ModeOff, Rules: map[string]remediate.Mode{rule: remediate.ModeDryRun}}
	st, err = r.svc.RecordOwn(r.ctx, first.scan.ID, own)
	if err != nil || st.Created != 1 || st.Superseded != 1 {
		t.Fatalf("the plan under a changed mode: %+v %v", st, err)
	}
	after := openOf()
	if got := after[own[0].Fingerprint]; got.Mode != remediate.ModeDryRun || got.ID == before[own[0].Fingerprint].ID {
		t.Errorf("own plan after the mode change: %+v", got)
	}
	for fp := range others {
		if b, ok := before[fp]; ok && after[fp].ID != b.ID {
			t.Errorf("plan of another finding (%s) changed by a change scan's record: %+v -> %+v", b.Plan.ObjectKey, b, after[fp])
		}
	}
	// The whole scan's Record closes them.
	if _, err := r.svc.Record(r.ctx, first.scan.ID, nil); err != nil {
		t.Fatal(err)
	}
	closed := 0
	for fp, id := range others {
		if id == rule {
			continue
		}
		if _, open := openOf()[fp]; open {
			t.Errorf("open plan of %s, turned off, after a whole record: %s", id, fp)
		}
		closed++
	}
	if closed == 0 {
		t.Error("fixture has no plan of another rule")
	}
}
