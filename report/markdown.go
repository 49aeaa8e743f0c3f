package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// Markdown writes the report as GitHub-flavoured Markdown, for pasting into
// tickets. Long tables are capped at Options.MaxRows with a count of the rest.
func Markdown(w io.Writer, in *Input) error {
	v, err := build(in)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	m := &mdWriter{w: bw}
	m.render(v)
	if m.err != nil {
		return fmt.Errorf("write markdown report: %w", m.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) f(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// row writes one table row; cells are escaped.
func (m *mdWriter) row(cells ...string) {
	esc := make([]string, len(cells))
	for i, c := range cells {
		esc[i] = mdEscape(c)
	}
	m.rawRow(esc...)
}

// rawRow writes a table row of cells already in Markdown.
func (m *mdWriter) rawRow(cells ...string) {
	if m.err != nil {
		return
	}
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" ")
		b.WriteString(c)
		b.WriteString(" |")
	}
	b.WriteString("\n")
	_, m.err = m.w.WriteString(b.String())
}

// head writes a header row and its separator; a leading "-" right-aligns.
func (m *mdWriter) head(cols ...string) {
	names := make([]string, len(cols))
	seps := make([]string, len(cols))
	for i, c := range cols {
		if strings.HasPrefix(c, "-") {
			names[i], seps[i] = c[1:], "---:"
		} else {
			names[i], seps[i] = c, "---"
		}
	}
	m.row(names...)
	m.f("|%s|\n", strings.Join(seps, "|"))
}

// mdReplacer escapes what would break a table cell or turn text into
// markup: pipes, emphasis stars, backticks, link brackets and HTML tags.
// Underscores stay: GitHub-flavoured Markdown leaves intraword ones alone,
// and rule IDs and values are full of them.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "`", "\\`", "[", `\[`, "]", `\]`,
	"<", "&lt;", "\r\n", " ", "\n", " ", "\r", " ",
)

func mdEscape(s string) string { return mdReplacer.Replace(s) }

func mdOutcome(o tenant.Outcome) string {
	icon := map[tenant.Outcome]string{tenant.Pass: "✅", tenant.Fail: "❌", tenant.Unknown: "❔", tenant.NotApplicable: "➖"}[o]
	return icon + " " + outcomeName(o)
}

// risks writes a table of executive-page findings, objects linked where
// their address is known.
func (m *mdWriter) risks(v *view, heading string, rows []riskRow, more int, empty string) {
	m.f("%s", heading)
	if len(rows) == 0 {
		m.f("%s", empty)
		return
	}
	m.head("Severity", "Object", "Finding", "Actual", "Expected")
	for _, r := range rows {
		// row escapes every cell, which would break the link; build it here.
		obj := mdEscape(orDash(cmp.Or(r.ObjectName, r.ObjectKey)))
		if r.URL != "" {
			obj = "[" + obj + "](<" + r.URL + ">)"
		}
		m.f("| %s | %s | %s | %s | %s |\n", r.Severity, obj, mdEscape(cmp.Or(r.RuleTitle, r.RuleID)), mdEscape(r.Actual), mdEscape(r.Expected))
	}
	m.more(more, "failing checks")
	m.f("\n")
}

