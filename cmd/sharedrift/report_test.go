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
				want := []string{"anyone-links.csv", "calendar-exposure.csv", "findings.csv", "guests.csv", "people-links.csv"}
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
		{name: "unknown format", args: []string{"report", "--snapshot", fabrikam, "--format", "docx"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, `unknown report format "docx"`) }},
		{name: "inventory without csv", args: []string{"report", "--snapshot", fabrikam, "--inventory", "guests"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "--inventory applies to --format csv only") }},
		{name: "previous of another tenant", args: []string{"report", "--snapshot", fabrikam, "--previous", contoso}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "previous snapshot is of tenant") }},
		{name: "no snapshot and no store", args: []string{"report"}, wantCode: exitError,
			check: func(t *testing.T, _, stderr string) { wantIn(t, stderr, "no store at") }},
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

// TestReportFromHistory records two scans with sharedrift scan --store and
// reports on the tenant from the store.
func TestReportFromHistory(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "sharedrift.db")
	review := "../../report/testdata/fabrikam-review.yaml"
	for _, snap := range []string{"../../report/testdata/fabrikam-previous.json", fabrikam} {
		if _, stderr, code := cli(t, "scan", "--snapshot", snap, "--baseline", review, "--store", dsn, "--fail-on", "none"); code != exitOK {
			t.Fatalf("scan %s: exit %d\n%s", snap, code, stderr)
		}
	}
	// The fixtures were collected in 2026; a period reaching back from the
	// wall clock would not include the first scan, so name a date.
	stdout, stderr, code := cli(t, "report", "--tenant", "fabrikam.onmicrosoft.com", "--store", dsn, "--since", "2026-02-15", "--format", "json")
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	var doc struct {
		Schema     string            `json:"schema"`
		Changes    []json.RawMessage `json:"changes"`
		Exceptions []json.RawMessage `json:"exceptions"`
		Summary    struct {
			Score, PreviousScore *float64
		} `json:"summary"`
		AnyoneLinks struct {
			Items []json.RawMessage `json:"items"`
		} `json:"anyoneLinks"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	// 13 changes: the previous snapshot lacks, among others, the direct
	// grant of the payroll file.
	if doc.Schema != report.SchemaV1 || len(doc.Changes) != 13 || len(doc.Exceptions) != 2 || doc.Summary.PreviousScore == nil || len(doc.AnyoneLinks.Items) != 3 {
		t.Errorf("schema %q, %d changes, %d exceptions, previous score %v, %d Anyone links", doc.Schema, len(doc.Changes), len(doc.Exceptions), doc.Summary.PreviousScore, len(doc.AnyoneLinks.Items))
	}

	// The trend reads both scans.
	stdout, stderr, code = cli(t, "report", "--tenant", "fabrikam.onmicrosoft.com", "--store", dsn, "--since", "2026-02-15", "--format", "markdown")
	if code != exitOK {
		t.Fatalf("report markdown: exit %d\n%s", code, stderr)
	}
	wantIn(t, stdout, "### Posture over time")

	// The overview of every tenant, as JSON and printed to PDF.
	stdout, stderr, code = cli(t, "report", "--all-tenants", "--store", dsn, "--format", "json")
	if code != exitOK {
		t.Fatalf("report --all-tenants: exit %d\n%s", code, stderr)
	}
	var roll struct {
		Schema  string `json:"schema"`
		Tenants []struct {
			Tenant  string         `json:"tenant"`
			Scans   int            `json:"scans"`
			Score   *float64       `json:"score"`
			Failing map[string]int `json:"failingBySeverity"`
		} `json:"tenants"`
	}
	if err := json.Unmarshal([]byte(stdout), &roll); err != nil {
		t.Fatalf("rollup not JSON: %v", err)
	}
	if roll.Schema != report.RollupSchemaV1 || len(roll.Tenants) != 1 || roll.Tenants[0].Scans != 2 || roll.Tenants[0].Score == nil || roll.Tenants[0].Failing["critical"] != 1 {
		t.Errorf("rollup = %+v", roll)
	}
	if os.Getenv(report.EnvChromium) == "" && os.Getenv("SHAREDRIFT_TEST_CHROMIUM") != "" {
		t.Setenv(report.EnvChromium, os.Getenv("SHAREDRIFT_TEST_CHROMIUM"))
	}
	if _, err := report.FindChromium(); err != nil {
		t.Fatalf("no Chromium for the PDF test: %v", err) // a broken test setup, not a skip
	}
	for _, args := range [][]string{
		{"report", "--tenant", "fabrikam.onmicrosoft.com", "--store", dsn, "--since", "2026-02-15", "--format", "pdf"},
		{"report", "--all-tenants", "--store", dsn, "--format", "pdf"},
	} {
		out := filepath.Join(t.TempDir(), "out.pdf")
		if _, stderr, code := cli(t, append(args, "-o", out)...); code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		if b, err := os.ReadFile(out); err != nil || !strings.HasPrefix(string(b), "%PDF-") {
			t.Errorf("%v: not a PDF (%v)", args, err)
		}
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"all tenants with a tenant", []string{"report", "--all-tenants", "--tenant", "x", "--store", dsn}, "cannot be combined with --all-tenants"},
		{"all tenants as csv", []string{"report", "--all-tenants", "--store", dsn, "--format", "csv"}, "not csv"},
		{"unknown tenant", []string{"report", "--tenant", "nobody", "--store", dsn}, `--tenant "nobody": no such tenant in the store`},
		{"history with a snapshot", []string{"report", "--tenant", "x", "--store", dsn, "--snapshot", fabrikam}, "cannot be combined"},
		{"store without tenant", []string{"report", "--snapshot", fabrikam, "--store", dsn}, "--store applies to reports from history"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.args...)
			if code != exitError {
				t.Fatalf("exit %d, want %d", code, exitError)
			}
			wantIn(t, stderr, tt.want)
		})
	}
}

func wantIn(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q not in:\n%s", sub, s)
	}
}

// TestReportPDFWithoutChromium: no browser on PATH and none named gives a
// clear error before any work, and no output file.
func TestReportPDFWithoutChromium(t *testing.T) {
	t.Setenv(report.EnvChromium, "")
	t.Setenv("PATH", t.TempDir())
	out := filepath.Join(t.TempDir(), "r.pdf")
	_, stderr, code := cli(t, "report", "--snapshot", fabrikam, "--format", "pdf", "-o", out)
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	wantIn(t, stderr, "no Chromium found for --format pdf")
	if _, err := os.Stat(out); err == nil {
		t.Error("an output file was written")
	}
}
