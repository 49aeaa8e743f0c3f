package app

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestChangeScanIsScoped: a notification scan of one drive carries that
// drive's links and its site only, records them against that drive's
// stored links, that site and their findings alone (a new link opens a
// finding and enqueues its alert, a removed one resolves and is recorded
// as removed), and leaves every other drive's and site's findings, the
// tenant's whole scan and the rolling re-read's window as they were. A
// drive whose delta link expired is read in full and merged whole; its
// sites are still those of the drive, so the scan is not the tenant's
// whole picture and the links of other sites change no finding.
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
	// site is the drive's site, the only one its scans read.
	var site string
	if err := hs.svc.Store.CurrentObjectsIn(ctx, "fabrikam", tenant.SectionLinks, []string{prefix}, func(o drift.Object) error {
		var l tenant.Link
		if err := json.Unmarshal(o.Doc, &l); err != nil {
			return err
		}
		site = "site:" + l.SiteID
		return nil
	}); err != nil || site == "site:" {
		t.Fatalf("site of drive %s: %q %v", drive, site, err)
	}
	// others are the findings the notification scans must leave alone.
	others := func() map[string]store.Finding {
		fs, err := hs.svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.Finding{}
		for _, f := range fs {
			if !strings.HasPrefix(f.ObjectKey, prefix) && f.ObjectKey != site {
				out[f.Fingerprint] = f
			}
		}
		return out
	}
	before := others()
	var outside, otherSites int
	for _, f := range before {
		switch {
		case f.Section == tenant.SectionLinks && f.ObjectKey != "links:tenant":
			outside++
		case f.Section == tenant.SectionSites && f.ObjectKey != "sites:tenant":
			otherSites++
		}
	}
	if outside == 0 || otherSites == 0 {
		t.Fatalf("fixture has %d link findings outside the drive, %d of other sites", outside, otherSites)
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

	// A new Anyone link on the drive.
	itemID, permID, err := hs.fake.AddAnyoneFile(drive, "Bonus 2027.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	sc := process("new link")
	if got := sc.Sections[tenant.SectionLinks]; got.State != tenant.StateComplete || !reflect.DeepEqual(got.Scope, []string{prefix}) {
		t.Fatalf("links section of the notification scan: %+v", got)
	}
	if got := sc.Sections[tenant.SectionSites]; got.State != tenant.StateComplete || !reflect.DeepEqual(got.Scope, []string{site}) {
		t.Fatalf("sites section of the notification scan: %+v, want scoped to %s", got, site)
	}
	if want := int64(1 + linksOf()); sc.ObjectsSeen != want {
		t.Errorf("objects seen %d, want the drive's site and links (%d)", sc.ObjectsSeen, want)
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
	// is in doubt and the links section is merged whole, not scoped; the
	// sites read are still the drive's, so links of other sites are
	// unknown and the scan is not the tenant's whole picture.
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
	if st := sc.Sections[tenant.SectionSites]; !reflect.DeepEqual(st.Scope, []string{site}) {
		t.Fatalf("sites after an expired delta link: %+v", st)
	}
	if ts, _ := hs.svc.Store.Tenants(ctx); ts[0].LastScanID != whole {
		t.Errorf("a scan of some sites became the tenant's last scan: %d, want %d", ts[0].LastScanID, whole)
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

// TestChangeScanUnreadableSite: when the site of a notified drive cannot
// be read, the change scan judges none of the drive's links by their site:
// the finding of a link removed meanwhile stays open, nothing new opens,
// and the drive's mark is kept. Once the site can be read, the next
// processing resolves it.
func TestChangeScanUnreadableSite(t *testing.T) {
	hs := newChangesHarness(t)
	ctx := context.Background()
	hs.subscribed(t)
	const drive = "b!Qx1-fin"
	itemID, permID, err := hs.fake.AddAnyoneFile(drive, "Bonus 2027.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	hs.fake.WaitDeliveries()
	if ran, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil || !ran {
		t.Fatalf("process the new link: %v %v", ran, err)
	}
	key := "link:" + drive + "/" + itemID + "/" + permID
	var fp string
	fs, err := hs.svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.ObjectKey == key && f.RuleID == "links.anyone_on_confidential" && f.State == store.FindingOpen {
			fp = f.Fingerprint
		}
	}
	if fp == "" {
		t.Fatalf("no open finding for the new link %s", key)
	}

	// The link goes, and so does the site's readability: the removal is
	// seen, but whether the drive's other links sit on confidential
	// content is not, so no finding of the rule moves.
	if err := hs.svc.Pipeline.Client("fabrikam").DeleteLink(ctx, drive, itemID, permID); err != nil {
		t.Fatal(err)
	}
	const csomKey = "CSOM GetSitePropertiesByUrl"
	hs.fake.Faults.Add(csomKey, m365test.Fault{Status: http.StatusForbidden})
	hs.fake.WaitDeliveries()
	ran, err := hs.svc.Changes.Process(ctx, "fabrikam")
	if !ran || err == nil || !strings.Contains(err.Error(), "marks kept") {
		t.Fatalf("process with the site unreadable: ran %v, %v; want an error keeping the marks", ran, err)
	}
	if hs.fake.Faults.Fired(csomKey) == 0 {
		t.Fatal("the site's properties were never asked for")
	}
	if m := hs.marks(t); len(m) != 1 || m[0].DriveID != drive {
		t.Fatalf("marks after an unreadable site: %+v, want the drive's kept", m)
	}
	f, err := hs.svc.Store.Finding(ctx, "fabrikam", fp)
	if err != nil {
		t.Fatal(err)
	}
	if f.State != store.FindingOpen {
		t.Fatalf("finding of the removed link: %s with its site unreadable, want still open", f.State)
	}

	hs.fake.Faults.Clear()
	if ran, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil || !ran {
		t.Fatalf("process once the site reads: %v %v", ran, err)
	}
	if f, err = hs.svc.Store.Finding(ctx, "fabrikam", fp); err != nil || f.State != store.FindingResolved {
		t.Fatalf("finding of the removed link once its site reads: %s %v, want resolved", f.State, err)
	}
	if m := hs.marks(t); len(m) != 0 {
		t.Fatalf("marks left: %+v", m)
	}
}
