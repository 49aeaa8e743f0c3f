package report

import (
	"bufio"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

//go:embed templates/report.html.tmpl
var templatesFS embed.FS

var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(htmlFuncs).ParseFS(templatesFS, "templates/report.html.tmpl"))

var htmlFuncs = template.FuncMap{
	"ring":       scoreRing,
	"stacked":    stackedBar,
	"hbars":      hbars,
	"days":       dayBars,
	"formula":    func() string { return ScoreFormula },
	"outcomes":   func() []tenant.Outcome { return Outcomes },
	"num":        func(n int) string { return thousands(int64(n)) },
	"num64":      thousands,
	"scoreText":  scoreText,
	"trend":      trendText,
	"datetime":   datetime,
	"dateptr":    dateptr,
	"dtptr":      datetimeptr,
	"period":     periodText,
	"objcap":     func(n int) int { return min(n, 25) },
	"trendchart": trendChart,
	"objlink":    objectLink,
	"ctitle": func(fw, id string) string {
		t, v := controlInfo(fw, id)
		if t == "" {
			return ""
		}
		return t + " (" + v + ")"
	},
	"add": func(ns ...int) int {
		t := 0
		for _, n := range ns {
			t += n
		}
		return t
	},
	"lastN": func(p []TrendPoint, n int) []TrendPoint { return p[max(0, len(p)-n):] },
	"outcome": func(o tenant.Outcome) template.HTML {
		icon := map[tenant.Outcome]string{tenant.Pass: "✔", tenant.Fail: "✖", tenant.Unknown: "?", tenant.NotApplicable: "–"}[o]
		return template.HTML(fmt.Sprintf(`<span class="badge b-%s">%s %s</span>`, template.HTMLEscapeString(string(o)), icon, template.HTMLEscapeString(outcomeName(o))))
	},
	"sev": func(s tenant.Severity) template.HTML {
		if s == "" {
			return "—"
		}
		return template.HTML(fmt.Sprintf(`<span class="badge s-%s">%s</span>`, template.HTMLEscapeString(string(s)), template.HTMLEscapeString(string(s))))
	},
	"state": stateText,
	"exposure": func(e string) template.HTML {
		cls := map[string]string{"high": "b-fail", "medium": "b-unknown", "low": "b-not_applicable", "none": "b-pass"}[e]
		return template.HTML(fmt.Sprintf(`<span class="badge %s">%s</span>`, cls, template.HTMLEscapeString(e)))
	},
	"objname": func(r tenant.Result) string {
		if r.ObjectName != "" && r.ObjectName != r.ObjectKey {
			return r.ObjectName + " (" + r.ObjectKey + ")"
		}
		return r.ObjectKey
	},
	"objshort": func(r tenant.Result) string { return orDash(cmp.Or(r.ObjectName, r.ObjectKey)) },
	"yesno":    yesno,
	"count":    func(n int) string { return countText(n) },
	"flag":     func(f string) string { return strings.ReplaceAll(f, "_", " ") },
	"hot":      func(f string) bool { return f == FlagBlockedDomain || f == FlagOrphaned },
	"expiry":   expiryText,
	"signin":   signinText,
	"arrow":    arrow,
	"excstatus": func(e exceptionView) template.HTML {
		switch e.Status {
		case "expired":
			return `<span class="badge b-fail">expired</span>`
		case "lapsing":
			return template.HTML(fmt.Sprintf(`<span class="badge b-unknown">lapses in %d days</span>`, e.DaysLeft))
		case "active":
			return `<span class="badge b-pass">active</span>`
		}
		return `<span class="badge b-not_applicable">no expiry</span>`
	},
}