func (m *mdWriter) render(v *view) {
	in := v.In
	m.f("# Sharing security review: %s\n\n", mdEscape(in.Tenant))
	m.f("- Tenant ID: %s\n", mdEscape(orDash(in.TenantID)))
	m.f("- Baseline: %s\n", mdEscape(orDash(in.Baseline)))
	m.f("- Snapshot taken: %s\n", datetime(v.CollectedAt))
	m.f("- Period: %s\n", periodText(in.Period))
	m.f("- Generated: %s by sharedrift %s\n\n", datetime(v.Now), mdEscape(in.Version))

	s := v.Summary
	m.f("## Executive summary\n\n")
	m.f("**Posture score: %s / 100**", scoreText(s.Score))
	if s.HasPrevious {
		m.f(" (previous period %s, %s; %s new failing results, %s resolved)", scoreText(s.PreviousScore), trendText(s.Score, s.PreviousScore), thousands(int64(s.NewFails)), thousands(int64(s.ResolvedFails)))
	}
	m.f("\n\n%s of %s checks pass, weighted by severity; %s fail (%s critical, %s high); %s unknown (data missing), holding %.1f points.\n\n",
		thousands(int64(s.ScoreDetail.Passing)), thousands(int64(s.ScoreDetail.Passing+s.ScoreDetail.Failing+s.ScoreDetail.Unknown)),
		thousands(int64(s.ScoreDetail.Failing)), thousands(int64(v.FailsOf("critical"))), thousands(int64(v.FailsOf("high"))),
		thousands(int64(s.ScoreDetail.Unknown)), s.ScoreDetail.UnknownPoints)
	m.risks(v, "### Top risks\n\n", v.Exec.TopRisks, v.Exec.MoreRisks, "No check fails.\n\n")
	m.f("### What changed in the period\n\n%s changes to the tenant", thousands(int64(v.Timeline.Total)))
	for _, k := range slices.Sorted(maps.Keys(v.Timeline.ByKind)) {
		m.f("; %s %s", thousands(int64(v.Timeline.ByKind[k])), k)
	}
	if s.HasPrevious {
		m.f(". %s checks started failing.\n\n", thousands(int64(s.NewFails)))
	} else {
		m.f(". No earlier scan to compare findings with.\n\n")
	}
	m.risks(v, "", v.Exec.New, v.Exec.MoreNew, "")
	m.f("### What was fixed\n\n")
	if s.HasPrevious {
		m.f("%s checks that failed at the start of the period no longer fail", thousands(int64(s.ResolvedFails)))
	} else {
		m.f("No earlier scan to compare findings with")
	}
	m.f("; %s remediation changes were applied and verified.\n\n", thousands(int64(v.Exec.Verified)))
	m.risks(v, "", v.Exec.Fixed, v.Exec.MoreFixed, "")
	if len(in.Trend) > 1 {
		m.f("### Posture over time\n\n")
		m.head("Scan", "-Score", "-Failing checks")
		for _, p := range in.Trend[max(0, len(in.Trend)-10):] {
			m.row(datetime(p.At), scoreText(p.Score), thousands(int64(p.Failing)))
		}
		m.f("\n")
	}

	m.f("## Posture details\n\n> %s\n\n", mdEscape(ScoreFormula))
	m.head("Outcome", "-Rules", "-Results")
	for _, o := range Outcomes {
		m.row(mdOutcome(o), thousands(int64(s.RuleStatus.Of(o))), thousands(int64(s.Results.Of(o))))
	}
	m.f("\nResults covered by exceptions: %s.\n\n", thousands(int64(s.Accepted)))
	m.head("Severity", "-Failing results")
	for _, b := range v.SeverityBars() {
		m.row(b.Label, thousands(int64(b.Value)))
	}
	m.f("\nExposure: %s Anyone links (%s edit, %s without expiry); %s guests (%s stale, %s orphaned); %s high-exposure calendar entries; %s changes in the period; %s of %d sections complete.\n\n",
		thousands(int64(v.Links.Anyone)), thousands(int64(v.Links.Edit)), thousands(int64(v.Links.NoExpiry)),
		thousands(int64(v.Guests.Total)), thousands(int64(v.Guests.Flags[FlagStale])), thousands(int64(v.Guests.Flags[FlagOrphaned])),
		thousands(int64(v.HighCalendar())), thousands(int64(v.Timeline.Total)), thousands(int64(v.CompleteSections())), len(v.Coverage))

	m.f("## Findings by section\n\n")
	if len(v.Sections) == 0 {
		m.f("No rules were evaluated.\n\n")
	}
	for _, sec := range v.Sections {
		m.f("### %s (section %s)\n\n", mdEscape(sec.Title), stateText(sec.State))
		m.head("Rule", "Severity", "Outcome", "-Fail", "-Unknown", "-Pass", "-N/A")
		for _, r := range sec.Rules {
			c := r.Counts
			m.row(r.Info.ID+" "+r.Info.Title, string(r.Info.Severity), mdOutcome(r.Status),
				thousands(int64(c.Fail)), thousands(int64(c.Unknown)), thousands(int64(c.Pass)), thousands(int64(c.NotApplicable)))
		}
		m.f("\n")
		for _, r := range sec.Rules {
			if len(r.Fails) == 0 && len(r.Unknown) == 0 {
				continue
			}
			m.f("#### %s %s: %s\n\n", mdOutcome(r.Status), mdEscape(r.Info.ID), mdEscape(r.Info.Title))
			m.f("- Severity: %s\n", r.Info.Severity)
			if r.Info.Rationale != "" {
				m.f("- Why it matters: %s\n", mdEscape(r.Info.Rationale))
			}
			if refs := refList(r.Info); refs != "" {
				m.f("- References: %s\n", mdEscape(refs))
			}
			if r.Info.Remediation != "" {
				m.f("- **Fix:** %s\n", mdEscape(r.Info.Remediation))
			}
			m.f("\n")
			if len(r.Fails) > 0 {
				m.head("Object", "Expected", "Actual", "Severity", "Exception")
				for _, f := range r.Fails {
					m.rawRow(mdObject(f), mdEscape(f.Expected), mdEscape(f.Actual), mdEscape(string(f.Severity)), mdEscape(orDash(f.Exception)))
				}
				m.more(r.MoreFails, "failing objects")
				m.f("\n")
			}
			if len(r.Unknown) > 0 {
				m.head("Object not evaluated", "Reason")
				for _, f := range r.Unknown {
					m.rawRow(mdObject(f), mdEscape(orDefault(f.Message, "data missing")))
				}
				m.more(r.MoreUnknown, "objects")
				m.f("\n")
			}
		}
	}

	m.f("## Compliance mapping\n\n")
	m.f("A control fails if any of its rules fails; otherwise it is unknown if any rule is unknown; otherwise it passes if any rule passed, and is not applicable when none did.\n\n")
	for _, fw := range v.Frameworks {
		m.f("### %s\n\n", fw.Name)
		if len(fw.Controls) == 0 {
			m.f("No rule maps to this framework.\n\n")
			continue
		}
		m.head("Control", "Title", "Version", "Status", "Rules")
		for _, c := range fw.Controls {
			m.row(c.ID, mdEscape(orDash(c.Title)), orDash(c.Version), mdOutcome(c.Status), strings.Join(c.Rules, ", "))
		}
		m.f("\n")
	}
	if len(v.Unmapped) > 0 {
		ids := make([]string, 0, len(v.Unmapped))
		for _, r := range v.Unmapped {
			ids = append(ids, r.ID)
		}
		m.f("Rules without a published control (they stand on the baseline alone): %s.\n\n", strings.Join(ids, ", "))
	}

	m.f("## Drift timeline\n\n")
	if v.Timeline.Total == 0 {
		m.f("No changes were recorded in this period.\n\n")
	} else {
		m.f("%s changes in the period.\n\n", thousands(int64(v.Timeline.Total)))
		m.head("When", "Change", "Section", "Object", "Field", "Before", "After")
		for _, c := range v.Timeline.Changes {
			m.row(datetime(c.At), c.Kind, string(c.Section), orDefault(c.ObjectName, c.ObjectKey), c.Field, c.Before, c.After)
		}
		m.more(v.Timeline.More, "changes")
		m.f("\n")
	}

	li := v.Links
	m.f("## Anyone links\n\n")
	m.f("%s Anyone links of %s sharing links: %s edit, %s never expire, %s expired, %s need a password.\n\n",
		thousands(int64(li.Anyone)), thousands(int64(li.Total)), thousands(int64(li.Edit)), thousands(int64(li.NoExpiry)), thousands(int64(li.Expired)), thousands(int64(li.Password)))
	if li.Anyone > 0 {
		m.head("Expiry", "-Links", "-Edit")
		for _, t := range li.ByExpiry {
			m.row(expiryLabels[t.Name], thousands(int64(t.Links)), thousands(int64(t.Edit)))
		}
		m.f("\n")
		m.head("Permission", "-Links", "-No expiry")
		for _, t := range li.ByPermission {
			m.row(t.Name, thousands(int64(t.Links)), thousands(int64(t.NoExpiry)))
		}
		m.f("\n")
		m.head("Label", "-Links", "-Edit", "-No expiry")
		for _, t := range li.ByLabel {
			m.row(t.Name, thousands(int64(t.Links)), thousands(int64(t.Edit)), thousands(int64(t.NoExpiry)))
		}
		m.f("\n")
		m.head("Site", "Label", "-Links", "-Edit", "-No expiry")
		for _, t := range li.BySite {
			m.row(t.Name, orDash(t.Label), thousands(int64(t.Links)), thousands(int64(t.Edit)), thousands(int64(t.NoExpiry)))
		}
		m.more(li.MoreSites, "sites")
		m.f("\n")
		m.head("Item", "Site", "Label", "Permission", "Expires", "Password")
		for _, r := range li.Rows {
			item := orDefault(r.ItemPath, r.Key)
			if r.Folder {
				item += " (folder)"
			}
			m.row(item, r.SiteURL, orDash(r.Label), r.Permission, expiryText(r), yesno(r.Password))
		}
		m.more(li.More, "Anyone links (see the CSV)")
		m.f("\n")
	}

	gi := v.Guests
	m.f("## Guests\n\n")
	m.f("%s guests: %s blocked domain, %s orphaned, %s stale (no sign-in for %d days), %s never signed in, %s pending, %s disabled.\n\n",
		thousands(int64(gi.Total)), thousands(int64(gi.Flags[FlagBlockedDomain])), thousands(int64(gi.Flags[FlagOrphaned])),
		thousands(int64(gi.Flags[FlagStale])), v.Opt.StaleDays, thousands(int64(gi.Flags[FlagNeverSignedIn])),
		thousands(int64(gi.Flags[FlagPending])), thousands(int64(gi.Flags[FlagDisabled])))
	if gi.Total > 0 {
		m.head("Domain", "-Guests", "-Pending", "-Stale", "-Orphaned", "Blocked")
		for _, t := range gi.ByDomain {
			m.row(t.Domain, thousands(int64(t.Guests)), thousands(int64(t.Pending)), thousands(int64(t.Stale)), thousands(int64(t.Orphaned)), yesno(&t.Blocked))
		}
		m.more(gi.MoreDomains, "domains")
		m.f("\n")
		m.head("Guest", "Domain", "State", "Last sign-in", "-Sponsors", "-Groups", "Flags")
		for _, r := range gi.Rows {
			m.row(orDefault(r.DisplayName, r.ID)+" <"+orDefault(r.Mail, r.UPN)+">", r.Domain, r.State, signinText(r), countText(r.Sponsors), countText(r.Groups), strings.Join(r.Flags, ", "))
		}
		m.more(gi.More, "guests (see the CSV)")
		m.f("\n")
	}

	m.f("## Calendar and organization relationships\n\n")
	if len(v.Calendar) == 0 {
		m.f("No calendar sharing or organization relationships.\n\n")
	} else {
		m.head("Domain", "Exposure", "Level", "Through", "Name", "Enabled", "Scope / actions")
		for _, r := range v.Calendar {
			m.row(r.Domain, r.Exposure, r.Level, calendarKind(r), r.Name, yesno(r.Enabled), orDefault(r.Scope, r.Actions))
		}
		m.f("\n")
	}

	m.f("## Remediation log\n\n")
	if len(v.Remediation) == 0 {
		m.f("No remediation was attempted in this period.\n\n")
	} else {
		m.head("When", "Rule", "Object", "Action", "Mode", "Status", "Before → after", "Verified")
		for _, e := range v.Remediation {
			st := e.Status
			if e.Error != "" {
				st += ": " + e.Error
			}
			m.row(datetime(e.At), e.RuleID, e.ObjectKey, e.Action, e.Mode, st, arrow(e.Before, e.After), yesno(e.Verified))
		}
		m.more(v.RemedMore, "attempts")
		m.f("\n")
	}

	m.f("## Exceptions\n\n")
	if len(v.Exceptions) == 0 {
		m.f("No exceptions are configured.\n\n")
	} else {
		m.f("%d exceptions; %d lapse within %d days, %d expired.\n\n", len(v.Exceptions), v.Lapsing, v.Opt.LapseDays, v.Expired)
		m.head("Exception", "Rule", "Object", "Accepted value", "Owner", "Reason", "Expires", "Status", "-Results")
		for _, e := range v.Exceptions {
			st := strings.ReplaceAll(e.Status, "_", " ")
			if e.Status == "lapsing" {
				st = fmt.Sprintf("lapses in %d days", e.DaysLeft)
			}
			m.row(e.ID, e.RuleID, orDefault(e.Object, "all objects"), orDash(e.AcceptedValue), e.Owner, orDash(e.Reason), datetimeptr(e.Expires), st, thousands(int64(e.Matched)))
		}
		m.f("\n")
	}

	m.f("## Coverage\n\n")
	m.f("%d of %d sections were collected completely; rules over an incomplete section report unknown.\n\n", v.CompleteSections(), len(v.Coverage))
	m.head("Section", "State", "-API calls", "-Retries", "-Throttled", "-SharePoint RU", "Error")
	for _, c := range v.Coverage {
		m.row(string(c.Section), stateText(c.State), thousands(int64(c.Calls)), thousands(int64(c.Retries)), thousands(int64(c.Throttled)), thousands(c.RU), orDash(c.Error))
	}
	m.row("Total", "", thousands(int64(v.API.Calls)), thousands(int64(v.API.Retries)), thousands(int64(v.API.Throttled)), thousands(v.API.RU), "")
}

