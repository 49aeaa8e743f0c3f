package remediate_test

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestPlannersMatchRules: every planner fixes a rule that exists and is
// marked fixable, and every rule marked fixable has a planner.
func TestPlannersMatchRules(t *testing.T) {
	for _, id := range remediate.FixableRules() {
		r, ok := rules.Lookup(id)
		if !ok {
			t.Errorf("a planner fixes %s, which is no rule", id)
			continue
		}
		if !r.Meta().Fixable {
			t.Errorf("a planner fixes %s, which is not marked fixable", id)
		}
	}
	n := 0
	for _, r := range rules.Builtin() {
		if m := r.Meta(); m.Fixable {
			n++
			if !remediate.Fixable(m.ID) {
				t.Errorf("rule %s is marked fixable but has no planner", m.ID)
			}
		}
	}
	if n == 0 || n != len(remediate.FixableRules()) {
		t.Errorf("%d rules marked fixable, %d planners", n, len(remediate.FixableRules()))
	}
}

// shipped lists the shipped baselines.
func shipped(t *testing.T) []string {
	t.Helper()
	names := baselines.Names()
	if len(names) < 4 {
		t.Fatalf("shipped baselines: %v", names)
	}
	return names
}

// byObject indexes results by rule and object.
func byObject(rs []tenant.Result) map[string]tenant.Result {
	out := map[string]tenant.Result{}
	for _, r := range rs {
		out[r.RuleID+" "+r.ObjectKey] = r
	}
	return out
}

func failing(o tenant.Outcome) bool { return o == tenant.Fail || o == tenant.Unknown }

// TestFixesNeverLoosen is the property of invariant 10, for every shipped
// baseline: every runnable plan Build makes for fabrikam, applied to the
// fake tenant through the API and re-scanned, turns no pass into a fail
// and widens no setting on its scale; and no rule without a plan (fixable
// or not) gets worse either.
func TestFixesNeverLoosen(t *testing.T) {
	planned := map[string]bool{}
	defer func() {
		for _, id := range remediate.FixableRules() {
			if !planned[id] && !t.Failed() {
				t.Errorf("planner of %s made no runnable plan for fabrikam under any shipped baseline: the property does not cover it", id)
			}
		}
	}()
	for _, name := range shipped(t) {
		t.Run(name, func(t *testing.T) {
			b, err := baselines.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			// Every fixable rule in auto, destructive steps allowed, no cap:
			// the widest a policy can be.
			pol := autoFor(remediate.FixableRules()...)
			pol.AllowDestructive = remediate.FixableRules()
			r := newRig(t, pol)
			r.baseline = b
			first := r.scan()
			plans := r.plan(first)
			if len(plans) == 0 {
				t.Fatal("fabrikam has no plan under this baseline; the property is not exercised")
			}
			runnable := 0
			for _, p := range plans {
				if p.Blocked == "" {
					runnable++
					planned[p.RuleID] = true
				}
			}
			t.Logf("%d plans, %d runnable", len(plans), runnable)
			rep := r.apply()
			if rep.Changes == 0 {
				t.Fatalf("nothing applied: %+v", rep)
			}
			second := r.scan()
			before, after := byObject(first.results), byObject(second.results)
			keys := make([]string, 0, len(after))
			for k := range after {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				a := after[k]
				bf, seen := before[k]
				if failing(a.Outcome) && (!seen || !failing(bf.Outcome)) {
					t.Errorf("%s: was %s, is %s after the fixes: %s", k, bf.Outcome, a.Outcome, a.Message)
				}
				if seen && a.Expect != nil && bf.Expect != nil && a.Expect.Scale != "" && bf.Expect.Found != "" &&
					a.Expect.Scale.Wider(bf.Expect.Found, a.Expect.Found) {
					t.Errorf("%s: widened from %s to %s on the %s scale", k, bf.Expect.Found, a.Expect.Found, a.Expect.Scale)
				}
			}
			// The fixes did something: some failure of the first scan is gone.
			fixed := 0
			for k, bf := range before {
				if a, ok := after[k]; bf.Outcome == tenant.Fail && (!ok || a.Outcome == tenant.Pass) {
					fixed++
				}
			}
			if fixed == 0 {
				t.Error("no failure was fixed")
			}
		})
	}
}

