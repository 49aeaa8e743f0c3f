package remediate_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/notifystore"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// nonDestructive returns the rules whose plans on this scan have no
// destructive step.
func nonDestructive(plans []remediate.Plan) []string {
	destructive := map[string]bool{}
	var ids []string
	for i := range plans {
		if plans[i].Destructive() {
			destructive[plans[i].RuleID] = true
		}
	}
	for i := range plans {
		if id := plans[i].RuleID; !destructive[id] && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func heldFor(rep *remediate.RunReport, ruleID string) []remediate.Held {
	var out []remediate.Held
	for _, h := range rep.Held {
		if h.RuleID == ruleID {
			out = append(out, h)
		}
	}
	return out
}

func pathRoot(p string) string {
	if i := strings.IndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return p
}

func TestAutoApplyResolvesFindingsAndChangesNothingElse(t *testing.T) {
	r := newRig(t, remediate.Policy{Mode: remediate.ModeDryRun})
	first := r.scan()
	probe, skipped := remediate.Build(first.snap, r.baseline, first.results)
	if len(skipped) != 0 {
		t.Fatalf("plans skipped: %v", skipped)
	}
	auto := nonDestructive(probe)
	if len(auto) < 25 {
		t.Fatalf("only %d non-destructive fixable rules fail on fabrikam: %v", len(auto), auto)
	}
	r.policy = autoFor(auto...)
	plans := r.plan(first)

	rep := r.apply()
	if rep.Count(remediate.StatusFailed) != 0 || rep.Count(remediate.StatusSkipped) != 0 || rep.Count(remediate.StatusNotAttempted) != 0 {
		for _, o := range rep.Ops {
			if o.Status != remediate.StatusApplied && o.Status != remediate.StatusUnchanged {
				t.Errorf("op %d %s %s %s: %s %s %s", o.Seq, o.RuleID, o.Action, o.ObjectKey, o.Status, o.Result, o.Error)
			}
		}
		t.FailNow()
	}
	if rep.Changes == 0 || rep.Count(remediate.StatusApplied) != rep.Changes {
		t.Fatalf("changes %d, applied ops %d", rep.Changes, rep.Count(remediate.StatusApplied))
	}
	for _, h := range rep.Held {
		if slices.Contains(auto, h.RuleID) {
			t.Errorf("auto rule held: %+v", h)
		}
	}

	// Every finding of the auto rules is resolved by the re-scan, but
	// those whose plan is blocked: taking northwindtraders.com off the
	// invitation allow list would leave its guest failing
	// guests.blocked_domain, so that plan never runs.
	blocked := map[string]bool{}
	for _, p := range plans {
		if p.Blocked != "" {
			blocked[p.Fingerprint] = true
		}
	}
	if len(blocked) != 1 {
		t.Errorf("%d blocked plans, want 1 (the northwindtraders.com allow-list entry)", len(blocked))
	}
	second := r.scan()
	for _, id := range auto {
		for _, f := range fails(second.results, id) {
			if !blocked[f.Fingerprint()] {
				t.Errorf("%s still fails after apply: %+v", id, f)
			}
		}
	}
	trs, err := r.st.Transitions(r.ctx, second.scan.ID)
	if err != nil {
		t.Fatal(err)
	}
	resolved := map[string]bool{}
	for _, tr := range trs {
		if tr.Kind == store.TransitionResolved {
			resolved[tr.Finding.Fingerprint] = true
		}
	}
	for _, p := range plans {
		if slices.Contains(auto, p.RuleID) && resolved[p.Fingerprint] == blocked[p.Fingerprint] {
			t.Errorf("finding %s (%s %s) not resolved", p.Fingerprint[:12], p.RuleID, p.ObjectKey)
		}
	}

	// Nothing but the planned fields of the planned objects changed.
	touched := map[string]map[string]bool{}
	for _, p := range plans {
		if !slices.Contains(auto, p.RuleID) || p.Blocked != "" {
			continue
		}
		for _, op := range p.Ops {
			if touched[op.ObjectKey] == nil {
				touched[op.ObjectKey] = map[string]bool{}
			}
			touched[op.ObjectKey][op.Field] = true
		}
	}
	changes, err := drift.Diff(first.snap, second.snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 {
		t.Fatal("no drift between the scans")
	}
	for _, c := range changes {
		fields, ok := touched[c.Key]
		switch {
		case !ok:
			t.Errorf("object %s changed but no operation touched it: %+v", c.Key, c)
		case c.Kind == drift.Removed && !fields["exists"]:
			t.Errorf("object %s removed but no operation deleted it", c.Key)
		case c.Kind == drift.Added:
			t.Errorf("object %s appeared", c.Key)
		}
		for _, f := range c.Fields {
			if !fields[pathRoot(f.Path)] {
				t.Errorf("%s: field %s changed (%s) but no operation set it", c.Key, f.Path, f.String())
			}
		}
	}

	// Idempotent: the same plans again change nothing.
	again := r.apply()
	if len(again.Ops) != 0 || again.Changes != 0 {
		t.Errorf("second run: %d ops, %d changes", len(again.Ops), again.Changes)
	}
}

// fiveOps is a policy under which fabrikam has exactly five operations:
// three Anyone links to delete (allowed to be destructive), then two
// sites to lower.
func fiveOps() remediate.Policy {
	p := autoFor("links.anyone_link", "sites.sharing_level")
	p.AllowDestructive = []string{"links.anyone_link"}
	return p
}

func TestFaultAtThirdOfFiveOperations(t *testing.T) {
	r := newRig(t, fiveOps())
	s := r.plan(r.scan())
	_ = s
	third := "DELETE /v1.0/drives/*Tw9-od/items/01OD6NOTES/permissions/*"
	r.fake.Faults.Add(third, m365test.Fault{Status: http.StatusForbidden})

	rep := r.apply()
	want := []string{remediate.StatusApplied, remediate.StatusApplied, remediate.StatusFailed, remediate.StatusNotAttempted, remediate.StatusNotAttempted}
	if got := statuses(rep); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if rep.Ops[2].ObjectKey != "link:b!Tw9-od/01OD6NOTES/8e2d4b6a-1c3f-4a5e-b7d9-2f4a6c8e0b13" || !strings.Contains(rep.Ops[2].Error, "403") {
		t.Errorf("third op: %+v", rep.Ops[2])
	}
	if !strings.Contains(rep.Stopped, "operation 3") || rep.Changes != 3 {
		t.Errorf("stopped %q after %d changes", rep.Stopped, rep.Changes)
	}
	if r.fake.Faults.Fired(third) != 1 {
		t.Errorf("fault fired %d times", r.fake.Faults.Fired(third))
	}

	// The audit says exactly that.
	rows, err := r.svc.History(r.ctx, r.tenant, rep.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantStates := []store.RemediationState{store.RemediationApplied, store.RemediationApplied, store.RemediationFailed, store.RemediationSkipped, store.RemediationSkipped}
	if len(rows) != 5 {
		t.Fatalf("%d audit rows, want 5", len(rows))
	}
	for i, row := range rows {
		if row.State != wantStates[i] || row.Seq != i+1 {
			t.Errorf("row %d: seq %d state %s, want %s", i, row.Seq, row.State, wantStates[i])
		}
		if i < 2 && (string(row.Before) != "true" || string(row.After) != "false" || row.Result != "changed" || row.ApprovedBy != "auto:policy" || row.ApprovedAt == nil) {
			t.Errorf("row %d: before %s after %s result %q approved by %q", i, row.Before, row.After, row.Result, row.ApprovedBy)
		}
		if i == 2 && !strings.Contains(row.Error, "injected fault") {
			t.Errorf("failed row error %q", row.Error)
		}
		if i > 2 && (!strings.HasPrefix(row.Result, "not attempted") || row.Before != nil) {
			t.Errorf("row %d: %q before %s", i, row.Result, row.Before)
		}
	}

	// The tenant agrees: two links gone, the third and both sites untouched.
	after := r.scan()
	gone := map[string]bool{}
	for _, l := range after.snap.Links {
		gone[l.Key()] = false
	}
	for i, o := range rep.Ops[:3] {
		_, present := gone[o.ObjectKey]
		if present != (i == 2) {
			t.Errorf("%s present=%t after the run", o.ObjectKey, present)
		}
	}
	if len(fails(after.results, "sites.sharing_level")) != 2 {
		t.Errorf("sites changed although not attempted")
	}

	// The next run retries what is left, idempotently.
	r.fake.Faults.Clear()
	next := r.apply()
	if next.Count(remediate.StatusFailed) != 0 || next.Count(remediate.StatusApplied) != 3 {
		t.Errorf("retry run: %v", statuses(next))
	}
}

func TestCapStopsRunAndNotifies(t *testing.T) {
	r := newRig(t, fiveOps())
	r.policy.MaxChanges = 2
	r.notifier = remediate.OutboxNotifier{Outbox: &notifystore.Outbox{S: r.st}, Routes: []notify.Route{{Destination: "ops-slack"}}}
	first := r.scan()
	r.plan(first)

	rep := r.apply()
	want := []string{remediate.StatusApplied, remediate.StatusApplied, remediate.StatusNotAttempted, remediate.StatusNotAttempted, remediate.StatusNotAttempted}
	if got := statuses(rep); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if !rep.CapReached || rep.Changes != 2 || !strings.Contains(rep.Stopped, "cap of 2") {
		t.Errorf("cap reached %t, changes %d, stopped %q", rep.CapReached, rep.Changes, rep.Stopped)
	}
	all, err := r.st.OutboxMessages(r.ctx, store.OutboxFilter{Tenant: r.tenant})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []store.OutboxMessage
	applied := 0
	for _, m := range all {
		switch m.Kind {
		case string(remediate.KindCapReached):
			msgs = append(msgs, m)
		case string(notify.KindRemediationApplied):
			applied++
		}
	}
	if applied != 2 {
		t.Errorf("%d change announcements, want one per changed link", applied)
	}
	if len(msgs) != 1 || msgs[0].Kind != string(remediate.KindCapReached) || msgs[0].Destination != "ops-slack" {
		t.Fatalf("outbox: %+v", msgs)
	}
	n, err := notify.DecodePayload(msgs[0].Payload)
	if err != nil || n.Finding == nil || !strings.Contains(n.Finding.Actual, "2 changes made, 3 operations left") {
		t.Errorf("cap notification: %+v %v", n, err)
	}

	// Exactly two objects changed in the tenant.
	changes, err := drift.Diff(first.snap, r.scan().snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Errorf("%d objects changed, want 2: %+v", len(changes), changes)
	}
}

func TestPartialScanNeverTriggersAChange(t *testing.T) {
	links := "GET /v1.0/drives/*/items/*/permissions"
	t.Run("plans from a partial scan", func(t *testing.T) {
		r := newRig(t, autoFor("links.anyone_link", "links.anyone_link_edit", "links.anyone_link_expiry", "links.anyone_on_confidential"))
		r.fake.Faults.Add("POST /v1.0/$batch", m365test.Fault{Status: http.StatusServiceUnavailable})
		r.fake.Faults.Add(links, m365test.Fault{Status: http.StatusServiceUnavailable})
		s := r.scan()
		if s.snap.Complete(tenant.SectionLinks) {
			t.Fatal("links section complete despite the faults")
		}
		plans, skipped := remediate.Build(s.snap, r.baseline, s.results)
		for _, p := range plans {
			if p.Section == tenant.SectionLinks {
				t.Errorf("plan from the incomplete links section: %+v", p)
			}
		}
		for fp, why := range skipped {
			if !strings.Contains(why, "not complete") {
				t.Errorf("skipped %s: %s", fp, why)
			}
		}
		if _, err := r.svc.Record(r.ctx, s.scan.ID, plans); err != nil {
			t.Fatal(err)
		}
		before := r.writeCalls()
		rep := r.apply()
		if len(rep.Ops) != 0 || r.writeCalls() != before {
			t.Errorf("a partial scan led to %d operations", len(rep.Ops))
		}
	})
	// A link's plan takes its policy scope (site, label) from the sites
	// section: without it a label-scoped policy would not see the label.
	t.Run("no link plan while the sites section is incomplete", func(t *testing.T) {
		r := newRig(t, consented("links.anyone_link"))
		s := r.scan()
		plans, _ := remediate.Build(s.snap, r.baseline, s.results)
		if !slices.ContainsFunc(plans, func(p remediate.Plan) bool { return p.RuleID == "links.anyone_link" }) {
			t.Fatal("no links.anyone_link plan from a complete scan")
		}
		s.snap.Status[tenant.SectionSites] = tenant.SectionStatus{State: tenant.StatePartial, Error: "sites: test"}
		plans, skipped := remediate.Build(s.snap, r.baseline, s.results)
		for _, p := range plans {
			if p.Section == tenant.SectionLinks {
				t.Errorf("link plan without the sites section: %+v", p)
			}
		}
		n := 0
		for _, why := range skipped {
			if why == "section sites is not complete" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("skipped: %v", skipped)
		}
	})
	t.Run("plans held when the latest scan is partial", func(t *testing.T) {
		r := newRig(t, consented("links.anyone_link"))
		r.plan(r.scan())
		r.fake.Faults.Add("POST /v1.0/$batch", m365test.Fault{Status: http.StatusServiceUnavailable})
		r.fake.Faults.Add(links, m365test.Fault{Status: http.StatusServiceUnavailable})
		if s := r.scan(); s.snap.Complete(tenant.SectionLinks) {
			t.Fatal("links section complete despite the faults")
		}
		r.fake.Faults.Clear()
		before := r.writeCalls()
		rep := r.apply()
		if len(rep.Ops) != 0 || r.writeCalls() != before {
			t.Fatalf("%d operations after a partial scan", len(rep.Ops))
		}
		if h := heldFor(rep, "links.anyone_link"); len(h) != 3 || !strings.Contains(h[0].Reason, "latest scan") {
			t.Errorf("held: %+v", h)
		}
	})
	// A later scan in which the rule could not judge the objects (a
	// rule-wide unknown, or one per object) leaves the findings open but
	// unconfirmed: their plans wait, and no new plan is made.
	for name, edit := range map[string]func(rs []tenant.Result) []tenant.Result{
		"plans held when the rule is rule-wide unknown in the latest scan": func(rs []tenant.Result) []tenant.Result {
			rs = slices.DeleteFunc(rs, func(r tenant.Result) bool { return r.RuleID == "links.anyone_link" })
			return append(rs, tenant.Result{RuleID: "links.anyone_link", Section: tenant.SectionLinks, Outcome: tenant.Unknown,
				Severity: tenant.SeverityHigh, ObjectKey: "links:tenant", RuleWide: true, Message: "sites incomplete"})
		},
		"plans held when the objects are unknown in the latest scan": func(rs []tenant.Result) []tenant.Result {
			for i := range rs {
				if rs[i].RuleID == "links.anyone_link" && rs[i].Outcome == tenant.Fail {
					rs[i].Outcome = tenant.Unknown
				}
			}
			return rs
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, consented("links.anyone_link"))
			if n := len(r.plan(r.scan())); n == 0 {
				t.Fatal("fixture has nothing to plan")
			}
			s := r.scanEdited(edit)
			if s.scan.FindingsResolved != 0 {
				t.Fatalf("the unknown scan resolved %d findings", s.scan.FindingsResolved)
			}
			sel, err := remediate.Select(remediate.Each(s.results), &r.policy)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range sel.Failures {
				if f.RuleID == "links.anyone_link" {
					t.Errorf("planned from an unknown scan: %s", f.ObjectKey)
				}
			}
			before := r.writeCalls()
			rep := r.apply()
			if len(rep.Ops) != 0 || r.writeCalls() != before {
				t.Fatalf("%d operations after a scan that could not judge the rule", len(rep.Ops))
			}
			if h := heldFor(rep, "links.anyone_link"); len(h) != 3 || !strings.Contains(h[0].Reason, "unknown") {
				t.Errorf("held: %+v", h)
			}
		})
	}
	t.Run("stale scan", func(t *testing.T) {
		r := newRig(t, consented("links.anyone_link"))
		r.plan(r.scan())
		r.clock.Advance(25 * time.Hour)
		rep := r.apply()
		if h := heldFor(rep, "links.anyone_link"); len(rep.Ops) != 0 || len(h) != 3 || !strings.Contains(h[0].Reason, "25h0m0s old") {
			t.Errorf("stale scan: ops %d held %+v", len(rep.Ops), h)
		}
	})
}

// TestApplyHoldsTheTenantLock: a run needs the tenant's remediation lock,
// which is part of the store interface remediation takes, so no wrapper
// can drop it; while another replica holds it nothing is written.
func TestApplyHoldsTheTenantLock(t *testing.T) {
	r := newRig(t, autoFor("sites.sharing_level"))
	r.plan(r.scan())
	if _, ok, err := r.st.TryLease(r.ctx, "remediate:"+r.tenant, "other-replica", time.Hour); err != nil || !ok {
		t.Fatalf("take the lock: %v %v", ok, err)
	}
	before := r.writeCalls()
	if _, err := r.svc.Apply(r.ctx, r.tenant, remediate.ApplyOptions{}); !errors.Is(err, remediate.ErrBusy) {
		t.Fatalf("apply while another run holds the lock: %v", err)
	}
	if r.writeCalls() != before {
		t.Fatal("written while the lock was held elsewhere")
	}
	if err := r.st.ReleaseLease(r.ctx, "remediate:"+r.tenant, "other-replica"); err != nil {
		t.Fatal(err)
	}
	if rep := r.apply(); rep.Count(remediate.StatusApplied) == 0 {
		t.Fatalf("nothing applied once the lock was free: %+v", rep.Ops)
	}
}
