package storetest

// Scans: recording, changes, incomplete sections, history.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

func testSpooled(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	held := newStore(t, store.Options{Now: NewClock(T0.Add(time.Hour)).Now})
	spooled := newStore(t, store.Options{Now: NewClock(T0.Add(time.Hour)).Now})
	steps := []func() (*tenant.Snapshot, []tenant.Result){
		func() (*tenant.Snapshot, []tenant.Result) { // duplicates
			snap := Snapshot(T0)
			return snap, withDuplicate(Evaluate(snap))
		},
		func() (*tenant.Snapshot, []tenant.Result) { // a fix and an unknown
			snap := Snapshot(T0.Add(time.Hour))
			snap.Links[1].Scope = tenant.LinkScopeUsers
			rs := Evaluate(snap)
			for i := range rs {
				if rs[i].ObjectKey == "guest:g2" {
					rs[i].Outcome = tenant.Unknown
				}
			}
			return snap, rs
		},
		func() (*tenant.Snapshot, []tenant.Result) { // reopen and a changed severity
			snap := Snapshot(T0.Add(2 * time.Hour))
			rs := Evaluate(snap)
			for i := range rs {
				if rs[i].Outcome == tenant.Fail && rs[i].Section == tenant.SectionLinks {
					rs[i].Severity = tenant.SeverityCritical
				}
			}
			return snap, rs
		},
		func() (*tenant.Snapshot, []tenant.Result) { // links rule-wide unknown, with a failure it must not refresh
			snap := Snapshot(T0.Add(150 * time.Minute))
			rs := append(Evaluate(snap), RuleWide(RuleAnyoneLink, tenant.SectionLinks))
			for i := range rs {
				if rs[i].RuleID == RuleAnyoneLink && rs[i].Outcome == tenant.Fail {
					rs[i].Message = "read while sites were incomplete"
				}
			}
			return snap, rs
		},
		func() (*tenant.Snapshot, []tenant.Result) { // incomplete links, guest fixed
			snap := Snapshot(T0.Add(3 * time.Hour))
			snap.Status[tenant.SectionLinks] = tenant.SectionStatus{State: tenant.StatePartial}
			snap.Links = snap.Links[:1]
			rs := Evaluate(snap)
			return snap, slices.DeleteFunc(rs, func(r tenant.Result) bool { return r.ObjectKey == "guest:g2" })
		},
	}
	for i, step := range steps {
		snap, rs := step()
		a, err := held.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: rs})
		if err != nil {
			t.Fatalf("scan %d held: %v", i+1, err)
		}
		sp := tenant.NewResultSpool(t.TempDir(), 2)
		for j := range rs {
			if err := sp.Add(&rs[j]); err != nil {
				t.Fatal(err)
			}
		}
		b, err := spooled.RecordScan(ctx, store.ScanInput{Snapshot: snap, ResultSet: sp, Results: []tenant.Result{{RuleID: "ignored"}}})
		sp.Close()
		if err != nil {
			t.Fatalf("scan %d spooled: %v", i+1, err)
		}
		type counters struct{ New, Reopened, Resolved, Open, Results int64 }
		eq(t, fmt.Sprintf("scan %d counters", i+1), counters{b.FindingsNew, b.FindingsReopened, b.FindingsResolved, b.FindingsOpen, b.ResultsWritten},
			counters{a.FindingsNew, a.FindingsReopened, a.FindingsResolved, a.FindingsOpen, a.ResultsWritten})
		eq(t, fmt.Sprintf("scan %d findings", i+1), findings(t, spooled), findings(t, held))
		ra, err := held.Results(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := spooled.Results(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		byContent := func(x, y tenant.Result) int {
			return strings.Compare(x.RuleID+"\x00"+x.ObjectKey+"\x00"+x.Message, y.RuleID+"\x00"+y.ObjectKey+"\x00"+y.Message)
		}
		slices.SortFunc(ra, byContent)
		slices.SortFunc(rb, byContent)
		eq(t, fmt.Sprintf("scan %d results", i+1), rb, ra)
		eq(t, fmt.Sprintf("scan %d transitions", i+1), transitions(t, spooled, b.ID), transitions(t, held, a.ID))
	}
	f := findings(t, held)
	eq(t, "link 2 reopened", f[linkFP("2")].State, store.FindingReopened)
	eq(t, "guest resolved", f[guestFP].State, store.FindingResolved)
}

