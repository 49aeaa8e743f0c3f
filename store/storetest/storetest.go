// Package storetest is the conformance suite every store.Store
// implementation must pass. Run it from the implementation's tests with a
// factory that returns a fresh, empty, migrated store per call.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// NewStore returns a fresh, empty store using opts (which carry the test
// clock). It must register its own cleanup.
type NewStore func(t *testing.T, opts store.Options) store.Store

// Run runs the conformance suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, c *Clock)
	}{
		{"Migrations", testMigrations},
		{"FirstScanIsBaseline", testFirstScan},
		{"UnchangedRescanWritesNothing", testUnchanged},
		{"ChangesAndTransitions", testChanges},
		{"Reopen", testReopen},
		{"IncompleteSectionNeverResolvesOrRemoves", testIncomplete},
		{"IncompleteSectionBlankFieldsChangeNothing", testIncompleteBlank},
		{"UnknownDoesNotResolve", testUnknown},
		{"UnknownChangesNoFinding", testUnknownNoRewrite},
		{"RuleWideUnknownHoldsTheRulesFindings", testRuleWideUnknown},
		{"LastSeenOnlyWhenSeenFailing", testLastSeen},
		{"DuplicateResultsOneFinding", testDuplicateResults},
		{"ExceptionsInUse", testExceptions},
		{"SeverityEscalation", testEscalation},
		{"AckAndSnooze", testAckSnooze},
		{"AcceptRisk", testAcceptRisk},
		{"FindingFilters", testFindingFilters},
		{"ScanHistory", testHistory},
		{"RejectsBadInput", testBadInput},
		{"DeltaTokens", testDeltaTokens},
		{"Leases", testLeases},
		{"FencedScan", testFence},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrent},
		{"OutboxThreadIsLatestAnnouncement", testOutboxLatestThread},
		{"OutboxDigestMembers", testOutboxDigestMembers},
		{"OutboxClaimBookkeeping", testOutboxClaims},
		{"RemediationAudit", testRemediation},
		{"Prune", testPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(T0.Add(time.Hour))
			s := newStore(t, store.Options{Now: c.Now})
			tc.fn(t, s, c)
		})
	}
	t.Run("SpooledResultsLikeHeldResults", func(t *testing.T) { testSpooled(t, newStore) })
}

// testSpooled records the same scans into two stores, one with the
// results held in a slice and one with them streamed from a spool that
// spills every few results, and expects the same findings, counters and
// stored results: new, duplicate, unknown, resolved, reopened, refreshed
// and incomplete-section findings all go through both paths.
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

// record stores snap with results from Evaluate.
func record(t *testing.T, s store.Store, snap *tenant.Snapshot) store.Scan {
	t.Helper()
	sc, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: Evaluate(snap), Baseline: "test"})
	if err != nil {
		t.Fatalf("RecordScan: %v", err)
	}
	return sc
}

func fingerprint(rule, key, expected string) string {
	r := tenant.Result{RuleID: rule, ObjectKey: key, Expected: expected}
	return r.Fingerprint()
}

func linkFP(perm string) string {
	l := Link(perm, "")
	return fingerprint(RuleAnyoneLink, l.Key(), "no Anyone links")
}

var guestFP = fingerprint(RuleGuestSponsor, "guest:g2", "at least one sponsor")

// findings returns tenant findings by fingerprint.
func findings(t *testing.T, s store.Store) map[string]store.Finding {
	t.Helper()
	fs, err := s.FindingsList(context.Background(), store.FindingFilter{Tenant: Tenant})
	if err != nil {
		t.Fatalf("FindingsList: %v", err)
	}
	m := map[string]store.Finding{}
	for _, f := range fs {
		m[f.Fingerprint] = f
	}
	return m
}

func transitions(t *testing.T, s store.Store, scanID int64) map[string]store.TransitionKind {
	t.Helper()
	ts, err := s.Transitions(context.Background(), scanID)
	if err != nil {
		t.Fatalf("Transitions: %v", err)
	}
	m := map[string]store.TransitionKind{}
	for _, tr := range ts {
		m[tr.Finding.Fingerprint] = tr.Kind
	}
	return m
}

func changes(t *testing.T, s store.Store, scanID int64) []store.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), store.ChangeFilter{Tenant: Tenant, ScanID: scanID})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return cs
}

func changeSummary(cs []store.Change) []string {
	var out []string
	for _, c := range cs {
		var paths []string
		for _, f := range c.Fields {
			paths = append(paths, f.Path)
		}
		out = append(out, fmt.Sprintf("%s %s %s", c.Kind, c.Key, strings.Join(paths, ",")))
	}
	sort.Strings(out)
	return out
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testMigrations(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	cur, sup, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur != sup || sup < 1 {
		t.Fatalf("schema version %d, supported %d", cur, sup)
	}
	n, err := s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, err %v", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Driver() == "" || s.Target() == "" {
		t.Error("empty driver or target")
	}
}

func testFirstScan(t *testing.T, s store.Store, _ *Clock) {
	sc := record(t, s, Snapshot(T0))
	eq(t, "status", sc.Status, store.ScanComplete)
	eq(t, "objects seen", sc.ObjectsSeen, int64(ObjectCount))
	eq(t, "objects written", sc.ObjectsWritten, int64(ObjectCount))
	eq(t, "changes (first scan is the baseline)", sc.Changes, int64(0))
	eq(t, "new findings", sc.FindingsNew, int64(3))
	eq(t, "open findings", sc.FindingsOpen, int64(3))
	eq(t, "stats summed from sections", sc.Stats, store.ScanStats{APICalls: 14, RU: 21})

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

func testUnknown(t *testing.T, s store.Store, _ *Clock) {
	record(t, s, Snapshot(T0))
	snap := Snapshot(T0.Add(time.Hour))
	results := Evaluate(snap)
	for i := range results {
		if results[i].ObjectKey == "link:drive1/item2/perm2" {
			results[i].Outcome = tenant.Unknown
		}
	}
	sc, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "resolved", sc.FindingsResolved, int64(0))
	eq(t, "state", findings(t, s)[linkFP("2")].State, store.FindingOpen)
}

