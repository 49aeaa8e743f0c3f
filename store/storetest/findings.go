package storetest

// Findings: the lifecycle under unknown results, last seen, escalation, acknowledgement and filters.

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

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
	sp.Sites[0].SensitivityLabel = "Confidential"          // the Anyone links' site
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
		{"search object name, any case", store.FindingFilter{Tenant: Tenant, Search: "FILE2.docx"}, []string{RuleAnyoneLink}},
		{"search object key", store.FindingFilter{Tenant: Tenant, Search: "guest:g2"}, []string{RuleGuestSponsor}},
		{"search rule", store.FindingFilter{Tenant: Tenant, Search: "sponsor"}, []string{RuleGuestSponsor}},
		{"search wildcards are literal", store.FindingFilter{Tenant: Tenant, Search: "file_.docx"}, nil},
		{"search percent is literal", store.FindingFilter{Tenant: Tenant, Search: "%"}, nil},
		{"label, any case", store.FindingFilter{Tenant: Tenant, Label: "CONFIDENTIAL"}, []string{RuleAnyoneLink, RuleAnyoneLink}},
		{"label is not a prefix", store.FindingFilter{Tenant: Tenant, Label: "Confid"}, nil},
		{"label wildcards are literal", store.FindingFilter{Tenant: Tenant, Label: "Confidentia_"}, nil},
		{"label with other filters", store.FindingFilter{Tenant: Tenant, Label: "confidential", MinSeverity: tenant.SeverityCritical}, nil},
		{"label, keyset page", store.FindingFilter{Tenant: Tenant, Label: "confidential", Limit: 1}, []string{RuleAnyoneLink}},
		{"label of no finding", store.FindingFilter{Tenant: Tenant, Label: "General"}, nil},
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
	// Keyset pages of every size walk the same order as one sorted read.
	all, err := s.FindingsList(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for size := 1; size <= len(all)+1; size++ {
		var got []string
		f := store.FindingFilter{Limit: size}
		for pages := 0; pages <= len(all)+1; pages++ {
			page, err := s.FindingsList(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page {
				got = append(got, x.Fingerprint)
			}
			if len(page) < size {
				break
			}
			k := page[len(page)-1].Key()
			f.After = &k
		}
		var want []string
		for _, x := range all {
			want = append(want, x.Fingerprint)
		}
		eq(t, "keyset pages of "+strconv.Itoa(size), got, want)
	}
	// A search pages by key too (it reads in one sorted scan).
	var got []string
	f := store.FindingFilter{Search: "e", Limit: 1}
	for {
		page, err := s.FindingsList(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page[0].RuleID)
		k := page[0].Key()
		f.After = &k
	}
	eq(t, "search pages", got, []string{RuleSharingLevel, RuleAnyoneLink, RuleAnyoneLink, RuleGuestSponsor})
	high, err := s.FindingsList(ctx, store.FindingFilter{Tenant: Tenant, MinSeverity: tenant.SeverityHigh, Limit: 2})
	if err != nil || len(high) != 2 {
		t.Fatalf("first high page: %v %v", high, err)
	}
	k := high[1].Key()
	rest, err := s.FindingsList(ctx, store.FindingFilter{Tenant: Tenant, MinSeverity: tenant.SeverityHigh, Limit: 5, After: &k})
	if err != nil || len(rest) != 1 || rest[0].RuleID != RuleAnyoneLink {
		t.Errorf("page after %+v: %v %v", k, rest, err)
	}
	if _, err := s.FindingsList(ctx, store.FindingFilter{Limit: 1, Offset: 1, After: &k}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("After with Offset: %v", err)
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

// testFindingEvents: a finding's events name the scans that opened,
// reopened, escalated and resolved it, oldest first.
func testFindingEvents(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	fp := linkFP("2")
	sc1 := record(t, s, Snapshot(T0))
	fixed := func(at time.Time) *tenant.Snapshot {
		snap := Snapshot(at)
		snap.Links[1].Scope = tenant.LinkScopeUsers
		return snap
	}
	record(t, s, fixed(T0.Add(time.Hour)))
	sc3 := record(t, s, Snapshot(T0.Add(2*time.Hour)))
	snap := Snapshot(T0.Add(3 * time.Hour))
	results := Evaluate(snap)
	for i := range results {
		if results[i].ObjectKey == "link:drive1/item2/perm2" {
			results[i].Severity = tenant.SeverityCritical
		}
	}
	sc4, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	sc5 := record(t, s, fixed(T0.Add(4*time.Hour)))

	got, err := s.FindingEvents(ctx, Tenant, fp[:10]) // a unique prefix will do
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].At, got[i].ScanStarted = got[i].At.UTC(), got[i].ScanStarted.UTC()
	}
	eq(t, "events", got, []store.FindingEvent{
		{ScanID: sc1.ID, Kind: store.TransitionNew, At: T0, ScanStarted: sc1.StartedAt.UTC()},
		{ScanID: sc3.ID, Kind: store.TransitionReopened, At: T0.Add(2 * time.Hour), ScanStarted: sc3.StartedAt.UTC(), Count: 1},
		{ScanID: sc4.ID, Kind: store.TransitionEscalated, At: sc4.StartedAt.UTC(), ScanStarted: sc4.StartedAt.UTC(),
			Severity: tenant.SeverityCritical, PrevSeverity: tenant.SeverityHigh},
		{ScanID: sc5.ID, Kind: store.TransitionResolved, At: T0.Add(4 * time.Hour), ScanStarted: sc5.StartedAt.UTC()},
	})
	// A finding never changed is one event with its severity.
	got, err = s.FindingEvents(ctx, Tenant, guestFP)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "events of an unchanged finding", len(got), 1)
	eq(t, "its severity", got[0].Severity, tenant.SeverityMedium)
	if _, err := s.FindingEvents(ctx, Tenant, "ffffffffffffffff"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("events of an unknown finding: %v, want ErrNotFound", err)
	}
	if _, err := s.FindingEvents(ctx, "nobody", fp); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("events of another tenant's finding: %v, want ErrNotFound", err)
	}
}

