package rules_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

func loadFixture(t *testing.T, name string) *tenant.Snapshot {
	t.Helper()
	s, err := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", name+".json"))
	if err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	return s
}

func loadBaseline(t *testing.T, name string) *baselines.Baseline {
	t.Helper()
	b, err := baselines.Load(name)
	if err != nil {
		t.Fatalf("load baseline %s: %v", name, err)
	}
	return b
}

// TestContosoIsClean checks the clean fixture: every section complete and
// not a single failure against the recommended baseline.
func TestContosoIsClean(t *testing.T) {
	s := loadFixture(t, "contoso")
	for _, sec := range tenant.AllSections {
		if !s.Complete(sec) {
			t.Errorf("section %s is not complete", sec)
		}
	}
	results := rules.Evaluate(s, loadBaseline(t, "recommended"))
	counts := map[tenant.Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
		if r.Outcome == tenant.Fail || r.Outcome == tenant.Unknown {
			t.Errorf("%s %s on %s: expected %q, actual %q: %s", r.RuleID, r.Outcome, r.ObjectKey, r.Expected, r.Actual, r.Message)
		}
	}
	if counts[tenant.Pass] == 0 {
		t.Errorf("no passing results at all: %v", counts)
	}
	t.Logf("contoso vs recommended: %v", counts)
}

// TestFabrikamFailsEveryRule checks that the risky fixture makes every
// built-in rule fail at least once against the recommended baseline.
func TestFabrikamFailsEveryRule(t *testing.T) {
	s := loadFixture(t, "fabrikam")
	results := rules.Evaluate(s, loadBaseline(t, "recommended"))
	fails := map[string]int{}
	for _, r := range results {
		if r.Outcome == tenant.Fail {
			fails[r.RuleID]++
		}
		if r.Outcome == tenant.Unknown {
			t.Errorf("%s unknown on %s: %s", r.RuleID, r.ObjectKey, r.Message)
		}
	}
	builtin := rules.Builtin()
	if len(builtin) < 30 {
		t.Fatalf("only %d built-in rules", len(builtin))
	}
	for _, r := range builtin {
		if fails[r.Meta().ID] == 0 {
			t.Errorf("rule %s has no failure on fabrikam", r.Meta().ID)
		}
	}
}

// TestPacksCoverTheirReferences: every SCuBA policy a rule cites is judged
// (not left not_applicable) by some rule under the cisa-scuba pack, and
// every CIS control a rule cites by some rule under the cis-m365 pack, on
// the risky fixture. (Several rules may share a control: the allow list of
// 1.3 is tenant-specific, its mode is not.)
func TestPacksCoverTheirReferences(t *testing.T) {
	s := loadFixture(t, "fabrikam")
	meta := map[string]rules.Meta{}
	for _, r := range rules.Builtin() {
		meta[r.Meta().ID] = r.Meta()
	}
	for _, pack := range []struct {
		name  string
		cites func(rules.References) []string
	}{
		{"cisa-scuba", func(r rules.References) []string { return r.SCuBA }},
		{"cis-m365", func(r rules.References) []string { return r.CIS }},
	} {
		judged := map[string]bool{}
		for _, r := range rules.Evaluate(s, loadBaseline(t, pack.name)) {
			if r.Outcome != tenant.NotApplicable {
				for _, ref := range pack.cites(meta[r.RuleID].References) {
					judged[ref] = true
				}
			}
		}
		for _, m := range meta {
			for _, ref := range pack.cites(m.References) {
				if !judged[ref] {
					t.Errorf("%s cites %s but no rule judges it under %s", m.ID, ref, pack.name)
				}
			}
		}
	}
}

// TestFabrikamFailuresLink checks that every failure links to its object:
// a link to its own web URL, a site to its URL, a setting to the admin
// page where it is changed.
func TestFabrikamFailuresLink(t *testing.T) {
	s := loadFixture(t, "fabrikam")
	linkURL := map[string]string{}
	for i := range s.Links {
		linkURL[s.Links[i].Key()] = s.Links[i].WebURL
	}
	siteURL := map[string]string{}
	for i := range s.Sites {
		siteURL[s.Sites[i].Key()] = s.Sites[i].URL
	}
	for _, r := range rules.Evaluate(s, loadBaseline(t, "recommended")) {
		if r.Outcome != tenant.Fail {
			continue
		}
		want, ok := linkURL[r.ObjectKey]
		if !ok {
			want, ok = siteURL[r.ObjectKey]
		}
		switch {
		case r.ObjectURL == "":
			t.Errorf("%s on %s has no object URL", r.RuleID, r.ObjectKey)
		case ok && want != "" && r.ObjectURL != want:
			t.Errorf("%s on %s links to %q, want %q", r.RuleID, r.ObjectKey, r.ObjectURL, want)
		case !strings.HasPrefix(r.ObjectURL, "https://"):
			t.Errorf("%s on %s: object URL %q is not https", r.RuleID, r.ObjectKey, r.ObjectURL)
		case r.Section == tenant.SectionSharePoint && r.ObjectURL != "https://fabrikam-admin.sharepoint.com/_layouts/15/online/AdminHome.aspx#/sharing":
			t.Errorf("%s on %s links to %q, not the SharePoint admin center's sharing page", r.RuleID, r.ObjectKey, r.ObjectURL)
		}
	}
}

// TestFabrikamObjectLabels checks that results carry the sensitivity label
// of their object: a link its site's, a site its own, a group its own, and
// a tenant setting none.
func TestFabrikamObjectLabels(t *testing.T) {
	s := loadFixture(t, "fabrikam")
	want := map[string]string{}
	for i := range s.Sites {
		want[s.Sites[i].Key()] = s.Sites[i].SensitivityLabel
	}
	siteLabel := map[string]string{}
	for i := range s.Sites {
		siteLabel[s.Sites[i].ID] = s.Sites[i].SensitivityLabel
	}
	for i := range s.Links {
		want[s.Links[i].Key()] = siteLabel[s.Links[i].SiteID]
	}
	for i := range s.Groups.Groups {
		g := &s.Groups.Groups[i]
		if len(g.Labels) == 1 {
			want[g.Key()] = g.Labels[0].DisplayName
		}
	}
	seen := map[string]bool{}
	for _, r := range rules.Evaluate(s, loadBaseline(t, "recommended")) {
		w, ok := want[r.ObjectKey]
		if !ok {
			if r.ObjectLabel != "" {
				t.Errorf("%s on %s has label %q, want none", r.RuleID, r.ObjectKey, r.ObjectLabel)
			}
			continue
		}
		if r.ObjectLabel != w {
			t.Errorf("%s on %s has label %q, want %q", r.RuleID, r.ObjectKey, r.ObjectLabel, w)
		}
		if r.Outcome == tenant.Fail && w != "" {
			seen[r.RuleID+" "+w] = true
		}
	}
	// The critical finding of the fixture: an Anyone link on the
	// Confidential Payroll file's site.
	if !seen[rules.IDLinksAnyoneOnConfidential+" Confidential"] {
		t.Errorf("no failing %s result labelled Confidential; labelled failures: %v", rules.IDLinksAnyoneOnConfidential, seen)
	}
}