// testUnknownNoRewrite: an unknown result leaves its finding exactly as it
// was (content, state, last_seen), even when a failing result of the same
// fingerprint comes with it, and opens nothing for a new fingerprint.
func testUnknownNoRewrite(t *testing.T, s store.Store, _ *Clock) {
	sc1 := record(t, s, Snapshot(T0))
	before := findings(t, s)
	l2, l3 := linkFP("2"), linkFP("3")
	snap := Snapshot(T0.Add(time.Hour))
	results := Evaluate(snap)
	for i := range results {
		r := &results[i]
		switch r.ObjectKey {
		case "link:drive1/item2/perm2":
			r.Outcome, r.Severity, r.Actual, r.Message = tenant.Unknown, tenant.SeverityCritical, "unreadable", "link scope missing"
		case "link:drive1/item3/perm3":
			// Failing (so the links mark moves) and unknown at once.
			r.Actual, r.Message = "anonymous (edit)", "seen with partial data"
			u := *r
			u.Outcome = tenant.Unknown
			results = append(results, u)
		}
	}
	unseen := Link("9", tenant.LinkScopeAnonymous)
	results = append(results, tenant.Result{RuleID: RuleAnyoneLink, Section: tenant.SectionLinks, Severity: tenant.SeverityHigh,
		ObjectKey: unseen.Key(), Outcome: tenant.Unknown, Expected: "no Anyone links"})
	sc, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	type counters struct{ New, Reopened, Resolved, Open int64 }
	eq(t, "counters", counters{sc.FindingsNew, sc.FindingsReopened, sc.FindingsResolved, sc.FindingsOpen}, counters{0, 0, 0, 3})
	eq(t, "transitions", len(transitions(t, s, sc.ID)), 0)
	after := findings(t, s)
	eq(t, "findings", len(after), 3)
	for _, fp := range []string{l2, l3} {
		eq(t, "unknown "+fp, after[fp], before[fp])
		eq(t, "last scan of "+fp, after[fp].LastScanID, sc1.ID)
	}
	eq(t, "guest seen failing", after[guestFP].LastSeen, snap.CollectedAt)

	// Judged again: link 3 is refreshed with the new content.
	snap = Snapshot(T0.Add(2 * time.Hour))
	sc3, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap,
		Results: withMessage(Evaluate(snap), "link:drive1/item3/perm3", "judged again")})
	if err != nil {
		t.Fatal(err)
	}
	f := findings(t, s)[l3]
	eq(t, "refreshed", [2]any{f.Message, f.LastScanID}, [2]any{"judged again", sc3.ID})
}

// RuleWide is the result of a rule that could not be evaluated at all (a
// section it reads is incomplete): one unknown for every object it judges.
func RuleWide(rule string, sec tenant.Section) tenant.Result {
	return tenant.Result{RuleID: rule, Section: sec, Outcome: tenant.Unknown, Severity: tenant.SeverityHigh,
		ObjectKey: string(sec) + ":tenant", ObjectName: string(sec), Expected: "no Anyone links",
		Message: "a section the rule reads is incomplete", RuleWide: true}
}

// withMessage sets the message of the results about key.
func withMessage(rs []tenant.Result, key, msg string) []tenant.Result {
	for i := range rs {
		if rs[i].ObjectKey == key {
			rs[i].Message = msg
		}
	}
	return rs
}