// TestAllowListIsNeverReplaced: fabrikam allow-lists three invitation
// domains, one of them a must-block domain of `recommended` (a block-list
// baseline). The mode rule names what the allow list lets in, and no plan
// replaces the allow list by a block list: the fix takes mailinator.com
// off the allow list.
func TestAllowListIsNeverReplaced(t *testing.T) {
	r := newRig(t, autoFor(remediate.FixableRules()...))
	s := r.scan()
	var mode *tenant.Result
	for i := range s.results {
		if s.results[i].RuleID == rules.IDEntraInvitationDomainMode {
			mode = &s.results[i]
		}
	}
	if mode == nil {
		t.Fatal("no result of the invitation mode rule")
	}
	if mode.Outcome != tenant.Fail || !strings.Contains(mode.Message, "mailinator.com") || strings.Contains(mode.Message, "northwindtraders.com") {
		t.Fatalf("the mode rule must fail naming only what the allow list lets in: %s %q", mode.Outcome, mode.Message)
	}
	plans := r.plan(s)
	seen := 0
	for _, p := range plans {
		for _, op := range p.Ops {
			if op.Field == "mode" || op.Field == "domainRestrictionMode" {
				if op.Before != nil && strings.Contains(string(op.Before), string(tenant.DomainModeAllowList)) {
					t.Errorf("plan of %s replaces the allow list: %+v", p.RuleID, op)
				}
			}
			if op.ObjectKey == tenant.KeyEntraInvitations {
				seen++
				if op.Field != "allowed" || len(op.Change.Add) > 0 {
					t.Errorf("plan of %s changes the invitation list otherwise than taking entries off the allow list: %+v", p.RuleID, op)
				}
			}
		}
		if p.RuleID == rules.IDEntraInvitationDomainMode {
			if len(p.Ops) != 1 || strings.Join(p.Ops[0].Change.Remove, ",") != "mailinator.com" {
				t.Errorf("mode fix: want mailinator.com off the allow list, got %+v", p.Ops)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no plan touches the invitation list; the allow list case is not exercised")
	}
	rep := r.apply()
	for _, o := range rep.Ops {
		if o.Status == remediate.StatusFailed {
			t.Errorf("%s %s %s failed: %s", o.RuleID, o.Action, o.ObjectKey, o.Error)
		}
	}
	after := r.scan()
	for _, res := range after.results {
		if res.RuleID == rules.IDEntraInvitationDomainMode || res.RuleID == rules.IDEntraInvitationBlockedDomains {
			if res.Outcome != tenant.Pass {
				t.Errorf("after the fixes %s is %s: %s", res.RuleID, res.Outcome, res.Message)
			}
		}
	}
	if after.snap.Entra.Invitations.Mode != tenant.DomainModeAllowList {
		t.Errorf("invitation mode is %s after the fixes, want the allow list kept", after.snap.Entra.Invitations.Mode)
	}
}

// TestBlockedPlanIsRecordedAndRefused: a plan that would loosen the tenant
// is recorded blocked with its reason; approving it is refused with that
// reason, and applying writes nothing to the tenant.
func TestBlockedPlanIsRecordedAndRefused(t *testing.T) {
	r := newRig(t, remediate.Policy{Mode: remediate.ModeApprove, MaxChanges: 100})
	s := r.scan()
	// A result whose expectation was tampered with asks for a wider
	// sharing level than fabrikam has: the plan would loosen the tenant.
	var res *tenant.Result
	for i := range s.results {
		if s.results[i].RuleID == rules.IDSharePointSharingLevel && s.results[i].Outcome == tenant.Fail {
			res = &s.results[i]
		}
	}
	if res == nil {
		t.Fatal("fabrikam's tenant sharing level passes; nothing to tamper with")
	}
	x := *res.Expect
	x.AtMost = string(tenant.SharingAnyone)
	res.Expect = &x
	plans, _ := remediate.Build(s.snap, r.baseline, []tenant.Result{*res})
	// AtMost anyone leaves the level as it is: a no-op is not a loosening.
	if len(plans) != 1 || plans[0].Blocked != "" {
		t.Fatalf("cap above the current level: %+v", plans)
	}
	// A Set of a wider value is.
	p := plans[0]
	p.Ops[0].Change = remediate.Change{Set: []byte(`"externalUserAndGuestSharing"`)}
	p.Ops[0].Before = []byte(`"externalUserSharingOnly"`)
	if why := remediate.CheckPlan(s.snap, r.baseline, &p); !strings.Contains(why, "widen") {
		t.Fatalf("a plan writing a wider sharing level: blocked = %q", why)
	}

	// The invitation allow list taken over by a block list is a loosening
	// the rules see: build it by hand from the mode plan.
	var modePlan *remediate.Plan
	all, _ := remediate.Build(s.snap, r.baseline, s.results)
	for i := range all {
		if all[i].RuleID == rules.IDEntraInvitationDomainMode {
			modePlan = &all[i]
		}
	}
	if modePlan == nil || modePlan.Blocked != "" {
		t.Fatalf("mode plan: %+v", modePlan)
	}
	bad := *modePlan
	bad.Ops = []remediate.Op{{Action: remediate.ActionSetInvitations, ObjectKey: tenant.KeyEntraInvitations, Field: "mode",
		Before: []byte(`"allowList"`), Change: remediate.Change{Set: []byte(`"blockList"`)}, API: "PATCH /beta/policies/b2bManagementPolicies/{id} definition", Reversible: true}}
	bad.Blocked = remediate.CheckPlan(s.snap, r.baseline, &bad)
	if !strings.Contains(bad.Blocked, "widen") {
		t.Fatalf("switching the allow list to a block list: blocked = %q", bad.Blocked)
	}
	if _, err := r.svc.Record(r.ctx, s.scan.ID, []remediate.Plan{bad}); err != nil {
		t.Fatal(err)
	}
	prs, err := r.svc.Plans(r.ctx, r.tenant, store.RemediationBlocked)
	if err != nil || len(prs) != 1 || !strings.Contains(prs[0].Note, bad.Blocked) {
		t.Fatalf("blocked plans: %+v, %v", prs, err)
	}
	before := r.writeCalls()
	err = r.svc.Approve(r.ctx, r.tenant, bad.Fingerprint, "cli:alice")
	if !errors.Is(err, remediate.ErrBlocked) || !strings.Contains(err.Error(), bad.Blocked) {
		t.Fatalf("approving a blocked plan: %v", err)
	}
	rep := r.apply(bad.Fingerprint)
	if len(rep.Ops) != 0 || r.writeCalls() != before {
		t.Fatalf("a blocked plan ran: %+v, %d writes", rep, r.writeCalls()-before)
	}
	if prs, _ := r.svc.Plans(r.ctx, r.tenant, store.RemediationApproved); len(prs) != 0 {
		t.Fatalf("a blocked plan got approved: %+v", prs)
	}
}

// TestPlansIgnoreDisplayText: rewording every result's Expected, Actual
// and Message changes no plan; the planners read the typed expectation.
// A result without one is not planned.
func TestPlansIgnoreDisplayText(t *testing.T) {
	for _, name := range shipped(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, autoFor())
			b, err := baselines.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			r.baseline = b
			s := r.scan()
			want, _ := remediate.Build(s.snap, b, s.results)
			reworded := make([]tenant.Result, len(s.results))
			for i, res := range s.results {
				res.Expected, res.Actual, res.Message = "reworded "+res.Expected, "something else", "a new message"
				reworded[i] = res
			}
			got, skipped := remediate.Build(s.snap, b, reworded)
			if len(skipped) != 0 || len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d plans from reworded results (skipped %v), %d before", len(got), skipped, len(want))
			}
			for i := range want {
				if got[i].RuleID != want[i].RuleID || got[i].ObjectKey != want[i].ObjectKey || got[i].Blocked != want[i].Blocked ||
					string(mustJSON(t, got[i].Ops)) != string(mustJSON(t, want[i].Ops)) {
					t.Errorf("plan %d of %s %s differs after rewording:\n got %s\nwant %s", i, want[i].RuleID, want[i].ObjectKey, mustJSON(t, got[i].Ops), mustJSON(t, want[i].Ops))
				}
			}
			bare := make([]tenant.Result, len(s.results))
			for i, res := range s.results {
				res.Expect = nil
				bare[i] = res
			}
			if plans, skipped := remediate.Build(s.snap, b, bare); len(skipped) == 0 {
				t.Errorf("results without expectations were planned: %d plans", len(plans))
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUncheckablePlanIsNotBuilt: a plan whose check would read a section
// the scan could not collect completely (taking northwindtraders.com off
// the invitation allow list is judged by guests.blocked_domain, which
// reads guests) is not built at all, rather than built unchecked.
func TestUncheckablePlanIsNotBuilt(t *testing.T) {
	r := newRig(t, autoFor())
	s := r.scan()
	complete, _ := remediate.Build(s.snap, r.baseline, s.results)
	var target *remediate.Plan
	for i := range complete {
		if complete[i].RuleID == rules.IDEntraInvitationAllowedDomains && strings.HasSuffix(complete[i].ObjectKey, "northwindtraders.com") {
			target = &complete[i]
		}
	}
	if target == nil || !strings.Contains(target.Blocked, rules.IDGuestsBlockedDomain) {
		t.Fatalf("with every section complete the northwindtraders.com plan must be blocked by %s: %+v", rules.IDGuestsBlockedDomain, target)
	}
	s.snap.Status[tenant.SectionGuests] = tenant.SectionStatus{State: tenant.StatePartial, Error: "users page 3: 503"}
	plans, skipped := remediate.Build(s.snap, r.baseline, s.results)
	for _, p := range plans {
		if p.Fingerprint == target.Fingerprint {
			t.Fatalf("built from an uncheckable snapshot: %+v", p)
		}
	}
	if why := skipped[target.Fingerprint]; !strings.Contains(why, "guests") {
		t.Fatalf("not-planned reason %q does not name the section", why)
	}
}