// HTML writes the report as one self-contained HTML document.
func HTML(w io.Writer, in *Input) error {
	v, err := build(in)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlTemplate.Execute(bw, v); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// objectLink shows an object's name, as a link to it when its web address
// is known (safeURL has vetted it).
func objectLink(label, url string) template.HTML {
	if url == "" {
		return template.HTML(template.HTMLEscapeString(label))
	}
	return template.HTML(fmt.Sprintf(`<a href="%s" rel="noopener noreferrer">%s</a>`, template.HTMLEscapeString(url), template.HTMLEscapeString(label)))
}

// FailsOf counts failing checks of a severity.
func (v *view) FailsOf(sev string) int { return v.Summary.FailBySeverity[tenant.Severity(sev)] }

// SeverityBars lists failing results per severity, most severe first.
func (v *view) SeverityBars() []bar {
	out := make([]bar, 0, len(severitiesDesc))
	for _, s := range severitiesDesc {
		out = append(out, bar{Label: string(s), Value: v.Summary.FailBySeverity[s], Class: "c-sev-" + string(s)})
	}
	return out
}

// ExpiryBars lists Anyone links per expiry bucket.
func (v *view) ExpiryBars() []bar {
	out := make([]bar, 0, len(v.Links.ByExpiry))
	for _, t := range v.Links.ByExpiry {
		cls := ""
		if t.Name == "no_expiry" {
			cls = "c-fail"
		}
		out = append(out, bar{Label: expiryLabels[t.Name], Value: t.Links, Class: cls})
	}
	return out
}

// GuestBars lists guests per flag.
func (v *view) GuestBars() []bar {
	out := []bar{{Label: "all guests", Value: v.Guests.Total}}
	for _, f := range []string{FlagBlockedDomain, FlagOrphaned, FlagStale, FlagNeverSignedIn, FlagPending, FlagDisabled} {
		cls := ""
		if f == FlagBlockedDomain || f == FlagOrphaned {
			cls = "c-fail"
		}
		out = append(out, bar{Label: strings.ReplaceAll(f, "_", " "), Value: v.Guests.Flags[f], Class: cls})
	}
	return out
}

// HighCalendar counts calendar entries with high exposure.
func (v *view) HighCalendar() int {
	n := 0
	for _, r := range v.Calendar {
		if r.Exposure == "high" {
			n++
		}
	}
	return n
}

// Collected reports whether section s has a status in the snapshot.
func (v *view) Collected(s string) bool {
	if v.In.Snapshot == nil {
		return false
	}
	_, ok := v.In.Snapshot.Status[tenant.Section(s)]
	return ok
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func scoreText(s *float64) string {
	if s == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*s, 'f', 1, 64)
}

func trendText(cur, prev *float64) string {
	if cur == nil || prev == nil {
		return "—"
	}
	d := *cur - *prev
	switch {
	case d > 0.05:
		return fmt.Sprintf("▲ +%.1f", d)
	case d < -0.05:
		return fmt.Sprintf("▼ %.1f", d)
	}
	return "= 0.0"
}

func datetime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func datetimeptr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return datetime(*t)
}

func dateptr(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}

func periodText(p Period) string {
	if p.From.IsZero() && p.To.IsZero() {
		return "current snapshot"
	}
	return dateptr(&p.From) + " to " + dateptr(&p.To)
}

func stateText(s string) string {
	if s == "not_collected" {
		return "not collected"
	}
	return s
}

func yesno(b *bool) string {
	switch {
	case b == nil:
		return "—"
	case *b:
		return "yes"
	}
	return "no"
}

func countText(n int) string {
	if n < 0 {
		return "—"
	}
	return thousands(int64(n))
}

func expiryText(r LinkRow) string {
	switch r.Expiry {
	case "no_expiry":
		return "never"
	case "expired":
		return "expired " + dateptr(r.Expires)
	}
	return dateptr(r.Expires)
}

func signinText(r GuestRow) string {
	switch {
	case !r.SignInKnown:
		return "not collected"
	case r.LastSignIn == nil:
		return "never"
	}
	return dateptr(r.LastSignIn)
}

func arrow(before, after string) string {
	if before == "" && after == "" {
		return "—"
	}
	return orDash(before) + " → " + orDash(after)
}
