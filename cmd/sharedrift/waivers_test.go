package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestAcceptRiskCommands accepts a risk from the command line on an
// object named as admins see it (its display name, with spaces), and
// follows it through the next scans: the accepted value passes as an
// exception (the finding resolves, the report lists it), and a changed
// value fails again (the finding reopens).
func TestAcceptRiskCommands(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	dir := t.TempDir()
	const (
		rule   = "links.anyone_link_expiry"
		object = "https://fabrikam-my.sharepoint.com/personal/rkhan_fabrikam_com /Notes/Vendor shortlist.docx"
		perm   = "8e2d4b6a-1c3f-4a5e-b7d9-2f4a6c8e0b13"
	)
	snap, err := tenant.ReadFile(fabrikam)
	if err != nil {
		t.Fatal(err)
	}
	scan := func(hours int, expires time.Time) {
		t.Helper()
		s := *snap
		s.CollectedAt = snap.CollectedAt.Add(time.Duration(hours) * time.Hour)
		s.Links = append([]tenant.Link(nil), snap.Links...)
		for i := range s.Links {
			if s.Links[i].PermissionID == perm {
				s.Links[i].Expires = &expires
			}
		}
		path := filepath.Join(t.TempDir(), "snap.json")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := tenant.Encode(f, &s); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if _, errOut, code := cli(t, "scan", "--snapshot", path, "--state-dir", dir); code != exitFindings {
			t.Fatalf("scan at +%dh: code %d, stderr %s", hours, code, errOut)
		}
	}
	finding := func() store.Finding {
		t.Helper()
		out, showErr, code := cli(t, "findings", "show", object, "--rule", rule, "--state-dir", dir, "--format", "json")
		if code != 0 {
			// A resolved finding is not found by object name: list all.
			out, errOut, code := cli(t, "findings", "list", "--state-dir", dir, "--state", "resolved", "--format", "json")
			var fs []store.Finding
			if code != 0 || json.Unmarshal([]byte(out), &fs) != nil {
				t.Fatalf("findings list: %d %s %s", code, out, errOut)
			}
			for _, f := range fs {
				if f.RuleID == rule && f.ObjectName == object {
					return f
				}
			}
			t.Fatalf("no finding of %s on %s: %s", rule, object, showErr)
		}
		var f store.Finding
		if err := json.Unmarshal([]byte(out), &f); err != nil {
			t.Fatalf("findings show: %v\n%s", err, out)
		}
		return f
	}
	sept := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	scan(0, sept)

	// The object's name alone is ambiguous: several rules fail on it.
	if _, errOut, code := cli(t, "findings", "ack", object, "--state-dir", dir); code == 0 || !strings.Contains(errOut, "--rule") {
		t.Errorf("ack by an ambiguous name: code %d, %s", code, errOut)
	}
	for _, bad := range [][]string{
		{"--owner", "comms", "--for", "90d"},
		{"--reason", "shortlist shared with vendors", "--for", "90d"},
		{"--reason", "shortlist shared with vendors", "--owner", "comms"},
		{"--reason", "r", "--owner", "o", "--until", "next year"},
	} {
		args := append([]string{"findings", "accept", object, "--rule", rule, "--state-dir", dir}, bad...)
		if _, errOut, code := cli(t, args...); code == 0 {
			t.Errorf("accept %v: code 0, %s", bad, errOut)
		}
	}
	out, errOut, code := cli(t, "findings", "accept", object, "--rule", rule, "--state-dir", dir,
		"--reason", "shortlist shared with vendors", "--owner", "comms@fabrikam.com", "--for", "90d", "--by", "alice")
	if code != 0 || !strings.Contains(out, "risk accepted:") || !strings.Contains(out, "shortlist shared with vendors") {
		t.Fatalf("accept: code %d\n%s%s", code, out, errOut)
	}
	f := finding()
	if f.Accepted == nil || f.Accepted.Value != "expires 2026-09-30" || f.Accepted.Owner != "comms@fabrikam.com" || f.AcknowledgedBy != "alice" {
		t.Fatalf("accepted finding = %+v, accepted %+v", f, f.Accepted)
	}

	// The same value an hour later: accepted, so the finding resolves.
	scan(1, sept)
	if f = finding(); f.State != store.FindingResolved {
		t.Errorf("accepted finding is %s after a scan with the accepted value", f.State)
	}
	out, errOut, code = cli(t, "report", "--state-dir", dir, "--tenant", snap.Tenant, "--format", "markdown")
	if code != 0 || !strings.Contains(out, f.ExceptionID()) || !strings.Contains(out, "comms@fabrikam.com") {
		t.Errorf("report does not list the accepted risk %s: code %d %s\n%s", f.ExceptionID(), code, errOut, out)
	}

	// The expiry moved: not the accepted value, so the finding reopens.
	scan(2, sept.AddDate(0, 1, 0))
	if f = finding(); f.State != store.FindingReopened || f.Actual != "expires 2026-10-30" {
		t.Errorf("after the value changed: state %s, actual %q", f.State, f.Actual)
	}
}
