package remediate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
)

func TestModes(t *testing.T) {
	const rule = "sites.sharing_level"
	tests := []struct {
		name       string
		mode       remediate.Mode
		approveErr error
		wantOps    int
		recorded   bool
	}{
		{"off plans nothing", remediate.ModeOff, remediate.ErrNotFound, 0, false},
		{"notify only records", remediate.ModeNotify, remediate.ErrModeForbids, 0, true},
		{"dry-run only records", remediate.ModeDryRun, remediate.ErrModeForbids, 0, true},
		{"approve applies after approval", remediate.ModeApprove, nil, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, remediate.Policy{Mode: remediate.ModeOff, Rules: map[string]remediate.Mode{rule: tc.mode}})
			var fps []string
			for _, p := range r.plan(r.scan()) {
				if p.RuleID == rule {
					fps = append(fps, p.Fingerprint)
				}
			}
			prs, err := r.svc.Plans(r.ctx, r.tenant)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(prs) > 0; got != tc.recorded {
				t.Fatalf("plans recorded: %t, want %t", got, tc.recorded)
			}
			if rep := r.apply(); len(rep.Ops) != 0 {
				t.Fatalf("applied without approval: %v", statuses(rep))
			}
			for _, fp := range fps {
				err := r.svc.Approve(r.ctx, r.tenant, fp[:10], "cli:alice")
				if !errors.Is(err, tc.approveErr) && !(err == nil && tc.approveErr == nil) {
					t.Fatalf("approve: %v, want %v", err, tc.approveErr)
				}
			}
			rep := r.apply()
			if rep.Count(remediate.StatusApplied) != tc.wantOps {
				t.Fatalf("applied %v, want %d", statuses(rep), tc.wantOps)
			}
			if tc.wantOps > 0 {
				rows, _ := r.svc.History(r.ctx, r.tenant, rep.RunID, 0)
				for _, row := range rows {
					if row.ApprovedBy != "cli:alice" || row.Mode != "approve" {
						t.Errorf("attempt approved by %q in mode %q", row.ApprovedBy, row.Mode)
					}
				}
			}
		})
	}
}

func TestRejectedPlanIsNotProposedAgain(t *testing.T) {
	const rule = "sites.sharing_level"
	r := newRig(t, remediate.Policy{Mode: remediate.ModeOff, Rules: map[string]remediate.Mode{rule: remediate.ModeApprove}})
	first := r.scan()
	plans := r.plan(first)
	var fp string
	for _, p := range plans {
		if p.RuleID == rule {
			fp = p.Fingerprint
		}
	}
	if err := r.svc.Reject(r.ctx, r.tenant, fp, "slack:U0ADMIN01"); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Approve(r.ctx, r.tenant, fp, "cli:bob"); !errors.Is(err, remediate.ErrNotFound) {
		t.Errorf("approving a rejected plan: %v", err)
	}
	st, err := r.svc.Record(r.ctx, first.scan.ID, plans)
	if err != nil || st.Created != 0 || st.Kept != 2 {
		t.Errorf("re-record: %+v %v", st, err)
	}
	rejected, _ := r.svc.Plans(r.ctx, r.tenant, store.RemediationRejected)
	if len(rejected) != 1 || rejected[0].ApprovedBy != "slack:U0ADMIN01" {
		t.Errorf("rejected plans: %+v", rejected)
	}
}

func TestRollbackRestoresBeforeValues(t *testing.T) {
	r := newRig(t, autoFor("sharepoint.sharing_level", "sites.sharing_level", "exchange.calendar_all_domains", "exchange.contacts_all_domains", "links.anyone_link"))
	r.policy.AllowDestructive = []string{"links.anyone_link"}
	first := r.scan()
	r.plan(first)
	run := r.apply()
	if run.Count(remediate.StatusApplied) != 8 {
		t.Fatalf("run: %v", statuses(run))
	}
	rb, err := r.svc.Rollback(r.ctx, r.tenant, run.RunID, "cli:alice")
	if err != nil {
		t.Fatal(err)
	}
	// The sharing policy was changed twice: undone newest first.
	if rb.Count(remediate.StatusApplied) != 5 || len(rb.Ops) != 5 || len(rb.Held) != 3 || !strings.Contains(rb.Held[0].Reason, "not reversible") {
		t.Errorf("rollback: %v, held %+v", statuses(rb), rb.Held)
	}
	third := r.scan()
	changes, err := drift.Diff(first.snap, third.snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if !strings.HasPrefix(c.Key, "link:") {
			t.Errorf("%s differs from before the run: %+v", c.Key, c.Fields)
		}
	}
	rows, _ := r.svc.History(r.ctx, r.tenant, run.RunID, 0)
	rolled := 0
	for _, row := range rows {
		if row.State == store.RemediationRolledBack {
			rolled++
		}
	}
	if rolled != 5 {
		t.Errorf("%d attempts marked rolled back, want 5", rolled)
	}
	// A second rollback finds the objects already restored.
	if _, err := r.svc.Rollback(r.ctx, r.tenant, run.RunID, "cli:alice"); !errors.Is(err, remediate.ErrNotFound) {
		t.Errorf("second rollback: %v", err)
	}
}

