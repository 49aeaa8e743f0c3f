package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/remediate"
)

// TestRemediateOffline drives plan, approve, apply, history and rollback
// against the in-process fabrikam fixture tenant.
func TestRemediateOffline(t *testing.T) {
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	dir := t.TempDir()
	fixture := filepath.Join("..", "..", "testdata", "tenants", "fabrikam")
	policy := []string{"--fixture", fixture, "--state-dir", dir, "--rule-mode", "sites.sharing_level=approve", "--rule-mode", "links.anyone_link=auto"}

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

	// Dry-run rules cannot be approved; approve-mode ones can.
	if _, errOut, code := cli(t, "remediate", "approve", planned.Plans[0].Plan.Fingerprint[:8], "--state-dir", dir); code != exitError || !strings.Contains(errOut, "dry-run mode") {
		t.Errorf("approving a dry-run plan: %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, "remediate", "approve", site[:10], "--state-dir", dir, "--rule-mode", "sites.sharing_level=approve", "--by", "alice"); code != exitOK {
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
