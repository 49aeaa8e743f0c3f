package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	goldenfile "github.com/sharedrift/sharedrift/internal/golden"
	"github.com/sharedrift/sharedrift/output"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	fabrikam = "../../testdata/snapshots/fabrikam.json"
	contoso  = "../../testdata/snapshots/contoso.json"
	goldDir  = "../../testdata/golden"
)

// cli runs the command line in-process and returns what it printed and its
// exit code.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join(goldDir, name), []byte(got))
}

func TestGoldenScan(t *testing.T) {
	for _, snap := range []struct{ name, path string }{{"fabrikam", fabrikam}, {"contoso", contoso}} {
		for _, format := range output.Formats() {
			ext := map[output.Format]string{output.FormatJSON: "json", output.FormatTable: "txt", output.FormatMarkdown: "md"}[format]
			name := "scan-" + snap.name + "-recommended." + ext
			t.Run(name, func(t *testing.T) {
				stdout, stderr, code := cli(t, "scan", "--snapshot", snap.path, "--baseline", "recommended", "--format", string(format), "--fail-on", "high")
				if code != exitOK && code != exitFindings {
					t.Fatalf("exit %d, stderr:\n%s", code, stderr)
				}
				golden(t, name, stdout)
			})
		}
	}
}

func TestGoldenRulesList(t *testing.T) {
	for _, format := range []string{"json", "table"} {
		name := "rules-list." + map[string]string{"json": "json", "table": "txt"}[format]
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := cli(t, "rules", "list", "--format", format)
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			golden(t, name, stdout)
		})
	}
}

// scanJSON runs a JSON scan and decodes its output.
func scanJSON(t *testing.T, snapshot string, extra ...string) (*output.Scan, int) {
	t.Helper()
	args := append([]string{"scan", "--snapshot", snapshot, "--format", "json"}, extra...)
	stdout, stderr, code := cli(t, args...)
	if code != exitOK && code != exitFindings {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var s output.Scan
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("scan JSON does not decode into output.Scan: %v", err)
	}
	return &s, code
}

// TestFabrikamFailsEveryRule is the demo's promise: every built-in rule
// finds something wrong in fabrikam, and the gate trips.
func TestFabrikamFailsEveryRule(t *testing.T) {
	s, code := scanJSON(t, fabrikam, "--baseline", "recommended", "--fail-on", "high")
	if code != exitFindings {
		t.Errorf("exit %d, want %d", code, exitFindings)
	}
	failed := map[string]bool{}
	for _, it := range s.Results {
		if it.Outcome == tenant.Fail {
			failed[it.RuleID] = true
		}
	}
	for _, r := range rules.Builtin() {
		if id := r.Meta().ID; !failed[id] {
			t.Errorf("rule %s has no fail on fabrikam", id)
		}
	}
	if s.Summary.Failing == 0 || s.Summary.Outcomes.Fail < len(rules.Builtin()) {
		t.Errorf("summary %+v does not count the failures", s.Summary)
	}
}

func TestContosoIsClean(t *testing.T) {
	s, code := scanJSON(t, contoso, "--baseline", "recommended", "--fail-on", "low")
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
	for _, it := range s.Results {
		if it.Outcome == tenant.Fail {
			t.Errorf("contoso fails %s on %s: %s", it.RuleID, it.ObjectKey, it.Message)
		}
	}
	if s.Summary.Outcomes.Fail != 0 || s.Summary.Failing != 0 {
		t.Errorf("summary counts failures: %+v", s.Summary.Outcomes)
	}
}

func TestScanJSONContent(t *testing.T) {
	s, _ := scanJSON(t, fabrikam, "--baseline", "recommended")
	if s.Schema != output.SchemaV1 || s.Tenant == "" || s.Baseline != "recommended" || s.CollectedAt.IsZero() {
		t.Errorf("header incomplete: schema %q tenant %q baseline %q collected %v", s.Schema, s.Tenant, s.Baseline, s.CollectedAt)
	}
	// An aggregate pass stands for Count objects.
	listed, aggregates := 0, 0
	for _, it := range s.Results {
		listed += max(it.Count, 1)
		if it.Count > 0 {
			aggregates++
		}
	}
	if listed != s.Summary.Total {
		t.Errorf("json lists results for %d objects, summary counts %d; json must list every result by default", listed, s.Summary.Total)
	}
	if aggregates == 0 {
		t.Errorf("no aggregate pass for the per-object rules")
	}
	c := s.Summary.Outcomes
	if c.Pass+c.Fail+c.NotApplicable+c.Unknown != s.Summary.Total {
		t.Errorf("outcome counts %+v do not add up to %d", c, s.Summary.Total)
	}
	sevTotal := 0
	for _, sc := range s.Summary.BySeverity {
		sevTotal += sc.Pass + sc.Fail + sc.NotApplicable + sc.Unknown
	}
	if sevTotal != s.Summary.Total {
		t.Errorf("severity counts add up to %d, want %d", sevTotal, s.Summary.Total)
	}
	if len(s.Summary.Sections) != len(tenant.AllSections) {
		t.Errorf("summary has %d sections, want %d", len(s.Summary.Sections), len(tenant.AllSections))
	}
	for i, it := range s.Results {
		if it.RuleID == "" || it.Outcome == "" || it.Severity == "" || it.ObjectKey == "" || it.Fingerprint == "" || it.Title == "" {
			t.Errorf("result %d lacks an identifying field: %+v", i, it)
		}
		if it.References == nil {
			t.Errorf("result %d (%s) has no references", i, it.RuleID)
		}
		if i > 0 {
			prev := s.Results[i-1]
			if prev.RuleID > it.RuleID || (prev.RuleID == it.RuleID && prev.ObjectKey > it.ObjectKey) {
				t.Errorf("results %d and %d out of rule/object order: %s %s, %s %s", i-1, i, prev.RuleID, prev.ObjectKey, it.RuleID, it.ObjectKey)
			}
		}
	}
}