func TestChangedSinceScanIsSkipped(t *testing.T) {
	r := newRig(t, autoFor("sites.sharing_level"))
	r.plan(r.scan())
	// Someone lowers one site to "existing guests" after the scan: the
	// plan's cap is new_and_existing, so that site is now fine (unchanged);
	// someone else raises... nothing: set the other site to "disabled" out of band.
	if err := r.client.SetSiteSharing(r.ctx, "https://fabrikam.sharepoint.com/sites/Marketing", "disabled"); err != nil {
		t.Fatal(err)
	}
	rep := r.apply()
	got := map[string]string{}
	for _, o := range rep.Ops {
		got[o.ObjectKey] = o.Status
	}
	if !slices.Contains([]string{remediate.StatusUnchanged}, got["site:6a0b1c2d-4e2f-4a3b-8c4d-5e6f7a8b9c04"]) {
		t.Errorf("site changed out of band to a compliant value: %v", got)
	}
	if rep.Count(remediate.StatusApplied) != 1 {
		t.Errorf("statuses %v", statuses(rep))
	}
}

func TestChangedSinceScanToAnotherValueIsSkipped(t *testing.T) {
	r := newRig(t, autoFor("sharepoint.allowed_domains"))
	r.plan(r.scan())
	// An admin replaces the allow list after the scan with a different one.
	if err := r.client.SetSharePointSetting(r.ctx, "allowedDomains", []byte(`["gmail.com","example.org"]`)); err != nil {
		t.Fatal(err)
	}
	rep := r.apply()
	// contractor-hub.net is gone from the list anyway (that fix's goal
	// holds); gmail.com is still there but the list is not what was scanned.
	if got := statuses(rep); !slices.Equal(got, []string{remediate.StatusUnchanged, remediate.StatusSkipped}) || rep.Changes != 0 {
		t.Fatalf("ops %v changes %d", got, rep.Changes)
	}
	if !strings.Contains(rep.Ops[1].Result, "changed since the scan") || !strings.Contains(rep.Ops[1].ObjectKey, "sharepoint:tenant") {
		t.Errorf("second op: %+v", rep.Ops[1])
	}
	prs, _ := r.svc.Plans(r.ctx, r.tenant, store.RemediationSkipped)
	if len(prs) != 1 || !strings.Contains(prs[0].Note, "changed since the scan") {
		t.Errorf("skipped plans: %+v", prs)
	}
}

func TestExclusions(t *testing.T) {
	p := consented("links.anyone_link")
	p.Exclude = config.Exclusion{Sites: []string{"https://fabrikam.sharepoint.com/sites/finance*"}}
	r := newRig(t, p)
	r.plan(r.scan())
	rep := r.apply()
	for _, o := range rep.Ops {
		finance := strings.Contains(o.ObjectKey, "Qx1-fin")
		if finance != (o.Status == remediate.StatusSkipped) || (finance && !strings.Contains(o.Result, "excluded: site")) {
			t.Errorf("%s: %s %s", o.ObjectKey, o.Status, o.Result)
		}
	}
	if rep.Count(remediate.StatusApplied) != 2 {
		t.Errorf("statuses %v", statuses(rep))
	}
}

func TestDestructiveStepsWaitForGraceAndApproval(t *testing.T) {
	const rule = "guests.stale"
	r := newRig(t, autoFor(rule))
	r.policy.GracePeriod = 48 * time.Hour
	first := r.scan()
	var fp string
	for _, p := range r.plan(first) {
		if p.RuleID == rule {
			fp = p.Fingerprint
		}
	}
	rep := r.apply()
	if got := statuses(rep); !slices.Equal(got, []string{remediate.StatusApplied}) || rep.Ops[0].Action != remediate.ActionBlockGuest {
		t.Fatalf("first run: %v %+v", got, rep.Ops)
	}
	// The block resolves the stale finding; the deletion stays scheduled.
	second := r.scan()
	if len(fails(second.results, rule)) != 0 {
		t.Error("stale finding not resolved by blocking the guest")
	}
	r.clock.Advance(72 * time.Hour)
	rep = r.apply()
	if len(rep.Ops) != 0 || len(heldFor(rep, rule)) != 1 || !strings.Contains(heldFor(rep, rule)[0].Reason, "destructive") {
		t.Fatalf("auto mode ran a destructive step without allowance: %v %+v", statuses(rep), rep.Held)
	}
	if err := r.svc.Approve(r.ctx, r.tenant, fp, "api:ops"); err != nil {
		t.Fatal(err)
	}
	rep = r.apply()
	if got := statuses(rep); !slices.Equal(got, []string{remediate.StatusApplied}) || rep.Ops[0].Action != remediate.ActionDeleteGuest {
		t.Fatalf("after approval: %v %+v", got, rep.Ops)
	}
	if g, err := r.client.ReadUser(r.ctx, "8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61"); err != nil || g != nil {
		t.Errorf("guest still there: %+v %v", g, err)
	}
}