// testRuleWideUnknown: a rule-wide unknown result holds every finding of
// its rule, though their section is complete: none is resolved, reopened
// or rewritten, and their last_seen stays at the last scan that saw them
// failing, also when other failures move the section's mark. The result
// itself opens nothing. Judged again, the rule's findings move on.
func testRuleWideUnknown(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	scan := func(at time.Time, edit func(*tenant.Snapshot, []tenant.Result) []tenant.Result) store.Scan {
		t.Helper()
		snap := Snapshot(at)
		results := Evaluate(snap)
		if edit != nil {
			results = edit(snap, results)
		}
		sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: results})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	type counters struct{ New, Reopened, Resolved, Open int64 }
	count := func(sc store.Scan) counters {
		return counters{sc.FindingsNew, sc.FindingsReopened, sc.FindingsResolved, sc.FindingsOpen}
	}
	a, b := linkFP("2"), linkFP("3")
	wide := RuleWide(RuleAnyoneLink, tenant.SectionLinks)
	l1 := Link("1", tenant.LinkScopeUsers)
	other := tenant.Result{RuleID: "links.other", Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityLow,
		ObjectKey: l1.Key(), Expected: "something else", Actual: "users"}

	sc1 := scan(T0, nil)
	before := findings(t, s)

	// Scan 2: the rule could not be evaluated; links is complete and
	// another rule fails there, so the links mark moves.
	t2 := T0.Add(time.Hour)
	sc2 := scan(t2, func(_ *tenant.Snapshot, rs []tenant.Result) []tenant.Result {
		rs = slices.DeleteFunc(rs, func(r tenant.Result) bool { return r.RuleID == RuleAnyoneLink })
		return append(rs, wide, other)
	})
	eq(t, "scan 2 counters", count(sc2), counters{New: 1, Open: 4})
	eq(t, "scan 2 transitions", transitions(t, s, sc2.ID), map[string]store.TransitionKind{other.Fingerprint(): store.TransitionNew})
	fs := findings(t, s)
	for _, fp := range []string{a, b} {
		eq(t, "scan 2 held "+fp, fs[fp], before[fp])
		eq(t, "scan 2 last seen "+fp, [2]any{fs[fp].State, fs[fp].LastSeen}, [2]any{store.FindingOpen, T0})
		eq(t, "scan 2 last scan "+fp, fs[fp].LastScanID, sc1.ID)
	}
	if _, ok := fs[wide.Fingerprint()]; ok {
		t.Error("the rule-wide result opened a finding")
	}
	eq(t, "scan 2 other last seen", fs[other.Fingerprint()].LastSeen, t2)
	last, err := s.FindingsList(ctx, store.FindingFilter{Tenant: Tenant, ScanID: sc2.ID})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "findings last seen in scan 2", len(last), 2) // other and the guest

	// Scan 3: evaluated again, link 2 (A) fixed: A resolves, B is seen.
	t3 := T0.Add(2 * time.Hour)
	sc3 := scan(t3, func(snap *tenant.Snapshot, _ []tenant.Result) []tenant.Result {
		snap.Links[1].Scope = tenant.LinkScopeUsers
		return Evaluate(snap)
	})
	eq(t, "scan 3 transitions", transitions(t, s, sc3.ID), map[string]store.TransitionKind{
		a: store.TransitionResolved, other.Fingerprint(): store.TransitionResolved})
	fs = findings(t, s)
	eq(t, "scan 3 A", fs[a].State, store.FindingResolved)
	eq(t, "scan 3 B", [3]any{fs[b].State, fs[b].LastSeen, fs[b].LastScanID}, [3]any{store.FindingOpen, t3, sc3.ID})
	eq(t, "scan 3 resolved", sc3.FindingsResolved, int64(2))

	// Scan 4: rule-wide unknown again, with failures of the same rule (A
	// failing again, B with a new message): A is not reopened, B not
	// rewritten.
	before = findings(t, s)
	sc4 := scan(T0.Add(3*time.Hour), func(_ *tenant.Snapshot, rs []tenant.Result) []tenant.Result {
		return append(withMessage(rs, "link:drive1/item3/perm3", "read while sites were incomplete"), wide)
	})
	eq(t, "scan 4 counters", count(sc4), counters{Open: 2})
	eq(t, "scan 4 transitions", len(transitions(t, s, sc4.ID)), 0)
	fs = findings(t, s)
	for _, fp := range []string{a, b} {
		eq(t, "scan 4 held "+fp, fs[fp], before[fp])
	}

	// Scan 5: judged again, A reopens and B is refreshed.
	t5 := T0.Add(4 * time.Hour)
	sc5 := scan(t5, nil)
	eq(t, "scan 5 transitions", transitions(t, s, sc5.ID), map[string]store.TransitionKind{a: store.TransitionReopened})
	fs = findings(t, s)
	eq(t, "scan 5 B", [2]any{fs[b].LastSeen, fs[b].LastScanID}, [2]any{t5, sc5.ID})
	all, err := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if x.ID != sc3.ID && x.FindingsResolved != 0 {
			t.Errorf("scan %d resolved %d findings", x.ID, x.FindingsResolved)
		}
	}
}

// testLastSeen: last_seen and last_scan_id move exactly for the findings
// seen failing, whatever else happens to their section in the same scan
// (an unknown outcome, a partial collection), and a changed actual value
// or message is stored.
func testLastSeen(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	scan := func(at time.Time, edit func(*tenant.Snapshot, []tenant.Result) []tenant.Result) store.Scan {
		t.Helper()
		snap := Snapshot(at)
		results := Evaluate(snap)
		if edit != nil {
			results = edit(snap, results)
		}
		sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: results})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	type seen struct {
		at   time.Time
		scan int64
	}
	check := func(step string, want map[string]seen) {
		t.Helper()
		fs := findings(t, s)
		for fp, w := range want {
			f := fs[fp]
			if f.State != store.FindingOpen || !f.LastSeen.Equal(w.at) || f.LastScanID != w.scan {
				t.Errorf("%s: %s %s: state %s last seen %v in scan %d, want open %v in scan %d",
					step, f.RuleID, f.ObjectKey, f.State, f.LastSeen, f.LastScanID, w.at, w.scan)
			}
		}
	}
	l2, l3 := linkFP("2"), linkFP("3")
	sc1 := scan(T0, nil)

	// Links partial: link 2 seen failing, link 3 not seen at all.
	t2 := T0.Add(time.Hour)
	sc2 := scan(t2, func(snap *tenant.Snapshot, rs []tenant.Result) []tenant.Result {
		snap.Status[tenant.SectionLinks] = tenant.SectionStatus{State: tenant.StatePartial}
		snap.Links = snap.Links[:2]
		out := rs[:0]
		for _, r := range rs {
			if r.ObjectKey == "link:drive1/item2/perm2" {
				r.Outcome = tenant.Fail
			}
			if r.ObjectKey != "link:drive1/item3/perm3" {
				out = append(out, r)
			}
		}
		return out
	})
	check("partial links", map[string]seen{l2: {t2, sc2.ID}, l3: {T0, sc1.ID}, guestFP: {t2, sc2.ID}})
	eq(t, "resolved by partial scan", sc2.FindingsResolved, int64(0))
	last, err := s.FindingsList(ctx, store.FindingFilter{Tenant: Tenant, ScanID: sc2.ID})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "findings last seen in the partial scan", len(last), 2)

	// Complete, link 3 unknown: it stays where it was.
	t3 := T0.Add(2 * time.Hour)
	sc3 := scan(t3, func(_ *tenant.Snapshot, rs []tenant.Result) []tenant.Result {
		for i := range rs {
			if rs[i].ObjectKey == "link:drive1/item3/perm3" {
				rs[i].Outcome = tenant.Unknown
			}
		}
		return rs
	})
	check("link 3 unknown", map[string]seen{l2: {t3, sc3.ID}, l3: {T0, sc1.ID}, guestFP: {t3, sc3.ID}})

	// Everything seen failing again.
	t4 := T0.Add(3 * time.Hour)
	sc4 := scan(t4, nil)
	check("all seen", map[string]seen{l2: {t4, sc4.ID}, l3: {t4, sc4.ID}, guestFP: {t4, sc4.ID}})
	eq(t, "transitions", len(transitions(t, s, sc4.ID)), 0)

	// A new actual value and message are stored; still no transition.
	t5 := T0.Add(4 * time.Hour)
	sc5 := scan(t5, func(_ *tenant.Snapshot, rs []tenant.Result) []tenant.Result {
		for i := range rs {
			if rs[i].ObjectKey == "guest:g2" {
				rs[i].Actual, rs[i].Message = "none (pending)", "invited 40 days ago"
			}
		}
		return rs
	})
	check("content changed", map[string]seen{l2: {t5, sc5.ID}, l3: {t5, sc5.ID}, guestFP: {t5, sc5.ID}})
	g := findings(t, s)[guestFP]
	eq(t, "refreshed content", [2]string{g.Actual, g.Message}, [2]string{"none (pending)", "invited 40 days ago"})
	eq(t, "first seen kept", g.FirstSeen, T0)
	eq(t, "transitions", len(transitions(t, s, sc5.ID)), 0)
	eq(t, "open", sc5.FindingsOpen, int64(3))
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