func TestScanShow(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		allow  map[tenant.Outcome]bool
		hidden string
	}{
		{"default table shows fail and unknown", nil, map[tenant.Outcome]bool{tenant.Fail: true, tenant.Unknown: true}, "Not shown:"},
		{"fail only", []string{"--show", "fail"}, map[tenant.Outcome]bool{tenant.Fail: true}, "Not shown:"},
		{"all", []string{"--show", "all"}, map[tenant.Outcome]bool{tenant.Fail: true, tenant.Unknown: true, tenant.Pass: true, tenant.NotApplicable: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"scan", "--snapshot", fabrikam, "--fail-on", "none"}, tt.args...)
			stdout, stderr, code := cli(t, args...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			rows := tableRows(stdout)
			if len(rows) == 0 {
				t.Fatalf("no table rows in:\n%s", stdout)
			}
			pastFailures := false
			for _, row := range rows {
				o := tenant.Outcome(strings.Fields(row)[0])
				if !tt.allow[o] {
					t.Errorf("row with outcome %s shown: %s", o, row)
				}
				if o != tenant.Fail {
					pastFailures = true
				} else if pastFailures {
					t.Errorf("failure listed after other outcomes: %s", row)
				}
			}
			if tt.hidden != "" && !strings.Contains(stdout, tt.hidden) {
				t.Errorf("table does not say what it left out")
			}
			if first := tenant.Outcome(strings.Fields(rows[0])[0]); first != tenant.Fail {
				t.Errorf("first row is %s, failures must come first", first)
			}
		})
	}
}

