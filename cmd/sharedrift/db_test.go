package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestStoreCommands drives scan (recording), history, changes, findings,
// migrate and db through the command line against an SQLite state dir.
func TestStoreCommands(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	dir := t.TempDir()

	// Without a store, scan stays stateless.
	_, errOut, _ := cli(t, "scan", "--snapshot", fabrikam)
	if strings.Contains(errOut, "scan stored") {
		t.Fatalf("stateless scan recorded: %s", errOut)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_STATE_HOME"), "sharedrift")); err == nil {
		t.Fatal("stateless scan created a state directory")
	}

	if _, errOut, code := cli(t, "scan", "--snapshot", fabrikam, "--state-dir", dir); code != exitFindings || !strings.Contains(errOut, "scan stored") {
		t.Fatalf("first scan: code %d, stderr %s", code, errOut)
	}
	// The same tenant an hour later with one link made editable and given
	// a short expiry.
	snap, err := tenant.ReadFile(fabrikam)
	if err != nil {
		t.Fatal(err)
	}
	snap.CollectedAt = snap.CollectedAt.Add(time.Hour)
	for i := range snap.Links {
		if snap.Links[i].PermissionID == "8e2d4b6a-1c3f-4a5e-b7d9-2f4a6c8e0b13" {
			snap.Links[i].Type = tenant.LinkTypeEdit
			snap.Links[i].Expires = tenant.Ptr(snap.CollectedAt.Add(72 * time.Hour))
		}
	}
	second := filepath.Join(t.TempDir(), "second.json")
	f, _ := os.Create(second)
	if err := tenant.Encode(f, snap); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, errOut, code := cli(t, "scan", "--snapshot", second, "--state-dir", dir); code != exitFindings {
		t.Fatalf("second scan: code %d, stderr %s", code, errOut)
	}

	out, errOut, code := cli(t, "history", "--state-dir", dir, "--format", "json")
	var scans []store.Scan
	if code != 0 || json.Unmarshal([]byte(out), &scans) != nil || len(scans) != 2 {
		t.Fatalf("history: code %d, %s %s", code, out, errOut)
	}
	if scans[0].FindingsNew != 1 || scans[0].FindingsResolved != 1 || scans[0].ObjectsWritten != 1 {
		t.Errorf("latest scan = %+v", scans[0])
	}
	out, _, _ = cli(t, "history", "--state-dir", dir)
	if !strings.Contains(out, "WRITTEN/SEEN") || !strings.Contains(out, canonicalTenant(snap.Tenant)) {
		t.Errorf("history table:\n%s", out)
	}

	out, _, code = cli(t, "changes", "--state-dir", dir, "--since", "2000-01-01")
	if code != 0 || !strings.Contains(out, "modified") || !strings.Contains(out, "type: \"view\" -> \"edit\"") {
		t.Errorf("changes: code %d\n%s", code, out)
	}
	out, _, _ = cli(t, "changes", "--state-dir", dir, "--since", "2000-01-01", "--kind", "removed")
	if !strings.Contains(out, "no changes") {
		t.Errorf("removed changes:\n%s", out)
	}

	out, _, code = cli(t, "findings", "list", "--state-dir", dir, "--format", "json")
	var fs []store.Finding
	if code != 0 || json.Unmarshal([]byte(out), &fs) != nil || len(fs) == 0 || int64(len(fs)) != scans[0].FindingsOpen {
		t.Fatalf("findings list: code %d, %d findings, want %d", code, len(fs), scans[0].FindingsOpen)
	}
	out, _, code = cli(t, "findings", "list", "--state-dir", dir, "--label", "CONFIDENTIAL", "--format", "json")
	var labelled []store.Finding
	if code != 0 || json.Unmarshal([]byte(out), &labelled) != nil || len(labelled) == 0 || len(labelled) >= len(fs) {
		t.Fatalf("findings list --label: code %d, %d of %d findings", code, len(labelled), len(fs))
	}
	for _, f := range labelled {
		if f.ObjectLabel != "Confidential" {
			t.Errorf("--label CONFIDENTIAL listed %s on %s labelled %q", f.RuleID, f.ObjectKey, f.ObjectLabel)
		}
	}
	out, _, _ = cli(t, "findings", "list", "--state-dir", dir, "--state", "resolved")
	if !strings.Contains(out, "links.anyone_link_expiry") {
		t.Errorf("resolved findings:\n%s", out)
	}
	fp := fs[0].Fingerprint[:10]
	out, errOut, code = cli(t, "findings", "ack", fp, "--state-dir", dir, "--by", "alice")
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "open,acked") {
		t.Errorf("ack: code %d\n%s%s", code, out, errOut)
	}
	out, _, code = cli(t, "findings", "snooze", fp, "--state-dir", dir, "--for", "7d", "--format", "json")
	var snoozed store.Finding
	if code != 0 || json.Unmarshal([]byte(out), &snoozed) != nil || !snoozed.Snoozed(time.Now()) {
		t.Errorf("snooze: code %d\n%s", code, out)
	}
	out, _, _ = cli(t, "findings", "show", fp, "--state-dir", dir)
	if !strings.Contains(out, fs[0].RuleID) || !strings.Contains(out, "snoozed until:") {
		t.Errorf("show:\n%s", out)
	}

	out, _, code = cli(t, "migrate", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("migrate: %d %s", code, out)
	}
	out, _, code = cli(t, "db", "status", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "tenants: 1") {
		t.Errorf("db status: %d %s", code, out)
	}
	// --tenant: one tenant's status, prune and notifications; an unknown
	// tenant is refused with the list of tenants and changes nothing.
	name := canonicalTenant(snap.Tenant)
	out, _, code = cli(t, "db", "status", "--state-dir", dir, "--tenant", snap.Tenant)
	if code != 0 || !strings.Contains(out, "tenant:  "+name) || !regexp.MustCompile(`scans:\s+2, latest \d+ at `).MatchString(out) ||
		!regexp.MustCompile(`open:\s+\d+ findings \(`).MatchString(out) {
		t.Errorf("db status --tenant: %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"db", "status", "--tenant", "northwind"},
		{"db", "prune", "--older-than", "0d", "--tenant", "northwind"},
		{"notify", "status", "--tenant", "northwind"},
	} {
		_, errOut, code := cli(t, append(args, "--state-dir", dir)...)
		if code != 1 || !strings.Contains(errOut, `--tenant "northwind": no such tenant`) || !strings.Contains(errOut, "(tenants: "+name+")") {
			t.Errorf("%v: exit %d\n%s", args, code, errOut)
		}
	}
	out, _, code = cli(t, "db", "prune", "--older-than", "0d", "--tenant", name, "--dry-run", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "would prune 1 scans") {
		t.Errorf("db prune --tenant --dry-run: %d %s", code, out)
	}
	out, _, code = cli(t, "notify", "status", "--tenant", name, "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "(outbox empty)") {
		t.Errorf("notify status --tenant: %d %s", code, out)
	}
	if all, _, _ := cli(t, "history", "--state-dir", dir, "--format", "json"); json.Unmarshal([]byte(all), &scans) != nil || len(scans) != 2 {
		t.Errorf("refused or dry-run prunes deleted scans: %s", all)
	}

	out, _, code = cli(t, "db", "prune", "--older-than", "90d", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "pruned") {
		t.Errorf("db prune: %d %s", code, out)
	}
}

