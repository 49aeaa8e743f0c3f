package rules_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/internal/golden"
	"github.com/sharedrift/sharedrift/rules"
)

// renderRulesDoc renders docs/rules.md from the registry, so the document
// cannot drift from the code.
func renderRulesDoc() string {
	var b strings.Builder
	b.WriteString(`# Rules

<!-- Generated from the built-in rules by ` + "`go test ./rules -run TestRulesDoc -update`" + `; do not edit by hand. -->

Every rule compares one aspect of a snapshot with the baseline and reports, per object, one of
four outcomes:

- **pass**: the object meets the baseline;
- **fail**: it does not (or an exception accepts a different value than the actual one, or has lapsed);
- **not_applicable**: the baseline sets no expectation for the rule, or the rule does not apply to
  the tenant's configuration (for example Anyone-link settings while Anyone links are off);
- **unknown**: the section was not collected completely, or the data the rule needs is missing.
  A rule never passes over an incomplete section.

Each rule names the sections it **reads** (listed below with each rule; a link rule that looks at
site labels reads ` + "`links`" + ` and ` + "`sites`" + `). While any of them is partial, failed or missing,
the rule is not evaluated at all: it reports one rule-wide unknown on its section's tenant-level
key, and the store leaves every finding of that rule exactly as it was (open findings are neither
resolved nor rewritten, and keep the last_seen of the scan that last saw them). Custom rules are
held to the same: their ` + "`reads`" + ` (by default their own section) is enforced by the runner.
A rule the baseline says nothing about stays not applicable however incomplete the snapshot is.

Values the service sends that sharedrift does not recognise are kept verbatim and never read
as a nearby known value:

- a requirement that names the values it accepts fails on anything else and shows the raw value:
  Anyone links must be view-only (link types ` + "`blocksDownload`, `view`, `embed`" + ` with roles at most
  ` + "`read`" + `; ` + "`review`, `createOnly`, `addressBar`, `adminDefault`" + ` and unknown kinds fail), the guest user
  role must be a known role at or under the ceiling, ` + "`allowInvitesFrom`" + ` must be a known value at or
  under the ceiling;
- a requirement that places a value on an ordered scale (sharing levels, link scopes, default link
  permissions, calendar detail, free/busy) gives unknown with the raw value when it cannot place it;
- a rule whose applicability depends on a value that is missing or unrecognised (the tenant sharing
  level for the Anyone-link and domain settings; a link's scope for the Anyone-link rules) gives
  unknown, never not_applicable.

The ordered scales, the service spellings, CSOM integers and baseline names of every value live in
one table per enumeration in the snapshot model (` + "`tenant/enums.go`" + `).

Per-object rules report one result per object with the object's stable key (` + "`site:<id>`, `link:<driveId>/<itemId>/<permissionId>`, `guest:<id>`, `group:<id>`, `orgrel:<name>`" + `);
domain-list rules report one result per domain (` + "`sharepoint:tenant/blockedDomain:<domain>`" + `). When a
collection has nothing to judge, or cannot be judged, the rule reports once on a tenant-level key
such as ` + "`links:tenant`" + `. Ages and expiries are measured from the snapshot's ` + "`collectedAt`" + `.
Rules over sites, links and guests report their plain passes as one result per rule on the
tenant-level key, whose ` + "`count`" + ` is the number of objects that passed; failures, unknowns
and results an exception accepted stay one per object.

A guest is **orphaned** when it has neither a sponsor nor any group membership: nobody answers
for it and no group grants it access. Pending invitations and stale sign-ins have their own rules.

| ID | Title | Severity | CIS | SCuBA |
|---|---|---|---|---|
`)
	for _, r := range rules.Builtin() {
		m := r.Meta()
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s | %s |\n", m.ID, anchor(m.ID), m.Title, m.Severity,
			strings.Join(m.References.CIS, ", "), strings.Join(m.References.SCuBA, ", "))
	}
	section := ""
	for _, r := range rules.Builtin() {
		m := r.Meta()
		if string(m.Section) != section {
			section = string(m.Section)
			fmt.Fprintf(&b, "\n## Section `%s`\n", section)
		}
		var reads []string
		for _, sec := range m.ReadSections() {
			reads = append(reads, "`"+string(sec)+"`")
		}
		fmt.Fprintf(&b, "\n### %s\n\n**%s** (default severity %s; reads %s)\n\n%s\n\n*Remediation:* %s\n\n", m.ID, m.Title, m.Severity,
			strings.Join(reads, ", "), m.Rationale, m.Remediation)
		for _, id := range m.References.CIS {
			c, _ := rules.LookupControl(rules.FrameworkCIS, id)
			fmt.Fprintf(&b, "- CIS Microsoft 365 Foundations Benchmark %s, %s: %s\n", c.Version, id, c.Title)
		}
		for _, id := range m.References.SCuBA {
			c, _ := rules.LookupControl(rules.FrameworkSCuBA, id)
			fmt.Fprintf(&b, "- CISA SCuBA %s (policy version %s): %s\n", id, c.Version, c.Title)
		}
		for _, d := range m.References.Docs {
			fmt.Fprintf(&b, "- <%s>\n", d)
		}
	}
	return b.String()
}

// anchor is the heading anchor GitHub-style renderers derive from an ID.
func anchor(id string) string {
	return strings.ReplaceAll(id, ".", "")
}

func TestRulesDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "rules.md")
	want := renderRulesDoc()
	if golden.Updating() {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (regenerate with -update): %v", path, err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date; run: make golden", path)
	}
	for _, r := range rules.Builtin() {
		if !strings.Contains(string(got), "### "+r.Meta().ID+"\n") {
			t.Errorf("%s does not document %s", path, r.Meta().ID)
		}
	}
}
