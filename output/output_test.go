package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

func testMeta(id string) (rules.Meta, bool) {
	if id == "x.unregistered" {
		return rules.Meta{}, false
	}
	return rules.Meta{
		ID: id, Title: "Title of " + id, Section: tenant.SectionSharePoint, Severity: tenant.SeverityHigh,
		Rationale: "Because.", Remediation: "Set it | carefully.",
		References: rules.References{CIS: []string{"7.2.3"}, SCuBA: []string{"MS.SHAREPOINT.1.1v1"}, Docs: []string{"https://learn.microsoft.com/x"}},
	}, true
}

func testScan(failOn tenant.Severity) *Scan {
	snap := &tenant.Snapshot{
		Tenant: "t.onmicrosoft.com", CollectedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
		Status: map[tenant.Section]tenant.SectionStatus{
			tenant.SectionSharePoint: {State: tenant.StateComplete},
			tenant.SectionLinks:      {State: tenant.StatePartial, Error: "throttled\nafter retries"},
		},
	}
	res := []tenant.Result{
		{RuleID: "b.rule", Section: tenant.SectionSharePoint, Outcome: tenant.Pass, Severity: tenant.SeverityHigh, ObjectKey: "sharepoint:tenant"},
		{RuleID: "a.rule", Section: tenant.SectionLinks, Outcome: tenant.Unknown, Severity: tenant.SeverityCritical, ObjectKey: "links:tenant"},
		{RuleID: "c.rule", Section: tenant.SectionSharePoint, Outcome: tenant.Fail, Severity: tenant.SeverityMedium, ObjectKey: "site:2", ObjectName: "Finance | Legal", Expected: "at most existing_guests", Actual: "anyone"},
		{RuleID: "c.rule", Section: tenant.SectionSharePoint, Outcome: tenant.Fail, Severity: tenant.SeverityMedium, ObjectKey: "site:1", Actual: strings.Repeat("x", 100)},
		{RuleID: "d.rule", Section: tenant.SectionSharePoint, Outcome: tenant.Fail, Severity: tenant.SeverityCritical, ObjectKey: "sharepoint:tenant", Exception: "accepted by CISO"},
		{RuleID: "x.unregistered", Section: tenant.SectionGuests, Outcome: tenant.NotApplicable, Severity: tenant.SeverityLow, ObjectKey: "guests:tenant"},
	}
	return NewScan(Input{Snapshot: snap, Baseline: "recommended", Results: res, FailOn: failOn, Meta: testMeta})
}

func TestNewScanOrderAndMeta(t *testing.T) {
	s := testScan(tenant.SeverityHigh)
	var order []string
	for _, it := range s.Results {
		order = append(order, it.RuleID+" "+it.ObjectKey)
	}
	want := []string{"a.rule links:tenant", "b.rule sharepoint:tenant", "c.rule site:1", "c.rule site:2", "d.rule sharepoint:tenant", "x.unregistered guests:tenant"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order = %q, want %q", order, want)
	}
	if s.Results[0].Title != "Title of a.rule" || s.Results[0].References == nil || s.Results[0].References.CIS[0] != "7.2.3" {
		t.Errorf("metadata not attached: %+v", s.Results[0])
	}
	if last := s.Results[len(s.Results)-1]; last.References != nil || last.Title != "" {
		t.Errorf("unregistered rule got metadata: %+v", last)
	}
	if s.CollectedAt.Location() != time.UTC || s.CollectedAt.Hour() != 9 {
		t.Errorf("collectedAt should be shown in UTC, got %v", s.CollectedAt)
	}
	for _, it := range s.Results {
		r := tenant.Result{RuleID: it.RuleID, ObjectKey: it.ObjectKey, Expected: it.Expected}
		if it.Fingerprint != r.Fingerprint() {
			t.Errorf("fingerprint of %s %s is not the result's", it.RuleID, it.ObjectKey)
		}
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		failOn  tenant.Severity
		failing int
	}{
		{"", 3},
		{tenant.SeverityLow, 3},
		{tenant.SeverityHigh, 1},
		{tenant.SeverityCritical, 1},
	}
	for _, tt := range tests {
		t.Run("fail-on "+string(tt.failOn), func(t *testing.T) {
			s := testScan(tt.failOn)
			if s.Summary.Failing != tt.failing {
				t.Errorf("failing = %d, want %d", s.Summary.Failing, tt.failing)
			}
		})
	}
	s := testScan("")
	if got, want := s.Summary.Outcomes, (Counts{Pass: 1, Fail: 3, NotApplicable: 1, Unknown: 1}); got != want {
		t.Errorf("outcomes = %+v, want %+v", got, want)
	}
	if s.Summary.Total != 6 {
		t.Errorf("total = %d", s.Summary.Total)
	}
	var sevs []tenant.Severity
	for _, sc := range s.Summary.BySeverity {
		sevs = append(sevs, sc.Severity)
	}
	if !reflect.DeepEqual(sevs, severities) {
		t.Errorf("severities %v, want all, most severe first", sevs)
	}
	if crit := s.Summary.BySeverity[0]; crit.Fail != 1 || crit.Unknown != 1 {
		t.Errorf("critical counts = %+v", crit.Counts)
	}
	states := map[tenant.Section]string{}
	for _, sec := range s.Summary.Sections {
		states[sec.Section] = sec.State
	}
	if states[tenant.SectionSharePoint] != "complete" || states[tenant.SectionLinks] != "partial" || states[tenant.SectionExchange] != StateNotCollected {
		t.Errorf("section states = %v", states)
	}
	if sp := s.Summary.Sections[0]; sp.Section != tenant.SectionSharePoint || sp.Fail != 3 || sp.Pass != 1 {
		t.Errorf("sharepoint section counts = %+v", sp)
	}
}