func TestStoreCommandErrors(t *testing.T) {
	dir := t.TempDir()
	// An empty store: migrated, no tenant recorded yet.
	if _, errOut, code := cli(t, "migrate", "--state-dir", dir); code != exitOK {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unreachable database", []string{"history", "--store", "postgres://sd:hunter2secret@127.0.0.1:1/sharedrift?sslmode=disable"},
			[]string{"postgres host 127.0.0.1:1", "connect"}},
		{"tenant not in the store", []string{"findings", "show", "ffffffff", "--state-dir", dir, "--tenant", "x"}, []string{`--tenant "x"`, "no tenants yet"}},
		{"no tenants", []string{"findings", "ack", "ffffffff", "--state-dir", dir}, []string{"no tenants"}},
		{"bad age", []string{"db", "prune", "--older-than", "soon", "--state-dir", dir}, []string{"--older-than", "90d"}},
		{"bad since", []string{"changes", "--since", "yesterday", "--state-dir", dir}, []string{"--since"}},
		{"bad format", []string{"history", "--format", "xml", "--state-dir", dir}, []string{"table or json"}},
		{"bad state", []string{"findings", "list", "--state", "closed", "--state-dir", dir}, []string{"--state"}},
		{"both stores", []string{"history", "--store", "sqlite:x.db", "--state-dir", dir}, []string{"cannot be combined"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := cli(t, tc.args...)
			if code != exitError {
				t.Errorf("exit code %d, want %d", code, exitError)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "hunter2secret") || strings.Contains(errOut, "panic") {
				t.Errorf("stderr leaks: %q", errOut)
			}
		})
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"", 0, false},
		{"d", 0, false},
		{"-3d", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseAge(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseAge(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}
