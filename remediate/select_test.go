package remediate_test

import (
	"fmt"
	"testing"

	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/tenant"
)

// Planning keeps at most MaxPlans fixable failures, the most severe first
// and the same ones each scan, and leaves out what no fix applies to.
func TestSelectCap(t *testing.T) {
	sp := tenant.NewResultSpool(t.TempDir(), 4) // spills: read back merged
	defer sp.Close()
	add := func(r tenant.Result) {
		if err := sp.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	sev := []tenant.Severity{tenant.SeverityLow, tenant.SeverityCritical, tenant.SeverityMedium, tenant.SeverityHigh}
	for i := 0; i < 40; i++ {
		add(tenant.Result{RuleID: "links.anyone_link", Section: tenant.SectionLinks, Outcome: tenant.Fail,
			Severity: sev[i%len(sev)], ObjectKey: fmt.Sprintf("link:d/i%02d/p", i), Expected: "no Anyone links"})
	}
	// Never planned: not fixable, accepted by an exception, passing, or off.
	add(tenant.Result{RuleID: "guests.sponsor", Outcome: tenant.Fail, Severity: tenant.SeverityCritical, ObjectKey: "guest:1"})
	add(tenant.Result{RuleID: "links.anyone_link", Outcome: tenant.Pass, Exception: "EX-1", Severity: tenant.SeverityCritical, ObjectKey: "link:x"})
	add(tenant.Result{RuleID: "links.anyone_link", Outcome: tenant.Pass, Severity: tenant.SeverityCritical, ObjectKey: "link:y"})
	add(tenant.Result{RuleID: "links.anyone_link_edit", Outcome: tenant.Fail, Severity: tenant.SeverityCritical, ObjectKey: "link:z"})
	if remediate.Fixable("guests.sponsor") || !remediate.Fixable("links.anyone_link") {
		t.Fatal("fixture assumes guests.sponsor has no fix and links.anyone_link has one")
	}

	pol := remediate.Policy{Mode: remediate.ModeDryRun, MaxPlans: 12, Rules: map[string]remediate.Mode{"links.anyone_link_edit": remediate.ModeOff}}
	sel, err := remediate.Select(sp.Each, &pol)
	if err != nil {
		t.Fatal(err)
	}
	kept := sel.Failures
	if len(kept) != 12 || sel.Over != 28 || sel.Off != 1 {
		t.Fatalf("kept %d, over %d, off %d; want 12, 28 and 1", len(kept), sel.Over, sel.Off)
	}
	// 10 critical and 10 high exist: all critical and 2 high are kept.
	n := map[tenant.Severity]int{}
	for i, r := range kept {
		n[r.Severity]++
		if i > 0 && kept[i-1].ObjectKey > r.ObjectKey {
			t.Errorf("plans not in object order at %d", i)
		}
	}
	if n[tenant.SeverityCritical] != 10 || n[tenant.SeverityHigh] != 2 || len(n) != 2 {
		t.Errorf("kept severities %v, want 10 critical and 2 high", n)
	}
	sel, err = remediate.Select(sp.Each, &pol)
	if err != nil {
		t.Fatal(err)
	}
	again := sel.Failures
	for i := range kept {
		if again[i].ObjectKey != kept[i].ObjectKey {
			t.Fatalf("a second read kept %s where the first kept %s", again[i].ObjectKey, kept[i].ObjectKey)
		}
	}

	pol.MaxPlans = 100
	sel, err = remediate.Select(sp.Each, &pol)
	if err != nil || len(sel.Failures) != 40 || sel.Over != 0 {
		t.Errorf("under the cap: kept %d, over %d, %v; want 40, 0", len(sel.Failures), sel.Over, err)
	}

	// Results held in a slice select the same.
	var held []tenant.Result
	if err := sp.Each(func(_ string, r *tenant.Result) error { held = append(held, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	pol.MaxPlans = 12
	sel, err = remediate.Select(remediate.Each(held), &pol)
	fromSlice := sel.Failures
	if err != nil || sel.Over != 28 || sel.Off != 1 || len(fromSlice) != len(kept) {
		t.Fatalf("from a slice: kept %d, over %d, off %d, %v", len(fromSlice), sel.Over, sel.Off, err)
	}
	for i := range kept {
		if fromSlice[i].ObjectKey != kept[i].ObjectKey {
			t.Fatalf("from a slice kept %s where the spool kept %s", fromSlice[i].ObjectKey, kept[i].ObjectKey)
		}
	}
}

// An unknown result is never planned, nor is any failure of a rule that
// also gave a rule-wide unknown result (it was judged on incomplete data).
func TestSelectSkipsUnknown(t *testing.T) {
	const conf, anyone = "links.anyone_on_confidential", "links.anyone_link"
	if !remediate.Fixable(conf) || !remediate.Fixable(anyone) {
		t.Fatal("fixture assumes both rules have a fix")
	}
	results := []tenant.Result{
		{RuleID: conf, Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityCritical, ObjectKey: "link:d/a/p"},
		{RuleID: conf, Section: tenant.SectionLinks, Outcome: tenant.Unknown, Severity: tenant.SeverityCritical, ObjectKey: "links:tenant",
			RuleWide: true},
		{RuleID: conf, Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityCritical, ObjectKey: "link:d/b/p"},
		{RuleID: anyone, Section: tenant.SectionLinks, Outcome: tenant.Unknown, Severity: tenant.SeverityHigh, ObjectKey: "link:d/c/p"},
		{RuleID: anyone, Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityHigh, ObjectKey: "link:d/d/p"},
	}
	sp := tenant.NewResultSpool(t.TempDir(), 2)
	defer sp.Close()
	for i := range results {
		if err := sp.Add(&results[i]); err != nil {
			t.Fatal(err)
		}
	}
	pol := remediate.Policy{Mode: remediate.ModeAuto, MaxPlans: 10}
	for name, rs := range map[string]remediate.Results{"slice": remediate.Each(results), "spool": sp.Each} {
		sel, err := remediate.Select(rs, &pol)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range sel.Failures {
			keys = append(keys, r.RuleID+" "+r.ObjectKey)
		}
		if fmt.Sprint(keys) != "[links.anyone_link link:d/d/p]" || sel.Held != 2 {
			t.Errorf("%s: selected %v, held %d; want only links.anyone_link link:d/d/p, 2 held", name, keys, sel.Held)
		}
	}
}
