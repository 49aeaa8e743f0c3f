package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/remediate"
)

// TestRemediateOffline drives plan, approve, apply, history and rollback
// against the in-process fabrikam fixture tenant, then plans, applies and
// rolls back again on the same store: every command replays the earlier
// runs onto the fresh fixture tenant, rolled-back ones included.
func TestRemediateOffline(t *testing.T) {
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	dir := t.TempDir()
	fixture := filepath.Join("..", "..", "testdata", "tenants", "fabrikam")
	policy := []string{"--fixture", fixture, "--state-dir", dir, "--rule-mode", "sites.sharing_level=approve", "--rule-mode", "links.anyone_link=auto",
		"--allow-destructive", "links.anyone_link"}

	out, errOut, code := cli(t, append([]string{"remediate", "plan", "--format", "json"}, policy...)...)
	if code != exitOK {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	var planned struct {
		Plans []remediate.PlanRecord `json:"plans"`
	}
	if err := json.Unmarshal([]byte(out), &planned); err != nil {
		t.Fatal(err)
	}
	var site string
	for _, pr := range planned.Plans {
		if pr.Plan.RuleID == "sites.sharing_level" && site == "" {
			site = pr.Plan.Fingerprint
		}
	}
	if len(planned.Plans) < 40 || site == "" {
		t.Fatalf("%d plans, site plan %q", len(planned.Plans), site)
	}

	// Plans recorded in dry-run mode cannot be approved; approve-mode ones
	// can, by the mode recorded with them (no mode flags needed), once
	// checked against the tenant: without it, the fixture's scan is too old.
	dryRun := ""
	for _, pr := range planned.Plans {
		if pr.Mode == remediate.ModeDryRun && dryRun == "" {
			dryRun = pr.Plan.Fingerprint
		}
	}
	if _, errOut, code := cli(t, "remediate", "approve", dryRun[:8], "--state-dir", dir); code != exitError || !strings.Contains(errOut, "dry-run mode") {
		t.Errorf("approving a dry-run plan: %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, "remediate", "approve", site[:10], "--state-dir", dir); code != exitError || !strings.Contains(errOut, "old, more than the allowed") {
		t.Errorf("approving without the tenant: %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, "remediate", "approve", site[:10], "--state-dir", dir, "--fixture", fixture, "--by", "alice"); code != exitOK {
		t.Fatalf("approve: %d %s", code, errOut)
	}

	out, errOut, code = cli(t, append([]string{"remediate", "apply", "--max-changes", "2", "--format", "json"}, policy...)...)
	if code != exitOK {
		t.Fatalf("apply: %d %s", code, errOut)
	}
	var applied struct {
		Run      remediate.RunReport `json:"run"`
		Resolved int64               `json:"findingsResolved"`
	}
	if err := json.Unmarshal([]byte(out), &applied); err != nil {
		t.Fatal(err)
	}
	if applied.Run.Changes != 2 || !applied.Run.CapReached || applied.Run.Count(remediate.StatusNotAttempted) != 2 || applied.Resolved == 0 {
		t.Fatalf("capped run: %+v resolved %d", applied.Run, applied.Resolved)
	}

	// The next run starts from what the first one left (replayed onto the
	// fresh fixture tenant) and does the rest.
	out, errOut, code = cli(t, append([]string{"remediate", "apply"}, policy...)...)
	if code != exitOK || !strings.Contains(out, "2 operations, 2 changes") || !strings.Contains(out, "site.set_sharing") {
		t.Fatalf("second apply: %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = cli(t, "remediate", "history", "--state-dir", dir)
	if code != exitOK || !strings.Contains(out, "cli:alice") || !strings.Contains(out, "not attempted: change cap of 2 reached") {
		t.Fatalf("history:\n%s", out)
	}
	var run string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "site.set_sharing") {
			run = strings.Fields(line)[1]
		}
	}
	out, errOut, code = cli(t, append([]string{"remediate", "rollback", run}, policy...)...)
	if code != exitOK || !strings.Contains(out, "1 operations, 1 changes") || !strings.Contains(out, "not reversible") {
		t.Fatalf("rollback %s: %d\n%s\n%s", run, code, out, errOut)
	}
	if _, errOut, code := cli(t, "remediate", "apply", "--state-dir", dir); code != exitError || !strings.Contains(errOut, "--fixture") {
		t.Errorf("apply without a tenant: %d %s", code, errOut)
	}

	// The store stays usable after a rollback: plan, approve, apply and
	// roll back again.
	out, errOut, code = cli(t, append([]string{"remediate", "plan", "--format", "json"}, policy...)...)
	if code != exitOK {
		t.Fatalf("plan after rollback: %d %s", code, errOut)
	}
	planned.Plans = nil
	if err := json.Unmarshal([]byte(out), &planned); err != nil {
		t.Fatal(err)
	}
	again := ""
	for _, pr := range planned.Plans {
		if pr.Plan.Fingerprint == site && pr.State == "planned" {
			again = pr.Plan.Fingerprint
		}
	}
	if again == "" {
		t.Fatalf("no new plan for the rolled-back site: %s", out)
	}
	if _, errOut, code := cli(t, "remediate", "approve", again[:10], "--state-dir", dir, "--fixture", fixture, "--by", "alice"); code != exitOK {
		t.Fatalf("approve again: %d %s", code, errOut)
	}
	out, errOut, code = cli(t, append([]string{"remediate", "apply", "--format", "json"}, policy...)...)
	if code != exitOK {
		t.Fatalf("apply again: %d %s", code, errOut)
	}
	applied.Run = remediate.RunReport{}
	if err := json.Unmarshal([]byte(out), &applied); err != nil {
		t.Fatal(err)
	}
	if applied.Run.Changes != 1 || applied.Run.Ops[0].Action != remediate.ActionSetSiteSharing {
		t.Fatalf("apply again: %+v", applied.Run)
	}
	out, errOut, code = cli(t, append([]string{"remediate", "rollback", applied.Run.RunID}, policy...)...)
	if code != exitOK || !strings.Contains(out, "1 operations, 1 changes") {
		t.Fatalf("second rollback: %d\n%s\n%s", code, out, errOut)
	}
	_, errOut, code = cli(t, append([]string{"remediate", "plan"}, policy...)...)
	if code != exitOK {
		t.Fatalf("plan after the second rollback: %d %s", code, errOut)
	}
	out, _, code = cli(t, "remediate", "history", "--state-dir", dir, "--format", "json")
	var rows []remediate.Attempt
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil {
		t.Fatalf("history: %d %s", code, out)
	}
	verified := 0
	for _, r := range rows {
		if r.Verified != nil && *r.Verified {
			verified++
		}
	}
	if verified < 6 {
		t.Errorf("%d attempts shown as verified by reading back", verified)
	}
}

// --max-plans caps what one plan run records, most severe first.
func TestRemediatePlanCap(t *testing.T) {
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	fixture := filepath.Join("..", "..", "testdata", "tenants", "fabrikam")
	out, errOut, code := cli(t, "remediate", "plan", "--format", "json", "--fixture", fixture, "--state-dir", t.TempDir(), "--max-plans", "3")
	if code != exitOK {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	var planned struct {
		Recorded remediate.RecordStats  `json:"recorded"`
		Plans    []remediate.PlanRecord `json:"plans"`
	}
	if err := json.Unmarshal([]byte(out), &planned); err != nil {
		t.Fatal(err)
	}
	if planned.Recorded.Created != 3 || len(planned.Plans) != 3 {
		t.Fatalf("created %d, listed %d plans; want 3 and 3", planned.Recorded.Created, len(planned.Plans))
	}
	for _, pr := range planned.Plans {
		if pr.Plan.Severity != "critical" && pr.Plan.Severity != "high" {
			t.Errorf("plan of %s severity %q kept under the cap", pr.Plan.RuleID, pr.Plan.Severity)
		}
	}
	if !strings.Contains(errOut, "remediation plans capped") {
		t.Errorf("no warning about the cap: %s", errOut)
	}
}
