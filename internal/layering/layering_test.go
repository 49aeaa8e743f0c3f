package layering

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedriftLayering checks the module's own imports.
func TestSharedriftLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	imports, err := Imports(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"tenant", "rules", "config", "app", "scanner/m365/m365test", "cmd/sharedrift"} {
		if _, ok := imports[Module+"/"+p]; !ok {
			t.Fatalf("package %s not found under %s: the walk is broken", p, root)
		}
	}
	for _, v := range Check(Rules, imports) {
		t.Error(v)
	}
}

// TestViolationsCaught: one deliberate violation per rule is reported, and
// the same import from a package the rule allows is not.
func TestViolationsCaught(t *testing.T) {
	m := func(p string) string { return Module + "/" + p }
	cases := []struct {
		from, imp, rule string
	}{
		{m("rules"), "net/http", "pure model"},
		{m("drift"), "database/sql", "pure model"},
		{m("tenant"), m("store"), "pure model"},
		{m("baselines"), m("scanner/m365"), "pure model"},
		{m("config"), m("notify"), "configuration"},
		{m("config/notifyconf"), m("notify/slack"), "configuration"},
		{m("remediate"), m("notify/slack"), "domain"},
		{m("notify"), m("daemon"), "domain"},
		{m("store"), m("scanner/m365"), "store"},
		{m("app"), m("scanner/m365/m365test"), "fake tenant"},
		{m("daemon"), m("notify/slack/slackfake"), "test doubles"},
	}
	for _, c := range cases {
		got := Check(Rules, map[string][]string{c.from: {c.imp}})
		found := false
		for _, v := range got {
			found = found || (v.Rule == c.rule && v.From == c.from && v.Import == c.imp)
		}
		if !found {
			t.Errorf("%s importing %s: want a %q violation, got %v", c.from, c.imp, c.rule, got)
		}
	}
	allowed := map[string][]string{
		m("rules"):          {m("tenant"), m("baselines"), "strings"},
		m("config"):         {m("config/notifyconf"), m("internal/readcap"), "net/url"},
		m("cmd/sharedrift"): {m("scanner/m365/m365test"), m("app")},
		m("bench"):          {m("scanner/m365/m365test")},
		m("remediate"):      {m("store"), m("scanner/m365"), m("notify")},
	}
	if got := Check(Rules, allowed); len(got) != 0 {
		t.Errorf("allowed imports reported: %v", got)
	}
}

// TestMatch pins the pattern forms.
func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"./store/...", Module + "/store", true},
		{"./store/...", Module + "/store/storetest", true},
		{"./store/...", Module + "/storex", false},
		{"./tenant", Module + "/tenant/sub", false},
		{"net/...", "net", true},
		{"net/...", "net/http", true},
		{"net/...", "network", false},
		{"./...", "github.com/other/module", false},
	} {
		if got := match(c.pattern, c.path); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
	if !strings.Contains(Violation{Rule: "r", From: "a", Import: "b", Why: "w"}.String(), "a imports b") {
		t.Error("violation text")
	}
}
