package app

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestChangeScanIsScoped: a notification scan of one drive carries that
// drive's links only, records them against that drive's stored links and
// findings alone (a new link opens a finding and enqueues its alert, a
// removed one resolves and is recorded as removed), and leaves every
// other drive's findings, the tenant's whole scan and the rolling re-read's
// window as they were. A drive whose delta link expired is read in full
// and merged whole.
func TestChangeScanIsScoped(t *testing.T) {
	hs := newChangesHarness(t)
	ctx := context.Background()
	hs.subscribed(t)
	const drive = "b!Qx1-fin"
	prefix, _ := tenant.DriveKeyPrefix(drive)
	tenants, err := hs.svc.Store.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	whole := tenants[0].LastScanID
	rolled, err := hs.svc.Store.DeltaToken(ctx, "fabrikam", rollingKey(tenant.SectionLinks))
	if err != nil || rolled == "" {
		t.Fatalf("rolling mark of the whole scan: %q %v", rolled, err)
	}
	// others are the findings the notification scans must leave alone.
	others := func() map[string]store.Finding {
		fs, err := hs.svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.Finding{}
		for _, f := range fs {
			// The sites are read whole by a notification scan: their
			// findings are seen again.
			if !strings.HasPrefix(f.ObjectKey, prefix) && f.Section != tenant.SectionSites {
				out[f.Fingerprint] = f
			}
		}
		return out
	}
	before := others()
	var outside int
	for _, f := range before {
		if f.Section == tenant.SectionLinks && f.ObjectKey != "links:tenant" {
			outside++
		}
	}
	if outside == 0 {
		t.Fatal("fixture has no link findings outside the drive")
	}
	var processed []ProcessedChanges
	hs.svc.Changes.o.Processed = func(p ProcessedChanges) { processed = append(processed, p) }
	process := func(what string) store.Scan {
		t.Helper()
		hs.fake.WaitDeliveries()
		processed = nil
		if ran, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil || !ran || len(processed) != 1 {
			t.Fatalf("%s: ran %v, %v, processed %+v", what, ran, err, processed)
		}
		sc, err := hs.svc.Store.Scan(ctx, processed[0].ScanID)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	linksOf := func() int {
		n := 0
		if err := hs.svc.Store.CurrentObjectsIn(ctx, "fabrikam", tenant.SectionLinks, []string{prefix}, func(drift.Object) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	sites := 0
	if err := hs.svc.Store.CurrentObjects(ctx, "fabrikam", tenant.SectionSites, func(drift.Object) error { sites++; return nil }); err != nil {
		t.Fatal(err)
	}

	// A new Anyone link on the drive.
	itemID, permID, err := hs.fake.AddAnyoneFile(drive, "Bonus 2027.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	sc := process("new link")
	if got := sc.Sections[tenant.SectionLinks]; got.State != tenant.StateComplete || !reflect.DeepEqual(got.Scope, []string{prefix}) {
		t.Fatalf("links section of the notification scan: %+v", got)
	}
	if want := int64(sites + linksOf()); sc.ObjectsSeen != want {
		t.Errorf("objects seen %d, want the sites and the drive's links (%d)", sc.ObjectsSeen, want)
	}
	key := "link:" + drive + "/" + itemID + "/" + permID
	fs, err := hs.svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam", ScanID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	var found store.Finding
	for _, f := range fs {
		if f.ObjectKey == key && f.RuleID == "links.anyone_on_confidential" {
			found = f
		}
	}
	if found.FirstScanID != sc.ID {
		t.Fatalf("no new finding for %s in scan %d: %+v", key, sc.ID, fs)
	}
	if enqueued := enqueuedFor(t, hs.svc.Store, found.Fingerprint); enqueued != 1 {
		t.Errorf("alerts enqueued for the new finding: %d, want 1", enqueued)
	}
	if got := others(); !reflect.DeepEqual(got, before) {
		for fp, b := range before {
			if a := got[fp]; !reflect.DeepEqual(a, b) {
				t.Logf("%s %s: %+v -> %+v", b.Section, b.ObjectKey, b, a)
			}
		}
		t.Errorf("findings outside the drive changed by its notification scan")
	}
	if ts, _ := hs.svc.Store.Tenants(ctx); ts[0].LastScanID != whole {
		t.Errorf("tenant's last scan moved to the scoped scan %d", ts[0].LastScanID)
	}
	// Reading one drive is not a completed collection of the links: the
	// rolling re-read's window stays, so no drive's turn is skipped.
	if got, _ := hs.svc.Store.DeltaToken(ctx, "fabrikam", rollingKey(tenant.SectionLinks)); got != rolled {
		t.Errorf("rolling mark moved by a notification scan: %q, was %q", got, rolled)
	}

	// The link removed: its findings resolve and the removal is recorded.
	if err := hs.svc.Pipeline.Client("fabrikam").DeleteLink(ctx, drive, itemID, permID); err != nil {
		t.Fatal(err)
	}
	sc = process("removed link")
	f, err := hs.svc.Store.Finding(ctx, "fabrikam", found.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if f.State != store.FindingResolved || f.ResolvedScanID != sc.ID {
		t.Errorf("finding of the removed link: %s, resolved by %d, want scan %d", f.State, f.ResolvedScanID, sc.ID)
	}
	chs, err := hs.svc.Store.Changes(ctx, store.ChangeFilter{Tenant: "fabrikam", ScanID: sc.ID, ObjectKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 || chs[0].Kind != drift.Removed {
		t.Errorf("changes of the removed link: %+v", chs)
	}
	if got := others(); !reflect.DeepEqual(got, before) {
		t.Errorf("findings outside the drive changed by its notification scan")
	}

	// An expired delta link: the drive is read in full, so the stored view
	// is in doubt and the section is merged whole, not scoped.
	if err := hs.svc.Store.SetDeltaToken(ctx, "fabrikam", "links/drive/"+drive, hs.fake.URL()+"/v1.0/drives/"+drive+"/root/delta?token=gone"); err != nil {
		t.Fatal(err)
	}
	if err := hs.svc.Store.MarkDriveChanged(ctx, "fabrikam", drive, "updated", hs.svc.Changes.o.Now()); err != nil {
		t.Fatal(err)
	}
	sc = process("expired delta link")
	if st := sc.Sections[tenant.SectionLinks]; st.State != tenant.StateComplete || st.Scoped() {
		t.Fatalf("links after an expired delta link: %+v", st)
	}
	if ts, _ := hs.svc.Store.Tenants(ctx); ts[0].LastScanID != sc.ID {
		t.Errorf("a whole merge is the tenant's last scan: %d, want %d", ts[0].LastScanID, sc.ID)
	}
	after := others()
	for fp, b := range before {
		if a := after[fp]; a.State != b.State {
			t.Errorf("finding %s of %s: %s after the whole merge, was %s", fp, b.ObjectKey, a.State, b.State)
		}
	}
}

// enqueuedFor counts the outbox messages about a finding.
func enqueuedFor(t *testing.T, st store.Outbox, fp string) int {
	t.Helper()
	msgs, err := st.OutboxMessages(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Fingerprint == fp {
			n++
		}
	}
	return n
}