func testEscalation(t *testing.T, s store.Store, _ *Clock) {
	record(t, s, Snapshot(T0))
	snap := Snapshot(T0.Add(time.Hour))
	results := Evaluate(snap)
	for i := range results {
		if results[i].ObjectKey == "guest:g2" {
			results[i].Severity = tenant.SeverityCritical
		}
	}
	sc, err := s.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "transitions", transitions(t, s, sc.ID), map[string]store.TransitionKind{guestFP: store.TransitionEscalated})
	f := findings(t, s)[guestFP]
	eq(t, "severity", [2]tenant.Severity{f.PrevSeverity, f.Severity}, [2]tenant.Severity{tenant.SeverityMedium, tenant.SeverityCritical})
}

func testAckSnooze(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	record(t, s, Snapshot(T0))
	fp := linkFP("2")
	f, err := s.AckFinding(ctx, Tenant, fp[:10], store.Mark{By: "alice", Reason: "known"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "acknowledged by", f.AcknowledgedBy, "alice")
	eq(t, "acknowledged because", f.AckReason, "known")
	if f.AcknowledgedAt == nil || !f.AcknowledgedAt.Equal(c.Now()) {
		t.Errorf("acknowledged at %v", f.AcknowledgedAt)
	}
	until := c.Now().Add(7 * 24 * time.Hour)
	f, err = s.SnoozeFinding(ctx, Tenant, fp, until, store.Mark{By: "bob", Reason: "after the audit"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Snoozed(c.Now()) || f.Snoozed(until.Add(time.Second)) || f.SnoozedBy != "bob" || f.SnoozeReason != "after the audit" {
		t.Errorf("snooze = %v by %q", f.SnoozedUntil, f.SnoozedBy)
	}
	f, err = s.SnoozeFinding(ctx, Tenant, fp, time.Time{}, store.Mark{By: "bob"})
	if err != nil || f.SnoozedUntil != nil {
		t.Errorf("unsnooze: %v %v", f.SnoozedUntil, err)
	}
	if _, err := s.AckFinding(ctx, Tenant, "ffffffffffff", store.Mark{By: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack unknown: %v, want ErrNotFound", err)
	}
	if _, err := s.Finding(ctx, Tenant, ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty fingerprint: %v", err)
	}
	// Ambiguous prefix: the empty-ish prefix of one hex digit matches
	// several of three findings with high probability; use the shared
	// prefix of all fingerprints when there is one.
	all := findings(t, s)
	counts := map[string]int{}
	for k := range all {
		counts[k[:1]]++
	}
	for p, n := range counts {
		if n > 1 {
			if _, err := s.Finding(ctx, Tenant, p); !errors.Is(err, store.ErrAmbiguous) {
				t.Errorf("prefix %q: %v, want ErrAmbiguous", p, err)
			}
		}
	}
	// Reopening clears the acknowledgement: it is news again.
	fixed := Snapshot(T0.Add(time.Hour))
	fixed.Links[1].Scope = tenant.LinkScopeUsers
	record(t, s, fixed)
	record(t, s, Snapshot(T0.Add(2*time.Hour)))
	f, _ = s.Finding(ctx, Tenant, fp)
	if f.AcknowledgedAt != nil || f.AcknowledgedBy != "" {
		t.Errorf("reopened finding still acknowledged: %+v", f)
	}
}

func testFindingFilters(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	sp := Snapshot(T0)
	sp.SharePoint.SharingCapability = tenant.SharingAnyone // adds a critical
	record(t, s, sp)
	tests := []struct {
		name string
		f    store.FindingFilter
		want []string // rule ids in order
	}{
		{"all, most severe first", store.FindingFilter{Tenant: Tenant}, []string{RuleSharingLevel, RuleAnyoneLink, RuleAnyoneLink, RuleGuestSponsor}},
		{"min severity", store.FindingFilter{Tenant: Tenant, MinSeverity: tenant.SeverityHigh}, []string{RuleSharingLevel, RuleAnyoneLink, RuleAnyoneLink}},
		{"section", store.FindingFilter{Tenant: Tenant, Section: tenant.SectionGuests}, []string{RuleGuestSponsor}},
		{"rule", store.FindingFilter{RuleID: RuleAnyoneLink}, []string{RuleAnyoneLink, RuleAnyoneLink}},
		{"state resolved", store.FindingFilter{Tenant: Tenant, States: []store.FindingState{store.FindingResolved}}, nil},
		{"page", store.FindingFilter{Tenant: Tenant, Limit: 2, Offset: 1}, []string{RuleAnyoneLink, RuleAnyoneLink}},
		{"offset only", store.FindingFilter{Tenant: Tenant, Offset: 3}, []string{RuleGuestSponsor}},
		{"other tenant", store.FindingFilter{Tenant: "nobody"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := s.FindingsList(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.RuleID)
			}
			eq(t, "rules", got, tc.want)
		})
	}
	if _, err := s.FindingsList(ctx, store.FindingFilter{MinSeverity: "urgent"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad severity: %v", err)
	}
	counts, err := s.FindingCounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c.Count
	}
	eq(t, "counted", total, int64(4))
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

func testBadInput(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	if _, err := s.RecordScan(ctx, store.ScanInput{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("nil snapshot: %v", err)
	}
	snap := Snapshot(T0)
	snap.Tenant = ""
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no tenant: %v", err)
	}
	ts, _ := s.Tenants(ctx)
	eq(t, "nothing written", len(ts), 0)
	if _, err := s.Enqueue(ctx, store.OutboxMessage{Destination: "slack"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no idempotency key: %v", err)
	}
	if _, err := s.CreateRemediation(ctx, store.Remediation{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty remediation: %v", err)
	}
	if _, _, err := s.TryLease(ctx, "", "me", time.Second); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty lease name: %v", err)
	}
	// Duplicate object keys in one snapshot count once.
	dup := Snapshot(T0)
	dup.Links = append(dup.Links, dup.Links[0])
	sc, err := s.RecordScan(ctx, store.ScanInput{Snapshot: dup})
	if err != nil {
		t.Fatalf("duplicate keys: %v", err)
	}
	eq(t, "objects written with a duplicate", sc.ObjectsWritten, int64(ObjectCount))
}

func testDeltaTokens(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	tok, err := s.DeltaToken(ctx, Tenant, "drive:1")
	if err != nil || tok != "" {
		t.Fatalf("empty token: %q %v", tok, err)
	}
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0), DeltaTokens: map[string]string{"drive:1": "t1", "drive:2": "u1"}}); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:1")
	eq(t, "token after scan", tok, "t1")
	// A scan that does not commit does not advance tokens.
	fence := &store.Lease{Name: "tenant:" + Tenant, Owner: "ghost", Generation: 7}
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0.Add(time.Hour)), DeltaTokens: map[string]string{"drive:1": "t2"}, Fence: fence}); err == nil {
		t.Fatal("fenced scan without lease committed")
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:1")
	eq(t, "token after failed scan", tok, "t1")
	if err := s.SetDeltaToken(ctx, Tenant, "drive:2", "u2"); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:2")
	eq(t, "set token", tok, "u2")
	if err := s.SetDeltaToken(ctx, Tenant, "drive:2", ""); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.DeltaToken(ctx, Tenant, "drive:2")
	eq(t, "cleared token", tok, "")
	if err := s.SetDeltaToken(ctx, "new-tenant.example", "k", "v"); err != nil {
		t.Fatalf("token for an unseen tenant: %v", err)
	}
}