func (m *mdWriter) more(n int, what string) {
	if n > 0 {
		m.f("\n… and %s more %s.\n", thousands(int64(n)), what)
	}
}

func refList(r RuleInfo) string {
	var refs []string
	for _, c := range r.CIS {
		refs = append(refs, "CIS "+c)
	}
	refs = append(refs, r.SCuBA...)
	return strings.Join(refs, ", ")
}

// mdObject is the result's object as Markdown, a link to it when the
// scan knows where it lives.
func mdObject(r tenant.Result) string {
	text := mdEscape(resultObject(r))
	if r.ObjectURL == "" {
		return text
	}
	return "[" + text + "](<" + mdURL.Replace(r.ObjectURL) + ">)"
}

// mdURL keeps a URL inside a link destination and a table cell.
var mdURL = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C", " ", "%20", "\n", "", "\r", "")

func resultObject(r tenant.Result) string {
	if r.ObjectName != "" && r.ObjectName != r.ObjectKey {
		return r.ObjectName + " (" + r.ObjectKey + ")"
	}
	return r.ObjectKey
}

func calendarKind(r CalendarRow) string {
	if r.Kind == "sharing_policy" {
		if r.Default {
			return "sharing policy (default)"
		}
		return "sharing policy"
	}
	return "organization relationship"
}

func orDash(s string) string { return orDefault(s, "—") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
