package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/sharedrift/sharedrift/tenant"
)

// Format names an output format.
type Format string

// Output formats.
const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// Formats lists the supported formats.
func Formats() []Format { return []Format{FormatTable, FormatJSON, FormatMarkdown} }

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q, expected table, json or markdown", s)
}

// Render writes s in format f.
func Render(w io.Writer, f Format, s *Scan, opts Options) error {
	switch f {
	case FormatTable:
		return Table(w, s, opts)
	case FormatJSON:
		return JSON(w, s, opts)
	case FormatMarkdown:
		return Markdown(w, s, opts)
	}
	return fmt.Errorf("render: unknown format %q", f)
}

// JSON writes s as indented JSON. Results keep their rule order; opts.Show
// filters them while the summary still counts everything.
func JSON(w io.Writer, s *Scan, opts Options) error {
	out := *s
	out.Results = s.visible(opts, false)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	// Messages quote URLs and "<" in expectations; keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("render json: %w", err)
	}
	return bw.Flush()
}

// maxCell caps table cells so one long URL does not push every column off
// the screen; JSON and Markdown carry the full text.
const maxCell = 60

// Table writes an aligned text table, failures first, framed by the scan's
// context and a summary.
func Table(w io.Writer, s *Scan, opts Options) error {
	ew := &errWriter{w: bufio.NewWriter(w)}
	ew.printf("Tenant:    %s\n", s.Tenant)
	ew.printf("Collected: %s\n", s.CollectedAt.Format("2006-01-02 15:04:05 MST"))
	ew.printf("Baseline:  %s\n", s.Baseline)
	ew.printf("Sections:  %s\n\n", sectionLine(s))

	items := s.visible(opts, true)
	if len(items) > 0 {
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OUTCOME\tSEVERITY\tRULE\tOBJECT\tEXPECTED\tACTUAL")
		for _, it := range items {
			outcome := string(it.Outcome)
			if it.Exception != "" {
				outcome += " (exception)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", outcome, it.Severity, it.RuleID,
				cell(it.Object()), cell(it.Expected), cell(it.Actual))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
		ew.printf("\n")
	} else {
		ew.printf("No results to show.\n\n")
	}

	ew.printf("Results:   %s\n", countsLine(s.Summary.Outcomes))
	if sev := failedBySeverity(s); sev != "" {
		ew.printf("Failed:    %s\n", sev)
	}
	if hidden := hiddenLine(s, opts); hidden != "" {
		ew.printf("Not shown: %s\n", hidden)
	}
	ew.printf("Verdict:   %s\n", verdict(s))
	return ew.flush("render table")
}

func sectionLine(s *Scan) string {
	parts := make([]string, 0, len(s.Summary.Sections))
	for _, sec := range s.Summary.Sections {
		p := string(sec.Section) + " " + strings.ReplaceAll(sec.State, "_", " ")
		if sec.Error != "" {
			p += " (" + oneLine(sec.Error) + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func countsLine(c Counts) string {
	return fmt.Sprintf("%d fail, %d unknown, %d pass, %d not applicable", c.Fail, c.Unknown, c.Pass, c.NotApplicable)
}

func failedBySeverity(s *Scan) string {
	var parts []string
	for _, sc := range s.Summary.BySeverity {
		if sc.Fail > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", sc.Fail, sc.Severity))
		}
	}
	return strings.Join(parts, ", ")
}

func hiddenLine(s *Scan, opts Options) string {
	var parts []string
	for _, o := range Outcomes {
		if n := s.Summary.Outcomes.Of(o); n > 0 && !opts.shows(o) {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(string(o), "_", " ")))
		}
	}
	return strings.Join(parts, ", ")
}

func verdict(s *Scan) string {
	threshold := "any severity"
	if s.FailOn != "" {
		threshold = string(s.FailOn) + " or above"
	}
	if s.Summary.Failing == 0 {
		return "no failures at " + threshold
	}
	return fmt.Sprintf("%d failure(s) at %s", s.Summary.Failing, threshold)
}

// cell flattens a value for a table cell and shortens it to maxCell runes.
func cell(v string) string {
	v = oneLine(v)
	if v == "" {
		return "-"
	}
	if utf8.RuneCountInString(v) <= maxCell {
		return v
	}
	// Cut the middle: URLs and paths keep their site and their file name.
	r := []rune(v)
	head := (maxCell - 1) / 2
	tail := maxCell - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

func oneLine(v string) string {
	return strings.Join(strings.Fields(v), " ")
}

// Markdown writes a report for pasting into a ticket: summary, section
// states, a table per outcome, and for each failed rule its rationale, fix
// and references.
func Markdown(w io.Writer, s *Scan, opts Options) error {
	ew := &errWriter{w: bufio.NewWriter(w)}
	ew.printf("# sharedrift scan: %s\n\n", mdText(s.Tenant))
	ew.printf("- **Baseline:** %s\n", mdText(s.Baseline))
	ew.printf("- **Collected:** %s\n", s.CollectedAt.Format("2006-01-02 15:04:05 MST"))
	ew.printf("- **Results:** %s\n", countsLine(s.Summary.Outcomes))
	if sev := failedBySeverity(s); sev != "" {
		ew.printf("- **Failed by severity:** %s\n", sev)
	}
	ew.printf("- **Verdict:** %s\n\n", verdict(s))

	ew.printf("## Sections\n\n")
	ew.printf("| Section | State | Fail | Unknown | Pass | Not applicable |\n")
	ew.printf("|---|---|---:|---:|---:|---:|\n")
	for _, sec := range s.Summary.Sections {
		state := strings.ReplaceAll(sec.State, "_", " ")
		if sec.Error != "" {
			state += ": " + sec.Error
		}
		ew.printf("| %s | %s | %d | %d | %d | %d |\n", sec.Section, mdCell(state), sec.Fail, sec.Unknown, sec.Pass, sec.NotApplicable)
	}

	items := s.visible(opts, true)
	for _, o := range Outcomes {
		if !opts.shows(o) {
			continue
		}
		var group []Item
		for _, it := range items {
			if it.Outcome == o {
				group = append(group, it)
			}
		}
		if len(group) == 0 {
			continue
		}
		ew.printf("\n## %s (%d)\n\n", outcomeHeading(o), len(group))
		ew.printf("| Severity | Rule | Object | Expected | Actual |\n")
		ew.printf("|---|---|---|---|---|\n")
		for _, it := range group {
			rule := "`" + it.RuleID + "`"
			if it.Title != "" {
				rule += " " + mdCell(it.Title)
			}
			obj := mdCell(it.Object())
			if it.ObjectURL != "" {
				obj = "[" + obj + "](<" + mdLinkURL.Replace(it.ObjectURL) + ">)"
			}
			if it.ObjectName != "" {
				obj += "<br>`" + mdCode(it.ObjectKey) + "`"
			}
			actual := mdCell(it.Actual)
			if it.Exception != "" {
				actual += " (exception: " + mdCell(it.Exception) + ")"
			}
			ew.printf("| %s | %s | %s | %s | %s |\n", it.Severity, rule, obj, mdCell(it.Expected), actual)
		}
	}

	if opts.shows(tenant.Fail) {
		writeFailedRules(ew, s, items)
	}
	return ew.flush("render markdown")
}

// writeFailedRules explains each failed rule once: why it matters, how to
// fix it, and where it comes from.
func writeFailedRules(ew *errWriter, s *Scan, items []Item) {
	seen := map[string]bool{}
	var ids []string
	for _, it := range items {
		if it.Outcome == tenant.Fail && !seen[it.RuleID] {
			seen[it.RuleID] = true
			ids = append(ids, it.RuleID)
		}
	}
	if len(ids) == 0 {
		return
	}
	ew.printf("\n## How to fix\n")
	for _, id := range ids {
		m, ok := s.RuleMeta(id)
		if !ok {
			continue
		}
		ew.printf("\n### `%s` %s\n\n", id, mdText(m.Title))
		ew.printf("Severity %s, section %s.", m.Severity, m.Section)
		if m.Rationale != "" {
			ew.printf(" %s", mdText(oneLine(m.Rationale)))
		}
		ew.printf("\n")
		if m.Remediation != "" {
			ew.printf("\n**Fix:** %s\n", mdText(oneLine(m.Remediation)))
		}
		var refs []string
		for _, c := range m.References.CIS {
			refs = append(refs, "CIS "+mdText(c))
		}
		for _, c := range m.References.SCuBA {
			refs = append(refs, "SCuBA "+mdText(c))
		}
		for _, d := range m.References.Docs {
			refs = append(refs, "<"+d+">")
		}
		if len(refs) > 0 {
			ew.printf("\n**References:** %s\n", strings.Join(refs, ", "))
		}
	}
}

func outcomeHeading(o tenant.Outcome) string {
	switch o {
	case tenant.Fail:
		return "Failed"
	case tenant.Unknown:
		return "Unknown (data missing or section incomplete)"
	case tenant.Pass:
		return "Passed"
	case tenant.NotApplicable:
		return "Not applicable"
	}
	return string(o)
}

// mdText escapes characters that Markdown would otherwise interpret.
var mdReplacer = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "<", "&lt;", ">", "&gt;", "|", `\|`, "[", `\[`, "]", `\]`)

func mdText(v string) string { return mdReplacer.Replace(v) }

// mdCell is mdText for a table cell: one line, never empty.
func mdCell(v string) string {
	v = oneLine(v)
	if v == "" {
		return "-"
	}
	return mdText(v)
}

// mdCode makes v safe inside a code span within a table cell.
func mdCode(v string) string {
	return strings.NewReplacer("`", "'", "|", `\|`).Replace(oneLine(v))
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   *bufio.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) flush(what string) error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return fmt.Errorf("%s: %w", what, e.err)
	}
	return nil
}

// mdLinkURL keeps a URL inside a Markdown link destination and a table cell.
var mdLinkURL = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C", " ", "%20", "\n", "", "\r", "")