// tableRows returns the data rows of a scan table.
func tableRows(out string) []string {
	var rows []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "OUTCOME"):
			in = true
		case in && strings.TrimSpace(line) == "":
			return rows
		case in:
			rows = append(rows, line)
		}
	}
	return rows
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"fabrikam fails at high", []string{"scan", "--snapshot", fabrikam, "--baseline", "recommended", "--fail-on", "high"}, exitFindings},
		{"fabrikam fails at default threshold", []string{"scan", "--snapshot", fabrikam}, exitFindings},
		{"fabrikam without a gate", []string{"scan", "--snapshot", fabrikam, "--fail-on", "none"}, exitOK},
		{"contoso passes at low", []string{"scan", "--snapshot", contoso, "--baseline", "recommended", "--fail-on", "low"}, exitOK},
		{"contoso passes as json", []string{"scan", "--snapshot", contoso, "--format", "json"}, exitOK},
		{"missing snapshot file", []string{"scan", "--snapshot", "does-not-exist.json"}, exitError},
		{"no snapshot flag", []string{"scan"}, exitError},
		{"unknown baseline", []string{"scan", "--snapshot", contoso, "--baseline", "nosuchbaseline"}, exitError},
		{"bad format", []string{"scan", "--snapshot", contoso, "--format", "xml"}, exitError},
		{"bad fail-on", []string{"scan", "--snapshot", contoso, "--fail-on", "severe"}, exitError},
		{"bad show", []string{"scan", "--snapshot", contoso, "--show", "fail,maybe"}, exitError},
		{"unknown flag", []string{"scan", "--snapshto", contoso}, exitError},
		{"unexpected argument", []string{"scan", contoso}, exitError},
		{"unknown command", []string{"scna"}, exitError},
		{"bad log level", []string{"--log-level", "loud", "version"}, exitError},
		{"version", []string{"version"}, exitOK},
		{"help", []string{"--help"}, exitOK},
		{"rules list", []string{"rules", "list"}, exitOK},
		{"rules list bad format", []string{"rules", "list", "--format", "yaml"}, exitError},
		{"baseline list", []string{"baseline", "list"}, exitOK},
		{"baseline show", []string{"baseline", "show", "recommended"}, exitOK},
		{"baseline show unknown", []string{"baseline", "show", "nosuchbaseline"}, exitError},
		{"baseline validate missing", []string{"baseline", "validate", "does-not-exist.yaml"}, exitError},
		{"baseline validate no file", []string{"baseline", "validate"}, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.want, stderr)
			}
			if code == exitError && !strings.HasPrefix(stderr, "sharedrift") {
				t.Errorf("error output should start with the command path, got:\n%s", stderr)
			}
			if code == exitFindings && strings.Contains(stderr, "exit status") {
				t.Errorf("findings exit printed an error: %s", stderr)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadInput checks that bad input exits 1 with one message naming the
// file and the offending key or value, and prints nothing on stdout.
func TestBadInput(t *testing.T) {
	good, err := os.ReadFile(contoso)
	if err != nil {
		t.Fatal(err)
	}
	snap := string(good)
	tests := []struct {
		name     string
		snapshot string // content; "" uses contoso
		baseline string // content; "" uses recommended
		want     []string
	}{
		{name: "malformed snapshot", snapshot: `{"schema": "sharedrift.snapshot/v1", "tenant": `, want: []string{"snap.json"}},
		{name: "snapshot unknown key", snapshot: strings.Replace(snap, `"tenant"`, `"tenantNmae": "x", "tenant"`, 1), want: []string{"snap.json", "tenantNmae"}},
		{name: "snapshot unknown schema version", snapshot: strings.Replace(snap, "sharedrift.snapshot/v1", "sharedrift.snapshot/v9", 1), want: []string{"snap.json", "schema", "sharedrift.snapshot/v9"}},
		{name: "snapshot wrong type", snapshot: strings.Replace(snap, `"collectedAt"`, `"tenantId": 42, "collectedAt"`, 1), want: []string{"snap.json", "tenantId"}},
		{name: "baseline unknown key", baseline: "extends: recommended\nsharepoint:\n  max_sharing_levle: disabled\n", want: []string{"base.yaml", "sharepoint.max_sharing_levle"}},
		{name: "baseline bad enum", baseline: "extends: recommended\nsharepoint:\n  max_sharing_level: everyone\n", want: []string{"base.yaml", "sharepoint.max_sharing_level", "everyone"}},
		{name: "baseline malformed yaml", baseline: "sharepoint: [\n", want: []string{"base.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snapPath := contoso
			if tt.snapshot != "" {
				snapPath = writeFile(t, "snap.json", tt.snapshot)
			}
			basePath := "recommended"
			if tt.baseline != "" {
				basePath = writeFile(t, "base.yaml", tt.baseline)
			}
			stdout, stderr, code := cli(t, "scan", "--snapshot", snapPath, "--baseline", basePath)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if stdout != "" {
				t.Errorf("bad input still printed output:\n%s", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, stderr)
				}
			}
			if tt.baseline != "" {
				// The same file through baseline validate gives the same verdict.
				_, verr, vcode := cli(t, "baseline", "validate", basePath)
				if vcode != exitError || !strings.Contains(verr, tt.want[len(tt.want)-1]) {
					t.Errorf("baseline validate: exit %d, stderr:\n%s", vcode, verr)
				}
			}
		})
	}
}

func TestBaselineValidateAndShow(t *testing.T) {
	path := writeFile(t, "ours.yaml", "extends: recommended\nname: ours\nguests:\n  stale_after_days: 45\n")
	stdout, stderr, code := cli(t, "baseline", "validate", path)
	if code != exitOK {
		t.Fatalf("validate: exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, path) || !strings.Contains(stdout, "ok") {
		t.Errorf("validate output %q should name the file and say ok", stdout)
	}

	stdout, stderr, code = cli(t, "baseline", "show", path)
	if code != exitOK {
		t.Fatalf("show: exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "stale_after_days: 45") {
		t.Errorf("show does not carry the override:\n%s", stdout)
	}
	base, _, _ := cli(t, "baseline", "show", "recommended")
	if len(stdout) < len(base)/2 {
		t.Errorf("show of an extending baseline should include the merged parent (got %d bytes, parent %d)", len(stdout), len(base))
	}
	if strings.Contains(stdout, "extends:") {
		t.Errorf("resolved baseline still has extends:\n%s", stdout)
	}
}

func TestVersion(t *testing.T) {
	stdout, _, code := cli(t, "version")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"sharedrift ", "commit ", runtime.Version(), runtime.GOOS} {
		if !strings.Contains(stdout, w) {
			t.Errorf("version output %q lacks %q", stdout, w)
		}
	}
	flagOut, _, _ := cli(t, "--version")
	if flagOut != stdout {
		t.Errorf("--version %q differs from version %q", flagOut, stdout)
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"scan", "rules", "baseline", "version", "Exit codes", "Examples:", "--log-level"}},
		{[]string{"scan", "--help"}, []string{"--snapshot", "--baseline", "--format", "--fail-on", "--show", "Exit status", "Examples:"}},
		{[]string{"rules", "list", "--help"}, []string{"--format"}},
		{[]string{"baseline", "--help"}, []string{"validate", "show", "recommended"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, _, code := cli(t, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestLogsGoToStderr(t *testing.T) {
	stdout, stderr, code := cli(t, "--log-level", "debug", "--log-format", "json", "scan", "--snapshot", contoso, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `"msg":"rules evaluated"`) {
		t.Errorf("debug JSON logs missing on stderr:\n%s", stderr)
	}
	if !json.Valid([]byte(stdout)) {
		t.Errorf("stdout is not pure JSON; logs leaked into it")
	}
}