func TestDeferredDeleteSkippedWhenGuestReenabled(t *testing.T) {
	const rule = "guests.stale"
	p := autoFor(rule)
	p.AllowDestructive = []string{rule}
	p.GracePeriod = time.Hour
	r := newRig(t, p)
	r.plan(r.scan())
	if rep := r.apply(); rep.Count(remediate.StatusApplied) != 1 {
		t.Fatalf("block: %v", statuses(rep))
	}
	// Before the grace period ends nothing is deleted.
	if rep := r.apply(); len(rep.Ops) != 0 {
		t.Fatalf("deleted during the grace period: %v", statuses(rep))
	}
	// An admin re-enables the guest: the deletion must not happen.
	if err := r.client.SetAccountEnabled(r.ctx, "8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61", true); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Hour)
	rep := r.apply()
	if len(rep.Ops) != 1 || rep.Ops[0].Status != remediate.StatusSkipped || !strings.Contains(rep.Ops[0].Result, "precondition") {
		t.Fatalf("re-enabled guest: %+v", rep.Ops)
	}
	if g, _ := r.client.ReadUser(r.ctx, "8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61"); g == nil {
		t.Error("re-enabled guest deleted")
	}
}

func TestListFixesComposeAcrossRuns(t *testing.T) {
	const rule = "sharepoint.blocked_domains"
	r := newRig(t, autoFor(rule))
	var fps []string
	for _, p := range r.plan(r.scan()) {
		if p.RuleID == rule {
			fps = append(fps, p.Fingerprint)
		}
	}
	if len(fps) != 5 {
		t.Fatalf("%d plans, want one per must-block domain", len(fps))
	}
	// Two domains in one run, the other three in the next: the second run
	// recognises the list it finds as its own earlier write.
	// Each plan also sets the block-list mode the baseline asks for; the
	// first run switches it, every later mode step finds it done.
	if rep := r.apply(fps[:2]...); !slices.Equal(statuses(rep), []string{"applied", "unchanged", "applied", "applied"}) {
		t.Fatalf("first run: %v", statuses(rep))
	}
	rep := r.apply()
	if rep.Count(remediate.StatusApplied) != 3 || rep.Count(remediate.StatusUnchanged) != 3 || len(rep.Ops) != 6 {
		t.Fatalf("second run: %v %+v", statuses(rep), rep.Ops)
	}
	if f := fails(r.scan().results, rule); len(f) != 0 {
		t.Errorf("still failing: %+v", f)
	}
}

func TestScheduledDeletionIsNotPlannedAgain(t *testing.T) {
	const rule = "guests.orphaned"
	r := newRig(t, autoFor(rule))
	r.plan(r.scan())
	if rep := r.apply(); rep.Count(remediate.StatusApplied) != 1 {
		t.Fatalf("block: %v", statuses(rep))
	}
	// Blocking does not resolve an orphaned guest; the re-scan still fails
	// it, and the scheduled deletion is the only pending plan.
	second := r.scan()
	if len(fails(second.results, rule)) != 1 {
		t.Fatalf("orphaned guest: %+v", fails(second.results, rule))
	}
	r.plan(second)
	pending, err := r.svc.Plans(r.ctx, r.tenant, store.RemediationPlanned, store.RemediationApproved)
	if err != nil {
		t.Fatal(err)
	}
	var mine []remediate.PlanRecord
	for _, pr := range pending {
		if pr.Plan.RuleID == rule {
			mine = append(mine, pr)
		}
	}
	if len(mine) != 1 || mine[0].Plan.NotBefore == nil || mine[0].Plan.Ops[0].Action != remediate.ActionDeleteGuest {
		t.Fatalf("pending plans: %+v", mine)
	}
	if rep := r.apply(); len(rep.Ops) != 0 {
		t.Errorf("a second run did something: %v", statuses(rep))
	}
}