func testFirstScan(t *testing.T, s store.Store, _ *Clock) {
	sc := record(t, s, Snapshot(T0))
	eq(t, "status", sc.Status, store.ScanComplete)
	eq(t, "objects seen", sc.ObjectsSeen, int64(ObjectCount))
	eq(t, "objects written", sc.ObjectsWritten, int64(ObjectCount))
	eq(t, "changes (first scan is the baseline)", sc.Changes, int64(0))
	eq(t, "new findings", sc.FindingsNew, int64(3))
	eq(t, "open findings", sc.FindingsOpen, int64(3))
	// The fixture gives every section 2 calls and 3 RU.
	n := int64(len(tenant.AllSections))
	eq(t, "stats summed from sections", sc.Stats, store.ScanStats{APICalls: 2 * n, RU: 3 * n})

	got, err := s.Scan(context.Background(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "stored scan", got, sc)
	fs := findings(t, s)
	f, ok := fs[linkFP("2")]
	if !ok {
		t.Fatalf("no finding for link 2 in %v", fs)
	}
	eq(t, "state", f.State, store.FindingOpen)
	eq(t, "first seen", f.FirstSeen, T0)
	eq(t, "severity", f.Severity, tenant.SeverityHigh)
	eq(t, "object name", f.ObjectName, "/Shared Documents/file2.docx")
	eq(t, "object URL", f.ObjectURL, "https://contoso.sharepoint.com/:w:/s/finance/E2")
	tr := transitions(t, s, sc.ID)
	eq(t, "transitions", len(tr), 3)
	for fp, k := range tr {
		eq(t, "transition of "+fp, k, store.TransitionNew)
	}
	var keys []string
	err = s.CurrentObjects(context.Background(), Tenant, tenant.SectionLinks, func(o drift.Object) error {
		keys = append(keys, o.Key)
		if !json.Valid(o.Doc) {
			t.Errorf("object %s: invalid JSON", o.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "current links", keys, []string{"link:drive1/item1/perm1", "link:drive1/item2/perm2", "link:drive1/item3/perm3"})
	sum, err := s.RuleSummary(context.Background(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "rule summary", sum, []store.RuleCount{
		{RuleID: RuleGuestSponsor, Section: tenant.SectionGuests, Outcome: tenant.Fail, Count: 1},
		{RuleID: RuleGuestSponsor, Section: tenant.SectionGuests, Outcome: tenant.Pass, Count: 1},
		{RuleID: RuleAnyoneLink, Section: tenant.SectionLinks, Outcome: tenant.Fail, Count: 2},
		{RuleID: RuleAnyoneLink, Section: tenant.SectionLinks, Outcome: tenant.Pass, Count: 1},
		{RuleID: RuleSharingLevel, Section: tenant.SectionSharePoint, Outcome: tenant.Pass, Count: 1},
	})
	res, err := s.Results(context.Background(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "stored results (non-pass only)", len(res), 3)
	for _, r := range res {
		if r.Section == tenant.SectionLinks && r.ObjectURL == "" {
			t.Errorf("stored result on %s lost its object URL", r.ObjectKey)
		}
	}

	// A link whose web URL changes (it was re-created) is rewritten.
	snap := Snapshot(T0.Add(time.Hour))
	snap.Links[1].WebURL = "https://contoso.sharepoint.com/:w:/s/finance/E2new"
	record(t, s, snap)
	eq(t, "object URL after change", findings(t, s)[linkFP("2")].ObjectURL, "https://contoso.sharepoint.com/:w:/s/finance/E2new")
	eq(t, "no label yet", findings(t, s)[linkFP("2")].ObjectLabel, "")

	// A site labelled later labels its links' findings and results, like a
	// changed URL does.
	snap = Snapshot(T0.Add(2 * time.Hour))
	snap.Links[1].WebURL = "https://contoso.sharepoint.com/:w:/s/finance/E2new"
	snap.Sites[0].SensitivityLabel = "Confidential"
	sc = record(t, s, snap)
	eq(t, "object label after change", findings(t, s)[linkFP("2")].ObjectLabel, "Confidential")
	res, err = s.Results(context.Background(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Section == tenant.SectionLinks && r.ObjectLabel != "Confidential" {
			t.Errorf("stored result on %s has label %q", r.ObjectKey, r.ObjectLabel)
		}
	}
}

func testUnchanged(t *testing.T, s store.Store, _ *Clock) {
	record(t, s, Snapshot(T0))
	t1 := T0.Add(6 * time.Hour)
	sc := record(t, s, Snapshot(t1))
	eq(t, "objects written", sc.ObjectsWritten, int64(0))
	eq(t, "objects seen", sc.ObjectsSeen, int64(ObjectCount))
	eq(t, "changes", sc.Changes, int64(0))
	eq(t, "new", sc.FindingsNew, int64(0))
	eq(t, "resolved", sc.FindingsResolved, int64(0))
	eq(t, "open", sc.FindingsOpen, int64(3))
	for fp, f := range findings(t, s) {
		eq(t, fp+" last seen", f.LastSeen, t1)
		eq(t, fp+" first seen", f.FirstSeen, T0)
		eq(t, fp+" last scan", f.LastScanID, sc.ID)
	}
	eq(t, "transitions", len(transitions(t, s, sc.ID)), 0)
	seen, err := s.FindingsList(context.Background(), store.FindingFilter{Tenant: Tenant, ScanID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "findings last seen in the re-scan", len(seen), 3)
}

func testChanges(t *testing.T, s store.Store, _ *Clock) {
	first := record(t, s, Snapshot(T0))
	next := Snapshot(T0.Add(24 * time.Hour))
	next.Links[2].Scope = tenant.LinkScopeUsers // link 3 fixed
	next.Links[2].Type = tenant.LinkTypeEdit
	next.Links = append(next.Links, Link("4", tenant.LinkScopeAnonymous)) // new Anyone link
	next.Guests = next.Guests[1:]                                         // guest g1 removed
	next.Entra.Invitations.Blocked = nil                                  // evil.example unblocked
	sc := record(t, s, next)

	eq(t, "objects written", sc.ObjectsWritten, int64(4))
	eq(t, "changes", changeSummary(changes(t, s, sc.ID)), []string{
		"added link:drive1/item4/perm4 ",
		"modified entra:b2bInvitations blocked",
		"modified link:drive1/item3/perm3 scope,type",
		"removed guest:g1 ",
	})
	for _, c := range changes(t, s, sc.ID) {
		eq(t, "prev scan of "+c.Key, c.PrevScanID, first.ID)
		eq(t, "detected at of "+c.Key, c.DetectedAt, next.CollectedAt)
		switch c.Key {
		case "guest:g1":
			if !strings.Contains(string(c.Object), "ann@partner.example") {
				t.Errorf("removed guest change carries %s", c.Object)
			}
		case tenant.KeyEntraInvitations:
			eq(t, "removed domains", c.Fields[0].Removed, []string{"evil.example"})
		case "link:drive1/item4/perm4":
			eq(t, "added link name", c.Name, "/Shared Documents/file4.docx")
		}
	}
	eq(t, "transitions", transitions(t, s, sc.ID), map[string]store.TransitionKind{
		linkFP("4"): store.TransitionNew,
		linkFP("3"): store.TransitionResolved,
	})
	fs := findings(t, s)
	eq(t, "link 3 state", fs[linkFP("3")].State, store.FindingResolved)
	if r := fs[linkFP("3")].ResolvedAt; r == nil || !r.Equal(next.CollectedAt) {
		t.Errorf("link 3 resolved at %v", r)
	}
	eq(t, "link 3 resolved scan", fs[linkFP("3")].ResolvedScanID, sc.ID)
	for _, fp := range []string{linkFP("2"), guestFP} {
		eq(t, "still open "+fp, fs[fp].State, store.FindingOpen)
		eq(t, "last seen moved "+fp, fs[fp].LastSeen, next.CollectedAt)
	}
	eq(t, "counters", [3]int64{sc.FindingsNew, sc.FindingsResolved, sc.FindingsOpen}, [3]int64{1, 1, 3})

	// Re-adding the removed guest is an addition again.
	again := Snapshot(T0.Add(48 * time.Hour))
	again.Links = next.Links
	again.Entra = next.Entra
	sc3 := record(t, s, again)
	eq(t, "re-added", changeSummary(changes(t, s, sc3.ID)), []string{"added guest:g1 "})
}

func testReopen(t *testing.T, s store.Store, _ *Clock) {
	record(t, s, Snapshot(T0))
	fixed := Snapshot(T0.Add(time.Hour))
	fixed.Links[1].Scope = tenant.LinkScopeUsers
	record(t, s, fixed)
	sc := record(t, s, Snapshot(T0.Add(2*time.Hour)))
	f := findings(t, s)[linkFP("2")]
	eq(t, "state", f.State, store.FindingReopened)
	eq(t, "reopen count", f.ReopenCount, 1)
	eq(t, "first seen kept", f.FirstSeen, T0)
	if f.ResolvedAt != nil || f.ReopenedAt == nil || !f.ReopenedAt.Equal(T0.Add(2*time.Hour)) {
		t.Errorf("resolved %v reopened %v", f.ResolvedAt, f.ReopenedAt)
	}
	eq(t, "counter", sc.FindingsReopened, int64(1))
	eq(t, "transitions", transitions(t, s, sc.ID), map[string]store.TransitionKind{linkFP("2"): store.TransitionReopened})
}

// testIncomplete: a section that failed or is partial must neither resolve
// its findings nor emit removals, and the next complete scan compares
// against the last complete state.
func testIncomplete(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	record(t, s, Snapshot(T0))

	failed := Snapshot(T0.Add(time.Hour))
	failed.Status[tenant.SectionLinks] = tenant.SectionStatus{State: tenant.StateFailed, Error: "permission denied"}
	failed.Links = nil
	failed.Status[tenant.SectionGuests] = tenant.SectionStatus{State: tenant.StatePartial, Error: "page 3 timed out"}
	failed.Guests = failed.Guests[:1] // g2 not seen
	sc := record(t, s, failed)
	eq(t, "status", sc.Status, store.ScanPartial)
	eq(t, "resolved during failure", sc.FindingsResolved, int64(0))
	eq(t, "objects written", sc.ObjectsWritten, int64(0))
	eq(t, "changes", len(changes(t, s, sc.ID)), 0)
	for fp, f := range findings(t, s) {
		if !f.Active() {
			t.Errorf("finding %s resolved by an incomplete scan", fp)
		}
	}
	eq(t, "sections kept", sc.Sections[tenant.SectionLinks].Error, "permission denied")

	complete := record(t, s, Snapshot(T0.Add(2*time.Hour)))
	eq(t, "changes after recovery", len(changes(t, s, complete.ID)), 0)
	eq(t, "objects written after recovery", complete.ObjectsWritten, int64(0))
	eq(t, "transitions after recovery", len(transitions(t, s, complete.ID)), 0)
	for fp, f := range findings(t, s) {
		eq(t, fp+" state", f.State, store.FindingOpen)
		eq(t, fp+" reopen count", f.ReopenCount, 0)
		eq(t, fp+" last seen", f.LastSeen, T0.Add(2*time.Hour))
	}
	all, err := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if x.FindingsResolved != 0 {
			t.Errorf("scan %d resolved %d findings", x.ID, x.FindingsResolved)
		}
	}

	// The same drift fixed while the section is failing is not noticed...
	fixedButFailed := Snapshot(T0.Add(3 * time.Hour))
	fixedButFailed.Links[1].Scope = tenant.LinkScopeUsers
	fixedButFailed.Status[tenant.SectionLinks] = tenant.SectionStatus{State: tenant.StatePartial}
	sc = record(t, s, fixedButFailed)
	eq(t, "resolved by partial scan", sc.FindingsResolved, int64(0))
	// ...until the section is complete again.
	fixed := Snapshot(T0.Add(4 * time.Hour))
	fixed.Links[1].Scope = tenant.LinkScopeUsers
	sc = record(t, s, fixed)
	eq(t, "resolved by complete scan", transitions(t, s, sc.ID), map[string]store.TransitionKind{linkFP("2"): store.TransitionResolved})
	eq(t, "change", changeSummary(changes(t, s, sc.ID)), []string{"modified link:drive1/item2/perm2 scope"})
}

// testIncompleteBlank: objects of an incomplete section that arrive with
// their fields empty, or not at all, are neither modified nor removed: the
// stored state stays the last complete one, and the next complete scan
// compares with it.
func testIncompleteBlank(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	record(t, s, Snapshot(T0))
	snap := Snapshot(T0.Add(time.Hour))
	snap.Status[tenant.SectionLinks] = tenant.SectionStatus{State: tenant.StatePartial, Error: "page 2 timed out"}
	snap.Links = snap.Links[:2]
	snap.Links[1] = tenant.Link{DriveID: "drive1", ItemID: "item2", PermissionID: "perm2"} // identity only
	snap.Status[tenant.SectionSharePoint] = tenant.SectionStatus{State: tenant.StatePartial, Error: "CSOM unavailable"}
	snap.SharePoint = &tenant.SharePointSettings{}
	sc := record(t, s, snap)
	eq(t, "objects written", sc.ObjectsWritten, int64(0))
	eq(t, "changes", len(changes(t, s, sc.ID)), 0)
	eq(t, "resolved", sc.FindingsResolved, int64(0))
	eq(t, "transitions", len(transitions(t, s, sc.ID)), 0)
	docs := map[string]string{}
	err := s.CurrentObjects(ctx, Tenant, tenant.SectionLinks, func(o drift.Object) error {
		docs[o.Key] = string(o.Doc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "stored links", len(docs), 3)
	if d := docs["link:drive1/item2/perm2"]; !strings.Contains(d, `"anonymous"`) {
		t.Errorf("stored link 2 = %s, want the last complete one", d)
	}
	sc = record(t, s, Snapshot(T0.Add(2*time.Hour)))
	eq(t, "changes after recovery", len(changes(t, s, sc.ID)), 0)
	eq(t, "transitions after recovery", len(transitions(t, s, sc.ID)), 0)
}

// withDuplicate appends a second report of guest g2's failure with
// another message.
func withDuplicate(results []tenant.Result) []tenant.Result {
	for _, r := range results {
		if r.ObjectKey == "guest:g2" {
			r.Message = "second report"
			return append(results, r)
		}
	}
	return results
}

// testDuplicateResults: a rule reporting the same object twice in one
// scan opens (and later keeps) one finding, with the first result's content.
func testDuplicateResults(t *testing.T, s store.Store, _ *Clock) {
	for i, at := range []time.Time{T0, T0.Add(time.Hour)} {
		snap := Snapshot(at)
		results := withDuplicate(Evaluate(snap))
		sc, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: results})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "open", sc.FindingsOpen, int64(3))
		eq(t, "new", sc.FindingsNew, map[int]int64{0: 3, 1: 0}[i])
		g := findings(t, s)[guestFP]
		eq(t, "message of the first result", g.Message, "")
		eq(t, "last seen", g.LastSeen, at)
	}
}

func testExceptions(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	record(t, s, Snapshot(T0))
	snap := Snapshot(T0.Add(time.Hour))
	results := Evaluate(snap)
	for i := range results {
		if results[i].ObjectKey == "guest:g2" {
			results[i].Exception = "vendor-onboarding"
		}
	}
	sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "excepted finding resolved", transitions(t, s, sc.ID), map[string]store.TransitionKind{guestFP: store.TransitionResolved})
	ex, err := s.ExceptionsInUse(ctx, Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 || ex[0].Exception != "vendor-onboarding" || ex[0].ObjectKey != "guest:g2" {
		t.Errorf("exceptions in use = %+v", ex)
	}
}

func testHistory(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	var ids []int64
	for i := 0; i < 3; i++ {
		snap := Snapshot(T0.Add(time.Duration(i) * 24 * time.Hour))
		if i == 2 {
			snap.Links[0].Scope = tenant.LinkScopeOrganization
		}
		ids = append(ids, record(t, s, snap).ID)
	}
	other := Snapshot(T0)
	other.Tenant = "fabrikam.example"
	record(t, s, other)

	scans, err := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, sc := range scans {
		got = append(got, sc.ID)
	}
	eq(t, "newest first", got, []int64{ids[2], ids[1], ids[0]})
	scans, _ = s.Scans(ctx, store.ScanFilter{Tenant: Tenant, Since: T0.Add(36 * time.Hour)})
	eq(t, "since", len(scans), 1)
	scans, _ = s.Scans(ctx, store.ScanFilter{Limit: 2})
	eq(t, "limit across tenants", len(scans), 2)
	// Keyset pages: each page starts below the last ID of the one before.
	var paged []int64
	for before := int64(0); ; {
		page, err := s.Scans(ctx, store.ScanFilter{Tenant: Tenant, BeforeID: before, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range page {
			paged = append(paged, sc.ID)
		}
		if len(page) < 2 {
			break
		}
		before = page[len(page)-1].ID
	}
	eq(t, "scans paged by keyset", paged, []int64{ids[2], ids[1], ids[0]})

	cs, err := s.Changes(ctx, store.ChangeFilter{Tenant: Tenant, Since: T0.Add(36 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "changes since", changeSummary(cs), []string{"modified link:drive1/item1/perm1 scope"})
	cs, _ = s.Changes(ctx, store.ChangeFilter{Tenant: Tenant, Kind: drift.Added})
	eq(t, "no additions", len(cs), 0)
	cs, _ = s.Changes(ctx, store.ChangeFilter{Tenant: Tenant, Section: tenant.SectionLinks})
	eq(t, "links changes", len(cs), 1)
	all, _ := s.Changes(ctx, store.ChangeFilter{Tenant: Tenant})
	if len(all) == 0 {
		t.Fatal("no changes to page")
	}
	var pagedChanges []int64
	for after := int64(0); ; {
		page, err := s.Changes(ctx, store.ChangeFilter{Tenant: Tenant, AfterID: after, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pagedChanges = append(pagedChanges, page[0].ID)
		after = page[0].ID
	}
	var allIDs []int64
	for _, c := range all {
		allIDs = append(allIDs, c.ID)
	}
	eq(t, "changes paged by keyset", pagedChanges, allIDs)

	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != Tenant || ts[0].LastScanID != ids[2] || ts[0].TenantID == "" {
		t.Errorf("tenants = %+v", ts)
	}
	if _, err := s.Scan(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown scan: %v", err)
	}
}
