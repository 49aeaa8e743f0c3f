package pipeline

import (
	"fmt"
	"testing"

	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/tenant"
)

// Planning keeps at most MaxPlans fixable failures, the most severe first
// and the same ones each scan, and leaves out what no fix applies to.
func TestPlannableCap(t *testing.T) {
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
	kept, over, err := plannable(sp, &pol)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 12 || over != 28 {
		t.Fatalf("kept %d, over %d; want 12 and 28", len(kept), over)
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
	again, _, err := plannable(sp, &pol)
	if err != nil {
		t.Fatal(err)
	}
	for i := range kept {
		if again[i].ObjectKey != kept[i].ObjectKey {
			t.Fatalf("a second read kept %s where the first kept %s", again[i].ObjectKey, kept[i].ObjectKey)
		}
	}

	pol.MaxPlans = 100
	all, over, err := plannable(sp, &pol)
	if err != nil || len(all) != 40 || over != 0 {
		t.Errorf("under the cap: kept %d, over %d, %v; want 40, 0", len(all), over, err)
	}
}