// testSearchBudget: a search bounded by a budget examines at most that
// many findings a page and says where it stopped; walking its pages finds
// exactly what an unbounded search finds, in list order, across tenants
// and severities.
func testSearchBudget(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	a := Snapshot(T0)
	a.SharePoint.SharingCapability = tenant.SharingAnyone // a critical too
	record(t, s, a)
	b := Snapshot(T0)
	b.Tenant, b.TenantID = "b-"+Tenant, "00000000-0000-0000-0000-00000000b0de"
	b.Links = append(b.Links, Link("4", tenant.LinkScopeAnonymous), Link("5", tenant.LinkScopeAnonymous))
	record(t, s, b)
	for _, search := range []string{"e", "file3", "FILE5", "nothing matches"} {
		all, err := s.FindingsList(ctx, store.FindingFilter{Search: search})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, x := range all {
			want = append(want, x.Fingerprint)
		}
		for budget := 1; budget <= 10; budget++ {
			for limit := 1; limit <= 3; limit++ {
				f := store.FindingFilter{Search: search, SearchBudget: budget, Limit: limit}
				var got []string
				for calls := 0; ; calls++ {
					if calls > 50 {
						t.Fatalf("%q budget %d limit %d: no end after %d pages", search, budget, limit, calls)
					}
					pg, err := s.FindingsPage(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if len(pg.Items) > limit {
						t.Fatalf("page of %d items, limit %d", len(pg.Items), limit)
					}
					for _, x := range pg.Items {
						got = append(got, x.Fingerprint)
					}
					switch {
					case len(pg.Items) == limit:
						k := pg.Items[limit-1].Key()
						f.After = &k
					case pg.Resume != nil:
						f.After = pg.Resume
					default:
						f.After = nil
					}
					if f.After == nil {
						break
					}
				}
				eq(t, "search "+strconv.Quote(search)+" budget "+strconv.Itoa(budget)+" limit "+strconv.Itoa(limit), got, want)
			}
		}
	}
	// The budget bounds the work: with a budget of 1 a search that matches
	// nothing stops after one finding and says where.
	pg, err := s.FindingsPage(ctx, store.FindingFilter{Search: "nothing matches", SearchBudget: 1, Limit: 5})
	if err != nil || len(pg.Items) != 0 || pg.Resume == nil {
		t.Errorf("budget 1: %+v %v, want no items and a place to resume", pg, err)
	}
	if _, err := s.FindingsList(ctx, store.FindingFilter{Search: "e", SearchBudget: 5}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("FindingsList with a budget: %v, want ErrInvalid", err)
	}
	if _, err := s.FindingsPage(ctx, store.FindingFilter{Search: "e", SearchBudget: 5}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("FindingsPage without a limit: %v, want ErrInvalid", err)
	}
	if _, err := s.FindingsPage(ctx, store.FindingFilter{Search: "e", SearchBudget: -1, Limit: 1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("negative budget: %v, want ErrInvalid", err)
	}
}