func TestParseOutcomes(t *testing.T) {
	tests := []struct {
		in      []string
		want    []tenant.Outcome
		wantErr bool
	}{
		{[]string{"fail"}, []tenant.Outcome{tenant.Fail}, false},
		{[]string{"fail", " unknown", "fail"}, []tenant.Outcome{tenant.Fail, tenant.Unknown}, false},
		{[]string{"all"}, Outcomes, false},
		{[]string{"pass", "all"}, Outcomes, false},
		{nil, nil, false},
		{[]string{"failed"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, ","), func(t *testing.T) {
			got, err := ParseOutcomes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats() {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("ParseFormat(yaml) error = %v", err)
	}
}

func TestJSONShowFilters(t *testing.T) {
	s := testScan("")
	var buf bytes.Buffer
	if err := JSON(&buf, s, Options{Show: []tenant.Outcome{tenant.Fail}}); err != nil {
		t.Fatal(err)
	}
	var got Scan
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 3 {
		t.Errorf("filtered JSON has %d results, want the 3 failures", len(got.Results))
	}
	if got.Summary.Total != 6 {
		t.Errorf("filtered JSON summary total %d, want all 6 counted", got.Summary.Total)
	}
	if len(s.Results) != 6 {
		t.Errorf("rendering modified the scan")
	}
	if !strings.Contains(buf.String(), `"expected": "at most existing_guests"`) {
		t.Errorf("JSON lacks expected value:\n%s", buf.String())
	}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, testScan(tenant.SeverityHigh), Options{Show: Outcomes}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(out, "\n")
	var rows []string
	for i, l := range lines {
		if strings.HasPrefix(l, "OUTCOME") {
			for _, r := range lines[i+1:] {
				if r == "" {
					break
				}
				rows = append(rows, r)
			}
		}
	}
	var outcomes []string
	for _, r := range rows {
		outcomes = append(outcomes, strings.Fields(r)[0]+" "+strings.Fields(r)[1])
	}
	// Failures first (critical before medium), then unknown, pass, not_applicable.
	want := []string{"fail (exception)", "fail medium", "fail medium", "unknown critical", "pass high", "not_applicable low"}
	if !reflect.DeepEqual(outcomes, want) {
		t.Errorf("row order = %q, want %q", outcomes, want)
	}
	// Columns line up: every row has the RULE column at the same offset.
	col := strings.Index(lines[slicesIndex(lines, "OUTCOME")], "RULE")
	for _, r := range rows {
		if r[col-2:col] != "  " || r[col] == ' ' {
			t.Errorf("row not aligned at column %d: %q", col, r)
		}
	}
	for _, w := range []string{"Tenant:    t.onmicrosoft.com", "Collected: 2025-03-01 09:00:00 UTC", "links partial (throttled after retries)", "exchange not collected",
		"Results:   3 fail, 1 unknown, 1 pass, 1 not applicable", "Failed:    1 critical, 2 medium", "Verdict:   1 failure(s) at high or above", "…"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, strings.Repeat("x", maxCell+1)) {
		t.Errorf("long cell not shortened")
	}
	if strings.Contains(out, "Not shown:") {
		t.Errorf("nothing was hidden but the table says so")
	}
}

func slicesIndex(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func TestTableEmpty(t *testing.T) {
	var buf bytes.Buffer
	s := NewScan(Input{Snapshot: &tenant.Snapshot{Tenant: "t"}, Baseline: "strict", Meta: testMeta})
	if err := Table(&buf, s, Options{Show: []tenant.Outcome{tenant.Fail}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No results to show.") || !strings.Contains(buf.String(), "no failures at any severity") {
		t.Errorf("empty table:\n%s", buf.String())
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(&buf, testScan(tenant.SeverityHigh), Options{Show: []tenant.Outcome{tenant.Fail, tenant.Unknown}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{
		"# sharedrift scan: t.onmicrosoft.com",
		"| links | partial: throttled after retries | 0 | 1 | 0 | 0 |",
		"## Failed (3)",
		"## Unknown (data missing or section incomplete) (1)",
		`Finance \| Legal<br>` + "`site:2`",
		"(exception: accepted by CISO)",
		"## How to fix",
		"### `c.rule` Title of c.rule",
		`**Fix:** Set it \| carefully.`,
		"**References:** CIS 7.2.3, SCuBA MS.SHAREPOINT.1.1v1, <https://learn.microsoft.com/x>",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("markdown lacks %q:\n%s", w, out)
		}
	}
	for _, unwanted := range []string{"## Passed", "## Not applicable", "### `a.rule`"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("markdown has %q though not shown or not failed", unwanted)
		}
	}
	// Escaped pipes keep every row of a five-column table at six separators.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| high ") || strings.HasPrefix(l, "| medium ") || strings.HasPrefix(l, "| critical ") {
			if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 6 {
				t.Errorf("row has %d cell separators, want 6: %q", n, l)
			}
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := map[string]string{
		"a|b":         `a\|b`,
		"<script>":    "&lt;script&gt;",
		"*bold*":      `\*bold\*`,
		"[x](y)":      `\[x\](y)`,
		"line\nbreak": "line break",
		"":            "-",
		"new_and_old": "new_and_old",
	}
	for in, want := range tests {
		if got := mdCell(in); got != want {
			t.Errorf("mdCell(%q) = %q, want %q", in, got, want)
		}
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestRenderWriteErrors(t *testing.T) {
	s := testScan("")
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			if err := Render(failingWriter{}, f, s, Options{}); !errors.Is(err, errWrite) {
				t.Errorf("Render error = %v, want %v", err, errWrite)
			}
		})
	}
	if err := Render(&bytes.Buffer{}, "xml", s, Options{}); err == nil {
		t.Errorf("unknown format rendered")
	}
}