func testLeases(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	l, ok, err := s.TryLease(ctx, "tenant:a", "r1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	eq(t, "generation", l.Generation, int64(1))
	eq(t, "expires", l.ExpiresAt, c.Now().Add(time.Minute))
	l2, ok, err := s.TryLease(ctx, "tenant:a", "r2", time.Minute)
	if err != nil || ok {
		t.Fatalf("contended lease granted: %v %v", ok, err)
	}
	eq(t, "holder reported", l2.Owner, "r1")
	if _, ok, _ := s.TryLease(ctx, "tenant:b", "r2", time.Minute); !ok {
		t.Error("other lease not granted")
	}
	c.Advance(30 * time.Second)
	l, err = s.RenewLease(ctx, "tenant:a", "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "renewed", l.ExpiresAt, c.Now().Add(time.Minute))
	if _, err := s.RenewLease(ctx, "tenant:a", "r2", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("renew by non-holder: %v", err)
	}
	l, ok, _ = s.TryLease(ctx, "tenant:a", "r1", time.Minute)
	if !ok || l.Generation != 1 {
		t.Errorf("re-acquire by holder: ok=%v gen=%d", ok, l.Generation)
	}
	c.Advance(61 * time.Second) // expired: a dead replica's tenant is taken over
	l, ok, _ = s.TryLease(ctx, "tenant:a", "r2", time.Minute)
	if !ok || l.Generation != 2 || l.Owner != "r2" {
		t.Errorf("takeover: ok=%v %+v", ok, l)
	}
	if _, err := s.RenewLease(ctx, "tenant:a", "r1", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("renew after takeover: %v", err)
	}
	if err := s.ReleaseLease(ctx, "tenant:a", "r2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.TryLease(ctx, "tenant:a", "r3", time.Minute); !ok {
		t.Error("released lease not granted")
	}
	ls, err := s.ListLeases(ctx)
	if err != nil || len(ls) != 2 {
		t.Errorf("leases: %+v %v", ls, err)
	}

	// Many replicas racing: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, ok, err := s.TryLease(ctx, "tenant:race", fmt.Sprintf("r%d", i), time.Minute)
			if err != nil {
				t.Errorf("racing lease: %v", err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	eq(t, "winners", winners, 1)
}

func testFence(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	l, _, err := s.TryLease(ctx, "tenant:"+Tenant, "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0), Fence: &l}); err != nil {
		t.Fatalf("fenced scan by holder: %v", err)
	}
	c.Advance(2 * time.Minute)
	if _, ok, _ := s.TryLease(ctx, "tenant:"+Tenant, "r2", time.Minute); !ok {
		t.Fatal("takeover failed")
	}
	_, err = s.RecordScan(ctx, store.ScanInput{Snapshot: Snapshot(T0.Add(time.Hour)), Fence: &l})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale replica committed: %v", err)
	}
	scans, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	eq(t, "scans", len(scans), 1)
}

func testOutbox(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	msg := func(key, dest string) store.OutboxMessage {
		return store.OutboxMessage{IdempotencyKey: key, Tenant: Tenant, Destination: dest, Kind: "new", Fingerprint: "fp-" + key,
			Payload: []byte(`{"text": "exact bytes"}`)}
	}
	n, err := s.Enqueue(ctx, msg("a", "slack"), msg("b", "slack"), msg("c", "webhook"))
	if err != nil || n != 3 {
		t.Fatalf("enqueue: %d %v", n, err)
	}
	n, err = s.Enqueue(ctx, msg("a", "slack"), msg("d", "slack"))
	if err != nil || n != 1 {
		t.Fatalf("enqueue with a duplicate key: %d %v", n, err)
	}
	later := msg("e", "slack")
	later.NextAttemptAt = c.Now().Add(time.Hour)
	s.Enqueue(ctx, later)

	got, err := s.ClaimDue(ctx, "w1", 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].IdempotencyKey != "a" || got[1].IdempotencyKey != "b" {
		t.Fatalf("claimed %+v", got)
	}
	eq(t, "payload kept", string(got[0].Payload), `{"text": "exact bytes"}`)
	eq(t, "claimed by", got[0].ClaimedBy, "w1")
	rest, _ := s.ClaimDue(ctx, "w2", 10, time.Minute)
	var keys []string
	for _, m := range rest {
		keys = append(keys, m.IdempotencyKey)
	}
	eq(t, "second worker gets the rest that is due", keys, []string{"c", "d"})

	if err := s.MarkSent(ctx, got[0].ID, "C123:1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, got[1].ID, "w2", "boom", c.Now().Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("fail by non-owner: %v", err)
	}
	if err := s.MarkFailed(ctx, got[1].ID, "w1", "slack 500", c.Now().Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// w2 dies holding c and d: after the visibility timeout they come back.
	c.Advance(2 * time.Minute)
	again, _ := s.ClaimDue(ctx, "w3", 10, time.Minute)
	keys = nil
	for _, m := range again {
		keys = append(keys, m.IdempotencyKey)
	}
	eq(t, "reclaimed after lease expiry", keys, []string{"c", "d"})
	for _, m := range again {
		if err := s.MarkFailed(ctx, m.ID, "w3", "timeout", c.Now().Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(4 * time.Minute)
	retry, _ := s.ClaimDue(ctx, "w3", 10, time.Minute)
	if len(retry) != 1 || retry[0].IdempotencyKey != "b" || retry[0].Attempts != 1 || retry[0].LastError != "slack 500" {
		t.Fatalf("retry = %+v", retry)
	}
	if err := s.MarkDead(ctx, retry[0].ID, "invalid_blocks"); err != nil {
		t.Fatal(err)
	}
	ref, ok, err := s.ThreadRef(ctx, "slack", "fp-a")
	if err != nil || !ok || ref != "C123:1700000000.000100" {
		t.Errorf("thread ref = %q %v %v", ref, ok, err)
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-b"); ok {
		t.Error("thread ref of an undelivered message")
	}
	if err := s.MarkSent(ctx, 99999, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mark unknown: %v", err)
	}
	c.Advance(2 * time.Hour)
	n, err = s.DeadLetterExpired(ctx, c.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "dead-lettered (c, d, e)", n, 3)
	stats, err := s.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got2 := map[string]int64{}
	for _, st := range stats {
		got2[st.Destination+"/"+string(st.State)] = st.Count
	}
	eq(t, "stats", got2, map[string]int64{"slack/sent": 1, "slack/dead": 3, "webhook/dead": 1})
	dead, _ := s.OutboxMessages(ctx, store.OutboxFilter{State: store.OutboxDead, Destination: "slack"})
	eq(t, "dead slack", len(dead), 3)
	if dead[0].LastError != "invalid_blocks" {
		t.Errorf("dead reason = %q", dead[0].LastError)
	}
}

func testOutboxConcurrent(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	var msgs []store.OutboxMessage
	for i := 0; i < 40; i++ {
		msgs = append(msgs, store.OutboxMessage{IdempotencyKey: fmt.Sprintf("k%02d", i), Destination: "slack", Payload: []byte("{}")})
	}
	if _, err := s.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", w)
			for {
				got, err := s.ClaimDue(ctx, owner, 3, time.Minute)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if prev, dup := seen[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	eq(t, "claimed", len(seen), 40)
}

func testRemediation(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	plan := []byte(`{"op":"DELETE","path":"/drives/d/items/i/permissions/p"}`)
	id, err := s.CreateRemediation(ctx, store.Remediation{Tenant: Tenant, Fingerprint: "fp1", RuleID: RuleAnyoneLink,
		ObjectKey: "link:d/i/p", RunID: "run1", Seq: 1, Action: "remove-link", Mode: "approve", Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Remediation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "state", r.State, store.RemediationPlanned)
	eq(t, "plan", string(r.Plan), string(plan))
	if r.Before != nil || r.ApprovedAt != nil {
		t.Errorf("unset fields: %+v", r)
	}
	at := c.Now()
	r.State, r.ApprovedBy, r.ApprovedAt = store.RemediationApproved, "U123", &at
	if err := s.UpdateRemediation(ctx, r, store.RemediationPlanned); err != nil {
		t.Fatal(err)
	}
	// A second approval (e.g. a double click) conflicts.
	if err := s.UpdateRemediation(ctx, r, store.RemediationPlanned); !errors.Is(err, store.ErrConflict) {
		t.Errorf("double approval: %v", err)
	}
	r.State, r.Before, r.After, r.Result = store.RemediationApplied, []byte(`{"scope":"anonymous"}`), []byte(`null`), "deleted, verified"
	if err := s.UpdateRemediation(ctx, r, store.RemediationApproved); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Remediation(ctx, id)
	eq(t, "approved by", got.ApprovedBy, "U123")
	eq(t, "before", string(got.Before), `{"scope":"anonymous"}`)
	eq(t, "result", got.Result, "deleted, verified")
	eq(t, "state", got.State, store.RemediationApplied)
	id2, _ := s.CreateRemediation(ctx, store.Remediation{Tenant: Tenant, RunID: "run1", Seq: 2, Action: "set-site-sharing",
		State: store.RemediationFailed, Error: "403"})
	list, err := s.Remediations(ctx, store.RemediationFilter{RunID: "run1"})
	if err != nil || len(list) != 2 || list[0].ID != id || list[1].ID != id2 {
		t.Errorf("list = %+v %v", list, err)
	}
	list, _ = s.Remediations(ctx, store.RemediationFilter{State: store.RemediationFailed})
	eq(t, "failed", len(list), 1)
	if _, err := s.Remediation(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func testPrune(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	day := 24 * time.Hour
	record(t, s, Snapshot(T0))
	s1 := Snapshot(T0.Add(day))
	s1.Links[0].Scope = tenant.LinkScopeOrganization // a version superseded later
	s1.Links[2].Scope = tenant.LinkScopeUsers        // link 3 finding resolved on day 1
	record(t, s, s1)
	s2 := Snapshot(T0.Add(10 * day))
	s2.Links[0].Scope = tenant.LinkScopeOrganization
	s2.Links[2].Scope = tenant.LinkScopeUsers
	s2.Guests = s2.Guests[1:] // removed on day 10
	last := record(t, s, s2)
	s.Enqueue(ctx, store.OutboxMessage{IdempotencyKey: "old", Destination: "slack", Payload: []byte("{}")})
	old, _ := s.ClaimDue(ctx, "w", 1, time.Minute)
	s.MarkSent(ctx, old[0].ID, "")

	c.Advance(5 * day)
	st, err := s.Prune(ctx, T0.Add(5*day))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "scans pruned", st.Scans, int64(2))
	eq(t, "resolved findings pruned", st.Findings, int64(1))
	eq(t, "outbox pruned", st.Outbox, int64(1))
	if st.ObjectVersions < 1 {
		t.Errorf("no object versions pruned: %+v", st)
	}
	scans, _ := s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	if len(scans) != 1 || scans[0].ID != last.ID {
		t.Fatalf("kept scans %+v", scans)
	}
	// The current state survived: an identical scan writes nothing and
	// changes nothing.
	s3 := Snapshot(T0.Add(11 * day))
	s3.Links, s3.Guests = s2.Links, s2.Guests
	sc := record(t, s, s3)
	eq(t, "objects written after prune", sc.ObjectsWritten, int64(0))
	eq(t, "changes after prune", sc.Changes, int64(0))
	// Everything is pruned but the latest scan when the cutoff is later.
	if _, err := s.Prune(ctx, T0.Add(100*day)); err != nil {
		t.Fatal(err)
	}
	scans, _ = s.Scans(ctx, store.ScanFilter{Tenant: Tenant})
	eq(t, "latest scan always kept", len(scans), 1)
	n := 0
	s.CurrentObjects(ctx, Tenant, tenant.SectionLinks, func(drift.Object) error { n++; return nil })
	eq(t, "current links kept", n, 3)
}

// sendOne enqueues a message, claims it and marks it sent with ref.
func sendOne(t *testing.T, s store.Store, m store.OutboxMessage, ref string) store.OutboxMessage {
	t.Helper()
	ctx := context.Background()
	if n, err := s.Enqueue(ctx, m); err != nil || n != 1 {
		t.Fatalf("enqueue %s: %d %v", m.IdempotencyKey, n, err)
	}
	got, err := s.ClaimDue(ctx, "w1", 10, time.Minute)
	if err != nil || len(got) != 1 || got[0].IdempotencyKey != m.IdempotencyKey {
		t.Fatalf("claim %s: %+v %v", m.IdempotencyKey, got, err)
	}
	if err := s.MarkSent(ctx, got[0].ID, ref); err != nil {
		t.Fatal(err)
	}
	return got[0]
}

func testOutboxLatestThread(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	msg := func(key, kind string) store.OutboxMessage {
		return store.OutboxMessage{IdempotencyKey: key, Destination: "slack", Kind: kind, Fingerprint: "fp-x", Payload: []byte("{}")}
	}
	first := sendOne(t, s, msg("new/x/1", "new"), "ref-first")
	c.Advance(time.Minute)
	resolved := sendOne(t, s, msg("resolved/x/2", "resolved"), "") // a reply: no reference of its own
	c.Advance(time.Minute)
	sendOne(t, s, msg("reopened/x/3", "reopened"), "ref-reopened")
	c.Advance(time.Minute)
	sendOne(t, s, msg("reminder/x/3", "reminder"), "")

	ref, ok, err := s.ThreadRef(ctx, "slack", "fp-x")
	if err != nil || !ok {
		t.Fatalf("thread ref: %v %v", ok, err)
	}
	eq(t, "thread after a reopen", ref, "ref-reopened")
	ref, ok, err = s.ThreadRefBefore(ctx, "slack", "fp-x", resolved.ID)
	if err != nil || !ok {
		t.Fatalf("thread ref before: %v %v", ok, err)
	}
	eq(t, "thread of the first resolution", ref, "ref-first")
	if _, ok, _ := s.ThreadRefBefore(ctx, "slack", "fp-x", first.ID); ok {
		t.Error("thread ref before the first announcement")
	}
	if _, ok, _ := s.ThreadRef(ctx, "webhook", "fp-x"); ok {
		t.Error("thread ref at another destination")
	}

	// A later announcement delivered first (the earlier one was held up)
	// does not change which one is latest: enqueue order decides.
	late := msg("new/y/1", "new")
	late.Fingerprint = "fp-y"
	if _, err := s.Enqueue(ctx, late); err != nil {
		t.Fatal(err)
	}
	esc := msg("escalated/y/2", "escalated")
	esc.Fingerprint = "fp-y"
	if _, err := s.Enqueue(ctx, esc); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDue(ctx, "w1", 10, time.Minute)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim: %+v %v", got, err)
	}
	c.Advance(time.Second)
	if err := s.MarkSent(ctx, got[1].ID, "ref-escalated"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if err := s.MarkSent(ctx, got[0].ID, "ref-new"); err != nil {
		t.Fatal(err)
	}
	ref, _, _ = s.ThreadRef(ctx, "slack", "fp-y")
	eq(t, "thread when sent out of order", ref, "ref-escalated")
}

func testOutboxDigestMembers(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	digest := store.OutboxMessage{IdempotencyKey: "digest/slack/1", Destination: "slack", Kind: "digest", Members: []string{"fp-a", "fp-b", "fp-a"},
		Payload: []byte("{}")}
	if n, err := s.Enqueue(ctx, digest); err != nil || n != 1 {
		t.Fatalf("enqueue digest: %d %v", n, err)
	}
	// Enqueuing the same key again keeps the first members.
	again := digest
	again.Members = []string{"fp-c"}
	if n, err := s.Enqueue(ctx, again); err != nil || n != 0 {
		t.Fatalf("enqueue digest again: %d %v", n, err)
	}
	res := store.OutboxMessage{IdempotencyKey: "resolved/slack/fp-a/2", Destination: "slack", Kind: "resolved", Fingerprint: "fp-a", Payload: []byte("{}")}
	if _, err := s.Enqueue(ctx, res); err != nil {
		t.Fatal(err)
	}
	all, _ := s.OutboxMessages(ctx, store.OutboxFilter{})
	resID := all[len(all)-1].ID
	for _, tc := range []struct {
		fp   string
		want bool
	}{{"fp-a", true}, {"fp-b", true}, {"fp-c", false}, {"fp-z", false}} {
		got, err := s.PendingBefore(ctx, "slack", tc.fp, resID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "pending before the resolution of "+tc.fp, got, tc.want)
	}
	if got, _ := s.PendingBefore(ctx, "webhook", "fp-a", resID); got {
		t.Error("pending at another destination")
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-a"); ok {
		t.Error("thread ref of an undelivered digest")
	}

	claimed, err := s.ClaimDue(ctx, "w1", 1, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].IdempotencyKey != digest.IdempotencyKey {
		t.Fatalf("claim digest: %+v %v", claimed, err)
	}
	if err := s.MarkSent(ctx, claimed[0].ID, "ref-digest"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PendingBefore(ctx, "slack", "fp-a", resID); got {
		t.Error("digest still pending after it was sent")
	}
	for _, fp := range []string{"fp-a", "fp-b"} {
		ref, ok, err := s.ThreadRef(ctx, "slack", fp)
		if err != nil || !ok || ref != "ref-digest" {
			t.Errorf("thread of digest member %s = %q %v %v", fp, ref, ok, err)
		}
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-c"); ok {
		t.Error("thread ref of a finding the digest did not list")
	}

	// Pruning a sent digest takes its members along.
	c.Advance(48 * time.Hour)
	if _, err := s.Prune(ctx, c.Now()); err != nil {
		t.Fatalf("prune with digest members: %v", err)
	}
	if _, ok, _ := s.ThreadRef(ctx, "slack", "fp-a"); ok {
		t.Error("thread ref of a pruned digest")
	}
}

func testOutboxClaims(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, store.OutboxMessage{IdempotencyKey: "k", Destination: "slack", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	first := c.Now()
	got, err := s.ClaimDue(ctx, "w1", 1, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %+v %v", got, err)
	}
	eq(t, "claims after the first claim", got[0].Claims, 1)
	if got[0].FirstClaimedAt == nil || !got[0].FirstClaimedAt.Equal(first) {
		t.Errorf("first claimed at = %v, want %v", got[0].FirstClaimedAt, first)
	}
	// w1 dies; the message comes back after its lease.
	c.Advance(2 * time.Minute)
	got, err = s.ClaimDue(ctx, "w2", 1, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("reclaim: %+v %v", got, err)
	}
	eq(t, "claims after the lease ran out", got[0].Claims, 2)
	eq(t, "attempts after the lease ran out", got[0].Attempts, 0)
	if got[0].FirstClaimedAt == nil || !got[0].FirstClaimedAt.Equal(first) {
		t.Errorf("first claimed at moved: %v, want %v", got[0].FirstClaimedAt, first)
	}
	if err := s.MarkFailed(ctx, got[0].ID, "w2", "slack 500", c.Now()); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ClaimDue(ctx, "w3", 1, time.Minute)
	if len(got) != 1 || got[0].Claims != 3 || got[0].Attempts != 1 {
		t.Fatalf("after a failure: %+v", got)
	}
}

// testAcceptRisk stores an accepted risk with the finding's value, lists
// it while it holds, and refuses one without reason, owner or future
// expiry, or on a resolved finding.
func testAcceptRisk(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	record(t, s, Snapshot(T0))
	fp := linkFP("2")
	until := c.Now().Add(30 * 24 * time.Hour)
	for _, bad := range []store.Acceptance{
		{Owner: "alice", Until: until},
		{Reason: "press kit", Until: until},
		{Reason: "press kit", Owner: "alice", Until: c.Now().Add(-time.Second)},
	} {
		if _, err := s.AcceptRisk(ctx, Tenant, fp, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("accept %+v: %v, want ErrInvalid", bad, err)
		}
	}
	f, err := s.AcceptRisk(ctx, Tenant, fp[:12], store.Acceptance{Reason: "press kit", Owner: "alice", By: "bob", Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if f.Accepted == nil {
		t.Fatal("no acceptance stored")
	}
	eq(t, "accepted value", f.Accepted.Value, "anonymous")
	eq(t, "accepted", [3]string{f.Accepted.Reason, f.Accepted.Owner, f.Accepted.By}, [3]string{"press kit", "alice", "bob"})
	eq(t, "accepted until", f.Accepted.Until.Equal(until), true)
	if f.AcknowledgedAt == nil || f.AckReason != "risk accepted: press kit" {
		t.Errorf("accepting does not acknowledge: %v %q", f.AcknowledgedAt, f.AckReason)
	}
	got, err := s.AcceptedRisks(ctx, Tenant, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "accepted risks now", len(got), 1)
	if got, _ = s.AcceptedRisks(ctx, Tenant, until); len(got) != 0 {
		t.Errorf("accepted risks at expiry: %d, want 0", len(got))
	}
	// Link 2 gone: its finding resolves and can no longer be accepted.
	snap := Snapshot(T0.Add(time.Hour))
	snap.Links = snap.Links[:1]
	record(t, s, snap)
	if _, err := s.AcceptRisk(ctx, Tenant, linkFP("3"), store.Acceptance{Reason: "r", Owner: "o", Until: until}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("accept a resolved finding: %v, want ErrConflict", err)
	}
}
