package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/report"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout, stderr string)
	}{
		{
			name: "json to stdout with previous snapshot",
			args: []string{"report", "--snapshot", fabrikam, "--previous", "../../report/testdata/fabrikam-previous.json", "--format", "json"},
			check: func(t *testing.T, stdout, _ string) {
				var doc struct {
					Schema  string            `json:"schema"`
					Tenant  string            `json:"tenant"`
					Changes []json.RawMessage `json:"changes"`
					Summary struct {
						PreviousScore *float64 `json:"previousScore"`
					} `json:"summary"`
				}
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
					t.Fatalf("stdout is not JSON: %v", err)
				}
				if doc.Schema != report.SchemaV1 || doc.Tenant != "fabrikam.onmicrosoft.com" || len(doc.Changes) == 0 || doc.Summary.PreviousScore == nil {
					t.Errorf("schema %q tenant %q, %d changes, previous score %v", doc.Schema, doc.Tenant, len(doc.Changes), doc.Summary.PreviousScore)
				}
			},
		},
		{
			name: "html file",
			args: []string{"report", "--snapshot", fabrikam, "-o", filepath.Join(dir, "r.html")},
			check: func(t *testing.T, _, _ string) {
				b, err := os.ReadFile(filepath.Join(dir, "r.html"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.Contains(string(b), `id="anyone-links"`) {
					t.Errorf("not an HTML report: %.200s", b)
				}
			},
		},
		{
			name: "csv directory",
			args: []string{"report", "--snapshot", fabrikam, "--format", "csv", "-o", filepath.Join(dir, "csv")},
			check: func(t *testing.T, _, _ string) {
				entries, err := os.ReadDir(filepath.Join(dir, "csv"))
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				want := []string{"anyone-links.csv", "calendar-exposure.csv", "findings.csv", "guests.csv"}
				if !reflect.DeepEqual(names, want) {
					t.Errorf("files %v, want %v", names, want)
				}
			},
		},
		{
			name: "one csv inventory to stdout",
			args: []string{"report", "--snapshot", fabrikam, "--format", "csv", "--inventory", "guests"},
			check: func(t *testing.T, stdout, _ string) {
				if lines := strings.Count(stdout, "\n"); lines != 4 || !strings.HasPrefix(stdout, "id,display_name,") {
					t.Errorf("guests csv has %d lines:\n%s", lines, stdout)
				}
			},
		},
		{name: "csv needs a directory or an inventory", args: []string{"report", "--snapshot", fabrikam, "--format", "csv"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "-o DIR") }},
		{name: "unknown format", args: []string{"report", "--snapshot", fabrikam, "--format", "pdf"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, `unknown report format "pdf"`) }},
		{name: "inventory without csv", args: []string{"report", "--snapshot", fabrikam, "--inventory", "guests"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "--inventory applies to --format csv only") }},
		{name: "previous of another tenant", args: []string{"report", "--snapshot", fabrikam, "--previous", contoso}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "previous snapshot is of tenant") }},
		{name: "no snapshot", args: []string{"report"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "no snapshot given") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			tt.check(t, stdout, stderr)
		})
	}
}

func wantIn(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q not in:\n%s", sub, s)
	}
}
